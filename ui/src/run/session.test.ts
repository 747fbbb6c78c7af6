// The run store and session over a scripted engine: buffered events reach the store in a
// few batched updates, events that race `start_run`'s answer are kept, params are asked
// for, a refused start is reported, and the designer re-attaches to a run in progress (at
// start, after a reload, after `lagged`, after a silent stream).
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { setTransport } from "../api/client";
import type { ActiveRun, RunEvent } from "../api/generated";
import catalogDoc from "../api/generated/catalog.json";
import type { CatalogKind } from "../api/generated";
import i18n from "../i18n";
import { useToasts } from "../lib/toast";
import { resetFlowStore, useFlow } from "../store/flowStore";
import { useBottomPanel, resetBottomPanel } from "./panelStore";
import { useRunDialogs } from "./runDialogs";
import { attachRun, FLUSH_INTERVAL_MS, flushNow, pendingCount, receiveEvent, resetRunStore, useRun } from "./runStore";
import { connectRunEvents, LOST_GRACE_MS, resetRunSession, resync, SILENCE_MS, startRun, stopRun, stopRunAndWait, WATCHDOG_INTERVAL_MS } from "./session";
import { fakeEngine, FLOW_PATH, ordersFlow, snap } from "./testing/fakeEngine";

const catalog = (catalogDoc as unknown as { kinds: CatalogKind[] }).kinds;
let disconnect: (() => void) | null = null;

function metrics(rowsOut: number): RunEvent {
  return { type: "metrics", elapsed_ms: rowsOut, nodes: [snap("src", { state: "running", rows_out: rowsOut })], edges: [{ from: "src", from_port: "out", to: "keep", to_port: "in", rows: rowsOut }] };
}

function activeRun(patch: Partial<ActiveRun> = {}): ActiveRun {
  return {
    run_id: "run-1",
    flow_name: "orders",
    path: FLOW_PATH,
    started_at: "2024-01-01T00:00:00Z",
    node_states: { src: "running", keep: "running", out: "waiting" },
    metrics: [snap("src", { state: "running", rows_out: 1200, rows_per_sec: 600 })],
    ...patch,
  };
}

/** Lets promises (and the zero-delay timers they start) settle under fake timers. */
const settle = () => vi.advanceTimersByTimeAsync(0);

beforeAll(async () => {
  await i18n.changeLanguage("en");
});
beforeEach(() => {
  vi.useFakeTimers();
  resetFlowStore();
  useFlow.getState().setCatalog(catalog);
  useFlow.getState().load(ordersFlow(), FLOW_PATH);
});
afterEach(() => {
  disconnect?.();
  disconnect = null;
  resetRunStore();
  resetRunSession();
  resetBottomPanel();
  useRunDialogs.setState({ params: null, stopOnClose: null });
  useToasts.setState({ toasts: [] });
  setTransport(null);
  sessionStorage.clear();
  vi.useRealTimers();
});

describe("the event buffer", () => {
  it("folds a burst of events into the store in one update, after the flush interval", () => {
    fakeEngine();
    attachRun("run-1", { nodeIds: ["src", "keep", "out"] });
    let updates = 0;
    const off = useRun.subscribe(() => updates++);
    for (let i = 1; i <= 200; i++) receiveEvent({ run_id: "run-1", event: metrics(i * 10) });
    expect(updates).toBe(0);
    expect(pendingCount()).toBe(200);
    vi.advanceTimersByTime(FLUSH_INTERVAL_MS);
    expect(updates).toBe(1);
    expect(useRun.getState().nodes.src.rowsOut).toBe(2000);
    off();
  });

  it("updates the store a few times a second however fast events come", () => {
    fakeEngine();
    attachRun("run-1", { nodeIds: ["src"] });
    let updates = 0;
    const off = useRun.subscribe(() => updates++);
    // One event every 2 ms for one second: 500 events.
    for (let i = 1; i <= 500; i++) {
      receiveEvent({ run_id: "run-1", event: metrics(i) });
      vi.advanceTimersByTime(2);
    }
    vi.advanceTimersByTime(FLUSH_INTERVAL_MS);
    expect(useRun.getState().nodes.src.rowsOut).toBe(500);
    expect(updates).toBeLessThanOrEqual(Math.ceil(1000 / FLUSH_INTERVAL_MS) + 1);
    expect(updates).toBeGreaterThanOrEqual(3);
    off();
  });

  it("ignores other runs' events for the shown run, and replays them when that run is attached", () => {
    fakeEngine();
    attachRun("run-1", { nodeIds: ["src"] });
    receiveEvent({ run_id: "run-2", event: { type: "node_state", node_id: "src", state: "failed", error: "boom" } });
    flushNow();
    expect(useRun.getState().nodes.src.state).toBe("waiting");
    attachRun("run-2", { nodeIds: ["src"] });
    expect(useRun.getState().nodes.src).toMatchObject({ state: "failed", error: "boom" });
  });
});

