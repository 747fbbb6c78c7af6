//! `http_sink`: sends rows to a REST API, one request per row or a JSON array per batch of
//! rows, with retries, rate limits and an idempotency key.
//!
//! Requests go through the shared client ([`crate::connectors::http`]), several at a time
//! (`limits/concurrency`). A request that still fails after its retries sends its row (or
//! every row of its batch) to `error`, with the status in `_error_message` and the API's
//! answer in `_error_raw`; no row is dropped silently. Retries are safe when the API
//! honours the `Idempotency-Key` header: the key is the same on every attempt of one
//! request (a field of the row, or a hash of the body), so a request whose answer was lost
//! is not applied twice.
//!
//! Left out: all-or-nothing delivery across rows (an API has no transaction to roll back),
//! and reading anything from the answers (use `http_call` to enrich rows with a response).

use crate::connectors::http::template::RowView;
use crate::connectors::http::{AuthConfig, FailureKind, HttpClient, HttpMethod, LimitsConfig, RequestSpec, RequestTemplate, RetryConfig};
use crate::exec::{AsyncNode, LogLevel, NodeError, NodeIo, RowError};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{Row, Schema};
use futures::StreamExt;
use reqwest::header::{HeaderName, HeaderValue};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as J;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Sends rows to a REST API.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSinkConfig {
    /// The address to send to, e.g. `https://crm.example.com/api/tickets`. With one row per
    /// request it may hold `{field}` placeholders (`…/customers/{customer_id}`), filled in
    /// and URL-encoded per row.
    pub url: String,
    /// The HTTP method: `POST` (default), `PUT`, `PATCH` or `DELETE`.
    #[serde(default = "default_method")]
    pub method: HttpMethod,
    /// Query parameters added to the URL; values may hold `{field}` placeholders (one row per
    /// request only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// Extra request headers; values may hold `{field}` placeholders (one row per request
    /// only). Credentials belong in `auth`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The JSON sent for each row, with `{field}` placeholders: a string that is exactly
    /// `"{field}"` takes the field's value with its type, other strings take the text, e.g.
    /// `{"subject": "{title}", "priority": "{priority}", "source": "sluice"}`. Empty: the row
    /// as an object of its fields (or of `fields`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<J>,
    /// Without `body`: the fields to send, in this order. Empty: every field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-field" = "in"))]
    pub fields: Vec<String>,
    /// Rows per request. `1` (default): one request per row, its body the row's object.
    /// More: the body is a JSON array of up to this many row objects.
    #[serde(default = "default_batch_rows")]
    #[schemars(range(min = 1, max = 10000))]
    pub batch_rows: usize,
    /// With `batch_rows` above 1: send the array inside an object under this key, e.g.
    /// `records` sends `{"records": [...]}`. Empty: the array itself is the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_key: Option<String>,
    /// Send an idempotency key with each request, the same on every retry, so that the API
    /// can ignore a request it has already applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency: Option<IdempotencyConfig>,
    /// Statuses besides 2xx that count as delivered, e.g. `[409]` when the API answers
    /// "already exists" to a repeated create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept_status: Vec<u16>,
    /// Credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
    /// When and how often a failed request is tried again.
    #[serde(default, skip_serializing_if = "RetryConfig::is_default")]
    pub retry: RetryConfig,
    /// Requests in flight, requests per second and timeouts.
    #[serde(default)]
    pub limits: LimitsConfig,
}

/// The idempotency key of each request.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdempotencyConfig {
    /// The header that carries the key.
    #[serde(default = "default_idempotency_header")]
    pub header: String,
    /// The field whose value is the key (one row per request only), e.g. `ticket_id`.
    /// Empty: the SHA-256 of the request's body, so the same content gets the same key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-field" = "in"))]
    pub field: Option<String>,
}

fn default_method() -> HttpMethod {
    HttpMethod::Post
}
fn default_batch_rows() -> usize {
    1
}
fn default_idempotency_header() -> String {
    "Idempotency-Key".into()
}

pub struct HttpSink;

impl HttpSinkConfig {
    fn request(&self) -> Result<RequestTemplate, Vec<ConfigProblem>> {
        RequestTemplate::parse(self.method, &self.url, &self.query, &self.headers, self.body.as_ref())
    }

    fn idempotency_header(&self) -> Result<Option<HeaderName>, ConfigProblem> {
        match &self.idempotency {
            None => Ok(None),
            Some(i) => HeaderName::from_bytes(i.header.trim().as_bytes())
                .map(Some)
                .map_err(|_| ConfigProblem::new("idempotency/header", format!("'{}' is not a valid header name", i.header))),
        }
    }
}

