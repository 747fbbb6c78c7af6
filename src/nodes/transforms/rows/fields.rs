//! Field references in configs: checked against the design-time schema (with a "did you
//! mean"), and resolved to indexes when a batch's schema arrives at run time.

use crate::exec::NodeError;
use crate::flow::did_you_mean;
use crate::nodes::ConfigProblem;
use crate::value::{Schema, SchemaRef};

/// The fields of a schema as a short list for messages.
pub fn describe_fields(schema: &Schema) -> String {
    const SHOWN: usize = 25;
    let mut s: Vec<&str> = schema.names().take(SHOWN).collect();
    if schema.len() > SHOWN {
        s.push("…");
    }
    if s.is_empty() {
        "none".into()
    } else {
        s.join(", ")
    }
}

/// A problem at config path `path` when `name` is not a field of `schema` (the rows reaching
/// `port`, e.g. "the input" or "the left input"). Nothing when the schema is unknown at
/// design time or the field exists.
pub fn check_field(schema: Option<&SchemaRef>, name: &str, path: &str, port: &str) -> Option<ConfigProblem> {
    if name.trim().is_empty() {
        return Some(ConfigProblem::new(path, "no field is named here").hint("pick one of the fields"));
    }
    let schema = schema?;
    if schema.index_of(name).is_some() {
        return None;
    }
    let p = ConfigProblem::new(path, format!("'{name}' is not a field of {port}"));
    Some(match did_you_mean(name, schema.names()) {
        Some(s) => p.hint(format!("did you mean '{s}'? fields: {}", describe_fields(schema))),
        None => p.hint(format!("fields: {}", describe_fields(schema))),
    })
}

/// [`check_field`] for each name of a list at `path/0`, `path/1`, ...
pub fn check_fields(schema: Option<&SchemaRef>, names: &[String], path: &str, port: &str) -> Vec<ConfigProblem> {
    names.iter().enumerate().filter_map(|(i, n)| check_field(schema, n, &format!("{path}/{i}"), port)).collect()
}

/// Indexes of `names` in a batch's schema. A missing field stops the node: the design-time
/// check passed, so the rows changed shape upstream (a file with other columns).
/// `path_of(i)` is the config path of the i-th name, for the message.
pub fn resolve_fields(schema: &Schema, names: &[String], path_of: impl Fn(usize) -> String, port: &str) -> Result<Vec<usize>, NodeError> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            schema.index_of(n).ok_or_else(|| {
                NodeError::msg(format!(
                    "'{n}' is not a field of the rows reaching {port} (their fields: {}); check the upstream nodes or the config",
                    describe_fields(schema)
                ))
                .with_field(path_of(i))
            })
        })
        .collect()
}
