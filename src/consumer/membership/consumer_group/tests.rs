use kafkar_protocol::messages::Message;
use kafkar_protocol::messages::consumer_group_heartbeat::Assignment;

use super::*;
use crate::consumer::membership::test_actions::*;
use crate::error::ErrorKind;

const V: i16 = 1;
const INTERVAL_MS: i32 = 3000;
const INTERVAL: Duration = Duration::from_millis(INTERVAL_MS as u64);
const MAX_POLL: Duration = Duration::from_secs(60);
const BACKOFF: Duration = Duration::from_millis(100);

fn id(n: u8) -> Uuid {
    Uuid([n; 16])
}

fn tp(topic: &str, p: i32) -> TopicPartition {
    TopicPartition::new(topic, p)
}

fn config() -> GroupConfig {
    let mut c = GroupConfig::new("g");
    c.max_poll_interval = MAX_POLL;
    c.retry_backoff = BACKOFF;
    c.retry_backoff_max = Duration::from_secs(1);
    c
}

/// A member, a clock and the metadata's topic names (A, B known; C not yet).
struct H {
    m: ConsumerGroupMembership,
    now: Instant,
    names: BTreeMap<Uuid, String>,
}

impl H {
    fn new(config: GroupConfig) -> H {
        let now = Instant::now();
        H {
            m: ConsumerGroupMembership::with_member_id(config, "member-1".into(), now).unwrap(),
            now,
            names: [(id(1), "a".to_owned()), (id(2), "b".to_owned())].into(),
        }
    }

