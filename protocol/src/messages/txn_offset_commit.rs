//! TxnOffsetCommit (key 28): a transactional producer commits a consumer group's offsets as part of its transaction,
//! on the group coordinator. Since version 3 it carries the consumer's group metadata (generation or member epoch,
//! member id, group instance id) so that a fenced consumer cannot commit; version 5 (transaction version 2) also
//! adds the group to the transaction; version 6 names topics by id (KIP-1319).

use super::table::{message, structure};
use crate::ErrorCode;
use crate::primitives::Uuid;

message! {
    /// TxnOffsetCommit request.
    pub struct TxnOffsetCommitRequest: request(TXN_OFFSET_COMMIT -> TxnOffsetCommitResponse), versions "0-6", flexible "3+" {
        /// The transactional id.
        transactional_id: String = "TransactionalId" "string" "0+",
        /// The consumer group id.
        group_id: String = "GroupId" "string" "0+",
        /// The producer id in use by the transactional id.
        producer_id: i64 = "ProducerId" "int64" "0+",
        /// The producer's epoch.
        producer_epoch: i16 = "ProducerEpoch" "int16" "0+",
        /// The consumer's generation (classic group) or member epoch (consumer group), -1 when unknown.
        generation_id_or_member_epoch: i32 = "GenerationIdOrMemberEpoch" "int32" "3+" default -1,
        /// The consumer's member id.
        member_id: String = "MemberId" "string" "3+",
        /// The consumer's static instance id, or null.
        group_instance_id: Option<String> = "GroupInstanceId" "string" "3+" nullable "3+",
        /// The topics.
        topics: Vec<TxnOffsetCommitRequestTopic> = "Topics" "[]TxnOffsetCommitRequestTopic" "0+",
    }
}

structure! {
    /// A topic's offsets to commit.
    pub struct TxnOffsetCommitRequestTopic {
        /// The topic name (v0–5).
        name: String = "Name" "string" "0-5",
        /// The topic id (v6+).
        topic_id: Uuid = "TopicId" "uuid" "6+",
        /// The partitions.
        partitions: Vec<TxnOffsetCommitRequestPartition> = "Partitions" "[]TxnOffsetCommitRequestPartition" "0+",
    }
}

structure! {
    /// A partition's offset to commit.
    pub struct TxnOffsetCommitRequestPartition {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The offset to commit: the next offset the consumer will read.
        committed_offset: i64 = "CommittedOffset" "int64" "0+",
        /// The leader epoch of the last consumed record, or -1.
        committed_leader_epoch: i32 = "CommittedLeaderEpoch" "int32" "2+" default -1,
        /// Metadata stored with the offset, or null.
        committed_metadata: Option<String> = "CommittedMetadata" "string" "0+" nullable "0+",
    }
}

message! {
    /// TxnOffsetCommit response.
    pub struct TxnOffsetCommitResponse: response(TXN_OFFSET_COMMIT), versions "0-6", flexible "3+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The topics.
        topics: Vec<TxnOffsetCommitResponseTopic> = "Topics" "[]TxnOffsetCommitResponseTopic" "0+",
    }
}

structure! {
    /// A topic's results.
    pub struct TxnOffsetCommitResponseTopic {
        /// The topic name (v0–5).
        name: String = "Name" "string" "0-5",
        /// The topic id (v6+).
        topic_id: Uuid = "TopicId" "uuid" "6+",
        /// The partitions.
        partitions: Vec<TxnOffsetCommitResponsePartition> = "Partitions" "[]TxnOffsetCommitResponsePartition" "0+",
    }
}

structure! {
    /// A partition's result.
    pub struct TxnOffsetCommitResponsePartition {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The partition's error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
    }
}
