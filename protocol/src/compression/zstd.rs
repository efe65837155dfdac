//! zstd: one frame written (with its content size); any sequence of frames read, streaming, bounded by the cap.
//!
//! With the `zstd` feature (the default) both directions use the zstd C library. Without it the crate needs no C
//! compiler: frames are read by ruzstd, a pure-Rust decoder, and writing zstd is
//! [`EncodeError::UnsupportedCompression`].

use bytes::BytesMut;

use super::io_error;
use crate::{DecodeError, EncodeError};

/// Whether this build can write zstd (the `zstd` feature).
pub(super) const CAN_COMPRESS: bool = cfg!(feature = "zstd");

#[cfg(feature = "zstd")]
thread_local! {
    /// This thread's compression context and the level it is set to, kept from one batch to the next. zstd's
    /// `bulk::compress_to_buffer` creates a context a call: its tables (near a megabyte at the default level for a
    /// batch of a few hundred KiB) allocated, faulted in and cleared for every batch, then freed.
    static COMPRESSOR: std::cell::RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Compresses `input` as one zstd frame at `level` onto `out`, with this thread's context (see [`COMPRESSOR`]).
/// The frame is written into `out`'s spare room, not into a zero-filled stretch of it.
#[cfg(feature = "zstd")]
pub(super) fn compress(level: i32, input: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
    let start = out.len();
    // A uniquely owned `BytesMut` converts to a `Vec` and back without a copy; zstd writes into a `Vec`'s spare
    // capacity (a `Cursor` placed after what `out` held), setting its length to what it wrote.
    let mut buf: Vec<u8> = std::mem::take(out).into();
    buf.reserve(zstd::zstd_safe::compress_bound(input.len()));
    let mut cursor = std::io::Cursor::new(buf);
    cursor.set_position(start as u64);
    let written = COMPRESSOR.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.as_ref().is_none_or(|(l, _)| *l != level) {
            *slot = Some((level, zstd::bulk::Compressor::new(level)?));
        }
        let written = match slot.as_mut() {
            Some((_, compressor)) => compressor.compress_to_buffer(input, &mut cursor),
            None => Err(std::io::Error::other("no zstd context")),
        };
        if written.is_err() {
            // A failed frame may leave the context mid-frame: start the next batch with a fresh one.
            *slot = None;
        }
        written
    });
    let mut buf = cursor.into_inner();
    let result = match written {
        Ok(n) if buf.len() == start + n => Ok(()),
        Ok(n) => Err(EncodeError::Compression {
            codec: "zstd",
            reason: format!("wrote {n} bytes but the buffer grew by {}", buf.len().saturating_sub(start)),
        }),
        Err(e) => Err(EncodeError::Compression { codec: "zstd", reason: e.to_string() }),
    };
    if result.is_err() {
        buf.truncate(start);
    }
    // Unique, so this is the same allocation again (the copy is for the impossible shared case).
    *out = bytes::Bytes::from(buf).try_into_mut().unwrap_or_else(|shared| BytesMut::from(&shared[..]));
    result
}

/// The most [`compress`] writes for `len` bytes: `ZSTD_COMPRESSBOUND` of zstd.h (what `compress` sizes its output
/// for), in every build.
pub(super) const fn max_compressed_len(len: usize) -> usize {
    const SMALL: usize = 128 << 10;
    let small_margin = if len < SMALL { (SMALL - len) >> 11 } else { 0 };
    len.saturating_add(len >> 8).saturating_add(small_margin)
}

/// Without the C library there is no zstd encoder: a typed error, nothing written.
#[cfg(not(feature = "zstd"))]
pub(super) fn compress(_level: i32, _input: &[u8], _out: &mut BytesMut) -> Result<(), EncodeError> {
    Err(EncodeError::UnsupportedCompression { codec: "zstd", reason: "built without the `zstd` feature" })
}

/// Decompresses zstd data (one or more frames) into at most `cap` bytes.
///
/// The decoder's working memory is bounded by zstd's default window limit (128 MiB, the limit Java's zstd-jni
/// reader also applies); the output by `cap`.
pub fn decompress_zstd(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    if input.is_empty() {
        return Err(io_error("zstd", std::io::ErrorKind::UnexpectedEof.into()));
    }
    decompress(input, cap)
}

#[cfg(feature = "zstd")]
fn decompress(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    let decoder = zstd::stream::read::Decoder::with_buffer(input).map_err(|e| io_error("zstd", e))?;
    super::read_capped(decoder, input.len(), cap, "zstd")
}

/// The pure-Rust path: ruzstd decodes one frame per decoder, so frames are read one after the other (skippable
/// frames skipped) into one capped output.
#[cfg(not(feature = "zstd"))]
fn decompress(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    pure::decompress_zstd_ruzstd(input, cap)
}

pub use pure::decompress_zstd_ruzstd;

/// The ruzstd decoder. Compiled in every build (and tested against the C encoder when both are there); the one
/// used for reading when the `zstd` feature is off.
mod pure {
    use std::io::Read;

    use ruzstd::decoding::StreamingDecoder;
    use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};

    use crate::DecodeError;
    use crate::compression::io_error;

    fn frame_error(e: FrameDecoderError) -> DecodeError {
        DecodeError::Decompression { codec: "zstd", reason: e.to_string() }
    }

    /// Decompresses zstd data (one or more frames; skippable frames skipped) with the pure-Rust ruzstd decoder
    /// into at most `cap` bytes. [`decompress_zstd`](super::decompress_zstd) uses it when the crate is built
    /// without the `zstd` feature; public so that tests and fuzz targets can drive it in every build.
    pub fn decompress_zstd_ruzstd(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
        let mut out = Vec::with_capacity(input.len().saturating_mul(4).clamp(64, 1 << 20).min(cap.saturating_add(1)));
        let mut rest = input;
        while !rest.is_empty() {
            let decoder = match StreamingDecoder::new(&mut rest) {
                Ok(d) => d,
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame { length, .. })) => {
                    // The header (magic and length) has been consumed; skip the frame's content.
                    rest =
                        usize::try_from(length).ok().and_then(|n| rest.get(n..)).ok_or(DecodeError::Decompression {
                            codec: "zstd",
                            reason: "skippable frame runs past the end".into(),
                        })?;
                    continue;
                }
                Err(e) => return Err(frame_error(e)),
            };
            // At most one byte past the cap, so that going over it is seen.
            let room = cap.saturating_add(1).saturating_sub(out.len());
            let limit = u64::try_from(room).unwrap_or(u64::MAX);
            decoder.take(limit).read_to_end(&mut out).map_err(|e| io_error("zstd", e))?;
            if out.len() > cap {
                return Err(DecodeError::DecompressionLimit { codec: "zstd", cap });
            }
        }
        Ok(out)
    }
}
