//! ListPartitionReassignments (key 46): the reassignments in progress (KIP-455).

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// ListPartitionReassignments request.
    pub struct ListPartitionReassignmentsRequest: request(LIST_PARTITION_REASSIGNMENTS -> ListPartitionReassignmentsResponse), versions "0", flexible "0+" {
        /// How long to wait for the controller, in milliseconds.
        timeout_ms: i32 = "TimeoutMs" "int32" "0+" default 60_000,
        /// The partitions to look at; null for every partition.
        topics: Option<Vec<ListPartitionReassignmentsTopic>> = "Topics" "[]ListPartitionReassignmentsTopics" "0+" nullable "0+",
    }
}

structure! {
    /// One topic's partitions to look at (the spec's `ListPartitionReassignmentsTopics`).
    pub struct ListPartitionReassignmentsTopic {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partition indexes.
        partition_indexes: Vec<i32> = "PartitionIndexes" "[]int32" "0+",
    }
}

message! {
    /// ListPartitionReassignments response.
    pub struct ListPartitionReassignmentsResponse: response(LIST_PARTITION_REASSIGNMENTS), versions "0", flexible "0+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The error for the whole request.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// The topics with a reassignment in progress.
        topics: Vec<OngoingTopicReassignment> = "Topics" "[]OngoingTopicReassignment" "0+",
    }
}

structure! {
    /// One topic's ongoing reassignments.
    pub struct OngoingTopicReassignment {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partitions being moved.
        partitions: Vec<OngoingPartitionReassignment> = "Partitions" "[]OngoingPartitionReassignment" "0+",
    }
}

structure! {
    /// One partition being moved.
    pub struct OngoingPartitionReassignment {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// Its current replica set (old and new replicas during the move).
        replicas: Vec<i32> = "Replicas" "[]int32" "0+",
        /// The replicas being added.
        adding_replicas: Vec<i32> = "AddingReplicas" "[]int32" "0+",
        /// The replicas being removed.
        removing_replicas: Vec<i32> = "RemovingReplicas" "[]int32" "0+",
    }
}
