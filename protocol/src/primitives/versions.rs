use std::fmt;

/// An inclusive range of protocol versions, as in Kafka's message specs (`"0-4"`, `"9+"`, `"none"`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Versions {
    /// Lowest version in the range.
    pub min: i16,
    /// Highest version in the range; `i16::MAX` for an open range (`"9+"`).
    pub max: i16,
}

impl Versions {
    /// The empty range (`"none"`).
    pub const NONE: Versions = Versions { min: 0, max: -1 };

    /// `min..=max`.
    pub const fn range(min: i16, max: i16) -> Versions {
        Versions { min, max }
    }

    /// `min` and every later version (`"min+"`).
    pub const fn from(min: i16) -> Versions {
        Versions { min, max: i16::MAX }
    }

    /// Whether `version` is in the range.
    pub const fn contains(self, version: i16) -> bool {
        version >= self.min && version <= self.max
    }

    /// Whether the range holds no version.
    pub const fn is_empty(self) -> bool {
        self.max < self.min
    }

    /// Parses the spec notation at compile time, for the message tables: `"none"`, `"3"`, `"0-4"`, `"9+"`.
    /// Panics (a compile error in a `const`) on anything else.
    pub const fn spec(s: &str) -> Versions {
        let b = s.as_bytes();
        if b.len() == 4 && b[0] == b'n' && b[1] == b'o' && b[2] == b'n' && b[3] == b'e' {
            return Versions::NONE;
        }
        let (min, i) = Self::number(b, 0);
        if i == b.len() {
            return Versions::range(min, min);
        }
        if b[i] == b'+' && i + 1 == b.len() {
            return Versions::from(min);
        }
        if b[i] == b'-' {
            let (max, j) = Self::number(b, i + 1);
            if j == b.len() && max >= min {
                return Versions::range(min, max);
            }
        }
        panic!("malformed version range")
    }

    /// A decimal number at `b[i..]`, and the index after it.
    const fn number(b: &[u8], mut i: usize) -> (i16, usize) {
        let start = i;
        let mut n: i16 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            n = n * 10 + (b[i] - b'0') as i16;
            i += 1;
        }
        if i == start {
            panic!("malformed version range");
        }
        (n, i)
    }

    /// Parses the spec notation: `"none"`, `"3"`, `"0-4"`, `"9+"`.
    pub fn parse(s: &str) -> Option<Versions> {
        let s = s.trim();
        if s == "none" {
            return Some(Versions::NONE);
        }
        if let Some(min) = s.strip_suffix('+') {
            return min.trim().parse().ok().map(Versions::from);
        }
        if let Some((a, b)) = s.split_once('-') {
            return Some(Versions::range(a.trim().parse().ok()?, b.trim().parse().ok()?));
        }
        let v = s.parse().ok()?;
        Some(Versions::range(v, v))
    }
}

impl fmt::Debug for Versions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Versions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            f.write_str("none")
        } else if self.max == i16::MAX {
            write!(f, "{}+", self.min)
        } else if self.min == self.max {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}-{}", self.min, self.max)
        }
    }
}
