//! Admin operations on the catalogue: new versions, activation and rollback, experiments and
//! their rollout. Each change is stored before it takes effect; callers run these on the
//! blocking pool (they write to the store).

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Active, PromptRouter, PromptVersion, State, Status};
use crate::{
    config::ExperimentConfig,
    error::GatewayError,
    guardrails::format::OutputFormat,
    prompts::Experiment,
    store::{StoreError, VersionOrigin, unix_now},
};

/// `POST /admin/prompts/{template}/versions`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    /// Version label, unique within the template.
    pub version: String,
    /// Jinja source.
    pub text: String,
    /// Model or route tried first (default: the template's active version's).
    #[serde(default)]
    pub model: Option<String>,
    /// Output cap (default 1024).
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    /// OpenAI `response_format` (default text).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub response_format: Option<Value>,
    /// Whether retrieved context is injected as `context`.
    #[serde(default)]
    pub retrieval: bool,
}

fn store_err(e: StoreError) -> GatewayError {
    match e {
        StoreError::Exists(what) => GatewayError::Conflict(format!(
            "{what} already exists; versions are never overwritten: choose a new version label"
        )),
        other => GatewayError::Internal(other.to_string()),
    }
}

/// The stored form of an experiment's settings and status (tallies are not stored).
pub(super) fn experiment_state(e: &Experiment) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("control_tally");
        obj.remove("variant_tally");
    }
    v
}

/// Applies one stored decision at load time; unreadable ones are logged and skipped.
pub(super) fn restore(state: &mut State, key: &str, value: Value) {
    if let Some(template) = key.strip_prefix("active:") {
        match serde_json::from_value::<Active>(value) {
            Ok(a) if state.find(template, &a.version).is_some() => {
                state.active.insert(template.to_string(), a);
            }
            Ok(a) => {
                tracing::warn!(template, version = %a.version, "stored active version is unknown; ignored")
            }
            Err(e) => tracing::warn!(key, error = %e, "unreadable stored prompt state; ignored"),
        }
    } else if let Some(name) = key.strip_prefix("experiment:") {
        match serde_json::from_value::<Experiment>(value) {
            Ok(e) => {
                state.experiments.insert(name.to_string(), e);
            }
            Err(e) => tracing::warn!(key, error = %e, "unreadable stored experiment; ignored"),
        }
    }
}

impl PromptRouter {
    fn check_model(&self, model: &str) -> Result<(), GatewayError> {
        if self.models.iter().any(|m| m == model) {
            Ok(())
        } else {
            Err(GatewayError::invalid(
                format!("`model` {model:?} is neither a configured model nor a route"),
                Some("model"),
            ))
        }
    }

    /// Adds a version to `template` (a new template when it has none yet).
    pub fn create_version(
        &self,
        template: &str,
        new: NewVersion,
    ) -> Result<PromptVersion, GatewayError> {
        if template.trim().is_empty() || new.version.trim().is_empty() {
            return Err(GatewayError::invalid(
                "template and version must not be empty",
                Some("version"),
            ));
        }
        let response_format = new
            .response_format
            .unwrap_or_else(|| json!({"type": "text"}));
        OutputFormat::from_response_format(&response_format).map_err(|e| {
            GatewayError::invalid(
                format!("Invalid response_format: {e}"),
                Some("response_format"),
            )
        })?;
        let model = match new.model {
            Some(m) => m,
            None => {
                let state = self.state.read();
                state
                    .active
                    .get(template)
                    .and_then(|a| state.find(template, &a.version))
                    .map(|v| v.model.clone())
                    .ok_or_else(|| {
                        GatewayError::invalid(
                            "`model` is required for the first version of a template",
                            Some("model"),
                        )
                    })?
            }
        };
        self.check_model(&model)?;
        let v = PromptVersion {
            template: template.to_string(),
            version: new.version,
            text: new.text,
            model,
            max_output_tokens: new.max_output_tokens.unwrap_or(1024),
            response_format,
            retrieval: new.retrieval,
            created_at: unix_now(),
            origin: VersionOrigin::Admin,
        };
        // Compile before storing: a version that cannot render is refused, not kept.
        let mut check = minijinja::Environment::new();
        check
            .add_template_owned(v.key(), v.text.clone())
            .map_err(|e| {
                GatewayError::invalid(format!("`text` does not compile: {e}"), Some("text"))
            })?;
        let mut state = self.state.write();
        if state.find(template, &v.version).is_some() {
            return Err(GatewayError::Conflict(format!(
                "prompt `{template}` version `{}` already exists; versions are never overwritten: choose a new version label",
                v.version
            )));
        }
        self.store
            .insert_prompt_version(&v.to_stored())
            .map_err(store_err)?;
        state
            .add(v.clone())
            .map_err(|e| GatewayError::Internal(e.to_string()))?;
        tracing::info!(template, version = %v.version, "prompt version created");
        Ok(v)
    }

