//! How `kafkar consume` prints a record: kcat's `-f` format strings, kcat's `-J` JSON envelope, and the escapes
//! (`\n`, `\t`, `\xNN`, ...) that `-f`, `-K` and `-D` style arguments accept.

use std::io::{self, Write};

use kafkar::consumer::ConsumerRecord;
use kafkar::protocol::records::TimestampType;

/// Turns the escapes of a kcat delimiter or format argument into bytes: `\n \r \t \0 \\` and `\xNN` (hex). Any
/// other backslash stays as written.
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let (byte, used) = match b[i + 1] {
            b'n' => (b'\n', 2),
            b'r' => (b'\r', 2),
            b't' => (b'\t', 2),
            b'0' => (0, 2),
            b'\\' => (b'\\', 2),
            b'x' => {
                let hex: Vec<u8> = b[i + 2..].iter().take(2).take_while(|c| c.is_ascii_hexdigit()).copied().collect();
                match std::str::from_utf8(&hex).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => (v, 2 + hex.len()),
                    None => (b'\\', 1),
                }
            }
            _ => (b'\\', 1),
        };
        out.push(byte);
        i += used;
    }
    out
}

/// One piece of a parsed `-f` format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// Bytes printed as they are.
    Literal(Vec<u8>),
    /// `%k`: the key.
    Key,
    /// `%K`: the key's length, -1 for null.
    KeyLength,
    /// `%s`: the value.
    Value,
    /// `%S`: the value's length, -1 for null.
    ValueLength,
    /// `%t`: the topic.
    Topic,
    /// `%p`: the partition.
    Partition,
    /// `%o`: the offset.
    Offset,
    /// `%T`: the timestamp (ms since the epoch).
    Timestamp,
    /// `%h`: the headers as `name=value` separated by commas.
    Headers,
}

/// How records are printed.
#[derive(Clone, Debug)]
pub enum Output {
    /// A kcat `-f` format.
    Format(Vec<Token>),
    /// kcat's `-J` envelope, one JSON object per line.
    Json,
}

/// A kcat format string's tokens: `%s %S %k %K %t %p %o %T %h`, `%%` for `%`, and the escapes of [`unescape`].
/// An unknown `%` token is an error naming it.
pub fn parse_format(format: &str) -> Result<Output, String> {
    let bytes = unescape(format);
    let mut tokens = Vec::new();
    let mut literal = Vec::new();
    let mut it = bytes.iter().copied();
    while let Some(c) = it.next() {
        if c != b'%' {
            literal.push(c);
            continue;
        }
        let token = match it.next() {
            Some(b'%') => {
                literal.push(b'%');
                continue;
            }
            Some(b'k') => Token::Key,
            Some(b'K') => Token::KeyLength,
            Some(b's') => Token::Value,
            Some(b'S') => Token::ValueLength,
            Some(b't') => Token::Topic,
            Some(b'p') => Token::Partition,
            Some(b'o') => Token::Offset,
            Some(b'T') => Token::Timestamp,
            Some(b'h') => Token::Headers,
            Some(other) => return Err(format!("unknown format token %{}", other as char)),
            None => return Err("format ends with a lone %".to_owned()),
        };
        if !literal.is_empty() {
            tokens.push(Token::Literal(std::mem::take(&mut literal)));
        }
        tokens.push(token);
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    Ok(Output::Format(tokens))
}

impl Output {
    /// Writes `r`; a null key or value prints as `null_text` (empty, or `NULL` with `-Z`) in formats, `null` in JSON.
    pub fn write(&self, out: &mut impl Write, r: &ConsumerRecord, null_text: &[u8]) -> io::Result<()> {
        match self {
            Output::Format(tokens) => write_format(out, tokens, r, null_text),
            Output::Json => write_json(out, r),
        }
    }
}

fn length(b: &Option<bytes::Bytes>) -> i64 {
    b.as_ref().map_or(-1, |b| b.len() as i64)
}

fn write_format(out: &mut impl Write, tokens: &[Token], r: &ConsumerRecord, null_text: &[u8]) -> io::Result<()> {
    for t in tokens {
        match t {
            Token::Literal(l) => out.write_all(l)?,
            Token::Key => out.write_all(r.key.as_deref().unwrap_or(null_text))?,
            Token::Value => out.write_all(r.value.as_deref().unwrap_or(null_text))?,
            Token::KeyLength => write!(out, "{}", length(&r.key))?,
            Token::ValueLength => write!(out, "{}", length(&r.value))?,
            Token::Topic => out.write_all(r.topic.as_bytes())?,
            Token::Partition => write!(out, "{}", r.partition)?,
            Token::Offset => write!(out, "{}", r.offset)?,
            Token::Timestamp => write!(out, "{}", r.timestamp)?,
            Token::Headers => {
                for (i, h) in r.headers.iter().enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    out.write_all(&h.key)?;
                    out.write_all(b"=")?;
                    // kcat prints a null header value as NULL, -Z or not.
                    out.write_all(h.value.as_deref().unwrap_or(b"NULL"))?;
                }
            }
        }
    }
    Ok(())
}

