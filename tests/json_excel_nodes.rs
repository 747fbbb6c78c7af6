//! JSON / NDJSON and Excel sources and sinks, run as whole flows: parse → plan → run, then
//! the run summary and the files written are checked.

use pretty_assertions::assert_eq;
use serde_json::{json, Value as J};
use sluice::exec::{start_run, LogLevel, RunEvent, RunOptions, RunStatus, RunSummary};
use sluice::flow::parse_flow_text;
use sluice::plan::{plan_flow, Plan};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn data_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(sub)
}

fn flow(nodes: J, edges: J) -> sluice::flow::FlowFile {
    let doc = json!({"version": 1, "name": "test", "nodes": nodes, "edges": edges});
    parse_flow_text(&doc.to_string()).unwrap_or_else(|d| panic!("flow does not parse: {d}"))
}

fn plan(nodes: J, edges: J, base: &Path) -> Plan {
    plan_flow(&flow(nodes, edges), base, &BTreeMap::new()).unwrap_or_else(|d| panic!("flow does not plan: {d}"))
}

async fn run(nodes: J, edges: J, base: &Path) -> RunSummary {
    start_run(plan(nodes, edges, base), RunOptions::default()).wait().await
}

fn edge(from: &str, to: &str) -> J {
    json!({"from": from, "to": to})
}

fn error_edge(from: &str, to: &str) -> J {
    json!({"from": from, "from_port": "error", "to": to})
}

fn read_ndjson(path: &Path) -> Vec<J> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

fn assert_ok(s: &RunSummary) {
    assert_eq!(s.status, RunStatus::Succeeded, "run failed: {:?}", s.error);
}

