//! The producer: partitioning, the record accumulator, the sender and idempotence.

pub mod partitioner;
