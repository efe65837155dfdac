//! AddPartitionsToTxn (key 24): a transactional producer (transaction version 1) registers the partitions it is
//! about to write with its transaction coordinator before their first batch. Versions 0–3 are the client form (one
//! transaction per request); version 4+ is the broker-to-broker batched form (many transactions, `verify_only`),
//! which brokers use to check that a partition is part of an ongoing transaction (KIP-890 part 1).

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// AddPartitionsToTxn request.
    pub struct AddPartitionsToTxnRequest: request(ADD_PARTITIONS_TO_TXN -> AddPartitionsToTxnResponse), versions "0-5", flexible "3+" {
        /// The transactions to add partitions to (the batched broker form, v4+).
        transactions: Vec<AddPartitionsToTxnTransaction> = "Transactions" "[]AddPartitionsToTxnTransaction" "4+",
        /// The transactional id (client form, v0–3).
        v3_and_below_transactional_id: String = "V3AndBelowTransactionalId" "string" "0-3",
        /// The producer id in use by the transactional id (client form).
        v3_and_below_producer_id: i64 = "V3AndBelowProducerId" "int64" "0-3",
        /// The producer's epoch (client form).
        v3_and_below_producer_epoch: i16 = "V3AndBelowProducerEpoch" "int16" "0-3",
        /// The partitions to add (client form).
        v3_and_below_topics: Vec<AddPartitionsToTxnTopic> = "V3AndBelowTopics" "[]AddPartitionsToTxnTopic" "0-3",
    }
}

structure! {
    /// One transaction of a batched (v4+) request.
    pub struct AddPartitionsToTxnTransaction {
        /// The transactional id.
        transactional_id: String = "TransactionalId" "string" "4+",
        /// The producer id in use by the transactional id.
        producer_id: i64 = "ProducerId" "int64" "4+",
        /// The producer's epoch.
        producer_epoch: i16 = "ProducerEpoch" "int16" "4+",
        /// Only check that the partitions are part of the transaction, without adding them.
        verify_only: bool = "VerifyOnly" "bool" "4+",
        /// The partitions.
        topics: Vec<AddPartitionsToTxnTopic> = "Topics" "[]AddPartitionsToTxnTopic" "4+",
    }
}

structure! {
    /// A topic's partitions to add to a transaction.
    pub struct AddPartitionsToTxnTopic {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partition indexes.
        partitions: Vec<i32> = "Partitions" "[]int32" "0+",
    }
}

message! {
    /// AddPartitionsToTxn response.
    pub struct AddPartitionsToTxnResponse: response(ADD_PARTITIONS_TO_TXN), versions "0-5", flexible "3+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The top-level error (v4+).
        error_code: ErrorCode = "ErrorCode" "int16" "4+",
        /// Results per transaction (v4+).
        results_by_transaction: Vec<AddPartitionsToTxnResult> = "ResultsByTransaction" "[]AddPartitionsToTxnResult" "4+",
        /// Results per topic (client form, v0–3).
        results_by_topic_v3_and_below: Vec<AddPartitionsToTxnTopicResult> = "ResultsByTopicV3AndBelow" "[]AddPartitionsToTxnTopicResult" "0-3",
    }
}

structure! {
    /// One transaction's results (v4+).
    pub struct AddPartitionsToTxnResult {
        /// The transactional id.
        transactional_id: String = "TransactionalId" "string" "4+",
        /// Results per topic.
        topic_results: Vec<AddPartitionsToTxnTopicResult> = "TopicResults" "[]AddPartitionsToTxnTopicResult" "4+",
    }
}

structure! {
    /// A topic's results.
    pub struct AddPartitionsToTxnTopicResult {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// Results per partition.
        results_by_partition: Vec<AddPartitionsToTxnPartitionResult> = "ResultsByPartition" "[]AddPartitionsToTxnPartitionResult" "0+",
    }
}

structure! {
    /// A partition's result.
    pub struct AddPartitionsToTxnPartitionResult {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The partition's error.
        partition_error_code: ErrorCode = "PartitionErrorCode" "int16" "0+",
    }
}

impl AddPartitionsToTxnRequest {
    /// The client form (v0–3): add `topics` to the transaction of `transactional_id`.
    pub fn client(
        transactional_id: impl Into<String>,
        producer_id: i64,
        producer_epoch: i16,
        topics: Vec<AddPartitionsToTxnTopic>,
    ) -> AddPartitionsToTxnRequest {
        AddPartitionsToTxnRequest {
            v3_and_below_transactional_id: transactional_id.into(),
            v3_and_below_producer_id: producer_id,
            v3_and_below_producer_epoch: producer_epoch,
            v3_and_below_topics: topics,
            ..Default::default()
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
    fn client_form_is_v3_and_below() {
        let topics = vec![AddPartitionsToTxnTopic { name: "t".into(), partitions: vec![0, 2], ..Default::default() }];
        let r = AddPartitionsToTxnRequest::client("tx", 5, 1, topics);
        assert_eq!(
            r.to_bytes(4).unwrap_err(),
            EncodeError::UnsupportedField { field: "v3_and_below_transactional_id", version: 4 }
        );
        let b = r.to_bytes(3).unwrap();
        // compact "tx", id, epoch, 1 topic: compact "t", 2 partitions, topic tags; top tags.
        let expected: &[u8] =
            &[3, b't', b'x', 0, 0, 0, 0, 0, 0, 0, 5, 0, 1, 2, 2, b't', 3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0];
        assert_eq!(&b[..], expected);
        assert_eq!(AddPartitionsToTxnRequest::decode_exact(&mut Reader::new(b.freeze()), 3).unwrap(), r);
    }
}
