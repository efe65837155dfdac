//! The client against a real broker through the socket fault proxy (tests/support/proxy.rs): every node's
//! PROXIED listener advertises its proxy's port (`scripts/kafka proxy-routes`, `KAFKAR_PROXY_ROUTES`), so all
//! client traffic crosses the proxies while replication and the controller stay direct. Short runs for CI:
//! latency and a bandwidth cap, mid-frame resets, a blackholed broker, refused connections. Nothing acknowledged
//! is lost or duplicated, and nothing hangs past the configured timeouts.

#[path = "support/proxy.rs"]
mod proxy;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafkar::ClientConfig;
use kafkar::admin::Admin;
use kafkar::consumer::{Consumer, ConsumerConfig, TopicPartition};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
use proxy::{Direction, FaultProxy, Faults};

/// The proxies listen on fixed ports (those the broker advertises): one test at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Setup {
    direct: String,
    proxies: Vec<FaultProxy>,
    topic: String,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

impl Setup {
    async fn new(prefix: &str, partitions: i32) -> Option<Setup> {
        let direct = support::real_broker()?;
        let serial = ONE_AT_A_TIME.lock().await;
        let proxies = proxy::proxies_for_cluster().await?;
        let topic = support::unique_topic(prefix);
        let admin = Admin::new(ClientConfig::new(&direct)).await.unwrap();
        admin.create_topic(&topic, partitions, 1, &[]).await.unwrap();
        assert!(support::read_all(&direct, &topic).await.is_empty());
        Some(Setup { direct, proxies, topic, _serial: serial })
    }

    fn bootstrap(&self) -> String {
        self.proxies.iter().map(|p| p.addr.to_string()).collect::<Vec<_>>().join(",")
    }

    fn each(&self, f: impl Fn(&FaultProxy)) {
        self.proxies.iter().for_each(f);
    }

    async fn producer(&self, extra: &[(&str, &str)]) -> Producer {
        let mut c = ProducerConfig::new(&self.bootstrap());
        for (k, v) in
            [("linger.ms", "5"), ("request.timeout.ms", "3000"), ("delivery.timeout.ms", "60000")].iter().chain(extra)
        {
            c.set(k, v).unwrap();
        }
        Producer::new(c).await.unwrap()
    }

