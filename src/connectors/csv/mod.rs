//! CSV files: streaming reading (any common encoding, type inference, exact line numbers)
//! and writing (quoting styles, encodings, all-or-nothing output), independent of the
//! executor so the designer's preview and design-time schema use the same code as a run.
//!
//! Reading goes file → [`decode`] (only for non-UTF-8 input; UTF-8 is never transcoded) →
//! [`records`], which splits records (a vectorised block scanner for the common case,
//! `csv_core` for the rest) and keeps each record's raw bytes in its own buffer (for error
//! rows and exact line numbers, and so a runaway record is caught at `max_record_bytes`
//! instead of eating memory) → [`read`], which turns records into typed rows. Writing is [`write`] (row → encoded line) and [`output`] (temp file, moved into
//! place only when the run succeeded).
//!
//! Left out on purpose: escape characters other than a doubled quote, comment lines, and
//! trimming — RFC 4180 files from spreadsheets and databases need none of them.

mod decode;
mod output;
mod read;
mod records;
mod write;

pub use output::{AtomicOutput, IfExists};
pub use read::{read_header, BadRecord, CsvReader, ReadOptions, ReadStep};
pub use records::{RawRecord, RecordReader};
pub use write::{CsvRowWriter, EncodeError, WriteOptions};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Default for `max_record_bytes`: 16 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;

/// Text encoding of a CSV file being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum ReadEncoding {
    /// UTF-8; a byte-order mark at the start is skipped.
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    /// GBK (simplified Chinese, as written by Excel and many Chinese systems).
    #[serde(rename = "gbk")]
    Gbk,
    /// GB 18030, the superset of GBK that covers all of Unicode.
    #[serde(rename = "gb18030")]
    Gb18030,
    /// UTF-16 little-endian (Excel's "Unicode text"); a byte-order mark is skipped.
    #[serde(rename = "utf-16le")]
    Utf16Le,
    /// UTF-16 big-endian; a byte-order mark is skipped.
    #[serde(rename = "utf-16be")]
    Utf16Be,
    /// Decided by the byte-order mark at the start of the file (UTF-8, UTF-16LE or
    /// UTF-16BE); UTF-8 without one.
    #[serde(rename = "auto")]
    Auto,
}

impl ReadEncoding {
    pub fn name(self) -> &'static str {
        match self {
            ReadEncoding::Utf8 => "UTF-8",
            ReadEncoding::Gbk => "GBK",
            ReadEncoding::Gb18030 => "GB18030",
            ReadEncoding::Utf16Le => "UTF-16LE",
            ReadEncoding::Utf16Be => "UTF-16BE",
            ReadEncoding::Auto => "auto",
        }
    }
}

/// Text encoding of a CSV file being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum WriteEncoding {
    /// UTF-8 without a byte-order mark.
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    /// UTF-8 with a byte-order mark, so that Excel opens Chinese text correctly.
    #[serde(rename = "utf-8-bom")]
    Utf8Bom,
    /// GBK. A row with a character GBK cannot hold goes to the error output.
    #[serde(rename = "gbk")]
    Gbk,
    /// GB 18030 (every character can be written).
    #[serde(rename = "gb18030")]
    Gb18030,
    /// UTF-16 little-endian with a byte-order mark.
    #[serde(rename = "utf-16le")]
    Utf16Le,
}

impl WriteEncoding {
    pub fn name(self) -> &'static str {
        match self {
            WriteEncoding::Utf8 => "UTF-8",
            WriteEncoding::Utf8Bom => "UTF-8",
            WriteEncoding::Gbk => "GBK",
            WriteEncoding::Gb18030 => "GB18030",
            WriteEncoding::Utf16Le => "UTF-16LE",
        }
    }

    /// How a file written this way is read back (for `append`, which reads the header).
    pub fn read_encoding(self) -> ReadEncoding {
        match self {
            WriteEncoding::Utf8 | WriteEncoding::Utf8Bom => ReadEncoding::Utf8,
            WriteEncoding::Gbk => ReadEncoding::Gbk,
            WriteEncoding::Gb18030 => ReadEncoding::Gb18030,
            WriteEncoding::Utf16Le => ReadEncoding::Utf16Le,
        }
    }
}

