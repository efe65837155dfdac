use bytes::{BufMut, Bytes, BytesMut};

use super::WriteExt;
use crate::EncodeError;

/// A tagged field this crate did not decode, kept as its tag and raw bytes so that re-encoding preserves it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RawTaggedField {
    /// The field's tag.
    pub tag: u32,
    /// The field's encoded value, without tag and size.
    pub data: Bytes,
}

/// Collects the tagged fields of one structure and writes the section in tag order.
///
/// Costs nothing when there are no tagged fields: the collection only allocates once a field is added.
#[derive(Default)]
pub struct TaggedFieldsWriter {
    fields: Vec<(u32, Bytes)>,
}

impl TaggedFieldsWriter {
    /// An empty section.
    pub fn new() -> TaggedFieldsWriter {
        TaggedFieldsWriter { fields: Vec::new() }
    }

    /// Adds a known field whose value `write` encodes.
    pub fn field(
        &mut self,
        tag: u32,
        write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let mut b = BytesMut::new();
        write(&mut b)?;
        self.fields.push((tag, b.freeze()));
        Ok(())
    }

    /// Adds fields kept from decoding.
    pub fn unknown(&mut self, fields: &[RawTaggedField]) {
        self.fields.extend(fields.iter().map(|f| (f.tag, f.data.clone())));
    }

    /// Writes the section: the count, then each field as tag, size, bytes, in ascending tag order.
    /// Two fields with one tag are an error.
    pub fn finish(mut self, buf: &mut impl BufMut) -> Result<(), EncodeError> {
        self.fields.sort_by_key(|f| f.0);
        if self.fields.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(EncodeError::Invalid { what: "tagged fields", reason: "duplicate tag" });
        }
        buf.put_uvarint(self.fields.len() as u32);
        for (tag, data) in &self.fields {
            buf.put_uvarint(*tag);
            let len = u32::try_from(data.len())
                .map_err(|_| EncodeError::TooLong { what: "tagged field", len: data.len() })?;
            buf.put_uvarint(len);
            buf.put_slice(data);
        }
        Ok(())
    }
}
