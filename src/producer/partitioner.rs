//! Choosing a partition for a record, exactly as the Java client does: an explicit partition wins, then a custom
//! [`Partitioner`], then murmur2 of the key (so keyed records land where Java producers put them), and keyless
//! records stick to one partition until its batch fills.

use std::collections::HashMap;
use std::sync::Mutex;

/// A user-supplied partitioner.
pub trait Partitioner: Send + Sync + 'static {
    /// The partition for a record of `topic` among `partition_count` partitions, or `None` to fall back to the
    /// built-in choice (murmur2 of the key, sticky when keyless). A returned partition outside the topic is an error
    /// at `send`.
    fn partition(&self, topic: &str, key: Option<&[u8]>, value: Option<&[u8]>, partition_count: i32) -> Option<i32>;
}

/// Kafka's murmur2 hash (seed `0x9747b28c`), bit for bit as the Java client's `Utils.murmur2`.
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        if rest.len() >= 3 {
            h ^= (rest[2] as u32) << 16;
        }
        if rest.len() >= 2 {
            h ^= (rest[1] as u32) << 8;
        }
        h ^= rest[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Java's default partitioner picks for a non-null key: `toPositive(murmur2(key)) % partitions`.
/// `partition_count` must be positive.
pub fn key_partition(key: &[u8], partition_count: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partition_count.max(1)
}

/// Sticky choice for keyless records: one partition per topic until [`StickyPartitions::next`] is told its batch
/// filled, then a random other one among those with a known leader.
#[derive(Default)]
pub struct StickyPartitions {
    current: Mutex<HashMap<String, i32>>,
    seed: Mutex<u64>,
}

impl StickyPartitions {
    /// An empty table.
    pub fn new() -> StickyPartitions {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1;
        StickyPartitions { current: Mutex::default(), seed: Mutex::new(seed) }
    }

    fn random(&self) -> u64 {
        let mut s = self.seed.lock().unwrap_or_else(|p| p.into_inner());
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        s.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick(&self, available: &[i32], partition_count: i32, avoid: Option<i32>) -> i32 {
        let pool: Vec<i32> =
            if available.is_empty() { (0..partition_count.max(1)).collect() } else { available.to_vec() };
        if pool.len() == 1 {
            return pool[0];
        }
        let others: Vec<i32> = pool.iter().copied().filter(|p| Some(*p) != avoid).collect();
        let from = if others.is_empty() { &pool } else { &others };
        from[(self.random() % from.len() as u64) as usize]
    }

    /// The sticky partition of `topic`; `available` lists partitions with a known leader (may be empty).
    pub fn current(&self, topic: &str, available: &[i32], partition_count: i32) -> i32 {
        let mut m = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&p) = m.get(topic) {
            if p < partition_count {
                return p;
            }
        }
        let p = self.pick(available, partition_count, None);
        m.insert(topic.to_owned(), p);
        p
    }

    /// Moves `topic` to another partition because the batch of `filled` is full. Only moves if `filled` is still
    /// the sticky partition (several senders may report the same fill).
    pub fn next(&self, topic: &str, filled: i32, available: &[i32], partition_count: i32) {
        let mut m = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if m.get(topic).is_none_or(|&p| p == filled) {
            let p = self.pick(available, partition_count, Some(filled));
            m.insert(topic.to_owned(), p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_known_values() {
        // Values from Kafka's own Utils.murmur2 (also covered by the 10k-key golden test).
        assert_eq!(murmur2(b"key-a"), -948_029_402);
        assert_eq!(murmur2(b"key-b"), 595_202_509);
    }

    #[test]
    fn sticky_moves_only_when_its_batch_fills() {
        let s = StickyPartitions::new();
        let p = s.current("t", &[], 6);
        assert_eq!(s.current("t", &[], 6), p);
        s.next("t", (p + 1) % 6, &[], 6); // another partition filling does not move it
        assert_eq!(s.current("t", &[], 6), p);
        s.next("t", p, &[], 6);
        assert_ne!(s.current("t", &[], 6), p);
        // only partitions with a leader are chosen
        let s = StickyPartitions::new();
        for _ in 0..50 {
            let q = s.current("u", &[2, 4], 6);
            assert!(q == 2 || q == 4);
            s.next("u", q, &[2, 4], 6);
        }
    }
}
