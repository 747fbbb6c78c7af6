//! `sluice dlq …`: the dead letters `dead_letter` nodes kept — list, show, replay through
//! the node that failed them once its target is back, purge.
#![cfg(feature = "sql")]

use super::{parse_params, EXIT_INVALID, EXIT_OK, EXIT_RUN_FAILED};
use crate::exec::{start_run, RunEvent, RunOptions, RunStatus};
use crate::flow::{load_flow_file, replay_flow, FlowFile};
use crate::state::{flow_key, DeadLetter, StateStore};
use clap::{Subcommand, ValueEnum};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How many kept rows one replay run sends (a replay of more runs several times).
const REPLAY_CHUNK: u32 = 10_000;

#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum DlqCommand {
    /// Counts of kept rows per flow folder, dead-letter node and failing node.
    List {
        /// Only this flow's dead letters.
        flow: Option<PathBuf>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// A flow's kept rows, oldest first, with their errors.
    Show {
        /// The flow file.
        flow: PathBuf,
        /// Only this dead-letter node's rows.
        #[arg(long)]
        node: Option<String>,
        /// How many rows to show.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
        format: ShowFormat,
    },
    /// Sends the kept rows through the node that failed them again (and everything after
    /// it). Delivered rows are removed; rows that fail again are kept again.
    Replay {
        /// The flow file.
        flow: PathBuf,
        /// Only this dead-letter node's rows.
        #[arg(long)]
        node: Option<String>,
        /// Flow params, as for `sluice run`.
        #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
        params: Vec<String>,
    },
    /// Deletes a flow's dead letters (kept, and pending ones of runs that died).
    Purge {
        /// The flow file.
        flow: PathBuf,
        /// Only this dead-letter node's rows.
        #[arg(long)]
        node: Option<String>,
        /// Required: purging cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum ShowFormat {
    Table,
    Json,
    Csv,
}

/// Runs `sluice dlq …`; returns the exit code.
pub async fn dlq(cmd: DlqCommand) -> i32 {
    match run(cmd).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_INVALID
        }
    }
}

/// The flow, its folder key, and its dead-letter node ids (checked against `--node`).
fn flow_and_nodes(path: &Path, node: Option<&str>) -> Result<(FlowFile, PathBuf, String, Vec<String>), String> {
    let (flow, base) = load_flow_file(path).map_err(|d| d.to_string())?;
    let ids: Vec<String> = flow.nodes.iter().filter(|n| n.kind == "dead_letter").map(|n| n.id.clone()).collect();
    if let Some(n) = node {
        if !ids.iter().any(|i| i == n) {
            let hint = crate::flow::did_you_mean(n, ids.iter().map(String::as_str)).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
            return Err(if ids.is_empty() {
                format!("{} has no dead_letter node", path.display())
            } else {
                format!("{} has no dead_letter node '{n}'{hint}; it has: {}", path.display(), ids.join(", "))
            });
        }
    }
    let key = flow_key(&base);
    Ok((flow, base, key, ids))
}

async fn run(cmd: DlqCommand) -> Result<i32, String> {
    let store = StateStore::open_default().await.map_err(|e| e.to_string())?;
    let code = match cmd {
        DlqCommand::List { flow, json } => {
            let key = match &flow {
                Some(f) => Some(flow_and_nodes(f, None)?.2),
                None => None,
            };
            let groups = store.dead_letter_groups(key.as_deref()).await.map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&groups).expect("JSON"));
            } else if groups.is_empty() {
                println!("no dead letters{}", if flow.is_some() { " for this flow" } else { "" });
            } else {
                let mut table = comfy_table::Table::new();
                table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
                table.set_header(vec!["flow folder", "dead-letter node", "failed in", "kept", "pending", "oldest", "newest"]);
                for g in &groups {
                    table.add_row(vec![
                        g.flow_key.clone(),
                        g.dlq_node.clone(),
                        g.failed_node.clone(),
                        g.kept.to_string(),
                        g.pending.to_string(),
                        g.oldest.clone(),
                        g.newest.clone(),
                    ]);
                }
                println!("{table}");
                if groups.iter().any(|g| g.pending > 0) {
                    println!("pending rows belong to runs that never finished; `sluice dlq purge FLOW --yes` removes them");
                }
            }
            EXIT_OK
        }
        DlqCommand::Show { flow, node, limit, format } => {
            let (_, _, key, _) = flow_and_nodes(&flow, node.as_deref())?;
            let rows = store.dead_letters(&key, node.as_deref(), 0, limit).await.map_err(|e| e.to_string())?;
            match format {
                ShowFormat::Json => println!("{}", serde_json::to_string_pretty(&rows).expect("JSON")),
                ShowFormat::Csv => print!("{}", dead_letters_csv(&rows).map_err(|e| format!("cannot write CSV: {e}"))?),
                ShowFormat::Table if rows.is_empty() => println!("no dead letters kept for {}", flow.display()),
                ShowFormat::Table => {
                    let mut table = comfy_table::Table::new();
                    table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
                    table.set_header(vec!["id", "kept at", "failed in", "error", "row"]);
                    for r in &rows {
                        table.add_row(vec![
                            r.id.to_string(),
                            r.created_at.clone(),
                            r.failed_node.clone(),
                            r.message.clone(),
                            serde_json::Value::Object(r.row.clone()).to_string(),
                        ]);
                    }
                    println!("{table}");
                }
            }
            EXIT_OK
        }
        DlqCommand::Replay { flow: path, node, params } => replay(&store, &path, node.as_deref(), &params).await?,
        DlqCommand::Purge { flow, node, yes } => {
            let (_, _, key, _) = flow_and_nodes(&flow, node.as_deref())?;
            if !yes {
                return Err("purging deletes the dead letters for good; add --yes to confirm (`sluice dlq show` lists them first)".into());
            }
            let n = store.purge_dead_letters(&key, node.as_deref()).await.map_err(|e| e.to_string())?;
            println!("{n} dead letters deleted");
            EXIT_OK
        }
    };
    store.close().await;
    Ok(code)
}

