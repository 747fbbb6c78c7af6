// Running the open flow from the designer: start (asking for params first), stop, and
// staying attached to the run across everything that can cut the event stream — a page
// reload, a `lagged` signal (the engine dropped events this window was too slow for), a
// stream that silently stopped. In each case `active_runs` is asked again and the view is
// set from its answer; a run belongs to the engine and goes on whatever the page does.

import { call, initTransport, isTauri, onRunEvent, toAppError, type Transport } from "../api/client";
import type { ActiveRun, AppEvent, ParamSpec } from "../api/generated";
import { openFlow } from "../files/actions";
import { t } from "../i18n";
import { toast } from "../lib/toast";
import { useFlow } from "../store/flowStore";
import { showBottomTab } from "./panelStore";
import { askParams } from "./runDialogs";
import {
  applyRunSnapshot,
  attachRun,
  beginStarting,
  cancelStopRequest,
  detachRun,
  flushNow,
  isActivePhase,
  lastRunEventAt,
  markRunLost,
  receiveEvent,
  refuseStart,
  requestStop,
  setForeignEventHandler,
  useRun,
} from "./runStore";

/** How often the watchdog looks, and how long a running run may stay silent (metrics come
 *  every 250 ms) before the designer asks the engine where it is. */
export const WATCHDOG_INTERVAL_MS = 2000;
export const SILENCE_MS = 5000;
/** A run missing from `active_runs` may just have finished: its `run_finished` is on the
 *  way (the engine drops it from the list first). Wait this long for it. */
export const LOST_GRACE_MS = 1500;
/** How long closing the window waits for a stopped run to wind down. */
export const STOP_WAIT_MS = 4000;

const REMEMBERED_RUN_KEY = "sluice.run";

// ---------------------------------------------------------------------------------------
// Params

const paramMemory = new Map<string, Record<string, string>>();

function memoryKey(): string {
  return useFlow.getState().path ?? "";
}

export function paramsWithoutDefault(params: readonly ParamSpec[]): ParamSpec[] {
  return params.filter((p) => p.default === undefined || p.default === null);
}

/** The param values to send: asked for in a dialog when a param has no default (for a
 *  preview, only while one is still unknown). Null when the user cancelled. */
export async function paramsFor(purpose: "run" | "preview"): Promise<Record<string, string> | null> {
  const params = useFlow.getState().doc.params ?? [];
  const names = new Set(params.map((p) => p.name));
  const known: Record<string, string> = {};
  for (const [k, v] of Object.entries(paramMemory.get(memoryKey()) ?? {})) if (names.has(k) && v !== "") known[k] = v;
  const required = paramsWithoutDefault(params);
  if (required.length === 0) return known;
  if (purpose === "preview" && required.every((p) => known[p.name] !== undefined)) return known;
  const values = await askParams(purpose, params, known);
  if (values === null) return null;
  const given: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (v !== "") given[k] = v;
  paramMemory.set(memoryKey(), given);
  return given;
}

// ---------------------------------------------------------------------------------------
// Start and stop

/** Runs the flow as it is in the editor now (unsaved edits included). */
export async function startRun(): Promise<void> {
  if (isActivePhase(useRun.getState().phase)) return;
  const params = await paramsFor("run");
  if (params === null || isActivePhase(useRun.getState().phase)) return;
  const { doc, path } = useFlow.getState();
  beginStarting(doc.name, path, doc.nodes.map((n) => n.id));
  try {
    const res = await call({ op: "start_run", flow: doc, ...(path ? { path } : {}), ...(Object.keys(params).length ? { params } : {}) });
    remember(res.run_id, path);
    // Unless another flow was opened meanwhile: then the run goes on, unshown.
    if (useRun.getState().phase === "starting") attachRun(res.run_id);
  } catch (e) {
    const err = toAppError(e);
    if (useRun.getState().phase === "starting") refuseStart({ kind: err.kind, message: err.message, diagnostics: err.diagnostics ?? [], ...(err.node_id ? { nodeId: err.node_id } : {}) });
    toast({ kind: "error", text: t("run:refused.toast", { message: err.message }) }, 6000);
    showBottomTab("problems");
  }
}

export async function stopRun(): Promise<void> {
  const s = useRun.getState();
  if (s.phase !== "running" || !s.runId) return;
  requestStop();
  try {
    await call({ op: "stop_run", run_id: s.runId });
  } catch (e) {
    const err = toAppError(e);
    if (err.kind === "not_found") {
      // It ended before the stop arrived; its end is on the way or was missed.
      void resync();
      return;
    }
    cancelStopRequest();
    toast({ kind: "error", text: t("run:stopFailed", { message: err.message }) }, 6000);
  }
}

/** Stops the shown run and waits (a little) until it has ended, so its sinks discard their
 *  partial output and the history records it before the window goes. */
export async function stopRunAndWait(timeoutMs = STOP_WAIT_MS): Promise<void> {
  if (!isActivePhase(useRun.getState().phase)) return;
  const ended = new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    const unsubscribe = useRun.subscribe((s) => {
      if (!isActivePhase(s.phase)) done();
    });
    function done() {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    }
  });
  await stopRun();
  flushNow();
  await ended;
}

export function isRunActive(): boolean {
  return isActivePhase(useRun.getState().phase);
}

// ---------------------------------------------------------------------------------------
// Reconnecting

function remember(runId: string, path: string | null) {
  try {
    if (path) sessionStorage.setItem(REMEMBERED_RUN_KEY, JSON.stringify({ runId, path }));
  } catch {
    // Without storage a reload cannot find the run's flow again; the run itself goes on.
  }
}

