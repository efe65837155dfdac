//! AlterReplicaLogDirs (key 34): moves partition replicas between a broker's log directories (KIP-113). Sent to the
//! broker holding the replicas.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// AlterReplicaLogDirs request.
    pub struct AlterReplicaLogDirsRequest: request(ALTER_REPLICA_LOG_DIRS -> AlterReplicaLogDirsResponse), versions "1-2", flexible "2+" {
        /// The target directories and the replicas to move to each.
        dirs: Vec<AlterReplicaLogDir> = "Dirs" "[]AlterReplicaLogDir" "0+",
    }
}

structure! {
    /// One target directory.
    pub struct AlterReplicaLogDir {
        /// The directory's absolute path.
        path: String = "Path" "string" "0+",
        /// The topics whose replicas move there.
        topics: Vec<AlterReplicaLogDirTopic> = "Topics" "[]AlterReplicaLogDirTopic" "0+",
    }
}

structure! {
    /// One topic's replicas to move.
    pub struct AlterReplicaLogDirTopic {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partition indexes.
        partitions: Vec<i32> = "Partitions" "[]int32" "0+",
    }
}

message! {
    /// AlterReplicaLogDirs response.
    pub struct AlterReplicaLogDirsResponse: response(ALTER_REPLICA_LOG_DIRS), versions "1-2", flexible "2+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// One result per topic.
        results: Vec<AlterReplicaLogDirTopicResult> = "Results" "[]AlterReplicaLogDirTopicResult" "0+",
    }
}

structure! {
    /// One topic's results.
    pub struct AlterReplicaLogDirTopicResult {
        /// The topic name.
        topic_name: String = "TopicName" "string" "0+",
        /// One result per partition.
        partitions: Vec<AlterReplicaLogDirPartitionResult> = "Partitions" "[]AlterReplicaLogDirPartitionResult" "0+",
    }
}

structure! {
    /// One partition's result.
    pub struct AlterReplicaLogDirPartitionResult {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
    }
}
