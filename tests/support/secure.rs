//! The secured broker of `scripts/kafka start --secure`, as its `secure-info` describes it (`KAFKAR_SECURE_*`
//! variables), and a minimal Kafka request/response exchange over any stream (TCP or TLS) for the tests that
//! check the transport and SASL by hand, beneath the client's own connection code.
#![allow(dead_code)]

use std::path::PathBuf;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafkar::protocol::header::{RequestHeader, ResponseHeader, request_header_version, response_header_version};
use kafkar::protocol::messages::api_versions::{ApiVersionsRequest, ApiVersionsResponse};
use kafkar::protocol::messages::{Encode, Message, Request};
use kafkar::protocol::primitives::Reader;
use kafkar::protocol::{ApiKey, ErrorCode};
use kafkar::security::sasl::{AuthenticateReply, HandshakeReply, SaslTransport};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// What `scripts/kafka secure-info` printed, read back from the environment.
pub struct SecureBroker;

impl SecureBroker {
    /// The secured broker, or `None` (the test reports itself skipped) when `KAFKAR_SECURE_SSL_BOOTSTRAP` is not
    /// set. Start one with `KAFKAR_KAFKA_PORT=19192 scripts/kafka start --secure` and export its description
    /// with `set -a; eval "$(KAFKAR_KAFKA_PORT=19192 scripts/kafka secure-info)"; set +a`.
    pub fn from_env() -> Option<SecureBroker> {
        match std::env::var("KAFKAR_SECURE_SSL_BOOTSTRAP") {
            Ok(v) if !v.trim().is_empty() => Some(SecureBroker),
            _ => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!(
                        "KAFKAR_SECURE_SSL_BOOTSTRAP is not set: scripts/test starts the broker with --secure and \
                         exports scripts/kafka secure-info (CI never skips)"
                    );
                }
                eprintln!(
                    "skipped: KAFKAR_SECURE_SSL_BOOTSTRAP is not set (scripts/kafka start --secure, then export \
                     scripts/kafka secure-info)"
                );
                None
            }
        }
    }

    /// A `KAFKAR_SECURE_<name>` variable; panics naming it when missing.
    pub fn var(&self, name: &str) -> String {
        let key = format!("KAFKAR_SECURE_{name}");
        std::env::var(&key).unwrap_or_else(|_| panic!("{key} is not set (scripts/kafka secure-info prints it)"))
    }

    /// A file named by a `KAFKAR_SECURE_<name>` variable.
    pub fn path(&self, name: &str) -> PathBuf {
        PathBuf::from(self.var(name))
    }

    /// The first address of a listener's bootstrap (`SSL`, `SASL_PLAINTEXT`, `SASL_SSL`, `MTLS`, `DNS_ONLY`).
    pub fn address(&self, listener: &str) -> String {
        let bootstrap = self.var(&format!("{listener}_BOOTSTRAP"));
        bootstrap.split(',').next().unwrap_or_default().to_owned()
    }
}

