//! Transactions (KIP-664): list them (ListTransactions at every broker), describe them (DescribeTransactions at each
//! transactional id's coordinator), abort one left hanging on a partition (WriteTxnMarkers at the partition's
//! leader), and fence producers (InitProducerId at the coordinator, which bumps the epoch and aborts what the old
//! producer left open).

use std::collections::BTreeMap;
use std::time::Duration;

use kafkar_protocol::ApiKey;
use kafkar_protocol::messages::describe_transactions::{DescribeTransactionsRequest, DescribedTransactionState};
use kafkar_protocol::messages::init_producer_id::InitProducerIdRequest;
use kafkar_protocol::messages::list_transactions::{ListTransactionsRequest, ListedTransactionState};
use kafkar_protocol::messages::write_txn_markers::{WritableTxnMarker, WritableTxnMarkerTopic, WriteTxnMarkersRequest};

use super::Admin;
use super::call::{item_error, item_result};
use crate::error::{Error, ErrorKind, Result};
use crate::net::ConnectionClass;
use crate::producer::ProducerIdAndEpoch;
use crate::producer::transaction::TxnCoordinator;

/// What [`Admin::abort_transaction`] aborts: a transaction left open on a partition (a "hanging" transaction,
/// KIP-664), as `kafka-transactions.sh find-hanging` and DescribeProducers report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbortTransactionSpec {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The producer id of the open transaction.
    pub producer_id: i64,
    /// Its producer epoch.
    pub producer_epoch: i16,
    /// The coordinator epoch the partition last saw for that producer.
    pub coordinator_epoch: i32,
}

/// Which transactions [`Admin::list_transactions_matching`] lists (empty fields: no filter).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListTransactionsFilter {
    /// Only transactions in these states (`Ongoing`, `PrepareCommit`, `PrepareAbort`, `CompleteCommit`,
    /// `CompleteAbort`, `Empty`, `Dead`, `PrepareEpochFence`).
    pub states: Vec<String>,
    /// Only transactions of these producer ids.
    pub producer_ids: Vec<i64>,
    /// Only transactions running for longer than this (ListTransactions v1+).
    pub running_longer_than: Option<Duration>,
    /// Only transactional ids matching this regular expression (RE2/J syntax; ListTransactions v2+, KIP-1152).
    pub transactional_id_pattern: Option<String>,
}

/// The transaction timeout a fencing InitProducerId asks for: nothing is ever written with the new epoch.
const FENCING_TRANSACTION_TIMEOUT_MS: i32 = 1;

impl Admin {
    /// Every transaction the cluster's transaction coordinators know, optionally only those in `states`
    /// (`Ongoing`, `PrepareCommit`, `CompleteAbort`, ...): [`Admin::list_transactions_matching`] with states only.
    pub async fn list_transactions(&self, states: &[&str]) -> Result<Vec<ListedTransactionState>> {
        let filter =
            ListTransactionsFilter { states: states.iter().map(|s| (*s).to_owned()).collect(), ..Default::default() };
        self.list_transactions_matching(&filter).await
    }

    /// The transactions matching `filter` (as Java's `ListTransactionsOptions`): ListTransactions to every broker,
    /// each answering for the transactional ids it coordinates (each retried until the admin timeout). A filter
    /// a broker cannot apply (a duration before ListTransactions v1, a pattern before v2) fails the call rather
    /// than listing more than was asked.
    pub async fn list_transactions_matching(
        &self,
        filter: &ListTransactionsFilter,
    ) -> Result<Vec<ListedTransactionState>> {
        let snapshot = self.cluster.refresh().await?;
        let mut ids: Vec<i32> = snapshot.brokers.keys().copied().collect();
        ids.sort_unstable();
        let req = ListTransactionsRequest {
            state_filters: filter.states.clone(),
            producer_id_filters: filter.producer_ids.clone(),
            duration_filter: filter.running_longer_than.map_or(-1, |d| d.as_millis().min(i64::MAX as u128) as i64),
            transactional_id_pattern: filter.transactional_id_pattern.clone(),
            ..Default::default()
        };
        let mut out = Vec::new();
        for id in ids {
            let resp = self
                .retry(ApiKey::LIST_TRANSACTIONS, || async {
                    let conn = self.cluster.pool().node_for(ConnectionClass::Control, id).await?;
                    let version = conn.versions().pick::<ListTransactionsRequest>()?;
                    let unsupported = (version < 1 && filter.running_longer_than.is_some())
                        || (version < 2 && filter.transactional_id_pattern.is_some());
                    if unsupported {
                        return Err(Error::new(ErrorKind::UnsupportedVersion {
                            api: ApiKey::LIST_TRANSACTIONS,
                            broker: conn.versions().range(ApiKey::LIST_TRANSACTIONS),
                        })
                        .with_broker(id)
                        .with_message(Some("the broker cannot apply this transaction filter".into())));
                    }
                    let resp = conn.send_at(&req, version).await.map_err(|e| e.with_broker(id))?;
                    item_result(ApiKey::LIST_TRANSACTIONS, resp.error_code, None).map_err(|e| e.with_broker(id))?;
                    Ok(resp)
                })
                .await?;
            out.extend(resp.transaction_states);
        }
        Ok(out)
    }

