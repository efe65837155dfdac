//! Replica operations: leader election (ElectLeaders, KIP-460), partition reassignment (AlterPartitionReassignments,
//! ListPartitionReassignments, KIP-455), sent to any broker (forwarded to the controller); log directories
//! (DescribeLogDirs, AlterReplicaLogDirs, KIP-113), sent to each broker concerned.

use std::collections::BTreeMap;

use kafkar_protocol::messages::alter_partition_reassignments::{
    AlterPartitionReassignmentsRequest, ReassignablePartition, ReassignableTopic,
};
use kafkar_protocol::messages::alter_replica_log_dirs::{
    AlterReplicaLogDir, AlterReplicaLogDirTopic, AlterReplicaLogDirsRequest,
};
use kafkar_protocol::messages::describe_log_dirs::{DescribeLogDirsRequest, DescribeLogDirsResult};
use kafkar_protocol::messages::elect_leaders::{ElectLeadersRequest, ElectLeadersTopic};
use kafkar_protocol::messages::list_partition_reassignments::{
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsTopic,
};
use kafkar_protocol::{ApiKey, ErrorCode};

use super::Admin;
use super::call::item_result;
use crate::error::Result;

/// A topic partition: (topic, partition index).
pub type TopicPartition = (String, i32);

/// Which replica an election makes leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElectionType {
    /// The preferred (first assigned) replica, if it is in sync.
    Preferred,
    /// Any live replica when no in-sync one is left (may lose data).
    Unclean,
}

/// A reassignment in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionReassignment {
    /// The partition.
    pub partition: TopicPartition,
    /// Its replicas now (old and new during the move).
    pub replicas: Vec<i32>,
    /// The replicas being added.
    pub adding: Vec<i32>,
    /// The replicas being removed.
    pub removing: Vec<i32>,
}

/// Groups partitions by topic, in order of first appearance.
fn by_topic(partitions: &[TopicPartition]) -> Vec<(String, Vec<i32>)> {
    let mut out: Vec<(String, Vec<i32>)> = Vec::new();
    for (t, p) in partitions {
        match out.iter_mut().find(|(n, _)| n == t) {
            Some((_, ps)) => ps.push(*p),
            None => out.push((t.clone(), vec![*p])),
        }
    }
    out
}

/// Each partition's result in a reply: `Ok`, or its error naming the partition.
fn partition_results(
    api: ApiKey,
    answers: impl Iterator<Item = (TopicPartition, ErrorCode, Option<String>)>,
) -> Vec<(TopicPartition, Result<()>)> {
    answers
        .map(|(tp, code, message)| {
            let r = item_result(api, code, message).map_err(|e| e.with_partition(&tp.0, tp.1));
            (tp, r)
        })
        .collect()
}

