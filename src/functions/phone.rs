//! Chinese mobile numbers (中国大陆手机号) as people type them — `+86 138-1234-5678`,
//! `(0086)13812345678`, `138 1234 5678`, full-width digits — brought to one form: the 11
//! canonical digits `13812345678`, or E.164 `+8613812345678`. The `cleanse` and `validate`
//! nodes and the Rhai functions registered here share this code.
//!
//! How a number is read: full-width characters become ASCII; spaces, dashes, dots and
//! brackets are dropped; a leading `+86`, `0086`, or `86` before 11 digits is removed; what
//! is left must be `1[3-9]` followed by 9 digits. Anything else (letters, another country
//! code, a landline, too few digits) is an error that quotes the value.
//!
//! Left out: landlines and area codes, numbers outside mainland China, and checking that a
//! prefix is actually allocated to a carrier.

use super::text::{text_fn, text_arg, to_halfwidth};
use rhai::{Dynamic, Engine};

/// A value that is not a Chinese mobile number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a Chinese mobile number: expected 11 digits starting with 13 to 19, optionally written with +86, spaces or dashes")]
pub struct PhoneError {
    /// The value as it came in.
    pub value: String,
}

/// The canonical 11 digits of a Chinese mobile number written in any common way.
pub fn normalize_mobile_cn(text: &str) -> Result<String, PhoneError> {
    let err = || PhoneError { value: text.to_string() };
    let half = to_halfwidth(text);
    let mut digits = String::with_capacity(16);
    let mut plus = false;
    for c in half.chars() {
        match c {
            '0'..='9' => digits.push(c),
            // `+` only as the very first thing, before any digit.
            '+' if digits.is_empty() && !plus => plus = true,
            ' ' | '\t' | '\u{a0}' | '-' | '.' | '(' | ')' | '（' | '）' | '—' => {}
            _ => return Err(err()),
        }
    }
    let national = if plus {
        digits.strip_prefix("86").ok_or_else(err)?
    } else if let Some(rest) = digits.strip_prefix("0086") {
        rest
    } else if digits.len() == 13 {
        digits.strip_prefix("86").ok_or_else(err)?
    } else {
        digits.as_str()
    };
    if is_mobile_cn(national) {
        Ok(national.to_string())
    } else {
        Err(err())
    }
}

/// The number in E.164 form, `+86` and the 11 digits.
pub fn mobile_e164(text: &str) -> Result<String, PhoneError> {
    normalize_mobile_cn(text).map(|n| format!("+86{n}"))
}

/// Whether `s` is exactly a canonical mobile number: 11 ASCII digits matching
/// `1[3-9]\d{9}`. Written forms (`+86 …`, dashes) do not pass; normalise them first.
pub fn is_mobile_cn(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && b.iter().all(u8::is_ascii_digit)
}

/// Registers `normalize_phone(s)` (11 digits; an error for a value that is not a mobile
/// number), `phone_e164(s)` (`+86…`) and `is_mobile_cn(s)` (a canonical 11-digit number).
/// A null gives null (`is_mobile_cn` gives false); numbers are taken as their digits.
pub fn register(engine: &mut Engine) {
    engine.register_fn("normalize_phone", |v: Dynamic| {
        text_fn("normalize_phone", v, |s| normalize_mobile_cn(s).map_err(|e| e.to_string()))
    });
    engine.register_fn("phone_e164", |v: Dynamic| text_fn("phone_e164", v, |s| mobile_e164(s).map_err(|e| e.to_string())));
    engine.register_fn("is_mobile_cn", |v: Dynamic| -> Result<bool, Box<rhai::EvalAltResult>> {
        Ok(text_arg("is_mobile_cn", &v)?.is_some_and(|s| is_mobile_cn(&s)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_forms_normalise() {
        for t in [
            "13812345678",
            "+86 138-1234-5678",
            "(0086)13812345678",
            "8613812345678",
            "+86(138)1234.5678",
            " 138 1234 5678 ",
            "１３８１２３４５６７８",
        ] {
            assert_eq!(normalize_mobile_cn(t).as_deref(), Ok("13812345678"), "{t}");
        }
        assert_eq!(mobile_e164("138-1234-5678").unwrap(), "+8613812345678");
    }

    #[test]
    fn other_numbers_are_errors_quoting_the_value() {
        for t in ["12812345678", "1381234567", "138123456789", "+1 415 555 0100", "010-12345678", "138abc45678", "", "86-12812345678"] {
            let e = normalize_mobile_cn(t).unwrap_err();
            assert_eq!(e.value, t);
            assert!(e.to_string().contains(&format!("{t:?}")), "{e}");
        }
    }

    #[test]
    fn pattern_check_is_strict() {
        assert!(is_mobile_cn("19912345678"));
        assert!(!is_mobile_cn("+8613812345678"));
        assert!(!is_mobile_cn("138-1234-5678"));
        assert!(!is_mobile_cn("12012345678"));
    }
}
