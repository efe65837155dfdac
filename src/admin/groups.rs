//! Group operations: list groups (every broker), describe classic and KIP-848 consumer groups, delete groups, and a
//! group's committed offsets, lag, offset resets and offset deletion, each at the group's coordinator.

use std::collections::{BTreeMap, BTreeSet};

use kafkar_protocol::messages::consumer_group_describe::{
    ConsumerGroupDescribeRequest, DescribedAssignment, DescribedConsumerGroup,
};
use kafkar_protocol::messages::consumer_protocol::{ConsumerProtocolAssignment, ConsumerProtocolSubscription};
use kafkar_protocol::messages::delete_groups::DeleteGroupsRequest;
use kafkar_protocol::messages::describe_groups::{DescribeGroupsRequest, DescribedGroup};
use kafkar_protocol::messages::leave_group::{LeaveGroupRequest, MemberIdentity};
use kafkar_protocol::messages::list_groups::ListGroupsRequest;
use kafkar_protocol::messages::offset_delete::{OffsetDeletePartition, OffsetDeleteRequest, OffsetDeleteTopic};
use kafkar_protocol::messages::offset_fetch::{OffsetFetchRequest, OffsetFetchRequestGroup};
use kafkar_protocol::{ApiKey, ErrorCode};

use super::Admin;
use super::call::{item_error, item_result, retriable};
use super::records::OffsetSpec;
use crate::consumer::offsets::{CommitAs, GroupOffsets, find_coordinator};
use crate::consumer::{CommitIdentity, IsolationLevel, OffsetAndMetadata, TopicPartition};
use crate::error::{Error, ErrorKind, Result};
use crate::net::{Connection, ConnectionClass};

/// Filters for [`Admin::list_groups`] (empty: no filter), as Java 4.x's `ListGroupsOptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListGroupsFilter {
    /// Only groups in these states (`Stable`, `Empty`, `Dead`, `PreparingRebalance`, `Assigning`, ...); the
    /// broker filters (ListGroups v4+).
    pub states: Vec<String>,
    /// Only groups of these types (`classic`, `consumer`, `share`, `streams`); the broker filters (v5+).
    pub types: Vec<String>,
    /// Only groups with these protocol types (`consumer`, or empty for groups that only store offsets); filtered
    /// here.
    pub protocol_types: Vec<String>,
}

/// A group in [`Admin::list_groups`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupListing {
    /// The group id.
    pub group_id: String,
    /// Its protocol type (`consumer` for consumer groups).
    pub protocol_type: String,
    /// Its state, when the broker reports it (ListGroups v4+).
    pub state: Option<String>,
    /// Its type (`classic`, `consumer`, ...), when the broker reports it (v5+).
    pub group_type: Option<String>,
}

/// Which protocol a described group uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupType {
    /// The classic protocol (JoinGroup/SyncGroup, client-side assignment).
    Classic,
    /// The KIP-848 consumer protocol (server-side assignment).
    Consumer,
}

/// A member of a described group.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerGroupMember {
    /// The member id.
    pub member_id: String,
    /// The static member's instance id.
    pub instance_id: Option<String>,
    /// The member's `client.id`.
    pub client_id: String,
    /// The host it connected from.
    pub host: String,
    /// Its rack (KIP-848 groups).
    pub rack: Option<String>,
    /// Its member epoch (KIP-848 groups).
    pub member_epoch: Option<i32>,
    /// The topics it subscribed to (decoded from a classic consumer's subscription).
    pub subscribed_topics: Vec<String>,
    /// Its subscription pattern (KIP-848 groups).
    pub subscribed_pattern: Option<String>,
    /// The partitions it owns (decoded from a classic consumer's assignment).
    pub assignment: Vec<TopicPartition>,
    /// The partitions the coordinator wants it to own (KIP-848 groups).
    pub target_assignment: Vec<TopicPartition>,
}

