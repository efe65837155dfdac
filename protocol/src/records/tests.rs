use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::DecodeError;
use crate::compression::Compression;

/// A record as a test describes it.
#[derive(Clone, Debug, PartialEq)]
struct Rec {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Rec {
    fn new(timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> Rec {
        Rec { timestamp, key: key.map(<[u8]>::to_vec), value: value.map(<[u8]>::to_vec), headers: Vec::new() }
    }

    fn headers(&self) -> Vec<Header> {
        self.headers.iter().map(|(k, v)| Header::new(k.clone(), v.clone().map(Bytes::from))).collect()
    }
}

fn sample_records() -> Vec<Rec> {
    let mut with_headers = Rec::new(1_700_000_000_004, Some(b"with-headers"), Some(b"v4"));
    with_headers.headers = vec![
        ("trace-id".into(), Some(b"abc".to_vec())),
        ("null".into(), None),
        ("empty".into(), Some(Vec::new())),
        ("trace-id".into(), Some(b"second".to_vec())),
    ];
    vec![
        Rec::new(1_700_000_000_000, Some(b"key-0"), Some(b"value-0")),
        Rec::new(1_700_000_000_001, None, Some(b"no key")),
        Rec::new(1_699_999_000_000, Some(b"tombstone"), None),
        Rec::new(-1, Some(b""), Some(b"")),
        with_headers,
        Rec::new(1_800_000_000_000, Some(&[0u8; 300]), Some(&vec![7u8; 70_000])),
    ]
}

fn build(codec: Compression, records: &[Rec]) -> EncodedBatch {
    let mut b = RecordBatchBuilder::new(codec);
    for r in records {
        b.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &r.headers()).unwrap();
    }
    b.build().unwrap()
}

fn read_one(bytes: Bytes) -> RecordBatch {
    let mut reader = RecordBatchReader::new(bytes, ReadOptions::default());
    let batch = reader.next().unwrap().unwrap();
    assert!(reader.next().is_none());
    assert!(!reader.truncated_tail());
    batch
}

/// The records of `batch` read both ways, the owned [`Records`] and the borrowed [`RecordsView`], checked to agree
/// record for record and error for error (raw timestamps too); the owned results.
fn both_ways(batch: &RecordBatch) -> Result<Vec<Result<Record, DecodeError>>, DecodeError> {
    let (records, view) = match (batch.records(), batch.records_ref()) {
        (Ok(r), Ok(v)) => (r, v),
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "records() and records_ref() fail differently");
            return Err(a);
        }
        (a, b) => panic!("records() and records_ref() disagree: {:?} / {:?}", a.err(), b.err()),
    };
    let owned: Vec<Result<Record, DecodeError>> = records.collect();
    let raw: Vec<Result<Record, DecodeError>> = batch.records()?.raw_timestamps().collect();
    for (view, owned) in [(view.clone(), &owned), (view.raw_timestamps(), &raw)] {
        let viewed: Vec<Result<RecordRef<'_>, DecodeError>> = view.iter().collect();
        assert_eq!(viewed.len(), owned.len(), "the view yields a different number of results");
        for (v, o) in viewed.iter().zip(owned) {
            match (v, o) {
                (Ok(v), Ok(o)) => {
                    assert_eq!(*v, o.as_record_ref());
                    assert_eq!(v.to_record(), *o);
                    let vh: Vec<Header> = v.headers.iter().map(|h| h.to_header()).collect();
                    assert_eq!(vh, o.headers.to_vec());
                }
                (Err(v), Err(o)) => assert_eq!(v, o),
                (v, o) => panic!("the view and the owned records disagree: {v:?} / {o:?}"),
            }
        }
    }
    Ok(owned)
}

fn check_records(batch: &RecordBatch, records: &[Rec], base_offset: i64) {
    let h = batch.header();
    let got: Vec<Record> = both_ways(batch).unwrap().into_iter().map(Result::unwrap).collect();
    assert_eq!(got.len(), records.len());
    for (i, (g, w)) in got.iter().zip(records).enumerate() {
        assert_eq!(g.offset, base_offset + i as i64);
        let ts = if h.timestamp_type == TimestampType::LogAppendTime { h.max_timestamp } else { w.timestamp };
        assert_eq!(g.timestamp, ts);
        assert_eq!(g.key.as_deref(), w.key.as_deref());
        assert_eq!(g.value.as_deref(), w.value.as_deref());
        let headers: Vec<(String, Option<Vec<u8>>)> = g
            .headers
            .iter()
            .map(|h| (h.key_str().unwrap().to_owned(), h.value.as_deref().map(<[u8]>::to_vec)))
            .collect();
        assert_eq!(headers, w.headers);
    }
}

#[test]
fn round_trip_every_codec() {
    let records = sample_records();
    for codec in Compression::ALL {
        let built = build(codec, &records);
        let batch = read_one(built.bytes().clone());
        let h = batch.header();
        assert_eq!(h.magic, 2);
        assert_eq!(h.compression, codec);
        assert_eq!(h.base_offset, 0);
        assert_eq!(h.last_offset_delta, records.len() as i32 - 1);
        assert_eq!(h.record_count, Some(records.len() as i32));
        assert_eq!(h.base_timestamp, records[0].timestamp);
        assert_eq!(h.max_timestamp, records.iter().map(|r| r.timestamp).max().unwrap());
        assert_eq!(h.size_in_bytes(), built.len());
        assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), (-1, -1, -1));
        assert_eq!(h.partition_leader_epoch, -1);
        assert_eq!(h.timestamp_type, TimestampType::CreateTime);
        assert!(!h.is_transactional && !h.is_control && !h.has_delete_horizon);
        assert_eq!(h.crc, built.crc());
        check_records(&batch, &records, 0);
        if codec != Compression::None {
            assert!(built.len() < build(Compression::None, &records).len(), "{codec} did not shrink the batch");
        }
    }
}

