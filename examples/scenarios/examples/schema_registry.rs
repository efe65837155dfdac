//! Schema Registry serdes (kafkar-serdes): orders as Avro and shipping events as JSON Schema, each framed in the
//! Confluent wire format (magic byte 0, the 4-byte schema id, the payload), the schemas registered under the
//! topic's `-value` subject. Read back through typed consumers; a record framed with a schema id the registry
//! never gave out is a typed per-record error ([`SerdeError::UnknownSchemaId`]), and the consumer goes on.
//!
//! ```sh
//! KAFKA_BOOTSTRAP=127.0.0.1:9092 cargo run -p kafkar-examples --example schema_registry
//! ```
//!
//! With `SCHEMA_REGISTRY_URL` (and `SCHEMA_REGISTRY_USER_INFO=user:password` for Basic auth) it uses that
//! registry; without, a small registry server in the process (the one kafkar-serdes' tests use).

use std::time::Duration;

use kafkar::admin::NewTopic;
use kafkar::{Consumer, Producer, ProducerRecord};
use kafkar_examples::test_registry::TestRegistry;
use kafkar_examples::{Config, Result, create_topics, delete_topics};
use kafkar_serdes::registry::RegistryClient;
use kafkar_serdes::wire::{self, SubjectNameStrategy};
use kafkar_serdes::{
    AvroSerde, Deserializer, JsonSchemaSerde, Part, SerdeError, Serializer, StringSerde, TypedConsumer, TypedProducer,
};
use serde::{Deserialize, Serialize};

/// The orders' Avro schema.
pub const ORDER_SCHEMA: &str = r#"{"type": "record", "name": "Order", "namespace": "shop", "fields": [
    {"name": "id", "type": "long"},
    {"name": "item", "type": "string"},
    {"name": "quantity", "type": "int"}
]}"#;

/// The shipping events' JSON Schema.
pub const SHIPPED_SCHEMA: &str = r#"{"$schema": "http://json-schema.org/draft-07/schema#", "title": "Shipped",
    "type": "object", "required": ["order", "carrier"],
    "properties": {"order": {"type": "integer"}, "carrier": {"type": "string"}}}"#;

/// A schema id no registry handed out in this run.
pub const UNKNOWN_SCHEMA_ID: u32 = 987_654;

/// An order (Avro).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Its id.
    pub id: i64,
    /// What.
    pub item: String,
    /// How many.
    pub quantity: i32,
}

/// A shipping event (JSON Schema).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipped {
    /// The order id.
    pub order: i64,
    /// Who carries it.
    pub carrier: String,
}

/// What went through the registry and the broker.
#[derive(Debug)]
pub struct Outcome {
    /// The Avro schema's id, as the producer registered it.
    pub order_schema_id: u32,
    /// The id the registry gives for the latest version of `<topic>-value`.
    pub order_subject_latest_id: u32,
    /// The orders sent.
    pub orders_sent: Vec<Order>,
    /// The orders read back.
    pub orders_received: Vec<Order>,
    /// The schema id in the first received record's wire header.
    pub first_record_schema_id: Option<u32>,
    /// The per-record errors the consumer returned (offset, error).
    pub failures: Vec<(i64, SerdeError)>,
    /// Whether the registry answers "not found" for the unknown id.
    pub unknown_id_not_in_registry: bool,
    /// The JSON Schema's id.
    pub shipped_schema_id: u32,
    /// The shipping events sent.
    pub shipped_sent: Vec<Shipped>,
    /// The shipping events read back.
    pub shipped_received: Vec<Shipped>,
}

/// Reads `n` records of partition 0 of `topic`, each decoded by `decode`.
async fn read_n<T>(
    cfg: &Config,
    topic: &str,
    n: usize,
    mut decode: impl FnMut(kafkar::consumer::ConsumerRecord) -> T,
) -> Result<Vec<T>> {
    let mut consumer = Consumer::new(cfg.consumer_config()).await?;
    consumer.assign([kafkar::consumer::TopicPartition::new(topic, 0)])?;
    let deadline = tokio::time::Instant::now() + cfg.timeout;
    let mut out = Vec::new();
    while out.len() < n {
        if tokio::time::Instant::now() > deadline {
            return Err(format!("{} of {n} records of {topic} read in {:?}", out.len(), cfg.timeout).into());
        }
        out.extend(consumer.poll(100, Duration::from_millis(200)).await?.into_iter().map(&mut decode));
    }
    consumer.close().await?;
    Ok(out)
}

/// The registry to use: `SCHEMA_REGISTRY_URL`'s, or a test registry started here (kept alive by the guard).
async fn registry() -> Result<(RegistryClient, Option<TestRegistry>)> {
    if let Ok(url) = std::env::var("SCHEMA_REGISTRY_URL") {
        let mut client = RegistryClient::new(&url)?;
        if let Some((user, password)) =
            std::env::var("SCHEMA_REGISTRY_USER_INFO").ok().as_deref().and_then(|u| u.split_once(':'))
        {
            client = client.with_basic_auth(user, password);
        }
        return Ok((client, None));
    }
    let server = TestRegistry::start("scenario:secret").await;
    let client = RegistryClient::new(&server.url)?.with_basic_auth("scenario", "secret");
    Ok((client, Some(server)))
}

