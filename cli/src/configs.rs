//! `kafkar configs`: describe and incrementally alter the configs of topics, brokers (one, or the cluster-wide
//! default), groups and client-metrics subscriptions.

use clap::{ArgGroup, Args, Subcommand};
use kafkar::admin::{AlterConfigOp, ConfigEntry, ConfigResource, ConfigSource};
use serde_json::json;

use crate::connection::{Connection, parse_property};
use crate::failure::{CliResult, Failure};
use crate::output::{Outcome, Table, print_json};
use crate::topics::admin;

/// `kafkar configs` subcommands.
#[derive(Subcommand, Debug)]
pub enum ConfigsAction {
    /// Show a resource's configs: by default those not at their default, with --all every one.
    #[command(after_help = "Sources: topic (set on the topic), broker (set on this broker), broker-default (set \
                           for every broker), static (server.properties), group, client-metrics, default.

Examples:
  kafkar configs describe --topic orders
  kafkar configs describe --broker 1 --all
  kafkar configs describe --group billing --json")]
    Describe {
        #[command(flatten)]
        resource: Resource,
        /// Every config, defaults included.
        #[arg(long)]
        all: bool,
        /// Print one JSON array of {name, value, source, read_only, sensitive}.
        #[arg(long)]
        json: bool,
    },
    /// Change a resource's configs: set, delete (back to the default), append to or subtract from a list.
    #[command(after_help = "Examples:
  kafkar configs alter --topic orders --set retention.ms=3600000 --delete max.message.bytes
  kafkar configs alter --topic orders --append cleanup.policy=compact
  kafkar configs alter --broker 1 --set log.cleaner.threads=2
  kafkar configs alter --broker-defaults --set log.retention.ms=604800000
  kafkar configs alter --group billing --set consumer.session.timeout.ms=60000")]
    Alter {
        #[command(flatten)]
        resource: Resource,
        #[command(flatten)]
        ops: ConfigOps,
        /// Only ask the broker to validate the change.
        #[arg(long)]
        validate_only: bool,
    },
}

/// Which resource a `configs` command is about: exactly one option.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("resource").required(true).multiple(false)))]
pub struct Resource {
    /// A topic.
    #[arg(long, group = "resource", value_name = "NAME")]
    topic: Option<String>,
    /// A broker, by id.
    #[arg(long, group = "resource", value_name = "ID")]
    broker: Option<i32>,
    /// The default of every broker (dynamic cluster-wide broker configs).
    #[arg(long, group = "resource")]
    broker_defaults: bool,
    /// A group (KIP-848 group configs such as consumer.session.timeout.ms).
    #[arg(long, group = "resource", value_name = "GROUP")]
    group: Option<String>,
    /// A client-metrics subscription (KIP-714).
    #[arg(long, group = "resource", value_name = "NAME")]
    client_metrics: Option<String>,
}

impl Resource {
    fn resource(&self) -> ConfigResource {
        if let Some(t) = &self.topic {
            ConfigResource::topic(t)
        } else if let Some(b) = self.broker {
            ConfigResource::broker(b)
        } else if let Some(g) = &self.group {
            ConfigResource::group(g)
        } else if let Some(m) = &self.client_metrics {
            ConfigResource::client_metrics(m)
        } else {
            ConfigResource::broker_defaults()
        }
    }

    fn label(&self) -> String {
        match (&self.topic, self.broker, &self.group, &self.client_metrics) {
            (Some(t), ..) => format!("topic {t}"),
            (_, Some(b), ..) => format!("broker {b}"),
            (_, _, Some(g), _) => format!("group {g}"),
            (_, _, _, Some(m)) => format!("client-metrics {m}"),
            _ => "broker defaults".to_owned(),
        }
    }
}

/// Config changes, applied in the order set, delete, append, subtract.
#[derive(Args, Debug, Default)]
pub struct ConfigOps {
    /// Set a config (repeatable); the value may contain commas (`--set cleanup.policy=compact,delete`).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_property)]
    set: Vec<(String, String)>,
    /// Delete a config, back to its default (repeatable).
    #[arg(long = "delete", value_name = "KEY")]
    delete: Vec<String>,
    /// Add items to a list config (repeatable; comma-separated items).
    #[arg(long = "append", value_name = "KEY=ITEMS", value_parser = parse_property)]
    append: Vec<(String, String)>,
    /// Remove items from a list config (repeatable; comma-separated items).
    #[arg(long = "subtract", value_name = "KEY=ITEMS", value_parser = parse_property)]
    subtract: Vec<(String, String)>,
}

