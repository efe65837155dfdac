//! Config operations: describe and incrementally alter the configs of topics, brokers, broker loggers, groups and
//! client-metrics subscriptions, and list the resources that have configs.
//!
//! A broker's (or broker logger's) own configs go to that broker; everything else to any broker.

use std::collections::BTreeMap;
use std::future::Future;

use kafkar_protocol::ApiKey;
use kafkar_protocol::messages::describe_configs::{
    DescribeConfigsEntry, DescribeConfigsRequest, DescribeConfigsResource, DescribeConfigsResult,
};
use kafkar_protocol::messages::incremental_alter_configs::{
    AlterConfigsResource, AlterConfigsResourceResponse, AlterableConfig, IncrementalAlterConfigsRequest,
};
use kafkar_protocol::messages::list_config_resources::ListConfigResourcesRequest;

use super::Admin;
use super::call::{item_error, item_result, retriable_unless_unknown};
use crate::error::{Error, Result};
use crate::net::{Connection, ConnectionClass};

/// The kind of a [`ConfigResource`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ConfigResourceType {
    /// A topic (2).
    Topic,
    /// A broker, named by its id; the empty name is the cluster-wide default (4).
    Broker,
    /// A broker's log4j loggers, named by the broker id (8).
    BrokerLogger,
    /// A client-metrics subscription (KIP-714) (16).
    ClientMetrics,
    /// A group (KIP-848 group configs) (32).
    Group,
    /// A type this client does not know, by its wire value.
    Other(i8),
}

impl ConfigResourceType {
    /// The wire value.
    pub fn code(self) -> i8 {
        match self {
            ConfigResourceType::Topic => 2,
            ConfigResourceType::Broker => 4,
            ConfigResourceType::BrokerLogger => 8,
            ConfigResourceType::ClientMetrics => 16,
            ConfigResourceType::Group => 32,
            ConfigResourceType::Other(c) => c,
        }
    }

    /// The type of wire value `code`.
    pub fn from_code(code: i8) -> ConfigResourceType {
        match code {
            2 => ConfigResourceType::Topic,
            4 => ConfigResourceType::Broker,
            8 => ConfigResourceType::BrokerLogger,
            16 => ConfigResourceType::ClientMetrics,
            32 => ConfigResourceType::Group,
            c => ConfigResourceType::Other(c),
        }
    }
}

/// Something that has configs: a topic, a broker, a group, ...
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigResource {
    /// Its type.
    pub kind: ConfigResourceType,
    /// Its name (a topic or group name, a broker id in decimal, or empty for the cluster-wide broker default).
    pub name: String,
}

impl ConfigResource {
    /// A topic.
    pub fn topic(name: impl Into<String>) -> ConfigResource {
        ConfigResource { kind: ConfigResourceType::Topic, name: name.into() }
    }

    /// A broker by id.
    pub fn broker(id: i32) -> ConfigResource {
        ConfigResource { kind: ConfigResourceType::Broker, name: id.to_string() }
    }

    /// The cluster-wide broker defaults.
    pub fn broker_defaults() -> ConfigResource {
        ConfigResource { kind: ConfigResourceType::Broker, name: String::new() }
    }

    /// A group.
    pub fn group(name: impl Into<String>) -> ConfigResource {
        ConfigResource { kind: ConfigResourceType::Group, name: name.into() }
    }

    /// A client-metrics subscription.
    pub fn client_metrics(name: impl Into<String>) -> ConfigResource {
        ConfigResource { kind: ConfigResourceType::ClientMetrics, name: name.into() }
    }

    fn from_wire(resource_type: i8, name: String) -> ConfigResource {
        ConfigResource { kind: ConfigResourceType::from_code(resource_type), name }
    }

    /// The broker that must answer for this resource: a specific broker's own configs and loggers go to it.
    fn node(&self) -> Option<i32> {
        match self.kind {
            ConfigResourceType::Broker | ConfigResourceType::BrokerLogger => self.name.parse().ok(),
            _ => None,
        }
    }
}

/// Where a config value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigSource {
    /// Set on the topic (1).
    DynamicTopic,
    /// Set dynamically on this broker (2).
    DynamicBroker,
    /// Set dynamically as the default of every broker (3).
    DynamicDefaultBroker,
    /// From the broker's properties file (4).
    StaticBroker,
    /// The built-in default (5).
    Default,
    /// Set dynamically on a broker logger (6).
    DynamicBrokerLogger,
    /// Set on a client-metrics subscription (7).
    ClientMetrics,
    /// Set on the group (8).
    DynamicGroup,
    /// Unknown (-1 or a value this client does not know).
    Unknown(i8),
}

