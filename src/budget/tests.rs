#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicI64, Ordering};

use super::*;

fn usd(s: &str) -> Usd {
    s.parse().unwrap()
}

fn cfg() -> BudgetConfig {
    BudgetConfig {
        user_daily: usd("0.50"),
        user_daily_hard: Some(usd("1.00")),
        global_daily: usd("2.00"),
        emergency_max_input_tokens: 2_000,
        alert_webhook: None,
    }
}

fn budgets() -> (Arc<Budgets>, Arc<Alerts>, Arc<AtomicI64>) {
    let now = Arc::new(AtomicI64::new(1_800_000_000));
    let alerts = Arc::new(Alerts::new(None));
    let clock = now.clone();
    let b = Budgets::with_clock(
        cfg(),
        alerts.clone(),
        Box::new(move || clock.load(Ordering::SeqCst)),
    );
    (b, alerts, now)
}

#[test]
fn fifty_concurrent_reservations_cannot_overshoot_the_hard_limit() {
    let (b, _, _) = budgets();
    // Each request may cost up to $0.03: only 33 fit under $1.00.
    let held: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..50)
            .map(|_| {
                let b = b.clone();
                s.spawn(move || b.reserve("ann", usd("0.03")).ok())
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let granted: Vec<Reservation> = held.into_iter().flatten().collect();
    assert_eq!(granted.len(), 33);
    for r in granted {
        r.settle(usd("0.03"));
    }
    let rep = b.report();
    assert_eq!(rep.spent_usd, usd("0.99"));
    assert_eq!(rep.reserved_usd, Usd::ZERO);
    assert!(b.reserve("ann", usd("0.03")).is_err());
    // An unsettled reservation gives its hold back when dropped.
    drop(b.reserve("bob", usd("0.9")).unwrap());
    assert!(b.reserve("bob", usd("0.9")).is_ok());
}

#[test]
fn soft_limit_downgrades_then_global_limit_starts_emergency_until_the_day_ends() {
    let (b, alerts, now) = budgets();
    assert_eq!(b.mode("ann"), Mode::Normal);
    b.reserve("ann", usd("0.1")).unwrap().settle(usd("0.6"));
    assert_eq!(b.mode("ann"), Mode::Downgrade);
    assert_eq!(b.mode("bob"), Mode::Normal);
    assert_eq!(alerts.list(10)[0].kind, AlertKind::UserDowngraded);

    for u in ["bob", "cat", "dan"] {
        b.reserve(u, usd("0.1")).unwrap().settle(usd("0.5"));
    }
    assert_eq!(b.mode("eve"), Mode::Emergency);
    assert_eq!(alerts.list(1)[0].kind, AlertKind::EmergencyOn);
    assert!(b.check_input(Mode::Emergency, 2_001).is_err());
    assert!(b.check_input(Mode::Emergency, 2_000).is_ok());
    assert!(b.check_input(Mode::Normal, 50_000).is_ok());

    // Lifted by an admin: off for the rest of the day, even as spending goes on.
    b.set_emergency(false, "test");
    b.reserve("eve", usd("0.1")).unwrap().settle(usd("0.2"));
    assert_eq!(b.mode("eve"), Mode::Normal);

    // A new UTC day starts from zero.
    b.set_emergency(true, "test");
    now.fetch_add(86_400, Ordering::SeqCst);
    assert_eq!(b.mode("ann"), Mode::Normal);
    assert!(!b.emergency());
    assert_eq!(b.report().spent_usd, Usd::ZERO);
}

#[test]
fn restore_brings_back_todays_spend() {
    let (b, _, _) = budgets();
    b.restore([
        ("ann".to_string(), usd("0.7")),
        ("bob".to_string(), usd("1.5")),
    ]);
    assert_eq!(
        b.mode("ann"),
        Mode::Emergency,
        "2.2 spent in all passes the gateway limit"
    );
    assert!(
        b.reserve("bob", usd("0.01")).is_err(),
        "bob is past the hard limit"
    );
    assert!(b.reserve("ann", usd("0.31")).is_err());
    assert_eq!(b.reserve("ann", usd("0.3")).unwrap().amount, usd("0.3"));
}

#[test]
fn estimates_take_the_whole_output_cap() {
    let p = money::Prices {
        input: usd("2.5"),
        cached_input: usd("1.25"),
        cache_write: usd("2.5"),
        output: usd("10"),
    };
    assert_eq!(estimate(&p, 1_000, 500), usd("0.0075"));
    assert_eq!(day_string(day_number(1_800_000_000)), "2027-01-15");
}
