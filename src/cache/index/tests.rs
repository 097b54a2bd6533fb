#![allow(clippy::unwrap_used)]

use super::*;

const DIMS: usize = 384;

/// SplitMix64: tiny, seeded, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f32 {
        let (u1, u2) = (self.unit(), self.unit());
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

fn normalise(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn random_unit(rng: &mut Rng) -> Vec<f32> {
    normalise((0..DIMS).map(|_| rng.normal()).collect())
}

/// `base` plus Gaussian noise of the given per-component scale, normalised.
fn jitter(rng: &mut Rng, base: &[f32], scale: f32) -> Vec<f32> {
    normalise(base.iter().map(|x| x + scale * rng.normal()).collect())
}

/// `n` vectors around `centres` random cluster centres.
fn clustered(rng: &mut Rng, n: usize, centres: usize) -> Vec<Vec<f32>> {
    let centres: Vec<Vec<f32>> = (0..centres).map(|_| random_unit(rng)).collect();
    (0..n)
        .map(|_| {
            let c = &centres[rng.below(centres.len())];
            jitter(rng, c, 0.03)
        })
        .collect()
}

fn brute_force(data: &[(u64, Vec<f32>)], query: &[f32]) -> u64 {
    let mut best = (f32::MIN, u64::MAX);
    for (id, v) in data {
        let s = dot(v, query);
        if s > best.0 {
            best = (s, *id);
        }
    }
    best.1
}

/// Cheaper build settings: unoptimised builds of the graph code are slow.
fn test_params() -> IndexParams {
    IndexParams {
        ef_construction: 40,
        ..IndexParams::default()
    }
}

fn build(data: &[(u64, Vec<f32>)], params: IndexParams) -> VectorIndex {
    let mut index = VectorIndex::new(DIMS, data.len(), params);
    for (id, v) in data {
        index.insert(*id, v).unwrap();
    }
    index
}

#[test]
fn types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<VectorIndex>();
    check::<RebuildJob>();
    check::<RebuiltGraph>();
}

#[test]
fn concurrent_searches_agree_with_serial_ones() {
    let mut rng = Rng(2);
    let data: Vec<(u64, Vec<f32>)> = (0..300).map(|i| (i, random_unit(&mut rng))).collect();
    let index = build(&data, test_params());
    let serial: Vec<Vec<(u64, f32)>> = data.iter().map(|(_, v)| index.search(v, 3)).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| data.iter().map(|(_, v)| index.search(v, 3)).collect()))
            .collect();
        for worker in workers {
            let got: Vec<Vec<(u64, f32)>> = worker.join().unwrap();
            assert_eq!(got, serial);
        }
    });
    assert_eq!(index.stats().searches, 900);
}

#[test]
fn dot_matches_naive() {
    let mut rng = Rng(1);
    for len in [0, 1, 15, 16, 17, 384, 385] {
        let a: Vec<f32> = (0..len).map(|_| rng.normal()).collect();
        let b: Vec<f32> = (0..len).map(|_| rng.normal()).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-3, "len {len}");
    }
}

#[test]
fn recall_at_one_on_clustered_data() {
    let mut rng = Rng(42);
    let data: Vec<(u64, Vec<f32>)> = clustered(&mut rng, 5_000, 100)
        .into_iter()
        .enumerate()
        .map(|(i, v)| (1_000 + i as u64 * 7, v))
        .collect();
    let index = build(&data, test_params());
    assert_eq!(index.len(), 5_000);

    let queries = 300;
    let mut hits = 0;
    for _ in 0..queries {
        let (_, base) = &data[rng.below(data.len())];
        let q = jitter(&mut rng, base, 0.01);
        let expected = brute_force(&data, &q);
        let got = index.search(&q, 1);
        if got.first().map(|h| h.0) == Some(expected) {
            hits += 1;
        }
    }
    let recall = f64::from(hits) / f64::from(queries);
    assert!(recall >= 0.95, "recall@1 = {recall}");
}

#[test]
fn stored_vector_finds_itself_with_similarity_one() {
    let mut rng = Rng(3);
    let data: Vec<(u64, Vec<f32>)> = (0..500).map(|i| (i, random_unit(&mut rng))).collect();
    let index = build(&data, test_params());
    for (id, v) in data.iter().step_by(25) {
        let hits = index.search(v, 5);
        assert_eq!(hits[0].0, *id);
        assert!((hits[0].1 - 1.0).abs() < 1e-4);
        assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1));
    }
}

