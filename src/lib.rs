//! kafkar: a pure-Rust Apache Kafka client.
//!
//! The wire codecs live in [`kafkar_protocol`] (re-exported as [`protocol`]); this crate adds the async client.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use kafkar_protocol as protocol;
