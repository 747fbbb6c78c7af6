//! The `convert` and `map_fields` nodes run inside flows: every date form, time zones both
//! ways, the W1 `created_at` step, failed values on the error output, and the design-time
//! schemas and diagnostics the designer relies on.

mod common;

use common::{column, flow, run};

use serde_json::{json, Value as J};
use sluice::flow::parse_flow_text;
use sluice::plan::check_flow;
use std::collections::BTreeMap;
use std::path::Path;

#[tokio::test(flavor = "multi_thread")]
async fn every_date_form_reads_in_shanghai_and_lands_in_utc() {
    let forms = [
        ("2024-03-05 14:30:00", "2024-03-05T06:30:00Z"),
        ("2024/3/5", "2024-03-04T16:00:00Z"),
        ("2024/3/5 14:30", "2024-03-05T06:30:00Z"),
        ("2024年3月5日 14:30", "2024-03-05T06:30:00Z"),
        ("2024年3月5日", "2024-03-04T16:00:00Z"),
        ("20240305", "2024-03-04T16:00:00Z"),
        ("1709649000", "2024-03-05T14:30:00Z"),
        ("1709649000123", "2024-03-05T14:30:00.123Z"),
        ("2024-03-05T14:30:00+08:00", "2024-03-05T06:30:00Z"),
        ("2024-03-05T14:30:00Z", "2024-03-05T14:30:00Z"),
        ("2024-03-05T14:30:00.250-05:00", "2024-03-05T19:30:00.250Z"),
    ];
    let rows: Vec<J> = forms.iter().map(|(t, _)| json!({"raw": t})).collect();
    let config = json!({"conversions": [
        {"field": "raw", "to": "datetime", "timezone": "Asia/Shanghai", "output_timezone": "UTC", "output_field": "at"}
    ]});
    let out = run(&flow(json!([{"name": "raw", "type": "string"}]), json!(rows), "convert", config), &["out", "error"]).await;
    assert!(out[1].rows.is_empty(), "no form should fail: {:?}", out[1].json());
    assert_eq!(out[0].field_names(), vec!["raw", "at"]);
    let want: Vec<J> = forms.iter().map(|(_, w)| json!(w)).collect();
    assert_eq!(column(&out[0], "at"), want);
    // The original text stays beside the new field.
    assert_eq!(column(&out[0], "raw")[3], json!("2024年3月5日 14:30"));
}

