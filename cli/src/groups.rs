//! `kafkar groups`: list, describe, lag, reset and delete consumer groups (classic and KIP-848), as Kafka's
//! `kafka-consumer-groups.sh` does.

use std::collections::BTreeMap;

use clap::{ArgGroup, Args, Subcommand};
use kafkar::admin::{Admin, ConsumerGroupMember, GroupDescription, GroupType, LagEnd, ListGroupsFilter, ResetOffsets};
use kafkar::consumer::{IsolationLevel, TopicPartition};
use serde_json::json;

use crate::connection::Connection;
use crate::failure::{CliResult, Failure};
use crate::output::{Outcome, Table, left_out, or_dash, print_json};
use crate::topics::admin;

/// `kafkar groups` subcommands.
#[derive(Subcommand, Debug)]
pub enum GroupsAction {
    /// List the cluster's groups, optionally only some states or types.
    #[command(
        after_help = "Examples:\n  kafkar groups list\n  kafkar groups list --state Stable --type consumer --json"
    )]
    List {
        /// Only groups in this state (repeatable): Stable, Empty, Dead, PreparingRebalance, CompletingRebalance,
        /// Assigning, Reconciling (case does not matter).
        #[arg(long = "state", value_name = "STATE")]
        states: Vec<String>,
        /// Only groups of this type (repeatable): classic, consumer, share, streams.
        #[arg(long = "type", value_name = "TYPE")]
        types: Vec<String>,
        /// Print one JSON array of {group, state, type, protocol_type}.
        #[arg(long)]
        json: bool,
    },
    /// Describe groups: type (classic or KIP-848 consumer), state, assignor, epochs, and each member with its
    /// client id, host, subscription and assigned partitions (and target assignment for consumer groups).
    #[command(after_help = "Example:\n  kafkar groups describe billing audit")]
    Describe {
        /// Group ids.
        #[arg(required = true)]
        groups: Vec<String>,
        /// Print one JSON array of groups.
        #[arg(long)]
        json: bool,
    },
    /// A group's lag per partition: committed offset, end offset and lag. The end is the high watermark, or with
    /// `--isolation read_committed` the last stable offset (what a read_committed consumer can reach).
    #[command(after_help = "Examples:\n  kafkar groups lag billing\n  kafkar groups lag billing --isolation \
                           read_committed --json")]
    Lag {
        /// Group id.
        group: String,
        /// read_uncommitted (the default: lag against the high watermark) or read_committed (against the last
        /// stable offset).
        #[arg(long, value_name = "LEVEL", default_value = "read_uncommitted",
              value_parser = ["read_uncommitted", "read_committed"])]
        isolation: String,
        /// Print one JSON object {group, end, partitions: [{topic, partition, committed, end_offset, lag}],
        /// total_lag}.
        #[arg(long)]
        json: bool,
    },
    /// Move a group's committed offsets. The group must have no active member: the broker refuses commits from
    /// outside an active group (exit code 4). Without --execute only shows what would be committed (a dry run).
    #[command(after_help = "Partitions: --topic orders (every partition), --topic orders:0,2 (some), or \
                           --all-topics (every partition the group has committed offsets for).
Targets are clamped to each partition's range (log start .. high watermark).

Examples:
  kafkar groups reset billing --topic orders --to-earliest              # dry run: prints the plan
  kafkar groups reset billing --topic orders --to-earliest --execute
  kafkar groups reset billing --all-topics --shift-by -100 --execute
  kafkar groups reset billing --topic orders:0 --to-offset 42 --execute
  kafkar groups reset billing --topic orders --to-datetime 2024-05-01T12:00:00Z --execute")]
    Reset(ResetArgs),
    /// Delete groups (with their committed offsets), or with --topic only a group's offsets for those partitions.
    #[command(after_help = "Examples:\n  kafkar groups delete billing audit\n  kafkar groups delete billing --topic \
                           orders        # only its offsets of orders")]
    Delete {
        /// Group ids (one with --topic).
        #[arg(required = true)]
        groups: Vec<String>,
        /// Delete only the group's offsets of this topic (`TOPIC` or `TOPIC:P,P,..`; repeatable).
        #[arg(long = "topic", value_name = "TOPIC[:P,..]")]
        topics: Vec<String>,
    },
}