impl NodeKind for HttpSink {
    type Config = HttpSinkConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "http_sink",
            category: Category::Sink,
            title: "Send to a REST API",
            description: "Sends rows to a REST API (POST/PUT/PATCH/DELETE), one request per row or a JSON array per batch, with a body template, idempotency keys, retries and rate limits; rows that still fail leave by the error output with the status and the answer.",
            keywords: &["http", "rest", "api", "post", "put", "webhook", "json", "web", "crm", "push", "oauth"],
            icon: "send",
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
        if config.batch_rows == 0 {
            problems.push(ConfigProblem::new("batch_rows", "at least 1 row per request"));
        }
        if config.batch_rows > 1 {
            if let Some(r) = &req {
                for (at, f) in r.line_fields() {
                    problems.push(
                        ConfigProblem::new(at, format!("{{{f}}}: with several rows per request, the URL, query and headers cannot take a row's field"))
                            .hint("set batch_rows to 1, or move the field into the body"),
                    );
                }
            }
            if config.idempotency.as_ref().is_some_and(|i| i.field.is_some()) {
                problems.push(
                    ConfigProblem::new("idempotency/field", "with several rows per request the key is a hash of the body")
                        .hint("remove idempotency/field, or set batch_rows to 1"),
                );
            }
        } else if config.batch_key.is_some() {
            problems.push(ConfigProblem::new("batch_key", "batch_key applies when batch_rows is above 1"));
        }
        if config.body.is_some() && !config.fields.is_empty() {
            problems.push(ConfigProblem::new("fields", "fields apply without a body template; list the fields in the body instead"));
        }
        if let Err(p) = config.idempotency_header() {
            problems.push(p);
        }
        for (i, s) in config.accept_status.iter().enumerate() {
            if !(100..=599).contains(s) {
                problems.push(ConfigProblem::new(format!("accept_status/{i}"), format!("{s} is not an HTTP status")));
            }
        }
        if let Some(schema) = inputs.get("in") {
            if let Some(r) = &req {
                problems.extend(r.check_fields(schema));
            }
            let mut named: Vec<(String, &str)> = config.fields.iter().enumerate().map(|(i, f)| (format!("fields/{i}"), f.as_str())).collect();
            if let Some(f) = config.idempotency.as_ref().and_then(|i| i.field.as_deref()) {
                named.push(("idempotency/field".into(), f));
            }
            for (at, f) in named {
                if schema.index_of(f).is_none() {
                    let mut p = ConfigProblem::new(at, format!("the input has no field '{f}'"));
                    if let Some(s) = crate::flow::did_you_mean(f, schema.names()) {
                        p = p.hint(format!("did you mean '{s}'?"));
                    }
                    problems.push(p);
                }
            }
        }
        if let Some(a) = &config.auth {
            problems.extend(a.check());
        }
        problems.extend(config.limits.check());
        problems
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let request = config.request().map_err(|mut p| p.remove(0))?;
        if config.batch_rows == 0 {
            return Err(ConfigProblem::new("batch_rows", "at least 1 row per request"));
        }
        let idempotency_header = config.idempotency_header()?;
        let client = HttpClient::new(&ctx.node_id, config.auth.as_ref(), &config.retry, &config.limits)?;
        Ok(NodeTask::Async(Box::new(HttpSinkTask { config, request, idempotency_header, client })))
    }
}

struct HttpSinkTask {
    config: HttpSinkConfig,
    request: RequestTemplate,
    idempotency_header: Option<HeaderName>,
    client: HttpClient,
}

/// One request and the rows (indexes into the input batch) it carries.
struct Job {
    rows: Vec<usize>,
    request: Result<RequestSpec, String>,
}

/// What became of one request.
enum Outcome {
    Sent,
    Failed { message: String, raw: Option<String> },
    /// The node must stop (credentials refused, run stopping).
    Fatal(NodeError),
}

impl HttpSinkTask {
    /// A row's JSON: the body template filled in, or the row's fields as an object.
    fn row_body(&self, view: &RowView) -> J {
        self.request.render_body(view).unwrap_or_else(|| view.to_json(&self.config.fields))
    }

