//! The admin commands of the `kafkar` binary against the real broker: `topics list|describe|alter`, `groups
//! list|describe|lag|reset|delete` (a consumer resuming exactly where a reset put it; an active group refusing),
//! `configs describe|alter`, `acls list|create|delete` (over SASL_SSL as the super user), `cluster --ping`, the
//! `--help` of each, and configuration from `KAFKA_*` variables and `-F` properties files.
//!
//! Needs `KAFKA_BOOTSTRAP` (scripts/test sets it); with `CI=true` a missing broker is a failure, otherwise the test
//! says why it skipped.

mod support;

use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::*;

/// `kafkar ARGS` against `broker`, not asserted to succeed.
fn attempt(broker: &str, args: &[&str]) -> Output {
    run(kafkar_cmd(broker).args(args), b"")
}

/// Parses a command's JSON output.
fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Polls `check` every 200 ms until it returns `Some`, for up to `secs` seconds.
fn wait_for<T>(what: &str, secs: u64, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(started.elapsed() < Duration::from_secs(secs), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The value of config `name` in a `--json` config array.
fn config_value(configs: &Value, name: &str) -> Option<String> {
    configs.as_array()?.iter().find(|c| c["name"] == name).and_then(|c| c["value"].as_str().map(str::to_owned))
}

#[test]
fn topics_list_describe_and_alter() {
    let Some(b) = broker() else { return };
    let topic = unique("topics");
    let out = kafkar(&b, &["topics", "create", &topic, "-p", "1", "-c", "retention.ms=123456"], b"");
    assert!(out.contains(&format!("created {topic}")), "{out}");
    // Listed; the internal __consumer_offsets only with --internal.
    let listed = kafkar(&b, &["topics", "list"], b"");
    assert!(listed.starts_with("TOPIC") && listed.lines().any(|l| l.starts_with(&format!("{topic} "))), "{listed}");
    assert!(!listed.contains("__consumer_offsets"), "{listed}");
    let internal = kafkar(&b, &["topics", "list", "--internal"], b"");
    assert!(internal.contains("__consumer_offsets (internal)"), "{internal}");
    let all = json(&kafkar(&b, &["topics", "list", "--json"], b""));
    let entry = all.as_array().unwrap().iter().find(|t| t["name"] == topic.as_str()).expect("listed in JSON");
    assert_eq!((entry["partitions"].as_i64(), entry["internal"].as_bool()), (Some(1), Some(false)));
    // Described: partitions with leader, replicas and ISR, and the config set at creation.
    let text = kafkar(&b, &["topics", "describe", &topic], b"");
    assert!(text.contains(&format!("topic {topic}  id ")) && text.contains("partitions 1  replication factor 1"));
    assert!(text.contains("PARTITION  LEADER  EPOCH  REPLICAS  ISR  OFFLINE"), "{text}");
    let row = text.lines().find(|l| l.starts_with("0  ")).unwrap_or_else(|| panic!("no partition row: {text}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!((cells[3], cells[4], cells[5]), (cells[1], cells[1], "-"), "leader, replicas, ISR: {row}");
    assert!(text.lines().any(|l| l.split_whitespace().eq(["retention.ms", "123456", "topic"])), "{text}");
    // Altered: more partitions, a config set and one deleted, in one command.
    let out = kafkar(
        &b,
        &[
            "topics",
            "alter",
            &topic,
            "--partitions",
            "3",
            "--set",
            "cleanup.policy=compact",
            "--delete",
            "retention.ms",
        ],
        b"",
    );
    assert!(out.contains("partitions -> 3 (done)") && out.contains("set cleanup.policy=compact (done)"), "{out}");
    let described = wait_for("the altered topic", 15, || {
        let d = json(&kafkar(&b, &["topics", "describe", &topic, "--json"], b""));
        let t = d[0].clone();
        let done = t["partitions"].as_array().map(Vec::len) == Some(3)
            && config_value(&t["configs"], "cleanup.policy").as_deref() == Some("compact")
            && config_value(&t["configs"], "retention.ms").is_none();
        done.then_some(t)
    });
    for p in described["partitions"].as_array().unwrap() {
        assert!(p["leader"].as_i64().is_some() && p["isr"] == p["replicas"], "{p}");
    }
    // --all-configs includes the defaults.
    let every = json(&kafkar(&b, &["topics", "describe", &topic, "--json", "--all-configs"], b""));
    assert!(config_value(&every[0]["configs"], "segment.bytes").is_some(), "{every}");
    // Fewer partitions and an empty alter are refused; an unknown topic fails, naming it, after the known one.
    let out = attempt(&b, &["topics", "alter", &topic, "--partitions", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(attempt(&b, &["topics", "alter", &topic]).status.code(), Some(2));
    let missing = unique("missing");
    let out = attempt(&b, &["topics", "describe", &topic, &missing]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("topic {topic}")));
    assert!(stderr(&out).contains(&missing) && stderr(&out).contains("1 of 2 failed"), "{}", stderr(&out));
}

#[test]
fn configs_describe_and_alter_topics_brokers_and_groups() {
    let Some(b) = broker() else { return };
    let topic = unique("configs");
    create_topic(&b, &topic, 1);
    let topic_config = |name: &str| {
        let all = json(&kafkar(&b, &["configs", "describe", "--topic", &topic, "--json"], b""));
        config_value(&all, name)
    };
    // Set, append, subtract, delete on a list config.
    kafkar(&b, &["configs", "alter", "--topic", &topic, "--set", "cleanup.policy=delete"], b"");
    wait_for("set", 15, || (topic_config("cleanup.policy").as_deref() == Some("delete")).then_some(()));
    let out = kafkar(&b, &["configs", "alter", "--topic", &topic, "--append", "cleanup.policy=compact"], b"");
    assert!(out.contains("appended compact to cleanup.policy (done)"), "{out}");
    wait_for("append", 15, || (topic_config("cleanup.policy").as_deref() == Some("delete,compact")).then_some(()));
    kafkar(&b, &["configs", "alter", "--topic", &topic, "--subtract", "cleanup.policy=delete"], b"");
    wait_for("subtract", 15, || (topic_config("cleanup.policy").as_deref() == Some("compact")).then_some(()));
    let table = kafkar(&b, &["configs", "describe", "--topic", &topic], b"");
    assert!(
        table.starts_with("NAME")
            && table.lines().any(|l| l.split_whitespace().eq(["cleanup.policy", "compact", "topic"])),
        "{table}"
    );
    kafkar(&b, &["configs", "alter", "--topic", &topic, "--delete", "cleanup.policy"], b"");
    wait_for("delete", 15, || topic_config("cleanup.policy").is_none().then_some(()));
    // A bad value is refused by the broker (exit 1); --validate-only changes nothing.
    let out = attempt(&b, &["configs", "alter", "--topic", &topic, "--set", "retention.ms=soon"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out =
        kafkar(&b, &["configs", "alter", "--topic", &topic, "--set", "retention.ms=1000", "--validate-only"], b"");
    assert!(out.contains("(valid)"), "{out}");
    assert_eq!(topic_config("retention.ms"), None);
    // A broker's configs (static ones included), set and deleted dynamically.
    let broker_id = json(&kafkar(&b, &["cluster", "--ping", "--json"], b""))["controller"].as_i64();
    let cluster = kafkar(&b, &["cluster"], b"");
    let id = cluster
        .lines()
        .find_map(|l| l.trim().strip_prefix("broker ")?.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| panic!("no broker in {cluster}"));
    assert!(broker_id.is_some());
    let broker_config = |name: &str| {
        let all = json(&kafkar(&b, &["configs", "describe", "--broker", &id, "--json", "--all"], b""));
        all.as_array().unwrap().iter().find(|c| c["name"] == name).cloned()
    };
    assert_eq!(broker_config("broker.id").expect("broker.id")["value"], id.as_str());
    // A value of this run's own (the broker is shared), set and removed.
    let backoff = (15_000 + std::process::id() % 1000).to_string();
    let set = format!("log.cleaner.backoff.ms={backoff}");
    kafkar(&b, &["configs", "alter", "--broker", &id, "--set", &set], b"");
    wait_for("the broker config", 15, || {
        broker_config("log.cleaner.backoff.ms").filter(|c| c["value"] == backoff.as_str() && c["source"] == "broker")
    });
    kafkar(&b, &["configs", "alter", "--broker", &id, "--delete", "log.cleaner.backoff.ms"], b"");
    wait_for("the broker config's removal", 15, || {
        broker_config("log.cleaner.backoff.ms").filter(|c| c["value"] != backoff.as_str())
    });
    let defaults = kafkar(&b, &["configs", "describe", "--broker-defaults"], b"");
    assert!(defaults.starts_with("NAME") || defaults.contains("no config set"), "{defaults}");
    // A group's config (group config resources came with Kafka 4.0: older brokers refuse the resource type).
    let group = unique("cfg-group");
    let alter = ["configs", "alter", "--group", &group, "--set", "consumer.session.timeout.ms=50000"];
    if broker_version() < (4, 0) {
        let out = attempt(&b, &alter);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("INVALID_REQUEST"));
    } else {
        kafkar(&b, &alter, b"");
        wait_for("the group config", 15, || {
            let all = json(&kafkar(&b, &["configs", "describe", "--group", &group, "--json"], b""));
            all.as_array()?
                .iter()
                .any(|c| c["name"] == "consumer.session.timeout.ms" && c["value"] == "50000" && c["source"] == "group")
                .then_some(())
        });
    }
    // Exactly one resource: two is a usage error.
    let out = attempt(&b, &["configs", "describe", "--topic", &topic, "--broker", &id]);
    assert_eq!(out.status.code(), Some(2));
}

/// `groups lag GROUP --json`, as (topic partition -> (committed, end, lag)) and the end it is measured against.
fn lag(b: &str, group: &str, extra: &[&str]) -> (Vec<(i64, i64, i64, i64)>, String) {
    let mut args = vec!["groups", "lag", group, "--json"];
    args.extend_from_slice(extra);
    let v = json(&kafkar(b, &args, b""));
    let rows = v["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let n = |k: &str| p[k].as_i64().unwrap_or(-99);
            (n("partition"), n("committed"), n("end_offset"), n("lag"))
        })
        .collect();
    (rows, v["end"].as_str().unwrap_or_default().to_owned())
}

/// What a group member reads to the end: (partition, offset), sorted.
fn resume(b: &str, topic: &str, group: &str) -> Vec<(i32, i64)> {
    let out = kafkar(b, &["consume", "-t", topic, "-g", group, "-e", "-f", r"%p/%o\n"], b"");
    let mut read: Vec<(i32, i64)> = out
        .lines()
        .map(|l| {
            let (p, o) = l.split_once('/').unwrap_or_else(|| panic!("not partition/offset: {l}"));
            (p.parse().expect("partition"), o.parse().expect("offset"))
        })
        .collect();
    read.sort();
    read
}

/// (partition, offset) for offsets `range` of partition `p`.
fn offsets(p: i32, range: std::ops::Range<i64>) -> Vec<(i32, i64)> {
    range.map(|o| (p, o)).collect()
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[test]
fn groups_list_describe_lag_reset_delete_and_a_consumer_resumes_at_the_reset_offsets() {
    let Some(b) = broker() else { return };
    let topic = unique("groups");
    let group = unique("group");
    create_topic(&b, &topic, 2);
    let lines = |n: usize| (0..n).map(|i| format!("{i}\n")).collect::<String>();
    kafkar(&b, &["produce", "-t", &topic, "-p", "0"], lines(10).as_bytes());
    kafkar(&b, &["produce", "-t", &topic, "-p", "1"], lines(6).as_bytes());
    assert_eq!(kafkar(&b, &["consume", "-t", &topic, "-g", &group, "-o", "beginning", "-e"], b"").lines().count(), 16);
    // Listed (empty now), with state filters applied.
    let listed = kafkar(&b, &["groups", "list"], b"");
    let row = listed.lines().find(|l| l.starts_with(&format!("{group} "))).unwrap_or_else(|| panic!("{listed}"));
    assert!(row.contains("Empty") && row.contains("consumer"), "{row}");
    let stable = json(&kafkar(&b, &["groups", "list", "--state", "stable", "--json"], b""));
    assert!(!stable.as_array().unwrap().iter().any(|g| g["group"] == group.as_str()), "{stable}");
    let empty = json(&kafkar(&b, &["groups", "list", "--state", "Empty", "--type", "classic", "--json"], b""));
    assert!(empty.as_array().unwrap().iter().any(|g| g["group"] == group.as_str() && g["state"] == "Empty"));
    let described = kafkar(&b, &["groups", "describe", &group], b"");
    assert!(
        described.contains(&format!("group {group}  type classic  state Empty")) && described.contains("members 0")
    );
    // Lag against the high watermark, then the last stable offset.
    kafkar(&b, &["produce", "-t", &topic, "-p", "0"], lines(3).as_bytes());
    let (rows, end) = lag(&b, &group, &[]);
    assert_eq!((rows, end.as_str()), (vec![(0, 10, 13, 3), (1, 6, 6, 0)], "high_watermark"));
    let (rows, end) = lag(&b, &group, &["--isolation", "read_committed"]);
    assert_eq!((rows, end.as_str()), (vec![(0, 10, 13, 3), (1, 6, 6, 0)], "last_stable_offset"));
    let text = kafkar(&b, &["groups", "lag", &group], b"");
    assert!(text.contains("lag against the high watermark") && text.contains("HIGH-WATERMARK"), "{text}");
    assert!(text.contains("total lag 3"), "{text}");
    let text = kafkar(&b, &["groups", "lag", &group, "--isolation", "read_committed"], b"");
    assert!(text.contains("last stable offset (read_committed)") && text.contains("LAST-STABLE-OFFSET"), "{text}");
    // A dry run (the default) shows the plan and commits nothing.
    let plan = kafkar(&b, &["groups", "reset", &group, "--topic", &topic, "--to-earliest"], b"");
    assert!(plan.contains("CURRENT-OFFSET  NEW-OFFSET"), "{plan}");
    let plan_rows: Vec<Vec<&str>> = plan.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(plan_rows, vec![vec![topic.as_str(), "0", "10", "0"], vec![topic.as_str(), "1", "6", "0"]]);
    assert_eq!(lag(&b, &group, &[]).0, vec![(0, 10, 13, 3), (1, 6, 6, 0)], "a dry run commits nothing");
    // To an offset on one partition: the consumer resumes exactly there (and at the end of the other).
    let out = kafkar(
        &b,
        &["groups", "reset", &group, "--topic", &format!("{topic}:0"), "--to-offset", "7", "--execute"],
        b"",
    );
    assert!(out.contains("committed 1 offset(s)"), "{out}");
    assert_eq!(resume(&b, &topic, &group), offsets(0, 7..13));
    // Shifted back by 2 on every partition with a commit.
    let out = kafkar(&b, &["groups", "reset", &group, "--all-topics", "--shift-by", "-2", "--execute", "--json"], b"");
    let v = json(&out);
    assert_eq!(
        (v["executed"].as_bool(), v["partitions"][0]["current"].as_i64(), v["partitions"][0]["new"].as_i64()),
        (Some(true), Some(13), Some(11))
    );
    assert_eq!(resume(&b, &topic, &group), [offsets(0, 11..13), offsets(1, 4..6)].concat());
    // By time: the first record at or after a moment between two writes.
    kafkar(&b, &["produce", "-t", &topic, "-p", "1"], b"before\n");
    std::thread::sleep(Duration::from_millis(50));
    let moment = now_ms();
    std::thread::sleep(Duration::from_millis(50));
    kafkar(&b, &["produce", "-t", &topic, "-p", "1"], b"after1\nafter2\n");
    let p1 = format!("{topic}:1");
    kafkar(&b, &["groups", "reset", &group, "--topic", &p1, "--to-timestamp", &moment.to_string(), "--execute"], b"");
    assert_eq!(resume(&b, &topic, &group), offsets(1, 7..9), "offset 6 is `before`");
    // A date long past: the start; then the end.
    kafkar(
        &b,
        &["groups", "reset", &group, "--topic", &topic, "--to-datetime", "2000-01-01T00:00:00+02:00", "--execute"],
        b"",
    );
    assert_eq!(resume(&b, &topic, &group).len(), 13 + 9);
    kafkar(&b, &["groups", "reset", &group, "--topic", &topic, "--to-earliest", "--execute"], b"");
    kafkar(&b, &["groups", "reset", &group, "--topic", &topic, "--to-latest", "--execute"], b"");
    assert_eq!(lag(&b, &group, &[]).0, vec![(0, 13, 13, 0), (1, 9, 9, 0)]);
    // Bad reset arguments are usage errors.
    assert_eq!(attempt(&b, &["groups", "reset", &group, "--topic", &topic]).status.code(), Some(2));
    assert_eq!(attempt(&b, &["groups", "reset", &group, "--to-latest"]).status.code(), Some(2));
    assert_eq!(
        attempt(&b, &["groups", "reset", &group, "--all-topics", "--to-datetime", "noon"]).status.code(),
        Some(2)
    );
    // Offsets of one partition deleted, then the group.
    let out = kafkar(&b, &["groups", "delete", &group, "--topic", &p1], b"");
    assert!(out.contains(&format!("deleted offset of group {group} for {topic}:1")), "{out}");
    assert_eq!(lag(&b, &group, &[]).0, vec![(0, 13, 13, 0)]);
    assert!(kafkar(&b, &["groups", "delete", &group], b"").contains(&format!("deleted group {group}")));
    let listed = json(&kafkar(&b, &["groups", "list", "--json"], b""));
    assert!(!listed.as_array().unwrap().iter().any(|g| g["group"] == group.as_str()));
    let out = attempt(&b, &["groups", "describe", &group]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("GROUP_ID_NOT_FOUND"), "{}", stderr(&out));
}

/// A `kafkar consume -g` member running until killed.
struct Member(Child);

impl Member {
    fn start(b: &str, topic: &str, group: &str, extra: &[&str]) -> Member {
        let child = kafkar_cmd(b)
            .args(["consume", "-t", topic, "-g", group])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a consumer");
        Member(child)
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn active_classic_and_consumer_groups_are_described_and_refuse_reset_and_delete() {
    let Some(b) = broker() else { return };
    let topic = unique("active");
    create_topic(&b, &topic, 2);
    let classic = unique("classic");
    let consumer = unique("kip848");
    let _members = [
        Member::start(&b, &topic, &classic, &[]),
        Member::start(&b, &topic, &consumer, &["-X", "group.protocol=consumer"]),
    ];
    for (group, kind) in [(&classic, "classic"), (&consumer, "consumer")] {
        let g = wait_for(&format!("a stable {kind} group with its member"), 30, || {
            // Until the member's first join reaches the coordinator the group does not exist (GROUP_ID_NOT_FOUND).
            let out = attempt(&b, &["groups", "describe", group, "--json"]);
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.contains("GROUP_ID_NOT_FOUND"), "groups describe {group}: {stderr}");
                return None;
            }
            let v = json(&String::from_utf8_lossy(&out.stdout));
            let g = v[0].clone();
            (g["state"] == "Stable"
                && g["members"].as_array()?.len() == 1
                && g["members"][0]["assignment"].as_array()?.len() == 2)
                .then_some(g)
        });
        assert_eq!(g["type"], kind);
        let m = &g["members"][0];
        assert_eq!(m["subscribed_topics"], serde_json::json!([topic]));
        assert_eq!(m["client_id"], "kafkar");
        if kind == "consumer" {
            assert!(g["group_epoch"].as_i64() > Some(0) && m["member_epoch"].as_i64() > Some(0), "{g}");
            assert_eq!(m["target_assignment"], m["assignment"], "{g}");
        }
        let text = kafkar(&b, &["groups", "describe", group], b"");
        assert!(
            text.contains(&format!("type {kind}  state Stable")) && text.contains(&format!("{topic}:0,1")),
            "{text}"
        );
        // Lag names the member reading each partition (once it committed its positions).
        wait_for(&format!("the {kind} group's commits"), 20, || {
            let v = json(&kafkar(&b, &["groups", "lag", group, "--json"], b""));
            let parts = v["partitions"].as_array()?.clone();
            (parts.len() == 2 && parts.iter().all(|p| p["client_id"] == "kafkar" && p["member_id"] == m["member_id"]))
                .then_some(())
        });
        // Reset refused (exit 4) with a clear reason; a dry run still shows the plan and says so.
        let out = attempt(&b, &["groups", "reset", group, "--topic", &topic, "--to-earliest", "--execute"]);
        assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("is active") && stderr(&out).contains("nothing was committed"),
            "{}",
            stderr(&out)
        );
        let out = attempt(&b, &["groups", "reset", group, "--topic", &topic, "--to-earliest", "--dry-run"]);
        assert!(out.status.success() && stderr(&out).contains("1 active member(s)"), "{}", stderr(&out));
        // Deleting it is refused too.
        let out = attempt(&b, &["groups", "delete", group]);
        assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
        assert!(stderr(&out).contains("NON_EMPTY_GROUP"), "{}", stderr(&out));
    }
    let stable = json(&kafkar(&b, &["groups", "list", "--state", "Stable", "--type", "consumer", "--json"], b""));
    let names: Vec<&str> = stable.as_array().unwrap().iter().filter_map(|g| g["group"].as_str()).collect();
    assert!(names.contains(&consumer.as_str()) && !names.contains(&classic.as_str()), "{names:?}");
}

#[test]
fn acls_list_create_and_delete_over_sasl_ssl_configured_by_file_and_environment() {
    if broker().is_none() {
        return;
    }
    let Some((bootstrap, settings)) = sasl_ssl() else { return };
    let file = properties_file("admin.properties", &bootstrap, &settings);
    let by_file = |args: &[&str]| run(bare_kafkar().arg("-F").arg(&file).args(args), b"");
    let ok = |out: Output| {
        assert!(out.status.success(), "{:?}: {}", out.status, stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let topic = unique("acl");
    let on_topic = ["--resource-type", "topic", "--resource-name", topic.as_str()];
    let created = ok(by_file(
        &[
            &["acls", "create"],
            &on_topic[..],
            &["--principal", "User:bob", "--operation", "read", "--operation", "write"],
        ]
        .concat(),
    ));
    assert!(created.contains("created 2 binding(s)"), "{created}");
    let prefixed = ok(by_file(&[
        "acls",
        "create",
        "--resource-type",
        "topic",
        "--resource-name",
        &topic[..10],
        "--pattern-type",
        "prefixed",
        "--principal",
        "User:carol",
        "--operation",
        "describe",
        "--permission",
        "deny",
    ]));
    assert!(prefixed.contains("PREFIXED") && prefixed.contains("DENY"), "{prefixed}");
    // Listed with filters, in a table and as JSON.
    let listed = ok(by_file(&[&["acls", "list"], &on_topic[..]].concat()));
    assert!(
        listed.lines().any(|l| l.split_whitespace().eq(["TOPIC", &topic, "LITERAL", "User:bob", "*", "READ", "ALLOW"])),
        "{listed}"
    );
    let bindings = json(&ok(by_file(&[&["acls", "list", "--json"], &on_topic[..]].concat())));
    assert_eq!(bindings.as_array().map(Vec::len), Some(2), "{bindings}");
    let reads = json(&ok(by_file(
        &[&["acls", "list", "--json", "--operation", "read", "--principal", "User:bob"], &on_topic[..]].concat(),
    )));
    assert_eq!(reads.as_array().map(Vec::len), Some(1), "{reads}");
    assert_eq!(reads[0]["operation"], "READ");
    // `match`: every binding that applies to the topic, the prefixed one too.
    let matching =
        json(&ok(by_file(&[&["acls", "list", "--json", "--pattern-type", "match"], &on_topic[..]].concat())));
    assert_eq!(matching.as_array().map(Vec::len), Some(3), "{matching}");
    // The same listing configured by KAFKA_* variables only.
    let mut env = bare_kafkar();
    env.env("KAFKA_BOOTSTRAP_SERVERS", &bootstrap);
    for (k, v) in &settings {
        env.env(env_name(k), v);
    }
    let by_env = ok(run(env.args([&["acls", "list", "--json"], &on_topic[..]].concat()), b""));
    assert_eq!(json(&by_env), bindings);
    // Deleted by filter; a filter matching everything needs --all.
    let deleted = ok(by_file(&[&["acls", "delete", "--operation", "write"], &on_topic[..]].concat()));
    assert!(deleted.contains("deleted 1 binding(s)") && deleted.contains("WRITE"), "{deleted}");
    assert_eq!(by_file(&["acls", "delete"]).status.code(), Some(2));
    ok(by_file(&[&["acls", "delete"], &on_topic[..]].concat()));
    ok(by_file(&["acls", "delete", "--principal", "User:carol", "--resource-name", &topic[..10]]));
    let left = json(&ok(by_file(&[&["acls", "list", "--json", "--pattern-type", "match"], &on_topic[..]].concat())));
    assert_eq!(left, serde_json::json!([]));
    // Bad names are usage errors listing the valid ones.
    let out = by_file(&["acls", "list", "--operation", "fly"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("idempotent-write"), "{}", stderr(&out));
    if let Some(dir) = file.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn cluster_ping_answers_within_its_deadline_or_fails() {
    let Some(b) = broker() else { return };
    let out = kafkar(&b, &["cluster", "--ping"], b"");
    assert!(out.starts_with("ok: cluster ") && out.contains("live broker(s)"), "{out}");
    let v = json(&kafkar(&b, &["cluster", "--ping", "--json", "--timeout", "3000"], b""));
    assert!(v["ok"] == true && v["brokers"].as_i64() >= Some(1) && v["ms"].as_f64() < Some(3000.0), "{v}");
    // From the environment and from a properties file.
    let env = run(bare_kafkar().env("KAFKA_BOOTSTRAP_SERVERS", &b).args(["cluster", "--ping"]), b"");
    assert!(env.status.success(), "{}", stderr(&env));
    let file = properties_file("ping.properties", &b, &[]);
    let by_file = run(bare_kafkar().arg("-F").arg(&file).args(["cluster", "--ping"]), b"");
    assert!(by_file.status.success(), "{}", stderr(&by_file));
    // Nothing listening: exit 1 by the deadline.
    let started = Instant::now();
    let out = run(bare_kafkar().args(["-b", "127.0.0.1:1", "cluster", "--ping", "--json", "--timeout", "1000"]), b"");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(5), "the deadline was not kept: {:?}", started.elapsed());
    assert_eq!(json(&String::from_utf8_lossy(&out.stdout))["ok"], false);
    // --timeout without --ping is a usage error.
    assert_eq!(run(bare_kafkar().args(["cluster", "--timeout", "5"]), b"").status.code(), Some(2));
    if let Some(dir) = file.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn help_of_every_admin_command() {
    let cases: &[(&[&str], &[&str])] = &[
        (&[], &["Exit codes", "4  refused because a consumer group has active members", "groups", "configs", "acls"]),
        (&["topics"], &["list", "describe", "create", "alter", "delete"]),
        (&["topics", "list"], &["--internal", "--json"]),
        (&["topics", "describe"], &["<TOPICS>", "--all-configs", "--json", "ISR"]),
        (&["topics", "create"], &["--partitions", "--replication-factor", "--config"]),
        (&["topics", "alter"], &["--partitions", "--set", "--delete", "--append", "--subtract", "--validate-only"]),
        (&["groups"], &["list", "describe", "lag", "reset", "delete"]),
        (&["groups", "list"], &["--state", "--type", "--json"]),
        (&["groups", "describe"], &["<GROUPS>", "--json", "KIP-848"]),
        (&["groups", "lag"], &["--isolation", "read_committed", "last stable offset", "high watermark", "--json"]),
        (
            &["groups", "reset"],
            &[
                "--topic",
                "--all-topics",
                "--to-earliest",
                "--to-latest",
                "--to-datetime",
                "--to-timestamp",
                "--to-offset",
                "--shift-by",
                "--dry-run",
                "--execute",
                "--json",
                "exit code 4",
            ],
        ),
        (&["groups", "delete"], &["<GROUPS>", "--topic"]),
        (&["configs"], &["describe", "alter"]),
        (&["configs", "describe"], &["--topic", "--broker", "--broker-defaults", "--group", "--all", "--json"]),
        (&["configs", "alter"], &["--topic", "--broker", "--group", "--set", "--delete", "--append", "--subtract"]),
        (&["acls"], &["list", "create", "delete"]),
        (
            &["acls", "list"],
            &[
                "--resource-type",
                "--resource-name",
                "--pattern-type",
                "--principal",
                "--host",
                "--operation",
                "--permission",
                "--json",
            ],
        ),
        (
            &["acls", "create"],
            &[
                "--resource-type",
                "--resource-name",
                "--pattern-type",
                "--principal",
                "--host",
                "--operation",
                "--permission",
            ],
        ),
        (&["acls", "delete"], &["--resource-type", "--principal", "--operation", "--all", "--json"]),
        (&["cluster"], &["--internal", "--ping", "--timeout", "--json", "exit 0"]),
    ];
    assert_help(cases);
}
