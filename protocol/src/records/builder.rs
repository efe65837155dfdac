//! Writing record batches v2: [`RecordBatchBuilder`] and the closed [`EncodedBatch`].
//!
//! Records are encoded straight into the batch buffer behind 61 reserved header bytes. For lz4 and snappy, whose
//! framing is a run of independent blocks, records go to a block-sized staging buffer instead, and each block is
//! compressed onto the batch buffer as soon as it fills: the uncompressed records never exist in full (and
//! [`RecordBatchBuilder::room_for`] may compress a block early, short, to count it at its real size against a size
//! limit). Closing the batch patches the header, compresses the records section into the final buffer (gzip and zstd,
//! whole) or its last block (lz4, snappy), and computes the CRC-32C once. The CRC of everything after the producer
//! fields is kept, so that [`EncodedBatch::set_producer_state`] can rewrite producer id, epoch and base sequence with a
//! CRC combine instead of a pass over the records.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::reader::BatchHeader;
use super::{
    ATTRIBUTES_OFFSET, CRC_OFFSET, EndTxnMarker, Header, LOG_OVERHEAD, MAGIC_OFFSET, MAGIC_V2, NO_TIMESTAMP,
    PARTITION_LEADER_EPOCH_OFFSET, PRODUCER_ID_OFFSET, RECORD_BATCH_OVERHEAD, RECORD_COUNT_OFFSET, TimestampType,
};
use crate::EncodeError;
use crate::compression::{self, BlockEncoder, Compression};

/// Builds one record batch v2, appending records directly into the batch buffer.
///
/// Configure with the `with`-style methods before appending, append records, then [`build`](Self::build). Offsets
/// start at the base offset (0 by default: brokers assign real offsets) and increase by one per
/// [`append`](Self::append); [`append_with_offset`](Self::append_with_offset) allows gaps. Timestamps are
/// milliseconds, or -1 for none.
#[derive(Debug)]
pub struct RecordBatchBuilder {
    buf: BytesMut,
    compression: Compression,
    level: Option<i32>,
    header: BatchHeader,
    log_append_time: i64,
    /// Timestamp deltas are relative to this: the delete horizon, else the first record's timestamp.
    base_timestamp: Option<i64>,
    max_timestamp: i64,
    last_offset_delta: Option<i32>,
    record_count: i32,
    /// lz4 and snappy: the records not yet compressed, and the block encoder (`buf` then holds the compressed frame).
    blocks: Option<Blocks>,
}

/// The block-at-a-time state of an lz4 or snappy batch.
#[derive(Debug)]
struct Blocks {
    encoder: BlockEncoder,
    /// Records not yet compressed: always less than one block between appends.
    staging: BytesMut,
    /// Uncompressed bytes already compressed onto the batch buffer.
    flushed: usize,
}

impl Blocks {
    /// Compresses every full block of `staging` onto `out`.
    fn flush_full(&mut self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let size = self.encoder.block_size();
        while self.staging.len() >= size {
            self.compress(size, out)?;
        }
        Ok(())
    }

    /// Compresses what `staging` holds (less than a full block) as one block onto `out`.
    fn flush_rest(&mut self, out: &mut BytesMut) -> Result<(), EncodeError> {
        if self.staging.is_empty() {
            return Ok(());
        }
        self.compress(self.staging.len(), out)
    }

    /// Compresses the first `len` staged bytes as one block onto `out`; on an error `out` is left as it was.
    fn compress(&mut self, len: usize, out: &mut BytesMut) -> Result<(), EncodeError> {
        let mark = out.len();
        if let Err(e) = self.encoder.block(&self.staging[..len], out) {
            out.truncate(mark);
            return Err(e);
        }
        self.staging.advance(len);
        self.flushed += len;
        Ok(())
    }
}

/// A block is cut short to make room ([`RecordBatchBuilder::room_for`]) only when it holds at least this fraction of
/// the size limit: shorter blocks cost a block header and compress less well for the little room they can free.
const EARLY_BLOCK_DIVISOR: usize = 64;

impl RecordBatchBuilder {
    /// A builder of a batch compressed with `compression` (at the codec's default level).
    pub fn new(compression: Compression) -> RecordBatchBuilder {
        RecordBatchBuilder::with_capacity(compression, 1024)
    }

