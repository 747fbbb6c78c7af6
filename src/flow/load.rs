//! Reading a flow document (syntax, version, structure) and writing it canonically.
//!
//! Version rule: a file carries `version`. A file of the current version loads as is. An
//! older file is upgraded in memory by a chain of migrations, one per version step (`v1 →
//! v2`, `v2 → v3`, ...), each a pure function on the JSON; saving writes the current
//! version. A newer file is refused, naming both versions, because guessing at fields this
//! build does not know could silently change what the flow does.

use super::{Diagnostic, Diagnostics, FlowFile, FLOW_VERSION};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Reads and parses a flow file. Returns the flow and the folder its relative paths
/// resolve against.
pub fn load_flow_file(path: &Path) -> Result<(FlowFile, PathBuf), Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics(vec![Diagnostic::error("file_unreadable", format!("cannot read flow file {}: {e}", path.display()))
            .hint("check the path; flow files end in .flow.json")])
    })?;
    let base = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    parse_flow_text(&text).map(|f| (f, base))
}

/// Parses flow JSON text, reporting every structural problem it can find at once.
pub fn parse_flow_text(text: &str) -> Result<FlowFile, Diagnostics> {
    let mut doc: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        Diagnostics(vec![Diagnostic::error("json_syntax", format!("the file is not valid JSON: {}", strip_position(&e)))
            .at(e.line(), e.column())
            .hint("fix the JSON syntax at that position (a missing comma or quote is the usual cause)")])
    })?;
    migrate(&mut doc)?;

    // Check the document shape against the published schema first: unlike serde, the
    // validator reports every problem, not only the first.
    let mut diags = Diagnostics::default();
    for err in document_validator().iter_errors(&doc) {
        let path = err.instance_path().to_string();
        let mut d = Diagnostic::error("invalid_document", describe_schema_error(&err)).field(path.trim_start_matches('/'));
        if let Some(node_id) = node_id_for_path(&doc, &path) {
            d = d.node(node_id);
        }
        if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } = err.kind() {
            let allowed = allowed_keys_at(&path);
            if let Some(s) = unexpected.first().and_then(|u| super::did_you_mean(u, allowed.iter().map(String::as_str))) {
                d = d.hint(format!("did you mean '{s}'?"));
            }
        }
        diags.push(d);
    }
    if diags.has_errors() {
        return Err(diags);
    }
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        Diagnostics(vec![Diagnostic::error("invalid_document", e.inner().to_string()).field(path)])
    })
}

/// Writes a flow in canonical form: two-space indent, keys in the document's fixed order
/// (config keys in the order they were given), a final newline. Saving an unchanged flow
/// gives the same bytes.
pub fn to_canonical_json(flow: &FlowFile) -> String {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"  ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    flow.serialize(&mut ser).expect("a flow always serialises");
    out.push(b'\n');
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Brings an older document up to [`FLOW_VERSION`], or refuses a newer one.
fn migrate(doc: &mut serde_json::Value) -> Result<(), Diagnostics> {
    let version = doc.get("version").and_then(|v| v.as_u64());
    let Some(version) = version else {
        return Err(Diagnostics(vec![Diagnostic::error("missing_version", "the flow has no \"version\" field")
            .field("version")
            .hint(format!("add \"version\": {FLOW_VERSION} at the top of the file"))]));
    };
    if version > FLOW_VERSION as u64 {
        return Err(Diagnostics(vec![Diagnostic::error(
            "newer_version",
            format!("this flow is version {version}, but this Sluice reads versions up to {FLOW_VERSION}"),
        )
        .field("version")
        .hint("open it with a newer Sluice")]));
    }
    if version == 0 {
        return Err(Diagnostics(vec![Diagnostic::error("invalid_version", "flow version 0 does not exist")
            .field("version")
            .hint(format!("set \"version\": {FLOW_VERSION}"))]));
    }
    // Migrations go here, one per step: `if version < 2 { v1_to_v2(doc); }` ...
    Ok(())
}

fn document_schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::to_value(schemars::schema_for!(FlowFile)).expect("schema serialises"))
}

fn document_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| jsonschema::validator_for(document_schema()).expect("the flow schema is a valid JSON Schema"))
}

/// The node id for a path under `/nodes/N/...`, to point the designer at the node.
fn node_id_for_path(doc: &serde_json::Value, path: &str) -> Option<String> {
    let rest = path.strip_prefix("/nodes/")?;
    let idx: usize = rest.split('/').next()?.parse().ok()?;
    doc.get("nodes")?.get(idx)?.get("id")?.as_str().map(str::to_string)
}