impl ConfigSource {
    fn from_code(code: i8) -> ConfigSource {
        match code {
            1 => ConfigSource::DynamicTopic,
            2 => ConfigSource::DynamicBroker,
            3 => ConfigSource::DynamicDefaultBroker,
            4 => ConfigSource::StaticBroker,
            5 => ConfigSource::Default,
            6 => ConfigSource::DynamicBrokerLogger,
            7 => ConfigSource::ClientMetrics,
            8 => ConfigSource::DynamicGroup,
            c => ConfigSource::Unknown(c),
        }
    }
}

/// One level that sets a config, in [`ConfigEntry::synonyms`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigSynonym {
    /// The config's name at that level.
    pub name: String,
    /// The value there.
    pub value: Option<String>,
    /// The level.
    pub source: ConfigSource,
}

/// One config of a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigEntry {
    /// The config name.
    pub name: String,
    /// Its value; `None` when sensitive or unset.
    pub value: Option<String>,
    /// Where the value comes from.
    pub source: ConfigSource,
    /// Whether it cannot be changed at runtime.
    pub read_only: bool,
    /// Whether it is secret.
    pub sensitive: bool,
    /// Every level setting it, highest precedence first.
    pub synonyms: Vec<ConfigSynonym>,
    /// The documentation text, when the broker sent it.
    pub documentation: Option<String>,
}

impl ConfigEntry {
    /// Whether the value is the built-in default (not set anywhere).
    pub fn is_default(&self) -> bool {
        self.source == ConfigSource::Default
    }
}

/// One change for [`Admin::incremental_alter_configs`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlterConfigOp {
    /// Sets the config to a value.
    Set(String, String),
    /// Removes the config, back to its default.
    Delete(String),
    /// Adds items to a list config (comma-separated).
    Append(String, String),
    /// Removes items from a list config (comma-separated).
    Subtract(String, String),
}

impl AlterConfigOp {
    fn to_wire(&self) -> AlterableConfig {
        let (name, op, value) = match self {
            AlterConfigOp::Set(n, v) => (n, 0, Some(v.clone())),
            AlterConfigOp::Delete(n) => (n, 1, None),
            AlterConfigOp::Append(n, v) => (n, 2, Some(v.clone())),
            AlterConfigOp::Subtract(n, v) => (n, 3, Some(v.clone())),
        };
        AlterableConfig { name: name.clone(), config_operation: op, value, ..Default::default() }
    }
}

impl ConfigEntry {
    fn from_wire(c: DescribeConfigsEntry) -> ConfigEntry {
        ConfigEntry {
            name: c.name,
            value: c.value,
            source: ConfigSource::from_code(c.config_source),
            read_only: c.read_only,
            sensitive: c.is_sensitive,
            synonyms: c
                .synonyms
                .into_iter()
                .map(|s| ConfigSynonym { name: s.name, value: s.value, source: ConfigSource::from_code(s.source) })
                .collect(),
            documentation: c.documentation,
        }
    }
}

/// One resource's answer to DescribeConfigs.
fn described(r: DescribeConfigsResult) -> (ConfigResource, Result<Vec<ConfigEntry>>) {
    let entries = item_result(ApiKey::DESCRIBE_CONFIGS, r.error_code, r.error_message)
        .map(|()| r.configs.into_iter().map(ConfigEntry::from_wire).collect());
    (ConfigResource::from_wire(r.resource_type, r.resource_name), entries)
}

/// One resource's answer to IncrementalAlterConfigs.
fn altered(r: AlterConfigsResourceResponse) -> (ConfigResource, Result<()>) {
    let result = item_result(ApiKey::INCREMENTAL_ALTER_CONFIGS, r.error_code, r.error_message);
    (ConfigResource::from_wire(r.resource_type, r.resource_name), result)
}

impl Admin {
    /// A control connection to broker `node`, or to any broker.
    async fn node_or_any(&self, node: Option<i32>) -> Result<Connection> {
        match node {
            Some(id) => {
                if self.cluster.pool().node_addr(id).is_none() {
                    self.cluster.refresh().await?;
                }
                self.cluster.pool().node_for(ConnectionClass::Control, id).await
            }
            None => self.cluster.pool().any().await,
        }
    }

