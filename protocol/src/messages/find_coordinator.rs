//! FindCoordinator (key 10): which broker coordinates a group, a transactional id or a share group. Versions 0–6.
//!
//! Versions 0–3 ask for one key and answer with one coordinator; from version 4 a request carries a batch of keys
//! (`coordinator_keys`, KIP-699) and the response one [`Coordinator`] per key. [`FindCoordinatorRequest::for_key`]
//! and [`FindCoordinatorResponse::coordinator`] hide the difference.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// FindCoordinator request.
    pub struct FindCoordinatorRequest: request(FIND_COORDINATOR -> FindCoordinatorResponse), versions "0-6", flexible "3+" {
        /// The key: group id or transactional id.
        key: String = "Key" "string" "0-3",
        /// The kind of key (v1+); see [`CoordinatorType`].
        key_type: i8 = "KeyType" "int8" "1+",
        /// The keys.
        coordinator_keys: Vec<String> = "CoordinatorKeys" "[]string" "4+",
    }
}

message! {
    /// FindCoordinator response.
    pub struct FindCoordinatorResponse: response(FIND_COORDINATOR), versions "0-6", flexible "3+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "1+",
        /// The error.
        error_code: ErrorCode = "ErrorCode" "int16" "0-3",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "1-3" nullable "1-3",
        /// The coordinator's broker id.
        node_id: i32 = "NodeId" "int32" "0-3",
        /// The coordinator's host.
        host: String = "Host" "string" "0-3",
        /// The coordinator's port.
        port: i32 = "Port" "int32" "0-3",
        /// One result per key asked for.
        coordinators: Vec<Coordinator> = "Coordinators" "[]Coordinator" "4+",
    }
}

structure! {
    /// The coordinator of one key (v4+).
    pub struct Coordinator {
        /// The key asked for.
        key: String = "Key" "string" "4+",
        /// The coordinator's broker id.
        node_id: i32 = "NodeId" "int32" "4+",
        /// The coordinator's host.
        host: String = "Host" "string" "4+",
        /// The coordinator's port.
        port: i32 = "Port" "int32" "4+",
        /// The error for this key.
        error_code: ErrorCode = "ErrorCode" "int16" "4+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "4+" nullable "4+",
    }
}

/// The first version with batched keys.
pub const BATCHED_VERSION: i16 = 4;

/// The kind of coordinator asked for (`key_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct CoordinatorType(pub i8);

impl CoordinatorType {
    /// A consumer group's coordinator (0).
    pub const GROUP: CoordinatorType = CoordinatorType(0);
    /// A transactional id's coordinator (1).
    pub const TRANSACTION: CoordinatorType = CoordinatorType(1);
    /// A share group's coordinator (2, v6+).
    pub const SHARE: CoordinatorType = CoordinatorType(2);
}

impl FindCoordinatorRequest {
    /// A request for the coordinator of one key, filled in the way `version` carries it (`key` before v4,
    /// `coordinator_keys` from v4).
    pub fn for_key(version: i16, key_type: CoordinatorType, key: impl Into<String>) -> FindCoordinatorRequest {
        let key = key.into();
        if version >= BATCHED_VERSION {
            FindCoordinatorRequest { key_type: key_type.0, coordinator_keys: vec![key], ..Default::default() }
        } else {
            FindCoordinatorRequest { key, key_type: key_type.0, ..Default::default() }
        }
    }
}

impl FindCoordinatorResponse {
    /// The answer for `key` whatever the version: the entry for `key` in `coordinators` (v4+), or the single
    /// top-level answer (v0–3), as a [`Coordinator`] without tagged fields.
    pub fn coordinator(&self, version: i16, key: &str) -> Option<Coordinator> {
        if version >= BATCHED_VERSION {
            self.coordinators.iter().find(|c| c.key == key).cloned()
        } else {
            Some(Coordinator {
                key: key.to_owned(),
                node_id: self.node_id,
                host: self.host.clone(),
                port: self.port,
                error_code: self.error_code,
                error_message: self.error_message.clone(),
                unknown_tagged_fields: Vec::new(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EncodeError;
    use crate::messages::Message;
    use crate::primitives::Reader;

    #[test]
    fn for_key_picks_the_field_the_version_has() {
        for v in 0..=6 {
            let r = FindCoordinatorRequest::for_key(v, CoordinatorType::GROUP, "g");
            let b = r.to_bytes(v).unwrap();
            assert_eq!(FindCoordinatorRequest::decode_exact(&mut Reader::new(b.freeze()), v).unwrap(), r);
        }
        let r = FindCoordinatorRequest::for_key(1, CoordinatorType::TRANSACTION, "tx");
        assert_eq!(r.to_bytes(0).unwrap_err(), EncodeError::UnsupportedField { field: "key_type", version: 0 });
        assert_eq!(r.to_bytes(4).unwrap_err(), EncodeError::UnsupportedField { field: "key", version: 4 });
    }

    #[test]
    fn coordinator_is_found_at_every_version() {
        let old = FindCoordinatorResponse { node_id: 2, host: "h".into(), port: 9092, ..Default::default() };
        let c = old.coordinator(3, "g").unwrap();
        assert_eq!((c.key.as_str(), c.node_id, c.port), ("g", 2, 9092));
        let new = FindCoordinatorResponse {
            coordinators: vec![Coordinator { key: "g".into(), node_id: 5, ..Default::default() }],
            ..Default::default()
        };
        assert_eq!(new.coordinator(4, "g").unwrap().node_id, 5);
        assert!(new.coordinator(4, "other").is_none());
    }
}
