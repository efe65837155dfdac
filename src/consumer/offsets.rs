//! Offset look-ups and commits: ListOffsets (earliest/latest/by timestamp) and OffsetForLeaderEpoch at partition
//! leaders, and the group's committed offsets (OffsetFetch/OffsetCommit) at its coordinator (FindCoordinator).
//!
//! Every call here retries what Kafka marks retriable (leadership moved, coordinator loading or moved, unstable
//! offsets) after `retry.backoff.ms`, refreshing metadata or the coordinator, until its deadline.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kafkar_protocol::messages::find_coordinator::{CoordinatorType, FindCoordinatorRequest};
use kafkar_protocol::messages::list_offsets::{
    CONSUMER_REPLICA_ID, ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use kafkar_protocol::messages::offset_commit::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafkar_protocol::messages::offset_fetch::{
    OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafkar_protocol::messages::offset_for_leader_epoch::{
    OffsetForLeaderEpochRequest, OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafkar_protocol::primitives::Uuid;
use kafkar_protocol::{ApiKey, ErrorCode};
use tokio::time::Instant;
use tracing::debug;

use super::TopicPartition;
use super::record::{OffsetAndMetadata, epoch_opt};
use crate::cluster::Cluster;
use crate::error::{Error, ErrorKind, Result};
use crate::net::{Connection, ConnectionClass};

/// An offset ListOffsets returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ListedOffset {
    pub offset: i64,
    pub timestamp: i64,
    pub leader_epoch: Option<i32>,
}

fn timed_out(what: &str) -> Error {
    Error::new(ErrorKind::Timeout).with_message(Some(format!("{what} did not finish in time")))
}

/// Whether a per-partition error from a leader means "refresh metadata and retry".
pub(crate) fn is_leadership_error(code: ErrorCode) -> bool {
    code == ErrorCode::NOT_LEADER_OR_FOLLOWER
        || code == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
        || code == ErrorCode::UNKNOWN_TOPIC_ID
        || code == ErrorCode::INCONSISTENT_TOPIC_ID
        || code == ErrorCode::FENCED_LEADER_EPOCH
        || code == ErrorCode::UNKNOWN_LEADER_EPOCH
        || code == ErrorCode::LEADER_NOT_AVAILABLE
        || code == ErrorCode::REPLICA_NOT_AVAILABLE
        || code == ErrorCode::KAFKA_STORAGE_ERROR
        || code == ErrorCode::OFFSET_NOT_AVAILABLE
        || code == ErrorCode::NOT_ENOUGH_REPLICAS
}

/// One ListOffsets round: asks each partition's leader for `timestamp` (or a special negative value) once.
/// Partitions whose topic or leader is unknown get LEADER_NOT_AVAILABLE.
pub(crate) async fn list_offsets_once(
    cluster: &Cluster,
    isolation_level: i8,
    wanted: &[(TopicPartition, i64)],
) -> HashMap<TopicPartition, Result<ListedOffset>> {
    let snap = cluster.snapshot();
    let mut out = HashMap::new();
    let mut by_leader: BTreeMap<i32, Vec<(&TopicPartition, i64, i32)>> = BTreeMap::new();
    for (tp, ts) in wanted {
        let part = snap.topic(&tp.topic).and_then(|t| t.partitions.get(usize::try_from(tp.partition).ok()?));
        match part {
            Some(p) if p.leader >= 0 => by_leader.entry(p.leader).or_default().push((tp, *ts, p.leader_epoch)),
            Some(_) => {
                out.insert(
                    tp.clone(),
                    Err(Error::broker(ErrorCode::LEADER_NOT_AVAILABLE).with_partition(&tp.topic, tp.partition)),
                );
            }
            None => {
                let code = if snap.topic(&tp.topic).is_some() {
                    ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                } else {
                    ErrorCode::LEADER_NOT_AVAILABLE
                };
                out.insert(tp.clone(), Err(Error::broker(code).with_partition(&tp.topic, tp.partition)));
            }
        }
    }
    for (leader, parts) in by_leader {
        let result = async {
            let conn = cluster.pool().node_for(ConnectionClass::Control, leader).await?;
            let version = conn.versions().pick::<ListOffsetsRequest>()?;
            let mut topics: Vec<ListOffsetsTopic> = Vec::new();
            for (tp, ts, epoch) in &parts {
                let p = ListOffsetsPartition {
                    partition_index: tp.partition,
                    current_leader_epoch: if version >= 4 { *epoch } else { -1 },
                    timestamp: *ts,
                    ..Default::default()
                };
                match topics.iter_mut().find(|t| t.name == tp.topic) {
                    Some(t) => t.partitions.push(p),
                    None => topics.push(ListOffsetsTopic {
                        name: tp.topic.clone(),
                        partitions: vec![p],
                        ..Default::default()
                    }),
                }
            }
            let req = ListOffsetsRequest {
                replica_id: CONSUMER_REPLICA_ID,
                isolation_level,
                topics,
                // TimeoutMs exists from v10 (Kafka 4.0); older brokers get the field's default (0), never an
                // unencodable request.
                timeout_ms: if version >= 10 {
                    i32::try_from(cluster.config().request_timeout.as_millis()).unwrap_or(i32::MAX)
                } else {
                    0
                },
                ..Default::default()
            };
            conn.send_at(&req, version).await
        }
        .await;
        match result {
            Ok(resp) => {
                for t in resp.topics {
                    for p in t.partitions {
                        let tp = TopicPartition::new(t.name.clone(), p.partition_index);
                        let r = if p.error_code.is_err() {
                            Err(Error::broker(p.error_code)
                                .with_api(ApiKey::LIST_OFFSETS)
                                .with_partition(&tp.topic, tp.partition))
                        } else {
                            Ok(ListedOffset {
                                offset: p.offset,
                                timestamp: p.timestamp,
                                leader_epoch: epoch_opt(p.leader_epoch),
                            })
                        };
                        out.insert(tp, r);
                    }
                }
                for (tp, _, _) in parts {
                    out.entry(tp.clone()).or_insert_with(|| {
                        Err(Error::protocol("ListOffsets reply left out a partition")
                            .with_partition(&tp.topic, tp.partition))
                    });
                }
            }
            Err(e) => {
                for (tp, _, _) in parts {
                    out.insert(tp.clone(), Err(e.clone().with_partition(&tp.topic, tp.partition)));
                }
            }
        }
    }
    out
}

/// ListOffsets until every partition has an answer or a non-retriable error, or `deadline` passes.
pub(crate) async fn list_offsets(
    cluster: &Cluster,
    isolation_level: i8,
    wanted: &[(TopicPartition, i64)],
    deadline: Instant,
) -> Result<HashMap<TopicPartition, ListedOffset>> {
    let mut topics: Vec<String> = wanted.iter().map(|(tp, _)| tp.topic.clone()).collect();
    topics.sort();
    topics.dedup();
    for t in &topics {
        let left = deadline.saturating_duration_since(Instant::now());
        cluster.topic(t, left).await?;
    }
    let mut done = HashMap::new();
    let mut todo: Vec<(TopicPartition, i64)> = wanted.to_vec();
    loop {
        let got = list_offsets_once(cluster, isolation_level, &todo).await;
        let mut retry = Vec::new();
        let mut last = None;
        for (tp, ts) in todo {
            match got.get(&tp) {
                Some(Ok(o)) => {
                    done.insert(tp, *o);
                }
                Some(Err(e)) if e.is_retriable() || e.code().is_some_and(is_leadership_error) => {
                    last = Some(e.clone());
                    retry.push((tp, ts));
                }
                Some(Err(e)) => return Err(e.clone()),
                None => retry.push((tp, ts)),
            }
        }
        if retry.is_empty() {
            return Ok(done);
        }
        if Instant::now() >= deadline {
            return Err(last.unwrap_or_else(|| timed_out("ListOffsets")));
        }
        debug!(partitions = retry.len(), error = ?last.as_ref().map(|e| e.to_string()), "retrying ListOffsets");
        tokio::time::sleep(cluster.config().retry_backoff).await;
        let _ = cluster.refresh().await;
        todo = retry;
    }
}

/// OffsetForLeaderEpoch for one partition at its leader: the end offset of `epoch` (or of the largest epoch below
/// it) as `(epoch, end_offset)`.
pub(crate) async fn end_offset_for_epoch(
    cluster: &Cluster,
    tp: &TopicPartition,
    current_leader_epoch: i32,
    epoch: i32,
) -> Result<(i32, i64)> {
    let (_, conn) = cluster.leader(&tp.topic, tp.partition).await?;
    let version = conn.versions().pick::<OffsetForLeaderEpochRequest>()?;
    let req = OffsetForLeaderEpochRequest {
        replica_id: kafkar_protocol::messages::offset_for_leader_epoch::CONSUMER_REPLICA_ID,
        topics: vec![OffsetForLeaderTopic {
            topic: tp.topic.clone(),
            partitions: vec![OffsetForLeaderPartition {
                partition: tp.partition,
                current_leader_epoch,
                leader_epoch: epoch,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let resp = conn.send_at(&req, version).await?;
    let p = resp
        .topics
        .iter()
        .filter(|t| t.topic == tp.topic)
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition == tp.partition)
        .ok_or_else(|| Error::protocol("OffsetForLeaderEpoch reply left out the partition"))?;
    if p.error_code.is_err() {
        return Err(Error::broker(p.error_code)
            .with_api(ApiKey::OFFSET_FOR_LEADER_EPOCH)
            .with_partition(&tp.topic, tp.partition));
    }
    Ok((p.leader_epoch, p.end_offset))
}

/// Who commits: outside the group (generation -1, no member id) or as a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitIdentity {
    /// The generation (classic) or member epoch (KIP-848); -1 outside the group.
    pub generation: i32,
    /// The member id; empty outside the group.
    pub member_id: String,
    /// The static member's instance id.
    pub group_instance_id: Option<String>,
}

impl Default for CommitIdentity {
    fn default() -> Self {
        CommitIdentity { generation: -1, member_id: String::new(), group_instance_id: None }
    }
}

/// What a subscribed consumer's group driver publishes for its commits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MemberState {
    /// The identity the coordinator accepts commits with now; `None` while none is usable (between JoinGroup and
    /// SyncGroup, before the first generation, after the member was removed).
    pub commit: Option<CommitIdentity>,
    /// Counts the identities published: one more each time `commit` becomes `Some` of a new value or `Some` again
    /// after `None`. A rejoin can end in the very generation and member id it started from (a coordinator that
    /// took over the group from its log numbers the rebalance as its predecessor did), so "the member's next
    /// generation" is told by this count, not by the identity's value.
    pub published: u64,
    /// The partitions the member owns (including those being revoked).
    pub owned: std::collections::BTreeSet<TopicPartition>,
    /// The driver stopped (left the group, failed, or the consumer was dropped): no identity will come.
    pub stopped: bool,
}

/// Who a commit is made as.
pub(crate) enum CommitAs {
    /// A fixed identity: outside the group (generation -1), or one the application set.
    Fixed(CommitIdentity),
    /// A subscribed member: the identity its group driver publishes when the commit is sent.
    Member(tokio::sync::watch::Receiver<MemberState>),
}

/// Errors after which a member's commit is retried with the member's next generation or epoch: the group was
/// completing a rebalance (`REBALANCE_IN_PROGRESS`), or moved on to a generation (`ILLEGAL_GENERATION`) or member
/// epoch (`STALE_MEMBER_EPOCH`) that the member has not seen yet.
fn waits_for_next_generation(e: &Error) -> bool {
    e.code().is_some_and(|c| {
        c == ErrorCode::REBALANCE_IN_PROGRESS
            || c == ErrorCode::ILLEGAL_GENERATION
            || c == ErrorCode::STALE_MEMBER_EPOCH
    })
}

fn rebalance_error(group_id: &str, what: String) -> Error {
    Error::broker(ErrorCode::REBALANCE_IN_PROGRESS)
        .with_api(ApiKey::OFFSET_COMMIT)
        .with_message(Some(format!("group {group_id}: {what}")))
}

/// Looks up the coordinator of group `group_id` (FindCoordinator at any broker) and connects to it with a
/// connection of `class` (membership and offsets each have their own, so that neither waits for the other nor for
/// a Fetch).
pub(crate) async fn find_coordinator(cluster: &Cluster, group_id: &str, class: ConnectionClass) -> Result<Connection> {
    let any = cluster.pool().any().await?;
    let version = any.versions().pick::<FindCoordinatorRequest>()?;
    let req = FindCoordinatorRequest::for_key(version, CoordinatorType::GROUP, group_id.to_owned());
    let resp = any.send_at(&req, version).await?;
    let found = resp
        .coordinator(version, group_id)
        .ok_or_else(|| Error::protocol("FindCoordinator reply left out the group"))?;
    if found.error_code.is_err() {
        return Err(Error::broker(found.error_code)
            .with_api(ApiKey::FIND_COORDINATOR)
            .with_message(found.error_message));
    }
    let conn = cluster.pool().get_for(class, &format!("{}:{}", found.host, found.port)).await?;
    debug!(group = %group_id, node = found.node_id, "group coordinator found");
    Ok(conn)
}

/// The group's committed offsets, at its coordinator.
pub(crate) struct GroupOffsets {
    cluster: Arc<Cluster>,
    group_id: String,
    coordinator: tokio::sync::Mutex<Option<Connection>>,
}

fn coordinator_error(code: ErrorCode) -> bool {
    code == ErrorCode::NOT_COORDINATOR
        || code == ErrorCode::COORDINATOR_NOT_AVAILABLE
        || code == ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
}

impl GroupOffsets {
    pub fn new(cluster: Arc<Cluster>, group_id: String) -> GroupOffsets {
        GroupOffsets { cluster, group_id, coordinator: tokio::sync::Mutex::new(None) }
    }

    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    /// A connection to the coordinator, found with FindCoordinator when not known (or its connection closed).
    async fn coordinator(&self) -> Result<Connection> {
        let mut c = self.coordinator.lock().await;
        if let Some(conn) = c.as_ref().filter(|c| !c.is_closed()) {
            return Ok(conn.clone());
        }
        let conn = find_coordinator(&self.cluster, &self.group_id, ConnectionClass::GroupOffsets).await?;
        *c = Some(conn.clone());
        Ok(conn)
    }

    async fn forget_coordinator(&self) {
        *self.coordinator.lock().await = None;
    }

    /// Topic ids of `topics`, when metadata knows all of them.
    fn topic_ids<'a>(&self, topics: impl Iterator<Item = &'a str>) -> Option<HashMap<String, Uuid>> {
        let snap = self.cluster.snapshot();
        let mut ids = HashMap::new();
        for t in topics {
            let id = snap.topic(t)?.id;
            if id.is_zero() {
                return None;
            }
            ids.insert(t.to_owned(), id);
        }
        Some(ids)
    }

    /// Retries `op` on coordinator and retriable errors until `deadline`.
    async fn with_retry<T, F, Fut>(&self, what: &str, deadline: Instant, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        loop {
            let e = match op().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let coordinator_moved = e.code().is_some_and(coordinator_error)
                || matches!(e.kind(), ErrorKind::Io(_) | ErrorKind::Disconnected(_) | ErrorKind::Timeout);
            if coordinator_moved {
                self.forget_coordinator().await;
            }
            if !(e.is_retriable() || coordinator_moved) || Instant::now() >= deadline {
                return Err(e);
            }
            debug!(group = %self.group_id, error = %e, "retrying {what}");
            tokio::time::sleep(self.cluster.config().retry_backoff).await;
        }
    }

    /// The committed offsets of `partitions` (`None`: nothing committed).
    pub async fn committed(
        &self,
        partitions: &[TopicPartition],
        require_stable: bool,
        deadline: Instant,
    ) -> Result<HashMap<TopicPartition, Option<OffsetAndMetadata>>> {
        let mut topics: Vec<&str> = partitions.iter().map(|tp| tp.topic.as_str()).collect();
        topics.sort_unstable();
        topics.dedup();
        self.with_retry("OffsetFetch", deadline, || self.committed_once(partitions, &topics, require_stable)).await
    }

    async fn committed_once(
        &self,
        partitions: &[TopicPartition],
        topics: &[&str],
        require_stable: bool,
    ) -> Result<HashMap<TopicPartition, Option<OffsetAndMetadata>>> {
        let conn = self.coordinator().await?;
        let mut version = conn.versions().pick::<OffsetFetchRequest>()?;
        let ids = if version >= 10 { self.topic_ids(topics.iter().copied()) } else { None };
        if version >= 10 && ids.is_none() {
            version = 9;
        }
        let indexes =
            |t: &str| -> Vec<i32> { partitions.iter().filter(|tp| tp.topic == t).map(|tp| tp.partition).collect() };
        let mut req = OffsetFetchRequest { require_stable: require_stable && version >= 7, ..Default::default() };
        if version <= 7 {
            req.group_id = self.group_id.clone();
            req.topics = Some(
                topics
                    .iter()
                    .map(|t| OffsetFetchRequestTopic {
                        name: (*t).to_owned(),
                        partition_indexes: indexes(t),
                        ..Default::default()
                    })
                    .collect(),
            );
        } else {
            req.groups = vec![OffsetFetchRequestGroup {
                group_id: self.group_id.clone(),
                topics: Some(
                    topics
                        .iter()
                        .map(|t| OffsetFetchRequestTopics {
                            name: if version >= 10 { String::new() } else { (*t).to_owned() },
                            topic_id: ids.as_ref().and_then(|m| m.get(*t).copied()).unwrap_or(Uuid::ZERO),
                            partition_indexes: indexes(t),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }];
        }
        let resp = conn.send_at(&req, version).await?;
        let name_of = |name: &str, id: Uuid| -> Option<String> {
            if version >= 10 {
                ids.as_ref()?.iter().find(|(_, v)| **v == id).map(|(k, _)| k.clone())
            } else {
                Some(name.to_owned())
            }
        };
        let mut out: HashMap<TopicPartition, Option<OffsetAndMetadata>> = HashMap::new();
        let mut take =
            |topic: String, partition: i32, offset: i64, epoch: i32, meta: Option<String>, err: ErrorCode| {
                if err.is_err() && err != ErrorCode::UNKNOWN_TOPIC_OR_PARTITION {
                    return Err(Error::broker(err).with_api(ApiKey::OFFSET_FETCH).with_partition(&topic, partition));
                }
                let v = (offset >= 0 && err.is_ok()).then(|| OffsetAndMetadata {
                    offset,
                    leader_epoch: epoch_opt(epoch),
                    metadata: meta.unwrap_or_default(),
                });
                out.insert(TopicPartition::new(topic, partition), v);
                Ok(())
            };
        if version <= 7 {
            if resp.error_code.is_err() {
                return Err(Error::broker(resp.error_code).with_api(ApiKey::OFFSET_FETCH));
            }
            for t in resp.topics {
                for p in t.partitions {
                    take(
                        t.name.clone(),
                        p.partition_index,
                        p.committed_offset,
                        p.committed_leader_epoch,
                        p.metadata,
                        p.error_code,
                    )?;
                }
            }
        } else {
            let g = resp
                .groups
                .into_iter()
                .find(|g| g.group_id == self.group_id)
                .ok_or_else(|| Error::protocol("OffsetFetch reply left out the group"))?;
            if g.error_code.is_err() {
                return Err(Error::broker(g.error_code).with_api(ApiKey::OFFSET_FETCH));
            }
            for t in g.topics {
                let Some(name) = name_of(&t.name, t.topic_id) else { continue };
                for p in t.partitions {
                    take(
                        name.clone(),
                        p.partition_index,
                        p.committed_offset,
                        p.committed_leader_epoch,
                        p.metadata,
                        p.error_code,
                    )?;
                }
            }
        }
        for tp in partitions {
            out.entry(tp.clone()).or_insert(None);
        }
        Ok(out)
    }

    /// Commits `offsets` as `who`, until `deadline`.
    ///
    /// A member never commits as an outsider: it waits (until `deadline`) for a generation the coordinator accepts
    /// commits with. If the group completes a rebalance under the commit (`REBALANCE_IN_PROGRESS`,
    /// `ILLEGAL_GENERATION`, `STALE_MEMBER_EPOCH`), the commit waits for the member's next generation and is sent
    /// again for the partitions the member still owns; offsets of partitions it no longer owns are reported as a
    /// `REBALANCE_IN_PROGRESS` error, as is a deadline that passes while waiting. A member the coordinator no longer
    /// knows (`UNKNOWN_MEMBER_ID`, `FENCED_INSTANCE_ID`) gets that error.
    pub async fn commit(
        &self,
        offsets: &[(TopicPartition, OffsetAndMetadata)],
        who: &mut CommitAs,
        deadline: Instant,
    ) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let member = match who {
            CommitAs::Fixed(identity) => {
                return self.with_retry("OffsetCommit", deadline, || self.commit_once(offsets, identity)).await;
            }
            CommitAs::Member(member) => member,
        };
        let mut offsets = offsets.to_vec();
        let mut dropped: Vec<TopicPartition> = Vec::new();
        // The `published` count of the identity a commit was rejected with.
        let mut rejected: Option<u64> = None;
        loop {
            // The first identity usable for a commit, and (after a rejection) one published after the rejected one,
            // even when it carries the same generation and member id.
            let waited = tokio::time::timeout_at(
                deadline,
                member.wait_for(|s| s.stopped || (s.commit.is_some() && Some(s.published) != rejected)),
            )
            .await
            .map(|r| r.map(|state| state.clone()));
            let state = match waited {
                Ok(Ok(state)) => state,
                Ok(Err(_)) => MemberState { stopped: true, ..MemberState::default() },
                Err(_) => {
                    return Err(rebalance_error(
                        &self.group_id,
                        "no generation to commit with before the commit's deadline (the group is rebalancing)"
                            .to_owned(),
                    ));
                }
            };
            let published = state.published;
            let Some(identity) = state.commit.filter(|_| !state.stopped) else {
                return Err(Error::broker(ErrorCode::UNKNOWN_MEMBER_ID)
                    .with_api(ApiKey::OFFSET_COMMIT)
                    .with_message(Some(format!("group {}: the consumer is no longer a member", self.group_id))));
            };
            if rejected.is_some() {
                let (keep, gone): (Vec<_>, Vec<_>) = offsets.into_iter().partition(|(tp, _)| state.owned.contains(tp));
                offsets = keep;
                dropped.extend(gone.into_iter().map(|(tp, _)| tp));
            }
            let result = if offsets.is_empty() {
                Ok(())
            } else {
                self.with_retry("OffsetCommit", deadline, || self.commit_once(&offsets, &identity)).await
            };
            match result {
                Ok(()) if dropped.is_empty() => return Ok(()),
                Ok(()) => {
                    return Err(rebalance_error(
                        &self.group_id,
                        format!("not committed, reassigned during a rebalance: {dropped:?}"),
                    ));
                }
                Err(e) if waits_for_next_generation(&e) && Instant::now() < deadline => {
                    debug!(
                        group = %self.group_id,
                        generation = identity.generation,
                        error = %e,
                        "commit waits for the member's next generation"
                    );
                    rejected = Some(published);
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn commit_once(
        &self,
        offsets: &[(TopicPartition, OffsetAndMetadata)],
        identity: &CommitIdentity,
    ) -> Result<()> {
        let conn = self.coordinator().await?;
        let mut version = conn.versions().pick::<OffsetCommitRequest>()?;
        let ids = if version >= 10 { self.topic_ids(offsets.iter().map(|(tp, _)| tp.topic.as_str())) } else { None };
        if version >= 10 && ids.is_none() {
            version = 9;
        }
        let mut topics: Vec<OffsetCommitRequestTopic> = Vec::new();
        for (tp, o) in offsets {
            let p = OffsetCommitRequestPartition {
                partition_index: tp.partition,
                committed_offset: o.offset,
                committed_leader_epoch: o.leader_epoch.unwrap_or(-1),
                committed_metadata: Some(o.metadata.clone()),
                ..Default::default()
            };
            match topics.iter_mut().find(|t| {
                if version >= 10 {
                    Some(&t.topic_id) == ids.as_ref().and_then(|m| m.get(&tp.topic))
                } else {
                    t.name == tp.topic
                }
            }) {
                Some(t) => t.partitions.push(p),
                None => topics.push(OffsetCommitRequestTopic {
                    name: if version >= 10 { String::new() } else { tp.topic.clone() },
                    topic_id: ids.as_ref().and_then(|m| m.get(&tp.topic).copied()).unwrap_or(Uuid::ZERO),
                    partitions: vec![p],
                    ..Default::default()
                }),
            }
        }
        let req = OffsetCommitRequest {
            group_id: self.group_id.clone(),
            generation_id_or_member_epoch: identity.generation,
            member_id: identity.member_id.clone(),
            group_instance_id: if version >= 7 { identity.group_instance_id.clone() } else { None },
            topics,
            ..Default::default()
        };
        let resp = conn.send_at(&req, version).await?;
        for t in &resp.topics {
            for p in &t.partitions {
                if p.error_code.is_err() {
                    let name = if version >= 10 {
                        ids.as_ref()
                            .and_then(|m| m.iter().find(|(_, v)| **v == t.topic_id).map(|(k, _)| k.clone()))
                            .unwrap_or_default()
                    } else {
                        t.name.clone()
                    };
                    return Err(Error::broker(p.error_code)
                        .with_api(ApiKey::OFFSET_COMMIT)
                        .with_partition(&name, p.partition_index));
                }
            }
        }
        Ok(())
    }
}

/// Deadline `timeout` from now.
pub(crate) fn deadline_in(timeout: std::time::Duration) -> Instant {
    Instant::now() + timeout
}

/// Waits until `deadline` for `fut`, mapping elapsed time to a timeout error naming `what`.
pub(crate) async fn within<T>(
    what: &str,
    deadline: Instant,
    fut: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout_at(deadline, fut).await {
        Ok(r) => r,
        Err(_) => Err(timed_out(what)),
    }
}
