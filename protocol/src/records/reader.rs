//! Reading record batches: [`RecordBatchReader`] over a buffer of concatenated batches, [`RecordBatch`] with its
//! [`BatchHeader`], and lazily decoded [`Records`] (owned) or [`RecordRef`]s (borrowed, through [`RecordsView`]).

use std::ops::Range;

use bytes::Bytes;

use super::legacy;
use super::{
    ATTR_CONTROL, ATTR_DELETE_HORIZON, ATTR_TIMESTAMP_TYPE, ATTR_TRANSACTIONAL, ATTRIBUTES_OFFSET, ControlRecord,
    Header, LOG_OVERHEAD, MAGIC_OFFSET, MAGIC_V2, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID,
    NO_SEQUENCE, NO_TIMESTAMP, RECORD_BATCH_OVERHEAD, TimestampType,
};
use crate::DecodeError;
use crate::compression::{self, Compression};
use crate::primitives::Reader;

/// The smallest legacy message entry (magic 0, null key and value): what any batch length must reach.
const MIN_ENTRY_LENGTH: i32 = 14;

/// How batches are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOptions {
    /// Verify checksums: CRC-32C of v2 batches, CRC-32 of legacy messages (Kafka's `check.crcs`, default true).
    pub verify_crc: bool,
    /// The most bytes one compressed batch may decompress to; more is [`DecodeError::DecompressionLimit`].
    pub max_decompressed_size: usize,
}

impl ReadOptions {
    /// The default cap on a batch's decompressed size: 64 MiB.
    pub const DEFAULT_MAX_DECOMPRESSED_SIZE: usize = 64 << 20;
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { verify_crc: true, max_decompressed_size: ReadOptions::DEFAULT_MAX_DECOMPRESSED_SIZE }
    }
}

/// The header of a batch. For legacy message sets (magic 0 and 1) the fields v2 introduced hold their "none" values
/// (producer id/epoch, sequence and partition leader epoch -1, flags false, `record_count` `None`), `base_offset`
/// is the first (inner) record's offset and `last_offset_delta` reaches the wrapper's offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record (the batch's base for offset deltas).
    pub base_offset: i64,
    /// The batch length field: bytes after it (the whole batch is `batch_length + 12` bytes).
    pub batch_length: i32,
    /// Partition leader epoch; -1 from producers.
    pub partition_leader_epoch: i32,
    /// The magic byte: 0, 1 or 2.
    pub magic: i8,
    /// The checksum as stored: CRC-32C (v2) or CRC-32 of the (wrapper) message (legacy).
    pub crc: u32,
    /// The compression codec (attribute bits 0–2).
    pub compression: Compression,
    /// The timestamp type (attribute bit 3; [`TimestampType::NoTimestamp`] for magic 0).
    pub timestamp_type: TimestampType,
    /// Part of a transaction (attribute bit 4).
    pub is_transactional: bool,
    /// A control batch (attribute bit 5): its records are [`ControlRecord`]s.
    pub is_control: bool,
    /// `base_timestamp` is a delete horizon set by log compaction (attribute bit 6).
    pub has_delete_horizon: bool,
    /// Offset of the last record minus `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp the record timestamp deltas are relative to (or the delete horizon, see `has_delete_horizon`).
    pub base_timestamp: i64,
    /// The largest record timestamp, or the log append time for [`TimestampType::LogAppendTime`].
    pub max_timestamp: i64,
    /// Producer id; -1 when none.
    pub producer_id: i64,
    /// Producer epoch; -1 when none.
    pub producer_epoch: i16,
    /// Sequence number of the first record; -1 when none.
    pub base_sequence: i32,
    /// Number of records in the batch (v2); legacy message sets do not store one.
    pub record_count: Option<i32>,
}

impl Default for BatchHeader {
    /// A v2 header with no records, no producer and no timestamps.
    fn default() -> Self {
        BatchHeader {
            base_offset: 0,
            batch_length: (RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) as i32,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            magic: MAGIC_V2,
            crc: 0,
            compression: Compression::None,
            timestamp_type: TimestampType::CreateTime,
            is_transactional: false,
            is_control: false,
            has_delete_horizon: false,
            last_offset_delta: 0,
            base_timestamp: NO_TIMESTAMP,
            max_timestamp: NO_TIMESTAMP,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            base_sequence: NO_SEQUENCE,
            record_count: Some(0),
        }
    }
}

