//! The HTTP side of a listener: one route per `webhook_source` node. A request is checked
//! in the order that costs least — method (405), token (401), declared length (413), body
//! read up to the limit (413), signature (401), body shape (400) — then stored in the
//! queue, and answered 202 with its event id only once the queue's commit is on disk. A
//! queue that cannot store it answers 503, so the sender keeps the event and tries again.
//!
//! Every rejection is counted and logged (target `sluice::webhook`) with the node, the
//! status and the reason — never the secret, the token sent, the query string or the
//! body. The router is plain axum, so another server (`sluice serve`) could mount it.

use super::auth::{Rejection, Verifier};
use super::event::{new_event_id, parse_records, WebhookEvent};
use super::queue::{EventQueue, Pushed};
use super::{Counters, ListenerEvent};
use crate::nodes::sources::webhook::WebhookSourceConfig;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use futures::StreamExt;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use tokio::sync::{broadcast, Notify};

/// One `webhook_source` node, ready to take requests.
pub struct Endpoint {
    pub node_id: String,
    pub config: WebhookSourceConfig,
    pub verifier: Verifier,
    pub records_path: Vec<String>,
}

/// What every route shares: the queue, the counters, and the worker's doorbell.
pub struct Receiver {
    pub endpoints: Vec<Arc<Endpoint>>,
    pub queue: EventQueue,
    pub counters: Arc<Counters>,
    /// Rung after each stored event.
    pub wake: Arc<Notify>,
    /// Events stored since the worker last took a batch.
    pub arrived: Arc<AtomicUsize>,
    pub events: broadcast::Sender<ListenerEvent>,
}

impl Receiver {
    /// The routes, one per endpoint path.
    pub fn router(self: &Arc<Self>) -> Router {
        let mut router = Router::new();
        for ep in &self.endpoints {
            let (receiver, ep) = (self.clone(), ep.clone());
            router = router.route(&ep.config.path.clone(), any(move |req: Request<Body>| receive(receiver.clone(), ep.clone(), req)));
        }
        router
    }

    fn reject(&self, ep: &Endpoint, status: StatusCode, reason: String, remote: Option<SocketAddr>) -> Response {
        let counter = match status {
            StatusCode::UNAUTHORIZED => &self.counters.rejected_auth,
            StatusCode::PAYLOAD_TOO_LARGE => &self.counters.rejected_too_large,
            StatusCode::METHOD_NOT_ALLOWED => &self.counters.rejected_method,
            StatusCode::SERVICE_UNAVAILABLE => &self.counters.not_stored,
            _ => &self.counters.rejected_body,
        };
        counter.fetch_add(1, Relaxed);
        let remote_text = remote.map(|r| r.to_string()).unwrap_or_default();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(target: "sluice::webhook", node = %ep.node_id, path = %ep.config.path, status = status.as_u16(), remote = %remote_text, "{reason}");
        } else {
            tracing::warn!(target: "sluice::webhook", node = %ep.node_id, path = %ep.config.path, status = status.as_u16(), remote = %remote_text, "rejected: {reason}");
        }
        let _ = self.events.send(ListenerEvent::Rejected { node_id: ep.node_id.clone(), status: status.as_u16(), reason: reason.clone(), remote });
        let mut res = (status, Json(json!({ "error": reason }))).into_response();
        if status == StatusCode::METHOD_NOT_ALLOWED {
            let allow: Vec<&str> = ep.config.methods.iter().map(|m| m.as_str()).collect();
            if let Ok(v) = header::HeaderValue::from_str(&allow.join(", ")) {
                res.headers_mut().insert(header::ALLOW, v);
            }
        }
        res
    }
}

impl Endpoint {
    fn allows(&self, method: &Method) -> bool {
        self.config.methods.iter().any(|m| m.as_str() == method.as_str())
    }
}

