//! Source nodes: where rows come from.

pub mod csv;
#[cfg(feature = "excel")]
pub mod excel;
pub mod inline;
pub mod json;
#[cfg(feature = "sql")]
pub mod sql;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "http")]
pub mod webhook;
