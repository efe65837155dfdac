//! CreatePartitions (key 37): grows topics to a new partition count, optionally placing the new partitions on chosen
//! brokers. Versions 0–3 (flexible from 2).

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// CreatePartitions request.
    pub struct CreatePartitionsRequest: request(CREATE_PARTITIONS -> CreatePartitionsResponse), versions "0-3", flexible "2+" {
        /// The topics to grow.
        topics: Vec<CreatePartitionsTopic> = "Topics" "[]CreatePartitionsTopic" "0+",
        /// How long the broker may wait for the partitions to be created, in milliseconds.
        timeout_ms: i32 = "TimeoutMs" "int32" "0+",
        /// Only check the request; change nothing.
        validate_only: bool = "ValidateOnly" "bool" "0+",
    }
}

structure! {
    /// One element of the `topics` array.
    pub struct CreatePartitionsTopic {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partition count the topic should have afterwards (its total, not the increase).
        count: i32 = "Count" "int32" "0+",
        /// Where to put each new partition, in order; `None` lets the controller choose.
        assignments: Option<Vec<CreatePartitionsAssignment>> = "Assignments" "[]CreatePartitionsAssignment" "0+" nullable "0+",
    }
}

structure! {
    /// One element of the `assignments` array.
    pub struct CreatePartitionsAssignment {
        /// The brokers holding the new partition's replicas, preferred leader first.
        broker_ids: Vec<i32> = "BrokerIds" "[]int32" "0+",
    }
}

message! {
    /// CreatePartitions response.
    pub struct CreatePartitionsResponse: response(CREATE_PARTITIONS), versions "0-3", flexible "2+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// One result per topic in the request.
        results: Vec<CreatePartitionsTopicResult> = "Results" "[]CreatePartitionsTopicResult" "0+",
    }
}

structure! {
    /// One element of the `results` array.
    pub struct CreatePartitionsTopicResult {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The error, NONE on success.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The broker's explanation of the error, if any.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
    }
}
