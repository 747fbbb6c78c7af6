//! Checking a node's config against its kind's JSON Schema, reporting every mismatch with
//! its field path, in plain words, with "did you mean" for misspelt keys.

use crate::flow::{did_you_mean, Diagnostic};
use crate::nodes::DynNodeKind;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

fn validator_for(kind_name: &str, kind: &dyn DynNodeKind) -> Arc<(serde_json::Value, jsonschema::Validator)> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<(serde_json::Value, jsonschema::Validator)>>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    cache
        .entry(kind_name.to_string())
        .or_insert_with(|| {
            let schema = kind.config_schema();
            let v = jsonschema::validator_for(&schema).expect("node config schemas are valid JSON Schemas");
            Arc::new((schema, v))
        })
        .clone()
}

/// Every problem of `config` against the kind's schema, then (if none) the typed parse.
pub(crate) fn check_config(kind: &dyn DynNodeKind, kind_name: &str, config: &serde_json::Value) -> Vec<Diagnostic> {
    let pair = validator_for(kind_name, kind);
    let (schema, validator) = (&pair.0, &pair.1);
    let mut out = Vec::new();
    for err in validator.iter_errors(config) {
        // A reference still unresolved (a missing param) was reported already.
        if err.instance().as_str().is_some_and(|s| s.contains("${")) {
            continue;
        }
        let path = err.instance_path().to_string();
        let field = path.trim_start_matches('/').to_string();
        let mut d = Diagnostic::error("invalid_config", crate::flow::describe_schema_error_pub(&err)).field(field.clone());
        if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } = err.kind() {
            let allowed = allowed_keys(schema, config, &field);
            if let Some(s) = unexpected.first().and_then(|u| did_you_mean(u, allowed.iter().map(String::as_str))) {
                d = d.hint(format!("did you mean '{s}'?"));
            } else if !allowed.is_empty() {
                d = d.hint(format!("known fields: {}", allowed.join(", ")));
            }
        }
        out.push(d);
    }
    if out.is_empty() {
        if let Err(p) = kind.parse_config(config) {
            out.push(Diagnostic::error("invalid_config", p.message).field(p.field));
        }
    }
    out
}

/// Property names allowed at a config path, following `properties`, `items` and `$ref`.
fn allowed_keys(schema: &serde_json::Value, _config: &serde_json::Value, path: &str) -> Vec<String> {
    let mut node = schema;
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        node = resolve(schema, node);
        node = if seg.chars().all(|c| c.is_ascii_digit()) {
            match node.get("items") {
                Some(i) => i,
                None => return vec![],
            }
        } else {
            match node.get("properties").and_then(|p| p.get(seg)) {
                Some(p) => p,
                None => return vec![],
            }
        };
    }
    let node = resolve(schema, node);
    node.get("properties").and_then(|p| p.as_object()).map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

fn resolve<'a>(root: &'a serde_json::Value, mut node: &'a serde_json::Value) -> &'a serde_json::Value {
    for _ in 0..8 {
        if let Some(r) = node.get("$ref").and_then(|r| r.as_str()) {
            match r.strip_prefix('#').and_then(|p| root.pointer(p)) {
                Some(n) => node = n,
                None => break,
            }
        } else if let Some(first) = node.get("anyOf").and_then(|a| a.as_array()).and_then(|a| a.iter().find(|s| s.get("type") != Some(&serde_json::json!("null")))) {
            node = first;
        } else {
            break;
        }
    }
    node
}

/// Fields marked `"x-secret": true` in a kind's schema (keys, salts, passwords) must not be
/// written in the flow file: checked on the config as written, before substitution, each
/// such value must be a `${env:NAME}` reference. A flow shared in git then never holds one.
pub(crate) fn check_secrets(kind: &dyn DynNodeKind, kind_name: &str, raw: &serde_json::Value) -> Vec<Diagnostic> {
    let pair = validator_for(kind_name, kind);
    let mut out = Vec::new();
    walk_secrets(&pair.0, &pair.0, raw, &mut String::new(), &mut out);
    out
}

fn walk_secrets(root: &serde_json::Value, schema: &serde_json::Value, raw: &serde_json::Value, path: &mut String, out: &mut Vec<Diagnostic>) {
    let schema = resolve(root, schema);
    match raw {
        serde_json::Value::Object(map) => {
            let Some(props) = schema.get("properties").and_then(|p| p.as_object()) else { return };
            for (k, v) in map {
                let Some(prop) = props.get(k) else { continue };
                let len = path.len();
                if !path.is_empty() {
                    path.push('/');
                }
                path.push_str(k);
                let is_secret = prop.get("x-secret").and_then(|b| b.as_bool()).unwrap_or(false)
                    || resolve(root, prop).get("x-secret").and_then(|b| b.as_bool()).unwrap_or(false);
                match v {
                    serde_json::Value::String(text) if is_secret && !text.is_empty() && !is_env_reference(text) => {
                        out.push(
                            Diagnostic::error("secret_in_flow", format!("'{k}' holds a secret written into the flow file"))
                                .field(path.clone())
                                .hint(format!("put it in an environment variable and write \"${{env:NAME}}\" here; flow files are shared in git")),
                        );
                    }
                    _ => walk_secrets(root, prop, v, path, out),
                }
                path.truncate(len);
            }
        }
        serde_json::Value::Array(items) => {
            let Some(item_schema) = schema.get("items") else { return };
            for (i, v) in items.iter().enumerate() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('/');
                }
                path.push_str(&i.to_string());
                walk_secrets(root, item_schema, v, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn is_env_reference(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("${env:") && t.ends_with('}') && t.matches("${").count() == 1
}
