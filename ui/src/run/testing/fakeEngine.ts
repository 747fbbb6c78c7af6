// A scripted engine for the run tests: answers calls like the app service, records them,
// and lets a test push run events and the `lagged` signal as the event stream would.

import catalogDoc from "../../api/generated/catalog.json";
import { setTransport, type RunEventListener, type Transport } from "../../api/client";
import type { ActiveRun, AppEvent, FlowFile, NodeMetricsSnapshot, Request, Response, RunEvent } from "../../api/generated";

export function snap(node_id: string, patch: Partial<NodeMetricsSnapshot> = {}): NodeMetricsSnapshot {
  return { node_id, state: null, rows_in: 0, rows_out: 0, rows_error: 0, rows_error_unhandled: 0, batches_in: 0, batches_out: 0, bytes: 0, busy_ms: 0, rows_per_sec: 0, ...patch };
}

export const FLOW_PATH = "/w/orders.flow.json";

/** Source → filter → sink, with a script-free filter so the check finds nothing. */
export function ordersFlow(patch: Partial<FlowFile> = {}): FlowFile {
  return {
    version: 1,
    name: "orders",
    nodes: [
      { id: "src", kind: "csv_source", config: { path: "orders.csv" }, position: { x: 0, y: 0 } },
      { id: "keep", kind: "filter", title: "Big orders", config: { condition: "amount > 10" }, position: { x: 300, y: 0 } },
      { id: "out", kind: "csv_sink", config: { path: "big.csv" }, position: { x: 600, y: 0 } },
    ],
    edges: [
      { from: "src", from_port: "out", to: "keep", to_port: "in" },
      { from: "keep", from_port: "out", to: "out", to_port: "in" },
    ],
    ...patch,
  };
}

export interface FakeEngineOptions {
  openOnStart?: string;
  flow?: FlowFile;
  activeRuns?: ActiveRun[];
  /** Answers a call before the defaults do (return undefined to fall through). Throw an
   *  `AppError`-shaped object to fail it. */
  answer?(req: Request): Response | undefined | Promise<Response | undefined>;
  /** Events the engine sends while `start_run` is still answering (they race its reply). */
  eventsBeforeStartAnswer?: RunEvent[];
  runId?: string;
}

export interface FakeEngine {
  requests: Request[];
  transport: Transport;
  emit(event: RunEvent, runId?: string): void;
  lag(): void;
  setActiveRuns(runs: ActiveRun[]): void;
  listenerCount(): number;
  of<O extends Request["op"]>(op: O): Array<Extract<Request, { op: O }>>;
}

export function fakeEngine(opts: FakeEngineOptions = {}): FakeEngine {
  const requests: Request[] = [];
  const listeners = new Set<RunEventListener>();
  const lagged = new Set<(missed: number) => void>();
  let activeRuns = opts.activeRuns ?? [];
  const runId = opts.runId ?? "run-1";

  const emit = (event: RunEvent, id = runId) => {
    const e: AppEvent = { run_id: id, event };
    for (const l of [...listeners]) l(e);
  };

  const transport: Transport & { onLagged(cb: (missed: number) => void): () => void } = {
    mode: "browser",
    subscribe(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    onLagged(cb) {
      lagged.add(cb);
      return () => lagged.delete(cb);
    },
    async call(req: Request): Promise<Response> {
      requests.push(req);
      const custom = await opts.answer?.(req);
      if (custom) return custom;
      switch (req.op) {
        case "info":
          return { op: "info", version: "test", work_dir: "/w", home_dir: "/h", mode: "browser", platform: "linux", separator: "/", ...(opts.openOnStart ? { open_on_start: opts.openOnStart } : {}) };
        case "catalog":
          return catalogDoc as unknown as Response;
        case "check_flow":
          return { op: "check_flow", diagnostics: [], nodes: {} };
        case "open_flow":
          return { op: "open_flow", path: req.path, text: "", flow: opts.flow ?? ordersFlow(), diagnostics: [] };
        case "start_run":
          for (const ev of opts.eventsBeforeStartAnswer ?? []) emit(ev);
          return { op: "start_run", run_id: runId };
        case "stop_run":
          return { op: "stop_run", run_id: req.run_id };
        case "active_runs":
          return { op: "active_runs", runs: activeRuns };
        default:
          throw { kind: "bad_request", message: `the fake engine does not answer ${req.op}` };
      }
    },
  };
  setTransport(transport);

  return {
    requests,
    transport,
    emit,
    lag: () => {
      for (const l of [...lagged]) l(1);
    },
    setActiveRuns: (runs) => {
      activeRuns = runs;
    },
    listenerCount: () => listeners.size,
    of: <O extends Request["op"]>(op: O) => requests.filter((r): r is Extract<Request, { op: O }> => r.op === op),
  };
}
