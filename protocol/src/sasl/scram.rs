//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677): a client state machine.
//!
//! ```text
//! client-first   n,,n=<escaped user>,r=<client nonce>[,tokenauth=true]
//! server-first   r=<client nonce><server nonce>,s=<base64 salt>,i=<iterations>
//! client-final   c=biws,r=<nonce>,p=<base64 ClientProof>
//! server-final   v=<base64 ServerSignature>   |   e=<error>
//! ```
//!
//! As Kafka's own client and broker, the password enters PBKDF2 as its UTF-8 bytes (no SASLprep), and no
//! channel binding is offered (`n,,`, which is `biws` in base64).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use super::{SaslError, SaslMechanism, SaslStep, escape_sasl_name};

/// The fewest PBKDF2 iterations a server may ask for (RFC 7677 §4 and Kafka's own minimum).
pub const SCRAM_MIN_ITERATIONS: u32 = 4096;
/// The most PBKDF2 iterations a server may ask for by default: Kafka's broker-side maximum. A hostile server
/// asking for billions would otherwise make the client burn CPU; [`ScramClient::with_max_iterations`] raises it.
pub const SCRAM_MAX_ITERATIONS: u32 = 16_384;

/// `n,,` (no channel binding, no authorization id).
const GS2_HEADER: &str = "n,,";
/// `c=` + base64 of [`GS2_HEADER`].
const CHANNEL_BINDING: &str = "c=biws";

/// The hash function of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    /// SCRAM-SHA-256.
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
}

impl ScramHash {
    /// The SASL mechanism name.
    pub fn mechanism_name(self) -> &'static str {
        match self {
            ScramHash::Sha256 => "SCRAM-SHA-256",
            ScramHash::Sha512 => "SCRAM-SHA-512",
        }
    }

    fn invalid_key(self) -> SaslError {
        SaslError::InvalidInput { mechanism: self.mechanism_name(), what: "HMAC key", reason: "rejected".into() }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, SaslError> {
        Ok(match self {
            ScramHash::Sha256 => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| self.invalid_key())?;
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha512 => {
                let mut mac = Hmac::<Sha512>::new_from_slice(key).map_err(|_| self.invalid_key())?;
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        })
    }

    /// Constant-time check that `HMAC(key, data) == expected`.
    fn hmac_verify(self, key: &[u8], data: &[u8], expected: &[u8]) -> Result<bool, SaslError> {
        Ok(match self {
            ScramHash::Sha256 => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| self.invalid_key())?;
                mac.update(data);
                mac.verify_slice(expected).is_ok()
            }
            ScramHash::Sha512 => {
                let mut mac = Hmac::<Sha512>::new_from_slice(key).map_err(|_| self.invalid_key())?;
                mac.update(data);
                mac.verify_slice(expected).is_ok()
            }
        })
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// `Hi(password, salt, i)`: PBKDF2 with HMAC of this hash, output as long as the hash (RFC 5802's
    /// `SaltedPassword`, what AlterUserScramCredentials stores for a user).
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut out = vec![0; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out
            }
            ScramHash::Sha512 => {
                let mut out = vec![0; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out
            }
        }
    }
}

enum State {
    Initial,
    /// client-first sent; holds client-first-message-bare.
    ClientFirstSent {
        client_first_bare: String,
    },
    /// client-final sent; holds what verifying the server signature needs.
    ClientFinalSent {
        server_key: Vec<u8>,
        auth_message: String,
    },
    Done,
    Failed,
}

impl State {
    fn label(&self) -> &'static str {
        match self {
            State::Initial => "before the client-first message",
            State::ClientFirstSent { .. } => "after client-first",
            State::ClientFinalSent { .. } => "after client-final",
            State::Done => "after completion",
            State::Failed => "after a failure",
        }
    }
}

/// A SCRAM-SHA-256 / SCRAM-SHA-512 client.
///
/// The client nonce comes from the caller (this crate has no randomness): at least 18 random bytes, e.g.
/// through [`ScramClient::nonce_from_random`].
pub struct ScramClient {
    hash: ScramHash,
    username: String,
    password: String,
    client_nonce: String,
    delegation_token: bool,
    max_iterations: u32,
    state: State,
}

