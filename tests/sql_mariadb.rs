//! SQL nodes against the real MariaDB of this machine (127.0.0.1:3306, database `test`,
//! user `root` without a password; `scripts/start-services.sh` starts it): every shared
//! scenario, plus MariaDB's own types, the server killing the connection in the middle of a
//! load, and a wrong password.

mod common;
mod sql_shared;

use serde_json::json;
use sluice::connectors::sql::types::ColKind;
use sluice::connectors::sql::write::Tx;
use sluice::exec::RunStatus;
use sluice::value::Value;
use sql_shared::{assert_ok, flow, Harness};

fn connection() -> serde_json::Value {
    json!({"driver": "mysql", "host": "127.0.0.1", "port": 3306, "database": "test", "user": "root"})
}

async fn maria() -> Harness {
    Harness::new(connection()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_type_round_trip_of_every_value_type() {
    sql_shared::type_round_trip(&maria().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_sink_modes_insert_upsert_update_delete() {
    sql_shared::sink_modes(&maria().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_incremental_reads_only_new_rows_and_a_failed_run_keeps_the_watermark() {
    sql_shared::incremental(&maria().await, "DATETIME(6)").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_constraint_violation_mid_batch_rejects_only_the_bad_rows() {
    sql_shared::constraint_violation_mid_batch(&maria().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_wrong_table_column_or_type_names_it() {
    sql_shared::wrong_names(&maria().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_query_params_are_bound_not_spliced() {
    sql_shared::query_params(&maria().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_partitioned_read_returns_every_row_once() {
    sql_shared::partitioned_read(&maria().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_lookup_enriches_rows_with_each_miss_policy() {
    sql_shared::lookup(&maria().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_unknown_table_is_reported_before_the_run() {
    sql_shared::unknown_table_at_run_time(&maria().await).await;
}

/// Unsigned, boolean, enum, set, exact decimals, DATETIME(6) and TIMESTAMP, TIME, JSON,
/// blobs, UUID, YEAR — read, and written back unchanged.
#[tokio::test(flavor = "multi_thread")]
async fn mariadb_own_types_read_and_write_back_unchanged() {
    let h = maria().await;
    let t = h.table("mytypes");
    let t2 = h.table("mytypes_copy");
    h.exec(&format!(
        "CREATE TABLE {t} (id INT PRIMARY KEY, ub BIGINT UNSIGNED, ok TINYINT(1), m ENUM('ok','angry'), s SET('a','b'),
           big DECIMAL(30,10), dt DATETIME(6), ts TIMESTAMP NULL, tm TIME, j JSON, b BLOB, vb VARBINARY(8), u UUID, y YEAR, small SMALLINT, f FLOAT);
         INSERT INTO {t} VALUES (1, 18446744073709551615, 1, 'angry', 'a,b', 123456789012345678.0123456789, '2024-03-05 14:30:00.123456',
           '2024-03-05 06:30:00', '02:03:04', '{{\"a\": [1, 2]}}', x'00ff', x'0102', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 2024, -7, 1.5);
         CREATE TABLE {t2} LIKE {t};"
    ))
    .await;
    let read =
        flow(&[("read", "sql_source", json!({"connection": "db", "table": t})), ("sink", "log", json!({}))], &[("read", "out", "sink")]);
    let (s, caps) = h.run(&read, &[("read", "out")]).await;
    assert_ok(&s);
    assert_eq!(
        caps[0].json()[0],
        json!({"id": 1, "ub": "18446744073709551615", "ok": true, "m": "angry", "s": "a,b", "big": "123456789012345678.0123456789",
               "dt": "2024-03-05T14:30:00.123456Z", "ts": "2024-03-05T06:30:00Z", "tm": "02:03:04", "j": {"a": [1, 2]}, "b": "\\x00ff",
               "vb": "\\x0102", "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "y": 2024, "small": -7, "f": 1.5})
    );
    let copy = flow(
        &[("read", "sql_source", json!({"connection": "db", "table": t})), ("write", "sql_sink", json!({"connection": "db", "table": t2}))],
        &[("read", "out", "write")],
    );
    let (s, _) = h.run(&copy, &[]).await;
    assert_ok(&s);
    // JSON is compared as JSON (the copy is written compactly).
    let cols = ["id", "ub", "ok", "m", "s", "big", "dt", "ts", "tm", "b", "vb", "u", "y", "small", "f"];
    let side = |p: &str| cols.iter().map(|c| format!("{p}.{c}")).collect::<Vec<_>>().join(", ");
    let same = h
        .rows(
            &format!(
                "SELECT CAST(COUNT(*) AS SIGNED) FROM {t} a JOIN {t2} b USING (id) WHERE ({}) = ({}) AND JSON_EQUALS(a.j, b.j)",
                side("a"),
                side("b")
            ),
            &[ColKind::Int64],
        )
        .await;
    assert_eq!(same[0][0], Value::Int(1), "every value came back unchanged");
    h.cleanup().await;
}

/// The server kills the sink's connection (KILL from another connection) while a
/// run-long transaction is open: the run fails with a clear message and nothing of it is
/// committed.
#[tokio::test(flavor = "multi_thread")]
async fn mariadb_server_killing_the_connection_mid_load_commits_nothing() {
    let h = maria().await;
    let t = h.table("killed");
    h.exec(&format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, name VARCHAR(20))")).await;
    let blocker = h.other_connection().await;
    let mut hold = Tx::begin(&blocker).await.unwrap();
    hold.exec(&blocker, &format!("INSERT INTO {t} VALUES (150, 'held')")).await.unwrap();

    let rows: Vec<_> = (1..=300).map(|i| json!({"id": i, "name": format!("n{i}")})).collect();
    let mut f = flow(
        &[
            ("rows", "inline_rows", json!({"fields": [{"name": "id", "type": "int"}, {"name": "name", "type": "string"}], "rows": rows})),
            ("write", "sql_sink", json!({"connection": "db", "table": t, "transaction": "run", "batch_rows": 100})),
        ],
        &[("rows", "out", "write")],
    );
    f["settings"] = json!({"batch_size": 50});
    let base = h.base().to_path_buf();
    let text = f.to_string();
    let run = tokio::spawn(async move { common::run_capture(&text, &base, &[]).await.0 });

    // Wait until the sink is inside its INSERT (the second one waits on key 150), then
    // kill its connection from here.
    let thread = loop {
        let r = h
            .rows(
                &format!("SELECT CAST(id AS SIGNED) FROM information_schema.processlist WHERE state = 'Update' AND info LIKE 'INSERT INTO `{t}`%'"),
                &[ColKind::Int64],
            )
            .await;
        if let Some(Value::Int(id)) = r.first().map(|r| r[0].clone()) {
            break id;
        }
        if run.is_finished() {
            panic!("the run ended before it could be interrupted: {:?}", run.await.unwrap().error);
        }
        tokio::task::yield_now().await;
    };
    h.exec(&format!("KILL {thread}")).await;
    hold.rollback().await;

    let s = run.await.unwrap();
    assert_eq!(s.status, RunStatus::Failed);
    let e = s.error.unwrap();
    assert!(
        e.contains("connection 'db'") && (e.contains("ended the connection") || e.contains("connection to the server was lost")),
        "{e}"
    );
    assert_eq!(h.count(&t).await, 0, "nothing of the interrupted run is committed");
    blocker.close().await;
    h.cleanup().await;
}

/// A wrong password fails before any row moves, names the connection and where the
/// password came from, and never shows it.
#[tokio::test(flavor = "multi_thread")]
async fn mariadb_wrong_password_is_clear_and_never_shows_the_password() {
    let h = maria().await;
    std::env::set_var("SLUICE_TEST_MY_SECRET", "wr0ng-Pa55word");
    let mut def = connection();
    def["password_env"] = json!("SLUICE_TEST_MY_SECRET");
    h.add_connection("badpw", def);
    let f = flow(
        &[("read", "sql_source", json!({"connection": "badpw", "query": "SELECT 1 AS one"})), ("sink", "log", json!({}))],
        &[("read", "out", "sink")],
    );
    let (s, _) = h.run(&f, &[]).await;
    assert_eq!(s.status, RunStatus::Failed);
    let e = s.error.unwrap();
    assert!(e.contains("connection 'badpw'") && e.contains("refused the login") && e.contains("SLUICE_TEST_MY_SECRET"), "{e}");
    assert!(!e.contains("wr0ng-Pa55word"), "{e}");
}
