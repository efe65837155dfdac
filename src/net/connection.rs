//! A connection to one broker.
//!
//! A [`Connection`] is a cheap handle; the socket is owned by two tasks: a writer that takes requests from a
//! channel, stamps correlation ids and writes every request waiting in the channel with one vectored write, and a
//! reader that splits reply frames and hands each to the oldest waiting request (Kafka answers in order on a
//! connection). Keeping them apart means a large pipelined write can never deadlock against an unread reply.
//! A request that outlives its deadline closes the connection, as the Java client does; when the connection dies
//! for any reason every waiter gets the same shared error.
//!
//! A reply frame larger than `receive.message.max.bytes` is such a failure, detected from its size prefix. Below
//! that limit the read buffer grows with the bytes that actually arrive, so a size prefix alone never makes the
//! client reserve the frame it announces.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafkar_protocol::header::{RequestHeader, request_header_version, response_header_version};
use kafkar_protocol::messages::api_versions::{ApiVersionsRequest, ApiVersionsResponse};
use kafkar_protocol::messages::fetch::FetchRequest;
use kafkar_protocol::messages::fetch_view::FetchResponseView;
use kafkar_protocol::messages::sasl_authenticate::SaslAuthenticateRequest;
use kafkar_protocol::messages::sasl_handshake::SaslHandshakeRequest;
use kafkar_protocol::messages::splice::{Spliced, encode_spliced};
use kafkar_protocol::messages::{Message, Request};
use kafkar_protocol::primitives::Reader;
use kafkar_protocol::{ApiKey, ErrorCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::{Instrument, debug, debug_span, trace};

use crate::config::ClientConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::net::security::PreparedSecurity;

/// The highest ApiVersions version this client sends first.
const API_VERSIONS_VERSION: i16 = 4;

/// The API version ranges a broker advertised in its ApiVersions reply.
#[derive(Clone, Debug, Default)]
pub struct BrokerVersions {
    ranges: Vec<(i16, i16, i16)>,
}

impl BrokerVersions {
    /// Builds the table from an ApiVersions reply.
    pub fn from_response(r: &ApiVersionsResponse) -> BrokerVersions {
        let mut ranges: Vec<_> = r.api_keys.iter().map(|a| (a.api_key, a.min_version, a.max_version)).collect();
        ranges.sort_unstable();
        BrokerVersions { ranges }
    }

    /// The broker's range for `api`, if it supports it.
    pub fn range(&self, api: ApiKey) -> Option<(i16, i16)> {
        self.ranges.binary_search_by_key(&api.0, |r| r.0).ok().map(|i| (self.ranges[i].1, self.ranges[i].2))
    }

    /// The highest version of `R` both sides support, or a clear error when there is none (a broker too old).
    pub fn pick<R: Request>(&self) -> Result<i16> {
        let ours = R::SPEC.versions;
        let Some((lo, hi)) = self.range(R::API_KEY) else {
            return Err(Error::new(ErrorKind::UnsupportedVersion { api: R::API_KEY, broker: None }));
        };
        let v = hi.min(ours.max);
        if v < lo.max(ours.min) {
            return Err(Error::new(ErrorKind::UnsupportedVersion { api: R::API_KEY, broker: Some((lo, hi)) }));
        }
        Ok(v)
    }
}

struct Pending {
    frame: Spliced,
    api: ApiKey,
    version: i16,
    flexible: bool,
    expect_reply: bool,
    timeout: Duration,
    reply: ReplyTo,
}

/// Where a request's outcome goes: the reply body (response header stripped), an empty body once written for a
/// request the broker does not answer, or the error that failed the request. Dropped without an outcome (a task
/// gone), a waiting caller sees the connection closed and a callback is called with [`ErrorKind::Closed`], so that
/// no request is ever left without one.
struct ReplyTo(Option<Reply>);

enum Reply {
    /// A caller awaiting the outcome (`send_at`, [`PendingReply`]).
    Channel(oneshot::Sender<Result<Bytes>>),
    /// A function called on the connection's own tasks ([`Connection::queue_then`]).
    Call(Box<dyn FnOnce(Result<Bytes>) + Send>),
}

impl ReplyTo {
    /// A reply for a caller that awaits the receiver.
    fn channel() -> (ReplyTo, oneshot::Receiver<Result<Bytes>>) {
        let (tx, rx) = oneshot::channel();
        (ReplyTo(Some(Reply::Channel(tx))), rx)
    }

    fn send(mut self, outcome: Result<Bytes>) {
        match self.0.take() {
            Some(Reply::Channel(tx)) => {
                let _ = tx.send(outcome);
            }
            Some(Reply::Call(f)) => f(outcome),
            None => {}
        }
    }

    /// Drops it without an outcome: the caller learns of the failure from the error it is returned instead.
    fn defuse(mut self) {
        self.0 = None;
    }
}

impl Drop for ReplyTo {
    fn drop(&mut self) {
        if let Some(Reply::Call(f)) = self.0.take() {
            f(Err(Error::new(ErrorKind::Closed)));
        }
    }
}

struct InFlight {
    correlation_id: i32,
    api: ApiKey,
    version: i16,
    flexible: bool,
    deadline: Instant,
    reply: ReplyTo,
}

struct Shared {
    in_flight: Mutex<VecDeque<InFlight>>,
    /// Until when the broker asked this connection to send nothing (KIP-219 `throttle_time_ms`); the writer holds
    /// new frames until then.
    throttled_until: Mutex<Option<Instant>>,
    /// Wakes the reader when new requests wait, so it re-arms its timeout.
    added: tokio::sync::Notify,
    dead: watch::Sender<Option<Error>>,
}

impl Shared {
    /// Marks the connection dead (first cause wins) and fails every request waiting for a reply.
    fn fail(&self, cause: Error) {
        let mut first = None;
        self.dead.send_if_modified(|d| {
            if d.is_none() {
                *d = Some(cause.clone());
                first = Some(cause.clone());
                true
            } else {
                false
            }
        });
        let cause = self.dead.borrow().clone().unwrap_or(cause);
        let shared = Arc::new(cause);
        let drained: Vec<InFlight> = match self.in_flight.lock() {
            Ok(mut q) => q.drain(..).collect(),
            Err(p) => p.into_inner().drain(..).collect(),
        };
        for f in drained {
            f.reply.send(Err(Error::new(ErrorKind::Disconnected(shared.clone())).with_api(f.api)));
        }
        if let Some(c) = first {
            debug!(cause = %c, "connection closed");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<InFlight>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn throttled_until(&self) -> Option<Instant> {
        *self.throttled_until.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Quota throttling (KIP-219) a client's connections were asked for, summed over all of them.
#[derive(Debug, Default)]
pub struct ThrottleStats {
    responses: AtomicU64,
    total_ms: AtomicU64,
}

impl ThrottleStats {
    /// Responses that carried a non-zero `throttle_time_ms`.
    pub fn throttled_responses(&self) -> u64 {
        self.responses.load(Ordering::Relaxed)
    }

    /// The sum of the throttle times brokers asked for.
    pub fn total(&self) -> Duration {
        Duration::from_millis(self.total_ms.load(Ordering::Relaxed))
    }
}

/// Live connection counters of a client's broker pool, shared by all its connections; read as a
/// [`ConnectionMetrics`] snapshot.
#[derive(Debug, Default)]
pub(crate) struct ConnectionStats {
    pub(crate) dials: AtomicU64,
    pub(crate) dial_failures: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) authentication_failures: AtomicU64,
    pub(crate) reauthentications: AtomicU64,
    pub(crate) reauthentication_failures: AtomicU64,
}

impl ConnectionStats {
    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub(crate) fn snapshot(&self) -> ConnectionMetrics {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ConnectionMetrics {
            dials: get(&self.dials),
            dial_failures: get(&self.dial_failures),
            reconnects: get(&self.reconnects),
            authentication_failures: get(&self.authentication_failures),
            reauthentications: get(&self.reauthentications),
            reauthentication_failures: get(&self.reauthentication_failures),
        }
    }

    /// Counts a failed authentication (`e` of kind [`ErrorKind::Authentication`]; other errors are not counted).
    fn count_auth_failure(&self, e: &Error) {
        if matches!(e.kind(), ErrorKind::Authentication { .. }) {
            ConnectionStats::bump(&self.authentication_failures);
        }
    }
}

/// A snapshot of a client's connection counters since it was created, over all its broker connections (every
/// broker, every connection class). Read it with `connection_metrics()` on a producer, consumer or admin client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionMetrics {
    /// Connection attempts: TCP connect, TLS handshake, ApiVersions and SASL authentication, successful or not.
    pub dials: u64,
    /// Attempts that failed (refused, timed out, TLS or authentication errors).
    pub dial_failures: u64,
    /// Dials that replaced a connection which had been established and then closed (a failure, a request timeout
    /// or a refused re-authentication). 0 on a healthy run.
    pub reconnects: u64,
    /// Authentications the broker refused or the mechanism could not complete, at connect or on re-authentication.
    pub authentication_failures: u64,
    /// Successful re-authentications of live connections before their SASL session expired (KIP-368).
    pub reauthentications: u64,
    /// Re-authentications that failed (each closes its connection).
    pub reauthentication_failures: u64,
}

/// A handle to one broker connection. Cloning is cheap; all clones share the socket.
#[derive(Clone)]
pub struct Connection {
    tx: mpsc::Sender<Pending>,
    shared: Arc<Shared>,
    dead: watch::Receiver<Option<Error>>,
    versions: Arc<BrokerVersions>,
    addr: Arc<str>,
    client_id: Arc<str>,
    request_timeout: Duration,
    /// On a SASL connection: held shared while a request is queued, exclusively while re-authenticating (KIP-368),
    /// so that no other request goes out between SaslHandshake and the last SaslAuthenticate. `None` otherwise.
    sasl_gate: Option<Arc<tokio::sync::RwLock<()>>>,
    /// Set on the handle the re-authentication runs through, which holds the gate exclusively already.
    bypass_gate: bool,
    /// The SASL session lifetime the broker granted at connect (KIP-368), if any.
    session_lifetime: Option<Duration>,
    /// Where throttle times are counted (the pool's, shared by all its connections).
    throttle_stats: Arc<ThrottleStats>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("addr", &self.addr).field("closed", &self.is_closed()).finish()
    }
}

impl Connection {
    /// Dials `addr` (`host:port`; every address the name resolves to is tried in turn), runs the TLS handshake
    /// when `security.protocol` is SSL or SASL_SSL (the certificate must name the host of `addr`), negotiates API
    /// versions, then authenticates with SASL when the protocol is SASL_PLAINTEXT or SASL_SSL. The whole set-up is
    /// bounded by `config.connect_timeout`. A refused authentication is [`ErrorKind::Authentication`], a failed
    /// TLS handshake [`ErrorKind::Tls`]; neither is retriable.
    pub async fn connect(addr: &str, config: &ClientConfig) -> Result<Connection> {
        let prepared = PreparedSecurity::new(config)?;
        Connection::connect_prepared(addr, config, &prepared, &Arc::default()).await
    }

    /// [`Connection::connect`] with the TLS configuration and token provider a client prepared once (the pool's),
    /// counting authentication outcomes (at connect and on every later re-authentication) in `stats`.
    pub(crate) async fn connect_prepared(
        addr: &str,
        config: &ClientConfig,
        prepared: &PreparedSecurity,
        stats: &Arc<ConnectionStats>,
    ) -> Result<Connection> {
        let span = debug_span!("connect", broker = addr);
        async {
            let timeout = |api: Option<ApiKey>| {
                let e = Error::new(ErrorKind::Timeout).with_broker(addr);
                match api {
                    Some(api) => e.with_api(api),
                    None => e,
                }
            };
            let deadline = Instant::now() + config.connect_timeout;
            let stream = tokio::time::timeout_at(deadline, dial(addr)).await.map_err(|_| timeout(None))??;
            let _ = stream.set_nodelay(true);
            let mut conn = if config.security_protocol.uses_tls() {
                let tls = tokio::time::timeout_at(deadline, tls_handshake(stream, addr, config, prepared))
                    .await
                    .map_err(|_| timeout(None))??;
                let (rd, wr) = tokio::io::split(tls);
                Connection::start(rd, wr, addr, config)
            } else {
                let (rd, wr) = stream.into_split();
                Connection::start(rd, wr, addr, config)
            };
            let versions = tokio::time::timeout_at(deadline, conn.negotiate())
                .await
                .map_err(|_| timeout(Some(ApiKey::API_VERSIONS)))??;
            conn.versions = Arc::new(versions);
            if config.security_protocol.uses_sasl() {
                let authenticated = tokio::time::timeout_at(deadline, conn.sasl_exchange(&config.sasl, prepared)).await;
                match authenticated {
                    Ok(Ok(session)) => {
                        conn.session_lifetime = session.lifetime;
                        conn.schedule_reauthentication(session, config, prepared, stats.clone());
                    }
                    Ok(Err(e)) => {
                        stats.count_auth_failure(&e);
                        conn.close();
                        return Err(e.with_broker(addr));
                    }
                    Err(_) => {
                        conn.close();
                        return Err(timeout(Some(ApiKey::SASL_AUTHENTICATE)));
                    }
                }
            }
            debug!("connected");
            Ok(conn)
        }
        .instrument(span)
        .await
    }

    /// Re-authenticates before the session the broker granted runs out (KIP-368): at 85-95 % of its lifetime,
    /// the same exchange again on this connection, with no other request sent meanwhile (requests already queued
    /// go first, later ones wait). A refused or failed re-authentication closes the connection with its error, so
    /// the pool redials. The task holds no strong handle: it ends when the connection closes or every handle is
    /// dropped.
    fn schedule_reauthentication(
        &self,
        session: crate::net::sasl::SaslSession,
        config: &ClientConfig,
        prepared: &PreparedSecurity,
        stats: Arc<ConnectionStats>,
    ) {
        let Some(gate) = self.sasl_gate.clone() else { return };
        let weak = self.tx.downgrade();
        let template = (self.shared.clone(), self.dead.clone(), self.versions.clone(), self.addr.clone());
        let (client_id, request_timeout) = (self.client_id.clone(), self.request_timeout);
        let settings = config.sasl.clone();
        let prepared = prepared.clone();
        let limit = config.connect_timeout.max(request_timeout);
        let mut dead = self.dead.clone();
        let span = debug_span!("reauthenticate", broker = &*self.addr);
        let task = async move {
            let mut session = session;
            loop {
                let Some(after) = session.reauthenticate_after(crate::net::sasl::random_jitter()) else { return };
                tokio::select! {
                    _ = tokio::time::sleep(after) => {}
                    _ = dead.wait_for(Option::is_some) => return,
                }
                let Some(tx) = weak.upgrade() else { return };
                let (shared, dead_rx, versions, addr) = template.clone();
                let conn = Connection {
                    tx,
                    shared,
                    dead: dead_rx,
                    versions,
                    addr,
                    client_id: client_id.clone(),
                    request_timeout,
                    sasl_gate: None,
                    bypass_gate: true,
                    session_lifetime: None,
                    throttle_stats: Arc::default(),
                };
                if conn.is_closed() {
                    return;
                }
                let exclusive = gate.write().await;
                let outcome = tokio::time::timeout(limit, conn.sasl_exchange(&settings, &prepared)).await;
                drop(exclusive);
                match outcome {
                    Ok(Ok(next)) => {
                        debug!(lifetime = ?next.lifetime, "re-authenticated");
                        ConnectionStats::bump(&stats.reauthentications);
                        session = next;
                    }
                    Ok(Err(e)) => {
                        debug!(error = %e, "re-authentication failed; closing the connection");
                        ConnectionStats::bump(&stats.reauthentication_failures);
                        stats.count_auth_failure(&e);
                        conn.shared.fail(e);
                        return;
                    }
                    Err(_) => {
                        ConnectionStats::bump(&stats.reauthentication_failures);
                        conn.shared.fail(Error::new(ErrorKind::Timeout).with_api(ApiKey::SASL_AUTHENTICATE));
                        return;
                    }
                }
            }
        };
        tokio::spawn(task.instrument(span));
    }

    /// One SASL exchange with `settings`: a fresh mechanism, SaslHandshake, SaslAuthenticate rounds.
    async fn sasl_exchange(
        &self,
        settings: &crate::net::security::SaslSettings,
        prepared: &PreparedSecurity,
    ) -> Result<crate::net::sasl::SaslSession> {
        let mut mechanism = settings.mechanism(prepared, &self.addr).await?;
        let name = mechanism.name().to_owned();
        let mut transport = self.clone();
        crate::net::sasl::authenticate(&mut transport, mechanism.as_mut()).await.map_err(|e| {
            use crate::net::sasl::AuthenticationError;
            let message = match &e {
                // A dead or timed-out connection keeps its own kind: the broker may just be unreachable.
                AuthenticationError::Io { source, .. } => {
                    if let Some(inner) = source.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
                        return inner.clone();
                    }
                    e.to_string()
                }
                _ => e.to_string(),
            };
            Error::new(ErrorKind::Authentication { mechanism: name, message })
        })
    }

    /// Starts the driver tasks on the two halves of an established stream, without negotiating versions.
    fn start<R, W>(rd: R, wr: W, addr: &str, config: &ClientConfig) -> Connection
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(1024);
        let (dead_tx, dead_rx) = watch::channel(None);
        let shared = Arc::new(Shared {
            in_flight: Mutex::new(VecDeque::new()),
            throttled_until: Mutex::new(None),
            added: tokio::sync::Notify::new(),
            dead: dead_tx,
        });
        let span = debug_span!("conn", broker = addr);
        tokio::spawn(write_loop(wr, rx, shared.clone()).instrument(span.clone()));
        tokio::spawn(read_loop(rd, shared.clone(), config.max_response_size).instrument(span));
        Connection {
            tx,
            shared,
            dead: dead_rx,
            versions: Arc::new(BrokerVersions::default()),
            addr: addr.into(),
            client_id: config.client_id.as_str().into(),
            request_timeout: config.request_timeout,
            sasl_gate: config.security_protocol.uses_sasl().then(|| Arc::new(tokio::sync::RwLock::new(()))),
            bypass_gate: false,
            session_lifetime: None,
            throttle_stats: Arc::default(),
        }
    }

    /// Counts this connection's throttling in `stats` (a pool shares one among its connections).
    pub(crate) fn with_throttle_stats(mut self, stats: Arc<ThrottleStats>) -> Connection {
        self.throttle_stats = stats;
        self
    }

    /// Decodes a reply body handed to a [`queue_then`](Self::queue_then) callback (or its error, which gets this
    /// broker's address), as [`PendingReply::wait`] does.
    pub(crate) fn decode_queued<R: Request>(&self, outcome: Result<Bytes>, version: i16) -> Result<R::Response> {
        let body = outcome.map_err(|e| e.with_broker(&self.addr))?;
        self.decode_reply(body, version, R::API_KEY)
    }

    /// Decodes a reply body and honours its `throttle_time_ms` (KIP-219): the broker has muted this connection
    /// for that long, so nothing more is written to it until the time has passed.
    fn decode_reply<M: Message>(&self, body: Bytes, version: i16, api: ApiKey) -> Result<M> {
        let m = M::decode_exact(&mut Reader::new(body), version)
            .map_err(|e| Error::from(e).with_api(api).with_broker(&self.addr))?;
        if let Some(ms) = m.throttle_time_ms() {
            self.honour_throttle(ms, api);
        }
        Ok(m)
    }

    /// Sends a Fetch at `version` and reads the reply in place ([`FetchResponseView`]: checked whole, no tree of
    /// topics and partitions built), honouring its throttle time as [`send_at_with_timeout`](Self::send_at_with_timeout)
    /// does.
    pub(crate) async fn fetch_view(
        &self,
        req: &FetchRequest,
        version: i16,
        timeout: Duration,
    ) -> Result<FetchResponseView> {
        let body = self.send_raw(req, version, timeout).await?;
        let view = FetchResponseView::parse(body, version)
            .map_err(|e| Error::from(e).with_api(ApiKey::FETCH).with_broker(&self.addr))?;
        self.honour_throttle(view.throttle_time_ms(), ApiKey::FETCH);
        Ok(view)
    }

    /// Mutes this connection for a reply's `throttle_time_ms`, when positive.
    fn honour_throttle(&self, ms: i32, api: ApiKey) {
        if ms > 0 {
            let until = Instant::now() + Duration::from_millis(ms as u64);
            {
                let mut t = self.shared.throttled_until.lock().unwrap_or_else(|p| p.into_inner());
                *t = Some(t.map_or(until, |old| old.max(until)));
            }
            self.throttle_stats.responses.fetch_add(1, Ordering::Relaxed);
            self.throttle_stats.total_ms.fetch_add(ms as u64, Ordering::Relaxed);
            debug!(broker = %self.addr, api = %api, throttle_ms = ms, "throttled by a broker quota");
        }
    }

    async fn negotiate(&self) -> Result<BrokerVersions> {
        let mut version = API_VERSIONS_VERSION;
        loop {
            // Client software name and version exist from v3 on; older versions carry an empty body.
            let req = if version >= 3 {
                ApiVersionsRequest {
                    client_software_name: "kafkar".into(),
                    client_software_version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }
            } else {
                ApiVersionsRequest::default()
            };
            let body = self.send_raw(&req, version, self.request_timeout).await?;
            let (resp, decoded_at) = ApiVersionsResponse::decode_reply(body, version)?;
            if resp.error_code == ErrorCode::UNSUPPORTED_VERSION && decoded_at == 0 {
                // The broker does not speak our ApiVersions version: retry at its highest, once.
                let theirs = resp.find(ApiKey::API_VERSIONS).map(|a| a.max_version).unwrap_or(0);
                let next = theirs.min(version - 1);
                if next < 0 || next >= version {
                    return Err(Error::broker(resp.error_code).with_api(ApiKey::API_VERSIONS));
                }
                version = next;
                continue;
            }
            if resp.error_code.is_err() {
                return Err(Error::broker(resp.error_code).with_api(ApiKey::API_VERSIONS));
            }
            return Ok(BrokerVersions::from_response(&resp));
        }
    }

    /// The address this connection was dialled at.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// How long the broker keeps this connection's SASL session (KIP-368 `connections.max.reauth.ms`), as granted
    /// when it connected; the connection re-authenticates before it runs out. `None` without SASL or a limit.
    pub fn session_lifetime(&self) -> Option<Duration> {
        self.session_lifetime
    }

    /// The versions the broker supports.
    pub fn versions(&self) -> &BrokerVersions {
        &self.versions
    }

    /// True once the connection has failed or closed; it never recovers (dial a new one).
    pub fn is_closed(&self) -> bool {
        self.dead.borrow().is_some() || self.tx.is_closed()
    }

    /// The error that closed the connection, if it is closed.
    pub fn close_cause(&self) -> Option<Error> {
        self.dead.borrow().clone()
    }

    /// Requests waiting for a reply.
    pub fn in_flight(&self) -> usize {
        self.shared.lock().len()
    }

    /// Closes the connection: requests still waiting fail with [`ErrorKind::Closed`].
    pub fn close(&self) {
        self.shared.fail(Error::new(ErrorKind::Closed));
    }

    /// Sends `req` at the highest version both sides support and waits for the typed reply.
    pub async fn send<R: Request>(&self, req: &R) -> Result<R::Response> {
        let v = self.versions.pick::<R>()?;
        self.send_at(req, v).await
    }

    /// Sends `req` at `version` and waits for the typed reply.
    pub async fn send_at<R: Request>(&self, req: &R, version: i16) -> Result<R::Response> {
        self.send_at_with_timeout(req, version, self.request_timeout).await
    }

    /// Like [`Connection::send_at`] with an explicit reply timeout (a Fetch waits `fetch.max.wait.ms` on top).
    pub async fn send_at_with_timeout<R: Request>(
        &self,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response> {
        let body = self.send_raw(req, version, timeout).await?;
        self.decode_reply(body, version, R::API_KEY)
    }

    /// Sends `req` at `version` without waiting for a reply (a Produce with acks=0, to which brokers send none).
    /// Returns once the request is written.
    pub async fn send_no_reply<R: Request>(&self, req: &R, version: i16) -> Result<()> {
        let (reply, rx) = ReplyTo::channel();
        self.enqueue(req, version, 0, false, self.request_timeout, reply).await?;
        self.await_reply(rx, R::API_KEY).await.map(|_| ())
    }

    /// Encodes `req` into a frame whose head is allocated at `capacity` bytes up front. Byte fields of
    /// [`SPLICE_MIN`](kafkar_protocol::messages::splice::SPLICE_MIN) bytes or more (a Produce request's record batches) are not copied into it: they are written
    /// from their own buffers, in one vectored write with the head ([`encode_spliced`]). A head that outgrows its
    /// allocation is copied into one of twice the size, so a caller that knows the size of the rest saves the copies.
    fn encode_sized<R: Request>(&self, req: &R, version: i16, capacity: usize) -> Result<Spliced> {
        let flexible = R::is_flexible(version);
        let mut frame = BytesMut::with_capacity(capacity.max(64));
        frame.put_i32(0); // size, patched below
        let header = RequestHeader {
            api_key: R::API_KEY.0,
            api_version: version,
            correlation_id: 0, // stamped by the writer task
            client_id: Some(self.client_id.to_string()),
            unknown_tagged_fields: Vec::new(),
        };
        header.encode(&mut frame, request_header_version(flexible))?;
        let mut frame = encode_spliced(req, frame, version).map_err(|e| Error::from(e).with_api(R::API_KEY))?;
        let total = frame.len();
        let size =
            i32::try_from(total - 4).map_err(|_| Error::invalid(format!("request of {total} bytes is too large")))?;
        frame.head[..4].copy_from_slice(&size.to_be_bytes());
        Ok(frame)
    }

    /// Sends an encoded request body and returns the reply body (response header stripped).
    async fn send_raw<R: Request>(&self, req: &R, version: i16, timeout: Duration) -> Result<Bytes> {
        let (reply, rx) = ReplyTo::channel();
        self.enqueue(req, version, 0, true, timeout, reply).await?;
        self.await_reply(rx, R::API_KEY).await
    }

    /// Encodes `req` at `version` (into a frame of `size_hint` bytes, see [`encode_sized`](Self::encode_sized)) and
    /// hands it to the writer task; its outcome goes to `reply`, which is defused when this returns an error. Frames
    /// are written (and correlation ids stamped) in the order this returns.
    async fn enqueue<R: Request>(
        &self,
        req: &R,
        version: i16,
        size_hint: usize,
        expect_reply: bool,
        timeout: Duration,
        reply: ReplyTo,
    ) -> Result<()> {
        let (api, flexible) = (R::API_KEY, R::is_flexible(version));
        let frame = match self.encode_sized(req, version, size_hint) {
            Ok(f) => f,
            Err(e) => {
                reply.defuse();
                return Err(e);
            }
        };
        if let Some(e) = self.close_cause() {
            reply.defuse();
            return Err(Error::new(ErrorKind::Disconnected(Arc::new(e))).with_api(api).with_broker(&self.addr));
        }
        let p = Pending { frame, api, version, flexible, expect_reply, timeout, reply };
        let _shared = match (&self.sasl_gate, self.bypass_gate) {
            (Some(gate), false) => Some(gate.read().await),
            _ => None,
        };
        if let Err(mpsc::error::SendError(p)) = self.tx.send(p).await {
            p.reply.defuse();
            return Err(self.closed_error(api));
        }
        Ok(())
    }

    async fn await_reply(&self, rx: oneshot::Receiver<Result<Bytes>>, api: ApiKey) -> Result<Bytes> {
        match rx.await {
            Ok(r) => r.map_err(|e| e.with_broker(&self.addr)),
            Err(_) => Err(self.closed_error(api)),
        }
    }

    /// Queues `req` at `version` for writing and returns without waiting for the reply; [`PendingReply::wait`]
    /// gives it. Requests queued one after another (each `queue` awaited before the next) go on the wire in that
    /// order, which a pipelining caller such as the producer relies on to keep sequence numbers in order.
    /// `size_hint` is the expected frame size (see [`encode_sized`](Self::encode_sized)); 0 when unknown.
    pub async fn queue<R: Request>(&self, req: &R, version: i16, size_hint: usize) -> Result<PendingReply<R>> {
        let (reply, rx) = ReplyTo::channel();
        self.enqueue(req, version, size_hint, true, self.request_timeout, reply).await?;
        Ok(PendingReply { rx, version, conn: self.clone(), _request: std::marker::PhantomData })
    }

    /// Like [`Connection::queue`] for a request the broker does not answer (a Produce with acks=0): the returned
    /// [`PendingReply::written`] resolves once the frame is written.
    pub async fn queue_no_reply<R: Request>(&self, req: &R, version: i16, size_hint: usize) -> Result<PendingReply<R>> {
        let (reply, rx) = ReplyTo::channel();
        self.enqueue(req, version, size_hint, false, self.request_timeout, reply).await?;
        Ok(PendingReply { rx, version, conn: self.clone(), _request: std::marker::PhantomData })
    }

    /// Like [`Connection::queue`] (or [`Connection::queue_no_reply`] when `expect_reply` is false), but the outcome
    /// goes to `on_reply`, called on the connection's own tasks with the reply body (response header stripped;
    /// decode it with [`decode_queued`](Self::decode_queued)), an empty body once written when no reply is
    /// expected, or the error that failed the request. For a pipelining caller that handles replies on a task of its
    /// own: no task or channel of the connection's in between. Keep `on_reply` short (a channel send). It is not
    /// called when this returns an error, and is called exactly once otherwise.
    pub(crate) async fn queue_then<R: Request>(
        &self,
        req: &R,
        version: i16,
        size_hint: usize,
        expect_reply: bool,
        on_reply: impl FnOnce(Result<Bytes>) + Send + 'static,
    ) -> Result<()> {
        let reply = ReplyTo(Some(Reply::Call(Box::new(on_reply))));
        self.enqueue(req, version, size_hint, expect_reply, self.request_timeout, reply).await
    }

    fn closed_error(&self, api: ApiKey) -> Error {
        let cause = self.close_cause().unwrap_or_else(|| Error::new(ErrorKind::Closed));
        Error::new(ErrorKind::Disconnected(Arc::new(cause))).with_api(api).with_broker(&self.addr)
    }
}

/// A request already queued on a [`Connection`] (see [`Connection::queue`]); await its reply with
/// [`PendingReply::wait`].
pub struct PendingReply<R: Request> {
    rx: oneshot::Receiver<Result<Bytes>>,
    version: i16,
    conn: Connection,
    _request: std::marker::PhantomData<fn() -> R>,
}

impl<R: Request> std::fmt::Debug for PendingReply<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingReply").field("api", &R::API_KEY).field("version", &self.version).finish()
    }
}

