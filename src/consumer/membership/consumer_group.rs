//! The KIP-848 consumer group protocol's membership state machine: one ConsumerGroupHeartbeat request joins
//! (epoch 0), heartbeats, acknowledges assignments and leaves (epoch -1, or -2 for a static member); the
//! coordinator assigns, and the member reconciles its target assignment — revoke what is no longer assigned
//! (commit, callback), then take on what is new, then acknowledge by sending the owned partitions.
//!
//! ```text
//!  Unsubscribed ─subscribe─▶ Joining ─response─▶ Reconciling ─revoke, assign─▶ Acknowledging ─heartbeat─▶ Stable
//!                              ▲                      ▲                                                      │
//!                              │                      └────────────── new target assignment ─────────────────┘
//!                              └─ FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID (partitions lost, epoch 0)
//!  leave() ─▶ PrepareLeaving (revoke) ─▶ Leaving ─leave heartbeat─▶ Unsubscribed
//!  max.poll.interval.ms exceeded ─▶ Leaving ─leave heartbeat─▶ Stale (partitions lost) ─application poll─▶ Joining
//! ```
//!
//! Like the Java client, the member generates its own member id (a random UUID, KIP-1082) and keeps it for its
//! lifetime; with version 0 of the API it joins with an empty id and adopts the one the coordinator returns.
//! Fields that have not changed since the last heartbeat are sent as null, except when joining (and after an
//! error), when everything is sent.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kafkar_protocol::messages::consumer_group_heartbeat::{
    ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, TopicPartitions,
};
use kafkar_protocol::primitives::Uuid;
use kafkar_protocol::{ApiKey, ErrorCode};
use tracing::{debug, info, warn};

use super::{Action, Backoff, Coordinator, GroupConfig, TopicNames, earliest, lookup_retriable, millis_i32};
use crate::consumer::TopicPartition;
use crate::error::{Error, Result};

/// Where a KIP-848 member stands (the Java client's `MemberState`, without its transient `FENCED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerGroupState {
    /// Not in the group and not trying to be.
    Unsubscribed,
    /// Joining: the next heartbeat (epoch 0, all fields) is sent at once.
    Joining,
    /// A target assignment differs from the owned partitions and is being reconciled.
    Reconciling,
    /// A reconciliation finished; the next heartbeat, sent at once, acknowledges it.
    Acknowledging,
    /// In the group, owning its target assignment, heartbeating at the coordinator's interval.
    Stable,
    /// Leaving: waiting for the owned partitions to be revoked.
    PrepareLeaving,
    /// Leaving: the leave heartbeat is sent at once.
    Leaving,
    /// Left after `max.poll.interval.ms` passed without an application poll; rejoins on the next one.
    Stale,
    /// Stopped by an unrecoverable error.
    Fatal,
}

/// Topic id → partitions, as the coordinator assigns them.
type IdAssignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// An assignment with the local epoch of the target it came from (bumped whenever the target changes), so that a
/// re-reconciled assignment is sent again even if its partitions are the same.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct LocalAssignment {
    epoch: u64,
    partitions: IdAssignment,
}

/// A reconciliation waiting for its revocation to complete.
#[derive(Clone, Debug)]
struct Reconciliation {
    resolved: LocalAssignment,
    named: BTreeSet<TopicPartition>,
    names: BTreeMap<Uuid, String>,
    added: Vec<TopicPartition>,
}

#[derive(Clone, Debug)]
enum Pending {
    Reconcile(Box<Reconciliation>),
    Leave,
}

/// What the last heartbeat carried, to send only changes (Java's `SentFields`).
#[derive(Clone, Debug, Default)]
struct SentFields {
    rebalance_timeout_ms: Option<i32>,
    topics: Option<BTreeSet<String>>,
    regex: Option<String>,
    server_assignor: Option<String>,
    assignment: Option<LocalAssignment>,
}

