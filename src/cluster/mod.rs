//! Cluster state: the metadata cache (brokers, controller, topics with ids, partition leaders and leader epochs)
//! and its refresh policy.

mod metadata;

pub use metadata::{BrokerInfo, Cluster, MetadataSnapshot, PartitionInfo, TopicInfo, validate_topic_name};
