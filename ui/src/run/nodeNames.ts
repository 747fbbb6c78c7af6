// Node names as the canvas shows them (the title, else the kind's name), for the panels
// that list nodes by id.

import { useMemo } from "react";
import { useCatalogText } from "../i18n/catalog";
import { useFlow } from "../store/flowStore";

/** Node names as the canvas shows them (title, else the kind's name). */
export function useNodeNames(): Map<string, string> {
  const nodes = useFlow((s) => s.doc.nodes);
  const kinds = useFlow((s) => s.kinds);
  const text = useCatalogText();
  return useMemo(() => {
    const out = new Map<string, string>();
    for (const n of nodes) out.set(n.id, n.title || (kinds[n.kind] ? text.kindTitle(n.kind, kinds[n.kind].title) : n.kind));
    return out;
  }, [nodes, kinds, text]);
}