describe("starting and stopping", () => {
  it("runs the flow as edited (unsaved changes included) with its path, and keeps events that came before the answer", async () => {
    const engine = fakeEngine({
      eventsBeforeStartAnswer: [
        { type: "run_started", run_id: "run-1", flow: "orders", started_at: "2024-01-01T00:00:00Z", nodes: ["src", "keep", "out"] },
        { type: "node_state", node_id: "src", state: "running" },
      ],
    });
    disconnect = connectRunEvents();
    await settle();
    useFlow.getState().setTitle("keep", "Edited, not saved");
    expect(useFlow.getState().dirty).toBe(true);
    await startRun();
    const [req] = engine.of("start_run");
    expect(req.path).toBe(FLOW_PATH);
    expect(req.flow.nodes.find((n) => n.id === "keep")?.title).toBe("Edited, not saved");
    expect(req.params).toBeUndefined();
    const s = useRun.getState();
    expect(s).toMatchObject({ runId: "run-1", phase: "running" });
    expect(s.nodes.src.state).toBe("running");
    expect(s.logs.map((l) => l.kind)).toEqual(["run_started"]);

    engine.emit({ type: "run_finished", summary: { run_id: "run-1", flow: "orders", status: "succeeded", started_at: "", finished_at: "", duration_ms: 5, nodes: [snap("src", { state: "done", rows_out: 3 })], edges: [] } });
    vi.advanceTimersByTime(FLUSH_INTERVAL_MS);
    expect(useRun.getState().phase).toBe("succeeded");
    expect(useRun.getState().nodes.src).toMatchObject({ state: "done", rowsOut: 3 });
  });

  it("asks for params without a default first, and sends what was given", async () => {
    useFlow.getState().setParams([
      { name: "day", type: "date" },
      { name: "limit", type: "int", default: 10 },
    ]);
    const engine = fakeEngine();
    const started = startRun();
    await settle();
    const req = useRunDialogs.getState().params!;
    expect(req.purpose).toBe("run");
    expect(req.params.map((p) => p.name)).toEqual(["day", "limit"]);
    req.resolve({ day: "2024-05-01", limit: "" });
    await started;
    expect(engine.of("start_run")[0].params).toEqual({ day: "2024-05-01" });

    // The next run offers the values given last time; cancelling starts nothing.
    resetRunStore();
    const again = startRun();
    await settle();
    expect(useRunDialogs.getState().params!.values).toEqual({ day: "2024-05-01" });
    useRunDialogs.getState().params!.resolve(null);
    await again;
    expect(engine.of("start_run")).toHaveLength(1);
    expect(useRun.getState().phase).toBe("idle");
  });

  it("reports a refused start with the engine's reasons, on the Problems tab", async () => {
    useBottomPanel.setState({ tab: "logs" });
    fakeEngine({
      answer: (req) => {
        if (req.op === "start_run")
          throw { kind: "invalid_flow", message: "the flow has 1 problem", diagnostics: [{ severity: "error", code: "missing_param", message: "param 'day' has no value", field: "params/day" }] };
        return undefined;
      },
    });
    await startRun();
    const s = useRun.getState();
    expect(s.phase).toBe("idle");
    expect(s.refusal).toMatchObject({ kind: "invalid_flow", message: "the flow has 1 problem" });
    expect(s.refusal!.diagnostics[0].code).toBe("missing_param");
    expect(useToasts.getState().toasts.map((t) => t.text)).toEqual(["The run was not started: the flow has 1 problem"]);
    expect(useBottomPanel.getState().tab).toBe("problems");
  });

  it("stops the shown run and settles when its end arrives", async () => {
    const engine = fakeEngine();
    disconnect = connectRunEvents();
    await startRun();
    await stopRun();
    expect(engine.of("stop_run")).toEqual([{ op: "stop_run", run_id: "run-1" }]);
    expect(useRun.getState().stopRequested).toBe(true);
    engine.emit({ type: "run_finished", summary: { run_id: "run-1", flow: "orders", status: "cancelled", started_at: "", finished_at: "", duration_ms: 5, nodes: [], edges: [] } });
    vi.advanceTimersByTime(FLUSH_INTERVAL_MS);
    expect(useRun.getState()).toMatchObject({ phase: "stopped", stopRequested: false });
  });
});

