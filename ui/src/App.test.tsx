// The whole designer in jsdom over a scripted transport: start-up, palette, selection,
// the properties panel (rename with edges following), problems, undo, and the unsaved mark.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import catalogDoc from "./api/generated/catalog.json";
import type { Request, Response } from "./api/generated";
import { setTransport } from "./api/client";
import i18n from "./i18n";
import { App } from "./App";
import { resetFlowStore, useFlow } from "./store/flowStore";

const requests: Request[] = [];

function scriptedEngine(openOnStart?: string) {
  setTransport({
    mode: "browser",
    subscribe: () => () => {},
    async call(req: Request): Promise<Response> {
      requests.push(req);
      switch (req.op) {
        case "info":
          return { op: "info", version: "test", work_dir: "/w", home_dir: "/h", mode: "browser", platform: "linux", separator: "/", ...(openOnStart ? { open_on_start: openOnStart } : {}) };
        case "catalog":
          return catalogDoc as unknown as Response;
        case "check_flow": {
          const diagnostics = req.flow.nodes
            .filter((n) => n.kind === "filter" && !(n.config as { condition?: string }).condition)
            .map((n) => ({ severity: "error" as const, code: "invalid_config", message: "condition is empty", node_id: n.id, field: "condition" }));
          return { op: "check_flow", diagnostics, nodes: {} };
        }
        case "open_flow":
          return {
            op: "open_flow",
            path: "/w/a.flow.json",
            text: "",
            flow: {
              version: 1,
              name: "Opened",
              nodes: [
                { id: "src", kind: "csv_source", config: { path: "a.csv" }, position: { x: 0, y: 0 } },
                { id: "keep", kind: "filter", config: { condition: "" }, position: { x: 300, y: 0 } },
              ],
              edges: [{ from: "src", from_port: "out", to: "keep", to_port: "in" }],
            },
            diagnostics: [],
          };
        default:
          throw { kind: "bad_request", message: `unexpected ${req.op}` };
      }
    },
  });
}

beforeAll(async () => {
  await i18n.changeLanguage("en");
  // jsdom has no layout: CodeMirror (in the property form) measures text ranges.
  const empty = () => ({ length: 0, item: () => null, [Symbol.iterator]: [][Symbol.iterator] }) as unknown as DOMRectList;
  Range.prototype.getClientRects ??= empty;
  Range.prototype.getBoundingClientRect ??= () => new DOMRect();
});
afterEach(() => {
  cleanup();
  setTransport(null);
  resetFlowStore();
  requests.length = 0;
});

describe("the designer", () => {
  it("starts with a new untitled flow and every toolbar command", async () => {
    scriptedEngine();
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("app-root").dataset.ready).toBe("true"));
    expect((screen.getByTestId("flow-name") as HTMLInputElement).value).toBe("untitled");
    for (const id of ["btn-new", "btn-open", "btn-save", "btn-save-as", "btn-undo", "btn-redo", "btn-layout", "btn-fit", "btn-params", "problems-panel", "props-panel"]) {
      expect(screen.getByTestId(id)).toBeTruthy();
    }
    expect(screen.queryByTestId("dirty-indicator")).toBeNull();
    expect((screen.getByTestId("btn-undo") as HTMLButtonElement).disabled).toBe(true);
  });

  it("adds a kind from the palette, marks the flow unsaved and undoes it", async () => {
    scriptedEngine();
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("app-root").dataset.ready).toBe("true"));
    fireEvent.doubleClick(screen.getByTestId("palette-item-filter"));
    expect(useFlow.getState().doc.nodes.map((n) => n.id)).toEqual(["filter_1"]);
    expect(screen.getByTestId("dirty-indicator")).toBeTruthy();
    // The new node is selected: its properties show.
    expect((screen.getByTestId("node-id-input") as HTMLInputElement).value).toBe("filter_1");
    // The check reports the empty condition: the node shows it, the Problems panel lists it.
    await waitFor(() => expect(screen.getAllByTestId("problem-row")).toHaveLength(1), { timeout: 2000 });
    expect(screen.getByTestId("node-problems-filter_1").textContent).toBe("1");
    fireEvent.click(screen.getByTestId("btn-undo"));
    expect(useFlow.getState().doc.nodes).toEqual([]);
    expect(screen.queryByTestId("dirty-indicator")).toBeNull();
  });

  it("opens the flow named at start and renames a node with its edges following", async () => {
    scriptedEngine("/w/a.flow.json");
    render(<App />);
    await waitFor(() => expect(useFlow.getState().path).toBe("/w/a.flow.json"));
    expect(requests.some((r) => r.op === "open_flow" && r.path === "/w/a.flow.json")).toBe(true);
    act(() => useFlow.getState().select({ nodes: ["keep"] }));
    const id = screen.getByTestId("node-id-input") as HTMLInputElement;
    fireEvent.change(id, { target: { value: "src" } });
    expect(screen.getByTestId("node-id-error").textContent).toContain("src");
    fireEvent.change(id, { target: { value: "urgent" } });
    fireEvent.keyDown(id, { key: "Enter" });
    expect(useFlow.getState().doc.edges).toEqual([{ from: "src", from_port: "out", to: "urgent", to_port: "in" }]);
    const title = screen.getByTestId("node-title-input") as HTMLInputElement;
    fireEvent.change(title, { target: { value: "Urgent only" } });
    expect(useFlow.getState().doc.nodes[1].title).toBe("Urgent only");
    expect(screen.getByTestId("node-urgent").textContent).toContain("Urgent only");
  });

  it("selects the node of a problem row", async () => {
    scriptedEngine("/w/a.flow.json");
    render(<App />);
    await waitFor(() => expect(screen.getAllByTestId("problem-row")).toHaveLength(1), { timeout: 2000 });
    fireEvent.click(screen.getAllByTestId("problem-row")[0]);
    expect([...useFlow.getState().selection.nodes]).toEqual(["keep"]);
    expect(useFlow.getState().focus).toMatchObject({ nodeId: "keep", field: "condition" });
    expect((screen.getByTestId("node-id-input") as HTMLInputElement).value).toBe("keep");
  });

  it("asks before dropping unsaved changes, and keeps them on cancel", async () => {
    scriptedEngine();
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("app-root").dataset.ready).toBe("true"));
    fireEvent.doubleClick(screen.getByTestId("palette-item-log"));
    fireEvent.click(screen.getByTestId("btn-new"));
    await waitFor(() => expect(screen.getByTestId("unsaved-dialog")).toBeTruthy());
    fireEvent.click(screen.getByTestId("unsaved-cancel"));
    await waitFor(() => expect(screen.queryByTestId("unsaved-dialog")).toBeNull());
    expect(useFlow.getState().doc.nodes).toHaveLength(1);
    fireEvent.click(screen.getByTestId("btn-new"));
    await waitFor(() => expect(screen.getByTestId("unsaved-dialog")).toBeTruthy());
    fireEvent.click(screen.getByTestId("unsaved-discard"));
    await waitFor(() => expect(useFlow.getState().doc.nodes).toHaveLength(0));
    expect(useFlow.getState().dirty).toBe(false);
  });

  it("explains a refused start-up", async () => {
    setTransport({
      mode: "browser",
      subscribe: () => () => {},
      call: async () => {
        throw { kind: "unauthorized", message: "missing or wrong token" };
      },
    });
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("startup-error")).toBeTruthy());
    expect(screen.getByTestId("startup-error").textContent).toContain("token");
  });
});
