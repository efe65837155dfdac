//! The transactional producer against the fake broker, for what a real broker cannot be made to answer on demand:
//! each retriable, abortable and fatal error at each step (InitProducerId, AddPartitionsToTxn, Produce,
//! AddOffsetsToTxn, TxnOffsetCommit, EndTxn), under transaction version 1 and 2, and a commit that runs out of time
//! and is called again.
//!
//! The fake is its own transaction and group coordinator and the leader of one partition; it answers each API with
//! the next error scripted for it (none: success), and advertises `transaction.version` in ApiVersions.

mod support;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use kafkar::ErrorKind;
use kafkar::consumer::{ConsumerGroupMetadata, OffsetAndMetadata, TopicPartition};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord, TransactionState};
use kafkar::protocol::messages::add_offsets_to_txn::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};
use kafkar::protocol::messages::add_partitions_to_txn::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse,
    AddPartitionsToTxnTopicResult,
};
use kafkar::protocol::messages::api_versions::{ApiVersionsRequest, FinalizedFeatureKey};
use kafkar::protocol::messages::end_txn::{EndTxnRequest, EndTxnResponse};
use kafkar::protocol::messages::find_coordinator::{Coordinator, FindCoordinatorRequest, FindCoordinatorResponse};
use kafkar::protocol::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use kafkar::protocol::messages::metadata::MetadataRequest;
use kafkar::protocol::messages::produce::ProduceRequest;
use kafkar::protocol::messages::txn_offset_commit::{
    TxnOffsetCommitRequest, TxnOffsetCommitResponse, TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafkar::protocol::primitives::Uuid;
use kafkar::protocol::{ApiKey, ErrorCode};
use support::{Action, FakeBroker, Received};

const TOPIC: &str = "txn-faults";

/// What the fake answers an API with next.
#[derive(Clone, Copy, Debug)]
enum Next {
    Error(ErrorCode),
    /// Never answer.
    Ignore,
}

#[derive(Default)]
struct State {
    script: HashMap<i16, VecDeque<Next>>,
    epoch: i16,
    offset: i64,
}

struct Fake {
    broker: FakeBroker,
    state: Arc<Mutex<State>>,
}

impl Fake {
    async fn start(tv: i16) -> Fake {
        let state = Arc::new(Mutex::new(State::default()));
        let port: Arc<OnceLock<u16>> = Arc::new(OnceLock::new());
        let (st, p) = (state.clone(), port.clone());
        let broker = FakeBroker::start(move |r: &Received| handle(&st, *p.get().unwrap_or(&0), tv, r)).await;
        let _ = port.set(broker.addr.port());
        Fake { broker, state }
    }

    fn script(&self, api: ApiKey, answers: &[Next]) {
        self.state.lock().unwrap().script.entry(api.0).or_default().extend(answers.iter().copied());
    }

    fn count(&self, api: ApiKey) -> usize {
        self.broker.received_api(api).len()
    }

    fn producer_config(&self) -> ProducerConfig {
        let mut c = ProducerConfig::new(&self.broker.bootstrap());
        c.set("transactional.id", "tx").unwrap();
        c.set("linger.ms", "0").unwrap();
        c.set("retry.backoff.ms", "10").unwrap();
        c.set("request.timeout.ms", "500").unwrap();
        c.set("max.block.ms", "3000").unwrap();
        c.set("delivery.timeout.ms", "5000").unwrap();
        c
    }
}

fn handle(st: &Mutex<State>, port: u16, tv: i16, r: &Received) -> Action {
    let key = ApiKey(r.header.api_key);
    let v = r.header.api_version;
    let next = st.lock().unwrap().script.get_mut(&key.0).and_then(VecDeque::pop_front);
    let code = match next {
        Some(Next::Ignore) => return Action::Ignore,
        Some(Next::Error(c)) => c,
        None => ErrorCode::NONE,
    };
    match key {
        ApiKey::API_VERSIONS => {
            let mut resp = support::supported_versions();
            if v >= 3 {
                resp.finalized_features = vec![FinalizedFeatureKey {
                    name: "transaction.version".into(),
                    max_version_level: tv,
                    min_version_level: tv,
                    ..Default::default()
                }];
            }
            support::reply::<ApiVersionsRequest>(&resp, v)
        }
        ApiKey::METADATA => {
            let _: MetadataRequest = support::decode(r);
            let resp = support::fake_metadata(port, TOPIC, Uuid([9; 16]), 1);
            support::reply::<MetadataRequest>(&resp, v)
        }
        ApiKey::FIND_COORDINATOR => {
            let req: FindCoordinatorRequest = support::decode(r);
            let resp = if v >= 4 {
                FindCoordinatorResponse {
                    coordinators: req
                        .coordinator_keys
                        .iter()
                        .map(|k| Coordinator {
                            key: k.clone(),
                            node_id: 0,
                            host: "127.0.0.1".into(),
                            port: port as i32,
                            error_code: code,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }
            } else {
                FindCoordinatorResponse {
                    node_id: 0,
                    host: "127.0.0.1".into(),
                    port: port as i32,
                    error_code: code,
                    ..Default::default()
                }
            };
            support::reply::<FindCoordinatorRequest>(&resp, v)
        }
        ApiKey::INIT_PRODUCER_ID => {
            let _: InitProducerIdRequest = support::decode(r);
            let mut s = st.lock().unwrap();
            if code.is_ok() {
                s.epoch += 1;
            }
            let resp = InitProducerIdResponse {
                error_code: code,
                producer_id: 77,
                producer_epoch: s.epoch,
                ..Default::default()
            };
            support::reply::<InitProducerIdRequest>(&resp, v)
        }
        ApiKey::PRODUCE => {
            let req: ProduceRequest = support::decode(r);
            assert_eq!(req.transactional_id.as_deref(), Some("tx"), "Produce carries the transactional id");
            let mut s = st.lock().unwrap();
            let resp = support::produce_reply(&req, v, |_| {
                let base = if code.is_ok() { s.offset } else { -1 };
                s.offset += 10;
                (code, base)
            });
            support::reply::<ProduceRequest>(&resp, v)
        }
        ApiKey::ADD_PARTITIONS_TO_TXN => {
            let req: AddPartitionsToTxnRequest = support::decode(r);
            let resp = AddPartitionsToTxnResponse {
                results_by_topic_v3_and_below: req
                    .v3_and_below_topics
                    .iter()
                    .map(|t| AddPartitionsToTxnTopicResult {
                        name: t.name.clone(),
                        results_by_partition: t
                            .partitions
                            .iter()
                            .map(|&p| AddPartitionsToTxnPartitionResult {
                                partition_index: p,
                                partition_error_code: code,
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            support::reply::<AddPartitionsToTxnRequest>(&resp, v)
        }
        ApiKey::ADD_OFFSETS_TO_TXN => {
            let _: AddOffsetsToTxnRequest = support::decode(r);
            support::reply::<AddOffsetsToTxnRequest>(
                &AddOffsetsToTxnResponse { error_code: code, ..Default::default() },
                v,
            )
        }
        ApiKey::TXN_OFFSET_COMMIT => {
            let req: TxnOffsetCommitRequest = support::decode(r);
            let resp = TxnOffsetCommitResponse {
                topics: req
                    .topics
                    .iter()
                    .map(|t| TxnOffsetCommitResponseTopic {
                        name: t.name.clone(),
                        topic_id: t.topic_id,
                        partitions: t
                            .partitions
                            .iter()
                            .map(|p| TxnOffsetCommitResponsePartition {
                                partition_index: p.partition_index,
                                error_code: code,
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            support::reply::<TxnOffsetCommitRequest>(&resp, v)
        }
        ApiKey::END_TXN => {
            let req: EndTxnRequest = support::decode(r);
            let mut resp = EndTxnResponse { error_code: code, ..Default::default() };
            if v >= 5 && code.is_ok() {
                let mut s = st.lock().unwrap();
                s.epoch += 1;
                resp.producer_id = req.producer_id;
                resp.producer_epoch = s.epoch;
            }
            support::reply::<EndTxnRequest>(&resp, v)
        }
        _ => Action::Default,
    }
}

fn kind(e: &kafkar::Error) -> &'static str {
    match e.kind() {
        ErrorKind::TransactionAbortable(_) => "abortable",
        ErrorKind::TransactionFatal(_) => "fatal",
        ErrorKind::TransactionState(_) => "usage",
        ErrorKind::Timeout => "timeout",
        _ => "other",
    }
}

async fn one_transaction(p: &Producer, commit: bool) -> kafkar::Result<()> {
    p.begin_transaction()?;
    let f = p.send(ProducerRecord::new(TOPIC).value("v")).await?;
    let delivered = f.await;
    let end = if commit { p.commit_transaction().await } else { p.abort_transaction().await };
    delivered.and(end)
}

async fn ready(tv: i16) -> (Fake, Producer) {
    let fake = Fake::start(tv).await;
    let p = Producer::new(fake.producer_config()).await.unwrap();
    p.init_transactions().await.unwrap();
    assert_eq!(p.uses_transaction_v2(), Some(tv >= 2));
    (fake, p)
}

#[tokio::test]
async fn retriable_errors_are_retried_at_every_step() {
    let retriable = [
        ErrorCode::NOT_COORDINATOR,
        ErrorCode::COORDINATOR_NOT_AVAILABLE,
        ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
        ErrorCode::CONCURRENT_TRANSACTIONS,
    ];
    for tv in [1, 2] {
        for code in retriable {
            let fake = Fake::start(tv).await;
            fake.script(ApiKey::INIT_PRODUCER_ID, &[Next::Error(code)]);
            fake.script(ApiKey::END_TXN, &[Next::Error(code), Next::Error(code)]);
            fake.script(ApiKey::TXN_OFFSET_COMMIT, &[Next::Error(code)]);
            if tv == 1 {
                fake.script(ApiKey::ADD_PARTITIONS_TO_TXN, &[Next::Error(code)]);
                fake.script(ApiKey::ADD_OFFSETS_TO_TXN, &[Next::Error(code)]);
            }
            let p = Producer::new(fake.producer_config()).await.unwrap();
            p.init_transactions().await.unwrap_or_else(|e| panic!("tv{tv} {code}: init: {e}"));
            p.begin_transaction().unwrap();
            let f = p.send(ProducerRecord::new(TOPIC).value("v")).await.unwrap();
            f.await.unwrap_or_else(|e| panic!("tv{tv} {code}: delivery: {e}"));
            let offsets = HashMap::from([(
                TopicPartition::new(TOPIC, 0),
                OffsetAndMetadata { offset: 3, leader_epoch: None, metadata: String::new() },
            )]);
            p.send_offsets_to_transaction(&offsets, &ConsumerGroupMetadata::new("g"))
                .await
                .unwrap_or_else(|e| panic!("tv{tv} {code}: offsets: {e}"));
            p.commit_transaction().await.unwrap_or_else(|e| panic!("tv{tv} {code}: commit: {e}"));
            assert_eq!(fake.count(ApiKey::INIT_PRODUCER_ID), 2, "tv{tv} {code}");
            assert_eq!(fake.count(ApiKey::END_TXN), 3, "tv{tv} {code}");
            assert_eq!(fake.count(ApiKey::TXN_OFFSET_COMMIT), 2, "tv{tv} {code}");
            if tv == 1 {
                assert_eq!(fake.count(ApiKey::ADD_PARTITIONS_TO_TXN), 2, "tv{tv} {code}");
                assert_eq!(fake.count(ApiKey::ADD_OFFSETS_TO_TXN), 2, "tv{tv} {code}");
            } else {
                assert_eq!(fake.count(ApiKey::ADD_PARTITIONS_TO_TXN), 0, "TV2 adds implicitly");
                assert_eq!(fake.count(ApiKey::ADD_OFFSETS_TO_TXN), 0, "TV2 adds implicitly");
            }
            if matches!(code, ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE) {
                assert!(fake.count(ApiKey::FIND_COORDINATOR) >= 3, "tv{tv} {code}: coordinator looked up again");
            }
            p.close().await;
        }
    }
}

#[tokio::test]
async fn abortable_errors_need_an_abort_then_the_producer_goes_on() {
    let cases: &[(ApiKey, ErrorCode, i16)] = &[
        (ApiKey::PRODUCE, ErrorCode::TRANSACTION_ABORTABLE, 2),
        (ApiKey::PRODUCE, ErrorCode::TOPIC_AUTHORIZATION_FAILED, 2),
        (ApiKey::PRODUCE, ErrorCode::INVALID_PRODUCER_EPOCH, 2),
        (ApiKey::PRODUCE, ErrorCode::TOPIC_AUTHORIZATION_FAILED, 1),
        (ApiKey::ADD_PARTITIONS_TO_TXN, ErrorCode::TOPIC_AUTHORIZATION_FAILED, 1),
        (ApiKey::ADD_PARTITIONS_TO_TXN, ErrorCode::TRANSACTION_ABORTABLE, 1),
        (ApiKey::END_TXN, ErrorCode::TRANSACTION_ABORTABLE, 2),
    ];
    for &(api, code, tv) in cases {
        let (fake, p) = ready(tv).await;
        fake.script(api, &[Next::Error(code)]);
        let e = one_transaction(&p, true).await.unwrap_err();
        assert!(matches!(kind(&e), "abortable" | "other"), "tv{tv} {api} {code}: {e}");
        assert_eq!(p.transaction_state(), Some(TransactionState::AbortableError), "tv{tv} {api} {code}");
        let e = p.commit_transaction().await.unwrap_err();
        assert_eq!(kind(&e), "abortable", "tv{tv} {api} {code}: commit refused: {e}");
        assert_eq!(e.code(), Some(code));
        assert_eq!(kind(&p.send(ProducerRecord::new(TOPIC).value("x")).await.unwrap_err()), "abortable");
        p.abort_transaction().await.unwrap_or_else(|e| panic!("tv{tv} {api} {code}: abort: {e}"));
        one_transaction(&p, true).await.unwrap_or_else(|e| panic!("tv{tv} {api} {code}: next transaction: {e}"));
        p.close().await;
    }
    // Offset commits a fenced consumer makes fail the transaction, not the producer.
    for (api, code, tv) in [
        (ApiKey::TXN_OFFSET_COMMIT, ErrorCode::ILLEGAL_GENERATION, 2),
        (ApiKey::TXN_OFFSET_COMMIT, ErrorCode::FENCED_INSTANCE_ID, 1),
        (ApiKey::TXN_OFFSET_COMMIT, ErrorCode::TRANSACTION_ABORTABLE, 2),
        (ApiKey::ADD_OFFSETS_TO_TXN, ErrorCode::GROUP_AUTHORIZATION_FAILED, 1),
    ] {
        let (fake, p) = ready(tv).await;
        fake.script(api, &[Next::Error(code)]);
        p.begin_transaction().unwrap();
        let offsets = HashMap::from([(
            TopicPartition::new(TOPIC, 0),
            OffsetAndMetadata { offset: 1, leader_epoch: None, metadata: String::new() },
        )]);
        let e = p.send_offsets_to_transaction(&offsets, &ConsumerGroupMetadata::new("g")).await.unwrap_err();
        assert_eq!(kind(&e), "abortable", "tv{tv} {api} {code}: {e}");
        p.abort_transaction().await.unwrap();
        one_transaction(&p, true).await.unwrap();
        p.close().await;
    }
}

#[tokio::test]
async fn fatal_errors_close_the_transactional_producer() {
    let cases: &[(ApiKey, ErrorCode, i16)] = &[
        (ApiKey::END_TXN, ErrorCode::PRODUCER_FENCED, 2),
        (ApiKey::END_TXN, ErrorCode::INVALID_PRODUCER_EPOCH, 1),
        (ApiKey::END_TXN, ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 2),
        (ApiKey::PRODUCE, ErrorCode::PRODUCER_FENCED, 2),
        (ApiKey::PRODUCE, ErrorCode::INVALID_PRODUCER_EPOCH, 1),
        (ApiKey::ADD_PARTITIONS_TO_TXN, ErrorCode::PRODUCER_FENCED, 1),
        (ApiKey::ADD_PARTITIONS_TO_TXN, ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 1),
    ];
    for &(api, code, tv) in cases {
        let (fake, p) = ready(tv).await;
        fake.script(api, &[Next::Error(code)]);
        let e = one_transaction(&p, true).await.unwrap_err();
        assert!(matches!(kind(&e), "fatal" | "other"), "tv{tv} {api} {code}: {e}");
        assert_eq!(p.transaction_state(), Some(TransactionState::FatalError), "tv{tv} {api} {code}");
        let e = p.begin_transaction().unwrap_err();
        assert_eq!(kind(&e), "fatal", "tv{tv} {api} {code}: {e}");
        assert_eq!(e.code(), Some(code));
        assert_eq!(kind(&p.abort_transaction().await.unwrap_err()), "fatal");
        assert!(p.send(ProducerRecord::new(TOPIC).value("x")).await.is_err());
        p.close().await;
    }
    for code in [ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode::INVALID_TRANSACTION_TIMEOUT] {
        let fake = Fake::start(2).await;
        fake.script(ApiKey::INIT_PRODUCER_ID, &[Next::Error(code)]);
        let p = Producer::new(fake.producer_config()).await.unwrap();
        let e = p.init_transactions().await.unwrap_err();
        assert_eq!(kind(&e), "fatal", "{code}: {e}");
        assert_eq!(e.code(), Some(code));
        p.close().await;
    }
}

#[tokio::test]
async fn a_commit_that_times_out_is_finished_by_calling_it_again() {
    for tv in [1, 2] {
        let (fake, p) = ready(tv).await;
        // Each EndTxn attempt waits request.timeout.ms (500 ms) for nothing; max.block.ms (3 s) runs out.
        fake.script(ApiKey::END_TXN, &[Next::Ignore; 8]);
        p.begin_transaction().unwrap();
        p.send(ProducerRecord::new(TOPIC).value("v")).await.unwrap().await.unwrap();
        let e = p.commit_transaction().await.unwrap_err();
        assert!(e.is_retriable(), "tv{tv}: {e}");
        assert_eq!(p.transaction_state(), Some(TransactionState::Committing));
        assert_eq!(kind(&p.begin_transaction().unwrap_err()), "usage");
        assert_eq!(kind(&p.abort_transaction().await.unwrap_err()), "usage", "the commit must be finished");
        let mut tries = 0;
        while let Err(e) = p.commit_transaction().await {
            assert!(e.is_retriable(), "tv{tv}: {e}");
            tries += 1;
            assert!(tries < 5, "tv{tv}: the commit never finished");
        }
        assert_eq!(p.transaction_state(), Some(TransactionState::Ready));
        let ends = fake.broker.received_api(ApiKey::END_TXN);
        assert!(ends.iter().all(|r| support::decode::<EndTxnRequest>(r).committed), "the same commit each time");
        one_transaction(&p, false).await.unwrap();
        p.close().await;
    }
}

#[tokio::test]
async fn abort_fails_the_records_not_sent() {
    let (fake, p) = ready(2).await;
    // The leader never answers the first Produce: the record is in flight; the ones behind it are not sent.
    fake.script(ApiKey::PRODUCE, &[Next::Ignore]);
    p.begin_transaction().unwrap();
    let mut futures = vec![p.send(ProducerRecord::new(TOPIC).value("first")).await.unwrap()];
    tokio::time::sleep(Duration::from_millis(50)).await;
    for i in 0..20 {
        futures.push(p.send(ProducerRecord::new(TOPIC).value(format!("v{i}"))).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    p.abort_transaction().await.unwrap();
    let mut failed = 0;
    for f in futures {
        if f.await.is_err() {
            failed += 1;
        }
    }
    assert_eq!(failed, 20, "the records not sent fail on abort, the one in flight completes");
    one_transaction(&p, true).await.unwrap();
    p.close().await;
}

#[tokio::test]
async fn tv1_abort_after_a_lost_sequence_bumps_the_epoch() {
    let (fake, p) = ready(1).await;
    fake.script(ApiKey::PRODUCE, &[Next::Error(ErrorCode::UNKNOWN_PRODUCER_ID)]);
    let e = one_transaction(&p, true).await.unwrap_err();
    assert!(matches!(kind(&e), "abortable" | "other"), "{e}");
    p.abort_transaction().await.unwrap();
    assert_eq!(fake.count(ApiKey::INIT_PRODUCER_ID), 2, "the abort asked for a new epoch (KIP-360)");
    let bump = fake.broker.received_api(ApiKey::INIT_PRODUCER_ID).pop().unwrap();
    let req: InitProducerIdRequest = support::decode(&bump);
    assert_eq!((req.producer_id, req.producer_epoch), (77, 1), "with the current id and epoch");
    one_transaction(&p, true).await.unwrap();
    let last = fake.broker.received_api(ApiKey::PRODUCE).pop().unwrap();
    let req: ProduceRequest = support::decode(&last);
    let records = req.topic_data[0].partition_data[0].records.clone().unwrap();
    let batch = kafkar::protocol::records::RecordBatchReader::new(records, Default::default()).next().unwrap().unwrap();
    let h = batch.header();
    assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), (77, 2, 0), "new epoch, sequences from 0");
    assert!(h.is_transactional);
    p.close().await;
}