describe("closing the window during a run", () => {
  it("stops the run and waits for its end before letting the window go", async () => {
    const engine = fakeEngine();
    disconnect = connectRunEvents();
    await startRun();
    let done = false;
    const closing = stopRunAndWait().then(() => (done = true));
    await settle();
    expect(engine.of("stop_run")).toHaveLength(1);
    expect(done).toBe(false);
    engine.emit({ type: "run_finished", summary: { run_id: "run-1", flow: "orders", status: "cancelled", started_at: "", finished_at: "", duration_ms: 5, nodes: [], edges: [] } });
    await vi.advanceTimersByTimeAsync(FLUSH_INTERVAL_MS);
    await closing;
    expect(done).toBe(true);
    expect(useRun.getState().phase).toBe("stopped");
  });

  it("does not wait forever for a run that does not answer", async () => {
    fakeEngine();
    disconnect = connectRunEvents();
    await startRun();
    const closing = stopRunAndWait(1000);
    await vi.advanceTimersByTimeAsync(1000);
    await closing;
    expect(useRun.getState().phase).toBe("running");
  });
});

describe("reconnecting", () => {
  it("attaches at start to a run of the open flow in progress, with its states and counts", async () => {
    fakeEngine({ activeRuns: [activeRun({ run_id: "other", path: "/w/other.flow.json" }), activeRun()] });
    disconnect = connectRunEvents();
    await settle();
    const s = useRun.getState();
    expect(s).toMatchObject({ runId: "run-1", phase: "running", path: FLOW_PATH });
    expect(s.nodes.src).toMatchObject({ state: "running", rowsOut: 1200 });
    expect(s.nodes.out.state).toBe("waiting");
  });

  it("does not attach to runs of other flows", async () => {
    fakeEngine({ activeRuns: [activeRun({ path: "/w/other.flow.json" })] });
    disconnect = connectRunEvents();
    await settle();
    expect(useRun.getState().phase).toBe("idle");
  });

  it("after a reload opens the flow whose run this tab started, and attaches to it", async () => {
    sessionStorage.setItem("sluice.run", JSON.stringify({ runId: "run-1", path: FLOW_PATH }));
    resetFlowStore();
    useFlow.getState().setCatalog(catalog);
    const engine = fakeEngine({ activeRuns: [activeRun()] });
    disconnect = connectRunEvents();
    await settle();
    await settle();
    expect(engine.of("open_flow")).toEqual([{ op: "open_flow", path: FLOW_PATH }]);
    expect(useFlow.getState().path).toBe(FLOW_PATH);
    expect(useRun.getState()).toMatchObject({ runId: "run-1", phase: "running" });
  });

  it("re-reads active_runs on `lagged`, and ends a run that vanished unheard", async () => {
    const engine = fakeEngine({ activeRuns: [activeRun()] });
    disconnect = connectRunEvents();
    await settle();
    const asked = engine.of("active_runs").length;
    engine.setActiveRuns([activeRun({ node_states: { src: "done", keep: "running", out: "running" }, metrics: [snap("src", { state: "done", rows_out: 5000 })] })]);
    engine.lag();
    await settle();
    expect(engine.of("active_runs").length).toBe(asked + 1);
    expect(useRun.getState().nodes.src).toMatchObject({ state: "done", rowsOut: 5000 });

    // Gone from the list: its end may still be on the way, so it is given a moment.
    engine.setActiveRuns([]);
    engine.lag();
    await settle();
    expect(useRun.getState().phase).toBe("running");
    await vi.advanceTimersByTimeAsync(LOST_GRACE_MS);
    expect(useRun.getState().phase).toBe("finished");
    expect(useRun.getState().logs.at(-1)?.kind).toBe("run_lost");
  });

  it("prefers the run's real end to the guess when it arrives in time", async () => {
    const engine = fakeEngine({ activeRuns: [activeRun()] });
    disconnect = connectRunEvents();
    await settle();
    engine.setActiveRuns([]);
    engine.lag();
    await settle();
    engine.emit({ type: "run_finished", summary: { run_id: "run-1", flow: "orders", status: "failed", error: "node 'keep' failed", failed_node: "keep", started_at: "", finished_at: "", duration_ms: 9, nodes: [], edges: [] } });
    await vi.advanceTimersByTimeAsync(LOST_GRACE_MS * 2);
    expect(useRun.getState().phase).toBe("failed");
  });

  it("asks the engine again when a running run goes silent", async () => {
    const engine = fakeEngine({ activeRuns: [activeRun()] });
    disconnect = connectRunEvents();
    await settle();
    const asked = engine.of("active_runs").length;
    await vi.advanceTimersByTimeAsync(SILENCE_MS + WATCHDOG_INTERVAL_MS);
    expect(engine.of("active_runs").length).toBeGreaterThan(asked);
    // While events flow, it does not.
    const before = engine.of("active_runs").length;
    for (let i = 0; i < 20; i++) {
      engine.emit(metrics(i + 1));
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(engine.of("active_runs").length).toBe(before);
  });

  it("attaches when another window starts a run of this flow", async () => {
    const engine = fakeEngine();
    disconnect = connectRunEvents();
    await settle();
    expect(useRun.getState().phase).toBe("idle");
    engine.setActiveRuns([activeRun({ run_id: "run-9" })]);
    engine.emit({ type: "run_started", run_id: "run-9", flow: "orders", started_at: "2024-01-01T00:00:00Z", nodes: ["src", "keep", "out"] }, "run-9");
    await settle();
    expect(useRun.getState()).toMatchObject({ runId: "run-9", phase: "running" });
    // The start event heard before attaching is in the log.
    expect(useRun.getState().logs.map((l) => l.kind)).toContain("run_started");
  });

  it("lets go of the shown run when another flow is opened (the run goes on)", async () => {
    fakeEngine({ activeRuns: [activeRun()] });
    disconnect = connectRunEvents();
    await settle();
    expect(useRun.getState().runId).toBe("run-1");
    useFlow.getState().load(ordersFlow({ name: "other" }), "/w/other.flow.json");
    await settle();
    expect(useRun.getState()).toMatchObject({ runId: null, phase: "idle" });
    expect(Object.keys(useRun.getState().nodes)).toEqual([]);
  });

  it("survives an engine that cannot be reached", async () => {
    fakeEngine({
      answer: (req) => {
        if (req.op === "active_runs") throw { kind: "io", message: "cannot reach the Sluice server" };
        return undefined;
      },
    });
    await resync();
    expect(useRun.getState().phase).toBe("idle");
  });
});