impl BatchHeader {
    /// Offset of the last record (for a compacted batch, possibly of a record no longer in it).
    pub fn last_offset(&self) -> i64 {
        self.base_offset.wrapping_add(i64::from(self.last_offset_delta))
    }

    /// The offset after the batch: where the next fetch starts.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }

    /// Bytes the batch takes in the buffer.
    pub fn size_in_bytes(&self) -> usize {
        usize::try_from(self.batch_length).unwrap_or(0) + LOG_OVERHEAD
    }

    /// Sequence number of the last record, wrapping past `i32::MAX` to 0 as Kafka does; -1 when none.
    ///
    /// Computed as Java's `DefaultRecordBatch.incrementSequence`, with its int arithmetic (wrapping), so that a
    /// decoded header with any field values (a negative `last_offset_delta`, say) gives Java's answer, not a panic.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence == NO_SEQUENCE {
            return NO_SEQUENCE;
        }
        let increment = self.last_offset_delta;
        if self.base_sequence > i32::MAX.wrapping_sub(increment) {
            increment.wrapping_sub(i32::MAX.wrapping_sub(self.base_sequence)).wrapping_sub(1)
        } else {
            self.base_sequence.wrapping_add(increment)
        }
    }

    /// The delete horizon (compaction), when the batch has one.
    pub fn delete_horizon_ms(&self) -> Option<i64> {
        self.has_delete_horizon.then_some(self.base_timestamp)
    }

    /// The attributes as written for a v2 batch.
    pub fn attributes(&self) -> i16 {
        let mut a = i16::from(self.compression.code());
        if self.timestamp_type == TimestampType::LogAppendTime {
            a |= ATTR_TIMESTAMP_TYPE;
        }
        if self.is_transactional {
            a |= ATTR_TRANSACTIONAL;
        }
        if self.is_control {
            a |= ATTR_CONTROL;
        }
        if self.has_delete_horizon {
            a |= ATTR_DELETE_HORIZON;
        }
        a
    }
}

/// One record. Keys, values and header values are slices of the fetched (or decompressed) buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The record's offset.
    pub offset: i64,
    /// The record's timestamp: for [`TimestampType::LogAppendTime`] batches the batch's max timestamp (the broker's
    /// append time), as the Java client reports it; -1 for magic 0.
    pub timestamp: i64,
    /// The key; `None` is null.
    pub key: Option<Bytes>,
    /// The value; `None` is null (a tombstone).
    pub value: Option<Bytes>,
    /// The headers (always empty for legacy message sets).
    pub headers: RecordHeaders,
}

impl Record {
    /// The record as a borrowed [`RecordRef`] (no reference counting, no copy).
    pub fn as_record_ref(&self) -> RecordRef<'_> {
        RecordRef {
            offset: self.offset,
            timestamp: self.timestamp,
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers: self.headers.as_headers_ref(),
        }
    }
}

/// The headers of a record, decoded on iteration (validated when the record was read, so iteration cannot fail).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordHeaders {
    count: u32,
    data: Bytes,
}

impl RecordHeaders {
    /// Number of headers.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The headers in wire order.
    pub fn iter(&self) -> HeaderIter {
        HeaderIter { data: self.data.clone(), pos: 0, left: self.count }
    }

    /// The last header with `key` (Java's `Headers.lastHeader`).
    pub fn last(&self, key: &[u8]) -> Option<Header> {
        self.iter().filter(|h| h.key == key).last()
    }

    /// The headers collected into a vector.
    pub fn to_vec(&self) -> Vec<Header> {
        self.iter().collect()
    }

    /// The same headers in a buffer of their own (one copy of their bytes), so that keeping them does not keep the
    /// fetched buffer they were read from alive.
    pub fn detached(&self) -> RecordHeaders {
        RecordHeaders { count: self.count, data: Bytes::copy_from_slice(&self.data) }
    }

    /// The headers as a borrowed [`HeadersRef`].
    pub fn as_headers_ref(&self) -> HeadersRef<'_> {
        HeadersRef { count: self.count, data: &self.data }
    }
}

impl IntoIterator for &RecordHeaders {
    type Item = Header;
    type IntoIter = HeaderIter;

    fn into_iter(self) -> HeaderIter {
        self.iter()
    }
}

/// Iterator over a record's [`Header`]s.
#[derive(Clone, Debug)]
pub struct HeaderIter {
    data: Bytes,
    pos: usize,
    left: u32,
}

