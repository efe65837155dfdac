//! `kafkar-compare`: one Kafka client, one workload, one process, one JSON line.
//!
//! ```text
//! kafkar-compare CLIENT WORKLOAD [--option value]...
//!   CLIENT    kafkar | confluent | rdkafka | krafka | floor (latency only: one Produce per record, raw TCP)
//!   WORKLOAD  produce  (as fast as possible; records/s, CPU and memory)
//!             latency  (open loop at --rate records/s; intended send time → acknowledgement)
//!             consume  (a prefilled topic from earliest, through a KIP-848 group)
//!             e2e      (open loop at --rate records/s, a consumer in the same process; intended send time →
//!                       the consumer's poll returning the record)
//! kafkar-compare create-topic --topic T --partitions N    (with kafkar's admin client; not measured)
//! ```
//!
//! One client per process, so that getrusage (CPU, peak RSS) and the heap counters cover that client alone. The
//! settings are the same for every client and are spelled out in each client's module (see the README).

// Built with only some of the clients (features), some shared helpers have no caller.
#![cfg_attr(
    not(all(feature = "kafkar", feature = "confluent", feature = "rdkafka", feature = "krafka")),
    allow(dead_code)
)]

mod e2e;
mod measure;
pub mod props;
mod report;

#[cfg(feature = "confluent")]
mod confluent_client;
#[cfg(feature = "floor")]
mod floor_client;
#[cfg(feature = "kafkar")]
mod kafkar_client;
#[cfg(feature = "krafka")]
mod krafka_client;
#[cfg(feature = "rdkafka")]
mod rdkafka_client;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use measure::{Acks, MallocSampler, Usage};

#[global_allocator]
static ALLOC: measure::CountingAlloc = measure::COUNTING_ALLOC;

/// A harness error: a message for stderr.
pub type Res<T> = Result<T, String>;

/// Turns any displayable error into the harness's error text, with some context.
pub fn err<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> String {
    move |e| format!("{what}: {e}")
}

/// The values the records carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload {
    /// Random bytes: incompressible.
    Random,
    /// JSON-like text from a small vocabulary: compressible.
    Json,
}

/// Everything one run needs; the same for every client.
#[derive(Clone, Debug)]
pub struct Plan {
    /// bootstrap.servers.
    pub bootstrap: String,
    /// The topic (created beforehand).
    pub topic: String,
    /// Records to send or to read.
    pub records: u64,
    /// Value size in bytes.
    pub size: usize,
    /// none, lz4 or zstd.
    pub compression: String,
    /// The kind of values.
    pub payload: Payload,
    /// Open-loop rate for `latency`.
    pub rate: f64,
    /// linger.ms (5 by default; the latency workload's default is 0).
    pub linger_ms: u64,
    /// batch.size in bytes.
    pub batch_size: usize,
    /// buffer.memory in bytes (librdkafka: see the README for the mapping).
    pub buffer_memory: usize,
    /// max.in.flight.requests.per.connection.
    pub in_flight: usize,
    /// The consumer group (consume).
    pub group: String,
    /// Partitions (create-topic).
    pub partitions: i32,
    /// Give up after this long.
    pub timeout: Duration,
    /// The name the result line carries (the driver's workload name; default: the workload).
    pub label: String,
    /// With N > 0, record `i` goes to partition `i % N`, named explicitly (`--round-robin N`); 0: no partition
    /// given, the client's own partitioner picks (sticky for records without a key in all four).
    pub round_robin: u32,
}

impl Plan {
    /// Values to send: 1024 distinct ones of `size` bytes, record `i` carries `values[i % 1024]`.
    pub fn values(&self) -> Vec<Vec<u8>> {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        (0..1024)
            .map(|n| match self.payload {
                Payload::Random => (0..self.size)
                    .map(|_| {
                        seed = xorshift(seed);
                        (seed >> 24) as u8
                    })
                    .collect(),
                Payload::Json => json_like(self.size, n, &mut seed),
            })
            .collect()
    }
}

