//! Heartbeat (key 12): a member of a classic group tells the coordinator it is alive; the reply's error code tells
//! it when the group is rebalancing (`REBALANCE_IN_PROGRESS`) or it has been fenced. Since version 3 a static
//! member sends its `group.instance.id`.

use bytes::{BufMut, BytesMut};

use super::struct_codec::{put_unknown_tagged, read_unknown_tagged};
use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(4);

/// Heartbeat request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HeartbeatRequest {
    /// The group id.
    pub group_id: String,
    /// The member's generation.
    pub generation_id: i32,
    /// The member id.
    pub member_id: String,
    /// The static member's `group.instance.id` (v3+).
    pub group_instance_id: Option<String>,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Encode for HeartbeatRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        buf.put_string(&self.group_id, flex, "group_id")?;
        buf.put_i32(self.generation_id);
        buf.put_string(&self.member_id, flex, "member_id")?;
        if version >= 3 {
            buf.put_nullable_string(self.group_instance_id.as_deref(), flex, "group_instance_id")?;
        } else {
            ensure_default(self.group_instance_id.is_none(), "group_instance_id", version)?;
        }
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for HeartbeatRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = HeartbeatRequest {
            group_id: r.string(flex, "group_id")?,
            generation_id: r.i32("generation_id")?,
            member_id: r.string(flex, "member_id")?,
            ..Default::default()
        };
        if version >= 3 {
            m.group_instance_id = r.nullable_string(flex, "group_instance_id")?;
        }
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for HeartbeatRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "HeartbeatRequest",
        api_key: Some(ApiKey::HEARTBEAT),
        kind: MessageKind::Request,
        versions: Versions::range(0, 4),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("GroupId", "string", Versions::from(0)),
            FieldSpec::new("GenerationId", "int32", Versions::from(0)),
            FieldSpec::new("MemberId", "string", Versions::from(0)),
            FieldSpec::new("GroupInstanceId", "string", Versions::from(3)).nullable(Versions::from(3)),
        ],
    };
}

impl Request for HeartbeatRequest {
    const API_KEY: ApiKey = ApiKey::HEARTBEAT;
    type Response = HeartbeatResponse;
}

/// Heartbeat response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HeartbeatResponse {
    /// Throttle time in milliseconds (v1+).
    pub throttle_time_ms: i32,
    /// The error code.
    pub error_code: ErrorCode,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Encode for HeartbeatResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version >= 1 {
            buf.put_i32(self.throttle_time_ms);
        } else {
            ensure_default(self.throttle_time_ms == 0, "throttle_time_ms", version)?;
        }
        buf.put_i16(self.error_code.0);
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for HeartbeatResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = HeartbeatResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32("throttle_time_ms")?;
        }
        m.error_code = ErrorCode(r.i16("error_code")?);
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for HeartbeatResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "HeartbeatResponse",
        api_key: Some(ApiKey::HEARTBEAT),
        kind: MessageKind::Response,
        versions: Versions::range(0, 4),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(1)),
            FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
        ],
    };
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;
    use crate::messages::group_test_support::*;

    fn request(v: i16) -> impl Strategy<Value = HeartbeatRequest> {
        (string(), any::<i32>(), string(), when(v >= 3, opt_string(), None), unknown_tagged(FLEXIBLE.contains(v)))
            .prop_map(|(group_id, generation_id, member_id, group_instance_id, unknown_tagged_fields)| {
                HeartbeatRequest { group_id, generation_id, member_id, group_instance_id, unknown_tagged_fields }
            })
    }

    fn response(v: i16) -> impl Strategy<Value = HeartbeatResponse> {
        (when(v >= 1, any::<i32>(), 0), error_code(), unknown_tagged(FLEXIBLE.contains(v))).prop_map(
            |(throttle_time_ms, error_code, unknown_tagged_fields)| HeartbeatResponse {
                throttle_time_ms,
                error_code,
                unknown_tagged_fields,
            },
        )
    }

    proptest! {
        #[test]
        fn request_round_trips((v, m) in versions::<HeartbeatRequest>().prop_flat_map(|v| (Just(v), request(v)))) {
            check_codec(&m, v)?;
        }

        #[test]
        fn response_round_trips((v, m) in versions::<HeartbeatResponse>().prop_flat_map(|v| (Just(v), response(v)))) {
            check_codec(&m, v)?;
        }

        #[test]
        fn garbage_never_panics(input in vec(any::<u8>(), 0..48)) {
            check_garbage::<HeartbeatRequest>(&input)?;
            check_garbage::<HeartbeatResponse>(&input)?;
        }
    }

    #[test]
    fn field_outside_version_is_an_error() {
        let m = HeartbeatRequest { group_instance_id: Some("i".into()), ..Default::default() };
        assert_eq!(
            m.to_bytes(2).unwrap_err(),
            EncodeError::UnsupportedField { field: "group_instance_id", version: 2 }
        );
        assert!(m.to_bytes(3).is_ok());
        let m = HeartbeatResponse { throttle_time_ms: 1, ..Default::default() };
        assert_eq!(m.to_bytes(0).unwrap_err(), EncodeError::UnsupportedField { field: "throttle_time_ms", version: 0 });
        assert!(m.to_bytes(1).is_ok());
        let m = HeartbeatResponse {
            unknown_tagged_fields: vec![RawTaggedField { tag: 9, data: bytes::Bytes::new() }],
            ..Default::default()
        };
        assert!(m.to_bytes(3).is_err());
        assert!(m.to_bytes(4).is_ok());
    }

    #[test]
    fn v4_bytes() {
        let m = HeartbeatRequest {
            group_id: "g".into(),
            generation_id: 7,
            member_id: "m".into(),
            group_instance_id: Some("i".into()),
            ..Default::default()
        };
        assert_eq!(&m.to_bytes(4).unwrap()[..], &[2, b'g', 0, 0, 0, 7, 2, b'm', 2, b'i', 0]);
        let m = HeartbeatResponse { error_code: ErrorCode::REBALANCE_IN_PROGRESS, ..Default::default() };
        assert_eq!(&m.to_bytes(4).unwrap()[..], &[0, 0, 0, 0, 0, 27, 0]);
    }
}
