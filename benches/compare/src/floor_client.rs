//! The TCP floor of the latency workload: no client library, one plain TCP connection to the broker, Produce
//! requests written straight from the harness's sending thread. What a Kafka client could at best achieve at the
//! same rate, on the same broker and cores.
//!
//! A record handed over while fewer than `--in-flight` (5) requests are unanswered goes out at once: a record batch
//! of it (kafkar-protocol's builder; idempotent: the producer id from an InitProducerId sent once, the next sequence
//! of partition 0) in a Produce request (acks=all) to partition 0, written with one `write` call. Records handed
//! over while 5 are out wait, and the reader thread sends them all in one request (up to `--batch-size` bytes of
//! values) as soon as a reply frees a slot: what a linger.ms=0 client does, with no task, channel or wake-up in
//! between. The reader reports each reply's records to the `Acks` as the clients' delivery callbacks do.
//!
//! `--batch-size 1` makes it one request per record (a pure ping-pong): on one connection the broker handles
//! requests one at a time, so that variant falls behind as soon as the broker needs more than 1/rate per request.
//!
//! It sends to partition 0 of the bootstrap broker: the topic's partition 0 must be led by that broker (with one
//! broker, always).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafkar_protocol::compression::Compression;
use kafkar_protocol::header::{RequestHeader, ResponseHeader, request_header_version, response_header_version};
use kafkar_protocol::messages::api_versions::{ApiVersionsRequest, ApiVersionsResponse};
use kafkar_protocol::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use kafkar_protocol::messages::produce::{ProduceRequest, ProduceResponse};
use kafkar_protocol::messages::{Message, Request};
use kafkar_protocol::primitives::{Reader, Uuid};
use kafkar_protocol::records::RecordBatchBuilder;
use kafkar_protocol::{ApiKey, ErrorCode};

use crate::measure::{Acks, WARM_UP};
use crate::{Plan, ProduceClient, Res, err};

/// The client id the floor's requests carry.
const CLIENT_ID: &str = "kafkar-compare-floor";
/// The highest Produce version the floor sends: 12 names the topic (13 would need its id from a Metadata request).
const PRODUCE_MAX: i16 = 12;
/// The Produce timeout, as the clients' request.timeout.ms default.
const PRODUCE_TIMEOUT_MS: i32 = 30_000;

/// Encodes a request frame: size prefix, header, body.
fn frame<R: Request>(req: &R, version: i16, correlation_id: i32) -> Res<Vec<u8>> {
    let mut buf = BytesMut::with_capacity(256);
    buf.extend_from_slice(&[0; 4]);
    let header = RequestHeader {
        api_key: R::API_KEY.0,
        api_version: version,
        correlation_id,
        client_id: Some(CLIENT_ID.to_owned()),
        unknown_tagged_fields: Vec::new(),
    };
    header.encode(&mut buf, request_header_version(R::is_flexible(version))).map_err(err("floor: request header"))?;
    req.encode(&mut buf, version).map_err(err("floor: request body"))?;
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.to_vec())
}

/// Reads one reply frame; its correlation id and body (the response header read).
fn read_reply(stream: &mut TcpStream, api: ApiKey, flexible: bool) -> std::io::Result<(i32, Reader)> {
    let mut size = [0u8; 4];
    stream.read_exact(&mut size)?;
    let size = i32::from_be_bytes(size);
    let len = usize::try_from(size)
        .ok()
        .filter(|&n| (4..=64 << 20).contains(&n))
        .ok_or_else(|| std::io::Error::other(format!("reply frame size {size}")))?;
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    let mut r = Reader::new(Bytes::from(body));
    let header =
        ResponseHeader::decode(&mut r, response_header_version(api, flexible)).map_err(std::io::Error::other)?;
    Ok((header.correlation_id, r))
}

/// One request and its reply, with nothing else in flight (the set-up).
fn call<R: Request>(stream: &mut TcpStream, req: &R, version: i16) -> Res<R::Response> {
    stream.write_all(&frame(req, version, 0)?).map_err(err("floor: write"))?;
    let (_, mut r) = read_reply(stream, R::API_KEY, R::is_flexible(version)).map_err(err("floor: read"))?;
    R::Response::decode_exact(&mut r, version).map_err(err("floor: decode"))
}

