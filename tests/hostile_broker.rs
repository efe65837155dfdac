//! A hostile broker (the fake broker of tests/support, speaking raw bytes over TCP): oversized and stalled size
//! prefixes, array counts of 2^31-1 in small frames, truncated replies, wrong correlation ids and garbage. Each case
//! must end in a typed [`kafkar::Error`] within the request timeout, without a panic, and with the process's peak
//! allocation while it ran bounded far below what the hostile bytes announce.
//!
//! The peak is measured by a counting global allocator, which is process-wide: the cases therefore run one at a
//! time (each takes [`SERIAL`]), each on its own runtime, and the figure includes the fake broker's own allocations.

mod support;

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafkar::__private::Connection;
use kafkar::protocol::messages::Encode;
use kafkar::protocol::messages::api_versions::ApiVersionsRequest;
use kafkar::protocol::messages::metadata::MetadataRequest;
use kafkar::{ClientConfig, Error, ErrorKind};
use support::{Action, FakeBroker, Received};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Cases run one at a time: the allocation counters are process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

/// Panics seen by the panic hook (a panic inside a spawned driver task would otherwise go unnoticed).
static PANICS: AtomicUsize = AtomicUsize::new(0);

/// The request timeout of every case.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(1000);
/// Scheduling slack on top of a timeout (the machine is shared and busy).
const SLACK: Duration = Duration::from_millis(1500);
const MIB: usize = 1 << 20;
/// The hostile size prefix: 250 MB.
const HOSTILE_SIZE: i32 = 250_000_000;

/// What one case measured. It holds the serial lock until dropped, so that a failed assertion on it (a panic) cannot
/// land inside another case's measurement.
struct Outcome<T> {
    _serial: std::sync::MutexGuard<'static, ()>,
    value: T,
    elapsed: Duration,
    /// Peak bytes allocated above what was allocated when the case started.
    peak: usize,
}

/// Runs `case` alone, on a fresh runtime, measuring its wall time and the peak allocation above the starting point.
fn run_case<T, F: Future<Output = T>>(case: impl FnOnce() -> F) -> Outcome<T> {
    let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    install_panic_counter();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let panics = PANICS.load(Ordering::SeqCst);
    let start = Instant::now();
    let (value, usage) = counting_alloc::measure(|| {
        rt.block_on(async {
            let v = case().await;
            // Let the connection's tasks see the failure and wind down before measuring ends.
            tokio::time::sleep(Duration::from_millis(50)).await;
            v
        })
    });
    let elapsed = start.elapsed();
    drop(rt);
    assert_eq!(PANICS.load(Ordering::SeqCst), panics, "a task panicked during the case");
    Outcome { _serial: serial, value, elapsed, peak: usage.peak }
}

fn install_panic_counter() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

fn config(addr: &str) -> ClientConfig {
    let mut c = ClientConfig::new(addr);
    c.request_timeout = REQUEST_TIMEOUT;
    c.connect_timeout = Duration::from_secs(3);
    c
}

/// A fake broker that completes the handshake and answers every later request with `hostile(request)`.
async fn hostile_after_handshake(hostile: impl Fn(&Received) -> Action + Send + Sync + 'static) -> FakeBroker {
    FakeBroker::start(move |r| {
        if r.header.api_key == kafkar::protocol::ApiKey::API_VERSIONS.0 && is_first(r) {
            Action::Default
        } else {
            hostile(r)
        }
    })
    .await
}

/// The handshake's ApiVersions is the first request on a connection: correlation id 0.
fn is_first(r: &Received) -> bool {
    r.header.correlation_id == 0
}

/// Connects to `fake` (handshake answered properly), sends one ApiVersions v3 request and returns its result.
async fn one_request(fake: &FakeBroker, config: &ClientConfig) -> kafkar::Result<()> {
    let conn = Connection::connect(&fake.bootstrap(), config).await.expect("handshake");
    let r = conn.send_at(&ApiVersionsRequest::default(), 3).await.map(|_| ());
    assert!(r.is_err() || !conn.is_closed());
    r
}

/// The error's own kind, or for a request failed by a dead connection, the kind of what killed it.
fn cause(e: &Error) -> &ErrorKind {
    match e.kind() {
        ErrorKind::Disconnected(c) => cause(c),
        k => k,
    }
}

fn assert_quick<T>(o: &Outcome<T>, what: &str) {
    assert!(o.elapsed < REQUEST_TIMEOUT, "{what}: took {:?}, expected an error before the request timeout", o.elapsed);
}

fn assert_within_timeout<T>(o: &Outcome<T>, what: &str) {
    assert!(o.elapsed < REQUEST_TIMEOUT + SLACK, "{what}: took {:?}", o.elapsed);
}

