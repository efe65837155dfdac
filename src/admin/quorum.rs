//! The KRaft metadata quorum (DescribeQuorum, KIP-595/836/853), asked of any broker, which forwards it to the
//! active controller.

use kafkar_protocol::ApiKey;
use kafkar_protocol::messages::describe_quorum::{
    DescribeQuorumRequest, QuorumNode, QuorumPartitionRequest, QuorumReplicaState, QuorumTopicRequest,
};

use super::Admin;
use super::call::item_result;
use crate::error::{Error, Result};

/// The metadata log's topic.
const METADATA_TOPIC: &str = "__cluster_metadata";

/// The metadata quorum's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumInfo {
    /// The active controller's id.
    pub leader_id: i32,
    /// Its epoch.
    pub leader_epoch: i32,
    /// The metadata log's high watermark.
    pub high_watermark: i64,
    /// The voting controllers.
    pub voters: Vec<QuorumReplicaState>,
    /// The observers (brokers replicating the metadata log).
    pub observers: Vec<QuorumReplicaState>,
    /// The voters' endpoints (brokers answering DescribeQuorum v2+).
    pub nodes: Vec<QuorumNode>,
}

impl Admin {
    /// The metadata quorum: leader, epoch, high watermark, voters and observers with their log end offsets and lag
    /// timestamps (as `kafka-metadata-quorum.sh describe --status --replication`).
    pub async fn describe_metadata_quorum(&self) -> Result<QuorumInfo> {
        let req = DescribeQuorumRequest {
            topics: vec![QuorumTopicRequest {
                topic_name: METADATA_TOPIC.into(),
                partitions: vec![QuorumPartitionRequest { partition_index: 0, ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let resp = self.call_any(&req, |r| (r.error_code, r.error_message.clone())).await?;
        let p = resp
            .topics
            .into_iter()
            .filter(|t| t.topic_name == METADATA_TOPIC)
            .flat_map(|t| t.partitions)
            .find(|p| p.partition_index == 0)
            .ok_or_else(|| Error::protocol("DescribeQuorum reply left out the metadata partition"))?;
        item_result(ApiKey::DESCRIBE_QUORUM, p.error_code, p.error_message)?;
        Ok(QuorumInfo {
            leader_id: p.leader_id,
            leader_epoch: p.leader_epoch,
            high_watermark: p.high_watermark,
            voters: p.current_voters,
            observers: p.observers,
            nodes: resp.nodes,
        })
    }
}
