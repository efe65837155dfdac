//! Retry topics for long backoffs, as Spring Kafka's non-blocking retries: a record that still fails after its
//! in-memory attempts is forwarded to a retry topic (`<topic>-retry-<delay ms>` by default) with headers saying
//! which attempt comes next and when it is due; the same handler consumer reads the retry topics, waits until a
//! record is due and runs the handler again. After the last retry topic (or on a permanent error) the record goes
//! to the dead-letter topic of its original topic.
//!
//! A forwarded record keeps its key, value and headers, gets the `kafka_dlt-*` provenance headers of its first
//! failure (topic, partition, offset, timestamp of the original record; the latest error) and
//! [`ATTEMPTS`] / [`BACKOFF_TIMESTAMP`] with Spring Kafka's names. Its offset in the topic it came from is
//! committed once the forward is acknowledged, so a record is never lost between two topics (at worst forwarded
//! twice after a crash).
//!
//! Waiting for a due time holds only the retry topic's partition (its records are due in order, as they were
//! forwarded with the same delay), never the original topic's.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kafkar::consumer::ConsumerRecord;
use kafkar::producer::Producer;

/// The delivery number of a forwarded record: 2 in the first retry topic, 3 in the second, ... (1 is the original
/// delivery). A 4-byte big-endian integer, as Spring writes it (read: any big-endian integer of 1 to 8 bytes).
pub const ATTEMPTS: &str = "retry_topic-attempts";
/// When a forwarded record is due: milliseconds since the Unix epoch, an 8-byte big-endian integer (read: any
/// big-endian integer of 1 to 8 bytes, as Spring's `BigInteger` form).
pub const BACKOFF_TIMESTAMP: &str = "retry_topic-backoff-timestamp";

/// Names a retry topic: the original topic, the retry topic's index (0 for the first) and its delay.
pub type RetryTopicNamer = Arc<dyn Fn(&str, usize, Duration) -> String + Send + Sync>;

/// The retry topics of a handler consumer: one hop per delay.
#[derive(Clone)]
pub struct RetryTopics {
    /// The producer forwarding records to the retry topics.
    pub producer: Arc<Producer>,
    /// The delay of each hop, in order: a record failing on its original topic waits `delays[0]`, failing again
    /// `delays[1]`, ...; after the last it goes to the dead-letter topic.
    pub delays: Vec<Duration>,
    /// The name of each hop's topic; `<topic>-retry-<delay in ms>` by default (hops with equal delays share a
    /// topic, which is fine: the attempts header, not the topic, says which hop comes next).
    pub topic_for: RetryTopicNamer,
}

impl std::fmt::Debug for RetryTopics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryTopics").field("delays", &self.delays).finish_non_exhaustive()
    }
}

/// The default retry topic name: `<topic>-retry-<delay in ms>` (Spring Kafka's suffix by delay value).
pub fn default_retry_topic(topic: &str, _index: usize, delay: Duration) -> String {
    format!("{topic}-retry-{}", delay.as_millis())
}

impl RetryTopics {
    /// Retry topics named `<topic>-retry-<delay ms>`, one hop per delay, written through `producer`.
    pub fn new(producer: Arc<Producer>, delays: impl IntoIterator<Item = Duration>) -> RetryTopics {
        RetryTopics { producer, delays: delays.into_iter().collect(), topic_for: Arc::new(default_retry_topic) }
    }

    /// The same with hop `i` (delay `d`) of topic `t` named `topic_for(t, i, d)`.
    pub fn with_topic(mut self, topic_for: impl Fn(&str, usize, Duration) -> String + Send + Sync + 'static) -> Self {
        self.topic_for = Arc::new(topic_for);
        self
    }

    /// The distinct retry topics of `topic`, in hop order: what to create, and what the handler consumer
    /// subscribes to besides `topic`.
    pub fn topics(&self, topic: &str) -> Vec<String> {
        distinct_topics(topic, &self.delays, &*self.topic_for)
    }

    /// The topic and due time of the hop after a failed delivery `hop` (0: the original delivery), if any is left.
    pub(crate) fn next_hop(&self, original_topic: &str, hop: u32) -> Option<(String, Duration)> {
        let i = usize::try_from(hop).ok()?;
        let delay = *self.delays.get(i)?;
        Some(((self.topic_for)(original_topic, i, delay), delay))
    }
}

/// The distinct names `namer` gives the hops of `topic`, in hop order.
fn distinct_topics(topic: &str, delays: &[Duration], namer: &dyn Fn(&str, usize, Duration) -> String) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, d) in delays.iter().enumerate() {
        let name = namer(topic, i, *d);
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// A big-endian two's-complement integer of 1 to 8 bytes (Java's `ByteBuffer.putInt/putLong` and
/// `BigInteger.toByteArray` forms).
pub(crate) fn read_be_int(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut buf = [fill; 8];
    buf[8 - bytes.len()..].copy_from_slice(bytes);
    Some(i64::from_be_bytes(buf))
}

fn header_int(record: &ConsumerRecord, key: &str) -> Option<i64> {
    read_be_int(&record.headers.last(key.as_bytes())?.value?)
}

/// Which hop `record` is on: 0 for an original delivery, `n` for the n-th retry topic (from [`ATTEMPTS`]; a
/// missing or malformed header counts as an original delivery).
pub fn hop(record: &ConsumerRecord) -> u32 {
    header_int(record, ATTEMPTS).and_then(|a| u32::try_from(a.saturating_sub(1)).ok()).unwrap_or(0)
}

/// When a forwarded record is due ([`BACKOFF_TIMESTAMP`]); `None` for an original delivery or a malformed header.
pub fn due_at(record: &ConsumerRecord) -> Option<SystemTime> {
    let ms = u64::try_from(header_int(record, BACKOFF_TIMESTAMP)?).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_millis(ms))
}

/// How long until `record` is due (zero when it is, or carries no due time).
pub(crate) fn wait_for(record: &ConsumerRecord) -> Duration {
    due_at(record).and_then(|due| due.duration_since(SystemTime::now()).ok()).unwrap_or(Duration::ZERO)
}

/// Milliseconds since the epoch of `now + delay`.
pub(crate) fn due_millis(delay: Duration) -> i64 {
    let due = SystemTime::now() + delay;
    due.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_read_in_java_forms() {
        assert_eq!(read_be_int(&3i32.to_be_bytes()), Some(3));
        assert_eq!(read_be_int(&1_700_000_000_000i64.to_be_bytes()), Some(1_700_000_000_000));
        assert_eq!(read_be_int(&[0x03]), Some(3), "BigInteger.valueOf(3).toByteArray()");
        assert_eq!(read_be_int(&[0x00, 0x80]), Some(128));
        assert_eq!(read_be_int(&[0xff]), Some(-1));
        assert_eq!(read_be_int(&[]), None);
        assert_eq!(read_be_int(&[0; 9]), None);
    }

    #[test]
    fn default_names_and_distinct_topics() {
        assert_eq!(default_retry_topic("orders", 0, Duration::from_secs(2)), "orders-retry-2000");
        let ms = |v: &[u64]| v.iter().map(|d| Duration::from_millis(*d)).collect::<Vec<_>>();
        let names = |delays: &[u64]| distinct_topics("t", &ms(delays), &default_retry_topic);
        assert_eq!(names(&[1000, 1000, 5000]), ["t-retry-1000", "t-retry-5000"]);
    }
}
