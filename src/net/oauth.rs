//! OAUTHBEARER tokens (feature `oauth`): the [`TokenProvider`] trait a connection asks for a token before each
//! (re-)authentication, a fixed-token provider, and the built-in OAuth 2 client-credentials provider of KIP-768
//! ([`ClientCredentialsProvider`]).
//!
//! The client-credentials provider POSTs `grant_type=client_credentials` (and `scope` when set) to
//! `sasl.oauthbearer.token.endpoint.url` with the client id and secret in HTTP Basic authentication (each
//! form-url-encoded first, RFC 6749 §2.3.1, as Java's client does), over HTTPS with the platform's trust store (or
//! the CA the settings name), and reads `access_token` and `expires_in` from the JSON answer (without
//! `expires_in`, the JWT's `exp` claim). It keeps the token and fetches a new one once `refresh_window_factor`
//! (default 0.8, as Java's `sasl.login.refresh.window.factor`) of its lifetime has passed, so a connection
//! that authenticates or re-authenticates (KIP-368) always presents a token well before its expiry. If a refresh
//! fails while the old token is still valid, the old one is used and the failure logged.
//!
//! The HTTP exchange is a single request on a fresh connection (`Connection: close`), HTTP/1.1, with a
//! Content-Length or chunked body, capped at 1 MiB: enough for a token endpoint, with no HTTP library in the
//! dependency tree. Tokens and client secrets never appear in `Debug` output, errors or logs.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as BASE64URL};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::tls::{self, TlsSettings};

/// The largest token endpoint response read.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// A bearer token and how long it is valid from when it was obtained.
#[derive(Clone)]
pub struct OAuthBearerToken {
    value: String,
    /// How long the token is valid after `obtained_at`.
    pub lifetime: Duration,
    /// When it was obtained.
    pub obtained_at: Instant,
}

impl OAuthBearerToken {
    /// A token valid for `lifetime` from now.
    pub fn new(value: impl Into<String>, lifetime: Duration) -> Self {
        Self { value: value.into(), lifetime, obtained_at: Instant::now() }
    }

    /// The token itself (a secret: hand it to the SASL mechanism, never to a log).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// When it stops being valid.
    pub fn expires_at(&self) -> Instant {
        self.obtained_at + self.lifetime
    }
}

impl fmt::Debug for OAuthBearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthBearerToken")
            .field("value", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .field("obtained_at", &self.obtained_at)
            .finish()
    }
}

/// Why no token could be had. Never carries the token or the client secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// `sasl.oauthbearer.token.endpoint.url` is not an `http://` or `https://` URL this client can reach.
    #[error("sasl.oauthbearer.token.endpoint.url {url:?}: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Connecting to or talking with the endpoint failed.
    #[error("token endpoint {url}: {source}")]
    Io {
        /// The URL.
        url: String,
        /// The error.
        source: io::Error,
    },
    /// TLS to the endpoint failed.
    #[error("token endpoint {url}: {source}")]
    Tls {
        /// The URL.
        url: String,
        /// The error.
        source: tls::TlsError,
    },
    /// The endpoint did not answer in time.
    #[error("token endpoint {url}: no answer within {timeout:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The time allowed.
        timeout: Duration,
    },
    /// The endpoint answered with an error status.
    #[error("token endpoint {url} answered HTTP {status}{}", error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default())]
    Refused {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The OAuth `error` field, when the body has one.
        error: Option<String>,
    },
    /// The answer is not a usable token response.
    #[error("token endpoint {url}: {reason}")]
    InvalidResponse {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A custom provider's failure.
    #[error("{0}")]
    Other(String),
}

/// The future a [`TokenProvider`] returns.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<OAuthBearerToken, TokenError>> + Send + 'a>>;

/// Gives OAUTHBEARER tokens; asked before each authentication and re-authentication. Applications implement
/// it for their own identity provider.
pub trait TokenProvider: Send + Sync {
    /// A token valid now (a provider caches and refreshes as it sees fit).
    fn token(&self) -> TokenFuture<'_>;
}

