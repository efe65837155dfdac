//! The group driver against a fake coordinator (tests/support): heartbeat errors a real broker cannot be made to
//! return on cue — NOT_COORDINATOR (rediscover, stay in the generation), REBALANCE_IN_PROGRESS (rejoin with the
//! member id), UNKNOWN_MEMBER_ID (rejoin from scratch, the owned partitions lost), FENCED_MEMBER_EPOCH (KIP-848:
//! partitions lost, rejoin at epoch 0); leaving after max.poll.interval.ms without a poll; and the number of Metadata
//! requests a subscribed member makes while metadata fails or its topic does not exist (no busy loop).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kafkar::consumer::{Consumer, ConsumerConfig, RebalanceListener, TopicPartition};
use kafkar::protocol::messages::consumer_group_heartbeat::{
    Assignment, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, TopicPartitions,
};
use kafkar::protocol::messages::consumer_protocol::{
    ConsumerProtocolAssignment, TopicPartition as ProtocolTopicPartition,
};
use kafkar::protocol::messages::heartbeat::{HeartbeatRequest, HeartbeatResponse};
use kafkar::protocol::messages::join_group::{JoinGroupRequest, JoinGroupResponse};
use kafkar::protocol::messages::leave_group::{LeaveGroupRequest, LeaveGroupResponse};
use kafkar::protocol::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafkar::protocol::messages::offset_fetch::{
    OffsetFetchRequest, OffsetFetchResponse, OffsetFetchResponseGroup, OffsetFetchResponsePartition,
    OffsetFetchResponsePartitions, OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafkar::protocol::messages::sync_group::{SyncGroupRequest, SyncGroupResponse};
use kafkar::protocol::primitives::Uuid;
use kafkar::protocol::{ApiKey, ErrorCode};
use support::{Action, FakeBroker, decode, reply};

/// How the fake answers Metadata requests.
#[derive(Clone, Copy, Debug)]
enum MetadataMode {
    /// The broker, and topic `t` (id [`TOPIC_ID`]) with one partition led by a broker nobody listens for (so the
    /// fetcher never fetches from the fake).
    Topic,
    /// The broker only, no topics.
    Brokers,
    /// Every requested topic is UNKNOWN_TOPIC_OR_PARTITION.
    UnknownTopics,
    /// Close the connection.
    Close,
}

/// The id of topic `t` in [`MetadataMode::Topic`] and KIP-848 assignments.
const TOPIC_ID: Uuid = Uuid::from_u64_pair(0x1234_5678_9abc_def0, 0x1234_5678_9abc_def0);

/// What the fake coordinator does.
#[derive(Clone, Debug)]
struct Script {
    /// The error of the classic heartbeat with this index (0-based); the others succeed.
    heartbeat_error: (usize, ErrorCode),
    /// The error of the ConsumerGroupHeartbeat with this index (0-based); the others succeed.
    consumer_heartbeat_error: (usize, ErrorCode),
    /// Partitions of `t` assigned to the member (classic SyncGroup, KIP-848 heartbeat).
    assigned: Vec<i32>,
    metadata: MetadataMode,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            heartbeat_error: (0, ErrorCode::NONE),
            consumer_heartbeat_error: (usize::MAX, ErrorCode::NONE),
            assigned: Vec::new(),
            metadata: MetadataMode::Brokers,
        }
    }
}

/// A coordinator that admits one member (not the leader) with an empty assignment, and answers the first
/// heartbeat with `first_heartbeat_error`.
async fn coordinator(first_heartbeat_error: ErrorCode) -> FakeBroker {
    scripted(Script { heartbeat_error: (0, first_heartbeat_error), ..Script::default() }).await
}

