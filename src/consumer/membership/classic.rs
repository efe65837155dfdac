//! The classic group protocol's membership state machine: join (JoinGroup, with the v4+ member-id round trip),
//! sync (SyncGroup; the leader runs the assignor), heartbeat, rebalance (eager or cooperative), leave, and the
//! error handling of the Java client's `AbstractCoordinator`/`ConsumerCoordinator`.
//!
//! ```text
//!            subscribe + coordinator known
//!  Unjoined ─────────────────────────────▶ Joining ──JoinGroup ok──▶ AwaitingSync ──SyncGroup ok──▶ Stable
//!     ▲  ▲  MEMBER_ID_REQUIRED, errors       │                          │                            │
//!     │  └───────────────────────────────────┘◀─────────errors──────────┘                            │
//!     └──────── UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION / session or poll timeout (partitions lost) ──┘
//!   Stable ── REBALANCE_IN_PROGRESS, subscription or metadata change ──▶ (revoke) ──▶ Joining
//!   any ── leave() ──▶ (revoke) ──▶ LeaveGroup (dynamic members only) ──▶ Left;   fatal errors ──▶ Fatal
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kafkar_protocol::messages::heartbeat::{HeartbeatRequest, HeartbeatResponse};
use kafkar_protocol::messages::join_group::{JoinGroupRequest, JoinGroupResponse};
use kafkar_protocol::messages::leave_group::{LeaveGroupRequest, LeaveGroupResponse, MemberIdentity};
use kafkar_protocol::messages::sync_group::{SyncGroupRequest, SyncGroupRequestAssignment, SyncGroupResponse};
use kafkar_protocol::{ApiKey, ErrorCode};
use tracing::{debug, info, warn};

use super::{Action, Backoff, Coordinator, GroupConfig, earliest, lookup_retriable, millis_i32};
use crate::consumer::TopicPartition;
use crate::consumer::assignor::{
    self, CONSUMER_PROTOCOL_TYPE, PartitionAssignor, PartitionCounts, RebalanceProtocol, decode_assignment,
};
use crate::error::{Error, ErrorKind, Result};

/// The generation id of a member that is not in a generation.
const NO_GENERATION: i32 = -1;
/// Extra time the coordinator may take beyond the rebalance timeout to answer a JoinGroup (as Java's 5 s lapse).
const JOIN_GROUP_TIMEOUT_LAPSE: Duration = Duration::from_secs(5);
/// The longest rejoin reason sent (as Java truncates it).
const MAX_REASON_LEN: usize = 255;

/// The versions of the classic group APIs negotiated with the coordinator's broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassicApiVersions {
    /// JoinGroup.
    pub join_group: i16,
    /// SyncGroup.
    pub sync_group: i16,
    /// Heartbeat.
    pub heartbeat: i16,
    /// LeaveGroup.
    pub leave_group: i16,
}

impl ClassicApiVersions {
    /// The newest versions the protocol crate implements.
    pub const LATEST: ClassicApiVersions =
        ClassicApiVersions { join_group: 9, sync_group: 5, heartbeat: 4, leave_group: 5 };
}

/// Which request failed, for [`ClassicMembership::handle_request_failure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupRequest {
    /// A JoinGroup request.
    JoinGroup,
    /// A SyncGroup request.
    SyncGroup,
    /// A Heartbeat request.
    Heartbeat,
    /// A LeaveGroup request.
    LeaveGroup,
}

/// Where a classic member stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassicState {
    /// Not in a generation: not subscribed yet, or about to (re)join.
    Unjoined,
    /// A JoinGroup request is outstanding.
    Joining,
    /// Joined a generation; a SyncGroup request is outstanding.
    AwaitingSync,
    /// In the group with an assignment, heartbeating. A rebalance may be pending
    /// ([`ClassicMembership::rejoin_needed`]).
    Stable,
    /// Left the group ([`ClassicMembership::leave`]); [`ClassicMembership::subscribe`] starts over.
    Left,
    /// Stopped by an unrecoverable error.
    Fatal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Generation {
    id: i32,
    member_id: String,
    protocol: Option<String>,
}

impl Generation {
    fn none() -> Generation {
        Generation { id: NO_GENERATION, member_id: String::new(), protocol: None }
    }

    fn is_valid(&self) -> bool {
        self.id != NO_GENERATION && !self.member_id.is_empty()
    }
}

/// A member of a classic consumer group. See the [module documentation](self) and [`super`] for how to drive it.
#[derive(Debug)]
pub struct ClassicMembership {
    config: GroupConfig,
    assignors: Vec<Box<dyn PartitionAssignor>>,
    protocol: RebalanceProtocol,
    subscription: BTreeSet<String>,
    joined_subscription: Option<BTreeSet<String>>,
    state: ClassicState,
    coordinator: Coordinator<ClassicApiVersions>,
    coordinator_backoff: Backoff,
    generation: Generation,
    leader: bool,
    owned: BTreeSet<TopicPartition>,
    rejoin_needed: bool,
    rejoin_reason: String,
    needs_join_prepare: bool,
    revoking: bool,
    leaving: bool,
    join_retry_at: Option<Instant>,
    join_backoff: Backoff,
    heartbeat_in_flight: Option<Generation>,
    next_heartbeat_at: Instant,
    heartbeat_backoff: Backoff,
    session_deadline: Instant,
    poll_deadline: Instant,
    poll_expired: bool,
    metadata_snapshot: Option<BTreeMap<String, Option<i32>>>,
    group_subscription: BTreeSet<String>,
}

