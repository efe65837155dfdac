//! Client configuration: the settings every client role shares ([`ClientConfig`]), and the one layering that every
//! role's configuration ([`ClientConfig`], [`ProducerConfig`](crate::producer::ProducerConfig),
//! [`ConsumerConfig`](crate::consumer::ConsumerConfig), [`AdminConfig`](crate::admin::AdminConfig)) is built with.
//!
//! Every setting can be given four ways, lowest precedence first:
//!
//! 1. its default (the Java client's);
//! 2. a Java properties file ([`ConfigSources::properties_file`], or `XConfig::from_properties_file`);
//! 3. environment variables, only when asked for ([`ConfigSources::env`] / `XConfig::from_env()`, or
//!    [`ConfigSources::env_prefixed`] with a prefix the application names), named as in Apache Kafka's container
//!    images: the prefix removed, `_` for `.`, `__` for `_`, `___` for `-` (`KAFKA_BOOTSTRAP_SERVERS` sets
//!    `bootstrap.servers`, `KAFKA_CLIENT___ID`... sets `client-id`);
//! 4. explicit settings: [`ConfigSources::set`], `XConfig::set(key, value)`, the typed `with_*` builder methods, or
//!    the public fields. A field and its property are the same thing: setting either has the same effect.
//!
//! Property names are the Java client's (`linger.ms`), with some librdkafka aliases (`queue.buffering.max.ms`). An
//! unknown name set explicitly or in a file is a [`Config`](crate::ErrorKind::Config) error naming it; an unknown
//! environment variable is ignored (logged at debug level): `KAFKA_OPTS` and `KAFKA_HEAP_OPTS` belong to Kafka's
//! own scripts. A bad value is an error naming the property and the value.
//!
//! ```
//! use std::time::Duration;
//! use kafkar::config::ConfigSources;
//! use kafkar::producer::{Acks, ProducerConfig};
//!
//! # fn main() -> kafkar::Result<()> {
//! // Typed builders.
//! let typed = ProducerConfig::new("broker-1:9092").with_acks(Acks::Leader).with_linger(Duration::from_millis(20));
//! // Property names.
//! let mut named = ProducerConfig::new("broker-1:9092");
//! named.set("acks", "1")?.set("linger.ms", "20")?;
//! assert_eq!(typed.acks, named.acks);
//! assert_eq!(typed.linger, named.linger);
//! // Every layer: file < KAFKA_* environment < explicit settings.
//! let layered: ProducerConfig = ConfigSources::new()
//!     .env()
//!     .set("bootstrap.servers", "broker-1:9092")
//!     .set("linger.ms", "20")
//!     .load()?;
//! assert_eq!(layered.linger, Duration::from_millis(20));
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use tracing::debug;

use crate::error::{Error, Result};
pub use crate::net::security::{SaslMechanismName, SaslSettings, SecurityProtocol};
#[cfg(feature = "tls")]
pub use crate::net::tls::{EndpointIdentification, TlsSettings};

