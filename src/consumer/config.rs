//! [`ConsumerConfig`]: the consumer's settings, with the Java client's property names and defaults. Built like every
//! role's configuration (see [`crate::config`]): defaults < properties file < environment (opt-in) < explicit
//! settings.

use std::time::Duration;

use crate::config::{ClientConfig, parse_bool, parse_i32_min, parse_ms, parse_optional, role_config_impl};
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

impl std::str::FromStr for OffsetReset {
    type Err = Error;

    /// `earliest`, `latest` or `none`, any case (as Java), and librdkafka's aliases (`smallest`, `beginning`,
    /// `largest`, `end`, `error`).
    fn from_str(value: &str) -> Result<OffsetReset> {
        match value.trim().to_ascii_lowercase().as_str() {
            "earliest" | "smallest" | "beginning" => Ok(OffsetReset::Earliest),
            "latest" | "largest" | "end" => Ok(OffsetReset::Latest),
            "none" | "error" => Ok(OffsetReset::None),
            _ => Err(Error::config_value("auto.offset.reset", value, "expected earliest, latest or none")),
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

    /// Kafka's name: `read_uncommitted` or `read_committed`.
    pub const fn name(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "read_uncommitted",
            IsolationLevel::ReadCommitted => "read_committed",
        }
    }
}

impl std::str::FromStr for IsolationLevel {
    type Err = Error;

    /// `read_uncommitted` or `read_committed`, any case (as Java).
    fn from_str(value: &str) -> Result<IsolationLevel> {
        match value.trim().to_ascii_lowercase().as_str() {
            "read_uncommitted" => Ok(IsolationLevel::ReadUncommitted),
            "read_committed" => Ok(IsolationLevel::ReadCommitted),
            _ => Err(Error::config_value("isolation.level", value, "expected read_uncommitted or read_committed")),
        }
    }
}

/// The group membership protocol (`group.protocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum GroupProtocol {
    /// JoinGroup/SyncGroup/Heartbeat with client-side assignors (the default).
    #[default]
    Classic,
    /// KIP-848: ConsumerGroupHeartbeat with server-side assignment.
    Consumer,
}

impl GroupProtocol {
    /// Kafka's name: `classic` or `consumer`.
    pub const fn name(self) -> &'static str {
        match self {
            GroupProtocol::Classic => "classic",
            GroupProtocol::Consumer => "consumer",
        }
    }
}

impl std::str::FromStr for GroupProtocol {
    type Err = Error;

    /// `classic` or `consumer`, any case (as Java).
    fn from_str(value: &str) -> Result<GroupProtocol> {
        match value.trim().to_ascii_lowercase().as_str() {
            "classic" => Ok(GroupProtocol::Classic),
            "consumer" => Ok(GroupProtocol::Consumer),
            _ => Err(Error::config_value("group.protocol", value, "expected classic or consumer")),
        }
    }
}

/// Compares with Kafka's name (`config.group_protocol == "consumer"`).
impl PartialEq<&str> for GroupProtocol {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

/// A client-side partition assignor of classic groups (`partition.assignment.strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignmentStrategy {
    /// `range` (`org.apache.kafka.clients.consumer.RangeAssignor`).
    Range,
    /// `roundrobin` (`RoundRobinAssignor`).
    RoundRobin,
    /// `sticky` (`StickyAssignor`), eager.
    Sticky,
    /// `cooperative-sticky` (`CooperativeStickyAssignor`), incremental.
    CooperativeSticky,
}

impl AssignmentStrategy {
    /// The assignor's protocol name, as sent in JoinGroup.
    pub const fn name(self) -> &'static str {
        match self {
            AssignmentStrategy::Range => "range",
            AssignmentStrategy::RoundRobin => "roundrobin",
            AssignmentStrategy::Sticky => "sticky",
            AssignmentStrategy::CooperativeSticky => "cooperative-sticky",
        }
    }
}

impl std::str::FromStr for AssignmentStrategy {
    type Err = Error;

