// The canonical round trip: a real flow file opened into the editor and exported again is
// the same JSON, key for key and in the same order, so the engine's canonical writer gives
// back the same bytes. Edits that are undone, or undone by hand, leave it so too.
import { beforeEach, describe, expect, it } from "vitest";
import { listFiles, readText, repoDir, repoRelative } from "../../scripts/repo-files.mjs";
import catalogDoc from "../api/generated/catalog.json";
import type { CatalogKind, FlowFile } from "../api/generated";
import { toParam, toRow } from "../params/ParamsDialog";
import { resetFlowStore, useFlow } from "./flowStore";

const catalog = (catalogDoc as unknown as { kinds: CatalogKind[] }).kinds;
const examples = listFiles(`${repoDir}/flows-examples`, (p: string) => p.endsWith(".flow.json"));

beforeEach(() => {
  resetFlowStore();
  useFlow.getState().setCatalog(catalog);
});

describe("flows-examples round trip", () => {
  it("has examples to check", () => {
    expect(examples.length).toBeGreaterThan(5);
  });

  it.each(examples.map((f: string) => [repoRelative(f), f]))("%s loads and exports unchanged", (_name, file) => {
    const text = readText(file);
    const original = JSON.parse(text) as FlowFile;
    const s = useFlow.getState();
    s.load(JSON.parse(text) as FlowFile, file);
    expect(JSON.stringify(useFlow.getState().doc)).toBe(JSON.stringify(original));

    // An edit undone, and a title set and cleared by hand, leave the document as it was.
    const first = original.nodes[0];
    if (first) {
      s.setTitle(first.id, "Changed");
      s.moveNodes(new Map([[first.id, { x: first.position.x + 40, y: first.position.y }]]));
      expect(useFlow.getState().dirty).toBe(true);
      s.undo();
      s.undo();
      expect(JSON.stringify(useFlow.getState().doc)).toBe(JSON.stringify(original));
      expect(useFlow.getState().dirty).toBe(false);
    }
    // The params editor applied without changes keeps every param object as it was.
    for (const p of useFlow.getState().doc.params ?? []) expect(toParam(toRow(p, 0))).toBe(p);
  });
});
