//! `http_source`: records from a REST API, page after page, optionally only those changed
//! since the last successful run.
//!
//! Each page is one request through the shared client ([`crate::connectors::http`]):
//! rate-limited, retried on network errors, 429 and 5xx, with credentials. The records of
//! a JSON answer are the array at `records_path`; a CSV answer's are its lines. Pages
//! follow one another as `pagination` says until an empty page, the last page, or
//! `max_pages`. A page that still fails after its retries, or that is not JSON/CSV at all,
//! fails the node: skipping a page would lose its records silently. A record whose values
//! do not fit the declared fields leaves by `error` with the record as `_error_raw`.
//!
//! Incremental reads (`incremental`) send the newest value of a field seen by the last
//! successful run in a query parameter (`updated_since=…`); the new value is stored in the
//! local state store only once the whole run succeeded, after the run's SQL sinks
//! committed, exactly as `sql_source` does with its watermark column.
//!
//! Left out: reading pages in parallel (pages depend on one another in cursor and link
//! modes), XML answers, and resuming a failed run half-way.

use crate::connectors::http::pagination::{Next, Pager, Pagination};
use crate::connectors::http::records::{parse_page, split_path, PageError, RecordDecoder, RecordField, ResponseFormat};
use crate::connectors::http::{AuthConfig, FailureKind, HttpClient, HttpFailure, HttpMethod, LimitsConfig, RequestTemplate, RetryConfig};
use crate::connectors::sql::finish;
use crate::exec::{AsyncNode, LogLevel, NodeError, NodeIo, RowError};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::state::{StateStore, Watermark};
use crate::value::{Batch, Row, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

/// Reads records from a REST API.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSourceConfig {
    /// The address to read, e.g. `https://helpdesk.example.com/api/v2/tickets`. Flow params
    /// work here (`${helpdesk_url}/tickets`).
    pub url: String,
    /// The HTTP method (`GET` usually; `POST` for APIs that search by a body).
    #[serde(default)]
    pub method: HttpMethod,
    /// Query parameters added to the URL, e.g. `{"status": "open"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// Extra request headers, e.g. `{"Accept": "application/json"}`. Credentials belong in
    /// `auth`, not here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON body sent with every page's request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// `json` (default) or `csv` (with a header line).
    #[serde(default)]
    pub format: ResponseFormat,
    /// Where the records sit in a JSON answer, as keys separated by dots: `data.items`
    /// reads `{"data": {"items": [...]}}`. Leave empty when the answer itself is the array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_path: Option<String>,
    /// The output fields: name, type and where each sits in a record. Empty: learnt from
    /// the first page (keys in first-seen order, types from the values); keys first seen on
    /// later pages are then ignored with a warning.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<RecordField>,
    /// How to ask for the next page. Empty: the API is read with one request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
    /// Stop after this many pages, even if the API has more (a safety net).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_pages: Option<u64>,
    /// Read only records changed since the last successful run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<HttpIncremental>,
    /// Credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
    /// When and how often a failed page request is tried again.
    #[serde(default, skip_serializing_if = "RetryConfig::is_default")]
    pub retry: RetryConfig,
    /// Requests per second and timeouts.
    #[serde(default)]
    pub limits: LimitsConfig,
}

/// Incremental reads by a query parameter.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpIncremental {
    /// The query parameter that asks for records changed since a value, e.g.
    /// `updated_since`.
    pub param: String,
    /// The output field whose newest value is stored after a successful run and sent in
    /// `param` next time, e.g. `updated_at`. `sluice state show FLOW` shows it, `sluice
    /// state reset FLOW` starts over.
    pub field: String,
    /// The value to send when nothing is stored yet (`"2024-01-01T00:00:00Z"`). Without it
    /// the first run sends no `param` and reads everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<serde_json::Value>,
}

pub struct HttpSource;

impl HttpSourceConfig {
    fn request(&self) -> Result<RequestTemplate, Vec<ConfigProblem>> {
        RequestTemplate::parse(self.method, &self.url, &self.query, &self.headers, self.body.as_ref())
    }

    fn records_path(&self) -> Result<Vec<String>, ConfigProblem> {
        split_path(self.records_path.as_deref().unwrap_or("")).map_err(|e| ConfigProblem::new("records_path", e))
    }
}

