//! OffsetDelete (key 47): removes a group's committed offsets for some partitions (KIP-496); refused for partitions
//! the group is still subscribed to. Version 0, not flexible.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// OffsetDelete request.
    pub struct OffsetDeleteRequest: request(OFFSET_DELETE -> OffsetDeleteResponse), versions "0", flexible "none" {
        /// The group id.
        group_id: String = "GroupId" "string" "0+",
        /// The partitions whose offsets to delete, per topic.
        topics: Vec<OffsetDeleteTopic> = "Topics" "[]OffsetDeleteRequestTopic" "0+",
    }
}

structure! {
    /// One element of the `topics` array.
    pub struct OffsetDeleteTopic {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partitions.
        partitions: Vec<OffsetDeletePartition> = "Partitions" "[]OffsetDeleteRequestPartition" "0+",
    }
}

structure! {
    /// One element of the `partitions` array.
    pub struct OffsetDeletePartition {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
    }
}

message! {
    /// OffsetDelete response.
    pub struct OffsetDeleteResponse: response(OFFSET_DELETE), versions "0", flexible "none" {
        /// The group-level error, NONE on success.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// Per-partition results, per topic.
        topics: Vec<OffsetDeleteTopicResult> = "Topics" "[]OffsetDeleteResponseTopic" "0+",
    }
}

structure! {
    /// One element of the `topics` array.
    pub struct OffsetDeleteTopicResult {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partitions.
        partitions: Vec<OffsetDeletePartitionResult> = "Partitions" "[]OffsetDeleteResponsePartition" "0+",
    }
}

structure! {
    /// One element of the `partitions` array.
    pub struct OffsetDeletePartitionResult {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The partition's error, NONE on success.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
    }
}
