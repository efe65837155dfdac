//! `kafkar consume`: print a topic's records, as `kcat -C` (assigned partitions) or `kcat -G` (a consumer group).

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::time::Duration;

use clap::Args;
use kafkar::consumer::{Consumer, ConsumerConfig, TopicPartition};

use crate::connection::Connection;
use crate::failure::{CliResult, Failure};
use crate::format::{Output, parse_format};

/// Options of `kafkar consume`.
#[derive(Args, Debug)]
#[command(after_help = "Offsets (-o, kcat's forms; give it twice for a start and an e@ end):
  beginning | end | stored     the first offset, the log end, the group's committed offset
  N                            absolute offset N
  -N                           N records before the end of each partition
  s@TS                         the first record with a timestamp at or after TS (ms since the epoch)
  e@TS                         stop each partition before its first record at or after TS (or at its end)
With -g only beginning, end and stored apply (where to start without a committed offset).

Format tokens (-f): %s value  %S value length (-1 null)  %k key  %K key length  %t topic  %p partition
  %o offset  %T timestamp (ms)  %h headers (name=value,..)  %% a percent sign; escapes \\n \\r \\t \\\\ \\xNN

Examples:
  kafkar consume -t orders -o beginning -e
  kafkar consume -t orders -o -10 -e -f 'key %k at %p/%o: %s\\n'
  kafkar consume -t orders -g audit -c 100 -J
  kafkar consume -t orders -o s@1700000000000 -o e@1700003600000 --isolation read_committed")]
pub struct ConsumeArgs {
    /// Topic to read.
    #[arg(short, long)]
    pub topic: String,
    /// Where to start (and stop): beginning, end, stored, N, -N, s@TS, e@TS; see below.
    #[arg(short, long = "offset", value_name = "OFFSET", allow_hyphen_values = true)]
    pub offsets: Vec<String>,
    /// Read only this partition (assign mode).
    #[arg(short, long, conflicts_with = "group")]
    pub partition: Option<i32>,
    /// Join this consumer group and read what it assigns (subscribe); offsets are committed.
    #[arg(short, long)]
    pub group: Option<String>,
    /// Stop after this many records.
    #[arg(short, long)]
    pub count: Option<u64>,
    /// Exit when every partition is read to its end.
    #[arg(short, long = "exit")]
    pub exit_at_end: bool,
    /// read_uncommitted (the default) or read_committed (skip aborted transactions; stop at the last stable offset).
    #[arg(long, value_name = "LEVEL")]
    pub isolation: Option<String>,
    /// Print each record with this kcat format (default `%s\n`: the value per line).
    #[arg(short = 'f', long, value_name = "FORMAT", conflicts_with = "json")]
    pub format: Option<String>,
    /// Print one JSON object per record (kcat's -J envelope, without `broker`).
    #[arg(short = 'J', long)]
    pub json: bool,
    /// Print null keys and values as NULL (in -f formats; JSON always says null).
    #[arg(short = 'Z', long = "print-null")]
    pub print_null: bool,
}

/// Where a partition starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Its earliest offset.
    Beginning,
    /// Its log end.
    End,
    /// The group's committed offset.
    Stored,
    /// An absolute offset.
    Offset(i64),
    /// This many records before the end.
    FromEnd(i64),
    /// The first record at or after this timestamp.
    Time(i64),
}

/// The parsed `-o` options: a start and an optional end timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetSpec {
    /// Where to start; `None` for the default.
    pub start: Option<Start>,
    /// Stop each partition before the first record at or after this timestamp.
    pub end_time: Option<i64>,
}

/// Parses kcat's `-o` forms; at most one start and one `e@`.
pub fn parse_offsets(values: &[String]) -> Result<OffsetSpec, String> {
    let mut spec = OffsetSpec { start: None, end_time: None };
    for v in values {
        let number = |s: &str| s.parse::<i64>().map_err(|_| format!("bad offset {v:?}"));
        if let Some(ts) = v.strip_prefix("e@") {
            if spec.end_time.replace(number(ts)?).is_some() {
                return Err("e@ given twice".into());
            }
            continue;
        }
        let start = match v.as_str() {
            "beginning" | "earliest" => Start::Beginning,
            "end" | "latest" => Start::End,
            "stored" => Start::Stored,
            s if s.starts_with("s@") => Start::Time(number(&s[2..])?),
            s if s.starts_with('-') => Start::FromEnd(-number(s)?),
            s => Start::Offset(number(s)?),
        };
        if matches!(start, Start::Time(t) if t < 0) || matches!(start, Start::FromEnd(n) if n <= 0) {
            return Err(format!("bad offset {v:?}"));
        }
        if spec.start.replace(start).is_some() {
            return Err("more than one start offset".into());
        }
    }
    Ok(spec)
}