impl NodeKind for HttpSource {
    type Config = HttpSourceConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "http_source",
            category: Category::Source,
            title: "Read from a REST API",
            description: "Reads records from a REST API (JSON or CSV answers), following its pages by page number, offset, cursor, Link header or next URL; retries, rate limits and OAuth2; can read only records changed since the last run.",
            keywords: &["http", "rest", "api", "json", "web", "pagination", "oauth", "incremental", "helpdesk", "crm"],
            icon: "globe",
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, _inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        match config.request() {
            Ok(req) => {
                for (at, f) in req.line_fields().into_iter().chain(req.body_fields().into_iter().map(|f| ("body".to_string(), f))) {
                    problems.push(
                        ConfigProblem::new(at, format!("{{{f}}}: a source has no input row to take a field from"))
                            .hint("use a flow param (${name}) instead, or write {{ for a literal brace"),
                    );
                }
            }
            Err(p) => problems.extend(p),
        }
        if let Err(p) = config.records_path() {
            problems.push(p);
        }
        if config.format == ResponseFormat::Csv && config.records_path.as_deref().is_some_and(|p| !p.trim().is_empty()) {
            problems.push(ConfigProblem::new("records_path", "records_path applies to JSON answers; a CSV answer's records are its lines"));
        }
        if let Err((field, msg)) = RecordDecoder::declared(&config.fields) {
            problems.push(ConfigProblem::new(field, msg));
        }
        let mut seen = HashSet::new();
        for (i, f) in config.fields.iter().enumerate() {
            if !seen.insert(f.name.as_str()) {
                problems.push(ConfigProblem::new(format!("fields/{i}/name"), format!("field '{}' is declared twice", f.name)));
            }
        }
        if let Some(p) = &config.pagination {
            problems.extend(p.check());
            if config.format == ResponseFormat::Csv && matches!(p, Pagination::Cursor { .. } | Pagination::NextUrl { .. }) {
                problems.push(ConfigProblem::new("pagination", "a CSV answer carries no cursor or next URL; use page, offset or link_header"));
            }
        }
        if config.max_pages == Some(0) {
            problems.push(ConfigProblem::new("max_pages", "at least 1 page"));
        }
        if let Some(inc) = &config.incremental {
            if inc.param.trim().is_empty() {
                problems.push(ConfigProblem::new("incremental/param", "no query parameter given").hint("e.g. \"updated_since\""));
            }
            if !config.fields.is_empty() {
                match config.fields.iter().find(|f| f.name == inc.field) {
                    None => {
                        let mut p = ConfigProblem::new("incremental/field", format!("'{}' is not among the fields", inc.field));
                        if let Some(s) = crate::flow::did_you_mean(&inc.field, config.fields.iter().map(|f| f.name.as_str())) {
                            p = p.hint(format!("did you mean '{s}'?"));
                        }
                        problems.push(p);
                    }
                    Some(f) if matches!(f.data_type, crate::value::DataType::Bool | crate::value::DataType::Json) => problems.push(
                        ConfigProblem::new("incremental/field", format!("'{}' is {}; a watermark needs a time, a date, a number or text that grows", f.name, f.data_type)),
                    ),
                    Some(f) => {
                        if let Some(s) = &inc.start {
                            if let Err(e) = Value::from_json_as(s, f.data_type) {
                                problems.push(ConfigProblem::new("incremental/start", e.to_string()));
                            }
                        }
                    }
                }
            }
        }
        if let Some(a) = &config.auth {
            problems.extend(a.check());
        }
        problems.extend(config.limits.check());
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, _inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        if config.fields.is_empty() {
            // Learnt from the first page at run time; the API is not called while designing.
            return Ok(PortSchemas::new());
        }
        match RecordDecoder::declared(&config.fields) {
            Ok(d) => Ok(PortSchemas::from([("out".to_string(), d.schema().clone())])),
            Err(_) => Ok(PortSchemas::new()),
        }
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let request = config.request().map_err(|mut p| p.remove(0))?;
        let records_path = config.records_path()?;
        let declared = if config.fields.is_empty() {
            None
        } else {
            Some(RecordDecoder::declared(&config.fields).map_err(|(f, m)| ConfigProblem::new(f, m))?)
        };
        if let Some(p) = config.pagination.as_ref().and_then(|p| p.check().into_iter().next()) {
            return Err(p);
        }
        let client = HttpClient::new(&ctx.node_id, config.auth.as_ref(), &config.retry, &config.limits)?;
        Ok(NodeTask::Async(Box::new(HttpSourceTask {
            config,
            request,
            records_path,
            declared,
            client,
            base_dir: ctx.base_dir.clone(),
            node_id: ctx.node_id.clone(),
        })))
    }
}

