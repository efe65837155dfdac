//! kafkar: a pure-Rust Apache Kafka client.
//!
//! The wire codecs live in [`kafkar_protocol`] (re-exported as [`protocol`]); this crate adds the async client on
//! tokio: [`producer`], [`consumer`] (reading, offsets, group assignment), [`admin`], [`cluster`] (metadata),
//! [`config`] (one layering for every client role), [`error`] and [`metrics`] (the latency histogram). Connections and the broker pool are internal.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod cluster;
pub mod config;
pub mod consumer;
pub mod error;
pub mod metrics;
pub(crate) mod net;
pub mod producer;

/// TLS and SASL: the rustls configuration ([`security::tls`], feature `tls`), SASL mechanisms driven through
/// SaslHandshake and SaslAuthenticate ([`security::sasl`]), `sasl.jaas.config` parsing ([`security::jaas`]) and
/// OAUTHBEARER token providers ([`security::oauth`], feature `oauth`). The sans-IO mechanisms themselves (PLAIN,
/// SCRAM, OAUTHBEARER) are in [`protocol::sasl`].
pub mod security {
    #[cfg(feature = "oauth")]
    pub use crate::net::oauth;
    pub use crate::net::security::{MechanismFuture, SaslMechanismFactory};
    #[cfg(feature = "tls")]
    pub use crate::net::tls;
    pub use crate::net::{jaas, sasl};
}

pub use admin::{Admin, AdminConfig};
pub use config::{ClientConfig, ConfigSources, MetadataRecovery};
pub use consumer::{Consumer, ConsumerConfig};
pub use error::{ConfigError, Error, ErrorKind, Result};
pub use kafkar_protocol as protocol;
pub use net::ConnectionMetrics;
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

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Polls `f` once outside any runtime.
    fn poll_once<F: Future>(f: F) -> Poll<F::Output> {
        let mut cx = Context::from_waker(Waker::noop());
        pin!(f).poll(&mut cx)
    }

    #[test]
    fn constructors_fail_outside_a_runtime_instead_of_panicking() {
        let not_in_runtime = |r: Poll<crate::Result<()>>| match r {
            Poll::Ready(Err(e)) => assert!(matches!(e.kind(), crate::ErrorKind::InvalidArgument(_)), "{e}"),
            Poll::Ready(Ok(())) => panic!("created outside a runtime"),
            Poll::Pending => panic!("waited outside a runtime"),
        };
        not_in_runtime(poll_once(async { crate::Producer::new(crate::ProducerConfig::new("a:1")).await.map(drop) }));
        not_in_runtime(poll_once(async { crate::Consumer::new(crate::ConsumerConfig::new("a:1")).await.map(drop) }));
        not_in_runtime(poll_once(async { crate::Admin::new(crate::AdminConfig::new("a:1")).await.map(drop) }));
    }
}