impl<R: Request> PendingReply<R> {
    /// Waits for the reply and decodes it.
    pub async fn wait(self) -> Result<R::Response> {
        let body = self.conn.await_reply(self.rx, R::API_KEY).await?;
        self.conn.decode_reply(body, self.version, R::API_KEY)
    }

    /// Waits until the request is written (for requests queued with [`Connection::queue_no_reply`]).
    pub async fn written(self) -> Result<()> {
        self.conn.await_reply(self.rx, R::API_KEY).await.map(|_| ())
    }
}

/// The host part of `host:port` (brackets of an IPv6 literal removed): the TLS server name.
#[cfg(feature = "tls")]
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

#[cfg(feature = "tls")]
async fn tls_handshake(
    stream: TcpStream,
    addr: &str,
    config: &ClientConfig,
    prepared: &PreparedSecurity,
) -> Result<crate::net::tls::TlsStream<TcpStream>> {
    use crate::net::tls;
    let tls_error = |e: tls::TlsError| Error::new(ErrorKind::Tls(e.to_string())).with_broker(addr);
    let client_config = match &prepared.tls {
        Some(c) => c.clone(),
        None => tls::client_config(&config.tls).map_err(tls_error)?,
    };
    tls::tls_connect(stream, host_of(addr), client_config).await.map_err(tls_error)
}

