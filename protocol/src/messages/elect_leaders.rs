//! ElectLeaders (key 43): asks the controller to elect the preferred (or, unclean, any live) replica as leader of
//! partitions (KIP-460). Sent to any broker, which forwards it.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// ElectLeaders request.
    pub struct ElectLeadersRequest: request(ELECT_LEADERS -> ElectLeadersResponse), versions "0-2", flexible "2+" {
        /// 0 = preferred, 1 = unclean (v1+; v0 is preferred only).
        election_type: i8 = "ElectionType" "int8" "1+",
        /// The partitions; null for every partition.
        topic_partitions: Option<Vec<ElectLeadersTopic>> = "TopicPartitions" "[]TopicPartitions" "0+" nullable "0+",
        /// How long to wait for the elections, in milliseconds.
        timeout_ms: i32 = "TimeoutMs" "int32" "0+" default 60_000,
    }
}

structure! {
    /// One topic's partitions (the spec's `TopicPartitions`).
    pub struct ElectLeadersTopic {
        /// The topic name.
        topic: String = "Topic" "string" "0+",
        /// The partition indexes.
        partitions: Vec<i32> = "Partitions" "[]int32" "0+",
    }
}

message! {
    /// ElectLeaders response.
    pub struct ElectLeadersResponse: response(ELECT_LEADERS), versions "0-2", flexible "2+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The error for the whole request (v1+).
        error_code: ErrorCode = "ErrorCode" "int16" "1+",
        /// One result per topic.
        replica_election_results: Vec<ReplicaElectionResult> = "ReplicaElectionResults" "[]ReplicaElectionResult" "0+",
    }
}

structure! {
    /// One topic's election results.
    pub struct ReplicaElectionResult {
        /// The topic name.
        topic: String = "Topic" "string" "0+",
        /// One result per partition.
        partition_result: Vec<ElectionPartitionResult> = "PartitionResult" "[]PartitionResult" "0+",
    }
}

structure! {
    /// One partition's election result (the spec's `PartitionResult`).
    pub struct ElectionPartitionResult {
        /// The partition index.
        partition_id: i32 = "PartitionId" "int32" "0+",
        /// The error (ELECTION_NOT_NEEDED when the wanted replica already leads).
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
    }
}
