//! Transactional record batches and the control batches that end them, for tests of reading committed records.
//! Included with `#[path]` by the fetched-records unit tests (src/consumer/fetched.rs) and by
//! tests/consumer_faults.rs.

use bytes::Bytes;
use kafkar_protocol::compression::Compression;
use kafkar_protocol::records::{EndTxnMarker, RecordBatchBuilder};

/// A transactional batch of producer `pid` (epoch 0, first sequence 0) holding offsets `base..base + n`, compressed
/// with `compression`; record `o` has value `p<pid>-<o>`.
pub fn txn_batch(base: i64, n: usize, pid: i64, compression: Compression) -> Bytes {
    let mut b = RecordBatchBuilder::new(compression)
        .with_base_offset(base)
        .with_producer_state(pid, 0, 0)
        .with_transactional(true);
    for i in 0..n {
        b.append(1000, None, Some(format!("p{pid}-{}", base + i as i64).as_bytes()), &[]).unwrap();
    }
    b.build().unwrap().into_bytes()
}

/// The control batch at `offset` that commits (`commit`) or aborts producer `pid`'s transaction.
pub fn marker(offset: i64, pid: i64, commit: bool) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None)
        .with_base_offset(offset)
        .with_producer_state(pid, 0, -1)
        .with_transactional(true)
        .with_control(true);
    b.append_end_txn_marker(1000, &EndTxnMarker { commit, coordinator_epoch: 0 }).unwrap();
    b.build().unwrap().into_bytes()
}
