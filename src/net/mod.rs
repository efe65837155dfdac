//! Networking: one [`Connection`] per broker, each driven by its own tasks; the [`BrokerPool`] that dials,
//! caches and redials them.

mod connection;
mod pool;

pub use connection::{BrokerVersions, Connection, PendingReply};
pub use pool::{BrokerPool, ConnectionClass};
