//! Trace propagation through record headers with kafkar-app: a front service starts a trace per order and sends
//! the order with W3C `traceparent` (and `X-Trace-Id`) headers; the shipping service, a handler consumer, works in
//! that trace (its `tracing` span carries the trace id) and sends the shipment with `send_traced`, which continues
//! the same trace as a child span. A legacy producer that only sets a plain `X-Trace-Id` header is followed too:
//! its id is kept as is, beside a W3C trace started for it.
//!
//! ```sh
//! KAFKA_BOOTSTRAP=127.0.0.1:9092 cargo run -p kafkar-examples --example trace_propagation
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kafkar::admin::NewTopic;
use kafkar::{Producer, ProducerRecord};
use kafkar_app::trace::{X_TRACE_ID, send_traced};
use kafkar_app::{Delivery, HandlerConsumer, HandlerSettings, Shutdown, TraceContext};
use kafkar_examples::{Config, Result, create_topics, delete_topics, read_all, wait_until};

const PARTITIONS: i32 = 2;
/// Orders sent with a W3C trace.
pub const TRACED_ORDERS: usize = 5;
/// The legacy producer's plain trace id.
pub const LEGACY_TRACE_ID: &str = "legacy-7f3a-checkout";

/// One hop's view of a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    /// The trace id (hex).
    pub trace_id: String,
    /// The span id (hex).
    pub span_id: String,
    /// The `X-Trace-Id` value.
    pub x_trace_id: String,
}

impl Hop {
    fn of(ctx: &TraceContext) -> Hop {
        Hop { trace_id: ctx.trace_id_hex(), span_id: ctx.span_id_hex(), x_trace_id: ctx.x_trace_id.clone() }
    }
}

/// Each order's trace at the three hops.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// As the front service sent it (`None` for the legacy order: no W3C context).
    pub sent: BTreeMap<String, Option<Hop>>,
    /// As the shipping handler saw it.
    pub handled: BTreeMap<String, Hop>,
    /// As the shipment record carries it.
    pub shipped: BTreeMap<String, Hop>,
}

/// Sends the orders, ships them through a handler consumer, and reads the shipments' headers.
pub async fn run(cfg: &Config) -> Result<Outcome> {
    let admin = cfg.admin().await?;
    let orders = cfg.name("trace-orders");
    let shipments = cfg.name("trace-shipments");
    create_topics(&admin, &[NewTopic::new(&orders, PARTITIONS, 1), NewTopic::new(&shipments, PARTITIONS, 1)]).await?;
    let producer = Arc::new(Producer::new(cfg.producer_config()).await?);

    // The front service: a new trace per order, injected into the record's headers.
    let mut sent = BTreeMap::new();
    for i in 0..TRACED_ORDERS {
        let id = format!("order-{i}");
        let root = TraceContext::new_root();
        let mut record = ProducerRecord::new(orders.as_str()).key(id.clone()).value(id.clone());
        root.inject(&mut record);
        producer.send(record).await?.await?;
        sent.insert(id, Some(Hop::of(&root)));
    }
    // A legacy producer: only its own plain trace id.
    let legacy = ProducerRecord::new(orders.as_str())
        .key("order-legacy")
        .value("order-legacy")
        .header(X_TRACE_ID, Some(Bytes::from_static(LEGACY_TRACE_ID.as_bytes())));
    producer.send(legacy).await?.await?;
    sent.insert("order-legacy".to_owned(), None);

    // The shipping service: the handler runs inside the record's trace; send_traced continues it.
    let handled = Arc::new(Mutex::new(BTreeMap::new()));
    let (seen, out, to) = (handled.clone(), producer.clone(), shipments.clone());
    let config = cfg.consumer_config().with_group_id(cfg.name("trace-shipping"));
    let consumer = HandlerConsumer::new(config, [orders.as_str()], HandlerSettings::default(), move |d: Delivery| {
        let (seen, out, to) = (seen.clone(), out.clone(), to.clone());
        async move {
            let id = String::from_utf8_lossy(d.record.value.as_deref().unwrap_or_default()).into_owned();
            tracing::info!(order = %id, "shipping (this log line carries the order's trace id)");
            let shipment = ProducerRecord::new(to.as_str()).key(id.clone()).value(format!("shipment for {id}"));
            send_traced(&out, shipment).await?.await?;
            seen.lock().unwrap_or_else(|p| p.into_inner()).insert(id, Hop::of(&d.trace));
            Ok(())
        }
    })
    .await?;
    let monitor = consumer.monitor();
    let shutdown = Shutdown::new();
    let running = tokio::spawn(consumer.run(shutdown.clone()));
    let total = sent.len() as u64;
    let done = wait_until("every order shipped", cfg.timeout, || {
        monitor.metrics().records_handled >= total || running.is_finished()
    })
    .await;
    shutdown.trigger();
    running.await??;
    done?;
    producer.close().await;

    // Downstream: what the shipment records carry.
    let mut shipped = BTreeMap::new();
    for r in read_all(cfg, &shipments, PARTITIONS).await? {
        let id = String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into_owned();
        let ctx = TraceContext::extract(&r.headers).ok_or_else(|| format!("shipment {id} carries no trace"))?;
        shipped.insert(id, Hop::of(&ctx));
    }
    delete_topics(&admin, &[orders, shipments]).await;
    let handled = std::mem::take(&mut *handled.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(Outcome { sent, handled, shipped })
}

#[tokio::main]
async fn main() -> Result<()> {
    kafkar_examples::init_logging();
    let outcome = run(&Config::from_env()).await?;
    for (id, sent) in &outcome.sent {
        println!("{id}");
        println!("  sent:    {sent:?}");
        println!("  handled: {:?}", outcome.handled.get(id));
        println!("  shipped: {:?}", outcome.shipped.get(id));
    }
    Ok(())
}