/// Options of `kafkar groups reset`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).multiple(false)))]
#[command(group(ArgGroup::new("scope").required(true).multiple(true)))]
pub struct ResetArgs {
    /// Group id.
    group: String,
    /// The partitions to reset: `TOPIC` (all its partitions) or `TOPIC:P,P,..` (repeatable).
    #[arg(long = "topic", value_name = "TOPIC[:P,..]", group = "scope")]
    topics: Vec<String>,
    /// Every partition the group has committed offsets for.
    #[arg(long, group = "scope")]
    all_topics: bool,
    /// To the log start offset.
    #[arg(long, group = "target")]
    to_earliest: bool,
    /// To the end (high watermark).
    #[arg(long, group = "target")]
    to_latest: bool,
    /// To the first record at or after this time (the end when there is none): `YYYY-MM-DDTHH:MM:SS[.mmm]` with
    /// `Z` or `±HH:MM` (UTC when no zone is given), or a date `YYYY-MM-DD` (midnight UTC).
    #[arg(long, group = "target", value_name = "DATETIME", value_parser = parse_datetime)]
    to_datetime: Option<i64>,
    /// To the first record at or after this timestamp (ms since the epoch; the end when there is none).
    #[arg(long, group = "target", value_name = "MS")]
    to_timestamp: Option<i64>,
    /// To this offset.
    #[arg(long, group = "target", value_name = "OFFSET")]
    to_offset: Option<i64>,
    /// Move the committed offsets by N (negative: back).
    #[arg(long, group = "target", value_name = "N", allow_hyphen_values = true)]
    shift_by: Option<i64>,
    /// Only show the new offsets (the default).
    #[arg(long, conflicts_with = "execute")]
    dry_run: bool,
    /// Commit the new offsets.
    #[arg(long)]
    execute: bool,
    /// Print one JSON object {group, executed, partitions: [{topic, partition, current, new}]}.
    #[arg(long)]
    json: bool,
}

