//! AddOffsetsToTxn (key 25): a transactional producer (transaction version 1) tells its transaction coordinator that
//! the transaction will commit offsets of a consumer group, before it sends TxnOffsetCommit to the group coordinator.
//! Transaction version 2 (KIP-890) drops this step: TxnOffsetCommit v5+ adds the group implicitly.

use super::table::message;
use crate::ErrorCode;

message! {
    /// AddOffsetsToTxn request.
    pub struct AddOffsetsToTxnRequest: request(ADD_OFFSETS_TO_TXN -> AddOffsetsToTxnResponse), versions "0-4", flexible "3+" {
        /// The transactional id.
        transactional_id: String = "TransactionalId" "string" "0+",
        /// The producer id in use by the transactional id.
        producer_id: i64 = "ProducerId" "int64" "0+",
        /// The producer's epoch.
        producer_epoch: i16 = "ProducerEpoch" "int16" "0+",
        /// The consumer group whose offsets the transaction commits.
        group_id: String = "GroupId" "string" "0+",
    }
}

message! {
    /// AddOffsetsToTxn response.
    pub struct AddOffsetsToTxnResponse: response(ADD_OFFSETS_TO_TXN), versions "0-4", flexible "3+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
    }
}
