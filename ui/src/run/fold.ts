// What the designer knows about the run it shows, and how run events change it. Pure
// functions over plain data, so the store can fold a whole burst of events in one step and
// tests can feed events without React.
//
// Two rules keep the view right when events arrive late, twice, or out of order (a replay
// after a reconnect, an `active_runs` snapshot racing the event stream): a node's state only
// moves forward (waiting → running → done/failed/stopped), and row counters only grow. An
// unchanged node keeps its object, so a component that reads one node re-renders only when
// that node changed.

import type { ActiveRun, EdgeMetrics, EdgeSpec, LogLevel, NodeMetricsSnapshot, NodeState, RunEvent, RunStatus, RunSummary } from "../api/generated";
import { edgeKey } from "../store/docOps";

/** Where the shown run is: none yet, asked to start, in progress, or how it ended.
 *  `finished` = it ended while the event stream was lost, so how is not known here. */
export type RunPhase = "idle" | "starting" | "running" | "succeeded" | "failed" | "stopped" | "finished";

export interface NodeRun {
  state: NodeState;
  rowsIn: number;
  rowsOut: number;
  rowsError: number;
  rowsPerSec: number;
  bytes: number;
  /** Size of the input known up front (file sources): `bytes / totalBytes` is the progress. */
  totalBytes?: number;
  /** Why the node failed, as the engine said it. */
  error?: string;
}

export type LogKind = "run_started" | "run_finished" | "run_lost" | "node_failed" | "row_error" | "log";

export interface LogEntry {
  id: number;
  /** Wall-clock time the designer heard of it (events carry no time of their own). */
  at: number;
  level: LogLevel;
  kind: LogKind;
  nodeId?: string;
  /** The engine's text (a log line, an error); the panel words the rest itself. */
  message?: string;
  /** The field a failed row names. */
  field?: string;
  /** The input line a failed row came from (file sources). */
  line?: number;
  /** Whether a wired `error` output took the failed row. */
  handled?: boolean;
  status?: RunStatus;
  durationMs?: number;
  flow?: string;
}

export interface RunView {
  runId: string | null;
  phase: RunPhase;
  flowName: string;
  /** Absolute path of the flow file the run was started from, when it has one. */
  path: string | null;
  startedAt: string | null;
  /** Run time as of the latest metrics (or the summary's duration once finished). */
  elapsedMs: number;
  nodes: Readonly<Record<string, NodeRun>>;
  /** Rows that crossed each edge, by `edgeKey`. */
  edges: Readonly<Record<string, number>>;
  logs: readonly LogEntry[];
  /** Oldest log entries let go to keep the list bounded. */
  droppedLogs: number;
  summary: RunSummary | null;
  nextLogId: number;
}

/** The log keeps the newest entries: a chatty `log` node must not eat the memory. */
export const MAX_LOG_ENTRIES = 5000;

export interface TimedEvent {
  event: RunEvent;
  at: number;
}

export function emptyView(): RunView {
  return {
    runId: null,
    phase: "idle",
    flowName: "",
    path: null,
    startedAt: null,
    elapsedMs: 0,
    nodes: {},
    edges: {},
    logs: [],
    droppedLogs: 0,
    summary: null,
    nextLogId: 1,
  };
}

const STATE_RANK: Record<NodeState, number> = { waiting: 0, running: 1, done: 2, failed: 2, stopped: 2 };

/** The later of two states: a stale `running` never undoes a `done`. */
export function laterState(prev: NodeState | undefined, next: NodeState | null | undefined): NodeState {
  if (!next) return prev ?? "waiting";
  if (!prev) return next;
  return STATE_RANK[next] >= STATE_RANK[prev] ? next : prev;
}

export function isTerminal(state: NodeState): boolean {
  return STATE_RANK[state] === 2;
}

function sameNode(a: NodeRun, b: NodeRun): boolean {
  return (
    a.state === b.state &&
    a.rowsIn === b.rowsIn &&
    a.rowsOut === b.rowsOut &&
    a.rowsError === b.rowsError &&
    a.rowsPerSec === b.rowsPerSec &&
    a.bytes === b.bytes &&
    a.totalBytes === b.totalBytes &&
    a.error === b.error
  );
}

/** Copy-on-first-write maps: a fold that changes nothing returns the maps it was given. */
class Draft {
  nodes: Record<string, NodeRun>;
  edges: Record<string, number>;
  private nodesCopied = false;
  private edgesCopied = false;

  constructor(view: RunView) {
    this.nodes = view.nodes as Record<string, NodeRun>;
    this.edges = view.edges as Record<string, number>;
  }

  setNode(id: string, next: NodeRun) {
    const prev = this.nodes[id];
    if (prev && sameNode(prev, next)) return;
    if (!this.nodesCopied) {
      this.nodes = { ...this.nodes };
      this.nodesCopied = true;
    }
    this.nodes[id] = next;
  }

  setEdge(key: string, rows: number) {
    const prev = this.edges[key];
    if (prev !== undefined && prev >= rows) return;
    if (!this.edgesCopied) {
      this.edges = { ...this.edges };
      this.edgesCopied = true;
    }
    this.edges[key] = rows;
  }

  state(id: string, state: NodeState, error?: string) {
    const prev = this.nodes[id] ?? blankNode();
    this.setNode(id, { ...prev, state: laterState(prev.state, state), ...(error ? { error } : {}) });
  }

