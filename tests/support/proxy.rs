//! A TCP fault proxy for loopback tests, in the spirit of librdkafka's sockem: it sits between the client and one
//! broker listener and, as the test says, adds latency and jitter, limits bandwidth, stalls (accepts and holds),
//! resets connections, closes them after N bytes (mid-frame), blackholes one direction or refuses new
//! connections. Faults apply to the bytes that pass after they are set; [`FaultProxy::reset_all`] acts on live
//! connections at once.
//!
//! Everything is bounded: each connection's pumps end with either socket; dropping the proxy aborts its tasks.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// A direction of traffic through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client to broker (requests).
    Upstream,
    /// Broker to client (replies).
    Downstream,
}

/// The faults in force; [`FaultProxy::set`] replaces them.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Added to every chunk's delivery, each way.
    pub latency: Duration,
    /// Up to this much more, uniformly, per chunk (order is kept: a chunk never overtakes an earlier one).
    pub jitter: Duration,
    /// Bytes per second each way per connection; `None` for no limit.
    pub bandwidth: Option<u64>,
    /// Accept new connections but neither forward nor answer anything on them; hold existing traffic too.
    pub stall: bool,
    /// Close new connections as soon as they are accepted.
    pub refuse: bool,
    /// Drop the bytes of this direction without a word (the connection stays open).
    pub blackhole: Option<Direction>,
    /// Close a connection (both ways) once this many bytes have crossed it downstream: the client sees a reply
    /// frame cut off in the middle.
    pub close_after_downstream_bytes: Option<u64>,
}

struct Shared {
    faults: Mutex<Faults>,
    /// Bumped by [`FaultProxy::reset_all`]: every live connection ends with a TCP reset.
    reset: watch::Sender<u64>,
    accepted: AtomicU64,
    forwarded: [AtomicU64; 2],
    seed: AtomicU64,
}

impl Shared {
    fn faults(&self) -> Faults {
        self.faults.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn jitter(&self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        let mut x = self.seed.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed.store(x, Ordering::Relaxed);
        Duration::from_nanos(x % (max.as_nanos() as u64 + 1))
    }
}

/// A fault proxy listening on one address and forwarding to another.
pub struct FaultProxy {
    /// Where the proxy listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.shared.reset.send_modify(|n| *n += 1);
    }
}

impl FaultProxy {
    /// Listens on `listen` (e.g. the port a broker's PROXIED listener advertises) and forwards to `upstream`.
    pub async fn start(listen: &str, upstream: &str) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            faults: Mutex::new(Faults::default()),
            reset: watch::channel(0).0,
            accepted: AtomicU64::new(0),
            forwarded: [AtomicU64::new(0), AtomicU64::new(0)],
            seed: AtomicU64::new(0x2545_f491_4f6c_dd1d),
        });
        let upstream = upstream.to_owned();
        let s = shared.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                s.accepted.fetch_add(1, Ordering::Relaxed);
                if s.faults().refuse {
                    drop(client);
                    continue;
                }
                connections.spawn(serve(client, upstream.clone(), s.clone()));
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(FaultProxy { addr, shared, task })
    }

    /// Replaces the faults in force.
    pub fn set(&self, faults: Faults) {
        *self.shared.faults.lock().unwrap_or_else(|p| p.into_inner()) = faults;
    }

    /// Changes the faults in force with `f`.
    pub fn update(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.shared.faults.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Ends every live connection with a TCP reset (the client sees ECONNRESET, possibly mid-frame).
    pub fn reset_all(&self) {
        self.shared.reset.send_modify(|n| *n += 1);
    }

    /// Connections accepted so far (refused ones included).
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }

    /// Bytes forwarded so far in `dir`.
    pub fn forwarded(&self, dir: Direction) -> u64 {
        self.shared.forwarded[dir as usize].load(Ordering::Relaxed)
    }
}

