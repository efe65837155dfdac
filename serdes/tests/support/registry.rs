//! A small Schema Registry for the tests (loopback HTTP/1.1): POST /subjects/{s}/versions, GET /schemas/ids/{id},
//! GET /subjects/{s}/versions/{v|latest}, with Basic auth checking and a request counter. Plain HTTP by
//! default; [`TestRegistry::start_with`] puts each connection through a wrapper first (kafkar-serdes's tests
//! use it for a TLS listener, tests/support/tls.rs), so this file needs no TLS crate.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Store {
    /// Schema id - 1 → (type, text).
    schemas: Vec<(String, String)>,
    /// Subject → the ids of its versions 1, 2, ...
    subjects: HashMap<String, Vec<u32>>,
}

/// A running test registry; it stops with the test's runtime.
pub struct TestRegistry {
    /// `http://127.0.0.1:PORT` (or the scheme given to [`TestRegistry::start_with`]).
    pub url: String,
    requests: Arc<AtomicUsize>,
}

impl TestRegistry {
    /// Starts a registry that requires Basic credentials `user:password` (e.g. "alice:secret").
    pub async fn start(credentials: &str) -> TestRegistry {
        TestRegistry::start_with(credentials, "http", |tcp| async move { Ok(tcp) }).await
    }

    /// Starts a registry whose URL has `scheme` and whose connections go through `wrap` (for example a TLS
    /// accept) before HTTP; a connection `wrap` fails is dropped and not counted as a request.
    pub async fn start_with<S, F, Fut>(credentials: &str, scheme: &str, wrap: F) -> TestRegistry
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::io::Result<S>> + Send + 'static,
    {
        use base64::Engine;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials));
        let requests = Arc::new(AtomicUsize::new(0));
        let store = Arc::new(Mutex::new(Store::default()));
        let counter = requests.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (wrapped, store, expected, counter) = (wrap(tcp), store.clone(), expected.clone(), counter.clone());
                tokio::spawn(async move {
                    if let Ok(stream) = wrapped.await {
                        counter.fetch_add(1, Ordering::SeqCst);
                        serve(stream, store, expected).await;
                    }
                });
            }
        });
        TestRegistry { url, requests }
    }

    /// How many requests (connections; one request each) it has had.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, store: Arc<Mutex<Store>>, expected: String) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or("").split(' ');
    let (method, path) = (request_line.next().unwrap_or("").to_owned(), request_line.next().unwrap_or("").to_owned());
    let mut length = 0;
    let mut auth = None;
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                // Bounded: a request body is a schema, never megabytes.
                length = v.trim().parse::<usize>().unwrap_or(0).min(1 << 20);
            } else if k.eq_ignore_ascii_case("authorization") {
                auth = Some(v.trim().to_owned());
            }
        }
    }
    while raw.len() < head_end + 4 + length {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let body: Value = serde_json::from_slice(&raw[head_end + 4..head_end + 4 + length]).unwrap_or(Value::Null);
    let (status, reply) = if auth.as_deref() != Some(expected.as_str()) {
        (401, json!({"error_code": 401, "message": "Unauthorized"}))
    } else {
        route(&method, &path, &body, &mut store.lock().unwrap_or_else(|p| p.into_inner()))
    };
    let text = reply.to_string();
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn decode_segment(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            // Bytes, not a str slice: the two bytes after '%' need not be a whole character.
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            out.push(hex.and_then(|h| u8::from_str_radix(h, 16).ok()).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn route(method: &str, path: &str, body: &Value, store: &mut Store) -> (u16, Value) {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let not_found = |code, what: &str| (404, json!({"error_code": code, "message": format!("{what} not found")}));
    let version_reply = |store: &Store, subject: &str, version: usize| {
        let id = store.subjects[subject][version - 1];
        let (kind, text) = &store.schemas[id as usize - 1];
        json!({"subject": subject, "version": version, "id": id, "schemaType": kind, "schema": text})
    };
    match (method, parts.as_slice()) {
        ("POST", ["subjects", subject, "versions"]) => {
            let subject = decode_segment(subject);
            let Some(text) = body.get("schema").and_then(Value::as_str) else {
                return (422, json!({"error_code": 42201, "message": "no schema"}));
            };
            let kind = body.get("schemaType").and_then(Value::as_str).unwrap_or("AVRO").to_owned();
            let key = (kind, text.to_owned());
            let id = match store.schemas.iter().position(|s| *s == key) {
                Some(i) => i as u32 + 1,
                None => {
                    store.schemas.push(key);
                    store.schemas.len() as u32
                }
            };
            let versions = store.subjects.entry(subject).or_default();
            if !versions.contains(&id) {
                versions.push(id);
            }
            (200, json!({"id": id}))
        }
        ("GET", ["schemas", "ids", id]) => {
            match id.parse::<usize>().ok().and_then(|i| store.schemas.get(i.wrapping_sub(1))) {
                Some((kind, text)) => (200, json!({"schemaType": kind, "schema": text})),
                None => not_found(40403, "schema"),
            }
        }
        ("GET", ["subjects", subject, "versions", version]) => {
            let subject = decode_segment(subject);
            let Some(versions) = store.subjects.get(&subject) else { return not_found(40401, "subject") };
            let n = if *version == "latest" { versions.len() } else { version.parse().unwrap_or(0) };
            if n == 0 || n > versions.len() {
                return not_found(40402, "version");
            }
            (200, version_reply(store, &subject, n))
        }
        _ => (404, json!({"error_code": 404, "message": "no such endpoint"})),
    }
}
