//! `webhook_source`: events other systems push over HTTP (a ticket changed status, a chat
//! ended), as rows.
//!
//! The node says what to accept — the path, the methods, how callers prove who they are,
//! the largest body — and how a request's body becomes rows: declared fields read by path
//! (like `http_source`), or each record whole as one JSON field, plus the event's id and
//! the time it was received. The receiving itself is `sluice listen` ([`crate::webhook`]):
//! it answers each request once the event is stored in a durable queue, and runs the flow
//! on micro-batches of queued events, this node emitting those events.
//!
//! Under `sluice run`, preview and the designer there is no request to receive: the node
//! emits its `samples` (example bodies) instead, so the rest of the flow can be tried.
//!
//! Left out: TLS (put a reverse proxy in front), multipart and XML bodies, and answering
//! with data computed by the flow (the answer is given before the flow runs).

use crate::connectors::http::records::{RecordDecoder, RecordField};
use crate::exec::{BlockingNode, LogLevel, NodeError, NodeIo, RowError};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{Batch, Row};
use crate::webhook::auth::{WebhookAuth, WebhookAuthKind};
use crate::webhook::event::{parse_records, records_path, BodyFormat, EventDecoder, EventFields, HeaderField, StoredFormat, WebhookEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Receives webhook requests (with `sluice listen`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSourceConfig {
    /// The path requests are sent to, e.g. `/hooks/tickets`. `sluice listen` prints the
    /// full address at start.
    pub path: String,
    /// The HTTP methods accepted; others are answered 405.
    #[serde(default = "default_methods")]
    pub methods: Vec<WebhookMethod>,
    /// How callers prove they may send events: a shared token or an HMAC signature.
    /// Requests that fail are answered 401, logged without their body, and never reach
    /// the flow.
    pub auth: WebhookAuth,
    /// The largest body accepted, in bytes; a larger request is answered 413.
    #[serde(default = "default_max_body_bytes")]
    #[schemars(range(min = 1, max = 67108864))]
    pub max_body_bytes: u64,
    /// How bodies are read: `auto` (by the request's Content-Type: form-urlencoded as a
    /// form, anything else as JSON), `json` or `form`. A JSON body is an object or an
    /// array of objects, each a record; a form is one record of text values.
    #[serde(default)]
    pub format: BodyFormat,
    /// Where the records sit in a JSON body, as keys separated by dots: `events` reads
    /// `{"events": [...]}`. Empty: the body itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_path: Option<String>,
    /// The output fields: name, type and where each sits in a record (`ticket.id`). A
    /// record whose values do not fit leaves by `error`. Empty: each record whole, as one
    /// JSON field (see `body_field`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<RecordField>,
    /// A JSON field holding each record whole: with `fields`, in addition to them; without,
    /// the only record field (default name `body`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_field: Option<String>,
    /// Request headers kept as text fields, e.g. `{"name": "event_type", "header":
    /// "X-GitHub-Event"}`. The header carrying a token cannot be kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderField>,
    /// Example JSON bodies emitted by `sluice run`, preview and the designer, where no
    /// request is received; `sluice listen` ignores them. Each gets the event id
    /// `sample-N`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<serde_json::Value>,
}

/// An HTTP method a webhook may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum WebhookMethod {
    Post,
    Put,
    Patch,
}

impl WebhookMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookMethod::Post => "POST",
            WebhookMethod::Put => "PUT",
            WebhookMethod::Patch => "PATCH",
        }
    }
}

fn default_methods() -> Vec<WebhookMethod> {
    vec![WebhookMethod::Post]
}

fn default_max_body_bytes() -> u64 {
    1024 * 1024
}

impl WebhookSourceConfig {
    /// How this node's events become rows.
    pub fn event_fields(&self) -> Result<EventFields, ConfigProblem> {
        Ok(EventFields {
            fields: self.fields.clone(),
            body_field: self.body_field.clone(),
            headers: self.headers.clone(),
            records_path: records_path(self.records_path.as_deref()).map_err(|e| ConfigProblem::new("records_path", e))?,
        })
    }

    pub fn decoder(&self) -> Result<EventDecoder, ConfigProblem> {
        EventDecoder::new(self.event_fields()?).map_err(|(f, m)| ConfigProblem::new(f, m))
    }
}

