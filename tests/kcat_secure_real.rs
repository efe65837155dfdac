//! Interop over SASL_SSL with kcat (librdkafka): kcat reads what kafkar wrote, kafkar reads what kcat wrote (keys,
//! values, headers), both through the SASL_SSL listener of `scripts/kafka start --secure`.
//!
//! The mechanism is SCRAM-SHA-512 when kcat's librdkafka is 2.6.1 or later. Older librdkafka (Debian 12 and
//! Ubuntu 24.04 ship 2.0.2 and 2.3.0) repeats the client nonce in SCRAM's client-final message, which Kafka 4.x
//! brokers refuse ("invalid credentials"). scripts/test therefore gives kcat a current librdkafka
//! (`KAFKAR_KCAT_LIBRDKAFKA_DIR`, the library of PyPI's confluent-kafka wheel); without one, kcat uses PLAIN over
//! the same SASL_SSL listener while kafkar still uses SCRAM-SHA-512, and the test says so.
//!
//! Without kcat the test reports itself skipped, except under `CI=true`, where it fails; likewise without
//! `KAFKAR_SECURE_SSL_BOOTSTRAP` (from `scripts/kafka secure-info`).

#[path = "support/secure.rs"]
mod secure;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafkar::consumer::{Consumer, ConsumerConfig, TopicPartition};
use kafkar::{Admin, AdminConfig, ClientConfig, Producer, ProducerConfig, ProducerRecord};
use secure::SecureBroker;

fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// kcat's librdkafka version, `None` when kcat is not installed.
fn kcat_librdkafka() -> Option<(u32, u32, u32)> {
    let out = kcat_command("kcat").arg("-V").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let version = text.split("librdkafka ").nth(1)?.split(|c: char| !(c.is_ascii_digit() || c == '.')).next()?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    Some((parts.next()?, parts.next().unwrap_or(0), parts.next().unwrap_or(0)))
}

/// `program` with kcat's library path: `KAFKAR_KCAT_LIBRDKAFKA_DIR` (scripts/test fills it with a current
/// librdkafka, so kcat speaks SCRAM to Kafka 4.x) goes in front of `LD_LIBRARY_PATH`.
fn kcat_command(program: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    if let Some(dir) = std::env::var_os("KAFKAR_KCAT_LIBRDKAFKA_DIR").filter(|d| !d.is_empty()) {
        let mut path = dir;
        if let Some(old) = std::env::var_os("LD_LIBRARY_PATH").filter(|p| !p.is_empty()) {
            path.push(":");
            path.push(old);
        }
        cmd.env("LD_LIBRARY_PATH", path);
    }
    cmd
}

fn kafkar_client(broker: &SecureBroker) -> ClientConfig {
    let mut c = ClientConfig::new(&broker.address("SASL_SSL"));
    for (k, v) in [
        ("security.protocol", "SASL_SSL".to_owned()),
        ("ssl.ca.location", broker.var("CA_PEM")),
        ("sasl.mechanism", "SCRAM-SHA-512".into()),
        ("sasl.username", broker.var("SCRAM_USERNAME2")),
        ("sasl.password", broker.var("SCRAM_PASSWORD2")),
    ] {
        c.set(k, &v).unwrap();
    }
    c
}

/// kcat's `-X` security arguments for the SASL_SSL listener.
fn kcat_security(broker: &SecureBroker, scram: bool) -> Vec<String> {
    let (mechanism, user, password) = if scram {
        ("SCRAM-SHA-512", broker.var("SCRAM_USERNAME2"), broker.var("SCRAM_PASSWORD2"))
    } else {
        ("PLAIN", broker.var("PLAIN_USERNAME"), broker.var("PLAIN_PASSWORD"))
    };
    [
        "security.protocol=SASL_SSL".to_owned(),
        format!("ssl.ca.location={}", broker.var("CA_PEM")),
        format!("sasl.mechanisms={mechanism}"),
        format!("sasl.username={user}"),
        format!("sasl.password={password}"),
    ]
    .into_iter()
    .flat_map(|x| ["-X".to_owned(), x])
    .collect()
}