/// Always the same token (e.g. one minted by the application).
#[derive(Debug, Clone)]
pub struct StaticTokenProvider(OAuthBearerToken);

impl StaticTokenProvider {
    /// Serves `token`.
    pub fn new(token: OAuthBearerToken) -> Self {
        Self(token)
    }
}

impl TokenProvider for StaticTokenProvider {
    fn token(&self) -> TokenFuture<'_> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// Settings of the client-credentials provider (KIP-768 property names in the field docs).
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientCredentialsSettings {
    /// `sasl.oauthbearer.token.endpoint.url`.
    pub token_endpoint_url: String,
    /// `clientId` in `sasl.jaas.config`.
    pub client_id: String,
    /// `clientSecret` in `sasl.jaas.config` (secret).
    pub client_secret: String,
    /// `scope` in `sasl.jaas.config`.
    pub scope: Option<String>,
    /// `sasl.login.refresh.window.factor`: the share of a token's lifetime after which it is refreshed.
    pub refresh_window_factor: f64,
    /// `sasl.login.connect.timeout.ms` and `sasl.login.read.timeout.ms` together: the whole exchange.
    pub timeout: Duration,
    /// TLS for an `https://` endpoint (by default the platform's trust store, hostname verified).
    pub tls: TlsSettings,
}

impl ClientCredentialsSettings {
    /// Settings with Java's defaults for the rest.
    pub fn new(
        token_endpoint_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            token_endpoint_url: token_endpoint_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scope: None,
            refresh_window_factor: 0.8,
            timeout: Duration::from_secs(10),
            tls: TlsSettings::default(),
        }
    }
}

impl fmt::Debug for ClientCredentialsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentialsSettings")
            .field("token_endpoint_url", &self.token_endpoint_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scope", &self.scope)
            .field("refresh_window_factor", &self.refresh_window_factor)
            .field("timeout", &self.timeout)
            .field("tls", &self.tls)
            .finish()
    }
}

/// The OAuth 2 client-credentials token provider (KIP-768).
pub struct ClientCredentialsProvider {
    settings: ClientCredentialsSettings,
    endpoint: Endpoint,
    tls: Option<Arc<rustls::ClientConfig>>,
    cached: Mutex<Option<OAuthBearerToken>>,
}

impl fmt::Debug for ClientCredentialsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentialsProvider").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl ClientCredentialsProvider {
    /// Checks the settings (URL, TLS files) and builds the provider; fetches nothing yet.
    pub fn new(settings: ClientCredentialsSettings) -> Result<Self, TokenError> {
        let endpoint = Endpoint::parse(&settings.token_endpoint_url)?;
        let tls = if endpoint.https {
            Some(
                tls::client_config(&settings.tls)
                    .map_err(|source| TokenError::Tls { url: settings.token_endpoint_url.clone(), source })?,
            )
        } else {
            if !endpoint.is_loopback() {
                tracing::warn!(
                    url = %settings.token_endpoint_url,
                    "the OAuth token endpoint is plain http: the client secret and tokens cross the network unencrypted"
                );
            }
            None
        };
        Ok(Self { settings, endpoint, tls, cached: Mutex::new(None) })
    }

    fn fresh(&self, token: &OAuthBearerToken, now: Instant) -> bool {
        let factor = self.settings.refresh_window_factor.clamp(0.5, 1.0);
        now < token.obtained_at + token.lifetime.mul_f64(factor)
    }

    async fn fetch(&self) -> Result<OAuthBearerToken, TokenError> {
        let url = &self.settings.token_endpoint_url;
        let timeout = self.settings.timeout;
        let exchange = async {
            let tcp = TcpStream::connect((self.endpoint.host.as_str(), self.endpoint.port))
                .await
                .map_err(|source| TokenError::Io { url: url.clone(), source })?;
            let request = self.request();
            match &self.tls {
                Some(config) => {
                    let stream = tls::tls_connect(tcp, &self.endpoint.host, config.clone())
                        .await
                        .map_err(|source| TokenError::Tls { url: url.clone(), source })?;
                    exchange(stream, &request).await
                }
                None => exchange(tcp, &request).await,
            }
            .map_err(|source| TokenError::Io { url: url.clone(), source })
        };
        let obtained_at = Instant::now();
        let raw = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| TokenError::Timeout { url: url.clone(), timeout })??;
        let (status, body) = parse_http_response(&raw)
            .map_err(|reason| TokenError::InvalidResponse { url: url.clone(), reason: reason.to_owned() })?;
        parse_token_response(url, status, &body, obtained_at)
    }

    fn request(&self) -> Vec<u8> {
        let mut body = String::from("grant_type=client_credentials");
        if let Some(scope) = self.settings.scope.as_deref().filter(|s| !s.is_empty()) {
            body.push_str("&scope=");
            body.push_str(&form_encode(scope));
        }
        let credentials =
            format!("{}:{}", form_encode(&self.settings.client_id), form_encode(&self.settings.client_secret));
        let host = if self.endpoint.default_port() {
            self.endpoint.host_header()
        } else {
            format!("{}:{}", self.endpoint.host_header(), self.endpoint.port)
        };
        format!(
            "POST {} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Accept: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: kafkar\r\n\r\n{body}",
            self.endpoint.path,
            BASE64.encode(credentials),
            body.len()
        )
        .into_bytes()
    }
}

