//! Every response the client decodes, on hostile bytes: never a panic, and a decode allocates at most a fixed
//! multiple of the bytes it is given (see `alloc_check.rs`; 64 × input + 16 KiB by default). The record batches of a
//! Fetch response are read too, through `FetchResponseView` as the consumer reads them (the view must accept exactly
//! what the table decode accepts and read the same partitions), with `records::decode_all` and a 1 MiB decompression
//! cap, within the cap plus the same multiple of their bytes. The response header (v0 and v1) and ApiVersions'
//! `decode_reply` (its v0 fallback) are decoded as the connection does.
//!
//! Input layout (the `roundtrip` target's, so that its response seeds serve here as they are):
//! - byte 0 chooses the message: `0x80..=0xef` the response of API key `byte - 0x80`, `0xf0..` the data spec (no API
//!   key) at `byte - 0xf0` in name order; any other byte, or one naming no listed message, picks
//!   `RESPONSES[byte % RESPONSES.len()]`;
//! - byte 1 is the version: used as is when in the message's range, else `min + byte % (number of versions)`;
//! - the rest is the body.
//!
//! The list must name every response in `messages::all_specs()` (checked on the first input), so that a message
//! added to the protocol crate and not here fails the target at once.

#![no_main]

use std::sync::Once;

use bytes::Bytes;
use kafkar_protocol::header::ResponseHeader;
use kafkar_protocol::messages::fetch::FetchResponse;
use kafkar_protocol::messages::fetch_view::FetchResponseView;
use kafkar_protocol::messages::{self, Message, MessageKind};
use kafkar_protocol::primitives::Reader;
use kafkar_protocol::records::{self, ReadOptions};
use libfuzzer_sys::fuzz_target;

#[path = "alloc_check.rs"]
mod alloc_check;

#[global_allocator]
static ALLOCATOR: alloc_check::CountingAllocator = alloc_check::CountingAllocator;

/// Decompression cap for the record batches of a Fetch response.
const CAP: usize = 1 << 20;

/// One decodable message: its spec name, and a function decoding a body at a version under the allocation check.
struct Entry {
    name: &'static str,
    api_key: Option<i16>,
    versions: (i16, i16),
    check: fn(Bytes, i16),
}

macro_rules! responses {
    ($($t:ty),* $(,)?) => {
        &[$(Entry {
            name: <$t as Message>::SPEC.name,
            api_key: match <$t as Message>::SPEC.api_key {
                Some(k) => Some(k.0),
                None => None,
            },
            versions: (<$t as Message>::SPEC.versions.min, <$t as Message>::SPEC.versions.max),
            check: check::<$t>,
        }),*]
    };
}

/// Every response the client decodes, and the group protocol's embedded data it decodes (subscription and
/// assignment). Append only (the fallback selection depends on the order).
static RESPONSES: &[Entry] = responses![
    messages::api_versions::ApiVersionsResponse,
    messages::metadata::MetadataResponse,
    messages::produce::ProduceResponse,
    messages::init_producer_id::InitProducerIdResponse,
    messages::find_coordinator::FindCoordinatorResponse,
    messages::create_topics::CreateTopicsResponse,
    messages::delete_topics::DeleteTopicsResponse,
    messages::join_group::JoinGroupResponse,
    messages::sync_group::SyncGroupResponse,
    messages::heartbeat::HeartbeatResponse,
    messages::leave_group::LeaveGroupResponse,
    messages::consumer_group_heartbeat::ConsumerGroupHeartbeatResponse,
    messages::fetch::FetchResponse,
    messages::list_offsets::ListOffsetsResponse,
    messages::offset_for_leader_epoch::OffsetForLeaderEpochResponse,
    messages::offset_commit::OffsetCommitResponse,
    messages::offset_fetch::OffsetFetchResponse,
    messages::consumer_protocol::ConsumerProtocolSubscription,
    messages::consumer_protocol::ConsumerProtocolAssignment,
    messages::add_partitions_to_txn::AddPartitionsToTxnResponse,
    messages::add_offsets_to_txn::AddOffsetsToTxnResponse,
    messages::end_txn::EndTxnResponse,
    messages::txn_offset_commit::TxnOffsetCommitResponse,
    messages::write_txn_markers::WriteTxnMarkersResponse,
    messages::describe_transactions::DescribeTransactionsResponse,
    messages::list_transactions::ListTransactionsResponse,
    messages::sasl_handshake::SaslHandshakeResponse,
    messages::sasl_authenticate::SaslAuthenticateResponse,
    messages::create_partitions::CreatePartitionsResponse,
    messages::describe_configs::DescribeConfigsResponse,
    messages::incremental_alter_configs::IncrementalAlterConfigsResponse,
    messages::describe_cluster::DescribeClusterResponse,
    messages::describe_topic_partitions::DescribeTopicPartitionsResponse,
    messages::list_groups::ListGroupsResponse,
    messages::describe_groups::DescribeGroupsResponse,
    messages::delete_groups::DeleteGroupsResponse,
    messages::consumer_group_describe::ConsumerGroupDescribeResponse,
    messages::offset_delete::OffsetDeleteResponse,
    messages::delete_records::DeleteRecordsResponse,
    messages::list_config_resources::ListConfigResourcesResponse,
    messages::describe_acls::DescribeAclsResponse,
    messages::create_acls::CreateAclsResponse,
    messages::delete_acls::DeleteAclsResponse,
    messages::describe_user_scram_credentials::DescribeUserScramCredentialsResponse,
    messages::alter_user_scram_credentials::AlterUserScramCredentialsResponse,
    messages::describe_client_quotas::DescribeClientQuotasResponse,
    messages::alter_client_quotas::AlterClientQuotasResponse,
    messages::elect_leaders::ElectLeadersResponse,
    messages::alter_partition_reassignments::AlterPartitionReassignmentsResponse,
    messages::list_partition_reassignments::ListPartitionReassignmentsResponse,
    messages::describe_log_dirs::DescribeLogDirsResponse,
    messages::alter_replica_log_dirs::AlterReplicaLogDirsResponse,
    messages::describe_producers::DescribeProducersResponse,
    messages::describe_quorum::DescribeQuorumResponse,
    messages::update_features::UpdateFeaturesResponse,
];

