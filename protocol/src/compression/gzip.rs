//! gzip: one gzip member written, concatenated members read (as `java.util.zip.GZIPInputStream` does).

use std::io::Write;

use bytes::{BufMut, BytesMut};
use flate2::write::GzEncoder;

use super::{io_error, read_capped};
use crate::{DecodeError, EncodeError};

/// Compresses `input` as one gzip member at `level` (-1: zlib's default, else 1..=9) onto `out`.
pub(super) fn compress(level: i32, input: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
    let level = match u32::try_from(level) {
        Ok(l) => flate2::Compression::new(l),
        Err(_) => flate2::Compression::default(),
    };
    let err = |e: std::io::Error| EncodeError::Compression { codec: "gzip", reason: e.to_string() };
    let mut enc = GzEncoder::new(out.writer(), level);
    enc.write_all(input).map_err(err)?;
    enc.finish().map_err(err)?;
    Ok(())
}

/// Decompresses gzip data (one or more members) into at most `cap` bytes.
pub fn decompress_gzip(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    if input.is_empty() {
        return Err(io_error("gzip", std::io::ErrorKind::UnexpectedEof.into()));
    }
    read_capped(flate2::bufread::MultiGzDecoder::new(input), input.len(), cap, "gzip")
}
