//! The admin client: topics ([`topics`](Admin::create_topics)), configs, the cluster, consumer groups and their
//! offsets, records, and transactions.
//!
//! Every operation waits up to the client's timeout (`request.timeout.ms`, or [`Admin::with_timeout`]), retries
//! what Kafka marks retriable (after `retry.backoff.ms`, refreshing metadata or the coordinator), and routes each
//! request to the broker that must answer it: any broker (topics, configs, cluster), the partition leader (records,
//! offsets), the group coordinator (groups), or the broker a broker config belongs to. Operations on several items
//! return one result per item, so that one failed topic does not hide the others.
//!
//! Kafka 4.x brokers forward CreateTopics and DeleteTopics to the active controller themselves, so requests go to
//! any broker; a NOT_CONTROLLER answer (from an older broker) is retried after a metadata refresh. Both operations
//! return once the broker's metadata shows the change.

use std::collections::BTreeMap;
use std::future::Future;
mod acls;
mod call;
mod features;
mod producers;
mod quorum;
mod quotas;
mod replicas;
mod scram;

use std::sync::Arc;
use std::time::Duration;

use kafkar_protocol::messages::create_topics::CreateTopicsRequest;
use kafkar_protocol::messages::delete_topics::DeleteTopicsRequest;
use kafkar_protocol::messages::describe_transactions::{DescribeTransactionsRequest, DescribedTransactionState};
use kafkar_protocol::messages::list_transactions::{ListTransactionsRequest, ListedTransactionState};
use kafkar_protocol::messages::write_txn_markers::{WritableTxnMarker, WritableTxnMarkerTopic, WriteTxnMarkersRequest};
use kafkar_protocol::{ApiKey, ErrorCode};
use tokio::time::Instant;
use tracing::debug;

mod cluster_ops;
mod configs;
mod groups;
mod records;
mod topics;

pub use acls::{AclBinding, AclBindingFilter, AclOperation, AclPatternType, AclPermissionType, AclResourceType};
pub use cluster_ops::{ClusterDescription, NodeDescription};
pub use configs::{AlterConfigOp, ConfigEntry, ConfigResource, ConfigResourceType, ConfigSource, ConfigSynonym};
pub use features::{FeatureMetadata, FeatureRange, FeatureUpdate, FeatureUpgradeType};
pub use groups::{
    ConsumerGroupMember, GroupDescription, GroupListing, GroupOffsetLag, GroupType, LagEnd, ListGroupsFilter,
    ResetOffsets,
};
pub use kafkar_protocol::messages::describe_log_dirs::DescribeLogDirsResult;
pub use kafkar_protocol::messages::describe_producers::ProducerState;
pub use kafkar_protocol::messages::describe_quorum::{QuorumNode, QuorumReplicaState};
pub use kafkar_protocol::sasl::ScramHash;
pub use quorum::QuorumInfo;
pub use quotas::{ClientQuotaAlteration, ClientQuotaEntity, ClientQuotaFilter, QuotaMatch};
pub use records::{ListedOffset, OffsetSpec};
pub use replicas::{ElectionType, PartitionReassignment, TopicPartition};
pub use scram::{ScramAlteration, ScramCredentialInfo};
pub use topics::{CreatedTopic, NewPartitions, NewTopic, PartitionDescription, TopicDescription, TopicListing};

use crate::cluster::{Cluster, TopicInfo, validate_topic_name};
use crate::config::{ClientConfig, role_config_impl};
use crate::error::{Error, ErrorKind, Result};

/// An admin client's settings: the shared [`ClientConfig`] (admin operations wait up to `request.timeout.ms`).
/// Built like every role's configuration (see [`crate::config`]).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct AdminConfig {
    /// Connection settings shared with the other clients.
    pub client: ClientConfig,
}

role_config_impl!(AdminConfig, "admin");

impl AdminConfig {
    /// A configuration with `bootstrap.servers` set and every other setting at its default.
    pub fn new(bootstrap_servers: &str) -> AdminConfig {
        AdminConfig { client: ClientConfig::new(bootstrap_servers) }
    }

    /// The admin client's own properties (none yet beyond the shared ones).
    fn set_own(&mut self, _key: &str, _value: &str) -> Result<bool> {
        Ok(false)
    }

    /// Sets the shared client settings.
    pub fn with_client(mut self, client: ClientConfig) -> AdminConfig {
        self.client = client;
        self
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        self.client.validate()
    }
}

