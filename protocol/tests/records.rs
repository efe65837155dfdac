//! Hostile and damaged input for the record batch reader: truncation at every byte, bad lengths, checksums, magic
//! bytes and counts, and decompression bombs inside batches. Every case must end in a `DecodeError` or a clean
//! truncated-tail stop, never a panic, and never an allocation driven by a count or size read off the wire.
// Its buffers are written with every codec, zstd included: it needs the zstd encoder (the `zstd` feature).
#![cfg(feature = "zstd")]

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafkar_protocol::DecodeError;
use kafkar_protocol::compression::{Compression, compress};
use kafkar_protocol::primitives::WriteExt;
use kafkar_protocol::records::{
    DecodeSummary, EndTxnMarker, Header, ReadOptions, RecordBatchBuilder, RecordBatchReader, decode_all,
};
use proptest::prelude::*;

#[path = "support/legacy.rs"]
mod legacy_entries;
use legacy_entries::legacy;

fn v2_batch(codec: Compression, base_offset: i64, n: usize) -> Vec<u8> {
    let mut b = RecordBatchBuilder::new(codec).with_base_offset(base_offset).with_producer_state(5, 0, 0);
    for i in 0..n {
        let headers = [Header::new("h", Some(Bytes::from(format!("{i}"))))];
        let value = format!("value-{i}-").repeat(i % 5 + 1);
        b.append(1_000 + i as i64, Some(format!("key-{i}").as_bytes()), Some(value.as_bytes()), &headers).unwrap();
    }
    b.build().unwrap().into_bytes().to_vec()
}

fn compressed(codec: Compression, data: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    compress(codec, None, data, &mut out).unwrap();
    out.to_vec()
}

/// Several batches of every kind, concatenated, with the length of each.
fn fetch_buffer() -> (Vec<u8>, Vec<usize>) {
    let inner: Vec<u8> = (0..3).flat_map(|i| legacy(i, 1, 0, 1_000, Some(b"k"), Some(b"legacy"))).collect();
    let mut control = RecordBatchBuilder::new(Compression::None).with_control(true).with_base_offset(40);
    control.append_end_txn_marker(9, &EndTxnMarker { commit: true, coordinator_epoch: 1 }).unwrap();
    let parts = [
        legacy(0, 0, 0, 1_000, Some(b"a"), Some(b"b")),
        legacy(3, 1, 1, 1_000, None, Some(&compressed(Compression::Gzip, &inner))),
        v2_batch(Compression::None, 4, 7),
        v2_batch(Compression::Lz4, 11, 9),
        v2_batch(Compression::Snappy, 20, 3),
        v2_batch(Compression::Zstd, 23, 5),
        v2_batch(Compression::Gzip, 28, 12),
        control.build().unwrap().into_bytes().to_vec(),
    ];
    let lens = parts.iter().map(Vec::len).collect();
    (parts.concat(), lens)
}

fn decode(buf: &[u8]) -> Result<DecodeSummary, DecodeError> {
    decode_all(Bytes::copy_from_slice(buf), &ReadOptions::default())
}

#[test]
fn the_whole_buffer_decodes() {
    let (buf, lens) = fetch_buffer();
    let s = decode(&buf).unwrap();
    assert_eq!(s.batches, lens.len());
    assert_eq!(s.records, 1 + 3 + 7 + 9 + 3 + 5 + 12 + 1);
    assert_eq!(s.headers, 7 + 9 + 3 + 5 + 12);
    assert_eq!(s.consumed, buf.len());
    assert!(!s.truncated_tail);
}

#[test]
fn truncated_at_every_byte_stops_cleanly() {
    let (buf, lens) = fetch_buffer();
    let mut boundaries = vec![0];
    for l in &lens {
        boundaries.push(boundaries.last().unwrap() + l);
    }
    for cut in 0..=buf.len() {
        let s = decode(&buf[..cut]).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let complete = boundaries.iter().filter(|&&b| b <= cut).count() - 1;
        assert_eq!(s.batches, complete, "cut at {cut}");
        assert_eq!(s.consumed, boundaries[complete], "cut at {cut}");
        assert_eq!(s.truncated_tail, !boundaries.contains(&cut), "cut at {cut}");
    }
}

fn fix_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

fn fix_length(batch: &mut [u8]) {
    let len = (batch.len() - 12) as i32;
    batch[8..12].copy_from_slice(&len.to_be_bytes());
}