async fn receive(rx: Arc<Receiver>, ep: Arc<Endpoint>, req: Request<Body>) -> Response {
    let remote = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let (parts, body) = req.into_parts();
    if !ep.allows(&parts.method) {
        return rx.reject(&ep, StatusCode::METHOD_NOT_ALLOWED, format!("method {} is not accepted here", parts.method), remote);
    }
    if !ep.verifier.needs_body() {
        if let Err(Rejection(reason)) = ep.verifier.verify_token(&parts.headers, parts.uri.query()) {
            return rx.reject(&ep, StatusCode::UNAUTHORIZED, reason, remote);
        }
    }
    let limit = ep.config.max_body_bytes;
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return rx.reject(&ep, StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than {limit} bytes (max_body_bytes)"), remote);
    }
    let bytes = match tokio::time::timeout(BODY_READ_TIMEOUT, read_body(body, limit)).await.unwrap_or(Err(BodyError::Slow)) {
        Ok(b) => b,
        Err(BodyError::Slow) => {
            return rx.reject(&ep, StatusCode::REQUEST_TIMEOUT, format!("the body took longer than {}s to arrive", BODY_READ_TIMEOUT.as_secs()), remote)
        }
        Err(BodyError::TooLarge) => {
            return rx.reject(&ep, StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than {limit} bytes (max_body_bytes)"), remote)
        }
        Err(BodyError::Broken(e)) => return rx.reject(&ep, StatusCode::BAD_REQUEST, format!("the body could not be read: {e}"), remote),
    };
    let now = chrono::Utc::now();
    let replay = if ep.verifier.needs_body() {
        match ep.verifier.verify_signature(&parts.headers, &bytes, now.timestamp()) {
            Ok(r) => r,
            Err(Rejection(reason)) => return rx.reject(&ep, StatusCode::UNAUTHORIZED, reason, remote),
        }
    } else {
        None
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let format = ep.config.format.of_request(content_type);
    let records = match parse_records(&bytes, format, &ep.records_path) {
        Ok(r) => r.len(),
        Err(message) => return rx.reject(&ep, StatusCode::BAD_REQUEST, message, remote),
    };
    let event = WebhookEvent {
        seq: 0,
        event_id: new_event_id(now),
        node_id: ep.node_id.clone(),
        received_at: now,
        format,
        body: bytes.to_vec(),
        headers: captured_headers(&ep, &parts.headers),
    };
    match rx.queue.push(&event, replay.as_ref()).await {
        Ok(Pushed::Queued) => {
            rx.counters.accepted.fetch_add(1, Relaxed);
            rx.arrived.fetch_add(1, Relaxed);
            rx.wake.notify_one();
            tracing::info!(target: "sluice::webhook", node = %ep.node_id, event_id = %event.event_id, records, bytes = bytes.len(), "event queued");
            let _ = rx.events.send(ListenerEvent::Accepted { node_id: ep.node_id.clone(), event_id: event.event_id.clone(), records, duplicate: false });
            (StatusCode::ACCEPTED, Json(json!({ "event_id": event.event_id, "records": records }))).into_response()
        }
        Ok(Pushed::Duplicate { event_id }) => {
            rx.counters.duplicates.fetch_add(1, Relaxed);
            tracing::info!(target: "sluice::webhook", node = %ep.node_id, event_id = %event_id, "the same signed request again: not queued twice");
            let _ = rx.events.send(ListenerEvent::Accepted { node_id: ep.node_id.clone(), event_id: event_id.clone(), records, duplicate: true });
            (StatusCode::ACCEPTED, Json(json!({ "event_id": event_id, "records": records, "duplicate": true }))).into_response()
        }
        Err(e) => rx.reject(&ep, StatusCode::SERVICE_UNAVAILABLE, format!("the event could not be stored ({e}); send it again"), remote),
    }
}

fn captured_headers(ep: &Endpoint, headers: &HeaderMap) -> std::collections::BTreeMap<String, String> {
    ep.config
        .headers
        .iter()
        .filter_map(|h| {
            let v = headers.get(h.header.as_str())?;
            Some((h.name.clone(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        })
        .collect()
}

/// How long a sender may take to send its body: a slow or stalled one must not hold a
/// connection (and a clean stop) forever.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

enum BodyError {
    TooLarge,
    Slow,
    Broken(String),
}

/// Reads a body, giving up as soon as it passes `limit` bytes.
async fn read_body(body: Body, limit: u64) -> Result<Vec<u8>, BodyError> {
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Broken(e.to_string()))?;
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(BodyError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
