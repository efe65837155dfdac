//! The `sticky` (KIP-54) and `cooperative-sticky` (KIP-429) assignors: a balanced assignment that keeps as many
//! partitions as possible with the members that already own them.
//!
//! The algorithm is this crate's own; it targets the same properties as the Java client's (every partition of a
//! subscribed topic assigned exactly once, to a subscriber; with identical subscriptions the counts differ by at
//! most one; a member keeps its partitions unless balance requires moving them) but not Java's exact tie-breaking.
//!
//! 1. Ownership claims are validated: a partition of a topic the claimant still subscribes to, that still exists.
//!    When several members claim a partition, the claim of the highest generation wins; two claims at the same
//!    highest generation cancel out (the partition is treated as unowned), as Java does.
//! 2. With identical subscriptions, every member keeps up to its quota (`⌊P/C⌋`, or `⌈P/C⌉` for the first
//!    `P mod C` members holding that many), and the free partitions are dealt round robin to members under quota.
//! 3. Otherwise each free partition (those with the fewest possible consumers first) goes to the least loaded
//!    subscriber, then partitions move from a member to a subscriber with at least two fewer partitions until no
//!    such move exists; partitions the member did not own before move first.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use bytes::{BufMut, Bytes, BytesMut};
use kafkar_protocol::primitives::{Reader, WriteExt};
use tracing::warn;

use super::{
    Assignment, GroupAssignment, PartitionAssignor, PartitionsPerTopic, RebalanceProtocol, Subscription,
    into_group_assignment, to_wire_partitions,
};
use crate::consumer::TopicPartition;
use crate::error::Result;

/// The generation a member with no known generation is treated as having.
const DEFAULT_GENERATION: i32 = -1;

/// What the sticky algorithm needs of a member besides its topics: what it owned, and in which generation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MemberData {
    pub(crate) owned: Vec<TopicPartition>,
    pub(crate) generation: Option<i32>,
}

/// The eager sticky assignor, as the Java client's `StickyAssignor` (KIP-54).
///
/// Under the eager protocol a member revokes everything before it rejoins, so its subscription lists no owned
/// partitions; the assignor therefore carries the member's last assignment and generation in its user data (the
/// Java layout: an array of topic → partitions, then an int32 generation) and the leader reads ownership from
/// there. A member without user data is read from its subscription's owned partitions and generation instead.
#[derive(Clone, Debug, Default)]
pub struct StickyAssignor {
    last: Option<(Vec<TopicPartition>, i32)>,
}

impl StickyAssignor {
    /// The protocol name.
    pub const NAME: &'static str = "sticky";
}

impl PartitionAssignor for StickyAssignor {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn subscription_user_data(&self, _topics: &BTreeSet<String>) -> Option<Bytes> {
        let (partitions, generation) = self.last.as_ref()?;
        encode_sticky_user_data(partitions, Some(*generation)).ok()
    }

    fn assign(
        &self,
        partitions_per_topic: &PartitionsPerTopic,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> Result<GroupAssignment> {
        let data = subscriptions
            .iter()
            .map(|(m, s)| {
                let d = match s.user_data.as_ref().filter(|u| !u.is_empty()) {
                    Some(u) => decode_sticky_user_data(u).unwrap_or_else(|| {
                        warn!(member = %m, "sticky: undecodable user data; treating the member as owning nothing");
                        MemberData::default()
                    }),
                    None => MemberData { owned: s.owned_partitions.clone(), generation: s.generation_id },
                };
                (m.clone(), d)
            })
            .collect();
        Ok(into_group_assignment(assign_sticky(partitions_per_topic, subscriptions, &data)))
    }

    fn on_assignment(&mut self, assignment: &Assignment, generation_id: i32) {
        self.last = Some((assignment.partitions.clone(), generation_id));
    }
}

/// The cooperative sticky assignor, as the Java client's `CooperativeStickyAssignor` (KIP-429): the sticky
/// assignment, except that a partition moving from one member to another is left out of the new owner's
/// assignment in this rebalance. The old owner revokes it and rejoins, and the next rebalance assigns it.
///
/// Ownership comes from the subscriptions' owned partitions; the generation from the subscription (consumer
/// protocol v2+) or, for older members, from the user data (an int32 generation, which this assignor writes).
#[derive(Clone, Debug)]
pub struct CooperativeStickyAssignor {
    generation: i32,
}

impl Default for CooperativeStickyAssignor {
    fn default() -> Self {
        CooperativeStickyAssignor { generation: DEFAULT_GENERATION }
    }
}

impl CooperativeStickyAssignor {
    /// The protocol name.
    pub const NAME: &'static str = "cooperative-sticky";
}

impl PartitionAssignor for CooperativeStickyAssignor {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn supported_protocols(&self) -> &[RebalanceProtocol] {
        &[RebalanceProtocol::Eager, RebalanceProtocol::Cooperative]
    }

