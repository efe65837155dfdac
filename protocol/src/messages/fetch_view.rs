//! A Fetch response read in place: [`FetchResponseView`].
//!
//! The consumer receives one Fetch response per broker and fetch, reads each partition's fields once and keeps only
//! the record bytes. [`FetchResponse`]'s decode builds the whole tree first (a vector of topics, one of partitions,
//! each partition a struct of a dozen fields moved into place); the view instead checks the whole body once when it
//! is made, accepting exactly what that decode accepts, and then walks it again on demand, handing out each
//! partition as a small value whose record bytes borrow the body. Nothing is allocated for topics or partitions.
//!
//! What the view does not keep: unknown tagged fields (they matter to a proxy re-encoding a response, not to a
//! reader). Known tagged fields (a partition's diverging epoch, current leader and snapshot id, and the top-level
//! node endpoints) are decoded through their tables.

use bytes::Bytes;

use super::Message;
use super::fetch::{
    AbortedTransaction, EpochEndOffset, FetchResponse, FetchableTopicResponse, LeaderIdAndEpoch, NodeEndpoint,
    PartitionData, SnapshotId,
};
use super::table::{At, Ctx, FieldCodec};
use crate::primitives::reader::{checked_count, checked_len, compact_len, next_tag, tagged_count, uvarint_at};
use crate::primitives::{Reader, Uuid};
use crate::{DecodeError, ErrorCode};

/// A Fetch response (v4–18), checked whole and read in place.
///
/// Made by [`FetchResponseView::parse`], which fails exactly where [`FetchResponse`]'s decode does (the same checks
/// on every length, count, string, tag order and trailing byte); after that, iterating it cannot fail.
#[derive(Clone, Debug)]
pub struct FetchResponseView {
    body: Bytes,
    cx: Ctx,
    throttle_time_ms: i32,
    error_code: ErrorCode,
    session_id: i32,
    /// Where the topics array's elements start in `body`, and how many there are.
    topics_at: usize,
    topic_count: usize,
    node_endpoints: Vec<NodeEndpoint>,
}

impl FetchResponseView {
    /// Checks `body` (a Fetch response body, header removed) at `version` and returns the view over it.
    pub fn parse(body: Bytes, version: i16) -> Result<FetchResponseView, DecodeError> {
        super::check_decode_version::<FetchResponse>(version)?;
        let cx = Ctx { version, flex: FetchResponse::is_flexible(version) };
        let mut c = Cursor { buf: &body, pos: 0 };
        let throttle_time_ms = c.i32("throttle_time_ms")?;
        let (error_code, session_id) =
            if version >= 7 { (ErrorCode(c.i16("error_code")?), c.i32("session_id")?) } else { (ErrorCode::NONE, 0) };
        let topic_min = <FetchableTopicResponse as FieldCodec>::min_size(cx);
        let topic_count = c.array_len(cx, topic_min, "responses")?;
        let topics_at = c.pos;
        for _ in 0..topic_count {
            let topic = c.topic(cx)?;
            for _ in 0..topic.count {
                c.partition::<true>(cx)?;
            }
            c.topic_end(cx)?;
        }
        let mut node_endpoints = Vec::new();
        if cx.flex {
            c.tagged(|tag, field| {
                if tag == 0 && version >= 16 {
                    node_endpoints = decode_field::<Vec<NodeEndpoint>>(field, cx, "node_endpoints")?;
                    return Ok(true);
                }
                Ok(false)
            })?;
        }
        if c.pos != body.len() {
            return Err(DecodeError::TrailingBytes { what: "FetchResponse", count: body.len() - c.pos });
        }
        Ok(FetchResponseView {
            body,
            cx,
            throttle_time_ms,
            error_code,
            session_id,
            topics_at,
            topic_count,
            node_endpoints,
        })
    }

    /// The version the body was read at.
    pub fn version(&self) -> i16 {
        self.cx.version
    }

    /// Throttle time in milliseconds.
    pub fn throttle_time_ms(&self) -> i32 {
        self.throttle_time_ms
    }

