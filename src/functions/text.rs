//! Text clean-up as customer-service exports need it: trimming, case, full-width → half-width
//! (forms typed on a Chinese IME), blank → null, e-mail normalising and regex replacement.
//! The `cleanse` node and the Rhai functions registered here share this code.
//!
//! Rules a reader of the data can rely on:
//! - Full-width → half-width maps U+FF01–U+FF5E (`ＡＢＣ１２３！，`) to their ASCII
//!   forms and the ideographic space U+3000 to a plain space; nothing else changes, so
//!   Chinese characters and Chinese punctuation outside that block (`。`, `、`, `“”`) stay.
//! - Title case upper-cases the first letter of each word and lower-cases the rest; a word
//!   starts after whitespace or a hyphen (`mary-jane o'neil` → `Mary-Jane O'neil`).
//! - Regex replacement uses Rust `regex` syntax; `$1` / `${name}` in the replacement refer
//!   to groups. Nodes compile a pattern once; scripts go through a small per-thread cache.
//!
//! Left out: Unicode normalisation forms (NFC/NFKC), traditional ↔ simplified Chinese,
//! pinyin, and locale-specific case rules (Turkish dotted i).

use regex::Regex;
use rhai::{Dynamic, Engine};
use std::borrow::Cow;
use std::cell::RefCell;

/// Whether `s` is empty or only whitespace (what `empty_to_null` turns into null).
pub fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// `s` with full-width ASCII forms (U+FF01–U+FF5E) and the ideographic space (U+3000)
/// turned into plain ASCII. Borrowed when there is nothing to change.
pub fn to_halfwidth(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_fullwidth) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match c {
                '\u{3000}' => ' ',
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                other => other,
            })
            .collect(),
    )
}

fn is_fullwidth(c: char) -> bool {
    matches!(c, '\u{3000}' | '\u{FF01}'..='\u{FF5E}')
}

/// First letter of each word upper case, the rest lower case. Words start after whitespace
/// or a hyphen; characters without case (Chinese) pass through.
pub fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word_start = true;
    for c in s.chars() {
        if c.is_alphabetic() {
            if word_start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            word_start = false;
        } else {
            out.push(c);
            word_start = c.is_whitespace() || c == '-';
        }
    }
    out
}

/// An e-mail address as systems compare it: trimmed and lower-cased. It is not checked;
/// use a `validate` rule with a regex for that.
pub fn normalize_email(s: &str) -> String {
    s.trim().to_lowercase()
}

/// A compiled pattern and its replacement, for replacing every match.
#[derive(Debug, Clone)]
pub struct RegexReplace {
    re: Regex,
    replacement: String,
}

impl RegexReplace {
    /// Compiles `pattern`; the error says what is wrong with it in plain words.
    pub fn new(pattern: &str, replacement: &str) -> Result<Self, String> {
        Ok(RegexReplace { re: compile_regex(pattern)?, replacement: replacement.to_string() })
    }

    /// `s` with every match replaced. Borrowed when nothing matched.
    pub fn apply<'a>(&self, s: &'a str) -> Cow<'a, str> {
        self.re.replace_all(s, self.replacement.as_str())
    }
}

/// Compiles a pattern with an error message fit for a user.
pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| match e {
        regex::Error::Syntax(msg) => format!("the pattern {pattern:?} is not a valid regular expression:\n{msg}"),
        regex::Error::CompiledTooBig(_) => format!("the pattern {pattern:?} is too large once compiled; simplify it"),
        other => format!("the pattern {pattern:?} cannot be used: {other}"),
    })
}

/// Patterns kept per thread for script calls; scripts use a handful of literal patterns,
/// so a small list with oldest-out eviction keeps every hit without growing unbounded.
const REGEX_CACHE_SIZE: usize = 32;

