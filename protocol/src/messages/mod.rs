//! Request and response codecs, one module per API, each written as one declarative table per message.
//!
//! # The tables
//!
//! A message is a [`message!`](table) table; a struct nested in it (array element or struct field) is a
//! `structure!` table. Each row is one field, in wire order, and reads like the field in Kafka's JSON spec:
//!
//! ```text
//! message! {
//!     /// Heartbeat request.                              <- rustdoc of the struct
//!     pub struct HeartbeatRequest: request(HEARTBEAT -> HeartbeatResponse), versions "0-4", flexible "4+" {
//!         /// The static member's `group.instance.id`.    <- rustdoc of the field
//!         group_instance_id: Option<String> = "GroupInstanceId" "string" "3+" nullable "3+",
//!     }
//! }
//! ```
//!
//! - header: the struct name (also the spec's `name`), `request(KEY -> Response)`, `response(KEY)` or `data`, the
//!   versions this crate implements and the spec's `flexibleVersions`; `pub struct Name untagged ...` for the
//!   non-flexible data specs whose structs carry no `unknown_tagged_fields`;
//! - row: `rust_name: RustType = "SpecName" "spec type" "versions"`, then optionally, in this order,
//!   `nullable "versions"`, `tag N` (tagged in all of the field's versions), `with codec_module` (a hand-written field
//!   codec, see below) and `default EXPR` (the value the field holds where a version lacks it; else `Default`);
//! - versions are the spec's notation: `"0+"`, `"3-7"`, `"5"`, `"none"`, checked at compile time.
//!
//! From one table come: the struct with a rustdoc line per field and `unknown_tagged_fields`; `Default`; the codec
//! ([`table::FieldCodec`], plus [`Encode`], [`Decode`], [`Message`] and [`Request`] for messages); `SPEC`, which the
//! conformance test checks against Kafka's JSON specs, so what is checked is what runs; and, in tests, a proptest
//! strategy for values valid at each version, which every registered message round-trips at every version.
//!
//! What the generated codec does, per version: fields outside the version are not written, and a non-default value
//! in one is [`EncodeError::UnsupportedField`] (never silently dropped); decoding leaves them at their default; a
//! null where the version does not allow one is [`EncodeError::NullNotAllowed`] / [`DecodeError::UnexpectedNull`];
//! tagged fields are written when not default, in tag order, with the unknown ones kept from decoding; strings,
//! byte fields and arrays are compact in flexible versions; arrays are bounded by the bytes left at their element's
//! least wire size before anything is read, and pre-allocated no further than
//! [`Reader::vec_for`](crate::primitives::Reader::vec_for) allows. `Bytes` fields (including Produce's and Fetch's
//! `records`) are slices of the received buffer.
//!
//! Fetch responses have a second reader, [`fetch_view::FetchResponseView`], which the consumer uses: it accepts
//! exactly what the table decode accepts (a property test and the `responses` fuzz target compare the two) and then
//! hands out each partition in place, without building the tree of topics and partitions.
//!
//! Nested structs compose through [`table::FieldCodec`], implemented by every field type: integers,
//! [`ErrorCode`](crate::ErrorCode), [`Uuid`](crate::primitives::Uuid), `String`, `Bytes`, `Vec<T>` and `Option<T>`
//! (nullable strings, bytes, arrays, and structs with their presence byte), and every table struct. A field whose
//! wire form is not a plain function of its type gets a small `with` module (`put`, `get`, `min_size` and, in tests,
//! `arb`): today only Metadata's request topics, where "all topics" is null from v1 but an empty array in v0.
//!
//! To add a message: write its tables in a new module (copy the field rows from the JSON spec), add the module
//! above and the types to the `registry!` list at the bottom of this file. The conformance, golden and round-trip
//! tests then cover it.
//!
//! # Why `macro_rules!`
//!
//! A declarative macro keeps the tables in the crate, readable in review, with no extra build step, no proc-macro
//! crate to compile (the client and the fuzz targets build the protocol crate), and no dependency on `syn`. The rows
//! need nothing a declarative macro cannot do: the per-row options become constants (`Versions::spec` parses the
//! version notation in `const` context), so the generated code is a sequence of `if CONST.contains(version)` that
//! the compiler folds into the same comparisons hand-written code made.

