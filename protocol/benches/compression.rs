//! Criterion benches of compressing one record-batch-sized input per codec, on data that compresses (text) and on
//! data that does not (noise): the cost the producer pays per batch on top of building it. Results and the command:
//! benches/RESULTS.md.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kafkar_protocol::compression::{Compression, compress};
use kafkar_protocol::records::RecordBatchBuilder;

#[path = "../tests/support/noise.rs"]
mod noise;
use noise::noise;

/// The seed of the noise input.
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// JSON-like records of about 100 bytes.
fn text(len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 128);
    let mut i = 0u64;
    while v.len() < len {
        v.extend_from_slice(
            format!(
                "{{\"id\":{i},\"kind\":\"order\",\"amount\":{}.{:02},\"user\":\"u{:05}\"}}",
                i * 7 % 1000,
                i % 100,
                i * 31 % 9973
            )
            .as_bytes(),
        );
        i += 1;
    }
    v.truncate(len);
    v
}

fn bench(c: &mut Criterion) {
    for len in [16 * 1024, 64 * 1024] {
        let mut g = c.benchmark_group(format!("compress_{}KiB", len / 1024));
        g.throughput(Throughput::Bytes(len as u64));
        for (data_name, data) in [("noise", noise(len, SEED)), ("text", text(len))] {
            for codec in [Compression::None, Compression::Lz4, Compression::Snappy] {
                let mut out = BytesMut::with_capacity(2 * len);
                g.bench_with_input(BenchmarkId::new(codec.name(), data_name), &data, |b, data| {
                    b.iter(|| {
                        out.clear();
                        compress(codec, None, data, &mut out).expect("compress");
                        black_box(out.len())
                    })
                });
            }
        }
        g.finish();
    }
}

/// Producer-sized batches built from records to sealed bytes: the whole client-side cost of compression, buffers
/// included. 1 MiB is `batch.size` in benches/compare's produce workloads; 128 KiB about what a batch of 6 partitions
/// holds there after `linger.ms` at 1.5M records/s. Values of 100 B with every codec here, and of 1 KiB uncompressed.
fn bench_batch(c: &mut Criterion) {
    let runs: [(usize, usize, &[Compression]); 3] = [
        (128 * 1024, 100, &[Compression::None, Compression::Lz4, Compression::Zstd]),
        (1024 * 1024, 100, &[Compression::None, Compression::Lz4, Compression::Zstd]),
        (1024 * 1024, 1024, &[Compression::None]),
    ];
    for (batch, value, codecs) in runs {
        let size = |n: usize| if n < 1 << 20 { format!("{}KiB", n >> 10) } else { format!("{}MiB", n >> 20) };
        let value_name = if value < 1024 { format!("{value}B") } else { format!("{}KiB", value >> 10) };
        let mut g = c.benchmark_group(format!("batch_{}_of_{value_name}", size(batch)));
        g.throughput(Throughput::Bytes(batch as u64));
        for (data_name, data) in [("noise", noise(batch, SEED)), ("text", text(batch))] {
            for &codec in codecs {
                g.bench_with_input(BenchmarkId::new(codec.name(), data_name), &data, |b, data| {
                    b.iter(|| {
                        let mut builder = RecordBatchBuilder::with_capacity(codec, batch + batch / 4);
                        for (i, v) in data.chunks(value).enumerate() {
                            builder.append(1_700_000_000_000 + i as i64, None, Some(v), &[]).expect("append");
                        }
                        black_box(builder.build().expect("build").len())
                    })
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, bench, bench_batch);
criterion_main!(benches);
