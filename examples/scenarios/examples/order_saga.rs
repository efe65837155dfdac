//! An order saga: an order service, an inventory service and a payment service talk only through topics, and a
//! saga coordinator drives each order through its steps (reserve stock, then charge the customer), undoing the
//! steps already done when a later one fails (a declined payment releases the reserved stock).
//!
//! ```sh
//! KAFKA_BOOTSTRAP=127.0.0.1:9092 cargo run -p kafkar-examples --example order_saga
//! ```
//!
//! Topics (three partitions, keyed by order id so each order's messages stay in order): `orders` (placed,
//! confirmed, cancelled), `inventory-commands`, `inventory-events`, `payment-commands`, `payment-events`. Every
//! service is a consumer-group member that handles a batch, waits for the records it sent, then commits: at least
//! once, so each service is idempotent per order (a repeated command gets the same answer and changes nothing).
//! Messages are JSON through kafkar-serdes' typed producer and consumer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkar::admin::NewTopic;
use kafkar::{Consumer, Producer};
use kafkar_app::Shutdown;
use kafkar_examples::{Config, Result, create_topics, delete_topics, wait_until};
use kafkar_serdes::{JsonSerde, StringSerde, TypedConsumer, TypedProducer};
use serde::{Deserialize, Serialize};

const PARTITIONS: i32 = 3;

/// A saga step that can be undone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// Stock reserved by the inventory service (undone by releasing it).
    Inventory,
    /// The customer charged by the payment service.
    Payment,
}

/// Every message of the saga, on whichever topic it travels (the `type` field tells them apart).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Message {
    /// Order service → `orders`: a new order.
    OrderPlaced(Order),
    /// Coordinator → `orders`: every step succeeded.
    OrderConfirmed {
        /// The order.
        order_id: String,
    },
    /// Coordinator → `orders`: a step failed and the steps before it were undone.
    OrderCancelled {
        /// The order.
        order_id: String,
        /// The step that failed.
        failed: Step,
        /// Why.
        reason: String,
        /// The steps undone (compensated), in the order they were undone.
        undone: Vec<Step>,
    },
    /// Coordinator → `inventory-commands`.
    ReserveStock {
        /// The order.
        order_id: String,
        /// The item.
        item: String,
        /// How many.
        quantity: u32,
    },
    /// Coordinator → `inventory-commands`: the compensation of [`Message::ReserveStock`].
    ReleaseStock {
        /// The order.
        order_id: String,
    },
    /// Inventory → `inventory-events`.
    StockReserved {
        /// The order.
        order_id: String,
    },
    /// Inventory → `inventory-events`: not enough stock (or no such item).
    StockRejected {
        /// The order.
        order_id: String,
        /// Why.
        reason: String,
    },
    /// Inventory → `inventory-events`: the reservation is gone.
    StockReleased {
        /// The order.
        order_id: String,
    },
    /// Coordinator → `payment-commands`.
    ChargePayment {
        /// The order.
        order_id: String,
        /// Who pays.
        customer: String,
        /// How much, in cents.
        amount: u64,
    },
    /// Payment → `payment-events`.
    PaymentCharged {
        /// The order.
        order_id: String,
    },
    /// Payment → `payment-events`: the customer's balance is too low.
    PaymentDeclined {
        /// The order.
        order_id: String,
        /// Why.
        reason: String,
    },
}

impl Message {
    /// The order the message is about (the record key).
    pub fn order_id(&self) -> &str {
        match self {
            Message::OrderPlaced(o) => &o.order_id,
            Message::OrderConfirmed { order_id }
            | Message::OrderCancelled { order_id, .. }
            | Message::ReserveStock { order_id, .. }
            | Message::ReleaseStock { order_id }
            | Message::StockReserved { order_id }
            | Message::StockRejected { order_id, .. }
            | Message::StockReleased { order_id }
            | Message::ChargePayment { order_id, .. }
            | Message::PaymentCharged { order_id }
            | Message::PaymentDeclined { order_id, .. } => order_id,
        }
    }
}

/// An order as placed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Its id.
    pub order_id: String,
    /// Who orders.
    pub customer: String,
    /// What.
    pub item: String,
    /// How many.
    pub quantity: u32,
    /// The price in cents.
    pub amount: u64,
}

/// How a saga ended, as the order service saw it on the `orders` topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SagaEnd {
    /// Stock reserved and payment charged.
    Completed,
    /// `failed` failed; `undone` lists the earlier steps compensated.
    Compensated {
        /// The step that failed.
        failed: Step,
        /// Why.
        reason: String,
        /// The steps undone.
        undone: Vec<Step>,
    },
}

