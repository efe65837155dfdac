//! The producer against the fake broker, for faults a real broker cannot be made to produce on demand: leader
//! changes, lost sequence state, connections dropped with requests in flight, malformed and missing replies.
//!
//! The fake answers Metadata (pointing at itself), InitProducerId and Produce. Its Produce handling models the
//! broker's idempotence checks on a log per partition (append when the sequence follows, DUPLICATE_SEQUENCE_NUMBER
//! for one of the last five batches, OUT_OF_ORDER_SEQUENCE_NUMBER otherwise), so a test can check that every record
//! is in the log exactly once, in order, whatever the fault.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafkar::ErrorKind;
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
use kafkar::protocol::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use kafkar::protocol::messages::metadata::MetadataRequest;
use kafkar::protocol::messages::produce::{ProduceRequest, TOPIC_ID_VERSION};
use kafkar::protocol::primitives::Uuid;
use kafkar::protocol::records::{ReadOptions, RecordBatchReader};
use kafkar::protocol::{ApiKey, ErrorCode};
use support::{Action, FakeBroker, Received};

const TOPIC: &str = "faults";
const TOPIC_ID: Uuid = Uuid([7; 16]);

/// One batch the fake appended.
#[derive(Clone, Debug)]
struct Appended {
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    base_offset: i64,
    values: Vec<Bytes>,
}

/// What the fake decides for one Produce request (numbered from 0), before its idempotence checks.
#[derive(Clone, Debug)]
enum Fault {
    /// Answer normally.
    None,
    /// Answer every partition with this error without appending.
    Error(ErrorCode),
    /// Append (when the checks pass), then never answer.
    AppendThenIgnore,
    /// Append, then close the connection without answering.
    AppendThenClose,
    /// Append, then answer with garbage.
    AppendThenGarbage,
    /// Never answer, do not append.
    Ignore,
    /// Append, and answer after this long (a slow acks=all).
    AppendThenDelay(Duration),
}

#[derive(Default)]
struct FakeState {
    logs: HashMap<i32, Vec<Appended>>,
    produce_requests: usize,
    next_producer_id: i64,
    /// Every batch as received: (request number, producer id, epoch, base sequence, values).
    seen: Vec<(usize, i64, i16, i32, Vec<Bytes>)>,
}

struct Fake {
    broker: FakeBroker,
    state: Arc<Mutex<FakeState>>,
}

impl Fake {
    async fn start(partitions: i32, faults: impl Fn(usize) -> Fault + Send + Sync + 'static) -> Fake {
        Fake::start_with(partitions, TOPIC_ID, faults).await
    }

    /// A fake whose metadata gives the topic id `topic_id` (zero: none, as brokers before topic ids).
    async fn start_with(
        partitions: i32,
        topic_id: Uuid,
        faults: impl Fn(usize) -> Fault + Send + Sync + 'static,
    ) -> Fake {
        let state = Arc::new(Mutex::new(FakeState { next_producer_id: 1000, ..Default::default() }));
        let port: Arc<OnceLock<u16>> = Arc::new(OnceLock::new());
        let (st, p) = (state.clone(), port.clone());
        let broker = FakeBroker::start(move |r: &Received| {
            let key = ApiKey(r.header.api_key);
            let version = r.header.api_version;
            if key == ApiKey::METADATA {
                let _req: MetadataRequest = support::decode(r);
                return support::reply::<MetadataRequest>(
                    &support::fake_metadata(*p.get().unwrap_or(&0), TOPIC, topic_id, partitions),
                    version,
                );
            }
            if key == ApiKey::INIT_PRODUCER_ID {
                let _req: InitProducerIdRequest = support::decode(r);
                let mut s = st.lock().unwrap();
                s.next_producer_id += 1;
                let resp =
                    InitProducerIdResponse { producer_id: s.next_producer_id, producer_epoch: 0, ..Default::default() };
                return support::reply::<InitProducerIdRequest>(&resp, version);
            }
            if key == ApiKey::PRODUCE {
                let req: ProduceRequest = support::decode(r);
                let n = {
                    let mut s = st.lock().unwrap();
                    s.produce_requests += 1;
                    s.produce_requests - 1
                };
                let fault = faults(n);
                return produce(&st, n, &req, version, fault);
            }
            Action::Default
        })
        .await;
        let _ = port.set(broker.addr.port());
        Fake { broker, state }
    }