/// A group as [`Admin::describe_groups`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupDescription {
    /// The group id.
    pub group_id: String,
    /// Its protocol.
    pub group_type: GroupType,
    /// Its state (`Stable`, `Empty`, `Dead`, `PreparingRebalance`, `Reconciling`, ...).
    pub state: String,
    /// Its protocol type (`consumer`; classic groups).
    pub protocol_type: String,
    /// The assignor: the chosen protocol of a classic group, the server-side assignor of a KIP-848 group.
    pub assignor: String,
    /// The group epoch (KIP-848 groups).
    pub group_epoch: Option<i32>,
    /// The target assignment's epoch (KIP-848 groups).
    pub assignment_epoch: Option<i32>,
    /// The members.
    pub members: Vec<ConsumerGroupMember>,
}

impl GroupDescription {
    /// Whether the group has no active member (its offsets may then be reset).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// What [`Admin::group_lag`] measures lag against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LagEnd {
    /// The high watermark (read_uncommitted consumers).
    HighWatermark,
    /// The last stable offset (read_committed consumers: records of open transactions are not yet readable).
    LastStableOffset,
}

/// One partition's lag in [`Admin::group_lag`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupOffsetLag {
    /// The partition.
    pub partition: TopicPartition,
    /// The group's committed offset.
    pub committed: i64,
    /// The partition's end: the high watermark or the last stable offset, as `end` says.
    pub end_offset: i64,
    /// `end_offset - committed`, never negative.
    pub lag: i64,
    /// What `end_offset` is.
    pub end: LagEnd,
}

/// Where [`Admin::reset_group_offsets`] moves a group's offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResetOffsets {
    /// The log start offset.
    Earliest,
    /// The end offset (high watermark).
    Latest,
    /// The first offset with a timestamp at or after this one (ms since the epoch); the end when there is none.
    Timestamp(i64),
    /// This offset, clamped to the partition's range.
    Offset(i64),
    /// The committed offset moved by this many records (negative: back), clamped to the partition's range.
    ShiftBy(i64),
}

/// Maps a classic or KIP-848 assignment to partitions.
fn flatten(topics: impl IntoIterator<Item = (String, Vec<i32>)>) -> Vec<TopicPartition> {
    let mut out: Vec<TopicPartition> =
        topics.into_iter().flat_map(|(t, ps)| ps.into_iter().map(move |p| TopicPartition::new(t.clone(), p))).collect();
    out.sort();
    out
}

fn consumer_assignment(a: DescribedAssignment) -> Vec<TopicPartition> {
    flatten(a.topic_partitions.into_iter().map(|t| (t.topic_name, t.partitions)))
}

fn from_consumer_group(g: DescribedConsumerGroup) -> GroupDescription {
    GroupDescription {
        group_id: g.group_id,
        group_type: GroupType::Consumer,
        state: g.group_state,
        protocol_type: "consumer".to_owned(),
        assignor: g.assignor_name,
        group_epoch: Some(g.group_epoch),
        assignment_epoch: Some(g.assignment_epoch),
        members: g
            .members
            .into_iter()
            .map(|m| ConsumerGroupMember {
                member_id: m.member_id,
                instance_id: m.instance_id,
                client_id: m.client_id,
                host: m.client_host,
                rack: m.rack_id,
                member_epoch: Some(m.member_epoch),
                subscribed_topics: m.subscribed_topic_names,
                subscribed_pattern: m.subscribed_topic_regex,
                assignment: consumer_assignment(m.assignment),
                target_assignment: consumer_assignment(m.target_assignment),
            })
            .collect(),
    }
}

fn from_classic_group(g: DescribedGroup) -> GroupDescription {
    let consumer = g.protocol_type == "consumer";
    GroupDescription {
        group_id: g.group_id,
        group_type: GroupType::Classic,
        state: g.group_state,
        protocol_type: g.protocol_type,
        assignor: g.protocol_data,
        group_epoch: None,
        assignment_epoch: None,
        members: g
            .members
            .into_iter()
            .map(|m| {
                // Only consumer groups carry the consumer protocol's payloads; a payload that does not decode is
                // left out rather than failing the description.
                let subscribed_topics = consumer
                    .then(|| ConsumerProtocolSubscription::decode_versioned(m.member_metadata.clone()).ok())
                    .flatten()
                    .map(|(s, _)| s.topics)
                    .unwrap_or_default();
                let assignment = consumer
                    .then(|| ConsumerProtocolAssignment::decode_versioned(m.member_assignment.clone()).ok())
                    .flatten()
                    .map(|(a, _)| flatten(a.assigned_partitions.into_iter().map(|t| (t.topic, t.partitions))))
                    .unwrap_or_default();
                ConsumerGroupMember {
                    member_id: m.member_id,
                    instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    host: m.client_host,
                    rack: None,
                    member_epoch: None,
                    subscribed_topics,
                    subscribed_pattern: None,
                    assignment,
                    target_assignment: Vec::new(),
                }
            })
            .collect(),
    }
}

