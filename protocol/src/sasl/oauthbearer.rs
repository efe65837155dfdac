//! SASL OAUTHBEARER (RFC 7628) as Kafka uses it (KIP-255, KIP-342 extensions).
//!
//! The client's only message: `n,[a=<authzid>],` `\x01auth=Bearer <token>\x01` then each extension as
//! `key=value\x01`, then a final `\x01`. The broker answers empty bytes on success. On failure it answers an
//! error JSON (`{"status":"invalid_token",...}`) to which the client must reply with a single `\x01`, after
//! which the SaslAuthenticate response carries the error code.

use std::fmt;

use super::{SaslError, SaslMechanism, SaslStep, escape_sasl_name};

const NAME: &str = "OAUTHBEARER";
const SEPARATOR: u8 = 0x01;

/// The OAUTHBEARER client mechanism, for one token (a new connection or re-authentication builds a new one with
/// the token provider's current token).
pub struct OAuthBearerClient {
    token: String,
    authzid: Option<String>,
    extensions: Vec<(String, String)>,
    state: State,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Initial,
    Sent,
    /// The server sent an error; we answered `\x01` and wait for the final failure.
    Rejected(String),
    Done,
}

impl OAuthBearerClient {
    /// A client presenting `token` (a bearer token, e.g. a JWT) with SASL extensions (e.g. `logicalCluster`,
    /// `identityPoolId`), sent in the given order.
    ///
    /// Checks what Kafka's broker checks: the token is an RFC 6750 `b64token`
    /// (`[-._~+/A-Za-z0-9]+=*`), extension keys are `[A-Za-z]+` and not `auth`, values are
    /// `[\x21-\x7E \t\r\n]+`.
    pub fn new(token: impl Into<String>, extensions: Vec<(String, String)>) -> Result<Self, SaslError> {
        let token = token.into();
        if !is_b64token(&token) {
            return Err(invalid("token", "not an RFC 6750 b64token (letters, digits, -._~+/ then optional =)".into()));
        }
        for (i, (key, value)) in extensions.iter().enumerate() {
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(invalid("extension key", format!("{key:?} must be ASCII letters only")));
            }
            if key == "auth" {
                return Err(invalid("extension key", "\"auth\" is reserved for the token".into()));
            }
            if extensions[..i].iter().any(|(k, _)| k == key) {
                return Err(invalid("extension key", format!("{key:?} appears twice")));
            }
            if value.is_empty() || !value.bytes().all(|b| matches!(b, 0x21..=0x7e | b' ' | b'\t' | b'\r' | b'\n')) {
                return Err(invalid(
                    "extension value",
                    format!("the value of {key:?} must be printable ASCII, space, tab, CR or LF, and not empty"),
                ));
            }
        }
        Ok(Self { token, authzid: None, extensions, state: State::Initial })
    }

    /// Sets the authorization id (`a=` in the GS2 header).
    pub fn with_authorization_id(mut self, authzid: impl Into<String>) -> Self {
        self.authzid = Some(authzid.into());
        self
    }

    /// The broker's error JSON, once it has rejected the token.
    pub fn rejection(&self) -> Option<&str> {
        match &self.state {
            State::Rejected(message) => Some(message),
            _ => None,
        }
    }
}

fn invalid(what: &'static str, reason: String) -> SaslError {
    SaslError::InvalidInput { mechanism: NAME, what, reason }
}

fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
}

impl fmt::Debug for OAuthBearerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self.extensions.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("OAuthBearerClient")
            .field("token", &"<redacted>")
            .field("authzid", &self.authzid)
            .field("extension_keys", &keys)
            .field("state", &self.state)
            .finish()
    }
}

impl SaslMechanism for OAuthBearerClient {
    fn name(&self) -> &str {
        NAME
    }

    fn initial_response(&mut self) -> Result<Vec<u8>, SaslError> {
        if self.state != State::Initial {
            return Err(SaslError::UnexpectedMessage { mechanism: NAME, state: "initial response asked twice" });
        }
        let mut message = Vec::with_capacity(32 + self.token.len());
        message.extend_from_slice(b"n,");
        if let Some(authzid) = &self.authzid {
            message.extend_from_slice(b"a=");
            message.extend_from_slice(escape_sasl_name(authzid).as_bytes());
        }
        message.push(b',');
        message.push(SEPARATOR);
        message.extend_from_slice(b"auth=Bearer ");
        message.extend_from_slice(self.token.as_bytes());
        message.push(SEPARATOR);
        for (key, value) in &self.extensions {
            message.extend_from_slice(key.as_bytes());
            message.push(b'=');
            message.extend_from_slice(value.as_bytes());
            message.push(SEPARATOR);
        }
        message.push(SEPARATOR);
        self.state = State::Sent;
        Ok(message)
    }

