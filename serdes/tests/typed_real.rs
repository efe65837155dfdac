//! Typed producer and consumer against the real broker: JSON round trip, and a malformed record among good ones.

mod support;

use std::time::Duration;

use bytes::Bytes;
use kafkar::producer::ProducerRecord;
use kafkar::protocol::records::Header;
use kafkar_serdes::{JsonSerde, Part, SerdeError, StringSerde, TypedConsumer, TypedProducer};
use serde_json::{Value, json};

type Typed = TypedConsumer<String, Value, StringSerde, JsonSerde<Value>>;

async fn drain(
    consumer: &mut Typed,
    n: usize,
) -> Vec<Result<kafkar_serdes::TypedRecord<String, Value>, kafkar_serdes::DeserializeFailure>> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while out.len() < n && tokio::time::Instant::now() < deadline {
        out.extend(consumer.poll(100, Duration::from_millis(500)).await.unwrap());
    }
    out
}

#[tokio::test]
async fn typed_json_round_trip() {
    let Some((bootstrap, topic)) = support::topic("serdes-json").await else { return };
    let producer = TypedProducer::new(support::producer(&bootstrap).await, StringSerde, JsonSerde::<Value>::new());
    let values: Vec<Value> =
        (0..5).map(|i| json!({"order": i, "items": ["a", "b"], "total": 1.5 * i as f64})).collect();
    for (i, v) in values.iter().enumerate() {
        let hdr = vec![Header { key: Bytes::from_static(b"i"), value: Some(Bytes::from(i.to_string())) }];
        let key = format!("k{i}");
        producer.send(&topic, Some(&key), Some(v), hdr).await.unwrap().await.unwrap();
    }
    let mut consumer =
        TypedConsumer::new(support::consumer(&bootstrap, &topic).await, StringSerde, JsonSerde::<Value>::new());
    let got = drain(&mut consumer, 5).await;
    assert_eq!(got.len(), 5);
    for (i, r) in got.into_iter().enumerate() {
        let r = r.expect("every record deserializes");
        assert_eq!(r.key, format!("k{i}"));
        assert_eq!(r.value, values[i]);
        assert_eq!(r.record.headers.last(b"i").and_then(|h| h.value), Some(Bytes::from(i.to_string())));
    }
}

#[tokio::test]
async fn malformed_record_is_one_per_record_error() {
    let Some((bootstrap, topic)) = support::topic("serdes-bad").await else { return };
    let raw = support::producer(&bootstrap).await;
    let payloads: [&[u8]; 5] = [b"{\"n\":0}", b"{\"n\":1}", b"{not json", b"{\"n\":3}", b"{\"n\":4}"];
    for p in payloads {
        let record = ProducerRecord::new(topic.as_str()).key("k").value(Bytes::from_static(p));
        raw.send(record).await.unwrap().await.unwrap();
    }
    let mut consumer =
        TypedConsumer::new(support::consumer(&bootstrap, &topic).await, StringSerde, JsonSerde::<Value>::new());
    let got = drain(&mut consumer, 5).await;
    assert_eq!(got.len(), 5, "the consumer goes on past the malformed record");
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for r in got {
        match r {
            Ok(t) => good.push(t.value["n"].as_i64().unwrap()),
            Err(f) => bad.push(f),
        }
    }
    assert_eq!(good, vec![0, 1, 3, 4]);
    assert_eq!(bad.len(), 1);
    let f = &bad[0];
    assert_eq!(f.record.offset, 2);
    assert_eq!(f.part, Part::Value);
    assert!(matches!(f.source, SerdeError::Json(_)));
    assert_eq!(f.record.value.as_deref(), Some(&b"{not json"[..]), "the raw record is kept for a dead-letter route");
}

/// JSON Schema values through the test registry and the real broker; a record written with a schema id the
/// deserializer does not know is one typed per-record failure.
#[cfg(feature = "registry")]
#[tokio::test]
async fn json_schema_round_trip_through_registry_and_broker() {
    use kafkar_serdes::registry::RegistryClient;
    let Some((bootstrap, topic)) = support::topic("serdes-jsr").await else { return };
    let registry = support::registry::TestRegistry::start("u:p").await;
    let client = RegistryClient::new(&registry.url).unwrap().with_basic_auth("u", "p");
    json_schema_round_trip(&bootstrap, &topic, &client).await;
    assert!(registry.requests() > 0);
}

/// The same with the registry over https (trusting the test CA) with Basic credentials, configured through the
/// serializer properties.
#[cfg(feature = "registry")]
#[tokio::test]
async fn json_schema_round_trip_with_registry_over_https() {
    use kafkar_serdes::registry::RegistryClient;
    let Some((bootstrap, topic)) = support::topic("serdes-jsr-tls").await else { return };
    let registry = support::tls::start_https("u:p", "broker", false).await;
    let ca = support::tls::cert("ca.pem");
    let client = RegistryClient::from_properties([
        ("schema.registry.url", registry.url.as_str()),
        ("basic.auth.user.info", "u:p"),
        ("schema.registry.ssl.ca.location", ca.to_str().unwrap()),
    ])
    .unwrap();
    json_schema_round_trip(&bootstrap, &topic, &client).await;
    assert!(registry.requests() > 0, "the schemas went through the TLS listener");
}

/// Produces four JSON Schema values (and one foreign-id record) to `topic` and reads them back typed.
#[cfg(feature = "registry")]
async fn json_schema_round_trip(bootstrap: &str, topic: &str, client: &kafkar_serdes::registry::RegistryClient) {
    use kafkar_serdes::JsonSchemaSerde;
    use kafkar_serdes::wire::SubjectNameStrategy;
    let schema = r#"{"type":"object","properties":{"n":{"type":"integer"}}}"#;
    let serde =
        || JsonSchemaSerde::<Value>::register(client, SubjectNameStrategy::Topic, topic, Part::Value, None, schema);
    let producer = TypedProducer::new(support::producer(bootstrap).await, StringSerde, serde().await.unwrap());
    let raw = support::producer(bootstrap).await;
    for n in 0..4 {
        if n == 2 {
            let foreign = kafkar_serdes::wire::encode(4242, b"{\"n\":2}");
            raw.send(ProducerRecord::new(topic).value(foreign)).await.unwrap().await.unwrap();
        }
        producer.send(topic, None::<&str>, Some(&json!({"n": n})), Vec::new()).await.unwrap().await.unwrap();
    }
    let deserializer = serde().await.unwrap();
    let mut consumer = TypedConsumer::<Option<String>, Value, _, _>::new(
        support::consumer(bootstrap, topic).await,
        StringSerde,
        deserializer,
    );
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while got.len() < 5 && tokio::time::Instant::now() < deadline {
        got.extend(consumer.poll(100, Duration::from_millis(500)).await.unwrap());
    }
    assert_eq!(got.len(), 5);
    let good: Vec<i64> = got.iter().filter_map(|r| r.as_ref().ok()).map(|t| t.value["n"].as_i64().unwrap()).collect();
    assert_eq!(good, vec![0, 1, 2, 3]);
    let bad: Vec<_> = got.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(bad.len(), 1);
    assert!(matches!(bad[0].source, SerdeError::UnknownSchemaId(4242)), "{:?}", bad[0]);
    assert_eq!(bad[0].record.offset, 2);
}