/// The partition record `i` is sent to explicitly with `--round-robin N` (`i % N`), or `None` (the client picks).
pub fn partition_of(round_robin: u32, i: u64) -> Option<i32> {
    (round_robin > 0).then(|| (i % u64::from(round_robin)) as i32)
}

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// An event-like JSON object of exactly `size` bytes (cut short, then closed with `}`), from a small vocabulary.
fn json_like(size: usize, n: usize, seed: &mut u64) -> Vec<u8> {
    const EVENTS: [&str; 4] = ["page_view", "add_to_cart", "checkout", "search"];
    const PAGES: [&str; 5] = ["/", "/products", "/products/detail", "/cart", "/account/orders"];
    let mut s = String::with_capacity(size + 128);
    s.push('{');
    let mut field = 0u32;
    while s.len() + 1 < size {
        *seed = xorshift(*seed);
        let r = *seed;
        let part = match field % 6 {
            0 => format!("\"id\":{},", 1_000_000 + n as u64 * 7 + (r % 97)),
            1 => format!("\"user\":\"user-{:05}\",", r % 5000),
            2 => format!("\"event\":\"{}\",", EVENTS[(r % 4) as usize]),
            3 => format!("\"ts\":{},", 1_765_000_000_000u64 + (r % 1_000_000)),
            4 => format!("\"path\":\"{}\",", PAGES[(r % 5) as usize]),
            _ => format!("\"ok\":{},\"ms\":{},", r % 7 != 0, r % 900),
        };
        s.push_str(&part);
        field += 1;
    }
    let mut v = s.into_bytes();
    v.truncate(size.saturating_sub(1));
    if size > 0 {
        v.push(b'}');
    }
    v
}

/// A producer back-end, driven the same way for every client.
pub trait ProduceClient {
    /// Sends one record and waits for its acknowledgement (metadata, producer id): not counted.
    fn warm_up(&mut self) -> Res<()>;
    /// Sends records `from..to` (record `i` carries value `i % 1024`); each acknowledgement goes to the `Acks`.
    fn send(&mut self, from: u64, to: u64) -> Res<()>;
    /// Sends one record with the given value, to `partition` when given (the e2e workload: a value per record).
    /// A back-end without it cannot run e2e.
    fn send_value(&mut self, i: u64, partition: Option<i32>, value: Vec<u8>) -> Res<()> {
        let _ = (i, partition, value);
        Err("this client has no e2e producer".into())
    }
    /// Waits until every record sent has its outcome.
    fn flush(&mut self) -> Res<()>;
    /// Closes the client.
    fn close(self: Box<Self>) -> Res<()>;
}

/// A consumer back-end.
pub trait ConsumeClient {
    /// Subscribes to the plan's topic.
    fn subscribe(&mut self) -> Res<()>;
    /// Whatever records are ready (waiting up to about 100 ms for some): (records, value bytes).
    fn poll(&mut self) -> Res<(u64, u64)>;
    /// As `poll`, handing each record's value (empty when null) to `on_value` as the harness gets it: records.
    /// A back-end without it cannot run e2e.
    fn poll_values(&mut self, on_value: &mut dyn FnMut(&[u8])) -> Res<u64> {
        let _ = on_value;
        Err("this client has no e2e consumer".into())
    }
    /// Leaves the group and closes.
    fn close(self: Box<Self>) -> Res<()>;
}

/// A multi-thread Tokio runtime with the default worker count (one per core), for the async clients.
pub fn runtime() -> Res<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(err("tokio runtime"))
}

/// Runs `send(i)` for every record index in `from..to`, in order, inside the async client's runtime (entered once).
pub fn send_all<F: std::future::Future<Output = Res<()>>>(
    rt: &tokio::runtime::Runtime,
    from: u64,
    to: u64,
    mut send: impl FnMut(u64) -> F,
) -> Res<()> {
    rt.block_on(async {
        for i in from..to {
            send(i).await?;
        }
        Ok(())
    })
}

