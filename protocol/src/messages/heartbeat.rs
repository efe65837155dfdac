//! Heartbeat (key 12): a member of a classic group tells the coordinator it is alive; the reply's error code tells
//! it when the group is rebalancing (`REBALANCE_IN_PROGRESS`) or it has been fenced. Since version 3 a static
//! member sends its `group.instance.id`.

use super::table::message;
use crate::ErrorCode;

message! {
    /// Heartbeat request.
    pub struct HeartbeatRequest: request(HEARTBEAT -> HeartbeatResponse), versions "0-4", flexible "4+" {
        /// The group id.
        group_id: String = "GroupId" "string" "0+",
        /// The member's generation.
        generation_id: i32 = "GenerationId" "int32" "0+",
        /// The member id.
        member_id: String = "MemberId" "string" "0+",
        /// The static member's `group.instance.id`.
        group_instance_id: Option<String> = "GroupInstanceId" "string" "3+" nullable "3+",
    }
}

message! {
    /// Heartbeat response.
    pub struct HeartbeatResponse: response(HEARTBEAT), versions "0-4", flexible "4+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "1+",
        /// The error code.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::EncodeError;
    use crate::messages::Message;
    use crate::primitives::RawTaggedField;

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