impl ScramClient {
    /// A client for `username` / `password` using `client_nonce`, which must be printable ASCII without `,`.
    pub fn new(
        hash: ScramHash,
        username: impl Into<String>,
        password: impl Into<String>,
        client_nonce: impl Into<String>,
    ) -> Self {
        Self {
            hash,
            username: username.into(),
            password: password.into(),
            client_nonce: client_nonce.into(),
            delegation_token: false,
            max_iterations: SCRAM_MAX_ITERATIONS,
            state: State::Initial,
        }
    }

    /// Authenticates with a delegation token (KIP-48): the user name is the token id, the password its HMAC,
    /// and the client-first message carries the `tokenauth=true` extension.
    pub fn with_delegation_token(mut self) -> Self {
        self.delegation_token = true;
        self
    }

    /// Accepts up to `max` PBKDF2 iterations (default [`SCRAM_MAX_ITERATIONS`]).
    pub fn with_max_iterations(mut self, max: u32) -> Self {
        self.max_iterations = max;
        self
    }

    /// A nonce made of the caller's random bytes (base64, so printable and free of `,`).
    pub fn nonce_from_random(random: &[u8]) -> String {
        BASE64.encode(random)
    }

    /// Whether the exchange completed and the server proved it knows the credentials.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Done)
    }

    fn name(&self) -> &'static str {
        self.hash.mechanism_name()
    }

    fn malformed(&self, reason: impl Into<String>) -> SaslError {
        SaslError::MalformedServerMessage { mechanism: self.name(), reason: reason.into() }
    }

    fn server_first(&mut self, client_first_bare: &str, message: &[u8]) -> Result<SaslStep, SaslError> {
        let mechanism = self.name();
        let text = std::str::from_utf8(message).map_err(|_| self.malformed("server-first is not UTF-8"))?;
        let mut attributes = text.split(',');
        let nonce = match attributes.next() {
            Some(a) if a.starts_with("m=") => {
                return Err(self.malformed("server-first has a mandatory extension (m=) this client does not know"));
            }
            Some(a) => a.strip_prefix("r=").ok_or_else(|| self.malformed("server-first does not start with r="))?,
            None => return Err(self.malformed("empty server-first")),
        };
        let salt = attributes
            .next()
            .and_then(|a| a.strip_prefix("s="))
            .ok_or_else(|| self.malformed("server-first has no s= after r="))?;
        let iterations = attributes
            .next()
            .and_then(|a| a.strip_prefix("i="))
            .ok_or_else(|| self.malformed("server-first has no i= after s="))?;
        // Further attributes are extensions (RFC 5802 §5.1): ignored.

        if nonce.len() <= self.client_nonce.len() || !nonce.starts_with(&self.client_nonce) {
            return Err(SaslError::NonceMismatch { mechanism });
        }
        if !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',') {
            return Err(self.malformed("server nonce has characters outside printable ASCII"));
        }
        let salt = BASE64.decode(salt).map_err(|_| self.malformed("salt is not base64"))?;
        if salt.is_empty() {
            return Err(self.malformed("empty salt"));
        }
        if iterations.is_empty() || !iterations.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.malformed("iteration count is not a number"));
        }
        let iterations: u32 = iterations.parse().map_err(|_| self.malformed("iteration count out of range"))?;
        if iterations < SCRAM_MIN_ITERATIONS {
            return Err(SaslError::IterationCountTooLow { mechanism, iterations, minimum: SCRAM_MIN_ITERATIONS });
        }
        if iterations > self.max_iterations {
            return Err(SaslError::IterationCountTooHigh { mechanism, iterations, maximum: self.max_iterations });
        }

        let salted_password = self.hash.salted_password(self.password.as_bytes(), &salt, iterations);
        let client_key = self.hash.hmac(&salted_password, b"Client Key")?;
        let stored_key = self.hash.hash(&client_key);
        let server_key = self.hash.hmac(&salted_password, b"Server Key")?;
        let client_final_without_proof = format!("{CHANNEL_BINDING},r={nonce}");
        let auth_message = format!("{client_first_bare},{text},{client_final_without_proof}");
        let client_signature = self.hash.hmac(&stored_key, auth_message.as_bytes())?;
        let proof: Vec<u8> = client_key.iter().zip(&client_signature).map(|(k, s)| k ^ s).collect();
        let client_final = format!("{client_final_without_proof},p={}", BASE64.encode(proof));
        self.state = State::ClientFinalSent { server_key, auth_message };
        Ok(SaslStep::Respond(client_final.into_bytes()))
    }

    fn server_final(&self, server_key: &[u8], auth_message: &str, message: &[u8]) -> Result<SaslStep, SaslError> {
        let mechanism = self.name();
        let text = std::str::from_utf8(message).map_err(|_| self.malformed("server-final is not UTF-8"))?;
        let first = text.split(',').next().unwrap_or_default();
        if let Some(error) = first.strip_prefix("e=") {
            return Err(SaslError::ServerError { mechanism, message: error.to_owned() });
        }
        let signature = first.strip_prefix("v=").ok_or_else(|| self.malformed("server-final has neither v= nor e="))?;
        let signature = BASE64.decode(signature).map_err(|_| self.malformed("server signature is not base64"))?;
        if self.hash.hmac_verify(server_key, auth_message.as_bytes(), &signature)? {
            Ok(SaslStep::Done)
        } else {
            Err(SaslError::ServerSignatureMismatch { mechanism })
        }
    }
}

