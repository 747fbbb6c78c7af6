//! Scenarios every SQL dialect must pass (SQLite, PostgreSQL, MariaDB), each run through
//! real flows against a real database. `tests/sql_<dialect>.rs` calls them with a
//! [`Harness`] for its server and adds what is particular to that server.
//!
//! Every table a test makes has a name unique to the process and the test, and is dropped
//! at the end; each harness has its own folder (so its own flow key in the state store).
#![allow(dead_code)]

use crate::common::{plan_errors, run_capture, Captured};
use serde_json::{json, Value as J};
use sluice::connectors::sql::connections::{ConnectionSpec, Driver};
use sluice::connectors::sql::db::{Access, Db};
use sluice::connectors::sql::read::fetch_all;
use sluice::connectors::sql::types::ColKind;
use sluice::exec::{RunStatus, RunSummary};
use sluice::state::{flow_key, StateStore};
use sluice::value::{DataType, Row, Value};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// One process-wide state folder and an empty user config, before any flow runs.
pub fn setup_env() {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        std::env::set_var("SLUICE_STATE_DIR", d.path().join("state"));
        std::env::set_var("SLUICE_CONFIG_DIR", d.path().join("config"));
        d
    });
}

/// A database to test against, with its own folder and connections file.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub driver: Driver,
    pub db: Db,
    tables: std::sync::Mutex<Vec<String>>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Harness {
    /// `connection` is the definition written to `sluice.connections.json` as "db".
    pub async fn new(connection: J) -> Harness {
        setup_env();
        let dir = tempfile::tempdir().unwrap();
        let mut def = connection;
        def["name"] = json!("db");
        std::fs::write(dir.path().join("sluice.connections.json"), json!({"connections": [def]}).to_string()).unwrap();
        let spec = ConnectionSpec::for_node(Some("db"), None, dir.path()).unwrap();
        let db = Db::connect(&spec, Access::Write, 2, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test database {spec}: {e} (start it with scripts/start-services.sh)"));
        Harness { dir, driver: spec.driver, db, tables: Default::default() }
    }

    /// Adds a connection beside "db" in the folder's connections file.
    pub fn add_connection(&self, name: &str, mut def: J) {
        let path = self.dir.path().join("sluice.connections.json");
        let mut doc: J = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        def["name"] = json!(name);
        doc["connections"].as_array_mut().unwrap().push(def);
        std::fs::write(path, doc.to_string()).unwrap();
    }

    /// A second, independent connection to the same database.
    pub async fn other_connection(&self) -> Db {
        let spec = ConnectionSpec::for_node(Some("db"), None, self.dir.path()).unwrap();
        Db::connect(&spec, Access::Write, 1, Duration::from_secs(10)).await.unwrap()
    }

    pub fn base(&self) -> &Path {
        self.dir.path()
    }

    /// A fresh table name, dropped by [`Harness::cleanup`].
    pub fn table(&self, what: &str) -> String {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("sl{}_{n}_{what}", std::process::id());
        self.tables.lock().unwrap().push(name.clone());
        name
    }

    pub fn q(&self, ident: &str) -> String {
        self.driver.quote_ident(ident)
    }

    pub async fn exec(&self, sql: &str) {
        self.db.execute_script(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub async fn rows(&self, sql: &str, kinds: &[ColKind]) -> Vec<Row> {
        fetch_all(&self.db, sql, &[], kinds).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub async fn count(&self, table: &str) -> i64 {
        let r = self.rows(&format!("SELECT CAST(COUNT(*) AS {}) FROM {}", self.bigint(), self.q(table)), &[ColKind::Int64]).await;
        match r[0][0] {
            Value::Int(n) => n,
            ref other => panic!("count: {other:?}"),
        }
    }

    pub fn bigint(&self) -> &'static str {
        match self.driver {
            Driver::Mysql => "SIGNED",
            _ => "BIGINT",
        }
    }

    pub async fn cleanup(&self) {
        let tables: Vec<String> = self.tables.lock().unwrap().drain(..).collect();
        for t in tables {
            let _ = self.db.execute_script(&format!("DROP TABLE IF EXISTS {}", self.driver.quote_ident(&t))).await;
        }
    }

    pub async fn run(&self, flow: &J, taps: &[(&str, &str)]) -> (RunSummary, Vec<Captured>) {
        run_capture(&flow.to_string(), self.base(), taps).await
    }

    pub fn plan_errors(&self, flow: &J) -> String {
        plan_errors(&flow.to_string(), self.base())
    }
}

/// A flow from nodes `(id, kind, config)` and edges `(from, port, to)`.
pub fn flow(nodes: &[(&str, &str, J)], edges: &[(&str, &str, &str)]) -> J {
    json!({
        "version": 1,
        "name": "sql test",
        "nodes": nodes.iter().map(|(id, kind, config)| json!({"id": id, "kind": kind, "config": config})).collect::<Vec<_>>(),
        "edges": edges.iter().map(|(from, port, to)| json!({"from": from, "from_port": port, "to": to, "to_port": "in"})).collect::<Vec<_>>(),
    })
}

pub fn assert_ok(s: &RunSummary) {
    assert_eq!(s.status, RunStatus::Succeeded, "run failed: {:?}", s.error);
}

/// Every Sluice value type, written with `create_table` and read back: values and field
/// types come back as they went in.
pub async fn type_round_trip(h: &Harness) {
    let t = h.table("types");
    let fields = json!([
        {"name": "id", "type": "int"}, {"name": "flag", "type": "bool"}, {"name": "big", "type": "int"},
        {"name": "ratio", "type": "float"}, {"name": "amount", "type": "decimal"}, {"name": "note", "type": "string"},
        {"name": "day", "type": "date"}, {"name": "at", "type": "datetime"}, {"name": "payload", "type": "json"}
    ]);
    let rows = json!([
        {"id": 1, "flag": true, "big": 9007199254740993i64, "ratio": 0.1, "amount": "12345678901234.5678", "note": "王秀英 \"quoted\"\ttab\nline \\ back",
         "day": "2024-03-05", "at": "2024-03-05T14:30:00.123456+08:00", "payload": {"tags": ["vip", 1], "n": null}},
        {"id": 2, "flag": false, "big": -42, "ratio": -1.5e10, "amount": "-0.0001", "note": "", "day": "1999-12-31", "at": "2000-01-01T00:00:00Z", "payload": [1, 2, 3]},
        {"id": 3}
    ]);
    let write = flow(
        &[
            ("rows", "inline_rows", json!({"fields": fields, "rows": rows})),
            ("write", "sql_sink", json!({"connection": "db", "table": t, "create_table": true, "key": ["id"]})),
        ],
        &[("rows", "out", "write")],
    );
    let (s, _) = h.run(&write, &[]).await;
    assert_ok(&s);
    let read =
        flow(&[("read", "sql_source", json!({"connection": "db", "table": t})), ("sink", "log", json!({}))], &[("read", "out", "sink")]);
    let (s, caps) = h.run(&read, &[("read", "out")]).await;
    assert_ok(&s);
    let mut got = caps[0].clone();
    got.rows.sort_by_key(|r| match r[0] {
        Value::Int(i) => i,
        _ => i64::MAX,
    });
    let got = &got;
    let types: Vec<(String, DataType)> = got.schema.as_ref().unwrap().fields().iter().map(|f| (f.name.clone(), f.data_type)).collect();
    let want_types: Vec<(String, DataType)> =
        serde_json::from_value::<Vec<sluice::value::Field>>(fields.clone()).unwrap().into_iter().map(|f| (f.name, f.data_type)).collect();
    assert_eq!(types, want_types, "field types after the round trip");
    let schema = sluice::value::Schema::new(serde_json::from_value(fields).unwrap());
    for (i, row) in rows.as_array().unwrap().iter().enumerate() {
        for (j, f) in schema.fields().iter().enumerate() {
            let want = match row.get(&f.name) {
                None => Value::Null,
                Some(v) => Value::from_json_as(v, f.data_type).unwrap(),
            };
            assert_eq!(got.rows[i][j], want, "row {} field {}", i + 1, f.name);
        }
    }
    h.cleanup().await;
}

/// Insert, upsert, update and delete by key, with the table created from the fields.
pub async fn sink_modes(h: &Harness) {
    let t = h.table("modes");
    let fields = json!([{"name": "id", "type": "int"}, {"name": "name", "type": "string"}, {"name": "score", "type": "decimal"}]);
    let run_mode = |mode: &str, rows: J, extra: J| {
        let mut cfg = json!({"connection": "db", "table": t, "mode": mode, "key": ["id"], "create_table": true, "batch_rows": 2});
        for (k, v) in extra.as_object().unwrap() {
            cfg[k] = v.clone();
        }
        flow(
            &[("rows", "inline_rows", json!({"fields": fields, "rows": rows})), ("write", "sql_sink", cfg), ("bad", "log", json!({}))],
            &[("rows", "out", "write"), ("write", "error", "bad")],
        )
    };
    let (s, _) = h
        .run(
            &run_mode(
                "insert",
                json!([{"id": 1, "name": "a", "score": "1.5"}, {"id": 2, "name": "b", "score": "2"}, {"id": 3, "name": "c"}]),
                json!({}),
            ),
            &[],
        )
        .await;
    assert_ok(&s);
    assert_eq!(h.count(&t).await, 3);
    let (s, _) = h.run(&run_mode("upsert", json!([{"id": 2, "name": "B", "score": "20"}, {"id": 4, "name": "d", "score": "4"}, {"id": 2, "name": "B2", "score": "21"}]), json!({})), &[]).await;
    assert_ok(&s);
    let (s, caps) = h
        .run(
            &run_mode(
                "update",
                json!([{"id": 3, "name": "C", "score": "3.25"}, {"id": 99, "name": "nobody"}]),
                json!({"unmatched": "error", "transaction": "run"}),
            ),
            &[("write", "error")],
        )
        .await;
    assert_ok(&s);
    let err = caps[0].json();
    assert_eq!(err.len(), 1, "{err:?}");
    assert_eq!(err[0]["id"], json!(99));
    assert!(err[0]["_error_message"].as_str().unwrap().contains("has id = int 99"), "{}", err[0]["_error_message"]);
    let (s, _) = h.run(&run_mode("delete", json!([{"id": 1}]), json!({"fields": ["id"]})), &[]).await;
    assert_ok(&s);
    let got = h
        .rows(
            &format!("SELECT {}, {}, {} FROM {} ORDER BY {}", h.q("id"), h.q("name"), h.q("score"), h.q(&t), h.q("id")),
            &[ColKind::Int64, ColKind::Text, ColKind::Decimal],
        )
        .await;
    let got: Vec<(i64, String, String)> = got
        .iter()
        .map(|r| {
            let Value::Int(id) = r[0] else { panic!("{r:?}") };
            let score = match &r[2] {
                Value::Decimal(d) => d.normalize().to_string(),
                other => format!("{other:?}"),
            };
            (id, r[1].to_text().unwrap(), score)
        })
        .collect();
    assert_eq!(
        got,
        vec![(2, "B2".to_string(), "21".to_string()), (3, "C".into(), "3.25".into()), (4, "d".into(), "4".into())],
        "after insert 1,2,3; upsert 2 (twice), 4; update 3; delete 1"
    );
    h.cleanup().await;
}

/// Incremental sync: only new rows on the next run; a failed run keeps the watermark (and,
/// with `transaction: run`, writes nothing).
pub async fn incremental(h: &Harness, ts_type: &str) {
    let src = h.table("src");
    let dst = h.table("dst");
    h.exec(&format!(
        "CREATE TABLE {} ({} INTEGER PRIMARY KEY, {} VARCHAR(40), {} {ts_type})",
        h.q(&src),
        h.q("id"),
        h.q("name"),
        h.q("updated_at")
    ))
    .await;
    let insert = |rows: &[(i64, &str, &str)]| {
        let values: Vec<String> = rows.iter().map(|(i, n, t)| format!("({i}, '{n}', '{t}')")).collect();
        format!("INSERT INTO {} ({}, {}, {}) VALUES {}", h.q(&src), h.q("id"), h.q("name"), h.q("updated_at"), values.join(", "))
    };
    h.exec(&insert(&[(1, "a", "2024-03-01 10:00:00"), (2, "b", "2024-03-01 11:00:00"), (3, "c", "2024-03-02 09:00:00")])).await;
    let sync = |post_sql: Option<&str>| {
        let mut sink =
            json!({"connection": "db", "table": dst, "mode": "upsert", "key": ["id"], "create_table": true, "transaction": "run"});
        if let Some(p) = post_sql {
            sink["post_sql"] = json!([p]);
        }
        flow(
            &[
                ("read", "sql_source", json!({"connection": "db", "table": src, "incremental": {"column": "updated_at"}})),
                ("write", "sql_sink", sink),
            ],
            &[("read", "out", "write")],
        )
    };
    let key = flow_key(h.base());
    let stored = || async {
        let store = StateStore::open_default().await.unwrap();
        let w = store.watermark(&key, "read").await.unwrap();
        store.close().await;
        w.map(|w| w.value.to_text().unwrap())
    };

    let (s, _) = h.run(&sync(None), &[]).await;
    assert_ok(&s);
    assert_eq!(s.node("read").unwrap().rows_out, 3);
    assert_eq!(stored().await.as_deref(), Some("2024-03-02T09:00:00Z"));

    h.exec(&insert(&[(4, "d", "2024-03-03 08:00:00"), (5, "e", "2024-03-03 08:30:00")])).await;
    h.exec(&format!(
        "UPDATE {} SET {} = 'B', {} = '2024-03-03 09:00:00' WHERE {} = 2",
        h.q(&src),
        h.q("name"),
        h.q("updated_at"),
        h.q("id")
    ))
    .await;
    let (s, _) = h.run(&sync(None), &[]).await;
    assert_ok(&s);
    assert_eq!(s.node("read").unwrap().rows_out, 3, "rows 4, 5 and the updated 2 only");
    assert_eq!(h.count(&dst).await, 5);
    let before = stored().await;
    assert_eq!(before.as_deref(), Some("2024-03-03T09:00:00Z"));

    // A run that fails at its very end: nothing written, the watermark stays.
    h.exec(&insert(&[(6, "f", "2024-03-04 12:00:00")])).await;
    let (s, _) = h.run(&sync(Some("SELECT * FROM no_such_table_for_sluice_tests")), &[]).await;
    assert_eq!(s.status, RunStatus::Failed);
    assert!(s.error.as_deref().unwrap().contains("post_sql 1"), "{:?}", s.error);
    assert_eq!(stored().await, before, "a failed run must not move the watermark");
    assert_eq!(h.count(&dst).await, 5, "nothing of the failed run is committed");

    let (s, _) = h.run(&sync(None), &[]).await;
    assert_ok(&s);
    assert_eq!(s.node("read").unwrap().rows_out, 1, "the failed run's row is read again");
    assert_eq!(h.count(&dst).await, 6);
    assert_eq!(stored().await.as_deref(), Some("2024-03-04T12:00:00Z"));

    // Nothing new: nothing read, watermark unchanged.
    let (s, _) = h.run(&sync(None), &[]).await;
    assert_ok(&s);
    assert_eq!(s.node("read").unwrap().rows_out, 0);
    assert_eq!(stored().await.as_deref(), Some("2024-03-04T12:00:00Z"));
    h.cleanup().await;
}

/// A constraint violation in the middle of a batch rejects only the bad rows, each with the
/// database's message, in both transaction modes and through the bulk path (COPY on
/// PostgreSQL, multi-row INSERT on MySQL).
pub async fn constraint_violation_mid_batch(h: &Harness) {
    for tx in ["batch", "run"] {
        for mode in ["insert", "upsert"] {
            let t = h.table("cv");
            h.exec(&format!("CREATE TABLE {} ({} INTEGER PRIMARY KEY, {} VARCHAR(20) NOT NULL)", h.q(&t), h.q("id"), h.q("name"))).await;
            h.exec(&format!("INSERT INTO {} VALUES (2, 'existing')", h.q(&t))).await;
            let rows: Vec<J> = (1..=8)
                .map(|i| match i {
                    4 => json!({"id": i}),
                    6 if mode == "insert" => json!({"id": 2, "name": "duplicate"}),
                    _ => json!({"id": i * 10, "name": format!("n{i}")}),
                })
                .collect();
            let f = flow(
                &[
                    (
                        "rows",
                        "inline_rows",
                        json!({"fields": [{"name": "id", "type": "int"}, {"name": "name", "type": "string"}], "rows": rows}),
                    ),
                    ("write", "sql_sink", json!({"connection": "db", "table": t, "mode": mode, "key": ["id"], "transaction": tx})),
                    ("bad", "log", json!({})),
                ],
                &[("rows", "out", "write"), ("write", "error", "bad")],
            );
            let (s, caps) = h.run(&f, &[("write", "error")]).await;
            assert_ok(&s);
            let errs = caps[0].json();
            let want_bad = if mode == "insert" { 2 } else { 1 };
            assert_eq!(errs.len(), want_bad, "{tx}/{mode}: {errs:#?}");
            let null_row = errs.iter().find(|e| e["id"] == json!(4)).expect("the row without a name is rejected");
            let msg = null_row["_error_message"].as_str().unwrap().to_lowercase();
            assert!(msg.contains(&format!("table '{t}' refused the row")), "{msg}");
            assert!(msg.contains("null"), "the database's own message is kept: {msg}");
            if mode == "insert" {
                let dup = errs.iter().find(|e| e["name"] == json!("duplicate")).expect("the duplicate key is rejected");
                let m = dup["_error_message"].as_str().unwrap().to_lowercase();
                assert!(m.contains("duplicate") || m.contains("unique"), "{m}");
            }
            assert_eq!(h.count(&t).await, 1 + 8 - want_bad as i64, "{tx}/{mode}: every other row of the batch is written");
        }
    }
    h.cleanup().await;
}

/// Wrong names are caught before the run, naming the table or column with a suggestion.
pub async fn wrong_names(h: &Harness) {
    let t = h.table("tickets");
    h.exec(&format!("CREATE TABLE {} ({} INTEGER, {} VARCHAR(20))", h.q(&t), h.q("id"), h.q("name"))).await;
    let typo = format!("{}s", t);
    let f =
        flow(&[("read", "sql_source", json!({"connection": "db", "table": typo})), ("sink", "log", json!({}))], &[("read", "out", "sink")]);
    let e = h.plan_errors(&f);
    assert!(e.contains(&format!("has no table '{typo}'")) && e.contains(&format!("did you mean '{t}'?")), "{e}");

    let f = flow(
        &[
            (
                "rows",
                "inline_rows",
                json!({"fields": [{"name": "id", "type": "int"}, {"name": "nmae", "type": "string"}], "rows": [{"id": 1, "nmae": "x"}]}),
            ),
            ("write", "sql_sink", json!({"connection": "db", "table": t})),
        ],
        &[("rows", "out", "write")],
    );
    let e = h.plan_errors(&f);
    assert!(e.contains("has no column 'nmae'") && e.contains("did you mean 'name'?"), "{e}");

    let f = flow(
        &[
            ("rows", "inline_rows", json!({"fields": [{"name": "id", "type": "json"}], "rows": [{"id": {"a": 1}}]})),
            ("write", "sql_sink", json!({"connection": "db", "table": t})),
        ],
        &[("rows", "out", "write")],
    );
    let e = h.plan_errors(&f);
    assert!(e.contains("field 'id' is json but column 'id'"), "{e}");

    // At run time too (the check cannot see fields typed by a query): a value that does not
    // fit its column is a row error naming the column.
    let f = flow(
        &[
            (
                "rows",
                "inline_rows",
                json!({"fields": [{"name": "id", "type": "string"}, {"name": "name", "type": "string"}], "rows": [{"id": "x1", "name": "a"}, {"id": "7", "name": "b"}]}),
            ),
            ("write", "sql_sink", json!({"connection": "db", "table": t})),
            ("bad", "log", json!({})),
        ],
        &[("rows", "out", "write"), ("write", "error", "bad")],
    );
    let (s, caps) = h.run(&f, &[("write", "error")]).await;
    assert_ok(&s);
    let errs = caps[0].json();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0]["_error_field"], json!("id"));
    assert!(
        errs[0]["_error_message"].as_str().unwrap().contains(&format!("column 'id' of '{t}': \"x1\" is not a whole number")),
        "{}",
        errs[0]
    );
    assert_eq!(h.count(&t).await, 1);
    h.cleanup().await;
}

/// Query parameters are bound: quotes and SQL in a value are data.
pub async fn query_params(h: &Harness) {
    let t = h.table("people");
    h.exec(&format!("CREATE TABLE {} ({} INTEGER, {} VARCHAR(40))", h.q(&t), h.q("id"), h.q("name"))).await;
    h.exec(&format!("INSERT INTO {} VALUES (1, 'O''Neil'), (2, 'Smith'), (3, 'x'' OR ''1''=''1')", h.q(&t))).await;
    let read = |name: &str| {
        flow(
            &[
                (
                    "read",
                    "sql_source",
                    json!({"connection": "db", "query": format!("SELECT {} FROM {} WHERE {} = :name AND {} > :min", h.q("id"), h.q(&t), h.q("name"), h.q("id")), "params": {"name": name, "min": 0}}),
                ),
                ("sink", "log", json!({})),
            ],
            &[("read", "out", "sink")],
        )
    };
    let (s, caps) = h.run(&read("O'Neil"), &[("read", "out")]).await;
    assert_ok(&s);
    assert_eq!(caps[0].json(), vec![json!({"id": 1})]);
    let (s, caps) = h.run(&read("x' OR '1'='1"), &[("read", "out")]).await;
    assert_ok(&s);
    assert_eq!(caps[0].json(), vec![json!({"id": 3})], "the injection text matches only itself");
    h.cleanup().await;
}

/// A partitioned read returns every row exactly once.
pub async fn partitioned_read(h: &Harness) {
    let t = h.table("big");
    h.exec(&format!("CREATE TABLE {} ({} INTEGER, {} VARCHAR(10))", h.q(&t), h.q("id"), h.q("v"))).await;
    let values: Vec<String> = (1..=997).map(|i| format!("({}, 'v{i}')", i * 3)).chain(["(NULL, 'nokey')".to_string()]).collect();
    h.exec(&format!("INSERT INTO {} VALUES {}", h.q(&t), values.join(", "))).await;
    let f = flow(
        &[
            ("read", "sql_source", json!({"connection": "db", "table": t, "partition": {"column": "id", "count": 4}})),
            ("sink", "log", json!({})),
        ],
        &[("read", "out", "sink")],
    );
    let (s, caps) = h.run(&f, &[("read", "out")]).await;
    assert_ok(&s);
    let mut ids: Vec<Option<i64>> = caps[0].rows.iter().map(|r| if let Value::Int(i) = r[0] { Some(i) } else { None }).collect();
    ids.sort();
    let mut want: Vec<Option<i64>> = (1..=997).map(|i| Some(i * 3)).collect();
    want.insert(0, None);
    assert_eq!(ids, want);
    h.cleanup().await;
}

/// Lookup: matches by key (text finds numbers), caches, and each miss policy.
pub async fn lookup(h: &Harness) {
    let t = h.table("customers");
    h.exec(&format!(
        "CREATE TABLE {} ({} INTEGER PRIMARY KEY, {} VARCHAR(20), {} VARCHAR(10))",
        h.q(&t),
        h.q("id"),
        h.q("name"),
        h.q("tier")
    ))
    .await;
    h.exec(&format!("INSERT INTO {} VALUES (1, 'Wang', 'vip'), (2, 'Kevin', 'normal')", h.q(&t))).await;
    let tickets = json!({"fields": [{"name": "ticket", "type": "int"}, {"name": "customer_id", "type": "string"}],
        "rows": [{"ticket": 10, "customer_id": "1"}, {"ticket": 11, "customer_id": "2"}, {"ticket": 12, "customer_id": "1"}, {"ticket": 13, "customer_id": "9"}, {"ticket": 14}]});
    let run = |on_miss: &str| {
        // A cache smaller than a batch's keys must still match every row.
        let mut cfg = json!({"connection": "db", "table": t, "key": [{"field": "customer_id", "column": "id"}], "columns": ["name", "tier"], "prefix": "customer_", "on_miss": on_miss, "cache_rows": if on_miss == "null" { 1 } else { 0 }});
        if on_miss == "default" {
            cfg["defaults"] = json!({"tier": "unknown"});
        }
        flow(
            &[("t", "inline_rows", tickets.clone()), ("look", "lookup", cfg), ("sink", "log", json!({})), ("bad", "log", json!({}))],
            &[("t", "out", "look"), ("look", "out", "sink"), ("look", "error", "bad")],
        )
    };
    let (s, caps) = h.run(&run("null"), &[("look", "out")]).await;
    assert_ok(&s);
    let rows = caps[0].json();
    assert_eq!(caps[0].field_names(), vec!["ticket", "customer_id", "customer_name", "customer_tier"]);
    assert_eq!(rows[0]["customer_name"], json!("Wang"));
    assert_eq!(rows[1]["customer_tier"], json!("normal"));
    assert_eq!(rows[2]["customer_name"], json!("Wang"));
    assert_eq!(rows[3]["customer_name"], J::Null);
    assert_eq!(rows[4]["customer_name"], J::Null);
    let (s, caps) = h.run(&run("default"), &[("look", "out")]).await;
    assert_ok(&s);
    assert_eq!(caps[0].json()[3]["customer_tier"], json!("unknown"));
    let (s, caps) = h.run(&run("error"), &[("look", "out"), ("look", "error")]).await;
    assert_ok(&s);
    assert_eq!(caps[0].rows.len(), 3);
    let errs = caps[1].json();
    assert_eq!(errs.len(), 2);
    assert!(errs[0]["_error_message"].as_str().unwrap().contains("has id = \"9\""), "{}", errs[0]);
    h.cleanup().await;
}

/// A table that does not exist at run time (dropped after the check) fails the run with a
/// message naming the connection and the table.
pub async fn unknown_table_at_run_time(h: &Harness) {
    let f = flow(
        &[
            ("rows", "inline_rows", json!({"rows": [{"id": 1}]})),
            ("write", "sql_sink", json!({"connection": "db", "table": "no_such_table_sluice"})),
        ],
        &[("rows", "out", "write")],
    );
    let e = h.plan_errors(&f);
    assert!(e.contains("has no table 'no_such_table_sluice'") && e.contains("create_table"), "{e}");
}