/// (topic, partition, offset, leader epoch, metadata, error) for every partition of an OffsetFetch reply's topic
/// list: versions 0-7 and 8+ carry the same fields in different types.
macro_rules! offset_rows {
    ($topics:expr) => {
        $topics
            .into_iter()
            .flat_map(|t| {
                let name = t.name;
                t.partitions.into_iter().map(move |p| {
                    let at = (p.partition_index, p.committed_offset, p.committed_leader_epoch);
                    (name.clone(), at.0, at.1, at.2, p.metadata, p.error_code)
                })
            })
            .collect::<Vec<_>>()
    };
}

/// The error for a group-level failure.
fn group_error(code: ErrorCode, message: Option<String>, api: ApiKey, group: &str) -> Error {
    let m = message.unwrap_or_default();
    item_error(code, Some(if m.is_empty() { format!("group {group}") } else { format!("group {group}: {m}") }), api)
}

impl Admin {
    async fn coordinator(&self, group: &str) -> Result<Connection> {
        find_coordinator(&self.cluster, group, ConnectionClass::Control).await
    }

    /// Every group of the cluster (ListGroups at every broker, each answering for the groups it coordinates),
    /// sorted by id, filtered by `filter`.
    pub async fn list_groups(&self, filter: &ListGroupsFilter) -> Result<Vec<GroupListing>> {
        let cluster = self.describe_cluster().await?;
        let mut out = Vec::new();
        for b in cluster.brokers.iter().filter(|b| !b.fenced) {
            let resp = self
                .retry(ApiKey::LIST_GROUPS, || async {
                    let conn = self
                        .cluster
                        .pool()
                        .get_for(ConnectionClass::Control, &format!("{}:{}", b.host, b.port))
                        .await?;
                    let version = conn.versions().pick::<ListGroupsRequest>()?;
                    let req = ListGroupsRequest {
                        states_filter: if version >= 4 { filter.states.clone() } else { Vec::new() },
                        types_filter: if version >= 5 { filter.types.clone() } else { Vec::new() },
                        ..Default::default()
                    };
                    let resp = conn.send_at(&req, version).await?;
                    if resp.error_code.is_err() {
                        return Err(item_error(resp.error_code, None, ApiKey::LIST_GROUPS).with_broker(b.id));
                    }
                    Ok(resp)
                })
                .await?;
            for g in resp.groups {
                let state = (!g.group_state.is_empty()).then_some(g.group_state);
                let group_type = (!g.group_type.is_empty()).then_some(g.group_type);
                // Filters the broker could not apply (older versions) are applied here where the value is known.
                let keep = (filter.protocol_types.is_empty() || filter.protocol_types.contains(&g.protocol_type))
                    && (filter.states.is_empty()
                        || state.as_ref().is_none_or(|s| filter.states.iter().any(|f| f.eq_ignore_ascii_case(s))))
                    && (filter.types.is_empty()
                        || group_type.as_ref().is_none_or(|t| filter.types.iter().any(|f| f.eq_ignore_ascii_case(t))));
                if keep {
                    out.push(GroupListing { group_id: g.group_id, protocol_type: g.protocol_type, state, group_type });
                }
            }
        }
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out.dedup_by(|a, b| a.group_id == b.group_id);
        Ok(out)
    }