impl ClassicMembership {
    /// A member with `config` and `assignors` (in preference order), not yet subscribed. Fails for an invalid
    /// configuration or assignors without a rebalance protocol in common.
    pub fn new(config: GroupConfig, assignors: Vec<Box<dyn PartitionAssignor>>, now: Instant) -> Result<Self> {
        config.validate()?;
        let protocol = assignor::rebalance_protocol(&assignors)?;
        let backoff = || Backoff::new(config.retry_backoff, config.retry_backoff_max);
        Ok(ClassicMembership {
            coordinator_backoff: backoff(),
            join_backoff: backoff(),
            heartbeat_backoff: backoff(),
            session_deadline: now + config.session_timeout,
            poll_deadline: now + config.max_poll_interval,
            config,
            assignors,
            protocol,
            subscription: BTreeSet::new(),
            joined_subscription: None,
            state: ClassicState::Unjoined,
            coordinator: Coordinator::Unknown { retry_at: now },
            generation: Generation::none(),
            leader: false,
            owned: BTreeSet::new(),
            rejoin_needed: true,
            rejoin_reason: String::new(),
            needs_join_prepare: true,
            revoking: false,
            leaving: false,
            join_retry_at: None,
            heartbeat_in_flight: None,
            next_heartbeat_at: now,
            poll_expired: false,
            metadata_snapshot: None,
            group_subscription: BTreeSet::new(),
        })
    }

    // ---- accessors ----

    /// The current state.
    pub fn state(&self) -> ClassicState {
        self.state
    }

    /// The member id the coordinator gave (empty before the first join or after a reset).
    pub fn member_id(&self) -> &str {
        &self.generation.member_id
    }

    /// The generation joined last (-1 when none).
    pub fn generation_id(&self) -> i32 {
        self.generation.id
    }

    /// The generation and member id to commit offsets with, while the member is [`ClassicState::Stable`].
    pub fn generation_if_stable(&self) -> Option<(i32, &str)> {
        (self.state == ClassicState::Stable && self.generation.is_valid())
            .then_some((self.generation.id, self.generation.member_id.as_str()))
    }

    /// The assignor the coordinator chose for the current generation.
    pub fn protocol_name(&self) -> Option<&str> {
        self.generation.protocol.as_deref()
    }

    /// The rebalance protocol in use (the newest every configured assignor supports).
    pub fn rebalance_protocol(&self) -> RebalanceProtocol {
        self.protocol
    }

    /// Whether this member led the last rebalance (ran the assignment).
    pub fn is_leader(&self) -> bool {
        self.leader
    }

    /// The generation and member id that offset commits carry now, if the coordinator accepts them in the group's
    /// current state: while the group is stable, and while it prepares a rebalance (this member then still has the
    /// generation it had, from before its JoinGroup or a failed SyncGroup). `None` between a JoinGroup response
    /// and the SyncGroup response (the coordinator answers `REBALANCE_IN_PROGRESS` while it completes a rebalance),
    /// and when the member has no generation (before its first, after being removed, after leaving).
    pub fn commit_generation(&self) -> Option<(i32, &str)> {
        let state_accepts = matches!(self.state, ClassicState::Stable | ClassicState::Joining | ClassicState::Unjoined);
        (state_accepts && self.generation.is_valid())
            .then_some((self.generation.id, self.generation.member_id.as_str()))
    }

