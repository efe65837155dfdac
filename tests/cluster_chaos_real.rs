//! Chaos on three real brokers (RF 3, min.insync.replicas 2), each node also a controller: the test runs its own
//! 3-node cluster on base port 23092 (`scripts/kafka start --nodes 3`), so the shared broker is not disturbed.
//!
//! A node is killed or stopped only when the cluster is healthy: all three brokers registered and no partition of
//! the test's topic under-replicated (killing a second node before the first has rejoined would lose the
//! controller quorum and min.insync.replicas).
//!
//! - Leader kills: an idempotent producer writes while the leader of a written partition is SIGKILLed and
//!   restarted; every acknowledged record is in the log exactly once, at the offset its acknowledgement gave, in
//!   send order per partition.
//! - Rolling restart: every broker in turn is stopped with SIGTERM and restarted while a producer writes and a
//!   group member reads; no error reaches either, and every record is read.
//!
//! - Transaction coordinator bounces: consume-transform-produce in transactions (examples/exactly_once.rs) while
//!   input flows and the broker coordinating the copier's transactional id is SIGKILLed or SIGTERMed and restarted;
//!   the read_committed output holds every input record exactly once, in order per key.
//!
//! One test runs all three on one cluster. CI runs 3 kills, one rolling pass and one bounce; `scripts/chaos cluster`
//! runs 20 kills, two passes and six bounces (`KAFKAR_CHAOS_KILLS`, `KAFKAR_CHAOS_ROLLS`,
//! `KAFKAR_CHAOS_TXN_BOUNCES`) and prints the figures for tests/CHAOS.md.

mod support;

#[path = "../examples/exactly_once.rs"]
#[allow(dead_code)]
mod exactly_once;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafkar::ClientConfig;
use kafkar::admin::Admin;
use kafkar::cluster::Cluster;
use kafkar::consumer::{Consumer, ConsumerConfig};
use kafkar::producer::{Producer, ProducerRecord};

const PORT: &str = "23092";
const PARTITIONS: i32 = 3;

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn leader_of(bootstrap: &str, topic: &str, partition: i32) -> i32 {
    let cluster = Cluster::new(ClientConfig::new(bootstrap), false).unwrap();
    let info = cluster.topic(topic, Duration::from_secs(10)).await.unwrap();
    let leader = info.partitions[partition as usize].leader;
    cluster.close();
    leader
}

/// A new RF-3 topic on the healthy cluster.
async fn new_topic(bootstrap: &str, prefix: &str) -> String {
    let topic = support::unique_topic(prefix);
    let admin = Admin::new(ClientConfig::new(bootstrap)).await.unwrap();
    admin.create_topic(&topic, PARTITIONS, 3, &[]).await.unwrap();
    support::wait_healthy(bootstrap, &[&topic]).await;
    topic
}

/// Acknowledgements: (partition, offset, record number); failures counted.
#[derive(Default)]
struct Acks {
    ok: Mutex<Vec<(i32, i64, u64)>>,
    failed: AtomicU64,
    /// The first delivery error, for the assertion's message.
    first_error: Mutex<Option<String>>,
}

/// Sends records 0, 1, ... (`make(i)`) at up to `rate` per second until `stop`, then flushes; returns how many.
fn spawn_sender(
    producer: Producer,
    rate: u64,
    stop: Arc<AtomicBool>,
    acks: Arc<Acks>,
    make: impl Fn(u64) -> ProducerRecord + Send + 'static,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let started = Instant::now();
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let a = acks.clone();
            producer
                .send_with_callback(make(i), move |r| match r {
                    Ok(m) => a.ok.lock().unwrap().push((m.partition, m.offset, i)),
                    Err(e) => {
                        tracing::warn!(error = %e, record = i, "send failed");
                        a.failed.fetch_add(1, Ordering::Relaxed);
                        a.first_error.lock().unwrap().get_or_insert_with(|| format!("record {i}: {e:?}"));
                    }
                })
                .await
                .expect("record queued");
            i += 1;
            if i.is_multiple_of(100) {
                let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
                tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
            }
        }
        producer.flush().await;
        i
    })
}

