//! The seed example `flows-examples/http-ticket-api-to-crm` end to end through the CLI, as
//! a user runs it: `sluice run`, then `sluice dlq list|show|replay`.
//!
//! The test serves both APIs on 127.0.0.1 (real TCP, no mocks):
//! - the helpdesk: an OAuth2 token endpoint (client credentials) and `GET /api/v2/tickets`,
//!   20 tickets in cursor pages of 6; a token is good for two pages, then the API answers
//!   401 "expired" and the flow must fetch a new one and go on;
//! - the CRM: `POST /api/tickets` with an API key, honouring `Idempotency-Key`; it answers
//!   503 once to the first ticket (a hiccup the retries absorb), and goes down (503) for
//!   the last 8 tickets until the test brings it back before `sluice dlq replay`.
//!
//! Without those APIs the example cannot succeed (an `http_source` whose first page fails
//! fails the run, and its credentials come from the environment), so the golden test of
//! the examples does not run it; the last test here checks what it does then.

mod http_support;

use axum::http::{HeaderMap, Uri};
use axum::routing::{get, post};
use http_support::{dead_url, json_reply, reply, serve};
use serde_json::{json, Value as J};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

const CLIENT_ID: &str = "sluice-test-client";
const CLIENT_SECRET: &str = "s3cret-from-the-environment";
const CRM_KEY: &str = "crm-key-from-the-environment";
const TICKETS: i64 = 20;
const PAGE: usize = 6;
/// Page requests one token is good for before the helpdesk calls it expired.
const PAGES_PER_TOKEN: u32 = 2;
/// From this ticket on, the CRM is down until the test brings it back.
const FIRST_REFUSED: i64 = 1013;

fn phone(id: i64) -> String {
    format!("139{:08}", 10_000_000 + id * 7919 % 10_000_000)
}

fn masked(phone: &str) -> String {
    format!("{}****{}", &phone[..3], &phone[phone.len() - 4..])
}

/// The helpdesk's tickets, in page order.
fn helpdesk_tickets() -> Vec<J> {
    let channels = ["phone", "web", "wechat", "email"];
    (0..TICKETS)
        .map(|i| {
            let id = 1001 + i;
            json!({
                "id": id,
                "subject": if i % 3 == 0 { format!("退款未到账 #{id}") } else { format!("Order {id} arrived damaged") },
                "status": "open",
                "priority": if i % 5 == 0 { J::Null } else { json!("high") },
                "channel": channels[i as usize % 4],
                "created_at": format!("2024-03-{:02}T09:{:02}:00+08:00", 1 + i / 6, i * 2),
                "requester": {"name": format!("客户{id}"), "phone": phone(id)},
                "tags": ["vip"]
            })
        })
        .collect()
}

#[derive(Default)]
struct Helpdesk {
    /// Form bodies the token endpoint received.
    token_requests: Mutex<Vec<BTreeMap<String, String>>>,
    /// The token in use and how many pages it has served.
    current: Mutex<(String, u32)>,
    /// Each ticket request: its cursor (empty for the first page), token, and status.
    page_requests: Mutex<Vec<(String, String, u16)>>,
}

#[derive(Default)]
struct Crm {
    down: AtomicBool,
    /// Every POST: idempotency key, status answered.
    attempts: Mutex<Vec<(String, u16)>>,
    /// Tickets created, by idempotency key, with how many times each was created.
    created: Mutex<BTreeMap<String, (J, u32)>>,
}