impl From<ClientConfig> for AdminConfig {
    fn from(client: ClientConfig) -> AdminConfig {
        AdminConfig { client }
    }
}

/// What [`Admin::abort_transaction`] aborts: a transaction left open on a partition (a "hanging" transaction,
/// KIP-664), as `kafka-transactions.sh find-hanging` and DescribeProducers report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbortTransactionSpec {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The producer id of the open transaction.
    pub producer_id: i64,
    /// Its producer epoch.
    pub producer_epoch: i16,
    /// The coordinator epoch the partition last saw for that producer.
    pub coordinator_epoch: i32,
}

/// An admin client.
#[derive(Clone, Debug)]
pub struct Admin {
    cluster: Arc<Cluster>,
    timeout: Duration,
}

impl Admin {
    /// An admin client for `config` (an [`AdminConfig`], or a [`ClientConfig`]). Operations wait up to
    /// `request.timeout.ms` for the broker and then for the metadata to show their effect. No connection is made
    /// until the first operation. Outside a tokio runtime it fails (never panics).
    pub async fn new(config: impl Into<AdminConfig>) -> Result<Admin> {
        let config = config.into();
        config.validate()?;
        let timeout = config.client.request_timeout;
        // Never auto-create: a deleted topic must stay deleted when its metadata is asked for.
        let cluster = Cluster::new(config.client, false)?;
        Ok(Admin { cluster, timeout })
    }

    /// Connection counters over all of this client's broker connections: dials, dial failures, reconnects,
    /// authentication failures and KIP-368 re-authentications.
    pub fn connection_metrics(&self) -> crate::ConnectionMetrics {
        self.cluster.pool().connection_metrics()
    }

    /// The cluster metadata this client uses.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// The same client (sharing connections and metadata) with operations waiting up to `timeout` instead of
    /// `request.timeout.ms`: `admin.with_timeout(Duration::from_secs(5)).list_topics(false)`.
    pub fn with_timeout(&self, timeout: Duration) -> Admin {
        Admin { cluster: self.cluster.clone(), timeout }
    }

