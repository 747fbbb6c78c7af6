//! Sink nodes: where rows end up.

pub mod csv;
#[cfg(feature = "sql")]
pub mod dead_letter;
#[cfg(feature = "excel")]
pub mod excel;
pub mod json;
pub mod log;
#[cfg(feature = "sql")]
pub mod sql;
#[cfg(feature = "http")]
pub mod http;
