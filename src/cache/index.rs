//! Approximate nearest-neighbour index (HNSW) for the semantic cache and retrieval.
//!
//! The graph itself is an HNSW graph from `hnsw_rs`. This module adds what the
//! cache needs on top of it:
//!
//! * input checks (dimension, finite values) and defensive L2 normalisation, so
//!   that similarity is always the cosine of the two embeddings;
//! * `u64` entry ids chosen by the caller, with upsert on a repeated id;
//! * deletion: `hnsw_rs` cannot remove a node, so removed entries become
//!   tombstones that searches skip, and the graph is rebuilt from the
//!   surviving vectors once tombstones outnumber live entries by a configurable
//!   ratio. Memory therefore follows the live entry count under LRU/TTL
//!   eviction instead of growing with every insert ever made.
//!
//! Rebuilding costs about as much as inserting every live entry again, which
//! for tens of thousands of entries takes long enough to stall an actor. Small
//! indexes can rebuild inline ([`IndexParams::auto_rebuild`]); large ones
//! should split the work:
//!
//! 1. [`VectorIndex::begin_rebuild`] snapshots the live entries (a copy of
//!    the vectors, tens of milliseconds for 50,000 entries);
//! 2. [`RebuildJob::build`] builds the new graph on any thread (e.g. a
//!    blocking pool) while the index keeps serving reads and writes;
//! 3. [`VectorIndex::finish_rebuild`] either swaps the new graph in, after
//!    replaying the few writes made meanwhile, or — when many inserts piled
//!    up — hands back a catch-up [`RebuildJob`] that inserts them off-thread
//!    too; repeat steps 2–3 until it reports [`RebuildStep::Done`];
//! 4. drop the returned [`RetiredGraph`] wherever freeing it (about a second
//!    for 100,000 nodes) does no harm.
//!
//! Reads ([`VectorIndex::search`]) take `&self` and every type here is
//! `Send + Sync`, so queries may run on several threads at once; writes take
//! `&mut self`.
//!
//! `hnsw_rs` reports through the `log` crate at `info` level each time a
//! graph is created or freed (so on every rebuild); a `tracing` subscriber
//! that forwards `log` records shows them unless filtered (`hnsw_rs=warn`).
//! It prints nothing to stdout on the paths used here.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use hnsw_rs::anndists::dist::Distance;
use hnsw_rs::hnsw::Hnsw;

/// Largest layer count `hnsw_rs` supports; it silently clamps larger values.
const MAX_LAYERS_LIMIT: usize = 16;
/// Largest per-layer neighbour count `hnsw_rs` accepts (it exits the process above it).
const MAX_CONNECTIONS_LIMIT: usize = 256;
/// Below this many vectors a batch is inserted serially even when parallel
/// building is enabled: the rayon hand-off costs more than it saves.
const PARALLEL_MIN_BATCH: usize = 1_000;
/// Norms this close to 1 are accepted as they are; anything else is rescaled.
const NORM_TOLERANCE: f64 = 1e-4;
/// A pending rebuild is abandoned once more inserts than this (or than the
/// snapshot size, if larger) have been logged for it, so a job that never
/// comes back cannot grow the log without bound.
const MIN_REBUILD_LOG_CAP: usize = 1_024;
/// At most this many logged inserts are replayed inside
/// [`VectorIndex::finish_rebuild`]; more go to a catch-up job.
const MAX_INLINE_REPLAY: usize = 16;
/// A search stops widening past this many candidates (or `k`, if larger),
/// which bounds its cost when the query lands among tombstones only.
const MAX_FETCH: usize = 512;

/// Errors reported by [`VectorIndex`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndexError {
    /// The vector length differs from the index dimension.
    #[error("vector has {actual} dimensions, the index expects {expected}")]
    DimensionMismatch {
        /// Dimension the index was created with.
        expected: usize,
        /// Dimension of the rejected vector.
        actual: usize,
    },
    /// The vector holds a NaN or an infinity.
    #[error("vector component {position} is not a finite number")]
    NonFinite {
        /// Position of the first offending component.
        position: usize,
    },
    /// The vector is all zeros (or too close to it), so it has no direction.
    #[error("vector has zero length and no direction to compare")]
    ZeroVector,
    /// A rebuilt graph arrived after its rebuild was superseded or abandoned.
    #[error("rebuild result is stale: a newer rebuild started or the pending one was abandoned")]
    StaleRebuild,
}

