//! Trace propagation through record headers: the W3C Trace Context headers (`traceparent`, `tracestate`) and the
//! plain `X-Trace-Id` header of seed 002, injected on send and extracted on receive.
//!
//! A [`TraceContext`] is extracted from every record a handler consumer hands out and is current (see
//! [`TraceContext::current`]) while the handler runs, inside a `tracing` span carrying the trace id; records sent
//! from the handler with [`inject_current`] (or [`send_traced`]) continue the same trace.

use std::fmt::Write as _;

use bytes::Bytes;
use kafkar::consumer::ConsumerRecord;
use kafkar::producer::{DeliveryFuture, Producer, ProducerRecord};
use kafkar::protocol::records::{Header, RecordHeaders};

/// The W3C `traceparent` header.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C `tracestate` header.
pub const TRACESTATE: &str = "tracestate";
/// Seed 002's plain trace id header.
pub const X_TRACE_ID: &str = "X-Trace-Id";

/// Where a record sits in a trace: W3C trace id, the span id of its sender, flags and vendor state, and the plain
/// trace id carried in `X-Trace-Id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// The 16-byte trace id (never all zero).
    pub trace_id: [u8; 16],
    /// The 8-byte id of the current span (never all zero).
    pub span_id: [u8; 8],
    /// Trace flags (bit 0: sampled).
    pub flags: u8,
    /// The W3C `tracestate` value, passed on unchanged.
    pub tracestate: Option<String>,
    /// The `X-Trace-Id` value: the sender's own text when it sent one without `traceparent`, else the trace id in
    /// lowercase hex.
    pub x_trace_id: String,
}

tokio::task_local! {
    static CURRENT: TraceContext;
}

impl TraceContext {
    /// A new trace: random trace and span ids, sampled.
    pub fn new_root() -> TraceContext {
        let trace_id = random_nonzero::<16>();
        TraceContext { trace_id, span_id: random_nonzero(), flags: 1, tracestate: None, x_trace_id: hex(&trace_id) }
    }

    /// The same trace with a new span id (the context of work done on behalf of this one).
    pub fn child(&self) -> TraceContext {
        TraceContext { span_id: random_nonzero(), ..self.clone() }
    }

    /// The trace id in lowercase hex (32 characters).
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// The span id in lowercase hex (16 characters).
    pub fn span_id_hex(&self) -> String {
        hex(&self.span_id)
    }