impl fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramClient")
            .field("mechanism", &self.name())
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("delegation_token", &self.delegation_token)
            .field("max_iterations", &self.max_iterations)
            .field("state", &self.state.label())
            .finish_non_exhaustive()
    }
}

impl SaslMechanism for ScramClient {
    fn name(&self) -> &str {
        self.hash.mechanism_name()
    }

    fn initial_response(&mut self) -> Result<Vec<u8>, SaslError> {
        let mechanism = self.hash.mechanism_name();
        if !matches!(self.state, State::Initial) {
            return Err(SaslError::UnexpectedMessage { mechanism, state: "initial response asked twice" });
        }
        if self.username.is_empty() {
            return Err(SaslError::InvalidInput { mechanism, what: "user name", reason: "empty".into() });
        }
        if self.client_nonce.is_empty() || !self.client_nonce.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',') {
            return Err(SaslError::InvalidInput {
                mechanism,
                what: "client nonce",
                reason: "must be non-empty printable ASCII without ','".into(),
            });
        }
        let mut client_first_bare = format!("n={},r={}", escape_sasl_name(&self.username), self.client_nonce);
        if self.delegation_token {
            client_first_bare.push_str(",tokenauth=true");
        }
        let message = format!("{GS2_HEADER}{client_first_bare}");
        self.state = State::ClientFirstSent { client_first_bare };
        Ok(message.into_bytes())
    }

    fn step(&mut self, server_message: &[u8]) -> Result<SaslStep, SaslError> {
        let state = std::mem::replace(&mut self.state, State::Failed);
        let result = match &state {
            State::ClientFirstSent { client_first_bare } => self.server_first(client_first_bare, server_message),
            State::ClientFinalSent { server_key, auth_message } => {
                let result = self.server_final(server_key, auth_message, server_message);
                if result.is_ok() {
                    self.state = State::Done;
                }
                result
            }
            other => Err(SaslError::UnexpectedMessage { mechanism: self.hash.mechanism_name(), state: other.label() }),
        };
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }
}

#[cfg(test)]
pub(crate) mod test_server {
    //! The server side of SCRAM, for tests only: checks the client's proof, as a broker does.

    use super::*;

    pub struct ScramTestServer {
        pub hash: ScramHash,
        pub salt: Vec<u8>,
        pub iterations: u32,
        pub stored_key: Vec<u8>,
        pub server_key: Vec<u8>,
        pub server_nonce: String,
        client_first_bare: String,
        server_first: String,
        nonce: String,
    }

    impl ScramTestServer {
        pub fn new(hash: ScramHash, password: &str, salt: &[u8], iterations: u32, server_nonce: &str) -> Self {
            let salted = hash.salted_password(password.as_bytes(), salt, iterations);
            let client_key = hash.hmac(&salted, b"Client Key").unwrap();
            Self {
                hash,
                salt: salt.to_vec(),
                iterations,
                stored_key: hash.hash(&client_key),
                server_key: hash.hmac(&salted, b"Server Key").unwrap(),
                server_nonce: server_nonce.to_owned(),
                client_first_bare: String::new(),
                server_first: String::new(),
                nonce: String::new(),
            }
        }

