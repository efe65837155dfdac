//! Records and offsets: delete records before an offset (DeleteRecords) and list offsets (ListOffsets) at each
//! partition's leader.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kafkar_protocol::messages::delete_records::{DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsTopic};
use kafkar_protocol::{ApiKey, ErrorCode};

use super::Admin;
use super::call::{item_result, retriable_unless_unknown};
use crate::consumer::offsets::list_offsets_once;
use crate::consumer::{IsolationLevel, TopicPartition};
use crate::error::{Error, Result};
use crate::net::ConnectionClass;

/// Which offset [`Admin::list_offsets`] looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The end offset: the high watermark (read_uncommitted) or the last stable offset (read_committed).
    Latest,
    /// The offset of the record with the largest timestamp (KIP-734).
    MaxTimestamp,
    /// The first offset whose timestamp is at or after this one (milliseconds since the epoch); the end offset
    /// when there is none.
    Timestamp(i64),
}

impl OffsetSpec {
    fn wire(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::MaxTimestamp => -3,
            OffsetSpec::Timestamp(t) => t,
        }
    }
}

/// An offset [`Admin::list_offsets`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListedOffset {
    /// The offset; -1 when a timestamp look-up found no record at or after the timestamp.
    pub offset: i64,
    /// The record's timestamp, -1 for earliest and latest.
    pub timestamp: i64,
    /// The leader epoch of that offset, if known.
    pub leader_epoch: Option<i32>,
}

pub(super) fn isolation_code(isolation: IsolationLevel) -> i8 {
    match isolation {
        IsolationLevel::ReadUncommitted => 0,
        IsolationLevel::ReadCommitted => 1,
    }
}

impl Admin {
    /// Adds the topics of `partitions` to the metadata this client follows and refreshes it (best effort: the
    /// per-partition requests report what is still unknown).
    async fn want_topics(&self, partitions: impl Iterator<Item = &TopicPartition>) {
        let topics: BTreeSet<String> = partitions.map(|tp| tp.topic.clone()).collect();
        self.cluster.want(topics);
        let _ = self.cluster.refresh().await;
    }

    /// Looks offsets up at each partition's leader, one result per partition (an unknown partition:
    /// UNKNOWN_TOPIC_OR_PARTITION). `isolation` decides what Latest means: the high watermark or, for
    /// read_committed, the last stable offset.
    pub async fn list_offsets(
        &self,
        wanted: &[(TopicPartition, OffsetSpec)],
        isolation: IsolationLevel,
    ) -> Result<BTreeMap<TopicPartition, Result<ListedOffset>>> {
        self.want_topics(wanted.iter().map(|(tp, _)| tp)).await;
        let specs: HashMap<TopicPartition, OffsetSpec> = wanted.iter().cloned().collect();
        let level = isolation_code(isolation);
        let items: Vec<TopicPartition> = wanted.iter().map(|(tp, _)| tp.clone()).collect();
        self.per_item(ApiKey::LIST_OFFSETS, items, retriable_unless_unknown, |pending: Vec<TopicPartition>| {
            let specs = &specs;
            async move {
                let ask: Vec<(TopicPartition, i64)> =
                    pending.iter().map(|tp| (tp.clone(), specs.get(tp).map_or(-1, |s| s.wire()))).collect();
                let got = list_offsets_once(&self.cluster, level, &ask).await;
                Ok(got
                    .into_iter()
                    .map(|(tp, r)| {
                        let r = r.map(|o| ListedOffset {
                            offset: o.offset,
                            timestamp: o.timestamp,
                            leader_epoch: o.leader_epoch,
                        });
                        (tp, r)
                    })
                    .collect())
            }
        })
        .await
    }

    /// Deletes the records before the given offsets (-1: up to the high watermark, everything), at each
    /// partition's leader; one result per partition, with the partition's new log start offset.
    pub async fn delete_records(
        &self,
        before: &[(TopicPartition, i64)],
    ) -> Result<BTreeMap<TopicPartition, Result<i64>>> {
        self.want_topics(before.iter().map(|(tp, _)| tp)).await;
        let offsets: HashMap<TopicPartition, i64> = before.iter().cloned().collect();
        let timeout_ms = self.timeout_ms();
        let items: Vec<TopicPartition> = before.iter().map(|(tp, _)| tp.clone()).collect();
        self.per_item(ApiKey::DELETE_RECORDS, items, retriable_unless_unknown, |pending: Vec<TopicPartition>| {
            let offsets = &offsets;
            async move {
                let snap = self.cluster.snapshot();
                let mut out = Vec::new();
                let mut by_leader: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
                for tp in pending {
                    match snap.leader(&tp.topic, tp.partition) {
                        Some(b) => by_leader.entry(b.node_id).or_default().push(tp),
                        None => {
                            let unknown = match snap.topic(&tp.topic) {
                                Some(t) => tp.partition < 0 || tp.partition >= t.partition_count(),
                                None => {
                                    snap.topic_errors.get(&tp.topic) == Some(&ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
                                }
                            };
                            let code = if unknown {
                                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                            } else {
                                ErrorCode::LEADER_NOT_AVAILABLE
                            };
                            let e = Error::broker(code).with_partition(&tp.topic, tp.partition);
                            out.push((tp, Err(e)));
                        }
                    }
                }
                for (leader, parts) in by_leader {
                    let sent = async {
                        let conn = self.cluster.pool().node_for(ConnectionClass::Control, leader).await?;
                        let version = conn.versions().pick::<DeleteRecordsRequest>()?;
                        let mut req = DeleteRecordsRequest { timeout_ms, ..Default::default() };
                        for tp in &parts {
                            let p = DeleteRecordsPartition {
                                partition_index: tp.partition,
                                offset: offsets.get(tp).copied().unwrap_or(-1),
                                ..Default::default()
                            };
                            match req.topics.iter_mut().find(|t| t.name == tp.topic) {
                                Some(t) => t.partitions.push(p),
                                None => req.topics.push(DeleteRecordsTopic {
                                    name: tp.topic.clone(),
                                    partitions: vec![p],
                                    ..Default::default()
                                }),
                            }
                        }
                        conn.send_at(&req, version).await
                    }
                    .await;
                    match sent {
                        Ok(resp) => {
                            for t in resp.topics {
                                for p in t.partitions {
                                    let tp = TopicPartition::new(t.name.clone(), p.partition_index);
                                    let r = item_result(ApiKey::DELETE_RECORDS, p.error_code, None)
                                        .map(|()| p.low_watermark)
                                        .map_err(|e| e.with_partition(&tp.topic, tp.partition));
                                    out.push((tp, r));
                                }
                            }
                        }
                        Err(e) => out.extend(parts.into_iter().map(|tp| (tp, Err(e.clone())))),
                    }
                }
                Ok(out)
            }
        })
        .await
    }
}
