//! Retrieval through the real server with the real embedding model: documents ingested,
//! listed, fetched, deleted and kept across a restart; the `rag_answer` template answering
//! from the nearest chunks and naming its sources; retrieval unavailable → answered without
//! context and flagged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{gateway::*, upstream::*};
use serde_json::{Value, json};

const TOPICS: [(&str, &str); 24] = [
    (
        "tea",
        "Green tea is steeped at 80 degrees Celsius for two minutes to avoid bitterness.",
    ),
    (
        "volcano",
        "Mount Etna on Sicily is one of the most active volcanoes in Europe.",
    ),
    (
        "rust",
        "Rust guarantees memory safety through ownership and borrowing checked at compile time.",
    ),
    (
        "bees",
        "Honey bees communicate the direction of flowers with a waggle dance.",
    ),
    (
        "chess",
        "In chess, castling moves the king two squares towards a rook.",
    ),
    (
        "tides",
        "Ocean tides are caused mainly by the gravitational pull of the Moon.",
    ),
    (
        "bread",
        "Sourdough bread rises thanks to wild yeast and lactic acid bacteria.",
    ),
    (
        "piano",
        "A standard piano has 88 keys: 52 white and 36 black.",
    ),
    ("mars", "Mars has two small moons named Phobos and Deimos."),
    (
        "vaccine",
        "Vaccines train the immune system to recognise a pathogen without causing disease.",
    ),
    (
        "bicycle",
        "Bicycle chains should be cleaned and oiled every few hundred kilometres.",
    ),
    (
        "coffee",
        "Espresso is brewed by forcing hot water through finely ground coffee at high pressure.",
    ),
    (
        "penguin",
        "Emperor penguins breed during the Antarctic winter and the males incubate the eggs.",
    ),
    (
        "tax",
        "Our refund policy allows returns within 30 days with the original receipt.",
    ),
    (
        "python",
        "Python lists are dynamic arrays; appending is amortised constant time.",
    ),
    (
        "sleep",
        "Adults need between seven and nine hours of sleep per night.",
    ),
    (
        "solar",
        "Solar panels convert sunlight into electricity with photovoltaic cells.",
    ),
    (
        "wine",
        "Red wine gets its colour from the grape skins during fermentation.",
    ),
    (
        "guitar",
        "A classical guitar uses nylon strings rather than steel strings.",
    ),
    (
        "glacier",
        "Glaciers form where snowfall exceeds melting over many years.",
    ),
    (
        "printer",
        "If the printer shows error E5, open the rear tray and remove the jammed paper.",
    ),
    (
        "vpn",
        "To connect to the office VPN, install the client and sign in with your badge number.",
    ),
    (
        "holiday",
        "Employees receive 25 days of paid holiday per year plus public holidays.",
    ),
    (
        "password",
        "To reset your password, open Settings, choose Security and click Reset password.",
    ),
];

fn config(up: &MockUpstream, data: &std::path::Path) -> String {
    format!(
        "[server]\ndefault_route = \"default\"\n{}{}[routes.default]\nfallback = [\"gpt-4o\"]\n\
         [embeddings]\nbackend = \"local\"\nmodel_dir = {:?}\ntimeout_ms = 5000\n\
         [retrieval]\ntop_k = 2\nchunk_chars = 200\nchunk_overlap = 40\ntimeout_ms = 5000\n\
         [store]\ndata_dir = {:?}\n[cache]\nenabled = false\n",
        openai_provider("oa", &up.base_url(), 0),
        model("gpt-4o", "oa"),
        model_dir(),
        data.display().to_string(),
    )
}

