//! The consumer against a fake broker (tests/support) that keeps a small log per partition and implements fetch
//! sessions, so that faults a real broker cannot be made to produce on demand can be injected: OFFSET_OUT_OF_RANGE
//! under each reset policy, FENCED_LEADER_EPOCH with a leader epoch bump (and truncation found by
//! OffsetForLeaderEpoch), a corrupt batch on one partition, fetch session errors, and aborted transactions.

mod support;
#[path = "support/txn_batches.rs"]
mod txn_batches;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafkar::ErrorKind;
use kafkar::consumer::{Consumer, ConsumerConfig, ConsumerRecord, TopicPartition};
use kafkar::protocol::compression::Compression;
use kafkar::protocol::messages::fetch::{
    AbortedTransaction, EpochEndOffset as DivergingEpoch, FetchRequest, FetchResponse, FetchableTopicResponse,
    PartitionData,
};
use kafkar::protocol::messages::list_offsets::{
    ListOffsetsPartitionResponse, ListOffsetsRequest, ListOffsetsResponse, ListOffsetsTopicResponse,
};
use kafkar::protocol::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafkar::protocol::messages::offset_for_leader_epoch::{
    EpochEndOffset, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, OffsetForLeaderTopicResult,
};
use kafkar::protocol::primitives::Uuid;
use kafkar::protocol::records::RecordBatchBuilder;
use kafkar::protocol::{ApiKey, DecodeError, ErrorCode};
use support::{Action, FakeBroker, Received, decode, reply};
use txn_batches::{marker, txn_batch};

const TOPIC: &str = "faulty";
const TOPIC_ID: Uuid = Uuid([9; 16]);

/// One partition's log.
#[derive(Default)]
struct Log {
    batches: Vec<(i64, i64, Bytes)>, // base offset, next offset, bytes
    log_start: i64,
    aborted: Vec<(i64, i64)>, // producer id, first offset
}

impl Log {
    fn append(&mut self, batch: Bytes) {
        let base = i64::from_be_bytes(batch[..8].try_into().unwrap());
        let delta = i32::from_be_bytes(batch[23..27].try_into().unwrap());
        self.batches.push((base, base + i64::from(delta) + 1, batch));
    }

    fn high_watermark(&self) -> i64 {
        self.batches.last().map_or(self.log_start, |b| b.1)
    }

    fn read(&self, offset: i64) -> Bytes {
        let mut out = BytesMut::new();
        for (_, next, b) in &self.batches {
            if *next > offset && out.len() < 4096 {
                out.extend_from_slice(b);
            }
        }
        out.freeze()
    }
}

/// The fake broker's state.
struct Fake {
    port: u16,
    leader_epoch: i32,
    logs: Vec<Log>,
    /// Errors to answer for a partition's next fetches at a node, one each.
    partition_errors: HashMap<(i32, i32), VecDeque<ErrorCode>>,
    /// Top-level errors for the next fetches that come in a session (epoch > 0), one each.
    session_errors: VecDeque<ErrorCode>,
    /// OffsetForLeaderEpoch answer: (epoch, end offset).
    epoch_end: (i32, i64),
    /// A diverging epoch (epoch, end offset) for a partition's next fetch, answered instead of records (KIP-320).
    diverging: HashMap<i32, (i32, i64)>,
    /// Each node's fetch session.
    sessions: HashMap<i32, (i32, i32, HashMap<i32, i64>)>,
    next_session: i32,
    /// The follower (node 2), if started: its port.
    follower_port: Option<u16>,
    /// Node 1 sends consumers with a rack to node 2 (preferred read replica).
    prefer_follower: bool,
    /// Fetches to drop the connection on (instead of answering), one each.
    close_fetches: u32,
    /// Metadata lists no leader (an election in progress).
    leaderless: bool,
}

type Shared = Arc<Mutex<Fake>>;