    fn bootstrap(&self) -> String {
        self.broker.bootstrap()
    }

    /// The values in partition `p`'s log, in offset order.
    fn log_values(&self, p: i32) -> Vec<Bytes> {
        let s = self.state.lock().unwrap();
        s.logs.get(&p).map(|l| l.iter().flat_map(|b| b.values.clone()).collect()).unwrap_or_default()
    }

    fn requests(&self, key: ApiKey) -> Vec<Received> {
        self.broker.received_api(key)
    }
}

/// The broker's idempotence check, simplified: sequences must follow the last one of the producer id and epoch;
/// one of the last 5 batches again is a duplicate; a new producer id or epoch must start at 0.
fn check_and_append(log: &mut Vec<Appended>, pid: i64, epoch: i16, seq: i32, values: Vec<Bytes>) -> (ErrorCode, i64) {
    let next_offset = log.last().map_or(0, |b| b.base_offset + b.values.len() as i64);
    let mine: Vec<&Appended> = log.iter().filter(|b| b.producer_id == pid && b.epoch == epoch).collect();
    if let Some(dup) = mine.iter().rev().take(5).find(|b| b.base_sequence == seq) {
        return (ErrorCode::DUPLICATE_SEQUENCE_NUMBER, dup.base_offset);
    }
    let expected = mine.last().map_or(0, |b| b.base_sequence + b.values.len() as i32);
    if pid >= 0 && seq != expected {
        return (ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER, -1);
    }
    log.push(Appended { producer_id: pid, epoch, base_sequence: seq, base_offset: next_offset, values });
    (ErrorCode::NONE, next_offset)
}

fn produce(st: &Mutex<FakeState>, n: usize, req: &ProduceRequest, version: i16, fault: Fault) -> Action {
    let mut s = st.lock().unwrap();
    let resp = support::produce_reply(req, version, |p| {
        let records = p.records.clone().unwrap_or_default();
        let mut reader = RecordBatchReader::new(records, ReadOptions::default());
        let batch = reader.next().expect("one batch").expect("batch decodes");
        let h = batch.header().clone();
        let values: Vec<Bytes> = batch.records().unwrap().map(|r| r.unwrap().value.unwrap_or_default()).collect();
        s.seen.push((n, h.producer_id, h.producer_epoch, h.base_sequence, values.clone()));
        match &fault {
            Fault::Error(c) => (*c, -1),
            Fault::Ignore => (ErrorCode::NONE, -1),
            _ => {
                let log = s.logs.entry(p.index).or_default();
                check_and_append(log, h.producer_id, h.producer_epoch, h.base_sequence, values)
            }
        }
    });
    match fault {
        Fault::None | Fault::Error(_) => support::reply::<ProduceRequest>(&resp, version),
        Fault::AppendThenDelay(d) => Action::Delay(d, Box::new(support::reply::<ProduceRequest>(&resp, version))),
        Fault::AppendThenIgnore | Fault::Ignore => Action::Ignore,
        Fault::AppendThenClose => Action::Close,
        Fault::AppendThenGarbage => {
            let mut b = bytes::BytesMut::new();
            b.extend_from_slice(&[0xff; 7]);
            Action::Reply(b)
        }
    }
}

fn config(bootstrap: &str, pairs: &[(&str, &str)]) -> ProducerConfig {
    let mut c = ProducerConfig::new(bootstrap);
    c.set("request.timeout.ms", "2000").unwrap();
    c.set("delivery.timeout.ms", "20000").unwrap();
    c.set("retry.backoff.ms", "20").unwrap();
    c.set("linger.ms", "0").unwrap();
    for (k, v) in pairs {
        c.set(k, v).unwrap();
    }
    c
}

