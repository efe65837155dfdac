//! Produce (key 0): writes record batches to partition leaders. Versions 3–13 (Kafka 4.x dropped 0–2).
//!
//! Records travel as raw record-batch bytes (`Option<Bytes>`): this module frames them, the
//! [`records`](crate::records) module writes and reads their contents. Up to version 12 topics are named; version 13
//! addresses them by topic id (KIP-516), and a name or id that the version cannot carry is an encode error. Use
//! [`ProduceRequest::add_batch`] to fill in whichever the version needs.

use bytes::Bytes;

use super::table::{message, structure};
use crate::ErrorCode;
use crate::primitives::Uuid;

message! {
    /// Produce request.
    pub struct ProduceRequest: request(PRODUCE -> ProduceResponse), versions "3-13", flexible "9+" {
        /// The transactional id, or `None` when the producer is not transactional.
        transactional_id: Option<String> = "TransactionalId" "string" "3+" nullable "3+",
        /// Acknowledgements required: 0 (none), 1 (leader only) or -1 (full ISR).
        acks: i16 = "Acks" "int16" "0+",
        /// How long the broker may wait for the acknowledgements, in milliseconds.
        timeout_ms: i32 = "TimeoutMs" "int32" "0+",
        /// Each topic to produce to.
        topic_data: Vec<TopicProduceData> = "TopicData" "[]TopicProduceData" "0+",
    }
}

structure! {
    /// The batches for one topic.
    pub struct TopicProduceData {
        /// The topic name (empty in v13+).
        name: String = "Name" "string" "0-12",
        /// The topic id (zero before v13).
        topic_id: Uuid = "TopicId" "uuid" "13+",
        /// Each partition to produce to.
        partition_data: Vec<PartitionProduceData> = "PartitionData" "[]PartitionProduceData" "0+",
    }
}

structure! {
    /// The records for one partition.
    pub struct PartitionProduceData {
        /// The partition index.
        index: i32 = "Index" "int32" "0+",
        /// The encoded record batch(es), or `None` for null.
        records: Option<Bytes> = "Records" "records" "0+" nullable "0+",
    }
}

message! {
    /// Produce response. With `acks = 0` the broker sends none.
    pub struct ProduceResponse: response(PRODUCE), versions "3-13", flexible "9+" {
        /// One entry per topic produced to.
        responses: Vec<TopicProduceResponse> = "Responses" "[]TopicProduceResponse" "0+",
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "1+",
        /// Endpoints of the current leaders named in `NOT_LEADER_OR_FOLLOWER` partition errors (v10+, tag 0).
        node_endpoints: Vec<NodeEndpoint> = "NodeEndpoints" "[]NodeEndpoint" "10+" tag 0,
    }
}

structure! {
    /// The results for one topic.
    pub struct TopicProduceResponse {
        /// The topic name (empty in v13+).
        name: String = "Name" "string" "0-12",
        /// The topic id (zero before v13).
        topic_id: Uuid = "TopicId" "uuid" "13+",
        /// One entry per partition produced to.
        partition_responses: Vec<PartitionProduceResponse> = "PartitionResponses" "[]PartitionProduceResponse" "0+",
    }
}

structure! {
    /// Where a broker can be reached.
    pub struct NodeEndpoint {
        /// The broker id.
        node_id: i32 = "NodeId" "int32" "10+",
        /// Host name.
        host: String = "Host" "string" "10+",
        /// Port.
        port: i32 = "Port" "int32" "10+",
        /// Rack, if the broker has one.
        rack: Option<String> = "Rack" "string" "10+" nullable "10+",
    }
}

structure! {
    /// The result for one partition's batch.
    pub struct PartitionProduceResponse {
        /// The partition index.
        index: i32 = "Index" "int32" "0+",
        /// The partition's error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The offset given to the batch's first record.
        base_offset: i64 = "BaseOffset" "int64" "0+",
        /// The broker's append time when the topic uses LogAppendTime, else -1.
        log_append_time_ms: i64 = "LogAppendTimeMs" "int64" "2+" default -1,
        /// The partition's log start offset, -1 when unknown.
        log_start_offset: i64 = "LogStartOffset" "int64" "5+" default -1,
        /// The records that made the broker drop the batch.
        record_errors: Vec<BatchIndexAndErrorMessage> = "RecordErrors" "[]BatchIndexAndErrorMessage" "8+",
        /// A message summarising why the batch was dropped.
        error_message: Option<String> = "ErrorMessage" "string" "8+" nullable "8+",
        /// The current leader, sent with `NOT_LEADER_OR_FOLLOWER` (v10+, tag 0).
        current_leader: LeaderIdAndEpoch = "CurrentLeader" "LeaderIdAndEpoch" "10+" tag 0 default LeaderIdAndEpoch::default(),
    }
}

structure! {
    /// One record that caused its batch to be dropped.
    pub struct BatchIndexAndErrorMessage {
        /// The record's index within the batch.
        batch_index: i32 = "BatchIndex" "int32" "8+",
        /// Why the record was rejected.
        batch_index_error_message: Option<String> = "BatchIndexErrorMessage" "string" "8+" nullable "8+",
    }
}

