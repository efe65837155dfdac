//! The dead-letter topic: where a record goes after its last failed attempt or a permanent error, with its key,
//! value and headers and provenance headers named as Spring Kafka's `DeadLetterPublishingRecoverer` names them,
//! so tools written for Spring read them.

use std::sync::Arc;

use bytes::Bytes;
use kafkar::consumer::ConsumerRecord;
use kafkar::producer::{Producer, ProducerRecord, RecordMetadata};
use kafkar::protocol::records::Header;

use crate::retry::HandlerError;

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
    pub async fn publish(
        &self,
        record: &ConsumerRecord,
        error: &HandlerError,
        group: Option<&str>,
    ) -> kafkar::Result<RecordMetadata> {
        let topic = (self.topic_for)(&record.topic);
        let mut out = dead_letter_record(record, error, group, &topic);
        if self.partition == DeadLetterPartition::Same {
            let cluster = self.producer.cluster();
            let info = cluster.topic(&topic, cluster.config().request_timeout).await?;
            if record.partition < info.partition_count() {
                out.partition = Some(record.partition);
            }
        }
        self.producer.send(out).await?.await
    }
}

/// The dead-letter record for `record` failed with `error`: the same key, value and headers, then the provenance
/// headers (earlier `kafka_dlt-*` headers, from a record that was dead-lettered before, are replaced).
pub fn dead_letter_record(
    record: &ConsumerRecord,
    error: &HandlerError,
    group: Option<&str>,
    topic: &str,
) -> ProducerRecord {
    let mut headers: Vec<Header> = record.headers.iter().filter(|h| !h.key.starts_with(b"kafka_dlt-")).collect();
    let mut add = |key: &'static str, value: Vec<u8>| headers.push(Header::new(key, Some(Bytes::from(value))));
    add(ORIGINAL_TOPIC, record.topic.as_bytes().to_vec());
    add(ORIGINAL_PARTITION, record.partition.to_be_bytes().to_vec());
    add(ORIGINAL_OFFSET, record.offset.to_be_bytes().to_vec());
    add(ORIGINAL_TIMESTAMP, record.timestamp.to_be_bytes().to_vec());
    add(ORIGINAL_TIMESTAMP_TYPE, record.timestamp_type.name().as_bytes().to_vec());
    if let Some(g) = group {
        add(ORIGINAL_CONSUMER_GROUP, g.as_bytes().to_vec());
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
