//! Dead letters end to end through the CLI: a CRM table (SQLite) that refuses rows while
//! "down" (a trigger), a `dead_letter` node on the sink's error output, then
//! `sluice dlq list|show|replay|purge`. Every row must reach the CRM exactly once, and none
//! may be lost while the target stays down.
#![cfg(feature = "sql")]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    dir: PathBuf,
    state: PathBuf,
}

impl Env {
    fn new(name: &str) -> Env {
        let dir = std::env::temp_dir().join(format!("sluice-dlq-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let state = dir.join("state");
        Env { dir, state }
    }

    fn sluice(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_sluice")).args(args).current_dir(&self.dir).env("SLUICE_STATE_DIR", &self.state).output().expect("sluice runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.sluice(args);
        assert!(out.status.success(), "sluice {args:?} failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).expect("JSON output")
    }

    fn db(&self) -> PathBuf {
        self.dir.join("crm.db")
    }

    /// Runs SQL on the CRM database with the `sqlite3`-free route: a tiny flow would be
    /// overkill, so sqlx through a runtime of our own.
    fn sql(&self, sql: &str) -> Vec<Vec<Value>> {
        let url = format!("sqlite:{}?mode=rwc", self.db().display());
        let sql = sql.to_string();
        tokio::runtime::Runtime::new().unwrap().block_on(async move {
            use sqlx::{Connection, Row};
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let mut out = Vec::new();
            for stmt in sql.split(";;") {
                let rows = sqlx::query(stmt).fetch_all(&mut c).await.unwrap_or_else(|e| panic!("{stmt}: {e}"));
                for r in rows {
                    out.push((0..r.columns().len()).map(|i| r.try_get::<i64, _>(i).map(Value::from).or_else(|_| r.try_get::<String, _>(i).map(Value::from)).unwrap_or(Value::Null)).collect());
                }
            }
            out
        })
    }
}

const FLOW: &str = r#"{
  "version": 1,
  "name": "tickets to CRM",
  "nodes": [
    {"id": "tickets", "kind": "inline_rows", "config": {
      "fields": [{"name": "id", "type": "int"}, {"name": "subject", "type": "string"}, {"name": "opened", "type": "datetime"}],
      "rows": [
        {"id": 1, "subject": "退款", "opened": "2024-03-01T08:00:00Z"},
        {"id": 2, "subject": "login fails", "opened": "2024-03-01T09:30:00Z"},
        {"id": 3, "subject": "invoice, \"copy\"", "opened": "2024-03-02T10:00:00Z"},
        {"id": 4, "subject": "late parcel", "opened": "2024-03-02T11:15:00Z"},
        {"id": 5, "subject": "password", "opened": "2024-03-03T12:00:00Z"}
      ]}},
    {"id": "crm", "kind": "sql_sink", "config": {"url": "sqlite:crm.db", "table": "crm_tickets", "batch_rows": 2}},
    {"id": "dlq", "kind": "dead_letter", "config": {}}
  ],
  "edges": [
    {"from": "tickets", "from_port": "out", "to": "crm", "to_port": "in"},
    {"from": "crm", "from_port": "error", "to": "dlq", "to_port": "in"}
  ]
}"#;

/// A CRM table that refuses the rows `refuse` selects while `crm_status.down` is 1.
fn setup(name: &str, refuse: &str) -> Env {
    let env = Env::new(name);
    std::fs::write(env.dir.join("crm.flow.json"), FLOW).unwrap();
    env.sql(&format!(
        "CREATE TABLE crm_tickets (id INTEGER PRIMARY KEY, subject TEXT NOT NULL, opened TEXT NOT NULL);;\
         CREATE TABLE crm_status (down INTEGER NOT NULL);;\
         INSERT INTO crm_status VALUES (1);;\
         CREATE TRIGGER crm_down BEFORE INSERT ON crm_tickets WHEN (SELECT down FROM crm_status) = 1 AND ({refuse}) \
         BEGIN SELECT RAISE(ABORT, 'CRM is down for maintenance'); END"
    ));
    env
}

fn crm_ids(env: &Env) -> Vec<i64> {
    env.sql("SELECT id FROM crm_tickets ORDER BY id").into_iter().map(|r| r[0].as_i64().unwrap()).collect()
}

fn kept(env: &Env) -> Vec<Value> {
    env.json(&["dlq", "show", "crm.flow.json", "--format", "json", "--limit", "1000"]).as_array().unwrap().clone()
}

fn path(env: &Env) -> &Path {
    &env.dir
}

#[test]
fn rows_refused_while_the_crm_is_down_are_kept_and_replayed_exactly_once() {
    let env = setup("partial", "NEW.id % 2 = 1");
    env.ok(&["run", "crm.flow.json"]);
    assert_eq!(crm_ids(&env), [2, 4], "the rows the CRM accepted");

    let rows = kept(&env);
    let ids: Vec<i64> = rows.iter().map(|r| r["row"]["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [1, 3, 5], "the refused rows are kept");
    assert!(rows.iter().all(|r| r["failed_node"] == "crm" && r["dlq_node"] == "dlq" && r["state"] == "kept"));
    assert!(rows[0]["message"].as_str().unwrap().contains("CRM is down"), "{}", rows[0]["message"]);
    assert_eq!(rows[1]["row"]["subject"], "invoice, \"copy\"");
    assert_eq!(rows[0]["row"]["subject"], "退款");
    assert!(rows[0]["run_id"].as_str().is_some_and(|r| !r.is_empty()));

    let groups = env.json(&["dlq", "list", "--json"]);
    assert_eq!(groups.as_array().unwrap().len(), 1);
    assert_eq!(groups[0]["kept"], 3);
    assert_eq!(groups[0]["pending"], 0);

    // Still down: the replay fails the same rows again, and they stay kept.
    let out = env.ok(&["dlq", "replay", "crm.flow.json"]);
    assert!(out.contains("0 rows delivered, 3 failed again"), "{out}");
    assert_eq!(kept(&env).len(), 3);
    assert_eq!(crm_ids(&env), [2, 4]);

    // Back up: the replay delivers them, and the dead letters are gone.
    env.sql("UPDATE crm_status SET down = 0");
    let out = env.ok(&["dlq", "replay", "crm.flow.json"]);
    assert!(out.contains("3 rows delivered, 0 failed again"), "{out}");
    assert_eq!(crm_ids(&env), [1, 2, 3, 4, 5], "every row exactly once");
    let opened = env.sql("SELECT opened, subject FROM crm_tickets WHERE id = 3");
    assert!(opened[0][0].as_str().unwrap().starts_with("2024-03-02"), "{opened:?}");
    assert_eq!(opened[0][1], "invoice, \"copy\"");
    assert!(kept(&env).is_empty());
    let out = env.ok(&["dlq", "replay", "crm.flow.json"]);
    assert!(out.contains("no dead letters to replay"), "{out}");
    let _ = std::fs::remove_dir_all(path(&env));
}

#[test]
fn a_target_that_stays_down_loses_nothing_and_purge_needs_confirmation() {
    let env = setup("down", "1 = 1");
    env.ok(&["run", "crm.flow.json"]);
    env.ok(&["run", "crm.flow.json"]);
    assert!(crm_ids(&env).is_empty());
    // Two runs, five rows each: all ten failures are kept (the source re-sends every run).
    assert_eq!(kept(&env).len(), 10);
    let csv = env.ok(&["dlq", "show", "crm.flow.json", "--format", "csv", "--limit", "1"]);
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), "_dlq_id,_kept_at,_failed_node,_error_message,_error_field,id,subject,opened");
    assert!(lines.next().unwrap().contains(",crm,"), "{csv}");

    let refused = env.sluice(&["dlq", "purge", "crm.flow.json"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert_eq!(kept(&env).len(), 10);
    let wrong = env.sluice(&["dlq", "show", "crm.flow.json", "--node", "dql"]);
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("did you mean 'dlq'"), "{}", String::from_utf8_lossy(&wrong.stderr));
    let out = env.ok(&["dlq", "purge", "crm.flow.json", "--yes"]);
    assert!(out.contains("10 dead letters deleted"), "{out}");
    assert!(kept(&env).is_empty());
    let _ = std::fs::remove_dir_all(path(&env));
}

#[test]
fn a_failed_run_keeps_no_dead_letters() {
    let env = setup("failed", "1 = 1");
    // A second branch fails the run (a script error with no error output wired) after
    // the sink refused rows; the run's input will be read again, so nothing is kept.
    let mut flow: Value = serde_json::from_str(FLOW).unwrap();
    flow["nodes"].as_array_mut().unwrap().push(serde_json::json!({"id": "boom", "kind": "compute", "config": {"fields": [{"field": "x", "type": "int", "expression": "if id == 5 { throw \"no\" } else { 1 }"}]}}));
    flow["nodes"].as_array_mut().unwrap().push(serde_json::json!({"id": "out", "kind": "log", "config": {}}));
    flow["edges"].as_array_mut().unwrap().push(serde_json::json!({"from": "tickets", "from_port": "out", "to": "boom", "to_port": "in"}));
    flow["edges"].as_array_mut().unwrap().push(serde_json::json!({"from": "boom", "from_port": "out", "to": "out", "to_port": "in"}));
    std::fs::write(env.dir.join("crm.flow.json"), serde_json::to_string_pretty(&flow).unwrap()).unwrap();
    let out = env.sluice(&["run", "crm.flow.json"]);
    assert!(!out.status.success(), "the run fails: {}", String::from_utf8_lossy(&out.stderr));
    assert!(kept(&env).is_empty());
    let groups = env.json(&["dlq", "list", "crm.flow.json", "--json"]);
    assert_eq!(groups, serde_json::json!([]), "no pending rows left either");
    let _ = std::fs::remove_dir_all(path(&env));
}