/// Line ending written after each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LineEnding {
    /// `\n` (Linux, macOS, most tools).
    #[default]
    Lf,
    /// `\r\n` (Windows, RFC 4180).
    Crlf,
}

impl LineEnding {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            LineEnding::Lf => b"\n",
            LineEnding::Crlf => b"\r\n",
        }
    }
}

/// Which values are put in quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuoteStyle {
    /// Only values containing the delimiter, the quote character or a line break.
    #[default]
    Necessary,
    /// Every value (null values stay unquoted, so they can be told from empty text).
    Always,
    /// Every value that is not a number (nulls stay unquoted).
    NonNumeric,
}

/// Reads a one-character setting (`delimiter`, `quote`) as the single byte CSV parsing
/// works on. Accepts the tab character itself or the two characters `\t`, and `tab`.
pub fn parse_separator(text: &str, what: &str) -> Result<u8, String> {
    match text {
        "\\t" | "tab" | "TAB" => return Ok(b'\t'),
        _ => {}
    }
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii() && c != '\n' && c != '\r' => Ok(c as u8),
        (Some(c), None) if c == '\n' || c == '\r' => Err(format!("the {what} cannot be a line break")),
        (Some(c), None) => Err(format!("the {what} must be a single ASCII character, not '{c}' (U+{:04X})", c as u32)),
        (None, _) => Err(format!("the {what} is empty; give one character such as ','")),
        _ => Err(format!("the {what} must be one character (or \"\\t\" for tab), not {text:?}")),
    }
}

/// Why reading or writing a CSV file stopped.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The file could not be opened, read or written.
    #[error("cannot {what} {}: {}", path.display(), io_reason(source))]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A record grew past the limit: almost always a quote that is never closed.
    #[error("a record is longer than max_record_bytes ({}); is a quote left open on that line?", human_bytes(*limit as u64))]
    RecordTooLong { line: u64, limit: usize },
    /// The header (or another whole-file part) cannot be used.
    #[error("{message}")]
    Invalid { message: String, line: Option<u64> },
}

impl CsvError {
    /// The 1-based line the error concerns, where there is one.
    pub fn line(&self) -> Option<u64> {
        match self {
            CsvError::Io { .. } => None,
            CsvError::RecordTooLong { line, .. } => Some(*line),
            CsvError::Invalid { line, .. } => *line,
        }
    }

    /// The message with its line in front, for places that have no separate line field
    /// (design-time diagnostics).
    pub fn with_line_prefix(&self) -> String {
        match self.line() {
            Some(l) => format!("line {l}: {self}"),
            None => self.to_string(),
        }
    }
}

/// An I/O error in plain words (the same wording as `NodeError::io`).
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// `16 MiB`, `512 KiB`, `300 bytes`.
pub fn human_bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * 1024 * 1024;
    if n >= GIB && n % GIB == 0 {
        format!("{} GiB", n / GIB)
    } else if n >= MIB && n % MIB == 0 {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n % KIB == 0 {
        format!("{} KiB", n / KIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators() {
        assert_eq!(parse_separator(",", "delimiter"), Ok(b','));
        assert_eq!(parse_separator("\t", "delimiter"), Ok(b'\t'));
        assert_eq!(parse_separator("\\t", "delimiter"), Ok(b'\t'));
        assert_eq!(parse_separator("|", "delimiter"), Ok(b'|'));
        assert!(parse_separator("，", "delimiter").unwrap_err().contains("ASCII"));
        assert!(parse_separator("", "delimiter").unwrap_err().contains("empty"));
        assert!(parse_separator(";;", "delimiter").unwrap_err().contains("one character"));
        assert_eq!(human_bytes(16 << 20), "16 MiB");
        assert_eq!(human_bytes(100), "100 bytes");
    }
}
