//! The broker pool: live [`Connection`]s per broker address, one per [`ConnectionClass`], dialled on first use,
//! redialled after a failure with exponential backoff (`reconnect.backoff.ms` doubling up to
//! `reconnect.backoff.max.ms`, ±20 % jitter).
//!
//! A broker answers the requests of one connection one at a time, in order. A long-poll Fetch (up to
//! `fetch.max.wait.ms`), an acks=all Produce or a JoinGroup (up to the rebalance timeout) would hold up every request
//! queued behind it on the same connection, so requests that must not wait for those go over connections of their
//! own class, as the Java client keeps a separate connection to the group coordinator.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info};

use super::connection::ConnectionStats;
use super::{Connection, ConnectionMetrics, ThrottleStats};
use crate::config::{ClientConfig, MetadataRecovery};
use crate::error::{Error, Result};
use crate::net::security::PreparedSecurity;

/// What a connection is used for; each class has its own connection to a broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnectionClass {
    /// Produce and Fetch: the bulk traffic, with long polls and slow acknowledgements.
    Data,
    /// Metadata, ListOffsets, OffsetForLeaderEpoch, FindCoordinator, InitProducerId and admin requests: short
    /// requests that must not queue behind a long-poll Fetch or an acks=all Produce.
    Control,
    /// Group membership at the group coordinator: JoinGroup (held by the coordinator until the join phase ends),
    /// SyncGroup, Heartbeat, LeaveGroup and ConsumerGroupHeartbeat.
    GroupMembership,
    /// Offsets at the group coordinator: OffsetCommit and OffsetFetch, which must not wait behind a pending
    /// JoinGroup.
    GroupOffsets,
}

/// A connection slot's key: its class and the broker's address.
type SlotKey = (ConnectionClass, String);

#[derive(Default)]
struct Slot {
    conn: Option<Connection>,
    failures: u32,
    retry_at: Option<Instant>,
    /// Whether this slot has held an established connection (a later dial is a reconnect).
    connected_before: bool,
}

/// Connections to every broker a client talks to, keyed by address, plus the node id → address map learnt from
/// metadata.
pub struct BrokerPool {
    config: Arc<ClientConfig>,
    /// The TLS configuration and token provider every connection of this client shares, prepared once.
    security: PreparedSecurity,
    slots: Mutex<HashMap<SlotKey, Arc<tokio::sync::Mutex<Slot>>>>,
    nodes: Mutex<HashMap<i32, String>>,
    seed: AtomicU64,
    throttle: Arc<ThrottleStats>,
    /// The last time a broker of this client was reached (a dial that succeeded, or a live connection handed out
    /// by [`BrokerPool::any`]); the rebootstrap trigger counts from it.
    last_reached: Mutex<Instant>,
    /// Set by a `REBOOTSTRAP_REQUIRED` answer: the next [`BrokerPool::any`] starts again from the bootstrap list.
    rebootstrap_requested: AtomicBool,
    rebootstraps: AtomicU64,
    stats: Arc<ConnectionStats>,
    /// Set by [`BrokerPool::close`]: [`BrokerPool::warm`] dials nothing more.
    closed: AtomicBool,
}

impl std::fmt::Debug for BrokerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerPool").field("bootstrap", &self.config.bootstrap_servers).finish()
    }
}