impl Iterator for HeaderIter {
    type Item = Header;

    fn next(&mut self) -> Option<Header> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut c = SectionCursor { data: &self.data, pos: self.pos };
        let header = c.header();
        self.pos = c.pos;
        match header {
            Ok((key, value)) => Some(Header { key: self.data.slice(key), value: value.map(|v| self.data.slice(v)) }),
            Err(_) => {
                // Unreachable for headers validated by the record decoder; stop rather than panic.
                self.left = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

/// A record borrowed from its batch's buffer: what [`RecordsView::iter`] yields. The same fields as [`Record`],
/// validated as strictly, without a reference-counted [`Bytes`] handle per field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// The record's offset.
    pub offset: i64,
    /// The record's timestamp, as [`Record::timestamp`].
    pub timestamp: i64,
    /// The key; `None` is null.
    pub key: Option<&'a [u8]>,
    /// The value; `None` is null (a tombstone).
    pub value: Option<&'a [u8]>,
    /// The headers (always empty for legacy message sets).
    pub headers: HeadersRef<'a>,
}

impl RecordRef<'_> {
    /// An owned [`Record`] with copies of the key, value and header bytes.
    pub fn to_record(&self) -> Record {
        Record {
            offset: self.offset,
            timestamp: self.timestamp,
            key: self.key.map(Bytes::copy_from_slice),
            value: self.value.map(Bytes::copy_from_slice),
            headers: RecordHeaders { count: self.headers.count, data: Bytes::copy_from_slice(self.headers.data) },
        }
    }
}

/// The headers of a [`RecordRef`], decoded on iteration (validated when the record was read).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeadersRef<'a> {
    count: u32,
    data: &'a [u8],
}

impl<'a> HeadersRef<'a> {
    /// Number of headers.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The headers in wire order.
    #[inline]
    pub fn iter(&self) -> HeaderRefIter<'a> {
        HeaderRefIter { c: SectionCursor { data: self.data, pos: 0 }, left: self.count }
    }

    /// The last header with `key` (Java's `Headers.lastHeader`).
    pub fn last(&self, key: &[u8]) -> Option<HeaderRef<'a>> {
        self.iter().filter(|h| h.key == key).last()
    }
}

impl<'a> IntoIterator for HeadersRef<'a> {
    type Item = HeaderRef<'a>;
    type IntoIter = HeaderRefIter<'a>;

    fn into_iter(self) -> HeaderRefIter<'a> {
        self.iter()
    }
}

/// A record header borrowed from its batch's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HeaderRef<'a> {
    /// The key's bytes (UTF-8 by Kafka's specification, not enforced; see [`Header::key`]).
    pub key: &'a [u8],
    /// The value; `None` is null.
    pub value: Option<&'a [u8]>,
}

impl<'a> HeaderRef<'a> {
    /// The key as text, or `None` when it is not valid UTF-8.
    pub fn key_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.key).ok()
    }

    /// An owned [`Header`] with copies of the bytes.
    pub fn to_header(&self) -> Header {
        Header { key: Bytes::copy_from_slice(self.key), value: self.value.map(Bytes::copy_from_slice) }
    }
}

/// Iterator over the [`HeaderRef`]s of a record.
#[derive(Clone, Debug)]
pub struct HeaderRefIter<'a> {
    c: SectionCursor<'a>,
    left: u32,
}

