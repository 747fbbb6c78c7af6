//! The Rhai nodes — `compute`, `route`, `script` — run as whole flows: chained expressions
//! and types, routing modes and ports checked by the planner, script results (keep, drop,
//! several rows, emit), state across rows, params, errors with their place, the sandbox's
//! limits, and row order when rows run on several threads.

mod common;

use pretty_assertions::assert_eq;
use serde_json::{json, Value as J};
use sluice::exec::RunStatus;
use std::collections::BTreeMap;
use std::path::Path;

fn tickets() -> J {
    json!({
        "fields": [
            {"name": "ticket_id", "type": "int"},
            {"name": "priority", "type": "string"},
            {"name": "satisfaction", "type": "int"},
            {"name": "handle_seconds", "type": "int"}
        ],
        "rows": [
            {"ticket_id": 1, "priority": "urgent", "satisfaction": 1, "handle_seconds": 600},
            {"ticket_id": 2, "priority": "low", "satisfaction": null, "handle_seconds": 90},
            {"ticket_id": 3, "priority": "high", "satisfaction": 5, "handle_seconds": 1200},
            {"ticket_id": 4, "priority": "urgent", "satisfaction": 4, "handle_seconds": 30}
        ]
    })
}

/// A flow: an inline source `src` → the node under test `node`, plus `log` sinks wired to
/// the given ports of `node` (so the planner sees those edges).
fn flow_with(source: J, kind: &str, config: J, sinks: &[&str]) -> String {
    let mut nodes = vec![json!({"id": "src", "kind": "inline_rows", "config": source}), json!({"id": "node", "kind": kind, "config": config})];
    let mut edges = vec![json!({"from": "src", "to": "node"})];
    for port in sinks {
        nodes.push(json!({"id": format!("sink_{port}"), "kind": "log", "config": {}}));
        edges.push(json!({"from": "node", "from_port": port, "to": format!("sink_{port}")}));
    }
    json!({
        "version": 1,
        "name": "test",
        "params": [{"name": "team", "type": "string", "default": "support"}],
        "nodes": nodes,
        "edges": edges
    })
    .to_string()
}

fn flow(kind: &str, config: J) -> String {
    flow_with(tickets(), kind, config, &[])
}

async fn run(flow: &str, ports: &[&str]) -> Vec<common::Captured> {
    let taps: Vec<(&str, &str)> = ports.iter().map(|p| ("node", *p)).collect();
    let (summary, caps) = common::run_capture(flow, Path::new("."), &taps).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "run failed: {:?}", summary.error);
    caps
}

fn ids(c: &common::Captured) -> Vec<i64> {
    c.json().iter().map(|r| r["ticket_id"].as_i64().unwrap()).collect()
}

fn types(c: &common::Captured) -> Vec<String> {
    c.schema.as_ref().unwrap().fields().iter().map(|f| format!("{}:{}", f.name, f.data_type)).collect()
}

// ---------------------------------------------------------------- compute

