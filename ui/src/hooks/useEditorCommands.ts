// Editor commands that need the canvas viewport (fit, auto-layout, add at the centre,
// show a node), shared by the toolbar, the palette, the Problems panel and the shortcuts.
// Must be used under the app's <ReactFlowProvider>.

import { useCallback, useMemo } from "react";
import { useReactFlow } from "@xyflow/react";
import { computeLayout, DEFAULT_NODE_SIZE } from "../canvas/layout";
import { t } from "../i18n";
import { toast } from "../lib/toast";
import { useFlow } from "../store/flowStore";
import type { Position } from "../api/generated";

const FIT_OPTIONS = { padding: 0.15, maxZoom: 1.25, duration: 200 };

/** Where the canvas is on screen (its centre is where double-clicked kinds land). */
export function canvasRect(): DOMRect | null {
  return document.querySelector(".canvas .react-flow")?.getBoundingClientRect() ?? null;
}

/** The free place nearest to `want` (rings of candidates around it) where a box of `size`
 *  overlaps no node or note, so something added in the middle of the view does not land
 *  on top of what is there. */
export function freeSpot(want: Position, size: { width: number; height: number }): Position {
  const s = useFlow.getState();
  const GAP = 16;
  const boxes = [
    ...s.doc.nodes.map((n) => ({ ...n.position, ...(s.measured[n.id] ?? DEFAULT_NODE_SIZE) })),
    ...(s.doc.notes ?? []).map((n) => ({ ...n.position, width: n.width ?? 200, height: n.height ?? 120 })),
  ];
  const free = (p: Position) =>
    !boxes.some((b) => p.x < b.x + b.width + GAP && p.x + size.width + GAP > b.x && p.y < b.y + b.height + GAP && p.y + size.height + GAP > b.y);
  if (free(want)) return want;
  const STEP = 40;
  for (let ring = 1; ring <= 30; ring++) {
    for (let i = -ring; i <= ring; i++) {
      for (const [dx, dy] of [
        [i, -ring],
        [i, ring],
        [-ring, i],
        [ring, i],
      ]) {
        const p = { x: want.x + dx * STEP, y: want.y + dy * STEP };
        if (free(p)) return p;
      }
    }
  }
  return want;
}

export function useEditorCommands() {
  const rf = useReactFlow();

  const fit = useCallback(() => void rf.fitView(FIT_OPTIONS), [rf]);

  const layout = useCallback(async () => {
    const s = useFlow.getState();
    if (s.doc.nodes.length === 0) return;
    try {
      const positions = await computeLayout(s.doc, (id) => s.measured[id], (id) => useFlow.getState().portsOf(id));
      useFlow.getState().applyLayout(positions);
      requestAnimationFrame(() => void rf.fitView(FIT_OPTIONS));
    } catch (e) {
      toast({ kind: "error", text: t("canvas.layoutFailed", { message: e instanceof Error ? e.message : String(e) }) });
    }
  }, [rf]);

  /** A kind added where the user is looking; a free spot when another node sits there. */
  const addAtCentre = useCallback(
    (kind: string) => {
      const rect = canvasRect();
      const centre = rect
        ? rf.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 })
        : { x: 0, y: 0 };
      const pos = freeSpot({ x: centre.x - DEFAULT_NODE_SIZE.width / 2, y: centre.y - DEFAULT_NODE_SIZE.height / 2 }, DEFAULT_NODE_SIZE);
      return useFlow.getState().addNode(kind, pos);
    },
    [rf],
  );

  const showNode = useCallback(
    (id: string) => {
      const node = rf.getNode(id);
      if (!node) return;
      const w = node.measured?.width ?? DEFAULT_NODE_SIZE.width;
      const h = node.measured?.height ?? DEFAULT_NODE_SIZE.height;
      void rf.setCenter(node.position.x + w / 2, node.position.y + h / 2, { zoom: Math.max(rf.getZoom(), 0.9), duration: 250 });
    },
    [rf],
  );

  const addNoteAtCentre = useCallback(() => {
    const rect = canvasRect();
    const centre = rect ? rf.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 }) : { x: 0, y: 0 };
    return useFlow.getState().addNote(freeSpot({ x: centre.x - 100, y: centre.y - 60 }, { width: 200, height: 120 }), "");
  }, [rf]);

  return useMemo(() => ({ fit, layout, addAtCentre, showNode, addNoteAtCentre }), [fit, layout, addAtCentre, showNode, addNoteAtCentre]);
}
