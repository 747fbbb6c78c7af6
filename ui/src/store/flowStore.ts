// The editor's state: the flow document (exactly the `FlowFile` that is saved), where it
// lives, the snapshot it was last saved as, undo/redo over document changes, and the UI
// state around it (selection, catalog, the latest check, measured node sizes). UI state
// and callbacks never enter the document, and selection or viewport changes are never
// undo steps.
//
// Undo keeps whole documents: every edit produces a new document that shares its
// untouched parts with the previous one, so a snapshot costs a few arrays. A drag or a
// resize is one step (begin/endGesture), and bursts of typing in one field merge into one
// step (`key`, within MERGE_MS).

import { create } from "zustand";
import type { CatalogKind, CanvasNote, Diagnostic, EdgeSpec, FlowFile, NodeDesign, NodeSpec, ParamSpec, Ports, Position, Response } from "../api/generated";
import { defaultConfig } from "../form/defaults";
import { deepEqual } from "../lib/deepEqual";
import * as ops from "./docOps";

export const HISTORY_LIMIT = 200;
export const MERGE_MS = 1000;

export type Info = Extract<Response, { op: "info" }>;

export interface Selection {
  nodes: ReadonlySet<string>;
  edges: ReadonlySet<string>;
  notes: ReadonlySet<string>;
}

export interface NodeProblems {
  errors: number;
  warnings: number;
}

export interface CheckState {
  diagnostics: Diagnostic[];
  designs: Record<string, NodeDesign>;
  byNode: Record<string, NodeProblems>;
  /** `checking` while a check of the current document is on its way. */
  status: "idle" | "checking" | "done" | "failed";
  /** Why the last check could not run (the engine was unreachable). */
  error?: string;
}

/** Where the Problems panel asked the property form to go. `nonce` makes a second click on
 *  the same row scroll again. */
export interface FocusRequest {
  nodeId: string;
  field?: string;
  nonce: number;
}

export interface FlowState {
  doc: FlowFile;
  /** Absolute path of the file, null for a flow never saved. */
  path: string | null;
  /** The document as last opened or saved; `dirty` = `doc` differs from it. */
  saved: FlowFile;
  dirty: boolean;

  past: FlowFile[];
  future: FlowFile[];
  /** The document when the current drag or resize began, null outside one. */
  gestureStart: FlowFile | null;
  lastKey: string | null;
  lastAt: number;

  selection: Selection;
  catalog: CatalogKind[];
  kinds: Record<string, CatalogKind>;
  check: CheckState;
  measured: Record<string, { width: number; height: number }>;
  focus: FocusRequest | null;
  info: Info | null;
  /** Counts documents loaded (new, open), so the canvas fits each one into view. */
  loadCount: number;
}

export interface FlowActions {
  setCatalog(kinds: CatalogKind[]): void;
  setInfo(info: Info): void;
  /** Replaces the document (new, open): history cleared, clean. */
  load(doc: FlowFile, path: string | null, diagnostics?: Diagnostic[]): void;
  /** The document `doc` was written to `path`; clean if nothing changed since. */
  markSaved(doc: FlowFile, path: string): void;

  addNode(kind: string, position: Position): string;
  moveNodes(positions: ReadonlyMap<string, Position>): void;
  updateConfig(id: string, config: unknown): void;
  setTitle(id: string, title: string): void;
  setNote(id: string, note: string): void;
  setErrorPolicy(id: string, policy: NodeSpec["error_policy"] | undefined): void;
  /** Renames a node; returns why it cannot, or null once done. */
  renameNode(from: string, to: string): ops.IdProblem | null;
  connect(edge: EdgeSpec): ops.ConnectProblem | null;
  disconnect(keys: Iterable<string>): void;
  deleteSelection(): void;
  paste(clip: ops.ClipboardContent, offset: Position): void;
  setParams(params: ParamSpec[]): void;
  setFlowText(key: "name" | "description", text: string): void;
  applyLayout(positions: ReadonlyMap<string, Position>): void;
  addNote(position: Position, text: string): string;
  updateNote(id: string, patch: Partial<Omit<CanvasNote, "id">>, key?: string): void;

  beginGesture(): void;
  endGesture(): void;
  /** Ends the current typing burst, so the next edit is an undo step of its own. */
  sealHistory(): void;
  undo(): void;
  redo(): void;

