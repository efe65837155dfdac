//! EndTxn (key 26): a transactional producer asks its transaction coordinator to commit or abort the ongoing
//! transaction. Version 4 may answer `TRANSACTION_ABORTABLE`; version 5 (transaction version 2, KIP-890 part 2)
//! bumps the epoch at the end of every transaction and returns the producer id and epoch the producer goes on with.

use super::table::message;
use crate::ErrorCode;

message! {
    /// EndTxn request.
    pub struct EndTxnRequest: request(END_TXN -> EndTxnResponse), versions "0-5", flexible "3+" {
        /// The transactional id.
        transactional_id: String = "TransactionalId" "string" "0+",
        /// The producer id in use by the transactional id.
        producer_id: i64 = "ProducerId" "int64" "0+",
        /// The producer's epoch.
        producer_epoch: i16 = "ProducerEpoch" "int16" "0+",
        /// True to commit, false to abort.
        committed: bool = "Committed" "bool" "0+",
    }
}

message! {
    /// EndTxn response.
    pub struct EndTxnResponse: response(END_TXN), versions "0-5", flexible "3+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The producer id for the next transaction (v5+), -1 when absent.
        producer_id: i64 = "ProducerId" "int64" "5+" default -1,
        /// The producer epoch for the next transaction (v5+), -1 when absent.
        producer_epoch: i16 = "ProducerEpoch" "int16" "5+" default -1,
    }
}
