//! Unit tests of the transaction state machine: every transition, misuse, and error class.

use super::*;

const P: ProducerIdAndEpoch = ProducerIdAndEpoch { id: 4, epoch: 1 };

fn tp(p: i32) -> TopicPartition {
    ("t".into(), p)
}

fn ready(tv2: bool) -> TransactionManager {
    let mut m = TransactionManager::new("tx", 60_000);
    m.start_init().unwrap();
    m.init_done(P, tv2);
    m
}

fn kind_of(e: &Error) -> &'static str {
    match e.kind() {
        ErrorKind::TransactionAbortable(_) => "abortable",
        ErrorKind::TransactionFatal(_) => "fatal",
        ErrorKind::TransactionState(_) => "usage",
        _ => "other",
    }
}

fn broker(c: ErrorCode) -> Error {
    Error::broker(c)
}

#[test]
fn happy_path_tv2() {
    let mut m = TransactionManager::new("tx", 60_000);
    assert_eq!(m.state(), TransactionState::Uninitialized);
    assert_eq!(kind_of(&m.begin().unwrap_err()), "usage");
    assert_eq!(kind_of(&m.check_send().unwrap_err()), "usage");
    m.start_init().unwrap();
    // init may be called again after running out of time
    m.start_init().unwrap();
    m.init_done(P, true);
    assert_eq!(m.state(), TransactionState::Ready);
    assert_eq!(m.producer(), Some(P));
    assert_eq!(kind_of(&m.start_init().unwrap_err()), "usage");
    assert_eq!(kind_of(&m.check_send().unwrap_err()), "usage", "send outside a transaction");
    m.begin().unwrap();
    assert_eq!(kind_of(&m.begin().unwrap_err()), "usage", "begin twice");
    m.check_send().unwrap();
    assert!(!m.needs_end_txn());
    assert!(m.partition_ready(&tp(0)), "TV2 adds partitions implicitly");
    assert!(m.take_adds().is_none());
    assert!(m.needs_end_txn());
    assert!(!m.offsets_need_add("g"), "TV2: no AddOffsetsToTxn");
    m.begin_end(true).unwrap();
    assert_eq!(m.state(), TransactionState::Committing);
    assert_eq!(kind_of(&m.check_send().unwrap_err()), "usage");
    // A commit that timed out is called again.
    m.begin_end(true).unwrap();
    assert_eq!(kind_of(&m.begin_end(false).unwrap_err()), "usage");
    let next = ProducerIdAndEpoch { id: 4, epoch: 2 };
    m.end_done(Some(next));
    assert_eq!(m.state(), TransactionState::Ready);
    assert_eq!(m.producer(), Some(next), "EndTxn v5 epoch adopted");
    assert!(!m.needs_end_txn());
    assert_eq!(kind_of(&m.begin_end(true).unwrap_err()), "usage", "no transaction open");
}

#[test]
fn tv1_adds_partitions_before_their_first_batch() {
    let mut m = ready(false);
    m.begin().unwrap();
    assert!(!m.partition_ready(&tp(0)));
    assert!(!m.partition_ready(&tp(1)));
    let (p, adds) = m.take_adds().unwrap();
    assert_eq!(p, P);
    assert_eq!(adds, vec![tp(0), tp(1)]);
    assert!(m.take_adds().is_none(), "one AddPartitionsToTxn at a time");
    assert!(!m.partition_ready(&tp(0)), "still being added");
    assert!(!m.partition_ready(&tp(2)));
    let out = m.adds_answered(vec![(tp(0), Ok(())), (tp(1), Err(broker(ErrorCode::CONCURRENT_TRANSACTIONS)))]);
    assert_eq!(out, AddOutcome::Retry { relookup: false });
    assert!(m.partition_ready(&tp(0)));
    let (_, adds) = m.take_adds().unwrap();
    assert_eq!(adds, vec![tp(1), tp(2)]);
    let out = m.adds_answered(vec![(tp(1), Err(broker(ErrorCode::NOT_COORDINATOR))), (tp(2), Ok(()))]);
    assert_eq!(out, AddOutcome::Retry { relookup: true });
    let (_, adds) = m.take_adds().unwrap();
    assert_eq!(adds, vec![tp(1)]);
    assert_eq!(m.adds_answered(vec![(tp(1), Ok(()))]), AddOutcome::Done);
    assert!(m.partition_ready(&tp(1)));
    assert!(m.offsets_need_add("g"));
    m.offsets_added("g");
    assert!(!m.offsets_need_add("g"));
    m.begin_end(true).unwrap();
    m.end_done(None);
    assert_eq!(m.producer(), Some(P), "TV1 keeps its epoch");
    m.begin().unwrap();
    assert!(!m.partition_ready(&tp(0)), "a new transaction adds its partitions again");
}

