//! Fetch (key 1): reads record data from partition leaders (or from a preferred read replica), incrementally within
//! a fetch session (KIP-227).
//!
//! The response's `records` are kept as a [`Bytes`] slice of the received buffer (no copy); the records module
//! reads the batches out of it.

use bytes::Bytes;

use super::table::{message, structure};
use crate::ErrorCode;
use crate::primitives::Uuid;

message! {
    /// Fetch request.
    pub struct FetchRequest: request(FETCH -> FetchResponse), versions "4-18", flexible "12+" {
        /// The cluster id, if known (v12+, tag 0); used to validate metadata fetches before broker registration.
        cluster_id: Option<String> = "ClusterId" "string" "12+" nullable "12+" tag 0,
        /// The broker id of the follower, or -1 for a consumer (later in `replica_state`).
        replica_id: i32 = "ReplicaId" "int32" "0-14" default -1,
        /// The state of the follower replica (v15+, tag 1).
        replica_state: ReplicaState = "ReplicaState" "ReplicaState" "15+" tag 1 default ReplicaState::default(),
        /// Maximum time to wait for `min_bytes`, in milliseconds.
        max_wait_ms: i32 = "MaxWaitMs" "int32" "0+",
        /// Minimum bytes to accumulate before answering.
        min_bytes: i32 = "MinBytes" "int32" "0+",
        /// Maximum bytes in the response (KIP-74: the first batch is returned even if larger).
        max_bytes: i32 = "MaxBytes" "int32" "3+" default i32::MAX,
        /// [`READ_UNCOMMITTED`] or [`READ_COMMITTED`].
        isolation_level: i8 = "IsolationLevel" "int8" "4+" default READ_UNCOMMITTED,
        /// The fetch session id, 0 when not in a session.
        session_id: i32 = "SessionId" "int32" "7+",
        /// The fetch session epoch: -1 for a full fetch without session, 0 to open a session.
        session_epoch: i32 = "SessionEpoch" "int32" "7+" default -1,
        /// The topics to fetch.
        topics: Vec<FetchTopic> = "Topics" "[]FetchTopic" "0+",
        /// In an incremental fetch, the partitions to remove from the session.
        forgotten_topics_data: Vec<ForgottenTopic> = "ForgottenTopicsData" "[]ForgottenTopic" "7+",
        /// The rack of the consumer, for follower fetching.
        rack_id: String = "RackId" "string" "11+",
    }
}

structure! {
    /// The state of a follower replica (v15+).
    pub struct ReplicaState {
        /// The follower's replica id, or -1 for a consumer.
        replica_id: i32 = "ReplicaId" "int32" "15+" default -1,
        /// The follower's broker epoch, or -1.
        replica_epoch: i64 = "ReplicaEpoch" "int64" "15+" default -1,
    }
}

structure! {
    /// A topic to fetch.
    pub struct FetchTopic {
        /// The topic name.
        topic: String = "Topic" "string" "0-12",
        /// The topic id.
        topic_id: Uuid = "TopicId" "uuid" "13+",
        /// The partitions to fetch.
        partitions: Vec<FetchPartition> = "Partitions" "[]FetchPartition" "0+",
    }
}

structure! {
    /// Partitions to remove from a fetch session (v7+).
    pub struct ForgottenTopic {
        /// The topic name.
        topic: String = "Topic" "string" "7-12",
        /// The topic id.
        topic_id: Uuid = "TopicId" "uuid" "13+",
        /// The partition indexes to forget.
        partitions: Vec<i32> = "Partitions" "[]int32" "7+",
    }
}

structure! {
    /// A partition to fetch.
    pub struct FetchPartition {
        /// The partition index.
        partition: i32 = "Partition" "int32" "0+",
        /// The leader epoch the client knows, or -1.
        current_leader_epoch: i32 = "CurrentLeaderEpoch" "int32" "9+" default -1,
        /// The offset to fetch from.
        fetch_offset: i64 = "FetchOffset" "int64" "0+",
        /// The epoch of the last fetched record, or -1.
        last_fetched_epoch: i32 = "LastFetchedEpoch" "int32" "12+" default -1,
        /// The follower's log start offset, or -1 (followers only).
        log_start_offset: i64 = "LogStartOffset" "int64" "5+" default -1,
        /// Maximum bytes to return for this partition.
        partition_max_bytes: i32 = "PartitionMaxBytes" "int32" "0+",
        /// The directory id of the fetching follower (v17+, tag 0).
        replica_directory_id: Uuid = "ReplicaDirectoryId" "uuid" "17+" tag 0,
        /// The high watermark the replica knows: -1 if unknown, `i64::MAX` if not supported (v18+, tag 1).
        high_watermark: i64 = "HighWatermark" "int64" "18+" tag 1 default i64::MAX,
    }
}