/// Problems with a webhook path, as a message. Only plain characters are allowed, so a
/// path can never be taken for a route pattern (`{id}`, `*rest`) or need escaping.
pub fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("{path:?} must start with '/', e.g. /hooks/tickets"));
    }
    if let Some(c) = path.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '~'))) {
        return Err(format!("{path:?} holds {c:?}; use letters, digits, '-', '_', '.' and '/' as in /hooks/tickets"));
    }
    if path.contains("//") {
        return Err(format!("{path:?} has an empty segment"));
    }
    Ok(())
}

pub struct WebhookSource;

impl NodeKind for WebhookSource {
    type Config = WebhookSourceConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "webhook_source",
            category: Category::Source,
            title: "Receive webhooks",
            description: "Events other systems push over HTTP (a ticket changed, a chat ended): checks a shared token or HMAC signature, keeps each request in a durable queue and runs the flow on small batches of events with `sluice listen`. Elsewhere it emits its sample bodies.",
            keywords: &["webhook", "http", "push", "event", "callback", "trigger", "listen", "hmac", "signature", "zendesk", "github", "realtime"],
            icon: "webhook",
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, _inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if let Err(m) = check_path(&config.path) {
            problems.push(ConfigProblem::new("path", m));
        }
        if config.methods.is_empty() {
            problems.push(ConfigProblem::new("methods", "no method accepted").hint("e.g. [\"POST\"]"));
        }
        let mut seen_methods = Vec::new();
        for (i, m) in config.methods.iter().enumerate() {
            if seen_methods.contains(m) {
                problems.push(ConfigProblem::new(format!("methods/{i}"), format!("{} is listed twice", m.as_str())));
            }
            seen_methods.push(*m);
        }
        problems.extend(config.auth.check());
        let spec = match config.event_fields() {
            Ok(s) => Some(s),
            Err(p) => {
                problems.push(p);
                None
            }
        };
        if let Err((field, msg)) = RecordDecoder::declared(&config.fields) {
            problems.push(ConfigProblem::new(field, msg));
        }
        if config.body_field.as_deref().is_some_and(|b| b.trim().is_empty()) {
            problems.push(ConfigProblem::new("body_field", "the field name is empty"));
        }
        let token_header = match config.auth.kind {
            WebhookAuthKind::Token => config.auth.credential_header(),
            WebhookAuthKind::Hmac => None,
        };
        for (i, h) in config.headers.iter().enumerate() {
            if axum::http::HeaderName::from_bytes(h.header.as_bytes()).is_err() {
                problems.push(ConfigProblem::new(format!("headers/{i}/header"), format!("{:?} is not a valid header name", h.header)));
            }
            if token_header.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(&h.header)) {
                problems.push(ConfigProblem::new(format!("headers/{i}/header"), format!("{} carries the secret token; it is never kept", h.header)));
            }
        }
        if let Some(spec) = &spec {
            let mut first: HashMap<String, String> = HashMap::new();
            for (name, at) in spec.names() {
                if name.trim().is_empty() {
                    continue;
                }
                if let Some(prev) = first.get(&name) {
                    let at = if at.is_empty() { prev.clone() } else { at };
                    let mut p = ConfigProblem::new(at, format!("field '{name}' is produced twice"));
                    if name == crate::webhook::event::EVENT_ID_FIELD || name == crate::webhook::event::RECEIVED_AT_FIELD {
                        p = p.hint(format!("'{name}' is added to every row by the node; name the record's value differently"));
                    }
                    problems.push(p);
                } else {
                    first.insert(name, at);
                }
            }
            for (i, sample) in config.samples.iter().enumerate() {
                let body = serde_json::to_vec(sample).expect("JSON serialises");
                if let Err(m) = parse_records(&body, StoredFormat::Json, &spec.records_path) {
                    problems.push(ConfigProblem::new(format!("samples/{i}"), m));
                }
            }
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, _inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        match config.decoder() {
            Ok(d) => Ok(PortSchemas::from([("out".to_string(), d.schema().clone())])),
            Err(_) => Ok(PortSchemas::new()),
        }
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let now = chrono::Utc::now();
        let events = config
            .samples
            .iter()
            .enumerate()
            .map(|(i, s)| WebhookEvent {
                seq: 0,
                event_id: format!("sample-{}", i + 1),
                node_id: String::new(),
                received_at: now,
                format: StoredFormat::Json,
                body: serde_json::to_vec(s).expect("JSON serialises"),
                headers: Default::default(),
            })
            .collect();
        events_task(&config, events, EventOrigin::Samples)
    }
}