fn metadata(f: &Fake) -> MetadataResponse {
    let mut brokers = vec![MetadataResponseBroker {
        node_id: 1,
        host: "127.0.0.1".into(),
        port: i32::from(f.port),
        ..Default::default()
    }];
    if let Some(port) = f.follower_port {
        brokers.push(MetadataResponseBroker {
            node_id: 2,
            host: "127.0.0.1".into(),
            port: i32::from(port),
            ..Default::default()
        });
    }
    MetadataResponse {
        brokers,
        controller_id: 1,
        topics: vec![MetadataResponseTopic {
            name: Some(TOPIC.into()),
            topic_id: TOPIC_ID,
            partitions: (0..f.logs.len() as i32)
                .map(|p| MetadataResponsePartition {
                    partition_index: p,
                    leader_id: if f.leaderless { -1 } else { 1 },
                    leader_epoch: f.leader_epoch,
                    replica_nodes: vec![1],
                    isr_nodes: vec![1],
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn fetch(f: &mut Fake, node: i32, req: &FetchRequest) -> FetchResponse {
    let requested: Vec<(i32, i64)> =
        req.topics.iter().flat_map(|t| t.partitions.iter().map(|p| (p.partition, p.fetch_offset))).collect();
    let err = |code| FetchResponse { error_code: code, ..Default::default() };
    let (partitions, incremental, session_id) = if req.session_epoch == -1 {
        (requested.into_iter().collect::<HashMap<_, _>>(), false, 0)
    } else if req.session_epoch == 0 {
        f.next_session += 1;
        let id = f.next_session;
        let parts: HashMap<i32, i64> = requested.into_iter().collect();
        f.sessions.insert(node, (id, 1, parts.clone()));
        (parts, false, id)
    } else {
        if let Some(e) = f.session_errors.pop_front() {
            f.sessions.remove(&node);
            return err(e);
        }
        let Some((id, epoch, parts)) = f.sessions.get_mut(&node) else {
            return err(ErrorCode::FETCH_SESSION_ID_NOT_FOUND);
        };
        if *id != req.session_id {
            return err(ErrorCode::FETCH_SESSION_ID_NOT_FOUND);
        }
        if *epoch != req.session_epoch {
            return err(ErrorCode::INVALID_FETCH_SESSION_EPOCH);
        }
        *epoch += 1;
        for (p, o) in requested {
            parts.insert(p, o);
        }
        for t in &req.forgotten_topics_data {
            for p in &t.partitions {
                parts.remove(p);
            }
        }
        (parts.clone(), true, *id)
    };
    let read_committed = req.isolation_level == 1;
    let mut out = Vec::new();
    let mut order: Vec<_> = partitions.into_iter().collect();
    order.sort();
    for (p, offset) in order {
        if let Some((epoch, end_offset)) = f.diverging.remove(&p) {
            let log = &f.logs[p as usize];
            out.push(PartitionData {
                partition_index: p,
                high_watermark: log.high_watermark(),
                last_stable_offset: log.high_watermark(),
                diverging_epoch: DivergingEpoch { epoch, end_offset, ..Default::default() },
                ..Default::default()
            });
            continue;
        }
        let log = &f.logs[p as usize];
        let mut pd = PartitionData {
            partition_index: p,
            high_watermark: log.high_watermark(),
            last_stable_offset: log.high_watermark(),
            log_start_offset: log.log_start,
            ..Default::default()
        };
        if let Some(code) = f.partition_errors.get_mut(&(node, p)).and_then(|q| q.pop_front()) {
            pd.error_code = code;
        } else if node == 1 && f.prefer_follower && !req.rack_id.is_empty() {
            pd.preferred_read_replica = 2;
        } else if offset < log.log_start || offset > log.high_watermark() {
            pd.error_code = ErrorCode::OFFSET_OUT_OF_RANGE;
        } else {
            let data = log.read(offset);
            if incremental && data.is_empty() {
                continue;
            }
            if read_committed {
                pd.aborted_transactions = Some(
                    log.aborted
                        .iter()
                        .map(|&(producer_id, first_offset)| AbortedTransaction {
                            producer_id,
                            first_offset,
                            ..Default::default()
                        })
                        .collect(),
                );
            }
            pd.records = Some(data);
        }
        out.push(pd);
    }
    FetchResponse {
        session_id,
        responses: vec![FetchableTopicResponse { topic_id: TOPIC_ID, partitions: out, ..Default::default() }],
        ..Default::default()
    }
}

fn handle(shared: &Shared, node: i32, r: &Received) -> Action {
    let key = ApiKey(r.header.api_key);
    let v = r.header.api_version;
    let mut f = shared.lock().unwrap();
    match key {
        ApiKey::METADATA => reply::<MetadataRequest>(&metadata(&f), v),
        ApiKey::FETCH => {
            if f.close_fetches > 0 {
                f.close_fetches -= 1;
                return Action::Close;
            }
            let req: FetchRequest = decode(r);
            let resp = fetch(&mut f, node, &req);
            let empty = resp.responses.iter().all(|t| {
                t.partitions.iter().all(|p| p.error_code.is_ok() && p.records.as_ref().is_none_or(|r| r.is_empty()))
            }) && resp.error_code.is_ok();
            let a = reply::<FetchRequest>(&resp, v);
            if empty { Action::Delay(Duration::from_millis(20), Box::new(a)) } else { a }
        }
        ApiKey::LIST_OFFSETS => {
            let req: ListOffsetsRequest = decode(r);
            let topics = req
                .topics
                .iter()
                .map(|t| ListOffsetsTopicResponse {
                    name: t.name.clone(),
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| {
                            let log = &f.logs[p.partition_index as usize];
                            let offset = if p.timestamp == -2 { log.log_start } else { log.high_watermark() };
                            ListOffsetsPartitionResponse {
                                partition_index: p.partition_index,
                                offset,
                                timestamp: -1,
                                ..Default::default()
                            }
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect();
            reply::<ListOffsetsRequest>(&ListOffsetsResponse { topics, ..Default::default() }, v)
        }
        ApiKey::OFFSET_FOR_LEADER_EPOCH => {
            let req: OffsetForLeaderEpochRequest = decode(r);
            let topics = req
                .topics
                .iter()
                .map(|t| OffsetForLeaderTopicResult {
                    topic: t.topic.clone(),
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| EpochEndOffset {
                            partition: p.partition,
                            leader_epoch: f.epoch_end.0,
                            end_offset: f.epoch_end.1,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect();
            reply::<OffsetForLeaderEpochRequest>(&OffsetForLeaderEpochResponse { topics, ..Default::default() }, v)
        }
        _ => Action::Default,
    }
}

async fn start(logs: Vec<Log>) -> (FakeBroker, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Fake {
        port: 0,
        leader_epoch: 5,
        logs,
        partition_errors: HashMap::new(),
        session_errors: VecDeque::new(),
        epoch_end: (5, i64::MAX),
        diverging: HashMap::new(),
        sessions: HashMap::new(),
        next_session: 100,
        follower_port: None,
        prefer_follower: false,
        close_fetches: 0,
        leaderless: false,
    }));
    let port = Arc::new(OnceLock::new());
    let s = shared.clone();
    let broker = FakeBroker::start(move |r| handle(&s, 1, r)).await;
    port.set(broker.addr.port()).unwrap();
    shared.lock().unwrap().port = broker.addr.port();
    (broker, shared)
}

fn batch(base: i64, n: usize, epoch: i32) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None).with_base_offset(base).with_partition_leader_epoch(epoch);
    for i in 0..n {
        b.append(1000, None, Some(format!("v{}", base + i as i64).as_bytes()), &[]).unwrap();
    }
    b.build().unwrap().into_bytes()
}

fn log_of(batches: Vec<Bytes>) -> Log {
    let mut l = Log::default();
    for b in batches {
        l.append(b);
    }
    l
}

async fn consumer(broker: &FakeBroker, partitions: i32, extra: &[(&str, &str)]) -> Consumer {
    let mut c = ConsumerConfig::new(&broker.bootstrap());
    c.set("retry.backoff.ms", "20").unwrap();
    c.set("fetch.max.wait.ms", "50").unwrap();
    c.set("auto.offset.reset", "earliest").unwrap();
    for (k, v) in extra {
        c.set(k, v).unwrap();
    }
    let mut consumer = Consumer::new(c).await.unwrap();
    consumer.assign((0..partitions).map(|p| TopicPartition::new(TOPIC, p))).unwrap();
    consumer
}

async fn recv(c: &mut Consumer) -> kafkar::Result<ConsumerRecord> {
    tokio::time::timeout(Duration::from_secs(10), c.recv()).await.expect("a record or an error within 10 s")
}

async fn offsets(c: &mut Consumer, n: usize) -> Vec<(i32, i64)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let r = recv(c).await.unwrap();
        out.push((r.partition, r.offset));
    }
    out
}

fn fetches(broker: &FakeBroker) -> Vec<FetchRequest> {
    broker.received_api(ApiKey::FETCH).iter().map(decode::<FetchRequest>).collect()
}

fn tp(p: i32) -> TopicPartition {
    TopicPartition::new(TOPIC, p)
}

#[tokio::test]
async fn offset_out_of_range_under_each_reset_policy() {
    let mut log = log_of(vec![batch(100, 10, 5)]);
    log.log_start = 100;
    let (broker, _f) = start(vec![log]).await;

    let mut c = consumer(&broker, 1, &[("auto.offset.reset", "earliest")]).await;
    c.seek(&tp(0), 5).unwrap();
    assert_eq!(offsets(&mut c, 2).await, vec![(0, 100), (0, 101)]);

    let mut c = consumer(&broker, 1, &[("auto.offset.reset", "latest")]).await;
    c.seek(&tp(0), 5).unwrap();
    assert_eq!(c.poll(10, Duration::from_millis(300)).await.unwrap().len(), 0);
    assert_eq!(c.position(&tp(0)).await.unwrap(), 110);

    let mut c = consumer(&broker, 1, &[("auto.offset.reset", "none")]).await;
    // No group: no committed offset, so the very first position is already an error.
    let e = recv(&mut c).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NoOffset), "{e}");
    c.seek(&tp(0), 5).unwrap();
    let e = recv(&mut c).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::OffsetOutOfRange { offset: 5 }), "{e}");
    assert_eq!((e.context().topic.as_deref(), e.context().partition), (Some(TOPIC), Some(0)));
    c.seek(&tp(0), 108).unwrap();
    assert_eq!(offsets(&mut c, 2).await, vec![(0, 108), (0, 109)]);
}

#[tokio::test]
async fn fenced_leader_epoch_refreshes_metadata_validates_and_continues() {
    let (broker, f) = start(vec![log_of(vec![batch(0, 5, 5)])]).await;
    let mut c = consumer(&broker, 1, &[]).await;
    assert_eq!(offsets(&mut c, 5).await.len(), 5);
    let metadata_before = broker.received_api(ApiKey::METADATA).len();
    {
        let mut f = f.lock().unwrap();
        f.leader_epoch = 6;
        f.partition_errors.insert((1, 0), VecDeque::from([ErrorCode::FENCED_LEADER_EPOCH]));
        f.epoch_end = (5, 5);
        f.logs[0].append(batch(5, 3, 6));
    }
    assert_eq!(offsets(&mut c, 3).await, vec![(0, 5), (0, 6), (0, 7)]);
    assert!(broker.received_api(ApiKey::METADATA).len() > metadata_before, "metadata was refreshed");
    let validations: Vec<OffsetForLeaderEpochRequest> =
        broker.received_api(ApiKey::OFFSET_FOR_LEADER_EPOCH).iter().map(decode).collect();
    assert_eq!(validations.len(), 1);
    let p = &validations[0].topics[0].partitions[0];
    assert_eq!((p.current_leader_epoch, p.leader_epoch), (6, 5), "asks about the epoch of the last record");
    let last = fetches(&broker).pop().unwrap();
    let sent: Vec<i32> = last.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.current_leader_epoch)).collect();
    assert!(sent.iter().all(|e| *e == 6), "fetches carry the new epoch: {sent:?}");
}

