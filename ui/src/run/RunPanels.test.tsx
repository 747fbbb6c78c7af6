// The run experience in the whole designer over a scripted engine: Run and Stop (buttons
// and keys), the params dialog, live node numbers and run status, the Logs tab (filters,
// clicking an entry), the Preview tab, the refused-run notice, and re-attaching at start.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { EditorView } from "@codemirror/view";
import { setTransport } from "../api/client";
import type { ActiveRun, Request, Response } from "../api/generated";
import { App } from "../App";
import i18n from "../i18n";
import { useToasts } from "../lib/toast";
import { resetFlowStore, useFlow } from "../store/flowStore";
import { resetBottomPanel } from "./panelStore";
import { resetPreview } from "./preview";
import { useRunDialogs } from "./runDialogs";
import { resetRunStore, useRun } from "./runStore";
import { resetRunSession } from "./session";
import { fakeEngine, FLOW_PATH, ordersFlow, snap, type FakeEngineOptions } from "./testing/fakeEngine";

beforeAll(async () => {
  await i18n.changeLanguage("en");
  // jsdom has no layout: CodeMirror (in the property form) measures text ranges.
  const empty = () => ({ length: 0, item: () => null, [Symbol.iterator]: [][Symbol.iterator] }) as unknown as DOMRectList;
  Range.prototype.getClientRects ??= empty;
  Range.prototype.getBoundingClientRect ??= () => new DOMRect();
  // Nor scrolling: the property form scrolls to the field an entry names.
  Element.prototype.scrollIntoView ??= () => {};
});
afterEach(() => {
  cleanup();
  resetRunStore();
  resetRunSession();
  resetPreview();
  resetBottomPanel();
  resetFlowStore();
  useRunDialogs.setState({ params: null, stopOnClose: null });
  useToasts.setState({ toasts: [] });
  setTransport(null);
  sessionStorage.clear();
});

async function designer(opts: FakeEngineOptions = {}) {
  const engine = fakeEngine({ openOnStart: FLOW_PATH, ...opts });
  render(<App />);
  await waitFor(() => expect(useFlow.getState().path).toBe(FLOW_PATH));
  await waitFor(() => expect(engine.listenerCount()).toBe(1));
  return engine;
}

const finished = (status: "succeeded" | "failed" | "cancelled", extra: Partial<Extract<Response, { op: "start_run" }>> & Record<string, unknown> = {}) => ({
  type: "run_finished" as const,
  summary: {
    run_id: "run-1",
    flow: "orders",
    status,
    started_at: "2024-01-01T00:00:00Z",
    finished_at: "2024-01-01T00:00:01Z",
    duration_ms: 1500,
    nodes: [snap("src", { state: "done", rows_out: 3 }), snap("keep", { state: "done", rows_in: 3, rows_out: 2 }), snap("out", { state: "done", rows_in: 2 })],
    edges: [],
    ...extra,
  },
});