  metrics(m: NodeMetricsSnapshot) {
    const prev = this.nodes[m.node_id] ?? blankNode();
    const next: NodeRun = {
      state: laterState(prev.state, m.state),
      rowsIn: Math.max(prev.rowsIn, m.rows_in),
      rowsOut: Math.max(prev.rowsOut, m.rows_out),
      rowsError: Math.max(prev.rowsError, m.rows_error),
      rowsPerSec: m.rows_per_sec,
      bytes: Math.max(prev.bytes, m.bytes),
    };
    const total = m.total_bytes ?? prev.totalBytes;
    if (total !== undefined) next.totalBytes = total;
    if (prev.error) next.error = prev.error;
    this.setNode(m.node_id, next);
  }

  edgeMetrics(e: EdgeMetrics) {
    this.setEdge(edgeKey(e as EdgeSpec), e.rows);
  }
}

function blankNode(): NodeRun {
  return { state: "waiting", rowsIn: 0, rowsOut: 0, rowsError: 0, rowsPerSec: 0, bytes: 0 };
}

export function phaseOf(status: RunStatus): RunPhase {
  return status === "cancelled" ? "stopped" : status;
}

/** The view after `events` (all of one run, oldest first). */
export function foldEvents(view: RunView, events: readonly TimedEvent[]): RunView {
  if (events.length === 0) return view;
  const d = new Draft(view);
  const logs: LogEntry[] = [];
  let { phase, flowName, startedAt, elapsedMs, summary, nextLogId } = view;
  const log = (at: number, entry: Omit<LogEntry, "id" | "at">) => logs.push({ id: nextLogId++, at, ...entry });

  for (const { event: e, at } of events) {
    switch (e.type) {
      case "run_started":
        flowName = e.flow;
        startedAt = e.started_at;
        for (const id of e.nodes) if (!d.nodes[id]) d.setNode(id, blankNode());
        log(at, { level: "info", kind: "run_started", flow: e.flow });
        break;
      case "node_state":
        d.state(e.node_id, e.state, e.error);
        if (e.state === "failed") log(at, { level: "error", kind: "node_failed", nodeId: e.node_id, ...(e.error ? { message: e.error } : {}) });
        break;
      case "metrics":
        elapsedMs = Math.max(elapsedMs, e.elapsed_ms);
        for (const m of e.nodes) d.metrics(m);
        for (const edge of e.edges) d.edgeMetrics(edge);
        break;
      case "row_error":
        log(at, {
          level: e.handled ? "warn" : "error",
          kind: "row_error",
          nodeId: e.node_id,
          message: e.message,
          handled: e.handled,
          ...(e.field ? { field: e.field } : {}),
          ...(e.line !== undefined ? { line: e.line } : {}),
        });
        break;
      case "log":
        log(at, { level: e.level, kind: "log", message: e.message, ...(e.node_id ? { nodeId: e.node_id } : {}) });
        break;
      case "run_finished": {
        const s = e.summary;
        summary = s;
        phase = phaseOf(s.status);
        elapsedMs = s.duration_ms;
        for (const m of s.nodes) d.metrics(m);
        for (const edge of s.edges) d.edgeMetrics(edge);
        // A node still shown as running when the run is over was stopped with it.
        for (const [id, n] of Object.entries(d.nodes)) if (!isTerminal(n.state)) d.setNode(id, { ...n, state: "stopped", rowsPerSec: 0 });
        log(at, {
          level: s.status === "failed" ? "error" : s.status === "cancelled" ? "warn" : "info",
          kind: "run_finished",
          status: s.status,
          durationMs: s.duration_ms,
          // A stopped run's error only says it was stopped, which the entry says already.
          ...(s.error && s.status !== "cancelled" ? { message: s.error } : {}),
          ...(s.failed_node ? { nodeId: s.failed_node } : {}),
        });
        break;
      }
    }
  }

  return {
    ...view,
    phase,
    flowName,
    startedAt,
    elapsedMs,
    summary,
    nextLogId,
    nodes: d.nodes,
    edges: d.edges,
    ...appendLogs(view, logs),
  };
}

function appendLogs(view: RunView, added: LogEntry[]): Pick<RunView, "logs" | "droppedLogs"> {
  if (added.length === 0) return { logs: view.logs, droppedLogs: view.droppedLogs };
  const all = view.logs.concat(added);
  const over = all.length - MAX_LOG_ENTRIES;
  return over > 0 ? { logs: all.slice(over), droppedLogs: view.droppedLogs + over } : { logs: all, droppedLogs: view.droppedLogs };
}

/** The view after an `active_runs` answer about its run: states and the latest counters. */
export function applySnapshot(view: RunView, run: ActiveRun): RunView {
  const d = new Draft(view);
  for (const [id, state] of Object.entries(run.node_states)) d.state(id, state);
  for (const m of run.metrics) d.metrics(m);
  return {
    ...view,
    flowName: view.flowName || run.flow_name,
    startedAt: view.startedAt ?? run.started_at,
    path: view.path ?? run.path ?? null,
    nodes: d.nodes,
    edges: d.edges,
  };
}

/** A fresh view of run `runId` of a flow, every node waiting. */
export function startedView(runId: string | null, phase: RunPhase, flowName: string, path: string | null, nodeIds: Iterable<string>): RunView {
  const nodes: Record<string, NodeRun> = {};
  for (const id of nodeIds) nodes[id] = blankNode();
  return { ...emptyView(), runId, phase, flowName, path, nodes };
}

/** The run ended while nobody heard how: it is no longer in progress, nothing more. */
export function markLost(view: RunView, at: number): RunView {
  if (view.phase !== "running") return view;
  const d = new Draft(view);
  for (const [id, n] of Object.entries(d.nodes)) if (!isTerminal(n.state)) d.setNode(id, { ...n, rowsPerSec: 0 });
  const entry: LogEntry = { id: view.nextLogId, at, level: "warn", kind: "run_lost" };
  return { ...view, phase: "finished", nodes: d.nodes, nextLogId: view.nextLogId + 1, ...appendLogs(view, [entry]) };
}
