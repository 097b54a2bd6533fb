#![allow(clippy::unwrap_used)]
use super::*;
use crate::config::Config;

fn config(extra: &str) -> Config {
    let toml = format!("{}\n{extra}", crate::config::EMBEDDED_CONFIG);
    Config::from_toml(&toml, &[("UNUSED", "")]).unwrap()
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

#[test]
fn builtins_render_and_name_missing_variables() {
    let p = PromptRouter::load(&config(""), Arc::new(Store::in_memory().unwrap())).unwrap();
    let rag = p.resolve("rag_answer", None, "u", "r").unwrap().version;
    assert!(rag.retrieval);
    let err = p
        .render(&rag, &vars(&[("query", "What is RAG?")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("`context`"), "{err}");
    let out = p
        .render(
            &rag,
            &vars(&[("query", "What is RAG?"), ("context", "docs")]),
        )
        .unwrap();
    assert!(out.contains("docs") && out.contains("What is RAG?"));
    // The first version is active until an admin says otherwise.
    assert_eq!(
        p.resolve("general_chat", None, "u", "r")
            .unwrap()
            .version
            .version,
        "v1"
    );
    assert!(p.resolve("nope", None, "u", "r").is_err());
    assert_eq!(p.list().len(), 3);
}

#[test]
fn versions_and_decisions_survive_a_reload_and_are_never_overwritten() {
    let store = Arc::new(Store::in_memory().unwrap());
    let cfg = config("");
    let p = PromptRouter::load(&cfg, store.clone()).unwrap();
    let new = NewVersion {
        version: "v3".into(),
        text: "Briefly: {{ query }}".into(),
        model: None,
        max_output_tokens: Some(64),
        response_format: None,
        retrieval: false,
    };
    let v = p.create_version("general_chat", new.clone()).unwrap();
    assert_eq!(v.model, "gpt-4o");
    assert!(matches!(
        p.create_version("general_chat", new),
        Err(GatewayError::Conflict(_))
    ));
    p.activate("general_chat", "v3").unwrap();
    let p2 = PromptRouter::load(&cfg, store).unwrap();
    let r = p2.resolve("general_chat", None, "u", "r").unwrap();
    assert_eq!(r.version.version, "v3");
    p2.rollback("general_chat").unwrap();
    assert_eq!(
        p2.resolve("general_chat", None, "u", "r")
            .unwrap()
            .version
            .version,
        "v1"
    );
    assert!(matches!(
        p2.rollback("general_chat"),
        Err(GatewayError::Conflict(_))
    ));
}

#[test]
fn bad_versions_are_refused() {
    let p = PromptRouter::load(&config(""), Arc::new(Store::in_memory().unwrap())).unwrap();
    let mut new = NewVersion {
        version: "bad".into(),
        text: "{% if %}".into(),
        model: Some("gpt-4o".into()),
        max_output_tokens: None,
        response_format: None,
        retrieval: false,
    };
    assert!(matches!(
        p.create_version("t", new.clone()),
        Err(GatewayError::InvalidRequest { .. })
    ));
    new.text = "ok {{ query }}".into();
    new.model = Some("no-such-model".into());
    assert!(p.create_version("t", new.clone()).is_err());
    new.model = None;
    assert!(p.create_version("brand_new", new).is_err());
}

#[test]
fn experiment_splits_users_and_rolls_back_automatically() {
    let cfg = config(
        "[[experiments]]\nname = \"gc\"\ntemplate = \"general_chat\"\ncontrol = \"v1\"\nvariant = \"v2\"\nrollout_pct = 50\nrollback_min_requests = 10\n",
    );
    let store = Arc::new(Store::in_memory().unwrap());
    let p = PromptRouter::load(&cfg, store.clone()).unwrap();
    let pick = |u: &str| p.resolve("general_chat", None, u, "r").unwrap();
    let variant_users: Vec<String> = (0..100)
        .map(|i| format!("u{i}"))
        .filter(|u| pick(u).version.version == "v2")
        .collect();
    assert!((30..=70).contains(&variant_users.len()));
    assert_eq!(pick("u1").experiment.as_deref(), Some("gc"));
    // An explicit version bypasses the experiment.
    let explicit = p.resolve("general_chat", Some("v1"), &variant_users[0], "r");
    assert_eq!(explicit.unwrap().version.version, "v1");
    for i in 0..10 {
        p.observe("general_chat", "v1", i == 0);
    }
    for _ in 0..10 {
        p.observe("general_chat", "v2", true);
    }
    let e = &p.experiments()[0];
    assert!(matches!(e.status, Status::RolledBack { .. }), "{e:?}");
    assert_eq!(pick(&variant_users[0]).version.version, "v1");
    // Rollout restarts it.
    p.set_rollout("gc", 100).unwrap();
    assert_eq!(pick("anyone").version.version, "v2");
    p.rollback_experiment("gc", None).unwrap();
    assert_eq!(pick("anyone").version.version, "v1");
    let reloaded = PromptRouter::load(&cfg, store).unwrap();
    assert!(!reloaded.experiments()[0].running());
}

#[test]
fn shadow_samples_control_requests() {
    let cfg = config(
        "[[experiments]]\nname = \"gc\"\ntemplate = \"general_chat\"\ncontrol = \"v1\"\nvariant = \"v2\"\nrollout_pct = 0\nshadow_pct = 30\n",
    );
    let p = PromptRouter::load(&cfg, Arc::new(Store::in_memory().unwrap())).unwrap();
    let shadowed = (0..1000)
        .filter(|i| {
            let r = p
                .resolve("general_chat", None, "u", &format!("req_{i}"))
                .unwrap();
            assert_eq!(r.version.version, "v1");
            r.shadow.is_some_and(|s| s.version == "v2")
        })
        .count();
    assert!((240..=360).contains(&shadowed), "{shadowed}");
}