#[test]
fn uncompressed_records_are_zero_copy_slices_of_the_input() {
    let built = build(Compression::None, &sample_records());
    let bytes = built.into_bytes();
    let range = bytes.as_ptr() as usize..bytes.as_ptr() as usize + bytes.len();
    let batch = read_one(bytes.clone());
    for r in batch.records().unwrap() {
        let r = r.unwrap();
        for b in r.key.iter().chain(r.value.iter()).filter(|b| !b.is_empty()) {
            assert!(range.contains(&(b.as_ptr() as usize)), "not a slice of the input");
        }
        for h in &r.headers {
            assert!(range.contains(&(h.key.as_ptr() as usize)));
        }
    }
}

#[test]
fn view_borrows_the_input_or_the_decompressed_buffer() {
    let records = sample_records();
    let bytes = build(Compression::None, &records).into_bytes();
    let range = bytes.as_ptr() as usize..bytes.as_ptr() as usize + bytes.len();
    let batch = read_one(bytes.clone());
    let view = batch.records_ref().unwrap();
    let mut n = 0;
    for r in &view {
        let r = r.unwrap();
        for b in r.key.iter().chain(r.value.iter()).filter(|b| !b.is_empty()) {
            assert!(range.contains(&(b.as_ptr() as usize)), "not a slice of the input");
        }
        for h in r.headers {
            assert!(range.contains(&(h.key.as_ptr() as usize)));
        }
        n += 1;
    }
    assert_eq!(n, records.len());
    // Headers as the producer wrote them, looked up as Java's lastHeader does.
    let with_headers = view.iter().nth(4).unwrap().unwrap();
    assert_eq!(with_headers.headers.len(), 4);
    let last = with_headers.headers.last(b"trace-id").unwrap();
    assert_eq!((last.key_str(), last.value), (Some("trace-id"), Some(&b"second"[..])));
    assert_eq!(with_headers.headers.iter().nth(1).unwrap().value, None);
    assert!(with_headers.headers.last(b"absent").is_none());
    // A compressed batch: the view reads the decompressed buffer, and iterating twice gives the same records.
    let batch = read_one(build(Compression::Lz4, &records).into_bytes());
    let view = batch.records_ref().unwrap();
    let first: Vec<Record> = view.iter().map(|r| r.unwrap().to_record()).collect();
    let again: Vec<Record> = view.iter().map(|r| r.unwrap().to_record()).collect();
    assert_eq!(first, again);
    assert_eq!(first[5].value.as_deref(), records[5].value.as_deref());
}

#[test]
fn view_reports_the_same_errors_as_the_owned_records() {
    let records = sample_records();
    let bytes = build(Compression::None, &records).bytes().to_vec();
    let unchecked = ReadOptions { verify_crc: false, ..ReadOptions::default() };
    let read = |bytes: Vec<u8>| {
        let batch = RecordBatchReader::new(Bytes::from(bytes), unchecked).next().unwrap().unwrap();
        both_ways(&batch).unwrap()
    };
    // One record more than there are: the section ends early.
    let mut more = bytes.clone();
    more[57..61].copy_from_slice(&(records.len() as i32 + 1).to_be_bytes());
    let got = read(more);
    assert_eq!(got.len(), records.len() + 1);
    assert!(matches!(got.last(), Some(Err(DecodeError::UnexpectedEof { what: "record length", .. }))));
    // One record fewer: the last one is trailing bytes.
    let mut fewer = bytes.clone();
    fewer[57..61].copy_from_slice(&(records.len() as i32 - 1).to_be_bytes());
    let got = read(fewer);
    assert!(matches!(got.last(), Some(Err(DecodeError::TrailingBytes { .. }))));
    // A negative record length.
    let mut long = bytes.clone();
    long[RECORD_BATCH_OVERHEAD] = 0x01;
    let got = read(long);
    assert!(matches!(got.first(), Some(Err(DecodeError::InvalidLength { what: "record length", .. }))));
    // A null header key.
    let headers = vec![Rec { headers: vec![("k".into(), None)], ..Rec::new(5, None, None) }];
    let mut null_key = build(Compression::None, &headers).bytes().to_vec();
    let at = null_key.len() - 3; // header key length (1: "k"), key, value length (-1)
    assert_eq!(null_key[at], 2);
    null_key[at] = 1;
    let got = read(null_key);
    assert!(matches!(got.first(), Some(Err(DecodeError::InvalidLength { what: "header key", len: -1 }))));
    // The CRC is checked before either is reached.
    let mut corrupt = bytes;
    *corrupt.last_mut().unwrap() ^= 1;
    let err = RecordBatchReader::new(Bytes::from(corrupt), ReadOptions::default()).next().unwrap().unwrap_err();
    assert!(matches!(err, DecodeError::CrcMismatch { .. }));
}