/// Writes `b` as a JSON string (invalid UTF-8 replaced by U+FFFD), or `null`.
pub fn json_string(out: &mut impl Write, b: Option<&[u8]>) -> io::Result<()> {
    let Some(b) = b else { return out.write_all(b"null") };
    out.write_all(b"\"")?;
    for c in String::from_utf8_lossy(b).chars() {
        match c {
            '"' => out.write_all(b"\\\"")?,
            '\\' => out.write_all(b"\\\\")?,
            '\n' => out.write_all(b"\\n")?,
            '\r' => out.write_all(b"\\r")?,
            '\t' => out.write_all(b"\\t")?,
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32)?,
            c => write!(out, "{c}")?,
        }
    }
    out.write_all(b"\"")
}

/// kcat's `-J` envelope without `broker` (the consumer does not say which broker served a record):
/// `{"topic":..,"partition":..,"offset":..,"tstype":..,"ts":..,"headers":[name,value,..],"key":..,"payload":..}`,
/// `headers` only when the record has some.
fn write_json(out: &mut impl Write, r: &ConsumerRecord) -> io::Result<()> {
    out.write_all(b"{\"topic\":")?;
    json_string(out, Some(r.topic.as_bytes()))?;
    let tstype = match r.timestamp_type {
        TimestampType::CreateTime => "create",
        TimestampType::LogAppendTime => "logappend",
        _ => "unknown",
    };
    write!(
        out,
        ",\"partition\":{},\"offset\":{},\"tstype\":\"{tstype}\",\"ts\":{}",
        r.partition, r.offset, r.timestamp
    )?;
    if !r.headers.is_empty() {
        out.write_all(b",\"headers\":[")?;
        for (i, h) in r.headers.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            json_string(out, Some(&h.key))?;
            out.write_all(b",")?;
            json_string(out, h.value.as_deref())?;
        }
        out.write_all(b"]")?;
    }
    out.write_all(b",\"key\":")?;
    json_string(out, r.key.as_deref())?;
    out.write_all(b",\"payload\":")?;
    json_string(out, r.value.as_deref())?;
    out.write_all(b"}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_bytes_and_unknown_ones_stay() {
        assert_eq!(unescape(r"a\tb\nc\\d\x41\x7e\q\"), b"a\tb\nc\\dA~\\q\\".to_vec());
        assert_eq!(unescape(r"\xZZ"), b"\\xZZ".to_vec());
    }

    #[test]
    fn formats_parse_into_tokens_and_reject_unknown_ones() {
        let Output::Format(t) = parse_format(r"%t[%p]@%o %k=%s %%\n").unwrap() else { panic!("not a format") };
        assert_eq!(t.len(), 10, "{t:?}");
        assert_eq!(t.last(), Some(&Token::Literal(b" %\n".to_vec())));
        assert!(parse_format("%q").unwrap_err().contains("%q"));
        assert!(parse_format("abc%").is_err());
    }

    #[test]
    fn json_strings_escape_quotes_controls_and_invalid_utf8() {
        let mut v = Vec::new();
        json_string(&mut v, Some(b"a\"b\\\n\x01\xff")).unwrap();
        assert_eq!(String::from_utf8(v).unwrap(), "\"a\\\"b\\\\\\n\\u0001\u{fffd}\"");
        let mut v = Vec::new();
        json_string(&mut v, None).unwrap();
        assert_eq!(v, b"null");
    }
}