#[tokio::test]
async fn documents_ground_answers_and_survive_a_restart() {
    let up = MockUpstream::start(vec![]);
    let data = temp_dir("rag");
    {
        let gw = TestGateway::start(&config(&up, &data));
        for (id, text) in TOPICS {
            // Padding makes several chunks per document, overlapping.
            let body = format!(
                "{text} {}",
                "This note belongs to the staff handbook. ".repeat(6)
            );
            let r = gw
                .post(
                    "/v1/documents",
                    &json!({"id": id, "text": body, "metadata": {"topic": id}}),
                )
                .await;
            assert_eq!(r.status(), 201, "{id}");
            let v: Value = r.json().await.unwrap();
            assert!(v["chunks"].as_u64().unwrap() >= 2, "{v}");
        }
        let dup = json!({"id": "tea", "text": "again"});
        assert_eq!(gw.post("/v1/documents", &dup).await.status(), 409);
        for bad in [
            json!({"text": ""}),
            json!({"id": "a b", "text": "x"}),
            json!({"text": "x", "metadata": 3}),
        ] {
            assert_eq!(gw.post("/v1/documents", &bad).await.status(), 400, "{bad}");
        }
        let (_, list) = gw.get_json("/v1/documents").await;
        assert_eq!(list["data"].as_array().unwrap().len(), 24);
        let (status, one) = gw.get_json("/v1/documents/printer").await;
        assert_eq!(status, 200);
        assert_eq!(one["metadata"]["topic"], "printer");
        assert!(one["text"].as_str().unwrap().contains("error E5"));

        let r = gw
            .post("/v1/chat", &json!({"query": "My printer says E5, what do I do?", "user_id": "u", "template": "rag_answer"}))
            .await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["retrieval"]["status"], "ok");
        let sources = v["retrieval"]["sources"].as_array().unwrap();
        assert_eq!(sources.len(), 2);
        assert_eq!(sources[0]["document_id"], "printer", "{v}");
        assert!(sources[0]["end"].as_u64() > sources[0]["start"].as_u64());
        assert!(v["retrieval"]["latency_ms"].as_f64().unwrap() > 0.0);
        let prompt = up.bodies().last().unwrap()["messages"][0]["content"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            prompt.contains("open the rear tray") && prompt.contains("[printer#"),
            "{prompt}"
        );

        let r = client()
            .delete(format!("{}/v1/documents/printer", gw.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(gw.get_json("/v1/documents/printer").await.0, 404);
    }
    // A restart keeps the documents and their vectors.
    let gw = TestGateway::start(&config(&up, &data));
    let (_, list) = gw.get_json("/v1/documents").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 23);
    let v: Value = gw
        .post("/v1/chat", &json!({"query": "How many keys does a piano have?", "user_id": "u", "template": "rag_answer"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["retrieval"]["sources"][0]["document_id"], "piano", "{v}");
    drop(gw);
    let _ = std::fs::remove_dir_all(data);
}

#[tokio::test]
async fn without_embeddings_answers_come_without_context_and_say_so() {
    let up = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&format!(
        "[server]\ndefault_route = \"default\"\n{}{}[routes.default]\nfallback = [\"gpt-4o\"]\n",
        openai_provider("oa", &up.base_url(), 0),
        model("gpt-4o", "oa"),
    ));
    let r = gw.post("/v1/documents", &json!({"text": "hello"})).await;
    assert_eq!(r.status(), 503);
    let r = gw
        .post(
            "/v1/chat",
            &json!({"query": "Anything?", "user_id": "u", "template": "rag_answer"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["retrieval"]["status"], "unavailable", "{v}");
    assert!(
        v["retrieval"]["error"]
            .as_str()
            .unwrap()
            .contains("embedding")
    );
}

#[tokio::test]
async fn embeddings_endpoint_speaks_openai() {
    let up = MockUpstream::start(vec![]);
    let data = temp_dir("emb");
    let gw = TestGateway::start(&config(&up, &data));
    let r = gw
        .post("/v1/embeddings", &json!({"model": "all-MiniLM-L6-v2", "input": ["How do I reset my password?", "What is the procedure to change my password?", "The capital of France is Paris."]}))
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let vecs: Vec<Vec<f64>> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| serde_json::from_value(d["embedding"].clone()).unwrap())
        .collect();
    assert_eq!(vecs.len(), 3);
    assert_eq!(vecs[0].len(), 384);
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    assert!((dot(&vecs[0], &vecs[0]) - 1.0).abs() < 1e-3);
    assert!(dot(&vecs[0], &vecs[1]) > 0.7 && dot(&vecs[0], &vecs[2]) < 0.2);
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() >= 20, "{v}");
    assert_eq!(v["model"], "all-MiniLM-L6-v2");
    // base64: the same floats, little-endian.
    let r = gw
        .post(
            "/v1/embeddings",
            &json!({"input": "How do I reset my password?", "encoding_format": "base64"}),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert!(v["data"][0]["embedding"].is_string());
    for bad in [
        json!({"input": []}),
        json!({"input": [[1, 2]]}),
        json!({"input": "x", "dimensions": 8}),
        json!({"input": "x", "encoding_format": "hex"}),
        json!({}),
    ] {
        let r = gw.post("/v1/embeddings", &bad).await;
        assert_eq!(r.status(), 400, "{bad}");
        let e: Value = r.json().await.unwrap();
        assert!(e["error"]["message"].is_string());
    }
    drop(gw);
    let _ = std::fs::remove_dir_all(data);
}