fn assert_peak_below<T>(o: &Outcome<T>, bound: usize, what: &str) {
    eprintln!("{what}: peak allocation {} KiB, {:?}", o.peak / 1024, o.elapsed);
    assert!(o.peak < bound, "{what}: peak allocation {} bytes, bound {bound}", o.peak);
}

#[test]
fn size_prefix_over_receive_message_max_bytes_fails_at_once_without_reserving_it() {
    let o = run_case(|| async {
        let fake =
            hostile_after_handshake(|_| Action::Sequence(vec![Action::Raw(support::size_prefix(HOSTILE_SIZE))])).await;
        one_request(&fake, &config(&fake.bootstrap())).await
    });
    let e = o.value.as_ref().expect_err("a 250 MB frame over the 100 MB default");
    assert!(matches!(cause(e), ErrorKind::Protocol(m) if m.contains("receive.message.max.bytes")), "{e}");
    assert!(e.is_retriable(), "a dead connection is retriable: {e}");
    assert_quick(&o, "oversized prefix");
    assert_peak_below(&o, 2 * MIB, "oversized prefix");
}

/// The same on the very first reply (the handshake's ApiVersions): the connect fails with the typed error.
#[test]
fn oversized_handshake_reply_fails_the_connect() {
    let o = run_case(|| async {
        let fake = FakeBroker::start(|_| Action::Raw(support::size_prefix(HOSTILE_SIZE))).await;
        Connection::connect(&fake.bootstrap(), &config(&fake.bootstrap())).await.map(|_| ())
    });
    let e = o.value.as_ref().expect_err("a 250 MB handshake reply");
    assert!(matches!(cause(e), ErrorKind::Protocol(m) if m.contains("receive.message.max.bytes")), "{e}");
    assert_quick(&o, "oversized handshake reply");
    assert_peak_below(&o, 2 * MIB, "oversized handshake reply");
}

#[test]
fn size_prefix_within_the_limit_then_a_stall_times_out_without_reserving_it() {
    let o = run_case(|| async {
        let fake = hostile_after_handshake(|_| Action::Raw(support::size_prefix(HOSTILE_SIZE))).await;
        let mut c = config(&fake.bootstrap());
        c.set("receive.message.max.bytes", "300000000").unwrap();
        one_request(&fake, &c).await
    });
    let e = o.value.as_ref().expect_err("a stalled frame");
    assert!(matches!(cause(e), ErrorKind::Timeout), "{e}");
    assert!(o.elapsed >= REQUEST_TIMEOUT, "timed out early: {:?}", o.elapsed);
    assert_within_timeout(&o, "250 MB prefix then stall");
    assert_peak_below(&o, 16 * MIB, "250 MB prefix then stall");
}

/// Eight MiB of the announced 250 MB arrive, then nothing: the read buffer holds what arrived, in steps.
#[test]
fn partial_frame_then_a_stall_allocates_with_the_bytes_received() {
    static BODY: [u8; 8 << 20] = [0x5a; 8 << 20];
    let o = run_case(|| async {
        let fake = hostile_after_handshake(|_| {
            Action::Sequence(vec![
                Action::Raw(support::size_prefix(HOSTILE_SIZE)),
                Action::Raw(Bytes::from_static(&BODY)),
            ])
        })
        .await;
        let mut c = config(&fake.bootstrap());
        c.set("receive.message.max.bytes", "300000000").unwrap();
        one_request(&fake, &c).await
    });
    let e = o.value.as_ref().expect_err("a stalled frame");
    assert!(matches!(cause(e), ErrorKind::Timeout), "{e}");
    assert_within_timeout(&o, "250 MB prefix, 8 MiB, stall");
    // What arrived (8 MiB), grown in at most doubling steps from an 8 MiB first step: well under 48 MiB.
    assert_peak_below(&o, 48 * MIB, "250 MB prefix, 8 MiB, stall");
}

