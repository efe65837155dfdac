//! DescribeProducers (key 61): the producers with state on partitions (KIP-664), from each partition's leader.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// DescribeProducers request.
    pub struct DescribeProducersRequest: request(DESCRIBE_PRODUCERS -> DescribeProducersResponse), versions "0", flexible "0+" {
        /// The partitions to describe.
        topics: Vec<DescribeProducersTopic> = "Topics" "[]TopicRequest" "0+",
    }
}

structure! {
    /// One topic's partitions (the spec's `TopicRequest`).
    pub struct DescribeProducersTopic {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partition indexes.
        partition_indexes: Vec<i32> = "PartitionIndexes" "[]int32" "0+",
    }
}

message! {
    /// DescribeProducers response.
    pub struct DescribeProducersResponse: response(DESCRIBE_PRODUCERS), versions "0", flexible "0+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// One result per topic.
        topics: Vec<DescribeProducersTopicResponse> = "Topics" "[]TopicResponse" "0+",
    }
}

structure! {
    /// One topic's results (the spec's `TopicResponse`).
    pub struct DescribeProducersTopicResponse {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// One result per partition.
        partitions: Vec<DescribeProducersPartition> = "Partitions" "[]PartitionResponse" "0+",
    }
}

structure! {
    /// One partition's producers (the spec's `PartitionResponse`).
    pub struct DescribeProducersPartition {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The error (NOT_LEADER_OR_FOLLOWER when asked of another broker).
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// The producers with state on the partition.
        active_producers: Vec<ProducerState> = "ActiveProducers" "[]ProducerState" "0+",
    }
}

structure! {
    /// One producer's state on a partition.
    pub struct ProducerState {
        /// The producer id.
        producer_id: i64 = "ProducerId" "int64" "0+",
        /// The producer epoch (an int32 here, unlike elsewhere).
        producer_epoch: i32 = "ProducerEpoch" "int32" "0+",
        /// The last sequence number written, -1 if none.
        last_sequence: i32 = "LastSequence" "int32" "0+" default -1,
        /// The timestamp of its last write, -1 if none.
        last_timestamp: i64 = "LastTimestamp" "int64" "0+" default -1,
        /// The coordinator epoch of its last transaction marker.
        coordinator_epoch: i32 = "CoordinatorEpoch" "int32" "0+",
        /// The first offset of its open transaction, -1 when none is open.
        current_txn_start_offset: i64 = "CurrentTxnStartOffset" "int64" "0+" default -1,
    }
}
