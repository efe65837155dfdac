//! `kafkar-protocol`: sans-IO codecs for the Apache Kafka wire protocol.
//!
//! No sockets, no clocks, no async runtime: bytes in, typed values out, and back. The client crate `kafkar` drives
//! these codecs over the network.
//!
//! - [`primitives`]: the protocol's primitive types and the bounded [`primitives::Reader`].
//! - [`header`]: request/response headers.
//! - [`messages`]: one module per API.
//! - [`records`]: record batches (v2) and legacy message sets (v0/v1).
//! - [`compression`]: gzip, snappy, lz4 and zstd with capped decompression.
//! - [`sasl`]: SASL client mechanisms (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER) as sans-IO state machines.
//!
//! Decoders never panic on malformed input: they return [`DecodeError`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api_key;
pub mod compression;
mod error;
pub mod header;
pub mod messages;
pub mod primitives;
pub mod records;
pub mod sasl;

pub use api_key::ApiKey;
pub use error::{DecodeError, EncodeError, ErrorCode};
