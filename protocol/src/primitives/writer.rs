use bytes::BufMut;

use super::Uuid;
use crate::EncodeError;

/// Writing the protocol's primitive types into any [`BufMut`].
///
/// `compact` selects the flexible-version forms (unsigned-varint length + 1) over the classic ones.
pub trait WriteExt: BufMut {
    /// An `unsigned_varint`.
    #[inline]
    fn put_uvarint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.put_u8((v as u8) | 0x80);
            v >>= 7;
        }
        self.put_u8(v as u8);
    }

    /// An unsigned 64-bit varint.
    #[inline]
    fn put_uvarlong(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.put_u8((v as u8) | 0x80);
            v >>= 7;
        }
        self.put_u8(v as u8);
    }

    /// A zig-zag `varint`.
    #[inline]
    fn put_varint(&mut self, v: i32) {
        self.put_uvarint(((v << 1) ^ (v >> 31)) as u32);
    }

    /// A zig-zag `varlong`.
    #[inline]
    fn put_varlong(&mut self, v: i64) {
        self.put_uvarlong(((v << 1) ^ (v >> 63)) as u64);
    }

    /// A `boolean`.
    #[inline]
    fn put_bool(&mut self, v: bool) {
        self.put_u8(v as u8);
    }

    /// A `uuid`.
    #[inline]
    fn put_uuid(&mut self, v: &Uuid) {
        self.put_slice(&v.0);
    }

    /// The length prefix of a nullable string/bytes (`None` = null).
    fn put_len_prefix(
        &mut self,
        len: Option<usize>,
        compact: bool,
        wide: bool,
        what: &'static str,
    ) -> Result<(), EncodeError> {
        match (len, compact) {
            (None, true) => self.put_uvarint(0),
            (None, false) if wide => self.put_i32(-1),
            (None, false) => self.put_i16(-1),
            (Some(n), true) => {
                let v = u32::try_from(n).ok().and_then(|n| n.checked_add(1)).filter(|_| wide || n <= i16::MAX as usize);
                self.put_uvarint(v.ok_or(EncodeError::TooLong { what, len: n })?);
            }
            (Some(n), false) if wide => {
                self.put_i32(i32::try_from(n).map_err(|_| EncodeError::TooLong { what, len: n })?);
            }
            (Some(n), false) => {
                self.put_i16(i16::try_from(n).map_err(|_| EncodeError::TooLong { what, len: n })?);
            }
        }
        Ok(())
    }

    /// A non-null `string` / `compact_string`.
    fn put_string(&mut self, s: &str, compact: bool, what: &'static str) -> Result<(), EncodeError> {
        self.put_len_prefix(Some(s.len()), compact, false, what)?;
        self.put_slice(s.as_bytes());
        Ok(())
    }

    /// A `nullable_string` / `compact_nullable_string`.
    fn put_nullable_string(&mut self, s: Option<&str>, compact: bool, what: &'static str) -> Result<(), EncodeError> {
        match s {
            None => self.put_len_prefix(None, compact, false, what),
            Some(s) => self.put_string(s, compact, what),
        }
    }

    /// Non-null `bytes` / `compact_bytes`.
    fn put_bytes_field(&mut self, b: &[u8], compact: bool, what: &'static str) -> Result<(), EncodeError> {
        self.put_len_prefix(Some(b.len()), compact, true, what)?;
        self.put_slice(b);
        Ok(())
    }

    /// `nullable_bytes` / `compact_nullable_bytes`.
    fn put_nullable_bytes(&mut self, b: Option<&[u8]>, compact: bool, what: &'static str) -> Result<(), EncodeError> {
        match b {
            None => self.put_len_prefix(None, compact, true, what),
            Some(b) => self.put_bytes_field(b, compact, what),
        }
    }

    /// An array's element count (`None` = null array).
    fn put_array_len(&mut self, len: Option<usize>, compact: bool, what: &'static str) -> Result<(), EncodeError> {
        self.put_len_prefix(len, compact, true, what)
    }
}

impl<B: BufMut + ?Sized> WriteExt for B {}
