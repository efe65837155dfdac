//! Every response the client decodes, on hostile bytes: never a panic, and a decode allocates at most a fixed
//! multiple of the bytes it is given (see `alloc_check.rs`; 64 × input + 16 KiB by default). The record batches of a
//! Fetch response that decodes are read too (`records::decode_all` with a 1 MiB decompression cap), within the cap
//! plus the same multiple of their bytes. The response header (v0 and v1) and ApiVersions' `decode_reply` (its v0
//! fallback) are decoded as the connection does.
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

/// The record batches of every partition of a Fetch response, read as the consumer reads them.
fn check_fetch_records(body: Bytes, version: i16) {
    let Ok(resp) = FetchResponse::decode_exact(&mut Reader::new(body), version) else { return };
    for topic in &resp.responses {
        for p in &topic.partitions {
            let Some(records) = p.records.clone() else { continue };
            let len = records.len();
            for verify_crc in [true, false] {
                let options = ReadOptions { verify_crc, max_decompressed_size: CAP };
                let (_, usage) = alloc_check::measure(|| records::decode_all(records.clone(), &options));
                alloc_check::assert_bounded(usage, len, CAP, &format_args!("Fetch v{version} records"));
            }
        }
    }
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
        "FetchResponse" => check_fetch_records(body.clone(), version),
        _ => {}
    }
    for header_version in [0, 1] {
        let (_, usage) =
            alloc_check::measure(|| ResponseHeader::decode(&mut Reader::new(body.clone()), header_version));
        alloc_check::assert_bounded(usage, len, 0, &format_args!("response header v{header_version}"));
    }
});
