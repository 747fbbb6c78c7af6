import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { act, cleanup, render } from "@testing-library/react";
import { ReactFlowProvider } from "@xyflow/react";
import catalogDoc from "../api/generated/catalog.json";
import type { CatalogKind } from "../api/generated";
import i18n from "../i18n";
import { buildLargeFlow } from "../lib/devFlow";
import { wouldCycle } from "../store/docOps";
import { resetFlowStore, useFlow } from "../store/flowStore";
import { Canvas, toRfEdge } from "./Canvas";
import { KIND_ICONS } from "./icons";

const catalog = (catalogDoc as unknown as { kinds: CatalogKind[] }).kinds;

beforeAll(async () => {
  await i18n.changeLanguage("en");
});
beforeEach(() => {
  resetFlowStore();
  useFlow.getState().setCatalog(catalog);
});
afterEach(cleanup);

function renderCanvas() {
  return render(
    <div style={{ width: 1200, height: 800 }}>
      <ReactFlowProvider>
        <Canvas onlyRenderVisible={false} />
      </ReactFlowProvider>
    </div>,
  );
}

describe("the 300-node dev flow", () => {
  it("is a valid document: unique ids, edges between existing ports, no loop", () => {
    const flow = buildLargeFlow(300, catalog);
    expect(flow.nodes).toHaveLength(300);
    const ids = new Set(flow.nodes.map((n) => n.id));
    expect(ids.size).toBe(300);
    const kinds = new Map(catalog.map((k) => [k.kind, k]));
    for (const e of flow.edges) {
      const from = flow.nodes.find((n) => n.id === e.from)!;
      const to = flow.nodes.find((n) => n.id === e.to)!;
      expect(kinds.get(from.kind)!.ports.outputs.map((p) => p.name)).toContain(e.from_port);
      expect(kinds.get(to.kind)!.ports.inputs.map((p) => p.name)).toContain(e.to_port);
      expect(wouldCycle(flow.edges.filter((x) => x !== e), e.from, e.to)).toBe(false);
    }
    expect(flow.edges.length).toBe(270);
  });

  it("renders in jsdom with a node element per node and its handles", () => {
    useFlow.getState().load(buildLargeFlow(300, catalog), null);
    const { container } = renderCanvas();
    expect(container.querySelectorAll(".react-flow__node-flow")).toHaveLength(300);
    expect(container.querySelectorAll("[data-testid^='node-csv_source_']")).toHaveLength(30);
    // Every port is a handle: csv_source has out + error, csv_sink has in.
    const source = container.querySelector("[data-testid='node-csv_source_1']")!;
    expect([...source.querySelectorAll(".react-flow__handle")].map((h) => h.getAttribute("data-handleid"))).toEqual(["out", "error"]);
    expect(source.querySelector(".fh--error")).not.toBeNull();
  });
});

describe("node rendering", () => {
  it("marks a node the check found problems in, with the count", () => {
    useFlow.getState().load(
      {
        version: 1,
        name: "t",
        nodes: [{ id: "f", kind: "filter", title: "Urgent only", config: { condition: "" }, position: { x: 0, y: 0 } }],
        edges: [],
      },
      null,
    );
    const { container, getByTestId } = renderCanvas();
    const node = getByTestId("node-f");
    expect(node.className).not.toContain("has-errors");
    expect(node.textContent).toContain("Urgent only");
    expect(node.textContent).toContain("Filter rows");
    act(() =>
      useFlow.getState().setCheck(
        [
          { severity: "error", code: "config", message: "condition is empty", node_id: "f", field: "condition" },
          { severity: "warning", code: "unconnected", message: "input in is not connected", node_id: "f" },
        ],
        {},
      ),
    );
    expect(node.className).toContain("has-errors");
    expect(getByTestId("node-problems-f").textContent).toBe("2");
    expect(container.querySelectorAll(".fh--in")).toHaveLength(1);
  });

  it("draws the ports the planner reports for the node's config (route rules add outputs)", () => {
    useFlow.getState().load(
      { version: 1, name: "t", nodes: [{ id: "r", kind: "route", config: {}, position: { x: 0, y: 0 } }], edges: [] },
      null,
    );
    const { getByTestId } = renderCanvas();
    const handles = () => [...getByTestId("node-r").querySelectorAll(".react-flow__handle-right")].map((h) => h.getAttribute("data-handleid"));
    expect(handles()).toEqual(["default", "error"]);
    act(() =>
      useFlow.getState().setCheck([], {
        r: {
          ports: {
            inputs: [{ name: "in", required: true, description: "" }],
            outputs: [
              { name: "vip", description: "" },
              { name: "error", description: "" },
              { name: "default", description: "" },
            ],
          },
          inputs: {},
          outputs: {},
        },
      }),
    );
    // The error output always comes last.
    expect(handles()).toEqual(["vip", "default", "error"]);
  });

  it("dashes and reddens edges leaving an error port", () => {
    const normal = toRfEdge({ from: "a", from_port: "out", to: "b", to_port: "in" }, false);
    const error = toRfEdge({ from: "a", from_port: "error", to: "c", to_port: "in" }, false);
    expect(normal).toMatchObject({ source: "a", sourceHandle: "out", target: "b", targetHandle: "in", type: "smoothstep", className: "fe" });
    expect(error.className).toContain("fe--error");
    expect(normal.id).not.toBe(error.id);
  });
});

describe("icons", () => {
  it("has an icon for every kind in the catalog", () => {
    const missing = catalog.filter((k) => !KIND_ICONS[k.icon]).map((k) => `${k.kind}: ${k.icon}`);
    expect(missing).toEqual([]);
  });
});
