//! The client itself over the secured listeners of `scripts/kafka start --secure`: producer, consumer (in a group)
//! and admin configured only through properties (`security.protocol`, `ssl.*`, `sasl.*`), over SSL, mutual TLS,
//! SASL_PLAINTEXT and SASL_SSL with PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER; and the failures a user can cause
//! (wrong password, unknown user, untrusted CA, a certificate for another host), each a typed error in time.
//!
//! The re-authentication test needs the broker started with `--prop connections.max.reauth.ms=5000` (as
//! `scripts/test` does): `KAFKAR_KAFKA_PORT=19192 scripts/kafka start --secure --prop connections.max.reauth.ms=5000`.
//!
//! Without `KAFKAR_SECURE_SSL_BOOTSTRAP` (exported from `scripts/kafka secure-info`) every test reports itself
//! skipped; under `CI=true` it fails instead.

#[path = "support/oauth.rs"]
mod oauth;
#[path = "support/secure.rs"]
mod secure;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kafkar::consumer::{Consumer, ConsumerConfig};
use kafkar::producer::DeliveryFuture;
use kafkar::{Admin, AdminConfig, ErrorKind, Producer, ProducerConfig, ProducerRecord};
use secure::SecureBroker;

const WAIT: Duration = Duration::from_secs(30);

fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos:x}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// The properties of one way in: the listener and its security settings.
fn props(broker: &SecureBroker, listener: &str, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut p = vec![("bootstrap.servers".to_owned(), broker.address(listener))];
    p.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    p
}

fn ssl(broker: &SecureBroker) -> Vec<(&'static str, String)> {
    vec![("security.protocol", "SSL".into()), ("ssl.ca.location", broker.var("CA_PEM"))]
}

fn sasl_ssl(broker: &SecureBroker, mechanism: &str, user: &str, password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("security.protocol", "SASL_SSL".into()),
        ("ssl.ca.location", broker.var("CA_PEM")),
        ("sasl.mechanism", mechanism.into()),
        ("sasl.username", user.into()),
        ("sasl.password", password.into()),
    ]
}

fn admin_config(p: &[(String, String)]) -> AdminConfig {
    let mut c = AdminConfig::default();
    for (k, v) in p {
        c.set(k, v).unwrap_or_else(|e| panic!("{k}: {e}"));
    }
    c.set("request.timeout.ms", "10000").unwrap();
    c
}

/// Creates a topic, produces `n` records, reads them back in a consumer group, all over the listener `p` names.
async fn produce_and_consume(p: &[(String, String)], n: usize) {
    let topic = unique("secure");
    let admin = Admin::new(admin_config(p)).await.expect("admin");
    admin.create_topic(&topic, 2, 1, &[]).await.expect("create topic");

    let mut pc = ProducerConfig::default();
    for (k, v) in p {
        pc.set(k, v).unwrap();
    }
    pc.set("delivery.timeout.ms", "30000").unwrap();
    pc.set("request.timeout.ms", "10000").unwrap();
    let producer = Producer::new(pc).await.expect("producer");
    let t: Arc<str> = topic.as_str().into();
    let mut deliveries: Vec<DeliveryFuture> = Vec::new();
    for i in 0..n {
        deliveries.push(
            producer.send(ProducerRecord::new(t.clone()).key(format!("k{i}")).value(format!("v{i}"))).await.unwrap(),
        );
    }
    for d in deliveries {
        d.await.expect("delivery");
    }
    producer.close().await;

    let mut cc = ConsumerConfig::default();
    for (k, v) in p {
        cc.set(k, v).unwrap();
    }
    for (k, v) in [("group.id", unique("g").as_str()), ("auto.offset.reset", "earliest"), ("fetch.max.wait.ms", "100")]
    {
        cc.set(k, v).unwrap();
    }
    let mut consumer = Consumer::new(cc).await.expect("consumer");
    consumer.subscribe([topic.as_str()]).unwrap();
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + WAIT;
    while seen.len() < n {
        assert!(Instant::now() < deadline, "only {} of {n} records", seen.len());
        for r in consumer.poll(100, Duration::from_millis(500)).await.expect("poll") {
            let value = r.value.as_deref().map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default();
            seen.insert(value);
        }
    }
    assert_eq!(seen, (0..n).map(|i| format!("v{i}")).collect::<BTreeSet<_>>());
    consumer.commit().await.expect("commit over the secured listener");
    consumer.close().await.expect("close");
    admin.delete_topic(&topic).await.expect("delete topic");
}