fn producer(client: &str, plan: &Plan, acks: std::sync::Arc<Acks>) -> Res<Box<dyn ProduceClient>> {
    let _ = (plan, &acks);
    match client {
        #[cfg(feature = "kafkar")]
        "kafkar" => kafkar_client::producer(plan, acks),
        #[cfg(feature = "confluent")]
        "confluent" => confluent_client::producer(plan, acks),
        #[cfg(feature = "rdkafka")]
        "rdkafka" => rdkafka_client::producer(plan, acks),
        #[cfg(feature = "krafka")]
        "krafka" => krafka_client::producer(plan, acks),
        #[cfg(feature = "floor")]
        "floor" => floor_client::producer(plan, acks),
        other => Err(format!("unknown client (or built without it): {other}")),
    }
}

fn consumer(client: &str, plan: &Plan) -> Res<Box<dyn ConsumeClient>> {
    let _ = plan;
    match client {
        #[cfg(feature = "kafkar")]
        "kafkar" => kafkar_client::consumer(plan),
        #[cfg(feature = "confluent")]
        "confluent" => confluent_client::consumer(plan),
        #[cfg(feature = "rdkafka")]
        "rdkafka" => rdkafka_client::consumer(plan),
        #[cfg(feature = "krafka")]
        "krafka" => krafka_client::consumer(plan),
        other => Err(format!("unknown client (or built without it): {other}")),
    }
}

/// One result line, its fields in order.
struct Line(Vec<String>);

impl Line {
    fn str(&mut self, k: &str, v: &str) {
        self.0.push(format!("\"{k}\":\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")));
    }
    fn num(&mut self, k: &str, v: f64) {
        if v.is_finite() {
            self.0.push(format!("\"{k}\":{v:.4}"));
        } else {
            self.0.push(format!("\"{k}\":null"));
        }
    }
    fn int(&mut self, k: &str, v: u64) {
        self.0.push(format!("\"{k}\":{v}"));
    }
    fn print(self) {
        println!("{{{}}}", self.0.join(","));
    }
}

fn header(client: &str, workload: &str, plan: &Plan) -> Line {
    let mut l = Line(Vec::new());
    l.str("client", client);
    l.str("workload", workload);
    l.str("label", if plan.label.is_empty() { workload } else { &plan.label });
    l.str("topic", &plan.topic);
    l.int("value_size", plan.size as u64);
    l.str("compression", &plan.compression);
    l.str("payload", if plan.payload == Payload::Random { "random" } else { "json" });
    l.int("linger_ms", plan.linger_ms);
    if plan.round_robin > 0 {
        l.int("round_robin_partitions", u64::from(plan.round_robin));
    }
    l
}

fn finish(mut l: Line, records: u64, cpu: f64, before: &Usage, malloc: MallocSampler) {
    let after = Usage::now();
    l.num("cpu_s", cpu);
    l.num("cpu_s_per_1m", if records > 0 { cpu * 1e6 / records as f64 } else { f64::NAN });
    l.num("process_cpu_user_s", after.user);
    l.num("process_cpu_sys_s", after.sys);
    l.num("peak_rss_mb", after.max_rss_kb as f64 / 1024.0);
    l.num("peak_rust_heap_mb", measure::heap_peak() as f64 / 1048576.0);
    l.num("peak_malloc_mb", malloc.finish() as f64 / 1048576.0);
    let _ = before;
    l.print();
}

