//! Compression codecs (placeholder until the compression module lands).