/// Tuning knobs for the HNSW graph and for tombstone compaction.
///
/// Out-of-range values are clamped to the nearest valid one when the index
/// is created; [`VectorIndex::params`] shows the values in force.
///
/// Defaults were tuned with `src/bin/index_bench.rs` on 100,000 clustered
/// 384-d vectors, on a busy 2-core machine: recall@1 0.975–1.0 for
/// near-duplicate queries, search p99 0.7–0.86 ms, and about 2.7 ms of CPU
/// per insert. `ef_search` 24–32 brings recall to about 1.0 for a p99 near
/// 1.1 ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexParams {
    /// Links kept per node on the upper layers (`M` in the HNSW paper); the
    /// bottom layer keeps twice as many. Higher values raise recall, memory
    /// use and insert cost. Useful range 8–48; at most 256.
    pub max_connections: usize,
    /// Width of the candidate list while inserting. Higher values build a
    /// better graph (more recall at the same `ef_search`) but make inserts
    /// and rebuilds proportionally slower.
    pub ef_construction: usize,
    /// Width of the candidate list while searching, raised to `k` when
    /// smaller. The main recall/latency trade-off: search cost grows about
    /// linearly with it.
    pub ef_search: usize,
    /// Number of graph layers (1..=16). Node levels follow an exponential law,
    /// so 16 is never the limiting factor in practice.
    pub max_layers: usize,
    /// Rebuild once `dead > live * rebuild_ratio`. With 1.0 the graph holds
    /// at most about twice the live entries.
    pub rebuild_ratio: f64,
    /// Never rebuild for fewer tombstones than this; keeps a small index from
    /// rebuilding on almost every removal.
    pub rebuild_min_dead: usize,
    /// Rebuild inline, inside the `remove`/`insert` call that crosses the
    /// threshold. When false the owner polls [`VectorIndex::needs_rebuild`]
    /// and runs [`VectorIndex::rebuild`] or a background [`RebuildJob`].
    pub auto_rebuild: bool,
    /// Use rayon's global pool for large batch inserts and rebuilds. Faster on
    /// several cores, but the resulting graph differs from run to run.
    pub parallel_build: bool,
}

impl Default for IndexParams {
    fn default() -> Self {
        Self {
            max_connections: 16,
            ef_construction: 150,
            ef_search: 16,
            max_layers: 16,
            rebuild_ratio: 1.0,
            rebuild_min_dead: 256,
            auto_rebuild: true,
            parallel_build: false,
        }
    }
}

impl IndexParams {
    /// The same parameters with every field brought into its valid range.
    fn clamped(self) -> Self {
        let rebuild_ratio = if self.rebuild_ratio.is_finite() && self.rebuild_ratio > 0.0 {
            self.rebuild_ratio
        } else {
            Self::default().rebuild_ratio
        };
        Self {
            max_connections: self.max_connections.clamp(2, MAX_CONNECTIONS_LIMIT),
            ef_construction: self.ef_construction.max(1),
            ef_search: self.ef_search.max(1),
            max_layers: self.max_layers.clamp(1, MAX_LAYERS_LIMIT),
            rebuild_ratio,
            ..self
        }
    }
}

/// Counters describing the index; cheap to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexStats {
    /// Entries a search can return.
    pub live: usize,
    /// Removed or replaced entries still present in the graph.
    pub dead: usize,
    /// Successful inserts since creation, replacements included.
    pub inserts: u64,
    /// Successful removals since creation (replacements not included).
    pub removes: u64,
    /// Graph rebuilds completed since creation.
    pub rebuilds: u64,
    /// Searches served since creation.
    pub searches: u64,
}

/// Cosine distance for unit vectors: `1 - a·b`, clamped at 0.
///
/// `hnsw_rs` panics on NaN distances and asserts they are non-negative, and
/// `anndists::DistDot` (scalar build) asserts `a·b <= 1` exactly, which
/// rounding breaks for many vectors compared with themselves — that is, for
/// every repeated prompt. This version clamps instead, and its dot product
/// uses independent accumulators so the compiler can vectorise it.
#[derive(Debug, Clone, Copy, Default)]
struct UnitCosine;

impl Distance<f32> for UnitCosine {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        // `max` also maps a NaN to 0, so the graph never sees one.
        (1.0 - dot(va, vb)).max(0.0)
    }
}

