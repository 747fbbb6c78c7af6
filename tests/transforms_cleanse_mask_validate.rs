//! The `cleanse`, `mask` and `validate` nodes inside flows: phone and text clean-up with
//! failed values on the error output, masking presets (Chinese names included), the W1
//! salted hash, HMAC and AES round trips with tamper detection, secrets that must come from
//! the environment, every broken rule listed, and the script functions sharing this code.

mod common;

use serde_json::{json, Value as J};
use sluice::exec::RunStatus;
use sluice::flow::parse_flow_text;
use sluice::plan::check_flow;
use std::collections::BTreeMap;
use std::path::Path;

/// The W1 benchmark's reference: SHA-256 of the UTF-8 bytes of `'bench' + id_card`,
/// from python3 `hashlib.sha256(b'bench11010519931101114X').hexdigest()`.
const W1_HASH: &str = "7d9e774da8a041a6b79398e7a9774bb41d50f2544b55cbd1d72a430f190d188c";

/// A 32-byte AES key as hex, for tests only.
const TEST_AES_KEY: &str = "8f1c2a4b6d7e9f00112233445566778899aabbccddeeff00112233445566a7b9";

/// A flow: `src` (inline rows) → `node` (kind, config) → `sink` (log).
fn flow(fields: J, rows: J, kind: &str, config: J) -> String {
    json!({
        "version": 1,
        "name": "test",
        "nodes": [
            {"id": "src", "kind": "inline_rows", "config": {"fields": fields, "rows": rows}},
            {"id": "node", "kind": kind, "config": config},
            {"id": "sink", "kind": "log", "config": {}}
        ],
        "edges": [
            {"from": "src", "from_port": "out", "to": "node", "to_port": "in"},
            {"from": "node", "from_port": "out", "to": "sink", "to_port": "in"}
        ]
    })
    .to_string()
}

fn strings(names: &[&str]) -> J {
    J::Array(names.iter().map(|n| json!({"name": n, "type": "string"})).collect())
}

/// Runs and captures `out` and `error` of `node`.
async fn run(flow: &str) -> (Vec<J>, Vec<J>, Vec<String>) {
    let (summary, captured) = common::run_capture(flow, Path::new("."), &[("node", "out"), ("node", "error")]).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    (captured[0].json(), captured[1].json(), captured[0].field_names())
}

fn column(rows: &[J], field: &str) -> Vec<J> {
    rows.iter().map(|r| r[field].clone()).collect()
}

/// Output fields and types of `node`'s `out` at design time.
fn design_out(flow_json: &str) -> Vec<(String, String)> {
    let flow = parse_flow_text(flow_json).unwrap();
    let check = check_flow(&flow, Path::new("."), &BTreeMap::new());
    assert!(!check.diagnostics.has_errors(), "{}", check.diagnostics);
    check.schemas["node"]["out"].fields().iter().map(|f| (f.name.clone(), f.data_type.name().to_string())).collect()
}