/// Not hostile, large: a 6 MiB reply (a fetch of six partitions at the default `max.partition.fetch.bytes` is about
/// that) is read into one allocation of its size, also when its last bytes come late. Before, the read buffer grew to
/// 4 MiB and then doubled to 8 MiB for it; and a buffer sized to its frame doubled again when less than a read's
/// worth of the frame was missing (12 MiB for 6).
#[test]
fn a_large_reply_is_read_into_one_allocation_of_its_size() {
    use kafkar::protocol::messages::api_versions::ApiVersionsResponse;
    use kafkar::protocol::primitives::RawTaggedField;
    // Built while no other case measures: the allocator's count is process-wide.
    let frame = {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let padding = Bytes::from(vec![0x33u8; 6 * MIB]);
        let body = ApiVersionsResponse {
            unknown_tagged_fields: vec![RawTaggedField { tag: 10, data: padding }],
            ..Default::default()
        };
        let mut encoded = BytesMut::new();
        body.encode(&mut encoded, 3).expect("encode");
        // The first request after the handshake has correlation id 1; ApiVersions replies have a v0 header.
        support::reply_frame(1, false, &encoded)
    };
    let frame_len = frame.len();
    let o = run_case(|| async move {
        // All but its last 1,000 bytes, then those after a pause: the reader waits with less than a read's worth of
        // the frame missing, which must not grow the frame's buffer.
        let cut = frame.len() - 1000;
        let fake = hostile_after_handshake(move |_| {
            Action::Sequence(vec![
                Action::Raw(frame.slice(..cut)),
                Action::Delay(Duration::from_millis(100), Box::new(Action::Raw(frame.slice(cut..)))),
            ])
        })
        .await;
        let c = config(&fake.bootstrap());
        let conn = Connection::connect(&fake.bootstrap(), &c).await.expect("handshake");
        let reply = conn.send_at(&ApiVersionsRequest::default(), 3).await.expect("the large reply");
        reply.unknown_tagged_fields.first().map_or(0, |f| f.data.len())
    });
    assert_eq!(o.value, 6 * MIB, "the reply's padding came back whole");
    assert_peak_below(&o, frame_len + frame_len / 8, "a 6 MiB reply");
}

/// A compact array count of 2^31-1 (unsigned varint 2^31) in a frame of a few bytes.
fn compact_count_max() -> [u8; 5] {
    [0x80, 0x80, 0x80, 0x80, 0x08]
}

#[test]
fn api_versions_handshake_reply_with_an_array_count_of_2_31_minus_1_is_a_decode_error() {
    let o = run_case(|| async {
        // ApiVersions v4 (flexible body, v0 response header): error code 0, then api_keys' count.
        let fake = FakeBroker::start(|r| {
            let mut body = BytesMut::new();
            body.put_i16(0);
            body.extend_from_slice(&compact_count_max());
            Action::Raw(support::reply_frame(r.header.correlation_id, false, &body))
        })
        .await;
        Connection::connect(&fake.bootstrap(), &config(&fake.bootstrap())).await.map(|_| ())
    });
    let e = o.value.as_ref().expect_err("hostile handshake");
    assert!(matches!(cause(e), ErrorKind::Decode(_)), "{e}");
    assert_quick(&o, "ApiVersions count 2^31-1");
    assert_peak_below(&o, 2 * MIB, "ApiVersions count 2^31-1");
}

#[test]
fn metadata_reply_with_an_array_count_of_2_31_minus_1_is_a_decode_error() {
    for version in [8i16, 12] {
        let o = run_case(|| async move {
            let fake = hostile_after_handshake(|r| {
                let mut body = BytesMut::new();
                body.put_i32(0); // throttle_time_ms
                if r.header.api_version >= 9 {
                    body.extend_from_slice(&compact_count_max());
                } else {
                    body.put_i32(i32::MAX);
                }
                body.extend_from_slice(&[0; 16]);
                Action::Raw(support::reply_frame(r.header.correlation_id, support::flexible_reply_header(r), &body))
            })
            .await;
            let conn = Connection::connect(&fake.bootstrap(), &config(&fake.bootstrap())).await.expect("handshake");
            conn.send_at(&MetadataRequest::default(), version).await.map(|_| ())
        });
        let e = o.value.as_ref().expect_err("hostile metadata");
        assert!(matches!(cause(e), ErrorKind::Decode(_)), "v{version}: {e}");
        assert_quick(&o, "Metadata count 2^31-1");
        assert_peak_below(&o, 2 * MIB, "Metadata count 2^31-1");
    }
}

/// The same hostile Metadata reply through the cluster layer: a metadata refresh fails with the decode error.
#[test]
fn cluster_refresh_against_a_hostile_metadata_reply_fails_typed() {
    let o = run_case(|| async {
        let fake = hostile_after_handshake(|r| {
            let mut body = BytesMut::new();
            body.put_i32(0);
            if r.header.api_version >= 9 {
                body.extend_from_slice(&compact_count_max());
            } else {
                body.put_i32(i32::MAX);
            }
            Action::Raw(support::reply_frame(r.header.correlation_id, support::flexible_reply_header(r), &body))
        })
        .await;
        let cluster = kafkar::cluster::Cluster::new(config(&fake.bootstrap()), false).expect("cluster");
        let r = cluster.refresh().await.map(|_| ());
        cluster.close();
        r
    });
    let e = o.value.as_ref().expect_err("hostile metadata");
    assert!(matches!(cause(e), ErrorKind::Decode(_)), "{e}");
    assert_within_timeout(&o, "cluster refresh");
    assert_peak_below(&o, 2 * MIB, "cluster refresh");
}