impl BrokerPool {
    /// A pool for `config` (its bootstrap list is validated here).
    pub fn new(config: Arc<ClientConfig>) -> Result<BrokerPool> {
        config.validate()?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15)
            | 1;
        let security = PreparedSecurity::new(&config)?;
        Ok(BrokerPool {
            config,
            security,
            slots: Mutex::default(),
            nodes: Mutex::default(),
            seed: AtomicU64::new(seed),
            throttle: Arc::default(),
            last_reached: Mutex::new(Instant::now()),
            rebootstrap_requested: AtomicBool::new(false),
            rebootstraps: AtomicU64::new(0),
            stats: Arc::default(),
            closed: AtomicBool::new(false),
        })
    }

    /// The quota throttling (KIP-219) brokers asked of this pool's connections.
    pub fn throttle_stats(&self) -> &ThrottleStats {
        &self.throttle
    }

    /// The pool's connection counters: dials, failures, reconnects, authentication failures and re-authentications.
    pub fn connection_metrics(&self) -> ConnectionMetrics {
        self.stats.snapshot()
    }

    /// The configuration.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// Replaces the node id → address map (from a Metadata reply).
    pub fn set_nodes(&self, nodes: impl IntoIterator<Item = (i32, String)>) {
        let mut m = self.nodes.lock().unwrap_or_else(|p| p.into_inner());
        m.clear();
        m.extend(nodes);
    }

    /// The address of node `id`, if known.
    pub fn node_addr(&self, id: i32) -> Option<String> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
    }

    /// A live [`ConnectionClass::Data`] connection to node `id`.
    pub async fn node(&self, id: i32) -> Result<Connection> {
        self.node_for(ConnectionClass::Data, id).await
    }

    /// A live connection of `class` to node `id`.
    pub async fn node_for(&self, class: ConnectionClass, id: i32) -> Result<Connection> {
        let addr = self.node_addr(id).ok_or_else(|| Error::invalid(format!("unknown broker node {id}")))?;
        self.get_for(class, &addr).await
    }

    /// A live [`ConnectionClass::Data`] connection to `addr`.
    pub async fn get(&self, addr: &str) -> Result<Connection> {
        self.get_for(ConnectionClass::Data, addr).await
    }

    /// A live connection of `class` to `addr`, dialling (after any backoff still running) when there is none.
    pub async fn get_for(&self, class: ConnectionClass, addr: &str) -> Result<Connection> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.entry((class, addr.to_owned())).or_default().clone()
        };
        let mut s = slot.lock().await;
        if let Some(c) = &s.conn {
            if !c.is_closed() {
                return Ok(c.clone());
            }
            s.conn = None;
        }
        if let Some(t) = s.retry_at {
            tokio::time::sleep_until(t).await;
        }
        ConnectionStats::bump(&self.stats.dials);
        if s.connected_before {
            ConnectionStats::bump(&self.stats.reconnects);
        }
        match Connection::connect_prepared(addr, &self.config, &self.security, &self.stats).await {
            Ok(c) => {
                self.reached();
                let c = c.with_throttle_stats(self.throttle.clone());
                s.failures = 0;
                s.retry_at = None;
                s.connected_before = true;
                s.conn = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                ConnectionStats::bump(&self.stats.dial_failures);
                let wait = self.backoff(s.failures);
                s.failures = s.failures.saturating_add(1);
                s.retry_at = Some(Instant::now() + wait);
                debug!(broker = addr, error = %e, backoff_ms = wait.as_millis() as u64, "dial failed");
                Err(e)
            }
        }
    }

    /// Dials a connection of `class` to `addr` in the background when there is none and no dial under way, so that
    /// the request that needs it next does not wait for TCP, TLS, ApiVersions and SASL one after the other with the
    /// requests before it (a consumer starting in a group: the offsets connection while the first heartbeat is out,
    /// the fetch connections while its positions are looked up). Outside a tokio runtime, or once the pool is
    /// closed, it does nothing. A dial that fails counts like any other (the slot's backoff).
    pub fn warm(self: &Arc<Self>, class: ConnectionClass, addr: &str) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.entry((class, addr.to_owned())).or_default().clone()
        };
        // Locked: a dial (or a hand-out) is under way already.
        match slot.try_lock() {
            Ok(s) if s.conn.as_ref().is_some_and(|c| !c.is_closed()) || s.retry_at.is_some() => return,
            Ok(_) => {}
            Err(_) => return,
        }
        let pool = self.clone();
        let addr = addr.to_owned();
        runtime.spawn(async move {
            match pool.get_for(class, &addr).await {
                Ok(c) if pool.closed.load(Ordering::Relaxed) => c.close(),
                Ok(_) => debug!(broker = addr, ?class, "connection warmed"),
                Err(_) => {}
            }
        });
    }

    /// [`BrokerPool::warm`] for node `id` (nothing when its address is unknown).
    pub fn warm_node(self: &Arc<Self>, class: ConnectionClass, id: i32) {
        if let Some(addr) = self.node_addr(id) {
            self.warm(class, &addr);
        }
    }

    /// A [`ConnectionClass::Control`] connection to any broker: a live one if there is one, else the known nodes
    /// (before the first metadata: the bootstrap list), starting at a random entry so load spreads. Fails with the
    /// last error when none answers.
    ///
    /// With `metadata.recovery.strategy=rebootstrap` the bootstrap list comes back when no broker has been reached
    /// for `metadata.recovery.rebootstrap.trigger.ms`, or after [`BrokerPool::request_rebootstrap`]: the known nodes
    /// are forgotten (the next metadata names them again) and only the bootstrap list is dialled.
    pub async fn any(&self) -> Result<Connection> {
        let class = ConnectionClass::Control;
        if !self.rebootstrap_requested.load(Ordering::Relaxed) {
            let slots: Vec<_> = self
                .slots
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .filter(|((c, _), _)| *c == class)
                .map(|(_, s)| s.clone())
                .collect();
            for s in slots {
                if let Ok(s) = s.try_lock() {
                    if let Some(c) = s.conn.as_ref().filter(|c| !c.is_closed()) {
                        self.reached();
                        return Ok(c.clone());
                    }
                }
            }
        }
        if self.rebootstrap_due() {
            self.rebootstrap_requested.store(false, Ordering::Relaxed);
            let forgotten = std::mem::take(&mut *self.nodes.lock().unwrap_or_else(|p| p.into_inner()));
            info!(
                bootstrap = ?self.config.bootstrap_servers,
                forgotten = forgotten.len(),
                "rebootstrapping: going back to the bootstrap servers"
            );
            self.rebootstraps.fetch_add(1, Ordering::Relaxed);
        }
        let mut candidates: Vec<String> =
            self.nodes.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        candidates.sort();
        candidates.dedup();
        if candidates.is_empty() {
            candidates = self.config.bootstrap_servers.clone();
        }
        let n = candidates.len();
        if n > 1 {
            candidates.rotate_left((self.next_random() as usize) % n);
        }
        let mut last = None;
        for addr in candidates {
            match self.get_for(class, &addr).await {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::config("no brokers to connect to")))
    }

    /// A broker answered `REBOOTSTRAP_REQUIRED` (KIP-1102): with `metadata.recovery.strategy=rebootstrap`, the next
    /// [`BrokerPool::any`] forgets the known brokers and dials the bootstrap list.
    pub fn request_rebootstrap(&self) {
        if self.config.metadata_recovery == MetadataRecovery::Rebootstrap {
            self.rebootstrap_requested.store(true, Ordering::Relaxed);
        }
    }

    /// How many times this pool went back to the bootstrap servers.
    pub fn rebootstraps(&self) -> u64 {
        self.rebootstraps.load(Ordering::Relaxed)
    }

    fn rebootstrap_due(&self) -> bool {
        if self.config.metadata_recovery != MetadataRecovery::Rebootstrap
            || self.nodes.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
        {
            return false;
        }
        self.rebootstrap_requested.load(Ordering::Relaxed)
            || self.last_reached.lock().unwrap_or_else(|p| p.into_inner()).elapsed() >= self.config.rebootstrap_trigger
    }

    fn reached(&self) {
        *self.last_reached.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    /// Closes every connection.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        let slots: Vec<_> = self.slots.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for s in slots {
            if let Ok(s) = s.try_lock() {
                if let Some(c) = &s.conn {
                    c.close();
                }
            }
        }
    }

    fn next_random(&self) -> u64 {
        // xorshift64*: jitter and start points only, not security.
        let mut x = self.seed.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.seed.store(x, Ordering::Relaxed);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn backoff(&self, failures: u32) -> Duration {
        let base = self.config.reconnect_backoff.as_millis() as u64;
        let max = self.config.reconnect_backoff_max.as_millis() as u64;
        let exp = base.saturating_mul(1u64 << failures.min(20)).min(max.max(base));
        // ±20 % jitter
        let jitter = exp / 5;
        let r = if jitter == 0 { 0 } else { self.next_random() % (2 * jitter + 1) };
        Duration::from_millis(exp - jitter + r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_with_jitter() {
        let mut c = ClientConfig::new("127.0.0.1:1");
        c.reconnect_backoff = Duration::from_millis(50);
        c.reconnect_backoff_max = Duration::from_millis(1000);
        let p = BrokerPool::new(Arc::new(c)).unwrap();
        let b0 = p.backoff(0).as_millis();
        assert!((40..=60).contains(&b0), "{b0}");
        let b3 = p.backoff(3).as_millis();
        assert!((320..=480).contains(&b3), "{b3}");
        let b10 = p.backoff(10).as_millis();
        assert!((800..=1200).contains(&b10), "{b10}");
    }

    #[tokio::test]
    async fn unreachable_bootstrap_fails_within_the_timeout() {
        // Port 1 on loopback: nothing listens, the connect is refused at once.
        let mut c = ClientConfig::new("127.0.0.1:1");
        c.connect_timeout = Duration::from_millis(500);
        let p = BrokerPool::new(Arc::new(c)).unwrap();
        let t = std::time::Instant::now();
        assert!(p.any().await.is_err());
        assert!(t.elapsed() < Duration::from_secs(5));
        let m = p.connection_metrics();
        assert_eq!((m.dials, m.dial_failures, m.reconnects, m.authentication_failures), (1, 1, 0, 0), "{m:?}");
    }

    #[test]
    fn empty_bootstrap_is_a_config_error() {
        let e = BrokerPool::new(Arc::new(ClientConfig::new(" , "))).unwrap_err();
        assert!(matches!(e.kind(), crate::error::ErrorKind::Config(_)), "{e}");
    }
}
