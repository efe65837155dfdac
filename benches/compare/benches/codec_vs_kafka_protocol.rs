//! kafkar's record batch and message codecs against the `kafka-protocol` crate's, in one criterion run.
//!
//! - `batch_decode_1000x100B`: one uncompressed v2 batch of 1000 records (a ~10 B key, a 100 B JSON-like value
//!   and one 8 + 16 B header each), CRC-32C checked, decoded to records whose key, value and header bytes are all
//!   read. kafkar owned (`RecordBatch::records`, `Bytes` per field), kafkar view (`RecordBatch::records_ref`,
//!   borrowed) and kafka-protocol (`RecordBatchDecoder::decode`, which always checks the CRC).
//! - `batch_encode_1000x100B`: the same records encoded into a batch. kafkar appends key, value and header slices
//!   to a `RecordBatchBuilder`; kafka-protocol encodes its prepared `Record`s (their construction is not timed).
//! - `fetch_response_decode_v17_6x` / `produce_request_encode_v13_6x`: the message codecs, one topic of six
//!   partitions each carrying that batch (record bytes opaque to both). `kafkar_spliced` is the encode the
//!   connection does: the batches are not copied into the request but written beside it (`encode_spliced`); the
//!   bench checks that its pieces make the same bytes as kafka-protocol's request.
//!
//! Throughput is counted as whole batch (or message) bytes. Run from benches/compare:
//! `cargo bench --no-default-features --features codec --bench codec_vs_kafka_protocol`.
//!
//! `CODEC_BENCH_CLOCK=cpu` measures the bench thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`) instead of wall time:
//! on a machine shared with other work, time the thread spends preempted is then not counted, which is what a
//! "per core" figure means.

use std::hint::black_box;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records as kp;
use kafkar_protocol::compression::Compression;
use kafkar_protocol::messages::Encode;
use kafkar_protocol::messages::Message;
use kafkar_protocol::messages::fetch as kf;
use kafkar_protocol::messages::fetch_view::FetchResponseView;
use kafkar_protocol::messages::produce::ProduceRequest;
use kafkar_protocol::messages::splice::encode_spliced;
use kafkar_protocol::primitives::{Reader, Uuid};

const PARTITIONS: i32 = 6;

#[path = "../../support/codec_data.rs"]
mod codec_data;
mod records {
    pub use kafkar_protocol::records::*;
}

use codec_data::{
    BASE_TIMESTAMP, HEADER_KEY, HEADER_VALUE, RECORDS, VALUE, build_with_headers as kafkar_build, one_header, payloads,
    read_owned as kafkar_read_owned, read_view as kafkar_read_view,
};

fn kp_records(data: &[(Vec<u8>, Vec<u8>)]) -> Vec<kp::Record> {
    data.iter()
        .enumerate()
        .map(|(i, (k, v))| {
            let mut headers = IndexMap::new();
            headers.insert(StrBytes::from_static_str(HEADER_KEY), Some(Bytes::from_static(HEADER_VALUE)));
            kp::Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: kp::TimestampType::Creation,
                offset: i as i64,
                // kafka-protocol starts a new batch where offset minus sequence changes.
                sequence: i as i32,
                timestamp: BASE_TIMESTAMP + i as i64,
                key: Some(Bytes::copy_from_slice(k)),
                value: Some(Bytes::copy_from_slice(v)),
                headers,
            }
        })
        .collect()
}

fn kp_encode(records: &[kp::Record], buf: &mut BytesMut) {
    let options = kp::RecordEncodeOptions { version: 2, compression: kp::Compression::None };
    kp::RecordBatchEncoder::encode(buf, records, &options).expect("kafka-protocol encode");
}

fn kp_read(batch: &Bytes) -> usize {
    let mut n = 0;
    let mut buf = batch.clone();
    for set in kp::RecordBatchDecoder::decode_all(&mut buf).expect("kafka-protocol decode") {
        for r in set.records {
            n += r.key.map_or(0, |k| k.len()) + r.value.map_or(0, |v| v.len());
            for (k, v) in &r.headers {
                n += k.len() + v.as_ref().map_or(0, |v| v.len());
            }
        }
    }
    n
}

