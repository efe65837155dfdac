//! The real broker's Kafka version, for tests whose expectations differ by release (shared by the core crate's
//! and the CLI's tests).

/// The broker's Kafka version as (major, minor), from `KAFKAR_BROKER_VERSION` (scripts/test sets it; see
/// `scripts/test --broker-version`). Without it, the version scripts/kafka pins (4.4), which CI runs.
#[allow(dead_code)]
pub fn broker_version() -> (u32, u32) {
    let v = std::env::var("KAFKAR_BROKER_VERSION").unwrap_or_default();
    let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor),
        _ => (4, 4),
    }
}
