//! A consumer group under churn, against the real broker (`KAFKA_BOOTSTRAP`): keyed records flow into a topic
//! while member processes (examples/journaled_member.rs) are killed with SIGKILL and replaced, added, and stopped
//! with SIGTERM (they then commit and close). Each member journals every record it processes before committing,
//! and every commit that succeeded.
//!
//! At the end: nothing is lost (every offset of every partition was processed), every record processed twice is
//! explained by a kill (a killed member processed it at or after its last successful commit of that partition),
//! so graceful stops cause none, and the group's committed offsets equal the end offsets. The scenario is
//! tests/support/churn.rs, shared with tests/group_churn_cluster_real.rs (the same on three brokers whose group
//! coordinator is bounced).
//!
//! The CI variant runs about 30 s of traffic per protocol. `scripts/chaos churn` runs the long one; the knobs are
//! `KAFKAR_CHURN_SECS` (seconds of traffic), `KAFKAR_CHURN_RATE` (records/s) and `KAFKAR_CHURN_PARTITIONS`.

mod support;

#[path = "support/churn.rs"]
mod churn;

async fn run(protocol: &'static str) {
    let Some(bootstrap) = support::real_broker() else { return };
    churn::run(churn::Scenario::from_knobs(&bootstrap, protocol, 30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_cooperative_group_under_churn_loses_nothing_and_duplicates_only_after_kills() {
    run("classic").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_group_under_churn_loses_nothing_and_duplicates_only_after_kills() {
    run("consumer").await;
}
