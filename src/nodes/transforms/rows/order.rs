//! A total order over [`Value`]s, and key equality and hashing that agree with each other.
//!
//! Order: within numbers, ints, floats and decimals compare by numeric value whatever the
//! variant (`2` < `2.5` < `3`); NaN is above every other number. Strings compare by UTF-8
//! bytes; dates and date-times by the instant they stand for (a date is its midnight in
//! UTC); booleans `false` < `true`; JSON by its text. Values of unrelated types order by
//! type: bool < number < string < date/date-time < JSON. Where nulls go is the caller's
//! choice ([`NullOrder`]).
//!
//! Equality for keys (grouping, dedupe, join matching) is numeric across number variants
//! too: `1`, `1.0` and the decimal `1.00` are one key, `-0.0` equals `0.0`, every NaN is one
//! key, `1.50` equals `1.5`, and two date-times are equal when they are the same instant
//! even if written with different offsets. Each number is first brought to one canonical
//! form ([`NumKey`]) so that equality stays transitive and the hash follows it.

use crate::value::{Row, Value};
use chrono::Datelike;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// Where nulls go in an ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NullOrder {
    /// Nulls before every value.
    First,
    /// Nulls after every value.
    #[default]
    Last,
}

/// Compares two values with nulls placed per `nulls`. Ascending; callers reverse the
/// non-null part for descending order.
pub fn compare_nulls(a: &Value, b: &Value, nulls: NullOrder) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => if nulls == NullOrder::First { Ordering::Less } else { Ordering::Greater },
        (false, true) => if nulls == NullOrder::First { Ordering::Greater } else { Ordering::Less },
        (false, false) => compare_values(a, b),
    }
}

/// The total order described in the module docs (null first, if it appears).
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) => x.cmp(y),
        (String(x), String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Float(x), Float(y)) => cmp_f64(*x, *y),
        (Decimal(x), Decimal(y)) => x.cmp(y),
        (Int(x), Float(y)) => cmp_int_float(*x, *y),
        (Float(x), Int(y)) => cmp_int_float(*y, *x).reverse(),
        (Int(x), Decimal(y)) => rust_decimal::Decimal::from(*x).cmp(y),
        (Decimal(x), Int(y)) => x.cmp(&rust_decimal::Decimal::from(*y)),
        (Decimal(x), Float(y)) => cmp_dec_float(x, *y),
        (Float(x), Decimal(y)) => cmp_dec_float(y, *x).reverse(),
        (Bool(x), Bool(y)) => x.cmp(y),
        (Date(x), Date(y)) => x.cmp(y),
        (DateTime(x), DateTime(y)) => x.cmp(y),
        (Date(x), DateTime(y)) => date_instant(x).cmp(&instant(y)).then(Ordering::Less),
        (DateTime(x), Date(y)) => instant(x).cmp(&date_instant(y)).then(Ordering::Greater),
        (Json(x), Json(y)) => x.to_string().cmp(&y.to_string()),
        _ => type_rank(a).cmp(&type_rank(b)),
    }
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Int(_) | Value::Float(_) | Value::Decimal(_) => 2,
        Value::String(_) => 3,
        Value::Date(_) | Value::DateTime(_) => 4,
        Value::Json(_) => 5,
    }
}

/// A date as the instant of its midnight in UTC, as (seconds, nanoseconds) since 1970.
fn date_instant(d: &chrono::NaiveDate) -> (i64, u32) {
    ((d.num_days_from_ce() as i64 - UNIX_EPOCH_DAYS_FROM_CE) * 86_400, 0)
}

fn instant(dt: &chrono::DateTime<chrono::FixedOffset>) -> (i64, u32) {
    (dt.timestamp(), dt.timestamp_subsec_nanos())
}

/// `NaiveDate::from_ymd(1970, 1, 1).num_days_from_ce()`.
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// Floats: numeric order with `-0 == 0`, NaN above everything and equal to itself.
fn cmp_f64(x: f64, y: f64) -> Ordering {
    match x.partial_cmp(&y) {
        Some(o) => o,
        None => x.is_nan().cmp(&y.is_nan()),
    }
}

/// An int against a float, exactly (an `as f64` cast would round ints above 2^53).
fn cmp_int_float(i: i64, f: f64) -> Ordering {
    if f.is_nan() {
        return Ordering::Less;
    }
    // 2^63 as f64; every float at or above it is larger than any i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f >= LIMIT {
        return Ordering::Less;
    }
    if f < -LIMIT {
        return Ordering::Greater;
    }
    let whole = f.trunc();
    match i.cmp(&(whole as i64)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - whole)).unwrap_or(Ordering::Equal),
        o => o,
    }
}

