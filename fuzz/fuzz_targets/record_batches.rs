//! Record batches (v2) and legacy message sets (magic 0/1): `records::decode_all` must never panic, and whatever
//! decodes must be consistent with the bytes it came from.
//!
//! Each input is decoded with and without checksum verification, and once more after recomputing the CRC-32C of
//! every complete v2 batch (through `rewrite_producer_state`, which rewrites the producer fields as they are and
//! recomputes the checksum), so that the verified path is explored past the checksum too.
//!
//! Checked besides "no panic":
//! - `decode_all` agrees with a batch-by-batch walk of `RecordBatchReader` (same summary, same first error);
//! - a batch takes `size_in_bytes()` bytes of the buffer, complete batches add up to `consumed()`, and a truncated
//!   tail is exactly the bytes after them;
//! - v2 header fields are the bytes at their offsets, and `attributes()` writes back the attribute bits read;
//! - a v2 batch that decodes completely yields exactly `record_count` records;
//! - legacy batches carry the "none" values of v2's fields; a single message is a batch of one record at its offset;
//!   a compressed magic-1 set ends at the wrapper's offset;
//! - every record of a `LogAppendTime` batch reports the batch's max timestamp, every magic-0 record -1;
//! - headers iterate exactly `len()` times; control records parse and transaction markers re-encode;
//! - decoding is deterministic (records twice give the same values) and verification never changes content;
//! - the borrowed view (`records_ref`) yields the same records and the same error as the owned `records`;
//! - `decode_all` allocates at most the decompression cap plus a fixed multiple of the input (`alloc_check.rs`).
//!
//! Not checked: that v2 record offsets lie within `[base_offset, last_offset]`. The decoder reports offsets as the
//! wire has them (base offset plus the record's delta) and, like the Java client, does not reject a record whose
//! delta falls outside the batch's range; consumers filter records by offset.

#![no_main]

use bytes::Bytes;
use kafkar_protocol::DecodeError;
use kafkar_protocol::compression::Compression;
use kafkar_protocol::records::{
    self, ControlRecord, DecodeSummary, EndTxnMarker, MAGIC_V0, MAGIC_V1, MAGIC_V2, NO_PARTITION_LEADER_EPOCH,
    NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, NO_TIMESTAMP, ReadOptions, Record, RecordBatch, RecordBatchReader,
    TimestampType,
};
use libfuzzer_sys::fuzz_target;

#[path = "alloc_check.rs"]
mod alloc_check;

#[global_allocator]
static ALLOCATOR: alloc_check::CountingAllocator = alloc_check::CountingAllocator;

/// Decompression cap per batch: small, so that bombs are cheap to reject.
const CAP: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let buf = Bytes::copy_from_slice(data);
    check_both_ways(buf);
    if let Some(fixed) = with_v2_crcs_recomputed(data) {
        check_both_ways(Bytes::from(fixed));
    }
});

/// Decodes `buf` with and without CRC verification: verification may turn success into an error, never change
/// what decodes.
fn check_both_ways(buf: Bytes) {
    let verified = check(buf.clone(), true);
    let unverified = check(buf, false);
    if let Ok(v) = &verified {
        assert_eq!(Ok(v), unverified.as_ref(), "verifying CRCs changed a successful decode");
    }
}

fn options(verify_crc: bool) -> ReadOptions {
    ReadOptions { verify_crc, max_decompressed_size: CAP }
}

/// `decode_all`, cross-checked against a walk of the batches that checks every invariant on the way, and within
/// the allocation bound: the decompression cap (one batch is decompressed at a time) plus a fixed multiple of the
/// input (see `alloc_check.rs`).
fn check(buf: Bytes, verify_crc: bool) -> Result<DecodeSummary, DecodeError> {
    let len = buf.len();
    let (summary, usage) = alloc_check::measure(|| records::decode_all(buf.clone(), &options(verify_crc)));
    alloc_check::assert_bounded(usage, len, CAP + 1, &format_args!("decode_all (verify_crc {verify_crc})"));
    let walked = walk(buf, verify_crc);
    assert_eq!(summary, walked, "decode_all and the batch walk disagree");
    summary
}