    /// The partitions this member owns, sorted (without those whose revocation is under way).
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.owned.iter().cloned().collect()
    }

    /// The member's subscription.
    pub fn subscription(&self) -> &BTreeSet<String> {
        &self.subscription
    }

    /// As leader: every topic some member subscribes to (the metadata the leader needs).
    pub fn group_subscription(&self) -> &BTreeSet<String> {
        &self.group_subscription
    }

    /// Whether the member will rejoin (a rebalance is requested or under way).
    pub fn rejoin_needed(&self) -> bool {
        self.rejoin_needed
    }

    // ---- inputs ----

    /// Sets the subscribed topics. A change while in the group triggers a rebalance; an empty subscription stops
    /// joining but does not leave (use [`leave`](Self::leave)). After [`leave`](Self::leave), subscribing joins
    /// again.
    pub fn subscribe(&mut self, now: Instant, topics: impl IntoIterator<Item = String>) -> Vec<Action> {
        let topics: BTreeSet<String> = topics.into_iter().collect();
        if self.state == ClassicState::Left {
            self.state = ClassicState::Unjoined;
            self.leaving = false;
            self.request_rejoin("subscribing after leaving");
        }
        if topics != self.subscription {
            debug!(?topics, "classic: subscription changed");
            self.subscription = topics;
            if self.joined_subscription.as_ref().is_some_and(|j| *j != self.subscription) {
                self.request_rejoin("subscription changed");
            }
        }
        self.poll(now)
    }

    /// The application polled: resets the `max.poll.interval.ms` timer, and rejoins after a poll timeout.
    pub fn application_poll(&mut self, now: Instant) -> Vec<Action> {
        self.poll_deadline = now + self.config.max_poll_interval;
        if self.poll_expired {
            info!("classic: application polled again after a poll timeout; rejoining");
            self.poll_expired = false;
        }
        self.poll(now)
    }

    /// Advances timers and does whatever is due: coordinator lookup, (re)joining, heartbeating, session and poll
    /// timeouts.
    pub fn poll(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        self.drive(now, &mut out);
        out
    }

    /// When the driver must call [`poll`](Self::poll) next (if nothing else happens before), or `None` if the
    /// machine is waiting for the driver (a response, a lookup, a revocation, an application poll).
    pub fn next_timeout(&self, now: Instant) -> Option<Instant> {
        if matches!(self.state, ClassicState::Fatal | ClassicState::Left) {
            return None;
        }
        if self.coordinator.known().is_none() {
            return self.coordinator.lookup_due().filter(|_| self.needs_coordinator());
        }
        let joined = matches!(self.state, ClassicState::AwaitingSync | ClassicState::Stable);
        earliest([
            (self.wants_join() && !self.revoking).then(|| self.join_retry_at.unwrap_or(now).max(now)),
            (joined && self.heartbeat_in_flight.is_none()).then_some(self.next_heartbeat_at),
            joined.then_some(self.session_deadline),
            (joined && !self.poll_expired).then_some(self.poll_deadline),
        ])
    }

    /// The coordinator was found; `versions` are the group API versions to use with it.
    pub fn coordinator_found(&mut self, now: Instant, versions: ClassicApiVersions) -> Vec<Action> {
        info!(?versions, "classic: group coordinator found");
        self.coordinator = Coordinator::Known(versions);
        self.coordinator_backoff.reset();
        self.session_deadline = now + self.config.session_timeout;
        self.poll(now)
    }

    /// The coordinator lookup failed: retried after a backoff if `error` is retriable, fatal otherwise.
    pub fn coordinator_lookup_failed(&mut self, now: Instant, error: &Error) -> Vec<Action> {
        let mut out = Vec::new();
        if lookup_retriable(error) {
            let delay = self.coordinator_backoff.next_delay();
            debug!(%error, ?delay, "classic: coordinator lookup failed; retrying");
            self.coordinator = Coordinator::Unknown { retry_at: now + delay };
            self.drive(now, &mut out);
        } else {
            self.fail(error.clone().with_api(ApiKey::FIND_COORDINATOR), &mut out);
        }
        out
    }

    /// The application finished with the partitions of the last [`Action::Revoked`] (commit and callback done).
    pub fn revocation_complete(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if !self.revoking {
            debug!("classic: revocation_complete without a revocation under way");
            return out;
        }
        self.revoking = false;
        if self.leaving {
            self.continue_leave(&mut out);
        } else {
            self.drive(now, &mut out);
        }
        out
    }

    /// New metadata: as leader, rebalance if a group-subscribed topic's partition count changed since the
    /// assignment (or a topic without metadata then has some now).
    pub fn metadata_updated(&mut self, now: Instant, metadata: &dyn PartitionCounts) -> Vec<Action> {
        if self.leader && self.state == ClassicState::Stable {
            if let Some(snapshot) = &self.metadata_snapshot {
                if let Some(topic) = snapshot.iter().find(|(t, n)| metadata.partition_count(t) != **n).map(|(t, _)| t) {
                    info!(topic = %topic, "classic: leader saw a metadata change; rebalancing");
                    self.request_rejoin("cached metadata has changed");
                }
            }
        }
        self.poll(now)
    }

    /// Leaves the group (close or unsubscribe): revokes owned partitions (or reports them lost if the generation
    /// was reset), then sends LeaveGroup unless the member is static (static members leave by session timeout,
    /// as in the Java client). Ends in [`ClassicState::Left`].
    pub fn leave(&mut self, now: Instant) -> Vec<Action> {
        let _ = now;
        let mut out = Vec::new();
        if matches!(self.state, ClassicState::Left | ClassicState::Fatal) || self.leaving {
            return out;
        }
        self.leaving = true;
        if !self.revoking {
            self.continue_leave(&mut out);
        }
        // Otherwise a revocation is under way; the leave goes on when it completes.
        out
    }

    /// Handles a JoinGroup response. `metadata` gives partition counts for the leader's assignment.
    pub fn handle_join_group_response(
        &mut self,
        now: Instant,
        response: &JoinGroupResponse,
        metadata: &dyn PartitionCounts,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state != ClassicState::Joining {
            debug!(state = ?self.state, "classic: ignoring a JoinGroup response");
            return out;
        }
        let code = response.error_code;
        match code {
            ErrorCode::NONE => self.joined(now, response, metadata, &mut out),
            ErrorCode::MEMBER_ID_REQUIRED => {
                debug!(member_id = %response.member_id, "classic: coordinator assigned a member id; rejoining with it");
                self.generation =
                    Generation { id: NO_GENERATION, member_id: response.member_id.clone(), protocol: None };
                self.state = ClassicState::Unjoined;
                self.request_rejoin(&format!("need to re-join with the given member-id: {}", response.member_id));
            }
            ErrorCode::UNKNOWN_MEMBER_ID => {
                info!("classic: JoinGroup: unknown member id; rejoining with a new one");
                self.reset_state_and_rejoin("encountered UNKNOWN_MEMBER_ID from JoinGroup", true, &mut out);
            }
            ErrorCode::COORDINATOR_LOAD_IN_PROGRESS => {
                info!("classic: JoinGroup: coordinator is loading the group; retrying");
                self.retry_join_later(now, "coordinator loading");
            }
            ErrorCode::REBALANCE_IN_PROGRESS => {
                info!("classic: JoinGroup: rebalance in progress; retrying");
                self.state = ClassicState::Unjoined;
                self.request_rejoin("rebalance in progress");
            }
            ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE => {
                info!(%code, "classic: JoinGroup: coordinator moved; rediscovering");
                self.mark_coordinator_unknown(now);
                self.retry_join_later(now, "coordinator changed");
            }
            _ => self.fail(broker_error(code, ApiKey::JOIN_GROUP, &self.config.group_id), &mut out),
        }
        self.drive(now, &mut out);
        out
    }

    /// Handles a SyncGroup response.
    pub fn handle_sync_group_response(&mut self, now: Instant, response: &SyncGroupResponse) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state != ClassicState::AwaitingSync {
            debug!(state = ?self.state, "classic: ignoring a SyncGroup response");
            return out;
        }
        let code = response.error_code;
        match code {
            ErrorCode::NONE => self.synced(now, response, &mut out),
            ErrorCode::REBALANCE_IN_PROGRESS => {
                info!("classic: SyncGroup: the group began another rebalance; rejoining");
                self.state = ClassicState::Unjoined;
                self.request_rejoin("rebalance in progress during sync");
            }
            ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::ILLEGAL_GENERATION => {
                info!(%code, "classic: SyncGroup failed; rejoining");
                let reason = format!("encountered {code} from SyncGroup");
                self.reset_state_and_rejoin(&reason, code == ErrorCode::UNKNOWN_MEMBER_ID, &mut out);
            }
            ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE => {
                info!(%code, "classic: SyncGroup: coordinator moved; rediscovering");
                self.mark_coordinator_unknown(now);
                self.state = ClassicState::Unjoined;
                self.request_rejoin("coordinator changed during sync");
            }
            _ => self.fail(broker_error(code, ApiKey::SYNC_GROUP, &self.config.group_id), &mut out),
        }
        self.drive(now, &mut out);
        out
    }

    /// Handles a Heartbeat response.
    pub fn handle_heartbeat_response(&mut self, now: Instant, response: &HeartbeatResponse) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(sent) = self.heartbeat_in_flight.take() else {
            debug!("classic: ignoring an unexpected Heartbeat response");
            return out;
        };
        let code = response.error_code;
        match code {
            ErrorCode::NONE => {
                self.session_deadline = now + self.config.session_timeout;
                self.heartbeat_backoff.reset();
            }
            ErrorCode::REBALANCE_IN_PROGRESS => {
                // Heartbeats go on during a rebalance; the member is alive.
                self.session_deadline = now + self.config.session_timeout;
                self.heartbeat_backoff.reset();
                if self.state == ClassicState::Stable {
                    info!("classic: the group is rebalancing; rejoining");
                    self.request_rejoin("group is already rebalancing");
                }
            }
            ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE => {
                info!(%code, "classic: Heartbeat: coordinator moved; rediscovering");
                self.mark_coordinator_unknown(now);
                self.next_heartbeat_at = now + self.heartbeat_backoff.next_delay();
            }
            ErrorCode::ILLEGAL_GENERATION | ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::FENCED_INSTANCE_ID => {
                if sent == self.generation {
                    info!(%code, generation = sent.id, "classic: Heartbeat failed; resetting the generation");
                    let reason = format!("encountered {code} from Heartbeat");
                    self.reset_state_and_rejoin(&reason, code != ErrorCode::ILLEGAL_GENERATION, &mut out);
                    if code == ErrorCode::FENCED_INSTANCE_ID {
                        self.fail(broker_error(code, ApiKey::HEARTBEAT, &self.config.group_id), &mut out);
                    }
                } else {
                    debug!(%code, "classic: ignoring a Heartbeat error for an older generation");
                }
            }
            ErrorCode::GROUP_AUTHORIZATION_FAILED => {
                self.fail(broker_error(code, ApiKey::HEARTBEAT, &self.config.group_id), &mut out)
            }
            _ => {
                warn!(%code, "classic: unexpected Heartbeat error; retrying");
                self.next_heartbeat_at = now + self.heartbeat_backoff.next_delay();
            }
        }
        self.drive(now, &mut out);
        out
    }

    /// Handles a LeaveGroup response (logged only: leaving is best effort and not retried).
    pub fn handle_leave_group_response(&mut self, _now: Instant, response: &LeaveGroupResponse) -> Vec<Action> {
        if response.error_code != ErrorCode::NONE {
            warn!(code = %response.error_code, "classic: LeaveGroup failed");
        }
        for m in response.members.iter().filter(|m| m.error_code != ErrorCode::NONE) {
            warn!(member = %m.member_id, code = %m.error_code, "classic: LeaveGroup failed for a member");
        }
        Vec::new()
    }

    /// A request got no response (disconnect, timeout) or could not be sent. Retriable failures rediscover the
    /// coordinator and retry after a backoff; others are fatal.
    pub fn handle_request_failure(&mut self, now: Instant, request: GroupRequest, error: &Error) -> Vec<Action> {
        let mut out = Vec::new();
        if matches!(self.state, ClassicState::Fatal | ClassicState::Left) {
            return out;
        }
        if !error.is_retriable() {
            let api = match request {
                GroupRequest::JoinGroup => ApiKey::JOIN_GROUP,
                GroupRequest::SyncGroup => ApiKey::SYNC_GROUP,
                GroupRequest::Heartbeat => ApiKey::HEARTBEAT,
                GroupRequest::LeaveGroup => ApiKey::LEAVE_GROUP,
            };
            self.fail(error.clone().with_api(api), &mut out);
            return out;
        }
        debug!(?request, %error, "classic: request failed; rediscovering the coordinator");
        match request {
            GroupRequest::JoinGroup if self.state == ClassicState::Joining => {
                self.retry_join_later(now, "JoinGroup failed");
            }
            GroupRequest::SyncGroup if self.state == ClassicState::AwaitingSync => {
                self.state = ClassicState::Unjoined;
                self.retry_join_later(now, "SyncGroup failed");
            }
            GroupRequest::Heartbeat => {
                self.heartbeat_in_flight = None;
                self.next_heartbeat_at = now + self.heartbeat_backoff.next_delay();
            }
            _ => {}
        }
        self.mark_coordinator_unknown(now);
        self.drive(now, &mut out);
        out
    }

    // ---- internals ----

    fn needs_coordinator(&self) -> bool {
        !self.subscription.is_empty() || self.state != ClassicState::Unjoined
    }

    fn wants_join(&self) -> bool {
        !self.subscription.is_empty()
            && !self.poll_expired
            && !self.leaving
            && matches!(self.state, ClassicState::Unjoined | ClassicState::Stable)
            && (self.state == ClassicState::Unjoined
                || self.rejoin_needed
                || self.joined_subscription.as_ref() != Some(&self.subscription))
    }

    fn request_rejoin(&mut self, reason: &str) {
        self.rejoin_needed = true;
        self.rejoin_reason = reason.to_owned();
    }

    fn retry_join_later(&mut self, now: Instant, reason: &str) {
        self.state = ClassicState::Unjoined;
        self.request_rejoin(reason);
        self.join_retry_at = Some(now + self.join_backoff.next_delay());
    }

    fn mark_coordinator_unknown(&mut self, now: Instant) {
        if self.coordinator.known().is_some() {
            self.coordinator = Coordinator::Unknown { retry_at: now };
        }
        self.heartbeat_in_flight = None;
        if matches!(self.state, ClassicState::Joining | ClassicState::AwaitingSync) {
            // The outstanding request is abandoned with the connection.
            self.state = ClassicState::Unjoined;
            self.request_rejoin("coordinator changed");
        }
    }

    /// Resets the generation after the coordinator forgot this member or its generation; owned partitions are
    /// lost (as Java's `onJoinPrepare` reports them after a reset).
    fn reset_state_and_rejoin(&mut self, reason: &str, reset_member_id: bool, out: &mut Vec<Action>) {
        let member_id = if reset_member_id { String::new() } else { std::mem::take(&mut self.generation.member_id) };
        self.generation = Generation { id: NO_GENERATION, member_id, protocol: None };
        self.state = ClassicState::Unjoined;
        self.leader = false;
        self.heartbeat_in_flight = None;
        self.needs_join_prepare = true;
        self.request_rejoin(reason);
        self.lose_all(out);
    }

    fn lose_all(&mut self, out: &mut Vec<Action>) {
        if !self.owned.is_empty() {
            let lost: Vec<TopicPartition> = std::mem::take(&mut self.owned).into_iter().collect();
            warn!(?lost, "classic: partitions lost");
            out.push(Action::Lost(lost));
        }
    }

    fn fail(&mut self, error: Error, out: &mut Vec<Action>) {
        warn!(%error, "classic: fatal group error");
        self.lose_all(out);
        self.state = ClassicState::Fatal;
        self.revoking = false;
        self.heartbeat_in_flight = None;
        out.push(Action::Fatal(error));
    }

    fn start_revocation(&mut self, partitions: Vec<TopicPartition>, out: &mut Vec<Action>) {
        for tp in &partitions {
            self.owned.remove(tp);
        }
        info!(?partitions, "classic: revoking partitions");
        if self.config.auto_commit {
            out.push(Action::CommitBeforeRevoke(partitions.clone()));
        }
        out.push(Action::Revoked(partitions));
        self.revoking = true;
    }

    /// Java's `onJoinPrepare`: before (re)joining, release what the protocol says to release.
    fn join_prepare(&mut self, out: &mut Vec<Action>) {
        self.leader = false;
        self.metadata_snapshot = None;
        self.group_subscription.clear();
        if !self.generation.is_valid() {
            self.lose_all(out);
            return;
        }
        let revoke: Vec<TopicPartition> = match self.protocol {
            RebalanceProtocol::Eager => self.owned.iter().cloned().collect(),
            RebalanceProtocol::Cooperative => {
                self.owned.iter().filter(|tp| !self.subscription.contains(&tp.topic)).cloned().collect()
            }
        };
        if !revoke.is_empty() {
            self.start_revocation(revoke, out);
        }
    }

    fn drive(&mut self, now: Instant, out: &mut Vec<Action>) {
        if matches!(self.state, ClassicState::Fatal | ClassicState::Left) {
            return;
        }
        self.check_timers(now, out);
        if matches!(self.state, ClassicState::Fatal | ClassicState::Left) {
            return;
        }
        let Some(versions) = self.coordinator.known() else {
            if self.needs_coordinator() {
                self.coordinator.maybe_find(now, out);
            }
            return;
        };
        if self.wants_join() && !self.revoking {
            if self.needs_join_prepare {
                self.needs_join_prepare = false;
                self.join_prepare(out);
            }
            if !self.revoking && self.join_retry_at.is_none_or(|t| now >= t) {
                self.send_join_group(now, versions, out);
            }
        }
        self.maybe_heartbeat(now, versions, out);
    }

    fn check_timers(&mut self, now: Instant, out: &mut Vec<Action>) {
        if !matches!(self.state, ClassicState::AwaitingSync | ClassicState::Stable) {
            return;
        }
        if now >= self.session_deadline {
            if self.coordinator.known().is_none() {
                // No coordinator reachable for a whole session: the group is moving to another broker (its
                // coordinator's broker is down, and FindCoordinator names it until the controller fences it).
                // Nothing about this member can have been decided where it could learn of it: the coordinator that
                // takes the group over from its log keeps the member with its generation and assignment and
                // starts its session anew, or answers UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION (the partitions are
                // lost then). So they stay, as Java's consumer keeps them. Giving them up here had the member
                // rejoin owning nothing, and its uncommitted work went to another member.
                info!("classic: no coordinator reachable within session.timeout.ms; keeping the assignment");
                self.session_deadline = now + self.config.session_timeout;
            } else {
                // A coordinator that stopped answering heartbeats has most likely expired the member.
                warn!("classic: no successful heartbeat within session.timeout.ms; partitions lost, rejoining");
                self.mark_coordinator_unknown(now);
                // Keep the member id: if the coordinator still knows it, the rejoin is quicker.
                self.reset_state_and_rejoin("session timed out without a heartbeat response", false, out);
            }
        } else if now >= self.poll_deadline && !self.poll_expired {
            warn!(
                "classic: max.poll.interval.ms exceeded between application polls; leaving the group \
                 (poll more often, or raise max.poll.interval.ms / lower max.poll.records)"
            );
            self.maybe_send_leave_group("consumer poll timeout has expired", out);
            self.reset_state_and_rejoin("consumer poll timeout has expired", true, out);
            self.poll_expired = true;
        }
    }

    fn send_join_group(&mut self, now: Instant, v: ClassicApiVersions, out: &mut Vec<Action>) {
        if self.config.is_static() && v.join_group < 5 {
            let e = Error::new(ErrorKind::UnsupportedVersion { api: ApiKey::JOIN_GROUP, broker: None })
                .with_message(Some("static membership (group.instance.id) needs JoinGroup v5 or later".into()));
            self.fail(e, out);
            return;
        }
        let owned: Vec<TopicPartition> = self.owned.iter().cloned().collect();
        let protocols = match assignor::join_group_protocols(
            &self.assignors,
            &self.subscription,
            &owned,
            self.generation.id,
            self.config.client_rack.as_deref(),
        ) {
            Ok(p) => p,
            Err(e) => return self.fail(e, out),
        };
        let reason: String = self.rejoin_reason.chars().take(MAX_REASON_LEN).collect();
        let request = JoinGroupRequest {
            group_id: self.config.group_id.clone(),
            session_timeout_ms: millis_i32(self.config.session_timeout),
            rebalance_timeout_ms: if v.join_group >= 1 { millis_i32(self.config.max_poll_interval) } else { -1 },
            member_id: self.generation.member_id.clone(),
            group_instance_id: self.config.group_instance_id.clone(),
            protocol_type: CONSUMER_PROTOCOL_TYPE.to_owned(),
            protocols,
            reason: (v.join_group >= 8 && !reason.is_empty()).then_some(reason),
            unknown_tagged_fields: Vec::new(),
        };
        info!(member_id = %request.member_id, reason = %self.rejoin_reason, "classic: (re-)joining group");
        let timeout = self.config.request_timeout.max(self.config.max_poll_interval + JOIN_GROUP_TIMEOUT_LAPSE);
        self.state = ClassicState::Joining;
        self.join_retry_at = None;
        self.joined_subscription = Some(self.subscription.clone());
        self.heartbeat_in_flight = None;
        out.push(Action::SendJoinGroup { request, version: v.join_group, timeout });
        let _ = now;
    }

    fn joined(
        &mut self,
        now: Instant,
        response: &JoinGroupResponse,
        metadata: &dyn PartitionCounts,
        out: &mut Vec<Action>,
    ) {
        let group_id = self.config.group_id.clone();
        if response.protocol_type.as_deref().is_some_and(|t| t != CONSUMER_PROTOCOL_TYPE) {
            let e = broker_error(ErrorCode::INCONSISTENT_GROUP_PROTOCOL, ApiKey::JOIN_GROUP, &group_id)
                .with_message(Some(format!("protocol type {:?}", response.protocol_type)));
            return self.fail(e, out);
        }
        let Some(name) = response.protocol_name.clone() else {
            return self.fail(
                Error::protocol("JoinGroup succeeded without a protocol name").with_api(ApiKey::JOIN_GROUP),
                out,
            );
        };
        let Some(idx) = self.assignors.iter().position(|a| a.name() == name) else {
            return self.fail(Error::protocol(format!("coordinator selected unknown assignor {name:?}")), out);
        };
        self.generation = Generation {
            id: response.generation_id,
            member_id: response.member_id.clone(),
            protocol: Some(name.clone()),
        };
        let g = &self.generation;
        info!(generation = g.id, member_id = %g.member_id, protocol = %name, "classic: joined the group");
        self.state = ClassicState::AwaitingSync;
        self.join_backoff.reset();
        self.session_deadline = now + self.config.session_timeout;
        self.poll_deadline = now + self.config.max_poll_interval;
        self.next_heartbeat_at = now + self.config.heartbeat_interval;
        self.leader = response.leader == response.member_id;
        let mut assignments: Vec<SyncGroupRequestAssignment> = Vec::new();
        if self.leader {
            if response.skip_assignment {
                debug!("classic: leader told to skip the assignment (KIP-814)");
            } else {
                match assignor::leader_assign(self.assignors[idx].as_ref(), self.protocol, &response.members, metadata)
                {
                    Ok(la) => {
                        debug!(assignment = ?la.group_assignment, "classic: leader computed the assignment");
                        assignments = la.assignments;
                        self.group_subscription = la.group_subscription;
                        self.metadata_snapshot = Some(la.metadata_snapshot);
                    }
                    Err(e) => return self.fail(e.with_api(ApiKey::JOIN_GROUP), out),
                }
            }
        }
        let Some(v) = self.coordinator.known() else {
            // Unreachable with a driver that drops replies from a previous coordinator; rejoin to be safe.
            self.state = ClassicState::Unjoined;
            return self.request_rejoin("coordinator unknown after JoinGroup");
        };
        let v5 = v.sync_group >= 5;
        let request = SyncGroupRequest {
            group_id,
            generation_id: self.generation.id,
            member_id: self.generation.member_id.clone(),
            group_instance_id: if v.sync_group >= 3 { self.config.group_instance_id.clone() } else { None },
            protocol_type: v5.then(|| CONSUMER_PROTOCOL_TYPE.to_owned()),
            protocol_name: v5.then_some(name),
            assignments,
            unknown_tagged_fields: Vec::new(),
        };
        out.push(Action::SendSyncGroup { request, version: v.sync_group });
    }

    fn synced(&mut self, now: Instant, response: &SyncGroupResponse, out: &mut Vec<Action>) {
        let group_id = self.config.group_id.clone();
        let inconsistent = response.protocol_type.as_deref().is_some_and(|t| t != CONSUMER_PROTOCOL_TYPE)
            || response.protocol_name.as_ref().is_some_and(|n| Some(n) != self.generation.protocol.as_ref());
        if inconsistent {
            let e = broker_error(ErrorCode::INCONSISTENT_GROUP_PROTOCOL, ApiKey::SYNC_GROUP, &group_id)
                .with_message(Some(format!("protocol {:?}/{:?}", response.protocol_type, response.protocol_name)));
            return self.fail(e, out);
        }
        let assignment = match decode_assignment(&response.assignment) {
            Ok(a) => a,
            Err(e) => return self.fail(e.with_api(ApiKey::SYNC_GROUP), out),
        };
        info!(generation = self.generation.id, partitions = ?assignment.partitions, "classic: synced group");
        self.state = ClassicState::Stable;
        self.rejoin_needed = false;
        self.rejoin_reason.clear();
        self.needs_join_prepare = true;
        self.session_deadline = now + self.config.session_timeout;

        let assigned: BTreeSet<TopicPartition> = assignment.partitions.iter().cloned().collect();
        let unsubscribed: Vec<&TopicPartition> =
            assigned.iter().filter(|tp| !self.subscription.contains(&tp.topic)).collect();
        if !unsubscribed.is_empty() {
            warn!(?unsubscribed, "classic: assigned partitions of topics this member does not subscribe to; rejoining");
            self.request_rejoin("assigned partitions do not match subscription");
        }
        let revoked: Vec<TopicPartition> = self.owned.difference(&assigned).cloned().collect();
        let added: Vec<TopicPartition> = assigned.difference(&self.owned).cloned().collect();
        if !revoked.is_empty() {
            self.start_revocation(revoked, out);
            if self.protocol == RebalanceProtocol::Cooperative {
                self.request_rejoin("need to revoke partitions and re-join");
            }
        }
        if let Some(a) =
            self.generation.protocol.as_ref().and_then(|p| self.assignors.iter_mut().find(|a| a.name() == p))
        {
            a.on_assignment(&assignment, self.generation.id);
        }
        self.owned = assigned;
        out.push(Action::Assigned(added));
    }

    fn maybe_heartbeat(&mut self, now: Instant, v: ClassicApiVersions, out: &mut Vec<Action>) {
        if !matches!(self.state, ClassicState::AwaitingSync | ClassicState::Stable)
            || self.heartbeat_in_flight.is_some()
            || now < self.next_heartbeat_at
        {
            return;
        }
        let request = HeartbeatRequest {
            group_id: self.config.group_id.clone(),
            generation_id: self.generation.id,
            member_id: self.generation.member_id.clone(),
            group_instance_id: if v.heartbeat >= 3 { self.config.group_instance_id.clone() } else { None },
            unknown_tagged_fields: Vec::new(),
        };
        self.heartbeat_in_flight = Some(self.generation.clone());
        self.next_heartbeat_at = now + self.config.heartbeat_interval;
        out.push(Action::SendHeartbeat { request, version: v.heartbeat });
    }

    /// Java's `maybeLeaveGroup`: a dynamic member in a generation sends LeaveGroup (best effort, no retry).
    fn maybe_send_leave_group(&mut self, reason: &str, out: &mut Vec<Action>) {
        let Some(v) = self.coordinator.known() else { return };
        if self.config.is_static() || self.state == ClassicState::Unjoined || self.generation.member_id.is_empty() {
            return;
        }
        info!(member_id = %self.generation.member_id, reason, "classic: sending LeaveGroup");
        let member_id = self.generation.member_id.clone();
        let request = if v.leave_group >= 3 {
            LeaveGroupRequest {
                group_id: self.config.group_id.clone(),
                members: vec![MemberIdentity {
                    member_id,
                    reason: (v.leave_group >= 5).then(|| reason.chars().take(MAX_REASON_LEN).collect()),
                    ..Default::default()
                }],
                ..Default::default()
            }
        } else {
            LeaveGroupRequest { group_id: self.config.group_id.clone(), member_id, ..Default::default() }
        };
        out.push(Action::SendLeaveGroup { request, version: v.leave_group });
    }

    /// Releases whatever is still owned (revoked while in a generation, lost otherwise), then leaves.
    fn continue_leave(&mut self, out: &mut Vec<Action>) {
        let owned: Vec<TopicPartition> = std::mem::take(&mut self.owned).into_iter().collect();
        if !owned.is_empty() {
            if self.generation.is_valid() {
                return self.start_revocation(owned, out);
            }
            out.push(Action::Lost(owned));
        }
        self.finish_leave(out);
    }

    fn finish_leave(&mut self, out: &mut Vec<Action>) {
        self.maybe_send_leave_group("the consumer is being closed", out);
        self.generation = Generation::none();
        self.state = ClassicState::Left;
        self.leader = false;
        self.heartbeat_in_flight = None;
        self.joined_subscription = None;
        self.rejoin_needed = true;
        self.needs_join_prepare = true;
        self.poll_expired = false;
    }
}

/// A broker error code as a client error with the API and group in its context.
fn broker_error(code: ErrorCode, api: ApiKey, group_id: &str) -> Error {
    Error::broker(code).with_api(api).with_message(Some(format!("group {group_id}")))
}

#[cfg(test)]
mod tests;