#[test]
fn header_fields_round_trip() {
    let records = sample_records();
    let mut b = RecordBatchBuilder::new(Compression::Lz4)
        .with_base_offset(1_234_567_890_123)
        .with_partition_leader_epoch(17)
        .with_producer_state(987_654_321, 3, 42)
        .with_transactional(true)
        .with_log_append_time(1_900_000_000_000);
    for r in &records {
        b.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &r.headers()).unwrap();
    }
    assert_eq!(b.record_count(), records.len() as i32);
    assert_eq!(b.max_timestamp(), 1_800_000_000_000);
    let built = b.build().unwrap();
    assert_eq!(built.base_offset(), 1_234_567_890_123);
    assert_eq!(built.producer_id(), 987_654_321);
    assert_eq!(built.producer_epoch(), 3);
    assert_eq!(built.base_sequence(), 42);
    assert_eq!(built.record_count(), records.len() as i32);
    assert_eq!(built.max_timestamp(), 1_900_000_000_000);
    let batch = read_one(built.into_bytes());
    let h = batch.header();
    assert_eq!(h.base_offset, 1_234_567_890_123);
    assert_eq!(h.partition_leader_epoch, 17);
    assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), (987_654_321, 3, 42));
    assert_eq!(h.last_sequence(), 42 + records.len() as i32 - 1);
    assert!(h.is_transactional);
    assert_eq!(h.timestamp_type, TimestampType::LogAppendTime);
    assert_eq!(h.max_timestamp, 1_900_000_000_000);
    check_records(&batch, &records, 1_234_567_890_123);
    // Raw timestamps are the ones written.
    let raw: Vec<i64> = batch.records().unwrap().raw_timestamps().map(|r| r.unwrap().timestamp).collect();
    assert_eq!(raw, records.iter().map(|r| r.timestamp).collect::<Vec<_>>());
}

/// Regression (fuzz target `record_batches`): `last_sequence` of a decoded header with a negative
/// `last_offset_delta` overflowed (`i32::MAX - increment`) and panicked. It now wraps as Java's
/// `DefaultRecordBatch.incrementSequence` does with int arithmetic; expected values computed with Java's semantics.
#[test]
fn last_sequence_of_any_decoded_header_wraps_like_java() {
    let header = |base_sequence, last_offset_delta| BatchHeader {
        producer_id: 7,
        producer_epoch: 0,
        base_sequence,
        last_offset_delta,
        ..BatchHeader::default()
    };
    let cases = [
        (5, -10, 2_147_483_643),
        (i32::MAX - 1, 3, 1),
        (i32::MAX, 0, i32::MAX),
        (-5, -7, 2_147_483_636),
        (i32::MIN, i32::MIN, 0),
        (i32::MAX, i32::MIN, i32::MAX),
        (1, i32::MAX, 0),
        (-2, 5, 3),
        (NO_SEQUENCE, -10, NO_SEQUENCE),
    ];
    for (base_sequence, delta, expected) in cases {
        assert_eq!(header(base_sequence, delta).last_sequence(), expected, "base {base_sequence}, delta {delta}");
        // The same header as it comes off the wire.
        let bytes = encode_empty_batch(&header(base_sequence, delta)).unwrap().into_bytes();
        let batch = read_one(bytes);
        assert_eq!(batch.header().last_offset_delta, delta);
        assert_eq!(batch.header().last_sequence(), expected);
    }
}

#[test]
fn offsets_with_gaps_and_validation() {
    let mut b = RecordBatchBuilder::new(Compression::None).with_base_offset(100);
    assert_eq!(b.next_offset(), 100);
    b.append_with_offset(100, 5, None, Some(b"a"), &[]).unwrap();
    b.append_with_offset(102, 6, None, Some(b"b"), &[]).unwrap();
    assert_eq!(b.append(7, None, Some(b"c"), &[]).unwrap(), 103);
    assert!(b.append_with_offset(103, 8, None, None, &[]).is_err(), "repeated offset");
    assert!(b.append_with_offset(99, 8, None, None, &[]).is_err(), "below the base offset");
    assert!(b.append_with_offset(100 + (1 << 31), 8, None, None, &[]).is_err(), "delta past i32");
    assert!(b.append(-2, None, None, &[]).is_err(), "negative timestamp");
    let batch = read_one(b.build().unwrap().into_bytes());
    let offsets: Vec<i64> = batch.records().unwrap().map(|r| r.unwrap().offset).collect();
    assert_eq!(offsets, [100, 102, 103]);
    assert_eq!(batch.header().last_offset(), 103);
    assert_eq!(batch.header().next_offset(), 104);
}

#[test]
fn delete_horizon_is_the_base_timestamp() {
    let mut b = RecordBatchBuilder::new(Compression::None).with_delete_horizon(5_000);
    b.append(1_000, Some(b"k"), None, &[]).unwrap();
    b.append(9_000, Some(b"k"), Some(b"v"), &[]).unwrap();
    let batch = read_one(b.build().unwrap().into_bytes());
    assert_eq!(batch.header().delete_horizon_ms(), Some(5_000));
    assert_eq!(batch.header().base_timestamp, 5_000);
    let ts: Vec<i64> = batch.records().unwrap().map(|r| r.unwrap().timestamp).collect();
    assert_eq!(ts, [1_000, 9_000]);
    // Setting it after records were appended would change their deltas: refused.
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.append(1_000, None, None, &[]).unwrap();
    assert!(b.with_delete_horizon(5).build().is_err());
}

