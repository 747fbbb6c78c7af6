//! Executor behaviour with purpose-built nodes: fan-out and fan-in, back-pressure,
//! failure as a stop (not an end of input), cancellation, early finish downstream, and the
//! error policy's limits.

use sluice::exec::{start_run, BlockingNode, NodeError, NodeIo, RowError, RunEvent, RunOptions, RunStatus, Tap};
use sluice::flow::{EdgeSpec, ErrorMode, ErrorPolicy, FlowSettings, ParamValues};
use sluice::nodes::{erase, Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, PortSpec, Ports};
use sluice::plan::{Plan, PlannedNode};
use sluice::value::{Batch, DataType, Field, Schema, SchemaRef, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("n", DataType::Int)]))
}

fn batch(start: i64, len: i64) -> Batch {
    Batch::new(schema(), (start..start + len).map(|i| vec![Value::Int(i)]).collect())
}

/// A test node kind whose behaviour is a closure.
struct TestKind {
    category: Category,
    make: Arc<dyn Fn() -> Box<dyn BlockingNode> + Send + Sync>,
}

impl NodeKind for TestKind {
    type Config = serde_json::Value;
    fn meta(&self) -> NodeMeta {
        NodeMeta { kind: "test", category: self.category, title: "test", description: "", keywords: &[], icon: "" }
    }
    fn build(&self, _c: serde_json::Value, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        Ok(NodeTask::Blocking((self.make)()))
    }
}

struct FnNode<F: FnOnce(&mut NodeIo) -> Result<(), NodeError> + Send>(Option<F>);
impl<F: FnOnce(&mut NodeIo) -> Result<(), NodeError> + Send> BlockingNode for FnNode<F> {
    fn run(mut self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        (self.0.take().unwrap())(io)
    }
}

fn node<F>(id: &str, category: Category, f: F) -> PlannedNode
where
    F: Fn(&mut NodeIo) -> Result<(), NodeError> + Send + Sync + Clone + 'static,
{
    let ports = match category {
        Category::Source => Ports::source(),
        Category::Transform => Ports::transform(),
        Category::Sink => Ports { inputs: vec![PortSpec::input("in", "")], outputs: vec![PortSpec::output("error", "")] },
    };
    let make: Arc<dyn Fn() -> Box<dyn BlockingNode> + Send + Sync> = Arc::new(move || Box::new(FnNode(Some(f.clone()))));
    PlannedNode {
        id: id.into(),
        kind_name: "test".into(),
        kind: erase(TestKind { category, make }),
        category,
        title: id.into(),
        config: serde_json::json!({}),
        ports,
        error_policy: ErrorPolicy::default(),
        ctx: NodeContext { node_id: id.into(), base_dir: ".".into(), params: ParamValues::default(), settings: FlowSettings::default(), ..Default::default() },
        input_schemas: PortSchemas::new(),
        output_schemas: PortSchemas::new(),
    }
}

fn edge(from: &str, from_port: &str, to: &str) -> EdgeSpec {
    EdgeSpec { from: from.into(), from_port: from_port.into(), to: to.into(), to_port: "in".into() }
}

fn plan(nodes: Vec<PlannedNode>, edges: Vec<EdgeSpec>) -> Plan {
    Plan { flow_name: "test".into(), settings: FlowSettings::default(), params: ParamValues::default(), nodes, edges, warnings: Default::default() }
}

fn source_of(batches: i64, size: i64) -> impl Fn(&mut NodeIo) -> Result<(), NodeError> + Send + Sync + Clone + 'static {
    move |io: &mut NodeIo| {
        for b in 0..batches {
            io.send("out", batch(b * size, size))?;
        }
        Ok(())
    }
}

fn counting_sink(count: Arc<AtomicU64>) -> impl Fn(&mut NodeIo) -> Result<(), NodeError> + Send + Sync + Clone + 'static {
    move |io: &mut NodeIo| {
        while let Some(b) = io.recv("in")? {
            count.fetch_add(b.len() as u64, SeqCst);
        }
        Ok(())
    }
}