    /// Sends `n` records while `faults` runs beside the sends; returns each acknowledged (partition, offset) with
    /// its record number.
    async fn produce_under(
        &self,
        producer: &Producer,
        n: usize,
        faults: impl std::future::Future<Output = ()>,
    ) -> Vec<(i32, i64, usize)> {
        let t: Arc<str> = self.topic.as_str().into();
        let sends = async {
            let mut futures = Vec::new();
            for i in 0..n {
                let r = ProducerRecord::new(t.clone()).key(format!("k{}", i % 13)).value(format!("record-{i}"));
                futures.push(producer.send(r).await.unwrap());
                if i % 100 == 99 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            let mut acks = Vec::new();
            for (i, f) in futures.into_iter().enumerate() {
                let m = f.await.unwrap_or_else(|e| panic!("record {i} failed: {e}"));
                acks.push((m.partition, m.offset, i));
            }
            acks
        };
        let (acks, ()) = tokio::join!(sends, faults);
        acks
    }

    /// Every acknowledged record is in the log exactly once, at its acknowledged offset; nothing else is there.
    async fn assert_exactly_once(&self, acks: &[(i32, i64, usize)]) {
        let log = support::read_all(&self.direct, &self.topic).await;
        assert_eq!(log.len(), acks.len(), "one log record per acknowledged record");
        let at: std::collections::HashMap<(i32, i64), String> = log
            .iter()
            .map(|f| ((f.partition, f.offset), String::from_utf8_lossy(f.value.as_deref().unwrap_or_default()).into()))
            .collect();
        for &(p, o, i) in acks {
            assert_eq!(at.get(&(p, o)).map(String::as_str), Some(format!("record-{i}").as_str()), "at {p}/{o}");
        }
    }
}

#[tokio::test]
async fn produce_and_consume_under_latency_jitter_and_a_bandwidth_cap() {
    let Some(s) = Setup::new("proxy-slow", 3).await else { return };
    s.each(|p| {
        p.set(Faults {
            latency: Duration::from_millis(200),
            jitter: Duration::from_millis(50),
            bandwidth: Some(1_000_000),
            ..Default::default()
        })
    });
    let producer = s.producer(&[]).await;
    let acks = s.produce_under(&producer, 3000, async {}).await;
    producer.close().await;
    s.assert_exactly_once(&acks).await;

    let mut cc = ConsumerConfig::new(&s.bootstrap());
    cc.set("auto.offset.reset", "earliest").unwrap();
    let mut consumer = Consumer::new(cc).await.unwrap();
    consumer.assign((0..3).map(|p| TopicPartition::new(s.topic.as_str(), p))).unwrap();
    let mut seen = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < acks.len() {
        assert!(Instant::now() < deadline, "consumed {} of {} in 30 s", seen.len(), acks.len());
        for r in consumer.poll(1000, Duration::from_millis(500)).await.unwrap() {
            assert!(seen.insert((r.partition, r.offset)), "{}/{} read twice", r.partition, r.offset);
        }
    }
    assert!(s.proxies[0].forwarded(Direction::Downstream) > 0, "the traffic crossed the proxy");
}

#[tokio::test]
async fn mid_frame_resets_lose_and_duplicate_nothing() {
    let Some(s) = Setup::new("proxy-reset", 3).await else { return };
    let producer = s.producer(&[("max.in.flight.requests.per.connection", "5")]).await;
    let faults = async {
        for round in 0..6 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if round % 2 == 0 {
                s.each(|p| p.reset_all());
            } else {
                // The next reply is cut after 30 bytes of it.
                let base = s.proxies[0].forwarded(Direction::Downstream);
                s.proxies[0].update(|f| f.close_after_downstream_bytes = Some(base + 30));
                tokio::time::sleep(Duration::from_millis(100)).await;
                s.proxies[0].update(|f| f.close_after_downstream_bytes = None);
            }
        }
    };
    let acks = s.produce_under(&producer, 20_000, faults).await;
    producer.close().await;
    s.assert_exactly_once(&acks).await;
    assert!(s.proxies[0].accepted() > 2, "the resets made the client redial");
}

#[tokio::test]
async fn a_blackholed_broker_times_requests_out_and_the_producer_recovers() {
    let Some(s) = Setup::new("proxy-blackhole", 1).await else { return };
    let producer = s.producer(&[]).await;
    let started = Instant::now();
    let faults = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        s.each(|p| p.update(|f| f.blackhole = Some(Direction::Downstream)));
        tokio::time::sleep(Duration::from_secs(4)).await;
        s.each(|p| p.update(|f| f.blackhole = None));
    };
    let acks = s.produce_under(&producer, 3000, faults).await;
    // Requests written into the blackhole time out after request.timeout.ms (3 s) and go again on a new
    // connection; the whole run ends soon after the blackhole lifts.
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    producer.close().await;
    s.assert_exactly_once(&acks).await;
}

#[tokio::test]
async fn refused_connections_are_redialled_with_backoff_not_in_a_tight_loop() {
    let Some(s) = Setup::new("proxy-refuse", 1).await else { return };
    let producer = s.producer(&[("reconnect.backoff.ms", "50"), ("reconnect.backoff.max.ms", "500")]).await;
    let faults = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        s.each(|p| p.update(|f| f.refuse = true));
        let before = s.proxies[0].accepted();
        s.each(|p| p.reset_all());
        tokio::time::sleep(Duration::from_secs(3)).await;
        let during = s.proxies[0].accepted() - before;
        s.each(|p| p.update(|f| f.refuse = false));
        // Backoff 50 ms doubling to 500 ms: a handful of dials per connection kind in 3 s, not hundreds.
        assert!(during <= 40, "{during} connection attempts in 3 s of refusals");
    };
    let acks = s.produce_under(&producer, 2000, faults).await;
    producer.close().await;
    s.assert_exactly_once(&acks).await;
}
