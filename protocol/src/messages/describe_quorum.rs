//! DescribeQuorum (key 55): the KRaft metadata quorum's leader, voters and observers (KIP-595, KIP-836, KIP-853).
//! Sent to any broker, which forwards it to the active controller.

use super::table::{message, structure};
use crate::ErrorCode;
use crate::primitives::Uuid;

message! {
    /// DescribeQuorum request.
    pub struct DescribeQuorumRequest: request(DESCRIBE_QUORUM -> DescribeQuorumResponse), versions "0-2", flexible "0+" {
        /// The quorum's partitions (`__cluster_metadata` partition 0).
        topics: Vec<QuorumTopicRequest> = "Topics" "[]TopicData" "0+",
    }
}

structure! {
    /// One topic (the spec's `TopicData`).
    pub struct QuorumTopicRequest {
        /// The topic name.
        topic_name: String = "TopicName" "string" "0+",
        /// Its partitions.
        partitions: Vec<QuorumPartitionRequest> = "Partitions" "[]PartitionData" "0+",
    }
}

structure! {
    /// One partition (the spec's `PartitionData`).
    pub struct QuorumPartitionRequest {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
    }
}

message! {
    /// DescribeQuorum response.
    pub struct DescribeQuorumResponse: response(DESCRIBE_QUORUM), versions "0-2", flexible "0+" {
        /// The error for the whole request.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message (v2+).
        error_message: Option<String> = "ErrorMessage" "string" "2+" nullable "2+",
        /// One result per topic.
        topics: Vec<QuorumTopicResponse> = "Topics" "[]TopicData" "0+",
        /// The voters' endpoints (v2+).
        nodes: Vec<QuorumNode> = "Nodes" "[]Node" "2+",
    }
}

structure! {
    /// One topic's quorum state (the spec's `TopicData`).
    pub struct QuorumTopicResponse {
        /// The topic name.
        topic_name: String = "TopicName" "string" "0+",
        /// Its partitions.
        partitions: Vec<QuorumPartitionResponse> = "Partitions" "[]PartitionData" "0+",
    }
}

structure! {
    /// One partition's quorum state (the spec's `PartitionData`).
    pub struct QuorumPartitionResponse {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The error for this partition.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message (v2+).
        error_message: Option<String> = "ErrorMessage" "string" "2+" nullable "2+",
        /// The leader's id.
        leader_id: i32 = "LeaderId" "int32" "0+",
        /// The leader's epoch.
        leader_epoch: i32 = "LeaderEpoch" "int32" "0+",
        /// The high watermark.
        high_watermark: i64 = "HighWatermark" "int64" "0+",
        /// The voters.
        current_voters: Vec<QuorumReplicaState> = "CurrentVoters" "[]ReplicaState" "0+",
        /// The observers (brokers replicating the log without voting).
        observers: Vec<QuorumReplicaState> = "Observers" "[]ReplicaState" "0+",
    }
}

structure! {
    /// One replica of the metadata log (the spec's `ReplicaState`).
    pub struct QuorumReplicaState {
        /// The node id.
        replica_id: i32 = "ReplicaId" "int32" "0+",
        /// The id of the replica's metadata log directory (v2+).
        replica_directory_id: Uuid = "ReplicaDirectoryId" "uuid" "2+",
        /// The replica's log end offset, as the leader knows it.
        log_end_offset: i64 = "LogEndOffset" "int64" "0+",
        /// When the leader last received a fetch from it, -1 when unknown (v1+).
        last_fetch_timestamp: i64 = "LastFetchTimestamp" "int64" "1+" default -1,
        /// When it was last caught up with the leader, -1 when unknown (v1+).
        last_caught_up_timestamp: i64 = "LastCaughtUpTimestamp" "int64" "1+" default -1,
    }
}

structure! {
    /// A voter's endpoints (the spec's `Node`).
    pub struct QuorumNode {
        /// The node id.
        node_id: i32 = "NodeId" "int32" "2+",
        /// Its controller listeners.
        listeners: Vec<QuorumListener> = "Listeners" "[]Listener" "2+",
    }
}

structure! {
    /// One listener (the spec's `Listener`).
    pub struct QuorumListener {
        /// The listener name.
        name: String = "Name" "string" "2+",
        /// The host.
        host: String = "Host" "string" "2+",
        /// The port.
        port: u16 = "Port" "uint16" "2+",
    }
}
