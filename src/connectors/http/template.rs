//! `{field}` placeholders: a row's values in a URL, a header, a query value or a JSON body.
//!
//! `{{` and `}}` write literal braces. Flow params (`${name}`) and environment variables
//! (`${env:NAME}`) are replaced earlier, when the flow is planned, so by the time a
//! template is parsed only field placeholders are left. In a URL a value is
//! percent-encoded (a `/` in an id cannot change the path); in a JSON body a string that
//! is exactly one placeholder takes the field's typed value (`"{amount}"` → `12.5`,
//! null stays null), anything else becomes text.

use crate::value::{Schema, Value};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value as J;

/// Everything but RFC 3986's unreserved characters is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Field(String),
}

/// A parsed text with placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let rest = &text[i + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(format!("'{{' without a closing '}}' in {text:?}; write '{{{{' for a literal brace"));
                    };
                    let name = rest[..end].trim();
                    if name.is_empty() || name.contains('{') {
                        return Err(format!("an empty or broken {{field}} placeholder in {text:?}; write '{{{{' for a literal brace"));
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Field(name.to_string()));
                    // Skip the name and the closing brace.
                    for _ in 0..rest[..=end].chars().count() {
                        chars.next();
                    }
                }
                '}' => return Err(format!("a '}}' without an opening '{{' in {text:?}; write '}}}}' for a literal brace")),
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Text(lit));
        }
        Ok(Template { parts })
    }

    /// The fields the template refers to, in order of appearance.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(f) => Some(f.as_str()),
            Part::Text(_) => None,
        })
    }

    pub fn has_fields(&self) -> bool {
        self.fields().next().is_some()
    }

    /// The one field when the template is exactly `{field}`.
    pub fn single_field(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Field(f)] => Some(f),
            _ => None,
        }
    }

    /// Fills placeholders with `value(name)`; a missing value is empty text.
    pub fn render_with(&self, mut value: impl FnMut(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Field(f) => out.push_str(&value(f).unwrap_or_default()),
            }
        }
        out
    }

    /// As text from a row (null is empty text).
    pub fn render(&self, row: &RowView) -> String {
        self.render_with(|f| row.get(f).and_then(Value::to_text))
    }

    /// As a URL: values percent-encoded.
    pub fn render_url(&self, row: &RowView) -> String {
        self.render_with(|f| row.get(f).and_then(Value::to_text).map(|t| utf8_percent_encode(&t, COMPONENT).to_string()))
    }
}

/// A row with its schema, for looking values up by field name.
pub struct RowView<'a> {
    pub schema: &'a Schema,
    pub row: &'a [Value],
}

impl RowView<'_> {
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.schema.index_of(field).and_then(|i| self.row.get(i))
    }

    /// The row as a JSON object (all fields, or the listed ones in that order).
    pub fn to_json(&self, only: &[String]) -> J {
        let mut map = serde_json::Map::new();
        if only.is_empty() {
            for (f, v) in self.schema.fields().iter().zip(self.row.iter()) {
                map.insert(f.name.clone(), v.to_json());
            }
        } else {
            for name in only {
                map.insert(name.clone(), self.get(name).map(Value::to_json).unwrap_or(J::Null));
            }
        }
        J::Object(map)
    }
}