/// Where a run's events come from, for its log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOrigin {
    /// The config's `samples` (no listener).
    Samples,
    /// Requests taken from the listener's queue.
    Queue,
}

/// The running node: emits the given events' records. Used with samples here and with
/// queued events by the listener.
pub fn events_task(config: &WebhookSourceConfig, events: Vec<WebhookEvent>, origin: EventOrigin) -> Result<NodeTask, ConfigProblem> {
    Ok(NodeTask::Blocking(Box::new(WebhookEventsTask { decoder: config.decoder()?, events, origin })))
}

struct WebhookEventsTask {
    decoder: EventDecoder,
    events: Vec<WebhookEvent>,
    origin: EventOrigin,
}

impl BlockingNode for WebhookEventsTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let schema = self.decoder.schema().clone();
        let size = io.batch_size();
        let mut rows: Vec<Row> = Vec::with_capacity(size.min(1024));
        let mut errors: Vec<RowError> = Vec::new();
        let (mut records, mut bad) = (0u64, 0u64);
        for event in &self.events {
            io.check_cancelled()?;
            io.add_bytes(event.body.len() as u64);
            for rec in self.decoder.decode(event) {
                match rec {
                    Ok(row) => {
                        records += 1;
                        rows.push(row);
                        if rows.len() >= size {
                            io.send("out", Batch::new(schema.clone(), std::mem::take(&mut rows)))?;
                        }
                    }
                    Err(b) => {
                        bad += 1;
                        let mut e = RowError::new(b.message, b.row).raw(b.raw);
                        if let Some(f) = b.field {
                            e = e.field(f);
                        }
                        errors.push(e);
                    }
                }
            }
        }
        if !rows.is_empty() {
            io.send("out", Batch::new(schema.clone(), rows))?;
        }
        if !errors.is_empty() {
            io.send_errors(&schema, errors)?;
        }
        let what = match self.origin {
            EventOrigin::Samples if self.events.is_empty() => {
                "no samples: this node receives requests under `sluice listen`, and emits its samples elsewhere".to_string()
            }
            EventOrigin::Samples => format!("{} sample events: {records} records", self.events.len()),
            EventOrigin::Queue => format!("{} events: {records} records", self.events.len()),
        };
        let what = if bad > 0 { format!("{what}; {bad} did not fit the fields") } else { what };
        io.log(LogLevel::Info, what);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodes::DynNodeKind;
    use serde_json::json;

    fn kind() -> &'static dyn DynNodeKind {
        crate::nodes::registry().get("webhook_source").unwrap()
    }

    fn fields(problems: Vec<ConfigProblem>) -> Vec<String> {
        problems.into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn a_config_with_every_mistake_reports_each() {
        let config = json!({
            "path": "hooks/{id}",
            "methods": ["POST", "POST"],
            "auth": {"type": "token", "secret_env": "HOOK_SECRET", "header": "X-Token"},
            "fields": [{"name": "event_id", "path": "id", "type": "string"}],
            "headers": [{"name": "tok", "header": "x-token"}],
            "samples": [5]
        });
        let got = fields(kind().check(&config, &NodeContext::default(), &PortSchemas::new()));
        assert_eq!(got, vec!["path", "methods/1", "headers/0/header", "fields/0/name", "samples/0"]);
    }

    #[test]
    fn paths_are_plain() {
        assert!(check_path("/hooks/tickets-v2/zendesk_1.0").is_ok());
        for bad in ["hooks", "/hooks/:id", "/hooks/{id}", "/hooks/*", "/hooks//x", "/hooks/a b", "/hooks?x=1", "/工单"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn output_fields_are_known_at_design_time() {
        let config = json!({
            "path": "/hooks/tickets",
            "auth": {"type": "hmac", "secret_env": "HOOK_SECRET"},
            "fields": [{"name": "ticket_id", "type": "int"}, {"name": "status", "type": "string"}],
            "headers": [{"name": "event_type", "header": "X-Event"}]
        });
        assert!(kind().check(&config, &NodeContext::default(), &PortSchemas::new()).is_empty());
        let out = kind().output_schemas(&config, &NodeContext::default(), &PortSchemas::new()).unwrap();
        let names: Vec<&str> = out["out"].names().collect();
        assert_eq!(names, vec!["ticket_id", "status", "event_type", "event_id", "received_at"]);
    }
}