#[tokio::test]
async fn truncation_found_by_validation_resets_to_the_diverging_offset() {
    let (broker, f) = start(vec![log_of(vec![batch(0, 10, 5)])]).await;
    let mut c = consumer(&broker, 1, &[]).await;
    assert_eq!(offsets(&mut c, 10).await.len(), 10);
    {
        // A new leader (epoch 6) whose log ends epoch 5 at offset 7: offsets 7..9 were lost, and it wrote new ones.
        let mut f = f.lock().unwrap();
        f.leader_epoch = 6;
        f.epoch_end = (5, 7);
        f.logs[0] = log_of(vec![batch(0, 7, 5), batch(7, 4, 6)]);
        f.sessions.clear();
    }
    // The consumer notices the leader change at its next metadata refresh (here forced by a fenced fetch).
    f.lock().unwrap().partition_errors.insert((1, 0), VecDeque::from([ErrorCode::FENCED_LEADER_EPOCH]));
    let got = offsets(&mut c, 4).await;
    assert_eq!(got, vec![(0, 7), (0, 8), (0, 9), (0, 10)]);
    assert_eq!(c.position(&tp(0)).await.unwrap(), 11);

    // With auto.offset.reset=none the truncation is an error.
    let (broker, f) = start(vec![log_of(vec![batch(0, 10, 5)])]).await;
    let mut c = consumer(&broker, 1, &[("auto.offset.reset", "none")]).await;
    c.seek(&tp(0), 0).unwrap();
    assert_eq!(offsets(&mut c, 10).await.len(), 10);
    {
        let mut f = f.lock().unwrap();
        f.leader_epoch = 6;
        f.epoch_end = (5, 7);
        f.partition_errors.insert((1, 0), VecDeque::from([ErrorCode::FENCED_LEADER_EPOCH]));
    }
    let e = recv(&mut c).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::LogTruncation { offset: 10, divergent_offset: Some(7) }), "{e}");
}