/// A member of a KIP-848 consumer group. See the [module documentation](self) and [`super`] for how to drive it.
#[derive(Debug)]
pub struct ConsumerGroupMembership {
    config: GroupConfig,
    member_id: String,
    member_id_from_coordinator: bool,
    epoch: i32,
    state: ConsumerGroupState,
    subscription: BTreeSet<String>,
    /// A topic regex subscribed to: sent to the coordinator as `SubscribedTopicRegex` with version 1 and later
    /// (which then resolves it); with version 0 the names in `subscription` (resolved by the client) are sent.
    subscription_regex: Option<String>,
    coordinator: Coordinator<i16>,
    coordinator_backoff: Backoff,
    heartbeat_interval: Duration,
    next_heartbeat_at: Instant,
    retry_at: Option<Instant>,
    heartbeat_backoff: Backoff,
    in_flight: bool,
    sent: SentFields,
    current: Option<LocalAssignment>,
    target: Option<LocalAssignment>,
    next_local_epoch: u64,
    owned: BTreeSet<TopicPartition>,
    names: BTreeMap<Uuid, String>,
    pending: Option<Pending>,
    requested_ids: BTreeSet<Uuid>,
    poll_deadline: Instant,
    poll_expired: bool,
}

impl ConsumerGroupMembership {
    /// A member with `config` and a freshly generated member id, not yet subscribed.
    pub fn new(config: GroupConfig, now: Instant) -> Result<Self> {
        Self::with_member_id(config, generate_member_id(), now)
    }

    /// A member with a given member id (the id must be unique in the group; for tests and for callers that
    /// persist it).
    pub fn with_member_id(config: GroupConfig, member_id: String, now: Instant) -> Result<Self> {
        config.validate()?;
        let backoff = || Backoff::new(config.retry_backoff, config.retry_backoff_max);
        Ok(ConsumerGroupMembership {
            coordinator_backoff: backoff(),
            heartbeat_backoff: backoff(),
            poll_deadline: now + config.max_poll_interval,
            config,
            member_id,
            member_id_from_coordinator: false,
            epoch: ConsumerGroupHeartbeatRequest::JOIN_EPOCH,
            state: ConsumerGroupState::Unsubscribed,
            subscription: BTreeSet::new(),
            subscription_regex: None,
            coordinator: Coordinator::Unknown { retry_at: now },
            heartbeat_interval: Duration::ZERO,
            next_heartbeat_at: now,
            retry_at: None,
            in_flight: false,
            sent: SentFields::default(),
            current: None,
            target: None,
            next_local_epoch: 1,
            owned: BTreeSet::new(),
            names: BTreeMap::new(),
            pending: None,
            requested_ids: BTreeSet::new(),
            poll_expired: false,
        })
    }

    // ---- accessors ----

    /// The current state.
    pub fn state(&self) -> ConsumerGroupState {
        self.state
    }

    /// The member id.
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The member epoch (0 while joining, negative while leaving); commits carry it.
    pub fn member_epoch(&self) -> i32 {
        self.epoch
    }

