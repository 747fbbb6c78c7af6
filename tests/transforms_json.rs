//! The JSON nodes inside flows: a nested ticket API record parsed, flattened, its messages
//! exploded and flattened again; typed `fields`; discovery (widening, late paths, name
//! clashes); bad JSON on the error output; building nested JSON; the Rhai JSON functions;
//! and the design-time schemas and config problems the designer relies on.

mod common;

use serde_json::{json, Value as J};
use sluice::exec::RunStatus;
use sluice::flow::parse_flow_text;
use sluice::plan::check_flow;
use sluice::value::{DataType, Value};
use std::collections::BTreeMap;
use std::path::Path;

const TICKET: &str = r#"{"id":1,"customer":{"name":"王秀英","phone":"13812345678"},"tags":["vip","refund"],"messages":[{"from":"agent","text":"您好"},{"from":"customer","text":"退款"}]}"#;

/// A flow from `(id, kind, config)` nodes and `(from, from_port, to)` edges into `in`.
fn flow(nodes: &[(&str, &str, J)], edges: &[(&str, &str, &str)]) -> String {
    let nodes: Vec<J> = nodes.iter().map(|(id, kind, config)| json!({"id": id, "kind": kind, "config": config})).collect();
    let edges: Vec<J> = edges.iter().map(|(f, p, t)| json!({"from": f, "from_port": p, "to": t, "to_port": "in"})).collect();
    json!({"version": 1, "name": "json test", "nodes": nodes, "edges": edges}).to_string()
}

/// Inline rows with the given typed fields.
fn source(fields: J, rows: J) -> (&'static str, &'static str, J) {
    ("src", "inline_rows", json!({"fields": fields, "rows": rows}))
}

fn raw_source(rows: &[&str]) -> (&'static str, &'static str, J) {
    let rows: Vec<J> = rows.iter().map(|r| json!({"raw": r})).collect();
    source(json!([{"name": "raw", "type": "string"}]), J::Array(rows))
}

fn sink() -> (&'static str, &'static str, J) {
    ("sink", "log", json!({}))
}

async fn run(flow: &str, taps: &[(&str, &str)]) -> Vec<common::Captured> {
    let (summary, captured) = common::run_capture(flow, Path::new("."), taps).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    captured
}

fn types(c: &common::Captured) -> Vec<(String, DataType)> {
    c.schema.as_ref().unwrap().fields().iter().map(|f| (f.name.clone(), f.data_type)).collect()
}

/// The design-time fields of a node's port, as `(name, type)`.
fn design_fields(flow_json: &str, node: &str, port: &str) -> Vec<(String, DataType)> {
    let flow = parse_flow_text(flow_json).unwrap();
    let check = check_flow(&flow, Path::new("."), &BTreeMap::new());
    assert!(!check.diagnostics.has_errors(), "{}", check.diagnostics);
    let schema = check.schemas.get(node).and_then(|p| p.get(port)).unwrap_or_else(|| panic!("no design-time schema for {node}.{port}"));
    schema.fields().iter().map(|f| (f.name.clone(), f.data_type)).collect()
}

