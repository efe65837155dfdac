//! Group membership as socket-free state machines: [`ClassicMembership`] for the classic protocol
//! (JoinGroup/SyncGroup/Heartbeat/LeaveGroup with client-side assignment) and [`ConsumerGroupMembership`] for the
//! KIP-848 consumer protocol (ConsumerGroupHeartbeat with server-side assignment).
//!
//! Both are driven the same way, with the current time passed in and no IO inside:
//! - the driver calls `poll(now)` when `next_timeout(now)` is reached, hands every response (or request failure)
//!   to the matching `handle_*` method, and tells the machine about coordinator lookups, application polls and
//!   completed revocations;
//! - every call returns [`Action`]s, which the driver performs **in order**: sending requests to the coordinator,
//!   looking the coordinator up, committing offsets and running the rebalance callbacks.
//!
//! A [`Action::Revoked`] must be acknowledged with `revocation_complete(now)` once the application has stopped
//! using the partitions (after the commit of a preceding [`Action::CommitBeforeRevoke`] and the revoke callback):
//! the protocol does not let another member have them before that. Heartbeats go on meanwhile.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use kafkar_protocol::messages::consumer_group_heartbeat::ConsumerGroupHeartbeatRequest;
use kafkar_protocol::messages::heartbeat::HeartbeatRequest;
use kafkar_protocol::messages::join_group::JoinGroupRequest;
use kafkar_protocol::messages::leave_group::LeaveGroupRequest;
use kafkar_protocol::messages::sync_group::SyncGroupRequest;
use kafkar_protocol::primitives::Uuid;

use super::TopicPartition;
use crate::config::parse_ms;
use crate::error::{Error, Result};

pub mod classic;
pub mod consumer_group;
#[cfg(test)]
mod test_actions;

pub use classic::{ClassicApiVersions, ClassicMembership, ClassicState, GroupRequest};
pub use consumer_group::{ConsumerGroupMembership, ConsumerGroupState};

/// Something the driver must do, returned by the membership state machines. Perform them in the order given.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Action {
    /// Find the group coordinator (FindCoordinator), then call `coordinator_found` or `coordinator_lookup_failed`.
    /// Replies still outstanding from the previous coordinator must not be handed to the machine any more.
    FindCoordinator,
    /// Send a JoinGroup request to the coordinator with a request timeout of at least `timeout` (the rebalance
    /// timeout plus a margin: the coordinator holds the request until the group has rejoined).
    SendJoinGroup {
        /// The request.
        request: JoinGroupRequest,
        /// The version to encode it at.
        version: i16,
        /// The least request timeout to use.
        timeout: Duration,
    },
    /// Send a SyncGroup request to the coordinator.
    SendSyncGroup {
        /// The request.
        request: SyncGroupRequest,
        /// The version to encode it at.
        version: i16,
    },
    /// Send a Heartbeat request to the coordinator.
    SendHeartbeat {
        /// The request.
        request: HeartbeatRequest,
        /// The version to encode it at.
        version: i16,
    },
    /// Send a LeaveGroup request to the coordinator. Its reply need not be handed back (it changes nothing).
    SendLeaveGroup {
        /// The request.
        request: LeaveGroupRequest,
        /// The version to encode it at.
        version: i16,
    },
    /// Send a ConsumerGroupHeartbeat request (KIP-848) to the coordinator.
    SendConsumerGroupHeartbeat {
        /// The request.
        request: ConsumerGroupHeartbeatRequest,
        /// The version to encode it at.
        version: i16,
    },
    /// The metadata lacks the names of these topic ids, which the coordinator assigned (KIP-848): refresh it; the
    /// partitions are taken on once the names are known.
    RefreshMetadata {
        /// The unknown topic ids.
        topic_ids: Vec<Uuid>,
    },
    /// Auto-commit is on: commit the consumed positions of these partitions before revoking them. Always directly
    /// followed by [`Action::Revoked`] for the same partitions.
    CommitBeforeRevoke(Vec<TopicPartition>),
    /// These partitions are taken away: stop fetching them, run the revoke callback, then call
    /// `revocation_complete`. They no longer appear in `assignment()`.
    Revoked(Vec<TopicPartition>),
    /// These partitions are newly assigned (possibly none): run the assign callback and start fetching them.
    Assigned(Vec<TopicPartition>),
    /// These partitions were lost: the member left or was removed from the group (session timeout, fencing, poll
    /// timeout) and another member may own them already. Stop fetching them without committing; run the lost
    /// callback.
    Lost(Vec<TopicPartition>),
    /// An unrecoverable error: the member stopped and takes no further part in the group.
    Fatal(Error),
}