/// Settings every kafkar client (producer, consumer, admin) shares.
///
/// Build it with [`ClientConfig::new`] and the `with_*` methods, by property name with [`ClientConfig::set`], or
/// through [`ConfigSources`]. The fields are public: setting a field is the same as setting its property.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// `bootstrap.servers`: `host:port` entries to start from.
    pub bootstrap_servers: Vec<String>,
    /// `client.id`, sent in every request header.
    pub client_id: String,
    /// `request.timeout.ms`: how long a request may wait for its reply (default 30 s).
    pub request_timeout: Duration,
    /// `socket.connection.setup.timeout.ms`: how long a TCP connect plus ApiVersions may take (default 10 s).
    pub connect_timeout: Duration,
    /// `reconnect.backoff.ms`: first wait before redialling a failed broker (default 50 ms).
    pub reconnect_backoff: Duration,
    /// `reconnect.backoff.max.ms`: cap of the exponential redial backoff (default 1 s).
    pub reconnect_backoff_max: Duration,
    /// `retry.backoff.ms`: wait before retrying a failed request (default 100 ms).
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms`: cap of the exponential backoff between consecutive failed metadata refreshes (and of
    /// the group membership's retries) (default 1 s).
    pub retry_backoff_max: Duration,
    /// `metadata.max.age.ms`: metadata is refreshed at least this often (default 5 min).
    pub metadata_max_age: Duration,
    /// `metadata.recovery.strategy`: what to do when no broker the metadata names can be reached (default
    /// [`MetadataRecovery::Rebootstrap`], as the Java client from 4.0).
    pub metadata_recovery: MetadataRecovery,
    /// `metadata.recovery.rebootstrap.trigger.ms`: how long no known broker may be reachable before the client
    /// goes back to `bootstrap.servers` (default 5 min, as Java).
    pub rebootstrap_trigger: Duration,
    /// `receive.message.max.bytes` (librdkafka's name): the largest reply frame accepted from a broker, size prefix
    /// excluded. Default 100 000 000, as librdkafka. A larger size prefix fails the connection with a protocol error
    /// (every request waiting on it gets the shared error) before anything is allocated for the frame; below it, the
    /// read buffer grows with the bytes that actually arrive, never by the announced size alone.
    ///
    /// A consumer needs it to be at least `fetch.max.bytes` + 512 (librdkafka's rule: the fetch response's own
    /// fields on top of its records); the defaults (50 MiB fetch) meet it. A broker may still return one record
    /// batch larger than `fetch.max.bytes` (up to the topic's `max.message.bytes`) so that a consumer makes
    /// progress; raise this limit too when topics allow batches near it.
    pub max_response_size: usize,
    /// `security.protocol`: plain TCP (the default), TLS, SASL, or SASL over TLS.
    pub security_protocol: SecurityProtocol,
    /// The `ssl.*` settings (feature `tls`), used with `SSL` and `SASL_SSL`.
    #[cfg(feature = "tls")]
    pub tls: TlsSettings,
    /// The `sasl.*` settings, used with `SASL_PLAINTEXT` and `SASL_SSL`.
    pub sasl: SaslSettings,
}

/// `metadata.recovery.strategy`: how a client recovers when every broker its metadata names is out of reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataRecovery {
    /// Keep trying the brokers the metadata named; `bootstrap.servers` is used only before the first metadata.
    None,
    /// After `metadata.recovery.rebootstrap.trigger.ms` without reaching any known broker, or when a broker answers
    /// `REBOOTSTRAP_REQUIRED`, forget the known brokers and start again from `bootstrap.servers` (their names
    /// resolved again, since every dial resolves its address).
    Rebootstrap,
}

impl std::fmt::Debug for ClientConfig {
    /// Written out field by field so that credentials, once the client has them, can be left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("ClientConfig");
        d.field("bootstrap_servers", &self.bootstrap_servers)
            .field("client_id", &self.client_id)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("reconnect_backoff", &self.reconnect_backoff)
            .field("reconnect_backoff_max", &self.reconnect_backoff_max)
            .field("retry_backoff", &self.retry_backoff)
            .field("retry_backoff_max", &self.retry_backoff_max)
            .field("metadata_max_age", &self.metadata_max_age)
            .field("metadata_recovery", &self.metadata_recovery)
            .field("rebootstrap_trigger", &self.rebootstrap_trigger)
            .field("max_response_size", &self.max_response_size)
            .field("security_protocol", &self.security_protocol);
        #[cfg(feature = "tls")]
        d.field("tls", &self.tls);
        d.field("sasl", &self.sasl).finish()
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            bootstrap_servers: Vec::new(),
            client_id: "kafkar".to_owned(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            reconnect_backoff: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_secs(1),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            metadata_max_age: Duration::from_secs(300),
            metadata_recovery: MetadataRecovery::Rebootstrap,
            rebootstrap_trigger: Duration::from_secs(300),
            max_response_size: 100_000_000,
            security_protocol: SecurityProtocol::Plaintext,
            #[cfg(feature = "tls")]
            tls: TlsSettings::default(),
            sasl: SaslSettings::default(),
        }
    }
}

// ---- value parsers shared by every role ----

/// A duration in milliseconds (`*.ms` properties).
pub(crate) fn parse_ms(key: &str, value: &str) -> Result<Duration> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| Error::config_value(key, value, "expected a number of milliseconds"))
}

/// A number of any integer type.
pub(crate) fn parse_num<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
    value.trim().parse::<T>().map_err(|_| Error::config_value(key, value, "expected a number"))
}

/// An `i32` of at least `min`.
pub(crate) fn parse_i32_min(key: &str, value: &str, min: i32) -> Result<i32> {
    match value.trim().parse::<i32>() {
        Ok(v) if v >= min => Ok(v),
        _ => Err(Error::config_value(key, value, format!("expected an integer of at least {min}"))),
    }
}

/// `true` or `false`, case-insensitive as in Java's `ConfigDef`.
pub(crate) fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(Error::config_value(key, value, "expected true or false")),
    }
}

/// A comma-separated list, entries trimmed, empty entries dropped.
pub(crate) fn parse_list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// An optional string: blank is `None`.
pub(crate) fn parse_optional(value: &str) -> Option<String> {
    Some(value.trim()).filter(|v| !v.is_empty()).map(str::to_owned)
}

impl ClientConfig {
    /// A configuration with `bootstrap.servers` set (comma-separated `host:port` list).
    pub fn new(bootstrap_servers: &str) -> ClientConfig {
        ClientConfig { bootstrap_servers: parse_list(bootstrap_servers), ..Default::default() }
    }

    /// Sets the shared properties this struct holds; `Ok(false)` for a name it does not hold (the role configs try
    /// their own next). An error for a bad value.
    pub(crate) fn set_common(&mut self, key: &str, value: &str) -> Result<bool> {
        match key {
            "bootstrap.servers" | "metadata.broker.list" => self.bootstrap_servers = parse_list(value),
            "client.id" => self.client_id = value.trim().to_owned(),
            "request.timeout.ms" => self.request_timeout = parse_ms(key, value)?,
            "socket.connection.setup.timeout.ms" => self.connect_timeout = parse_ms(key, value)?,
            "reconnect.backoff.ms" => self.reconnect_backoff = parse_ms(key, value)?,
            "reconnect.backoff.max.ms" => self.reconnect_backoff_max = parse_ms(key, value)?,
            "retry.backoff.ms" => self.retry_backoff = parse_ms(key, value)?,
            "retry.backoff.max.ms" => self.retry_backoff_max = parse_ms(key, value)?,
            "receive.message.max.bytes" => {
                self.max_response_size = value
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1000..=i32::MAX as usize).contains(n))
                    .ok_or_else(|| Error::config_value(key, value, "expected 1000..=2147483647 bytes"))?
            }
            "metadata.max.age.ms" | "topic.metadata.refresh.interval.ms" => {
                self.metadata_max_age = parse_ms(key, value)?
            }
            "metadata.recovery.strategy" => {
                self.metadata_recovery = match value.trim().to_ascii_lowercase().as_str() {
                    "rebootstrap" => MetadataRecovery::Rebootstrap,
                    "none" => MetadataRecovery::None,
                    _ => return Err(Error::config_value(key, value, "expected rebootstrap or none")),
                }
            }
            "metadata.recovery.rebootstrap.trigger.ms" => self.rebootstrap_trigger = parse_ms(key, value)?,
            _ => return self.set_security(key, value),
        }
        Ok(true)
    }

    /// Sets `bootstrap.servers`.
    pub fn with_bootstrap_servers(mut self, servers: &str) -> ClientConfig {
        self.bootstrap_servers = parse_list(servers);
        self
    }

    /// Sets `client.id`.
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> ClientConfig {
        self.client_id = client_id.into();
        self
    }

    /// Sets `request.timeout.ms`.
    pub fn with_request_timeout(mut self, timeout: Duration) -> ClientConfig {
        self.request_timeout = timeout;
        self
    }

    /// Sets `socket.connection.setup.timeout.ms`.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> ClientConfig {
        self.connect_timeout = timeout;
        self
    }

    /// Sets `retry.backoff.ms` and `retry.backoff.max.ms`.
    pub fn with_retry_backoff(mut self, first: Duration, max: Duration) -> ClientConfig {
        self.retry_backoff = first;
        self.retry_backoff_max = max;
        self
    }

    /// Sets `reconnect.backoff.ms` and `reconnect.backoff.max.ms`.
    pub fn with_reconnect_backoff(mut self, first: Duration, max: Duration) -> ClientConfig {
        self.reconnect_backoff = first;
        self.reconnect_backoff_max = max;
        self
    }

    /// Sets `metadata.max.age.ms`.
    pub fn with_metadata_max_age(mut self, age: Duration) -> ClientConfig {
        self.metadata_max_age = age;
        self
    }

    /// The wait before retry number `retries` (0 for the first retry) of something that keeps failing:
    /// `retry.backoff.ms` doubled per earlier retry, capped at `retry.backoff.max.ms` (KIP-580).
    pub(crate) fn retry_backoff_after(&self, retries: u32) -> Duration {
        let doublings = retries.min(16);
        self.retry_backoff.saturating_mul(1 << doublings).min(self.retry_backoff_max.max(self.retry_backoff))
    }

    /// Checks the configuration: a non-empty bootstrap list of `host:port` entries; with SASL, a mechanism this
    /// client implements and its credentials; with TLS, that the `ssl.*` files and PEM can be read.
    pub fn validate(&self) -> Result<()> {
        if self.bootstrap_servers.is_empty() {
            return Err(Error::config_key("bootstrap.servers", "is empty"));
        }
        for s in &self.bootstrap_servers {
            match s.rsplit_once(':') {
                Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok() => {}
                _ => return Err(Error::config_value("bootstrap.servers", s, "entry is not host:port")),
            }
        }
        if self.security_protocol.uses_sasl() {
            self.sasl.validate()?;
        }
        #[cfg(feature = "tls")]
        if self.security_protocol.uses_tls() {
            crate::net::tls::client_config(&self.tls).map_err(|e| Error::new(crate::ErrorKind::Tls(e.to_string())))?;
        }
        Ok(())
    }
}

// ---- the layering, once for every role ----

mod sealed {
    pub trait Sealed {}
}

/// A client role's configuration: [`ClientConfig`], [`ProducerConfig`](crate::producer::ProducerConfig),
/// [`ConsumerConfig`](crate::consumer::ConsumerConfig) or [`AdminConfig`](crate::admin::AdminConfig). What
/// [`ConfigSources::load`] builds. Sealed: implemented by this crate only.
pub trait RoleConfig: Default + sealed::Sealed {
    /// The role's name in error messages (`producer`, `consumer`, `admin`, `client`).
    const ROLE: &'static str;

    /// The settings shared by every role.
    fn client_config(&self) -> &ClientConfig;

    /// Sets a property of this role (its own or a shared one); `Ok(false)` for a name the role does not have.
    #[doc(hidden)]
    fn set_known(&mut self, key: &str, value: &str) -> Result<bool>;
}

/// Sets `key` on `config`: an unknown key is an error naming it and the role.
pub(crate) fn set_property<C: RoleConfig>(config: &mut C, key: &str, value: &str) -> Result<()> {
    let key = key.trim();
    if config.set_known(key, value)? {
        Ok(())
    } else {
        Err(Error::config_key(key, format!("unknown {} property", C::ROLE)))
    }
}

/// Where a configuration comes from: defaults < profile defaults ([`defaults`](Self::defaults)) < properties files
/// (in the order given) < environment variables (only when asked for) < explicit settings (in the order given). [`load`](Self::load) builds any role's
/// configuration from them; the `XConfig::from_*` constructors are shorthands.
#[derive(Clone, Default)]
pub struct ConfigSources {
    defaults: Vec<(String, String)>,
    files: Vec<PathBuf>,
    env_prefix: Option<String>,
    settings: Vec<(String, String)>,
}

impl std::fmt::Debug for ConfigSources {
    /// Shows the property names set, never their values (which may one day be credentials).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigSources")
            .field("defaults", &self.defaults.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .field("files", &self.files)
            .field("env_prefix", &self.env_prefix)
            .field("settings", &self.settings.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

/// The environment prefix of Apache Kafka's container images, used by [`ConfigSources::env`].
pub const DEFAULT_ENV_PREFIX: &str = "KAFKA_";

impl ConfigSources {
    /// No sources: [`load`](Self::load) gives the defaults.
    pub fn new() -> ConfigSources {
        ConfigSources::default()
    }

    /// Sets properties below every other source: defaults of a deployment profile (development, production) that
    /// files, the environment and explicit settings override. A property the role does not have is skipped (a
    /// profile names producer and consumer properties at once).
    pub fn defaults<K: Into<String>, V: Into<String>>(
        mut self,
        properties: impl IntoIterator<Item = (K, V)>,
    ) -> ConfigSources {
        self.defaults.extend(properties.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Reads a Java properties file (`key=value`, `key: value` or `key value` lines; `#` and `!` comments; `\`
    /// continues a line). Files given later take precedence over earlier ones.
    pub fn properties_file(mut self, path: impl Into<PathBuf>) -> ConfigSources {
        self.files.push(path.into());
        self
    }

    /// Reads environment variables named `KAFKA_*` as Apache Kafka's container images do
    /// (`KAFKA_BOOTSTRAP_SERVERS` sets `bootstrap.servers`).
    pub fn env(self) -> ConfigSources {
        self.env_prefixed(DEFAULT_ENV_PREFIX)
    }

    /// Reads environment variables named `<prefix>*` with the same naming (`MYAPP_KAFKA_` + `LINGER_MS` sets
    /// `linger.ms`). Variables that name no property of the role are ignored.
    pub fn env_prefixed(mut self, prefix: &str) -> ConfigSources {
        self.env_prefix = Some(prefix.to_owned());
        self
    }

    /// Sets a property explicitly: above every other source.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> ConfigSources {
        self.settings.push((key.into(), value.into()));
        self
    }

    /// The configuration of role `C` from the sources. Errors: a file that cannot be read, an unknown property in
    /// a file or an explicit setting, a bad value anywhere.
    pub fn load<C: RoleConfig>(&self) -> Result<C> {
        let mut config = C::default();
        for (k, v) in &self.defaults {
            if !config.set_known(k.trim(), v)? {
                debug!(property = %k, role = C::ROLE, "profile default names no property of this role; skipped");
            }
        }
        for path in &self.files {
            apply_properties_file(&mut config, path)?;
        }
        if let Some(prefix) = &self.env_prefix {
            apply_env(&mut config, prefix, std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))))?;
        }
        for (k, v) in &self.settings {
            set_property(&mut config, k, v)?;
        }
        Ok(config)
    }
}