fn run_produce(client: &str, workload: &str, plan: &Plan) -> Res<()> {
    if client == "floor" && workload != "latency" {
        return Err("the floor is a latency workload only (one request per record)".into());
    }
    let malloc = MallocSampler::start();
    let rate = (workload == "latency").then_some(plan.rate);
    let acks = Acks::new(plan.records, rate);
    let mut p = producer(client, plan, acks.clone())?;
    p.warm_up()?;
    let before = Usage::now();
    let start = acks.start();
    match rate {
        None => p.send(0, plan.records)?,
        Some(rate) => paced(&acks, start, rate, plan.records, |from, to| p.send(from, to))?,
    }
    p.flush()?;
    // Up to the last acknowledgement, not to the flush's return: clients wake from flush with different delays.
    let secs = acks.last_outcome().as_secs_f64();
    let cpu = Usage::now().cpu_since(&before);
    p.close()?;
    let ok = acks.ok.load(std::sync::atomic::Ordering::Relaxed);
    let failed = acks.failed.load(std::sync::atomic::Ordering::Relaxed);
    let mut l = header(client, workload, plan);
    l.int("records", ok);
    l.int("failed", failed);
    l.num("seconds", secs);
    l.num("records_per_sec", ok as f64 / secs);
    l.num("mb_per_sec", ok as f64 * plan.size as f64 / secs / 1e6);
    if let Some(rate) = rate {
        let lat = acks.sorted_latencies();
        l.num("rate", rate);
        l.num("p50_ms", measure::percentile_ms(&lat, 0.5));
        l.num("p99_ms", measure::percentile_ms(&lat, 0.99));
        l.num("p99_9_ms", measure::percentile_ms(&lat, 0.999));
        l.num("max_ms", measure::percentile_ms(&lat, 1.0));
    }
    if let Ok(Some(e)) = acks.first_error.lock().map(|e| e.clone()) {
        l.str("first_error", &e);
    }
    finish(l, ok, cpu, &before, malloc);
    if failed > 0 || ok < plan.records {
        return Err(format!("{failed} records failed, {} acknowledged of {}", ok, plan.records));
    }
    Ok(())
}

/// The open-loop schedule: record `i` is due at `start + i / rate`; sleeps until the next one is due, then hands
/// `send` everything due by then (`from..to`).
fn paced(acks: &Acks, start: Instant, rate: f64, records: u64, mut send: impl FnMut(u64, u64) -> Res<()>) -> Res<()> {
    let mut next = 0u64;
    while next < records {
        if let Some(due) = acks.due(next) {
            measure::sleep_until(due);
        }
        // Everything due by now goes out at once: the schedule does not wait for a slow client.
        let due_now = (start.elapsed().as_secs_f64() * rate) as u64 + 1;
        let upto = due_now.clamp(next + 1, records);
        send(next, upto)?;
        next = upto;
    }
    Ok(())
}

fn run_consume(client: &str, plan: &Plan) -> Res<()> {
    let malloc = MallocSampler::start();
    let mut c = consumer(client, plan)?;
    let before = Usage::now();
    let t0 = Instant::now();
    c.subscribe()?;
    let mut records = 0u64;
    let mut bytes = 0u64;
    let mut first: Option<(Duration, Instant)> = None;
    while records < plan.records {
        if t0.elapsed() > plan.timeout {
            return Err(format!("timed out with {records} of {} records", plan.records));
        }
        let (n, b) = c.poll()?;
        if n > 0 && first.is_none() {
            first = Some((t0.elapsed(), Instant::now()));
        }
        records += n;
        bytes += b;
    }
    let end = Instant::now();
    let cpu = Usage::now().cpu_since(&before);
    c.close()?;
    let (to_first, first_at) = first.unwrap_or((Duration::ZERO, end));
    let secs = (end - first_at).as_secs_f64();
    let mut l = header(client, "consume", plan);
    l.int("records", records);
    l.int("bytes", bytes);
    l.num("first_record_ms", to_first.as_secs_f64() * 1000.0);
    l.num("seconds", secs);
    l.num("records_per_sec", records as f64 / secs);
    l.num("mb_per_sec", bytes as f64 / secs / 1e6);
    finish(l, records, cpu, &before, malloc);
    Ok(())
}