#[test]
fn similarity_is_cosine() {
    let mut index = VectorIndex::new(3, 4, test_params());
    index.insert(1, &[1.0, 0.0, 0.0]).unwrap();
    index.insert(2, &[0.0, 1.0, 0.0]).unwrap();
    index.insert(3, &[-1.0, 0.0, 0.0]).unwrap();
    // Not unit length: gets normalised to (0.6, 0.8, 0).
    let hits = index.search(&[3.0, 4.0, 0.0], 3);
    let got: Vec<(u64, f32)> = hits.iter().map(|h| (h.0, h.1)).collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].0, 2);
    assert!((got[0].1 - 0.8).abs() < 1e-5);
    assert_eq!(got[1].0, 1);
    assert!((got[1].1 - 0.6).abs() < 1e-5);
    assert_eq!(got[2].0, 3);
    assert!((got[2].1 + 0.6).abs() < 1e-5);
}

#[test]
fn tombstones_are_never_returned() {
    let mut rng = Rng(7);
    let data: Vec<(u64, Vec<f32>)> = clustered(&mut rng, 1_000, 20)
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i as u64, v))
        .collect();
    let params = IndexParams {
        auto_rebuild: false,
        ..test_params()
    };
    let mut index = build(&data, params);
    // Remove two entries in five.
    for id in (0..1_000u64).filter(|id| id % 5 < 2) {
        index.remove(id);
    }
    index.remove(0); // second removal is a no-op
    assert_eq!(index.len(), 600);
    assert_eq!(index.dead(), 400);
    assert_eq!(index.stats().rebuilds, 0);

    let live: Vec<(u64, Vec<f32>)> = data.iter().filter(|(id, _)| id % 5 >= 2).cloned().collect();
    let mut top1 = 0;
    for (id, v) in data.iter().step_by(7) {
        let hits = index.search(v, 10);
        assert_eq!(hits.len(), 10, "k live results despite tombstones");
        assert!(hits.iter().all(|h| h.0 % 5 >= 2), "tombstone returned");
        if id % 5 >= 2 {
            assert_eq!(hits[0].0, *id);
        }
        if hits[0].0 == brute_force(&live, v) {
            top1 += 1;
        }
    }
    assert!(top1 * 100 >= 95 * data.iter().step_by(7).count());
}

#[test]
fn widening_stops_when_only_tombstones_surround_the_query() {
    let mut rng = Rng(13);
    let params = IndexParams {
        auto_rebuild: false,
        ..test_params()
    };
    let mut index = VectorIndex::new(DIMS, 800, params);
    let centre = random_unit(&mut rng);
    let crowd = MAX_FETCH as u64 + 100;
    for id in 0..crowd {
        index.insert(id, &jitter(&mut rng, &centre, 0.001)).unwrap();
    }
    for id in 10_000..10_050u64 {
        index.insert(id, &random_unit(&mut rng)).unwrap();
    }
    for id in 0..crowd {
        index.remove(id);
    }
    // Every candidate within reach of the cap is a tombstone: the search
    // gives up instead of scanning the whole graph.
    assert!(index.search(&centre, 3).is_empty());
    // Far from the crowd, live entries are found as usual.
    let far = random_unit(&mut rng);
    let hits = index.search(&far, 3);
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h.0 >= 10_000));
}

#[test]
fn removing_everything_leaves_an_empty_usable_index() {
    let mut rng = Rng(11);
    let data: Vec<(u64, Vec<f32>)> = (0..50).map(|i| (i, random_unit(&mut rng))).collect();
    let params = IndexParams {
        auto_rebuild: false,
        ..test_params()
    };
    let mut index = build(&data, params);
    for (id, _) in &data {
        index.remove(*id);
    }
    assert!(index.is_empty());
    assert!(index.search(&data[0].1, 3).is_empty());
    index.rebuild();
    assert_eq!(index.dead(), 0);
    assert!(index.search(&data[0].1, 3).is_empty());
    index.insert(99, &data[0].1).unwrap();
    assert_eq!(index.search(&data[0].1, 3)[0].0, 99);
}

