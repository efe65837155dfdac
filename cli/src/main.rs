//! `kafkar`: the command-line face of the kafkar client.

mod acls;
mod cluster;
mod configs;
mod connection;
mod consume;
mod failure;
mod format;
mod groups;
mod output;
mod perf;
mod produce;
mod topics;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::connection::Connection;
use crate::failure::{CliResult, EXIT_CODES_HELP, Failure};

/// A pure-Rust Apache Kafka client: produce, consume, manage topics, groups, configs and ACLs, measure.
///
/// Client configuration, lowest precedence first: -F properties files; KAFKA_* environment variables
/// (KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, ...: the property name in capitals,
/// `_` for `.`); -X key=value; -b; the command's own options. Property names are the Java client's (some
/// librdkafka names too); an unknown name is an error naming it. The bootstrap default is 127.0.0.1:9092.
#[derive(Parser)]
#[command(name = "kafkar", version, about, long_about, after_help = EXIT_CODES_HELP)]
struct Cli {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write records read line by line from stdin or a file.
    ///
    /// With `-X transactional.id=ID` every record goes in one transaction, committed at the end of the input
    /// (aborted if a record fails). A summary goes to stderr.
    Produce(produce::ProduceArgs),
    /// Print records of a topic (assigned partitions, or as a consumer group member).
    Consume(consume::ConsumeArgs),
    /// List, describe, create, alter or delete topics.
    Topics {
        #[command(subcommand)]
        action: topics::TopicsAction,
    },
    /// Measure throughput and latency against the cluster.
    Perf {
        #[command(subcommand)]
        action: perf::PerfAction,
    },
    /// Print the cluster as kafkar sees it: brokers, controller, topics with partition leaders; or `--ping` it.
    Cluster(cluster::ClusterArgs),
    /// List, describe, measure the lag of, reset or delete consumer groups.
    Groups {
        #[command(subcommand)]
        action: groups::GroupsAction,
    },
    /// Describe or alter the configs of topics, brokers and groups.
    Configs {
        #[command(subcommand)]
        action: configs::ConfigsAction,
    },
    /// List, create or delete ACL bindings.
    Acls {
        #[command(subcommand)]
        action: acls::AclsAction,
    },
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse_from(connection::hoist_shared_options(std::env::args_os().collect()));
    match run(&cli.connection, cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A single failed item was reported already, with its name.
            if !matches!(e, Failure::Items { total: 1, .. }) {
                eprintln!("kafkar: {e}");
            }
            e.exit_code()
        }
    }
}

async fn run(conn: &Connection, command: Command) -> CliResult {
    match command {
        Command::Produce(args) => produce::run(conn, args).await,
        Command::Consume(args) => consume::run(conn, args).await,
        Command::Topics { action } => topics::run(conn, action).await,
        Command::Perf { action } => perf::run(conn, action).await,
        Command::Cluster(args) => cluster::run(conn, args).await,
        Command::Groups { action } => groups::run(conn, action).await,
        Command::Configs { action } => configs::run(conn, action).await,
        Command::Acls { action } => acls::run(conn, action).await,
    }
}