    /// A builder whose buffer starts with room for `capacity` bytes (e.g. the producer's `batch.size`).
    pub fn with_capacity(compression: Compression, capacity: usize) -> RecordBatchBuilder {
        let encoder = BlockEncoder::new(compression);
        let slack = encoder.as_ref().map_or(0, BlockEncoder::slack);
        let mut buf = BytesMut::with_capacity(capacity.max(RECORD_BATCH_OVERHEAD) + slack);
        buf.resize(RECORD_BATCH_OVERHEAD, 0);
        let blocks = encoder.map(|encoder| {
            encoder.begin(&mut buf);
            let staging = BytesMut::with_capacity(capacity.min(encoder.block_size()));
            Blocks { encoder, staging, flushed: 0 }
        });
        RecordBatchBuilder {
            buf,
            compression,
            level: None,
            header: BatchHeader { compression, ..BatchHeader::default() },
            log_append_time: NO_TIMESTAMP,
            base_timestamp: None,
            max_timestamp: NO_TIMESTAMP,
            last_offset_delta: None,
            record_count: 0,
            blocks,
        }
    }

    /// The compression level (`None`: the codec's default); checked when the batch is built.
    pub fn with_compression_level(mut self, level: Option<i32>) -> RecordBatchBuilder {
        self.level = level;
        self
    }

    /// The base offset (default 0). Set it before appending.
    pub fn with_base_offset(mut self, base_offset: i64) -> RecordBatchBuilder {
        self.header.base_offset = base_offset;
        self
    }

    /// The partition leader epoch (default -1, what producers send).
    pub fn with_partition_leader_epoch(mut self, epoch: i32) -> RecordBatchBuilder {
        self.header.partition_leader_epoch = epoch;
        self
    }

    /// Makes the batch `LogAppendTime` with append time `timestamp`, which becomes its max timestamp.
    pub fn with_log_append_time(mut self, timestamp: i64) -> RecordBatchBuilder {
        self.header.timestamp_type = TimestampType::LogAppendTime;
        self.log_append_time = timestamp;
        self
    }

    /// Producer id, epoch and base sequence (default -1 each). They can also be set after the batch is built, with
    /// [`EncodedBatch::set_producer_state`].
    pub fn with_producer_state(mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        self.header.producer_id = producer_id;
        self.header.producer_epoch = producer_epoch;
        self.header.base_sequence = base_sequence;
        self
    }

    /// Marks the batch transactional.
    pub fn with_transactional(mut self, transactional: bool) -> RecordBatchBuilder {
        self.header.is_transactional = transactional;
        self
    }

    /// Marks the batch as a control batch (its records are control records, e.g.
    /// [`append_end_txn_marker`](Self::append_end_txn_marker)).
    pub fn with_control(mut self, control: bool) -> RecordBatchBuilder {
        self.header.is_control = control;
        self
    }

    /// Sets a delete horizon (log compaction): the base timestamp becomes `horizon_ms`. Set it before appending.
    pub fn with_delete_horizon(mut self, horizon_ms: i64) -> RecordBatchBuilder {
        self.header.has_delete_horizon = true;
        self.header.base_timestamp = horizon_ms;
        self
    }

    /// The codec.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Records appended so far.
    pub fn record_count(&self) -> i32 {
        self.record_count
    }

    /// True before the first record.
    pub fn is_empty(&self) -> bool {
        self.record_count == 0
    }

    /// The largest timestamp appended so far (-1 before any).
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// The offset [`append`](Self::append) gives the next record.
    pub fn next_offset(&self) -> i64 {
        match self.last_offset_delta {
            None => self.header.base_offset,
            Some(d) => self.header.base_offset.wrapping_add(i64::from(d) + 1),
        }
    }

    /// The batch's size so far without compression: header and records as encoded.
    pub fn uncompressed_size(&self) -> usize {
        match &self.blocks {
            Some(b) => RECORD_BATCH_OVERHEAD + b.flushed + b.staging.len(),
            None => self.buf.len(),
        }
    }

    /// Bytes the batch buffer holds room for: the batch with its records, or for lz4 and snappy (compressed a block
    /// at a time as records come) the batch with its compressed frame.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Whether the batch buffer receives compressed blocks as records come (lz4, snappy) rather than the records.
    pub fn compresses_as_it_goes(&self) -> bool {
        self.blocks.is_some()
    }

    /// Grows the batch buffer to room for a batch of exactly `size` bytes (what [`capacity`](Self::capacity)
    /// counts, plus a block's working room for lz4 and snappy), however far that is from the buffer's size now; a
    /// no-op if it has that room already.
    pub fn reserve_total(&mut self, size: usize) {
        let slack = self.blocks.as_ref().map_or(0, |b| b.encoder.slack());
        let want = size.saturating_add(slack);
        if want > self.buf.capacity() {
            // Not `reserve`, which may round up to twice the capacity: the caller chose the size.
            let mut grown = BytesMut::with_capacity(want);
            grown.extend_from_slice(&self.buf);
            self.buf = grown;
        }
    }