/// What the saga run left behind.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The orders placed.
    pub orders: Vec<Order>,
    /// How each order's saga ended (by order id).
    pub ends: BTreeMap<String, SagaEnd>,
    /// Stock per item before the run.
    pub initial_stock: BTreeMap<String, u32>,
    /// Stock per item after the run.
    pub final_stock: BTreeMap<String, u32>,
    /// Reservations the inventory service still holds (by order id: quantity).
    pub reservations: BTreeMap<String, u32>,
    /// Customer balances (cents) before the run.
    pub initial_balances: BTreeMap<String, u64>,
    /// Customer balances after the run.
    pub final_balances: BTreeMap<String, u64>,
    /// Charges the payment service made (by order id: cents).
    pub charges: BTreeMap<String, u64>,
}

/// The inventory service's state.
#[derive(Debug, Default)]
struct Inventory {
    stock: BTreeMap<String, u32>,
    /// Order id → (item, quantity) reserved.
    reserved: BTreeMap<String, (String, u32)>,
}

impl Inventory {
    fn handle(&mut self, command: Message, events: &str) -> Vec<(String, Message)> {
        let reply = match command {
            Message::ReserveStock { order_id, item, quantity } => {
                if self.reserved.contains_key(&order_id) {
                    // A repeated command: same answer, no second reservation.
                    Message::StockReserved { order_id }
                } else {
                    match self.stock.get_mut(&item) {
                        Some(left) if *left >= quantity => {
                            *left -= quantity;
                            self.reserved.insert(order_id.clone(), (item, quantity));
                            Message::StockReserved { order_id }
                        }
                        Some(left) => {
                            let reason = format!("{quantity} × {item} wanted, {left} in stock");
                            Message::StockRejected { order_id, reason }
                        }
                        None => Message::StockRejected { order_id, reason: format!("no item {item}") },
                    }
                }
            }
            Message::ReleaseStock { order_id } => {
                if let Some((item, quantity)) = self.reserved.remove(&order_id) {
                    *self.stock.entry(item).or_default() += quantity;
                }
                Message::StockReleased { order_id }
            }
            other => {
                tracing::warn!(message = ?other, "inventory ignores a message that is not its command");
                return Vec::new();
            }
        };
        vec![(events.to_owned(), reply)]
    }
}

/// The payment service's state.
#[derive(Debug, Default)]
struct Payments {
    balances: BTreeMap<String, u64>,
    charges: BTreeMap<String, u64>,
}

impl Payments {
    fn handle(&mut self, command: Message, events: &str) -> Vec<(String, Message)> {
        let Message::ChargePayment { order_id, customer, amount } = command else {
            tracing::warn!(message = ?command, "payment ignores a message that is not its command");
            return Vec::new();
        };
        let reply = if self.charges.contains_key(&order_id) {
            Message::PaymentCharged { order_id }
        } else {
            let balance = self.balances.entry(customer.clone()).or_default();
            if *balance >= amount {
                *balance -= amount;
                self.charges.insert(order_id.clone(), amount);
                Message::PaymentCharged { order_id }
            } else {
                let reason = format!("{customer} has {balance} cents, the order costs {amount}");
                Message::PaymentDeclined { order_id, reason }
            }
        };
        vec![(events.to_owned(), reply)]
    }
}

/// Where a saga stands in the coordinator.
#[derive(Clone, Debug)]
enum SagaState {
    Reserving(Order),
    Charging,
    Compensating { reason: String },
    Done,
}

/// The names of the saga's topics for one run.
#[derive(Clone, Debug)]
struct Topics {
    orders: String,
    inventory_commands: String,
    inventory_events: String,
    payment_commands: String,
    payment_events: String,
}

impl Topics {
    fn new(cfg: &Config) -> Topics {
        Topics {
            orders: cfg.name("saga-orders"),
            inventory_commands: cfg.name("saga-inventory-commands"),
            inventory_events: cfg.name("saga-inventory-events"),
            payment_commands: cfg.name("saga-payment-commands"),
            payment_events: cfg.name("saga-payment-events"),
        }
    }

    fn all(&self) -> Vec<String> {
        vec![
            self.orders.clone(),
            self.inventory_commands.clone(),
            self.inventory_events.clone(),
            self.payment_commands.clone(),
            self.payment_events.clone(),
        ]
    }
}

/// The coordinator: the saga's state machine per order.
#[derive(Debug, Default)]
struct Coordinator {
    sagas: BTreeMap<String, SagaState>,
}