/// Keys the document allows at a path, for "did you mean" on unknown keys.
fn allowed_keys_at(path: &str) -> Vec<String> {
    let schema = document_schema();
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let def = match parts.as_slice() {
        [] => Some(schema),
        ["settings"] => schema.pointer("/$defs/FlowSettings"),
        ["settings", "error_policy"] | ["nodes", _, "error_policy"] => schema.pointer("/$defs/ErrorPolicy"),
        ["params", _] => schema.pointer("/$defs/ParamSpec"),
        ["nodes", _] => schema.pointer("/$defs/NodeSpec"),
        ["edges", _] => schema.pointer("/$defs/EdgeSpec"),
        ["notes", _] => schema.pointer("/$defs/CanvasNote"),
        [.., "position"] => schema.pointer("/$defs/Position"),
        _ => None,
    };
    def.and_then(|d| d.get("properties"))
        .and_then(|p| p.as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Plain-words text for a schema violation.
pub(crate) fn describe_schema_error(err: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::ValidationErrorKind as K;
    match err.kind() {
        K::AdditionalProperties { unexpected } => {
            format!("unknown field{} {}", if unexpected.len() > 1 { "s" } else { "" }, quote_list(unexpected))
        }
        K::Required { property } => format!("missing required field {property}"),
        K::Type { kind } => format!("expected {}, found {}", type_kind_words(kind), json_kind(err.instance())),
        K::Enum { options } => format!("{} is not one of {}", err.instance(), options),
        _ => err.to_string(),
    }
}

fn quote_list(items: &[String]) -> String {
    items.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
}

fn type_kind_words(kind: &jsonschema::error::TypeKind) -> String {
    use jsonschema::error::TypeKind;
    match kind {
        TypeKind::Single(t) => article(&t.to_string()),
        TypeKind::Multiple(ts) => {
            let names: Vec<String> = ts.iter().map(|t| t.to_string()).filter(|t| t != "null").collect();
            names.iter().map(|n| article(n)).collect::<Vec<_>>().join(" or ")
        }
    }
}

fn article(t: &str) -> String {
    match t {
        "integer" => "a whole number".into(),
        "number" => "a number".into(),
        "string" => "a text".into(),
        "boolean" => "true or false".into(),
        "array" => "a list".into(),
        "object" => "an object".into(),
        "null" => "null".into(),
        other => other.to_string(),
    }
}

pub(crate) fn json_kind(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::Bool(b) => format!("{b}"),
        serde_json::Value::Number(n) => format!("the number {n}"),
        serde_json::Value::String(s) => format!("the text {s:?}"),
        serde_json::Value::Array(_) => "a list".into(),
        serde_json::Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = parse_flow_text("{\n  \"version\": 1,\n  \"name\": \"x\"\n  \"nodes\": []\n}").unwrap_err();
        let d = &err.0[0];
        assert_eq!(d.code, "json_syntax");
        assert_eq!(d.line, Some(4));
    }

    #[test]
    fn reports_every_structural_problem_with_suggestions() {
        let text = r#"{"version": 1, "name": "x", "nodes": [{"id": "a", "kidn": "csv_source"}, {"id": 3, "kind": "x"}], "egdes": []}"#;
        let err = parse_flow_text(text).unwrap_err();
        let all = err.to_string();
        assert!(all.contains("'egdes'") && all.contains("did you mean 'edges'"), "{all}");
        assert!(all.contains("did you mean 'kind'"), "{all}");
        assert!(all.contains("missing required field \"kind\""), "{all}");
        assert!(all.contains("expected a text, found the number 3"), "{all}");
        assert!(err.0.iter().any(|d| d.node_id.as_deref() == Some("a")));
    }

    #[test]
    fn newer_version_is_refused() {
        let err = parse_flow_text(r#"{"version": 7, "name": "x", "nodes": []}"#).unwrap_err();
        assert_eq!(err.0[0].code, "newer_version");
    }

    #[test]
    fn canonical_save_is_stable() {
        let text = r#"{"version":1,"name":"t","nodes":[{"id":"a","kind":"inline_rows","config":{"z":1,"a":2},"position":{"x":1.5,"y":2.0}}],"edges":[]}"#;
        let flow = parse_flow_text(text).unwrap();
        let once = to_canonical_json(&flow);
        let twice = to_canonical_json(&parse_flow_text(&once).unwrap());
        assert_eq!(once, twice);
        // Config keys keep the order they were written in.
        assert!(once.find("\"z\"").unwrap() < once.find("\"a\": 2").unwrap());
    }
}
