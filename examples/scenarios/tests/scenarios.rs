//! Every scenario in examples/ run against the real broker (`KAFKA_BOOTSTRAP`), its outcome checked: the same
//! `run` the example's `main` calls (the files are included here as modules).

use kafkar_examples::Config;

#[path = "../examples/clickstream.rs"]
#[allow(dead_code)]
mod clickstream;
#[path = "../examples/dlq_handler.rs"]
#[allow(dead_code)]
mod dlq_handler;
#[path = "../examples/event_sourcing.rs"]
#[allow(dead_code)]
mod event_sourcing;
#[path = "../examples/graceful_shutdown.rs"]
#[allow(dead_code)]
mod graceful_shutdown;
#[path = "../examples/order_saga.rs"]
#[allow(dead_code)]
mod order_saga;
#[path = "../examples/schema_registry.rs"]
#[allow(dead_code)]
mod schema_registry;
#[path = "../examples/trace_propagation.rs"]
#[allow(dead_code)]
mod trace_propagation;

/// The real broker, or `None` (test skipped) outside CI when KAFKA_BOOTSTRAP is unset.
fn broker() -> Option<Config> {
    match std::env::var("KAFKA_BOOTSTRAP") {
        Ok(b) if !b.trim().is_empty() => Some(Config::new(b)),
        _ => {
            assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "KAFKA_BOOTSTRAP is not set (CI never skips)");
            eprintln!("skipped: KAFKA_BOOTSTRAP is not set");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_saga_ends_every_saga_completed_or_compensated_with_stock_and_payments_consistent() {
    use order_saga::{SagaEnd, Step};
    let Some(cfg) = broker() else { return };
    let out = order_saga::run(&cfg).await.expect("saga run");
    assert_eq!(out.ends.len(), out.orders.len(), "every saga ended: {:?}", out.ends);
    let completed = |id: &str| out.ends.get(id) == Some(&SagaEnd::Completed);
    let mut expected_stock = out.initial_stock.clone();
    let mut expected_balances = out.initial_balances.clone();
    for o in &out.orders {
        match &out.ends[&o.order_id] {
            SagaEnd::Completed => {
                *expected_stock.get_mut(&o.item).unwrap() -= o.quantity;
                *expected_balances.get_mut(&o.customer).unwrap() -= o.amount;
                assert_eq!(out.charges.get(&o.order_id), Some(&o.amount), "{} charged once, its price", o.order_id);
            }
            SagaEnd::Compensated { failed: Step::Inventory, undone, .. } => {
                assert!(undone.is_empty(), "{}: nothing done before the stock step", o.order_id);
                assert!(!out.charges.contains_key(&o.order_id));
            }
            SagaEnd::Compensated { failed: Step::Payment, undone, .. } => {
                assert_eq!(undone, &vec![Step::Inventory], "{}: the reservation is released", o.order_id);
                assert!(!out.charges.contains_key(&o.order_id));
            }
        }
    }
    assert_eq!(out.final_stock, expected_stock, "stock = initial - what completed orders took");
    assert_eq!(out.final_balances, expected_balances, "balances = initial - what completed orders cost");
    let held: Vec<&String> = out.reservations.keys().collect();
    assert!(held.iter().all(|id| completed(id)), "only completed orders hold stock: {held:?}");
    assert_eq!(held.len(), out.ends.values().filter(|e| **e == SagaEnd::Completed).count());
    // The scenario exercises every path: carol cannot pay, 100 gizmos are more than the stock.
    assert!(matches!(out.ends["order-02"], SagaEnd::Compensated { failed: Step::Payment, .. }), "{:?}", out.ends);
    assert!(matches!(out.ends["order-03"], SagaEnd::Compensated { failed: Step::Inventory, .. }), "{:?}", out.ends);
    assert!(completed("order-00"), "{:?}", out.ends);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_sourcing_rebuilds_the_sum_of_the_events_from_offset_0_and_from_snapshots() {
    use std::collections::BTreeMap;
    let Some(cfg) = broker() else { return };
    let out = event_sourcing::run(&cfg).await.expect("event sourcing run");
    assert_eq!(
        out.configs,
        (Some("-1".to_owned()), Some("delete".to_owned()), Some("compact".to_owned())),
        "events kept forever, snapshots compacted"
    );
    // The sum of the events, straight from the log.
    let mut sums: BTreeMap<String, (i64, u64)> = BTreeMap::new();
    for (_, _, e) in &out.events {
        let s = sums.entry(e.account.clone()).or_default();
        s.0 += e.change.delta();
        s.1 += 1;
    }
    assert_eq!(sums.len(), 5, "five accounts");
    for (account, (sum, count)) in &sums {
        for (name, state) in [("live", &out.live), ("replayed", &out.replayed), ("from snapshots", &out.from_snapshots)]
        {
            let a = &state[account];
            assert_eq!(a.balance as i64, *sum, "{name} balance of {account} = the sum of its events");
            assert_eq!(a.version, *count, "{name} version of {account} = its event count");
        }
    }
    assert_eq!(out.replayed.len(), 5);
    assert_eq!(out.from_snapshots.len(), 5);
    assert!(out.refused > 0, "overdrafts were refused");
    assert!(out.snapshots_written >= 3, "{} snapshots", out.snapshots_written);
    assert!(!out.latest_snapshots.is_empty());
    assert!(
        out.replayed_after_snapshots > 0 && out.replayed_after_snapshots < out.events.len() / 2,
        "the snapshot rebuild replays only the tail: {} of {}",
        out.replayed_after_snapshots,
        out.events.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickstream_window_counts_equal_a_direct_count_across_a_restart() {
    let Some(cfg) = broker() else { return };
    let out = clickstream::run(&cfg).await.expect("clickstream run");
    assert_eq!(out.views, 1200);
    assert!(out.direct.len() > PAGES_TIMES_WINDOWS_AT_LEAST, "views spread over windows: {:?}", out.direct);
    assert_eq!(out.output, out.direct, "the latest count per page and window = a direct count over the input");
    // The first instance stopped between writing counts and committing them ...
    assert!(out.first.written_not_committed > 0, "{:?}", out.first);
    assert_eq!(out.first.rebuilt, 0);
    // ... and the restart recounted exactly the committed prefix, then counted the rest once.
    let committed: i64 = out.second.committed_at_start.values().sum();
    assert_eq!(out.second.rebuilt as i64, committed);
    assert_eq!(out.second.rebuilt, out.first.counted - out.first.written_not_committed, "{out:?}");
    assert_eq!(out.second.rebuilt + out.second.counted, out.views as u64, "{out:?}");
}

/// Five pages over more than five one-minute windows.
const PAGES_TIMES_WINDOWS_AT_LEAST: usize = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_handler_dead_letters_exactly_the_poison_records_with_their_provenance() {
    use std::collections::BTreeSet;
    let Some(cfg) = broker() else { return };
    let out = dlq_handler::run(&cfg).await.expect("dlq run");
    let inputs = dlq_handler::inputs();
    let poison: BTreeSet<&str> = inputs.iter().filter(|(_, p)| *p).map(|(v, _)| v.as_str()).collect();
    let good: BTreeSet<u32> = (0..inputs.len() as u32).filter(|i| !inputs[*i as usize].1).collect();
    assert_eq!(out.handled.keys().copied().collect::<BTreeSet<_>>(), good, "every good order handled");
    assert_eq!(out.handled[&5], 3, "the flaky order succeeded on its third attempt");
    let dead: BTreeSet<&str> = out.dead_letters.iter().map(|d| d.value.as_str()).collect();
    assert_eq!(dead, poison, "exactly the poison records are dead-lettered");
    assert_eq!(out.dead_letters.len(), poison.len(), "each once");
    for d in &out.dead_letters {
        assert_eq!(d.original_topic, out.topic);
        assert_eq!((d.original_partition, d.original_offset), out.input_positions[&d.value], "{d:?}");
    }
    let by_value = |needle: &str| out.dead_letters.iter().find(|d| d.value.contains(needle)).unwrap();
    assert!(by_value("not JSON").exception.contains("SerdeError"), "{:?}", by_value("not JSON"));
    assert!(by_value("down-gadget").message.contains("did not answer"));
    assert!(by_value(r#""quantity":0"#).exception.contains("InvalidOrder"));
    assert_eq!(out.metrics.dead_lettered, 4);
    assert_eq!(out.metrics.retries, 2 + u64::from(dlq_handler::ATTEMPTS - 1), "flaky: 2 retries; down: all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_commits_exactly_what_was_handled_and_a_restart_does_the_rest_once() {
    use std::collections::BTreeSet;
    let Some(cfg) = broker() else { return };
    let out = graceful_shutdown::run(&cfg).await.expect("graceful shutdown run");
    let first = &out.first;
    assert_eq!(first.started, first.finished, "no running handler abandoned");
    assert!(first.handled.len() >= graceful_shutdown::JOBS / 3 && first.handled.len() < graceful_shutdown::JOBS);
    for (p, end) in &out.ends {
        // What was committed for the partition is exactly the prefix the first instance handled.
        let done: Vec<i64> = first.handled.iter().filter(|(q, _)| q == p).map(|(_, o)| *o).collect();
        let committed = first.committed_after.get(p).copied().unwrap_or(0);
        assert_eq!(done, (0..committed).collect::<Vec<_>>(), "partition {p}: committed {committed}");
        assert_eq!(out.second.committed_after.get(p), Some(end), "partition {p} committed to its end");
    }
    let all: BTreeSet<(i32, i64)> = out.ends.iter().flat_map(|(p, end)| (0..*end).map(move |o| (*p, o))).collect();
    assert_eq!(all.len(), graceful_shutdown::JOBS);
    assert!(first.handled.is_disjoint(&out.second.handled), "no job done twice");
    let union: BTreeSet<(i32, i64)> = first.handled.union(&out.second.handled).copied().collect();
    assert_eq!(union, all, "every job done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_propagation_keeps_each_orders_trace_across_the_produce_consume_produce_hops() {
    let Some(cfg) = broker() else { return };
    let out = trace_propagation::run(&cfg).await.expect("trace run");
    assert_eq!(out.sent.len(), trace_propagation::TRACED_ORDERS + 1);
    assert_eq!(out.handled.len(), out.sent.len(), "{out:?}");
    assert_eq!(out.shipped.len(), out.sent.len(), "{out:?}");
    let mut trace_ids = std::collections::BTreeSet::new();
    for (id, sent) in &out.sent {
        let (handled, shipped) = (&out.handled[id], &out.shipped[id]);
        assert_eq!(handled.trace_id, shipped.trace_id, "{id}: the shipment continues the handler's trace");
        assert_ne!(handled.span_id, shipped.span_id, "{id}: as a child span");
        assert_eq!(handled.x_trace_id, shipped.x_trace_id, "{id}");
        match sent {
            Some(sent) => {
                assert_eq!(sent.trace_id, handled.trace_id, "{id}: the handler runs in the sender's trace");
                assert_ne!(sent.span_id, handled.span_id, "{id}");
                assert_eq!(shipped.x_trace_id, sent.trace_id, "{id}: X-Trace-Id is the W3C trace id");
            }
            None => assert_eq!(shipped.x_trace_id, trace_propagation::LEGACY_TRACE_ID, "the legacy id is kept"),
        }
        trace_ids.insert(shipped.trace_id.clone());
    }
    assert_eq!(trace_ids.len(), out.sent.len(), "one trace per order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_registry_round_trips_avro_and_json_schema_and_an_unknown_schema_id_is_a_typed_error() {
    use kafkar_serdes::SerdeError;
    let Some(cfg) = broker() else { return };
    let out = schema_registry::run(&cfg).await.expect("schema registry run");
    assert_eq!(out.orders_received, out.orders_sent, "Avro round trip");
    assert_eq!(out.order_subject_latest_id, out.order_schema_id, "registered under <topic>-value");
    assert_eq!(out.first_record_schema_id, Some(out.order_schema_id), "the wire header carries the schema id");
    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    let (offset, error) = &out.failures[0];
    assert_eq!(*offset, out.orders_sent.len() as i64, "the stray record, after the orders");
    assert!(matches!(error, SerdeError::UnknownSchemaId(id) if *id == schema_registry::UNKNOWN_SCHEMA_ID), "{error:?}");
    assert!(out.unknown_id_not_in_registry);
    assert_ne!(out.shipped_schema_id, out.order_schema_id);
    assert_eq!(out.shipped_received, out.shipped_sent, "JSON Schema round trip");
}