/// Replays in chunks, one run per chunk and failing node, oldest rows first. Stops at the
/// first run that does not succeed (its rows stay kept).
async fn replay(store: &StateStore, path: &Path, node: Option<&str>, params: &[String]) -> Result<i32, String> {
    let (flow, base, key, dlq_nodes) = flow_and_nodes(path, node)?;
    if dlq_nodes.is_empty() {
        return Err(format!("{} has no dead_letter node", path.display()));
    }
    let given = parse_params(params)?;
    let (mut delivered, mut failed_again) = (0u64, 0u64);
    // Only the rows kept before the replay began: rows that fail again are kept anew, with
    // higher ids, and must wait for the next replay (or this one would never end).
    let Some(last_id) = store.last_dead_letter_id(&key, node).await.map_err(|e| e.to_string())? else {
        println!("no dead letters to replay for {}", path.display());
        return Ok(EXIT_OK);
    };
    let mut after_id = 0i64;
    while after_id < last_id {
        let mut chunk = store.dead_letters(&key, node, after_id, REPLAY_CHUNK).await.map_err(|e| e.to_string())?;
        chunk.retain(|r| r.id <= last_id);
        let Some(last) = chunk.last() else { break };
        after_id = last.id;
        // One run per failing node and field layout (rows of one node may come from runs
        // with different input fields).
        let mut groups: BTreeMap<(String, String), Vec<&DeadLetter>> = BTreeMap::new();
        for r in &chunk {
            let layout = serde_json::to_string(&r.fields).unwrap_or_default();
            groups.entry((r.failed_node.clone(), layout)).or_default().push(r);
        }
        for ((failed_node, _), rows) in groups {
            let replayed = replay_flow(&flow, &failed_node, &rows[0].fields, rows.iter().map(|r| r.row.clone()).collect())?;
            let plan = crate::plan::plan_flow(&replayed, &base, &given).map_err(|d| format!("the replay flow is not valid:\n{d}"))?;
            eprintln!("replaying {} rows through '{failed_node}'…", rows.len());
            let mut handle = start_run(plan, RunOptions::default());
            let mut summary = None;
            while let Some(ev) = handle.events.recv().await {
                if let RunEvent::RunFinished { summary: s } = ev {
                    summary = Some(s);
                    break;
                }
            }
            let summary = match summary {
                Some(s) => s,
                None => handle.wait().await,
            };
            if summary.status != RunStatus::Succeeded {
                if let Some(e) = &summary.error {
                    let at = summary.failed_node.as_deref().map(|n| format!(" (node '{n}')")).unwrap_or_default();
                    eprintln!("error{at}: {e}");
                }
                eprintln!("the replay through '{failed_node}' failed; its {} rows stay kept. Fix the cause and replay again", rows.len());
                return Ok(EXIT_RUN_FAILED);
            }
            let again = summary.nodes.iter().find(|n| n.node_id == failed_node).map(|n| n.rows_error).unwrap_or(0);
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            store.delete_dead_letters(&ids).await.map_err(|e| e.to_string())?;
            delivered += rows.len() as u64 - again.min(rows.len() as u64);
            failed_again += again;
        }
    }
    if delivered == 0 && failed_again == 0 {
        println!("no dead letters to replay for {}", path.display());
    } else {
        println!("{delivered} rows delivered, {failed_again} failed again and are kept as new dead letters");
    }
    Ok(EXIT_OK)
}

/// Dead letters as CSV: id, time, failing node, error, then the row's fields in the order
/// first seen.
fn dead_letters_csv(rows: &[DeadLetter]) -> Result<String, csv::Error> {
    let mut fields: Vec<String> = Vec::new();
    for r in rows {
        for k in r.row.keys() {
            if !fields.contains(k) {
                fields.push(k.clone());
            }
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["_dlq_id", "_kept_at", "_failed_node", "_error_message", "_error_field"];
    header.extend(fields.iter().map(String::as_str));
    w.write_record(&header)?;
    for r in rows {
        let mut rec = vec![r.id.to_string(), r.created_at.clone(), r.failed_node.clone(), r.message.clone(), r.field.clone().unwrap_or_default()];
        rec.extend(fields.iter().map(|f| match r.row.get(f) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        }));
        w.write_record(&rec)?;
    }
    Ok(String::from_utf8(w.into_inner().map_err(|e| e.into_error())?).unwrap_or_default())
}

