//! The producer against a real Kafka broker (`KAFKA_BOOTSTRAP`, see `scripts/kafka`): every codec and acks
//! setting, read back record by record with our own Fetch codec (and with kcat for interop), partitioning, ordering,
//! flush/close, and the errors a user can cause.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafkar::admin::Admin;
use kafkar::producer::partitioner::key_partition;
use kafkar::producer::{DeliveryFuture, Producer, ProducerConfig, ProducerRecord};
use kafkar::protocol::ErrorCode;
use kafkar::{ClientConfig, ErrorKind};

async fn admin(bootstrap: &str) -> Admin {
    Admin::new(ClientConfig::new(bootstrap)).await.unwrap()
}

/// A fresh topic with `partitions` partitions; `None` when no broker is configured (outside CI).
async fn topic(prefix: &str, partitions: i32, configs: &[(&str, &str)]) -> Option<(String, String)> {
    let bootstrap = support::real_broker()?;
    let name = support::unique_topic(prefix);
    admin(&bootstrap).await.create_topic(&name, partitions, 1, configs).await.expect("create topic");
    // Metadata can name a leader a moment before the leader serves the partition; acks=0 records sent in that
    // moment are dropped without a word (as with any client). A fetch that succeeds on every partition says it is.
    assert!(support::read_all(&bootstrap, &name).await.is_empty());
    Some((bootstrap, name))
}

fn config(bootstrap: &str, pairs: &[(&str, &str)]) -> ProducerConfig {
    let mut c = ProducerConfig::new(bootstrap);
    c.set("delivery.timeout.ms", "30000").unwrap();
    c.set("request.timeout.ms", "10000").unwrap();
    for (k, v) in pairs {
        c.set(k, v).unwrap();
    }
    c
}

/// Record `i` of a test: every 7th key null, every 5th value null, headers on odd records (one with a null value).
fn record(topic: &Arc<str>, i: usize) -> ProducerRecord {
    let mut r = ProducerRecord::new(topic.clone()).timestamp(1_700_000_000_000 + i as i64);
    if !i.is_multiple_of(7) {
        r = r.key(format!("key-{}", i % 37));
    }
    if !i.is_multiple_of(5) {
        r = r.value(format!("value-{i}-{}", "x".repeat(i % 50)));
    }
    if i % 2 == 1 {
        r = r.header("trace", Some(Bytes::from(format!("t{i}")))).header("empty", None);
    }
    r
}

/// Sends `n` records, awaits every delivery, reads the topic back and checks each record field by field.
async fn round_trip(bootstrap: &str, topic: &str, pairs: &[(&str, &str)], n: usize) {
    let producer = Producer::new(config(bootstrap, pairs)).await.unwrap();
    let t: Arc<str> = topic.into();
    let mut sent = Vec::new();
    let mut futures: Vec<DeliveryFuture> = Vec::new();
    for i in 0..n {
        let r = record(&t, i);
        futures.push(producer.send(r.clone()).await.unwrap());
        sent.push(r);
    }
    let mut metas = Vec::new();
    for f in futures {
        metas.push(f.await.unwrap());
    }
    let acks0 = pairs.iter().any(|(k, v)| *k == "acks" && *v == "0");
    producer.close().await;
    let back = support::read_at_least(bootstrap, topic, n, Duration::from_secs(10)).await;
    assert_eq!(back.len(), n, "{topic} {pairs:?}: every record read back once");
    let check = |r: &ProducerRecord, f: &support::Fetched| {
        assert_eq!(f.key, r.key, "{pairs:?}");
        assert_eq!(f.value, r.value, "{pairs:?}");
        assert_eq!(f.headers, r.headers, "{pairs:?}");
        assert_eq!(f.timestamp, r.timestamp.unwrap(), "{pairs:?}");
    };
    if acks0 {
        // No offsets with acks=0: compare in send order per partition.
        let mut by_partition: BTreeMap<i32, Vec<&ProducerRecord>> = BTreeMap::new();
        for (r, m) in sent.iter().zip(&metas) {
            assert_eq!(m.offset, -1);
            by_partition.entry(m.partition).or_default().push(r);
        }
        for (p, rs) in by_partition {
            let fs: Vec<_> = back.iter().filter(|f| f.partition == p).collect();
            assert_eq!(fs.len(), rs.len());
            for (r, f) in rs.iter().zip(fs) {
                check(r, f);
            }
        }
    } else {
        let index: HashMap<(i32, i64), &support::Fetched> = back.iter().map(|f| ((f.partition, f.offset), f)).collect();
        for (r, m) in sent.iter().zip(&metas) {
            assert_eq!(&*m.topic, topic);
            assert_eq!(m.timestamp, r.timestamp.unwrap());
            let f = index.get(&(m.partition, m.offset)).unwrap_or_else(|| panic!("{m:?} not read back"));
            check(r, f);
        }
    }
}

