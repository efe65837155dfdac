//! [`FetchedRecords`]: one partition's records from one fetch response, decoded lazily from the response buffer.
//!
//! Batches are read one at a time as the application asks for records; keys and values stay slices of the response
//! (zero-copy when uncompressed). Control batches (transaction markers) are never delivered. Under read_committed
//! the batches of aborted transactions are skipped, using the response's aborted-transaction list the way the Java
//! client does: an aborted transaction's producer becomes "aborted" once a batch at or past the transaction's first
//! offset is reached, and stops being so at its ABORT marker. Records below the position (the start of a
//! compressed batch that straddles the fetch offset) are skipped. The position advances past every record handed
//! out and past every skipped batch.

use std::sync::Arc;

use bytes::Bytes;
use kafkar_protocol::DecodeError;
use kafkar_protocol::messages::fetch::AbortedTransaction;
use kafkar_protocol::records::{
    ControlRecord, ControlRecordType, LOG_OVERHEAD, MAGIC_V2, ReadOptions, Record, RecordBatchReader, Records,
    TimestampType,
};

use super::fetcher::FrameHold;
use super::record::epoch_opt;

/// The batch being read.
struct OpenBatch {
    records: Records,
    leader_epoch: Option<i32>,
    timestamp_type: TimestampType,
    last_offset: i64,
    next_offset: i64,
}

/// A record with the batch facts the application sees.
#[derive(Debug)]
pub(crate) struct FetchedRecord {
    pub record: Record,
    pub leader_epoch: Option<i32>,
    pub timestamp_type: TimestampType,
}

/// One partition's data from one fetch response.
pub(crate) struct FetchedRecords {
    reader: RecordBatchReader,
    batch: Option<OpenBatch>,
    /// Aborted transactions not reached yet, sorted by first offset, latest first (popped from the end).
    aborted: Vec<(i64, i64)>,
    /// Producers whose transaction in the current range was aborted.
    aborted_producers: Vec<i64>,
    read_committed: bool,
    done: bool,
    /// The response bytes this holds (for the prefetch budget).
    pub bytes: usize,
    /// The partition's generation when the fetch was sent; stale data (after a seek) is dropped.
    pub generation: u64,
    /// Set once the fetcher was told this data ran low (the partition may be fetched again).
    pub refetch_signalled: bool,
    /// Keeps the response this data came from counted against its broker's budget while the data is unread.
    pub frame: Option<Arc<FrameHold>>,
}

impl FetchedRecords {
    /// Records of `records`, read with `options`.
    pub fn new(
        records: Bytes,
        aborted: Option<&[AbortedTransaction]>,
        read_committed: bool,
        options: ReadOptions,
        generation: u64,
    ) -> FetchedRecords {
        let mut aborted: Vec<(i64, i64)> = match aborted {
            Some(a) if read_committed => a.iter().map(|t| (t.first_offset, t.producer_id)).collect(),
            _ => Vec::new(),
        };
        aborted.sort_unstable_by(|a, b| b.cmp(a));
        FetchedRecords {
            bytes: records.len(),
            reader: RecordBatchReader::new(records, options),
            batch: None,
            aborted,
            aborted_producers: Vec::new(),
            read_committed,
            done: false,
            generation,
            refetch_signalled: false,
            frame: None,
        }
    }

    /// The response bytes not handed out yet: those of the batches the reader has not reached (the batch being
    /// read counts as read).
    pub fn unread(&self) -> usize {
        if self.done { 0 } else { self.bytes.saturating_sub(self.reader.consumed()) }
    }

    /// True once every record has been handed out (or an error ended the data).
    #[cfg(test)]
    pub fn is_done(&self) -> bool {
        self.done && self.batch.is_none()
    }

