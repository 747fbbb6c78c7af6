//! Generated documentation: the flow file's JSON Schema (with each node kind's config
//! schema attached to its `kind`) and the node reference, both from the Rust types. Tests
//! fail when the committed copies in `docs/` are stale; `sluice gen-docs` rewrites them.

use crate::flow::FlowFile;
use crate::nodes::{registry, NodeCatalogEntry};
use serde_json::{json, Value};
use std::path::Path;

/// The flow document's JSON Schema. Each node kind's config schema is attached through
/// `if kind == … then config: …`, so editors check configs too.
pub fn flow_schema_json() -> String {
    let mut schema = serde_json::to_value(schemars::schema_for!(FlowFile)).expect("schema serialises");
    let mut branches = Vec::new();
    let defs = schema["$defs"].as_object_mut().expect("the flow schema has $defs");
    for (kind, k) in registry().kinds() {
        let mut cfg = k.config_schema();
        // Lift the config's own definitions next to the document's, under a per-kind prefix.
        if let Some(cfg_defs) = cfg.as_object_mut().and_then(|o| o.remove("$defs")) {
            for (name, def) in cfg_defs.as_object().into_iter().flatten() {
                defs.insert(format!("{kind}.{name}"), retarget_refs(def.clone(), kind));
            }
        }
        let mut cfg = retarget_refs(cfg, kind);
        if let Some(o) = cfg.as_object_mut() {
            o.remove("$schema");
        }
        defs.insert(format!("config.{kind}"), cfg);
        branches.push(json!({
            "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
            "then": {"properties": {"config": {"$ref": format!("#/$defs/config.{kind}")}}}
        }));
    }
    let kinds: Vec<&str> = registry().names().collect();
    defs.get_mut("NodeSpec").expect("NodeSpec is defined")["properties"]["kind"]["examples"] = json!(kinds);
    defs.get_mut("NodeSpec").expect("NodeSpec is defined")["allOf"] = Value::Array(branches);
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serialises");
    text.push('\n');
    text
}

fn retarget_refs(mut v: Value, kind: &str) -> Value {
    fn walk(v: &mut Value, kind: &str) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get_mut("$ref") {
                    if let Some(name) = r.strip_prefix("#/$defs/") {
                        *r = format!("#/$defs/{kind}.{name}");
                    }
                }
                o.values_mut().for_each(|x| walk(x, kind));
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, kind)),
            _ => {}
        }
    }
    walk(&mut v, kind);
    v
}

