// Pure operations on the flow document. Every function returns a new document sharing all
// untouched parts with the old one (so undo snapshots are cheap and the dirty check
// short-circuits on shared references), and never adds a key the document did not have
// unless the edit is about that key: a flow that is opened and saved unchanged must come
// back byte-identical from the engine's canonical writer.

import { deepEqual } from "../lib/deepEqual";
import type { CanvasNote, EdgeSpec, FlowFile, NodeSpec, ParamSpec, Ports, Position } from "../api/generated";

export const NODE_ID_PATTERN = /^[A-Za-z0-9_-]+$/;
export const PARAM_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function emptyFlow(name = "untitled"): FlowFile {
  return { version: 1, name, nodes: [], edges: [] };
}

// ---------------------------------------------------------------------------------------
// Ids

/** `base_n` with the smallest n ≥ 1 not in `taken`. */
export function uniqueId(base: string, taken: ReadonlySet<string>): string {
  const clean = base.replace(/[^A-Za-z0-9_-]/g, "_") || "node";
  for (let n = 1; ; n++) {
    const id = `${clean}_${n}`;
    if (!taken.has(id)) return id;
  }
}

/** An id for a pasted copy of `id`: itself when free, else the next free `stem_n`. */
export function pastedId(id: string, taken: ReadonlySet<string>): string {
  if (!taken.has(id)) return id;
  const stem = id.replace(/_\d+$/, "");
  return uniqueId(stem, taken);
}

export function nodeIds(doc: FlowFile): Set<string> {
  return new Set(doc.nodes.map((n) => n.id));
}

export type IdProblem = "empty" | "pattern" | "taken";

/** Why `id` cannot be the new id of node `current`, or null when it can. */
export function idProblem(doc: FlowFile, current: string, id: string): IdProblem | null {
  if (id === "") return "empty";
  if (!NODE_ID_PATTERN.test(id)) return "pattern";
  if (id !== current && doc.nodes.some((n) => n.id === id)) return "taken";
  return null;
}

// ---------------------------------------------------------------------------------------
// Edges

export function edgeKey(e: EdgeSpec): string {
  return `${e.from}\u0000${e.from_port}\u0000${e.to}\u0000${e.to_port}`;
}

export function sameEdge(a: EdgeSpec, b: EdgeSpec): boolean {
  return a.from === b.from && a.from_port === b.from_port && a.to === b.to && a.to_port === b.to_port;
}

/** Whether `to` already reaches `from` along edges, so an edge from → to would close a loop. */
export function wouldCycle(edges: readonly EdgeSpec[], from: string, to: string): boolean {
  if (from === to) return true;
  const next = new Map<string, string[]>();
  for (const e of edges) {
    const list = next.get(e.from);
    if (list) list.push(e.to);
    else next.set(e.from, [e.to]);
  }
  const seen = new Set<string>([to]);
  const stack = [to];
  while (stack.length) {
    const at = stack.pop()!;
    if (at === from) return true;
    for (const n of next.get(at) ?? []) {
      if (!seen.has(n)) {
        seen.add(n);
        stack.push(n);
      }
    }
  }
  return false;
}

export type ConnectProblem = "selfLoop" | "cycle" | "duplicate" | "notOutput" | "notInput" | "inputTaken" | "unknownNode";

/** Why the edge cannot be added, or null when it can. `portsOf` gives each node's ports as
 *  the planner last saw them (route rules add outputs). */
export function connectProblem(doc: FlowFile, edge: EdgeSpec, portsOf: (id: string) => Ports | undefined): ConnectProblem | null {
  if (edge.from === edge.to) return "selfLoop";
  if (!doc.nodes.some((n) => n.id === edge.from) || !doc.nodes.some((n) => n.id === edge.to)) return "unknownNode";
  const fromPorts = portsOf(edge.from);
  const toPorts = portsOf(edge.to);
  if (fromPorts && !fromPorts.outputs.some((p) => p.name === edge.from_port)) return "notOutput";
  const input = toPorts?.inputs.find((p) => p.name === edge.to_port);
  if (toPorts && !input) return "notInput";
  if (doc.edges.some((e) => sameEdge(e, edge))) return "duplicate";
  if (input && !input.multiple && doc.edges.some((e) => e.to === edge.to && e.to_port === edge.to_port)) return "inputTaken";
  if (wouldCycle(doc.edges, edge.from, edge.to)) return "cycle";
  return null;
}

export function addEdge(doc: FlowFile, edge: EdgeSpec): FlowFile {
  const clean: EdgeSpec = { from: edge.from, from_port: edge.from_port, to: edge.to, to_port: edge.to_port };
  return { ...doc, edges: [...doc.edges, clean] };
}

