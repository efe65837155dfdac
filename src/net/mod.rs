//! Networking: one [`Connection`] per broker, each driven by its own tasks; the [`BrokerPool`] that dials,
//! caches and redials them; [`tls`] (feature `tls`): the rustls configuration and handshake.

mod connection;
mod pool;
#[cfg(feature = "tls")]
pub mod tls;

pub use connection::{BrokerVersions, Connection, PendingReply};
pub use pool::{BrokerPool, ConnectionClass};
