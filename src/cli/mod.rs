//! The `sluice` command line: a thin client of the engine library. Exit codes: 0 success,
//! 1 the run failed, 2 invalid flow or usage, 130 stopped by Ctrl-C.

#[cfg(feature = "sql")]
mod db;
mod dlq;
mod docs;
#[cfg(feature = "http")]
mod listen;
mod render;
mod runs;
mod serve;

pub use docs::{flow_schema_json, node_reference_markdown};

use crate::exec::{preview, start_run, RunOptions, RunStatus};
use crate::flow::{load_flow_file, Diagnostics, FlowFile};
use crate::plan::{plan_flow, Plan};
use clap::{Parser, Subcommand, ValueEnum};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub const EXIT_OK: i32 = 0;
pub const EXIT_RUN_FAILED: i32 = 1;
pub const EXIT_INVALID: i32 = 2;
pub const EXIT_INTERRUPTED: i32 = 130;

#[derive(Parser)]
#[command(name = "sluice", version, about = "Sluice: build, check and run data flows (*.flow.json)", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a flow, showing rows as they move.
    Run {
        /// The flow file (*.flow.json).
        flow: PathBuf,
        /// A param value, NAME=VALUE (repeatable).
        #[arg(short, long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Print run events for machines instead of progress bars.
        #[arg(long, value_enum)]
        events: Option<EventsFormat>,
    },
    /// Check flows and report every problem found, without running them.
    Validate {
        /// One or more flow files.
        #[arg(required = true)]
        flows: Vec<PathBuf>,
        /// A param value, NAME=VALUE (repeatable), applied to every flow.
        #[arg(short, long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Print the problems as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the node kinds: category, ports, description and config schema.
    Nodes {
        /// Show only this kind, with its full config reference.
        kind: Option<String>,
        /// Print the catalog as JSON (with each config's JSON Schema).
        #[arg(long)]
        json: bool,
    },
    /// Show the first rows leaving a node, running only what feeds it.
    Preview {
        /// The flow file.
        flow: PathBuf,
        /// Id of the node to preview.
        #[arg(long)]
        node: String,
        /// How many rows to show.
        #[arg(long, default_value_t = 20)]
        rows: usize,
        /// A param value, NAME=VALUE (repeatable).
        #[arg(short, long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Print the rows as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rewrite flow files in canonical form (stable key order, two-space indent).
    Fmt {
        /// Flow files to rewrite.
        #[arg(required = true)]
        flows: Vec<PathBuf>,
        /// Only report files that are not canonical (exit 1 if any), change nothing.
        #[arg(long)]
        check: bool,
    },
    /// Database connections: list them, test one, store a password in the keychain.
    #[cfg(feature = "sql")]
    Connections {
        #[command(subcommand)]
        command: db::ConnectionsCommand,
    },
    /// Local state of incremental flows (watermarks): show or reset.
    #[cfg(feature = "sql")]
    State {
        #[command(subcommand)]
        command: db::StateCommand,
    },
    /// Dead letters kept by `dead_letter` nodes: list, show, replay, purge.
    #[cfg(feature = "sql")]
    Dlq {
        #[command(subcommand)]
        command: dlq::DlqCommand,
    },
    /// Run history: list runs, show one, export its failed rows.
    #[cfg(feature = "sql")]
    Runs {
        #[command(subcommand)]
        command: runs::RunsCommand,
    },
    /// Open the designer in a web browser, served from this machine only (127.0.0.1).
    Serve(serve::ServeArgs),
    /// Run a flow as a webhook listener: take requests on its webhook_source paths, queue
    /// them durably, and run the flow on small batches of events.
    #[cfg(feature = "http")]
    Listen(listen::ListenArgs),
    /// Print the JSON Schema of flow files.
    Schema,
    /// Regenerate the generated docs (docs/flow.schema.json, docs/nodes.md).
    #[command(hide = true)]
    GenDocs {
        /// The docs folder.
        #[arg(default_value = "docs")]
        dir: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum EventsFormat {
    /// One JSON object per line on standard output.
    Ndjson,
}

/// Entry point; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_INVALID } else { EXIT_OK };
        }
    };
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime starts");
    runtime.block_on(async move {
        match cli.command {
            Command::Run { flow, params, events } => cmd_run(&flow, &params, events).await,
            Command::Validate { flows, params, json } => cmd_validate(&flows, &params, json),
            Command::Nodes { kind, json } => render::print_nodes(kind.as_deref(), json),
            Command::Preview { flow, node, rows, params, json } => cmd_preview(&flow, &node, rows, &params, json).await,
            Command::Fmt { flows, check } => cmd_fmt(&flows, check),
            #[cfg(feature = "sql")]
            Command::Connections { command } => db::connections(command).await,
            #[cfg(feature = "sql")]
            Command::State { command } => db::state(command).await,
            #[cfg(feature = "sql")]
            Command::Runs { command } => runs::runs(command).await,
            #[cfg(feature = "sql")]
            Command::Dlq { command } => dlq::dlq(command).await,
            Command::Serve(args) => serve::serve(args).await,
            #[cfg(feature = "http")]
            Command::Listen(args) => listen::listen(args).await,
            Command::Schema => {
                print!("{}", flow_schema_json());
                EXIT_OK
            }
            Command::GenDocs { dir } => docs::write_generated_docs(&dir),
        }
    })
}