// ------------------------------------------------------------------------------------
// cleanse
// ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn cleanse_normalises_text_and_phones_and_sends_bad_phones_to_error() {
    let rows = json!([
        {"name": "  ＺＨＡＮＧ　san ", "email": " Zhang.San@QQ.COM ", "phone": "+86 138-1234-5678", "note": "   "},
        {"name": "王秀英", "email": "wang@163.com", "phone": "(0086)13812345678", "note": "ok"},
        {"name": "li si", "email": null, "phone": "12345", "note": "x"}
    ]);
    let config = json!({"steps": [
        {"fields": ["name"], "ops": ["halfwidth", "trim", "title"]},
        {"fields": ["email"], "ops": ["email"]},
        {"fields": ["note"], "ops": ["empty_to_null"]},
        {"fields": ["phone"], "ops": ["phone_cn"]}
    ]});
    let (out, err, _) = run(&flow(strings(&["name", "email", "phone", "note"]), rows, "cleanse", config)).await;
    assert_eq!(column(&out, "name"), vec![json!("Zhang San"), json!("王秀英")]);
    assert_eq!(column(&out, "email"), vec![json!("zhang.san@qq.com"), json!("wang@163.com")]);
    assert_eq!(column(&out, "phone"), vec![json!("13812345678"), json!("13812345678")]);
    assert_eq!(column(&out, "note"), vec![J::Null, json!("ok")]);

    assert_eq!(err.len(), 1);
    let msg = err[0]["_error_message"].as_str().unwrap();
    assert!(msg.starts_with("phone: \"12345\" is not a Chinese mobile number"), "{msg}");
    assert!(msg.contains("on_invalid"), "says what to do: {msg}");
    assert_eq!(err[0]["_error_field"], json!("phone"));
    // The failed row leaves as it came in, not half cleaned.
    assert_eq!(err[0]["name"], json!("li si"));
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanse_on_invalid_keep_and_null_and_e164_of_numbers() {
    let fields = json!([{"name": "a", "type": "string"}, {"name": "b", "type": "string"}, {"name": "n", "type": "int"}]);
    let rows = json!([{"a": "138 1234 5678", "b": "bad", "n": 13912345678i64}, {"a": "nope", "b": "+86 13912345678", "n": null}]);
    let config = json!({"steps": [
        {"fields": ["a"], "ops": ["phone_e164"], "on_invalid": "keep"},
        {"fields": ["b"], "ops": ["phone_cn"], "on_invalid": "null"},
        {"fields": ["n"], "ops": ["phone_e164"]}
    ]});
    let f = flow(fields, rows, "cleanse", config);
    // A phone read as a number is cleaned as its digits and leaves as text.
    assert_eq!(design_out(&f)[2], ("n".to_string(), "string".to_string()));
    let (out, err, _) = run(&f).await;
    assert!(err.is_empty(), "{err:?}");
    assert_eq!(column(&out, "a"), vec![json!("+8613812345678"), json!("nope")]);
    assert_eq!(column(&out, "b"), vec![J::Null, json!("13912345678")]);
    assert_eq!(column(&out, "n"), vec![json!("+8613912345678"), J::Null]);
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanse_regex_replace_and_config_problems() {
    let config = json!({"steps": [{"fields": ["t"], "ops": [{"regex_replace": {"pattern": "\\s+", "replacement": " "}}, "trim", "upper"]}]});
    let (out, _, _) = run(&flow(strings(&["t"]), json!([{"t": " a \t b\n c "}]), "cleanse", config)).await;
    assert_eq!(column(&out, "t"), vec![json!("A B C")]);

    let bad = json!({"steps": [{"fields": ["tt"], "ops": [{"regex_replace": {"pattern": "(a"}}]}]});
    let errs = common::plan_errors(&flow(strings(&["t"]), json!([]), "cleanse", bad), Path::new("."));
    assert!(errs.contains("steps/0/fields/0") && errs.contains("did you mean 't'"), "{errs}");
    assert!(errs.contains("steps/0/ops/0/regex_replace/pattern") && errs.contains("not a valid regular expression"), "{errs}");
}

// ------------------------------------------------------------------------------------
// mask
// ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn mask_presets_including_chinese_names() {
    let rows = json!([
        {"phone": "13812345678", "id_card": "11010519931101114X", "email": "zhang.123@qq.com", "name": "张三", "card": "6222 0212 3456 7890", "memo": "secret"},
        {"phone": "13912345678", "id_card": "11010519491231002X", "email": "kevin@example.com", "name": "欧阳子轩", "card": null, "memo": "x"},
        {"phone": null, "id_card": "110105194912310021", "email": "a@b.cn", "name": "Kevin Nguyen", "card": "6222-0212-3456-7890", "memo": null}
    ]);
    let config = json!({"fields": [
        {"field": "phone", "method": "mobile"},
        {"field": "id_card", "method": "id_card"},
        {"field": "email", "method": "email"},
        {"field": "name", "method": "name", "output_field": "name_masked"},
        {"field": "card", "method": "bank_card", "keep_first": 6, "mask_char": "#"},
        {"field": "memo", "method": "redact"}
    ]});
    let f = flow(strings(&["phone", "id_card", "email", "name", "card", "memo"]), rows, "mask", config);
    let (out, err, names) = run(&f).await;
    assert!(err.is_empty());
    assert_eq!(names, vec!["phone", "id_card", "email", "name", "card", "memo", "name_masked"]);
    assert_eq!(column(&out, "phone"), vec![json!("138****5678"), json!("139****5678"), J::Null]);
    assert_eq!(column(&out, "id_card"), vec![json!("110105********114X"), json!("110105********002X"), json!("110105********0021")]);
    assert_eq!(column(&out, "email"), vec![json!("z***@qq.com"), json!("k***@example.com"), json!("a***@b.cn")]);
    assert_eq!(column(&out, "name_masked"), vec![json!("张*"), json!("欧阳**"), json!("K**** N*****")]);
    assert_eq!(column(&out, "name"), vec![json!("张三"), json!("欧阳子轩"), json!("Kevin Nguyen")], "kept beside the mask");
    assert_eq!(column(&out, "card"), vec![json!("622202######7890"), J::Null, json!("622202######7890")]);
    assert_eq!(column(&out, "memo"), vec![json!("[REDACTED]"), json!("[REDACTED]"), J::Null]);
}

