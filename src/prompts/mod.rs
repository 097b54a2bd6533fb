//! The prompt router: versioned templates (minijinja, strict undefined), the active version of
//! each, and experiments that split users between two versions.
//!
//! Every version is written to the [`Store`] before it can be used and is never overwritten.
//! Admin decisions (active versions, rollouts, rollbacks) are stored too, so a restart keeps them.
//! State sits behind one `RwLock`, held only for short synchronous sections.

mod admin;
mod builtin;
pub mod experiment;

use std::{collections::BTreeMap, sync::Arc};

use minijinja::{Environment, UndefinedBehavior};
use parking_lot::RwLock;
use serde::Serialize;
use serde_json::{Value, json};

pub use admin::NewVersion;
pub use experiment::{Arm, Experiment, Status, Tally};

use crate::{
    config::Config,
    error::GatewayError,
    store::{Store, StoreError, StoredVersion, VersionOrigin, unix_now},
};

/// A template shipped in the binary.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Template name.
    pub name: &'static str,
    /// Version label.
    pub version: &'static str,
    /// Jinja source.
    pub source: &'static str,
    /// Preferred model.
    pub model: &'static str,
    /// Whether retrieved context is injected.
    pub retrieval: bool,
    /// Output cap.
    pub max_output_tokens: u32,
}

/// One immutable version of a template.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PromptVersion {
    /// Template name.
    pub template: String,
    /// Version label.
    pub version: String,
    /// Jinja source.
    pub text: String,
    /// Model or route tried first.
    pub model: String,
    /// Output cap.
    pub max_output_tokens: u32,
    /// OpenAI `response_format` of its answers.
    #[schema(value_type = Object)]
    pub response_format: Value,
    /// Whether retrieved context is injected as `context`.
    pub retrieval: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Where it was defined.
    pub origin: VersionOrigin,
}

impl PromptVersion {
    fn from_stored(s: StoredVersion) -> PromptVersion {
        PromptVersion {
            template: s.template,
            version: s.version,
            text: s.source,
            model: s.model,
            max_output_tokens: s.max_output_tokens,
            response_format: s.format,
            retrieval: s.retrieval,
            created_at: s.created_at,
            origin: s.origin,
        }
    }

    fn to_stored(&self) -> StoredVersion {
        StoredVersion {
            template: self.template.clone(),
            version: self.version.clone(),
            source: self.text.clone(),
            model: self.model.clone(),
            max_output_tokens: self.max_output_tokens,
            format: self.response_format.clone(),
            retrieval: self.retrieval,
            created_at: self.created_at,
            origin: self.origin,
        }
    }

    fn key(&self) -> String {
        format!("{}@{}", self.template, self.version)
    }
}

/// The version chosen for a request.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The version to render and answer with.
    pub version: Arc<PromptVersion>,
    /// The experiment that chose it, if any.
    pub experiment: Option<String>,
    /// The variant to run unseen in the background (shadow mode), if this request is sampled.
    pub shadow: Option<Arc<PromptVersion>>,
}

/// A template with its versions, for the admin API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplateInfo {
    /// Template name.
    pub template: String,
    /// The version served when no experiment or explicit version decides.
    pub active: String,
    /// Earlier active versions, oldest first (the rollback targets).
    pub previously_active: Vec<String>,
    /// Every version, oldest first.
    pub versions: Vec<PromptVersion>,
    /// Its experiment, if one was ever started.
    pub experiment: Option<Experiment>,
}

/// Why the prompt catalogue could not load.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A template does not compile.
    #[error("prompt {0} does not compile: {1}")]
    Compile(String, minijinja::Error),
    /// The configuration names something that does not exist.
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
struct Active {
    version: String,
    #[serde(default)]
    history: Vec<String>,
}

struct State {
    env: Environment<'static>,
    versions: BTreeMap<String, Vec<Arc<PromptVersion>>>,
    active: BTreeMap<String, Active>,
    experiments: BTreeMap<String, Experiment>,
}

impl State {
    fn find(&self, template: &str, version: &str) -> Option<&Arc<PromptVersion>> {
        self.versions
            .get(template)?
            .iter()
            .find(|v| v.version == version)
    }

