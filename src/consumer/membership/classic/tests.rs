use bytes::Bytes;
use kafkar_protocol::messages::Message;
use kafkar_protocol::messages::consumer_protocol::{ConsumerProtocolAssignment, ConsumerProtocolSubscription};
use kafkar_protocol::messages::join_group::JoinGroupResponseMember;
use kafkar_protocol::messages::leave_group::MemberResponse;

use super::*;
use crate::consumer::assignor::{assignors_from_config, from_wire_partitions, to_wire_partitions};
use crate::consumer::membership::test_actions::*;

const V: ClassicApiVersions = ClassicApiVersions::LATEST;
const HB: Duration = Duration::from_secs(1);
const SESSION: Duration = Duration::from_secs(10);
const MAX_POLL: Duration = Duration::from_secs(60);
const BACKOFF: Duration = Duration::from_millis(100);

fn tp(topic: &str, p: i32) -> TopicPartition {
    TopicPartition::new(topic, p)
}

fn tps(topic: &str, ps: &[i32]) -> Vec<TopicPartition> {
    ps.iter().map(|&p| tp(topic, p)).collect()
}

fn config() -> GroupConfig {
    let mut c = GroupConfig::new("g");
    c.session_timeout = SESSION;
    c.heartbeat_interval = HB;
    c.max_poll_interval = MAX_POLL;
    c.retry_backoff = BACKOFF;
    c.retry_backoff_max = Duration::from_secs(1);
    c
}

fn no_metadata(_: &str) -> Option<i32> {
    None
}

/// A member and a clock.
struct H {
    m: ClassicMembership,
    now: Instant,
}

impl H {
    fn new(config: GroupConfig, assignors: &str) -> H {
        let now = Instant::now();
        H { m: ClassicMembership::new(config, assignors_from_config(assignors).unwrap(), now).unwrap(), now }
    }