impl TokenProvider for ClientCredentialsProvider {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            let mut cached = self.cached.lock().await;
            let now = Instant::now();
            if let Some(token) = cached.as_ref().filter(|t| self.fresh(t, now)) {
                return Ok(token.clone());
            }
            match self.fetch().await {
                Ok(token) => {
                    tracing::debug!(url = %self.settings.token_endpoint_url, lifetime = ?token.lifetime, "fetched an OAuth token");
                    *cached = Some(token.clone());
                    Ok(token)
                }
                Err(error) => match cached.as_ref().filter(|t| now < t.expires_at()) {
                    Some(still_valid) => {
                        tracing::warn!(%error, "could not refresh the OAuth token; using the current one until it expires");
                        Ok(still_valid.clone())
                    }
                    None => Err(error),
                },
            }
        })
    }
}

/// Writes the request, reads the whole response (the server closes the connection), capped.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, request: &[u8]) -> io::Result<Vec<u8>> {
    stream.write_all(request).await?;
    stream.flush().await?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(n) => n,
            // Some servers close TLS without close_notify once the body is complete.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !response.is_empty() => 0,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(response);
        }
        if response.len() + n > MAX_RESPONSE_BYTES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "response larger than 1 MiB"));
        }
        response.extend_from_slice(&chunk[..n]);
    }
}

/// A parsed `http(s)://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    https: bool,
    host: String,
    port: u16,
    path: String,
}