use bytes::{Bytes, BytesMut};

use crate::primitives::{Reader, Versions};
use crate::{ApiKey, DecodeError, EncodeError};

pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod alter_client_quotas;
pub mod alter_partition_reassignments;
pub mod alter_replica_log_dirs;
pub mod alter_user_scram_credentials;
pub mod api_versions;
pub mod consumer_group_describe;
pub mod consumer_group_heartbeat;
pub mod consumer_protocol;
pub mod create_acls;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_acls;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_acls;
pub mod describe_client_quotas;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod describe_log_dirs;
pub mod describe_producers;
pub mod describe_quorum;
pub mod describe_topic_partitions;
pub mod describe_transactions;
pub mod describe_user_scram_credentials;
pub mod elect_leaders;
pub mod end_txn;
pub mod fetch;
pub mod fetch_view;
pub mod find_coordinator;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_config_resources;
pub mod list_groups;
pub mod list_offsets;
pub mod list_partition_reassignments;
pub mod list_transactions;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
#[cfg(test)]
mod round_trip_checks;
pub mod sasl_authenticate;
pub mod sasl_handshake;
pub mod splice;
pub mod sync_group;
pub mod table;
pub mod txn_offset_commit;
pub mod update_features;
pub mod write_txn_markers;

/// What a message spec describes: a request, a response, or a data structure carried inside another message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// A request (`"type": "request"`).
    Request,
    /// A response (`"type": "response"`).
    Response,
    /// A structure serialised inside other messages (`"type": "data"`).
    Data,
}

/// One field of a message, in the terms of Kafka's JSON message specs.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    /// The spec's field name (`"TopicId"`).
    pub name: &'static str,
    /// The spec's type (`"int32"`, `"string"`, `"[]MetadataResponseTopic"`).
    pub ty: &'static str,
    /// Versions in which the field exists.
    pub versions: Versions,
    /// Versions in which it may be null.
    pub nullable_versions: Versions,
    /// Its tag, for a tagged field.
    pub tag: Option<u32>,
    /// Versions in which it is tagged.
    pub tagged_versions: Versions,
    /// The fields of a struct or array-of-struct field.
    pub fields: &'static [FieldSpec],
}

impl FieldSpec {
    /// A field with no null, no tag and no sub-fields.
    pub const fn new(name: &'static str, ty: &'static str, versions: Versions) -> FieldSpec {
        FieldSpec {
            name,
            ty,
            versions,
            nullable_versions: Versions::NONE,
            tag: None,
            tagged_versions: Versions::NONE,
            fields: &[],
        }
    }

    /// The same field, nullable in `v`.
    pub const fn nullable(mut self, v: Versions) -> FieldSpec {
        self.nullable_versions = v;
        self
    }

    /// The same field, tagged with `tag` in `v`.
    pub const fn tagged(mut self, tag: u32, v: Versions) -> FieldSpec {
        self.tag = Some(tag);
        self.tagged_versions = v;
        self
    }

    /// The same field with sub-fields (for struct and array-of-struct types).
    pub const fn with_fields(mut self, fields: &'static [FieldSpec]) -> FieldSpec {
        self.fields = fields;
        self
    }
}

/// The description of one message: the part of Kafka's JSON spec this crate implements.
#[derive(Clone, Copy, Debug)]
pub struct MessageSpec {
    /// The spec's name (`"MetadataRequest"`).
    pub name: &'static str,
    /// The API key, for requests and responses.
    pub api_key: Option<ApiKey>,
    /// Request, response or data.
    pub kind: MessageKind,
    /// Versions this crate implements (a sub-range of the spec's `validVersions`: the Kafka 4.x baseline up).
    pub versions: Versions,
    /// The spec's `flexibleVersions`.
    pub flexible_versions: Versions,
    /// Top-level fields.
    pub fields: &'static [FieldSpec],
}

