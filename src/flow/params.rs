//! Flow params and `${...}` substitution in node configs.
//!
//! `${name}` is a flow param; `${env:NAME}` is an environment variable (the way secrets reach
//! a flow without being written in it); `$${` writes a literal `${`. A string that is exactly
//! one `${name}` takes the param's typed value, so `"limit": "${max_rows}"` becomes a number.

use super::{did_you_mean, Diagnostic, Diagnostics, ParamSpec, ParamType};
use serde_json::Value as J;
use std::collections::BTreeMap;

/// Resolved param values, typed per their spec.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamValues(pub BTreeMap<String, J>);

impl ParamValues {
    pub fn get(&self, name: &str) -> Option<&J> {
        self.0.get(name)
    }
}

/// Combines the given values (text, from a CLI or a form) with the specs' defaults, checking
/// types; reports every missing or ill-typed param at once.
pub fn resolve_params(specs: &[ParamSpec], given: &BTreeMap<String, String>) -> Result<ParamValues, Diagnostics> {
    let (values, diags) = resolve_params_lenient(specs, given);
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(values)
    }
}

/// Like [`resolve_params`], but returns the params that did resolve beside the problems,
/// so a checker can go on and look at the rest of the flow.
pub fn resolve_params_lenient(specs: &[ParamSpec], given: &BTreeMap<String, String>) -> (ParamValues, Diagnostics) {
    let mut out = ParamValues::default();
    let mut diags = Diagnostics::default();
    for (i, spec) in specs.iter().enumerate() {
        if !is_identifier(&spec.name) {
            diags.push(
                Diagnostic::error("invalid_param_name", format!("param name '{}' is not usable as ${{{}}}", spec.name, spec.name))
                    .field(format!("params/{i}/name"))
                    .hint("use letters, digits and _ only, starting with a letter"),
            );
            continue;
        }
        let value = match (given.get(&spec.name), &spec.default) {
            (Some(text), _) => match typed_param(text, spec.param_type) {
                Some(v) => v,
                None => {
                    diags.push(
                        Diagnostic::error(
                            "invalid_param_value",
                            format!("param '{}' must be {}, got {:?}", spec.name, type_words(spec.param_type), text),
                        )
                        .field(format!("params/{i}")),
                    );
                    continue;
                }
            },
            (None, Some(default)) => default.clone(),
            (None, None) => {
                diags.push(
                    Diagnostic::error("missing_param", format!("param '{}' has no value and no default", spec.name))
                        .field(format!("params/{i}"))
                        .hint(format!("give it with --param {}=VALUE, or set a default in the flow", spec.name)),
                );
                continue;
            }
        };
        out.0.insert(spec.name.clone(), value);
    }
    for name in given.keys() {
        if !specs.iter().any(|s| &s.name == name) {
            let mut d = Diagnostic::error("unknown_param", format!("the flow has no param '{name}'"));
            if let Some(s) = did_you_mean(name, specs.iter().map(|s| s.name.as_str())) {
                d = d.hint(format!("did you mean '{s}'?"));
            } else {
                d = d.hint("declare it under \"params\" in the flow, or drop it from the command");
            }
            diags.push(d);
        }
    }
    (out, diags)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn type_words(t: ParamType) -> &'static str {
    match t {
        ParamType::String | ParamType::Path => "a text",
        ParamType::Int => "a whole number",
        ParamType::Float => "a number",
        ParamType::Bool => "true or false",
        ParamType::Date => "a date like 2024-03-05",
    }
}

fn typed_param(text: &str, t: ParamType) -> Option<J> {
    Some(match t {
        ParamType::String | ParamType::Path => J::String(text.to_string()),
        ParamType::Int => J::from(text.trim().parse::<i64>().ok()?),
        ParamType::Float => J::from(text.trim().parse::<f64>().ok()?),
        ParamType::Bool => J::Bool(match text.trim() {
            "true" | "yes" | "1" => true,
            "false" | "no" | "0" => false,
            _ => return None,
        }),
        ParamType::Date => {
            chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
            J::String(text.trim().to_string())
        }
    })
}

/// Replaces `${...}` references in every string of a node config. Errors name the config
/// field they were found in.
pub fn substitute_config(config: &J, params: &ParamValues) -> Result<J, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let out = walk(config, params, &mut String::new(), &mut diags);
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

