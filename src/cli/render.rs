//! How the CLI shows things: diagnostics, progress, summaries, the catalog, previews.

use crate::exec::{LogLevel, NodeMetricsSnapshot, NodeState, PreviewResult, RunEvent, RunStatus, RunSummary};
use crate::flow::{Diagnostics, Severity};
use crate::nodes::registry;
use crate::value::{Batch, Schema};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, ContentArrangement, Table};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

pub fn diagnostics_text(path: &Path, diags: &Diagnostics) -> String {
    let mut out = String::new();
    for d in &diags.0 {
        let sev = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut place = path.display().to_string();
        if let (Some(l), Some(c)) = (d.line, d.column) {
            place.push_str(&format!(":{l}:{c}"));
        }
        out.push_str(&format!("{sev}: {place}"));
        if let Some(n) = &d.node_id {
            out.push_str(&format!(": node '{n}'"));
        }
        if let Some(f) = &d.field {
            out.push_str(&format!(", {f}"));
        }
        out.push_str(&format!(": {}\n", d.message));
        if let Some(h) = &d.hint {
            out.push_str(&format!("  hint: {h}\n"));
        }
    }
    out.trim_end().to_string()
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

enum Mode {
    Ndjson,
    Silent,
    Plain { last_progress: Instant },
    Progress { multi: MultiProgress, bars: HashMap<String, ProgressBar> },
}

/// Renders a run's events: progress bars on a terminal, plain lines otherwise, or NDJSON.
pub struct RunRenderer {
    mode: Mode,
    titles: HashMap<String, (String, bool)>,
    errors_shown: usize,
}

impl RunRenderer {
    pub fn ndjson() -> Self {
        RunRenderer { mode: Mode::Ndjson, titles: HashMap::new(), errors_shown: 0 }
    }

    pub fn plain(titles: &[(String, String, bool)]) -> Self {
        RunRenderer { mode: Mode::Plain { last_progress: Instant::now() }, titles: map_titles(titles), errors_shown: 0 }
    }

    pub fn progress(titles: &[(String, String, bool)]) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8));
        let width = titles.iter().map(|t| t.0.chars().count()).max().unwrap_or(4).min(28);
        let mut bars = HashMap::new();
        for (id, _, _) in titles {
            let bar = multi.add(ProgressBar::new(0));
            bar.set_style(spinner_style(width));
            bar.set_prefix(id.clone());
            bar.set_message("waiting");
            bar.enable_steady_tick(Duration::from_millis(120));
            bars.insert(id.clone(), bar);
        }
        RunRenderer { mode: Mode::Progress { multi, bars }, titles: map_titles(titles), errors_shown: 0 }
    }

    pub fn event(&mut self, ev: &RunEvent) {
        match &mut self.mode {
            Mode::Ndjson => {
                use std::io::Write;
                // A closed pipe (`| head`) ends the listening, not the run.
                if writeln!(std::io::stdout(), "{}", serde_json::to_string(ev).expect("events serialise")).is_err() {
                    self.mode = Mode::Silent;
                }
            }
            Mode::Silent => {}
            Mode::Plain { last_progress } => match ev {
                RunEvent::RunStarted { run_id, flow, .. } => eprintln!("run {run_id} of '{flow}' started"),
                RunEvent::NodeState { node_id, state, error } => {
                    let mut line = format!("{node_id}: {}", state_word(*state));
                    if let Some(e) = error {
                        line.push_str(&format!(": {e}"));
                    }
                    eprintln!("{line}");
                }
                RunEvent::Metrics { nodes, .. } if last_progress.elapsed() >= Duration::from_secs(2) => {
                    *last_progress = Instant::now();
                    let parts: Vec<String> = nodes
                        .iter()
                        .filter(|n| n.state == Some(NodeState::Running))
                        .map(|n| format!("{} {} rows", n.node_id, thousands(counted(n, self.titles.get(&n.node_id).is_some_and(|t| t.1)))))
                        .collect();
                    if !parts.is_empty() {
                        eprintln!("progress: {}", parts.join(", "));
                    }
                }
                RunEvent::RowError { node_id, message, line, handled, .. } => {
                    self.errors_shown += 1;
                    if self.errors_shown <= 10 {
                        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
                        let to = if *handled { " → error output" } else { "" };
                        eprintln!("{node_id}: row failed{at}: {message}{to}");
                    }
                }
                RunEvent::Log { level, node_id, message } => print_log(*level, node_id.as_deref(), message),
                _ => {}
            },
            Mode::Progress { multi, bars } => match ev {
                RunEvent::NodeState { node_id, state, error } => {
                    if let Some(bar) = bars.get(node_id) {
                        match state {
                            NodeState::Failed => bar.abandon_with_message(format!("failed: {}", error.clone().unwrap_or_default())),
                            NodeState::Done | NodeState::Stopped => {}
                            _ => {}
                        }
                    }
                }
                RunEvent::Metrics { nodes, .. } => {
                    for n in nodes {
                        let Some(bar) = bars.get(&n.node_id) else { continue };
                        let is_sink = self.titles.get(&n.node_id).is_some_and(|t| t.1);
                        if let Some(total) = n.total_bytes {
                            if bar.length() != Some(total) {
                                bar.set_length(total);
                                bar.set_style(bar_style(bar.prefix().chars().count()));
                            }
                            bar.set_position(n.bytes.min(total));
                        }
                        bar.set_message(metrics_words(n, is_sink));
                        if matches!(n.state, Some(NodeState::Done | NodeState::Stopped)) && !bar.is_finished() {
                            bar.finish_with_message(metrics_words(n, is_sink));
                        }
                    }
                }
                RunEvent::RowError { node_id, message, line, handled, .. } => {
                    self.errors_shown += 1;
                    if self.errors_shown <= 10 {
                        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
                        let to = if *handled { " → error output" } else { "" };
                        let _ = multi.println(format!("{node_id}: row failed{at}: {message}{to}"));
                    }
                }
                RunEvent::Log { level, node_id, message } => {
                    let _ = multi.println(log_line(*level, node_id.as_deref(), message));
                }
                _ => {}
            },
        }
    }

    pub fn finish(&mut self, summary: &RunSummary) {
        if let Mode::Progress { bars, multi } = &mut self.mode {
            for bar in bars.values() {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
            let _ = multi.clear();
        }
        if matches!(self.mode, Mode::Ndjson | Mode::Silent) {
            return;
        }
        eprintln!("{}", summary_table(summary, &self.titles));
        if self.errors_shown > 10 {
            eprintln!("({} more failed rows not shown)", self.errors_shown - 10);
        }
        let secs = summary.duration_ms as f64 / 1000.0;
        match summary.status {
            RunStatus::Succeeded => eprintln!("run succeeded in {secs:.2} s"),
            RunStatus::Failed => eprintln!("run FAILED after {secs:.2} s: {}", summary.error.clone().unwrap_or_default()),
            RunStatus::Cancelled => eprintln!("run stopped after {secs:.2} s; outputs were left unchanged"),
        }
    }
}

