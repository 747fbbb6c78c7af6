//! Source nodes: where rows come from.

// TODO-WIRE pub mod csv;
#[cfg(feature = "excel")]
// TODO-WIRE pub mod excel;
pub mod inline;
// TODO-WIRE pub mod json;
