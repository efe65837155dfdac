//! Transactions: the [`TransactionManager`] state machine (sans-IO: every transition is a method call, testable
//! without sockets) and the calls a transactional producer makes to its transaction coordinator.
//!
//! States follow the Java client: `Uninitialized` → (`init_transactions`) → `Ready` → (`begin_transaction`) →
//! `InTransaction` → (`commit_transaction` / `abort_transaction`) → `Committing` / `Aborting` → `Ready`. A failure
//! inside the transaction (a batch refused, an offset commit refused, `TRANSACTION_ABORTABLE`) moves it to
//! `AbortableError`: sends and commit fail with [`ErrorKind::TransactionAbortable`] until the application aborts.
//! Being fenced (`PRODUCER_FENCED`, `INVALID_PRODUCER_EPOCH` outside TV2's produce path), not authorized
//! (`TRANSACTIONAL_ID_AUTHORIZATION_FAILED`) or an answer that breaks the protocol is `FatalError`: every later call
//! fails with [`ErrorKind::TransactionFatal`]. Coordinator errors (`NOT_COORDINATOR`, `COORDINATOR_NOT_AVAILABLE`,
//! `COORDINATOR_LOAD_IN_PROGRESS`, `CONCURRENT_TRANSACTIONS`) and network failures are retried with backoff until
//! `max.block.ms`; a commit or abort that runs out of time stays `Committing`/`Aborting` and the next call finishes
//! the same transaction.
//!
//! The protocol version comes from the coordinator's finalized feature `transaction.version`:
//! - TV1: before a partition's first batch the sender registers it with AddPartitionsToTxn (the batch waits), and
//!   `send_offsets_to_transaction` sends AddOffsetsToTxn before TxnOffsetCommit (v4 at most); Produce stays at v11.
//! - TV2 (KIP-890): Produce v12+ and TxnOffsetCommit v5+ add partitions and groups implicitly; EndTxn v5+ bumps the
//!   epoch at the end of every transaction and returns the producer id and epoch to go on with.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkar_protocol::ErrorCode;
use kafkar_protocol::messages::Request;
use kafkar_protocol::messages::add_offsets_to_txn::AddOffsetsToTxnRequest;
use kafkar_protocol::messages::add_partitions_to_txn::{AddPartitionsToTxnRequest, AddPartitionsToTxnTopic};
use kafkar_protocol::messages::api_versions::ApiVersionsRequest;
use kafkar_protocol::messages::end_txn::EndTxnRequest;
use kafkar_protocol::messages::find_coordinator::{CoordinatorType, FindCoordinatorRequest};
use kafkar_protocol::messages::init_producer_id::InitProducerIdRequest;
use kafkar_protocol::messages::txn_offset_commit::{
    TxnOffsetCommitRequest, TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use tokio::time::Instant;
use tracing::debug;

use super::Producer;
use super::idempotence::{ProducerIdAndEpoch, TopicPartition};
use crate::cluster::Cluster;
use crate::consumer::{OffsetAndMetadata, TopicPartition as ConsumerTopicPartition};
use crate::error::{Error, ErrorKind, Result};
use crate::net::Connection;

/// The finalized feature that says which transaction protocol the cluster runs.
pub const TRANSACTION_VERSION_FEATURE: &str = "transaction.version";

/// The newest TxnOffsetCommit version a TV1 transaction may use (v5+ adds the group implicitly, TV2 only).
const TV1_MAX_TXN_OFFSET_COMMIT: i16 = 4;
/// The newest EndTxn version a TV1 transaction may use (v5 bumps the epoch, TV2 only).
const TV1_MAX_END_TXN: i16 = 4;
/// The newest Produce version a TV1 transaction may use (v12+ adds partitions implicitly, TV2 only).
pub(crate) const TV1_MAX_PRODUCE: i16 = 11;
/// The newest AddPartitionsToTxn version clients use (v4+ is the broker-to-broker batched form).
const MAX_CLIENT_ADD_PARTITIONS: i16 = 3;
/// The TxnOffsetCommit version from which topics are named by id; names are used below it.
const TXN_OFFSET_COMMIT_TOPIC_IDS: i16 = 6;

/// Where a transactional producer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionState {
    /// `init_transactions` not called yet.
    Uninitialized,
    /// `init_transactions` started (and may be called again to finish).
    Initializing,
    /// No transaction open.
    Ready,
    /// A transaction is open.
    InTransaction,
    /// A commit started (and may be called again to finish).
    Committing,
    /// An abort started (and may be called again to finish).
    Aborting,
    /// The transaction failed; only an abort goes on.
    AbortableError,
    /// The producer cannot go on.
    FatalError,
}

/// What an error in a transactional step calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    /// Try again after a backoff; `relookup`: find the coordinator again first.
    Retriable { relookup: bool },
    /// The transaction must be aborted; `bump_epoch`: the abort also needs a new epoch (TV1, sequences lost).
    Abortable { bump_epoch: bool },
    /// The producer cannot go on.
    Fatal,
}

/// The step an error happened in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    InitProducerId,
    AddPartitions,
    AddOffsets,
    TxnOffsetCommit,
    EndTxn,
    /// A batch failed for good (the sender already retried what it could).
    Produce,
}