    /// An upper bound of the built batch's length (what [`build`](Self::build) returns) were `records_len` more
    /// bytes of encoded records appended (0: the batch as it stands): what a producer compares with `batch.size`.
    ///
    /// - Uncompressed: exact (for an exact `records_len`).
    /// - lz4 and snappy: the frame compressed so far, exact, plus the records not yet compressed at the codec's
    ///   worst case and the frame's end: never under the built length.
    /// - gzip and zstd, which compress the records whole at build: the records scaled by `ratio` (the caller's
    ///   estimate of compressed / uncompressed size; above 1 counts as 1) plus the codec's worst-case overhead
    ///   ([`Compression::max_compressed_len`] beyond the input). A bound at ratio 1, an estimate below it.
    ///
    /// A few integer operations, inlined into the caller for uncompressed, lz4 and snappy batches: cheap enough for
    /// every record.
    #[inline]
    pub fn size_bound_after(&self, records_len: usize, ratio: f32) -> usize {
        match &self.blocks {
            Some(b) => {
                let pending = b.staging.len().saturating_add(records_len);
                self.buf.len().saturating_add(b.encoder.max_blocks_len(pending)).saturating_add(b.encoder.end_len())
            }
            None if self.compression == Compression::None => self.buf.len().saturating_add(records_len),
            None => self.ratio_size_bound(records_len, ratio),
        }
    }

    /// [`size_bound_after`](Self::size_bound_after) of a gzip or zstd batch.
    fn ratio_size_bound(&self, records_len: usize, ratio: f32) -> usize {
        let records = (self.buf.len() - RECORD_BATCH_OVERHEAD).saturating_add(records_len);
        let overhead = self.compression.max_compressed_len(records).saturating_sub(records);
        let ratio = if ratio.is_nan() { 1.0 } else { ratio.clamp(0.0, 1.0) };
        let scaled = (records as f64 * f64::from(ratio)).ceil() as usize;
        (RECORD_BATCH_OVERHEAD + scaled.min(records)).saturating_add(overhead)
    }

    /// Whether `records_len` more bytes of encoded records keep [`size_bound_after`](Self::size_bound_after)
    /// within `limit`.
    ///
    /// For lz4 and snappy, the records staged for the current block count at the codec's worst case until they are
    /// compressed. When they are what stands in the way (and they are at least 1/64 of `limit`), they are compressed
    /// now, as a block shorter than a full one, so that they count at their real size, and the bound is checked
    /// again: the work their block would have cost at build anyway, for one more block header. A batch of records
    /// that compress thus still fills `limit` with compressed bytes, whatever its size against the block size.
    #[inline]
    pub fn room_for(&mut self, records_len: usize, limit: usize, ratio: f32) -> bool {
        let bound = self.size_bound_after(records_len, ratio);
        bound <= limit || self.make_room(records_len, limit, ratio, bound)
    }

    /// [`room_for`](Self::room_for) when the bound is over `limit`: compresses the staged records if that may help.
    fn make_room(&mut self, records_len: usize, limit: usize, ratio: f32, bound: usize) -> bool {
        let Some(b) = &mut self.blocks else { return false };
        let staged = b.staging.len();
        // Compressing the staged records frees at most their own size.
        if staged < bound - limit || staged < limit / EARLY_BLOCK_DIVISOR {
            return false;
        }
        // On an error nothing was written and the records stay staged: no room now, and `build` meets the error.
        if b.flush_rest(&mut self.buf).is_err() {
            return false;
        }
        self.size_bound_after(records_len, ratio) <= limit
    }

    /// The uncompressed size the batch would have after appending a record with these sizes at `timestamp`
    /// ([`uncompressed_size`](Self::uncompressed_size) after it; [`size_bound_after`](Self::size_bound_after)
    /// bounds the built size).
    pub fn estimated_size_after(
        &self,
        timestamp: i64,
        key_len: Option<usize>,
        value_len: Option<usize>,
        headers: &[Header],
    ) -> usize {
        let offset_delta = self.last_offset_delta.map_or(0, |d| d.saturating_add(1));
        let base = self.base_timestamp.unwrap_or(if self.header.has_delete_horizon {
            self.header.base_timestamp
        } else {
            timestamp
        });
        let size = encoded_record_size(offset_delta, timestamp.wrapping_sub(base), key_len, value_len, headers);
        self.uncompressed_size().saturating_add(size)
    }

