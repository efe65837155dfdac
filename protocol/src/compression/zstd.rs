//! zstd: one frame written (with its content size); any sequence of frames read, streaming, bounded by the cap.

use bytes::BytesMut;

use super::{io_error, read_capped};
use crate::{DecodeError, EncodeError};

/// Compresses `input` as one zstd frame at `level` onto `out`.
pub(super) fn compress(level: i32, input: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
    let start = out.len();
    let bound = zstd::zstd_safe::compress_bound(input.len());
    out.resize(start + bound, 0);
    match zstd::bulk::compress_to_buffer(input, &mut out[start..], level) {
        Ok(n) => {
            out.truncate(start + n);
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(EncodeError::Compression { codec: "zstd", reason: e.to_string() })
        }
    }
}

/// Decompresses zstd data (one or more frames) into at most `cap` bytes.
///
/// The decoder's working memory is bounded by zstd's default window limit (128 MiB, the limit Java's zstd-jni
/// reader also applies); the output by `cap`.
pub fn decompress_zstd(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    if input.is_empty() {
        return Err(io_error("zstd", std::io::ErrorKind::UnexpectedEof.into()));
    }
    let decoder = zstd::stream::read::Decoder::with_buffer(input).map_err(|e| io_error("zstd", e))?;
    read_capped(decoder, input.len(), cap, "zstd")
}