fn init_tracing() {
    // Library log lines go to stderr, and only when asked for (RUST_LOG / SLUICE_LOG), so
    // they never mix with rows or events on stdout.
    let filter = std::env::var("SLUICE_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "off".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Parses `NAME=VALUE` arguments.
fn parse_params(args: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for a in args {
        let Some((k, v)) = a.split_once('=') else {
            return Err(format!("--param {a:?} is not NAME=VALUE"));
        };
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

/// Loads and plans a flow, printing every problem; `Err` carries the exit code.
fn load_and_plan(path: &Path, params: &[String]) -> Result<(FlowFile, Plan), i32> {
    let given = parse_params(params).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_INVALID
    })?;
    let (flow, base) = load_flow_file(path).map_err(|d| report(path, &d))?;
    let given = absolutize_path_params(&flow, given);
    let plan = plan_flow(&flow, &base, &given).map_err(|d| report(path, &d))?;
    if !plan.warnings.is_empty() {
        eprintln!("{}", render::diagnostics_text(path, &plan.warnings));
    }
    Ok((flow, plan))
}

/// Path params typed on the command line are relative to where the user is, not to the
/// flow file; make them absolute before the flow resolves its own relative paths.
fn absolutize_path_params(flow: &FlowFile, mut given: BTreeMap<String, String>) -> BTreeMap<String, String> {
    let cwd = std::env::current_dir().unwrap_or_default();
    for spec in &flow.params {
        if spec.param_type == crate::flow::ParamType::Path {
            if let Some(v) = given.get_mut(&spec.name) {
                if Path::new(v.as_str()).is_relative() {
                    *v = cwd.join(&*v).to_string_lossy().into_owned();
                }
            }
        }
    }
    given
}

fn report(path: &Path, diags: &Diagnostics) -> i32 {
    eprintln!("{}", render::diagnostics_text(path, diags));
    EXIT_INVALID
}

fn cmd_validate(flows: &[PathBuf], params: &[String], json: bool) -> i32 {
    let given = match parse_params(params) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INVALID;
        }
    };
    let mut code = EXIT_OK;
    let mut all = Vec::new();
    for path in flows {
        let diags = match load_flow_file(path) {
            Err(d) => d,
            Ok((flow, base)) => crate::plan::check_flow(&flow, &base, &absolutize_path_params(&flow, given.clone())).diagnostics,
        };
        if diags.has_errors() {
            code = EXIT_INVALID;
        }
        if json {
            all.push(serde_json::json!({"flow": path, "ok": !diags.has_errors(), "diagnostics": diags}));
        } else if diags.is_empty() {
            println!("{}: ok", path.display());
        } else {
            let errors = diags.errors().count();
            eprintln!("{}", render::diagnostics_text(path, &diags));
            if errors == 0 {
                println!("{}: ok ({} warning{})", path.display(), diags.len(), if diags.len() == 1 { "" } else { "s" });
            } else {
                println!("{}: {} error{}", path.display(), errors, if errors == 1 { "" } else { "s" });
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&all).unwrap());
    }
    code
}

