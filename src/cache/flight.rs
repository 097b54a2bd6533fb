//! Single flight: identical requests that arrive while the first is still being answered wait
//! for its answer instead of calling the upstream again.
//!
//! The first caller of a key becomes the leader and gets a [`Lead`]; later callers get a
//! [`Follow`] that resolves to the leader's value. A leader that fails or is dropped (client gone,
//! error) publishes nothing: its followers then go on by themselves.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use parking_lot::Mutex;
use tokio::sync::watch;

type Slot<T> = watch::Sender<Option<Arc<T>>>;

/// The flights in progress, by key.
pub struct Flights<T> {
    inflight: Arc<Mutex<HashMap<String, Slot<T>>>>,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    waiting: AtomicU64,
    shared: AtomicU64,
}

impl<T> Default for Flights<T> {
    fn default() -> Self {
        Flights {
            inflight: Arc::new(Mutex::new(HashMap::new())),
            counts: Arc::default(),
        }
    }
}

/// What a caller of [`Flights::join`] is.
pub enum Joined<T> {
    /// First with this key: answer it, then [`Lead::land`].
    Lead(Lead<T>),
    /// Another caller is answering it: await [`Follow::wait`].
    Follow(Follow<T>),
}

/// The leader's side; dropping it without landing releases the followers empty-handed.
pub struct Lead<T> {
    key: String,
    inflight: Arc<Mutex<HashMap<String, Slot<T>>>>,
}

/// A follower's side.
pub struct Follow<T> {
    rx: watch::Receiver<Option<Arc<T>>>,
    counts: Arc<Counts>,
}

impl<T> Drop for Follow<T> {
    fn drop(&mut self) {
        self.counts.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<T> Flights<T> {
    /// Joins the flight of `key`, starting it when there is none.
    pub fn join(&self, key: &str) -> Joined<T> {
        let mut map = self.inflight.lock();
        if let Some(tx) = map.get(key) {
            self.counts.waiting.fetch_add(1, Ordering::Relaxed);
            return Joined::Follow(Follow {
                rx: tx.subscribe(),
                counts: self.counts.clone(),
            });
        }
        let (tx, _) = watch::channel(None);
        map.insert(key.to_string(), tx);
        Joined::Lead(Lead {
            key: key.to_string(),
            inflight: self.inflight.clone(),
        })
    }

    /// Flights in progress.
    pub fn len(&self) -> usize {
        self.inflight.lock().len()
    }

    /// Whether none is in progress.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Flights in progress, followers waiting on them, and followers answered so far.
    pub fn counts(&self) -> (usize, u64, u64) {
        (
            self.len(),
            self.counts.waiting.load(Ordering::Relaxed),
            self.counts.shared.load(Ordering::Relaxed),
        )
    }
}

impl<T> Lead<T> {
    /// Publishes the answer to every follower and ends the flight.
    pub fn land(mut self, value: T) {
        if let Some(tx) = self.inflight.lock().remove(&self.key) {
            tx.send_replace(Some(Arc::new(value)));
        }
        // Landed: the key may already belong to a new flight, which the drop must not end.
        self.key.clear();
    }
}

impl<T> Drop for Lead<T> {
    fn drop(&mut self) {
        // Unlanded: the sender drops with the entry and the followers wake empty-handed.
        if !self.key.is_empty() {
            self.inflight.lock().remove(&self.key);
        }
    }
}

impl<T> Follow<T> {
    /// The leader's value, or `None` when the leader gave up.
    pub async fn wait(mut self) -> Option<Arc<T>> {
        loop {
            if let Some(v) = self.rx.borrow_and_update().clone() {
                self.counts.shared.fetch_add(1, Ordering::Relaxed);
                return Some(v);
            }
            if self.rx.changed().await.is_err() {
                let v = self.rx.borrow().clone();
                if v.is_some() {
                    self.counts.shared.fetch_add(1, Ordering::Relaxed);
                }
                return v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[tokio::test]
    async fn followers_share_the_leaders_value() {
        let flights: Flights<u32> = Flights::default();
        let Joined::Lead(lead) = flights.join("k") else {
            panic!("first caller must lead")
        };
        let followers: Vec<_> = (0..3)
            .map(|_| match flights.join("k") {
                Joined::Follow(f) => tokio::spawn(f.wait()),
                Joined::Lead(_) => panic!("later callers must follow"),
            })
            .collect();
        let other = flights.join("other");
        assert!(matches!(other, Joined::Lead(_)));
        assert_eq!(flights.counts(), (2, 3, 0));
        drop(other);
        lead.land(7);
        for f in followers {
            assert_eq!(*f.await.unwrap().unwrap(), 7);
        }
        assert!(flights.is_empty());
        assert_eq!(flights.counts(), (0, 0, 3));
        // A new flight starts once the last one landed.
        assert!(matches!(flights.join("k"), Joined::Lead(_)));
    }

    #[tokio::test]
    async fn a_dropped_leader_releases_followers_empty() {
        let flights: Flights<u32> = Flights::default();
        let lead = flights.join("k");
        let Joined::Follow(f) = flights.join("k") else {
            panic!("second caller must follow")
        };
        drop(lead);
        assert!(f.wait().await.is_none());
        assert!(flights.is_empty());
    }
}