#[test]
fn operation_not_attempted_is_retried() {
    let mut m = ready(false);
    m.begin().unwrap();
    m.partition_ready(&tp(0));
    m.take_adds().unwrap();
    let out = m.adds_answered(vec![(tp(0), Err(broker(ErrorCode::OPERATION_NOT_ATTEMPTED)))]);
    assert_eq!(out, AddOutcome::Retry { relookup: false });
    assert!(m.take_adds().is_some());
}

#[test]
fn abortable_errors_fail_the_transaction_until_aborted() {
    for code in [
        ErrorCode::TRANSACTION_ABORTABLE,
        ErrorCode::TOPIC_AUTHORIZATION_FAILED,
        ErrorCode::UNKNOWN_PRODUCER_ID,
        ErrorCode::INVALID_PRODUCER_ID_MAPPING,
    ] {
        let mut m = ready(false);
        m.begin().unwrap();
        m.partition_ready(&tp(0));
        m.take_adds().unwrap();
        assert_eq!(m.adds_answered(vec![(tp(0), Err(broker(code)))]), AddOutcome::Failed, "{code}");
        assert_eq!(m.state(), TransactionState::AbortableError, "{code}");
        assert_eq!(kind_of(&m.check_send().unwrap_err()), "abortable");
        assert_eq!(kind_of(&m.begin_end(true).unwrap_err()), "abortable", "commit refused");
        assert_eq!(kind_of(&m.begin().unwrap_err()), "abortable");
        assert_eq!(m.error().unwrap().code(), Some(code));
        m.begin_end(false).unwrap();
        assert_eq!(m.state(), TransactionState::Aborting);
        // Failures of the abort's own batches change nothing.
        m.batch_failed(&broker(ErrorCode::TRANSACTION_ABORTABLE));
        assert_eq!(m.state(), TransactionState::Aborting);
        m.end_done(None);
        assert_eq!(m.state(), TransactionState::Ready);
        assert!(m.error().is_none());
        m.begin().unwrap();
    }
}

#[test]
fn lost_sequences_under_tv1_need_an_epoch_bump_on_abort() {
    let mut m = ready(false);
    m.begin().unwrap();
    m.batch_failed(&broker(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER));
    assert_eq!(m.state(), TransactionState::AbortableError);
    m.begin_end(false).unwrap();
    assert!(m.take_epoch_bump());
    assert!(!m.take_epoch_bump());
    let mut m = ready(true);
    m.begin().unwrap();
    m.batch_failed(&broker(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER));
    assert!(!m.take_epoch_bump(), "TV2: EndTxn bumps the epoch anyway");
    // A batch that expired without an answer: its fate is unknown.
    let mut m = ready(false);
    m.begin().unwrap();
    m.batch_failed(&Error::new(ErrorKind::Timeout));
    assert_eq!(m.state(), TransactionState::AbortableError);
    assert!(m.take_epoch_bump());
}

#[test]
fn fatal_errors_end_the_producer() {
    for code in [
        ErrorCode::PRODUCER_FENCED,
        ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        ErrorCode::INVALID_PRODUCER_EPOCH,
        ErrorCode::INVALID_TXN_STATE,
    ] {
        let mut m = ready(false);
        m.begin().unwrap();
        m.batch_failed(&broker(code));
        assert_eq!(m.state(), TransactionState::FatalError, "{code}");
        assert_eq!(kind_of(&m.check_send().unwrap_err()), "fatal");
        assert_eq!(kind_of(&m.begin_end(false).unwrap_err()), "fatal", "not even abort");
        assert_eq!(kind_of(&m.begin().unwrap_err()), "fatal");
        assert_eq!(m.error().unwrap().code(), Some(code));
        m.end_done(None);
        assert_eq!(m.state(), TransactionState::FatalError, "fatal is final");
    }
}