export function removeEdges(doc: FlowFile, keys: ReadonlySet<string>): FlowFile {
  if (keys.size === 0) return doc;
  const edges = doc.edges.filter((e) => !keys.has(edgeKey(e)));
  return edges.length === doc.edges.length ? doc : { ...doc, edges };
}

// ---------------------------------------------------------------------------------------
// Nodes

export function addNode(doc: FlowFile, kind: string, position: Position, config: Record<string, unknown>): { doc: FlowFile; id: string } {
  const id = uniqueId(kind, nodeIds(doc));
  const node: NodeSpec = { id, kind, config, position: roundPosition(position) };
  return { doc: { ...doc, nodes: [...doc.nodes, node] }, id };
}

export function roundPosition(p: Position): Position {
  return { x: Math.round(p.x), y: Math.round(p.y) };
}

/** Replaces one node through `fn`; the same document when the node is missing or unchanged. */
export function updateNode(doc: FlowFile, id: string, fn: (n: NodeSpec) => NodeSpec): FlowFile {
  const i = doc.nodes.findIndex((n) => n.id === id);
  if (i < 0) return doc;
  const next = fn(doc.nodes[i]);
  if (next === doc.nodes[i]) return doc;
  const nodes = doc.nodes.slice();
  nodes[i] = next;
  return { ...doc, nodes };
}

export function moveNodes(doc: FlowFile, positions: ReadonlyMap<string, Position>): FlowFile {
  if (positions.size === 0) return doc;
  let changed = false;
  const nodes = doc.nodes.map((n) => {
    const p = positions.get(n.id);
    if (!p || (p.x === n.position.x && p.y === n.position.y)) return n;
    changed = true;
    return { ...n, position: { x: p.x, y: p.y } };
  });
  return changed ? { ...doc, nodes } : doc;
}

/** Sets or removes an optional text key of a node (`title`, `note`): empty text removes it,
 *  so a cleared title falls back to the kind's title and leaves no `"title": ""` behind. */
export function setNodeText(doc: FlowFile, id: string, key: "title" | "note", text: string): FlowFile {
  return updateNode(doc, id, (n) => {
    if ((n[key] ?? "") === text) return n;
    const next = { ...n };
    if (text === "") delete next[key];
    else next[key] = text;
    return next;
  });
}

export function setNodeConfig(doc: FlowFile, id: string, config: Record<string, unknown>): FlowFile {
  return updateNode(doc, id, (n) => (n.config === config ? n : { ...n, config }));
}

/** Renames a node; every edge follows. The caller has checked `idProblem`. */
export function renameNode(doc: FlowFile, from: string, to: string): FlowFile {
  if (from === to) return doc;
  const nodes = doc.nodes.map((n) => (n.id === from ? { ...n, id: to } : n));
  const edges = doc.edges.map((e) =>
    e.from === from || e.to === from ? { ...e, from: e.from === from ? to : e.from, to: e.to === from ? to : e.to } : e,
  );
  return { ...doc, nodes, edges };
}