/// A valid ApiVersions v3 reply body (flexible, empty tables).
fn api_versions_v3_body() -> Bytes {
    let mut b = BytesMut::new();
    support::supported_versions().encode(&mut b, 3).expect("encodes");
    b.freeze()
}

#[test]
fn truncated_reply_then_close_is_a_disconnect() {
    let o = run_case(|| async {
        let fake = hostile_after_handshake(|r| {
            let whole = support::reply_frame(r.header.correlation_id, false, &api_versions_v3_body());
            Action::Sequence(vec![Action::Raw(whole.slice(..whole.len() / 2)), Action::Close])
        })
        .await;
        one_request(&fake, &config(&fake.bootstrap())).await
    });
    let e = o.value.as_ref().expect_err("truncated reply");
    assert!(matches!(e.kind(), ErrorKind::Disconnected(_)), "{e}");
    assert!(matches!(cause(e), ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof), "{e}");
    assert_quick(&o, "truncated then close");
    assert_peak_below(&o, 2 * MIB, "truncated then close");
}

#[test]
fn complete_frame_with_a_truncated_body_is_a_decode_error() {
    let o = run_case(|| async {
        let fake = hostile_after_handshake(|r| {
            let body = api_versions_v3_body();
            Action::Raw(support::reply_frame(r.header.correlation_id, false, &body[..body.len() / 2]))
        })
        .await;
        one_request(&fake, &config(&fake.bootstrap())).await
    });
    let e = o.value.as_ref().expect_err("truncated body");
    assert!(matches!(cause(e), ErrorKind::Decode(_)), "{e}");
    assert_quick(&o, "truncated body");
    assert_peak_below(&o, 2 * MIB, "truncated body");
}

#[test]
fn wrong_correlation_id_is_a_protocol_error_and_closes_the_connection() {
    let o = run_case(|| async {
        let fake = hostile_after_handshake(|r| {
            Action::Raw(support::reply_frame(r.header.correlation_id.wrapping_add(7), false, &api_versions_v3_body()))
        })
        .await;
        let conn = Connection::connect(&fake.bootstrap(), &config(&fake.bootstrap())).await.expect("handshake");
        let req = ApiVersionsRequest::default();
        let (a, b) = tokio::join!(conn.send_at(&req, 3), conn.send_at(&req, 3));
        (a.map(|_| ()), b.map(|_| ()), conn.is_closed())
    });
    let (a, b, closed) = &o.value;
    for r in [a, b] {
        let e = r.as_ref().expect_err("wrong correlation id");
        assert!(matches!(cause(e), ErrorKind::Protocol(m) if m.contains("correlation id")), "{e}");
    }
    assert!(closed, "the connection is closed");
    assert_quick(&o, "wrong correlation id");
    assert_peak_below(&o, 2 * MIB, "wrong correlation id");
}

/// A few kinds of garbage instead of a reply; each must end in a typed error within the request timeout.
#[test]
fn garbage_replies_end_in_typed_errors() {
    let mut cases: Vec<(&str, Bytes)> = vec![
        ("http", Bytes::from_static(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")),
        ("tls alert", Bytes::from_static(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])),
        ("negative size", Bytes::from_static(&[0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4])),
        ("size below a header", Bytes::from_static(&[0, 0, 0, 2, 0, 0])),
        ("zero size", Bytes::from_static(&[0, 0, 0, 0])),
    ];
    // Pseudo-random frames with a plausible small size prefix, and raw noise.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..6 {
        let len = 8 + (next() % 200) as usize;
        let mut b = BytesMut::new();
        if i % 2 == 0 {
            b.put_i32(len as i32);
        }
        for _ in 0..len {
            b.put_u8(next() as u8);
        }
        cases.push((if i % 2 == 0 { "random frame" } else { "noise" }, b.freeze()));
    }
    for (what, bytes) in cases {
        let o = run_case(|| async move {
            let fake = hostile_after_handshake(move |_| Action::Raw(bytes.clone())).await;
            one_request(&fake, &config(&fake.bootstrap())).await
        });
        let e = o.value.as_ref().expect_err(what);
        assert!(matches!(cause(e), ErrorKind::Protocol(_) | ErrorKind::Decode(_) | ErrorKind::Timeout), "{what}: {e}");
        assert_within_timeout(&o, what);
        assert_peak_below(&o, 2 * MIB, what);
    }
}

#[test]
fn receive_message_max_bytes_is_librdkafkas_name_default_and_range() {
    let mut c = ClientConfig::new("127.0.0.1:9");
    assert_eq!(c.max_response_size, 100_000_000, "librdkafka's default");
    c.set("receive.message.max.bytes", "52429312").unwrap();
    assert_eq!(c.max_response_size, 52_429_312);
    for bad in ["999", "2147483648", "-1", "lots"] {
        assert!(c.set("receive.message.max.bytes", bad).is_err(), "{bad}");
    }
}
