//! `kafkar topics`: list, describe, create, alter and delete topics through the admin client.

use clap::Subcommand;
use kafkar::admin::{Admin, AdminConfig, ConfigResource, NewPartitions, TopicDescription};
use serde_json::json;

use crate::configs::{ConfigOps, config_json, config_table, shown};
use crate::connection::{Connection, parse_property};
use crate::failure::{CliResult, Failure};
use crate::output::{Outcome, Table, ids, left_out, or_dash, print_json};

/// `kafkar topics` subcommands.
#[derive(Subcommand, Debug)]
pub enum TopicsAction {
    /// List topics (internal ones such as __consumer_offsets only with --internal).
    #[command(after_help = "Examples:\n  kafkar topics list\n  kafkar topics list --internal --json")]
    List {
        /// Include internal topics.
        #[arg(long)]
        internal: bool,
        /// Print one JSON array of {name, id, partitions, internal}.
        #[arg(long)]
        json: bool,
    },
    /// Describe topics: id, partitions with leader, leader epoch, replicas, ISR and offline replicas, and the
    /// configs set on the topic (every config with --all-configs).
    #[command(after_help = "Examples:\n  kafkar topics describe orders\n  kafkar topics describe orders payments \
                           --all-configs --json")]
    Describe {
        /// Topic names.
        #[arg(required = true)]
        topics: Vec<String>,
        /// Show every config, defaults included (default: only those not at their default).
        #[arg(long)]
        all_configs: bool,
        /// Print one JSON array of topics.
        #[arg(long)]
        json: bool,
    },
    /// Create a topic.
    #[command(after_help = "Example:\n  kafkar topics create orders -p 6 -r 3 -c retention.ms=86400000")]
    Create {
        /// Topic name.
        topic: String,
        /// Number of partitions.
        #[arg(short, long, default_value_t = 1)]
        partitions: i32,
        /// Replication factor.
        #[arg(short, long, default_value_t = 1)]
        replication_factor: i16,
        /// A topic config (repeatable), e.g. `-c cleanup.policy=compact`.
        #[arg(short, long = "config", value_name = "KEY=VALUE", value_parser = parse_property)]
        configs: Vec<(String, String)>,
    },
    /// Change a topic: grow its partitions and/or set, delete, append to or subtract from its configs.
    #[command(after_help = "Examples:\n  kafkar topics alter orders --partitions 12\n  kafkar topics alter orders \
                           --set retention.ms=3600000 --delete cleanup.policy")]
    Alter {
        /// Topic name.
        topic: String,
        /// The new total number of partitions (more than now: partitions are never removed).
        #[arg(short, long, value_name = "TOTAL")]
        partitions: Option<i32>,
        #[command(flatten)]
        ops: ConfigOps,
        /// Only ask the broker to validate the change.
        #[arg(long)]
        validate_only: bool,
    },
    /// Delete a topic.
    Delete {
        /// Topic name.
        topic: String,
    },
}

/// An admin client configured from the connection options.
pub async fn admin(conn: &Connection) -> kafkar::Result<Admin> {
    let config: AdminConfig = conn.load(&[])?;
    Admin::new(config).await
}

/// Creates `topic`, printing what was created.
pub async fn create(
    admin: &Admin,
    topic: &str,
    partitions: i32,
    replication_factor: i16,
    configs: &[(String, String)],
) -> kafkar::Result<()> {
    let configs: Vec<(&str, &str)> = configs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let info = admin.create_topic(topic, partitions, replication_factor, &configs).await?;
    println!("created {topic} (id {}, {} partitions)", info.id, info.partition_count());
    Ok(())
}

/// Runs a `topics` subcommand.
pub async fn run(conn: &Connection, action: TopicsAction) -> CliResult {
    let admin = admin(conn).await?;
    match action {
        TopicsAction::List { internal, json } => list(&admin, internal, json).await?,
        TopicsAction::Describe { topics, all_configs, json } => {
            return describe(&admin, &topics, all_configs, json).await;
        }
        TopicsAction::Create { topic, partitions, replication_factor, configs } => {
            create(&admin, &topic, partitions, replication_factor, &configs).await?
        }
        TopicsAction::Alter { topic, partitions, ops, validate_only } => {
            return alter(&admin, &topic, partitions, &ops, validate_only).await;
        }
        TopicsAction::Delete { topic } => {
            admin.delete_topic(&topic).await?;
            println!("deleted {topic}");
        }
    }
    Ok(())
}

