//! SQL nodes against the real PostgreSQL of this machine (127.0.0.1:5432, database `test`,
//! user `postgres`; `scripts/start-services.sh` starts it): every shared scenario, plus
//! PostgreSQL's own types, the server ending the connection in the middle of a load, and a
//! refused login.

mod common;
mod sql_shared;

use serde_json::json;
use sluice::connectors::sql::types::ColKind;
use sluice::connectors::sql::write::Tx;
use sluice::exec::RunStatus;
use sluice::value::Value;
use sql_shared::{assert_ok, flow, Harness};

fn connection() -> serde_json::Value {
    json!({"driver": "postgres", "host": "127.0.0.1", "port": 5432, "database": "test", "user": "postgres"})
}

async fn pg() -> Harness {
    Harness::new(connection()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_type_round_trip_of_every_value_type() {
    sql_shared::type_round_trip(&pg().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_sink_modes_insert_upsert_update_delete() {
    sql_shared::sink_modes(&pg().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_incremental_reads_only_new_rows_and_a_failed_run_keeps_the_watermark() {
    sql_shared::incremental(&pg().await, "TIMESTAMP").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_incremental_by_timestamptz() {
    sql_shared::incremental(&pg().await, "TIMESTAMPTZ").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_constraint_violation_mid_batch_rejects_only_the_bad_rows() {
    sql_shared::constraint_violation_mid_batch(&pg().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_wrong_table_column_or_type_names_it() {
    sql_shared::wrong_names(&pg().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_query_params_are_bound_not_spliced() {
    sql_shared::query_params(&pg().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_partitioned_read_returns_every_row_once() {
    sql_shared::partitioned_read(&pg().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_lookup_enriches_rows_with_each_miss_policy() {
    sql_shared::lookup(&pg().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_unknown_table_is_reported_before_the_run() {
    sql_shared::unknown_table_at_run_time(&pg().await).await;
}

/// uuid, bytea, enums, timestamps with and without zone, exact numerics, json and jsonb,
/// and types Sluice reads as text (interval, arrays) — read, and written back unchanged.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_own_types_read_and_write_back_unchanged() {
    let h = pg().await;
    let t = h.table("pgtypes");
    let t2 = h.table("pgtypes_copy");
    let mood = format!("{t}_mood");
    h.exec(&format!(
        "CREATE TYPE {mood} AS ENUM ('ok', 'angry');
         CREATE TABLE {t} (id int4 PRIMARY KEY, small int2, r real, big numeric(40,10), u uuid, b bytea, m {mood},
           naive timestamp, tz timestamptz, j json, jb jsonb, iv interval, tags text[], c char(3), vc varchar(10));
         INSERT INTO {t} VALUES
           (1, 7, 1.5, 1234567890.0123456789, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff', 'angry',
            '2024-03-05 14:30:00.5', '2024-03-05 14:30:00+08', '{{\"a\":1}}', '{{\"b\": [1, 2]}}', '1 day 02:00', '{{x,y}}', 'ab', 'hello'),
           (2, NULL, NULL, 123456789012345678901234567890.5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
           (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
         CREATE TABLE {t2} (LIKE {t});"
    ))
    .await;
    let read = flow(
        &[("read", "sql_source", json!({"connection": "db", "table": t})), ("sink", "log", json!({})), ("bad", "log", json!({}))],
        &[("read", "out", "sink"), ("read", "error", "bad")],
    );
    let (s, caps) = h.run(&read, &[("read", "out"), ("read", "error")]).await;
    assert_ok(&s);
    let mut rows = caps[0].json();
    rows.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(
        rows[0],
        json!({"id": 1, "small": 7, "r": 1.5, "big": "1234567890.0123456789", "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "b": "\\x00ff",
               "m": "angry", "naive": "2024-03-05T14:30:00.500Z", "tz": "2024-03-05T06:30:00Z", "j": {"a": 1}, "jb": {"b": [1, 2]},
               "iv": "1 day 02:00:00", "tags": "{x,y}", "c": "ab ", "vc": "hello"})
    );
    // A numeric wider than Sluice's 28 digits is not rounded: its row leaves by `error`.
    let errs = caps[1].json();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0]["id"], json!(2));
    assert_eq!(errs[0]["_error_field"], json!("big"));
    assert!(errs[0]["_error_message"].as_str().unwrap().contains("28 significant digits"), "{}", errs[0]);

    let copy = flow(
        &[
            ("read", "sql_source", json!({"connection": "db", "table": t})),
            ("write", "sql_sink", json!({"connection": "db", "table": t2})),
            ("bad", "log", json!({})),
        ],
        &[("read", "out", "write"), ("read", "error", "bad")],
    );
    let (s, _) = h.run(&copy, &[]).await;
    assert_ok(&s);
    let cols = "id, small, r, big, u, b, m, naive, tz, j::text, jb, iv, tags, c, vc";
    let diff = h
        .rows(&format!("SELECT count(*) FROM (SELECT {cols} FROM {t} WHERE id <> 2 EXCEPT SELECT {cols} FROM {t2}) d"), &[ColKind::Int64])
        .await;
    assert_eq!(diff[0][0], Value::Int(0), "every value came back unchanged");
    assert_eq!(h.count(&t2).await, 2);
    h.exec(&format!("DROP TABLE IF EXISTS {t}; DROP TABLE IF EXISTS {t2}; DROP TYPE IF EXISTS {mood}")).await;
    h.cleanup().await;
}

/// The server ends the sink's connection (pg_terminate_backend from another connection)
/// while a run-long transaction is open: the run fails with a clear message and no row of
/// it is committed.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_server_ending_the_connection_mid_load_commits_nothing() {
    let h = pg().await;
    let t = h.table("killed");
    let app = format!("sluice_kill_{}", t);
    let mut victim = connection();
    victim["options"] = json!({"application_name": app});
    h.add_connection("victim", victim);
    h.exec(&format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT)")).await;

    // Another session holds key 150, so the sink's second batch waits on it: the load is
    // then stopped half-way, deterministically.
    let blocker = h.other_connection().await;
    let mut hold = Tx::begin(&blocker).await.unwrap();
    hold.exec(&blocker, &format!("INSERT INTO {t} VALUES (150, 'held')")).await.unwrap();

    let rows: Vec<_> = (1..=300).map(|i| json!({"id": i, "name": format!("n{i}")})).collect();
    let mut f = flow(
        &[
            ("rows", "inline_rows", json!({"fields": [{"name": "id", "type": "int"}, {"name": "name", "type": "string"}], "rows": rows})),
            ("write", "sql_sink", json!({"connection": "victim", "table": t, "transaction": "run", "batch_rows": 100})),
        ],
        &[("rows", "out", "write")],
    );
    f["settings"] = json!({"batch_size": 50});
    let base = h.base().to_path_buf();
    let text = f.to_string();
    let run = tokio::spawn(async move { common::run_capture(&text, &base, &[]).await.0 });

    // Wait until the sink's backend is waiting on the lock, then end it from here.
    let pid = loop {
        let r = h
            .rows(
                &format!("SELECT pid::int8 FROM pg_stat_activity WHERE application_name = '{app}' AND wait_event_type = 'Lock'"),
                &[ColKind::Int64],
            )
            .await;
        if let Some(Value::Int(pid)) = r.first().map(|r| r[0].clone()) {
            break pid;
        }
        assert!(!run.is_finished(), "the run ended before it could be interrupted");
        tokio::task::yield_now().await;
    };
    h.exec(&format!("SELECT pg_terminate_backend({pid})")).await;
    hold.rollback().await;

    let s = run.await.unwrap();
    assert_eq!(s.status, RunStatus::Failed);
    let e = s.error.unwrap();
    assert!(
        e.contains("connection 'victim'") && (e.contains("ended the connection") || e.contains("connection to the server was lost")),
        "{e}"
    );
    assert_eq!(h.count(&t).await, 0, "nothing of the interrupted run is committed");
    blocker.close().await;
    h.cleanup().await;
}

/// A login the server refuses fails before any row moves, says whose login and where the
/// password came from, and never shows the password. (The local server trusts every
/// login, so an unknown role is what it refuses.)
#[tokio::test(flavor = "multi_thread")]
async fn postgres_refused_login_is_clear_and_never_shows_the_password() {
    let h = pg().await;
    std::env::set_var("SLUICE_TEST_PG_SECRET", "s3cret-Pa55");
    h.add_connection(
        "badlogin",
        json!({"driver": "postgres", "host": "127.0.0.1", "port": 5432, "database": "test", "user": "sluice_no_such_role", "password_env": "SLUICE_TEST_PG_SECRET"}),
    );
    let f = flow(
        &[("read", "sql_source", json!({"connection": "badlogin", "query": "SELECT 1 AS one"})), ("sink", "log", json!({}))],
        &[("read", "out", "sink")],
    );
    let (s, _) = h.run(&f, &[]).await;
    assert_eq!(s.status, RunStatus::Failed);
    let e = s.error.unwrap();
    assert!(e.contains("connection 'badlogin'") && e.contains("refused the login") && e.contains("SLUICE_TEST_PG_SECRET"), "{e}");
    assert!(!e.contains("s3cret-Pa55"), "{e}");
}

/// `pre_sql` runs the bench's DDL (several statements) and COPY loads into the new table.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_pre_sql_runs_several_statements_before_the_load() {
    let h = pg().await;
    let t = h.table("presql");
    let ddl = format!("DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (id bigint NOT NULL, at timestamptz NOT NULL, sat smallint)");
    let f = flow(
        &[
            (
                "rows",
                "inline_rows",
                json!({"fields": [{"name": "id", "type": "int"}, {"name": "at", "type": "datetime"}, {"name": "sat", "type": "int"}],
                "rows": [{"id": 1, "at": "2024-01-01T00:00:30+08:00", "sat": 4}, {"id": 2, "at": "2024-01-01T00:02:05+08:00"}]}),
            ),
            ("write", "sql_sink", json!({"connection": "db", "table": t, "pre_sql": [ddl]})),
        ],
        &[("rows", "out", "write")],
    );
    let (s, _) = h.run(&f, &[]).await;
    assert_ok(&s);
    let got = h
        .rows(
            &format!("SELECT id, extract(epoch from at)::int8, sat::int8 FROM {t} ORDER BY id"),
            &[ColKind::Int64, ColKind::Int64, ColKind::Int64],
        )
        .await;
    assert_eq!(
        got,
        vec![vec![Value::Int(1), Value::Int(1704038430), Value::Int(4)], vec![Value::Int(2), Value::Int(1704038525), Value::Null]]
    );
    h.cleanup().await;
}

/// A query returning a type Sluice cannot decode is refused before the run, naming the
/// column and the cast to write; the same column read through `table` comes as text.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_query_with_an_unreadable_type_asks_for_a_cast() {
    let h = pg().await;
    let t = h.table("intervals");
    h.exec(&format!("CREATE TABLE {t} (id int, took interval); INSERT INTO {t} VALUES (1, '90 minutes')")).await;
    let f = flow(
        &[("read", "sql_source", json!({"connection": "db", "query": format!("SELECT id, took FROM {t}")})), ("sink", "log", json!({}))],
        &[("read", "out", "sink")],
    );
    let e = h.plan_errors(&f);
    assert!(e.contains("cannot read: took") && e.contains("took::text AS took"), "{e}");
    let f =
        flow(&[("read", "sql_source", json!({"connection": "db", "table": t})), ("sink", "log", json!({}))], &[("read", "out", "sink")]);
    let (s, caps) = h.run(&f, &[("read", "out")]).await;
    assert_ok(&s);
    assert_eq!(caps[0].json(), vec![json!({"id": 1, "took": "01:30:00"})]);
    h.cleanup().await;
}

/// The run-long transaction fails only at COMMIT (a deferred constraint): the run fails,
/// and the source's watermark — whose action runs before the sink's commit — is not stored.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_failed_final_commit_keeps_the_watermark() {
    let h = pg().await;
    let src = h.table("src_commit");
    let dst = h.table("dst_commit");
    h.exec(&format!(
        "CREATE TABLE {src} (id int, updated_at timestamptz); INSERT INTO {src} VALUES (1, '2024-03-01 10:00Z'), (2, '2024-03-01 11:00Z');
         CREATE TABLE {dst} (id int, updated_at timestamptz, CONSTRAINT {dst}_u UNIQUE (id) DEFERRABLE INITIALLY DEFERRED);
         INSERT INTO {dst} VALUES (1, NULL);"
    ))
    .await;
    let f = flow(
        &[
            ("read", "sql_source", json!({"connection": "db", "table": src, "incremental": {"column": "updated_at"}})),
            ("write", "sql_sink", json!({"connection": "db", "table": dst, "transaction": "run"})),
        ],
        &[("read", "out", "write")],
    );
    let (s, _) = h.run(&f, &[]).await;
    assert_eq!(s.status, RunStatus::Failed);
    let e = s.error.unwrap();
    assert!(e.contains("committing the run's rows failed"), "{e}");
    let store = sluice::state::StateStore::open_default().await.unwrap();
    assert!(store.watermark(&sluice::state::flow_key(h.base()), "read").await.unwrap().is_none(), "the watermark waits for the commit");
    store.close().await;
    assert_eq!(h.count(&dst).await, 1);
    h.cleanup().await;
}
