import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import catalogDoc from "../api/generated/catalog.json";
import type { CatalogKind, FlowFile } from "../api/generated";
import { edgeKey, copySelection, type ClipboardContent } from "./docOps";
import { MERGE_MS, resetFlowStore, useFlow } from "./flowStore";

const catalog = (catalogDoc as unknown as { kinds: CatalogKind[] }).kinds;
const S = () => useFlow.getState();

function chain(): FlowFile {
  return {
    version: 1,
    name: "chain",
    nodes: [
      { id: "src", kind: "csv_source", config: { path: "in.csv" }, position: { x: 0, y: 0 } },
      { id: "keep", kind: "filter", config: { condition: "true" }, position: { x: 300, y: 0 } },
      { id: "out", kind: "csv_sink", config: { path: "out.csv" }, position: { x: 600, y: 0 } },
    ],
    edges: [
      { from: "src", from_port: "out", to: "keep", to_port: "in" },
      { from: "keep", from_port: "out", to: "out", to_port: "in" },
    ],
  };
}

beforeEach(() => {
  resetFlowStore();
  S().setCatalog(catalog);
});
afterEach(() => vi.useRealTimers());

describe("adding nodes", () => {
  it("gives each new node a unique <kind>_<n> id and the kind's minimal config", () => {
    S().load(chain(), null);
    const a = S().addNode("filter", { x: 10.4, y: 20.6 });
    const b = S().addNode("filter", { x: 50, y: 50 });
    expect(a).toBe("filter_1");
    expect(b).toBe("filter_2");
    const node = S().doc.nodes.find((n) => n.id === a)!;
    expect(node.position).toEqual({ x: 10, y: 21 });
    // filter requires `condition`; nothing optional is written.
    expect(Object.keys(node.config)).toEqual(["condition"]);
    expect(node).not.toHaveProperty("title");
    expect([...S().selection.nodes]).toEqual([b]);
  });

  it("skips ids already taken", () => {
    S().load({ ...chain(), nodes: [...chain().nodes, { id: "filter_1", kind: "filter", config: {}, position: { x: 0, y: 0 } }] }, null);
    expect(S().addNode("filter", { x: 0, y: 0 })).toBe("filter_2");
  });
});

describe("connecting", () => {
  it("adds an edge from an output to an input", () => {
    S().load(chain(), null);
    const id = S().addNode("log", { x: 0, y: 0 });
    expect(S().connect({ from: "keep", from_port: "rejected", to: id, to_port: "in" })).toBeNull();
    expect(S().doc.edges).toContainEqual({ from: "keep", from_port: "rejected", to: id, to_port: "in" });
  });

  it("refuses a cycle, a self-loop, a duplicate and wrong port directions", () => {
    S().load(chain(), null);
    const before = S().doc;
    expect(S().connect({ from: "out", from_port: "error", to: "src", to_port: "in" })).toBe("notInput");
    const f = S().addNode("filter", { x: 0, y: 0 });
    S().connect({ from: "keep", from_port: "rejected", to: f, to_port: "in" });
    const withF = S().doc;
    expect(S().connect({ from: f, from_port: "out", to: "keep", to_port: "in" })).not.toBeNull();
    expect(S().connect({ from: f, from_port: "out", to: f, to_port: "in" })).toBe("selfLoop");
    expect(S().connect({ from: "src", from_port: "out", to: "keep", to_port: "in" })).toBe("duplicate");
    expect(S().connect({ from: "keep", from_port: "in", to: f, to_port: "in" })).toBe("notOutput");
    expect(S().doc).toBe(withF);
    expect(before.edges).toHaveLength(2);
  });

  it("refuses a loop through several nodes", () => {
    S().load(chain(), null);
    const f = S().addNode("filter", { x: 0, y: 0 });
    S().connect({ from: "keep", from_port: "rejected", to: f, to_port: "in" });
    // keep → f; f → a second input of keep would close keep → f → keep. Use a union to have
    // a multi-input port in the loop.
    const u = S().addNode("union", { x: 0, y: 0 });
    expect(S().connect({ from: f, from_port: "out", to: u, to_port: "in" })).toBeNull();
    const u2 = S().addNode("union", { x: 0, y: 0 });
    expect(S().connect({ from: u, from_port: "out", to: u2, to_port: "in" })).toBeNull();
    expect(S().connect({ from: u2, from_port: "out", to: u, to_port: "in" })).toBe("cycle");
  });
});

