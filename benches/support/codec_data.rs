//! The records and the read loops shared by the codec benches: benches/codec.rs (the kafkar crate) and
//! benches/compare/benches/codec_vs_kafka_protocol.rs (its own crate), each including this file with `#[path]`
//! after defining `crate::records` as the kafkar-protocol `records` module it reaches.

use bytes::Bytes;

use crate::records::{Header, ReadOptions, RecordBatchBuilder, RecordBatchReader};

/// Records per batch.
pub const RECORDS: usize = 1000;
/// Bytes per value.
pub const VALUE: usize = 100;
/// Timestamp of the first record (the next ones follow by 1 ms).
pub const BASE_TIMESTAMP: i64 = 1_700_000_000_000;
/// The key of the one header of the whole-batch benches.
pub const HEADER_KEY: &str = "trace-id";
/// Its value.
pub const HEADER_VALUE: &[u8] = b"0af7651916cd43dd";

/// Keys and values with some structure, like real data (JSON-ish), so compressors have work to do.
pub fn payloads() -> Vec<(Vec<u8>, Vec<u8>)> {
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

/// One header per record, as tracing and routing headers are common.
pub fn one_header() -> Vec<Header> {
    vec![Header::new(HEADER_KEY, Some(Bytes::from_static(HEADER_VALUE)))]
}

/// An uncompressed batch of `data` with `headers` on every record.
pub fn build_with_headers(data: &[(Vec<u8>, Vec<u8>)], headers: &[Header]) -> Bytes {
    let mut b = RecordBatchBuilder::with_capacity(crate::Compression::None, RECORDS * (VALUE + 64));
    for (i, (k, v)) in data.iter().enumerate() {
        b.append(BASE_TIMESTAMP + i as i64, Some(k), Some(v), headers).expect("append");
    }
    b.build().expect("build").into_bytes()
}

/// Reads every record of `batch` as owned records (CRC checked), counting key, value and header bytes.
pub fn read_owned(batch: &Bytes) -> usize {
    let mut n = 0;
    for batch in RecordBatchReader::new(batch.clone(), ReadOptions::default()) {
        for r in batch.expect("batch").records().expect("records") {
            let r = r.expect("record");
            n += r.key.map_or(0, |k| k.len()) + r.value.map_or(0, |v| v.len());
            for h in &r.headers {
                n += h.key.len() + h.value.map_or(0, |v| v.len());
            }
        }
    }
    n
}

/// Reads every record of `batch` through the borrowed view (CRC checked), counting key, value and header bytes.
pub fn read_view(batch: &Bytes) -> usize {
    let mut n = 0;
    for batch in RecordBatchReader::new(batch.clone(), ReadOptions::default()) {
        let view = batch.expect("batch").records_ref().expect("records");
        for r in &view {
            let r = r.expect("record");
            n += r.key.map_or(0, <[u8]>::len) + r.value.map_or(0, <[u8]>::len);
            for h in r.headers {
                n += h.key.len() + h.value.map_or(0, <[u8]>::len);
            }
        }
    }
    n
}
