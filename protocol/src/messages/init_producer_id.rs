//! InitProducerId (key 22): obtains a producer id and epoch for idempotence or transactions. Versions 0–6.
//!
//! Version 3 lets a producer pass its current id and epoch so the broker can bump the epoch instead of fencing it
//! (KIP-360); version 6 adds two-phase commit (KIP-939): `enable_2pc`, `keep_prepared_txn`, and the ongoing
//! transaction's producer id and epoch in the response. Version 6 is still marked unstable in Kafka 4.4.

use bytes::{BufMut, BytesMut};

use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, TaggedFieldsWriter, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(2);

fn put_unknown_tags(
    buf: &mut BytesMut,
    flex: bool,
    fields: &[RawTaggedField],
    version: i16,
) -> Result<(), EncodeError> {
    if flex {
        let mut t = TaggedFieldsWriter::new();
        t.unknown(fields);
        t.finish(buf)
    } else {
        ensure_default(fields.is_empty(), "tagged fields", version)
    }
}

fn read_unknown_tags(r: &mut Reader, flex: bool) -> Result<Vec<RawTaggedField>, DecodeError> {
    if flex { r.tagged_fields(|_, _| Ok(false)) } else { Ok(Vec::new()) }
}

/// InitProducerId request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitProducerIdRequest {
    /// The transactional id, or `None` for an idempotent (non-transactional) producer.
    pub transactional_id: Option<String>,
    /// How long the coordinator waits before aborting an idle transaction, in milliseconds.
    pub transaction_timeout_ms: i32,
    /// The producer's current id, -1 when it has none (v3+).
    pub producer_id: i64,
    /// The producer's current epoch, -1 when it has none (v3+).
    pub producer_epoch: i16,
    /// Whether to use two-phase commit for transactions (v6+).
    pub enable_2pc: bool,
    /// Whether to keep a prepared transaction instead of aborting it (v6+).
    pub keep_prepared_txn: bool,
    /// Unknown tagged fields (v2+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for InitProducerIdRequest {
    fn default() -> Self {
        InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: 0,
            producer_id: -1,
            producer_epoch: -1,
            enable_2pc: false,
            keep_prepared_txn: false,
            unknown_tagged_fields: Vec::new(),
        }
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

impl Encode for InitProducerIdRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        buf.put_nullable_string(self.transactional_id.as_deref(), flex, "transactional_id")?;
        buf.put_i32(self.transaction_timeout_ms);
        if version >= 3 {
            buf.put_i64(self.producer_id);
            buf.put_i16(self.producer_epoch);
        } else {
            ensure_default(self.producer_id == -1, "producer_id", version)?;
            ensure_default(self.producer_epoch == -1, "producer_epoch", version)?;
        }
        if version >= 6 {
            buf.put_bool(self.enable_2pc);
            buf.put_bool(self.keep_prepared_txn);
        } else {
            ensure_default(!self.enable_2pc, "enable_2pc", version)?;
            ensure_default(!self.keep_prepared_txn, "keep_prepared_txn", version)?;
        }
        put_unknown_tags(buf, flex, &self.unknown_tagged_fields, version)
    }
}

impl Decode for InitProducerIdRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = InitProducerIdRequest {
            transactional_id: r.nullable_string(flex, "transactional_id")?,
            transaction_timeout_ms: r.i32("transaction_timeout_ms")?,
            ..Default::default()
        };
        if version >= 3 {
            m.producer_id = r.i64("producer_id")?;
            m.producer_epoch = r.i16("producer_epoch")?;
        }
        if version >= 6 {
            m.enable_2pc = r.bool("enable_2pc")?;
            m.keep_prepared_txn = r.bool("keep_prepared_txn")?;
        }
        m.unknown_tagged_fields = read_unknown_tags(r, flex)?;
        Ok(m)
    }
}

