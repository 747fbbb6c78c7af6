//! The example `flows-examples/webhook-ticket-status` as a listener: signed ticket updates
//! are sent to it over HTTP, and a stand-in notification endpoint served on 127.0.0.1 by
//! the test must receive one POST per real status change (the golden test runs the same
//! flow without a listener, on its samples).

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value as J};
use sha2::Sha256;
use sluice::webhook::{start_listener, BatchLimits, ListenerOptions};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "example-secret-for-tests";

fn setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::env::set_var("TICKET_WEBHOOK_SECRET", SECRET);
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Notifications received: (Idempotency-Key, body).
type Received = Arc<Mutex<Vec<(String, J)>>>;

async fn notify_server(received: Received) -> String {
    let app = axum::Router::new().route(
        "/notify",
        post(move |headers: HeaderMap, body: axum::Json<J>| {
            let received = received.clone();
            async move {
                let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                received.lock().unwrap().push((key, body.0));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(tcp, app).await.unwrap() });
    format!("http://{addr}/notify")
}

fn ticket(id: i64, status: &str, previous: &str, priority: &str) -> String {
    json!({"ticket": {
        "id": id, "subject": "Refund not received", "status": status, "previous_status": previous,
        "priority": priority, "assignee": "li.na@example.com", "updated_at": "2024-03-11T09:15:02+08:00"
    }})
    .to_string()
}

/// Sends a body signed the way Zendesk signs webhooks: base64 HMAC-SHA256 of timestamp + body.
async fn send(client: &reqwest::Client, url: &str, body: String) -> reqwest::Response {
    let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(body.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    client
        .post(url)
        .header("content-type", "application/json")
        .header("X-Zendesk-Webhook-Signature", sig)
        .header("X-Zendesk-Webhook-Signature-Timestamp", ts)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn copy_example(to: &Path) -> std::path::PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("flows-examples/webhook-ticket-status");
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    to.join("ticket-status.flow.json")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_status_change_sent_to_the_listener_is_notified() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    let flow = copy_example(dir.path());
    let received = Received::default();
    let notify_url = notify_server(received.clone()).await;

    let mut options = ListenerOptions::new(&flow, dir.path().join("state"));
    options.bind = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    options.params.insert("notify_url".into(), notify_url);
    options.batch = BatchLimits { max_events: 100, max_wait: Duration::from_millis(20) };
    let listener = start_listener(options).await.unwrap_or_else(|e| panic!("{e}"));
    let url = &listener.endpoints()[0].url;
    assert!(url.ends_with("/hooks/ticket-status"), "{url}");
    let client = reqwest::Client::new();

    let solved = send(&client, url, ticket(20240311, "solved", "open", "urgent")).await;
    assert_eq!(solved.status(), StatusCode::ACCEPTED);
    let solved_id = solved.json::<J>().await.unwrap()["event_id"].as_str().unwrap().to_string();
    // A comment on a ticket: the status stays as it was, so nobody is notified.
    let comment = send(&client, url, ticket(20240312, "open", "open", "normal")).await;
    assert_eq!(comment.status(), StatusCode::ACCEPTED);

    for _ in 0..1200 {
        if listener.stats().events_delivered == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(listener.stats().events_delivered, 2, "both events were run");
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one notification: {got:?}");
    let (key, body) = &got[0];
    assert_eq!(body["text"], "Ticket #20240311 (Refund not received): open → solved [URGENT]");
    assert_eq!(body["ticket_id"], 20240311);
    assert_eq!(body["event_id"], solved_id.as_str());
    assert_eq!(key.len(), 64, "an idempotency key from the body's hash");
    let not_notified = std::fs::read_to_string(dir.path().join("out/not_notified.csv")).unwrap_or_default();
    assert!(not_notified.lines().count() <= 1, "nothing failed to notify: {not_notified}");

    let stopped = listener.shutdown().await;
    assert_eq!(stopped.still_queued, Some(0));
}
