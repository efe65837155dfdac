//! InitProducerId (key 22): obtains a producer id and epoch for idempotence or transactions. Versions 0–6.
//!
//! Version 3 lets a producer pass its current id and epoch so the broker can bump the epoch instead of fencing it
//! (KIP-360); version 6 adds two-phase commit (KIP-939): `enable_2pc`, `keep_prepared_txn`, and the ongoing
//! transaction's producer id and epoch in the response. Version 6 is still marked unstable in Kafka 4.4.

use super::table::message;
use crate::ErrorCode;

message! {
    /// InitProducerId request.
    pub struct InitProducerIdRequest: request(INIT_PRODUCER_ID -> InitProducerIdResponse), versions "0-6", flexible "2+" {
        /// The transactional id, or `None` for an idempotent (non-transactional) producer.
        transactional_id: Option<String> = "TransactionalId" "string" "0+" nullable "0+",
        /// How long the coordinator waits before aborting an idle transaction, in milliseconds.
        transaction_timeout_ms: i32 = "TransactionTimeoutMs" "int32" "0+",
        /// The producer's current id, -1 when it has none.
        producer_id: i64 = "ProducerId" "int64" "3+" default -1,
        /// The producer's current epoch, -1 when it has none.
        producer_epoch: i16 = "ProducerEpoch" "int16" "3+" default -1,
        /// Whether the producer takes part in two-phase commit (KIP-939).
        enable_2pc: bool = "Enable2Pc" "bool" "6+",
        /// Whether to keep a prepared transaction instead of aborting it.
        keep_prepared_txn: bool = "KeepPreparedTxn" "bool" "6+",
    }
}

message! {
    /// InitProducerId response.
    pub struct InitProducerIdResponse: response(INIT_PRODUCER_ID), versions "0-6", flexible "2+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The producer id, -1 on error.
        producer_id: i64 = "ProducerId" "int64" "0+" default -1,
        /// The producer epoch.
        producer_epoch: i16 = "ProducerEpoch" "int16" "0+",
        /// The producer id of the ongoing transaction kept with `keep_prepared_txn`, -1 when none.
        ongoing_txn_producer_id: i64 = "OngoingTxnProducerId" "int64" "6+" default -1,
        /// The epoch of the ongoing transaction kept with `keep_prepared_txn`, -1 when none.
        ongoing_txn_producer_epoch: i16 = "OngoingTxnProducerEpoch" "int16" "6+" default -1,
    }
}

impl InitProducerIdRequest {
    /// A request for an idempotent, non-transactional producer.
    pub fn idempotent() -> InitProducerIdRequest {
        InitProducerIdRequest { transaction_timeout_ms: i32::MAX, ..Default::default() }
    }

    /// A request for a transactional producer.
    pub fn transactional(transactional_id: impl Into<String>, transaction_timeout_ms: i32) -> InitProducerIdRequest {
        InitProducerIdRequest {
            transactional_id: Some(transactional_id.into()),
            transaction_timeout_ms,
            ..Default::default()
        }
    }

    /// The same request, asking the broker to bump the epoch of the producer's current id (v3+).
    pub fn with_current(mut self, producer_id: i64, producer_epoch: i16) -> InitProducerIdRequest {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EncodeError;
    use crate::messages::Message;
    use crate::primitives::Reader;

    #[test]
    fn epoch_bump_needs_v3() {
        let r = InitProducerIdRequest::idempotent().with_current(7, 2);
        assert_eq!(r.to_bytes(2).unwrap_err(), EncodeError::UnsupportedField { field: "producer_id", version: 2 });
        let b = r.to_bytes(3).unwrap();
        // null compact string, timeout, id, epoch, no tagged fields.
        assert_eq!(b.len(), 1 + 4 + 8 + 2 + 1);
        assert_eq!(InitProducerIdRequest::decode_exact(&mut Reader::new(b.freeze()), 3).unwrap(), r);
    }

    #[test]
    fn two_phase_commit_needs_v6() {
        let r = InitProducerIdRequest { enable_2pc: true, ..InitProducerIdRequest::transactional("tx", 60_000) };
        assert!(r.to_bytes(5).is_err());
        assert!(r.to_bytes(6).is_ok());
        let resp = InitProducerIdResponse { ongoing_txn_producer_epoch: 3, ..Default::default() };
        assert!(resp.to_bytes(5).is_err());
        assert!(resp.to_bytes(6).is_ok());
    }
}
