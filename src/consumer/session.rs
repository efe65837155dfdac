//! Fetch session bookkeeping (KIP-227) for one broker: which partitions the broker holds in our session and with
//! what fetch state, so that each fetch sends only what changed.
//!
//! - No session yet (or after an error): id 0, epoch 0 asks the broker to create one; the request is a full fetch
//!   listing every partition. A reply with id 0 means the broker made none, and the next fetch asks again.
//! - In a session: the request carries the session id and the next epoch, only partitions that are new or whose
//!   fetch offset, leader epoch, size or topic id changed, and `forgotten_topics_data` for partitions left out.
//! - FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH or a failed request: the next fetch is a full one that
//!   closes the old session (its id with epoch 0) and asks for a new one.
//!
//! The planned state becomes the session's only when the broker's reply confirms it.

use std::collections::HashMap;
use std::sync::Arc;

use kafkar_protocol::ErrorCode;
use kafkar_protocol::primitives::Uuid;

/// A partition in the session, by topic name and index.
pub(crate) type SessionKey = (Arc<str>, i32);

/// What was sent for a partition (what the broker remembers for it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SentPartition {
    pub topic_id: Uuid,
    pub fetch_offset: i64,
    pub current_leader_epoch: i32,
    pub max_bytes: i32,
}

/// The session epoch for a new session.
const INITIAL_EPOCH: i32 = 0;

/// The fetch session with one broker.
#[derive(Debug, Default)]
pub(crate) struct FetchSession {
    id: i32,
    epoch: i32,
    /// Whether the session names topics by id (Fetch v13+); a change of addressing needs a new session.
    by_id: bool,
    partitions: HashMap<SessionKey, SentPartition>,
}

/// One request's worth of session changes.
#[derive(Debug)]
pub(crate) struct FetchPlan {
    pub session_id: i32,
    pub epoch: i32,
    /// Whether this is a full fetch (every partition listed).
    pub full: bool,
    /// Partitions to put in the request.
    pub send: Vec<(SessionKey, SentPartition)>,
    /// Partitions to forget: key and the topic id the session knew them by.
    pub forget: Vec<(SessionKey, Uuid)>,
    /// The session's partitions once the broker accepts the request.
    next: HashMap<SessionKey, SentPartition>,
    by_id: bool,
}

impl FetchPlan {
    /// Every partition the session will hold (to resolve topic ids in the reply).
    pub fn partitions(&self) -> impl Iterator<Item = (&SessionKey, &SentPartition)> {
        self.next.iter()
    }
}

impl FetchSession {
    /// The session id (0 when none).
    pub fn id(&self) -> i32 {
        self.id
    }

    /// The next request's epoch.
    #[cfg(test)]
    pub fn epoch(&self) -> i32 {
        self.epoch
    }

    /// Plans the next request for the partitions `wanted` (each at most once).
    pub fn plan(&self, wanted: Vec<(SessionKey, SentPartition)>, by_id: bool) -> FetchPlan {
        let full = self.epoch == INITIAL_EPOCH || self.id == 0 || by_id != self.by_id;
        let next: HashMap<SessionKey, SentPartition> = wanted.iter().cloned().collect();
        if full {
            // Closing an old session while opening a new one: its id with epoch 0.
            let session_id = if by_id == self.by_id { self.id } else { 0 };
            return FetchPlan { session_id, epoch: INITIAL_EPOCH, full, send: wanted, forget: Vec::new(), next, by_id };
        }
        let mut send = Vec::new();
        let mut forget = Vec::new();
        for (key, p) in wanted {
            match self.partitions.get(&key) {
                Some(old) if old == &p => {}
                Some(old) if old.topic_id != p.topic_id => {
                    forget.push((key.clone(), old.topic_id));
                    send.push((key, p));
                }
                _ => send.push((key, p)),
            }
        }
        for (key, old) in &self.partitions {
            if !next.contains_key(key) {
                forget.push((key.clone(), old.topic_id));
            }
        }
        FetchPlan { session_id: self.id, epoch: self.epoch, full, send, forget, next, by_id }
    }

    /// The broker answered `plan`'s request with top-level `error` and `session_id`.
    pub fn on_response(&mut self, plan: FetchPlan, error: ErrorCode, session_id: i32) {
        if error.is_err() {
            // FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH or anything else at the top: start over.
            self.on_failure();
            return;
        }
        if session_id == 0 {
            // The broker keeps no session (or closed ours): every request is a full one, each asking for a session.
            *self = FetchSession { by_id: plan.by_id, ..Default::default() };
            return;
        }
        if plan.full || session_id == self.id {
            self.id = session_id;
            self.epoch = next_epoch(plan.epoch);
            self.partitions = plan.next;
            self.by_id = plan.by_id;
        } else {
            // A different session id in reply to an incremental request: the broker does not follow; start over.
            self.on_failure();
        }
    }

    /// The request failed (no reply, or an error at the top): the next fetch is a full one, closing this session.
    pub fn on_failure(&mut self) {
        self.epoch = INITIAL_EPOCH;
        self.partitions.clear();
    }

