//! `sluice serve`: the designer in a web browser. A thin HTTP transport over the app
//! service: `POST /api/call` decodes a `Request`, hands it to `AppService::handle` and
//! encodes the answer; `GET /api/events` streams the service's run events as Server-Sent
//! Events; everything else is the built designer (`ui/dist`). See `docs/app-api.md`.
//!
//! It listens on 127.0.0.1 only and every `/api` call needs the random token printed at
//! start, so other users of the machine and web pages in the same browser cannot drive
//! the engine. Left out on purpose: TLS and remote access.

use super::{Interrupts, EXIT_INVALID, EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED};
use crate::app::{AppConfig, AppError, AppErrorKind, AppMode, AppService, Request as AppRequest};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use futures::StreamExt;
use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tower_http::services::{ServeDir, ServeFile};

/// What scripts look for on standard output to find the address.
pub const URL_LINE_PREFIX: &str = "Sluice designer: ";

const BUILD_HINT: &str = "npm --prefix ui ci && npm --prefix ui run build";

#[derive(clap::Args)]
pub struct ServeArgs {
    /// A flow file the designer opens at start.
    flow: Option<PathBuf>,
    /// Port to listen on at 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Open the designer in the default web browser.
    #[arg(long)]
    open: bool,
    /// Folder holding the built designer (its index.html). Defaults to $SLUICE_UI_DIR, then
    /// the ui/dist of the source tree this binary was built in, then ./ui/dist.
    #[arg(long, value_name = "DIR")]
    ui_dir: Option<PathBuf>,
    /// Also run this webhook-triggered flow as a listener, as `sluice listen` does (repeat
    /// for several flows). Its endpoints are printed as `Sluice listening: URL` lines.
    #[cfg(feature = "http")]
    #[arg(long, value_name = "FLOW")]
    listen: Vec<PathBuf>,
    /// Port of the first --listen flow's endpoints (the next flows take the next ports);
    /// 0 picks free ports. Listeners bind to 127.0.0.1, like the designer.
    #[cfg(feature = "http")]
    #[arg(long, default_value_t = crate::webhook::DEFAULT_PORT)]
    listen_port: u16,
}

#[derive(Clone)]
struct ServerState {
    service: AppService,
    token: String,
    /// Cancelled on Ctrl-C, so open event streams end and the server can stop.
    shutdown: CancellationToken,
}

pub async fn serve(args: ServeArgs) -> i32 {
    let work_dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if let Some(flow) = &args.flow {
        if !flow.is_file() {
            eprintln!("error: no flow file at {}", flow.display());
            return EXIT_INVALID;
        }
    }
    let ui_dir = match find_ui_dir(args.ui_dir.as_deref()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INVALID;
        }
    };
    let listener = match tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, args.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on 127.0.0.1:{}: {e} (try another --port, or 0 for any free port)", args.port);
            return EXIT_RUN_FAILED;
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(args.port);

    let service = AppService::new(AppConfig { work_dir, mode: AppMode::Browser, state_dir: None, open_on_start: args.flow });
    let state = ServerState { service: service.clone(), token: new_token(), shutdown: CancellationToken::new() };
    // Listen for Ctrl-C before telling anyone the address, so an early one stops cleanly too.
    let mut interrupts = match Interrupts::new() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: cannot listen for Ctrl-C: {e}");
            return EXIT_RUN_FAILED;
        }
    };
    let shutdown = state.shutdown.clone();
    let on_signal = service.clone();
    tokio::spawn(async move {
        interrupts.next().await;
        eprintln!("\nstopping… (press Ctrl-C again to quit at once)");
        shutdown.cancel();
        on_signal.shutdown().await;
        interrupts.next().await;
        std::process::exit(EXIT_INTERRUPTED);
    });

    // Webhook listeners have endpoints of their own (on their own ports, outside the
    // designer's token: the callers are other systems, which authenticate by the flow's
    // token or signature). They start before the address is printed, so a flow that cannot
    // be listened for stops `serve` at once with the reason.
    #[cfg(feature = "http")]
    let listeners = match start_listeners(&args.listen, args.listen_port).await {
        Ok(l) => l,
        Err(code) => return code,
    };

    let url = format!("http://127.0.0.1:{port}/?token={}", state.token);
    println!("{URL_LINE_PREFIX}{url}");
    let _ = std::io::stdout().flush();
    match &ui_dir {
        Some(d) => eprintln!("serving the designer from {}; press Ctrl-C to stop", d.display()),
        None => eprintln!("no designer build found; build it with `{BUILD_HINT}` (or pass --ui-dir). Press Ctrl-C to stop"),
    }
    if args.open {
        if let Err(e) = webbrowser::open(&url) {
            eprintln!("warning: cannot open a browser ({e}); open the address above yourself");
        }
    }


    let stopped = state.shutdown.clone();
    let result = axum::serve(listener, router(state, ui_dir)).with_graceful_shutdown(stopped.cancelled_owned()).await;
    // Runs still going end as cancelled, their partial outputs discarded, before we exit.
    service.shutdown().await;
    // Listeners stop taking requests and finish their running batch; queued events stay
    // for the next start.
    #[cfg(feature = "http")]
    for l in listeners {
        l.shutdown().await;
    }
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: the server stopped: {e}");
            EXIT_RUN_FAILED
        }
    }
}

