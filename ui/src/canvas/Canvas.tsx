// The flow canvas: React Flow in controlled mode over the store's document. Nodes and
// edges are derived from the document, and each derived object is reused while its spec,
// selection and measured size are unchanged, so React Flow re-renders only what changed.
// Every change goes back through store actions (a drag is one undo step); deletion, copy
// and paste are the editor's own (one undo step each), not React Flow's.

import { useCallback, useEffect, useMemo, useRef } from "react";
import {
  Background,
  BackgroundVariant,
  ConnectionLineType,
  Controls,
  MarkerType,
  MiniMap,
  ReactFlow,
  getSmoothStepPath,
  useReactFlow,
  type Connection,
  type ConnectionLineComponentProps,
  type Edge,
  type EdgeChange,
  type FinalConnectionState,
  type IsValidConnection,
  type NodeChange,
  type OnConnectEnd,
} from "@xyflow/react";
import { useTranslation } from "react-i18next";
import type { EdgeSpec, Position } from "../api/generated";
import { t as tr } from "../i18n";
import { toast } from "../lib/toast";
import { connectProblem, edgeKey, roundPosition, type ConnectProblem } from "../store/docOps";
import { useFlow } from "../store/flowStore";
import { RunEdge } from "../run/RunEdge";
import { ERROR_PORT, FlowNode, type FlowRfNode } from "./FlowNode";
import { NOTE_PREFIX, NoteNode, type NoteRfNode } from "./NoteNode";
import { DEFAULT_NODE_SIZE } from "./layout";

export const KIND_MIME = "application/x-sluice-kind";

type RfNode = FlowRfNode | NoteRfNode;

const nodeTypes = { flow: FlowNode, note: NoteNode };
// The smooth-step edge with the rows a run sent across it (the built-in type replaced, so
// edge objects stay as the document makes them).
const edgeTypes = { smoothstep: RunEdge };
const FIT_OPTIONS = { padding: 0.15, maxZoom: 1.25 };
const MULTI_SELECT_KEYS = ["Meta", "Control"];
const MINIMAP_SIZE = { width: 168, height: 112 };
const MINIMAP_COLOURS: Record<string, string> = { source: "#0f9f8f", transform: "#5b6ee1", sink: "#d7892a" };

// ---------------------------------------------------------------------------------------
// Document → React Flow

interface NodeCacheEntry {
  spec: unknown;
  selected: boolean;
  measured: unknown;
  node: RfNode;
}

/** Derives React Flow nodes from the document, reusing the previous object of every node
 *  whose inputs did not change. */
function useRfNodes(): RfNode[] {
  const doc = useFlow((s) => s.doc);
  const selection = useFlow((s) => s.selection);
  const measured = useFlow((s) => s.measured);
  const cache = useRef(new Map<string, NodeCacheEntry>());

  return useMemo(() => {
    const next = new Map<string, NodeCacheEntry>();
    const out: RfNode[] = [];
    for (const spec of doc.nodes) {
      const selected = selection.nodes.has(spec.id);
      const m = measured[spec.id];
      const prev = cache.current.get(spec.id);
      let entry: NodeCacheEntry;
      if (prev && prev.spec === spec && prev.selected === selected && prev.measured === m) entry = prev;
      else {
        const node: FlowRfNode = { id: spec.id, type: "flow", position: spec.position, data: { spec }, selected };
        if (m) node.measured = m;
        entry = { spec, selected, measured: m, node };
      }
      next.set(spec.id, entry);
      out.push(entry.node);
    }
    for (const note of doc.notes ?? []) {
      const id = NOTE_PREFIX + note.id;
      const selected = selection.notes.has(note.id);
      const m = measured[id];
      const prev = cache.current.get(id);
      let entry: NodeCacheEntry;
      if (prev && prev.spec === note && prev.selected === selected && prev.measured === m) entry = prev;
      else {
        const node: NoteRfNode = {
          id,
          type: "note",
          position: note.position,
          data: { note },
          selected,
          width: note.width ?? 200,
          height: note.height ?? 120,
          zIndex: -1,
          dragHandle: ".note__grip",
        };
        if (m) node.measured = m;
        entry = { spec: note, selected, measured: m, node };
      }
      next.set(id, entry);
      out.push(entry.node);
    }
    cache.current = next;
    return out;
  }, [doc.nodes, doc.notes, selection, measured]);
}

interface EdgeCacheEntry {
  spec: EdgeSpec;
  selected: boolean;
  edge: Edge;
}

/** The React Flow edge of a flow edge: smooth-step, and dashed red out of an error port. */
export function toRfEdge(spec: EdgeSpec, selected: boolean): Edge {
  const isError = spec.from_port === ERROR_PORT;
  return {
    id: edgeKey(spec),
    source: spec.from,
    sourceHandle: spec.from_port,
    target: spec.to,
    targetHandle: spec.to_port,
    type: "smoothstep",
    selected,
    className: isError ? "fe fe--error" : "fe",
    markerEnd: { type: MarkerType.ArrowClosed, width: 14, height: 14, color: isError ? "#d92d20" : selected ? "#2563eb" : "#98a2b3" },
  };
}

