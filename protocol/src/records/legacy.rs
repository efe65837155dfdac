//! Legacy message sets, magic 0 and 1 (read only).
//!
//! An entry is `offset int64, size int32` and a message: `crc int32` (CRC-32 of the rest), `magic int8`,
//! `attributes int8` (bits 0–2 codec, bit 3 timestamp type from magic 1), `timestamp int64` (magic 1 only), key and
//! value (`int32` length, -1 null). An uncompressed message is a batch of one record. A compressed message (a
//! "wrapper") holds a compressed message set in its value: for magic 1 the inner offsets are relative and the
//! wrapper's offset is the absolute offset of the last inner message; for magic 0 inner offsets are absolute.

use bytes::Bytes;

use super::reader::{BatchHeader, Body, ReadOptions, Record, RecordBatch, RecordHeaders};
use super::{
    MAGIC_V0, MAGIC_V1, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, NO_TIMESTAMP,
    TimestampType,
};
use crate::DecodeError;
use crate::compression::{self, Compression, Lz4HeaderChecksum};
use crate::primitives::Reader;

const ATTR_TIMESTAMP_TYPE: i8 = 0x08;

/// One legacy message with its entry offset.
struct Message {
    offset: i64,
    size: i32,
    crc: u32,
    magic: i8,
    attributes: i8,
    timestamp: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
}

/// Reads an entry (offset, size, message) from `r`, checking the CRC when `verify_crc`.
fn read_entry(r: &mut Reader, verify_crc: bool) -> Result<Message, DecodeError> {
    let offset = r.i64("message offset")?;
    let size = r.i32("message size")?;
    if size < 0 {
        return Err(DecodeError::InvalidLength { what: "message size", len: size.into() });
    }
    let body = r.bytes_exact(size as usize, "message")?;
    let mut m = Reader::new(body.clone());
    let crc = m.u32("message crc")?;
    if verify_crc {
        let computed = crc32fast::hash(&body[4..]);
        if computed != crc {
            return Err(DecodeError::CrcMismatch { what: "legacy message", stored: crc, computed });
        }
    }
    let magic = m.i8("message magic")?;
    if magic != MAGIC_V0 && magic != MAGIC_V1 {
        return Err(DecodeError::Invalid { what: "message magic", reason: "not 0 or 1 in a legacy message" });
    }
    let attributes = m.i8("message attributes")?;
    let timestamp = if magic == MAGIC_V1 { m.i64("message timestamp")? } else { NO_TIMESTAMP };
    let key = m.nullable_bytes(false, "message key")?;
    let value = m.nullable_bytes(false, "message value")?;
    m.finish("legacy message")?;
    Ok(Message { offset, size, crc, magic, attributes, timestamp, key, value })
}

fn codec(attributes: i8) -> Result<Compression, DecodeError> {
    match Compression::from_code((attributes & 0x07) as u8)? {
        Compression::Zstd => {
            Err(DecodeError::Invalid { what: "message attributes", reason: "zstd needs record batches (magic 2)" })
        }
        c => Ok(c),
    }
}