fn helpdesk_app(api: Arc<Helpdesk>) -> axum::Router {
    let (a1, a2) = (api.clone(), api);
    axum::Router::new()
        .route(
            "/oauth2/token",
            post(move |body: String| {
                let api = a1.clone();
                async move {
                    let form: BTreeMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                    api.token_requests.lock().unwrap().push(form.clone());
                    let ok = form.get("grant_type").map(String::as_str) == Some("client_credentials")
                        && form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
                    if !ok {
                        return json_reply(401, &json!({"error": "invalid_client"}));
                    }
                    let n = api.token_requests.lock().unwrap().len();
                    let token = format!("tok-{n}");
                    *api.current.lock().unwrap() = (token.clone(), 0);
                    json_reply(200, &json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600}))
                }
            }),
        )
        .route(
            "/api/v2/tickets",
            get(move |uri: Uri, headers: HeaderMap| {
                let api = a2.clone();
                async move {
                    let query: BTreeMap<String, String> = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect();
                    let cursor = query.get("cursor").cloned().unwrap_or_default();
                    let token = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                    let status = {
                        let mut current = api.current.lock().unwrap();
                        if token != format!("Bearer {}", current.0) || current.1 >= PAGES_PER_TOKEN {
                            401
                        } else {
                            current.1 += 1;
                            200
                        }
                    };
                    api.page_requests.lock().unwrap().push((cursor.clone(), token, status));
                    if status == 401 {
                        return reply(
                            401,
                            &[("www-authenticate", r#"Bearer error="invalid_token", error_description="The access token expired""#.into())],
                            r#"{"error":"invalid_token"}"#,
                        );
                    }
                    // The API caps pages at PAGE records whatever per_page asks.
                    let per_page = query.get("per_page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(PAGE).min(PAGE);
                    let from = cursor.strip_prefix("after-").and_then(|c| c.parse::<usize>().ok()).unwrap_or(0);
                    let all = helpdesk_tickets();
                    let to = (from + per_page).min(all.len());
                    let next = if to < all.len() { json!(format!("after-{to}")) } else { J::Null };
                    json_reply(200, &json!({"data": all[from..to], "meta": {"next_cursor": next, "total": all.len()}}))
                }
            }),
        )
}

fn crm_app(crm: Arc<Crm>) -> axum::Router {
    axum::Router::new().route(
        "/api/tickets",
        post(move |headers: HeaderMap, body: String| {
            let crm = crm.clone();
            async move {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let key = header("idempotency-key");
                let answer = |status: u16| {
                    crm.attempts.lock().unwrap().push((key.clone(), status));
                    status
                };
                if header("x-api-key") != CRM_KEY {
                    return json_reply(answer(401), &json!({"error": "bad API key"}));
                }
                let ticket: J = match serde_json::from_str(&body) {
                    Ok(t) => t,
                    Err(_) => return json_reply(answer(400), &json!({"error": "not JSON"})),
                };
                let id = ticket["external_id"].as_i64().unwrap_or(0);
                let tried_before = crm.attempts.lock().unwrap().iter().any(|(k, _)| k == &key);
                if (id == 1001 && !tried_before) || (crm.down.load(SeqCst) && id >= FIRST_REFUSED) {
                    return reply(answer(503), &[("retry-after", "0".into())], "CRM under maintenance");
                }
                let mut created = crm.created.lock().unwrap();
                if created.contains_key(&key) {
                    return json_reply(answer(409), &json!({"error": "already exists"}));
                }
                created.insert(key.clone(), (ticket, 1));
                drop(created);
                json_reply(answer(201), &json!({"id": format!("crm-{id}")}))
            }
        }),
    )
}

/// A copy of the example in a folder of its own, with its own state folder.
struct Example {
    dir: tempfile::TempDir,
}

impl Example {
    fn new() -> Example {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("flows-examples/http-ticket-api-to-crm");
        let dir = tempfile::tempdir().unwrap();
        for e in std::fs::read_dir(&src).unwrap().flatten() {
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
            }
        }
        Example { dir }
    }

    fn flow(&self) -> PathBuf {
        self.dir.path().join("ticket-api-to-crm.flow.json")
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Runs `sluice ARGS` in the example's folder with `env`, off the runtime's threads so
    /// the test's servers keep answering.
    async fn sluice(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"));
        cmd.args(args).current_dir(self.dir.path()).env("SLUICE_STATE_DIR", self.state());
        for var in ["HELPDESK_CLIENT_ID", "HELPDESK_CLIENT_SECRET", "CRM_API_KEY"] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        tokio::task::spawn_blocking(move || cmd.output().expect("sluice runs")).await.unwrap()
    }

    async fn ok(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = self.sluice(args, env).await;
        assert!(
            out.status.success(),
            "sluice {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    async fn dead_letters(&self) -> Vec<J> {
        let flow = self.flow();
        let text = self.ok(&["dlq", "show", flow.to_str().unwrap(), "--format", "json", "--limit", "1000"], &[]).await;
        serde_json::from_str::<J>(&text).expect("JSON").as_array().unwrap().clone()
    }
}

const ALL_SECRETS: [(&str, &str); 3] = [("HELPDESK_CLIENT_ID", CLIENT_ID), ("HELPDESK_CLIENT_SECRET", CLIENT_SECRET), ("CRM_API_KEY", CRM_KEY)];

fn ids(range: std::ops::RangeInclusive<i64>) -> BTreeSet<String> {
    range.map(|i| i.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_ticket_reaches_the_crm_once_masked_through_dead_letters_and_a_replay() {
    let helpdesk = Arc::new(Helpdesk::default());
    let crm = Arc::new(Crm { down: AtomicBool::new(true), ..Crm::default() });
    let helpdesk_url = serve(helpdesk_app(helpdesk.clone())).await;
    let crm_url = serve(crm_app(crm.clone())).await;
    let ex = Example::new();
    let flow = ex.flow();
    let flow = flow.to_str().unwrap();
    let p_helpdesk = format!("helpdesk_url={helpdesk_url}");
    let p_token = format!("token_url={helpdesk_url}/oauth2/token");
    let p_crm = format!("crm_url={crm_url}");

    let out = ex.ok(&["run", flow, "-p", &p_helpdesk, "-p", &p_token, "-p", &p_crm], &ALL_SECRETS).await;
    assert!(!out.contains(CLIENT_SECRET) && !out.contains(CRM_KEY), "no secret is printed: {out}");

    // The helpdesk: every page read, a new token fetched when the first one expired.
    let tokens = helpdesk.token_requests.lock().unwrap().clone();
    assert_eq!(tokens.len(), 2, "one token, then one more when it expired: {tokens:?}");
    for form in &tokens {
        assert_eq!(form.get("scope").map(String::as_str), Some("tickets:read"));
        assert_eq!(form.get("client_id").map(String::as_str), Some(CLIENT_ID), "the client id comes from the environment");
    }
    let pages = helpdesk.page_requests.lock().unwrap().clone();
    let expected_pages: Vec<(String, String, u16)> =
        [("", "tok-1", 200), ("after-6", "tok-1", 200), ("after-12", "tok-1", 401), ("after-12", "tok-2", 200), ("after-18", "tok-2", 200)]
            .iter()
            .map(|(c, t, s)| (c.to_string(), format!("Bearer {t}"), *s))
            .collect();
    assert_eq!(pages, expected_pages, "4 pages of 6, 6, 6 and 2 tickets; the expired token's page asked again with a new one");

    // The CRM during the run: the hiccup retried, tickets 1001..=1012 created, the rest
    // refused on every attempt, with the same key each time.
    let created: BTreeSet<String> = crm.created.lock().unwrap().keys().cloned().collect();
    assert_eq!(created, ids(1001..=FIRST_REFUSED - 1));
    let attempts = crm.attempts.lock().unwrap().clone();
    let tries = |key: &str| attempts.iter().filter(|(k, _)| k == key).map(|(_, s)| *s).collect::<Vec<_>>();
    assert_eq!(tries("1001"), [503, 201], "the 503 was retried");
    for id in FIRST_REFUSED..1001 + TICKETS {
        assert_eq!(tries(&id.to_string()), [503, 503, 503], "ticket {id}: 3 attempts, then a dead letter");
    }

    // What the CRM received: the CRM's field names, the phone masked, never in clear.
    let first = crm.created.lock().unwrap()["1004"].0.clone();
    assert_eq!(
        first,
        json!({
            "external_id": 1004, "title": "退款未到账 #1004", "contact_name": "客户1004", "contact_phone": masked(&phone(1004)),
            "channel": "email", "priority": "high", "status": "open", "opened_at": "2024-03-01T09:06:00+08:00", "source": "helpdesk"
        })
    );
    assert_eq!(crm.created.lock().unwrap()["1006"].0["priority"], "normal", "a missing priority takes the default");

    // The refused tickets are kept as dead letters, masked too.
    let kept = ex.dead_letters().await;
    let kept_ids: BTreeSet<String> = kept.iter().map(|r| r["row"]["external_id"].to_string()).collect();
    assert_eq!(kept_ids, ids(FIRST_REFUSED..=1000 + TICKETS));
    for r in &kept {
        assert_eq!(r["failed_node"], "crm");
        assert_eq!(r["dlq_node"], "crm_dead_letters");
        let message = r["message"].as_str().unwrap();
        assert!(message.contains("503") && message.contains("after 3 attempts"), "{message}");
        let id = r["row"]["external_id"].as_i64().unwrap();
        assert_eq!(r["row"]["contact_phone"], masked(&phone(id)));
    }
    let groups = ex.ok(&["dlq", "list", flow, "--json"], &[]).await;
    let groups: J = serde_json::from_str(&groups).unwrap();
    assert_eq!(groups[0]["kept"], 8, "{groups}");
    // Masking happens before anything is kept: no phone number in clear in the state files.
    for entry in std::fs::read_dir(ex.state()).unwrap().flatten().filter(|e| e.path().is_file()) {
        let bytes = std::fs::read(entry.path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for id in 1001..=1000 + TICKETS {
            assert!(!text.contains(&phone(id)), "{} holds the phone of ticket {id} in clear", entry.path().display());
        }
    }

    // The CRM is back: the replay delivers the kept tickets (the helpdesk is not called,
    // so only the CRM's key is needed).
    crm.down.store(false, SeqCst);
    let before = helpdesk.page_requests.lock().unwrap().len();
    let out = ex.ok(&["dlq", "replay", flow, "-p", &p_crm], &[("CRM_API_KEY", CRM_KEY)]).await;
    assert!(out.contains("8 rows delivered, 0 failed again"), "{out}");
    assert_eq!(helpdesk.page_requests.lock().unwrap().len(), before, "a replay reads nothing from the helpdesk");

    // Every ticket exactly once: created once, never answered 409, none left behind.
    let created = crm.created.lock().unwrap().clone();
    assert_eq!(created.keys().cloned().collect::<BTreeSet<_>>(), ids(1001..=1000 + TICKETS));
    assert!(created.values().all(|(_, n)| *n == 1));
    let attempts = crm.attempts.lock().unwrap().clone();
    assert!(attempts.iter().all(|(_, s)| *s != 409), "no ticket was sent again once created: {attempts:?}");
    for id in FIRST_REFUSED..=1000 + TICKETS {
        assert_eq!(created[&id.to_string()].0["contact_phone"], masked(&phone(id)));
        assert_eq!(created[&id.to_string()].0["external_id"], id, "the replayed row keeps its types");
    }
    assert!(ex.dead_letters().await.is_empty());
    let out = ex.ok(&["dlq", "replay", flow, "-p", &p_crm], &[("CRM_API_KEY", CRM_KEY)]).await;
    assert!(out.contains("no dead letters to replay"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_is_answered_409_and_counts_as_delivered() {
    let helpdesk = Arc::new(Helpdesk::default());
    let crm = Arc::new(Crm::default());
    let helpdesk_url = serve(helpdesk_app(helpdesk.clone())).await;
    let crm_url = serve(crm_app(crm.clone())).await;
    let ex = Example::new();
    let flow = ex.flow();
    let args = [
        "run".to_string(),
        flow.display().to_string(),
        "-p".into(),
        format!("helpdesk_url={helpdesk_url}"),
        "-p".into(),
        format!("token_url={helpdesk_url}/oauth2/token"),
        "-p".into(),
        format!("crm_url={crm_url}"),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ex.ok(&args, &ALL_SECRETS).await;
    ex.ok(&args, &ALL_SECRETS).await;
    let created = crm.created.lock().unwrap().clone();
    assert_eq!(created.len(), TICKETS as usize);
    assert!(created.values().all(|(_, n)| *n == 1));
    let conflicts = crm.attempts.lock().unwrap().iter().filter(|(_, s)| *s == 409).count();
    assert_eq!(conflicts, TICKETS as usize, "the second run's creates were all answered 409");
    assert!(ex.dead_letters().await.is_empty(), "409 counts as delivered: nothing kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_its_apis_or_credentials_the_example_says_why() {
    let ex = Example::new();
    let flow = ex.flow();
    let flow = flow.to_str().unwrap();

    // No credentials in the environment: refused before anything is sent, naming them.
    let out = ex.sluice(&["run", flow], &[]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for var in ["HELPDESK_CLIENT_ID", "HELPDESK_CLIENT_SECRET", "CRM_API_KEY"] {
        assert!(err.contains(var), "the error names {var}: {err}");
    }

    // Credentials but no helpdesk: the first page fails the run; nothing is sent or kept.
    let nowhere = dead_url().await;
    let p_helpdesk = format!("helpdesk_url={nowhere}");
    let p_token = format!("token_url={nowhere}/oauth2/token");
    let p_crm = format!("crm_url={nowhere}");
    let out = ex.sluice(&["run", flow, "-p", &p_helpdesk, "-p", &p_token, "-p", &p_crm], &ALL_SECRETS).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tickets") && err.contains("page 1") && err.contains("cannot connect"), "{err}");
    assert!(!err.contains(CLIENT_SECRET), "{err}");
    assert!(ex.dead_letters().await.is_empty());
}

#[test]
fn the_example_is_in_canonical_form() {
    // The golden test checks this for every example too; kept here beside the example's
    // other tests.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("flows-examples/http-ticket-api-to-crm/ticket-api-to-crm.flow.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let flow = sluice::flow::parse_flow_text(&text).unwrap_or_else(|d| panic!("{d}"));
    assert!(sluice::flow::to_canonical_json(&flow) == text, "{} is not in canonical form: run `sluice fmt` on it", path.display());
}
