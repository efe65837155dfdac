//! Control records: the records of control batches. Their key is a version (int16, 0) and a type (int16); a
//! transaction marker's value is a version (int16, 0) and the coordinator epoch (int32).

use std::fmt;

use super::Record;
use crate::DecodeError;

/// The type of a control record. Open: types this crate does not know keep their raw code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ControlRecordType(pub i16);

impl ControlRecordType {
    /// A transaction was aborted.
    pub const ABORT: ControlRecordType = ControlRecordType(0);
    /// A transaction was committed.
    pub const COMMIT: ControlRecordType = ControlRecordType(1);
    /// KRaft: leader change.
    pub const LEADER_CHANGE: ControlRecordType = ControlRecordType(2);
    /// KRaft: snapshot header.
    pub const SNAPSHOT_HEADER: ControlRecordType = ControlRecordType(3);
    /// KRaft: snapshot footer.
    pub const SNAPSHOT_FOOTER: ControlRecordType = ControlRecordType(4);
    /// KRaft: kraft.version.
    pub const KRAFT_VERSION: ControlRecordType = ControlRecordType(5);
    /// KRaft: voters.
    pub const KRAFT_VOTERS: ControlRecordType = ControlRecordType(6);

    /// Kafka's name of the type (`COMMIT`), or `None` for a code this crate does not know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "ABORT",
            1 => "COMMIT",
            2 => "LEADER_CHANGE",
            3 => "SNAPSHOT_HEADER",
            4 => "SNAPSHOT_FOOTER",
            5 => "KRAFT_VERSION",
            6 => "KRAFT_VOTERS",
            _ => return None,
        })
    }

    /// True for the transaction markers, `ABORT` and `COMMIT`.
    pub fn is_transaction_marker(self) -> bool {
        self == ControlRecordType::ABORT || self == ControlRecordType::COMMIT
    }
}

impl fmt::Debug for ControlRecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}"),
            None => write!(f, "ControlRecordType({})", self.0),
        }
    }
}

/// The key of a control record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlRecord {
    /// Key version (0; later versions are read as version 0, as Kafka does).
    pub version: i16,
    /// The control record type.
    pub kind: ControlRecordType,
}

impl ControlRecord {
    /// Parses the key of a control record (a record of a batch with the control flag).
    pub fn parse_key(key: &[u8]) -> Result<ControlRecord, DecodeError> {
        let Some(&[v0, v1, t0, t1]) = key.first_chunk::<4>() else {
            return Err(DecodeError::Invalid { what: "control record key", reason: "shorter than 4 bytes" });
        };
        let version = i16::from_be_bytes([v0, v1]);
        if version < 0 {
            return Err(DecodeError::Invalid { what: "control record key", reason: "negative version" });
        }
        Ok(ControlRecord { version, kind: ControlRecordType(i16::from_be_bytes([t0, t1])) })
    }

    /// Parses the key of `record`; a null key is an error.
    pub fn from_record(record: &Record) -> Result<ControlRecord, DecodeError> {
        match &record.key {
            Some(key) => ControlRecord::parse_key(key),
            None => Err(DecodeError::UnexpectedNull { what: "control record key" }),
        }
    }

    /// The key bytes (version 0).
    pub fn encode_key(kind: ControlRecordType) -> [u8; 4] {
        let [t0, t1] = kind.0.to_be_bytes();
        [0, 0, t0, t1]
    }
}

/// A transaction marker (`EndTxnMarker`): the control record that commits or aborts a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndTxnMarker {
    /// True for COMMIT, false for ABORT.
    pub commit: bool,
    /// The epoch of the transaction coordinator that wrote the marker.
    pub coordinator_epoch: i32,
}

impl EndTxnMarker {
    /// The control record type of this marker.
    pub fn kind(&self) -> ControlRecordType {
        if self.commit { ControlRecordType::COMMIT } else { ControlRecordType::ABORT }
    }

    /// Decodes a marker from a control record's key and value. A key of another control type is an error.
    pub fn from_record(record: &Record) -> Result<EndTxnMarker, DecodeError> {
        let key = ControlRecord::from_record(record)?;
        let value = record.value.as_ref().ok_or(DecodeError::UnexpectedNull { what: "end transaction marker" })?;
        EndTxnMarker::parse(key.kind, value)
    }

    /// Decodes a marker's value given its control record type. Value versions above 0 are read as version 0.
    pub fn parse(kind: ControlRecordType, value: &[u8]) -> Result<EndTxnMarker, DecodeError> {
        if !kind.is_transaction_marker() {
            return Err(DecodeError::Invalid { what: "control record type", reason: "not a transaction marker" });
        }
        let Some(&[v0, v1, e0, e1, e2, e3]) = value.first_chunk::<6>() else {
            return Err(DecodeError::Invalid { what: "end transaction marker", reason: "shorter than 6 bytes" });
        };
        if i16::from_be_bytes([v0, v1]) < 0 {
            return Err(DecodeError::Invalid { what: "end transaction marker", reason: "negative version" });
        }
        Ok(EndTxnMarker {
            commit: kind == ControlRecordType::COMMIT,
            coordinator_epoch: i32::from_be_bytes([e0, e1, e2, e3]),
        })
    }

    /// The record key (version 0).
    pub fn encode_key(&self) -> [u8; 4] {
        ControlRecord::encode_key(self.kind())
    }

    /// The record value (version 0).
    pub fn encode_value(&self) -> [u8; 6] {
        let [e0, e1, e2, e3] = self.coordinator_epoch.to_be_bytes();
        [0, 0, e0, e1, e2, e3]
    }
}