/// Classifies a transactional error as the Java client does.
pub(crate) fn classify(e: &Error, step: Step, tv2: bool) -> ErrorClass {
    let Some(code) = e.code() else {
        return match e.kind() {
            ErrorKind::TransactionFatal(_) => ErrorClass::Fatal,
            ErrorKind::TransactionAbortable(_) => ErrorClass::Abortable { bump_epoch: false },
            // A batch that ran out of delivery time may or may not have been written: its sequence is unknown.
            _ if step == Step::Produce => ErrorClass::Abortable { bump_epoch: !tv2 },
            ErrorKind::Io(_) | ErrorKind::Disconnected(_) => ErrorClass::Retriable { relookup: true },
            ErrorKind::Timeout => ErrorClass::Retriable { relookup: false },
            _ if step == Step::EndTxn || step == Step::InitProducerId => ErrorClass::Fatal,
            _ => ErrorClass::Abortable { bump_epoch: false },
        };
    };
    match code {
        ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE => ErrorClass::Retriable { relookup: true },
        ErrorCode::COORDINATOR_LOAD_IN_PROGRESS | ErrorCode::CONCURRENT_TRANSACTIONS => {
            ErrorClass::Retriable { relookup: false }
        }
        ErrorCode::PRODUCER_FENCED
        | ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        | ErrorCode::CLUSTER_AUTHORIZATION_FAILED
        | ErrorCode::INVALID_TXN_STATE
        | ErrorCode::INVALID_TRANSACTION_TIMEOUT
        | ErrorCode::UNSUPPORTED_VERSION
        | ErrorCode::UNSUPPORTED_FOR_MESSAGE_FORMAT
        | ErrorCode::TRANSACTION_COORDINATOR_FENCED => ErrorClass::Fatal,
        // Under TV2 every transaction ends with an epoch bump, so a batch of the previous epoch can be refused
        // with INVALID_PRODUCER_EPOCH: that fails the transaction, not the producer.
        ErrorCode::INVALID_PRODUCER_EPOCH if tv2 && matches!(step, Step::Produce | Step::TxnOffsetCommit) => {
            ErrorClass::Abortable { bump_epoch: false }
        }
        ErrorCode::INVALID_PRODUCER_EPOCH => ErrorClass::Fatal,
        ErrorCode::TRANSACTION_ABORTABLE => ErrorClass::Abortable { bump_epoch: false },
        ErrorCode::UNKNOWN_PRODUCER_ID
        | ErrorCode::INVALID_PRODUCER_ID_MAPPING
        | ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER => ErrorClass::Abortable { bump_epoch: !tv2 },
        c if c.is_retriable() && step != Step::Produce => ErrorClass::Retriable { relookup: false },
        _ if step == Step::EndTxn || step == Step::InitProducerId => ErrorClass::Fatal,
        _ => ErrorClass::Abortable { bump_epoch: false },
    }
}

fn usage(msg: &str) -> Error {
    Error::new(ErrorKind::TransactionState(msg.to_owned()))
}

/// The result of an AddPartitionsToTxn answer, for the sender.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AddOutcome {
    /// Every partition is in the transaction.
    Done,
    /// Some partitions must be sent again after a backoff; `relookup`: find the coordinator first.
    Retry { relookup: bool },
    /// The transaction (or the producer) failed.
    Failed,
}

/// The state of a transactional producer. Pure bookkeeping: the producer and the sender call it, it never waits.
#[derive(Debug)]
pub struct TransactionManager {
    transactional_id: String,
    timeout_ms: i32,
    state: TransactionState,
    producer: ProducerIdAndEpoch,
    tv2: bool,
    error: Option<Error>,
    /// Partitions in the transaction (TV1: added by AddPartitionsToTxn; TV2: written to).
    partitions: HashSet<TopicPartition>,
    /// TV1: partitions waiting to be added.
    pending: BTreeSet<TopicPartition>,
    /// TV1: partitions in an AddPartitionsToTxn not answered yet.
    adding: Vec<TopicPartition>,
    /// Groups whose offsets the transaction commits.
    groups: HashSet<String>,
    /// TV1: the abort must also bump the epoch (a batch's sequence was lost).
    bump_epoch: bool,
}

impl TransactionManager {
    /// A manager for `transactional_id` with `transaction.timeout.ms` of `timeout_ms`.
    pub fn new(transactional_id: impl Into<String>, timeout_ms: i32) -> TransactionManager {
        TransactionManager {
            transactional_id: transactional_id.into(),
            timeout_ms,
            state: TransactionState::Uninitialized,
            producer: ProducerIdAndEpoch::NONE,
            tv2: false,
            error: None,
            partitions: HashSet::new(),
            pending: BTreeSet::new(),
            adding: Vec::new(),
            groups: HashSet::new(),
            bump_epoch: false,
        }
    }

    /// The state.
    pub fn state(&self) -> TransactionState {
        self.state
    }

    /// The producer id and epoch (none before `init_transactions`).
    pub fn producer(&self) -> Option<ProducerIdAndEpoch> {
        self.producer.is_valid().then_some(self.producer)
    }

    /// Whether the coordinator runs transaction version 2 (KIP-890).
    pub fn is_tv2(&self) -> bool {
        self.tv2
    }

    /// The transactional id.
    pub fn transactional_id(&self) -> &str {
        &self.transactional_id
    }

    fn stored_error(&self) -> Option<Error> {
        self.error.clone()
    }

    fn fatal_or(&self, otherwise: Error) -> Error {
        match (self.state, self.stored_error()) {
            (TransactionState::FatalError | TransactionState::AbortableError, Some(e)) => e,
            _ => otherwise,
        }
    }

