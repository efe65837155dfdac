//! Cluster operations: describe the cluster (id, controller, brokers and racks) and a `ping` health check.

use std::time::Duration;

use kafkar_protocol::ApiKey;
use kafkar_protocol::messages::describe_cluster::DescribeClusterRequest;
use tokio::time::Instant;

use super::Admin;
use super::call::item_error;
use crate::error::{Error, ErrorKind, Result};

/// A node of the cluster, in [`ClusterDescription`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeDescription {
    /// The node id.
    pub id: i32,
    /// Its host.
    pub host: String,
    /// Its port.
    pub port: i32,
    /// Its rack, if configured.
    pub rack: Option<String>,
    /// Whether the controller has fenced it (listed only by brokers with DescribeCluster v2).
    pub fenced: bool,
}

/// What [`Admin::describe_cluster`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterDescription {
    /// The cluster id.
    pub cluster_id: String,
    /// The controller id the broker reported; `None` when unknown. In KRaft mode brokers report a broker here (the
    /// requests meant for the controller are forwarded through it), not the quorum's active controller.
    pub controller: Option<i32>,
    /// The brokers, by id.
    pub brokers: Vec<NodeDescription>,
}

impl Admin {
    /// The cluster id, the controller and the live brokers with their racks (DescribeCluster at any broker).
    pub async fn describe_cluster(&self) -> Result<ClusterDescription> {
        self.retry(ApiKey::DESCRIBE_CLUSTER, || self.describe_cluster_once()).await
    }

    async fn describe_cluster_once(&self) -> Result<ClusterDescription> {
        let conn = self.cluster.pool().any().await?;
        let version = conn.versions().pick::<DescribeClusterRequest>()?;
        let req = DescribeClusterRequest { endpoint_type: 1, ..Default::default() };
        let resp = conn.send_at(&req, version).await?;
        if resp.error_code.is_err() {
            return Err(item_error(resp.error_code, resp.error_message, ApiKey::DESCRIBE_CLUSTER));
        }
        let mut brokers: Vec<NodeDescription> = resp
            .brokers
            .into_iter()
            .map(|b| NodeDescription { id: b.broker_id, host: b.host, port: b.port, rack: b.rack, fenced: b.is_fenced })
            .collect();
        brokers.sort_by_key(|b| b.id);
        Ok(ClusterDescription {
            cluster_id: resp.cluster_id,
            controller: (resp.controller_id >= 0).then_some(resp.controller_id),
            brokers,
        })
    }

    /// A health check: succeeds when a broker answers DescribeCluster with at least one live broker within
    /// `deadline` (no retries past it), returning the round trip. Fails with [`ErrorKind::Timeout`] when nothing
    /// answered in time, or with the connection or broker error.
    pub async fn ping(&self, deadline: Duration) -> Result<Duration> {
        let start = Instant::now();
        let d =
            tokio::time::timeout(deadline, self.with_timeout(deadline).describe_cluster()).await.map_err(|_| {
                Error::new(ErrorKind::Timeout)
                    .with_message(Some(format!("no broker answered within {} ms", deadline.as_millis())))
            })??;
        if d.brokers.is_empty() {
            return Err(Error::protocol("the cluster lists no live broker").with_api(ApiKey::DESCRIBE_CLUSTER));
        }
        Ok(start.elapsed())
    }
}