/// Applies the properties file at `path` to `config`.
pub(crate) fn apply_properties_file<C: RoleConfig>(config: &mut C, path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::config(format!("cannot read properties file {}: {e}", path.display())))?;
    for (line, key, value) in parse_properties(&text) {
        set_property(config, &key, &value)
            .map_err(|e| e.with_config_origin(|| format!("{}:{line}", path.display())))?;
    }
    Ok(())
}

/// Applies environment variables `vars` named `<prefix>*` to `config`. A variable whose name maps to no property
/// of the role is skipped (debug log); a bad value for a known property is an error naming the variable.
pub(crate) fn apply_env<C: RoleConfig>(
    config: &mut C,
    prefix: &str,
    vars: impl IntoIterator<Item = (String, std::ffi::OsString)>,
) -> Result<()> {
    let mut vars: Vec<_> = vars.into_iter().filter(|(name, _)| name.starts_with(prefix)).collect();
    // Stable order, so that two variables naming the same property always resolve the same way.
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, value) in vars {
        let Some(key) = env_name_to_property(&name[prefix.len()..]) else {
            debug!(variable = %name, "environment variable names no property; ignored");
            continue;
        };
        let Ok(value) = value.into_string() else {
            return Err(Error::config_key(&key, format!("environment variable {name} is not UTF-8")));
        };
        match config.set_known(&key, &value) {
            Ok(true) => {}
            Ok(false) => {
                debug!(variable = %name, property = %key, role = C::ROLE, "not a property of this client; ignored")
            }
            Err(e) => return Err(e.with_config_origin(|| format!("environment variable {name}"))),
        }
    }
    Ok(())
}

