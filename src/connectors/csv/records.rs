//! Splitting UTF-8 (or ASCII-compatible) bytes into CSV records with `csv_core`, keeping
//! what the `csv` crate's reader does not give: the raw bytes of each record, its exact
//! starting line, and a hard cap on its size.
//!
//! The reader owns one buffer. A record's bytes stay contiguous in it from the record's
//! first byte until the next call (the buffer is compacted or grown only at a refill), so
//! the raw line text for an error row costs nothing until it is asked for, and a record
//! that would outgrow `max_record_bytes` (an unclosed quote swallowing the rest of the file)
//! is stopped with its line number instead of exhausting memory.
//!
//! Speed: most records are read by a block scanner (`RecordReader::read_fast`) that finds
//! quotes, delimiters and line breaks 64 bytes at a time with vector compares and tells
//! quoted regions apart by a prefix XOR of the quote bits — about twice as fast as
//! csv_core's byte-at-a-time state machine. It takes only records it can read exactly as
//! csv_core would and hands every other one to csv_core; a randomised test holds the two
//! to the same output.

use super::CsvError;
use csv_core::ReadRecordResult;
use std::io::{self, Read};

/// Initial buffer size; grows only for records longer than this.
const BUF_SIZE: usize = 1 << 20;
/// Free space wanted before a read from the source.
const MIN_READ: usize = 64 * 1024;

/// One parsed record: a buffer holding its fields' unescaped bytes, and where each field
/// starts and ends in it. Fields read by csv_core lie back to back; fields read by the
/// block scanner keep the line's layout (delimiters and quotes between them), which saves
/// a copy per field. Either way every byte of [`RawRecord::bytes`] outside the fields is
/// ASCII, so one UTF-8 check of it covers every field.
#[derive(Debug, Clone, Default)]
pub struct RawRecord {
    data: Vec<u8>,
    starts: Vec<usize>,
    ends: Vec<usize>,
    len: usize,
    /// 1-based physical line the record starts on.
    pub line: u64,
}

impl RawRecord {
    pub fn new() -> Self {
        RawRecord { data: vec![0; 1024], starts: vec![0; 64], ends: vec![0; 64], len: 0, line: 0 }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes holding every field (and, from the block scanner, the ASCII between them).
    pub fn bytes(&self) -> &[u8] {
        &self.data[..if self.len == 0 { 0 } else { self.ends[self.len - 1] }]
    }

    /// Where field `i` lies in [`RawRecord::bytes`].
    #[inline]
    pub fn span(&self, i: usize) -> (usize, usize) {
        (self.starts[i], self.ends[i])
    }

    /// The bytes of field `i`.
    pub fn field(&self, i: usize) -> &[u8] {
        &self.data[self.starts[i]..self.ends[i]]
    }

    pub fn fields(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len).map(move |i| self.field(i))
    }

    fn make_room(&mut self, bytes: usize, fields: usize) {
        if self.data.len() < bytes {
            self.data.resize(bytes.next_power_of_two(), 0);
        }
        if self.ends.len() < fields {
            self.ends.resize(fields.next_power_of_two(), 0);
        }
        if self.starts.len() < self.ends.len() {
            self.starts.resize(self.ends.len(), 0);
        }
    }
}

/// Reads CSV records from a byte source. See the module docs.
pub struct RecordReader<R> {
    src: R,
    buf: Vec<u8>,
    /// Unconsumed input is `buf[pos..end]`.
    pos: usize,
    end: usize,
    /// Start of the record being read (kept in the buffer across refills).
    rec_start: usize,
    /// The last record's raw text, without leading blank lines or its line break.
    raw_start: usize,
    raw_end: usize,
    eof: bool,
    core: csv_core::Reader,
    max_record_bytes: usize,
    started: bool,
    strip_bom: bool,
    delimiter: u8,
    quote: u8,
    /// Whether the block scanner may be tried (after csv_core read a first record, and
    /// unless turned off to test it against csv_core).
    fast: bool,
    fast_allowed: bool,
    /// Separator and quote positions found by the block scanner (reused).
    seps: Vec<usize>,
    quotes: Vec<usize>,
    /// Records the block scanner read (for tests and profiling), and refusals in a row.
    fast_hits: u64,
    fast_misses: u32,
}

