//! File formats shared by sources and sinks: reading and writing CSV (with encodings),
//! JSON and Excel, independent of the executor.
pub mod json;
#[cfg(feature = "excel")]
pub mod excel;
pub mod csv;
#[cfg(feature = "sql")]
pub mod sql;
#[cfg(feature = "http")]
pub mod http;
