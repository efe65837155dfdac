//! Deterministic incompressible input for the compression tests and benches. Included with `#[path]` by the
//! compression unit tests (src/compression/tests.rs) and by benches/compression.rs.

/// `len` pseudo-random bytes (xorshift from `seed`, eight bytes a step): what encrypted or already compressed
/// values look like.
pub fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.extend_from_slice(&seed.to_le_bytes());
    }
    v.truncate(len);
    v
}