/// A compiled pattern from the per-thread cache (scripts call with the same pattern row
/// after row; compiling it each time would dominate the cost).
pub fn cached_regex(pattern: &str) -> Result<Regex, String> {
    thread_local! {
        static CACHE: RefCell<Vec<(String, Regex)>> = const { RefCell::new(Vec::new()) };
    }
    if let Some(hit) = CACHE.with(|c| c.borrow().iter().find(|(p, _)| p == pattern).map(|(_, r)| r.clone())) {
        return Ok(hit);
    }
    let re = compile_regex(pattern)?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= REGEX_CACHE_SIZE {
            c.remove(0);
        }
        c.push((pattern.to_string(), re.clone()));
    });
    Ok(re)
}

/// Registers the text functions. Each takes text or `()` (a null field, which gives `()`
/// back); numbers are taken as their text.
///
/// `to_halfwidth(s)`, `title_case(s)`, `normalize_email(s)`, `empty_to_null(s)`,
/// `regex_replace(s, pattern, replacement)` (every match), `regex_match(s, pattern)`
/// (true when the pattern matches anywhere in `s`; anchor it with `^…$` for the whole text).
/// Trimming and upper/lower case are Rhai's own `trim()`, `to_upper()`, `to_lower()`.
pub fn register(engine: &mut Engine) {
    engine.register_fn("to_halfwidth", |v: Dynamic| text_fn("to_halfwidth", v, |s| Ok(to_halfwidth(s).into_owned())));
    engine.register_fn("title_case", |v: Dynamic| text_fn("title_case", v, |s| Ok(title_case(s))));
    engine.register_fn("normalize_email", |v: Dynamic| text_fn("normalize_email", v, |s| Ok(normalize_email(s))));
    engine.register_fn("empty_to_null", |v: Dynamic| -> Result<Dynamic, Box<rhai::EvalAltResult>> {
        match text_arg("empty_to_null", &v)? {
            Some(s) if is_blank(&s) => Ok(Dynamic::UNIT),
            _ => Ok(v),
        }
    });
    engine.register_fn("regex_replace", |v: Dynamic, pattern: &str, replacement: &str| {
        text_fn("regex_replace", v, |s| {
            let re = cached_regex(pattern)?;
            Ok(re.replace_all(s, replacement).into_owned())
        })
    });
    engine.register_fn("regex_match", |v: Dynamic, pattern: &str| -> Result<bool, Box<rhai::EvalAltResult>> {
        match text_arg("regex_match", &v)? {
            None => Ok(false),
            Some(s) => Ok(cached_regex(pattern).map_err(|e| rt_err("regex_match", e))?.is_match(&s)),
        }
    });
}

/// Turns an error message into a Rhai run-time error naming the function.
pub(crate) fn rt_err(func: &str, message: impl std::fmt::Display) -> Box<rhai::EvalAltResult> {
    format!("{func}: {message}").into()
}

/// Reads a text argument of a script function: `None` for `()` (a null field), the text of
/// a string, or the digits of an integer (phone numbers and IDs are often read as numbers).
/// Anything else is an error naming the function and the type it got.
pub(crate) fn text_arg(func: &str, v: &Dynamic) -> Result<Option<rhai::ImmutableString>, Box<rhai::EvalAltResult>> {
    if v.is_unit() {
        return Ok(None);
    }
    if v.is_string() {
        // A shared string: cloning it is a reference count, not a copy.
        return Ok(v.clone().into_immutable_string().ok());
    }
    if let Ok(i) = v.as_int() {
        return Ok(Some(i.to_string().into()));
    }
    if let Ok(d) = v.as_decimal() {
        return Ok(Some(d.to_string().into()));
    }
    Err(rt_err(func, format!("expects text, got {} ({})", v, v.type_name())))
}