    /// The requests for one input batch.
    fn jobs(&self, schema: &Schema, rows: &[Row]) -> Vec<Job> {
        let mut jobs = Vec::new();
        if self.config.batch_rows <= 1 {
            for (i, row) in rows.iter().enumerate() {
                let view = RowView { schema, row };
                let body = self.row_body(&view);
                let key = self.config.idempotency.as_ref().and_then(|c| c.field.as_deref()).map(|f| view.get(f).and_then(|v| v.to_text()));
                let request = self.request.build(Some(&view), &[], Some(body)).and_then(|r| self.with_key(r, key));
                jobs.push(Job { rows: vec![i], request });
            }
        } else {
            let indexes: Vec<usize> = (0..rows.len()).collect();
            for chunk in indexes.chunks(self.config.batch_rows) {
                let items: Vec<J> = chunk.iter().map(|&i| self.row_body(&RowView { schema, row: &rows[i] })).collect();
                let body = match &self.config.batch_key {
                    Some(k) => J::Object(serde_json::Map::from_iter([(k.clone(), J::Array(items))])),
                    None => J::Array(items),
                };
                let request = self.request.build(None, &[], Some(body)).and_then(|r| self.with_key(r, None));
                jobs.push(Job { rows: chunk.to_vec(), request });
            }
        }
        jobs
    }

    /// Adds the idempotency header: `key` from a field, else a hash of the body.
    fn with_key(&self, mut r: RequestSpec, key: Option<Option<String>>) -> Result<RequestSpec, String> {
        let Some(header) = &self.idempotency_header else { return Ok(r) };
        let key = match key {
            Some(Some(k)) if !k.is_empty() => k,
            Some(_) => {
                let f = self.config.idempotency.as_ref().and_then(|c| c.field.clone()).unwrap_or_default();
                return Err(format!("the idempotency key field '{f}' is empty"));
            }
            None => {
                let mut h = Sha256::new();
                h.update(r.method.as_str().as_bytes());
                h.update(b" ");
                h.update(r.url.as_str().as_bytes());
                h.update(b"\n");
                if let Some((b, _)) = &r.body {
                    h.update(b);
                }
                hex::encode(h.finalize())
            }
        };
        let v = HeaderValue::from_str(&key).map_err(|_| format!("the idempotency key {key:?} cannot be sent in a header"))?;
        r.headers.push((header.clone(), v));
        Ok(r)
    }

    async fn send(&self, req: &RequestSpec) -> Outcome {
        match self.client.send(req).await {
            Ok(_) => Outcome::Sent,
            Err(f) if f.status.is_some_and(|s| self.config.accept_status.contains(&s)) => Outcome::Sent,
            Err(f) if f.kind == FailureKind::Cancelled => Outcome::Fatal(NodeError::Cancelled),
            Err(f) if f.is_fatal() => Outcome::Fatal(NodeError::msg(f.message).with_field("auth")),
            Err(f) => Outcome::Failed { raw: f.body_text(), message: f.message },
        }
    }
}

#[async_trait::async_trait]
impl AsyncNode for HttpSinkTask {
    async fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut this = *self;
        this.client.set_cancel(io.shared.cancel.clone());
        let concurrency = this.config.limits.concurrency.max(1) as usize;
        let (mut delivered, mut failed) = (0u64, 0u64);
        while let Some(batch) = io.recv_async("in").await? {
            if batch.is_empty() {
                continue;
            }
            let jobs = this.jobs(&batch.schema, &batch.rows);
            let task = &this;
            let outcomes: Vec<(Vec<usize>, Outcome)> = futures::stream::iter(jobs)
                .map(|job| async move {
                    let outcome = match &job.request {
                        Ok(r) => task.send(r).await,
                        Err(m) => Outcome::Failed { message: m.clone(), raw: None },
                    };
                    (job.rows, outcome)
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            let mut errors = Vec::new();
            for (rows, outcome) in outcomes {
                match outcome {
                    Outcome::Sent => delivered += rows.len() as u64,
                    Outcome::Failed { message, raw } => {
                        failed += rows.len() as u64;
                        for i in rows {
                            let mut e = RowError::new(message.clone(), batch.rows[i].clone());
                            if let Some(r) = &raw {
                                e = e.raw(r.clone());
                            }
                            errors.push(e);
                        }
                    }
                    Outcome::Fatal(e) => return Err(e),
                }
            }
            if !errors.is_empty() {
                let schema = batch.schema.clone();
                tokio::task::block_in_place(|| io.send_errors(&schema, errors))?;
            }
        }
        let mut summary = format!("{delivered} rows delivered to {} ({})", this.config.url, this.client.summary());
        if failed > 0 {
            summary.push_str(&format!("; {failed} rows failed and left by the error output"));
        }
        io.log(if failed > 0 { LogLevel::Warn } else { LogLevel::Info }, summary);
        Ok(())
    }
}
