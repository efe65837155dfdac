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

/// The most [`compress`] writes for `len` bytes, at any level. flate2's default backend (miniz_oxide) documents no
/// bound: it stores a block that would expand only while the block is still within its 32 KiB window, so larger
/// blocks of noise come out Huffman-coded a little over their size (measured: about 1/1000 and 23 bytes at level 1,
/// 1/5000 at the others, gzip header and trailer included). This allows 1/512 and 64 bytes: twice that, and above
/// zlib's `deflateBound` for its default settings (1/3000 and 25 bytes).
pub(super) const fn max_compressed_len(len: usize) -> usize {
    len.saturating_add((len >> 9) + 64)
}

/// Decompresses gzip data (one or more members) into at most `cap` bytes.
pub fn decompress_gzip(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    if input.is_empty() {
        return Err(io_error("gzip", std::io::ErrorKind::UnexpectedEof.into()));
    }
    read_capped(flate2::bufread::MultiGzDecoder::new(input), input.len(), cap, "gzip")
}