function useRfEdges(): Edge[] {
  const edges = useFlow((s) => s.doc.edges);
  const selected = useFlow((s) => s.selection.edges);
  const cache = useRef(new Map<string, EdgeCacheEntry>());
  return useMemo(() => {
    const next = new Map<string, EdgeCacheEntry>();
    const out: Edge[] = [];
    for (const spec of edges) {
      const key = edgeKey(spec);
      if (next.has(key)) continue;
      const sel = selected.has(key);
      const prev = cache.current.get(key);
      let entry: EdgeCacheEntry;
      if (prev && prev.spec === spec && prev.selected === sel) entry = prev;
      else {
        entry = { spec, selected: sel, edge: toRfEdge(spec, sel) };
      }
      next.set(key, entry);
      out.push(entry.edge);
    }
    cache.current = next;
    return out;
  }, [edges, selected]);
}

// ---------------------------------------------------------------------------------------
// Connections

function toEdge(c: Connection | Edge): EdgeSpec | null {
  if (!c.source || !c.target || !c.sourceHandle || !c.targetHandle) return null;
  return { from: c.source, from_port: c.sourceHandle, to: c.target, to_port: c.targetHandle };
}

function problemOf(c: Connection | Edge): ConnectProblem | null {
  const e = toEdge(c);
  if (!e) return "notInput";
  const s = useFlow.getState();
  return connectProblem(s.doc, e, (id) => s.portsOf(id));
}

function reasonText(problem: ConnectProblem): string {
  return tr(`canvas.refuse.${problem}`);
}

/** The line drawn while connecting; over a port that refuses, it says why. */
function ConnectionLine({ fromX, fromY, toX, toY, fromPosition, toPosition, connectionStatus, fromNode, fromHandle, toNode, toHandle }: ConnectionLineComponentProps<RfNode>) {
  const [path] = getSmoothStepPath({ sourceX: fromX, sourceY: fromY, sourcePosition: fromPosition, targetX: toX, targetY: toY, targetPosition: toPosition });
  let reason: string | null = null;
  if (connectionStatus === "invalid" && toNode && toHandle) {
    const fromIsOut = fromHandle.type === "source";
    const conn: Connection = fromIsOut
      ? { source: fromNode.id, sourceHandle: fromHandle.id ?? null, target: toNode.id, targetHandle: toHandle.id ?? null }
      : { source: toNode.id, sourceHandle: toHandle.id ?? null, target: fromNode.id, targetHandle: fromHandle.id ?? null };
    const problem = fromHandle.type === toHandle.type ? (fromIsOut ? "notInput" : "notOutput") : problemOf(conn);
    reason = problem ? reasonText(problem) : null;
  }
  return (
    <g className={`connection-line${connectionStatus === "invalid" ? " is-invalid" : ""}`}>
      <path d={path} fill="none" className="connection-line__path" />
      {reason && (
        <text x={toX + 12} y={toY - 12} className="connection-line__reason">
          {reason}
        </text>
      )}
    </g>
  );
}

// ---------------------------------------------------------------------------------------

export interface CanvasProps {
  /** Off in tests, where jsdom has no viewport to cull against. */
  onlyRenderVisible?: boolean;
}

