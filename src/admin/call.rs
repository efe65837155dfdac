//! What every admin operation shares: sending a request to any broker (or one node) at the highest version both
//! sides support, retrying what is retriable until the admin timeout (whole calls with [`Admin::retry`], per item
//! with [`Admin::per_item`]), and turning an item's error code into a typed [`Error`].

use std::collections::BTreeMap;
use std::future::Future;

use kafkar_protocol::messages::Request;
use kafkar_protocol::{ApiKey, ErrorCode};
use tokio::time::Instant;
use tracing::debug;

use super::Admin;
use crate::error::{Error, ErrorKind, Result};
use crate::net::ConnectionClass;

/// The error for a failed item of an admin reply: the broker's code and message, with the API.
pub(crate) fn item_error(code: ErrorCode, message: Option<String>, api: ApiKey) -> Error {
    Error::broker(code).with_api(api).with_message(message)
}

/// `Ok(())` for no error, else the broker error with its API and message.
pub(crate) fn item_result(api: ApiKey, code: ErrorCode, message: Option<String>) -> Result<()> {
    if code.is_ok() { Ok(()) } else { Err(item_error(code, message, api)) }
}

/// Whether an admin request failing with `e` should be sent again: Kafka marks it retriable, or it names a broker
/// role that moved (controller, coordinator, leader).
pub(crate) fn retriable(e: &Error) -> bool {
    e.is_retriable()
        || e.code().is_some_and(|c| {
            c == ErrorCode::NOT_CONTROLLER
                || c == ErrorCode::NOT_COORDINATOR
                || c == ErrorCode::COORDINATOR_NOT_AVAILABLE
                || c == ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
                || crate::consumer::offsets::is_leadership_error(c)
        })
}

/// [`retriable`], except that an unknown topic is final (for operations naming topics that may not exist).
pub(crate) fn retriable_unless_unknown(e: &Error) -> bool {
    retriable(e)
        && e.code() != Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
        && e.code() != Some(ErrorCode::UNKNOWN_TOPIC_ID)
}

/// The error of an operation the admin timeout cut short.
fn deadline_passed(api: ApiKey, timeout: std::time::Duration) -> Error {
    Error::new(ErrorKind::Timeout)
        .with_api(api)
        .with_message(Some(format!("no final answer within the admin timeout ({} ms)", timeout.as_millis())))
}

impl Admin {
    /// Waits `retry.backoff.ms` (never past `deadline`), then refreshes metadata (within `deadline`), before an
    /// attempt is repeated.
    async fn back_off(&self, deadline: Instant) {
        let backoff = self.cluster.config().retry_backoff;
        tokio::time::sleep(backoff.min(deadline.saturating_duration_since(Instant::now()))).await;
        let _ = tokio::time::timeout_at(deadline, self.cluster.refresh()).await;
    }

    /// Runs `op` until it succeeds, fails with an error that is not [`retriable`], or the admin timeout passes (an
    /// attempt still waiting then is cut short, and the call fails with the last retriable error, or
    /// [`ErrorKind::Timeout`] when there was none; a retriable error with no time left for another attempt is
    /// returned as it is); between attempts `retry.backoff.ms` and a metadata refresh. The error names `api`.
    pub(crate) async fn retry<T, F, Fut>(&self, api: ApiKey, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let deadline = self.deadline();
        let backoff = self.cluster.config().retry_backoff;
        let mut last = None;
        loop {
            match tokio::time::timeout_at(deadline, op()).await {
                // Cut short: the last retriable error says more than the timeout, when there was one.
                Err(_) => return Err(last.unwrap_or_else(|| deadline_passed(api, self.timeout))),
                // Another attempt only when it can start before the deadline; else the error is the answer.
                Ok(Err(e)) if retriable(&e) && Instant::now() + backoff < deadline => {
                    debug!(?api, error = %e, "admin request retried");
                    last = Some(e.with_api(api));
                    self.back_off(deadline).await;
                }
                Ok(Err(e)) => return Err(e.with_api(api)),
                Ok(Ok(v)) => return Ok(v),
            }
        }
    }

