//! rust-rdkafka (librdkafka, built from its vendored sources with CMake): `ThreadedProducer` with a delivery
//! callback in the producer context and the record index as the delivery opaque (no allocation per record; its
//! documented fast path, not `FutureProducer`); `BaseConsumer::poll` through a KIP-848 group. librdkafka's own
//! property names (props.rs).

use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, DefaultConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};

use crate::measure::{Acks, WARM_UP};
use crate::props::{rdkafka_consumer_properties, rdkafka_producer_properties};
use crate::{ConsumeClient, Plan, ProduceClient, Res, err};

/// Delivery reports go straight to the counters, on librdkafka's polling thread.
struct Context {
    acks: Arc<Acks>,
}

impl ClientContext for Context {}

impl ProducerContext for Context {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        let i = if index == usize::MAX { WARM_UP } else { index as u64 };
        self.acks.record(i, result.as_ref().err().map(|(e, _)| e.to_string()));
    }
}

fn config(props: Vec<(&'static str, String)>) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in props {
        c.set(k, v);
    }
    c
}

struct RdkafkaProducer {
    producer: ThreadedProducer<Context>,
    topic: String,
    values: Vec<Vec<u8>>,
    round_robin: u32,
}

/// A rust-rdkafka producer for the plan.
pub fn producer(plan: &Plan, acks: Arc<Acks>) -> Res<Box<dyn ProduceClient>> {
    let producer = config(rdkafka_producer_properties(plan))
        .create_with_context(Context { acks })
        .map_err(err("rdkafka producer"))?;
    Ok(Box::new(RdkafkaProducer {
        producer,
        topic: plan.topic.clone(),
        values: plan.values(),
        round_robin: plan.round_robin,
    }))
}

impl RdkafkaProducer {
    fn send_one(&self, i: u64) -> Res<()> {
        let value: &[u8] = &self.values[(i % self.values.len() as u64) as usize];
        self.send_value_to(i, crate::partition_of(self.round_robin, i), value)
    }

    fn send_value_to(&self, i: u64, partition: Option<i32>, value: &[u8]) -> Res<()> {
        let opaque = if i == WARM_UP { usize::MAX } else { i as usize };
        let mut record = BaseRecord::<(), [u8], usize>::with_opaque_to(&self.topic, opaque).payload(value);
        if let Some(p) = partition {
            record = record.partition(p);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                // The queue (queue.buffering.max.*) is full: wait for deliveries to free some, as librdkafka asks.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err((e, _)) => return Err(format!("rdkafka send: {e}")),
            }
        }
    }
}

impl ProduceClient for RdkafkaProducer {
    fn warm_up(&mut self) -> Res<()> {
        self.send_one(WARM_UP)?;
        self.flush()
    }

    fn send(&mut self, from: u64, to: u64) -> Res<()> {
        (from..to).try_for_each(|i| self.send_one(i))
    }

    fn send_value(&mut self, i: u64, partition: Option<i32>, value: Vec<u8>) -> Res<()> {
        self.send_value_to(i, partition, &value)
    }

    fn flush(&mut self) -> Res<()> {
        self.producer.flush(Duration::from_secs(120)).map_err(err("rdkafka flush"))
    }

    fn close(self: Box<Self>) -> Res<()> {
        drop(self);
        Ok(())
    }
}

struct RdkafkaConsumer {
    consumer: BaseConsumer<DefaultConsumerContext>,
    topic: String,
}

/// A rust-rdkafka consumer in the plan's group.
pub fn consumer(plan: &Plan) -> Res<Box<dyn ConsumeClient>> {
    let consumer = config(rdkafka_consumer_properties(plan)).create().map_err(err("rdkafka consumer"))?;
    Ok(Box::new(RdkafkaConsumer { consumer, topic: plan.topic.clone() }))
}

impl RdkafkaConsumer {
    /// librdkafka hands out one message per call: takes what is ready, up to 10,000, waiting only for the first,
    /// each to `each` as it comes. The number taken.
    fn drain(&mut self, mut each: impl FnMut(&BorrowedMessage<'_>)) -> Res<u64> {
        let mut n = 0u64;
        let mut wait = Duration::from_millis(100);
        while n < 10_000 {
            match self.consumer.poll(wait) {
                None => break,
                Some(Ok(m)) => {
                    n += 1;
                    each(&m);
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {}
                Some(Err(e)) => return Err(format!("rdkafka poll: {e}")),
            }
            wait = Duration::ZERO;
        }
        Ok(n)
    }
}

impl ConsumeClient for RdkafkaConsumer {
    fn subscribe(&mut self) -> Res<()> {
        self.consumer.subscribe(&[&self.topic]).map_err(err("rdkafka subscribe"))
    }

    fn poll(&mut self) -> Res<(u64, u64)> {
        let mut bytes = 0u64;
        let n = self.drain(|m| bytes += m.payload_len() as u64)?;
        Ok((n, bytes))
    }

    fn poll_values(&mut self, on_value: &mut dyn FnMut(&[u8])) -> Res<u64> {
        self.drain(|m| on_value(m.payload().unwrap_or_default()))
    }

    fn close(self: Box<Self>) -> Res<()> {
        self.consumer.unsubscribe();
        drop(self);
        Ok(())
    }
}
