//! `http_call`: enriches each row with values from a REST API (the customer's tier from
//! the CRM, the order's status from the shop), one request per distinct row request,
//! several at a time, with an in-memory cache.
//!
//! The request is built from the row (`{field}` placeholders in the URL, query, headers and
//! body). Rows of a batch that make the same request share one call, and answers are kept
//! in a bounded cache (two generations, least recently used dropped first) for the rest of
//! the run, so 1,000 tickets of 300 customers cost 300 calls. Values are picked from the
//! JSON answer by path and added as typed fields after the row's own; rows keep their
//! order. A call that still fails after its retries, an answer that is not JSON, or a
//! value that does not fit its type sends the row to `error` with the reason (and the
//! answer as `_error_raw`).
//!
//! Left out: answers that yield several rows per input row (read them with `http_source`
//! and `join`), and caching across runs.

use crate::connectors::http::records::{pick, split_path};
use crate::connectors::http::template::RowView;
use crate::connectors::http::{AuthConfig, FailureKind, HttpClient, HttpMethod, LimitsConfig, RequestSpec, RequestTemplate, RetryConfig};
use crate::connectors::json::json_to_value;
use crate::exec::{AsyncNode, LogLevel, NodeError, NodeIo, RowError};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as J;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Adds values from a REST API's answer to each row.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpCallConfig {
    /// The address to call for each row, with `{field}` placeholders filled in (and
    /// URL-encoded) from the row, e.g. `https://crm.example.com/api/customers/{customer_id}`.
    pub url: String,
    /// The HTTP method (`GET` usually).
    #[serde(default)]
    pub method: HttpMethod,
    /// Query parameters added to the URL; values may hold `{field}` placeholders.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// Extra request headers; values may hold `{field}` placeholders. Credentials belong in
    /// `auth`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON body sent with each call, with `{field}` placeholders (a string that is
    /// exactly `"{field}"` keeps the field's type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<J>,
    /// Where in the answer the values are read, as keys separated by dots (`data`). Empty:
    /// the whole answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_path: Option<String>,
    /// Fields to add, each read from the answer at its path, e.g. `{"name":
    /// "customer_tier", "path": "tier", "type": "string"}`. A value missing from the answer
    /// is null.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<AddedField>,
    /// Also add the answer (at `response_path`) as one JSON field of this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_field: Option<String>,
    /// What a 404 answer does: `error` (default) sends the row to `error`; `null` adds the
    /// fields empty (the thing looked up does not exist).
    #[serde(default)]
    pub on_not_found: NotFound,
    /// How many distinct calls' answers are remembered during the run (0: none).
    #[serde(default = "default_cache_rows")]
    #[schemars(range(min = 0, max = 10000000))]
    pub cache_rows: usize,
    /// Credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
    /// When and how often a failed call is tried again.
    #[serde(default, skip_serializing_if = "RetryConfig::is_default")]
    pub retry: RetryConfig,
    /// Calls in flight, calls per second and timeouts.
    #[serde(default)]
    pub limits: LimitsConfig,
}

/// One field added from the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddedField {
    /// Name of the added field.
    pub name: String,
    /// Where the value sits in the answer (below `response_path`), as keys separated by
    /// dots (`profile.tier`; a number picks an array element). Default: the field's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The field's type; a value that does not read as it sends the row to `error`.
    #[serde(rename = "type")]
    pub data_type: DataType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotFound {
    #[default]
    Error,
    Null,
}

fn default_cache_rows() -> usize {
    10_000
}

pub struct HttpCall;

impl HttpCallConfig {
    fn request(&self) -> Result<RequestTemplate, Vec<ConfigProblem>> {
        RequestTemplate::parse(self.method, &self.url, &self.query, &self.headers, self.body.as_ref())
    }

    /// The added fields with their parsed paths, the response field last.
    fn added(&self) -> Result<Vec<(String, Vec<String>, DataType)>, ConfigProblem> {
        let mut out = Vec::new();
        for (i, f) in self.fields.iter().enumerate() {
            if f.name.trim().is_empty() {
                return Err(ConfigProblem::new(format!("fields/{i}/name"), "a field needs a name"));
            }
            let path = split_path(f.path.as_deref().unwrap_or(&f.name)).map_err(|e| ConfigProblem::new(format!("fields/{i}/path"), e))?;
            out.push((f.name.clone(), path, f.data_type));
        }
        if let Some(r) = &self.response_field {
            out.push((r.clone(), Vec::new(), DataType::Json));
        }
        Ok(out)
    }
}

fn output_schema(input: &Schema, added: &[(String, Vec<String>, DataType)]) -> SchemaRef {
    let mut fields = input.fields().to_vec();
    fields.extend(added.iter().map(|(n, _, t)| Field::new(n.clone(), *t)));
    Arc::new(Schema::new(fields))
}