structure! {
    /// A partition's leader and leader epoch.
    pub struct LeaderIdAndEpoch {
        /// The leader's broker id, -1 when unknown.
        leader_id: i32 = "LeaderId" "int32" "10+" default -1,
        /// The leader epoch, -1 when unknown.
        leader_epoch: i32 = "LeaderEpoch" "int32" "10+" default -1,
    }
}

/// The first version that addresses topics by id instead of by name.
pub const TOPIC_ID_VERSION: i16 = 13;

impl ProduceRequest {
    /// A request with no batches yet.
    pub fn new(acks: i16, timeout_ms: i32) -> ProduceRequest {
        ProduceRequest { acks, timeout_ms, ..Default::default() }
    }

    /// The same request, for a transactional producer.
    pub fn with_transactional_id(mut self, transactional_id: impl Into<String>) -> ProduceRequest {
        self.transactional_id = Some(transactional_id.into());
        self
    }

    /// Adds one partition's record-batch bytes, addressing the topic the way `version` does: by `topic` name before
    /// version 13, by `topic_id` from 13 on. Batches for the same topic added one after another share its entry.
    pub fn add_batch(&mut self, version: i16, topic: &str, topic_id: Uuid, partition: i32, records: Bytes) {
        let by_id = version >= TOPIC_ID_VERSION;
        let same = |t: &TopicProduceData| if by_id { t.topic_id == topic_id } else { t.name == topic };
        let partition = PartitionProduceData { index: partition, records: Some(records), ..Default::default() };
        match self.topic_data.last_mut() {
            Some(t) if same(t) => t.partition_data.push(partition),
            _ => self.topic_data.push(TopicProduceData {
                name: if by_id { String::new() } else { topic.to_owned() },
                topic_id: if by_id { topic_id } else { Uuid::ZERO },
                partition_data: vec![partition],
                unknown_tagged_fields: Vec::new(),
            }),
        }
    }

    /// A request carrying one partition's batch; see [`ProduceRequest::add_batch`].
    pub fn single_batch(
        version: i16,
        acks: i16,
        timeout_ms: i32,
        topic: &str,
        topic_id: Uuid,
        partition: i32,
        records: Bytes,
    ) -> ProduceRequest {
        let mut r = ProduceRequest::new(acks, timeout_ms);
        r.add_batch(version, topic, topic_id, partition, records);
        r
    }
}

impl ProduceResponse {
    /// Every partition result with the name (before v13) or id (v13+) of its topic.
    pub fn partitions(&self) -> impl Iterator<Item = (&TopicProduceResponse, &PartitionProduceResponse)> {
        self.responses.iter().flat_map(|t| t.partition_responses.iter().map(move |p| (t, p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EncodeError;
    use crate::messages::Message;
    use crate::primitives::Reader;

    #[test]
    fn add_batch_uses_names_before_v13_and_ids_after() {
        let id = Uuid::from_u64_pair(1, 2);
        let mut r = ProduceRequest::new(-1, 30_000);
        r.add_batch(12, "t", id, 0, Bytes::from_static(b"a"));
        r.add_batch(12, "t", id, 1, Bytes::from_static(b"b"));
        r.add_batch(12, "u", id, 0, Bytes::from_static(b"c"));
        assert_eq!(r.topic_data.len(), 2);
        assert_eq!(r.topic_data[0].partition_data.len(), 2);
        assert!(r.topic_data[0].topic_id.is_zero());
        assert!(r.to_bytes(12).is_ok());
        assert_eq!(r.to_bytes(13).unwrap_err(), EncodeError::UnsupportedField { field: "name", version: 13 });

        let r = ProduceRequest::single_batch(13, 1, 1000, "t", id, 3, Bytes::from_static(b"x"));
        assert_eq!(r.topic_data[0].topic_id, id);
        assert!(r.topic_data[0].name.is_empty());
        assert!(r.to_bytes(13).is_ok());
        assert_eq!(r.to_bytes(12).unwrap_err(), EncodeError::UnsupportedField { field: "topic_id", version: 12 });
    }

    #[test]
    fn v3_request_layout() {
        let r = ProduceRequest::single_batch(3, 1, 1000, "t", Uuid::ZERO, 2, Bytes::from_static(b"xy"));
        let b = r.to_bytes(3).unwrap();
        let want: &[u8] = &[
            0xff, 0xff, // null transactional id
            0, 1, // acks
            0, 0, 0x03, 0xe8, // timeout
            0, 0, 0, 1, // one topic
            0, 1, b't', // name
            0, 0, 0, 1, // one partition
            0, 0, 0, 2, // index
            0, 0, 0, 2, b'x', b'y', // records
        ];
        assert_eq!(&b[..], want);
    }

    #[test]
    fn tagged_leader_is_written_only_when_set() {
        let mut resp = ProduceResponse {
            responses: vec![TopicProduceResponse {
                name: "t".into(),
                partition_responses: vec![PartitionProduceResponse::default()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let plain = resp.to_bytes(10).unwrap();
        resp.responses[0].partition_responses[0].current_leader.leader_id = 4;
        let tagged = resp.to_bytes(10).unwrap();
        assert_eq!(tagged.len(), plain.len() + 2 + 9);
        assert_eq!(
            resp.to_bytes(9).unwrap_err(),
            EncodeError::UnsupportedField { field: "current_leader", version: 9 }
        );
        let back = ProduceResponse::decode_exact(&mut Reader::new(tagged.freeze()), 10).unwrap();
        assert_eq!(back, resp);
    }
}