    fn step(&mut self, server_message: &[u8]) -> Result<SaslStep, SaslError> {
        match &self.state {
            State::Sent if server_message.is_empty() => {
                self.state = State::Done;
                Ok(SaslStep::Done)
            }
            State::Sent => {
                // RFC 7628 §3.2.2: the error JSON; acknowledge it so the broker can end the exchange.
                self.state = State::Rejected(String::from_utf8_lossy(server_message).into_owned());
                Ok(SaslStep::Respond(vec![SEPARATOR]))
            }
            State::Rejected(message) => Err(SaslError::ServerError { mechanism: NAME, message: message.clone() }),
            State::Initial => {
                Err(SaslError::UnexpectedMessage { mechanism: NAME, state: "before the initial response" })
            }
            State::Done => Err(SaslError::UnexpectedMessage { mechanism: NAME, state: "after completion" }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn initial_response_without_extensions() {
        // The layout Kafka's own client produces for a token and no extensions.
        let mut client = OAuthBearerClient::new("123.345.567", vec![]).unwrap();
        assert_eq!(client.initial_response().unwrap(), b"n,,\x01auth=Bearer 123.345.567\x01\x01");
        assert_eq!(client.step(b"").unwrap(), SaslStep::Done);
    }

    #[test]
    fn extensions_follow_the_token_in_order() {
        let mut client = OAuthBearerClient::new(
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
            ext(&[("logicalCluster", "lkc-abc123"), ("identityPoolId", "pool-XyZ")]),
        )
        .unwrap();
        assert_eq!(
            client.initial_response().unwrap(),
            b"n,,\x01auth=Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.\x01logicalCluster=lkc-abc123\x01identityPoolId=pool-XyZ\x01\x01"
        );
    }

    #[test]
    fn authorization_id_is_escaped_into_the_gs2_header() {
        let mut client = OAuthBearerClient::new("t", vec![]).unwrap().with_authorization_id("a,b");
        assert_eq!(client.initial_response().unwrap(), b"n,a=a=2Cb,\x01auth=Bearer t\x01\x01");
    }

    #[test]
    fn invalid_tokens_and_extensions_are_refused() {
        for token in ["", "has space", "a\x01b", "==", "tok=en", "é"] {
            assert!(OAuthBearerClient::new(token, vec![]).is_err(), "{token:?}");
        }
        assert!(OAuthBearerClient::new("abc==", vec![]).is_ok());
        assert!(OAuthBearerClient::new("a-b.c_d~e+f/g", vec![]).is_ok());
        for pairs in [
            &[("auth", "x")][..],
            &[("key1", "x")],
            &[("", "x")],
            &[("ok", "")],
            &[("ok", "a\x01b")],
            &[("ok", "caf\u{e9}")],
            &[("a", "1"), ("a", "2")],
        ] {
            assert!(
                matches!(OAuthBearerClient::new("t", ext(pairs)), Err(SaslError::InvalidInput { .. })),
                "{pairs:?}"
            );
        }
        assert!(OAuthBearerClient::new("t", ext(&[("ok", "spaces and\ttabs are fine")])).is_ok());
    }

    #[test]
    fn a_rejection_is_acknowledged_then_reported() {
        let mut client = OAuthBearerClient::new("t", vec![]).unwrap();
        client.initial_response().unwrap();
        let error = br#"{"status":"invalid_token"}"#;
        assert_eq!(client.step(error).unwrap(), SaslStep::Respond(vec![0x01]));
        assert_eq!(client.rejection(), Some(r#"{"status":"invalid_token"}"#));
        assert_eq!(
            client.step(b"").unwrap_err(),
            SaslError::ServerError { mechanism: "OAUTHBEARER", message: r#"{"status":"invalid_token"}"#.into() }
        );
    }

    #[test]
    fn debug_redacts_the_token_and_extension_values() {
        let client = OAuthBearerClient::new("secret.token.value", ext(&[("logicalCluster", "lkc-private")])).unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains("secret.token.value") && !debug.contains("lkc-private"), "{debug}");
        assert!(debug.contains("logicalCluster"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever the inputs, either they are refused or the message has exactly the RFC 7628 layout: the
            /// token and every extension in its own 0x01-separated field, nothing able to forge another field.
            #[test]
            fn accepted_inputs_make_a_well_formed_message(
                token in "\\PC{0,20}",
                extensions in proptest::collection::vec(("\\PC{0,6}", "\\PC{0,8}"), 0..3),
            ) {
                let Ok(mut client) = OAuthBearerClient::new(token.clone(), extensions.clone()) else { return Ok(()) };
                let message = client.initial_response().unwrap();
                let fields: Vec<&[u8]> = message.split(|b| *b == SEPARATOR).collect();
                prop_assert_eq!(fields[0], b"n,,");
                let auth = format!("auth=Bearer {token}");
                prop_assert_eq!(fields[1], auth.as_bytes());
                prop_assert_eq!(fields.len(), 4 + extensions.len(), "{:?}", fields);
                for (i, (key, value)) in extensions.iter().enumerate() {
                    let field = format!("{key}={value}");
                    prop_assert_eq!(fields[2 + i], field.as_bytes());
                }
                prop_assert!(fields[fields.len() - 2].is_empty() && fields[fields.len() - 1].is_empty());
            }

            #[test]
            fn arbitrary_server_messages_never_panic(first in proptest::collection::vec(any::<u8>(), 0..64)) {
                let mut client = OAuthBearerClient::new("t", vec![]).unwrap();
                client.initial_response().unwrap();
                let _ = client.step(&first);
                let _ = client.step(&first);
            }
        }
    }
}
