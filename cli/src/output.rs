//! How the admin commands print: aligned text tables for people, one JSON document for machines (`--json`), and a
//! tally of per-item results (one failed topic or group is reported and the others still print).

use std::fmt::Write as _;

use crate::failure::{CliResult, Failure};

/// A text table: a header row and rows of cells, columns padded to their widest cell (the last one unpadded).
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column names.
    pub fn new(header: &[&'static str]) -> Table {
        Table { header: header.to_vec(), rows: Vec::new() }
    }

    /// Adds a row (missing cells print empty, extra ones are kept).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, the header first.
    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).chain([self.header.len()]).max().unwrap_or(0);
        let cell = |row: &[String], i: usize| row.get(i).cloned().unwrap_or_default();
        let header: Vec<String> = self.header.iter().map(|h| (*h).to_owned()).collect();
        let mut widths = vec![0; columns];
        for row in std::iter::once(&header).chain(&self.rows) {
            for (i, w) in widths.iter_mut().enumerate() {
                *w = (*w).max(cell(row, i).chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, w) in widths.iter().enumerate() {
                let c = cell(row, i);
                if i + 1 == columns {
                    line.push_str(&c);
                } else {
                    let _ = write!(line, "{c:<w$}  ", w = *w);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Prints the table on stdout.
    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// Prints `value` as one line of JSON on stdout.
pub fn print_json(value: &serde_json::Value) {
    println!("{value}");
}

/// Broker ids as `1,2,3` (`-` for none).
pub fn ids(ids: &[i32]) -> String {
    if ids.is_empty() {
        return "-".to_owned();
    }
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// The error for an item a broker's reply should have answered for and did not.
pub fn left_out() -> kafkar::Error {
    kafkar::Error::new(kafkar::ErrorKind::Protocol("the reply left the item out".to_owned()))
}

/// An optional value, `-` for none.
pub fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// The per-item results of a command: failures are reported on stderr as they come, and make the command fail at
/// the end (after everything that succeeded was printed).
#[derive(Debug, Default)]
pub struct Outcome {
    total: usize,
    failed: Vec<kafkar::Error>,
}

impl Outcome {
    /// A new, empty tally.
    pub fn new() -> Outcome {
        Outcome::default()
    }

    /// Counts one item's result: `Some(value)` on success; on failure, reports `what: error` on stderr.
    pub fn item<T>(&mut self, what: &str, result: kafkar::Result<T>) -> Option<T> {
        self.total += 1;
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!("kafkar: {what}: {e}");
                self.failed.push(e);
                None
            }
        }
    }

    /// Success when every item succeeded; otherwise the failure (exit code from the most telling error).
    pub fn finish(self) -> CliResult {
        if self.failed.is_empty() {
            return Ok(());
        }
        let exit = self.failed.iter().map(crate::failure::exit_code_of).max().unwrap_or(1);
        Err(Failure::Items { failed: self.failed.len(), total: self.total, exit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_every_column_but_the_last() {
        let mut t = Table::new(&["A", "LONGER", "C"]);
        t.row(vec!["wide-cell".into(), "x".into(), "last".into()]);
        t.row(vec!["y".into()]);
        assert_eq!(t.render(), "A          LONGER  C\nwide-cell  x       last\ny\n");
    }

    #[test]
    fn ids_and_dashes() {
        assert_eq!(ids(&[1, 2]), "1,2");
        assert_eq!(ids(&[]), "-");
        assert_eq!(or_dash(None::<i32>), "-");
        assert_eq!(or_dash(Some(3)), "3");
    }
}