#[tokio::test]
async fn a_diverging_epoch_in_a_fetch_reply_resets_to_its_end_offset() {
    let (broker, f) = start(vec![log_of(vec![batch(0, 10, 5)])]).await;
    let mut c = consumer(&broker, 1, &[]).await;
    assert_eq!(offsets(&mut c, 10).await.len(), 10);
    {
        // The leader's log ends epoch 5 at offset 7 (7..9 were lost and rewritten): a Fetch v12+ says so itself.
        let mut f = f.lock().unwrap();
        f.logs[0] = log_of(vec![batch(0, 7, 5), batch(7, 4, 6)]);
        f.diverging.insert(0, (5, 7));
    }
    assert_eq!(offsets(&mut c, 4).await, vec![(0, 7), (0, 8), (0, 9), (0, 10)]);
    assert!(broker.received_api(ApiKey::OFFSET_FOR_LEADER_EPOCH).is_empty(), "no separate validation was needed");

    // With auto.offset.reset=none it is an error naming both offsets.
    let (broker, f) = start(vec![log_of(vec![batch(0, 10, 5)])]).await;
    let mut c = consumer(&broker, 1, &[("auto.offset.reset", "none")]).await;
    c.seek(&tp(0), 0).unwrap();
    assert_eq!(offsets(&mut c, 10).await.len(), 10);
    f.lock().unwrap().diverging.insert(0, (5, 7));
    let e = recv(&mut c).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::LogTruncation { offset: 10, divergent_offset: Some(7) }), "{e}");
}

#[tokio::test]
async fn corrupt_batch_fails_its_partition_only() {
    let mut bad = BytesMut::from(&batch(3, 3, 5)[..]);
    let n = bad.len();
    bad[n - 2] ^= 0x55;
    let p0 = log_of(vec![batch(0, 3, 5), bad.freeze(), batch(6, 2, 5)]);
    let p1 = log_of(vec![batch(0, 4, 5), batch(4, 4, 5)]);
    let (broker, _f) = start(vec![p0, p1]).await;
    let mut c = consumer(&broker, 2, &[]).await;
    let mut got: Vec<(i32, i64)> = Vec::new();
    let mut error = None;
    while got.len() < 11 {
        match recv(&mut c).await {
            Ok(r) => got.push((r.partition, r.offset)),
            Err(e) => {
                assert!(error.is_none(), "reported once: {e}");
                error = Some(e);
            }
        }
    }
    let e = error.expect("the corrupt batch is reported");
    assert!(matches!(e.kind(), ErrorKind::Decode(DecodeError::CrcMismatch { .. })), "{e}");
    assert_eq!(e.context().partition, Some(0));
    let p0: Vec<i64> = got.iter().filter(|(p, _)| *p == 0).map(|(_, o)| *o).collect();
    let p1: Vec<i64> = got.iter().filter(|(p, _)| *p == 1).map(|(_, o)| *o).collect();
    assert_eq!(p0, vec![0, 1, 2]);
    assert_eq!(p1, (0..8).collect::<Vec<_>>(), "the other partition keeps delivering");
    assert_eq!(c.position(&tp(0)).await.unwrap_err().to_string(), e.to_string());
    // Seeking past the corrupt batch resumes the partition.
    c.seek(&tp(0), 6).unwrap();
    assert_eq!(offsets(&mut c, 2).await, vec![(0, 6), (0, 7)]);
    // check.crcs=false reads the batch.
    let mut c = consumer(&broker, 1, &[("check.crcs", "false")]).await;
    assert_eq!(offsets(&mut c, 8).await.iter().map(|x| x.1).collect::<Vec<_>>(), (0..8).collect::<Vec<_>>());
}

