//! `kafkar-compare report FILE`: the markdown tables of a run's result lines (one JSON object per line, as the
//! workloads print them): per workload, each figure's median and min–max per client, and kafkar's median over the
//! best peer's. The TCP floor (`floor`), when it ran, is a column of its own and no peer: kafkar's median over the
//! floor's gets a column of its own.

use std::collections::BTreeMap;

use crate::Res;

/// A flat JSON value as the harness writes them.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Str(String),
    Num(f64),
    Null,
}

/// Parses one flat JSON object (string, number and null values only, as `Line` writes them).
fn parse_line(line: &str) -> Res<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    let s = line.trim();
    let inner = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')).ok_or("not a JSON object")?;
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        let (key, after) = parse_str(rest)?;
        rest = after.trim_start().strip_prefix(':').ok_or("expected ':'")?.trim_start();
        let value;
        if rest.starts_with('"') {
            let (v, after) = parse_str(rest)?;
            value = Value::Str(v);
            rest = after;
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let raw = rest[..end].trim();
            value = if raw == "null" {
                Value::Null
            } else {
                Value::Num(raw.parse().map_err(|_| format!("bad number {raw}"))?)
            };
            rest = &rest[end..];
        }
        out.insert(key, value);
        rest = rest.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(out)
}

/// A JSON string at the start of `s` (escapes: `\"` and `\\` only): the string and what follows it.
fn parse_str(s: &str) -> Res<(String, &str)> {
    let body = s.strip_prefix('"').ok_or("expected a string")?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &body[i + 1..])),
            '\\' => match chars.next() {
                Some((_, e)) => out.push(e),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err("unterminated string".into())
}

/// The figures reported for a kind of workload: (field, label, higher is better).
fn figures(workload: &str) -> &'static [(&'static str, &'static str, bool)] {
    match workload {
        "produce" => &[
            ("records_per_sec", "records/s", true),
            ("mb_per_sec", "MB/s (values)", true),
            ("cpu_s_per_1m", "CPU-s (user+sys) per 1M records", false),
            ("peak_rss_mb", "peak RSS, MB", false),
            ("peak_rust_heap_mb", "peak live Rust heap, MB", false),
            ("peak_malloc_mb", "peak malloc in use (sampled), MB", false),
        ],
        "latency" => &[
            ("p50_ms", "p50 latency, ms", false),
            ("p99_ms", "p99 latency, ms", false),
            ("p99_9_ms", "p99.9 latency, ms", false),
            ("max_ms", "max latency, ms", false),
            ("cpu_s_per_1m", "CPU-s (user+sys) per 1M records", false),
            ("peak_rss_mb", "peak RSS, MB", false),
        ],
        "e2e" => &[
            ("p50_ms", "p50 end-to-end latency, ms", false),
            ("p99_ms", "p99 end-to-end latency, ms", false),
            ("p99_9_ms", "p99.9 end-to-end latency, ms", false),
            ("max_ms", "max end-to-end latency, ms", false),
            ("ack_p99_ms", "p99 produce acknowledgement, ms", false),
            ("cpu_s_per_1m", "CPU-s (user+sys) per 1M records, producer + consumer", false),
            ("peak_rss_mb", "peak RSS, MB", false),
        ],
        "consume" => &[
            ("records_per_sec", "records/s (first record → last)", true),
            ("first_record_ms", "time to first record (subscribe → first), ms", false),
            ("cpu_s_per_1m", "CPU-s (user+sys) per 1M records", false),
            ("peak_rss_mb", "peak RSS, MB", false),
            ("peak_rust_heap_mb", "peak live Rust heap, MB", false),
            ("peak_malloc_mb", "peak malloc in use (sampled), MB", false),
        ],
        _ => &[],
    }
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 }
}