fn rec(v: &str) -> ProducerRecord {
    ProducerRecord::new(TOPIC).partition(0).value(v.to_owned())
}

fn values(vs: &[&str]) -> Vec<Bytes> {
    vs.iter().map(|v| Bytes::from(v.to_string())).collect()
}

#[tokio::test]
async fn not_leader_then_success_refreshes_metadata_and_delivers_once() {
    let fake =
        Fake::start(1, |n| if n == 0 { Fault::Error(ErrorCode::NOT_LEADER_OR_FOLLOWER) } else { Fault::None }).await;
    let producer = Producer::new(config(&fake.bootstrap(), &[])).await.unwrap();
    let metadata_before = fake.requests(ApiKey::METADATA).len();
    let m = producer.send_and_wait(rec("a")).await.unwrap();
    assert_eq!((m.partition, m.offset), (0, 0));
    assert_eq!(fake.log_values(0), values(&["a"]));
    assert_eq!(fake.requests(ApiKey::PRODUCE).len(), 2);
    assert!(fake.requests(ApiKey::METADATA).len() > metadata_before, "metadata refreshed after NOT_LEADER");
    let metrics = producer.metrics();
    assert_eq!((metrics.retries, metrics.records_sent, metrics.record_errors), (1, 1, 0));
    producer.close().await;
}

#[tokio::test]
async fn out_of_order_sequence_bumps_the_epoch_and_resequences() {
    // The first batch meets OUT_OF_ORDER_SEQUENCE_NUMBER with nothing before it to explain it: the broker lost the
    // producer's state. Then the producer must get a new id/epoch and resend the batch from sequence 0.
    let fake =
        Fake::start(1, |n| if n == 1 { Fault::Error(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER) } else { Fault::None })
            .await;
    let producer = Producer::new(config(&fake.bootstrap(), &[])).await.unwrap();
    producer.send_and_wait(rec("first")).await.unwrap();
    let m = producer.send_and_wait(rec("second")).await.unwrap();
    let m3 = producer.send_and_wait(rec("third")).await.unwrap();
    assert_eq!((m.offset, m3.offset), (1, 2));
    assert_eq!(fake.log_values(0), values(&["first", "second", "third"]));
    let inits = fake.requests(ApiKey::INIT_PRODUCER_ID);
    assert_eq!(inits.len(), 2, "initial InitProducerId, then the bump");
    let bump: InitProducerIdRequest = support::decode(&inits[1]);
    assert!(inits[1].header.api_version >= 3);
    assert_eq!((bump.producer_id, bump.producer_epoch), (1001, 0), "the bump names the current id and epoch");
    assert!(bump.transactional_id.is_none());
    let seen = fake.state.lock().unwrap().seen.clone();
    let batches: Vec<(i64, i16, i32)> = seen.iter().map(|s| (s.1, s.2, s.3)).collect();
    // first (1001, seq 0), second rejected (1001, seq 1), second again under the new id from 0, third after it.
    assert_eq!(batches, vec![(1001, 0, 0), (1001, 0, 1), (1002, 0, 0), (1002, 0, 1)]);
    producer.close().await;
}

#[tokio::test]
async fn unknown_producer_id_also_bumps() {
    let fake =
        Fake::start(1, |n| if n == 0 { Fault::Error(ErrorCode::UNKNOWN_PRODUCER_ID) } else { Fault::None }).await;
    let producer = Producer::new(config(&fake.bootstrap(), &[])).await.unwrap();
    producer.send_and_wait(rec("x")).await.unwrap();
    assert_eq!(fake.requests(ApiKey::INIT_PRODUCER_ID).len(), 2);
    assert_eq!(fake.log_values(0), values(&["x"]));
    producer.close().await;
}

