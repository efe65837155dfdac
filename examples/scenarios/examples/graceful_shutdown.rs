//! Graceful shutdown with kafkar-app: a handler consumer works through a topic of jobs; when its [`Shutdown`]
//! token fires (here a third of the way through; in a service, `Shutdown::on_signal()` fires it on SIGTERM or
//! ctrl-c) it stops fetching, lets the running handlers finish, commits exactly what was handled and leaves the
//! group. A second instance in the same group then starts where the first stopped: no job is done twice, none is
//! skipped.
//!
//! ```sh
//! KAFKA_BOOTSTRAP=127.0.0.1:9092 cargo run -p kafkar-examples --example graceful_shutdown
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkar::admin::NewTopic;
use kafkar::consumer::TopicPartition;
use kafkar::{Consumer, Producer, ProducerRecord};
use kafkar_app::{Delivery, HandlerConsumer, HandlerMetrics, HandlerSettings, Shutdown};
use kafkar_examples::{Config, Result, create_topics, delete_topics, end_offsets, wait_until};

const PARTITIONS: i32 = 3;
/// Jobs on the topic.
pub const JOBS: usize = 240;

/// What one instance did.
#[derive(Clone, Debug, Default)]
pub struct InstanceReport {
    /// (partition, offset) of every job it finished.
    pub handled: BTreeSet<(i32, i64)>,
    /// Handlers started and finished (equal after a graceful stop: none abandoned).
    pub started: u64,
    /// See `started`.
    pub finished: u64,
    /// The group's committed offsets after the instance stopped.
    pub committed_after: BTreeMap<i32, i64>,
    /// The handler consumer's final metrics.
    pub metrics: HandlerMetrics,
}

/// The two instances' reports and the topic's end offsets.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The instance stopped a third of the way through.
    pub first: InstanceReport,
    /// The instance that finished the work.
    pub second: InstanceReport,
    /// The log end offset per partition.
    pub ends: BTreeMap<i32, i64>,
}

/// Runs one instance until `stop_after` jobs are done or `signal` fires, then stops it gracefully.
async fn instance(cfg: &Config, topic: &str, group: &str, stop_after: u64, signal: Shutdown) -> Result<InstanceReport> {
    let handled = Arc::new(Mutex::new(BTreeSet::new()));
    let started = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicU64::new(0));
    let (h, s, f) = (handled.clone(), started.clone(), finished.clone());
    let settings = HandlerSettings { shutdown_timeout: Duration::from_secs(10), ..HandlerSettings::default() };
    let config = cfg.consumer_config().with_group_id(group);
    let consumer = HandlerConsumer::new(config, [topic], settings, move |d: Delivery| {
        let (h, s, f) = (h.clone(), s.clone(), f.clone());
        async move {
            s.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(15)).await; // the job
            h.lock().unwrap_or_else(|p| p.into_inner()).insert((d.record.partition, d.record.offset));
            f.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    })
    .await?;
    let monitor = consumer.monitor();
    let shutdown = Shutdown::new();
    let running = tokio::spawn(consumer.run(shutdown.clone()));
    let reached = wait_until("jobs done", cfg.timeout, || {
        monitor.metrics().records_handled >= stop_after || signal.is_triggered() || running.is_finished()
    })
    .await;
    tracing::info!(handled = monitor.metrics().records_handled, "shutting down");
    shutdown.trigger();
    let metrics = running.await??;
    reached?;

    let reader = Consumer::new(cfg.consumer_config().with_group_id(group)).await?;
    let tps: Vec<TopicPartition> = (0..PARTITIONS).map(|p| TopicPartition::new(topic, p)).collect();
    let committed_after =
        reader.committed(&tps).await?.into_iter().filter_map(|(tp, c)| Some((tp.partition, c?.offset))).collect();
    reader.close().await?;
    let handled = std::mem::take(&mut *handled.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(InstanceReport {
        handled,
        started: started.load(Ordering::SeqCst),
        finished: finished.load(Ordering::SeqCst),
        committed_after,
        metrics,
    })
}

/// Writes the jobs, runs an instance that is stopped a third of the way, then one that does the rest.
pub async fn run(cfg: &Config) -> Result<Outcome> {
    run_with(cfg, Shutdown::new()).await
}

/// [`run`], where `signal` also stops the first instance early (`main` passes `Shutdown::on_signal()`: press
/// ctrl-c while it works).
pub async fn run_with(cfg: &Config, signal: Shutdown) -> Result<Outcome> {
    let admin = cfg.admin().await?;
    let topic = cfg.name("shutdown-jobs");
    let group = cfg.name("shutdown-workers");
    create_topics(&admin, &[NewTopic::new(&topic, PARTITIONS, 1)]).await?;
    let producer = Producer::new(cfg.producer_config()).await?;
    for i in 0..JOBS {
        producer
            .send_forget(ProducerRecord::new(topic.as_str()).key(format!("k{i}")).value(format!("job {i}")))
            .await?;
    }
    producer.flush().await;
    producer.close().await;
    let ends = end_offsets(cfg, &topic, PARTITIONS).await?;

    let first = instance(cfg, &topic, &group, JOBS as u64 / 3, signal).await?;
    let left = JOBS as u64 - first.handled.len() as u64;
    let second = instance(cfg, &topic, &group, left, Shutdown::new()).await?;
    delete_topics(&admin, &[topic]).await;
    Ok(Outcome { first, second, ends })
}

#[tokio::main]
async fn main() -> Result<()> {
    kafkar_examples::init_logging();
    let outcome = run_with(&Config::from_env(), Shutdown::on_signal()).await?;
    for (name, r) in [("first", &outcome.first), ("second", &outcome.second)] {
        println!(
            "{name} instance: {} jobs done ({} handlers started, {} finished); committed after it stopped: {:?}",
            r.handled.len(),
            r.started,
            r.finished,
            r.committed_after
        );
    }
    let twice = outcome.first.handled.intersection(&outcome.second.handled).count();
    println!("jobs done twice: {twice}; log end offsets {:?}", outcome.ends);
    Ok(())
}