#[test]
fn size_estimate_is_exact_for_uncompressed_batches() {
    let mut b = RecordBatchBuilder::new(Compression::None);
    assert_eq!(b.uncompressed_size(), RECORD_BATCH_OVERHEAD);
    for r in sample_records() {
        let headers = r.headers();
        let estimate =
            b.estimated_size_after(r.timestamp, r.key.as_ref().map(Vec::len), r.value.as_ref().map(Vec::len), &headers);
        b.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &headers).unwrap();
        assert_eq!(b.uncompressed_size(), estimate);
    }
    let size = b.uncompressed_size();
    assert_eq!(b.build().unwrap().len(), size);
}

#[test]
fn producer_state_rewrite_recomputes_the_crc() {
    for codec in [Compression::None, Compression::Zstd] {
        let mut built = build(codec, &sample_records());
        let before = built.crc();
        built.set_producer_state(77, 2, 1_000);
        assert_ne!(built.crc(), before);
        assert_eq!(built.crc(), crc32c::crc32c(&built.bytes()[ATTRIBUTES_OFFSET..]));
        // While a request still holds the old bytes, the rewrite works on a copy and leaves them alone.
        let in_flight = built.bytes().clone();
        built.set_producer_state(77, 3, 0);
        assert_eq!(in_flight[PRODUCER_ID_OFFSET + 9], 2);
        built.set_base_offset(500);
        built.set_partition_leader_epoch(9);
        let batch = read_one(built.bytes().clone());
        let h = batch.header();
        assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), (77, 3, 0));
        assert_eq!((h.base_offset, h.partition_leader_epoch), (500, 9));
        check_records(&batch, &sample_records(), 500);
        // The slow path over any buffer gives the same bytes.
        let mut raw = build(codec, &sample_records()).into_bytes().to_vec();
        rewrite_producer_state(&mut raw, 77, 3, 0).unwrap();
        raw[..8].copy_from_slice(&500i64.to_be_bytes());
        raw[PARTITION_LEADER_EPOCH_OFFSET..PARTITION_LEADER_EPOCH_OFFSET + 4].copy_from_slice(&9i32.to_be_bytes());
        assert_eq!(raw, built.bytes()[..]);
    }
    let mut short = vec![0u8; 30];
    assert!(rewrite_producer_state(&mut short, 1, 1, 1).is_err());
    let mut raw = build(Compression::None, &sample_records()).into_bytes().to_vec();
    raw.push(0);
    assert!(rewrite_producer_state(&mut raw, 1, 1, 1).is_err(), "length mismatch");
}

#[test]
fn set_producer_state_is_in_place_when_unshared() {
    let mut built = build(Compression::None, &sample_records());
    let ptr = built.bytes().as_ptr();
    built.set_producer_state(1, 1, 1);
    assert_eq!(built.bytes().as_ptr(), ptr);
}

#[test]
fn control_batches() {
    let mut b = RecordBatchBuilder::new(Compression::None);
    let marker = EndTxnMarker { commit: true, coordinator_epoch: 3 };
    assert!(b.append_end_txn_marker(5, &marker).is_err(), "not a control batch");
    let mut b = RecordBatchBuilder::new(Compression::None)
        .with_control(true)
        .with_transactional(true)
        .with_producer_state(9, 1, NO_SEQUENCE)
        .with_base_offset(10);
    assert_eq!(b.append_end_txn_marker(5, &marker).unwrap(), 10);
    let batch = read_one(b.build().unwrap().into_bytes());
    assert!(batch.header().is_control && batch.header().is_transactional);
    let r = batch.records().unwrap().next().unwrap().unwrap();
    assert_eq!(r.key.as_deref(), Some(&[0, 0, 0, 1][..]));
    assert_eq!(r.value.as_deref(), Some(&[0, 0, 0, 0, 0, 3][..]));
    let key = ControlRecord::from_record(&r).unwrap();
    assert_eq!(key.kind, ControlRecordType::COMMIT);
    assert_eq!(format!("{:?}", key.kind), "COMMIT");
    assert_eq!(EndTxnMarker::from_record(&r).unwrap(), marker);
    let abort = EndTxnMarker { commit: false, coordinator_epoch: -1 };
    assert_eq!(EndTxnMarker::parse(ControlRecordType::ABORT, &abort.encode_value()).unwrap(), abort);
    // A newer value version with more fields is read as version 0.
    assert_eq!(EndTxnMarker::parse(ControlRecordType::COMMIT, &[0, 1, 0, 0, 0, 3, 9, 9]).unwrap(), marker);
    assert!(EndTxnMarker::parse(ControlRecordType::COMMIT, &[0, 0, 0]).is_err());
    assert!(EndTxnMarker::parse(ControlRecordType::COMMIT, &[0xff, 0, 0, 0, 0, 3]).is_err());
    assert!(EndTxnMarker::parse(ControlRecordType::LEADER_CHANGE, &[0, 0, 0, 0, 0, 3]).is_err());
    assert!(ControlRecord::parse_key(&[0, 0, 1]).is_err());
    assert!(ControlRecord::parse_key(&[0x80, 0, 0, 1]).is_err());
    assert_eq!(ControlRecord::parse_key(&[0, 0, 0x7f, 0]).unwrap().kind.name(), None);
}

