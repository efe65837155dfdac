//! OffsetFetch (key 9): reads a consumer group's committed offsets from its coordinator. Up to v7 a request names
//! one group; v8+ batches several groups; v9+ carries the member id and epoch of a consumer (KIP-848) group member;
//! v10+ names topics by id.

use super::table::{message, structure};
use crate::ErrorCode;
use crate::primitives::Uuid;

message! {
    /// OffsetFetch request.
    pub struct OffsetFetchRequest: request(OFFSET_FETCH -> OffsetFetchResponse), versions "1-10", flexible "6+" {
        /// The group.
        group_id: String = "GroupId" "string" "0-7",
        /// The topics to fetch offsets for, or null for all topics (null from v2). The spec's default is empty.
        topics: Option<Vec<OffsetFetchRequestTopic>> = "Topics" "[]OffsetFetchRequestTopic" "0-7" nullable "2-7" default Some(Vec::new()),
        /// The groups to fetch offsets for.
        groups: Vec<OffsetFetchRequestGroup> = "Groups" "[]OffsetFetchRequestGroup" "8+",
        /// Whether the broker should answer `UNSTABLE_OFFSET_COMMIT` for partitions with pending transactional
        /// offsets instead of returning them.
        require_stable: bool = "RequireStable" "bool" "7+",
    }
}

structure! {
    /// A topic in a single-group request (v0-7).
    pub struct OffsetFetchRequestTopic {
        /// The topic name.
        name: String = "Name" "string" "0-7",
        /// The partitions.
        partition_indexes: Vec<i32> = "PartitionIndexes" "[]int32" "0-7",
    }
}

structure! {
    /// A group in a batched request (v8+).
    pub struct OffsetFetchRequestGroup {
        /// The group id.
        group_id: String = "GroupId" "string" "8+",
        /// The member id, or null.
        member_id: Option<String> = "MemberId" "string" "9+" nullable "9+",
        /// The member epoch of a consumer (KIP-848) group member, or -1.
        member_epoch: i32 = "MemberEpoch" "int32" "9+" default -1,
        /// The topics, or null for all topics. The spec's default is empty.
        topics: Option<Vec<OffsetFetchRequestTopics>> = "Topics" "[]OffsetFetchRequestTopics" "8+" nullable "8+" default Some(Vec::new()),
    }
}

structure! {
    /// A topic in a batched request's group (v8+).
    pub struct OffsetFetchRequestTopics {
        /// The topic name.
        name: String = "Name" "string" "8-9",
        /// The topic id.
        topic_id: Uuid = "TopicId" "uuid" "10+",
        /// The partitions.
        partition_indexes: Vec<i32> = "PartitionIndexes" "[]int32" "8+",
    }
}

message! {
    /// OffsetFetch response.
    pub struct OffsetFetchResponse: response(OFFSET_FETCH), versions "1-10", flexible "6+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "3+",
        /// The topics of the single group.
        topics: Vec<OffsetFetchResponseTopic> = "Topics" "[]OffsetFetchResponseTopic" "0-7",
        /// The single group's error.
        error_code: ErrorCode = "ErrorCode" "int16" "2-7",
        /// The groups.
        groups: Vec<OffsetFetchResponseGroup> = "Groups" "[]OffsetFetchResponseGroup" "8+",
    }
}

structure! {
    /// A topic in a single-group response (v0-7).
    pub struct OffsetFetchResponseTopic {
        /// The topic name.
        name: String = "Name" "string" "0-7",
        /// The partitions.
        partitions: Vec<OffsetFetchResponsePartition> = "Partitions" "[]OffsetFetchResponsePartition" "0-7",
    }
}

structure! {
    /// A group in a batched response (v8+).
    pub struct OffsetFetchResponseGroup {
        /// The group id.
        group_id: String = "GroupId" "string" "8+",
        /// The topics.
        topics: Vec<OffsetFetchResponseTopics> = "Topics" "[]OffsetFetchResponseTopics" "8+",
        /// The group's error.
        error_code: ErrorCode = "ErrorCode" "int16" "8+",
    }
}

structure! {
    /// A partition in a single-group response (v0-7).
    pub struct OffsetFetchResponsePartition {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0-7",
        /// The committed offset, or -1 if none.
        committed_offset: i64 = "CommittedOffset" "int64" "0-7",
        /// The committed leader epoch, or -1.
        committed_leader_epoch: i32 = "CommittedLeaderEpoch" "int32" "5-7" default -1,
        /// The committed metadata, or null. The spec's default is the empty string.
        metadata: Option<String> = "Metadata" "string" "0-7" nullable "0-7" default Some(String::new()),
        /// The partition's error.
        error_code: ErrorCode = "ErrorCode" "int16" "0-7",
    }
}

structure! {
    /// A topic in a batched response's group (v8+).
    pub struct OffsetFetchResponseTopics {
        /// The topic name.
        name: String = "Name" "string" "8-9",
        /// The topic id.
        topic_id: Uuid = "TopicId" "uuid" "10+",
        /// The partitions.
        partitions: Vec<OffsetFetchResponsePartitions> = "Partitions" "[]OffsetFetchResponsePartitions" "8+",
    }
}

