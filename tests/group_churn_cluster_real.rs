//! The consumer-group churn of tests/group_churn.rs on three real brokers, while the group coordinator's broker is
//! bounced: the test runs its own 3-node cluster on base port 24092 (`scripts/kafka start --nodes 3`: RF 3 and
//! min.insync.replicas 2 for the topic and for `__consumer_offsets`), so the shared broker is not disturbed.
//!
//! Member processes are SIGKILLed and replaced, added and stopped every 3–6 s (tests/support/churn.rs), and every
//! `KAFKAR_CHURN_BOUNCE_EVERY` to twice that many seconds the broker coordinating the group (FindCoordinator) is
//! SIGKILLed or stopped with SIGTERM, in turn, kept down about 1 s and restarted; only when all three brokers are
//! registered and no partition of the topic or of `__consumer_offsets` is under-replicated. The producer is
//! idempotent with acks=all and a delivery timeout that outlasts a bounce. The promises are the churn test's:
//! nothing lost, every duplicate explained by a member kill, the committed offsets at the end offsets.
//!
//! Both protocols run one after the other on one cluster. CI runs 30 s of traffic per protocol with at least one
//! bounce, a SIGKILL (the kind that found a client bug); `scripts/chaos churn-cluster` runs the long one (`KAFKAR_CHURN_SECS`, `KAFKAR_CHURN_RATE`,
//! `KAFKAR_CHURN_PARTITIONS`, `KAFKAR_CHURN_BOUNCE_EVERY`).

mod support;

#[path = "support/churn.rs"]
mod churn;

use std::time::Duration;

const PORT: &str = "24092";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_under_churn_with_their_coordinator_bounced_lose_nothing_and_duplicate_only_after_kills() {
    if support::real_broker().is_none() {
        return;
    }
    support::log_from_env();
    let (kafka, bootstrap) = support::OwnKafka::start(PORT, &["--nodes", "3"]).await;
    for protocol in ["classic", "consumer"] {
        churn::run(churn::Scenario {
            replication: 3,
            producer: support::restart_proof_producer(&bootstrap),
            bounce: Some(churn::Bounce {
                kafka: &kafka,
                every: Duration::from_secs(churn::knob("KAFKAR_CHURN_BOUNCE_EVERY", 10)),
                at_least: 1,
            }),
            ..churn::Scenario::from_knobs(&bootstrap, protocol, 30)
        })
        .await;
    }
}