/// One request at a time over a stream, with correlation ids checked.
pub struct WireConn<S> {
    pub stream: S,
    next_id: i32,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WireConn<S> {
    pub fn new(stream: S) -> Self {
        WireConn { stream, next_id: 1 }
    }

    /// Sends a request whose body is already encoded; returns the response body (after its header).
    pub async fn call_raw(
        &mut self,
        api_key: ApiKey,
        version: i16,
        flexible: bool,
        body: &[u8],
    ) -> std::io::Result<Bytes> {
        let id = self.next_id;
        self.next_id += 1;
        let mut frame = BytesMut::new();
        frame.put_i32(0);
        RequestHeader {
            api_key: api_key.0,
            api_version: version,
            correlation_id: id,
            client_id: Some("kafkar-secure-test".into()),
            unknown_tagged_fields: vec![],
        }
        .encode(&mut frame, request_header_version(flexible))
        .expect("request header");
        frame.put_slice(body);
        let len = (frame.len() - 4) as i32;
        frame[..4].copy_from_slice(&len.to_be_bytes());
        self.stream.write_all(&frame).await?;
        self.stream.flush().await?;

        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).await?;
        let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut body).await?;
        let mut reader = Reader::new(Bytes::from(body));
        let header = ResponseHeader::decode(&mut reader, response_header_version(api_key, flexible)).expect("header");
        assert_eq!(header.correlation_id, id, "correlation id echoed");
        Ok(reader.take_rest())
    }

    /// ApiVersions v3 (flexible), through the protocol crate's codec.
    pub async fn api_versions(&mut self) -> std::io::Result<ApiVersionsResponse> {
        let request = ApiVersionsRequest {
            client_software_name: "kafkar-secure-test".into(),
            client_software_version: "0".into(),
            ..Default::default()
        };
        let mut body = BytesMut::new();
        request.encode(&mut body, 3).expect("ApiVersions v3");
        let flexible = ApiVersionsRequest::is_flexible(3);
        let response = self.call_raw(ApiKey::API_VERSIONS, 3, flexible, &body).await?;
        let mut reader = Reader::new(response);
        Ok(<ApiVersionsRequest as Request>::Response::decode_exact(&mut reader, 3).expect("ApiVersions v3 response"))
    }
}

fn malformed(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("malformed {what} response"))
}

fn get_string(buf: &mut Bytes, what: &str) -> std::io::Result<Option<String>> {
    if buf.remaining() < 2 {
        return Err(malformed(what));
    }
    let len = buf.get_i16();
    if len < 0 {
        return Ok(None);
    }
    if buf.remaining() < len as usize {
        return Err(malformed(what));
    }
    String::from_utf8(buf.split_to(len as usize).to_vec()).map(Some).map_err(|_| malformed(what))
}

/// SaslHandshake v1 and SaslAuthenticate v1, encoded by hand (non-flexible: request header v1, response header
/// v0) until the message tables have them.
impl<S: AsyncRead + AsyncWrite + Unpin + Send> SaslTransport for WireConn<S> {
    async fn handshake(&mut self, mechanism: &str) -> std::io::Result<HandshakeReply> {
        let mut body = BytesMut::new();
        body.put_i16(mechanism.len() as i16);
        body.put_slice(mechanism.as_bytes());
        let mut r = self.call_raw(ApiKey::SASL_HANDSHAKE, 1, false, &body).await?;
        if r.remaining() < 6 {
            return Err(malformed("SaslHandshake"));
        }
        let error_code = ErrorCode(r.get_i16());
        let count = r.get_i32();
        let mut enabled_mechanisms = Vec::new();
        for _ in 0..count.max(0) {
            enabled_mechanisms.extend(get_string(&mut r, "SaslHandshake")?);
        }
        if r.has_remaining() {
            return Err(malformed("SaslHandshake"));
        }
        Ok(HandshakeReply { error_code, enabled_mechanisms })
    }

    async fn authenticate(&mut self, auth_bytes: Vec<u8>) -> std::io::Result<AuthenticateReply> {
        let mut body = BytesMut::new();
        body.put_i32(auth_bytes.len() as i32);
        body.put_slice(&auth_bytes);
        let mut r = self.call_raw(ApiKey::SASL_AUTHENTICATE, 1, false, &body).await?;
        if r.remaining() < 2 {
            return Err(malformed("SaslAuthenticate"));
        }
        let error_code = ErrorCode(r.get_i16());
        let error_message = get_string(&mut r, "SaslAuthenticate")?;
        if r.remaining() < 4 {
            return Err(malformed("SaslAuthenticate"));
        }
        let len = r.get_i32().max(0) as usize;
        if r.remaining() < len + 8 {
            return Err(malformed("SaslAuthenticate"));
        }
        let auth_bytes = r.split_to(len).to_vec();
        let session_lifetime_ms = r.get_i64();
        if r.has_remaining() {
            return Err(malformed("SaslAuthenticate"));
        }
        Ok(AuthenticateReply { error_code, error_message, auth_bytes, session_lifetime_ms })
    }
}