    fn subscription_user_data(&self, _topics: &BTreeSet<String>) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(&self.generation.to_be_bytes()))
    }

    fn assign(
        &self,
        partitions_per_topic: &PartitionsPerTopic,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> Result<GroupAssignment> {
        let data = subscriptions
            .iter()
            .map(|(m, s)| {
                let generation = s.generation_id.or_else(|| match s.user_data.as_deref() {
                    None => None,
                    Some(&[a, b, c, d, ..]) => Some(i32::from_be_bytes([a, b, c, d])),
                    Some(_) => Some(DEFAULT_GENERATION),
                });
                (m.clone(), MemberData { owned: s.owned_partitions.clone(), generation })
            })
            .collect();
        let mut assignment = assign_sticky(partitions_per_topic, subscriptions, &data);
        withhold_transferring_partitions(&mut assignment, subscriptions);
        Ok(into_group_assignment(assignment))
    }

    fn on_assignment(&mut self, _assignment: &Assignment, generation_id: i32) {
        self.generation = generation_id;
    }
}

/// Removes from each member's assignment the partitions that another member owns (per the subscriptions) and does
/// not keep: those must be revoked by their owner before they can be assigned.
pub(crate) fn withhold_transferring_partitions(
    assignment: &mut BTreeMap<String, Vec<TopicPartition>>,
    subscriptions: &BTreeMap<String, Subscription>,
) {
    let mut revoked: HashSet<TopicPartition> = HashSet::new();
    for (member, sub) in subscriptions {
        let assigned: HashSet<&TopicPartition> = assignment.get(member).into_iter().flatten().collect();
        revoked.extend(sub.owned_partitions.iter().filter(|tp| !assigned.contains(tp)).cloned());
    }
    for (member, partitions) in assignment.iter_mut() {
        let owned: HashSet<&TopicPartition> =
            subscriptions.get(member).into_iter().flat_map(|s| s.owned_partitions.iter()).collect();
        partitions.retain(|tp| owned.contains(tp) || !revoked.contains(tp));
    }
}

/// Encodes the eager sticky assignor's user data: the member's partitions (topic → partitions) and, in the newer
/// layout, its generation.
pub(crate) fn encode_sticky_user_data(partitions: &[TopicPartition], generation: Option<i32>) -> Result<Bytes> {
    let mut buf = BytesMut::new();
    let topics = to_wire_partitions(partitions);
    buf.put_array_len(Some(topics.len()), false, "previous_assignment")?;
    for t in &topics {
        buf.put_string(&t.topic, false, "topic")?;
        buf.put_array_len(Some(t.partitions.len()), false, "partitions")?;
        for p in &t.partitions {
            buf.put_i32(*p);
        }
    }
    if let Some(g) = generation {
        buf.put_i32(g);
    }
    Ok(buf.freeze())
}

/// Decodes the eager sticky assignor's user data, with a generation if present (Java writes the layout with the
/// generation; older clients wrote the partitions only). `None` if the bytes are neither.
pub(crate) fn decode_sticky_user_data(bytes: &Bytes) -> Option<MemberData> {
    let mut r = Reader::new(bytes.clone());
    let mut owned = Vec::new();
    let topics = r.array_len(false, 6, "previous_assignment").ok()?;
    for _ in 0..topics {
        let topic = r.string(false, "topic").ok()?;
        let n = r.array_len(false, 4, "partitions").ok()?;
        for _ in 0..n {
            owned.push(TopicPartition::new(topic.clone(), r.i32("partition").ok()?));
        }
    }
    let generation = r.i32("generation").ok();
    Some(MemberData { owned, generation })
}

