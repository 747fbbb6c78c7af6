//! Dates and times as customer-service data really writes them: reading the usual text
//! forms (`2024-03-05 14:30:00`, `2024/3/5 14:30`, `2024年3月5日 14:30`, `20240305`, RFC 3339
//! with an offset or `Z`, epoch seconds and milliseconds, explicit chrono formats), placing
//! wall-clock times in an IANA time zone, moving an instant to another zone, and formatting.
//! The `convert` node and the Rhai functions registered here share this code.
//!
//! Rules a reader of the data can rely on:
//! - Text without an offset is a wall-clock time in the zone the caller gives (UTC when none).
//! - Daylight saving: a wall-clock time that happens twice (clocks go back) means the
//!   *earliest* of the two instants; one that never happens (clocks jump forward) is an
//!   error, because any instant picked for it would be invented.
//! - A bare number is epoch seconds up to 10^11 (the year 5138) and epoch milliseconds above
//!   (from March 1973 on); the formats `epoch_seconds` / `epoch_millis` say it explicitly.
//!   Digit text of 8, 12 or 14 digits that reads as a real date is `yyyyMMdd`,
//!   `yyyyMMddHHmm` or `yyyyMMddHHmmss` first, because order systems write dates that way.
//!
//! In scripts, dates travel as ISO text (see `crate::script`), so the Rhai functions take
//! and return text; instants come back in UTC (`…Z`) so that they compare and sort as text.
//!
//! Left out: month and weekday names in the automatic forms (use an explicit format such as
//! `%b %d, %Y`), two-digit years, AM/PM without a format, and calendars other than Gregorian.

use crate::value::format_datetime as rfc3339;
use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::offset::LocalResult;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use rhai::{Engine, EvalAltResult};
use std::fmt::Write as _;

/// The forms a date-time text may take, for error messages.
pub const DATETIME_FORMS: &str =
    "a date-time such as 2024-03-05 14:30:00, 2024-03-05T14:30:00+08:00, 2024/3/5 14:30, 2024年3月5日 14:30, 20240305 or epoch seconds";

/// The forms a date text may take, for error messages.
pub const DATE_FORMS: &str = "a date such as 2024-03-05, 2024/3/5, 2024年3月5日 or 20240305";

/// Bare numbers at or above this are epoch milliseconds, below it epoch seconds.
const MILLIS_FROM: i64 = 100_000_000_000;

/// The unit of an epoch number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochUnit {
    Seconds,
    Millis,
}

/// What a date/time text says, before any zone is applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DateTimeText {
    /// A fixed instant: the text had an offset or `Z`, or was an epoch number.
    Instant(DateTime<FixedOffset>),
    /// A wall-clock date and time without an offset.
    Local(NaiveDateTime),
    /// A calendar date only.
    Date(NaiveDate),
}

// ---------------------------------------------------------------------------------------
// Time zones
// ---------------------------------------------------------------------------------------

/// A time zone: an IANA zone (with its daylight-saving rules) or a fixed offset.
/// `UTC` is a fixed offset of zero, so converting to UTC never looks up any rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Fixed(FixedOffset),
    Named(Tz),
}

impl Default for Zone {
    fn default() -> Self {
        Zone::utc()
    }
}

impl Zone {
    pub fn utc() -> Zone {
        Zone::Fixed(FixedOffset::east_opt(0).expect("zero offset"))
    }

    /// Reads an IANA name (`Asia/Shanghai`, matched without regard to case), `UTC`/`GMT`/`Z`,
    /// or a fixed offset (`+08:00`, `+0800`, `-05`).
    pub fn parse(name: &str) -> Result<Zone, String> {
        let n = name.trim();
        if n.eq_ignore_ascii_case("utc") || n.eq_ignore_ascii_case("gmt") || n == "Z" || n == "z" {
            return Ok(Zone::utc());
        }
        if n.starts_with('+') || n.starts_with('-') {
            let mut c = Cursor::new(n);
            return match read_offset(&mut c) {
                Some(o) if c.done() => Ok(Zone::Fixed(o)),
                _ => Err(format!("{n:?} is not a valid UTC offset (write it as +08:00 or -05:00)")),
            };
        }
        if let Ok(tz) = n.parse::<Tz>() {
            return Ok(Zone::Named(tz));
        }
        if let Some(tz) = chrono_tz::TZ_VARIANTS.iter().find(|t| t.name().eq_ignore_ascii_case(n)) {
            return Ok(Zone::Named(*tz));
        }
        let mut msg = format!("unknown time zone {n:?}");
        match crate::flow::did_you_mean(n, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name())) {
            Some(s) => {
                let _ = write!(msg, "; did you mean {s:?}?");
            }
            None => msg.push_str("; use an IANA name such as Asia/Shanghai, America/New_York or UTC"),
        }
        Err(msg)
    }

    /// The zone's name as a person would write it.
    pub fn name(&self) -> String {
        match self {
            Zone::Fixed(o) if o.local_minus_utc() == 0 => "UTC".into(),
            Zone::Fixed(o) => o.to_string(),
            Zone::Named(tz) => tz.name().into(),
        }
    }

    /// The instant at which the wall clock in this zone shows `naive`. See the module docs
    /// for daylight-saving gaps (an error) and overlaps (the earliest instant).
    pub fn localize(&self, naive: &NaiveDateTime) -> Result<DateTime<FixedOffset>, String> {
        let r = match self {
            Zone::Fixed(o) => return fixed_at(o, naive).ok_or_else(|| format!("{naive} is out of the range of dates")),
            Zone::Named(tz) => tz.from_local_datetime(naive),
        };
        match r {
            LocalResult::Single(dt) => Ok(dt.fixed_offset()),
            LocalResult::Ambiguous(earliest, _) => Ok(earliest.fixed_offset()),
            LocalResult::None => Err(format!(
                "{} does not exist in {}: the clocks jump forward over it (daylight saving time)",
                naive.format("%Y-%m-%d %H:%M:%S"),
                self.name()
            )),
        }
    }

    /// The same instant, shown with this zone's offset at that instant.
    #[inline]
    pub fn convert(&self, dt: &DateTime<FixedOffset>) -> DateTime<FixedOffset> {
        match self {
            Zone::Fixed(o) => dt.with_timezone(o),
            Zone::Named(tz) => dt.with_timezone(tz).fixed_offset(),
        }
    }
}