impl NodeKind for HttpCall {
    type Config = HttpCallConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "http_call",
            category: Category::Transform,
            title: "Enrich from a REST API",
            description: "Calls a REST API for each row (URL, query, headers and body filled in from the row) and adds values picked from the JSON answer as fields, several calls at a time with a cache, retries and rate limits; failed calls leave by the error output.",
            keywords: &["http", "rest", "api", "enrich", "lookup", "call", "json", "web", "crm", "oauth"],
            icon: "globe",
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let req = match config.request() {
            Ok(r) => Some(r),
            Err(p) => {
                problems.extend(p);
                None
            }
        };
        if let Err(e) = split_path(config.response_path.as_deref().unwrap_or("")) {
            problems.push(ConfigProblem::new("response_path", e));
        }
        if config.fields.is_empty() && config.response_field.is_none() {
            problems.push(
                ConfigProblem::new("fields", "nothing to add to the rows")
                    .hint("list fields to read from the answer, or set response_field to keep the whole answer"),
            );
        }
        match config.added() {
            Ok(added) => {
                let mut seen: HashMap<&str, usize> = HashMap::new();
                for (i, (name, _, _)) in added.iter().enumerate() {
                    let at = if i < config.fields.len() { format!("fields/{i}/name") } else { "response_field".into() };
                    if seen.insert(name, i).is_some() {
                        problems.push(ConfigProblem::new(at.clone(), format!("'{name}' is added twice")));
                    }
                    if inputs.get("in").is_some_and(|s| s.index_of(name).is_some()) {
                        problems.push(
                            ConfigProblem::new(at, format!("the added field '{name}' has the name of an incoming field"))
                                .hint("name it differently, e.g. with a prefix such as crm_"),
                        );
                    }
                }
            }
            Err(p) => problems.push(p),
        }
        if let (Some(schema), Some(r)) = (inputs.get("in"), &req) {
            problems.extend(r.check_fields(schema));
        }
        if let Some(a) = &config.auth {
            problems.extend(a.check());
        }
        problems.extend(config.limits.check());
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        let Some(input) = inputs.get("in") else { return Ok(PortSchemas::new()) };
        match config.added() {
            Ok(added) => Ok(PortSchemas::from([("out".to_string(), output_schema(input, &added))])),
            Err(_) => Ok(PortSchemas::new()),
        }
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let request = config.request().map_err(|mut p| p.remove(0))?;
        let added = config.added()?;
        let response_path = split_path(config.response_path.as_deref().unwrap_or("")).map_err(|e| ConfigProblem::new("response_path", e))?;
        let client = HttpClient::new(&ctx.node_id, config.auth.as_ref(), &config.retry, &config.limits)?;
        let cache = Cache::new(config.cache_rows);
        Ok(NodeTask::Async(Box::new(HttpCallTask { config, request, added, response_path, client, cache })))
    }
}

/// What one call gave.
#[derive(Clone)]
enum Answer {
    /// The JSON at `response_path` (null when the answer was empty or lacked the path).
    Found(Arc<J>),
    NotFound,
    Failed { message: String, raw: Option<String> },
}

/// Request keys to answers, bounded: two generations; a key found in the old one moves to
/// the new one, and when the new one fills, the old one is dropped.
struct Cache {
    capacity: usize,
    current: HashMap<String, Answer>,
    previous: HashMap<String, Answer>,
}

impl Cache {
    fn new(capacity: usize) -> Self {
        Cache { capacity, current: HashMap::new(), previous: HashMap::new() }
    }

    fn get(&mut self, key: &str) -> Option<Answer> {
        if let Some(v) = self.current.get(key) {
            return Some(v.clone());
        }
        let v = self.previous.remove(key)?;
        self.insert(key.to_string(), v.clone());
        Some(v)
    }

    fn insert(&mut self, key: String, v: Answer) {
        if self.capacity == 0 {
            return;
        }
        if self.current.len() >= self.capacity.div_ceil(2) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, v);
    }
}

struct HttpCallTask {
    config: HttpCallConfig,
    request: RequestTemplate,
    added: Vec<(String, Vec<String>, DataType)>,
    response_path: Vec<String>,
    client: HttpClient,
    cache: Cache,
}

/// Identifies a call: method, URL and body.
fn call_key(r: &RequestSpec) -> String {
    let mut k = format!("{} {}", r.method, r.url);
    if let Some((b, _)) = &r.body {
        k.push('\n');
        k.push_str(&String::from_utf8_lossy(b));
    }
    k
}

