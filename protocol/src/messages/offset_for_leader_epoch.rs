//! OffsetForLeaderEpoch (key 23): the end offset of a leader epoch per partition, used by consumers to detect log
//! truncation after a leader change (KIP-320) and by followers to truncate their logs.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// OffsetForLeaderEpoch request.
    pub struct OffsetForLeaderEpochRequest: request(OFFSET_FOR_LEADER_EPOCH -> OffsetForLeaderEpochResponse), versions "2-4", flexible "4+" {
        /// The follower's broker id, [`CONSUMER_REPLICA_ID`] for a consumer; defaults to [`DEBUGGING_REPLICA_ID`].
        replica_id: i32 = "ReplicaId" "int32" "3+" default DEBUGGING_REPLICA_ID,
        /// The topics.
        topics: Vec<OffsetForLeaderTopic> = "Topics" "[]OffsetForLeaderTopic" "0+",
    }
}

structure! {
    /// A topic in an OffsetForLeaderEpoch request.
    pub struct OffsetForLeaderTopic {
        /// The topic name.
        topic: String = "Topic" "string" "0+",
        /// The partitions.
        partitions: Vec<OffsetForLeaderPartition> = "Partitions" "[]OffsetForLeaderPartition" "0+",
    }
}

structure! {
    /// A partition in an OffsetForLeaderEpoch request.
    pub struct OffsetForLeaderPartition {
        /// The partition index.
        partition: i32 = "Partition" "int32" "0+",
        /// The leader epoch the client knows (fences requests with stale metadata), or -1.
        current_leader_epoch: i32 = "CurrentLeaderEpoch" "int32" "2+" default -1,
        /// The epoch to look up the end offset of.
        leader_epoch: i32 = "LeaderEpoch" "int32" "0+",
    }
}

message! {
    /// OffsetForLeaderEpoch response.
    pub struct OffsetForLeaderEpochResponse: response(OFFSET_FOR_LEADER_EPOCH), versions "2-4", flexible "4+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "2+",
        /// The topics.
        topics: Vec<OffsetForLeaderTopicResult> = "Topics" "[]OffsetForLeaderTopicResult" "0+",
    }
}

structure! {
    /// A topic in an OffsetForLeaderEpoch response.
    pub struct OffsetForLeaderTopicResult {
        /// The topic name.
        topic: String = "Topic" "string" "0+",
        /// The partitions.
        partitions: Vec<EpochEndOffset> = "Partitions" "[]EpochEndOffset" "0+",
    }
}

structure! {
    /// A partition's answer: the requested epoch (or the largest one not above it) and its end offset.
    pub struct EpochEndOffset {
        /// The partition's error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The partition index.
        partition: i32 = "Partition" "int32" "0+",
        /// The leader epoch found, or -1.
        leader_epoch: i32 = "LeaderEpoch" "int32" "1+" default -1,
        /// Its end offset, or -1.
        end_offset: i64 = "EndOffset" "int64" "0+" default -1,
    }
}

/// The `replica_id` of a request from a consumer.
pub const CONSUMER_REPLICA_ID: i32 = -1;

/// The `replica_id` the broker assumes for versions that do not carry it (a debugging client).
pub const DEBUGGING_REPLICA_ID: i32 = -2;

#[cfg(test)]
mod tests {

    use super::*;
    use crate::EncodeError;
    use crate::messages::Message;
    use crate::primitives::RawTaggedField;

    #[test]
    fn fields_outside_a_version_are_errors() {
        let m = OffsetForLeaderEpochRequest { replica_id: CONSUMER_REPLICA_ID, ..Default::default() };
        assert_eq!(m.to_bytes(2).unwrap_err(), EncodeError::UnsupportedField { field: "replica_id", version: 2 });
        assert!(m.to_bytes(3).is_ok());
        let m = OffsetForLeaderEpochResponse {
            topics: vec![OffsetForLeaderTopicResult {
                unknown_tagged_fields: vec![RawTaggedField { tag: 0, data: bytes::Bytes::new() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            m.to_bytes(3).unwrap_err(),
            EncodeError::UnsupportedField { field: "topics tagged fields", version: 3 }
        );
        assert!(m.to_bytes(4).is_ok());
    }
}
