//! Idempotent producer state: the producer id and epoch from InitProducerId, and per-partition sequence
//! bookkeeping. A transactional producer uses the same state, with the id and epoch set by its
//! [`TransactionManager`](super::transaction::TransactionManager) (InitProducerId at the transaction coordinator, and
//! under transaction version 2 the new epoch every EndTxn returns).
//!
//! Sequences are assigned when the sender drains a batch, per partition, starting at 0 for every producer id and
//! epoch, wrapping at `i32::MAX` as Java's `DefaultRecordBatch.incrementSequence` does. A partition keeps using the
//! id and epoch its unacknowledged batches were sequenced under; it moves to a new one (starting at sequence 0)
//! only once all of them are done, so that no two in-flight batches of a partition carry different epochs.
//!
//! An OUT_OF_ORDER_SEQUENCE_NUMBER that an earlier unacknowledged batch explains (that batch failed or is still
//! in flight) only means "retry in order". One that nothing explains, or UNKNOWN_PRODUCER_ID, means the broker lost
//! the producer's state for the partition: the partition is marked for a reset, the producer asks for a new epoch
//! (InitProducerId carrying the current id and epoch, KIP-360, from version 3), and once the partition has nothing
//! in flight its unacknowledged batches are re-sequenced from 0 under the new id and epoch and sent again.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tracing::debug;

/// A producer id and epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProducerIdAndEpoch {
    /// The producer id (-1: none).
    pub id: i64,
    /// The epoch (-1: none).
    pub epoch: i16,
}

impl ProducerIdAndEpoch {
    /// No producer id.
    pub const NONE: ProducerIdAndEpoch = ProducerIdAndEpoch { id: -1, epoch: -1 };

    /// Whether this is a real id.
    pub fn is_valid(self) -> bool {
        self.id >= 0
    }
}

/// The sequence after `seq + count`, wrapping to 0 past `i32::MAX`.
pub(crate) fn increment_sequence(seq: i32, count: i32) -> i32 {
    if seq > i32::MAX - count { count - (i32::MAX - seq) - 1 } else { seq + count }
}

/// A partition, as the producer keys its state.
pub(crate) type TopicPartition = (Arc<str>, i32);

/// Sequence bookkeeping of one partition.
#[derive(Debug)]
pub(crate) struct PartitionSequences {
    /// The id and epoch the partition's sequences belong to.
    pub producer: ProducerIdAndEpoch,
    /// The base sequence of the next batch.
    pub next_sequence: i32,
    /// The base sequences of batches sequenced and not yet done (acknowledged or failed), in sequence order.
    pub unacked: VecDeque<i32>,
    /// The last sequence the broker acknowledged (-1: none yet under this id and epoch).
    pub last_acked: i32,
    /// The partition met a sequence error only a new epoch resolves; its unacknowledged batches are re-sequenced
    /// once the epoch is bumped and nothing of it is in flight.
    pub needs_reset: bool,
}

impl Default for PartitionSequences {
    fn default() -> Self {
        PartitionSequences {
            producer: ProducerIdAndEpoch::NONE,
            next_sequence: 0,
            unacked: VecDeque::new(),
            last_acked: -1,
            needs_reset: false,
        }
    }
}

/// What a sequence-related produce error calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SequenceVerdict {
    /// Retry the batch in order; nothing else to do.
    Retry,
    /// Bump the epoch, then re-sequence and retry.
    BumpEpoch,
}

/// The state of an idempotent producer.
#[derive(Debug, Default)]
pub struct IdempotenceState {
    current: Option<ProducerIdAndEpoch>,
    bump_required: bool,
    init_in_flight: bool,
    partitions: HashMap<TopicPartition, PartitionSequences>,
}

impl IdempotenceState {
    /// A state with no producer id yet.
    pub fn new() -> IdempotenceState {
        IdempotenceState::default()
    }

    /// The current producer id and epoch, once InitProducerId answered.
    pub fn current(&self) -> Option<ProducerIdAndEpoch> {
        self.current
    }

    /// Whether an InitProducerId should be sent now: none answered yet, or an epoch bump is wanted, and none is in
    /// flight. Returns the id and epoch to send along (for a bump, KIP-360).
    pub(crate) fn init_wanted(&self) -> Option<ProducerIdAndEpoch> {
        if self.init_in_flight {
            return None;
        }
        match self.current {
            None => Some(ProducerIdAndEpoch::NONE),
            Some(c) if self.bump_required => Some(c),
            Some(_) => None,
        }
    }