describe("deleting", () => {
  it("removes selected nodes with their edges, and selected edges, in one undo step", () => {
    S().load(chain(), null);
    S().select({ nodes: ["keep"] });
    S().deleteSelection();
    expect(S().doc.nodes.map((n) => n.id)).toEqual(["src", "out"]);
    expect(S().doc.edges).toEqual([]);
    expect(S().selection.nodes.size).toBe(0);
    S().undo();
    expect(S().doc).toEqual(chain());

    S().select({ edges: [edgeKey(chain().edges[0])] });
    S().deleteSelection();
    expect(S().doc.edges).toEqual([chain().edges[1]]);
    expect(S().doc.nodes).toHaveLength(3);
  });
});

describe("undo and redo", () => {
  it("walks back and forth through document changes", () => {
    S().load(chain(), null);
    const a = S().addNode("log", { x: 0, y: 0 });
    S().connect({ from: "keep", from_port: "rejected", to: a, to_port: "in" });
    expect(S().doc.edges).toHaveLength(3);
    S().undo();
    expect(S().doc.edges).toHaveLength(2);
    expect(S().doc.nodes).toHaveLength(4);
    S().undo();
    expect(S().doc.nodes).toHaveLength(3);
    S().undo(); // nothing more to undo
    expect(S().doc).toEqual(chain());
    S().redo();
    S().redo();
    expect(S().doc.edges).toHaveLength(3);
    S().undo();
    S().addNode("log", { x: 5, y: 5 });
    expect(S().future).toHaveLength(0);
  });

  it("makes one step of a whole drag, not one per pixel", () => {
    S().load(chain(), null);
    S().beginGesture();
    for (let x = 1; x <= 50; x++) S().moveNodes(new Map([["keep", { x: 300 + x, y: x }]]));
    S().endGesture();
    expect(S().doc.nodes[1].position).toEqual({ x: 350, y: 50 });
    expect(S().past).toHaveLength(1);
    S().undo();
    expect(S().doc.nodes[1].position).toEqual({ x: 300, y: 0 });
  });

  it("leaves no step behind a click that moved nothing", () => {
    S().load(chain(), null);
    S().beginGesture();
    S().endGesture();
    expect(S().past).toHaveLength(0);
  });

  it("merges a burst of typing in one field into one step, but not two separate edits", () => {
    vi.useFakeTimers();
    S().load(chain(), null);
    for (const c of ["a", "ab", "abc"]) S().setTitle("keep", c);
    expect(S().past).toHaveLength(1);
    vi.advanceTimersByTime(MERGE_MS + 10);
    S().setTitle("keep", "abcd");
    expect(S().past).toHaveLength(2);
    S().undo();
    expect(S().doc.nodes[1].title).toBe("abc");
    S().undo();
    expect(S().doc.nodes[1]).not.toHaveProperty("title");
  });

  it("does not count selection as a step", () => {
    S().load(chain(), null);
    S().select({ nodes: ["src"] });
    S().selectAll();
    S().clearSelection();
    expect(S().past).toHaveLength(0);
  });
});

describe("copy and paste", () => {
  it("renames pasted ids that are taken, keeps the edges among them and offsets positions", () => {
    S().load(chain(), null);
    const clip = copySelection(S().doc, new Set(["src", "keep"]))!;
    expect(clip.edges).toEqual([chain().edges[0]]);
    S().paste(JSON.parse(JSON.stringify(clip)) as ClipboardContent, { x: 40, y: 40 });
    const ids = S().doc.nodes.map((n) => n.id);
    expect(ids).toEqual(["src", "keep", "out", "src_1", "keep_1"]);
    expect(S().doc.edges).toContainEqual({ from: "src_1", from_port: "out", to: "keep_1", to_port: "in" });
    expect(S().doc.nodes[3].position).toEqual({ x: 40, y: 40 });
    expect(S().doc.nodes[3].config).toEqual({ path: "in.csv" });
    expect(S().doc.nodes[3].config).not.toBe(S().doc.nodes[0].config);
    expect([...S().selection.nodes]).toEqual(["src_1", "keep_1"]);
    // Again: the next free numbers.
    S().paste(clip, { x: 80, y: 80 });
    expect(S().doc.nodes.slice(5).map((n) => n.id)).toEqual(["src_2", "keep_2"]);
  });

  it("pastes into another flow with the ids as they were", () => {
    const clip = copySelection(chain(), new Set(["keep", "out"]))!;
    S().load({ version: 1, name: "other", nodes: [], edges: [] }, null);
    S().paste(clip, { x: 0, y: 0 });
    expect(S().doc.nodes.map((n) => n.id)).toEqual(["keep", "out"]);
    expect(S().doc.edges).toEqual([chain().edges[1]]);
  });
});