/// Parses `raw`, exactly one legacy entry, into a batch.
pub(super) fn parse(raw: Bytes, options: &ReadOptions) -> Result<RecordBatch, DecodeError> {
    let mut r = Reader::new(raw.clone());
    let msg = read_entry(&mut r, options.verify_crc)?;
    r.finish("legacy message entry")?;
    let codec = codec(msg.attributes)?;
    let timestamp_type = match msg.magic {
        MAGIC_V0 => TimestampType::NoTimestamp,
        _ if msg.attributes & ATTR_TIMESTAMP_TYPE != 0 => TimestampType::LogAppendTime,
        _ => TimestampType::CreateTime,
    };
    let mut header = BatchHeader {
        base_offset: msg.offset,
        batch_length: msg.size,
        partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
        magic: msg.magic,
        crc: msg.crc,
        compression: codec,
        timestamp_type,
        is_transactional: false,
        is_control: false,
        has_delete_horizon: false,
        last_offset_delta: 0,
        base_timestamp: msg.timestamp,
        max_timestamp: msg.timestamp,
        producer_id: NO_PRODUCER_ID,
        producer_epoch: NO_PRODUCER_EPOCH,
        base_sequence: NO_SEQUENCE,
        record_count: None,
    };
    let body = if codec == Compression::None {
        Body::LegacySingle(Record {
            offset: msg.offset,
            timestamp: msg.timestamp,
            key: msg.key,
            value: msg.value,
            headers: RecordHeaders::default(),
        })
    } else {
        let value = msg.value.ok_or(DecodeError::UnexpectedNull { what: "compressed message set" })?;
        let cap = options.max_decompressed_size;
        let inner = match codec {
            Compression::Lz4 if msg.magic == MAGIC_V0 => {
                compression::decompress_lz4(&value, cap, Lz4HeaderChecksum::AllowLegacy)?
            }
            _ => compression::decompress(codec, &value, cap)?,
        };
        let data = Bytes::from(inner);
        // Validate every inner message now (so that errors belong to the batch) and find the offsets.
        let mut r = Reader::new(data.clone());
        let mut first = None;
        let mut last = 0;
        while !r.is_empty() {
            let m = read_entry(&mut r, options.verify_crc)?;
            if m.magic != msg.magic {
                return Err(DecodeError::Invalid { what: "inner message magic", reason: "differs from the wrapper's" });
            }
            if m.attributes & 0x07 != 0 {
                return Err(DecodeError::Invalid {
                    what: "inner message",
                    reason: "compressed inside a compressed set",
                });
            }
            first.get_or_insert(m.offset);
            last = m.offset;
        }
        let first = first.ok_or(DecodeError::Invalid { what: "compressed message set", reason: "no messages" })?;
        let adjust = if msg.magic == MAGIC_V0 { 0 } else { msg.offset.wrapping_sub(last) };
        header.base_offset = first.wrapping_add(adjust);
        header.last_offset_delta = i32::try_from(msg.offset.wrapping_sub(header.base_offset))
            .map_err(|_| DecodeError::Invalid { what: "compressed message set", reason: "offsets span too far" })?;
        let log_append_time = (timestamp_type == TimestampType::LogAppendTime).then_some(msg.timestamp);
        Body::LegacyInner(InnerSet { data, adjust, log_append_time })
    };
    Ok(RecordBatch::from_parts(header, raw, body, options.max_decompressed_size))
}

/// The decompressed, validated inner message set of a compressed legacy message.
#[derive(Clone, Debug)]
pub(super) struct InnerSet {
    data: Bytes,
    /// Added to inner offsets to make them absolute (0 for magic 0).
    adjust: i64,
    /// The wrapper's timestamp when its timestamp type is `LogAppendTime`: it replaces the inner timestamps.
    log_append_time: Option<i64>,
}

impl InnerSet {
    /// The wrapper's timestamp when it replaces the inner ones (`LogAppendTime`).
    pub(super) fn log_append_time(&self) -> Option<i64> {
        self.log_append_time
    }

    pub(super) fn iter(&self) -> InnerIter {
        InnerIter { r: Reader::new(self.data.clone()), adjust: self.adjust, log_append_time: self.log_append_time }
    }
}

/// Iterator over the records of an [`InnerSet`].
#[derive(Debug)]
pub(super) struct InnerIter {
    r: Reader,
    adjust: i64,
    log_append_time: Option<i64>,
}

impl InnerIter {
    pub(super) fn raw_timestamps(&mut self) {
        self.log_append_time = None;
    }
}

impl Iterator for InnerIter {
    type Item = Result<Record, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.r.is_empty() {
            return None;
        }
        // Checksums were verified when the batch was read.
        Some(read_entry(&mut self.r, false).map(|m| Record {
            offset: m.offset.wrapping_add(self.adjust),
            timestamp: self.log_append_time.unwrap_or(m.timestamp),
            key: m.key,
            value: m.value,
            headers: RecordHeaders::default(),
        }))
    }
}
