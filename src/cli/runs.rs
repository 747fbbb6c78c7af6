//! `sluice runs …`: the run history kept in the local state file — the same store the
//! designer's history list reads — and each run's kept failed rows, exportable as CSV or
//! JSON for a colleague or a replay.
#![cfg(feature = "sql")]

use super::{EXIT_INVALID, EXIT_OK};
use crate::exec::RunStatus;
use crate::state::{error_rows_to_csv, StateStore};
use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum RunsCommand {
    /// The newest runs first.
    List {
        /// Only runs of this flow file.
        #[arg(long)]
        flow: Option<PathBuf>,
        /// How many runs to show.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// One run: status, params, rows per node, the error.
    Show {
        /// The run id (a unique prefix is enough).
        run_id: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The failed rows a run kept (its dead letters), with their errors.
    Errors {
        /// The run id (a unique prefix is enough).
        run_id: String,
        /// Only this node's rows.
        #[arg(long)]
        node: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

fn status_word(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Succeeded => "succeeded",
        RunStatus::Failed => "FAILED",
        RunStatus::Cancelled => "stopped",
    }
}

async fn open() -> Result<StateStore, String> {
    StateStore::open_default().await.map_err(|e| e.to_string())
}

/// Runs `sluice runs …`; returns the exit code.
pub async fn runs(cmd: RunsCommand) -> i32 {
    match run(cmd).await {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_INVALID
        }
    }
}

async fn run(cmd: RunsCommand) -> Result<(), String> {
    let store = open().await?;
    match cmd {
        RunsCommand::List { flow, limit, json } => {
            let flow = flow.map(|f| f.canonicalize().unwrap_or(f).to_string_lossy().into_owned());
            let list = store.list_runs(flow.as_deref(), limit).await.map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list).expect("JSON"));
            } else if list.is_empty() {
                println!("no runs recorded yet{}", if flow.is_some() { " for this flow" } else { "" });
            } else {
                let mut table = comfy_table::Table::new();
                table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
                table.set_header(vec!["run", "flow", "status", "started", "took", "failed rows"]);
                for r in &list {
                    table.add_row(vec![
                        r.run_id.clone(),
                        r.flow_name.clone(),
                        status_word(r.status).to_string(),
                        r.started_at.clone(),
                        format!("{:.1} s", r.duration_ms as f64 / 1000.0),
                        r.rows_error.to_string(),
                    ]);
                }
                println!("{table}");
            }
        }
        RunsCommand::Show { run_id, json } => {
            let rec = store.get_run(&run_id).await.map_err(|e| e.to_string())?.ok_or_else(|| no_such_run(&run_id))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rec).expect("JSON"));
                return Ok(());
            }
            let e = &rec.entry;
            println!("run      {}", e.run_id);
            println!("flow     {}{}", e.flow_name, e.flow_path.as_deref().map(|p| format!(" ({p})")).unwrap_or_default());
            println!("status   {}", status_word(e.status));
            println!("started  {}", e.started_at);
            println!("took     {:.2} s", e.duration_ms as f64 / 1000.0);
            if !rec.params.is_empty() {
                let ps: Vec<String> = rec.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                println!("params   {}", ps.join(" "));
            }
            if let Some(err) = &e.error {
                println!("error    {err}");
            }
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
            table.set_header(vec!["node", "state", "rows in", "rows out", "failed", "busy"]);
            for n in &rec.summary.nodes {
                table.add_row(vec![
                    n.node_id.clone(),
                    n.state.map(|s| format!("{s:?}").to_lowercase()).unwrap_or_default(),
                    n.rows_in.to_string(),
                    n.rows_out.to_string(),
                    n.rows_error.to_string(),
                    format!("{} ms", n.busy_ms),
                ]);
            }
            println!("{table}");
            if rec.kept_error_rows > 0 {
                println!("{} failed rows kept: sluice runs errors {}", rec.kept_error_rows, e.run_id);
            }
            for (node, n) in &rec.not_kept_error_rows {
                println!("{n} more failed rows of node '{node}' were counted but not kept");
            }
        }
        RunsCommand::Errors { run_id, node, format, output } => {
            let rec = store.get_run(&run_id).await.map_err(|e| e.to_string())?.ok_or_else(|| no_such_run(&run_id))?;
            let rows = store.run_error_rows(&rec.entry.run_id, node.as_deref(), None).await.map_err(|e| e.to_string())?;
            let text = match format {
                ExportFormat::Csv => error_rows_to_csv(&rows).map_err(|e| format!("cannot write CSV: {e}"))?,
                ExportFormat::Json => serde_json::to_string_pretty(&rows).expect("JSON") + "\n",
            };
            match output {
                Some(path) => {
                    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    eprintln!("wrote {} failed rows to {}", rows.len(), path.display());
                }
                None => print!("{text}"),
            }
        }
    }
    store.close().await;
    Ok(())
}

fn no_such_run(id: &str) -> String {
    format!("no run '{id}' in the history; `sluice runs list` shows the recorded runs")
}