fn cmd_fmt(flows: &[PathBuf], check: bool) -> i32 {
    let mut code = EXIT_OK;
    for path in flows {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                code = EXIT_INVALID;
                continue;
            }
        };
        let flow = match crate::flow::parse_flow_text(&text) {
            Ok(f) => f,
            Err(d) => {
                code = report(path, &d);
                continue;
            }
        };
        let canonical = crate::flow::to_canonical_json(&flow);
        if canonical == text {
            continue;
        }
        if check {
            println!("{}: not in canonical form", path.display());
            code = code.max(EXIT_RUN_FAILED);
        } else if let Err(e) = std::fs::write(path, canonical) {
            eprintln!("error: cannot write {}: {e}", path.display());
            code = EXIT_INVALID;
        } else {
            println!("formatted {}", path.display());
        }
    }
    code
}

async fn cmd_run(path: &Path, params: &[String], events: Option<EventsFormat>) -> i32 {
    let (_flow, plan) = match load_and_plan(path, params) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let titles: Vec<(String, String, bool)> =
        plan.nodes.iter().map(|n| (n.id.clone(), n.title.clone(), n.category == crate::nodes::Category::Sink)).collect();
    let mut handle = start_run(plan, RunOptions { keep_error_rows: crate::exec::HISTORY_ERROR_ROWS_PER_NODE, ..RunOptions::default() });

    // First Ctrl-C: stop cleanly (sinks discard partial output). Second: leave at once.
    let stop = handle.stopper();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nstopping… (press Ctrl-C again to quit at once)");
            stop();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(EXIT_INTERRUPTED);
            }
        }
    });

    let mut renderer = match events {
        Some(EventsFormat::Ndjson) => render::RunRenderer::ndjson(),
        None if std::io::stderr().is_terminal() => render::RunRenderer::progress(&titles),
        None => render::RunRenderer::plain(&titles),
    };
    let kept_errors = handle.kept_errors.clone();
    let mut summary = None;
    while let Some(ev) = handle.events.recv().await {
        renderer.event(&ev);
        // The run's last event; the channel itself stays open while the handle lives.
        if let crate::exec::RunEvent::RunFinished { summary: s } = ev {
            summary = Some(s);
            break;
        }
    }
    let summary = match summary {
        Some(s) => s,
        None => handle.wait().await,
    };
    renderer.finish(&summary);
    record_history(path, params, &summary, &kept_errors).await;
    match summary.status {
        RunStatus::Succeeded => EXIT_OK,
        RunStatus::Failed => EXIT_RUN_FAILED,
        RunStatus::Cancelled => EXIT_INTERRUPTED,
    }
}

/// Adds a finished run to the history (`sluice runs`). History is a convenience: when the
/// state file cannot be written the run's outcome stands and only a warning is printed.
async fn record_history(path: &Path, params: &[String], summary: &crate::exec::RunSummary, kept: &crate::exec::ErrorKeeper) {
    let given = parse_params(params).unwrap_or_default();
    if let Err(e) = crate::app::record_history(&crate::app::default_state_dir(), Some(path), &given, summary, kept).await {
        eprintln!("warning: the run was not added to the history: {e}");
    }
}

async fn cmd_preview(path: &Path, node: &str, rows: usize, params: &[String], json: bool) -> i32 {
    let (_flow, plan) = match load_and_plan(path, params) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if plan.node(node).is_none() {
        let ids: Vec<&str> = plan.nodes.iter().map(|n| n.id.as_str()).collect();
        let hint = crate::flow::did_you_mean(node, ids.iter().copied()).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
        eprintln!("error: the flow has no node '{node}'{hint}; its nodes are: {}", ids.join(", "));
        return EXIT_INVALID;
    }
    match preview(plan, node, rows).await {
        Ok(p) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&render::preview_json(&p)).unwrap());
            } else {
                render::print_preview(&p);
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_RUN_FAILED
        }
    }
}

/// Ctrl-C presses, registered from the moment this is made (`tokio::signal::ctrl_c`
/// registers only once first awaited).
pub(crate) struct Interrupts {
    #[cfg(unix)]
    inner: tokio::signal::unix::Signal,
    #[cfg(windows)]
    inner: tokio::signal::windows::CtrlC,
}

impl Interrupts {
    pub(crate) fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        let inner = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        #[cfg(windows)]
        let inner = tokio::signal::windows::ctrl_c()?;
        Ok(Interrupts { inner })
    }

    pub(crate) async fn next(&mut self) {
        self.inner.recv().await;
    }
}
