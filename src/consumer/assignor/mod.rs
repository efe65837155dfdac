//! Client-side partition assignment for the classic group protocol: the [`PartitionAssignor`] trait (as the Java
//! client's `ConsumerPartitionAssignor`), the four built-in assignors ([`RangeAssignor`], [`RoundRobinAssignor`],
//! [`StickyAssignor`], [`CooperativeStickyAssignor`]), and the glue between assignors and the group messages: the
//! JoinGroup protocol list ([`join_group_protocols`]) and the leader's step that turns a JoinGroup response into
//! SyncGroup assignments ([`leader_assign`]).
//!
//! Assignors are pure functions of the cluster's partition counts and the members' subscriptions; member ids,
//! topics and partitions are iterated in sorted order so that every run on the same input gives the same result.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use bytes::Bytes;
use kafkar_protocol::messages::consumer_protocol::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicPartition as WireTopicPartition,
};
use kafkar_protocol::messages::join_group::{JoinGroupRequestProtocol, JoinGroupResponseMember};
use kafkar_protocol::messages::sync_group::SyncGroupRequestAssignment;
use tracing::{debug, warn};

use super::TopicPartition;
use crate::error::{Error, Result};

mod range;
mod round_robin;
mod sticky;
#[cfg(test)]
mod tests;

pub use range::RangeAssignor;
pub use round_robin::RoundRobinAssignor;
pub use sticky::{CooperativeStickyAssignor, StickyAssignor};

/// The newest version of the consumer protocol payloads this client writes.
pub const CONSUMER_PROTOCOL_VERSION: i16 = 3;

/// The protocol type consumer groups register with the coordinator.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// How partitions move between members during a rebalance (KIP-429).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RebalanceProtocol {
    /// Every member revokes all its partitions before rejoining; the new assignment is then handed out at once.
    Eager,
    /// Members keep their partitions while rejoining and revoke only those the new assignment takes away; a
    /// partition moving to another member is revoked in one rebalance and assigned in the next.
    Cooperative,
}

/// Partition count per topic name: the cluster metadata an assignor works from. Topics missing from the map have
/// no metadata and are not assigned.
pub type PartitionsPerTopic = BTreeMap<String, i32>;

/// What the leader knows of one member when it assigns: its JoinGroup protocol metadata, decoded.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Subscription {
    /// The topics the member subscribes to.
    pub topics: BTreeSet<String>,
    /// The partitions the member owns (consumer protocol v1+; empty for older members).
    pub owned_partitions: Vec<TopicPartition>,
    /// The generation the member last joined (consumer protocol v2+), `None` if unknown.
    pub generation_id: Option<i32>,
    /// The member's rack (`client.rack`, consumer protocol v3+).
    pub rack_id: Option<String>,
    /// The assignor's user data, as the member's assignor wrote it.
    pub user_data: Option<Bytes>,
    /// The member's `group.instance.id` (static members).
    pub group_instance_id: Option<String>,
}

/// The partitions assigned to one member, with optional user data for the member's assignor.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Assignment {
    /// The assigned partitions, sorted.
    pub partitions: Vec<TopicPartition>,
    /// User data for the member's assignor.
    pub user_data: Option<Bytes>,
}

impl Assignment {
    /// An assignment of `partitions` (sorted here) without user data.
    pub fn new(mut partitions: Vec<TopicPartition>) -> Assignment {
        partitions.sort();
        Assignment { partitions, user_data: None }
    }
}

/// Member id → assignment.
pub type GroupAssignment = BTreeMap<String, Assignment>;

/// A partition assignment strategy, as the Java client's `ConsumerPartitionAssignor`: the group leader runs
/// [`assign`](PartitionAssignor::assign) over every member's subscription; every member hears of its own assignment
/// through [`on_assignment`](PartitionAssignor::on_assignment).
pub trait PartitionAssignor: Send + fmt::Debug {
    /// The name the assignor is registered under in JoinGroup (`"range"`, `"cooperative-sticky"`).
    fn name(&self) -> &str;

    /// The rebalance protocols the assignor supports. The member uses the newest protocol that every configured
    /// assignor supports (see [`rebalance_protocol`]).
    fn supported_protocols(&self) -> &[RebalanceProtocol] {
        &[RebalanceProtocol::Eager]
    }

    /// User data to put in this member's subscription for the leader's copy of this assignor.
    fn subscription_user_data(&self, _topics: &BTreeSet<String>) -> Option<Bytes> {
        None
    }