fn walk(buf: Bytes, verify_crc: bool) -> Result<DecodeSummary, DecodeError> {
    let len = buf.len();
    let mut summary = DecodeSummary::default();
    let mut reader = RecordBatchReader::new(buf.clone(), options(verify_crc));
    let mut offset = 0;
    while let Some(batch) = reader.next() {
        let batch = batch?;
        let size = batch.header().size_in_bytes();
        assert_eq!(batch.raw().len(), size, "batch size_in_bytes");
        assert_eq!(batch.raw()[..], buf[offset..offset + size], "batch raw bytes are not its slice of the buffer");
        offset += size;
        assert_eq!(reader.consumed(), offset, "consumed() after a batch");
        summary.batches += 1;
        let (records, headers) = check_batch(&batch)?;
        summary.records += records;
        summary.headers += headers;
    }
    assert!(reader.next().is_none(), "reader yields after its end");
    summary.consumed = reader.consumed();
    summary.truncated_tail = reader.truncated_tail();
    assert_eq!(summary.consumed, offset);
    if summary.truncated_tail {
        assert!(!reader.rest().is_empty(), "truncated tail with no bytes left");
        assert_eq!(summary.consumed + reader.rest().len(), len, "truncated tail is not the rest of the buffer");
    } else {
        assert_eq!(summary.consumed, len, "finished without reading the whole buffer");
    }
    Ok(summary)
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(b[at..at + 2].try_into().unwrap())
}

/// Checks one batch and its records; returns the counts of records and headers, or the first error as
/// `decode_all` reports it.
fn check_batch(batch: &RecordBatch) -> Result<(usize, usize), DecodeError> {
    let h = batch.header();
    let raw = batch.raw();
    // Accessors of any decoded header must not panic, whatever the field values.
    let _ = (h.last_offset(), h.next_offset(), h.last_sequence(), h.delete_horizon_ms(), h.attributes());

    match h.magic {
        MAGIC_V2 => {
            assert_eq!(h.base_offset, be_i64(raw, 0));
            assert_eq!(h.batch_length, be_i32(raw, 8));
            assert_eq!(h.partition_leader_epoch, be_i32(raw, 12));
            assert_eq!(h.crc, be_i32(raw, 17) as u32);
            assert_eq!(h.attributes(), be_i16(raw, 21) & 0x7f, "attributes() must write back the bits read");
            assert_eq!(h.last_offset_delta, be_i32(raw, 23));
            assert_eq!(h.base_timestamp, be_i64(raw, 27));
            assert_eq!(h.max_timestamp, be_i64(raw, 35));
            assert_eq!(h.producer_id, be_i64(raw, 43));
            assert_eq!(h.producer_epoch, be_i16(raw, 51));
            assert_eq!(h.base_sequence, be_i32(raw, 53));
            assert_eq!(h.record_count, Some(be_i32(raw, 57)));
            assert!(h.record_count >= Some(0));
            assert_ne!(h.timestamp_type, TimestampType::NoTimestamp);
        }
        MAGIC_V0 | MAGIC_V1 => {
            assert_eq!(h.base_offset.wrapping_add(h.last_offset_delta.into()), h.last_offset());
            assert_eq!(h.record_count, None);
            assert_eq!(h.producer_id, NO_PRODUCER_ID);
            assert_eq!(h.producer_epoch, NO_PRODUCER_EPOCH);
            assert_eq!(h.base_sequence, NO_SEQUENCE);
            assert_eq!(h.partition_leader_epoch, NO_PARTITION_LEADER_EPOCH);
            assert!(!h.is_transactional && !h.is_control && !h.has_delete_horizon);
            assert_eq!(h.magic == MAGIC_V0, h.timestamp_type == TimestampType::NoTimestamp);
            assert_eq!(h.base_timestamp, h.max_timestamp);
        }
        m => panic!("decoded a batch of magic {m}"),
    }

    check_view(batch);
    let first = collect(batch)?;
    // Decoding is deterministic: a second pass (decompressing again) sees the same records.
    let second = collect(batch).expect("records decoded once but not twice");
    assert_eq!(first, second, "records differ between two passes");
    // Raw timestamps change timestamps only, and only in LogAppendTime batches.
    let raw_ts: Vec<Record> = batch.records().unwrap().raw_timestamps().map(Result::unwrap).collect();
    assert_eq!(raw_ts.len(), first.len());
    for (a, b) in first.iter().zip(&raw_ts) {
        assert_eq!((a.offset, &a.key, &a.value, &a.headers), (b.offset, &b.key, &b.value, &b.headers));
        if h.timestamp_type != TimestampType::LogAppendTime {
            assert_eq!(a.timestamp, b.timestamp);
        }
    }

    if let Some(count) = h.record_count {
        assert_eq!(first.len(), count as usize, "a complete v2 batch yields record_count records");
    } else if h.compression == Compression::None {
        assert_eq!(first.len(), 1, "an uncompressed legacy message is a batch of one record");
        assert_eq!(first[0].offset, h.base_offset);
        assert_eq!(h.last_offset_delta, 0);
    } else {
        assert!(!first.is_empty(), "a compressed legacy set holds at least one message");
        assert_eq!(first[0].offset, h.base_offset, "a compressed legacy set starts at its first inner offset");
        if h.magic == MAGIC_V1 {
            assert_eq!(first.last().unwrap().offset, h.last_offset(), "magic 1 sets end at the wrapper's offset");
        }
    }

    let mut headers = 0;
    for record in &first {
        match h.timestamp_type {
            TimestampType::LogAppendTime => assert_eq!(record.timestamp, h.max_timestamp),
            TimestampType::NoTimestamp => assert_eq!(record.timestamp, NO_TIMESTAMP),
            TimestampType::CreateTime => {}
        }
        let list = record.headers.to_vec();
        assert_eq!(list.len(), record.headers.len(), "headers iterate len() times");
        assert_eq!(record.headers.iter().count(), record.headers.len());
        assert_eq!(record.headers.is_empty(), list.is_empty());
        if let Some(h0) = list.first() {
            let last = record.headers.last(&h0.key).expect("last() finds a key that is there");
            assert_eq!(last.key, h0.key);
            let _ = h0.key_str();
        }
        if h.magic != MAGIC_V2 {
            assert!(list.is_empty(), "legacy records have no headers");
        }
        headers += list.len();
        if h.is_control {
            let key = ControlRecord::from_record(record).expect("control keys were checked by collect()");
            assert!(key.version >= 0);
            let _ = key.kind.name();
            if key.kind.is_transaction_marker()
                && let Ok(marker) = EndTxnMarker::from_record(record)
            {
                assert_eq!(marker.kind(), key.kind);
                assert_eq!(EndTxnMarker::parse(marker.kind(), &marker.encode_value()), Ok(marker));
                assert_eq!(ControlRecord::parse_key(&marker.encode_key()).map(|k| k.kind), Ok(key.kind));
            }
        }
    }
    Ok((first.len(), headers))
}