/// The property an environment variable names, the prefix removed: lower case, `___` → `-`, `__` → `_`,
/// `_` → `.`. `None` for an empty name.
pub(crate) fn env_name_to_property(name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        let mut run = 1;
        while chars.peek() == Some(&'_') {
            chars.next();
            run += 1;
        }
        // Runs longer than three: the longest mappings first (`____` is `-` then `.`).
        while run > 0 {
            let take = run.min(3);
            out.push(match take {
                3 => '-',
                2 => '_',
                _ => '.',
            });
            run -= take;
        }
    }
    Some(out)
}

/// The `(line number, key, value)` entries of a Java properties file. Supports `#`/`!` comments, `=`, `:` or
/// whitespace separators, `\` line continuations and the escapes `\t \n \r \f \\ \uXXXX`.
pub(crate) fn parse_properties(text: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let first = line.trim_start();
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        // Join continuation lines: an odd number of trailing backslashes continues the line.
        let mut logical = String::from(first);
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        out.push((i + 1, unescape(key), unescape(value)));
    }
    out
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// Splits at the first unescaped `=`, `:` or whitespace (whitespace around the separator belongs to neither side).
fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => return (&line[..i], line[i + 1..].trim_start()),
            c if c.is_whitespace() => {
                let rest = line[i..].trim_start();
                let rest = rest.strip_prefix(['=', ':']).map(str::trim_start).unwrap_or(rest);
                return (&line[..i], rest);
            }
            _ => {}
        }
    }
    (line, "")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The inherent constructors and setters every role config has, written once: `set`, `from_properties`,