    /// Assigns the partitions of the subscribed topics among the members. `subscriptions` maps member id to
    /// subscription; the result should have an entry for every member (missing members get nothing).
    fn assign(
        &self,
        partitions_per_topic: &PartitionsPerTopic,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> Result<GroupAssignment>;

    /// Tells the assignor the assignment this member received and the generation it belongs to.
    fn on_assignment(&mut self, _assignment: &Assignment, _generation_id: i32) {}
}

/// The built-in assignor called `name`: a short name (`range`, `roundrobin`, `sticky`, `cooperative-sticky`) or the
/// Java class name used in `partition.assignment.strategy` (`org.apache.kafka.clients.consumer.RangeAssignor`).
pub fn builtin_assignor(name: &str) -> Option<Box<dyn PartitionAssignor>> {
    let short = name.trim().rsplit('.').next().unwrap_or_default();
    match short {
        RangeAssignor::NAME | "RangeAssignor" => Some(Box::new(RangeAssignor)),
        RoundRobinAssignor::NAME | "RoundRobinAssignor" => Some(Box::new(RoundRobinAssignor)),
        StickyAssignor::NAME | "StickyAssignor" => Some(Box::new(StickyAssignor::default())),
        CooperativeStickyAssignor::NAME | "CooperativeStickyAssignor" => {
            Some(Box::new(CooperativeStickyAssignor::default()))
        }
        _ => None,
    }
}

/// The assignors of a comma-separated `partition.assignment.strategy` value, in order.
pub fn assignors_from_config(value: &str) -> Result<Vec<Box<dyn PartitionAssignor>>> {
    let mut out = Vec::new();
    for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match builtin_assignor(name) {
            Some(a) => out.push(a),
            None => return Err(Error::config(format!("partition.assignment.strategy: unknown assignor {name:?}"))),
        }
    }
    if out.is_empty() {
        return Err(Error::config("partition.assignment.strategy is empty"));
    }
    Ok(out)
}

/// The Java client's default `partition.assignment.strategy`: range, then cooperative-sticky (which makes the
/// rebalance protocol eager until the range assignor is removed from the list).
pub fn default_assignors() -> Vec<Box<dyn PartitionAssignor>> {
    vec![Box::new(RangeAssignor), Box::new(CooperativeStickyAssignor::default())]
}

/// The rebalance protocol a member with these assignors uses: the newest protocol all of them support. Fails for an
/// empty list, duplicate names, or assignors with no protocol in common.
pub fn rebalance_protocol(assignors: &[Box<dyn PartitionAssignor>]) -> Result<RebalanceProtocol> {
    let Some(first) = assignors.first() else {
        return Err(Error::config("no partition assignor configured"));
    };
    let mut common: BTreeSet<RebalanceProtocol> = first.supported_protocols().iter().copied().collect();
    let mut names = BTreeSet::new();
    for a in assignors {
        if !names.insert(a.name()) {
            return Err(Error::config(format!("partition assignor {:?} is configured twice", a.name())));
        }
        let supported: BTreeSet<RebalanceProtocol> = a.supported_protocols().iter().copied().collect();
        common = common.intersection(&supported).copied().collect();
    }
    common.last().copied().ok_or_else(|| {
        Error::config(format!("the configured assignors {names:?} support no rebalance protocol in common"))
    })
}

/// Groups sorted-or-not partitions by topic, as the consumer protocol lists them (topics and partitions sorted).
pub fn to_wire_partitions(partitions: &[TopicPartition]) -> Vec<WireTopicPartition> {
    let mut by_topic: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
    for tp in partitions {
        by_topic.entry(tp.topic.as_str()).or_default().insert(tp.partition);
    }
    by_topic
        .into_iter()
        .map(|(topic, ps)| WireTopicPartition { topic: topic.to_owned(), partitions: ps.into_iter().collect() })
        .collect()
}

/// Flattens the consumer protocol's per-topic lists.
pub fn from_wire_partitions(topics: &[WireTopicPartition]) -> Vec<TopicPartition> {
    topics.iter().flat_map(|t| t.partitions.iter().map(|&p| TopicPartition::new(t.topic.clone(), p))).collect()
}

