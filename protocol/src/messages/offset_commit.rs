//! OffsetCommit (key 8): stores a consumer group's committed offsets (with leader epoch and metadata) on its
//! group coordinator. Members of a classic group send their generation id, members of a consumer (KIP-848) group
//! their member epoch; v10+ names topics by id.

use super::table::{message, structure};
use crate::ErrorCode;
use crate::primitives::Uuid;

message! {
    /// OffsetCommit request.
    pub struct OffsetCommitRequest: request(OFFSET_COMMIT -> OffsetCommitResponse), versions "2-10", flexible "8+" {
        /// The group id.
        group_id: String = "GroupId" "string" "0+",
        /// The generation (classic group) or member epoch (consumer group), or -1 (commits from outside the group).
        generation_id_or_member_epoch: i32 = "GenerationIdOrMemberEpoch" "int32" "1+" default -1,
        /// The member id assigned by the coordinator.
        member_id: String = "MemberId" "string" "1+",
        /// The static member's instance id, or null.
        group_instance_id: Option<String> = "GroupInstanceId" "string" "7+" nullable "7+",
        /// How long to retain the offsets, in milliseconds; -1 for the broker's default.
        retention_time_ms: i64 = "RetentionTimeMs" "int64" "2-4" default -1,
        /// The topics.
        topics: Vec<OffsetCommitRequestTopic> = "Topics" "[]OffsetCommitRequestTopic" "0+",
    }
}

structure! {
    /// A topic to commit offsets for.
    pub struct OffsetCommitRequestTopic {
        /// The topic name.
        name: String = "Name" "string" "0-9",
        /// The topic id.
        topic_id: Uuid = "TopicId" "uuid" "10+",
        /// The partitions.
        partitions: Vec<OffsetCommitRequestPartition> = "Partitions" "[]OffsetCommitRequestPartition" "0+",
    }
}

structure! {
    /// A partition's offset to commit.
    pub struct OffsetCommitRequestPartition {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The offset to commit: the next offset the consumer will read.
        committed_offset: i64 = "CommittedOffset" "int64" "0+",
        /// The leader epoch of the last consumed record, or -1.
        committed_leader_epoch: i32 = "CommittedLeaderEpoch" "int32" "6+" default -1,
        /// Metadata stored with the offset, or null. The spec's default is the empty string.
        committed_metadata: Option<String> = "CommittedMetadata" "string" "0+" nullable "0+" default Some(String::new()),
    }
}

message! {
    /// OffsetCommit response.
    pub struct OffsetCommitResponse: response(OFFSET_COMMIT), versions "2-10", flexible "8+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "3+",
        /// The topics.
        topics: Vec<OffsetCommitResponseTopic> = "Topics" "[]OffsetCommitResponseTopic" "0+",
    }
}

structure! {
    /// A topic's commit results.
    pub struct OffsetCommitResponseTopic {
        /// The topic name.
        name: String = "Name" "string" "0-9",
        /// The topic id.
        topic_id: Uuid = "TopicId" "uuid" "10+",
        /// The partitions.
        partitions: Vec<OffsetCommitResponsePartition> = "Partitions" "[]OffsetCommitResponsePartition" "0+",
    }
}

structure! {
    /// A partition's commit result.
    pub struct OffsetCommitResponsePartition {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The partition's error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::EncodeError;
    use crate::messages::Message;

    #[test]
    fn fields_outside_a_version_are_errors() {
        let err = |field, version| EncodeError::UnsupportedField { field, version };
        let m = OffsetCommitRequest { group_instance_id: Some("i".into()), ..Default::default() };
        assert_eq!(m.to_bytes(6).unwrap_err(), err("group_instance_id", 6));
        assert!(m.to_bytes(7).is_ok());
        let m = OffsetCommitRequest { retention_time_ms: 1000, ..Default::default() };
        assert_eq!(m.to_bytes(5).unwrap_err(), err("retention_time_ms", 5));
        assert!(m.to_bytes(4).is_ok());
        let topic = |name: &str, topic_id, p| OffsetCommitRequest {
            topics: vec![OffsetCommitRequestTopic {
                name: name.into(),
                topic_id,
                partitions: vec![p],
                ..Default::default()
            }],
            ..Default::default()
        };
        let m = topic("t", Uuid::ZERO, OffsetCommitRequestPartition::default());
        assert_eq!(m.to_bytes(10).unwrap_err(), err("name", 10));
        let m = topic("", Uuid([2; 16]), OffsetCommitRequestPartition::default());
        assert_eq!(m.to_bytes(9).unwrap_err(), err("topic_id", 9));
        assert!(m.to_bytes(10).is_ok());
        let p = OffsetCommitRequestPartition { committed_leader_epoch: 4, ..Default::default() };
        let m = topic("t", Uuid::ZERO, p);
        assert_eq!(m.to_bytes(5).unwrap_err(), err("committed_leader_epoch", 5));
        let m = OffsetCommitResponse { throttle_time_ms: 1, ..Default::default() };
        assert_eq!(m.to_bytes(2).unwrap_err(), err("throttle_time_ms", 2));
        let m = OffsetCommitResponse {
            topics: vec![OffsetCommitResponseTopic { topic_id: Uuid([1; 16]), ..Default::default() }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(9).unwrap_err(), err("topic_id", 9));
        assert!(m.to_bytes(10).is_ok());
    }
}
