//! Transform nodes: rows in, rows out.

pub mod filter;