#[cfg(feature = "kafkar")]
fn create_topic(plan: &Plan) -> Res<()> {
    let rt = runtime()?;
    rt.block_on(async {
        let admin = kafkar::Admin::new(kafkar::AdminConfig::new(&plan.bootstrap)).await.map_err(err("admin"))?;
        admin.create_topic(&plan.topic, plan.partitions, 1, &[]).await.map_err(err("create topic"))?;
        // Metadata names a new partition's leader before the broker has made its log, and a Produce there is
        // refused (and retried after a backoff) until it has: with 1,000 partitions, seconds of a run would measure
        // topic creation, not the client. Every partition answers ListOffsets (retried until it does) first.
        let wanted: Vec<_> = (0..plan.partitions)
            .map(|partition| {
                let tp = kafkar::consumer::TopicPartition { topic: plan.topic.clone(), partition };
                (tp, kafkar::admin::OffsetSpec::Latest)
            })
            .collect();
        let listed = admin
            .list_offsets(&wanted, kafkar::consumer::IsolationLevel::ReadUncommitted)
            .await
            .map_err(err("list offsets of the new topic"))?;
        if let Some((tp, Err(e))) = listed.iter().find(|(_, r)| r.is_err()) {
            return Err(format!("partition {} of the new topic is not ready: {e}", tp.partition));
        }
        Ok(())
    })
}

#[cfg(feature = "kafkar")]
fn delete_topic(plan: &Plan) -> Res<()> {
    let rt = runtime()?;
    rt.block_on(async {
        let admin = kafkar::Admin::new(kafkar::AdminConfig::new(&plan.bootstrap)).await.map_err(err("admin"))?;
        admin.delete_topic(&plan.topic).await.map_err(err("delete topic"))?;
        Ok(())
    })
}

#[cfg(not(feature = "kafkar"))]
fn create_topic(_: &Plan) -> Res<()> {
    Err("create-topic needs the kafkar feature".into())
}

#[cfg(not(feature = "kafkar"))]
fn delete_topic(_: &Plan) -> Res<()> {
    Err("delete-topic needs the kafkar feature".into())
}

