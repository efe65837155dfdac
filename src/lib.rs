//! kafkar: a pure-Rust Apache Kafka client.
//!
//! The wire codecs live in [`kafkar_protocol`] (re-exported as [`protocol`]); this crate adds the async client on
//! tokio: [`producer`], [`consumer`] (reading, offsets, group assignment), [`admin`], [`cluster`] (metadata),
//! [`config`] (one layering for every client role) and [`error`]. Connections and the broker pool are internal.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod cluster;
pub mod config;
pub mod consumer;
pub mod error;
pub(crate) mod net;
pub mod producer;

pub use admin::{Admin, AdminConfig};
pub use config::{ClientConfig, ConfigSources};
pub use consumer::{Consumer, ConsumerConfig};
pub use error::{ConfigError, Error, ErrorKind, Result};
pub use kafkar_protocol as protocol;
pub use producer::{Producer, ProducerConfig, ProducerRecord};

/// Internals that kafkar's own integration tests and CLI reach into: connections and the broker pool. Not part of
/// the public API: no stability promise, hidden from the docs.
#[doc(hidden)]
pub mod __private {
    pub use crate::net::{BrokerPool, BrokerVersions, Connection, PendingReply};
}

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