#[test]
fn empty_batches() {
    // Built with no records: a valid header-only batch.
    let batch = read_one(RecordBatchBuilder::new(Compression::Gzip).build().unwrap().into_bytes());
    assert_eq!(batch.header().record_count, Some(0));
    assert_eq!(batch.records().unwrap().count(), 0);
    let header = BatchHeader {
        base_offset: 20,
        last_offset_delta: 2,
        producer_id: 5,
        producer_epoch: 1,
        base_sequence: 7,
        max_timestamp: 99,
        ..BatchHeader::default()
    };
    let batch = read_one(encode_empty_batch(&header).unwrap().into_bytes());
    assert_eq!(batch.header().crc, crc32c::crc32c(&batch.raw()[ATTRIBUTES_OFFSET..]));
    assert_eq!(batch.header(), &BatchHeader { crc: batch.header().crc, ..header.clone() });
    assert!(encode_empty_batch(&BatchHeader { magic: 1, ..header }).is_err());
}

#[test]
fn compression_level_is_validated_at_build() {
    let b = RecordBatchBuilder::new(Compression::Gzip).with_compression_level(Some(10));
    assert!(b.build().is_err());
    let mut b = RecordBatchBuilder::new(Compression::Zstd).with_compression_level(Some(19));
    b.append(1, None, Some(&[1; 1000]), &[]).unwrap();
    let batch = read_one(b.build().unwrap().into_bytes());
    assert_eq!(batch.records().unwrap().next().unwrap().unwrap().value.unwrap().len(), 1000);
}

// ---- legacy message sets

#[path = "../../tests/support/legacy.rs"]
mod legacy_entries;
use legacy_entries::legacy;

fn compress(codec: Compression, data: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    crate::compression::compress(codec, None, data, &mut out).unwrap();
    out.to_vec()
}

fn read_all(bytes: Vec<u8>) -> Result<Vec<(BatchHeader, Vec<Record>)>, DecodeError> {
    let mut out = Vec::new();
    for batch in RecordBatchReader::new(Bytes::from(bytes), ReadOptions::default()) {
        let batch = batch?;
        let records = both_ways(&batch)?.into_iter().collect::<Result<Vec<_>, _>>()?;
        out.push((batch.header().clone(), records));
    }
    Ok(out)
}

#[test]
fn legacy_uncompressed_messages_are_one_record_batches() {
    let mut buf = legacy(7, 0, 0, -1, Some(b"k"), Some(b"v"));
    buf.extend(legacy(8, 1, 0, 1_000, None, None));
    buf.extend(legacy(9, 1, 0x08, 2_000, Some(b""), Some(b"x")));
    let batches = read_all(buf).unwrap();
    assert_eq!(batches.len(), 3);
    let (h, r) = &batches[0];
    assert_eq!((h.magic, h.base_offset, h.last_offset(), h.timestamp_type), (0, 7, 7, TimestampType::NoTimestamp));
    assert_eq!((h.producer_id, h.record_count, h.max_timestamp), (-1, None, -1));
    assert_eq!((r[0].offset, r[0].timestamp), (7, -1));
    assert_eq!((r[0].key.as_deref(), r[0].value.as_deref()), (Some(&b"k"[..]), Some(&b"v"[..])));
    let (h, r) = &batches[1];
    assert_eq!((h.magic, h.timestamp_type, h.max_timestamp), (1, TimestampType::CreateTime, 1_000));
    assert_eq!((r[0].key.clone(), r[0].value.clone(), r[0].timestamp), (None, None, 1_000));
    assert_eq!(batches[2].0.timestamp_type, TimestampType::LogAppendTime);
    assert_eq!(batches[2].1[0].timestamp, 2_000);
}

#[test]
fn legacy_compressed_wrappers() {
    for codec in [Compression::Gzip, Compression::Snappy, Compression::Lz4] {
        // Magic 1: relative inner offsets; the wrapper carries the absolute offset of the last one.
        let inner: Vec<u8> =
            (0..3).flat_map(|i| legacy(i, 1, 0, 1_000 + i, Some(b"k"), Some(format!("v{i}").as_bytes()))).collect();
        let wrapper = legacy(502, 1, codec.code() as i8, 1_002, None, Some(&compress(codec, &inner)));
        let batches = read_all(wrapper).unwrap();
        let (h, r) = &batches[0];
        assert_eq!((h.base_offset, h.last_offset(), h.compression), (500, 502, codec));
        assert_eq!(r.iter().map(|r| r.offset).collect::<Vec<_>>(), [500, 501, 502]);
        assert_eq!(r.iter().map(|r| r.timestamp).collect::<Vec<_>>(), [1_000, 1_001, 1_002]);
        assert_eq!(r[2].value.as_deref(), Some(&b"v2"[..]));
        // LogAppendTime on the wrapper replaces the inner timestamps.
        let wrapper = legacy(502, 1, codec.code() as i8 | 0x08, 9_999, None, Some(&compress(codec, &inner)));
        let batches = read_all(wrapper).unwrap();
        assert!(batches[0].1.iter().all(|r| r.timestamp == 9_999));
        // Magic 0: absolute inner offsets.
        let inner: Vec<u8> = (0..3).flat_map(|i| legacy(40 + i, 0, 0, -1, None, Some(b"x"))).collect();
        let wrapper = legacy(42, 0, codec.code() as i8, -1, None, Some(&compress(codec, &inner)));
        let batches = read_all(wrapper).unwrap();
        assert_eq!(batches[0].1.iter().map(|r| r.offset).collect::<Vec<_>>(), [40, 41, 42]);
        assert_eq!((batches[0].0.base_offset, batches[0].0.last_offset()), (40, 42));
    }
}

