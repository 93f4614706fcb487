//! In-order release of out-of-order acknowledgements.
//!
//! A stage may finish records out of order (two alert sends in parallel, a batch split across
//! inserts). An offset may only be committed when every record before it in its partition is
//! done, so `OrderedAcks` keeps, per partition, the delivered offsets in delivery order and
//! releases the longest fully-acknowledged prefix (Vector's `OrderedFinalizer`, rdkafka's
//! `at_least_once` example). Offsets need not be contiguous (Kafka compaction and transaction
//! markers leave gaps).

use std::collections::{BTreeMap, VecDeque};

use crate::Position;

#[derive(Debug, Default)]
struct PartitionAcks {
    /// Delivered offsets not yet released, oldest first, with their acked flag.
    pending: VecDeque<(i64, bool)>,
}

/// Tracks delivered and acknowledged positions; see the module docs.
#[derive(Debug, Default)]
pub struct OrderedAcks {
    partitions: BTreeMap<i32, PartitionAcks>,
}

impl OrderedAcks {
    /// Returns an empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `position` was handed to the stage.
    ///
    /// A position at or before one already pending means the partition was rewound (a
    /// rebalance gave it back from its committed offset): its older state is forgotten.
    pub fn delivered(&mut self, position: Position) {
        let partition = self.partitions.entry(position.partition).or_default();
        if let Some(&(last, _)) = partition.pending.back() {
            if position.offset <= last {
                partition.pending.clear();
            }
        }
        partition.pending.push_back((position.offset, false));
    }

    /// Marks `position` acknowledged. Unknown positions are ignored (a rewound partition).
    pub fn acked(&mut self, position: Position) {
        if let Some(partition) = self.partitions.get_mut(&position.partition) {
            if let Ok(index) = partition
                .pending
                .binary_search_by_key(&position.offset, |&(offset, _)| offset)
            {
                partition.pending[index].1 = true;
            }
        }
    }

    /// Removes the fully-acknowledged prefix of every partition and returns, per partition,
    /// the next offset to commit (last released offset + 1).
    pub fn release(&mut self) -> Vec<Position> {
        let mut released = Vec::new();
        for (&partition, acks) in &mut self.partitions {
            let mut last = None;
            while let Some(&(offset, true)) = acks.pending.front() {
                last = Some(offset);
                acks.pending.pop_front();
            }
            if let Some(offset) = last {
                released.push(Position {
                    partition,
                    offset: offset + 1,
                });
            }
        }
        released
    }

    /// Forgets a partition that this consumer no longer owns.
    pub fn forget_partition(&mut self, partition: i32) {
        self.partitions.remove(&partition);
    }

    /// Returns the number of delivered, not yet released positions.
    pub fn in_flight(&self) -> usize {
        self.partitions
            .values()
            .map(|acks| acks.pending.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(partition: i32, offset: i64) -> Position {
        Position { partition, offset }
    }

    #[test]
    fn releases_only_the_contiguous_acked_prefix() {
        let mut acks = OrderedAcks::new();
        for offset in [10, 11, 13, 14] {
            acks.delivered(at(0, offset));
        }
        acks.acked(at(0, 11));
        acks.acked(at(0, 13));
        assert_eq!(acks.release(), vec![]);
        acks.acked(at(0, 10));
        assert_eq!(acks.release(), vec![at(0, 14)]);
        acks.acked(at(0, 14));
        assert_eq!(acks.release(), vec![at(0, 15)]);
        assert_eq!(acks.in_flight(), 0);
    }

    #[test]
    fn partitions_are_independent_and_rewinds_reset() {
        let mut acks = OrderedAcks::new();
        acks.delivered(at(0, 1));
        acks.delivered(at(1, 7));
        acks.acked(at(1, 7));
        assert_eq!(acks.release(), vec![at(1, 8)]);
        acks.delivered(at(0, 2));
        acks.delivered(at(0, 1)); // rewound
        acks.acked(at(0, 2)); // stale: no longer pending
        acks.acked(at(0, 1));
        assert_eq!(acks.release(), vec![at(0, 2)]);
        acks.acked(at(5, 1)); // unknown partition: ignored
        assert_eq!(acks.release(), vec![]);
    }
}