#[tokio::test]
async fn connection_dropped_with_five_in_flight_loses_and_duplicates_nothing() {
    // Request 0 establishes the producer on the partition. Requests 1-5 (five in flight: one batch each, batch.size
    // holds one record) are appended by the "broker" but their replies are lost: 1-4 never answered, the connection
    // closed on 5. Every batch is then resent with its sequence; the appended ones come back as duplicates.
    let fake = Fake::start(1, |n| match n {
        1..=4 => Fault::AppendThenIgnore,
        5 => Fault::AppendThenClose,
        _ => Fault::None,
    })
    .await;
    let producer = Producer::new(config(&fake.bootstrap(), &[("batch.size", "1"), ("request.timeout.ms", "10000")]))
        .await
        .unwrap();
    producer.send_and_wait(rec("v0")).await.unwrap();
    let mut futures = Vec::new();
    for i in 1..20 {
        futures.push(producer.send(rec(&format!("v{i}"))).await.unwrap());
    }
    let t0 = Instant::now();
    for (i, f) in futures.into_iter().enumerate() {
        let m = f.await.unwrap();
        assert_eq!(m.offset, i as i64 + 1, "offsets follow the send order");
    }
    assert!(t0.elapsed() < Duration::from_secs(8), "retried on the disconnect, not after a timeout");
    let expected: Vec<String> = (0..20).map(|i| format!("v{i}")).collect();
    assert_eq!(fake.log_values(0), values(&expected.iter().map(String::as_str).collect::<Vec<_>>()));
    // Five requests were in flight on the first connection when it closed.
    let produce = fake.requests(ApiKey::PRODUCE);
    assert!(produce.iter().filter(|r| r.connection == produce[0].connection).count() >= 6);
    // Every resend carried the same producer id, epoch, sequence and records as the first attempt.
    let seen = fake.state.lock().unwrap().seen.clone();
    let mut by_seq: HashMap<i32, (i64, i16, Vec<Bytes>)> = HashMap::new();
    for (_, pid, epoch, seq, vals) in &seen {
        let first = by_seq.entry(*seq).or_insert((*pid, *epoch, vals.clone()));
        assert_eq!(first, &(*pid, *epoch, vals.clone()), "resend of sequence {seq} differs");
    }
    let mut resent: Vec<i32> = seen.iter().map(|s| s.3).collect();
    resent.sort();
    let dups = resent.windows(2).filter(|w| w[0] == w[1]).count();
    assert!(dups >= 5, "the five batches in flight were sent again ({dups})");
    producer.close().await;
}

#[tokio::test]
async fn malformed_reply_is_retried_and_deduplicated() {
    let fake = Fake::start(1, |n| if n == 0 { Fault::AppendThenGarbage } else { Fault::None }).await;
    let producer = Producer::new(config(&fake.bootstrap(), &[])).await.unwrap();
    let m = producer.send_and_wait(rec("once")).await.unwrap();
    assert_eq!(m.offset, 0);
    assert_eq!(fake.log_values(0), values(&["once"]));
    assert_eq!(fake.requests(ApiKey::PRODUCE).len(), 2);
    producer.close().await;
}

#[tokio::test]
async fn a_reply_that_never_comes_times_out_and_is_retried() {
    let fake = Fake::start(1, |n| if n == 0 { Fault::AppendThenIgnore } else { Fault::None }).await;
    let producer =
        Producer::new(config(&fake.bootstrap(), &[("request.timeout.ms", "500"), ("delivery.timeout.ms", "10000")]))
            .await
            .unwrap();
    let t0 = Instant::now();
    let m = producer.send_and_wait(rec("late")).await.unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(450), "{:?}", t0.elapsed());
    assert_eq!(m.offset, 0);
    assert_eq!(fake.log_values(0), values(&["late"]), "the resend was a duplicate, not a second copy");
    producer.close().await;
}

#[tokio::test]
async fn replies_that_never_come_end_in_a_delivery_timeout() {
    let fake = Fake::start(1, |_| Fault::Ignore).await;
    let producer =
        Producer::new(config(&fake.bootstrap(), &[("request.timeout.ms", "400"), ("delivery.timeout.ms", "1500")]))
            .await
            .unwrap();
    let t0 = Instant::now();
    let e = producer.send_and_wait(rec("never")).await.unwrap_err();
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(1400) && took < Duration::from_secs(5), "{took:?}");
    assert!(matches!(e.kind(), ErrorKind::Timeout | ErrorKind::Disconnected(_)), "{e}");
    assert_eq!(e.context().topic.as_deref(), Some(TOPIC));
    assert_eq!(e.context().partition, Some(0));
    assert!(e.to_string().contains("delivery.timeout.ms"), "{e}");
    producer.close().await;
}