/// `from_properties_file`, `from_env`, `from_env_prefixed`.
macro_rules! role_config_methods {
    ($ty:ty) => {
        impl $ty {
            /// Sets a property by its Java client name (the role's own, or a shared one such as
            /// `bootstrap.servers`). An unknown name or a bad value is a [`Config`](crate::ErrorKind::Config)
            /// error naming the property (and the value).
            pub fn set(&mut self, key: &str, value: &str) -> $crate::Result<&mut Self> {
                $crate::config::set_property(self, key, value)?;
                Ok(self)
            }

            /// A configuration from `(name, value)` pairs of property names over the defaults.
            pub fn from_properties<K: AsRef<str>, V: AsRef<str>>(
                pairs: impl IntoIterator<Item = (K, V)>,
            ) -> $crate::Result<Self> {
                let mut config = <Self as Default>::default();
                for (k, v) in pairs {
                    config.set(k.as_ref(), v.as_ref())?;
                }
                Ok(config)
            }

            /// A configuration from a Java properties file over the defaults. See
            /// [`ConfigSources`](crate::config::ConfigSources) to add environment variables and explicit settings.
            pub fn from_properties_file(path: impl AsRef<std::path::Path>) -> $crate::Result<Self> {
                $crate::config::ConfigSources::new().properties_file(path.as_ref()).load()
            }

            /// A configuration from the `KAFKA_*` environment variables over the defaults
            /// (`KAFKA_BOOTSTRAP_SERVERS` → `bootstrap.servers`); see [`crate::config`] for the naming.
            pub fn from_env() -> $crate::Result<Self> {
                $crate::config::ConfigSources::new().env().load()
            }

            /// A configuration from the environment variables named `<prefix>*` over the defaults.
            pub fn from_env_prefixed(prefix: &str) -> $crate::Result<Self> {
                $crate::config::ConfigSources::new().env_prefixed(prefix).load()
            }
        }
    };
}
pub(crate) use role_config_methods;