#[tokio::test(flavor = "multi_thread")]
async fn mask_sha256_with_salt_matches_the_w1_reference() {
    std::env::set_var("SLUICE_TEST_W1_SALT", "bench");
    let rows = json!([{"id_card": "11010519931101114X", "n": 13812345678i64}]);
    let fields = json!([{"name": "id_card", "type": "string"}, {"name": "n", "type": "int"}]);
    let by_name = json!({"fields": [
        {"field": "id_card", "method": "sha256", "salt_env": "SLUICE_TEST_W1_SALT"},
        {"field": "n", "method": "partial", "keep_first": 3, "keep_last": 4}
    ]});
    let f = flow(fields.clone(), rows.clone(), "mask", by_name);
    assert_eq!(design_out(&f), vec![("id_card".into(), "string".into()), ("n".into(), "string".into())]);
    let (out, _, _) = run(&f).await;
    assert_eq!(out[0]["id_card"], json!(W1_HASH));
    assert_eq!(out[0]["n"], json!("138****5678"), "a number is masked as its digits");

    // The same salt written as ${env:NAME} in `salt`.
    let by_reference = json!({"fields": [{"field": "id_card", "method": "sha256", "salt": "${env:SLUICE_TEST_W1_SALT}"}]});
    let (out, _, _) = run(&flow(fields, rows, "mask", by_reference)).await;
    assert_eq!(out[0]["id_card"], json!(W1_HASH));
}

#[tokio::test(flavor = "multi_thread")]
async fn mask_hmac_and_aes_round_trip_and_tampered_text_to_error() {
    std::env::set_var("SLUICE_TEST_AES_KEY", TEST_AES_KEY);
    std::env::set_var("SLUICE_TEST_HMAC_KEY", "k3y");
    let rows = json!([{"phone": "13812345678"}, {"phone": "张三 的电话"}]);
    let config = json!({"fields": [
        {"field": "phone", "method": "hmac_sha256", "key_env": "SLUICE_TEST_HMAC_KEY", "output_field": "phone_hmac"},
        {"field": "phone", "method": "encrypt", "key_env": "SLUICE_TEST_AES_KEY", "output_field": "phone_enc"},
        {"field": "phone_enc", "method": "decrypt", "key_env": "SLUICE_TEST_AES_KEY", "output_field": "phone_back"}
    ]});
    let (out, err, names) = run(&flow(strings(&["phone"]), rows, "mask", config)).await;
    assert!(err.is_empty(), "{err:?}");
    assert_eq!(names, vec!["phone", "phone_hmac", "phone_enc", "phone_back"]);
    // python3: hmac.new(b'k3y', b'13812345678', hashlib.sha256).hexdigest()
    assert_eq!(out[0]["phone_hmac"], json!("59d77e8f0cf8672cc6dab4456ad8d00d7283f0ce9f26d794a463e95e9e60b861"));
    assert_eq!(column(&out, "phone_back"), column(&out, "phone"));
    let enc = out[0]["phone_enc"].as_str().unwrap().to_string();
    assert_ne!(enc, "13812345678");

    // Change one character of the ciphertext: decryption must refuse, not give garbage.
    let mut chars: Vec<char> = enc.chars().collect();
    chars[20] = if chars[20] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let rows = json!([{"secret": enc}, {"secret": tampered}]);
    let config = json!({"fields": [{"field": "secret", "method": "decrypt", "key_env": "SLUICE_TEST_AES_KEY"}]});
    let (out, err, _) = run(&flow(strings(&["secret"]), rows, "mask", config)).await;
    assert_eq!(column(&out, "secret"), vec![json!("13812345678")]);
    assert_eq!(err.len(), 1);
    let msg = err[0]["_error_message"].as_str().unwrap();
    assert!(msg.starts_with("secret: decryption failed: the key is not the one"), "{msg}");
    assert_eq!(err[0]["secret"], json!(tampered), "the failed row keeps its value");
}

