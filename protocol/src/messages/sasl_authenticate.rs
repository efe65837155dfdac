//! SaslAuthenticate (key 36): one round of a SASL exchange after a version 1 SaslHandshake. The client sends its
//! mechanism's next token; the broker answers with its own token, or an error and a message when authentication
//! failed. From version 1 the last answer carries the session lifetime (KIP-368): the connection must re-authenticate
//! before it runs out.

use bytes::Bytes;

use super::table::message;
use crate::ErrorCode;

message! {
    /// SaslAuthenticate request.
    pub struct SaslAuthenticateRequest: request(SASL_AUTHENTICATE -> SaslAuthenticateResponse), versions "0-2", flexible "2+" {
        /// The client's SASL token, as the mechanism defines it.
        auth_bytes: Bytes = "AuthBytes" "bytes" "0+",
    }
}

message! {
    /// SaslAuthenticate response.
    pub struct SaslAuthenticateResponse: response(SASL_AUTHENTICATE), versions "0-2", flexible "2+" {
        /// The error code (`SASL_AUTHENTICATION_FAILED` for bad credentials).
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The broker's explanation, when there is an error.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// The broker's SASL token, as the mechanism defines it.
        auth_bytes: Bytes = "AuthBytes" "bytes" "0+",
        /// Milliseconds after which the connection must re-authenticate (v1+); 0 means no limit.
        session_lifetime_ms: i64 = "SessionLifetimeMs" "int64" "1+",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EncodeError;
    use crate::messages::{Decode, Encode};
    use crate::primitives::Reader;

    #[test]
    fn bytes_at_v1_and_v2() {
        let m = SaslAuthenticateRequest { auth_bytes: Bytes::from_static(b"\0u\0p"), ..Default::default() };
        let mut buf = bytes::BytesMut::new();
        m.encode(&mut buf, 1).unwrap();
        assert_eq!(&buf[..], b"\x00\x00\x00\x04\0u\0p");
        buf.clear();
        m.encode(&mut buf, 2).unwrap();
        assert_eq!(&buf[..], b"\x05\0u\0p\x00");
        let reply = Bytes::from_static(b"\x00\x3a\x00\x03bad\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x27\x10");
        let r = SaslAuthenticateResponse::decode(&mut Reader::new(reply), 1).unwrap();
        assert_eq!(r.error_code, ErrorCode::SASL_AUTHENTICATION_FAILED);
        assert_eq!(r.error_message.as_deref(), Some("bad"));
        assert_eq!(r.session_lifetime_ms, 10_000);
    }

    #[test]
    fn lifetime_needs_v1() {
        let m = SaslAuthenticateResponse { session_lifetime_ms: 5, ..Default::default() };
        let mut buf = bytes::BytesMut::new();
        assert_eq!(
            m.encode(&mut buf, 0).unwrap_err(),
            EncodeError::UnsupportedField { field: "session_lifetime_ms", version: 0 }
        );
    }
}
