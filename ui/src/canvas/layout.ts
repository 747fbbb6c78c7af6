// Auto-layout: elkjs's layered algorithm, left to right, with each node's ports in their
// drawn order so edges leave and enter where the handles are. Canvas notes stay where they
// are. Runs on the main thread (elk.bundled): a few hundred nodes take well under a second.
// Loaded on first use (elk is over a megabyte and most sessions never auto-layout).

import type { ElkNode } from "elkjs/lib/elk-api";
import type ELKType from "elkjs/lib/elk.bundled.js";
import type { FlowFile, Ports, Position } from "../api/generated";
import { ERROR_PORT } from "./FlowNode";

export const DEFAULT_NODE_SIZE = { width: 208, height: 88 };

let elk: InstanceType<typeof ELKType> | null = null;

export async function computeLayout(
  doc: FlowFile,
  sizeOf: (id: string) => { width: number; height: number } | undefined,
  portsOf: (id: string) => Ports | undefined,
): Promise<Map<string, Position>> {
  if (!elk) {
    const { default: ELK } = await import("elkjs/lib/elk.bundled.js");
    elk = new ELK();
  }
  const portId = (node: string, dir: "in" | "out", port: string) => `${node}\u0000${dir}\u0000${port}`;
  const graph: ElkNode = {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.layered.spacing.nodeNodeBetweenLayers": "90",
      "elk.spacing.nodeNode": "36",
      "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
      "elk.layered.crossingMinimization.semiInteractive": "true",
      "elk.separateConnectedComponents": "true",
      "elk.spacing.componentComponent": "60",
    },
    children: doc.nodes.map((n) => {
      const size = sizeOf(n.id) ?? DEFAULT_NODE_SIZE;
      const ports = portsOf(n.id) ?? { inputs: [], outputs: [] };
      const outputs = [...ports.outputs].sort((a, b) => Number(a.name === ERROR_PORT) - Number(b.name === ERROR_PORT));
      return {
        id: n.id,
        width: size.width,
        height: size.height,
        // Keeps the current vertical order as a hint, so a re-layout does not shuffle rows.
        layoutOptions: { "elk.portConstraints": "FIXED_ORDER", "elk.position": `(${n.position.x}, ${n.position.y})` },
        // ELK numbers ports clockwise from the top: east side top to bottom, then west
        // side bottom to top.
        ports: [
          ...ports.inputs.map((p, i) => ({ id: portId(n.id, "in", p.name), layoutOptions: { "elk.port.side": "WEST", "elk.port.index": String(outputs.length + ports.inputs.length - 1 - i) } })),
          ...outputs.map((p, i) => ({ id: portId(n.id, "out", p.name), layoutOptions: { "elk.port.side": "EAST", "elk.port.index": String(i) } })),
        ],
      };
    }),
    edges: doc.edges
      .filter((e) => doc.nodes.some((n) => n.id === e.from) && doc.nodes.some((n) => n.id === e.to))
      .map((e, i) => ({
        id: `e${i}`,
        sources: [portsOf(e.from)?.outputs.some((p) => p.name === e.from_port) ? portId(e.from, "out", e.from_port) : e.from],
        targets: [portsOf(e.to)?.inputs.some((p) => p.name === e.to_port) ? portId(e.to, "in", e.to_port) : e.to],
      })),
  };
  const out = await elk.layout(graph);
  const positions = new Map<string, Position>();
  for (const c of out.children ?? []) positions.set(c.id, { x: Math.round(c.x ?? 0), y: Math.round(c.y ?? 0) });
  return positions;
}
