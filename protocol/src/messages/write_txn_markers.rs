//! WriteTxnMarkers (key 27): writes commit or abort markers to partitions. Transaction coordinators send it to
//! partition leaders; the admin client sends it to abort a hanging transaction (KIP-664). Version 1 is the Kafka 4.x
//! baseline; version 2 adds the transaction version of each marker (KIP-1228).

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// WriteTxnMarkers request.
    pub struct WriteTxnMarkersRequest: request(WRITE_TXN_MARKERS -> WriteTxnMarkersResponse), versions "1-2", flexible "1+" {
        /// The markers to write.
        markers: Vec<WritableTxnMarker> = "Markers" "[]WritableTxnMarker" "0+",
    }
}

structure! {
    /// One transaction's marker.
    pub struct WritableTxnMarker {
        /// The producer id of the transaction.
        producer_id: i64 = "ProducerId" "int64" "0+",
        /// The producer epoch of the transaction.
        producer_epoch: i16 = "ProducerEpoch" "int16" "0+",
        /// True for a commit marker, false for an abort marker.
        transaction_result: bool = "TransactionResult" "bool" "0+",
        /// The partitions to write the marker to.
        topics: Vec<WritableTxnMarkerTopic> = "Topics" "[]WritableTxnMarkerTopic" "0+",
        /// The epoch of the transaction coordinator writing the marker.
        coordinator_epoch: i32 = "CoordinatorEpoch" "int32" "0+",
        /// The transaction version of the marker (v2+).
        transaction_version: i8 = "TransactionVersion" "int8" "2+",
    }
}

structure! {
    /// A topic's partitions to write a marker to.
    pub struct WritableTxnMarkerTopic {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// The partition indexes.
        partition_indexes: Vec<i32> = "PartitionIndexes" "[]int32" "0+",
    }
}

message! {
    /// WriteTxnMarkers response.
    pub struct WriteTxnMarkersResponse: response(WRITE_TXN_MARKERS), versions "1-2", flexible "1+" {
        /// Results per marker.
        markers: Vec<WritableTxnMarkerResult> = "Markers" "[]WritableTxnMarkerResult" "0+",
    }
}

structure! {
    /// One marker's results.
    pub struct WritableTxnMarkerResult {
        /// The producer id of the transaction.
        producer_id: i64 = "ProducerId" "int64" "0+",
        /// Results per topic.
        topics: Vec<WritableTxnMarkerTopicResult> = "Topics" "[]WritableTxnMarkerTopicResult" "0+",
    }
}

structure! {
    /// A topic's results.
    pub struct WritableTxnMarkerTopicResult {
        /// The topic name.
        name: String = "Name" "string" "0+",
        /// Results per partition.
        partitions: Vec<WritableTxnMarkerPartitionResult> = "Partitions" "[]WritableTxnMarkerPartitionResult" "0+",
    }
}

structure! {
    /// A partition's result.
    pub struct WritableTxnMarkerPartitionResult {
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The partition's error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
    }
}
