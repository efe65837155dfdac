//! [`ConsumerConfig`]: the consumer's settings, with the Java client's property names and defaults.

use std::time::Duration;

use crate::config::{ClientConfig, parse_ms};
use crate::error::{Error, Result};

/// What to do when a partition has no committed offset, or its position is out of range (`auto.offset.reset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OffsetReset {
    /// Start at the earliest offset still in the log.
    Earliest,
    /// Start at the log end: only records written from now on (Java's default).
    #[default]
    Latest,
    /// Fail: the application gets an error for the partition and must `seek` it.
    None,
}

impl OffsetReset {
    /// Kafka's name: `earliest`, `latest`, `none`.
    pub const fn name(self) -> &'static str {
        match self {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
            OffsetReset::None => "none",
        }
    }
}

/// Which records of transactions a consumer sees (`isolation.level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum IsolationLevel {
    /// Every record, including those of open and aborted transactions (Java's default).
    #[default]
    ReadUncommitted,
    /// Only committed records: reads stop at the last stable offset and aborted transactions are filtered out.
    ReadCommitted,
}

impl IsolationLevel {
    /// The protocol's value (0 or 1).
    pub const fn code(self) -> i8 {
        match self {
            IsolationLevel::ReadUncommitted => 0,
            IsolationLevel::ReadCommitted => 1,
        }
    }
}

/// Consumer settings: the shared [`ClientConfig`] plus fetching, offset and group properties. Defaults are the Java
/// client's.
#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    /// Connection and metadata settings shared by every client.
    pub client: ClientConfig,
    /// `group.id`: the consumer group whose committed offsets are read and written. Without it there are no
    /// commits and positions start from `auto.offset.reset`.
    pub group_id: Option<String>,
    /// `fetch.min.bytes`: the least data a broker gathers before answering a fetch (default 1).
    pub fetch_min_bytes: i32,
    /// `fetch.max.bytes`: the most data one fetch response may hold (default 50 MiB); also the prefetch budget.
    pub fetch_max_bytes: i32,
    /// `max.partition.fetch.bytes`: the most data per partition in one fetch response (default 1 MiB).
    pub max_partition_fetch_bytes: i32,
    /// `fetch.max.wait.ms`: how long a broker may hold a fetch waiting for `fetch.min.bytes` (default 500 ms).
    pub fetch_max_wait: Duration,
    /// `max.poll.records`: the most records one `poll` returns (default 500).
    pub max_poll_records: usize,
    /// `auto.offset.reset` (default latest).
    pub auto_offset_reset: OffsetReset,
    /// `enable.auto.commit`: commit delivered positions every `auto.commit.interval.ms` (default true; only with a
    /// `group.id`).
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms` (default 5 s).
    pub auto_commit_interval: Duration,
    /// `isolation.level` (default read_uncommitted).
    pub isolation_level: IsolationLevel,
    /// `check.crcs`: verify record batch checksums (default true).
    pub check_crcs: bool,
    /// `client.rack`: the consumer's rack, sent in fetches (for follower fetching) and to the group.
    pub client_rack: Option<String>,
    /// `allow.auto.create.topics`: let metadata requests create missing topics where the broker allows (default
    /// true).
    pub allow_auto_create_topics: bool,
    /// `default.api.timeout.ms`: the bound of blocking calls without their own timeout (`committed`, `position`,
    /// `offsets_for_times`, ...; default 60 s).
    pub default_api_timeout: Duration,
    /// `session.timeout.ms` (classic groups; default 45 s).
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms` (classic groups; default 3 s).
    pub heartbeat_interval: Duration,
    /// `max.poll.interval.ms` (default 5 min).
    pub max_poll_interval: Duration,
    /// `group.protocol`: `classic` or `consumer` (KIP-848) (default classic).
    pub group_protocol: String,
    /// `group.instance.id`: makes the member static (KIP-345).
    pub group_instance_id: Option<String>,
    /// `partition.assignment.strategy` (classic groups): assignor names, preferred first.
    pub partition_assignment_strategy: Vec<String>,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            client: ClientConfig::default(),
            group_id: None,
            fetch_min_bytes: 1,
            fetch_max_bytes: 50 << 20,
            max_partition_fetch_bytes: 1 << 20,
            fetch_max_wait: Duration::from_millis(500),
            max_poll_records: 500,
            auto_offset_reset: OffsetReset::Latest,
            enable_auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            isolation_level: IsolationLevel::ReadUncommitted,
            check_crcs: true,
            client_rack: None,
            allow_auto_create_topics: true,
            default_api_timeout: Duration::from_secs(60),
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_interval: Duration::from_secs(300),
            group_protocol: "classic".to_owned(),
            group_instance_id: None,
            partition_assignment_strategy: vec!["range".to_owned(), "cooperative-sticky".to_owned()],
        }
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::config(format!("{key}: expected true or false, got {value:?}"))),
    }
}

