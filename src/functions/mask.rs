//! Masking personal data for display and hand-over: keep a few characters, hide the rest.
//! Counts are in characters, not bytes, so Chinese text masks correctly (`张三丰` keep 1 →
//! `张**`). The `mask` node and the Rhai functions registered here share this code.
//!
//! The presets, and why:
//! - `mobile`: first 3 and last 4 (`13812345678` → `138****5678`), the form Chinese apps
//!   and the W1 benchmark use.
//! - `id_card`: first 6 and last 4 (`11010519931101114X` → `110105********114X`): the
//!   region stays readable for statistics, the birth date and sequence are hidden.
//! - `bank_card`: spaces and dashes dropped, last 4 kept (`6222 0212 3456 7890` →
//!   `************7890`); the first 6 (the issuing bank) only when asked.
//! - `email`: first character of the local part, then always `***`, so the length of the
//!   name is not shown either (`zhang.123@qq.com` → `z***@qq.com`). Text without `@` keeps
//!   its first character only.
//! - `name`: a Chinese name keeps its family name — one character, or two for a known
//!   compound family name such as 欧阳 or 司马 in names of three or more characters
//!   (`张三` → `张*`, `欧阳子轩` → `欧阳**`). Other names keep the first letter of each
//!   word, with punctuation and spaces as they are (`Kevin Nguyen` → `K**** N*****`,
//!   `O'Neil` → `O'N***`): the initials, and no more, because the last letter would help
//!   guess a short name.
//!
//! Text too short to hide anything with the counts asked (keep first + keep last ≥ its
//! length) is masked entirely, so a short value never leaks whole. Empty text stays empty.
//!
//! Left out: format-preserving encryption and reversible tokens (see `hash` for encryption).

use super::text::{rt_err, text_fn};
use rhai::{Dynamic, Engine};

/// The default mask character.
pub const MASK_CHAR: char = '*';

/// What the `redact` method writes by default.
pub const REDACTED: &str = "[REDACTED]";

/// Keeps the first `keep_first` and last `keep_last` characters and replaces each other
/// one with `mask`. When that would hide nothing, every character is masked.
pub fn mask_partial(s: &str, keep_first: usize, keep_last: usize, mask: char) -> String {
    let n = s.chars().count();
    let (first, last) = if keep_first.saturating_add(keep_last) >= n { (0, 0) } else { (keep_first, keep_last) };
    let mut out = String::with_capacity(s.len() + 2);
    for (i, c) in s.chars().enumerate() {
        if i < first || i >= n - last {
            out.push(c);
        } else {
            out.push(mask);
        }
    }
    out
}

/// `138****5678`: first 3 and last 4 characters kept.
pub fn mask_mobile(s: &str, mask: char) -> String {
    mask_partial(s, 3, 4, mask)
}

/// `110105********114X`: first 6 and last 4 characters kept.
pub fn mask_id_card(s: &str, mask: char) -> String {
    mask_partial(s, 6, 4, mask)
}

/// Spaces and dashes dropped, the last 4 and the first `keep_first` characters kept.
pub fn mask_bank_card(s: &str, keep_first: usize, mask: char) -> String {
    let compact: String = s.chars().filter(|c| !matches!(c, ' ' | '-' | '\u{3000}')).collect();
    mask_partial(&compact, keep_first, 4, mask)
}

/// `z***@qq.com`: the first character of the local part, three mask characters, the domain.
pub fn mask_email(s: &str, mask: char) -> String {
    let Some(at) = s.rfind('@') else {
        return mask_partial(s, 1, 0, mask);
    };
    let (local, domain) = s.split_at(at);
    let mut out = String::with_capacity(s.len());
    out.extend(local.chars().next());
    out.extend([mask; 3]);
    out.push_str(domain);
    out
}

/// Compound family names common enough to matter; a name starting with one keeps both
/// characters (when it has at least three).
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文", "夏侯", "轩辕", "司徒",
    "端木", "独孤", "南宫", "西门", "万俟", "闻人", "澹台", "公冶", "太史", "申屠", "钟离", "司空", "呼延", "赫连", "拓跋",
    "濮阳", "宗政", "闾丘", "百里", "东郭", "鲜于", "左丘", "第五", "淳于", "单于", "太叔", "仲孙", "乐正", "公羊", "梁丘",
];

fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2EBEF}')
}

/// A person's name masked as described in the module docs.
pub fn mask_name(s: &str, mask: char) -> String {
    let t = s.trim();
    if t.chars().next().is_some_and(is_han) {
        let n = t.chars().count();
        let keep = if n >= 3 && COMPOUND_SURNAMES.iter().any(|c| t.starts_with(c)) { 2 } else { 1 };
        return mask_partial(t, keep, 0, mask);
    }
    let mut out = String::with_capacity(t.len());
    let mut in_word = false;
    for c in t.chars() {
        if c.is_alphabetic() {
            out.push(if in_word { mask } else { c });
            in_word = true;
        } else {
            out.push(c);
            in_word = false;
        }
    }
    out
}

fn count_arg(func: &str, what: &str, n: i64) -> Result<usize, Box<rhai::EvalAltResult>> {
    usize::try_from(n).map_err(|_| rt_err(func, format!("{what} must be 0 or more, not {n}")))
}

/// Registers `mask(s, keep_first, keep_last)`, `mask_phone(s)`, `mask_id_card(s)`,
/// `mask_bank_card(s)`, `mask_email(s)` and `mask_name(s)`, all with `*`. A null gives null;
/// numbers are masked as their digits (a phone read as a number still masks).
pub fn register(engine: &mut Engine) {
    engine.register_fn("mask", |v: Dynamic, first: i64, last: i64| {
        let (first, last) = (count_arg("mask", "keep_first", first)?, count_arg("mask", "keep_last", last)?);
        text_fn("mask", v, |s| Ok(mask_partial(s, first, last, MASK_CHAR)))
    });
    engine.register_fn("mask_phone", |v: Dynamic| text_fn("mask_phone", v, |s| Ok(mask_mobile(s, MASK_CHAR))));
    engine.register_fn("mask_id_card", |v: Dynamic| text_fn("mask_id_card", v, |s| Ok(mask_id_card(s, MASK_CHAR))));
    engine.register_fn("mask_bank_card", |v: Dynamic| text_fn("mask_bank_card", v, |s| Ok(mask_bank_card(s, 0, MASK_CHAR))));
    engine.register_fn("mask_email", |v: Dynamic| text_fn("mask_email", v, |s| Ok(mask_email(s, MASK_CHAR))));
    engine.register_fn("mask_name", |v: Dynamic| text_fn("mask_name", v, |s| Ok(mask_name(s, MASK_CHAR))));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_counts_characters() {
        assert_eq!(mask_partial("张三丰", 1, 0, '*'), "张**");
        assert_eq!(mask_partial("abcdef", 2, 1, '#'), "ab###f");
        // Too short to hide anything with these counts: all hidden.
        assert_eq!(mask_partial("abc", 2, 1, '*'), "***");
        assert_eq!(mask_partial("", 3, 4, '*'), "");
    }

    #[test]
    fn presets() {
        assert_eq!(mask_mobile("13812345678", '*'), "138****5678");
        assert_eq!(mask_id_card("11010519931101114X", '*'), "110105********114X");
        assert_eq!(mask_bank_card("6222 0212 3456 7890", 0, '*'), "************7890");
        assert_eq!(mask_bank_card("6222-0212-3456-7890", 6, '*'), "622202******7890");
        assert_eq!(mask_email("zhang.123@qq.com", '*'), "z***@qq.com");
        assert_eq!(mask_email("a@b.cn", '*'), "a***@b.cn");
        assert_eq!(mask_email("not-an-email", '*'), "n***********");
    }

    #[test]
    fn names_chinese_and_latin() {
        assert_eq!(mask_name("张三", '*'), "张*");
        assert_eq!(mask_name("王秀英", '*'), "王**");
        assert_eq!(mask_name("欧阳子轩", '*'), "欧阳**");
        assert_eq!(mask_name("欧阳修", '*'), "欧阳*");
        assert_eq!(mask_name("欧阳", '*'), "欧*");
        assert_eq!(mask_name(" 李四 ", '*'), "李*");
        assert_eq!(mask_name("Kevin Nguyen", '*'), "K**** N*****");
        assert_eq!(mask_name("Wong, Kevin", '*'), "W***, K****");
        assert_eq!(mask_name("O'Neil", '*'), "O'N***");
    }
}