struct HttpSourceTask {
    config: HttpSourceConfig,
    request: RequestTemplate,
    records_path: Vec<String>,
    declared: Option<RecordDecoder>,
    client: HttpClient,
    base_dir: PathBuf,
    node_id: String,
}

fn request_failed(f: HttpFailure, page: u64) -> NodeError {
    match f.kind {
        FailureKind::Cancelled => NodeError::Cancelled,
        _ => NodeError::msg(format!("page {page}: {}", f.message)),
    }
}

/// Orders two watermark values of one field.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Decimal(x), Value::Decimal(y)) => Some(x.cmp(y)),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::DateTime(x), Value::DateTime(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Where the last successful run stopped, and what this run has seen.
struct WatermarkState {
    store: StateStore,
    key: String,
    field: String,
    from: Option<Value>,
    newest: Option<Value>,
}

impl HttpSourceTask {
    async fn open_watermark(&self, io: &mut NodeIo) -> Result<Option<WatermarkState>, NodeError> {
        let Some(inc) = &self.config.incremental else { return Ok(None) };
        let store = StateStore::open_default().await.map_err(|e| NodeError::msg(e.to_string()))?;
        let key = crate::state::flow_key(&self.base_dir);
        let declared_type = self.config.fields.iter().find(|f| f.name == inc.field).map(|f| f.data_type);
        let stored = store.watermark(&key, &self.node_id).await.map_err(|e| NodeError::msg(e.to_string()))?;
        let from = match stored {
            Some(w) if w.column == inc.field => Some(match declared_type {
                Some(t) => crate::connectors::sql::types::convert_value(w.value, t).map_err(|e| {
                    NodeError::msg(format!(
                        "the stored watermark does not fit field '{}' ({e}); run `sluice state reset` for this flow",
                        inc.field
                    ))
                })?,
                None => w.value,
            }),
            Some(w) => {
                io.log(LogLevel::Warn, format!("the stored watermark is for field '{}', not '{}': reading every record", w.column, inc.field));
                None
            }
            None => match &inc.start {
                Some(s) => Some(match declared_type {
                    Some(t) => Value::from_json_as(s, t).map_err(|e| NodeError::msg(e.to_string()).with_field("incremental/start"))?,
                    None => Value::from_json(s),
                }),
                None => None,
            },
        };
        match &from {
            Some(v) => io.log(LogLevel::Info, format!("reading records with {}={}", inc.param, v.to_text().unwrap_or_default())),
            None => io.log(LogLevel::Info, "no watermark stored yet: reading every record"),
        }
        Ok(Some(WatermarkState { store, key, field: inc.field.clone(), newest: from.clone(), from }))
    }
}

#[async_trait::async_trait]
impl AsyncNode for HttpSourceTask {
    async fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut this = *self;
        this.client.set_cancel(io.shared.cancel.clone());
        let mut watermark = this.open_watermark(io).await?;
        let mut base_query: Vec<(String, String)> = Vec::new();
        if let (Some(inc), Some(w)) = (&this.config.incremental, &watermark) {
            if let Some(v) = &w.from {
                base_query.push((inc.param.clone(), v.to_text().unwrap_or_default()));
            }
        }