impl ConfigOps {
    /// The changes, in the order set, delete, append, subtract.
    pub fn to_ops(&self) -> Vec<AlterConfigOp> {
        let set = self.set.iter().map(|(k, v)| AlterConfigOp::Set(k.clone(), v.clone()));
        let delete = self.delete.iter().map(|k| AlterConfigOp::Delete(k.clone()));
        let append = self.append.iter().map(|(k, v)| AlterConfigOp::Append(k.clone(), v.clone()));
        let subtract = self.subtract.iter().map(|(k, v)| AlterConfigOp::Subtract(k.clone(), v.clone()));
        set.chain(delete).chain(append).chain(subtract).collect()
    }
}

/// One change in words: `set retention.ms=1000`, `deleted cleanup.policy`, ...
pub fn describe_op(op: &AlterConfigOp) -> String {
    match op {
        AlterConfigOp::Set(k, v) => format!("set {k}={v}"),
        AlterConfigOp::Delete(k) => format!("deleted {k}"),
        AlterConfigOp::Append(k, v) => format!("appended {v} to {k}"),
        AlterConfigOp::Subtract(k, v) => format!("subtracted {v} from {k}"),
    }
}

/// A config source's name in tables and JSON.
pub fn source_name(s: ConfigSource) -> String {
    match s {
        ConfigSource::DynamicTopic => "topic".into(),
        ConfigSource::DynamicBroker => "broker".into(),
        ConfigSource::DynamicDefaultBroker => "broker-default".into(),
        ConfigSource::StaticBroker => "static".into(),
        ConfigSource::Default => "default".into(),
        ConfigSource::DynamicBrokerLogger => "broker-logger".into(),
        ConfigSource::ClientMetrics => "client-metrics".into(),
        ConfigSource::DynamicGroup => "group".into(),
        ConfigSource::Unknown(c) => format!("unknown({c})"),
        other => format!("{other:?}"),
    }
}

/// A config's value as printed: `(sensitive)` for secrets, `-` for none.
fn shown_value(c: &ConfigEntry) -> String {
    match (&c.value, c.sensitive) {
        (_, true) => "(sensitive)".to_owned(),
        (Some(v), false) => v.clone(),
        (None, false) => "-".to_owned(),
    }
}

/// The configs to show, sorted by name: those not at their default, or every one (`all`).
pub fn shown(mut entries: Vec<ConfigEntry>, all: bool) -> Vec<ConfigEntry> {
    entries.retain(|c| all || !c.is_default());
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

/// Configs as a table: NAME VALUE SOURCE FLAGS.
pub fn config_table(entries: &[ConfigEntry]) -> Table {
    let mut table = Table::new(&["NAME", "VALUE", "SOURCE", "FLAGS"]);
    for c in entries {
        let flags: Vec<&str> =
            [(c.read_only, "read-only"), (c.sensitive, "sensitive")].iter().filter(|f| f.0).map(|f| f.1).collect();
        table.row(vec![c.name.clone(), shown_value(c), source_name(c.source), flags.join(",")]);
    }
    table
}

/// Configs as a JSON array.
pub fn config_json(entries: &[ConfigEntry]) -> serde_json::Value {
    let all: Vec<_> = entries
        .iter()
        .map(|c| {
            json!({"name": c.name, "value": if c.sensitive { None } else { c.value.clone() },
               "source": source_name(c.source), "read_only": c.read_only, "sensitive": c.sensitive})
        })
        .collect();
    json!(all)
}

/// Runs a `configs` subcommand.
pub async fn run(conn: &Connection, action: ConfigsAction) -> CliResult {
    let admin = admin(conn).await?;
    let mut outcome = Outcome::new();
    match action {
        ConfigsAction::Describe { resource, all, json } => {
            let r = resource.resource();
            let got = admin.describe_configs(std::slice::from_ref(&r)).await?;
            let got = got.into_values().next().unwrap_or_else(|| Err(crate::output::left_out()));
            if let Some(entries) = outcome.item(&resource.label(), got) {
                let entries = shown(entries, all);
                if json {
                    print_json(&config_json(&entries));
                } else if entries.is_empty() {
                    println!("{}: no config set (--all shows the defaults)", resource.label());
                } else {
                    config_table(&entries).print();
                }
            }
        }
        ConfigsAction::Alter { resource, ops, validate_only } => {
            let changes = ops.to_ops();
            if changes.is_empty() {
                return Err(Failure::usage("nothing to alter: give --set, --delete, --append or --subtract"));
            }
            let r = resource.resource();
            let got = admin.incremental_alter_configs(&[(r, changes.clone())], validate_only).await?;
            let got = got.into_values().next().unwrap_or_else(|| Err(crate::output::left_out()));
            if outcome.item(&resource.label(), got).is_some() {
                let verb = if validate_only { "valid" } else { "done" };
                for op in &changes {
                    println!("{}: {} ({verb})", resource.label(), describe_op(op));
                }
            }
        }
    }
    outcome.finish()
}