#[test]
fn legacy_magic0_lz4_with_kafkas_old_header_checksum() {
    let inner = legacy(0, 0, 0, -1, Some(b"k"), Some(b"v"));
    let mut frame = compress(Compression::Lz4, &inner);
    // Re-compute the header checksum the historical way: over magic and descriptor.
    frame[6] = (crate::compression::xxhash::xxh32(&frame[..6], 0) >> 8) as u8;
    let wrapper = legacy(0, 0, 3, -1, None, Some(&frame));
    assert_eq!(read_all(wrapper).unwrap()[0].1[0].value.as_deref(), Some(&b"v"[..]));
    // Magic 1 does not accept it.
    let inner = legacy(0, 1, 0, 5, Some(b"k"), Some(b"v"));
    let mut frame = compress(Compression::Lz4, &inner);
    frame[6] = (crate::compression::xxhash::xxh32(&frame[..6], 0) >> 8) as u8;
    assert!(read_all(legacy(0, 1, 3, 5, None, Some(&frame))).is_err());
}

#[test]
fn legacy_malformed_wrappers() {
    let gz = |data: &[u8]| compress(Compression::Gzip, data);
    // Nested compression, magic mismatch, empty inner set, null value, zstd in a legacy message, bad inner CRC.
    let nested = legacy(0, 1, 1, 0, None, Some(&gz(&legacy(0, 1, 0, 0, None, Some(b"x")))));
    assert!(read_all(legacy(0, 1, 1, 0, None, Some(&gz(&nested)))).is_err());
    assert!(read_all(legacy(0, 1, 1, 0, None, Some(&gz(&legacy(0, 0, 0, -1, None, Some(b"x")))))).is_err());
    assert!(read_all(legacy(0, 1, 1, 0, None, Some(&gz(&[])))).is_err());
    assert!(read_all(legacy(0, 1, 1, 0, None, None)).is_err());
    assert!(read_all(legacy(0, 1, 4, 0, None, Some(&compress(Compression::Zstd, b"x")))).is_err());
    let mut inner = legacy(0, 1, 0, 0, None, Some(b"x"));
    let n = inner.len();
    inner[n - 1] ^= 1;
    assert!(matches!(
        read_all(legacy(0, 1, 1, 0, None, Some(&gz(&inner)))),
        Err(DecodeError::CrcMismatch { what: "legacy message", .. })
    ));
    // A truncated inner set.
    let inner = legacy(0, 1, 0, 0, None, Some(b"xyz"));
    assert!(read_all(legacy(0, 1, 1, 0, None, Some(&gz(&inner[..inner.len() - 1])))).is_err());
    // Outer CRC.
    let mut outer = legacy(0, 1, 0, 0, None, Some(b"x"));
    outer[20] ^= 1;
    assert!(matches!(read_all(outer), Err(DecodeError::CrcMismatch { .. })));
}

#[test]
fn mixed_magics_in_one_buffer() {
    let mut buf = legacy(0, 0, 0, -1, Some(b"a"), Some(b"0"));
    let inner: Vec<u8> = (0..2).flat_map(|i| legacy(i, 1, 0, 10 + i, None, Some(b"y"))).collect();
    buf.extend(legacy(2, 1, 2, 11, None, Some(&compress(Compression::Snappy, &inner))));
    let mut b = RecordBatchBuilder::new(Compression::Zstd).with_base_offset(3);
    b.append(12, Some(b"d"), Some(b"3"), &[]).unwrap();
    buf.extend_from_slice(b.build().unwrap().bytes());
    let batches = read_all(buf).unwrap();
    let offsets: Vec<i64> = batches.iter().flat_map(|(_, r)| r.iter().map(|r| r.offset)).collect();
    assert_eq!(offsets, [0, 1, 2, 3]);
    assert_eq!(batches.iter().map(|(h, _)| h.magic).collect::<Vec<_>>(), [0, 1, 2]);
}

// ---- property tests