    /// The top-level error (v7+), e.g. a fetch session error; NONE before v7.
    pub fn error_code(&self) -> ErrorCode {
        self.error_code
    }

    /// The fetch session id, or 0 when not in a session.
    pub fn session_id(&self) -> i32 {
        self.session_id
    }

    /// Endpoints of leaders named in partitions that failed with a leadership error (v16+).
    pub fn node_endpoints(&self) -> &[NodeEndpoint] {
        &self.node_endpoints
    }

    /// The whole body; [`Bytes::slice_ref`] on it turns a partition's borrowed records into a shared slice.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Every partition with its topic, in wire order (one walk over the body, nothing allocated). A topic listed
    /// with no partitions yields nothing.
    pub fn partitions(&self) -> Partitions<'_> {
        Partitions {
            body: &self.body[..],
            cx: self.cx,
            pos: self.topics_at,
            topics_left: self.topic_count,
            partitions_left: 0,
            in_topic: false,
            topic: TopicRef { name: "", id: Uuid::ZERO },
        }
    }
}

/// The topic a partition of a [`FetchResponseView`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TopicRef<'a> {
    /// The topic name (v4–12); empty from v13.
    pub name: &'a str,
    /// The topic id (v13+); zero before.
    pub id: Uuid,
}

/// One partition of a [`FetchResponseView`]: its fields, the record bytes borrowed from the body.
#[derive(Clone, Debug)]
pub struct PartitionView<'a> {
    /// The partition index.
    pub partition_index: i32,
    /// The partition's error.
    pub error_code: ErrorCode,
    /// The high watermark.
    pub high_watermark: i64,
    /// The last stable offset, or -1.
    pub last_stable_offset: i64,
    /// The log start offset, or -1.
    pub log_start_offset: i64,
    /// Aborted transactions in the returned range (read committed), or `None` when null.
    pub aborted_transactions: Option<AbortedTransactions<'a>>,
    /// The replica the consumer should fetch from next, or -1.
    pub preferred_read_replica: i32,
    /// The record data, or `None` when null.
    pub records: Option<&'a [u8]>,
    /// The partition's tagged-field section (flexible versions), read by the accessors below.
    tagged: &'a [u8],
    cx: Ctx,
}

impl PartitionView<'_> {
    /// The largest epoch and its end offset before the log diverges from the fetcher's (v12+), when the broker
    /// sent it.
    #[inline]
    pub fn diverging_epoch(&self) -> Option<EpochEndOffset> {
        self.tagged_field(0, "diverging_epoch")
    }

    /// The current leader (v12+), when the broker sent it (with leadership errors).
    #[inline]
    pub fn current_leader(&self) -> Option<LeaderIdAndEpoch> {
        self.tagged_field(1, "current_leader")
    }

    /// The snapshot to fetch when the fetch offset is below the log start offset (v12+), when the broker sent it.
    #[inline]
    pub fn snapshot_id(&self) -> Option<SnapshotId> {
        self.tagged_field(2, "snapshot_id")
    }

    /// The known tagged field `tag`, if present. [`FetchResponseView::parse`] decoded every one already, so
    /// decoding it again cannot fail (should it, `None` is returned).
    #[inline]
    fn tagged_field<T: FieldCodec>(&self, tag: u32, name: &'static str) -> Option<T> {
        if self.tagged.is_empty() {
            return None;
        }
        self.decode_tagged(tag, name)
    }

    #[inline(never)]
    fn decode_tagged<T: FieldCodec>(&self, tag: u32, name: &'static str) -> Option<T> {
        let mut c = Cursor { buf: self.tagged, pos: 0 };
        let mut out = None;
        c.tagged(|t, field| {
            if t == tag {
                out = Some(decode_field::<T>(field, self.cx, name)?);
            }
            Ok(true)
        })
        .ok()?;
        out
    }
}

/// The partitions of a [`FetchResponseView`], each with its topic.
#[derive(Clone, Debug)]
pub struct Partitions<'a> {
    body: &'a [u8],
    cx: Ctx,
    pos: usize,
    topics_left: usize,
    partitions_left: usize,
    in_topic: bool,
    topic: TopicRef<'a>,
}

