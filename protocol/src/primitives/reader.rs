use bytes::{Buf, Bytes};

use super::{RawTaggedField, Uuid};
use crate::DecodeError;

/// A bounded, zero-copy cursor over a received buffer.
///
/// Every read checks the bytes left first; lengths and counts taken off the wire are checked against the bytes left
/// before anything is allocated. Byte fields are returned as [`Bytes`] slices of the same buffer (no copy).
/// Each method takes `what`, the name of the field being read, which ends up in the [`DecodeError`].
#[derive(Clone, Debug, Default)]
pub struct Reader {
    buf: Bytes,
}

impl Reader {
    /// A reader over `buf`.
    pub fn new(buf: Bytes) -> Reader {
        Reader { buf }
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// True when everything has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The unread bytes, without consuming them.
    pub fn peek_rest(&self) -> &Bytes {
        &self.buf
    }

    /// Takes all unread bytes.
    pub fn take_rest(&mut self) -> Bytes {
        std::mem::take(&mut self.buf)
    }

    /// Fails with [`DecodeError::TrailingBytes`] unless everything has been read.
    pub fn finish(&self, what: &'static str) -> Result<(), DecodeError> {
        if self.buf.is_empty() { Ok(()) } else { Err(DecodeError::TrailingBytes { what, count: self.buf.len() }) }
    }

    #[inline]
    fn need(&self, n: usize, what: &'static str) -> Result<(), DecodeError> {
        if self.buf.len() < n {
            Err(DecodeError::UnexpectedEof { what, needed: n, remaining: self.buf.len() })
        } else {
            Ok(())
        }
    }

    /// Takes the next `len` bytes as a slice of the buffer.
    pub fn bytes_exact(&mut self, len: usize, what: &'static str) -> Result<Bytes, DecodeError> {
        self.need(len, what)?;
        Ok(self.buf.split_to(len))
    }

    /// A reader over the next `len` bytes, which are consumed from this one.
    pub fn sub(&mut self, len: usize, what: &'static str) -> Result<Reader, DecodeError> {
        self.bytes_exact(len, what).map(Reader::new)
    }

    /// Skips `len` bytes.
    pub fn skip(&mut self, len: usize, what: &'static str) -> Result<(), DecodeError> {
        self.need(len, what)?;
        self.buf.advance(len);
        Ok(())
    }

    /// An `int8`.
    #[inline]
    pub fn i8(&mut self, what: &'static str) -> Result<i8, DecodeError> {
        self.need(1, what)?;
        Ok(self.buf.get_i8())
    }

    /// A `uint8` (used by record formats).
    #[inline]
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        self.need(1, what)?;
        Ok(self.buf.get_u8())
    }

    /// An `int16`.
    #[inline]
    pub fn i16(&mut self, what: &'static str) -> Result<i16, DecodeError> {
        self.need(2, what)?;
        Ok(self.buf.get_i16())
    }