#[test]
fn rebuild_runs_under_churn_and_keeps_results_correct() {
    let mut rng = Rng(99);
    let params = IndexParams {
        rebuild_min_dead: 100,
        ..test_params()
    };
    let mut index = VectorIndex::new(DIMS, 300, params);
    // Sliding window of 200 live entries over 1,500 inserts, like LRU eviction.
    let mut stored: Vec<(u64, Vec<f32>)> = Vec::new();
    for id in 0..1_500u64 {
        let v = random_unit(&mut rng);
        index.insert(id, &v).unwrap();
        stored.push((id, v));
        if id >= 200 {
            index.remove(id - 200);
        }
        // Graph size stays bounded by live * (1 + ratio) + min_dead.
        assert!(index.dead() <= index.len().max(100));
    }
    let stats = index.stats();
    assert!(stats.rebuilds >= 6, "rebuilds = {}", stats.rebuilds);
    assert_eq!(index.len(), 200);
    assert_eq!(stats.inserts, 1_500);
    assert_eq!(stats.removes, 1_300);

    let live = &stored[1_300..];
    for (id, v) in live.iter().step_by(10) {
        let hits = index.search(v, 5);
        assert_eq!(hits[0].0, *id);
        assert!(hits.iter().all(|h| h.0 >= 1_300));
    }
    // An explicit rebuild drops the remaining tombstones and changes nothing else.
    index.rebuild();
    assert_eq!(index.dead(), 0);
    for (id, v) in live.iter().step_by(10) {
        assert_eq!(index.search(v, 1)[0].0, *id);
    }
    for (id, _) in &stored[..1_300] {
        assert!(!index.contains(*id));
    }
}

#[test]
fn reinserting_an_id_replaces_its_vector() {
    let mut rng = Rng(5);
    let a = random_unit(&mut rng);
    let b = random_unit(&mut rng);
    let mut index = VectorIndex::new(DIMS, 4, test_params());
    index.insert(1, &a).unwrap();
    index.insert(2, &random_unit(&mut rng)).unwrap();
    index.insert(1, &b).unwrap();
    assert_eq!(index.len(), 2);
    assert_eq!(index.dead(), 1);
    let hits = index.search(&a, 2);
    assert_eq!(hits.len(), 2);
    assert_eq!(hits.iter().filter(|h| h.0 == 1).count(), 1);
    assert_eq!(index.search(&b, 1)[0].0, 1);
    assert!((index.search(&b, 1)[0].1 - 1.0).abs() < 1e-4);
}

#[test]
fn batch_insert_parallel_matches_serial_quality() {
    let mut rng = Rng(21);
    let data: Vec<(u64, Vec<f32>)> = clustered(&mut rng, 1_200, 30)
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i as u64, v))
        .collect();
    let entries: Vec<(u64, &[f32])> = data.iter().map(|(id, v)| (*id, v.as_slice())).collect();
    let params = IndexParams {
        parallel_build: true,
        ..test_params()
    };
    let mut index = VectorIndex::new(DIMS, data.len(), params);
    index.insert_batch(&entries).unwrap();
    assert_eq!(index.len(), 1_200);
    let mut top1 = 0;
    for (id, v) in data.iter().step_by(20) {
        if index.search(v, 1)[0].0 == *id {
            top1 += 1;
        }
    }
    assert!(top1 >= 58, "top1 = {top1} of 60");
}

#[test]
fn batch_insert_rejects_whole_batch_on_bad_vector() {
    let mut index = VectorIndex::new(3, 4, test_params());
    let good = [1.0, 0.0, 0.0];
    let bad = [1.0, 0.0];
    let entries: Vec<(u64, &[f32])> = vec![(1, &good), (2, &bad)];
    assert_eq!(
        index.insert_batch(&entries),
        Err(IndexError::DimensionMismatch {
            expected: 3,
            actual: 2
        })
    );
    assert!(index.is_empty());
}

