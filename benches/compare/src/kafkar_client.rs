//! kafkar: `Producer::send_reported` (the enqueue path reporting to one delivery handler with a per-record tag: no
//! future or closure allocated per record, as librdkafka's delivery report callback) and
//! `Consumer::poll` through a KIP-848 group. Settings by their Java names (`ProducerConfig::from_properties`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafkar::consumer::{Consumer, ConsumerConfig};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};

use crate::measure::{Acks, WARM_UP};
use crate::props::{java_consumer_properties, java_producer_properties};
use crate::{ConsumeClient, Plan, ProduceClient, Res, err};

struct KafkarProducer {
    rt: tokio::runtime::Runtime,
    producer: Producer,
    topic: Arc<str>,
    values: Vec<Bytes>,
    acks: Arc<Acks>,
    round_robin: u32,
}

/// A kafkar producer for the plan.
pub fn producer(plan: &Plan, acks: Arc<Acks>) -> Res<Box<dyn ProduceClient>> {
    let handler_acks = acks.clone();
    let config = ProducerConfig::from_properties(java_producer_properties(plan))
        .map_err(err("kafkar config"))?
        .with_delivery_handler(move |i: u64, r: kafkar::Result<kafkar::producer::RecordMetadata>| {
            handler_acks.record(i, r.err().map(|e| e.to_string()))
        });
    let rt = crate::runtime()?;
    let producer = rt.block_on(Producer::new(config)).map_err(err("kafkar producer"))?;
    Ok(Box::new(KafkarProducer {
        rt,
        producer,
        topic: plan.topic.as_str().into(),
        values: plan.values().into_iter().map(Bytes::from).collect(),
        acks,
        round_robin: plan.round_robin,
    }))
}

impl KafkarProducer {
    async fn send_one(&self, i: u64) -> Res<()> {
        let value = self.values[(i % self.values.len() as u64) as usize].clone();
        self.send_value_to(i, crate::partition_of(self.round_robin, i), value).await
    }

    async fn send_value_to(&self, i: u64, partition: Option<i32>, value: Bytes) -> Res<()> {
        let mut record = ProducerRecord::new(self.topic.clone()).value(value);
        if let Some(p) = partition {
            record = record.partition(p);
        }
        self.producer.send_reported(record, i).await.map_err(err("kafkar send"))
    }
}

impl ProduceClient for KafkarProducer {
    fn warm_up(&mut self) -> Res<()> {
        self.rt.block_on(async {
            self.send_one(WARM_UP).await?;
            self.producer.flush().await;
            Ok(())
        })
    }

    fn send(&mut self, from: u64, to: u64) -> Res<()> {
        crate::send_all(&self.rt, from, to, |i| self.send_one(i))
    }

    fn send_value(&mut self, i: u64, partition: Option<i32>, value: Vec<u8>) -> Res<()> {
        self.rt.block_on(self.send_value_to(i, partition, Bytes::from(value)))
    }

    fn flush(&mut self) -> Res<()> {
        self.rt.block_on(self.producer.flush());
        Ok(())
    }

    fn close(self: Box<Self>) -> Res<()> {
        self.rt.block_on(self.producer.close());
        Ok(())
    }
}

struct KafkarConsumer {
    rt: tokio::runtime::Runtime,
    consumer: Consumer,
    topic: String,
}

/// A kafkar consumer in the plan's group.
pub fn consumer(plan: &Plan) -> Res<Box<dyn ConsumeClient>> {
    let config = ConsumerConfig::from_properties(java_consumer_properties(plan)).map_err(err("kafkar config"))?;
    let rt = crate::runtime()?;
    let consumer = rt.block_on(Consumer::new(config)).map_err(err("kafkar consumer"))?;
    Ok(Box::new(KafkarConsumer { rt, consumer, topic: plan.topic.clone() }))
}

impl ConsumeClient for KafkarConsumer {
    fn subscribe(&mut self) -> Res<()> {
        let _guard = self.rt.enter();
        self.consumer.subscribe([self.topic.clone()]).map_err(err("kafkar subscribe"))
    }

    fn poll(&mut self) -> Res<(u64, u64)> {
        let batch =
            self.rt.block_on(self.consumer.poll(usize::MAX, Duration::from_millis(100))).map_err(err("kafkar poll"))?;
        let bytes = batch.iter().map(|r| r.value.as_ref().map_or(0, |v| v.len()) as u64).sum();
        Ok((batch.len() as u64, bytes))
    }

    fn poll_values(&mut self, on_value: &mut dyn FnMut(&[u8])) -> Res<u64> {
        let batch =
            self.rt.block_on(self.consumer.poll(usize::MAX, Duration::from_millis(100))).map_err(err("kafkar poll"))?;
        for r in &batch {
            on_value(r.value.as_deref().unwrap_or_default());
        }
        Ok(batch.len() as u64)
    }

    fn close(self: Box<Self>) -> Res<()> {
        let KafkarConsumer { rt, consumer, .. } = *self;
        rt.block_on(consumer.close()).map_err(err("kafkar close"))
    }
}
