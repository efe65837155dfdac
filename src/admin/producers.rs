//! Producers with state on partitions (DescribeProducers, KIP-664), asked of each partition's leader.

use kafkar_protocol::messages::describe_producers::{DescribeProducersRequest, DescribeProducersTopic, ProducerState};
use kafkar_protocol::{ApiKey, ErrorCode};

use super::Admin;
use super::call::item_result;
use super::replicas::TopicPartition;
use crate::error::{Error, Result};

impl Admin {
    /// The producers with state on each partition (their ids, epochs, last sequence and timestamp, and the start
    /// offset of an open transaction); per partition, its producers or its error. Asked of each leader, retried
    /// after a metadata refresh when leadership moved.
    pub async fn describe_producers(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<Vec<(TopicPartition, Result<Vec<ProducerState>>)>> {
        let mut out = Vec::with_capacity(partitions.len());
        for (topic, partition) in partitions {
            let res = self
                .retry(ApiKey::DESCRIBE_PRODUCERS, || async {
                    self.cluster.topic(topic, self.timeout).await?;
                    let (leader, conn) = self.cluster.leader(topic, *partition).await?;
                    let version = conn.versions().pick::<DescribeProducersRequest>()?;
                    let req = DescribeProducersRequest {
                        topics: vec![DescribeProducersTopic {
                            name: topic.clone(),
                            partition_indexes: vec![*partition],
                            ..Default::default()
                        }],
                        ..Default::default()
                    };
                    let resp = conn.send_at(&req, version).await.map_err(|e| e.with_broker(leader))?;
                    let p = resp
                        .topics
                        .into_iter()
                        .filter(|t| &t.name == topic)
                        .flat_map(|t| t.partitions)
                        .find(|p| p.partition_index == *partition)
                        .ok_or_else(|| Error::protocol("DescribeProducers reply left out the partition"))?;
                    let code: ErrorCode = p.error_code;
                    item_result(ApiKey::DESCRIBE_PRODUCERS, code, p.error_message)
                        .map_err(|e| e.with_partition(topic, *partition).with_broker(leader))?;
                    Ok(p.active_producers)
                })
                .await;
            out.push(((topic.clone(), *partition), res));
        }
        Ok(out)
    }
}