/// Implements [`RoleConfig`] for a role config holding a [`ClientConfig`] in field `client`, whose own properties
/// are set by its method `set_own(key, value) -> Result<bool>`.
macro_rules! role_config_impl {
    ($ty:ty, $role:literal) => {
        impl $crate::config::Sealed for $ty {}
        impl $crate::config::RoleConfig for $ty {
            const ROLE: &'static str = $role;

            fn client_config(&self) -> &$crate::config::ClientConfig {
                &self.client
            }

            fn set_known(&mut self, key: &str, value: &str) -> $crate::Result<bool> {
                if self.client.set_common(key, value)? {
                    return Ok(true);
                }
                self.set_own(key, value)
            }
        }
        $crate::config::role_config_methods!($ty);
    };
}
pub(crate) use role_config_impl;
pub(crate) use sealed::Sealed;

impl Sealed for ClientConfig {}

impl RoleConfig for ClientConfig {
    const ROLE: &'static str = "client";

    fn client_config(&self) -> &ClientConfig {
        self
    }

    fn set_known(&mut self, key: &str, value: &str) -> Result<bool> {
        self.set_common(key, value)
    }
}

role_config_methods!(ClientConfig);

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;
    use crate::ErrorKind;
    use crate::consumer::ConsumerConfig;
    use crate::producer::ProducerConfig;

    fn config_error(e: &Error) -> &crate::error::ConfigError {
        match e.kind() {
            ErrorKind::Config(c) => c,
            other => panic!("not a config error: {other:?}"),
        }
    }

    #[test]
    fn java_names_set_fields_and_bad_values_fail() {
        let mut c = ClientConfig::new("a:1, b:2");
        assert_eq!(c.bootstrap_servers, vec!["a:1", "b:2"]);
        c.set("request.timeout.ms", "1500").unwrap();
        assert_eq!(c.request_timeout, Duration::from_millis(1500));
        let e = c.set("linger.ms", "5").unwrap_err();
        assert_eq!(config_error(&e).key(), Some("linger.ms"));
        let e = c.set("request.timeout.ms", "soon").unwrap_err();
        assert_eq!((config_error(&e).key(), config_error(&e).value()), (Some("request.timeout.ms"), Some("soon")));
        c.validate().unwrap();
        assert!(ClientConfig::new("").validate().is_err());
        assert!(ClientConfig::new("nohost").validate().is_err());
    }

    #[test]
    fn env_names_follow_the_kafka_container_convention() {
        assert_eq!(env_name_to_property("BOOTSTRAP_SERVERS").as_deref(), Some("bootstrap.servers"));
        assert_eq!(env_name_to_property("LINGER_MS").as_deref(), Some("linger.ms"));
        assert_eq!(env_name_to_property("SOME__NAME").as_deref(), Some("some_name"));
        assert_eq!(env_name_to_property("CLIENT___RACK").as_deref(), Some("client-rack"));
        assert_eq!(env_name_to_property("A____B").as_deref(), Some("a-.b"));
        assert_eq!(env_name_to_property(""), None);
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, OsString)> {
        pairs.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect()
    }

    #[test]
    fn security_properties_from_the_environment() {
        let mut c = ConsumerConfig::default();
        apply_env(
            &mut c,
            "KAFKA_",
            vars(&[
                ("KAFKA_SECURITY_PROTOCOL", "sasl_ssl"),
                ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256"),
                ("KAFKA_SASL_USERNAME", "alice"),
                ("KAFKA_SASL_PASSWORD", "pw-from-env"),
                ("KAFKA_SSL_CA_LOCATION", "/etc/kafka/ca.pem"),
                ("KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM", ""),
            ]),
        )
        .unwrap();
        let cc = c.client_config();
        assert_eq!(cc.security_protocol, SecurityProtocol::SaslSsl);
        assert_eq!(cc.sasl.mechanism, Some(SaslMechanismName::ScramSha256));
        assert_eq!(cc.sasl.password.as_deref(), Some("pw-from-env"));
        #[cfg(feature = "tls")]
        {
            assert_eq!(cc.tls.ca_location.as_deref(), Some(Path::new("/etc/kafka/ca.pem")));
            assert_eq!(cc.tls.endpoint_identification, EndpointIdentification::None);
        }
        assert!(!format!("{c:?}").contains("pw-from-env"));
        let e = apply_env(&mut c, "KAFKA_", vars(&[("KAFKA_SECURITY_PROTOCOL", "TLS")])).unwrap_err();
        assert!(e.to_string().contains("security.protocol"), "{e}");
        let e = apply_env(&mut c, "KAFKA_", vars(&[("KAFKA_SASL_MECHANISM", "GSSAPI")])).unwrap_err();
        assert!(e.to_string().contains("sasl.mechanism"), "{e}");
    }

    #[test]
    fn env_sets_known_properties_and_ignores_the_rest() {
        let mut c = ProducerConfig::default();
        apply_env(
            &mut c,
            "KAFKA_",
            vars(&[
                ("KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092"),
                ("KAFKA_LINGER_MS", "25"),
                ("KAFKA_OPTS", "-Xmx1g"),
                ("KAFKA_HEAP_OPTS", "-Xms1g"),
                ("KAFKA_GROUP_ID", "a consumer setting: not the producer's"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(c.client.bootstrap_servers, vec!["k1:9092", "k2:9092"]);
        assert_eq!(c.linger, Duration::from_millis(25));
        // A bad value for a known property is an error naming the variable and the property.
        let e = apply_env(&mut c, "KAFKA_", vars(&[("KAFKA_LINGER_MS", "soon")])).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("KAFKA_LINGER_MS") && s.contains("linger.ms"), "{s}");
        // An application prefix.
        let mut c = ConsumerConfig::default();
        apply_env(&mut c, "APP_KAFKA_", vars(&[("APP_KAFKA_GROUP_ID", "g"), ("KAFKA_GROUP_ID", "other")])).unwrap();
        assert_eq!(c.group_id.as_deref(), Some("g"));
    }

    #[test]
    fn properties_files_parse_like_java() {
        let text = "# comment\n! also a comment\n\nbootstrap.servers = a:1,\\\n    b:2\nclient.id:my\\tid\nlinger.ms 7\nempty=\nkey\\=with\\:sep=v\n";
        let got = parse_properties(text);
        let kv: Vec<(&str, &str)> = got.iter().map(|(_, k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            kv,
            vec![
                ("bootstrap.servers", "a:1,b:2"),
                ("client.id", "my\tid"),
                ("linger.ms", "7"),
                ("empty", ""),
                ("key=with:sep", "v")
            ]
        );
        assert_eq!(got[1].0, 6, "line numbers count physical lines");
    }

    #[test]
    fn profile_defaults_lie_below_every_other_source_and_skip_other_roles_keys() {
        let dir = std::env::temp_dir().join(format!("kafkar-config-defaults-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("p.properties");
        std::fs::write(&file, "batch.size=3000\n").unwrap();
        let sources = ConfigSources::new()
            .defaults([("linger.ms", "7"), ("batch.size", "16384"), ("auto.offset.reset", "earliest"), ("acks", "1")])
            .properties_file(&file)
            .set("acks", "all");
        let c: ProducerConfig = sources.load().unwrap();
        assert_eq!(c.linger, Duration::from_millis(7), "a default nothing overrides");
        assert_eq!(c.batch_size, 3000, "the file beats the default");
        assert_eq!(c.acks, crate::producer::Acks::All, "explicit beats the default");
        let c: ConsumerConfig =
            ConfigSources::new().defaults([("auto.offset.reset", "earliest"), ("acks", "1")]).load().unwrap();
        assert_eq!(c.auto_offset_reset, crate::consumer::OffsetReset::Earliest);
        let bad = ConfigSources::new().defaults([("linger.ms", "soon")]).load::<ProducerConfig>();
        assert!(bad.is_err(), "a bad default value is an error");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn layers_apply_in_order_and_unknown_file_keys_fail() {
        let dir = std::env::temp_dir().join(format!("kafkar-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("producer.properties");
        std::fs::write(&file, "bootstrap.servers=file:1\nlinger.ms=11\nbatch.size=1000\n").unwrap();
        let c: ProducerConfig = ConfigSources::new().properties_file(&file).set("linger.ms", "22").load().unwrap();
        assert_eq!(c.client.bootstrap_servers, vec!["file:1"]);
        assert_eq!(c.linger, Duration::from_millis(22), "explicit beats the file");
        assert_eq!(c.batch_size, 1000);
        // The environment lies between the file and explicit settings.
        let mut c = ProducerConfig::default();
        apply_properties_file(&mut c, &file).unwrap();
        apply_env(&mut c, "KAFKA_", vars(&[("KAFKA_LINGER_MS", "33"), ("KAFKA_BATCH_SIZE", "2000")])).unwrap();
        c.set("linger.ms", "44").unwrap();
        assert_eq!((c.linger, c.batch_size), (Duration::from_millis(44), 2000));

        std::fs::write(&file, "bootstrap.servers=a:1\nlinger.msx=5\n").unwrap();
        let e = ProducerConfig::from_properties_file(&file).unwrap_err();
        assert_eq!(config_error(&e).key(), Some("linger.msx"), "{e}");
        assert!(e.to_string().contains("producer.properties:2"), "{e}");
        let e = ConsumerConfig::from_properties_file(dir.join("missing.properties")).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Config(_)), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn retry_backoff_doubles_up_to_the_max() {
        let c = ClientConfig::new("a:1").with_retry_backoff(Duration::from_millis(20), Duration::from_millis(100));
        let waits: Vec<u128> = (0..5).map(|n| c.retry_backoff_after(n).as_millis()).collect();
        assert_eq!(waits, vec![20, 40, 80, 100, 100]);
        assert_eq!(c.retry_backoff_after(u32::MAX), Duration::from_millis(100));
    }
}
