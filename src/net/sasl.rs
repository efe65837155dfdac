//! SASL authentication of one connection: drives a [`SaslMechanism`] (from `kafkar_protocol::sasl`) through
//! SaslHandshake and SaslAuthenticate, and turns the outcome into a session (with its KIP-368 lifetime) or a
//! typed [`AuthenticationError`] that names the mechanism and the broker's message.
//!
//! The requests themselves go through a [`SaslTransport`], which the connection implements with the
//! SaslHandshake v1 / SaslAuthenticate v1+ codecs of the message tables (and `tests/secure_real.rs` with
//! hand-encoded frames), so this module depends on neither the codecs nor the connection's internals.
//!
//! Sequence, after ApiVersions: SaslHandshake v1 naming the mechanism (refused:
//! [`AuthenticationError::UnsupportedMechanism`] with the broker's list); then SaslAuthenticate rounds, the first
//! carrying the mechanism's initial response, each next one what the mechanism answers to the broker's bytes,
//! until the mechanism is done. A response with an error code ends it as [`AuthenticationError::Rejected`] with
//! the broker's message. On success, [`SaslSession::reauthenticate_after`] says when to re-authenticate (KIP-368).

use std::future::Future;
use std::io;
use std::time::Duration;

use kafkar_protocol::ErrorCode;
use kafkar_protocol::sasl::{SaslError, SaslMechanism, SaslStep};

/// A SaslHandshake response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeReply {
    /// The error code (NONE, UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE).
    pub error_code: ErrorCode,
    /// The mechanisms the broker enables on this listener.
    pub enabled_mechanisms: Vec<String>,
}

/// A SaslAuthenticate response.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthenticateReply {
    /// The error code.
    pub error_code: ErrorCode,
    /// The broker's message about the error.
    pub error_message: Option<String>,
    /// The mechanism's bytes from the broker.
    pub auth_bytes: Vec<u8>,
    /// The session lifetime in milliseconds (v1+; 0: none).
    pub session_lifetime_ms: i64,
}

impl std::fmt::Debug for AuthenticateReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // auth_bytes can carry credential material (e.g. a SCRAM proof goes the other way, but a custom
        // mechanism's server bytes may be sensitive): only their length.
        f.debug_struct("AuthenticateReply")
            .field("error_code", &self.error_code)
            .field("error_message", &self.error_message)
            .field("auth_bytes_len", &self.auth_bytes.len())
            .field("session_lifetime_ms", &self.session_lifetime_ms)
            .finish()
    }
}

/// How the authentication requests reach the broker: one request, one response, in order.
pub trait SaslTransport {
    /// Sends SaslHandshake (v1) for `mechanism`.
    fn handshake(&mut self, mechanism: &str) -> impl Future<Output = io::Result<HandshakeReply>> + Send;
    /// Sends SaslAuthenticate (v1 or later) with `auth_bytes`.
    fn authenticate(&mut self, auth_bytes: Vec<u8>) -> impl Future<Output = io::Result<AuthenticateReply>> + Send;
}

/// Why authentication failed. Carries the broker's message, never credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthenticationError {
    /// The broker does not enable the mechanism on this listener.
    #[error("SASL mechanism {mechanism} is not enabled on the broker's listener (enabled: {})", enabled.join(", "))]
    UnsupportedMechanism {
        /// The mechanism asked for.
        mechanism: String,
        /// What the broker enables.
        enabled: Vec<String>,
    },
    /// SaslHandshake failed otherwise (e.g. ILLEGAL_SASL_STATE).
    #[error("SaslHandshake for {mechanism} failed: {error_code}")]
    Handshake {
        /// The mechanism.
        mechanism: String,
        /// The broker's error code.
        error_code: ErrorCode,
    },
    /// The broker refused the credentials (SaslAuthenticate error, usually SASL_AUTHENTICATION_FAILED).
    #[error("{mechanism} authentication failed: {}", message.as_deref().unwrap_or("the broker gave no reason"))]
    Rejected {
        /// The mechanism.
        mechanism: String,
        /// The broker's error code.
        error_code: ErrorCode,
        /// The broker's message.
        message: Option<String>,
    },
    /// The mechanism refused the broker's messages (e.g. a SCRAM server signature that does not verify).
    #[error(transparent)]
    Mechanism(#[from] SaslError),
    /// The connection failed during the exchange.
    #[error("{mechanism} authentication: {source}")]
    Io {
        /// The mechanism.
        mechanism: String,
        /// The IO error.
        source: io::Error,
    },
}

/// An authenticated session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslSession {
    /// The mechanism used.
    pub mechanism: String,
    /// How long the broker keeps the session (KIP-368); `None` when it sets no limit.
    pub lifetime: Option<Duration>,
}

impl SaslSession {
    /// When to re-authenticate, counted from the end of this authentication: at 85 % to 95 % of the lifetime
    /// (as Java's client), `jitter` in `[0, 1)` choosing where, so that many connections do not re-authenticate
    /// at once. `None` without a lifetime.
    pub fn reauthenticate_after(&self, jitter: f64) -> Option<Duration> {
        let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
        self.lifetime.map(|lifetime| lifetime.mul_f64(0.85 + 0.10 * jitter))
    }
}