fn rec_strategy() -> impl Strategy<Value = Rec> {
    let bytes = || prop::option::of(prop::collection::vec(any::<u8>(), 0..64));
    let header = ("[a-z\u{e9}\u{20ac}]{0,8}", bytes());
    (prop_oneof![Just(-1i64), 0i64..4_000_000_000_000], bytes(), bytes(), prop::collection::vec(header, 0..4))
        .prop_map(|(timestamp, key, value, headers)| Rec { timestamp, key, value, headers })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn prop_build_read_round_trip(
        records in prop::collection::vec(rec_strategy(), 0..40),
        codec in prop::sample::select(Compression::ALL.to_vec()),
        base_offset in 0i64..1 << 40,
        producer in (any::<i64>(), any::<i16>(), any::<i32>()),
        transactional in any::<bool>(),
        log_append in prop::option::of(0i64..4_000_000_000_000),
    ) {
        let mut b = RecordBatchBuilder::new(codec)
            .with_base_offset(base_offset)
            .with_producer_state(producer.0, producer.1, producer.2)
            .with_transactional(transactional);
        if let Some(t) = log_append {
            b = b.with_log_append_time(t);
        }
        for r in &records {
            b.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &r.headers()).unwrap();
        }
        let built = b.build().unwrap();
        let batch = read_one(built.bytes().clone());
        let h = batch.header();
        prop_assert_eq!(h.record_count, Some(records.len() as i32));
        prop_assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), producer);
        prop_assert_eq!(h.is_transactional, transactional);
        prop_assert_eq!(h.compression, codec);
        check_records(&batch, &records, base_offset);
        let summary = decode_all(built.into_bytes(), &ReadOptions::default()).unwrap();
        prop_assert_eq!(summary.records, records.len());
        prop_assert_eq!(summary.headers, records.iter().map(|r| r.headers.len()).sum::<usize>());
    }

    #[test]
    fn prop_view_agrees_on_cut_and_corrupted_batches(
        records in prop::collection::vec(rec_strategy(), 0..20),
        codec in prop::sample::select(vec![Compression::None, Compression::None, Compression::Lz4]),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        count in prop::option::of(-2i32..30),
    ) {
        let mut bytes = build(codec, &records).bytes().to_vec();
        // Cut the records section anywhere and fix the batch length, so that the batch is read and not taken
        // for a truncated tail; then corrupt bytes of what is left, and perhaps the record count.
        let section = bytes.len() - RECORD_BATCH_OVERHEAD;
        let keep = RECORD_BATCH_OVERHEAD + cut.index(section + 1);
        bytes.truncate(keep);
        bytes[8..12].copy_from_slice(&((keep - LOG_OVERHEAD) as i32).to_be_bytes());
        if let Some(count) = count {
            bytes[57..61].copy_from_slice(&count.to_be_bytes());
        }
        if keep > RECORD_BATCH_OVERHEAD {
            for (at, x) in flips {
                bytes[RECORD_BATCH_OVERHEAD + at.index(keep - RECORD_BATCH_OVERHEAD)] ^= x;
            }
        }
        let unchecked = ReadOptions { verify_crc: false, ..ReadOptions::default() };
        // Agreement (and no panic) is the property; errors are expected.
        for batch in RecordBatchReader::new(Bytes::from(bytes), unchecked).flatten() {
            let _ = both_ways(&batch);
        }
    }

    #[test]
    fn prop_view_agrees_on_garbage_records_sections(
        garbage in prop::collection::vec(any::<u8>(), 0..300),
        count in 0i32..20,
    ) {
        let mut bytes = build(Compression::None, &[]).bytes().to_vec();
        bytes.extend_from_slice(&garbage);
        let len = (bytes.len() - LOG_OVERHEAD) as i32;
        bytes[8..12].copy_from_slice(&len.to_be_bytes());
        bytes[57..61].copy_from_slice(&count.to_be_bytes());
        let unchecked = ReadOptions { verify_crc: false, ..ReadOptions::default() };
        let batch = RecordBatchReader::new(Bytes::from(bytes), unchecked).next().unwrap().unwrap();
        let _ = both_ways(&batch);
    }
}

proptest! {
    /// lz4 and snappy batches are compressed a block at a time as records arrive: the result must be exactly the
    /// uncompressed batch's records compressed whole, and the size the producer sees must be the uncompressed one.
    #[test]
    fn block_at_a_time_compression_equals_compressing_the_whole_records(
        values in proptest::collection::vec((0usize..3000, any::<u8>()), 1..120),
        big in proptest::option::of(60_000usize..200_000),
        capacity in 0usize..300_000,
    ) {
        for codec in [Compression::Lz4, Compression::Snappy] {
            let mut plain = RecordBatchBuilder::with_capacity(Compression::None, capacity);
            let mut blocks = RecordBatchBuilder::with_capacity(codec, capacity);
            let mut all = values.clone();
            if let Some(n) = big {
                all.insert(all.len() / 2, (n, 7));
            }
            for (i, &(len, fill)) in all.iter().enumerate() {
                // Half noise-like, half repetitive, so that both stored and compressed lz4 blocks occur.
                let value: Vec<u8> = (0..len)
                    .map(|j| if fill % 2 == 0 { fill } else { (j as u8).wrapping_mul(fill).wrapping_add((j >> 8) as u8) })
                    .collect();
                let headers = [Header { key: "h".into(), value: Some(Bytes::from(vec![fill; 3])) }];
                let ts = 1_700_000_000_000 + i as i64;
                prop_assert_eq!(
                    plain.estimated_size_after(ts, Some(1), Some(len), &headers),
                    blocks.estimated_size_after(ts, Some(1), Some(len), &headers)
                );
                plain.append(ts, Some(&[fill]), Some(&value), &headers).unwrap();
                blocks.append(ts, Some(&[fill]), Some(&value), &headers).unwrap();
                prop_assert_eq!(plain.uncompressed_size(), blocks.uncompressed_size());
            }
            let plain = plain.build().unwrap();
            let blocks = blocks.build().unwrap();
            let mut whole = BytesMut::new();
            crate::compression::compress(codec, None, &plain.bytes()[RECORD_BATCH_OVERHEAD..], &mut whole).unwrap();
            prop_assert_eq!(&blocks.bytes()[RECORD_BATCH_OVERHEAD..], &whole[..]);
            let read: Vec<_> = RecordBatchReader::new(blocks.bytes().clone(), ReadOptions::default())
                .next()
                .unwrap()
                .unwrap()
                .records()
                .unwrap()
                .map(|r| r.unwrap().value.map(|v| v.len()))
                .collect();
            prop_assert_eq!(read, all.iter().map(|&(n, _)| Some(n)).collect::<Vec<_>>());
        }
    }
}

/// Incompressible bytes (xorshift), continuing from `seed`.
fn noise_bytes(len: usize, seed: &mut u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed as u8
        })
        .collect()
}

