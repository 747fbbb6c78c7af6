//! `sluice connections …` and `sluice state …`: the command-line side of database
//! connections and of the local state of incremental flows. Thin: the work is in
//! [`crate::connectors::sql::connections`], [`crate::connectors::sql::db`] and
//! [`crate::state`]; this file parses arguments and prints.
//!
//! Left out: editing connection files from the command line (they are small JSON files,
//! meant to be edited and committed).

use crate::connectors::sql::connections::{user_connections_file, visible_connections, ConnectionSpec, PasswordSource, PROJECT_FILE};
use crate::connectors::sql::db::{Access, Db};
use crate::state::{flow_key, StateStore, WatermarkEntry};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::time::Duration;

const EXIT_OK: i32 = 0;
const EXIT_FAILED: i32 = 1;
const EXIT_INVALID: i32 = 2;

/// `sluice connections …`
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum ConnectionsCommand {
    /// List the connections flows in a folder can use (project file, then your own).
    List {
        /// The folder to look from (default: the current folder).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Connect to one and run a trivial query.
    Test {
        /// The connection's name.
        name: String,
        /// The folder to look from (default: the current folder).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Store a connection's password in the OS keychain (read from standard input).
    SetPassword {
        /// The connection's name (the keychain account; service "sluice").
        name: String,
    },
}

/// `sluice state …`
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum StateCommand {
    /// Show the watermarks stored for a flow's incremental sources.
    Show {
        /// The flow file.
        flow: PathBuf,
        /// Only this node.
        #[arg(long)]
        node: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Forget a flow's watermarks, so the next run reads every row again.
    Reset {
        /// The flow file.
        flow: PathBuf,
        /// Only this node.
        #[arg(long)]
        node: Option<String>,
    },
}

fn password_words(p: &PasswordSource) -> String {
    match p {
        PasswordSource::None => "none".into(),
        PasswordSource::Env(v) => format!("env {v}"),
        PasswordSource::Keyring => "keychain".into(),
        PasswordSource::EnvOrKeyring(v) => format!("env {v}, else keychain"),
        PasswordSource::Inline(_) => "in the URL".into(),
    }
}

/// Runs `sluice connections …`; returns the exit code.
pub async fn connections(cmd: ConnectionsCommand) -> i32 {
    let here = |dir: Option<PathBuf>| dir.unwrap_or_else(|| std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")));
    match cmd {
        ConnectionsCommand::List { dir, json } => {
            let dir = here(dir);
            let found = match visible_connections(&dir) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("error: {}{}", e.message, e.hint.map(|h| format!(" ({h})")).unwrap_or_default());
                    return EXIT_INVALID;
                }
            };
            let mut rows = Vec::new();
            for f in &found {
                match ConnectionSpec::from_found(f) {
                    Ok(spec) => rows.push(serde_json::json!({
                        "name": spec.name,
                        "driver": spec.driver.name(),
                        "target": spec.target_text(),
                        "password": password_words(&spec.password),
                        "defined_in": f.file,
                        "description": f.def.description,
                    })),
                    Err(e) => rows.push(
                        serde_json::json!({"name": f.def.name, "driver": f.def.driver.name(), "error": e.message, "defined_in": f.file}),
                    ),
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&rows).expect("JSON"));
            } else if rows.is_empty() {
                println!(
                    "no connections: define them in {PROJECT_FILE} (this folder or a parent) or in {}",
                    user_connections_file().map(|p| p.display().to_string()).unwrap_or_else(|| "~/.config/sluice/connections.json".into())
                );
            } else {
                let mut table = comfy_table::Table::new();
                table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
                table.set_header(vec!["name", "driver", "target", "password", "defined in"]);
                for r in &rows {
                    let s = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                    let target = r.get("error").and_then(|v| v.as_str()).map(|e| format!("error: {e}")).unwrap_or_else(|| s("target"));
                    table.add_row(vec![s("name"), s("driver"), target, s("password"), s("defined_in")]);
                }
                println!("{table}");
            }
            EXIT_OK
        }
        ConnectionsCommand::Test { name, dir } => {
            let dir = here(dir);
            let spec = match ConnectionSpec::for_node(Some(&name), None, &dir) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {}{}", e.message, e.hint.map(|h| format!(" ({h})")).unwrap_or_default());
                    return EXIT_INVALID;
                }
            };
            match test_connection(&spec).await {
                Ok(version) => {
                    println!("ok: {spec}: {version}");
                    EXIT_OK
                }
                Err(e) => {
                    eprintln!("failed: {e}");
                    EXIT_FAILED
                }
            }
        }
        ConnectionsCommand::SetPassword { name } => set_password(&name),
    }
}