    /// Makes `version` the active version of `template`.
    pub fn activate(&self, template: &str, version: &str) -> Result<Value, GatewayError> {
        let mut state = self.state.write();
        if state.find(template, version).is_none() {
            return Err(GatewayError::Missing(format!(
                "template `{template}` has no version `{version}`"
            )));
        }
        let mut active = state.active.get(template).cloned().unwrap_or_default();
        if active.version != version {
            active.history.push(std::mem::take(&mut active.version));
            active.version = version.to_string();
        }
        self.put_active(template, &active)?;
        state.active.insert(template.to_string(), active.clone());
        tracing::info!(template, version, "prompt version activated");
        Ok(
            json!({"template": template, "active": active.version, "previously_active": active.history}),
        )
    }

    /// Returns `template` to its previous active version.
    pub fn rollback(&self, template: &str) -> Result<Value, GatewayError> {
        let mut state = self.state.write();
        let mut active = state
            .active
            .get(template)
            .cloned()
            .ok_or_else(|| GatewayError::Missing(format!("no template `{template}`")))?;
        let previous = active.history.pop().ok_or_else(|| {
            GatewayError::Conflict(format!(
                "template `{template}` has no earlier active version to roll back to"
            ))
        })?;
        let from = std::mem::replace(&mut active.version, previous);
        self.put_active(template, &active)?;
        state.active.insert(template.to_string(), active.clone());
        tracing::warn!(template, from = %from, to = %active.version, "prompt version rolled back");
        Ok(json!({"template": template, "active": active.version, "rolled_back_from": from}))
    }

    fn put_active(&self, template: &str, active: &Active) -> Result<(), GatewayError> {
        let value = serde_json::to_value(active).unwrap_or(Value::Null);
        self.store
            .put_prompt_state(&format!("active:{template}"), &value)
            .map_err(store_err)
    }

    fn put_experiment(&self, e: &Experiment) -> Result<(), GatewayError> {
        self.store
            .put_prompt_state(&format!("experiment:{}", e.name), &experiment_state(e))
            .map_err(store_err)
    }

    /// Starts an experiment; its template may have no other running one.
    pub fn start_experiment(&self, cfg: ExperimentConfig) -> Result<Experiment, GatewayError> {
        let mut state = self.state.write();
        for v in [&cfg.control, &cfg.variant] {
            if state.find(&cfg.template, v).is_none() {
                return Err(GatewayError::invalid(
                    format!("template `{}` has no version `{v}`", cfg.template),
                    Some("template"),
                ));
            }
        }
        cfg.check()
            .map_err(|(field, problem)| GatewayError::invalid(problem, Some(field)))?;
        if let Some(e) = state
            .experiments
            .values()
            .find(|e| e.running() && (e.template == cfg.template || e.name == cfg.name))
        {
            return Err(GatewayError::Conflict(format!(
                "experiment `{}` is running on template `{}`; roll it back first",
                e.name, e.template
            )));
        }
        let e = Experiment::from_config(&cfg);
        self.put_experiment(&e)?;
        state.experiments.insert(e.name.clone(), e.clone());
        tracing::info!(experiment = %e.name, template = %e.template, rollout_pct = e.rollout_pct, "experiment started");
        Ok(e)
    }

    /// Sets an experiment's rollout (10 → 25 → 50 → 100); a rolled-back one restarts.
    pub fn set_rollout(&self, name: &str, pct: u8) -> Result<Experiment, GatewayError> {
        if pct > 100 {
            return Err(GatewayError::invalid(
                "rollout_pct must be 0..=100",
                Some("rollout_pct"),
            ));
        }
        let mut state = self.state.write();
        let template = state
            .experiments
            .get(name)
            .map(|e| e.template.clone())
            .ok_or_else(|| GatewayError::Missing(format!("no experiment `{name}`")))?;
        if state
            .experiments
            .values()
            .any(|o| o.name != name && o.template == template && o.running())
        {
            return Err(GatewayError::Conflict(format!(
                "another experiment is running on template `{template}`"
            )));
        }
        let Some(e) = state.experiments.get_mut(name) else {
            return Err(GatewayError::Missing(format!("no experiment `{name}`")));
        };
        let mut next = e.clone();
        next.rollout_pct = pct;
        if !next.running() {
            next.status = Status::Running;
            next.control_tally = Default::default();
            next.variant_tally = Default::default();
        }
        self.put_experiment(&next)?;
        *e = next.clone();
        tracing::info!(
            experiment = name,
            rollout_pct = pct,
            "experiment rollout changed"
        );
        Ok(next)
    }

    /// Rolls an experiment back at once: every user sees the control again.
    pub fn rollback_experiment(
        &self,
        name: &str,
        reason: Option<String>,
    ) -> Result<Experiment, GatewayError> {
        let mut state = self.state.write();
        let Some(e) = state.experiments.get_mut(name) else {
            return Err(GatewayError::Missing(format!("no experiment `{name}`")));
        };
        let mut next = e.clone();
        next.status = Status::RolledBack {
            reason: reason.unwrap_or_else(|| "rolled back through the admin API".into()),
            at: unix_now(),
        };
        self.put_experiment(&next)?;
        *e = next.clone();
        tracing::warn!(experiment = name, "experiment rolled back by an admin");
        Ok(next)
    }

    /// Every experiment.
    pub fn experiments(&self) -> Vec<Experiment> {
        self.state.read().experiments.values().cloned().collect()
    }
}