        let mut pager = Pager::new(this.config.pagination.clone());
        let mut decoder = this.declared.take();
        let mut pages = 0u64;
        let mut rows_read = 0u64;
        let mut bad_records = 0u64;
        let mut unknown_keys: HashSet<String> = HashSet::new();
        let size = io.batch_size();
        loop {
            if let Some(max) = this.config.max_pages {
                if pages >= max {
                    io.log(LogLevel::Info, format!("stopped after max_pages ({max}) pages"));
                    break;
                }
            }
            let page_no = pages + 1;
            let req = match pager.next_url() {
                // The API's own next link carries its query; only auth is added to it.
                Some(next) => {
                    let mut r = this.request.build(None, &[], None).map_err(NodeError::msg)?;
                    r.url = next.clone();
                    r
                }
                None => {
                    let mut extra = base_query.clone();
                    extra.extend(pager.params());
                    this.request.build(None, &extra, None).map_err(|m| NodeError::msg(m).with_field("url"))?
                }
            };
            let resp = this.client.send(&req).await.map_err(|f| request_failed(f, page_no))?;
            pages += 1;
            io.add_bytes(resp.body.len() as u64);
            let page = match parse_page(&resp.body, this.config.format, &this.records_path) {
                Ok(p) => p,
                Err(PageError::Malformed(m)) => return Err(NodeError::msg(format!("page {page_no} ({}): {m}", req.describe()))),
                Err(PageError::NoRecordsAt { path, keys }) if page_no == 1 || path.is_empty() => {
                    let where_ = if path.is_empty() { "the answer is an object, not an array of records".to_string() } else { format!("the answer has nothing at records_path '{path}'") };
                    let mut msg = format!("page {page_no} ({}): {where_}", req.describe());
                    if !keys.is_empty() {
                        msg.push_str(&format!(" (keys there: {})", keys.join(", ")));
                    }
                    return Err(NodeError::msg(msg).with_field("records_path"));
                }
                // Some APIs drop the records key on the page after the last.
                Err(PageError::NoRecordsAt { .. }) => break,
            };
            if page.is_empty() {
                tracing::debug!(node = %this.node_id, page = page_no, "empty page: done");
                break;
            }
            let dec = decoder.get_or_insert_with(|| RecordDecoder::inferred(&page));
            let schema = dec.schema().clone();
            if this.config.fields.is_empty() {
                if let crate::connectors::http::records::Page::Json { records, .. } = &page {
                    for r in records.iter().filter_map(|r| r.as_object()) {
                        for k in r.keys() {
                            if schema.index_of(k).is_none() && unknown_keys.insert(k.clone()) {
                                io.log(
                                    LogLevel::Warn,
                                    format!("page {page_no}: key '{k}' was not on the first page, so it is not a field and is ignored; declare the fields to read it"),
                                );
                            }
                        }
                    }
                }
            }
            let wm_index = watermark.as_ref().and_then(|w| schema.index_of(&w.field));
            if watermark.is_some() && wm_index.is_none() {
                let field = &this.config.incremental.as_ref().expect("watermark implies incremental").field;
                return Err(NodeError::msg(format!(
                    "the watermark field '{field}' is not among the fields read ({})",
                    schema.names().collect::<Vec<_>>().join(", ")
                ))
                .with_field("incremental/field"));
            }
            let mut rows: Vec<Row> = Vec::with_capacity(page.len().min(size));
            let mut errors: Vec<RowError> = Vec::new();
            for (i, rec) in dec.decode_page(&page).into_iter().enumerate() {
                match rec {
                    Ok(row) => {
                        if let (Some(w), Some(idx)) = (watermark.as_mut(), wm_index) {
                            let v = &row[idx];
                            if !v.is_null() && w.newest.as_ref().is_none_or(|n| compare(v, n) == Some(Ordering::Greater)) {
                                w.newest = Some(v.clone());
                            }
                        }
                        rows.push(row);
                        if rows.len() >= size {
                            rows_read += rows.len() as u64;
                            io.send_async("out", Batch::new(schema.clone(), std::mem::replace(&mut rows, Vec::with_capacity(size)))).await?;
                        }
                    }
                    Err(bad) => {
                        bad_records += 1;
                        let mut e = RowError::new(format!("page {page_no}, record {}: {}", i + 1, bad.message), bad.row).raw(bad.raw);
                        if let Some(f) = bad.field {
                            e = e.field(f);
                        }
                        errors.push(e);
                    }
                }
            }
            rows_read += rows.len() as u64;
            io.send_async("out", Batch::new(schema.clone(), rows)).await?;
            if !errors.is_empty() {
                tokio::task::block_in_place(|| io.send_errors(&schema, errors))?;
            }
            match pager.advance(&resp.url, &resp.headers, &page) {
                Next::More => continue,
                Next::Done(reason) => {
                    tracing::debug!(node = %this.node_id, page = page_no, "{reason}");
                    break;
                }
            }
        }
        let mut summary = format!("{rows_read} records read in {pages} pages ({})", this.client.summary());
        if bad_records > 0 {
            summary.push_str(&format!("; {bad_records} records did not fit the fields"));
        }
        io.log(LogLevel::Info, summary);

        // The new watermark is stored once the whole run succeeded, after the commits.
        if let Some(w) = watermark {
            let moved = match (&w.newest, &w.from) {
                (Some(n), Some(f)) => compare(n, f) == Some(Ordering::Greater),
                (Some(_), None) => true,
                _ => false,
            };
            if !moved {
                w.store.close().await;
                return Ok(());
            }
            let value = w.newest.expect("moved implies a value");
            finish::store_watermark_on_success(io, w.store, w.key, Watermark { column: w.field, value });
        }
        Ok(())
    }
}