/// A message body that can be written at a version.
pub trait Encode {
    /// Appends the body at `version` to `buf`.
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError>;
}

/// A message body that can be read at a version.
pub trait Decode: Sized {
    /// Reads the body at `version` from `r`. Does not require `r` to be exhausted; see [`Message::decode_exact`].
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError>;
}

/// A top-level message: its description plus its codec.
pub trait Message: Encode + Decode {
    /// What this crate implements of the message.
    const SPEC: MessageSpec;

    /// Whether `version` uses the flexible (compact, tagged) encoding.
    fn is_flexible(version: i16) -> bool {
        Self::SPEC.flexible_versions.contains(version)
    }

    /// Decodes a whole body: fails unless every byte is consumed.
    fn decode_exact(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        let m = Self::decode(r, version)?;
        r.finish(Self::SPEC.name)?;
        Ok(m)
    }

    /// The `ThrottleTimeMs` of a response that has one (KIP-219: how long the broker asks the client not to send
    /// on this connection because a quota was exceeded); `None` for messages without the field.
    fn throttle_time_ms(&self) -> Option<i32> {
        None
    }

    /// Encodes into a new buffer.
    fn to_bytes(&self, version: i16) -> Result<BytesMut, EncodeError> {
        let mut b = BytesMut::new();
        self.encode(&mut b, version)?;
        Ok(b)
    }
}

/// A request, tied to its API key and its response type.
pub trait Request: Message {
    /// The API key.
    const API_KEY: ApiKey;
    /// The response type.
    type Response: Message;
}

/// Fails unless this crate implements `version` of message `M` (for decoding).
pub fn check_decode_version<M: Message>(version: i16) -> Result<(), DecodeError> {
    if M::SPEC.versions.contains(version) {
        Ok(())
    } else {
        Err(DecodeError::UnsupportedVersion { what: M::SPEC.name, version })
    }
}

/// Fails unless this crate implements `version` of message `M` (for encoding).
pub fn check_encode_version<M: Message>(version: i16) -> Result<(), EncodeError> {
    if M::SPEC.versions.contains(version) {
        Ok(())
    } else {
        Err(EncodeError::UnsupportedVersion { what: M::SPEC.name, version })
    }
}

pub use table::ensure_default;

/// Why a decode → encode → decode round trip failed (see [`reencode`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoundTripError {
    /// The input did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A decoded value did not encode: a codec bug, since decoded values must be encodable at the same version.
    #[error("decoded value does not re-encode: {0}")]
    Encode(EncodeError),
    /// The re-encoded bytes decode to a different value: a codec bug.
    #[error("re-encoded bytes decode to a different value")]
    Mismatch,
}

fn round_trip<M: Message + PartialEq>(body: Bytes, version: i16) -> Result<BytesMut, RoundTripError> {
    let m = M::decode_exact(&mut Reader::new(body), version)?;
    let out = m.to_bytes(version).map_err(RoundTripError::Encode)?;
    let again = M::decode_exact(&mut Reader::new(out.clone().freeze()), version)?;
    if again != m {
        return Err(RoundTripError::Mismatch);
    }
    Ok(out)
}

