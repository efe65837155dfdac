//! Test support: a scriptable fake broker built on kafkar-protocol, for what a real broker cannot be made to do
//! (injected error codes, mid-request disconnects, malformed or missing replies), and helpers to reach the real
//! broker started by `scripts/kafka`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafkar::protocol::ApiKey;
use kafkar::protocol::header::{RequestHeader, ResponseHeader, request_header_version, response_header_version};
use kafkar::protocol::messages::api_versions::{ApiVersion, ApiVersionsResponse};
use kafkar::protocol::messages::{Encode, MessageKind, Request, all_specs};
use kafkar::protocol::primitives::Reader;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the fake broker does with one request.
pub enum Action {
    /// Answer with this response body (the header is added).
    Reply(BytesMut),
    /// Write these bytes as they are (a whole frame or garbage).
    Raw(Bytes),
    /// Close the connection without answering.
    Close,
    /// Never answer; keep reading.
    Ignore,
    /// Wait, then do the action.
    Delay(Duration, Box<Action>),
    /// What a healthy broker would do: answer ApiVersions with [`supported_versions`]; for anything else, close.
    Default,
    /// Do each action in turn (e.g. a truncated frame, then close); stops at the first that closes.
    Sequence(Vec<Action>),
}

/// A whole reply frame as a broker writes it, for replies a well-behaved broker never sends: the size prefix, the
/// response header with `correlation_id` (and the empty tagged-field section when `flexible_header`), then `body`.
pub fn reply_frame(correlation_id: i32, flexible_header: bool, body: &[u8]) -> Bytes {
    let mut frame = BytesMut::new();
    frame.put_i32(0);
    frame.put_i32(correlation_id);
    if flexible_header {
        frame.put_u8(0);
    }
    frame.extend_from_slice(body);
    let n = (frame.len() - 4) as i32;
    frame[..4].copy_from_slice(&n.to_be_bytes());
    frame.freeze()
}

/// A size prefix announcing a frame of `size` bytes, with nothing behind it.
pub fn size_prefix(size: i32) -> Bytes {
    Bytes::copy_from_slice(&size.to_be_bytes())
}

/// True when the reply to `r` starts with a flexible (v1) response header.
pub fn flexible_reply_header(r: &Received) -> bool {
    let key = ApiKey(r.header.api_key);
    response_header_version(key, is_flexible(key, r.header.api_version)) >= 1
}

/// One request the fake broker received.
#[derive(Clone, Debug)]
pub struct Received {
    /// Its header.
    pub header: RequestHeader,
    /// Its body.
    pub body: Bytes,
    /// Which accepted connection it came on (0-based).
    pub connection: usize,
}

type Handler = dyn Fn(&Received) -> Action + Send + Sync;

