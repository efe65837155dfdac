//! The `kafkar` binary against the secured listeners of `scripts/kafka start --secure`: the same security
//! properties as the library, given with `-X`, in a `-F` properties file, or as `KAFKA_*` environment variables.
//! Records produced over SASL_SSL (SCRAM-SHA-512) are read back over mutual TLS; a wrong password is an
//! authentication failure (exit 1) within the timeout, never a hang.
//!
//! Needs `KAFKAR_SECURE_*` (scripts/test exports `scripts/kafka secure-info`); with `CI=true` missing ones are a
//! failure, otherwise the test says why it skipped.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const KAFKAR: &str = env!("CARGO_BIN_EXE_kafkar");

/// A `KAFKAR_SECURE_<name>` variable, or `None` (skip) outside CI.
fn secure(name: &str) -> Option<String> {
    match std::env::var(format!("KAFKAR_SECURE_{name}")) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("KAFKAR_SECURE_{name} is not set (CI=true: scripts/test exports scripts/kafka secure-info)")
        }
        _ => {
            eprintln!("skipped: KAFKAR_SECURE_{name} is not set (scripts/kafka start --secure; see scripts/test)");
            None
        }
    }
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("cli-{prefix}-{}-{nanos:x}", std::process::id())
}

/// Runs `kafkar ARGS` with `stdin` and `env`, without inheriting `KAFKA_*`, killed after 40 s.
fn kafkar(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> (Output, Duration) {
    let mut cmd = Command::new(KAFKAR);
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("KAFKA_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("start kafkar");
    let mut input = child.stdin.take().expect("stdin is piped");
    input.write_all(stdin).expect("write stdin");
    drop(input);
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(40);
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(100));
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                return;
            }
        }
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    let out = child.wait_with_output().expect("wait for kafkar");
    drop(watchdog);
    (out, started.elapsed())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn produce_over_sasl_ssl_with_x_and_consume_over_mutual_tls_from_a_properties_file() {
    let (Some(sasl_ssl), Some(mtls), Some(ca), Some(user), Some(password), Some(cert), Some(key)) = (
        secure("SASL_SSL_BOOTSTRAP"),
        secure("MTLS_BOOTSTRAP"),
        secure("CA_PEM"),
        secure("SCRAM_USERNAME2"),
        secure("SCRAM_PASSWORD2"),
        secure("CLIENT_CERT"),
        secure("CLIENT_KEY"),
    ) else {
        return;
    };
    let topic = unique("secure");
    // The topic, through the admin commands over SASL_SSL with the credentials in the environment.
    let env_sasl = [
        ("KAFKA_BOOTSTRAP_SERVERS", sasl_ssl.as_str()),
        ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
        ("KAFKA_SSL_CA_LOCATION", ca.as_str()),
        ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
        ("KAFKA_SASL_USERNAME", user.as_str()),
        ("KAFKA_SASL_PASSWORD", password.as_str()),
    ];
    let (out, _) = kafkar(&["topics", "create", &topic, "-p", "1"], &env_sasl, b"");
    assert!(out.status.success(), "topics create over SASL_SSL from the environment: {}", text(&out.stderr));

    // Produce with -X.
    let (out, _) = kafkar(
        &[
            "produce",
            "-b",
            &sasl_ssl,
            "-t",
            &topic,
            "-K",
            ":",
            "-X",
            "security.protocol=SASL_SSL",
            "-X",
            &format!("ssl.ca.location={ca}"),
            "-X",
            "sasl.mechanism=SCRAM-SHA-512",
            "-X",
            &format!(
                "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{user}\" password=\"{password}\";"
            ),
        ],
        &[],
        b"k1:one\nk2:two\nk3:three\n",
    );
    assert!(out.status.success(), "produce over SASL_SSL: {}", text(&out.stderr));

    // Consume over mutual TLS, configured by a properties file.
    let dir = std::env::temp_dir().join(unique("props"));
    std::fs::create_dir_all(&dir).unwrap();
    let props = dir.join("client.properties");
    std::fs::write(
        &props,
        format!(
            "bootstrap.servers={mtls}\nsecurity.protocol=SSL\nssl.ca.location={ca}\nssl.certificate.location={cert}\nssl.key.location={key}\n"
        ),
    )
    .unwrap();
    let (out, _) = kafkar(
        &["consume", "-F", props.to_str().unwrap(), "-t", &topic, "-o", "beginning", "-e", "-f", "%k=%s\\n"],
        &[],
        b"",
    );
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success(), "consume over mutual TLS: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "k1=one\nk2=two\nk3=three\n");
}

#[test]
fn a_wrong_password_is_an_authentication_failure_with_exit_code_1() {
    let (Some(sasl_ssl), Some(ca), Some(user), Some(password)) =
        (secure("SASL_SSL_BOOTSTRAP"), secure("CA_PEM"), secure("SCRAM_USERNAME2"), secure("SCRAM_PASSWORD2"))
    else {
        return;
    };
    let wrong = format!("{password}-wrong");
    let (out, took) = kafkar(
        &[
            "cluster",
            "-b",
            &sasl_ssl,
            "-X",
            "security.protocol=SASL_SSL",
            "-X",
            &format!("ssl.ca.location={ca}"),
            "-X",
            "sasl.mechanism=SCRAM-SHA-512",
            "-X",
            &format!("sasl.username={user}"),
            "-X",
            &format!("sasl.password={wrong}"),
            "-X",
            "request.timeout.ms=10000",
        ],
        &[],
        b"",
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {stderr}");
    assert!(stderr.to_lowercase().contains("authentication"), "stderr names the failure: {stderr}");
    assert!(stderr.contains("SCRAM-SHA-512"), "stderr names the mechanism: {stderr}");
    assert!(!stderr.contains(&wrong) && !stderr.contains(&password), "a password in the output: {stderr}");
    assert!(took < Duration::from_secs(35), "took {took:?}");
}