/** Removes nodes (with every edge touching them), edges and canvas notes. */
export function removeItems(doc: FlowFile, nodeIdsToRemove: ReadonlySet<string>, edgeKeys: ReadonlySet<string>, noteIds: ReadonlySet<string>): FlowFile {
  let out = doc;
  if (nodeIdsToRemove.size > 0) {
    out = {
      ...out,
      nodes: out.nodes.filter((n) => !nodeIdsToRemove.has(n.id)),
      edges: out.edges.filter((e) => !nodeIdsToRemove.has(e.from) && !nodeIdsToRemove.has(e.to)),
    };
  }
  out = removeEdges(out, edgeKeys);
  if (noteIds.size > 0 && out.notes) {
    out = { ...out, notes: out.notes.filter((n) => !noteIds.has(n.id)) };
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Canvas notes

export function addNote(doc: FlowFile, position: Position, text: string): { doc: FlowFile; id: string } {
  const taken = new Set((doc.notes ?? []).map((n) => n.id));
  const id = uniqueId("note", taken);
  const note: CanvasNote = { id, text, position: roundPosition(position), width: 200, height: 120 };
  return { doc: { ...doc, notes: [...(doc.notes ?? []), note] }, id };
}

export function updateNote(doc: FlowFile, id: string, patch: Partial<Omit<CanvasNote, "id">>): FlowFile {
  const notes = doc.notes ?? [];
  const i = notes.findIndex((n) => n.id === id);
  if (i < 0) return doc;
  const cur = notes[i];
  const same = (Object.keys(patch) as (keyof typeof patch)[]).every((k) => {
    const a = patch[k];
    const b = cur[k];
    if (k === "position") return (a as Position).x === (b as Position).x && (a as Position).y === (b as Position).y;
    return a === b;
  });
  if (same) return doc;
  const next = notes.slice();
  next[i] = { ...cur, ...patch };
  return { ...doc, notes: next };
}

// ---------------------------------------------------------------------------------------
// Copy and paste

/** What the clipboard carries: whole node specs and the edges among them, so a paste into
 *  another flow (another window, another tab) brings the complete configuration. */
export interface ClipboardContent {
  sluice: "clipboard";
  version: 1;
  nodes: NodeSpec[];
  edges: EdgeSpec[];
  notes: CanvasNote[];
}

export function copySelection(doc: FlowFile, ids: ReadonlySet<string>, noteIds: ReadonlySet<string> = new Set()): ClipboardContent | null {
  const nodes = doc.nodes.filter((n) => ids.has(n.id));
  const notes = (doc.notes ?? []).filter((n) => noteIds.has(n.id));
  if (nodes.length === 0 && notes.length === 0) return null;
  const edges = doc.edges.filter((e) => ids.has(e.from) && ids.has(e.to));
  return { sluice: "clipboard", version: 1, nodes, edges, notes };
}

export function parseClipboard(text: string): ClipboardContent | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const v = value as Partial<ClipboardContent>;
  if (v.sluice !== "clipboard" || !Array.isArray(v.nodes) || !Array.isArray(v.edges)) return null;
  const nodes = v.nodes.filter(
    (n): n is NodeSpec => typeof n === "object" && n !== null && typeof n.id === "string" && typeof n.kind === "string" && typeof n.position === "object",
  );
  const notes = Array.isArray(v.notes) ? v.notes.filter((n): n is CanvasNote => typeof n?.id === "string" && typeof n?.text === "string") : [];
  return { sluice: "clipboard", version: 1, nodes, edges: v.edges, notes };
}

/** Adds the clipboard's nodes, edges and notes, renaming ids that are taken and moving
 *  everything by `offset`. Returns the new ids (for selecting them). */
export function paste(doc: FlowFile, clip: ClipboardContent, offset: Position): { doc: FlowFile; nodeIds: string[]; noteIds: string[] } {
  const taken = nodeIds(doc);
  const renamed = new Map<string, string>();
  const nodes: NodeSpec[] = [];
  for (const n of clip.nodes) {
    const id = pastedId(n.id, taken);
    taken.add(id);
    renamed.set(n.id, id);
    nodes.push({ ...structuredClone(n), id, position: roundPosition({ x: n.position.x + offset.x, y: n.position.y + offset.y }) });
  }
  const edges = clip.edges
    .filter((e) => renamed.has(e.from) && renamed.has(e.to))
    .map((e) => ({ from: renamed.get(e.from)!, from_port: e.from_port, to: renamed.get(e.to)!, to_port: e.to_port }));
  const noteTaken = new Set((doc.notes ?? []).map((n) => n.id));
  const notes: CanvasNote[] = clip.notes.map((n) => {
    const id = pastedId(n.id, noteTaken);
    noteTaken.add(id);
    return { ...n, id, position: roundPosition({ x: n.position.x + offset.x, y: n.position.y + offset.y }) };
  });
  let out: FlowFile = { ...doc, nodes: [...doc.nodes, ...nodes], edges: [...doc.edges, ...edges] };
  if (notes.length > 0) out = { ...out, notes: [...(doc.notes ?? []), ...notes] };
  return { doc: out, nodeIds: nodes.map((n) => n.id), noteIds: notes.map((n) => n.id) };
}

// ---------------------------------------------------------------------------------------
// Flow-level fields

/** Sets `name` / `description`; an emptied description is removed rather than kept as "". */
export function setFlowText(doc: FlowFile, key: "name" | "description", text: string): FlowFile {
  if (key === "name") return doc.name === text ? doc : { ...doc, name: text };
  if ((doc.description ?? "") === text) return doc;
  const next = { ...doc };
  if (text === "") delete next.description;
  else next.description = text;
  return next;
}

/** Replaces the params; an empty list removes the key when the file had none. */
export function setParams(doc: FlowFile, params: ParamSpec[]): FlowFile {
  if (deepEqual(doc.params ?? [], params)) return doc;
  const next = { ...doc };
  if (params.length === 0) delete next.params;
  else next.params = params;
  return next;
}
