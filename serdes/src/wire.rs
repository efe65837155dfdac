//! The Confluent wire format: magic byte 0, the schema id as 4 bytes big-endian, then the payload; and the
//! subject name strategies that pick the subject a schema is registered under.

use bytes::{BufMut, Bytes, BytesMut};

use crate::Part;

/// The format's only magic byte.
pub const MAGIC: u8 = 0;

/// Why bytes are not in the wire format.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer than the 5 header bytes.
    #[error("{0} bytes: too short for the schema registry wire format (5-byte header)")]
    TooShort(usize),
    /// The first byte is not [`MAGIC`].
    #[error("unknown magic byte {0}")]
    WrongMagic(u8),
}

/// The header for `schema_id` followed by `payload`.
pub fn encode(schema_id: u32, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + payload.len());
    out.put_u8(MAGIC);
    out.put_u32(schema_id);
    out.put_slice(payload);
    out.freeze()
}

/// The schema id and payload of `data`.
pub fn decode(data: &[u8]) -> Result<(u32, &[u8]), WireError> {
    match data {
        [MAGIC, a, b, c, d, payload @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), payload)),
        [magic, _, _, _, _, ..] => Err(WireError::WrongMagic(*magic)),
        short => Err(WireError::TooShort(short.len())),
    }
}

/// How the subject of a record's schema is named (Confluent's `key.subject.name.strategy` /
/// `value.subject.name.strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubjectNameStrategy {
    /// `<topic>-key` or `<topic>-value` (the default).
    #[default]
    Topic,
    /// The record type's fully qualified name.
    Record,
    /// `<topic>-<record name>`.
    TopicRecord,
}

impl SubjectNameStrategy {
    /// The subject for a record of `topic`; `record_name` is the schema's fully qualified name, needed by
    /// [`Record`](Self::Record) and [`TopicRecord`](Self::TopicRecord) (`None` when the schema has none).
    pub fn subject(self, topic: &str, part: Part, record_name: Option<&str>) -> Option<String> {
        match self {
            SubjectNameStrategy::Topic => Some(match part {
                Part::Key => format!("{topic}-key"),
                Part::Value => format!("{topic}-value"),
            }),
            SubjectNameStrategy::Record => record_name.map(str::to_owned),
            SubjectNameStrategy::TopicRecord => record_name.map(|r| format!("{topic}-{r}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let b = encode(0x0102_0304, b"xyz");
        assert_eq!(&b[..], &[0, 1, 2, 3, 4, b'x', b'y', b'z']);
        assert_eq!(decode(&b), Ok((0x0102_0304, &b"xyz"[..])));
        assert_eq!(decode(&[0, 0, 0, 0, 7]), Ok((7, &[][..])));
        assert_eq!(decode(&[1, 0, 0, 0, 7, 9]), Err(WireError::WrongMagic(1)));
        assert_eq!(decode(&[0, 0, 0]), Err(WireError::TooShort(3)));
    }

    #[test]
    fn subject_strategies() {
        use SubjectNameStrategy::*;
        assert_eq!(Topic.subject("t", Part::Key, None).as_deref(), Some("t-key"));
        assert_eq!(Topic.subject("t", Part::Value, Some("a.B")).as_deref(), Some("t-value"));
        assert_eq!(Record.subject("t", Part::Value, Some("a.B")).as_deref(), Some("a.B"));
        assert_eq!(TopicRecord.subject("t", Part::Key, Some("a.B")).as_deref(), Some("t-a.B"));
        assert_eq!(Record.subject("t", Part::Value, None), None);
    }
}