    /// A `uint16`.
    #[inline]
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        self.need(2, what)?;
        Ok(self.buf.get_u16())
    }

    /// An `int32`.
    #[inline]
    pub fn i32(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        self.need(4, what)?;
        Ok(self.buf.get_i32())
    }

    /// A `uint32`.
    #[inline]
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        self.need(4, what)?;
        Ok(self.buf.get_u32())
    }

    /// An `int64`.
    #[inline]
    pub fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        self.need(8, what)?;
        Ok(self.buf.get_i64())
    }

    /// A `float64`.
    #[inline]
    pub fn f64(&mut self, what: &'static str) -> Result<f64, DecodeError> {
        self.need(8, what)?;
        Ok(self.buf.get_f64())
    }

    /// A `boolean`: one byte, zero is false, anything else true (as the Java client reads it).
    #[inline]
    pub fn bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        Ok(self.u8(what)? != 0)
    }

    /// A `uuid`: 16 bytes.
    pub fn uuid(&mut self, what: &'static str) -> Result<Uuid, DecodeError> {
        self.need(16, what)?;
        let mut b = [0u8; 16];
        self.buf.copy_to_slice(&mut b);
        Ok(Uuid(b))
    }

    /// An `unsigned_varint` (at most 5 bytes, 32 bits).
    #[inline]
    pub fn uvarint(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let (value, len) = uvarint_at(&self.buf, what)?;
        self.buf.advance(len);
        Ok(value)
    }

    /// An unsigned 64-bit varint (at most 10 bytes).
    #[inline]
    pub fn uvarlong(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let b = self.u8(what)?;
            if i == 9 && b > 0x01 {
                return Err(DecodeError::VarintOverflow { what });
            }
            value |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::VarintOverflow { what })
    }

    /// A `varint`: zig-zag encoded signed 32-bit.
    #[inline]
    pub fn varint(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        let v = self.uvarint(what)?;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    /// A `varlong`: zig-zag encoded signed 64-bit.
    #[inline]
    pub fn varlong(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        let v = self.uvarlong(what)?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// The length prefix of a string or byte array: `int16`/`int32` (classic) or `unsigned_varint` of length + 1
    /// (compact). `None` means null. The length is checked against the bytes left.
    fn len_prefix(&mut self, compact: bool, wide: bool, what: &'static str) -> Result<Option<usize>, DecodeError> {
        let len = if compact {
            compact_len(self.uvarint(what)?, wide, what)?
        } else if wide {
            self.i32(what)? as i64
        } else {
            self.i16(what)? as i64
        };
        checked_len(len, self.buf.len(), what)
    }

    fn utf8(b: Bytes, what: &'static str) -> Result<String, DecodeError> {
        match std::str::from_utf8(&b) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(DecodeError::InvalidUtf8 { what }),
        }
    }

    /// A nullable string: `nullable_string` (int16 length) or `compact_nullable_string` when `compact`.
    pub fn nullable_string(&mut self, compact: bool, what: &'static str) -> Result<Option<String>, DecodeError> {
        match self.len_prefix(compact, false, what)? {
            None => Ok(None),
            Some(n) => Self::utf8(self.buf.split_to(n), what).map(Some),
        }
    }

    /// A non-null string: `string` or `compact_string` when `compact`.
    pub fn string(&mut self, compact: bool, what: &'static str) -> Result<String, DecodeError> {
        self.nullable_string(compact, what)?.ok_or(DecodeError::UnexpectedNull { what })
    }

    /// Nullable bytes: `nullable_bytes` (int32 length) or `compact_nullable_bytes` when `compact`; zero-copy.
    pub fn nullable_bytes(&mut self, compact: bool, what: &'static str) -> Result<Option<Bytes>, DecodeError> {
        match self.len_prefix(compact, true, what)? {
            None => Ok(None),
            Some(n) => Ok(Some(self.buf.split_to(n))),
        }
    }

    /// Non-null bytes: `bytes` or `compact_bytes` when `compact`; zero-copy.
    pub fn bytes(&mut self, compact: bool, what: &'static str) -> Result<Bytes, DecodeError> {
        self.nullable_bytes(compact, what)?.ok_or(DecodeError::UnexpectedNull { what })
    }

    /// A nullable array's element count: int32 (classic) or unsigned varint of count + 1 (compact). The count is
    /// checked against the bytes left assuming each element takes at least `min_elem_size` bytes (use 1 unless an
    /// element is known to be larger), so a hostile count cannot make the caller loop or allocate without bound.
    pub fn nullable_array_len(
        &mut self,
        compact: bool,
        min_elem_size: usize,
        what: &'static str,
    ) -> Result<Option<usize>, DecodeError> {
        let n = if compact { self.uvarint(what)? as i64 - 1 } else { self.i32(what)? as i64 };
        checked_count(n, self.buf.len(), min_elem_size, what)
    }

    /// A non-null array's element count; see [`Reader::nullable_array_len`].
    pub fn array_len(&mut self, compact: bool, min_elem_size: usize, what: &'static str) -> Result<usize, DecodeError> {
        self.nullable_array_len(compact, min_elem_size, what)?.ok_or(DecodeError::UnexpectedNull { what })
    }

    /// An empty vector for `count` elements read off the wire: its capacity is `count`, but never more than the
    /// bytes left could hold at the element's in-memory size, so a hostile count (already checked against the bytes
    /// left at the element's least wire size) cannot make the allocation outgrow the input. Every array decode uses
    /// it; the vector still grows past the capacity if the elements really are there.
    #[inline]
    pub fn vec_for<T>(&self, count: usize) -> Vec<T> {
        Vec::with_capacity(count.min(self.buf.len() / std::mem::size_of::<T>().max(1)))
    }

    /// Reads an array: the count (see [`Reader::array_len`]) and then each element with `elem`.
    pub fn array<T>(
        &mut self,
        compact: bool,
        what: &'static str,
        mut elem: impl FnMut(&mut Reader) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let n = self.array_len(compact, 1, what)?;
        let mut v = self.vec_for(n);
        for _ in 0..n {
            v.push(elem(self)?);
        }
        Ok(v)
    }

    /// Reads a nullable array; see [`Reader::array`].
    pub fn nullable_array<T>(
        &mut self,
        compact: bool,
        what: &'static str,
        mut elem: impl FnMut(&mut Reader) -> Result<T, DecodeError>,
    ) -> Result<Option<Vec<T>>, DecodeError> {
        match self.nullable_array_len(compact, 1, what)? {
            None => Ok(None),
            Some(n) => {
                let mut v = self.vec_for(n);
                for _ in 0..n {
                    v.push(elem(self)?);
                }
                Ok(Some(v))
            }
        }
    }

    /// Reads a tagged-field section. `known` is called with each tag and a reader over exactly that field's bytes;
    /// it returns `Ok(true)` when it decoded the field (and must then consume all of it), `Ok(false)` to keep it as
    /// unknown. Unknown fields are returned in wire order, for round-tripping.
    ///
    /// Tags must be strictly ascending, as every Kafka writer emits them. A repeated or out-of-order tag is
    /// [`DecodeError::Invalid`]: [`TaggedFieldsWriter`](super::TaggedFieldsWriter) writes tags sorted and rejects
    /// duplicates, so accepting them would decode values that cannot be re-encoded as they were read.
    pub fn tagged_fields(
        &mut self,
        mut known: impl FnMut(u32, &mut Reader) -> Result<bool, DecodeError>,
    ) -> Result<Vec<RawTaggedField>, DecodeError> {
        let n = tagged_count(self.uvarint("tagged field count")?, self.buf.len())?;
        let mut unknown = Vec::new();
        let mut last: Option<u32> = None;
        for _ in 0..n {
            let tag = next_tag(&mut last, self.uvarint("tagged field tag")?)?;
            let size = self.uvarint("tagged field size")? as usize;
            let mut sub = self.sub(size, "tagged field")?;
            if known(tag, &mut sub)? {
                sub.finish("tagged field")?;
            } else {
                unknown.push(RawTaggedField { tag, data: sub.take_rest() });
            }
        }
        Ok(unknown)
    }
}