    /// `init_transactions` starts (or is called again after running out of time).
    pub fn start_init(&mut self) -> Result<()> {
        match self.state {
            TransactionState::Uninitialized | TransactionState::Initializing => {
                self.state = TransactionState::Initializing;
                Ok(())
            }
            _ => Err(self.fatal_or(usage("init_transactions was already called"))),
        }
    }

    /// InitProducerId answered; `tv2` from the coordinator's finalized features.
    pub fn init_done(&mut self, producer: ProducerIdAndEpoch, tv2: bool) {
        debug!(producer_id = producer.id, epoch = producer.epoch, tv2, "transactions initialized");
        self.producer = producer;
        self.tv2 = tv2;
        if self.state == TransactionState::Initializing {
            self.state = TransactionState::Ready;
        }
    }

    /// `begin_transaction`.
    pub fn begin(&mut self) -> Result<()> {
        match self.state {
            TransactionState::Ready => {
                self.state = TransactionState::InTransaction;
                Ok(())
            }
            TransactionState::Uninitialized | TransactionState::Initializing => {
                Err(usage("call init_transactions before begin_transaction"))
            }
            TransactionState::InTransaction => Err(usage("a transaction is already open")),
            TransactionState::Committing | TransactionState::Aborting => {
                Err(usage("the previous commit or abort has not finished: call it again"))
            }
            TransactionState::AbortableError | TransactionState::FatalError => {
                Err(self.fatal_or(usage("the transaction failed")))
            }
        }
    }

    /// Whether a record may be sent now.
    pub fn check_send(&self) -> Result<()> {
        match self.state {
            TransactionState::InTransaction => Ok(()),
            TransactionState::Committing | TransactionState::Aborting => {
                Err(usage("cannot send while the transaction commits or aborts"))
            }
            TransactionState::AbortableError | TransactionState::FatalError => {
                Err(self.fatal_or(usage("the transaction failed")))
            }
            _ => Err(usage("send outside a transaction: call begin_transaction first")),
        }
    }

    /// Whether a new batch of `tp` may be sent: under TV2 always (the broker adds the partition); under TV1 once
    /// AddPartitionsToTxn has added it (until then it is queued for adding and the batch waits).
    pub(crate) fn partition_ready(&mut self, tp: &TopicPartition) -> bool {
        if self.tv2 {
            if !self.partitions.contains(tp) {
                self.partitions.insert(tp.clone());
            }
            return true;
        }
        if self.partitions.contains(tp) {
            return true;
        }
        if !self.adding.contains(tp) {
            self.pending.insert(tp.clone());
        }
        false
    }

    /// TV1: the partitions to send in an AddPartitionsToTxn now, if any and none is in flight.
    pub(crate) fn take_adds(&mut self) -> Option<(ProducerIdAndEpoch, Vec<TopicPartition>)> {
        let open = matches!(self.state, TransactionState::InTransaction | TransactionState::Committing);
        if !open || !self.adding.is_empty() || self.pending.is_empty() {
            return None;
        }
        self.adding = std::mem::take(&mut self.pending).into_iter().collect();
        Some((self.producer, self.adding.clone()))
    }

    /// AddPartitionsToTxn answered, per partition (a request-level failure answers every partition with it).
    pub(crate) fn adds_answered(&mut self, results: Vec<(TopicPartition, Result<()>)>) -> AddOutcome {
        self.adding.clear();
        let mut outcome = AddOutcome::Done;
        for (tp, r) in results {
            match r {
                Ok(()) => {
                    self.partitions.insert(tp);
                }
                Err(e) if e.code() == Some(ErrorCode::OPERATION_NOT_ATTEMPTED) => {
                    self.pending.insert(tp);
                    if outcome == AddOutcome::Done {
                        outcome = AddOutcome::Retry { relookup: false };
                    }
                }
                Err(e) => match classify(&e, Step::AddPartitions, self.tv2) {
                    ErrorClass::Retriable { relookup } => {
                        self.pending.insert(tp);
                        if outcome != AddOutcome::Failed {
                            outcome = AddOutcome::Retry { relookup };
                        }
                    }
                    class => {
                        self.fail(e, class);
                        outcome = AddOutcome::Failed;
                    }
                },
            }
        }
        if outcome == AddOutcome::Failed {
            self.pending.clear();
        }
        outcome
    }

    /// Records a failure of class `class` (not retriable): the transaction or the producer fails.
    pub(crate) fn fail(&mut self, e: Error, class: ErrorClass) {
        match class {
            ErrorClass::Fatal => {
                if self.state != TransactionState::FatalError {
                    debug!(error = %e, "transactional producer failed for good");
                    self.error = Some(Error::new(ErrorKind::TransactionFatal(Arc::new(e))));
                    self.state = TransactionState::FatalError;
                }
            }
            ErrorClass::Abortable { bump_epoch } => {
                self.bump_epoch |= bump_epoch;
                match self.state {
                    TransactionState::InTransaction | TransactionState::Committing => {
                        debug!(error = %e, "transaction must be aborted");
                        self.error = Some(Error::new(ErrorKind::TransactionAbortable(Arc::new(e))));
                        self.state = TransactionState::AbortableError;
                    }
                    // Failures while aborting (batches failed by the abort itself) change nothing.
                    _ => {}
                }
            }
            ErrorClass::Retriable { .. } => {}
        }
    }

    /// A batch failed for good.
    pub(crate) fn batch_failed(&mut self, e: &Error) {
        let class = classify(e, Step::Produce, self.tv2);
        self.fail(e.clone(), class);
    }

    /// The error a failed transaction reports, if it failed.
    pub fn error(&self) -> Option<Error> {
        match self.state {
            TransactionState::AbortableError | TransactionState::FatalError => self.stored_error(),
            _ => None,
        }
    }