#[tokio::test]
async fn fetch_sessions_are_incremental_and_fall_back_to_full_fetches() {
    let logs = vec![log_of(vec![batch(0, 3, 5)]), log_of(vec![batch(0, 3, 5)]), log_of(vec![batch(0, 3, 5)])];
    let (broker, f) = start(logs).await;
    let mut c = consumer(&broker, 3, &[]).await;
    assert_eq!(offsets(&mut c, 9).await.len(), 9);
    // New data on partition 1 only: the incremental fetch after it lists only partition 1.
    f.lock().unwrap().logs[1].append(batch(3, 2, 5));
    assert_eq!(offsets(&mut c, 2).await, vec![(1, 3), (1, 4)]);
    let _ = c.poll(1, Duration::from_millis(200)).await.unwrap();
    let reqs = fetches(&broker);
    assert_eq!((reqs[0].session_id, reqs[0].session_epoch), (0, 0), "the first fetch opens a session");
    assert_eq!(reqs[0].topics[0].partitions.len(), 3);
    assert_eq!(reqs[0].topics[0].topic_id, TOPIC_ID, "v13+ names topics by id");
    let incremental: Vec<&FetchRequest> = reqs.iter().filter(|r| r.session_epoch > 0).collect();
    assert!(!incremental.is_empty());
    let listed = |r: &FetchRequest| -> Vec<(i32, i64)> {
        r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| (p.partition, p.fetch_offset))).collect()
    };
    // Epoch 1 moves all three partitions past their first data; after that only partition 1 ever changes.
    assert_eq!(listed(incremental[0]), vec![(0, 3), (1, 3), (2, 3)]);
    for r in &incremental[1..] {
        assert_eq!(r.session_id, 101);
        let l = listed(r);
        assert!(l.is_empty() || l == vec![(1, 5)], "incremental fetches list only changed partitions: {l:?}");
    }
    assert!(incremental.iter().any(|r| listed(r) == vec![(1, 5)]));
    let epochs: Vec<i32> = reqs.iter().map(|r| r.session_epoch).collect();
    assert!(epochs.windows(2).all(|w| w[1] == w[0] + 1), "epochs go up one by one: {epochs:?}");

    // Session errors: the next fetch is a full one (epoch 0) with every partition, and fetching goes on.
    for code in [ErrorCode::FETCH_SESSION_ID_NOT_FOUND, ErrorCode::INVALID_FETCH_SESSION_EPOCH] {
        let before = fetches(&broker).len();
        f.lock().unwrap().session_errors.push_back(code);
        let next = f.lock().unwrap().logs[2].high_watermark();
        f.lock().unwrap().logs[2].append(batch(next, 1, 5));
        assert_eq!(offsets(&mut c, 1).await, vec![(2, next)], "{code}");
        let reqs = fetches(&broker);
        let after = &reqs[before..];
        let full = after.iter().position(|r| r.session_epoch == 0).expect("a full fetch after the error");
        assert_eq!(after[full].topics[0].partitions.len(), 3, "{code}: the full fetch lists every partition");
        assert!(after[..full].iter().all(|r| r.session_epoch > 0));
    }

    // Pausing a partition forgets it in the session.
    c.pause(&[tp(0)]).unwrap();
    f.lock().unwrap().logs[1].append(batch(5, 1, 5));
    assert_eq!(offsets(&mut c, 1).await, vec![(1, 5)]);
    assert!(c.poll(1, Duration::from_millis(200)).await.unwrap().is_empty());
    let reqs = fetches(&broker);
    assert!(
        reqs.iter().any(|r| r.forgotten_topics_data.iter().any(|t| t.topic_id == TOPIC_ID && t.partitions == vec![0])),
        "partition 0 is forgotten"
    );

    // close() closes the session: its id with epoch -1 and no partitions.
    c.close().await.unwrap();
    let last = fetches(&broker).pop().unwrap();
    assert!(last.session_id > 100 && last.session_epoch == -1 && last.topics.is_empty(), "{last:?}");
}

#[tokio::test]
async fn aborted_transactions_are_filtered_in_read_committed() {
    // Producer 1 commits 0..1 (marker 2); producer 2 aborts 3..4 (marker 5) with producer 1's 6 committed in
    // between at 6 (marker 7); then a plain batch at 8..9.
    let mut log = log_of(vec![
        txn_batch(0, 2, 1, Compression::Gzip),
        marker(2, 1, true),
        txn_batch(3, 2, 2, Compression::Gzip),
        marker(5, 2, false),
        txn_batch(6, 1, 1, Compression::Gzip),
        marker(7, 1, true),
        batch(8, 2, 5),
    ]);
    log.aborted = vec![(2, 3)];
    let (broker, _f) = start(vec![log]).await;
    let mut c = consumer(&broker, 1, &[("isolation.level", "read_committed")]).await;
    let got = offsets(&mut c, 5).await;
    assert_eq!(got.iter().map(|x| x.1).collect::<Vec<_>>(), vec![0, 1, 6, 8, 9]);
    assert_eq!(c.position(&tp(0)).await.unwrap(), 10);
    let reqs = fetches(&broker);
    assert!(reqs.iter().all(|r| r.isolation_level == 1));

    let mut c = consumer(&broker, 1, &[("isolation.level", "read_uncommitted")]).await;
    let got = offsets(&mut c, 7).await;
    assert_eq!(got.iter().map(|x| x.1).collect::<Vec<_>>(), vec![0, 1, 3, 4, 6, 8, 9]);
}