impl<R: Read> RecordReader<R> {
    /// A reader splitting on `delimiter` with `quote`. With `strip_utf8_bom`, a UTF-8
    /// byte-order mark at the very start is skipped.
    pub fn new(src: R, delimiter: u8, quote: u8, max_record_bytes: usize, strip_utf8_bom: bool) -> Self {
        let core =
            csv_core::ReaderBuilder::new().delimiter(delimiter).quote(quote).double_quote(true).quoting(true).build();
        RecordReader {
            src,
            buf: vec![0; BUF_SIZE],
            pos: 0,
            end: 0,
            rec_start: 0,
            raw_start: 0,
            raw_end: 0,
            eof: false,
            core,
            max_record_bytes: max_record_bytes.max(1),
            started: false,
            strip_bom: strip_utf8_bom,
            delimiter,
            quote,
            fast: false,
            fast_allowed: BLOCK_SCANNER,
            seps: Vec::with_capacity(64),
            quotes: Vec::with_capacity(64),
            fast_hits: 0,
            fast_misses: 0,
        }
    }

    /// Turns the block scanner off, so every record goes through csv_core (tests).
    #[cfg(test)]
    fn without_fast_path(mut self) -> Self {
        self.fast_allowed = false;
        self
    }

    /// Reads more input, keeping `buf[rec_start..end]`.
    fn fill(&mut self) -> io::Result<()> {
        if self.rec_start > 0 {
            self.buf.copy_within(self.rec_start..self.end, 0);
            self.pos -= self.rec_start;
            self.end -= self.rec_start;
            self.rec_start = 0;
        }
        if self.buf.len() - self.end < MIN_READ {
            let want = (self.buf.len() * 2).max(self.end + MIN_READ);
            self.buf.resize(want, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn start(&mut self) -> io::Result<()> {
        self.started = true;
        if self.strip_bom {
            while self.end - self.pos < 3 && !self.eof {
                self.fill()?;
            }
            if self.buf[self.pos..self.end].starts_with(b"\xEF\xBB\xBF") {
                self.pos += 3;
                self.rec_start = self.pos;
            }
        }
        Ok(())
    }

    /// Skips `n` physical lines (text before the header). Returns how many there were.
    pub fn skip_lines(&mut self, n: u64) -> Result<u64, CsvError> {
        let io_err = |e| CsvError::Invalid { message: format!("cannot read the file: {e}"), line: None };
        if !self.started {
            self.start().map_err(io_err)?;
        }
        let mut skipped = 0;
        while skipped < n {
            self.rec_start = self.pos;
            loop {
                if let Some(i) = self.buf[self.pos..self.end].iter().position(|&b| b == b'\n') {
                    self.pos += i + 1;
                    skipped += 1;
                    break;
                }
                self.pos = self.end;
                if self.pos - self.rec_start > self.max_record_bytes {
                    let line = self.core.line() + skipped;
                    return Err(CsvError::RecordTooLong { line, limit: self.max_record_bytes });
                }
                if self.eof {
                    if self.pos > self.rec_start {
                        skipped += 1;
                    }
                    self.core.set_line(self.core.line() + skipped);
                    return Ok(skipped);
                }
                self.fill().map_err(io_err)?;
            }
        }
        self.rec_start = self.pos;
        self.core.set_line(self.core.line() + skipped);
        Ok(skipped)
    }

    /// Reads the next record into `rec`; `Ok(false)` at the end of the input. Empty lines
    /// are skipped. A record longer than `max_record_bytes` is an error naming its line.
    pub fn read_record(&mut self, rec: &mut RawRecord) -> Result<bool, ReadFailure> {
        if !self.started {
            self.start()?;
        }
        if rec.data.is_empty() {
            rec.data.resize(1024, 0);
        }
        if rec.ends.is_empty() {
            rec.ends.resize(64, 0);
        }
        rec.len = 0;
        self.rec_start = self.pos;
        let line_before = self.core.line();
        if self.fast {
            if self.read_fast(rec, line_before) {
                self.fast_misses = 0;
                return Ok(true);
            }
            // A file the scanner keeps refusing (odd quoting everywhere) is left to csv_core.
            self.fast_misses += 1;
            if self.fast_misses >= 64 {
                self.fast = false;
                self.fast_allowed = false;
            }
        }
        let (mut outlen, mut endlen) = (0usize, 0usize);
        loop {
            if self.pos == self.end && !self.eof {
                self.fill()?;
            }
            let (res, nin, nout, nend) =
                self.core.read_record(&self.buf[self.pos..self.end], &mut rec.data[outlen..], &mut rec.ends[endlen..]);
            self.pos += nin;
            outlen += nout;
            endlen += nend;
            match res {
                ReadRecordResult::InputEmpty => {
                    if self.pos - self.rec_start > self.max_record_bytes {
                        let line = line_before + self.leading_newlines();
                        return Err(ReadFailure::Csv(CsvError::RecordTooLong { line, limit: self.max_record_bytes }));
                    }
                }
                ReadRecordResult::OutputFull => {
                    let n = rec.data.len() * 2;
                    rec.data.resize(n, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let n = rec.ends.len() * 2;
                    rec.ends.resize(n, 0);
                }
                ReadRecordResult::Record => {
                    if self.pos - self.rec_start > self.max_record_bytes {
                        let line = line_before + self.leading_newlines();
                        return Err(ReadFailure::Csv(CsvError::RecordTooLong { line, limit: self.max_record_bytes }));
                    }
                    rec.len = endlen;
                    rec.make_room(0, endlen);
                    let mut start = 0;
                    for i in 0..endlen {
                        rec.starts[i] = start;
                        start = rec.ends[i];
                    }
                    let lead =
                        self.buf[self.rec_start..self.pos].iter().take_while(|&&b| b == b'\n' || b == b'\r').count();
                    let newlines =
                        self.buf[self.rec_start..self.rec_start + lead].iter().filter(|&&b| b == b'\n').count();
                    rec.line = line_before + newlines as u64;
                    self.raw_start = self.rec_start + lead;
                    let mut e = self.pos;
                    while e > self.raw_start && matches!(self.buf[e - 1], b'\n' | b'\r') {
                        e -= 1;
                    }
                    self.raw_end = e;
                    // csv_core has seen the start of the input (its BOM check is done), so
                    // the block scanner may take over from here.
                    self.fast = self.fast_allowed;
                    return Ok(true);
                }
                ReadRecordResult::End => return Ok(false),
            }
        }
    }

    /// The fast path: reads one record by scanning 64-byte blocks for quotes, delimiters
    /// and line breaks at once (bit masks; quoted regions by prefix XOR of the quote mask),
    /// instead of csv_core's byte-by-byte state machine. It only accepts what it can read
    /// exactly as csv_core would: every field either free of quotes or wholly quoted with
    /// inner quotes doubled, a line break outside quotes as the end, a carriage return only
    /// right before it, and the whole record inside the buffer. For anything else it
    /// returns false having changed nothing, and csv_core reads the record.
    fn read_fast(&mut self, rec: &mut RawRecord, line_before: u64) -> bool {
        let (delim, quote) = (self.delimiter, self.quote);
        let buf = &self.buf[..self.end];
        let mut start = self.pos;
        let mut lead_newlines = 0u64;
        while start < buf.len() && matches!(buf[start], b'\n' | b'\r') {
            lead_newlines += (buf[start] == b'\n') as u64;
            start += 1;
        }
        self.seps.clear();
        self.quotes.clear();
        let mut inside = 0u64;
        let mut inner_newlines = 0u64;
        let mut i = start;
        let end = loop {
            let Some(block) = buf.get(i..i + 64) else { return false };
            let m = block_masks(block.try_into().expect("64 bytes"), quote, delim);
            let in_quotes = prefix_xor(m.quote) ^ inside;
            let n_out = m.lf & !in_quotes;
            let stop = n_out.trailing_zeros(); // 64 when the record goes on
            let before = if stop == 64 { u64::MAX } else { (1u64 << stop) - 1 };
            let r_out = m.cr & !in_quotes & before;
            if r_out != 0 && (stop == 0 || stop == 64 || r_out != 1u64 << (stop - 1)) {
                return false;
            }
            inner_newlines += (m.lf & before).count_ones() as u64;
            let mut d = m.delim & !in_quotes & before;
            while d != 0 {
                self.seps.push(i + d.trailing_zeros() as usize);
                d &= d - 1;
            }
            let mut q = m.quote & before;
            while q != 0 {
                self.quotes.push(i + q.trailing_zeros() as usize);
                q &= q - 1;
            }
            if stop < 64 {
                break i + stop as usize;
            }
            inside = if in_quotes >> 63 == 1 { u64::MAX } else { 0 };
            i += 64;
        };
        if end + 1 - self.pos > self.max_record_bytes {
            return false; // csv_core reports it
        }
        let content_end = if end > start && buf[end - 1] == b'\r' { end - 1 } else { end };

        // Check the quoting before touching `rec`: a field holding quotes must be wholly
        // quoted, its inner quotes in adjacent pairs.
        let nfields = self.seps.len() + 1;
        let field_end = |k: usize| if k < nfields - 1 { self.seps[k] } else { content_end };
        if !self.quotes.is_empty() {
            let mut qi = 0;
            let mut fs = start;
            for k in 0..nfields {
                let fe = field_end(k);
                let mut qj = qi;
                while qj < self.quotes.len() && self.quotes[qj] < fe {
                    qj += 1;
                }
                if qj > qi {
                    let qs = &self.quotes[qi..qj];
                    if qs.len() < 2 || qs[0] != fs || qs[qs.len() - 1] != fe - 1 {
                        return false;
                    }
                    let inner = &qs[1..qs.len() - 1];
                    if inner.len() % 2 == 1 || inner.chunks_exact(2).any(|p| p[1] != p[0] + 1) {
                        return false;
                    }
                }
                qi = qj;
                fs = fe + 1;
            }
        }

        // One copy of the line; fields keep its layout.
        let len = content_end - start;
        rec.make_room(len, nfields);
        rec.data[..len].copy_from_slice(&buf[start..content_end]);
        let mut qi = 0;
        let mut fs = start;
        for k in 0..nfields {
            let fe = field_end(k);
            let (mut a, mut b) = (fs - start, fe - start);
            if qi < self.quotes.len() && self.quotes[qi] == fs {
                let mut qj = qi;
                while qj < self.quotes.len() && self.quotes[qj] < fe {
                    qj += 1;
                }
                a += 1;
                b -= 1;
                // Doubled quotes: keep one of each pair, moving the rest left in place,
                // and blank the freed tail so the bytes stay valid UTF-8.
                let pairs = &self.quotes[qi + 1..qj - 1];
                if !pairs.is_empty() {
                    let mut w = pairs[0] - start + 1;
                    for (j, p) in pairs.chunks_exact(2).enumerate() {
                        let seg_start = p[1] - start + 1;
                        let seg_end = pairs.get(2 * j + 2).map_or(b, |&next| next - start + 1);
                        rec.data.copy_within(seg_start..seg_end, w);
                        w += seg_end - seg_start;
                    }
                    rec.data[w..b].fill(b' ');
                    b = w;
                }
                qi = qj;
            }
            rec.starts[k] = a;
            rec.ends[k] = b;
            fs = fe + 1;
        }
        rec.len = nfields;
        rec.line = line_before + lead_newlines;
        self.core.set_line(rec.line + inner_newlines + 1);
        self.raw_start = start;
        self.raw_end = content_end;
        self.pos = end + 1;
        self.fast_hits += 1;
        true
    }

    fn leading_newlines(&self) -> u64 {
        self.buf[self.rec_start..self.pos]
            .iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .filter(|&&b| b == b'\n')
            .count() as u64
    }

    /// The raw text of the record last read (without its line break), valid until the
    /// next read.
    pub fn last_raw(&self) -> &[u8] {
        &self.buf[self.raw_start..self.raw_end]
    }
}

/// Where the quote, the delimiter, LF and CR are in a 64-byte block: bit `i` set where
/// `block[i]` is that byte.
struct BlockMasks {
    quote: u64,
    delim: u64,
    lf: u64,
    cr: u64,
}

/// The block scanner is worth it where vector compares are at hand without a runtime
/// check: SSE2 is part of every x86_64 CPU. Elsewhere csv_core reads everything (the
/// scalar masks below stay, for the tests).
const BLOCK_SCANNER: bool = cfg!(target_arch = "x86_64") || cfg!(test);

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn block_masks(block: &[u8; 64], quote: u8, delim: u8) -> BlockMasks {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    // SAFETY: SSE2 is in the x86_64 baseline, so these instructions exist on every CPU
    // this code runs on; each unaligned load reads 16 bytes inside `block` (k < 4).
    unsafe {
        let (vq, vd, vn, vr) = (
            _mm_set1_epi8(quote as i8),
            _mm_set1_epi8(delim as i8),
            _mm_set1_epi8(b'\n' as i8),
            _mm_set1_epi8(b'\r' as i8),
        );
        let mut m = BlockMasks { quote: 0, delim: 0, lf: 0, cr: 0 };
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
            let bits = |x| (_mm_movemask_epi8(_mm_cmpeq_epi8(v, x)) as u32 as u64) << (16 * k);
            m.quote |= bits(vq);
            m.delim |= bits(vd);
            m.lf |= bits(vn);
            m.cr |= bits(vr);
        }
        m
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn block_masks(block: &[u8; 64], quote: u8, delim: u8) -> BlockMasks {
    let eq = |x: u8| block.iter().enumerate().fold(0u64, |m, (i, &b)| m | (((b == x) as u64) << i));
    BlockMasks { quote: eq(quote), delim: eq(delim), lf: eq(b'\n'), cr: eq(b'\r') }
}

/// Bit `i` set where an odd number of bits `0..=i` of `x` are set: with `x` the quote
/// positions, the bits inside quotes (opening quote included, closing quote not).
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// A record could not be read: an I/O error, or a CSV-level failure with its line.
#[derive(Debug)]
pub enum ReadFailure {
    Io(io::Error),
    Csv(CsvError),
}

impl From<io::Error> for ReadFailure {
    fn from(e: io::Error) -> Self {
        ReadFailure::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(data: &[u8]) -> Vec<(u64, Vec<String>, String)> {
        let mut r = RecordReader::new(data, b',', b'"', 16 << 20, true);
        let mut rec = RawRecord::new();
        let mut out = Vec::new();
        while r.read_record(&mut rec).unwrap() {
            let fields = rec.fields().map(|f| String::from_utf8(f.to_vec()).unwrap()).collect();
            out.push((rec.line, fields, String::from_utf8(r.last_raw().to_vec()).unwrap()));
        }
        out
    }

    #[test]
    fn lines_are_physical_start_lines() {
        let data = b"a,b\n1,2\n\n3,4\n\"x\ny\",5\n6,7";
        let got = all(data);
        let lines: Vec<u64> = got.iter().map(|g| g.0).collect();
        assert_eq!(lines, vec![1, 2, 4, 5, 7]);
        assert_eq!(got[3].1, vec!["x\ny", "5"]);
        assert_eq!(got[3].2, "\"x\ny\",5");
        assert_eq!(got[4].2, "6,7");

        let crlf = b"a,b\r\n1,2\r\n\r\n3,4\r\n\"x\r\ny\",5\r\n6,7\r\n";
        let lines: Vec<u64> = all(crlf).iter().map(|g| g.0).collect();
        assert_eq!(lines, vec![1, 2, 4, 5, 7]);
    }

    #[test]
    fn quotes_delimiters_and_bom() {
        let data = "\u{FEFF}name,note\n\"Wong, Kevin\",\"say \"\"hi\"\"\"\n王秀英,\n".as_bytes();
        let got = all(data);
        assert_eq!(got[0].1, vec!["name", "note"]);
        assert_eq!(got[1].1, vec!["Wong, Kevin", "say \"hi\""]);
        assert_eq!(got[2].1, vec!["王秀英", ""]);
    }

    #[test]
    fn long_records_grow_the_buffer() {
        let big = "x".repeat(3 * BUF_SIZE + 17);
        let data = format!("a,b\n1,\"{big}\"\n2,3\n");
        let got = all(data.as_bytes());
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1[1].len(), big.len());
        assert_eq!(got[2], (3, vec!["2".into(), "3".into()], "2,3".into()));
    }

    #[test]
    fn open_quote_hits_the_record_limit_with_its_line() {
        let mut data = String::from("a,b\n1,2\n3,\"open\n");
        for i in 0..100_000 {
            data.push_str(&format!("{i},row\n"));
        }
        let mut r = RecordReader::new(data.as_bytes(), b',', b'"', 64 * 1024, false);
        let mut rec = RawRecord::new();
        assert!(r.read_record(&mut rec).unwrap());
        assert!(r.read_record(&mut rec).unwrap());
        match r.read_record(&mut rec) {
            Err(ReadFailure::Csv(CsvError::RecordTooLong { line, limit })) => {
                assert_eq!(line, 3);
                assert_eq!(limit, 64 * 1024);
            }
            other => panic!("{other:?}"),
        }
    }

    type Records = Vec<Result<(u64, Vec<Vec<u8>>, Vec<u8>), String>>;

    /// Every record (line, fields, raw text) or the error that ended reading, and how many
    /// records the block scanner read.
    fn records(mut r: RecordReader<&[u8]>) -> (Records, u64) {
        let mut rec = RawRecord::new();
        let mut out = Vec::new();
        loop {
            match r.read_record(&mut rec) {
                Ok(true) => {
                    // What the row reader relies on: valid fields make valid bytes.
                    if rec.fields().all(|f| std::str::from_utf8(f).is_ok()) {
                        assert!(std::str::from_utf8(rec.bytes()).is_ok(), "{:?}", String::from_utf8_lossy(rec.bytes()));
                    }
                    out.push(Ok((rec.line, rec.fields().map(<[u8]>::to_vec).collect(), r.last_raw().to_vec())))
                }
                Ok(false) => return (out, r.fast_hits),
                Err(e) => {
                    out.push(Err(format!("{e:?}")));
                    return (out, r.fast_hits);
                }
            }
        }
    }

    /// The block scanner must read every input exactly as csv_core does: random inputs
    /// made of the bytes that matter, compared record by record.
    #[test]
    fn block_scanner_agrees_with_csv_core() {
        let alphabet: &[&[u8]] = &[
            b"a",
            b"bc",
            b",",
            b",",
            b"\"",
            b"\"\"",
            b"\n",
            b"\r\n",
            b"\r",
            b" ",
            "é".as_bytes(),
            "中文".as_bytes(),
            b";",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut fast_records = 0;
        for case in 0..2000 {
            let len = (next() % 3000) as usize;
            let mut data = Vec::with_capacity(len + 8);
            // Mostly well-formed lines, sometimes noise, so both paths get work.
            let noisy = case % 3 == 0;
            while data.len() < len {
                if noisy {
                    data.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
                } else {
                    let fields = 1 + next() % 6;
                    for f in 0..fields {
                        if f > 0 {
                            data.push(b',');
                        }
                        match next() % 5 {
                            0 => data.extend_from_slice(b"\"x, \"\"y\"\"\nz\""),
                            1 => {}
                            2 => data.extend_from_slice("王秀英".as_bytes()),
                            _ => data.extend_from_slice(b"plain text 123"),
                        }
                    }
                    data.extend_from_slice(if next() % 4 == 0 { b"\r\n" } else { b"\n" });
                }
            }
            for (d, q) in [(b',', b'"'), (b';', b'\'')] {
                let (slow, none) = records(RecordReader::new(&data[..], d, q, 1 << 20, true).without_fast_path());
                let (fast, hits) = records(RecordReader::new(&data[..], d, q, 1 << 20, true));
                assert_eq!(none, 0);
                assert_eq!(fast, slow, "case {case}: {:?}", String::from_utf8_lossy(&data));
                fast_records += hits;
            }
        }
        assert!(fast_records > 10_000);
    }

    #[test]
    fn block_scanner_steps_aside_for_files_it_cannot_read() {
        // Quotes in the middle of unquoted fields on every line: csv_core's reading.
        let mut data = b"a,b\n".to_vec();
        for i in 0..300 {
            data.extend_from_slice(
                format!("{i} say \"hi\" to everyone in the room,and more text to pass one block\n").as_bytes(),
            );
        }
        let (fast, hits) = records(RecordReader::new(&data[..], b',', b'"', 1 << 20, false));
        let (slow, _) = records(RecordReader::new(&data[..], b',', b'"', 1 << 20, false).without_fast_path());
        assert_eq!(fast, slow);
        assert_eq!(hits, 0);
        assert_eq!(fast[1].as_ref().unwrap().1[0], b"0 say \"hi\" to everyone in the room");
    }

    #[test]
    fn block_scanner_handles_long_quoted_records_and_limits() {
        // A quoted field spanning many blocks and lines, then plain lines.
        let mut data = b"h1,h2\n".to_vec();
        let long = "line\n".repeat(100);
        for i in 0..50 {
            data.extend_from_slice(format!("{i},\"{long}\"\n{i},x\n").as_bytes());
        }
        let (fast, hits) = records(RecordReader::new(&data[..], b',', b'"', 1 << 20, false));
        let (slow, _) = records(RecordReader::new(&data[..], b',', b'"', 1 << 20, false).without_fast_path());
        assert_eq!(fast, slow);
        assert!(hits > 90, "{hits}");
        let Ok((line, _, _)) = &fast[3] else { panic!() };
        // Header, the 101 lines of record 0, its short line: record 2 starts on line 104.
        assert_eq!(*line, 104);
        // The limit holds on the fast path too.
        let (fast, _) = records(RecordReader::new(&data[..], b',', b'"', 300, false));
        let (slow, _) = records(RecordReader::new(&data[..], b',', b'"', 300, false).without_fast_path());
        assert_eq!(fast, slow);
        assert!(matches!(fast.last(), Some(Err(e)) if e.contains("RecordTooLong")));
    }

    #[test]
    fn skips_lines_before_the_header() {
        let data = b"report of March\nexported 2024-03-05\na,b\n1,2\n";
        let mut r = RecordReader::new(&data[..], b',', b'"', 1 << 20, true);
        assert_eq!(r.skip_lines(2).unwrap(), 2);
        let mut rec = RawRecord::new();
        assert!(r.read_record(&mut rec).unwrap());
        assert_eq!(rec.line, 3);
        assert!(r.read_record(&mut rec).unwrap());
        assert_eq!(rec.line, 4);
        assert_eq!(rec.field(1), b"2");
    }
}