    /// The template's running experiment, else its latest ended one.
    fn experiment_of(&self, template: &str) -> Option<&Experiment> {
        let of_template = self.experiments.values().filter(|e| e.template == template);
        of_template
            .clone()
            .find(|e| e.running())
            .or_else(|| of_template.max_by_key(|e| e.started_at))
    }

    fn add(&mut self, v: PromptVersion) -> Result<(), PromptError> {
        self.env
            .add_template_owned(v.key(), v.text.clone())
            .map_err(|e| PromptError::Compile(v.key(), e))?;
        self.active
            .entry(v.template.clone())
            .or_insert_with(|| Active {
                version: v.version.clone(),
                history: Vec::new(),
            });
        self.versions
            .entry(v.template.clone())
            .or_default()
            .push(Arc::new(v));
        Ok(())
    }
}

/// The catalogue, shared by the handlers.
pub struct PromptRouter {
    state: RwLock<State>,
    store: Arc<Store>,
    models: Vec<String>,
}

impl std::fmt::Debug for PromptRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptRouter").finish_non_exhaustive()
    }
}

impl PromptRouter {
    /// Loads every stored version, first storing the built-in and configured ones that are not
    /// stored yet (a stored version always wins: versions are immutable), then the admin's
    /// decisions and the configured experiments.
    pub fn load(config: &Config, store: Arc<Store>) -> Result<PromptRouter, PromptError> {
        let now = unix_now();
        let mut defined: Vec<PromptVersion> = builtin::BUILTIN
            .iter()
            .map(|b| PromptVersion {
                template: b.name.into(),
                version: b.version.into(),
                text: b.source.into(),
                model: b.model.into(),
                max_output_tokens: b.max_output_tokens,
                response_format: json!({"type": "text"}),
                retrieval: b.retrieval,
                created_at: now,
                origin: VersionOrigin::Builtin,
            })
            .collect();
        for p in &config.prompts {
            defined.push(PromptVersion {
                template: p.template.clone(),
                version: p.version.clone(),
                text: p.text.clone(),
                model: p
                    .model
                    .clone()
                    .unwrap_or_else(|| config.server.default_route.clone()),
                max_output_tokens: p.max_output_tokens,
                response_format: p.response_format.clone(),
                retrieval: p.retrieval,
                created_at: now,
                origin: VersionOrigin::Config,
            });
        }
        let models: Vec<String> = config
            .models
            .keys()
            .chain(config.routes.keys())
            .cloned()
            .collect();
        let stored = store.prompt_versions()?;
        for d in defined {
            // A built-in version's model is only a preference: without that model configured,
            // the default route answers. A configured version must name a real one.
            if d.origin == VersionOrigin::Config && !models.contains(&d.model) {
                return Err(PromptError::Invalid(format!(
                    "prompt {} names model {:?}, which is neither a model nor a route",
                    d.key(),
                    d.model
                )));
            }
            match stored
                .iter()
                .find(|s| s.template == d.template && s.version == d.version)
            {
                Some(s) if s.source != d.text => tracing::warn!(
                    prompt = %d.key(),
                    "the stored text of this version differs from its definition; the stored one is kept (versions are immutable: give a changed text a new version)"
                ),
                Some(_) => {}
                None => store.insert_prompt_version(&d.to_stored())?,
            }
        }
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut state = State {
            env,
            versions: BTreeMap::new(),
            active: BTreeMap::new(),
            experiments: BTreeMap::new(),
        };
        for s in store.prompt_versions()? {
            state.add(PromptVersion::from_stored(s))?;
        }
        for e in &config.experiments {
            for v in [&e.control, &e.variant] {
                if state.find(&e.template, v).is_none() {
                    return Err(PromptError::Invalid(format!(
                        "experiments ({}) names {} version {v}, which is not defined; add it under [[prompts]]",
                        e.name, e.template
                    )));
                }
            }
            state
                .experiments
                .insert(e.name.clone(), Experiment::from_config(e));
        }
        for (key, value) in store.prompt_state()? {
            admin::restore(&mut state, &key, value);
        }
        Ok(PromptRouter {
            state: RwLock::new(state),
            store,
            models,
        })
    }