/// A JSON body with placeholders in its strings (keys are left as written).
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTemplate {
    Fixed(J),
    Text(Template),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    /// Parses every string of `v`; an error names the JSON path of the bad string.
    pub fn parse(v: &J) -> Result<JsonTemplate, (String, String)> {
        Ok(match v {
            J::String(s) => {
                let t = Template::parse(s).map_err(|e| (String::new(), e))?;
                if t.has_fields() {
                    JsonTemplate::Text(t)
                } else {
                    JsonTemplate::Fixed(J::String(t.render_with(|_| None)))
                }
            }
            J::Array(items) => JsonTemplate::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| JsonTemplate::parse(x).map_err(|(p, e)| (join_path(&i.to_string(), &p), e)))
                    .collect::<Result<_, _>>()?,
            ),
            J::Object(map) => JsonTemplate::Object(
                map.iter()
                    .map(|(k, x)| JsonTemplate::parse(x).map(|t| (k.clone(), t)).map_err(|(p, e)| (join_path(k, &p), e)))
                    .collect::<Result<_, _>>()?,
            ),
            other => JsonTemplate::Fixed(other.clone()),
        })
    }

    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            JsonTemplate::Fixed(_) => {}
            JsonTemplate::Text(t) => out.extend(t.fields()),
            JsonTemplate::Array(items) => items.iter().for_each(|i| i.collect_fields(out)),
            JsonTemplate::Object(m) => m.iter().for_each(|(_, t)| t.collect_fields(out)),
        }
    }

    pub fn render(&self, row: &RowView) -> J {
        match self {
            JsonTemplate::Fixed(v) => v.clone(),
            JsonTemplate::Text(t) => match t.single_field() {
                Some(f) => row.get(f).map(Value::to_json).unwrap_or(J::Null),
                None => J::String(t.render(row)),
            },
            JsonTemplate::Array(items) => J::Array(items.iter().map(|t| t.render(row)).collect()),
            JsonTemplate::Object(m) => J::Object(m.iter().map(|(k, t)| (k.clone(), t.render(row))).collect()),
        }
    }
}

fn join_path(a: &str, b: &str) -> String {
    if b.is_empty() {
        a.to_string()
    } else {
        format!("{a}/{b}")
    }
}

/// Fields a template refers to that `schema` lacks, with a "did you mean".
pub fn missing_fields<'a>(fields: impl IntoIterator<Item = &'a str>, schema: &Schema) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for f in fields {
        if schema.index_of(f).is_none() && !out.iter().any(|(m, _)| m == f) {
            out.push((f.to_string(), crate::flow::did_you_mean(f, schema.names()).map(str::to_string)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{DataType, Field};
    use serde_json::json;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("id", DataType::String),
            Field::new("amount", DataType::Float),
            Field::new("note", DataType::String),
        ])
    }

    #[test]
    fn urls_encode_values_and_braces_escape() {
        let s = schema();
        let row = vec![Value::str("a/b c"), Value::Float(2.5), Value::Null];
        let view = RowView { schema: &s, row: &row };
        let t = Template::parse("https://x/t/{id}?n={note}&lit={{x}}").unwrap();
        assert_eq!(t.fields().collect::<Vec<_>>(), vec!["id", "note"]);
        assert_eq!(t.render_url(&view), "https://x/t/a%2Fb%20c?n=&lit={x}");
        assert!(Template::parse("{open").is_err());
        assert!(Template::parse("close}").is_err());
        assert!(Template::parse("{}").is_err());
    }

    #[test]
    fn json_bodies_keep_types_for_whole_placeholders() {
        let s = schema();
        let row = vec![Value::str("T-1"), Value::Float(2.5), Value::Null];
        let view = RowView { schema: &s, row: &row };
        let t = JsonTemplate::parse(&json!({"ticket": "{id}", "total": "{amount}", "memo": "ticket {id}: {note}", "n": null, "tags": ["{id}", 1]})).unwrap();
        assert_eq!(t.fields(), vec!["id", "amount", "id", "note", "id"]);
        assert_eq!(
            t.render(&view),
            json!({"ticket": "T-1", "total": 2.5, "memo": "ticket T-1: ", "n": null, "tags": ["T-1", 1]})
        );
        let err = JsonTemplate::parse(&json!({"a": {"b": ["{oops"]}})).unwrap_err();
        assert_eq!(err.0, "a/b/0");
        assert_eq!(missing_fields(["id", "amout"], &s), vec![("amout".to_string(), Some("amount".to_string()))]);
    }
}