async fn list(admin: &Admin, internal: bool, json: bool) -> kafkar::Result<()> {
    let topics = admin.list_topics(internal).await?;
    if json {
        let all: Vec<_> = topics
            .iter()
            .map(|t| {
                json!({"name": t.name, "id": t.topic_id.to_string(), "partitions": t.partitions, "internal": t.is_internal})
            })
            .collect();
        print_json(&json!(all));
        return Ok(());
    }
    let mut table = Table::new(&["TOPIC", "PARTITIONS", "ID"]);
    for t in &topics {
        let name = if t.is_internal { format!("{} (internal)", t.name) } else { t.name.clone() };
        table.row(vec![name, t.partitions.to_string(), t.topic_id.to_string()]);
    }
    table.print();
    Ok(())
}

/// The replication factor of a described topic (the replica count of its first partition).
fn replication_factor(t: &TopicDescription) -> usize {
    t.partitions.first().map_or(0, |p| p.replicas.len())
}

async fn describe(admin: &Admin, topics: &[String], all_configs: bool, json: bool) -> CliResult {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let mut described = admin.describe_topics(&names).await?;
    let resources: Vec<ConfigResource> = topics.iter().map(ConfigResource::topic).collect();
    let mut configs = admin.describe_configs(&resources).await?;
    let mut outcome = Outcome::new();
    let mut docs = Vec::new();
    for name in topics {
        // One result per topic: its description and its configs.
        let got = described.remove(name).unwrap_or_else(|| Err(left_out())).and_then(|t| {
            let c = configs.remove(&ConfigResource::topic(name)).unwrap_or_else(|| Err(left_out()));
            c.map(|c| (t, c))
        });
        let Some((mut t, entries)) = outcome.item(&format!("topic {name}"), got) else { continue };
        t.partitions.sort_by_key(|p| p.partition);
        let entries = shown(entries, all_configs);
        if json {
            let partitions: Vec<_> = t
                .partitions
                .iter()
                .map(|p| {
                    json!({"partition": p.partition, "leader": p.leader, "leader_epoch": p.leader_epoch,
                       "replicas": p.replicas, "isr": p.isr, "offline": p.offline_replicas,
                       "eligible_leaders": p.eligible_leader_replicas})
                })
                .collect();
            docs.push(json!({"name": t.name, "id": t.topic_id.to_string(), "internal": t.is_internal,
                "replication_factor": replication_factor(&t), "partitions": partitions,
                "configs": config_json(&entries)}));
            continue;
        }
        println!(
            "topic {}  id {}  partitions {}  replication factor {}{}",
            t.name,
            t.topic_id,
            t.partitions.len(),
            replication_factor(&t),
            if t.is_internal { "  (internal)" } else { "" }
        );
        let mut table = Table::new(&["PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "OFFLINE"]);
        for p in &t.partitions {
            table.row(vec![
                p.partition.to_string(),
                or_dash(p.leader),
                p.leader_epoch.to_string(),
                ids(&p.replicas),
                ids(&p.isr),
                ids(&p.offline_replicas),
            ]);
        }
        table.print();
        if entries.is_empty() {
            println!("configs: none set on the topic");
        } else {
            println!("configs:");
            config_table(&entries).print();
        }
        println!();
    }
    if json {
        print_json(&json!(docs));
    }
    outcome.finish()
}

async fn alter(admin: &Admin, topic: &str, partitions: Option<i32>, ops: &ConfigOps, validate_only: bool) -> CliResult {
    let changes = ops.to_ops();
    if partitions.is_none() && changes.is_empty() {
        return Err(Failure::usage("nothing to alter: give --partitions and/or --set/--delete/--append/--subtract"));
    }
    let verb = if validate_only { "valid" } else { "done" };
    let mut outcome = Outcome::new();
    if let Some(total) = partitions {
        let r = admin.create_partitions(&[(topic, NewPartitions::increase_to(total))], validate_only).await?;
        let r = r.into_values().next().unwrap_or_else(|| Err(left_out()));
        if outcome.item(&format!("topic {topic}: partitions"), r).is_some() {
            println!("{topic}: partitions -> {total} ({verb})");
        }
    }
    if !changes.is_empty() {
        let resource = ConfigResource::topic(topic);
        let r = admin.incremental_alter_configs(&[(resource, changes.clone())], validate_only).await?;
        let r = r.into_values().next().unwrap_or_else(|| Err(left_out()));
        if outcome.item(&format!("topic {topic}: configs"), r).is_some() {
            for op in &changes {
                println!("{topic}: {} ({verb})", crate::configs::describe_op(op));
            }
        }
    }
    outcome.finish()
}