    /// The `traceparent` value: `00-<trace id>-<span id>-<flags>`.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id_hex(), self.span_id_hex(), self.flags)
    }

    /// Parses a `traceparent` value (version 00 and unknown future versions' first four fields); `None` when
    /// malformed or when an id is all zero, as the W3C spec says to ignore such a header.
    pub fn parse_traceparent(value: &str) -> Option<TraceContext> {
        let mut parts = value.trim().split('-');
        let version = parse_hex::<1>(parts.next()?)?;
        let trace_id = parse_hex::<16>(parts.next()?)?;
        let span_id = parse_hex::<8>(parts.next()?)?;
        let flags = parse_hex::<1>(parts.next()?)?[0];
        if version[0] == 0xff || (version[0] == 0 && parts.next().is_some()) {
            return None;
        }
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(TraceContext { trace_id, span_id, flags, tracestate: None, x_trace_id: hex(&trace_id) })
    }

    /// The context a record carries: its `traceparent` (with `tracestate`), else its `X-Trace-Id` (a 32-digit hex
    /// id becomes the W3C trace id; other text is kept as is under a new W3C trace id); `None` when it carries
    /// neither.
    pub fn extract(headers: &RecordHeaders) -> Option<TraceContext> {
        let text = |key: &str| {
            headers
                .iter()
                .filter(|h| h.key.eq_ignore_ascii_case(key.as_bytes()))
                .last()
                .and_then(|h| h.value)
                .and_then(|v| String::from_utf8(v.to_vec()).ok())
        };
        let x_trace_id = text(X_TRACE_ID).filter(|t| !t.trim().is_empty());
        if let Some(mut ctx) = text(TRACEPARENT).and_then(|v| TraceContext::parse_traceparent(&v)) {
            ctx.tracestate = text(TRACESTATE).filter(|s| !s.is_empty());
            if let Some(x) = x_trace_id {
                ctx.x_trace_id = x;
            }
            return Some(ctx);
        }
        let x = x_trace_id?;
        let mut ctx = TraceContext::new_root();
        if let Some(id) = parse_hex::<16>(&x).filter(|id| *id != [0; 16]) {
            ctx.trace_id = id;
        }
        ctx.x_trace_id = x;
        Some(ctx)
    }

    /// Adds (replacing earlier ones) the `traceparent`, `tracestate` and `X-Trace-Id` headers to `record`.
    pub fn inject(&self, record: &mut ProducerRecord) {
        record.headers.retain(|h| {
            ![TRACEPARENT, TRACESTATE, X_TRACE_ID].iter().any(|k| h.key.eq_ignore_ascii_case(k.as_bytes()))
        });
        record.headers.push(Header::new(TRACEPARENT, Some(Bytes::from(self.traceparent()))));
        if let Some(state) = &self.tracestate {
            record.headers.push(Header::new(TRACESTATE, Some(Bytes::from(state.clone()))));
        }
        record.headers.push(Header::new(X_TRACE_ID, Some(Bytes::from(self.x_trace_id.clone()))));
    }

    /// The context current in this task: the one of the record a handler is working on, or one set with
    /// [`scope`](Self::scope).
    pub fn current() -> Option<TraceContext> {
        CURRENT.try_with(Clone::clone).ok()
    }

    /// Runs `fut` with this context current.
    pub async fn scope<F: std::future::Future>(self, fut: F) -> F::Output {
        CURRENT.scope(self, fut).await
    }

    /// A `tracing` span for processing `record` (in this context) in consumer group `group`, with the
    /// OpenTelemetry messaging attributes: a few by default; with feature `otel` the semantic conventions for
    /// Kafka consumers (`otel.name` = `process <topic>`, `otel.kind` = `consumer`, `messaging.operation.type`,
    /// `messaging.consumer.group.name`, `messaging.kafka.offset`, `messaging.kafka.message.key`,
    /// `messaging.message.body.size`, ...).
    pub fn process_span(&self, record: &ConsumerRecord, group: Option<&str>) -> tracing::Span {
        #[cfg(not(feature = "otel"))]
        {
            let _ = group;
            tracing::info_span!(
                "process",
                trace_id = %self.trace_id_hex(),
                span_id = %self.span_id_hex(),
                x_trace_id = %self.x_trace_id,
                "messaging.system" = "kafka",
                "messaging.operation.type" = "process",
                "messaging.destination.name" = &*record.topic,
                "messaging.destination.partition.id" = record.partition,
                "messaging.kafka.offset" = record.offset,
            )
        }
        #[cfg(feature = "otel")]
        {
            let key = record.key.as_deref().and_then(|k| std::str::from_utf8(k).ok());
            tracing::info_span!(
                "process",
                otel.name = %format_args!("process {}", record.topic),
                otel.kind = "consumer",
                trace_id = %self.trace_id_hex(),
                span_id = %self.span_id_hex(),
                x_trace_id = %self.x_trace_id,
                "messaging.system" = "kafka",
                "messaging.operation.type" = "process",
                "messaging.operation.name" = "process",
                "messaging.destination.name" = &*record.topic,
                "messaging.destination.partition.id" = %record.partition,
                "messaging.consumer.group.name" = group,
                "messaging.kafka.offset" = record.offset,
                "messaging.kafka.message.key" = key,
                "messaging.kafka.message.tombstone" = record.value.is_none(),
                "messaging.message.body.size" = record.value.as_ref().map_or(0, |v| v.len()),
            )
        }
    }
}

/// A `tracing` span for processing a batch of `count` records of one partition from offset `first_offset` in
/// consumer group `group`, with the OpenTelemetry messaging attributes (with feature `otel`: the semantic
/// conventions, `messaging.batch.message_count` among them).
pub fn batch_span(topic: &str, partition: i32, first_offset: i64, count: usize, group: Option<&str>) -> tracing::Span {
    #[cfg(not(feature = "otel"))]
    {
        let _ = group;
        tracing::info_span!(
            "process",
            "messaging.system" = "kafka",
            "messaging.operation.type" = "process",
            "messaging.destination.name" = topic,
            "messaging.destination.partition.id" = partition,
            "messaging.batch.message_count" = count,
            "messaging.kafka.offset" = first_offset,
        )
    }
    #[cfg(feature = "otel")]
    {
        tracing::info_span!(
            "process",
            otel.name = %format_args!("process {topic}"),
            otel.kind = "consumer",
            "messaging.system" = "kafka",
            "messaging.operation.type" = "process",
            "messaging.operation.name" = "process",
            "messaging.destination.name" = topic,
            "messaging.destination.partition.id" = %partition,
            "messaging.consumer.group.name" = group,
            "messaging.batch.message_count" = count,
            "messaging.kafka.offset" = first_offset,
        )
    }
}