impl HttpCallTask {
    /// Calls the API once for `req`. `Err` stops the node.
    async fn call(&self, req: &RequestSpec) -> Result<Answer, NodeError> {
        match self.client.send(req).await {
            Ok(resp) => {
                if resp.body.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Answer::Found(Arc::new(J::Null)));
                }
                match serde_json::from_slice::<J>(&resp.body) {
                    Ok(doc) => Ok(Answer::Found(Arc::new(pick(&doc, &self.response_path).cloned().unwrap_or(J::Null)))),
                    Err(e) => Ok(Answer::Failed {
                        message: format!(
                            "{} answered with something that is not valid JSON ({e}); it begins {:?}",
                            req.describe(),
                            crate::connectors::http::body_excerpt(&resp.body, 80)
                        ),
                        raw: Some(crate::connectors::http::body_excerpt(&resp.body, crate::connectors::http::BODY_KEPT)),
                    }),
                }
            }
            Err(f) if f.status == Some(404) && self.config.on_not_found == NotFound::Null => Ok(Answer::NotFound),
            Err(f) if f.kind == FailureKind::Cancelled => Err(NodeError::Cancelled),
            Err(f) if f.is_fatal() => Err(NodeError::msg(f.message).with_field("auth")),
            Err(f) => Ok(Answer::Failed { raw: f.body_text(), message: f.message }),
        }
    }

    /// The added values of a row from its answer, or why they do not fit.
    fn values(&self, answer: &J) -> Result<Vec<Value>, (String, String)> {
        let mut out = Vec::with_capacity(self.added.len());
        for (name, path, ty) in &self.added {
            let v = if path.is_empty() { answer.clone() } else { pick(answer, path).cloned().unwrap_or(J::Null) };
            match json_to_value(v, *ty) {
                Ok(v) => out.push(v),
                Err(e) => return Err((name.clone(), format!("field '{name}': {e}"))),
            }
        }
        Ok(out)
    }
}

#[async_trait::async_trait]
impl AsyncNode for HttpCallTask {
    async fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut this = *self;
        this.client.set_cancel(io.shared.cancel.clone());
        let concurrency = this.config.limits.concurrency.max(1) as usize;
        let mut schemas: Option<(SchemaRef, SchemaRef)> = None;
        let (mut enriched, mut failed, mut cache_hits) = (0u64, 0u64, 0u64);
        while let Some(batch) = io.recv_async("in").await? {
            if batch.is_empty() {
                continue;
            }
            let out_schema = match &schemas {
                Some((i, o)) if Arc::ptr_eq(i, &batch.schema) => o.clone(),
                _ => {
                    let o = output_schema(&batch.schema, &this.added);
                    schemas = Some((batch.schema.clone(), o.clone()));
                    o
                }
            };
            // One request per row; identical requests of the batch share one call.
            let mut keys: Vec<Result<String, String>> = Vec::with_capacity(batch.len());
            let mut answers: HashMap<String, Answer> = HashMap::new();
            let mut to_call: Vec<(String, RequestSpec)> = Vec::new();
            for row in &batch.rows {
                match this.request.build(Some(&RowView { schema: &batch.schema, row }), &[], None) {
                    Ok(req) => {
                        let key = call_key(&req);
                        if !answers.contains_key(&key) && !to_call.iter().any(|(k, _)| k == &key) {
                            match this.cache.get(&key) {
                                Some(a) => {
                                    cache_hits += 1;
                                    answers.insert(key.clone(), a);
                                }
                                None => to_call.push((key.clone(), req)),
                            }
                        }
                        keys.push(Ok(key));
                    }
                    Err(m) => keys.push(Err(m)),
                }
            }
            let task = &this;
            let called: Vec<Result<(String, Answer), NodeError>> = futures::stream::iter(to_call)
                .map(|(key, req)| async move { task.call(&req).await.map(|a| (key, a)) })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            for c in called {
                let (key, answer) = c?;
                if !matches!(answer, Answer::Failed { .. }) {
                    this.cache.insert(key.clone(), answer.clone());
                }
                answers.insert(key, answer);
            }

            let mut out: Vec<Row> = Vec::with_capacity(batch.len());
            let mut errors = Vec::new();
            for (row, key) in batch.rows.into_iter().zip(keys) {
                let answer = match key {
                    Ok(k) => answers.get(&k).cloned().expect("every key was answered"),
                    Err(m) => Answer::Failed { message: m, raw: None },
                };
                let values = match &answer {
                    Answer::Found(doc) => this.values(doc),
                    Answer::NotFound => Ok(vec![Value::Null; this.added.len()]),
                    Answer::Failed { .. } => Err((String::new(), String::new())),
                };
                match (values, answer) {
                    (Ok(v), _) => {
                        let mut row = row;
                        row.extend(v);
                        out.push(row);
                    }
                    (Err(_), Answer::Failed { message, raw }) => {
                        let mut e = RowError::new(message, row);
                        if let Some(r) = raw {
                            e = e.raw(r);
                        }
                        errors.push(e);
                    }
                    (Err((field, message)), Answer::Found(doc)) => {
                        errors.push(RowError::new(message, row).field(field).raw(crate::connectors::http::body_excerpt(doc.to_string().as_bytes(), crate::connectors::http::BODY_KEPT)))
                    }
                    (Err(_), Answer::NotFound) => unreachable!("a 404 adds nulls"),
                }
            }
            enriched += out.len() as u64;
            failed += errors.len() as u64;
            io.send_async("out", Batch::new(out_schema, out)).await?;
            if !errors.is_empty() {
                let schema = batch.schema.clone();
                tokio::task::block_in_place(|| io.send_errors(&schema, errors))?;
            }
        }
        let mut summary = format!("{enriched} rows enriched ({}, {cache_hits} answers from the cache)", this.client.summary());
        if failed > 0 {
            summary.push_str(&format!("; {failed} rows failed"));
        }
        io.log(LogLevel::Info, summary);
        Ok(())
    }
}