    /// How long each operation waits.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn timeout_ms(&self) -> i32 {
        self.timeout.as_millis().min(i32::MAX as u128) as i32
    }

    /// When an operation starting now must finish.
    fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    /// Runs `op` until it succeeds, fails with an error that is not [`retriable`], or the deadline passes;
    /// between attempts `retry.backoff.ms` and a metadata refresh.
    async fn retry<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let deadline = self.deadline();
        loop {
            match op().await {
                Err(e) if retriable(&e) && Instant::now() < deadline => {
                    debug!(what, error = %e, "admin request retried");
                    tokio::time::sleep(self.cluster.config().retry_backoff).await;
                    let _ = tokio::time::timeout_at(deadline, self.cluster.refresh()).await;
                }
                r => return r,
            }
        }
    }

    /// Runs `round` on the items still pending until each has a result that is final (success, or an error that
    /// `retry_if` refuses), or the deadline passes (retriable errors left are then the items' results). A round
    /// that fails as a whole is retried when `retry_if` allows, else returned. Between rounds: `retry.backoff.ms`
    /// and a metadata refresh.
    async fn per_item<K, T, F, Fut>(
        &self,
        what: &str,
        items: Vec<K>,
        retry_if: fn(&Error) -> bool,
        mut round: F,
    ) -> Result<BTreeMap<K, Result<T>>>
    where
        K: Ord + Clone + std::fmt::Debug,
        F: FnMut(Vec<K>) -> Fut,
        Fut: Future<Output = Result<Vec<(K, Result<T>)>>>,
    {
        let deadline = self.deadline();
        let mut done = BTreeMap::new();
        let mut pending = items;
        while !pending.is_empty() {
            let last_chance = Instant::now() >= deadline;
            let mut retry = Vec::new();
            match round(pending.clone()).await {
                Ok(results) => {
                    for (k, r) in results {
                        if !pending.contains(&k) {
                            continue;
                        }
                        match r {
                            Err(e) if retry_if(&e) && !last_chance => retry.push(k),
                            r => {
                                done.insert(k, r);
                            }
                        }
                    }
                    for k in pending {
                        if !done.contains_key(&k) && !retry.contains(&k) {
                            if last_chance {
                                let e = Error::protocol(format!("the {what} reply left out {k:?}"));
                                done.insert(k, Err(e));
                            } else {
                                retry.push(k);
                            }
                        }
                    }
                }
                Err(e) if retry_if(&e) && !last_chance => retry = pending,
                Err(e) => return Err(e),
            }
            if retry.is_empty() {
                break;
            }
            debug!(what, items = retry.len(), "admin operation retried");
            tokio::time::sleep(
                self.cluster.config().retry_backoff.min(deadline.saturating_duration_since(Instant::now())),
            )
            .await;
            let _ = tokio::time::timeout_at(deadline, self.cluster.refresh()).await;
            pending = retry;
        }
        Ok(done)
    }

    /// Creates a topic with `partitions` partitions of `replication_factor` replicas (-1 for either: the broker's
    /// default) and the given topic configs, and waits until metadata shows it with a leader for every partition.
    /// A topic that exists already is an error with code TOPIC_ALREADY_EXISTS
    /// (`e.code() == Some(ErrorCode::TOPIC_ALREADY_EXISTS)`).
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[(&str, &str)],
    ) -> Result<Arc<TopicInfo>> {
        validate_topic_name(name)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let conn = self.cluster.pool().any().await?;
            let version = conn.versions().pick::<CreateTopicsRequest>()?;
            let req = CreateTopicsRequest::single(
                name,
                partitions,
                replication_factor,
                configs.iter().map(|(k, v)| (*k, *v)),
                self.timeout_ms(),
            );
            let resp = conn.send_at(&req, version).await?;
            let Some(t) = resp.topics.into_iter().find(|t| t.name == name) else {
                return Err(Error::protocol("CreateTopics reply does not mention the topic")
                    .with_api(ApiKey::CREATE_TOPICS)
                    .with_topic(name));
            };
            let code = t.error_code;
            if code.is_ok() {
                break;
            }
            let err =
                Error::broker(code).with_api(ApiKey::CREATE_TOPICS).with_topic(name).with_message(t.error_message);
            if (code == ErrorCode::NOT_CONTROLLER || code.is_retriable()) && Instant::now() < deadline {
                debug!(topic = name, error = %err, "CreateTopics retried");
                let _ = self.cluster.refresh().await;
                tokio::time::sleep(self.cluster.config().retry_backoff).await;
                continue;
            }
            return Err(err);
        }
        // Wait until metadata lists every partition with a leader.
        loop {
            let wait = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
            let info = self.cluster.topic(name, wait).await?;
            let complete = (partitions < 0 || info.partition_count() == partitions)
                && info.partitions.iter().all(|p| p.leader >= 0);
            if complete {
                return Ok(info);
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

    /// Every transaction the cluster's transaction coordinators know, optionally only those in `states`
    /// (`Ongoing`, `PrepareCommit`, `CompleteAbort`, ...): ListTransactions to every broker, each answering for the
    /// transactional ids it coordinates.
    pub async fn list_transactions(&self, states: &[&str]) -> Result<Vec<ListedTransactionState>> {
        let snapshot = self.cluster.refresh().await?;
        let mut out = Vec::new();
        let mut ids: Vec<i32> = snapshot.brokers.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let conn = self.cluster.pool().node_for(crate::net::ConnectionClass::Control, id).await?;
            let version = conn.versions().pick::<ListTransactionsRequest>()?;
            let req = ListTransactionsRequest {
                state_filters: states.iter().map(|s| (*s).to_owned()).collect(),
                ..Default::default()
            };
            let resp = conn.send_at(&req, version).await?;
            if resp.error_code.is_err() {
                return Err(Error::broker(resp.error_code).with_api(ApiKey::LIST_TRANSACTIONS).with_broker(id));
            }
            out.extend(resp.transaction_states);
        }
        Ok(out)
    }

    /// The state of `transactional_id`'s transaction, from its transaction coordinator.
    pub async fn describe_transaction(&self, transactional_id: &str) -> Result<DescribedTransactionState> {
        let coordinator =
            crate::producer::transaction::TxnCoordinator::new(self.cluster.clone(), transactional_id.to_owned());
        let conn = coordinator.get().await?;
        let version = conn.versions().pick::<DescribeTransactionsRequest>()?;
        let req =
            DescribeTransactionsRequest { transactional_ids: vec![transactional_id.to_owned()], ..Default::default() };
        let resp = conn.send_at(&req, version).await?;
        let state = resp
            .transaction_states
            .into_iter()
            .find(|t| t.transactional_id == transactional_id)
            .ok_or_else(|| Error::protocol("DescribeTransactions reply left out the transactional id"))?;
        if state.error_code.is_err() {
            return Err(Error::broker(state.error_code).with_api(ApiKey::DESCRIBE_TRANSACTIONS));
        }
        Ok(state)
    }

    /// Aborts a transaction left open on one partition (KIP-664): writes an abort marker there with
    /// WriteTxnMarkers, sent to the partition's leader. For transactions their coordinator lost track of; a live
    /// transaction is ended by its producer or its timeout.
    pub async fn abort_transaction(&self, spec: &AbortTransactionSpec) -> Result<()> {
        self.cluster.topic(&spec.topic, self.timeout).await?;
        let (leader, conn) = self.cluster.leader(&spec.topic, spec.partition).await?;
        let version = conn.versions().pick::<WriteTxnMarkersRequest>()?;
        let req = WriteTxnMarkersRequest {
            markers: vec![WritableTxnMarker {
                producer_id: spec.producer_id,
                producer_epoch: spec.producer_epoch,
                transaction_result: false,
                topics: vec![WritableTxnMarkerTopic {
                    name: spec.topic.clone(),
                    partition_indexes: vec![spec.partition],
                    ..Default::default()
                }],
                coordinator_epoch: spec.coordinator_epoch,
                ..Default::default()
            }],
            ..Default::default()
        };
        let resp = conn.send_at(&req, version).await?;
        for m in resp.markers {
            for t in m.topics {
                for p in t.partitions {
                    if p.error_code.is_err() {
                        return Err(Error::broker(p.error_code)
                            .with_api(ApiKey::WRITE_TXN_MARKERS)
                            .with_broker(leader)
                            .with_partition(&t.name, p.partition_index));
                    }
                }
            }
        }
        Ok(())
    }

    /// Deletes a topic and waits until metadata no longer lists it. A topic that does not exist is an error with
    /// code UNKNOWN_TOPIC_OR_PARTITION.
    pub async fn delete_topic(&self, name: &str) -> Result<()> {
        validate_topic_name(name)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let conn = self.cluster.pool().any().await?;
            let version = conn.versions().pick::<DeleteTopicsRequest>()?;
            let req = DeleteTopicsRequest::by_names(version, [name], self.timeout_ms());
            let resp = conn.send_at(&req, version).await?;
            let code = resp
                .responses
                .iter()
                .find(|r| r.name.as_deref() == Some(name))
                .or(resp.responses.first())
                .map_or(ErrorCode::NONE, |r| r.error_code);
            if code.is_ok() {
                break;
            }
            let msg = resp.responses.into_iter().next().and_then(|r| r.error_message);
            let err = Error::broker(code).with_api(ApiKey::DELETE_TOPICS).with_topic(name).with_message(msg);
            if (code == ErrorCode::NOT_CONTROLLER || code.is_retriable()) && Instant::now() < deadline {
                let _ = self.cluster.refresh().await;
                tokio::time::sleep(self.cluster.config().retry_backoff).await;
                continue;
            }
            return Err(err);
        }
        self.cluster.want([name.to_owned()]);
        loop {
            let snap = self.cluster.refresh().await?;
            if snap.topic(name).is_none() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::new(ErrorKind::Timeout)
                    .with_topic(name)
                    .with_message(Some("deleted, but metadata still lists the topic".into())));
            }
            tokio::time::sleep(self.cluster.config().retry_backoff).await;
        }
    }
}

/// Whether an admin request failing with `e` should be sent again: Kafka marks it retriable, or it names a broker
/// role that moved (controller, coordinator, leader).
fn retriable(e: &Error) -> bool {
    e.is_retriable()
        || e.code().is_some_and(|c| {
            c == ErrorCode::NOT_CONTROLLER
                || c == ErrorCode::NOT_COORDINATOR
                || c == ErrorCode::COORDINATOR_NOT_AVAILABLE
                || c == ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
                || crate::consumer::offsets::is_leadership_error(c)
        })
}

/// [`retriable`], except that an unknown topic is final (for operations naming topics that may not exist).
fn retriable_unless_unknown(e: &Error) -> bool {
    retriable(e)
        && e.code() != Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
        && e.code() != Some(ErrorCode::UNKNOWN_TOPIC_ID)
}

/// The error for a failed item of an admin reply: the broker's code and message, with the API.
fn item_error(code: ErrorCode, message: Option<String>, api: ApiKey) -> Error {
    Error::broker(code).with_api(api).with_message(message)
}