/// Runs `kcat ARGS` under `timeout 60`, with `stdin` fed in; its stdout.
async fn kcat(args: Vec<String>, stdin: Option<String>) -> String {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = kcat_command("timeout")
            .arg("60")
            .arg("kcat")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kcat");
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("write to kcat");
        }
        drop(input);
        let out = child.wait_with_output().expect("kcat output");
        assert!(out.status.success(), "kcat {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8 from kcat")
    })
    .await
    .expect("kcat task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_and_kafkar_read_each_other_over_sasl_ssl() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let Some(version) = kcat_librdkafka() else {
        assert!(!in_ci(), "kcat is required in CI");
        eprintln!("skipped: kcat not installed");
        return;
    };
    let scram = version >= (2, 6, 1);
    if !scram {
        eprintln!(
            "kcat's librdkafka {version:?} predates 2.6.1 (its SCRAM is refused by Kafka 4.x): kcat uses PLAIN over SASL_SSL"
        );
    }
    let n = 20usize;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let topic = format!("kcat-sasl-{}-{nanos:x}", std::process::id());
    let admin = Admin::new(AdminConfig::default().with_client(kafkar_client(&broker))).await.expect("admin");
    admin.create_topic(&topic, 1, 1, &[]).await.expect("create topic");

    // kafkar writes, kcat reads.
    let mut pc = ProducerConfig::default();
    pc.client = kafkar_client(&broker);
    let producer = Producer::new(pc).await.expect("producer");
    let t: Arc<str> = topic.as_str().into();
    for i in 0..n {
        let r = ProducerRecord::new(t.clone())
            .key(format!("k{i}"))
            .value(format!("v{i}"))
            .header("origin", Some(Bytes::from_static(b"kafkar")))
            .header("seq", Some(Bytes::from(i.to_string())));
        producer.send_and_wait(r).await.expect("produce");
    }
    producer.close().await;
    let mut args = vec!["-C".to_owned(), "-b".into(), broker.address("SASL_SSL"), "-t".into(), topic.clone()];
    args.extend(["-c", &n.to_string(), "-o", "beginning", "-J", "-q"].map(str::to_owned));
    args.extend(kcat_security(&broker, scram));
    let read = kcat(args, None).await;
    let lines: Vec<serde_json::Value> = read.lines().map(|l| serde_json::from_str(l).expect("kcat JSON")).collect();
    assert_eq!(lines.len(), n);
    for (i, v) in lines.iter().enumerate() {
        assert_eq!(v["offset"].as_i64(), Some(i as i64), "{v}");
        assert_eq!(v["key"], format!("k{i}"));
        assert_eq!(v["payload"], format!("v{i}"));
        assert_eq!(v["headers"], serde_json::json!(["origin", "kafkar", "seq", i.to_string()]));
    }

    // kcat writes (key:value lines, two headers on each), kafkar reads.
    let mut args = vec!["-P".to_owned(), "-b".into(), broker.address("SASL_SSL"), "-t".into(), topic.clone()];
    args.extend(["-K", ":", "-H", "origin=kcat", "-H", "lang=c"].map(str::to_owned));
    args.extend(kcat_security(&broker, scram));
    let input: String = (0..n).map(|i| format!("kc{i}:from kcat {i}\n")).collect();
    kcat(args, Some(input)).await;

    let mut cc = ConsumerConfig::default();
    cc.client = kafkar_client(&broker);
    cc.set("auto.offset.reset", "earliest").unwrap();
    cc.set("fetch.max.wait.ms", "100").unwrap();
    let mut consumer = Consumer::new(cc).await.expect("consumer");
    consumer.assign([TopicPartition::new(topic.as_str(), 0)]).unwrap();
    let mut from_kcat = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while from_kcat.len() < n {
        assert!(Instant::now() < deadline, "read {} of kcat's {n} records", from_kcat.len());
        for r in consumer.poll(100, Duration::from_millis(500)).await.expect("poll") {
            if r.offset < n as i64 {
                continue; // kafkar's own records
            }
            let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
            let headers: BTreeMap<String, Option<String>> = r
                .headers
                .to_vec()
                .into_iter()
                .map(|h| (text(Some(&h.key)).unwrap_or_default(), text(h.value.as_deref())))
                .collect();
            from_kcat.push((text(r.key.as_deref()), text(r.value.as_deref()), headers));
        }
    }
    consumer.close().await.expect("close");
    for (i, (key, value, headers)) in from_kcat.into_iter().enumerate() {
        assert_eq!(key.as_deref(), Some(format!("kc{i}").as_str()));
        assert_eq!(value.as_deref(), Some(format!("from kcat {i}").as_str()));
        let want: BTreeMap<String, Option<String>> =
            [("origin", "kcat"), ("lang", "c")].map(|(k, v)| (k.to_owned(), Some(v.to_owned()))).into_iter().collect();
        assert_eq!(headers, want);
    }
    admin.delete_topic(&topic).await.expect("delete topic");
}
