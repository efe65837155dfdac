//! `kafkar produce`: one record per input line (stdin or a file), as `kcat -P` does.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use clap::Args;
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
use kafkar::protocol::records::Header;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use crate::connection::Connection;
use crate::failure::{CliResult, Failure};
use crate::format::unescape;

/// Options of `kafkar produce`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  printf 'k1:v1\\nk2:v2\\n' | kafkar produce -t orders -K :
  kafkar produce -t orders -f events.txt -z zstd -H source=import -X acks=all
  printf 'k1:\\n' | kafkar produce -t users -K : -Z        # a tombstone for key k1
  kafkar produce -t orders -f batch.txt -X transactional.id=loader   # one transaction, committed at the end")]
pub struct ProduceArgs {
    /// Topic to write to.
    #[arg(short, long)]
    pub topic: String,
    /// Read the records from this file instead of stdin (one record per line).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Split each line at the first SEP into key and value (escapes such as `\t` allowed). A line without SEP is a
    /// value with a null key.
    #[arg(short = 'K', long = "key-delimiter", value_name = "SEP")]
    pub key_delimiter: Option<String>,
    /// A header on every record (repeatable); `name` alone gives a null value.
    #[arg(short = 'H', long = "header", value_name = "NAME=VALUE")]
    pub headers: Vec<String>,
    /// Write every record to this partition (default: the partitioner: murmur2 of the key, sticky without one).
    #[arg(short, long)]
    pub partition: Option<i32>,
    /// Compression codec: none, gzip, snappy, lz4, zstd (the same as `-X compression.type=CODEC`).
    #[arg(short = 'z', long = "compression", value_name = "CODEC")]
    pub compression: Option<String>,
    /// Send empty values and keys as null (as kcat -Z): `key:` with `-K :` is a tombstone.
    #[arg(short = 'Z', long = "null-empty")]
    pub null_empty: bool,
}

/// Writes the records and prints a summary on stderr; fails if any record was not written.
pub async fn run(conn: &Connection, args: ProduceArgs) -> CliResult {
    let mut command = Vec::new();
    if let Some(codec) = &args.compression {
        command.push(("compression.type", codec.clone()));
    }
    let config: ProducerConfig = conn.load(&command)?;
    let headers: Vec<Header> = args
        .headers
        .iter()
        .map(|h| match h.split_once('=') {
            Some((k, v)) => {
                Header::new(Bytes::copy_from_slice(k.as_bytes()), Some(Bytes::copy_from_slice(v.as_bytes())))
            }
            None => Header::new(Bytes::copy_from_slice(h.as_bytes()), None),
        })
        .collect();
    let input: Box<dyn AsyncRead + Unpin + Send> = match &args.file {
        Some(path) => Box::new(
            tokio::fs::File::open(path)
                .await
                .map_err(|e| Failure::usage(format!("cannot open {}: {e}", path.display())))?,
        ),
        None => Box::new(tokio::io::stdin()),
    };
    let transactional = config.transactional_id.is_some();
    let producer = Producer::new(config).await?;
    if transactional {
        // As kcat: every record in one transaction, committed at the end of the input.
        producer.init_transactions().await?;
        producer.begin_transaction()?;
    }
    let topic: Arc<str> = args.topic.as_str().into();
    let delimiter = args.key_delimiter.as_deref().map(unescape).filter(|d| !d.is_empty());
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut line = Vec::new();
    let mut read_error = None;
    let mut interrupted = false;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        line.clear();
        let read = tokio::select! {
            read = reader.read_until(b'\n', &mut line) => read,
            _ = &mut ctrl_c => {
                // Ctrl-C: what was read is delivered (a transaction is aborted), then the summary.
                interrupted = true;
                break;
            }
        };
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let record = make_record(&topic, &line, delimiter.as_deref(), args.null_empty, args.partition, &headers);
        let bytes = record.value.as_ref().map_or(0, |v| v.len()) + record.key.as_ref().map_or(0, |k| k.len());
        let tally_cb = tally.clone();
        let sent = producer
            .send_with_callback(record, move |result| match result {
                Ok(_) => {
                    tally_cb.delivered.fetch_add(1, Ordering::Relaxed);
                    tally_cb.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
                }
                Err(e) => tally_cb.fail(e),
            })
            .await;
        if let Err(e) = sent {
            tally.fail(e);
            break;
        }
    }
    producer.flush().await;
    let failed_before_commit = tally.failed.load(Ordering::Relaxed) > 0 || read_error.is_some() || interrupted;
    if transactional {
        let ended =
            if failed_before_commit { producer.abort_transaction().await } else { producer.commit_transaction().await };
        if let Err(e) = ended {
            tally.fail(e);
        }
    }
    producer.close().await;
    let delivered = tally.delivered.load(Ordering::Relaxed);
    let failed = tally.failed.load(Ordering::Relaxed);
    eprintln!(
        "kafkar: produced {delivered} record(s) ({} B of keys and values) to {} in {:.3} s{}{}",
        tally.bytes.load(Ordering::Relaxed),
        args.topic,
        started.elapsed().as_secs_f64(),
        if failed > 0 { format!("; {failed} failed") } else { String::new() },
        if transactional && failed_before_commit { "; the transaction was aborted" } else { "" }
    );
    if interrupted && transactional {
        return Err(Failure::Interrupted("interrupted: the transaction was aborted".into()));
    }
    if let Some(e) = read_error {
        return Err(Failure::usage(format!("reading the input failed: {e}")));
    }
    match tally.first_error.lock().map(|mut e| e.take()) {
        Ok(Some(e)) => Err(e.into()),
        _ => Ok(()),
    }
}