/// Starts a listener per `--listen` flow; on a failure stops those already started and
/// answers the exit code.
#[cfg(feature = "http")]
async fn start_listeners(flows: &[PathBuf], first_port: u16) -> Result<Vec<crate::webhook::Listener>, i32> {
    use crate::webhook::{start_listener, ListenerOptions};
    let mut started = Vec::new();
    for (i, flow) in flows.iter().enumerate() {
        let mut options = ListenerOptions::new(flow, crate::app::default_state_dir());
        let port = if first_port == 0 { 0 } else { first_port.saturating_add(i as u16) };
        options.bind = std::net::SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        match start_listener(options).await {
            Ok(l) => {
                for ep in l.endpoints() {
                    println!("{}{}", super::listen::URL_LINE_PREFIX, ep.url);
                    eprintln!("  {}: node {}, {} with {} auth", flow.display(), ep.node_id, ep.methods.join("/"), ep.auth);
                }
                started.push(l);
            }
            Err(e) => {
                eprintln!("cannot listen for {}:", flow.display());
                for l in started {
                    l.shutdown().await;
                }
                return Err(super::listen::report_listen_error(flow, e));
            }
        }
    }
    Ok(started)
}

fn router(state: ServerState, ui_dir: Option<PathBuf>) -> Router {
    let api = Router::new()
        .route("/api/call", post(call))
        .route("/api/events", get(events))
        // A mistyped API path is an API error, not the designer's index.html.
        .route("/api/{*rest}", any(|| async { app_error(AppError::not_found("no such API endpoint; see docs/app-api.md")) }))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token))
        .with_state(state);
    match ui_dir {
        Some(dir) => api.fallback_service(ServeDir::new(&dir).fallback(ServeFile::new(dir.join("index.html")))),
        None => api.fallback(|| async { Html(NO_UI_PAGE) }),
    }
}

/// Decode, hand to the service, encode: nothing else belongs here.
async fn call(State(state): State<ServerState>, body: Bytes) -> Response {
    let req: AppRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return app_error(AppError::bad_request(format!("the body is not a valid request: {e}"))),
    };
    match state.service.handle(req).await {
        Ok(res) => Json(res).into_response(),
        Err(e) => app_error(e),
    }
}

async fn events(State(state): State<ServerState>) -> impl IntoResponse {
    let rx = state.service.subscribe();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(ev) => Event::default().event("run-event").json_data(&ev).expect("events serialise"),
            // The client fell behind and missed some; it can catch up with `active_runs`.
            Err(RecvError::Lagged(n)) => Event::default().event("lagged").data(format!("{{\"missed\":{n}}}")),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok::<_, Infallible>(event), rx))
    })
    .take_until(state.shutdown.cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn require_token(State(state): State<ServerState>, req: Request<Body>, next: Next) -> Response {
    let from_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    // EventSource cannot set headers, so the token may come in the query instead.
    let from_query = || Query::<HashMap<String, String>>::try_from_uri(req.uri()).ok().and_then(|q| q.0.get("token").cloned());
    let given = from_header.or_else(from_query);
    let ok = given.is_some_and(|t| bool::from(t.as_bytes().ct_eq(state.token.as_bytes())));
    if !ok {
        return app_error(AppError::new(
            AppErrorKind::Unauthorized,
            "missing or wrong token: open the address `sluice serve` printed (it ends in ?token=…)",
        ));
    }
    next.run(req).await
}

fn app_error(e: AppError) -> Response {
    let status = match e.kind {
        AppErrorKind::BadRequest | AppErrorKind::InvalidFlow => StatusCode::BAD_REQUEST,
        AppErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        AppErrorKind::NotFound => StatusCode::NOT_FOUND,
        AppErrorKind::Io | AppErrorKind::Run | AppErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, Json(e)).into_response()
}


/// 128 bits from the operating system's CSPRNG, as 32 hex digits.
fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The built designer: the folder given, else `$SLUICE_UI_DIR`, else the source tree's
/// `ui/dist` beside the cargo `target/` this binary sits in, else `./ui/dist`. A folder
/// named explicitly must hold an index.html; `None` when no default does.
fn find_ui_dir(given: Option<&Path>) -> Result<Option<PathBuf>, String> {
    let explicit = given.map(|d| (d.to_path_buf(), "--ui-dir")).or_else(|| {
        std::env::var_os("SLUICE_UI_DIR").filter(|d| !d.is_empty()).map(|d| (PathBuf::from(d), "SLUICE_UI_DIR"))
    });
    if let Some((dir, from)) = explicit {
        return if dir.join("index.html").is_file() {
            Ok(Some(dir))
        } else {
            Err(format!("{from} {} has no index.html; build the designer with `{BUILD_HINT}`", dir.display()))
        };
    }
    let beside_exe = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join("../../ui/dist")));
    Ok(beside_exe.into_iter().chain([PathBuf::from("ui/dist")]).find(|d| d.join("index.html").is_file()).map(|d| d.canonicalize().unwrap_or(d)))
}

const NO_UI_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sluice designer</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Sluice designer</h1>
<p>The engine is running, but the designer's web files were not found.</p>
<p>Build them from the Sluice source folder with</p>
<pre>npm --prefix ui ci &amp;&amp; npm --prefix ui run build</pre>
<p>then restart <code>sluice serve</code> (or point it at the build with <code>--ui-dir DIR</code>).</p>
</body></html>
"#;
