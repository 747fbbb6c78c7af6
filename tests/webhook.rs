//! `sluice listen` with a real server: each test starts a listener in-process on
//! 127.0.0.1 port 0 (`sluice::webhook::start_listener`), sends real HTTP requests with
//! reqwest, and looks at what the flow wrote. No mocks: the listener's queue is its SQLite
//! file, the flows' sinks write real CSV files and SQLite tables.

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value as J};
use sha2::Sha256;
use sluice::webhook::{start_listener, BatchLimits, HistoryMode, ListenError, Listener, ListenerOptions, RetryDelays};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SECRET: &str = "s3cret-for-webhook-tests";
const SECRET_VAR: &str = "SLUICE_WEBHOOK_TEST_SECRET";

/// Sets the secret's variable once, before any test reads the environment, and gives
/// reqwest (built with `rustls-no-provider` by the engine's features) its crypto provider.
fn setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::env::set_var(SECRET_VAR, SECRET);
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// GitHub-style signatures: `X-Hub-Signature-256: sha256=<hex>`.
fn hmac_auth() -> J {
    json!({"type": "hmac", "secret": format!("${{env:{SECRET_VAR}}}"), "header": "X-Hub-Signature-256", "prefix": "sha256="})
}

fn ticket_fields() -> J {
    json!([
        {"name": "ticket_id", "path": "ticket.id", "type": "int"},
        {"name": "status", "type": "string"}
    ])
}

/// A flow `hook` (webhook_source with `hook`) → `sink` (`sink_kind` with `sink`), written
/// into `dir`.
fn write_flow(dir: &Path, hook: J, sink_kind: &str, sink: J) -> PathBuf {
    let flow = json!({
        "version": 1,
        "name": "webhook test",
        "nodes": [
            {"id": "hook", "kind": "webhook_source", "config": hook},
            {"id": "sink", "kind": sink_kind, "config": sink}
        ],
        "edges": [{"from": "hook", "from_port": "out", "to": "sink", "to_port": "in"}]
    });
    let path = dir.join("hook.flow.json");
    std::fs::write(&path, serde_json::to_string_pretty(&flow).unwrap()).unwrap();
    path
}

fn csv_sink() -> J {
    json!({"path": "out/events.csv", "if_exists": "append"})
}

fn options(flow: &Path, state_dir: &Path) -> ListenerOptions {
    let mut o = ListenerOptions::new(flow, state_dir);
    o.bind = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    o.batch = BatchLimits { max_events: 50, max_wait: Duration::from_millis(20) };
    o.retry = RetryDelays { first: Duration::from_millis(50), max: Duration::from_millis(200) };
    o.history = HistoryMode::All;
    o
}

async fn listen(flow: &Path, state_dir: &Path) -> Listener {
    start_listener(options(flow, state_dir)).await.unwrap_or_else(|e| panic!("the listener did not start: {e}"))
}

fn url(l: &Listener, path: &str) -> String {
    format!("http://{}{path}", l.local_addr())
}

async fn post_signed(client: &reqwest::Client, url: &str, body: &str) -> (StatusCode, J) {
    let res = client
        .post(url)
        .header("content-type", "application/json")
        .header("X-Hub-Signature-256", sign(body.as_bytes()))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(J::Null))
}

/// Waits (up to a minute, polling) until `done` holds; panics saying what was awaited.
async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting for {what}");
}

/// Data lines of a CSV (without its header), or none when it is not written yet.
fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let Ok(text) = std::fs::read_to_string(path) else { return vec![] };
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    rdr.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
}