fn named(fields: &[(&str, DataType)]) -> Vec<(String, DataType)> {
    fields.iter().map(|(n, t)| (n.to_string(), *t)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn ticket_record_is_parsed_flattened_exploded_and_flattened_again() {
    let f = flow(
        &[
            source(json!([{"name": "ticket_no", "type": "string"}, {"name": "raw", "type": "string"}]), json!([{"ticket_no": "T-1", "raw": TICKET}])),
            ("parse", "json_parse", json!({"field": "raw"})),
            ("flat", "json_flatten", json!({"field": "raw", "prefix": ""})),
            ("explode", "json_explode", json!({"field": "messages", "index_field": "msg_no"})),
            ("flat2", "json_flatten", json!({"field": "messages", "prefix": "msg_"})),
            sink(),
        ],
        &[("src", "out", "parse"), ("parse", "out", "flat"), ("flat", "out", "explode"), ("explode", "out", "flat2"), ("flat2", "out", "sink")],
    );
    let c = run(&f, &[("parse", "out"), ("flat", "out"), ("explode", "out"), ("flat2", "out")]).await;

    // Parsed in place: same name and place, now JSON.
    assert_eq!(types(&c[0]), named(&[("ticket_no", DataType::String), ("raw", DataType::Json)]));
    assert_eq!(c[0].json()[0]["raw"], serde_json::from_str::<J>(TICKET).unwrap());

    // Flattened: nested keys joined with `_`, arrays kept as JSON, types from the data.
    assert_eq!(
        types(&c[1]),
        named(&[
            ("ticket_no", DataType::String),
            ("id", DataType::Int),
            ("customer_name", DataType::String),
            ("customer_phone", DataType::String),
            ("tags", DataType::Json),
            ("messages", DataType::Json),
        ])
    );
    let row = &c[1].json()[0];
    assert_eq!(row["customer_name"], json!("王秀英"));
    assert_eq!(row["customer_phone"], json!("13812345678"), "a phone number stays text");
    assert_eq!(row["tags"], json!(["vip", "refund"]));
    assert_eq!(c[1].rows[0][1], Value::Int(1));

    // Exploded: one row per message, the other fields repeated, the position alongside.
    assert_eq!(c[2].rows.len(), 2);
    let rows = c[2].json();
    assert_eq!(rows[0]["messages"], json!({"from": "agent", "text": "您好"}));
    assert_eq!(rows[1]["msg_no"], json!(1));
    assert_eq!(rows[1]["customer_phone"], json!("13812345678"));

    // And flattened again.
    assert_eq!(
        c[3].field_names(),
        ["ticket_no", "id", "customer_name", "customer_phone", "tags", "msg_from", "msg_text", "msg_no"]
    );
    let got: Vec<J> = c[3].json().iter().map(|r| json!([r["ticket_no"], r["msg_no"], r["msg_from"], r["msg_text"]])).collect();
    assert_eq!(got, vec![json!(["T-1", 0, "agent", "您好"]), json!(["T-1", 1, "customer", "退款"])]);
}

#[tokio::test(flavor = "multi_thread")]
async fn listed_fields_are_typed_and_known_at_design_time() {
    let good = r#"{"id":"7","customer":{"phone":"13812345678","vip":true},"amount":"12.50","created":"2024-03-05","tags":["a","b"]}"#;
    let bad = r#"{"id":"x7","customer":{"phone":"13900000000"}}"#;
    let f = flow(
        &[
            raw_source(&[good, bad]),
            // Reads the text directly: no json_parse needed in front.
            (
                "flat",
                "json_flatten",
                json!({"field": "raw", "fields": [
                    {"path": "id", "type": "int"},
                    {"path": "customer.phone"},
                    {"path": "customer.vip", "type": "bool", "name": "is_vip"},
                    {"path": "amount", "type": "decimal"},
                    {"path": "created", "type": "date"},
                    {"path": "tags[-1]", "name": "last_tag"},
                    {"path": "tags"},
                    {"path": "missing.key", "type": "int"}
                ]}),
            ),
            sink(),
        ],
        &[("src", "out", "flat"), ("flat", "out", "sink")],
    );
    let expected = named(&[
        ("raw_id", DataType::Int),
        ("raw_customer_phone", DataType::String),
        ("is_vip", DataType::Bool),
        ("raw_amount", DataType::Decimal),
        ("raw_created", DataType::Date),
        ("last_tag", DataType::String),
        ("raw_tags", DataType::String),
        ("raw_missing_key", DataType::Int),
    ]);
    assert_eq!(design_fields(&f, "flat", "out"), expected, "the default prefix is the field name and `_`");
    let c = run(&f, &[("flat", "out"), ("flat", "error")]).await;
    assert_eq!(types(&c[0]), expected, "run time matches design time");
    assert_eq!(c[0].rows.len(), 1);
    let row = &c[0].rows[0];
    assert_eq!(row[0], Value::Int(7));
    assert_eq!(row[1], Value::str("13812345678"));
    assert_eq!(row[2], Value::Bool(true));
    assert_eq!(row[3], Value::Decimal("12.50".parse().unwrap()));
    assert_eq!(row[4].to_text().unwrap(), "2024-03-05");
    assert_eq!(row[5], Value::str("b"));
    assert_eq!(row[6], Value::str(r#"["a","b"]"#), "a listed array read as string is its JSON text");
    assert_eq!(row[7], Value::Null);

    let err = &c[1].json()[0];
    assert_eq!(err["_error_field"], json!("raw"));
    let msg = err["_error_message"].as_str().unwrap();
    assert!(msg.contains("'id'") && msg.contains("cannot read \"x7\" as int"), "{msg}");
    assert_eq!(err["raw"], json!(bad), "the failed row keeps its original text");
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_widens_types_renames_clashes_and_leaves_out_late_paths() {
    let f = flow(
        &[
            source(
                json!([{"name": "score", "type": "int"}, {"name": "payload", "type": "json"}]),
                json!([
                    {"score": 9, "payload": {"score": 1, "agent": {"name": "李雷"}}},
                    {"score": 8, "payload": {"score": 2.5, "tags": ["a", "b"]}},
                    {"score": 7, "payload": {"score": 3, "late": "y"}},
                    {"score": 6, "payload": null}
                ]),
            ),
            ("flat", "json_flatten", json!({"field": "payload", "prefix": "", "sample_rows": 2, "arrays": "index", "keep_original": true})),
            sink(),
        ],
        &[("src", "out", "flat"), ("flat", "out", "sink")],
    );
    assert!(
        parse_flow_text(&f).map(|fl| check_flow(&fl, Path::new("."), &BTreeMap::new()).schemas["flat"].get("out").is_none()).unwrap(),
        "discovered columns are not known before the run"
    );
    let c = run(&f, &[("flat", "out")]).await;
    assert_eq!(
        types(&c[0]),
        named(&[
            ("score", DataType::Int),
            ("payload", DataType::Json),
            ("score_2", DataType::Float),
            ("agent_name", DataType::String),
            ("tags_0", DataType::String),
            ("tags_1", DataType::String),
        ]),
        "the input's own `score` is kept; the discovered one is renamed and widened to float"
    );
    let got: Vec<J> = c[0].json().iter().map(|r| json!([r["score"], r["score_2"], r["agent_name"], r["tags_1"]])).collect();
    assert_eq!(
        got,
        vec![json!([9, 1.0, "李雷", null]), json!([8, 2.5, null, "b"]), json!([7, 3.0, null, null]), json!([6, null, null, null])],
        "the late path `late` is left out; a null payload gives null columns"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_json_goes_to_the_error_output_with_its_position() {
    let f = flow(
        &[
            raw_source(&[TICKET, "{\"id\": 1,}", "not json", "   "]),
            (
                "parse",
                "json_parse",
                json!({"field": "raw", "output_field": "doc", "schema_fields": [{"path": "customer.phone", "name": "phone"}, {"path": "id", "type": "int"}]}),
            ),
            sink(),
        ],
        &[("src", "out", "parse"), ("parse", "out", "sink")],
    );
    assert_eq!(
        design_fields(&f, "parse", "out"),
        named(&[("raw", DataType::String), ("doc", DataType::Json), ("phone", DataType::String), ("id", DataType::Int)])
    );
    let c = run(&f, &[("parse", "out"), ("parse", "error")]).await;
    let out = c[0].json();
    assert_eq!(out.len(), 2, "the ticket and the blank row (null) pass");
    assert_eq!(out[0]["phone"], json!("13812345678"));
    assert_eq!(out[0]["id"], json!(1));
    assert_eq!(out[1]["doc"], J::Null);

    let errors = c[1].json();
    assert_eq!(errors.len(), 2);
    for e in &errors {
        assert_eq!(e["_error_field"], json!("raw"));
        assert_eq!(e["_error_node"], json!("parse"));
    }
    let first = errors[0]["_error_message"].as_str().unwrap();
    assert!(first.contains("field 'raw' is not valid JSON") && first.contains("line 1 column 10"), "{first}");
    let second = errors[1]["_error_message"].as_str().unwrap();
    assert!(second.contains("expected ident at line 1 column 2") && second.contains("\"not json\""), "{second}");
    assert_eq!(errors[1]["raw"], json!("not json"));
}

#[tokio::test(flavor = "multi_thread")]
async fn build_makes_nested_json_from_columns() {
    let f = flow(
        &[
            source(
                json!([
                    {"name": "ticket_id", "type": "int"},
                    {"name": "name", "type": "string"},
                    {"name": "phone", "type": "string"},
                    {"name": "amount", "type": "decimal"},
                    {"name": "big", "type": "decimal"},
                    {"name": "created", "type": "date"},
                    {"name": "closed_at", "type": "datetime"},
                    {"name": "vip", "type": "bool"},
                    {"name": "note", "type": "string"},
                    {"name": "tags", "type": "json"},
                    {"name": "channel", "type": "string"}
                ]),
                json!([{
                    "ticket_id": 1, "name": "王秀英", "phone": "13812345678", "amount": "12.50",
                    "big": "12345678901234567.89", "created": "2024-03-05", "closed_at": "2024-03-05T14:30:00+08:00",
                    "vip": true, "tags": ["vip"], "channel": "phone"
                }]),
            ),
            (
                "build",
                "json_build",
                json!({"output_field": "body", "drop_sources": true, "fields": [
                    {"from": "ticket_id", "key": "ticket.id"},
                    {"from": "name", "key": "customer.name"},
                    {"from": "phone", "key": "customer.phone"},
                    {"from": "vip", "key": "customer.vip"},
                    {"from": "amount", "key": "ticket.amount"},
                    {"from": "big"},
                    {"from": "created"},
                    {"from": "closed_at"},
                    {"from": "note"},
                    {"from": "tags"}
                ]}),
            ),
            sink(),
        ],
        &[("src", "out", "build"), ("build", "out", "sink")],
    );
    assert_eq!(design_fields(&f, "build", "out"), named(&[("channel", DataType::String), ("body", DataType::Json)]));
    let c = run(&f, &[("build", "out")]).await;
    assert_eq!(c[0].field_names(), ["channel", "body"]);
    assert_eq!(
        c[0].rows[0][1].to_text().unwrap(),
        r#"{"ticket":{"id":1,"amount":12.5},"customer":{"name":"王秀英","phone":"13812345678","vip":true},"big":"12345678901234567.89","created":"2024-03-05","closed_at":"2024-03-05T14:30:00+08:00","note":null,"tags":["vip"]}"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn explode_keeps_empty_arrays_when_asked_and_rejects_non_arrays() {
    let f = flow(
        &[
            source(
                json!([{"name": "id", "type": "int"}, {"name": "tags", "type": "string"}]),
                json!([
                    {"id": 1, "tags": "[\"vip\",\"refund\"]"},
                    {"id": 2, "tags": "[]"},
                    {"id": 3},
                    {"id": 4, "tags": "{\"x\":1}"}
                ]),
            ),
            ("inner", "json_explode", json!({"field": "tags", "output_field": "tag"})),
            ("outer", "json_explode", json!({"field": "tags", "keep_empty": true, "index_field": "pos", "element_type": "string"})),
            sink(),
        ],
        &[("src", "out", "inner"), ("src", "out", "outer"), ("inner", "out", "sink"), ("outer", "out", "sink")],
    );
    assert_eq!(
        design_fields(&f, "outer", "out"),
        named(&[("id", DataType::Int), ("tags", DataType::String), ("pos", DataType::Int)])
    );
    assert_eq!(design_fields(&f, "inner", "out"), named(&[("id", DataType::Int), ("tags", DataType::String), ("tag", DataType::Json)]));
    let c = run(&f, &[("inner", "out"), ("outer", "out"), ("inner", "error"), ("outer", "error")]).await;

    // Without keep_empty: empty and null arrays are dropped; the array field stays beside `tag`.
    assert_eq!(types(&c[0]), named(&[("id", DataType::Int), ("tags", DataType::String), ("tag", DataType::String)]));
    let inner: Vec<J> = c[0].json().iter().map(|r| json!([r["id"], r["tag"]])).collect();
    assert_eq!(inner, vec![json!([1, "vip"]), json!([1, "refund"])]);

    // With keep_empty: one row with nulls for each, like a left join.
    let outer: Vec<J> = c[1].json().iter().map(|r| json!([r["id"], r["tags"], r["pos"]])).collect();
    assert_eq!(outer, vec![json!([1, "vip", 0]), json!([1, "refund", 1]), json!([2, null, null]), json!([3, null, null])]);

    let err = &c[2].json()[0];
    assert_eq!(err["id"], json!(4));
    let msg = err["_error_message"].as_str().unwrap();
    assert!(msg.contains("field 'tags' holds an object, not an array"), "{msg}");
    assert_eq!(c[3].rows.len(), 1, "each node sends the row it cannot explode to its own error output");
}

#[tokio::test(flavor = "multi_thread")]
async fn rhai_json_functions_work_in_expressions() {
    let other = r#"{"id":2,"customer":{"name":"李雷"},"tags":[]}"#;
    let f = flow(
        &[
            raw_source(&[TICKET, other]),
            (
                "keep",
                "filter",
                json!({"condition": r#"json_get(raw, "customer.name") == "王秀英" && "vip" in json_parse(raw).tags && json_get(json_parse(raw), "messages[-1].text") == "退款" && json_stringify(json_parse(raw).customer) == "{\"name\":\"王秀英\",\"phone\":\"13812345678\"}""#}),
            ),
            sink(),
        ],
        &[("src", "out", "keep"), ("keep", "out", "sink")],
    );
    let c = run(&f, &[("keep", "out"), ("keep", "rejected")]).await;
    assert_eq!(c[0].json(), vec![json!({"raw": TICKET})]);
    assert_eq!(c[1].json(), vec![json!({"raw": other})]);
}

#[test]
fn config_problems_name_the_config_field() {
    let f = flow(
        &[
            raw_source(&[TICKET]),
            ("flat", "json_flatten", json!({"field": "rw", "fields": [{"path": "a..b"}]})),
            ("build", "json_build", json!({"output_field": "body", "fields": [{"from": "ra"}, {"from": "raw", "key": "ra.w"}]})),
            ("parse", "json_parse", json!({"field": "raw", "schema_fields": [{"path": "x", "name": "raw"}], "keep_json": false})),
            sink(),
        ],
        &[("src", "out", "flat"), ("src", "out", "build"), ("src", "out", "parse"), ("flat", "out", "sink"), ("build", "out", "sink"), ("parse", "out", "sink")],
    );
    let errors = common::plan_errors(&f, Path::new("."));
    for needle in [
        "the input has no field 'rw'",
        "did you mean 'raw'?",
        "fields/0/path",
        "a key is missing",
        "fields/0/from",
        "the input has no field 'ra'",
        "'ra' cannot be a value and also hold 'ra.w'",
    ] {
        assert!(errors.contains(needle), "missing {needle:?} in:\n{errors}");
    }
    // Pulling one field out in place of the text is fine.
    assert!(!errors.contains("parse"), "{errors}");
}