/// A fake broker listening on 127.0.0.1.
pub struct FakeBroker {
    /// Its address.
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The ApiVersions table the fake advertises: every request this crate implements, at its full range.
pub fn supported_versions() -> ApiVersionsResponse {
    let mut api_keys: Vec<ApiVersion> = all_specs()
        .into_iter()
        .filter(|s| s.kind == MessageKind::Request)
        .filter_map(|s| {
            s.api_key.map(|k| ApiVersion {
                api_key: k.0,
                min_version: s.versions.min,
                max_version: s.versions.max,
                ..Default::default()
            })
        })
        .collect();
    api_keys.sort_by_key(|a| a.api_key);
    ApiVersionsResponse { api_keys, ..Default::default() }
}

/// Encodes `resp` as the reply body to a request at `version`.
pub fn reply<R: Request>(resp: &R::Response, version: i16) -> Action {
    let mut b = BytesMut::new();
    resp.encode(&mut b, version).expect("fake broker reply encodes");
    Action::Reply(b)
}

/// The answer of a fake that is its own group coordinator (node 0 at 127.0.0.1:`port`) to a FindCoordinator
/// request: batched keys from version 4, the single-coordinator form before.
pub fn find_coordinator_reply(r: &Received, port: i32) -> Action {
    use kafkar::protocol::messages::find_coordinator::{Coordinator, FindCoordinatorRequest, FindCoordinatorResponse};
    let v = r.header.api_version;
    let req: FindCoordinatorRequest = decode(r);
    let c = Coordinator { node_id: 0, host: "127.0.0.1".into(), port, ..Default::default() };
    let resp = if v >= 4 {
        FindCoordinatorResponse {
            coordinators: req.coordinator_keys.iter().map(|k| Coordinator { key: k.clone(), ..c.clone() }).collect(),
            ..Default::default()
        }
    } else {
        FindCoordinatorResponse { node_id: 0, host: c.host, port, ..Default::default() }
    };
    reply::<FindCoordinatorRequest>(&resp, v)
}

/// The Metadata reply of a fake that is the whole cluster: node 0 at 127.0.0.1:`port`, controller and leader (epoch
/// 0, the only replica) of every partition of `topic`.
pub fn fake_metadata(
    port: u16,
    topic: &str,
    topic_id: kafkar::protocol::primitives::Uuid,
    partitions: i32,
) -> kafkar::protocol::messages::metadata::MetadataResponse {
    use kafkar::protocol::messages::metadata::{
        MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };
    MetadataResponse {
        brokers: vec![MetadataResponseBroker {
            node_id: 0,
            host: "127.0.0.1".into(),
            port: i32::from(port),
            ..Default::default()
        }],
        cluster_id: Some("fake".into()),
        controller_id: 0,
        topics: vec![MetadataResponseTopic {
            name: Some(topic.into()),
            topic_id,
            partitions: (0..partitions)
                .map(|i| MetadataResponsePartition {
                    partition_index: i,
                    leader_id: 0,
                    leader_epoch: 0,
                    replica_nodes: vec![0],
                    isr_nodes: vec![0],
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The reply to Produce request `req` at `version`: for each of its partitions, the error code and base offset
/// `partition` returns. Topics are named as a broker names them: by topic id alone from the version with topic ids.
pub fn produce_reply(
    req: &kafkar::protocol::messages::produce::ProduceRequest,
    version: i16,
    mut partition: impl FnMut(
        &kafkar::protocol::messages::produce::PartitionProduceData,
    ) -> (kafkar::protocol::ErrorCode, i64),
) -> kafkar::protocol::messages::produce::ProduceResponse {
    use kafkar::protocol::messages::produce::{
        PartitionProduceResponse, ProduceResponse, TOPIC_ID_VERSION, TopicProduceResponse,
    };
    let mut resp = ProduceResponse::default();
    for t in &req.topic_data {
        let mut tr = TopicProduceResponse {
            name: if version >= TOPIC_ID_VERSION { String::new() } else { t.name.clone() },
            topic_id: t.topic_id,
            ..Default::default()
        };
        for p in &t.partition_data {
            let (error_code, base_offset) = partition(p);
            tr.partition_responses.push(PartitionProduceResponse {
                index: p.index,
                error_code,
                base_offset,
                ..Default::default()
            });
        }
        resp.responses.push(tr);
    }
    resp
}

/// Decodes the request body of `r` as `R`.
pub fn decode<R: Request>(r: &Received) -> R {
    R::decode_exact(&mut Reader::new(r.body.clone()), r.header.api_version).expect("fake broker decodes request")
}

impl FakeBroker {
    /// Starts a fake broker that answers each request with what `handler` returns.
    pub async fn start(handler: impl Fn(&Received) -> Action + Send + Sync + 'static) -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let rec = received.clone();
        let task = tokio::spawn(async move {
            let mut n = 0;
            while let Ok((sock, _)) = listener.accept().await {
                let (h, r) = (handler.clone(), rec.clone());
                tokio::spawn(serve(sock, n, h, r));
                n += 1;
            }
        });
        FakeBroker { addr, received, task }
    }

    /// `127.0.0.1:port`.
    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    /// Every request received so far (ApiVersions included).
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Requests received with API `key`.
    pub fn received_api(&self, key: ApiKey) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.header.api_key == key.0).collect()
    }
}

async fn serve(mut sock: TcpStream, conn: usize, handler: Arc<Handler>, rec: Arc<Mutex<Vec<Received>>>) {
    let mut buf = BytesMut::new();
    loop {
        while buf.len() < 4 {
            if sock.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                return;
            }
        }
        let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        while buf.len() < 4 + size {
            if sock.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                return;
            }
        }
        let frame = buf.split_to(4 + size).freeze().slice(4..);
        // Header version: peek the api key and version to know whether the body is flexible.
        let mut peek = Reader::new(frame.clone());
        let key = ApiKey(peek.i16("key").unwrap());
        let version = peek.i16("version").unwrap();
        let flexible = is_flexible(key, version);
        let mut r = Reader::new(frame);
        let header = RequestHeader::decode(&mut r, request_header_version(flexible)).expect("request header");
        let received = Received { header: header.clone(), body: r.take_rest(), connection: conn };
        rec.lock().unwrap().push(received.clone());
        let action = handler(&received);
        if !perform(&mut sock, action, &header, key, version, flexible).await {
            return;
        }
    }
}

fn is_flexible(key: ApiKey, version: i16) -> bool {
    all_specs()
        .into_iter()
        .find(|s| s.api_key == Some(key) && s.kind == MessageKind::Request)
        .is_some_and(|s| s.flexible_versions.contains(version))
}

async fn perform(
    sock: &mut TcpStream,
    action: Action,
    header: &RequestHeader,
    key: ApiKey,
    version: i16,
    flexible: bool,
) -> bool {
    match action {
        Action::Default if key == ApiKey::API_VERSIONS => {
            let mut b = BytesMut::new();
            supported_versions().encode(&mut b, version).unwrap();
            Box::pin(perform(sock, Action::Reply(b), header, key, version, flexible)).await
        }
        Action::Default => false,
        Action::Reply(body) => {
            let mut frame = BytesMut::new();
            frame.put_i32(0);
            ResponseHeader { correlation_id: header.correlation_id, ..Default::default() }
                .encode(&mut frame, response_header_version(key, flexible))
                .unwrap();
            frame.extend_from_slice(&body);
            let n = (frame.len() - 4) as i32;
            frame[..4].copy_from_slice(&n.to_be_bytes());
            sock.write_all(&frame).await.is_ok()
        }
        Action::Raw(b) => sock.write_all(&b).await.is_ok(),
        Action::Close => false,
        Action::Ignore => true,
        Action::Sequence(actions) => {
            for a in actions {
                if !Box::pin(perform(sock, a, header, key, version, flexible)).await {
                    return false;
                }
            }
            true
        }
        Action::Delay(d, a) => {
            tokio::time::sleep(d).await;
            Box::pin(perform(sock, *a, header, key, version, flexible)).await
        }
    }
}

/// Logs of the client to stderr when `RUST_LOG` is set (e.g. `RUST_LOG=kafkar=debug` for a long fault run that
/// must be explained afterwards); without it nothing is installed. Once per test binary; later calls do nothing.
pub fn log_from_env() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// The real broker's bootstrap address from `KAFKA_BOOTSTRAP` (set by `scripts/test`). Without it: a failure
/// naming `scripts/kafka start` when `CI=true`, else `None` and the caller reports itself skipped.
pub fn real_broker() -> Option<String> {
    match std::env::var("KAFKA_BOOTSTRAP") {
        Ok(b) if !b.trim().is_empty() => Some(b),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("KAFKA_BOOTSTRAP is not set: start a broker with `scripts/kafka start` (CI never skips)");
            }
            eprintln!("skipped: KAFKA_BOOTSTRAP is not set (run `scripts/kafka start` or use scripts/test)");
            None
        }
    }
}

mod version;
#[allow(unused_imports)]
pub use version::broker_version;

/// A topic name unique to this test run.
pub fn unique_topic(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos:x}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// How long the real-broker helpers wait for a new topic's metadata.
const TOPIC_WAIT: Duration = Duration::from_secs(30);

/// A client of the real broker at `bootstrap` (metadata and connections, no producer or consumer).
pub fn cluster(bootstrap: &str) -> Arc<kafkar::cluster::Cluster> {
    kafkar::cluster::Cluster::new(kafkar::ClientConfig::new(bootstrap), false).unwrap()
}

/// Creates topic `name` (replication factor 1) with a CreateTopics request and waits until its metadata shows
/// `partitions` partitions.
pub async fn create_topic(cluster: &kafkar::cluster::Cluster, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    use kafkar::protocol::ErrorCode;
    use kafkar::protocol::messages::create_topics::CreateTopicsRequest;
    let conn = cluster.pool().any().await.unwrap();
    let req = CreateTopicsRequest::single(name, partitions, 1, configs.iter().copied(), 30_000);
    let resp = conn.send(&req).await.unwrap();
    assert_eq!(resp.topics[0].error_code, ErrorCode::NONE, "{:?}", resp.topics[0].error_message);
    let t = cluster.topic(name, TOPIC_WAIT).await.unwrap();
    assert_eq!(t.partition_count(), partitions);
}

/// The start of most tests against the real broker: its bootstrap address, a [`cluster`] client of it and a new
/// topic named after `prefix` with `partitions` partitions. `None` when there is no broker: the test skips.
pub async fn real_topic(prefix: &str, partitions: i32) -> Option<(String, Arc<kafkar::cluster::Cluster>, String)> {
    let bootstrap = real_broker()?;
    let cluster = cluster(&bootstrap);
    let topic = unique_topic(prefix);
    create_topic(&cluster, &topic, partitions, &[]).await;
    Some((bootstrap, cluster, topic))
}

/// Writes one record `batch` to `topic`-`partition` of the real broker with a Produce request (acks=all) and returns
/// its base offset. Retries while a new topic's leadership settles.
pub async fn produce_batch(cluster: &kafkar::cluster::Cluster, topic: &str, partition: i32, batch: Bytes) -> i64 {
    use kafkar::protocol::ErrorCode;
    use kafkar::protocol::messages::produce::ProduceRequest;
    let info = cluster.topic(topic, TOPIC_WAIT).await.unwrap();
    for _ in 0..50 {
        let (_, conn) = cluster.leader(topic, partition).await.unwrap();
        let version = conn.versions().pick::<ProduceRequest>().unwrap();
        let req = ProduceRequest::single_batch(version, -1, 30_000, topic, info.id, partition, batch.clone());
        let resp = conn.send_at(&req, version).await.unwrap();
        let (_, p) = resp.partitions().next().expect("a partition in the produce reply");
        if p.error_code.is_retriable() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            cluster.refresh().await.unwrap();
            continue;
        }
        assert_eq!(p.error_code, ErrorCode::NONE, "produce to {topic}-{partition}");
        return p.base_offset;
    }
    panic!("produce to {topic}-{partition} kept failing");
}

