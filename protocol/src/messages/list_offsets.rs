//! ListOffsets (key 2): the offset for a timestamp per partition, or one of the special offsets chosen with a
//! negative timestamp (see the `*_TIMESTAMP` constants).

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// ListOffsets request.
    pub struct ListOffsetsRequest: request(LIST_OFFSETS -> ListOffsetsResponse), versions "1-11", flexible "6+" {
        /// The broker id of the requester; consumers send [`CONSUMER_REPLICA_ID`]. The spec's default is 0.
        replica_id: i32 = "ReplicaId" "int32" "0+",
        /// 0 (read uncommitted) or 1 (read committed: offsets up to the last stable offset).
        isolation_level: i8 = "IsolationLevel" "int8" "2+",
        /// The topics.
        topics: Vec<ListOffsetsTopic> = "Topics" "[]ListOffsetsTopic" "0+",
        /// How long to wait for offsets that require reading tiered storage, in milliseconds.
        timeout_ms: i32 = "TimeoutMs" "int32" "10+",
    }
}

structure! {
    /// A topic in a ListOffsets request.
    pub struct ListOffsetsTopic {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partitions.
        partitions: Vec<ListOffsetsPartition> = "Partitions" "[]ListOffsetsPartition" "0+",
    }
}

structure! {
    /// A partition in a ListOffsets request.
    pub struct ListOffsetsPartition {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The leader epoch the client knows, or -1.
        current_leader_epoch: i32 = "CurrentLeaderEpoch" "int32" "4+" default -1,
        /// The timestamp to look up, or one of the special negative values.
        timestamp: i64 = "Timestamp" "int64" "0+",
    }
}

message! {
    /// ListOffsets response.
    pub struct ListOffsetsResponse: response(LIST_OFFSETS), versions "1-11", flexible "6+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "2+",
        /// The topics.
        topics: Vec<ListOffsetsTopicResponse> = "Topics" "[]ListOffsetsTopicResponse" "0+",
    }
}

structure! {
    /// A topic in a ListOffsets response.
    pub struct ListOffsetsTopicResponse {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partitions.
        partitions: Vec<ListOffsetsPartitionResponse> = "Partitions" "[]ListOffsetsPartitionResponse" "0+",
    }
}

structure! {
    /// A partition in a ListOffsets response.
    pub struct ListOffsetsPartitionResponse {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The partition's error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The timestamp of the returned offset, or -1.
        timestamp: i64 = "Timestamp" "int64" "1+" default -1,
        /// The returned offset, or -1.
        offset: i64 = "Offset" "int64" "1+" default -1,
        /// The leader epoch of the returned offset, or -1.
        leader_epoch: i32 = "LeaderEpoch" "int32" "4+" default -1,
    }
}

/// Timestamp asking for the offset of the next message to be written (the log end offset).
pub const LATEST_TIMESTAMP: i64 = -1;

/// Timestamp asking for the earliest offset still in the log.
pub const EARLIEST_TIMESTAMP: i64 = -2;

/// Timestamp asking for the offset of the message with the largest timestamp (v7+).
pub const MAX_TIMESTAMP: i64 = -3;

/// Timestamp asking for the earliest offset in local (not tiered) storage (v8+).
pub const EARLIEST_LOCAL_TIMESTAMP: i64 = -4;

/// Timestamp asking for the highest offset uploaded to tiered storage (v9+).
pub const LATEST_TIERED_TIMESTAMP: i64 = -5;

/// Timestamp asking for the earliest offset not yet uploaded to tiered storage (v11+).
pub const EARLIEST_PENDING_UPLOAD_TIMESTAMP: i64 = -6;

/// The `replica_id` of a request from a consumer.
pub const CONSUMER_REPLICA_ID: i32 = -1;

#[cfg(test)]
mod tests {

    use super::*;
    use crate::EncodeError;
    use crate::messages::Message;
    use crate::primitives::RawTaggedField;

    #[test]
    fn fields_outside_a_version_are_errors() {
        let err = |field, version| EncodeError::UnsupportedField { field, version };
        let m = ListOffsetsRequest { isolation_level: 1, ..Default::default() };
        assert_eq!(m.to_bytes(1).unwrap_err(), err("isolation_level", 1));
        assert!(m.to_bytes(2).is_ok());
        let m = ListOffsetsRequest { timeout_ms: 100, ..Default::default() };
        assert_eq!(m.to_bytes(9).unwrap_err(), err("timeout_ms", 9));
        assert!(m.to_bytes(10).is_ok());
        let m = ListOffsetsRequest {
            topics: vec![ListOffsetsTopic {
                name: "t".into(),
                partitions: vec![ListOffsetsPartition { current_leader_epoch: 3, ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(3).unwrap_err(), err("current_leader_epoch", 3));
        let m = ListOffsetsRequest {
            unknown_tagged_fields: vec![RawTaggedField { tag: 0, data: bytes::Bytes::new() }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(5).unwrap_err(), err("tagged fields", 5));
        let m = ListOffsetsResponse { throttle_time_ms: 1, ..Default::default() };
        assert_eq!(m.to_bytes(1).unwrap_err(), err("throttle_time_ms", 1));
        let m = ListOffsetsResponse {
            topics: vec![ListOffsetsTopicResponse {
                name: "t".into(),
                partitions: vec![ListOffsetsPartitionResponse { leader_epoch: 3, ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(3).unwrap_err(), err("leader_epoch", 3));
        assert!(m.to_bytes(4).is_ok());
    }
}