  select(sel: Partial<{ nodes: Iterable<string>; edges: Iterable<string>; notes: Iterable<string> }>, additive?: boolean): void;
  /** Selection changes reported by the canvas (clicks, box select), applied at once. */
  applySelection(changes: ReadonlyArray<{ kind: keyof Selection; id: string; selected: boolean }>): void;
  selectAll(): void;
  clearSelection(): void;
  focusProblem(nodeId: string, field?: string): void;

  setChecking(): void;
  setCheck(diagnostics: Diagnostic[], designs: Record<string, NodeDesign>): void;
  setCheckFailed(message: string): void;
  setMeasured(changes: Array<{ id: string; width: number; height: number }>): void;

  /** A node's ports as the planner last saw them, else its kind's static ports. */
  portsOf(id: string): Ports | undefined;
}

export type FlowStore = FlowState & FlowActions;

const EMPTY_SELECTION: Selection = { nodes: new Set(), edges: new Set(), notes: new Set() };

function problemsByNode(diagnostics: Diagnostic[]): Record<string, NodeProblems> {
  const out: Record<string, NodeProblems> = {};
  for (const d of diagnostics) {
    if (!d.node_id) continue;
    const p = (out[d.node_id] ??= { errors: 0, warnings: 0 });
    if (d.severity === "warning") p.warnings++;
    else p.errors++;
  }
  return out;
}

