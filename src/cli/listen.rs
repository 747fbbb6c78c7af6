//! `sluice listen FLOW`: runs a flow as a webhook listener ([`crate::webhook`]). Prints the
//! address of each `webhook_source` node on standard output, then one line per request
//! and per batch on standard error; Ctrl-C stops taking requests, lets the running batch
//! finish and prints the totals. Events still queued run at the next start.

use super::{absolutize_path_params, parse_params, render, Interrupts, EXIT_INVALID, EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED};
use crate::exec::RunStatus;
use crate::webhook::{start_listener, BatchLimits, HistoryMode, ListenError, ListenerEvent, ListenerOptions, ListenerStats, DEFAULT_PORT};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// What scripts look for on standard output to find the addresses.
pub const URL_LINE_PREFIX: &str = "Sluice listening: ";

#[derive(clap::Args)]
pub struct ListenArgs {
    /// The flow file; its webhook_source nodes say the paths to listen on.
    flow: PathBuf,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Address to listen on. The default takes requests from this machine only (a reverse
    /// proxy with HTTPS in front); 0.0.0.0 takes them from the network, without TLS.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// A param value, NAME=VALUE (repeatable).
    #[arg(short, long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Most events in one run of the flow.
    #[arg(long, default_value_t = BatchLimits::default().max_events as u64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch_events: u64,
    /// How long to wait for more events after the first, in milliseconds, before running.
    #[arg(long, default_value_t = BatchLimits::default().max_wait.as_millis() as u64)]
    batch_wait_ms: u64,
    /// Which batch runs to add to the run history (`sluice runs`).
    #[arg(long, value_enum, default_value_t = HistoryMode::Failed)]
    history: HistoryMode,
}

pub async fn listen(args: ListenArgs) -> i32 {
    let given = match parse_params(&args.params) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INVALID;
        }
    };
    // Path params are relative to where the user is, as with `sluice run`.
    let given = match crate::flow::load_flow_file(&args.flow) {
        Ok((flow, _)) => absolutize_path_params(&flow, given),
        Err(_) => given,
    };
    let mut options = ListenerOptions::new(&args.flow, crate::app::default_state_dir());
    options.params = given;
    options.bind = SocketAddr::new(args.bind, args.port);
    options.batch = BatchLimits { max_events: args.batch_events as usize, max_wait: Duration::from_millis(args.batch_wait_ms) };
    options.history = args.history;

    // Listen for Ctrl-C before telling anyone the address, so an early one stops cleanly.
    let mut interrupts = match Interrupts::new() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: cannot listen for Ctrl-C: {e}");
            return EXIT_RUN_FAILED;
        }
    };
    let listener = match start_listener(options).await {
        Ok(l) => l,
        Err(e) => return report_listen_error(&args.flow, e),
    };

    for ep in listener.endpoints() {
        println!("{URL_LINE_PREFIX}{}", ep.url);
    }
    let _ = std::io::stdout().flush();
    for ep in listener.endpoints() {
        eprintln!("  node {}: {} with {} auth", ep.node_id, ep.methods.join("/"), ep.auth);
    }
    eprintln!("  queue: {}", listener.queue_path().display());
    for b in listener.backlog_at_start() {
        if listener.endpoints().iter().any(|e| e.node_id == b.node_id) {
            eprintln!("  {} events queued before for node {} run first", b.events, b.node_id);
        } else {
            eprintln!("  warning: {} queued events belong to node {}, which the flow no longer has; they are kept", b.events, b.node_id);
        }
    }
    if !args.bind.is_loopback() {
        eprintln!("  warning: listening on {}: other machines can reach it, without TLS; prefer 127.0.0.1 behind an HTTPS reverse proxy", args.bind);
    }
    eprintln!("press Ctrl-C to stop");

    let mut events = listener.subscribe();
    let printer = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ev) => print_event(&ev),
                Err(RecvError::Lagged(n)) => eprintln!("({n} events not shown)"),
                Err(RecvError::Closed) => break,
            }
        }
    });

    interrupts.next().await;
    eprintln!("\nstopping: no new requests; the running batch finishes (press Ctrl-C again to quit at once)");
    tokio::spawn(async move {
        interrupts.next().await;
        std::process::exit(EXIT_INTERRUPTED);
    });
    let stopped = listener.shutdown().await;
    printer.abort();
    print_totals(&stopped.stats, stopped.still_queued);
    EXIT_OK
}

/// Says why a listener did not start (every problem of an invalid flow, each at its node)
/// and answers the exit code: 2 for a flow that cannot be listened for, 1 when the queue
/// file or the port cannot be had.
pub(super) fn report_listen_error(flow: &std::path::Path, e: ListenError) -> i32 {
    match e {
        ListenError::InvalidFlow(d) => {
            eprintln!("{}", render::diagnostics_text(flow, &d));
            EXIT_INVALID
        }
        ListenError::Unusable(m) => {
            eprintln!("error: {m}");
            EXIT_INVALID
        }
        ListenError::Unavailable(m) => {
            eprintln!("error: {m}");
            EXIT_RUN_FAILED
        }
    }
}

fn print_event(ev: &ListenerEvent) {
    match ev {
        ListenerEvent::Accepted { node_id, event_id, records, duplicate: false } => {
            eprintln!("202 {node_id} {event_id} ({records} record{})", if *records == 1 { "" } else { "s" })
        }
        ListenerEvent::Accepted { node_id, event_id, duplicate: true, .. } => {
            eprintln!("202 {node_id} {event_id} (the same signed request again: not queued twice)")
        }
        ListenerEvent::Rejected { node_id, status, reason, remote } => match remote {
            Some(r) => eprintln!("{status} {node_id} from {r}: {reason}"),
            None => eprintln!("{status} {node_id}: {reason}"),
        },
        ListenerEvent::BatchStarted { .. } => {}
        ListenerEvent::BatchFinished { run_id, events, status: RunStatus::Succeeded, .. } => {
            eprintln!("run {run_id}: {events} event{} delivered", if *events == 1 { "" } else { "s" })
        }
        ListenerEvent::BatchFinished { run_id, events, error, .. } => {
            eprintln!("run {run_id}: {events} event{} kept in the queue: {}", if *events == 1 { "" } else { "s" }, error.as_deref().unwrap_or("stopped"))
        }
        ListenerEvent::RetryScheduled { events, delay_ms } => {
            eprintln!("  trying those {events} again in {:.1}s", *delay_ms as f64 / 1000.0)
        }
    }
}

fn print_totals(s: &ListenerStats, queued: Option<u64>) {
    let rejected = s.rejected_auth + s.rejected_too_large + s.rejected_body + s.rejected_method + s.not_stored;
    eprintln!(
        "accepted {} (and {} repeated), rejected {rejected} (401: {}, 413: {}, 400: {}, 405: {}, 503: {}); runs {} succeeded, {} failed; events delivered: {}{}",
        s.accepted,
        s.duplicates,
        s.rejected_auth,
        s.rejected_too_large,
        s.rejected_body,
        s.rejected_method,
        s.not_stored,
        s.batches_succeeded,
        s.batches_failed,
        s.events_delivered,
        match queued {
            Some(n) => format!(", still queued for the next start: {n}"),
            None => String::new(),
        }
    );
}