#[tokio::test]
async fn data_buffered_before_a_leader_change_is_delivered_after_validation() {
    let (broker, f) = start(vec![log_of(vec![batch(0, 10, 5)])]).await;
    let mut c = consumer(&broker, 1, &[]).await;
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 0)]);
    {
        let mut f = f.lock().unwrap();
        f.leader_epoch = 6;
        f.partition_errors.insert((1, 0), VecDeque::from([ErrorCode::FENCED_LEADER_EPOCH]));
    }
    // Let the prefetches come back while records 1..9 are still buffered.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 1)]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(offsets(&mut c, 8).await.iter().map(|x| x.1).collect::<Vec<_>>(), (2..10).collect::<Vec<_>>());
    assert_eq!(broker.received_api(ApiKey::OFFSET_FOR_LEADER_EPOCH).len(), 1, "the position was validated");
}

/// Starts node 2, a follower sharing the fake's logs.
async fn start_follower(shared: &Shared) -> FakeBroker {
    let s = shared.clone();
    let broker = FakeBroker::start(move |r| handle(&s, 2, r)).await;
    shared.lock().unwrap().follower_port = Some(broker.addr.port());
    broker
}

#[tokio::test]
async fn follower_fetching_uses_the_preferred_read_replica_and_falls_back_to_the_leader() {
    let (leader, f) = start(vec![log_of(vec![batch(0, 5, 5)])]).await;
    let follower = start_follower(&f).await;
    f.lock().unwrap().prefer_follower = true;
    let mut c = consumer(&leader, 1, &[("client.rack", "r2")]).await;
    assert_eq!(offsets(&mut c, 5).await.iter().map(|x| x.1).collect::<Vec<_>>(), (0..5).collect::<Vec<_>>());
    let to_leader = fetches(&leader);
    assert!(to_leader.iter().all(|r| r.rack_id == "r2"), "fetches carry client.rack");
    assert!(!fetches(&follower).is_empty(), "the follower serves the data");

    // The follower lags: OFFSET_OUT_OF_RANGE there sends the consumer back to the leader, without a reset.
    let leader_fetches = to_leader.len();
    {
        let mut f = f.lock().unwrap();
        f.partition_errors.insert((2, 0), VecDeque::from([ErrorCode::OFFSET_OUT_OF_RANGE]));
        f.prefer_follower = false;
        f.logs[0].append(batch(5, 2, 5));
    }
    assert_eq!(offsets(&mut c, 2).await, vec![(0, 5), (0, 6)]);
    assert!(fetches(&leader).len() > leader_fetches, "back at the leader");
    assert!(leader.received_api(ApiKey::LIST_OFFSETS).len() <= 1, "no offset reset (only the initial one)");
    assert_eq!(c.position(&tp(0)).await.unwrap(), 7);

    // Without client.rack the leader serves everything.
    let (leader, f) = start(vec![log_of(vec![batch(0, 3, 5)])]).await;
    let follower = start_follower(&f).await;
    f.lock().unwrap().prefer_follower = true;
    let mut c = consumer(&leader, 1, &[]).await;
    assert_eq!(offsets(&mut c, 3).await.len(), 3);
    assert!(fetches(&follower).is_empty());
}

#[tokio::test]
async fn a_dropped_connection_mid_fetch_is_redialled_and_fetching_resumes_with_a_full_fetch() {
    let (broker, f) = start(vec![log_of(vec![batch(0, 3, 5)])]).await;
    let mut c = consumer(&broker, 1, &[]).await;
    assert_eq!(offsets(&mut c, 3).await.len(), 3);
    {
        let mut f = f.lock().unwrap();
        f.close_fetches = 2;
        f.logs[0].append(batch(3, 2, 5));
    }
    assert_eq!(offsets(&mut c, 2).await, vec![(0, 3), (0, 4)]);
    let received = broker.received_api(ApiKey::FETCH);
    let connections: std::collections::HashSet<usize> = received.iter().map(|r| r.connection).collect();
    assert!(connections.len() >= 3, "the connection was dialled again after each drop: {connections:?}");
    let after: Vec<FetchRequest> =
        received.iter().skip_while(|r| r.connection == received[0].connection).map(decode).collect();
    assert_eq!(after[0].session_epoch, 0, "a new connection starts with a full fetch");
    assert_eq!(c.metrics().fetch_errors, 2);
}

#[tokio::test]
async fn prefetch_stops_at_the_byte_budget_and_resumes_when_drained() {
    let batches: Vec<Bytes> = (0..10).map(|i| batch(i * 10, 10, 5)).collect();
    let (broker, _f) = start(vec![log_of(batches)]).await;
    // Budget below one response: no fetch goes out while its data is buffered.
    let mut c = consumer(&broker, 1, &[("fetch.max.bytes", "1000")]).await;
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 0)]);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 1)]);
    assert!(c.metrics().buffered_bytes > 1000);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 2)]);
    assert_eq!(fetches(&broker).len(), 1, "no prefetch over the budget");
    // Drained: fetching goes on.
    assert_eq!(offsets(&mut c, 97).await.len(), 97);
    assert!(c.poll(1, Duration::from_millis(150)).await.unwrap().is_empty());
    assert!(fetches(&broker).len() > 1);
    assert_eq!(c.metrics().buffered_bytes, 0);

    // Default budget: the next fetch is in flight while the application reads.
    let (broker, _f) = start(vec![log_of((0..10).map(|i| batch(i * 10, 10, 5)).collect())]).await;
    let mut c = consumer(&broker, 1, &[]).await;
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 0)]);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 1)]);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 2)]);
    assert!(fetches(&broker).len() >= 2, "prefetched while records were buffered");
}

