//! Typed client configuration, settable from Java/librdkafka property names (`bootstrap.servers`,
//! `request.timeout.ms`, ...).

use std::time::Duration;

use crate::error::{Error, Result};

/// Settings every kafkar client (producer, consumer, admin) shares.
#[derive(Clone, Debug)]
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
            max_response_size: 100_000_000,
        }
    }
}

pub(crate) fn parse_ms(key: &str, value: &str) -> Result<Duration> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| Error::config(format!("{key}: expected milliseconds, got {value:?}")))
}

impl ClientConfig {
    /// A configuration with `bootstrap.servers` set (comma-separated `host:port` list).
    pub fn new(bootstrap_servers: &str) -> ClientConfig {
        ClientConfig { bootstrap_servers: split_list(bootstrap_servers), ..Default::default() }
    }

    /// Sets a property by its Java client name. Returns `Ok(false)` for a name this struct does not hold (so that
    /// producer and consumer configs can try their own), and an error for a bad value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        match key {
            "bootstrap.servers" | "metadata.broker.list" => self.bootstrap_servers = split_list(value),
            "client.id" => self.client_id = value.to_owned(),
            "request.timeout.ms" => self.request_timeout = parse_ms(key, value)?,
            "socket.connection.setup.timeout.ms" => self.connect_timeout = parse_ms(key, value)?,
            "reconnect.backoff.ms" => self.reconnect_backoff = parse_ms(key, value)?,
            "reconnect.backoff.max.ms" => self.reconnect_backoff_max = parse_ms(key, value)?,
            "retry.backoff.ms" => self.retry_backoff = parse_ms(key, value)?,
            "retry.backoff.max.ms" => self.retry_backoff_max = parse_ms(key, value)?,
            "metadata.max.age.ms" => self.metadata_max_age = parse_ms(key, value)?,
            "receive.message.max.bytes" => {
                self.max_response_size =
                    value.trim().parse::<usize>().ok().filter(|n| (1000..=i32::MAX as usize).contains(n)).ok_or_else(
                        || Error::config(format!("{key}: expected 1000..=2147483647 bytes, got {value:?}")),
                    )?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks the configuration: a non-empty bootstrap list of `host:port` entries.
    pub fn validate(&self) -> Result<()> {
        if self.bootstrap_servers.is_empty() {
            return Err(Error::config("bootstrap.servers is empty"));
        }
        for s in &self.bootstrap_servers {
            match s.rsplit_once(':') {
                Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok() => {}
                _ => return Err(Error::config(format!("bootstrap.servers entry {s:?} is not host:port"))),
            }
        }
        Ok(())
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_names_set_fields_and_bad_values_fail() {
        let mut c = ClientConfig::new("a:1, b:2");
        assert_eq!(c.bootstrap_servers, vec!["a:1", "b:2"]);
        assert!(c.set("request.timeout.ms", "1500").unwrap());
        assert_eq!(c.request_timeout, Duration::from_millis(1500));
        assert!(!c.set("linger.ms", "5").unwrap());
        assert!(c.set("request.timeout.ms", "soon").is_err());
        c.validate().unwrap();
        assert!(ClientConfig::new("").validate().is_err());
        assert!(ClientConfig::new("nohost").validate().is_err());
    }
}
