//! Every scenario in examples/ run against the real broker (`KAFKA_BOOTSTRAP`), its outcome checked.

use kafkar_examples::Config;

#[path = "../examples/order_saga.rs"]
#[allow(dead_code)]
mod order_saga;

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