    pub(crate) fn init_started(&mut self) {
        self.init_in_flight = true;
    }

    /// InitProducerId failed (it is retried later).
    pub(crate) fn init_failed(&mut self) {
        self.init_in_flight = false;
    }

    /// InitProducerId answered with `got`. A bump that comes back with the very id and epoch it started from is
    /// turned into a local epoch increment, as Java bumps idempotent epochs.
    pub(crate) fn init_done(&mut self, got: ProducerIdAndEpoch) {
        self.init_in_flight = false;
        let got = match self.current {
            Some(c) if self.bump_required && c == got && got.epoch < i16::MAX => {
                ProducerIdAndEpoch { id: got.id, epoch: got.epoch + 1 }
            }
            _ => got,
        };
        debug!(producer_id = got.id, epoch = got.epoch, bump = self.bump_required, "producer id and epoch");
        self.current = Some(got);
        self.bump_required = false;
    }

    /// Takes the id and epoch a transaction manager got (InitProducerId through the transaction coordinator, or
    /// EndTxn under TV2): partitions move to it, from sequence 0, once nothing of theirs is unacknowledged.
    pub(crate) fn set_current(&mut self, p: ProducerIdAndEpoch) {
        self.current = Some(p);
        self.bump_required = false;
        self.init_in_flight = false;
    }

    fn entry(&mut self, tp: &TopicPartition) -> &mut PartitionSequences {
        self.partitions.entry(tp.clone()).or_default()
    }

    /// The partition's bookkeeping, if it has any.
    #[cfg(test)]
    pub(crate) fn partition(&self, tp: &TopicPartition) -> Option<&PartitionSequences> {
        self.partitions.get(tp)
    }

    /// Whether a new batch may be sequenced for the partition now: there is a producer id, no reset is pending, and
    /// the partition is on the current id and epoch (moving it there when it has nothing unacknowledged).
    pub(crate) fn can_sequence_new(&mut self, tp: &TopicPartition) -> bool {
        let Some(current) = self.current else { return false };
        let e = self.entry(tp);
        if e.needs_reset {
            return false;
        }
        if e.producer != current {
            if !e.unacked.is_empty() {
                return false;
            }
            e.producer = current;
            e.next_sequence = 0;
            e.last_acked = -1;
        }
        true
    }

    /// Assigns the next base sequence of the partition to a batch of `count` records. Call only after
    /// [`can_sequence_new`](Self::can_sequence_new) (or a reset) allowed it.
    pub(crate) fn assign(&mut self, tp: &TopicPartition, count: i32) -> (ProducerIdAndEpoch, i32) {
        let e = self.entry(tp);
        let base = e.next_sequence;
        e.next_sequence = increment_sequence(base, count);
        e.unacked.push_back(base);
        (e.producer, base)
    }

    /// The batch at `base` was acknowledged (or found to be a duplicate of an acknowledged one).
    pub(crate) fn acked(&mut self, tp: &TopicPartition, producer: ProducerIdAndEpoch, base: i32, count: i32) {
        let e = self.entry(tp);
        if e.producer != producer {
            return;
        }
        if let Some(i) = e.unacked.iter().position(|&s| s == base) {
            e.unacked.remove(i);
        }
        e.last_acked = increment_sequence(base, count.max(1)) - 1;
    }

    /// The batch at `base` was split into pieces of `counts` records, sent again under the same id and epoch with
    /// the same sequence range: its entry becomes one entry per piece. Returns the pieces' base sequences.
    pub(crate) fn split(&mut self, tp: &TopicPartition, base: i32, counts: &[i32]) -> Vec<i32> {
        let mut seq = base;
        let bases: Vec<i32> = counts
            .iter()
            .map(|&n| {
                let s = seq;
                seq = increment_sequence(seq, n);
                s
            })
            .collect();
        let e = self.entry(tp);
        if let Some(i) = e.unacked.iter().position(|&s| s == base) {
            e.unacked.remove(i);
            for (k, b) in bases.iter().enumerate() {
                e.unacked.insert(i + k, *b);
            }
        }
        bases
    }

