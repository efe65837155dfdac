//! The settings, spelled out for every client: Java property names for kafkar and confluent-kafka, librdkafka
//! names for rust-rdkafka (the same name where both have it); krafka takes the same values through its builders
//! (krafka_client.rs).

use crate::Plan;

/// A list of (property, value) settings.
pub type Properties = Vec<(&'static str, String)>;

/// max.request.size / message.max.bytes: 1 MiB, or the batch size when that is larger.
pub fn max_request_size(plan: &Plan) -> usize {
    (1usize << 20).max(plan.batch_size)
}

/// The producer settings whose names Java and librdkafka share.
fn shared_producer_properties(plan: &Plan) -> Properties {
    vec![
        ("bootstrap.servers", plan.bootstrap.clone()),
        ("client.id", "kafkar-compare".into()),
        ("acks", "all".into()),
        ("enable.idempotence", "true".into()),
        ("linger.ms", plan.linger_ms.to_string()),
        ("batch.size", plan.batch_size.to_string()),
        ("max.in.flight.requests.per.connection", plan.in_flight.to_string()),
    ]
}

/// The consumer settings whose names Java and librdkafka share.
fn shared_consumer_properties(plan: &Plan) -> Properties {
    vec![
        ("bootstrap.servers", plan.bootstrap.clone()),
        ("client.id", "kafkar-compare".into()),
        ("group.id", plan.group.clone()),
        ("group.protocol", "consumer".into()),
        ("auto.offset.reset", "earliest".into()),
        ("enable.auto.commit", "false".into()),
        ("fetch.min.bytes", "1".into()),
        ("fetch.max.bytes", (50usize << 20).to_string()),
        ("max.partition.fetch.bytes", (1usize << 20).to_string()),
    ]
}

/// The producer settings every Java-style client gets (kafkar and confluent-kafka).
pub fn java_producer_properties(plan: &Plan) -> Properties {
    let mut p = shared_producer_properties(plan);
    p.extend([
        ("buffer.memory", plan.buffer_memory.to_string()),
        ("max.request.size", max_request_size(plan).to_string()),
        ("compression.type", plan.compression.clone()),
    ]);
    p
}

/// The consumer settings every Java-style client gets.
pub fn java_consumer_properties(plan: &Plan) -> Properties {
    let mut p = shared_consumer_properties(plan);
    p.extend([("fetch.max.wait.ms", "500".into()), ("max.poll.records", "500".into())]);
    p
}

/// The same producer settings by librdkafka's names.
///
/// buffer.memory has no single librdkafka equivalent: librdkafka bounds its queue by bytes
/// (`queue.buffering.max.kbytes`) and by count (`queue.buffering.max.messages`), whichever is hit first. Bytes get
/// buffer.memory / 1024; the count gets buffer.memory / value size, so that the byte bound is the one reached.
pub fn rdkafka_producer_properties(plan: &Plan) -> Properties {
    let messages = (plan.buffer_memory / plan.size.max(1)).clamp(1, 2_147_483_647);
    let mut p = shared_producer_properties(plan);
    p.extend([
        // librdkafka also caps a batch at 10,000 records by default (Java has no such cap): at its maximum here,
        // so that batch.size is the bound, as for the other clients.
        ("batch.num.messages", "1000000".into()),
        ("queue.buffering.max.kbytes", (plan.buffer_memory / 1024).max(1).to_string()),
        ("queue.buffering.max.messages", messages.to_string()),
        ("message.max.bytes", max_request_size(plan).to_string()),
        ("compression.codec", plan.compression.clone()),
    ]);
    p
}

/// The same consumer settings by librdkafka's names.
pub fn rdkafka_consumer_properties(plan: &Plan) -> Properties {
    let mut p = shared_consumer_properties(plan);
    p.push(("fetch.wait.max.ms", "500".into()));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn librdkafka_gets_the_buffer_as_kbytes_and_a_matching_count() {
        let (_, _, plan) = crate::parse(&["rdkafka".into(), "produce".into(), "--topic".into(), "t".into()]).unwrap();
        let p = rdkafka_producer_properties(&plan);
        let get = |k: &str| p.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("queue.buffering.max.kbytes"), Some("65536"));
        assert_eq!(get("queue.buffering.max.messages"), Some("671088"));
        assert_eq!(get("acks"), Some("all"));
        assert_eq!(get("buffer.memory"), None);
        let j = java_producer_properties(&plan);
        assert!(j.iter().any(|(k, v)| *k == "buffer.memory" && v == "67108864"));
    }
}