    /// Appends a record at the next offset and returns that offset.
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<i64, EncodeError> {
        let offset = self.next_offset();
        self.append_with_offset(offset, timestamp, key, value, headers)?;
        Ok(offset)
    }

    /// Appends a record at `offset`, which must be above every offset appended so far and within `i32::MAX` of the
    /// base offset.
    pub fn append_with_offset(
        &mut self,
        offset: i64,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<(), EncodeError> {
        let delta =
            offset.checked_sub(self.header.base_offset).and_then(|d| i32::try_from(d).ok()).filter(|&d| d >= 0).ok_or(
                EncodeError::Invalid { what: "record offset", reason: "below the base offset or too far above" },
            )?;
        if self.last_offset_delta.is_some_and(|last| delta <= last) {
            return Err(EncodeError::Invalid { what: "record offset", reason: "not above the previous record's" });
        }
        if timestamp < 0 && timestamp != NO_TIMESTAMP {
            return Err(EncodeError::Invalid { what: "record timestamp", reason: "negative" });
        }
        let count = self
            .record_count
            .checked_add(1)
            .ok_or(EncodeError::TooLong { what: "record batch", len: self.record_count as usize })?;
        let base_timestamp = self.base_timestamp.unwrap_or(if self.header.has_delete_horizon {
            self.header.base_timestamp
        } else {
            timestamp
        });
        self.write_record(delta, timestamp.wrapping_sub(base_timestamp), key, value, headers)?;
        self.base_timestamp = Some(base_timestamp);
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self.last_offset_delta = Some(delta);
        self.record_count = count;
        Ok(())
    }

    /// Appends a transaction marker (COMMIT or ABORT) at the next offset; the batch must be a control batch.
    pub fn append_end_txn_marker(&mut self, timestamp: i64, marker: &EndTxnMarker) -> Result<i64, EncodeError> {
        if !self.header.is_control {
            return Err(EncodeError::Invalid {
                what: "end transaction marker",
                reason: "batch is not a control batch",
            });
        }
        self.append(timestamp, Some(&marker.encode_key()), Some(&marker.encode_value()), &[])
    }

    fn write_record(
        &mut self,
        offset_delta: i32,
        timestamp_delta: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<(), EncodeError> {
        let key_len = key.map(|k| checked_len(k.len(), "record key")).transpose()?;
        let value_len = value.map(|v| checked_len(v.len(), "record value")).transpose()?;
        let header_count = checked_len(headers.len(), "record headers")?;
        let mut body = 1 + varlong_size(timestamp_delta) + varint_size(offset_delta);
        body += bytes_size(key_len) + bytes_size(value_len) + varint_size(header_count);
        for h in headers {
            let k = checked_len(h.key.len(), "header key")?;
            let v = h.value.as_ref().map(|v| checked_len(v.len(), "header value")).transpose()?;
            body = body.saturating_add(bytes_size(Some(k))).saturating_add(bytes_size(v));
        }
        let body_len = checked_len(body, "record")?;
        let record_len = varint_size(body_len) + body;
        let total = self.uncompressed_size().saturating_add(record_len);
        if total - LOG_OVERHEAD > i32::MAX as usize {
            return Err(EncodeError::TooLong { what: "record batch", len: total });
        }
        let buf = match &mut self.blocks {
            Some(b) => &mut b.staging,
            None => &mut self.buf,
        };
        // The record's exact size is known: grow the buffer once and write into that slice (BytesMut's `put_u8`
        // is a `put_slice` of one byte, a call and a capacity check per varint byte).
        let start = buf.len();
        buf.resize(start + record_len, 0);
        let mut w = SliceWriter { out: &mut buf[start..], pos: 0 };
        w.varint(body_len);
        w.u8(0);
        w.varlong(timestamp_delta);
        w.varint(offset_delta);
        w.nullable_bytes(key);
        w.nullable_bytes(value);
        w.varint(header_count);
        for h in headers {
            w.nullable_bytes(Some(&h.key));
            w.nullable_bytes(h.value.as_deref());
        }
        debug_assert_eq!(w.pos, record_len, "record size computed and written differ");
        if let Some(b) = &mut self.blocks {
            b.flush_full(&mut self.buf)?;
        }
        Ok(())
    }

    /// Closes the batch: compresses the records (when the batch is compressed), writes the header and the CRC-32C.
    pub fn build(self) -> Result<EncodedBatch, EncodeError> {
        let level = self.compression.resolve_level(self.level)?;
        let mut header = self.header;
        if header.has_delete_horizon && self.base_timestamp.is_some_and(|b| b != header.base_timestamp) {
            return Err(EncodeError::Invalid { what: "delete horizon", reason: "set after records were appended" });
        }
        let mut out = match (self.blocks, self.compression) {
            (Some(mut b), _) => {
                let mut out = self.buf;
                b.flush_rest(&mut out)?;
                b.encoder.end(&mut out);
                // The batch lives until it is acknowledged: when it compressed to well under its room, keep a
                // copy of its size (a copy of compressed bytes, cheap beside compressing them) and free the rest.
                if out.capacity() > 2 * out.len() + 4096 { BytesMut::from(&out[..]) } else { out }
            }
            (None, Compression::None) => self.buf,
            (None, codec) => {
                let records = &self.buf[RECORD_BATCH_OVERHEAD..];
                // Room for incompressible records (gzip's and zstd's worst cases are within 1/64 plus a little), so
                // that the output is not reallocated, and copied, as it grows.
                let mut out =
                    BytesMut::with_capacity(RECORD_BATCH_OVERHEAD + records.len() + records.len() / 64 + 1024);
                out.resize(RECORD_BATCH_OVERHEAD, 0);
                compression::compress(codec, level, records, &mut out)?;
                // The batch lives until the broker acknowledges it: when the records compressed well, keep a copy
                // of the size of the output rather than the allocation sized for the input.
                if out.capacity() - out.len() > out.len() / 4 + 4096 {
                    out = BytesMut::from(&out[..]);
                }
                out
            }
        };
        header.batch_length = i32::try_from(out.len() - LOG_OVERHEAD)
            .map_err(|_| EncodeError::TooLong { what: "record batch", len: out.len() })?;
        header.last_offset_delta = self.last_offset_delta.unwrap_or(0);
        if !header.has_delete_horizon {
            header.base_timestamp = self.base_timestamp.unwrap_or(NO_TIMESTAMP);
        }
        header.max_timestamp = match header.timestamp_type {
            TimestampType::LogAppendTime => self.log_append_time,
            _ => self.max_timestamp,
        };
        header.record_count = Some(self.record_count);
        write_header(&mut out[..RECORD_BATCH_OVERHEAD], &header);
        Ok(EncodedBatch::seal(out))
    }
}

/// A closed record batch v2, ready to send. Producer id, epoch and base sequence, the base offset and the partition
/// leader epoch can still be rewritten.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedBatch {
    bytes: Bytes,
    /// CRC-32C of the bytes from the record count to the end: what the producer fields do not change.
    tail_crc: u32,
}

impl EncodedBatch {
    /// Writes the CRC of a complete batch buffer and freezes it.
    fn seal(mut buf: BytesMut) -> EncodedBatch {
        let tail_crc = super::crc32c(&buf[RECORD_COUNT_OFFSET..]);
        write_crc(&mut buf, tail_crc);
        EncodedBatch { bytes: buf.freeze(), tail_crc }
    }

