//! DescribeLogDirs (key 35): a broker's log directories and the partition replicas in each (KIP-113). Sent to each
//! broker whose directories are wanted.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// DescribeLogDirs request.
    pub struct DescribeLogDirsRequest: request(DESCRIBE_LOG_DIRS -> DescribeLogDirsResponse), versions "1-5", flexible "2+" {
        /// The partitions to report; null for every partition.
        topics: Option<Vec<DescribableLogDirTopic>> = "Topics" "[]DescribableLogDirTopic" "0+" nullable "0+",
    }
}

structure! {
    /// One topic's partitions to report.
    pub struct DescribableLogDirTopic {
        /// The topic name.
        topic: String = "Topic" "string" "0+",
        /// The partition indexes.
        partitions: Vec<i32> = "Partitions" "[]int32" "0+",
    }
}

message! {
    /// DescribeLogDirs response.
    pub struct DescribeLogDirsResponse: response(DESCRIBE_LOG_DIRS), versions "1-5", flexible "2+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The error for the whole request (v3+).
        error_code: ErrorCode = "ErrorCode" "int16" "3+",
        /// One result per log directory.
        results: Vec<DescribeLogDirsResult> = "Results" "[]DescribeLogDirsResult" "0+",
    }
}

structure! {
    /// One log directory.
    pub struct DescribeLogDirsResult {
        /// The error for this directory (KAFKA_STORAGE_ERROR when it is offline).
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The directory's absolute path.
        log_dir: String = "LogDir" "string" "0+",
        /// The topics with replicas in it.
        topics: Vec<DescribeLogDirsTopic> = "Topics" "[]DescribeLogDirsTopic" "0+",
        /// The volume's size in bytes, -1 when unknown (v4+).
        total_bytes: i64 = "TotalBytes" "int64" "4+" default -1,
        /// The volume's free bytes, -1 when unknown (v4+).
        usable_bytes: i64 = "UsableBytes" "int64" "4+" default -1,
        /// Whether new partitions are kept off this directory (v5+).
        is_cordoned: bool = "IsCordoned" "bool" "5+",
    }
}

structure! {
    /// One topic's replicas in a directory.
    pub struct DescribeLogDirsTopic {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partitions.
        partitions: Vec<DescribeLogDirsPartition> = "Partitions" "[]DescribeLogDirsPartition" "0+",
    }
}

structure! {
    /// One replica in a directory.
    pub struct DescribeLogDirsPartition {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The replica's size in bytes.
        partition_size: i64 = "PartitionSize" "int64" "0+",
        /// How far the replica is behind the leader's end offset (or a current replica behind a future one).
        offset_lag: i64 = "OffsetLag" "int64" "0+",
        /// Whether this is a future replica (being moved here by AlterReplicaLogDirs).
        is_future_key: bool = "IsFutureKey" "bool" "0+",
    }
}
