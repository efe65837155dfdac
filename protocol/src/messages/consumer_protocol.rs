//! The consumer protocol's embedded payloads: what a consumer puts in JoinGroup's protocol metadata
//! ([`ConsumerProtocolSubscription`]) and what the leader puts in SyncGroup's assignments
//! ([`ConsumerProtocolAssignment`]). Both are "data" specs: never sent on their own, always inside a `bytes` field.
//!
//! On the wire each is preceded by an int16 version ([`ConsumerProtocolSubscription::encode_versioned`],
//! [`ConsumerProtocolSubscription::decode_versioned`] and the same on the assignment). As the Java client does, a
//! reader accepts a version newer than it knows by reading the fields it knows and ignoring the rest: newer versions
//! may only append fields. Also as Java does, bytes after the known fields are ignored at any version.

use bytes::{BufMut, Bytes, BytesMut};

use super::table::{message, structure};
use super::{Message, check_encode_version};
use crate::primitives::Reader;
use crate::{DecodeError, EncodeError};

/// Encodes `m` at `version` preceded by the int16 version, as Java's `ConsumerProtocol` serializes it.
fn encode_versioned<M: Message>(m: &M, version: i16) -> Result<BytesMut, EncodeError> {
    check_encode_version::<M>(version)?;
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    m.encode(&mut buf, version)?;
    Ok(buf)
}

/// Reads the int16 version and the payload after it. A version newer than this crate knows is read as the newest
/// known one (its extra fields, appended at the end, are ignored); bytes left after the known fields are ignored.
/// A negative version is an error. Returns the value and the version found on the wire.
fn decode_versioned<M: Message>(body: Bytes) -> Result<(M, i16), DecodeError> {
    let mut r = Reader::new(body);
    let wire = r.i16("consumer protocol version")?;
    let known = M::SPEC.versions;
    if wire < known.min {
        return Err(DecodeError::UnsupportedVersion { what: M::SPEC.name, version: wire });
    }
    let m = M::decode(&mut r, wire.min(known.max))?;
    Ok((m, wire))
}

message! {
    /// A consumer's subscription, sent as its protocol metadata in JoinGroup.
    pub struct ConsumerProtocolSubscription untagged: data, versions "0-3", flexible "none" {
        /// The topics the member wants to consume.
        topics: Vec<String> = "Topics" "[]string" "0+",
        /// User data passed back to the assignor.
        user_data: Option<Bytes> = "UserData" "bytes" "0+" nullable "0+",
        /// The partitions the member owns.
        owned_partitions: Vec<TopicPartition> = "OwnedPartitions" "[]TopicPartition" "1+",
        /// The member's generation (v2+); -1 by default.
        generation_id: i32 = "GenerationId" "int32" "2+" default -1,
        /// The member's rack.
        rack_id: Option<String> = "RackId" "string" "3+" nullable "3+",
    }
}

structure! {
    /// Partitions of one topic, named by topic name.
    pub struct TopicPartition untagged {
        /// The topic name.
        topic: String = "Topic" "string" "0+",
        /// The partition ids.
        partitions: Vec<i32> = "Partitions" "[]int32" "0+",
    }
}

message! {
    /// A consumer's assignment, sent by the leader in SyncGroup and returned to the member.
    pub struct ConsumerProtocolAssignment untagged: data, versions "0-3", flexible "none" {
        /// The partitions assigned to the member.
        assigned_partitions: Vec<TopicPartition> = "AssignedPartitions" "[]TopicPartition" "0+",
        /// User data from the assignor.
        user_data: Option<Bytes> = "UserData" "bytes" "0+" nullable "0+",
    }
}

impl ConsumerProtocolSubscription {
    /// Encodes the subscription at `version` preceded by the int16 version (JoinGroup's protocol metadata).
    pub fn encode_versioned(&self, version: i16) -> Result<BytesMut, EncodeError> {
        encode_versioned(self, version)
    }

    /// Decodes version-prefixed protocol metadata; see the [module documentation](self) for newer versions.
    /// Returns the subscription and the version found on the wire.
    pub fn decode_versioned(body: Bytes) -> Result<(Self, i16), DecodeError> {
        decode_versioned(body)
    }
}