    fn at(&self, d: Duration) -> Instant {
        self.now + d
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    fn poll(&mut self) -> Vec<Action> {
        self.m.poll(self.now)
    }

    /// Subscribes to `topics` and finds the coordinator; returns the JoinGroup that follows.
    fn start(&mut self, topics: &[&str]) -> JoinGroupRequest {
        let a = self.m.subscribe(self.now, topics.iter().map(|s| (*s).to_owned()));
        assert_eq!(kinds(&a), ["FindCoordinator"]);
        let a = self.m.coordinator_found(self.now, V);
        join_of(&a)
    }

    fn join(&mut self, r: &JoinGroupResponse) -> Vec<Action> {
        self.m.handle_join_group_response(self.now, r, &no_metadata)
    }

    fn join_with(&mut self, r: &JoinGroupResponse, metadata: &dyn PartitionCounts) -> Vec<Action> {
        self.m.handle_join_group_response(self.now, r, metadata)
    }

    fn sync(&mut self, r: &SyncGroupResponse) -> Vec<Action> {
        self.m.handle_sync_group_response(self.now, r)
    }

    fn heartbeat(&mut self, code: ErrorCode) -> Vec<Action> {
        self.m.handle_heartbeat_response(self.now, &HeartbeatResponse { error_code: code, ..Default::default() })
    }

    /// Joins as a follower of generation `generation` and receives `partitions`.
    fn stable_follower(&mut self, topics: &[&str], generation: i32, partitions: &[TopicPartition]) {
        self.start(topics);
        let a = self.join(&join_ok(generation, "m-1", "leader", "range", vec![]));
        assert_eq!(kinds(&a), ["SyncGroup"]);
        let a = self.sync(&sync_ok(partitions));
        assert_eq!(assigned_of(&a), partitions);
        assert_eq!(self.m.state(), ClassicState::Stable);
    }
}

fn join_of(actions: &[Action]) -> JoinGroupRequest {
    let found = actions.iter().find_map(|a| match a {
        Action::SendJoinGroup { request, version, timeout } => {
            assert_eq!(*version, V.join_group);
            assert!(*timeout >= Duration::from_secs(30), "at least request.timeout.ms");
            request.to_bytes(*version).unwrap();
            Some(request.clone())
        }
        _ => None,
    });
    found.unwrap_or_else(|| panic!("no JoinGroup in {:?}", kinds(actions)))
}

fn sync_of(actions: &[Action]) -> SyncGroupRequest {
    let found = actions.iter().find_map(|a| match a {
        Action::SendSyncGroup { request, version } => {
            request.to_bytes(*version).unwrap();
            Some(request.clone())
        }
        _ => None,
    });
    found.unwrap_or_else(|| panic!("no SyncGroup in {:?}", kinds(actions)))
}

fn heartbeat_of(actions: &[Action]) -> HeartbeatRequest {
    let found = actions.iter().find_map(|a| match a {
        Action::SendHeartbeat { request, version } => {
            request.to_bytes(*version).unwrap();
            Some(request.clone())
        }
        _ => None,
    });
    found.unwrap_or_else(|| panic!("no Heartbeat in {:?}", kinds(actions)))
}

fn leave_of(actions: &[Action]) -> (LeaveGroupRequest, i16) {
    let found = actions.iter().find_map(|a| match a {
        Action::SendLeaveGroup { request, version } => {
            request.to_bytes(*version).unwrap();
            Some((request.clone(), *version))
        }
        _ => None,
    });
    found.unwrap_or_else(|| panic!("no LeaveGroup in {:?}", kinds(actions)))
}

fn subscription_of(join: &JoinGroupRequest, protocol: usize) -> ConsumerProtocolSubscription {
    ConsumerProtocolSubscription::decode_versioned(join.protocols[protocol].metadata.clone()).unwrap().0
}

fn join_ok(
    generation: i32,
    member_id: &str,
    leader: &str,
    protocol: &str,
    members: Vec<JoinGroupResponseMember>,
) -> JoinGroupResponse {
    JoinGroupResponse {
        generation_id: generation,
        protocol_type: Some("consumer".into()),
        protocol_name: Some(protocol.into()),
        leader: leader.into(),
        member_id: member_id.into(),
        members,
        ..Default::default()
    }
}

fn join_err(code: ErrorCode) -> JoinGroupResponse {
    JoinGroupResponse { error_code: code, ..Default::default() }
}

fn sync_ok(partitions: &[TopicPartition]) -> SyncGroupResponse {
    let a = ConsumerProtocolAssignment { assigned_partitions: to_wire_partitions(partitions), user_data: None };
    SyncGroupResponse {
        protocol_type: Some("consumer".into()),
        protocol_name: None,
        assignment: a.encode_versioned(3).unwrap().freeze(),
        ..Default::default()
    }
}

fn sync_err(code: ErrorCode) -> SyncGroupResponse {
    SyncGroupResponse { error_code: code, ..Default::default() }
}

fn member_meta(id: &str, topics: &[&str], owned: &[TopicPartition], generation: i32) -> JoinGroupResponseMember {
    let sub = ConsumerProtocolSubscription {
        topics: topics.iter().map(|s| (*s).to_owned()).collect(),
        owned_partitions: to_wire_partitions(owned),
        generation_id: generation,
        ..Default::default()
    };
    JoinGroupResponseMember {
        member_id: id.into(),
        metadata: sub.encode_versioned(3).unwrap().freeze(),
        ..Default::default()
    }
}

fn decode_sync_assignments(sync: &SyncGroupRequest) -> BTreeMap<String, Vec<TopicPartition>> {
    sync.assignments
        .iter()
        .map(|a| {
            let (decoded, _) = ConsumerProtocolAssignment::decode_versioned(a.assignment.clone()).unwrap();
            (a.member_id.clone(), from_wire_partitions(&decoded.assigned_partitions))
        })
        .collect()
}

// ---- joining ----

#[test]
fn first_join_round_trips_the_member_id_then_syncs_as_follower() {
    let mut h = H::new(config(), "range,cooperative-sticky");
    assert_eq!(h.m.state(), ClassicState::Unjoined);
    assert!(h.poll().is_empty(), "nothing to do before subscribing");
    assert_eq!(h.m.next_timeout(h.now), None);
    let join = h.start(&["t"]);
    assert_eq!(h.m.state(), ClassicState::Joining);
    assert_eq!(join.group_id, "g");
    assert_eq!(join.member_id, "");
    assert_eq!(join.protocol_type, "consumer");
    assert_eq!(join.session_timeout_ms, 10_000);
    assert_eq!(join.rebalance_timeout_ms, 60_000);
    assert_eq!(join.group_instance_id, None);
    assert_eq!(join.protocols.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["range", "cooperative-sticky"]);
    let sub = subscription_of(&join, 0);
    assert_eq!(sub.topics, ["t"]);
    assert_eq!(sub.generation_id, -1);

    // KIP-394: the coordinator hands out the member id and asks for a second join, sent at once.
    let a = h.join(&JoinGroupResponse {
        error_code: ErrorCode::MEMBER_ID_REQUIRED,
        member_id: "m-1".into(),
        ..Default::default()
    });
    assert_eq!(kinds(&a), ["JoinGroup"]);
    assert_eq!(join_of(&a).member_id, "m-1");
    assert_eq!(h.m.member_id(), "m-1");

    let a = h.join(&join_ok(3, "m-1", "m-0", "range", vec![]));
    assert_eq!(kinds(&a), ["SyncGroup"]);
    let sync = sync_of(&a);
    assert_eq!((sync.generation_id, sync.member_id.as_str()), (3, "m-1"));
    assert!(sync.assignments.is_empty(), "followers send no assignments");
    assert_eq!(sync.protocol_type.as_deref(), Some("consumer"));
    assert_eq!(sync.protocol_name.as_deref(), Some("range"));
    assert_eq!(h.m.state(), ClassicState::AwaitingSync);
    assert!(!h.m.is_leader());

    let a = h.sync(&sync_ok(&tps("t", &[0, 1])));
    assert_eq!(kinds(&a), ["Assigned"]);
    assert_eq!(assigned_of(&a), tps("t", &[0, 1]));
    assert_eq!(h.m.state(), ClassicState::Stable);
    assert_eq!(h.m.assignment(), tps("t", &[0, 1]));
    assert_eq!(h.m.generation_if_stable(), Some((3, "m-1")));
    assert_eq!(h.m.protocol_name(), Some("range"));
    assert!(!h.m.rejoin_needed());
}

#[test]
fn leader_runs_the_range_assignor_for_every_member() {
    let mut h = H::new(config(), "range");
    h.start(&["t", "u"]);
    let members = vec![member_meta("m-1", &["t", "u"], &[], -1), member_meta("m-2", &["t"], &[], -1)];
    let metadata: BTreeMap<String, i32> = [("t".to_owned(), 3), ("u".to_owned(), 2)].into();
    let a = h.join_with(&join_ok(1, "m-1", "m-1", "range", members), &metadata);
    assert!(h.m.is_leader());
    let sync = sync_of(&a);
    let assignments = decode_sync_assignments(&sync);
    assert_eq!(assignments["m-1"], [tps("t", &[0, 1]), tps("u", &[0, 1])].concat());
    assert_eq!(assignments["m-2"], tps("t", &[2]));
    assert_eq!(h.m.group_subscription().iter().collect::<Vec<_>>(), ["t", "u"]);
}

#[test]
fn leader_told_to_skip_assignment_sends_none() {
    let mut h = H::new(config(), "range");
    h.start(&["t"]);
    let mut r = join_ok(1, "m-1", "m-1", "range", vec![member_meta("m-1", &["t"], &[], -1)]);
    r.skip_assignment = true;
    let sync = sync_of(&h.join(&r));
    assert!(sync.assignments.is_empty());
}

#[test]
fn join_selecting_an_unknown_assignor_or_protocol_type_is_fatal() {
    let mut h = H::new(config(), "range");
    h.start(&["t"]);
    let a = h.join(&join_ok(1, "m-1", "x", "roundrobin", vec![]));
    assert!(fatal_of(&a).to_string().contains("roundrobin"));
    assert_eq!(h.m.state(), ClassicState::Fatal);
    assert!(h.poll().is_empty());
    assert_eq!(h.m.next_timeout(h.now), None);

    let mut h = H::new(config(), "range");
    h.start(&["t"]);
    let mut r = join_ok(1, "m-1", "x", "range", vec![]);
    r.protocol_type = Some("connect".into());
    let a = h.join(&r);
    assert_eq!(fatal_of(&a).code(), Some(ErrorCode::INCONSISTENT_GROUP_PROTOCOL));
}

#[test]
fn join_errors_that_stop_the_member() {
    for code in [
        ErrorCode::INCONSISTENT_GROUP_PROTOCOL,
        ErrorCode::INVALID_SESSION_TIMEOUT,
        ErrorCode::INVALID_GROUP_ID,
        ErrorCode::GROUP_AUTHORIZATION_FAILED,
        ErrorCode::GROUP_MAX_SIZE_REACHED,
        ErrorCode::FENCED_INSTANCE_ID,
        ErrorCode::UNSUPPORTED_VERSION,
        ErrorCode::ILLEGAL_GENERATION,
        ErrorCode(9999),
    ] {
        let mut h = H::new(config(), "range");
        h.start(&["t"]);
        let a = h.join(&join_err(code));
        assert_eq!(kinds(&a), ["Fatal"], "{code}");
        assert_eq!(fatal_of(&a).code(), Some(code));
        assert_eq!(h.m.state(), ClassicState::Fatal, "{code}");
    }
}

#[test]
fn join_errors_that_retry() {
    // (code, actions at once, whether the coordinator must be found again)
    let table = [
        (ErrorCode::REBALANCE_IN_PROGRESS, vec!["JoinGroup"], false),
        (ErrorCode::UNKNOWN_MEMBER_ID, vec!["JoinGroup"], false),
        (ErrorCode::COORDINATOR_LOAD_IN_PROGRESS, vec![], false),
        (ErrorCode::NOT_COORDINATOR, vec!["FindCoordinator"], true),
        (ErrorCode::COORDINATOR_NOT_AVAILABLE, vec!["FindCoordinator"], true),
    ];
    for (code, at_once, rediscover) in table {
        let mut h = H::new(config(), "range");
        h.start(&["t"]);
        let a = h.join(&join_err(code));
        assert_eq!(kinds(&a), at_once, "{code}");
        assert_eq!(h.m.state(), if at_once == ["JoinGroup"] { ClassicState::Joining } else { ClassicState::Unjoined });
        if at_once.is_empty() || rediscover {
            if rediscover {
                assert!(kinds(&h.m.coordinator_found(h.now, V)).is_empty(), "{code}: join waits for the backoff");
            }
            assert_eq!(h.m.next_timeout(h.now), Some(h.at(BACKOFF)), "{code}");
            h.advance(BACKOFF - Duration::from_millis(1));
            assert!(h.poll().is_empty());
            h.advance(Duration::from_millis(1));
            assert_eq!(kinds(&h.poll()), ["JoinGroup"], "{code}");
        }
    }
}

#[test]
fn unknown_member_id_on_join_resets_the_member_id() {
    let mut h = H::new(config(), "range");
    h.start(&["t"]);
    h.join(&JoinGroupResponse {
        error_code: ErrorCode::MEMBER_ID_REQUIRED,
        member_id: "m-1".into(),
        ..Default::default()
    });
    let a = h.join(&join_err(ErrorCode::UNKNOWN_MEMBER_ID));
    assert_eq!(join_of(&a).member_id, "");
}

#[test]
fn responses_in_the_wrong_state_are_ignored() {
    let mut h = H::new(config(), "range");
    h.stable_follower(&["t"], 1, &tps("t", &[0]));
    assert!(h.join(&join_ok(9, "m-1", "m-1", "range", vec![])).is_empty());
    assert!(h.sync(&sync_ok(&[])).is_empty());
    assert!(h.heartbeat(ErrorCode::NONE).is_empty(), "no heartbeat outstanding");
    assert_eq!(h.m.generation_id(), 1);
    assert_eq!(h.m.assignment(), tps("t", &[0]));
}

// ---- syncing ----

#[test]
fn sync_errors() {
    // (code, expected actions, member id kept for the rejoin)
    let table: [(ErrorCode, &[&str], Option<&str>); 5] = [
        (ErrorCode::REBALANCE_IN_PROGRESS, &["JoinGroup"], Some("m-1")),
        (ErrorCode::UNKNOWN_MEMBER_ID, &["JoinGroup"], Some("")),
        (ErrorCode::ILLEGAL_GENERATION, &["JoinGroup"], Some("m-1")),
        (ErrorCode::NOT_COORDINATOR, &["FindCoordinator"], None),
        (ErrorCode::COORDINATOR_NOT_AVAILABLE, &["FindCoordinator"], None),
    ];
    for (code, expected, member_id) in table {
        let mut h = H::new(config(), "range");
        h.start(&["t"]);
        h.join(&join_ok(1, "m-1", "x", "range", vec![]));
        let a = h.sync(&sync_err(code));
        assert_eq!(kinds(&a), expected, "{code}");
        if let Some(id) = member_id {
            assert_eq!(join_of(&a).member_id, id, "{code}");
        }
    }
    for code in [ErrorCode::FENCED_INSTANCE_ID, ErrorCode::GROUP_AUTHORIZATION_FAILED, ErrorCode(4242)] {
        let mut h = H::new(config(), "range");
        h.start(&["t"]);
        h.join(&join_ok(1, "m-1", "x", "range", vec![]));
        let a = h.sync(&sync_err(code));
        assert_eq!(kinds(&a), ["Fatal"], "{code}");
    }
}

#[test]
fn sync_with_other_protocol_name_or_garbage_assignment_is_fatal() {
    let mut h = H::new(config(), "range");
    h.start(&["t"]);
    h.join(&join_ok(1, "m-1", "x", "range", vec![]));
    let mut r = sync_ok(&[]);
    r.protocol_name = Some("roundrobin".into());
    assert_eq!(fatal_of(&h.sync(&r)).code(), Some(ErrorCode::INCONSISTENT_GROUP_PROTOCOL));

    let mut h = H::new(config(), "range");
    h.start(&["t"]);
    h.join(&join_ok(1, "m-1", "x", "range", vec![]));
    let r = SyncGroupResponse { assignment: Bytes::from_static(&[0, 1, 0]), ..Default::default() };
    assert!(matches!(fatal_of(&h.sync(&r)).kind(), ErrorKind::Decode(_)));
}

#[test]
fn assignment_of_unsubscribed_topic_triggers_a_rejoin() {
    let mut h = H::new(config(), "range");
    h.start(&["t"]);
    h.join(&join_ok(1, "m-1", "x", "range", vec![]));
    let a = h.sync(&sync_ok(&[tp("t", 0), tp("other", 0)]));
    assert_eq!(kinds(&a), ["Assigned", "Commit", "Revoked"], "eager: the rejoin revokes everything first");
    assert!(h.m.rejoin_needed());
}

// ---- heartbeats and timers ----

#[test]
fn heartbeats_follow_the_interval_one_at_a_time() {
    let mut h = H::new(config(), "range");
    h.stable_follower(&["t"], 2, &tps("t", &[0]));
    let joined_at = h.now;
    assert_eq!(h.m.next_timeout(h.now), Some(joined_at + HB));
    h.advance(HB - Duration::from_millis(1));
    assert!(h.poll().is_empty());
    h.advance(Duration::from_millis(1));
    let hb = heartbeat_of(&h.poll());
    assert_eq!((hb.group_id.as_str(), hb.generation_id, hb.member_id.as_str()), ("g", 2, "m-1"));
    assert_eq!(hb.group_instance_id, None);
    // In flight: no second heartbeat, and the next deadline is the session timeout (from the sync).
    h.advance(HB * 2);
    assert!(h.poll().is_empty());
    assert_eq!(h.m.next_timeout(h.now), Some(joined_at + SESSION));
    // The reply came late: the next heartbeat was due already, so it goes out at once.
    assert_eq!(kinds(&h.heartbeat(ErrorCode::NONE)), ["Heartbeat"]);
    assert!(h.heartbeat(ErrorCode::NONE).is_empty());
    assert_eq!(h.m.next_timeout(h.now), Some(h.at(HB)));
}

#[test]
fn session_timeout_without_heartbeat_replies_loses_partitions() {
    let mut h = H::new(config(), "range");
    h.stable_follower(&["t"], 2, &tps("t", &[0, 1]));
    let start = h.now;
    h.advance(HB);
    assert_eq!(kinds(&h.poll()), ["Heartbeat"]);
    // No reply ever comes.
    h.now = start + SESSION - Duration::from_millis(1);
    assert!(h.poll().is_empty());
    h.now = start + SESSION;
    let a = h.poll();
    assert_eq!(kinds(&a), ["Lost", "FindCoordinator"]);
    assert_eq!(lost_of(&a), tps("t", &[0, 1]));
    assert_eq!(h.m.state(), ClassicState::Unjoined);
    assert_eq!(h.m.generation_id(), -1);
    assert!(h.m.assignment().is_empty());
    // The member id is kept for the rejoin.
    let join = join_of(&h.m.coordinator_found(h.now, V));
    assert_eq!(join.member_id, "m-1");
    assert!(subscription_of(&join, 0).owned_partitions.is_empty());
}

/// The coordinator's broker is down for longer than the session (a SIGKILLed broker stays named by FindCoordinator
/// until the controller fences it): no coordinator is reachable, and the member keeps its generation and
/// partitions for the coordinator that takes the group over. That one knows both (it loaded them from its log);
/// one that does not says so, and the partitions are lost then.
#[test]
fn a_session_without_a_reachable_coordinator_keeps_the_generation_and_the_partitions() {
    let mut h = H::new(config(), "range");
    h.stable_follower(&["t"], 2, &tps("t", &[0, 1]));
    let start = h.now;
    h.advance(HB);
    heartbeat_of(&h.poll());
    let down = Error::broker(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    assert_eq!(kinds(&h.m.handle_request_failure(h.now, GroupRequest::Heartbeat, &down)), ["FindCoordinator"]);
    // Every lookup fails for more than a session.
    while h.now < start + SESSION * 2 {
        let a = h.m.coordinator_lookup_failed(h.now, &down);
        assert!(!kinds(&a).contains(&"Lost"), "{:?}", kinds(&a));
        h.now = h.m.next_timeout(h.now).expect("the next lookup");
        assert_eq!(kinds(&h.poll()), ["FindCoordinator"]);
    }
    assert_eq!((h.m.state(), h.m.generation_id()), (ClassicState::Stable, 2));
    assert_eq!(h.m.assignment(), tps("t", &[0, 1]));
    assert_eq!(h.m.commit_generation(), Some((2, "m-1")), "commits go on with the generation");
    // The new coordinator gets a heartbeat of the same generation, not a JoinGroup.
    let hb = heartbeat_of(&h.m.coordinator_found(h.now, V));
    assert_eq!((hb.generation_id, hb.member_id.as_str()), (2, "m-1"));
    assert!(h.heartbeat(ErrorCode::NONE).is_empty());
    assert_eq!((h.m.state(), h.m.assignment()), (ClassicState::Stable, tps("t", &[0, 1])));

    // Another outage, and a coordinator that no longer knows the member: the partitions are lost then.
    h.advance(HB);
    heartbeat_of(&h.poll());
    h.m.handle_request_failure(h.now, GroupRequest::Heartbeat, &down);
    h.advance(SESSION);
    h.m.coordinator_lookup_failed(h.now, &down);
    heartbeat_of(&h.m.coordinator_found(h.now, V));
    let a = h.heartbeat(ErrorCode::UNKNOWN_MEMBER_ID);
    assert_eq!(lost_of(&a), tps("t", &[0, 1]));
    assert!(h.m.assignment().is_empty());
}

#[test]
fn heartbeat_replies_keep_the_session_alive() {
    let mut h = H::new(config(), "range");
    h.stable_follower(&["t"], 2, &tps("t", &[0]));
    for _ in 0..30 {
        h.advance(HB);
        assert_eq!(kinds(&h.poll()), ["Heartbeat"]);
        assert!(h.heartbeat(ErrorCode::NONE).is_empty());
        h.m.application_poll(h.now);
    }
    assert_eq!(h.m.state(), ClassicState::Stable);
}

#[test]
fn poll_timeout_leaves_the_group_and_rejoins_on_the_next_application_poll() {
    let mut c = config();
    c.max_poll_interval = Duration::from_secs(5);
    let mut h = H::new(c, "range");
    h.stable_follower(&["t"], 2, &tps("t", &[0]));
    let start = h.now;
    for _ in 0..4 {
        h.advance(HB);
        h.poll();
        h.heartbeat(ErrorCode::NONE);
    }
    assert_eq!(h.m.next_timeout(h.now), Some(h.at(HB)));
    h.now = start + Duration::from_secs(5);
    let a = h.poll();
    assert_eq!(kinds(&a), ["LeaveGroup", "Lost"]);
    let (leave, version) = leave_of(&a);
    assert_eq!(version, 5);
    assert_eq!(leave.members[0].member_id, "m-1");
    assert_eq!(leave.members[0].reason.as_deref(), Some("consumer poll timeout has expired"));
    assert_eq!(h.m.state(), ClassicState::Unjoined);
    // No rejoin and no timers until the application polls.
    h.advance(Duration::from_secs(30));
    assert!(h.poll().is_empty());
    assert_eq!(h.m.next_timeout(h.now), None);
    let a = h.m.application_poll(h.now);
    assert_eq!(join_of(&a).member_id, "", "the member id was given up with the LeaveGroup");
}

#[test]
fn rebalance_in_progress_revokes_everything_before_rejoining_eagerly() {
    let mut h = H::new(config(), "range");
    h.stable_follower(&["t"], 1, &tps("t", &[0, 1]));
    h.advance(HB);
    h.poll();
    let a = h.heartbeat(ErrorCode::REBALANCE_IN_PROGRESS);
    assert_eq!(kinds(&a), ["Commit", "Revoked"]);
    assert_eq!(revoked_of(&a), tps("t", &[0, 1]));
    assert!(h.m.assignment().is_empty());
    assert_eq!(h.m.next_timeout(h.now), Some(h.at(HB)), "waiting for the revocation; heartbeats go on");
    h.advance(HB);
    assert_eq!(kinds(&h.poll()), ["Heartbeat"]);
    let a = h.m.revocation_complete(h.now);
    let join = join_of(&a);
    assert_eq!(join.member_id, "m-1");
    assert_eq!(join.reason.as_deref(), Some("group is already rebalancing"));
    let sub = subscription_of(&join, 0);
    assert!(sub.owned_partitions.is_empty());
    assert_eq!(sub.generation_id, 1);
    // The heartbeat still outstanding from before the rejoin is ignored.
    assert!(h.heartbeat(ErrorCode::REBALANCE_IN_PROGRESS).is_empty());
    h.join(&join_ok(2, "m-1", "x", "range", vec![]));
    let a = h.sync(&sync_ok(&tps("t", &[1, 2])));
    assert_eq!(assigned_of(&a), tps("t", &[1, 2]));
    assert_eq!(h.m.generation_id(), 2);
}

#[test]
fn without_auto_commit_no_commit_precedes_revocation() {
    let mut c = config();
    c.auto_commit = false;
    let mut h = H::new(c, "range");
    h.stable_follower(&["t"], 1, &tps("t", &[0]));
    h.advance(HB);
    h.poll();
    assert_eq!(kinds(&h.heartbeat(ErrorCode::REBALANCE_IN_PROGRESS)), ["Revoked"]);
}

#[test]
fn cooperative_rebalance_keeps_partitions_and_revokes_only_what_moves() {
    let mut h = H::new(config(), "cooperative-sticky");
    assert_eq!(h.m.rebalance_protocol(), RebalanceProtocol::Cooperative);
    h.start(&["t"]);
    h.join(&join_ok(1, "m-1", "x", "cooperative-sticky", vec![]));
    h.sync(&sync_ok(&tps("t", &[0, 1, 2])));
    h.advance(HB);
    h.poll();
    // No revocation before the rejoin: the JoinGroup goes out at once and lists what the member owns.
    let a = h.heartbeat(ErrorCode::REBALANCE_IN_PROGRESS);
    let join = join_of(&a);
    assert_eq!(kinds(&a), ["JoinGroup"]);
    let sub = subscription_of(&join, 0);
    assert_eq!(from_wire_partitions(&sub.owned_partitions), tps("t", &[0, 1, 2]));
    assert_eq!(sub.user_data, Some(Bytes::from_static(&[0, 0, 0, 1])), "cooperative-sticky user data: generation");
    h.join(&join_ok(2, "m-1", "x", "cooperative-sticky", vec![]));
    // t-2 moves elsewhere: revoked now, and a second rebalance follows once the revocation is done.
    let a = h.sync(&sync_ok(&tps("t", &[0, 1])));
    assert_eq!(kinds(&a), ["Commit", "Revoked", "Assigned"]);
    assert_eq!(revoked_of(&a), tps("t", &[2]));
    assert_eq!(assigned_of(&a), vec![]);
    assert!(h.m.rejoin_needed());
    assert!(h.poll().is_empty());
    let join = join_of(&h.m.revocation_complete(h.now));
    assert_eq!(from_wire_partitions(&subscription_of(&join, 0).owned_partitions), tps("t", &[0, 1]));
    assert_eq!(join.reason.as_deref(), Some("need to revoke partitions and re-join"));
}

#[test]
fn cooperative_member_revokes_unsubscribed_topics_before_rejoining() {
    let mut h = H::new(config(), "cooperative-sticky");
    h.start(&["t", "u"]);
    h.join(&join_ok(1, "m-1", "x", "cooperative-sticky", vec![]));
    h.sync(&sync_ok(&[tp("t", 0), tp("u", 0)]));
    let a = h.m.subscribe(h.now, ["t".to_owned()]);
    assert_eq!(kinds(&a), ["Commit", "Revoked"]);
    assert_eq!(revoked_of(&a), vec![tp("u", 0)]);
    let join = join_of(&h.m.revocation_complete(h.now));
    assert_eq!(join.reason.as_deref(), Some("subscription changed"));
    assert_eq!(subscription_of(&join, 0).topics, ["t"]);
}

#[test]
fn heartbeat_errors_reset_the_generation_and_lose_partitions() {
    // (code, member id of the rejoin)
    for (code, member_id) in [(ErrorCode::UNKNOWN_MEMBER_ID, ""), (ErrorCode::ILLEGAL_GENERATION, "m-1")] {
        let mut h = H::new(config(), "range");
        h.stable_follower(&["t"], 4, &tps("t", &[0, 3]));
        h.advance(HB);
        h.poll();
        let a = h.heartbeat(code);
        assert_eq!(kinds(&a), ["Lost", "JoinGroup"], "{code}");
        assert_eq!(lost_of(&a), tps("t", &[0, 3]));
        let join = join_of(&a);
        assert_eq!(join.member_id, member_id, "{code}");
        assert_eq!(subscription_of(&join, 0).generation_id, -1);
        assert_eq!(h.m.generation_id(), -1);
    }
}

#[test]
fn heartbeat_coordinator_errors_rediscover_and_back_off() {
    for code in [ErrorCode::NOT_COORDINATOR, ErrorCode::COORDINATOR_NOT_AVAILABLE] {
        let mut h = H::new(config(), "range");
        h.stable_follower(&["t"], 1, &tps("t", &[0]));
        h.advance(HB);
        h.poll();
        assert_eq!(kinds(&h.heartbeat(code)), ["FindCoordinator"], "{code}");
        assert!(h.m.coordinator_found(h.now, V).is_empty(), "heartbeat waits for the backoff");
        h.advance(BACKOFF);
        assert_eq!(kinds(&h.poll()), ["Heartbeat"]);
        assert_eq!(h.m.assignment(), tps("t", &[0]), "partitions are kept");
    }
}

#[test]
fn unexpected_heartbeat_error_backs_off_and_group_authorization_is_fatal() {
    let mut h = H::new(config(), "range");
    h.stable_follower(&["t"], 1, &tps("t", &[0]));
    h.advance(HB);
    h.poll();
    assert!(h.heartbeat(ErrorCode(4242)).is_empty());
    assert_eq!(h.m.next_timeout(h.now), Some(h.at(BACKOFF)));
    h.advance(BACKOFF);
    h.poll();
    assert!(h.heartbeat(ErrorCode(4242)).is_empty());
    assert_eq!(h.m.next_timeout(h.now), Some(h.at(BACKOFF * 2)), "exponential backoff");
    h.advance(BACKOFF * 2);
    h.poll();
    let a = h.heartbeat(ErrorCode::GROUP_AUTHORIZATION_FAILED);
    assert_eq!(kinds(&a), ["Lost", "Fatal"]);
}

#[test]
fn request_failures() {
    let timeout = Error::new(ErrorKind::Timeout);
    // A JoinGroup that timed out: rediscover, then rejoin after the backoff.
    let mut h = H::new(config(), "range");
    h.start(&["t"]);
    assert_eq!(kinds(&h.m.handle_request_failure(h.now, GroupRequest::JoinGroup, &timeout)), ["FindCoordinator"]);
    assert!(h.m.coordinator_found(h.now, V).is_empty());
    h.advance(BACKOFF);
    assert_eq!(kinds(&h.poll()), ["JoinGroup"]);
    // A SyncGroup that failed: the same.
    h.join(&join_ok(1, "m-1", "x", "range", vec![]));
    assert_eq!(kinds(&h.m.handle_request_failure(h.now, GroupRequest::SyncGroup, &timeout)), ["FindCoordinator"]);
    assert_eq!(h.m.state(), ClassicState::Unjoined);
    // A heartbeat that failed keeps the member in the group.
    let mut h = H::new(config(), "range");
    h.stable_follower(&["t"], 1, &tps("t", &[0]));
    h.advance(HB);
    h.poll();
    assert_eq!(kinds(&h.m.handle_request_failure(h.now, GroupRequest::Heartbeat, &timeout)), ["FindCoordinator"]);
    assert!(h.m.coordinator_found(h.now, V).is_empty());
    h.advance(BACKOFF);
    assert_eq!(kinds(&h.poll()), ["Heartbeat"]);
    assert_eq!(h.m.state(), ClassicState::Stable);
    // Failures that cannot be retried stop the member.
    let a = h.m.handle_request_failure(h.now, GroupRequest::Heartbeat, &Error::config("bad"));
    assert_eq!(kinds(&a), ["Lost", "Fatal"]);
    assert_eq!(fatal_of(&a).context().api, Some(ApiKey::HEARTBEAT));
}

#[test]
fn coordinator_lookup_failures_back_off_or_stop() {
    let mut h = H::new(config(), "range");
    assert_eq!(kinds(&h.m.subscribe(h.now, ["t".to_owned()])), ["FindCoordinator"]);
    assert!(h.poll().is_empty(), "one lookup at a time");
    let unavailable = Error::broker(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    assert!(h.m.coordinator_lookup_failed(h.now, &unavailable).is_empty());
    assert_eq!(h.m.next_timeout(h.now), Some(h.at(BACKOFF)));
    h.advance(BACKOFF);
    assert_eq!(kinds(&h.poll()), ["FindCoordinator"]);
    h.m.coordinator_lookup_failed(h.now, &unavailable);
    assert_eq!(h.m.next_timeout(h.now), Some(h.at(BACKOFF * 2)));
    h.advance(BACKOFF * 2);
    h.poll();
    let a = h.m.coordinator_lookup_failed(h.now, &Error::broker(ErrorCode::GROUP_AUTHORIZATION_FAILED));
    assert_eq!(fatal_of(&a).context().api, Some(ApiKey::FIND_COORDINATOR));
}

#[test]
fn leader_rejoins_when_metadata_of_the_group_subscription_changes() {
    let mut h = H::new(config(), "range");
    h.start(&["t"]);
    let members = vec![member_meta("m-1", &["t"], &[], -1), member_meta("m-2", &["t", "new"], &[], -1)];
    let before: BTreeMap<String, i32> = [("t".to_owned(), 4)].into();
    h.join_with(&join_ok(1, "m-1", "m-1", "range", members), &before);
    h.sync(&sync_ok(&tps("t", &[0, 1])));
    assert!(h.m.metadata_updated(h.now, &before).is_empty(), "unchanged metadata");
    // "new" appears in the metadata: the leader rebalances so that m-2 gets it.
    let after: BTreeMap<String, i32> = [("t".to_owned(), 4), ("new".to_owned(), 1)].into();
    let a = h.m.metadata_updated(h.now, &after);
    assert_eq!(kinds(&a), ["Commit", "Revoked"]);
    assert_eq!(join_of(&h.m.revocation_complete(h.now)).reason.as_deref(), Some("cached metadata has changed"));
}

#[test]
fn sticky_assignor_hears_of_its_assignment() {
    let mut h = H::new(config(), "sticky");
    h.start(&["t"]);
    h.join(&join_ok(5, "m-1", "x", "sticky", vec![]));
    h.sync(&sync_ok(&tps("t", &[1])));
    h.advance(HB);
    h.poll();
    h.heartbeat(ErrorCode::REBALANCE_IN_PROGRESS);
    let join = join_of(&h.m.revocation_complete(h.now));
    let data = subscription_of(&join, 0).user_data.unwrap();
    let decoded = crate::consumer::assignor::decode_sticky_user_data_for_tests(&data);
    assert_eq!(decoded, (tps("t", &[1]), Some(5)));
}

// ---- static membership ----

#[test]
fn static_member_sends_its_instance_id_and_never_leave_group() {
    let mut c = config();
    c.group_instance_id = Some("instance-7".into());
    c.max_poll_interval = Duration::from_secs(5);
    let mut h = H::new(c, "range");
    let join = h.start(&["t"]);
    assert_eq!(join.group_instance_id.as_deref(), Some("instance-7"));
    let sync = sync_of(&h.join(&join_ok(1, "m-1", "x", "range", vec![])));
    assert_eq!(sync.group_instance_id.as_deref(), Some("instance-7"));
    h.sync(&sync_ok(&tps("t", &[0])));
    h.advance(HB);
    assert_eq!(heartbeat_of(&h.poll()).group_instance_id.as_deref(), Some("instance-7"));
    h.heartbeat(ErrorCode::NONE);
    // Poll timeout: a static member does not send LeaveGroup.
    h.advance(Duration::from_secs(5));
    let a = h.poll();
    assert_eq!(kinds(&a), ["Lost"]);
    let join = join_of(&h.m.application_poll(h.now));
    assert_eq!(join.group_instance_id.as_deref(), Some("instance-7"));
    // Leaving (close): revoke, but no LeaveGroup.
    h.join(&join_ok(2, "m-2", "x", "range", vec![]));
    h.sync(&sync_ok(&tps("t", &[0])));
    assert_eq!(kinds(&h.m.leave(h.now)), ["Commit", "Revoked"]);
    assert!(h.m.revocation_complete(h.now).is_empty());
    assert_eq!(h.m.state(), ClassicState::Left);
}

#[test]
fn static_member_fenced_on_heartbeat_is_fatal() {
    let mut c = config();
    c.group_instance_id = Some("i".into());
    let mut h = H::new(c, "range");
    h.stable_follower(&["t"], 1, &tps("t", &[0]));
    h.advance(HB);
    h.poll();
    let a = h.heartbeat(ErrorCode::FENCED_INSTANCE_ID);
    assert_eq!(kinds(&a), ["Lost", "Fatal"]);
    assert_eq!(fatal_of(&a).code(), Some(ErrorCode::FENCED_INSTANCE_ID));
    assert_eq!(h.m.state(), ClassicState::Fatal);
}

#[test]
fn static_membership_needs_join_group_v5() {
    let mut c = config();
    c.group_instance_id = Some("i".into());
    let mut h = H::new(c, "range");
    h.m.subscribe(h.now, ["t".to_owned()]);
    let a = h.m.coordinator_found(h.now, ClassicApiVersions { join_group: 4, ..V });
    assert!(matches!(fatal_of(&a).kind(), ErrorKind::UnsupportedVersion { .. }));
}

// ---- versions ----

#[test]
fn requests_fit_every_negotiated_version() {
    for v in 0..=9i16 {
        let versions =
            ClassicApiVersions { join_group: v, sync_group: v.min(5), heartbeat: v.min(4), leave_group: v.min(5) };
        let mut h = H::new(config(), "range");
        h.m.subscribe(h.now, ["t".to_owned()]);
        let a = h.m.coordinator_found(h.now, versions);
        let Some(Action::SendJoinGroup { request, version, timeout }) = a.first() else {
            panic!("v{v}: {:?}", kinds(&a))
        };
        assert_eq!(*version, v);
        assert_eq!(*timeout, MAX_POLL + Duration::from_secs(5), "rebalance timeout plus the lapse");
        request.to_bytes(v).unwrap_or_else(|e| panic!("JoinGroup v{v}: {e}"));
        assert!(request.reason.is_none(), "no reason on the first join");
        let a = h.join(&join_ok(1, "m-1", "m-1", "range", vec![member_meta("m-1", &["t"], &[], -1)]));
        let Some(Action::SendSyncGroup { request, version }) = a.first() else { panic!("v{v}: {:?}", kinds(&a)) };
        request.to_bytes(*version).unwrap_or_else(|e| panic!("SyncGroup v{version}: {e}"));
        h.sync(&sync_ok(&tps("t", &[0])));
        h.advance(HB);
        let a = h.poll();
        let Some(Action::SendHeartbeat { request, version }) = a.first() else { panic!("v{v}: {:?}", kinds(&a)) };
        request.to_bytes(*version).unwrap_or_else(|e| panic!("Heartbeat v{version}: {e}"));
        h.heartbeat(ErrorCode::REBALANCE_IN_PROGRESS);
        let a = h.m.revocation_complete(h.now);
        let Some(Action::SendJoinGroup { request, version, .. }) = a.first() else { panic!("v{v}: {:?}", kinds(&a)) };
        request.to_bytes(*version).unwrap_or_else(|e| panic!("rejoin v{version}: {e}"));
        assert_eq!(request.reason.is_some(), v >= 8);
        h.join(&join_ok(2, "m-1", "x", "range", vec![]));
        h.sync(&sync_ok(&[]));
        let a = h.m.leave(h.now);
        let (leave, version) = leave_of(&a);
        if version >= 3 {
            assert_eq!(leave.members[0].member_id, "m-1");
        } else {
            assert_eq!(leave.member_id, "m-1");
        }
    }
}

// ---- leaving ----

#[test]
fn leave_revokes_then_sends_leave_group_and_can_rejoin() {
    let mut h = H::new(config(), "range");
    h.stable_follower(&["t"], 1, &tps("t", &[0, 1]));
    let a = h.m.leave(h.now);
    assert_eq!(kinds(&a), ["Commit", "Revoked"]);
    assert!(h.m.leave(h.now).is_empty(), "leaving twice does nothing");
    let a = h.m.revocation_complete(h.now);
    assert_eq!(kinds(&a), ["LeaveGroup"]);
    assert_eq!(h.m.state(), ClassicState::Left);
    assert_eq!(h.m.next_timeout(h.now), None);
    assert!(h.m.revocation_complete(h.now).is_empty());
    h.m.handle_leave_group_response(
        h.now,
        &LeaveGroupResponse {
            members: vec![MemberResponse {
                member_id: "m-1".into(),
                error_code: ErrorCode::UNKNOWN_MEMBER_ID,
                ..Default::default()
            }],
            ..Default::default()
        },
    );
    // Subscribing again joins from scratch.
    let a = h.m.subscribe(h.now, ["t".to_owned()]);
    assert_eq!(join_of(&a).member_id, "");
}

#[test]
fn leave_during_a_cooperative_revocation_revokes_the_rest_afterwards() {
    let mut h = H::new(config(), "cooperative-sticky");
    h.start(&["t"]);
    h.join(&join_ok(1, "m-1", "x", "cooperative-sticky", vec![]));
    h.sync(&sync_ok(&tps("t", &[0, 1])));
    h.advance(HB);
    h.poll();
    h.heartbeat(ErrorCode::REBALANCE_IN_PROGRESS);
    h.join(&join_ok(2, "m-1", "x", "cooperative-sticky", vec![]));
    assert_eq!(revoked_of(&h.sync(&sync_ok(&tps("t", &[0])))), tps("t", &[1]));
    assert!(h.m.leave(h.now).is_empty(), "waits for the revocation under way");
    let a = h.m.revocation_complete(h.now);
    assert_eq!(kinds(&a), ["Commit", "Revoked"]);
    assert_eq!(revoked_of(&a), tps("t", &[0]));
    assert_eq!(kinds(&h.m.revocation_complete(h.now)), ["LeaveGroup"]);
    assert_eq!(h.m.state(), ClassicState::Left);
}

#[test]
fn leave_after_a_reset_reports_partitions_lost() {
    let mut h = H::new(config(), "cooperative-sticky");
    h.start(&["t"]);
    h.join(&join_ok(1, "m-1", "x", "cooperative-sticky", vec![]));
    h.sync(&sync_ok(&tps("t", &[0])));
    // A rebalance starts (cooperative: the partition is kept), then the coordinator forgets the generation.
    h.advance(HB);
    h.poll();
    h.heartbeat(ErrorCode::REBALANCE_IN_PROGRESS);
    let a = h.join(&join_err(ErrorCode::UNKNOWN_MEMBER_ID));
    assert_eq!(kinds(&a), ["Lost", "JoinGroup"]);
    // Without a member id there is nothing to leave: no LeaveGroup.
    assert!(h.m.leave(h.now).is_empty());
    assert_eq!(h.m.state(), ClassicState::Left);
}

// ---- the whole life cycle ----

#[test]
fn scripted_life_cycle_as_leader_with_range() {
    let mut h = H::new(config(), "range");
    let topics: BTreeMap<String, i32> = [("orders".to_owned(), 4)].into();

    // Join: coordinator lookup, member id round trip, leader of two members.
    let a = h.m.subscribe(h.now, ["orders".to_owned()]);
    assert_eq!(kinds(&a), ["FindCoordinator"]);
    let join = join_of(&h.m.coordinator_found(h.now, V));
    assert_eq!(join.member_id, "");
    let a = h.join(&JoinGroupResponse {
        error_code: ErrorCode::MEMBER_ID_REQUIRED,
        member_id: "a".into(),
        ..Default::default()
    });
    let own = join_of(&a).protocols[0].metadata.clone();
    let members = vec![
        JoinGroupResponseMember { member_id: "a".into(), metadata: own, ..Default::default() },
        member_meta("b", &["orders"], &[], -1),
    ];
    let a = h.join_with(&join_ok(1, "a", "a", "range", members), &topics);
    let assignments = decode_sync_assignments(&sync_of(&a));
    assert_eq!(assignments["a"], tps("orders", &[0, 1]));
    assert_eq!(assignments["b"], tps("orders", &[2, 3]));
    let a = h.sync(&sync_ok(&assignments["a"]));
    assert_eq!(assigned_of(&a), tps("orders", &[0, 1]));

    // Heartbeats while the application polls.
    for _ in 0..5 {
        h.advance(HB);
        let hb = heartbeat_of(&h.m.application_poll(h.now));
        assert_eq!(hb.generation_id, 1);
        assert!(h.heartbeat(ErrorCode::NONE).is_empty());
    }

    // A third member joins: the coordinator answers a heartbeat with REBALANCE_IN_PROGRESS.
    h.advance(HB);
    h.poll();
    let a = h.heartbeat(ErrorCode::REBALANCE_IN_PROGRESS);
    assert_eq!(revoked_of(&a), tps("orders", &[0, 1]));
    let join = join_of(&h.m.revocation_complete(h.now));
    let own = join.protocols[0].metadata.clone();
    let members = vec![
        JoinGroupResponseMember { member_id: "a".into(), metadata: own, ..Default::default() },
        member_meta("b", &["orders"], &[], 1),
        member_meta("c", &["orders"], &[], -1),
    ];
    let a = h.join_with(&join_ok(2, "a", "a", "range", members), &topics);
    let assignments = decode_sync_assignments(&sync_of(&a));
    assert_eq!(assignments["a"], tps("orders", &[0, 1]));
    assert_eq!(assignments["b"], tps("orders", &[2]));
    assert_eq!(assignments["c"], tps("orders", &[3]));
    let a = h.sync(&sync_ok(&assignments["a"]));
    assert_eq!(assigned_of(&a), tps("orders", &[0, 1]));
    assert_eq!(h.m.generation_if_stable(), Some((2, "a")));

    // Leave: revoke, LeaveGroup.
    let a = h.m.leave(h.now);
    assert_eq!(kinds(&a), ["Commit", "Revoked"]);
    let a = h.m.revocation_complete(h.now);
    assert_eq!(leave_of(&a).0.members[0].member_id, "a");
    assert_eq!(h.m.state(), ClassicState::Left);
}

#[test]
fn commits_carry_the_generation_the_coordinator_accepts_in_each_group_state() {
    let mut h = H::new(config(), "cooperative-sticky");
    assert_eq!(h.m.commit_generation(), None, "no generation before the first join");
    h.start(&["t"]);
    assert_eq!(h.m.commit_generation(), None, "joining for the first time");
    h.join(&join_ok(1, "m-1", "x", "cooperative-sticky", vec![]));
    assert_eq!(h.m.commit_generation(), None, "between JoinGroup and SyncGroup the group completes a rebalance");
    h.sync(&sync_ok(&tps("t", &[0, 1])));
    assert_eq!(h.m.commit_generation(), Some((1, "m-1")), "stable");
    h.advance(HB);
    h.poll();
    // The group prepares a rebalance: the member rejoins and keeps committing with generation 1.
    assert_eq!(kinds(&h.heartbeat(ErrorCode::REBALANCE_IN_PROGRESS)), ["JoinGroup"]);
    assert_eq!(h.m.state(), ClassicState::Joining);
    assert_eq!(h.m.commit_generation(), Some((1, "m-1")), "preparing a rebalance");
    h.join(&join_ok(2, "m-1", "x", "cooperative-sticky", vec![]));
    assert_eq!(h.m.commit_generation(), None, "completing the rebalance");
    // The group began yet another rebalance before the sync: generation 2 is the group's while it prepares it.
    h.sync(&sync_err(ErrorCode::REBALANCE_IN_PROGRESS));
    assert_eq!(h.m.commit_generation(), Some((2, "m-1")));
    // Removed from the group: no generation to commit with until it joins again.
    let mut h2 = H::new(config(), "range");
    h2.stable_follower(&["t"], 4, &tps("t", &[0]));
    h2.advance(HB);
    h2.poll();
    h2.heartbeat(ErrorCode::UNKNOWN_MEMBER_ID);
    assert_eq!(h2.m.commit_generation(), None, "fenced");
}
