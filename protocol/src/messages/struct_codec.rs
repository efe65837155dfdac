//! Helpers shared by message modules for the parts every nested structure repeats: arrays of structures with a
//! minimum element size, `[]int32` arrays, and the tagged-field section that closes each structure in flexible
//! versions (and must be empty in the others).

use bytes::{BufMut, BytesMut};

use super::ensure_default;
use crate::primitives::{RawTaggedField, Reader, TaggedFieldsWriter, Uuid, WriteExt};
use crate::{DecodeError, EncodeError};

/// Writes an array: its count (classic int32 or compact) and then each element with `each`.
pub(crate) fn put_array<T>(
    buf: &mut BytesMut,
    items: &[T],
    flex: bool,
    what: &'static str,
    mut each: impl FnMut(&T, &mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    buf.put_array_len(Some(items.len()), flex, what)?;
    for item in items {
        each(item, buf)?;
    }
    Ok(())
}

/// Writes a nullable array (`None` is null); see [`put_array`].
pub(crate) fn put_nullable_array<T>(
    buf: &mut BytesMut,
    items: Option<&[T]>,
    flex: bool,
    what: &'static str,
    each: impl FnMut(&T, &mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    match items {
        None => buf.put_array_len(None, flex, what),
        Some(items) => put_array(buf, items, flex, what, each),
    }
}

/// Reads an array whose elements each take at least `min_size` bytes on the wire, so that the count is checked
/// against the bytes left before anything is allocated.
pub(crate) fn read_array<T>(
    r: &mut Reader,
    flex: bool,
    min_size: usize,
    what: &'static str,
    mut elem: impl FnMut(&mut Reader) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let n = r.array_len(flex, min_size, what)?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(elem(r)?);
    }
    Ok(v)
}

/// Reads a nullable array; see [`read_array`].
pub(crate) fn read_nullable_array<T>(
    r: &mut Reader,
    flex: bool,
    min_size: usize,
    what: &'static str,
    mut elem: impl FnMut(&mut Reader) -> Result<T, DecodeError>,
) -> Result<Option<Vec<T>>, DecodeError> {
    match r.nullable_array_len(flex, min_size, what)? {
        None => Ok(None),
        Some(n) => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(elem(r)?);
            }
            Ok(Some(v))
        }
    }
}

/// Writes an `[]int32` array.
pub(crate) fn put_i32_array(
    buf: &mut BytesMut,
    items: &[i32],
    flex: bool,
    what: &'static str,
) -> Result<(), EncodeError> {
    put_array(buf, items, flex, what, |v, b| {
        b.put_i32(*v);
        Ok(())
    })
}

/// Reads an `[]int32` array.
pub(crate) fn read_i32_array(r: &mut Reader, flex: bool, what: &'static str) -> Result<Vec<i32>, DecodeError> {
    read_array(r, flex, 4, what, |r| r.i32(what))
}

/// Closes a structure: in flexible versions writes the tagged section (the known fields already added to `tagged`
/// plus the `unknown` ones kept from decoding); in other versions nothing may have been added and `unknown` must be
/// empty, else [`EncodeError::UnsupportedField`] naming `what`.
pub(crate) fn finish_tagged(
    buf: &mut BytesMut,
    tagged: TaggedFieldsWriter,
    unknown: &[RawTaggedField],
    flex: bool,
    what: &'static str,
    version: i16,
) -> Result<(), EncodeError> {
    if flex {
        let mut tagged = tagged;
        tagged.unknown(unknown);
        tagged.finish(buf)
    } else {
        ensure_default(unknown.is_empty(), what, version)
    }
}

/// Closes a structure that has no known tagged fields; see [`finish_tagged`].
pub(crate) fn put_unknown_tagged(
    buf: &mut BytesMut,
    unknown: &[RawTaggedField],
    flex: bool,
    what: &'static str,
    version: i16,
) -> Result<(), EncodeError> {
    finish_tagged(buf, TaggedFieldsWriter::new(), unknown, flex, what, version)
}

/// Reads the tagged section of a structure that has no known tagged fields (nothing in non-flexible versions).
pub(crate) fn read_unknown_tagged(r: &mut Reader, flex: bool) -> Result<Vec<RawTaggedField>, DecodeError> {
    if flex { r.tagged_fields(|_, _| Ok(false)) } else { Ok(Vec::new()) }
}

/// Writes a topic's name (up to `last_name_version`) or its id (in later versions), checking that the other one
/// holds its default (empty name, zero id). `name_field` names the name field in errors.
pub(crate) fn put_name_or_id(
    buf: &mut BytesMut,
    name: &str,
    id: &Uuid,
    version: i16,
    last_name_version: i16,
    flex: bool,
    name_field: &'static str,
) -> Result<(), EncodeError> {
    if version <= last_name_version {
        buf.put_string(name, flex, name_field)?;
        ensure_default(id.is_zero(), "topic_id", version)
    } else {
        ensure_default(name.is_empty(), name_field, version)?;
        buf.put_uuid(id);
        Ok(())
    }
}

/// Reads what [`put_name_or_id`] writes: `(name, Uuid::ZERO)` or `("", id)`.
pub(crate) fn read_name_or_id(
    r: &mut Reader,
    version: i16,
    last_name_version: i16,
    flex: bool,
    name_field: &'static str,
) -> Result<(String, Uuid), DecodeError> {
    if version <= last_name_version {
        Ok((r.string(flex, name_field)?, Uuid::ZERO))
    } else {
        Ok((String::new(), r.uuid("topic_id")?))
    }
}
