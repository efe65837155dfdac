//! SaslHandshake (key 17): the client names the SASL mechanism it wants; the broker answers whether it is enabled and
//! lists the mechanisms it does enable.
//!
//! The table covers the spec's whole range `0-1` because both versions carry the same bytes; they differ only in what
//! follows. After a version 0 handshake the SASL tokens travel as bare size-prefixed frames (the legacy flow, outside
//! the Kafka 4.x baseline); after version 1 they travel inside SaslAuthenticate requests. The client only sends
//! version 1.

use super::table::message;
use crate::ErrorCode;

message! {
    /// SaslHandshake request.
    pub struct SaslHandshakeRequest: request(SASL_HANDSHAKE -> SaslHandshakeResponse), versions "0-1", flexible "none" {
        /// The SASL mechanism the client chose (`PLAIN`, `SCRAM-SHA-256`, ...).
        mechanism: String = "Mechanism" "string" "0+",
    }
}

message! {
    /// SaslHandshake response.
    pub struct SaslHandshakeResponse: response(SASL_HANDSHAKE), versions "0-1", flexible "none" {
        /// The error code (`UNSUPPORTED_SASL_MECHANISM` when the chosen one is not enabled).
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The mechanisms the broker enables on this listener.
        mechanisms: Vec<String> = "Mechanisms" "[]string" "0+",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{Decode, Encode};
    use crate::primitives::Reader;

    #[test]
    fn v1_bytes() {
        let m = SaslHandshakeRequest { mechanism: "PLAIN".into(), ..Default::default() };
        let mut buf = bytes::BytesMut::new();
        m.encode(&mut buf, 1).unwrap();
        assert_eq!(&buf[..], b"\x00\x05PLAIN");
        let reply = bytes::Bytes::from_static(b"\x00\x21\x00\x00\x00\x01\x00\x05PLAIN");
        let r = SaslHandshakeResponse::decode(&mut Reader::new(reply), 1).unwrap();
        assert_eq!(r.error_code, ErrorCode::UNSUPPORTED_SASL_MECHANISM);
        assert_eq!(r.mechanisms, vec!["PLAIN".to_string()]);
    }
}
