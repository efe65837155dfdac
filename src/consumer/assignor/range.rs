//! The `range` assignor: per topic, the subscribed members in order each get a contiguous range of partitions.

use std::collections::BTreeMap;

use tracing::debug;

use super::{
    GroupAssignment, PartitionAssignor, PartitionsPerTopic, Subscription, empty_assignments, into_group_assignment,
    sort_members,
};
use crate::consumer::TopicPartition;
use crate::error::Result;

/// Assigns each topic on its own, as the Java client's `RangeAssignor`: the members subscribed to the topic are
/// ordered (static members by `group.instance.id` first, then the others by member id), the topic's partitions are
/// divided into that many contiguous ranges, and the first `partitions % members` members get one partition more.
///
/// With topics t0 and t1 of three partitions each and members C0 and C1 subscribed to both, C0 gets t0-0, t0-1,
/// t1-0, t1-1 and C1 gets t0-2, t1-2. The rack-aware variant of Java 3.5+ (KIP-881) is not implemented: it needs
/// the replicas' racks, which [`PartitionsPerTopic`] does not carry; without rack information Java gives the same
/// result as this assignor.
#[derive(Clone, Copy, Debug, Default)]
pub struct RangeAssignor;

impl RangeAssignor {
    /// The protocol name.
    pub const NAME: &'static str = "range";
}

impl PartitionAssignor for RangeAssignor {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn assign(
        &self,
        partitions_per_topic: &PartitionsPerTopic,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> Result<GroupAssignment> {
        let mut consumers_per_topic: BTreeMap<&str, Vec<(&str, &Subscription)>> = BTreeMap::new();
        for (member, sub) in subscriptions {
            for topic in &sub.topics {
                consumers_per_topic.entry(topic.as_str()).or_default().push((member.as_str(), sub));
            }
        }
        let mut out = empty_assignments(subscriptions);
        for (topic, mut consumers) in consumers_per_topic {
            let Some(&count) = partitions_per_topic.get(topic) else {
                debug!(topic, "range: skipping a topic without metadata");
                continue;
            };
            let partitions = usize::try_from(count).unwrap_or(0);
            sort_members(&mut consumers);
            let n = consumers.len();
            let per_member = partitions / n;
            let extra = partitions % n;
            for (i, (member, _)) in consumers.iter().enumerate() {
                let start = per_member * i + i.min(extra);
                let len = per_member + usize::from(i < extra);
                let list = out.entry((*member).to_owned()).or_default();
                // `start + len <= partitions <= i32::MAX`, so the conversion cannot fail.
                list.extend(
                    (start..start + len).filter_map(|p| i32::try_from(p).ok()).map(|p| TopicPartition::new(topic, p)),
                );
            }
        }
        Ok(into_group_assignment(out))
    }
}
