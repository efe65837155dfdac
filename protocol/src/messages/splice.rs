//! Encoding a message without copying its large byte fields.
//!
//! A Produce request is mostly its record batches, which the producer already holds as [`Bytes`] (and keeps until
//! the reply, for retries). Copying them into the request buffer costs a memcpy of every byte produced and, while the
//! request is in flight, a second copy of each batch in memory. [`encode_spliced`] encodes a message the usual way
//! except that every byte field of at least [`SPLICE_MIN`] bytes written straight into the given buffer gets only its
//! length prefix there: the field's bytes are returned beside the buffer, each with the offset at which it belongs.
//! Written out in order (a vectored write), the pieces are byte for byte the frame that [`Encode::encode`] makes.
//!
//! Fields written into any other buffer (a tagged field is encoded into a scratch buffer first, to learn its size)
//! are copied as usual, so an offset never points into a buffer other than the caller's.

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};

use super::Encode;
use crate::EncodeError;

/// The smallest byte field that [`encode_spliced`] leaves out of the buffer: smaller ones cost less to copy than to
/// carry as a separate piece of a vectored write.
pub const SPLICE_MIN: usize = 4096;

/// A message encoded by [`encode_spliced`]: the buffer with the large byte fields left out, and those fields.
#[derive(Debug, Default)]
pub struct Spliced {
    /// The encoded message (after whatever the buffer held before), minus the spliced fields' bytes.
    pub head: BytesMut,
    /// Each spliced field's bytes with the offset in `head` at which they belong, in order of offset.
    pub splices: Vec<(usize, Bytes)>,
}

impl Spliced {
    /// The length of the whole frame: the head and every spliced field.
    pub fn len(&self) -> usize {
        self.head.len() + self.splices.iter().map(|(_, b)| b.len()).sum::<usize>()
    }

    /// Whether the frame is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frame as pieces to write in order: slices of the head around the spliced fields. No bytes are copied.
    pub fn into_pieces(self, out: &mut Vec<Bytes>) {
        let mut head = self.head;
        let mut at = 0;
        for (offset, bytes) in self.splices {
            if offset > at {
                out.push(head.split_to(offset - at).freeze());
                at = offset;
            }
            out.push(bytes);
        }
        if !head.is_empty() {
            out.push(head.freeze());
        }
    }

    /// The frame in one buffer (a copy; for tests and for writers that cannot write vectored).
    pub fn to_contiguous(&self) -> BytesMut {
        let mut out = BytesMut::with_capacity(self.len());
        let mut at = 0;
        for (offset, bytes) in &self.splices {
            out.extend_from_slice(&self.head[at..*offset]);
            out.extend_from_slice(bytes);
            at = *offset;
        }
        out.extend_from_slice(&self.head[at..]);
        out
    }
}

/// The buffer being encoded into (by address, only compared) and the fields spliced out of it so far.
struct Target {
    buf: *const BytesMut,
    splices: Vec<(usize, Bytes)>,
}

thread_local! {
    static TARGET: RefCell<Option<Target>> = const { RefCell::new(None) };
}

/// Encodes `msg` at `version` after what `buf` already holds, leaving byte fields of [`SPLICE_MIN`] bytes or more
/// out of it; see the [module docs](self). Offsets count from the start of `buf`.
pub fn encode_spliced<M: Encode + ?Sized>(msg: &M, mut buf: BytesMut, version: i16) -> Result<Spliced, EncodeError> {
    let guard =
        Guard(Some(TARGET.with(|t| t.replace(Some(Target { buf: &buf as *const BytesMut, splices: Vec::new() })))));
    let result = msg.encode(&mut buf, version);
    let mine = guard.finish();
    result?;
    Ok(Spliced { head: buf, splices: mine.map(|t| t.splices).unwrap_or_default() })
}

/// Puts back the target that was set before [`encode_spliced`] (none, unless it is nested) however the encode ends,
/// a panic unwinding through it included.
struct Guard(Option<Option<Target>>);

impl Guard {
    /// Restores the previous target and returns this call's.
    fn finish(mut self) -> Option<Target> {
        let previous = self.0.take().flatten();
        TARGET.with(|t| t.replace(previous))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(previous) = self.0.take() {
            TARGET.with(|t| *t.borrow_mut() = previous);
        }
    }
}

/// Called by the byte-field codec once it has written a field's length prefix into `buf`: true when the field was
/// taken as a splice (its bytes must not be written), false when it must be copied.
pub(crate) fn take(buf: &BytesMut, bytes: &Bytes) -> bool {
    if bytes.len() < SPLICE_MIN {
        return false;
    }
    TARGET.with(|t| match t.borrow_mut().as_mut() {
        Some(target) if std::ptr::eq(target.buf, buf) => {
            target.splices.push((buf.len(), bytes.clone()));
            true
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Message;
    use crate::messages::produce::ProduceRequest;
    use crate::primitives::Uuid;

    fn request(version: i16, sizes: &[usize]) -> ProduceRequest {
        let mut r = ProduceRequest::new(-1, 30_000).with_transactional_id("txn");
        for (i, &n) in sizes.iter().enumerate() {
            let body: Vec<u8> = (0..n).map(|j| (i * 31 + j) as u8).collect();
            r.add_batch(
                version,
                if i % 2 == 0 { "a" } else { "b" },
                Uuid::from_u64_pair(1, i as u64),
                i as i32,
                body.into(),
            );
        }
        r
    }

    #[test]
    fn pieces_make_the_same_bytes_as_a_plain_encode() {
        for version in [3, 8, 9, 12, 13] {
            let req = request(version, &[10, SPLICE_MIN - 1, SPLICE_MIN, 100_000, 0, 70_000]);
            let plain = req.to_bytes(version).unwrap();
            let mut prefix = BytesMut::new();
            prefix.extend_from_slice(b"head");
            let spliced = encode_spliced(&req, prefix, version).unwrap();
            assert_eq!(spliced.splices.len(), 3, "v{version}: the fields of at least SPLICE_MIN bytes");
            assert_eq!(spliced.len(), plain.len() + 4);
            assert_eq!(&spliced.to_contiguous()[4..], &plain[..]);
            let mut pieces = Vec::new();
            spliced.into_pieces(&mut pieces);
            let joined: Vec<u8> = pieces.iter().flat_map(|p| p.iter().copied()).collect();
            assert_eq!(&joined[..4], b"head");
            assert_eq!(&joined[4..], &plain[..]);
        }
    }

    #[test]
    fn the_spliced_pieces_share_the_batches_memory() {
        let req = request(13, &[50_000]);
        let batch = req.topic_data[0].partition_data[0].records.clone().unwrap();
        let spliced = encode_spliced(&req, BytesMut::new(), 13).unwrap();
        assert_eq!(spliced.splices[0].1.as_ptr(), batch.as_ptr());
        assert!(spliced.head.len() < 100, "the head holds the framing only: {}", spliced.head.len());
    }

    #[test]
    fn outside_encode_spliced_and_after_an_error_fields_are_copied() {
        let req = request(12, &[10_000]);
        // Version 13 cannot carry topic names: an encode error, and the thread's target is cleared after it.
        assert!(encode_spliced(&req, BytesMut::new(), 13).is_err());
        let plain = req.to_bytes(12).unwrap();
        assert!(plain.len() > 10_000);
        TARGET.with(|t| assert!(t.borrow().is_none()));
    }
}
