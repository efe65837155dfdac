//! Networking: one [`Connection`] per broker, each driven by its own tasks; the [`BrokerPool`] that dials,
//! caches and redials them; [`tls`] (feature `tls`): the rustls configuration and handshake; [`sasl`]: driving a
//! SASL mechanism through SaslHandshake and SaslAuthenticate; [`jaas`]: the `sasl.jaas.config` login modules;
//! [`oauth`] (feature `oauth`): OAUTHBEARER token providers.

mod connection;
pub mod jaas;
#[cfg(feature = "oauth")]
pub mod oauth;
mod pool;
pub mod sasl;
pub(crate) mod security;
#[cfg(feature = "tls")]
pub mod tls;

pub use connection::{BrokerVersions, Connection, ConnectionMetrics, PendingReply, ThrottleStats};
pub use pool::{BrokerPool, ConnectionClass};