#[tokio::test]
async fn non_retriable_errors_fail_with_context_and_later_records_still_go() {
    let fake =
        Fake::start(1, |n| if n == 0 { Fault::Error(ErrorCode::TOPIC_AUTHORIZATION_FAILED) } else { Fault::None })
            .await;
    let producer = Producer::new(config(&fake.bootstrap(), &[])).await.unwrap();
    let e = producer.send_and_wait(rec("denied")).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::TOPIC_AUTHORIZATION_FAILED));
    assert!(!e.is_retriable());
    assert_eq!((e.context().topic.as_deref(), e.context().partition), (Some(TOPIC), Some(0)));
    assert_eq!(fake.requests(ApiKey::PRODUCE).len(), 1, "not retried");
    // The failed batch freed sequence 0: the next one meets OUT_OF_ORDER_SEQUENCE_NUMBER on a real broker that
    // has no state, or succeeds on one that accepts any first sequence; either way it is delivered.
    producer.send_and_wait(rec("allowed")).await.unwrap();
    assert_eq!(fake.log_values(0), values(&["allowed"]));
    producer.close().await;
}

#[tokio::test]
async fn full_buffer_makes_send_wait_then_fail_with_queue_full() {
    let fake = Fake::start(1, |_| Fault::Ignore).await;
    let producer = Producer::new(config(
        &fake.bootstrap(),
        &[
            ("buffer.memory", "1000"),
            ("max.block.ms", "300"),
            ("request.timeout.ms", "10000"),
            ("delivery.timeout.ms", "30000"),
        ],
    ))
    .await
    .unwrap();
    let _first = producer.send(rec(&"x".repeat(600))).await.unwrap();
    let t0 = Instant::now();
    let e = producer.send(rec(&"y".repeat(600))).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::QueueFull), "{e}");
    assert!(t0.elapsed() >= Duration::from_millis(280), "waited max.block.ms: {:?}", t0.elapsed());
    let e = producer.try_send(rec(&"z".repeat(600))).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::QueueFull), "{e}");
    assert!(producer.metrics().queued_bytes > 600);
    producer.close_timeout(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn many_partitions_share_requests_and_keep_per_partition_order() {
    static FAILS: AtomicUsize = AtomicUsize::new(0);
    // Every third request fails with a retriable error on all its partitions.
    let fake = Fake::start(4, |n| {
        if n % 3 == 2 {
            FAILS.fetch_add(1, Ordering::Relaxed);
            Fault::Error(ErrorCode::NOT_ENOUGH_REPLICAS)
        } else {
            Fault::None
        }
    })
    .await;
    let producer =
        Producer::new(config(&fake.bootstrap(), &[("batch.size", "200"), ("linger.ms", "2")])).await.unwrap();
    let mut futures = Vec::new();
    for i in 0..400 {
        let p = i % 4;
        futures
            .push((p, producer.send(ProducerRecord::new(TOPIC).partition(p).value(format!("{p}-{i}"))).await.unwrap()));
    }
    for (p, f) in futures {
        assert_eq!(f.await.unwrap().partition, p);
    }
    assert!(FAILS.load(Ordering::Relaxed) > 0);
    for p in 0..4 {
        let got = fake.log_values(p);
        let want: Vec<Bytes> = (0..400).filter(|i| i % 4 == p).map(|i| Bytes::from(format!("{p}-{i}"))).collect();
        assert_eq!(got, want, "partition {p}: each record once, in send order");
    }
    // Requests carried batches of several partitions.
    let produce = fake.requests(ApiKey::PRODUCE);
    let multi =
        produce.iter().filter(|r| support::decode::<ProduceRequest>(r).topic_data[0].partition_data.len() > 1).count();
    assert!(multi > 0);
    producer.close().await;
}

#[tokio::test]
async fn without_topic_ids_produce_names_topics() {
    let fake = Fake::start_with(2, Uuid::ZERO, |_| Fault::None).await;
    let producer = Producer::new(config(&fake.bootstrap(), &[])).await.unwrap();
    let m = producer.send_and_wait(ProducerRecord::new(TOPIC).partition(1).value("named")).await.unwrap();
    assert_eq!((m.partition, m.offset), (1, 0));
    let produce = fake.requests(ApiKey::PRODUCE);
    assert_eq!(produce[0].header.api_version, TOPIC_ID_VERSION - 1, "v13 needs a topic id");
    assert_eq!(support::decode::<ProduceRequest>(&produce[0]).topic_data[0].name, TOPIC);
    // With an id, the newest version and the id.
    let fake = Fake::start(1, |_| Fault::None).await;
    let producer = Producer::new(config(&fake.bootstrap(), &[])).await.unwrap();
    producer.send_and_wait(rec("by-id")).await.unwrap();
    let produce = fake.requests(ApiKey::PRODUCE);
    assert_eq!(produce[0].header.api_version, TOPIC_ID_VERSION);
    assert_eq!(support::decode::<ProduceRequest>(&produce[0]).topic_data[0].topic_id, TOPIC_ID);
    producer.close().await;
}

#[tokio::test]
async fn batches_behind_a_failed_one_are_retried_in_order_without_an_epoch_bump() {
    // Request 0 establishes the producer. Request 1 fails with NOT_LEADER_OR_FOLLOWER; requests 2-5, already in
    // flight, then meet OUT_OF_ORDER_SEQUENCE_NUMBER from the fake's sequence check: explained by request 1's
    // failure, so they are retried after it, in sequence order, with the same producer id and epoch.
    let fake =
        Fake::start(1, |n| if n == 1 { Fault::Error(ErrorCode::NOT_LEADER_OR_FOLLOWER) } else { Fault::None }).await;
    let producer = Producer::new(config(&fake.bootstrap(), &[("batch.size", "1")])).await.unwrap();
    producer.send_and_wait(rec("v0")).await.unwrap();
    let mut futures = Vec::new();
    for i in 1..=8 {
        futures.push(producer.send(rec(&format!("v{i}"))).await.unwrap());
    }
    for (i, f) in futures.into_iter().enumerate() {
        assert_eq!(f.await.unwrap().offset, i as i64 + 1);
    }
    let expected: Vec<String> = (0..=8).map(|i| format!("v{i}")).collect();
    assert_eq!(fake.log_values(0), values(&expected.iter().map(String::as_str).collect::<Vec<_>>()));
    assert_eq!(fake.requests(ApiKey::INIT_PRODUCER_ID).len(), 1, "no epoch bump");
    let seen = fake.state.lock().unwrap().seen.clone();
    let out_of_order = seen.iter().filter(|s| (2..=5).contains(&s.0)).count();
    assert!(out_of_order >= 2, "several batches were in flight behind the failed one ({out_of_order})");
    // After the failure, sequences go out in ascending order again from the failed batch's.
    let after: Vec<i32> = seen.iter().filter(|s| s.0 > 5).map(|s| s.3).collect();
    assert!(after.windows(2).all(|w| w[0] < w[1]), "{after:?}");
    assert_eq!(after.first(), Some(&1));
    assert!(seen.iter().all(|s| (s.1, s.2) == (1001, 0)));
    producer.close().await;
}

#[tokio::test]
async fn metadata_does_not_wait_behind_a_slow_produce() {
    // The broker holds every Produce reply for 3 s; a metadata refresh meanwhile goes over a connection of its own.
    let fake = Fake::start(1, |_| Fault::AppendThenDelay(Duration::from_secs(3))).await;
    let producer = Producer::new(config(&fake.bootstrap(), &[("request.timeout.ms", "10000")])).await.unwrap();
    let delivery = producer.send(rec("slow")).await.unwrap();
    let started = Instant::now();
    while fake.requests(ApiKey::PRODUCE).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(5), "no Produce request");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let refreshed = Instant::now();
    producer.cluster().refresh().await.unwrap();
    let took = refreshed.elapsed();
    assert!(took < Duration::from_millis(1500), "the metadata refresh waited behind the Produce: {took:?}");
    assert_eq!(delivery.await.unwrap().offset, 0);
    producer.close().await;
}

