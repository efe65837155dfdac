//! Criterion benches of the message codecs on the hot paths: encoding a Produce request and decoding a Fetch
//! response (and the reverse of each), 10 topics x 10 partitions of 16 KiB record bytes. The record bytes are opaque
//! here (the records benches are in the client crate's `benches/codec.rs`), so these figures are the framing cost.
//!
//! `cargo bench -p kafkar-protocol --bench messages`

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kafkar_protocol::messages::fetch::{FetchResponse, FetchableTopicResponse, PartitionData};
use kafkar_protocol::messages::produce::ProduceRequest;
use kafkar_protocol::messages::{Encode, Message};
use kafkar_protocol::primitives::{Reader, Uuid};

const TOPICS: usize = 10;
const PARTITIONS: i32 = 10;
const RECORDS: usize = 16 * 1024;

fn records() -> Bytes {
    Bytes::from(vec![0x5a; RECORDS])
}

fn produce(version: i16) -> ProduceRequest {
    let records = records();
    let mut r = ProduceRequest::new(-1, 30_000);
    for t in 0..TOPICS {
        for p in 0..PARTITIONS {
            let id = Uuid::from_u64_pair(1, t as u64 + 1);
            r.add_batch(version, &format!("topic-{t}"), id, p, records.clone());
        }
    }
    r
}

fn fetch(version: i16) -> FetchResponse {
    let records = records();
    let responses = (0..TOPICS)
        .map(|t| FetchableTopicResponse {
            topic: if version <= 12 { format!("topic-{t}") } else { String::new() },
            topic_id: if version > 12 { Uuid::from_u64_pair(1, t as u64 + 1) } else { Uuid::ZERO },
            partitions: (0..PARTITIONS)
                .map(|p| PartitionData {
                    partition_index: p,
                    high_watermark: 1_000_000,
                    last_stable_offset: 1_000_000,
                    log_start_offset: 0,
                    records: Some(records.clone()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    FetchResponse { responses, ..Default::default() }
}

fn bench(c: &mut Criterion) {
    let bytes = (TOPICS * PARTITIONS as usize * RECORDS) as u64;
    let mut g = c.benchmark_group("messages_10x10x16KiB");
    g.throughput(Throughput::Bytes(bytes));
    for version in [9i16, 13] {
        let req = produce(version);
        let mut buf = BytesMut::with_capacity(bytes as usize + 4096);
        g.bench_function(format!("produce_request_encode_v{version}"), |b| {
            b.iter(|| {
                buf.clear();
                black_box(&req).encode(&mut buf, version).expect("encode");
                black_box(buf.len())
            })
        });
        let wire = req.to_bytes(version).expect("encode").freeze();
        g.bench_function(format!("produce_request_decode_v{version}"), |b| {
            b.iter(|| ProduceRequest::decode_exact(&mut Reader::new(black_box(wire.clone())), version).expect("decode"))
        });
    }
    for version in [12i16, 17] {
        let resp = fetch(version);
        let mut buf = BytesMut::with_capacity(bytes as usize + 4096);
        g.bench_function(format!("fetch_response_encode_v{version}"), |b| {
            b.iter(|| {
                buf.clear();
                black_box(&resp).encode(&mut buf, version).expect("encode");
                black_box(buf.len())
            })
        });
        let wire = resp.to_bytes(version).expect("encode").freeze();
        g.bench_function(format!("fetch_response_decode_v{version}"), |b| {
            b.iter(|| FetchResponse::decode_exact(&mut Reader::new(black_box(wire.clone())), version).expect("decode"))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(40).warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
