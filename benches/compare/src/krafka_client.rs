//! krafka: `Producer::enqueue` (returns once the record is buffered; its pipelining path, not the waiting
//! `send`) with the delivery handles awaited by one collector task in enqueue order (throughput) or by a task per
//! record (latency, so that no acknowledgement waits behind another); `Consumer::poll` through a KIP-848 group.
//! The same settings as the other clients, through krafka's builders.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use krafka::consumer::{AutoOffsetReset, Consumer, GroupProtocol};
use krafka::producer::{Acks as KAcks, DeliveryHandle, Producer};
use krafka::{Compression, Kafka, Record};
use tokio::sync::mpsc;

use crate::measure::{Acks, WARM_UP};
use crate::props::max_request_size;
use crate::{ConsumeClient, Plan, ProduceClient, Res, err};

async fn connect(plan: &Plan) -> Res<Kafka> {
    Kafka::builder(plan.bootstrap.clone())
        .client_id("kafkar-compare")
        .max_in_flight_requests(plan.in_flight)
        .connect()
        .await
        .map_err(err("krafka connect"))
}

struct KrafkaProducer {
    rt: tokio::runtime::Runtime,
    producer: Producer,
    topic: String,
    values: Vec<Bytes>,
    acks: Arc<Acks>,
    /// Throughput: the collector of delivery handles. Latency (`None`): a task per handle.
    collector: Option<mpsc::UnboundedSender<(u64, DeliveryHandle)>>,
    sent: Arc<AtomicU64>,
    round_robin: u32,
}

/// A krafka producer for the plan.
pub fn producer(plan: &Plan, acks: Arc<Acks>) -> Res<Box<dyn ProduceClient>> {
    let compression = match plan.compression.as_str() {
        "lz4" => Compression::Lz4,
        "zstd" => Compression::Zstd,
        _ => Compression::None,
    };
    let rt = crate::runtime()?;
    let producer = rt.block_on(async {
        connect(plan)
            .await?
            .producer()
            .acks(KAcks::All)
            .idempotent(true)
            .linger(Duration::from_millis(plan.linger_ms))
            .batch_size(plan.batch_size)
            .buffer_memory(plan.buffer_memory)
            .max_request_size(max_request_size(plan))
            .compression(compression)
            .build()
            .await
            .map_err(err("krafka producer"))
    })?;
    let collector = (!acks.paced()).then(|| {
        let (tx, mut rx) = mpsc::unbounded_channel::<(u64, DeliveryHandle)>();
        let acks = acks.clone();
        rt.spawn(async move {
            while let Some((i, handle)) = rx.recv().await {
                acks.record(i, handle.await.err().map(|e| e.to_string()));
            }
        });
        tx
    });
    Ok(Box::new(KrafkaProducer {
        rt,
        producer,
        topic: plan.topic.clone(),
        values: plan.values().into_iter().map(Bytes::from).collect(),
        acks,
        collector,
        sent: Arc::new(AtomicU64::new(0)),
        round_robin: plan.round_robin,
    }))
}

impl KrafkaProducer {
    async fn enqueue(&self, i: u64) -> Res<DeliveryHandle> {
        let value = self.values[(i % self.values.len() as u64) as usize].clone();
        self.enqueue_value(crate::partition_of(self.round_robin, i), value).await
    }

    async fn enqueue_value(&self, partition: Option<i32>, value: Bytes) -> Res<DeliveryHandle> {
        let mut record = Record::new(self.topic.clone(), value);
        if let Some(p) = partition {
            record = record.partition(p);
        }
        self.producer.enqueue(record).await.map_err(err("krafka enqueue"))
    }

    /// Hands a delivery handle to the collector (throughput) or to a task of its own (paced).
    fn track(&self, i: u64, handle: DeliveryHandle) -> Res<()> {
        // Warm-up records are never counted as done: `flush` must not wait for them.
        if i != WARM_UP {
            self.sent.fetch_add(1, Ordering::Relaxed);
        }
        match &self.collector {
            Some(tx) => tx.send((i, handle)).map_err(|_| "krafka: the collector stopped".to_owned()),
            None => {
                let acks = self.acks.clone();
                tokio::spawn(async move { acks.record(i, handle.await.err().map(|e| e.to_string())) });
                Ok(())
            }
        }
    }
}

impl ProduceClient for KrafkaProducer {
    fn warm_up(&mut self) -> Res<()> {
        self.rt.block_on(async {
            let handle = self.enqueue(WARM_UP).await?;
            handle.await.map(drop).map_err(err("krafka warm-up"))
        })
    }

    fn send(&mut self, from: u64, to: u64) -> Res<()> {
        self.rt.block_on(async {
            for i in from..to {
                let handle = self.enqueue(i).await?;
                self.track(i, handle)?;
            }
            Ok(())
        })
    }

    fn send_value(&mut self, i: u64, partition: Option<i32>, value: Vec<u8>) -> Res<()> {
        self.rt.block_on(async {
            let handle = self.enqueue_value(partition, Bytes::from(value)).await?;
            self.track(i, handle)
        })
    }

    fn flush(&mut self) -> Res<()> {
        self.rt.block_on(async {
            self.producer.flush().await.map_err(err("krafka flush"))?;
            // The handles are resolved; wait for their tasks to have counted them.
            while self.acks.done() < self.sent.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok(())
        })
    }

    fn close(self: Box<Self>) -> Res<()> {
        self.rt.block_on(self.producer.close()).map_err(err("krafka close"))
    }
}

struct KrafkaConsumer {
    rt: tokio::runtime::Runtime,
    consumer: Consumer,
    topic: String,
}

/// A krafka consumer in the plan's group.
pub fn consumer(plan: &Plan) -> Res<Box<dyn ConsumeClient>> {
    let rt = crate::runtime()?;
    let consumer = rt.block_on(async {
        connect(plan)
            .await?
            .consumer(plan.group.clone())
            .group_protocol(GroupProtocol::Consumer)
            .auto_offset_reset(AutoOffsetReset::Earliest)
            .enable_auto_commit(false)
            .fetch_min_bytes(1)
            .fetch_max_bytes(50 << 20)
            .max_partition_fetch_bytes(1 << 20)
            .fetch_max_wait(Duration::from_millis(500))
            .max_poll_records(500)
            .build()
            .await
            .map_err(err("krafka consumer"))
    })?;
    Ok(Box::new(KrafkaConsumer { rt, consumer, topic: plan.topic.clone() }))
}

impl ConsumeClient for KrafkaConsumer {
    fn subscribe(&mut self) -> Res<()> {
        self.rt.block_on(self.consumer.subscribe([self.topic.as_str()])).map_err(err("krafka subscribe"))
    }

    fn poll(&mut self) -> Res<(u64, u64)> {
        let records = self.rt.block_on(self.consumer.poll(Duration::from_millis(100))).map_err(err("krafka poll"))?;
        let bytes = records.iter().map(|r| r.value.as_ref().map_or(0, |v| v.len()) as u64).sum();
        Ok((records.len() as u64, bytes))
    }

    fn poll_values(&mut self, on_value: &mut dyn FnMut(&[u8])) -> Res<u64> {
        let records = self.rt.block_on(self.consumer.poll(Duration::from_millis(100))).map_err(err("krafka poll"))?;
        for r in &records {
            on_value(r.value.as_deref().unwrap_or_default());
        }
        Ok(records.len() as u64)
    }

    fn close(self: Box<Self>) -> Res<()> {
        self.rt.block_on(self.consumer.close()).map_err(err("krafka close"))
    }
}
