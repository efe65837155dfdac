//! AlterPartitionReassignments (key 45): starts or cancels moving partitions to new replica sets (KIP-455).

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// AlterPartitionReassignments request.
    pub struct AlterPartitionReassignmentsRequest: request(ALTER_PARTITION_REASSIGNMENTS -> AlterPartitionReassignmentsResponse), versions "0-1", flexible "0+" {
        /// How long to wait for the controller, in milliseconds.
        timeout_ms: i32 = "TimeoutMs" "int32" "0+" default 60_000,
        /// Whether a reassignment may change a partition's replica count (v1+).
        allow_replication_factor_change: bool = "AllowReplicationFactorChange" "bool" "1+" default true,
        /// The topics to reassign.
        topics: Vec<ReassignableTopic> = "Topics" "[]ReassignableTopic" "0+",
    }
}

structure! {
    /// One topic's partitions to reassign.
    pub struct ReassignableTopic {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partitions.
        partitions: Vec<ReassignablePartition> = "Partitions" "[]ReassignablePartition" "0+",
    }
}

structure! {
    /// One partition's target.
    pub struct ReassignablePartition {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The target replicas, preferred leader first; null cancels an ongoing reassignment.
        replicas: Option<Vec<i32>> = "Replicas" "[]int32" "0+" nullable "0+",
    }
}

message! {
    /// AlterPartitionReassignments response.
    pub struct AlterPartitionReassignmentsResponse: response(ALTER_PARTITION_REASSIGNMENTS), versions "0-1", flexible "0+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// Echoes the request's setting (v1+).
        allow_replication_factor_change: bool = "AllowReplicationFactorChange" "bool" "1+" default true,
        /// The error for the whole request.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// One result per topic.
        responses: Vec<ReassignableTopicResponse> = "Responses" "[]ReassignableTopicResponse" "0+",
    }
}

structure! {
    /// One topic's results.
    pub struct ReassignableTopicResponse {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// One result per partition.
        partitions: Vec<ReassignablePartitionResponse> = "Partitions" "[]ReassignablePartitionResponse" "0+",
    }
}

structure! {
    /// One partition's result.
    pub struct ReassignablePartitionResponse {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The error (NO_REASSIGNMENT_IN_PROGRESS when cancelling nothing).
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
    }
}
