//! A client for the Confluent Schema Registry's REST API: register a schema under a subject, look one up by id,
//! by subject and version, or the latest, with a cache so that a schema id is fetched once per client.
//!
//! The HTTP is a small HTTP/1.1 client over tokio (one connection per request, `Connection: close`), over plain
//! TCP for `http://` URLs and over TLS for `https://` ones, with the same request and response code for both.
//! TLS goes through kafkar's own helpers ([`kafkar::security::tls`]): the rustls configuration is built once per
//! client from a [`TlsSettings`] (trusted CAs, a client certificate for mutual TLS, hostname verification, on by
//! default), and handshake failures are typed ([`RegistryError::Tls`]). Basic credentials are supported on both.
//! Responses are bounded in size and time and every malformed reply is a typed [`RegistryError`].
//!
//! [`RegistryClient::from_properties`] reads the Confluent serializers' property names (`schema.registry.url`,
//! `basic.auth.user.info`, `schema.registry.ssl.*`); see there for the TLS ones.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
pub use kafkar::security::tls::{EndpointIdentification, TlsError, TlsSettings};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
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
    /// The URL is not `http[s]://host[:port][/path]`.
    #[error("registry URL {0:?}: {1}")]
    Url(String, &'static str),
    /// A property given to [`RegistryClient::from_properties`] is missing, unknown or has a bad value.
    #[error("registry configuration: {0}")]
    Config(String),
    /// TLS could not be set up (unreadable or bad PEM, ...) or the handshake failed (untrusted certificate, name
    /// mismatch, refused client certificate).
    #[error("registry TLS (the ssl.* names below are schema.registry.ssl.* properties): {0}")]
    Tls(#[from] TlsError),
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

/// A Schema Registry client; clone it freely (the cache and the TLS configuration are shared).
#[derive(Clone)]
pub struct RegistryClient {
    host: String,
    port: u16,
    base_path: String,
    /// `https://`: connections go through TLS.
    https: bool,
    /// The rustls configuration of an `https://` client, built once: by [`RegistryClient::with_tls`], or with the
    /// default [`TlsSettings`] (platform trust store, hostname verification) on the first request.
    tls: Arc<OnceLock<Arc<rustls::ClientConfig>>>,
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
            .field("https", &self.https)
            .field("basic_auth", &self.authorization.is_some())
            .finish()
    }
}

impl RegistryClient {
    /// A client for the registry at `url`: `http://host[:port][/path]` (port 80 by default) or
    /// `https://host[:port][/path]` (port 443 by default; TLS with the default [`TlsSettings`], that is the
    /// platform's trust store and hostname verification, unless [`RegistryClient::with_tls`] says otherwise).
    pub fn new(url: &str) -> Result<RegistryClient, RegistryError> {
        let bad = |why| RegistryError::Url(url.to_owned(), why);
        let (rest, https) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(rest), _) => (rest, false),
            (_, Some(rest)) => (rest, true),
            _ => return Err(bad("expected http:// or https://")),
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
        let default_port = if https { 443 } else { 80 };
        let port = port.map_or(Ok(default_port), |p| p.parse().map_err(|_| bad("bad port")))?;
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(RegistryClient {
            host: host.to_owned(),
            port,
            base_path: path.trim_end_matches('/').to_owned(),
            https,
            tls: Arc::default(),
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

    /// TLS settings for an `https://` registry: the CAs to trust (`ca_location` / `ca_pem`; the platform's trust
    /// store without them), a client certificate and key for mutual TLS, hostname verification
    /// (`endpoint_identification`, on by default). The rustls configuration is built here, once, so a bad file
    /// or password fails now rather than on the first request. Ignored by an `http://` client.
    pub fn with_tls(mut self, settings: &TlsSettings) -> Result<RegistryClient, RegistryError> {
        let config = kafkar::security::tls::client_config(settings)?;
        self.tls = Arc::new(OnceLock::from(config));
        Ok(self)
    }

    /// A client from Confluent serializer-style properties (other keys are ignored, so a whole serializer
    /// configuration can be passed):
    /// - `schema.registry.url` (required): one URL (of a comma-separated list, the first is used);
    /// - `basic.auth.credentials.source`: `USER_INFO` (the default) takes `basic.auth.user.info`
    ///   (`user:password`; also `schema.registry.basic.auth.user.info`), `URL` takes the URL's `user:password@`;
    /// - for `https://`, the `schema.registry.ssl.` prefix on kafkar's TLS setting names: `ca.location` /
    ///   `ca.pem` (PEM CAs; Java's `truststore.*` has no PEM form and is refused with this hint),
    ///   `certificate.location` / `certificate.pem` and `key.location` / `key.pem` / `key.password` (mutual TLS),
    ///   `keystore.location` / `keystore.type` / `keystore.password` (PEM only, as kafkar reads them) and
    ///   `endpoint.identification.algorithm` (`https`, the default, or `none` / empty).
    pub fn from_properties<'a>(
        properties: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<RegistryClient, RegistryError> {
        let config = |what: String| RegistryError::Config(what);
        let mut url = None;
        let mut source = None;
        let mut user_info = None;
        let mut tls = TlsSettings::default();
        let mut any_tls = false;
        for (key, value) in properties {
            let path = |v: &str| Some(PathBuf::from(v));
            match key {
                "schema.registry.url" => url = Some(value),
                "basic.auth.credentials.source" => source = Some(value),
                "basic.auth.user.info" | "schema.registry.basic.auth.user.info" => user_info = Some(value),
                _ => {
                    let Some(ssl) = key.strip_prefix("schema.registry.ssl.") else { continue };
                    any_tls = true;
                    match ssl {
                        "ca.location" => tls.ca_location = path(value),
                        "ca.pem" => tls.ca_pem = Some(value.to_owned()),
                        "certificate.location" => tls.certificate_location = path(value),
                        "certificate.pem" => tls.certificate_pem = Some(value.to_owned()),
                        "key.location" => tls.key_location = path(value),
                        "key.pem" => tls.key_pem = Some(value.to_owned()),
                        "key.password" => tls.key_password = Some(value.to_owned()),
                        "keystore.location" => tls.keystore_location = path(value),
                        "keystore.type" => tls.keystore_type = Some(value.to_owned()),
                        "keystore.password" => tls.keystore_password = Some(value.to_owned()),
                        "endpoint.identification.algorithm" => {
                            tls.endpoint_identification = match value.trim().to_ascii_lowercase().as_str() {
                                "https" => EndpointIdentification::Https,
                                "" | "none" => EndpointIdentification::None,
                                other => return Err(config(format!("{key}: {other:?} is not https or none"))),
                            }
                        }
                        "truststore.location" | "truststore.type" | "truststore.password" => {
                            return Err(config(format!(
                                "{key}: trust stores are not read; give the CA certificates as PEM in \
                                 schema.registry.ssl.ca.location"
                            )));
                        }
                        _ => return Err(config(format!("{key} is not a supported setting"))),
                    }
                }
            }
        }
        let url = url.ok_or_else(|| config("schema.registry.url is not set".into()))?;
        let mut urls = url.split(',').map(str::trim);
        let first = urls.next().unwrap_or("");
        if urls.next().is_some() {
            tracing::warn!(url, "several schema.registry.url values: only the first is used");
        }
        let (url, url_user_info) = split_user_info(first);
        let mut client = RegistryClient::new(&url)?;
        let credentials = match source.map(str::to_ascii_uppercase).as_deref() {
            None | Some("USER_INFO") => user_info,
            Some("URL") => url_user_info,
            Some(other) => return Err(config(format!("basic.auth.credentials.source {other} is not supported"))),
        };
        if let Some(info) = credentials {
            let (user, password) =
                info.split_once(':').ok_or_else(|| config("basic auth user info is not user:password".into()))?;
            client = client.with_basic_auth(user, password);
        }
        if client.https {
            client = client.with_tls(&tls)?;
        } else if any_tls {
            tracing::warn!(url, "schema.registry.ssl.* settings are ignored for an http:// registry");
        }
        Ok(client)
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

    /// The rustls configuration of an `https://` client (built on first use when [`RegistryClient::with_tls`]
    /// did not set one).
    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, RegistryError> {
        if let Some(config) = self.tls.get() {
            return Ok(config.clone());
        }
        let config = kafkar::security::tls::client_config(&TlsSettings::default())?;
        // A concurrent first request may have set it meanwhile: either is the same configuration.
        Ok(self.tls.get_or_init(|| config).clone())
    }

    /// One request; the reply's JSON on a 2xx status.
    async fn request(&self, method: &str, path: &str, body: Option<&str>) -> Result<Value, RegistryError> {
        let round_trip = async {
            let stream = TcpStream::connect((self.host.as_str(), self.port)).await?;
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
            if self.https {
                let config = self.tls_config()?;
                exchange(kafkar::security::tls::tls_connect(stream, &self.host, config).await?, &req).await
            } else {
                exchange(stream, &req).await
            }
        };
        let raw = tokio::time::timeout(self.timeout, round_trip)
            .await
            .map_err(|_| RegistryError::Timeout(self.timeout))??;
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

/// Writes `request` and reads the whole reply (up to the close, at most one byte over [`MAX_RESPONSE`]), over
/// plain TCP or TLS alike.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, request: &str) -> Result<Vec<u8>, RegistryError> {
    stream.write_all(request.as_bytes()).await?;
    stream.flush().await?;
    let mut raw = Vec::new();
    match (&mut stream).take(MAX_RESPONSE as u64 + 1).read_to_end(&mut raw).await {
        Ok(_) => {}
        // A TLS peer that closes without close_notify: the reply's framing (Content-Length or chunked, checked
        // by `parse_response`) tells whether it is complete.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {
            tracing::debug!("schema registry closed the TLS connection without close_notify");
        }
        Err(e) => return Err(e.into()),
    }
    Ok(raw)
}

/// Splits `scheme://user:password@rest` into the URL without the user info, and the user info.
fn split_user_info(url: &str) -> (String, Option<&str>) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_owned(), None) };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((info, host)) => (format!("{scheme}://{host}{}", &rest[authority_end..]), Some(info)),
        None => (url.to_owned(), None),
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
        let c = RegistryClient::new("https://reg/x").unwrap();
        assert_eq!((c.host.as_str(), c.port, c.base_path.as_str(), c.https), ("reg", 443, "/x", true));
        let c = RegistryClient::new("https://127.0.0.1:8443").unwrap();
        assert_eq!((c.port, c.https), (8443, true));
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
    fn properties() {
        let c = RegistryClient::from_properties([
            ("schema.registry.url", "http://a:1, http://b:2"),
            ("basic.auth.user.info", "u:p:q"),
            ("auto.register.schemas", "false"),
        ])
        .unwrap();
        assert_eq!((c.host.as_str(), c.port), ("a", 1));
        let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("u:p:q"));
        assert_eq!(c.authorization.as_deref(), Some(expected.as_str()));
        let c = RegistryClient::from_properties([
            ("schema.registry.url", "https://x:y@reg:9/p"),
            ("basic.auth.credentials.source", "URL"),
        ])
        .unwrap();
        assert_eq!((c.host.as_str(), c.port, c.base_path.as_str(), c.https), ("reg", 9, "/p", true));
        let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("x:y"));
        assert_eq!(c.authorization.as_deref(), Some(expected.as_str()));
        let err = |props: &[(&str, &str)]| RegistryClient::from_properties(props.iter().copied()).unwrap_err();
        assert!(matches!(err(&[]), RegistryError::Config(_)));
        let url = ("schema.registry.url", "https://reg");
        assert!(
            matches!(err(&[url, ("schema.registry.ssl.truststore.location", "t.jks")]), RegistryError::Config(m) if m.contains("ca.location"))
        );
        assert!(matches!(err(&[url, ("schema.registry.ssl.bogus", "1")]), RegistryError::Config(_)));
        assert!(matches!(
            err(&[url, ("schema.registry.ssl.endpoint.identification.algorithm", "x")]),
            RegistryError::Config(_)
        ));
        assert!(matches!(err(&[url, ("basic.auth.credentials.source", "SASL_INHERIT")]), RegistryError::Config(_)));
        assert!(matches!(err(&[url, ("basic.auth.user.info", "nocolon")]), RegistryError::Config(_)));
        // The TLS settings are read through kafkar's: a missing CA file is its typed error, at construction.
        let missing = ("schema.registry.ssl.ca.location", "/nonexistent/ca.pem");
        assert!(matches!(err(&[url, missing]), RegistryError::Tls(TlsError::Read { .. })));
        // Ignored (with a warning) for http://.
        RegistryClient::from_properties([("schema.registry.url", "http://reg"), missing]).unwrap();
    }

    #[test]
    fn user_info() {
        assert_eq!(split_user_info("https://u:p@h:1/x@y"), ("https://h:1/x@y".to_owned(), Some("u:p")));
        assert_eq!(split_user_info("http://h"), ("http://h".to_owned(), None));
    }

    #[test]
    fn segments() {
        assert_eq!(encode_segment("a.b-c_value"), "a.b-c_value");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }
}