    /// The next deliverable record at or past `position`, advancing `position` past it (and past any batch
    /// skipped on the way). `None` when the data is exhausted; an error ends the data and leaves `position` at the
    /// batch that failed.
    pub fn next(&mut self, position: &mut i64) -> Option<Result<FetchedRecord, DecodeError>> {
        loop {
            if let Some(b) = &mut self.batch {
                match b.records.next() {
                    Some(Ok(record)) => {
                        if record.offset < *position {
                            continue;
                        }
                        *position = if record.offset >= b.last_offset { b.next_offset } else { record.offset + 1 };
                        return Some(Ok(FetchedRecord {
                            record,
                            leader_epoch: b.leader_epoch,
                            timestamp_type: b.timestamp_type,
                        }));
                    }
                    Some(Err(e)) => {
                        self.batch = None;
                        self.done = true;
                        return Some(Err(e));
                    }
                    None => {
                        *position = (*position).max(b.next_offset);
                        self.batch = None;
                    }
                }
            }
            if self.done {
                return None;
            }
            let batch = match self.reader.next() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(b)) => b,
            };
            let h = batch.header();
            let next_offset = h.next_offset();
            if next_offset <= *position {
                continue;
            }
            if self.read_committed && h.producer_id >= 0 {
                self.reach_aborted_up_to(h.last_offset());
                if h.is_control {
                    let abort = batch.records().ok().and_then(|mut r| r.next()).and_then(|r| r.ok()).is_some_and(|r| {
                        ControlRecord::from_record(&r).is_ok_and(|c| c.kind == ControlRecordType::ABORT)
                    });
                    if abort {
                        self.aborted_producers.retain(|&p| p != h.producer_id);
                    }
                } else if h.is_transactional && self.aborted_producers.contains(&h.producer_id) {
                    *position = next_offset;
                    continue;
                }
            }
            if h.is_control {
                *position = next_offset;
                continue;
            }
            match batch.records() {
                Ok(records) => {
                    self.batch = Some(OpenBatch {
                        records,
                        leader_epoch: epoch_opt(h.partition_leader_epoch),
                        timestamp_type: h.timestamp_type,
                        last_offset: h.last_offset(),
                        next_offset,
                    })
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }

    fn reach_aborted_up_to(&mut self, offset: i64) {
        while let Some(&(first, producer)) = self.aborted.last() {
            if first > offset {
                break;
            }
            self.aborted.pop();
            if !self.aborted_producers.contains(&producer) {
                self.aborted_producers.push(producer);
            }
        }
    }
}

/// The offset after the last complete batch in `records` (where the next fetch starts), found from the batch
/// framing alone without decoding; `None` when there is no complete batch.
pub(crate) fn end_offset(records: &[u8]) -> Option<i64> {
    let mut pos = 0usize;
    let mut end = None;
    while let Some(head) = records.get(pos..pos + LOG_OVERHEAD) {
        let base = i64::from_be_bytes(head[..8].try_into().ok()?);
        let length = i32::from_be_bytes(head[8..12].try_into().ok()?);
        if length < 14 {
            break;
        }
        let total = LOG_OVERHEAD + length as usize;
        if pos + total > records.len() {
            break;
        }
        let magic = records[pos + 16] as i8;
        let last = if magic == MAGIC_V2 && total >= 27 {
            let d = &records[pos + 23..pos + 27];
            base.wrapping_add(i64::from(i32::from_be_bytes([d[0], d[1], d[2], d[3]])))
        } else {
            base
        };
        end = Some(last.wrapping_add(1));
        pos += total;
    }
    end
}

#[cfg(test)]
#[path = "../../tests/support/txn_batches.rs"]
mod txn_batches;

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use kafkar_protocol::compression::Compression;
    use kafkar_protocol::records::RecordBatchBuilder;

    use super::txn_batches::{marker, txn_batch};
    use super::*;

    fn batch(base: i64, n: usize, compression: Compression) -> Bytes {
        let mut b = RecordBatchBuilder::new(compression).with_base_offset(base).with_partition_leader_epoch(3);
        for i in 0..n {
            let v = format!("v{}", base + i as i64);
            b.append(1000 + i as i64, None, Some(v.as_bytes()), &[]).unwrap();
        }
        b.build().unwrap().into_bytes()
    }

    fn concat(parts: &[Bytes]) -> Bytes {
        let mut b = BytesMut::new();
        for p in parts {
            b.extend_from_slice(p);
        }
        b.freeze()
    }

    fn drain(f: &mut FetchedRecords, position: &mut i64) -> Vec<i64> {
        let mut out = Vec::new();
        while let Some(r) = f.next(position) {
            out.push(r.unwrap().record.offset);
        }
        out
    }

    fn aborted(list: &[(i64, i64)]) -> Vec<AbortedTransaction> {
        list.iter()
            .map(|&(producer_id, first_offset)| AbortedTransaction { producer_id, first_offset, ..Default::default() })
            .collect()
    }

    #[test]
    fn records_before_the_position_are_skipped_and_the_position_follows() {
        for c in [Compression::None, Compression::Lz4, Compression::Zstd] {
            let data = concat(&[batch(10, 5, c), batch(15, 5, c)]);
            let mut f = FetchedRecords::new(data, None, false, ReadOptions::default(), 0);
            let mut pos = 12;
            let got = drain(&mut f, &mut pos);
            assert_eq!(got, (12..20).collect::<Vec<_>>(), "{c:?}");
            assert_eq!(pos, 20);
            assert!(f.is_done());
        }
    }

