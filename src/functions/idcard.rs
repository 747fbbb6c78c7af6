//! Checking 18-character resident ID numbers (居民身份证号码) by GB 11643-1999: 17 digits
//! (6 of region, 8 of birth date `yyyymmdd`, 3 of sequence), then a check character computed
//! with ISO 7064 MOD 11-2 — weights 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2, the weighted sum
//! mod 11 indexing `10X98765432`. The `validate` node and the Rhai functions share this code.
//!
//! A failed check says why, in this order: the length, a character that is not a digit
//! (or `X` last), a birth date that does not exist or lies in the future or before 1800,
//! then the check character. A lower-case `x` is accepted as the check character `X`
//! because people type it that way; the value is not trimmed.
//!
//! Left out: the old 15-digit numbers (reported as a wrong length), checking the region
//! code against the list of administrative divisions, and ID numbers of other places.

use super::text::{text_arg, text_fn};
use chrono::{Datelike, NaiveDate, Utc};
use rhai::{Dynamic, Engine};

/// The weights of the first 17 digits.
pub const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each weighted sum mod 11.
pub const CHECK_CODES: &[u8; 11] = b"10X98765432";

/// Why a text is not a valid ID number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdCardError {
    #[error("an ID number has 18 characters, this one has {0}")]
    Length(usize),
    #[error("character {position} is {found:?}, but an ID number is 17 digits and then a digit or X")]
    Character { position: usize, found: char },
    #[error("the birth date {0} in it is not a real date between 1800 and today")]
    BirthDate(String),
    #[error("the check character should be {expected}, not {found} (a digit was mistyped)")]
    Checksum { expected: char, found: char },
}

/// The check character for 17 leading digits (ASCII `0`–`9`).
pub fn check_code(first17: &[u8; 17]) -> char {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| (d - b'0') as u32 * w).sum();
    CHECK_CODES[(sum % 11) as usize] as char
}

/// Checks an 18-character ID number; the error says what is wrong.
pub fn check_id_card(s: &str) -> Result<(), IdCardError> {
    let n = s.chars().count();
    if n != 18 {
        return Err(IdCardError::Length(n));
    }
    // 18 chars: any non-ASCII one fails the character test below.
    for (i, c) in s.chars().enumerate() {
        let ok = c.is_ascii_digit() || (i == 17 && (c == 'X' || c == 'x'));
        if !ok {
            return Err(IdCardError::Character { position: i + 1, found: c });
        }
    }
    let b = s.as_bytes();
    let date_text = &s[6..14];
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    let birth = NaiveDate::from_ymd_opt(num(6..10) as i32, num(10..12), num(12..14));
    let today = Utc::now().date_naive().succ_opt().unwrap_or(NaiveDate::MAX);
    match birth {
        Some(d) if d.year() >= 1800 && d <= today => {}
        _ => return Err(IdCardError::BirthDate(format!("{}-{}-{}", &date_text[..4], &date_text[4..6], &date_text[6..]))),
    }
    let first17: &[u8; 17] = b[..17].try_into().expect("18 ASCII characters");
    let expected = check_code(first17);
    let found = (b[17] as char).to_ascii_uppercase();
    if found != expected {
        return Err(IdCardError::Checksum { expected, found: b[17] as char });
    }
    Ok(())
}

/// Whether `s` is a valid 18-character ID number.
pub fn is_valid_id_card(s: &str) -> bool {
    check_id_card(s).is_ok()
}

/// Registers `is_valid_id_card(s)` (false for null) and `id_card_error(s)` (why the number
/// is not valid, or `()` when it is valid or null).
pub fn register(engine: &mut Engine) {
    engine.register_fn("is_valid_id_card", |v: Dynamic| -> Result<bool, Box<rhai::EvalAltResult>> {
        Ok(text_arg("is_valid_id_card", &v)?.is_some_and(|s| is_valid_id_card(&s)))
    });
    engine.register_fn("id_card_error", |v: Dynamic| -> Result<Dynamic, Box<rhai::EvalAltResult>> {
        let out = text_fn("id_card_error", v, |s| Ok(check_id_card(s).err().map(|e| e.to_string()).unwrap_or_default()))?;
        // Valid gives (), so `if id_card_error(x) != ()` reads naturally.
        Ok(if out.clone().into_string().is_ok_and(|s| s.is_empty()) { Dynamic::UNIT } else { out })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_numbers_pass() {
        assert_eq!(check_id_card("11010519491231002X"), Ok(()));
        assert_eq!(check_id_card("11010519931101114X"), Ok(()));
        assert_eq!(check_id_card("11010519491231002x"), Ok(()));
        assert_eq!(check_code(b"11010519491231002"), 'X');
    }

    #[test]
    fn each_failure_has_its_reason() {
        assert_eq!(check_id_card("110105194912310"), Err(IdCardError::Length(15)));
        assert_eq!(check_id_card("1101051949123100２X"), Err(IdCardError::Character { position: 17, found: '２' }));
        assert_eq!(check_id_card("11010519491231002Y"), Err(IdCardError::Character { position: 18, found: 'Y' }));
        assert_eq!(check_id_card("X10105194912310021"), Err(IdCardError::Character { position: 1, found: 'X' }));
        assert_eq!(check_id_card("110105194902300021"), Err(IdCardError::BirthDate("1949-02-30".into())));
        assert_eq!(check_id_card("110105299901010021"), Err(IdCardError::BirthDate("2999-01-01".into())));
        assert_eq!(check_id_card("110105194912310021"), Err(IdCardError::Checksum { expected: 'X', found: '1' }));
        let msg = check_id_card("110105194912310021").unwrap_err().to_string();
        assert!(msg.contains("should be X, not 1"), "{msg}");
    }
}