impl ResetArgs {
    fn target(&self) -> ResetOffsets {
        if self.to_earliest {
            ResetOffsets::Earliest
        } else if self.to_latest {
            ResetOffsets::Latest
        } else if let Some(t) = self.to_datetime.or(self.to_timestamp) {
            ResetOffsets::Timestamp(t)
        } else if let Some(o) = self.to_offset {
            ResetOffsets::Offset(o)
        } else {
            ResetOffsets::ShiftBy(self.shift_by.unwrap_or(0))
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|±HH:MM|±HHMM]` into ms since the epoch (UTC when no zone is given).
pub fn parse_datetime(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not YYYY-MM-DDTHH:MM:SS[.mmm][Z|+HH:MM]");
    let num = |t: &str| -> Result<i64, String> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse::<i64>().map_err(|_| bad())
    };
    let (date, rest) = match s.split_once(['T', ' ']) {
        Some((d, r)) => (d, r),
        None => (s, ""),
    };
    let d: Vec<&str> = date.split('-').collect();
    let [y, mo, da] = d.as_slice() else { return Err(bad()) };
    let (year, month, day) = (num(y)?, num(mo)?, num(da)?);
    if y.len() != 4 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(bad());
    }
    // The zone: Z, or a sign and HH:MM / HHMM / HH at the end of the time.
    let (time, offset_minutes) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (t, z) = rest.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let z = z[1..].replace(':', "");
        let (h, m) = match z.len() {
            2 => (num(&z)?, 0),
            4 => (num(&z[..2])?, num(&z[2..])?),
            _ => return Err(bad()),
        };
        (t, sign * (h * 60 + m))
    } else {
        (rest, 0)
    };
    let (mut hour, mut minute, mut second, mut millis) = (0, 0, 0, 0);
    if !time.is_empty() {
        let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
        let parts: Vec<&str> = hms.split(':').collect();
        match parts.as_slice() {
            [h, m] => (hour, minute) = (num(h)?, num(m)?),
            [h, m, sec] => (hour, minute, second) = (num(h)?, num(m)?, num(sec)?),
            _ => return Err(bad()),
        }
        if !frac.is_empty() {
            let digits: String = frac.chars().chain("000".chars()).take(3).collect();
            millis = num(&digits)?;
        }
    } else if rest.len() != time.len() {
        return Err(bad());
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    Ok(((days * 24 + hour) * 60 + minute - offset_minutes) * 60_000 + second * 1000 + millis)
}

/// Parses `TOPIC` or `TOPIC:P,P,..`: the topic and its listed partitions (empty: all).
fn parse_topic_spec(spec: &str) -> Result<(String, Vec<i32>), Failure> {
    let Some((topic, parts)) = spec.split_once(':') else { return Ok((spec.to_owned(), Vec::new())) };
    let partitions = parts
        .split(',')
        .map(|p| p.trim().parse::<i32>().map_err(|_| Failure::usage(format!("bad partition {p:?} in {spec:?}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((topic.to_owned(), partitions))
}

/// The partitions `--topic` options name (every partition of a topic given without a list).
async fn partitions_of(admin: &Admin, specs: &[String]) -> CliResult<Vec<TopicPartition>> {
    let mut out = Vec::new();
    for spec in specs {
        let (topic, partitions) = parse_topic_spec(spec)?;
        if partitions.is_empty() {
            out.extend(admin.topic_partitions(&topic).await?);
        } else {
            out.extend(partitions.into_iter().map(|p| TopicPartition::new(topic.clone(), p)));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Runs a `groups` subcommand.
pub async fn run(conn: &Connection, action: GroupsAction) -> CliResult {
    let admin = admin(conn).await?;
    match action {
        GroupsAction::List { states, types, json } => list(&admin, states, types, json).await,
        GroupsAction::Describe { groups, json } => describe(&admin, &groups, json).await,
        GroupsAction::Lag { group, isolation, json } => lag(&admin, &group, &isolation, json).await,
        GroupsAction::Reset(args) => reset(&admin, &args).await,
        GroupsAction::Delete { groups, topics } => delete(&admin, &groups, &topics).await,
    }
}

async fn list(admin: &Admin, states: Vec<String>, types: Vec<String>, json: bool) -> CliResult {
    let filter = ListGroupsFilter { states, types, ..Default::default() };
    let groups = admin.list_groups(&filter).await?;
    if json {
        let all: Vec<_> = groups
            .iter()
            .map(|g| json!({"group": g.group_id, "state": g.state, "type": g.group_type, "protocol_type": g.protocol_type}))
            .collect();
        print_json(&json!(all));
        return Ok(());
    }
    let mut table = Table::new(&["GROUP", "STATE", "TYPE", "PROTOCOL-TYPE"]);
    for g in &groups {
        let protocol = if g.protocol_type.is_empty() { "-".to_owned() } else { g.protocol_type.clone() };
        table.row(vec![g.group_id.clone(), or_dash(g.state.as_ref()), or_dash(g.group_type.as_ref()), protocol]);
    }
    table.print();
    Ok(())
}

/// Partitions as `topic:0,1 other:3`.
fn partitions_text(tps: &[TopicPartition]) -> String {
    if tps.is_empty() {
        return "-".to_owned();
    }
    let mut by_topic: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for tp in tps {
        by_topic.entry(&tp.topic).or_default().push(tp.partition.to_string());
    }
    by_topic.iter().map(|(t, ps)| format!("{t}:{}", ps.join(","))).collect::<Vec<_>>().join(" ")
}

fn partitions_json(tps: &[TopicPartition]) -> serde_json::Value {
    json!(tps.iter().map(|tp| json!({"topic": tp.topic, "partition": tp.partition})).collect::<Vec<_>>())
}

fn type_name(t: GroupType) -> &'static str {
    match t {
        GroupType::Consumer => "consumer",
        _ => "classic",
    }
}

/// A member's subscription pattern (none when empty).
fn pattern(m: &ConsumerGroupMember) -> Option<&str> {
    m.subscribed_pattern.as_deref().filter(|p| !p.is_empty())
}

fn member_json(m: &ConsumerGroupMember) -> serde_json::Value {
    json!({"member_id": m.member_id, "instance_id": m.instance_id, "client_id": m.client_id, "host": m.host,
        "rack": m.rack, "member_epoch": m.member_epoch, "subscribed_topics": m.subscribed_topics,
        "subscribed_pattern": pattern(m), "assignment": partitions_json(&m.assignment),
        "target_assignment": partitions_json(&m.target_assignment)})
}

fn print_group(g: &GroupDescription) {
    let consumer = g.group_type == GroupType::Consumer;
    let mut head = format!(
        "group {}  type {}  state {}  assignor {}",
        g.group_id,
        type_name(g.group_type),
        g.state,
        if g.assignor.is_empty() { "-" } else { &g.assignor }
    );
    if consumer {
        head.push_str(&format!("  epoch {}  assignment epoch {}", or_dash(g.group_epoch), or_dash(g.assignment_epoch)));
    }
    println!("{head}  members {}", g.members.len());
    if g.members.is_empty() {
        return;
    }
    let header: &[&'static str] = if consumer {
        &["MEMBER", "CLIENT-ID", "HOST", "INSTANCE", "EPOCH", "SUBSCRIPTION", "ASSIGNMENT", "TARGET"]
    } else {
        &["MEMBER", "CLIENT-ID", "HOST", "INSTANCE", "SUBSCRIPTION", "ASSIGNMENT"]
    };
    let mut table = Table::new(header);
    for m in &g.members {
        let mut subscription = m.subscribed_topics.join(",");
        if let Some(p) = pattern(m) {
            subscription = if subscription.is_empty() { format!("/{p}/") } else { format!("{subscription} /{p}/") };
        }
        let subscription = if subscription.is_empty() { "-".to_owned() } else { subscription };
        let mut row = vec![m.member_id.clone(), m.client_id.clone(), m.host.clone(), or_dash(m.instance_id.as_ref())];
        if consumer {
            row.push(or_dash(m.member_epoch));
        }
        row.push(subscription);
        row.push(partitions_text(&m.assignment));
        if consumer {
            row.push(partitions_text(&m.target_assignment));
        }
        table.row(row);
    }
    table.print();
}

async fn describe(admin: &Admin, groups: &[String], json: bool) -> CliResult {
    let ids: Vec<&str> = groups.iter().map(String::as_str).collect();
    let mut described = admin.describe_groups(&ids).await?;
    let mut outcome = Outcome::new();
    let mut docs = Vec::new();
    for id in groups {
        let got = described.remove(id).unwrap_or_else(|| Err(left_out()));
        let Some(g) = outcome.item(&format!("group {id}"), got) else { continue };
        if json {
            docs.push(json!({"group": g.group_id, "type": type_name(g.group_type), "state": g.state,
                "protocol_type": g.protocol_type, "assignor": g.assignor, "group_epoch": g.group_epoch,
                "assignment_epoch": g.assignment_epoch,
                "members": g.members.iter().map(member_json).collect::<Vec<_>>()}));
        } else {
            print_group(&g);
        }
    }
    if json {
        print_json(&json!(docs));
    }
    outcome.finish()
}

/// Which member owns each partition of `group` now (none for an empty or unknown group).
async fn owners(admin: &Admin, group: &str) -> BTreeMap<TopicPartition, ConsumerGroupMember> {
    let mut out = BTreeMap::new();
    if let Ok(described) = admin.describe_groups(&[group]).await {
        for g in described.into_values().flatten() {
            for m in g.members {
                for tp in &m.assignment {
                    out.insert(tp.clone(), m.clone());
                }
            }
        }
    }
    out
}

async fn lag(admin: &Admin, group: &str, isolation: &str, json: bool) -> CliResult {
    let level = match isolation {
        "read_committed" => IsolationLevel::ReadCommitted,
        _ => IsolationLevel::ReadUncommitted,
    };
    let mut lags = admin.group_lag(group, level).await?;
    lags.sort_by(|a, b| a.partition.cmp(&b.partition));
    let owners = owners(admin, group).await;
    let total: i64 = lags.iter().map(|l| l.lag).sum();
    let against_lso =
        lags.first().map_or(level == IsolationLevel::ReadCommitted, |l| l.end == LagEnd::LastStableOffset);
    let (end_name, end_words, end_column) = if against_lso {
        ("last_stable_offset", "the last stable offset (read_committed)", "LAST-STABLE-OFFSET")
    } else {
        ("high_watermark", "the high watermark (read_uncommitted)", "HIGH-WATERMARK")
    };
    if json {
        let partitions: Vec<_> = lags
            .iter()
            .map(|l| {
                let owner = owners.get(&l.partition);
                json!({"topic": l.partition.topic, "partition": l.partition.partition, "committed": l.committed,
                "end_offset": l.end_offset, "lag": l.lag, "member_id": owner.map(|m| &m.member_id),
                "client_id": owner.map(|m| &m.client_id), "host": owner.map(|m| &m.host)})
            })
            .collect();
        print_json(&json!({"group": group, "end": end_name, "partitions": partitions, "total_lag": total}));
        return Ok(());
    }
    if lags.is_empty() {
        println!("group {group} has no committed offsets");
        return Ok(());
    }
    println!("group {group}: lag against {end_words}");
    let mut table = Table::new(&["TOPIC", "PARTITION", "COMMITTED", end_column, "LAG", "CLIENT-ID", "HOST"]);
    for l in &lags {
        let owner = owners.get(&l.partition);
        table.row(vec![
            l.partition.topic.clone(),
            l.partition.partition.to_string(),
            l.committed.to_string(),
            l.end_offset.to_string(),
            l.lag.to_string(),
            or_dash(owner.map(|m| &m.client_id)),
            or_dash(owner.map(|m| &m.host)),
        ]);
    }
    table.print();
    println!("total lag {total}");
    Ok(())
}

async fn reset(admin: &Admin, args: &ResetArgs) -> CliResult {
    let group = args.group.as_str();
    let committed = admin.list_group_offsets(group).await?;
    let mut partitions = partitions_of(admin, &args.topics).await?;
    if args.all_topics {
        partitions.extend(committed.keys().cloned());
        partitions.sort();
        partitions.dedup();
    }
    if partitions.is_empty() {
        return Err(Failure::usage(format!("no partition to reset (group {group} has no committed offsets)")));
    }
    let to = args.target();
    let targets = if args.execute {
        match admin.reset_group_offsets(group, &partitions, to).await {
            Ok(t) => t,
            Err(e) if e.code() == Some(kafkar::protocol::ErrorCode::NON_EMPTY_GROUP) => {
                eprintln!(
                    "kafkar: group {group} is active: its offsets can only be reset once every consumer has left \
                     (stop them, or wait for their session timeout); nothing was committed"
                );
                return Err(Failure::Kafka(e));
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        if !args.dry_run {
            eprintln!("dry run (nothing committed): add --execute to commit these offsets");
        }
        if let Some(Ok(g)) = admin.describe_groups(&[group]).await?.remove(group) {
            if !g.is_empty() {
                eprintln!(
                    "note: group {group} has {} active member(s): --execute would be refused until they leave",
                    g.members.len()
                );
            }
        }
        admin.plan_group_offsets_reset(group, &partitions, to).await?
    };
    if args.json {
        let all: Vec<_> = targets
            .iter()
            .map(|(tp, new)| {
                json!({"topic": tp.topic, "partition": tp.partition,
                       "current": committed.get(tp).map(|c| c.offset), "new": new})
            })
            .collect();
        print_json(&json!({"group": group, "executed": args.execute, "partitions": all}));
        return Ok(());
    }
    let mut table = Table::new(&["TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"]);
    for (tp, new) in &targets {
        table.row(vec![
            tp.topic.clone(),
            tp.partition.to_string(),
            or_dash(committed.get(tp).map(|c| c.offset)),
            new.to_string(),
        ]);
    }
    table.print();
    if args.execute {
        println!("committed {} offset(s) for group {group}", targets.len());
    }
    Ok(())
}

async fn delete(admin: &Admin, groups: &[String], topics: &[String]) -> CliResult {
    let mut outcome = Outcome::new();
    if topics.is_empty() {
        let ids: Vec<&str> = groups.iter().map(String::as_str).collect();
        let mut results = admin.delete_groups(&ids).await?;
        for g in groups {
            let r = results.remove(g).unwrap_or_else(|| Err(left_out()));
            if outcome.item(&format!("group {g}"), r).is_some() {
                println!("deleted group {g}");
            }
        }
        return outcome.finish();
    }
    let [group] = groups else {
        return Err(Failure::usage("--topic deletes the offsets of one group: give exactly one group"));
    };
    let partitions = partitions_of(admin, topics).await?;
    let results = admin.delete_group_offsets(group, &partitions).await?;
    for tp in &partitions {
        let r = results.get(tp).cloned().unwrap_or_else(|| Err(left_out()));
        if outcome.item(&format!("group {group} {tp}"), r).is_some() {
            println!("deleted offset of group {group} for {}:{}", tp.topic, tp.partition);
        }
    }
    outcome.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_with_and_without_zones() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_datetime("1970-01-01").unwrap(), 0);
        assert_eq!(parse_datetime("2024-05-01T12:00:00.250Z").unwrap(), 1_714_564_800_250);
        assert_eq!(parse_datetime("2024-05-01T12:00:00").unwrap(), 1_714_564_800_000);
        assert_eq!(parse_datetime("2024-05-01T14:00:00+02:00").unwrap(), 1_714_564_800_000);
        assert_eq!(parse_datetime("2024-05-01T07:30-0430").unwrap(), 1_714_564_800_000);
        assert_eq!(parse_datetime("2000-03-01T00:00:00Z").unwrap(), 951_868_800_000);
        for bad in ["", "2024-13-01", "2024-05-01T25:00:00", "yesterday", "2024-05-01T12", "24-05-01", "2024-05-01Z"] {
            assert!(parse_datetime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn topic_specs() {
        assert_eq!(parse_topic_spec("t").unwrap(), ("t".to_owned(), vec![]));
        assert_eq!(parse_topic_spec("t:0,2").unwrap(), ("t".to_owned(), vec![0, 2]));
        assert!(parse_topic_spec("t:x").is_err());
    }

    #[test]
    fn partitions_print_grouped_by_topic() {
        let tps = [TopicPartition::new("a", 0), TopicPartition::new("a", 1), TopicPartition::new("b", 3)];
        assert_eq!(partitions_text(&tps), "a:0,1 b:3");
        assert_eq!(partitions_text(&[]), "-");
    }
}