    /// The partitions this member owns, sorted (without those whose revocation is under way).
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.owned.iter().cloned().collect()
    }

    /// Topic ids of the target assignment that the last reconciliation could not name (their partitions wait
    /// for the metadata).
    pub fn unresolved_topic_ids(&self) -> Vec<Uuid> {
        self.requested_ids.iter().copied().collect()
    }

    /// The heartbeat interval the coordinator asked for (zero before the first response).
    pub fn heartbeat_interval(&self) -> Duration {
        self.heartbeat_interval
    }

    // ---- inputs ----

    /// Sets the subscribed topics: joins if not in the group; otherwise the next heartbeat carries the change. An
    /// empty subscription leaves the group (as the Java client's `unsubscribe`).
    pub fn subscribe(&mut self, now: Instant, topics: impl IntoIterator<Item = String>) -> Vec<Action> {
        let topics: BTreeSet<String> = topics.into_iter().collect();
        if topics.is_empty() {
            return self.leave(now);
        }
        self.subscription = topics;
        self.subscription_regex = None;
        self.join_if_unsubscribed(now)
    }

    /// Subscribes to the topics that `regex` (whole names, RE2/J syntax on the coordinator) matches: with
    /// ConsumerGroupHeartbeat version 1 and later the coordinator resolves it (`SubscribedTopicRegex`, Kafka 4.0+);
    /// with version 0 the heartbeat carries `resolved`, the names the client matched, which the caller updates by
    /// calling this again. Joins if not in the group, even while nothing matches.
    pub fn subscribe_regex(
        &mut self,
        now: Instant,
        regex: String,
        resolved: impl IntoIterator<Item = String>,
    ) -> Vec<Action> {
        self.subscription = resolved.into_iter().collect();
        self.subscription_regex = Some(regex);
        self.join_if_unsubscribed(now)
    }

    fn join_if_unsubscribed(&mut self, now: Instant) -> Vec<Action> {
        if self.state == ConsumerGroupState::Unsubscribed {
            self.transition_to_joining();
        }
        let mut out = Vec::new();
        self.drive(now, None, &mut out);
        out
    }

    /// The application polled: resets the `max.poll.interval.ms` timer; a member that left because of it rejoins.
    pub fn application_poll(&mut self, now: Instant, names: &dyn TopicNames) -> Vec<Action> {
        self.poll_deadline = now + self.config.max_poll_interval;
        self.poll_expired = false;
        if self.state == ConsumerGroupState::Stale {
            info!("consumer group: application polled again after a poll timeout; rejoining");
            self.transition_to_joining();
        }
        self.poll(now, names)
    }

    /// Advances timers and does whatever is due: coordinator lookup, reconciliation (with topic names from
    /// `names`), heartbeats, the poll timeout.
    pub fn poll(&mut self, now: Instant, names: &dyn TopicNames) -> Vec<Action> {
        let mut out = Vec::new();
        self.drive(now, Some(names), &mut out);
        out
    }

    /// When the driver must call [`poll`](Self::poll) next (if nothing else happens before), or `None` if the
    /// machine is waiting for the driver.
    pub fn next_timeout(&self, now: Instant) -> Option<Instant> {
        use ConsumerGroupState::*;
        if matches!(self.state, Unsubscribed | Stale | Fatal) {
            return None;
        }
        if self.coordinator.known().is_none() {
            return self.coordinator.lookup_due();
        }
        let backoff = self.retry_at.unwrap_or(now).max(now);
        let heartbeat = match self.state {
            Leaving => Some(now),
            Joining | Acknowledging if !self.in_flight => Some(backoff),
            _ if !self.in_flight => Some(self.next_heartbeat_at.max(backoff)),
            _ => None,
        };
        let in_group = !matches!(self.state, PrepareLeaving | Leaving);
        earliest([heartbeat, in_group.then_some(self.poll_deadline)])
    }

    /// The coordinator was found; `version` is the ConsumerGroupHeartbeat version to use with it.
    pub fn coordinator_found(&mut self, now: Instant, version: i16, names: &dyn TopicNames) -> Vec<Action> {
        info!(version, "consumer group: coordinator found");
        self.coordinator = Coordinator::Known(version);
        self.coordinator_backoff.reset();
        self.poll(now, names)
    }

    /// The coordinator lookup failed: retried after a backoff if `error` is retriable, fatal otherwise.
    pub fn coordinator_lookup_failed(&mut self, now: Instant, error: &Error) -> Vec<Action> {
        let mut out = Vec::new();
        if lookup_retriable(error) {
            let delay = self.coordinator_backoff.next_delay();
            debug!(%error, ?delay, "consumer group: coordinator lookup failed; retrying");
            self.coordinator = Coordinator::Unknown { retry_at: now + delay };
        } else {
            self.fail(error.clone().with_api(ApiKey::FIND_COORDINATOR), &mut out);
        }
        out
    }

    /// The application finished with the partitions of the last [`Action::Revoked`] (commit and callback done).
    pub fn revocation_complete(&mut self, now: Instant, names: &dyn TopicNames) -> Vec<Action> {
        let mut out = Vec::new();
        match self.pending.take() {
            Some(Pending::Reconcile(rec)) if self.state == ConsumerGroupState::Reconciling => {
                self.complete_reconciliation(*rec, &mut out)
            }
            Some(Pending::Leave) if self.state == ConsumerGroupState::PrepareLeaving => self.transition_to_leaving(),
            Some(_) => debug!(state = ?self.state, "consumer group: revocation completed after the member moved on"),
            None => debug!("consumer group: revocation_complete without a revocation under way"),
        }
        self.drive(now, Some(names), &mut out);
        out
    }

    /// Leaves the group (close or unsubscribe): revokes owned partitions (lost instead, if the member is no longer
    /// in the group), then sends the leave heartbeat (epoch -1, or -2 for a static member).
    pub fn leave(&mut self, now: Instant) -> Vec<Action> {
        use ConsumerGroupState::*;
        let mut out = Vec::new();
        self.subscription.clear();
        self.subscription_regex = None;
        match self.state {
            Unsubscribed | Fatal | PrepareLeaving | Leaving => return out,
            Stale => {
                self.state = Unsubscribed;
                return out;
            }
            _ => {}
        }
        info!(member_id = %self.member_id, "consumer group: leaving");
        self.state = PrepareLeaving;
        self.pending = None;
        if !self.owned.is_empty() {
            let owned: Vec<TopicPartition> = self.owned.iter().cloned().collect();
            if self.epoch > 0 {
                self.start_revocation(owned, &mut out);
                self.pending = Some(Pending::Leave);
            } else {
                self.owned.clear();
                out.push(Action::Lost(owned));
            }
        }
        if self.pending.is_none() {
            self.transition_to_leaving();
        }
        self.drive(now, None, &mut out);
        out
    }

    /// Handles a ConsumerGroupHeartbeat response. `names` resolves the assignment's topic ids.
    pub fn handle_heartbeat_response(
        &mut self,
        now: Instant,
        response: &ConsumerGroupHeartbeatResponse,
        names: &dyn TopicNames,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        if !self.in_flight {
            debug!(state = ?self.state, "consumer group: ignoring a heartbeat response (none outstanding)");
            return out;
        }
        self.in_flight = false;
        if response.error_code == ErrorCode::NONE {
            self.heartbeat_succeeded(now, response);
        } else {
            self.heartbeat_failed(now, response, &mut out);
        }
        self.drive(now, Some(names), &mut out);
        out
    }

    /// A heartbeat got no response (disconnect, timeout) or could not be sent. Retriable failures rediscover the
    /// coordinator and retry after a backoff; others are fatal.
    pub fn handle_request_failure(&mut self, now: Instant, error: &Error, names: &dyn TopicNames) -> Vec<Action> {
        let mut out = Vec::new();
        self.in_flight = false;
        self.sent = SentFields::default();
        if matches!(self.state, ConsumerGroupState::Fatal | ConsumerGroupState::Unsubscribed) {
            return out;
        }
        if error.is_retriable() {
            debug!(%error, "consumer group: heartbeat failed; rediscovering the coordinator");
            self.next_heartbeat_at = now;
            self.retry_at = Some(now + self.heartbeat_backoff.next_delay());
            self.mark_coordinator_unknown(now);
        } else {
            self.fail(error.clone().with_api(ApiKey::CONSUMER_GROUP_HEARTBEAT), &mut out);
        }
        self.drive(now, Some(names), &mut out);
        out
    }

    // ---- internals ----

    fn in_group(&self) -> bool {
        !matches!(self.state, ConsumerGroupState::Unsubscribed | ConsumerGroupState::Stale | ConsumerGroupState::Fatal)
    }

    fn mark_coordinator_unknown(&mut self, now: Instant) {
        if self.coordinator.known().is_some() {
            self.coordinator = Coordinator::Unknown { retry_at: now };
        }
        self.in_flight = false;
    }

    fn transition_to_joining(&mut self) {
        self.epoch = ConsumerGroupHeartbeatRequest::JOIN_EPOCH;
        self.state = ConsumerGroupState::Joining;
        self.target = None;
        self.pending = None;
        self.requested_ids.clear();
        self.sent = SentFields::default();
        self.retry_at = None;
    }

    fn transition_to_leaving(&mut self) {
        self.epoch = if self.config.is_static() {
            ConsumerGroupHeartbeatRequest::STATIC_LEAVE_EPOCH
        } else {
            ConsumerGroupHeartbeatRequest::LEAVE_EPOCH
        };
        self.clear_assignment();
        self.state = ConsumerGroupState::Leaving;
    }

    fn clear_assignment(&mut self) {
        self.owned.clear();
        self.current = None;
        self.target = None;
        self.names.clear();
        self.pending = None;
        self.requested_ids.clear();
    }

    fn lose_all(&mut self, out: &mut Vec<Action>) {
        if !self.owned.is_empty() {
            let lost: Vec<TopicPartition> = std::mem::take(&mut self.owned).into_iter().collect();
            warn!(?lost, "consumer group: partitions lost");
            out.push(Action::Lost(lost));
        }
        self.clear_assignment();
    }

    fn fail(&mut self, error: Error, out: &mut Vec<Action>) {
        warn!(%error, "consumer group: fatal error");
        if !matches!(
            self.state,
            ConsumerGroupState::Unsubscribed | ConsumerGroupState::Leaving | ConsumerGroupState::PrepareLeaving
        ) {
            self.lose_all(out);
        }
        self.clear_assignment();
        self.state = ConsumerGroupState::Fatal;
        self.in_flight = false;
        out.push(Action::Fatal(error));
    }

    /// FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID: release everything as lost and rejoin with epoch 0.
    fn fence(&mut self, out: &mut Vec<Action>) {
        use ConsumerGroupState::*;
        match self.state {
            PrepareLeaving | Leaving => {
                info!("consumer group: fenced while leaving; not rejoining");
                self.clear_assignment();
                self.state = Unsubscribed;
            }
            Unsubscribed | Stale | Fatal => {}
            _ => {
                info!(epoch = self.epoch, "consumer group: fenced; releasing the assignment and rejoining");
                self.lose_all(out);
                self.transition_to_joining();
            }
        }
    }

    fn start_revocation(&mut self, partitions: Vec<TopicPartition>, out: &mut Vec<Action>) {
        for tp in &partitions {
            self.owned.remove(tp);
        }
        info!(?partitions, "consumer group: revoking partitions");
        if self.config.auto_commit {
            out.push(Action::CommitBeforeRevoke(partitions.clone()));
        }
        out.push(Action::Revoked(partitions));
    }

    fn heartbeat_succeeded(&mut self, now: Instant, response: &ConsumerGroupHeartbeatResponse) {
        use ConsumerGroupState::*;
        self.heartbeat_backoff.reset();
        self.retry_at = None;
        let interval = Duration::from_millis(u64::try_from(response.heartbeat_interval_ms).unwrap_or(0));
        if interval != self.heartbeat_interval {
            self.heartbeat_interval = interval;
            self.next_heartbeat_at = now + interval;
        }
        if !self.in_group() || matches!(self.state, Leaving) {
            debug!(state = ?self.state, "consumer group: ignoring a heartbeat response; not in the group");
            return;
        }
        if response.member_epoch < 0 {
            debug!(epoch = response.member_epoch, "consumer group: ignoring a response with a negative epoch");
            return;
        }
        if let Some(id) = response.member_id.as_ref().filter(|id| !id.is_empty() && **id != self.member_id) {
            debug!(member_id = %id, "consumer group: the coordinator gave a member id");
            self.member_id = id.clone();
        }
        if response.member_id.as_ref().is_some_and(|id| !id.is_empty()) {
            self.member_id_from_coordinator = true;
        }
        self.epoch = response.member_epoch;
        match &response.assignment {
            Some(assignment) if matches!(self.state, Joining | Reconciling | Acknowledging | Stable) => {
                let mut target = IdAssignment::new();
                for t in &assignment.topic_partitions {
                    target.entry(t.topic_id).or_default().extend(t.partitions.iter().copied());
                }
                target.retain(|_, ps| !ps.is_empty());
                self.process_target(target);
            }
            Some(_) => debug!(state = ?self.state, "consumer group: ignoring an assignment while leaving"),
            // The coordinator sends the assignment with the response to a join; never stay joining without one.
            None if self.state == Joining => self.state = Stable,
            None => {}
        }
    }

    fn process_target(&mut self, target: IdAssignment) {
        if self.target.as_ref().is_none_or(|t| t.partitions != target) {
            let epoch = self.next_local_epoch;
            self.next_local_epoch += 1;
            debug!(?target, epoch, "consumer group: new target assignment");
            self.target = Some(LocalAssignment { epoch, partitions: target });
        }
        let current = self.current.as_ref().map(|c| &c.partitions);
        let reconciled = self.target.as_ref().map(|t| &t.partitions) == current
            || (current.is_none() && self.target.as_ref().is_some_and(|t| t.partitions.is_empty()));
        // A reconciliation under way finishes first, then the member reconciles again towards the new target.
        if !reconciled || self.pending.is_some() {
            self.state = ConsumerGroupState::Reconciling;
        } else if matches!(self.state, ConsumerGroupState::Reconciling | ConsumerGroupState::Joining) {
            self.state = ConsumerGroupState::Stable;
        }
    }

    fn heartbeat_failed(&mut self, now: Instant, response: &ConsumerGroupHeartbeatResponse, out: &mut Vec<Action>) {
        let code = response.error_code;
        // After an error the next heartbeat carries every field again.
        self.sent = SentFields::default();
        // As Java: after a failure the interval no longer applies, only the backoff (skipped for some errors).
        self.next_heartbeat_at = now;
        self.retry_at = Some(now + self.heartbeat_backoff.next_delay());
        let message = response.error_message.clone();
        match code {
            ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE => {
                info!(%code, "consumer group: coordinator moved; rediscovering");
                self.mark_coordinator_unknown(now);
                self.retry_at = None;
            }
            ErrorCode::COORDINATOR_LOAD_IN_PROGRESS => {
                info!("consumer group: coordinator is loading; retrying after a backoff");
            }
            ErrorCode::FENCED_MEMBER_EPOCH | ErrorCode::UNKNOWN_MEMBER_ID => {
                info!(%code, "consumer group: member fenced");
                self.retry_at = None;
                self.fence(out);
            }
            _ => {
                let error = Error::broker(code)
                    .with_api(ApiKey::CONSUMER_GROUP_HEARTBEAT)
                    .with_message(message.or_else(|| Some(format!("group {}", self.config.group_id))));
                self.fail(error, out);
            }
        }
    }

    /// Does what is due. Without `names` (calls that get no metadata) reconciliation waits for the next call.
    fn drive(&mut self, now: Instant, names: Option<&dyn TopicNames>, out: &mut Vec<Action>) {
        use ConsumerGroupState::*;
        if !self.in_group() {
            return;
        }
        let Some(version) = self.coordinator.known() else {
            if self.state == Leaving {
                info!("consumer group: no coordinator to send the leave heartbeat to; leaving without it");
                self.after_leave_heartbeat(out);
                return;
            }
            self.coordinator.maybe_find(now, out);
            return;
        };
        if now >= self.poll_deadline && !matches!(self.state, PrepareLeaving | Leaving) {
            warn!(
                "consumer group: max.poll.interval.ms exceeded between application polls; leaving the group \
                 (poll more often, or raise max.poll.interval.ms / lower max.poll.records)"
            );
            self.poll_expired = true;
            self.pending = None;
            let owned = std::mem::take(&mut self.owned);
            self.transition_to_leaving();
            // Released as lost once the leave heartbeat is out (as Java does).
            self.owned = owned;
        }
        if let Some(names) = names {
            self.maybe_reconcile(names, out);
        }
        let heartbeat_now = self.state == Leaving || (matches!(self.state, Joining | Acknowledging) && !self.in_flight);
        let backoff_over = self.retry_at.is_none_or(|t| now >= t);
        let due = heartbeat_now || (!self.in_flight && now >= self.next_heartbeat_at);
        if !due || (self.state != Leaving && !backoff_over) {
            return;
        }
        let request = self.build_heartbeat(version);
        out.push(Action::SendConsumerGroupHeartbeat { request, version });
        self.next_heartbeat_at = now + self.heartbeat_interval;
        match self.state {
            Leaving => self.after_leave_heartbeat(out),
            Acknowledging => {
                self.in_flight = true;
                let done = self.target.as_ref().map(|t| &t.partitions) == self.current.as_ref().map(|c| &c.partitions);
                self.state = if done { Stable } else { Reconciling };
            }
            _ => self.in_flight = true,
        }
    }

    fn after_leave_heartbeat(&mut self, out: &mut Vec<Action>) {
        if self.poll_expired {
            self.state = ConsumerGroupState::Stale;
            self.lose_all(out);
        } else {
            self.clear_assignment();
            self.state = ConsumerGroupState::Unsubscribed;
        }
        self.in_flight = false;
        self.sent = SentFields::default();
    }

    fn build_heartbeat(&mut self, version: i16) -> ConsumerGroupHeartbeatRequest {
        let mut r = ConsumerGroupHeartbeatRequest {
            group_id: self.config.group_id.clone(),
            member_id: self.member_id.clone(),
            member_epoch: self.epoch,
            instance_id: self.config.group_instance_id.clone(),
            ..Default::default()
        };
        if version == 0 && !self.member_id_from_coordinator && self.epoch == ConsumerGroupHeartbeatRequest::JOIN_EPOCH {
            // Version 0: the coordinator generates the member id on the first join.
            r.member_id.clear();
        }
        if self.state == ConsumerGroupState::Leaving {
            return r;
        }
        let full = self.state == ConsumerGroupState::Joining;
        if full {
            r.rack_id = self.config.client_rack.clone();
        }
        let rebalance_timeout_ms = millis_i32(self.config.max_poll_interval);
        if full || self.sent.rebalance_timeout_ms != Some(rebalance_timeout_ms) {
            r.rebalance_timeout_ms = rebalance_timeout_ms;
            self.sent.rebalance_timeout_ms = Some(rebalance_timeout_ms);
        }
        let regex = self.subscription_regex.as_ref().filter(|_| version >= 1);
        // With a regex the coordinator resolves the topics; the names are cleared (an empty list).
        let names = if regex.is_some() { BTreeSet::new() } else { self.subscription.clone() };
        if full || self.sent.topics.as_ref() != Some(&names) {
            r.subscribed_topic_names = Some(names.iter().cloned().collect());
            self.sent.topics = Some(names);
        }
        if version >= 1 {
            // An empty string clears a regex sent before.
            let regex = regex.cloned().unwrap_or_default();
            let sent = self.sent.regex.clone().unwrap_or_default();
            if (full && !regex.is_empty()) || (!full && regex != sent) {
                r.subscribed_topic_regex = Some(regex.clone());
            }
            self.sent.regex = Some(regex);
        }
        if let Some(assignor) = &self.config.server_assignor {
            if full || self.sent.server_assignor.as_ref() != Some(assignor) {
                r.server_assignor = Some(assignor.clone());
                self.sent.server_assignor = Some(assignor.clone());
            }
        }
        let current = self.current.clone().unwrap_or_default();
        if full || self.sent.assignment.as_ref() != Some(&current) {
            r.topic_partitions = Some(
                current
                    .partitions
                    .iter()
                    .map(|(id, ps)| TopicPartitions {
                        topic_id: *id,
                        partitions: ps.iter().copied().collect(),
                        unknown_tagged_fields: Vec::new(),
                    })
                    .collect(),
            );
            self.sent.assignment = Some(current);
        }
        r
    }

    /// Java's `maybeReconcile`: resolve the target's topic names, revoke what is no longer assigned, then assign.
    fn maybe_reconcile(&mut self, names: &dyn TopicNames, out: &mut Vec<Action>) {
        if self.state != ConsumerGroupState::Reconciling || self.pending.is_some() {
            return;
        }
        let Some(target) = self.target.clone() else { return };
        let mut resolved = IdAssignment::new();
        let mut resolved_names = BTreeMap::new();
        let mut unresolved = BTreeSet::new();
        for (id, partitions) in &target.partitions {
            match names.topic_name(*id).or_else(|| self.names.get(id).cloned()) {
                Some(name) => {
                    resolved.insert(*id, partitions.clone());
                    resolved_names.insert(*id, name);
                }
                None => {
                    unresolved.insert(*id);
                }
            }
        }
        if !unresolved.is_empty() && unresolved != self.requested_ids {
            debug!(?unresolved, "consumer group: assigned topic ids unknown to the metadata");
            out.push(Action::RefreshMetadata { topic_ids: unresolved.iter().copied().collect() });
        }
        self.requested_ids = unresolved;
        if let Some(current) = &self.current {
            if current.partitions == resolved {
                // Only unresolved topics differ: acknowledge the resolvable part once per target.
                if current.epoch != target.epoch {
                    self.current = Some(LocalAssignment { epoch: target.epoch, partitions: resolved });
                    self.state = ConsumerGroupState::Acknowledging;
                }
                return;
            }
        }
        let named: BTreeSet<TopicPartition> = resolved
            .iter()
            .flat_map(|(id, ps)| {
                let name = resolved_names.get(id).cloned().unwrap_or_default();
                ps.iter().map(move |&p| TopicPartition::new(name.clone(), p))
            })
            .collect();
        let revoked: Vec<TopicPartition> = self.owned.difference(&named).cloned().collect();
        let added: Vec<TopicPartition> = named.difference(&self.owned).cloned().collect();
        info!(?added, ?revoked, member_epoch = self.epoch, "consumer group: reconciling");
        let rec = Reconciliation {
            resolved: LocalAssignment { epoch: target.epoch, partitions: resolved },
            named,
            names: resolved_names,
            added,
        };
        if revoked.is_empty() {
            self.complete_reconciliation(rec, out);
        } else {
            self.start_revocation(revoked, out);
            self.pending = Some(Pending::Reconcile(Box::new(rec)));
        }
    }

    fn complete_reconciliation(&mut self, rec: Reconciliation, out: &mut Vec<Action>) {
        self.owned = rec.named;
        self.names = rec.names;
        self.current = Some(rec.resolved);
        out.push(Action::Assigned(rec.added));
        self.state = ConsumerGroupState::Acknowledging;
    }
}

/// A random member id in Kafka's UUID form (URL-safe base64, 22 characters), as Java's `Uuid.randomUuid()`: a
/// version 4 UUID, never the reserved zero or metadata-topic ids and never starting with `-`. The randomness comes
/// from the standard library's per-process random hash keys mixed with the clock: unique, not secret.
pub fn generate_member_id() -> String {
    let state = RandomState::new();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let mut attempt = 0u64;
    loop {
        let mut h = state.build_hasher();
        h.write_u128(nanos);
        h.write_u64(attempt);
        let hi = h.finish();
        h.write_u64(hi);
        let lo = h.finish();
        let hi = (hi & !0xf000) | 0x4000; // version 4
        let lo = (lo & !(0b11 << 62)) | (0b10 << 62); // IETF variant
        let id = Uuid::from_u64_pair(hi, lo);
        let text = id.to_string();
        if id != Uuid::ZERO && id != Uuid::from_u64_pair(0, 1) && !text.starts_with('-') {
            return text;
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests;