fn map_titles(titles: &[(String, String, bool)]) -> HashMap<String, (String, bool)> {
    titles.iter().map(|(id, t, sink)| (id.clone(), (t.clone(), *sink))).collect()
}

fn spinner_style(width: usize) -> ProgressStyle {
    ProgressStyle::with_template(&format!("{{spinner}} {{prefix:<{width}}} {{msg}}")).expect("valid template")
}

fn bar_style(width: usize) -> ProgressStyle {
    ProgressStyle::with_template(&format!("{{spinner}} {{prefix:<{width}}} [{{bar:20}}] {{percent:>3}}% {{msg}}"))
        .expect("valid template")
        .progress_chars("=> ")
}

fn counted(n: &NodeMetricsSnapshot, is_sink: bool) -> u64 {
    if is_sink {
        n.rows_in
    } else {
        n.rows_out
    }
}

fn metrics_words(n: &NodeMetricsSnapshot, is_sink: bool) -> String {
    let rows = counted(n, is_sink);
    let mut s = format!("{} rows", thousands(rows));
    if n.rows_error > 0 {
        s.push_str(&format!(", {} failed", thousands(n.rows_error)));
    }
    if n.rows_per_sec > 0.0 {
        s.push_str(&format!(", {}/s", thousands(n.rows_per_sec as u64)));
    }
    if let Some(st) = n.state {
        if st != NodeState::Running {
            s.push_str(&format!(" — {}", state_word(st)));
        }
    }
    s
}

fn state_word(s: NodeState) -> &'static str {
    match s {
        NodeState::Waiting => "waiting",
        NodeState::Running => "running",
        NodeState::Done => "done",
        NodeState::Failed => "failed",
        NodeState::Stopped => "stopped",
    }
}