/// Waits for the sender to stop and its final flush to end: within the delivery timeout (every record is then
/// acknowledged or failed) and a margin; past that the producer is stuck, and the failure shows its state.
async fn finish(sender: tokio::task::JoinHandle<u64>, producer: &Producer) -> u64 {
    match tokio::time::timeout(Duration::from_secs(240), sender).await {
        Ok(sent) => sent.expect("sender task"),
        Err(_) => panic!("the producer did not finish within delivery.timeout.ms + 60 s: {:?}", producer.metrics()),
    }
}

/// No record failed and all `sent` were acknowledged.
fn assert_all_acknowledged(acks: &Acks, sent: u64) {
    assert_eq!(
        acks.failed.load(Ordering::Relaxed),
        0,
        "no record failed; the first: {:?}",
        acks.first_error.lock().unwrap()
    );
    assert_eq!(acks.ok.lock().unwrap().len() as u64, sent, "every record acknowledged");
}

/// Every acknowledged record is in the log once, at its acknowledged offset, in send order per partition; and
/// the log holds nothing else.
async fn assert_log_matches(bootstrap: &str, topic: &str, acks: &Acks, sent: u64) {
    assert_all_acknowledged(acks, sent);
    let ok = acks.ok.lock().unwrap().clone();
    let log = support::read_all(bootstrap, topic).await;
    assert_eq!(log.len(), ok.len(), "one log record per acknowledged record (no duplicates)");
    let at: HashMap<(i32, i64), u64> = log
        .iter()
        .map(|f| {
            let v = f.value.as_deref().expect("value");
            ((f.partition, f.offset), u64::from_be_bytes(v[..8].try_into().expect("8-byte value")))
        })
        .collect();
    for (p, o, i) in ok {
        assert_eq!(at.get(&(p, o)), Some(&i), "record {i} at its acknowledged offset {p}/{o}");
    }
    let mut last: HashMap<i32, u64> = HashMap::new();
    for f in &log {
        let i = at[&(f.partition, f.offset)];
        if let Some(prev) = last.insert(f.partition, i) {
            assert!(i > prev, "partition {}: record {i} after {prev}", f.partition);
        }
    }
}

/// Both scenarios on one cluster, one after the other (a kill must not land in the other's health check).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_brokers_killed_and_restarted_under_traffic_lose_nothing() {
    if support::real_broker().is_none() {
        return;
    }
    support::log_from_env();
    let (kafka, bootstrap) = support::OwnKafka::start(PORT, &["--nodes", "3"]).await;
    leader_kills(&kafka, &bootstrap).await;
    rolling_restart(&kafka, &bootstrap).await;
    transaction_coordinator_bounces(&kafka, &bootstrap).await;
}

/// A new topic, and a producer writing to it at `rate` until the returned flag is set.
async fn traffic(
    bootstrap: &str,
    prefix: &str,
    rate: u64,
) -> (String, Producer, Arc<AtomicBool>, Arc<Acks>, tokio::task::JoinHandle<u64>) {
    let topic = new_topic(bootstrap, prefix).await;
    let producer = Producer::new(support::restart_proof_producer(bootstrap)).await.unwrap();
    let (stop, acks) = (Arc::new(AtomicBool::new(false)), Arc::new(Acks::default()));
    let numbered: Arc<str> = topic.as_str().into();
    let sender = spawn_sender(producer.clone(), rate, stop.clone(), acks.clone(), move |i| {
        // Record i to partition i % 3, its number as the value.
        ProducerRecord::new(numbered.clone()).partition((i % PARTITIONS as u64) as i32).value(i.to_be_bytes().to_vec())
    });
    (topic, producer, stop, acks, sender)
}

