//! ListTransactions (key 66): the transactions a broker coordinates, filtered by state, producer id, age (v1+) and
//! transactional id pattern (v2+, KIP-1152).

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// ListTransactions request.
    pub struct ListTransactionsRequest: request(LIST_TRANSACTIONS -> ListTransactionsResponse), versions "0-2", flexible "0+" {
        /// Only transactions in these states (all when empty).
        state_filters: Vec<String> = "StateFilters" "[]string" "0+",
        /// Only transactions of these producer ids (all when empty).
        producer_id_filters: Vec<i64> = "ProducerIdFilters" "[]int64" "0+",
        /// Only transactions running longer than this many milliseconds; -1 for all (v1+).
        duration_filter: i64 = "DurationFilter" "int64" "1+" default -1,
        /// Only transactional ids matching this regular expression, or null for all (v2+).
        transactional_id_pattern: Option<String> = "TransactionalIdPattern" "string" "2+" nullable "2+",
    }
}

message! {
    /// ListTransactions response.
    pub struct ListTransactionsResponse: response(LIST_TRANSACTIONS), versions "0-2", flexible "0+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// State filters the broker does not know.
        unknown_state_filters: Vec<String> = "UnknownStateFilters" "[]string" "0+",
        /// The transactions.
        transaction_states: Vec<ListedTransactionState> = "TransactionStates" "[]TransactionState" "0+",
    }
}

structure! {
    /// One listed transaction (the spec's `TransactionState`).
    pub struct ListedTransactionState {
        /// The transactional id.
        transactional_id: String = "TransactionalId" "string" "0+",
        /// The producer id.
        producer_id: i64 = "ProducerId" "int64" "0+",
        /// The state.
        transaction_state: String = "TransactionState" "string" "0+",
    }
}
