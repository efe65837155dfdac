//! A client for the Confluent Schema Registry's REST API: register a schema under a subject, look one up by id,
//! by subject and version, or the latest, with a cache so that a schema id is fetched once per client.
//!
//! The HTTP is a small HTTP/1.1 client over tokio (one connection per request, `Connection: close`), plain
//! `http://` only; Basic credentials are supported. Responses are bounded in size and time and every malformed
//! reply is a typed [`RegistryError`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest response accepted, headers and body.
const MAX_RESPONSE: usize = 16 << 20;

/// A schema as the registry stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    /// `AVRO`, `JSON` or `PROTOBUF` (the registry omits it for Avro).
    pub schema_type: String,
    /// The schema text.
    pub schema: String,
}

impl Schema {
    /// An Avro schema.
    pub fn avro(schema: impl Into<String>) -> Schema {
        Schema { schema_type: "AVRO".into(), schema: schema.into() }
    }

    /// A JSON Schema.
    pub fn json(schema: impl Into<String>) -> Schema {
        Schema { schema_type: "JSON".into(), schema: schema.into() }
    }
}

/// A schema with its place in the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredSchema {
    /// The subject.
    pub subject: String,
    /// The global schema id.
    pub id: u32,
    /// The version under the subject.
    pub version: i32,
    /// The schema.
    pub schema: Arc<Schema>,
}

/// A registry request that failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The URL is not `http://host[:port][/path]`.
    #[error("registry URL {0:?}: {1}")]
    Url(String, &'static str),
    /// Connecting, writing or reading failed.
    #[error("registry I/O: {0}")]
    Io(#[from] std::io::Error),
    /// No complete reply within the timeout.
    #[error("registry request timed out after {0:?}")]
    Timeout(Duration),
    /// The registry answered with an error status; `error_code` is its `error_code` field (e.g. 40403: schema not
    /// found, 40401: subject not found), when it sent one.
    #[error("registry answered HTTP {status} (error code {error_code:?}): {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The registry's error code.
        error_code: Option<i64>,
        /// The registry's message or the body.
        message: String,
    },
    /// The reply is not HTTP/1.x or not the JSON expected.
    #[error("malformed registry reply: {0}")]
    Protocol(String),
}

impl RegistryError {
    /// Whether this is the registry's "not found" (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::Status { status: 404, .. })
    }
}

/// Which version of a subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// A fixed version number.
    Number(i32),
    /// The latest (never cached: it changes).
    Latest,
}

#[derive(Default)]
struct Cache {
    by_id: HashMap<u32, Arc<Schema>>,
    /// (subject, schema type, schema text) → id, for `register`.
    ids: HashMap<(String, String, String), u32>,
    by_version: HashMap<(String, i32), RegisteredSchema>,
}

/// A Schema Registry client; clone it freely (the cache is shared).
#[derive(Clone)]
pub struct RegistryClient {
    host: String,
    port: u16,
    base_path: String,
    authorization: Option<String>,
    timeout: Duration,
    cache: Arc<Mutex<Cache>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("base_path", &self.base_path)
            .field("basic_auth", &self.authorization.is_some())
            .finish()
    }
}

impl RegistryClient {
    /// A client for the registry at `url` (`http://host[:port][/path]`; port 80 by default).
    pub fn new(url: &str) -> Result<RegistryClient, RegistryError> {
        let bad = |why| RegistryError::Url(url.to_owned(), why);
        let rest = match url.strip_prefix("http://") {
            Some(rest) => rest,
            None if url.starts_with("https://") => return Err(bad("https is not supported yet")),
            None => return Err(bad("expected http://")),
        };
        let (authority, path) = rest.find('/').map_or((rest, ""), |i| (&rest[..i], &rest[i..]));
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, rest) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
                (host, rest.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        let port = port.map_or(Ok(80), |p| p.parse().map_err(|_| bad("bad port")))?;
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(RegistryClient {
            host: host.to_owned(),
            port,
            base_path: path.trim_end_matches('/').to_owned(),
            authorization: None,
            timeout: Duration::from_secs(30),
            cache: Arc::default(),
        })
    }