/// The records of `batch`, or the first error in `decode_all`'s order (a record, then its control key); checks that
/// the iterator ends after an error.
fn collect(batch: &RecordBatch) -> Result<Vec<Record>, DecodeError> {
    let mut it = batch.records()?;
    let mut out = Vec::new();
    while let Some(r) = it.next() {
        match r {
            Ok(r) => {
                if batch.header().is_control {
                    ControlRecord::from_record(&r)?;
                }
                out.push(r);
            }
            Err(e) => {
                assert!(it.next().is_none(), "records iterator yields after an error");
                return Err(e);
            }
        }
    }
    assert!(it.next().is_none(), "records iterator yields after its end");
    Ok(out)
}

/// The borrowed view agrees with the owned records: the same records (as `RecordRef`s) and the same first error,
/// with and without raw timestamps.
fn check_view(batch: &RecordBatch) {
    let (records, view) = match (batch.records(), batch.records_ref()) {
        (Ok(r), Ok(v)) => (r, v),
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "records() and records_ref() fail differently");
            return;
        }
        (a, b) => panic!("records() and records_ref() disagree: {:?} / {:?}", a.err(), b.err()),
    };
    let raw: Vec<Result<Record, DecodeError>> = batch.records().unwrap().raw_timestamps().collect();
    let owned: Vec<Result<Record, DecodeError>> = records.collect();
    for (view, owned) in [(view.clone(), &owned), (view.raw_timestamps(), &raw)] {
        let viewed: Vec<_> = view.iter().collect();
        assert_eq!(viewed.len(), owned.len(), "the view yields a different number of results");
        for (v, o) in viewed.iter().zip(owned) {
            match (v, o) {
                (Ok(v), Ok(o)) => assert_eq!(*v, o.as_record_ref(), "the view and the owned record differ"),
                (Err(v), Err(o)) => assert_eq!(v, o, "the view and the owned records fail differently"),
                (v, o) => panic!("the view and the owned records disagree: {v:?} / {o:?}"),
            }
        }
    }
}

/// A copy of `data` with the CRC-32C of every complete v2 batch recomputed (walking batches as the reader does and
/// stopping where it would stop), or `None` when there is no v2 batch to fix.
fn with_v2_crcs_recomputed(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = data.to_vec();
    let mut pos = 0;
    let mut fixed = false;
    while let Some(head) = out.get(pos..pos + 17) {
        let length = be_i32(head, 8);
        if length < 14 {
            break;
        }
        let magic = head[16] as i8;
        let Some(end) = (pos + 12).checked_add(length as usize).filter(|&e| e <= out.len()) else { break };
        let batch = &mut out[pos..end];
        if magic == MAGIC_V2 && batch.len() >= records::RECORD_BATCH_OVERHEAD {
            let (pid, epoch, seq) = (be_i64(batch, 43), be_i16(batch, 51), be_i32(batch, 53));
            records::rewrite_producer_state(batch, pid, epoch, seq).expect("rewrite of a complete v2 batch");
            fixed = true;
        } else if !(0..=MAGIC_V2).contains(&magic) {
            break;
        }
        pos = end;
    }
    (fixed && out != data).then_some(out)
}