    /// The batch's bytes (a cheap reference-counted handle).
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The batch's bytes.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a batch has at least its header.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn i64_at(&self, at: usize) -> i64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.bytes[at..at + 8]);
        i64::from_be_bytes(b)
    }

    fn i32_at(&self, at: usize) -> i32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes[at..at + 4]);
        i32::from_be_bytes(b)
    }

    /// The base offset.
    pub fn base_offset(&self) -> i64 {
        self.i64_at(0)
    }

    /// Offset of the last record minus the base offset.
    pub fn last_offset_delta(&self) -> i32 {
        self.i32_at(23)
    }

    /// The max timestamp.
    pub fn max_timestamp(&self) -> i64 {
        self.i64_at(35)
    }

    /// The number of records.
    pub fn record_count(&self) -> i32 {
        self.i32_at(RECORD_COUNT_OFFSET)
    }

    /// The producer id.
    pub fn producer_id(&self) -> i64 {
        self.i64_at(PRODUCER_ID_OFFSET)
    }

    /// The producer epoch.
    pub fn producer_epoch(&self) -> i16 {
        let b = &self.bytes[PRODUCER_ID_OFFSET + 8..PRODUCER_ID_OFFSET + 10];
        i16::from_be_bytes([b[0], b[1]])
    }

    /// The base sequence.
    pub fn base_sequence(&self) -> i32 {
        self.i32_at(PRODUCER_ID_OFFSET + 10)
    }

    /// The stored CRC-32C.
    pub fn crc(&self) -> u32 {
        self.i32_at(CRC_OFFSET) as u32
    }

    /// Mutable access to the bytes: in place when this is the only handle, else on a copy.
    fn modify(&mut self, f: impl FnOnce(&mut [u8])) {
        let mut buf = match std::mem::take(&mut self.bytes).try_into_mut() {
            Ok(buf) => buf,
            Err(shared) => BytesMut::from(&shared[..]),
        };
        f(&mut buf);
        self.bytes = buf.freeze();
    }

    /// Rewrites producer id, epoch and base sequence (assigned when the producer drains the batch, and again when it
    /// re-sequences a retry) and the CRC, combining the kept CRC of the records instead of re-reading them. In place
    /// when no other handle to the bytes is alive, else on a copy.
    pub fn set_producer_state(&mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) {
        let tail_crc = self.tail_crc;
        self.modify(|buf| {
            put_producer_state(buf, producer_id, producer_epoch, base_sequence);
            write_crc(buf, tail_crc);
        });
    }

    /// Rewrites the base offset (not covered by the CRC).
    pub fn set_base_offset(&mut self, base_offset: i64) {
        self.modify(|buf| buf[..8].copy_from_slice(&base_offset.to_be_bytes()));
    }

    /// Rewrites the partition leader epoch (not covered by the CRC).
    pub fn set_partition_leader_epoch(&mut self, epoch: i32) {
        self.modify(|buf| {
            buf[PARTITION_LEADER_EPOCH_OFFSET..PARTITION_LEADER_EPOCH_OFFSET + 4].copy_from_slice(&epoch.to_be_bytes())
        });
    }
}