structure! {
    /// A partition in a batched response's group (v8+).
    pub struct OffsetFetchResponsePartitions {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "8+",
        /// The committed offset, or -1 if none.
        committed_offset: i64 = "CommittedOffset" "int64" "8+",
        /// The committed leader epoch, or -1.
        committed_leader_epoch: i32 = "CommittedLeaderEpoch" "int32" "8+" default -1,
        /// The committed metadata, or null. The spec's default is the empty string.
        metadata: Option<String> = "Metadata" "string" "8+" nullable "8+" default Some(String::new()),
        /// The partition's error.
        error_code: ErrorCode = "ErrorCode" "int16" "8+",
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::messages::Message;
    use crate::primitives::{RawTaggedField, Reader};
    use crate::{DecodeError, EncodeError};

    #[test]
    fn null_topics_need_v2() {
        let m = OffsetFetchRequest { group_id: "g".into(), topics: None, ..Default::default() };
        assert_eq!(m.to_bytes(1).unwrap_err(), EncodeError::NullNotAllowed { field: "topics", version: 1 });
        let b = m.to_bytes(2).unwrap().freeze();
        assert_eq!(OffsetFetchRequest::decode_exact(&mut Reader::new(b), 2).unwrap(), m);
        // The v2 bytes (a -1 topic count) are not a valid v1 request.
        let b = m.to_bytes(2).unwrap().freeze();
        assert_eq!(
            OffsetFetchRequest::decode_exact(&mut Reader::new(b), 1).unwrap_err(),
            DecodeError::UnexpectedNull { what: "topics" }
        );
    }

    #[test]
    fn fields_outside_a_version_are_errors() {
        let err = |field, version| EncodeError::UnsupportedField { field, version };
        let m = OffsetFetchRequest { group_id: "g".into(), ..Default::default() };
        assert_eq!(m.to_bytes(8).unwrap_err(), err("group_id", 8));
        assert!(m.to_bytes(7).is_ok());
        let m = OffsetFetchRequest { topics: None, ..Default::default() };
        assert_eq!(m.to_bytes(8).unwrap_err(), err("topics", 8));
        let m = OffsetFetchRequest { groups: vec![OffsetFetchRequestGroup::default()], ..Default::default() };
        assert_eq!(m.to_bytes(7).unwrap_err(), err("groups", 7));
        assert!(m.to_bytes(8).is_ok());
        let m = OffsetFetchRequest { require_stable: true, ..Default::default() };
        assert_eq!(m.to_bytes(6).unwrap_err(), err("require_stable", 6));
        let group = |g: OffsetFetchRequestGroup| OffsetFetchRequest { groups: vec![g], ..Default::default() };
        let m = group(OffsetFetchRequestGroup { member_epoch: 3, ..Default::default() });
        assert_eq!(m.to_bytes(8).unwrap_err(), err("member_epoch", 8));
        assert!(m.to_bytes(9).is_ok());
        let m = group(OffsetFetchRequestGroup { member_id: Some("m".into()), ..Default::default() });
        assert_eq!(m.to_bytes(8).unwrap_err(), err("member_id", 8));
        let m = group(OffsetFetchRequestGroup {
            topics: Some(vec![OffsetFetchRequestTopics { topic_id: Uuid([3; 16]), ..Default::default() }]),
            ..Default::default()
        });
        assert_eq!(m.to_bytes(9).unwrap_err(), err("topic_id", 9));
        assert!(m.to_bytes(10).is_ok());
        let m = OffsetFetchRequest {
            unknown_tagged_fields: vec![RawTaggedField { tag: 0, data: Bytes::new() }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(5).unwrap_err(), err("tagged fields", 5));

        let m = OffsetFetchResponse { error_code: ErrorCode(16), ..Default::default() };
        assert_eq!(m.to_bytes(1).unwrap_err(), err("error_code", 1));
        assert_eq!(m.to_bytes(8).unwrap_err(), err("error_code", 8));
        assert!(m.to_bytes(7).is_ok());
        let m = OffsetFetchResponse { topics: vec![OffsetFetchResponseTopic::default()], ..Default::default() };
        assert_eq!(m.to_bytes(8).unwrap_err(), err("topics", 8));
        let m = OffsetFetchResponse { groups: vec![OffsetFetchResponseGroup::default()], ..Default::default() };
        assert_eq!(m.to_bytes(7).unwrap_err(), err("groups", 7));
        let m = OffsetFetchResponse {
            topics: vec![OffsetFetchResponseTopic {
                partitions: vec![OffsetFetchResponsePartition { committed_leader_epoch: 1, ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(4).unwrap_err(), err("committed_leader_epoch", 4));
        assert!(m.to_bytes(5).is_ok());
        let m = OffsetFetchResponse { throttle_time_ms: 1, ..Default::default() };
        assert_eq!(m.to_bytes(2).unwrap_err(), err("throttle_time_ms", 2));
    }
}
