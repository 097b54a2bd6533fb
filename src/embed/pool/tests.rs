//! Tests for `pool.rs`, run against the real model.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use super::super::cosine;
use super::super::test_support::embedder;
use super::*;

fn pool(max_batch: usize, queue_capacity: usize) -> Arc<EmbedPool> {
    let config = PoolConfig {
        threads: 1,
        max_batch,
        queue_capacity,
    };
    Arc::new(EmbedPool::new(embedder(), config).unwrap())
}

async fn wait_until_queued(pool: &EmbedPool, texts: u64) {
    for _ in 0..5_000 {
        if pool.stats().queued == texts {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("queue never reached {texts} texts: {:?}", pool.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_batch_and_keep_their_answers() {
    let pool = pool(32, 256);
    pool.set_paused(true);
    let texts: Vec<String> = (0..16)
        .map(|i| format!("how do I fix error {i}?"))
        .collect();
    let tasks: Vec<_> = texts
        .iter()
        .map(|t| {
            let (pool, t) = (Arc::clone(&pool), t.clone());
            tokio::spawn(async move { pool.embed(t).await })
        })
        .collect();
    wait_until_queued(&pool, 16).await;
    pool.set_paused(false);

    let model = embedder();
    for (text, task) in texts.iter().zip(tasks) {
        let got = task.await.unwrap().unwrap();
        let want = model.embed(text).unwrap();
        assert!(
            cosine(&got, &want) > 0.9999,
            "{text}: wrong vector returned"
        );
    }
    let stats = pool.stats();
    assert_eq!((stats.embeddings, stats.batches), (16, 1), "{stats:?}");
    assert_eq!(stats.queued, 0);
}

#[tokio::test]
async fn batches_are_capped_at_max_batch() {
    let pool = pool(4, 256);
    pool.set_paused(true);
    let replies: Vec<_> = (0..10)
        .map(|i| pool.submit(vec![format!("text {i}")]).unwrap())
        .collect();
    pool.set_paused(false);
    for rx in replies {
        assert_eq!(rx.await.unwrap().unwrap().len(), 1);
    }
    let stats = pool.stats();
    assert_eq!((stats.embeddings, stats.batches), (10, 3), "{stats:?}");
}

#[tokio::test]
async fn several_workers_split_the_queue() {
    let config = PoolConfig {
        threads: 2,
        max_batch: 4,
        queue_capacity: 256,
    };
    let pool = EmbedPool::new(embedder(), config).unwrap();
    pool.set_paused(true);
    let replies: Vec<_> = (0..10)
        .map(|i| pool.submit(vec![format!("text {i}")]).unwrap())
        .collect();
    pool.set_paused(false);
    for rx in replies {
        assert_eq!(rx.await.unwrap().unwrap().len(), 1);
    }
    let stats = pool.stats();
    assert_eq!((stats.embeddings, stats.batches), (10, 3), "{stats:?}");
    pool.shutdown_blocking();
}

#[tokio::test]
async fn full_queue_answers_busy_at_once() {
    let pool = pool(32, 4);
    pool.set_paused(true);
    let replies: Vec<_> = (0..4)
        .map(|i| pool.submit(vec![format!("text {i}")]).unwrap())
        .collect();
    let err = pool.embed("one too many".into()).await.unwrap_err();
    assert!(matches!(err, EmbedError::Busy), "{err:?}");
    assert_eq!(pool.stats().rejected, 1);
    pool.set_paused(false);
    for rx in replies {
        rx.await.unwrap().unwrap();
    }
    // An over-sized request is still served when the queue is empty.
    let many: Vec<String> = (0..6).map(|i| format!("bulk {i}")).collect();
    assert_eq!(pool.embed_many(many).await.unwrap().len(), 6);
    assert!(pool.embed_many(Vec::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn abandoned_requests_are_skipped() {
    let pool = pool(32, 256);
    pool.set_paused(true);
    drop(pool.submit(vec!["nobody waits for me".into()]).unwrap());
    let kept = pool.submit(vec!["I am still here".into()]).unwrap();
    pool.set_paused(false);
    kept.await.unwrap().unwrap();
    let stats = pool.stats();
    assert_eq!((stats.cancelled, stats.embeddings), (1, 1), "{stats:?}");
}

#[tokio::test]
async fn shutdown_fails_queued_requests_with_closed() {
    let pool = EmbedPool::new(embedder(), PoolConfig::default()).unwrap();
    pool.set_paused(true);
    let rx = pool.submit(vec!["too late".into()]).unwrap();
    pool.shutdown_blocking();
    let err = rx.await.unwrap().unwrap_err();
    assert!(matches!(err, EmbedError::Closed), "{err:?}");
}