    /// Sends HTTP Basic credentials (`basic.auth.user.info`).
    pub fn with_basic_auth(mut self, user: &str, password: &str) -> RegistryClient {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.authorization = Some(format!("Basic {token}"));
        self
    }

    /// The time a request may take, connection included (30 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> RegistryClient {
        self.timeout = timeout;
        self
    }

    /// Registers `schema` under `subject` (or finds it there) and returns its id; cached per subject and schema.
    pub async fn register(&self, subject: &str, schema: &Schema) -> Result<u32, RegistryError> {
        let key = (subject.to_owned(), schema.schema_type.clone(), schema.schema.clone());
        if let Some(id) = self.lock().ids.get(&key) {
            return Ok(*id);
        }
        let body = json!({"schemaType": schema.schema_type, "schema": schema.schema}).to_string();
        let reply =
            self.request("POST", &format!("/subjects/{}/versions", encode_segment(subject)), Some(&body)).await?;
        let id = id_field(&reply, "id")?;
        let mut cache = self.lock();
        cache.ids.insert(key, id);
        cache.by_id.entry(id).or_insert_with(|| Arc::new(schema.clone()));
        Ok(id)
    }

    /// The schema with global id `id`; cached.
    pub async fn schema_by_id(&self, id: u32) -> Result<Arc<Schema>, RegistryError> {
        if let Some(s) = self.lock().by_id.get(&id) {
            return Ok(s.clone());
        }
        let reply = self.request("GET", &format!("/schemas/ids/{id}"), None).await?;
        let schema = Arc::new(schema_fields(&reply)?);
        self.lock().by_id.insert(id, schema.clone());
        Ok(schema)
    }

    /// A version of `subject`; fixed versions are cached, [`Version::Latest`] is asked each time.
    pub async fn schema_by_version(&self, subject: &str, version: Version) -> Result<RegisteredSchema, RegistryError> {
        if let Version::Number(v) = version {
            if let Some(s) = self.lock().by_version.get(&(subject.to_owned(), v)) {
                return Ok(s.clone());
            }
        }
        let v = match version {
            Version::Number(v) => v.to_string(),
            Version::Latest => "latest".to_owned(),
        };
        let reply = self.request("GET", &format!("/subjects/{}/versions/{v}", encode_segment(subject)), None).await?;
        let id = id_field(&reply, "id")?;
        let version = reply
            .get("version")
            .and_then(Value::as_i64)
            .and_then(|v| i32::try_from(v).ok())
            .ok_or_else(|| RegistryError::Protocol("no version".into()))?;
        let schema = Arc::new(schema_fields(&reply)?);
        let registered = RegisteredSchema { subject: subject.to_owned(), id, version, schema: schema.clone() };
        let mut cache = self.lock();
        cache.by_id.entry(id).or_insert(schema);
        cache.by_version.insert((subject.to_owned(), version), registered.clone());
        Ok(registered)
    }

    /// The latest version of `subject`.
    pub async fn latest(&self, subject: &str) -> Result<RegisteredSchema, RegistryError> {
        self.schema_by_version(subject, Version::Latest).await
    }

    /// `host:port` for the Host header (IPv6 addresses in brackets).
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One request; the reply's JSON on a 2xx status.
    async fn request(&self, method: &str, path: &str, body: Option<&str>) -> Result<Value, RegistryError> {
        let exchange = async {
            let mut stream = TcpStream::connect((self.host.as_str(), self.port)).await?;
            let mut req = format!(
                "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nAccept: application/vnd.schemaregistry.v1+json, \
                 application/json\r\nConnection: close\r\n",
                self.base_path,
                self.authority()
            );
            if let Some(auth) = &self.authorization {
                req.push_str(&format!("Authorization: {auth}\r\n"));
            }
            let body = body.unwrap_or("");
            if method == "POST" {
                req.push_str(&format!(
                    "Content-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: {}\r\n",
                    body.len()
                ));
            }
            req.push_str("\r\n");
            req.push_str(body);
            stream.write_all(req.as_bytes()).await?;
            let mut raw = Vec::new();
            (&mut stream).take(MAX_RESPONSE as u64 + 1).read_to_end(&mut raw).await?;
            Ok::<_, RegistryError>(raw)
        };
        let raw =
            tokio::time::timeout(self.timeout, exchange).await.map_err(|_| RegistryError::Timeout(self.timeout))??;
        if raw.len() > MAX_RESPONSE {
            return Err(RegistryError::Protocol(format!("reply larger than {MAX_RESPONSE} bytes")));
        }
        let (status, body) = parse_response(&raw)?;
        tracing::debug!(method, path, status, "schema registry request");
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        if !(200..300).contains(&status) {
            let field = |k| json.as_ref().and_then(|j| j.get(k));
            return Err(RegistryError::Status {
                status,
                error_code: field("error_code").and_then(Value::as_i64),
                message: field("message")
                    .and_then(Value::as_str)
                    .map_or_else(|| String::from_utf8_lossy(&body).into_owned(), str::to_owned),
            });
        }
        json.ok_or_else(|| RegistryError::Protocol("body is not JSON".into()))
    }
}