    /// The batch at `base` failed for good (not retried): it no longer holds its sequence. Later batches of the
    /// partition then meet OUT_OF_ORDER_SEQUENCE_NUMBER that nothing explains, which resets the partition.
    pub(crate) fn failed(&mut self, tp: &TopicPartition, producer: ProducerIdAndEpoch, base: i32) {
        let e = self.entry(tp);
        if e.producer != producer {
            return;
        }
        if let Some(i) = e.unacked.iter().position(|&s| s == base) {
            e.unacked.remove(i);
        }
    }

    /// What an OUT_OF_ORDER_SEQUENCE_NUMBER for the batch at `base` calls for: retry in order when an earlier
    /// unacknowledged batch of the same id and epoch explains it, else an epoch bump.
    pub(crate) fn out_of_order(
        &mut self,
        tp: &TopicPartition,
        producer: ProducerIdAndEpoch,
        base: i32,
    ) -> SequenceVerdict {
        let e = self.entry(tp);
        if e.producer == producer && e.unacked.front().is_some_and(|&first| first != base) {
            SequenceVerdict::Retry
        } else {
            SequenceVerdict::BumpEpoch
        }
    }

    /// Marks the partition for a reset and asks for an epoch bump.
    pub(crate) fn request_bump(&mut self, tp: &TopicPartition) {
        let e = self.entry(tp);
        if !e.needs_reset {
            debug!(topic = %tp.0, partition = tp.1, "sequence state lost on the broker; epoch bump requested");
        }
        e.needs_reset = true;
        if self.current.is_some() {
            self.bump_required = true;
        }
    }

    /// Whether the partition waits for a reset that can happen now: the epoch was bumped past the one its
    /// sequences belong to (the caller checks that nothing of it is in flight).
    pub(crate) fn reset_ready(&self, tp: &TopicPartition) -> bool {
        match (self.partitions.get(tp), self.current) {
            (Some(e), Some(c)) => e.needs_reset && !self.bump_required && e.producer != c,
            _ => false,
        }
    }

    /// Whether the broker has acknowledged nothing yet under the partition's id and epoch. Until it has, only one
    /// batch of the partition may be in flight: a broker that has no state for the producer accepts any sequence,
    /// so a second batch could be written ahead of a first one that failed (e.g. with NOT_LEADER_OR_FOLLOWER just
    /// after the topic was created), and the order would be lost.
    pub(crate) fn awaiting_first_ack(&self, tp: &TopicPartition) -> bool {
        self.partitions.get(tp).is_none_or(|e| e.last_acked < 0)
    }

    /// Whether the partition waits for a reset.
    pub(crate) fn needs_reset(&self, tp: &TopicPartition) -> bool {
        self.partitions.get(tp).is_some_and(|e| e.needs_reset)
    }