#[tokio::test(flavor = "multi_thread")]
async fn explicit_formats_and_epoch_numbers() {
    let config = json!({"conversions": [
        {"field": "eu", "to": "date", "format": "%d.%m.%Y"},
        {"field": "ms", "to": "datetime", "format": "epoch_millis"},
        {"field": "secs", "to": "datetime"},
        {"field": "when", "to": "int", "format": "epoch_seconds", "output_field": "when_epoch"}
    ]});
    let fields = json!([
        {"name": "eu", "type": "string"}, {"name": "ms", "type": "int"},
        {"name": "secs", "type": "int"}, {"name": "when", "type": "datetime"}
    ]);
    let rows = json!([{"eu": "05.03.2024", "ms": 86400000, "secs": 1709649000, "when": "2024-03-05T14:30:00+08:00"}]);
    let out = run(&flow(fields, rows, "convert", config), &["out"]).await;
    assert_eq!(
        out[0].json(),
        vec![json!({
            "eu": "2024-03-05", "ms": "1970-01-02T00:00:00Z", "secs": "2024-03-05T14:30:00Z",
            "when": "2024-03-05T14:30:00+08:00", "when_epoch": 1709620200
        })]
    );
    let s = out[0].schema.as_ref().unwrap();
    let types: Vec<&str> = s.fields().iter().map(|f| f.data_type.name()).collect();
    assert_eq!(types, vec!["date", "datetime", "datetime", "datetime", "int"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn time_zones_shanghai_to_utc_and_back() {
    let config = json!({"conversions": [
        {"field": "local", "to": "datetime", "timezone": "Asia/Shanghai", "output_timezone": "UTC", "output_field": "utc"},
        {"field": "utc", "to": "datetime", "output_timezone": "Asia/Shanghai", "output_field": "back"},
        {"field": "utc", "to": "string", "format": "%Y-%m-%d %H:%M", "output_timezone": "Asia/Shanghai", "output_field": "shown"}
    ]});
    let rows = json!([{"local": "2024-03-05 14:30:00"}, {"local": "2024-01-01 00:30:00"}]);
    let out = run(&flow(json!([{"name": "local", "type": "string"}]), rows, "convert", config), &["out"]).await;
    assert_eq!(column(&out[0], "utc"), vec![json!("2024-03-05T06:30:00Z"), json!("2023-12-31T16:30:00Z")]);
    assert_eq!(column(&out[0], "back"), vec![json!("2024-03-05T14:30:00+08:00"), json!("2024-01-01T00:30:00+08:00")]);
    assert_eq!(column(&out[0], "shown"), vec![json!("2024-03-05 14:30"), json!("2024-01-01 00:30")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn w1_created_at_becomes_utc_text_in_one_conversion() {
    let config = json!({"conversions": [
        {"field": "created_at", "to": "string", "output_timezone": "UTC", "format": "%Y-%m-%d %H:%M:%S"}
    ]});
    // As the CSV source reads it (a datetime) and as plain text with its offset.
    for ty in ["datetime", "string"] {
        let rows = json!([{"created_at": "2024-01-01T05:00:30+08:00"}, {"created_at": null}]);
        let out = run(&flow(json!([{"name": "created_at", "type": ty}]), rows, "convert", config.clone()), &["out"]).await;
        assert_eq!(column(&out[0], "created_at"), vec![json!("2023-12-31 21:00:30"), J::Null], "from a {ty}");
        assert_eq!(out[0].schema.as_ref().unwrap().fields()[0].data_type.name(), "string");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unconvertible_values_leave_by_the_error_port_unchanged() {
    let config = json!({"conversions": [
        {"field": "when", "to": "datetime"},
        {"field": "qty", "to": "int"},
        {"field": "ok", "to": "bool"}
    ]});
    let fields = json!([{"name": "id", "type": "int"}, {"name": "when", "type": "string"}, {"name": "qty", "type": "string"}, {"name": "ok", "type": "string"}]);
    let rows = json!([
        {"id": 1, "when": "2024-03-05", "qty": "12", "ok": "是"},
        {"id": 2, "when": "2024-03-05", "qty": "12abc", "ok": "yes"},
        {"id": 3, "when": "next tuesday", "qty": "3", "ok": "no"},
        {"id": 4, "when": "2024-03-05", "qty": "2.5", "ok": "1"},
        {"id": 5, "when": "2024-03-05", "qty": "7", "ok": "perhaps"}
    ]);
    let out = run(&flow(fields, rows, "convert", config), &["out", "error"]).await;
    assert_eq!(out[0].json(), vec![json!({"id": 1, "when": "2024-03-05T00:00:00Z", "qty": 12, "ok": true})]);
    let errors = out[1].json();
    assert_eq!(errors.len(), 4);
    let fields: Vec<&str> = errors.iter().map(|e| e["_error_field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["qty", "when", "qty", "ok"]);
    let msg = |i: usize| errors[i]["_error_message"].as_str().unwrap().to_string();
    assert!(msg(0).contains("\"12abc\"") && msg(0).contains("whole number"), "{}", msg(0));
    assert!(msg(1).contains("\"next tuesday\"") && msg(1).contains("2024年3月5日"), "{}", msg(1));
    assert!(msg(2).contains("\"2.5\" is not a whole number"), "{}", msg(2));
    assert!(msg(3).contains("\"perhaps\"") && msg(3).contains("yes/no"), "{}", msg(3));
    // The failed row comes out as it came in, even the fields converted before the failure.
    assert_eq!(errors[0]["when"], json!("2024-03-05"));
    assert_eq!(errors[0]["id"], json!(2));
    assert_eq!(errors[0]["_error_node"], json!("node"));
}

#[tokio::test(flavor = "multi_thread")]
async fn on_error_null_empties_the_field_and_keeps_the_row() {
    let config = json!({"conversions": [
        {"field": "qty", "to": "int", "on_error": "null"},
        {"field": "paid", "to": "decimal", "on_error": "null", "output_field": "paid_amount"}
    ]});
    let fields = json!([{"name": "qty", "type": "string"}, {"name": "paid", "type": "string"}]);
    let rows = json!([{"qty": "12abc", "paid": "12.50"}, {"qty": " 7 ", "paid": "n/a"}]);
    let out = run(&flow(fields, rows, "convert", config), &["out", "error"]).await;
    assert_eq!(
        out[0].json(),
        vec![json!({"qty": null, "paid": "12.50", "paid_amount": "12.50"}), json!({"qty": 7, "paid": "n/a", "paid_amount": null})]
    );
    assert!(out[1].rows.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn map_fields_selects_renames_reorders_and_fills() {
    let config = json!({"fields": [
        {"from": "ticket_id", "to": "id"},
        {"from": "name", "to": "customer", "default": "(unknown)"},
        {"to": "source", "default": "crm"},
        {"to": "batch", "default": 7},
        {"to": "note", "type": "string"}
    ]});
    let fields = json!([{"name": "name", "type": "string"}, {"name": "phone", "type": "string"}, {"name": "ticket_id", "type": "int"}]);
    let rows = json!([{"name": "王秀英", "phone": "13812345678", "ticket_id": 1}, {"phone": "13900000000", "ticket_id": 2}]);
    let out = run(&flow(fields, rows, "map_fields", config), &["out"]).await;
    assert_eq!(
        out[0].json(),
        vec![
            json!({"id": 1, "customer": "王秀英", "source": "crm", "batch": 7, "note": null}),
            json!({"id": 2, "customer": "(unknown)", "source": "crm", "batch": 7, "note": null})
        ]
    );
    assert_eq!(out[0].field_names(), vec!["id", "customer", "source", "batch", "note"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn map_fields_keeps_unlisted_fields_in_input_order_minus_drop() {
    let config = json!({"fields": [{"from": "c", "to": "c_first"}, {"from": "a", "to": "a_copy"}], "keep_unlisted": true, "drop": ["d"]});
    let fields = json!([{"name": "a", "type": "int"}, {"name": "b", "type": "string"}, {"name": "c", "type": "int"}, {"name": "d", "type": "string"}, {"name": "e", "type": "bool"}]);
    let rows = json!([{"a": 1, "b": "x", "c": 3, "d": "gone", "e": true}]);
    let out = run(&flow(fields, rows, "map_fields", config), &["out"]).await;
    assert_eq!(out[0].field_names(), vec!["c_first", "a_copy", "b", "e"]);
    assert_eq!(out[0].json(), vec![json!({"c_first": 3, "a_copy": 1, "b": "x", "e": true})]);
}

fn design_schemas(flow_json: &str) -> BTreeMap<String, BTreeMap<String, Vec<(String, String)>>> {
    let flow = parse_flow_text(flow_json).unwrap();
    let check = check_flow(&flow, Path::new("."), &BTreeMap::new());
    assert!(!check.diagnostics.has_errors(), "{}", check.diagnostics);
    check
        .schemas
        .into_iter()
        .map(|(node, ports)| {
            let ports = ports
                .into_iter()
                .map(|(p, s)| (p, s.fields().iter().map(|f| (f.name.clone(), f.data_type.name().to_string())).collect()))
                .collect();
            (node, ports)
        })
        .collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn design_time_schemas_are_exact() {
    let fields = json!([{"name": "name", "type": "string"}, {"name": "phone", "type": "string"}, {"name": "ticket_id", "type": "int"}, {"name": "at", "type": "string"}]);
    let config = json!({"fields": [
        {"from": "ticket_id", "to": "id"},
        {"to": "since", "type": "date", "default": "2024-03-05"},
        {"to": "score", "default": 1.5}
    ], "keep_unlisted": true, "drop": ["phone"]});
    let s = design_schemas(&flow(fields.clone(), json!([]), "map_fields", config));
    assert_eq!(
        s["node"]["out"],
        pairs(&[("id", "int"), ("since", "date"), ("score", "float"), ("name", "string"), ("at", "string")])
    );
    assert!(!s["node"].contains_key("error"), "map_fields has no error output");

    let config = json!({"conversions": [
        {"field": "ticket_id", "to": "string"},
        {"field": "at", "to": "datetime", "output_field": "at_time"},
        {"field": "at_time", "to": "date", "output_field": "day"}
    ]});
    let s = design_schemas(&flow(fields, json!([]), "convert", config));
    assert_eq!(
        s["node"]["out"],
        pairs(&[("name", "string"), ("phone", "string"), ("ticket_id", "string"), ("at", "string"), ("at_time", "datetime"), ("day", "date")])
    );
    // The error output carries the input row as it came, plus the error fields.
    let err: Vec<&str> = s["node"]["error"].iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(&err[..5], &["name", "phone", "ticket_id", "at", "_error_node"]);
}

#[test]
fn unknown_fields_and_bad_settings_are_reported_with_did_you_mean() {
    let fields = json!([{"name": "created_at", "type": "string"}, {"name": "priority", "type": "string"}]);
    let config = json!({"conversions": [
        {"field": "crated_at", "to": "datetime"},
        {"field": "priority", "to": "datetime", "timezone": "Asia/Shangai"},
        {"field": "priority", "to": "bool", "format": "%Y"}
    ]});
    let errs = common::plan_errors(&flow(fields.clone(), json!([]), "convert", config), Path::new("."));
    assert!(errs.contains("conversions/0/field") && errs.contains("did you mean 'created_at'?"), "{errs}");
    assert!(errs.contains("conversions/1/timezone") && errs.contains("Asia/Shanghai"), "{errs}");
    assert!(errs.contains("conversions/2/format"), "{errs}");

    let config = json!({"fields": [
        {"from": "priorty", "to": "p"},
        {"from": "created_at", "to": "p"},
        {"to": "n", "type": "int", "default": "many"}
    ], "keep_unlisted": true, "drop": ["create_at"]});
    let errs = common::plan_errors(&flow(fields, json!([]), "map_fields", config), Path::new("."));
    assert!(errs.contains("fields/0/from") && errs.contains("did you mean 'priority'?"), "{errs}");
    assert!(errs.contains("fields/1/to") && errs.contains("'p' is already the name of fields/0"), "{errs}");
    assert!(errs.contains("fields/2/default") && errs.contains("int"), "{errs}");
    assert!(errs.contains("drop/0") && errs.contains("did you mean 'created_at'?"), "{errs}");
}

#[test]
fn impossible_type_pairs_are_caught_at_design_time() {
    let fields = json!([{"name": "at", "type": "datetime"}, {"name": "ok", "type": "bool"}]);
    let config = json!({"conversions": [{"field": "at", "to": "int"}, {"field": "ok", "to": "date"}]});
    let errs = common::plan_errors(&flow(fields, json!([]), "convert", config), Path::new("."));
    assert!(errs.contains("conversions/0/format") && errs.contains("epoch_seconds"), "{errs}");
    assert!(errs.contains("conversions/1/to") && errs.contains("'ok' is a bool; it cannot become a date"), "{errs}");
}