    /// A protocol name (`range`, `roundrobin`, `sticky`, `cooperative-sticky`) or a Java class name
    /// (`org.apache.kafka.clients.consumer.RangeAssignor`, or its simple name).
    fn from_str(value: &str) -> Result<AssignmentStrategy> {
        let short = value.trim().rsplit('.').next().unwrap_or_default();
        match short {
            "range" | "RangeAssignor" => Ok(AssignmentStrategy::Range),
            "roundrobin" | "RoundRobinAssignor" => Ok(AssignmentStrategy::RoundRobin),
            "sticky" | "StickyAssignor" => Ok(AssignmentStrategy::Sticky),
            "cooperative-sticky" | "CooperativeStickyAssignor" => Ok(AssignmentStrategy::CooperativeSticky),
            _ => Err(Error::config_value(
                "partition.assignment.strategy",
                value,
                "expected range, roundrobin, sticky or cooperative-sticky",
            )),
        }
    }
}

impl std::fmt::Display for AssignmentStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An assignment strategy is its name: lets a list be joined (`strategies.join(",")`). Hash and equality agree
/// with the name's.
impl std::borrow::Borrow<str> for AssignmentStrategy {
    fn borrow(&self) -> &str {
        self.name()
    }
}

impl std::hash::Hash for AssignmentStrategy {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state)
    }
}

/// Consumer settings: the shared [`ClientConfig`] plus fetching, offset and group properties. Defaults are the Java
/// client's. Setting a field and setting its property are the same.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConsumerConfig {
    /// Connection and metadata settings shared by every client.
    pub client: ClientConfig,
    /// `group.id`: the consumer group whose committed offsets are read and written. Without it there are no
    /// commits and positions start from `auto.offset.reset`.
    pub group_id: Option<String>,
    /// `fetch.min.bytes`: the least data a broker gathers before answering a fetch (default 1).
    pub fetch_min_bytes: i32,
    /// `fetch.max.bytes`: the most data one fetch response may hold (default 50 MiB); also the most response data
    /// the consumer buffers ahead of the application (the prefetch budget is two fetches' worth of the assigned
    /// partitions, `max.partition.fetch.bytes` each, or this if smaller).
    pub fetch_max_bytes: i32,
    /// `max.partition.fetch.bytes`: the most data per partition in one fetch response (default 1 MiB). The
    /// responses a broker's fetches keep in memory (records are slices of them) stay near this much per partition
    /// fetched from it: each fetch asks for a third of that, at least this much, and the next goes out once room
    /// is freed by reading.
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
    /// `group.protocol` (default classic).
    pub group_protocol: GroupProtocol,
    /// `group.instance.id`: makes the member static (KIP-345).
    pub group_instance_id: Option<String>,
    /// `partition.assignment.strategy` (classic groups): assignors, preferred first (default range, then
    /// cooperative-sticky, as Java).
    pub partition_assignment_strategy: Vec<AssignmentStrategy>,
    /// `group.remote.assignor` (KIP-848 groups): the server-side assignor to ask for (`None`: the broker's
    /// default).
    pub group_remote_assignor: Option<String>,
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
            group_protocol: GroupProtocol::Classic,
            group_instance_id: None,
            partition_assignment_strategy: vec![AssignmentStrategy::Range, AssignmentStrategy::CooperativeSticky],
            group_remote_assignor: None,
        }
    }
}

role_config_impl!(ConsumerConfig, "consumer");

impl ConsumerConfig {
    /// A configuration with `bootstrap.servers` set and every other property at its default.
    pub fn new(bootstrap_servers: &str) -> ConsumerConfig {
        ConsumerConfig { client: ClientConfig::new(bootstrap_servers), ..Default::default() }
    }

