//! Criterion benches of the codec hot paths: building record batches (the producer's per-record cost) and reading
//! them (the consumer's), for every compression codec. Results and the command: benches/RESULTS.md.
//!
//! Two kinds of groups:
//! - `batch_build_1000x100B` / `batch_read_1000x100B`: every codec, throughput counted as key and value bytes.
//! - `batch_bytes_1000x100B`: the uncompressed 1000 × 100 B batch with a key, a value and one header per record,
//!   throughput counted as whole batch bytes (what issue 12's 4 GB/s target counts), CRC checked
//!   ([`ReadOptions::default`]): `build`, `read_owned` (`RecordBatch::records`) and `read_view`
//!   (`RecordBatch::records_ref`), every key, value and header byte counted.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kafkar::protocol::compression::Compression;
use kafkar::protocol::records::{ReadOptions, RecordBatchBuilder, RecordBatchReader};

#[path = "support/codec_data.rs"]
#[allow(dead_code)]
mod codec_data;
mod records {
    pub use kafkar::protocol::records::*;
}

use codec_data::{RECORDS, VALUE, build_with_headers, one_header, payloads, read_owned, read_view};

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

fn bench_whole_batch(c: &mut Criterion) {
    let data = payloads();
    let headers = one_header();
    let batch = build_with_headers(&data, &headers);
    assert!(ReadOptions::default().verify_crc, "the read groups check CRCs");

    let mut g = c.benchmark_group("batch_bytes_1000x100B");
    g.throughput(Throughput::Bytes(batch.len() as u64));
    g.bench_function("build", |b| b.iter(|| black_box(build_with_headers(&data, &headers))));
    g.bench_function("read_owned", |b| b.iter(|| black_box(read_owned(black_box(&batch)))));
    g.bench_function("read_view", |b| b.iter(|| black_box(read_view(black_box(&batch)))));
    g.finish();
}

criterion_group!(benches, bench_build, bench_read, bench_whole_batch);
criterion_main!(benches);
