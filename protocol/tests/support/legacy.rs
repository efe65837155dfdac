//! Legacy message set entries (magic 0 and 1) as Kafka wrote them, for tests of the reader: this crate only reads
//! them. Included with `#[path]` by the records unit tests and by tests/records.rs.

use bytes::BufMut;

/// A legacy entry (offset, size, message with CRC-32); `timestamp` is written for magic 1 only.
pub fn legacy(
    offset: i64,
    magic: i8,
    attributes: i8,
    timestamp: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Vec<u8> {
    let mut body = vec![magic as u8, attributes as u8];
    if magic == 1 {
        body.put_i64(timestamp);
    }
    for field in [key, value] {
        match field {
            None => body.put_i32(-1),
            Some(b) => {
                body.put_i32(b.len() as i32);
                body.put_slice(b);
            }
        }
    }
    let mut entry = Vec::new();
    entry.put_i64(offset);
    entry.put_i32(body.len() as i32 + 4);
    entry.put_u32(crc32fast::hash(&body));
    entry.extend_from_slice(&body);
    entry
}