/// The `scripts/kafka` wrapper around Kafka's Java tools (or `$KAFKAR_KAFKA_SCRIPT`), if present; a failure under
/// `CI=true` when missing, else `None` and the caller skips the part that needs it.
pub fn kafka_script() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let path = std::env::var_os("KAFKAR_KAFKA_SCRIPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka"));
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{} is missing (CI never skips)", path.display());
    eprintln!("skipped the Java tool part: {} is missing", path.display());
    None
}

/// A producer configuration that rides out a broker restart without losing or repeating a record: idempotent,
/// acks=all, and timeouts long enough to cover the restart.
pub fn restart_proof_producer(bootstrap: &str) -> kafkar::producer::ProducerConfig {
    let mut c = kafkar::producer::ProducerConfig::new(bootstrap);
    for (k, v) in [
        ("acks", "all"),
        ("enable.idempotence", "true"),
        ("linger.ms", "5"),
        ("delivery.timeout.ms", "180000"),
        ("max.block.ms", "120000"),
        ("request.timeout.ms", "10000"),
    ] {
        c.set(k, v).unwrap();
    }
    c
}

/// Every record of partitions 0..`partitions` of `topic` that a read_committed consumer (assigned, from earliest)
/// sees: polls until `want` records came and then 1.5 s passed without more, or until `timeout`.
pub async fn read_committed(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    want: usize,
    timeout: Duration,
) -> Vec<kafkar::consumer::ConsumerRecord> {
    let mut c = kafkar::consumer::ConsumerConfig::new(bootstrap);
    c.set("isolation.level", "read_committed").unwrap();
    c.set("auto.offset.reset", "earliest").unwrap();
    let mut consumer = kafkar::consumer::Consumer::new(c).await.unwrap();
    consumer.assign((0..partitions).map(|p| kafkar::consumer::TopicPartition::new(topic, p))).unwrap();
    let deadline = std::time::Instant::now() + timeout;
    let mut out = Vec::new();
    let mut quiet = 0;
    while std::time::Instant::now() < deadline && (out.len() < want || quiet < 6) {
        let got = consumer.poll(1000, Duration::from_millis(250)).await.unwrap();
        quiet = if got.is_empty() { quiet + 1 } else { 0 };
        out.extend(got);
    }
    consumer.close().await.unwrap();
    out
}

