//! The client's public error: a [`ErrorKind`] saying what went wrong, whether retrying can help, and context
//! (API, broker, topic, partition) saying where.

use std::fmt;
use std::sync::Arc;

use kafkar_protocol::{ApiKey, DecodeError, EncodeError, ErrorCode};

/// What went wrong.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A socket error (connect, read, write).
    Io(Arc<std::io::Error>),
    /// The connection closed (by the broker, or after an earlier failure on it); carries the cause.
    Disconnected(Arc<Error>),
    /// A request got no reply within `request.timeout.ms`, or a connect did not finish in time.
    Timeout,
    /// The broker's bytes could not be decoded.
    Decode(DecodeError),
    /// A request could not be encoded (a codec or usage bug: the value does not fit the version).
    Encode(EncodeError),
    /// The broker answered with an error code.
    Broker(ErrorCode),
    /// The broker does not support any version of an API this client implements.
    UnsupportedVersion {
        /// The API.
        api: ApiKey,
        /// The broker's range, if it lists the API at all.
        broker: Option<(i16, i16)>,
    },
    /// A reply frame broke the protocol (wrong correlation id, oversized frame).
    Protocol(String),
    /// Configuration the client cannot use (unknown property, bad value, conflicting settings); says which
    /// property and value.
    Config(ConfigError),
    /// A record larger than `max.request.size` or the batch limits.
    RecordTooLarge {
        /// The record's encoded size.
        size: usize,
        /// The limit it exceeds.
        limit: usize,
    },
    /// `try_send` found `buffer.memory` full, or `send` waited `max.block.ms` for it in vain.
    QueueFull,
    /// A non-blocking call would have had to wait (e.g. `try_send` for a topic whose metadata is not known yet).
    WouldBlock(String),
    /// The client (or producer/consumer) was closed.
    Closed,
    /// The user asked for something invalid (an invalid topic name, a partition that does not exist).
    InvalidArgument(String),
    /// A consumer has no position for a partition: nothing committed and `auto.offset.reset` is `none` (Java's
    /// `NoOffsetForPartitionException`). `seek` the partition to go on.
    NoOffset,
    /// A consumer's fetch position is out of range and `auto.offset.reset` is `none` (Java's
    /// `OffsetOutOfRangeException`). `seek` the partition to go on.
    OffsetOutOfRange {
        /// The position that is out of range.
        offset: i64,
    },
    /// A consumer found the log truncated below its position after a leader change, and `auto.offset.reset` is
    /// `none` (Java's `LogTruncationException`). `seek` the partition to go on.
    LogTruncation {
        /// The consumer's position.
        offset: i64,
        /// The first offset known to diverge, if the leader knows it.
        divergent_offset: Option<i64>,
    },
    /// The ongoing transaction failed (a batch or an offset commit was refused, or the coordinator answered
    /// `TRANSACTION_ABORTABLE`): call `abort_transaction` and go on with a new transaction. Carries the cause.
    TransactionAbortable(Arc<Error>),
    /// The transactional producer cannot go on (fenced by a newer instance with the same `transactional.id`, not
    /// authorized, or an unexpected broker answer): close it. Carries the cause.
    TransactionFatal(Arc<Error>),
    /// A transactional call made in a state that does not allow it (send outside a transaction, begin twice,
    /// commit before init): an application bug; the producer's state is unchanged.
    TransactionState(String),
    /// SASL authentication failed: the broker refused the credentials, does not enable the mechanism, or the
    /// exchange broke off. Not retriable: the same credentials fail again.
    Authentication {
        /// The SASL mechanism (`PLAIN`, `SCRAM-SHA-512`, ...).
        mechanism: String,
        /// What went wrong, with the broker's message when it sent one (never a credential).
        message: String,
    },
    /// TLS could not be set up or the handshake failed (an untrusted certificate, a certificate for another
    /// host, an unreadable key). Says which setting or check failed; not retriable.
    Tls(String),
}

/// What is wrong with a configuration: the property (when one is to blame), the value given, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    key: Option<String>,
    value: Option<String>,
    reason: String,
    origin: Option<String>,
}