#[test]
fn mask_rejects_a_literal_key_and_reports_a_missing_variable() {
    let literal = json!({"fields": [{"field": "a", "method": "hmac_sha256", "key": "my-literal-key-0b1c"}]});
    let errs = common::plan_errors(&flow(strings(&["a"]), json!([]), "mask", literal), Path::new("."));
    assert!(errs.contains("fields/0/key") && errs.contains("written into the flow file") && errs.contains("${env:NAME}"), "{errs}");

    let literal_salt = json!({"fields": [{"field": "a", "method": "sha256", "salt": "bench-literal-7"}]});
    let errs = common::plan_errors(&flow(strings(&["a"]), json!([]), "mask", literal_salt), Path::new("."));
    assert!(errs.contains("fields/0/salt") && errs.contains("${env:NAME}"), "{errs}");

    let missing = json!({"fields": [{"field": "a", "method": "encrypt", "key_env": "SLUICE_SURELY_UNSET_MASK_KEY"}]});
    let errs = common::plan_errors(&flow(strings(&["a"]), json!([]), "mask", missing), Path::new("."));
    assert!(errs.contains("fields/0/key_env") && errs.contains("SLUICE_SURELY_UNSET_MASK_KEY is not set"), "{errs}");

    std::env::set_var("SLUICE_TEST_SHORT_KEY", "0011223344556677");
    let short = json!({"fields": [{"field": "a", "method": "encrypt", "key_env": "SLUICE_TEST_SHORT_KEY"}]});
    let errs = common::plan_errors(&flow(strings(&["a"]), json!([]), "mask", short), Path::new("."));
    assert!(errs.contains("64 hex characters") && !errs.contains("0011223344556677"), "the key is described, not shown: {errs}");

    let no_key = json!({"fields": [{"field": "nmae", "method": "decrypt"}]});
    let errs = common::plan_errors(&flow(strings(&["name"]), json!([]), "mask", no_key), Path::new("."));
    assert!(errs.contains("needs a key") && errs.contains("did you mean 'name'"), "{errs}");
}

// ------------------------------------------------------------------------------------
// validate
// ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn validate_lists_every_broken_rule() {
    let fields = json!([
        {"name": "phone", "type": "string"}, {"name": "id_card", "type": "string"},
        {"name": "satisfaction", "type": "int"}, {"name": "priority", "type": "string"}, {"name": "agent", "type": "string"}
    ]);
    let rows = json!([
        {"phone": "13812345678", "id_card": "11010519491231002X", "satisfaction": 4, "priority": "high", "agent": "A0001"},
        {"phone": "+86 138", "id_card": "110105194912310021", "satisfaction": 9, "priority": "critical", "agent": "A1"},
        {"phone": null, "id_card": null, "satisfaction": null, "priority": "low", "agent": "A0002"}
    ]);
    let config = json!({"rules": [
        {"field": "phone", "required": true, "mobile_cn": true},
        {"field": "id_card", "id_card": true},
        {"field": "satisfaction", "min": 1, "max": 5},
        {"field": "priority", "one_of": ["low", "normal", "high", "urgent"]},
        {"field": "agent", "regex": "A\\d{4}", "max_length": 5}
    ]});
    let (out, err, _) = run(&flow(fields, rows, "validate", config)).await;
    assert_eq!(column(&out, "agent"), vec![json!("A0001")]);
    assert_eq!(err.len(), 2);

    let msg = err[0]["_error_message"].as_str().unwrap();
    let parts: Vec<&str> = msg.split("; ").collect();
    assert_eq!(parts.len(), 5, "{msg}");
    assert!(parts[0].starts_with("phone: \"+86 138\" is not an 11-digit mobile number"), "{msg}");
    assert!(parts[1].contains("id_card: \"110105194912310021\" is not a valid ID number: the check character should be X, not 1"), "{msg}");
    assert!(parts[2].contains("satisfaction: 9 is more than the maximum 5"), "{msg}");
    assert!(parts[3].contains("priority: \"critical\" is not one of low, normal, high, urgent"), "{msg}");
    assert!(parts[4].contains("agent: \"A1\" does not match the pattern A\\d{4}"), "{msg}");
    assert_eq!(err[0]["_error_field"], json!("phone, id_card, satisfaction, priority, agent"));

    // Nulls pass every rule but `required`.
    assert_eq!(err[1]["_error_message"], json!("phone is required but empty"));
    assert_eq!(err[1]["_error_field"], json!("phone"));
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_id_card_reasons_and_dates() {
    let fields = json!([{"name": "id", "type": "string"}, {"name": "opened", "type": "date"}]);
    let rows = json!([
        {"id": "11010519491231002X", "opened": "2024-03-05"},
        {"id": "11010519491231002Y", "opened": "2024-03-05"},
        {"id": "110105194902300021", "opened": "2023-12-31"},
        {"id": "1101051949", "opened": "2024-01-01"}
    ]);
    let config = json!({"rules": [
        {"field": "id", "id_card": true},
        {"field": "opened", "min": "2024-01-01", "type": "date"}
    ]});
    let (out, err, _) = run(&flow(fields, rows, "validate", config)).await;
    assert_eq!(column(&out, "id"), vec![json!("11010519491231002X")]);
    let msgs: Vec<&str> = err.iter().map(|r| r["_error_message"].as_str().unwrap()).collect();
    assert!(msgs[0].contains("character 18 is 'Y'"), "{msgs:?}");
    assert!(msgs[1].contains("birth date 1949-02-30") && msgs[1].contains("opened: 2023-12-31 is less than the minimum 2024-01-01"), "{msgs:?}");
    assert!(msgs[2].contains("has 10"), "{msgs:?}");
}

