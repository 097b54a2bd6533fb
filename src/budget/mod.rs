//! Daily budgets, the seed's cost alerting: per user, a soft limit that sends their requests to
//! the cheapest model of the route and a hard limit that refuses them; for the whole gateway, a
//! limit past which emergency mode starts (cache for repeated questions, the cheapest model for
//! the rest, long inputs refused) until the UTC day rolls over or an admin lifts it.
//!
//! Spending is reserved before a call (an upper bound: the input at the model's input price and
//! the output cap at its output price) and settled with the real cost after, under one short
//! lock, so concurrent requests cannot together overshoot a limit. The state is per process
//! behind this type's methods; a shared store (Redis) can take its place for replicas.

mod alerts;

use std::{collections::HashMap, sync::Arc};

use parking_lot::Mutex;
use serde::Serialize;

pub use alerts::{Alert, AlertKind, Alerts};

use crate::{
    config::BudgetConfig,
    money::{self, Usd},
};

/// Seconds in a day.
const DAY_SECS: i64 = 86_400;

/// The UTC day number of a Unix time in seconds.
pub fn day_number(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(DAY_SECS)
}

/// `YYYY-MM-DD` of a UTC day number.
pub fn day_string(day: i64) -> String {
    jiff::Timestamp::from_second(day * DAY_SECS)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| "1970-01-01".into())
}

/// How a request is to be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// As asked.
    Normal,
    /// The user is past their soft limit: the cheapest model of the route.
    Downgrade,
    /// The gateway is in emergency mode.
    Emergency,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The user's hard daily limit would be passed.
    #[error(
        "user {user} has reached the daily spending limit of ${limit} (${spent} spent or reserved today); it renews at 00:00 UTC"
    )]
    UserHardCap {
        /// The user.
        user: String,
        /// The limit.
        limit: Usd,
        /// Spent plus reserved.
        spent: Usd,
    },
    /// Emergency mode refuses long inputs.
    #[error(
        "the gateway is in emergency cost mode and refuses inputs over {limit} tokens (this one has {tokens}); shorten it or retry after 00:00 UTC"
    )]
    EmergencyLongInput {
        /// The input's tokens.
        tokens: u64,
        /// The limit.
        limit: u64,
    },
}

#[derive(Debug, Default, Clone, Copy)]
struct Spend {
    settled: Usd,
    reserved: Usd,
}

impl Spend {
    fn committed(&self) -> Usd {
        self.settled + self.reserved
    }
}

#[derive(Debug, Default)]
struct Day {
    number: i64,
    users: HashMap<String, Spend>,
    global: Spend,
    /// Emergency mode is on.
    emergency: bool,
    /// An admin lifted it today: it stays off until the day rolls over.
    lifted: bool,
}

/// A user's figures for `/admin/budgets`.
#[derive(Debug, Clone, Serialize)]
pub struct UserBudget {
    /// User id.
    pub user: String,
    /// Settled today.
    pub spent_usd: Usd,
    /// Reserved by requests in flight.
    pub reserved_usd: Usd,
    /// Their mode now.
    pub mode: Mode,
}

/// `/admin/budgets`.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetReport {
    /// The UTC day.
    pub day: String,
    /// Settled today, all users.
    pub spent_usd: Usd,
    /// Reserved now.
    pub reserved_usd: Usd,
    /// Whether emergency mode is on.
    pub emergency: bool,
    /// Limits.
    pub user_daily_usd: Usd,
    /// Hard limit per user, if one.
    pub user_daily_hard_usd: Option<Usd>,
    /// Gateway limit.
    pub global_daily_usd: Usd,
    /// The users who spent most today (50 at most).
    pub users: Vec<UserBudget>,
}

/// The budgets of every user and of the gateway, for the current UTC day.
pub struct Budgets {
    cfg: BudgetConfig,
    day: Mutex<Day>,
    alerts: Arc<Alerts>,
    clock: Box<dyn Fn() -> i64 + Send + Sync>,
    /// The day number and its `YYYY-MM-DD`.
    today: Mutex<(i64, String)>,
}

impl std::fmt::Debug for Budgets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budgets").field("cfg", &self.cfg).finish()
    }
}