/// The node id of the coordinator of `key` whose state lives in the internal topic `internal`
/// (`__transaction_state` for a transactional id, `__consumer_offsets` for a group): the leader of the partition
/// Kafka maps the key to, `abs(key.hashCode()) % partitions` with Java's `String.hashCode` and Kafka's `Utils.abs`.
/// Retries (up to 60 s) while the topic or its leader is not known yet.
pub async fn coordinator_node(bootstrap: &str, internal: &str, key: &str) -> i32 {
    let hash = key.encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    let cluster = kafkar::cluster::Cluster::new(kafkar::ClientConfig::new(bootstrap), false).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Ok(info)) =
            tokio::time::timeout(Duration::from_secs(15), cluster.topic(internal, Duration::from_secs(10))).await
        {
            let count = info.partition_count();
            if count > 0 {
                let leader = info.partitions[(abs % count) as usize].leader;
                if leader >= 0 {
                    cluster.close();
                    return leader;
                }
            }
        }
        assert!(std::time::Instant::now() < deadline, "no leader for {internal} ({key}) in 60 s");
        let _ = cluster.refresh().await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A record read back from the real broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Timestamp.
    pub timestamp: i64,
    /// Key.
    pub key: Option<Bytes>,
    /// Value.
    pub value: Option<Bytes>,
    /// Headers.
    pub headers: Vec<kafkar::protocol::records::Header>,
    /// The compression codec of the batch the record came in.
    pub compression: kafkar::protocol::compression::Compression,
}

