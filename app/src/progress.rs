//! Per-partition progress: which handed-out records are finished, and the offset that may be committed (the
//! contiguous prefix of finished records).

use std::collections::VecDeque;

/// The records of one partition handed to handlers, in offset order, and how far the finished prefix reaches.
///
/// Offsets may have gaps (compaction, transaction markers): "contiguous" is over the records handed out, not over
/// offset numbers. The committable offset is the first unfinished record's offset, or one past the last finished
/// record when every record handed out is finished.
#[derive(Debug, Default)]
pub(crate) struct OffsetTracker {
    /// Handed out and not yet part of the finished prefix: (offset, finished).
    open: VecDeque<(i64, bool)>,
    /// One past the last record of the finished prefix (what a commit carries), if any record finished.
    committable: Option<i64>,
    /// The leader epoch of the last record of the finished prefix.
    committable_epoch: Option<i32>,
    /// Leader epochs of open records (parallel to `open`).
    epochs: VecDeque<Option<i32>>,
}

impl OffsetTracker {
    /// Records `offset` as handed out. Offsets must increase; a repeated or older offset is ignored (false).
    pub fn dispatched(&mut self, offset: i64, leader_epoch: Option<i32>) -> bool {
        let newest = self.open.back().map(|(o, _)| *o).or(self.committable.map(|c| c - 1));
        if newest.is_some_and(|n| offset <= n) {
            return false;
        }
        self.open.push_back((offset, false));
        self.epochs.push_back(leader_epoch);
        true
    }

    /// Marks `offset` finished (handled, or dead-lettered) and advances the prefix. False when it was not open.
    pub fn finished(&mut self, offset: i64) -> bool {
        let Ok(i) = self.open.binary_search_by_key(&offset, |(o, _)| *o) else { return false };
        self.open[i].1 = true;
        while let Some(&(o, true)) = self.open.front() {
            self.open.pop_front();
            self.committable = Some(o + 1);
            self.committable_epoch = self.epochs.pop_front().flatten();
        }
        true
    }

    /// The offset to commit (next record to read) and its leader epoch, if any record finished.
    pub fn committable(&self) -> Option<(i64, Option<i32>)> {
        self.committable.map(|c| (c, self.committable_epoch))
    }

    /// Records handed out and not yet in the finished prefix (finished out of order or still open).
    pub fn pending(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::OffsetTracker;

    #[test]
    fn only_the_contiguous_prefix_is_committable() {
        let mut t = OffsetTracker::default();
        assert_eq!(t.committable(), None);
        for o in [3, 4, 7, 8] {
            assert!(t.dispatched(o, Some(1)));
        }
        assert!(t.finished(4));
        assert_eq!(t.committable(), None, "3 is still open");
        assert!(t.finished(3));
        assert_eq!(t.committable(), Some((5, Some(1))));
        assert!(t.finished(8));
        assert_eq!(t.committable(), Some((5, Some(1))), "7 (after a gap) is still open");
        assert_eq!(t.pending(), 2);
        assert!(t.finished(7));
        assert_eq!(t.committable(), Some((9, Some(1))));
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn old_and_unknown_offsets_are_refused() {
        let mut t = OffsetTracker::default();
        assert!(t.dispatched(10, None));
        assert!(!t.dispatched(10, None));
        assert!(!t.dispatched(9, None));
        assert!(!t.finished(11));
        assert!(t.finished(10));
        assert!(!t.finished(10));
        assert!(!t.dispatched(10, None), "10 is committed already");
        assert!(t.dispatched(11, Some(2)));
        assert!(t.finished(11));
        assert_eq!(t.committable(), Some((12, Some(2))));
    }
}