#[test]
fn a_batch_cut_short_inside_is_an_error() {
    // The batch length is made to match the cut (and the CRC fixed): the records themselves end early.
    for codec in Compression::ALL {
        let full = v2_batch(codec, 0, 6);
        for cut in 61..full.len() {
            let mut b = full[..cut].to_vec();
            fix_length(&mut b);
            fix_crc(&mut b);
            assert!(decode(&b).is_err(), "{codec}: cut at {cut} decoded");
        }
    }
}

#[test]
fn lengths_and_magic() {
    let good = v2_batch(Compression::None, 0, 2);
    for len in [-1i32, i32::MIN, 0, 13] {
        let mut b = good.clone();
        b[8..12].copy_from_slice(&len.to_be_bytes());
        assert!(matches!(decode(&b), Err(DecodeError::InvalidLength { .. })), "length {len}");
    }
    // A v2 batch shorter than its header.
    let mut b = good[..40].to_vec();
    fix_length(&mut b);
    assert!(decode(&b).is_err());
    for magic in [3u8, 0x80, 0xff, 0x7f] {
        let mut b = good.clone();
        b[16] = magic;
        assert!(matches!(decode(&b), Err(DecodeError::Invalid { what: "magic byte", .. })), "magic {magic}");
        // A bad magic byte is an error even when the batch is incomplete.
        assert!(decode(&b[..20]).is_err());
    }
    // A length past the end is a truncated tail, even at the start.
    let mut b = good.clone();
    b[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
    let s = decode(&b).unwrap();
    assert_eq!((s.batches, s.truncated_tail), (0, true));
}

#[test]
fn garbage_after_a_good_batch_is_an_error() {
    let mut buf = v2_batch(Compression::None, 0, 2);
    let good_len = buf.len();
    buf.extend_from_slice(&[0u8; 8]);
    buf.extend_from_slice(&5i32.to_be_bytes());
    buf.extend_from_slice(&[0xaa; 40]);
    let mut reader = RecordBatchReader::new(Bytes::from(buf), ReadOptions::default());
    assert!(reader.next().unwrap().is_ok());
    assert!(reader.next().unwrap().is_err());
    assert!(reader.next().is_none(), "iteration ends after an error");
    assert_eq!(reader.consumed(), good_len);
    assert!(!reader.truncated_tail());
}

#[test]
fn checksums() {
    let mut b = v2_batch(Compression::None, 0, 3);
    let n = b.len();
    b[n - 1] ^= 0x20; // the last header value
    assert!(matches!(decode(&b), Err(DecodeError::CrcMismatch { what: "record batch", .. })));
    let relaxed = ReadOptions { verify_crc: false, ..ReadOptions::default() };
    assert_eq!(decode_all(Bytes::from(b.clone()), &relaxed).unwrap().records, 3);
    // The CRC covers attributes..end, not the base offset or partition leader epoch.
    let mut b = v2_batch(Compression::None, 0, 3);
    b[3] ^= 1;
    b[13] ^= 1;
    assert!(decode(&b).is_ok());
    // Legacy CRC-32 over magic..end.
    let mut l = legacy(0, 1, 0, 1_000, Some(b"k"), Some(b"v"));
    let n = l.len();
    l[n - 1] ^= 1;
    assert!(matches!(decode(&l), Err(DecodeError::CrcMismatch { what: "legacy message", .. })));
    assert!(decode_all(Bytes::from(l), &relaxed).is_ok());
}

/// A v2 batch around a raw records section.
fn raw_batch(attributes: i16, count: i32, records: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.put_i64(0);
    b.put_i32(49 + records.len() as i32);
    b.put_i32(-1);
    b.put_i8(2);
    b.put_u32(0);
    b.put_i16(attributes);
    b.put_i32(count.max(1) - 1);
    b.put_i64(1_000);
    b.put_i64(1_000);
    b.put_i64(-1);
    b.put_i16(-1);
    b.put_i32(-1);
    b.put_i32(count);
    b.extend_from_slice(records);
    fix_crc(&mut b);
    b
}

/// A v2 record from its raw parts: (key length, key bytes), (value length, value bytes), header count and bytes.
fn raw_record(key: (i32, &[u8]), value: (i32, &[u8]), header_count: i32, headers: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.put_i8(0);
    body.put_varlong(0);
    body.put_varint(0);
    body.put_varint(key.0);
    body.put_slice(key.1);
    body.put_varint(value.0);
    body.put_slice(value.1);
    body.put_varint(header_count);
    body.put_slice(headers);
    let mut r = Vec::new();
    r.put_varint(body.len() as i32);
    r.extend_from_slice(&body);
    r
}

#[test]
fn records_that_lie() {
    let ok = raw_record((1, b"k"), (1, b"v"), 0, &[]);
    assert_eq!(decode(&raw_batch(0, 1, &ok)).unwrap().records, 1);
    let bad: Vec<(&str, Vec<u8>, i32)> = vec![
        ("count above the records", ok.clone(), 2),
        ("count below the records", [ok.clone(), ok.clone()].concat(), 1),
        ("negative count", ok.clone(), -1),
        ("huge count", ok.clone(), i32::MAX),
        ("key length -2", raw_record((-2, b""), (1, b"v"), 0, &[]), 1),
        ("key past the record", raw_record((100, b"k"), (1, b"v"), 0, &[]), 1),
        ("value length i32::MIN", raw_record((1, b"k"), (i32::MIN, b""), 0, &[]), 1),
        ("negative header count", raw_record((1, b"k"), (1, b"v"), -1, &[]), 1),
        ("huge header count", raw_record((1, b"k"), (1, b"v"), i32::MAX, &[2, b'h', 0]), 1),
        ("null header key", raw_record((1, b"k"), (1, b"v"), 1, &[1, 0]), 1),
        ("header value -2", raw_record((1, b"k"), (1, b"v"), 1, &[2, b'h', 3]), 1),
        ("header past the record", raw_record((1, b"k"), (1, b"v"), 1, &[2, b'h', 40, 1]), 1),
        ("negative record length", vec![1, 0, 0, 0, 2, b'k', 2, b'v', 0], 1),
        ("record length past the batch", vec![100, 0, 0, 0, 2, b'k', 2, b'v', 0], 1),
        ("record length short of its fields", vec![10, 0, 0, 0, 2, b'k', 2, b'v', 0, 0, 0, 0], 1),
        ("record length beyond its fields", vec![16, 0, 0, 0, 2, b'k', 2, b'v', 0, 0, 0, 0], 1),
        ("unterminated varint", vec![0xff; 12], 1),
        ("codec 5", ok.clone(), 1),
    ];
    for (what, records, count) in bad {
        let attributes = if what == "codec 5" { 5 } else { 0 };
        let started = Instant::now();
        assert!(decode(&raw_batch(attributes, count, &records)).is_err(), "{what}");
        assert!(started.elapsed() < Duration::from_secs(1), "{what}: slow");
    }
}

#[test]
fn a_bomb_inside_a_batch_is_an_error() {
    // 100 MB of zeros as 100 zstd frames of 1 MB (cheap to build), claiming one record.
    let frame = compressed(Compression::Zstd, &vec![0; 1 << 20]);
    let bomb = frame.repeat(100);
    let b = raw_batch(4, 1, &bomb);
    let options = ReadOptions { max_decompressed_size: 1 << 20, ..ReadOptions::default() };
    let started = Instant::now();
    let batch = RecordBatchReader::new(Bytes::from(b.clone()), options).next().unwrap().unwrap();
    assert!(matches!(batch.records(), Err(DecodeError::DecompressionLimit { .. })));
    assert!(matches!(decode_all(Bytes::from(b), &options), Err(DecodeError::DecompressionLimit { .. })));
    assert!(started.elapsed() < Duration::from_secs(10));
    // The same in a legacy wrapper (gzip members).
    let member = compressed(Compression::Gzip, &vec![0; 1 << 20]);
    let l = legacy(0, 1, 1, 1_000, None, Some(&member.repeat(100)));
    assert!(matches!(decode_all(Bytes::from(l), &options), Err(DecodeError::DecompressionLimit { .. })));
}

#[test]
fn compressed_garbage_is_an_error() {
    for codec in [Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
        let b = raw_batch(codec.code().into(), 1, &[0x5a; 64]);
        assert!(decode(&b).is_err(), "{codec}");
        // A valid compressed section that holds garbage records.
        let b = raw_batch(codec.code().into(), 1, &compressed(codec, &[0x7f; 64]));
        assert!(decode(&b).is_err(), "{codec}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn prop_mutated_buffers_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        verify_crc in any::<bool>(),
    ) {
        let (mut buf, _) = fetch_buffer();
        for (at, x) in flips {
            let i = at.index(buf.len());
            buf[i] ^= x | 1;
        }
        let options = ReadOptions { verify_crc, max_decompressed_size: 1 << 20 };
        let _ = decode_all(Bytes::from(buf), &options);
    }

    #[test]
    fn prop_arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..600)) {
        let options = ReadOptions { verify_crc: false, max_decompressed_size: 1 << 16 };
        let _ = decode_all(Bytes::from(data.clone()), &options);
        // And behind a plausible v2 header, so the record decoder sees them.
        for codec in [0i16, 1, 2, 3, 4] {
            let _ = decode_all(Bytes::from(raw_batch(codec, 3, &data)), &options);
        }
    }
}