/// What connecting with these properties fails with (the admin's first request), within the timeout.
async fn connect_error(p: &[(String, String)]) -> kafkar::Error {
    let started = Instant::now();
    let outcome = tokio::time::timeout(WAIT, async {
        let admin = Admin::new(admin_config(p)).await?;
        admin.create_topic(&unique("never"), 1, 1, &[]).await.map(|_| ())
    })
    .await
    .expect("the failure comes within the timeout");
    let e = outcome.expect_err("must fail");
    assert!(started.elapsed() < WAIT, "{e}");
    e
}

// ---- TLS -----------------------------------------------------------------------------------------------------

#[tokio::test]
async fn produce_and_consume_over_ssl() {
    let Some(broker) = SecureBroker::from_env() else { return };
    // Enough records for batches above the 4 KiB from which a Produce frame's batches are written from their own
    // buffers (spliced, a vectored write) rather than copied: that write path goes through TLS too.
    produce_and_consume(&props(&broker, "SSL", &ssl(&broker)), 5_000).await;
}

#[tokio::test]
async fn produce_and_consume_over_mutual_tls() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let mut extra = ssl(&broker);
    extra.push(("ssl.certificate.location", broker.var("CLIENT_CERT")));
    extra.push(("ssl.key.location", broker.var("CLIENT_KEY")));
    produce_and_consume(&props(&broker, "MTLS", &extra), 10).await;
}

#[tokio::test]
async fn mutual_tls_with_an_encrypted_key() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let mut extra = ssl(&broker);
    extra.push(("ssl.certificate.location", broker.var("CLIENT_CERT")));
    extra.push(("ssl.key.location", broker.var("CLIENT_KEY_ENCRYPTED")));
    extra.push(("ssl.key.password", broker.var("CLIENT_KEY_PASSWORD")));
    produce_and_consume(&props(&broker, "MTLS", &extra), 5).await;
}

#[tokio::test]
async fn an_untrusted_ca_is_a_tls_error() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let extra = vec![("security.protocol", "SSL".to_owned()), ("ssl.ca.location", broker.var("OTHER_CA_PEM"))];
    let e = connect_error(&props(&broker, "SSL", &extra)).await;
    assert!(matches!(e.kind(), ErrorKind::Tls(m) if m.contains("not trusted")), "{e:?}");
    assert!(!e.is_retriable());
}

#[tokio::test]
async fn a_certificate_for_another_host_is_a_tls_error_unless_identification_is_off() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let e = connect_error(&props(&broker, "DNS_ONLY", &ssl(&broker))).await;
    assert!(matches!(e.kind(), ErrorKind::Tls(m) if m.contains("not valid for")), "{e:?}");
    // With identification off the chain is still checked and the connection works.
    let mut extra = ssl(&broker);
    extra.push(("ssl.endpoint.identification.algorithm", "none".into()));
    let admin = Admin::new(admin_config(&props(&broker, "DNS_ONLY", &extra))).await.unwrap();
    let topic = unique("dnsonly");
    admin.create_topic(&topic, 1, 1, &[]).await.expect("works without hostname verification");
    admin.delete_topic(&topic).await.unwrap();
}

// ---- SASL ----------------------------------------------------------------------------------------------------

#[tokio::test]
async fn produce_and_consume_over_sasl_plaintext_plain() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let extra = vec![
        ("security.protocol", "SASL_PLAINTEXT".to_owned()),
        ("sasl.mechanisms", "PLAIN".into()),
        ("sasl.username", broker.var("PLAIN_USERNAME")),
        ("sasl.password", broker.var("PLAIN_PASSWORD")),
    ];
    produce_and_consume(&props(&broker, "SASL_PLAINTEXT", &extra), 10).await;
}

#[tokio::test]
async fn produce_and_consume_over_sasl_ssl_plain() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let extra = sasl_ssl(&broker, "PLAIN", &broker.var("PLAIN_USERNAME"), &broker.var("PLAIN_PASSWORD"));
    produce_and_consume(&props(&broker, "SASL_SSL", &extra), 10).await;
}

#[tokio::test]
async fn produce_and_consume_over_sasl_ssl_scram_sha_256() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let extra = sasl_ssl(&broker, "SCRAM-SHA-256", &broker.var("SCRAM_USERNAME"), &broker.var("SCRAM_PASSWORD"));
    produce_and_consume(&props(&broker, "SASL_SSL", &extra), 10).await;
}

#[tokio::test]
async fn produce_and_consume_over_sasl_ssl_scram_sha_512_as_the_second_user() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let extra = sasl_ssl(&broker, "SCRAM-SHA-512", &broker.var("SCRAM_USERNAME2"), &broker.var("SCRAM_PASSWORD2"));
    produce_and_consume(&props(&broker, "SASL_SSL", &extra), 10).await;
}

