//! A test OAuth 2 token endpoint (client-credentials grant, RFC 6749 §4.4) on 127.0.0.1, and the unsigned JWTs
//! it issues. Kafka's unsecured OAUTHBEARER validator (what `scripts/kafka start --secure` configures) accepts
//! such tokens: header `{"alg":"none"}`, claims `sub` (the principal), `iat`, `exp` and `scope`, and an empty
//! signature part.
//!
//! `POST /token` with `grant_type=client_credentials` (form body) and the client's id and secret in HTTP Basic
//! authentication (as KIP-768's client sends them) or in the body (`client_id`, `client_secret`; RFC 6749
//! §2.3.1) answers `{"access_token": <JWT>, "expires_in": <seconds>, "token_type": "Bearer", "scope": ...}`; a
//! wrong secret gets 401 `invalid_client`, another grant 400 `unsupported_grant_type`, another path 404. One
//! request per connection (`Connection: close`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// base64url without padding (RFC 7515 §2), as JWTs use.
pub fn base64url(data: &[u8]) -> String {
    encode_base64(data, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", false)
}

/// Standard base64 with padding (HTTP Basic authentication).
pub fn base64_standard(data: &[u8]) -> String {
    encode_base64(data, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", true)
}

fn encode_base64(data: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// base64url (no padding) back to bytes, for tests that look inside a JWT.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    decode_base64(text, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}

/// Standard base64 (padding allowed) back to bytes.
pub fn base64_standard_decode(text: &str) -> Option<Vec<u8>> {
    decode_base64(text.trim_end_matches('='), b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
}

fn decode_base64(text: &str, alphabet: &[u8; 64]) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let v = alphabet.iter().position(|&a| a == c)? as u32;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
        }
    }
    Some(out)
}

/// An unsigned JWS (`alg: none`) carrying `claims`: `base64url(header).base64url(claims).` (empty signature).
pub fn unsigned_jwt(claims: &serde_json::Value) -> String {
    let header = serde_json::json!({"alg": "none"});
    format!("{}.{}.", base64url(header.to_string().as_bytes()), base64url(claims.to_string().as_bytes()))
}

/// Seconds since the epoch, now.
pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// An unsigned JWT for principal `sub`, issued now, expiring after `lifetime`, with a space-separated `scope`.
pub fn unsigned_token(sub: &str, lifetime: Duration, scope: &str) -> String {
    let iat = now_secs();
    unsigned_jwt(&serde_json::json!({
        "sub": sub,
        "iat": iat,
        "exp": iat + lifetime.as_secs(),
        "scope": scope,
    }))
}

/// One request the endpoint answered.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub status: u16,
}

/// The running endpoint; stops when dropped.
pub struct OAuthTokenEndpoint {
    url: String,
    served: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<TokenRequest>>>,
    task: JoinHandle<()>,
}

struct Config {
    client_id: String,
    client_secret: String,
    lifetime: Duration,
}

impl OAuthTokenEndpoint {
    /// Listens on 127.0.0.1 (a free port) for `client_id` / `client_secret`; tokens live `lifetime`, and name
    /// the client id as their `sub`.
    pub async fn start(client_id: &str, client_secret: &str, lifetime: Duration) -> OAuthTokenEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the token endpoint");
        let addr = listener.local_addr().expect("local address");
        let config =
            Arc::new(Config { client_id: client_id.to_owned(), client_secret: client_secret.to_owned(), lifetime });
        let served = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (served2, log2) = (served.clone(), log.clone());
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (config, served, log) = (config.clone(), served2.clone(), log2.clone());
                tokio::spawn(async move {
                    if let Ok(request) = serve(sock, &config).await {
                        served.fetch_add(1, Ordering::SeqCst);
                        log.lock().unwrap().push(request);
                    }
                });
            }
        });
        OAuthTokenEndpoint { url: format!("http://{addr}/token"), served, log, task }
    }

    /// `http://127.0.0.1:<port>/token`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many requests were answered (any status).
    pub fn requests(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    /// The requests answered so far.
    pub fn log(&self) -> Vec<TokenRequest> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for OAuthTokenEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

/// Reads one HTTP/1.1 request and answers it.
async fn serve(mut sock: TcpStream, config: &Config) -> std::io::Result<TokenRequest> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..(head_end + length).min(buf.len())]).into_owned();
    let form = parse_form(&body);

    // RFC 6749 §2.3.1: Basic credentials are the form-url-encoded id and secret, joined by ':', in base64.
    let by_header = headers.get("authorization").map(|value| {
        value
            .strip_prefix("Basic ")
            .and_then(base64_standard_decode)
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|pair| pair.split_once(':').map(|(id, secret)| (form_decode(id), form_decode(secret))))
            .is_some_and(|(id, secret)| id == config.client_id && secret == config.client_secret)
    });
    let by_body = match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => Some(id == &config.client_id && secret == &config.client_secret),
        _ => None,
    };
    let scope = form.get("scope").cloned();
    let (status, json) = if !request_line.starts_with("POST /token ") {
        (404, serde_json::json!({"error": "not_found"}))
    } else if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        (400, serde_json::json!({"error": "unsupported_grant_type"}))
    } else if by_header.or(by_body) != Some(true) {
        (401, serde_json::json!({"error": "invalid_client"}))
    } else {
        let scope_claim = scope.clone().unwrap_or_default();
        (
            200,
            serde_json::json!({
                "access_token": unsigned_token(&config.client_id, config.lifetime, &scope_claim),
                "expires_in": config.lifetime.as_secs(),
                "token_type": "Bearer",
                "scope": scope_claim,
            }),
        )
    };
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    let body = json.to_string();
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(response.as_bytes()).await?;
    sock.shutdown().await?;
    Ok(TokenRequest { client_id: form.get("client_id").cloned(), scope, status })
}

/// A tiny HTTP client for testing the endpoint: POSTs `body` with optional Basic credentials; returns the status
/// and the JSON body.
pub async fn post_form(url: &str, basic: Option<(&str, &str)>, body: &str) -> (u16, serde_json::Value) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (authority, path) = rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut sock = TcpStream::connect(authority).await.expect("connect to the token endpoint");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some((id, secret)) = basic {
        request.push_str(&format!("Authorization: Basic {}\r\n", base64_standard(format!("{id}:{secret}").as_bytes())));
    }
    request.push_str("\r\n");
    request.push_str(body);
    sock.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    sock.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status code");
    (status, serde_json::from_str(body).expect("JSON body"))
}