    /// Whether the session holds `key`.
    #[cfg(test)]
    pub fn contains(&self, key: &SessionKey) -> bool {
        self.partitions.contains_key(key)
    }
}

fn next_epoch(epoch: i32) -> i32 {
    // Epochs wrap from i32::MAX to 1 (0 opens a session, -1 closes it).
    if epoch == i32::MAX { 1 } else { epoch + 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(t: &str, p: i32) -> SessionKey {
        (Arc::from(t), p)
    }

    fn sent(offset: i64) -> SentPartition {
        SentPartition { topic_id: Uuid([1; 16]), fetch_offset: offset, current_leader_epoch: 0, max_bytes: 100 }
    }

    fn keys(v: &[(SessionKey, SentPartition)]) -> Vec<(String, i32, i64)> {
        let mut k: Vec<_> = v.iter().map(|(k, p)| (k.0.to_string(), k.1, p.fetch_offset)).collect();
        k.sort();
        k
    }

    #[test]
    fn first_fetch_is_full_then_only_changes_are_sent() {
        let mut s = FetchSession::default();
        let p = s.plan(vec![(key("a", 0), sent(0)), (key("a", 1), sent(0))], true);
        assert!(p.full);
        assert_eq!((p.session_id, p.epoch), (0, 0));
        assert_eq!(p.send.len(), 2);
        s.on_response(p, ErrorCode::NONE, 77);
        assert_eq!((s.id(), s.epoch()), (77, 1));

        // a-0 advanced, a-1 did not, b-0 is new.
        let p = s.plan(vec![(key("a", 0), sent(10)), (key("a", 1), sent(0)), (key("b", 0), sent(5))], true);
        assert!(!p.full);
        assert_eq!((p.session_id, p.epoch), (77, 1));
        assert_eq!(keys(&p.send), vec![("a".into(), 0, 10), ("b".into(), 0, 5)]);
        assert!(p.forget.is_empty());
        s.on_response(p, ErrorCode::NONE, 77);
        assert_eq!(s.epoch(), 2);

        // a-1 dropped (paused): forgotten; nothing else changed.
        let p = s.plan(vec![(key("a", 0), sent(10)), (key("b", 0), sent(5))], true);
        assert!(p.send.is_empty());
        assert_eq!(p.forget.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(), vec![key("a", 1)]);
        s.on_response(p, ErrorCode::NONE, 77);
        assert!(!s.contains(&key("a", 1)));
        assert_eq!(s.epoch(), 3);
    }

    #[test]
    fn session_errors_and_failures_fall_back_to_a_full_fetch() {
        for err in [ErrorCode::FETCH_SESSION_ID_NOT_FOUND, ErrorCode::INVALID_FETCH_SESSION_EPOCH] {
            let mut s = FetchSession::default();
            let p = s.plan(vec![(key("a", 0), sent(0))], true);
            s.on_response(p, ErrorCode::NONE, 5);
            let p = s.plan(vec![(key("a", 0), sent(3))], true);
            assert!(!p.full);
            s.on_response(p, err, 0);
            let p = s.plan(vec![(key("a", 0), sent(3))], true);
            assert!(p.full, "{err}");
            assert_eq!((p.session_id, p.epoch), (5, 0), "closes the old session while opening a new one");
            assert_eq!(p.send.len(), 1);
        }
        let mut s = FetchSession::default();
        let p = s.plan(vec![(key("a", 0), sent(0))], true);
        s.on_response(p, ErrorCode::NONE, 5);
        s.on_failure();
        assert!(s.plan(vec![(key("a", 0), sent(0))], true).full);
    }

    #[test]
    fn a_broker_without_sessions_gets_full_fetches() {
        let mut s = FetchSession::default();
        for _ in 0..3 {
            let p = s.plan(vec![(key("a", 0), sent(0))], false);
            assert!(p.full);
            assert_eq!((p.session_id, p.epoch), (0, 0));
            s.on_response(p, ErrorCode::NONE, 0);
        }
    }

    #[test]
    fn changed_topic_id_or_addressing_is_handled() {
        let mut s = FetchSession::default();
        let p = s.plan(vec![(key("a", 0), sent(0))], true);
        s.on_response(p, ErrorCode::NONE, 9);
        let mut recreated = sent(0);
        recreated.topic_id = Uuid([2; 16]);
        let p = s.plan(vec![(key("a", 0), recreated)], true);
        assert_eq!(p.forget, vec![(key("a", 0), Uuid([1; 16]))]);
        assert_eq!(p.send.len(), 1);
        // Switching from ids to names (a topic without an id) needs a new session.
        let p = s.plan(vec![(key("a", 0), sent(0))], false);
        assert!(p.full);
        assert_eq!(p.session_id, 0);
    }

    #[test]
    fn epochs_wrap_past_max() {
        assert_eq!(next_epoch(1), 2);
        assert_eq!(next_epoch(i32::MAX), 1);
    }
}
