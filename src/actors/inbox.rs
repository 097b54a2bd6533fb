//! A batched inbox for high-rate, fire-and-forget records (one per request).
//!
//! Sending each record through the actor's mailbox would wake the actor's thread once per
//! request. Instead producers append to this queue without waking anyone; the owning
//! actor drains it on a short interval, before answering any query (so a read sees every record
//! sent before it), and as soon as `nudge_at` records wait, on a [`Drain`] nudge. The queue has
//! no hard cap: records are never dropped, and the nudge keeps it short while the actor runs.

use actix::prelude::*;
use parking_lot::Mutex;

/// Records waiting for their actor.
pub struct Inbox<T> {
    queue: Mutex<Vec<T>>,
    nudge_at: usize,
}

/// Asks an actor to drain its inbox now.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

impl<T> Inbox<T> {
    /// An inbox that asks for a drain once `nudge_at` records wait.
    pub fn new(nudge_at: usize) -> Self {
        Inbox {
            queue: Mutex::new(Vec::with_capacity(nudge_at)),
            nudge_at: nudge_at.max(1),
        }
    }

    /// Adds a record; `true` when the producer should nudge the actor.
    pub fn push(&self, record: T) -> bool {
        let mut q = self.queue.lock();
        q.push(record);
        q.len() == self.nudge_at
    }

    /// Takes every waiting record, oldest first. The queue starts again with room for as many
    /// as were taken, so producers do not regrow it from nothing after every drain.
    pub fn take(&self) -> Vec<T> {
        let mut q = self.queue.lock();
        if q.is_empty() {
            return Vec::new();
        }
        let room = q.len();
        std::mem::replace(&mut *q, Vec::with_capacity(room))
    }

    /// Records waiting.
    pub fn len(&self) -> usize {
        self.queue.lock().len()
    }

    /// Whether none wait.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nudges_once_at_the_threshold_and_drains_in_order() {
        let inbox = Inbox::new(3);
        assert!(!inbox.push(1));
        assert!(!inbox.push(2));
        assert!(inbox.push(3));
        assert!(!inbox.push(4));
        assert_eq!(inbox.take(), vec![1, 2, 3, 4]);
        assert!(inbox.is_empty());
    }
}