impl Coordinator {
    fn handle(&mut self, message: Message, t: &Topics) -> Vec<(String, Message)> {
        let id = message.order_id().to_owned();
        let state = self.sagas.get(&id).cloned();
        let (next, out) = match (state, message) {
            (None, Message::OrderPlaced(order)) => {
                let cmd =
                    Message::ReserveStock { order_id: id.clone(), item: order.item.clone(), quantity: order.quantity };
                (SagaState::Reserving(order), (t.inventory_commands.clone(), cmd))
            }
            (Some(SagaState::Reserving(order)), Message::StockReserved { .. }) => {
                let cmd = Message::ChargePayment {
                    order_id: id.clone(),
                    customer: order.customer.clone(),
                    amount: order.amount,
                };
                (SagaState::Charging, (t.payment_commands.clone(), cmd))
            }
            (Some(SagaState::Reserving(_)), Message::StockRejected { reason, .. }) => {
                let end =
                    Message::OrderCancelled { order_id: id.clone(), failed: Step::Inventory, reason, undone: vec![] };
                (SagaState::Done, (t.orders.clone(), end))
            }
            (Some(SagaState::Charging), Message::PaymentCharged { .. }) => {
                (SagaState::Done, (t.orders.clone(), Message::OrderConfirmed { order_id: id.clone() }))
            }
            (Some(SagaState::Charging), Message::PaymentDeclined { reason, .. }) => {
                tracing::info!(order = %id, %reason, "payment declined: releasing the reserved stock");
                let cmd = Message::ReleaseStock { order_id: id.clone() };
                (SagaState::Compensating { reason }, (t.inventory_commands.clone(), cmd))
            }
            (Some(SagaState::Compensating { reason }), Message::StockReleased { .. }) => {
                let end = Message::OrderCancelled {
                    order_id: id.clone(),
                    failed: Step::Payment,
                    reason,
                    undone: vec![Step::Inventory],
                };
                (SagaState::Done, (t.orders.clone(), end))
            }
            // Its own confirmations and cancellations on `orders`, and repeated events: nothing to do.
            (state, message) => {
                tracing::debug!(order = %id, ?state, ?message, "no transition");
                return Vec::new();
            }
        };
        self.sagas.insert(id, next);
        vec![out]
    }
}

/// One service: a consumer-group member over `topics` that hands each message to `step` and sends what it
/// returns (topic, message), then commits once the sent records are written. Runs until `shutdown`.
async fn serve(
    cfg: Config,
    group: String,
    topics: Vec<String>,
    shutdown: Shutdown,
    mut step: impl FnMut(Message) -> Vec<(String, Message)> + Send,
) -> Result<()> {
    let consumer = Consumer::new(cfg.consumer_config().with_group_id(group).with_auto_commit(false)).await?;
    let mut consumer = TypedConsumer::<String, Message, _, _>::new(consumer, StringSerde, JsonSerde::new());
    consumer.inner_mut().subscribe(topics)?;
    let producer = Producer::new(cfg.producer_config()).await?;
    let producer = TypedProducer::new(producer, StringSerde, JsonSerde::<Message>::new());
    while !shutdown.is_triggered() {
        let batch = consumer.poll(200, Duration::from_millis(100)).await?;
        if batch.is_empty() {
            continue;
        }
        let mut sent = Vec::new();
        for record in batch {
            match record {
                Ok(r) => {
                    for (topic, message) in step(r.value) {
                        sent.push(producer.send(&topic, Some(message.order_id()), Some(&message), Vec::new()).await?);
                    }
                }
                Err(bad) => tracing::warn!(error = %bad, "skipped a record that is not a saga message"),
            }
        }
        for delivery in sent {
            delivery.await?;
        }
        consumer.inner_mut().commit().await?;
    }
    consumer.into_inner().close().await?;
    producer.inner().close().await;
    Ok(())
}

fn catalogue() -> (BTreeMap<String, u32>, BTreeMap<String, u64>, Vec<Order>) {
    let stock = BTreeMap::from([("widget".to_owned(), 10), ("gadget".to_owned(), 4), ("gizmo".to_owned(), 50)]);
    let balances = BTreeMap::from([("alice".to_owned(), 100_000), ("bob".to_owned(), 30_000), ("carol".to_owned(), 0)]);
    let price = |item: &str| match item {
        "widget" => 2_500,
        "gadget" => 12_000,
        _ => 500,
    };
    let lines = [
        ("alice", "widget", 3),
        ("bob", "gadget", 2),
        ("carol", "widget", 1),  // carol cannot pay: the reservation is released
        ("alice", "gizmo", 100), // more than in stock: rejected, nothing to undo
        ("bob", "widget", 4),
        ("alice", "gadget", 3), // competes with bob's gadgets: 4 in stock
        ("bob", "gizmo", 10),
        ("carol", "gizmo", 2),
        ("alice", "widget", 2),
        ("bob", "gadget", 1),
        ("alice", "gizmo", 20),
        ("bob", "widget", 5),
    ];
    let orders = lines
        .iter()
        .enumerate()
        .map(|(i, (customer, item, quantity))| Order {
            order_id: format!("order-{i:02}"),
            customer: (*customer).to_owned(),
            item: (*item).to_owned(),
            quantity: *quantity,
            amount: price(item) * u64::from(*quantity),
        })
        .collect();
    (stock, balances, orders)
}