/// Runs a text → text function for Rhai: `()` in gives `()` out.
pub(crate) fn text_fn(
    func: &str,
    v: Dynamic,
    f: impl FnOnce(&str) -> Result<String, String>,
) -> Result<Dynamic, Box<rhai::EvalAltResult>> {
    match text_arg(func, &v)? {
        None => Ok(Dynamic::UNIT),
        Some(s) => f(&s).map(Dynamic::from).map_err(|e| rt_err(func, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halfwidth_maps_the_fullwidth_block_and_leaves_chinese() {
        assert_eq!(to_halfwidth("ＡＢＣ　１２３！，张三。"), "ABC 123!,张三。");
        assert_eq!(to_halfwidth("１３８－１２３４"), "138-1234");
        assert!(matches!(to_halfwidth("plain 中文"), Cow::Borrowed(_)));
    }

    #[test]
    fn title_case_starts_words_after_space_and_hyphen() {
        assert_eq!(title_case("mary-jane O'NEIL  smith"), "Mary-Jane O'neil  Smith");
        assert_eq!(title_case("王 xiaoming"), "王 Xiaoming");
    }

    #[test]
    fn blanks_and_emails() {
        assert!(is_blank(" \t"));
        assert!(is_blank(""));
        assert!(!is_blank(" a "));
        assert_eq!(normalize_email("  Zhang.San@QQ.com "), "zhang.san@qq.com");
    }

    #[test]
    fn regex_replace_uses_groups_and_reports_bad_patterns() {
        let r = RegexReplace::new(r"(\d{3})-(\d{4})", "$1$2").unwrap();
        assert_eq!(r.apply("tel 138-1234 and 139-0000"), "tel 1381234 and 1390000");
        assert!(matches!(r.apply("none"), Cow::Borrowed(_)));
        let err = RegexReplace::new("(unclosed", "").unwrap_err();
        assert!(err.contains("not a valid regular expression"), "{err}");
    }

    #[test]
    fn cache_stays_bounded() {
        for i in 0..(REGEX_CACHE_SIZE + 5) {
            assert!(cached_regex(&format!("a{{{i}}}")).unwrap().is_match(&"a".repeat(i)));
        }
        assert!(cached_regex("a{3}").unwrap().is_match("aaa"));
    }

    #[test]
    fn script_functions_of_every_family() {
        let e = crate::script::engine();
        let t = |src: &str| e.eval::<String>(src).unwrap_or_else(|err| panic!("{src}: {err}"));
        assert_eq!(t(r#"title_case("mary-jane o'neil")"#), "Mary-Jane O'neil");
        assert_eq!(t(r#"normalize_email(" A@B.CN ")"#), "a@b.cn");
        assert_eq!(t(r#"to_halfwidth("１２３")"#), "123");
        assert_eq!(t(r#"mask_bank_card("6222 0212 3456 7890")"#), "************7890");
        assert_eq!(t(r#"mask(13812345678, 3, 4)"#), "138****5678");
        assert_eq!(t(r#"hmac_sha256("13812345678", "k3y")"#), "59d77e8f0cf8672cc6dab4456ad8d00d7283f0ce9f26d794a463e95e9e60b861");
        assert_eq!(t(r#"id_card_error("110105194912310021")"#), "the check character should be X, not 1 (a digit was mistyped)");
        assert!(e.eval::<rhai::Dynamic>(r#"id_card_error("11010519491231002X")"#).unwrap().is_unit());
        assert!(e.eval::<rhai::Dynamic>(r#"empty_to_null("  ")"#).unwrap().is_unit());
        assert!(e.eval::<bool>(r#"is_mobile_cn("13812345678") && !is_mobile_cn("+8613812345678")"#).unwrap());
        let err = e.eval::<rhai::Dynamic>(r#"mask("abc", -1, 0)"#).unwrap_err().to_string();
        assert!(err.contains("keep_first must be 0 or more"), "{err}");
        let err = e.eval::<rhai::Dynamic>(r#"regex_match("a", "(")"#).unwrap_err().to_string();
        assert!(err.contains("regex_match: the pattern"), "{err}");
        let err = e.eval::<rhai::Dynamic>(r#"sha256([1, 2])"#).unwrap_err().to_string();
        assert!(err.contains("sha256: expects text"), "{err}");
    }
}