#[cfg(not(feature = "tls"))]
async fn tls_handshake(
    stream: TcpStream,
    addr: &str,
    _config: &ClientConfig,
    _prepared: &PreparedSecurity,
) -> Result<TcpStream> {
    drop(stream);
    Err(Error::config_key("security.protocol", format!("TLS to {addr}: kafkar was built without the `tls` feature")))
}

/// The SASL requests on a connection: SaslHandshake v1, then SaslAuthenticate at the highest version both sides
/// support (at least 1, for the session lifetime).
impl crate::net::sasl::SaslTransport for Connection {
    fn handshake(
        &mut self,
        mechanism: &str,
    ) -> impl std::future::Future<Output = std::io::Result<crate::net::sasl::HandshakeReply>> + Send {
        let req = SaslHandshakeRequest { mechanism: mechanism.to_owned(), ..Default::default() };
        let conn = self.clone();
        async move {
            let r = conn.send_at(&req, 1).await.map_err(std::io::Error::other)?;
            Ok(crate::net::sasl::HandshakeReply { error_code: r.error_code, enabled_mechanisms: r.mechanisms })
        }
    }

    fn authenticate(
        &mut self,
        auth_bytes: Vec<u8>,
    ) -> impl std::future::Future<Output = std::io::Result<crate::net::sasl::AuthenticateReply>> + Send {
        let req = SaslAuthenticateRequest { auth_bytes: Bytes::from(auth_bytes), ..Default::default() };
        let conn = self.clone();
        async move {
            let version = conn.versions.pick::<SaslAuthenticateRequest>().map_err(std::io::Error::other)?;
            if version < 1 {
                return Err(std::io::Error::other("the broker does not support SaslAuthenticate v1"));
            }
            let r = conn.send_at(&req, version).await.map_err(std::io::Error::other)?;
            Ok(crate::net::sasl::AuthenticateReply {
                error_code: r.error_code,
                error_message: r.error_message,
                auth_bytes: r.auth_bytes.to_vec(),
                session_lifetime_ms: r.session_lifetime_ms,
            })
        }
    }
}

