//! A node's request as configured (method, URL, query, headers, JSON body, each with
//! `{field}` placeholders), parsed once and filled in per row.

use super::client::RequestSpec;
use super::config::{check_url, HttpMethod};
use super::template::{missing_fields, JsonTemplate, RowView, Template};
use crate::nodes::ConfigProblem;
use crate::value::Schema;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value as J;
use std::collections::BTreeMap;

/// Where each placeholder came from, so a problem names its config field.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    pub method: HttpMethod,
    url: Template,
    url_text: String,
    query: Vec<(String, Template)>,
    headers: Vec<(HeaderName, Template)>,
    body: Option<JsonTemplate>,
}

impl RequestTemplate {
    /// Parses the request parts of a config; every problem is returned, each naming its
    /// field (`url`, `query/NAME`, `headers/NAME`, `body/…`).
    pub fn parse(
        method: HttpMethod,
        url: &str,
        query: &BTreeMap<String, String>,
        headers: &BTreeMap<String, String>,
        body: Option<&J>,
    ) -> Result<Self, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let url_t = Template::parse(url).map_err(|e| ConfigProblem::new("url", e));
        if url_t.is_ok() {
            problems.extend(check_url("url", url));
        }
        let mut q = Vec::new();
        for (k, v) in query {
            match Template::parse(v) {
                Ok(t) => q.push((k.clone(), t)),
                Err(e) => problems.push(ConfigProblem::new(format!("query/{k}"), e)),
            }
        }
        let mut h = Vec::new();
        for (k, v) in headers {
            let name = match HeaderName::from_bytes(k.trim().as_bytes()) {
                Ok(n) => n,
                Err(_) => {
                    problems.push(ConfigProblem::new(format!("headers/{k}"), format!("'{k}' is not a valid header name")));
                    continue;
                }
            };
            if name == reqwest::header::AUTHORIZATION {
                problems.push(
                    ConfigProblem::new(format!("headers/{k}"), "credentials go in auth, not in headers")
                        .hint("set auth (type bearer, basic, api_key or oauth2) with its secret as ${env:NAME}"),
                );
                continue;
            }
            match Template::parse(v) {
                Ok(t) => h.push((name, t)),
                Err(e) => problems.push(ConfigProblem::new(format!("headers/{k}"), e)),
            }
        }
        let body_t = match body {
            Some(b) => match JsonTemplate::parse(b) {
                Ok(t) => Some(t),
                Err((path, e)) => {
                    problems.push(ConfigProblem::new(if path.is_empty() { "body".to_string() } else { format!("body/{path}") }, e));
                    None
                }
            },
            None => None,
        };
        let url_t = match url_t {
            Ok(t) => t,
            Err(p) => {
                problems.insert(0, p);
                return Err(problems);
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(RequestTemplate { method, url: url_t, url_text: url.to_string(), query: q, headers: h, body: body_t })
    }

    pub fn has_body(&self) -> bool {
        self.body.is_some()
    }

    /// The configured body filled in from a row, if there is a body.
    pub fn render_body(&self, row: &RowView) -> Option<J> {
        self.body.as_ref().map(|t| t.render(row))
    }

    /// `(config field, referenced field)` for every placeholder outside the body.
    pub fn line_fields(&self) -> Vec<(String, &str)> {
        let mut out: Vec<(String, &str)> = self.url.fields().map(|f| ("url".to_string(), f)).collect();
        for (k, t) in &self.query {
            out.extend(t.fields().map(|f| (format!("query/{k}"), f)));
        }
        for (k, t) in &self.headers {
            out.extend(t.fields().map(|f| (format!("headers/{k}"), f)));
        }
        out
    }

    pub fn body_fields(&self) -> Vec<&str> {
        self.body.as_ref().map(|b| b.fields()).unwrap_or_default()
    }

    /// Placeholders naming fields the input lacks, as problems.
    pub fn check_fields(&self, schema: &Schema) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        let mut refs = self.line_fields();
        refs.extend(self.body_fields().into_iter().map(|f| ("body".to_string(), f)));
        for (at, f) in refs {
            for (missing, suggestion) in missing_fields([f], schema) {
                let mut p = ConfigProblem::new(at.clone(), format!("{{{missing}}} names a field the input does not have"));
                if let Some(s) = suggestion {
                    p = p.hint(format!("did you mean {{{s}}}?"));
                }
                if !out.iter().any(|x: &ConfigProblem| x.field == p.field && x.message == p.message) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// The request for one row (or for no row: a source), with extra query parameters and,
    /// when given, a body that replaces the configured one.
    pub fn build(&self, row: Option<&RowView>, extra_query: &[(String, String)], body: Option<J>) -> Result<RequestSpec, String> {
        let url_text = match row {
            Some(r) => self.url.render_url(r),
            None => self.url.render_with(|_| None),
        };
        let mut url = reqwest::Url::parse(&url_text).map_err(|e| format!("the URL '{url_text}' (from '{}') is not valid: {e}", self.url_text))?;
        if !self.query.is_empty() || !extra_query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, t) in &self.query {
                let v = match row {
                    Some(r) => t.render(r),
                    None => t.render_with(|_| None),
                };
                pairs.append_pair(k, &v);
            }
            for (k, v) in extra_query {
                pairs.append_pair(k, v);
            }
        }
        let mut spec = RequestSpec::new(self.method.as_reqwest(), url);
        for (name, t) in &self.headers {
            let text = match row {
                Some(r) => t.render(r),
                None => t.render_with(|_| None),
            };
            let v = HeaderValue::from_bytes(text.as_bytes()).map_err(|_| format!("header {name}: the value {text:?} cannot be sent in a header"))?;
            spec.headers.push((name.clone(), v));
        }
        let body = match (body, &self.body, row) {
            (Some(b), _, _) => Some(b),
            (None, Some(t), Some(r)) => Some(t.render(r)),
            (None, Some(JsonTemplate::Fixed(v)), None) => Some(v.clone()),
            (None, Some(t), None) => Some(t.render(&RowView { schema: &Schema::default(), row: &[] })),
            (None, None, _) => None,
        };
        if let Some(b) = body {
            spec = spec.json_body(&b);
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{DataType, Field, Value};
    use serde_json::json;

    #[test]
    fn builds_requests_per_row_and_reports_every_problem() {
        let schema = Schema::new(vec![Field::new("id", DataType::Int), Field::new("name", DataType::String)]);
        let t = RequestTemplate::parse(
            HttpMethod::Put,
            "https://crm.example.com/customers/{id}",
            &BTreeMap::from([("source".to_string(), "sluice {name}".to_string())]),
            &BTreeMap::from([("X-Request-Name".to_string(), "{name}".to_string())]),
            Some(&json!({"name": "{name}", "id": "{id}"})),
        )
        .unwrap();
        assert!(t.check_fields(&schema).is_empty());
        let row = vec![Value::Int(7), Value::str("王 五")];
        let req = t.build(Some(&RowView { schema: &schema, row: &row }), &[("page".into(), "2".into())], None).unwrap();
        assert_eq!(req.url.as_str(), "https://crm.example.com/customers/7?source=sluice+%E7%8E%8B+%E4%BA%94&page=2");
        assert_eq!(req.headers[0].1.to_str().ok(), None, "non-ASCII header values are sent as UTF-8 bytes");
        assert_eq!(serde_json::from_slice::<J>(&req.body.unwrap().0).unwrap(), json!({"name": "王 五", "id": 7}));

        let errs = RequestTemplate::parse(
            HttpMethod::Get,
            "ftp://x/{id}",
            &BTreeMap::from([("q".to_string(), "{open".to_string())]),
            &BTreeMap::from([("Authorization".to_string(), "Bearer abc".to_string())]),
            Some(&json!({"a": ["}"]})),
        )
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, vec!["url", "query/q", "headers/Authorization", "body/a/0"]);

        let t = RequestTemplate::parse(HttpMethod::Get, "https://x/{idd}", &BTreeMap::new(), &BTreeMap::new(), None).unwrap();
        let p = t.check_fields(&schema);
        assert_eq!(p[0].hint.as_deref(), Some("did you mean {id}?"));
    }
}