/// A coordinator (and the only broker) that admits one member, not the leader, as `script` says. OffsetFetch is
/// answered with offset 0 for the assigned partitions, Fetch not at all (the connection closes), LeaveGroup with success.
async fn scripted(script: Script) -> FakeBroker {
    let port = Arc::new(std::sync::OnceLock::<u16>::new());
    let heartbeats = Arc::new(AtomicUsize::new(0));
    let consumer_heartbeats = Arc::new(AtomicUsize::new(0));
    let p = port.clone();
    let broker = FakeBroker::start(move |r| {
        let v = r.header.api_version;
        let port = i32::from(*p.get().unwrap_or(&0));
        match ApiKey(r.header.api_key) {
            ApiKey::FIND_COORDINATOR => support::find_coordinator_reply(r, port),
            ApiKey::JOIN_GROUP => {
                let req: JoinGroupRequest = decode(r);
                let member_id = if req.member_id.is_empty() { "m-new".to_owned() } else { req.member_id };
                let resp = JoinGroupResponse {
                    generation_id: 1,
                    protocol_type: Some("consumer".into()),
                    protocol_name: Some("range".into()),
                    leader: "someone-else".into(),
                    member_id,
                    ..Default::default()
                };
                reply::<JoinGroupRequest>(&resp, v)
            }
            ApiKey::SYNC_GROUP => {
                let assignment = if script.assigned.is_empty() {
                    Bytes::new()
                } else {
                    let a = ConsumerProtocolAssignment {
                        assigned_partitions: vec![ProtocolTopicPartition {
                            topic: "t".into(),
                            partitions: script.assigned.clone(),
                        }],
                        user_data: None,
                    };
                    a.encode_versioned(0).unwrap().freeze()
                };
                let resp = SyncGroupResponse {
                    protocol_type: Some("consumer".into()),
                    protocol_name: Some("range".into()),
                    assignment,
                    ..Default::default()
                };
                reply::<SyncGroupRequest>(&resp, v)
            }
            ApiKey::HEARTBEAT => {
                let n = heartbeats.fetch_add(1, Ordering::SeqCst);
                let code = if n == script.heartbeat_error.0 { script.heartbeat_error.1 } else { ErrorCode::NONE };
                reply::<HeartbeatRequest>(&HeartbeatResponse { error_code: code, ..Default::default() }, v)
            }
            ApiKey::CONSUMER_GROUP_HEARTBEAT => {
                let req: ConsumerGroupHeartbeatRequest = decode(r);
                let n = consumer_heartbeats.fetch_add(1, Ordering::SeqCst);
                let resp = if n == script.consumer_heartbeat_error.0 {
                    ConsumerGroupHeartbeatResponse {
                        error_code: script.consumer_heartbeat_error.1,
                        ..Default::default()
                    }
                } else {
                    let assignment = (req.member_epoch == 0).then(|| Assignment {
                        topic_partitions: vec![TopicPartitions {
                            topic_id: TOPIC_ID,
                            partitions: script.assigned.clone(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    });
                    ConsumerGroupHeartbeatResponse {
                        member_id: Some(if req.member_id.is_empty() { "m-848".into() } else { req.member_id.clone() }),
                        member_epoch: req.member_epoch.max(0) + 1,
                        heartbeat_interval_ms: 100,
                        assignment,
                        ..Default::default()
                    }
                };
                reply::<ConsumerGroupHeartbeatRequest>(&resp, v)
            }
            ApiKey::OFFSET_FETCH => {
                // Committed offset 0 for every assigned partition (so the fetcher needs the leader next).
                let (name, topic_id) = if v >= 10 { (String::new(), TOPIC_ID) } else { ("t".to_owned(), Uuid::ZERO) };
                let resp = if v >= 8 {
                    let partitions = script
                        .assigned
                        .iter()
                        .map(|&p| OffsetFetchResponsePartitions {
                            partition_index: p,
                            committed_offset: 0,
                            committed_leader_epoch: -1,
                            ..Default::default()
                        })
                        .collect();
                    let topic = OffsetFetchResponseTopics { name, topic_id, partitions, ..Default::default() };
                    let group =
                        OffsetFetchResponseGroup { group_id: "g".into(), topics: vec![topic], ..Default::default() };
                    OffsetFetchResponse { groups: vec![group], ..Default::default() }
                } else {
                    let partitions = script
                        .assigned
                        .iter()
                        .map(|&p| OffsetFetchResponsePartition {
                            partition_index: p,
                            committed_offset: 0,
                            committed_leader_epoch: -1,
                            ..Default::default()
                        })
                        .collect();
                    let topic = OffsetFetchResponseTopic { name, partitions, ..Default::default() };
                    OffsetFetchResponse { topics: vec![topic], ..Default::default() }
                };
                reply::<OffsetFetchRequest>(&resp, v)
            }
            ApiKey::LEAVE_GROUP => reply::<LeaveGroupRequest>(&LeaveGroupResponse::default(), v),
            ApiKey::METADATA if matches!(script.metadata, MetadataMode::Close) => Action::Close,
            ApiKey::METADATA => {
                let req: MetadataRequest = decode(r);
                let topics = match script.metadata {
                    MetadataMode::UnknownTopics => req
                        .topics
                        .unwrap_or_default()
                        .into_iter()
                        .map(|t| MetadataResponseTopic {
                            error_code: ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                            name: t.name,
                            ..Default::default()
                        })
                        .collect(),
                    MetadataMode::Topic => vec![MetadataResponseTopic {
                        name: Some("t".into()),
                        topic_id: TOPIC_ID,
                        partitions: vec![MetadataResponsePartition {
                            partition_index: 0,
                            leader_id: 1,
                            leader_epoch: 1,
                            replica_nodes: vec![1],
                            isr_nodes: vec![1],
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    _ => Vec::new(),
                };
                let broker =
                    MetadataResponseBroker { node_id: 0, host: "127.0.0.1".into(), port, ..Default::default() };
                let unreachable =
                    MetadataResponseBroker { node_id: 1, host: "127.0.0.1".into(), port: 1, ..Default::default() };
                let brokers = vec![broker, unreachable];
                reply::<MetadataRequest>(&MetadataResponse { brokers, topics, ..Default::default() }, v)
            }
            _ => Action::Default,
        }
    })
    .await;
    port.set(broker.addr.port()).unwrap();
    broker
}

/// Subscribes and keeps polling until `until` holds of the requests received (or 15 s pass).
async fn run_until(broker: &FakeBroker, until: impl Fn(&FakeBroker) -> bool) {
    let mut c = ConsumerConfig::new(&broker.bootstrap());
    for (k, val) in [
        ("group.id", "g"),
        ("heartbeat.interval.ms", "100"),
        ("session.timeout.ms", "6000"),
        ("retry.backoff.ms", "20"),
    ] {
        c.set(k, val).unwrap();
    }
    let mut consumer = Consumer::new(c).await.unwrap();
    consumer.subscribe(["t"]).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !until(broker) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached; requests: {:?}",
            broker.received().iter().map(|r| (r.header.api_key, r.header.api_version)).collect::<Vec<_>>()
        );
        let got = consumer.poll(10, Duration::from_millis(50)).await.unwrap();
        assert!(got.is_empty());
    }
    assert!(consumer.assignment().is_empty());
}

#[tokio::test]
async fn not_coordinator_on_heartbeat_rediscovers_without_rejoining() {
    let broker = coordinator(ErrorCode::NOT_COORDINATOR).await;
    run_until(&broker, |b| {
        b.received_api(ApiKey::FIND_COORDINATOR).len() >= 2 && b.received_api(ApiKey::HEARTBEAT).len() >= 3
    })
    .await;
    assert_eq!(broker.received_api(ApiKey::JOIN_GROUP).len(), 1, "no rejoin");
}

#[tokio::test]
async fn rebalance_in_progress_on_heartbeat_rejoins_with_the_member_id() {
    let broker = coordinator(ErrorCode::REBALANCE_IN_PROGRESS).await;
    run_until(&broker, |b| b.received_api(ApiKey::SYNC_GROUP).len() >= 2).await;
    let joins = broker.received_api(ApiKey::JOIN_GROUP);
    assert_eq!(joins.len(), 2);
    let second: JoinGroupRequest = decode(&joins[1]);
    assert_eq!(second.member_id, "m-new", "the member keeps its id");
}

#[tokio::test]
async fn unknown_member_id_on_heartbeat_rejoins_from_scratch() {
    let broker = coordinator(ErrorCode::UNKNOWN_MEMBER_ID).await;
    run_until(&broker, |b| b.received_api(ApiKey::SYNC_GROUP).len() >= 2).await;
    let joins = broker.received_api(ApiKey::JOIN_GROUP);
    let second: JoinGroupRequest = decode(&joins[1]);
    assert_eq!(second.member_id, "", "a fresh member id is asked for");
}

/// Subscribes to `t` and polls for `window`; returns how many Metadata requests the broker got in that time.
async fn metadata_requests_while_polling(broker: &FakeBroker, window: Duration) -> usize {
    let mut c = ConsumerConfig::new(&broker.bootstrap());
    for (k, val) in [
        ("group.id", "g"),
        ("heartbeat.interval.ms", "100"),
        ("session.timeout.ms", "6000"),
        ("retry.backoff.ms", "100"),
        ("retry.backoff.max.ms", "1000"),
    ] {
        c.set(k, val).unwrap();
    }
    let mut consumer = Consumer::new(c).await.unwrap();
    consumer.subscribe(["t"]).unwrap();
    let start = tokio::time::Instant::now();
    while start.elapsed() < window {
        let _ = consumer.poll(10, Duration::from_millis(50)).await;
    }
    let n = broker.received_api(ApiKey::METADATA).len();
    drop(consumer);
    n
}

/// Metadata requests over 3 s with retry.backoff.ms=100 and retry.backoff.max.ms=1000. A request every backoff
/// would be 30; backing off exponentially (100, 200, 400, 800, 1000 ms) allows at most 6 plus slack.
const METADATA_BOUND: usize = 8;

#[tokio::test]
async fn failing_metadata_backs_off_for_an_assigned_partition() {
    let broker = scripted(Script { assigned: vec![0], metadata: MetadataMode::Close, ..Script::default() }).await;
    let n = metadata_requests_while_polling(&broker, Duration::from_secs(3)).await;
    assert!(n >= 2, "metadata is retried ({n})");
    assert!(n <= METADATA_BOUND, "{n} Metadata requests in 3 s: a busy loop");
}

/// A topic the broker does not know is asked for again every `retry.backoff.ms` while a partition of it is assigned
/// (as the Java client does); never faster.
#[tokio::test]
async fn unknown_topic_does_not_loop_metadata() {
    for assigned in [vec![], vec![0]] {
        let script = Script { assigned: assigned.clone(), metadata: MetadataMode::UnknownTopics, ..Script::default() };
        let broker = scripted(script).await;
        let n = metadata_requests_while_polling(&broker, Duration::from_secs(3)).await;
        assert!(n <= 32, "{assigned:?}: {n} Metadata requests in 3 s: a busy loop");
    }
}

#[tokio::test]
async fn a_member_assigned_nothing_does_not_ask_for_metadata_while_it_fails() {
    for mode in [MetadataMode::Brokers, MetadataMode::Close] {
        let broker = scripted(Script { metadata: mode, ..Script::default() }).await;
        let n = metadata_requests_while_polling(&broker, Duration::from_secs(3)).await;
        assert!(n <= 2, "{mode:?}: {n} Metadata requests in 3 s for an empty assignment");
    }
}

/// Records the listener's callbacks as `("assigned" | "revoked" | "lost", partitions)`.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Callback>>>);

/// One listener callback: its name and the partitions as `topic-partition`.
type Callback = (&'static str, Vec<String>);

impl Recorder {
    /// The callbacks so far, without those for no partitions (KIP-848 members report an empty assignment while
    /// the assigned topic ids are resolved).
    fn events(&self) -> Vec<Callback> {
        self.0.lock().unwrap().iter().filter(|(_, ps)| !ps.is_empty()).cloned().collect()
    }

    fn push(&self, what: &'static str, partitions: &[TopicPartition]) {
        let names = partitions.iter().map(|tp| format!("{}-{}", tp.topic, tp.partition)).collect();
        self.0.lock().unwrap().push((what, names));
    }
}

impl RebalanceListener for Recorder {
    fn on_assigned(&mut self, _: &mut Consumer, partitions: &[TopicPartition]) {
        self.push("assigned", partitions);
    }

    fn on_revoked(&mut self, _: &mut Consumer, partitions: &[TopicPartition]) {
        self.push("revoked", partitions);
    }

    fn on_lost(&mut self, _: &mut Consumer, partitions: &[TopicPartition]) {
        self.push("lost", partitions);
    }
}

/// A subscribed consumer of `t` with a [`Recorder`], polled until `until` holds of the broker and the recorded
/// callbacks (or 15 s pass).
async fn subscribe_until(
    broker: &FakeBroker,
    extra: &[(&str, &str)],
    until: impl Fn(&FakeBroker, &[Callback]) -> bool,
) -> (Consumer, Recorder) {
    let mut c = ConsumerConfig::new(&broker.bootstrap());
    for (k, val) in [("group.id", "g"), ("heartbeat.interval.ms", "100"), ("retry.backoff.ms", "20")] {
        c.set(k, val).unwrap();
    }
    for (k, val) in extra {
        c.set(k, val).unwrap();
    }
    let mut consumer = Consumer::new(c).await.unwrap();
    let recorder = Recorder::default();
    consumer.subscribe_with_listener(["t"], recorder.clone()).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !until(broker, &recorder.events()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached; callbacks {:?}; requests: {:?}",
            recorder.events(),
            broker.received().iter().map(|r| r.header.api_key).collect::<Vec<_>>()
        );
        let _ = consumer.poll(10, Duration::from_millis(50)).await;
    }
    (consumer, recorder)
}

fn t0() -> Vec<String> {
    vec!["t-0".to_owned()]
}

#[tokio::test]
async fn fenced_member_epoch_loses_the_partitions_and_rejoins_at_epoch_zero() {
    let script = Script {
        assigned: vec![0],
        metadata: MetadataMode::Topic,
        consumer_heartbeat_error: (1, ErrorCode::FENCED_MEMBER_EPOCH),
        ..Script::default()
    };
    let broker = scripted(script).await;
    let (consumer, recorder) = subscribe_until(&broker, &[("group.protocol", "consumer")], |b, events| {
        b.received_api(ApiKey::CONSUMER_GROUP_HEARTBEAT).len() >= 3 && events.len() >= 3
    })
    .await;
    assert_eq!(recorder.events(), vec![("assigned", t0()), ("lost", t0()), ("assigned", t0())]);
    let heartbeats: Vec<ConsumerGroupHeartbeatRequest> =
        broker.received_api(ApiKey::CONSUMER_GROUP_HEARTBEAT).iter().map(decode).collect();
    assert_eq!(heartbeats[0].member_epoch, 0);
    assert_eq!(heartbeats[1].member_epoch, 1, "the heartbeat the coordinator fenced");
    assert_eq!(heartbeats[2].member_epoch, 0, "rejoins at epoch 0");
    assert_eq!(heartbeats[2].member_id, heartbeats[0].member_id, "with its member id (KIP-1082)");
    assert_eq!(consumer.assignment(), vec![TopicPartition::new("t", 0)]);
}

#[tokio::test]
async fn unknown_member_id_while_owning_partitions_loses_them_and_rejoins() {
    let script = Script { assigned: vec![0], heartbeat_error: (0, ErrorCode::UNKNOWN_MEMBER_ID), ..Script::default() };
    let broker = scripted(script).await;
    let (_consumer, recorder) =
        subscribe_until(&broker, &[], |b, events| b.received_api(ApiKey::SYNC_GROUP).len() >= 2 && events.len() >= 3)
            .await;
    assert_eq!(recorder.events(), vec![("assigned", t0()), ("lost", t0()), ("assigned", t0())]);
    let joins = broker.received_api(ApiKey::JOIN_GROUP);
    let second: JoinGroupRequest = decode(&joins[1]);
    assert_eq!(second.member_id, "", "a fresh member id is asked for");
}

#[tokio::test]
async fn no_poll_for_max_poll_interval_leaves_the_group() {
    let broker = scripted(Script { assigned: vec![0], ..Script::default() }).await;
    let extra = [("max.poll.interval.ms", "1000"), ("session.timeout.ms", "6000")];
    let (mut consumer, recorder) = subscribe_until(&broker, &extra, |_, events| !events.is_empty()).await;
    assert!(broker.received_api(ApiKey::LEAVE_GROUP).is_empty());
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let leaves = broker.received_api(ApiKey::LEAVE_GROUP);
    assert_eq!(leaves.len(), 1, "LeaveGroup after max.poll.interval.ms without a poll");
    // Polling again rejoins; the partitions were lost meanwhile.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while broker.received_api(ApiKey::JOIN_GROUP).len() < 2 || recorder.events().len() < 3 {
        assert!(tokio::time::Instant::now() < deadline, "no rejoin: {:?}", recorder.events());
        let _ = consumer.poll(10, Duration::from_millis(50)).await;
    }
    assert_eq!(recorder.events(), vec![("assigned", t0()), ("lost", t0()), ("assigned", t0())]);
}

#[tokio::test]
async fn group_remote_assignor_is_sent_to_the_coordinator() {
    let broker = scripted(Script { assigned: vec![0], metadata: MetadataMode::Topic, ..Script::default() }).await;
    let extra = [("group.protocol", "consumer"), ("group.remote.assignor", "range")];
    let (_consumer, _recorder) =
        subscribe_until(&broker, &extra, |b, _| !b.received_api(ApiKey::CONSUMER_GROUP_HEARTBEAT).is_empty()).await;
    let first: ConsumerGroupHeartbeatRequest = decode(&broker.received_api(ApiKey::CONSUMER_GROUP_HEARTBEAT)[0]);
    assert_eq!(first.server_assignor.as_deref(), Some("range"));
}

/// The only broker and group coordinator of a KIP-848 member of topic `t` (one partition, led by the fake itself):
/// the first ConsumerGroupHeartbeat is never answered unless `assign`, in which case it assigns `t-0` and the
/// OffsetFetch that follows is never answered. Everything the member does next waits on the unanswered request.
async fn held_at_startup(assign: bool) -> FakeBroker {
    let port = Arc::new(std::sync::OnceLock::<u16>::new());
    let p = port.clone();
    let broker = FakeBroker::start(move |r| {
        let v = r.header.api_version;
        let port = *p.get().unwrap_or(&0);
        match ApiKey(r.header.api_key) {
            ApiKey::FIND_COORDINATOR => support::find_coordinator_reply(r, i32::from(port)),
            ApiKey::METADATA => reply::<MetadataRequest>(&support::fake_metadata(port, "t", TOPIC_ID, 1), v),
            ApiKey::CONSUMER_GROUP_HEARTBEAT if assign => {
                let req: ConsumerGroupHeartbeatRequest = decode(r);
                let assignment = (req.member_epoch == 0).then(|| Assignment {
                    topic_partitions: vec![TopicPartitions {
                        topic_id: TOPIC_ID,
                        partitions: vec![0],
                        ..Default::default()
                    }],
                    ..Default::default()
                });
                let resp = ConsumerGroupHeartbeatResponse {
                    member_id: Some("m-848".into()),
                    member_epoch: req.member_epoch.max(0) + 1,
                    heartbeat_interval_ms: 100,
                    assignment,
                    ..Default::default()
                };
                reply::<ConsumerGroupHeartbeatRequest>(&resp, v)
            }
            ApiKey::CONSUMER_GROUP_HEARTBEAT | ApiKey::OFFSET_FETCH => Action::Ignore,
            _ => Action::Default,
        }
    })
    .await;
    port.set(broker.addr.port()).unwrap();
    broker
}

/// The connections the fake has seen requests on.
fn connections(broker: &FakeBroker) -> usize {
    broker.received().iter().map(|r| r.connection).collect::<std::collections::HashSet<_>>().len()
}

/// While its first heartbeat is out, a member joining a group already has the metadata of its topics (the
/// assignment names them by id) and its connection for offsets at the coordinator (OffsetFetch comes next): neither
/// is left to the moment the assignment arrives.
#[tokio::test]
async fn a_joining_member_gets_its_topics_and_its_offsets_connection_while_the_first_heartbeat_is_out() {
    let broker = held_at_startup(false).await;
    let asked_for_t = |b: &FakeBroker| {
        b.received_api(ApiKey::METADATA).iter().any(|r| {
            let req: MetadataRequest = decode(r);
            req.topics.unwrap_or_default().iter().any(|t| t.name.as_deref() == Some("t"))
        })
    };
    // Control (Metadata, FindCoordinator), group membership (the heartbeat) and group offsets.
    let _member = subscribe_until(&broker, &[("group.protocol", "consumer")], |b, _| {
        !b.received_api(ApiKey::CONSUMER_GROUP_HEARTBEAT).is_empty() && asked_for_t(b) && connections(b) >= 3
    })
    .await;
    assert_eq!(broker.received_api(ApiKey::CONSUMER_GROUP_HEARTBEAT).len(), 1, "the first heartbeat is unanswered");
    assert!(broker.received_api(ApiKey::OFFSET_FETCH).is_empty());
}

/// Once assigned, a member dials its partitions' leaders for fetching while its positions are looked up
/// (OffsetFetch here never answers), not after them.
#[tokio::test]
async fn an_assigned_member_dials_its_leaders_while_its_positions_are_looked_up() {
    let broker = held_at_startup(true).await;
    // Control, group membership, group offsets (the OffsetFetch, unanswered) and data (the leader's fetches).
    let _member = subscribe_until(&broker, &[("group.protocol", "consumer")], |b, _| {
        !b.received_api(ApiKey::OFFSET_FETCH).is_empty() && connections(b) >= 4
    })
    .await;
    assert!(broker.received_api(ApiKey::FETCH).is_empty(), "no position yet, so no fetch");
}