    /// Starts the partition over on the current id and epoch at sequence 0; the caller then re-sequences its
    /// unacknowledged batches, in order, with [`assign`](Self::assign).
    pub(crate) fn reset_partition(&mut self, tp: &TopicPartition) {
        let current = self.current.unwrap_or(ProducerIdAndEpoch::NONE);
        let e = self.entry(tp);
        e.producer = current;
        e.next_sequence = 0;
        e.last_acked = -1;
        e.unacked.clear();
        e.needs_reset = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> TopicPartition {
        ("t".into(), p)
    }

    const P0: ProducerIdAndEpoch = ProducerIdAndEpoch { id: 7, epoch: 0 };

    #[test]
    fn sequences_wrap_like_java() {
        assert_eq!(increment_sequence(0, 5), 5);
        assert_eq!(increment_sequence(i32::MAX - 1, 1), i32::MAX);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 2, 5), 2);
    }

    #[test]
    fn sequences_are_assigned_per_partition_from_zero() {
        let mut s = IdempotenceState::new();
        assert_eq!(s.init_wanted(), Some(ProducerIdAndEpoch::NONE));
        assert!(!s.can_sequence_new(&tp(0)), "no producer id yet");
        s.init_started();
        assert_eq!(s.init_wanted(), None);
        s.init_done(P0);
        assert!(s.can_sequence_new(&tp(0)));
        assert_eq!(s.assign(&tp(0), 10), (P0, 0));
        assert_eq!(s.assign(&tp(0), 5), (P0, 10));
        assert!(s.can_sequence_new(&tp(1)));
        assert_eq!(s.assign(&tp(1), 3), (P0, 0));
        s.acked(&tp(0), P0, 0, 10);
        assert_eq!(s.partition(&tp(0)).unwrap().last_acked, 9);
        assert_eq!(s.partition(&tp(0)).unwrap().unacked, [10]);
    }

    #[test]
    fn out_of_order_is_explained_only_by_an_earlier_unacked_batch() {
        let mut s = IdempotenceState::new();
        s.init_done(P0);
        s.can_sequence_new(&tp(0));
        s.assign(&tp(0), 10); // 0
        s.assign(&tp(0), 10); // 10
        s.assign(&tp(0), 10); // 20
        // Batch 0 failed (e.g. NOT_LEADER) and is waiting for a retry: 10 and 20 are out of order because of it.
        assert_eq!(s.out_of_order(&tp(0), P0, 10), SequenceVerdict::Retry);
        assert_eq!(s.out_of_order(&tp(0), P0, 20), SequenceVerdict::Retry);
        // The first unacknowledged batch itself: the broker lost our state.
        assert_eq!(s.out_of_order(&tp(0), P0, 0), SequenceVerdict::BumpEpoch);
        // A batch failing for good frees its sequence; the next one is then unexplained.
        s.failed(&tp(0), P0, 0);
        assert_eq!(s.out_of_order(&tp(0), P0, 10), SequenceVerdict::BumpEpoch);
    }

    #[test]
    fn epoch_bump_resets_the_partition_and_moves_others_when_idle() {
        let mut s = IdempotenceState::new();
        s.init_done(P0);
        for p in 0..2 {
            s.can_sequence_new(&tp(p));
        }
        s.assign(&tp(0), 4); // 0
        s.assign(&tp(0), 4); // 4
        s.assign(&tp(1), 2); // 0, still unacked on partition 1
        s.request_bump(&tp(0));
        assert!(!s.can_sequence_new(&tp(0)), "partition 0 waits for its reset");
        assert!(!s.reset_ready(&tp(0)), "not before the bump");
        assert_eq!(s.init_wanted(), Some(P0), "the bump carries the current id and epoch");
        s.init_started();
        // The broker answered with the same id and epoch: bumped locally.
        s.init_done(P0);
        let p1 = ProducerIdAndEpoch { id: 7, epoch: 1 };
        assert_eq!(s.current(), Some(p1));
        assert!(s.reset_ready(&tp(0)));
        s.reset_partition(&tp(0));
        assert_eq!(s.assign(&tp(0), 4), (p1, 0));
        assert_eq!(s.assign(&tp(0), 4), (p1, 4));
        // Partition 1 keeps its old epoch while a batch is unacknowledged, then starts over at 0.
        assert!(!s.can_sequence_new(&tp(1)));
        s.acked(&tp(1), P0, 0, 2);
        assert!(s.can_sequence_new(&tp(1)));
        assert_eq!(s.assign(&tp(1), 1), (p1, 0));
        // An ack from an old epoch does not touch the new bookkeeping.
        s.acked(&tp(0), P0, 0, 4);
        assert_eq!(s.partition(&tp(0)).unwrap().unacked, [0, 4]);
    }

    #[test]
    fn a_new_producer_id_from_the_broker_is_taken_as_is() {
        let mut s = IdempotenceState::new();
        s.init_done(P0);
        s.can_sequence_new(&tp(0));
        s.assign(&tp(0), 1);
        s.request_bump(&tp(0));
        let fresh = ProducerIdAndEpoch { id: 99, epoch: 0 };
        s.init_done(fresh);
        assert_eq!(s.current(), Some(fresh));
        assert!(s.reset_ready(&tp(0)));
    }

    #[test]
    fn a_split_batch_keeps_its_sequence_range() {
        let mut s = IdempotenceState::new();
        s.init_done(P0);
        s.can_sequence_new(&tp(0));
        s.assign(&tp(0), 10); // 0
        s.assign(&tp(0), 10); // 10
        assert_eq!(s.split(&tp(0), 0, &[5, 5]), [0, 5]);
        assert_eq!(s.partition(&tp(0)).unwrap().unacked, [0, 5, 10]);
        // The later batch is still explained by the first piece.
        assert_eq!(s.out_of_order(&tp(0), P0, 10), SequenceVerdict::Retry);
        assert_eq!(s.split(&tp(0), 5, &[3, 2]), [5, 8]);
        assert_eq!(s.partition(&tp(0)).unwrap().unacked, [0, 5, 8, 10]);
        assert_eq!(s.assign(&tp(0), 1), (P0, 20), "the next batch follows the whole range");
    }
}