async fn codec_matrix(codec: &str) {
    for partitions in [1, 6] {
        for acks in ["0", "1", "all"] {
            let Some((bootstrap, name)) = topic(&format!("codec-{codec}"), partitions, &[]).await else { return };
            round_trip(&bootstrap, &name, &[("compression.type", codec), ("acks", acks), ("linger.ms", "2")], 300)
                .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_uncompressed() {
    codec_matrix("none").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_gzip() {
    codec_matrix("gzip").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_snappy() {
    codec_matrix("snappy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_lz4() {
    codec_matrix("lz4").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_zstd() {
    codec_matrix("zstd").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_levels_and_small_batches_round_trip() {
    let Some((bootstrap, name)) = topic("levels", 3, &[]).await else { return };
    // Tiny batches: many batches per partition, several requests in flight.
    round_trip(
        &bootstrap,
        &name,
        &[("compression.type", "gzip"), ("compression.level", "9"), ("batch.size", "500")],
        500,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_land_where_murmur2_says_in_order() {
    let Some((bootstrap, name)) = topic("keyed", 6, &[]).await else { return };
    let producer = Producer::new(config(&bootstrap, &[("batch.size", "2000")])).await.unwrap();
    let t: Arc<str> = name.as_str().into();
    let mut futures = Vec::new();
    for i in 0..2000u32 {
        let key = format!("key-{}", i % 50);
        let r = ProducerRecord::new(t.clone()).key(key.clone()).value(i.to_be_bytes().to_vec());
        futures.push((key, i, producer.send(r).await.unwrap()));
    }
    let mut offsets = HashMap::new();
    for (key, i, f) in futures {
        let m = f.await.unwrap();
        assert_eq!(m.partition, key_partition(key.as_bytes(), 6), "{key}");
        offsets.insert((m.partition, m.offset), i);
    }
    producer.close().await;
    let back = support::read_all(&bootstrap, &name).await;
    assert_eq!(back.len(), 2000);
    let mut last: HashMap<Bytes, u32> = HashMap::new();
    for f in &back {
        let key = f.key.clone().unwrap();
        assert_eq!(f.partition, key_partition(&key, 6));
        let v = u32::from_be_bytes(f.value.as_deref().unwrap().try_into().unwrap());
        assert_eq!(offsets[&(f.partition, f.offset)], v, "delivery offsets match what is read back");
        if let Some(prev) = last.insert(key.clone(), v) {
            assert!(prev < v, "per-key order: {prev} then {v}");
        }
    }
}

/// Whether kcat is installed (it must be in CI).
fn kcat_installed() -> bool {
    let found = std::process::Command::new("kcat").arg("-V").output().is_ok();
    assert!(found || std::env::var("CI").as_deref() != Ok("true"), "kcat is required in CI");
    found
}

/// `n` random 100-byte values (xorshift from `seed`): incompressible.
fn random_values(n: usize, mut seed: u64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            (0..100)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_reads_what_we_write() {
    if !kcat_installed() {
        eprintln!("skipped: kcat not installed");
        return;
    }
    let Some((bootstrap, name)) = topic("kcat", 2, &[]).await else { return };
    let producer = Producer::new(config(&bootstrap, &[("compression.type", "lz4")])).await.unwrap();
    let t: Arc<str> = name.as_str().into();
    let mut expected = HashMap::new();
    for i in 0..100usize {
        let r = ProducerRecord::new(t.clone())
            .key(format!("k{i}"))
            .value(format!("v{i}"))
            .header("h", Some(Bytes::from(format!("hv{i}"))))
            .timestamp(1_600_000_000_000 + i as i64);
        let m = producer.send_and_wait(r).await.unwrap();
        expected.insert((m.partition, m.offset), i);
    }
    producer.close().await;
    // `-c 100`: exit after exactly 100 messages. (`-e`, exit at end of every partition, can stop early: kcat counts
    // partition-EOF events, and under load one partition can report EOF twice.) `timeout` turns a shortfall into a
    // failure instead of a hang.
    let args = ["60", "kcat", "-C", "-b", &bootstrap, "-t", &name, "-c", "100", "-o", "beginning", "-J", "-q"]
        .map(str::to_owned);
    let out = tokio::task::spawn_blocking(move || std::process::Command::new("timeout").args(args).output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "kcat did not read 100 records in 60 s: {}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 100);
    for v in lines {
        let i = expected[&(v["partition"].as_i64().unwrap() as i32, v["offset"].as_i64().unwrap())];
        assert_eq!(v["key"], format!("k{i}"));
        assert_eq!(v["payload"], format!("v{i}"));
        assert_eq!(v["ts"].as_i64().unwrap(), 1_600_000_000_000 + i as i64);
        assert_eq!(v["headers"], serde_json::json!(["h", format!("hv{i}")]));
    }
}

/// With `batch.size` 1 MiB and a topic at the brokers' default limit (`max.message.bytes` 1 MiB + 12 bytes), lz4
/// batches of incompressible values fit: none refused with MESSAGE_TOO_LARGE and split (the pieces of a split batch
/// count as batches sent), none retried. They used to come out up to 75 bytes over batch.size. The linger holds
/// every batch until it is full or flushed, so the batch count follows from the sizes, not from timing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lz4_batches_of_incompressible_values_fit_the_default_size_limit() {
    let Some((bootstrap, name)) = topic("lz4-limit", 1, &[("max.message.bytes", "1048588")]).await else { return };
    let pairs = [
        ("compression.type", "lz4"),
        ("batch.size", "1048576"),
        ("linger.ms", "60000"),
        ("delivery.timeout.ms", "120000"),
    ];
    let producer = Producer::new(config(&bootstrap, &pairs)).await.unwrap();
    let t: Arc<str> = name.as_str().into();
    // 30,000 random 100-byte values: 3.3 MB of records.
    let mut futures = Vec::with_capacity(30_000);
    for value in random_values(30_000, 0x9e37_79b9_7f4a_7c15) {
        futures.push(producer.send(ProducerRecord::new(t.clone()).value(value)).await.unwrap());
    }
    producer.flush().await;
    for f in futures {
        f.await.unwrap();
    }
    let m = producer.metrics();
    assert_eq!((m.records_sent, m.record_errors, m.retries, m.batch_splits), (30_000, 0, 0, 0), "{m:?}");
    // Three full batches (about 9,500 records each) and the flushed rest; a split would add a batch.
    assert_eq!(m.batches_sent, 4, "{m:?}");
    assert!(m.avg_batch_size <= 1_048_576.0, "{m:?}");
    producer.close().await;
}

/// Whether a v2 batch's records are one zstd frame of raw (stored) blocks, as the producer writes a batch that a
/// probe finds would not shrink: zstd's magic, the frame header it writes (4-byte content size, 128 KiB window) and
/// a first block of type raw.
fn zstd_stored(batch: &kafkar::protocol::records::RecordBatch) -> bool {
    const RECORDS_AT: usize = 61;
    let frame = &batch.raw()[RECORDS_AT..];
    frame.len() > 12 && frame[..6] == [0x28, 0xb5, 0x2f, 0xfd, 0x80, 0x38] && (frame[10] >> 1) & 3 == 0
}

/// zstd batches of random values are stored (compressing them would save a few percent for a third of the
/// producer's CPU); batches of text are compressed. The broker reads every batch to validate it (Java's zstd-jni),
/// and our reader and kcat (librdkafka) read every record back from both kinds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_batches_of_random_values_are_stored_and_every_reader_reads_them() {
    let Some((bootstrap, name)) = topic("zstd-stored", 1, &[]).await else { return };
    let pairs = [
        ("compression.type", "zstd"),
        ("batch.size", "65536"),
        ("linger.ms", "60000"),
        ("delivery.timeout.ms", "120000"),
    ];
    let producer = Producer::new(config(&bootstrap, &pairs)).await.unwrap();
    let t: Arc<str> = name.as_str().into();
    const N: usize = 2_000;
    let mut sent: Vec<(String, Vec<u8>)> = random_values(N, 0x2545_f491_4f6c_dd1d)
        .into_iter()
        .enumerate()
        .map(|(i, value)| (format!("random-{i}"), value))
        .collect();
    for i in 0..N {
        let value = format!(r#"{{"order":{i},"status":"shipped","items":[{{"sku":"A-{}","qty":2}}]}}"#, i % 50);
        sent.push((format!("text-{i}"), value.into_bytes()));
    }
    let mut futures = Vec::with_capacity(sent.len());
    for (i, (key, value)) in sent.iter().enumerate() {
        if i == N {
            // Random and text records never share a batch.
            producer.flush().await;
        }
        let r = ProducerRecord::new(t.clone()).key(key.clone()).value(value.clone());
        futures.push(producer.send(r).await.unwrap());
    }
    producer.flush().await;
    for f in futures {
        f.await.unwrap();
    }
    producer.close().await;

    let batches = support::read_batches(&bootstrap, &name).await;
    let (mut stored, mut compressed) = (0, 0);
    for (_, batch) in &batches {
        assert_eq!(batch.header().compression, kafkar::protocol::compression::Compression::Zstd);
        let random = batch.records().unwrap().next().unwrap().unwrap().key.unwrap().starts_with(b"random-");
        assert_eq!(
            zstd_stored(batch),
            random,
            "batch at {}: stored iff its values are random",
            batch.header().base_offset
        );
        if random { stored += 1 } else { compressed += 1 }
    }
    // 2,000 × ~120 bytes of random records fill about four 64 KiB batches; the text about two.
    assert!(stored >= 3 && compressed >= 1, "{stored} stored, {compressed} compressed batches");
    let back = support::read_all(&bootstrap, &name).await;
    let back: Vec<(String, Vec<u8>)> = back
        .into_iter()
        .map(|f| (String::from_utf8(f.key.unwrap().to_vec()).unwrap(), f.value.unwrap().to_vec()))
        .collect();
    assert!(back == sent, "our reader read back {} of {} records, or other bytes", back.len(), sent.len());

    if !kcat_installed() {
        eprintln!("kcat part skipped: kcat not installed");
        return;
    }
    // Each record as "key length\n" and the value's bytes: values are binary, so they are cut by their length.
    let count = sent.len().to_string();
    let args =
        ["60", "kcat", "-C", "-b", &bootstrap, "-t", &name, "-c", &count, "-o", "beginning", "-q", "-f", "%k %S\n%s"]
            .map(str::to_owned);
    let out = tokio::task::spawn_blocking(move || std::process::Command::new("timeout").args(args).output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "kcat did not read every record in 60 s: {}", String::from_utf8_lossy(&out.stderr));
    let mut rest = &out.stdout[..];
    let mut by_kcat = Vec::with_capacity(sent.len());
    while !rest.is_empty() {
        let eol = rest.iter().position(|&b| b == b'\n').expect("a key line");
        let line = std::str::from_utf8(&rest[..eol]).unwrap();
        let (key, len) = line.rsplit_once(' ').unwrap();
        let len: usize = len.parse().unwrap();
        by_kcat.push((key.to_owned(), rest[eol + 1..eol + 1 + len].to_vec()));
        rest = &rest[eol + 1 + len..];
    }
    assert!(by_kcat == sent, "kcat read back {} of {} records, or other bytes", by_kcat.len(), sent.len());
}

/// lz4 and snappy batches of values that compress fill `batch.size` with compressed bytes even below the codecs'
/// block sizes (the builder compresses staged records early, as short blocks, to count them at their real size), and
/// the broker, which decompresses every batch to validate it, takes those frames: every record reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressible_lz4_and_snappy_batches_fill_batch_size() {
    for codec in ["lz4", "snappy"] {
        let Some((bootstrap, name)) = topic(&format!("fill-{codec}"), 1, &[]).await else { return };
        let pairs = [
            ("compression.type", codec),
            ("batch.size", "16384"),
            ("linger.ms", "60000"),
            ("delivery.timeout.ms", "120000"),
        ];
        let producer = Producer::new(config(&bootstrap, &pairs)).await.unwrap();
        let t: Arc<str> = name.as_str().into();
        let value = |i: usize| {
            format!(
                "{{\"id\":{i},\"kind\":\"order\",\"amount\":{}.{:02},\"user\":\"u{:05}\"}}",
                i * 7 % 1000,
                i % 100,
                i * 31 % 9973
            )
        };
        let mut futures = Vec::new();
        for i in 0..5_000 {
            futures.push(producer.send(ProducerRecord::new(t.clone()).value(value(i))).await.unwrap());
        }
        producer.flush().await;
        for f in futures {
            f.await.unwrap();
        }
        let m = producer.metrics();
        assert_eq!((m.records_sent, m.record_errors, m.retries), (5_000, 0, 0), "{codec}: {m:?}");
        // 5,000 records of about 75 bytes: 400 KB, 16 KiB batches of several times that many bytes of records.
        assert!(m.avg_records_per_batch > 3.0 * 16_384.0 / 85.0, "{codec}: {m:?}");
        producer.close().await;
        let got = support::read_all(&bootstrap, &name).await;
        assert_eq!(got.len(), 5_000, "{codec}");
        for (i, r) in got.iter().enumerate() {
            assert_eq!(r.value.as_deref(), Some(value(i).as_bytes()), "{codec}: record {i}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_sends_lingering_records_and_waits_for_them() {
    let Some((bootstrap, name)) = topic("flush", 3, &[]).await else { return };
    // A linger far beyond the test: only flush can send these.
    let producer =
        Producer::new(config(&bootstrap, &[("linger.ms", "60000"), ("delivery.timeout.ms", "120000")])).await.unwrap();
    let t: Arc<str> = name.as_str().into();
    let mut futures = Vec::new();
    for i in 0..200 {
        futures.push(producer.send(ProducerRecord::new(t.clone()).value(format!("{i}"))).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(futures.iter().all(|f| f.try_result().is_none()), "lingering");
    let t0 = Instant::now();
    producer.flush().await;
    assert!(t0.elapsed() < Duration::from_secs(10));
    for f in &futures {
        assert!(f.try_result().expect("done after flush").is_ok());
    }
    let m = producer.metrics();
    assert_eq!(m.records_sent, 200);
    assert!(m.batches_sent >= 1 && m.requests_sent >= 1);
    assert_eq!(m.queued_bytes, 0, "buffer memory released on completion");
    assert_eq!(m.queued_batches, 0);
    assert!(m.avg_batch_size > 0.0 && m.request_latency_max >= m.request_latency_avg);
    // Every request was written after `t0` (the linger held them back) and has its reply: one histogram
    // observation each, none longer than the time since `t0`.
    let (h, since_flush) = (&m.request_latency, t0.elapsed());
    assert_eq!(h.count, m.requests_sent, "{h:?}");
    assert_eq!(h.cumulative.last().copied(), Some(h.count));
    assert!(h.cumulative.windows(2).all(|w| w[0] <= w[1]), "{h:?}");
    assert!(h.sum > Duration::ZERO && h.max <= since_flush, "{h:?} in {since_flush:?}");
    assert!(h.sum <= since_flush * u32::try_from(h.count).unwrap(), "{h:?} in {since_flush:?}");
    assert_eq!((h.max, h.mean()), (m.request_latency_max, m.request_latency_avg));
    let p99 = h.quantile(0.99).unwrap();
    assert!(p99 > Duration::ZERO && p99 <= h.max, "{p99:?} {h:?}");
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_delivers_everything_then_refuses_sends() {
    let Some((bootstrap, name)) = topic("close", 2, &[]).await else { return };
    let producer =
        Producer::new(config(&bootstrap, &[("linger.ms", "60000"), ("delivery.timeout.ms", "120000")])).await.unwrap();
    let t: Arc<str> = name.as_str().into();
    let results = Arc::new(Mutex::new(Vec::new()));
    for i in 0..100 {
        let res = results.clone();
        producer
            .send_with_callback(ProducerRecord::new(t.clone()).value(format!("{i}")), move |r| {
                res.lock().unwrap().push(r.map(|m| m.offset))
            })
            .await
            .unwrap();
    }
    let other = producer.clone();
    producer.close().await;
    let results = results.lock().unwrap().clone();
    assert_eq!(results.len(), 100, "every callback ran before close returned");
    assert!(results.iter().all(|r| r.is_ok()));
    let e = other.send(ProducerRecord::new(t.clone()).value("late")).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Closed), "{e}");
    assert_eq!(support::read_all(&bootstrap, &name).await.len(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_reported_reports_every_tag_once_with_its_record_offset() {
    let Some((bootstrap, name)) = topic("reported", 3, &[]).await else { return };
    type Reports = Vec<(u64, kafkar::Result<(i32, i64)>)>;
    let reports: Arc<Mutex<Reports>> = Arc::default();
    let r = reports.clone();
    let producer =
        Producer::new(config(&bootstrap, &[("linger.ms", "20"), ("batch.size", "4000")]).with_delivery_handler(
            move |tag: u64, res: kafkar::Result<kafkar::producer::RecordMetadata>| {
                r.lock().unwrap().push((tag, res.map(|m| (m.partition, m.offset))))
            },
        ))
        .await
        .unwrap();
    let t: Arc<str> = name.as_str().into();
    let n = 3_000u64;
    for i in 0..n {
        // Tags are the application's: here far from the record's index, to tell them apart.
        producer.send_reported(ProducerRecord::new(t.clone()).value(format!("v{i}")), 1_000_000 + i).await.unwrap();
    }
    producer.flush().await;
    let got = std::mem::take(&mut *reports.lock().unwrap());
    assert_eq!(got.len() as u64, n);
    let mut by_tag = HashMap::new();
    for (tag, res) in got {
        assert!(by_tag.insert(tag, res.unwrap()).is_none(), "tag {tag} reported twice");
    }
    let back = support::read_all(&bootstrap, &name).await;
    assert_eq!(back.len() as u64, n);
    for rec in &back {
        let v = std::str::from_utf8(rec.value.as_ref().unwrap()).unwrap();
        let i: u64 = v[1..].parse().unwrap();
        assert_eq!(by_tag[&(1_000_000 + i)], (rec.partition, rec.offset), "record {v}");
    }
    assert!(by_tag.values().map(|(p, _)| p).collect::<std::collections::HashSet<_>>().len() > 1);
    producer.close().await;

    // A producer without a handler refuses send_reported and queues nothing.
    let plain = Producer::new(config(&bootstrap, &[])).await.unwrap();
    let e = plain.send_reported(ProducerRecord::new(t.clone()).value("no"), 1).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidArgument(_)), "{e}");
    plain.close().await;
    assert_eq!(support::read_all(&bootstrap, &name).await.len() as u64, n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_reported_reports_a_broker_rejection_to_its_tag() {
    let Some((bootstrap, name)) = topic("reported-rejected", 1, &[("max.message.bytes", "1000")]).await else { return };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let producer = Producer::new(config(&bootstrap, &[]).with_delivery_handler(
        move |tag: u64, res: kafkar::Result<kafkar::producer::RecordMetadata>| {
            let _ = tx.send((tag, res.map(|m| m.offset).map_err(|e| e.code())));
        },
    ))
    .await
    .unwrap();
    let t: Arc<str> = name.as_str().into();
    producer.send_reported(ProducerRecord::new(t.clone()).value(vec![1u8; 5000]), 41).await.unwrap();
    let (tag, res) = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await.unwrap().unwrap();
    assert_eq!((tag, res), (41, Err(Some(ErrorCode::MESSAGE_TOO_LARGE))));
    producer.send_reported(ProducerRecord::new(t.clone()).value("fine"), 42).await.unwrap();
    let (tag, res) = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await.unwrap().unwrap();
    assert_eq!((tag, res), (42, Ok(0)));
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_record_fails_alone() {
    let Some((bootstrap, name)) = topic("oversized", 1, &[]).await else { return };
    let producer = Producer::new(config(&bootstrap, &[("max.request.size", "10000")])).await.unwrap();
    let t: Arc<str> = name.as_str().into();
    let a = producer.send(ProducerRecord::new(t.clone()).value("small-1")).await.unwrap();
    let e = producer.send(ProducerRecord::new(t.clone()).value(vec![0u8; 20_000])).await.unwrap_err();
    match e.kind() {
        ErrorKind::RecordTooLarge { size, limit } => assert!(*size > 20_000 && *limit == 10_000),
        k => panic!("{k:?}"),
    }
    let b = producer.send(ProducerRecord::new(t.clone()).value("small-2")).await.unwrap();
    assert_eq!(a.await.unwrap().offset, 0);
    assert_eq!(b.await.unwrap().offset, 1);
    producer.close().await;
    let back = support::read_all(&bootstrap, &name).await;
    let values: Vec<_> = back.iter().map(|f| f.value.clone().unwrap()).collect();
    assert_eq!(values, vec![Bytes::from("small-1"), Bytes::from("small-2")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_rejection_fails_the_batch_and_reaches_the_error_channel() {
    // The topic accepts batches of at most 1000 bytes; the producer (max.request.size 1 MiB) does not know.
    let Some((bootstrap, name)) = topic("rejected", 1, &[("max.message.bytes", "1000")]).await else { return };
    let producer = Producer::new(config(&bootstrap, &[])).await.unwrap();
    let mut errors = producer.take_errors().unwrap();
    assert!(producer.take_errors().is_none());
    let t: Arc<str> = name.as_str().into();
    let e = producer.send_and_wait(ProducerRecord::new(t.clone()).value(vec![1u8; 5000])).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::MESSAGE_TOO_LARGE), "{e}");
    assert_eq!(e.context().topic.as_deref(), Some(name.as_str()));
    assert_eq!(e.context().partition, Some(0));
    producer.send_forget(ProducerRecord::new(t.clone()).value(vec![2u8; 5000])).await.unwrap();
    let f = tokio::time::timeout(Duration::from_secs(20), errors.recv()).await.unwrap().unwrap();
    assert_eq!((&*f.topic, f.partition, f.records), (name.as_str(), 0, 1));
    assert_eq!(f.error.code(), Some(ErrorCode::MESSAGE_TOO_LARGE));
    // The producer goes on: a small record after the failures is delivered.
    producer.send_and_wait(ProducerRecord::new(t.clone()).value("fine")).await.unwrap();
    assert!(producer.metrics().record_errors >= 2);
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_send_never_waits() {
    let Some((bootstrap, name)) = topic("try-send", 1, &[]).await else { return };
    let producer = Producer::new(config(
        &bootstrap,
        &[("buffer.memory", "4000"), ("linger.ms", "60000"), ("delivery.timeout.ms", "120000")],
    ))
    .await
    .unwrap();
    let t: Arc<str> = name.as_str().into();
    // No metadata yet: a typed, retriable error (and a fetch starts).
    let e = producer.try_send(ProducerRecord::new(t.clone()).value("x")).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::WouldBlock(_)) && e.is_retriable(), "{e}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let first = loop {
        match producer.try_send(ProducerRecord::new(t.clone()).value(vec![0u8; 500])) {
            Ok(f) => break f,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock(_)) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => panic!("{e}"),
        }
    };
    let mut futures = vec![first];
    let full = loop {
        match producer.try_send(ProducerRecord::new(t.clone()).value(vec![0u8; 500])) {
            Ok(f) => futures.push(f),
            Err(e) => break e,
        }
        assert!(futures.len() < 10, "4000 bytes of buffer hold fewer than 10 records of 500");
    };
    assert!(matches!(full.kind(), ErrorKind::QueueFull), "{full}");
    // `send` waits for the memory instead: the wait makes the sender send what lingers, which frees it.
    let waited = producer.send(ProducerRecord::new(t.clone()).value(vec![0u8; 500])).await.unwrap();
    futures.push(waited);
    producer.flush().await;
    for f in futures {
        f.await.unwrap();
    }
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_waits_for_buffer_memory() {
    // buffer.memory smaller than two records, the first lingering: the second send waits for memory, which makes
    // the sender send the lingering batch at once. (Giving up with QueueFull is in producer_faults.rs, where the
    // broker can be made not to answer.)
    let Some((bootstrap, name)) = topic("queue-full", 1, &[]).await else { return };
    let producer = Producer::new(config(
        &bootstrap,
        &[
            ("buffer.memory", "1000"),
            ("max.block.ms", "300"),
            ("linger.ms", "60000"),
            ("delivery.timeout.ms", "120000"),
        ],
    ))
    .await
    .unwrap();
    let t: Arc<str> = name.as_str().into();
    let first = producer.send(ProducerRecord::new(t.clone()).value(vec![0u8; 600])).await.unwrap();
    // The second record waits for the first to complete; the wait forces the lingering batch out, so it succeeds.
    let t0 = Instant::now();
    let second = producer.send(ProducerRecord::new(t.clone()).value(vec![0u8; 600])).await.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(5), "the wait did not last the linger");
    assert!(first.try_result().expect("first completed before the second got memory").is_ok());
    producer.flush().await;
    second.await.unwrap();
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_topic_names_and_partitions_are_invalid_arguments() {
    let Some((bootstrap, name)) = topic("invalid", 2, &[]).await else { return };
    let producer = Producer::new(config(&bootstrap, &[])).await.unwrap();
    for bad in ["bad topic", "", "..", "x/y"] {
        let e = producer.send(ProducerRecord::new(bad).value("v")).await.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidArgument(_)), "{bad:?}: {e}");
    }
    let e = producer.send(ProducerRecord::new(name.as_str()).partition(2).value("v")).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidArgument(_)), "{e}");
    let e = producer.send(ProducerRecord::new(name.as_str()).timestamp(-5).value("v")).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidArgument(_)), "{e}");
    producer.close().await;
}

#[tokio::test]
async fn empty_bootstrap_is_a_config_error() {
    let e = Producer::new(ProducerConfig::new(" ")).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Config(_)), "{e}");
}

#[tokio::test]
async fn unreachable_bootstrap_fails_within_max_block() {
    let mut c = ProducerConfig::new("127.0.0.1:1");
    c.set("max.block.ms", "1500").unwrap();
    let producer = Producer::new(c).await.unwrap();
    let t0 = Instant::now();
    let e = producer.send(ProducerRecord::new("anything").value("v")).await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert!(e.is_retriable(), "a connection problem: {e}");
    assert!(matches!(e.kind(), ErrorKind::Io(_) | ErrorKind::Timeout | ErrorKind::Disconnected(_)), "{e}");
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reports_existing_and_missing_topics() {
    let Some((bootstrap, name)) = topic("admin", 1, &[]).await else { return };
    let admin = admin(&bootstrap).await;
    let e = admin.create_topic(&name, 1, 1, &[]).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::TOPIC_ALREADY_EXISTS), "{e}");
    admin.delete_topic(&name).await.unwrap();
    let e = admin.delete_topic(&name).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_console_consumer_reads_what_we_write() {
    // scripts/kafka from this repository (or KAFKAR_KAFKA_SCRIPT): the Java console consumer of the Kafka release
    // the broker runs.
    let script = std::env::var("KAFKAR_KAFKA_SCRIPT")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/kafka").to_owned());
    if !std::path::Path::new(&script).exists() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{script} is required in CI");
        eprintln!("skipped: {script} not found");
        return;
    }
    let Some((bootstrap, name)) = topic("java", 1, &[]).await else { return };
    let producer = Producer::new(config(&bootstrap, &[("compression.type", "zstd")])).await.unwrap();
    let t: Arc<str> = name.as_str().into();
    for i in 0..20 {
        let r = ProducerRecord::new(t.clone())
            .key(format!("k{i}"))
            .value(format!("v{i}"))
            .header("h", Some(Bytes::from(format!("hv{i}"))))
            .timestamp(1_600_000_000_000 + i);
        producer.send_forget(r).await.unwrap();
    }
    producer.close().await;
    let args: Vec<String> = [
        "console-consumer",
        "--bootstrap-server",
        &bootstrap,
        "--topic",
        &name,
        "--from-beginning",
        "--max-messages",
        "20",
        "--timeout-ms",
        "30000",
        "--property",
        "print.timestamp=true",
        "--property",
        "print.headers=true",
        "--property",
        "print.key=true",
        "--property",
        "key.separator=|",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = tokio::task::spawn_blocking(move || std::process::Command::new(script).args(args).output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("CreateTime:")).collect();
    assert_eq!(lines.len(), 20, "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(*line, format!("CreateTime:{}|h:hv{i}|k{i}|v{i}", 1_600_000_000_000 + i as i64));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_append_time_topics_report_the_brokers_time() {
    let Some((bootstrap, name)) = topic("append-time", 1, &[("message.timestamp.type", "LogAppendTime")]).await else {
        return;
    };
    let producer = Producer::new(config(&bootstrap, &[])).await.unwrap();
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let m = producer.send_and_wait(ProducerRecord::new(name.as_str()).value("v").timestamp(1000)).await.unwrap();
    assert!(m.timestamp >= before - 1000, "the append time, not the record's 1000: {}", m.timestamp);
    producer.close().await;
    let back = support::read_all(&bootstrap, &name).await;
    assert_eq!(back[0].timestamp, m.timestamp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_still_delivers_what_was_queued() {
    let Some((bootstrap, name)) = topic("dropped", 1, &[]).await else { return };
    let producer = Producer::new(config(&bootstrap, &[("linger.ms", "300")])).await.unwrap();
    let mut futures = Vec::new();
    for i in 0..10 {
        futures.push(producer.send(ProducerRecord::new(name.as_str()).value(format!("{i}"))).await.unwrap());
    }
    drop(producer);
    for f in futures {
        f.await.unwrap();
    }
    assert_eq!(support::read_all(&bootstrap, &name).await.len(), 10);
}