fn bench_batches<M: Measurement>(c: &mut Criterion<M>) {
    let data = payloads();
    let headers = one_header();
    let batch = kafkar_build(&data, &headers);
    let records = kp_records(&data);
    let mut kp_batch = BytesMut::new();
    kp_encode(&records, &mut kp_batch);
    // Same records, same layout: the two encoders' batches differ only in the base sequence (and so the CRC).
    assert_eq!(kp_batch.len(), batch.len(), "the two encoders' batches differ in size");
    // Every decoder reads the same bytes and the same records.
    let want = kafkar_read_owned(&batch);
    assert_eq!(kafkar_read_view(&batch), want);
    assert_eq!(kp_read(&batch), want);
    assert_eq!(kafkar_read_owned(&kp_batch.clone().freeze()), want);

    let mut g = c.benchmark_group("batch_decode_1000x100B");
    g.throughput(Throughput::Bytes(batch.len() as u64));
    g.bench_function("kafkar_owned", |b| b.iter(|| black_box(kafkar_read_owned(black_box(&batch)))));
    g.bench_function("kafkar_view", |b| b.iter(|| black_box(kafkar_read_view(black_box(&batch)))));
    g.bench_function("kafka_protocol", |b| b.iter(|| black_box(kp_read(black_box(&batch)))));
    g.finish();

    let mut g = c.benchmark_group("batch_encode_1000x100B");
    g.throughput(Throughput::Bytes(batch.len() as u64));
    g.bench_function("kafkar", |b| b.iter(|| black_box(kafkar_build(black_box(&data), &headers))));
    g.bench_function("kafka_protocol", |b| {
        b.iter(|| {
            let mut buf = BytesMut::with_capacity(RECORDS * (VALUE + 64));
            kp_encode(black_box(&records), &mut buf);
            black_box(buf.freeze())
        })
    });
    g.finish();
}

fn topic_id() -> (u64, u64) {
    (0x0123_4567_89ab_cdef, 0x0fed_cba9_8765_4321)
}

fn bench_messages<M: Measurement>(c: &mut Criterion<M>) {
    let batch = kafkar_build(&payloads(), &one_header());
    let (hi, lo) = topic_id();

    // Fetch response v17 (topic ids), one topic, six partitions of one batch each, encoded by kafkar (kafka-protocol
    // encodes responses only with its `broker` feature) and decoded by both.
    const FETCH_V: i16 = 17;
    let kafkar_fetch = kf::FetchResponse {
        responses: vec![kf::FetchableTopicResponse {
            topic_id: Uuid::from_u64_pair(hi, lo),
            partitions: (0..PARTITIONS)
                .map(|p| kf::PartitionData {
                    partition_index: p,
                    high_watermark: 1_000_000,
                    last_stable_offset: 1_000_000,
                    log_start_offset: 0,
                    records: Some(batch.clone()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let wire = kafkar_fetch.to_bytes(FETCH_V).expect("encode").freeze();
    let decoded = kafkar_fetch_decode(&wire);
    assert_eq!(decoded.responses[0].partitions[5].records.as_ref(), Some(&batch));
    let mut b = wire.clone();
    let kp_decoded = kafka_protocol::messages::FetchResponse::decode(&mut b, FETCH_V).expect("decode");
    assert_eq!(kp_decoded.responses[0].partitions[5].records.as_ref(), Some(&batch));

    let mut g = c.benchmark_group("fetch_response_decode_v17_6x");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("kafkar", |b| b.iter(|| black_box(kafkar_fetch_decode(black_box(&wire)))));
    assert_eq!(kafkar_fetch_view(&wire), kafkar_fetch_sum(&decoded));
    g.bench_function("kafkar_view", |b| b.iter(|| black_box(kafkar_fetch_view(black_box(&wire)))));
    g.bench_function("kafka_protocol", |b| {
        b.iter(|| {
            let mut buf = black_box(&wire).clone();
            black_box(kafka_protocol::messages::FetchResponse::decode(&mut buf, FETCH_V).expect("decode"))
        })
    });
    g.finish();

    // Produce request v13 (topic ids), one topic, six partitions of one batch each.
    const PRODUCE_V: i16 = 13;
    let mut kafkar_produce = ProduceRequest::new(-1, 30_000);
    for p in 0..PARTITIONS {
        kafkar_produce.add_batch(PRODUCE_V, "bench", Uuid::from_u64_pair(hi, lo), p, batch.clone());
    }
    let kp_produce = kafka_protocol::messages::ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![
            kafka_protocol::messages::produce_request::TopicProduceData::default()
                .with_topic_id(uuid::Uuid::from_u64_pair(hi, lo))
                .with_partition_data(
                    (0..PARTITIONS)
                        .map(|p| {
                            kafka_protocol::messages::produce_request::PartitionProduceData::default()
                                .with_index(p)
                                .with_records(Some(batch.clone()))
                        })
                        .collect(),
                ),
        ]);
    let size = kafkar_produce.to_bytes(PRODUCE_V).expect("encode").len();
    let mut kp_wire = BytesMut::new();
    kp_produce.encode(&mut kp_wire, PRODUCE_V).expect("kafka-protocol encode");
    assert_eq!(kp_wire.len(), size, "the two Produce requests differ in size");

    let mut g = c.benchmark_group("produce_request_encode_v13_6x");
    g.throughput(Throughput::Bytes(size as u64));
    let mut buf = BytesMut::with_capacity(size + 1024);
    g.bench_function("kafkar", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&kafkar_produce).encode(&mut buf, PRODUCE_V).expect("encode");
            black_box(buf.len())
        })
    });
    // What the connection does with a Produce request: the batches are not copied, only the framing is written and
    // the batches are written from their own buffers beside it (one vectored write).
    let spliced = encode_spliced(&kafkar_produce, BytesMut::new(), PRODUCE_V).expect("encode");
    assert_eq!(spliced.len(), size);
    assert!(spliced.to_contiguous() == kp_wire, "the spliced Produce request differs from kafka-protocol's");
    g.bench_function("kafkar_spliced", |b| {
        b.iter(|| {
            let spliced =
                encode_spliced(black_box(&kafkar_produce), BytesMut::with_capacity(256), PRODUCE_V).expect("encode");
            black_box(spliced.len())
        })
    });
    let mut buf = BytesMut::with_capacity(size + 1024);
    g.bench_function("kafka_protocol", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&kp_produce).encode(&mut buf, PRODUCE_V).expect("encode");
            black_box(buf.len())
        })
    });
    g.finish();
}