/// Connects (reading, so a missing SQLite file is reported, not created) and asks the
/// server its version.
pub async fn test_connection(spec: &ConnectionSpec) -> Result<String, String> {
    let db = Db::connect(spec, Access::Read, 1, Duration::from_secs(10)).await.map_err(|e| e.message)?;
    let v = db.ping().await.map_err(|e| e.message);
    db.close().await;
    v
}

#[cfg(feature = "keychain")]
fn set_password(name: &str) -> i32 {
    use std::io::BufRead;
    eprintln!("password for connection '{name}' (one line, read from standard input):");
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() || line.trim_end_matches(['\r', '\n']).is_empty() {
        eprintln!("error: no password given");
        return EXIT_INVALID;
    }
    match crate::connectors::sql::connections::store_keyring_password(name, line.trim_end_matches(['\r', '\n'])) {
        Ok(()) => {
            println!("stored in the OS keychain (service sluice, account {name}); set \"password_keyring\": true on the connection");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}

#[cfg(not(feature = "keychain"))]
fn set_password(_name: &str) -> i32 {
    eprintln!("error: this build of Sluice has no OS keychain support (feature `keychain`); use password_env");
    EXIT_INVALID
}

/// The flow's folder key and the ids of its incremental sources; `Err` is a message.
fn flow_nodes(flow: &Path) -> Result<(String, Vec<String>), String> {
    let (doc, base) = crate::flow::load_flow_file(flow).map_err(|d| d.to_string())?;
    let ids = doc
        .nodes
        .iter()
        .filter(|n| n.kind == "sql_source" && n.config.get("incremental").is_some_and(|i| !i.is_null()))
        .map(|n| n.id.clone())
        .collect();
    Ok((flow_key(&base), ids))
}

/// Checks `--node` against the flow's incremental sources.
fn check_node(flow: &Path, node: Option<&str>, ids: &[String]) -> Result<(), String> {
    match node {
        Some(n) if !ids.iter().any(|i| i == n) => {
            let hint =
                crate::flow::did_you_mean(n, ids.iter().map(String::as_str)).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
            Err(if ids.is_empty() {
                format!("{} has no incremental sql_source node", flow.display())
            } else {
                format!("{} has no incremental source '{n}'{hint}; it has: {}", flow.display(), ids.join(", "))
            })
        }
        _ => Ok(()),
    }
}

/// The stored watermarks of a flow (optionally one node).
pub async fn state_entries(flow: &Path, node: Option<&str>) -> Result<Vec<WatermarkEntry>, String> {
    let (key, ids) = flow_nodes(flow)?;
    check_node(flow, node, &ids)?;
    let store = StateStore::open_default().await.map_err(|e| e.to_string())?;
    let all = store.watermarks(Some(&key)).await.map_err(|e| e.to_string())?;
    store.close().await;
    Ok(all.into_iter().filter(|e| node.is_none_or(|n| n == e.node_id)).collect())
}

/// Forgets a flow's watermarks (optionally one node's); returns how many.
pub async fn state_reset(flow: &Path, node: Option<&str>) -> Result<u64, String> {
    let (key, ids) = flow_nodes(flow)?;
    check_node(flow, node, &ids)?;
    let store = StateStore::open_default().await.map_err(|e| e.to_string())?;
    let n = store.reset(&key, node).await.map_err(|e| e.to_string())?;
    store.close().await;
    Ok(n)
}

/// Runs `sluice state …`; returns the exit code.
pub async fn state(cmd: StateCommand) -> i32 {
    match cmd {
        StateCommand::Show { flow, node, json } => match state_entries(&flow, node.as_deref()).await {
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_INVALID
            }
            Ok(entries) if json => {
                println!("{}", serde_json::to_string_pretty(&entries).expect("JSON"));
                EXIT_OK
            }
            Ok(entries) if entries.is_empty() => {
                println!("no watermark stored for {}: its next run reads every row", flow.display());
                EXIT_OK
            }
            Ok(entries) => {
                let mut table = comfy_table::Table::new();
                table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
                table.set_header(vec!["node", "column", "type", "newest value read", "stored at"]);
                for e in &entries {
                    table.add_row(vec![e.node_id.clone(), e.column.clone(), e.value_type.clone(), e.value.clone(), e.updated_at.clone()]);
                }
                println!("{table}");
                EXIT_OK
            }
        },
        StateCommand::Reset { flow, node } => match state_reset(&flow, node.as_deref()).await {
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_INVALID
            }
            Ok(n) => {
                println!(
                    "removed {n} watermark{}: the next run of {} reads every row{}",
                    if n == 1 { "" } else { "s" },
                    flow.display(),
                    node.map(|n| format!(" at node {n}")).unwrap_or_default()
                );
                EXIT_OK
            }
        },
    }
}