    /// Describes groups, classic or KIP-848, one result per id (a group that does not exist: GROUP_ID_NOT_FOUND,
    /// or a classic description in state `Dead` from brokers before 4.0). Asks ConsumerGroupDescribe first and
    /// DescribeGroups for groups that are not KIP-848 consumer groups.
    pub async fn describe_groups(&self, ids: &[&str]) -> Result<BTreeMap<String, Result<GroupDescription>>> {
        self.per_key(ApiKey::DESCRIBE_GROUPS, ids, |g| async move { self.describe_group_once(&g).await }).await
    }

    async fn describe_group_once(&self, group: &str) -> Result<GroupDescription> {
        let conn = self.coordinator(group).await?;
        if conn.versions().range(ApiKey::CONSUMER_GROUP_DESCRIBE).is_some() {
            let version = conn.versions().pick::<ConsumerGroupDescribeRequest>()?;
            let req = ConsumerGroupDescribeRequest { group_ids: vec![group.to_owned()], ..Default::default() };
            let resp = conn.send_at(&req, version).await?;
            if let Some(g) = resp.groups.into_iter().find(|g| g.group_id == group) {
                if g.error_code.is_ok() {
                    return Ok(from_consumer_group(g));
                }
                // GROUP_ID_NOT_FOUND also answers for classic groups: ask DescribeGroups then.
                if g.error_code != ErrorCode::GROUP_ID_NOT_FOUND {
                    return Err(group_error(g.error_code, g.error_message, ApiKey::CONSUMER_GROUP_DESCRIBE, group));
                }
            }
        }
        let version = conn.versions().pick::<DescribeGroupsRequest>()?;
        let req = DescribeGroupsRequest { groups: vec![group.to_owned()], ..Default::default() };
        let resp = conn.send_at(&req, version).await?;
        let g = resp
            .groups
            .into_iter()
            .find(|g| g.group_id == group)
            .ok_or_else(|| Error::protocol("DescribeGroups reply left out the group"))?;
        if g.error_code.is_err() {
            return Err(group_error(g.error_code, g.error_message, ApiKey::DESCRIBE_GROUPS, group));
        }
        // Before v6 (Kafka 4.0, KIP-1043) an unknown group comes back without an error, as a Dead group with no
        // members and no protocol type; Java's admin reports it as not found, and so does this, on every version.
        if g.group_state == "Dead" && g.members.is_empty() && g.protocol_type.is_empty() {
            return Err(group_error(
                ErrorCode::GROUP_ID_NOT_FOUND,
                Some("does not exist (the broker described it as a Dead group)".to_owned()),
                ApiKey::DESCRIBE_GROUPS,
                group,
            ));
        }
        Ok(from_classic_group(g))
    }

    /// Deletes groups (with their committed offsets), one result per id: a group with active members is
    /// NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND.
    pub async fn delete_groups(&self, ids: &[&str]) -> Result<BTreeMap<String, Result<()>>> {
        self.per_key(ApiKey::DELETE_GROUPS, ids, |g| async move {
            let conn = self.coordinator(&g).await?;
            let version = conn.versions().pick::<DeleteGroupsRequest>()?;
            let req = DeleteGroupsRequest { groups_names: vec![g.clone()], ..Default::default() };
            let resp = conn.send_at(&req, version).await?;
            let r = resp
                .results
                .into_iter()
                .find(|r| r.group_id == g)
                .ok_or_else(|| Error::protocol("DeleteGroups reply left out the group"))?;
            if r.error_code.is_err() {
                return Err(group_error(r.error_code, r.error_message, ApiKey::DELETE_GROUPS, &g));
            }
            Ok(())
        })
        .await
    }