    #[test]
    fn record_carries_batch_epoch_and_zero_copy_value() {
        let data = batch(0, 1, Compression::None);
        let mut f = FetchedRecords::new(data.clone(), None, false, ReadOptions::default(), 0);
        let mut pos = 0;
        let r = f.next(&mut pos).unwrap().unwrap();
        assert_eq!(r.leader_epoch, Some(3));
        assert_eq!(r.timestamp_type, TimestampType::CreateTime);
        let v = r.record.value.unwrap();
        let start = data.as_ptr() as usize;
        assert!(v.as_ptr() as usize >= start && (v.as_ptr() as usize) < start + data.len(), "value was copied");
        assert_eq!(pos, 1);
    }

    #[test]
    fn control_batches_are_hidden_in_both_isolation_levels() {
        let data = concat(&[
            txn_batch(0, 2, 7, Compression::None),
            marker(2, 7, true),
            txn_batch(3, 1, 7, Compression::None),
            marker(4, 7, true),
        ]);
        for read_committed in [false, true] {
            let mut f = FetchedRecords::new(data.clone(), Some(&[]), read_committed, ReadOptions::default(), 0);
            let mut pos = 0;
            assert_eq!(drain(&mut f, &mut pos), vec![0, 1, 3]);
            assert_eq!(pos, 5, "position moves past the trailing marker");
        }
    }

    #[test]
    fn aborted_transactions_are_filtered_only_in_read_committed() {
        // Producer 7 commits 0..2, producer 8 aborts 2..4 (interleaved with 7's second transaction, which commits).
        let data = concat(&[
            txn_batch(0, 2, 7, Compression::None),
            marker(2, 7, true),
            txn_batch(3, 2, 8, Compression::None),
            txn_batch(5, 1, 7, Compression::None),
            txn_batch(6, 1, 8, Compression::None),
            marker(7, 8, false),
            marker(8, 7, true),
            txn_batch(9, 1, 8, Compression::None),
            marker(10, 8, true),
            batch(11, 2, Compression::None),
        ]);
        let list = aborted(&[(8, 3)]);
        let mut f = FetchedRecords::new(data.clone(), Some(&list), true, ReadOptions::default(), 0);
        let mut pos = 0;
        assert_eq!(drain(&mut f, &mut pos), vec![0, 1, 5, 9, 11, 12]);
        assert_eq!(pos, 13);
        let mut f = FetchedRecords::new(data, Some(&list), false, ReadOptions::default(), 0);
        let mut pos = 0;
        assert_eq!(drain(&mut f, &mut pos), vec![0, 1, 3, 4, 5, 6, 9, 11, 12]);
    }

    #[test]
    fn an_aborted_transaction_starting_later_does_not_hide_earlier_batches() {
        // Producer 8 commits at 0..1, then aborts a transaction starting at 3.
        let data = concat(&[
            txn_batch(0, 2, 8, Compression::None),
            marker(2, 8, true),
            txn_batch(3, 2, 8, Compression::None),
            marker(5, 8, false),
        ]);
        let list = aborted(&[(8, 3)]);
        let mut f = FetchedRecords::new(data, Some(&list), true, ReadOptions::default(), 0);
        let mut pos = 0;
        assert_eq!(drain(&mut f, &mut pos), vec![0, 1]);
        assert_eq!(pos, 6);
    }

    #[test]
    fn corrupt_batch_is_an_error_and_stops_at_it() {
        let good = batch(0, 3, Compression::None);
        let mut bad = BytesMut::from(&batch(3, 3, Compression::None)[..]);
        let n = bad.len();
        bad[n - 1] ^= 0xff;
        let data = concat(&[good, bad.freeze()]);
        let mut f = FetchedRecords::new(data.clone(), None, false, ReadOptions::default(), 0);
        let mut pos = 0;
        for want in 0..3 {
            assert_eq!(f.next(&mut pos).unwrap().unwrap().record.offset, want);
        }
        let e = f.next(&mut pos).unwrap().unwrap_err();
        assert!(matches!(e, DecodeError::CrcMismatch { .. }), "{e:?}");
        assert_eq!(pos, 3, "position stays at the corrupt batch");
        assert!(f.next(&mut pos).is_none());
        // check.crcs=false reads it.
        let opts = ReadOptions { verify_crc: false, ..Default::default() };
        let mut f = FetchedRecords::new(data, None, false, opts, 0);
        let mut pos = 0;
        let got: Vec<_> = std::iter::from_fn(|| f.next(&mut pos)).collect();
        assert_eq!(got.len(), 6);
    }

    #[test]
    fn end_offset_reads_the_framing() {
        let data = concat(&[batch(10, 5, Compression::None), batch(15, 3, Compression::Gzip)]);
        assert_eq!(end_offset(&data), Some(18));
        assert_eq!(end_offset(&data[..data.len() - 1]), Some(15), "a partial tail does not count");
        assert_eq!(end_offset(&[]), None);
        assert_eq!(end_offset(&data[..20]), None);
    }
}
