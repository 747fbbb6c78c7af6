//! The relational transforms inside flows: `dedupe`, `sort` (in memory and spilling to
//! disk), `limit` (stopping its source early), `sample`, `aggregate`, `join` (all five
//! types, the memory budget, one source feeding both sides) and `union`.

mod common;

use common::{column, flow, run};

use serde_json::{json, Value as J};
use sluice::exec::{start_run, BlockingNode, NodeError, NodeIo, RunOptions, RunStatus};
use sluice::flow::parse_flow_text;
use sluice::nodes::{erase, Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSpec, Ports};
use sluice::plan::{check_flow, plan_flow};
use sluice::value::{Batch, DataType};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Writes `tickets.csv` with `n` rows: id, channel (5 values), score (0..=999 or empty every
/// 7th row), note (some long text). Deterministic.
fn write_csv(dir: &Path, n: u64) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("tickets.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(f, "id,channel,score,note").unwrap();
    let channels = ["phone", "web", "app", "wechat", "email"];
    let mut x: u64 = 12345;
    for i in 1..=n {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let score = if i % 7 == 0 { String::new() } else { ((x >> 33) % 1000).to_string() };
        writeln!(f, "{i},{},{score},customer note number {i} with some words to make the row longer", channels[(x >> 40) as usize % 5]).unwrap();
    }
    f.flush().unwrap();
    path
}

// ---------------------------------------------------------------------------------- dedupe

fn contacts() -> (J, J) {
    (
        json!([{"name": "id", "type": "int"}, {"name": "email", "type": "string"}, {"name": "score", "type": "decimal"}]),
        json!([
            {"id": 1, "email": "a@x.cn", "score": "1.50"},
            {"id": 2, "email": "b@x.cn", "score": "2"},
            {"id": 3, "email": "a@x.cn", "score": "1.5"},
            {"id": 4, "email": null, "score": "3"},
            {"id": 5, "email": "b@x.cn", "score": "2.0"},
            {"id": 6, "email": null, "score": "4"}
        ]),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn dedupe_keeps_the_first_row_per_key_and_sends_the_rest_to_duplicates() {
    let (fields, rows) = contacts();
    let out = run(&flow(fields, rows, "dedupe", json!({"fields": ["email"]})), &["out", "duplicates"]).await;
    assert_eq!(column(&out[0], "id"), vec![json!(1), json!(2), json!(4)], "null is one key, like SQL DISTINCT");
    assert_eq!(column(&out[1], "id"), vec![json!(3), json!(5), json!(6)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn dedupe_keep_last_holds_the_latest_row_in_input_order() {
    let (fields, rows) = contacts();
    let out = run(&flow(fields, rows, "dedupe", json!({"fields": ["email"], "keep": "last"})), &["out", "duplicates"]).await;
    assert_eq!(column(&out[0], "id"), vec![json!(3), json!(5), json!(6)]);
    assert_eq!(column(&out[1], "id"), vec![json!(1), json!(2), json!(4)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn dedupe_compares_decimals_by_value_and_whole_rows_without_fields() {
    let (fields, rows) = contacts();
    let out = run(&flow(fields.clone(), rows.clone(), "dedupe", json!({"fields": ["email", "score"]})), &["out"]).await;
    assert_eq!(column(&out[0], "id"), vec![json!(1), json!(2), json!(4), json!(6)], "1.50 == 1.5 and 2 == 2.0");
    let doubled = json!([{"id": 1, "email": "a", "score": "1"}, {"id": 1, "email": "a", "score": "1.0"}, {"id": 1, "email": "b", "score": "1"}]);
    let out = run(&flow(fields, doubled, "dedupe", json!({})), &["out"]).await;
    assert_eq!(column(&out[0], "email"), vec![json!("a"), json!("b")]);
}

// ------------------------------------------------------------------------------------ sort

#[tokio::test(flavor = "multi_thread")]
async fn sort_orders_by_several_keys_with_nulls_where_asked() {
    let fields = json!([{"name": "id", "type": "int"}, {"name": "channel", "type": "string"}, {"name": "sat", "type": "float"}]);
    let rows = json!([
        {"id": 1, "channel": "web", "sat": 3.5},
        {"id": 2, "channel": "app", "sat": null},
        {"id": 3, "channel": "web", "sat": 5},
        {"id": 4, "channel": null, "sat": 1},
        {"id": 5, "channel": "app", "sat": 2},
        {"id": 6, "channel": "web", "sat": null},
        {"id": 7, "channel": "Web", "sat": 4}
    ]);
    let config = json!({"fields": [{"field": "channel"}, {"field": "sat", "order": "desc", "nulls": "first"}]});
    let out = run(&flow(fields.clone(), rows.clone(), "sort", config), &["out"]).await;
    // Byte order: "Web" < "app" < "web"; a null channel goes last by default.
    assert_eq!(column(&out[0], "id"), vec![json!(7), json!(2), json!(5), json!(6), json!(3), json!(1), json!(4)]);

    let config = json!({"fields": [{"field": "sat", "nulls": "last"}]});
    let out = run(&flow(fields.clone(), rows.clone(), "sort", config), &["out"]).await;
    assert_eq!(column(&out[0], "id"), vec![json!(4), json!(5), json!(1), json!(7), json!(3), json!(2), json!(6)], "stable for the two nulls");

    let config = json!({"fields": [{"field": "sat", "order": "desc"}]});
    let out = run(&flow(fields, rows, "sort", config), &["out"]).await;
    assert_eq!(column(&out[0], "id"), vec![json!(3), json!(7), json!(1), json!(5), json!(4), json!(2), json!(6)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn sort_spills_past_its_budget_merges_in_order_and_removes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path(), 50_000);
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    let flow = json!({
        "version": 1,
        "name": "big sort",
        "nodes": [
            {"id": "src", "kind": "csv_source", "config": {"path": csv.to_string_lossy()}},
            {"id": "node", "kind": "sort", "config": {
                "fields": [{"field": "score", "order": "desc", "nulls": "first"}],
                "memory_budget_mb": 0.1,
                "spill_dir": spill.to_string_lossy()
            }},
            {"id": "sink", "kind": "log", "config": {"max_rows": 0}}
        ],
        "edges": [
            {"from": "src", "from_port": "out", "to": "node", "to_port": "in"},
            {"from": "node", "from_port": "out", "to": "sink", "to_port": "in"}
        ]
    })
    .to_string();
    let (summary, out) = common::run_capture(&flow, dir.path(), &[("node", "out")]).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    let sort = summary.node("node").unwrap();
    assert!(sort.bytes > 1_000_000, "the sort spilled to disk ({} bytes)", sort.bytes);
    let rows = out[0].json();
    assert_eq!(rows.len(), 50_000);
    // Nulls first, then scores descending; equal scores keep input order (ids ascending).
    let nulls = rows.iter().take_while(|r| r["score"].is_null()).count();
    assert_eq!(nulls, 50_000 / 7);
    for w in rows[nulls..].windows(2) {
        let (a, b) = (w[0]["score"].as_i64().unwrap(), w[1]["score"].as_i64().unwrap());
        assert!(a > b || (a == b && w[0]["id"].as_i64() < w[1]["id"].as_i64()), "out of order: {} then {}", w[0], w[1]);
    }
    for w in rows[..nulls].windows(2) {
        assert!(w[0]["id"].as_i64() < w[1]["id"].as_i64(), "nulls keep input order");
    }
    let mut ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=50_000).collect::<Vec<_>>(), "every row once");
    assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0, "spill files are removed");
}

// ----------------------------------------------------------------------------------- limit

#[tokio::test(flavor = "multi_thread")]
async fn limit_passes_the_first_rows_and_stops_a_million_row_source_early() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path(), 1_000_000);
    let flow = json!({
        "version": 1,
        "name": "limit",
        "nodes": [
            {"id": "src", "kind": "csv_source", "config": {"path": csv.to_string_lossy()}},
            {"id": "node", "kind": "limit", "config": {"rows": 5, "offset": 2}},
            {"id": "sink", "kind": "log", "config": {}}
        ],
        "edges": [
            {"from": "src", "from_port": "out", "to": "node", "to_port": "in"},
            {"from": "node", "from_port": "out", "to": "sink", "to_port": "in"}
        ]
    })
    .to_string();
    let (summary, out) = common::run_capture(&flow, dir.path(), &[("node", "out")]).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    assert_eq!(column(&out[0], "id"), vec![json!(3), json!(4), json!(5), json!(6), json!(7)]);
    let read = summary.node("src").unwrap().rows_out;
    assert!(read < 100_000, "the source stopped early, after {read} rows");
}

// ---------------------------------------------------------------------------------- sample

fn numbered(n: i64) -> (J, J) {
    (json!([{"name": "id", "type": "int"}]), J::Array((1..=n).map(|i| json!({"id": i})).collect()))
}

#[tokio::test(flavor = "multi_thread")]
async fn sample_is_reproducible_with_a_seed() {
    let (fields, rows) = numbered(2000);
    let pick = |config: J| {
        let f = flow(fields.clone(), rows.clone(), "sample", config);
        async move { column(&run(&f, &["out"]).await[0], "id") }
    };
    let a = pick(json!({"fraction": 0.1, "seed": 42})).await;
    let b = pick(json!({"fraction": 0.1, "seed": 42})).await;
    let c = pick(json!({"fraction": 0.1, "seed": 43})).await;
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!((120..=280).contains(&a.len()), "about 10% of 2000, got {}", a.len());

    let r1 = pick(json!({"rows": 25, "seed": 7})).await;
    let r2 = pick(json!({"rows": 25, "seed": 7})).await;
    assert_eq!(r1, r2);
    assert_eq!(r1.len(), 25);
    let ids: Vec<i64> = r1.iter().map(|v| v.as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "input order kept: {ids:?}");
    assert!(*ids.last().unwrap() > 1000, "late rows get picked too: {ids:?}");
    let all = pick(json!({"rows": 5000, "seed": 1})).await;
    assert_eq!(all.len(), 2000, "fewer rows than asked: all of them");
}

#[tokio::test(flavor = "multi_thread")]
async fn sample_needs_exactly_one_of_fraction_and_rows() {
    let (fields, rows) = numbered(3);
    let f = parse_flow_text(&flow(fields, rows, "sample", json!({"fraction": 0.5, "rows": 2}))).unwrap();
    let check = check_flow(&f, Path::new("."), &BTreeMap::new());
    let text = check.diagnostics.to_string();
    assert!(text.contains("set either fraction or rows, not both"), "{text}");
}

// ------------------------------------------------------------------------------- aggregate

fn report_rows() -> (J, J) {
    (
        json!([
            {"name": "channel", "type": "string"},
            {"name": "agent", "type": "string"},
            {"name": "secs", "type": "int"},
            {"name": "sat", "type": "int"},
            {"name": "resolved", "type": "bool"},
            {"name": "refund", "type": "decimal"}
        ]),
        json!([
            {"channel": "web", "agent": "A1", "secs": 100, "sat": 5, "resolved": true, "refund": "0.10"},
            {"channel": "phone", "agent": "A2", "secs": 300, "sat": null, "resolved": false, "refund": "19.99"},
            {"channel": "web", "agent": "A2", "secs": 200, "sat": 3, "resolved": true, "refund": "0.20"},
            {"channel": "phone", "agent": "A2", "secs": 500, "sat": 4, "resolved": true, "refund": null},
            {"channel": "web", "agent": "A1", "secs": 300, "sat": null, "resolved": false, "refund": "0.0000000001"},
            {"channel": null, "agent": "A3", "secs": 50, "sat": 1, "resolved": null, "refund": "1"},
            {"channel": "web", "agent": null, "secs": 400, "sat": 4, "resolved": true, "refund": "0.30"}
        ]),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn aggregate_builds_the_daily_service_report() {
    let (fields, rows) = report_rows();
    let config = json!({
        "group_by": ["channel"],
        "aggregates": [
            {"op": "count", "output": "tickets"},
            {"op": "count", "field": "sat", "output": "answered"},
            {"op": "count_distinct", "field": "agent", "output": "agents"},
            {"op": "avg", "field": "secs", "output": "aht"},
            {"op": "avg", "field": "sat", "output": "csat"},
            {"op": "avg", "field": "resolved", "output": "fcr"},
            {"op": "sum", "field": "refund"},
            {"op": "sum", "field": "secs"},
            {"op": "min", "field": "secs"},
            {"op": "max", "field": "agent"},
            {"op": "first", "field": "sat"},
            {"op": "last", "field": "sat"},
            {"op": "percentile", "field": "secs", "percentile": 0.25},
            {"op": "median", "field": "secs"},
            {"op": "stddev", "field": "secs"}
        ]
    });
    let out = run(&flow(fields, rows, "aggregate", config), &["out"]).await;
    assert_eq!(
        out[0].field_names(),
        vec![
            "channel", "tickets", "answered", "agents", "aht", "csat", "fcr", "sum_refund", "sum_secs", "min_secs", "max_agent", "first_sat",
            "last_sat", "p25_secs", "median_secs", "stddev_secs"
        ]
    );
    let types: Vec<DataType> = out[0].schema.as_ref().unwrap().fields().iter().map(|f| f.data_type).collect();
    assert_eq!(types[4], DataType::Float, "avg of ints is a float");
    assert_eq!(types[7], DataType::Decimal, "sum of decimals stays decimal");
    let rows = out[0].json();
    // Sorted by the group key, the null group last.
    assert_eq!(column(&out[0], "channel"), vec![json!("phone"), json!("web"), J::Null]);
    let phone = &rows[0];
    assert_eq!(phone["tickets"], json!(2));
    assert_eq!(phone["answered"], json!(1));
    assert_eq!(phone["agents"], json!(1));
    assert_eq!(phone["aht"], json!(400.0));
    assert_eq!(phone["csat"], json!(4.0), "the null satisfaction is ignored");
    assert_eq!(phone["fcr"], json!(0.5), "avg of a bool is the share of true");
    assert_eq!(phone["sum_refund"], json!("19.99"));
    assert!((phone["stddev_secs"].as_f64().unwrap() - 20000f64.sqrt()).abs() < 1e-9, "{}", phone["stddev_secs"]);
    let web = &rows[1];
    assert_eq!(web["tickets"], json!(4));
    assert_eq!(web["answered"], json!(3));
    assert_eq!(web["agents"], json!(2), "null is not a distinct value");
    assert_eq!(web["aht"], json!(250.0));
    assert_eq!(web["csat"], json!(4.0));
    assert_eq!(web["fcr"], json!(0.75));
    assert_eq!(web["sum_refund"], json!("0.6000000001"), "exact, no binary rounding");
    assert_eq!(web["sum_secs"], json!(1000));
    assert_eq!(web["min_secs"], json!(100));
    assert_eq!(web["max_agent"], json!("A2"));
    assert_eq!(web["first_sat"], json!(5));
    assert_eq!(web["last_sat"], json!(4), "last non-null");
    assert_eq!(web["p25_secs"], json!(175.0), "100,200,300,400 at rank 0.75");
    assert_eq!(web["median_secs"], json!(250.0));
    let none = &rows[2];
    assert_eq!(none["tickets"], json!(1));
    assert_eq!(none["fcr"], J::Null, "no values: null");
    assert_eq!(none["stddev_secs"], J::Null, "one value has no sample deviation");
}

#[tokio::test(flavor = "multi_thread")]
async fn aggregate_without_group_by_gives_one_row_even_for_no_rows() {
    let (fields, rows) = report_rows();
    let config = json!({"aggregates": [{"op": "count"}, {"op": "sum", "field": "refund"}, {"op": "avg", "field": "sat"}]});
    let out = run(&flow(fields.clone(), rows, "aggregate", config.clone()), &["out"]).await;
    assert_eq!(out[0].json(), vec![json!({"count": 7, "sum_refund": "21.5900000001", "avg_sat": 3.4})]);
    let out = run(&flow(fields, json!([]), "aggregate", config), &["out"]).await;
    assert_eq!(out[0].json(), vec![json!({"count": 0, "sum_refund": null, "avg_sat": null})]);
}

#[tokio::test(flavor = "multi_thread")]
async fn aggregate_config_mistakes_are_named() {
    let (fields, rows) = report_rows();
    let config = json!({"group_by": ["chanel"], "aggregates": [
        {"op": "sum", "field": "agent"},
        {"op": "percentile", "field": "secs"},
        {"op": "avg"},
        {"op": "count"},
        {"op": "count", "field": "secs", "output": "count"}
    ]});
    let f = parse_flow_text(&flow(fields, rows, "aggregate", config)).unwrap();
    let check = check_flow(&f, Path::new("."), &BTreeMap::new());
    let text = check.diagnostics.to_string();
    for needle in [
        "group_by/0",
        "did you mean 'channel'",
        "aggregates/0/field",
        "sum needs a number or yes/no field, but 'agent' is string",
        "aggregates/1/percentile",
        "aggregates/2/field",
        "aggregates/4/output",
        "output field 'count' is named twice",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

// ------------------------------------------------------------------------------------ join

fn join_flow(kind: &str, extra: J) -> String {
    let mut config = json!({"on": [{"left": "agent_id", "right": "agent_id"}], "type": kind});
    config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json!({
        "version": 1,
        "name": "join",
        "nodes": [
            {"id": "tickets", "kind": "inline_rows", "config": {
                "fields": [{"name": "ticket", "type": "int"}, {"name": "agent_id", "type": "int"}, {"name": "name", "type": "string"}],
                "rows": [
                    {"ticket": 1, "agent_id": 10, "name": "王秀英"},
                    {"ticket": 2, "agent_id": 20, "name": "Kevin"},
                    {"ticket": 3, "agent_id": null, "name": "Anna"},
                    {"ticket": 4, "agent_id": 99, "name": "Tom"},
                    {"ticket": 5, "agent_id": 10, "name": "Mei"}
                ]
            }},
            {"id": "agents", "kind": "inline_rows", "config": {
                "fields": [{"name": "agent_id", "type": "decimal"}, {"name": "name", "type": "string"}],
                "rows": [
                    {"agent_id": "10.0", "name": "Li"},
                    {"agent_id": "20", "name": "Wong"},
                    {"agent_id": "20", "name": "Wong (night)"},
                    {"agent_id": null, "name": "Nobody"},
                    {"agent_id": "30", "name": "Chen"}
                ]
            }},
            {"id": "node", "kind": "join", "config": config},
            {"id": "sink", "kind": "log", "config": {}}
        ],
        "edges": [
            {"from": "tickets", "from_port": "out", "to": "node", "to_port": "left"},
            {"from": "agents", "from_port": "out", "to": "node", "to_port": "right"},
            {"from": "node", "from_port": "out", "to": "sink", "to_port": "in"}
        ]
    })
    .to_string()
}

/// Rows as (ticket, right name) pairs.
fn pairs(c: &common::Captured) -> Vec<(J, J)> {
    c.json().iter().map(|r| (r["ticket"].clone(), r["right_name"].clone())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn join_inner_left_right_full_and_anti() {
    let n = J::Null;
    let out = run(&join_flow("inner", json!({})), &["out"]).await;
    assert_eq!(
        out[0].field_names(),
        vec!["ticket", "agent_id", "name", "right_agent_id", "right_name"],
        "left fields, then right fields with clashes prefixed"
    );
    assert_eq!(
        pairs(&out[0]),
        vec![(json!(1), json!("Li")), (json!(2), json!("Wong")), (json!(2), json!("Wong (night)")), (json!(5), json!("Li"))],
        "an int key matches a decimal key of the same value; several matches in right order"
    );

    let out = run(&join_flow("left", json!({})), &["out"]).await;
    assert_eq!(
        pairs(&out[0]),
        vec![
            (json!(1), json!("Li")),
            (json!(2), json!("Wong")),
            (json!(2), json!("Wong (night)")),
            (json!(3), n.clone()),
            (json!(4), n.clone()),
            (json!(5), json!("Li"))
        ],
        "a null key never matches"
    );

    let out = run(&join_flow("right", json!({})), &["out"]).await;
    assert_eq!(
        pairs(&out[0]),
        vec![
            (json!(1), json!("Li")),
            (json!(2), json!("Wong")),
            (json!(2), json!("Wong (night)")),
            (json!(5), json!("Li")),
            (n.clone(), json!("Nobody")),
            (n.clone(), json!("Chen"))
        ]
    );

    let out = run(&join_flow("full", json!({"right_prefix": "agent_"})), &["out"]).await;
    let got: Vec<(J, J)> = out[0].json().iter().map(|r| (r["ticket"].clone(), r["agent_name"].clone())).collect();
    assert_eq!(
        got,
        vec![
            (json!(1), json!("Li")),
            (json!(2), json!("Wong")),
            (json!(2), json!("Wong (night)")),
            (json!(3), n.clone()),
            (json!(4), n.clone()),
            (json!(5), json!("Li")),
            (n.clone(), json!("Nobody")),
            (n.clone(), json!("Chen"))
        ]
    );

    let out = run(&join_flow("anti", json!({})), &["out"]).await;
    assert_eq!(out[0].field_names(), vec!["ticket", "agent_id", "name"]);
    assert_eq!(column(&out[0], "ticket"), vec![json!(3), json!(4)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn join_output_fields_are_known_at_design_time() {
    let f = parse_flow_text(&join_flow("left", json!({}))).unwrap();
    let check = check_flow(&f, Path::new("."), &BTreeMap::new());
    assert!(!check.diagnostics.has_errors(), "{}", check.diagnostics);
    let names: Vec<String> = check.schemas["node"]["out"].names().map(str::to_string).collect();
    assert_eq!(names, vec!["ticket", "agent_id", "name", "right_agent_id", "right_name"]);

    let bad = join_flow("inner", json!({})).replace(r#""right":"agent_id""#, r#""right":"name""#);
    let f = parse_flow_text(&bad).unwrap();
    let text = check_flow(&f, Path::new("."), &BTreeMap::new()).diagnostics.to_string();
    assert!(text.contains("left field 'agent_id' is int but right field 'name' is string"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn join_fails_clearly_when_the_right_input_passes_its_budget() {
    let (summary, _) = common::run_capture(&join_flow("inner", json!({"memory_budget_mb": 0.0005})), Path::new("."), &[]).await;
    assert_eq!(summary.status, RunStatus::Failed);
    let err = summary.error.unwrap_or_default();
    assert!(
        err.contains("the right input of join 'node' holds more than 0.0005 MB; put the smaller input on the right or raise memory_budget_mb"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn join_with_one_source_on_both_sides_does_not_stall() {
    // tickets → aggregate (per channel) → right; tickets → left. The aggregate needs every
    // row before it sends one, so the join must take left rows meanwhile (held in memory,
    // then in a temporary file: 200,000 rows are more than it holds in memory).
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path(), 200_000);
    let flow = json!({
        "version": 1,
        "name": "self join",
        "nodes": [
            {"id": "src", "kind": "csv_source", "config": {"path": csv.to_string_lossy()}},
            {"id": "per_channel", "kind": "aggregate", "config": {"group_by": ["channel"], "aggregates": [{"op": "count", "output": "channel_tickets"}]}},
            {"id": "node", "kind": "join", "config": {"on": [{"left": "channel", "right": "channel"}], "spill_dir": dir.path().to_string_lossy()}},
            {"id": "sink", "kind": "log", "config": {"max_rows": 0}}
        ],
        "edges": [
            {"from": "src", "from_port": "out", "to": "per_channel", "to_port": "in"},
            {"from": "per_channel", "from_port": "out", "to": "node", "to_port": "right"},
            {"from": "src", "from_port": "out", "to": "node", "to_port": "left"},
            {"from": "node", "from_port": "out", "to": "sink", "to_port": "in"}
        ]
    })
    .to_string();
    let (summary, _) = common::run_capture(&flow, dir.path(), &[]).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    let join = summary.node("node").unwrap();
    assert_eq!(join.rows_out, 200_000);
    assert!(join.bytes > 0, "left rows were held in a temporary file");
    let left_over: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".spill")).collect();
    assert!(left_over.is_empty(), "temporary files are removed");
}

// ----------------------------------------------------------------------------------- union

/// A sink that keeps every batch with its own schema (run_capture keeps the first schema
/// only, and a union's fields can grow between batches).
struct Keep(Arc<Mutex<Vec<Batch>>>);

impl NodeKind for Keep {
    type Config = serde_json::Value;
    fn meta(&self) -> NodeMeta {
        NodeMeta { kind: "keep", category: Category::Sink, title: "keep", description: "", keywords: &[], icon: "" }
    }
    fn static_ports(&self) -> Ports {
        Ports { inputs: vec![PortSpec::input("in", "")], outputs: vec![] }
    }
    fn build(&self, _c: serde_json::Value, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        struct Task(Arc<Mutex<Vec<Batch>>>);
        impl BlockingNode for Task {
            fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
                while let Some(b) = io.recv("in")? {
                    self.0.lock().unwrap().push(b);
                }
                Ok(())
            }
        }
        Ok(NodeTask::Blocking(Box::new(Task(self.0.clone()))))
    }
}

fn union_flow(config: J) -> String {
    json!({
        "version": 1,
        "name": "union",
        "nodes": [
            {"id": "a", "kind": "inline_rows", "config": {
                "fields": [{"name": "id", "type": "int"}, {"name": "amount", "type": "int"}, {"name": "channel", "type": "string"}],
                "rows": [{"id": 1, "amount": 5, "channel": "web"}, {"id": 2, "amount": 7, "channel": "app"}]
            }},
            {"id": "b", "kind": "inline_rows", "config": {
                "fields": [{"name": "amount", "type": "decimal"}, {"name": "id", "type": "string"}, {"name": "note", "type": "string"}],
                "rows": [{"id": "X-3", "amount": "1.25", "note": "from the CRM"}, {"id": "4", "amount": "2", "note": null}]
            }},
            {"id": "node", "kind": "union", "config": config},
            {"id": "sink", "kind": "log", "config": {}}
        ],
        "edges": [
            {"from": "a", "from_port": "out", "to": "node", "to_port": "in"},
            {"from": "b", "from_port": "out", "to": "node", "to_port": "in"},
            {"from": "node", "from_port": "out", "to": "sink", "to_port": "in"}
        ]
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn union_lines_fields_up_by_name_and_widens_clashing_types() {
    let f = parse_flow_text(&union_flow(json!({}))).unwrap();
    let mut plan = plan_flow(&f, Path::new("."), &BTreeMap::new()).unwrap_or_else(|d| panic!("{d}"));
    let kept = Arc::new(Mutex::new(Vec::new()));
    plan.nodes.iter_mut().find(|n| n.id == "sink").unwrap().kind = erase(Keep(kept.clone()));
    let summary = start_run(plan, RunOptions::default()).wait().await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    let batches = kept.lock().unwrap().clone();
    assert_eq!(batches.len(), 2, "each inline source sends one batch");
    // Which input arrives first is up to the scheduler. The first leaves with its own
    // fields; the second adds the fields it brings and widens the clashing types.
    assert_eq!(batches[0].schema.len(), 3);
    let last = &batches[1];
    let mut fields: Vec<(String, DataType)> = last.schema.fields().iter().map(|f| (f.name.clone(), f.data_type)).collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        fields,
        vec![
            ("amount".into(), DataType::Decimal),
            ("channel".into(), DataType::String),
            ("id".into(), DataType::String),
            ("note".into(), DataType::String)
        ]
    );
    let rows: Vec<J> = last.rows.iter().map(|r| Batch::row_to_json(&last.schema, r)).collect();
    let a_came_last = batches[0].schema.index_of("note").is_some();
    if a_came_last {
        assert_eq!(
            rows,
            vec![
                json!({"amount": "5", "id": "1", "note": null, "channel": "web"}),
                json!({"amount": "7", "id": "2", "note": null, "channel": "app"})
            ],
            "int ids became text and int amounts decimals"
        );
    } else {
        assert_eq!(
            rows,
            vec![
                json!({"id": "X-3", "amount": "1.25", "channel": null, "note": "from the CRM"}),
                json!({"id": "4", "amount": "2", "channel": null, "note": null})
            ]
        );
    }
    let first: Vec<J> = batches[0].rows.iter().map(|r| Batch::row_to_json(&batches[0].schema, r)).collect();
    assert_eq!(first.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn union_with_fixed_fields_converts_and_rejects_what_does_not_fit() {
    let config = json!({"fields": [{"name": "id", "type": "int"}, {"name": "amount", "type": "decimal"}, {"name": "note", "type": "string"}]});
    let flow = union_flow(config);
    let f = parse_flow_text(&flow).unwrap();
    let check = check_flow(&f, Path::new("."), &BTreeMap::new());
    let names: Vec<String> = check.schemas["node"]["out"].names().map(str::to_string).collect();
    assert_eq!(names, vec!["id", "amount", "note"], "fixed fields are known at design time");

    let (summary, out) = common::run_capture(&flow, Path::new("."), &[("node", "out"), ("node", "error")]).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    let mut rows = out[0].json();
    rows.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(
        rows,
        vec![
            json!({"id": 1, "amount": "5", "note": null}),
            json!({"id": 2, "amount": "7", "note": null}),
            json!({"id": 4, "amount": "2", "note": null})
        ]
    );
    let errors = out[1].json();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["id"], json!("X-3"));
    assert_eq!(errors[0]["_error_field"], json!("id"));
    assert!(errors[0]["_error_message"].as_str().unwrap().contains("cannot read \"X-3\" as int"), "{}", errors[0]);
}
