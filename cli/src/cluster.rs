//! `kafkar cluster`: the brokers, controller and topics as one metadata answer shows them.

use std::sync::Arc;

use clap::Args;
use kafkar::__private::BrokerPool;
use kafkar::ClientConfig;

use crate::connection::Connection;
use crate::failure::CliResult;

/// Options of `kafkar cluster`.
#[derive(Args, Debug)]
pub struct ClusterArgs {
    /// Include internal topics (__consumer_offsets, ...).
    #[arg(long)]
    pub internal: bool,
}

/// Prints the cluster.
pub async fn run(conn: &Connection, args: ClusterArgs) -> CliResult {
    let config: ClientConfig = conn.load(&[])?;
    // Ask any broker for every topic: a snapshot of the whole cluster.
    let pool = BrokerPool::new(Arc::new(config))?;
    let broker = pool.any().await?;
    let md = broker.send(&kafkar::protocol::messages::metadata::MetadataRequest::all_topics()).await?;
    println!("cluster {}  controller {}", md.cluster_id.as_deref().unwrap_or("?"), md.controller_id);
    let mut brokers = md.brokers.clone();
    brokers.sort_by_key(|b| b.node_id);
    for b in &brokers {
        let rack = b.rack.as_deref().map(|r| format!(" rack {r}")).unwrap_or_default();
        println!("  broker {} at {}:{}{rack}", b.node_id, b.host, b.port);
    }
    let mut topics: Vec<_> = md.topics.iter().filter(|t| args.internal || !t.is_internal).collect();
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