async fn dial(addr: &str) -> Result<TcpStream> {
    let mut last = None;
    let addrs = tokio::net::lookup_host(addr).await.map_err(|e| Error::from(e).with_broker(addr))?;
    for a in addrs {
        match TcpStream::connect(a).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => Error::from(e).with_broker(addr),
        None => Error::config(format!("{addr} resolves to no address")),
    })
}

async fn write_loop<W: AsyncWrite + Unpin>(mut wr: W, mut rx: mpsc::Receiver<Pending>, shared: Arc<Shared>) {
    let mut dead = shared.dead.subscribe();
    let mut next_id: i32 = 0;
    let mut frames: Vec<Bytes> = Vec::new();
    let mut no_reply: Vec<ReplyTo> = Vec::new();
    loop {
        let first = tokio::select! {
            p = rx.recv() => match p {
                Some(p) => p,
                None => break, // every handle dropped
            },
            _ = dead.changed() => break,
        };
        // A broker that throttled this connection (KIP-219) gets nothing until the throttle time is over. Request
        // deadlines start once a frame is written, so waiting here never times a request out.
        if let Some(until) = shared.throttled_until().filter(|&u| u > Instant::now()) {
            trace!(wait_ms = (until - Instant::now()).as_millis() as u64, "holding frames: throttled");
            tokio::select! {
                _ = tokio::time::sleep_until(until) => {}
                _ = dead.changed() => break,
            }
        }
        // Take everything already queued: one write for all of it.
        let mut batch = vec![first];
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let now = Instant::now();
        for mut p in batch {
            let id = next_id;
            next_id = next_id.wrapping_add(1) & i32::MAX;
            p.frame.head[8..12].copy_from_slice(&id.to_be_bytes());
            trace!(api = %p.api, version = p.version, correlation_id = id, bytes = p.frame.len(), "send");
            p.frame.into_pieces(&mut frames);
            if p.expect_reply {
                shared.lock().push_back(InFlight {
                    correlation_id: id,
                    api: p.api,
                    version: p.version,
                    flexible: p.flexible,
                    deadline: now + p.timeout,
                    reply: p.reply,
                });
            } else {
                no_reply.push(p.reply);
            }
        }
        shared.added.notify_one();
        // The connection may have died while these were registered: the reader is gone then, and `fail` may have
        // drained the waiting requests before they were pushed. Drain again (the first cause stays), or their
        // waiters would wait for ever: nothing else answers or times them out once the reader has stopped.
        let dead = shared.dead.borrow().is_some();
        if dead {
            shared.fail(Error::new(ErrorKind::Closed));
            break;
        }
        if let Err(e) = write_frames(&mut wr, &mut frames).await {
            shared.fail(Error::from(e));
            break;
        }
        for r in no_reply.drain(..) {
            r.send(Ok(Bytes::new()));
        }
    }
    // Fail whatever is still queued, then close the socket's write side.
    rx.close();
    let cause = shared.dead.borrow().clone().unwrap_or_else(|| Error::new(ErrorKind::Closed));
    let cause = Arc::new(cause);
    while let Ok(p) = rx.try_recv() {
        p.reply.send(Err(Error::new(ErrorKind::Disconnected(cause.clone())).with_api(p.api)));
    }
    for r in no_reply.drain(..) {
        r.send(Err(Error::new(ErrorKind::Disconnected(cause.clone()))));
    }
    let _ = wr.shutdown().await;
}