    /// Runs `round` on the items still pending until each has a result that is final (success, or an error that
    /// `retry_if` refuses), or the deadline passes (retriable errors left are then the items' results; a round
    /// still waiting is cut short and its items fail with their last retriable error, or [`ErrorKind::Timeout`]
    /// when they had none). A round that fails as a whole is
    /// retried when `retry_if` allows, else returned. Between rounds: `retry.backoff.ms` and a metadata refresh.
    pub(crate) async fn per_item<K, T, F, Fut>(
        &self,
        api: ApiKey,
        items: Vec<K>,
        retry_if: fn(&Error) -> bool,
        mut round: F,
    ) -> Result<BTreeMap<K, Result<T>>>
    where
        K: Ord + Clone + std::fmt::Debug,
        F: FnMut(Vec<K>) -> Fut,
        Fut: Future<Output = Result<Vec<(K, Result<T>)>>>,
    {
        let deadline = self.deadline();
        let mut done = BTreeMap::new();
        // Each pending item's last retriable error: its result if the deadline cuts the next round short.
        let mut last: BTreeMap<K, Error> = BTreeMap::new();
        let mut pending = items;
        let backoff = self.cluster.config().retry_backoff;
        while !pending.is_empty() {
            // No time for another round after this one: its retriable errors are the items' results.
            let last_chance = Instant::now() + backoff >= deadline;
            let mut retry = Vec::new();
            let answer = match tokio::time::timeout_at(deadline, round(pending.clone())).await {
                Ok(answer) => answer,
                Err(_) => {
                    for k in pending {
                        let e = last.remove(&k).unwrap_or_else(|| deadline_passed(api, self.timeout));
                        done.insert(k, Err(e));
                    }
                    break;
                }
            };
            match answer {
                Ok(results) => {
                    for (k, r) in results {
                        if !pending.contains(&k) {
                            continue;
                        }
                        match r {
                            Err(e) if retry_if(&e) && !last_chance => {
                                last.insert(k.clone(), e);
                                retry.push(k);
                            }
                            r => {
                                done.insert(k, r);
                            }
                        }
                    }
                    for k in pending {
                        if !done.contains_key(&k) && !retry.contains(&k) {
                            if last_chance {
                                let e = Error::protocol(format!("the {api:?} reply left out {k:?}")).with_api(api);
                                done.insert(k, Err(e));
                            } else {
                                retry.push(k);
                            }
                        }
                    }
                }
                Err(e) if retry_if(&e) && !last_chance => {
                    last.extend(pending.iter().map(|k| (k.clone(), e.clone().with_api(api))));
                    retry = pending;
                }
                Err(e) => return Err(e.with_api(api)),
            }
            if retry.is_empty() {
                break;
            }
            debug!(?api, items = retry.len(), "admin operation retried");
            self.back_off(deadline).await;
            pending = retry;
        }
        Ok(done)
    }

    /// [`Admin::per_item`] for operations that ask about one item at a time (each at its own coordinator): `one`
    /// runs for every pending item in turn.
    pub(crate) async fn per_key<T, F, Fut>(
        &self,
        api: ApiKey,
        keys: &[&str],
        one: F,
    ) -> Result<BTreeMap<String, Result<T>>>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        let one = &one;
        self.per_item(api, keys, retriable, |pending: Vec<String>| async move {
            let mut out = Vec::with_capacity(pending.len());
            for k in pending {
                out.push((k.clone(), one(k).await));
            }
            Ok(out)
        })
        .await
    }

    /// Sends `req` once to any broker (Kafka 4.x brokers forward controller requests themselves).
    pub(crate) async fn send_any<R: Request>(&self, req: &R) -> Result<R::Response> {
        let conn = self.cluster.pool().any().await?;
        let version = conn.versions().pick::<R>()?;
        conn.send_at(req, version).await
    }

    /// Sends `req` once to node `id`.
    pub(crate) async fn send_node<R: Request>(&self, id: i32, req: &R) -> Result<R::Response> {
        let conn = self.cluster.pool().node_for(ConnectionClass::Control, id).await?;
        let version = conn.versions().pick::<R>()?;
        conn.send_at(req, version).await.map_err(|e| e.with_broker(id))
    }

    /// Sends `req` to any broker with retries; a top-level error code (read by `top`) fails the call, and is
    /// retried when retriable.
    pub(crate) async fn call_any<R, F>(&self, req: &R, top: F) -> Result<R::Response>
    where
        R: Request,
        F: Fn(&R::Response) -> (ErrorCode, Option<String>),
    {
        self.retry(R::API_KEY, || async {
            let resp = self.send_any(req).await?;
            let (code, message) = top(&resp);
            item_result(R::API_KEY, code, message)?;
            Ok(resp)
        })
        .await
    }

    /// [`Admin::call_any`] for requests whose errors are all per item (none for the request as a whole).
    pub(crate) async fn call_any_per_item<R: Request>(&self, req: &R) -> Result<R::Response> {
        self.call_any(req, |_| (ErrorCode::NONE, None)).await
    }
}