#[tokio::test]
async fn produce_and_consume_with_a_jaas_config() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let jaas = format!(
        r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="{}" password="{}";"#,
        broker.var("SCRAM_USERNAME"),
        broker.var("SCRAM_PASSWORD")
    );
    let extra = vec![
        ("security.protocol", "SASL_SSL".to_owned()),
        ("ssl.ca.location", broker.var("CA_PEM")),
        ("sasl.mechanism", "SCRAM-SHA-512".into()),
        ("sasl.jaas.config", jaas),
    ];
    produce_and_consume(&props(&broker, "SASL_SSL", &extra), 10).await;
}

#[tokio::test]
async fn produce_and_consume_over_sasl_ssl_oauthbearer_unsecured_token() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let jaas = format!(
        r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="{}";"#,
        broker.var("OAUTHBEARER_SUB")
    );
    let extra = vec![
        ("security.protocol", "SASL_SSL".to_owned()),
        ("ssl.ca.location", broker.var("CA_PEM")),
        ("sasl.mechanism", "OAUTHBEARER".into()),
        ("sasl.jaas.config", jaas),
    ];
    produce_and_consume(&props(&broker, "SASL_SSL", &extra), 10).await;
}

#[tokio::test]
async fn a_wrong_password_is_an_authentication_error() {
    let Some(broker) = SecureBroker::from_env() else { return };
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let extra = sasl_ssl(&broker, mechanism, &broker.var("SCRAM_USERNAME"), "not-the-password");
        let e = connect_error(&props(&broker, "SASL_SSL", &extra)).await;
        assert!(
            matches!(e.kind(), ErrorKind::Authentication { mechanism: m, .. } if m == mechanism),
            "{mechanism}: {e:?}"
        );
        assert!(!e.is_retriable());
        assert!(!format!("{e:?}{e}").contains("not-the-password"), "no secret in the error");
    }
}

#[tokio::test]
async fn an_unknown_user_is_an_authentication_error() {
    let Some(broker) = SecureBroker::from_env() else { return };
    for mechanism in ["PLAIN", "SCRAM-SHA-512"] {
        let extra = sasl_ssl(&broker, mechanism, "nobody-here", "whatever");
        let e = connect_error(&props(&broker, "SASL_SSL", &extra)).await;
        assert!(matches!(e.kind(), ErrorKind::Authentication { .. }), "{mechanism}: {e:?}");
    }
}

#[tokio::test]
async fn secrets_stay_out_of_debug() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let mut extra = sasl_ssl(&broker, "PLAIN", "alice", "hunter2-secret");
    extra.push(("ssl.key.password", "key-pass-secret".into()));
    extra.push((
        "sasl.jaas.config",
        r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="jaas-secret";"#
            .into(),
    ));
    extra.push(("sasl.oauthbearer.client.secret", "oauth-client-secret".into()));
    extra.push(("ssl.keystore.password", "keystore-secret".into()));
    let c = admin_config(&props(&broker, "SASL_SSL", &extra));
    let shown = format!("{c:?}");
    for secret in ["hunter2-secret", "key-pass-secret", "jaas-secret", "oauth-client-secret", "keystore-secret"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("SaslSsl") && shown.contains("alice"), "{shown}");
}

#[tokio::test]
async fn a_refused_login_is_redialled_with_backoff_bounded_by_reconnect_backoff_max() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let mut config = kafkar::ClientConfig::new(&broker.address("SASL_PLAINTEXT"));
    for (k, v) in [
        ("security.protocol", "SASL_PLAINTEXT".to_owned()),
        ("sasl.mechanism", "SCRAM-SHA-256".into()),
        ("sasl.username", broker.var("SCRAM_USERNAME")),
        ("sasl.password", "wrong".into()),
        ("reconnect.backoff.ms", "100".into()),
        ("reconnect.backoff.max.ms", "400".into()),
    ] {
        config.set(k, &v).unwrap();
    }
    let pool = kafkar::__private::BrokerPool::new(Arc::new(config)).unwrap();
    let addr = broker.address("SASL_PLAINTEXT");
    let started = Instant::now();
    let mut attempts = Vec::new();
    while started.elapsed() < Duration::from_secs(3) {
        let at = started.elapsed();
        let e = pool.get(&addr).await.expect_err("the login is refused");
        assert!(matches!(e.kind(), ErrorKind::Authentication { .. }), "{e:?}");
        attempts.push(at);
    }
    let gaps: Vec<Duration> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    // 100, 200, then 400 ms (±20 %) between dials, plus the broker's delay before it answers a failed login.
    assert!((5..=14).contains(&attempts.len()), "{} attempts: {gaps:?}", attempts.len());
    assert!(gaps.iter().all(|g| *g >= Duration::from_millis(80)), "backoff between dials: {gaps:?}");
    assert!(gaps.iter().skip(2).all(|g| *g <= Duration::from_millis(480 + 400)), "capped at 400 ms: {gaps:?}");
}

