//! `kafkar`: the command-line face of the kafkar client.

mod perf;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use kafkar::__private::BrokerPool;
use kafkar::ClientConfig;

/// A pure-Rust Apache Kafka client.
#[derive(Parser)]
#[command(name = "kafkar", version, about)]
struct Cli {
    /// Bootstrap servers (host:port, comma-separated).
    #[arg(short, long, env = "KAFKA_BOOTSTRAP", default_value = "127.0.0.1:9092", global = true)]
    bootstrap: String,
    /// Client properties, Java names, for every command: security (`-X security.protocol=SASL_SSL
    /// -X ssl.ca.location=ca.pem -X sasl.mechanism=SCRAM-SHA-512 -X sasl.username=... -X sasl.password=...`,
    /// `-X sasl.jaas.config=...`), connection settings, and the producer's or consumer's own for `perf`
    /// (`-X compression.type=lz4 -X acks=1`, `-X group.protocol=consumer`).
    #[arg(short = 'X', value_parser = parse_prop, global = true)]
    props: Vec<(String, String)>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create or delete topics.
    Topics {
        #[command(subcommand)]
        action: TopicsAction,
    },
    /// Measure throughput against the cluster.
    Perf {
        #[command(subcommand)]
        action: PerfAction,
    },
    /// Print the cluster as kafkar sees it: brokers, controller, topics with partition leaders.
    Cluster {
        /// Include internal topics (__consumer_offsets, ...).
        #[arg(long)]
        internal: bool,
    },
}

#[derive(Subcommand)]
enum TopicsAction {
    /// Create a topic.
    Create {
        /// Topic name.
        topic: String,
        /// Number of partitions.
        #[arg(short, long, default_value_t = 1)]
        partitions: i32,
        /// Replication factor.
        #[arg(short, long, default_value_t = 1)]
        replication_factor: i16,
    },
    /// Delete a topic.
    Delete {
        /// Topic name.
        topic: String,
    },
}

#[derive(Subcommand)]
enum PerfAction {
    /// Produce records of a fixed size to a topic and report the rate.
    Produce {
        /// Topic (created when --partitions is given).
        #[arg(short, long)]
        topic: String,
        /// Number of records.
        #[arg(short = 'n', long, default_value_t = 1_000_000)]
        records: u64,
        /// Value size in bytes.
        #[arg(short, long, default_value_t = 100)]
        size: usize,
        /// Create the topic with this many partitions first.
        #[arg(short, long)]
        partitions: Option<i32>,
        /// With `-X transactional.id=...`: commit a transaction every this many records.
        #[arg(long, default_value_t = 1000)]
        transaction_size: u64,
    },
    /// Read records from every partition of a topic, from the beginning, and report the rate.
    Consume {
        /// Topic.
        #[arg(short, long)]
        topic: String,
        /// Number of records to read.
        #[arg(short = 'n', long, default_value_t = 1_000_000)]
        records: u64,
        /// Consume as a member of this consumer group (subscribe) instead of assigning every partition.
        #[arg(short, long)]
        group: Option<String>,
    },
}

fn parse_prop(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("{s:?} is not key=value"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let props = &cli.props;
    let result = match cli.command {
        Command::Cluster { internal } => match client_config(&cli.bootstrap, props, true) {
            Ok(config) => cluster(config, internal).await,
            Err(e) => Err(e),
        },
        Command::Topics { action } => match client_config(&cli.bootstrap, props, true) {
            Ok(config) => topics(config, action).await,
            Err(e) => Err(e),
        },
        Command::Perf { action: PerfAction::Produce { topic, records, size, partitions, transaction_size } } => {
            match partitions {
                Some(p) => match client_config(&cli.bootstrap, props, false) {
                    Ok(config) => {
                        topics(
                            config,
                            TopicsAction::Create { topic: topic.clone(), partitions: p, replication_factor: 1 },
                        )
                        .await
                    }
                    Err(e) => Err(e),
                },
                None => Ok(()),
            }
            .and(perf::produce(&cli.bootstrap, &topic, records, size, props, transaction_size).await)
        }
        Command::Perf { action: PerfAction::Consume { topic, records, group } } => {
            perf::consume(&cli.bootstrap, &topic, records, group.as_deref(), props).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kafkar: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The shared client settings (`bootstrap.servers`, `security.protocol`, `ssl.*`, `sasl.*`, timeouts, ...) from
/// `-X`. `strict`: any other property is an error (the `cluster` and `topics` commands); otherwise the producer's or
/// consumer's own properties are left to that client (the topic `perf produce --partitions` creates first).
fn client_config(bootstrap: &str, props: &[(String, String)], strict: bool) -> kafkar::Result<ClientConfig> {
    let mut config = ClientConfig::new(bootstrap);
    config.connect_timeout = Duration::from_secs(5);
    for (k, v) in props {
        let mut candidate = config.clone();
        match candidate.set(k, v) {
            Ok(_) => config = candidate,
            Err(e) if strict => return Err(e),
            Err(_) => {}
        }
    }
    Ok(config)
}

async fn cluster(config: ClientConfig, internal: bool) -> kafkar::Result<()> {
    // Ask any broker for every topic: a snapshot of the whole cluster.
    let pool = BrokerPool::new(Arc::new(config))?;
    let conn = pool.any().await?;
    let md = conn.send(&kafkar::protocol::messages::metadata::MetadataRequest::all_topics()).await?;
    println!("cluster {}  controller {}", md.cluster_id.as_deref().unwrap_or("?"), md.controller_id);
    let mut brokers = md.brokers.clone();
    brokers.sort_by_key(|b| b.node_id);
    for b in &brokers {
        let rack = b.rack.as_deref().map(|r| format!(" rack {r}")).unwrap_or_default();
        println!("  broker {} at {}:{}{rack}", b.node_id, b.host, b.port);
    }
    let mut topics: Vec<_> = md.topics.iter().filter(|t| internal || !t.is_internal).collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    println!("{} topic(s)", topics.len());
    for t in topics {
        let mut parts = t.partitions.clone();
        parts.sort_by_key(|p| p.partition_index);
        let leaders: Vec<String> = parts.iter().map(|p| format!("{}→{}", p.partition_index, p.leader_id)).collect();
        println!(
            "  {} id {} partitions {} leaders [{}]",
            t.name.as_deref().unwrap_or("?"),
            t.topic_id,
            parts.len(),
            leaders.join(" ")
        );
    }
    Ok(())
}

async fn topics(config: ClientConfig, action: TopicsAction) -> kafkar::Result<()> {
    let admin = kafkar::admin::Admin::new(config).await?;
    match action {
        TopicsAction::Create { topic, partitions, replication_factor } => {
            let info = admin.create_topic(&topic, partitions, replication_factor, &[]).await?;
            println!("created {topic} (id {}, {} partitions)", info.id, info.partition_count());
        }
        TopicsAction::Delete { topic } => {
            admin.delete_topic(&topic).await?;
            println!("deleted {topic}");
        }
    }
    Ok(())
}
