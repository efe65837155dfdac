//! The connection driver against the fake broker: pipelining, and the faults a real broker cannot be made to
//! produce (mid-request disconnects, malformed replies, wrong correlation ids, replies that never come).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafkar::__private::Connection;
use kafkar::protocol::ApiKey;
use kafkar::protocol::messages::api_versions::{ApiVersion, ApiVersionsRequest, ApiVersionsResponse};
use kafkar::protocol::{ErrorCode, messages::Encode};
use kafkar::{ClientConfig, ErrorKind};
use support::{Action, FakeBroker};

fn config(addr: &str) -> ClientConfig {
    let mut c = ClientConfig::new(addr);
    c.request_timeout = Duration::from_millis(800);
    c.connect_timeout = Duration::from_secs(2);
    c
}

/// A handler that answers the handshake normally and hands every later request to `then`.
fn after_handshake(then: impl Fn(usize) -> Action + Send + Sync + 'static) -> impl Fn(&support::Received) -> Action {
    let n = Arc::new(AtomicUsize::new(0));
    move |_r| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        if i == 0 { Action::Default } else { then(i) }
    }
}

#[tokio::test]
async fn pipelined_requests_get_their_own_replies_in_order() {
    // Each reply carries the request's sequence number as its throttle time, so a mix-up shows.
    let fake = FakeBroker::start(after_handshake(|i| {
        let resp = ApiVersionsResponse { throttle_time_ms: i as i32, ..Default::default() };
        support::reply::<ApiVersionsRequest>(&resp, 3)
    }))
    .await;
    let conn = Connection::connect(&fake.bootstrap(), &config(&fake.bootstrap())).await.unwrap();
    let replies = concurrently(&conn, 200).await;
    let mut seen: Vec<i32> = replies.into_iter().map(|r| r.unwrap().throttle_time_ms).collect();
    assert_eq!(seen.len(), 200);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 200, "every request got a distinct reply");
    // All 200 went out on the one connection.
    assert_eq!(fake.received().iter().filter(|r| r.connection == 0).count(), 201);
}

#[tokio::test]
async fn disconnect_with_five_in_flight_fails_all_five_with_a_retriable_error() {
    let fake = FakeBroker::start(after_handshake(|i| if i < 5 { Action::Ignore } else { Action::Close })).await;
    let conn = Connection::connect(&fake.bootstrap(), &config(&fake.bootstrap())).await.unwrap();
    let results = concurrently(&conn, 5).await;
    for r in results {
        let e = r.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Disconnected(_)), "{e}");
        assert!(e.is_retriable(), "{e}");
    }
    assert!(conn.is_closed());
    // A request after the close fails at once instead of hanging.
    let t = Instant::now();
    assert!(conn.send_at(&ApiVersionsRequest::default(), 3).await.is_err());
    assert!(t.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn malformed_reply_is_a_decode_error() {
    let fake = FakeBroker::start(after_handshake(|_| {
        let mut b = BytesMut::new();
        b.put_i16(0);
        b.put_u8(200); // compact array count of 199 with nothing behind it
        Action::Reply(b)
    }))
    .await;
    let conn = Connection::connect(&fake.bootstrap(), &config(&fake.bootstrap())).await.unwrap();
    let e = conn.send_at(&ApiVersionsRequest::default(), 3).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Decode(_)), "{e}");
    assert!(!e.is_retriable());
}

#[tokio::test]
async fn wrong_correlation_id_closes_the_connection() {
    let fake = FakeBroker::start(after_handshake(|_| {
        let mut f = BytesMut::new();
        f.put_i32(4 + 2 + 1 + 4 + 1);
        f.put_i32(12345); // not the id sent
        f.put_i16(0);
        f.put_u8(1);
        f.put_i32(0);
        f.put_u8(0);
        Action::Raw(f.freeze())
    }))
    .await;
    let conn = Connection::connect(&fake.bootstrap(), &config(&fake.bootstrap())).await.unwrap();
    let e = conn.send_at(&ApiVersionsRequest::default(), 3).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Protocol(_)), "{e}");
    assert!(conn.is_closed());
}

#[tokio::test]
async fn oversized_frame_is_refused_without_allocating_it() {
    let fake = FakeBroker::start(after_handshake(|_| Action::Raw(Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff])))).await;
    let conn = Connection::connect(&fake.bootstrap(), &config(&fake.bootstrap())).await.unwrap();
    let e = conn.send_at(&ApiVersionsRequest::default(), 3).await.unwrap_err();
    let ErrorKind::Disconnected(cause) = e.kind() else { panic!("{e}") };
    assert!(matches!(cause.kind(), ErrorKind::Protocol(_)), "{e}");
}