fn walk(v: &J, params: &ParamValues, path: &mut String, diags: &mut Vec<Diagnostic>) -> J {
    match v {
        J::String(s) if s.contains('$') => substitute_string(s, params, path, diags),
        J::Array(items) => J::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| with_segment(path, &i.to_string(), |p| walk(item, params, p, diags)))
                .collect(),
        ),
        J::Object(map) => {
            J::Object(map.iter().map(|(k, item)| (k.clone(), with_segment(path, k, |p| walk(item, params, p, diags)))).collect())
        }
        other => other.clone(),
    }
}

fn with_segment<T>(path: &mut String, seg: &str, f: impl FnOnce(&mut String) -> T) -> T {
    let len = path.len();
    if !path.is_empty() {
        path.push('/');
    }
    path.push_str(seg);
    let out = f(path);
    path.truncate(len);
    out
}

fn substitute_string(s: &str, params: &ParamValues, path: &str, diags: &mut Vec<Diagnostic>) -> J {
    // A whole-string reference keeps the param's type.
    if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        if !name.contains(['{', '}', '$']) && !name.starts_with("env:") {
            if let Some(v) = params.get(name) {
                return v.clone();
            }
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(t) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = t;
        } else if let Some(t) = tail.strip_prefix("${") {
            let Some(end) = t.find('}') else {
                diags.push(
                    Diagnostic::error("unclosed_reference", format!("'${{' without a closing '}}' in {s:?}"))
                        .field(path)
                        .hint("close the reference with '}', or write '$${' for a literal '${'"),
                );
                return J::String(s.to_string());
            };
            let name = &t[..end];
            match resolve_reference(name, params) {
                Ok(text) => out.push_str(&text),
                Err(d) => diags.push(d.field(path)),
            }
            rest = &t[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    J::String(out)
}

fn resolve_reference(name: &str, params: &ParamValues) -> Result<String, Diagnostic> {
    if let Some(var) = name.strip_prefix("env:") {
        return std::env::var(var).map_err(|_| {
            Diagnostic::error("missing_env", format!("environment variable {var} is not set"))
                .hint(format!("set {var} before running (for example `export {var}=...`); secrets belong there, not in the flow file"))
        });
    }
    match params.get(name) {
        Some(J::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
        None => {
            let mut d = Diagnostic::error("unknown_param", format!("${{{name}}} refers to a param the flow does not declare"));
            d = match did_you_mean(name, params.0.keys().map(String::as_str)) {
                Some(s) => d.hint(format!("did you mean ${{{s}}}?")),
                None => d.hint(format!("declare '{name}' under \"params\", or use ${{env:{name}}} for an environment variable")),
            };
            Err(d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(name: &str, t: ParamType, default: Option<J>) -> ParamSpec {
        ParamSpec { name: name.into(), param_type: t, default, description: String::new() }
    }

    #[test]
    fn substitutes_params_env_and_escapes() {
        std::env::set_var("SLUICE_TEST_TOKEN", "s3cret");
        let params = resolve_params(
            &[spec("day", ParamType::Date, None), spec("limit", ParamType::Int, Some(json!(10)))],
            &BTreeMap::from([("day".to_string(), "2024-03-05".to_string())]),
        )
        .unwrap();
        let cfg = json!({"path": "out_${day}.csv", "n": "${limit}", "t": "Bearer ${env:SLUICE_TEST_TOKEN}", "lit": "$${day}"});
        let out = substitute_config(&cfg, &params).unwrap();
        assert_eq!(out, json!({"path": "out_2024-03-05.csv", "n": 10, "t": "Bearer s3cret", "lit": "${day}"}));
    }

    #[test]
    fn reports_missing_and_unknown_params_with_fields() {
        let err = resolve_params(&[spec("day", ParamType::Date, None)], &BTreeMap::new()).unwrap_err();
        assert_eq!(err.0[0].code, "missing_param");
        let params = ParamValues(BTreeMap::from([("day".to_string(), json!("x"))]));
        let errs = substitute_config(&json!({"a": {"b": ["${dya}", "${env:SLUICE_SURELY_UNSET}"]}}), &params).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].field.as_deref(), Some("a/b/0"));
        assert_eq!(errs[0].hint.as_deref(), Some("did you mean ${day}?"));
        assert_eq!(errs[1].code, "missing_env");
    }

    #[test]
    fn rejects_ill_typed_values() {
        let err = resolve_params(&[spec("n", ParamType::Int, None)], &BTreeMap::from([("n".into(), "ten".into())])).unwrap_err();
        assert!(err.to_string().contains("must be a whole number"));
    }
}
