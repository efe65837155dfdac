//! The consumer protocol's embedded payloads: what a consumer puts in JoinGroup's protocol metadata
//! ([`ConsumerProtocolSubscription`]) and what the leader puts in SyncGroup's assignments
//! ([`ConsumerProtocolAssignment`]). Both are "data" specs: never sent on their own, always inside a `bytes` field.
//!
//! On the wire each is preceded by an int16 version ([`ConsumerProtocolSubscription::encode_versioned`],
//! [`ConsumerProtocolSubscription::decode_versioned`] and the same on the assignment). As the Java client does, a
//! reader accepts a version newer than it knows by reading the fields it knows and ignoring the rest: newer versions
//! may only append fields. Also as Java does, bytes after the known fields are ignored at any version.

use bytes::{BufMut, Bytes, BytesMut};

use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{Reader, Versions, WriteExt};
use crate::{DecodeError, EncodeError};

/// The versions of both payloads this crate knows.
const VERSIONS: Versions = Versions::range(0, 3);

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

/// Partitions of one topic, named by topic name.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TopicPartition {
    /// The topic name.
    pub topic: String,
    /// The partition ids.
    pub partitions: Vec<i32>,
}

fn put_topic_partitions(buf: &mut BytesMut, topics: &[TopicPartition], what: &'static str) -> Result<(), EncodeError> {
    buf.put_array_len(Some(topics.len()), false, what)?;
    for t in topics {
        buf.put_string(&t.topic, false, "topic")?;
        buf.put_array_len(Some(t.partitions.len()), false, "partitions")?;
        for p in &t.partitions {
            buf.put_i32(*p);
        }
    }
    Ok(())
}

fn read_topic_partitions(r: &mut Reader, what: &'static str) -> Result<Vec<TopicPartition>, DecodeError> {
    // Each entry is at least a topic length and a partition count.
    let n = r.array_len(false, 6, what)?;
    let mut topics = Vec::with_capacity(n);
    for _ in 0..n {
        let topic = r.string(false, "topic")?;
        let count = r.array_len(false, 4, "partitions")?;
        let mut partitions = Vec::with_capacity(count);
        for _ in 0..count {
            partitions.push(r.i32("partitions")?);
        }
        topics.push(TopicPartition { topic, partitions });
    }
    Ok(topics)
}

/// A consumer's subscription, sent as its protocol metadata in JoinGroup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerProtocolSubscription {
    /// The topics the member wants to consume.
    pub topics: Vec<String>,
    /// User data passed back to the assignor.
    pub user_data: Option<Bytes>,
    /// The partitions the member owns (v1+).
    pub owned_partitions: Vec<TopicPartition>,
    /// The member's generation (v2+); -1 by default.
    pub generation_id: i32,
    /// The member's rack (v3+).
    pub rack_id: Option<String>,
}

impl Default for ConsumerProtocolSubscription {
    fn default() -> Self {
        ConsumerProtocolSubscription {
            topics: Vec::new(),
            user_data: None,
            owned_partitions: Vec::new(),
            generation_id: -1,
            rack_id: None,
        }
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

impl Encode for ConsumerProtocolSubscription {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        buf.put_array_len(Some(self.topics.len()), false, "topics")?;
        for t in &self.topics {
            buf.put_string(t, false, "topics")?;
        }
        buf.put_nullable_bytes(self.user_data.as_deref(), false, "user_data")?;
        if version >= 1 {
            put_topic_partitions(buf, &self.owned_partitions, "owned_partitions")?;
        } else {
            ensure_default(self.owned_partitions.is_empty(), "owned_partitions", version)?;
        }
        if version >= 2 {
            buf.put_i32(self.generation_id);
        } else {
            ensure_default(self.generation_id == -1, "generation_id", version)?;
        }
        if version >= 3 {
            buf.put_nullable_string(self.rack_id.as_deref(), false, "rack_id")?;
        } else {
            ensure_default(self.rack_id.is_none(), "rack_id", version)?;
        }
        Ok(())
    }
}

impl Decode for ConsumerProtocolSubscription {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let n = r.array_len(false, 2, "topics")?;
        let mut topics = Vec::with_capacity(n);
        for _ in 0..n {
            topics.push(r.string(false, "topics")?);
        }
        let mut m = ConsumerProtocolSubscription {
            topics,
            user_data: r.nullable_bytes(false, "user_data")?,
            ..Default::default()
        };
        if version >= 1 {
            m.owned_partitions = read_topic_partitions(r, "owned_partitions")?;
        }
        if version >= 2 {
            m.generation_id = r.i32("generation_id")?;
        }
        if version >= 3 {
            m.rack_id = r.nullable_string(false, "rack_id")?;
        }
        Ok(m)
    }
}

