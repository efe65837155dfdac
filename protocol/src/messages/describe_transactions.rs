//! DescribeTransactions (key 65): the state of transactional ids, from their transaction coordinator (KIP-664).

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// DescribeTransactions request.
    pub struct DescribeTransactionsRequest: request(DESCRIBE_TRANSACTIONS -> DescribeTransactionsResponse), versions "0", flexible "0+" {
        /// The transactional ids to describe.
        transactional_ids: Vec<String> = "TransactionalIds" "[]string" "0+",
    }
}

message! {
    /// DescribeTransactions response.
    pub struct DescribeTransactionsResponse: response(DESCRIBE_TRANSACTIONS), versions "0", flexible "0+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// One state per transactional id asked for.
        transaction_states: Vec<DescribedTransactionState> = "TransactionStates" "[]TransactionState" "0+",
    }
}

structure! {
    /// A transactional id's state (the spec's `TransactionState`).
    pub struct DescribedTransactionState {
        /// The error for this transactional id.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The transactional id.
        transactional_id: String = "TransactionalId" "string" "0+",
        /// The state (`Empty`, `Ongoing`, `PrepareCommit`, ...).
        transaction_state: String = "TransactionState" "string" "0+",
        /// The transaction timeout in milliseconds.
        transaction_timeout_ms: i32 = "TransactionTimeoutMs" "int32" "0+",
        /// When the ongoing transaction started, in milliseconds since the epoch.
        transaction_start_time_ms: i64 = "TransactionStartTimeMs" "int64" "0+",
        /// The producer id.
        producer_id: i64 = "ProducerId" "int64" "0+",
        /// The producer epoch.
        producer_epoch: i16 = "ProducerEpoch" "int16" "0+",
        /// The partitions in the transaction.
        topics: Vec<DescribedTransactionTopic> = "Topics" "[]TopicData" "0+",
    }
}

structure! {
    /// A topic's partitions in a transaction (the spec's `TopicData`).
    pub struct DescribedTransactionTopic {
        /// The topic name.
        topic: String = "Topic" "string" "0+",
        /// The partition indexes.
        partitions: Vec<i32> = "Partitions" "[]int32" "0+",
    }
}
