//! The admin client against the fake broker, for what a real broker cannot be made to answer on demand: a
//! retriable error (NOT_CONTROLLER, COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR, CONCURRENT_TRANSACTIONS) then
//! success, at the controller, a coordinator and every broker; a broker that never answers (the admin timeout cuts
//! the call short); a retriable error that lasts (reported once the timeout passes); and per-item results where one
//! failed item neither hides nor delays the others.
//!
//! The fake is a one-broker cluster (node 0) and its own group and transaction coordinator. Each API answers with
//! the next [`Answer`] scripted for it (none: success).

mod support;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use kafkar::ErrorKind;
use kafkar::admin::{Admin, AdminConfig, ConfigResource, ElectionType, NewTopic};
use kafkar::protocol::messages::Request;
use kafkar::protocol::messages::create_topics::{CreatableTopicResult, CreateTopicsRequest, CreateTopicsResponse};
use kafkar::protocol::messages::delete_groups::{DeletableGroupResult, DeleteGroupsRequest, DeleteGroupsResponse};
use kafkar::protocol::messages::describe_cluster::{
    DescribeClusterBroker, DescribeClusterRequest, DescribeClusterResponse,
};
use kafkar::protocol::messages::elect_leaders::{
    ElectLeadersRequest, ElectLeadersResponse, ElectionPartitionResult, ReplicaElectionResult,
};
use kafkar::protocol::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use kafkar::protocol::messages::list_transactions::{
    ListTransactionsRequest, ListTransactionsResponse, ListedTransactionState,
};
use kafkar::protocol::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafkar::protocol::primitives::Uuid;
use kafkar::protocol::{ApiKey, ErrorCode};
use support::{Action, FakeBroker, Received};

