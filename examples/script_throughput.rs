//! Throughput of the `script` node: the benchmark's W1 job (filter, mask the phone, hash the
//! ID card, move the time to UTC, add `is_urgent`) written as ONE Rhai script, run
//! CSV → script → CSV, end to end, in this process.
//!
//!   cargo run --release --example script_throughput -- [INPUT.csv] [--serial]
//!
//! INPUT defaults to the benchmark's 1M-row ticket file when it exists; otherwise 200,000
//! rows shaped like it are generated into a temp folder. `--serial` turns the node's
//! multi-threading off, to see what it buys. Prints wall time and rows per second.

use sluice::exec::{start_run, RunOptions, RunStatus};
use sluice::flow::parse_flow_text;
use sluice::plan::plan_flow;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

const W1: &str = r#"let p = row.priority;
let s = row.satisfaction;
if p != "high" && p != "urgent" && (s == () || s > 2) { return (); }
row.phone = mask_phone(row.phone);
row.id_card = sha256("bench" + row.id_card);
row.created_at = format_datetime(row.created_at, "%Y-%m-%d %H:%M:%S", "UTC");
row.is_urgent = p == "urgent";
row"#;

const BENCH_INPUT: &str = "/work/bench-peer/data/tickets_1000000.csv";

/// Rows shaped like the benchmark's tickets (same columns, same kinds of values).
fn generate(path: &Path, rows: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "ticket_id,created_at,channel,priority,status,customer_name,phone,email,id_card,agent_id,satisfaction,handle_seconds,subject").unwrap();
    let channels = ["phone", "web", "app", "wechat", "email"];
    let priorities = ["low", "normal", "high", "urgent"];
    let names = ["王秀英", "Kevin Nguyen", "\"Wong, Kevin\"", "O'Neil", "欧阳子轩"];
    for i in 0..rows {
        let sat = if i % 3 == 0 { String::new() } else { ((i * 7) % 5 + 1).to_string() };
        writeln!(
            f,
            "{},2024-03-05T{:02}:{:02}:{:02}+08:00,{},{},open,{},138{:08},user{}@qq.com,11010519931101{:03}X,A{:04},{},{},\"Question about order {}, refund\"",
            10_000_001 + i,
            i % 24,
            i % 60,
            (i * 7) % 60,
            channels[i % 5],
            priorities[(i * 13) % 4],
            names[i % 5],
            i % 100_000_000,
            i,
            i % 1000,
            i % 250 + 1,
            sat,
            15 + (i * 37) % 14_000,
            i
        )
        .unwrap();
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let serial = args.iter().any(|a| a == "--serial");
    let tmp = tempfile::tempdir().unwrap();
    let input: PathBuf = match args.iter().find(|a| !a.starts_with("--")) {
        Some(p) => PathBuf::from(p),
        None if Path::new(BENCH_INPUT).exists() => PathBuf::from(BENCH_INPUT),
        None => {
            let p = tmp.path().join("tickets.csv");
            generate(&p, 200_000);
            p
        }
    };
    let output = tmp.path().join("w1.csv");
    let flow = serde_json::json!({
        "version": 1,
        "name": "W1 as one script",
        "nodes": [
            {"id": "read", "kind": "csv_source", "config": {"path": input}},
            {"id": "w1", "kind": "script", "config": {
                "script": W1,
                "fields": [{"name": "created_at", "type": "string"}, {"name": "is_urgent", "type": "bool"}],
                "parallel": !serial
            }},
            {"id": "write", "kind": "csv_sink", "config": {"path": output}}
        ],
        "edges": [{"from": "read", "to": "w1"}, {"from": "w1", "to": "write"}]
    });
    let flow = parse_flow_text(&flow.to_string()).unwrap_or_else(|d| panic!("{d}"));
    let plan = plan_flow(&flow, tmp.path(), &BTreeMap::new()).unwrap_or_else(|d| panic!("{d}"));
    let started = Instant::now();
    let summary = start_run(plan, RunOptions::default()).wait().await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    let rows_in = summary.node("w1").unwrap().rows_in;
    let rows_out = summary.node("w1").unwrap().rows_out;
    println!(
        "{}: {rows_in} rows in, {rows_out} kept, {secs:.2} s end to end, {:.0} rows/s{}",
        input.display(),
        rows_in as f64 / secs,
        if serial { " (one thread)" } else { "" }
    );
    for n in &summary.nodes {
        println!("  {:<6} busy {:>6} ms", n.node_id, n.busy_ms);
    }
    let first = std::fs::read_to_string(&output).unwrap().lines().take(2).map(str::to_string).collect::<Vec<_>>();
    println!("{}", first.join("\n"));
}
