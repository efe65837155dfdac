//! confluent-kafka (Confluent's pure-Rust translation of the Java client): `KafkaProducer<Vec<u8>, Vec<u8>>::send`
//! with byte-slice records (its zero-copy path) and a completion callback, dropping the returned future; the
//! consumer's `poll` through a KIP-848 group (the only group protocol it has). The same Java property names as
//! kafkar.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use confluent_kafka::common::serialization::{ByteArrayDeserializer, ByteArraySerializer};
use confluent_kafka::consumer::{Consumer, ConsumerConfig, KafkaConsumer};
use confluent_kafka::producer::{KafkaProducer, Producer, ProducerConfig, ProducerRecord};

use crate::measure::{Acks, WARM_UP};
use crate::props::{java_consumer_properties, java_producer_properties};
use crate::{ConsumeClient, Plan, ProduceClient, Res, err};

fn map(props: Vec<(&'static str, String)>) -> HashMap<String, String> {
    props.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

struct ConfluentProducer {
    rt: tokio::runtime::Runtime,
    producer: KafkaProducer<Vec<u8>, Vec<u8>>,
    topic: String,
    values: Vec<Vec<u8>>,
    acks: Arc<Acks>,
    round_robin: u32,
}

/// A confluent-kafka producer for the plan.
pub fn producer(plan: &Plan, acks: Arc<Acks>) -> Res<Box<dyn ProduceClient>> {
    let config = ProducerConfig::new(&map(java_producer_properties(plan))).map_err(err("confluent config"))?;
    let rt = crate::runtime()?;
    let producer = {
        let _guard = rt.enter();
        KafkaProducer::new(config, ByteArraySerializer::default(), ByteArraySerializer::default())
            .map_err(err("confluent producer"))?
    };
    Ok(Box::new(ConfluentProducer {
        rt,
        producer,
        topic: plan.topic.clone(),
        values: plan.values(),
        acks,
        round_robin: plan.round_robin,
    }))
}

impl ConfluentProducer {
    async fn send_one(&self, i: u64) -> Res<()> {
        let value: &[u8] = &self.values[(i % self.values.len() as u64) as usize];
        self.send_value_to(i, crate::partition_of(self.round_robin, i), value).await
    }

    async fn send_value_to(&self, i: u64, partition: Option<i32>, value: &[u8]) -> Res<()> {
        let acks = self.acks.clone();
        let callback =
            confluent_kafka::producer::callback::new(move |_, e: Option<&confluent_kafka::common::Error>| {
                acks.record(i, e.map(|e| e.to_string()))
            });
        let record = match partition {
            None => ProducerRecord::<&[u8], &[u8]>::new(self.topic.clone(), Some(value)),
            Some(p) => ProducerRecord::with_partition_key(self.topic.clone(), Some(p), None, Some(value))
                .map_err(err("confluent record"))?,
        };
        // The future resolves with the metadata the callback also gets: not needed.
        let _ = self.producer.send(record, Some(Box::new(callback))).await.map_err(err("confluent send"))?;
        Ok(())
    }
}

impl ProduceClient for ConfluentProducer {
    fn warm_up(&mut self) -> Res<()> {
        self.rt.block_on(async {
            self.send_one(WARM_UP).await?;
            self.producer.flush().await.map_err(err("confluent flush"))
        })
    }

    fn send(&mut self, from: u64, to: u64) -> Res<()> {
        crate::send_all(&self.rt, from, to, |i| self.send_one(i))
    }

    fn send_value(&mut self, i: u64, partition: Option<i32>, value: Vec<u8>) -> Res<()> {
        self.rt.block_on(self.send_value_to(i, partition, &value))
    }

    fn flush(&mut self) -> Res<()> {
        self.rt.block_on(self.producer.flush()).map_err(err("confluent flush"))
    }

    fn close(self: Box<Self>) -> Res<()> {
        self.rt.block_on(self.producer.close()).map_err(err("confluent close"))
    }
}

struct ConfluentConsumer {
    rt: tokio::runtime::Runtime,
    consumer: KafkaConsumer<Vec<u8>, Vec<u8>>,
    topic: String,
}

/// A confluent-kafka consumer in the plan's group.
pub fn consumer(plan: &Plan) -> Res<Box<dyn ConsumeClient>> {
    let config = ConsumerConfig::new(&map(java_consumer_properties(plan))).map_err(err("confluent config"))?;
    let rt = crate::runtime()?;
    let consumer = {
        let _guard = rt.enter();
        KafkaConsumer::new(config, ByteArrayDeserializer::default(), ByteArrayDeserializer::default())
            .map_err(err("confluent consumer"))?
    };
    Ok(Box::new(ConfluentConsumer { rt, consumer, topic: plan.topic.clone() }))
}

impl ConsumeClient for ConfluentConsumer {
    fn subscribe(&mut self) -> Res<()> {
        self.rt
            .block_on(self.consumer.subscribe_with_topics(vec![self.topic.clone()]))
            .map_err(err("confluent subscribe"))
    }

    fn poll(&mut self) -> Res<(u64, u64)> {
        let records =
            self.rt.block_on(self.consumer.poll(Duration::from_millis(100))).map_err(err("confluent poll"))?;
        let bytes = (&records).into_iter().map(|r| r.value().map_or(0, |v| v.len()) as u64).sum();
        Ok((records.count() as u64, bytes))
    }

    fn poll_values(&mut self, on_value: &mut dyn FnMut(&[u8])) -> Res<u64> {
        let records =
            self.rt.block_on(self.consumer.poll(Duration::from_millis(100))).map_err(err("confluent poll"))?;
        let mut n = 0;
        for r in &records {
            on_value(r.value().map_or(&[][..], |v| v.as_slice()));
            n += 1;
        }
        Ok(n)
    }

    fn close(mut self: Box<Self>) -> Res<()> {
        self.rt.block_on(self.consumer.close()).map_err(err("confluent close"))
    }
}