#[test]
fn validate_config_problems_name_their_place() {
    let fields = json!([{"name": "score", "type": "int"}]);
    let config = json!({"rules": [
        {"field": "scroe", "required": true},
        {"field": "score", "min": "2024-01-01"},
        {"field": "score"}
    ]});
    let errs = common::plan_errors(&flow(fields, json!([]), "validate", config), Path::new("."));
    assert!(errs.contains("rules/0/field") && errs.contains("did you mean 'score'"), "{errs}");
    assert!(errs.contains("rules/1/min") && errs.contains("must be a number"), "{errs}");
    assert!(errs.contains("rules/2") && errs.contains("checks nothing"), "{errs}");
}

// ------------------------------------------------------------------------------------
// The same functions in scripts
// ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn script_functions_share_the_node_code() {
    let condition = format!(
        "mask_phone(phone) == \"138****5678\" && mask(name, 1, 0) == \"张**\" && mask_name(\"欧阳子轩\") == \"欧阳**\" \
         && mask_id_card(id) == \"110105********114X\" && mask_email(\"zhang.123@qq.com\") == \"z***@qq.com\" \
         && sha256(id, \"bench\") == \"{W1_HASH}\" && sha256(\"abc\") == \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\" \
         && normalize_phone(\"+86 138-1234-5678\") == phone && phone_e164(phone) == \"+8613812345678\" \
         && is_valid_id_card(id) && !is_valid_id_card(\"110105194912310021\") && to_halfwidth(\"ＡＢＣ１２３\") == \"ABC123\" \
         && regex_replace(\"a1b22\", \"\\\\d+\", \"#\") == \"a#b#\" && regex_match(phone, \"^1[3-9]\") \
         && mask_phone(missing) == () && normalize_phone(13812345678) == phone"
    );
    let fields = json!([{"name": "phone", "type": "string"}, {"name": "name", "type": "string"}, {"name": "id", "type": "string"}, {"name": "missing", "type": "string"}]);
    let rows = json!([{"phone": "13812345678", "name": "张三丰", "id": "11010519931101114X", "missing": null}]);
    let (out, err, _) = run(&flow(fields, rows.clone(), "filter", json!({"condition": condition}))).await;
    assert!(err.is_empty(), "{err:?}");
    assert_eq!(out.len(), 1, "every function call in the condition held");

    let (out, err, _) = run(&flow(strings(&["phone"]), json!([{"phone": "12"}]), "filter", json!({"condition": "normalize_phone(phone) != ()"}))).await;
    assert!(out.is_empty());
    assert!(err[0]["_error_message"].as_str().unwrap().contains("normalize_phone: \"12\" is not a Chinese mobile number"), "{err:?}");
}
