//! `kafkar`: the command-line face of the kafkar client.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use kafkar::ClientConfig;
use kafkar::net::BrokerPool;

/// A pure-Rust Apache Kafka client.
#[derive(Parser)]
#[command(name = "kafkar", version, about)]
struct Cli {
    /// Bootstrap servers (host:port, comma-separated).
    #[arg(short, long, env = "KAFKA_BOOTSTRAP", default_value = "127.0.0.1:9092", global = true)]
    bootstrap: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the cluster as kafkar sees it: brokers, controller, topics with partition leaders.
    Cluster {
        /// Include internal topics (__consumer_offsets, ...).
        #[arg(long)]
        internal: bool,
    },
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Cluster { internal } => cluster(&cli.bootstrap, internal).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kafkar: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn cluster(bootstrap: &str, internal: bool) -> kafkar::Result<()> {
    let mut config = ClientConfig::new(bootstrap);
    config.connect_timeout = Duration::from_secs(5);
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