fn parse_i32(key: &str, value: &str, min: i32) -> Result<i32> {
    match value.trim().parse::<i32>() {
        Ok(v) if v >= min => Ok(v),
        _ => Err(Error::config(format!("{key}: expected an integer of at least {min}, got {value:?}"))),
    }
}

fn optional(value: &str) -> Option<String> {
    Some(value.trim()).filter(|v| !v.is_empty()).map(str::to_owned)
}

impl ConsumerConfig {
    /// A configuration with `bootstrap.servers` set and every other property at its default.
    pub fn new(bootstrap_servers: &str) -> ConsumerConfig {
        ConsumerConfig { client: ClientConfig::new(bootstrap_servers), ..Default::default() }
    }

    /// Sets a property by its Java client name (client-wide names included). Returns `Ok(false)` for a name the
    /// consumer does not know, and an error for a bad value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        if self.client.set(key, value)? {
            return Ok(true);
        }
        match key {
            "group.id" => self.group_id = optional(value),
            "fetch.min.bytes" => self.fetch_min_bytes = parse_i32(key, value, 0)?,
            "fetch.max.bytes" => self.fetch_max_bytes = parse_i32(key, value, 1)?,
            "max.partition.fetch.bytes" => self.max_partition_fetch_bytes = parse_i32(key, value, 1)?,
            "fetch.max.wait.ms" => self.fetch_max_wait = parse_ms(key, value)?,
            "max.poll.records" => self.max_poll_records = parse_i32(key, value, 1)? as usize,
            "auto.offset.reset" => {
                self.auto_offset_reset = match value.trim() {
                    "earliest" | "smallest" | "beginning" => OffsetReset::Earliest,
                    "latest" | "largest" | "end" => OffsetReset::Latest,
                    "none" | "error" => OffsetReset::None,
                    _ => {
                        return Err(Error::config(format!("{key}: expected earliest, latest or none, got {value:?}")));
                    }
                }
            }
            "enable.auto.commit" => self.enable_auto_commit = parse_bool(key, value)?,
            "auto.commit.interval.ms" => self.auto_commit_interval = parse_ms(key, value)?,
            "isolation.level" => {
                self.isolation_level = match value.trim() {
                    "read_uncommitted" => IsolationLevel::ReadUncommitted,
                    "read_committed" => IsolationLevel::ReadCommitted,
                    _ => {
                        return Err(Error::config(format!(
                            "{key}: expected read_uncommitted or read_committed, got {value:?}"
                        )));
                    }
                }
            }
            "check.crcs" => self.check_crcs = parse_bool(key, value)?,
            "client.rack" => self.client_rack = optional(value),
            "allow.auto.create.topics" => self.allow_auto_create_topics = parse_bool(key, value)?,
            "default.api.timeout.ms" => self.default_api_timeout = parse_ms(key, value)?,
            "session.timeout.ms" => self.session_timeout = parse_ms(key, value)?,
            "heartbeat.interval.ms" => self.heartbeat_interval = parse_ms(key, value)?,
            "max.poll.interval.ms" => self.max_poll_interval = parse_ms(key, value)?,
            "group.protocol" => {
                let v = value.trim().to_ascii_lowercase();
                if v != "classic" && v != "consumer" {
                    return Err(Error::config(format!("{key}: expected classic or consumer, got {value:?}")));
                }
                self.group_protocol = v;
            }
            "group.instance.id" => self.group_instance_id = optional(value),
            "partition.assignment.strategy" => {
                self.partition_assignment_strategy =
                    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks the configuration: the client settings, sizes and timeouts that fit the protocol.
    pub fn validate(&self) -> Result<()> {
        self.client.validate()?;
        if self.fetch_max_wait.as_millis() > i32::MAX as u128 {
            return Err(Error::config("fetch.max.wait.ms does not fit in 32 bits"));
        }
        if self.fetch_max_bytes < 1 || self.max_partition_fetch_bytes < 1 {
            return Err(Error::config("fetch.max.bytes and max.partition.fetch.bytes must be positive"));
        }
        if self.max_poll_records == 0 {
            return Err(Error::config("max.poll.records must be at least 1"));
        }
        if self.enable_auto_commit && self.auto_commit_interval.is_zero() {
            return Err(Error::config("auto.commit.interval.ms must be positive"));
        }
        Ok(())
    }

    /// Whether delivered positions are committed automatically: `enable.auto.commit` with a `group.id`.
    pub fn auto_commit(&self) -> bool {
        self.enable_auto_commit && self.group_id.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_javas() {
        let c = ConsumerConfig::new("k:9092");
        assert_eq!(c.fetch_min_bytes, 1);
        assert_eq!(c.fetch_max_bytes, 52_428_800);
        assert_eq!(c.max_partition_fetch_bytes, 1_048_576);
        assert_eq!(c.fetch_max_wait, Duration::from_millis(500));
        assert_eq!(c.max_poll_records, 500);
        assert_eq!(c.auto_offset_reset, OffsetReset::Latest);
        assert!(c.enable_auto_commit);
        assert_eq!(c.auto_commit_interval, Duration::from_secs(5));
        assert_eq!(c.isolation_level, IsolationLevel::ReadUncommitted);
        assert!(c.check_crcs);
        assert!(!c.auto_commit(), "no auto-commit without a group");
        c.validate().unwrap();
    }

    #[test]
    fn java_names_set_fields() {
        let mut c = ConsumerConfig::new("k:9092");
        for (k, v) in [
            ("group.id", "g"),
            ("fetch.min.bytes", "10"),
            ("fetch.max.bytes", "1000"),
            ("max.partition.fetch.bytes", "100"),
            ("fetch.max.wait.ms", "50"),
            ("max.poll.records", "7"),
            ("auto.offset.reset", "earliest"),
            ("enable.auto.commit", "false"),
            ("auto.commit.interval.ms", "100"),
            ("isolation.level", "read_committed"),
            ("check.crcs", "false"),
            ("client.rack", "r1"),
            ("group.protocol", "consumer"),
            ("group.instance.id", "i1"),
            ("partition.assignment.strategy", "range, roundrobin"),
            ("request.timeout.ms", "1234"),
        ] {
            assert!(c.set(k, v).unwrap(), "{k}");
        }
        assert_eq!(c.group_id.as_deref(), Some("g"));
        assert_eq!(c.fetch_min_bytes, 10);
        assert_eq!(c.max_poll_records, 7);
        assert_eq!(c.auto_offset_reset, OffsetReset::Earliest);
        assert!(!c.enable_auto_commit);
        assert_eq!(c.isolation_level, IsolationLevel::ReadCommitted);
        assert!(!c.check_crcs);
        assert_eq!(c.client_rack.as_deref(), Some("r1"));
        assert_eq!(c.group_protocol, "consumer");
        assert_eq!(c.partition_assignment_strategy, vec!["range", "roundrobin"]);
        assert_eq!(c.client.request_timeout, Duration::from_millis(1234));
        assert!(!c.set("linger.ms", "5").unwrap());
        for (k, v) in [
            ("auto.offset.reset", "sometimes"),
            ("isolation.level", "dirty"),
            ("max.poll.records", "0"),
            ("enable.auto.commit", "yes"),
            ("group.protocol", "x"),
            ("fetch.max.bytes", "-1"),
        ] {
            assert!(c.set(k, v).is_err(), "{k}={v}");
        }
        c.validate().unwrap();
    }
}