#[tokio::test]
async fn prefetch_holds_two_fetches_of_the_assignment_not_fetch_max_bytes() {
    // 50 batches of 10 records; the fake broker answers with about 4 KiB of batches per fetch whatever is asked.
    let (broker, _f) = start(vec![log_of((0..50).map(|i| batch(i * 10, 10, 5)).collect())]).await;
    // fetch.max.bytes stays at its 50 MiB; two fetches of the one partition are 4,000 bytes, below one response.
    let mut c = consumer(&broker, 1, &[("max.partition.fetch.bytes", "2000")]).await;
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 0)]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 1)]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fetches(&broker).len(), 1, "prefetched over two fetches' worth");
    assert!(c.metrics().buffered_bytes < 6000, "{} bytes buffered", c.metrics().buffered_bytes);
    // Reading on lets fetching go on, in order, to the end.
    let rest = offsets(&mut c, 498).await;
    assert_eq!(rest, (2..500).map(|o| (0, o)).collect::<Vec<_>>());
    assert!(fetches(&broker).len() > 1);
}

#[tokio::test]
async fn a_partition_is_fetched_again_once_less_than_half_a_fetch_of_it_is_unread() {
    // 50 batches of 10 records, about 180 bytes each; the fake answers with about 4 KiB per fetch. Half of
    // max.partition.fetch.bytes is 3,000 bytes: one response is more than that, so no second fetch goes out while
    // it is unread, though two fetches' worth (12,000 bytes) of prefetch budget would allow two more.
    let (broker, _f) = start(vec![log_of((0..50).map(|i| batch(i * 10, 10, 5)).collect())]).await;
    let mut c = consumer(&broker, 1, &[("max.partition.fetch.bytes", "6000")]).await;
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 0)]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 1)]);
    assert_eq!(fetches(&broker).len(), 1, "fetched again with over half a fetch unread");
    let first = c.metrics().buffered_bytes;
    assert!(first > 3000, "{first} bytes buffered");
    // Reading 150 of the response's records (15 batches) leaves less than half a fetch unread: the next fetch
    // goes out before the data runs out.
    assert_eq!(offsets(&mut c, 148).await.last(), Some(&(0, 149)));
    assert!(first > 20 * 160, "the response holds more than 150 records ({first} bytes)");
    // The next record still comes from the buffer, and that poll sends the fetch (nothing else drives it here).
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 150)]);
    let waited = std::time::Instant::now();
    while fetches(&broker).len() < 2 {
        assert!(waited.elapsed() < Duration::from_secs(10), "no fetch once less than half a fetch was unread");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Everything arrives, in order.
    let mut rest = Vec::new();
    while rest.len() < 500 {
        let got = c.poll(500, Duration::from_secs(5)).await.unwrap();
        assert!(!got.is_empty(), "stalled at {} records", rest.len());
        rest.extend(got.into_iter().map(|r| r.offset));
        if rest.last() == Some(&499) {
            break;
        }
    }
    assert_eq!(rest.last(), Some(&499));
    assert!(rest.windows(2).all(|w| w[1] == w[0] + 1), "in order");
}

#[tokio::test]
async fn responses_still_being_read_hold_the_budget_and_a_fetch_asks_for_a_third_of_it() {
    // Three partitions of 50 batches; the fake answers every partition asked with about 4 KiB, whatever the request's
    // max_bytes. max.partition.fetch.bytes 3,000: the node's budget is 9,000 bytes of responses, a fetch asks for
    // 3,000. The first response (about 12 KiB) is over the budget, so nothing more is fetched until all of it is
    // read, though partition 0 is drained (and would be fetched again at half a fetch unread) long before.
    let logs = (0..3).map(|_| log_of((0..50).map(|i| batch(i * 10, 10, 5)).collect())).collect();
    let (broker, _f) = start(logs).await;
    let mut c = consumer(&broker, 3, &[("max.partition.fetch.bytes", "3000")]).await;
    let mut got = offsets(&mut c, 1).await;
    let first = &fetches(&broker)[0];
    assert_eq!(first.max_bytes, 3000, "a third of three partitions' max.partition.fetch.bytes");
    assert_eq!(first.topics[0].partitions.len(), 3);
    // Read partition 0's part of the response and the first record of the next partition.
    while got.last().is_some_and(|r| r.0 == 0) {
        got.extend(offsets(&mut c, 1).await);
    }
    assert!(got.len() > 100, "partition 0's data was {} records", got.len() - 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    got.extend(offsets(&mut c, 1).await);
    assert_eq!(fetches(&broker).len(), 1, "fetched again while the first response was still being read");
    // Reading on: the rest of the first response, then fetches again; everything arrives, in order per partition.
    while got.len() < 1500 {
        let batch = c.poll(500, Duration::from_secs(5)).await.unwrap();
        assert!(!batch.is_empty(), "stalled at {} records", got.len());
        got.extend(batch.into_iter().map(|r| (r.partition, r.offset)));
    }
    for p in 0..3 {
        let offs: Vec<i64> = got.iter().filter(|x| x.0 == p).map(|x| x.1).collect();
        assert_eq!(offs, (0..500).collect::<Vec<_>>(), "partition {p}");
    }
    let later = fetches(&broker);
    assert!(later.len() > 1);
    assert!(later.iter().all(|f| f.max_bytes <= 3000), "{:?}", later.iter().map(|f| f.max_bytes).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_paused_partition_holding_a_response_does_not_stop_the_others() {
    // Two partitions; the first response (about 8 KiB, both partitions) is over the 6,000-byte budget. Partition 0
    // is paused with its part of it unread: were its data still counted, the response would never be released and
    // partition 1 never fetched again.
    let logs = (0..2).map(|_| log_of((0..50).map(|i| batch(i * 10, 10, 5)).collect())).collect();
    let (broker, _f) = start(logs).await;
    let mut c = consumer(&broker, 2, &[("max.partition.fetch.bytes", "3000")]).await;
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 0)]);
    c.pause(&[tp(0)]).unwrap();
    let mut p1 = Vec::new();
    while p1.len() < 500 {
        let batch = c.poll(500, Duration::from_secs(5)).await.unwrap();
        assert!(!batch.is_empty(), "stalled at {} records of partition 1", p1.len());
        p1.extend(batch.into_iter().map(|r| (r.partition, r.offset)));
    }
    assert_eq!(p1, (0..500).map(|o| (1, o)).collect::<Vec<_>>());
    c.resume(&[tp(0)]).unwrap();
    assert_eq!(offsets(&mut c, 499).await, (1..500).map(|o| (0, o)).collect::<Vec<_>>());
}

