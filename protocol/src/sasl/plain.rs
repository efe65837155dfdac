//! SASL PLAIN (RFC 4616): one message, `authzid NUL authcid NUL passwd`; Kafka answers with empty bytes.

use std::fmt;

use super::{SaslError, SaslMechanism, SaslStep};

const NAME: &str = "PLAIN";

/// The PLAIN mechanism: user name and password in the clear (use it over TLS only).
pub struct PlainClient {
    authzid: String,
    username: String,
    password: String,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Initial,
    Sent,
    Done,
}

impl PlainClient {
    /// A PLAIN client for `username` / `password`, with no authorization id (Kafka accepts only none or the
    /// user name itself).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self { authzid: String::new(), username: username.into(), password: password.into(), state: State::Initial }
    }

    /// Sets the authorization id (the identity to act as).
    pub fn with_authorization_id(mut self, authzid: impl Into<String>) -> Self {
        self.authzid = authzid.into();
        self
    }

    fn invalid(what: &'static str, reason: &str) -> SaslError {
        SaslError::InvalidInput { mechanism: NAME, what, reason: reason.to_owned() }
    }
}

impl fmt::Debug for PlainClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainClient")
            .field("authzid", &self.authzid)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("state", &self.state)
            .finish()
    }
}

impl SaslMechanism for PlainClient {
    fn name(&self) -> &str {
        NAME
    }

    fn initial_response(&mut self) -> Result<Vec<u8>, SaslError> {
        if self.state != State::Initial {
            return Err(SaslError::UnexpectedMessage { mechanism: NAME, state: "initial response asked twice" });
        }
        if self.username.is_empty() {
            return Err(Self::invalid("user name", "empty"));
        }
        if self.password.is_empty() {
            return Err(Self::invalid("password", "empty"));
        }
        for (what, value) in
            [("authorization id", &self.authzid), ("user name", &self.username), ("password", &self.password)]
        {
            if value.contains('\0') {
                return Err(Self::invalid(what, "contains a NUL character"));
            }
        }
        let mut message = Vec::with_capacity(self.authzid.len() + self.username.len() + self.password.len() + 2);
        message.extend_from_slice(self.authzid.as_bytes());
        message.push(0);
        message.extend_from_slice(self.username.as_bytes());
        message.push(0);
        message.extend_from_slice(self.password.as_bytes());
        self.state = State::Sent;
        Ok(message)
    }

    fn step(&mut self, server_message: &[u8]) -> Result<SaslStep, SaslError> {
        match self.state {
            State::Sent if server_message.is_empty() => {
                self.state = State::Done;
                Ok(SaslStep::Done)
            }
            State::Sent => {
                Err(SaslError::UnexpectedMessage { mechanism: NAME, state: "after the single PLAIN message" })
            }
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

    #[test]
    fn initial_response_is_nul_separated() {
        let mut client = PlainClient::new("alice", "alice-secret");
        assert_eq!(client.name(), "PLAIN");
        assert_eq!(client.initial_response().unwrap(), b"\0alice\0alice-secret");
        assert_eq!(client.step(b"").unwrap(), SaslStep::Done);
        assert!(client.step(b"").is_err());
    }

    #[test]
    fn authorization_id_goes_first() {
        let mut client = PlainClient::new("alice", "pw").with_authorization_id("alice");
        assert_eq!(client.initial_response().unwrap(), b"alice\0alice\0pw");
    }

    #[test]
    fn nul_and_empty_credentials_are_refused() {
        for (user, password, what) in [
            ("a\0b", "pw", "user name"),
            ("alice", "p\0w", "password"),
            ("", "pw", "user name"),
            ("alice", "", "password"),
        ] {
            let err = PlainClient::new(user, password).initial_response().unwrap_err();
            assert!(matches!(err, SaslError::InvalidInput { what: w, .. } if w == what), "{err:?}");
            assert!(!err.to_string().contains("p\0w"));
        }
    }

    #[test]
    fn a_challenge_after_plain_is_an_error() {
        let mut client = PlainClient::new("alice", "pw");
        assert!(client.step(b"").is_err(), "step before the initial response");
        client.initial_response().unwrap();
        assert!(matches!(client.step(b"more?"), Err(SaslError::UnexpectedMessage { .. })));
    }

    #[test]
    fn debug_redacts_the_password() {
        let client = PlainClient::new("alice", "hunter2-secret");
        let debug = format!("{client:?}");
        assert!(debug.contains("alice"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