impl<'a> Iterator for Partitions<'a> {
    type Item = (TopicRef<'a>, PartitionView<'a>);

    #[inline]
    fn next(&mut self) -> Option<(TopicRef<'a>, PartitionView<'a>)> {
        // The body was checked whole by `parse`: none of these reads can fail. Should one, iteration ends.
        let mut c = Cursor { buf: self.body, pos: self.pos };
        while self.partitions_left == 0 {
            if self.in_topic {
                c.topic_end(self.cx).ok()?;
                self.in_topic = false;
            }
            if self.topics_left == 0 {
                self.pos = c.pos;
                return None;
            }
            self.topics_left -= 1;
            let head = c.topic(self.cx).ok()?;
            self.topic = TopicRef { name: head.name, id: head.id };
            self.partitions_left = head.count;
            self.in_topic = true;
        }
        self.partitions_left -= 1;
        let p = c.partition::<false>(self.cx).ok()?;
        self.pos = c.pos;
        Some((self.topic, p))
    }
}

/// A partition's aborted transactions, read in place.
#[derive(Clone, Debug)]
pub struct AbortedTransactions<'a> {
    buf: &'a [u8],
    flex: bool,
    left: usize,
}

impl AbortedTransactions<'_> {
    /// How many there are.
    pub fn len(&self) -> usize {
        self.left
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.left == 0
    }
}

impl Iterator for AbortedTransactions<'_> {
    type Item = AbortedTransaction;

    #[inline]
    fn next(&mut self) -> Option<AbortedTransaction> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut c = Cursor { buf: self.buf, pos: 0 };
        let t = c.aborted(self.flex).ok()?;
        self.buf = &self.buf[c.pos..];
        Some(t)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// A topic element's fields before its partitions.
struct TopicHead<'a> {
    name: &'a str,
    id: Uuid,
    count: usize,
}

