//! The consumer against a real Apache Kafka (`KAFKA_BOOTSTRAP`; see `scripts/kafka`): what is written is read back
//! exactly, by kafkar-built batches, by kafkar's producer with every codec and by Kafka's own Java tools (console
//! producer, producer-perf — a million records — with and without transactions), and positions, seeks,
//! timestamps, pause/resume, commits, resets, watermarks and lag behave as the Java client's do — watermarks
//! cross-checked with Kafka's GetOffsetShell.
//!
//! Each test makes its own topics. The Java tools are run through `scripts/kafka` (or `$KAFKAR_KAFKA_SCRIPT`).

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafkar::ErrorKind;
use kafkar::consumer::{Consumer, ConsumerConfig, ConsumerRecord, OffsetAndMetadata, TopicPartition};
use kafkar::protocol::compression::Compression;
use kafkar::protocol::records::{Header, RecordBatchBuilder, TimestampType};
use support::{create_topic, produce_batch};

const WAIT: Duration = Duration::from_secs(30);

/// A record to write: key, value, headers, timestamp.
#[derive(Clone, Debug, PartialEq)]
struct Rec {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    timestamp: i64,
}

fn batch(compression: Compression, recs: &[Rec]) -> Bytes {
    let mut b = RecordBatchBuilder::new(compression);
    for r in recs {
        let headers: Vec<Header> =
            r.headers.iter().map(|(k, v)| Header::new(Bytes::from(k.clone()), v.clone().map(Bytes::from))).collect();
        b.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &headers).unwrap();
    }
    b.build().unwrap().into_bytes()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn simple(n: usize, tag: &str) -> Vec<Rec> {
    (0..n)
        .map(|i| Rec {
            key: Some(format!("k{i}").into_bytes()),
            value: Some(format!("{tag}-{i}").into_bytes()),
            headers: vec![],
            timestamp: now_ms(),
        })
        .collect()
}

fn config(bootstrap: &str) -> ConsumerConfig {
    let mut c = ConsumerConfig::new(bootstrap);
    c.set("auto.offset.reset", "earliest").unwrap();
    c.set("fetch.max.wait.ms", "100").unwrap();
    c
}

async fn consumer(bootstrap: &str, tps: &[TopicPartition], extra: &[(&str, &str)]) -> Consumer {
    let mut c = config(bootstrap);
    for (k, v) in extra {
        c.set(k, v).unwrap();
    }
    let mut consumer = Consumer::new(c).await.unwrap();
    consumer.assign(tps.iter().cloned()).unwrap();
    consumer
}

/// Receives `n` records (failing after 30 s).
async fn take(consumer: &mut Consumer, n: usize) -> Vec<ConsumerRecord> {
    let mut out = Vec::with_capacity(n);
    let deadline = tokio::time::Instant::now() + WAIT;
    while out.len() < n {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(!left.is_zero(), "only {} of {n} records arrived", out.len());
        let got = consumer.poll(n - out.len(), left).await.unwrap();
        out.extend(got);
    }
    out
}

/// No record arrives within `d`.
async fn assert_quiet(consumer: &mut Consumer, d: Duration) {
    let got = consumer.poll(10, d).await.unwrap();
    assert!(
        got.is_empty(),
        "unexpected records: {:?}",
        got.iter().map(|r| (r.partition, r.offset)).collect::<Vec<_>>()
    );
}

fn as_rec(r: &ConsumerRecord) -> Rec {
    Rec {
        key: r.key.as_ref().map(|b| b.to_vec()),
        value: r.value.as_ref().map(|b| b.to_vec()),
        headers: r
            .headers
            .iter()
            .map(|h| (String::from_utf8(h.key.to_vec()).unwrap(), h.value.map(|v| v.to_vec())))
            .collect(),
        timestamp: r.timestamp,
    }
}

fn tp(topic: &str, p: i32) -> TopicPartition {
    TopicPartition::new(topic, p)
}

