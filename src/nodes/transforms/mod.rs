//! Transform nodes: rows in, rows out.

pub mod filter;
pub mod map_fields;
pub mod convert;
pub mod compute;
pub mod route;
pub mod script;
pub mod cleanse;
pub mod mask;
pub mod validate;
pub mod dedupe;
pub mod sort;
pub mod limit;
pub mod sample;
pub mod aggregate;
pub mod join;
pub mod union;
pub mod json_flatten;
pub mod json_explode;
pub mod json_parse;
pub mod json_build;
#[cfg(feature = "sql")]
pub mod lookup;
#[cfg(feature = "http")]
pub mod http_call;
pub mod rows;
