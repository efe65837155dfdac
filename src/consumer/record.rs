//! What the consumer hands out: [`ConsumerRecord`], and the offset types of its offset APIs.

use std::sync::Arc;

use bytes::Bytes;
use kafkar_protocol::records::{RecordHeaders, TimestampType};

/// One record as the application receives it. Cheap to move: the topic is shared, and the key, value and headers are
/// slices of the fetched (or decompressed) buffer.
///
/// **Memory:** being slices, they keep that whole buffer alive: one fetch response (up to `fetch.max.bytes`, 50 MiB by
/// default; for a compressed batch, its decompressed records) stays in memory for as long as any record read from
/// it is kept, or any clone of its key, value or headers. To keep a few records for long (a cache, a retry queue)
/// without pinning their fetch buffers, keep [`detached`](Self::detached) copies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record's offset.
    pub offset: i64,
    /// The record's timestamp (see `timestamp_type`); -1 when the record has none.
    pub timestamp: i64,
    /// What the timestamp means.
    pub timestamp_type: TimestampType,
    /// The key; `None` is null.
    pub key: Option<Bytes>,
    /// The value; `None` is null (a tombstone).
    pub value: Option<Bytes>,
    /// The headers, decoded on iteration.
    pub headers: RecordHeaders,
    /// The leader epoch of the partition when the record was written, if the batch carries one.
    pub leader_epoch: Option<i32>,
}

impl ConsumerRecord {
    /// An owned copy: key, value and headers copied into buffers of their own (one allocation each), so that the
    /// copy does not keep the fetch buffer alive (see the type's memory note).
    pub fn detached(&self) -> ConsumerRecord {
        ConsumerRecord {
            topic: self.topic.clone(),
            key: self.key.as_deref().map(Bytes::copy_from_slice),
            value: self.value.as_deref().map(Bytes::copy_from_slice),
            headers: self.headers.detached(),
            ..*self
        }
    }
}

/// An offset to commit (or a committed one) with its metadata.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetAndMetadata {
    /// The offset: the next record the group will read.
    pub offset: i64,
    /// The leader epoch of the last consumed record, if known (lets a new owner detect log truncation).
    pub leader_epoch: Option<i32>,
    /// Free-form metadata stored with the offset.
    pub metadata: String,
}

impl OffsetAndMetadata {
    /// An offset with no leader epoch and empty metadata.
    pub fn new(offset: i64) -> OffsetAndMetadata {
        OffsetAndMetadata { offset, leader_epoch: None, metadata: String::new() }
    }

    /// The same offset with `metadata`.
    pub fn with_metadata(mut self, metadata: impl Into<String>) -> OffsetAndMetadata {
        self.metadata = metadata.into();
        self
    }

    /// The same offset with a leader epoch.
    pub fn with_leader_epoch(mut self, epoch: i32) -> OffsetAndMetadata {
        self.leader_epoch = Some(epoch);
        self
    }
}

/// The answer of `offsets_for_times` for one partition: the earliest offset whose timestamp is at least the one
/// asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetAndTimestamp {
    /// The offset.
    pub offset: i64,
    /// The timestamp of the record at that offset.
    pub timestamp: i64,
    /// The leader epoch of that record, if known.
    pub leader_epoch: Option<i32>,
}

pub(crate) fn epoch_opt(epoch: i32) -> Option<i32> {
    (epoch >= 0).then_some(epoch)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kafkar_protocol::compression::Compression;
    use kafkar_protocol::records::{Header, ReadOptions, RecordBatchBuilder, RecordBatchReader, TimestampType};

    use super::ConsumerRecord;

    #[test]
    fn detached_records_own_their_bytes() {
        let mut b = RecordBatchBuilder::new(Compression::None);
        let header = Header::new(Bytes::from_static(b"h"), Some(Bytes::from_static(b"hv")));
        b.append(5, Some(b"k".as_slice()), Some(b"value".as_slice()), &[header]).unwrap();
        let buf = b.build().unwrap().into_bytes();
        let batch = RecordBatchReader::new(buf.clone(), ReadOptions::default()).next().unwrap().unwrap();
        let r = batch.records().unwrap().next().unwrap().unwrap();
        let record = ConsumerRecord {
            topic: "t".into(),
            partition: 0,
            offset: r.offset,
            timestamp: r.timestamp,
            timestamp_type: TimestampType::CreateTime,
            key: r.key,
            value: r.value,
            headers: r.headers,
            leader_epoch: None,
        };
        let inside = |b: &Bytes| buf.as_ptr_range().contains(&b.as_ptr());
        assert!(inside(record.value.as_ref().unwrap()), "a slice of the fetched buffer");
        let copy = record.detached();
        assert_eq!(copy, record);
        assert!(!inside(copy.value.as_ref().unwrap()) && !inside(copy.key.as_ref().unwrap()));
        let h = copy.headers.to_vec();
        assert!(!inside(h[0].value.as_ref().unwrap()), "headers copied too");
    }
}
