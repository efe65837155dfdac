//! The `kafkar` binary against a real broker, side by side with kcat: the same produce and consume cases through
//! both tools (every codec, keys, headers, null and empty values, offsets by position and by time), outputs diffed;
//! `--help` of every command; configuration from the environment and from properties files.
//!
//! Needs `KAFKA_BOOTSTRAP` (scripts/test sets it) and kcat on the PATH; with `CI=true` a missing one is a failure,
//! otherwise the test says why it skipped.

use std::process::Command;
use std::time::{Duration, Instant};

mod support;

use support::*;

/// `kcat -b broker ARGS`, asserted to succeed; its stdout.
fn kcat(broker: &str, args: &[&str], stdin: &[u8]) -> String {
    let out = run(Command::new("kcat").args(["-b", broker, "-q"]).args(args), stdin);
    assert!(out.status.success(), "kcat {args:?}: {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Everything but the timestamp, which differs between two topics written at different times.
const FORMAT: &str = r"%t|%p|%o|%k|%K|%s|%S|%h\n";
const FORMAT_TS: &str = r"%p|%o|%T|%k|%K|%s|%S|%h\n";

/// Input lines covering keys, no key, empty keys and values (null with -Z), a delimiter in the value.
const INPUT: &[u8] = b"k1\tv1\nk2\t\n\tv3\nno-delimiter\nk5\tv5\twith tab\n\t\nk7\tv7\n";

/// Reads `topic` to its end with both tools, asserts the outputs are equal (lines sorted), returns them.
fn read_both(broker: &str, topic: &str, format: &str, extra: &[&str]) -> String {
    let mut kcat_args = vec!["-C", "-t", topic, "-e", "-f", format];
    kcat_args.extend_from_slice(extra);
    let mut kafkar_args = vec!["consume", "-t", topic, "-e", "-f", format];
    kafkar_args.extend_from_slice(extra);
    // Partitions interleave as fetches happen to answer: compare the lines sorted (each names its partition and
    // offset when it matters).
    let sorted = |s: String| {
        let mut lines: Vec<&str> = s.split_inclusive('\n').collect();
        lines.sort();
        lines.concat()
    };
    let by_kcat = sorted(kcat(broker, &kcat_args, b""));
    let by_kafkar = sorted(kafkar(broker, &kafkar_args, b""));
    assert_eq!(by_kafkar, by_kcat, "kafkar (left) and kcat (right) read {topic} with {extra:?} differently");
    by_kafkar
}

#[test]
fn every_codec_keys_headers_null_and_empty_values_written_and_read_by_both_tools() {
    let Some(b) = broker_and_kcat() else { return };
    // One thread per case: each waits mostly on the tools' fetch waits.
    std::thread::scope(|scope| {
        for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
            for null_empty in [false, true] {
                let b = &b;
                scope.spawn(move || codec_case(b, codec, null_empty));
            }
        }
    });
}

/// One codec case of the matrix: the same input written by both tools, each topic read by both.
fn codec_case(b: &str, codec: &str, null_empty: bool) {
    let by_kafkar = unique(&format!("w-kafkar-{codec}"));
    let by_kcat = unique(&format!("w-kcat-{codec}"));
    create_topic(b, &by_kafkar, 1);
    create_topic(b, &by_kcat, 1);
    let mut args = vec!["-K", r"\t", "-H", "h1=v1", "-H", "h2=", "-H", "h1=again", "-z", codec, "-p", "0"];
    if null_empty {
        args.push("-Z");
    }
    let mut kafkar_args = vec!["produce", "-t", &by_kafkar];
    kafkar_args.extend_from_slice(&args);
    kafkar(b, &kafkar_args, INPUT);
    let mut kcat_args = vec!["-P", "-t", &by_kcat];
    kcat_args.extend_from_slice(&args);
    kcat(b, &kcat_args, INPUT);
    let written_by_kafkar = read_both(b, &by_kafkar, FORMAT, &[]);
    let written_by_kcat = read_both(b, &by_kcat, FORMAT, &[]);
    assert_eq!(
        written_by_kafkar.replace(&by_kafkar, "T"),
        written_by_kcat.replace(&by_kcat, "T"),
        "kafkar and kcat wrote different records ({codec}, -Z {null_empty})"
    );
    assert_eq!(written_by_kafkar.lines().count(), 7, "{written_by_kafkar}");
    if null_empty {
        // -Z on the reading side prints NULL for null keys and values. (kcat prints NULL for empty ones
        // too, as librdkafka hands both out alike; kafkar keeps empty apart, so only a topic without
        // empty keys or values is compared.)
        let nulls = read_both(b, &by_kafkar, r"%k/%s\n", &["-Z"]);
        assert!(nulls.contains("k2/NULL\n") && nulls.contains("NULL/v3\n"), "{nulls}");
        assert!(written_by_kafkar.contains("|k2|2||-1|"), "k2's empty value is null: {written_by_kafkar}");
    } else {
        assert!(written_by_kafkar.contains("|k2|2||0|"), "k2's value is empty: {written_by_kafkar}");
    }
}

#[test]
fn default_output_json_and_a_null_header_match_kcat() {
    let Some(b) = broker_and_kcat() else { return };
    let topic = unique("json");
    create_topic(&b, &topic, 3);
    // A null header value only kafkar can write (`-H name`); keys spread over the partitions.
    kafkar(&b, &["produce", "-t", &topic, "-K", ":", "-H", "n", "-H", "e=", "-H", "q=\"\\"], b"a:1\nb:2\nc:\"x\"\n:\n");
    kcat(&b, &["-P", "-t", &topic, "-K", ":"], b"d:4\ne:5\n");
    let sorted = |s: String| {
        let mut l: Vec<String> = s.lines().map(str::to_owned).collect();
        l.sort();
        l
    };
    let kcat_json = kcat(&b, &["-C", "-t", &topic, "-e", "-J"], b"");
    // kcat names the broker that served each record; kafkar's consumer does not say.
    let mut without_broker = String::new();
    for line in kcat_json.lines() {
        let start = line.find(",\"broker\":").expect("kcat prints broker");
        let end = start + 1 + line[start + 1..].find(',').expect("a field follows broker");
        without_broker.push_str(&line[..start]);
        without_broker.push_str(&line[end..]);
        without_broker.push('\n');
    }
    let kafkar_json = kafkar(&b, &["consume", "-t", &topic, "-e", "-J"], b"");
    assert_eq!(sorted(kafkar_json), sorted(without_broker));
    assert_eq!(
        sorted(kafkar(&b, &["consume", "-t", &topic, "-e"], b"")),
        sorted(kcat(&b, &["-C", "-t", &topic, "-e"], b""))
    );
    read_both(&b, &topic, FORMAT, &[]);
    let Some(p) = (0..3).find(|p| !kcat(&b, &["-C", "-t", &topic, "-e", "-p", &p.to_string()], b"").is_empty()) else {
        panic!("no partition has records")
    };
    read_both(&b, &topic, FORMAT, &["-p", &p.to_string()]);
}

#[test]
fn offsets_by_position_and_by_time_agree_with_kcat() {
    let Some(b) = broker_and_kcat() else { return };
    let topic = unique("offsets");
    create_topic(&b, &topic, 2);
    // Three rounds, far enough apart in time to tell their timestamps apart.
    for round in 0..3 {
        let lines: String = (0..4).map(|i| format!("key{i}:round{round}-{i}\n")).collect();
        kafkar(&b, &["produce", "-t", &topic, "-K", ":"], lines.as_bytes());
        std::thread::sleep(Duration::from_millis(30));
    }
    let all = read_both(&b, &topic, FORMAT_TS, &[]);
    assert_eq!(all.lines().count(), 12, "{all}");
    let mut stamps: Vec<i64> =
        all.lines().map(|l| l.split('|').nth(2).and_then(|t| t.parse().ok()).expect("ts")).collect();
    stamps.sort();
    stamps.dedup();
    assert!(stamps.len() >= 3, "three rounds, three timestamps at least: {stamps:?}");
    let middle = stamps[stamps.len() / 2].to_string();
    let last = stamps[stamps.len() - 1].to_string();
    for offsets in [
        vec!["beginning"],
        vec!["end"],
        vec!["2"],
        vec!["-3"],
        vec!["-100"],
        vec![&*format!("s@{middle}")],
        vec![&*format!("s@{last}")],
        vec!["beginning", &*format!("e@{middle}")],
        vec![&*format!("s@{middle}"), &*format!("e@{last}")],
    ] {
        let mut extra = Vec::new();
        for o in &offsets {
            extra.extend(["-o", o]);
        }
        let got = read_both(&b, &topic, FORMAT_TS, &extra);
        // Sanity on the tools' shared answer, so that agreeing on nothing cannot pass.
        match offsets[0] {
            "end" => assert_eq!(got, ""),
            "beginning" if offsets.len() == 1 => assert_eq!(got, all),
            "-100" => assert_eq!(got.lines().count(), 12),
            _ => assert!(!got.is_empty() && got.lines().count() < 12, "{offsets:?}: {got}"),
        }
    }
    // -c stops after that many records.
    assert_eq!(kafkar(&b, &["consume", "-t", &topic, "-c", "5"], b"").lines().count(), 5);
}

#[test]
fn a_group_member_reads_everything_then_resumes_from_its_commit() {
    let Some(b) = broker() else { return };
    let topic = unique("group");
    let group = unique("g");
    create_topic(&b, &topic, 2);
    let lines: String = (0..10).map(|i| format!("{i}\n")).collect();
    kafkar(&b, &["produce", "-t", &topic], lines.as_bytes());
    let first = kafkar(&b, &["consume", "-t", &topic, "-g", &group, "-o", "beginning", "-e"], b"");
    assert_eq!(first.lines().count(), 10, "{first}");
    kafkar(&b, &["produce", "-t", &topic], b"late\n");
    let second = kafkar(&b, &["consume", "-t", &topic, "-g", &group, "-e"], b"");
    assert_eq!(second, "late\n", "the group resumes after its committed offsets");
}

#[test]
fn help_of_every_command() {
    let cases: &[(&[&str], &[&str])] = &[
        (&[], &["Exit codes", "KAFKA_BOOTSTRAP_SERVERS", "--bootstrap", "--config-file", "produce", "consume"]),
        (
            &["produce"],
            &[
                "Examples",
                "transactional.id",
                "--topic",
                "--key-delimiter",
                "--header",
                "--partition",
                "--compression",
                "--null-empty",
            ],
        ),
        (&["consume"], &["--offset", "--group", "--count", "--exit", "--isolation", "--format", "--json", "s@TS"]),
        (&["topics"], &["create", "delete"]),
        (&["topics", "create"], &["--partitions", "--replication-factor"]),
        (&["topics", "delete"], &["<TOPIC>"]),
        (&["perf"], &["produce", "consume"]),
        (&["perf", "produce"], &["--records", "--size", "--throughput", "--json", "-X"]),
        (&["perf", "consume"], &["--records", "--group", "--json"]),
        (&["cluster"], &["--internal"]),
    ];
    assert_help(cases);
    // A bad command line is a usage error (exit 2).
    let out = run(Command::new(KAFKAR).args(["consume", "--no-such-flag"]), b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn configuration_from_properties_files_and_the_environment() {
    let Some(b) = broker() else { return };
    let dir = std::env::temp_dir().join(unique("props"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("good.properties");
    std::fs::write(&good, format!("# the broker\nbootstrap.servers = {b}\nclient.id: from-file\n")).unwrap();
    let unknown = dir.join("unknown.properties");
    std::fs::write(&unknown, "acks=1\nno.such.property=1\n").unwrap();
    let bare = bare_kafkar;
    let topic = unique("config");
    // The broker from a properties file only.
    let out = run(bare().args(["-F"]).arg(&good).args(["topics", "create", &topic]), b"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The broker from KAFKA_BOOTSTRAP_SERVERS only.
    let out = run(bare().env("KAFKA_BOOTSTRAP_SERVERS", &b).args(["produce", "-t", &topic]), b"from-env\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The environment is above the file: a wrong broker in the file does not matter.
    let wrong = dir.join("wrong.properties");
    std::fs::write(&wrong, "bootstrap.servers=127.0.0.1:1\n").unwrap();
    let out =
        run(bare().env("KAFKA_BOOTSTRAP_SERVERS", &b).arg("-F").arg(&wrong).args(["consume", "-t", &topic, "-e"]), b"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from-env\n");
    // An unknown property in a file: exit 3, naming the key and where it was.
    let out = run(bare().arg("-F").arg(&unknown).args(["produce", "-t", &topic]), b"x\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("no.such.property") && err.contains("unknown.properties:2"), "{err}");
    // An unknown -X: exit 3 naming it; a property of another role too.
    let out = run(bare().args(["-b", &b, "-X", "group.id=g", "produce", "-t", &topic]), b"x\n");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("group.id"));
    // A bad value in the environment is read (and refused, naming the variable).
    let out = run(bare().env("KAFKA_ACKS", "7").args(["-b", &b, "produce", "-t", &topic]), b"x\n");
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KAFKA_ACKS"));
    // -X is above the environment: a wrong broker there does not matter.
    let out = run(
        bare()
            .env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
            .args(["-X", &format!("bootstrap.servers={b}")])
            .args(["produce", "-t", &topic]),
        b"x\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // --no-env ignores it.
    let out = run(bare().env("KAFKA_ACKS", "7").args(["--no-env", "-b", &b, "produce", "-t", &topic]), b"x\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn perf_produce_and_consume_report_rates_and_latency_percentiles() {
    let Some(b) = broker() else { return };
    let topic = unique("perf");
    // A producer property with --partitions: the topic is created with the producer's shared settings only.
    let out = kafkar(
        &b,
        &["perf", "produce", "-t", &topic, "-p", "2", "-n", "3000", "-s", "50", "--json", "-X", "compression.type=lz4"],
        b"",
    );
    let summary = out.lines().last().unwrap_or_default();
    for field in
        ["\"records\":3000,", "\"bytes\":150000,", "\"errors\":0", "\"latency_p99_9_ms\":", "\"latency_max_ms\":"]
    {
        assert!(summary.contains(field), "{field} missing: {summary}");
    }
    // The plain summary, rate-limited: 400 records at 1000/s take at least 0.35 s.
    let started = Instant::now();
    let out = kafkar(&b, &["perf", "produce", "-t", &topic, "-n", "400", "--throughput", "1000"], b"");
    assert!(started.elapsed() >= Duration::from_millis(350), "not rate-limited: {out}");
    assert!(out.contains("400 records sent,") && out.contains("ms 99.9th."), "{out}");
    // 3400 records and the two runs' warm-up records.
    let out = kafkar(&b, &["perf", "consume", "-t", &topic, "-n", "3402", "--json", "--idle-timeout", "5"], b"");
    assert!(out.contains("\"records\":3402,") && out.contains("\"first_record_ms\":"), "{out}");
}

#[test]
fn transactions_commit_at_the_end_and_read_committed_skips_an_aborted_one() {
    let Some(b) = broker_and_kcat() else { return };
    let topic = unique("txn");
    create_topic(&b, &topic, 1);
    let txn = ["-X", "max.request.size=2000"];
    let id = unique("tid");
    let committed = ["produce", "-t", &topic, "-X", &format!("transactional.id={id}")];
    kafkar(&b, &[&committed[..], &txn[..]].concat(), b"c1\nc2\n");
    // A record too large for max.request.size fails the input: the transaction with a1 and a2 is aborted.
    let mut input = b"a1\na2\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 3000));
    let out = run(kafkar_cmd(&b).args(committed).args(txn), &input);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    kafkar(&b, &[&committed[..], &txn[..]].concat(), b"c3\n");
    let read_committed = read_both(&b, &topic, r"%s\n", &["-X", "isolation.level=read_committed"]);
    assert_eq!(read_committed, "c1\nc2\nc3\n");
    let by_option = kafkar(&b, &["consume", "-t", &topic, "-e", "--isolation", "read_committed"], b"");
    assert_eq!(by_option, read_committed);
    // librdkafka (so kcat) defaults to read_committed, the Java client (so kafkar) to read_uncommitted.
    let read_uncommitted = read_both(&b, &topic, r"%s\n", &["-X", "isolation.level=read_uncommitted"]);
    assert_eq!(read_uncommitted, "a1\na2\nc1\nc2\nc3\n", "sorted lines; the aborted records are there");
}

#[test]
fn sasl_ssl_from_the_environment_and_a_properties_file_interoperates_with_kcat() {
    if broker_and_kcat().is_none() {
        return;
    }
    let Some((bootstrap, secured)) = sasl_ssl() else { return };
    let topic = unique("sasl");
    // Produce configured by KAFKA_* variables only (as a container would be).
    let mut producer = bare_kafkar();
    producer.env("KAFKA_BOOTSTRAP_SERVERS", &bootstrap);
    for (k, v) in &secured {
        producer.env(env_name(k), v);
    }
    let out = run(producer.args(["produce", "-t", &topic, "-K", ":"]), b"k:over SASL_SSL\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Consume configured by a properties file only (no KAFKA_* variables).
    let file = properties_file("client.properties", &bootstrap, &secured);
    let out = run(bare_kafkar().arg("-F").arg(&file).args(["consume", "-t", &topic, "-e", "-f", r"%k=%s\n"]), b"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "k=over SASL_SSL\n");
    // kcat over the same listener reads the same. (With PLAIN: this kcat's librdkafka 2.0.2 fails SCRAM against
    // this broker with the credentials kafkar authenticates with, and that a wrong password makes kafkar fail.)
    let (Some(plain_user), Some(plain_password)) =
        (secure("KAFKAR_SECURE_PLAIN_USERNAME"), secure("KAFKAR_SECURE_PLAIN_PASSWORD"))
    else {
        return;
    };
    let kcat_props = [
        "security.protocol=SASL_SSL".to_owned(),
        "sasl.mechanisms=PLAIN".to_owned(),
        format!("sasl.username={plain_user}"),
        format!("sasl.password={plain_password}"),
        format!("ssl.ca.location={}", secured[4].1),
    ];
    let mut args = vec!["-C", "-t", &topic, "-e", "-f", r"%k=%s\n"];
    for p in &kcat_props {
        args.extend(["-X", p.as_str()]);
    }
    assert_eq!(kcat(&bootstrap, &args, b""), "k=over SASL_SSL\n");
    // A wrong password fails with exit 1 and says why.
    let out = run(
        bare_kafkar().arg("-F").arg(&file).args(["-X", "sasl.password=wrong"]).args(["consume", "-t", &topic, "-e"]),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("authentication failed"), "{out:?}");
    if let Some(dir) = file.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}