/// Dot product over 16 independent lanes (vectorisable without `unsafe`).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0.0f32; LANES];
    let chunks_a = a.chunks_exact(LANES);
    let chunks_b = b.chunks_exact(LANES);
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for ((s, x), y) in acc.iter_mut().zip(ca).zip(cb) {
            *s += x * y;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// What a graph node stands for. A node's `hnsw_rs` data id is its position
/// in [`Graph::slots`].
#[derive(Debug, Clone, Copy)]
struct Slot {
    id: u64,
    live: bool,
}

/// One HNSW graph with its id bookkeeping; replaced wholesale by a rebuild.
struct Graph {
    hnsw: Hnsw<'static, f32, UnitCosine>,
    /// Node (hnsw data id) to entry, in insertion order.
    slots: Vec<Slot>,
    /// Live entry id to its node.
    live: HashMap<u64, usize>,
    /// Nodes whose entry was removed or replaced.
    dead: usize,
}

impl Graph {
    fn new(params: &IndexParams, capacity: usize) -> Self {
        Self {
            // `capacity` only pre-sizes hnsw_rs's layer tables; it is no limit.
            hnsw: Hnsw::new(
                params.max_connections,
                capacity,
                params.max_layers,
                params.ef_construction,
                UnitCosine,
            ),
            slots: Vec::with_capacity(capacity),
            live: HashMap::with_capacity(capacity),
            dead: 0,
        }
    }

    /// Adds an entry, tombstoning any live entry with the same id.
    fn insert(&mut self, id: u64, unit: &[f32]) {
        let node = self.register(id);
        self.hnsw.insert_slice((unit, node));
    }

    /// Adds entries in order; large batches go through rayon when `parallel`.
    fn insert_many(&mut self, entries: &[(u64, Vec<f32>)], parallel: bool) {
        if !parallel || entries.len() < PARALLEL_MIN_BATCH {
            for (id, unit) in entries {
                self.insert(*id, unit);
            }
            return;
        }
        let nodes: Vec<(&[f32], usize)> = entries
            .iter()
            .map(|(id, unit)| (unit.as_slice(), self.register(*id)))
            .collect();
        self.hnsw.parallel_insert_slice(&nodes);
    }

    /// Allocates the node for `id` and returns its data id.
    fn register(&mut self, id: u64) -> usize {
        let node = self.slots.len();
        self.slots.push(Slot { id, live: true });
        if let Some(old) = self.live.insert(id, node) {
            self.bury(old);
        }
        node
    }

    fn remove(&mut self, id: u64) -> bool {
        match self.live.remove(&id) {
            Some(node) => {
                self.bury(node);
                true
            }
            None => false,
        }
    }

    fn bury(&mut self, node: usize) {
        if let Some(slot) = self.slots.get_mut(node)
            && slot.live
        {
            slot.live = false;
            self.dead += 1;
        }
    }

    fn live_id(&self, node: usize) -> Option<u64> {
        self.slots.get(node).filter(|s| s.live).map(|s| s.id)
    }

    fn search(&self, unit: &[f32], k: usize, ef_search: usize) -> Vec<(u64, f32)> {
        let live = self.live.len();
        let want = k.min(live);
        if want == 0 {
            return Vec::new();
        }
        let total = self.slots.len();
        let limit = total.min(MAX_FETCH.max(want));
        // Ask for extra candidates in proportion to the share of tombstones.
        let mut fetch = if self.dead == 0 {
            want
        } else {
            (want + want * self.dead / live + 8).min(limit)
        };
        loop {
            let found = self.hnsw.search(unit, fetch, ef_search.max(fetch));
            let exhausted = found.len() < fetch || fetch >= limit;
            let hits: Vec<(u64, f32)> = found
                .iter()
                .filter_map(|n| self.live_id(n.d_id).map(|id| (id, 1.0 - n.distance)))
                .take(want)
                .collect();
            if hits.len() >= want || exhausted {
                return hits;
            }
            fetch = (fetch * 2).min(limit);
        }
    }

    /// Copies the live entries out of the graph, in insertion order.
    ///
    /// The graph already stores every vector, so the index keeps no copy of
    /// its own.
    fn live_entries(&self) -> Vec<(u64, Vec<f32>)> {
        if self.hnsw.get_nb_point() == 0 {
            return Vec::new();
        }
        let mut out: Vec<(usize, u64, Vec<f32>)> = Vec::with_capacity(self.live.len());
        let points = self.hnsw.get_point_indexation();
        // Walk layer by layer: every node sits in exactly one layer list.
        // (The whole-graph iterator of hnsw_rs panics on an empty graph.)
        for layer in 0..self.hnsw.get_max_level() {
            for point in points.get_layer_iterator(layer) {
                let node = point.get_origin_id();
                if let Some(id) = self.live_id(node) {
                    out.push((node, id, point.get_v().to_vec()));
                }
            }
        }
        out.sort_unstable_by_key(|(node, _, _)| *node);
        out.into_iter().map(|(_, id, v)| (id, v)).collect()
    }
}

/// Writes logged while a background rebuild is out.
struct PendingRebuild {
    ticket: u64,
    /// Log size at which the job is abandoned.
    cap: usize,
    /// Inserts made since the snapshot, in order.
    inserts: Vec<(u64, Vec<f32>)>,
}

/// Entries to build into a fresh graph (or, for a catch-up job, to add to a
/// rebuilt one) on any thread. Produced by [`VectorIndex::begin_rebuild`]
/// and [`VectorIndex::finish_rebuild`].
pub struct RebuildJob {
    ticket: u64,
    params: IndexParams,
    capacity: usize,
    /// The graph to extend; `None` for a fresh build.
    base: Option<Graph>,
    entries: Vec<(u64, Vec<f32>)>,
}

impl fmt::Debug for RebuildJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RebuildJob")
            .field("ticket", &self.ticket)
            .field("catch_up", &self.base.is_some())
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl RebuildJob {
    /// Number of entries this job inserts.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is nothing to insert.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Overrides [`IndexParams::parallel_build`] for this job, e.g. to keep
    /// a background rebuild on one core while another serves searches.
    pub fn parallel(mut self, parallel: bool) -> Self {
        self.params.parallel_build = parallel;
        self
    }

    /// Builds the graph. CPU-heavy: run it off latency-sensitive threads.
    pub fn build(self) -> RebuiltGraph {
        let mut graph = match self.base {
            Some(graph) => graph,
            None => Graph::new(&self.params, self.capacity),
        };
        graph.insert_many(&self.entries, self.params.parallel_build);
        RebuiltGraph {
            ticket: self.ticket,
            parallel: self.params.parallel_build,
            graph,
        }
    }
}

/// What [`VectorIndex::finish_rebuild`] did with a rebuilt graph.
#[derive(Debug)]
pub enum RebuildStep {
    /// The new graph is in service; the old one is returned for dropping.
    Done(RetiredGraph),
    /// Too many inserts arrived meanwhile to replay inline: build this job
    /// too and pass its result to `finish_rebuild` again.
    CatchUp(RebuildJob),
}

/// Output of [`RebuildJob::build`], to hand to [`VectorIndex::finish_rebuild`].
pub struct RebuiltGraph {
    ticket: u64,
    /// Parallelism of the job, inherited by its catch-up job.
    parallel: bool,
    graph: Graph,
}

impl fmt::Debug for RebuiltGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RebuiltGraph")
            .field("ticket", &self.ticket)
            .field("entries", &self.graph.live.len())
            .finish_non_exhaustive()
    }
}