/// Reads and prints records until a stop condition (`-c`, `-e`, `e@`) or Ctrl-C.
pub async fn run(conn: &Connection, args: ConsumeArgs) -> CliResult {
    let spec = parse_offsets(&args.offsets).map_err(Failure::usage)?;
    let output = match (&args.format, args.json) {
        (_, true) => Output::Json,
        (Some(f), false) => parse_format(f).map_err(Failure::usage)?,
        (None, false) => parse_format("%s\\n").map_err(Failure::usage)?,
    };
    let mut command = Vec::new();
    if let Some(level) = &args.isolation {
        command.push(("isolation.level", level.clone()));
    }
    if let Some(g) = &args.group {
        command.push(("group.id", g.clone()));
        match spec.start {
            None | Some(Start::Stored) => {}
            Some(Start::Beginning) => command.push(("auto.offset.reset", "earliest".into())),
            Some(Start::End) => command.push(("auto.offset.reset", "latest".into())),
            Some(_) => return Err(Failure::usage("with -g, -o takes beginning, end or stored")),
        }
    } else if spec.start == Some(Start::Stored) {
        return Err(Failure::usage("-o stored needs a group (-g)"));
    }
    let config: ConsumerConfig = conn.load(&command)?;
    let mut consumer = Consumer::new(config).await?;
    if args.group.is_some() {
        consumer.subscribe([args.topic.as_str()])?;
    } else {
        let timeout = consumer.config().default_api_timeout;
        let partitions: Vec<TopicPartition> = match args.partition {
            Some(p) => vec![TopicPartition::new(&args.topic, p)],
            None => {
                let info = consumer.cluster().topic(&args.topic, timeout).await?;
                (0..info.partition_count()).map(|p| TopicPartition::new(&args.topic, p)).collect()
            }
        };
        consumer.assign(partitions.clone())?;
        position(&mut consumer, &partitions, spec.start.unwrap_or(Start::Beginning)).await?;
    }
    let result = read(&mut consumer, &args, spec, &output).await;
    let closed = consumer.close().await;
    result?;
    closed?;
    Ok(())
}

/// Moves the assigned `partitions` to `start`.
async fn position(consumer: &mut Consumer, partitions: &[TopicPartition], start: Start) -> kafkar::Result<()> {
    match start {
        Start::Beginning | Start::Stored => consumer.seek_to_beginning(partitions),
        Start::End => consumer.seek_to_end(partitions),
        Start::Offset(o) => partitions.iter().try_for_each(|tp| consumer.seek(tp, o)),
        Start::FromEnd(n) => {
            for tp in partitions {
                let (low, high) = consumer.watermarks(tp).await?;
                consumer.seek(tp, (high - n).max(low))?;
            }
            Ok(())
        }
        Start::Time(ts) => {
            let wanted: HashMap<TopicPartition, i64> = partitions.iter().map(|tp| (tp.clone(), ts)).collect();
            let found = consumer.offsets_for_times(&wanted).await?;
            for tp in partitions {
                match found.get(tp).copied().flatten() {
                    Some(o) => consumer.seek(tp, o.offset)?,
                    None => consumer.seek_to_end(std::slice::from_ref(tp))?,
                }
            }
            Ok(())
        }
    }
}

/// The read-and-print loop.
async fn read(consumer: &mut Consumer, args: &ConsumeArgs, spec: OffsetSpec, output: &Output) -> CliResult {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let null_text: &[u8] = if args.print_null { b"NULL" } else { b"" };
    let mut printed = 0u64;
    // Partitions stopped by e@.
    let mut ended: HashSet<(String, i32)> = HashSet::new();
    let limit = args.count.unwrap_or(u64::MAX);
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    while printed < limit {
        let batch = tokio::select! {
            batch = consumer.poll(usize::MAX, Duration::from_millis(200)) => batch?,
            _ = &mut ctrl_c => break,
        };
        for r in &batch {
            if ended.contains(&(r.topic.to_string(), r.partition)) {
                continue;
            }
            if spec.end_time.is_some_and(|end| r.timestamp >= end) {
                ended.insert((r.topic.to_string(), r.partition));
                consumer.pause(&[TopicPartition::new(&*r.topic, r.partition)])?;
                continue;
            }
            if let Err(e) = output.write(&mut out, r, null_text) {
                return stdout_closed(e);
            }
            printed += 1;
            if printed >= limit {
                break;
            }
        }
        if let Err(e) = out.flush() {
            return stdout_closed(e);
        }
        if (args.exit_at_end || spec.end_time.is_some()) && all_at_end(consumer, &ended) {
            break;
        }
    }
    out.flush().or_else(stdout_closed)
}

/// True when partitions are assigned and each has been read to its end (or stopped by e@).
fn all_at_end(consumer: &Consumer, ended: &HashSet<(String, i32)>) -> bool {
    let assignment = consumer.assignment();
    !assignment.is_empty()
        && assignment.iter().all(|tp| ended.contains(&(tp.topic.clone(), tp.partition)) || consumer.lag(tp) == Some(0))
}

/// A closed stdout (`| head`) ends the command quietly; any other write error is a failure.
fn stdout_closed(e: io::Error) -> CliResult {
    if e.kind() == io::ErrorKind::BrokenPipe { Ok(()) } else { Err(Failure::usage(format!("writing stdout: {e}"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Result<OffsetSpec, String> {
        parse_offsets(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn kcat_offset_forms_parse() {
        assert_eq!(parse(&[]).unwrap(), OffsetSpec { start: None, end_time: None });
        assert_eq!(parse(&["beginning"]).unwrap().start, Some(Start::Beginning));
        assert_eq!(parse(&["end"]).unwrap().start, Some(Start::End));
        assert_eq!(parse(&["stored"]).unwrap().start, Some(Start::Stored));
        assert_eq!(parse(&["42"]).unwrap().start, Some(Start::Offset(42)));
        assert_eq!(parse(&["-5"]).unwrap().start, Some(Start::FromEnd(5)));
        assert_eq!(
            parse(&["s@1000", "e@2000"]).unwrap(),
            OffsetSpec { start: Some(Start::Time(1000)), end_time: Some(2000) }
        );
    }

    #[test]
    fn bad_offsets_are_refused() {
        for bad in [&["x"][..], &["s@x"], &["-0"], &["1", "2"], &["e@1", "e@2"], &["s@-1"]] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