impl Admin {
    /// Elects leaders for `partitions` (every partition when `None`); per partition, its result:
    /// ELECTION_NOT_NEEDED when the wanted replica leads already, PREFERRED_LEADER_NOT_AVAILABLE or
    /// ELIGIBLE_LEADERS_NOT_AVAILABLE when it cannot be elected.
    pub async fn elect_leaders(
        &self,
        election: ElectionType,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<Vec<(TopicPartition, Result<()>)>> {
        let req = ElectLeadersRequest {
            election_type: match election {
                ElectionType::Preferred => 0,
                ElectionType::Unclean => 1,
            },
            topic_partitions: partitions.map(|ps| {
                by_topic(ps)
                    .into_iter()
                    .map(|(topic, partitions)| ElectLeadersTopic { topic, partitions, ..Default::default() })
                    .collect()
            }),
            timeout_ms: self.timeout_ms(),
            ..Default::default()
        };
        let resp = self.call_any(&req, |r| (r.error_code, None)).await?;
        Ok(partition_results(
            ApiKey::ELECT_LEADERS,
            resp.replica_election_results.into_iter().flat_map(|t| {
                t.partition_result
                    .into_iter()
                    .map(move |p| ((t.topic.clone(), p.partition_id), p.error_code, p.error_message))
            }),
        ))
    }

    /// Starts moving partitions to new replica sets (`Some(replicas)`, preferred leader first) or cancels a move in
    /// progress (`None`); per partition, its result (NO_REASSIGNMENT_IN_PROGRESS when cancelling none).
    pub async fn alter_partition_reassignments(
        &self,
        targets: &[(TopicPartition, Option<Vec<i32>>)],
    ) -> Result<Vec<(TopicPartition, Result<()>)>> {
        let mut topics: Vec<ReassignableTopic> = Vec::new();
        for ((t, p), replicas) in targets {
            let part = ReassignablePartition { partition_index: *p, replicas: replicas.clone(), ..Default::default() };
            match topics.iter_mut().find(|x| &x.name == t) {
                Some(x) => x.partitions.push(part),
                None => {
                    topics.push(ReassignableTopic { name: t.clone(), partitions: vec![part], ..Default::default() })
                }
            }
        }
        let req = AlterPartitionReassignmentsRequest { timeout_ms: self.timeout_ms(), topics, ..Default::default() };
        let resp = self.call_any(&req, |r| (r.error_code, r.error_message.clone())).await?;
        Ok(partition_results(
            ApiKey::ALTER_PARTITION_REASSIGNMENTS,
            resp.responses.into_iter().flat_map(|t| {
                t.partitions
                    .into_iter()
                    .map(move |p| ((t.name.clone(), p.partition_index), p.error_code, p.error_message))
            }),
        ))
    }

    /// The reassignments in progress, among `partitions` (all when `None`).
    pub async fn list_partition_reassignments(
        &self,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<Vec<PartitionReassignment>> {
        let req = ListPartitionReassignmentsRequest {
            timeout_ms: self.timeout_ms(),
            topics: partitions.map(|ps| {
                by_topic(ps)
                    .into_iter()
                    .map(|(name, partition_indexes)| ListPartitionReassignmentsTopic {
                        name,
                        partition_indexes,
                        ..Default::default()
                    })
                    .collect()
            }),
            ..Default::default()
        };
        let resp = self.call_any(&req, |r| (r.error_code, r.error_message.clone())).await?;
        let mut out = Vec::new();
        for t in resp.topics {
            for p in t.partitions {
                out.push(PartitionReassignment {
                    partition: (t.name.clone(), p.partition_index),
                    replicas: p.replicas,
                    adding: p.adding_replicas,
                    removing: p.removing_replicas,
                });
            }
        }
        Ok(out)
    }

    /// The log directories of each broker in `brokers` and the replicas in them; per broker, its directories (each
    /// with its own error code: KAFKA_STORAGE_ERROR for an offline one) or the broker's error.
    pub async fn describe_log_dirs(&self, brokers: &[i32]) -> Result<Vec<(i32, Result<Vec<DescribeLogDirsResult>>)>> {
        let req = DescribeLogDirsRequest { topics: None, ..Default::default() };
        let mut out = Vec::new();
        for &id in brokers {
            let res = self
                .retry(ApiKey::DESCRIBE_LOG_DIRS, || async {
                    let resp = self.send_node(id, &req).await?;
                    item_result(ApiKey::DESCRIBE_LOG_DIRS, resp.error_code, None)?;
                    Ok(resp.results)
                })
                .await
                .map_err(|e| e.with_broker(id));
            out.push((id, res));
        }
        Ok(out)
    }

    /// Moves replicas between log directories: each (partition, broker, directory) moves that broker's replica of
    /// the partition into the directory. Per item, its result (REPLICA_NOT_AVAILABLE when the broker has no replica,
    /// LOG_DIR_NOT_FOUND for an unknown directory).
    pub async fn alter_replica_log_dirs(
        &self,
        moves: &[(TopicPartition, i32, String)],
    ) -> Result<Vec<((TopicPartition, i32), Result<()>)>> {
        // One request per broker: directory -> topic -> partitions.
        let mut per_broker: BTreeMap<i32, BTreeMap<String, BTreeMap<String, Vec<i32>>>> = BTreeMap::new();
        for ((t, p), broker, dir) in moves {
            per_broker
                .entry(*broker)
                .or_default()
                .entry(dir.clone())
                .or_default()
                .entry(t.clone())
                .or_default()
                .push(*p);
        }
        let mut results: BTreeMap<(TopicPartition, i32), Result<()>> = BTreeMap::new();
        for (broker, dirs) in per_broker {
            let req = AlterReplicaLogDirsRequest {
                dirs: dirs
                    .into_iter()
                    .map(|(path, topics)| AlterReplicaLogDir {
                        path,
                        topics: topics
                            .into_iter()
                            .map(|(name, partitions)| AlterReplicaLogDirTopic {
                                name,
                                partitions,
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            match self.retry(ApiKey::ALTER_REPLICA_LOG_DIRS, || self.send_node(broker, &req)).await {
                Ok(resp) => {
                    for t in resp.results {
                        for p in t.partitions {
                            let r = item_result(ApiKey::ALTER_REPLICA_LOG_DIRS, p.error_code, None)
                                .map_err(|e| e.with_partition(&t.topic_name, p.partition_index).with_broker(broker));
                            results.insert(((t.topic_name.clone(), p.partition_index), broker), r);
                        }
                    }
                }
                Err(e) => {
                    for ((t, p), b, _) in moves.iter().filter(|m| m.1 == broker) {
                        let err = crate::error::Error::broker(e.code().unwrap_or(ErrorCode::UNKNOWN_SERVER_ERROR))
                            .with_api(ApiKey::ALTER_REPLICA_LOG_DIRS)
                            .with_broker(broker)
                            .with_message(Some(e.to_string()));
                        results.insert(((t.clone(), *p), *b), Err(err));
                    }
                }
            }
        }
        Ok(moves
            .iter()
            .map(|((t, p), b, _)| {
                let key = ((t.clone(), *p), *b);
                let r = results.remove(&key).unwrap_or_else(|| {
                    Err(crate::error::Error::protocol("AlterReplicaLogDirs reply left out the partition")
                        .with_api(ApiKey::ALTER_REPLICA_LOG_DIRS)
                        .with_partition(t, *p))
                });
                (key, r)
            })
            .collect())
    }
}