#[test]
fn bad_vectors_are_rejected() {
    let mut index = VectorIndex::new(DIMS, 4, test_params());
    let short = vec![0.1; DIMS - 1];
    assert_eq!(
        index.insert(1, &short),
        Err(IndexError::DimensionMismatch {
            expected: DIMS,
            actual: DIMS - 1
        })
    );
    assert_eq!(
        index.try_search(&short, 1),
        Err(IndexError::DimensionMismatch {
            expected: DIMS,
            actual: DIMS - 1
        })
    );
    let mut nan = vec![0.1; DIMS];
    nan[5] = f32::NAN;
    assert_eq!(
        index.insert(1, &nan),
        Err(IndexError::NonFinite { position: 5 })
    );
    nan[5] = f32::INFINITY;
    assert_eq!(
        index.try_search(&nan, 1),
        Err(IndexError::NonFinite { position: 5 })
    );
    assert_eq!(
        index.insert(1, &vec![0.0; DIMS]),
        Err(IndexError::ZeroVector)
    );
    // Huge but finite components are normalised, not overflowed.
    index.insert(2, &vec![f32::MAX; DIMS]).unwrap();
    assert!(index.contains(2) && !index.contains(1));
    assert_eq!(index.stats().inserts, 1);
    // The infallible search treats an unusable query as matching nothing.
    assert!(index.search(&short, 1).is_empty());
    assert!(index.search(&nan, 1).is_empty());
    assert_eq!(index.search(&vec![1.0; DIMS], 1).len(), 1);
}

#[test]
fn out_of_range_params_are_clamped() {
    let params = IndexParams {
        max_connections: 300,
        ef_construction: 0,
        ef_search: 0,
        max_layers: 17,
        rebuild_ratio: f64::NAN,
        ..IndexParams::default()
    };
    let mut index = VectorIndex::new(DIMS, 0, params);
    let got = *index.params();
    assert_eq!(got.max_connections, 256);
    assert_eq!(got.ef_construction, 1);
    assert_eq!(got.ef_search, 1);
    assert_eq!(got.max_layers, 16);
    assert_eq!(got.rebuild_ratio, 1.0);
    index.set_ef_search(0);
    assert_eq!(index.params().ef_search, 1);
    // A zero-dimensional index accepts nothing but does not fail.
    let mut empty = VectorIndex::new(0, 0, IndexParams::default());
    assert_eq!(empty.insert(1, &[]), Err(IndexError::ZeroVector));
    assert!(empty.search(&[], 1).is_empty());
}

#[test]
fn searching_an_empty_index_or_for_zero_results() {
    let mut index = VectorIndex::new(DIMS, 0, test_params());
    let mut rng = Rng(8);
    let v = random_unit(&mut rng);
    assert!(index.search(&v, 5).is_empty());
    index.insert(1, &v).unwrap();
    assert!(index.search(&v, 0).is_empty());
    assert_eq!(index.search(&v, 10).len(), 1);
    assert_eq!(index.stats().searches, 3);
}

#[test]
fn background_rebuild_replays_writes_made_meanwhile() {
    let mut rng = Rng(31);
    let params = IndexParams {
        auto_rebuild: false,
        rebuild_min_dead: 10,
        ..test_params()
    };
    let mut index = VectorIndex::new(DIMS, 400, params);
    let mut vectors: HashMap<u64, Vec<f32>> = HashMap::new();
    for id in 0..300u64 {
        let v = random_unit(&mut rng);
        index.insert(id, &v).unwrap();
        vectors.insert(id, v);
    }
    for id in 0..200u64 {
        index.remove(id);
    }
    assert!(index.needs_rebuild());

    let job = index.begin_rebuild();
    assert_eq!(job.len(), 100);
    assert!(index.rebuild_pending());
    let worker = std::thread::spawn(move || job.build());

    // Writes while the job runs: removals, fresh inserts, a replacement,
    // and an insert that is removed again before the swap.
    for id in 200..220u64 {
        index.remove(id);
    }
    for id in 300..310u64 {
        let v = random_unit(&mut rng);
        index.insert(id, &v).unwrap();
        vectors.insert(id, v);
    }
    let replacement = random_unit(&mut rng);
    index.insert(250, &replacement).unwrap();
    let old_250 = vectors.insert(250, replacement.clone()).unwrap();
    index.remove(309);
    vectors.remove(&309);
    let expected_live: Vec<u64> = (220..309).collect();
    assert_eq!(index.len(), expected_live.len());

    let rebuilt = worker.join().unwrap();
    // 11 logged inserts: few enough to replay inline.
    assert!(matches!(
        index.finish_rebuild(rebuilt).unwrap(),
        RebuildStep::Done(_)
    ));
    assert!(!index.rebuild_pending());
    assert_eq!(index.len(), expected_live.len());
    assert_eq!(index.stats().rebuilds, 1);
    // Only tombstones from the replay remain: 20 removed + 1 replaced + 1 removed.
    assert_eq!(index.dead(), 22);
    for id in &expected_live {
        assert!(index.contains(*id));
        let hit = index.search(&vectors[id], 1)[0];
        assert_eq!(hit.0, *id);
        assert!(hit.1 > 0.9999);
    }
    for id in (0..220u64).chain([309]) {
        assert!(!index.contains(id));
    }
    // The old vector of the replaced entry no longer matches it exactly.
    let hit = index.search(&old_250, 1)[0];
    assert!(hit.0 != 250 || hit.1 < 0.5);
}

