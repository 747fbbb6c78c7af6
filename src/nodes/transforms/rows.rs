//! Row helpers shared by the relational transforms (`dedupe`, `sort`, `sample`, `aggregate`,
//! `join`, `union`): a total order over values, key equality and hashing that agree with
//! it, an index from key values to small integer ids, a rough size estimate of a row for
//! memory budgets, a compact binary encoding of rows for spill files, and the field checks
//! these nodes share.
//!
//! What it leaves out: collation (strings compare by UTF-8 bytes, so `Z` sorts before `a`
//! and Chinese text by code point, not by pinyin), and any columnar or vectorised layout.

mod emit;
mod fields;
mod order;
mod spill;

pub use emit::RowSender;
pub use fields::{check_field, check_fields, describe_fields, resolve_fields};
pub use order::{compare_nulls, compare_values, hash_fields, key_eq, keys_have_null, HashedValue, KeyHasher, KeyIndex, NullOrder};
pub use spill::{approx_row_bytes, decode_row, encode_row, SpillReader, SpillWriter};
