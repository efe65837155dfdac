//! murmur2 and the default partition choice against 10,000 keys hashed by the Java client
//! (protocol/testdata/golden/partitioner/murmur2.json, made by interop/java).

use kafkar::producer::partitioner::{key_partition, murmur2};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn murmur2_and_partition_match_java_for_10k_keys() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/protocol/testdata/golden/partitioner/murmur2.json");
    let text = std::fs::read_to_string(path).expect("golden partitioner vectors are committed");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let counts: Vec<i32> =
        v["partition_counts"].as_array().unwrap().iter().map(|c| c.as_i64().unwrap() as i32).collect();
    let rows = v["vectors"].as_array().unwrap();
    assert!(rows.len() >= 10_000, "expected 10k keys, found {}", rows.len());
    let mut bad = Vec::new();
    for row in rows {
        let key = unhex(row[0].as_str().unwrap());
        let h = row[1].as_i64().unwrap() as i32;
        if murmur2(&key) != h {
            bad.push(format!("murmur2({}) = {} not {h}", row[0], murmur2(&key)));
        }
        for (i, &n) in counts.iter().enumerate() {
            let want = row[3][i].as_i64().unwrap() as i32;
            if key_partition(&key, n) != want {
                bad.push(format!("partition({}, {n}) = {} not {want}", row[0], key_partition(&key, n)));
            }
        }
    }
    assert!(bad.is_empty(), "{} mismatches, first: {:?}", bad.len(), &bad[..bad.len().min(5)]);
}