/// Runs the saga for a dozen orders and returns where everything ended.
pub async fn run(cfg: &Config) -> Result<Outcome> {
    let admin = cfg.admin().await?;
    let topics = Topics::new(cfg);
    let new: Vec<NewTopic> = topics.all().into_iter().map(|t| NewTopic::new(t, PARTITIONS, 1)).collect();
    create_topics(&admin, &new).await?;

    let (initial_stock, initial_balances, orders) = catalogue();
    let inventory = Arc::new(Mutex::new(Inventory { stock: initial_stock.clone(), ..Inventory::default() }));
    let payments = Arc::new(Mutex::new(Payments { balances: initial_balances.clone(), ..Payments::default() }));
    let ends = Arc::new(Mutex::new(BTreeMap::new()));
    let shutdown = Shutdown::new();
    let mut services = Vec::new();
    let spawn = |name: &str, input: Vec<String>, step: Box<dyn FnMut(Message) -> Vec<(String, Message)> + Send>| {
        tokio::spawn(serve(cfg.clone(), cfg.name(name), input, shutdown.clone(), step))
    };
    {
        let (inv, events) = (inventory.clone(), topics.inventory_events.clone());
        services.push(spawn(
            "saga-inventory",
            vec![topics.inventory_commands.clone()],
            Box::new(move |m| inv.lock().unwrap_or_else(|p| p.into_inner()).handle(m, &events)),
        ));
        let (pay, events) = (payments.clone(), topics.payment_events.clone());
        services.push(spawn(
            "saga-payment",
            vec![topics.payment_commands.clone()],
            Box::new(move |m| pay.lock().unwrap_or_else(|p| p.into_inner()).handle(m, &events)),
        ));
        let mut coordinator = Coordinator::default();
        let t = topics.clone();
        services.push(spawn(
            "saga-coordinator",
            vec![topics.orders.clone(), topics.inventory_events.clone(), topics.payment_events.clone()],
            Box::new(move |m| coordinator.handle(m, &t)),
        ));
        // The order service's view: how each of its orders ended.
        let ends = ends.clone();
        services.push(spawn(
            "saga-order-view",
            vec![topics.orders.clone()],
            Box::new(move |m| {
                let mut ends = ends.lock().unwrap_or_else(|p| p.into_inner());
                match m {
                    Message::OrderConfirmed { order_id } => {
                        ends.insert(order_id, SagaEnd::Completed);
                    }
                    Message::OrderCancelled { order_id, failed, reason, undone } => {
                        ends.insert(order_id, SagaEnd::Compensated { failed, reason, undone });
                    }
                    _ => {}
                }
                Vec::new()
            }),
        ));
    }

    // The order service places the orders.
    let producer = TypedProducer::new(Producer::new(cfg.producer_config()).await?, StringSerde, JsonSerde::new());
    for order in &orders {
        let placed = Message::OrderPlaced(order.clone());
        producer.send(&topics.orders, Some(order.order_id.as_str()), Some(&placed), Vec::new()).await?.await?;
    }
    producer.inner().close().await;
    tracing::info!(orders = orders.len(), "orders placed");

    let all_ended = wait_until("every saga ends", cfg.timeout, || {
        ends.lock().unwrap_or_else(|p| p.into_inner()).len() >= orders.len() || services.iter().any(|s| s.is_finished())
    })
    .await;
    shutdown.trigger();
    for service in services {
        service.await??;
    }
    all_ended?;
    delete_topics(&admin, &topics.all()).await;

    let inventory = std::mem::take(&mut *inventory.lock().unwrap_or_else(|p| p.into_inner()));
    let payments = std::mem::take(&mut *payments.lock().unwrap_or_else(|p| p.into_inner()));
    let ends = std::mem::take(&mut *ends.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(Outcome {
        orders,
        ends,
        initial_stock,
        final_stock: inventory.stock,
        reservations: inventory.reserved.into_iter().map(|(order, (_, quantity))| (order, quantity)).collect(),
        initial_balances,
        final_balances: payments.balances,
        charges: payments.charges,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    kafkar_examples::init_logging();
    let outcome = run(&Config::from_env()).await?;
    for order in &outcome.orders {
        let end = outcome.ends.get(&order.order_id);
        println!("{} {} × {} for {}: {end:?}", order.order_id, order.quantity, order.item, order.customer);
    }
    println!("stock {:?} → {:?}", outcome.initial_stock, outcome.final_stock);
    println!("balances {:?} → {:?}", outcome.initial_balances, outcome.final_balances);
    Ok(())
}
