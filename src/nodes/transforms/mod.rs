//! Transform nodes: rows in, rows out.

pub mod filter;
// TODO-WIRE pub mod map_fields;
// TODO-WIRE pub mod convert;
// TODO-WIRE pub mod compute;
// TODO-WIRE pub mod route;
// TODO-WIRE pub mod script;
// TODO-WIRE pub mod cleanse;
// TODO-WIRE pub mod mask;
// TODO-WIRE pub mod validate;
// TODO-WIRE pub mod dedupe;
// TODO-WIRE pub mod sort;
// TODO-WIRE pub mod limit;
// TODO-WIRE pub mod sample;
// TODO-WIRE pub mod aggregate;
// TODO-WIRE pub mod join;
// TODO-WIRE pub mod union;
// TODO-WIRE pub mod json_flatten;
// TODO-WIRE pub mod json_explode;
// TODO-WIRE pub mod json_parse;
// TODO-WIRE pub mod json_build;