impl Endpoint {
    fn parse(url: &str) -> Result<Endpoint, TokenError> {
        let invalid = |reason| TokenError::InvalidUrl { url: url.to_owned(), reason };
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(invalid("must start with https:// (or http:// for a local test endpoint)"));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_owned()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_owned()),
        };
        if authority.contains('@') {
            return Err(invalid("credentials in the URL are not supported; use clientId and clientSecret"));
        }
        let default_port = if https { 443 } else { 80 };
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or_else(|| invalid("unterminated IPv6 address"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| invalid("invalid port"))?,
                None if after.is_empty() => default_port,
                None => return Err(invalid("invalid authority")),
            };
            (host.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_owned(), port.parse().map_err(|_| invalid("invalid port"))?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() || path.contains(char::is_whitespace) {
            return Err(invalid("no host, or whitespace in the URL"));
        }
        Ok(Endpoint { https, host, port, path })
    }

    fn default_port(&self) -> bool {
        self.port == if self.https { 443 } else { 80 }
    }

    fn host_header(&self) -> String {
        if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() }
    }

    fn is_loopback(&self) -> bool {
        self.host == "localhost" || self.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// application/x-www-form-urlencoded: unreserved characters as they are, space as `+`, the rest `%XX`.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Splits an HTTP/1.1 response into its status and (de-chunked) body.
fn parse_http_response(raw: &[u8]) -> Result<(u16, Vec<u8>), &'static str> {
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no end of the HTTP headers")?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| "HTTP headers are not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err("not an HTTP/1.x response");
    }
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).ok_or("no HTTP status code")?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("transfer-encoding") && value.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| "invalid Content-Length")?);
        }
    }
    let body = &raw[head_end + 4..];
    if chunked {
        return Ok((status, dechunk(body)?));
    }
    match length {
        Some(n) if n > body.len() => Err("the body is shorter than its Content-Length"),
        Some(n) => Ok((status, body[..n].to_vec())),
        None => Ok((status, body.to_vec())),
    }
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").ok_or("truncated chunk size")?;
        let size_text = std::str::from_utf8(&body[..line_end]).map_err(|_| "invalid chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "invalid chunk size")?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size + 2 {
            return Err("truncated chunk");
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

/// Reads a token response body (RFC 6749 §5.1), or the error of a refusal (§5.2).
fn parse_token_response(
    url: &str,
    status: u16,
    body: &[u8],
    obtained_at: Instant,
) -> Result<OAuthBearerToken, TokenError> {
    let invalid = |reason: String| TokenError::InvalidResponse { url: url.to_owned(), reason };
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    if status != 200 {
        let error = json.as_ref().and_then(|j| j.get("error")).and_then(|e| e.as_str()).map(str::to_owned);
        return Err(TokenError::Refused { url: url.to_owned(), status, error });
    }
    let json = json.ok_or_else(|| invalid("the body is not JSON".into()))?;
    let value = json
        .get("access_token")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("no access_token".into()))?;
    if let Some(kind) = json.get("token_type").and_then(|t| t.as_str()).filter(|t| !t.eq_ignore_ascii_case("bearer")) {
        return Err(invalid(format!("token_type is {kind:?}, not Bearer")));
    }
    let lifetime = match json.get("expires_in").and_then(|e| e.as_f64().or_else(|| e.as_str()?.parse().ok())) {
        Some(seconds) if seconds.is_finite() && seconds > 0.0 => Duration::from_secs_f64(seconds.min(1e9)),
        Some(_) => return Err(invalid("expires_in is not a positive number".into())),
        None => jwt_lifetime(value).ok_or_else(|| invalid("no expires_in and no JWT exp claim".into()))?,
    };
    Ok(OAuthBearerToken { value: value.to_owned(), lifetime, obtained_at })
}