export function Canvas({ onlyRenderVisible = true }: CanvasProps) {
  const { t } = useTranslation("app");
  const rf = useReactFlow<RfNode>();
  const nodes = useRfNodes();
  const edges = useRfEdges();
  const loadCount = useFlow((s) => s.loadCount);
  const empty = useFlow((s) => s.doc.nodes.length === 0 && (s.doc.notes ?? []).length === 0);

  // Each opened document is fitted into view once its nodes are measured; an empty one
  // goes back to 100 % (a fit queued on nothing would zoom onto the first node added).
  useEffect(() => {
    if (loadCount === 0) return;
    const s = useFlow.getState();
    if (s.doc.nodes.length + (s.doc.notes?.length ?? 0) > 0) void rf.fitView(FIT_OPTIONS);
    else void rf.setViewport({ x: 0, y: 0, zoom: 1 });
  }, [loadCount, rf]);

  const onNodesChange = useCallback((changes: NodeChange<RfNode>[]) => {
    const store = useFlow.getState();
    const positions = new Map<string, Position>();
    const notePositions: Array<[string, Position]> = [];
    const measured: Array<{ id: string; width: number; height: number }> = [];
    const selection: Array<{ kind: "nodes" | "notes"; id: string; selected: boolean }> = [];
    for (const c of changes) {
      switch (c.type) {
        case "position":
          if (!c.position) break;
          if (c.id.startsWith(NOTE_PREFIX)) notePositions.push([c.id.slice(NOTE_PREFIX.length), roundPosition(c.position)]);
          else positions.set(c.id, roundPosition(c.position));
          break;
        case "dimensions":
          if (!c.dimensions) break;
          if (c.id.startsWith(NOTE_PREFIX) && c.setAttributes) {
            store.updateNote(c.id.slice(NOTE_PREFIX.length), { width: Math.round(c.dimensions.width), height: Math.round(c.dimensions.height) });
          } else {
            measured.push({ id: c.id, width: c.dimensions.width, height: c.dimensions.height });
          }
          break;
        case "select":
          if (c.id.startsWith(NOTE_PREFIX)) selection.push({ kind: "notes", id: c.id.slice(NOTE_PREFIX.length), selected: c.selected });
          else selection.push({ kind: "nodes", id: c.id, selected: c.selected });
          break;
        default:
          // `remove` comes only from React Flow's own delete key, which is off: the editor
          // deletes through deleteSelection, as one undo step.
          break;
      }
    }
    if (positions.size > 0) store.moveNodes(positions);
    for (const [id, position] of notePositions) store.updateNote(id, { position }, "move");
    if (measured.length > 0) store.setMeasured(measured);
    if (selection.length > 0) store.applySelection(selection);
  }, []);

  const onEdgesChange = useCallback((changes: EdgeChange<Edge>[]) => {
    const selection = changes.flatMap((c) => (c.type === "select" ? [{ kind: "edges" as const, id: c.id, selected: c.selected }] : []));
    if (selection.length > 0) useFlow.getState().applySelection(selection);
  }, []);

  const isValidConnection = useCallback<IsValidConnection>((c) => problemOf(c) === null, []);

  const onConnect = useCallback((c: Connection) => {
    const e = toEdge(c);
    if (!e) return;
    const problem = useFlow.getState().connect(e);
    if (problem) toast({ kind: "warning", text: reasonText(problem) });
  }, []);

  const onConnectEnd = useCallback<OnConnectEnd>((_e, state: FinalConnectionState) => {
    if (state.isValid !== false || !state.toHandle || !state.fromHandle || !state.toNode || !state.fromNode) return;
    if (state.fromHandle.type === state.toHandle.type) {
      toast({ kind: "warning", text: reasonText(state.fromHandle.type === "source" ? "notInput" : "notOutput") });
      return;
    }
    const out = state.fromHandle.type === "source";
    const conn: Connection = out
      ? { source: state.fromNode.id, sourceHandle: state.fromHandle.id ?? null, target: state.toNode.id, targetHandle: state.toHandle.id ?? null }
      : { source: state.toNode.id, sourceHandle: state.toHandle.id ?? null, target: state.fromNode.id, targetHandle: state.fromHandle.id ?? null };
    const problem = problemOf(conn);
    if (problem) toast({ kind: "warning", text: reasonText(problem) });
  }, []);

  const onDragStart = useCallback(() => useFlow.getState().beginGesture(), []);
  const onDragStop = useCallback(() => useFlow.getState().endGesture(), []);

  const onDragOver = useCallback((e: React.DragEvent) => {
    if (!e.dataTransfer.types.includes(KIND_MIME)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  }, []);

  const onDrop = useCallback(
    (e: React.DragEvent) => {
      const kind = e.dataTransfer.getData(KIND_MIME);
      if (!kind) return;
      e.preventDefault();
      const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      useFlow.getState().addNode(kind, { x: p.x - DEFAULT_NODE_SIZE.width / 2, y: p.y - 22 });
    },
    [rf],
  );

  const onPaneClick = useCallback(() => useFlow.getState().sealHistory(), []);

  const minimapColour = useCallback((n: RfNode) => {
    if (n.type === "note") return "#fde68a";
    const kind = useFlow.getState().kinds[(n as FlowRfNode).data.spec.kind];
    return MINIMAP_COLOURS[kind?.category ?? ""] ?? "#94a3b8";
  }, []);

  return (
    <div className="canvas" data-testid="canvas">
      <ReactFlow<RfNode, Edge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        connectionLineComponent={ConnectionLine}
        connectionLineType={ConnectionLineType.SmoothStep}
        onNodeDragStart={onDragStart}
        onNodeDragStop={onDragStop}
        onSelectionDragStart={onDragStart}
        onSelectionDragStop={onDragStop}
        onDragOver={onDragOver}
        onDrop={onDrop}
        onPaneClick={onPaneClick}
        deleteKeyCode={null}
        selectionKeyCode="Shift"
        multiSelectionKeyCode={MULTI_SELECT_KEYS}
        selectionOnDrag={false}
        onlyRenderVisibleElements={onlyRenderVisible}
        minZoom={0.1}
        maxZoom={2}
        elevateEdgesOnSelect
        proOptions={{ hideAttribution: true }}
        defaultEdgeOptions={{ type: "smoothstep" }}
      >
        <Background variant={BackgroundVariant.Dots} gap={18} size={1.2} color="#cbd2dc" />
        <Controls showInteractive={false} position="bottom-left" />
        <MiniMap pannable zoomable nodeColor={minimapColour} nodeStrokeWidth={0} maskColor="rgba(241,243,246,0.7)" position="bottom-right" style={MINIMAP_SIZE} />
      </ReactFlow>
      {empty && (
        <div className="canvas__empty" data-testid="canvas-empty">
          <div className="canvas__empty-title">{t("canvas.emptyTitle")}</div>
          <div className="canvas__empty-text">{t("canvas.emptyText")}</div>
        </div>
      )}
    </div>
  );
}
