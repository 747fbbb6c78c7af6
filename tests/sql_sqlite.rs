//! SQL nodes against SQLite (the embedded default): every shared scenario, plus SQLite's
//! own cases — a missing database file, blobs and declared types, connection files that
//! hold a password, and the all-or-nothing run transaction when another node fails.

mod common;
mod sql_shared;

use serde_json::json;
use sluice::connectors::sql::types::ColKind;
use sluice::exec::RunStatus;
use sluice::value::Value;
use sql_shared::{assert_ok, flow, Harness};

async fn sqlite() -> Harness {
    Harness::new(json!({"driver": "sqlite", "path": "test.db"})).await
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_type_round_trip_of_every_value_type() {
    sql_shared::type_round_trip(&sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_sink_modes_insert_upsert_update_delete() {
    sql_shared::sink_modes(&sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_incremental_reads_only_new_rows_and_a_failed_run_keeps_the_watermark() {
    sql_shared::incremental(&sqlite().await, "TIMESTAMP").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_constraint_violation_mid_batch_rejects_only_the_bad_rows() {
    sql_shared::constraint_violation_mid_batch(&sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_wrong_table_column_or_type_names_it() {
    sql_shared::wrong_names(&sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_query_params_are_bound_not_spliced() {
    sql_shared::query_params(&sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_partitioned_read_returns_every_row_once() {
    sql_shared::partitioned_read(&sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_lookup_enriches_rows_with_each_miss_policy() {
    sql_shared::lookup(&sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_unknown_table_is_reported_before_the_run() {
    sql_shared::unknown_table_at_run_time(&sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_missing_database_file_is_a_clear_error_for_a_source() {
    let h = sqlite().await;
    std::fs::write(
        h.base().join("sluice.connections.json"),
        r#"{"connections":[{"name":"gone","driver":"sqlite","path":"nowhere/none.db"}]}"#,
    )
    .unwrap();
    let f = flow(
        &[("read", "sql_source", json!({"connection": "gone", "table": "t"})), ("sink", "log", json!({}))],
        &[("read", "out", "sink")],
    );
    let e = h.plan_errors(&f);
    assert!(e.contains("none.db does not exist"), "{e}");
    assert!(!h.base().join("nowhere").exists(), "a source never creates a database");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_in_a_connections_file_is_refused() {
    let h = sqlite().await;
    std::fs::write(
        h.base().join("sluice.connections.json"),
        r#"{"connections":[{"name":"crm","driver":"postgres","host":"db","password":"hunter2"}]}"#,
    )
    .unwrap();
    let f =
        flow(&[("read", "sql_source", json!({"connection": "crm", "table": "t"})), ("sink", "log", json!({}))], &[("read", "out", "sink")]);
    let e = h.plan_errors(&f);
    assert!(e.contains("connection 'crm'") && e.contains("holds a password") && e.contains("password_env"), "{e}");
    assert!(!e.contains("hunter2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_connection_name_suggests_the_close_one() {
    let h = sqlite().await;
    let f =
        flow(&[("read", "sql_source", json!({"connection": "dbb", "table": "t"})), ("sink", "log", json!({}))], &[("read", "out", "sink")]);
    let e = h.plan_errors(&f);
    assert!(e.contains("no connection named 'dbb'") && e.contains("did you mean 'db'?"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_blobs_uuids_and_loose_values_read_by_declared_type() {
    let h = sqlite().await;
    let t = h.table("loose");
    h.exec(&format!(
        "CREATE TABLE {t} (b BLOB, u UUID, price DECIMAL(10,2), at DATETIME, day DATE, ok BOOLEAN, doc JSON, epoch TIMESTAMP); \
         INSERT INTO {t} VALUES (x'00ff10', '6f1c2d3e-0000-4000-8000-000000000001', '12.50', '2024-03-05 14:30:00', '2024-03-05', 1, '{{\"a\": [1]}}', 1709649000)"
    ))
    .await;
    let f =
        flow(&[("read", "sql_source", json!({"connection": "db", "table": t})), ("sink", "log", json!({}))], &[("read", "out", "sink")]);
    let (s, caps) = h.run(&f, &[("read", "out")]).await;
    assert_ok(&s);
    assert_eq!(
        caps[0].json()[0],
        json!({"b": "\\x00ff10", "u": "6f1c2d3e-0000-4000-8000-000000000001", "price": "12.5", "at": "2024-03-05T14:30:00Z",
               "day": "2024-03-05", "ok": true, "doc": {"a": [1]}, "epoch": "2024-03-05T14:30:00Z"})
    );

    // Bytes written back from their text form land as bytes.
    let t2 = h.table("blobs");
    h.exec(&format!("CREATE TABLE {t2} (b BLOB)")).await;
    let f = flow(
        &[("rows", "inline_rows", json!({"rows": [{"b": "\\x00ff10"}]})), ("write", "sql_sink", json!({"connection": "db", "table": t2}))],
        &[("rows", "out", "write")],
    );
    let (s, _) = h.run(&f, &[]).await;
    assert_ok(&s);
    let got = h.rows(&format!("SELECT hex(b) FROM {t2}"), &[ColKind::Text]).await;
    assert_eq!(got[0][0], Value::str("00FF10"));
    h.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_run_transaction_writes_nothing_when_another_node_fails() {
    let h = sqlite().await;
    let t = h.table("atomic");
    let rows: Vec<_> = (1..=50).map(|i| json!({"id": i, "v": if i == 50 { "boom".to_string() } else { format!("{i}") }})).collect();
    let f = flow(
        &[
            ("rows", "inline_rows", json!({"fields": [{"name": "id", "type": "int"}, {"name": "v", "type": "string"}], "rows": rows})),
            ("write", "sql_sink", json!({"connection": "db", "table": t, "create_table": true, "transaction": "run", "batch_rows": 10})),
            // Fails on the last row, after the sink has written the others.
            ("check", "filter", json!({"condition": "parse_int(v) > 0"})),
            ("sink", "log", json!({})),
        ],
        &[("rows", "out", "write"), ("rows", "out", "check"), ("check", "out", "sink")],
    );
    let (s, _) = h.run(&f, &[]).await;
    assert_eq!(s.status, RunStatus::Failed, "{:?}", s.error);
    let exists = h.db.table_columns(&t).await.unwrap().is_some();
    if exists {
        assert_eq!(h.count(&t).await, 0, "all or nothing: no row of a failed run is committed");
    }
    h.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn previewing_an_incremental_source_does_not_move_its_watermark() {
    let h = sqlite().await;
    let t = h.table("preview");
    h.exec(&format!("CREATE TABLE {t} (id INTEGER, updated_at TIMESTAMP)")).await;
    let values: Vec<String> = (1..=50).map(|i| format!("({i}, '2024-03-01T10:{:02}:00Z')", i)).collect();
    h.exec(&format!("INSERT INTO {t} VALUES {}", values.join(", "))).await;
    let f = flow(
        &[
            ("read", "sql_source", json!({"connection": "db", "table": t, "incremental": {"column": "updated_at"}})),
            ("sink", "log", json!({})),
        ],
        &[("read", "out", "sink")],
    );
    let mut f = f;
    f["settings"] = json!({"batch_size": 5});
    let parsed = sluice::flow::parse_flow_text(&f.to_string()).unwrap();
    let plan = sluice::plan::plan_flow(&parsed, h.base(), &Default::default()).unwrap();
    let p = sluice::exec::preview(plan, "read", 3).await.unwrap();
    assert_eq!(p.rows.len(), 3);
    let store = sluice::state::StateStore::open_default().await.unwrap();
    assert!(store.watermark(&sluice::state::flow_key(h.base()), "read").await.unwrap().is_none(), "a preview stores no watermark");
    // Nor does a preview that reads the whole (small) table to its end.
    let plan = sluice::plan::plan_flow(&parsed, h.base(), &Default::default()).unwrap();
    let p = sluice::exec::preview(plan, "read", 1000).await.unwrap();
    assert_eq!(p.rows.len(), 50);
    assert!(store.watermark(&sluice::state::flow_key(h.base()), "read").await.unwrap().is_none(), "a whole-table preview stores no watermark");
    // A real run does.
    let (s, _) = h.run(&f, &[]).await;
    assert_ok(&s);
    assert_eq!(s.node("read").unwrap().rows_out, 50);
    let w = store.watermark(&sluice::state::flow_key(h.base()), "read").await.unwrap().unwrap();
    assert_eq!(w.value.to_text().unwrap(), "2024-03-01T10:50:00Z");
    store.close().await;
    h.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_pre_and_post_sql_run_several_statements_in_both_transaction_modes() {
    let h = sqlite().await;
    for tx in ["batch", "run"] {
        let t = h.table("prepost");
        let log = h.table("log");
        let f = flow(
            &[
                ("rows", "inline_rows", json!({"rows": [{"id": 1}, {"id": 2}]})),
                (
                    "write",
                    "sql_sink",
                    json!({"connection": "db", "table": t, "transaction": tx,
                        "pre_sql": [format!("CREATE TABLE {t} (id INTEGER); CREATE TABLE {log} (what TEXT)")],
                        "post_sql": [format!("INSERT INTO {log} VALUES ('loaded'); INSERT INTO {log} SELECT 'rows ' || count(*) FROM {t}")]}),
                ),
            ],
            &[("rows", "out", "write")],
        );
        let (s, _) = h.run(&f, &[]).await;
        assert_ok(&s);
        let got = h.rows(&format!("SELECT what FROM {log} ORDER BY what"), &[ColKind::Text]).await;
        assert_eq!(got, vec![vec![Value::str("loaded")], vec![Value::str("rows 2")]], "{tx}");
    }
    h.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_run_transaction_names_a_missing_table_from_inside_the_transaction() {
    // The database file does not exist when the flow is planned, so the table is found
    // missing only inside the run's transaction, which holds SQLite's one connection; the
    // "did you mean" must be read on that connection (asking the pool waited 30 s for it
    // and then claimed the database had no tables).
    let dir = tempfile::tempdir().unwrap();
    let f = json!({
        "version": 1,
        "name": "missing table",
        "nodes": [
            {"id": "rows", "kind": "inline_rows", "config": {"rows": [{"id": 1}]}},
            {"id": "write", "kind": "sql_sink", "config": {
                "url": "sqlite:crm.db", "table": "ticket", "transaction": "run",
                "pre_sql": ["CREATE TABLE tickets (id INTEGER)"]
            }}
        ],
        "edges": [{"from": "rows", "from_port": "out", "to": "write", "to_port": "in"}]
    });
    let (s, _) = common::run_capture(&f.to_string(), dir.path(), &[]).await;
    assert_eq!(s.status, RunStatus::Failed);
    let e = s.error.unwrap_or_default();
    assert!(e.contains("there is no table 'ticket'") && e.contains("did you mean 'tickets'?"), "{e}");
}