message! {
    /// Fetch response.
    pub struct FetchResponse: response(FETCH), versions "4-18", flexible "12+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "1+",
        /// Top-level error (v7+), e.g. a fetch session error.
        error_code: ErrorCode = "ErrorCode" "int16" "7+",
        /// The fetch session id, or 0 when not in a session.
        session_id: i32 = "SessionId" "int32" "7+",
        /// The response topics.
        responses: Vec<FetchableTopicResponse> = "Responses" "[]FetchableTopicResponse" "0+",
        /// Endpoints of the leaders named in partitions that failed with `NOT_LEADER_OR_FOLLOWER` or
        /// `FENCED_LEADER_EPOCH` (v16+, tag 0).
        node_endpoints: Vec<NodeEndpoint> = "NodeEndpoints" "[]NodeEndpoint" "16+" tag 0,
    }
}

structure! {
    /// One topic of a fetch response.
    pub struct FetchableTopicResponse {
        /// The topic name.
        topic: String = "Topic" "string" "0-12",
        /// The topic id.
        topic_id: Uuid = "TopicId" "uuid" "13+",
        /// The partitions.
        partitions: Vec<PartitionData> = "Partitions" "[]PartitionData" "0+",
    }
}

structure! {
    /// A broker endpoint (v16+).
    pub struct NodeEndpoint {
        /// The broker id.
        node_id: i32 = "NodeId" "int32" "16+",
        /// Host name.
        host: String = "Host" "string" "16+",
        /// Port.
        port: i32 = "Port" "int32" "16+",
        /// Rack, or null.
        rack: Option<String> = "Rack" "string" "16+" nullable "16+",
    }
}

structure! {
    /// One partition of a fetch response.
    pub struct PartitionData {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The partition's error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The high watermark.
        high_watermark: i64 = "HighWatermark" "int64" "0+",
        /// The last stable offset, or -1.
        last_stable_offset: i64 = "LastStableOffset" "int64" "4+" default -1,
        /// The log start offset, or -1.
        log_start_offset: i64 = "LogStartOffset" "int64" "5+" default -1,
        /// The largest epoch and its end offset before the log diverges from the fetcher's (v12+, tag 0).
        diverging_epoch: EpochEndOffset = "DivergingEpoch" "EpochEndOffset" "12+" tag 0 default EpochEndOffset::default(),
        /// The current leader, sent with leadership errors (v12+, tag 1).
        current_leader: LeaderIdAndEpoch = "CurrentLeader" "LeaderIdAndEpoch" "12+" tag 1 default LeaderIdAndEpoch::default(),
        /// The snapshot to fetch when the fetch offset is below the log start offset (v12+, tag 2).
        snapshot_id: SnapshotId = "SnapshotId" "SnapshotId" "12+" tag 2 default SnapshotId::default(),
        /// Aborted transactions in the returned range (read committed only; may be null).
        aborted_transactions: Option<Vec<AbortedTransaction>> = "AbortedTransactions" "[]AbortedTransaction" "4+" nullable "4+" default Some(Vec::new()),
        /// The replica the consumer should fetch from next, or -1.
        preferred_read_replica: i32 = "PreferredReadReplica" "int32" "11+" default -1,
        /// The record data: a slice of the response buffer (no copy), or null.
        records: Option<Bytes> = "Records" "records" "0+" nullable "0+",
    }
}

structure! {
    /// An epoch and its end offset (the `DivergingEpoch` of a fetch response).
    pub struct EpochEndOffset {
        /// The largest epoch, or -1.
        epoch: i32 = "Epoch" "int32" "12+" default -1,
        /// Its end offset, or -1.
        end_offset: i64 = "EndOffset" "int64" "12+" default -1,
    }
}

structure! {
    /// A partition leader and its epoch.
    pub struct LeaderIdAndEpoch {
        /// The leader's broker id, or -1 if unknown.
        leader_id: i32 = "LeaderId" "int32" "12+" default -1,
        /// The leader epoch, or -1.
        leader_epoch: i32 = "LeaderEpoch" "int32" "12+" default -1,
    }
}