/// Files in a folder (to see that no temp file was left behind).
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_to_array_and_back_keeps_nested_objects_and_chinese() {
    let out = tempfile::tempdir().unwrap();
    let array = out.path().join("tickets.json");
    let again = out.path().join("again.ndjson");
    let s = run(
        json!([
            {"id": "src", "kind": "json_source", "config": {"path": "tickets.ndjson"}},
            {"id": "out", "kind": "json_sink", "config": {"path": array, "format": "array", "pretty": true}}
        ]),
        json!([edge("src", "out")]),
        &data_dir("json"),
    )
    .await;
    assert_ok(&s);
    assert_eq!(s.node("src").unwrap().rows_out, 4);
    assert_eq!(s.node("out").unwrap().rows_in, 4);
    assert_eq!(s.node("src").unwrap().bytes, std::fs::metadata(data_dir("json").join("tickets.ndjson")).unwrap().len());
    assert!(s.node("out").unwrap().bytes > 0);

    let text = std::fs::read_to_string(&array).unwrap();
    assert!(text.starts_with("[\n  {\n    \"ticket_id\": 1001,"), "{text}");
    let got: J = serde_json::from_str(&text).unwrap();
    let first = &got[0];
    assert_eq!(first["customer"], json!({"name": "张伟", "city": "上海", "tags": ["vip", "回访"]}));
    assert_eq!(first["subject"], json!("退款还没到账"));
    assert_eq!(got[1]["subject"], json!("Invoice \"copy\" needed\nplease"));
    assert_eq!(got[1]["score"], json!(3.0));
    assert_eq!(got[2]["subject"], json!("物流太慢 🚚"));
    // A key missing from a record is null in the output.
    assert_eq!(got[3]["score"], J::Null);
    assert_eq!(got.as_array().unwrap().len(), 4);

    // And back: the array streamed into NDJSON gives the same records.
    let s = run(
        json!([
            {"id": "src", "kind": "json_source", "config": {"path": array}},
            {"id": "out", "kind": "json_sink", "config": {"path": again}}
        ]),
        json!([edge("src", "out")]),
        out.path(),
    )
    .await;
    assert_ok(&s);
    assert_eq!(read_ndjson(&again), got.as_array().unwrap().clone());
    assert_eq!(listing(out.path()), vec!["again.ndjson", "tickets.json"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_array_source_streams_ten_thousand_records() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.json");
    let mut text = String::from("[\n");
    for i in 0..10_000 {
        if i > 0 {
            text.push_str(",\n");
        }
        text.push_str(&json!({"n": i, "name": format!("客户{i}"), "even": i % 2 == 0, "tags": [i % 7]}).to_string());
    }
    text.push_str("\n]\n");
    std::fs::write(&input, &text).unwrap();
    let output = dir.path().join("big.ndjson");
    let s = run(
        json!([
            {"id": "src", "kind": "json_source", "config": {"path": "big.json", "format": "array"}},
            {"id": "out", "kind": "json_sink", "config": {"path": "big.ndjson"}}
        ]),
        json!([edge("src", "out")]),
        dir.path(),
    )
    .await;
    assert_ok(&s);
    let src = s.node("src").unwrap();
    assert_eq!(src.rows_out, 10_000);
    assert_eq!(src.rows_error, 0);
    // Handed out batch by batch (1024 rows each), not as one block at the end.
    assert_eq!(src.batches_out, 10);
    assert_eq!(src.bytes, text.len() as u64);
    assert_eq!(src.total_bytes, Some(text.len() as u64));
    let rows = read_ndjson(&output);
    assert_eq!(rows.len(), 10_000);
    assert_eq!(rows[0], json!({"n": 0, "name": "客户0", "even": true, "tags": [0]}));
    assert_eq!(rows[9_999], json!({"n": 9999, "name": "客户9999", "even": false, "tags": [3]}));
}

#[tokio::test(flavor = "multi_thread")]
async fn decimals_are_written_with_their_exact_digits() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(
        json!([
            {"id": "rows", "kind": "inline_rows", "config": {
                "fields": [{"name": "amount", "type": "decimal"}, {"name": "day", "type": "date"}, {"name": "at", "type": "datetime"}],
                "rows": [
                    {"amount": "12.50", "day": "2024-03-05", "at": "2024-03-05T14:30:00+08:00"},
                    {"amount": "0.10"},
                    {"amount": "-123456789012345678.000001"}
                ]}},
            {"id": "out", "kind": "json_sink", "config": {"path": "money.ndjson"}}
        ]),
        json!([edge("rows", "out")]),
        dir.path(),
    )
    .await;
    assert_ok(&s);
    let text = std::fs::read_to_string(dir.path().join("money.ndjson")).unwrap();
    assert_eq!(
        text,
        "{\"amount\":12.50,\"day\":\"2024-03-05\",\"at\":\"2024-03-05T14:30:00+08:00\"}\n\
         {\"amount\":0.10,\"day\":null,\"at\":null}\n\
         {\"amount\":-123456789012345678.000001,\"day\":null,\"at\":null}\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_ndjson_lines_leave_by_the_error_output_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(
        json!([
            {"id": "src", "kind": "json_source", "config": {"path": data_dir("json").join("bad_lines.ndjson"), "infer_rows": 2}},
            {"id": "good", "kind": "json_sink", "config": {"path": "good.ndjson"}},
            {"id": "bad", "kind": "json_sink", "config": {"path": "bad.ndjson"}}
        ]),
        json!([edge("src", "good"), error_edge("src", "bad")]),
        dir.path(),
    )
    .await;
    assert_ok(&s);
    let src = s.node("src").unwrap();
    assert_eq!((src.rows_out, src.rows_error, src.rows_error_unhandled), (3, 3, 0));
    let good = read_ndjson(&dir.path().join("good.ndjson"));
    assert_eq!(good.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(), vec![json!(1), json!(2), json!(6)]);
    assert_eq!(good[2]["name"], json!("最后一行"));

    let bad = read_ndjson(&dir.path().join("bad.ndjson"));
    assert_eq!(bad.len(), 3);
    let by_line: BTreeMap<i64, &J> = bad.iter().map(|r| (r["_error_line"].as_i64().unwrap(), r)).collect();
    assert_eq!(by_line.keys().copied().collect::<Vec<_>>(), vec![3, 4, 5]);
    let broken = by_line[&3];
    assert!(broken["_error_message"].as_str().unwrap().starts_with("not valid JSON"), "{broken}");
    assert_eq!(broken["_error_raw"], json!("{\"id\": 3, \"name\": \"broken"));
    assert_eq!(broken["_error_node"], json!("src"));
    let wrong_type = by_line[&4];
    assert_eq!(wrong_type["_error_field"], json!("id"));
    assert!(wrong_type["_error_message"].as_str().unwrap().contains("cannot read \"x-4\" as int"), "{wrong_type}");
    // The rest of a row that failed on one field is kept.
    assert_eq!(wrong_type["name"], json!("wrong id type"));
    assert!(by_line[&5]["_error_message"].as_str().unwrap().contains("is an array, not a JSON object"));
    assert_eq!(by_line[&5]["_error_raw"], json!("[5, \"not an object\"]"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unwired_bad_line_fails_the_run_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("kept.ndjson");
    std::fs::write(&existing, "{\"old\":true}\n").unwrap();
    let p = plan(
        json!([
            {"id": "src", "kind": "json_source", "config": {"path": data_dir("json").join("bad_lines.ndjson")}},
            {"id": "out", "kind": "json_sink", "config": {"path": "new.ndjson"}},
            {"id": "out2", "kind": "json_sink", "config": {"path": "kept.ndjson", "format": "ndjson"}}
        ]),
        json!([edge("src", "out"), edge("src", "out2")]),
        dir.path(),
    );
    let mut handle = start_run(p, RunOptions::default());
    let mut events = std::mem::replace(&mut handle.events, tokio::sync::mpsc::unbounded_channel().1);
    let s = handle.wait().await;
    let mut warnings = Vec::new();
    while let Ok(ev) = events.try_recv() {
        if let RunEvent::Log { level: LogLevel::Warn, node_id: Some(n), message } = ev {
            warnings.push((n, message));
        }
    }
    warnings.sort();
    assert_eq!(
        warnings,
        vec![
            ("out".to_string(), format!("run did not finish: {} left unchanged", dir.path().join("new.ndjson").display())),
            ("out2".to_string(), format!("run did not finish: {} left unchanged", existing.display())),
        ]
    );
    assert_eq!(s.status, RunStatus::Failed);
    assert_eq!(s.failed_node.as_deref(), Some("src"));
    let err = s.error.unwrap();
    assert!(err.contains("node 'src' failed at line 3"), "{err}");
    assert!(err.contains("not valid JSON"), "{err}");
    // Nothing new written, the existing output untouched, no temp file left behind.
    assert_eq!(listing(dir.path()), vec!["kept.ndjson"]);
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "{\"old\":true}\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_array_fails_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.json"), "[\n  {\"a\": 1},\n  {\"a\": 2,, }\n]\n").unwrap();
    let s = run(
        json!([
            {"id": "src", "kind": "json_source", "config": {"path": "broken.json", "infer_rows": 1}},
            {"id": "out", "kind": "json_sink", "config": {"path": "out.json"}}
        ]),
        json!([edge("src", "out")]),
        dir.path(),
    )
    .await;
    assert_eq!(s.status, RunStatus::Failed);
    let err = s.error.unwrap();
    assert!(err.contains("malformed JSON at line 3, column 11"), "{err}");
    assert!(!dir.path().join("out.json").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn records_path_reads_the_nested_array() {
    let dir = tempfile::tempdir().unwrap();
    let p = plan(
        json!([
            {"id": "src", "kind": "json_source", "config": {"path": "api_response.json", "records_path": "data.items", "types": {"amount": "decimal"}}},
            {"id": "out", "kind": "json_sink", "config": {"path": dir.path().join("orders.json"), "format": "array"}}
        ]),
        json!([edge("src", "out")]),
        &data_dir("json"),
    );
    // Fields are known at design time.
    let fields: Vec<(String, String)> = p.node("src").unwrap().output_schemas["out"]
        .fields()
        .iter()
        .map(|f| (f.name.clone(), f.data_type.to_string()))
        .collect();
    assert_eq!(
        fields,
        vec![("order_no".into(), "string".into()), ("amount".into(), "decimal".into()), ("buyer".into(), "json".into())]
    );
    let s = start_run(p, RunOptions::default()).wait().await;
    assert_ok(&s);
    let text = std::fs::read_to_string(dir.path().join("orders.json")).unwrap();
    assert_eq!(
        text,
        "[\n{\"order_no\":\"A-001\",\"amount\":12.5,\"buyer\":{\"name\":\"周杰\"}},\n\
         {\"order_no\":\"A-002\",\"amount\":8,\"buyer\":{\"name\":\"Ann\"}},\n\
         {\"order_no\":\"A-003\",\"amount\":100.25,\"buyer\":null}\n]\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_records_path_key_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let f = flow(
        json!([
            {"id": "src", "kind": "json_source", "config": {"path": "api_response.json", "records_path": "data.rows"}},
            {"id": "out", "kind": "json_sink", "config": {"path": dir.path().join("o.json")}}
        ]),
        json!([edge("src", "out")]),
    );
    let d = plan_flow(&f, &data_dir("json"), &BTreeMap::new()).err().expect("plan fails");
    let text = d.to_string();
    assert!(text.contains("records_path 'data.rows': 'rows' not found"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_json_file_is_named_at_check_and_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = json!([
        {"id": "src", "kind": "json_source", "config": {"path": "later.ndjson"}},
        {"id": "out", "kind": "json_sink", "config": {"path": "o.ndjson"}}
    ]);
    let f = flow(nodes.clone(), json!([edge("src", "out")]));
    let d = plan_flow(&f, dir.path(), &BTreeMap::new()).err().expect("plan fails");
    let missing = dir.path().join("later.ndjson");
    let diag = d.errors().next().unwrap();
    assert_eq!((diag.node_id.as_deref(), diag.field.as_deref()), (Some("src"), Some("path")));
    assert!(diag.message.contains(&missing.display().to_string()), "{}", diag.message);

    // The file exists when planned, and is gone when the run starts.
    std::fs::write(&missing, "{\"a\":1}\n").unwrap();
    let p = plan_flow(&f, dir.path(), &BTreeMap::new()).unwrap();
    std::fs::remove_file(&missing).unwrap();
    let s = start_run(p, RunOptions::default()).wait().await;
    assert_eq!(s.status, RunStatus::Failed);
    let err = s.error.unwrap();
    assert!(err.contains(&format!("cannot open JSON file {}: no such file or folder", missing.display())), "{err}");
    assert_eq!(listing(dir.path()), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn json_sink_appends_and_refuses_to_overwrite_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = |mode: &str| {
        json!([
            {"id": "rows", "kind": "inline_rows", "config": {"rows": [{"k": "a"}, {"k": "b"}]}},
            {"id": "out", "kind": "json_sink", "config": {"path": "log.ndjson", "if_exists": mode}}
        ])
    };
    assert_ok(&run(nodes("append"), json!([edge("rows", "out")]), dir.path()).await);
    assert_ok(&run(nodes("append"), json!([edge("rows", "out")]), dir.path()).await);
    assert_eq!(read_ndjson(&dir.path().join("log.ndjson")).len(), 4);
    let s = run(nodes("fail"), json!([edge("rows", "out")]), dir.path()).await;
    assert_eq!(s.status, RunStatus::Failed);
    assert!(s.error.unwrap().contains("already exists"));
    assert_eq!(read_ndjson(&dir.path().join("log.ndjson")).len(), 4);
}

#[cfg(feature = "excel")]
mod excel {
    use super::*;
    use pretty_assertions::assert_eq;
    use rust_xlsxwriter::{Formula, Workbook};

    #[tokio::test(flavor = "multi_thread")]
    async fn excel_round_trip_keeps_values_and_types() {
        let dir = tempfile::tempdir().unwrap();
        let s = run(
            json!([
                {"id": "rows", "kind": "inline_rows", "config": {
                    "fields": [
                        {"name": "id", "type": "int"},
                        {"name": "score", "type": "float"},
                        {"name": "客户", "type": "string"},
                        {"name": "day", "type": "date"},
                        {"name": "active", "type": "bool"},
                        {"name": "at", "type": "datetime"},
                        {"name": "amount", "type": "decimal"}
                    ],
                    "rows": [
                        {"id": 1, "score": 4.5, "客户": "张伟", "day": "2024-03-05", "active": true, "at": "2024-03-05T14:30:15Z", "amount": "12.50"},
                        {"id": 2, "score": 0.25, "客户": "Ann \"Q\" Lee", "day": "2023-12-31", "active": false, "at": "2024-01-01T00:00:01Z", "amount": "3"},
                        {"id": 3, "score": -1.5, "客户": "王芳 🚚", "day": "1999-01-02", "active": true}
                    ]}},
                {"id": "xl", "kind": "excel_sink", "config": {"path": "out/客户.xlsx", "sheet": "客户表"}}
            ]),
            json!([edge("rows", "xl")]),
            dir.path(),
        )
        .await;
        assert_ok(&s);
        let book = dir.path().join("out/客户.xlsx");
        assert!(book.is_file());
        assert_eq!(listing(&dir.path().join("out")), vec!["客户.xlsx"]);

        let p = plan(
            json!([
                {"id": "src", "kind": "excel_source", "config": {"path": "out/客户.xlsx", "sheet": "客户表"}},
                {"id": "out", "kind": "json_sink", "config": {"path": "back.ndjson"}}
            ]),
            json!([edge("src", "out")]),
            dir.path(),
        );
        let fields: Vec<(String, String)> = p.node("src").unwrap().output_schemas["out"]
            .fields()
            .iter()
            .map(|f| (f.name.clone(), f.data_type.to_string()))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("id".into(), "int".into()),
                ("score".into(), "float".into()),
                ("客户".into(), "string".into()),
                ("day".into(), "date".into()),
                ("active".into(), "bool".into()),
                ("at".into(), "datetime".into()),
                // Excel numbers are floats; 12.50 and 3 come back as numbers.
                ("amount".into(), "float".into()),
            ]
        );
        let s = start_run(p, RunOptions::default()).wait().await;
        assert_ok(&s);
        assert_eq!(s.node("src").unwrap().rows_out, 3);
        let rows = read_ndjson(&dir.path().join("back.ndjson"));
        assert_eq!(
            rows,
            vec![
                json!({"id": 1, "score": 4.5, "客户": "张伟", "day": "2024-03-05", "active": true, "at": "2024-03-05T14:30:15Z", "amount": 12.5}),
                json!({"id": 2, "score": 0.25, "客户": "Ann \"Q\" Lee", "day": "2023-12-31", "active": false, "at": "2024-01-01T00:00:01Z", "amount": 3.0}),
                json!({"id": 3, "score": -1.5, "客户": "王芳 🚚", "day": "1999-01-02", "active": true, "at": null, "amount": null}),
            ]
        );
    }

    fn write_fixture(path: &Path) {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet().set_name("客户").unwrap();
        ws.write_string(0, 0, "订单号").unwrap();
        ws.write_string(0, 1, "金额").unwrap();
        ws.write_string(0, 2, "比率").unwrap();
        for (r, (no, amount)) in [("A1", 10.0), ("A2", 20.5), ("A3", 0.0), ("A4", 7.0)].into_iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_string(r, 0, no).unwrap();
            ws.write_number(r, 1, amount).unwrap();
            if r == 3 {
                ws.write_formula(r, 2, Formula::new("=B4/0").set_result("#DIV/0!")).unwrap();
            } else {
                ws.write_formula(r, 2, Formula::new(format!("=B{}/10", r + 1)).set_result((amount / 10.0).to_string())).unwrap();
            }
        }
        wb.add_worksheet().set_name("订单").unwrap().write_string(0, 0, "x").unwrap();
        wb.save(path).unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn error_cells_become_error_rows_naming_the_cell() {
        let dir = tempfile::tempdir().unwrap();
        write_fixture(&dir.path().join("book.xlsx"));
        let s = run(
            json!([
                {"id": "src", "kind": "excel_source", "config": {"path": "book.xlsx"}},
                {"id": "good", "kind": "json_sink", "config": {"path": "good.ndjson"}},
                {"id": "bad", "kind": "json_sink", "config": {"path": "bad.ndjson"}}
            ]),
            json!([edge("src", "good"), error_edge("src", "bad")]),
            dir.path(),
        )
        .await;
        assert_ok(&s);
        let good = read_ndjson(&dir.path().join("good.ndjson"));
        assert_eq!(
            good,
            vec![
                // Whole numbers in a column with fractions are floats.
                json!({"订单号": "A1", "金额": 10.0, "比率": 1.0}),
                json!({"订单号": "A2", "金额": 20.5, "比率": 2.05}),
                json!({"订单号": "A4", "金额": 7.0, "比率": 0.7}),
            ]
        );
        let bad = read_ndjson(&dir.path().join("bad.ndjson"));
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0]["_error_message"], json!("C4: the cell holds the error #DIV/0!"));
        assert_eq!(bad[0]["_error_field"], json!("比率"));
        assert_eq!(bad[0]["_error_line"], json!(4));
        assert_eq!(bad[0]["订单号"], json!("A3"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn missing_sheet_lists_the_sheets() {
        let dir = tempfile::tempdir().unwrap();
        write_fixture(&dir.path().join("book.xlsx"));
        let f = flow(
            json!([
                {"id": "src", "kind": "excel_source", "config": {"path": "book.xlsx", "sheet": "客 户"}},
                {"id": "out", "kind": "json_sink", "config": {"path": "o.ndjson"}}
            ]),
            json!([edge("src", "out")]),
        );
        let d = plan_flow(&f, dir.path(), &BTreeMap::new()).err().expect("plan fails");
        let diag = d.errors().next().unwrap();
        assert_eq!((diag.node_id.as_deref(), diag.field.as_deref()), (Some("src"), Some("sheet")));
        assert!(diag.message.contains("no sheet named '客 户'; the workbook's sheets are: '客户', '订单'"), "{}", diag.message);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn missing_excel_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = flow(
            json!([
                {"id": "src", "kind": "excel_source", "config": {"path": "nope.xlsx"}},
                {"id": "out", "kind": "json_sink", "config": {"path": "o.ndjson"}}
            ]),
            json!([edge("src", "out")]),
        );
        let d = plan_flow(&f, dir.path(), &BTreeMap::new()).err().expect("plan fails");
        let diag = d.errors().next().unwrap();
        assert_eq!(diag.field.as_deref(), Some("path"));
        assert!(diag.message.contains(&dir.path().join("nope.xlsx").display().to_string()), "{}", diag.message);

        // Gone between planning and running: the run names it.
        write_fixture(&dir.path().join("nope.xlsx"));
        let p = plan_flow(&f, dir.path(), &BTreeMap::new()).unwrap();
        std::fs::remove_file(dir.path().join("nope.xlsx")).unwrap();
        let s = start_run(p, RunOptions::default()).wait().await;
        assert_eq!(s.status, RunStatus::Failed);
        let err = s.error.unwrap();
        assert!(err.contains(&format!("cannot open Excel file {}: no such file or folder", dir.path().join("nope.xlsx").display())), "{err}");
    }
}