        /// Returns (user name as sent, server-first).
        pub fn first(&mut self, client_first: &[u8]) -> (String, Vec<u8>) {
            let text = std::str::from_utf8(client_first).unwrap();
            let bare = text.strip_prefix("n,,").expect("gs2 header");
            let mut parts = bare.split(',');
            let user = parts.next().unwrap().strip_prefix("n=").unwrap().to_owned();
            let client_nonce = parts.next().unwrap().strip_prefix("r=").unwrap();
            self.nonce = format!("{client_nonce}{}", self.server_nonce);
            self.client_first_bare = bare.to_owned();
            self.server_first = format!("r={},s={},i={}", self.nonce, BASE64.encode(&self.salt), self.iterations);
            (user, self.server_first.clone().into_bytes())
        }

        /// Checks the client's proof; returns server-final (`v=` or `e=invalid-proof`).
        pub fn last(&mut self, client_final: &[u8]) -> Vec<u8> {
            let text = std::str::from_utf8(client_final).unwrap();
            let (without_proof, proof) = text.rsplit_once(",p=").unwrap();
            assert_eq!(without_proof, format!("c=biws,r={}", self.nonce));
            let auth_message = format!("{},{},{}", self.client_first_bare, self.server_first, without_proof);
            let signature = self.hash.hmac(&self.stored_key, auth_message.as_bytes()).unwrap();
            let proof = BASE64.decode(proof).unwrap();
            let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
            if self.hash.hash(&client_key) != self.stored_key {
                return b"e=invalid-proof".to_vec();
            }
            let server_signature = self.hash.hmac(&self.server_key, auth_message.as_bytes()).unwrap();
            format!("v={}", BASE64.encode(server_signature)).into_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_server::ScramTestServer;
    use super::*;

    fn respond(step: SaslStep) -> Vec<u8> {
        match step {
            SaslStep::Respond(bytes) => bytes,
            SaslStep::Done => panic!("expected a response"),
        }
    }

    /// RFC 7677 §3: user "user", password "pencil".
    #[test]
    fn rfc7677_sha256_vector() {
        let mut client = ScramClient::new(ScramHash::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(client.initial_response().unwrap(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let client_final = respond(client.step(server_first).unwrap());
        assert_eq!(
            String::from_utf8(client_final).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert!(!client.is_complete());
        assert_eq!(client.step(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").unwrap(), SaslStep::Done);
        assert!(client.is_complete());
        assert!(matches!(client.step(b"v=x"), Err(SaslError::UnexpectedMessage { .. })));
    }

    /// SCRAM-SHA-512 has no RFC vector: this one was computed independently with Python's hashlib/hmac
    /// (pbkdf2_hmac("sha512", b"alice-secret", salt, 4096), then RFC 5802 §3 step by step).
    #[test]
    fn sha512_vector_computed_independently() {
        let mut client = ScramClient::new(ScramHash::Sha512, "alice", "alice-secret", "fyko+d2lbbFgONRv9qkxdawL");
        assert_eq!(client.initial_response().unwrap(), b"n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL");
        let server_first = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
        let client_final = String::from_utf8(respond(client.step(server_first).unwrap())).unwrap();
        assert_eq!(client_final, SHA512_CLIENT_FINAL);
        assert_eq!(client.step(SHA512_SERVER_FINAL.as_bytes()).unwrap(), SaslStep::Done);
    }

    const SHA512_CLIENT_FINAL: &str = "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=0eJWNsjwKE57CnG3Y3F0j0R878IhiVME7lCPOAQCAaWPmyG5U0rYj97bR1fy0CO/tKkhVsbtMXYafNCsxUbPIA==";
    const SHA512_SERVER_FINAL: &str =
        "v=BV38XWrAjRQ3k7uQ8/+CMb9yC76900pt4gC/IVYbX3RKcVN9TN7A61yHvv3wN6FAnv7HpM8fo4xeJ4MxWWKtTg==";

    fn round_trip(
        hash: ScramHash,
        user: &str,
        password: &str,
        server_password: &str,
        iterations: u32,
    ) -> Result<SaslStep, SaslError> {
        let mut server = ScramTestServer::new(hash, server_password, b"some salt bytes", iterations, "SeRvEr+NoNcE");
        let mut client = ScramClient::new(hash, user, password, ScramClient::nonce_from_random(&[7; 24]));
        let (sent_user, server_first) = server.first(&client.initial_response()?);
        assert_eq!(sent_user, escape_sasl_name(user));
        let client_final = respond(client.step(&server_first)?);
        client.step(&server.last(&client_final))
    }

    #[test]
    fn round_trips_with_a_test_server() {
        for hash in [ScramHash::Sha256, ScramHash::Sha512] {
            assert_eq!(round_trip(hash, "alice", "alice-secret", "alice-secret", 4096).unwrap(), SaslStep::Done);
            assert_eq!(round_trip(hash, "we=ird,name", "pässwörd", "pässwörd", 8192).unwrap(), SaslStep::Done);
            let err = round_trip(hash, "alice", "wrong", "alice-secret", 4096).unwrap_err();
            assert_eq!(
                err,
                SaslError::ServerError { mechanism: hash.mechanism_name(), message: "invalid-proof".into() }
            );
        }
    }

    #[test]
    fn user_names_are_escaped_in_client_first() {
        let mut client = ScramClient::new(ScramHash::Sha256, "a=b,c", "pw", "nonce");
        assert_eq!(client.initial_response().unwrap(), b"n,,n=a=3Db=2Cc,r=nonce");
    }

    #[test]
    fn delegation_tokens_add_tokenauth() {
        let mut client = ScramClient::new(ScramHash::Sha512, "tokenid", "hmac", "nonce").with_delegation_token();
        assert_eq!(client.initial_response().unwrap(), b"n,,n=tokenid,r=nonce,tokenauth=true");
    }

    fn after_first(server_first: &str) -> Result<SaslStep, SaslError> {
        let mut client = ScramClient::new(ScramHash::Sha256, "user", "pencil", "abc");
        client.initial_response().unwrap();
        client.step(server_first.as_bytes())
    }

    #[test]
    fn the_server_nonce_must_extend_the_client_nonce() {
        for first in ["r=abc,s=c2FsdA==,i=4096", "r=xyzabc,s=c2FsdA==,i=4096", "r=ab,s=c2FsdA==,i=4096"] {
            assert_eq!(
                after_first(first).unwrap_err(),
                SaslError::NonceMismatch { mechanism: "SCRAM-SHA-256" },
                "{first}"
            );
        }
        assert!(after_first("r=abcdef,s=c2FsdA==,i=4096").is_ok());
    }

    #[test]
    fn iteration_counts_outside_the_bounds_are_refused() {
        assert_eq!(
            after_first("r=abcd,s=c2FsdA==,i=4095").unwrap_err(),
            SaslError::IterationCountTooLow { mechanism: "SCRAM-SHA-256", iterations: 4095, minimum: 4096 }
        );
        assert_eq!(
            after_first("r=abcd,s=c2FsdA==,i=4000000000").unwrap_err(),
            SaslError::IterationCountTooHigh { mechanism: "SCRAM-SHA-256", iterations: 4_000_000_000, maximum: 16_384 }
        );
        let mut client = ScramClient::new(ScramHash::Sha256, "u", "p", "abc").with_max_iterations(20_000);
        client.initial_response().unwrap();
        assert!(client.step(b"r=abcd,s=c2FsdA==,i=20000").is_ok());
    }

    #[test]
    fn malformed_server_first_messages_are_errors() {
        for first in [
            "",
            "s=c2FsdA==,r=abcd,i=4096",
            "m=ext,r=abcd,s=c2FsdA==,i=4096",
            "r=abcd,i=4096",
            "r=abcd,s=c2FsdA==",
            "r=abcd,s=***,i=4096",
            "r=abcd,s=,i=4096",
            "r=abcd,s=c2FsdA==,i=-4096",
            "r=abcd,s=c2FsdA==,i=99999999999",
            "r=abcd,s=c2FsdA==,i=",
            "r=abc\u{7f},s=c2FsdA==,i=4096",
        ] {
            assert!(matches!(after_first(first), Err(SaslError::MalformedServerMessage { .. })), "{first:?}");
        }
        let mut client = ScramClient::new(ScramHash::Sha256, "user", "pencil", "abc");
        client.initial_response().unwrap();
        assert!(matches!(client.step(&[0xff, 0xfe]), Err(SaslError::MalformedServerMessage { .. })));
    }

    #[test]
    fn a_wrong_server_signature_is_an_error() {
        let mut client = ScramClient::new(ScramHash::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        client.initial_response().unwrap();
        client.step(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").unwrap();
        // One bit flipped in the RFC's signature.
        assert_eq!(
            client.step(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G8=").unwrap_err(),
            SaslError::ServerSignatureMismatch { mechanism: "SCRAM-SHA-256" }
        );
        assert!(!client.is_complete());
        assert!(client.step(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").is_err(), "no second chance");
    }

    #[test]
    fn server_final_errors_are_reported() {
        let mut client = ScramClient::new(ScramHash::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        client.initial_response().unwrap();
        client.step(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").unwrap();
        assert_eq!(
            client.step(b"e=unknown-user").unwrap_err(),
            SaslError::ServerError { mechanism: "SCRAM-SHA-256", message: "unknown-user".into() }
        );
    }

    #[test]
    fn invalid_inputs_are_refused_before_sending() {
        assert!(matches!(
            ScramClient::new(ScramHash::Sha256, "", "pw", "abc").initial_response(),
            Err(SaslError::InvalidInput { what: "user name", .. })
        ));
        for nonce in ["", "a,b", "a b", "é"] {
            assert!(matches!(
                ScramClient::new(ScramHash::Sha256, "u", "pw", nonce).initial_response(),
                Err(SaslError::InvalidInput { what: "client nonce", .. })
            ));
        }
        let mut client = ScramClient::new(ScramHash::Sha256, "u", "pw", "abc");
        assert!(matches!(client.step(b"r=abcd"), Err(SaslError::UnexpectedMessage { .. })));
    }

    #[test]
    fn debug_and_errors_never_show_the_password() {
        let mut client = ScramClient::new(ScramHash::Sha512, "alice", "very-secret-pw", "abc");
        assert!(!format!("{client:?}").contains("very-secret-pw"));
        client.initial_response().unwrap();
        let _ = client.step(b"r=abcd,s=c2FsdA==,i=4096").unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains("very-secret-pw") && debug.contains("alice"), "{debug}");
        let err = client.step(b"v=AAAA").unwrap_err();
        assert!(!err.to_string().contains("very-secret-pw"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            /// Whatever the broker sends, the client answers or errs: never a panic.
            #[test]
            fn arbitrary_server_messages_never_panic(
                first in proptest::collection::vec(any::<u8>(), 0..128),
                last in proptest::collection::vec(any::<u8>(), 0..128),
                sha512 in any::<bool>(),
            ) {
                let hash = if sha512 { ScramHash::Sha512 } else { ScramHash::Sha256 };
                let mut client = ScramClient::new(hash, "user", "pencil", "abc");
                client.initial_response().unwrap();
                let _ = client.step(&first);
                let _ = client.step(&last);
            }

            /// Messages that follow the grammar but carry arbitrary values: still no panic, and a bad nonce or
            /// iteration count is always refused.
            #[test]
            fn structured_server_first_messages(
                prefix in "[a-c]{0,4}",
                suffix in "[!-+--~]{0,12}",
                salt in proptest::collection::vec(any::<u8>(), 0..16),
                iterations in prop_oneof![0u32..4096, 4096u32..4200, Just(u32::MAX)],
            ) {
                let nonce = format!("{prefix}{suffix}");
                let first = format!(
                    "r={nonce},s={},i={iterations}",
                    base64::engine::general_purpose::STANDARD.encode(&salt)
                );
                let mut client = ScramClient::new(ScramHash::Sha256, "user", "pencil", "abc");
                client.initial_response().unwrap();
                let result = client.step(first.as_bytes());
                let extends = nonce.starts_with("abc") && nonce.len() > 3;
                if result.is_ok() {
                    prop_assert!(extends && (4096..=SCRAM_MAX_ITERATIONS).contains(&iterations) && !salt.is_empty());
                }
                if !extends {
                    prop_assert!(result.is_err());
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

            /// Any user name and password round-trip with the test server (PBKDF2 makes each case slow).
            #[test]
            fn any_credentials_round_trip(user in "\\PC{1,12}", password in "\\PC{1,12}", sha512 in any::<bool>()) {
                let hash = if sha512 { ScramHash::Sha512 } else { ScramHash::Sha256 };
                prop_assert_eq!(round_trip(hash, &user, &password, &password, 4096), Ok(SaslStep::Done));
            }
        }
    }
}