impl<'a> Iterator for HeaderRefIter<'a> {
    type Item = HeaderRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<HeaderRef<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let data = self.c.data;
        match self.c.header() {
            Ok((key, value)) => Some(HeaderRef { key: &data[key], value: value.map(|v| &data[v]) }),
            Err(_) => {
                // Unreachable for headers validated by the record decoder; stop rather than panic.
                self.left = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

/// A batch read from a buffer: its header, and its records on demand.
#[derive(Clone, Debug)]
pub struct RecordBatch {
    header: BatchHeader,
    raw: Bytes,
    body: Body,
    max_decompressed_size: usize,
}

#[derive(Clone, Debug)]
pub(super) enum Body {
    /// The records section of a v2 batch, compressed or not.
    V2(Bytes),
    /// An uncompressed legacy message: a batch of one record.
    LegacySingle(Record),
    /// A compressed legacy message set, already decompressed and validated.
    LegacyInner(legacy::InnerSet),
}

/// What a v2 batch's records are decoded from: the records section, decompressed, and the header fields that
/// records are relative to.
#[derive(Clone, Debug)]
struct V2Section {
    data: Bytes,
    count: u32,
    base_offset: i64,
    base_timestamp: i64,
}

impl RecordBatch {
    pub(super) fn from_parts(header: BatchHeader, raw: Bytes, body: Body, max_decompressed_size: usize) -> RecordBatch {
        RecordBatch { header, raw, body, max_decompressed_size }
    }

    /// The batch header.
    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// The batch's bytes as they were in the buffer.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The records section of a v2 batch, decompressed (at most to `max_decompressed_size`).
    fn v2_section(&self, section: &Bytes) -> Result<V2Section, DecodeError> {
        let data = match self.header.compression {
            Compression::None => section.clone(),
            codec => Bytes::from(compression::decompress(codec, section, self.max_decompressed_size)?),
        };
        Ok(V2Section {
            data,
            count: self.header.record_count.unwrap_or(0).max(0) as u32,
            base_offset: self.header.base_offset,
            base_timestamp: self.header.base_timestamp,
        })
    }

    /// The append time that replaces record timestamps in a `LogAppendTime` v2 batch.
    fn v2_log_append_time(&self) -> Option<i64> {
        (self.header.timestamp_type == TimestampType::LogAppendTime).then_some(self.header.max_timestamp)
    }

    /// The records, decoded lazily. A compressed v2 batch is decompressed here (each call decompresses again), at
    /// most to the reader's `max_decompressed_size`. Count and trailing-byte mismatches show up as an error at the
    /// end of the iteration.
    pub fn records(&self) -> Result<Records, DecodeError> {
        let state = match &self.body {
            Body::V2(section) => {
                State::V2 { section: self.v2_section(section)?, pos: 0, log_append_time: self.v2_log_append_time() }
            }
            Body::LegacySingle(record) => State::Single(Some(record.clone())),
            Body::LegacyInner(set) => State::Legacy(set.iter()),
        };
        Ok(Records { state })
    }

    /// The records as borrowed [`RecordRef`]s: the fastest way to read a batch when the records need not outlive
    /// it. The returned [`RecordsView`] holds the records section (for a compressed batch: decompressed here, at
    /// most to the reader's `max_decompressed_size`, each call again); [`RecordsView::iter`] decodes lazily and
    /// yields the same records, and the same errors, as [`records`](Self::records). Legacy message sets are
    /// decoded here into owned records, which the view then lends.
    pub fn records_ref(&self) -> Result<RecordsView, DecodeError> {
        let inner = match &self.body {
            Body::V2(section) => ViewInner::V2(self.v2_section(section)?),
            Body::LegacySingle(record) => ViewInner::Legacy { records: vec![record.clone()], error: None },
            Body::LegacyInner(set) => {
                let mut records = Vec::new();
                let mut error = None;
                let mut it = set.iter();
                it.raw_timestamps();
                for r in it {
                    match r {
                        Ok(r) => records.push(r),
                        Err(e) => {
                            error = Some(e);
                            break;
                        }
                    }
                }
                ViewInner::Legacy { records, error }
            }
        };
        let log_append_time = match &self.body {
            Body::V2(_) => self.v2_log_append_time(),
            Body::LegacySingle(_) => None,
            Body::LegacyInner(set) => set.log_append_time(),
        };
        Ok(RecordsView { inner, log_append_time })
    }
}

/// Iterator over the records of a batch. After an error it ends.
#[derive(Debug)]
pub struct Records {
    state: State,
}

#[derive(Debug)]
enum State {
    V2 { section: V2Section, pos: usize, log_append_time: Option<i64> },
    Single(Option<Record>),
    Legacy(legacy::InnerIter),
    Done,
}

impl Records {
    /// Reports record timestamps as written (base timestamp plus delta), even in `LogAppendTime` batches where the
    /// Java client reports the batch's max timestamp instead. For tools that copy batches verbatim.
    pub fn raw_timestamps(mut self) -> Records {
        match &mut self.state {
            State::V2 { log_append_time, .. } => *log_append_time = None,
            State::Legacy(it) => it.raw_timestamps(),
            State::Single(_) | State::Done => {}
        }
        self
    }
}

impl Iterator for Records {
    type Item = Result<Record, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let result = match &mut self.state {
            State::V2 { section, pos, log_append_time } => {
                let mut c = SectionCursor { data: &section.data, pos: *pos };
                match c.next_record(&mut section.count)? {
                    Ok(raw) => {
                        *pos = c.pos;
                        let data = &section.data;
                        Ok(Record {
                            offset: raw.offset(section.base_offset),
                            timestamp: raw.timestamp(section.base_timestamp, *log_append_time),
                            key: raw.key.map(|r| data.slice(r)),
                            value: raw.value.map(|r| data.slice(r)),
                            headers: match raw.header_count {
                                0 => RecordHeaders::default(),
                                count => RecordHeaders { count, data: data.slice(raw.headers) },
                            },
                        })
                    }
                    Err(e) => Err(e),
                }
            }
            State::Single(record) => return record.take().map(Ok),
            State::Legacy(it) => match it.next() {
                Some(Ok(r)) => return Some(Ok(r)),
                Some(Err(e)) => Err(e),
                None => return None,
            },
            State::Done => return None,
        };
        if result.is_err() {
            self.state = State::Done;
        }
        Some(result)
    }
}

/// The records of one batch, to be read as borrowed [`RecordRef`]s: see [`RecordBatch::records_ref`].
#[derive(Clone, Debug)]
pub struct RecordsView {
    inner: ViewInner,
    log_append_time: Option<i64>,
}

#[derive(Clone, Debug)]
enum ViewInner {
    V2(V2Section),
    /// Legacy records, decoded up to the first error (which the iteration yields after them).
    Legacy {
        records: Vec<Record>,
        error: Option<DecodeError>,
    },
}

impl RecordsView {
    /// The records in batch order. Each call starts again from the first record. After an error the iteration ends.
    #[inline]
    pub fn iter(&self) -> RecordRefIter<'_> {
        let state = match &self.inner {
            ViewInner::V2(s) => RefState::V2 {
                c: SectionCursor { data: &s.data, pos: 0 },
                left: s.count,
                base_offset: s.base_offset,
                base_timestamp: s.base_timestamp,
            },
            ViewInner::Legacy { records, error } => RefState::Legacy { records: records.iter(), error: error.as_ref() },
        };
        RecordRefIter { state, log_append_time: self.log_append_time }
    }

    /// Reports record timestamps as written, as [`Records::raw_timestamps`] does.
    pub fn raw_timestamps(mut self) -> RecordsView {
        self.log_append_time = None;
        self
    }
}

impl<'a> IntoIterator for &'a RecordsView {
    type Item = Result<RecordRef<'a>, DecodeError>;
    type IntoIter = RecordRefIter<'a>;