    /// The version serving `template` for `user`: the one asked for, else the experiment's
    /// choice, else the active version. `request_id` samples shadow runs.
    pub fn resolve(
        &self,
        template: &str,
        version: Option<&str>,
        user: &str,
        request_id: &str,
    ) -> Result<Resolved, GatewayError> {
        let state = self.state.read();
        let unknown = || {
            let known: Vec<String> = state.versions.values().flatten().map(|v| v.key()).collect();
            GatewayError::Template(format!(
                "Unknown template `{template}`{}; known: {}",
                version.map_or(String::new(), |v| format!(" version `{v}`")),
                known.join(", ")
            ))
        };
        if let Some(v) = version {
            let found = state.find(template, v).ok_or_else(unknown)?;
            return Ok(Resolved {
                version: found.clone(),
                experiment: None,
                shadow: None,
            });
        }
        if let Some(e) = state.experiment_of(template).filter(|e| e.running()) {
            let arm = e.assign(user);
            let chosen = state.find(template, e.version(arm)).ok_or_else(unknown)?;
            let shadow = (arm == Arm::Control && e.shadows(request_id))
                .then(|| state.find(template, &e.variant).cloned())
                .flatten();
            return Ok(Resolved {
                version: chosen.clone(),
                experiment: Some(e.name.clone()),
                shadow,
            });
        }
        let active = state.active.get(template).ok_or_else(unknown)?;
        let found = state.find(template, &active.version).ok_or_else(unknown)?;
        Ok(Resolved {
            version: found.clone(),
            experiment: None,
            shadow: None,
        })
    }

    /// Renders `v` with `vars`; a missing variable is an error that names it.
    pub fn render(
        &self,
        v: &PromptVersion,
        vars: &BTreeMap<String, Value>,
    ) -> Result<String, GatewayError> {
        let state = self.state.read();
        let tmpl = state
            .env
            .get_template(&v.key())
            .map_err(|e| GatewayError::Template(e.to_string()))?;
        tmpl.render(minijinja::value::Serde(vars)).map_err(|e| {
            match undefined_name(&v.text, vars) {
                Some(name) => GatewayError::Template(format!(
                    "Template `{}` {} needs the variable `{name}`; pass it in `variables`",
                    v.template, v.version
                )),
                None => GatewayError::Template(format!(
                    "Template `{}` {} failed to render: {e}",
                    v.template, v.version
                )),
            }
        })
    }

    /// Counts a finished request of `template`/`version` for its experiment; rolls the variant
    /// back (logged with the figures, stored) when its error rate reached the configured ratio.
    pub fn observe(&self, template: &str, version: &str, failed: bool) {
        if template == "none" {
            return;
        }
        let rolled = {
            let mut state = self.state.write();
            let Some(e) = state
                .experiments
                .values_mut()
                .find(|e| e.template == template && e.running())
            else {
                return;
            };
            e.observe(version, failed).map(|reason| {
                e.status = Status::RolledBack {
                    reason: reason.clone(),
                    at: unix_now(),
                };
                tracing::warn!(experiment = %e.name, template, %reason, "experiment rolled back automatically");
                (e.name.clone(), admin::experiment_state(e))
            })
        };
        if let Some((name, value)) = rolled {
            let store = self.store.clone();
            let write = move || {
                if let Err(e) = store.put_prompt_state(&format!("experiment:{name}"), &value) {
                    tracing::error!(experiment = %name, error = %e, "cannot store the automatic rollback");
                }
            };
            // Off the request path; the rollback is already in force in memory.
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn_blocking(write)),
                Err(_) => write(),
            }
        }
    }

    /// Every template with its versions and experiment.
    pub fn list(&self) -> Vec<TemplateInfo> {
        let state = self.state.read();
        state
            .versions
            .iter()
            .map(|(name, versions)| {
                let active = state.active.get(name).cloned().unwrap_or_default();
                TemplateInfo {
                    template: name.clone(),
                    active: active.version,
                    previously_active: active.history,
                    versions: versions.iter().map(|v| (**v).clone()).collect(),
                    experiment: state.experiment_of(name).cloned(),
                }
            })
            .collect()
    }
}

/// The first `{{ name }}` of `source` that `vars` lacks.
fn undefined_name(source: &str, vars: &BTreeMap<String, Value>) -> Option<String> {
    source
        .split("{{")
        .skip(1)
        .filter_map(|rest| rest.split("}}").next())
        .map(|expr| {
            expr.trim()
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")
                .to_string()
        })
        .find(|name| !name.is_empty() && !vars.contains_key(name))
}

#[cfg(test)]
mod tests;