impl Message for InitProducerIdRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "InitProducerIdRequest",
        api_key: Some(ApiKey::INIT_PRODUCER_ID),
        kind: MessageKind::Request,
        versions: Versions::range(0, 6),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("TransactionalId", "string", Versions::from(0)).nullable(Versions::from(0)),
            FieldSpec::new("TransactionTimeoutMs", "int32", Versions::from(0)),
            FieldSpec::new("ProducerId", "int64", Versions::from(3)),
            FieldSpec::new("ProducerEpoch", "int16", Versions::from(3)),
            FieldSpec::new("Enable2Pc", "bool", Versions::from(6)),
            FieldSpec::new("KeepPreparedTxn", "bool", Versions::from(6)),
        ],
    };
}

impl Request for InitProducerIdRequest {
    const API_KEY: ApiKey = ApiKey::INIT_PRODUCER_ID;
    type Response = InitProducerIdResponse;
}

/// InitProducerId response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitProducerIdResponse {
    /// Throttle time in milliseconds.
    pub throttle_time_ms: i32,
    /// The error.
    pub error_code: ErrorCode,
    /// The producer id, -1 on error.
    pub producer_id: i64,
    /// The producer epoch.
    pub producer_epoch: i16,
    /// The producer id of the ongoing transaction kept with `keep_prepared_txn`, -1 when none (v6+).
    pub ongoing_txn_producer_id: i64,
    /// The epoch of the ongoing transaction kept with `keep_prepared_txn`, -1 when none (v6+).
    pub ongoing_txn_producer_epoch: i16,
    /// Unknown tagged fields (v2+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for InitProducerIdResponse {
    fn default() -> Self {
        InitProducerIdResponse {
            throttle_time_ms: 0,
            error_code: ErrorCode::NONE,
            producer_id: -1,
            producer_epoch: 0,
            ongoing_txn_producer_id: -1,
            ongoing_txn_producer_epoch: -1,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl Encode for InitProducerIdResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        buf.put_i32(self.throttle_time_ms);
        buf.put_i16(self.error_code.0);
        buf.put_i64(self.producer_id);
        buf.put_i16(self.producer_epoch);
        if version >= 6 {
            buf.put_i64(self.ongoing_txn_producer_id);
            buf.put_i16(self.ongoing_txn_producer_epoch);
        } else {
            ensure_default(self.ongoing_txn_producer_id == -1, "ongoing_txn_producer_id", version)?;
            ensure_default(self.ongoing_txn_producer_epoch == -1, "ongoing_txn_producer_epoch", version)?;
        }
        put_unknown_tags(buf, flex, &self.unknown_tagged_fields, version)
    }
}

impl Decode for InitProducerIdResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = InitProducerIdResponse {
            throttle_time_ms: r.i32("throttle_time_ms")?,
            error_code: ErrorCode(r.i16("error_code")?),
            producer_id: r.i64("producer_id")?,
            producer_epoch: r.i16("producer_epoch")?,
            ..Default::default()
        };
        if version >= 6 {
            m.ongoing_txn_producer_id = r.i64("ongoing_txn_producer_id")?;
            m.ongoing_txn_producer_epoch = r.i16("ongoing_txn_producer_epoch")?;
        }
        m.unknown_tagged_fields = read_unknown_tags(r, flex)?;
        Ok(m)
    }
}

impl Message for InitProducerIdResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "InitProducerIdResponse",
        api_key: Some(ApiKey::INIT_PRODUCER_ID),
        kind: MessageKind::Response,
        versions: Versions::range(0, 6),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(0)),
            FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
            FieldSpec::new("ProducerId", "int64", Versions::from(0)),
            FieldSpec::new("ProducerEpoch", "int16", Versions::from(0)),
            FieldSpec::new("OngoingTxnProducerId", "int64", Versions::from(6)),
            FieldSpec::new("OngoingTxnProducerEpoch", "int16", Versions::from(6)),
        ],
    };
}

#[cfg(test)]
mod tests {
    use super::*;

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
