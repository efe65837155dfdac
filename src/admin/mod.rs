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
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

mod acls;
mod call;
mod cluster_ops;
mod configs;
mod features;
mod groups;
mod producers;
mod quorum;
mod quotas;
mod records;
mod replicas;
mod scram;
mod topics;
mod transactions;

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
pub use kafkar_protocol::messages::describe_transactions::DescribedTransactionState;
pub use kafkar_protocol::messages::list_transactions::ListedTransactionState;
pub use kafkar_protocol::sasl::ScramHash;
pub use quorum::QuorumInfo;
pub use quotas::{ClientQuotaAlteration, ClientQuotaEntity, ClientQuotaFilter, QuotaMatch};
pub use records::{ListedOffset, OffsetSpec};
pub use replicas::{ElectionType, PartitionReassignment, TopicPartition};
pub use scram::{ScramAlteration, ScramCredentialInfo};
pub use topics::{CreatedTopic, NewPartitions, NewTopic, PartitionDescription, TopicDescription, TopicListing};
pub use transactions::{AbortTransactionSpec, ListTransactionsFilter};

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

    /// Creates a topic with `partitions` partitions of `replication_factor` replicas (-1 for either: the broker's
    /// default) and the given topic configs, and waits until metadata shows it with a leader for every partition.
    /// A topic that exists already is an error with code TOPIC_ALREADY_EXISTS
    /// (`e.code() == Some(ErrorCode::TOPIC_ALREADY_EXISTS)`). [`Admin::create_topics`] for one topic.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[(&str, &str)],
    ) -> Result<Arc<TopicInfo>> {
        let mut topic = NewTopic::new(name, partitions, replication_factor);
        topic.configs = configs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let deadline = self.deadline();
        only_result(self.create_topics(&[topic], false).await?, name)?;
        let wait = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
        self.cluster.topic(name, wait).await
    }

    /// Deletes a topic and waits until metadata no longer lists it (else [`ErrorKind::Timeout`]). A topic that
    /// does not exist is an error with code UNKNOWN_TOPIC_OR_PARTITION. [`Admin::delete_topics`] for one topic.
    pub async fn delete_topic(&self, name: &str) -> Result<()> {
        validate_topic_name(name)?;
        let deadline = self.deadline();
        only_result(self.delete_topics_unwaited(&[name]).await?, name)?;
        if self.wait_until_gone(&[name.to_owned()], deadline).await {
            Ok(())
        } else {
            Err(Error::new(ErrorKind::Timeout)
                .with_topic(name)
                .with_message(Some("deleted, but metadata still lists the topic".into())))
        }
    }
}

/// The result for `name` in a per-topic answer about that topic alone.
fn only_result<T>(mut results: BTreeMap<String, Result<T>>, name: &str) -> Result<T> {
    results
        .remove(name)
        .unwrap_or_else(|| Err(Error::protocol("the reply does not mention the topic").with_topic(name)))
}
