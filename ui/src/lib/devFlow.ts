// A large, realistic flow built in code: chains of source → transforms → sink, side by
// side, every node with the config a new node of its kind gets. Used by the 300-node
// rendering test and by the browser end-to-end test (window.__sluice.loadLargeFlow).

import type { CatalogKind, EdgeSpec, FlowFile, NodeSpec } from "../api/generated";
import { defaultConfig } from "../form/defaults";

const CHAIN = ["csv_source", "filter", "compute", "convert", "cleanse", "dedupe", "sort", "mask", "map_fields", "csv_sink"];

export function buildLargeFlow(count = 300, catalog: CatalogKind[] = []): FlowFile {
  const kinds = new Map(catalog.map((k) => [k.kind, k]));
  const nodes: NodeSpec[] = [];
  const edges: EdgeSpec[] = [];
  const perChain = CHAIN.length;
  for (let i = 0; i < count; i++) {
    const chain = Math.floor(i / perChain);
    const step = i % perChain;
    const kind = CHAIN[step];
    const schema = kinds.get(kind)?.config_schema;
    const id = `${kind}_${chain + 1}`;
    nodes.push({ id, kind, config: schema ? defaultConfig(schema) : {}, position: { x: step * 300, y: chain * 140 } });
    // Each node but the first of its chain takes the previous one's main output.
    if (step > 0) {
      const prev = nodes[i - 1];
      edges.push({ from: prev.id, from_port: "out", to: id, to_port: "in" });
    }
  }
  return { version: 1, name: `Large flow (${count} nodes)`, nodes, edges };
}
