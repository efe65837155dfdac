//! Commits of a classic group member while its group rebalances, against a fake coordinator that keeps the group
//! states the real one has (tests/support): the member's own JoinGroup and SyncGroup are held for a while, so the
//! test can commit while the group prepares a rebalance (the coordinator accepts the member's current generation),
//! while it completes one (the coordinator answers `REBALANCE_IN_PROGRESS`), and after it.
//!
//! The coordinator's OffsetCommit rules are those of Kafka's classic group: generation -1 with an empty member id
//! is an outsider (rejected with `UNKNOWN_MEMBER_ID` while the group has members); otherwise the generation must be
//! the group's, and a group completing a rebalance answers `REBALANCE_IN_PROGRESS`.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkar::ErrorKind;
use kafkar::consumer::{Consumer, ConsumerConfig, OffsetAndMetadata, TopicPartition};
use kafkar::protocol::messages::consumer_protocol::{
    ConsumerProtocolAssignment, TopicPartition as ProtocolTopicPartition,
};
use kafkar::protocol::messages::heartbeat::{HeartbeatRequest, HeartbeatResponse};
use kafkar::protocol::messages::join_group::{JoinGroupRequest, JoinGroupResponse};
use kafkar::protocol::messages::leave_group::{LeaveGroupRequest, LeaveGroupResponse};
use kafkar::protocol::messages::metadata::{MetadataRequest, MetadataResponse, MetadataResponseBroker};
use kafkar::protocol::messages::offset_commit::{
    OffsetCommitRequest, OffsetCommitResponse, OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafkar::protocol::messages::offset_fetch::{OffsetFetchRequest, OffsetFetchResponse, OffsetFetchResponseGroup};
use kafkar::protocol::messages::sync_group::{SyncGroupRequest, SyncGroupResponse};
use kafkar::protocol::{ApiKey, ErrorCode};
use support::{Action, FakeBroker, decode, reply};
use tokio::time::Instant;

/// How long the coordinator holds the second JoinGroup (the group prepares the rebalance meanwhile).
const JOIN_HOLD: Duration = Duration::from_millis(1500);
/// How long it holds the second SyncGroup (the group completes the rebalance meanwhile).
const SYNC_HOLD: Duration = Duration::from_millis(1500);

/// One OffsetCommit the coordinator received, with its answer.
#[derive(Clone, Debug)]
struct Commit {
    at: Instant,
    generation: i32,
    member_id: String,
    partitions: Vec<i32>,
    answer: ErrorCode,
}

/// The fake group's clock and what it saw.
#[derive(Default)]
struct Group {
    /// When the second JoinGroup's response goes out (the group enters CompletingRebalance, generation 2).
    join2_answered_at: Option<Instant>,
    /// When the second SyncGroup's response goes out (the group is Stable in generation 2).
    sync2_answered_at: Option<Instant>,
    /// The generation the second JoinGroup answers with.
    rejoin_generation: i32,
    commits: Vec<Commit>,
}

/// What the test wants of the coordinator.
#[derive(Clone, Copy)]
struct Script {
    /// Answer every OffsetCommit with this error instead of the group's rules.
    always: Option<ErrorCode>,
    /// Answer the first OffsetCommit with this error instead of the group's rules.
    first: Option<ErrorCode>,
    /// The generation of the rebalance the second JoinGroup completes: 2, or 1 again as a coordinator that took
    /// the group over from its log numbers it.
    rejoin_generation: i32,
}

impl Default for Script {
    fn default() -> Self {
        Script { always: None, first: None, rejoin_generation: 2 }
    }
}

impl Group {
    /// The classic coordinator's answer to a commit at `now` (KAFKA's ClassicGroup.validateOffsetCommit).
    fn answer(&self, now: Instant, generation: i32, member_id: &str) -> ErrorCode {
        if generation < 0 && member_id.is_empty() {
            return ErrorCode::UNKNOWN_MEMBER_ID; // an outsider, and the group has a member
        }
        if member_id != "m-1" {
            return ErrorCode::UNKNOWN_MEMBER_ID;
        }
        let completing = self.join2_answered_at.is_some_and(|t| now >= t);
        let stable2 = self.sync2_answered_at.is_some_and(|t| now >= t);
        let group_generation = if completing { self.rejoin_generation } else { 1 };
        if generation != group_generation {
            return ErrorCode::ILLEGAL_GENERATION;
        }
        if completing && !stable2 { ErrorCode::REBALANCE_IN_PROGRESS } else { ErrorCode::NONE }
    }
}

/// A coordinator for one member `m-1` of group `g` (cooperative-sticky, topic `t`, partitions 0 and 1 assigned):
/// generation 1 at once; the second heartbeat says the group rebalances; the second JoinGroup is held
/// [`JOIN_HOLD`], the second SyncGroup [`SYNC_HOLD`], and the next generation (`script.rejoin_generation`) keeps
/// the same partitions.
async fn coordinator(script: Script) -> (FakeBroker, Arc<Mutex<Group>>) {
    let group = Arc::new(Mutex::new(Group { rejoin_generation: script.rejoin_generation, ..Group::default() }));
    let port = Arc::new(std::sync::OnceLock::<u16>::new());
    let (g, p) = (group.clone(), port.clone());
    let joins = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let syncs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let heartbeats = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let broker = FakeBroker::start(move |r| {
        use std::sync::atomic::Ordering::SeqCst;
        let v = r.header.api_version;
        let port = i32::from(*p.get().unwrap_or(&0));
        let now = Instant::now();
        match ApiKey(r.header.api_key) {
            ApiKey::FIND_COORDINATOR => support::find_coordinator_reply(r, port),
            ApiKey::METADATA => {
                let broker =
                    MetadataResponseBroker { node_id: 0, host: "127.0.0.1".into(), port, ..Default::default() };
                reply::<MetadataRequest>(&MetadataResponse { brokers: vec![broker], ..Default::default() }, v)
            }
            ApiKey::JOIN_GROUP => {
                let n = joins.fetch_add(1, SeqCst);
                let resp = JoinGroupResponse {
                    generation_id: if n == 0 { 1 } else { script.rejoin_generation },
                    protocol_type: Some("consumer".into()),
                    protocol_name: Some("cooperative-sticky".into()),
                    leader: "someone-else".into(),
                    member_id: "m-1".into(),
                    ..Default::default()
                };
                let answer = reply::<JoinGroupRequest>(&resp, v);
                if n == 0 {
                    answer
                } else {
                    g.lock().unwrap().join2_answered_at = Some(now + JOIN_HOLD);
                    Action::Delay(JOIN_HOLD, Box::new(answer))
                }
            }
            ApiKey::SYNC_GROUP => {
                let n = syncs.fetch_add(1, SeqCst);
                let a = ConsumerProtocolAssignment {
                    assigned_partitions: vec![ProtocolTopicPartition { topic: "t".into(), partitions: vec![0, 1] }],
                    user_data: None,
                };
                let resp = SyncGroupResponse {
                    protocol_type: Some("consumer".into()),
                    protocol_name: Some("cooperative-sticky".into()),
                    assignment: a.encode_versioned(0).unwrap().freeze(),
                    ..Default::default()
                };
                let answer = reply::<SyncGroupRequest>(&resp, v);
                if n == 0 {
                    answer
                } else {
                    g.lock().unwrap().sync2_answered_at = Some(now + SYNC_HOLD);
                    Action::Delay(SYNC_HOLD, Box::new(answer))
                }
            }
            ApiKey::HEARTBEAT => {
                let n = heartbeats.fetch_add(1, SeqCst);
                let code = if n == 1 { ErrorCode::REBALANCE_IN_PROGRESS } else { ErrorCode::NONE };
                reply::<HeartbeatRequest>(&HeartbeatResponse { error_code: code, ..Default::default() }, v)
            }
            ApiKey::OFFSET_COMMIT => {
                let req: OffsetCommitRequest = decode(r);
                let mut group = g.lock().unwrap();
                let answer = match (script.always, script.first) {
                    (Some(code), _) => code,
                    (None, Some(code)) if group.commits.is_empty() => code,
                    _ => group.answer(now, req.generation_id_or_member_epoch, &req.member_id),
                };
                let partitions: Vec<i32> =
                    req.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.partition_index)).collect();
                group.commits.push(Commit {
                    at: now,
                    generation: req.generation_id_or_member_epoch,
                    member_id: req.member_id.clone(),
                    partitions,
                    answer,
                });
                let topics = req
                    .topics
                    .iter()
                    .map(|t| OffsetCommitResponseTopic {
                        name: t.name.clone(),
                        topic_id: t.topic_id,
                        partitions: t
                            .partitions
                            .iter()
                            .map(|p| OffsetCommitResponsePartition {
                                partition_index: p.partition_index,
                                error_code: answer,
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect();
                reply::<OffsetCommitRequest>(&OffsetCommitResponse { topics, ..Default::default() }, v)
            }
            ApiKey::LEAVE_GROUP => reply::<LeaveGroupRequest>(&LeaveGroupResponse::default(), v),
            ApiKey::OFFSET_FETCH => {
                // Nothing committed (the partitions' positions then wait for a leader nobody knows).
                let groups = vec![OffsetFetchResponseGroup { group_id: "g".into(), ..Default::default() }];
                let resp =
                    if v >= 8 { OffsetFetchResponse { groups, ..Default::default() } } else { Default::default() };
                reply::<OffsetFetchRequest>(&resp, v)
            }
            // Fetches and offset look-ups are not part of these tests: the partitions' leader is unknown.
            _ => Action::Default,
        }
    })
    .await;
    port.set(broker.addr.port()).unwrap();
    (broker, group)
}

/// A subscribed consumer of `t` (cooperative-sticky, manual commits unless `extra` says otherwise).
async fn member(broker: &FakeBroker, extra: &[(&str, &str)]) -> Consumer {
    let mut c = ConsumerConfig::new(&broker.bootstrap());
    for (k, val) in [
        ("group.id", "g"),
        ("heartbeat.interval.ms", "100"),
        ("session.timeout.ms", "10000"),
        ("retry.backoff.ms", "20"),
        ("enable.auto.commit", "false"),
        ("partition.assignment.strategy", "cooperative-sticky"),
        ("default.api.timeout.ms", "10000"),
    ] {
        c.set(k, val).unwrap();
    }
    for (k, val) in extra {
        c.set(k, val).unwrap();
    }
    let mut consumer = Consumer::new(c).await.unwrap();
    consumer.subscribe(["t"]).unwrap();
    consumer
}

/// Polls until `until` holds of the broker (or 15 s pass).
async fn poll_until(consumer: &mut Consumer, broker: &FakeBroker, what: &str, until: impl Fn(&FakeBroker) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !until(broker) {
        assert!(Instant::now() < deadline, "{what}: not reached");
        let _ = consumer.poll(10, Duration::from_millis(20)).await;
    }
}

fn offsets(partitions: &[i32], offset: i64) -> HashMap<TopicPartition, OffsetAndMetadata> {
    partitions.iter().map(|&p| (TopicPartition::new("t", p), OffsetAndMetadata::new(offset))).collect()
}

fn joins(n: usize) -> impl Fn(&FakeBroker) -> bool {
    move |b| b.received_api(ApiKey::JOIN_GROUP).len() >= n
}

fn syncs(n: usize) -> impl Fn(&FakeBroker) -> bool {
    move |b| b.received_api(ApiKey::SYNC_GROUP).len() >= n
}

#[tokio::test]
async fn a_commit_while_the_group_prepares_a_rebalance_carries_the_current_generation() {
    let (broker, group) = coordinator(Script::default()).await;
    let mut consumer = member(&broker, &[]).await;
    poll_until(&mut consumer, &broker, "second JoinGroup", joins(2)).await;
    // The member's JoinGroup is held by the coordinator: the group prepares a rebalance.
    let started = Instant::now();
    consumer.commit_offsets(offsets(&[0, 1], 5)).await.expect("the coordinator accepts generation 1 now");
    assert!(started.elapsed() < JOIN_HOLD, "the commit did not wait for the pending JoinGroup");
    let commits = group.lock().unwrap().commits.clone();
    assert_eq!(commits.len(), 1, "{commits:?}");
    assert_eq!((commits[0].generation, commits[0].member_id.as_str()), (1, "m-1"));
    assert_eq!(commits[0].answer, ErrorCode::NONE);
}

#[tokio::test]
async fn a_commit_while_the_group_completes_a_rebalance_goes_out_with_the_next_generation() {
    let (broker, group) = coordinator(Script::default()).await;
    let mut consumer = member(&broker, &[]).await;
    poll_until(&mut consumer, &broker, "second SyncGroup", syncs(2)).await;
    // Joined generation 2, SyncGroup held: the coordinator would answer REBALANCE_IN_PROGRESS.
    consumer.commit_offsets(offsets(&[0], 7)).await.expect("committed in generation 2");
    let g = group.lock().unwrap();
    let stable_at = g.sync2_answered_at.expect("second SyncGroup answered");
    let ok: Vec<&Commit> = g.commits.iter().filter(|c| c.answer == ErrorCode::NONE).collect();
    assert_eq!(ok.len(), 1, "{:?}", g.commits);
    assert_eq!((ok[0].generation, ok[0].partitions.as_slice()), (2, &[0][..]));
    assert!(ok[0].at >= stable_at, "committed once generation 2 was stable");
    assert!(g.commits.iter().all(|c| c.generation >= 1 && !c.member_id.is_empty()), "{:?}", g.commits);
}

#[tokio::test]
async fn rebalance_in_progress_waits_for_the_next_generation_and_commits_again() {
    // The first commit meets a group that just began completing the rebalance (the member has not seen its
    // JoinGroup response yet).
    let script = Script { first: Some(ErrorCode::REBALANCE_IN_PROGRESS), ..Script::default() };
    let (broker, group) = coordinator(script).await;
    let mut consumer = member(&broker, &[]).await;
    poll_until(&mut consumer, &broker, "second JoinGroup", joins(2)).await;
    consumer.commit_offsets(offsets(&[0, 1], 9)).await.expect("committed again in generation 2");
    let commits = group.lock().unwrap().commits.clone();
    let seen: Vec<(i32, ErrorCode)> = commits.iter().map(|c| (c.generation, c.answer)).collect();
    assert_eq!(seen, vec![(1, ErrorCode::REBALANCE_IN_PROGRESS), (2, ErrorCode::NONE)]);
    assert_eq!(commits[1].partitions.len(), 2, "both partitions are still the member's");
}

/// A coordinator that took the group over from its log (the previous one was bounced) refuses the member's
/// generation, then completes the rebalance under the same number: the member rejoins into generation 1 with its
/// member id, the identity its commit was refused with. The commit goes out again in it once it is stable; it
/// once waited for a generation that never came, until its deadline, and the member processed nothing meanwhile
/// (tests/group_churn_cluster_real.rs: one minute without a record on every partition).
#[tokio::test]
async fn a_commit_refused_before_a_rejoin_into_the_same_generation_goes_out_again_in_it() {
    let script = Script { first: Some(ErrorCode::ILLEGAL_GENERATION), rejoin_generation: 1, ..Script::default() };
    let (broker, group) = coordinator(script).await;
    let mut consumer = member(&broker, &[]).await;
    poll_until(&mut consumer, &broker, "second JoinGroup", joins(2)).await;
    consumer.commit_offsets(offsets(&[0, 1], 6)).await.expect("committed again in the rejoined generation 1");
    let g = group.lock().unwrap();
    let seen: Vec<(i32, &str, ErrorCode)> =
        g.commits.iter().map(|c| (c.generation, c.member_id.as_str(), c.answer)).collect();
    assert_eq!(seen, vec![(1, "m-1", ErrorCode::ILLEGAL_GENERATION), (1, "m-1", ErrorCode::NONE)]);
    let stable_at = g.sync2_answered_at.expect("second SyncGroup answered");
    assert!(g.commits[1].at >= stable_at, "sent again once the rejoined generation was stable: {:?}", g.commits);
    assert_eq!(g.commits[1].partitions.len(), 2, "both partitions are still the member's");
}

#[tokio::test]
async fn a_fenced_member_gets_a_typed_error_never_success() {
    let script = Script { always: Some(ErrorCode::UNKNOWN_MEMBER_ID), ..Script::default() };
    let (broker, _group) = coordinator(script).await;
    let mut consumer = member(&broker, &[]).await;
    poll_until(&mut consumer, &broker, "first SyncGroup", syncs(1)).await;
    let e = consumer.commit_offsets(offsets(&[0], 3)).await.expect_err("a fenced commit fails");
    assert!(matches!(e.kind(), ErrorKind::Broker(c) if *c == ErrorCode::UNKNOWN_MEMBER_ID), "{e}");
    let e = consumer.commit_offsets(offsets(&[0], 3)).await.expect_err("and again");
    assert_eq!(e.code(), Some(ErrorCode::UNKNOWN_MEMBER_ID));
}

#[tokio::test]
async fn close_reports_an_automatic_commit_that_failed() {
    let script = Script { always: Some(ErrorCode::UNKNOWN_MEMBER_ID), ..Script::default() };
    let (broker, _group) = coordinator(script).await;
    let mut consumer = member(&broker, &[("enable.auto.commit", "true")]).await;
    poll_until(&mut consumer, &broker, "first SyncGroup", syncs(1)).await;
    consumer.seek(&TopicPartition::new("t", 0), 4).unwrap();
    let e = consumer.close().await.expect_err("close reports the failed commit");
    assert_eq!(e.code(), Some(ErrorCode::UNKNOWN_MEMBER_ID), "{e}");
    assert!(!broker.received_api(ApiKey::LEAVE_GROUP).is_empty(), "the member left the group all the same");
}

#[tokio::test]
async fn close_during_a_rebalance_commits_with_the_next_generation_and_leaves() {
    let (broker, group) = coordinator(Script::default()).await;
    let mut consumer = member(&broker, &[("enable.auto.commit", "true")]).await;
    poll_until(&mut consumer, &broker, "second SyncGroup", syncs(2)).await;
    consumer.seek(&TopicPartition::new("t", 1), 11).unwrap();
    consumer.close().await.expect("the close commits in generation 2");
    let g = group.lock().unwrap();
    let ok: Vec<&Commit> = g.commits.iter().filter(|c| c.answer == ErrorCode::NONE).collect();
    assert!(ok.iter().any(|c| c.generation == 2 && c.partitions.contains(&1)), "{:?}", g.commits);
    assert!(g.commits.iter().all(|c| c.generation >= 1), "never as an outsider: {:?}", g.commits);
    assert!(!broker.received_api(ApiKey::LEAVE_GROUP).is_empty(), "left the group");
}

#[tokio::test]
async fn a_commit_before_the_first_generation_waits_for_it() {
    let (broker, group) = coordinator(Script::default()).await;
    let mut consumer = member(&broker, &[]).await;
    // No poll yet: the driver is joining in the background.
    consumer.commit_offsets(offsets(&[0], 2)).await.expect("committed in generation 1");
    let commits = group.lock().unwrap().commits.clone();
    assert_eq!(commits.len(), 1, "{commits:?}");
    assert_eq!((commits[0].generation, commits[0].answer), (1, ErrorCode::NONE));
}