const USAGE: &str = "usage: kafkar-compare CLIENT WORKLOAD [options]
       kafkar-compare create-topic|delete-topic --topic T [--partitions N]
       kafkar-compare report RESULTS.jsonl   (markdown tables of the result lines)
  CLIENT: kafkar | confluent | rdkafka | krafka | floor (latency only)    WORKLOAD: produce | latency | consume | e2e
  --bootstrap HOST:PORT (KAFKA_BOOTSTRAP, else 127.0.0.1:9092)  --topic NAME  --records N (1000000)
  --size BYTES (100)  --compression none|lz4|zstd (none)  --payload random|json (random)
  --rate RECORDS_PER_SEC (latency: 10000)  --linger-ms MS (5; latency: 0)  --batch-size BYTES (1048576)
  --buffer-memory BYTES (67108864)  --in-flight N (5)  --group NAME (consume)  --partitions N (create-topic: 6)
  --timeout-secs S (120)  --label NAME (the result line's name for the workload)
  --round-robin N (produce, latency: record i to partition i mod N, named explicitly; default: the client's
  partitioner)  e2e: --rate (5000), --partitions N (the topic's, 6), linger 0, --size at least 16";

fn parse(args: &[String]) -> Res<(String, String, Plan)> {
    let (client, workload, rest) = match args {
        [cmd, rest @ ..] if cmd == "create-topic" || cmd == "delete-topic" => ("kafkar".to_owned(), cmd.clone(), rest),
        [client, workload, rest @ ..] => (client.clone(), workload.clone(), rest),
        _ => return Err(USAGE.into()),
    };
    let mut plan = Plan {
        bootstrap: std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into()),
        topic: String::new(),
        records: 1_000_000,
        size: 100,
        compression: "none".into(),
        payload: Payload::Random,
        rate: if workload == "e2e" { 5_000.0 } else { 10_000.0 },
        linger_ms: if workload == "latency" || workload == "e2e" { 0 } else { 5 },
        batch_size: 1 << 20,
        buffer_memory: 64 << 20,
        in_flight: 5,
        group: String::new(),
        partitions: 6,
        timeout: Duration::from_secs(120),
        label: String::new(),
        round_robin: 0,
    };
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let v = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let num = |v: &str| v.parse::<u64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--bootstrap" => plan.bootstrap = v.clone(),
            "--topic" => plan.topic = v.clone(),
            "--records" => plan.records = num(v)?,
            "--size" => plan.size = num(v)? as usize,
            "--compression" => match v.as_str() {
                "none" | "lz4" | "zstd" => plan.compression = v.clone(),
                _ => return Err(format!("--compression: none, lz4 or zstd, not {v}")),
            },
            "--payload" => {
                plan.payload = match v.as_str() {
                    "random" => Payload::Random,
                    "json" => Payload::Json,
                    _ => return Err(format!("--payload: random or json, not {v}")),
                }
            }
            "--rate" => plan.rate = num(v)?.max(1) as f64,
            "--linger-ms" => plan.linger_ms = num(v)?,
            "--batch-size" => plan.batch_size = num(v)? as usize,
            "--buffer-memory" => plan.buffer_memory = num(v)? as usize,
            "--in-flight" => plan.in_flight = num(v)?.max(1) as usize,
            "--group" => plan.group = v.clone(),
            "--partitions" => plan.partitions = num(v)?.max(1) as i32,
            "--timeout-secs" => plan.timeout = Duration::from_secs(num(v)?),
            "--label" => plan.label = v.clone(),
            "--round-robin" => plan.round_robin = u32::try_from(num(v)?).map_err(|_| format!("--round-robin: {v}"))?,
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    if plan.topic.is_empty() {
        return Err(format!("--topic is required\n{USAGE}"));
    }
    if plan.group.is_empty() {
        plan.group = format!("{}-{client}-group", plan.topic);
    }
    Ok((client, workload, plan))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [cmd, file] = args.as_slice()
        && cmd == "report"
    {
        return match std::fs::read_to_string(file).map_err(err("read")).and_then(|t| report::render(&t)) {
            Ok(md) => {
                print!("{md}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("kafkar-compare: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let result = parse(&args).and_then(|(client, workload, plan)| match workload.as_str() {
        "create-topic" => create_topic(&plan),
        "delete-topic" => delete_topic(&plan),
        "produce" | "latency" => run_produce(&client, &workload, &plan),
        "consume" => run_consume(&client, &plan),
        "e2e" => e2e::run(&client, &plan),
        other => Err(format!("unknown workload {other}\n{USAGE}")),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kafkar-compare: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_have_the_asked_size_and_kind() {
        let (_, _, mut plan) = parse(&["kafkar".into(), "produce".into(), "--topic".into(), "t".into()]).unwrap();
        plan.size = 300;
        let random = plan.values();
        assert_eq!(random.len(), 1024);
        assert!(random.iter().all(|v| v.len() == 300));
        assert_ne!(random[0], random[1]);
        plan.payload = Payload::Json;
        let json = plan.values();
        assert!(json.iter().all(|v| v.len() == 300 && v[0] == b'{' && v[299] == b'}'));
    }

    #[test]
    fn latency_defaults_to_linger_zero() {
        let (_, _, plan) = parse(&["rdkafka".into(), "latency".into(), "--topic".into(), "t".into()]).unwrap();
        assert_eq!(plan.linger_ms, 0);
        assert_eq!(plan.rate, 10_000.0);
        assert!(parse(&["rdkafka".into(), "produce".into()]).is_err());
    }

    #[test]
    fn round_robin_names_every_partition_in_turn() {
        let args = |w: &str, extra: &[&str]| -> Vec<String> {
            [&["krafka", w, "--topic", "t"][..], extra].concat().into_iter().map(String::from).collect()
        };
        let (_, _, plan) = parse(&args("produce", &["--round-robin", "1000"])).unwrap();
        assert_eq!(plan.round_robin, 1000);
        assert_eq!(partition_of(plan.round_robin, 0), Some(0));
        assert_eq!(partition_of(plan.round_robin, 1999), Some(999));
        assert_eq!(partition_of(0, 5), None);
        assert!(parse(&args("produce", &["--round-robin", "5000000000"])).is_err());
        let (_, _, e2e) = parse(&args("e2e", &[])).unwrap();
        assert_eq!((e2e.rate, e2e.linger_ms, e2e.round_robin), (5_000.0, 0, 0));
    }
}