describe("renaming a node", () => {
  it("moves every edge to the new id", () => {
    S().load(chain(), null);
    S().select({ nodes: ["keep"] });
    expect(S().renameNode("keep", "urgent_only")).toBeNull();
    expect(S().doc.nodes[1].id).toBe("urgent_only");
    expect(S().doc.edges).toEqual([
      { from: "src", from_port: "out", to: "urgent_only", to_port: "in" },
      { from: "urgent_only", from_port: "out", to: "out", to_port: "in" },
    ]);
    expect([...S().selection.nodes]).toEqual(["urgent_only"]);
  });

  it("refuses an empty, malformed or taken id", () => {
    S().load(chain(), null);
    expect(S().renameNode("keep", "")).toBe("empty");
    expect(S().renameNode("keep", "has space")).toBe("pattern");
    expect(S().renameNode("keep", "src")).toBe("taken");
    expect(S().doc).toEqual(chain());
  });
});

describe("dirty tracking", () => {
  it("is clean after load, dirty after an edit, clean again after undo or save", () => {
    S().load(chain(), "/tmp/a.flow.json");
    expect(S().dirty).toBe(false);
    S().setTitle("keep", "Urgent");
    expect(S().dirty).toBe(true);
    S().undo();
    expect(S().dirty).toBe(false);
    S().redo();
    expect(S().dirty).toBe(true);
    S().markSaved(S().doc, "/tmp/a.flow.json");
    expect(S().dirty).toBe(false);
  });

  it("stays dirty when the document changed while it was being saved", () => {
    S().load(chain(), null);
    S().setTitle("keep", "A");
    const sent = S().doc;
    S().sealHistory();
    S().setTitle("keep", "B");
    S().markSaved(sent, "/tmp/x.flow.json");
    expect(S().dirty).toBe(true);
    expect(S().path).toBe("/tmp/x.flow.json");
  });

  it("counts an edit undone by hand as clean (the content is what was saved)", () => {
    S().load(chain(), null);
    S().setTitle("keep", "A");
    S().setTitle("keep", "");
    expect(S().doc.nodes[1]).not.toHaveProperty("title");
    expect(S().dirty).toBe(false);
  });
});

describe("params, notes and flow text", () => {
  it("removes an emptied description instead of saving an empty string", () => {
    S().load({ ...chain(), description: "x" }, null);
    S().setFlowText("description", "");
    expect(S().doc).not.toHaveProperty("description");
  });

  it("sets params as one step, and an empty list on a flow without params changes nothing", () => {
    S().load(chain(), null);
    S().setParams([]);
    expect(S().past).toHaveLength(0);
    S().setParams([{ name: "day", type: "date" }]);
    expect(S().doc.params).toEqual([{ name: "day", type: "date" }]);
    S().setParams([]);
    expect(S().doc).not.toHaveProperty("params");
  });

  it("adds, edits and deletes canvas notes", () => {
    S().load(chain(), null);
    const id = S().addNote({ x: 1, y: 2 }, "hello");
    expect(S().doc.notes).toEqual([{ id, text: "hello", position: { x: 1, y: 2 }, width: 200, height: 120 }]);
    S().updateNote(id, { text: "bye" });
    expect(S().doc.notes![0].text).toBe("bye");
    S().select({ notes: [id] });
    S().deleteSelection();
    expect(S().doc.notes).toEqual([]);
  });
});