/// Lists every message type once: generates [`all_specs`] and [`reencode`].
macro_rules! registry {
    ($($t:ty),* $(,)?) => {
        /// Every message spec this crate implements, for the conformance test.
        pub fn all_specs() -> Vec<MessageSpec> {
            vec![$(<$t as Message>::SPEC),*]
        }

        /// Decodes `body` as the message whose spec name is `name` (`"MetadataResponse"`) at `version`, re-encodes
        /// it, and checks that the new bytes decode to the same value. Returns the re-encoded bytes, or `None` for a
        /// name this crate does not implement. Used by the golden-vector tests and the round-trip fuzz target.
        pub fn reencode(name: &str, body: Bytes, version: i16) -> Option<Result<BytesMut, RoundTripError>> {
            $(
                if name == <$t as Message>::SPEC.name {
                    return Some(round_trip::<$t>(body, version));
                }
            )*
            None
        }

        /// Every message's table-generated values round-trip at every version it implements (see
        /// [`round_trip_checks::check_every_version`]).
        #[cfg(test)]
        #[test]
        fn every_table_round_trips_at_every_version() {
            $(
                round_trip_checks::check_every_version::<$t, _>(|version| {
                    let cx = table::Ctx { version, flex: <$t as Message>::SPEC.flexible_versions.contains(version) };
                    <$t as table::arb::Arb>::arb(cx, false)
                });
            )*
        }
    };
}