structure! {
    /// A snapshot's end offset and epoch.
    pub struct SnapshotId {
        /// The end offset, or -1.
        end_offset: i64 = "EndOffset" "int64" "0+" default -1,
        /// The epoch, or -1.
        epoch: i32 = "Epoch" "int32" "0+" default -1,
    }
}

structure! {
    /// An aborted transaction within the fetched range.
    pub struct AbortedTransaction {
        /// The producer id of the transaction.
        producer_id: i64 = "ProducerId" "int64" "4+",
        /// The first offset of the transaction.
        first_offset: i64 = "FirstOffset" "int64" "4+",
    }
}

/// Isolation level that makes every record visible, including those of open and aborted transactions.
pub const READ_UNCOMMITTED: i8 = 0;

/// Isolation level that hides records of open and aborted transactions (reads up to the last stable offset).
pub const READ_COMMITTED: i8 = 1;

#[cfg(test)]
mod tests {

    use super::*;
    use bytes::BytesMut;

    use crate::messages::Message;
    use crate::primitives::{RawTaggedField, Reader};
    use crate::{DecodeError, EncodeError};

    #[test]
    fn records_are_a_slice_of_the_input_buffer() {
        let records = Bytes::from_static(b"record batch bytes, opaque to the fetch codec");
        for version in 4..=18 {
            let m = FetchResponse {
                responses: vec![FetchableTopicResponse {
                    topic: if version <= 12 { "t".into() } else { String::new() },
                    topic_id: if version >= 13 { Uuid([7; 16]) } else { Uuid::ZERO },
                    partitions: vec![PartitionData { records: Some(records.clone()), ..Default::default() }],
                    ..Default::default()
                }],
                ..Default::default()
            };
            let input = m.to_bytes(version).unwrap().freeze();
            let got = FetchResponse::decode_exact(&mut Reader::new(input.clone()), version).unwrap();
            let out = got.responses[0].partitions[0].records.as_ref().unwrap();
            assert_eq!(out, &records);
            let start = input.as_ptr() as usize;
            let p = out.as_ptr() as usize;
            assert!(p >= start && p + out.len() <= start + input.len(), "v{version}: records were copied");
        }
    }

    #[test]
    fn fields_outside_a_version_are_errors() {
        let unsupported = |m: &dyn Fn() -> Result<BytesMut, EncodeError>, field: &'static str, version: i16| {
            assert_eq!(m().unwrap_err(), EncodeError::UnsupportedField { field, version });
        };
        let r = FetchRequest { session_id: 5, ..Default::default() };
        unsupported(&|| r.to_bytes(6), "session_id", 6);
        assert!(r.to_bytes(7).is_ok());
        let r = FetchRequest { rack_id: "r".into(), ..Default::default() };
        unsupported(&|| r.to_bytes(10), "rack_id", 10);
        let r = FetchRequest { replica_id: 3, ..Default::default() };
        unsupported(&|| r.to_bytes(15), "replica_id", 15);
        assert!(r.to_bytes(14).is_ok());
        let r =
            FetchRequest { replica_state: ReplicaState { replica_id: 3, ..Default::default() }, ..Default::default() };
        unsupported(&|| r.to_bytes(14), "replica_state", 14);
        assert!(r.to_bytes(15).is_ok());
        let r = FetchRequest { cluster_id: Some("c".into()), ..Default::default() };
        unsupported(&|| r.to_bytes(11), "cluster_id", 11);
        let topic = |p: FetchPartition, name: &str, id: Uuid| FetchRequest {
            topics: vec![FetchTopic { topic: name.into(), topic_id: id, partitions: vec![p], ..Default::default() }],
            ..Default::default()
        };
        let r = topic(FetchPartition::default(), "t", Uuid::ZERO);
        unsupported(&|| r.to_bytes(13), "topic", 13);
        let r = topic(FetchPartition::default(), "", Uuid([1; 16]));
        unsupported(&|| r.to_bytes(12), "topic_id", 12);
        let r = topic(FetchPartition { current_leader_epoch: 2, ..Default::default() }, "t", Uuid::ZERO);
        unsupported(&|| r.to_bytes(8), "current_leader_epoch", 8);
        let r = topic(FetchPartition { last_fetched_epoch: 2, ..Default::default() }, "t", Uuid::ZERO);
        unsupported(&|| r.to_bytes(11), "last_fetched_epoch", 11);
        let r = topic(FetchPartition { log_start_offset: 2, ..Default::default() }, "t", Uuid::ZERO);
        unsupported(&|| r.to_bytes(4), "log_start_offset", 4);
        let r = topic(FetchPartition { replica_directory_id: Uuid([1; 16]), ..Default::default() }, "", Uuid::ZERO);
        unsupported(&|| r.to_bytes(16), "replica_directory_id", 16);
        let r = topic(FetchPartition { high_watermark: 5, ..Default::default() }, "", Uuid::ZERO);
        unsupported(&|| r.to_bytes(17), "high_watermark", 17);
        assert!(r.to_bytes(18).is_ok());
        let u = vec![RawTaggedField { tag: 9, data: Bytes::new() }];
        let r = FetchRequest { unknown_tagged_fields: u.clone(), ..Default::default() };
        unsupported(&|| r.to_bytes(11), "tagged fields", 11);