    fn into_iter(self) -> RecordRefIter<'a> {
        self.iter()
    }
}

/// Iterator over the [`RecordRef`]s of a [`RecordsView`]. After an error it ends.
#[derive(Clone, Debug)]
pub struct RecordRefIter<'a> {
    state: RefState<'a>,
    log_append_time: Option<i64>,
}

#[derive(Clone, Debug)]
enum RefState<'a> {
    V2 { c: SectionCursor<'a>, left: u32, base_offset: i64, base_timestamp: i64 },
    Legacy { records: std::slice::Iter<'a, Record>, error: Option<&'a DecodeError> },
    Done,
}

impl<'a> Iterator for RecordRefIter<'a> {
    type Item = Result<RecordRef<'a>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let result = match &mut self.state {
            RefState::V2 { c, left, base_offset, base_timestamp } => match c.next_record(left)? {
                Ok(raw) => {
                    let data = c.data;
                    return Some(Ok(RecordRef {
                        offset: raw.offset(*base_offset),
                        timestamp: raw.timestamp(*base_timestamp, self.log_append_time),
                        key: raw.key.map(|r| &data[r]),
                        value: raw.value.map(|r| &data[r]),
                        headers: HeadersRef { count: raw.header_count, data: &data[raw.headers] },
                    }));
                }
                Err(e) => Err(e),
            },
            RefState::Legacy { records, error } => match records.next() {
                Some(r) => {
                    let mut r = r.as_record_ref();
                    if let Some(t) = self.log_append_time {
                        r.timestamp = t;
                    }
                    return Some(Ok(r));
                }
                None => match error.take() {
                    Some(e) => Err(e.clone()),
                    None => return None,
                },
            },
            RefState::Done => return None,
        };
        self.state = RefState::Done;
        Some(result)
    }
}

/// Where one v2 record's fields lie in its records section: parsed and validated once by
/// [`SectionCursor::record`], then sliced as [`Bytes`] (the owned [`Records`]) or borrowed ([`RecordRef`]).
struct RawRecord {
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
    header_count: u32,
    headers: Range<usize>,
}

