//! kafkar: a pure-Rust Apache Kafka client.
//!
//! The wire codecs live in [`kafkar_protocol`] (re-exported as [`protocol`]); this crate adds the async client on
//! tokio: [`net`] (connections and the broker pool), [`consumer`] (group assignment and
//! membership), [`config`] and [`error`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cluster;
pub mod config;
pub mod consumer;
pub mod error;
pub mod net;
pub mod producer;

pub use config::ClientConfig;
pub use error::{Error, ErrorKind, Result};
pub use kafkar_protocol as protocol;

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