#[test]
fn invalid_producer_epoch_is_abortable_only_on_tv2_produce() {
    let e = broker(ErrorCode::INVALID_PRODUCER_EPOCH);
    assert_eq!(classify(&e, Step::Produce, true), ErrorClass::Abortable { bump_epoch: false });
    assert_eq!(classify(&e, Step::TxnOffsetCommit, true), ErrorClass::Abortable { bump_epoch: false });
    assert_eq!(classify(&e, Step::Produce, false), ErrorClass::Fatal);
    assert_eq!(classify(&e, Step::EndTxn, true), ErrorClass::Fatal);
    assert_eq!(classify(&e, Step::AddPartitions, false), ErrorClass::Fatal);
}

#[test]
fn every_step_classifies_coordinator_errors_as_retriable() {
    let steps = [Step::InitProducerId, Step::AddPartitions, Step::AddOffsets, Step::TxnOffsetCommit, Step::EndTxn];
    for step in steps {
        for tv2 in [false, true] {
            let c = |code| classify(&broker(code), step, tv2);
            assert_eq!(c(ErrorCode::NOT_COORDINATOR), ErrorClass::Retriable { relookup: true }, "{step:?}");
            assert_eq!(c(ErrorCode::COORDINATOR_NOT_AVAILABLE), ErrorClass::Retriable { relookup: true });
            assert_eq!(c(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS), ErrorClass::Retriable { relookup: false });
            assert_eq!(c(ErrorCode::CONCURRENT_TRANSACTIONS), ErrorClass::Retriable { relookup: false });
            assert_eq!(c(ErrorCode::REQUEST_TIMED_OUT), ErrorClass::Retriable { relookup: false });
            assert_eq!(c(ErrorCode::PRODUCER_FENCED), ErrorClass::Fatal);
            assert_eq!(c(ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED), ErrorClass::Fatal);
            assert_eq!(c(ErrorCode::TRANSACTION_ABORTABLE), ErrorClass::Abortable { bump_epoch: false });
            let io = Error::from(std::io::Error::other("reset"));
            assert_eq!(classify(&io, step, tv2), ErrorClass::Retriable { relookup: true });
            assert_eq!(classify(&Error::new(ErrorKind::Timeout), step, tv2), ErrorClass::Retriable { relookup: false });
        }
    }
    // Init refused otherwise (e.g. a timeout above transaction.max.timeout.ms) is fatal.
    assert_eq!(
        classify(&broker(ErrorCode::INVALID_TRANSACTION_TIMEOUT), Step::InitProducerId, true),
        ErrorClass::Fatal
    );
    // Offset commits of a fenced consumer fail the transaction, not the producer.
    for code in [ErrorCode::UNKNOWN_MEMBER_ID, ErrorCode::ILLEGAL_GENERATION, ErrorCode::FENCED_INSTANCE_ID] {
        assert_eq!(classify(&broker(code), Step::TxnOffsetCommit, true), ErrorClass::Abortable { bump_epoch: false });
    }
    // An unexpected EndTxn answer is fatal; an unexpected batch error abortable.
    assert_eq!(classify(&broker(ErrorCode::INVALID_REQUEST), Step::EndTxn, true), ErrorClass::Fatal);
    assert_eq!(
        classify(&broker(ErrorCode::MESSAGE_TOO_LARGE), Step::Produce, true),
        ErrorClass::Abortable { bump_epoch: false }
    );
    // A retriable produce error that the sender gave up on fails the transaction.
    assert_eq!(
        classify(&broker(ErrorCode::NOT_LEADER_OR_FOLLOWER), Step::Produce, true),
        ErrorClass::Abortable { bump_epoch: false }
    );
}

#[test]
fn abort_from_an_open_transaction_and_empty_transactions() {
    let mut m = ready(true);
    m.begin().unwrap();
    m.begin_end(false).unwrap();
    assert!(!m.needs_end_txn(), "nothing was sent: no EndTxn");
    assert_eq!(kind_of(&m.begin_end(true).unwrap_err()), "usage", "abort in progress");
    m.end_done(None);
    m.begin().unwrap();
    m.offsets_added("g");
    assert!(m.needs_end_txn());
}

#[test]
fn finalized_feature_decides_the_transaction_version() {
    use kafkar_protocol::messages::api_versions::FinalizedFeatureKey;
    let f = |name: &str, level| FinalizedFeatureKey {
        name: name.into(),
        max_version_level: level,
        min_version_level: level,
        ..Default::default()
    };
    assert!(!tv2_enabled(&[]));
    assert!(!tv2_enabled(&[f("transaction.version", 1), f("metadata.version", 27)]));
    assert!(tv2_enabled(&[f("transaction.version", 2)]));
    assert!(!tv2_enabled(&[f("group.version", 2)]));
}