#[tokio::test]
async fn reply_that_never_comes_times_out_and_closes() {
    let fake = FakeBroker::start(after_handshake(|_| Action::Ignore)).await;
    let conn = Connection::connect(&fake.bootstrap(), &config(&fake.bootstrap())).await.unwrap();
    let t = Instant::now();
    let e = conn.send_at(&ApiVersionsRequest::default(), 3).await.unwrap_err();
    let elapsed = t.elapsed();
    assert!(e.is_retriable(), "{e}");
    let timed_out = match e.kind() {
        ErrorKind::Timeout => true,
        ErrorKind::Disconnected(c) => matches!(c.kind(), ErrorKind::Timeout),
        _ => false,
    };
    assert!(timed_out, "{e}");
    assert!(elapsed >= Duration::from_millis(700) && elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert!(conn.is_closed());
}

#[tokio::test]
async fn unsupported_api_versions_version_falls_back_to_the_brokers() {
    // Answer the first ApiVersions (sent at v4) as an old broker does: a v0 reply with UNSUPPORTED_VERSION.
    let fake = FakeBroker::start(|r| {
        if r.header.api_version > 2 {
            let resp = ApiVersionsResponse {
                error_code: ErrorCode::UNSUPPORTED_VERSION,
                api_keys: vec![ApiVersion {
                    api_key: ApiKey::API_VERSIONS.0,
                    min_version: 0,
                    max_version: 2,
                    ..Default::default()
                }],
                ..Default::default()
            };
            let mut b = BytesMut::new();
            resp.encode(&mut b, 0).unwrap();
            Action::Reply(b)
        } else {
            Action::Default
        }
    })
    .await;
    let conn = Connection::connect(&fake.bootstrap(), &config(&fake.bootstrap())).await.unwrap();
    let versions: Vec<i16> = fake.received_api(ApiKey::API_VERSIONS).iter().map(|r| r.header.api_version).collect();
    assert_eq!(versions, vec![4, 2]);
    assert_eq!(conn.versions().range(ApiKey::API_VERSIONS), Some((0, 5)));
}

#[tokio::test]
async fn a_throttled_connection_holds_its_next_request_until_the_throttle_ends_without_timing_it_out() {
    // KIP-219: the first reply asks for 600 ms of silence; the fake notes when the next request arrives.
    let next_at = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let seen = next_at.clone();
    let fake = FakeBroker::start(after_handshake(move |i| {
        if i == 2 {
            *seen.lock().unwrap() = Some(Instant::now());
        }
        let resp = ApiVersionsResponse { throttle_time_ms: if i == 1 { 600 } else { 0 }, ..Default::default() };
        support::reply::<ApiVersionsRequest>(&resp, 3)
    }))
    .await;
    // A request timeout shorter than the throttle: it must count from the write, not from the call.
    let mut cfg = config(&fake.bootstrap());
    cfg.request_timeout = Duration::from_millis(300);
    let conn = Connection::connect(&fake.bootstrap(), &cfg).await.unwrap();
    let first = conn.send_at(&ApiVersionsRequest::default(), 3).await.unwrap();
    let replied = Instant::now();
    assert_eq!(first.throttle_time_ms, 600);
    let second = conn.send_at(&ApiVersionsRequest::default(), 3).await;
    assert!(second.is_ok(), "a throttle wait never times a request out: {second:?}");
    let arrived = next_at.lock().unwrap().expect("the second request reached the broker");
    assert!(
        arrived.duration_since(replied) >= Duration::from_millis(550),
        "sent {:?} after a 600 ms throttle",
        arrived.duration_since(replied)
    );
}

#[tokio::test]
async fn connect_to_a_closed_port_fails_fast() {
    let t = Instant::now();
    let e = Connection::connect("127.0.0.1:1", &config("127.0.0.1:1")).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Io(_)), "{e}");
    assert!(t.elapsed() < Duration::from_secs(2));
}

/// Sends `n` ApiVersions requests at once from separate tasks and collects the results.
async fn concurrently(conn: &Connection, n: usize) -> Vec<kafkar::Result<ApiVersionsResponse>> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let c = conn.clone();
        set.spawn(async move { c.send_at(&ApiVersionsRequest::default(), 3).await });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.expect("task"));
    }
    out
}