/// The highest version of `R` the broker and kafkar-protocol both have, at most `cap`.
fn pick<R: Request>(versions: &ApiVersionsResponse, cap: i16) -> Res<i16> {
    let theirs = versions.find(R::API_KEY).ok_or_else(|| format!("floor: the broker has no {:?}", R::API_KEY))?;
    let v = theirs.max_version.min(R::SPEC.versions.max).min(cap);
    if v < theirs.min_version.max(R::SPEC.versions.min) {
        return Err(format!("floor: no common version of {:?}", R::API_KEY));
    }
    Ok(v)
}

/// The connection's sending side, shared by the harness's sending thread and the reader (which sends what waited
/// for a free slot as soon as a reply frees one).
struct Conn {
    stream: TcpStream,
    /// Records handed over and not sent yet (a slot was not free), in order.
    pending: Vec<u64>,
    /// (correlation id, its records) of the requests written and not answered, oldest first.
    in_flight: VecDeque<(i32, Vec<u64>)>,
    /// The connection failed: every later send fails with this.
    failed: Option<String>,
    /// The outcome of the last warm-up request.
    warm_up: Option<Result<(), String>>,
    max_in_flight: usize,
    /// At most this many records per request (batch.size over the value size, at least 1).
    max_records: usize,
    topic: String,
    values: Arc<Vec<Vec<u8>>>,
    version: i16,
    producer_id: i64,
    producer_epoch: i16,
    /// The next sequence of partition 0.
    sequence: i32,
    correlation_id: i32,
}

impl Conn {
    /// Writes requests for the pending records while slots are free.
    fn send_pending(&mut self) -> Res<()> {
        while !self.pending.is_empty() && self.in_flight.len() < self.max_in_flight {
            let n = self.pending.len().min(self.max_records);
            let records: Vec<u64> = self.pending.drain(..n).collect();
            let now_ms =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
            let size: usize = records.iter().map(|&i| self.value(i).len() + 32).sum();
            let mut batch = RecordBatchBuilder::with_capacity(Compression::None, size + 64).with_producer_state(
                self.producer_id,
                self.producer_epoch,
                self.sequence,
            );
            for &i in &records {
                batch.append(now_ms, None, Some(self.value(i)), &[]).map_err(err("floor: record"))?;
            }
            let batch = batch.build().map_err(err("floor: batch"))?;
            let req = ProduceRequest::single_batch(
                self.version,
                -1,
                PRODUCE_TIMEOUT_MS,
                &self.topic,
                Uuid::ZERO,
                0,
                batch.into_bytes(),
            );
            let id = self.correlation_id;
            let bytes = frame(&req, self.version, id)?;
            self.correlation_id = self.correlation_id.wrapping_add(1) & i32::MAX;
            self.sequence = self.sequence.wrapping_add(n as i32) & i32::MAX;
            self.in_flight.push_back((id, records));
            self.stream.write_all(&bytes).map_err(err("floor: write"))?;
        }
        Ok(())
    }

    fn value(&self, i: u64) -> &[u8] {
        &self.values[(i % self.values.len() as u64) as usize]
    }

    /// Fails the connection: every record waiting or in flight fails with `e`.
    fn fail(&mut self, e: String, acks: &Acks) {
        for i in self.pending.drain(..).chain(self.in_flight.drain(..).flat_map(|(_, r)| r)) {
            acks.record(i, Some(e.clone()));
        }
        self.failed.get_or_insert(e);
    }
}

type Shared = Arc<(Mutex<Conn>, Condvar)>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Conn> {
    shared.0.lock().unwrap_or_else(|p| p.into_inner())
}

struct Floor {
    shared: Shared,
    acks: Arc<Acks>,
    reader: Option<JoinHandle<()>>,
}

/// The floor "client" for the plan (one connection to the bootstrap broker).
pub fn producer(plan: &Plan, acks: Arc<Acks>) -> Res<Box<dyn ProduceClient>> {
    let mut stream = TcpStream::connect(&plan.bootstrap).map_err(err("floor: connect"))?;
    stream.set_nodelay(true).map_err(err("floor: TCP_NODELAY"))?;
    let versions = call(&mut stream, &ApiVersionsRequest::default(), 0)?;
    if versions.error_code.is_err() {
        return Err(format!("floor: ApiVersions: {}", versions.error_code));
    }
    let version = pick::<ProduceRequest>(&versions, PRODUCE_MAX)?;
    let init_version = pick::<InitProducerIdRequest>(&versions, 5)?;
    let init: InitProducerIdResponse = call(&mut stream, &InitProducerIdRequest::idempotent(), init_version)?;
    if init.error_code.is_err() {
        return Err(format!("floor: InitProducerId: {}", init.error_code));
    }
    let read_half = stream.try_clone().map_err(err("floor: socket"))?;
    let conn = Conn {
        stream,
        pending: Vec::new(),
        in_flight: VecDeque::new(),
        failed: None,
        warm_up: None,
        max_in_flight: plan.in_flight,
        max_records: (plan.batch_size / plan.size.max(1)).max(1),
        topic: plan.topic.clone(),
        values: Arc::new(plan.values()),
        version,
        producer_id: init.producer_id,
        producer_epoch: init.producer_epoch,
        sequence: 0,
        correlation_id: 1,
    };
    let shared: Shared = Arc::new((Mutex::new(conn), Condvar::new()));
    let reader = {
        let (shared, acks) = (shared.clone(), acks.clone());
        std::thread::Builder::new()
            .name("floor-reader".into())
            .spawn(move || read_loop(read_half, shared, acks, version))
            .map_err(err("floor: reader thread"))?
    };
    Ok(Box::new(Floor { shared, acks, reader: Some(reader) }))
}