    /// Removes members from a classic group, as Java's `removeMembersFromConsumerGroup`: the static members with
    /// these `group.instance.id`s, or every member when `instance_ids` is empty (each named by its member id). A
    /// static member that left without LeaveGroup otherwise stays until its session times out, and a rebalance
    /// waits for it. One result per instance id (or member id): UNKNOWN_MEMBER_ID for one that is not in the
    /// group. Needs LeaveGroup v3+ (Kafka 2.4+).
    pub async fn remove_group_members(
        &self,
        group: &str,
        instance_ids: &[&str],
    ) -> Result<BTreeMap<String, Result<()>>> {
        let members: Vec<MemberIdentity> = if instance_ids.is_empty() {
            let described = self.describe_groups(&[group]).await?.into_values().next();
            let described = described.unwrap_or_else(|| Err(Error::protocol("DescribeGroups left out the group")))?;
            described
                .members
                .into_iter()
                .map(|m| MemberIdentity {
                    member_id: m.member_id,
                    group_instance_id: m.instance_id,
                    ..Default::default()
                })
                .collect()
        } else {
            instance_ids
                .iter()
                .map(|id| MemberIdentity { group_instance_id: Some((*id).to_owned()), ..Default::default() })
                .collect()
        };
        if members.is_empty() {
            return Ok(BTreeMap::new());
        }
        let resp = self
            .retry(ApiKey::LEAVE_GROUP, || async {
                let conn = self.coordinator(group).await?;
                let version = conn.versions().pick::<LeaveGroupRequest>()?;
                if version < 3 {
                    return Err(Error::new(ErrorKind::UnsupportedVersion {
                        api: ApiKey::LEAVE_GROUP,
                        broker: conn.versions().range(ApiKey::LEAVE_GROUP),
                    }));
                }
                let reason = (version >= 5).then(|| "removed by an admin client".to_owned());
                let members = members.iter().map(|m| MemberIdentity { reason: reason.clone(), ..m.clone() }).collect();
                let req = LeaveGroupRequest { group_id: group.to_owned(), members, ..Default::default() };
                let resp = conn.send_at(&req, version).await?;
                if resp.error_code.is_err() {
                    return Err(group_error(resp.error_code, None, ApiKey::LEAVE_GROUP, group));
                }
                Ok(resp)
            })
            .await?;
        let mut out = BTreeMap::new();
        for m in resp.members {
            let key = m.group_instance_id.filter(|i| !i.is_empty()).unwrap_or(m.member_id);
            out.insert(key, item_result(ApiKey::LEAVE_GROUP, m.error_code, None));
        }
        for id in instance_ids {
            let missing = || Err(Error::protocol("LeaveGroup reply left out the member").with_api(ApiKey::LEAVE_GROUP));
            out.entry((*id).to_owned()).or_insert_with(missing);
        }
        Ok(out)
    }

    /// Every committed offset of `group` (OffsetFetch for all partitions at its coordinator).
    pub async fn list_group_offsets(&self, group: &str) -> Result<BTreeMap<TopicPartition, OffsetAndMetadata>> {
        self.retry(ApiKey::OFFSET_FETCH, || async {
            let conn = self.coordinator(group).await?;
            // Versions 10+ name topics by id only; 9 keeps names, which is all a listing needs.
            let version = conn.versions().pick::<OffsetFetchRequest>()?.min(9);
            let mut req = OffsetFetchRequest::default();
            if version <= 7 {
                req.group_id = group.to_owned();
                req.topics = None;
            } else {
                req.groups =
                    vec![OffsetFetchRequestGroup { group_id: group.to_owned(), topics: None, ..Default::default() }];
            }
            let resp = conn.send_at(&req, version).await?;
            let rows = if version <= 7 {
                if resp.error_code.is_err() {
                    return Err(group_error(resp.error_code, None, ApiKey::OFFSET_FETCH, group));
                }
                offset_rows!(resp.topics)
            } else {
                let mut rows = Vec::new();
                for g in resp.groups.into_iter().filter(|g| g.group_id == group) {
                    if g.error_code.is_err() {
                        return Err(group_error(g.error_code, None, ApiKey::OFFSET_FETCH, group));
                    }
                    rows.extend(offset_rows!(g.topics));
                }
                rows
            };
            let mut out = BTreeMap::new();
            for (topic, p, offset, epoch, meta, err) in rows {
                if err.is_err() {
                    return Err(item_error(err, None, ApiKey::OFFSET_FETCH).with_partition(&topic, p));
                }
                if offset >= 0 {
                    let o = OffsetAndMetadata {
                        offset,
                        leader_epoch: (epoch >= 0).then_some(epoch),
                        metadata: meta.unwrap_or_default(),
                    };
                    out.insert(TopicPartition::new(topic, p), o);
                }
            }
            Ok(out)
        })
        .await
    }

