// Validation as you edit: 300 ms after the document (or its path) last changed, the engine
// checks the flow as the planner would and the store gets every diagnostic and each
// node's design-time ports and fields. Answers are numbered; one that arrives after a
// newer check was sent is dropped, so a slow answer never overwrites a fresher one.

import { call } from "../api/client";
import type { FlowFile } from "../api/generated";
import { useFlow } from "./flowStore";

export const CHECK_DEBOUNCE_MS = 300;

export interface Checker {
  /** Checks now, without waiting (after open, or in tests). */
  checkNow(): Promise<void>;
  stop(): void;
}

export function startChecking(debounceMs = CHECK_DEBOUNCE_MS): Checker {
  let seq = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;

  const run = async () => {
    timer = null;
    const { doc, path } = useFlow.getState();
    const mine = ++seq;
    useFlow.getState().setChecking();
    try {
      const res = await call({ op: "check_flow", flow: doc as FlowFile, ...(path ? { path } : {}) });
      if (stopped || mine !== seq) return;
      useFlow.getState().setCheck(res.diagnostics, res.nodes);
    } catch (e) {
      if (stopped || mine !== seq) return;
      useFlow.getState().setCheckFailed(e instanceof Error ? e.message : String(e));
    }
  };

  const schedule = () => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    // A change after a check was sent makes that check stale before it answers.
    seq++;
    useFlow.getState().setChecking();
    timer = setTimeout(() => void run(), debounceMs);
  };

  const unsubscribe = useFlow.subscribe((s, prev) => {
    if (s.path !== prev.path || (s.doc !== prev.doc && !onlyLayoutChanged(prev.doc, s.doc))) schedule();
  });

  return {
    checkNow() {
      if (timer) clearTimeout(timer);
      return run();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      unsubscribe();
    },
  };
}

/** Whether two documents differ only in where things sit on the canvas (a drag, a layout,
 *  a canvas note), which cannot change any diagnostic: no check, no flicker while dragging. */
export function onlyLayoutChanged(a: FlowFile, b: FlowFile): boolean {
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof FlowFile>) {
    if (k === "nodes" || k === "notes") continue;
    if (a[k] !== b[k]) return false;
  }
  if (a.nodes === b.nodes) return true;
  if (a.nodes.length !== b.nodes.length) return false;
  for (let i = 0; i < a.nodes.length; i++) {
    const x = a.nodes[i];
    const y = b.nodes[i];
    if (x === y) continue;
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)]) as Set<keyof typeof x>) {
      if (k !== "position" && x[k] !== y[k]) return false;
    }
  }
  return true;
}