/// A fresh SCRAM client nonce: 24 bytes from the operating system's random source, base64.
pub fn random_scram_nonce() -> io::Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::getrandom(&mut bytes).map_err(|e| io::Error::other(format!("OS random source: {e}")))?;
    Ok(kafkar_protocol::sasl::ScramClient::nonce_from_random(&bytes))
}

/// A uniform value in `[0, 1)` for [`SaslSession::reauthenticate_after`] (0.5 should the OS refuse).
pub fn random_jitter() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::getrandom(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// Authenticates with `mechanism` over `transport`.
pub async fn authenticate<T: SaslTransport + Send>(
    transport: &mut T,
    mechanism: &mut (dyn SaslMechanism + '_),
) -> Result<SaslSession, AuthenticationError> {
    let name = mechanism.name().to_owned();
    let io = |source| AuthenticationError::Io { mechanism: name.clone(), source };
    let handshake = transport.handshake(&name).await.map_err(io)?;
    match handshake.error_code {
        ErrorCode::NONE => {}
        ErrorCode::UNSUPPORTED_SASL_MECHANISM => {
            return Err(AuthenticationError::UnsupportedMechanism {
                mechanism: name,
                enabled: handshake.enabled_mechanisms,
            });
        }
        error_code => return Err(AuthenticationError::Handshake { mechanism: name, error_code }),
    }

    let mut outgoing = mechanism.initial_response()?;
    let mut rounds = 0u32;
    loop {
        rounds += 1;
        let reply = transport.authenticate(outgoing).await.map_err(io)?;
        if reply.error_code != ErrorCode::NONE {
            tracing::debug!(mechanism = %name, error_code = %reply.error_code, "SASL authentication refused");
            return Err(AuthenticationError::Rejected {
                mechanism: name,
                error_code: reply.error_code,
                message: reply.error_message,
            });
        }
        match mechanism.step(&reply.auth_bytes)? {
            SaslStep::Respond(next) => outgoing = next,
            SaslStep::Done => {
                let lifetime =
                    u64::try_from(reply.session_lifetime_ms).ok().filter(|ms| *ms > 0).map(Duration::from_millis);
                tracing::debug!(mechanism = %name, rounds, lifetime_ms = reply.session_lifetime_ms, "SASL authenticated");
                return Ok(SaslSession { mechanism: name, lifetime });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use kafkar_protocol::sasl::{OAuthBearerClient, PlainClient, ScramClient, ScramHash};

    use super::*;

    /// A scripted broker: answers in order, records what it was sent.
    #[derive(Default)]
    struct Scripted {
        handshake: Option<HandshakeReply>,
        replies: VecDeque<io::Result<AuthenticateReply>>,
        sent_mechanism: Option<String>,
        sent: Vec<Vec<u8>>,
    }

    impl SaslTransport for Scripted {
        fn handshake(&mut self, mechanism: &str) -> impl Future<Output = io::Result<HandshakeReply>> + Send {
            self.sent_mechanism = Some(mechanism.to_owned());
            let reply = self.handshake.clone().ok_or_else(|| io::Error::other("no handshake scripted"));
            async move { reply }
        }
        fn authenticate(&mut self, auth_bytes: Vec<u8>) -> impl Future<Output = io::Result<AuthenticateReply>> + Send {
            self.sent.push(auth_bytes);
            let reply = self.replies.pop_front().unwrap_or_else(|| Err(io::ErrorKind::UnexpectedEof.into()));
            async move { reply }
        }
    }

    fn ok_handshake() -> Option<HandshakeReply> {
        Some(HandshakeReply { error_code: ErrorCode::NONE, enabled_mechanisms: vec!["PLAIN".into()] })
    }

    fn reply(bytes: &[u8], lifetime_ms: i64) -> io::Result<AuthenticateReply> {
        Ok(AuthenticateReply {
            error_code: ErrorCode::NONE,
            error_message: None,
            auth_bytes: bytes.to_vec(),
            session_lifetime_ms: lifetime_ms,
        })
    }

    fn refused(message: &str) -> io::Result<AuthenticateReply> {
        Ok(AuthenticateReply {
            error_code: ErrorCode::SASL_AUTHENTICATION_FAILED,
            error_message: Some(message.to_owned()),
            auth_bytes: vec![],
            session_lifetime_ms: 0,
        })
    }

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn plain_in_one_round_with_a_session_lifetime() {
        let mut broker = Scripted { handshake: ok_handshake(), ..Default::default() };
        broker.replies.push_back(reply(b"", 60_000));
        let session = run(authenticate(&mut broker, &mut PlainClient::new("alice", "pw"))).unwrap();
        assert_eq!(broker.sent_mechanism.as_deref(), Some("PLAIN"));
        assert_eq!(broker.sent, vec![b"\0alice\0pw".to_vec()]);
        assert_eq!(session, SaslSession { mechanism: "PLAIN".into(), lifetime: Some(Duration::from_secs(60)) });
        assert_eq!(session.reauthenticate_after(0.0), Some(Duration::from_secs(51)));
        assert_eq!(session.reauthenticate_after(1.0), Some(Duration::from_secs(57)));
        assert_eq!(session.reauthenticate_after(f64::NAN), Some(Duration::from_secs(51)));
        let none = SaslSession { mechanism: "PLAIN".into(), lifetime: None };
        assert_eq!(none.reauthenticate_after(0.5), None);
    }

    #[test]
    fn scram_takes_two_rounds_and_verifies_the_server() {
        // RFC 7677's exchange.
        let mut broker = Scripted { handshake: ok_handshake(), ..Default::default() };
        broker.replies.push_back(reply(
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            0,
        ));
        broker.replies.push_back(reply(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", 0));
        let mut scram = ScramClient::new(ScramHash::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        let session = run(authenticate(&mut broker, &mut scram)).unwrap();
        assert_eq!(broker.sent.len(), 2);
        assert_eq!(session.lifetime, None);

        // The same with a forged server signature: a client-side error, not a session.
        let mut broker = Scripted { handshake: ok_handshake(), ..Default::default() };
        broker.replies.push_back(reply(
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            0,
        ));
        broker.replies.push_back(reply(b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0));
        let mut scram = ScramClient::new(ScramHash::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        let err = run(authenticate(&mut broker, &mut scram)).unwrap_err();
        assert!(matches!(err, AuthenticationError::Mechanism(SaslError::ServerSignatureMismatch { .. })), "{err}");
    }

    #[test]
    fn a_refusal_names_the_mechanism_and_the_brokers_message() {
        let mut broker = Scripted { handshake: ok_handshake(), ..Default::default() };
        broker.replies.push_back(refused("Authentication failed: Invalid username or password"));
        let err = run(authenticate(&mut broker, &mut PlainClient::new("alice", "wrong-pw"))).unwrap_err();
        let text = err.to_string();
        assert_eq!(text, "PLAIN authentication failed: Authentication failed: Invalid username or password");
        assert!(!text.contains("wrong-pw") && !format!("{err:?}").contains("wrong-pw"));
    }

    #[test]
    fn oauthbearer_rejection_is_acknowledged_before_the_error() {
        let mut broker = Scripted { handshake: ok_handshake(), ..Default::default() };
        broker.replies.push_back(reply(br#"{"status":"invalid_token"}"#, 0));
        broker.replies.push_back(refused("Authentication failed: invalid_token"));
        let mut oauth = OAuthBearerClient::new("a.b.c", vec![]).unwrap();
        let err = run(authenticate(&mut broker, &mut oauth)).unwrap_err();
        assert_eq!(broker.sent[1], vec![0x01], "the 0x01 acknowledgement");
        assert!(matches!(err, AuthenticationError::Rejected { ref mechanism, .. } if mechanism == "OAUTHBEARER"));
    }

    #[test]
    fn handshake_failures() {
        let mut broker = Scripted {
            handshake: Some(HandshakeReply {
                error_code: ErrorCode::UNSUPPORTED_SASL_MECHANISM,
                enabled_mechanisms: vec!["SCRAM-SHA-512".into(), "OAUTHBEARER".into()],
            }),
            ..Default::default()
        };
        let err = run(authenticate(&mut broker, &mut PlainClient::new("a", "b"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SASL mechanism PLAIN is not enabled on the broker's listener (enabled: SCRAM-SHA-512, OAUTHBEARER)"
        );
        assert!(broker.sent.is_empty(), "no SaslAuthenticate after a refused handshake");

        let mut broker = Scripted {
            handshake: Some(HandshakeReply { error_code: ErrorCode::ILLEGAL_SASL_STATE, enabled_mechanisms: vec![] }),
            ..Default::default()
        };
        let err = run(authenticate(&mut broker, &mut PlainClient::new("a", "b"))).unwrap_err();
        assert!(matches!(err, AuthenticationError::Handshake { error_code: ErrorCode::ILLEGAL_SASL_STATE, .. }));
    }

    #[test]
    fn random_nonces_and_jitter() {
        let (a, b) = (random_scram_nonce().unwrap(), random_scram_nonce().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        let mut client = ScramClient::new(ScramHash::Sha256, "u", "p", a);
        client.initial_response().expect("a valid nonce");
        let samples: Vec<f64> = (0..64).map(|_| random_jitter()).collect();
        assert!(samples.iter().all(|j| (0.0..1.0).contains(j)));
        assert!(samples.iter().any(|j| *j != samples[0]));
    }

    #[test]
    fn a_dropped_connection_is_an_io_error_naming_the_mechanism() {
        let mut broker = Scripted { handshake: ok_handshake(), ..Default::default() };
        let mut scram = ScramClient::new(ScramHash::Sha512, "u", "p", "nonce");
        let err = run(authenticate(&mut broker, &mut scram)).unwrap_err();
        assert!(matches!(err, AuthenticationError::Io { ref mechanism, .. } if mechanism == "SCRAM-SHA-512"), "{err}");
    }
}
