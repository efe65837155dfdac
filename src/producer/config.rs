//! Producer configuration: [`ProducerConfig`] with the Java producer's property names and defaults, and the
//! validation the Java client applies when the producer is created. Built like every role's configuration (see
//! [`crate::config`]): defaults < properties file < environment (opt-in) < explicit settings.

use std::sync::Arc;
use std::time::Duration;

use kafkar_protocol::compression::Compression;

use super::partitioner::Partitioner;
use super::record::DeliveryHandler;
use crate::config::{ClientConfig, parse_bool, parse_ms, parse_num, role_config_impl};
use crate::error::{Error, Result};

/// How many acknowledgements the partition leader must have before answering a Produce request (`acks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Acks {
    /// `acks=0`: the broker does not answer; offsets are unknown (-1) and failures after the write go unnoticed.
    None,
    /// `acks=1`: the leader has written the records.
    Leader,
    /// `acks=all` (`-1`): every in-sync replica has the records. The default, and required by idempotence.
    #[default]
    All,
}

impl Acks {
    /// The value of the Produce request's `acks` field: 0, 1 or -1.
    pub fn wire_value(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }

    /// The property value: `0`, `1` or `all`.
    pub const fn name(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

impl std::str::FromStr for Acks {
    type Err = Error;

    /// `0`, `1`, `all` or `-1`, exactly as the Java client accepts them.
    fn from_str(value: &str) -> Result<Acks> {
        match value.trim() {
            "0" => Ok(Acks::None),
            "1" => Ok(Acks::Leader),
            "all" | "-1" => Ok(Acks::All),
            _ => Err(Error::config_value("acks", value, "expected 0, 1, all or -1")),
        }
    }
}

impl std::fmt::Display for Acks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `compression.type`: a codec name as Kafka spells it (`none`, `gzip`, `snappy`, `lz4`, `zstd`).
pub(crate) fn parse_compression(key: &str, value: &str) -> Result<Compression> {
    Compression::from_name(value.trim())
        .ok_or_else(|| Error::config_value(key, value, "expected none, gzip, snappy, lz4 or zstd"))
}

/// Everything a [`Producer`](super::Producer) is configured with. Build it with [`ProducerConfig::new`] and the
/// `with_*` methods or public fields, from property names with [`ProducerConfig::set`] /
/// [`ProducerConfig::from_properties`], from a properties file or the environment (see [`crate::config`]).
/// Setting a field and setting its property are the same.
#[derive(Clone)]
#[non_exhaustive]
pub struct ProducerConfig {
    /// Connection settings shared with the other clients (`bootstrap.servers`, `request.timeout.ms`,
    /// `retry.backoff.ms`, ...).
    pub client: ClientConfig,
    /// `acks` (default all).
    pub acks: Acks,
    /// `linger.ms`: how long a batch waits for more records before it is sent (default 5 ms, Java's default
    /// since 4.0). A batch that lingered out but is not full also waits while its partition has a batch in flight,
    /// and goes with the reply (unlike Java, which sends it at once behind the first).
    pub linger: Duration,
    /// `batch.size`: a partition's batch is closed when the next record would take it past this many bytes
    /// (estimated after compression); a record larger than this gets a batch of its own (default 16384).
    pub batch_size: usize,
    /// `buffer.memory`: the most record bytes held by the producer, queued or in flight (default 32 MiB). A full
    /// buffer makes `send` wait up to `max.block.ms`, and `try_send` fail with `QueueFull`.
    pub buffer_memory: usize,
    /// `max.request.size`: the largest Produce request, and so the largest record (default 1 MiB).
    pub max_request_size: usize,
    /// `compression.type` (default none).
    pub compression: Compression,
    /// `compression.level`: the level for whichever codec is configured; above the per-codec levels (`None`: the
    /// per-codec level, else the codec's default).
    pub compression_level: Option<i32>,
    /// `compression.gzip.level` (KIP-390).
    pub gzip_level: Option<i32>,
    /// `compression.lz4.level` (KIP-390).
    pub lz4_level: Option<i32>,
    /// `compression.zstd.level` (KIP-390).
    pub zstd_level: Option<i32>,
    /// `max.in.flight.requests.per.connection` (default 5; at most 5 with idempotence).
    pub max_in_flight: usize,
    /// `retries`: how many times a failed batch is retried (default `i32::MAX`: bounded by `delivery.timeout.ms`).
    pub retries: i32,
    /// `delivery.timeout.ms`: the longest a record may take from `send` to its final result, retries included.
    /// `None` (the default): 120 s, raised to `linger.ms + request.timeout.ms` if that is more, as Java does for a
    /// value not set; a value set must be at least that sum.
    pub delivery_timeout: Option<Duration>,
    /// `enable.idempotence`: producer id, epoch and sequence numbers so that retries never duplicate or reorder
    /// records. `None` (the default): on unless another setting conflicts (acks other than all, retries 0, more
    /// than 5 requests in flight), in which case it is quietly off, as in Java; `Some(true)`: such a conflict is a
    /// configuration error.
    pub enable_idempotence: Option<bool>,
    /// `max.block.ms`: how long `send` may wait for metadata or for buffer space (default 60 s).
    pub max_block: Duration,
    /// A custom partitioner (`partitioner.class` in Java); `None` uses murmur2 of the key, sticky for keyless records.
    pub partitioner: Option<Arc<dyn Partitioner>>,
    /// The handler of [`send_reported`](super::Producer::send_reported) records' delivery reports (librdkafka's
    /// `dr_msg_cb`); `None`: `send_reported` is refused.
    pub delivery_handler: Option<Arc<dyn DeliveryHandler>>,
    /// `transactional.id`: makes the producer transactional (see [`Producer::init_transactions`]); `None` (the
    /// default) for a plain or idempotent producer. Implies idempotence.
    ///
    /// [`Producer::init_transactions`]: super::Producer::init_transactions
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms`: how long the transaction coordinator lets a transaction stay open before it aborts
    /// it (default 60 s; at most the broker's `transaction.max.timeout.ms`).
    pub transaction_timeout: Duration,
}

/// `delivery.timeout.ms` when not set.
const DEFAULT_DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

impl std::fmt::Debug for ProducerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerConfig")
            .field("client", &self.client)
            .field("acks", &self.acks)
            .field("linger", &self.linger)
            .field("batch_size", &self.batch_size)
            .field("buffer_memory", &self.buffer_memory)
            .field("max_request_size", &self.max_request_size)
            .field("compression", &self.compression)
            .field("compression_level", &self.effective_compression_level())
            .field("max_in_flight", &self.max_in_flight)
            .field("retries", &self.retries)
            .field("delivery_timeout", &self.effective_delivery_timeout())
            .field("enable_idempotence", &self.enable_idempotence)
            .field("max_block", &self.max_block)
            .field("partitioner", &self.partitioner.as_ref().map(|_| "custom"))
            .field("delivery_handler", &self.delivery_handler.as_ref().map(|_| "set"))
            .field("transactional_id", &self.transactional_id)
            .field("transaction_timeout", &self.transaction_timeout)
            .finish()
    }
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            client: ClientConfig::default(),
            acks: Acks::All,
            linger: Duration::from_millis(5),
            batch_size: 16_384,
            buffer_memory: 32 << 20,
            max_request_size: 1 << 20,
            compression: Compression::None,
            compression_level: None,
            gzip_level: None,
            lz4_level: None,
            zstd_level: None,
            max_in_flight: 5,
            retries: i32::MAX,
            delivery_timeout: None,
            enable_idempotence: None,
            max_block: Duration::from_secs(60),
            partitioner: None,
            delivery_handler: None,
            transactional_id: None,
            transaction_timeout: Duration::from_secs(60),
        }
    }
}

role_config_impl!(ProducerConfig, "producer");

impl ProducerConfig {
    /// A configuration with `bootstrap.servers` set and every other setting at its default.
    pub fn new(bootstrap_servers: &str) -> ProducerConfig {
        ProducerConfig { client: ClientConfig::new(bootstrap_servers), ..Default::default() }
    }

    /// The producer's own properties (Java names, some librdkafka aliases): `Ok(false)` for another name.
    fn set_own(&mut self, key: &str, value: &str) -> Result<bool> {
        match key {
            "acks" | "request.required.acks" => {
                self.acks = value.parse().map_err(|_| Error::config_value(key, value, "expected 0, 1, all or -1"))?
            }
            "linger.ms" | "queue.buffering.max.ms" => self.linger = parse_ms(key, value)?,
            "batch.size" => self.batch_size = parse_num(key, value)?,
            "buffer.memory" => self.buffer_memory = parse_num(key, value)?,
            "max.request.size" | "message.max.bytes" => self.max_request_size = parse_num(key, value)?,
            "compression.type" | "compression.codec" => self.compression = parse_compression(key, value)?,
            "compression.level" => self.compression_level = Some(parse_num(key, value)?),
            "compression.gzip.level" => self.gzip_level = Some(parse_num(key, value)?),
            "compression.lz4.level" => self.lz4_level = Some(parse_num(key, value)?),
            "compression.zstd.level" => self.zstd_level = Some(parse_num(key, value)?),
            "max.in.flight.requests.per.connection" | "max.in.flight" => self.max_in_flight = parse_num(key, value)?,
            "retries" | "message.send.max.retries" => self.retries = parse_num(key, value)?,
            "delivery.timeout.ms" | "message.timeout.ms" => self.delivery_timeout = Some(parse_ms(key, value)?),
            "enable.idempotence" => self.enable_idempotence = Some(parse_bool(key, value)?),
            "max.block.ms" => self.max_block = parse_ms(key, value)?,
            "transactional.id" => {
                let v = value.trim();
                self.transactional_id = (!v.is_empty()).then(|| v.to_owned());
            }
            "transaction.timeout.ms" => self.transaction_timeout = parse_ms(key, value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Sets the shared client settings.
    pub fn with_client(mut self, client: ClientConfig) -> ProducerConfig {
        self.client = client;
        self
    }

    /// Sets `acks`.
    pub fn with_acks(mut self, acks: Acks) -> ProducerConfig {
        self.acks = acks;
        self
    }

    /// Sets `linger.ms`.
    pub fn with_linger(mut self, linger: Duration) -> ProducerConfig {
        self.linger = linger;
        self
    }

    /// Sets `batch.size`.
    pub fn with_batch_size(mut self, bytes: usize) -> ProducerConfig {
        self.batch_size = bytes;
        self
    }

    /// Sets `buffer.memory`.
    pub fn with_buffer_memory(mut self, bytes: usize) -> ProducerConfig {
        self.buffer_memory = bytes;
        self
    }

    /// Sets `max.request.size`.
    pub fn with_max_request_size(mut self, bytes: usize) -> ProducerConfig {
        self.max_request_size = bytes;
        self
    }

    /// Sets `compression.type` and (`Some`) `compression.level`.
    pub fn with_compression(mut self, codec: Compression, level: Option<i32>) -> ProducerConfig {
        self.compression = codec;
        self.compression_level = level;
        self
    }

    /// Sets `max.in.flight.requests.per.connection`.
    pub fn with_max_in_flight(mut self, requests: usize) -> ProducerConfig {
        self.max_in_flight = requests;
        self
    }

    /// Sets `retries`.
    pub fn with_retries(mut self, retries: i32) -> ProducerConfig {
        self.retries = retries;
        self
    }

    /// Sets `delivery.timeout.ms`.
    pub fn with_delivery_timeout(mut self, timeout: Duration) -> ProducerConfig {
        self.delivery_timeout = Some(timeout);
        self
    }

    /// Sets `enable.idempotence` (so that conflicting settings are reported by [`ProducerConfig::validate`]
    /// instead of quietly turning it off).
    pub fn with_idempotence(mut self, enabled: bool) -> ProducerConfig {
        self.enable_idempotence = Some(enabled);
        self
    }

    /// Sets `max.block.ms`.
    pub fn with_max_block(mut self, max_block: Duration) -> ProducerConfig {
        self.max_block = max_block;
        self
    }

    /// Sets a custom partitioner.
    pub fn with_partitioner(mut self, partitioner: Arc<dyn Partitioner>) -> ProducerConfig {
        self.partitioner = Some(partitioner);
        self
    }

    /// Sets the handler of delivery reports for records sent with
    /// [`send_reported`](super::Producer::send_reported): any `Fn(u64, Result<RecordMetadata>)`.
    pub fn with_delivery_handler(mut self, handler: impl DeliveryHandler) -> ProducerConfig {
        self.delivery_handler = Some(Arc::new(handler));
        self
    }

    /// The level used for the configured codec: `compression.level`, else `compression.<codec>.level`.
    pub fn effective_compression_level(&self) -> Option<i32> {
        self.compression_level.or(match self.compression {
            Compression::Gzip => self.gzip_level,
            Compression::Lz4 => self.lz4_level,
            Compression::Zstd => self.zstd_level,
            _ => None,
        })
    }

    /// Whether the producer will be idempotent: `enable.idempotence`, unless it was left unset and another
    /// setting conflicts with it (acks other than all, retries 0, more than 5 requests in flight), in which case
    /// Java turns it off.
    pub fn idempotent(&self) -> bool {
        match self.enable_idempotence {
            Some(enabled) => enabled,
            // A transactional producer is idempotent unless told otherwise (then validate refuses it).
            None if self.transactional_id.is_some() => true,
            None => self.acks == Acks::All && self.retries > 0 && self.max_in_flight <= 5,
        }
    }

    /// The `delivery.timeout.ms` in force: Java raises a default that is below `linger.ms + request.timeout.ms` to
    /// that sum.
    pub fn effective_delivery_timeout(&self) -> Duration {
        self.delivery_timeout.unwrap_or_else(|| DEFAULT_DELIVERY_TIMEOUT.max(self.linger + self.client.request_timeout))
    }

    /// Checks the configuration the way the Java producer does at construction.
    pub fn validate(&self) -> Result<()> {
        self.client.validate()?;
        if self.buffer_memory == 0 {
            return Err(Error::config_key("buffer.memory", "must be positive"));
        }
        if self.max_request_size == 0 || self.max_request_size > i32::MAX as usize {
            return Err(Error::config_key("max.request.size", "must be between 1 and 2147483647"));
        }
        if self.max_in_flight == 0 {
            return Err(Error::config_key("max.in.flight.requests.per.connection", "must be at least 1"));
        }
        if self.retries < 0 {
            return Err(Error::config_key("retries", "must not be negative"));
        }
        if !self.compression.can_compress() {
            return Err(Error::config_value(
                "compression.type",
                self.compression.name(),
                "this build cannot write it (kafkar's `zstd` feature, the zstd C library, is off; zstd is still read)",
            ));
        }
        if let Some(level) = self.effective_compression_level() {
            self.compression.resolve_level(Some(level)).map_err(|_| {
                Error::config_value(
                    "compression.level",
                    &level.to_string(),
                    format!("not a valid level for {}", self.compression),
                )
            })?;
        }
        if let Some(t) = self.delivery_timeout {
            if t < self.linger + self.client.request_timeout {
                return Err(Error::config_key(
                    "delivery.timeout.ms",
                    "must be at least linger.ms + request.timeout.ms",
                ));
            }
        }
        if self.transactional_id.is_some() {
            if self.enable_idempotence == Some(false) {
                return Err(Error::config("transactional.id needs enable.idempotence (it must not be false)"));
            }
            if self.transaction_timeout.is_zero() || self.transaction_timeout.as_millis() > i32::MAX as u128 {
                return Err(Error::config("transaction.timeout.ms must be between 1 and 2147483647"));
            }
        }
        if self.enable_idempotence == Some(true) || (self.transactional_id.is_some() && self.idempotent()) {
            if self.acks != Acks::All {
                return Err(Error::config_key("acks", "must be all (-1) when enable.idempotence is true"));
            }
            if self.max_in_flight > 5 {
                return Err(Error::config_key(
                    "max.in.flight.requests.per.connection",
                    "must be at most 5 when enable.idempotence is true",
                ));
            }
            if self.retries == 0 {
                return Err(Error::config_key("retries", "must be above 0 when enable.idempotence is true"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_names_and_defaults() {
        let c = ProducerConfig::from_properties([
            ("bootstrap.servers", "a:9092"),
            ("acks", "1"),
            ("linger.ms", "20"),
            ("batch.size", "65536"),
            ("compression.type", "zstd"),
            ("compression.zstd.level", "7"),
            ("request.timeout.ms", "5000"),
        ])
        .unwrap();
        assert_eq!(c.acks, Acks::Leader);
        assert_eq!(c.linger, Duration::from_millis(20));
        assert_eq!(c.batch_size, 65536);
        assert_eq!(c.compression, Compression::Zstd);
        assert_eq!(c.effective_compression_level(), Some(7));
        assert_eq!(c.client.request_timeout, Duration::from_millis(5000));
        // acks=1 with idempotence left at its default: idempotence is quietly off, as in Java.
        assert!(!c.idempotent());
        c.validate().unwrap();

        let d = ProducerConfig::new("a:1");
        assert_eq!(d.acks, Acks::All);
        assert!(d.idempotent());
        assert_eq!(d.max_in_flight, 5);
        assert_eq!(d.retries, i32::MAX);
        assert_eq!(d.effective_delivery_timeout(), Duration::from_secs(120));
        assert_eq!(d.max_block, Duration::from_secs(60));
        assert_eq!(d.buffer_memory, 32 << 20);
        d.validate().unwrap();
    }

    #[test]
    fn unknown_keys_and_bad_values_are_config_errors() {
        let mut c = ProducerConfig::new("a:1");
        for (k, v) in [("no.such.key", "1"), ("acks", "2"), ("linger.ms", "x"), ("compression.type", "brotli")] {
            let e = c.set(k, v).unwrap_err();
            assert!(matches!(e.kind(), crate::ErrorKind::Config(_)), "{k}: {e}");
            assert!(e.to_string().contains(k), "the error names the property: {e}");
        }
        let e = ProducerConfig::from_properties([("bootstrap.servers", "")]).unwrap().validate().unwrap_err();
        assert!(matches!(e.kind(), crate::ErrorKind::Config(_)));
    }

    #[test]
    fn explicit_idempotence_conflicts_are_errors() {
        let c = ProducerConfig::from_properties([
            ("bootstrap.servers", "a:1"),
            ("enable.idempotence", "true"),
            ("acks", "1"),
        ])
        .unwrap();
        assert!(c.validate().is_err());
        let c = ProducerConfig::from_properties([
            ("bootstrap.servers", "a:1"),
            ("enable.idempotence", "true"),
            ("max.in.flight.requests.per.connection", "6"),
        ])
        .unwrap();
        assert!(c.validate().is_err());
        // Not explicit: idempotence is turned off instead.
        let c = ProducerConfig::from_properties([
            ("bootstrap.servers", "a:1"),
            ("max.in.flight.requests.per.connection", "6"),
        ])
        .unwrap();
        c.validate().unwrap();
        assert!(!c.idempotent());
        // A level outside the codec's range.
        let c = ProducerConfig::from_properties([
            ("bootstrap.servers", "a:1"),
            ("compression.type", "gzip"),
            ("compression.level", "42"),
        ])
        .unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn delivery_timeout_floor() {
        let mut c = ProducerConfig::new("a:1");
        c.set("request.timeout.ms", "200000").unwrap();
        assert_eq!(c.effective_delivery_timeout(), Duration::from_millis(200_005));
        c.set("delivery.timeout.ms", "1000").unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn fields_and_properties_are_the_same_setting() {
        let mut by_name = ProducerConfig::new("a:1");
        by_name.set("enable.idempotence", "true").unwrap().set("acks", "1").unwrap();
        let by_field = ProducerConfig::new("a:1").with_idempotence(true).with_acks(Acks::Leader);
        let mut by_pub_field = ProducerConfig::new("a:1");
        by_pub_field.enable_idempotence = Some(true);
        by_pub_field.acks = Acks::Leader;
        for c in [&by_name, &by_field, &by_pub_field] {
            let e = c.validate().unwrap_err();
            assert!(e.to_string().contains("acks"), "{e}");
        }
        let mut c = ProducerConfig::new("a:1");
        c.set("compression.type", "gzip").unwrap().set("compression.gzip.level", "4").unwrap();
        assert_eq!(c.gzip_level, Some(4));
        assert_eq!(c.effective_compression_level(), Some(4));
        assert_eq!("all".parse::<Acks>().unwrap(), Acks::All);
        assert_eq!("-1".parse::<Acks>().unwrap(), Acks::All);
        assert!("ALL".parse::<Acks>().is_err(), "Java takes acks exactly as spelled");
        assert_eq!(Acks::Leader.to_string(), "1");
    }
}
