//! Cost alerts: logged, kept for `/admin/alerts`, and POSTed to a webhook when one is set.

use std::{
    collections::{HashSet, VecDeque},
    time::Duration,
};

use parking_lot::Mutex;
use serde::Serialize;

/// Alerts kept for `/admin/alerts`.
const KEPT: usize = 500;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A user passed the soft daily limit.
    UserDowngraded,
    /// A user was refused at the hard daily limit.
    UserBlocked,
    /// Emergency mode started.
    EmergencyOn,
    /// Emergency mode ended.
    EmergencyOff,
}

/// One alert.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// Sequence number, from 1.
    pub id: u64,
    /// When, RFC 3339.
    pub ts: String,
    /// What.
    pub kind: AlertKind,
    /// The user concerned, if one.
    pub user: Option<String>,
    /// A sentence for people.
    pub message: String,
}

/// Kind, user and UTC day of an alert raised at most once a day.
type Once = (AlertKind, String, String);

/// The last sequence number, the kept alerts, and the once-a-day alerts raised.
type Kept = (u64, VecDeque<Alert>, HashSet<Once>);

/// The alert log and its webhook.
pub struct Alerts {
    kept: Mutex<Kept>,
    webhook: Option<(reqwest::Client, String)>,
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerts").finish_non_exhaustive()
    }
}

impl Alerts {
    /// Alerts, POSTed to `webhook` too when given.
    pub fn new(webhook: Option<String>) -> Alerts {
        let webhook = webhook.and_then(|url| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .ok()
                .map(|c| (c, url))
        });
        Alerts {
            kept: Mutex::new((0, VecDeque::new(), HashSet::new())),
            webhook,
        }
    }

    /// Records an alert: a warning log line, the list, and the webhook.
    pub fn raise(&self, kind: AlertKind, user: Option<&str>, message: String) {
        let ts = jiff::Timestamp::now().to_string();
        let alert = {
            let mut k = self.kept.lock();
            k.0 += 1;
            let alert = Alert {
                id: k.0,
                ts,
                kind,
                user: user.map(String::from),
                message,
            };
            if k.1.len() == KEPT {
                k.1.pop_front();
            }
            k.1.push_back(alert.clone());
            alert
        };
        tracing::warn!(alert = ?alert.kind, user = alert.user.as_deref().unwrap_or(""), message = %alert.message, "cost alert");
        self.post(alert);
    }

    /// Like [`Alerts::raise`], but once per kind, user and UTC day.
    pub fn raise_once(&self, kind: AlertKind, user: Option<&str>, message: String) {
        let day = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
        let first = self
            .kept
            .lock()
            .2
            .insert((kind, user.unwrap_or("").to_string(), day));
        if first {
            self.raise(kind, user, message);
        }
    }

    /// The latest alerts, newest first.
    pub fn list(&self, limit: usize) -> Vec<Alert> {
        self.kept
            .lock()
            .1
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect()
    }

    fn post(&self, alert: Alert) {
        let Some((client, url)) = &self.webhook else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("cost alert webhook skipped: no runtime to send it from");
            return;
        };
        let (client, url) = (client.clone(), url.clone());
        rt.spawn(async move {
            match client.post(&url).json(&alert).send().await {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => {
                    tracing::warn!(
                        status = r.status().as_u16(),
                        "cost alert webhook refused the alert"
                    )
                }
                Err(e) => tracing::warn!(error = %e, "cost alert webhook unreachable"),
            }
        });
    }
}
