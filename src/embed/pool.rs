//! A micro-batching pool that runs an [`Embedder`] on dedicated OS threads.
//!
//! Embedding is CPU-bound for milliseconds at a time, so it must not run on
//! async executor threads. Callers queue texts and await a oneshot reply; each
//! worker wakes, takes everything queued (up to `max_batch` texts), embeds it
//! in one call and answers every caller. Under load, batches grow on their own
//! and per-text cost falls. The queue is bounded: when it is full, callers get
//! [`EmbedError::Busy`] at once and can carry on without an embedding.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};
use tokio::sync::oneshot;

use super::{EmbedError, Embedder};

/// What a worker sends back for one job: one vector per text, or the batch's error.
type Answer = Result<Vec<Vec<f32>>, EmbedError>;

/// Sizing for an [`EmbedPool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Worker threads; each runs whole batches. Candle already spreads one
    /// batch over every core, so more than one rarely helps. Default 1.
    pub threads: usize,
    /// Most texts a worker embeds in one batch. Default 32.
    pub max_batch: usize,
    /// Most texts waiting in the queue before callers get `Busy`. Default 256.
    pub queue_capacity: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            threads: 1,
            max_batch: 32,
            queue_capacity: 256,
        }
    }
}

/// A snapshot of the pool's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Texts embedded successfully.
    pub embeddings: u64,
    /// Batches run by workers (successful or not).
    pub batches: u64,
    /// Requests refused with `Busy`.
    pub rejected: u64,
    /// Texts whose batch failed.
    pub failed: u64,
    /// Texts skipped because their caller stopped waiting.
    pub cancelled: u64,
    /// Texts waiting in the queue right now.
    pub queued: u64,
}

/// One caller's request.
struct Job {
    texts: Vec<String>,
    reply: oneshot::Sender<Answer>,
}

/// Queue state guarded by one mutex.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Sum of `texts.len()` over `jobs`.
    texts: usize,
    closed: bool,
    /// Test hook: workers leave the queue alone while set.
    #[cfg(test)]
    paused: bool,
}

/// State shared by the handle and its workers.
struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    config: PoolConfig,
    embeddings: AtomicU64,
    batches: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
}

/// Async front end to an [`Embedder`] running on its own threads.
///
/// Dropping the pool stops its workers once their current batch is done;
/// requests still queued then get [`EmbedError::Closed`].
pub struct EmbedPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for EmbedPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbedPool")
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl EmbedPool {
    /// Starts `config.threads` workers sharing `embedder`. Zero-valued sizes are raised to 1.
    pub fn new(embedder: Arc<Embedder>, config: PoolConfig) -> Result<Self, EmbedError> {
        let config = PoolConfig {
            threads: config.threads.max(1),
            max_batch: config.max_batch.max(1),
            queue_capacity: config.queue_capacity.max(1),
        };
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            config,
            embeddings: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
        });
        let mut pool = Self {
            shared,
            workers: Vec::with_capacity(config.threads),
        };
        for n in 0..config.threads {
            let shared = Arc::clone(&pool.shared);
            let embedder = Arc::clone(&embedder);
            let handle = std::thread::Builder::new()
                .name(format!("embed-{n}"))
                .spawn(move || worker(&shared, &embedder))
                .map_err(|e| EmbedError::Spawn(e.to_string()))?;
            pool.workers.push(handle);
        }
        Ok(pool)
    }

    /// Embeds one text. Returns `Busy` at once if the queue is full.
    pub async fn embed(&self, text: String) -> Result<Vec<f32>, EmbedError> {
        self.embed_many(vec![text])
            .await?
            .pop()
            .ok_or(EmbedError::Closed)
    }

    /// Embeds several texts, keeping their order. Returns `Busy` at once if
    /// they do not fit in the queue (an over-sized request is still admitted
    /// when the queue is empty, so it cannot be refused for ever).
    pub async fn embed_many(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let rx = self.submit(texts)?;
        rx.await.map_err(|_| EmbedError::Closed)?
    }

    /// Queues a job without waiting for it.
    fn submit(&self, texts: Vec<String>) -> Result<oneshot::Receiver<Answer>, EmbedError> {
        let (reply, rx) = oneshot::channel();
        let mut queue = self.shared.queue.lock();
        if queue.closed {
            return Err(EmbedError::Closed);
        }
        let fits = queue.texts + texts.len() <= self.shared.config.queue_capacity;
        if !fits && !queue.jobs.is_empty() {
            self.shared.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(EmbedError::Busy);
        }
        queue.texts += texts.len();
        queue.jobs.push_back(Job { texts, reply });
        drop(queue);
        self.shared.wake.notify_one();
        Ok(rx)
    }

    /// Current counters.
    pub fn stats(&self) -> PoolStats {
        let s = &self.shared;
        PoolStats {
            embeddings: s.embeddings.load(Ordering::Relaxed),
            batches: s.batches.load(Ordering::Relaxed),
            rejected: s.rejected.load(Ordering::Relaxed),
            failed: s.failed.load(Ordering::Relaxed),
            cancelled: s.cancelled.load(Ordering::Relaxed),
            queued: s.queue.lock().texts as u64,
        }
    }

    /// The pool's effective sizing.
    pub fn config(&self) -> PoolConfig {
        self.shared.config
    }

    /// Closes the pool and waits for the workers to finish their current
    /// batch. Blocks: call it from a blocking context, not an async task.
    pub fn shutdown_blocking(mut self) {
        self.close();
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }

    fn close(&self) {
        self.shared.queue.lock().closed = true;
        self.shared.wake.notify_all();
    }

    /// Test hook: while paused, workers leave queued jobs alone.
    #[cfg(test)]
    pub(crate) fn set_paused(&self, paused: bool) {
        self.shared.queue.lock().paused = paused;
        self.shared.wake.notify_all();
    }
}