function forget() {
  try {
    sessionStorage.removeItem(REMEMBERED_RUN_KEY);
  } catch {
    // Nothing kept, nothing to forget.
  }
}

function rememberedPath(): string | null {
  try {
    const raw = sessionStorage.getItem(REMEMBERED_RUN_KEY);
    const v: unknown = raw ? JSON.parse(raw) : null;
    return v && typeof v === "object" && typeof (v as { path?: unknown }).path === "string" ? (v as { path: string }).path : null;
  } catch {
    return null;
  }
}

/** The run in progress of the flow open in the editor, if any: the same file. */
export function runOfOpenFlow(runs: readonly ActiveRun[]): ActiveRun | undefined {
  const path = useFlow.getState().path;
  if (!path) return undefined;
  // The newest, should the same file run twice.
  return [...runs].reverse().find((r) => r.path === path);
}

let resyncing: Promise<void> | null = null;
let resyncAgain = false;
let lostTimer: ReturnType<typeof setTimeout> | null = null;
let firstResync = true;

/** Asks the engine which runs are in progress and sets the view from the answer: the shown
 *  run's latest state, or a run of the open flow to attach to. */
export function resync(): Promise<void> {
  if (resyncing) {
    resyncAgain = true;
    return resyncing;
  }
  resyncing = (async () => {
    do {
      resyncAgain = false;
      await resyncOnce();
    } while (resyncAgain);
  })().finally(() => {
    resyncing = null;
  });
  return resyncing;
}

async function resyncOnce(): Promise<void> {
  let runs: ActiveRun[];
  try {
    runs = (await call({ op: "active_runs" })).runs;
  } catch {
    // The engine is out of reach; the watchdog tries again.
    return;
  }
  flushNow();
  const first = firstResync;
  firstResync = false;
  const s = useRun.getState();
  if (s.phase === "starting") return;
  if (s.phase === "running" && s.runId) {
    const run = runs.find((r) => r.run_id === s.runId);
    if (run) applyRunSnapshot(run);
    else scheduleLostCheck(s.runId);
    return;
  }
  const mine = runOfOpenFlow(runs);
  if (mine) {
    attachRun(mine.run_id, { snapshot: mine });
    return;
  }
  if (first) {
    // A reloaded page starts on an empty flow, or on the one `sluice serve FLOW` named:
    // open the one whose run this tab started, unless the user already changed something.
    const path = rememberedPath();
    const f = useFlow.getState();
    const pristine = !f.dirty && f.path !== path;
    if (path && pristine && runs.some((r) => r.path === path)) await openFlow(path, { skipConfirm: true });
  }
}

function scheduleLostCheck(runId: string) {
  if (lostTimer !== null) return;
  lostTimer = setTimeout(() => {
    lostTimer = null;
    markRunLost(runId);
  }, LOST_GRACE_MS);
}

type LaggedSource = Transport & { onLagged?: (cb: (missed: number) => void) => () => void };

/** The `lagged` signal of the transport: a transport that offers `onLagged` tells it; in the
 *  desktop app it is the window event `lagged`. */
function subscribeLagged(cb: () => void): () => void {
  const transport = initTransport() as LaggedSource;
  if (typeof transport.onLagged === "function") return transport.onLagged(() => cb());
  if (transport.mode === "desktop" && isTauri()) {
    let off: (() => void) | null = null;
    let cancelled = false;
    void import("@tauri-apps/api/event").then(async ({ listen }) => {
      const un = await listen("lagged", () => cb());
      if (cancelled) un();
      else off = un;
    });
    return () => {
      cancelled = true;
      off?.();
    };
  }
  return () => {};
}

/** Listens to run events for as long as the designer is open: folds the shown run's,
 *  attaches to a run of the open flow (at start, after a reload, when a flow is opened,
 *  when another window starts one), and recovers from lost events. Returns the stop. */
export function connectRunEvents(): () => void {
  firstResync = true;
  const unsubscribeEvents = onRunEvent(receiveEvent);
  setForeignEventHandler((e: AppEvent) => {
    // Another window (or tab) started a run: it may be of this flow.
    if (e.event.type === "run_started" && !isActivePhase(useRun.getState().phase)) void resync();
  });
  const unsubscribeLagged = subscribeLagged(() => void resync());

  const watchdog = setInterval(() => {
    const s = useRun.getState();
    if (s.phase === "running" && Date.now() - lastRunEventAt() > SILENCE_MS) void resync();
  }, WATCHDOG_INTERVAL_MS);

  const unsubscribeFlow = useFlow.subscribe((f, prev) => {
    if (f.loadCount === prev.loadCount) return;
    // Another flow is open: the run shown so far is not of it (it goes on in the engine).
    const s = useRun.getState();
    if (s.phase !== "idle" && !(isActivePhase(s.phase) && s.path !== null && s.path === f.path)) detachRun();
    void resync();
  });

  const unsubscribeRun = useRun.subscribe((s, prev) => {
    if (isActivePhase(prev.phase) && !isActivePhase(s.phase)) {
      forget();
      if (lostTimer !== null) {
        clearTimeout(lostTimer);
        lostTimer = null;
      }
    }
  });

  void resync();

  return () => {
    unsubscribeEvents();
    unsubscribeLagged();
    unsubscribeFlow();
    unsubscribeRun();
    setForeignEventHandler(null);
    clearInterval(watchdog);
    if (lostTimer !== null) {
      clearTimeout(lostTimer);
      lostTimer = null;
    }
  };
}

/** Back to a fresh session (tests). */
export function resetRunSession(): void {
  paramMemory.clear();
  resyncAgain = false;
  firstResync = true;
  if (lostTimer !== null) {
    clearTimeout(lostTimer);
    lostTimer = null;
  }
  forget();
}