/// The most pieces (frame heads and the batches spliced between them) handed to one vectored write; Linux takes up to
/// 1,024.
const WRITE_PIECES: usize = 256;

async fn write_frames<W: AsyncWrite + Unpin>(wr: &mut W, frames: &mut Vec<Bytes>) -> std::io::Result<()> {
    let mut i = 0;
    while i < frames.len() {
        let slices: Vec<IoSlice<'_>> = frames[i..].iter().take(WRITE_PIECES).map(|b| IoSlice::new(b)).collect();
        let mut n = wr.write_vectored(&slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while n > 0 && i < frames.len() {
            let len = frames[i].len();
            if n >= len {
                n -= len;
                i += 1;
            } else {
                frames[i].advance(n);
                n = 0;
            }
        }
    }
    frames.clear();
    Ok(())
}

/// Capacity the read buffer starts with, and grows by when it has less than [`READ_MIN_SPARE`] free between frames.
const READ_CHUNK: usize = 64 * 1024;

/// Free capacity below which the read buffer grows before the next read.
const READ_MIN_SPARE: usize = 4096;

/// The most a frame's size prefix alone makes the read buffer reserve. Past it, the buffer grows by at most the bytes
/// of the frame already received (so at most doubles), however large the announced size: what is allocated stays
/// within a fixed multiple of what arrived plus this constant. Frames up to this size (most replies, and fetch
/// responses under the default `max.partition.fetch.bytes`, 1 MiB, on up to seven partitions) are read into one
/// allocation of exactly their size: a frame larger than the step is held in a buffer of up to twice its size.
const FRAME_RESERVE_STEP: usize = 8 << 20;

/// What the read buffer must reserve for a frame of `total` bytes (size prefix included) of which `have` are in the
/// buffer: the rest of the frame, but never more than [`FRAME_RESERVE_STEP`] or the bytes already received,
/// whichever is larger.
fn frame_reserve(total: usize, have: usize) -> usize {
    total.saturating_sub(have).min(FRAME_RESERVE_STEP.max(have))
}

/// Makes room in the read buffer for `additional` more bytes. While it holds little (at most [`READ_COPY_MAX`]): a
/// new buffer of exactly those bytes plus `additional`, the bytes copied. Not `BytesMut::reserve` there: the read
/// buffer shares its allocation with the frames split off it, and once they are dropped `reserve` grows that whole
/// allocation, by doubling, to add room at its end (a 6 MB fetch reply, read and dropped, left a 12 MB buffer behind
/// for the next 64 KiB read). A frame larger than [`FRAME_RESERVE_STEP`] grows again once much of it has arrived:
/// then `reserve` (a reallocation, which need not copy; the buffer starts at that frame, so no dead head grows).
fn grow(buf: &mut BytesMut, additional: usize) {
    if buf.capacity() - buf.len() >= additional {
        return;
    }
    if buf.len() > READ_COPY_MAX {
        buf.reserve(additional);
        return;
    }
    let mut fresh = BytesMut::with_capacity(buf.len() + additional);
    fresh.extend_from_slice(buf);
    *buf = fresh;
}

/// The most bytes [`grow`] copies into a new buffer.
const READ_COPY_MAX: usize = 256 * 1024;

/// Reads reply frames off the socket and delivers each to its waiter. `max_frame` is `receive.message.max.bytes`:
/// a larger size prefix fails the connection with [`ErrorKind::Protocol`] before anything is allocated for it.
async fn read_loop<R: AsyncRead + Unpin>(mut rd: R, shared: Arc<Shared>, max_frame: usize) {
    let mut dead = shared.dead.subscribe();
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    loop {
        // Hand out every complete frame in the buffer; `rest` is what a frame begun in it still lacks.
        let mut rest = None;
        loop {
            if buf.len() < 4 {
                break;
            }
            let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
            let Some(len) = usize::try_from(size).ok().filter(|&n| (4..=max_frame).contains(&n)) else {
                shared.fail(Error::protocol(format!(
                    "reply frame size {size} outside 4..={max_frame} (receive.message.max.bytes)"
                )));
                return;
            };
            let total = len + 4;
            if buf.len() < total {
                // Grow with the bytes that arrive, never by the announced size alone.
                let more = frame_reserve(total, buf.len());
                grow(&mut buf, more);
                rest = Some(total - buf.len());
                break;
            }
            let mut frame = buf.split_to(total).freeze();
            frame.advance(4);
            if let Err(e) = deliver(&shared, frame) {
                shared.fail(e);
                return;
            }
        }
        let deadline = shared.lock().iter().map(|f| f.deadline).min();
        let read = async {
            // Room for the rest of a frame begun is room enough: growing a buffer sized to its frame would double it.
            if buf.capacity() - buf.len() < rest.map_or(READ_MIN_SPARE, |r| r.min(READ_MIN_SPARE)) {
                grow(&mut buf, READ_CHUNK);
            }
            rd.read_buf(&mut buf).await
        };
        tokio::select! {
            r = read => match r {
                Ok(0) => {
                    shared.fail(Error::new(ErrorKind::Io(Arc::new(std::io::ErrorKind::UnexpectedEof.into()))));
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    shared.fail(Error::from(e));
                    return;
                }
            },
            _ = sleep_until_opt(deadline) => {
                let expired = {
                    let q = shared.lock();
                    q.iter().find(|f| f.deadline <= Instant::now()).map(|f| (f.api, f.correlation_id))
                };
                if let Some((api, id)) = expired {
                    debug!(api = %api, correlation_id = id, "request timed out; closing connection");
                    shared.fail(Error::new(ErrorKind::Timeout).with_api(api));
                    return;
                }
            }
            _ = shared.added.notified() => {}
            _ = dead.changed() => return,
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Matches a reply frame to the oldest waiting request and hands over its body.
fn deliver(shared: &Shared, frame: Bytes) -> Result<()> {
    let Some(f) = shared.lock().pop_front() else {
        return Err(Error::protocol("reply received with no request waiting"));
    };
    let mut r = Reader::new(frame);
    let id = r.i32("correlation id")?;
    if id != f.correlation_id {
        let e = Error::protocol(format!("correlation id {id} does not match the oldest request {}", f.correlation_id));
        f.reply.send(Err(e.clone().with_api(f.api)));
        return Err(e);
    }
    if response_header_version(f.api, f.flexible) >= 1 {
        if let Err(e) = r.tagged_fields(|_, _| Ok(false)) {
            let e = Error::from(e).with_api(f.api);
            f.reply.send(Err(e.clone()));
            return Err(e);
        }
    }
    trace!(api = %f.api, version = f.version, correlation_id = id, bytes = r.remaining(), "reply");
    f.reply.send(Ok(r.take_rest()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "tls")]
    #[test]
    fn the_tls_server_name_is_the_host_of_the_address() {
        assert_eq!(host_of("broker-1.example:9093"), "broker-1.example");
        assert_eq!(host_of("127.0.0.1:9093"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9093"), "::1");
    }

    /// A socket that takes at most `step` bytes per write, across the slices of a vectored write.
    struct Trickle {
        step: usize,
        out: Vec<u8>,
        writes: usize,
    }

    impl tokio::io::AsyncWrite for Trickle {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.poll_write_vectored_inner(&[IoSlice::new(buf)])
        }

        fn poll_write_vectored(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.poll_write_vectored_inner(bufs)
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    impl Trickle {
        fn poll_write_vectored_inner(&mut self, bufs: &[IoSlice<'_>]) -> std::task::Poll<std::io::Result<usize>> {
            self.writes += 1;
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(self.step - n);
                self.out.extend_from_slice(&b[..take]);
                n += take;
                if n == self.step {
                    break;
                }
            }
            std::task::Poll::Ready(Ok(n))
        }
    }

    /// A Produce frame goes out as its head and the batches spliced between its pieces; a socket that takes a few
    /// bytes at a time still gets exactly the frame a contiguous encode makes, frames in order.
    #[tokio::test]
    async fn spliced_frames_are_written_whole_and_in_order_through_short_writes() {
        use kafkar_protocol::messages::produce::ProduceRequest;
        use kafkar_protocol::primitives::Uuid;
        let mut want = Vec::new();
        let mut frames = Vec::new();
        for (i, sizes) in [&[5_000usize, 10, 9_000][..], &[40_000][..], &[3][..]].into_iter().enumerate() {
            let mut req = ProduceRequest::new(-1, 1_000);
            for (p, &n) in sizes.iter().enumerate() {
                let body: Vec<u8> = (0..n).map(|j| (i + p * 7 + j) as u8).collect();
                req.add_batch(12, "t", Uuid::ZERO, p as i32, body.into());
            }
            want.extend_from_slice(&req.to_bytes(12).unwrap());
            let spliced = encode_spliced(&req, BytesMut::new(), 12).unwrap();
            assert_eq!(spliced.splices.len(), sizes.iter().filter(|&&n| n >= 4096).count());
            spliced.into_pieces(&mut frames);
        }
        let mut socket = Trickle { step: 1000, out: Vec::new(), writes: 0 };
        write_frames(&mut socket, &mut frames).await.unwrap();
        assert!(frames.is_empty());
        assert_eq!(socket.out.len(), want.len());
        assert!(socket.out == want, "the bytes written differ from the contiguous encode");
        assert_eq!(socket.writes, want.len().div_ceil(1000));
    }

    fn test_shared() -> Arc<Shared> {
        Arc::new(Shared {
            in_flight: Mutex::new(VecDeque::new()),
            throttled_until: Mutex::new(None),
            added: tokio::sync::Notify::new(),
            dead: watch::channel(None).0,
        })
    }

    /// A request the writer registers just after the reader failed the connection (and drained the waiting
    /// requests) still gets an error: before the fix it waited for ever, and with it a metadata refresh, and so a
    /// producer's view of the leaders (found by the 3-node chaos run: NOT_LEADER_OR_FOLLOWER until
    /// delivery.timeout.ms).
    #[tokio::test]
    async fn a_request_registered_as_the_connection_dies_is_failed_not_left_waiting() {
        let shared = test_shared();
        shared.fail(Error::new(ErrorKind::Io(Arc::new(std::io::ErrorKind::ConnectionReset.into()))));
        let (tx, rx) = mpsc::channel(4);
        // One awaited request and one whose outcome goes to a callback (`queue_then`, the producer's Produce).
        let (reply, mut waiter) = oneshot::channel();
        let reply = ReplyTo(Some(Reply::Channel(reply)));
        let (called_tx, mut called) = oneshot::channel();
        let call = ReplyTo(Some(Reply::Call(Box::new(move |outcome| {
            let _ = called_tx.send(outcome);
        }))));
        for reply in [reply, call] {
            let mut frame = BytesMut::new();
            frame.extend_from_slice(&[0u8; 16]);
            let p = Pending {
                frame: Spliced { head: frame, splices: Vec::new() },
                api: ApiKey::METADATA,
                version: 12,
                flexible: true,
                expect_reply: true,
                timeout: Duration::from_secs(30),
                reply,
            };
            tx.send(p).await.unwrap();
        }
        write_loop(tokio::io::sink(), rx, shared.clone()).await;
        for outcome in [waiter.try_recv(), called.try_recv()] {
            match outcome {
                Ok(Err(e)) => assert!(matches!(e.kind(), ErrorKind::Disconnected(_)), "{e:?}"),
                other => panic!("the request must have failed, got {other:?}"),
            }
        }
        assert!(shared.lock().is_empty(), "nothing left waiting");
    }

    /// The read buffer shares its allocation with the frames split off it. Once a large frame is read and dropped,
    /// the next read gets a fresh buffer of the read size; `BytesMut::reserve` doubled the dead frame's allocation
    /// instead (a 6 MB reply left 12 MB behind).
    #[test]
    fn a_buffer_left_after_a_large_frame_grows_afresh_not_by_doubling_the_frame() {
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        grow(&mut buf, 6 << 20);
        buf.extend_from_slice(&vec![7u8; 6 << 20]);
        let frame = buf.split_to(6 << 20).freeze();
        drop(frame);
        grow(&mut buf, READ_CHUNK);
        assert!(buf.capacity() >= READ_CHUNK);
        assert!(buf.capacity() < 2 * READ_CHUNK, "capacity {} after a 6 MiB frame", buf.capacity());
    }

    /// A frame within one step gets an allocation of exactly its size, keeping what arrived before.
    #[test]
    fn a_frame_within_one_step_is_reserved_exactly() {
        let total = 6_300_000;
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        buf.extend_from_slice(&(total as i32 - 4).to_be_bytes());
        buf.extend_from_slice(&[1u8; 60_000]);
        let have = buf.len();
        grow(&mut buf, frame_reserve(total, have));
        assert_eq!(buf.capacity(), total);
        assert_eq!(&buf[4..8], &[1, 1, 1, 1]);
        assert_eq!(buf.len(), have);
    }

    #[test]
    fn a_size_prefix_alone_reserves_at_most_one_step() {
        // Only the prefix has arrived: a 250 MB announcement reserves one step, a small frame all of itself.
        assert_eq!(frame_reserve(250_000_004, 4), FRAME_RESERVE_STEP);
        assert_eq!(frame_reserve(1000, 4), 996);
        assert_eq!(frame_reserve(FRAME_RESERVE_STEP + 4, 4), FRAME_RESERVE_STEP);
    }

    #[test]
    fn past_one_step_the_buffer_at_most_doubles_with_what_arrived() {
        let total = 250_000_004;
        let mut have = 4;
        let mut steps = 0;
        while have < total {
            let r = frame_reserve(total, have);
            assert!(r >= 1, "always room for at least one more byte");
            assert!(r <= FRAME_RESERVE_STEP.max(have), "reserve {r} with {have} received");
            assert!(have + r <= total, "never past the frame");
            have += r;
            steps += 1;
        }
        assert!(steps < 20, "geometric growth: {steps} steps");
        assert_eq!(frame_reserve(total, total), 0);
        assert_eq!(frame_reserve(total, total + 10), 0);
    }
}