#[tokio::test]
async fn the_connection_reauthenticates_before_its_session_expires_without_failing_requests() {
    use kafkar::protocol::messages::metadata::MetadataRequest;
    let Some(broker) = SecureBroker::from_env() else { return };
    let address = broker.address("SASL_PLAINTEXT");
    let mut config = kafkar::ClientConfig::new(&address);
    for (k, v) in [
        ("security.protocol", "SASL_PLAINTEXT".to_owned()),
        ("sasl.mechanism", "SCRAM-SHA-512".into()),
        ("sasl.username", broker.var("SCRAM_USERNAME")),
        ("sasl.password", broker.var("SCRAM_PASSWORD")),
    ] {
        config.set(k, &v).unwrap();
    }
    let conn = kafkar::__private::Connection::connect(&address, &config).await.unwrap();
    // scripts/test (and the command in this file's header) start the broker with connections.max.reauth.ms, which
    // the SASL_PLAINTEXT listener takes (SASL_SSL has its own hour).
    let lifetime = conn
        .session_lifetime()
        .expect("the broker grants a session lifetime: start it with --prop connections.max.reauth.ms=5000");
    assert!(lifetime <= Duration::from_secs(10), "a lifetime short enough to test: {lifetime:?}");
    let until = Instant::now() + lifetime * 5 / 2;
    let mut loops = Vec::new();
    for _ in 0..4 {
        let conn = conn.clone();
        loops.push(tokio::spawn(async move {
            let mut sent = 0u32;
            while Instant::now() < until {
                let req = MetadataRequest { topics: Some(vec![]), ..Default::default() };
                conn.send(&req).await.unwrap_or_else(|e| panic!("request {sent} failed: {e}"));
                sent += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            sent
        }));
    }
    let mut total = 0;
    for l in loops {
        total += l.await.unwrap();
    }
    assert!(!conn.is_closed(), "{:?}", conn.close_cause());
    assert!(total > 100, "{total} requests");
}

#[tokio::test]
async fn produce_and_consume_with_oauthbearer_client_credentials() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let endpoint = oauth::OAuthTokenEndpoint::start("kafkar-app", "app-secret", Duration::from_secs(600)).await;
    // librdkafka's property names.
    let extra = vec![
        ("security.protocol", "SASL_SSL".to_owned()),
        ("ssl.ca.location", broker.var("CA_PEM")),
        ("sasl.mechanism", "OAUTHBEARER".into()),
        ("sasl.oauthbearer.token.endpoint.url", endpoint.url().to_owned()),
        ("sasl.oauthbearer.client.id", "kafkar-app".into()),
        ("sasl.oauthbearer.client.secret", "app-secret".into()),
        ("sasl.oauthbearer.scope", "kafka".into()),
    ];
    produce_and_consume(&props(&broker, "SASL_SSL", &extra), 5).await;
    // One token per client (admin, producer, consumer), shared by its connections; not one per connection.
    assert!((1..=3).contains(&endpoint.requests()), "{} token requests", endpoint.requests());
    assert!(endpoint.log().iter().all(|r| r.scope.as_deref() == Some("kafka") && r.status == 200));

    // Java's: the client id and secret in the JAAS line; a wrong secret is an authentication error.
    let jaas = |secret: &str| {
        format!(
            r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="kafkar-app" clientSecret="{secret}" scope="kafka";"#
        )
    };
    let java = |secret: &str| {
        vec![
            ("security.protocol", "SASL_PLAINTEXT".to_owned()),
            ("sasl.mechanism", "OAUTHBEARER".into()),
            ("sasl.oauthbearer.token.endpoint.url", endpoint.url().to_owned()),
            ("sasl.jaas.config", jaas(secret)),
        ]
    };
    let before = endpoint.requests();
    produce_and_consume(&props(&broker, "SASL_PLAINTEXT", &java("app-secret")), 5).await;
    assert!(endpoint.requests() > before);
    let e = connect_error(&props(&broker, "SASL_PLAINTEXT", &java("wrong-secret"))).await;
    assert!(matches!(e.kind(), ErrorKind::Authentication { mechanism, .. } if mechanism == "OAUTHBEARER"), "{e:?}");
    assert!(!format!("{e:?}").contains("wrong-secret"));
}
