//! The dead-letter topic: where a record goes after its last failed attempt or a permanent error, with its key,
//! value and headers and provenance headers named as Spring Kafka's `DeadLetterPublishingRecoverer` names them,
//! so tools written for Spring read them.

use std::sync::Arc;

use bytes::Bytes;
use kafkar::consumer::ConsumerRecord;
use kafkar::producer::{Producer, ProducerRecord, RecordMetadata};
use kafkar::protocol::records::Header;

use crate::retry::HandlerError;
use crate::retry_topic;

/// The original topic (UTF-8).
pub const ORIGINAL_TOPIC: &str = "kafka_dlt-original-topic";
/// The original partition (4-byte big-endian integer, as Spring writes it).
pub const ORIGINAL_PARTITION: &str = "kafka_dlt-original-partition";
/// The original offset (8-byte big-endian integer).
pub const ORIGINAL_OFFSET: &str = "kafka_dlt-original-offset";
/// The original timestamp (8-byte big-endian integer, ms since the epoch).
pub const ORIGINAL_TIMESTAMP: &str = "kafka_dlt-original-timestamp";
/// The original timestamp's type (`CreateTime` or `LogAppendTime`).
pub const ORIGINAL_TIMESTAMP_TYPE: &str = "kafka_dlt-original-timestamp-type";
/// The consumer group that failed the record (UTF-8).
pub const ORIGINAL_CONSUMER_GROUP: &str = "kafka_dlt-original-consumer-group";
/// The error's type name (Spring: the exception's fully qualified class name).
pub const EXCEPTION_FQCN: &str = "kafka_dlt-exception-fqcn";
/// The error's message.
pub const EXCEPTION_MESSAGE: &str = "kafka_dlt-exception-message";

/// Which partition of the dead-letter topic a record goes to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeadLetterPartition {
    /// The original record's partition number, as Spring does; when the dead-letter topic has fewer partitions,
    /// the producer's partitioner picks one (by key).
    #[default]
    Same,
    /// The producer's partitioner picks (by key; sticky for keyless records).
    ByKey,
}

/// Where dead letters go and how they are written.
#[derive(Clone)]
pub struct DeadLetterConfig {
    /// The producer writing dead letters.
    pub producer: Arc<Producer>,
    /// The dead-letter topic for a source topic; `<topic>.DLT` by default.
    pub topic_for: Arc<dyn Fn(&str) -> String + Send + Sync>,
    /// The partition choice.
    pub partition: DeadLetterPartition,
}

impl std::fmt::Debug for DeadLetterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetterConfig").field("partition", &self.partition).finish_non_exhaustive()
    }
}

/// The default dead-letter topic name: `<topic>.DLT` (Spring Kafka's default).
pub fn default_dead_letter_topic(topic: &str) -> String {
    format!("{topic}.DLT")
}

impl DeadLetterConfig {
    /// Dead letters to `<topic>.DLT` through `producer`, in the original partition number.
    pub fn new(producer: Arc<Producer>) -> DeadLetterConfig {
        DeadLetterConfig {
            producer,
            topic_for: Arc::new(default_dead_letter_topic),
            partition: DeadLetterPartition::Same,
        }
    }

    /// The same, with dead letters of topic `t` going to `topic_for(t)`.
    pub fn with_topic(mut self, topic_for: impl Fn(&str) -> String + Send + Sync + 'static) -> DeadLetterConfig {
        self.topic_for = Arc::new(topic_for);
        self
    }

    /// The same, with another partition choice.
    pub fn with_partition(mut self, partition: DeadLetterPartition) -> DeadLetterConfig {
        self.partition = partition;
        self
    }

    /// Writes `record`, failed with `error`, to its dead-letter topic and waits for the broker's acknowledgement.
    ///
    /// A record that came through [retry topics](crate::retry_topic) goes to the dead-letter topic of its
    /// original topic, with the provenance of its first failure.
    pub async fn publish(
        &self,
        record: &ConsumerRecord,
        error: &HandlerError,
        group: Option<&str>,
    ) -> kafkar::Result<RecordMetadata> {
        let topic = (self.topic_for)(&original_topic(record));
        let out = dead_letter_record(record, error, group, &topic);
        send_to(&self.producer, out, self.partition, record.partition).await
    }
}