impl ConsumerProtocolAssignment {
    /// Encodes the assignment at `version` preceded by the int16 version (a SyncGroup assignment).
    pub fn encode_versioned(&self, version: i16) -> Result<BytesMut, EncodeError> {
        encode_versioned(self, version)
    }

    /// Decodes a version-prefixed assignment; see the [module documentation](self) for newer versions.
    /// Returns the assignment and the version found on the wire.
    pub fn decode_versioned(body: Bytes) -> Result<(Self, i16), DecodeError> {
        decode_versioned(body)
    }
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;
    use crate::EncodeError;
    use crate::messages::table::Ctx;
    use crate::messages::table::arb::Arb;
    use crate::messages::{Encode, Message};

    const V3: Ctx = Ctx { version: 3, flex: false };

    proptest! {

        /// A newer version appends fields: the known ones are read, the rest ignored.
        #[test]
        fn newer_versions_read_known_fields(
            m in ConsumerProtocolSubscription::arb(V3, false),
            a in ConsumerProtocolAssignment::arb(V3, false),
            newer in 4i16..=i16::MAX,
            extra in vec(any::<u8>(), 0..16),
        ) {
            let mut b = BytesMut::new();
            b.put_i16(newer);
            m.encode(&mut b, 3).unwrap();
            b.extend_from_slice(&extra);
            prop_assert_eq!(ConsumerProtocolSubscription::decode_versioned(b.freeze()).unwrap(), (m, newer));
            let mut b = BytesMut::new();
            b.put_i16(newer);
            a.encode(&mut b, 3).unwrap();
            b.extend_from_slice(&extra);
            prop_assert_eq!(ConsumerProtocolAssignment::decode_versioned(b.freeze()).unwrap(), (a, newer));
        }

    }

    #[test]
    fn field_outside_version_is_an_error() {
        let m = ConsumerProtocolSubscription {
            owned_partitions: vec![TopicPartition { topic: "t".into(), partitions: vec![0] }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(0).unwrap_err(), EncodeError::UnsupportedField { field: "owned_partitions", version: 0 });
        assert!(m.to_bytes(1).is_ok());
        let m = ConsumerProtocolSubscription { generation_id: 4, ..Default::default() };
        assert!(m.to_bytes(1).is_err());
        assert!(m.to_bytes(2).is_ok());
        let m = ConsumerProtocolSubscription { rack_id: Some("r".into()), ..Default::default() };
        assert!(m.encode_versioned(2).is_err());
        assert!(m.encode_versioned(3).is_ok());
        assert!(m.encode_versioned(4).is_err());
    }

    #[test]
    fn negative_version_is_an_error() {
        let b = Bytes::from_static(&[0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert!(ConsumerProtocolSubscription::decode_versioned(b.clone()).is_err());
        assert!(ConsumerProtocolAssignment::decode_versioned(b).is_err());
    }

    #[test]
    fn trailing_bytes_are_ignored_at_known_versions_too() {
        // Java's ConsumerProtocol does not check for leftover bytes at any version.
        let m = ConsumerProtocolAssignment { user_data: Some(Bytes::from_static(b"u")), ..Default::default() };
        let mut b = m.encode_versioned(1).unwrap();
        b.extend_from_slice(&[0, 1, 2]);
        assert_eq!(ConsumerProtocolAssignment::decode_versioned(b.freeze()).unwrap(), (m, 1));
    }

    #[test]
    fn v3_subscription_bytes() {
        let m = ConsumerProtocolSubscription {
            topics: vec!["t".into()],
            user_data: None,
            owned_partitions: vec![TopicPartition { topic: "t".into(), partitions: vec![1] }],
            generation_id: 5,
            rack_id: Some("r".into()),
        };
        let expected: &[u8] = &[
            0, 3, // version
            0, 0, 0, 1, 0, 1, b't', // topics
            0xff, 0xff, 0xff, 0xff, // user_data null
            0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 1, // owned_partitions
            0, 0, 0, 5, // generation_id
            0, 1, b'r', // rack_id
        ];
        assert_eq!(&m.encode_versioned(3).unwrap()[..], expected);
    }
}