/// The time left until a JWT's `exp` claim, from the system clock.
fn jwt_lifetime(token: &str) -> Option<Duration> {
    let payload = token.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&BASE64URL.decode(payload.trim_end_matches('=')).ok()?).ok()?;
    let exp = claims.get("exp")?.as_f64()?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64();
    (exp > now).then(|| Duration::from_secs_f64((exp - now).min(1e9)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let e = Endpoint::parse("https://login.example.com/oauth2/token").unwrap();
        assert_eq!(
            e,
            Endpoint { https: true, host: "login.example.com".into(), port: 443, path: "/oauth2/token".into() }
        );
        let e = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.path.as_str(), e.is_loopback()), ("127.0.0.1", 8080, "/", true));
        let e = Endpoint::parse("https://[::1]:9443/t?x=1").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str(), e.host_header()),
            ("::1", 9443, "/t?x=1", "[::1]".into())
        );
        for bad in
            ["ftp://x/", "login.example.com/token", "https://", "https://h:port/", "https://u:p@h/", "https://[::1/"]
        {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode("a b+c/d=e&f~é"), "a+b%2Bc%2Fd%3De%26f%7E%C3%A9");
    }

    #[test]
    fn http_responses() {
        let (status, body) =
            parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: y\r\n\r\n{}trailing").unwrap();
        assert_eq!((status, body.as_slice()), (200, &b"{}"[..]));
        let (status, body) = parse_http_response(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((status, body.as_slice()), (200, &br#"{"a":1}"#[..]));
        let (status, body) = parse_http_response(b"HTTP/1.0 401 Unauthorized\r\n\r\n{\"error\":\"x\"}").unwrap();
        assert_eq!((status, body.len()), (401, 13));
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"[..],
            b"SSH-2.0\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort\r\n",
        ] {
            assert!(parse_http_response(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    fn jwt(exp_in: i64) -> String {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let claims = format!(r#"{{"sub":"x","exp":{}}}"#, now + exp_in);
        format!("{}.{}.", BASE64URL.encode(br#"{"alg":"none"}"#), BASE64URL.encode(claims))
    }

    #[tokio::test]
    async fn token_responses() {
        let now = Instant::now();
        let ok = |body: &str| parse_token_response("u", 200, body.as_bytes(), now);
        let token = ok(r#"{"access_token":"abc","expires_in":3600,"token_type":"Bearer"}"#).unwrap();
        assert_eq!((token.value(), token.lifetime), ("abc", Duration::from_secs(3600)));
        assert_eq!(ok(r#"{"access_token":"abc","expires_in":"60"}"#).unwrap().lifetime, Duration::from_secs(60));
        let from_jwt = ok(&format!(r#"{{"access_token":"{}","token_type":"bearer"}}"#, jwt(600))).unwrap();
        assert!(from_jwt.lifetime > Duration::from_secs(590) && from_jwt.lifetime <= Duration::from_secs(600));
        for bad in [
            "not json",
            r#"{"expires_in":60}"#,
            r#"{"access_token":"","expires_in":60}"#,
            r#"{"access_token":"abc","expires_in":0}"#,
            r#"{"access_token":"abc","expires_in":60,"token_type":"mac"}"#,
            r#"{"access_token":"opaque-no-exp"}"#,
        ] {
            assert!(matches!(ok(bad), Err(TokenError::InvalidResponse { .. })), "{bad}");
        }
        let expired = format!(r#"{{"access_token":"{}"}}"#, jwt(-10));
        assert!(ok(&expired).is_err());
        let refused = parse_token_response("u", 401, br#"{"error":"invalid_client"}"#, now).unwrap_err();
        assert_eq!(refused.to_string(), "token endpoint u answered HTTP 401 (invalid_client)");
    }

    #[test]
    fn secrets_are_redacted() {
        let mut settings = ClientCredentialsSettings::new("https://idp.example/token", "app", "SECRET-XYZ");
        settings.scope = Some("kafka".into());
        let provider = ClientCredentialsProvider::new(settings).unwrap();
        assert!(!format!("{provider:?}").contains("SECRET-XYZ"));
        let token = OAuthBearerToken::new("TOKEN-XYZ", Duration::from_secs(1));
        assert!(!format!("{token:?}").contains("TOKEN-XYZ"));
        // The request carries the secret only inside the Basic credentials.
        let request = String::from_utf8(provider.request()).unwrap();
        assert!(!request.contains("SECRET-XYZ"));
        assert!(request.contains(&format!("Authorization: Basic {}", BASE64.encode("app:SECRET-XYZ"))));
        assert!(request.starts_with("POST /token HTTP/1.1\r\nHost: idp.example\r\n"), "{request}");
        assert!(request.ends_with("\r\n\r\ngrant_type=client_credentials&scope=kafka"), "{request}");
    }

    #[tokio::test(start_paused = true)]
    async fn refresh_after_the_window() {
        let settings = ClientCredentialsSettings::new("http://127.0.0.1:1/token", "a", "b");
        let provider = ClientCredentialsProvider::new(settings).unwrap();
        let token = OAuthBearerToken::new("t", Duration::from_secs(100));
        assert!(provider.fresh(&token, Instant::now()));
        tokio::time::advance(Duration::from_secs(79)).await;
        assert!(provider.fresh(&token, Instant::now()));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(!provider.fresh(&token, Instant::now()), "past 80 % of the lifetime");
    }
}
