//! Avro through the test registry and the real broker.

mod support;

use std::time::Duration;

use kafkar_serdes::registry::RegistryClient;
use kafkar_serdes::wire::SubjectNameStrategy;
use kafkar_serdes::{AvroSerde, Part, SerdeError, StringSerde, TypedConsumer, TypedProducer};

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Order {
    id: i64,
    item: String,
}

const SCHEMA: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
    {"name":"id","type":"long"},{"name":"item","type":"string"}]}"#;

#[tokio::test]
async fn avro_round_trip_through_registry_and_broker() {
    let Some((bootstrap, topic)) = support::topic("serdes-avro").await else { return };
    let registry = support::registry::TestRegistry::start("u:p").await;
    let client = RegistryClient::new(&registry.url).unwrap().with_basic_auth("u", "p");
    let serde = || AvroSerde::<Order>::register(&client, SubjectNameStrategy::TopicRecord, &topic, Part::Value, SCHEMA);
    let producer = TypedProducer::new(support::producer(&bootstrap).await, StringSerde, serde().await.unwrap());
    assert!(client.latest(&format!("{topic}-shop.Order")).await.is_ok(), "topic-record subject");
    let orders: Vec<Order> = (0..3).map(|i| Order { id: i, item: format!("item {i}") }).collect();
    for o in &orders {
        producer.send(&topic, Some("k"), Some(o), Vec::new()).await.unwrap().await.unwrap();
    }
    let raw = support::producer(&bootstrap).await;
    let bad = kafkar::producer::ProducerRecord::new(topic.as_str()).key("k").value(vec![1u8, 0, 0, 0, 1, 2]);
    raw.send(bad).await.unwrap().await.unwrap();
    let mut consumer = TypedConsumer::<String, Order, _, _>::new(
        support::consumer(&bootstrap, &topic).await,
        StringSerde,
        serde().await.unwrap(),
    );
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while got.len() < 4 && tokio::time::Instant::now() < deadline {
        got.extend(consumer.poll(100, Duration::from_millis(500)).await.unwrap());
    }
    assert_eq!(got.len(), 4);
    let values: Vec<&Order> = got.iter().filter_map(|r| r.as_ref().ok()).map(|t| &t.value).collect();
    assert_eq!(values, orders.iter().collect::<Vec<_>>());
    let err = got[3].as_ref().unwrap_err();
    assert!(matches!(err.source, SerdeError::Wire(kafkar_serdes::wire::WireError::WrongMagic(1))), "{err:?}");
}
