// The Preview tab's data: the first rows leaving one node, from the engine's `preview`
// (which runs only what the node needs and commits nothing, so it works without running
// the whole flow). Answers are numbered; one that arrives after a newer request is dropped.

import { create } from "zustand";
import { call, toAppError } from "../api/client";
import type { Diagnostic, PreviewRows } from "../api/generated";
import { useFlow } from "../store/flowStore";
import { paramsFor } from "./session";

export const PREVIEW_ROW_CHOICES = [100, 500, 1000, 5000, 10000] as const;
export const DEFAULT_PREVIEW_ROWS = 500;

export interface PreviewState {
  nodeId: string | null;
  rows: number;
  status: "idle" | "loading" | "done" | "failed" | "cancelled";
  result: PreviewRows | null;
  error: { kind: string; message: string; diagnostics: Diagnostic[] } | null;
  /** The document the shown rows came from: a later edit makes them stale. */
  doc: unknown;
}

function initial(): PreviewState {
  return { nodeId: null, rows: DEFAULT_PREVIEW_ROWS, status: "idle", result: null, error: null, doc: null };
}

export const usePreview = create<PreviewState>()(() => initial());

let seq = 0;

/** Fetches the first `rows` rows leaving `nodeId` in the flow as it is in the editor. */
export async function loadPreview(nodeId: string, rows = usePreview.getState().rows): Promise<void> {
  const mine = ++seq;
  const sameNode = usePreview.getState().nodeId === nodeId;
  usePreview.setState({ nodeId, rows, status: "loading", error: null, ...(sameNode ? {} : { result: null, doc: null }) });
  const params = await paramsFor("preview");
  if (mine !== seq) return;
  if (params === null) {
    usePreview.setState({ status: "cancelled" });
    return;
  }
  const { doc, path } = useFlow.getState();
  try {
    const res = await call({ op: "preview", flow: doc, ...(path ? { path } : {}), ...(Object.keys(params).length ? { params } : {}), node_id: nodeId, rows });
    if (mine !== seq) return;
    const { op: _op, ...result } = res;
    usePreview.setState({ status: "done", result, error: null, doc });
  } catch (e) {
    if (mine !== seq) return;
    const err = toAppError(e);
    usePreview.setState({ status: "failed", result: null, error: { kind: err.kind, message: err.message, diagnostics: err.diagnostics ?? [] }, doc });
  }
}

export function setPreviewRows(rows: number): void {
  usePreview.setState({ rows });
}

export function resetPreview(): void {
  seq++;
  usePreview.setState(initial(), true);
}
