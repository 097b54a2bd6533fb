//! Several replicas on one PostgreSQL ledger: each sees the spending of all, and a replica
//! started later restores today's budgets from it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    gateway::{TestGateway, chat, openai_provider},
    postgres::PgServer,
    upstream::MockUpstream,
};
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn replica(up: &MockUpstream) -> String {
    format!(
        r#"{}
[models.m]
provider = "up"
input_per_mtok = 100.0
output_per_mtok = 200.0
[routes.default]
fallback = ["m"]
[cache]
enabled = false
[ledger]
backend = "postgres"
postgres_url = "${{PG_URL}}"
"#,
        openai_provider("up", &up.base_url(), 0)
    )
}

fn usd(v: &Value) -> Decimal {
    v.to_string().parse().unwrap()
}

#[tokio::test]
async fn replicas_share_the_ledger_and_a_new_one_restores_todays_budgets() {
    let pg = PgServer::start();
    // The sync client runs its own runtime: off this test's runtime thread.
    let url = std::thread::scope(|s| s.spawn(|| pg.fresh_database("replicas")).join().unwrap());
    let up = MockUpstream::start(vec![]);
    let env = [("PG_URL", url.as_str())];
    let a = TestGateway::start_with_env(&replica(&up), &env);
    let b = TestGateway::start_with_env(&replica(&up), &env);
    for (gw, n) in [(&a, 3), (&b, 2)] {
        for i in 0..n {
            let mut body = chat("m", &format!("question {i} from {}", gw.url));
            body["user"] = json!("ann");
            assert_eq!(gw.post("/v1/chat/completions", &body).await.status(), 200);
        }
    }
    // Each replica's own writes are flushed when it is asked; the other's by the time both
    // have answered theirs.
    let (_, from_b) = b.get_json("/v1/costs").await;
    let (_, from_a) = a.get_json("/v1/costs").await;
    assert_eq!(from_a["ledger"], "postgres");
    assert_eq!(from_a["total"]["requests"], 5, "{from_a}");
    let (_, from_b_again) = b.get_json("/v1/costs").await;
    assert_eq!(from_b_again["total"], from_a["total"]);
    assert!(from_b["total"]["requests"].as_i64().unwrap() >= 2);
    let spent: Decimal = from_a["total"]["cost_usd_exact"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(spent > Decimal::ZERO);

    // A replica started now knows what ann spent today.
    let c = TestGateway::start_with_env(&replica(&up), &env);
    let (_, budgets) = c.get_json("/admin/budgets").await;
    let ann = budgets["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user"] == "ann")
        .unwrap_or_else(|| panic!("{budgets}"));
    assert_eq!(usd(&ann["spent_usd"]), spent);
    assert_eq!(usd(&budgets["spent_usd"]), spent);
}