fn cmp_dec_float(d: &Decimal, f: f64) -> Ordering {
    if f.is_nan() {
        return Ordering::Less;
    }
    match Decimal::from_f64_retain(f) {
        Some(fd) => d.cmp(&fd),
        // Beyond the decimal range (about 7.9e28): the float is the larger in magnitude.
        None => if f > 0.0 { Ordering::Less } else { Ordering::Greater },
    }
}

/// The canonical form of a number for key equality and hashing: integral values (whatever
/// their variant) as `Int`, other decimals normalised (`1.50` → `1.5`), other floats as the
/// decimal they print as when that reads back to the same float, else by their bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum NumKey {
    Int(i64),
    Dec(Decimal),
    Bits(u64),
}

fn num_key(v: &Value) -> Option<NumKey> {
    Some(match v {
        Value::Int(i) => NumKey::Int(*i),
        Value::Decimal(d) => {
            if d.fract().is_zero() {
                if let Some(i) = d.to_i64() {
                    return Some(NumKey::Int(i));
                }
            }
            NumKey::Dec(d.normalize())
        }
        Value::Float(f) => {
            let f = *f;
            if f.is_nan() {
                NumKey::Bits(f64::NAN.to_bits())
            } else if f.fract() == 0.0 && f.abs() < 9.2e18 {
                // Also folds -0.0 into 0.
                NumKey::Int(f as i64)
            } else {
                match Decimal::from_f64(f) {
                    Some(d) if d.to_f64() == Some(f) => NumKey::Dec(d.normalize()),
                    _ => NumKey::Bits(f.to_bits()),
                }
            }
        }
        _ => return None,
    })
}

/// Whether two non-null or null values are the same key (null equals null here; joins
/// exclude null keys before asking).
pub fn key_eq(a: &Value, b: &Value) -> bool {
    use Value::*;
    match (a, b) {
        (String(x), String(y)) => x == y,
        (Int(x), Int(y)) => x == y,
        (Null, Null) => true,
        (Bool(x), Bool(y)) => x == y,
        (Date(x), Date(y)) => x == y,
        // chrono compares the instants, not the offsets.
        (DateTime(x), DateTime(y)) => x == y,
        (Json(x), Json(y)) => x == y,
        (Int(_) | Float(_) | Decimal(_), Int(_) | Float(_) | Decimal(_)) => num_key(a) == num_key(b),
        _ => false,
    }
}

/// A fast non-cryptographic hasher for keys (the Fx multiply-rotate scheme with a final
/// avalanche). Flows hash their own data, so flooding attacks are not a concern here,
/// while the per-row cost is: grouping a million rows hashes a few million fields.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl KeyHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64)
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64)
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i)
    }
    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.add(i as u64)
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64)
    }
    #[inline]
    fn finish(&self) -> u64 {
        // murmur3's fmix64, so the low bits (bucket index) depend on every input bit.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        h
    }
}

/// Feeds one value into a hasher, consistently with [`key_eq`].
pub fn hash_value<H: Hasher>(v: &Value, h: &mut H) {
    match v {
        Value::Null => h.write_u8(0),
        Value::Bool(b) => {
            h.write_u8(1);
            h.write_u8(*b as u8);
        }
        Value::String(s) => {
            h.write_u8(5);
            h.write_usize(s.len());
            h.write(s.as_bytes());
        }
        Value::Int(_) | Value::Float(_) | Value::Decimal(_) => match num_key(v).expect("a number") {
            NumKey::Int(i) => {
                h.write_u8(2);
                h.write_i64(i);
            }
            NumKey::Dec(d) => {
                h.write_u8(3);
                h.write(&d.serialize());
            }
            NumKey::Bits(b) => {
                h.write_u8(4);
                h.write_u64(b);
            }
        },
        Value::Date(d) => {
            h.write_u8(6);
            h.write_i64(d.num_days_from_ce() as i64);
        }
        Value::DateTime(dt) => {
            h.write_u8(7);
            h.write_i64(dt.timestamp());
            h.write_u32(dt.timestamp_subsec_nanos());
        }
        Value::Json(j) => {
            h.write_u8(8);
            hash_json(j, h);
        }
    }
}

/// JSON objects compare equal whatever their key order, so the hash visits keys sorted.
fn hash_json<H: Hasher>(j: &serde_json::Value, h: &mut H) {
    use serde_json::Value as J;
    match j {
        J::Null => h.write_u8(0),
        J::Bool(b) => h.write_u8(1 + *b as u8),
        J::Number(n) => {
            h.write_u8(3);
            n.to_string().hash(h);
        }
        J::String(s) => {
            h.write_u8(4);
            s.hash(h);
        }
        J::Array(a) => {
            h.write_u8(5);
            h.write_usize(a.len());
            a.iter().for_each(|x| hash_json(x, h));
        }
        J::Object(m) => {
            h.write_u8(6);
            h.write_usize(m.len());
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                k.hash(h);
                hash_json(&m[k], h);
            }
        }
    }
}