/// The instant at which a clock `o` ahead of UTC shows `naive`.
fn fixed_at(o: &FixedOffset, naive: &NaiveDateTime) -> Option<DateTime<FixedOffset>> {
    o.from_local_datetime(naive).single()
}

// ---------------------------------------------------------------------------------------
// Reading text
// ---------------------------------------------------------------------------------------

/// A byte cursor over text; the forms are simple enough that a hand parser beats trying
/// a list of chrono formats one after the other.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor { b: s.as_bytes(), i: 0 }
    }
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
    fn eat(&mut self, s: &str) -> bool {
        if self.b[self.i..].starts_with(s.as_bytes()) {
            self.i += s.len();
            true
        } else {
            false
        }
    }
    /// Between `min` and `max` ASCII digits, as a number.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        let mut n = 0u32;
        while self.i < self.b.len() && self.i - start < max && self.b[self.i].is_ascii_digit() {
            n = n * 10 + (self.b[self.i] - b'0') as u32;
            self.i += 1;
        }
        (self.i - start >= min).then_some(n)
    }
    /// A run of digits as a fraction of a second in nanoseconds (digits past 9 are ignored).
    fn fraction(&mut self) -> Option<u32> {
        let start = self.i;
        let mut nanos = 0u32;
        while self.i < self.b.len() && self.b[self.i].is_ascii_digit() {
            if self.i - start < 9 {
                nanos = nanos * 10 + (self.b[self.i] - b'0') as u32;
            }
            self.i += 1;
        }
        let len = self.i - start;
        if len == 0 {
            return None;
        }
        Some(nanos * 10u32.pow(9 - len.min(9) as u32))
    }
    /// Skips spaces (ASCII and the ideographic space); returns how many were skipped.
    fn spaces(&mut self) -> usize {
        let mut n = 0;
        loop {
            if self.i < self.b.len() && (self.b[self.i] == b' ' || self.b[self.i] == b'\t') {
                self.i += 1;
            } else if !self.eat("\u{3000}") {
                return n;
            }
            n += 1;
        }
    }
}

/// `Z`, `UTC`/`GMT` (optionally followed by an offset), `±HH:MM`, `±HHMM` or `±HH`.
fn read_offset(c: &mut Cursor) -> Option<FixedOffset> {
    if c.eat("Z") || c.eat("z") {
        return FixedOffset::east_opt(0);
    }
    // `UTC` alone, or `UTC+08:00` (the offset is read below).
    if (c.eat("UTC") || c.eat("GMT")) && c.done() {
        return FixedOffset::east_opt(0);
    }
    let sign = if c.eat("+") {
        1
    } else if c.eat("-") {
        -1
    } else {
        return None;
    };
    let h = c.digits(1, 2)? as i32;
    let m = if c.eat(":") { c.digits(2, 2)? } else { c.digits(2, 2).unwrap_or(0) } as i32;
    if h > 23 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Why a text did not read.
enum ReadError {
    /// Not one of the known shapes.
    Shape,
    /// The right shape, but not a real date or time (month 13, 30 February, 25:00).
    Invalid(String),
}

/// Dates and date-times with separators: `2024-03-05`, `2024/3/5 14:30`, `2024.3.5`,
/// `2024年3月5日 14:30`, `2024年3月5日14时30分`, ISO 8601 with `T`, fractions and offsets.
fn read_separated(t: &str) -> Result<DateTimeText, ReadError> {
    let mut c = Cursor::new(t);
    let y = c.digits(4, 4).ok_or(ReadError::Shape)?;
    let (sep, cjk) = if c.eat("-") {
        ("-", false)
    } else if c.eat("/") {
        ("/", false)
    } else if c.eat(".") {
        (".", false)
    } else if c.eat("年") {
        ("月", true)
    } else {
        return Err(ReadError::Shape);
    };
    let m = c.digits(1, 2).ok_or(ReadError::Shape)?;
    if !c.eat(sep) {
        return Err(ReadError::Shape);
    }
    let d = c.digits(1, 2).ok_or(ReadError::Shape)?;
    let day_mark = cjk && (c.eat("日") || c.eat("号"));
    let date = NaiveDate::from_ymd_opt(y as i32, m, d)
        .ok_or_else(|| ReadError::Invalid(format!("{t:?} is not a real date (year {y}, month {m}, day {d})")))?;
    let spaced = c.spaces() > 0;
    if c.done() {
        return Ok(DateTimeText::Date(date));
    }
    if !(spaced || c.eat("T") || c.eat("t") || day_mark) {
        return Err(ReadError::Shape);
    }
    let h = c.digits(1, 2).ok_or(ReadError::Shape)?;
    let (mut mi, mut s, mut nano) = (0, 0, 0);
    if c.eat(":") {
        mi = c.digits(2, 2).ok_or(ReadError::Shape)?;
        if c.eat(":") {
            s = c.digits(2, 2).ok_or(ReadError::Shape)?;
            if c.eat(".") || c.eat(",") {
                nano = c.fraction().ok_or(ReadError::Shape)?;
            }
        }
    } else if c.eat("时") || c.eat("時") || c.eat("点") || c.eat("點") {
        if let Some(v) = c.digits(1, 2) {
            mi = v;
            if !c.eat("分") {
                return Err(ReadError::Shape);
            }
            if let Some(v) = c.digits(1, 2) {
                s = v;
                if !c.eat("秒") {
                    return Err(ReadError::Shape);
                }
            }
        }
    } else {
        return Err(ReadError::Shape);
    }
    let time = NaiveTime::from_hms_nano_opt(h, mi, s, nano)
        .ok_or_else(|| ReadError::Invalid(format!("{t:?} is not a real time of day ({h:02}:{mi:02}:{s:02})")))?;
    let naive = date.and_time(time);
    c.spaces();
    if c.done() {
        return Ok(DateTimeText::Local(naive));
    }
    let offset = read_offset(&mut c).ok_or(ReadError::Shape)?;
    if !c.done() {
        return Err(ReadError::Shape);
    }
    fixed_at(&offset, &naive)
        .map(DateTimeText::Instant)
        .ok_or_else(|| ReadError::Invalid(format!("{t:?} is out of the range of dates")))
}

/// Digit-only text: compact dates (`20240305`, `202403051430`, `20240305143000`) when they
/// read as real ones, otherwise an epoch number by magnitude.
fn read_digits(t: &str) -> Result<DateTimeText, ReadError> {
    let b = t.as_bytes();
    if !t.starts_with('-') {
        let num = |from: usize, len: usize| t[from..from + len].parse::<u32>().ok();
        let date = |b: &[u8]| {
            if b.len() >= 8 {
                NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(4, 2)?, num(6, 2)?).filter(|d| d.year() >= 1000)
            } else {
                None
            }
        };
        match b.len() {
            8 => {
                if let Some(d) = date(b) {
                    return Ok(DateTimeText::Date(d));
                }
            }
            12 | 14 => {
                let s = if b.len() == 14 { num(12, 2) } else { Some(0) };
                if let (Some(d), Some(h), Some(m), Some(s)) = (date(b), num(8, 2), num(10, 2), s) {
                    if let Some(time) = NaiveTime::from_hms_opt(h, m, s) {
                        return Ok(DateTimeText::Local(d.and_time(time)));
                    }
                }
            }
            _ => {}
        }
    }
    let n: i64 = t
        .parse()
        .map_err(|_| ReadError::Invalid(format!("{t:?} is too large for an epoch number")))?;
    epoch_to_datetime(n, None).map(DateTimeText::Instant).map_err(ReadError::Invalid)
}