// The checks every reader of the wire format shares ([`Reader`], and the Fetch view's cursor over a slice), so that
// they accept and refuse the same bytes.

/// An `unsigned_varint` (at most 5 bytes, 32 bits) at the start of `buf`: its value and how many bytes it took.
#[inline(always)]
pub(crate) fn uvarint_at(buf: &[u8], what: &'static str) -> Result<(u32, usize), DecodeError> {
    let mut value: u32 = 0;
    for i in 0..5 {
        let Some(&b) = buf.get(i) else {
            return Err(DecodeError::UnexpectedEof { what, needed: 1, remaining: 0 });
        };
        if i == 4 && b > 0x0f {
            return Err(DecodeError::VarintOverflow { what });
        }
        value |= ((b & 0x7f) as u32) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(DecodeError::VarintOverflow { what })
}

/// A compact length prefix (`unsigned_varint` of length + 1) as a signed length, -1 for null; a string's (not
/// `wide`) may not exceed `i16::MAX`, as the classic `int16` prefix cannot.
#[inline(always)]
pub(crate) fn compact_len(v: u32, wide: bool, what: &'static str) -> Result<i64, DecodeError> {
    let n = i64::from(v) - 1;
    if !wide && n > i64::from(i16::MAX) {
        return Err(DecodeError::InvalidLength { what, len: n });
    }
    Ok(n)
}

/// A signed length off the wire as one the `remaining` bytes can hold; `None` for -1 (null).
#[inline(always)]
pub(crate) fn checked_len(len: i64, remaining: usize, what: &'static str) -> Result<Option<usize>, DecodeError> {
    if len == -1 {
        return Ok(None);
    }
    if len < 0 || len as u64 > remaining as u64 {
        return Err(DecodeError::InvalidLength { what, len });
    }
    Ok(Some(len as usize))
}

/// An array count off the wire (-1 for null) checked against the `remaining` bytes at `min_elem_size` bytes an
/// element at least (`n * min > remaining`, which is `n > remaining / min` without a division).
#[inline(always)]
pub(crate) fn checked_count(
    n: i64,
    remaining: usize,
    min_elem_size: usize,
    what: &'static str,
) -> Result<Option<usize>, DecodeError> {
    if n == -1 {
        return Ok(None);
    }
    if n < 0 || (n as u64).saturating_mul(min_elem_size.max(1) as u64) > remaining as u64 {
        return Err(DecodeError::InvalidLength { what, len: n });
    }
    Ok(Some(n as usize))
}

/// A tagged-field count checked against the `remaining` bytes (every field takes at least two: tag and size).
#[inline(always)]
pub(crate) fn tagged_count(n: u32, remaining: usize) -> Result<usize, DecodeError> {
    let n = n as usize;
    if n > remaining / 2 {
        return Err(DecodeError::InvalidLength { what: "tagged field count", len: n as i64 });
    }
    Ok(n)
}

/// Checks that `tag` comes after the section's previous one (`last`) and records it. Tags must be strictly
/// ascending, as every Kafka writer emits them.
#[inline(always)]
pub(crate) fn next_tag(last: &mut Option<u32>, tag: u32) -> Result<u32, DecodeError> {
    if last.is_some_and(|l| tag <= l) {
        return Err(DecodeError::Invalid { what: "tagged fields", reason: "tags not in ascending order" });
    }
    *last = Some(tag);
    Ok(tag)
}
