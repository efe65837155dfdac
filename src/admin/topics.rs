//! Topic operations: create many at once, delete by name or id, list, describe, check existence, add partitions.
//!
//! CreateTopics, DeleteTopics and CreatePartitions go to any broker (Kafka 4.x forwards them to the active
//! controller); describing uses DescribeTopicPartitions (KIP-966, paged) where the broker has it, else Metadata.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kafkar_protocol::ApiKey;
use kafkar_protocol::messages::create_partitions::{
    CreatePartitionsAssignment, CreatePartitionsRequest, CreatePartitionsTopic,
};
use kafkar_protocol::messages::create_topics::{CreatableReplicaAssignment, CreatableTopic, CreateTopicsRequest};
use kafkar_protocol::messages::delete_topics::DeleteTopicsRequest;
use kafkar_protocol::messages::describe_topic_partitions::{
    DescribeTopicPartitionsCursor, DescribeTopicPartitionsRequest, DescribeTopicPartitionsTopic,
};
use kafkar_protocol::messages::metadata::MetadataRequest;
use kafkar_protocol::primitives::Uuid;
use tokio::time::Instant;

use super::Admin;
use super::call::{item_error, item_result, retriable, retriable_unless_unknown};
use crate::cluster::validate_topic_name;
use crate::consumer::TopicPartition;
use crate::error::{Error, ErrorKind, Result};

/// A topic to create with [`Admin::create_topics`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTopic {
    /// The topic name.
    pub name: String,
    /// The partition count; -1 for the broker's `num.partitions` (or with an explicit assignment).
    pub partitions: i32,
    /// The replication factor; -1 for the broker's `default.replication.factor` (or with an explicit assignment).
    pub replication_factor: i16,
    /// An explicit placement: for partition `i`, the brokers of its replicas, preferred leader first. Empty: the
    /// controller places them.
    pub assignment: Vec<Vec<i32>>,
    /// Topic configs (`cleanup.policy`, `retention.ms`, ...).
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    /// A topic with `partitions` partitions of `replication_factor` replicas each (-1 for the broker defaults).
    pub fn new(name: impl Into<String>, partitions: i32, replication_factor: i16) -> NewTopic {
        NewTopic { name: name.into(), partitions, replication_factor, assignment: Vec::new(), configs: Vec::new() }
    }

    /// A topic whose partition `i` has its replicas on `assignment[i]` (preferred leader first).
    pub fn with_assignment(name: impl Into<String>, assignment: Vec<Vec<i32>>) -> NewTopic {
        NewTopic { name: name.into(), partitions: -1, replication_factor: -1, assignment, configs: Vec::new() }
    }

    /// Adds a topic config.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> NewTopic {
        self.configs.push((key.into(), value.into()));
        self
    }

    fn partition_count(&self) -> i32 {
        if self.assignment.is_empty() { self.partitions } else { self.assignment.len() as i32 }
    }
}

/// What the broker reported about a created topic.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreatedTopic {
    /// The new topic's id (zero from brokers before CreateTopics v7).
    pub topic_id: Uuid,
    /// Its partition count, -1 when the broker did not say.
    pub partitions: i32,
    /// Its replication factor, -1 when the broker did not say.
    pub replication_factor: i16,
    /// Its configs, as the broker resolved them (empty when the broker did not say).
    pub configs: Vec<(String, Option<String>)>,
}

/// New partitions for an existing topic, for [`Admin::create_partitions`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPartitions {
    /// The partition count the topic should have afterwards (the total, not the increase).
    pub total: i32,
    /// Where to put each new partition (the brokers of its replicas, preferred leader first); empty: the
    /// controller chooses.
    pub assignment: Vec<Vec<i32>>,
}

impl NewPartitions {
    /// Grows the topic to `total` partitions.
    pub fn increase_to(total: i32) -> NewPartitions {
        NewPartitions { total, assignment: Vec::new() }
    }
}

/// A topic in [`Admin::list_topics`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicListing {
    /// The topic name.
    pub name: String,
    /// Its id.
    pub topic_id: Uuid,
    /// Whether it is internal (`__consumer_offsets`, `__transaction_state`, ...).
    pub is_internal: bool,
    /// Its partition count.
    pub partitions: i32,
}

