//! Event sourcing: bank-account commands are checked against the account's state and, when accepted, become
//! events appended to an event log kept forever (`retention.ms=-1`, not compacted). The state is never stored; it
//! is rebuilt by replaying the log from offset 0. Periodic snapshots of each partition's accounts go to a compacted
//! topic, and a second rebuild starts from the latest snapshot of each partition and replays only the events after
//! it.
//!
//! ```sh
//! KAFKA_BOOTSTRAP=127.0.0.1:9092 cargo run -p kafkar-examples --example event_sourcing
//! ```
//!
//! Events are keyed by account id, so an account's events are in order on one partition. Each event carries the
//! account's version (1, 2, ...); replay checks that versions follow each other, so a lost or repeated event is an
//! error, not a wrong balance. A snapshot records the partition and the offset of the last event it includes.

use std::collections::BTreeMap;

use kafkar::Producer;
use kafkar::admin::NewTopic;
use kafkar_examples::{Config, Result, create_topics, delete_topics, read_all, topic_config};
use kafkar_serdes::{JsonSerde, StringSerde, TypedProducer};
use serde::{Deserialize, Serialize};

const PARTITIONS: i32 = 3;
/// A snapshot of a partition after every this many events on it.
const SNAPSHOT_EVERY: usize = 7;

/// A request to change an account; it may be refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Opens an account with a first deposit.
    Open {
        /// The account.
        account: String,
        /// Its owner.
        owner: String,
        /// The first deposit, in cents.
        initial: u64,
    },
    /// Puts money in.
    Deposit {
        /// The account.
        account: String,
        /// Cents.
        amount: u64,
    },
    /// Takes money out; refused when the balance is lower.
    Withdraw {
        /// The account.
        account: String,
        /// Cents.
        amount: u64,
    },
}

/// What happened to an account: the only thing stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The account.
    pub account: String,
    /// The account's version after this event (1 for the opening).
    pub version: u64,
    /// What happened.
    pub change: Change,
}

/// The change an event records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Change {
    /// Account opened.
    Opened {
        /// Its owner.
        owner: String,
        /// The first deposit, in cents.
        initial: u64,
    },
    /// Money in.
    Deposited {
        /// Cents.
        amount: u64,
    },
    /// Money out.
    Withdrawn {
        /// Cents.
        amount: u64,
    },
}

impl Change {
    /// The change to the balance, in cents.
    pub fn delta(&self) -> i64 {
        match self {
            Change::Opened { initial, .. } => *initial as i64,
            Change::Deposited { amount } => *amount as i64,
            Change::Withdrawn { amount } => -(*amount as i64),
        }
    }
}

/// An account's state: what the events add up to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The balance in cents.
    pub balance: u64,
    /// The version of the last event applied.
    pub version: u64,
}

/// The accounts of one partition as of one offset of the event log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The event log partition.
    pub partition: i32,
    /// The offset of the last event included.
    pub offset: i64,
    /// The partition's accounts.
    pub accounts: BTreeMap<String, Account>,
}

/// Applies `event` to `accounts`, refusing an event whose version does not follow the account's.
pub fn apply(accounts: &mut BTreeMap<String, Account>, event: &Event) -> Result<()> {
    let account = accounts.entry(event.account.clone()).or_default();
    if event.version != account.version + 1 {
        return Err(
            format!("{}: event version {} after version {}", event.account, event.version, account.version).into()
        );
    }
    account.balance = account
        .balance
        .checked_add_signed(event.change.delta())
        .ok_or_else(|| format!("{}: version {} overdraws the account", event.account, event.version))?;
    account.version = event.version;
    Ok(())
}

/// Decides whether `command` is accepted, given the current state: the event it becomes, or why not.
pub fn decide(accounts: &BTreeMap<String, Account>, command: &Command) -> std::result::Result<Event, String> {
    let (account, change) = match command {
        Command::Open { account, owner, initial } => {
            if accounts.contains_key(account) {
                return Err(format!("{account} is already open"));
            }
            (account, Change::Opened { owner: owner.clone(), initial: *initial })
        }
        Command::Deposit { account, amount } => (account, Change::Deposited { amount: *amount }),
        Command::Withdraw { account, amount } => {
            let balance = accounts.get(account).map_or(0, |a| a.balance);
            if balance < *amount {
                return Err(format!("{account}: withdrawing {amount} from {balance}"));
            }
            (account, Change::Withdrawn { amount: *amount })
        }
    };
    let version = match accounts.get(account) {
        Some(state) => state.version,
        None if matches!(change, Change::Opened { .. }) => 0,
        None => return Err(format!("{account} is not open")),
    };
    Ok(Event { account: account.clone(), version: version + 1, change })
}

/// What the run wrote and rebuilt.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Every event in the log, as read back (partition, offset, event).
    pub events: Vec<(i32, i64, Event)>,
    /// Commands refused (no event written).
    pub refused: usize,
    /// The balances the command side kept while writing.
    pub live: BTreeMap<String, Account>,
    /// The state replayed from offset 0.
    pub replayed: BTreeMap<String, Account>,
    /// The state rebuilt from the latest snapshots plus the events after them.
    pub from_snapshots: BTreeMap<String, Account>,
    /// Snapshots written, and the latest one per partition used by the rebuild.
    pub snapshots_written: usize,
    /// The latest snapshot of each partition (as read from the compacted topic).
    pub latest_snapshots: BTreeMap<i32, Snapshot>,
    /// Events the snapshot rebuild replayed (those after the snapshots).
    pub replayed_after_snapshots: usize,
    /// The event log's `retention.ms` and `cleanup.policy`, and the snapshot topic's `cleanup.policy`.
    pub configs: (Option<String>, Option<String>, Option<String>),
}