/// The hash of the key made of `row[idx[0]], row[idx[1]], ...`; `None` in `idx` stands for a
/// field the row does not have (null).
#[inline]
pub fn hash_fields(row: &Row, idx: &[Option<usize>]) -> u64 {
    let mut h = KeyHasher::default();
    for i in idx {
        match i {
            Some(i) => hash_value(&row[*i], &mut h),
            None => h.write_u8(0),
        }
    }
    h.finish()
}

/// Whether any key field of the row is null (such keys never match in a join).
pub fn keys_have_null(row: &Row, idx: &[Option<usize>]) -> bool {
    idx.iter().any(|i| i.is_none_or(|i| row[i].is_null()))
}

fn field<'a>(row: &'a Row, i: Option<usize>) -> &'a Value {
    const NULL: Value = Value::Null;
    match i {
        Some(i) => &row[i],
        None => &NULL,
    }
}

#[inline]
fn key_matches(key: &[Value], row: &Row, idx: &[Option<usize>]) -> bool {
    key.len() == idx.len() && key.iter().zip(idx).all(|(k, i)| key_eq(k, field(row, *i)))
}

/// One value wrapped so it can live in a `HashSet` with key semantics (count_distinct).
#[derive(Debug, Clone)]
pub struct HashedValue(pub Value);

impl PartialEq for HashedValue {
    fn eq(&self, other: &Self) -> bool {
        key_eq(&self.0, &other.0)
    }
}
impl Eq for HashedValue {}
impl Hash for HashedValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_value(&self.0, state)
    }
}

/// Passes an already mixed `u64` through: the table below is keyed by [`hash_fields`].
#[derive(Default)]
struct PassThrough(u64);
impl Hasher for PassThrough {
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys are hashed")
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Ids of the rows that share one hash; nearly always one.
enum Slot {
    One(u32),
    Many(Vec<u32>),
}

/// Distinct keys, each given a dense id (0, 1, 2, ... in first-seen order).
///
/// Lookups hash the key fields of a borrowed row and compare them in place with the stored
/// keys, so a row whose key is already known costs no allocation: the key's values are
/// cloned only when a new key is inserted. Memory: one small boxed slice of values per
/// distinct key plus about 16 bytes of table.
#[derive(Default)]
pub struct KeyIndex {
    table: HashMap<u64, Slot, BuildHasherDefault<PassThrough>>,
    keys: Vec<Box<[Value]>>,
}

impl KeyIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The values of key `id`.
    pub fn key(&self, id: usize) -> &[Value] {
        &self.keys[id]
    }

    fn matches(&self, id: u32, row: &Row, idx: &[Option<usize>]) -> bool {
        key_matches(&self.keys[id as usize], row, idx)
    }

    /// The id of the row's key, if it was seen.
    pub fn find(&self, row: &Row, idx: &[Option<usize>]) -> Option<usize> {
        let h = hash_fields(row, idx);
        match self.table.get(&h)? {
            Slot::One(id) => self.matches(*id, row, idx).then_some(*id as usize),
            Slot::Many(ids) => ids.iter().find(|id| self.matches(**id, row, idx)).map(|id| *id as usize),
        }
    }