fn log_line(level: LogLevel, node: Option<&str>, message: &str) -> String {
    let lvl = match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    match node {
        Some(n) => format!("[{lvl}] {n}: {message}"),
        None => format!("[{lvl}] {message}"),
    }
}

fn print_log(level: LogLevel, node: Option<&str>, message: &str) {
    eprintln!("{}", log_line(level, node, message));
}

fn summary_table(summary: &RunSummary, titles: &HashMap<String, (String, bool)>) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(vec!["node", "state", "rows in", "rows out", "failed", "busy", "rows/s"]);
    for n in &summary.nodes {
        let is_sink = titles.get(&n.node_id).is_some_and(|x| x.1);
        t.add_row(vec![
            Cell::new(&n.node_id),
            Cell::new(n.state.map(state_word).unwrap_or("")),
            Cell::new(thousands(n.rows_in)).set_alignment(CellAlignment::Right),
            Cell::new(if is_sink { "-".to_string() } else { thousands(n.rows_out) }).set_alignment(CellAlignment::Right),
            Cell::new(thousands(n.rows_error)).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.2} s", n.busy_ms as f64 / 1000.0)).set_alignment(CellAlignment::Right),
            Cell::new(thousands(n.rows_per_sec as u64)).set_alignment(CellAlignment::Right),
        ]);
    }
    t.to_string()
}

pub fn print_nodes(kind: Option<&str>, json: bool) -> i32 {
    let catalog = registry().catalog();
    if let Some(k) = kind {
        let Some(entry) = catalog.iter().find(|e| e.meta.kind == k) else {
            let hint = crate::flow::did_you_mean(k, catalog.iter().map(|e| e.meta.kind)).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
            eprintln!("error: no node kind '{k}'{hint}");
            return super::EXIT_INVALID;
        };
        if json {
            println!("{}", serde_json::to_string_pretty(entry).unwrap());
        } else {
            print!("{}", super::docs::node_section(entry));
        }
        return super::EXIT_OK;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&catalog).unwrap());
        return super::EXIT_OK;
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(vec!["kind", "category", "inputs", "outputs", "description"]);
    for e in &catalog {
        let ins: Vec<&str> = e.ports.inputs.iter().map(|p| p.name.as_str()).collect();
        let outs: Vec<&str> = e.ports.outputs.iter().map(|p| p.name.as_str()).collect();
        t.add_row(vec![
            e.meta.kind.to_string(),
            format!("{:?}", e.meta.category).to_lowercase(),
            ins.join(", "),
            outs.join(", "),
            e.meta.description.to_string(),
        ]);
    }
    println!("{t}");
    println!("`sluice nodes KIND` shows one kind's config fields.");
    super::EXIT_OK
}

fn rows_table(schema: &Schema, rows: &[crate::value::Row]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(schema.fields().iter().map(|f| format!("{}\n{}", f.name, f.data_type)).collect::<Vec<_>>());
    for r in rows {
        t.add_row(r.iter().map(|v| v.to_text().unwrap_or_else(|| "∅".into())).collect::<Vec<_>>());
    }
    t
}

pub fn print_preview(p: &PreviewResult) {
    match &p.schema {
        Some(schema) => println!("{}", rows_table(schema, &p.rows)),
        None => println!("(no rows)"),
    }
    let more = if p.truncated { " (more available)" } else { "" };
    println!("{} row{} from {}.{}{more}", p.rows.len(), if p.rows.len() == 1 { "" } else { "s" }, p.node_id, p.port);
    if let (Some(schema), false) = (&p.error_schema, p.error_rows.is_empty()) {
        println!("\nfailed rows:");
        println!("{}", rows_table(schema, &p.error_rows));
    }
}

pub fn preview_json(p: &PreviewResult) -> serde_json::Value {
    let rows = |schema: &Option<crate::value::SchemaRef>, rows: &[crate::value::Row]| -> serde_json::Value {
        match schema {
            Some(s) => rows.iter().map(|r| Batch::row_to_json(s, r)).collect(),
            None => serde_json::json!([]),
        }
    };
    serde_json::json!({
        "node": p.node_id,
        "port": p.port,
        "fields": p.schema.as_ref().map(|s| serde_json::to_value(&**s).unwrap()),
        "rows": rows(&p.schema, &p.rows),
        "truncated": p.truncated,
        "error_rows": rows(&p.error_schema, &p.error_rows),
    })
}
