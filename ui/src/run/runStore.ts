// The run the designer shows: its view (fold.ts) in a zustand store, fed by run events.
//
// Events are not handed to React one by one: a big run sends a metrics event every 250 ms
// and failed rows and log lines in bursts, and a re-render per event would freeze the
// canvas. They wait in a buffer and are folded into the store at most once every
// FLUSH_INTERVAL_MS (a few times a second), one store update per burst. Components read one
// node or one edge each, and an unchanged node keeps its object, so only what changed
// re-renders.
//
// Events of other runs are kept a little while (`unclaimed`): the engine starts sending a
// run's events before `start_run` has answered with its id, and a page that reconnects
// learns the id from `active_runs` after the stream is already flowing.

import { create } from "zustand";
import type { ActiveRun, AppEvent, Diagnostic } from "../api/generated";
import { applySnapshot, emptyView, foldEvents, markLost, startedView, type RunPhase, type RunView, type TimedEvent } from "./fold";

export const FLUSH_INTERVAL_MS = 150;
/** Events kept per run nobody has claimed yet, and how many such runs. */
const UNCLAIMED_PER_RUN = 2000;
const UNCLAIMED_RUNS = 8;

/** Why the engine would not start the run (an invalid flow, a missing param). */
export interface RunRefusal {
  kind: string;
  message: string;
  nodeId?: string;
  diagnostics: Diagnostic[];
}

export interface RunStoreState extends RunView {
  /** Stop was asked for and the run has not ended yet. */
  stopRequested: boolean;
  refusal: RunRefusal | null;
}

function initialState(): RunStoreState {
  return { ...emptyView(), stopRequested: false, refusal: null };
}

export const useRun = create<RunStoreState>()(() => initialState());

export const isActivePhase = (phase: RunPhase) => phase === "starting" || phase === "running";

// ---------------------------------------------------------------------------------------
// The event buffer

let pending: TimedEvent[] = [];
let flushTimer: ReturnType<typeof setTimeout> | null = null;
let lastFlushAt = Number.NEGATIVE_INFINITY;
const unclaimed = new Map<string, TimedEvent[]>();
let lastEventAt = 0;
/** Called with the events of runs nobody shows (a run started elsewhere). */
let onForeignEvent: ((e: AppEvent) => void) | null = null;

export function setForeignEventHandler(fn: ((e: AppEvent) => void) | null): void {
  onForeignEvent = fn;
}

/** When the shown run last sent anything (or was attached): the watchdog's clock. */
export function lastRunEventAt(): number {
  return lastEventAt;
}

export function touchRunClock(): void {
  lastEventAt = Date.now();
}

/** One event off the stream. Cheap: it is only put aside until the next flush. */
export function receiveEvent(e: AppEvent): void {
  const at = Date.now();
  const s = useRun.getState();
  if (s.runId !== null && e.run_id === s.runId) {
    lastEventAt = at;
    pending.push({ event: e.event, at });
    scheduleFlush();
    return;
  }
  keepUnclaimed(e.run_id, { event: e.event, at });
  onForeignEvent?.(e);
}

function keepUnclaimed(runId: string, ev: TimedEvent) {
  let list = unclaimed.get(runId);
  if (!list) {
    if (unclaimed.size >= UNCLAIMED_RUNS) unclaimed.delete(unclaimed.keys().next().value!);
    list = [];
    unclaimed.set(runId, list);
  }
  list.push(ev);
  // Metrics are snapshots: when the list is full the oldest go first, and a later metrics
  // event or the summary covers them.
  if (list.length > UNCLAIMED_PER_RUN) list.splice(0, list.length - UNCLAIMED_PER_RUN);
}

function scheduleFlush() {
  if (flushTimer !== null) return;
  const wait = Math.max(0, lastFlushAt + FLUSH_INTERVAL_MS - Date.now());
  flushTimer = setTimeout(flushNow, wait);
}

/** Folds every buffered event into the store now. */
export function flushNow(): void {
  if (flushTimer !== null) {
    clearTimeout(flushTimer);
    flushTimer = null;
  }
  lastFlushAt = Date.now();
  if (pending.length === 0) return;
  const batch = pending;
  pending = [];
  useRun.setState((s) => {
    const next = foldEvents(s, batch);
    return isActivePhase(next.phase) ? next : { ...next, stopRequested: false };
  });
}

/** Events buffered and not yet in the store (tests, and the flush before a resync). */
export function pendingCount(): number {
  return pending.length;
}

// ---------------------------------------------------------------------------------------
// Which run is shown

/** Shows a run the designer is about to start: every node waiting, no run id yet. */
export function beginStarting(flowName: string, path: string | null, nodeIds: Iterable<string>): void {
  dropPending();
  useRun.setState({ ...startedView(null, "starting", flowName, path, nodeIds), stopRequested: false, refusal: null });
}

/** The start was refused: back to nothing shown, with why. */
export function refuseStart(refusal: RunRefusal): void {
  dropPending();
  useRun.setState({ ...initialState(), refusal });
}

export function clearRefusal(): void {
  if (useRun.getState().refusal) useRun.setState({ refusal: null });
}

/** Shows run `runId` from now on, with what was heard of it before (and, when reconnecting,
 *  the engine's snapshot of it). */
export function attachRun(runId: string, opts: { snapshot?: ActiveRun; flowName?: string; path?: string | null; nodeIds?: Iterable<string> } = {}): void {
  dropPending();
  const s = useRun.getState();
  // A start keeps the waiting nodes it already shows; a reconnect starts from the snapshot.
  const base: RunView =
    s.phase === "starting" && !opts.snapshot
      ? { ...s, runId, phase: "running" }
      : startedView(runId, "running", opts.flowName ?? opts.snapshot?.flow_name ?? "", opts.path ?? opts.snapshot?.path ?? null, opts.nodeIds ?? []);
  let view = opts.snapshot ? applySnapshot(base, opts.snapshot) : base;
  const heard = unclaimed.get(runId);
  unclaimed.delete(runId);
  if (heard) view = foldEvents(view, heard);
  lastEventAt = Date.now();
  useRun.setState({ ...view, stopRequested: false, refusal: null });
}

/** What `active_runs` says about the shown run. */
export function applyRunSnapshot(run: ActiveRun): void {
  flushNow();
  if (useRun.getState().runId !== run.run_id) return;
  lastEventAt = Date.now();
  useRun.setState((s) => applySnapshot(s, run));
}

/** The shown run ended unheard (its `run_finished` was lost). */
export function markRunLost(runId: string): void {
  flushNow();
  if (useRun.getState().runId !== runId) return;
  useRun.setState((s) => ({ ...markLost(s, Date.now()), stopRequested: false }));
}

export function requestStop(): void {
  useRun.setState({ stopRequested: true });
}

export function cancelStopRequest(): void {
  useRun.setState({ stopRequested: false });
}

/** Shows no run (another flow was opened). The run itself goes on in the engine. */
export function detachRun(): void {
  dropPending();
  useRun.setState(initialState());
}

function dropPending() {
  pending = [];
  if (flushTimer !== null) {
    clearTimeout(flushTimer);
    flushTimer = null;
  }
}

/** Back to a fresh store (tests). */
export function resetRunStore(): void {
  dropPending();
  unclaimed.clear();
  lastFlushAt = Number.NEGATIVE_INFINITY;
  lastEventAt = 0;
  onForeignEvent = null;
  useRun.setState(initialState(), true);
}
