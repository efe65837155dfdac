//! `kafkar topics`: topic management through the admin client. `list`, `describe` and `alter` join `create` and
//! `delete` here as the admin client grows them.

use clap::Subcommand;
use kafkar::admin::{Admin, AdminConfig};

use crate::connection::Connection;
use crate::failure::CliResult;

/// `kafkar topics` subcommands.
#[derive(Subcommand, Debug)]
pub enum TopicsAction {
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

/// An admin client configured from the connection options.
pub async fn admin(conn: &Connection) -> kafkar::Result<Admin> {
    let config: AdminConfig = conn.load(&[])?;
    Admin::new(config).await
}

/// Creates `topic`, printing what was created.
pub async fn create(admin: &Admin, topic: &str, partitions: i32, replication_factor: i16) -> kafkar::Result<()> {
    let info = admin.create_topic(topic, partitions, replication_factor, &[]).await?;
    println!("created {topic} (id {}, {} partitions)", info.id, info.partition_count());
    Ok(())
}

/// Runs a `topics` subcommand.
pub async fn run(conn: &Connection, action: TopicsAction) -> CliResult {
    let admin = admin(conn).await?;
    match action {
        TopicsAction::Create { topic, partitions, replication_factor } => {
            create(&admin, &topic, partitions, replication_factor).await?
        }
        TopicsAction::Delete { topic } => {
            admin.delete_topic(&topic).await?;
            println!("deleted {topic}");
        }
    }
    Ok(())
}