/// Reads a date/time text in any of the automatic forms (see the module docs).
pub fn read_text(text: &str) -> Result<DateTimeText, String> {
    let t = text.trim();
    let b = t.as_bytes();
    let digits = if b.first() == Some(&b'-') { &b[1..] } else { b };
    let r = if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        read_digits(t)
    } else {
        read_separated(t)
    };
    match r {
        Ok(v) => Ok(v),
        Err(ReadError::Invalid(m)) => Err(m),
        Err(ReadError::Shape) => {
            // Mail headers write dates this way (`Tue, 5 Mar 2024 14:30:00 +0800`).
            if let Ok(dt) = DateTime::parse_from_rfc2822(t) {
                return Ok(DateTimeText::Instant(dt));
            }
            if t.is_empty() {
                return Err(format!("the text is empty; expected {DATETIME_FORMS}"));
            }
            Err(format!("cannot read {:?} as a date or time; expected {DATETIME_FORMS}", shown(t)))
        }
    }
}

/// The instant an epoch number stands for; `unit` `None` decides by magnitude.
pub fn epoch_to_datetime(n: i64, unit: Option<EpochUnit>) -> Result<DateTime<FixedOffset>, String> {
    let unit = unit.unwrap_or(if n.unsigned_abs() >= MILLIS_FROM as u64 { EpochUnit::Millis } else { EpochUnit::Seconds });
    let dt = match unit {
        EpochUnit::Seconds => DateTime::from_timestamp(n, 0),
        EpochUnit::Millis => DateTime::from_timestamp_millis(n),
    };
    dt.map(|d| d.fixed_offset()).ok_or_else(|| format!("epoch value {n} is out of the range of dates"))
}

/// The instant as an epoch number.
pub fn to_epoch(dt: &DateTime<FixedOffset>, unit: EpochUnit) -> i64 {
    match unit {
        EpochUnit::Seconds => dt.timestamp(),
        EpochUnit::Millis => dt.timestamp_millis(),
    }
}

/// Reads a date-time in any automatic form; text without an offset is wall-clock time in
/// `zone`, a date alone is its midnight there.
pub fn parse_datetime(text: &str, zone: &Zone) -> Result<DateTime<FixedOffset>, String> {
    match read_text(text)? {
        DateTimeText::Instant(dt) => Ok(dt),
        DateTimeText::Local(n) => zone.localize(&n),
        DateTimeText::Date(d) => zone.localize(&d.and_time(NaiveTime::MIN)),
    }
}

/// Reads a calendar date in any automatic form. A date-time gives its date as written
/// (in its own offset); an epoch number its date in UTC.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    match read_text(text) {
        Ok(DateTimeText::Date(d)) => Ok(d),
        Ok(DateTimeText::Local(n)) => Ok(n.date()),
        Ok(DateTimeText::Instant(dt)) => Ok(dt.date_naive()),
        Err(e) if e.starts_with("cannot read") => Err(format!("cannot read {:?} as a date; expected {DATE_FORMS}", shown(text.trim()))),
        Err(e) => Err(e),
    }
}