    /// The id of the row's key, adding it when new; the flag says whether it was added.
    pub fn find_or_insert(&mut self, row: &Row, idx: &[Option<usize>]) -> (usize, bool) {
        let h = hash_fields(row, idx);
        let next = self.keys.len() as u32;
        match self.table.get_mut(&h) {
            None => {
                self.table.insert(h, Slot::One(next));
            }
            Some(slot) => {
                let found = match slot {
                    Slot::One(id) => key_matches(&self.keys[*id as usize], row, idx).then_some(*id),
                    Slot::Many(ids) => ids.iter().copied().find(|id| key_matches(&self.keys[*id as usize], row, idx)),
                };
                if let Some(id) = found {
                    return (id as usize, false);
                }
                match slot {
                    Slot::One(id) => *slot = Slot::Many(vec![*id, next]),
                    Slot::Many(ids) => ids.push(next),
                }
            }
        }
        self.keys.push(idx.iter().map(|i| field(row, *i).clone()).collect());
        (next as usize, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Value {
        Value::Decimal(Decimal::from_str(s).unwrap())
    }

    #[test]
    fn numbers_compare_across_variants() {
        assert_eq!(compare_values(&Value::Int(2), &Value::Float(2.5)), Ordering::Less);
        assert_eq!(compare_values(&Value::Float(2.5), &dec("2.50")), Ordering::Equal);
        assert_eq!(compare_values(&dec("3"), &Value::Int(2)), Ordering::Greater);
        assert_eq!(compare_values(&Value::Int(i64::MAX), &Value::Float(9.3e18)), Ordering::Less);
        assert_eq!(compare_values(&Value::Int(9_007_199_254_740_993), &Value::Float(9_007_199_254_740_992.0)), Ordering::Greater);
        assert_eq!(compare_values(&Value::Float(f64::NAN), &Value::Float(f64::INFINITY)), Ordering::Greater);
        assert_eq!(compare_values(&Value::Float(-0.0), &Value::Float(0.0)), Ordering::Equal);
        assert_eq!(compare_values(&Value::str("Z"), &Value::str("a")), Ordering::Less);
        assert_eq!(compare_values(&Value::Bool(true), &Value::Int(0)), Ordering::Less, "bool ranks below numbers");
        assert_eq!(compare_nulls(&Value::Null, &Value::Int(1), NullOrder::First), Ordering::Less);
        assert_eq!(compare_nulls(&Value::Null, &Value::Int(1), NullOrder::Last), Ordering::Greater);
    }

    #[test]
    fn dates_and_datetimes_compare_by_instant() {
        let a = Value::DateTime(chrono::DateTime::parse_from_rfc3339("2024-03-05T08:00:00+08:00").unwrap());
        let b = Value::DateTime(chrono::DateTime::parse_from_rfc3339("2024-03-05T01:00:00+00:00").unwrap());
        assert_eq!(compare_values(&a, &b), Ordering::Less);
        let d = Value::Date(chrono::NaiveDate::from_ymd_opt(2024, 3, 5).unwrap());
        assert_eq!(compare_values(&d, &b), Ordering::Less);
        assert_eq!(compare_values(&d, &a), Ordering::Less, "a date ties with its UTC midnight and goes first");
    }

    #[test]
    fn key_equality_and_hash_agree() {
        let same = [
            (Value::Int(1), Value::Float(1.0)),
            (Value::Int(1), dec("1.00")),
            (dec("1.50"), dec("1.5")),
            (dec("0.1"), Value::Float(0.1)),
            (Value::Float(-0.0), Value::Float(0.0)),
            (Value::Float(f64::NAN), Value::Float(-f64::NAN)),
            (
                Value::DateTime(chrono::DateTime::parse_from_rfc3339("2024-03-05T08:00:00+08:00").unwrap()),
                Value::DateTime(chrono::DateTime::parse_from_rfc3339("2024-03-05T00:00:00Z").unwrap()),
            ),
            (Value::from_json(&serde_json::json!({"a": 1, "b": [2]})), Value::from_json(&serde_json::json!({"b": [2], "a": 1}))),
        ];
        for (a, b) in same {
            assert!(key_eq(&a, &b), "{a:?} == {b:?}");
            assert_eq!(hash_fields(&vec![a.clone()], &[Some(0)]), hash_fields(&vec![b.clone()], &[Some(0)]), "{a:?} / {b:?}");
        }
        assert!(!key_eq(&Value::Int(1), &Value::str("1")));
        assert!(!key_eq(&dec("0.1"), &Value::Float(0.1 + 1e-12)));
        assert_ne!(
            hash_fields(&vec![Value::str("ab"), Value::str("c")], &[Some(0), Some(1)]),
            hash_fields(&vec![Value::str("a"), Value::str("bc")], &[Some(0), Some(1)])
        );
    }

    #[test]
    fn key_index_gives_dense_ids_and_handles_collisions() {
        let mut ix = KeyIndex::new();
        let rows: Vec<Row> = vec![
            vec![Value::str("web"), Value::Int(1)],
            vec![Value::str("phone"), Value::Int(1)],
            vec![Value::str("web"), Value::Float(1.0)],
            vec![Value::Null, Value::Int(1)],
            vec![Value::Null, Value::Int(1)],
        ];
        let idx = [Some(0), Some(1)];
        let ids: Vec<(usize, bool)> = rows.iter().map(|r| ix.find_or_insert(r, &idx)).collect();
        assert_eq!(ids, vec![(0, true), (1, true), (0, false), (2, true), (2, false)]);
        assert_eq!(ix.find(&vec![Value::str("phone"), dec("1.0")], &idx), Some(1));
        assert_eq!(ix.find(&vec![Value::str("email"), Value::Int(1)], &idx), None);
        // Force every key into one slot: lookups must still compare the values.
        let mut forced = KeyIndex::new();
        for i in 0..3u32 {
            forced.keys.push(vec![Value::Int(i as i64)].into_boxed_slice());
        }
        forced.table.insert(7, Slot::Many(vec![0, 1, 2]));
        assert!(forced.matches(2, &vec![Value::Int(2)], &[Some(0)]));
        assert!(!forced.matches(1, &vec![Value::Int(2)], &[Some(0)]));
    }
}