impl Message for ConsumerProtocolSubscription {
    const SPEC: MessageSpec = MessageSpec {
        name: "ConsumerProtocolSubscription",
        api_key: None,
        kind: MessageKind::Data,
        versions: VERSIONS,
        flexible_versions: Versions::NONE,
        fields: &[
            FieldSpec::new("Topics", "[]string", Versions::from(0)),
            FieldSpec::new("UserData", "bytes", Versions::from(0)).nullable(Versions::from(0)),
            FieldSpec::new("OwnedPartitions", "[]TopicPartition", Versions::from(1)).with_fields(&[
                FieldSpec::new("Topic", "string", Versions::from(1)),
                FieldSpec::new("Partitions", "[]int32", Versions::from(1)),
            ]),
            FieldSpec::new("GenerationId", "int32", Versions::from(2)),
            FieldSpec::new("RackId", "string", Versions::from(3)).nullable(Versions::from(3)),
        ],
    };
}

/// A consumer's assignment, sent by the leader in SyncGroup and returned to the member.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ConsumerProtocolAssignment {
    /// The partitions assigned to the member.
    pub assigned_partitions: Vec<TopicPartition>,
    /// User data from the assignor.
    pub user_data: Option<Bytes>,
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

impl Encode for ConsumerProtocolAssignment {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        put_topic_partitions(buf, &self.assigned_partitions, "assigned_partitions")?;
        buf.put_nullable_bytes(self.user_data.as_deref(), false, "user_data")
    }
}

impl Decode for ConsumerProtocolAssignment {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        Ok(ConsumerProtocolAssignment {
            assigned_partitions: read_topic_partitions(r, "assigned_partitions")?,
            user_data: r.nullable_bytes(false, "user_data")?,
        })
    }
}

impl Message for ConsumerProtocolAssignment {
    const SPEC: MessageSpec = MessageSpec {
        name: "ConsumerProtocolAssignment",
        api_key: None,
        kind: MessageKind::Data,
        versions: VERSIONS,
        flexible_versions: Versions::NONE,
        fields: &[
            FieldSpec::new("AssignedPartitions", "[]TopicPartition", Versions::from(0)).with_fields(&[
                FieldSpec::new("Topic", "string", Versions::from(0)),
                FieldSpec::new("Partitions", "[]int32", Versions::from(0)),
            ]),
            FieldSpec::new("UserData", "bytes", Versions::from(0)).nullable(Versions::from(0)),
        ],
    };
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;
    use crate::messages::group_test_support::*;

    fn topic_partition() -> impl Strategy<Value = TopicPartition> {
        (string(), partitions()).prop_map(|(topic, partitions)| TopicPartition { topic, partitions })
    }

    fn subscription(v: i16) -> impl Strategy<Value = ConsumerProtocolSubscription> {
        (
            vec(string(), 0..4),
            opt_bytes(),
            when(v >= 1, vec(topic_partition(), 0..3), Vec::new()),
            when(v >= 2, any::<i32>(), -1),
            when(v >= 3, opt_string(), None),
        )
            .prop_map(|(topics, user_data, owned_partitions, generation_id, rack_id)| {
                ConsumerProtocolSubscription { topics, user_data, owned_partitions, generation_id, rack_id }
            })
    }

    fn assignment() -> impl Strategy<Value = ConsumerProtocolAssignment> {
        (vec(topic_partition(), 0..3), opt_bytes())
            .prop_map(|(assigned_partitions, user_data)| ConsumerProtocolAssignment { assigned_partitions, user_data })
    }

    proptest! {
        #[test]
        fn subscription_round_trips(
            (v, m) in versions::<ConsumerProtocolSubscription>().prop_flat_map(|v| (Just(v), subscription(v)))
        ) {
            check_codec(&m, v)?;
            let prefixed = m.encode_versioned(v).unwrap().freeze();
            prop_assert_eq!(&prefixed[..2], &v.to_be_bytes()[..]);
            prop_assert_eq!(&prefixed[2..], &m.to_bytes(v).unwrap()[..]);
            prop_assert_eq!(ConsumerProtocolSubscription::decode_versioned(prefixed.clone()).unwrap(), (m.clone(), v));
            for cut in 0..prefixed.len() {
                prop_assert!(ConsumerProtocolSubscription::decode_versioned(prefixed.slice(..cut)).is_err());
            }
        }

        #[test]
        fn assignment_round_trips(v in versions::<ConsumerProtocolAssignment>(), m in assignment()) {
            check_codec(&m, v)?;
            let prefixed = m.encode_versioned(v).unwrap().freeze();
            prop_assert_eq!(ConsumerProtocolAssignment::decode_versioned(prefixed.clone()).unwrap(), (m.clone(), v));
            for cut in 0..prefixed.len() {
                prop_assert!(ConsumerProtocolAssignment::decode_versioned(prefixed.slice(..cut)).is_err());
            }
        }

        /// A newer version appends fields: the known ones are read, the rest ignored.
        #[test]
        fn newer_versions_read_known_fields(
            m in subscription(3),
            a in assignment(),
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

        #[test]
        fn garbage_never_panics(input in vec(any::<u8>(), 0..64)) {
            check_garbage::<ConsumerProtocolSubscription>(&input)?;
            check_garbage::<ConsumerProtocolAssignment>(&input)?;
            let _ = ConsumerProtocolSubscription::decode_versioned(Bytes::from(input.clone()));
            let _ = ConsumerProtocolAssignment::decode_versioned(Bytes::from(input));
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