    /// The lag of every partition `group` has committed offsets for, against the high watermark
    /// (read_uncommitted) or the last stable offset (read_committed), as each entry's `end` says.
    pub async fn group_lag(&self, group: &str, isolation: IsolationLevel) -> Result<Vec<GroupOffsetLag>> {
        let committed = self.list_group_offsets(group).await?;
        let wanted: Vec<(TopicPartition, OffsetSpec)> =
            committed.keys().map(|tp| (tp.clone(), OffsetSpec::Latest)).collect();
        let ends = self.list_offsets(&wanted, isolation).await?;
        let end = match isolation {
            IsolationLevel::ReadUncommitted => LagEnd::HighWatermark,
            IsolationLevel::ReadCommitted => LagEnd::LastStableOffset,
        };
        let mut out = Vec::new();
        for (tp, c) in committed {
            let end_offset = match ends.get(&tp) {
                Some(Ok(o)) => o.offset,
                Some(Err(e)) => return Err(e.clone()),
                None => {
                    return Err(
                        Error::protocol("ListOffsets left out a partition").with_partition(&tp.topic, tp.partition)
                    );
                }
            };
            out.push(GroupOffsetLag {
                lag: (end_offset - c.offset).max(0),
                committed: c.offset,
                end_offset,
                end,
                partition: tp,
            });
        }
        Ok(out)
    }

