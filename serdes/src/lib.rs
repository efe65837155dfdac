//! Typed messages for kafkar: [`Serializer`] / [`Deserializer`] traits with the record's topic and headers as
//! context, serdes for bytes, UTF-8 strings and (feature `json`, on by default) JSON through serde, and
//! [`TypedProducer`] / [`TypedConsumer`] wrappers over kafkar's [`Producer`] and [`Consumer`].
//!
//! A value that does not deserialize never stops a [`TypedConsumer`]: it is returned as a per-record
//! [`DeserializeFailure`] that carries the raw [`ConsumerRecord`], so a handler can route it (for example to a
//! dead-letter topic) and carry on with the next record.

#![deny(missing_docs)]

use std::marker::PhantomData;
use std::time::Duration;

use bytes::Bytes;
use kafkar::consumer::ConsumerRecord;
use kafkar::producer::{DeliveryFuture, ProducerRecord};
use kafkar::protocol::records::Header;
use kafkar::{Consumer, Producer};

/// Whether a serde works on a record's key or its value (the Java client's `isKey`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The record's key.
    Key,
    /// The record's value.
    Value,
}

/// What a serializer or deserializer knows about the record besides the data: its topic, which part it handles,
/// and its headers (a serializer may add headers, as Confluent's serializers may).
#[derive(Debug)]
pub struct Context<'a> {
    /// The record's topic.
    pub topic: &'a str,
    /// Key or value.
    pub part: Part,
    /// The record's headers.
    pub headers: &'a [Header],
}

