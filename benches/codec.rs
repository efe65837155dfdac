//! Criterion benches of the codec hot paths: building record batches (the producer's per-record cost) and reading
//! them (the consumer's), for every compression codec. Results and the command: benches/RESULTS.md.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kafkar::protocol::compression::Compression;
use kafkar::protocol::records::{ReadOptions, RecordBatchBuilder, RecordBatchReader};

const RECORDS: usize = 1000;
const VALUE: usize = 100;

fn payloads() -> Vec<(Vec<u8>, Vec<u8>)> {
    // Keys and values with some structure, like real data (JSON-ish), so compressors have work to do.
    (0..RECORDS)
        .map(|i| {
            let key = format!("user-{:06}", i % 977).into_bytes();
            let mut value =
                format!("{{\"id\":{i},\"kind\":\"order\",\"amount\":{}.{:02},\"note\":\"", i * 7 % 1000, i % 100)
                    .into_bytes();
            while value.len() < VALUE - 2 {
                value.push(b'a' + (i * 31 + value.len()) as u8 % 26);
            }
            value.extend_from_slice(b"\"}");
            (key, value)
        })
        .collect()
}

fn build(codec: Compression, data: &[(Vec<u8>, Vec<u8>)]) -> Bytes {
    let mut b = RecordBatchBuilder::with_capacity(codec, RECORDS * (VALUE + 32));
    for (i, (k, v)) in data.iter().enumerate() {
        b.append(1_700_000_000_000 + i as i64, Some(k), Some(v), &[]).expect("append");
    }
    b.build().expect("build").into_bytes()
}

fn bench_build(c: &mut Criterion) {
    let data = payloads();
    let bytes: u64 = data.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
    let mut g = c.benchmark_group("batch_build_1000x100B");
    g.throughput(Throughput::Bytes(bytes));
    for codec in Compression::ALL {
        g.bench_with_input(BenchmarkId::from_parameter(codec), &codec, |b, &codec| {
            b.iter(|| black_box(build(codec, &data)))
        });
    }
    g.finish();
}

fn bench_read(c: &mut Criterion) {
    let data = payloads();
    let bytes: u64 = data.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
    let mut g = c.benchmark_group("batch_read_1000x100B");
    g.throughput(Throughput::Bytes(bytes));
    for codec in Compression::ALL {
        let batch = build(codec, &data);
        g.bench_with_input(BenchmarkId::from_parameter(codec), &batch, |b, batch| {
            b.iter(|| {
                let mut n = 0usize;
                for batch in RecordBatchReader::new(batch.clone(), ReadOptions::default()) {
                    for r in batch.expect("batch").records().expect("records") {
                        let r = r.expect("record");
                        n += r.value.map_or(0, |v| v.len());
                    }
                }
                black_box(n)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_build, bench_read);
criterion_main!(benches);