/// The span of sending `record` in context `ctx` (feature `otel`): `otel.name` = `send <topic>`, `otel.kind` =
/// `producer`, and the semantic conventions' attributes for Kafka producers.
#[cfg(feature = "otel")]
pub fn send_span(ctx: &TraceContext, record: &ProducerRecord) -> tracing::Span {
    let key = record.key.as_deref().and_then(|k| std::str::from_utf8(k).ok());
    tracing::info_span!(
        "send",
        otel.name = %format_args!("send {}", record.topic),
        otel.kind = "producer",
        trace_id = %ctx.trace_id_hex(),
        span_id = %ctx.span_id_hex(),
        x_trace_id = %ctx.x_trace_id,
        "messaging.system" = "kafka",
        "messaging.operation.type" = "send",
        "messaging.operation.name" = "send",
        "messaging.destination.name" = &*record.topic,
        "messaging.destination.partition.id" = record.partition.map(|p| p.to_string()),
        "messaging.kafka.message.key" = key,
        "messaging.kafka.message.tombstone" = record.value.is_none(),
        "messaging.message.body.size" = record.value.as_ref().map_or(0, |v| v.len()),
    )
}

/// Injects the current context into `record` as a child span (a new span id in the same trace); starts a new
/// trace when no context is current.
pub fn inject_current(record: &mut ProducerRecord) {
    let ctx = TraceContext::current().map(|c| c.child()).unwrap_or_else(TraceContext::new_root);
    ctx.inject(record);
}

/// Sends `record` with the current trace context injected (see [`inject_current`]); with feature `otel`, inside
/// a [`send_span`].
pub async fn send_traced(producer: &Producer, mut record: ProducerRecord) -> kafkar::Result<DeliveryFuture> {
    let ctx = TraceContext::current().map(|c| c.child()).unwrap_or_else(TraceContext::new_root);
    ctx.inject(&mut record);
    #[cfg(feature = "otel")]
    {
        use tracing::Instrument;
        let span = send_span(&ctx, &record);
        producer.send(record).instrument(span).await
    }
    #[cfg(not(feature = "otel"))]
    producer.send(record).await
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Exactly `2 * N` lowercase or uppercase hex digits.
fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; N];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

fn random_nonzero<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    loop {
        if getrandom::getrandom(&mut b).is_err() {
            // No OS randomness: a time-based id is still unique enough to correlate logs.
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(1);
            for (i, x) in b.iter_mut().enumerate() {
                *x = (nanos >> ((i % 16) * 8)) as u8;
            }
        }
        if b.iter().any(|x| *x != 0) {
            return b;
        }
        b[0] = 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_rejects_malformed_values() {
        let v = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let ctx = TraceContext::parse_traceparent(v).unwrap();
        assert_eq!(ctx.traceparent(), v);
        assert_eq!(ctx.x_trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "",
        ] {
            assert_eq!(TraceContext::parse_traceparent(bad), None, "{bad}");
        }
        // A future version may append fields.
        assert!(
            TraceContext::parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz").is_some()
        );
    }

    #[test]
    fn child_keeps_the_trace_and_changes_the_span() {
        let root = TraceContext::new_root();
        let child = root.child();
        assert_eq!(child.trace_id, root.trace_id);
        assert_ne!(child.span_id, root.span_id);
        assert_eq!(root.x_trace_id, root.trace_id_hex());
    }

    #[test]
    fn inject_replaces_earlier_trace_headers() {
        let ctx = TraceContext::new_root();
        let mut r =
            ProducerRecord::new("t").header("x-trace-id", Some(Bytes::from_static(b"old"))).header("other", None);
        ctx.inject(&mut r);
        let keys: Vec<&[u8]> = r.headers.iter().map(|h| &h.key[..]).collect();
        assert_eq!(keys, vec![&b"other"[..], b"traceparent", b"X-Trace-Id"]);
        assert_eq!(r.headers[1].value.as_deref(), Some(ctx.traceparent().as_bytes()));
    }
}