/// With linger.ms 0, records sent while their partition's batch waits for its reply are not sent at once, each as a
/// request of its own queued behind it at the broker: they fill one batch, which goes when the reply comes (the
/// broker handles one request of a connection at a time, so waiting costs nothing; benches/RESULTS.md, 2026-12-07).
#[tokio::test]
async fn records_sent_while_their_partition_waits_for_a_reply_go_together_after_it() {
    // Request 0 (one record, acknowledged) puts the producer on the partition: until then a partition has one batch
    // in flight anyway (idempotence). Request 1 is answered after 1 s; three more records are sent meanwhile, the
    // sender running between them.
    let fake =
        Fake::start(1, |n| if n == 1 { Fault::AppendThenDelay(Duration::from_secs(1)) } else { Fault::None }).await;
    let producer = Producer::new(config(&fake.bootstrap(), &[("request.timeout.ms", "10000")])).await.unwrap();
    producer.send_and_wait(rec("a")).await.unwrap();
    let slow = producer.send(rec("b")).await.unwrap();
    let started = Instant::now();
    while fake.requests(ApiKey::PRODUCE).len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(5), "no second Produce request");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut rest = Vec::new();
    for v in ["c", "d", "e"] {
        rest.push(producer.send(rec(v)).await.unwrap());
        // Let the sender run between the records: each could go as a request of its own.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(slow.await.unwrap().offset, 1);
    for (i, f) in rest.into_iter().enumerate() {
        assert_eq!(f.await.unwrap().offset, i as i64 + 2);
    }
    let seen = fake.state.lock().unwrap().seen.clone();
    let requests: Vec<(usize, Vec<Bytes>)> = seen.into_iter().map(|s| (s.0, s.4)).collect();
    assert_eq!(requests, vec![(0, values(&["a"])), (1, values(&["b"])), (2, values(&["c", "d", "e"]))]);
    assert_eq!(fake.log_values(0), values(&["a", "b", "c", "d", "e"]));
    producer.close().await;
}