/// JSON-like values of about 100 bytes, which lz4 and snappy compress about 3:1.
fn json_value(i: u64) -> Vec<u8> {
    format!(
        "{{\"id\":{i},\"kind\":\"order\",\"amount\":{}.{:02},\"user\":\"u{:05}\",\"tag\":\"{}\"}}",
        i * 7 % 1000,
        i % 100,
        i * 31 % 9973,
        "abcdefgh".repeat(i as usize % 3 + 1)
    )
    .into_bytes()
}

/// Batches filled as a producer fills them: a record joins the open batch if the batch is empty or
/// [`RecordBatchBuilder::room_for`] says it stays within `limit` (ratio 1: the bound for gzip and zstd too), else
/// the batch is built and a new one opened. Checks that every built batch is no longer than the bound taken just
/// before building it, and that the batches hold `values` in order. Returns each batch with its uncompressed size.
fn fill_batches(codec: Compression, limit: usize, values: &[Vec<u8>]) -> Vec<(EncodedBatch, usize)> {
    let close = |b: RecordBatchBuilder, out: &mut Vec<(EncodedBatch, usize)>| {
        let bound = b.size_bound_after(0, 1.0);
        let uncompressed = b.uncompressed_size();
        let built = b.build().unwrap();
        assert!(built.len() <= bound, "{codec}: built {} over its bound {bound}", built.len());
        out.push((built, uncompressed));
    };
    let mut out = Vec::new();
    let mut b = RecordBatchBuilder::with_capacity(codec, limit);
    for (i, v) in values.iter().enumerate() {
        let ts = 1_700_000_000_000 + i as i64;
        let len = b.estimated_size_after(ts, None, Some(v.len()), &[]) - b.uncompressed_size();
        if !b.is_empty() && !b.room_for(len, limit, 1.0) {
            close(std::mem::replace(&mut b, RecordBatchBuilder::with_capacity(codec, limit)), &mut out);
        }
        b.append(ts, None, Some(v), &[]).unwrap();
    }
    if !b.is_empty() {
        close(b, &mut out);
    }
    let read: Vec<Option<Bytes>> = out
        .iter()
        .flat_map(|(batch, _)| read_one(batch.bytes().clone()).records().unwrap().map(|r| r.unwrap().value))
        .collect();
    assert_eq!(read.len(), values.len(), "{codec}: every record once");
    assert!(read.iter().zip(values).all(|(r, v)| r.as_deref() == Some(&v[..])), "{codec}: records in order");
    out
}

#[test]
fn batches_of_incompressible_records_stay_within_the_limit_with_every_codec() {
    const LIMIT: usize = 1 << 20;
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    // 100-byte random values, 2.2 MiB of them: two full batches and a part.
    let values: Vec<Vec<u8>> = (0..22_000).map(|_| noise_bytes(100, &mut seed)).collect();
    for codec in Compression::ALL.into_iter().filter(|c| c.can_compress()) {
        let batches = fill_batches(codec, LIMIT, &values);
        assert_eq!(batches.len(), 3, "{codec}");
        for (b, _) in &batches {
            assert!(b.len() <= LIMIT, "{codec}: a batch of {} bytes, over {LIMIT}", b.len());
        }
        for (b, _) in &batches[..batches.len() - 1] {
            // lz4, snappy and none to within a record or so; gzip and zstd counted at their worst case, which
            // these records (random values, repeated framing) beat by a few percent.
            assert!(b.len() > LIMIT * 9 / 10, "{codec}: a full batch of only {} bytes", b.len());
        }
    }
}

#[test]
fn compressible_lz4_and_snappy_batches_fill_the_limit_at_any_size() {
    let values: Vec<Vec<u8>> = (0..12_000).map(json_value).collect();
    for codec in [Compression::Lz4, Compression::Snappy] {
        // Below the codec's block size the whole batch is staged records: without compressing them early (a short
        // block) to count them at their real size, a batch would close at `limit` of records, a third full.
        for limit in [16 << 10, 64 << 10] {
            let batches = fill_batches(codec, limit, &values);
            assert!(batches.len() >= 3, "{codec} {limit}");
            for (b, uncompressed) in &batches[..batches.len() - 1] {
                assert!(b.len() <= limit, "{codec} {limit}: {} bytes", b.len());
                assert!(b.len() > limit * 95 / 100, "{codec} {limit}: a full batch of only {} bytes", b.len());
                assert!(*uncompressed > 2 * limit, "{codec} {limit}: {uncompressed} bytes of records: not compressed?");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever the records, the codec and the limit, a batch filled by `room_for` is built within the bound taken
    /// before building it, and within the limit unless a single record is larger; early short blocks read back.
    #[test]
    fn prop_batches_stay_within_their_size_bound(
        values in proptest::collection::vec((0usize..3000, any::<bool>(), any::<u64>()), 1..150),
        limit in 0usize..120_000,
    ) {
        let values: Vec<Vec<u8>> = values
            .into_iter()
            .map(|(len, random, seed)| {
                let mut s = seed | 1;
                if random { noise_bytes(len, &mut s) } else { vec![seed as u8; len] }
            })
            .collect();
        for codec in Compression::ALL.into_iter().filter(|c| c.can_compress()) {
            for (b, _) in fill_batches(codec, limit, &values) {
                prop_assert!(b.len() <= limit || b.record_count() == 1, "{}: {} over {}", codec, b.len(), limit);
            }
        }
    }
}
