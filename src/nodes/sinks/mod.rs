//! Sink nodes: where rows end up.

// TODO-WIRE pub mod csv;
#[cfg(feature = "excel")]
// TODO-WIRE pub mod excel;
// TODO-WIRE pub mod json;
pub mod log;
