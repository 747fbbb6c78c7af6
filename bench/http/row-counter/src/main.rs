//! A fast local HTTP target for the HTTP sink benchmark: `POST /rows` takes one JSON row
//! (an object) or a JSON array of rows and counts them; `GET /stats` says how many rows
//! and requests arrived and the time between the first and the last request; `POST
//! /reset` starts the count over.
//!
//! Every peer (Sluice, curl, wrk) is timed by this one clock, so the figures compare the
//! clients, not how each measures itself. Bodies are checked to be JSON (without building
//! values: `IgnoredAny`), as any real API would, and a body that is not JSON is answered
//! 400 and counted apart. Left out: storing anything, TLS, auth.
//!
//!     row-counter [ADDR]   (default 127.0.0.1:18090; prints the bound address)

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::de::IgnoredAny;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

#[derive(Default)]
struct Counts {
    rows: AtomicU64,
    requests: AtomicU64,
    bad_requests: AtomicU64,
    /// Nanoseconds since `epoch` of the first and the last counted request (0: none yet).
    first_ns: AtomicU64,
    last_ns: AtomicU64,
}

struct Target {
    epoch: Instant,
    counts: Counts,
}

impl Target {
    fn now_ns(&self) -> u64 {
        // +1 so that a request in the very first nanosecond is not taken for "none yet".
        self.epoch.elapsed().as_nanos() as u64 + 1
    }
}

async fn rows(State(t): State<Arc<Target>>, body: Bytes) -> StatusCode {
    let n = match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => serde_json::from_slice::<Vec<IgnoredAny>>(&body).map(|v| v.len() as u64).ok(),
        Some(b'{') => serde_json::from_slice::<IgnoredAny>(&body).map(|_| 1).ok(),
        _ => None,
    };
    let Some(n) = n else {
        t.counts.bad_requests.fetch_add(1, Relaxed);
        return StatusCode::BAD_REQUEST;
    };
    let now = t.now_ns();
    let _ = t.counts.first_ns.compare_exchange(0, now, Relaxed, Relaxed);
    t.counts.last_ns.fetch_max(now, Relaxed);
    t.counts.rows.fetch_add(n, Relaxed);
    t.counts.requests.fetch_add(1, Relaxed);
    StatusCode::NO_CONTENT
}

async fn stats(State(t): State<Arc<Target>>) -> String {
    let c = &t.counts;
    let (first, last) = (c.first_ns.load(Relaxed), c.last_ns.load(Relaxed));
    let window = if first == 0 { 0.0 } else { (last - first) as f64 / 1e9 };
    format!(
        "{{\"rows\":{},\"requests\":{},\"bad_requests\":{},\"window_s\":{window:.6}}}\n",
        c.rows.load(Relaxed),
        c.requests.load(Relaxed),
        c.bad_requests.load(Relaxed)
    )
}

async fn reset(State(t): State<Arc<Target>>) -> StatusCode {
    let c = &t.counts;
    for a in [&c.rows, &c.requests, &c.bad_requests, &c.first_ns, &c.last_ns] {
        a.store(0, Relaxed);
    }
    StatusCode::NO_CONTENT
}

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18090".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
    println!("listening on http://{}", listener.local_addr().unwrap());
    let target = Arc::new(Target { epoch: Instant::now(), counts: Counts::default() });
    let app = Router::new().route("/rows", post(rows)).route("/stats", get(stats)).route("/reset", post(reset)).with_state(target);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await
        .unwrap();
}