/// A graph replaced by [`VectorIndex::finish_rebuild`]; dropping it frees
/// the memory.
pub struct RetiredGraph {
    _graph: Graph,
}

impl fmt::Debug for RetiredGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetiredGraph")
            .field("nodes", &self._graph.slots.len())
            .finish()
    }
}

/// HNSW index of unit-length vectors keyed by `u64` ids, with tombstone
/// deletion and compaction.
pub struct VectorIndex {
    dims: usize,
    capacity_hint: usize,
    params: IndexParams,
    graph: Graph,
    pending: Option<PendingRebuild>,
    next_ticket: u64,
    inserts: u64,
    removes: u64,
    rebuilds: u64,
    searches: AtomicU64,
}

impl fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VectorIndex")
            .field("dims", &self.dims)
            .field("params", &self.params)
            .field("stats", &self.stats())
            .field("rebuild_pending", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}

impl VectorIndex {
    /// Creates an empty index for `dims`-dimensional vectors.
    ///
    /// `capacity_hint` is the expected number of entries; it only pre-sizes
    /// tables, and the index grows past it freely.
    pub fn new(dims: usize, capacity_hint: usize, params: IndexParams) -> Self {
        let params = params.clamped();
        Self {
            dims,
            capacity_hint,
            graph: Graph::new(&params, capacity_hint),
            params,
            pending: None,
            next_ticket: 0,
            inserts: 0,
            removes: 0,
            rebuilds: 0,
            searches: AtomicU64::new(0),
        }
    }