/// One proxied connection: a pump each way; a reset or the end of either pump ends both.
async fn serve(mut client: TcpStream, upstream: String, shared: Arc<Shared>) {
    let mut reset = shared.reset.subscribe();
    let mut server = tokio::select! {
        s = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(&upstream)) => match s {
            Ok(Ok(s)) => s,
            _ => return,
        },
        _ = reset.changed() => return,
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let was_reset = {
        let (cr, cw) = client.split();
        let (sr, sw) = server.split();
        tokio::select! {
            _ = pump(cr, sw, Direction::Upstream, shared.clone()) => false,
            _ = pump(sr, cw, Direction::Downstream, shared.clone()) => false,
            _ = reset.changed() => true,
        }
    };
    if was_reset {
        // SO_LINGER 0: closing sends RST instead of FIN.
        #[allow(deprecated)]
        let _ = client.set_linger(Some(Duration::ZERO));
        #[allow(deprecated)]
        let _ = server.set_linger(Some(Duration::ZERO));
    }
}

/// Reads `from`, applies the faults and writes to `to`, until either side ends or a close-after limit is hit.
async fn pump(
    mut from: impl tokio::io::AsyncRead + Unpin,
    mut to: impl tokio::io::AsyncWrite + Unpin,
    dir: Direction,
    shared: Arc<Shared>,
) {
    // Reading and delivering are separate so latency delays chunks without slowing the reads: a chunk read at t
    // is written at t + latency (+ jitter), never before the chunk read before it.
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(1024);
    let reader_shared = shared.clone();
    let reader = async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut last_due = Instant::now();
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let f = reader_shared.faults();
            if f.blackhole == Some(dir) {
                continue;
            }
            let due = (Instant::now() + f.latency + reader_shared.jitter(f.jitter)).max(last_due);
            last_due = due;
            if tx.send((due, buf[..n].to_vec())).await.is_err() {
                return;
            }
        }
    };
    let writer = async move {
        let mut sent: u64 = 0;
        while let Some((due, mut chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            // A stall holds delivery (re-checked every 50 ms) until lifted.
            while shared.faults().stall {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let f = shared.faults();
            let mut stop = false;
            if dir == Direction::Downstream {
                if let Some(limit) = f.close_after_downstream_bytes {
                    let room = limit.saturating_sub(sent) as usize;
                    if chunk.len() >= room {
                        chunk.truncate(room);
                        stop = true;
                    }
                }
            }
            if let Some(rate) = f.bandwidth.filter(|&r| r > 0) {
                tokio::time::sleep(Duration::from_secs_f64(chunk.len() as f64 / rate as f64)).await;
            }
            if to.write_all(&chunk).await.is_err() {
                return;
            }
            sent += chunk.len() as u64;
            shared.forwarded[dir as usize].fetch_add(chunk.len() as u64, Ordering::Relaxed);
            if stop {
                return;
            }
        }
    };
    tokio::select! {
        _ = reader => {}
        _ = writer => {}
    }
}

/// Proxies for every node of the running cluster, from `KAFKAR_PROXY_ROUTES` (`scripts/kafka proxy-routes`:
/// `PROXY=LISTENER,...`); the bootstrap to give a client is the first proxy's address. `None` outside CI when
/// the variable is unset; a failure under CI=true.
pub async fn proxies_for_cluster() -> Option<Vec<FaultProxy>> {
    let routes = match std::env::var("KAFKAR_PROXY_ROUTES") {
        Ok(r) if !r.trim().is_empty() => r,
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("KAFKAR_PROXY_ROUTES is not set (scripts/test sets it from `scripts/kafka proxy-routes`)");
            }
            eprintln!("skipped: KAFKAR_PROXY_ROUTES is not set (use scripts/test)");
            return None;
        }
    };
    let mut out = Vec::new();
    for route in routes.split(',') {
        let (listen, upstream) = route.split_once('=').unwrap_or_else(|| panic!("bad proxy route {route:?}"));
        // The previous test's proxy on this port may still be closing (its runtime drops its tasks after the test
        // returns): retry the bind for a bounded time.
        let mut tries = 0;
        let proxy = loop {
            match FaultProxy::start(listen, upstream).await {
                Ok(p) => break p,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("proxy on {listen}: {e}"),
            }
        };
        out.push(proxy);
    }
    Some(out)
}