impl RawRecord {
    #[inline(always)]
    fn offset(&self, base_offset: i64) -> i64 {
        base_offset.wrapping_add(self.offset_delta.into())
    }

    #[inline(always)]
    fn timestamp(&self, base_timestamp: i64, log_append_time: Option<i64>) -> i64 {
        log_append_time.unwrap_or(base_timestamp.wrapping_add(self.timestamp_delta))
    }
}

/// A bounded cursor over a records section (or a record's headers): every read checks the bytes left first, and
/// byte fields come out as ranges of `data`, for the caller to slice. The one parser of v2 records and headers,
/// shared by the owned and the borrowed iterators; a leaner relative of [`Reader`] for the per-record hot path:
/// varints of one and two bytes take a short path.
#[derive(Clone, Debug, Default)]
struct SectionCursor<'a> {
    data: &'a [u8],
    /// Invariant: `pos <= data.len()`.
    pos: usize,
}

impl SectionCursor<'_> {
    #[inline(always)]
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The error for `needed` bytes where `remaining` are left. Takes no `&self`, so that a cursor on the hot path
    /// can live in registers.
    #[cold]
    fn eof(what: &'static str, needed: usize, remaining: usize) -> DecodeError {
        DecodeError::UnexpectedEof { what, needed, remaining }
    }

    #[inline(always)]
    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(Self::eof(what, 1, self.remaining())),
        }
    }

    /// An unsigned varint of at most `max_bytes` (at least 3) bytes whose last byte may carry at most `last_max`.
    /// One- and two-byte varints (lengths and deltas under 8192 after zig-zag) take the inlined path.
    #[inline(always)]
    fn uvarint(&mut self, max_bytes: usize, last_max: u8, what: &'static str) -> Result<u64, DecodeError> {
        if let Some(&b0) = self.data.get(self.pos) {
            if b0 < 0x80 {
                self.pos += 1;
                return Ok(b0.into());
            }
            if let Some(&b1) = self.data.get(self.pos + 1) {
                if b1 < 0x80 {
                    self.pos += 2;
                    return Ok(u64::from(b0 & 0x7f) | u64::from(b1) << 7);
                }
            }
        }
        self.uvarint_slow(max_bytes, last_max, what)
    }

    /// The general case of [`uvarint`](Self::uvarint), byte by byte.
    #[inline(never)]
    fn uvarint_slow(&mut self, max_bytes: usize, last_max: u8, what: &'static str) -> Result<u64, DecodeError> {
        let first = self.u8(what)?;
        if first < 0x80 {
            return Ok(first.into());
        }
        let mut value = u64::from(first & 0x7f);
        for i in 1..max_bytes {
            let b = self.u8(what)?;
            if i == max_bytes - 1 && b > last_max {
                return Err(DecodeError::VarintOverflow { what });
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(value);
            }
        }
        Err(DecodeError::VarintOverflow { what })
    }

    /// A zig-zag `varint`.
    #[inline(always)]
    fn varint(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        let v = self.uvarint(5, 0x0f, what)? as u32;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    /// A zig-zag `varlong`.
    #[inline(always)]
    fn varlong(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        let v = self.uvarint(10, 0x01, what)?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// `len` bytes, as their range.
    #[inline(always)]
    fn range(&mut self, len: usize, what: &'static str) -> Result<Range<usize>, DecodeError> {
        if len > self.remaining() {
            return Err(Self::eof(what, len, self.remaining()));
        }
        let start = self.pos;
        self.pos += len;
        Ok(start..self.pos)
    }

    /// A varint length (-1: null when `nullable`) and that many bytes, as their range.
    #[inline(always)]
    fn varint_range(&mut self, nullable: bool, what: &'static str) -> Result<Option<Range<usize>>, DecodeError> {
        match self.varint(what)? {
            -1 if nullable => Ok(None),
            len if len < 0 => Err(DecodeError::InvalidLength { what, len: len.into() }),
            len => self.range(len as usize, what).map(Some),
        }
    }

    /// One header: the ranges of its key and (nullable) value.
    #[inline(always)]
    fn header(&mut self) -> Result<(Range<usize>, Option<Range<usize>>), DecodeError> {
        let key = self.varint_range(false, "header key")?.ok_or(DecodeError::UnexpectedNull { what: "header key" })?;
        Ok((key, self.varint_range(true, "header value")?))
    }

    /// The next record of a section with `left` records to go: `None` at a clean end, an error for bytes after the
    /// last record, else the record (`left` counted down).
    #[inline(always)]
    fn next_record(&mut self, left: &mut u32) -> Option<Result<RawRecord, DecodeError>> {
        if *left == 0 {
            if self.remaining() == 0 {
                return None;
            }
            return Some(Err(DecodeError::TrailingBytes { what: "record batch records", count: self.remaining() }));
        }
        *left -= 1;
        Some(self.record())
    }

    /// Decodes one v2 record, on a copy of the cursor (a local the compiler keeps in registers, where the cursor
    /// itself lives in an iterator's state in memory).
    #[inline(always)]
    fn record(&mut self) -> Result<RawRecord, DecodeError> {
        let mut c = SectionCursor { data: self.data, pos: self.pos };
        let record = c.record_fields();
        self.pos = c.pos;
        record
    }

    /// The fields of one v2 record.
    #[inline(always)]
    fn record_fields(&mut self) -> Result<RawRecord, DecodeError> {
        let len = self.varint("record length")?;
        if len < 0 || len as usize > self.remaining() {
            return Err(DecodeError::InvalidLength { what: "record length", len: len.into() });
        }
        let end = self.pos + len as usize;
        let _attributes = self.u8("record attributes")?;
        let timestamp_delta = self.varlong("record timestamp delta")?;
        let offset_delta = self.varint("record offset delta")?;
        let key = self.varint_range(true, "record key")?;
        let value = self.varint_range(true, "record value")?;
        let header_count = self.varint("record header count")?;
        // Every header takes at least two bytes (two varint lengths), within what is left of the record.
        if header_count < 0 || self.pos > end || header_count as usize > (end - self.pos) / 2 {
            return Err(DecodeError::InvalidLength { what: "record header count", len: header_count.into() });
        }
        let headers_start = self.pos;
        for _ in 0..header_count {
            self.varint_range(false, "header key")?;
            self.varint_range(true, "header value")?;
        }
        if self.pos != end {
            return Err(DecodeError::Invalid { what: "record", reason: "length does not match the record's fields" });
        }
        Ok(RawRecord {
            offset_delta,
            timestamp_delta,
            key,
            value,
            header_count: header_count as u32,
            headers: headers_start..self.pos,
        })
    }
}

/// Reads the batches of a buffer of concatenated batches (magic 0, 1 and 2 may be mixed), one at a time.
///
/// A batch cut off at the end of the buffer (Fetch responses may end with a partial batch) stops the iteration
/// without error and sets [`truncated_tail`](RecordBatchReader::truncated_tail). A malformed batch is an error, after
/// which the iteration ends.
#[derive(Clone, Debug)]
pub struct RecordBatchReader {
    rest: Bytes,
    consumed: usize,
    options: ReadOptions,
    state: ReaderState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReaderState {
    Reading,
    TruncatedTail,
    Finished,
}

impl RecordBatchReader {
    /// A reader over `buf` with `options`.
    pub fn new(buf: Bytes, options: ReadOptions) -> RecordBatchReader {
        RecordBatchReader { rest: buf, consumed: 0, options, state: ReaderState::Reading }
    }

    /// True once the iteration has stopped at an incomplete batch at the end of the buffer.
    pub fn truncated_tail(&self) -> bool {
        self.state == ReaderState::TruncatedTail
    }

    /// Bytes of complete batches read so far.
    pub fn consumed(&self) -> usize {
        self.consumed
    }

    /// The bytes not read yet (after a truncated tail: the partial batch).
    pub fn rest(&self) -> &Bytes {
        &self.rest
    }

    fn read_batch(&mut self) -> Result<Option<RecordBatch>, DecodeError> {
        let rest = &self.rest;
        if rest.is_empty() {
            self.state = ReaderState::Finished;
            return Ok(None);
        }
        let Some(length) = rest.get(8..LOG_OVERHEAD) else {
            self.state = ReaderState::TruncatedTail;
            return Ok(None);
        };
        let length = i32::from_be_bytes([length[0], length[1], length[2], length[3]]);
        if length < MIN_ENTRY_LENGTH {
            return Err(DecodeError::InvalidLength { what: "batch length", len: length.into() });
        }
        let magic = rest.get(MAGIC_OFFSET).map(|&m| m as i8);
        if magic.is_some_and(|m| !(0..=MAGIC_V2).contains(&m)) {
            return Err(DecodeError::Invalid { what: "magic byte", reason: "not 0, 1 or 2" });
        }
        let total = LOG_OVERHEAD + length as usize;
        if total > rest.len() {
            self.state = ReaderState::TruncatedTail;
            return Ok(None);
        }
        let raw = self.rest.split_to(total);
        self.consumed += total;
        match magic {
            Some(MAGIC_V2) => parse_v2(raw, &self.options).map(Some),
            Some(_) => legacy::parse(raw, &self.options).map(Some),
            // `total` covers the magic byte: the batch length is at least 14.
            None => Err(DecodeError::UnexpectedEof { what: "magic byte", needed: 1, remaining: 0 }),
        }
    }
}

impl Iterator for RecordBatchReader {
    type Item = Result<RecordBatch, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.state != ReaderState::Reading {
            return None;
        }
        match self.read_batch() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => None,
            Err(e) => {
                self.state = ReaderState::Finished;
                Some(Err(e))
            }
        }
    }
}