/// `docs/nodes.md`: every node kind, its ports and its config fields.
pub fn node_reference_markdown() -> String {
    let catalog = registry().catalog();
    let mut out = String::from(
        "# Node reference\n\n_Generated from the node config types by `sluice gen-docs`; do not edit by hand._\n\n\
         Every node also has the common fields of a flow node (`id`, `kind`, `title`, `config`, `error_policy`, `note`, `position`; see \
         [flow-format.md](flow-format.md)). Rows that fail leave by the `error` output with the fields \
         `_error_node`, `_error_message`, `_error_field`, `_error_line`, `_error_raw` added.\n\n",
    );
    for cat in ["source", "transform", "sink"] {
        out.push_str(&format!("## {}s\n\n", capitalise(cat)));
        for e in catalog.iter().filter(|e| format!("{:?}", e.meta.category).to_lowercase() == cat) {
            out.push_str(&format!("- [`{}`](#{}) — {}\n", e.meta.kind, e.meta.kind.replace('_', "_"), e.meta.title));
        }
        out.push('\n');
    }
    for e in &catalog {
        out.push_str(&node_section(e));
        out.push('\n');
    }
    out
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// One kind's section of the reference (also `sluice nodes KIND`).
pub fn node_section(e: &NodeCatalogEntry) -> String {
    let mut out = format!("### {}\n\n", e.meta.kind);
    out.push_str(&format!("**{}** ({:?}). {}\n\n", e.meta.title, e.meta.category, e.meta.description));
    let ports = |ps: &[crate::nodes::PortSpec]| -> String {
        if ps.is_empty() {
            "none".into()
        } else {
            ps.iter().map(|p| format!("`{}` ({})", p.name, p.description)).collect::<Vec<_>>().join("; ")
        }
    };
    out.push_str(&format!("- Inputs: {}\n- Outputs: {}\n\n", ports(&e.ports.inputs), ports(&e.ports.outputs)));
    let schema = &e.config_schema;
    if let Some(desc) = schema.get("description").and_then(Value::as_str) {
        out.push_str(&format!("{}\n\n", desc.replace('\n', " ")));
    }
    let rows = field_rows(schema, schema, "");
    if rows.is_empty() {
        out.push_str("No config fields.\n");
    } else {
        out.push_str("| field | type | default | description |\n|---|---|---|---|\n");
        for (name, ty, default, desc) in rows {
            out.push_str(&format!("| `{name}` | {ty} | {default} | {} |\n", desc.replace('\n', " ").replace('|', "\\|")));
        }
    }
    out
}

/// (field, type, default, description) rows for an object schema, nested objects and list
/// items flattened as `a.b` and `a[].b`.
fn field_rows(root: &Value, obj: &Value, prefix: &str) -> Vec<(String, String, String, String)> {
    let obj = deref(root, obj);
    let mut rows = Vec::new();
    let required: Vec<&str> = obj.get("required").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let Some(props) = obj.get("properties").and_then(Value::as_object) else { return rows };
    for (name, p) in props {
        let full = format!("{prefix}{name}");
        let resolved = deref(root, p);
        let default = match p.get("default") {
            Some(d) => format!("`{d}`"),
            None if required.contains(&name.as_str()) => "**required**".into(),
            None => String::new(),
        };
        let desc = p.get("description").or_else(|| resolved.get("description")).and_then(Value::as_str).unwrap_or("").to_string();
        rows.push((full.clone(), type_words(root, p), default, desc));
        if resolved.get("properties").is_some() && resolved.get("additionalProperties") != Some(&Value::Bool(true)) {
            rows.extend(field_rows(root, resolved, &format!("{full}.")));
        } else if let Some(items) = resolved.get("items") {
            if deref(root, items).get("properties").is_some() {
                rows.extend(field_rows(root, items, &format!("{full}[].")));
            }
        }
    }
    rows
}

fn deref<'a>(root: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..8 {
        if let Some(r) = v.get("$ref").and_then(Value::as_str) {
            match r.strip_prefix('#').and_then(|p| root.pointer(p)) {
                Some(t) => v = t,
                None => break,
            }
        } else if let Some(one) = v.get("anyOf").and_then(Value::as_array).and_then(|a| a.iter().find(|s| s.get("type") != Some(&json!("null")))) {
            v = one;
        } else {
            break;
        }
    }
    v
}

fn type_words(root: &Value, p: &Value) -> String {
    let r = deref(root, p);
    if let Some(vals) = r.get("enum").and_then(Value::as_array) {
        return vals.iter().map(|v| format!("`{}`", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect::<Vec<_>>().join(" / ");
    }
    if let Some(one) = r.get("oneOf").and_then(Value::as_array) {
        let consts: Vec<String> = one
            .iter()
            .flat_map(|o| o.get("const").into_iter().chain(o.get("enum").and_then(Value::as_array).into_iter().flatten()))
            .map(|c| format!("`{}`", c.as_str().map(str::to_string).unwrap_or_else(|| c.to_string())))
            .collect();
        if !consts.is_empty() {
            return consts.join(" / ");
        }
    }
    let t = match r.get("type") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).filter(|s| *s != "null").collect::<Vec<_>>().join(" or "),
        _ => "any".into(),
    };
    match t.as_str() {
        "array" => format!("list of {}", r.get("items").map(|i| type_words(root, i)).unwrap_or_else(|| "any".into())),
        "object" if r.get("additionalProperties").is_some_and(|a| a.is_object()) => {
            format!("map of {}", type_words(root, &r["additionalProperties"]))
        }
        "integer" => "integer".into(),
        other => other.to_string(),
    }
}

/// Writes the generated docs into `dir`; the exit code for the CLI.
pub fn write_generated_docs(dir: &Path) -> i32 {
    let files = [("flow.schema.json", flow_schema_json()), ("nodes.md", node_reference_markdown())];
    for (name, text) in files {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return super::EXIT_INVALID;
        }
        println!("wrote {}", path.display());
    }
    super::EXIT_OK
}
