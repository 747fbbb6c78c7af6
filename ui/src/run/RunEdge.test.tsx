// An edge shows the rows a run sent across it, and only while a run is shown.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { Position, ReactFlow, ReactFlowProvider, type Edge, type Node } from "@xyflow/react";
import i18n from "../i18n";
import { edgeKey } from "../store/docOps";
import { RunEdge } from "./RunEdge";
import { resetRunStore, useRun } from "./runStore";

const spec = { from: "a", from_port: "out", to: "b", to_port: "in" };
// Sizes and handles given up front, as for server rendering: jsdom measures nothing.
const nodes: Node[] = [
  { id: "a", position: { x: 0, y: 0 }, data: {}, width: 100, height: 40, handles: [{ type: "source", position: Position.Right, x: 99, y: 19, width: 2, height: 2, id: "out" }] },
  { id: "b", position: { x: 300, y: 0 }, data: {}, width: 100, height: 40, handles: [{ type: "target", position: Position.Left, x: -1, y: 19, width: 2, height: 2, id: "in" }] },
];
const edges: Edge[] = [{ id: edgeKey(spec), source: "a", sourceHandle: "out", target: "b", targetHandle: "in", type: "smoothstep" }];
const edgeTypes = { smoothstep: RunEdge };

beforeAll(async () => {
  await i18n.changeLanguage("en");
});
afterEach(() => {
  cleanup();
  resetRunStore();
});

describe("the run edge", () => {
  it("draws the line, and labels it with the rows that crossed it during a run", () => {
    const { container } = render(
      <div style={{ width: 800, height: 400 }}>
        <ReactFlowProvider>
          <ReactFlow nodes={nodes} edges={edges} edgeTypes={edgeTypes} />
        </ReactFlowProvider>
      </div>,
    );
    expect(container.querySelector(".react-flow__edge-path")).not.toBeNull();
    expect(screen.queryByTestId("edge-rows-a.out-b.in")).toBeNull();
    act(() => useRun.setState({ phase: "running", runId: "r1", edges: { [edgeKey(spec)]: 1234 } }));
    const label = screen.getByTestId("edge-rows-a.out-b.in");
    expect(label.textContent).toBe("1.2K");
    fireEvent.pointerEnter(label);
    expect(label.title).toBe("1,234 rows crossed this edge");
    expect(container.querySelector(".react-flow__edge-path")!.getAttribute("class")).toContain("fe__path--live");
    act(() => useRun.setState({ phase: "succeeded" }));
    expect(container.querySelector(".react-flow__edge-path")!.getAttribute("class")).not.toContain("fe__path--live");
    expect(screen.getByTestId("edge-rows-a.out-b.in").textContent).toBe("1.2K");
  });
});
