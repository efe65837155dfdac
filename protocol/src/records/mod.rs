//! Record batches: writing v2 (magic 2) batches, reading v2 batches and legacy message sets (magic 0 and 1), and
//! the control records of transactions.
//!
//! - [`RecordBatchBuilder`] appends records straight into the batch buffer (no intermediate records, no allocation
//!   per record) and closes the batch into an [`EncodedBatch`]: header patched, compression applied and CRC-32C
//!   computed once. The producer state of a closed batch can be rewritten cheaply ([`EncodedBatch::set_producer_state`])
//!   because producers assign sequences when they drain batches, and again on retries.
//! - [`RecordBatchReader`] walks a buffer of concatenated batches (a Fetch response's `records`), yielding each
//!   [`RecordBatch`] with its [`BatchHeader`]; records are decoded lazily by [`RecordBatch::records`]. Keys, values and
//!   header values are `Bytes` slices of the input (or of the decompressed buffer): zero-copy. Faster still,
//!   [`RecordBatch::records_ref`] lends [`RecordRef`]s borrowing those bytes (no reference count per field),
//!   decoded by the same parser with the same checks. A
//!   batch cut off at the end of the buffer ends the walk without error ([`RecordBatchReader::truncated_tail`]);
//!   anything malformed before that is a [`DecodeError`](crate::DecodeError).
//! - [`ControlRecord`] and [`EndTxnMarker`] decode and encode the records of control batches.
//!
//! [`decode_all`] decodes a whole buffer and every record in it: the entry point for fuzzing.

mod builder;
mod control;
mod legacy;
mod reader;

pub use builder::{EncodedBatch, RecordBatchBuilder, encode_empty_batch, encoded_record_size, rewrite_producer_state};
pub use control::{ControlRecord, ControlRecordType, EndTxnMarker};
pub use reader::{
    BatchHeader, DecodeSummary, HeaderIter, HeaderRef, HeaderRefIter, HeadersRef, ReadOptions, Record, RecordBatch,
    RecordBatchReader, RecordHeaders, RecordRef, RecordRefIter, Records, RecordsView, decode_all,
};

use bytes::Bytes;

/// The magic byte of legacy message sets v0.
pub const MAGIC_V0: i8 = 0;
/// The magic byte of legacy message sets v1 (timestamps).
pub const MAGIC_V1: i8 = 1;
/// The magic byte of record batches v2.
pub const MAGIC_V2: i8 = 2;

/// Bytes before a batch's `batchLength` counts: `baseOffset` (8) and `batchLength` (4). Legacy message sets share it.
pub const LOG_OVERHEAD: usize = 12;
/// Size of a v2 batch header, from `baseOffset` through the record count.
pub const RECORD_BATCH_OVERHEAD: usize = 61;

/// No producer id (`RecordBatch.NO_PRODUCER_ID`).
pub const NO_PRODUCER_ID: i64 = -1;
/// No producer epoch.
pub const NO_PRODUCER_EPOCH: i16 = -1;
/// No sequence number.
pub const NO_SEQUENCE: i32 = -1;
/// No partition leader epoch (what producers write).
pub const NO_PARTITION_LEADER_EPOCH: i32 = -1;
/// No timestamp.
pub const NO_TIMESTAMP: i64 = -1;

pub(crate) const ATTR_TIMESTAMP_TYPE: i16 = 0x08;
pub(crate) const ATTR_TRANSACTIONAL: i16 = 0x10;
pub(crate) const ATTR_CONTROL: i16 = 0x20;
pub(crate) const ATTR_DELETE_HORIZON: i16 = 0x40;

// Offsets of v2 header fields within a batch.
pub(crate) const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
pub(crate) const MAGIC_OFFSET: usize = 16;
pub(crate) const CRC_OFFSET: usize = 17;
pub(crate) const ATTRIBUTES_OFFSET: usize = 21;
pub(crate) const PRODUCER_ID_OFFSET: usize = 43;
pub(crate) const RECORD_COUNT_OFFSET: usize = 57;

/// What the timestamps of a batch mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// Message sets of magic 0 carry no timestamps.
    NoTimestamp,
    /// The producer's timestamps (`CreateTime`).
    #[default]
    CreateTime,
    /// The broker's append time (`LogAppendTime`): every record's timestamp is the batch's max timestamp.
    LogAppendTime,
}

impl TimestampType {
    /// Kafka's name: `NoTimestampType`, `CreateTime`, `LogAppendTime`.
    pub const fn name(self) -> &'static str {
        match self {
            TimestampType::NoTimestamp => "NoTimestampType",
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}

/// A record header: a key (UTF-8 text on the wire, kept as bytes) and a nullable value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Header {
    /// The key's bytes. Kafka specifies UTF-8; decoding does not enforce it (nor does the Java client).
    pub key: Bytes,
    /// The value; `None` is null.
    pub value: Option<Bytes>,
}

impl Header {
    /// A header with `key` and `value`.
    pub fn new(key: impl Into<Bytes>, value: Option<Bytes>) -> Header {
        Header { key: key.into(), value }
    }

    /// The key as text, or `None` when it is not valid UTF-8.
    pub fn key_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.key).ok()
    }
}

/// The CRC-32C (Castagnoli) of `data`, the checksum of a v2 record batch. Through `crc-fast`, which folds with
/// carry-less multiplication (PCLMULQDQ/VPCLMULQDQ on x86-64, PMULL on aarch64) and has a table fallback: about twice
/// the `crc32c` crate's speed on a 1 MiB batch here (58 against 28 GB/s), and the CRC is a tenth of producing 1 KiB
/// records. The `crc32c` crate stays as the tests' independent reference.
pub(crate) fn crc32c(data: &[u8]) -> u32 {
    // The 32-bit algorithm's checksum always fits in its low 32 bits.
    crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, data) as u32
}

// Their fixtures are written with every codec, zstd included: they need the zstd encoder (the `zstd` feature).
// Without it, tests/zstd_without_c.rs and tests/golden_records.rs cover reading.
#[cfg(all(test, feature = "zstd"))]
mod tests;
