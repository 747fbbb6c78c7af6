//! Transform nodes: rows in, rows out.

// TODO-WIRE pub mod filter;
// TODO-WIRE pub mod select;