impl Drop for EmbedPool {
    fn drop(&mut self) {
        // Not joined: a worker may be mid-batch, and drop may run on an async
        // thread. Each worker holds its own `Arc`s and exits on its own.
        self.close();
    }
}

// === worker ===

fn worker(shared: &Shared, embedder: &Embedder) {
    while let Some(jobs) = next_batch(shared) {
        run_batch(shared, embedder, jobs);
    }
}

/// Blocks until there is work, then takes whole jobs from the front of the
/// queue up to `max_batch` texts (always at least one job). `None` on shutdown.
fn next_batch(shared: &Shared) -> Option<Vec<Job>> {
    let mut queue = shared.queue.lock();
    loop {
        if queue.closed {
            for job in queue.jobs.drain(..) {
                let _ = job.reply.send(Err(EmbedError::Closed));
            }
            queue.texts = 0;
            return None;
        }
        #[cfg(test)]
        let ready = !queue.paused && !queue.jobs.is_empty();
        #[cfg(not(test))]
        let ready = !queue.jobs.is_empty();
        if ready {
            break;
        }
        shared.wake.wait(&mut queue);
    }
    let mut batch = Vec::new();
    let mut taken = 0;
    while let Some(job) = queue.jobs.front() {
        let n = job.texts.len();
        if !batch.is_empty() && taken + n > shared.config.max_batch {
            break;
        }
        queue.texts -= n;
        let Some(job) = queue.jobs.pop_front() else {
            break;
        };
        if job.reply.is_closed() {
            shared.cancelled.fetch_add(n as u64, Ordering::Relaxed);
            continue;
        }
        taken += n;
        batch.push(job);
    }
    // Another worker may be able to take what is left.
    if !queue.jobs.is_empty() {
        shared.wake.notify_one();
    }
    Some(batch)
}

/// Embeds every text of `jobs` in one call and answers each job.
fn run_batch(shared: &Shared, embedder: &Embedder, jobs: Vec<Job>) {
    if jobs.is_empty() {
        return;
    }
    let texts: Vec<&str> = jobs
        .iter()
        .flat_map(|j| j.texts.iter().map(String::as_str))
        .collect();
    let total = texts.len() as u64;
    // A panic inside the model must not kill the worker and strand the queue.
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| embedder.embed_batch(&texts)))
        .unwrap_or_else(|_| Err(EmbedError::Inference("embedding panicked".into())));
    shared.batches.fetch_add(1, Ordering::Relaxed);
    match result {
        Ok(vectors) => {
            shared.embeddings.fetch_add(total, Ordering::Relaxed);
            let mut vectors = vectors.into_iter();
            for job in jobs {
                let mine: Vec<Vec<f32>> = vectors.by_ref().take(job.texts.len()).collect();
                let _ = job.reply.send(Ok(mine));
            }
        }
        Err(err) => {
            shared.failed.fetch_add(total, Ordering::Relaxed);
            for job in jobs {
                let _ = job.reply.send(Err(err.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests;
