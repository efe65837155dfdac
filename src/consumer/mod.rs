//! The consumer: group assignment and membership (classic and KIP-848), written as socket-free state machines that
//! a driver feeds with responses and the current time.

pub mod assignor;
pub mod membership;
mod topic_partition;

pub use topic_partition::TopicPartition;
