//! The production profile under a properties file and the environment, against a real Apache Kafka
//! (`KAFKA_BOOTSTRAP`). The environment is the child process's own (this test binary re-run with a chosen
//! environment), so no test changes its own process's variables.

mod support;

use std::process::Command;
use std::sync::{Arc, Mutex};

use kafkar::consumer::{ConsumerConfig, OffsetReset};
use kafkar::producer::{Acks, Producer, ProducerConfig, ProducerRecord};
use kafkar_app::profile::{self, Profile};
use kafkar_app::{Delivery, HandlerConsumer};
use support::*;

const CHILD_ENV: &str = "KAFKAR_APP_PROFILE_CHILD";

/// The child's role: loads the profile named by `APP_ENV` under the properties file and `KAFKA_*`, checks each
/// source won where it should, then sends a record and reads it back with a handler consumer that joins after it
/// was sent (which only the production profile's `auto.offset.reset=earliest` allows).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (file, topic, expected_bootstrap) = {
        let parts: Vec<&str> = spec.split('|').collect();
        let [file, topic, bootstrap] = parts.as_slice() else { panic!("bad {CHILD_ENV}: {spec}") };
        (file.to_string(), topic.to_string(), bootstrap.to_string())
    };
    let profile = Profile::from_env("APP_ENV").unwrap();
    assert_eq!(profile, Profile::Production);
    let sources = profile::production().properties_file(&file).env();
    let pc: ProducerConfig = sources.load().unwrap();
    assert_eq!(pc.acks, Acks::All, "the profile's default");
    assert_eq!(pc.retries, 10, "the profile's default");
    assert_eq!(pc.batch_size, 4321, "the environment over the file over the profile");
    assert_eq!(pc.client.client_id, "from-file", "the file over the profile");
    assert_eq!(pc.client.bootstrap_servers, vec![expected_bootstrap.clone()], "the environment over the file");
    let group = format!("{topic}-group");
    let cc: ConsumerConfig = sources.clone().set("group.id", group.as_str()).load().unwrap();
    assert_eq!(cc.auto_offset_reset, OffsetReset::Earliest, "the profile's default");
    assert_eq!(cc.client.client_id, "from-file");

    let producer = Producer::new(pc).await.unwrap();
    producer.send(ProducerRecord::new(topic.as_str()).value("before-join")).await.unwrap().await.unwrap();
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let g = got.clone();
    let consumer = HandlerConsumer::new(cc, [topic.as_str()], settings(), move |d: Delivery| {
        g.lock().unwrap().push(String::from_utf8_lossy(d.record.value.as_deref().unwrap_or_default()).into_owned());
        async { Ok(()) }
    })
    .await
    .unwrap();
    let (shutdown, run) = spawn_run(consumer);
    eventually("the record sent before the group existed", || !got.lock().unwrap().is_empty()).await;
    shutdown.trigger();
    run.await.unwrap().unwrap();
    assert_eq!(*got.lock().unwrap(), ["before-join"]);
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_profile_under_a_properties_file_and_the_environment_runs_against_the_broker() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique("app-profile");
    create_topic(&bootstrap, &topic, 1).await;
    let file = std::env::temp_dir().join(format!("{topic}.properties"));
    // The file names a dead bootstrap address: the environment's must win, or nothing is sent.
    std::fs::write(&file, "bootstrap.servers=127.0.0.1:1\nclient.id=from-file\n").unwrap();
    let spec = format!("{}|{topic}|{bootstrap}", file.display());
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "profile_child", "--nocapture", "--test-threads=1"])
        .env_clear()
        .env(CHILD_ENV, spec)
        .env("APP_ENV", "production")
        .env("KAFKA_BOOTSTRAP_SERVERS", &bootstrap)
        .env("KAFKA_BATCH_SIZE", "4321")
        .output()
        .expect("spawn child");
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&child.stdout);
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(child.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("test profile_child ... ok"), "the child ran its checks:\n{stdout}");
    // The child's group committed the record it handled.
    let c = committed(&bootstrap, &format!("{topic}-group"), &topic, 1).await;
    assert_eq!(c[&0], Some(1));
}