fn pass_through() -> impl Fn(&mut NodeIo) -> Result<(), NodeError> + Send + Sync + Clone + 'static {
    |io: &mut NodeIo| {
        while let Some(b) = io.recv("in")? {
            io.send("out", b)?;
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fan_out_copies_and_fan_in_merges() {
    let total = Arc::new(AtomicU64::new(0));
    let p = plan(
        vec![
            node("src", Category::Source, source_of(10, 100)),
            node("a", Category::Transform, pass_through()),
            node("b", Category::Transform, pass_through()),
            node("sink", Category::Sink, counting_sink(total.clone())),
        ],
        vec![edge("src", "out", "a"), edge("src", "out", "b"), edge("a", "out", "sink"), edge("b", "out", "sink")],
    );
    let summary = start_run(p, RunOptions::default()).wait().await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    assert_eq!(total.load(SeqCst), 2000, "each of the two branches carries all 1000 rows");
    assert_eq!(summary.node("sink").unwrap().rows_in, 2000);
    assert_eq!(summary.node("src").unwrap().rows_out, 1000, "fan-out counts rows once at the source");
    assert!(summary.edges.iter().all(|e| e.rows == 1000), "{:?}", summary.edges);
}

#[tokio::test(flavor = "multi_thread")]
async fn back_pressure_bounds_rows_in_flight() {
    let sent = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let max_in_flight = Arc::new(AtomicU64::new(0));
    let (s, r, m) = (sent.clone(), received.clone(), max_in_flight.clone());
    let source = move |io: &mut NodeIo| {
        for b in 0..2000 {
            io.send("out", batch(b, 1))?;
            let now = s.fetch_add(1, SeqCst) + 1;
            m.fetch_max(now - r.load(SeqCst), SeqCst);
        }
        Ok(())
    };
    let r2 = received.clone();
    let slow_sink = move |io: &mut NodeIo| {
        while let Some(b) = io.recv("in")? {
            // Some real work per batch so the source outruns the sink.
            let mut h = 0u64;
            for i in 0..20_000u64 {
                h = h.wrapping_mul(31).wrapping_add(i ^ b.len() as u64);
            }
            std::hint::black_box(h);
            r2.fetch_add(1, SeqCst);
        }
        Ok(())
    };
    let p = plan(vec![node("src", Category::Source, source), node("sink", Category::Sink, slow_sink)], vec![edge("src", "out", "sink")]);
    let capacity = p.settings.channel_capacity as u64;
    let summary = start_run(p, RunOptions::default()).wait().await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(received.load(SeqCst), 2000);
    let peak = max_in_flight.load(SeqCst);
    // Buffered in the channel, plus one taken by the sink and one being counted.
    assert!(peak <= capacity + 2, "{peak} batches were in flight with a channel of {capacity}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_reaches_sinks_as_a_stop_not_an_end() {
    let sink_saw = Arc::new(Mutex::new(None));
    let committed = Arc::new(AtomicBool::new(false));
    let discarded = Arc::new(AtomicBool::new(false));
    let failing = |io: &mut NodeIo| {
        let mut seen = 0;
        while let Some(b) = io.recv("in")? {
            seen += b.len();
            if seen > 300 {
                return Err(NodeError::msg("the target refused the row").with_line(301));
            }
            io.send("out", b)?;
        }
        Ok(())
    };
    let (saw, c, d) = (sink_saw.clone(), committed.clone(), discarded.clone());
    let sink = move |io: &mut NodeIo| {
        let (c, d) = (c.clone(), d.clone());
        io.on_success(move || {
            c.store(true, SeqCst);
            Ok(())
        });
        io.on_failure(move || d.store(true, SeqCst));
        loop {
            match io.recv("in") {
                Ok(Some(_)) => {}
                other => {
                    *saw.lock().unwrap() = Some(other.map(|_| ()));
                    return Ok(());
                }
            }
        }
    };
    let p = plan(
        vec![node("src", Category::Source, source_of(10, 100)), node("mid", Category::Transform, failing), node("sink", Category::Sink, sink)],
        vec![edge("src", "out", "mid"), edge("mid", "out", "sink")],
    );
    let summary = start_run(p, RunOptions::default()).wait().await;
    assert_eq!(summary.status, RunStatus::Failed);
    assert_eq!(summary.failed_node.as_deref(), Some("mid"));
    let err = summary.error.unwrap();
    assert!(err.contains("node 'mid' failed at line 301") && err.contains("refused"), "{err}");
    assert_eq!(*sink_saw.lock().unwrap(), Some(Err(NodeError::Cancelled)), "the sink must not see a clean end");
    assert!(!committed.load(SeqCst) && discarded.load(SeqCst));
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_cancels_an_endless_source() {
    let source = |io: &mut NodeIo| {
        let mut i = 0;
        loop {
            io.send("out", batch(i, 100))?;
            i += 100;
        }
    };
    let p = plan(
        vec![node("src", Category::Source, source), node("sink", Category::Sink, counting_sink(Arc::new(AtomicU64::new(0))))],
        vec![edge("src", "out", "sink")],
    );
    let mut handle = start_run(p, RunOptions { metrics_interval: std::time::Duration::from_millis(20), ..RunOptions::default() });
    // Stop once rows are seen moving.
    while let Some(ev) = handle.events.recv().await {
        if let RunEvent::Metrics { nodes, .. } = &ev {
            if nodes.iter().any(|n| n.node_id == "sink" && n.rows_in > 0) {
                handle.stop();
                break;
            }
        }
    }
    let summary = handle.wait().await;
    assert_eq!(summary.status, RunStatus::Cancelled);
    assert!(summary.node("sink").unwrap().rows_in > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_early_finish_downstream_stops_the_source_cleanly() {
    let source = |io: &mut NodeIo| {
        let mut i = 0;
        loop {
            io.send("out", batch(i, 10))?;
            i += 10;
        }
    };
    let take_one = |io: &mut NodeIo| {
        io.recv("in")?;
        Ok(())
    };
    let p = plan(vec![node("src", Category::Source, source), node("sink", Category::Sink, take_one)], vec![edge("src", "out", "sink")]);
    let summary = start_run(p, RunOptions::default()).wait().await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
    assert_eq!(summary.node("src").unwrap().state, Some(sluice::exec::NodeState::Done));
}

/// A transform that fails every tenth row.
fn every_tenth_fails() -> impl Fn(&mut NodeIo) -> Result<(), NodeError> + Send + Sync + Clone + 'static {
    |io: &mut NodeIo| {
        while let Some(b) = io.recv("in")? {
            let schema = b.schema.clone();
            let (mut ok, mut bad) = (Vec::new(), Vec::new());
            for row in b.rows {
                if let Value::Int(n) = row[0] {
                    if n % 10 == 9 {
                        bad.push(RowError::new(format!("{n} is unlucky"), row).field("n"));
                        continue;
                    }
                }
                ok.push(row);
            }
            io.send("out", Batch::new(schema.clone(), ok))?;
            io.send_errors(&schema, bad)?;
        }
        Ok(())
    }
}

async fn run_with_policy(policy: ErrorPolicy) -> sluice::exec::RunSummary {
    let mut mid = node("mid", Category::Transform, every_tenth_fails());
    mid.error_policy = policy;
    let p = plan(
        vec![node("src", Category::Source, source_of(20, 100)), mid, node("sink", Category::Sink, counting_sink(Arc::new(AtomicU64::new(0))))],
        vec![edge("src", "out", "mid"), edge("mid", "out", "sink")],
    );
    start_run(p, RunOptions::default()).wait().await
}

#[tokio::test(flavor = "multi_thread")]
async fn error_policy_fail_continue_and_limits() {
    let s = run_with_policy(ErrorPolicy::default()).await;
    assert_eq!(s.status, RunStatus::Failed);
    assert!(s.error.as_deref().unwrap().contains("9 is unlucky"), "{:?}", s.error);

    let cont = |max_errors, max_error_percent| ErrorPolicy { mode: ErrorMode::Continue, max_errors, max_error_percent };
    let s = run_with_policy(cont(None, None)).await;
    assert_eq!(s.status, RunStatus::Succeeded);
    assert_eq!(s.node("mid").unwrap().rows_error, 200);
    assert_eq!(s.node("mid").unwrap().rows_error_unhandled, 200);
    assert_eq!(s.node("sink").unwrap().rows_in, 1800);

    let s = run_with_policy(cont(Some(50), None)).await;
    assert_eq!(s.status, RunStatus::Failed);
    assert!(s.error.as_deref().unwrap().contains("max_errors of 50"), "{:?}", s.error);

    assert_eq!(run_with_policy(cont(None, Some(15.0))).await.status, RunStatus::Succeeded);
    let s = run_with_policy(cont(None, Some(5.0))).await;
    assert_eq!(s.status, RunStatus::Failed);
    assert!(s.error.as_deref().unwrap().contains("max_error_percent of 5%"), "{:?}", s.error);
}

#[tokio::test(flavor = "multi_thread")]
async fn wired_error_output_carries_node_message_and_row() {
    let p = plan(
        vec![
            node("src", Category::Source, source_of(2, 10)),
            node("mid", Category::Transform, every_tenth_fails()),
            node("sink", Category::Sink, counting_sink(Arc::new(AtomicU64::new(0)))),
            node("dead", Category::Sink, counting_sink(Arc::new(AtomicU64::new(0)))),
        ],
        vec![edge("src", "out", "mid"), edge("mid", "out", "sink"), edge("mid", "error", "dead")],
    );
    let tap = Tap { node_id: "mid".into(), port: "error".into(), max_rows: 100, stop_when_full: false };
    let handle = start_run(p, RunOptions { taps: vec![tap], ..RunOptions::default() });
    let capture = handle.taps[0].clone();
    let s = handle.wait().await;
    assert_eq!(s.status, RunStatus::Succeeded);
    assert_eq!(s.node("dead").unwrap().rows_in, 2);
    let c = capture.lock().unwrap();
    let schema = c.schema.clone().unwrap();
    let names: Vec<&str> = schema.names().collect();
    assert_eq!(names, ["n", "_error_node", "_error_message", "_error_field", "_error_line", "_error_raw"]);
    assert_eq!(c.rows[0][0], Value::Int(9));
    assert_eq!(c.rows[0][1], Value::str("mid"));
    assert_eq!(c.rows[0][2], Value::str("9 is unlucky"));
    assert_eq!(c.rows[0][3], Value::str("n"));
}