/// A topic as [`Admin::describe_topics`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicDescription {
    /// The topic name.
    pub name: String,
    /// Its id.
    pub topic_id: Uuid,
    /// Whether it is internal.
    pub is_internal: bool,
    /// Its partitions, by index.
    pub partitions: Vec<PartitionDescription>,
}

/// One partition of a [`TopicDescription`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionDescription {
    /// The partition index.
    pub partition: i32,
    /// The leader's broker id; `None` while the partition has no leader.
    pub leader: Option<i32>,
    /// The leader epoch, -1 when unknown.
    pub leader_epoch: i32,
    /// The brokers holding a replica, preferred leader first.
    pub replicas: Vec<i32>,
    /// The in-sync replicas.
    pub isr: Vec<i32>,
    /// Replicas outside the ISR that can still be elected without data loss (KIP-966); empty when the feature is
    /// off or the broker does not report them.
    pub eligible_leader_replicas: Vec<i32>,
    /// Replicas on offline log directories.
    pub offline_replicas: Vec<i32>,
}

impl Admin {
    /// Creates `topics` in one request (`validate_only`: only checks them, creating nothing), with one result per
    /// topic name: a topic that exists already is an error with code TOPIC_ALREADY_EXISTS and does not stop the
    /// others. Unless `validate_only`, waits (within the timeout) until metadata shows each created topic with a
    /// leader for every partition.
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        validate_only: bool,
    ) -> Result<BTreeMap<String, Result<CreatedTopic>>> {
        let mut bad = BTreeMap::new();
        let mut names = Vec::new();
        for t in topics {
            match validate_topic_name(&t.name) {
                Ok(()) => names.push(t.name.clone()),
                Err(e) => {
                    bad.insert(t.name.clone(), Err(e));
                }
            }
        }
        let timeout_ms = self.timeout_ms();
        let mut out = self
            .per_item(ApiKey::CREATE_TOPICS, names, retriable, |pending: Vec<String>| async move {
                let conn = self.cluster.pool().any().await?;
                let version = conn.versions().pick::<CreateTopicsRequest>()?;
                let creatable = topics.iter().filter(|t| pending.contains(&t.name)).map(|t| {
                    let mut c = CreatableTopic::new(
                        t.name.clone(),
                        t.partitions,
                        t.replication_factor,
                        t.configs.iter().map(|(k, v)| (k.clone(), v.clone())),
                    );
                    if !t.assignment.is_empty() {
                        c.num_partitions = -1;
                        c.replication_factor = -1;
                        c.assignments = t
                            .assignment
                            .iter()
                            .enumerate()
                            .map(|(i, brokers)| CreatableReplicaAssignment {
                                partition_index: i as i32,
                                broker_ids: brokers.clone(),
                                ..Default::default()
                            })
                            .collect();
                    }
                    c
                });
                let mut req = CreateTopicsRequest::new(creatable, timeout_ms);
                req.validate_only = validate_only;
                let resp = conn.send_at(&req, version).await?;
                Ok(resp
                    .topics
                    .into_iter()
                    .map(|t| {
                        let r = if t.error_code.is_err() {
                            Err(item_error(t.error_code, t.error_message, ApiKey::CREATE_TOPICS).with_topic(&t.name))
                        } else {
                            Ok(CreatedTopic {
                                topic_id: t.topic_id,
                                partitions: t.num_partitions,
                                replication_factor: t.replication_factor,
                                configs: t.configs.unwrap_or_default().into_iter().map(|c| (c.name, c.value)).collect(),
                            })
                        };
                        (t.name, r)
                    })
                    .collect())
            })
            .await?;
        if !validate_only {
            let deadline = self.deadline();
            for t in topics {
                if let Some(Ok(_)) = out.get(&t.name) {
                    if let Err(e) = self.wait_for_topic(&t.name, t.partition_count(), deadline).await {
                        out.insert(t.name.clone(), Err(e));
                    }
                }
            }
        }
        out.extend(bad);
        Ok(out)
    }

    /// Waits until metadata lists `name` with `partitions` partitions (any, when negative), each with a leader.
    async fn wait_for_topic(&self, name: &str, partitions: i32, deadline: Instant) -> Result<()> {
        loop {
            let wait = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
            if let Ok(info) = self.cluster.topic(name, wait).await {
                let complete = (partitions < 0 || info.partition_count() >= partitions)
                    && info.partitions.iter().all(|p| p.leader >= 0);
                if complete {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(Error::new(ErrorKind::Timeout)
                    .with_topic(name)
                    .with_message(Some("created, but metadata does not show every partition with a leader".into())));
            }
            tokio::time::sleep(self.cluster.config().retry_backoff).await;
            let _ = self.cluster.refresh().await;
        }
    }

    /// Deletes topics by name, with one result per name (a topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION),
    /// and waits (within the timeout) until metadata no longer lists the deleted ones.
    pub async fn delete_topics(&self, names: &[&str]) -> Result<BTreeMap<String, Result<()>>> {
        let deadline = self.deadline();
        let out = self.delete_topics_unwaited(names).await?;
        let deleted: Vec<String> = out.iter().filter(|(_, r)| r.is_ok()).map(|(n, _)| n.clone()).collect();
        self.wait_until_gone(&deleted, deadline).await;
        Ok(out)
    }

    /// DeleteTopics by name, with one result per name; does not wait for metadata.
    pub(super) async fn delete_topics_unwaited(&self, names: &[&str]) -> Result<BTreeMap<String, Result<()>>> {
        let timeout_ms = self.timeout_ms();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        self.per_item(ApiKey::DELETE_TOPICS, names, retriable_unless_unknown, |pending: Vec<String>| async move {
            let conn = self.cluster.pool().any().await?;
            let version = conn.versions().pick::<DeleteTopicsRequest>()?;
            let req = DeleteTopicsRequest::by_names(version, pending.iter().map(String::as_str), timeout_ms);
            let resp = conn.send_at(&req, version).await?;
            Ok(resp
                .responses
                .into_iter()
                .filter_map(|r| {
                    let name = r.name?;
                    let result = item_result(ApiKey::DELETE_TOPICS, r.error_code, r.error_message)
                        .map_err(|e| e.with_topic(&name));
                    Some((name, result))
                })
                .collect())
        })
        .await
    }

    /// Deletes topics by id, with one result per id (an unknown id: UNKNOWN_TOPIC_ID). Needs DeleteTopics v6+.
    pub async fn delete_topics_by_id(&self, ids: &[Uuid]) -> Result<BTreeMap<Uuid, Result<()>>> {
        let deadline = self.deadline();
        let timeout_ms = self.timeout_ms();
        let snap = self.cluster.snapshot();
        let out = self
            .per_item(ApiKey::DELETE_TOPICS, ids.to_vec(), retriable_unless_unknown, |pending: Vec<Uuid>| async move {
                let conn = self.cluster.pool().any().await?;
                let version = conn.versions().pick::<DeleteTopicsRequest>()?;
                if version < 6 {
                    return Err(Error::new(ErrorKind::UnsupportedVersion {
                        api: ApiKey::DELETE_TOPICS,
                        broker: conn.versions().range(ApiKey::DELETE_TOPICS),
                    }));
                }
                let req = DeleteTopicsRequest::by_ids(pending, timeout_ms);
                let resp = conn.send_at(&req, version).await?;
                Ok(resp
                    .responses
                    .into_iter()
                    .map(|r| (r.topic_id, item_result(ApiKey::DELETE_TOPICS, r.error_code, r.error_message)))
                    .collect())
            })
            .await?;
        // Names the cache knew: wait for those to disappear from metadata (best effort).
        let names: Vec<String> = out
            .iter()
            .filter(|(_, r)| r.is_ok())
            .filter_map(|(id, _)| snap.topic_by_id(*id).map(|t| t.name.clone()))
            .collect();
        self.wait_until_gone(&names, deadline).await;
        Ok(out)
    }

    /// Waits (until `deadline`) until metadata no longer lists `names`; whether it got there.
    pub(super) async fn wait_until_gone(&self, names: &[String], deadline: Instant) -> bool {
        if names.is_empty() {
            return true;
        }
        self.cluster.want(names.iter().cloned());
        loop {
            if let Ok(Ok(snap)) = tokio::time::timeout_at(deadline, self.cluster.refresh()).await {
                if names.iter().all(|n| snap.topic(n).is_none()) {
                    return true;
                }
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(self.cluster.config().retry_backoff).await;
        }
    }

    /// The cluster's topics, sorted by name; internal topics only when `include_internal`.
    pub async fn list_topics(&self, include_internal: bool) -> Result<Vec<TopicListing>> {
        let resp = self
            .retry(ApiKey::METADATA, || async {
                let conn = self.cluster.pool().any().await?;
                let version = conn.versions().pick::<MetadataRequest>()?;
                let mut req = MetadataRequest::all_topics();
                if version >= 4 {
                    req = req.with_allow_auto_topic_creation(false);
                }
                conn.send_at(&req, version).await
            })
            .await?;
        let mut out: Vec<TopicListing> = resp
            .topics
            .into_iter()
            .filter(|t| t.error_code.is_ok() && (include_internal || !t.is_internal))
            .filter_map(|t| {
                Some(TopicListing {
                    name: t.name?,
                    topic_id: t.topic_id,
                    is_internal: t.is_internal,
                    partitions: t.partitions.len() as i32,
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Whether topic `name` exists.
    pub async fn topic_exists(&self, name: &str) -> Result<bool> {
        validate_topic_name(name)?;
        let described = self.describe_topics(&[name]).await?;
        match described.into_values().next() {
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) if e.code() == Some(kafkar_protocol::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION) => Ok(false),
            Some(Err(e)) => Err(e),
            None => Ok(false),
        }
    }

    /// Describes topics (partitions, leaders, replicas, ISR, eligible leader replicas), one result per name (an
    /// unknown topic: UNKNOWN_TOPIC_OR_PARTITION). Uses DescribeTopicPartitions where the broker supports it
    /// (following its cursor through topics with many partitions), else Metadata. Configs: [`Admin::describe_configs`].
    pub async fn describe_topics(&self, names: &[&str]) -> Result<BTreeMap<String, Result<TopicDescription>>> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        self.per_item(
            ApiKey::DESCRIBE_TOPIC_PARTITIONS,
            names,
            retriable_unless_unknown,
            |pending: Vec<String>| async move {
                let conn = self.cluster.pool().any().await?;
                if conn.versions().range(ApiKey::DESCRIBE_TOPIC_PARTITIONS).is_some() {
                    self.describe_topic_partitions(&conn, &pending).await
                } else {
                    self.describe_topics_by_metadata(&conn, &pending).await
                }
            },
        )
        .await
    }

    async fn describe_topic_partitions(
        &self,
        conn: &crate::net::Connection,
        names: &[String],
    ) -> Result<Vec<(String, Result<TopicDescription>)>> {
        let version = conn.versions().pick::<DescribeTopicPartitionsRequest>()?;
        let mut found: BTreeMap<String, Result<TopicDescription>> = BTreeMap::new();
        let mut cursor = None;
        loop {
            let req = DescribeTopicPartitionsRequest {
                topics: names
                    .iter()
                    .map(|n| DescribeTopicPartitionsTopic { name: n.clone(), ..Default::default() })
                    .collect(),
                cursor: cursor.take(),
                ..Default::default()
            };
            let resp = conn.send_at(&req, version).await?;
            for t in resp.topics {
                let Some(name) = t.name else { continue };
                if t.error_code.is_err() {
                    found.insert(
                        name.clone(),
                        Err(item_error(t.error_code, None, ApiKey::DESCRIBE_TOPIC_PARTITIONS).with_topic(&name)),
                    );
                    continue;
                }
                let entry = found.entry(name.clone()).or_insert_with(|| {
                    Ok(TopicDescription {
                        name: name.clone(),
                        topic_id: t.topic_id,
                        is_internal: t.is_internal,
                        partitions: Vec::new(),
                    })
                });
                if let Ok(d) = entry {
                    d.partitions.extend(t.partitions.into_iter().map(|p| PartitionDescription {
                        partition: p.partition_index,
                        leader: (p.leader_id >= 0).then_some(p.leader_id),
                        leader_epoch: p.leader_epoch,
                        replicas: p.replica_nodes,
                        isr: p.isr_nodes,
                        eligible_leader_replicas: p.eligible_leader_replicas.unwrap_or_default(),
                        offline_replicas: p.offline_replicas,
                    }));
                }
            }
            match resp.next_cursor {
                Some(DescribeTopicPartitionsCursor { topic_name, partition_index, .. }) => {
                    cursor = Some(DescribeTopicPartitionsCursor { topic_name, partition_index, ..Default::default() });
                }
                None => break,
            }
        }
        Ok(found
            .into_iter()
            .map(|(n, mut r)| {
                if let Ok(d) = &mut r {
                    d.partitions.sort_by_key(|p| p.partition);
                }
                (n, r)
            })
            .collect())
    }

    async fn describe_topics_by_metadata(
        &self,
        conn: &crate::net::Connection,
        names: &[String],
    ) -> Result<Vec<(String, Result<TopicDescription>)>> {
        let version = conn.versions().pick::<MetadataRequest>()?;
        let mut req = MetadataRequest::topics(names.iter().cloned());
        if version >= 4 {
            req = req.with_allow_auto_topic_creation(false);
        }
        let resp = conn.send_at(&req, version).await?;
        Ok(resp
            .topics
            .into_iter()
            .filter_map(|t| {
                let name = t.name?;
                let r = if t.error_code.is_err() {
                    Err(item_error(t.error_code, None, ApiKey::METADATA).with_topic(&name))
                } else {
                    let mut partitions: Vec<PartitionDescription> = t
                        .partitions
                        .into_iter()
                        .map(|p| PartitionDescription {
                            partition: p.partition_index,
                            leader: (p.leader_id >= 0).then_some(p.leader_id),
                            leader_epoch: p.leader_epoch,
                            replicas: p.replica_nodes,
                            isr: p.isr_nodes,
                            eligible_leader_replicas: Vec::new(),
                            offline_replicas: p.offline_replicas,
                        })
                        .collect();
                    partitions.sort_by_key(|p| p.partition);
                    Ok(TopicDescription {
                        name: name.clone(),
                        topic_id: t.topic_id,
                        is_internal: t.is_internal,
                        partitions,
                    })
                };
                Some((name, r))
            })
            .collect())
    }

    /// Grows topics to new partition counts (`validate_only`: only checks), one result per topic (a count not
    /// above the current one: INVALID_PARTITIONS). Unless `validate_only`, waits (within the timeout) until
    /// metadata shows the new partitions.
    pub async fn create_partitions(
        &self,
        topics: &[(&str, NewPartitions)],
        validate_only: bool,
    ) -> Result<BTreeMap<String, Result<()>>> {
        let timeout_ms = self.timeout_ms();
        let names: Vec<String> = topics.iter().map(|(n, _)| (*n).to_owned()).collect();
        let out = self
            .per_item(ApiKey::CREATE_PARTITIONS, names, retriable_unless_unknown, |pending: Vec<String>| async move {
                let conn = self.cluster.pool().any().await?;
                let version = conn.versions().pick::<CreatePartitionsRequest>()?;
                let req = CreatePartitionsRequest {
                    topics: topics
                        .iter()
                        .filter(|(n, _)| pending.iter().any(|p| p == n))
                        .map(|(n, p)| CreatePartitionsTopic {
                            name: (*n).to_owned(),
                            count: p.total,
                            assignments: (!p.assignment.is_empty()).then(|| {
                                p.assignment
                                    .iter()
                                    .map(|b| CreatePartitionsAssignment { broker_ids: b.clone(), ..Default::default() })
                                    .collect()
                            }),
                            ..Default::default()
                        })
                        .collect(),
                    timeout_ms,
                    validate_only,
                    ..Default::default()
                };
                let resp = conn.send_at(&req, version).await?;
                Ok(resp
                    .results
                    .into_iter()
                    .map(|r| {
                        let result = item_result(ApiKey::CREATE_PARTITIONS, r.error_code, r.error_message)
                            .map_err(|e| e.with_topic(&r.name));
                        (r.name, result)
                    })
                    .collect())
            })
            .await?;
        let mut out = out;
        if !validate_only {
            let deadline = self.deadline();
            for (name, p) in topics {
                if let Some(Ok(())) = out.get(*name) {
                    // The cached entry is stale: ask again until the new count shows.
                    let _ = self.cluster.refresh().await;
                    if let Err(e) = self.wait_for_topic(name, p.total, deadline).await {
                        out.insert((*name).to_owned(), Err(e));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Every partition of `topic` (for [`Admin::reset_group_offsets`], [`Admin::list_offsets`], ...).
    pub async fn topic_partitions(&self, topic: &str) -> Result<Vec<TopicPartition>> {
        let info: Arc<crate::cluster::TopicInfo> = self.cluster.topic(topic, self.timeout).await?;
        Ok(info.partitions.iter().map(|p| TopicPartition::new(topic, p.partition)).collect())
    }
}