/// Why a value could not be serialized or deserialized.
#[derive(Debug, thiserror::Error)]
pub enum SerdeError {
    /// The bytes are not valid UTF-8 (string deserializer).
    #[error("invalid UTF-8: {0}")]
    Utf8(#[from] std::str::Utf8Error),
    /// JSON encoding or decoding failed.
    #[cfg(feature = "json")]
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The deserializer does not accept a null (absent) key or value.
    #[error("null {0:?} where a value is required")]
    Null(Part),
    /// The bytes are not in the Schema Registry wire format (wrong magic byte, too short).
    #[cfg(feature = "registry")]
    #[error("wire format: {0}")]
    Wire(#[from] wire::WireError),
    /// The record's schema id is not one this deserializer knows.
    #[cfg(feature = "registry")]
    #[error("unknown schema id {0}")]
    UnknownSchemaId(u32),
    /// Avro encoding or decoding failed.
    #[cfg(feature = "avro")]
    #[error("Avro: {0}")]
    Avro(String),
    /// Any other failure, from a serde outside this crate.
    #[error("{0}")]
    Other(String),
}

/// Turns a `T` into a record's key or value bytes.
pub trait Serializer<T: ?Sized>: Send + Sync {
    /// Serializes `value`; `headers` may be extended.
    fn serialize(&self, value: &T, topic: &str, part: Part, headers: &mut Vec<Header>) -> Result<Bytes, SerdeError>;
}

/// Turns a record's key or value bytes (`None` is a null) into a `T`.
pub trait Deserializer<T>: Send + Sync {
    /// Deserializes `data`, read from the record described by `ctx`.
    fn deserialize(&self, data: Option<&Bytes>, ctx: &Context<'_>) -> Result<T, SerdeError>;
}

/// Bytes unchanged; a null is `None` on deserialization.
#[derive(Clone, Copy, Debug, Default)]
pub struct BytesSerde;

impl Serializer<Bytes> for BytesSerde {
    fn serialize(&self, value: &Bytes, _: &str, _: Part, _: &mut Vec<Header>) -> Result<Bytes, SerdeError> {
        Ok(value.clone())
    }
}

impl Deserializer<Option<Bytes>> for BytesSerde {
    fn deserialize(&self, data: Option<&Bytes>, _: &Context<'_>) -> Result<Option<Bytes>, SerdeError> {
        Ok(data.cloned())
    }
}

/// UTF-8 strings; a null deserializes to [`SerdeError::Null`] (use `Option<String>` to accept nulls).
#[derive(Clone, Copy, Debug, Default)]
pub struct StringSerde;

impl Serializer<str> for StringSerde {
    fn serialize(&self, value: &str, _: &str, _: Part, _: &mut Vec<Header>) -> Result<Bytes, SerdeError> {
        Ok(Bytes::copy_from_slice(value.as_bytes()))
    }
}

impl Serializer<String> for StringSerde {
    fn serialize(&self, value: &String, t: &str, p: Part, h: &mut Vec<Header>) -> Result<Bytes, SerdeError> {
        Serializer::<str>::serialize(self, value, t, p, h)
    }
}

impl Deserializer<String> for StringSerde {
    fn deserialize(&self, data: Option<&Bytes>, ctx: &Context<'_>) -> Result<String, SerdeError> {
        let data = data.ok_or(SerdeError::Null(ctx.part))?;
        Ok(std::str::from_utf8(data)?.to_owned())
    }
}

impl Deserializer<Option<String>> for StringSerde {
    fn deserialize(&self, data: Option<&Bytes>, ctx: &Context<'_>) -> Result<Option<String>, SerdeError> {
        data.map(|d| Deserializer::<String>::deserialize(self, Some(d), ctx)).transpose()
    }
}

/// JSON through serde_json (feature `json`). A null deserializes as JSON `null` (so `Option<T>` accepts it).
#[cfg(feature = "json")]
#[derive(Debug)]
pub struct JsonSerde<T>(PhantomData<fn() -> T>);

#[cfg(feature = "json")]
impl<T> JsonSerde<T> {
    /// A JSON serde for `T`.
    pub fn new() -> JsonSerde<T> {
        JsonSerde(PhantomData)
    }
}

#[cfg(feature = "json")]
impl<T> Default for JsonSerde<T> {
    fn default() -> Self {
        JsonSerde::new()
    }
}

#[cfg(feature = "json")]
impl<T: serde::Serialize> Serializer<T> for JsonSerde<T> {
    fn serialize(&self, value: &T, _: &str, _: Part, _: &mut Vec<Header>) -> Result<Bytes, SerdeError> {
        Ok(Bytes::from(serde_json::to_vec(value)?))
    }
}

#[cfg(feature = "json")]
impl<T: serde::de::DeserializeOwned> Deserializer<T> for JsonSerde<T> {
    fn deserialize(&self, data: Option<&Bytes>, _: &Context<'_>) -> Result<T, SerdeError> {
        Ok(match data {
            Some(d) => serde_json::from_slice(d)?,
            None => serde_json::from_value(serde_json::Value::Null)?,
        })
    }
}

/// A typed producer failure: the value did not serialize, or kafkar refused the record.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The key or value did not serialize; nothing was sent.
    #[error("serializing the {part:?} for topic {topic}: {source}")]
    Serialize {
        /// The record's topic.
        topic: String,
        /// Key or value.
        part: Part,
        /// The serde's error.
        source: SerdeError,
    },
    /// The producer's error.
    #[error(transparent)]
    Producer(#[from] kafkar::Error),
}

/// A [`Producer`] that serializes keys of type `K` and values of type `V`.
pub struct TypedProducer<K: ?Sized, V: ?Sized, KS, VS> {
    producer: Producer,
    key_serde: KS,
    value_serde: VS,
    _types: PhantomData<fn(&K, &V)>,
}

impl<K: ?Sized, V: ?Sized, KS: Serializer<K>, VS: Serializer<V>> TypedProducer<K, V, KS, VS> {
    /// Wraps `producer`.
    pub fn new(producer: Producer, key_serde: KS, value_serde: VS) -> Self {
        TypedProducer { producer, key_serde, value_serde, _types: PhantomData }
    }

    /// The underlying producer (for flush, close, metrics or untyped sends).
    pub fn inner(&self) -> &Producer {
        &self.producer
    }

    /// Serializes `key` and `value` (either may be `None`, a null) with `headers` and sends them to `topic`,
    /// like [`Producer::send`]; `partition` and timestamp are left to the producer.
    pub async fn send(
        &self,
        topic: &str,
        key: Option<&K>,
        value: Option<&V>,
        mut headers: Vec<Header>,
    ) -> Result<DeliveryFuture, SendError> {
        let ser_err = |part, source| SendError::Serialize { topic: topic.to_owned(), part, source };
        let key = key
            .map(|k| self.key_serde.serialize(k, topic, Part::Key, &mut headers))
            .transpose()
            .map_err(|e| ser_err(Part::Key, e))?;
        let value = value
            .map(|v| self.value_serde.serialize(v, topic, Part::Value, &mut headers))
            .transpose()
            .map_err(|e| ser_err(Part::Value, e))?;
        let mut record = ProducerRecord::new(topic).headers(headers);
        record.key = key;
        record.value = value;
        Ok(self.producer.send(record).await?)
    }
}

/// A record whose key or value did not deserialize, with the raw record for a dead-letter route.
#[derive(Debug, thiserror::Error)]
#[error("record {}-{}@{}: {part:?} did not deserialize: {source}", record.topic, record.partition, record.offset)]
pub struct DeserializeFailure {
    /// The record as read from the broker (boxed: failures are rare and the `Result` stays small).
    pub record: Box<ConsumerRecord>,
    /// Key or value.
    pub part: Part,
    /// The serde's error.
    pub source: SerdeError,
}

/// A record with a typed key and value and the raw record's position, timestamp and headers.
#[derive(Debug)]
pub struct TypedRecord<K, V> {
    /// The key.
    pub key: K,
    /// The value.
    pub value: V,
    /// The raw record (its key and value bytes are still there, shared).
    pub record: ConsumerRecord,
}

/// A [`Consumer`] that deserializes each record; a failure is per record.
pub struct TypedConsumer<K, V, KD, VD> {
    consumer: Consumer,
    key_serde: KD,
    value_serde: VD,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V, KD: Deserializer<K>, VD: Deserializer<V>> TypedConsumer<K, V, KD, VD> {
    /// Wraps `consumer` (already subscribed or assigned, or do it through [`inner_mut`](Self::inner_mut)).
    pub fn new(consumer: Consumer, key_serde: KD, value_serde: VD) -> Self {
        TypedConsumer { consumer, key_serde, value_serde, _types: PhantomData }
    }

    /// The underlying consumer.
    pub fn inner(&self) -> &Consumer {
        &self.consumer
    }

    /// The underlying consumer, mutably (commit, seek, subscribe).
    pub fn inner_mut(&mut self) -> &mut Consumer {
        &mut self.consumer
    }

    /// Unwraps the consumer.
    pub fn into_inner(self) -> Consumer {
        self.consumer
    }

    /// Deserializes one raw record.
    pub fn decode(&self, record: ConsumerRecord) -> Result<TypedRecord<K, V>, DeserializeFailure> {
        let headers = record.headers.to_vec();
        let ctx = |part| Context { topic: &record.topic, part, headers: &headers };
        let key = self.key_serde.deserialize(record.key.as_ref(), &ctx(Part::Key));
        let value = self.value_serde.deserialize(record.value.as_ref(), &ctx(Part::Value));
        match (key, value) {
            (Ok(key), Ok(value)) => Ok(TypedRecord { key, value, record }),
            (Err(source), _) => {
                tracing::debug!(topic = %record.topic, partition = record.partition, offset = record.offset, "key did not deserialize");
                Err(DeserializeFailure { record: Box::new(record), part: Part::Key, source })
            }
            (_, Err(source)) => {
                tracing::debug!(topic = %record.topic, partition = record.partition, offset = record.offset, "value did not deserialize");
                Err(DeserializeFailure { record: Box::new(record), part: Part::Value, source })
            }
        }
    }

    /// The next record, typed or a per-record failure. The outer error is the consumer's own.
    pub async fn recv(&mut self) -> kafkar::Result<Result<TypedRecord<K, V>, DeserializeFailure>> {
        let record = self.consumer.recv().await?;
        Ok(self.decode(record))
    }

    /// Like [`Consumer::poll`], each record decoded on its own.
    pub async fn poll(
        &mut self,
        max_records: usize,
        timeout: Duration,
    ) -> kafkar::Result<Vec<Result<TypedRecord<K, V>, DeserializeFailure>>> {
        let records = self.consumer.poll(max_records, timeout).await?;
        Ok(records.into_iter().map(|r| self.decode(r)).collect())
    }
}

#[cfg(feature = "registry")]
mod json_schema;
#[cfg(feature = "registry")]
pub mod registry;
#[cfg(feature = "registry")]
pub mod wire;
#[cfg(feature = "registry")]
pub use json_schema::JsonSchemaSerde;
#[cfg(feature = "avro")]
mod avro;
#[cfg(feature = "avro")]
pub use avro::AvroSerde;
