//! `csv_source` and `csv_sink` end to end: flows planned and run by the real executor over
//! the fixtures in `tests/data/csv/` (made by `make_data.py` there), checked on the files
//! they write and on the run summary.

use pretty_assertions::assert_eq;
use serde_json::json;
use sluice::exec::{start_run, RunOptions, RunStatus, RunSummary};
use sluice::flow::parse_flow_text;
use sluice::plan::plan_flow;
use sluice::value::DataType;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/csv").join(name)
}

fn read(p: &Path) -> String {
    String::from_utf8(std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// A flow document from nodes and edges.
fn flow(nodes: serde_json::Value, edges: serde_json::Value, settings: Option<serde_json::Value>) -> String {
    let mut f = json!({"version": 1, "name": "csv test", "nodes": nodes, "edges": edges});
    if let Some(s) = settings {
        f["settings"] = s;
    }
    f.to_string()
}

/// Source → sink, with the given configs.
fn pipe(src: serde_json::Value, sink: serde_json::Value) -> String {
    flow(
        json!([
            {"id": "read", "kind": "csv_source", "config": src},
            {"id": "write", "kind": "csv_sink", "config": sink}
        ]),
        json!([{"from": "read", "to": "write"}]),
        None,
    )
}

async fn run(flow_json: &str, base: &Path) -> RunSummary {
    let flow = parse_flow_text(flow_json).unwrap_or_else(|d| panic!("flow does not parse:\n{d}"));
    let plan = plan_flow(&flow, base, &BTreeMap::new()).unwrap_or_else(|d| panic!("flow does not plan:\n{d}"));
    start_run(plan, RunOptions::default()).wait().await
}

fn no_partial_files(dir: &Path) {
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sluice-partial"))
        .collect();
    assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn round_trip_is_byte_identical_without_inference() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let s =
        run(&pipe(json!({"path": data("tickets.csv"), "infer_types": false}), json!({"path": out})), dir.path()).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(read(&out), read(&data("tickets.csv")));
    assert_eq!(s.node("read").unwrap().rows_out, 5);
    assert_eq!(s.node("write").unwrap().rows_in, 5);
    assert_eq!(s.node("write").unwrap().bytes, std::fs::metadata(&out).unwrap().len());
    assert_eq!(s.node("read").unwrap().total_bytes, Some(std::fs::metadata(data("tickets.csv")).unwrap().len()));
    no_partial_files(dir.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn round_trip_is_byte_identical_with_inference() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let text = pipe(json!({"path": data("tickets.csv")}), json!({"path": "out.csv"}));

    // The design-time schema is inferred from the file.
    let plan = plan_flow(&parse_flow_text(&text).unwrap(), dir.path(), &BTreeMap::new()).unwrap();
    let schema = plan.node("read").unwrap().output_schemas["out"].clone();
    let types: Vec<(std::string::String, DataType)> =
        schema.fields().iter().map(|f| (f.name.clone(), f.data_type)).collect();
    use DataType::*;
    let expected = [
        ("ticket_id", Int),
        ("created_at", DateTime),
        ("day", Date),
        ("amount", Decimal),
        ("channel", String),
        ("customer_name", String),
        ("phone", String),
        ("satisfaction", Int),
        ("subject", String),
    ];
    assert_eq!(types, expected.iter().map(|(n, t)| (n.to_string(), *t)).collect::<Vec<_>>());

    let s = run(&text, dir.path()).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(read(&out), read(&data("tickets.csv")));
}

#[tokio::test(flavor = "multi_thread")]
async fn gbk_file_reads_as_chinese_text() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let s = run(&pipe(json!({"path": data("gbk.csv"), "encoding": "gbk"}), json!({"path": out})), dir.path()).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(read(&out), read(&data("chinese_expected.csv")));
    assert_eq!(s.node("read").unwrap().rows_out, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn utf16le_and_utf8_bom_files() {
    for (file, enc) in [
        ("utf16le_bom.csv", "utf-16le"),
        ("utf16le_bom.csv", "auto"),
        ("utf8_bom.csv", "utf-8"),
        ("utf8_bom.csv", "auto"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        let s = run(&pipe(json!({"path": data(file), "encoding": enc}), json!({"path": out})), dir.path()).await;
        assert_eq!(s.status, RunStatus::Succeeded, "{file} {enc}: {:?}", s.error);
        // No byte-order mark in the first field name, and the text as it should read.
        assert_eq!(read(&out), read(&data("chinese_expected.csv")), "{file} as {enc}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_gbk_utf16_and_bom_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let expected = read(&data("chinese_expected.csv"));
    for (enc, bytes) in [
        ("gbk", encoding_rs::GBK.encode(&expected).0.to_vec()),
        ("utf-8-bom", [b"\xEF\xBB\xBF".as_slice(), expected.as_bytes()].concat()),
        ("utf-16le", [vec![0xFF, 0xFE], expected.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()].concat()),
    ] {
        let out = dir.path().join(format!("out-{enc}.csv"));
        let s = run(
            &pipe(json!({"path": data("chinese_expected.csv")}), json!({"path": out, "encoding": enc})),
            dir.path(),
        )
        .await;
        assert_eq!(s.status, RunStatus::Succeeded, "{enc}: {:?}", s.error);
        assert_eq!(std::fs::read(&out).unwrap(), bytes, "{enc}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn characters_gbk_cannot_hold_go_to_the_error_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "name,note\n张三,ok\n李四,smile 😀\n王五,fine\n").unwrap();
    let text = flow(
        json!([
            {"id": "read", "kind": "csv_source", "config": {"path": "in.csv"}},
            {"id": "write", "kind": "csv_sink", "config": {"path": "out.csv", "encoding": "gbk"}},
            {"id": "bad", "kind": "csv_sink", "config": {"path": "bad.csv"}}
        ]),
        json!([{"from": "read", "to": "write"}, {"from": "write", "from_port": "error", "to": "bad"}]),
        None,
    );
    let s = run(&text, dir.path()).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    let bytes = std::fs::read(dir.path().join("out.csv")).unwrap();
    let (written, _, _) = encoding_rs::GBK.decode(&bytes);
    assert_eq!(written, "name,note\n张三,ok\n王五,fine\n");
    assert_eq!(s.node("write").unwrap().rows_error, 1);
    let bad = read(&dir.path().join("bad.csv"));
    assert_eq!(
        bad,
        "name,note,_error_node,_error_message,_error_field,_error_line,_error_raw\n\
         李四,smile 😀,write,cannot be written in GBK: character '😀' (U+1F600),note,,\n"
    );
}

/// The broken fixture: lines 4 and 6 have the wrong number of fields.
fn broken_flow(wire_errors: bool, settings: Option<serde_json::Value>) -> String {
    let mut nodes = vec![
        json!({"id": "read", "kind": "csv_source", "config": {"path": data("broken.csv")}}),
        json!({"id": "write", "kind": "csv_sink", "config": {"path": "out.csv"}}),
    ];
    let mut edges = vec![json!({"from": "read", "to": "write"})];
    if wire_errors {
        nodes.push(json!({"id": "errors", "kind": "csv_sink", "config": {"path": "errors.csv"}}));
        edges.push(json!({"from": "read", "from_port": "error", "to": "errors"}));
    }
    flow(json!(nodes), json!(edges), settings)
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_lines_go_to_a_wired_error_output_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(&broken_flow(true, None), dir.path()).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(read(&dir.path().join("out.csv")), "id,name,score\n1,alice,10\n2,bob,20\n4,dave,40\n6,frank,60\n");
    let read_node = s.node("read").unwrap();
    assert_eq!((read_node.rows_out, read_node.rows_error, read_node.rows_error_unhandled), (4, 2, 0));
    assert_eq!(
        read(&dir.path().join("errors.csv")),
        "id,name,score,_error_node,_error_message,_error_field,_error_line,_error_raw\n\
         3,carol,,read,\"expected 3 fields, found 2\",,4,\"3,carol\"\n\
         5,eve,50,read,\"expected 3 fields, found 4\",,6,\"5,eve,50,extra\"\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_lines_without_error_output_fail_the_run_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(&broken_flow(false, None), dir.path()).await;
    assert_eq!(s.status, RunStatus::Failed);
    let err = s.error.clone().unwrap();
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("expected 3 fields, found 2"), "{err}");
    assert_eq!(s.failed_node.as_deref(), Some("read"));
    assert!(!dir.path().join("out.csv").exists(), "a failed run must not leave its output");
    no_partial_files(dir.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_leaves_an_existing_target_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("out.csv"), "the old content\n").unwrap();
    let s = run(&broken_flow(false, None), dir.path()).await;
    assert_eq!(s.status, RunStatus::Failed);
    assert_eq!(read(&dir.path().join("out.csv")), "the old content\n");
    no_partial_files(dir.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_lines_under_the_continue_policy_are_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(&broken_flow(false, Some(json!({"error_policy": {"mode": "continue"}}))), dir.path()).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    let r = s.node("read").unwrap();
    assert_eq!((r.rows_out, r.rows_error, r.rows_error_unhandled), (4, 2, 2));
    assert_eq!(read(&dir.path().join("out.csv")), "id,name,score\n1,alice,10\n2,bob,20\n4,dave,40\n6,frank,60\n");

    // ... unless they pass the policy's limit.
    let s = run(&broken_flow(false, Some(json!({"error_policy": {"mode": "continue", "max_errors": 1}}))), dir.path())
        .await;
    assert_eq!(s.status, RunStatus::Failed);
    assert!(s.error.unwrap().contains("max_errors"));
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_and_header_only_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let s = run(&pipe(json!({"path": data("empty.csv")}), json!({"path": out})), dir.path()).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(s.node("read").unwrap().rows_out, 0);
    assert_eq!(read(&out), "");

    let text = pipe(json!({"path": data("header_only.csv")}), json!({"path": out}));
    let plan = plan_flow(&parse_flow_text(&text).unwrap(), dir.path(), &BTreeMap::new()).unwrap();
    let schema = &plan.node("read").unwrap().output_schemas["out"];
    assert_eq!(schema.names().collect::<Vec<_>>(), vec!["id", "name", "city"]);
    assert!(schema.fields().iter().all(|f| f.data_type == DataType::String));
    let s = run(&text, dir.path()).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(s.node("read").unwrap().rows_out, 0);
    // No rows, but the fields were known at design time: the output still has its header.
    assert_eq!(read(&out), "id,name,city\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_output_folder_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports/2024/out.csv");
    let s = run(&pipe(json!({"path": data("header_only.csv")}), json!({"path": out})), dir.path()).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(read(&out), "id,name,city\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_file_is_a_planner_diagnostic_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let text = pipe(json!({"path": "no/such/tickets.csv"}), json!({"path": "out.csv"}));
    let diags = match plan_flow(&parse_flow_text(&text).unwrap(), dir.path(), &BTreeMap::new()) {
        Ok(_) => panic!("a missing input must not plan"),
        Err(d) => d,
    };
    let d = diags.errors().find(|d| d.node_id.as_deref() == Some("read")).expect("a diagnostic on the source");
    assert_eq!(d.field.as_deref(), Some("path"));
    let path = dir.path().join("no/such/tickets.csv");
    assert_eq!(d.message, format!("cannot open {}: no such file or folder", path.display()));
    assert!(d.hint.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_past_max_record_bytes_fails_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    // Small enough for the limit to hit after the inference sample (infer_rows: 1).
    let src = json!({"path": data("open_quote.csv"), "max_record_bytes": 4096, "infer_rows": 1});
    let s = run(&pipe(src, json!({"path": "out.csv"})), dir.path()).await;
    assert_eq!(s.status, RunStatus::Failed);
    let err = s.error.unwrap();
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("longer than max_record_bytes (4 KiB); is a quote left open on that line?"), "{err}");
    assert!(!dir.path().join("out.csv").exists());

    // Within the inference sample it is found at design time already.
    let text = pipe(json!({"path": data("open_quote.csv"), "max_record_bytes": 4096}), json!({"path": "out.csv"}));
    let diags = plan_flow(&parse_flow_text(&text).unwrap(), dir.path(), &BTreeMap::new()).err().unwrap();
    let d = diags.errors().next().unwrap();
    assert!(d.message.starts_with("line 3: a record is longer than max_record_bytes"), "{}", d.message);
}

#[tokio::test(flavor = "multi_thread")]
async fn type_overrides_and_values_that_do_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let text = flow(
        json!([
            {"id": "read", "kind": "csv_source", "config": {"path": data("types.csv"), "types": {"phone": "string", "age": "int"}}},
            {"id": "write", "kind": "csv_sink", "config": {"path": "out.csv"}},
            {"id": "errors", "kind": "csv_sink", "config": {"path": "errors.csv"}}
        ]),
        json!([{"from": "read", "to": "write"}, {"from": "read", "from_port": "error", "to": "errors"}]),
        None,
    );
    let plan = plan_flow(&parse_flow_text(&text).unwrap(), dir.path(), &BTreeMap::new()).unwrap();
    let schema = &plan.node("read").unwrap().output_schemas["out"];
    assert_eq!(schema.field("phone").unwrap().data_type, DataType::String);
    assert_eq!(schema.field("age").unwrap().data_type, DataType::Int);

    let s = run(&text, dir.path()).await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    // The leading zero of the phone number survives.
    assert_eq!(read(&dir.path().join("out.csv")), "phone,age,name\n013812345678,30,张三\n13700000000,41,王五\n");
    assert_eq!(
        read(&dir.path().join("errors.csv")),
        "phone,age,name,_error_node,_error_message,_error_field,_error_line,_error_raw\n\
         13900000000,,李四,read,\"cannot read \"\"abc\"\" as int\",age,3,\"13900000000,abc,李四\"\n"
    );

    // A type for a field the file does not have is a design-time error with a suggestion.
    let text = pipe(json!({"path": data("types.csv"), "types": {"agee": "int"}}), json!({"path": "out.csv"}));
    let diags = plan_flow(&parse_flow_text(&text).unwrap(), dir.path(), &BTreeMap::new()).err().unwrap();
    let d = diags.errors().next().unwrap();
    assert_eq!(d.field.as_deref(), Some("types/agee"));
    assert_eq!(d.hint.as_deref(), Some("did you mean 'age'?"));
}

#[tokio::test(flavor = "multi_thread")]
async fn if_exists_fail_and_append() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("out.csv"), "id,name,city\n0,zoe,杭州").unwrap();

    let text = pipe(json!({"path": data("broken.csv")}), json!({"path": "out.csv", "if_exists": "fail"}));
    let diags = plan_flow(&parse_flow_text(&text).unwrap(), dir.path(), &BTreeMap::new()).err().unwrap();
    let d = diags.errors().next().unwrap();
    assert_eq!((d.node_id.as_deref(), d.field.as_deref()), (Some("write"), Some("if_exists")));
    assert!(d.message.contains(&dir.path().join("out.csv").display().to_string()), "{}", d.message);

    // Append maps fields by name onto the existing header, adds no second header, and
    // starts on a new line.
    std::fs::write(dir.path().join("in.csv"), "city,id,name\n北京,7,yan\n").unwrap();
    let s = run(
        &pipe(json!({"path": "in.csv", "infer_types": false}), json!({"path": "out.csv", "if_exists": "append"})),
        dir.path(),
    )
    .await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(read(&dir.path().join("out.csv")), "id,name,city\n0,zoe,杭州\n7,yan,北京\n");

    // Appending rows with a field the file has no column for is refused, file unchanged.
    std::fs::write(dir.path().join("in2.csv"), "id,name,phone\n8,li,138\n").unwrap();
    let s = run(&pipe(json!({"path": "in2.csv"}), json!({"path": "out.csv", "if_exists": "append"})), dir.path()).await;
    assert_eq!(s.status, RunStatus::Failed);
    assert!(s.error.unwrap().contains("no column for the fields [phone]"));
    assert_eq!(read(&dir.path().join("out.csv")), "id,name,city\n0,zoe,杭州\n7,yan,北京\n");
    no_partial_files(dir.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn tab_separated_with_null_marker_and_quote_styles() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.tsv"), "id\tname\tnote\n1\tLi, Na\tNULL\n2\t\"Tab\there\"\tx\n").unwrap();
    let s = run(
        &pipe(
            json!({"path": "in.tsv", "delimiter": "\t", "null_marker": "NULL"}),
            json!({"path": "out.csv", "quote_style": "non_numeric", "null_marker": "\\N", "line_ending": "crlf"}),
        ),
        dir.path(),
    )
    .await;
    assert_eq!(s.status, RunStatus::Succeeded, "{:?}", s.error);
    assert_eq!(
        read(&dir.path().join("out.csv")),
        "\"id\",\"name\",\"note\"\r\n1,\"Li, Na\",\\N\r\n2,\"Tab\there\",\"x\"\r\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_run_leaves_the_target_untouched_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = String::from("id,name\n");
    for i in 0..200_000 {
        big.push_str(&format!("{i},name {i}\n"));
    }
    std::fs::write(dir.path().join("in.csv"), big).unwrap();
    std::fs::write(dir.path().join("out.csv"), "old\n").unwrap();
    let text = pipe(json!({"path": "in.csv"}), json!({"path": "out.csv"}));
    let plan = plan_flow(&parse_flow_text(&text).unwrap(), dir.path(), &BTreeMap::new()).unwrap();
    let mut handle = start_run(plan, RunOptions::default());
    handle.stop();
    let (_, empty) = tokio::sync::mpsc::unbounded_channel();
    let mut events = std::mem::replace(&mut handle.events, empty);
    let s = handle.wait().await;
    assert_eq!(s.status, RunStatus::Cancelled);
    assert_eq!(read(&dir.path().join("out.csv")), "old\n");
    no_partial_files(dir.path());
    let mut said = false;
    while let Ok(ev) = events.try_recv() {
        if let sluice::exec::RunEvent::Log { level: sluice::exec::LogLevel::Warn, node_id, message } = ev {
            said |= node_id.as_deref() == Some("write")
                && message.contains("run did not finish")
                && message.contains("left unchanged");
        }
    }
    assert!(said, "the sink logs that the file was left unchanged");
}