    /// The state of each of `transactional_ids`' transactions, from its transaction coordinator; one result per
    /// id (an unknown one: TRANSACTIONAL_ID_NOT_FOUND). A coordinator that moved or is loading is retried.
    pub async fn describe_transactions(
        &self,
        transactional_ids: &[&str],
    ) -> Result<BTreeMap<String, Result<DescribedTransactionState>>> {
        self.per_key(ApiKey::DESCRIBE_TRANSACTIONS, transactional_ids, |id| async move {
            self.describe_transaction_once(&id).await
        })
        .await
    }

    /// The state of `transactional_id`'s transaction: [`Admin::describe_transactions`] for one id.
    pub async fn describe_transaction(&self, transactional_id: &str) -> Result<DescribedTransactionState> {
        let mut all = self.describe_transactions(&[transactional_id]).await?;
        all.remove(transactional_id).unwrap_or_else(|| {
            Err(Error::protocol("DescribeTransactions reply left out the transactional id")
                .with_api(ApiKey::DESCRIBE_TRANSACTIONS))
        })
    }

    async fn describe_transaction_once(&self, transactional_id: &str) -> Result<DescribedTransactionState> {
        let conn = TxnCoordinator::new(self.cluster.clone(), transactional_id.to_owned()).get().await?;
        let version = conn.versions().pick::<DescribeTransactionsRequest>()?;
        let req =
            DescribeTransactionsRequest { transactional_ids: vec![transactional_id.to_owned()], ..Default::default() };
        let resp = conn.send_at(&req, version).await?;
        let state = resp
            .transaction_states
            .into_iter()
            .find(|t| t.transactional_id == transactional_id)
            .ok_or_else(|| Error::protocol("DescribeTransactions reply left out the transactional id"))?;
        item_result(ApiKey::DESCRIBE_TRANSACTIONS, state.error_code, None)?;
        Ok(state)
    }

    /// Fences the producers of `transactional_ids` (as Java's `fenceProducers`): InitProducerId at each id's
    /// coordinator bumps the producer epoch, so a producer still using the old epoch fails with a fatal fencing
    /// error, and a transaction it left open is aborted. One result per id: the new producer id and epoch.
    pub async fn fence_producers(
        &self,
        transactional_ids: &[&str],
    ) -> Result<BTreeMap<String, Result<ProducerIdAndEpoch>>> {
        self.per_key(ApiKey::INIT_PRODUCER_ID, transactional_ids, |id| async move {
            let conn = TxnCoordinator::new(self.cluster.clone(), id.clone()).get().await?;
            let version = conn.versions().pick::<InitProducerIdRequest>()?;
            let req = InitProducerIdRequest::transactional(id.clone(), FENCING_TRANSACTION_TIMEOUT_MS);
            let resp = conn.send_at(&req, version).await?;
            item_result(ApiKey::INIT_PRODUCER_ID, resp.error_code, Some(format!("transactional id {id}")))?;
            Ok(ProducerIdAndEpoch { id: resp.producer_id, epoch: resp.producer_epoch })
        })
        .await
    }

    /// Aborts a transaction left open on one partition (KIP-664): writes an abort marker there with
    /// WriteTxnMarkers, sent to the partition's leader. For transactions their coordinator lost track of; a live
    /// transaction is ended by its producer, its timeout or [`Admin::fence_producers`].
    pub async fn abort_transaction(&self, spec: &AbortTransactionSpec) -> Result<()> {
        self.retry(ApiKey::WRITE_TXN_MARKERS, || async {
            self.cluster.topic(&spec.topic, self.timeout).await?;
            let (leader, conn) = self.cluster.leader(&spec.topic, spec.partition).await?;
            let version = conn.versions().pick::<WriteTxnMarkersRequest>()?;
            let req = WriteTxnMarkersRequest {
                markers: vec![WritableTxnMarker {
                    producer_id: spec.producer_id,
                    producer_epoch: spec.producer_epoch,
                    transaction_result: false,
                    topics: vec![WritableTxnMarkerTopic {
                        name: spec.topic.clone(),
                        partition_indexes: vec![spec.partition],
                        ..Default::default()
                    }],
                    coordinator_epoch: spec.coordinator_epoch,
                    ..Default::default()
                }],
                ..Default::default()
            };
            let resp = conn.send_at(&req, version).await.map_err(|e| e.with_broker(leader))?;
            let failed = resp
                .markers
                .into_iter()
                .flat_map(|m| m.topics)
                .flat_map(|t| t.partitions.into_iter().map(move |p| (t.name.clone(), p)))
                .find(|(_, p)| p.error_code.is_err());
            match failed {
                Some((topic, p)) => Err(item_error(p.error_code, None, ApiKey::WRITE_TXN_MARKERS)
                    .with_broker(leader)
                    .with_partition(&topic, p.partition_index)),
                None => Ok(()),
            }
        })
        .await
    }
}