/// Reads replies until the connection closes: each is matched to the oldest request, its records reported to
/// `acks`, and what waited for the freed slot is sent.
fn read_loop(mut stream: TcpStream, shared: Shared, acks: Arc<Acks>, version: i16) {
    let flexible = ProduceRequest::is_flexible(version);
    loop {
        let reply = read_reply(&mut stream, ApiKey::PRODUCE, flexible).map_err(|e| format!("floor: read: {e}"));
        let mut c = lock(&shared);
        let (id, mut r) = match reply {
            Ok(reply) => reply,
            Err(e) => {
                c.fail(e, &acks);
                shared.1.notify_all();
                return;
            }
        };
        let Some((expected, records)) = c.in_flight.pop_front() else {
            c.fail(format!("floor: reply {id} with no request waiting"), &acks);
            shared.1.notify_all();
            return;
        };
        if expected != id {
            for i in records {
                acks.record(i, Some(format!("floor: correlation id {id}, expected {expected}")));
            }
            c.fail("floor: replies out of order".into(), &acks);
            shared.1.notify_all();
            return;
        }
        let outcome = ProduceResponse::decode_exact(&mut r, version)
            .map_err(|e| format!("floor: decode: {e}"))
            .and_then(|resp| match resp.partitions().map(|(_, p)| p.error_code).next() {
                Some(c) if c.is_ok() || c == ErrorCode::DUPLICATE_SEQUENCE_NUMBER => Ok(()),
                Some(c) => Err(format!("floor: produce: {c}")),
                None => Err("floor: the reply names no partition".into()),
            });
        if records == [WARM_UP] {
            c.warm_up = Some(outcome.clone());
        }
        for i in records {
            acks.record(i, outcome.clone().err());
        }
        if let Err(e) = c.send_pending() {
            c.fail(e, &acks);
        }
        shared.1.notify_all();
    }
}

impl ProduceClient for Floor {
    /// Sends one record until the broker takes it: a topic created a moment ago may not have its leader yet.
    fn warm_up(&mut self) -> Res<()> {
        let mut last = String::new();
        for _ in 0..100 {
            let mut c = lock(&self.shared);
            let sequence = c.sequence;
            c.warm_up = None;
            c.pending.push(WARM_UP);
            c.send_pending()?;
            drop(c);
            self.flush()?;
            let mut c = lock(&self.shared);
            match c.warm_up.take() {
                Some(Ok(())) => return Ok(()),
                Some(Err(e)) => last = e,
                None => last = "no reply".into(),
            }
            // Not written: the next request carries the same sequence.
            c.sequence = sequence;
            drop(c);
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("floor: warm-up: {last}"))
    }

    fn send(&mut self, from: u64, to: u64) -> Res<()> {
        let mut c = lock(&self.shared);
        if let Some(e) = &c.failed {
            return Err(e.clone());
        }
        c.pending.extend(from..to);
        if let Err(e) = c.send_pending() {
            c.fail(e.clone(), &self.acks);
            return Err(e);
        }
        Ok(())
    }

    fn flush(&mut self) -> Res<()> {
        let mut c = lock(&self.shared);
        while c.failed.is_none() && !(c.in_flight.is_empty() && c.pending.is_empty()) {
            c = self.shared.1.wait_timeout(c, Duration::from_secs(1)).map_or_else(|p| p.into_inner().0, |(c, _)| c);
        }
        match &c.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn close(mut self: Box<Self>) -> Res<()> {
        let _ = lock(&self.shared).stream.shutdown(std::net::Shutdown::Both);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        Ok(())
    }
}