    /// `commit_transaction` (`commit`) or `abort_transaction` starts, or is called again to finish.
    pub fn begin_end(&mut self, commit: bool) -> Result<()> {
        use TransactionState::*;
        match (self.state, commit) {
            (InTransaction, true) => self.state = Committing,
            (InTransaction | AbortableError, false) => self.state = Aborting,
            (Committing, true) | (Aborting, false) => {}
            (Committing, false) => {
                return Err(usage("a commit is in progress: call commit_transaction again to finish it"));
            }
            (Aborting, true) => {
                return Err(usage("an abort is in progress: call abort_transaction again to finish it"));
            }
            (AbortableError | FatalError, _) => return Err(self.fatal_or(usage("the transaction failed"))),
            (Uninitialized | Initializing | Ready, _) => return Err(usage("no transaction is open")),
        }
        Ok(())
    }

    /// Whether the coordinator knows of the transaction (partitions or offsets were added), so that EndTxn is
    /// needed; an empty transaction ends locally.
    pub fn needs_end_txn(&self) -> bool {
        !self.partitions.is_empty() || !self.groups.is_empty()
    }

    /// The abort must also bump the epoch (TV1, after a lost sequence); clears the flag.
    pub fn take_epoch_bump(&mut self) -> bool {
        std::mem::take(&mut self.bump_epoch) && !self.tv2
    }

    /// The commit or abort finished; under TV2 `next` is the producer id and epoch EndTxn returned.
    pub fn end_done(&mut self, next: Option<ProducerIdAndEpoch>) {
        if let Some(p) = next.filter(|p| p.is_valid()) {
            if p != self.producer {
                debug!(producer_id = p.id, epoch = p.epoch, "new producer epoch from EndTxn");
            }
            self.producer = p;
        }
        self.partitions.clear();
        self.pending.clear();
        self.adding.clear();
        self.groups.clear();
        self.error = None;
        if self.state != TransactionState::FatalError {
            self.state = TransactionState::Ready;
        }
    }

    /// A new epoch from an InitProducerId bump (TV1 abort recovery).
    pub fn epoch_bumped(&mut self, producer: ProducerIdAndEpoch) {
        self.producer = producer;
    }

    /// Whether AddOffsetsToTxn must go first for `group` (TV1, not yet added).
    pub fn offsets_need_add(&self, group: &str) -> bool {
        !self.tv2 && !self.groups.contains(group)
    }

    /// The group's offsets are part of the transaction.
    pub fn offsets_added(&mut self, group: &str) {
        self.groups.insert(group.to_owned());
    }
}

/// A consumer's group identity, carried by `send_offsets_to_transaction` so that the group coordinator can refuse a
/// commit from a member that is no longer part of the group (a zombie).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerGroupMetadata {
    /// The group id.
    pub group_id: String,
    /// The generation (classic group) or member epoch (KIP-848 group); -1 when unknown.
    pub generation_id: i32,
    /// The member id; empty when unknown.
    pub member_id: String,
    /// The static member's instance id.
    pub group_instance_id: Option<String>,
}

impl ConsumerGroupMetadata {
    /// Metadata with only the group id (no fencing of zombie consumers).
    pub fn new(group_id: impl Into<String>) -> ConsumerGroupMetadata {
        ConsumerGroupMetadata {
            group_id: group_id.into(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
        }
    }
}

/// The transaction coordinator of a transactional id: looked up with FindCoordinator (key type 1) and kept until
/// it answers NOT_COORDINATOR or the connection breaks.
pub(crate) struct TxnCoordinator {
    cluster: Arc<Cluster>,
    transactional_id: String,
    conn: tokio::sync::Mutex<Option<Connection>>,
}

impl TxnCoordinator {
    pub(crate) fn new(cluster: Arc<Cluster>, transactional_id: String) -> TxnCoordinator {
        TxnCoordinator { cluster, transactional_id, conn: tokio::sync::Mutex::new(None) }
    }

