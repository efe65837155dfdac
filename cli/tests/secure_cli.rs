//! The `kafkar` binary against the secured listeners of `scripts/kafka start --secure`: every command takes the
//! client's security properties through `-X` (the same names as the library and the Java client).
//!
//! Without `KAFKAR_SECURE_SASL_SSL_BOOTSTRAP` (from `scripts/kafka secure-info`) the tests report themselves
//! skipped; under `CI=true` they fail instead.

use std::process::{Command, Output};

fn var(name: &str) -> Option<String> {
    std::env::var(format!("KAFKAR_SECURE_{name}")).ok().filter(|v| !v.is_empty())
}

fn secured() -> Option<()> {
    if var("SASL_SSL_BOOTSTRAP").is_some() {
        return Some(());
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI must run these against a --secure broker");
    eprintln!("skipped: no secured broker (eval \"$(scripts/kafka secure-info)\")");
    None
}

/// `-X` arguments for SASL_SSL with SCRAM-SHA-512 and `password`.
fn sasl_ssl(password: &str) -> Vec<String> {
    let v = |n: &str| var(n).unwrap_or_default();
    [
        "security.protocol=SASL_SSL".to_owned(),
        format!("ssl.ca.location={}", v("CA_PEM")),
        "sasl.mechanism=SCRAM-SHA-512".into(),
        format!("sasl.username={}", v("SCRAM_USERNAME")),
        format!("sasl.password={password}"),
    ]
    .into_iter()
    .flat_map(|p| ["-X".to_owned(), p])
    .collect()
}

fn kafkar(args: &[&str], props: &[String]) -> Output {
    let bootstrap = var("SASL_SSL_BOOTSTRAP").unwrap_or_default();
    Command::new(env!("CARGO_BIN_EXE_kafkar"))
        .args(["--bootstrap", &bootstrap])
        .args(args)
        .args(props)
        .env_remove("KAFKA_BOOTSTRAP")
        .output()
        .expect("run the kafkar binary")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn every_command_works_over_sasl_ssl_with_x_properties() {
    let Some(()) = secured() else { return };
    let password = var("SCRAM_PASSWORD").unwrap_or_default();
    let props = sasl_ssl(&password);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let topic = format!("cli-secure-{}-{nanos:x}", std::process::id());

    let out = kafkar(&["topics", "create", &topic, "--partitions", "2"], &props);
    assert!(out.status.success(), "{}", text(&out));
    let out = kafkar(&["cluster"], &props);
    assert!(out.status.success() && text(&out).contains(&topic), "{}", text(&out));
    let mut produce = props.clone();
    produce.extend(["-X".to_owned(), "acks=1".into()]);
    let out = kafkar(&["perf", "produce", "-t", &topic, "-n", "2000", "-s", "50"], &produce);
    assert!(out.status.success(), "{}", text(&out));
    let out = kafkar(&["perf", "consume", "-t", &topic, "-n", "2000"], &props);
    assert!(out.status.success(), "{}", text(&out));
    let out = kafkar(&["topics", "delete", &topic], &props);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_wrong_password_fails_with_an_authentication_error() {
    let Some(()) = secured() else { return };
    let out = kafkar(&["cluster"], &sasl_ssl("not-the-password"));
    assert!(!out.status.success());
    let shown = text(&out);
    assert!(shown.contains("SCRAM-SHA-512 authentication failed"), "{shown}");
    assert!(!shown.contains("not-the-password"), "{shown}");
}

#[test]
fn an_unknown_property_is_refused_by_the_admin_commands() {
    let Some(()) = secured() else { return };
    let out = kafkar(&["cluster"], &["-X".to_owned(), "no.such.property=1".to_owned()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("no.such.property"), "{}", text(&out));
}