/// A bounds-checked cursor over the body, reading what the table decode reads, with the same errors.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        // One range check (an overflowing end makes the range empty-reversed, so `get` refuses it too).
        match self.buf.get(self.pos..self.pos.wrapping_add(n)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(DecodeError::UnexpectedEof { what, needed: n, remaining: self.remaining() }),
        }
    }

    #[inline(always)]
    fn fixed<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let s = self.take(N, what)?;
        let mut b = [0u8; N];
        b.copy_from_slice(s);
        Ok(b)
    }

    #[inline(always)]
    fn i16(&mut self, what: &'static str) -> Result<i16, DecodeError> {
        self.fixed::<2>(what).map(i16::from_be_bytes)
    }

    #[inline(always)]
    fn i32(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        self.fixed::<4>(what).map(i32::from_be_bytes)
    }

    #[inline(always)]
    fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        self.fixed::<8>(what).map(i64::from_be_bytes)
    }

    #[inline(always)]
    fn uvarint(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        // Counts, lengths under 128 and empty tagged sections: one byte.
        match self.buf.get(self.pos) {
            Some(&b) if b < 0x80 => {
                self.pos += 1;
                Ok(u32::from(b))
            }
            _ => {
                let (value, len) = uvarint_at(self.buf.get(self.pos..).unwrap_or_default(), what)?;
                self.pos += len;
                Ok(value)
            }
        }
    }

    #[inline(always)]
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// An array count (null allowed when `nullable`), bounded by the bytes left at `min` bytes an element.
    #[inline(always)]
    fn count(&mut self, cx: Ctx, min: usize, what: &'static str) -> Result<Option<usize>, DecodeError> {
        let n = if cx.flex { self.uvarint(what)? as i64 - 1 } else { self.i32(what)? as i64 };
        checked_count(n, self.remaining(), min, what)
    }

    #[inline(always)]
    fn array_len(&mut self, cx: Ctx, min: usize, what: &'static str) -> Result<usize, DecodeError> {
        self.count(cx, min, what)?.ok_or(DecodeError::UnexpectedNull { what })
    }

    /// A length prefix (`wide`: int32 for bytes, else int16 for strings; compact in flexible versions), checked
    /// against the bytes left; `None` for null.
    #[inline(always)]
    fn len_prefix(&mut self, flex: bool, wide: bool, what: &'static str) -> Result<Option<usize>, DecodeError> {
        let len = if flex {
            compact_len(self.uvarint(what)?, wide, what)?
        } else if wide {
            self.i32(what)? as i64
        } else {
            self.i16(what)? as i64
        };
        checked_len(len, self.remaining(), what)
    }

    /// A tagged-field section: ascending tags, each field handed to `known` (which returns whether it decoded it);
    /// the rest skipped. The same checks as [`Reader::tagged_fields`].
    #[inline(always)]
    fn tagged(&mut self, mut known: impl FnMut(u32, &'a [u8]) -> Result<bool, DecodeError>) -> Result<(), DecodeError> {
        let n = tagged_count(self.uvarint("tagged field count")?, self.remaining())?;
        let mut last: Option<u32> = None;
        for _ in 0..n {
            let tag = next_tag(&mut last, self.uvarint("tagged field tag")?)?;
            let size = self.uvarint("tagged field size")? as usize;
            let field = self.take(size, "tagged field")?;
            known(tag, field)?;
        }
        Ok(())
    }

    /// A topic element up to its partitions array's elements.
    #[inline(always)]
    fn topic(&mut self, cx: Ctx) -> Result<TopicHead<'a>, DecodeError> {
        let mut name = "";
        if cx.version <= 12 {
            let len = self.len_prefix(cx.flex, false, "topic")?.ok_or(DecodeError::UnexpectedNull { what: "topic" })?;
            name = std::str::from_utf8(self.take(len, "topic")?)
                .map_err(|_| DecodeError::InvalidUtf8 { what: "topic" })?;
        }
        let id = if cx.version >= 13 { Uuid(self.fixed::<16>("topic_id")?) } else { Uuid::ZERO };
        let min = <PartitionData as FieldCodec>::min_size(cx);
        let count = self.array_len(cx, min, "partitions")?;
        Ok(TopicHead { name, id, count })
    }

    /// The rest of a topic element after its partitions: its tagged section, in flexible versions.
    #[inline(always)]
    fn topic_end(&mut self, cx: Ctx) -> Result<(), DecodeError> {
        if cx.flex {
            self.tagged(|_, _| Ok(false))?;
        }
        Ok(())
    }

    /// One partition element. With `CHECK` (when the view is made) its known tagged fields are decoded too, so
    /// that reading them later cannot fail.
    #[inline(always)]
    fn partition<const CHECK: bool>(&mut self, cx: Ctx) -> Result<PartitionView<'a>, DecodeError> {
        let has_log_start = cx.version >= 5;
        let (partition_index, error_code, high_watermark, last_stable_offset, log_start_offset) = if let Some(h) =
            self.buf.get(self.pos..self.pos + 30)
        {
            // The fixed-width head in one bounds check (30 bytes, 22 before v5).
            let i64_at = |at: usize| {
                i64::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3], h[at + 4], h[at + 5], h[at + 6], h[at + 7]])
            };
            self.pos += if has_log_start { 30 } else { 22 };
            (
                i32::from_be_bytes([h[0], h[1], h[2], h[3]]),
                ErrorCode(i16::from_be_bytes([h[4], h[5]])),
                i64_at(6),
                i64_at(14),
                if has_log_start { i64_at(22) } else { -1 },
            )
        } else {
            // Near the end of the body: field by field, for the exact error.
            (
                self.i32("partition_index")?,
                ErrorCode(self.i16("error_code")?),
                self.i64("high_watermark")?,
                self.i64("last_stable_offset")?,
                if has_log_start { self.i64("log_start_offset")? } else { -1 },
            )
        };
        let aborted_min = aborted_min_size(cx);
        let aborted_transactions = match self.count(cx, aborted_min, "aborted_transactions")? {
            None => None,
            Some(n) => {
                let start = self.pos;
                for _ in 0..n {
                    self.aborted(cx.flex)?;
                }
                Some(AbortedTransactions { buf: &self.buf[start..self.pos], flex: cx.flex, left: n })
            }
        };
        let preferred_read_replica = if cx.version >= 11 { self.i32("preferred_read_replica")? } else { -1 };
        let records = match self.len_prefix(cx.flex, true, "records")? {
            None => None,
            Some(n) => Some(self.take(n, "records")?),
        };
        let tagged_at = self.pos;
        if cx.flex {
            self.tagged(|tag, field| {
                if CHECK {
                    match tag {
                        0 => drop(decode_field::<EpochEndOffset>(field, cx, "diverging_epoch")?),
                        1 => drop(decode_field::<LeaderIdAndEpoch>(field, cx, "current_leader")?),
                        2 => drop(decode_field::<SnapshotId>(field, cx, "snapshot_id")?),
                        _ => {}
                    }
                }
                Ok(true)
            })?;
        }
        Ok(PartitionView {
            partition_index,
            error_code,
            high_watermark,
            last_stable_offset,
            log_start_offset,
            aborted_transactions,
            preferred_read_replica,
            records,
            // An empty section (its count, 0) is left out, so that the accessors return at once.
            tagged: if self.pos - tagged_at > 1 { &self.buf[tagged_at..self.pos] } else { &[] },
            cx,
        })
    }

    /// One aborted transaction (and, in flexible versions, its tagged section).
    #[inline(always)]
    fn aborted(&mut self, flex: bool) -> Result<AbortedTransaction, DecodeError> {
        let producer_id = self.i64("producer_id")?;
        let first_offset = self.i64("first_offset")?;
        if flex {
            self.tagged(|_, _| Ok(false))?;
        }
        Ok(AbortedTransaction { producer_id, first_offset, ..Default::default() })
    }
}