/// Percent-encodes a path segment (subjects may hold any character).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn id_field(v: &Value, name: &str) -> Result<u32, RegistryError> {
    v.get(name)
        .and_then(Value::as_u64)
        .and_then(|id| u32::try_from(id).ok())
        .ok_or_else(|| RegistryError::Protocol(format!("no {name} in reply")))
}

fn schema_fields(v: &Value) -> Result<Schema, RegistryError> {
    let schema = v.get("schema").and_then(Value::as_str).ok_or_else(|| RegistryError::Protocol("no schema".into()))?;
    let schema_type = v.get("schemaType").and_then(Value::as_str).unwrap_or("AVRO");
    Ok(Schema { schema_type: schema_type.to_owned(), schema: schema.to_owned() })
}

/// Status and body of a complete HTTP/1.x response (Content-Length, chunked, or up to the close).
fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>), RegistryError> {
    let bad = |why: &str| RegistryError::Protocol(why.to_owned());
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("headers are not UTF-8"))?;
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(bad("not an HTTP/1.x status line"));
    }
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad status code"))?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| bad("bad Content-Length"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    if chunked {
        return dechunk(body).map(|b| (status, b)).ok_or_else(|| bad("bad chunked body"));
    }
    match length {
        Some(n) => body.get(..n).map(|b| (status, b.to_vec())).ok_or_else(|| bad("body shorter than Content-Length")),
        None => Ok((status, body.to_vec())),
    }
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c = RegistryClient::new("http://reg.example:8081/base/").unwrap();
        assert_eq!((c.host.as_str(), c.port, c.base_path.as_str()), ("reg.example", 8081, "/base"));
        let c = RegistryClient::new("http://reg").unwrap();
        assert_eq!((c.host.as_str(), c.port, c.base_path.as_str()), ("reg", 80, ""));
        let c = RegistryClient::new("http://[::1]:81").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("::1", 81));
        assert!(matches!(RegistryClient::new("http://:81"), Err(RegistryError::Url(..))));
        assert!(matches!(RegistryClient::new("https://reg"), Err(RegistryError::Url(..))));
        assert!(matches!(RegistryClient::new("http://reg:x"), Err(RegistryError::Url(..))));
        assert!(matches!(RegistryClient::new("ftp://reg"), Err(RegistryError::Url(..))));
    }

    #[test]
    fn responses() {
        let (s, b) = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}junk").unwrap();
        assert_eq!((s, b.as_slice()), (200, &b"{}"[..]));
        let (s, b) =
            parse_response(b"HTTP/1.1 404 NF\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                .unwrap();
        assert_eq!((s, b.as_slice()), (404, &b"abcde"[..]));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}").is_err());
        assert!(parse_response(b"SSH-2.0\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200").is_err());
    }

    #[test]
    fn segments() {
        assert_eq!(encode_segment("a.b-c_value"), "a.b-c_value");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }
}