    /// Runs `round` with per-item retries for each broker that must answer for some of `resources` (a broker's own
    /// resources at that broker, the others at any broker), on a connection to it; one result per resource.
    async fn per_resource<T, F, Fut>(
        &self,
        api: ApiKey,
        resources: impl IntoIterator<Item = ConfigResource>,
        round: F,
    ) -> Result<BTreeMap<ConfigResource, Result<T>>>
    where
        F: Fn(Connection, Vec<ConfigResource>) -> Fut,
        Fut: Future<Output = Result<Vec<(ConfigResource, Result<T>)>>>,
    {
        let mut by_node: BTreeMap<Option<i32>, Vec<ConfigResource>> = BTreeMap::new();
        for r in resources {
            by_node.entry(r.node()).or_default().push(r);
        }
        let mut out = BTreeMap::new();
        for (node, group) in by_node {
            let round = &round;
            let got = self
                .per_item(api, group, retriable_unless_unknown, |pending| async move {
                    round(self.node_or_any(node).await?, pending).await
                })
                .await?;
            out.extend(got);
        }
        Ok(out)
    }

    /// The configs of `resources` (all of each resource's configs, with synonyms), one result per resource: an
    /// unknown topic is UNKNOWN_TOPIC_OR_PARTITION, and so on.
    pub async fn describe_configs(
        &self,
        resources: &[ConfigResource],
    ) -> Result<BTreeMap<ConfigResource, Result<Vec<ConfigEntry>>>> {
        self.per_resource(ApiKey::DESCRIBE_CONFIGS, resources.iter().cloned(), |conn, pending| async move {
            let version = conn.versions().pick::<DescribeConfigsRequest>()?;
            let req = DescribeConfigsRequest {
                resources: pending
                    .iter()
                    .map(|r| DescribeConfigsResource {
                        resource_type: r.kind.code(),
                        resource_name: r.name.clone(),
                        configuration_keys: None,
                        ..Default::default()
                    })
                    .collect(),
                include_synonyms: true,
                ..Default::default()
            };
            let resp = conn.send_at(&req, version).await?;
            Ok(resp.results.into_iter().map(described).collect())
        })
        .await
    }

    /// Applies `changes` per resource (set, delete, append, subtract; `validate_only`: only checks them), one
    /// result per resource: a bad value is INVALID_CONFIG, and does not stop the other resources.
    pub async fn incremental_alter_configs(
        &self,
        changes: &[(ConfigResource, Vec<AlterConfigOp>)],
        validate_only: bool,
    ) -> Result<BTreeMap<ConfigResource, Result<()>>> {
        let api = ApiKey::INCREMENTAL_ALTER_CONFIGS;
        self.per_resource(api, changes.iter().map(|(r, _)| r.clone()), |conn, pending| async move {
            let version = conn.versions().pick::<IncrementalAlterConfigsRequest>()?;
            let req = IncrementalAlterConfigsRequest {
                resources: changes
                    .iter()
                    .filter(|(r, _)| pending.contains(r))
                    .map(|(r, ops)| AlterConfigsResource {
                        resource_type: r.kind.code(),
                        resource_name: r.name.clone(),
                        configs: ops.iter().map(AlterConfigOp::to_wire).collect(),
                        ..Default::default()
                    })
                    .collect(),
                validate_only,
                ..Default::default()
            };
            let resp = conn.send_at(&req, version).await?;
            Ok(resp.responses.into_iter().map(altered).collect())
        })
        .await
    }

    /// The resources of the given types that have configs set (every type the broker supports when `types` is
    /// empty), sorted. Version 0 of ListConfigResources (Kafka 3.7–4.0) lists client-metrics subscriptions only.
    pub async fn list_config_resources(&self, types: &[ConfigResourceType]) -> Result<Vec<ConfigResource>> {
        let resp = self
            .retry(ApiKey::LIST_CONFIG_RESOURCES, || async {
                let conn = self.cluster.pool().any().await?;
                let version = conn.versions().pick::<ListConfigResourcesRequest>()?;
                let only_metrics = types.iter().all(|t| *t == ConfigResourceType::ClientMetrics) && !types.is_empty();
                if version == 0 && !only_metrics {
                    return Err(Error::invalid(
                        "the broker lists only client-metrics config resources (ListConfigResources v0)",
                    ));
                }
                let req = ListConfigResourcesRequest {
                    resource_types: if version >= 1 { types.iter().map(|t| t.code()).collect() } else { Vec::new() },
                    ..Default::default()
                };
                let resp = conn.send_at(&req, version).await?;
                if resp.error_code.is_err() {
                    return Err(item_error(resp.error_code, None, ApiKey::LIST_CONFIG_RESOURCES));
                }
                Ok(resp)
            })
            .await?;
        let mut out: Vec<ConfigResource> = resp
            .config_resources
            .into_iter()
            .map(|r| ConfigResource::from_wire(r.resource_type, r.resource_name))
            .collect();
        out.sort();
        Ok(out)
    }
}