/// The least wire size of an aborted transaction (two int64, and an empty tagged section when flexible): what the
/// table computes (a test checks), without the call.
#[inline(always)]
fn aborted_min_size(cx: Ctx) -> usize {
    16 + usize::from(cx.flex)
}

/// Decodes a known tagged field's bytes through its table codec; it must use all of them. (A copy: these fields
/// are rare and a few bytes long.)
fn decode_field<T: FieldCodec>(field: &[u8], cx: Ctx, name: &'static str) -> Result<T, DecodeError> {
    let mut r = Reader::new(Bytes::copy_from_slice(field));
    let at = At { name, tags: name, nullable: false };
    let v = T::get(&mut r, cx, &at)?;
    r.finish("tagged field")?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    use super::*;
    use crate::messages::table::arb::Arb;

    /// What a reader sees of a response: its top-level fields (with no topics) and every partition with its
    /// topic's name and id, in wire order; unknown tagged fields, which the view skips, left out.
    type Seen = (FetchResponse, Vec<(String, Uuid, PartitionData)>);

    fn seen_by_the_view(view: &FetchResponseView) -> Seen {
        let top = FetchResponse {
            throttle_time_ms: view.throttle_time_ms(),
            error_code: view.error_code(),
            session_id: view.session_id(),
            node_endpoints: view.node_endpoints().to_vec(),
            ..Default::default()
        };
        let partitions = view
            .partitions()
            .map(|(t, p)| {
                let p = PartitionData {
                    partition_index: p.partition_index,
                    error_code: p.error_code,
                    high_watermark: p.high_watermark,
                    last_stable_offset: p.last_stable_offset,
                    log_start_offset: p.log_start_offset,
                    diverging_epoch: p.diverging_epoch().unwrap_or_default(),
                    current_leader: p.current_leader().unwrap_or_default(),
                    snapshot_id: p.snapshot_id().unwrap_or_default(),
                    aborted_transactions: p.aborted_transactions.map(Iterator::collect),
                    preferred_read_replica: p.preferred_read_replica,
                    records: p.records.map(|r| view.body().slice_ref(r)),
                    ..Default::default()
                };
                (t.name.to_owned(), t.id, p)
            })
            .collect();
        (top, partitions)
    }

    fn seen_in_the_decode(m: FetchResponse) -> Seen {
        let mut partitions = Vec::new();
        for t in m.responses {
            for mut p in t.partitions {
                p.unknown_tagged_fields.clear();
                for a in p.aborted_transactions.iter_mut().flatten() {
                    a.unknown_tagged_fields.clear();
                }
                partitions.push((t.topic.clone(), t.topic_id, p));
            }
        }
        let top = FetchResponse {
            throttle_time_ms: m.throttle_time_ms,
            error_code: m.error_code,
            session_id: m.session_id,
            node_endpoints: m.node_endpoints,
            ..Default::default()
        };
        (top, partitions)
    }

    /// The view accepts `bytes` exactly when the table decode does, and then reads the same values.
    fn agrees(bytes: &Bytes, version: i16) -> Result<(), TestCaseError> {
        let decoded = FetchResponse::decode_exact(&mut Reader::new(bytes.clone()), version);
        let view = FetchResponseView::parse(bytes.clone(), version);
        match (decoded, view) {
            (Ok(d), Ok(v)) => {
                prop_assert_eq!(seen_by_the_view(&v), seen_in_the_decode(d));
                let (start, end) = (bytes.as_ptr() as usize, bytes.as_ptr() as usize + bytes.len());
                for (_, p) in v.partitions() {
                    if let Some(r) = p.records {
                        let at = r.as_ptr() as usize;
                        prop_assert!(at >= start && at + r.len() <= end, "records not borrowed from the body");
                    }
                }
                Ok(())
            }
            (Err(_), Err(_)) => Ok(()),
            (d, v) => Err(TestCaseError::fail(format!("decode {:?} but view {:?}", d.map(|_| ()), v.map(|_| ())))),
        }
    }

    #[test]
    fn the_view_reads_what_the_decode_reads_and_fails_where_it_fails_at_every_version() {
        for version in 4..=18 {
            let cx = Ctx { version, flex: FetchResponse::is_flexible(version) };
            let mut runner = TestRunner::new(Config { cases: 64, failure_persistence: None, ..Config::default() });
            let result = runner.run(&FetchResponse::arb(cx, false), |m| {
                let bytes = m.to_bytes(version).map_err(|e| TestCaseError::fail(format!("encode: {e}")))?.freeze();
                agrees(&bytes, version)?;
                for cut in 0..bytes.len() {
                    prop_assert!(FetchResponseView::parse(bytes.slice(..cut), version).is_err(), "cut at {}", cut);
                }
                let step = (bytes.len() / 24).max(1);
                for i in (0..bytes.len()).step_by(step) {
                    for x in [0x00, 0x01, 0x02, 0x7f, 0x80, 0xff] {
                        let mut b = bytes.to_vec();
                        b[i] = x;
                        agrees(&Bytes::from(b), version)?;
                    }
                }
                Ok(())
            });
            if let Err(e) = result {
                panic!("v{version}: {e}");
            }
        }
    }

    #[test]
    fn the_element_sizes_the_view_bounds_counts_by_are_the_tables() {
        for version in 4..=18 {
            let cx = Ctx { version, flex: FetchResponse::is_flexible(version) };
            assert_eq!(aborted_min_size(cx), <AbortedTransaction as FieldCodec>::min_size(cx), "v{version}");
        }
    }

    #[test]
    fn versions_outside_the_codec_are_refused() {
        for version in [3, 19] {
            let got = FetchResponseView::parse(Bytes::from_static(&[0; 16]), version);
            assert!(matches!(got, Err(DecodeError::UnsupportedVersion { .. })), "v{version}: {got:?}");
        }
    }

    #[test]
    fn a_hostile_topic_count_is_a_length_error_not_a_long_walk() {
        // v11: throttle, error, session, then 2^31 - 1 topics in a 14-byte body.
        let mut b = vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&i32::MAX.to_be_bytes());
        let got = FetchResponseView::parse(Bytes::from(b), 11);
        assert!(matches!(got, Err(DecodeError::InvalidLength { what: "responses", .. })), "{got:?}");
    }
}