fn count_of(rows: &[Vec<String>], event_id: &str) -> usize {
    rows.iter().filter(|r| r.iter().any(|v| v == event_id)).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_event_is_answered_202_and_its_row_reaches_the_sink() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let flow = write_flow(dir.path(), json!({"path": "/hooks/tickets", "auth": hmac_auth(), "fields": ticket_fields()}), "csv_sink", csv_sink());
    let listener = listen(&flow, &dir.path().join("state")).await;
    assert_eq!(listener.endpoints()[0].url, url(&listener, "/hooks/tickets"));
    let client = reqwest::Client::new();

    let (status, answer) = post_signed(&client, &url(&listener, "/hooks/tickets"), r#"{"ticket": {"id": 7}, "status": "solved"}"#).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(answer["records"], 1);
    let event_id = answer["event_id"].as_str().unwrap().to_string();

    // An array body is one event of several records.
    let (status, answer) =
        post_signed(&client, &url(&listener, "/hooks/tickets"), r#"[{"ticket": {"id": 8}, "status": "open"}, {"ticket": {"id": 9}, "status": "pending"}]"#)
            .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(answer["records"], 2);
    let second = answer["event_id"].as_str().unwrap().to_string();

    let out = dir.path().join("out/events.csv");
    wait_for("three rows in out/events.csv", || csv_rows(&out).len() == 3).await;
    let header = std::fs::read_to_string(&out).unwrap().lines().next().unwrap().to_string();
    assert_eq!(header, "ticket_id,status,event_id,received_at");
    let rows = csv_rows(&out);
    let first = rows.iter().find(|r| r[2] == event_id).unwrap();
    assert_eq!(&first[..2], ["7", "solved"]);
    assert_eq!(count_of(&rows, &second), 2);
    wait_for("the queue to empty", || listener.stats().events_delivered == 2).await;
    assert!(listener.queued().await.unwrap().is_empty());

    let stopped = listener.shutdown().await;
    assert_eq!(stopped.stats.accepted, 2);
    assert_eq!(stopped.still_queued, Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_refused_and_never_reach_the_flow() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let hook = json!({"path": "/hooks/tickets", "auth": hmac_auth(), "fields": ticket_fields(), "max_body_bytes": 1024});
    let flow = write_flow(dir.path(), hook, "csv_sink", csv_sink());
    let listener = listen(&flow, &dir.path().join("state")).await;
    let client = reqwest::Client::new();
    let to = url(&listener, "/hooks/tickets");

    // Signed with another secret.
    let body = r#"{"ticket": {"id": 1}, "status": "forged"}"#;
    let mut mac = Hmac::<Sha256>::new_from_slice(b"not the secret").unwrap();
    mac.update(body.as_bytes());
    let forged = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let res = client.post(&to).header("X-Hub-Signature-256", forged).body(body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let answer: J = res.json().await.unwrap();
    assert!(answer["error"].as_str().unwrap().contains("does not match"), "{answer}");

    // No signature at all.
    let res = client.post(&to).body(body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Too large, declared and signed: refused before it is read.
    let big = format!(r#"{{"ticket": {{"id": 2}}, "status": "{}"}}"#, "x".repeat(4000));
    let (status, answer) = post_signed(&client, &to, &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(answer["error"].as_str().unwrap().contains("larger than 1024 bytes"), "{answer}");

    // Signed but not JSON: a clear message, naming where it broke.
    let (status, answer) = post_signed(&client, &to, r#"{"ticket": {"id": 3}, "status": }"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = answer["error"].as_str().unwrap();
    assert!(message.starts_with("the body is not valid JSON") && message.contains("line 1 column"), "{message}");
    let (status, answer) = post_signed(&client, &to, "[1, 2]").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"], "record 1 of the body is a number, not an object");

    // Another method, another path.
    let res = client.get(&to).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], "POST");
    assert_eq!(client.post(url(&listener, "/hooks/other")).body("{}").send().await.unwrap().status(), StatusCode::NOT_FOUND);

    // One good event after all that: it is the only row written.
    let (status, answer) = post_signed(&client, &to, r#"{"ticket": {"id": 4}, "status": "open"}"#).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let out = dir.path().join("out/events.csv");
    wait_for("the good event's row", || !csv_rows(&out).is_empty()).await;
    wait_for("the batch to be counted", || listener.stats().events_delivered == 1).await;
    let rows = csv_rows(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][2], answer["event_id"].as_str().unwrap());

    let stats = listener.shutdown().await.stats;
    assert_eq!((stats.accepted, stats.rejected_auth, stats.rejected_too_large, stats.rejected_body, stats.rejected_method), (1, 2, 1, 2, 1));
    assert_eq!(stats.batches_failed, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_in_the_query_and_a_form_body_give_typed_fields_and_headers() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let hook = json!({
        "path": "/hooks/form",
        "auth": {"type": "token", "secret_env": SECRET_VAR, "query": "key"},
        "fields": [{"name": "ticket_id", "type": "int"}, {"name": "tags", "path": "tag", "type": "json"}],
        "body_field": "raw",
        "headers": [{"name": "event_type", "header": "X-Event-Type"}]
    });
    let flow = write_flow(dir.path(), hook, "csv_sink", csv_sink());
    let listener = listen(&flow, &dir.path().join("state")).await;
    let client = reqwest::Client::new();

    let res = client
        .post(format!("{}?key={SECRET}", url(&listener, "/hooks/form")))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Event-Type", "ticket.solved")
        .body("ticket_id=42&tag=vip&tag=refund")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let event_id = res.json::<J>().await.unwrap()["event_id"].as_str().unwrap().to_string();
    let wrong = client.post(format!("{}?key=guess", url(&listener, "/hooks/form"))).body("ticket_id=1").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let out = dir.path().join("out/events.csv");
    wait_for("the form's row", || !csv_rows(&out).is_empty()).await;
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().next().unwrap(), "ticket_id,tags,raw,event_type,event_id,received_at");
    let row = &csv_rows(&out)[0];
    assert_eq!(row[0], "42");
    assert_eq!(serde_json::from_str::<J>(&row[1]).unwrap(), json!(["vip", "refund"]));
    assert_eq!(serde_json::from_str::<J>(&row[2]).unwrap()["ticket_id"], "42");
    assert_eq!(row[3], "ticket.solved");
    assert_eq!(row[4], event_id);
    listener.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_signed_request_is_taken_once_and_an_old_one_is_refused() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    // Zendesk style: base64 signature of timestamp + body.
    let hook = json!({
        "path": "/hooks/zendesk",
        "auth": {
            "type": "hmac", "secret_env": SECRET_VAR, "encoding": "base64",
            "header": "X-Zendesk-Webhook-Signature", "timestamp_header": "X-Zendesk-Webhook-Signature-Timestamp",
            "tolerance_seconds": 300
        },
        "fields": ticket_fields()
    });
    let flow = write_flow(dir.path(), hook, "csv_sink", csv_sink());
    let listener = listen(&flow, &dir.path().join("state")).await;
    let client = reqwest::Client::new();
    let to = url(&listener, "/hooks/zendesk");
    let body = r#"{"ticket": {"id": 11}, "status": "solved"}"#;
    let send = |ts: String| {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(ts.as_bytes());
        mac.update(body.as_bytes());
        use base64::Engine;
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        client
            .post(&to)
            .header("X-Zendesk-Webhook-Signature", sig)
            .header("X-Zendesk-Webhook-Signature-Timestamp", ts)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let first = send(now.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: J = first.json().await.unwrap();
    let again = send(now).await.unwrap();
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let again: J = again.json().await.unwrap();
    assert_eq!(again["event_id"], first["event_id"]);
    assert_eq!(again["duplicate"], true);
    let old = (chrono::Utc::now() - chrono::Duration::minutes(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let stale = send(old).await.unwrap();
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    assert!(stale.json::<J>().await.unwrap()["error"].as_str().unwrap().contains("replayed"));

    wait_for("the event's delivery", || listener.stats().events_delivered == 1).await;
    let rows = csv_rows(&dir.path().join("out/events.csv"));
    assert_eq!(rows.len(), 1);
    let stats = listener.shutdown().await.stats;
    assert_eq!((stats.accepted, stats.duplicates, stats.rejected_auth), (1, 1, 1));
}

/// A SQLite sink whose table is dropped after the listener started: runs fail until it is
/// back. (Each test batch is one batch of rows, so it commits all or nothing.)
fn sqlite_sink(db: &Path) -> J {
    json!({"url": format!("sqlite:{}", db.display()), "table": "ticket_events"})
}

async fn sqlite(db: &Path, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}?mode=rwc", db.display())).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

async fn event_ids_in(db: &Path) -> Vec<String> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display())).await.unwrap();
    let ids: Vec<String> = sqlx::query_scalar("SELECT event_id FROM ticket_events ORDER BY event_id").fetch_all(&mut conn).await.unwrap_or_default();
    conn.close().await.unwrap();
    ids
}

const CREATE_TABLE: &str = "CREATE TABLE ticket_events (ticket_id INTEGER, status TEXT, event_id TEXT, received_at TEXT)";

#[tokio::test(flavor = "multi_thread")]
async fn events_queued_while_the_sink_fails_are_retried_and_delivered_exactly_once() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db");
    sqlite(&db, CREATE_TABLE).await;
    let flow = write_flow(dir.path(), json!({"path": "/hooks/tickets", "auth": hmac_auth(), "fields": ticket_fields()}), "sql_sink", sqlite_sink(&db));
    let listener = listen(&flow, &dir.path().join("state")).await;
    sqlite(&db, "DROP TABLE ticket_events").await;

    let client = reqwest::Client::new();
    let mut sent = Vec::new();
    for i in 0..5 {
        let (status, answer) = post_signed(&client, &url(&listener, "/hooks/tickets"), &format!(r#"{{"ticket": {{"id": {i}}}, "status": "open"}}"#)).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        sent.push(answer["event_id"].as_str().unwrap().to_string());
    }
    wait_for("two failed batches", || listener.stats().batches_failed >= 2).await;
    let queued: u64 = listener.queued().await.unwrap().iter().map(|b| b.events).sum();
    assert_eq!(queued, 5, "failed runs keep their events");
    assert_eq!(listener.stats().events_delivered, 0);

    sqlite(&db, CREATE_TABLE).await;
    wait_for("every event delivered", || listener.stats().events_delivered == 5).await;
    sent.sort();
    assert_eq!(event_ids_in(&db).await, sent, "each event exactly once");
    assert!(listener.queued().await.unwrap().is_empty());

    // The failed attempts are in the run history with their error.
    let stopped = listener.shutdown().await;
    assert!(stopped.stats.batches_failed >= 2);
    let history = sluice::state::StateStore::open(&dir.path().join("state/state.db")).await.unwrap();
    let runs = history.list_runs(None, 100).await.unwrap();
    assert!(runs.iter().any(|r| r.error.as_deref().is_some_and(|e| e.contains("ticket_events"))), "{runs:?}");
    history.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn events_answered_before_a_crash_run_at_the_next_start_exactly_once() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let db = dir.path().join("crm.db");
    sqlite(&db, CREATE_TABLE).await;
    let flow = write_flow(dir.path(), json!({"path": "/hooks/tickets", "auth": hmac_auth(), "fields": ticket_fields()}), "sql_sink", sqlite_sink(&db));
    let first = listen(&flow, &state).await;
    sqlite(&db, "DROP TABLE ticket_events").await;
    let client = reqwest::Client::new();
    let mut sent = Vec::new();
    for i in 0..4 {
        let (status, answer) = post_signed(&client, &url(&first, "/hooks/tickets"), &format!(r#"{{"ticket": {{"id": {i}}}, "status": "new"}}"#)).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        sent.push(answer["event_id"].as_str().unwrap().to_string());
    }
    // A second listener of the same flow is refused while the first holds the queue.
    match start_listener(options(&flow, &state)).await {
        Err(ListenError::Unavailable(m)) => assert!(m.contains("in use by another `sluice listen`"), "{m}"),
        other => panic!("a second listener should be refused, got {:?}", other.map(|l| l.local_addr())),
    }
    // The process dies: nothing drained, nothing finished.
    first.abandon().await;

    sqlite(&db, CREATE_TABLE).await;
    // Planning checks the table, and this process remembers the "no table" answer of the
    // first listener's failed batches for a few seconds (a new process would not).
    let mut second = None;
    for _ in 0..100 {
        match start_listener(options(&flow, &state)).await {
            Ok(l) => {
                second = Some(l);
                break;
            }
            Err(ListenError::InvalidFlow(d)) if d.to_string().contains("has no table") => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(e) => panic!("the listener did not start: {e}"),
        }
    }
    let second = second.expect("the listener starts once the table is back");
    assert_eq!(second.backlog_at_start().iter().map(|b| b.events).sum::<u64>(), 4);
    wait_for("the events left from before", || second.stats().events_delivered == 4).await;
    sent.sort();
    assert_eq!(event_ids_in(&db).await, sent);
    assert!(second.queued().await.unwrap().is_empty());
    second.shutdown().await;

    // A third start finds nothing to do again.
    let third = listen(&flow, &state).await;
    assert!(third.backlog_at_start().is_empty());
    third.shutdown().await;
    assert_eq!(event_ids_in(&db).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn flows_that_cannot_listen_say_why() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    // The secret's variable is read only when listening: run and validate work without it.
    let hook = json!({"path": "/hooks/t", "auth": {"type": "token", "secret_env": "SLUICE_SURELY_UNSET_SECRET"}, "samples": [{"id": 1}]});
    let flow = write_flow(dir.path(), hook, "csv_sink", json!({"path": "out/samples.csv"}));
    match start_listener(options(&flow, &dir.path().join("state"))).await {
        Err(ListenError::Unusable(m)) => assert!(m.contains("node 'hook': environment variable SLUICE_SURELY_UNSET_SECRET"), "{m}"),
        other => panic!("expected Unusable, got {:?}", other.map(|l| l.local_addr())),
    }
    let (f, base) = sluice::flow::load_flow_file(&flow).unwrap();
    let plan = sluice::plan::plan_flow(&f, &base, &Default::default()).unwrap();
    let summary = sluice::exec::start_run(plan, Default::default()).wait().await;
    assert_eq!(summary.status, sluice::exec::RunStatus::Succeeded, "{:?}", summary.error);
    let rows = csv_rows(&dir.path().join("out/samples.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], r#"{"id":1}"#);
    assert_eq!(rows[0][1], "sample-1");

    let plain = dir.path().join("plain.flow.json");
    std::fs::write(
        &plain,
        r#"{"version": 1, "name": "no hook", "nodes": [{"id": "rows", "kind": "inline_rows", "config": {"rows": [{"a": 1}]}}], "edges": []}"#,
    )
    .unwrap();
    match start_listener(options(&plain, &dir.path().join("state"))).await {
        Err(ListenError::Unusable(m)) => assert!(m.contains("has no webhook_source node"), "{m}"),
        other => panic!("expected Unusable, got {:?}", other.map(|l| l.local_addr())),
    }
}

#[test]
fn the_cli_prints_the_address_takes_events_and_stops_on_ctrl_c() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    setup();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    write_flow(dir.path(), json!({"path": "/hooks/tickets", "auth": hmac_auth(), "fields": ticket_fields()}), "csv_sink", csv_sink());
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["listen", "hook.flow.json", "--port", "0", "--batch-wait-ms", "10"])
        .current_dir(dir.path())
        .env("SLUICE_STATE_DIR", dir.path().join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let address = line.trim().strip_prefix("Sluice listening: ").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_string();
    assert!(address.starts_with("http://127.0.0.1:") && address.ends_with("/hooks/tickets"), "{address}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let event_id = rt.block_on(async {
        let client = reqwest::Client::new();
        let (status, answer) = post_signed(&client, &address, r#"{"ticket": {"id": 5}, "status": "closed"}"#).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let bad = client.post(&address).header("X-Hub-Signature-256", "sha256=00").body("{}").send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
        let out = dir.path().join("out/events.csv");
        wait_for("the CLI listener's row", || !csv_rows(&out).is_empty()).await;
        answer["event_id"].as_str().unwrap().to_string()
    });
    assert_eq!(csv_rows(&dir.path().join("out/events.csv"))[0][2], event_id);

    let ok = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&format!("202 hook {event_id} (1 record)")), "{stderr}");
    assert!(stderr.contains("401 hook from 127.0.0.1:"), "{stderr}");
    assert!(stderr.contains("accepted 1 (and 0 repeated), rejected 1 (401: 1"), "{stderr}");
    assert!(stderr.contains("events delivered: 1, still queued for the next start: 0"), "{stderr}");
    assert!(!stderr.contains(SECRET), "the secret must never be printed");
}

#[test]
fn a_listener_killed_after_answering_delivers_at_its_next_start() {
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    setup();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    write_flow(dir.path(), json!({"path": "/hooks/tickets", "auth": hmac_auth(), "fields": ticket_fields()}), "csv_sink", csv_sink());
    let start = |n: u32| -> (Child, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["listen", "hook.flow.json", "--port", "0", "--batch-wait-ms", "10"])
            .current_dir(dir.path())
            .env("SLUICE_STATE_DIR", dir.path().join("state"))
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(dir.path().join(format!("stderr-{n}.txt"))).unwrap()))
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let address = line.trim().strip_prefix("Sluice listening: ").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_string();
        (child, address)
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();

    // A file where the output folder should be: every run fails, the events stay queued.
    let (mut first, address) = start(1);
    std::fs::remove_dir(dir.path().join("out")).unwrap();
    std::fs::write(dir.path().join("out"), "in the way").unwrap();
    let mut sent: Vec<String> = rt.block_on(async {
        let mut ids = Vec::new();
        for i in 0..3 {
            let (status, answer) = post_signed(&client, &address, &format!(r#"{{"ticket": {{"id": {i}}}, "status": "open"}}"#)).await;
            assert_eq!(status, StatusCode::ACCEPTED);
            ids.push(answer["event_id"].as_str().unwrap().to_string());
        }
        ids
    });
    let first_log = dir.path().join("stderr-1.txt");
    rt.block_on(wait_for("a failed run", || std::fs::read_to_string(&first_log).unwrap_or_default().contains("kept in the queue")));
    // SIGKILL: no clean-up of any kind.
    first.kill().unwrap();
    first.wait().unwrap();

    std::fs::remove_file(dir.path().join("out")).unwrap();
    let (mut second, _) = start(2);
    let out = dir.path().join("out/events.csv");
    rt.block_on(wait_for("the events answered before the kill", || csv_rows(&out).len() >= 3));
    let ok = Command::new("kill").args(["-INT", &second.id().to_string()]).status().unwrap();
    assert!(ok.success());
    assert_eq!(second.wait().unwrap().code(), Some(0));
    let mut got: Vec<String> = csv_rows(&out).into_iter().map(|r| r[2].clone()).collect();
    got.sort();
    sent.sort();
    assert_eq!(got, sent, "every event exactly once");
    let second_log = std::fs::read_to_string(dir.path().join("stderr-2.txt")).unwrap();
    assert!(second_log.contains("3 events queued before for node hook run first"), "{second_log}");
}
