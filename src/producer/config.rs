//! Producer configuration: [`ProducerConfig`] with the Java producer's property names and defaults, and the
//! validation the Java client applies when the producer is created.

use std::sync::Arc;
use std::time::Duration;

use kafkar_protocol::compression::Compression;

use super::partitioner::Partitioner;
use crate::config::{ClientConfig, parse_ms};
use crate::error::{Error, Result};

/// How many acknowledgements the partition leader must have before answering a Produce request (`acks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
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

    fn parse(value: &str) -> Result<Acks> {
        match value.trim() {
            "0" => Ok(Acks::None),
            "1" => Ok(Acks::Leader),
            "all" | "-1" => Ok(Acks::All),
            other => Err(Error::config(format!("acks: expected 0, 1, all or -1, got {other:?}"))),
        }
    }
}

/// Everything a [`Producer`](super::Producer) is configured with. Build it with [`ProducerConfig::new`] and the
/// public fields, or from Java property names with [`ProducerConfig::set`] / [`ProducerConfig::from_iter`].
#[derive(Clone)]
pub struct ProducerConfig {
    /// Connection settings shared with the other clients (`bootstrap.servers`, `request.timeout.ms`,
    /// `retry.backoff.ms`, ...).
    pub client: ClientConfig,
    /// `acks` (default all).
    pub acks: Acks,
    /// `linger.ms`: how long a batch waits for more records before it is sent (default 5 ms, Java's default
    /// since 4.0).
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
    /// The compression level: `compression.level`, or `compression.<codec>.level` for the configured codec
    /// (`None`: the codec's default).
    pub compression_level: Option<i32>,
    /// `max.in.flight.requests.per.connection` (default 5; at most 5 with idempotence).
    pub max_in_flight: usize,
    /// `retries`: how many times a failed batch is retried (default `i32::MAX`: bounded by `delivery.timeout.ms`).
    pub retries: i32,
    /// `delivery.timeout.ms`: the longest a record may take from `send` to its final result, retries included
    /// (default 120 s).
    pub delivery_timeout: Duration,
    /// `enable.idempotence` (default true): producer id, epoch and sequence numbers so that retries never duplicate
    /// or reorder records.
    pub enable_idempotence: bool,
    /// `max.block.ms`: how long `send` may wait for metadata or for buffer space (default 60 s).
    pub max_block: Duration,
    /// A custom partitioner (`partitioner.class` in Java); `None` uses murmur2 of the key, sticky for keyless records.
    pub partitioner: Option<Arc<dyn Partitioner>>,
    /// `transactional.id`: makes the producer transactional (see [`Producer::init_transactions`]); `None` (the
    /// default) for a plain or idempotent producer. Implies idempotence.
    ///
    /// [`Producer::init_transactions`]: super::Producer::init_transactions
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms`: how long the transaction coordinator lets a transaction stay open before it aborts
    /// it (default 60 s; at most the broker's `transaction.max.timeout.ms`).
    pub transaction_timeout: Duration,
    explicit: Explicit,
    codec_levels: [Option<i32>; 5],
}

/// Which settings the user chose explicitly: Java validates conflicting settings only then, and otherwise quietly
/// turns idempotence off.
#[derive(Clone, Copy, Debug, Default)]
struct Explicit {
    idempotence: bool,
    delivery_timeout: bool,
}

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
            .field("delivery_timeout", &self.delivery_timeout)
            .field("enable_idempotence", &self.enable_idempotence)
            .field("max_block", &self.max_block)
            .field("partitioner", &self.partitioner.as_ref().map(|_| "custom"))
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
            max_in_flight: 5,
            retries: i32::MAX,
            delivery_timeout: Duration::from_secs(120),
            enable_idempotence: true,
            max_block: Duration::from_secs(60),
            partitioner: None,
            transactional_id: None,
            transaction_timeout: Duration::from_secs(60),
            explicit: Explicit::default(),
            codec_levels: [None; 5],
        }
    }
}

fn parse_num<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
    value.trim().parse::<T>().map_err(|_| Error::config(format!("{key}: expected a number, got {value:?}")))
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::config(format!("{key}: expected true or false, got {value:?}"))),
    }
}

impl ProducerConfig {
    /// A configuration with `bootstrap.servers` set and every other setting at its default.
    pub fn new(bootstrap_servers: &str) -> ProducerConfig {
        ProducerConfig { client: ClientConfig::new(bootstrap_servers), ..Default::default() }
    }

    /// Sets a property by its Java producer name (or a shared client name such as `bootstrap.servers`). An unknown
    /// name or a bad value is a [`Config`](crate::ErrorKind::Config) error.
    pub fn set(&mut self, key: &str, value: &str) -> Result<&mut ProducerConfig> {
        if self.client.set(key, value)? {
            return Ok(self);
        }
        match key {
            "acks" | "request.required.acks" => self.acks = Acks::parse(value)?,
            "linger.ms" | "queue.buffering.max.ms" => self.linger = parse_ms(key, value)?,
            "batch.size" => self.batch_size = parse_num(key, value)?,
            "buffer.memory" => self.buffer_memory = parse_num(key, value)?,
            "max.request.size" | "message.max.bytes" => self.max_request_size = parse_num(key, value)?,
            "compression.type" | "compression.codec" => {
                self.compression = Compression::from_name(value.trim())
                    .ok_or_else(|| Error::config(format!("{key}: unknown codec {value:?}")))?
            }
            "compression.level" => self.compression_level = Some(parse_num(key, value)?),
            "compression.gzip.level" => {
                self.codec_levels[Compression::Gzip.code() as usize] = Some(parse_num(key, value)?)
            }
            "compression.lz4.level" => {
                self.codec_levels[Compression::Lz4.code() as usize] = Some(parse_num(key, value)?)
            }
            "compression.zstd.level" => {
                self.codec_levels[Compression::Zstd.code() as usize] = Some(parse_num(key, value)?)
            }
            "max.in.flight.requests.per.connection" | "max.in.flight" => self.max_in_flight = parse_num(key, value)?,
            "retries" | "message.send.max.retries" => self.retries = parse_num(key, value)?,
            "delivery.timeout.ms" | "message.timeout.ms" => {
                self.delivery_timeout = parse_ms(key, value)?;
                self.explicit.delivery_timeout = true;
            }
            "enable.idempotence" => {
                self.enable_idempotence = parse_bool(key, value)?;
                self.explicit.idempotence = true;
            }
            "max.block.ms" => self.max_block = parse_ms(key, value)?,
            "transactional.id" => {
                let v = value.trim();
                self.transactional_id = (!v.is_empty()).then(|| v.to_owned());
            }
            "transaction.timeout.ms" => self.transaction_timeout = parse_ms(key, value)?,
            _ => return Err(Error::config(format!("unknown producer property {key:?}"))),
        }
        Ok(self)
    }

    /// A configuration from `(name, value)` pairs of Java property names; see [`ProducerConfig::set`]. (Not
    /// `FromIterator`: building can fail.)
    #[allow(clippy::should_implement_trait)]
    pub fn from_iter<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<ProducerConfig> {
        let mut c = ProducerConfig::default();
        for (k, v) in pairs {
            c.set(k.as_ref(), v.as_ref())?;
        }
        Ok(c)
    }

    /// Turns idempotence on or off as if `enable.idempotence` were set explicitly (so that conflicting settings are
    /// reported by [`ProducerConfig::validate`] instead of quietly turning it off).
    pub fn with_idempotence(mut self, enabled: bool) -> ProducerConfig {
        self.enable_idempotence = enabled;
        self.explicit.idempotence = true;
        self
    }

    /// The level used for the configured codec: `compression.level`, else `compression.<codec>.level`.
    pub fn effective_compression_level(&self) -> Option<i32> {
        self.compression_level.or(self.codec_levels[self.compression.code() as usize])
    }

    /// Whether the producer will be idempotent: `enable.idempotence`, unless it was left at its default and another
    /// setting conflicts with it (acks other than all, retries 0, more than 5 requests in flight), in which case
    /// Java turns it off.
    pub fn idempotent(&self) -> bool {
        if !self.enable_idempotence {
            return false;
        }
        if self.explicit.idempotence || self.transactional_id.is_some() {
            return true;
        }
        self.acks == Acks::All && self.retries > 0 && self.max_in_flight <= 5
    }

    /// The `delivery.timeout.ms` in force: Java raises a default that is below `linger.ms + request.timeout.ms` to
    /// that sum.
    pub fn effective_delivery_timeout(&self) -> Duration {
        let floor = self.linger + self.client.request_timeout;
        if !self.explicit.delivery_timeout && self.delivery_timeout < floor { floor } else { self.delivery_timeout }
    }

    /// Checks the configuration the way the Java producer does at construction.
    pub fn validate(&self) -> Result<()> {
        self.client.validate()?;
        if self.buffer_memory == 0 {
            return Err(Error::config("buffer.memory must be positive"));
        }
        if self.max_request_size == 0 || self.max_request_size > i32::MAX as usize {
            return Err(Error::config("max.request.size must be between 1 and 2147483647"));
        }
        if self.max_in_flight == 0 {
            return Err(Error::config("max.in.flight.requests.per.connection must be at least 1"));
        }
        if self.retries < 0 {
            return Err(Error::config("retries must not be negative"));
        }
        self.compression.resolve_level(self.effective_compression_level()).map_err(|_| {
            Error::config(format!(
                "compression level {:?} is not valid for {}",
                self.effective_compression_level(),
                self.compression
            ))
        })?;
        if self.explicit.delivery_timeout && self.delivery_timeout < self.linger + self.client.request_timeout {
            return Err(Error::config(
                "delivery.timeout.ms must be at least linger.ms + request.timeout.ms".to_string(),
            ));
        }
        if self.transactional_id.is_some() {
            if !self.enable_idempotence {
                return Err(Error::config("transactional.id needs enable.idempotence (it must not be false)"));
            }
            if self.transaction_timeout.is_zero() || self.transaction_timeout.as_millis() > i32::MAX as u128 {
                return Err(Error::config("transaction.timeout.ms must be between 1 and 2147483647"));
            }
        }
        if self.enable_idempotence && (self.explicit.idempotence || self.transactional_id.is_some()) {
            if self.acks != Acks::All {
                return Err(Error::config("acks must be all (-1) when enable.idempotence is true"));
            }
            if self.max_in_flight > 5 {
                return Err(Error::config(
                    "max.in.flight.requests.per.connection must be at most 5 when enable.idempotence is true",
                ));
            }
            if self.retries == 0 {
                return Err(Error::config("retries must be above 0 when enable.idempotence is true"));
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
        let c = ProducerConfig::from_iter([
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
        assert_eq!(d.delivery_timeout, Duration::from_secs(120));
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
        }
        let e = ProducerConfig::from_iter([("bootstrap.servers", "")]).unwrap().validate().unwrap_err();
        assert!(matches!(e.kind(), crate::ErrorKind::Config(_)));
    }

    #[test]
    fn explicit_idempotence_conflicts_are_errors() {
        let c =
            ProducerConfig::from_iter([("bootstrap.servers", "a:1"), ("enable.idempotence", "true"), ("acks", "1")])
                .unwrap();
        assert!(c.validate().is_err());
        let c = ProducerConfig::from_iter([
            ("bootstrap.servers", "a:1"),
            ("enable.idempotence", "true"),
            ("max.in.flight.requests.per.connection", "6"),
        ])
        .unwrap();
        assert!(c.validate().is_err());
        // Not explicit: idempotence is turned off instead.
        let c =
            ProducerConfig::from_iter([("bootstrap.servers", "a:1"), ("max.in.flight.requests.per.connection", "6")])
                .unwrap();
        c.validate().unwrap();
        assert!(!c.idempotent());
        // A level outside the codec's range.
        let c = ProducerConfig::from_iter([
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
}