/// What this member puts in its JoinGroup request: one protocol per assignor, in the configured order (the order
/// is the member's preference in the coordinator's vote), each carrying the member's subscription encoded at
/// [`CONSUMER_PROTOCOL_VERSION`] with that assignor's user data.
pub fn join_group_protocols(
    assignors: &[Box<dyn PartitionAssignor>],
    topics: &BTreeSet<String>,
    owned: &[TopicPartition],
    generation_id: i32,
    rack_id: Option<&str>,
) -> Result<Vec<JoinGroupRequestProtocol>> {
    let owned_partitions = to_wire_partitions(owned);
    let mut out = Vec::with_capacity(assignors.len());
    for a in assignors {
        let sub = ConsumerProtocolSubscription {
            topics: topics.iter().cloned().collect(),
            user_data: a.subscription_user_data(topics),
            owned_partitions: owned_partitions.clone(),
            generation_id,
            rack_id: rack_id.map(str::to_owned),
        };
        let metadata = sub.encode_versioned(CONSUMER_PROTOCOL_VERSION)?.freeze();
        out.push(JoinGroupRequestProtocol { name: a.name().to_owned(), metadata, unknown_tagged_fields: Vec::new() });
    }
    Ok(out)
}

/// Decodes one member's JoinGroup metadata (any consumer protocol version, newer ones included). Returns the
/// subscription and the version the member wrote.
pub fn decode_subscription(member: &JoinGroupResponseMember) -> Result<(Subscription, i16)> {
    let (sub, version) = ConsumerProtocolSubscription::decode_versioned(member.metadata.clone())
        .map_err(|e| Error::from(e).with_message(Some(format!("subscription of member {}", member.member_id))))?;
    let generation_id = (version >= 2 && sub.generation_id >= 0).then_some(sub.generation_id);
    Ok((
        Subscription {
            topics: sub.topics.into_iter().collect(),
            owned_partitions: from_wire_partitions(&sub.owned_partitions),
            generation_id,
            rack_id: sub.rack_id,
            user_data: sub.user_data,
            group_instance_id: member.group_instance_id.clone(),
        },
        version,
    ))
}

/// Decodes the assignment a member receives in its SyncGroup response. An empty payload (a member the leader left
/// out) is an empty assignment.
pub fn decode_assignment(bytes: &Bytes) -> Result<Assignment> {
    if bytes.is_empty() {
        return Ok(Assignment::default());
    }
    let (a, _) = ConsumerProtocolAssignment::decode_versioned(bytes.clone())?;
    Ok(Assignment { partitions: sorted(from_wire_partitions(&a.assigned_partitions)), user_data: a.user_data })
}

fn sorted(mut v: Vec<TopicPartition>) -> Vec<TopicPartition> {
    v.sort();
    v.dedup();
    v
}

/// Looks up how many partitions a topic has, from whatever metadata the caller holds.
pub trait PartitionCounts {
    /// The partition count of `topic`, or `None` if the metadata does not know it.
    fn partition_count(&self, topic: &str) -> Option<i32>;
}

impl<F: Fn(&str) -> Option<i32>> PartitionCounts for F {
    fn partition_count(&self, topic: &str) -> Option<i32> {
        self(topic)
    }
}

impl PartitionCounts for BTreeMap<String, i32> {
    fn partition_count(&self, topic: &str) -> Option<i32> {
        self.get(topic).copied()
    }
}

impl PartitionCounts for HashMap<String, i32> {
    fn partition_count(&self, topic: &str) -> Option<i32> {
        self.get(topic).copied()
    }
}

/// The leader's result: what to send in SyncGroup and what it was computed from.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LeaderAssignment {
    /// One encoded assignment per member, for the SyncGroup request.
    pub assignments: Vec<SyncGroupRequestAssignment>,
    /// The same assignments, decoded.
    pub group_assignment: GroupAssignment,
    /// Every topic some member subscribes to.
    pub group_subscription: BTreeSet<String>,
    /// The partition count of each group-subscribed topic that the assignment used (`None`: no metadata). The
    /// leader rejoins when the metadata stops matching this snapshot.
    pub metadata_snapshot: BTreeMap<String, Option<i32>>,
}