fn kafkar_fetch_decode(wire: &Bytes) -> kf::FetchResponse {
    kf::FetchResponse::decode_exact(&mut Reader::new(wire.clone()), 17).expect("decode")
}

/// Every field of every partition, through the view the consumer reads Fetch responses with (checked whole
/// first, then walked), each partition's records taken as a `Bytes` slice as the consumer takes them.
fn kafkar_fetch_view(wire: &Bytes) -> i64 {
    let view = FetchResponseView::parse(wire.clone(), 17).expect("decode");
    let mut sum = i64::from(view.throttle_time_ms()) + i64::from(view.error_code().0) + i64::from(view.session_id());
    for (t, p) in view.partitions() {
        sum += t.name.len() as i64 + t.id.0[0] as i64;
        sum += i64::from(p.partition_index) + i64::from(p.error_code.0) + p.high_watermark;
        sum += p.last_stable_offset + p.log_start_offset + i64::from(p.preferred_read_replica);
        sum += p.diverging_epoch().map_or(-1, |d| i64::from(d.epoch));
        sum += p.current_leader().map_or(-1, |l| i64::from(l.leader_id));
        sum += p.snapshot_id().map_or(-1, |s| s.end_offset);
        sum += p.aborted_transactions.map_or(0, |a| a.map(|t| t.producer_id + t.first_offset).sum());
        // As the consumer does: the records become a shared slice of the body (a reference count, no copy).
        sum += p.records.map_or(0, |r| black_box(view.body().slice_ref(r)).len() as i64);
    }
    sum
}

/// The same sum over the owned decode, to check the view read the same values.
fn kafkar_fetch_sum(r: &kf::FetchResponse) -> i64 {
    let mut sum = i64::from(r.throttle_time_ms) + i64::from(r.error_code.0) + i64::from(r.session_id);
    for t in &r.responses {
        for p in &t.partitions {
            sum += t.topic.len() as i64 + t.topic_id.0[0] as i64;
            sum += i64::from(p.partition_index) + i64::from(p.error_code.0) + p.high_watermark;
            sum += p.last_stable_offset + p.log_start_offset + i64::from(p.preferred_read_replica);
            sum += i64::from(p.diverging_epoch.epoch) + i64::from(p.current_leader.leader_id);
            sum += p.snapshot_id.end_offset;
            sum += p.aborted_transactions.iter().flatten().map(|t| t.producer_id + t.first_offset).sum::<i64>();
            sum += p.records.as_ref().map_or(0, |r| r.len() as i64);
        }
    }
    sum
}

/// The bench thread's CPU time, as a criterion measurement (formatted as wall time is).
struct ThreadCpuTime;

impl ThreadCpuTime {
    fn now() -> Duration {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        ThreadCpuTime::now()
    }
    fn end(&self, start: Duration) -> Duration {
        ThreadCpuTime::now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        static WALL: WallTime = WallTime;
        WALL.formatter()
    }
}

fn run<M: Measurement + 'static>(c: Criterion<M>) {
    let mut c = c.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).configure_from_args();
    bench_batches(&mut c);
    bench_messages(&mut c);
}

fn main() {
    match std::env::var("CODEC_BENCH_CLOCK").as_deref() {
        Ok("cpu") => run(Criterion::default().with_measurement(ThreadCpuTime)),
        _ => run(Criterion::default()),
    }
    Criterion::default().configure_from_args().final_summary();
}