    /// Moves `group`'s committed offsets for `partitions` (`to`), returning the offsets committed. The group must
    /// have no active member: otherwise the error has code NON_EMPTY_GROUP (`e.code() ==
    /// Some(ErrorCode::NON_EMPTY_GROUP)`) and nothing is committed. Offsets are clamped to each partition's
    /// range, as Kafka's `kafka-consumer-groups.sh --reset-offsets` does.
    pub async fn reset_group_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
        to: ResetOffsets,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        let described = self.describe_groups(&[group]).await?;
        match described.into_values().next() {
            Some(Ok(g)) if !g.is_empty() => {
                return Err(not_empty(group, &format!("it has {} active member(s)", g.members.len())));
            }
            Some(Err(e)) if e.code() != Some(ErrorCode::GROUP_ID_NOT_FOUND) => return Err(e),
            _ => {}
        }
        let targets = self.plan_group_offsets_reset(group, partitions, to).await?;
        let offsets: Vec<(TopicPartition, OffsetAndMetadata)> =
            targets.iter().map(|(tp, o)| (tp.clone(), OffsetAndMetadata::new(*o))).collect();
        let committer = GroupOffsets::new(self.cluster.clone(), group.to_owned());
        let mut who = CommitAs::Fixed(CommitIdentity::default());
        match committer.commit(&offsets, &mut who, self.deadline()).await {
            Ok(()) => Ok(targets),
            // The coordinator refuses commits from outside the group while it has members.
            Err(e)
                if e.code().is_some_and(|c| {
                    c == ErrorCode::UNKNOWN_MEMBER_ID
                        || c == ErrorCode::ILLEGAL_GENERATION
                        || c == ErrorCode::STALE_MEMBER_EPOCH
                        || c == ErrorCode::REBALANCE_IN_PROGRESS
                }) =>
            {
                Err(not_empty(group, &format!("the coordinator refused the commit ({e})")))
            }
            Err(e) => Err(e),
        }
    }

    /// The offsets [`Admin::reset_group_offsets`] would commit for `partitions` (`to`, clamped to each partition's
    /// range), computed without committing anything or looking at the group's members: a dry run.
    pub async fn plan_group_offsets_reset(
        &self,
        group: &str,
        partitions: &[TopicPartition],
        to: ResetOffsets,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        let ask = |spec: OffsetSpec| -> Vec<(TopicPartition, OffsetSpec)> {
            partitions.iter().map(|tp| (tp.clone(), spec)).collect()
        };
        let earliest = self.list_offsets(&ask(OffsetSpec::Earliest), IsolationLevel::ReadUncommitted).await?;
        let latest = self.list_offsets(&ask(OffsetSpec::Latest), IsolationLevel::ReadUncommitted).await?;
        let by_time = match to {
            ResetOffsets::Timestamp(t) => {
                Some(self.list_offsets(&ask(OffsetSpec::Timestamp(t)), IsolationLevel::ReadUncommitted).await?)
            }
            _ => None,
        };
        let committed = match to {
            ResetOffsets::ShiftBy(_) => self.list_group_offsets(group).await?,
            _ => BTreeMap::new(),
        };
        let found = |m: &BTreeMap<TopicPartition, Result<super::ListedOffset>>, tp: &TopicPartition| -> Result<i64> {
            match m.get(tp) {
                Some(Ok(o)) => Ok(o.offset),
                Some(Err(e)) => Err(e.clone()),
                None => {
                    Err(Error::protocol("ListOffsets left out a partition").with_partition(&tp.topic, tp.partition))
                }
            }
        };
        let mut targets = BTreeMap::new();
        for tp in partitions {
            let (lo, hi) = (found(&earliest, tp)?, found(&latest, tp)?);
            let want = match to {
                ResetOffsets::Earliest => lo,
                ResetOffsets::Latest => hi,
                ResetOffsets::Offset(o) => o,
                ResetOffsets::Timestamp(_) => match by_time.as_ref().map(|m| found(m, tp)).transpose()? {
                    Some(o) if o >= 0 => o,
                    _ => hi,
                },
                ResetOffsets::ShiftBy(n) => match committed.get(tp) {
                    Some(c) => c.offset.saturating_add(n),
                    None => {
                        return Err(Error::invalid(format!(
                            "group {group} has no committed offset for {}-{} to shift",
                            tp.topic, tp.partition
                        )));
                    }
                },
            };
            targets.insert(tp.clone(), want.clamp(lo, hi.max(lo)));
        }
        Ok(targets)
    }

    /// Deletes `group`'s committed offsets for `partitions`, one result per partition: a partition the group is
    /// still subscribed to is GROUP_SUBSCRIBED_TO_TOPIC.
    pub async fn delete_group_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Result<()>>> {
        self.per_item(
            ApiKey::OFFSET_DELETE,
            partitions.to_vec(),
            retriable,
            |pending: Vec<TopicPartition>| async move {
                let conn = self.coordinator(group).await?;
                let version = conn.versions().pick::<OffsetDeleteRequest>()?;
                let topics: BTreeSet<&str> = pending.iter().map(|tp| tp.topic.as_str()).collect();
                let req = OffsetDeleteRequest {
                    group_id: group.to_owned(),
                    topics: topics
                        .into_iter()
                        .map(|t| OffsetDeleteTopic {
                            name: t.to_owned(),
                            partitions: pending
                                .iter()
                                .filter(|tp| tp.topic == t)
                                .map(|tp| OffsetDeletePartition { partition_index: tp.partition, ..Default::default() })
                                .collect(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                };
                let resp = conn.send_at(&req, version).await?;
                if resp.error_code.is_err() {
                    return Err(group_error(resp.error_code, None, ApiKey::OFFSET_DELETE, group));
                }
                Ok(resp
                    .topics
                    .into_iter()
                    .flat_map(|t| {
                        t.partitions.into_iter().map(move |p| {
                            let tp = TopicPartition::new(t.name.clone(), p.partition_index);
                            let r = item_result(ApiKey::OFFSET_DELETE, p.error_code, None)
                                .map_err(|e| e.with_partition(&tp.topic, tp.partition));
                            (tp, r)
                        })
                    })
                    .collect())
            },
        )
        .await
    }
}

/// The error of an offset reset on a group that has active members.
fn not_empty(group: &str, why: &str) -> Error {
    Error::broker(ErrorCode::NON_EMPTY_GROUP).with_api(ApiKey::OFFSET_COMMIT).with_message(Some(format!(
        "group {group}: offsets can only be reset while the group has no active member; {why}"
    )))
}