    /// Vector dimension the index accepts.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Parameters in force.
    pub fn params(&self) -> &IndexParams {
        &self.params
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.graph.live.len()
    }

    /// True when no live entry is left.
    pub fn is_empty(&self) -> bool {
        self.graph.live.is_empty()
    }

    /// Number of tombstones still held by the graph.
    pub fn dead(&self) -> usize {
        self.graph.dead
    }

    /// True when `id` is a live entry.
    pub fn contains(&self, id: u64) -> bool {
        self.graph.live.contains_key(&id)
    }

    /// Snapshot of the counters.
    pub fn stats(&self) -> IndexStats {
        IndexStats {
            live: self.len(),
            dead: self.dead(),
            inserts: self.inserts,
            removes: self.removes,
            rebuilds: self.rebuilds,
            searches: self.searches.load(Ordering::Relaxed),
        }
    }

    /// Changes the search width used by later queries (at least 1).
    pub fn set_ef_search(&mut self, ef_search: usize) {
        self.params.ef_search = ef_search.max(1);
    }

    /// Adds `vector` under `id`; the stored copy is normalised to unit length.
    ///
    /// Inserting an id that is already live replaces its vector (the old node
    /// becomes a tombstone). On error nothing changes.
    pub fn insert(&mut self, id: u64, vector: &[f32]) -> Result<(), IndexError> {
        let unit = self.prepare(vector)?;
        let replaced = self.contains(id);
        self.graph.insert(id, &unit);
        self.inserts += 1;
        self.log_inserts(std::iter::once((id, unit)));
        if replaced {
            self.maybe_rebuild();
        }
        Ok(())
    }

    /// Adds many entries; with [`IndexParams::parallel_build`] large batches
    /// are inserted on rayon's pool.
    ///
    /// Every vector is checked first, so on error nothing is inserted. A later
    /// duplicate of an id within the batch wins, as with repeated `insert`s.
    pub fn insert_batch(&mut self, entries: &[(u64, &[f32])]) -> Result<(), IndexError> {
        let prepared = entries
            .iter()
            .map(|(id, v)| self.prepare(v).map(|unit| (*id, unit)))
            .collect::<Result<Vec<_>, _>>()?;
        let dead_before = self.graph.dead;
        self.graph
            .insert_many(&prepared, self.params.parallel_build);
        self.inserts += prepared.len() as u64;
        self.log_inserts(prepared);
        if self.graph.dead > dead_before {
            self.maybe_rebuild();
        }
        Ok(())
    }

    /// Removes `id` (nothing happens when it is not live). May rebuild
    /// inline when [`IndexParams::auto_rebuild`] is set.
    pub fn remove(&mut self, id: u64) {
        if self.graph.remove(id) {
            self.removes += 1;
            self.maybe_rebuild();
        }
    }

