//! DescribeTopicPartitions (key 75): topic partitions with their leaders, replicas, in-sync replicas and eligible
//! leader replicas (KIP-966), paged by a cursor for topics with many partitions. Version 0, flexible.

use super::table::{message, structure};
use crate::ErrorCode;
use crate::primitives::Uuid;

message! {
    /// DescribeTopicPartitions request.
    pub struct DescribeTopicPartitionsRequest: request(DESCRIBE_TOPIC_PARTITIONS -> DescribeTopicPartitionsResponse), versions "0", flexible "0+" {
        /// The topics to describe.
        topics: Vec<DescribeTopicPartitionsTopic> = "Topics" "[]TopicRequest" "0+",
        /// The most partitions one response may hold; the rest is reached through `next_cursor`.
        response_partition_limit: i32 = "ResponsePartitionLimit" "int32" "0+" default 2000,
        /// Where to resume, from a previous response's `next_cursor`; `None` to start at the beginning.
        cursor: Option<DescribeTopicPartitionsCursor> = "Cursor" "Cursor" "0+" nullable "0+",
    }
}

structure! {
    /// One element of the `topics` array.
    pub struct DescribeTopicPartitionsTopic {
        /// The topic name.
        name: String = "Name" "string" "0+",
    }
}

structure! {
    /// A position in the listing: a topic and the partition to continue at.
    pub struct DescribeTopicPartitionsCursor {
        /// The topic to resume at.
        topic_name: String = "TopicName" "string" "0+",
        /// The partition to resume at.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
    }
}

message! {
    /// DescribeTopicPartitions response.
    pub struct DescribeTopicPartitionsResponse: response(DESCRIBE_TOPIC_PARTITIONS), versions "0", flexible "0+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The topics, in name order.
        topics: Vec<DescribeTopicPartitionsResponseTopic> = "Topics" "[]DescribeTopicPartitionsResponseTopic" "0+",
        /// Where the next page starts; `None` when this was the last page.
        next_cursor: Option<DescribeTopicPartitionsCursor> = "NextCursor" "Cursor" "0+" nullable "0+",
    }
}

structure! {
    /// One element of the `topics` array.
    pub struct DescribeTopicPartitionsResponseTopic {
        /// The topic's error, NONE on success.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The topic name.
        name: Option<String> = "Name" "string" "0+" nullable "0+",
        /// The topic id.
        topic_id: Uuid = "TopicId" "uuid" "0+",
        /// Whether the topic is internal (`__consumer_offsets`, `__transaction_state`, ...).
        is_internal: bool = "IsInternal" "bool" "0+",
        /// The partitions in this page.
        partitions: Vec<DescribeTopicPartitionsResponsePartition> = "Partitions" "[]DescribeTopicPartitionsResponsePartition" "0+",
        /// A bit set of the operations the caller may do on the topic; `i32::MIN` when not computed.
        topic_authorized_operations: i32 = "TopicAuthorizedOperations" "int32" "0+" default i32::MIN,
    }
}

structure! {
    /// One element of the `partitions` array.
    pub struct DescribeTopicPartitionsResponsePartition {
        /// The partition's error, NONE on success.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The leader's broker id, -1 when there is none.
        leader_id: i32 = "LeaderId" "int32" "0+",
        /// The leader epoch, -1 when unknown.
        leader_epoch: i32 = "LeaderEpoch" "int32" "0+" default -1,
        /// The brokers holding a replica.
        replica_nodes: Vec<i32> = "ReplicaNodes" "[]int32" "0+",
        /// The replicas in sync with the leader.
        isr_nodes: Vec<i32> = "IsrNodes" "[]int32" "0+",
        /// Replicas outside the ISR that may still be elected without data loss (KIP-966); `None` when the feature is off.
        eligible_leader_replicas: Option<Vec<i32>> = "EligibleLeaderReplicas" "[]int32" "0+" nullable "0+",
        /// The last eligible leader replicas known before the set became empty; `None` when the feature is off.
        last_known_elr: Option<Vec<i32>> = "LastKnownElr" "[]int32" "0+" nullable "0+",
        /// Replicas on offline log directories.
        offline_replicas: Vec<i32> = "OfflineReplicas" "[]int32" "0+",
    }
}