/** The same problem found twice (by the schema check and the kind's own check) is shown once. */
function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out = diagnostics.filter((d) => {
    const key = JSON.stringify([d.severity, d.code, d.node_id, d.field, d.message, d.line, d.column]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return out.length === diagnostics.length ? diagnostics : out;
}

function pruneSelection(sel: Selection, doc: FlowFile): Selection {
  const ids = new Set(doc.nodes.map((n) => n.id));
  const edges = new Set(doc.edges.map(ops.edgeKey));
  const notes = new Set((doc.notes ?? []).map((n) => n.id));
  const keep = (set: ReadonlySet<string>, valid: Set<string>) => {
    const out = new Set([...set].filter((x) => valid.has(x)));
    return out.size === set.size ? set : out;
  };
  const next = { nodes: keep(sel.nodes, ids), edges: keep(sel.edges, edges), notes: keep(sel.notes, notes) };
  return next.nodes === sel.nodes && next.edges === sel.edges && next.notes === sel.notes ? sel : next;
}

function initialState(): FlowState {
  const doc = ops.emptyFlow();
  return {
    doc,
    path: null,
    saved: doc,
    dirty: false,
    past: [],
    future: [],
    gestureStart: null,
    lastKey: null,
    lastAt: 0,
    selection: EMPTY_SELECTION,
    catalog: [],
    kinds: {},
    check: { diagnostics: [], designs: {}, byNode: {}, status: "idle" },
    measured: {},
    focus: null,
    info: null,
    loadCount: 0,
  };
}

export const useFlow = create<FlowStore>()((set, get) => {
  /** Makes `next` the document as one undo step (or part of the current step). */
  const commit = (next: FlowFile, key?: string, extra?: Partial<FlowState>) => {
    const s = get();
    if (next === s.doc) {
      if (extra) set(extra);
      return;
    }
    const now = Date.now();
    let past = s.past;
    if (s.gestureStart === null) {
      const merge = key !== undefined && s.lastKey === key && now - s.lastAt < MERGE_MS;
      if (!merge) past = [...past.slice(-(HISTORY_LIMIT - 1)), s.doc];
    }
    set({ doc: next, past, future: [], lastKey: key ?? null, lastAt: now, dirty: !deepEqual(next, s.saved), ...extra });
  };

  return {
    ...initialState(),

    setCatalog(kinds) {
      set({ catalog: kinds, kinds: Object.fromEntries(kinds.map((k) => [k.kind, k])) });
    },
    setInfo(info) {
      set({ info });
    },

    load(doc, path, diagnostics) {
      set({
        doc,
        path,
        saved: doc,
        dirty: false,
        past: [],
        future: [],
        gestureStart: null,
        lastKey: null,
        selection: EMPTY_SELECTION,
        measured: {},
        focus: null,
        loadCount: get().loadCount + 1,
        check: {
          diagnostics: dedupe(diagnostics ?? []),
          designs: {},
          byNode: problemsByNode(dedupe(diagnostics ?? [])),
          status: "idle",
        },
      });
    },

    markSaved(doc, path) {
      const s = get();
      set({ saved: doc, path, dirty: !deepEqual(s.doc, doc) });
    },

    addNode(kind, position) {
      const s = get();
      const schema = s.kinds[kind]?.config_schema;
      const config = schema ? defaultConfig(schema) : {};
      const { doc, id } = ops.addNode(s.doc, kind, position, config);
      commit(doc, undefined, { selection: { nodes: new Set([id]), edges: new Set(), notes: new Set() } });
      return id;
    },

    moveNodes(positions) {
      commit(ops.moveNodes(get().doc, positions), "move");
    },

    updateConfig(id, config) {
      const cfg = typeof config === "object" && config !== null && !Array.isArray(config) ? (config as Record<string, unknown>) : {};
      commit(ops.setNodeConfig(get().doc, id, cfg), `config:${id}`);
    },

    setTitle(id, title) {
      commit(ops.setNodeText(get().doc, id, "title", title), `title:${id}`);
    },

    setNote(id, note) {
      commit(ops.setNodeText(get().doc, id, "note", note), `note:${id}`);
    },

    setErrorPolicy(id, policy) {
      commit(
        ops.updateNode(get().doc, id, (n) => {
          if (deepEqual(n.error_policy, policy)) return n;
          const next = { ...n };
          if (policy === undefined) delete next.error_policy;
          else next.error_policy = policy;
          return next;
        }),
      );
    },

    renameNode(from, to) {
      const s = get();
      const problem = ops.idProblem(s.doc, from, to);
      if (problem) return problem;
      if (from === to) return null;
      const rename = (set: ReadonlySet<string>) => (set.has(from) ? new Set([...set].map((x) => (x === from ? to : x))) : set);
      const renameKeys = <T,>(rec: Record<string, T>): Record<string, T> => {
        if (!(from in rec)) return rec;
        const out: Record<string, T> = {};
        for (const [k, v] of Object.entries(rec)) out[k === from ? to : k] = v;
        return out;
      };
      const doc = ops.renameNode(s.doc, from, to);
      const edgeKeys = new Set(
        [...s.selection.edges].map((k) => {
          const e = s.doc.edges.find((x) => ops.edgeKey(x) === k);
          if (!e) return k;
          return ops.edgeKey({ ...e, from: e.from === from ? to : e.from, to: e.to === from ? to : e.to });
        }),
      );
      commit(doc, undefined, {
        selection: { nodes: rename(s.selection.nodes), edges: edgeKeys, notes: s.selection.notes },
        measured: renameKeys(s.measured),
        // Keep ports and markers on the renamed node until the next check answers.
        check: {
          ...s.check,
          designs: renameKeys(s.check.designs),
          byNode: renameKeys(s.check.byNode),
          diagnostics: s.check.diagnostics.map((d) => (d.node_id === from ? { ...d, node_id: to } : d)),
        },
      });
      return null;
    },

    connect(edge) {
      const s = get();
      const problem = ops.connectProblem(s.doc, edge, (id) => s.portsOf(id));
      if (problem) return problem;
      commit(ops.addEdge(s.doc, edge));
      return null;
    },

    disconnect(keys) {
      const s = get();
      commit(ops.removeEdges(s.doc, new Set(keys)));
      set({ selection: pruneSelection(get().selection, get().doc) });
    },

    deleteSelection() {
      const s = get();
      const { nodes, edges, notes } = s.selection;
      if (nodes.size + edges.size + notes.size === 0) return;
      commit(ops.removeItems(s.doc, nodes, edges, notes), undefined, { selection: EMPTY_SELECTION });
    },

    paste(clip, offset) {
      const s = get();
      const out = ops.paste(s.doc, clip, offset);
      commit(out.doc, undefined, { selection: { nodes: new Set(out.nodeIds), edges: new Set(), notes: new Set(out.noteIds) } });
    },

    setParams(params) {
      commit(ops.setParams(get().doc, params));
    },

    setFlowText(key, text) {
      commit(ops.setFlowText(get().doc, key, text), `flow:${key}`);
    },

    applyLayout(positions) {
      get().sealHistory();
      commit(ops.moveNodes(get().doc, positions));
    },

    addNote(position, text) {
      const { doc, id } = ops.addNote(get().doc, position, text);
      commit(doc, undefined, { selection: { nodes: new Set(), edges: new Set(), notes: new Set([id]) } });
      return id;
    },

    updateNote(id, patch, key) {
      commit(ops.updateNote(get().doc, id, patch), key);
    },

    beginGesture() {
      const s = get();
      if (s.gestureStart === null) set({ gestureStart: s.doc, lastKey: null });
    },

    endGesture() {
      const s = get();
      if (s.gestureStart === null) return;
      const changed = s.gestureStart !== s.doc;
      set({
        gestureStart: null,
        lastKey: null,
        past: changed ? [...s.past.slice(-(HISTORY_LIMIT - 1)), s.gestureStart] : s.past,
        future: changed ? [] : s.future,
      });
    },

    sealHistory() {
      if (get().lastKey !== null) set({ lastKey: null });
    },

    undo() {
      const s = get();
      if (s.gestureStart !== null) s.endGesture();
      const cur = get();
      const prev = cur.past[cur.past.length - 1];
      if (!prev) return;
      set({
        doc: prev,
        past: cur.past.slice(0, -1),
        future: [cur.doc, ...cur.future],
        lastKey: null,
        dirty: !deepEqual(prev, cur.saved),
        selection: pruneSelection(cur.selection, prev),
      });
    },

    redo() {
      const s = get();
      const next = s.future[0];
      if (!next) return;
      set({
        doc: next,
        past: [...s.past, s.doc],
        future: s.future.slice(1),
        lastKey: null,
        dirty: !deepEqual(next, s.saved),
        selection: pruneSelection(s.selection, next),
      });
    },

    select(sel, additive = false) {
      const s = get();
      const merge = (cur: ReadonlySet<string>, add?: Iterable<string>) => (additive ? new Set([...cur, ...(add ?? [])]) : new Set(add ?? []));
      set({
        selection: { nodes: merge(s.selection.nodes, sel.nodes), edges: merge(s.selection.edges, sel.edges), notes: merge(s.selection.notes, sel.notes) },
        lastKey: null,
      });
    },

    applySelection(changes) {
      const s = get();
      const next: Record<keyof Selection, Set<string> | null> = { nodes: null, edges: null, notes: null };
      for (const c of changes) {
        const cur = next[c.kind] ?? s.selection[c.kind];
        if (cur.has(c.id) === c.selected) continue;
        const set = (next[c.kind] ??= new Set(cur));
        if (c.selected) set.add(c.id);
        else set.delete(c.id);
      }
      if (!next.nodes && !next.edges && !next.notes) return;
      set({
        selection: { nodes: next.nodes ?? s.selection.nodes, edges: next.edges ?? s.selection.edges, notes: next.notes ?? s.selection.notes },
        lastKey: null,
      });
    },

    selectAll() {
      const { doc } = get();
      set({
        selection: {
          nodes: new Set(doc.nodes.map((n) => n.id)),
          edges: new Set(doc.edges.map(ops.edgeKey)),
          notes: new Set((doc.notes ?? []).map((n) => n.id)),
        },
      });
    },

    clearSelection() {
      const s = get();
      if (s.selection.nodes.size + s.selection.edges.size + s.selection.notes.size > 0) set({ selection: EMPTY_SELECTION });
    },

    focusProblem(nodeId, field) {
      set({
        selection: { nodes: new Set([nodeId]), edges: new Set(), notes: new Set() },
        focus: { nodeId, field, nonce: (get().focus?.nonce ?? 0) + 1 },
        lastKey: null,
      });
    },

    setChecking() {
      const s = get();
      if (s.check.status !== "checking") set({ check: { ...s.check, status: "checking" } });
    },

    setCheck(diagnostics, designs) {
      const unique = dedupe(diagnostics);
      set({ check: { diagnostics: unique, designs, byNode: problemsByNode(unique), status: "done" } });
    },

    setCheckFailed(message) {
      set({ check: { ...get().check, status: "failed", error: message } });
    },

    setMeasured(changes) {
      const s = get();
      let measured: FlowState["measured"] | null = null;
      for (const c of changes) {
        const cur = s.measured[c.id];
        if (cur && cur.width === c.width && cur.height === c.height) continue;
        measured ??= { ...s.measured };
        measured[c.id] = { width: c.width, height: c.height };
      }
      if (measured) set({ measured });
    },

    portsOf(id) {
      const s = get();
      const design = s.check.designs[id];
      if (design) return design.ports;
      const node = s.doc.nodes.find((n) => n.id === id);
      return node ? s.kinds[node.kind]?.ports : undefined;
    },
  };
});

/** Back to a fresh editor (tests). */
export function resetFlowStore(): void {
  useFlow.setState(initialState());
}

export const canUndo = (s: FlowState) => s.past.length > 0;
export const canRedo = (s: FlowState) => s.future.length > 0;