async fn leader_kills(kafka: &support::OwnKafka, bootstrap: &str) {
    let kills = env_count("KAFKAR_CHAOS_KILLS", 3);
    let (topic, producer, stop, acks, sender) = traffic(bootstrap, "chaos-kill", 5_000).await;
    let (mut max_stall, mut max_restart) = (Duration::ZERO, Duration::ZERO);
    for k in 0..kills {
        support::wait_healthy(bootstrap, &[&topic]).await;
        let before = acks.ok.lock().unwrap().len();
        let node = leader_of(bootstrap, &topic, (k % PARTITIONS as usize) as i32).await;
        let node = node.to_string();
        let killed_at = Instant::now();
        kafka.run(&["kill-node", &node]).await;
        // The stall: from the kill until acknowledgements flow again, watched while the node restarts (the restart
        // of a JVM under load takes tens of seconds and is not the client's stall).
        let watch = {
            let acks = acks.clone();
            tokio::spawn(async move {
                while acks.ok.lock().unwrap().len() <= before + 100 {
                    assert!(
                        killed_at.elapsed() < Duration::from_secs(120),
                        "no acknowledgements for 120 s after kill {k}"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                killed_at.elapsed()
            })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        kafka.run(&["start-node", &node]).await;
        max_restart = max_restart.max(killed_at.elapsed());
        max_stall = max_stall.max(watch.await.unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let sent = finish(sender, &producer).await;
    let m = producer.metrics();
    producer.close().await;
    assert_log_matches(bootstrap, &topic, &acks, sent).await;
    eprintln!(
        "chaos[kill]: {kills} leader kills, {sent} records, 0 lost, 0 duplicated, 0 reordered, retries {}, max stall {max_stall:?} (longest kill-to-restarted {max_restart:?})",
        m.retries
    );
}

async fn rolling_restart(kafka: &support::OwnKafka, bootstrap: &str) {
    let rolls = env_count("KAFKAR_CHAOS_ROLLS", 1);
    let (topic, producer, stop, acks, sender) = traffic(bootstrap, "chaos-roll", 2_000).await;

    let mut cc = ConsumerConfig::new(bootstrap);
    for (k, v) in [("group.id", topic.as_str()), ("auto.offset.reset", "earliest"), ("request.timeout.ms", "10000")] {
        cc.set(k, v).unwrap();
    }
    let mut consumer = Consumer::new(cc).await.unwrap();
    consumer.subscribe([topic.as_str()]).unwrap();
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let reading = Arc::new(AtomicBool::new(true));
    let reader = {
        let (seen, reading) = (seen.clone(), reading.clone());
        tokio::spawn(async move {
            while reading.load(Ordering::Relaxed) {
                let batch = consumer.poll(1000, Duration::from_millis(200)).await.expect("no consumer error");
                let mut s = seen.lock().unwrap();
                for r in batch {
                    s.insert(u64::from_be_bytes(r.value.as_deref().expect("value")[..8].try_into().unwrap()));
                }
            }
            consumer.close().await.expect("consumer closes cleanly");
        })
    };
    let mut restarts = 0;
    for _ in 0..rolls {
        for node in ["1", "2", "3"] {
            support::wait_healthy(bootstrap, &[&topic]).await;
            kafka.run(&["stop-node", node]).await;
            kafka.run(&["start-node", node]).await;
            restarts += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let sent = finish(sender, &producer).await;
    producer.close().await;
    assert_log_matches(bootstrap, &topic, &acks, sent).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while (seen.lock().unwrap().len() as u64) < sent {
        assert!(Instant::now() < deadline, "read {} of {sent} records", seen.lock().unwrap().len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    reading.store(false, Ordering::Relaxed);
    reader.await.unwrap();
    eprintln!("chaos[roll]: {restarts} controlled restarts, {sent} records written and read, 0 errors");
}

/// Keys of the transactional phase's input: a key's records are in one partition, in order.
const KEYS: u64 = 17;

/// Consume-transform-produce in transactions (examples/exactly_once.rs: read_committed input, one output record per
/// input record, the input offsets committed in the same transaction) while input flows and the broker that is the
/// transaction coordinator of the copier's transactional id is bounced, by SIGKILL and SIGTERM in turn: the output
/// read_committed readers see holds every input record exactly once, in order per key.
async fn transaction_coordinator_bounces(kafka: &support::OwnKafka, bootstrap: &str) {
    let bounces = env_count("KAFKAR_CHAOS_TXN_BOUNCES", 1);
    let input = new_topic(bootstrap, "chaos-txn-in").await;
    let output = new_topic(bootstrap, "chaos-txn-out").await;
    let group = support::unique_topic("chaos-txn-group");
    // The example's transactional id (a restarted copier fences the one it replaces).
    let transactional_id = format!("{group}-{input}-copier");

    let producer = Producer::new(support::restart_proof_producer(bootstrap)).await.unwrap();
    let (stop, acks) = (Arc::new(AtomicBool::new(false)), Arc::new(Acks::default()));
    let keyed: Arc<str> = input.as_str().into();
    let sender = spawn_sender(producer.clone(), 1_000, stop.clone(), acks.clone(), move |i| {
        let k = i % KEYS;
        ProducerRecord::new(keyed.clone()).key(format!("k{k:02}")).value(format!("k{k:02}-{:06}", i / KEYS))
    });
    let copying = Arc::new(AtomicBool::new(true));
    let copier = {
        let (bootstrap, input, output, group, copying) =
            (bootstrap.to_owned(), input.clone(), output.clone(), group.clone(), copying.clone());
        // A thread and runtime of its own: the example's future is not provably Send for every lifetime (rustc
        // #64552), so it cannot be a tokio task.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("copier runtime");
            rt.block_on(exactly_once::run(&bootstrap, &input, &output, &group, || !copying.load(Ordering::Relaxed)))
        })
    };

    let mut bounced = Vec::new();
    for b in 0..bounces {
        support::wait_healthy(bootstrap, &[&input, &output, "__transaction_state", "__consumer_offsets"]).await;
        let node = support::coordinator_node(bootstrap, "__transaction_state", &transactional_id).await.to_string();
        let how = if b % 2 == 0 { "kill-node" } else { "stop-node" };
        kafka.run(&[how, &node]).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        kafka.run(&["start-node", &node]).await;
        bounced.push(format!("{how} {node}"));
    }
    stop.store(true, Ordering::Relaxed);
    let sent = finish(sender, &producer).await;
    producer.close().await;
    // The input is checked through the output: every record once, in order per key.
    assert_all_acknowledged(&acks, sent);

    let out = support::read_committed(bootstrap, &output, PARTITIONS, sent as usize, Duration::from_secs(120)).await;
    copying.store(false, Ordering::Relaxed);
    match tokio::time::timeout(Duration::from_secs(120), tokio::task::spawn_blocking(move || copier.join())).await {
        Ok(done) => done.expect("join").expect("copier thread").expect("the copier ends without an error"),
        Err(_) => panic!("the copier did not stop within 120 s"),
    }
    // Exactly once: every input record, transformed, once; in order per key.
    let mut next: HashMap<String, u64> = HashMap::new();
    for r in &out {
        let value = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned();
        let (key, seq) = value.strip_prefix("out:").and_then(|v| v.split_once('-')).expect("a transformed value");
        let seq: u64 = seq.parse().expect("a sequence number");
        let want = next.entry(key.to_owned()).or_default();
        assert_eq!(seq, *want, "key {key}: {value} (duplicated, lost or reordered)");
        *want += 1;
    }
    assert_eq!(out.len() as u64, sent, "every input record once in the output");
    eprintln!(
        "chaos[txn]: {} transaction coordinator bounces ({}), {sent} records copied exactly once",
        bounced.len(),
        bounced.join(", ")
    );
}