    /// Up to `k` live entries closest to `query` as `(id, cosine similarity)`,
    /// best first. A query that [`Self::try_search`] would reject (wrong
    /// dimension, NaN, zero) matches nothing.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<(u64, f32)> {
        self.try_search(query, k).unwrap_or_default()
    }

    /// Like [`Self::search`], but reports an unusable query as an error.
    ///
    /// Tombstones are skipped; the graph is asked for more candidates until
    /// `k` live ones turn up, it has nothing more to give, or 512 candidates
    /// have been looked at — so a query surrounded only by tombstones may get
    /// fewer than `k` results.
    pub fn try_search(&self, query: &[f32], k: usize) -> Result<Vec<(u64, f32)>, IndexError> {
        let unit = self.prepare(query)?;
        self.searches.fetch_add(1, Ordering::Relaxed);
        Ok(self.graph.search(&unit, k, self.params.ef_search))
    }

    /// True when tombstones exceed the rebuild threshold.
    pub fn needs_rebuild(&self) -> bool {
        let dead = self.graph.dead;
        dead >= self.params.rebuild_min_dead.max(1)
            && dead as f64 > self.len() as f64 * self.params.rebuild_ratio
    }

    /// True while a [`RebuildJob`] is out and its result still acceptable.
    pub fn rebuild_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Rebuilds the graph inline from the live entries, dropping every
    /// tombstone. Supersedes any pending background rebuild.
    pub fn rebuild(&mut self) {
        self.pending = None;
        let job = self.snapshot(0);
        let rebuilt = job.build();
        drop(self.install(rebuilt.graph, Vec::new()));
    }

    /// Starts a background rebuild: snapshots the live entries and begins
    /// logging writes so they can be replayed onto the new graph.
    ///
    /// Supersedes any earlier pending job. Hand the job to a worker, then
    /// pass its result to [`Self::finish_rebuild`].
    pub fn begin_rebuild(&mut self) -> RebuildJob {
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        let job = self.snapshot(ticket);
        self.pending = Some(PendingRebuild {
            ticket,
            cap: job.len().max(MIN_REBUILD_LOG_CAP),
            inserts: Vec::new(),
        });
        job
    }

    /// Takes the result of a [`RebuildJob`]. If at most a few inserts were
    /// made since the job started, replays them and the removals, swaps the
    /// new graph in and returns the old one ([`RebuildStep::Done`]): freeing
    /// it takes time in proportion to its size, so it may be dropped on
    /// another thread. Otherwise returns a catch-up job for the logged
    /// inserts ([`RebuildStep::CatchUp`]).
    ///
    /// Fails with [`IndexError::StaleRebuild`] (and changes nothing) when the
    /// job was superseded, abandoned or already installed.
    pub fn finish_rebuild(&mut self, rebuilt: RebuiltGraph) -> Result<RebuildStep, IndexError> {
        let pending = match self.pending.as_mut() {
            Some(pending) if pending.ticket == rebuilt.ticket => pending,
            _ => return Err(IndexError::StaleRebuild),
        };
        let inserts = std::mem::take(&mut pending.inserts);
        if inserts.len() > MAX_INLINE_REPLAY {
            return Ok(RebuildStep::CatchUp(RebuildJob {
                ticket: rebuilt.ticket,
                params: IndexParams {
                    parallel_build: rebuilt.parallel,
                    ..self.params
                },
                capacity: 0,
                base: Some(rebuilt.graph),
                entries: inserts,
            }));
        }
        self.pending = None;
        Ok(RebuildStep::Done(self.install(rebuilt.graph, inserts)))
    }

    /// Drops a pending background rebuild; its result will be refused.
    pub fn cancel_rebuild(&mut self) {
        self.pending = None;
    }

    fn snapshot(&self, ticket: u64) -> RebuildJob {
        RebuildJob {
            ticket,
            params: self.params,
            capacity: self.capacity_hint.max(self.len()),
            base: None,
            entries: self.graph.live_entries(),
        }
    }

    /// Swaps in `fresh` after bringing it up to date with the current graph;
    /// returns the old one.
    fn install(&mut self, mut fresh: Graph, inserts: Vec<(u64, Vec<f32>)>) -> RetiredGraph {
        for (id, unit) in &inserts {
            fresh.insert(*id, unit);
        }
        // Whatever is live in `fresh` but not here was removed meanwhile.
        let gone: Vec<u64> = fresh
            .live
            .keys()
            .filter(|id| !self.graph.live.contains_key(id))
            .copied()
            .collect();
        for id in gone {
            fresh.remove(id);
        }
        self.rebuilds += 1;
        RetiredGraph {
            _graph: std::mem::replace(&mut self.graph, fresh),
        }
    }

    fn log_inserts(&mut self, entries: impl IntoIterator<Item = (u64, Vec<f32>)>) {
        if let Some(pending) = &mut self.pending {
            pending.inserts.extend(entries);
            if pending.inserts.len() > pending.cap {
                // The job is long overdue; stop paying for its log.
                self.pending = None;
            }
        }
    }

    fn maybe_rebuild(&mut self) {
        if self.params.auto_rebuild && self.needs_rebuild() {
            self.rebuild();
        }
    }

    /// Checks `vector` and returns a unit-length copy.
    fn prepare(&self, vector: &[f32]) -> Result<Vec<f32>, IndexError> {
        if vector.len() != self.dims {
            return Err(IndexError::DimensionMismatch {
                expected: self.dims,
                actual: vector.len(),
            });
        }
        if let Some(position) = vector.iter().position(|x| !x.is_finite()) {
            return Err(IndexError::NonFinite { position });
        }
        // Accumulate in f64: squares of large finite f32 values overflow f32.
        let norm = vector
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            .sqrt();
        if !(norm.is_finite() && norm > f64::from(f32::MIN_POSITIVE)) {
            return Err(IndexError::ZeroVector);
        }
        if (norm - 1.0).abs() <= NORM_TOLERANCE {
            return Ok(vector.to_vec());
        }
        Ok(vector
            .iter()
            .map(|&x| (f64::from(x) / norm) as f32)
            .collect())
    }
}

#[cfg(test)]
mod tests;