impl From<EncodedBatch> for Bytes {
    fn from(b: EncodedBatch) -> Bytes {
        b.bytes
    }
}

impl AsRef<[u8]> for EncodedBatch {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Rewrites producer id, epoch and base sequence of the v2 batch in `batch` (exactly one batch) and recomputes its
/// CRC-32C over the whole batch. For batches not built here; [`EncodedBatch::set_producer_state`] is cheaper.
pub fn rewrite_producer_state(
    batch: &mut [u8],
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
) -> Result<(), EncodeError> {
    if batch.len() < RECORD_BATCH_OVERHEAD || batch[MAGIC_OFFSET] as i8 != MAGIC_V2 {
        return Err(EncodeError::Invalid { what: "record batch", reason: "not a v2 batch" });
    }
    let length = i32::from_be_bytes([batch[8], batch[9], batch[10], batch[11]]);
    if usize::try_from(length).ok() != Some(batch.len() - LOG_OVERHEAD) {
        return Err(EncodeError::Invalid { what: "record batch", reason: "batch length does not match the buffer" });
    }
    put_producer_state(batch, producer_id, producer_epoch, base_sequence);
    let crc = super::crc32c(&batch[ATTRIBUTES_OFFSET..]);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// Encodes a v2 batch with no records from `header` (what log compaction leaves to keep producer state): magic 2,
/// record count 0, the header's batch length, CRC and record count ignored; the timestamps, offsets, producer
/// fields and flags as given.
pub fn encode_empty_batch(header: &BatchHeader) -> Result<EncodedBatch, EncodeError> {
    if header.magic != MAGIC_V2 {
        return Err(EncodeError::Invalid { what: "record batch magic", reason: "only v2 batches are written" });
    }
    let mut h = header.clone();
    h.batch_length = (RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) as i32;
    h.record_count = Some(0);
    let mut buf = BytesMut::zeroed(RECORD_BATCH_OVERHEAD);
    write_header(&mut buf, &h);
    Ok(EncodedBatch::seal(buf))
}

/// The size of a v2 record on the wire, its length prefix included.
pub fn encoded_record_size(
    offset_delta: i32,
    timestamp_delta: i64,
    key_len: Option<usize>,
    value_len: Option<usize>,
    headers: &[Header],
) -> usize {
    let len = |n: Option<usize>| n.map_or(1, |n| varint_size(i32::try_from(n).unwrap_or(i32::MAX)).saturating_add(n));
    let mut body = 1 + varlong_size(timestamp_delta) + varint_size(offset_delta);
    body = body.saturating_add(len(key_len)).saturating_add(len(value_len));
    body = body.saturating_add(varint_size(i32::try_from(headers.len()).unwrap_or(i32::MAX)));
    for h in headers {
        body = body.saturating_add(len(Some(h.key.len()))).saturating_add(len(h.value.as_ref().map(|v| v.len())));
    }
    body.saturating_add(varint_size(i32::try_from(body).unwrap_or(i32::MAX)))
}

/// Writes the 61 header bytes of `h` (CRC left for [`write_crc`]).
fn write_header(buf: &mut [u8], h: &BatchHeader) {
    let mut w = &mut buf[..CRC_OFFSET + 4];
    w.put_i64(h.base_offset);
    w.put_i32(h.batch_length);
    w.put_i32(h.partition_leader_epoch);
    w.put_i8(MAGIC_V2);
    w.put_u32(0);
    let mut w = &mut buf[ATTRIBUTES_OFFSET..PRODUCER_ID_OFFSET];
    w.put_i16(h.attributes());
    w.put_i32(h.last_offset_delta);
    w.put_i64(h.base_timestamp);
    w.put_i64(h.max_timestamp);
    put_producer_state(buf, h.producer_id, h.producer_epoch, h.base_sequence);
    buf[RECORD_COUNT_OFFSET..RECORD_BATCH_OVERHEAD].copy_from_slice(&h.record_count.unwrap_or(0).to_be_bytes());
}

fn put_producer_state(buf: &mut [u8], producer_id: i64, producer_epoch: i16, base_sequence: i32) {
    let mut w = &mut buf[PRODUCER_ID_OFFSET..RECORD_COUNT_OFFSET];
    w.put_i64(producer_id);
    w.put_i16(producer_epoch);
    w.put_i32(base_sequence);
}

/// Computes and stores the batch CRC-32C from the header bytes and `tail_crc`, the CRC of the bytes from the record
/// count on.
fn write_crc(buf: &mut [u8], tail_crc: u32) {
    let head = super::crc32c(&buf[ATTRIBUTES_OFFSET..RECORD_COUNT_OFFSET]);
    let crc = crc32c_combine(head, tail_crc, buf.len() - RECORD_COUNT_OFFSET);
    buf[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

/// The reflected CRC-32C (Castagnoli) polynomial.
const CRC32C_POLY: u32 = 0x82f6_3b78;

/// `a * b mod P` over GF(2), both as reflected polynomials (bit 31 is x^0).
const fn gf2_mul_mod(a: u32, mut b: u32) -> u32 {
    let mut product = 0u32;
    let mut bit = 1u32 << 31;
    while bit != 0 {
        if a & bit != 0 {
            product ^= b;
        }
        b = if b & 1 != 0 { (b >> 1) ^ CRC32C_POLY } else { b >> 1 };
        bit >>= 1;
    }
    product
}

/// `x^(2^k) mod P` for k in 0..32 (reflected): powers for shifting a CRC past runs of zero bits.
const X_POW_2K: [u32; 32] = {
    let mut t = [0u32; 32];
    t[0] = 1 << 30; // x^1
    let mut k = 1;
    while k < 32 {
        t[k] = gf2_mul_mod(t[k - 1], t[k - 1]);
        k += 1;
    }
    t
};

/// The CRC-32C of `A ++ B` from `crc(A)`, `crc(B)` and `len(B)`: `crc(A)` is multiplied by `x^(8 len(B)) mod P`,
/// built from the table by the binary expansion of the length. About a microsecond for any length (the `crc32c`
/// crate's combine squares 32x32 matrices instead and takes tens of microseconds for a 16 KiB tail).
fn crc32c_combine(crc_a: u32, crc_b: u32, len_b: usize) -> u32 {
    let mut shift = 1u32 << 31; // x^0
    let mut n = len_b;
    let mut k = 3; // bytes to bits: 8 = 2^3
    while n != 0 {
        if n & 1 != 0 {
            shift = gf2_mul_mod(X_POW_2K[k & 31], shift);
        }
        n >>= 1;
        k += 1;
    }
    gf2_mul_mod(shift, crc_a) ^ crc_b
}

fn checked_len(len: usize, what: &'static str) -> Result<i32, EncodeError> {
    i32::try_from(len).map_err(|_| EncodeError::TooLong { what, len })
}

/// Bytes of a varint carrying `bits` significant bits (1..=64): `ceil(bits / 7)`, as `(9 bits + 64) / 64`, which
/// is exact over that range and needs no division (sizes are computed for every field of every record).
#[inline(always)]
fn varint_bytes_for_bits(bits: u32) -> usize {
    ((bits * 9 + 64) / 64) as usize
}

/// Size of a zig-zag varint; one- and two-byte values (the usual lengths and deltas) take a predictable branch.
#[inline(always)]
fn varint_size(v: i32) -> usize {
    let z = ((v << 1) ^ (v >> 31)) as u32;
    match z {
        0..0x80 => 1,
        0x80..0x4000 => 2,
        _ => varint_bytes_for_bits(32 - z.leading_zeros()),
    }
}

/// Size of a zig-zag varlong, as [`varint_size`].
#[inline(always)]
fn varlong_size(v: i64) -> usize {
    let z = ((v << 1) ^ (v >> 63)) as u64;
    match z {
        0..0x80 => 1,
        0x80..0x4000 => 2,
        _ => varint_bytes_for_bits(64 - z.leading_zeros()),
    }
}

/// Size of a varint-length-prefixed byte field (`None`: null, length -1).
fn bytes_size(len: Option<i32>) -> usize {
    len.map_or(1, |n| varint_size(n) + n as usize)
}

/// Writes a record into the slice sized for it (by the sizes computed from the same values).
struct SliceWriter<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl SliceWriter<'_> {
    #[inline(always)]
    fn u8(&mut self, b: u8) {
        self.out[self.pos] = b;
        self.pos += 1;
    }

    #[inline(always)]
    fn uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.u8(v as u8 | 0x80);
            v >>= 7;
        }
        self.u8(v as u8);
    }

    #[inline(always)]
    fn varint(&mut self, v: i32) {
        self.uvarint(u64::from(((v << 1) ^ (v >> 31)) as u32));
    }

    #[inline(always)]
    fn varlong(&mut self, v: i64) {
        self.uvarint(((v << 1) ^ (v >> 63)) as u64);
    }

    /// A varint length (-1 for `None`) and the bytes. Lengths were checked to fit an `i32`.
    #[inline(always)]
    fn nullable_bytes(&mut self, b: Option<&[u8]>) {
        match b {
            Some(b) => {
                self.varint(b.len() as i32);
                self.out[self.pos..self.pos + b.len()].copy_from_slice(b);
                self.pos += b.len();
            }
            None => self.varint(-1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{crc32c_combine, varint_size, varlong_size};

    #[test]
    fn crc_combine_matches_a_direct_crc() {
        let data: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for split in [0, 1, 13, 61, 4096, 16_384, 65_535, 70_000] {
            let (a, b) = data.split_at(split);
            let combined = crc32c_combine(crc32c::crc32c(a), crc32c::crc32c(b), b.len());
            assert_eq!(combined, crc32c::crc32c(&data), "split at {split}");
        }
    }

    #[test]
    fn the_batch_crc_matches_the_reference_crc32c_at_every_length_and_alignment() {
        let data: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        // Every short length (the SIMD path's tails and its small-input fallback), then the folding sizes.
        let lengths = (0..=300).chain([511, 512, 513, 1000, 4095, 4096, 16_384, 65_536, 69_993]);
        for len in lengths {
            for start in [0, 1, 7] {
                let slice = &data[start..start + len];
                assert_eq!(super::super::crc32c(slice), crc32c::crc32c(slice), "length {len} from {start}");
            }
        }
        // The standard check value of CRC-32C ("123456789").
        assert_eq!(super::super::crc32c(b"123456789"), 0xe306_9283);
    }
    use crate::primitives::WriteExt;

    #[test]
    fn varint_sizes_match_the_encoder() {
        for v in [0, 1, -1, 63, 64, -64, -65, 8191, 8192, i32::MAX, i32::MIN] {
            let mut b = Vec::new();
            b.put_varint(v);
            assert_eq!(varint_size(v), b.len(), "{v}");
        }
        for shift in 0..31 {
            for v in [1i32 << shift, (1i32 << shift) - 1, -(1i32 << shift), -(1i32 << shift) - 1] {
                let mut b = Vec::new();
                b.put_varint(v);
                assert_eq!(varint_size(v), b.len(), "{v}");
            }
        }
        for shift in 0..63 {
            for v in [1i64 << shift, (1i64 << shift) - 1, -(1i64 << shift), -(1i64 << shift) - 1] {
                let mut b = Vec::new();
                b.put_varlong(v);
                assert_eq!(varlong_size(v), b.len(), "{v}");
            }
        }
        for v in [0i64, 1, -1, 1 << 40, -(1 << 40), i64::MAX, i64::MIN] {
            let mut b = Vec::new();
            b.put_varlong(v);
            assert_eq!(varlong_size(v), b.len(), "{v}");
        }
    }
}