    fn at(&self, d: Duration) -> Instant {
        self.now + d
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    fn poll(&mut self) -> Vec<Action> {
        self.m.poll(self.now, &self.names)
    }

    fn respond(&mut self, r: &ConsumerGroupHeartbeatResponse) -> Vec<Action> {
        self.m.handle_heartbeat_response(self.now, r, &self.names)
    }

    fn revoked(&mut self) -> Vec<Action> {
        self.m.revocation_complete(self.now, &self.names)
    }

    /// Subscribes and finds the coordinator; returns the join heartbeat.
    fn start(&mut self, topics: &[&str]) -> ConsumerGroupHeartbeatRequest {
        let a = self.m.subscribe(self.now, topics.iter().map(|s| (*s).to_owned()));
        assert_eq!(kinds(&a), ["FindCoordinator"]);
        let a = self.m.coordinator_found(self.now, V, &self.names);
        hb_of(&a)
    }

    /// Joins and reconciles `assignment` (epoch 1), acknowledging it; ends Stable.
    fn stable(&mut self, assignment: &[(Uuid, &[i32])]) {
        self.start(&["a", "b"]);
        let a = self.respond(&ok(1, Some(assignment)));
        assert_eq!(kinds(&a), ["Assigned", "ConsumerGroupHeartbeat"]);
        assert_eq!(self.m.state(), ConsumerGroupState::Stable);
        assert!(self.respond(&ok(1, None)).is_empty());
    }
}

fn hb_of(actions: &[Action]) -> ConsumerGroupHeartbeatRequest {
    let found = actions.iter().find_map(|a| match a {
        Action::SendConsumerGroupHeartbeat { request, version } => {
            request.to_bytes(*version).unwrap();
            Some(request.clone())
        }
        _ => None,
    });
    found.unwrap_or_else(|| panic!("no heartbeat in {:?}", kinds(actions)))
}

fn wire(assignment: &[(Uuid, &[i32])]) -> Vec<TopicPartitions> {
    assignment
        .iter()
        .map(|(id, ps)| TopicPartitions { topic_id: *id, partitions: ps.to_vec(), unknown_tagged_fields: Vec::new() })
        .collect()
}

fn ok(epoch: i32, assignment: Option<&[(Uuid, &[i32])]>) -> ConsumerGroupHeartbeatResponse {
    ConsumerGroupHeartbeatResponse {
        member_id: Some("member-1".into()),
        member_epoch: epoch,
        heartbeat_interval_ms: INTERVAL_MS,
        assignment: assignment.map(|a| Assignment { topic_partitions: wire(a), unknown_tagged_fields: Vec::new() }),
        ..Default::default()
    }
}

fn err(code: ErrorCode) -> ConsumerGroupHeartbeatResponse {
    ConsumerGroupHeartbeatResponse { error_code: code, error_message: Some("told so".into()), ..Default::default() }
}

// ---- joining and heartbeats ----

#[test]
fn join_sends_every_field_then_only_changes() {
    let mut c = config();
    c.server_assignor = Some("uniform".into());
    c.client_rack = Some("r1".into());
    let mut h = H::new(c);
    assert!(h.poll().is_empty());
    assert_eq!(h.m.state(), ConsumerGroupState::Unsubscribed);
    let join = h.start(&["b", "a"]);
    assert_eq!(h.m.state(), ConsumerGroupState::Joining);
    assert_eq!(join.group_id, "g");
    assert_eq!(join.member_id, "member-1");
    assert_eq!(join.member_epoch, 0);
    assert_eq!(join.rebalance_timeout_ms, 60_000);
    assert_eq!(join.subscribed_topic_names, Some(vec!["a".to_owned(), "b".to_owned()]));
    assert_eq!(join.server_assignor.as_deref(), Some("uniform"));
    assert_eq!(join.rack_id.as_deref(), Some("r1"));
    assert_eq!(join.instance_id, None);
    assert_eq!(join.topic_partitions, Some(vec![]));
    assert!(h.poll().is_empty(), "one heartbeat in flight");

    // The assignment comes with the reply; it is taken on and acknowledged at once.
    let a = h.respond(&ok(1, Some(&[(id(1), &[1, 0])])));
    assert_eq!(kinds(&a), ["Assigned", "ConsumerGroupHeartbeat"]);
    assert_eq!(assigned_of(&a), vec![tp("a", 0), tp("a", 1)]);
    let ack = hb_of(&a);
    assert_eq!(ack.member_epoch, 1);
    assert_eq!(ack.topic_partitions, Some(wire(&[(id(1), &[0, 1])])));
    assert_eq!(
        (ack.subscribed_topic_names.as_ref(), ack.server_assignor.as_ref(), ack.rack_id.as_ref()),
        (None, None, None)
    );
    assert_eq!(ack.rebalance_timeout_ms, -1);
    assert_eq!(h.m.state(), ConsumerGroupState::Stable);
    assert_eq!(h.m.member_epoch(), 1);
    assert_eq!(h.m.heartbeat_interval(), INTERVAL);

    // The next heartbeat is due one interval after the ack was sent, and carries nothing that did not change.
    assert!(h.respond(&ok(1, None)).is_empty());
    assert_eq!(h.m.next_timeout(h.now), Some(h.at(INTERVAL)));
    h.advance(INTERVAL - Duration::from_millis(1));
    assert!(h.poll().is_empty());
    h.advance(Duration::from_millis(1));
    let hb = hb_of(&h.poll());
    assert_eq!(hb.member_epoch, 1);
    assert_eq!(hb.topic_partitions, None);
    assert_eq!(hb.subscribed_topic_names, None);
    assert_eq!(hb.instance_id, None);
}

#[test]
fn heartbeat_interval_follows_the_coordinator() {
    let mut h = H::new(config());
    h.stable(&[(id(1), &[0])]);
    let mut r = ok(1, None);
    r.heartbeat_interval_ms = 500;
    h.advance(INTERVAL);
    h.poll();
    h.respond(&r);
    assert_eq!(h.m.next_timeout(h.now), Some(h.at(Duration::from_millis(500))));
}

#[test]
fn subscription_change_is_sent_once() {
    let mut h = H::new(config());
    h.stable(&[(id(1), &[0])]);
    assert!(h.m.subscribe(h.now, ["a".to_owned(), "c".to_owned()]).is_empty());
    h.advance(INTERVAL);
    let hb = hb_of(&h.poll());
    assert_eq!(hb.subscribed_topic_names, Some(vec!["a".to_owned(), "c".to_owned()]));
    h.respond(&ok(1, None));
    h.advance(INTERVAL);
    assert_eq!(hb_of(&h.poll()).subscribed_topic_names, None);
}

#[test]
fn empty_or_unchanged_target_needs_no_reconciliation() {
    let mut h = H::new(config());
    h.start(&["a"]);
    // Joining with an empty assignment: stable at once, nothing to acknowledge.
    assert!(h.respond(&ok(1, Some(&[]))).is_empty());
    assert_eq!(h.m.state(), ConsumerGroupState::Stable);
    // A reply to a join without an assignment does not leave the member joining forever.
    let mut h = H::new(config());
    h.start(&["a"]);
    assert!(h.respond(&ok(1, None)).is_empty());
    assert_eq!(h.m.state(), ConsumerGroupState::Stable);
}

// ---- reconciliation ----

#[test]
fn revocation_comes_first_and_the_acknowledgement_after_it() {
    let mut h = H::new(config());
    h.stable(&[(id(1), &[0, 1])]);
    h.advance(INTERVAL);
    h.poll();
    let a = h.respond(&ok(2, Some(&[(id(1), &[1]), (id(2), &[0])])));
    assert_eq!(kinds(&a), ["Commit", "Revoked"]);
    assert_eq!(revoked_of(&a), vec![tp("a", 0)]);
    assert_eq!(h.m.state(), ConsumerGroupState::Reconciling);
    assert_eq!(h.m.assignment(), vec![tp("a", 1)]);
    assert_eq!(h.m.member_epoch(), 2);
    // Heartbeats go on while the application revokes, still reporting the old assignment (unchanged: null).
    h.advance(INTERVAL);
    let hb = hb_of(&h.poll());
    assert_eq!(hb.topic_partitions, None);
    h.respond(&ok(2, None));
    // Revocation done: the new partition is assigned and everything acknowledged.
    let a = h.revoked();
    assert_eq!(kinds(&a), ["Assigned", "ConsumerGroupHeartbeat"]);
    assert_eq!(assigned_of(&a), vec![tp("b", 0)]);
    assert_eq!(hb_of(&a).topic_partitions, Some(wire(&[(id(1), &[1]), (id(2), &[0])])));
    assert_eq!(h.m.assignment(), vec![tp("a", 1), tp("b", 0)]);
    assert_eq!(h.m.state(), ConsumerGroupState::Stable);
    assert!(h.revoked().is_empty(), "nothing left to complete");
}

#[test]
fn without_auto_commit_revocation_has_no_commit() {
    let mut c = config();
    c.auto_commit = false;
    let mut h = H::new(c);
    h.stable(&[(id(1), &[0])]);
    h.advance(INTERVAL);
    h.poll();
    assert_eq!(kinds(&h.respond(&ok(2, Some(&[])))), ["Revoked"]);
}

#[test]
fn a_new_target_during_revocation_is_reconciled_after_it() {
    let mut h = H::new(config());
    h.stable(&[(id(1), &[0, 1])]);
    h.advance(INTERVAL);
    h.poll();
    h.respond(&ok(2, Some(&[(id(1), &[1])])));
    // The coordinator changes its mind and gives a-0 back before the revocation completes.
    h.advance(INTERVAL);
    h.poll();
    assert!(h.respond(&ok(3, Some(&[(id(1), &[0, 1])]))).is_empty());
    assert_eq!(h.m.state(), ConsumerGroupState::Reconciling);
    let a = h.revoked();
    assert_eq!(kinds(&a), ["Assigned", "ConsumerGroupHeartbeat"]);
    assert_eq!(hb_of(&a).topic_partitions, Some(wire(&[(id(1), &[1])])));
    assert_eq!(h.m.state(), ConsumerGroupState::Reconciling);
    // The reconciliation towards the newer target follows at once.
    let a = h.respond(&ok(3, None));
    assert_eq!(kinds(&a), ["Assigned", "ConsumerGroupHeartbeat"]);
    assert_eq!(assigned_of(&a), vec![tp("a", 0)]);
    assert_eq!(h.m.state(), ConsumerGroupState::Stable);
}

#[test]
fn unknown_topic_ids_wait_for_metadata() {
    let mut h = H::new(config());
    h.start(&["a", "c"]);
    let a = h.respond(&ok(1, Some(&[(id(1), &[0]), (id(3), &[0, 1])])));
    assert_eq!(kinds(&a), ["RefreshMetadata", "Assigned", "ConsumerGroupHeartbeat"]);
    assert!(matches!(&a[0], Action::RefreshMetadata { topic_ids } if topic_ids == &vec![id(3)]));
    assert_eq!(assigned_of(&a), vec![tp("a", 0)]);
    assert_eq!(hb_of(&a).topic_partitions, Some(wire(&[(id(1), &[0])])));
    assert_eq!(h.m.state(), ConsumerGroupState::Reconciling);
    assert_eq!(h.m.unresolved_topic_ids(), vec![id(3)]);
    // No repeated requests or acknowledgements while the metadata lacks the name.
    assert!(h.respond(&ok(1, None)).is_empty());
    assert!(h.poll().is_empty());
    // The metadata learns topic C: its partitions are taken on and acknowledged.
    h.names.insert(id(3), "c".into());
    let a = h.poll();
    assert_eq!(kinds(&a), ["Assigned", "ConsumerGroupHeartbeat"]);
    assert_eq!(assigned_of(&a), vec![tp("c", 0), tp("c", 1)]);
    assert_eq!(hb_of(&a).topic_partitions, Some(wire(&[(id(1), &[0]), (id(3), &[0, 1])])));
    assert_eq!(h.m.state(), ConsumerGroupState::Stable);
    assert!(h.m.unresolved_topic_ids().is_empty());
}

#[test]
fn unresolvable_addition_to_a_stable_assignment_is_acknowledged_once() {
    let mut h = H::new(config());
    h.stable(&[(id(1), &[0])]);
    h.advance(INTERVAL);
    h.poll();
    let a = h.respond(&ok(2, Some(&[(id(1), &[0]), (id(3), &[0])])));
    assert_eq!(kinds(&a), ["RefreshMetadata", "ConsumerGroupHeartbeat"]);
    assert_eq!(hb_of(&a).topic_partitions, Some(wire(&[(id(1), &[0])])));
    assert!(h.respond(&ok(2, None)).is_empty());
    assert!(h.poll().is_empty());
}

// ---- errors ----

#[test]
fn fencing_loses_the_assignment_and_rejoins_with_epoch_zero() {
    for code in [ErrorCode::FENCED_MEMBER_EPOCH, ErrorCode::UNKNOWN_MEMBER_ID] {
        let mut h = H::new(config());
        h.stable(&[(id(1), &[0, 1])]);
        h.advance(INTERVAL);
        h.poll();
        let a = h.respond(&err(code));
        assert_eq!(kinds(&a), ["Lost", "ConsumerGroupHeartbeat"], "{code}");
        assert_eq!(lost_of(&a), vec![tp("a", 0), tp("a", 1)]);
        let join = hb_of(&a);
        assert_eq!((join.member_id.as_str(), join.member_epoch), ("member-1", 0));
        assert_eq!(join.subscribed_topic_names, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(join.topic_partitions, Some(vec![]));
        assert!(h.m.assignment().is_empty());
        assert_eq!(h.m.state(), ConsumerGroupState::Joining);
    }
}

#[test]
fn fencing_during_a_revocation_abandons_the_reconciliation() {
    let mut h = H::new(config());
    h.stable(&[(id(1), &[0, 1])]);
    h.advance(INTERVAL);
    h.poll();
    assert_eq!(revoked_of(&h.respond(&ok(2, Some(&[(id(1), &[1]), (id(2), &[0])])))), vec![tp("a", 0)]);
    h.advance(INTERVAL);
    h.poll();
    let a = h.respond(&err(ErrorCode::FENCED_MEMBER_EPOCH));
    assert_eq!(lost_of(&a), vec![tp("a", 1)], "the partition being revoked is not reported twice");
    // The late completion of the abandoned revocation assigns nothing.
    assert!(h.revoked().iter().all(|a| !matches!(a, Action::Assigned(_))));
}

#[test]
fn fatal_errors() {
    for code in [
        ErrorCode::UNRELEASED_INSTANCE_ID,
        ErrorCode::FENCED_INSTANCE_ID,
        ErrorCode::GROUP_MAX_SIZE_REACHED,
        ErrorCode::GROUP_AUTHORIZATION_FAILED,
        ErrorCode::INVALID_REQUEST,
        ErrorCode::UNSUPPORTED_ASSIGNOR,
        ErrorCode::UNSUPPORTED_VERSION,
        ErrorCode(4242),
    ] {
        let mut h = H::new(config());
        h.stable(&[(id(1), &[0])]);
        h.advance(INTERVAL);
        h.poll();
        let a = h.respond(&err(code));
        assert_eq!(kinds(&a), ["Lost", "Fatal"], "{code}");
        let e = fatal_of(&a);
        assert_eq!(e.code(), Some(code));
        assert_eq!(e.context().message.as_deref(), Some("told so"));
        assert_eq!(h.m.state(), ConsumerGroupState::Fatal);
        h.advance(INTERVAL);
        assert!(h.poll().is_empty());
        assert_eq!(h.m.next_timeout(h.now), None);
    }
}

#[test]
fn coordinator_errors_rediscover_or_back_off_and_resend_everything() {
    for code in [ErrorCode::NOT_COORDINATOR, ErrorCode::COORDINATOR_NOT_AVAILABLE] {
        let mut h = H::new(config());
        h.stable(&[(id(1), &[0])]);
        h.advance(INTERVAL);
        h.poll();
        assert_eq!(kinds(&h.respond(&err(code))), ["FindCoordinator"], "{code}");
        // Found again: the heartbeat goes at once (no backoff) with every field.
        let hb = hb_of(&h.m.coordinator_found(h.now, V, &h.names));
        assert_eq!(hb.subscribed_topic_names, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(hb.topic_partitions, Some(wire(&[(id(1), &[0])])));
        assert_eq!(hb.member_epoch, 1);
        assert_eq!(h.m.assignment(), vec![tp("a", 0)]);
    }
    let mut h = H::new(config());
    h.stable(&[(id(1), &[0])]);
    h.advance(INTERVAL);
    h.poll();
    assert!(h.respond(&err(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS)).is_empty());
    assert_eq!(h.m.next_timeout(h.now), Some(h.at(BACKOFF)), "after an error only the backoff applies");
    h.advance(BACKOFF);
    assert_eq!(hb_of(&h.poll()).rebalance_timeout_ms, 60_000, "all fields after an error");
}

#[test]
fn joining_respects_the_backoff_after_load_in_progress() {
    let mut h = H::new(config());
    h.start(&["a"]);
    assert!(h.respond(&err(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS)).is_empty());
    assert_eq!(h.m.next_timeout(h.now), Some(h.at(BACKOFF)));
    h.advance(BACKOFF);
    assert_eq!(hb_of(&h.poll()).member_epoch, 0);
    h.respond(&err(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS));
    assert_eq!(h.m.next_timeout(h.now), Some(h.at(BACKOFF * 2)));
}

#[test]
fn request_failures() {
    let mut h = H::new(config());
    h.stable(&[(id(1), &[0])]);
    h.advance(INTERVAL);
    h.poll();
    let a = h.m.handle_request_failure(h.now, &Error::new(ErrorKind::Timeout), &h.names);
    assert_eq!(kinds(&a), ["FindCoordinator"]);
    assert!(h.m.coordinator_found(h.now, V, &h.names).is_empty(), "backing off");
    h.advance(INTERVAL);
    assert_eq!(hb_of(&h.poll()).topic_partitions, Some(wire(&[(id(1), &[0])])));
    let a = h.m.handle_request_failure(h.now, &Error::config("broken"), &h.names);
    assert_eq!(kinds(&a), ["Lost", "Fatal"]);
    assert_eq!(fatal_of(&a).context().api, Some(ApiKey::CONSUMER_GROUP_HEARTBEAT));
}

#[test]
fn coordinator_lookup_failures() {
    let mut h = H::new(config());
    h.m.subscribe(h.now, ["a".to_owned()]);
    assert!(h.m.coordinator_lookup_failed(h.now, &Error::new(ErrorKind::Timeout)).is_empty());
    assert_eq!(h.m.next_timeout(h.now), Some(h.at(BACKOFF)));
    h.advance(BACKOFF);
    assert_eq!(kinds(&h.poll()), ["FindCoordinator"]);
    let a = h.m.coordinator_lookup_failed(h.now, &Error::broker(ErrorCode::GROUP_AUTHORIZATION_FAILED));
    assert_eq!(kinds(&a), ["Fatal"]);
}

#[test]
fn odd_responses_are_ignored() {
    let mut h = H::new(config());
    h.stable(&[(id(1), &[0])]);
    assert!(h.respond(&ok(5, None)).is_empty(), "no heartbeat in flight");
    h.advance(INTERVAL);
    h.poll();
    assert!(h.respond(&ok(-1, Some(&[]))).is_empty());
    assert_eq!(h.m.member_epoch(), 1, "a negative epoch is not taken");
    assert_eq!(h.m.assignment(), vec![tp("a", 0)]);
}

// ---- leaving ----

#[test]
fn leave_revokes_then_sends_the_leave_heartbeat() {
    let mut h = H::new(config());
    h.stable(&[(id(1), &[0])]);
    let a = h.m.leave(h.now);
    assert_eq!(kinds(&a), ["Commit", "Revoked"]);
    assert_eq!(h.m.state(), ConsumerGroupState::PrepareLeaving);
    // A heartbeat during the revocation carries no new assignment.
    h.advance(INTERVAL);
    let hb = hb_of(&h.poll());
    assert_eq!(hb.member_epoch, 1);
    assert!(h.respond(&ok(2, Some(&[(id(2), &[0])]))).is_empty(), "no new assignment while leaving");
    let a = h.revoked();
    let leave = hb_of(&a);
    assert_eq!((leave.member_epoch, leave.member_id.as_str()), (-1, "member-1"));
    assert_eq!(h.m.state(), ConsumerGroupState::Unsubscribed);
    assert_eq!(h.m.next_timeout(h.now), None);
    assert!(h.poll().is_empty());
    assert!(h.m.leave(h.now).is_empty());
    // Subscribing again rejoins with the same member id and epoch 0.
    let a = h.m.subscribe(h.now, ["a".to_owned()]);
    assert_eq!(hb_of(&a).member_epoch, 0);
    assert_eq!(hb_of(&a).member_id, "member-1");
}

#[test]
fn static_member_leaves_with_epoch_minus_two() {
    let mut c = config();
    c.group_instance_id = Some("inst".into());
    let mut h = H::new(c);
    let join = h.start(&["a"]);
    assert_eq!(join.instance_id.as_deref(), Some("inst"));
    h.respond(&ok(1, Some(&[])));
    let a = h.m.leave(h.now);
    let leave = hb_of(&a);
    assert_eq!(leave.member_epoch, -2);
    assert_eq!(leave.instance_id.as_deref(), Some("inst"));
}

#[test]
fn leave_without_coordinator_or_before_joining() {
    let mut h = H::new(config());
    h.m.subscribe(h.now, ["a".to_owned()]);
    // Never joined and no coordinator: nothing to send.
    assert!(h.m.leave(h.now).is_empty());
    assert_eq!(h.m.state(), ConsumerGroupState::Unsubscribed);
    // An empty subscription leaves.
    let mut h = H::new(config());
    h.start(&["a"]);
    h.respond(&ok(1, Some(&[])));
    assert_eq!(hb_of(&h.m.subscribe(h.now, Vec::new())).member_epoch, -1);
}

#[test]
fn fenced_with_epoch_zero_loses_instead_of_revoking_on_leave() {
    let mut h = H::new(config());
    h.stable(&[(id(1), &[0])]);
    h.advance(INTERVAL);
    h.poll();
    h.respond(&err(ErrorCode::FENCED_MEMBER_EPOCH));
    let a = h.m.leave(h.now);
    assert_eq!(kinds(&a), ["ConsumerGroupHeartbeat"], "nothing owned any more");
}

#[test]
fn poll_timeout_sends_a_leave_heartbeat_and_rejoins_on_the_next_application_poll() {
    let mut h = H::new(config());
    h.stable(&[(id(1), &[0, 1])]);
    let start = h.now;
    while h.now + INTERVAL < start + MAX_POLL {
        h.advance(INTERVAL);
        assert_eq!(kinds(&h.poll()), ["ConsumerGroupHeartbeat"]);
        h.respond(&ok(1, None));
    }
    assert_eq!(h.m.next_timeout(h.now), Some(start + MAX_POLL));
    h.now = start + MAX_POLL;
    let a = h.poll();
    assert_eq!(kinds(&a), ["ConsumerGroupHeartbeat", "Lost"]);
    assert_eq!(hb_of(&a).member_epoch, -1);
    assert_eq!(lost_of(&a), vec![tp("a", 0), tp("a", 1)]);
    assert_eq!(h.m.state(), ConsumerGroupState::Stale);
    h.advance(INTERVAL * 10);
    assert!(h.poll().is_empty());
    assert_eq!(h.m.next_timeout(h.now), None);
    let a = h.m.application_poll(h.now, &h.names);
    let join = hb_of(&a);
    assert_eq!(join.member_epoch, 0);
    assert!(join.subscribed_topic_names.is_some());
    assert_eq!(h.m.state(), ConsumerGroupState::Joining);
}

// ---- versions and member ids ----

#[test]
fn version_zero_adopts_the_coordinators_member_id() {
    let mut h = H::new(config());
    h.m.subscribe(h.now, ["a".to_owned()]);
    let a = h.m.coordinator_found(h.now, 0, &h.names);
    let Some(Action::SendConsumerGroupHeartbeat { request, version: 0 }) = a.first() else { panic!("{:?}", kinds(&a)) };
    request.to_bytes(0).unwrap();
    assert_eq!(request.member_id, "", "v0: the coordinator generates the member id");
    let mut r = ok(1, Some(&[]));
    r.member_id = Some("srv-1".into());
    h.respond(&r);
    assert_eq!(h.m.member_id(), "srv-1");
    h.advance(INTERVAL);
    assert_eq!(hb_of(&h.poll()).member_id, "srv-1");
    // Rejoining after fencing keeps the id.
    let a = h.respond(&err(ErrorCode::FENCED_MEMBER_EPOCH));
    assert_eq!(hb_of(&a).member_id, "srv-1");
}

#[test]
fn generated_member_ids_are_random_v4_uuids() {
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        let s = generate_member_id();
        assert_eq!(s.len(), 22);
        assert!(!s.starts_with('-'));
        let u = Uuid::parse_base64(&s).unwrap();
        assert_eq!(u.0[6] >> 4, 4, "version 4");
        assert_eq!(u.0[8] >> 6, 0b10, "IETF variant");
        assert!(seen.insert(s));
    }
    let m = ConsumerGroupMembership::new(config(), Instant::now()).unwrap();
    assert_eq!(m.member_id().len(), 22);
    assert!(ConsumerGroupMembership::new(GroupConfig::new(""), Instant::now()).is_err());
}

// ---- the whole life cycle ----

#[test]
fn scripted_life_cycle() {
    let mut h = H::new(config());
    // Join and receive two partitions of A.
    let join = h.start(&["a", "b"]);
    assert_eq!(join.member_epoch, 0);
    let a = h.respond(&ok(1, Some(&[(id(1), &[0, 1])])));
    assert_eq!(assigned_of(&a), vec![tp("a", 0), tp("a", 1)]);
    h.respond(&ok(1, None));
    // Heartbeats at the interval while the application polls.
    for _ in 0..3 {
        h.advance(INTERVAL);
        let a = h.m.application_poll(h.now, &h.names);
        assert_eq!(hb_of(&a).member_epoch, 1);
        h.respond(&ok(1, None));
    }
    // Another member joins: the coordinator moves a-1 away and, once released, hands out b-0.
    h.advance(INTERVAL);
    h.poll();
    let a = h.respond(&ok(2, Some(&[(id(1), &[0])])));
    assert_eq!(revoked_of(&a), vec![tp("a", 1)]);
    let a = h.revoked();
    assert_eq!(assigned_of(&a), vec![]);
    assert_eq!(hb_of(&a).topic_partitions, Some(wire(&[(id(1), &[0])])));
    let a = h.respond(&ok(3, Some(&[(id(1), &[0]), (id(2), &[0])])));
    assert_eq!(assigned_of(&a), vec![tp("b", 0)]);
    assert_eq!(hb_of(&a).member_epoch, 3);
    h.respond(&ok(3, None));
    assert_eq!(h.m.assignment(), vec![tp("a", 0), tp("b", 0)]);
    assert_eq!(h.m.state(), ConsumerGroupState::Stable);
    // Leave.
    let a = h.m.leave(h.now);
    assert_eq!(revoked_of(&a), vec![tp("a", 0), tp("b", 0)]);
    assert_eq!(hb_of(&h.revoked()).member_epoch, -1);
    assert_eq!(h.m.state(), ConsumerGroupState::Unsubscribed);
}

#[test]
fn stale_member_that_leaves_stays_out() {
    let mut c = config();
    c.max_poll_interval = Duration::from_secs(2);
    let mut h = H::new(c);
    h.stable(&[(id(1), &[0])]);
    h.advance(Duration::from_secs(2));
    assert_eq!(kinds(&h.poll()), ["ConsumerGroupHeartbeat", "Lost"]);
    assert_eq!(h.m.state(), ConsumerGroupState::Stale);
    assert!(h.m.leave(h.now).is_empty());
    assert_eq!(h.m.state(), ConsumerGroupState::Unsubscribed);
    assert!(h.m.application_poll(h.now, &h.names).is_empty(), "unsubscribed members do not rejoin on poll");
}

#[test]
fn replies_to_the_leave_heartbeat_are_ignored() {
    let mut h = H::new(config());
    h.stable(&[(id(1), &[0])]);
    h.m.leave(h.now);
    hb_of(&h.revoked());
    assert!(h.respond(&ok(-1, None)).is_empty());
    assert!(h.respond(&err(ErrorCode::UNKNOWN_MEMBER_ID)).is_empty());
    assert_eq!(h.m.state(), ConsumerGroupState::Unsubscribed);
}

#[test]
fn poll_timeout_during_a_coordinator_lookup_leaves_once_found() {
    let mut c = config();
    c.max_poll_interval = Duration::from_secs(5);
    let mut h = H::new(c);
    h.stable(&[(id(1), &[0])]);
    h.advance(INTERVAL);
    h.poll();
    assert_eq!(kinds(&h.respond(&err(ErrorCode::NOT_COORDINATOR))), ["FindCoordinator"]);
    h.advance(Duration::from_secs(2));
    assert!(h.poll().is_empty(), "the lookup is still outstanding");
    // The coordinator is found after the poll deadline: the member leaves at once.
    let a = h.m.coordinator_found(h.now, V, &h.names);
    assert_eq!(kinds(&a), ["ConsumerGroupHeartbeat", "Lost"]);
    assert_eq!(hb_of(&a).member_epoch, -1);
    assert_eq!(h.m.state(), ConsumerGroupState::Stale);
}

// ---- topic regex ----

#[test]
fn a_regex_is_sent_with_version_1_and_names_with_version_0() {
    let mut h = H::new(config());
    assert_eq!(kinds(&h.m.subscribe_regex(h.now, "a|b".into(), ["a".to_owned()])), ["FindCoordinator"]);
    let join = hb_of(&h.m.coordinator_found(h.now, 1, &h.names));
    assert_eq!(join.subscribed_topic_regex.as_deref(), Some("a|b"));
    assert_eq!(join.subscribed_topic_names, Some(vec![]));
    // Newly matched names change nothing on the wire; the coordinator resolves the regex.
    h.respond(&ok(1, None));
    assert!(h.m.subscribe_regex(h.now, "a|b".into(), ["a".to_owned(), "b".to_owned()]).is_empty());
    h.advance(INTERVAL);
    let hb = hb_of(&h.poll());
    assert_eq!((hb.subscribed_topic_regex, hb.subscribed_topic_names), (None, None));
    // Back to names: the regex is cleared with an empty string.
    h.respond(&ok(1, None));
    h.m.subscribe(h.now, ["a".to_owned()]);
    h.advance(INTERVAL);
    let hb = hb_of(&h.poll());
    assert_eq!(hb.subscribed_topic_regex.as_deref(), Some(""));
    assert_eq!(hb.subscribed_topic_names, Some(vec!["a".to_owned()]));

    let mut h = H::new(config());
    h.m.subscribe_regex(h.now, "a|b".into(), ["b".to_owned(), "a".to_owned()]);
    let join = hb_of(&h.m.coordinator_found(h.now, 0, &h.names));
    assert_eq!(join.subscribed_topic_regex, None);
    assert_eq!(join.subscribed_topic_names, Some(vec!["a".to_owned(), "b".to_owned()]));
    h.respond(&ok(1, None));
    h.m.subscribe_regex(h.now, "a|b".into(), ["a".to_owned()]);
    h.advance(INTERVAL);
    assert_eq!(hb_of(&h.poll()).subscribed_topic_names, Some(vec!["a".to_owned()]));
}

#[test]
fn a_regex_subscription_joins_even_when_nothing_matches_yet() {
    let mut h = H::new(config());
    assert_eq!(kinds(&h.m.subscribe_regex(h.now, "c.*".into(), [])), ["FindCoordinator"]);
    let join = hb_of(&h.m.coordinator_found(h.now, 1, &h.names));
    assert_eq!(join.subscribed_topic_regex.as_deref(), Some("c.*"));
    assert_eq!(h.m.state(), ConsumerGroupState::Joining);
}
