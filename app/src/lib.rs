//! The application layer over [`kafkar`]: what services build by hand around a Kafka client, built once.
//!
//! - [`HandlerConsumer`]: an async handler per record, at least once, partitions concurrent and each in order;
//!   only the contiguous prefix of finished records is committed; backpressure by pausing partitions; revocation
//!   waits (bounded) for running handlers and commits what finished.
//! - [`RetryPolicy`] and [`HandlerError`]: attempts, exponential backoff with jitter, retriable or permanent;
//!   [`DeadLetterConfig`]: the `<topic>.DLT` topic with Spring Kafka's `kafka_dlt-*` headers;
//!   [`RetryTopics`]: long backoffs through `<topic>-retry-<delay>` topics (Spring Kafka's non-blocking retries).
//! - [`HandlerConsumer::new_batch`]: the same with a handler per batch of one partition's records.
//! - [`Shutdown`]: a token, triggered by hand or by SIGTERM/ctrl-c; the consumer then stops fetching, lets running
//!   handlers finish, flushes the dead-letter producer, commits and leaves the group.
//! - [`trace`]: W3C `traceparent`/`tracestate` and `X-Trace-Id` headers, injected on send, extracted into the
//!   handler's context and `tracing` span.
//! - [`metrics`]: handler metrics and health, Prometheus text, and a producer `ping`.
//! - [`profile`]: development and production defaults (seed 002), overridable by properties files and the
//!   environment.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dead_letter;
mod handler;
pub mod metrics;
pub mod profile;
mod progress;
pub mod retry;
pub mod retry_topic;
pub mod shutdown;
pub mod trace;

pub use dead_letter::{DeadLetterConfig, DeadLetterPartition};
pub use handler::{BatchDelivery, Delivery, HandlerConsumer, HandlerSettings, Monitor};
pub use metrics::{HandlerMetrics, Health};
pub use retry::{Classification, HandlerError, Permanent, Retriable, RetryPolicy};
pub use retry_topic::RetryTopics;
pub use shutdown::Shutdown;
pub use trace::TraceContext;

/// The crate README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