/// Round-trips orders (Avro) and shipping events (JSON Schema) through the registry and the broker.
pub async fn run(cfg: &Config) -> Result<Outcome> {
    let admin = cfg.admin().await?;
    let orders_topic = cfg.name("registry-orders");
    let shipped_topic = cfg.name("registry-shipped");
    create_topics(&admin, &[NewTopic::new(&orders_topic, 1, 1), NewTopic::new(&shipped_topic, 1, 1)]).await?;
    let (client, _server) = registry().await?;

    // Producer side: register the schema (under <topic>-value), then write typed orders.
    let avro =
        || AvroSerde::<Order>::register(&client, SubjectNameStrategy::Topic, &orders_topic, Part::Value, ORDER_SCHEMA);
    let serde = avro().await?;
    let order_schema_id = serde.schema_id();
    let producer = TypedProducer::new(Producer::new(cfg.producer_config()).await?, StringSerde, serde);
    let orders_sent: Vec<Order> =
        (1..=5).map(|i| Order { id: i, item: format!("item-{i}"), quantity: i as i32 * 2 }).collect();
    for o in &orders_sent {
        producer.send(&orders_topic, Some(o.id.to_string().as_str()), Some(o), Vec::new()).await?.await?;
    }
    // A record from a producer that used a schema id this registry does not know.
    let stray =
        ProducerRecord::new(orders_topic.as_str()).key("stray").value(wire::encode(UNKNOWN_SCHEMA_ID, &[2, 4, 6]));
    producer.inner().send(stray).await?.await?;
    producer.inner().close().await;
    let order_subject_latest_id = client.latest(&format!("{orders_topic}-value")).await?.id;
    let unknown_id_not_in_registry = matches!(client.schema_by_id(UNKNOWN_SCHEMA_ID).await, Err(e) if e.is_not_found());

    // Consumer side: typed records, and a per-record error for the stray one.
    let consumer_serde = avro().await?;
    let typed = TypedConsumer::<String, Order, _, _>::new(
        Consumer::new(cfg.consumer_config()).await?,
        StringSerde,
        consumer_serde,
    );
    let mut first_record_schema_id = None;
    let mut orders_received = Vec::new();
    let mut failures = Vec::new();
    for result in read_n(cfg, &orders_topic, orders_sent.len() + 1, |r| {
        if first_record_schema_id.is_none() {
            first_record_schema_id = r.value.as_deref().and_then(|v| wire::decode(v).ok()).map(|(id, _)| id);
        }
        typed.decode(r)
    })
    .await?
    {
        match result {
            Ok(record) => orders_received.push(record.value),
            Err(failure) => {
                tracing::info!(error = %failure, "a record that did not deserialize; carrying on");
                failures.push((failure.record.offset, failure.source));
            }
        }
    }

    // JSON Schema: the same framing, a JSON payload.
    let json = JsonSchemaSerde::<Shipped>::register(
        &client,
        SubjectNameStrategy::Topic,
        &shipped_topic,
        Part::Value,
        None,
        SHIPPED_SCHEMA,
    )
    .await?;
    let shipped_schema_id = json.schema_id();
    let shipped_sent: Vec<Shipped> =
        orders_sent.iter().map(|o| Shipped { order: o.id, carrier: format!("carrier-{}", o.id % 2) }).collect();
    let raw = Producer::new(cfg.producer_config()).await?;
    for s in &shipped_sent {
        let value = json.serialize(s, &shipped_topic, Part::Value, &mut Vec::new())?;
        raw.send(ProducerRecord::new(shipped_topic.as_str()).value(value)).await?.await?;
    }
    raw.close().await;
    let mut shipped_received = Vec::new();
    for r in read_n(cfg, &shipped_topic, shipped_sent.len(), |r| r).await? {
        let ctx = kafkar_serdes::Context { topic: &shipped_topic, part: Part::Value, headers: &[] };
        shipped_received.push(json.deserialize(r.value.as_ref(), &ctx)?);
    }
    delete_topics(&admin, &[orders_topic, shipped_topic]).await;
    Ok(Outcome {
        order_schema_id,
        order_subject_latest_id,
        orders_sent,
        orders_received,
        first_record_schema_id,
        failures,
        unknown_id_not_in_registry,
        shipped_schema_id,
        shipped_sent,
        shipped_received,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    kafkar_examples::init_logging();
    let outcome = run(&Config::from_env()).await?;
    println!("Avro schema id {} (latest of the subject: {})", outcome.order_schema_id, outcome.order_subject_latest_id);
    println!("orders sent     {:?}", outcome.orders_sent);
    println!("orders received {:?}", outcome.orders_received);
    for (offset, error) in &outcome.failures {
        println!("record at offset {offset}: {error}");
    }
    println!("JSON Schema id {}: {:?}", outcome.shipped_schema_id, outcome.shipped_received);
    Ok(())
}