#[tokio::test(flavor = "multi_thread")]
async fn compute_chains_expressions_and_converts_types() {
    let f = flow(
        "compute",
        json!({"fields": [
            {"field": "minutes", "expression": "handle_seconds / 60", "type": "int"},
            {"field": "long_call", "expression": "minutes >= 10", "type": "bool"},
            {"field": "priority", "expression": "priority.to_upper()"},
            {"field": "score", "expression": "if satisfaction == () { \"unrated\" } else { satisfaction * 20 }", "type": "string"},
            {"field": "label", "expression": "`$${row.priority}/$${minutes}`", "type": "string"}
        ]}),
    );
    let caps = run(&f, &["out"]).await;
    assert_eq!(
        types(&caps[0]),
        vec!["ticket_id:int", "priority:string", "satisfaction:int", "handle_seconds:int", "minutes:int", "long_call:bool", "score:string", "label:string"]
    );
    let rows = caps[0].json();
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[0],
        json!({"ticket_id": 1, "priority": "URGENT", "satisfaction": 1, "handle_seconds": 600, "minutes": 10, "long_call": true, "score": "20", "label": "URGENT/10"})
    );
    assert_eq!(rows[1]["score"], json!("unrated"));
    assert_eq!(rows[1]["long_call"], json!(false));
    assert_eq!(rows[3]["minutes"], json!(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn compute_failure_sends_the_original_row_to_error_with_field_and_place() {
    let f = flow_with(
        tickets(),
        "compute",
        json!({"fields": [
            {"field": "priority", "expression": "\"changed\""},
            {"field": "per_point", "expression": "handle_seconds / satisfaction", "type": "int"},
            {"field": "as_int", "expression": "if ticket_id == 4 { \"many\" } else { 1 }", "type": "int"}
        ]}),
        &[],
    );
    let caps = run(&f, &["out", "error"]).await;
    // Row 2: satisfaction is null, so int / () fails; row 4 gives text where an int is due.
    assert_eq!(ids(&caps[0]), vec![1, 3]);
    let errors = caps[1].json();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["ticket_id"], json!(2));
    assert_eq!(errors[0]["priority"], json!("low"), "the error row is the row as it came in");
    assert_eq!(errors[0]["_error_field"], json!("per_point"));
    let msg = errors[0]["_error_message"].as_str().unwrap();
    assert!(msg.starts_with("compute 'per_point': ") && msg.contains("(line 1, column"), "{msg}");
    assert_eq!(errors[1]["_error_field"], json!("as_int"));
    let msg = errors[1]["_error_message"].as_str().unwrap();
    assert!(msg.contains("cannot read \"many\" as int"), "{msg}");
    assert!(caps[1].field_names().contains(&"_error_node".to_string()));
    assert!(!caps[1].field_names().contains(&"per_point".to_string()), "error rows carry the input fields only");
}

#[test]
fn compute_problems_are_found_at_load_time() {
    let f = flow(
        "compute",
        json!({"fields": [
            {"field": "minutes", "expression": "handle_seconds / "},
            {"field": "m2", "expression": "row.handle_secs / 60", "type": "int"},
            {"field": "next", "expression": "row.m2 + 1", "type": "int"}
        ]}),
    );
    let errs = common::plan_errors(&f, Path::new("."));
    assert!(errs.contains("fields/0/expression") && errs.contains("does not compile") && errs.contains("line 1"), "{errs}");
    assert!(errs.contains("fields/0/type") && errs.contains("'minutes' is a new field"), "{errs}");
    assert!(errs.contains("fields/1/expression") && errs.contains("did you mean 'handle_seconds'?"), "{errs}");
    assert!(!errs.contains("fields/2/expression"), "a later expression may read an earlier result: {errs}");
}

// ---------------------------------------------------------------- route

fn route_flow(mode: &str) -> String {
    flow_with(
        tickets(),
        "route",
        json!({"mode": mode, "rules": [
            {"name": "urgent", "condition": "priority == \"urgent\""},
            {"name": "unhappy", "condition": "satisfaction != () && satisfaction <= 2"}
        ]}),
        &["urgent", "unhappy", "default"],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn route_first_match_sends_each_row_once() {
    let caps = run(&route_flow("first_match"), &["urgent", "unhappy", "default"]).await;
    assert_eq!(ids(&caps[0]), vec![1, 4], "if priority is urgent, send to the urgent group");
    assert_eq!(ids(&caps[1]), Vec::<i64>::new(), "ticket 1 is unhappy too, but the first rule took it");
    assert_eq!(ids(&caps[2]), vec![2, 3]);
    assert_eq!(caps[0].field_names(), vec!["ticket_id", "priority", "satisfaction", "handle_seconds"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn route_all_matches_copies_a_row_to_every_matching_port() {
    let caps = run(&route_flow("all_matches"), &["urgent", "unhappy", "default"]).await;
    assert_eq!(ids(&caps[0]), vec![1, 4]);
    assert_eq!(ids(&caps[1]), vec![1]);
    assert_eq!(ids(&caps[2]), vec![2, 3]);
}

#[tokio::test(flavor = "multi_thread")]
async fn route_condition_error_goes_to_error_port() {
    let f = flow("route", json!({"rules": [{"name": "big", "condition": "satisfaction + 1 > 4"}]}));
    let caps = run(&f, &["big", "default", "error"]).await;
    assert_eq!(ids(&caps[0]), vec![3, 4]);
    assert_eq!(ids(&caps[1]), vec![1]);
    let errors = caps[2].json();
    assert_eq!(errors.len(), 1, "() + 1 has no meaning: {errors:?}");
    assert_eq!(errors[0]["ticket_id"], json!(2));
    assert_eq!(errors[0]["_error_field"], json!("rules/0/condition"));
    assert!(errors[0]["_error_message"].as_str().unwrap().starts_with("rule 'big': "), "{errors:?}");
}

#[test]
fn route_ports_come_from_rule_names_and_are_checked() {
    // An edge from a misspelt rule port is refused by the planner, with a suggestion.
    let f = flow_with(tickets(), "route", json!({"rules": [{"name": "urgent", "condition": "priority == \"urgent\""}]}), &["urgnet"]);
    let errs = common::plan_errors(&f, Path::new("."));
    assert!(errs.contains("has no output port 'urgnet'") && errs.contains("did you mean 'urgent'?"), "{errs}");

    let f = flow(
        "route",
        json!({"rules": [
            {"name": "vip", "condition": "true"},
            {"name": "vip", "condition": "false"},
            {"name": "default", "condition": "true"},
            {"name": "two words", "condition": "true"},
            {"name": "x", "condition": "row.priorty == 1"}
        ]}),
    );
    let errs = common::plan_errors(&f, Path::new("."));
    assert!(errs.contains("rules/1/name") && errs.contains("both named 'vip'"), "{errs}");
    assert!(errs.contains("rules/2/name") && errs.contains("'default' is an output every node"), "{errs}");
    assert!(errs.contains("rules/3/name") && errs.contains("letters, digits and _"), "{errs}");
    assert!(errs.contains("rules/4/condition") && errs.contains("did you mean 'priority'?"), "{errs}");
}

// ---------------------------------------------------------------- script

#[tokio::test(flavor = "multi_thread")]
async fn script_keeps_drops_splits_and_emits() {
    let script = r#"
        if row.priority == "low" { return (); }          // drop
        if row.priority == "high" {                        // two rows
            return [row, #{ticket_id: row.ticket_id + 100, note: "copy"}];
        }
        if row.satisfaction == 1 { emit("unhappy", #{note: "call back"}); }
        row.note = `kept $${row.priority}`;
        row
    "#;
    let f = flow(
        "script",
        json!({"script": script, "outputs": ["unhappy"], "fields": [{"name": "note", "type": "string"}]}),
    );
    let caps = run(&f, &["out", "unhappy", "error"]).await;
    let out = caps[0].json();
    assert_eq!(ids(&caps[0]), vec![1, 3, 103, 4], "order: row by row, the array's rows in place");
    assert_eq!(out[0]["note"], json!("kept urgent"));
    assert_eq!(out[1]["note"], J::Null);
    assert_eq!(out[2], json!({"ticket_id": 103, "priority": "high", "satisfaction": 5, "handle_seconds": 1200, "note": "copy"}), "left-out fields keep the input's values");
    assert_eq!(caps[1].json(), vec![json!({"ticket_id": 1, "priority": "urgent", "satisfaction": 1, "handle_seconds": 600, "note": "call back"})]);
    assert!(caps[2].rows.is_empty(), "{:?}", caps[2].json());
}

#[tokio::test(flavor = "multi_thread")]
async fn script_state_init_and_finish_count_across_rows() {
    let f = flow(
        "script",
        json!({
            "init": "state.seen = 0; state.urgent = 0;",
            "script": "state.seen += 1;\nif row.priority == \"urgent\" { state.urgent += 1; }\nrow.seq = state.seen;\nrow",
            "finish": "#{ticket_id: 0, priority: `$${state.urgent} of $${state.seen} urgent`, seq: state.seen}",
            "fields": [{"name": "seq", "type": "int"}]
        }),
    );
    let caps = run(&f, &["out"]).await;
    let out = caps[0].json();
    assert_eq!(out.iter().map(|r| r["seq"].as_i64().unwrap()).collect::<Vec<_>>(), vec![1, 2, 3, 4, 4]);
    // The script names two fields only; the others still come through, as they were.
    assert_eq!(out[1], json!({"ticket_id": 2, "priority": "low", "satisfaction": null, "handle_seconds": 90, "seq": 2}));
    assert_eq!(out[4], json!({"ticket_id": 0, "priority": "2 of 4 urgent", "satisfaction": null, "handle_seconds": null, "seq": 4}));
}

#[tokio::test(flavor = "multi_thread")]
async fn script_reads_params_and_may_declare_only_its_output_fields() {
    let f = flow(
        "script",
        json!({
            "script": "#{id: row.ticket_id, team: params.team}",
            "fields": [{"name": "id", "type": "string"}, {"name": "team", "type": "string"}],
            "keep_input_fields": false
        }),
    );
    let params = BTreeMap::from([("team".to_string(), "vip".to_string())]);
    let (summary, caps) = common::run_capture_with(&f, Path::new("."), &[("node", "out")], &params).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    assert_eq!(caps[0].field_names(), vec!["id", "team"]);
    assert_eq!(caps[0].json()[3], json!({"id": "4", "team": "vip"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn script_errors_go_to_error_port_with_line_and_column() {
    let f = flow(
        "script",
        json!({"script": "let p = row.priority;\nif p == \"high\" { let x = 1 / 0; }\nif p == \"low\" { row.ticket_id = \"one\"; }\nrow"}),
    );
    let caps = run(&f, &["out", "error"]).await;
    assert_eq!(ids(&caps[0]), vec![1, 4]);
    let errors = caps[1].json();
    assert_eq!(errors.iter().map(|e| e["ticket_id"].as_i64().unwrap()).collect::<Vec<_>>(), vec![2, 3]);
    assert!(errors.iter().all(|e| e["_error_field"] == json!("script")));
    let low = errors[0]["_error_message"].as_str().unwrap();
    assert!(low.contains("field 'ticket_id'") && low.contains("as int"), "{low}");
    let high = errors[1]["_error_message"].as_str().unwrap();
    assert!(high.starts_with("script: ") && high.contains("(line 2, column"), "{high}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_loop_hits_the_operation_limit_instead_of_hanging() {
    let f = flow("script", json!({"script": "if row.ticket_id == 3 { loop { } }\nrow"}));
    let caps = run(&f, &["out", "error"]).await;
    assert_eq!(ids(&caps[0]), vec![1, 2, 4]);
    let errors = caps[1].json();
    assert_eq!(errors.len(), 1);
    let msg = errors[0]["_error_message"].as_str().unwrap();
    assert!(msg.contains("more than 1000000 operations") && msg.contains("line 1"), "{msg}");
}

#[test]
fn script_problems_are_found_at_load_time_with_their_place() {
    let f = flow("script", json!({"script": "let x = 1;\nlet y = ;\nrow", "finish": "#{a: }"}));
    let errs = common::plan_errors(&f, Path::new("."));
    assert!(errs.contains("script") && errs.contains("the script does not compile") && errs.contains("(line 2, column"), "{errs}");
    assert!(errs.contains("finish does not compile") && errs.contains("(line 1, column"), "{errs}");

    let f = flow("script", json!({"script": "eval(\"row\")"}));
    let errs = common::plan_errors(&f, Path::new("."));
    assert!(errs.contains("the script does not compile") && errs.contains("eval"), "eval is switched off: {errs}");

    let f = flow(
        "script",
        json!({
            "script": "state.n = 1;\nemit(\"urgnet\", row);\nrow.prio = 1;\nrow",
            "outputs": ["urgent", "out", "bad name"]
        }),
    );
    let errs = common::plan_errors(&f, Path::new("."));
    assert!(errs.contains("uses `state` (line 1, column 1)") && errs.contains("set parallel to false"), "{errs}");
    assert!(errs.contains("emit(\"urgnet\", …) (line 2, column 6)") && errs.contains("did you mean 'urgent'?"), "{errs}");
    assert!(errs.contains("row.prio (line 3, column 5)") && errs.contains("did you mean 'priority'?"), "{errs}");
    assert!(errs.contains("outputs/1") && errs.contains("outputs/2"), "{errs}");

    let f = flow("script", json!({"script": "row", "init": "state.n = 0;", "parallel": true}));
    let errs = common::plan_errors(&f, Path::new("."));
    assert!(errs.contains("parallel") && errs.contains("cannot run on several threads"), "{errs}");
}

fn numbers(n: i64) -> J {
    json!({
        "fields": [{"name": "n", "type": "int"}],
        "rows": (0..n).map(|i| json!({"n": i})).collect::<Vec<_>>()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_runs_keep_input_order() {
    // 10,000 rows: several batches, each cut into pieces that run on several threads.
    let f = flow_with(
        numbers(10_000),
        "script",
        json!({"script": "if row.n % 7 == 3 { emit(\"sevens\", row); return (); }\nrow.sq = row.n * row.n;\nrow", "outputs": ["sevens"], "fields": [{"name": "sq", "type": "int"}]}),
        &[],
    );
    let caps = run(&f, &["out", "sevens"]).await;
    let got: Vec<(i64, i64)> = caps[0].json().iter().map(|r| (r["n"].as_i64().unwrap(), r["sq"].as_i64().unwrap())).collect();
    let want: Vec<(i64, i64)> = (0..10_000).filter(|n| n % 7 != 3).map(|n| (n, n * n)).collect();
    assert_eq!(got, want);
    let sevens: Vec<i64> = caps[1].json().iter().map(|r| r["n"].as_i64().unwrap()).collect();
    assert_eq!(sevens, (0..10_000).filter(|n| n % 7 == 3).collect::<Vec<_>>());

    let f = flow_with(numbers(10_000), "compute", json!({"fields": [{"field": "half", "expression": "n / 2", "type": "int"}]}), &[]);
    let caps = run(&f, &["out"]).await;
    let halves: Vec<i64> = caps[0].json().iter().map(|r| r["half"].as_i64().unwrap()).collect();
    assert_eq!(halves, (0..10_000).map(|n| n / 2).collect::<Vec<_>>());
}
