//! SASL client mechanisms for Kafka authentication, sans-IO: bytes from the broker in, bytes to send out.
//!
//! This module owns the mechanisms' state machines and nothing else: no sockets, no clocks, no randomness of its
//! own (the SCRAM client nonce is passed in), no token fetching (an OAUTHBEARER token is passed in). The framing
//! (SaslHandshake and SaslAuthenticate requests) belongs to the message tables in [`crate::messages`]; the
//! client crate's connection drives both.
//!
//! Built in: [`PlainClient`] (RFC 4616), [`ScramClient`] for SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802,
//! RFC 7677) and [`OAuthBearerClient`] (RFC 7628). An application plugs in its own (AWS MSK IAM, say) by
//! implementing [`SaslMechanism`]. GSSAPI (Kerberos) is out of scope: it needs a platform GSS-API library, which
//! this pure-Rust client does not link.
//!
//! # How a connection uses a mechanism
//!
//! After the TLS handshake (if any) and ApiVersions, on every new connection of a SASL_PLAINTEXT or SASL_SSL
//! listener:
//!
//! 1. SaslHandshake v1 with [`SaslMechanism::name`]. An error (UNSUPPORTED_SASL_MECHANISM) lists the broker's
//!    enabled mechanisms; the connection fails with a typed error naming both.
//! 2. SaslAuthenticate rounds (v1 or later, so that the response carries `session_lifetime_ms`; v2 is flexible).
//!    The first request carries [`SaslMechanism::initial_response`]; each response's `auth_bytes` go to
//!    [`SaslMechanism::step`], which answers [`SaslStep::Respond`] (send those bytes in the next
//!    SaslAuthenticate) or [`SaslStep::Done`]. A non-zero error code in a response ends the exchange with the
//!    broker's `error_message` (a typed authentication error naming the mechanism); a [`SaslError`] from the
//!    mechanism ends it on the client's side (e.g. a SCRAM server signature that does not verify).
//! 3. Only when the mechanism says `Done` and the last response had no error is the connection authenticated
//!    and handed to the pool; requests queued for it wait until then.
//!
//! Re-authentication (KIP-368): a non-zero `session_lifetime_ms` in the last SaslAuthenticate response is the
//! time after which the broker closes the connection unless it re-authenticates. The connection re-runs steps
//! 1–2 with a fresh mechanism (a new nonce, a refreshed token) at a random point between 85 % and 95 % of that
//! lifetime, as the Java client does, between two requests: the writer stops taking new requests, waits for the
//! replies in flight, does the exchange, then resumes, so no request fails or is reordered. A re-authentication
//! that the broker refuses fails the connection like any authentication failure.
//!
//! In the client crate: `kafkar::net::sasl` is that driver (over a transport trait the connection implements),
//! with the OS-random SCRAM nonce and re-authentication jitter; `kafkar::net::jaas` turns `sasl.jaas.config` into
//! credentials; `kafkar::net::oauth` provides OAUTHBEARER tokens (a provider trait and the KIP-768
//! client-credentials provider).
//!
//! Secrets (passwords, salted passwords, tokens) never appear in `Debug` output or in errors.

mod oauthbearer;
mod plain;
mod scram;

pub use oauthbearer::OAuthBearerClient;
pub use plain::PlainClient;
pub use scram::{SCRAM_MAX_ITERATIONS, SCRAM_MIN_ITERATIONS, ScramClient, ScramHash};

/// What a mechanism wants after a server message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslStep {
    /// Send these bytes to the broker (the `auth_bytes` of the next SaslAuthenticate request).
    Respond(Vec<u8>),
    /// The exchange is complete on the client's side.
    Done,
}

/// A SASL client mechanism: a state machine fed with the broker's messages.
///
/// Implementations must be sans-IO (no blocking, no network): everything they need (credentials, tokens,
/// random nonces) is given to them before the exchange starts.
pub trait SaslMechanism: Send {
    /// The mechanism's name as SaslHandshake carries it, e.g. `"SCRAM-SHA-512"`.
    fn name(&self) -> &str;

    /// The first client message (sent in the first SaslAuthenticate request). Called once, first.
    fn initial_response(&mut self) -> Result<Vec<u8>, SaslError>;

    /// The broker's answer to the previous client message (`auth_bytes` of a SaslAuthenticate response with no
    /// error). Returns what to send next, or [`SaslStep::Done`].
    fn step(&mut self, server_message: &[u8]) -> Result<SaslStep, SaslError>;
}

/// Why a SASL exchange failed on the client's side. Never carries a password, token or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// A credential or option given to the mechanism cannot be sent (e.g. a NUL in a PLAIN user name).
    #[error("{mechanism}: invalid {what}: {reason}")]
    InvalidInput {
        /// The mechanism.
        mechanism: &'static str,
        /// Which input (never its value when it is a secret).
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The broker's message does not follow the mechanism's grammar.
    #[error("{mechanism}: malformed server message: {reason}")]
    MalformedServerMessage {
        /// The mechanism.
        mechanism: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// SCRAM: the server nonce does not extend the client nonce (RFC 5802 §5.1).
    #[error("{mechanism}: the server nonce does not start with the client nonce")]
    NonceMismatch {
        /// The mechanism.
        mechanism: &'static str,
    },
    /// SCRAM: the server asks for fewer iterations than the minimum (4096, as Kafka).
    #[error("{mechanism}: iteration count {iterations} is below the minimum {minimum}")]
    IterationCountTooLow {
        /// The mechanism.
        mechanism: &'static str,
        /// What the server asked for.
        iterations: u32,
        /// The minimum accepted.
        minimum: u32,
    },
    /// SCRAM: the server asks for more iterations than the client is willing to compute.
    #[error("{mechanism}: iteration count {iterations} is above the maximum {maximum}")]
    IterationCountTooHigh {
        /// The mechanism.
        mechanism: &'static str,
        /// What the server asked for.
        iterations: u32,
        /// The maximum accepted.
        maximum: u32,
    },
    /// SCRAM: the server's signature does not prove that it knows the credentials (RFC 5802 §3).
    #[error("{mechanism}: the server signature does not verify (the broker may not be who it claims to be)")]
    ServerSignatureMismatch {
        /// The mechanism.
        mechanism: &'static str,
    },
    /// The broker reported an error inside the mechanism's own messages (SCRAM `e=`, OAUTHBEARER error JSON).
    #[error("{mechanism}: the server rejected the authentication: {message}")]
    ServerError {
        /// The mechanism.
        mechanism: &'static str,
        /// The broker's message.
        message: String,
    },
    /// A message arrived when the mechanism expected none (or the exchange was already complete).
    #[error("{mechanism}: unexpected server message {state}")]
    UnexpectedMessage {
        /// The mechanism.
        mechanism: &'static str,
        /// Where the state machine was.
        state: &'static str,
    },
}

/// Escapes a SASL name for SCRAM and the GS2 header (RFC 5802 §5.1): `=` becomes `=3D` and `,` becomes `=2C`.
pub fn escape_sasl_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '=' => out.push_str("=3D"),
            ',' => out.push_str("=2C"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_names_are_escaped() {
        assert_eq!(escape_sasl_name("alice"), "alice");
        assert_eq!(escape_sasl_name("a,b=c"), "a=2Cb=3Dc");
        assert_eq!(escape_sasl_name("=,"), "=3D=2C");
        assert_eq!(escape_sasl_name("jür"), "jür");
    }
}
