//! `kafkar cluster`: the brokers, controller and topics as one metadata answer shows them, or (`--ping`) a health
//! check with a deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use kafkar::__private::BrokerPool;
use kafkar::ClientConfig;
use kafkar::admin::{Admin, AdminConfig};
use serde_json::json;

use crate::connection::Connection;
use crate::failure::CliResult;
use crate::output::print_json;

/// Options of `kafkar cluster`.
#[derive(Args, Debug)]
#[command(after_help = "Health check (--ping): exit 0 when a broker answered DescribeCluster with at least one live \
                       broker within --timeout, 1 otherwise (nothing answered, an authentication failure, ...).

Examples:
  kafkar cluster
  kafkar cluster --ping --timeout 2000 && echo up")]
pub struct ClusterArgs {
    /// Include internal topics (__consumer_offsets, ...).
    #[arg(long)]
    pub internal: bool,
    /// Only check that the cluster answers (DescribeCluster) within --timeout; print the round trip.
    #[arg(long)]
    pub ping: bool,
    /// The deadline of --ping, in milliseconds (connecting and authenticating included).
    #[arg(long, value_name = "MS", default_value_t = 5000, requires = "ping")]
    pub timeout: u64,
    /// With --ping: print one JSON object {ok, ms, cluster_id, brokers, controller} or {ok, error}.
    #[arg(long, requires = "ping")]
    pub json: bool,
}

/// Prints the cluster, or pings it.
pub async fn run(conn: &Connection, args: ClusterArgs) -> CliResult {
    if args.ping {
        return ping(conn, Duration::from_millis(args.timeout), args.json).await;
    }
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

/// The health check: DescribeCluster within `deadline`, then the cluster's id and brokers once more (both inside
/// the same deadline).
async fn ping(conn: &Connection, deadline: Duration, json: bool) -> CliResult {
    let started = Instant::now();
    let config: AdminConfig = conn.load(&[])?;
    let checked = async {
        let admin = Admin::new(config).await?.with_timeout(deadline);
        let rtt = admin.ping(deadline).await?;
        let left = deadline.saturating_sub(started.elapsed());
        let cluster = tokio::time::timeout(left, admin.describe_cluster()).await.ok().and_then(Result::ok);
        Ok::<_, kafkar::Error>((rtt, cluster))
    };
    let outcome = match tokio::time::timeout(deadline, checked).await {
        Ok(r) => r,
        Err(_) => Err(kafkar::Error::new(kafkar::ErrorKind::Timeout)
            .with_message(Some(format!("no broker answered within {} ms", deadline.as_millis())))),
    };
    match outcome {
        Ok((rtt, cluster)) => {
            let ms = rtt.as_secs_f64() * 1000.0;
            let (id, brokers, controller) = match &cluster {
                Some(c) => (c.cluster_id.clone(), c.brokers.len(), c.controller),
                None => ("?".to_owned(), 0, None),
            };
            if json {
                print_json(
                    &json!({"ok": true, "ms": ms, "cluster_id": id, "brokers": brokers, "controller": controller}),
                );
            } else {
                println!("ok: cluster {id} answered in {ms:.1} ms ({brokers} live broker(s))");
            }
            Ok(())
        }
        Err(e) => {
            if json {
                print_json(&json!({"ok": false, "error": e.to_string()}));
            }
            Err(e.into())
        }
    }
}