/// Reads every record batch of every partition of `topic` from the broker at `bootstrap` with our Fetch codec and
/// batch reader (from offset 0 up to each partition's high watermark), as (partition, batch), in partition and
/// offset order.
pub async fn read_batches(bootstrap: &str, topic: &str) -> Vec<(i32, kafkar::protocol::records::RecordBatch)> {
    use kafkar::protocol::messages::fetch::{FetchPartition, FetchRequest, FetchTopic};
    use kafkar::protocol::records::{ReadOptions, RecordBatchReader};
    let cluster = kafkar::cluster::Cluster::new(kafkar::ClientConfig::new(bootstrap), false).unwrap();
    let info = cluster.topic(topic, Duration::from_secs(10)).await.expect("topic metadata");
    let mut out = Vec::new();
    for p in 0..info.partition_count() {
        let (_, conn) = cluster.leader(topic, p).await.expect("leader");
        let version = conn.versions().pick::<FetchRequest>().unwrap();
        let mut offset = 0i64;
        let mut retries = 0;
        loop {
            let fp = FetchPartition {
                partition: p,
                fetch_offset: offset,
                partition_max_bytes: 8 << 20,
                ..Default::default()
            };
            let ft = if version >= 13 {
                FetchTopic { topic_id: info.id, partitions: vec![fp], ..Default::default() }
            } else {
                FetchTopic { topic: topic.to_owned(), partitions: vec![fp], ..Default::default() }
            };
            let req = FetchRequest {
                max_wait_ms: 100,
                min_bytes: 1,
                max_bytes: 16 << 20,
                topics: vec![ft],
                ..Default::default()
            };
            let resp = conn.send_at(&req, version).await.expect("fetch");
            let pd = &resp.responses[0].partitions[0];
            if pd.error_code.is_retriable() && retries < 50 {
                // A partition just created may not be served yet.
                retries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            assert!(pd.error_code.is_ok(), "fetch error {:?}", pd.error_code);
            if offset >= pd.high_watermark {
                break;
            }
            let records = pd.records.clone().unwrap_or_default();
            for batch in RecordBatchReader::new(records, ReadOptions::default()) {
                let batch = batch.expect("batch decodes");
                // A fetch may start with the batch holding the fetch offset, already read.
                if batch.header().next_offset() > offset {
                    offset = batch.header().next_offset();
                    out.push((p, batch));
                }
            }
        }
    }
    cluster.close();
    out
}

/// Reads every record of every partition of `topic` from the broker at `bootstrap` with our Fetch codec and record
/// reader (from offset 0 up to each partition's high watermark), sorted by partition and offset.
pub async fn read_all(bootstrap: &str, topic: &str) -> Vec<Fetched> {
    let mut out = Vec::new();
    for (p, batch) in read_batches(bootstrap, topic).await {
        for r in batch.records().expect("records") {
            let r = r.expect("record decodes");
            // A batch that a fetch offset fell inside of was kept whole: its records below that offset were read.
            if out.last().is_some_and(|l: &Fetched| l.partition == p && r.offset <= l.offset) {
                continue;
            }
            out.push(Fetched {
                partition: p,
                offset: r.offset,
                timestamp: r.timestamp,
                key: r.key,
                value: r.value,
                headers: r.headers.to_vec(),
                compression: batch.header().compression,
            });
        }
    }
    out
}

/// [`read_all`] until it returns at least `n` records or `timeout` passes (for acks=0, where nothing says when the
/// broker has appended).
pub async fn read_at_least(bootstrap: &str, topic: &str, n: usize, timeout: Duration) -> Vec<Fetched> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let got = read_all(bootstrap, topic).await;
        if got.len() >= n || std::time::Instant::now() >= deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A Kafka of the test's own, on base port `port` (`scripts/kafka` with `KAFKAR_KAFKA_PORT`), so the shared test
/// broker is not disturbed; stopped (data removed) when dropped, however the test ends.
pub struct OwnKafka {
    port: &'static str,
}

impl OwnKafka {
    /// Starts it with `scripts/kafka start ARGS...`; returns it and its bootstrap.
    pub async fn start(port: &'static str, args: &[&str]) -> (OwnKafka, String) {
        let own = OwnKafka { port };
        let bootstrap = own.run(&[&["start"], args].concat()).await;
        (own, bootstrap)
    }

    /// Runs `scripts/kafka ARGS...` against it (kill-node, start-node, ...); its stdout. Panics on failure, and
    /// when it has not finished in 5 minutes (its own waits are shorter: a start's 90 s, a stop's 30 s).
    pub async fn run(&self, args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let what = args.join(" ");
        let port = self.port;
        let task = tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/kafka"))
                .args(&args)
                .env("KAFKAR_KAFKA_PORT", port)
                .output()
                .expect("run scripts/kafka");
            assert!(out.status.success(), "scripts/kafka {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        });
        match tokio::time::timeout(Duration::from_secs(300), task).await {
            Ok(out) => out.expect("scripts/kafka task"),
            Err(_) => panic!("scripts/kafka {what} (base port {port}) did not finish in 300 s"),
        }
    }
}

impl Drop for OwnKafka {
    fn drop(&mut self) {
        let _ = std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/kafka"))
            .arg("stop")
            .env("KAFKAR_KAFKA_PORT", self.port)
            .status();
    }
}

/// Waits (up to 90 s) until a 3-node cluster is healthy: three brokers registered and every partition of each of
/// `topics` led and in sync on three replicas. The rule before a node may be killed: killing a second node before
/// the first has rejoined would lose the controller quorum and min.insync.replicas. An internal topic (`__…`) the
/// cluster has not made yet is passed over.
pub async fn wait_healthy(bootstrap: &str, topics: &[&str]) {
    let cluster = cluster(bootstrap);
    cluster.want(topics.iter().map(|t| t.to_string()));
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        // Bounded: a refresh that never answered once left this loop (and the run) hanging.
        let refreshed = tokio::time::timeout(Duration::from_secs(15), cluster.refresh()).await;
        if refreshed.is_err() {
            eprintln!("chaos: a metadata refresh did not answer in 15 s");
        }
        if let Ok(Ok(snap)) = refreshed {
            let full = topics.iter().all(|topic| match snap.topic(topic) {
                Some(t) => {
                    !t.partitions.is_empty()
                        && t.partitions.iter().all(|p| p.leader >= 0 && p.isr.len() == 3 && p.replicas.len() == 3)
                }
                // An internal topic the cluster has not made yet (`__transaction_state` before the first
                // transactional producer) is passed over; the test's own topics must be there.
                None => topic.starts_with("__"),
            });
            if snap.brokers.len() == 3 && full {
                cluster.close();
                return;
            }
        }
        assert!(std::time::Instant::now() < deadline, "the cluster did not become healthy in 90 s ({topics:?})");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The node id of the coordinator of consumer group `group` (FindCoordinator at any broker), asked again while
/// the answer is an error; a failure after 60 s.
pub async fn group_coordinator(bootstrap: &str, group: &str) -> i32 {
    use kafkar::protocol::messages::find_coordinator::{CoordinatorType, FindCoordinatorRequest};
    let cluster = cluster(bootstrap);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ask = async {
            let conn = cluster.pool().any().await?;
            let version = conn.versions().pick::<FindCoordinatorRequest>()?;
            let req = FindCoordinatorRequest::for_key(version, CoordinatorType::GROUP, group);
            Ok::<_, kafkar::Error>(conn.send_at(&req, version).await?.coordinator(version, group))
        };
        let failure = match tokio::time::timeout(Duration::from_secs(15), ask).await {
            Ok(Ok(Some(c))) if c.error_code.is_ok() => {
                cluster.close();
                return c.node_id;
            }
            Ok(Ok(Some(c))) => format!("{:?} {:?}", c.error_code, c.error_message),
            Ok(Ok(None)) => "the reply left out the group".to_owned(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer in 15 s".to_owned(),
        };
        assert!(std::time::Instant::now() < deadline, "no coordinator of group {group} in 60 s; last: {failure}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `what` within `limit`: a client call that never returns fails the test, with `what` in the message.
pub async fn within<F: std::future::Future>(limit: Duration, what: &str, f: F) -> F::Output {
    match tokio::time::timeout(limit, f).await {
        Ok(out) => out,
        Err(_) => panic!("{what} did not return in {limit:?}"),
    }
}