/// Sends `out` (its partition chosen by `choice`, `partition` being the source record's) and waits for the
/// broker's acknowledgement.
pub(crate) async fn send_to(
    producer: &Producer,
    mut out: ProducerRecord,
    choice: DeadLetterPartition,
    partition: i32,
) -> kafkar::Result<RecordMetadata> {
    if choice == DeadLetterPartition::Same {
        let cluster = producer.cluster();
        let info = cluster.topic(&out.topic, cluster.config().request_timeout).await?;
        if partition < info.partition_count() {
            out.partition = Some(partition);
        }
    }
    producer.send(out).await?.await
}

/// The topic `record` was first written to: its own, or for a record forwarded through
/// [retry topics](crate::retry_topic), the one its [`ORIGINAL_TOPIC`] header names.
pub fn original_topic(record: &ConsumerRecord) -> String {
    if retry_topic::hop(record) > 0 {
        let original = record.headers.last(ORIGINAL_TOPIC.as_bytes()).and_then(|h| h.value);
        if let Some(name) = original.as_deref().and_then(|v| std::str::from_utf8(v).ok()) {
            return name.to_owned();
        }
    }
    record.topic.to_string()
}

/// The dead-letter record for `record` failed with `error`: the same key, value and headers, then the provenance
/// headers (earlier `kafka_dlt-*` headers, from a record that was dead-lettered before, are replaced). A record
/// forwarded through retry topics keeps the provenance of its first failure (its original topic, partition,
/// offset, timestamp and group) and gets the latest error.
pub fn dead_letter_record(
    record: &ConsumerRecord,
    error: &HandlerError,
    group: Option<&str>,
    topic: &str,
) -> ProducerRecord {
    let forwarded = retry_topic::hop(record) > 0 && record.headers.last(ORIGINAL_TOPIC.as_bytes()).is_some();
    let keep = |h: &Header| {
        if h.key.starts_with(b"retry_topic-") {
            return false;
        }
        if forwarded && h.key.starts_with(b"kafka_dlt-original-") {
            return true;
        }
        !h.key.starts_with(b"kafka_dlt-")
    };
    let mut headers: Vec<Header> = record.headers.iter().filter(keep).collect();
    let mut add = |key: &'static str, value: Vec<u8>| headers.push(Header::new(key, Some(Bytes::from(value))));
    if !forwarded {
        add(ORIGINAL_TOPIC, record.topic.as_bytes().to_vec());
        add(ORIGINAL_PARTITION, record.partition.to_be_bytes().to_vec());
        add(ORIGINAL_OFFSET, record.offset.to_be_bytes().to_vec());
        add(ORIGINAL_TIMESTAMP, record.timestamp.to_be_bytes().to_vec());
        add(ORIGINAL_TIMESTAMP_TYPE, record.timestamp_type.name().as_bytes().to_vec());
        if let Some(g) = group {
            add(ORIGINAL_CONSUMER_GROUP, g.as_bytes().to_vec());
        }
    }
    add(EXCEPTION_FQCN, error.type_name().as_bytes().to_vec());
    add(EXCEPTION_MESSAGE, error.message_text().as_bytes().to_vec());
    ProducerRecord {
        topic: Arc::from(topic),
        partition: None,
        key: record.key.clone(),
        value: record.value.clone(),
        headers,
        timestamp: None,
    }
}

/// The record forwarding `record` (failed with `error`) to the retry topic `topic` for delivery number `attempts`,
/// due at `due_millis` (ms since the epoch): the dead-letter form (provenance and error headers) plus
/// [`retry_topic::ATTEMPTS`] and [`retry_topic::BACKOFF_TIMESTAMP`].
pub fn retry_record(
    record: &ConsumerRecord,
    error: &HandlerError,
    group: Option<&str>,
    topic: &str,
    attempts: u32,
    due_millis: i64,
) -> ProducerRecord {
    let mut out = dead_letter_record(record, error, group, topic);
    let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
    out.headers.push(Header::new(retry_topic::ATTEMPTS, Some(Bytes::copy_from_slice(&attempts.to_be_bytes()))));
    out.headers
        .push(Header::new(retry_topic::BACKOFF_TIMESTAMP, Some(Bytes::copy_from_slice(&due_millis.to_be_bytes()))));
    out
}