#[tokio::test]
async fn caught_up_partitions_wait_for_the_fetch_of_a_partition_still_being_read() {
    // Partition 0 has 50 batches (about 4 KiB come per fetch, more than half of max.partition.fetch.bytes), partition
    // 1 one batch: after the first fetch partition 1 is at its end. A fetch of it alone would wait at a real broker
    // (fetch.max.wait.ms) as the node's one fetch in flight, holding up partition 0's next one: it goes out with
    // partition 0's next fetch instead.
    let (broker, _f) =
        start(vec![log_of((0..50).map(|i| batch(i * 10, 10, 5)).collect()), log_of(vec![batch(0, 10, 5)])]).await;
    let mut c = consumer(&broker, 2, &[("max.partition.fetch.bytes", "6000")]).await;
    let mut got = offsets(&mut c, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    got.extend(offsets(&mut c, 1).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fetches(&broker).len(), 1, "a fetch of the caught-up partition alone went out");
    // Reading on: everything arrives, in order per partition.
    let mut rest = Vec::new();
    while rest.len() + got.len() < 510 {
        let batch = c.poll(500, Duration::from_secs(5)).await.unwrap();
        assert!(!batch.is_empty(), "stalled at {} records", rest.len() + got.len());
        rest.extend(batch.into_iter().map(|r| (r.partition, r.offset)));
    }
    got.extend(rest);
    for p in 0..2 {
        let offs: Vec<i64> = got.iter().filter(|x| x.0 == p).map(|x| x.1).collect();
        assert_eq!(offs, (0..if p == 0 { 500 } else { 10 }).collect::<Vec<_>>(), "partition {p}");
    }
    assert!(fetches(&broker).len() > 1);
}

/// The most Metadata requests a consumer waiting for a leader may send in `elapsed`: the first at once, then one
/// after each wait of `retry.backoff.ms` (20 ms here) doubled per refresh that still found no leader, up to
/// `retry.backoff.max.ms` (1 s), plus one in flight and one more refresh started by a fetch error. A bound on the
/// rate, so that it holds however slowly a loaded machine runs the test.
fn metadata_bound(elapsed: Duration) -> usize {
    let (mut t, mut wait, mut n) = (Duration::ZERO, Duration::from_millis(20), 1);
    while t + wait <= elapsed {
        t += wait;
        n += 1;
        wait = (wait * 2).min(Duration::from_secs(1));
    }
    n + 2
}

#[tokio::test]
async fn unknown_partitions_and_leaders_wait_without_hammering_metadata() {
    let (broker, f) = start(vec![log_of(vec![batch(0, 2, 5)])]).await;
    let started = std::time::Instant::now();
    let mut c = consumer(&broker, 2, &[]).await; // partition 1 does not exist (yet)
    assert_eq!(offsets(&mut c, 2).await, vec![(0, 0), (0, 1)]);
    assert!(c.poll(1, Duration::from_millis(500)).await.unwrap().is_empty());
    // Counted over the whole wait (the consumer asked for partition 1's leader from its start), and bounded by
    // the time it really took rather than the time the test meant it to take.
    let n = broker.received_api(ApiKey::METADATA).len();
    let bound = metadata_bound(started.elapsed());
    assert!(n <= bound, "metadata refreshes back off exponentially: {n} in {:?} (at most {bound})", started.elapsed());
    // Once the partition appears, it is read.
    f.lock().unwrap().logs.push(log_of(vec![batch(0, 1, 5)]));
    assert_eq!(offsets(&mut c, 1).await, vec![(1, 0)]);

    // A leader election: no leader for a while.
    {
        let mut f = f.lock().unwrap();
        f.leaderless = true;
        f.partition_errors.insert((1, 0), VecDeque::from([ErrorCode::NOT_LEADER_OR_FOLLOWER]));
        f.partition_errors.insert((1, 1), VecDeque::from([ErrorCode::NOT_LEADER_OR_FOLLOWER]));
        f.logs[0].append(batch(2, 1, 5));
    }
    let before = broker.received_api(ApiKey::METADATA).len();
    let started = std::time::Instant::now();
    assert!(c.poll(1, Duration::from_millis(500)).await.unwrap().is_empty());
    let n = broker.received_api(ApiKey::METADATA).len() - before;
    let bound = metadata_bound(started.elapsed());
    assert!(
        n <= bound,
        "metadata refreshes back off while there is no leader: {n} in {:?} (at most {bound})",
        started.elapsed()
    );
    f.lock().unwrap().leaderless = false;
    assert_eq!(offsets(&mut c, 1).await, vec![(0, 2)]);
}