/// The leader's step of a classic rebalance: decodes every member's subscription from the JoinGroup response
/// members, runs `assignor` over the partition counts `metadata` knows, checks (for the cooperative protocol) that
/// no partition moves straight from one member to another, and encodes each member's assignment at the consumer
/// protocol version the member itself wrote (capped at [`CONSUMER_PROTOCOL_VERSION`]).
pub fn leader_assign(
    assignor: &dyn PartitionAssignor,
    protocol: RebalanceProtocol,
    members: &[JoinGroupResponseMember],
    metadata: &dyn PartitionCounts,
) -> Result<LeaderAssignment> {
    let mut subscriptions = BTreeMap::new();
    let mut versions = BTreeMap::new();
    for m in members {
        let (sub, version) = decode_subscription(m)?;
        versions.insert(m.member_id.clone(), version);
        if subscriptions.insert(m.member_id.clone(), sub).is_some() {
            return Err(Error::protocol(format!("JoinGroup response lists member {} twice", m.member_id)));
        }
    }
    let group_subscription: BTreeSet<String> = subscriptions.values().flat_map(|s| s.topics.iter().cloned()).collect();
    let mut partitions_per_topic = PartitionsPerTopic::new();
    let mut metadata_snapshot = BTreeMap::new();
    for topic in &group_subscription {
        let count = metadata.partition_count(topic);
        metadata_snapshot.insert(topic.clone(), count);
        match count {
            Some(n) => {
                partitions_per_topic.insert(topic.clone(), n);
            }
            None => debug!(topic = %topic, "skipping assignment of a topic without metadata"),
        }
    }
    let mut group_assignment = assignor.assign(&partitions_per_topic, &subscriptions)?;
    for (member, a) in &mut group_assignment {
        if !subscriptions.contains_key(member) {
            warn!(member = %member, assignor = assignor.name(), "assignor assigned to an unknown member");
        }
        a.partitions = sorted(std::mem::take(&mut a.partitions));
    }
    group_assignment.retain(|m, _| subscriptions.contains_key(m));
    for m in subscriptions.keys() {
        group_assignment.entry(m.clone()).or_default();
    }
    if protocol == RebalanceProtocol::Cooperative {
        validate_cooperative_assignment(&subscriptions, &group_assignment)?;
    }
    let mut assignments = Vec::with_capacity(group_assignment.len());
    for (member, a) in &group_assignment {
        let version = versions.get(member).copied().unwrap_or(CONSUMER_PROTOCOL_VERSION).min(CONSUMER_PROTOCOL_VERSION);
        let wire = ConsumerProtocolAssignment {
            assigned_partitions: to_wire_partitions(&a.partitions),
            user_data: a.user_data.clone(),
        };
        assignments.push(SyncGroupRequestAssignment {
            member_id: member.clone(),
            assignment: wire.encode_versioned(version)?.freeze(),
            unknown_tagged_fields: Vec::new(),
        });
    }
    Ok(LeaderAssignment { assignments, group_assignment, group_subscription, metadata_snapshot })
}

/// Checks the cooperative protocol's rule (KIP-429): a partition that some member owns may not be assigned to a
/// different member in the same rebalance; it must first be revoked and handed out in the next one.
pub fn validate_cooperative_assignment(
    subscriptions: &BTreeMap<String, Subscription>,
    assignment: &GroupAssignment,
) -> Result<()> {
    let mut owners: HashMap<&TopicPartition, Vec<&str>> = HashMap::new();
    for (m, s) in subscriptions {
        for tp in &s.owned_partitions {
            owners.entry(tp).or_default().push(m.as_str());
        }
    }
    for (m, a) in assignment {
        for tp in &a.partitions {
            if let Some(prev) = owners.get(tp) {
                if let Some(other) = prev.iter().find(|o| **o != m.as_str()) {
                    if !prev.contains(&m.as_str()) {
                        return Err(Error::protocol(format!(
                            "cooperative assignment moves {tp} from member {other} to member {m} without revoking it \
                             first"
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The eager sticky assignor's user data, decoded (partitions, generation), for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) fn decode_sticky_user_data_for_tests(bytes: &Bytes) -> (Vec<TopicPartition>, Option<i32>) {
    let d = sticky::decode_sticky_user_data(bytes).unwrap_or_default();
    (d.owned, d.generation)
}

/// Sort key of a member as the Java assignors order members: static members first (by `group.instance.id`), then
/// dynamic members by member id.
pub(crate) fn member_sort_key<'a>(member_id: &'a str, sub: &'a Subscription) -> (bool, &'a str, &'a str) {
    match &sub.group_instance_id {
        Some(instance) => (false, instance.as_str(), member_id),
        None => (true, member_id, member_id),
    }
}

/// Orders `members` as the Java assignors do (see [`member_sort_key`]).
pub(crate) fn sort_members(members: &mut [(&str, &Subscription)]) {
    members.sort_by(|a, b| member_sort_key(a.0, a.1).cmp(&member_sort_key(b.0, b.1)));
}

/// An empty assignment for every member.
pub(crate) fn empty_assignments(
    subscriptions: &BTreeMap<String, Subscription>,
) -> BTreeMap<String, Vec<TopicPartition>> {
    subscriptions.keys().map(|m| (m.clone(), Vec::new())).collect()
}

/// Wraps per-member partition lists into a [`GroupAssignment`] (sorted, no user data).
pub(crate) fn into_group_assignment(map: BTreeMap<String, Vec<TopicPartition>>) -> GroupAssignment {
    map.into_iter().map(|(m, ps)| (m, Assignment::new(ps))).collect()
}