        let resp = |p: PartitionData| FetchResponse {
            responses: vec![FetchableTopicResponse { topic: "t".into(), partitions: vec![p], ..Default::default() }],
            ..Default::default()
        };
        let m = FetchResponse { error_code: ErrorCode(3), ..Default::default() };
        unsupported(&|| m.to_bytes(6), "error_code", 6);
        let m = FetchResponse { node_endpoints: vec![NodeEndpoint::default()], ..Default::default() };
        unsupported(&|| m.to_bytes(15), "node_endpoints", 15);
        let m = resp(PartitionData { log_start_offset: 0, ..Default::default() });
        unsupported(&|| m.to_bytes(4), "log_start_offset", 4);
        let m = resp(PartitionData { preferred_read_replica: 1, ..Default::default() });
        unsupported(&|| m.to_bytes(10), "preferred_read_replica", 10);
        let m = resp(PartitionData {
            diverging_epoch: EpochEndOffset { epoch: 1, ..Default::default() },
            ..Default::default()
        });
        unsupported(&|| m.to_bytes(11), "diverging_epoch", 11);
        assert!(m.to_bytes(12).is_ok());
        let m = resp(PartitionData {
            current_leader: LeaderIdAndEpoch { leader_id: 1, ..Default::default() },
            ..Default::default()
        });
        unsupported(&|| m.to_bytes(11), "current_leader", 11);
        let m =
            resp(PartitionData { snapshot_id: SnapshotId { epoch: 1, ..Default::default() }, ..Default::default() });
        unsupported(&|| m.to_bytes(11), "snapshot_id", 11);
    }

    #[test]
    fn tagged_fields_are_written_only_when_not_default() {
        let plain = FetchResponse {
            responses: vec![FetchableTopicResponse {
                topic_id: Uuid([1; 16]),
                partitions: vec![PartitionData::default()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let with_leader = FetchResponse {
            responses: vec![FetchableTopicResponse {
                topic_id: Uuid([1; 16]),
                partitions: vec![PartitionData {
                    current_leader: LeaderIdAndEpoch { leader_id: 2, leader_epoch: 9, ..Default::default() },
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let a = plain.to_bytes(16).unwrap();
        let b = with_leader.to_bytes(16).unwrap();
        // One tagged field: tag, size and the struct (two int32 and an empty tagged section).
        assert_eq!(b.len(), a.len() + 1 + 1 + 9);
    }

    #[test]
    fn repeated_or_out_of_order_tags_are_decode_errors() {
        // A v12 response with no topics, then a tagged section holding tags (5, 3) or (4, 4).
        for tags in [[5u8, 3], [4, 4]] {
            let body = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, tags[0], 0, tags[1], 0];
            let got = FetchResponse::decode_exact(&mut Reader::new(Bytes::copy_from_slice(&body)), 12);
            assert!(matches!(got, Err(DecodeError::Invalid { what: "tagged fields", .. })), "{tags:?}: {got:?}");
        }
        let ok = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 5, 0];
        assert!(FetchResponse::decode_exact(&mut Reader::new(Bytes::copy_from_slice(&ok)), 12).is_ok());
    }

    #[test]
    fn known_tag_at_a_version_without_the_field_is_kept_as_unknown() {
        // Tag 1 (replica_state) is defined from v15; at v12 it must round-trip as an unknown field.
        let data = Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0]);
        let m = FetchRequest { unknown_tagged_fields: vec![RawTaggedField { tag: 1, data }], ..Default::default() };
        let b = m.to_bytes(12).unwrap().freeze();
        let got = FetchRequest::decode_exact(&mut Reader::new(b.clone()), 12).unwrap();
        assert_eq!(got, m);
        assert_eq!(got.to_bytes(12).unwrap(), b);
    }
}