/// The group settings both membership protocols use, with the Java client's names and defaults.
#[derive(Clone, Debug)]
pub struct GroupConfig {
    /// `group.id`.
    pub group_id: String,
    /// `group.instance.id`: makes the member static (KIP-345).
    pub group_instance_id: Option<String>,
    /// `client.rack`: sent in the subscription (classic) or heartbeat (KIP-848) for rack-aware assignment.
    pub client_rack: Option<String>,
    /// `session.timeout.ms` (classic; default 45 s): the coordinator removes a member it has not heard from for
    /// this long, and a member that got no successful heartbeat reply for this long considers its partitions lost.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms` (classic; default 3 s). KIP-848 members use the interval the coordinator gives.
    pub heartbeat_interval: Duration,
    /// `max.poll.interval.ms` (default 5 min): the longest the application may go without polling before the
    /// member leaves the group; also the rebalance timeout sent to the coordinator.
    pub max_poll_interval: Duration,
    /// `retry.backoff.ms` (default 100 ms): first wait before retrying a failed group request.
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms` (default 1 s): cap of the exponential retry backoff.
    pub retry_backoff_max: Duration,
    /// `request.timeout.ms` (default 30 s), the floor of the JoinGroup request timeout.
    pub request_timeout: Duration,
    /// `enable.auto.commit` (default true): commit consumed positions before revoking partitions.
    pub auto_commit: bool,
    /// `group.remote.assignor` (KIP-848): the server-side assignor to ask for; `None` lets the coordinator choose.
    pub server_assignor: Option<String>,
}

impl GroupConfig {
    /// The Java defaults for group `group_id`.
    pub fn new(group_id: impl Into<String>) -> GroupConfig {
        GroupConfig {
            group_id: group_id.into(),
            group_instance_id: None,
            client_rack: None,
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_interval: Duration::from_secs(300),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            request_timeout: Duration::from_secs(30),
            auto_commit: true,
            server_assignor: None,
        }
    }

    /// Sets a property by its Java client name. Returns `Ok(false)` for a name this struct does not hold, and an
    /// error for a bad value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        let optional = |v: &str| Some(v.trim()).filter(|v| !v.is_empty()).map(str::to_owned);
        match key {
            "group.id" => self.group_id = value.to_owned(),
            "group.instance.id" => self.group_instance_id = optional(value),
            "client.rack" => self.client_rack = optional(value),
            "group.remote.assignor" => self.server_assignor = optional(value),
            "session.timeout.ms" => self.session_timeout = parse_ms(key, value)?,
            "heartbeat.interval.ms" => self.heartbeat_interval = parse_ms(key, value)?,
            "max.poll.interval.ms" => self.max_poll_interval = parse_ms(key, value)?,
            "retry.backoff.ms" => self.retry_backoff = parse_ms(key, value)?,
            "retry.backoff.max.ms" => self.retry_backoff_max = parse_ms(key, value)?,
            "request.timeout.ms" => self.request_timeout = parse_ms(key, value)?,
            "enable.auto.commit" => {
                self.auto_commit = match value.trim() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(Error::config(format!("{key}: expected true or false, got {value:?}"))),
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks the settings: a group id, an instance id that is not empty, a heartbeat interval shorter than the
    /// session timeout, and timeouts that fit the protocol's int32 milliseconds.
    pub fn validate(&self) -> Result<()> {
        if self.group_id.is_empty() {
            return Err(Error::config("group.id is required for group membership"));
        }
        if self.heartbeat_interval >= self.session_timeout {
            return Err(Error::config("heartbeat.interval.ms must be lower than session.timeout.ms"));
        }
        for (name, d) in
            [("session.timeout.ms", self.session_timeout), ("max.poll.interval.ms", self.max_poll_interval)]
        {
            if d.is_zero() || d.as_millis() > i32::MAX as u128 {
                return Err(Error::config(format!("{name} must be between 1 and {} ms", i32::MAX)));
            }
        }
        Ok(())
    }

    pub(crate) fn is_static(&self) -> bool {
        self.group_instance_id.is_some()
    }
}

/// Resolves topic ids to names from the caller's metadata (KIP-848 assignments name topics by id).
pub trait TopicNames {
    /// The name of the topic with id `topic_id`, if the metadata knows it.
    fn topic_name(&self, topic_id: Uuid) -> Option<String>;
}

impl<F: Fn(Uuid) -> Option<String>> TopicNames for F {
    fn topic_name(&self, topic_id: Uuid) -> Option<String> {
        self(topic_id)
    }
}

impl TopicNames for HashMap<Uuid, String> {
    fn topic_name(&self, topic_id: Uuid) -> Option<String> {
        self.get(&topic_id).cloned()
    }
}

impl TopicNames for BTreeMap<Uuid, String> {
    fn topic_name(&self, topic_id: Uuid) -> Option<String> {
        self.get(&topic_id).cloned()
    }
}

/// Exponential retry backoff: `base`, doubling per attempt, capped at `max` (no jitter, so tests can compute it).
#[derive(Clone, Debug)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    attempts: u32,
}

impl Backoff {
    pub(crate) fn new(base: Duration, max: Duration) -> Backoff {
        Backoff { base, max: max.max(base), attempts: 0 }
    }

    /// The wait before the next retry; each call doubles the following one.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let d = self.base.saturating_mul(1u32 << self.attempts.min(16)).min(self.max);
        self.attempts = self.attempts.saturating_add(1);
        d
    }

    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
    }
}

/// What the member knows of its coordinator; `V` is what it needs to talk to it (the negotiated versions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Coordinator<V> {
    /// Unknown; look it up (again) at `retry_at`.
    Unknown { retry_at: Instant },
    /// A [`Action::FindCoordinator`] is outstanding.
    Finding,
    /// Known, with the versions to use.
    Known(V),
}

impl<V: Copy> Coordinator<V> {
    pub(crate) fn known(&self) -> Option<V> {
        match self {
            Coordinator::Known(v) => Some(*v),
            _ => None,
        }
    }

    /// Emits a lookup if one is due.
    pub(crate) fn maybe_find(&mut self, now: Instant, out: &mut Vec<Action>) {
        if let Coordinator::Unknown { retry_at } = *self {
            if now >= retry_at {
                *self = Coordinator::Finding;
                out.push(Action::FindCoordinator);
            }
        }
    }

    /// When a lookup is next due, if the machine is waiting for one.
    pub(crate) fn lookup_due(&self) -> Option<Instant> {
        match self {
            Coordinator::Unknown { retry_at } => Some(*retry_at),
            _ => None,
        }
    }
}

/// Milliseconds as the protocol's int32, saturating.
pub(crate) fn millis_i32(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

/// Whether a failed coordinator lookup may be retried.
pub(crate) fn lookup_retriable(error: &Error) -> bool {
    error.is_retriable()
}

/// The earliest of some optional instants.
pub(crate) fn earliest(times: impl IntoIterator<Item = Option<Instant>>) -> Option<Instant> {
    times.into_iter().flatten().min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_java_names_and_validation() {
        let mut c = GroupConfig::new("g");
        assert!(c.set("session.timeout.ms", "10000").unwrap());
        assert!(c.set("group.instance.id", "i-1").unwrap());
        assert!(c.set("enable.auto.commit", "false").unwrap());
        assert!(c.set("group.remote.assignor", "uniform").unwrap());
        assert!(!c.set("fetch.min.bytes", "1").unwrap());
        assert!(c.set("enable.auto.commit", "maybe").is_err());
        assert!(c.set("heartbeat.interval.ms", "soon").is_err());
        assert_eq!(c.session_timeout, Duration::from_secs(10));
        assert_eq!(c.group_instance_id.as_deref(), Some("i-1"));
        assert!(!c.auto_commit);
        assert_eq!(c.server_assignor.as_deref(), Some("uniform"));
        c.validate().unwrap();
        c.set("heartbeat.interval.ms", "10000").unwrap();
        assert!(c.validate().is_err());
        assert!(GroupConfig::new("").validate().is_err());
        c.set("group.instance.id", " ").unwrap();
        assert_eq!(c.group_instance_id, None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000));
        let got: Vec<u128> = (0..6).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(got, vec![100, 200, 400, 800, 1000, 1000]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
        for _ in 0..100 {
            b.next_delay();
        }
        assert_eq!(b.next_delay(), Duration::from_millis(1000));
    }
}