/// Whether every member subscribes to the same topics.
fn identical_subscriptions(subscriptions: &BTreeMap<String, Subscription>) -> bool {
    let mut it = subscriptions.values();
    match it.next() {
        Some(first) => it.all(|s| s.topics == first.topics),
        None => true,
    }
}

/// The sticky assignment (see the module documentation). Returns member id → partitions (sorted).
pub(crate) fn assign_sticky(
    partitions_per_topic: &PartitionsPerTopic,
    subscriptions: &BTreeMap<String, Subscription>,
    data: &BTreeMap<String, MemberData>,
) -> BTreeMap<String, Vec<TopicPartition>> {
    let members: Vec<&str> = subscriptions.keys().map(String::as_str).collect();
    if members.is_empty() {
        return BTreeMap::new();
    }
    let exists = |tp: &TopicPartition| {
        partitions_per_topic.get(&tp.topic).is_some_and(|&n| tp.partition >= 0 && tp.partition < n)
    };
    let topics: BTreeSet<&str> = subscriptions
        .values()
        .flat_map(|s| s.topics.iter().map(String::as_str))
        .filter(|t| partitions_per_topic.get(*t).is_some_and(|&n| n > 0))
        .collect();
    let all: Vec<TopicPartition> = topics
        .iter()
        .flat_map(|t| (0..partitions_per_topic.get(*t).copied().unwrap_or(0)).map(|p| TopicPartition::new(*t, p)))
        .collect();

    // 1. Resolve ownership claims: highest generation wins; a tie at the highest generation voids the claim.
    let mut claims: HashMap<TopicPartition, (i32, Option<usize>)> = HashMap::new();
    for (idx, member) in members.iter().enumerate() {
        let Some(d) = data.get(*member) else { continue };
        let Some(sub) = subscriptions.get(*member) else { continue };
        let generation = d.generation.unwrap_or(DEFAULT_GENERATION);
        let mut seen = HashSet::new();
        for tp in &d.owned {
            if !seen.insert(tp) || !sub.topics.contains(&tp.topic) || !exists(tp) {
                continue;
            }
            match claims.get_mut(tp) {
                None => {
                    claims.insert(tp.clone(), (generation, Some(idx)));
                }
                Some(claim) => {
                    if generation > claim.0 {
                        *claim = (generation, Some(idx));
                    } else if generation == claim.0 && claim.1 != Some(idx) {
                        warn!(partition = %tp, generation, "sticky: members claim a partition in one generation");
                        claim.1 = None;
                    }
                }
            }
        }
    }
    let mut assignment: Vec<Vec<TopicPartition>> = vec![Vec::new(); members.len()];
    let mut unassigned = Vec::new();
    for tp in &all {
        match claims.get(tp).and_then(|c| c.1) {
            Some(owner) => assignment[owner].push(tp.clone()),
            None => unassigned.push(tp.clone()),
        }
    }
    let previously_owned: HashSet<(usize, TopicPartition)> =
        assignment.iter().enumerate().flat_map(|(i, ps)| ps.iter().map(move |tp| (i, tp.clone()))).collect();

    if identical_subscriptions(subscriptions) {
        assign_constrained(&mut assignment, unassigned, all.len());
    } else {
        let subscribed: Vec<&BTreeSet<String>> =
            members.iter().map(|m| subscriptions.get(*m).map(|s| &s.topics)).map(|t| t.unwrap_or(&EMPTY)).collect();
        assign_general(&mut assignment, unassigned, &subscribed, &previously_owned);
    }

    members
        .iter()
        .zip(assignment)
        .map(|(m, mut ps)| {
            ps.sort();
            ((*m).to_owned(), ps)
        })
        .collect()
}

static EMPTY: BTreeSet<String> = BTreeSet::new();