/// Decodes `body` as `M` at `version`, as a prefix and exactly, each within the allocation bound.
fn check<M: Message>(body: Bytes, version: i16) {
    let len = body.len();
    let name = M::SPEC.name;
    let (_, usage) = alloc_check::measure(|| M::decode(&mut Reader::new(body.clone()), version));
    alloc_check::assert_bounded(usage, len, 0, &format_args!("{name} v{version} decode"));
    let (exact, usage) = alloc_check::measure(|| M::decode_exact(&mut Reader::new(body.clone()), version));
    alloc_check::assert_bounded(usage, len, 0, &format_args!("{name} v{version} decode_exact"));
    drop(exact);
}

/// A Fetch response as the consumer reads it: through [`FetchResponseView`], which must accept exactly what the
/// table decode accepts and read the same partitions, allocating within the same bound; then the record batches of
/// every partition.
fn check_fetch_view(body: Bytes, version: i16) {
    let len = body.len();
    let (view, usage) = alloc_check::measure(|| FetchResponseView::parse(body.clone(), version));
    alloc_check::assert_bounded(usage, len, 0, &format_args!("Fetch v{version} view"));
    let decoded = FetchResponse::decode_exact(&mut Reader::new(body), version);
    assert_eq!(view.is_ok(), decoded.is_ok(), "Fetch v{version}: the view and the decode disagree: {view:?}");
    let (Ok(view), Ok(decoded)) = (view, decoded) else { return };
    let want: Vec<(i32, Option<&[u8]>)> = decoded
        .responses
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (p.partition_index, p.records.as_deref())))
        .collect();
    let mut got = Vec::new();
    for (_, p) in view.partitions() {
        // Every accessor, as the consumer may call them.
        let _ = (p.diverging_epoch(), p.current_leader(), p.snapshot_id());
        let aborted = p.aborted_transactions.clone().map_or(0, Iterator::count);
        assert_eq!(aborted, p.aborted_transactions.as_ref().map_or(0, |a| a.len()));
        got.push((p.partition_index, p.records));
        let Some(records) = p.records.map(|r| view.body().slice_ref(r)) else { continue };
        let len = records.len();
        for verify_crc in [true, false] {
            let options = ReadOptions { verify_crc, max_decompressed_size: CAP };
            let (_, usage) = alloc_check::measure(|| records::decode_all(records.clone(), &options));
            alloc_check::assert_bounded(usage, len, CAP, &format_args!("Fetch v{version} records"));
        }
    }
    assert_eq!(got, want, "Fetch v{version}: the view read other partitions than the decode");
}

fn pick(selector: u8) -> &'static Entry {
    let found = match selector {
        0x80..=0xef => RESPONSES.iter().find(|e| e.api_key == Some(i16::from(selector - 0x80))),
        0xf0.. => {
            let mut data: Vec<&Entry> = RESPONSES.iter().filter(|e| e.api_key.is_none()).collect();
            data.sort_by_key(|e| e.name);
            data.get(usize::from(selector - 0xf0)).copied()
        }
        _ => None,
    };
    found.unwrap_or(&RESPONSES[usize::from(selector) % RESPONSES.len()])
}

fn check_every_response_is_listed() {
    for spec in messages::all_specs() {
        if spec.kind == MessageKind::Response {
            assert!(RESPONSES.iter().any(|e| e.name == spec.name), "{} is missing from RESPONSES", spec.name);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    static LISTED: Once = Once::new();
    LISTED.call_once(check_every_response_is_listed);
    let Some((&[selector, version], body)) = data.split_first_chunk::<2>() else { return };
    let entry = pick(selector);
    let (min, max) = entry.versions;
    let count = (max - min + 1) as u16; // implemented ranges are small and non-empty
    let version = match i16::from(version) {
        v if (min..=max).contains(&v) => v,
        v => min + (v as u16 % count) as i16,
    };
    let body = Bytes::copy_from_slice(body);
    let len = body.len();
    (entry.check)(body.clone(), version);
    match entry.name {
        "ApiVersionsResponse" => {
            let (_, usage) = alloc_check::measure(|| {
                messages::api_versions::ApiVersionsResponse::decode_reply(body.clone(), version)
            });
            alloc_check::assert_bounded(usage, len, 0, &format_args!("ApiVersions v{version} decode_reply"));
        }
        "FetchResponse" => check_fetch_view(body.clone(), version),
        _ => {}
    }
    for header_version in [0, 1] {
        let (_, usage) =
            alloc_check::measure(|| ResponseHeader::decode(&mut Reader::new(body.clone()), header_version));
        alloc_check::assert_bounded(usage, len, 0, &format_args!("response header v{header_version}"));
    }
});
