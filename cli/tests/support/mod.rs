//! Helpers of the CLI's integration tests: the broker from the environment (a skip outside CI when it is
//! missing), unique names, and running the `kafkar` binary with a watchdog.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The binary under test.
pub const KAFKAR: &str = env!("CARGO_BIN_EXE_kafkar");

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The broker, or `None` (skip) outside CI.
pub fn broker() -> Option<String> {
    match std::env::var("KAFKA_BOOTSTRAP") {
        Ok(b) if !b.is_empty() => Some(b),
        _ if in_ci() => panic!("KAFKA_BOOTSTRAP is not set (CI=true: a missing broker is a failure)"),
        _ => {
            eprintln!("skipped: KAFKA_BOOTSTRAP is not set (run through scripts/test)");
            None
        }
    }
}

/// The broker and kcat, or `None` (skip) outside CI.
pub fn broker_and_kcat() -> Option<String> {
    let b = broker()?;
    let found = Command::new("kcat").arg("-V").output().is_ok_and(|o| o.status.success());
    match found {
        true => Some(b),
        false if in_ci() => panic!("kcat is not installed (CI=true: .ci/run installs it)"),
        false => {
            eprintln!("skipped: kcat is not installed (apt-get install kcat)");
            None
        }
    }
}

/// A topic name no other run uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("cli-{prefix}-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Runs `cmd` with `stdin`, killed after 30 s.
pub fn run(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut input = child.stdin.take().expect("stdin is piped");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let started = Instant::now();
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        while started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(100));
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                return;
            }
        }
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    drop(watchdog);
    out
}

/// `kafkar ARGS` against `broker` (environment `KAFKA_*` variables removed), asserted to succeed; its stdout.
pub fn kafkar(broker: &str, args: &[&str], stdin: &[u8]) -> String {
    let out = run(kafkar_cmd(broker).args(args), stdin);
    assert!(out.status.success(), "kafkar {args:?}: {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn kafkar_cmd(broker: &str) -> Command {
    let mut c = bare_kafkar();
    c.args(["-b", broker]);
    c
}

/// `kafkar` without the `KAFKA_*` variables of the test's environment.
pub fn bare_kafkar() -> Command {
    let mut c = Command::new(KAFKAR);
    for (k, _) in std::env::vars() {
        if k.starts_with("KAFKA_") {
            c.env_remove(k);
        }
    }
    c
}

/// Creates `topic` with `partitions` partitions through `kafkar topics create`.
pub fn create_topic(broker: &str, topic: &str, partitions: u32) {
    kafkar(broker, &["topics", "create", topic, "-p", &partitions.to_string()], b"");
}

/// The secured listeners' settings (scripts/test exports them), or `None` (skip) outside CI.
pub fn secure(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if in_ci() => panic!("{name} is not set (CI=true: the broker runs with --secure)"),
        _ => {
            eprintln!("skipped: {name} is not set (scripts/test exports the secured listeners)");
            None
        }
    }
}

/// The SASL_SSL listener's bootstrap and the client settings of its super user (alice, SCRAM-SHA-512), or `None`
/// (skip) outside CI.
pub fn sasl_ssl() -> Option<(String, Vec<(&'static str, String)>)> {
    let bootstrap = secure("KAFKAR_SECURE_SASL_SSL_BOOTSTRAP")?;
    let ca = secure("KAFKAR_SECURE_CA_PEM")?;
    let user = secure("KAFKAR_SECURE_SCRAM_USERNAME")?;
    let password = secure("KAFKAR_SECURE_SCRAM_PASSWORD")?;
    let settings = vec![
        ("security.protocol", "SASL_SSL".to_owned()),
        ("sasl.mechanism", "SCRAM-SHA-512".to_owned()),
        ("sasl.username", user),
        ("sasl.password", password),
        ("ssl.ca.location", ca),
    ];
    Some((bootstrap, settings))
}

/// The `KAFKA_*` environment variable of a client property (`sasl.mechanism` -> `KAFKA_SASL_MECHANISM`).
pub fn env_name(property: &str) -> String {
    format!("KAFKA_{}", property.replace('.', "_").to_uppercase())
}

/// Writes a properties file `name` in a fresh temporary directory: `bootstrap.servers` and `settings`.
pub fn properties_file(name: &str, bootstrap: &str, settings: &[(&str, String)]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique("props"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(name);
    let mut text = format!("bootstrap.servers={bootstrap}\n");
    for (k, v) in settings {
        text.push_str(&format!("{k}={v}\n"));
    }
    std::fs::write(&file, text).expect("write properties");
    file
}

/// Asserts that `kafkar COMMAND.. --help` succeeds and mentions each expected text, for every case.
pub fn assert_help(cases: &[(&[&str], &[&str])]) {
    for (command, expected) in cases {
        let out = run(Command::new(KAFKAR).args(*command).arg("--help"), b"");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{command:?} --help: {:?}", out.status);
        for e in *expected {
            assert!(text.contains(e), "`kafkar {} --help` does not mention {e}:\n{text}", command.join(" "));
        }
    }
}

#[path = "../../../tests/support/version.rs"]
mod version;
#[allow(unused_imports)]
pub use version::broker_version;
