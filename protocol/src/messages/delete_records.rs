//! DeleteRecords (key 21): moves partitions' log start offsets forward, making the records before them unreadable
//! (and eventually deleted); sent to each partition's leader. Versions 0–2 (flexible from 2).

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// DeleteRecords request.
    pub struct DeleteRecordsRequest: request(DELETE_RECORDS -> DeleteRecordsResponse), versions "0-2", flexible "2+" {
        /// The partitions to truncate, per topic.
        topics: Vec<DeleteRecordsTopic> = "Topics" "[]DeleteRecordsTopic" "0+",
        /// How long the leader may wait for its followers, in milliseconds.
        timeout_ms: i32 = "TimeoutMs" "int32" "0+",
    }
}

structure! {
    /// One element of the `topics` array.
    pub struct DeleteRecordsTopic {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partitions.
        partitions: Vec<DeleteRecordsPartition> = "Partitions" "[]DeleteRecordsPartition" "0+",
    }
}

structure! {
    /// One element of the `partitions` array.
    pub struct DeleteRecordsPartition {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// Delete every record before this offset; -1 for the high watermark (everything).
        offset: i64 = "Offset" "int64" "0+",
    }
}

message! {
    /// DeleteRecords response.
    pub struct DeleteRecordsResponse: response(DELETE_RECORDS), versions "0-2", flexible "2+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// Per-partition results, per topic.
        topics: Vec<DeleteRecordsTopicResult> = "Topics" "[]DeleteRecordsTopicResult" "0+",
    }
}

structure! {
    /// One element of the `topics` array.
    pub struct DeleteRecordsTopicResult {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partitions.
        partitions: Vec<DeleteRecordsPartitionResult> = "Partitions" "[]DeleteRecordsPartitionResult" "0+",
    }
}

structure! {
    /// One element of the `partitions` array.
    pub struct DeleteRecordsPartitionResult {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The partition's new log start offset.
        low_watermark: i64 = "LowWatermark" "int64" "0+",
        /// The partition's error, NONE on success.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
    }
}