// Add each new message type here (one line per type).
registry! {
    api_versions::ApiVersionsRequest,
    api_versions::ApiVersionsResponse,
    metadata::MetadataRequest,
    metadata::MetadataResponse,
    produce::ProduceRequest,
    produce::ProduceResponse,
    init_producer_id::InitProducerIdRequest,
    init_producer_id::InitProducerIdResponse,
    find_coordinator::FindCoordinatorRequest,
    find_coordinator::FindCoordinatorResponse,
    create_topics::CreateTopicsRequest,
    create_topics::CreateTopicsResponse,
    delete_topics::DeleteTopicsRequest,
    delete_topics::DeleteTopicsResponse,
    join_group::JoinGroupRequest,
    join_group::JoinGroupResponse,
    sync_group::SyncGroupRequest,
    sync_group::SyncGroupResponse,
    heartbeat::HeartbeatRequest,
    heartbeat::HeartbeatResponse,
    leave_group::LeaveGroupRequest,
    leave_group::LeaveGroupResponse,
    consumer_group_heartbeat::ConsumerGroupHeartbeatRequest,
    consumer_group_heartbeat::ConsumerGroupHeartbeatResponse,
    consumer_protocol::ConsumerProtocolSubscription,
    consumer_protocol::ConsumerProtocolAssignment,
    fetch::FetchRequest,
    fetch::FetchResponse,
    list_offsets::ListOffsetsRequest,
    list_offsets::ListOffsetsResponse,
    offset_for_leader_epoch::OffsetForLeaderEpochRequest,
    offset_for_leader_epoch::OffsetForLeaderEpochResponse,
    offset_commit::OffsetCommitRequest,
    offset_commit::OffsetCommitResponse,
    offset_fetch::OffsetFetchRequest,
    offset_fetch::OffsetFetchResponse,
    add_partitions_to_txn::AddPartitionsToTxnRequest,
    add_partitions_to_txn::AddPartitionsToTxnResponse,
    add_offsets_to_txn::AddOffsetsToTxnRequest,
    add_offsets_to_txn::AddOffsetsToTxnResponse,
    end_txn::EndTxnRequest,
    end_txn::EndTxnResponse,
    txn_offset_commit::TxnOffsetCommitRequest,
    txn_offset_commit::TxnOffsetCommitResponse,
    write_txn_markers::WriteTxnMarkersRequest,
    write_txn_markers::WriteTxnMarkersResponse,
    describe_transactions::DescribeTransactionsRequest,
    describe_transactions::DescribeTransactionsResponse,
    list_transactions::ListTransactionsRequest,
    list_transactions::ListTransactionsResponse,
    sasl_handshake::SaslHandshakeRequest,
    sasl_handshake::SaslHandshakeResponse,
    sasl_authenticate::SaslAuthenticateRequest,
    sasl_authenticate::SaslAuthenticateResponse,
    create_partitions::CreatePartitionsRequest,
    create_partitions::CreatePartitionsResponse,
    describe_configs::DescribeConfigsRequest,
    describe_configs::DescribeConfigsResponse,
    incremental_alter_configs::IncrementalAlterConfigsRequest,
    incremental_alter_configs::IncrementalAlterConfigsResponse,
    describe_cluster::DescribeClusterRequest,
    describe_cluster::DescribeClusterResponse,
    describe_topic_partitions::DescribeTopicPartitionsRequest,
    describe_topic_partitions::DescribeTopicPartitionsResponse,
    list_groups::ListGroupsRequest,
    list_groups::ListGroupsResponse,
    describe_groups::DescribeGroupsRequest,
    describe_groups::DescribeGroupsResponse,
    delete_groups::DeleteGroupsRequest,
    delete_groups::DeleteGroupsResponse,
    consumer_group_describe::ConsumerGroupDescribeRequest,
    consumer_group_describe::ConsumerGroupDescribeResponse,
    offset_delete::OffsetDeleteRequest,
    offset_delete::OffsetDeleteResponse,
    delete_records::DeleteRecordsRequest,
    delete_records::DeleteRecordsResponse,
    list_config_resources::ListConfigResourcesRequest,
    list_config_resources::ListConfigResourcesResponse,
    describe_acls::DescribeAclsRequest,
    describe_acls::DescribeAclsResponse,
    create_acls::CreateAclsRequest,
    create_acls::CreateAclsResponse,
    delete_acls::DeleteAclsRequest,
    delete_acls::DeleteAclsResponse,
    describe_user_scram_credentials::DescribeUserScramCredentialsRequest,
    describe_user_scram_credentials::DescribeUserScramCredentialsResponse,
    alter_user_scram_credentials::AlterUserScramCredentialsRequest,
    alter_user_scram_credentials::AlterUserScramCredentialsResponse,
    describe_client_quotas::DescribeClientQuotasRequest,
    describe_client_quotas::DescribeClientQuotasResponse,
    alter_client_quotas::AlterClientQuotasRequest,
    alter_client_quotas::AlterClientQuotasResponse,
    elect_leaders::ElectLeadersRequest,
    elect_leaders::ElectLeadersResponse,
    alter_partition_reassignments::AlterPartitionReassignmentsRequest,
    alter_partition_reassignments::AlterPartitionReassignmentsResponse,
    list_partition_reassignments::ListPartitionReassignmentsRequest,
    list_partition_reassignments::ListPartitionReassignmentsResponse,
    describe_log_dirs::DescribeLogDirsRequest,
    describe_log_dirs::DescribeLogDirsResponse,
    alter_replica_log_dirs::AlterReplicaLogDirsRequest,
    alter_replica_log_dirs::AlterReplicaLogDirsResponse,
    describe_producers::DescribeProducersRequest,
    describe_producers::DescribeProducersResponse,
    describe_quorum::DescribeQuorumRequest,
    describe_quorum::DescribeQuorumResponse,
    update_features::UpdateFeaturesRequest,
    update_features::UpdateFeaturesResponse,
}

#[cfg(test)]
mod throttle_tests {
    use super::Message;
    use super::end_txn::{EndTxnRequest, EndTxnResponse};
    use super::fetch::FetchResponse;
    use super::produce::ProduceResponse;

    #[test]
    fn responses_expose_their_throttle_time_wherever_the_field_stands() {
        let r = EndTxnResponse { throttle_time_ms: 7, ..Default::default() };
        assert_eq!(r.throttle_time_ms(), Some(7));
        // Produce carries it after the topic responses, Fetch first: the field is found by name, not position.
        let r = ProduceResponse { throttle_time_ms: 250, ..Default::default() };
        assert_eq!(r.throttle_time_ms(), Some(250));
        let r = FetchResponse { throttle_time_ms: 0, ..Default::default() };
        assert_eq!(r.throttle_time_ms(), Some(0));
        // A message without the field.
        assert_eq!(EndTxnRequest::default().throttle_time_ms(), None);
    }
}
