//! The Schema Registry client against the test registry (tests/support/registry.rs, loopback).

mod support;

use kafkar_serdes::registry::{
    EndpointIdentification, RegistryClient, RegistryError, Schema, TlsError, TlsSettings, Version,
};
use support::registry::TestRegistry;

const USER: &str = "alice:secret";

async fn client() -> (TestRegistry, RegistryClient) {
    let registry = TestRegistry::start(USER).await;
    let client = RegistryClient::new(&registry.url).unwrap().with_basic_auth("alice", "secret");
    (registry, client)
}

#[tokio::test]
async fn register_and_look_up() {
    let (_registry, client) = client().await;
    let v1 = Schema::avro(r#"{"type":"record","name":"A","fields":[]}"#);
    let v2 = Schema::json(r#"{"type":"object"}"#);
    let id1 = client.register("orders/value x", &v1).await.unwrap();
    let id2 = client.register("orders/value x", &v2).await.unwrap();
    assert_ne!(id1, id2);
    assert_eq!(*client.schema_by_id(id2).await.unwrap(), v2);
    let first = client.schema_by_version("orders/value x", Version::Number(1)).await.unwrap();
    assert_eq!((first.id, first.version, &*first.schema), (id1, 1, &v1));
    let latest = client.latest("orders/value x").await.unwrap();
    assert_eq!((latest.id, latest.version, &*latest.schema), (id2, 2, &v2));
    // Another client (empty cache) reads the same through the server.
    let fresh = RegistryClient::new(&_registry.url).unwrap().with_basic_auth("alice", "secret");
    assert_eq!(*fresh.schema_by_id(id1).await.unwrap(), v1);
}

#[tokio::test]
async fn cache_avoids_repeated_requests() {
    let (registry, client) = client().await;
    let schema = Schema::avro(r#""string""#);
    let id = client.register("s-value", &schema).await.unwrap();
    client.register("s-value", &schema).await.unwrap();
    assert_eq!(registry.requests(), 1, "a second register of the same schema is cached");
    let other = RegistryClient::new(&registry.url).unwrap().with_basic_auth("alice", "secret");
    for _ in 0..5 {
        assert_eq!(*other.schema_by_id(id).await.unwrap(), schema);
        other.schema_by_version("s-value", Version::Number(1)).await.unwrap();
    }
    assert_eq!(registry.requests(), 3, "one request per id and per fixed version");
    other.latest("s-value").await.unwrap();
    other.latest("s-value").await.unwrap();
    assert_eq!(registry.requests(), 5, "latest is asked each time");
}

#[tokio::test]
async fn errors_are_typed() {
    let (registry, client) = client().await;
    let err = client.schema_by_id(999).await.unwrap_err();
    assert!(err.is_not_found());
    assert!(matches!(err, RegistryError::Status { status: 404, error_code: Some(40403), .. }), "{err:?}");
    let err = client.latest("nobody").await.unwrap_err();
    assert!(matches!(err, RegistryError::Status { error_code: Some(40401), .. }), "{err:?}");
    let wrong = RegistryClient::new(&registry.url).unwrap().with_basic_auth("alice", "wrong");
    let err = wrong.register("s", &Schema::avro(r#""int""#)).await.unwrap_err();
    assert!(matches!(err, RegistryError::Status { status: 401, .. }), "{err:?}");
    let anonymous = RegistryClient::new(&registry.url).unwrap();
    assert!(matches!(anonymous.schema_by_id(1).await, Err(RegistryError::Status { status: 401, .. })));
    // Nothing listening: an I/O error, not a panic.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    assert!(matches!(RegistryClient::new(&dead).unwrap().schema_by_id(1).await, Err(RegistryError::Io(_))));
}

#[tokio::test]
async fn json_schema_serde_frames_and_checks_ids() {
    use bytes::Bytes;
    use kafkar_serdes::wire::{SubjectNameStrategy, WireError};
    use kafkar_serdes::{Context, Deserializer, JsonSchemaSerde, Part, SerdeError, Serializer};
    use serde_json::{Value, json};
    let (_registry, client) = client().await;
    let serde: JsonSchemaSerde<Value> =
        JsonSchemaSerde::register(&client, SubjectNameStrategy::Topic, "t", Part::Value, None, r#"{"type":"object"}"#)
            .await
            .unwrap();
    assert_eq!(client.latest("t-value").await.unwrap().id, serde.schema_id(), "registered under <topic>-value");
    let bytes = serde.serialize(&json!({"a": 1}), "t", Part::Value, &mut Vec::new()).unwrap();
    assert_eq!(bytes[0], 0);
    assert_eq!(u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]), serde.schema_id());
    let ctx = Context { topic: "t", part: Part::Value, headers: &[] };
    assert_eq!(serde.deserialize(Some(&bytes), &ctx).unwrap(), json!({"a": 1}));
    let mut wrong_magic = bytes.to_vec();
    wrong_magic[0] = 1;
    let err = serde.deserialize(Some(&Bytes::from(wrong_magic)), &ctx).unwrap_err();
    assert!(matches!(err, SerdeError::Wire(WireError::WrongMagic(1))), "{err:?}");
    let unknown = kafkar_serdes::wire::encode(serde.schema_id() + 100, b"{}");
    assert!(
        matches!(serde.deserialize(Some(&unknown), &ctx), Err(SerdeError::UnknownSchemaId(id)) if id == serde.schema_id() + 100)
    );
}

/// TLS settings trusting `ca` (a file in the test certificate directory).
fn trusting(ca: &str) -> TlsSettings {
    let mut settings = TlsSettings::default();
    settings.ca_location = Some(support::tls::cert(ca));
    settings
}

/// A client of the https registry at `url` with `settings` and the test credentials.
fn tls_client(url: &str, settings: &TlsSettings) -> RegistryClient {
    RegistryClient::new(url).unwrap().with_tls(settings).unwrap().with_basic_auth("alice", "secret")
}

#[tokio::test]
async fn https_register_and_fetch_with_basic_auth() {
    let registry = support::tls::start_https(USER, "broker", false).await;
    assert!(registry.url.starts_with("https://127.0.0.1:"));
    let client = tls_client(&registry.url, &trusting("ca.pem"));
    let schema = Schema::json(r#"{"type":"object"}"#);
    let id = client.register("tls-value", &schema).await.unwrap();
    // A second client (empty cache) from serializer properties reads it back over TLS.
    let ca = support::tls::cert("ca.pem");
    let fresh = RegistryClient::from_properties([
        ("schema.registry.url", registry.url.as_str()),
        ("basic.auth.user.info", USER),
        ("schema.registry.ssl.ca.location", ca.to_str().unwrap()),
    ])
    .unwrap();
    assert_eq!(*fresh.schema_by_id(id).await.unwrap(), schema);
    let latest = fresh.latest("tls-value").await.unwrap();
    assert_eq!((latest.id, latest.version), (id, 1));
    assert_eq!(registry.requests(), 3, "every request went through the TLS listener");
    // Basic credentials are checked over TLS as over plain HTTP.
    let wrong = tls_client(&registry.url, &trusting("ca.pem")).with_basic_auth("alice", "x");
    assert!(matches!(wrong.schema_by_id(id).await, Err(RegistryError::Status { status: 401, .. })));
    // Plain HTTP to the TLS listener is not a reply (the handshake fails on the server side): a typed error.
    let plain =
        RegistryClient::new(&registry.url.replace("https://", "http://")).unwrap().with_basic_auth("alice", "secret");
    let err = plain.schema_by_id(id).await.unwrap_err();
    assert!(matches!(err, RegistryError::Protocol(_) | RegistryError::Io(_)), "{err:?}");
}

#[tokio::test]
async fn https_untrusted_ca_is_a_typed_tls_error() {
    let registry = support::tls::start_https(USER, "broker", false).await;
    let client = tls_client(&registry.url, &trusting("other-ca.pem"));
    let err = client.schema_by_id(1).await.unwrap_err();
    assert!(matches!(err, RegistryError::Tls(TlsError::UntrustedCertificate { .. })), "{err:?}");
    // The default settings trust the platform's store, which does not hold the test CA.
    let default = RegistryClient::new(&registry.url).unwrap().with_basic_auth("alice", "secret");
    let err = default.schema_by_id(1).await.unwrap_err();
    assert!(matches!(err, RegistryError::Tls(_)), "{err:?}");
    assert_eq!(registry.requests(), 0, "no request got past the handshake");
}

#[tokio::test]
async fn https_hostname_is_verified_by_default() {
    // The certificate names localhost only; the URL dials 127.0.0.1.
    let registry = support::tls::start_https(USER, "broker-dns-only", false).await;
    let client = tls_client(&registry.url, &trusting("ca.pem"));
    let err = client.schema_by_id(1).await.unwrap_err();
    assert!(matches!(err, RegistryError::Tls(TlsError::HostnameMismatch { .. })), "{err:?}");
    // By name it matches; with identification off the address does too (the chain is still checked).
    let by_name = registry.url.replace("127.0.0.1", "localhost");
    let client = tls_client(&by_name, &trusting("ca.pem"));
    assert!(client.schema_by_id(1).await.unwrap_err().is_not_found());
    let mut off = trusting("ca.pem");
    off.endpoint_identification = EndpointIdentification::None;
    let client = tls_client(&registry.url, &off);
    assert!(client.schema_by_id(1).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn https_mutual_tls() {
    let registry = support::tls::start_https(USER, "broker", true).await;
    let (ca, cert, key) =
        (support::tls::cert("ca.pem"), support::tls::cert("client.pem"), support::tls::cert("client.key"));
    let client = RegistryClient::from_properties([
        ("schema.registry.url", registry.url.as_str()),
        ("basic.auth.user.info", USER),
        ("schema.registry.ssl.ca.location", ca.to_str().unwrap()),
        ("schema.registry.ssl.certificate.location", cert.to_str().unwrap()),
        ("schema.registry.ssl.key.location", key.to_str().unwrap()),
    ])
    .unwrap();
    let id = client.register("mtls-value", &Schema::avro(r#""long""#)).await.unwrap();
    assert_eq!(registry.requests(), 1);
    // Without a client certificate the server refuses the connection (TLS 1.3 reports it after the client's
    // side of the handshake, on the read): an error, no request served.
    let anonymous = tls_client(&registry.url, &trusting("ca.pem"));
    let err = anonymous.schema_by_id(id).await.unwrap_err();
    assert!(matches!(err, RegistryError::Tls(_) | RegistryError::Io(_)), "{err:?}");
    assert_eq!(registry.requests(), 1);
}