/// A `send` dropped while it waits for `buffer.memory` (in a timeout, as in `select!`) must leave nothing behind:
/// before the fix its waiter count stayed up, the sender believed someone waited for memory for the rest of the
/// producer's life, and drained every batch at once (linger.ms stopped working).
#[tokio::test]
async fn a_send_dropped_while_waiting_for_memory_leaves_linger_working() {
    // The first Produce request is never answered: its batch holds the memory until request.timeout.ms.
    let fake = Fake::start(1, |n| if n == 0 { Fault::Ignore } else { Fault::None }).await;
    let linger = Duration::from_millis(400);
    let p = Producer::new(config(
        &fake.bootstrap(),
        &[("buffer.memory", "2000"), ("linger.ms", "400"), ("request.timeout.ms", "600")],
    ))
    .await
    .unwrap();
    let big = "x".repeat(1200);
    let first = p.send(rec(&big)).await.unwrap();
    // No room for a second big record: this send waits for memory and is dropped while waiting.
    let dropped = tokio::time::timeout(Duration::from_millis(100), p.send(rec(&big))).await;
    assert!(dropped.is_err(), "the second send was still waiting for memory");
    // The first batch is retried after its request timed out, and completes: the memory is free again.
    first.await.unwrap();
    assert_eq!(p.metrics().queued_bytes, 0);
    // A record sent now lingers for linger.ms before it is sent, as it should.
    let started = Instant::now();
    p.send(rec("small")).await.unwrap().await.unwrap();
    let took = started.elapsed();
    assert!(took >= linger - Duration::from_millis(50), "sent after {took:?}: linger.ms ({linger:?}) was skipped");
    assert_eq!(fake.log_values(0), values(&[&big, "small"]));
    p.close().await;
}