describe("running from the designer", () => {
  it("runs from the toolbar and shows each node's state and rows live, then how the run ended", async () => {
    const engine = await designer();
    expect(screen.getByTestId("btn-run").title).toContain("F5");
    expect(screen.getByTestId("btn-stop").title).toContain("Shift+F5");
    expect((screen.getByTestId("btn-stop") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByTestId("btn-run"));
    await waitFor(() => expect(engine.of("start_run")).toHaveLength(1));
    await waitFor(() => expect(screen.getByTestId("run-status").dataset.status).toBe("running"));
    // Every node shows as waiting at once.
    expect(screen.getByTestId("node-metrics-out").dataset.state).toBe("waiting");

    act(() => {
      engine.emit({ type: "run_started", run_id: "run-1", flow: "orders", started_at: new Date().toISOString(), nodes: ["src", "keep", "out"] });
      engine.emit({ type: "node_state", node_id: "src", state: "running" });
      engine.emit({ type: "metrics", elapsed_ms: 250, nodes: [snap("src", { state: "running", rows_out: 1200, rows_per_sec: 4800, bytes: 50, total_bytes: 100 })], edges: [] });
    });
    await waitFor(() => expect(screen.getByTestId("node-rows-out-src").textContent).toBe("1200"));
    const src = screen.getByTestId("node-metrics-src");
    expect(src.dataset.state).toBe("running");
    expect(src.textContent).toContain("1200");
    expect(screen.getByTestId("node-progress-src").getAttribute("aria-valuenow")).toBe("50");
    expect(screen.getByTestId("node-src").className).toContain("run-running");
    expect((screen.getByTestId("btn-stop") as HTMLButtonElement).disabled).toBe(false);
    expect((screen.getByTestId("btn-run") as HTMLButtonElement).disabled).toBe(true);

    act(() => engine.emit(finished("succeeded")));
    await waitFor(() => expect(screen.getByTestId("run-status").dataset.status).toBe("succeeded"));
    expect(screen.getByTestId("node-metrics-keep").dataset.state).toBe("done");
    expect(screen.getByTestId("node-rows-out-keep").textContent).toBe("2");
    // The sink writes its rows to its target: it shows rows in, no "out 0".
    expect(screen.getByTestId("node-metrics-out").dataset.state).toBe("done");
    expect(screen.queryByTestId("node-rows-out-out")).toBeNull();
    expect((screen.getByTestId("btn-run") as HTMLButtonElement).disabled).toBe(false);
  });

  it("runs with F5 and Ctrl+Enter, and stops with Shift+F5 and Ctrl+.", async () => {
    const engine = await designer();
    fireEvent.keyDown(window, { key: "F5" });
    await waitFor(() => expect(screen.getByTestId("run-status").dataset.status).toBe("running"));
    fireEvent.keyDown(window, { key: "F5", shiftKey: true });
    await waitFor(() => expect(engine.of("stop_run")).toEqual([{ op: "stop_run", run_id: "run-1" }]));
    act(() => engine.emit(finished("cancelled")));
    await waitFor(() => expect(screen.getByTestId("run-status").dataset.status).toBe("stopped"));

    fireEvent.keyDown(window, { key: "Enter", ctrlKey: true });
    await waitFor(() => expect(engine.of("start_run")).toHaveLength(2));
    await waitFor(() => expect(useRun.getState().phase).toBe("running"));
    fireEvent.keyDown(window, { key: ".", ctrlKey: true });
    await waitFor(() => expect(engine.of("stop_run")).toHaveLength(2));
  });

  it("asks for params without a default before running", async () => {
    const engine = await designer({ flow: ordersFlow({ params: [{ name: "day", type: "date", description: "Day to load" }, { name: "limit", type: "int", default: 100 }] }) });
    fireEvent.click(screen.getByTestId("btn-run"));
    const dialog = await screen.findByTestId("run-params-dialog");
    const ok = within(dialog).getByTestId("run-params-ok") as HTMLButtonElement;
    expect(ok.disabled).toBe(true);
    expect((within(dialog).getByTestId("run-param-limit") as HTMLInputElement).placeholder).toContain("100");
    fireEvent.change(within(dialog).getByTestId("run-param-day"), { target: { value: "May 1st" } });
    expect(ok.disabled).toBe(true);
    expect(dialog.textContent).toContain("YYYY-MM-DD");
    fireEvent.change(within(dialog).getByTestId("run-param-day"), { target: { value: "2024-05-01" } });
    fireEvent.click(ok);
    await waitFor(() => expect(engine.of("start_run")).toHaveLength(1));
    expect(engine.of("start_run")[0].params).toEqual({ day: "2024-05-01" });
    expect(screen.queryByTestId("run-params-dialog")).toBeNull();
  });

  it("shows a refused run on the Problems tab and as a notice", async () => {
    await designer({
      answer: (req: Request) => {
        if (req.op === "start_run") throw { kind: "invalid_flow", message: "the flow has 1 problem", diagnostics: [{ severity: "error", code: "invalid_config", message: "path is empty", node_id: "out", field: "path" }] };
        return undefined;
      },
    });
    fireEvent.click(screen.getByTestId("bottom-tab-logs"));
    fireEvent.click(screen.getByTestId("btn-run"));
    await waitFor(() => expect(screen.getByTestId("run-refusal").textContent).toContain("the flow has 1 problem"));
    expect(screen.getByTestId("bottom-tab-problems").getAttribute("aria-selected")).toBe("true");
    const rows = screen.getAllByTestId("problem-row");
    expect(rows.map((r) => r.dataset.node)).toContain("out");
    expect(screen.getAllByTestId("toast").map((t) => t.textContent).join()).toContain("the flow has 1 problem");
    expect(screen.getByTestId("run-status").dataset.status).toBe("idle");
  });

  it("re-attaches at start to a run of the opened flow already in progress", async () => {
    const run: ActiveRun = {
      run_id: "run-7",
      flow_name: "orders",
      path: FLOW_PATH,
      started_at: new Date().toISOString(),
      node_states: { src: "done", keep: "running", out: "running" },
      metrics: [snap("src", { state: "done", rows_out: 90000 }), snap("keep", { state: "running", rows_in: 60000, rows_out: 30000 })],
    };
    await designer({ activeRuns: [run] });
    await waitFor(() => expect(screen.getByTestId("run-status").dataset.status).toBe("running"));
    expect(screen.getByTestId("node-metrics-src").dataset.state).toBe("done");
    expect(screen.getByTestId("node-rows-out-src").textContent).toBe("90000");
    expect(screen.getByTestId("node-metrics-keep").dataset.state).toBe("running");
  });
});

describe("the Logs tab", () => {
  it("lists the run's events, filters them by node and level, and selects a node from its entry", async () => {
    const engine = await designer();
    fireEvent.click(screen.getByTestId("btn-run"));
    await waitFor(() => expect(useRun.getState().phase).toBe("running"));
    act(() => {
      engine.emit({ type: "run_started", run_id: "run-1", flow: "orders", started_at: new Date().toISOString(), nodes: ["src", "keep", "out"] });
      engine.emit({ type: "log", level: "info", node_id: "out", message: "writing big.csv" });
      engine.emit({ type: "row_error", node_id: "src", message: "amount: not a number: 'abc'", field: "amount", line: 7, handled: false });
      engine.emit({ type: "node_state", node_id: "src", state: "failed", error: "a row failed: amount: not a number: 'abc'" });
      engine.emit(finished("failed", { error: "node 'src' failed at line 7 (field 'amount'): a row failed", failed_node: "src" }));
    });
    await waitFor(() => expect(screen.getByTestId("run-status").dataset.status).toBe("failed"));
    fireEvent.click(screen.getByTestId("bottom-tab-logs"));
    const panel = screen.getByTestId("logs-panel");
    await waitFor(() => expect(within(panel).getAllByTestId("log-row")).toHaveLength(5));
    const rows = within(panel).getAllByTestId("log-row");
    const failedRow = rows.find((r) => r.dataset.kind === "row_error")!;
    expect(failedRow.textContent).toContain("input line 7");
    expect(failedRow.textContent).toContain("amount");
    expect(failedRow.dataset.node).toBe("src");
    expect(rows.at(-1)!.textContent).toContain("node 'src' failed at line 7");

    fireEvent.change(within(panel).getByTestId("logs-filter-level"), { target: { value: "error" } });
    expect(within(panel).getAllByTestId("log-row").map((r) => r.dataset.level)).toEqual(["error", "error", "error"]);
    fireEvent.change(within(panel).getByTestId("logs-filter-level"), { target: { value: "debug" } });
    fireEvent.change(within(panel).getByTestId("logs-filter-node"), { target: { value: "out" } });
    expect(within(panel).getAllByTestId("log-row").map((r) => r.textContent)).toEqual([expect.stringContaining("writing big.csv")]);
    fireEvent.change(within(panel).getByTestId("logs-filter-node"), { target: { value: "" } });

    fireEvent.click(within(panel).getAllByTestId("log-row").find((r) => r.dataset.kind === "row_error")!);
    expect([...useFlow.getState().selection.nodes]).toEqual(["src"]);
    expect(useFlow.getState().focus).toMatchObject({ nodeId: "src", field: "amount" });
  });

  it("takes a script error to the node's code, at the line", async () => {
    const flow = ordersFlow();
    flow.nodes[1] = { id: "keep", kind: "script", config: { script: "let a = 1;\nlet b = 2;\nrow.total = row.amount * x;\nrow" }, position: { x: 300, y: 0 } };
    const engine = await designer({ flow });
    fireEvent.click(screen.getByTestId("btn-run"));
    await waitFor(() => expect(useRun.getState().phase).toBe("running"));
    act(() => engine.emit({ type: "row_error", node_id: "keep", message: "script: Variable not found: x (line 3, column 26)", field: "script", handled: false }));
    fireEvent.click(screen.getByTestId("bottom-tab-logs"));
    const row = await screen.findByTestId("log-row");
    expect(within(row).getByTestId("log-open-script").textContent).toContain("line 3");
    fireEvent.click(row);
    expect([...useFlow.getState().selection.nodes]).toEqual(["keep"]);
    expect(useFlow.getState().focus).toMatchObject({ nodeId: "keep", field: "script" });
    // The properties panel shows the node's script editor, and the cursor goes to line 3.
    await waitFor(() => {
      const editor = document.querySelector<HTMLElement>(".props .cm-editor");
      expect(editor).not.toBeNull();
      const view = EditorView.findFromDOM(editor!)!;
      const head = view.state.selection.main.head;
      const line = view.state.doc.lineAt(head);
      expect(line.number).toBe(3);
      expect(head - line.from + 1).toBe(26);
    });
  });
});

describe("the Preview tab", () => {
  const preview = (req: Request): Response | undefined => {
    if (req.op !== "preview") return undefined;
    return {
      op: "preview",
      node_id: req.node_id,
      port: "out",
      fields: [
        { name: "id", type: "int" },
        { name: "amount", type: "decimal" },
      ],
      rows: Array.from({ length: 2000 }, (_, i) => [i + 1, `${(i + 1) * 10}.50`]),
      error_fields: [
        { name: "id", type: "int" },
        { name: "amount", type: "string" },
        { name: "_error_node", type: "string" },
        { name: "_error_message", type: "string" },
        { name: "_error_field", type: "string" },
        { name: "_error_line", type: "int" },
        { name: "_error_raw", type: "string" },
      ],
      error_rows: [[31, "abc", req.node_id, "not a number: 'abc'", "amount", 33, null]],
      truncated: true,
    };
  };

  it("shows the selected node's first rows with typed headers and failed rows beside their error, without running", async () => {
    const engine = await designer({ answer: preview });
    act(() => useFlow.getState().select({ nodes: ["keep"] }));
    fireEvent.click(screen.getByTestId("bottom-tab-preview"));
    const panel = screen.getByTestId("preview-panel");
    await waitFor(() => expect(within(panel).getAllByTestId("preview-row").length).toBeGreaterThan(0));
    expect(engine.of("preview")).toHaveLength(1);
    expect(engine.of("preview")[0]).toMatchObject({ node_id: "keep", path: FLOW_PATH });
    expect(engine.of("start_run")).toHaveLength(0);
    const headers = within(panel).getAllByTestId("preview-column").map((h) => h.textContent);
    expect(headers).toEqual(["idint", "amountdecimal"]);
    expect(within(panel).getAllByTestId("preview-row")[0].textContent).toContain("10.50");
    const bad = within(panel).getByTestId("preview-error-row");
    expect(bad.textContent).toContain("not a number: 'abc'");
    expect(bad.textContent).toContain("abc");
    expect(within(panel).getByTestId("preview-summary").textContent).toContain("first 2,000 rows");
    // Only the rows in view are in the page.
    expect(within(panel).getAllByTestId("preview-row").length).toBeLessThan(100);

    fireEvent.click(within(panel).getByTestId("preview-refresh"));
    await waitFor(() => expect(engine.of("preview")).toHaveLength(2));
  });

  it("says why a preview failed", async () => {
    await designer({
      answer: (req) => {
        if (req.op === "preview") throw { kind: "run", message: "node 'src': cannot open orders.csv: No such file", node_id: "src" };
        return undefined;
      },
    });
    act(() => useFlow.getState().select({ nodes: ["src"] }));
    fireEvent.click(screen.getByTestId("bottom-tab-preview"));
    await waitFor(() => expect(screen.getByTestId("preview-error").textContent).toContain("cannot open orders.csv"));
  });
});

describe("the bottom panel", () => {
  it("has the Problems, Logs, Preview and History tabs, and folds when the open tab is clicked", async () => {
    await designer();
    for (const tab of ["problems", "logs", "preview", "history"]) expect(screen.getByTestId(`bottom-tab-${tab}`)).toBeTruthy();
    expect(screen.getByTestId("problems-panel")).toBeTruthy();
    fireEvent.click(screen.getByTestId("bottom-tab-history"));
    expect(screen.getByTestId("bottom-tab-history").getAttribute("aria-selected")).toBe("true");
    expect(screen.queryByTestId("problems-panel")).toBeNull();
    fireEvent.click(screen.getByTestId("bottom-tab-history"));
    expect(screen.getByTestId("bottom-panel").className).toContain("is-collapsed");
    fireEvent.click(screen.getByTestId("bottom-tab-logs"));
    expect(screen.getByTestId("logs-panel").textContent).toContain("No run yet");
  });
});