/// Identical subscriptions: keep owned partitions up to the quotas, deal the rest round robin.
fn assign_constrained(assignment: &mut [Vec<TopicPartition>], unassigned: Vec<TopicPartition>, total: usize) {
    let members = assignment.len();
    let min_quota = total / members;
    let mut max_quota_slots = total % members;
    let max_quota = min_quota + usize::from(max_quota_slots > 0);
    let mut free: BTreeSet<TopicPartition> = unassigned.into_iter().collect();

    // Members owning the most keep the larger quota first.
    let mut order: Vec<usize> = (0..members).collect();
    order.sort_by_key(|&i| (Reverse(assignment[i].len()), i));
    for i in order {
        let owned = &mut assignment[i];
        owned.sort();
        let keep = if owned.len() >= max_quota && max_quota > min_quota && max_quota_slots > 0 {
            max_quota_slots -= 1;
            max_quota
        } else {
            owned.len().min(min_quota)
        };
        free.extend(owned.drain(keep..));
    }

    let mut free = free.into_iter();
    // Fill every member up to the minimum quota, one partition per member per round.
    'fill: loop {
        let mut gave = false;
        for owned in assignment.iter_mut().filter(|a| a.len() < min_quota) {
            let Some(tp) = free.next() else { break 'fill };
            owned.push(tp);
            gave = true;
        }
        if !gave {
            break;
        }
    }
    // What remains fills the members allowed one more.
    for owned in assignment.iter_mut() {
        if max_quota_slots == 0 {
            break;
        }
        if owned.len() == min_quota {
            let Some(tp) = free.next() else { break };
            owned.push(tp);
            max_quota_slots -= 1;
        }
    }
    // Defensive: nothing should remain, but never leave a partition unassigned.
    for tp in free {
        if let Some(least) = assignment.iter_mut().min_by_key(|a| a.len()) {
            least.push(tp);
        }
    }
}

/// Different subscriptions: least-loaded placement, then moves that reduce imbalance.
fn assign_general(
    assignment: &mut [Vec<TopicPartition>],
    mut unassigned: Vec<TopicPartition>,
    subscribed: &[&BTreeSet<String>],
    previously_owned: &HashSet<(usize, TopicPartition)>,
) {
    let mut eligible: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, topics) in subscribed.iter().enumerate() {
        for t in topics.iter() {
            eligible.entry(t.clone()).or_default().push(i);
        }
    }
    let eligible_count = |tp: &TopicPartition| eligible.get(&tp.topic).map_or(0, Vec::len);
    unassigned.sort_by(|a, b| eligible_count(a).cmp(&eligible_count(b)).then_with(|| a.cmp(b)));
    for tp in unassigned {
        let Some(&target) = eligible.get(&tp.topic).and_then(|ms| ms.iter().min_by_key(|&&i| (assignment[i].len(), i)))
        else {
            continue;
        };
        assignment[target].push(tp);
    }

    // Balance: move a partition from a member to a subscriber holding at least two fewer, while one exists.
    loop {
        let least_loaded: HashMap<&str, (usize, usize)> = eligible
            .iter()
            .filter_map(|(t, ms)| ms.iter().map(|&i| (assignment[i].len(), i)).min().map(|least| (t.as_str(), least)))
            .collect();
        let mut order: Vec<usize> = (0..assignment.len()).collect();
        order.sort_by_key(|&i| (Reverse(assignment[i].len()), i));
        let mut chosen = None;
        'search: for from in order {
            let load = assignment[from].len();
            let mut positions: Vec<usize> = (0..load).collect();
            // Partitions the member did not own before this rebalance move first.
            positions.sort_by_key(|&p| (previously_owned.contains(&(from, assignment[from][p].clone())), p));
            for pos in positions {
                let Some(&(to_load, to)) = least_loaded.get(assignment[from][pos].topic.as_str()) else { continue };
                if to_load + 1 < load {
                    chosen = Some((from, pos, to));
                    break 'search;
                }
            }
        }
        let Some((from, pos, to)) = chosen else { break };
        let tp = assignment[from].swap_remove(pos);
        assignment[to].push(tp);
    }
}
