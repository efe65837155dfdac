//! The `roundrobin` assignor: all partitions in order, dealt to the members in turn.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    GroupAssignment, PartitionAssignor, PartitionsPerTopic, Subscription, empty_assignments, into_group_assignment,
    sort_members,
};
use crate::consumer::TopicPartition;
use crate::error::Result;

/// Deals partitions round robin, as the Java client's `RoundRobinAssignor`: every partition of every subscribed
/// topic, sorted by topic then partition, goes to the next member in a circular order (static members by
/// `group.instance.id` first, then the others by member id), skipping members not subscribed to its topic.
///
/// With topics t0 and t1 of three partitions each and members C0 and C1 subscribed to both, C0 gets t0-0, t0-2,
/// t1-1 and C1 gets t0-1, t1-0, t1-2.
#[derive(Clone, Copy, Debug, Default)]
pub struct RoundRobinAssignor;

impl RoundRobinAssignor {
    /// The protocol name.
    pub const NAME: &'static str = "roundrobin";
}

impl PartitionAssignor for RoundRobinAssignor {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn assign(
        &self,
        partitions_per_topic: &PartitionsPerTopic,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> Result<GroupAssignment> {
        let mut out = empty_assignments(subscriptions);
        let mut members: Vec<(&str, &Subscription)> = subscriptions.iter().map(|(m, s)| (m.as_str(), s)).collect();
        if members.is_empty() {
            return Ok(into_group_assignment(out));
        }
        sort_members(&mut members);
        let topics: BTreeSet<&str> = members.iter().flat_map(|(_, s)| s.topics.iter().map(String::as_str)).collect();
        let mut next = 0usize;
        for topic in topics {
            let Some(&count) = partitions_per_topic.get(topic) else { continue };
            for p in 0..count.max(0) {
                // Some member subscribes to `topic` (it came from a subscription), so this finds one within a lap.
                let Some(offset) =
                    (0..members.len()).find(|k| members[(next + k) % members.len()].1.topics.contains(topic))
                else {
                    continue;
                };
                let idx = (next + offset) % members.len();
                out.entry(members[idx].0.to_owned()).or_default().push(TopicPartition::new(topic, p));
                next = idx + 1;
            }
        }
        Ok(into_group_assignment(out))
    }
}