fn parse_v2(raw: Bytes, options: &ReadOptions) -> Result<RecordBatch, DecodeError> {
    if raw.len() < RECORD_BATCH_OVERHEAD {
        return Err(DecodeError::InvalidLength { what: "record batch length", len: (raw.len() - LOG_OVERHEAD) as i64 });
    }
    let mut r = Reader::new(raw.clone());
    let base_offset = r.i64("base offset")?;
    let batch_length = r.i32("batch length")?;
    let partition_leader_epoch = r.i32("partition leader epoch")?;
    let magic = r.i8("magic")?;
    let crc = r.u32("crc")?;
    if options.verify_crc {
        let computed = super::crc32c(&raw[ATTRIBUTES_OFFSET..]);
        if computed != crc {
            return Err(DecodeError::CrcMismatch { what: "record batch", stored: crc, computed });
        }
    }
    let attributes = r.i16("attributes")?;
    let compression = Compression::from_attributes(attributes)?;
    let last_offset_delta = r.i32("last offset delta")?;
    let base_timestamp = r.i64("base timestamp")?;
    let max_timestamp = r.i64("max timestamp")?;
    let producer_id = r.i64("producer id")?;
    let producer_epoch = r.i16("producer epoch")?;
    let base_sequence = r.i32("base sequence")?;
    let record_count = r.i32("record count")?;
    if record_count < 0 {
        return Err(DecodeError::InvalidLength { what: "record count", len: record_count.into() });
    }
    let header = BatchHeader {
        base_offset,
        batch_length,
        partition_leader_epoch,
        magic,
        crc,
        compression,
        timestamp_type: if attributes & ATTR_TIMESTAMP_TYPE != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        },
        is_transactional: attributes & ATTR_TRANSACTIONAL != 0,
        is_control: attributes & ATTR_CONTROL != 0,
        has_delete_horizon: attributes & ATTR_DELETE_HORIZON != 0,
        last_offset_delta,
        base_timestamp,
        max_timestamp,
        producer_id,
        producer_epoch,
        base_sequence,
        record_count: Some(record_count),
    };
    Ok(RecordBatch { header, body: Body::V2(r.take_rest()), raw, max_decompressed_size: options.max_decompressed_size })
}

/// What [`decode_all`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeSummary {
    /// Complete batches.
    pub batches: usize,
    /// Records in them.
    pub records: usize,
    /// Headers in the records.
    pub headers: usize,
    /// Bytes of complete batches.
    pub consumed: usize,
    /// The buffer ended with an incomplete batch.
    pub truncated_tail: bool,
}

/// Decodes every batch, record, header and control record key of `buf`: the first error, or a summary. The entry
/// point for fuzz targets (and a way to validate a buffer fully).
pub fn decode_all(buf: Bytes, options: &ReadOptions) -> Result<DecodeSummary, DecodeError> {
    let mut summary = DecodeSummary::default();
    let mut reader = RecordBatchReader::new(buf, *options);
    for batch in &mut reader {
        let batch = batch?;
        summary.batches += 1;
        for record in batch.records()? {
            let record = record?;
            summary.records += 1;
            summary.headers += record.headers.iter().count();
            if batch.header().is_control {
                ControlRecord::from_record(&record)?;
            }
        }
    }
    summary.consumed = reader.consumed();
    summary.truncated_tail = reader.truncated_tail();
    Ok(summary)
}