/// A deterministic stream of commands over five accounts, some of them overdrafts that are refused.
fn commands() -> Vec<Command> {
    let accounts = ["acc-ada", "acc-bo", "acc-cy", "acc-di", "acc-ed"];
    let mut out: Vec<Command> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| Command::Open { account: (*a).into(), owner: format!("owner {i}"), initial: 10_000 })
        .collect();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..70 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let account = accounts[(x % 5) as usize].to_owned();
        let amount = 100 * (1 + (x >> 8) % 80);
        out.push(if (x >> 20).is_multiple_of(3) {
            Command::Deposit { account, amount }
        } else {
            Command::Withdraw { account, amount }
        });
    }
    out
}

/// Runs the commands, then rebuilds the state twice.
pub async fn run(cfg: &Config) -> Result<Outcome> {
    let admin = cfg.admin().await?;
    let events_topic = cfg.name("bank-events");
    let snapshots_topic = cfg.name("bank-snapshots");
    create_topics(
        &admin,
        &[
            NewTopic::new(&events_topic, PARTITIONS, 1).config("retention.ms", "-1").config("cleanup.policy", "delete"),
            NewTopic::new(&snapshots_topic, 1, 1).config("cleanup.policy", "compact"),
        ],
    )
    .await?;
    let configs = (
        topic_config(&admin, &events_topic, "retention.ms").await?,
        topic_config(&admin, &events_topic, "cleanup.policy").await?,
        topic_config(&admin, &snapshots_topic, "cleanup.policy").await?,
    );

    // The command side: decide, append, apply; snapshot a partition every SNAPSHOT_EVERY events on it.
    let producer = Producer::new(cfg.producer_config()).await?;
    let events = TypedProducer::new(producer, StringSerde, JsonSerde::<Event>::new());
    let snapshots = TypedProducer::new(Producer::new(cfg.producer_config()).await?, StringSerde, JsonSerde::new());
    let mut live: BTreeMap<String, Account> = BTreeMap::new();
    let mut partition_of: BTreeMap<String, i32> = BTreeMap::new();
    let mut per_partition: BTreeMap<i32, usize> = BTreeMap::new();
    let (mut refused, mut snapshots_written) = (0, 0);
    for command in commands() {
        let event = match decide(&live, &command) {
            Ok(e) => e,
            Err(why) => {
                tracing::info!(%why, "command refused");
                refused += 1;
                continue;
            }
        };
        // Written before it counts: the state changes only once the event is in the log.
        let meta = events.send(&events_topic, Some(event.account.as_str()), Some(&event), Vec::new()).await?.await?;
        apply(&mut live, &event)?;
        partition_of.insert(event.account.clone(), meta.partition);
        let count = per_partition.entry(meta.partition).or_default();
        *count += 1;
        if (*count).is_multiple_of(SNAPSHOT_EVERY) {
            let accounts = live
                .iter()
                .filter(|(a, _)| partition_of.get(*a) == Some(&meta.partition))
                .map(|(a, s)| (a.clone(), s.clone()))
                .collect();
            let snapshot = Snapshot { partition: meta.partition, offset: meta.offset, accounts };
            let key = format!("partition-{}", meta.partition);
            snapshots.send(&snapshots_topic, Some(key.as_str()), Some(&snapshot), Vec::new()).await?.await?;
            snapshots_written += 1;
        }
    }
    events.inner().close().await;
    snapshots.inner().close().await;

    // Rebuild 1: every event from offset 0.
    let mut log = Vec::new();
    for r in read_all(cfg, &events_topic, PARTITIONS).await? {
        let event: Event = serde_json::from_slice(r.value.as_deref().unwrap_or_default())?;
        log.push((r.partition, r.offset, event));
    }
    let mut replayed = BTreeMap::new();
    for (_, _, event) in &log {
        apply(&mut replayed, event)?;
    }

    // Rebuild 2: the latest snapshot of each partition (the last record per key of the compacted topic), then
    // the events after its offset.
    let mut latest_snapshots: BTreeMap<i32, Snapshot> = BTreeMap::new();
    for r in read_all(cfg, &snapshots_topic, 1).await? {
        let snapshot: Snapshot = serde_json::from_slice(r.value.as_deref().unwrap_or_default())?;
        latest_snapshots.insert(snapshot.partition, snapshot);
    }
    let mut from_snapshots: BTreeMap<String, Account> = BTreeMap::new();
    for snapshot in latest_snapshots.values() {
        from_snapshots.extend(snapshot.accounts.clone());
    }
    let start = |p: i32| latest_snapshots.get(&p).map_or(0, |s| s.offset + 1);
    let mut replayed_after_snapshots = 0;
    for (partition, offset, event) in &log {
        if *offset >= start(*partition) {
            apply(&mut from_snapshots, event)?;
            replayed_after_snapshots += 1;
        }
    }
    delete_topics(&admin, &[events_topic, snapshots_topic]).await;
    Ok(Outcome {
        events: log,
        refused,
        live,
        replayed,
        from_snapshots,
        snapshots_written,
        latest_snapshots,
        replayed_after_snapshots,
        configs,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    kafkar_examples::init_logging();
    let outcome = run(&Config::from_env()).await?;
    println!("{} events written, {} commands refused", outcome.events.len(), outcome.refused);
    println!("{} snapshots written", outcome.snapshots_written);
    for (account, state) in &outcome.replayed {
        let snap = outcome.from_snapshots.get(account).map(|a| a.balance);
        println!("{account}: replayed {} (version {}), from snapshots {snap:?}", state.balance, state.version);
    }
    println!("the snapshot rebuild replayed {} of {} events", outcome.replayed_after_snapshots, outcome.events.len());
    Ok(())
}