impl ConfigError {
    /// An error about the configuration as a whole (no single property to blame).
    pub fn new(reason: impl Into<String>) -> ConfigError {
        ConfigError { key: None, value: None, reason: reason.into(), origin: None }
    }

    /// An error about property `key` (an unknown name, or settings that conflict with it).
    pub fn for_key(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError { key: Some(key.into()), value: None, reason: reason.into(), origin: None }
    }

    /// An error about the value `value` given to property `key`.
    pub fn for_value(key: impl Into<String>, value: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError { key: Some(key.into()), value: Some(value.into()), reason: reason.into(), origin: None }
    }

    /// The property to blame, by its Java name (`linger.ms`), if one is.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The value given to [`key`](Self::key), if the value is to blame.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// Why it cannot be used.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Where the setting came from, when not from an explicit setting: `path:line` of a properties file, or
    /// `environment variable NAME`.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(o) = &self.origin {
            write!(f, "{o}: ")?;
        }
        match (&self.key, &self.value) {
            (Some(k), Some(v)) => write!(f, "{k} = {v:?}: {}", self.reason),
            (Some(k), None) => write!(f, "{k}: {}", self.reason),
            _ => f.write_str(&self.reason),
        }
    }
}

/// Where an error happened.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ErrorContext {
    /// The API of the request, if any.
    pub api: Option<ApiKey>,
    /// The broker address or node id.
    pub broker: Option<String>,
    /// The topic.
    pub topic: Option<String>,
    /// The partition.
    pub partition: Option<i32>,
    /// The broker's error message, if it sent one.
    pub message: Option<String>,
}