/// A figure for a table cell: 3 significant digits, thousands separated.
fn fmt(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a >= 1000.0 {
        let mut digits = format!("{:.0}", v);
        let neg = digits.starts_with('-');
        if neg {
            digits.remove(0);
        }
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if neg { format!("-{out}") } else { out }
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The order clients appear in.
const CLIENTS: [&str; 5] = ["kafkar", "confluent", "rdkafka", "krafka", FLOOR];

/// The TCP floor (floor_client.rs): reported beside the clients, never one of kafkar's peers.
const FLOOR: &str = "floor";

/// The markdown tables for the result lines in `text`.
pub fn render(text: &str) -> Res<String> {
    // label → (workload kind, description, client → lines)
    type Runs = BTreeMap<String, Vec<BTreeMap<String, Value>>>;
    let mut by_label: BTreeMap<String, (String, String, Runs)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for line in text.lines().filter(|l| l.trim_start().starts_with('{')) {
        let fields = parse_line(line)?;
        let get = |k: &str| match fields.get(k) {
            Some(Value::Str(s)) => s.clone(),
            _ => String::new(),
        };
        let label = get("label");
        let workload = get("workload");
        let client = get("client");
        if !order.contains(&label) {
            order.push(label.clone());
        }
        let mut desc = match workload.as_str() {
            "latency" => format!(
                "{} B {} values, {}, {} records/s open loop, linger.ms {}",
                num(&fields, "value_size"),
                get("payload"),
                get("compression"),
                num(&fields, "rate"),
                num(&fields, "linger_ms")
            ),
            "e2e" => format!(
                "{} B {} values, {}, {} records/s open loop, linger.ms {}, {} partitions; intended send time (in \
                 the value) → the same process's consumer receiving the record",
                num(&fields, "value_size"),
                get("payload"),
                get("compression"),
                num(&fields, "rate"),
                num(&fields, "linger_ms"),
                num(&fields, "partitions")
            ),
            _ => format!(
                "{} × {} B {} values, compression {}, linger.ms {}",
                num(&fields, "records"),
                num(&fields, "value_size"),
                get("payload"),
                get("compression"),
                num(&fields, "linger_ms")
            ),
        };
        if let Some(Value::Num(n)) = fields.get("round_robin_partitions") {
            desc.push_str(&format!(", record i to partition i mod {n} (named explicitly)"));
        }
        let entry = by_label.entry(label).or_insert_with(|| (workload, desc, BTreeMap::new()));
        entry.2.entry(client).or_default().push(fields);
    }
    let mut out = String::new();
    for label in order {
        let Some((workload, desc, runs)) = by_label.get(&label) else { continue };
        let clients: Vec<&str> = CLIENTS.iter().copied().filter(|c| runs.contains_key(*c)).collect();
        let rounds = runs.values().map(Vec::len).max().unwrap_or(0);
        let floor = clients.contains(&FLOOR);
        out.push_str(&format!("### {label}\n\n{desc}; {rounds} run(s) per client. Median (min–max).\n\n"));
        out.push_str("| figure |");
        for c in &clients {
            out.push_str(&format!(" {} |", display_name(c)));
        }
        out.push_str(" kafkar / best peer |");
        if floor {
            out.push_str(" kafkar / floor |");
        }
        out.push_str("\n|---|");
        for _ in &clients {
            out.push_str("---|");
        }
        out.push_str(if floor { "---|---|\n" } else { "---|\n" });
        for (field, name, higher) in figures(workload) {
            let mut medians: BTreeMap<&str, f64> = BTreeMap::new();
            let mut row = format!("| {name} ({}) |", if *higher { "higher is better" } else { "lower is better" });
            for c in &clients {
                if *field == "peak_rust_heap_mb" && *c == "rdkafka" {
                    // librdkafka allocates with malloc, past Rust's allocator: not comparable.
                    row.push_str(" n/a (C heap) |");
                    continue;
                }
                let mut vals: Vec<f64> = runs[*c]
                    .iter()
                    .filter_map(|f| match f.get(*field) {
                        Some(Value::Num(v)) => Some(*v),
                        _ => None,
                    })
                    .collect();
                vals.sort_by(f64::total_cmp);
                if vals.is_empty() {
                    row.push_str(" – |");
                    continue;
                }
                let m = median(&vals);
                medians.insert(c, m);
                if vals.len() > 1 {
                    row.push_str(&format!(" {} ({}–{}) |", fmt(m), fmt(vals[0]), fmt(vals[vals.len() - 1])));
                } else {
                    row.push_str(&format!(" {} |", fmt(m)));
                }
            }
            let best_peer = medians
                .iter()
                .filter(|(c, _)| **c != "kafkar" && **c != FLOOR)
                .map(|(_, v)| *v)
                .reduce(|a, b| if *higher { a.max(b) } else { a.min(b) });
            let ratio = |other: Option<f64>| match (medians.get("kafkar"), other) {
                (Some(k), Some(b)) if b != 0.0 => format!(" {:.2}× |", k / b),
                _ => " – |".to_string(),
            };
            row.push_str(&ratio(best_peer));
            if floor {
                row.push_str(&ratio(medians.get(FLOOR).copied()));
            }
            out.push_str(&row);
            out.push('\n');
        }
        out.push('\n');
    }
    Ok(out)
}

fn num(fields: &BTreeMap<String, Value>, k: &str) -> String {
    match fields.get(k) {
        Some(Value::Num(v)) => format!("{v}"),
        _ => "?".into(),
    }
}

fn display_name(client: &str) -> &str {
    match client {
        "confluent" => "confluent-kafka",
        "rdkafka" => "rust-rdkafka",
        FLOOR => "TCP floor",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_back() {
        let f = parse_line(r#"{"client":"kafkar","label":"a \"b\"","records_per_sec":12.5000,"p50_ms":null}"#).unwrap();
        assert_eq!(f["client"], Value::Str("kafkar".into()));
        assert_eq!(f["label"], Value::Str("a \"b\"".into()));
        assert_eq!(f["records_per_sec"], Value::Num(12.5));
        assert_eq!(f["p50_ms"], Value::Null);
        assert!(parse_line("[1]").is_err());
    }

    #[test]
    fn tables_give_medians_ranges_and_the_ratio_to_the_best_peer() {
        let mut text = String::new();
        for (client, rate) in
            [("kafkar", 300.0), ("kafkar", 100.0), ("kafkar", 200.0), ("rdkafka", 100.0), ("krafka", 50.0)]
        {
            text.push_str(&format!(
                "{{\"client\":\"{client}\",\"workload\":\"produce\",\"label\":\"produce-none\",\"records\":10,\
                 \"value_size\":100,\"payload\":\"random\",\"compression\":\"none\",\"linger_ms\":5,\
                 \"records_per_sec\":{rate},\"cpu_s_per_1m\":{}}}\n",
                rate / 100.0
            ));
        }
        let md = render(&text).unwrap();
        assert!(md.contains("### produce-none"), "{md}");
        assert!(md.contains("| records/s (higher is better) | 200 (100–300) | 100 | 50.0 | 2.00× |"), "{md}");
        assert!(
            md.contains(
                "| CPU-s (user+sys) per 1M records (lower is better) | 2.00 (1.00–3.00) | 1.00 | 0.500 | 4.00× |"
            ),
            "{md}"
        );
    }

    #[test]
    fn the_floor_is_no_peer_but_a_column_of_its_own() {
        let mut text = String::new();
        for (client, p99) in [("kafkar", 4.0), ("krafka", 3.0), ("floor", 2.0)] {
            text.push_str(&format!(
                "{{\"client\":\"{client}\",\"workload\":\"latency\",\"label\":\"latency\",\"value_size\":100,\
                 \"payload\":\"random\",\"compression\":\"none\",\"rate\":10000,\"linger_ms\":0,\"p99_ms\":{p99}}}\n"
            ));
        }
        let md = render(&text).unwrap();
        assert!(md.contains("| figure | kafkar | krafka | TCP floor | kafkar / best peer | kafkar / floor |"), "{md}");
        assert!(md.contains("| p99 latency, ms (lower is better) | 4.00 | 3.00 | 2.00 | 1.33× | 2.00× |"), "{md}");
    }

    #[test]
    fn e2e_and_round_robin_runs_get_their_tables() {
        let text = "{\"client\":\"kafkar\",\"workload\":\"e2e\",\"label\":\"e2e-latency\",\"value_size\":100,\
                    \"payload\":\"random\",\"compression\":\"none\",\"linger_ms\":0,\"partitions\":6,\"rate\":5000,\
                    \"p99_ms\":2.5}\n\
                    {\"client\":\"kafkar\",\"workload\":\"produce\",\"label\":\"produce-1000p\",\"records\":10,\
                    \"value_size\":100,\"payload\":\"random\",\"compression\":\"none\",\"linger_ms\":5,\
                    \"round_robin_partitions\":1000,\"records_per_sec\":5}\n";
        let md = render(text).unwrap();
        assert!(md.contains("| p99 end-to-end latency, ms (lower is better) | 2.50 | – |"), "{md}");
        assert!(md.contains("5000 records/s open loop, linger.ms 0, 6 partitions"), "{md}");
        assert!(md.contains("record i to partition i mod 1000 (named explicitly)"), "{md}");
    }

    #[test]
    fn big_numbers_get_separators() {
        assert_eq!(fmt(2_810_000.4), "2,810,000");
        assert_eq!(fmt(12.345), "12.3");
        assert_eq!(fmt(f64::NAN), "–");
    }
}