/// Spending held for one request until it settles. Dropped unsettled, it releases the hold.
#[derive(Debug)]
pub struct Reservation {
    budgets: Arc<Budgets>,
    user: String,
    amount: Usd,
    day: i64,
    settled: bool,
}

impl Reservation {
    /// Replaces the hold by the real cost.
    pub fn settle(mut self, cost: Usd) {
        self.settled = true;
        self.budgets.settle(&self.user, self.day, self.amount, cost);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.settled {
            self.budgets
                .settle(&self.user, self.day, self.amount, Usd::ZERO);
        }
    }
}

impl Budgets {
    /// Budgets on the system clock, alerts going to `alerts`.
    pub fn new(cfg: BudgetConfig, alerts: Arc<Alerts>) -> Arc<Budgets> {
        Self::with_clock(cfg, alerts, Box::new(crate::store::unix_now))
    }

    /// Budgets on a given clock (Unix seconds), for tests of the day rolling over.
    pub fn with_clock(
        cfg: BudgetConfig,
        alerts: Arc<Alerts>,
        clock: Box<dyn Fn() -> i64 + Send + Sync>,
    ) -> Arc<Budgets> {
        let number = day_number(clock());
        Arc::new(Budgets {
            cfg,
            day: Mutex::new(Day {
                number,
                ..Day::default()
            }),
            alerts,
            clock,
            today: Mutex::new((number, day_string(number))),
        })
    }

    /// The alert log.
    pub fn alerts(&self) -> &Alerts {
        &self.alerts
    }

    /// The limits.
    pub fn config(&self) -> &BudgetConfig {
        &self.cfg
    }

    /// Today's UTC day, `YYYY-MM-DD` (formatted once a day, not per request).
    pub fn today(&self) -> String {
        let day = day_number((self.clock)());
        let mut cached = self.today.lock();
        if cached.0 != day {
            *cached = (day, day_string(day));
        }
        cached.1.clone()
    }

    /// Takes today's spend per user from the ledger at start, so a restart forgets nothing.
    pub fn restore(&self, spent: impl IntoIterator<Item = (String, Usd)>) {
        let mut d = self.current();
        for (user, usd) in spent {
            d.users.entry(user).or_default().settled += usd;
            d.global.settled += usd;
        }
        if d.global.settled >= self.cfg.global_daily && !d.lifted {
            d.emergency = true;
        }
    }