/// At most 60 characters of a value, for messages.
fn shown(t: &str) -> String {
    if t.chars().count() > 60 {
        let mut s: String = t.chars().take(57).collect();
        s.push_str("...");
        s
    } else {
        t.to_string()
    }
}

// ---------------------------------------------------------------------------------------
// Formats
// ---------------------------------------------------------------------------------------

/// A date format compiled once (per node, or per script call): a chrono format string such
/// as `%Y-%m-%d %H:%M:%S`, or `epoch_seconds` / `epoch_millis`.
#[derive(Debug, Clone)]
pub struct DateFormat {
    source: String,
    kind: FormatKind,
}

#[derive(Debug, Clone)]
enum FormatKind {
    Epoch(EpochUnit),
    /// Only `%Y %m %d %H %M %S %%` and literal text: written digit by digit, the common case.
    Fast { items: Vec<FastItem>, chrono: Vec<Item<'static>> },
    Chrono(Vec<Item<'static>>),
}

#[derive(Debug, Clone)]
enum FastItem {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Literal(Box<str>),
}

impl DateFormat {
    /// Compiles a format; the error says what is wrong in plain words.
    pub fn compile(format: &str) -> Result<DateFormat, String> {
        let f = format.trim();
        let kind = match f {
            "epoch_seconds" => FormatKind::Epoch(EpochUnit::Seconds),
            "epoch_millis" => FormatKind::Epoch(EpochUnit::Millis),
            _ => {
                if !format.contains('%') {
                    let hint = if format.contains("YYYY") || format.contains("yyyy") {
                        " (chrono formats use % codes: YYYY-MM-DD HH:mm:ss is %Y-%m-%d %H:%M:%S)"
                    } else {
                        " (use % codes such as %Y-%m-%d %H:%M:%S, or epoch_seconds / epoch_millis)"
                    };
                    return Err(format!("the format {format:?} has no % codes{hint}"));
                }
                let chrono = StrftimeItems::new(format)
                    .parse_to_owned()
                    .map_err(|_| format!("the format {format:?} has an unknown % code (see the chrono strftime codes: %Y %m %d %H %M %S %z ...)"))?;
                match fast_items(format) {
                    Some(items) => FormatKind::Fast { items, chrono },
                    None => FormatKind::Chrono(chrono),
                }
            }
        };
        Ok(DateFormat { source: format.to_string(), kind })
    }

    /// The format as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// `Some` for `epoch_seconds` / `epoch_millis`.
    pub fn epoch_unit(&self) -> Option<EpochUnit> {
        match self.kind {
            FormatKind::Epoch(u) => Some(u),
            _ => None,
        }
    }

    /// Appends `dt` formatted (in its own offset) to `out`.
    pub fn write(&self, dt: &DateTime<FixedOffset>, out: &mut String) -> Result<(), String> {
        match &self.kind {
            FormatKind::Epoch(u) => {
                out.push_str(itoa::Buffer::new().format(to_epoch(dt, *u)));
                Ok(())
            }
            FormatKind::Fast { items, chrono } => {
                let local = dt.naive_local();
                if !(0..=9999).contains(&local.year()) {
                    return write_chrono(dt, chrono, out, &self.source);
                }
                for item in items {
                    match item {
                        FastItem::Year => {
                            let y = local.year() as u32;
                            push2(out, y / 100);
                            push2(out, y % 100);
                        }
                        FastItem::Month => push2(out, local.month()),
                        FastItem::Day => push2(out, local.day()),
                        FastItem::Hour => push2(out, local.hour()),
                        FastItem::Minute => push2(out, local.minute()),
                        FastItem::Second => push2(out, local.second()),
                        FastItem::Literal(s) => out.push_str(s),
                    }
                }
                Ok(())
            }
            FormatKind::Chrono(items) => write_chrono(dt, items, out, &self.source),
        }
    }

    /// `dt` formatted, as a new string.
    pub fn format(&self, dt: &DateTime<FixedOffset>) -> Result<String, String> {
        let mut s = String::new();
        self.write(dt, &mut s)?;
        Ok(s)
    }

    fn items(&self) -> Option<&[Item<'static>]> {
        match &self.kind {
            FormatKind::Epoch(_) => None,
            FormatKind::Fast { chrono, .. } | FormatKind::Chrono(chrono) => Some(chrono),
        }
    }

    /// Reads text written in this format. Without an offset in the text (`%z`), the time is
    /// wall-clock time in `zone`; a format without a time gives midnight.
    pub fn parse_datetime(&self, text: &str, zone: &Zone) -> Result<DateTime<FixedOffset>, String> {
        let t = text.trim();
        let Some(items) = self.items() else {
            let n: i64 = t.parse().map_err(|_| format!("cannot read {:?} as {}: expected whole digits", shown(t), self.source))?;
            return epoch_to_datetime(n, self.epoch_unit());
        };
        let p = self.parsed(t, items)?;
        let bad = |e: chrono::ParseError| format!("cannot read {:?} with the format {:?}: {}", shown(t), self.source, plain_parse_error(&e));
        if let Some(ts) = p.timestamp() {
            let dt = epoch_to_datetime(ts, Some(EpochUnit::Seconds))?;
            return Ok(match p.offset().and_then(FixedOffset::east_opt) {
                Some(o) => dt.with_timezone(&o),
                None => dt,
            });
        }
        let date = p.to_naive_date().map_err(bad)?;
        let time = if p.hour_div_12().is_none() && p.hour_mod_12().is_none() && p.minute().is_none() {
            NaiveTime::MIN
        } else {
            p.to_naive_time().map_err(bad)?
        };
        let naive = date.and_time(time);
        match p.offset() {
            Some(off) => {
                let o = FixedOffset::east_opt(off).ok_or_else(|| format!("the offset in {:?} is out of range", shown(t)))?;
                fixed_at(&o, &naive).ok_or_else(|| format!("{:?} is out of the range of dates", shown(t)))
            }
            None => zone.localize(&naive),
        }
    }

    /// Reads a date written in this format (a time in it, if any, is ignored).
    pub fn parse_date(&self, text: &str) -> Result<NaiveDate, String> {
        let t = text.trim();
        let Some(items) = self.items() else {
            return Ok(self.parse_datetime(t, &Zone::utc())?.date_naive());
        };
        let p = self.parsed(t, items)?;
        if p.timestamp().is_some() {
            return Ok(self.parse_datetime(t, &Zone::utc())?.date_naive());
        }
        p.to_naive_date()
            .map_err(|e| format!("cannot read {:?} with the format {:?}: {}", shown(t), self.source, plain_parse_error(&e)))
    }

    fn parsed(&self, t: &str, items: &[Item<'static>]) -> Result<Parsed, String> {
        let mut p = Parsed::new();
        chrono::format::parse(&mut p, t, items.iter())
            .map_err(|e| format!("cannot read {:?} with the format {:?}: {}", shown(t), self.source, plain_parse_error(&e)))?;
        Ok(p)
    }
}

fn write_chrono(dt: &DateTime<FixedOffset>, items: &[Item<'static>], out: &mut String, source: &str) -> Result<(), String> {
    write!(out, "{}", dt.format_with_items(items.iter())).map_err(|_| format!("the format {source:?} cannot be applied to {}", rfc3339(dt)))
}

#[inline]
fn push2(out: &mut String, n: u32) {
    out.push((b'0' + (n / 10 % 10) as u8) as char);
    out.push((b'0' + (n % 10) as u8) as char);
}

/// The fast items of a format, or `None` when it uses any code beyond the simple ones.
fn fast_items(format: &str) -> Option<Vec<FastItem>> {
    let mut items = Vec::new();
    let mut lit = String::new();
    let mut chars = format.chars();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            lit.push(ch);
            continue;
        }
        let item = match chars.next()? {
            '%' => {
                lit.push('%');
                continue;
            }
            'Y' => FastItem::Year,
            'm' => FastItem::Month,
            'd' => FastItem::Day,
            'H' => FastItem::Hour,
            'M' => FastItem::Minute,
            'S' => FastItem::Second,
            _ => return None,
        };
        if !lit.is_empty() {
            items.push(FastItem::Literal(std::mem::take(&mut lit).into_boxed_str()));
        }
        items.push(item);
    }
    if !lit.is_empty() {
        items.push(FastItem::Literal(lit.into_boxed_str()));
    }
    Some(items)
}

fn plain_parse_error(e: &chrono::ParseError) -> &'static str {
    use chrono::format::ParseErrorKind::*;
    match e.kind() {
        OutOfRange => "a number is out of range (month 13, day 32, hour 25 ...)",
        Impossible => "the parts contradict each other or name a date that does not exist",
        NotEnough => "the text does not give enough of the date (year, month and day are needed)",
        Invalid => "the text does not match the format",
        TooShort => "the text ends before the format does",
        TooLong => "the text goes on after the format ends",
        BadFormat => "the format is not valid",
        _ => "the text does not match the format",
    }
}

// ---------------------------------------------------------------------------------------
// Rhai
// ---------------------------------------------------------------------------------------

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

fn rt<T>(func: &str, r: Result<T, String>) -> RhaiResult<T> {
    r.map_err(|e| format!("{func}: {e}").into())
}

/// Whether a second argument names a format rather than a zone.
fn is_format(s: &str) -> bool {
    s.contains('%') || s.trim().starts_with("epoch_")
}

fn text_out(dt: &DateTime<FixedOffset>) -> String {
    rfc3339(&dt.with_timezone(&Utc).fixed_offset())
}

/// Reads a date-time argument of a script function: any automatic form, no offset = UTC.
fn dt_arg(func: &str, text: &str) -> RhaiResult<DateTime<FixedOffset>> {
    rt(func, parse_datetime(text, &Zone::utc()))
}

fn zone_arg(func: &str, name: &str) -> RhaiResult<Zone> {
    rt(func, Zone::parse(name))
}

fn format_arg(func: &str, f: &str) -> RhaiResult<DateFormat> {
    thread_local! {
        // Scripts call with the same format row after row; compile it once.
        static LAST: std::cell::RefCell<Option<DateFormat>> = const { std::cell::RefCell::new(None) };
    }
    if let Some(hit) = LAST.with(|l| l.borrow().as_ref().filter(|d| d.source == f).cloned()) {
        return Ok(hit);
    }
    let compiled = rt(func, DateFormat::compile(f))?;
    LAST.with(|l| *l.borrow_mut() = Some(compiled.clone()));
    Ok(compiled)
}

/// `parse_datetime(text, format_or_zone)` and the three-argument form.
fn parse_with(text: &str, format: Option<&str>, zone: Option<&str>) -> RhaiResult<String> {
    const F: &str = "parse_datetime";
    let zone = match zone {
        Some(z) => zone_arg(F, z)?,
        None => Zone::utc(),
    };
    let dt = match format {
        Some(f) => rt(F, format_arg(F, f)?.parse_datetime(text, &zone))?,
        None => rt(F, parse_datetime(text, &zone))?,
    };
    Ok(text_out(&dt))
}

/// Registers the date functions with the script engine. Date-time arguments are text in any
/// automatic form (no offset = UTC); results are RFC 3339 text. Every function given `()`
/// (a null field) gives `()`. A bad argument is a run-time error naming the function.
///
/// - `parse_datetime(text)`, `parse_datetime(text, format_or_zone)`,
///   `parse_datetime(text, format, zone)`: the instant, in UTC (`…Z`). The second argument is
///   a format when it has a `%` or is `epoch_seconds`/`epoch_millis`, else the zone of text
///   without an offset. Also `parse_datetime(number)` and `parse_datetime(number, "epoch_millis")`.
/// - `to_timezone(dt, zone)`: the same instant with the zone's offset.
/// - `format_datetime(dt, format)`: formatted in the offset `dt` carries;
///   `format_datetime(dt, format, zone)`: moved to `zone` first.
/// - `parse_date(text)`: `YYYY-MM-DD`.
/// - `now_utc()`: the current instant.
/// - `epoch_seconds(dt)`: seconds since 1970-01-01T00:00:00Z.
/// - `date_diff_seconds(a, b)`: seconds from `a` to `b` (positive when `b` is later).
pub fn register(engine: &mut Engine) {
    engine.register_fn("parse_datetime", |t: &str| parse_with(t, None, None));
    engine.register_fn("parse_datetime", |t: &str, f_or_z: &str| {
        if is_format(f_or_z) {
            parse_with(t, Some(f_or_z), None)
        } else {
            parse_with(t, None, Some(f_or_z))
        }
    });
    engine.register_fn("parse_datetime", |t: &str, f: &str, z: &str| parse_with(t, Some(f), Some(z)));
    engine.register_fn("parse_datetime", |n: i64| rt("parse_datetime", epoch_to_datetime(n, None)).map(|d| text_out(&d)));
    engine.register_fn("parse_datetime", |n: i64, f: &str| {
        let unit = format_arg("parse_datetime", f)?.epoch_unit();
        if unit.is_none() {
            return Err(format!("parse_datetime: a number can only be read with epoch_seconds or epoch_millis, not {f:?}").into());
        }
        rt("parse_datetime", epoch_to_datetime(n, unit)).map(|d| text_out(&d))
    });
    engine.register_fn("to_timezone", |t: &str, z: &str| -> RhaiResult<String> {
        let dt = dt_arg("to_timezone", t)?;
        Ok(rfc3339(&zone_arg("to_timezone", z)?.convert(&dt)))
    });
    engine.register_fn("format_datetime", |t: &str, f: &str| -> RhaiResult<String> {
        let dt = dt_arg("format_datetime", t)?;
        rt("format_datetime", format_arg("format_datetime", f)?.format(&dt))
    });
    engine.register_fn("format_datetime", |t: &str, f: &str, z: &str| -> RhaiResult<String> {
        let dt = zone_arg("format_datetime", z)?.convert(&dt_arg("format_datetime", t)?);
        rt("format_datetime", format_arg("format_datetime", f)?.format(&dt))
    });
    engine.register_fn("parse_date", |t: &str| -> RhaiResult<String> {
        Ok(rt("parse_date", parse_date(t))?.format("%Y-%m-%d").to_string())
    });
    engine.register_fn("now_utc", || text_out(&Utc::now().fixed_offset()));
    engine.register_fn("epoch_seconds", |t: &str| -> RhaiResult<i64> { Ok(dt_arg("epoch_seconds", t)?.timestamp()) });
    engine.register_fn("date_diff_seconds", |a: &str, b: &str| -> RhaiResult<i64> {
        Ok(dt_arg("date_diff_seconds", b)?.timestamp() - dt_arg("date_diff_seconds", a)?.timestamp())
    });
    // Null in, null out, so `parse_datetime(closed_at)` on an open ticket is `()`.
    engine.register_fn("parse_datetime", |_: ()| ());
    engine.register_fn("parse_datetime", |_: (), _: &str| ());
    engine.register_fn("parse_datetime", |_: (), _: &str, _: &str| ());
    engine.register_fn("to_timezone", |_: (), _: &str| ());
    engine.register_fn("format_datetime", |_: (), _: &str| ());
    engine.register_fn("format_datetime", |_: (), _: &str, _: &str| ());
    engine.register_fn("parse_date", |_: ()| ());
    engine.register_fn("epoch_seconds", |_: ()| ());
    engine.register_fn("date_diff_seconds", |_: (), _: &str| ());
    engine.register_fn("date_diff_seconds", |_: &str, _: ()| ());
    engine.register_fn("date_diff_seconds", |_: (), _: ()| ());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shanghai() -> Zone {
        Zone::parse("Asia/Shanghai").unwrap()
    }

    fn utc_text(text: &str, zone: &Zone) -> String {
        text_out(&parse_datetime(text, zone).unwrap())
    }

    #[test]
    fn reads_every_automatic_form() {
        let z = Zone::utc();
        assert_eq!(utc_text("2024-03-05 14:30:00", &z), "2024-03-05T14:30:00Z");
        assert_eq!(utc_text("2024/3/5", &z), "2024-03-05T00:00:00Z");
        assert_eq!(utc_text("2024/3/5 14:30", &z), "2024-03-05T14:30:00Z");
        assert_eq!(utc_text("2024年3月5日 14:30", &z), "2024-03-05T14:30:00Z");
        assert_eq!(utc_text("2024年3月5日", &z), "2024-03-05T00:00:00Z");
        assert_eq!(utc_text("2024年3月5日14时30分15秒", &z), "2024-03-05T14:30:15Z");
        assert_eq!(utc_text("20240305", &z), "2024-03-05T00:00:00Z");
        assert_eq!(utc_text("20240305143000", &z), "2024-03-05T14:30:00Z");
        assert_eq!(utc_text("1709649000", &z), "2024-03-05T14:30:00Z");
        assert_eq!(utc_text("1709649000123", &z), "2024-03-05T14:30:00.123Z");
        assert_eq!(utc_text("2024-03-05T14:30:00+08:00", &z), "2024-03-05T06:30:00Z");
        assert_eq!(utc_text("2024-03-05T14:30:00Z", &z), "2024-03-05T14:30:00Z");
        assert_eq!(utc_text("2024-03-05T14:30:00.5-0500", &z), "2024-03-05T19:30:00.500Z");
        assert_eq!(utc_text("2024-03-05 14:30:00 +08", &z), "2024-03-05T06:30:00Z");
        assert_eq!(utc_text("Tue, 5 Mar 2024 14:30:00 +0800", &z), "2024-03-05T06:30:00Z");
        // Offsets in the text win over the zone given for text without one.
        assert_eq!(utc_text("2024-03-05T14:30:00Z", &shanghai()), "2024-03-05T14:30:00Z");
    }

    #[test]
    fn chinese_wall_clock_in_shanghai_is_utc_minus_eight() {
        assert_eq!(utc_text("2024年3月5日 14:30", &shanghai()), "2024-03-05T06:30:00Z");
        assert_eq!(utc_text("2024年3月5日", &shanghai()), "2024-03-04T16:00:00Z");
        // The offset kept is the zone's, so the wall clock reads as written.
        let dt = parse_datetime("2024/3/5 14:30", &shanghai()).unwrap();
        assert_eq!(rfc3339(&dt), "2024-03-05T14:30:00+08:00");
    }

    #[test]
    fn epoch_by_magnitude_and_by_unit() {
        assert_eq!(epoch_to_datetime(0, None).unwrap().timestamp(), 0);
        assert_eq!(epoch_to_datetime(99_999_999_999, None).unwrap().timestamp(), 99_999_999_999);
        assert_eq!(epoch_to_datetime(100_000_000_000, None).unwrap().timestamp(), 100_000_000);
        assert_eq!(epoch_to_datetime(86_400_000, Some(EpochUnit::Millis)).unwrap().timestamp(), 86_400);
        let f = DateFormat::compile("epoch_millis").unwrap();
        assert_eq!(text_out(&f.parse_datetime("86400000", &Zone::utc()).unwrap()), "1970-01-02T00:00:00Z");
        assert_eq!(f.format(&epoch_to_datetime(86_400, None).unwrap()).unwrap(), "86400000");
        assert!(f.parse_datetime("12ab", &Zone::utc()).unwrap_err().contains("whole digits"));
    }

    #[test]
    fn explicit_formats_parse_and_format() {
        let z = shanghai();
        let f = DateFormat::compile("%d/%m/%Y %H:%M").unwrap();
        assert_eq!(text_out(&f.parse_datetime("05/03/2024 14:30", &z).unwrap()), "2024-03-05T06:30:00Z");
        let f = DateFormat::compile("%Y%m%d").unwrap();
        assert_eq!(text_out(&f.parse_datetime("20240305", &Zone::utc()).unwrap()), "2024-03-05T00:00:00Z");
        assert_eq!(f.parse_date("20240305").unwrap(), NaiveDate::from_ymd_opt(2024, 3, 5).unwrap());
        let f = DateFormat::compile("%Y-%m-%d %H:%M:%S %z").unwrap();
        assert_eq!(text_out(&f.parse_datetime("2024-03-05 14:30:00 +0800", &Zone::utc()).unwrap()), "2024-03-05T06:30:00Z");
        let e = DateFormat::compile("%Y-%m-%d").unwrap().parse_datetime("2024-13-01", &z).unwrap_err();
        assert!(e.contains("\"2024-13-01\"") && e.contains("out of range"), "{e}");
        // Formatting: the fast path and chrono's agree.
        let dt = parse_datetime("2024-01-01T05:00:30+08:00", &Zone::utc()).unwrap();
        let utc = Zone::utc().convert(&dt);
        assert_eq!(DateFormat::compile("%Y-%m-%d %H:%M:%S").unwrap().format(&utc).unwrap(), "2023-12-31 21:00:30");
        assert_eq!(DateFormat::compile("%Y年%m月%d日 %H时").unwrap().format(&dt).unwrap(), "2024年01月01日 05时");
        assert_eq!(DateFormat::compile("%b %e, %Y %I:%M %p").unwrap().format(&dt).unwrap(), "Jan  1, 2024 05:00 AM");
        assert_eq!(DateFormat::compile("100%% %Y").unwrap().format(&dt).unwrap(), "100% 2024");
    }

    #[test]
    fn bad_formats_and_zones_say_what_to_do() {
        assert!(DateFormat::compile("YYYY-MM-DD").unwrap_err().contains("%Y-%m-%d"));
        assert!(DateFormat::compile("%Y-%Q").unwrap_err().contains("unknown % code"));
        let e = Zone::parse("Asia/Shangai").unwrap_err();
        assert!(e.contains("did you mean \"Asia/Shanghai\""), "{e}");
        assert_eq!(Zone::parse("asia/shanghai").unwrap(), shanghai());
        assert_eq!(Zone::parse("+08:00").unwrap(), Zone::Fixed(FixedOffset::east_opt(8 * 3600).unwrap()));
        assert_eq!(Zone::parse("utc").unwrap(), Zone::utc());
        assert!(Zone::parse("+25:00").is_err());
        assert_eq!(Zone::parse("-5").unwrap(), Zone::Fixed(FixedOffset::west_opt(5 * 3600).unwrap()));
    }

    #[test]
    fn bad_text_names_the_value_and_the_forms() {
        let e = parse_datetime("soon", &Zone::utc()).unwrap_err();
        assert!(e.contains("\"soon\"") && e.contains("2024年3月5日"), "{e}");
        let e = parse_datetime("2024-02-30", &Zone::utc()).unwrap_err();
        assert!(e.contains("not a real date"), "{e}");
        let e = parse_datetime("2024-03-05 25:00", &Zone::utc()).unwrap_err();
        assert!(e.contains("not a real time"), "{e}");
        let e = parse_date("later").unwrap_err();
        assert!(e.contains("as a date") && e.contains("20240305"), "{e}");
        assert!(parse_datetime("2024-03-05 14:30:00 garbage", &Zone::utc()).is_err());
        assert!(parse_datetime("", &Zone::utc()).unwrap_err().contains("empty"));
    }

    #[test]
    fn parse_date_forms() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 5).unwrap();
        for t in ["2024-03-05", "2024/3/5", "2024.3.5", "2024年3月5日", "20240305", "2024-03-05T23:30:00+08:00", "2024-03-05 23:59"] {
            assert_eq!(parse_date(t).unwrap(), d, "{t}");
        }
    }

    #[test]
    fn daylight_saving_gap_is_an_error_and_overlap_the_earliest() {
        let ny = Zone::parse("America/New_York").unwrap();
        // 2024-03-10 02:30 never happened in New York.
        let e = parse_datetime("2024-03-10 02:30", &ny).unwrap_err();
        assert!(e.contains("does not exist in America/New_York"), "{e}");
        // 2024-11-03 01:30 happened twice: EDT (-04:00) first.
        let dt = parse_datetime("2024-11-03 01:30", &ny).unwrap();
        assert_eq!(rfc3339(&dt), "2024-11-03T01:30:00-04:00");
    }

    #[test]
    fn converts_between_zones_both_ways() {
        let dt = parse_datetime("2024-03-05T06:30:00Z", &Zone::utc()).unwrap();
        assert_eq!(rfc3339(&shanghai().convert(&dt)), "2024-03-05T14:30:00+08:00");
        let back = Zone::utc().convert(&shanghai().convert(&dt));
        assert_eq!(rfc3339(&back), "2024-03-05T06:30:00Z");
        // Summer and winter offsets of a zone with daylight saving.
        let ny = Zone::parse("America/New_York").unwrap();
        assert_eq!(rfc3339(&ny.convert(&parse_datetime("2024-07-01T12:00:00Z", &Zone::utc()).unwrap())), "2024-07-01T08:00:00-04:00");
        assert_eq!(rfc3339(&ny.convert(&parse_datetime("2024-01-01T12:00:00Z", &Zone::utc()).unwrap())), "2024-01-01T07:00:00-05:00");
    }

    #[test]
    fn script_functions() {
        let e = crate::script::engine();
        let s = |src: &str| e.eval_expression::<String>(src).unwrap_or_else(|err| panic!("{src}: {err}"));
        let i = |src: &str| e.eval_expression::<i64>(src).unwrap_or_else(|err| panic!("{src}: {err}"));
        assert_eq!(s(r#"parse_datetime("2024年3月5日 14:30", "Asia/Shanghai")"#), "2024-03-05T06:30:00Z");
        assert_eq!(s(r#"parse_datetime("2024-03-05 14:30:00")"#), "2024-03-05T14:30:00Z");
        assert_eq!(s(r#"parse_datetime("05/03/2024 14:30", "%d/%m/%Y %H:%M")"#), "2024-03-05T14:30:00Z");
        assert_eq!(s(r#"parse_datetime("05/03/2024 14:30", "%d/%m/%Y %H:%M", "Asia/Shanghai")"#), "2024-03-05T06:30:00Z");
        assert_eq!(s(r#"parse_datetime(1709649000)"#), "2024-03-05T14:30:00Z");
        assert_eq!(s(r#"parse_datetime(1709649000000, "epoch_millis")"#), "2024-03-05T14:30:00Z");
        assert_eq!(s(r#"to_timezone("2024-03-05T14:30:00+08:00", "UTC")"#), "2024-03-05T06:30:00Z");
        assert_eq!(s(r#"to_timezone("2024-03-05T06:30:00Z", "Asia/Shanghai")"#), "2024-03-05T14:30:00+08:00");
        assert_eq!(s(r#"format_datetime("2024-01-01T05:00:30+08:00", "%Y-%m-%d %H:%M:%S", "UTC")"#), "2023-12-31 21:00:30");
        assert_eq!(s(r#"format_datetime("2024-01-01T05:00:30+08:00", "%Y-%m-%d %H:%M")"#), "2024-01-01 05:00");
        assert_eq!(s(r#"parse_date("2024年3月5日")"#), "2024-03-05");
        assert!(s("now_utc()").ends_with('Z'));
        assert_eq!(i(r#"epoch_seconds("2024-03-05T14:30:00Z")"#), 1_709_649_000);
        assert_eq!(i(r#"date_diff_seconds("2024-03-05 14:30:00", "2024-03-05T15:30:00+01:00")"#), 0);
        assert_eq!(i(r#"date_diff_seconds("2024-03-05 14:30:00", "2024-03-05 14:31:30")"#), 90);
        assert!(e.eval_expression::<()>("parse_datetime(())").is_ok());
        assert!(e.eval_expression::<()>(r#"format_datetime((), "%Y")"#).is_ok());
        let err = e.eval_expression::<String>(r#"parse_datetime("soon")"#).unwrap_err().to_string();
        assert!(err.contains("parse_datetime: cannot read \"soon\""), "{err}");
        let err = e.eval_expression::<String>(r#"to_timezone("2024-03-05", "Mars/Base")"#).unwrap_err().to_string();
        assert!(err.contains("unknown time zone \"Mars/Base\""), "{err}");
    }
}