#[test]
fn many_inserts_during_a_rebuild_go_to_a_catch_up_job() {
    let mut rng = Rng(23);
    let params = IndexParams {
        auto_rebuild: false,
        ..test_params()
    };
    let mut index = VectorIndex::new(DIMS, 400, params);
    let mut vectors: Vec<(u64, Vec<f32>)> = Vec::new();
    let mut add = |index: &mut VectorIndex, id: u64, rng: &mut Rng| {
        let v = random_unit(rng);
        index.insert(id, &v).unwrap();
        vectors.push((id, v));
    };
    for id in 0..100u64 {
        add(&mut index, id, &mut rng);
    }
    let job = index.begin_rebuild();
    let built = job.parallel(false).build();
    // More inserts than are replayed inline, plus a removal.
    for id in 100..(101 + MAX_INLINE_REPLAY as u64) {
        add(&mut index, id, &mut rng);
    }
    index.remove(0);
    let RebuildStep::CatchUp(catch_up) = index.finish_rebuild(built).unwrap() else {
        unreachable!("expected a catch-up job");
    };
    assert_eq!(catch_up.len(), MAX_INLINE_REPLAY + 1);
    assert!(index.rebuild_pending());
    // Writes keep arriving while the catch-up job runs.
    let built = catch_up.build();
    for id in 500..505u64 {
        add(&mut index, id, &mut rng);
    }
    index.remove(1);
    let RebuildStep::Done(_retired) = index.finish_rebuild(built).unwrap() else {
        unreachable!("expected the swap");
    };
    assert!(!index.rebuild_pending());
    assert_eq!(index.stats().rebuilds, 1);
    assert_eq!(index.len(), vectors.len() - 2);
    assert_eq!(index.dead(), 2);
    for (id, v) in &vectors {
        let best = index.search(v, 1);
        if *id <= 1 {
            assert!(!index.contains(*id));
            assert_ne!(best[0].0, *id);
        } else {
            assert_eq!(best[0].0, *id);
        }
    }
}

#[test]
fn stale_rebuild_results_are_refused() {
    let mut rng = Rng(17);
    let mut index = VectorIndex::new(DIMS, 64, test_params());
    for id in 0..50u64 {
        index.insert(id, &random_unit(&mut rng)).unwrap();
    }
    let first = index.begin_rebuild().build();
    let second = index.begin_rebuild().build();
    assert!(matches!(
        index.finish_rebuild(first),
        Err(IndexError::StaleRebuild)
    ));
    assert!(
        index.rebuild_pending(),
        "a refused result leaves the newer job pending"
    );
    index.finish_rebuild(second).unwrap();

    let cancelled = index.begin_rebuild().build();
    index.cancel_rebuild();
    assert!(matches!(
        index.finish_rebuild(cancelled),
        Err(IndexError::StaleRebuild)
    ));

    let inline_superseded = index.begin_rebuild().build();
    index.rebuild();
    assert!(matches!(
        index.finish_rebuild(inline_superseded),
        Err(IndexError::StaleRebuild)
    ));
    assert_eq!(index.len(), 50);
    assert_eq!(index.stats().rebuilds, 2);
}

#[test]
fn abandoned_rebuild_stops_logging() {
    let mut rng = Rng(19);
    let mut index = VectorIndex::new(4, 8, test_params());
    let job = index.begin_rebuild();
    for id in 0..=MIN_REBUILD_LOG_CAP as u64 {
        let v: Vec<f32> = (0..4).map(|_| rng.normal()).collect();
        index.insert(id, &v).unwrap();
    }
    assert!(!index.rebuild_pending());
    assert!(matches!(
        index.finish_rebuild(job.build()),
        Err(IndexError::StaleRebuild)
    ));
    assert_eq!(index.len(), MIN_REBUILD_LOG_CAP + 1);
}