    /// The consumer's own properties: `Ok(false)` for another name.
    fn set_own(&mut self, key: &str, value: &str) -> Result<bool> {
        match key {
            "group.id" => self.group_id = parse_optional(value),
            "fetch.min.bytes" => self.fetch_min_bytes = parse_i32_min(key, value, 0)?,
            "fetch.max.bytes" => self.fetch_max_bytes = parse_i32_min(key, value, 1)?,
            "max.partition.fetch.bytes" => self.max_partition_fetch_bytes = parse_i32_min(key, value, 1)?,
            "fetch.max.wait.ms" | "fetch.wait.max.ms" => self.fetch_max_wait = parse_ms(key, value)?,
            "max.poll.records" => self.max_poll_records = parse_i32_min(key, value, 1)? as usize,
            "auto.offset.reset" => self.auto_offset_reset = value.parse()?,
            "enable.auto.commit" => self.enable_auto_commit = parse_bool(key, value)?,
            "auto.commit.interval.ms" => self.auto_commit_interval = parse_ms(key, value)?,
            "isolation.level" => self.isolation_level = value.parse()?,
            "check.crcs" => self.check_crcs = parse_bool(key, value)?,
            "client.rack" => self.client_rack = parse_optional(value),
            "allow.auto.create.topics" => self.allow_auto_create_topics = parse_bool(key, value)?,
            "default.api.timeout.ms" => self.default_api_timeout = parse_ms(key, value)?,
            "session.timeout.ms" => self.session_timeout = parse_ms(key, value)?,
            "heartbeat.interval.ms" => self.heartbeat_interval = parse_ms(key, value)?,
            "max.poll.interval.ms" => self.max_poll_interval = parse_ms(key, value)?,
            "group.protocol" => self.group_protocol = value.parse()?,
            "group.instance.id" => self.group_instance_id = parse_optional(value),
            "partition.assignment.strategy" => {
                let strategies = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse().map_err(|_| Error::config_value(key, s, "unknown assignor")))
                    .collect::<Result<Vec<AssignmentStrategy>>>()?;
                if strategies.is_empty() {
                    return Err(Error::config_value(key, value, "needs at least one assignor"));
                }
                self.partition_assignment_strategy = strategies;
            }
            "group.remote.assignor" => self.group_remote_assignor = parse_optional(value),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Sets the shared client settings.
    pub fn with_client(mut self, client: ClientConfig) -> ConsumerConfig {
        self.client = client;
        self
    }

    /// Sets `group.id`.
    pub fn with_group_id(mut self, group_id: impl Into<String>) -> ConsumerConfig {
        self.group_id = Some(group_id.into());
        self
    }

    /// Sets `auto.offset.reset`.
    pub fn with_auto_offset_reset(mut self, reset: OffsetReset) -> ConsumerConfig {
        self.auto_offset_reset = reset;
        self
    }

    /// Sets `enable.auto.commit`.
    pub fn with_auto_commit(mut self, enabled: bool) -> ConsumerConfig {
        self.enable_auto_commit = enabled;
        self
    }

    /// Sets `isolation.level`.
    pub fn with_isolation_level(mut self, level: IsolationLevel) -> ConsumerConfig {
        self.isolation_level = level;
        self
    }

    /// Sets `group.protocol`.
    pub fn with_group_protocol(mut self, protocol: GroupProtocol) -> ConsumerConfig {
        self.group_protocol = protocol;
        self
    }

    /// Sets `partition.assignment.strategy`.
    pub fn with_assignment_strategy(
        mut self,
        strategies: impl IntoIterator<Item = AssignmentStrategy>,
    ) -> ConsumerConfig {
        self.partition_assignment_strategy = strategies.into_iter().collect();
        self
    }

    /// Sets `group.instance.id`.
    pub fn with_group_instance_id(mut self, id: impl Into<String>) -> ConsumerConfig {
        self.group_instance_id = Some(id.into());
        self
    }

    /// Sets `fetch.min.bytes`, `fetch.max.bytes` and `fetch.max.wait.ms`.
    pub fn with_fetch(mut self, min_bytes: i32, max_bytes: i32, max_wait: Duration) -> ConsumerConfig {
        self.fetch_min_bytes = min_bytes;
        self.fetch_max_bytes = max_bytes;
        self.fetch_max_wait = max_wait;
        self
    }

    /// Sets `max.poll.records`.
    pub fn with_max_poll_records(mut self, records: usize) -> ConsumerConfig {
        self.max_poll_records = records;
        self
    }

    /// Sets `client.rack`.
    pub fn with_client_rack(mut self, rack: impl Into<String>) -> ConsumerConfig {
        self.client_rack = Some(rack.into());
        self
    }

    /// Checks the configuration: the client settings, sizes and timeouts that fit the protocol.
    pub fn validate(&self) -> Result<()> {
        self.client.validate()?;
        if self.fetch_max_wait.as_millis() > i32::MAX as u128 {
            return Err(Error::config_key("fetch.max.wait.ms", "does not fit in 32 bits"));
        }
        if self.fetch_max_bytes < 1 {
            return Err(Error::config_key("fetch.max.bytes", "must be positive"));
        }
        if self.max_partition_fetch_bytes < 1 {
            return Err(Error::config_key("max.partition.fetch.bytes", "must be positive"));
        }
        if self.max_poll_records == 0 {
            return Err(Error::config_key("max.poll.records", "must be at least 1"));
        }
        if self.enable_auto_commit && self.auto_commit_interval.is_zero() {
            return Err(Error::config_key("auto.commit.interval.ms", "must be positive"));
        }
        if self.partition_assignment_strategy.is_empty() {
            return Err(Error::config_key("partition.assignment.strategy", "needs at least one assignor"));
        }
        // A fetch response holds up to fetch.max.bytes of records plus its framing.
        if self.client.max_response_size < usize::try_from(self.fetch_max_bytes).unwrap_or(0).saturating_add(512) {
            return Err(Error::config_key(
                "receive.message.max.bytes",
                "must be at least fetch.max.bytes + 512 (a fetch response could not be read)",
            ));
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
    fn receive_message_max_bytes_must_hold_a_fetch_response() {
        let mut c = ConsumerConfig::new("k:9092");
        c.set("fetch.max.bytes", "1000000").unwrap();
        c.set("receive.message.max.bytes", "1000511").unwrap();
        let e = c.validate().unwrap_err();
        assert!(e.to_string().contains("receive.message.max.bytes"), "{e}");
        c.set("receive.message.max.bytes", "1000512").unwrap();
        c.validate().unwrap();
    }

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
            c.set(k, v).unwrap();
        }
        assert_eq!(c.group_id.as_deref(), Some("g"));
        assert_eq!(c.fetch_min_bytes, 10);
        assert_eq!(c.max_poll_records, 7);
        assert_eq!(c.auto_offset_reset, OffsetReset::Earliest);
        assert!(!c.enable_auto_commit);
        assert_eq!(c.isolation_level, IsolationLevel::ReadCommitted);
        assert!(!c.check_crcs);
        assert_eq!(c.client_rack.as_deref(), Some("r1"));
        assert_eq!(c.group_protocol, GroupProtocol::Consumer);
        assert_eq!(c.partition_assignment_strategy, vec![AssignmentStrategy::Range, AssignmentStrategy::RoundRobin]);
        assert_eq!(c.partition_assignment_strategy.join(","), "range,roundrobin");
        assert_eq!(c.client.request_timeout, Duration::from_millis(1234));
        // Unknown keys are errors naming the key (a producer property included).
        for k in ["linger.ms", "no.such.property"] {
            let e = c.set(k, "5").unwrap_err();
            assert!(e.to_string().contains(k), "{e}");
        }
        // Java's names for the enums, any case where Java takes any case.
        c.set("isolation.level", "READ_UNCOMMITTED").unwrap();
        assert_eq!(c.isolation_level, IsolationLevel::ReadUncommitted);
        c.set("group.protocol", "Classic").unwrap();
        assert_eq!(c.group_protocol, GroupProtocol::Classic);
        c.set("partition.assignment.strategy", "org.apache.kafka.clients.consumer.CooperativeStickyAssignor").unwrap();
        assert_eq!(c.partition_assignment_strategy, vec![AssignmentStrategy::CooperativeSticky]);
        for (k, v) in [
            ("auto.offset.reset", "sometimes"),
            ("isolation.level", "dirty"),
            ("max.poll.records", "0"),
            ("enable.auto.commit", "yes"),
            ("group.protocol", "x"),
            ("fetch.max.bytes", "-1"),
            ("partition.assignment.strategy", "range,fancy"),
        ] {
            let e = c.set(k, v).unwrap_err();
            let crate::ErrorKind::Config(ce) = e.kind() else { panic!("{e}") };
            assert_eq!(ce.key(), Some(k), "{e}");
        }
        c.validate().unwrap();
    }
}
