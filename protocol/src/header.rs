//! Request and response headers, and the rule that picks their version from the API and message version.

use bytes::BufMut;

use crate::primitives::{RawTaggedField, Reader, TaggedFieldsWriter, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError};

/// The header in front of every request (versions 0, 1 and 2).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RequestHeader {
    /// The API key of the request.
    pub api_key: i16,
    /// The version of the request body.
    pub api_version: i16,
    /// Echoed in the response; matches replies to requests.
    pub correlation_id: i32,
    /// The client id (header v1+; always a classic nullable string, even in v2).
    pub client_id: Option<String>,
    /// Tagged fields (v2) this crate does not know.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The header in front of every response (versions 0 and 1).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ResponseHeader {
    /// The correlation id of the request this answers.
    pub correlation_id: i32,
    /// Tagged fields (v1) this crate does not know.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The request header version for a request body version: 2 for flexible bodies, else 1
/// (ControlledShutdown v0, the one user of header v0, is not in Kafka 4.x).
pub fn request_header_version(flexible: bool) -> i16 {
    if flexible { 2 } else { 1 }
}

/// The response header version for a response body version: 1 for flexible bodies, else 0 — except ApiVersions,
/// whose response always uses header v0 so that a client can read it whatever version it asked for.
pub fn response_header_version(api_key: ApiKey, flexible: bool) -> i16 {
    if flexible && api_key != ApiKey::API_VERSIONS { 1 } else { 0 }
}

/// Writes a header's tagged-field section when the header `version` has one (`tagged`); without one, the header
/// can only be written if it carries no tagged fields.
fn encode_tagged_fields(
    buf: &mut impl BufMut,
    fields: &[RawTaggedField],
    tagged: bool,
    version: i16,
) -> Result<(), EncodeError> {
    if tagged {
        let mut t = TaggedFieldsWriter::new();
        t.unknown(fields);
        t.finish(buf)
    } else if fields.is_empty() {
        Ok(())
    } else {
        Err(EncodeError::UnsupportedField { field: "tagged fields", version })
    }
}

impl RequestHeader {
    /// Writes the header at `version` (0, 1 or 2).
    pub fn encode(&self, buf: &mut impl BufMut, version: i16) -> Result<(), EncodeError> {
        if !(0..=2).contains(&version) {
            return Err(EncodeError::UnsupportedVersion { what: "RequestHeader", version });
        }
        buf.put_i16(self.api_key);
        buf.put_i16(self.api_version);
        buf.put_i32(self.correlation_id);
        if version >= 1 {
            buf.put_nullable_string(self.client_id.as_deref(), false, "client_id")?;
        } else if self.client_id.is_some() {
            return Err(EncodeError::UnsupportedField { field: "client_id", version });
        }
        encode_tagged_fields(buf, &self.unknown_tagged_fields, version >= 2, version)
    }

    /// Reads the header at `version` (0, 1 or 2).
    pub fn decode(r: &mut Reader, version: i16) -> Result<RequestHeader, DecodeError> {
        if !(0..=2).contains(&version) {
            return Err(DecodeError::UnsupportedVersion { what: "RequestHeader", version });
        }
        let api_key = r.i16("request api_key")?;
        let api_version = r.i16("request api_version")?;
        let correlation_id = r.i32("request correlation_id")?;
        let client_id = if version >= 1 { r.nullable_string(false, "client_id")? } else { None };
        let unknown_tagged_fields = if version >= 2 { r.tagged_fields(|_, _| Ok(false))? } else { Vec::new() };
        Ok(RequestHeader { api_key, api_version, correlation_id, client_id, unknown_tagged_fields })
    }
}

impl ResponseHeader {
    /// Writes the header at `version` (0 or 1).
    pub fn encode(&self, buf: &mut impl BufMut, version: i16) -> Result<(), EncodeError> {
        if !(0..=1).contains(&version) {
            return Err(EncodeError::UnsupportedVersion { what: "ResponseHeader", version });
        }
        buf.put_i32(self.correlation_id);
        encode_tagged_fields(buf, &self.unknown_tagged_fields, version >= 1, version)
    }

    /// Reads the header at `version` (0 or 1).
    pub fn decode(r: &mut Reader, version: i16) -> Result<ResponseHeader, DecodeError> {
        if !(0..=1).contains(&version) {
            return Err(DecodeError::UnsupportedVersion { what: "ResponseHeader", version });
        }
        let correlation_id = r.i32("response correlation_id")?;
        let unknown_tagged_fields = if version >= 1 { r.tagged_fields(|_, _| Ok(false))? } else { Vec::new() };
        Ok(ResponseHeader { correlation_id, unknown_tagged_fields })
    }
}