/// The error type of every fallible kafkar client operation.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    context: Box<ErrorContext>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with no context.
    pub fn new(kind: ErrorKind) -> Error {
        Error { kind, context: Box::default() }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Where it happened.
    pub fn context(&self) -> &ErrorContext {
        &self.context
    }

    /// The broker's error code, if the broker answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match &self.kind {
            ErrorKind::Broker(c) => Some(*c),
            ErrorKind::Disconnected(e) | ErrorKind::TransactionAbortable(e) | ErrorKind::TransactionFatal(e) => {
                e.code()
            }
            _ => None,
        }
    }

    /// Whether retrying the same operation may succeed without anything else changing.
    ///
    /// Retriable: [`Io`](ErrorKind::Io), [`Timeout`](ErrorKind::Timeout), [`QueueFull`](ErrorKind::QueueFull)
    /// (buffer memory frees as batches complete), [`WouldBlock`](ErrorKind::WouldBlock) (metadata is being
    /// fetched), [`Disconnected`](ErrorKind::Disconnected) unless the client closed the connection itself, and
    /// [`Broker`](ErrorKind::Broker) codes Kafka marks retriable. Not retriable: [`Closed`](ErrorKind::Closed) (the
    /// client was closed on purpose; it stays closed), configuration and usage errors, malformed replies and
    /// protocol violations, unsupported versions, oversized records, and the consumer's position errors
    /// ([`NoOffset`](ErrorKind::NoOffset), [`OffsetOutOfRange`](ErrorKind::OffsetOutOfRange),
    /// [`LogTruncation`](ErrorKind::LogTruncation)), which need a `seek` first.
    pub fn is_retriable(&self) -> bool {
        match &self.kind {
            ErrorKind::Io(_) | ErrorKind::Timeout | ErrorKind::QueueFull | ErrorKind::WouldBlock(_) => true,
            ErrorKind::Disconnected(cause) => !matches!(cause.kind(), ErrorKind::Closed),
            ErrorKind::Broker(c) => c.is_retriable(),
            ErrorKind::Decode(_)
            | ErrorKind::Encode(_)
            | ErrorKind::UnsupportedVersion { .. }
            | ErrorKind::Protocol(_)
            | ErrorKind::Config(_)
            | ErrorKind::RecordTooLarge { .. }
            | ErrorKind::Closed
            | ErrorKind::InvalidArgument(_)
            | ErrorKind::NoOffset
            | ErrorKind::OffsetOutOfRange { .. }
            | ErrorKind::LogTruncation { .. }
            | ErrorKind::TransactionAbortable(_)
            | ErrorKind::TransactionFatal(_)
            | ErrorKind::TransactionState(_)
            | ErrorKind::Authentication { .. }
            | ErrorKind::Tls(_) => false,
        }
    }

    /// Adds the API to the context.
    pub fn with_api(mut self, api: ApiKey) -> Error {
        self.context.api = Some(api);
        self
    }

    /// Adds the broker to the context.
    pub fn with_broker(mut self, broker: impl fmt::Display) -> Error {
        self.context.broker = Some(broker.to_string());
        self
    }

    /// Adds a topic and partition to the context.
    pub fn with_partition(mut self, topic: &str, partition: i32) -> Error {
        self.context.topic = Some(topic.to_owned());
        self.context.partition = Some(partition);
        self
    }

    /// Adds a topic to the context.
    pub fn with_topic(mut self, topic: &str) -> Error {
        self.context.topic = Some(topic.to_owned());
        self
    }

    /// Adds the broker's error message to the context.
    pub fn with_message(mut self, message: Option<String>) -> Error {
        self.context.message = message;
        self
    }

    pub(crate) fn config(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Config(ConfigError::new(msg)))
    }

    /// A configuration error blaming `value` given to property `key`.
    pub(crate) fn config_value(key: &str, value: &str, reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::Config(ConfigError::for_value(key, value, reason)))
    }

    /// Records where a configuration error's setting came from (a file line, an environment variable).
    pub(crate) fn with_config_origin(mut self, origin: impl FnOnce() -> String) -> Error {
        if let ErrorKind::Config(c) = &mut self.kind {
            c.origin = Some(origin());
        }
        self
    }

    /// A configuration error blaming property `key`.
    pub(crate) fn config_key(key: &str, reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::Config(ConfigError::for_key(key, reason)))
    }

    pub(crate) fn protocol(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Protocol(msg.into()))
    }

    pub(crate) fn broker(code: ErrorCode) -> Error {
        Error::new(ErrorKind::Broker(code))
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument(msg.into()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Io(e) => write!(f, "I/O error: {e}")?,
            ErrorKind::Disconnected(e) => write!(f, "connection closed: {e}")?,
            ErrorKind::Timeout => f.write_str("timed out")?,
            ErrorKind::Decode(e) => write!(f, "malformed reply: {e}")?,
            ErrorKind::Encode(e) => write!(f, "cannot encode request: {e}")?,
            ErrorKind::Broker(c) => write!(f, "broker error {c}")?,
            ErrorKind::UnsupportedVersion { api, broker: Some((lo, hi)) } => {
                write!(f, "broker supports {api} versions {lo}-{hi}, none of which this client implements")?
            }
            ErrorKind::UnsupportedVersion { api, broker: None } => write!(f, "broker does not support {api}")?,
            ErrorKind::Protocol(m) => write!(f, "protocol violation: {m}")?,
            ErrorKind::Config(m) => write!(f, "invalid configuration: {m}")?,
            ErrorKind::RecordTooLarge { size, limit } => {
                write!(f, "record of {size} bytes is larger than the limit of {limit} bytes")?
            }
            ErrorKind::QueueFull => f.write_str("producer buffer is full (buffer.memory)")?,
            ErrorKind::WouldBlock(m) => write!(f, "would block: {m}")?,
            ErrorKind::Closed => f.write_str("client is closed")?,
            ErrorKind::InvalidArgument(m) => write!(f, "invalid argument: {m}")?,
            ErrorKind::NoOffset => f.write_str("no committed offset and auto.offset.reset is none")?,
            ErrorKind::OffsetOutOfRange { offset } => {
                write!(f, "fetch position {offset} is out of range and auto.offset.reset is none")?
            }
            ErrorKind::LogTruncation { offset, divergent_offset: Some(d) } => {
                write!(f, "log truncated below position {offset}: diverges from offset {d}")?
            }
            ErrorKind::LogTruncation { offset, divergent_offset: None } => {
                write!(f, "log truncated below position {offset}")?
            }
            ErrorKind::TransactionAbortable(e) => write!(f, "transaction must be aborted: {e}")?,
            ErrorKind::TransactionFatal(e) => write!(f, "transactional producer failed for good: {e}")?,
            ErrorKind::TransactionState(m) => write!(f, "invalid transaction state: {m}")?,
            ErrorKind::Authentication { mechanism, message } => {
                write!(f, "SASL {mechanism} authentication failed: {message}")?
            }
            ErrorKind::Tls(m) => write!(f, "TLS: {m}")?,
        }
        let c = &self.context;
        if let Some(api) = c.api {
            write!(f, " [api {api}]")?;
        }
        if let Some(b) = &c.broker {
            write!(f, " [broker {b}]")?;
        }
        match (&c.topic, c.partition) {
            (Some(t), Some(p)) => write!(f, " [{t}-{p}]")?,
            (Some(t), None) => write!(f, " [topic {t}]")?,
            _ => {}
        }
        if let Some(m) = &c.message {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) => Some(e.as_ref()),
            ErrorKind::Disconnected(e) | ErrorKind::TransactionAbortable(e) | ErrorKind::TransactionFatal(e) => {
                Some(e.as_ref())
            }
            ErrorKind::Decode(e) => Some(e),
            ErrorKind::Encode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::new(ErrorKind::Io(Arc::new(e)))
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Error {
        Error::new(ErrorKind::Decode(e))
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Error {
        Error::new(ErrorKind::Encode(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retriable_follows_kind_and_code() {
        assert!(Error::broker(ErrorCode::NOT_LEADER_OR_FOLLOWER).is_retriable());
        assert!(!Error::broker(ErrorCode::TOPIC_AUTHORIZATION_FAILED).is_retriable());
        assert!(Error::new(ErrorKind::Timeout).is_retriable());
        assert!(!Error::config("x").is_retriable());
        let e = Error::new(ErrorKind::Disconnected(Arc::new(Error::broker(ErrorCode::NOT_COORDINATOR))));
        assert_eq!(e.code(), Some(ErrorCode::NOT_COORDINATOR));
        assert!(e.is_retriable());
    }

    #[test]
    fn every_kind_is_classified() {
        let io = || ErrorKind::Io(Arc::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset)));
        let retriable = [
            io(),
            ErrorKind::Timeout,
            ErrorKind::QueueFull,
            ErrorKind::WouldBlock("metadata".into()),
            ErrorKind::Disconnected(Arc::new(Error::new(io()))),
            ErrorKind::Broker(ErrorCode::NOT_LEADER_OR_FOLLOWER),
        ];
        for k in retriable {
            assert!(Error::new(k.clone()).is_retriable(), "{k:?}");
        }
        let final_ = [
            ErrorKind::Closed,
            // The client closed the connection itself: retrying on a closed client cannot succeed.
            ErrorKind::Disconnected(Arc::new(Error::new(ErrorKind::Closed))),
            ErrorKind::Decode(DecodeError::UnexpectedEof { what: "x", needed: 1, remaining: 0 }),
            ErrorKind::UnsupportedVersion { api: ApiKey::PRODUCE, broker: None },
            ErrorKind::Protocol("x".into()),
            ErrorKind::Config(ConfigError::new("x")),
            ErrorKind::RecordTooLarge { size: 2, limit: 1 },
            ErrorKind::InvalidArgument("x".into()),
            ErrorKind::NoOffset,
            ErrorKind::OffsetOutOfRange { offset: 1 },
            ErrorKind::LogTruncation { offset: 1, divergent_offset: None },
            ErrorKind::Broker(ErrorCode::TOPIC_AUTHORIZATION_FAILED),
        ];
        for k in final_ {
            assert!(!Error::new(k.clone()).is_retriable(), "{k:?}");
        }
    }

    #[test]
    fn display_carries_context() {
        let e = Error::broker(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
            .with_api(ApiKey::PRODUCE)
            .with_partition("orders", 3)
            .with_message(Some("no such topic".into()));
        let s = e.to_string();
        assert!(s.contains("UNKNOWN_TOPIC_OR_PARTITION") && s.contains("orders-3") && s.contains("Produce"), "{s}");
    }
}