/// What the fake answers one request of an API with.
#[derive(Clone, Debug)]
enum Answer {
    /// This code for the request as a whole (or for every item where the reply has no top-level code).
    All(ErrorCode),
    /// These codes for the named items (topics, groups, partitions as `topic-N`); success for the others.
    Items(Vec<(&'static str, ErrorCode)>),
    /// Never answer.
    Ignore,
}

impl Answer {
    fn top(&self) -> ErrorCode {
        match self {
            Answer::All(c) => *c,
            _ => ErrorCode::NONE,
        }
    }

    fn item(&self, name: &str) -> ErrorCode {
        match self {
            Answer::All(c) => *c,
            Answer::Items(items) => items.iter().find(|(n, _)| *n == name).map_or(ErrorCode::NONE, |(_, c)| *c),
            Answer::Ignore => ErrorCode::NONE,
        }
    }
}

#[derive(Default)]
struct State {
    script: HashMap<i16, VecDeque<Answer>>,
    /// Scripted answers that last: every request of the API gets it.
    always: HashMap<i16, Answer>,
    epoch: i16,
}

struct Fake {
    broker: FakeBroker,
    state: Arc<Mutex<State>>,
}

impl Fake {
    async fn start() -> Fake {
        let state = Arc::new(Mutex::new(State::default()));
        let port: Arc<OnceLock<u16>> = Arc::new(OnceLock::new());
        let (st, p) = (state.clone(), port.clone());
        let broker = FakeBroker::start(move |r: &Received| handle(&st, *p.get().unwrap_or(&0), r)).await;
        let _ = port.set(broker.addr.port());
        Fake { broker, state }
    }

    fn script(&self, api: ApiKey, answers: &[Answer]) {
        self.state.lock().unwrap().script.entry(api.0).or_default().extend(answers.iter().cloned());
    }

    fn always(&self, api: ApiKey, answer: Answer) {
        self.state.lock().unwrap().always.insert(api.0, answer);
    }

    fn requests(&self, api: ApiKey) -> Vec<Received> {
        self.broker.received_api(api)
    }

    /// An admin client with a short backoff, waiting `timeout` per operation.
    async fn admin(&self, timeout: Duration) -> Admin {
        let mut c = AdminConfig::new(&self.broker.bootstrap());
        c.set("retry.backoff.ms", "20").unwrap();
        c.set("request.timeout.ms", "30000").unwrap();
        Admin::new(c).await.unwrap().with_timeout(timeout)
    }
}

/// Decodes the request of `r` as `R` and answers with what `build` makes of it.
fn respond<R: Request>(r: &Received, build: impl FnOnce(R) -> R::Response) -> Action {
    let req: R = support::decode(r);
    support::reply::<R>(&build(req), r.header.api_version)
}

/// Node 0, the fake itself, as DescribeCluster and Metadata list it.
fn node0(port: u16) -> (i32, String, i32) {
    (0, "127.0.0.1".to_owned(), port as i32)
}

fn handle(st: &Mutex<State>, port: u16, r: &Received) -> Action {
    let key = ApiKey(r.header.api_key);
    let answer = {
        let mut s = st.lock().unwrap();
        let scripted = s.script.get_mut(&key.0).and_then(VecDeque::pop_front);
        scripted.or_else(|| s.always.get(&key.0).cloned()).unwrap_or(Answer::All(ErrorCode::NONE))
    };
    if matches!(answer, Answer::Ignore) {
        return Action::Ignore;
    }
    let (node_id, host, port) = node0(port);
    match key {
        ApiKey::API_VERSIONS => Action::Default,
        // Every topic asked for exists with one partition led by node 0.
        ApiKey::METADATA => respond(r, |req: MetadataRequest| MetadataResponse {
            brokers: vec![MetadataResponseBroker { node_id, host, port, ..Default::default() }],
            cluster_id: Some("fake".into()),
            controller_id: node_id,
            topics: req
                .topics
                .unwrap_or_default()
                .into_iter()
                .filter_map(|t| t.name)
                .map(one_partition_topic)
                .collect(),
            ..Default::default()
        }),
        ApiKey::FIND_COORDINATOR => support::find_coordinator_reply(r, port),
        ApiKey::DESCRIBE_CLUSTER => respond(r, |_: DescribeClusterRequest| DescribeClusterResponse {
            error_code: answer.top(),
            cluster_id: "fake".into(),
            controller_id: node_id,
            brokers: vec![DescribeClusterBroker { broker_id: node_id, host, port, ..Default::default() }],
            ..Default::default()
        }),
        ApiKey::CREATE_TOPICS => respond(r, |req: CreateTopicsRequest| CreateTopicsResponse {
            topics: req.topics.iter().map(|t| created(&t.name, answer.item(&t.name))).collect(),
            ..Default::default()
        }),
        ApiKey::DELETE_GROUPS => respond(r, |req: DeleteGroupsRequest| DeleteGroupsResponse {
            results: req
                .groups_names
                .into_iter()
                .map(|g| DeletableGroupResult { error_code: answer.item(&g), group_id: g, ..Default::default() })
                .collect(),
            ..Default::default()
        }),
        ApiKey::INIT_PRODUCER_ID => {
            let code = answer.top();
            let mut s = st.lock().unwrap();
            s.epoch += i16::from(code.is_ok());
            let epoch = s.epoch;
            respond(r, |_: InitProducerIdRequest| InitProducerIdResponse {
                error_code: code,
                producer_id: if code.is_ok() { 4242 } else { -1 },
                producer_epoch: epoch,
                ..Default::default()
            })
        }
        ApiKey::LIST_TRANSACTIONS => respond(r, |_: ListTransactionsRequest| ListTransactionsResponse {
            error_code: answer.top(),
            transaction_states: vec![ListedTransactionState {
                transactional_id: "tx-1".into(),
                producer_id: 4242,
                transaction_state: "Ongoing".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ApiKey::ELECT_LEADERS => respond(r, |req: ElectLeadersRequest| ElectLeadersResponse {
            error_code: answer.top(),
            replica_election_results: req
                .topic_partitions
                .unwrap_or_default()
                .into_iter()
                .map(|t| {
                    let result = |p: &i32| ElectionPartitionResult {
                        partition_id: *p,
                        error_code: answer.item(&format!("{}-{p}", t.topic)),
                        ..Default::default()
                    };
                    let partition_result = t.partitions.iter().map(result).collect();
                    ReplicaElectionResult { topic: t.topic.clone(), partition_result, ..Default::default() }
                })
                .collect(),
            ..Default::default()
        }),
        _ => Action::Close,
    }
}

/// A topic with one partition led by node 0.
fn one_partition_topic(name: String) -> MetadataResponseTopic {
    let p = MetadataResponsePartition {
        partition_index: 0,
        leader_id: 0,
        replica_nodes: vec![0],
        isr_nodes: vec![0],
        ..Default::default()
    };
    MetadataResponseTopic { name: Some(name), topic_id: Uuid([7; 16]), partitions: vec![p], ..Default::default() }
}

/// A CreateTopics result: created with one partition, or failed with `code` and a message naming the topic.
fn created(name: &str, code: ErrorCode) -> CreatableTopicResult {
    let (partitions, rf) = if code.is_ok() { (1, 1) } else { (-1, -1) };
    CreatableTopicResult {
        name: name.to_owned(),
        error_code: code,
        error_message: code.is_err().then(|| format!("scripted for {name}")),
        num_partitions: partitions,
        replication_factor: rf,
        ..Default::default()
    }
}

/// The topic names a CreateTopics request carried.
fn created_names(r: &Received) -> Vec<String> {
    let req: CreateTopicsRequest = support::decode(r);
    req.topics.into_iter().map(|t| t.name).collect()
}

#[tokio::test]
async fn one_failed_topic_neither_hides_nor_delays_the_others() {
    let fake = Fake::start().await;
    // Round 1: `retried` meets a controller that moved (retriable), `exists` and `bad` fail for good.
    fake.script(
        ApiKey::CREATE_TOPICS,
        &[Answer::Items(vec![
            ("retried", ErrorCode::NOT_CONTROLLER),
            ("exists", ErrorCode::TOPIC_ALREADY_EXISTS),
            ("bad", ErrorCode::INVALID_REPLICATION_FACTOR),
        ])],
    );
    let admin = fake.admin(Duration::from_secs(10)).await;
    let topics: Vec<NewTopic> = ["ok", "retried", "exists", "bad"].iter().map(|n| NewTopic::new(*n, 1, 1)).collect();
    let results = admin.create_topics(&topics, false).await.expect("one result per topic");
    assert_eq!(results.len(), 4, "{results:?}");
    results["ok"].as_ref().expect("created in the first round");
    results["retried"].as_ref().expect("created when retried");
    let code = |n: &str| results[n].as_ref().unwrap_err().code();
    assert_eq!(code("exists"), Some(ErrorCode::TOPIC_ALREADY_EXISTS));
    assert_eq!(code("bad"), Some(ErrorCode::INVALID_REPLICATION_FACTOR));
    let msg = results["bad"].as_ref().unwrap_err().to_string();
    assert!(msg.contains("scripted for bad"), "the broker's message is kept: {msg}");
    // The second round asked again for the retriable topic only.
    let sent = fake.requests(ApiKey::CREATE_TOPICS);
    assert_eq!(sent.len(), 2, "one retry round");
    assert_eq!(created_names(&sent[1]), ["retried"]);
}

#[tokio::test]
async fn a_loading_coordinator_is_retried_per_group_and_a_missing_group_is_final() {
    let fake = Fake::start().await;
    fake.script(
        ApiKey::DELETE_GROUPS,
        &[
            Answer::Items(vec![("loading", ErrorCode::COORDINATOR_LOAD_IN_PROGRESS)]),
            Answer::Items(vec![("gone", ErrorCode::GROUP_ID_NOT_FOUND)]),
            Answer::Items(vec![("loading", ErrorCode::NOT_COORDINATOR)]),
        ],
    );
    let admin = fake.admin(Duration::from_secs(10)).await;
    let results = admin.delete_groups(&["loading", "gone"]).await.expect("one result per group");
    results["loading"].as_ref().expect("deleted once the coordinator has loaded and been found again");
    assert_eq!(results["gone"].as_ref().unwrap_err().code(), Some(ErrorCode::GROUP_ID_NOT_FOUND));
    // loading: 3 attempts (load in progress, not coordinator, ok); gone: 1.
    assert_eq!(fake.requests(ApiKey::DELETE_GROUPS).len(), 4);
}

#[tokio::test]
async fn fencing_listing_and_election_retry_what_is_retriable() {
    let fake = Fake::start().await;
    fake.script(
        ApiKey::INIT_PRODUCER_ID,
        &[Answer::All(ErrorCode::CONCURRENT_TRANSACTIONS), Answer::All(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS)],
    );
    fake.script(ApiKey::LIST_TRANSACTIONS, &[Answer::All(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS)]);
    fake.script(ApiKey::ELECT_LEADERS, &[Answer::All(ErrorCode::NOT_CONTROLLER)]);
    fake.script(ApiKey::ELECT_LEADERS, &[Answer::Items(vec![("t-1", ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE)])]);
    let admin = fake.admin(Duration::from_secs(10)).await;

    let fenced = admin.fence_producers(&["tx-1"]).await.expect("fence");
    let pe = fenced["tx-1"].as_ref().expect("fenced after the retries");
    assert_eq!((pe.id, pe.epoch), (4242, 1));
    assert_eq!(fake.requests(ApiKey::INIT_PRODUCER_ID).len(), 3);

    let listed = admin.list_transactions(&[]).await.expect("listed once the coordinator has loaded");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].transactional_id, "tx-1");
    assert_eq!(fake.requests(ApiKey::LIST_TRANSACTIONS).len(), 2);

    let parts = [("t".to_owned(), 0), ("t".to_owned(), 1)];
    let elected = admin.elect_leaders(ElectionType::Preferred, Some(&parts)).await.expect("elect");
    assert_eq!(fake.requests(ApiKey::ELECT_LEADERS).len(), 2, "NOT_CONTROLLER is retried");
    let by = |p: i32| elected.iter().find(|(tp, _)| tp.1 == p).map(|(_, r)| r).expect("partition answered");
    by(0).as_ref().expect("partition 0 elected");
    assert_eq!(by(1).as_ref().unwrap_err().code(), Some(ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE));
}

#[tokio::test]
async fn a_broker_that_never_answers_fails_the_call_at_the_admin_timeout() {
    let fake = Fake::start().await;
    fake.always(ApiKey::DESCRIBE_CLUSTER, Answer::Ignore);
    fake.always(ApiKey::DESCRIBE_CONFIGS, Answer::Ignore);
    // request.timeout.ms is 30 s: only the admin timeout can end these calls this early.
    let admin = fake.admin(Duration::from_millis(700)).await;

    let start = Instant::now();
    let e = admin.describe_cluster().await.expect_err("no answer");
    assert!(matches!(e.kind(), ErrorKind::Timeout), "{e}");
    assert_eq!(e.context().api, Some(ApiKey::DESCRIBE_CLUSTER), "{e}");
    assert!(start.elapsed() < Duration::from_secs(5), "cut short at the admin timeout: {:?}", start.elapsed());

    let start = Instant::now();
    let r = admin.describe_configs(&[ConfigResource::topic("t")]).await.expect("per-resource results");
    let e = r[&ConfigResource::topic("t")].as_ref().expect_err("no answer");
    assert!(matches!(e.kind(), ErrorKind::Timeout), "{e}");
    assert!(start.elapsed() < Duration::from_secs(5), "cut short at the admin timeout: {:?}", start.elapsed());

    let e = admin.ping(Duration::from_millis(300)).await.expect_err("ping fails");
    assert!(matches!(e.kind(), ErrorKind::Timeout), "{e}");
}

#[tokio::test]
async fn a_retriable_error_that_lasts_is_reported_once_the_timeout_passes() {
    let fake = Fake::start().await;
    fake.always(ApiKey::LIST_TRANSACTIONS, Answer::All(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS));
    let admin = fake.admin(Duration::from_millis(600)).await;
    let start = Instant::now();
    let e = admin.list_transactions(&[]).await.expect_err("never loads");
    let took = start.elapsed();
    assert_eq!(e.code(), Some(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS), "{e}");
    assert!(took >= Duration::from_millis(500) && took < Duration::from_secs(5), "retried until the timeout: {took:?}");
    assert!(fake.requests(ApiKey::LIST_TRANSACTIONS).len() >= 3, "retried meanwhile");
}