    /// The coordinator's connection, looked up when not known.
    pub(crate) async fn get(&self) -> Result<Connection> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let any = self.cluster.pool().any().await?;
        let version = any.versions().pick::<FindCoordinatorRequest>()?;
        let req = FindCoordinatorRequest::for_key(version, CoordinatorType::TRANSACTION, self.transactional_id.clone());
        let resp = any.send_at(&req, version).await?;
        let found = resp
            .coordinator(version, &self.transactional_id)
            .ok_or_else(|| Error::protocol("FindCoordinator reply left out the transactional id"))?;
        if found.error_code.is_err() {
            return Err(Error::broker(found.error_code)
                .with_api(kafkar_protocol::ApiKey::FIND_COORDINATOR)
                .with_message(found.error_message));
        }
        let conn = self
            .cluster
            .pool()
            .get_for(crate::net::ConnectionClass::Control, &format!("{}:{}", found.host, found.port))
            .await?;
        debug!(transactional_id = %self.transactional_id, node = found.node_id, "transaction coordinator found");
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Forgets the coordinator (it moved, or its connection broke).
    pub(crate) async fn forget(&self) {
        *self.conn.lock().await = None;
    }
}

/// What the producer and its sender share for transactions.
pub(crate) struct TxnShared {
    pub manager: Mutex<TransactionManager>,
    pub coordinator: TxnCoordinator,
    /// One transactional call at a time.
    pub op: tokio::sync::Mutex<()>,
    /// Set by an abort: the sender fails every batch not yet sent, then clears it.
    pub abort_unsent: AtomicBool,
    /// Notified (one permit) by the sender once it has failed the unsent batches an abort asked for.
    pub abort_done: tokio::sync::Notify,
}

impl TxnShared {
    pub(crate) fn new(cluster: Arc<Cluster>, transactional_id: String, timeout_ms: i32) -> TxnShared {
        TxnShared {
            manager: Mutex::new(TransactionManager::new(transactional_id.clone(), timeout_ms)),
            coordinator: TxnCoordinator::new(cluster, transactional_id),
            op: tokio::sync::Mutex::new(()),
            abort_unsent: AtomicBool::new(false),
            abort_done: tokio::sync::Notify::new(),
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, TransactionManager> {
        self.manager.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether the finalized features of an ApiVersions reply enable transaction version 2.
pub(crate) fn tv2_enabled(features: &[kafkar_protocol::messages::api_versions::FinalizedFeatureKey]) -> bool {
    features.iter().any(|f| f.name == TRANSACTION_VERSION_FEATURE && f.max_version_level >= 2)
}

/// The highest version of `R` both the coordinator and the transaction protocol allow.
fn pick_capped<R: Request>(conn: &Connection, cap: Option<i16>) -> Result<i16> {
    let v = conn.versions().pick::<R>()?;
    Ok(cap.map_or(v, |c| v.min(c)))
}

/// Sends AddPartitionsToTxn for `partitions` (TV1) and answers per partition. Used by the sender.
pub(crate) async fn add_partitions(
    coordinator: &TxnCoordinator,
    transactional_id: &str,
    producer: ProducerIdAndEpoch,
    partitions: &[TopicPartition],
) -> Vec<(TopicPartition, Result<()>)> {
    let answer = async {
        let conn = coordinator.get().await?;
        let version = pick_capped::<AddPartitionsToTxnRequest>(&conn, Some(MAX_CLIENT_ADD_PARTITIONS))?;
        let mut by_topic: HashMap<&str, Vec<i32>> = HashMap::new();
        for (t, p) in partitions {
            by_topic.entry(t).or_default().push(*p);
        }
        let topics = by_topic
            .into_iter()
            .map(|(name, partitions)| AddPartitionsToTxnTopic {
                name: name.to_owned(),
                partitions,
                ..Default::default()
            })
            .collect();
        let req = AddPartitionsToTxnRequest::client(transactional_id, producer.id, producer.epoch, topics);
        let resp = conn.send_at(&req, version).await?;
        let mut codes: HashMap<(String, i32), ErrorCode> = HashMap::new();
        for t in resp.results_by_topic_v3_and_below {
            for p in t.results_by_partition {
                codes.insert((t.name.clone(), p.partition_index), p.partition_error_code);
            }
        }
        Ok::<_, Error>(codes)
    }
    .await;
    match answer {
        Ok(codes) => {
            let moved =
                codes.values().any(|c| matches!(*c, ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE));
            if moved {
                coordinator.forget().await;
            }
            partitions
                .iter()
                .map(|tp| {
                    let r = match codes.get(&(tp.0.to_string(), tp.1)) {
                        Some(c) if c.is_ok() => Ok(()),
                        Some(c) => Err(Error::broker(*c)
                            .with_api(kafkar_protocol::ApiKey::ADD_PARTITIONS_TO_TXN)
                            .with_partition(&tp.0, tp.1)),
                        None => Err(Error::protocol("AddPartitionsToTxn reply left out a partition")),
                    };
                    (tp.clone(), r)
                })
                .collect()
        }
        Err(e) => {
            if matches!(classify(&e, Step::AddPartitions, false), ErrorClass::Retriable { relookup: true }) {
                coordinator.forget().await;
            }
            partitions.iter().map(|tp| (tp.clone(), Err(e.clone()))).collect()
        }
    }
}

impl Producer {
    fn txn(&self) -> Result<&Arc<TxnShared>> {
        self.shared.txn.as_ref().ok_or_else(|| usage("the producer has no transactional.id"))
    }

    /// The transaction state, for a transactional producer.
    pub fn transaction_state(&self) -> Option<TransactionState> {
        self.shared.txn.as_ref().map(|t| t.lock().state())
    }

    /// Whether the transactions of this producer use transaction version 2 (KIP-890), as the coordinator's
    /// finalized `transaction.version` said at `init_transactions`; `None` before it or without `transactional.id`.
    pub fn uses_transaction_v2(&self) -> Option<bool> {
        let txn = self.shared.txn.as_ref()?;
        let m = txn.lock();
        m.producer().map(|_| m.is_tv2())
    }

    fn txn_deadline(&self) -> Instant {
        Instant::now() + self.shared.config.max_block
    }

    /// Runs `once` against the transaction coordinator until it succeeds, fails with an error that is not
    /// retriable, or `deadline` passes (then [`Timeout`](ErrorKind::Timeout)).
    async fn with_coordinator<T>(
        &self,
        step: Step,
        deadline: Instant,
        mut once: impl AsyncFnMut(Connection) -> Result<T>,
    ) -> Result<T> {
        let txn = self.txn()?;
        let backoff = self.shared.config.client.retry_backoff;
        loop {
            let tv2 = txn.lock().is_tv2();
            let attempt = async {
                let conn = txn.coordinator.get().await?;
                once(conn).await
            };
            let e = match tokio::time::timeout_at(deadline, attempt).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => e,
                Err(_) => return Err(Error::new(ErrorKind::Timeout).with_message(Some(timeout_message(step)))),
            };
            match classify(&e, step, tv2) {
                ErrorClass::Retriable { relookup } => {
                    debug!(?step, error = %e, "transactional request failed; retrying");
                    if relookup {
                        txn.coordinator.forget().await;
                    }
                    let wake = (Instant::now() + backoff).min(deadline);
                    tokio::time::sleep_until(wake).await;
                    if Instant::now() >= deadline {
                        return Err(e);
                    }
                }
                _ => return Err(e),
            }
        }
    }

    /// Applies a non-retriable error of `step` to the transaction and returns the error the caller reports.
    fn txn_failed(&self, e: Error, step: Step) -> Error {
        let Ok(txn) = self.txn() else { return e };
        if e.is_retriable() && matches!(e.kind(), ErrorKind::Timeout) {
            return e;
        }
        let mut m = txn.lock();
        let class = classify(&e, step, m.is_tv2());
        if matches!(class, ErrorClass::Retriable { .. }) {
            return e;
        }
        m.fail(e.clone(), class);
        let err = m.error().unwrap_or(e);
        if class == ErrorClass::Fatal {
            drop(m);
            self.shared.set_fatal(err.clone());
        }
        err
    }

    /// Initializes transactions: finds the transaction coordinator, learns its transaction protocol version, and
    /// gets the producer id and epoch for `transactional.id` (InitProducerId). Any transaction a previous instance
    /// with the same id left open is finished by the coordinator first, and that instance is fenced: its next
    /// transactional call fails with [`TransactionFatal`](ErrorKind::TransactionFatal).
    ///
    /// Call once, before the first transaction. Waits up to `max.block.ms`; after a
    /// [`Timeout`](ErrorKind::Timeout) it may be called again. A `transaction.timeout.ms` above the broker's
    /// `transaction.max.timeout.ms` fails with `INVALID_TRANSACTION_TIMEOUT`.
    pub async fn init_transactions(&self) -> Result<()> {
        let txn = self.txn()?.clone();
        let _op = txn.op.lock().await;
        txn.lock().start_init()?;
        let (id, timeout_ms) = {
            let m = txn.lock();
            (m.transactional_id().to_owned(), m.timeout_ms)
        };
        let deadline = self.txn_deadline();
        let result = self
            .with_coordinator(Step::InitProducerId, deadline, async |conn: Connection| {
                let tv2 = coordinator_tv2(&conn).await?;
                let version = conn.versions().pick::<InitProducerIdRequest>()?;
                let req = InitProducerIdRequest::transactional(id.clone(), timeout_ms);
                let resp = conn.send_at(&req, version).await?;
                if resp.error_code.is_err() {
                    return Err(Error::broker(resp.error_code).with_api(kafkar_protocol::ApiKey::INIT_PRODUCER_ID));
                }
                Ok((ProducerIdAndEpoch { id: resp.producer_id, epoch: resp.producer_epoch }, tv2))
            })
            .await;
        match result {
            Ok((p, tv2)) => {
                txn.lock().init_done(p, tv2);
                self.shared.wake.notify_one();
                Ok(())
            }
            Err(e) => Err(self.txn_failed(e, Step::InitProducerId)),
        }
    }

    /// Starts a transaction. Records sent from now on are part of it until
    /// [`commit_transaction`](Self::commit_transaction) or [`abort_transaction`](Self::abort_transaction).
    /// Nothing is sent to the broker yet.
    pub fn begin_transaction(&self) -> Result<()> {
        self.txn()?.lock().begin()
    }

    /// Makes committing `offsets` of the consumer group `group` part of the transaction, so that the records the
    /// transaction writes and the input positions they came from are committed together (exactly once). `offsets`
    /// are the next offsets to read. `group` comes from [`Consumer::group_metadata`](crate::consumer::Consumer::group_metadata):
    /// a consumer that was fenced out of the group cannot commit (the transaction then must be aborted).
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: &HashMap<ConsumerTopicPartition, OffsetAndMetadata>,
        group: &ConsumerGroupMetadata,
    ) -> Result<()> {
        let txn = self.txn()?.clone();
        let _op = txn.op.lock().await;
        let (id, need_add, tv2) = {
            let m = txn.lock();
            m.check_send()?;
            (m.transactional_id().to_owned(), m.offsets_need_add(&group.group_id), m.is_tv2())
        };
        let deadline = self.txn_deadline();
        if need_add {
            let r = self
                .with_coordinator(Step::AddOffsets, deadline, async |conn: Connection| {
                    let producer = txn.lock().producer;
                    let version = conn.versions().pick::<AddOffsetsToTxnRequest>()?;
                    let req = AddOffsetsToTxnRequest {
                        transactional_id: id.clone(),
                        producer_id: producer.id,
                        producer_epoch: producer.epoch,
                        group_id: group.group_id.clone(),
                        ..Default::default()
                    };
                    let resp = conn.send_at(&req, version).await?;
                    if resp.error_code.is_err() {
                        return Err(
                            Error::broker(resp.error_code).with_api(kafkar_protocol::ApiKey::ADD_OFFSETS_TO_TXN)
                        );
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = r {
                return Err(self.txn_failed(e, Step::AddOffsets));
            }
            txn.lock().offsets_added(&group.group_id);
        }
        let r = self.txn_offset_commit(&txn, &id, offsets, group, tv2, deadline).await;
        match r {
            Ok(()) => {
                txn.lock().offsets_added(&group.group_id);
                Ok(())
            }
            Err(e) => Err(self.txn_failed(e, Step::TxnOffsetCommit)),
        }
    }

    async fn txn_offset_commit(
        &self,
        txn: &TxnShared,
        transactional_id: &str,
        offsets: &HashMap<ConsumerTopicPartition, OffsetAndMetadata>,
        group: &ConsumerGroupMetadata,
        tv2: bool,
        deadline: Instant,
    ) -> Result<()> {
        let backoff = self.shared.config.client.retry_backoff;
        let mut coordinator: Option<Connection> = None;
        let mut left: Vec<(&ConsumerTopicPartition, &OffsetAndMetadata)> = offsets.iter().collect();
        left.sort_by(|a, b| a.0.cmp(b.0));
        while !left.is_empty() {
            let attempt = async {
                let conn = match coordinator.as_ref().filter(|c| !c.is_closed()) {
                    Some(c) => c.clone(),
                    None => {
                        crate::consumer::find_group_coordinator(
                            &self.shared.cluster,
                            &group.group_id,
                            crate::net::ConnectionClass::Control,
                        )
                        .await?
                    }
                };
                coordinator = Some(conn.clone());
                let cap = if tv2 { TXN_OFFSET_COMMIT_TOPIC_IDS - 1 } else { TV1_MAX_TXN_OFFSET_COMMIT };
                let version = pick_capped::<TxnOffsetCommitRequest>(&conn, Some(cap))?;
                if tv2 && version < 5 {
                    return Err(Error::new(ErrorKind::UnsupportedVersion {
                        api: kafkar_protocol::ApiKey::TXN_OFFSET_COMMIT,
                        broker: conn.versions().range(kafkar_protocol::ApiKey::TXN_OFFSET_COMMIT),
                    }));
                }
                let producer = txn.lock().producer;
                let mut topics: Vec<TxnOffsetCommitRequestTopic> = Vec::new();
                for (tp, om) in &left {
                    let p = TxnOffsetCommitRequestPartition {
                        partition_index: tp.partition,
                        committed_offset: om.offset,
                        committed_leader_epoch: om.leader_epoch.unwrap_or(-1),
                        committed_metadata: Some(om.metadata.clone()),
                        ..Default::default()
                    };
                    match topics.iter_mut().find(|t| t.name == tp.topic) {
                        Some(t) => t.partitions.push(p),
                        None => topics.push(TxnOffsetCommitRequestTopic {
                            name: tp.topic.clone(),
                            partitions: vec![p],
                            ..Default::default()
                        }),
                    }
                }
                let req = TxnOffsetCommitRequest {
                    transactional_id: transactional_id.to_owned(),
                    group_id: group.group_id.clone(),
                    producer_id: producer.id,
                    producer_epoch: producer.epoch,
                    generation_id_or_member_epoch: group.generation_id,
                    member_id: group.member_id.clone(),
                    group_instance_id: group.group_instance_id.clone(),
                    topics,
                    ..Default::default()
                };
                conn.send_at(&req, version).await
            };
            let resp = match tokio::time::timeout_at(deadline, attempt).await {
                Err(_) => {
                    return Err(
                        Error::new(ErrorKind::Timeout).with_message(Some(timeout_message(Step::TxnOffsetCommit)))
                    );
                }
                Ok(Err(e)) => match classify(&e, Step::TxnOffsetCommit, tv2) {
                    ErrorClass::Retriable { relookup } => {
                        if relookup {
                            coordinator = None;
                        }
                        tokio::time::sleep_until((Instant::now() + backoff).min(deadline)).await;
                        continue;
                    }
                    _ => return Err(e),
                },
                Ok(Ok(r)) => r,
            };
            let mut retry: Vec<(&ConsumerTopicPartition, &OffsetAndMetadata)> = Vec::new();
            let mut relookup = false;
            for t in &resp.topics {
                for p in &t.partitions {
                    if p.error_code.is_ok() {
                        continue;
                    }
                    let e = Error::broker(p.error_code)
                        .with_api(kafkar_protocol::ApiKey::TXN_OFFSET_COMMIT)
                        .with_partition(&t.name, p.partition_index);
                    match classify(&e, Step::TxnOffsetCommit, tv2) {
                        ErrorClass::Retriable { relookup: r } => {
                            relookup |= r;
                            if let Some(x) =
                                left.iter().find(|(tp, _)| tp.topic == t.name && tp.partition == p.partition_index)
                            {
                                retry.push(*x);
                            }
                        }
                        _ => return Err(e),
                    }
                }
            }
            if relookup {
                coordinator = None;
            }
            left = retry;
            if !left.is_empty() {
                tokio::time::sleep_until((Instant::now() + backoff).min(deadline)).await;
                if Instant::now() >= deadline {
                    return Err(
                        Error::new(ErrorKind::Timeout).with_message(Some(timeout_message(Step::TxnOffsetCommit)))
                    );
                }
            }
        }
        Ok(())
    }

    /// Commits the transaction: sends every queued record and waits for all of them, then asks the coordinator to
    /// commit. Fails with [`TransactionAbortable`](ErrorKind::TransactionAbortable) when a record or an offset
    /// commit of the transaction failed (then call [`abort_transaction`](Self::abort_transaction)). Waits up to
    /// `max.block.ms` for the coordinator; after a [`Timeout`](ErrorKind::Timeout) call it again to finish the same
    /// commit.
    pub async fn commit_transaction(&self) -> Result<()> {
        self.end_transaction(true).await
    }

    /// Aborts the transaction: records not yet sent fail, the ones in flight are waited for, then the coordinator
    /// aborts the transaction (read_committed consumers never see its records). After a
    /// [`Timeout`](ErrorKind::Timeout) call it again to finish the same abort.
    pub async fn abort_transaction(&self) -> Result<()> {
        self.end_transaction(false).await
    }

    async fn end_transaction(&self, commit: bool) -> Result<()> {
        let txn = self.txn()?.clone();
        let _op = txn.op.lock().await;
        txn.lock().begin_end(commit)?;
        let deadline = self.txn_deadline();
        let mut stopped = self.shared.stopped.subscribe();
        if !commit {
            // The sender fails what is not sent yet; wait until it has, so that nothing of this transaction is
            // left behind to meet the next one.
            txn.abort_unsent.store(true, std::sync::atomic::Ordering::Release);
            self.shared.wake.notify_one();
            let acked = tokio::time::timeout_at(deadline, async {
                tokio::select! {
                    _ = txn.abort_done.notified() => {}
                    _ = stopped.wait_for(|s| *s) => {}
                }
            })
            .await;
            if acked.is_err() {
                return Err(Error::new(ErrorKind::Timeout)
                    .with_message(Some("the sender did not drop the unsent records within max.block.ms".into())));
            }
        }
        // Every record of the transaction must be done before EndTxn: a commit sends them all, an abort fails the
        // ones not sent and waits for the ones in flight.
        let target = self.shared.accumulator.close_all();
        self.shared.wake.notify_one();
        let flushed = tokio::time::timeout_at(deadline, async {
            tokio::select! {
                _ = self.shared.accumulator.wait_complete_below(target) => {}
                _ = stopped.wait_for(|s| *s) => {}
            }
        })
        .await;
        if flushed.is_err() {
            return Err(Error::new(ErrorKind::Timeout)
                .with_message(Some("records of the transaction not done within max.block.ms".into())));
        }
        let (id, needs_end, tv2) = {
            let m = txn.lock();
            if let Some(e) = m.error() {
                if commit || m.state() == TransactionState::FatalError {
                    return Err(e);
                }
            }
            (m.transactional_id().to_owned(), m.needs_end_txn(), m.is_tv2())
        };
        let mut next = None;
        if needs_end {
            let r = self
                .with_coordinator(Step::EndTxn, deadline, async |conn: Connection| {
                    let producer = txn.lock().producer;
                    let version = pick_capped::<EndTxnRequest>(&conn, (!tv2).then_some(TV1_MAX_END_TXN))?;
                    let req = EndTxnRequest {
                        transactional_id: id.clone(),
                        producer_id: producer.id,
                        producer_epoch: producer.epoch,
                        committed: commit,
                        ..Default::default()
                    };
                    let resp = conn.send_at(&req, version).await?;
                    if resp.error_code.is_err() {
                        return Err(Error::broker(resp.error_code).with_api(kafkar_protocol::ApiKey::END_TXN));
                    }
                    Ok((version >= 5)
                        .then_some(ProducerIdAndEpoch { id: resp.producer_id, epoch: resp.producer_epoch }))
                })
                .await;
            match r {
                Ok(n) => next = n,
                Err(e) => return Err(self.txn_failed(e, Step::EndTxn)),
            }
        }
        if !commit && txn.lock().take_epoch_bump() {
            // TV1: a batch's sequence was lost; a new epoch (KIP-360) starts every partition at sequence 0.
            let producer = txn.lock().producer;
            let timeout_ms = txn.lock().timeout_ms;
            let r = self
                .with_coordinator(Step::InitProducerId, deadline, async |conn: Connection| {
                    let version = conn.versions().pick::<InitProducerIdRequest>()?;
                    let mut req = InitProducerIdRequest::transactional(id.clone(), timeout_ms);
                    if version >= 3 {
                        req = req.with_current(producer.id, producer.epoch);
                    }
                    let resp = conn.send_at(&req, version).await?;
                    if resp.error_code.is_err() {
                        return Err(Error::broker(resp.error_code).with_api(kafkar_protocol::ApiKey::INIT_PRODUCER_ID));
                    }
                    Ok(ProducerIdAndEpoch { id: resp.producer_id, epoch: resp.producer_epoch })
                })
                .await;
            match r {
                Ok(p) => txn.lock().epoch_bumped(p),
                Err(e) => {
                    txn.lock().bump_epoch = true;
                    return Err(self.txn_failed(e, Step::InitProducerId));
                }
            }
        }
        txn.lock().end_done(next);
        self.shared.wake.notify_one();
        debug!(commit, "transaction ended");
        Ok(())
    }
}

/// Asks the coordinator for its finalized features (ApiVersions) and says whether transaction version 2 is on.
async fn coordinator_tv2(conn: &Connection) -> Result<bool> {
    let version = conn.versions().pick::<ApiVersionsRequest>()?.min(4);
    if version < 3 {
        return Ok(false);
    }
    let req = ApiVersionsRequest {
        client_software_name: "kafkar".into(),
        client_software_version: env!("CARGO_PKG_VERSION").into(),
        ..Default::default()
    };
    let resp = conn.send_at(&req, version).await?;
    Ok(tv2_enabled(&resp.finalized_features))
}

fn timeout_message(step: Step) -> String {
    format!("{step:?} did not finish within max.block.ms; call again to go on")
}

/// How long the sender waits before sending AddPartitionsToTxn again after CONCURRENT_TRANSACTIONS and the like.
pub(crate) const ADD_PARTITIONS_RETRY: Duration = Duration::from_millis(20);

#[cfg(test)]
mod tests;