    /// Today's state, started afresh when the UTC day has changed.
    fn current(&self) -> parking_lot::MutexGuard<'_, Day> {
        let today = day_number((self.clock)());
        let mut d = self.day.lock();
        if d.number != today {
            let was = d.emergency;
            *d = Day {
                number: today,
                ..Day::default()
            };
            if was {
                self.alerts.raise(
                    AlertKind::EmergencyOff,
                    None,
                    "a new UTC day started: emergency mode is off".into(),
                );
            }
        }
        d
    }

    /// The mode `user`'s next request runs in.
    pub fn mode(&self, user: &str) -> Mode {
        let d = self.current();
        if d.emergency {
            return Mode::Emergency;
        }
        let spent = d.users.get(user).map_or(Usd::ZERO, |s| s.settled);
        if spent >= self.cfg.user_daily {
            Mode::Downgrade
        } else {
            Mode::Normal
        }
    }

    /// Checks an emergency-mode request's input size.
    pub fn check_input(&self, mode: Mode, input_tokens: u64) -> Result<(), Refusal> {
        let limit = self.cfg.emergency_max_input_tokens;
        if mode == Mode::Emergency && input_tokens > limit {
            return Err(Refusal::EmergencyLongInput {
                tokens: input_tokens,
                limit,
            });
        }
        Ok(())
    }

    /// Holds `amount` of `user`'s budget, or refuses when their hard limit would be passed.
    pub fn reserve(self: &Arc<Self>, user: &str, amount: Usd) -> Result<Reservation, Refusal> {
        let mut d = self.current();
        let number = d.number;
        let spend = d.users.entry(user.to_string()).or_default();
        let after = spend.committed() + amount;
        if let Some(hard) = self.cfg.user_daily_hard
            && after > hard
        {
            let spent = spend.committed();
            drop(d);
            self.alerts.raise_once(
                AlertKind::UserBlocked,
                Some(user),
                format!(
                    "user {user} reached the hard daily limit of ${hard} (${spent} spent or reserved): requests refused until 00:00 UTC"
                ),
            );
            return Err(Refusal::UserHardCap {
                user: user.to_string(),
                limit: hard,
                spent,
            });
        }
        spend.reserved += amount;
        d.global.reserved += amount;
        Ok(Reservation {
            budgets: self.clone(),
            user: user.to_string(),
            amount,
            day: number,
            settled: false,
        })
    }

    fn settle(&self, user: &str, day: i64, held: Usd, cost: Usd) {
        let mut d = self.current();
        if d.number != day {
            // Reserved yesterday, settled today: yesterday's hold went with its day; the cost
            // counts for today, when it was incurred.
            let s = d.users.entry(user.to_string()).or_default();
            s.settled += cost;
            d.global.settled += cost;
        } else {
            let s = d.users.entry(user.to_string()).or_default();
            s.reserved = (s.reserved - held).max(Usd::ZERO);
            s.settled += cost;
            d.global.reserved = (d.global.reserved - held).max(Usd::ZERO);
            d.global.settled += cost;
        }
        let user_spent = d.users.get(user).map_or(Usd::ZERO, |s| s.settled);
        let crossed_user = cost > Usd::ZERO
            && user_spent >= self.cfg.user_daily
            && user_spent - cost < self.cfg.user_daily;
        let global = d.global.settled;
        let start_emergency = !d.emergency && !d.lifted && global >= self.cfg.global_daily;
        if start_emergency {
            d.emergency = true;
        }
        drop(d);
        if crossed_user {
            self.alerts.raise(
                AlertKind::UserDowngraded,
                Some(user),
                format!(
                    "user {user} passed the daily budget of ${} (${user_spent} today): their requests now go to the cheapest model",
                    self.cfg.user_daily
                ),
            );
        }
        if start_emergency {
            self.alerts.raise(
                AlertKind::EmergencyOn,
                None,
                format!(
                    "the gateway passed its daily budget of ${} (${global} today): emergency mode is on until 00:00 UTC or an admin lifts it",
                    self.cfg.global_daily
                ),
            );
        }
    }

    /// Turns emergency mode on or off by hand. Lifted, it stays off for the rest of the day.
    pub fn set_emergency(&self, on: bool, by: &str) {
        let mut d = self.current();
        if d.emergency == on {
            return;
        }
        d.emergency = on;
        d.lifted = !on;
        drop(d);
        let (kind, word) = if on {
            (AlertKind::EmergencyOn, "started")
        } else {
            (AlertKind::EmergencyOff, "lifted")
        };
        self.alerts
            .raise(kind, None, format!("emergency mode {word} by {by}"));
    }

    /// Whether emergency mode is on.
    pub fn emergency(&self) -> bool {
        self.current().emergency
    }

    /// The figures for `/admin/budgets`.
    pub fn report(&self) -> BudgetReport {
        let d = self.current();
        let mut users: Vec<UserBudget> = d
            .users
            .iter()
            .map(|(u, s)| UserBudget {
                user: u.clone(),
                spent_usd: s.settled,
                reserved_usd: s.reserved,
                mode: if d.emergency {
                    Mode::Emergency
                } else if s.settled >= self.cfg.user_daily {
                    Mode::Downgrade
                } else {
                    Mode::Normal
                },
            })
            .collect();
        users.sort_by(|a, b| b.spent_usd.cmp(&a.spent_usd).then(a.user.cmp(&b.user)));
        users.truncate(50);
        BudgetReport {
            day: day_string(d.number),
            spent_usd: d.global.settled,
            reserved_usd: d.global.reserved,
            emergency: d.emergency,
            user_daily_usd: self.cfg.user_daily,
            user_daily_hard_usd: self.cfg.user_daily_hard,
            global_daily_usd: self.cfg.global_daily,
            users,
        }
    }
}

/// The upper bound of a call's cost: all its input at the input price, its whole output cap at
/// the output price.
pub fn estimate(prices: &money::Prices, input_tokens: u64, max_output_tokens: u64) -> Usd {
    let mtok = Usd::from(1_000_000u32);
    (Usd::from(input_tokens) * prices.input.max(prices.cache_write)
        + Usd::from(max_output_tokens) * prices.output)
        / mtok
}

#[cfg(test)]
mod tests;