/// Delivery outcomes, shared with the callbacks.
#[derive(Default)]
struct Tally {
    delivered: AtomicU64,
    failed: AtomicU64,
    bytes: AtomicU64,
    first_error: Mutex<Option<kafkar::Error>>,
}

impl Tally {
    fn fail(&self, e: kafkar::Error) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first_error.lock() {
            first.get_or_insert(e);
        }
    }
}

/// The record for one input line (newline removed): split at the first `delimiter` into key and value; with
/// `null_empty`, an empty key or value is null.
fn make_record(
    topic: &Arc<str>,
    line: &[u8],
    delimiter: Option<&[u8]>,
    null_empty: bool,
    partition: Option<i32>,
    headers: &[Header],
) -> ProducerRecord {
    let (key, value) = match delimiter.and_then(|d| find(line, d).map(|i| (i, d.len()))) {
        Some((i, n)) => (Some(&line[..i]), &line[i + n..]),
        None => (None, line),
    };
    let mut record = ProducerRecord::new(topic.clone()).headers(headers.to_vec());
    record.key = key.filter(|k| !(null_empty && k.is_empty())).map(Bytes::copy_from_slice);
    record.value = Some(value).filter(|v| !(null_empty && v.is_empty())).map(Bytes::copy_from_slice);
    record.partition = partition;
    record
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_at_the_first_delimiter_and_empty_means_null_only_with_z() {
        let t: Arc<str> = "t".into();
        let r = make_record(&t, b"k::v:w", Some(b"::"), false, Some(3), &[]);
        assert_eq!((r.key.as_deref(), r.value.as_deref(), r.partition), (Some(&b"k"[..]), Some(&b"v:w"[..]), Some(3)));
        let r = make_record(&t, b"no-delimiter", Some(b":"), false, None, &[]);
        assert_eq!((r.key, r.value.as_deref()), (None, Some(&b"no-delimiter"[..])));
        let r = make_record(&t, b":", Some(b":"), false, None, &[]);
        assert_eq!((r.key.as_deref(), r.value.as_deref()), (Some(&b""[..]), Some(&b""[..])));
        let r = make_record(&t, b":", Some(b":"), true, None, &[]);
        assert_eq!((r.key, r.value), (None, None));
        let r = make_record(&t, b"", None, true, None, &[]);
        assert_eq!(r.value, None);
    }
}
