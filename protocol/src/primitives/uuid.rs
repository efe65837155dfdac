use std::fmt;

/// A 128-bit UUID as Kafka uses it for topic ids and directory ids. Displayed the way Kafka shows it: URL-safe
/// base64 without padding (22 characters).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl Uuid {
    /// The all-zero UUID, Kafka's "no topic id".
    pub const ZERO: Uuid = Uuid([0; 16]);

    /// Builds a UUID from its two 64-bit halves, most significant first (as Java's `Uuid(long, long)`).
    pub const fn from_u64_pair(msb: u64, lsb: u64) -> Uuid {
        let mut b = [0u8; 16];
        let m = msb.to_be_bytes();
        let l = lsb.to_be_bytes();
        let mut i = 0;
        while i < 8 {
            b[i] = m[i];
            b[i + 8] = l[i];
            i += 1;
        }
        Uuid(b)
    }

    /// True for [`Uuid::ZERO`].
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 16]
    }

    /// Parses Kafka's base64 form (URL-safe, no padding, 22 characters).
    pub fn parse_base64(s: &str) -> Option<Uuid> {
        let s = s.as_bytes();
        if s.len() != 22 {
            return None;
        }
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut out = [0u8; 16];
        let mut n = 0;
        for &c in s {
            let v = B64.iter().position(|&x| x == c)? as u32;
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                if n < 16 {
                    out[n] = (acc >> bits) as u8;
                    n += 1;
                }
                acc &= (1 << bits) - 1;
            }
        }
        // 22 chars carry 132 bits: the last 4 must be zero for a canonical encoding.
        if n != 16 || acc != 0 {
            return None;
        }
        Some(Uuid(out))
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut s = [0u8; 22];
        let mut n = 0;
        for &b in &self.0 {
            acc = (acc << 8) | b as u32;
            bits += 8;
            while bits >= 6 {
                bits -= 6;
                s[n] = B64[((acc >> bits) & 63) as usize];
                n += 1;
            }
        }
        // 128 bits = 21 full sextets + 2 bits left over, padded with zeros to a 22nd.
        s[n] = B64[((acc << (6 - bits)) & 63) as usize];
        f.write_str(std::str::from_utf8(&s).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}
