//! CreateTopics (key 19): creates topics with a partition count and replication factor or a manual assignment, and
//! per-topic configs. Versions 2–7 (Kafka 4.x dropped 0–1).
//!
//! From version 5 the response echoes the created topic's partition count, replication factor and configs; from
//! version 7 its topic id.

use super::table::{message, structure};
use crate::ErrorCode;
use crate::primitives::Uuid;

message! {
    /// CreateTopics request.
    pub struct CreateTopicsRequest: request(CREATE_TOPICS -> CreateTopicsResponse), versions "2-7", flexible "5+" {
        /// The topics to create.
        topics: Vec<CreatableTopic> = "Topics" "[]CreatableTopic" "0+",
        /// How long to wait for the topics to be created, in milliseconds.
        timeout_ms: i32 = "timeoutMs" "int32" "0+" default 60_000,
        /// Only validate the request; create nothing.
        validate_only: bool = "validateOnly" "bool" "1+",
    }
}

structure! {
    /// One topic to create.
    pub struct CreatableTopic {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// Partition count; -1 for the broker default or with a manual assignment.
        num_partitions: i32 = "NumPartitions" "int32" "0+",
        /// Replication factor; -1 for the broker default or with a manual assignment.
        replication_factor: i16 = "ReplicationFactor" "int16" "0+",
        /// Manual replica assignment, empty for automatic assignment.
        assignments: Vec<CreatableReplicaAssignment> = "Assignments" "[]CreatableReplicaAssignment" "0+",
        /// Topic configs to set.
        configs: Vec<CreatableTopicConfig> = "Configs" "[]CreatableTopicConfig" "0+",
    }
}

structure! {
    /// The replicas of one partition, for a manual assignment.
    pub struct CreatableReplicaAssignment {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The brokers to place the partition on, preferred leader first.
        broker_ids: Vec<i32> = "BrokerIds" "[]int32" "0+",
    }
}

structure! {
    /// One topic config to set.
    pub struct CreatableTopicConfig {
        /// The config name.
        name: String = "Name" "string" "0+",
        /// The config value.
        value: Option<String> = "Value" "string" "0+" nullable "0+",
    }
}

message! {
    /// CreateTopics response.
    pub struct CreateTopicsResponse: response(CREATE_TOPICS), versions "2-7", flexible "5+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "2+",
        /// One result per topic.
        topics: Vec<CreatableTopicResult> = "Topics" "[]CreatableTopicResult" "0+",
    }
}

structure! {
    /// The result of creating one topic.
    pub struct CreatableTopicResult {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The new topic's id.
        topic_id: Uuid = "TopicId" "uuid" "7+",
        /// The error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "1+" nullable "0+",
        /// Why the configs could not be returned, when they were not (v5+, tag 0).
        topic_config_error_code: ErrorCode = "TopicConfigErrorCode" "int16" "5+" tag 0,
        /// The topic's partition count, -1 when not known.
        num_partitions: i32 = "NumPartitions" "int32" "5+" default -1,
        /// The topic's replication factor, -1 when not known.
        replication_factor: i16 = "ReplicationFactor" "int16" "5+" default -1,
        /// The topic's configs (v5+); `None` when the broker sent null or the version has none.
        configs: Option<Vec<CreatableTopicConfigs>> = "Configs" "[]CreatableTopicConfigs" "5+" nullable "5+",
    }
}

structure! {
    /// One config of a created topic.
    pub struct CreatableTopicConfigs {
        /// The config name.
        name: String = "Name" "string" "5+",
        /// The config value.
        value: Option<String> = "Value" "string" "5+" nullable "5+",
        /// Whether the config is read-only.
        read_only: bool = "ReadOnly" "bool" "5+",
        /// Where the value comes from, -1 when unknown.
        config_source: i8 = "ConfigSource" "int8" "5+" default -1,
        /// Whether the config is sensitive (its value is then null).
        is_sensitive: bool = "IsSensitive" "bool" "5+",
    }
}

impl CreatableTopic {
    /// A topic with `num_partitions` partitions of `replication_factor` replicas each (-1 for the broker defaults)
    /// and the given configs.
    pub fn new<K: Into<String>, V: Into<String>>(
        name: impl Into<String>,
        num_partitions: i32,
        replication_factor: i16,
        configs: impl IntoIterator<Item = (K, V)>,
    ) -> CreatableTopic {
        CreatableTopic {
            name: name.into(),
            num_partitions,
            replication_factor,
            assignments: Vec::new(),
            configs: configs
                .into_iter()
                .map(|(k, v)| CreatableTopicConfig {
                    name: k.into(),
                    value: Some(v.into()),
                    unknown_tagged_fields: Vec::new(),
                })
                .collect(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl CreateTopicsRequest {
    /// A request creating `topics`, waiting up to `timeout_ms`.
    pub fn new(topics: impl IntoIterator<Item = CreatableTopic>, timeout_ms: i32) -> CreateTopicsRequest {
        CreateTopicsRequest { topics: topics.into_iter().collect(), timeout_ms, ..Default::default() }
    }

    /// A request creating one topic; see [`CreatableTopic::new`].
    pub fn single<K: Into<String>, V: Into<String>>(
        name: impl Into<String>,
        num_partitions: i32,
        replication_factor: i16,
        configs: impl IntoIterator<Item = (K, V)>,
        timeout_ms: i32,
    ) -> CreateTopicsRequest {
        CreateTopicsRequest::new([CreatableTopic::new(name, num_partitions, replication_factor, configs)], timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EncodeError;
    use crate::messages::Message;
    use crate::primitives::Reader;

    #[test]
    fn single_topic_request() {
        let r = CreateTopicsRequest::single("t", 3, 1, [("cleanup.policy", "compact")], 5000);
        assert_eq!(r.topics[0].configs[0].value.as_deref(), Some("compact"));
        for v in 2..=7 {
            let b = r.to_bytes(v).unwrap();
            assert_eq!(CreateTopicsRequest::decode_exact(&mut Reader::new(b.freeze()), v).unwrap(), r);
        }
    }

    #[test]
    fn response_fields_need_their_versions() {
        let t = CreatableTopicResult { name: "t".into(), num_partitions: 3, ..Default::default() };
        let m = CreateTopicsResponse { topics: vec![t], ..Default::default() };
        assert_eq!(m.to_bytes(4).unwrap_err(), EncodeError::UnsupportedField { field: "num_partitions", version: 4 });
        assert!(m.to_bytes(5).is_ok());
        let t = CreatableTopicResult { topic_config_error_code: ErrorCode(38), ..Default::default() };
        let m = CreateTopicsResponse { topics: vec![t], ..Default::default() };
        assert!(m.to_bytes(4).is_err());
        let b = m.to_bytes(5).unwrap();
        assert_eq!(CreateTopicsResponse::decode_exact(&mut Reader::new(b.freeze()), 5).unwrap(), m);
    }
}
