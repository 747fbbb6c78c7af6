// Folding run events into the view: states only move forward, counters only grow, an
// unchanged node keeps its object, the log is bounded, and a run's end settles every node.
import { describe, expect, it } from "vitest";
import type { RunEvent, RunSummary } from "../api/generated";
import { edgeKey } from "../store/docOps";
import { applySnapshot, emptyView, foldEvents, markLost, MAX_LOG_ENTRIES, startedView, type RunView } from "./fold";
import { snap } from "./testing/fakeEngine";

const at = 1_700_000_000_000;
const timed = (...events: RunEvent[]) => events.map((event, i) => ({ event, at: at + i }));

function summary(patch: Partial<RunSummary> = {}): RunSummary {
  return { run_id: "r1", flow: "orders", status: "succeeded", started_at: "2024-01-01T00:00:00Z", finished_at: "2024-01-01T00:00:02Z", duration_ms: 2000, nodes: [], edges: [], ...patch };
}

const running = (): RunView => startedView("r1", "running", "orders", "/w/orders.flow.json", ["src", "keep", "out"]);

describe("folding run events", () => {
  it("starts every node of the run as waiting and logs the start", () => {
    const v = foldEvents(emptyView(), timed({ type: "run_started", run_id: "r1", flow: "orders", started_at: "2024-01-01T00:00:00Z", nodes: ["src", "out"] }));
    expect(v.flowName).toBe("orders");
    expect(v.startedAt).toBe("2024-01-01T00:00:00Z");
    expect(Object.keys(v.nodes)).toEqual(["src", "out"]);
    expect(v.nodes.src.state).toBe("waiting");
    expect(v.logs).toMatchObject([{ kind: "run_started", level: "info", flow: "orders" }]);
  });

  it("moves node states forward only, whatever order they arrive in", () => {
    const v = foldEvents(
      running(),
      timed(
        { type: "node_state", node_id: "src", state: "running" },
        { type: "node_state", node_id: "src", state: "done" },
        // A late snapshot from before the node finished must not bring it back to running.
        { type: "metrics", elapsed_ms: 100, nodes: [snap("src", { state: "running", rows_out: 10 })], edges: [] },
        { type: "node_state", node_id: "keep", state: "running" },
        { type: "node_state", node_id: "keep", state: "waiting" },
      ),
    );
    expect(v.nodes.src.state).toBe("done");
    expect(v.nodes.keep.state).toBe("running");
  });

  it("takes counters, rates and edge rows from metrics, and never lets a counter go back", () => {
    const e = { from: "src", from_port: "out", to: "keep", to_port: "in" };
    let v = foldEvents(
      running(),
      timed({ type: "metrics", elapsed_ms: 250, nodes: [snap("src", { state: "running", rows_out: 500, rows_per_sec: 2000, bytes: 10, total_bytes: 100 })], edges: [{ ...e, rows: 500 }] }),
    );
    expect(v.nodes.src).toMatchObject({ state: "running", rowsOut: 500, rowsPerSec: 2000, bytes: 10, totalBytes: 100 });
    expect(v.edges[edgeKey(e)]).toBe(500);
    expect(v.elapsedMs).toBe(250);
    v = foldEvents(v, timed({ type: "metrics", elapsed_ms: 200, nodes: [snap("src", { rows_out: 400, rows_per_sec: 1500 })], edges: [{ ...e, rows: 400 }] }));
    expect(v.nodes.src.rowsOut).toBe(500);
    expect(v.nodes.src.rowsPerSec).toBe(1500);
    expect(v.edges[edgeKey(e)]).toBe(500);
    expect(v.elapsedMs).toBe(250);
  });

  it("keeps the object of a node whose numbers did not change, so only changed nodes re-render", () => {
    const first = foldEvents(
      running(),
      timed({ type: "metrics", elapsed_ms: 250, nodes: [snap("src", { state: "done", rows_out: 3 }), snap("keep", { state: "running", rows_in: 1 })], edges: [] }),
    );
    const second = foldEvents(
      first,
      timed({ type: "metrics", elapsed_ms: 500, nodes: [snap("src", { state: "done", rows_out: 3 }), snap("keep", { state: "running", rows_in: 2 })], edges: [] }),
    );
    expect(second.nodes.src).toBe(first.nodes.src);
    expect(second.nodes.keep).not.toBe(first.nodes.keep);
    expect(second.nodes.out).toBe(first.nodes.out);
    // Nothing new at all: the same maps come back.
    const third = foldEvents(second, timed({ type: "metrics", elapsed_ms: 500, nodes: [snap("src", { state: "done", rows_out: 3 })], edges: [] }));
    expect(third.nodes).toBe(second.nodes);
    expect(third.edges).toBe(second.edges);
  });

  it("logs failed rows with their node, field and input line, and failed nodes with why", () => {
    const v = foldEvents(
      running(),
      timed(
        { type: "row_error", node_id: "src", message: "not a number: 'x'", field: "amount", line: 7, handled: false },
        { type: "row_error", node_id: "keep", message: "condition: bad", handled: true },
        { type: "log", level: "info", node_id: "out", message: "wrote 3 rows" },
        { type: "node_state", node_id: "src", state: "failed", error: "a row failed: not a number" },
      ),
    );
    expect(v.logs.map((l) => [l.kind, l.level, l.nodeId])).toEqual([
      ["row_error", "error", "src"],
      ["row_error", "warn", "keep"],
      ["log", "info", "out"],
      ["node_failed", "error", "src"],
    ]);
    expect(v.logs[0]).toMatchObject({ field: "amount", line: 7, handled: false, message: "not a number: 'x'" });
    expect(v.nodes.src).toMatchObject({ state: "failed", error: "a row failed: not a number" });
    expect(new Set(v.logs.map((l) => l.id)).size).toBe(4);
  });

  it("ends with the summary: the phase, final counts, and nodes left running marked stopped", () => {
    const v = foldEvents(
      running(),
      timed({
        type: "run_finished",
        summary: summary({
          status: "failed",
          error: "node 'keep' failed at line 3: boom",
          failed_node: "keep",
          nodes: [snap("src", { state: "done", rows_out: 9 }), snap("keep", { state: "failed", rows_in: 9 })],
          edges: [{ from: "src", from_port: "out", to: "keep", to_port: "in", rows: 9 }],
        }),
      }),
    );
    expect(v.phase).toBe("failed");
    expect(v.elapsedMs).toBe(2000);
    expect(v.nodes.src).toMatchObject({ state: "done", rowsOut: 9 });
    expect(v.nodes.keep.state).toBe("failed");
    expect(v.nodes.out.state).toBe("stopped");
    expect(v.logs.at(-1)).toMatchObject({ kind: "run_finished", level: "error", status: "failed", nodeId: "keep", message: "node 'keep' failed at line 3: boom" });
    expect(foldEvents(running(), timed({ type: "run_finished", summary: summary({ status: "cancelled" }) })).phase).toBe("stopped");
  });

  it("keeps only the newest log entries and counts the ones let go", () => {
    const many = Array.from({ length: MAX_LOG_ENTRIES + 25 }, (_, i): RunEvent => ({ type: "log", level: "debug", message: `line ${i}` }));
    const v = foldEvents(running(), timed(...many));
    expect(v.logs).toHaveLength(MAX_LOG_ENTRIES);
    expect(v.droppedLogs).toBe(25);
    expect(v.logs[0].message).toBe("line 25");
  });

  it("takes an active_runs snapshot without undoing what events already said", () => {
    let v = foldEvents(running(), timed({ type: "node_state", node_id: "out", state: "done" }));
    v = applySnapshot(v, {
      run_id: "r1",
      flow_name: "orders",
      started_at: "2024-01-01T00:00:00Z",
      node_states: { src: "running", keep: "running", out: "running" },
      metrics: [snap("src", { rows_out: 42 })],
    });
    expect(v.nodes.src).toMatchObject({ state: "running", rowsOut: 42 });
    expect(v.nodes.out.state).toBe("done");
  });

  it("marks a run that ended unheard as finished, once", () => {
    const v = markLost(running(), at);
    expect(v.phase).toBe("finished");
    expect(v.logs.at(-1)).toMatchObject({ kind: "run_lost", level: "warn" });
    expect(markLost(v, at)).toBe(v);
  });
});