/// Runs a Kafka tool through `scripts/kafka` with `stdin`, returning stdout; panics with stderr on failure.
fn kafka_tool(script: &PathBuf, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(script)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    if let Some(input) = stdin {
        use std::io::Write;
        let mut s = child.stdin.take().unwrap();
        s.write_all(input.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{args:?} failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Writes `records` records of `record_size` bytes to `topic` with Kafka's producer-perf as fast as it can, with
/// `options` (more producer-perf options) and `props` (producer properties besides `bootstrap.servers`).
fn producer_perf(
    script: &PathBuf,
    bootstrap: &str,
    topic: &str,
    records: usize,
    record_size: usize,
    options: &[&str],
    props: &[&str],
) {
    let (records, record_size) = (records.to_string(), record_size.to_string());
    let bootstrap = format!("bootstrap.servers={bootstrap}");
    let mut args = vec!["producer-perf", "--topic", topic, "--num-records", &records];
    args.extend(["--record-size", &record_size, "--throughput", "-1"]);
    args.extend_from_slice(options);
    args.extend(["--producer-props", &bootstrap]);
    args.extend_from_slice(props);
    kafka_tool(script, &args, None);
}

#[tokio::test]
async fn reads_back_every_codec_with_headers_and_null_keys_and_values() {
    let Some((bootstrap, cluster, topic)) = support::real_topic("consume-codecs", 3).await else { return };
    let codecs = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];
    let mut written: HashMap<i32, Vec<Rec>> = HashMap::new();
    for p in 0..3 {
        for (ci, c) in codecs.iter().enumerate() {
            let recs: Vec<Rec> = (0..20)
                .map(|i| Rec {
                    key: (i % 3 != 0).then(|| format!("key-{p}-{ci}-{i}").into_bytes()),
                    value: (i % 5 != 4).then(|| format!("value {p}/{c:?}/{i} {}", "x".repeat(i * 7)).into_bytes()),
                    headers: (0..(i % 3))
                        .map(|h| (format!("h{h}"), (h != 1).then(|| format!("hv{i}").into_bytes())))
                        .collect(),
                    timestamp: 1_700_000_000_000 + (ci * 100 + i) as i64,
                })
                .collect();
            let base = produce_batch(&cluster, &topic, p, batch(*c, &recs)).await;
            assert_eq!(base, (ci * 20) as i64);
            written.entry(p).or_default().extend(recs);
        }
    }
    let tps: Vec<TopicPartition> = (0..3).map(|p| tp(&topic, p)).collect();
    let started = Instant::now();
    let mut c = consumer(&bootstrap, &tps, &[]).await;
    let got = take(&mut c, 300).await;
    let mut read: HashMap<i32, Vec<Rec>> = HashMap::new();
    let mut offsets: HashMap<i32, Vec<i64>> = HashMap::new();
    for r in &got {
        assert_eq!(&*r.topic, topic);
        assert_eq!(r.timestamp_type, TimestampType::CreateTime);
        assert!(r.leader_epoch.is_some());
        read.entry(r.partition).or_default().push(as_rec(r));
        offsets.entry(r.partition).or_default().push(r.offset);
    }
    for p in 0..3 {
        assert_eq!(read[&p], written[&p], "partition {p}");
        assert_eq!(offsets[&p], (0..100).collect::<Vec<i64>>());
    }
    assert_quiet(&mut c, Duration::from_millis(300)).await;
    for t in &tps {
        assert_eq!(c.position(t).await.unwrap(), 100);
        assert_eq!(c.lag(t), Some(0));
    }
    let m = c.metrics();
    assert_eq!(m.records_consumed, 300);
    assert!(m.fetch_requests >= 1 && m.bytes_consumed > 0, "{m:?}");
    // One histogram observation per fetch reply (a fetch may still be out), none longer than the consumer's life,
    // and at most one fetch in flight per broker at any time.
    let (h, lived) = (&m.fetch_latency, started.elapsed());
    let brokers = u32::try_from(cluster.refresh().await.unwrap().brokers.len()).unwrap();
    assert!(h.count >= 1 && h.count <= m.fetch_requests, "{h:?} {m:?}");
    assert_eq!(h.cumulative.last().copied(), Some(h.count));
    assert!(h.cumulative.windows(2).all(|w| w[0] <= w[1]), "{h:?}");
    assert!(h.sum > Duration::ZERO && h.max <= lived, "{h:?} in {lived:?}");
    assert!(brokers >= 1 && h.sum <= lived * brokers, "{h:?} in {lived:?} over {brokers} brokers");
    assert_eq!((h.max, h.mean()), (m.fetch_latency_max, m.fetch_latency_avg));
    assert!(h.quantile(0.5).unwrap() <= h.max, "{h:?}");
    c.close().await.unwrap();
}

#[tokio::test]
async fn stream_recv_and_poll_see_the_same_records() {
    use std::future::poll_fn;
    use std::pin::Pin;

    use futures_core::Stream;
    let Some((bootstrap, cluster, topic)) = support::real_topic("consume-stream", 1).await else { return };
    produce_batch(&cluster, &topic, 0, batch(Compression::Lz4, &simple(30, "s"))).await;
    let mut c = consumer(&bootstrap, &[tp(&topic, 0)], &[]).await;
    let first = c.recv().await.unwrap();
    assert_eq!(first.offset, 0);
    let mut offsets = vec![first.offset];
    {
        let mut s = c.stream();
        for _ in 0..9 {
            let r = poll_fn(|cx| Pin::new(&mut s).poll_next(cx)).await.unwrap().unwrap();
            offsets.push(r.offset);
        }
    }
    let rest = take(&mut c, 20).await;
    offsets.extend(rest.iter().map(|r| r.offset));
    assert_eq!(offsets, (0..30).collect::<Vec<i64>>());
}

#[tokio::test]
async fn records_from_the_java_console_producer_with_every_codec() {
    let Some(bootstrap) = support::real_broker() else { return };
    let Some(script) = support::kafka_script() else { return };
    let cluster = support::cluster(&bootstrap);
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = support::unique_topic(&format!("consume-java-{codec}"));
        create_topic(&cluster, &topic, 1, &[]).await;
        let lines: Vec<String> = (0..50).map(|i| format!("key{i}:value {i} {codec}")).collect();
        kafka_tool(
            &script,
            &[
                "console-producer",
                "--bootstrap-server",
                &bootstrap,
                "--topic",
                &topic,
                "--property",
                "parse.key=true",
                "--property",
                "key.separator=:",
                // The 4.4 console producer sets compression.type from --compression-codec (default none) over
                // any --producer-property compression.type.
                "--compression-codec",
                codec,
                "--producer-property",
                "linger.ms=50",
            ],
            Some(&(lines.join("\n") + "\n")),
        );
        let mut c = consumer(&bootstrap, &[tp(&topic, 0)], &[]).await;
        let got = take(&mut c, 50).await;
        for (i, r) in got.iter().enumerate() {
            assert_eq!(r.offset, i as i64);
            assert_eq!(r.key.as_deref(), Some(format!("key{i}").as_bytes()), "{codec}");
            assert_eq!(r.value.as_deref(), Some(format!("value {i} {codec}").as_bytes()), "{codec}");
        }
        assert_quiet(&mut c, Duration::from_millis(200)).await;
        // The batches really are compressed with the codec: read them raw, batch headers included.
        let raw = support::read_all(&bootstrap, &topic).await;
        assert_eq!(raw.len(), 50, "{codec}");
        let want = Compression::from_name(codec).unwrap();
        for r in &raw {
            assert_eq!(r.compression, want, "{codec}: batch of offset {}", r.offset);
        }
    }
}

/// One consumer reads everything written to one topic, exactly: 1,000,000 100-byte records from Kafka's Java
/// producer-perf, then records from kafkar's producer with every codec (checked by content, in order per
/// partition). Offsets run without a gap or a repeat, and nothing more arrives.
#[tokio::test]
async fn one_consumer_reads_a_million_java_records_and_kafkar_records_of_every_codec() {
    use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
    let Some(bootstrap) = support::real_broker() else { return };
    let Some(script) = support::kafka_script() else { return };
    const JAVA: usize = 1_000_000;
    const PER_CODEC: usize = 20_000;
    let started = std::time::Instant::now();
    let cluster = support::cluster(&bootstrap);
    let topic = support::unique_topic("consume-all");
    create_topic(&cluster, &topic, 3, &[]).await;
    producer_perf(&script, &bootstrap, &topic, JAVA, 100, &[], &["linger.ms=20", "batch.size=262144"]);
    let java_done = started.elapsed();

    let codecs = ["none", "gzip", "snappy", "lz4", "zstd"];
    // (codec, partition) -> (key, value) in the order sent.
    type ByCodecAndPartition = HashMap<(String, i32), Vec<(Vec<u8>, Vec<u8>)>>;
    let mut written = ByCodecAndPartition::new();
    let t: Arc<str> = topic.as_str().into();
    for codec in codecs {
        let mut cfg = ProducerConfig::new(&bootstrap);
        cfg.set("compression.type", codec).unwrap();
        cfg.set("linger.ms", "5").unwrap();
        let producer = Producer::new(cfg).await.unwrap();
        let mut futures = Vec::with_capacity(PER_CODEC);
        for i in 0..PER_CODEC {
            let p = (i % 3) as i32;
            let (key, value) = (format!("{codec}-{i}").into_bytes(), format!("{codec} {i} {}", "v".repeat(i % 200)));
            written.entry((codec.to_owned(), p)).or_default().push((key.clone(), value.clone().into_bytes()));
            let r = ProducerRecord::new(t.clone()).partition(p).key(key).value(value.into_bytes());
            futures.push(producer.send(r).await.unwrap());
        }
        for f in futures {
            f.await.unwrap();
        }
        producer.close().await;
    }
    let total = JAVA + codecs.len() * PER_CODEC;

    let tps: Vec<TopicPartition> = (0..3).map(|p| tp(&topic, p)).collect();
    let mut c = consumer(&bootstrap, &tps, &[("max.poll.records", "10000")]).await;
    let (mut java, mut next_offset) = (0usize, [0i64; 3]);
    let mut read = ByCodecAndPartition::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let mut n = 0;
    while n < total {
        assert!(tokio::time::Instant::now() < deadline, "only {n} of {total} records arrived");
        for r in c.poll(10_000, Duration::from_millis(500)).await.unwrap() {
            let p = r.partition as usize;
            assert_eq!(r.offset, next_offset[p], "partition {p}");
            next_offset[p] += 1;
            n += 1;
            let value = r.value.as_deref().expect("a value");
            match r.key.as_deref() {
                None => {
                    assert_eq!(value.len(), 100, "a producer-perf record at {p}/{}", r.offset);
                    java += 1;
                }
                Some(key) => {
                    let codec = String::from_utf8_lossy(key).split('-').next().unwrap().to_owned();
                    read.entry((codec, r.partition)).or_default().push((key.to_vec(), value.to_vec()));
                }
            }
        }
    }
    assert_quiet(&mut c, Duration::from_millis(300)).await;
    assert_eq!(java, JAVA, "producer-perf records");
    for (k, want) in &written {
        assert!(read.get(k) == Some(want), "{k:?}: kafkar's records differ from what was written");
    }
    assert_eq!(read.len(), written.len());
    for t in &tps {
        assert_eq!(c.lag(t), Some(0), "{t}");
    }
    c.close().await.unwrap();
    eprintln!("{total} records: producer-perf took {java_done:?}, all read after {:?}", started.elapsed());
}

#[tokio::test]
async fn seek_seek_to_beginning_and_end() {
    let Some((bootstrap, cluster, topic)) = support::real_topic("consume-seek", 1).await else { return };
    produce_batch(&cluster, &topic, 0, batch(Compression::Zstd, &simple(50, "a"))).await;
    let t = tp(&topic, 0);
    let mut c = consumer(&bootstrap, std::slice::from_ref(&t), &[]).await;
    let got = take(&mut c, 10).await;
    assert_eq!(got[0].offset, 0);
    // Seek into the middle of the compressed batch: records before the offset are skipped.
    c.seek(&t, 37).unwrap();
    assert_eq!(c.position(&t).await.unwrap(), 37);
    let got = take(&mut c, 13).await;
    assert_eq!(got.iter().map(|r| r.offset).collect::<Vec<_>>(), (37..50).collect::<Vec<_>>());
    c.seek_to_beginning(&[]).unwrap();
    assert_eq!(c.position(&t).await.unwrap(), 0);
    assert_eq!(take(&mut c, 1).await[0].offset, 0);
    c.seek_to_end(std::slice::from_ref(&t)).unwrap();
    assert_eq!(c.position(&t).await.unwrap(), 50);
    assert_quiet(&mut c, Duration::from_millis(300)).await;
    produce_batch(&cluster, &topic, 0, batch(Compression::None, &simple(2, "b"))).await;
    let got = take(&mut c, 2).await;
    assert_eq!((got[0].offset, got[1].offset), (50, 51));
    assert!(c.seek(&tp(&topic, 9), 0).is_err(), "not assigned");
}

#[tokio::test]
async fn offsets_for_times_finds_the_first_record_at_or_after() {
    let Some((bootstrap, cluster, topic)) = support::real_topic("consume-times", 2).await else { return };
    let base = now_ms() - 100_000;
    for p in 0..2 {
        let recs: Vec<Rec> = (0..10)
            .map(|i| Rec { key: None, value: Some(vec![i as u8]), headers: vec![], timestamp: base + i * 1000 })
            .collect();
        produce_batch(&cluster, &topic, p, batch(Compression::None, &recs[..5])).await;
        produce_batch(&cluster, &topic, p, batch(Compression::Gzip, &recs[5..])).await;
    }
    let c = consumer(&bootstrap, &[tp(&topic, 0), tp(&topic, 1)], &[]).await;
    let q: HashMap<TopicPartition, i64> =
        [(tp(&topic, 0), base + 2500), (tp(&topic, 1), base + 7000)].into_iter().collect();
    let got = c.offsets_for_times(&q).await.unwrap();
    let a = got[&tp(&topic, 0)].unwrap();
    assert_eq!((a.offset, a.timestamp), (3, base + 3000));
    let b = got[&tp(&topic, 1)].unwrap();
    assert_eq!((b.offset, b.timestamp), (7, base + 7000));
    let later: HashMap<TopicPartition, i64> = [(tp(&topic, 0), base + 1_000_000)].into_iter().collect();
    assert_eq!(c.offsets_for_times(&later).await.unwrap()[&tp(&topic, 0)], None);
}

#[tokio::test]
async fn pause_and_resume() {
    let Some((bootstrap, cluster, topic)) = support::real_topic("consume-pause", 2).await else { return };
    let (a, b) = (tp(&topic, 0), tp(&topic, 1));
    produce_batch(&cluster, &topic, 0, batch(Compression::None, &simple(5, "a"))).await;
    let mut c = consumer(&bootstrap, &[a.clone(), b.clone()], &[]).await;
    c.pause(std::slice::from_ref(&b)).unwrap();
    assert_eq!(c.paused(), vec![b.clone()]);
    produce_batch(&cluster, &topic, 1, batch(Compression::None, &simple(5, "b"))).await;
    let got = take(&mut c, 5).await;
    assert!(got.iter().all(|r| r.partition == 0));
    assert_quiet(&mut c, Duration::from_millis(500)).await;
    c.resume(std::slice::from_ref(&b)).unwrap();
    assert!(c.paused().is_empty());
    let got = take(&mut c, 5).await;
    assert!(got.iter().all(|r| r.partition == 1));
    assert_eq!(got.iter().map(|r| r.offset).collect::<Vec<_>>(), (0..5).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_fetch_asks_the_broker_for_a_third_of_the_response_budget() {
    // Three partitions of 20 batches of ten 400-byte records (about 4.2 KB a batch, 84 KB a partition);
    // max.partition.fetch.bytes 16 KiB. The responses a broker's fetches may keep alive are one partition's worth each
    // (48 KiB), and a fetch asks for a third (16 KiB): the real broker must then answer with at most 16 KiB of
    // records a response, where a fetch asking for fetch.max.bytes brought up to three partitions' 16 KiB at once.
    let Some((bootstrap, cluster, topic)) = support::real_topic("consume-budget", 3).await else { return };
    for p in 0..3 {
        for b in 0..20 {
            let recs: Vec<Rec> = (0..10)
                .map(|i| Rec {
                    key: None,
                    value: Some(vec![b as u8 ^ i as u8; 400]),
                    headers: vec![],
                    timestamp: now_ms(),
                })
                .collect();
            produce_batch(&cluster, &topic, p, batch(Compression::None, &recs)).await;
        }
    }
    let tps: Vec<TopicPartition> = (0..3).map(|p| tp(&topic, p)).collect();
    let mut c = consumer(&bootstrap, &tps, &[("max.partition.fetch.bytes", "16384")]).await;
    let got = take(&mut c, 600).await;
    for p in 0..3 {
        let offsets: Vec<i64> = got.iter().filter(|r| r.partition == p).map(|r| r.offset).collect();
        assert_eq!(offsets, (0..200).collect::<Vec<_>>(), "partition {p}");
    }
    let m = c.metrics();
    assert!(m.bytes_consumed >= 3 * 20 * 4000, "{} bytes fetched", m.bytes_consumed);
    // Every fetch but the last few (caught up, empty) brought at most 16 KiB; the mean bounds them all.
    let mean = m.bytes_consumed / m.fetch_requests.max(1);
    assert!(mean <= 16384, "{} fetches brought {} bytes: {mean} a fetch", m.fetch_requests, m.bytes_consumed);
}

#[tokio::test]
async fn max_poll_records_bounds_each_poll() {
    let Some((bootstrap, cluster, topic)) = support::real_topic("consume-maxpoll", 1).await else { return };
    produce_batch(&cluster, &topic, 0, batch(Compression::None, &simple(100, "m"))).await;
    let mut c = consumer(&bootstrap, &[tp(&topic, 0)], &[("max.poll.records", "7")]).await;
    let mut total = 0;
    let mut next = 0;
    while total < 100 {
        let got = c.poll(1000, WAIT).await.unwrap();
        assert!(!got.is_empty() && got.len() <= 7, "{}", got.len());
        for r in &got {
            assert_eq!(r.offset, next);
            next += 1;
        }
        total += got.len();
    }
    assert_eq!(c.poll(3, Duration::from_millis(200)).await.unwrap().len(), 0);
}

#[tokio::test]
async fn commits_sync_async_and_explicit_then_a_new_consumer_resumes() {
    let Some((bootstrap, cluster, topic)) = support::real_topic("consume-commit", 2).await else { return };
    let group = support::unique_topic("group");
    for p in 0..2 {
        produce_batch(&cluster, &topic, p, batch(Compression::Snappy, &simple(40, "c"))).await;
    }
    let (a, b) = (tp(&topic, 0), tp(&topic, 1));
    let opts = [("group.id", group.as_str()), ("enable.auto.commit", "false")];
    let mut c = consumer(&bootstrap, std::slice::from_ref(&a), &opts).await;
    let committed = c.committed(std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(committed[&a], None);
    take(&mut c, 10).await;
    c.commit().await.unwrap();
    let committed = c.committed(std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(committed[&a].as_ref().map(|o| o.offset), Some(10));
    assert!(committed[&a].as_ref().unwrap().leader_epoch.is_some());

    take(&mut c, 5).await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    c.commit_async(move |r| {
        let _ = tx.send(r);
    })
    .unwrap();
    rx.await.unwrap().unwrap();
    assert_eq!(c.committed(std::slice::from_ref(&a)).await.unwrap()[&a].as_ref().unwrap().offset, 15);

    let explicit: HashMap<TopicPartition, OffsetAndMetadata> = [
        (a.clone(), OffsetAndMetadata::new(20).with_metadata("checkpoint-a")),
        (b.clone(), OffsetAndMetadata::new(33).with_metadata("checkpoint-b")),
    ]
    .into_iter()
    .collect();
    c.commit_offsets(explicit).await.unwrap();
    let committed = c.committed(&[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(committed[&a].as_ref().map(|o| (o.offset, o.metadata.as_str())), Some((20, "checkpoint-a")));
    assert_eq!(committed[&b].as_ref().map(|o| (o.offset, o.metadata.as_str())), Some((33, "checkpoint-b")));
    c.close().await.unwrap();

    // Kafka's own tool sees the same committed offsets.
    if let Some(script) = support::kafka_script() {
        let out = kafka_tool(
            &script,
            &["consumer-groups", "--bootstrap-server", &bootstrap, "--describe", "--group", &group],
            None,
        );
        let line = |p: i32| {
            out.lines()
                .find(|l| {
                    l.split_whitespace().nth(1) == Some(topic.as_str())
                        && l.split_whitespace().nth(2) == Some(&p.to_string())
                })
                .map(|l| l.split_whitespace().nth(3).unwrap_or_default().to_owned())
        };
        assert_eq!(line(0).as_deref(), Some("20"), "{out}");
        assert_eq!(line(1).as_deref(), Some("33"), "{out}");
    }

    // A new consumer in the group starts at the committed offsets.
    let mut c = consumer(&bootstrap, &[a.clone(), b.clone()], &opts).await;
    assert_eq!(c.position(&a).await.unwrap(), 20);
    assert_eq!(c.position(&b).await.unwrap(), 33);
    let got = take(&mut c, 27).await;
    let mut firsts: HashMap<i32, i64> = HashMap::new();
    for r in &got {
        firsts.entry(r.partition).or_insert(r.offset);
    }
    assert_eq!(firsts[&0], 20);
    assert_eq!(firsts[&1], 33);
}

#[tokio::test]
async fn auto_commit_commits_what_was_delivered() {
    let Some((bootstrap, cluster, topic)) = support::real_topic("consume-autocommit", 1).await else { return };
    let group = support::unique_topic("group");
    produce_batch(&cluster, &topic, 0, batch(Compression::None, &simple(30, "x"))).await;
    let a = tp(&topic, 0);
    let opts = [("group.id", group.as_str()), ("auto.commit.interval.ms", "100")];
    let mut c = consumer(&bootstrap, std::slice::from_ref(&a), &opts).await;
    take(&mut c, 12).await;
    // Polling on (nothing more to deliver after the first 30) lets the timer fire.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let _ = c.poll(1, Duration::from_millis(150)).await.unwrap();
        let got = c.committed(std::slice::from_ref(&a)).await.unwrap()[&a].as_ref().map(|o| o.offset);
        if got.is_some_and(|o| o >= 12) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "auto-commit never happened");
    }
    let left = 30 - c.position(&a).await.unwrap() as usize;
    take(&mut c, left).await;
    // close() commits the final position.
    c.close().await.unwrap();
    let c = consumer(&bootstrap, std::slice::from_ref(&a), &opts).await;
    assert_eq!(c.committed(std::slice::from_ref(&a)).await.unwrap()[&a].as_ref().map(|o| o.offset), Some(30));

    // A reassignment commits what was consumed first (the interval is far away here).
    let group = support::unique_topic("group");
    let opts = [("group.id", group.as_str()), ("auto.commit.interval.ms", "600000")];
    let mut c = consumer(&bootstrap, std::slice::from_ref(&a), &opts).await;
    take(&mut c, 7).await;
    c.assign(Vec::new()).unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while c.committed(std::slice::from_ref(&a)).await.unwrap()[&a].as_ref().map(|o| o.offset) != Some(7) {
        assert!(tokio::time::Instant::now() < deadline, "no commit before the reassignment");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn auto_offset_reset_earliest_latest_and_none() {
    let Some((bootstrap, cluster, topic)) = support::real_topic("consume-reset", 1).await else { return };
    produce_batch(&cluster, &topic, 0, batch(Compression::None, &simple(10, "r"))).await;
    let a = tp(&topic, 0);

    let mut earliest = consumer(&bootstrap, std::slice::from_ref(&a), &[("auto.offset.reset", "earliest")]).await;
    assert_eq!(earliest.position(&a).await.unwrap(), 0);
    assert_eq!(take(&mut earliest, 1).await[0].offset, 0);

    let mut latest = consumer(&bootstrap, std::slice::from_ref(&a), &[("auto.offset.reset", "latest")]).await;
    assert_eq!(latest.position(&a).await.unwrap(), 10);
    assert_quiet(&mut latest, Duration::from_millis(300)).await;
    produce_batch(&cluster, &topic, 0, batch(Compression::None, &simple(1, "new"))).await;
    let got = take(&mut latest, 1).await;
    assert_eq!((got[0].offset, got[0].value.as_deref()), (10, Some(&b"new-0"[..])));

    // none without a committed offset: a typed error, once; seek brings the partition back.
    let group = support::unique_topic("group");
    let opts = [("auto.offset.reset", "none"), ("group.id", group.as_str())];
    let mut none = consumer(&bootstrap, std::slice::from_ref(&a), &opts).await;
    let e = none.recv().await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NoOffset), "{e}");
    assert_eq!(e.context().partition, Some(0));
    assert!(matches!(none.position(&a).await.unwrap_err().kind(), ErrorKind::NoOffset));
    none.seek(&a, 4).unwrap();
    assert_eq!(take(&mut none, 1).await[0].offset, 4);
    // none with a position past the end: OffsetOutOfRange.
    none.seek(&a, 1000).unwrap();
    let e = none.recv().await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::OffsetOutOfRange { offset: 1000 }), "{e}");
    // earliest/latest policies recover from an out-of-range position by themselves.
    earliest.seek(&a, 1000).unwrap();
    assert_eq!(take(&mut earliest, 1).await[0].offset, 0);
    latest.seek(&a, 1000).unwrap();
    assert_eq!(latest.position(&a).await.unwrap(), 1000);
    assert_quiet(&mut latest, Duration::from_millis(500)).await;
    assert_eq!(latest.position(&a).await.unwrap(), 11);
}

fn get_offsets(script: &PathBuf, bootstrap: &str, topic: &str, time: &str) -> HashMap<i32, i64> {
    let out =
        kafka_tool(script, &["get-offsets", "--bootstrap-server", bootstrap, "--topic", topic, "--time", time], None);
    out.lines()
        .filter_map(|l| {
            let mut it = l.rsplitn(3, ':');
            let off = it.next()?.trim().parse().ok()?;
            let p = it.next()?.trim().parse().ok()?;
            Some((p, off))
        })
        .collect()
}

#[tokio::test]
async fn watermarks_and_lag_match_get_offset_shell() {
    let Some((bootstrap, cluster, topic)) = support::real_topic("consume-watermarks", 2).await else { return };
    produce_batch(&cluster, &topic, 0, batch(Compression::None, &simple(25, "w"))).await;
    produce_batch(&cluster, &topic, 1, batch(Compression::Gzip, &simple(7, "w"))).await;
    let (a, b) = (tp(&topic, 0), tp(&topic, 1));
    let mut c = consumer(&bootstrap, &[a.clone(), b.clone()], &[]).await;
    assert_eq!(c.watermarks(&a).await.unwrap(), (0, 25));
    assert_eq!(c.watermarks(&b).await.unwrap(), (0, 7));
    if let Some(script) = support::kafka_script() {
        let high = get_offsets(&script, &bootstrap, &topic, "-1");
        let low = get_offsets(&script, &bootstrap, &topic, "-2");
        for (t, p) in [(&a, 0), (&b, 1)] {
            assert_eq!(c.watermarks(t).await.unwrap(), (low[&p], high[&p]), "partition {p}");
        }
    }
    c.pause(std::slice::from_ref(&b)).unwrap();
    take(&mut c, 10).await;
    c.seek(&a, 10).unwrap();
    // The lag comes from the last fetch's high watermark.
    let got = take(&mut c, 5).await;
    assert_eq!(got[0].offset, 10);
    assert_eq!(c.lag(&a), Some(10));
    let m = c.metrics();
    assert!(m.lag.contains(&(a.clone(), 10)), "{m:?}");
}

#[tokio::test]
async fn read_committed_and_uncommitted_over_java_transactions() {
    let Some(bootstrap) = support::real_broker() else { return };
    let Some(script) = support::kafka_script() else { return };
    let cluster = support::cluster(&bootstrap);
    let topic = support::unique_topic("consume-txn");
    create_topic(&cluster, &topic, 1, &[]).await;
    let txn_id = support::unique_topic("txn");
    producer_perf(
        &script,
        &bootstrap,
        &topic,
        2000,
        50,
        &["--transactional-id", &txn_id, "--transaction-duration-ms", "50"],
        &[],
    );
    let a = tp(&topic, 0);
    let high = {
        let c = consumer(&bootstrap, std::slice::from_ref(&a), &[]).await;
        c.watermarks(&a).await.unwrap().1
    };
    assert!(high > 2000, "transaction markers take offsets too: {high}");
    for level in ["read_committed", "read_uncommitted"] {
        let mut c = consumer(&bootstrap, std::slice::from_ref(&a), &[("isolation.level", level)]).await;
        let got = take(&mut c, 2000).await;
        assert!(
            got.iter().all(|r| r.value.as_ref().is_some_and(|v| v.len() == 50)),
            "{level}: a control record leaked"
        );
        let mut offsets: Vec<i64> = got.iter().map(|r| r.offset).collect();
        offsets.dedup();
        assert_eq!(offsets.len(), 2000, "{level}");
        assert_quiet(&mut c, Duration::from_millis(300)).await;
        // The position moves past the final commit marker.
        assert_eq!(c.position(&a).await.unwrap(), high, "{level}");
        assert_eq!(c.lag(&a), Some(0), "{level}");
    }
}

/// Reads until nothing arrives for a while.
async fn drain_all(consumer: &mut Consumer) -> Vec<ConsumerRecord> {
    let mut out = Vec::new();
    loop {
        let got = consumer.poll(500, Duration::from_millis(700)).await.unwrap();
        if got.is_empty() {
            return out;
        }
        out.extend(got);
    }
}

#[tokio::test]
async fn read_committed_hides_transactions_the_java_copier_aborted() {
    let Some(bootstrap) = support::real_broker() else { return };
    let Some(script) = support::kafka_script() else { return };
    let cluster = support::cluster(&bootstrap);
    let input = support::unique_topic("consume-copier-in");
    let output = support::unique_topic("consume-copier-out");
    create_topic(&cluster, &input, 1, &[]).await;
    create_topic(&cluster, &output, 1, &[]).await;
    let values: Vec<Vec<u8>> = (0..1000).map(|i| format!("m-{i}").into_bytes()).collect();
    for chunk in values.chunks(100) {
        let recs: Vec<Rec> = chunk
            .iter()
            .map(|v| Rec { key: None, value: Some(v.clone()), headers: vec![], timestamp: now_ms() })
            .collect();
        produce_batch(&cluster, &input, 0, batch(Compression::None, &recs)).await;
    }
    // Kafka's TransactionalMessageCopier copies input to output in transactions of 25, aborting about a third of
    // them at random (and copying those messages again in a later transaction).
    let group = support::unique_topic("copier");
    let txn = support::unique_topic("copier-txn");
    kafka_tool(
        &script,
        &[
            "tool",
            "org.apache.kafka.tools.TransactionalMessageCopier",
            "--input-topic",
            &input,
            "--input-partition",
            "0",
            "--output-topic",
            &output,
            "--broker-list",
            &bootstrap,
            "--max-messages",
            "1000",
            "--transaction-size",
            "25",
            "--transactional-id",
            &txn,
            "--consumer-group",
            &group,
            "--enable-random-aborts",
        ],
        None,
    );
    let out = tp(&output, 0);
    let mut committed =
        consumer(&bootstrap, std::slice::from_ref(&out), &[("isolation.level", "read_committed")]).await;
    let got = drain_all(&mut committed).await;
    let got_values: Vec<Vec<u8>> = got.iter().map(|r| r.value.as_ref().unwrap().to_vec()).collect();
    assert_eq!(got_values, values, "read_committed sees every message exactly once, in order");
    let high = committed.watermarks(&out).await.unwrap().1;
    assert_eq!(committed.position(&out).await.unwrap(), high);

    let mut uncommitted = consumer(&bootstrap, std::slice::from_ref(&out), &[]).await;
    let all = drain_all(&mut uncommitted).await;
    assert!(all.len() > 1000, "the aborted copies are visible to read_uncommitted: {}", all.len());
    let seen: std::collections::HashSet<&[u8]> = all.iter().map(|r| r.value.as_deref().unwrap()).collect();
    assert_eq!(seen.len(), 1000);
    assert_eq!(uncommitted.position(&out).await.unwrap(), high);
}

#[tokio::test]
async fn reassignment_keeps_positions_of_partitions_that_stay() {
    let Some((bootstrap, cluster, topic)) = support::real_topic("consume-reassign", 3).await else { return };
    for p in 0..3 {
        produce_batch(&cluster, &topic, p, batch(Compression::Lz4, &simple(20, "r"))).await;
    }
    let (a, b, c3) = (tp(&topic, 0), tp(&topic, 1), tp(&topic, 2));
    let mut c = consumer(&bootstrap, &[a.clone(), b.clone()], &[("max.partition.fetch.bytes", "200")]).await;
    let got = take(&mut c, 10).await;
    assert!(got.iter().all(|r| r.partition < 2));
    let pos_b = c.position(&b).await.unwrap();
    c.assign([b.clone(), c3.clone()]).unwrap();
    assert_eq!(c.assignment(), vec![b.clone(), c3.clone()]);
    assert_eq!(c.position(&b).await.unwrap(), pos_b, "a partition that stays keeps its position");
    assert!(c.position(&a).await.is_err(), "no longer assigned");
    let left = (20 - pos_b) as usize + 20;
    let got = take(&mut c, left).await;
    assert!(got.iter().all(|r| r.partition != 0), "nothing from the unassigned partition");
    let from_b: Vec<i64> = got.iter().filter(|r| r.partition == 1).map(|r| r.offset).collect();
    assert_eq!(from_b, (pos_b..20).collect::<Vec<_>>());
    assert_quiet(&mut c, Duration::from_millis(300)).await;
    c.assign(Vec::new()).unwrap();
    assert!(matches!(c.recv().await.unwrap_err().kind(), ErrorKind::InvalidArgument(_)));
}
