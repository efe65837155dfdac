//! What every security-and-operations call shares: sending a request to any broker (or one node) at the highest
//! version both sides support, retrying retriable failures until the admin timeout, and turning an item's error
//! code into a typed [`Error`].

use std::future::Future;

use kafkar_protocol::messages::Request;
use kafkar_protocol::{ApiKey, ErrorCode};
use tokio::time::Instant;
use tracing::debug;

use super::Admin;
use crate::error::{Error, Result};
use crate::net::ConnectionClass;

/// `Ok(())` for no error, else the broker error with its API and message.
pub(crate) fn item_result(api: ApiKey, code: ErrorCode, message: Option<String>) -> Result<()> {
    if code.is_ok() { Ok(()) } else { Err(Error::broker(code).with_api(api).with_message(message)) }
}

impl Admin {
    /// Runs `attempt` until it succeeds, fails with a non-retriable error, or the admin timeout would pass; between
    /// attempts, refreshes metadata and waits the retry backoff.
    pub(crate) async fn retrying<T, F, Fut>(&self, api: ApiKey, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let deadline = Instant::now() + self.timeout;
        let backoff = self.cluster.config().retry_backoff;
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let not_controller = e.code() == Some(ErrorCode::NOT_CONTROLLER);
                    if (e.is_retriable() || not_controller) && Instant::now() + backoff < deadline {
                        debug!(api = ?api, error = %e, "admin request retried");
                        let _ = self.cluster.refresh().await;
                        tokio::time::sleep(backoff).await;
                        continue;
                    }
                    return Err(e.with_api(api));
                }
            }
        }
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
        self.retrying(R::API_KEY, || async {
            let resp = self.send_any(req).await?;
            let (code, message) = top(&resp);
            item_result(R::API_KEY, code, message)?;
            Ok(resp)
        })
        .await
    }
}
