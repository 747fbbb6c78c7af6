// The run history panel over a scripted engine: the open flow's runs and every flow's,
// a run's summary and its failed rows (virtualised, paged), refresh when a run finishes,
// export through the in-app file dialog, errors, and Chinese.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import type { AppEvent, FailedRow, HistoryRun, HistoryRunDetail, Request, Response } from "../api/generated";
import { setTransport, type RunEventListener } from "../api/client";
import { FileDialogHost } from "../files/FileDialog";
import { useDialogs } from "../files/dialogStore";
import i18n from "../i18n";
import { useToasts } from "../lib/toast";
import { resetFlowStore, useFlow } from "../store/flowStore";
import { FAILED_ROWS_PAGE } from "./FailedRowsTable";
import { HistoryPanel } from "./HistoryPanel";

const PHONES = "/w/phones.flow.json";

function run(id: string, over: Partial<HistoryRun> = {}): HistoryRun {
  return {
    run_id: id,
    flow_name: "phones",
    flow_path: PHONES,
    status: "succeeded",
    started_at: "2025-03-01T10:00:00.000Z",
    finished_at: "2025-03-01T10:00:01.000Z",
    duration_ms: 820,
    rows_in: 4,
    rows_out: 2,
    rows_error: 2,
    ...over,
  };
}

function failedRows(n: number, offset = 0): FailedRow[] {
  return Array.from({ length: n }, (_, i) => ({
    node_id: "check",
    message: `phone is not a mobile number (row ${offset + i})`,
    field: "phone",
    handled: true,
    row: { id: offset + i, phone: `bad-${offset + i}` },
  }));
}

interface Engine {
  runs: HistoryRun[];
  details: Record<string, HistoryRunDetail>;
  /** Kept rows per run and node. */
  kept: Record<string, FailedRow[]>;
  requests: Request[];
  listeners: Set<RunEventListener>;
  failList?: string;
  failExport?: string;
}

let engine: Engine;

function detailOf(r: HistoryRun, over: Partial<HistoryRunDetail> = {}): HistoryRunDetail {
  return {
    ...r,
    params: { who: "ana" },
    nodes: [
      { node_id: "rows", state: "done", rows_in: 0, rows_out: 4, rows_error: 0, rows_error_unhandled: 0, busy_ms: 1, kept_error_rows: 0, not_kept_error_rows: 0 },
      { node_id: "check", state: "done", rows_in: 4, rows_out: 2, rows_error: 2, rows_error_unhandled: 0, busy_ms: 2, kept_error_rows: 2, not_kept_error_rows: 0 },
      { node_id: "write", state: "done", rows_in: 2, rows_out: 0, rows_error: 0, rows_error_unhandled: 0, busy_ms: 1, kept_error_rows: 0, not_kept_error_rows: 0 },
    ],
    kept_error_rows: 2,
    ...over,
  };
}

function scriptedEngine(): Engine {
  const e: Engine = { runs: [], details: {}, kept: {}, requests: [], listeners: new Set() };
  setTransport({
    mode: "browser",
    subscribe(cb) {
      e.listeners.add(cb);
      return () => e.listeners.delete(cb);
    },
    async call(req: Request): Promise<Response> {
      e.requests.push(req);
      switch (req.op) {
        case "list_runs":
          if (e.failList) throw { kind: "io", message: e.failList };
          return { op: "list_runs", runs: e.runs.filter((r) => !req.flow_path || r.flow_path === req.flow_path).slice(0, req.limit ?? 50) };
        case "get_run": {
          const d = e.details[req.run_id];
          if (!d) throw { kind: "not_found", message: `no run '${req.run_id}' in the run history; list_runs shows the recorded runs` };
          return { op: "get_run", run: d };
        }
        case "run_error_rows": {
          const all = e.kept[`${req.run_id}:${req.node_id}`] ?? [];
          const offset = req.offset ?? 0;
          const fields = [...new Set(all.flatMap((r) => Object.keys(r.row)))];
          return { op: "run_error_rows", run_id: req.run_id, node_id: req.node_id, fields, rows: all.slice(offset, offset + (req.limit ?? 1000)), offset, total: all.length, not_kept: 0 };
        }
        case "export_run_errors":
          if (e.failExport) throw { kind: "io", message: e.failExport };
          return { op: "export_run_errors", path: req.path, rows: (e.kept[`${req.run_id}:${req.node_id}`] ?? []).length };
        case "list_dir":
          // The folder the dialog opens in; anything else typed there is a file to write.
          if (req.path && req.path !== "/w") throw { kind: "not_found", message: `cannot list folder ${req.path}: not found` };
          return { op: "list_dir", path: "/w", parent: "/", entries: [{ name: "old.csv", path: "/w/old.csv", is_dir: false, size: 10 }] };
        default:
          throw { kind: "bad_request", message: `unexpected ${req.op}` };
      }
    },
  });
  return e;
}

function emit(event: AppEvent) {
  act(() => {
    for (const l of [...engine.listeners]) l(event);
  });
}

function finished(runId: string): AppEvent {
  return {
    run_id: runId,
    event: {
      type: "run_finished",
      summary: { run_id: runId, flow: "phones", status: "succeeded", started_at: "", finished_at: "", duration_ms: 1, nodes: [], edges: [] },
    },
  };
}

const rowIds = () => screen.queryAllByTestId("history-row").map((r) => r.dataset.runId);
const lastRequest = (op: Request["op"]) => [...engine.requests].reverse().find((r) => r.op === op);

// jsdom lays nothing out: give the failed-rows scroller a height so the virtualiser has a
// window to fill.
const clientHeight = Object.getOwnPropertyDescriptor(HTMLElement.prototype, "clientHeight");
beforeAll(async () => {
  await i18n.changeLanguage("en");
  Object.defineProperty(HTMLElement.prototype, "clientHeight", {
    configurable: true,
    get(this: HTMLElement) {
      return this.classList.contains("hist-rows__scroll") ? 280 : 0;
    },
  });
});
afterAll(() => {
  if (clientHeight) Object.defineProperty(HTMLElement.prototype, "clientHeight", clientHeight);
});
beforeEach(() => {
  engine = scriptedEngine();
  act(() => useFlow.setState({ path: PHONES }));
});
afterEach(async () => {
  cleanup();
  setTransport(null);
  resetFlowStore();
  useDialogs.setState({ fileDialog: null, lastDir: null });
  useToasts.setState({ toasts: [] });
  await i18n.changeLanguage("en");
});

describe("the history list", () => {
  it("shows the open flow's runs newest first, and every flow's with the toggle", async () => {
    engine.runs = [
      run("r2", { status: "failed", duration_ms: 1500, rows_out: 0, rows_error: 1, error: "node 'check': a row failed" }),
      run("r1"),
      run("r0", { flow_name: "orders", flow_path: "/w/orders.flow.json", rows_error: 0 }),
    ];
    render(<HistoryPanel />);
    await waitFor(() => expect(rowIds()).toEqual(["r2", "r1"]));
    expect(lastRequest("list_runs")).toMatchObject({ op: "list_runs", flow_path: PHONES });
    const [failed, ok] = screen.getAllByTestId("history-row");
    expect(failed.querySelector("[data-status]")?.textContent).toBe("Failed");
    expect(failed.textContent).toContain("1.5 s");
    expect(failed.textContent).toContain("1 failed");
    expect(ok.querySelector("[data-status]")?.textContent).toBe("Succeeded");
    expect(ok.textContent).toContain("820 ms");
    expect(ok.textContent).toContain("4 in → 2 out");

    fireEvent.click(screen.getByTestId("history-all-flows"));
    await waitFor(() => expect(rowIds()).toEqual(["r2", "r1", "r0"]));
    expect(lastRequest("list_runs")).not.toHaveProperty("flow_path");
    expect(screen.getAllByTestId("history-row")[2].textContent).toContain("orders");
  });

  it("lists every flow's runs for a flow never saved, and says when there are none", async () => {
    act(() => useFlow.setState({ path: null }));
    render(<HistoryPanel />);
    await waitFor(() => expect(screen.getByTestId("history-empty").textContent).toBe("No runs recorded yet."));
    const toggle = screen.getByTestId("history-all-flows") as HTMLInputElement;
    expect(toggle.checked).toBe(true);
    expect(toggle.disabled).toBe(true);
    expect(lastRequest("list_runs")).not.toHaveProperty("flow_path");
  });

  it("refreshes when a run finishes", async () => {
    engine.runs = [run("r1")];
    render(<HistoryPanel />);
    await waitFor(() => expect(rowIds()).toEqual(["r1"]));
    engine.runs = [run("r3", { started_at: "2025-03-01T11:00:00.000Z" }), ...engine.runs];
    // Other events leave the list alone.
    emit({ run_id: "r3", event: { type: "node_state", node_id: "check", state: "running" } });
    expect(engine.requests.filter((r) => r.op === "list_runs")).toHaveLength(1);
    emit(finished("r3"));
    await waitFor(() => expect(rowIds()).toEqual(["r3", "r1"]));
  });

  it("says why the history cannot be read", async () => {
    engine.failList = "cannot open the run history: disk full";
    render(<HistoryPanel />);
    await waitFor(() => expect(screen.getByTestId("history-load-error").textContent).toContain("disk full"));
  });
});

describe("a run's summary", () => {
  it("shows params, every node's counts and state, and the failed rows with their errors", async () => {
    const r1 = run("r1");
    engine.runs = [r1];
    engine.details.r1 = detailOf(r1);
    engine.kept["r1:check"] = failedRows(2);
    render(<HistoryPanel />);
    await waitFor(() => expect(rowIds()).toEqual(["r1"]));
    fireEvent.click(screen.getByTestId("history-row"));

    const detail = await screen.findByTestId("history-detail");
    expect(detail.dataset.runId).toBe("r1");
    expect(within(detail).getByTestId("history-params").textContent).toBe("who = ana");
    const nodes = within(detail).getAllByTestId("history-node-row");
    expect(nodes.map((n) => n.dataset.node)).toEqual(["rows", "check", "write"]);
    const cells = [...nodes[1].querySelectorAll("td")].map((c) => c.textContent);
    expect(cells).toEqual(["check", "Done", "4", "2", "2", "2"]);
    expect(screen.getAllByTestId("history-row")[0].getAttribute("aria-selected")).toBe("true");

    // The node that kept rows is picked: each row with its error beside its fields.
    await waitFor(() => expect(screen.getAllByTestId("history-error-row")).toHaveLength(2));
    expect(lastRequest("run_error_rows")).toEqual({ op: "run_error_rows", run_id: "r1", node_id: "check", limit: FAILED_ROWS_PAGE });
    const first = [...screen.getAllByTestId("history-error-row")[0].querySelectorAll("[role=cell]")].map((c) => c.textContent);
    expect(first).toEqual(["1", "phone is not a mobile number (row 0)", "phone", "", "0", "bad-0"]);
    expect(screen.getByTestId("history-error-rows").textContent).toContain("Sent to the node's error output.");
    expect(screen.getByTestId("history-error-count").textContent).toBe("2 of 2 loaded");
  });

  it("shows a failed run's error on its node and says when no rows were kept", async () => {
    const r2 = run("r2", { status: "failed", rows_error: 1, error: "a row failed: phone is required" });
    engine.runs = [r2];
    engine.details.r2 = detailOf(r2, {
      failed_node: "check",
      params: {},
      kept_error_rows: 0,
      nodes: [{ node_id: "check", state: "failed", rows_in: 2, rows_out: 0, rows_error: 1, rows_error_unhandled: 1, busy_ms: 1, kept_error_rows: 0, not_kept_error_rows: 0, error: "a row failed: phone is required" }],
    });
    render(<HistoryPanel />);
    await waitFor(() => expect(rowIds()).toEqual(["r2"]));
    fireEvent.click(screen.getByTestId("history-row"));
    const detail = await screen.findByTestId("history-detail");
    expect(within(detail).getByTestId("history-run-error").textContent).toBe("check: a row failed: phone is required");
    const node = within(detail).getByTestId("history-node-row");
    expect(node.textContent).toContain("Failed");
    expect(node.textContent).toContain("phone is required");
    expect(detail.textContent).toContain("No param values were given");
    expect(detail.textContent).toContain("This run kept no failed rows.");
    expect(screen.queryByTestId("history-error-rows")).toBeNull();
  });

  it("switches to another node's failed rows", async () => {
    const r1 = run("r1");
    engine.runs = [r1];
    const d = detailOf(r1);
    d.nodes[0] = { ...d.nodes[0], rows_error: 1, kept_error_rows: 1 };
    engine.details.r1 = d;
    engine.kept["r1:rows"] = [{ node_id: "rows", message: "cannot parse", line: 7, raw: "1;x", handled: false, row: {} }];
    engine.kept["r1:check"] = failedRows(2);
    render(<HistoryPanel />);
    await waitFor(() => expect(rowIds()).toEqual(["r1"]));
    fireEvent.click(screen.getByTestId("history-row"));
    await waitFor(() => expect(screen.getByTestId("history-error-rows").dataset.node).toBe("rows"));
    await waitFor(() => expect(screen.getAllByTestId("history-error-row")).toHaveLength(1));
    const cells = [...screen.getByTestId("history-error-row").querySelectorAll("[role=cell]")].map((c) => c.textContent);
    expect(cells).toEqual(["1", "cannot parse", "", "7", "1;x"]);
    expect(screen.getByTestId("history-error-rows").textContent).toContain("Dropped by the error policy");

    fireEvent.click(screen.getAllByTestId("history-node-row")[1]);
    await waitFor(() => expect(screen.getByTestId("history-error-rows").dataset.node).toBe("check"));
    await waitFor(() => expect(screen.getAllByTestId("history-error-row")).toHaveLength(2));
    // A node without kept rows is not pickable.
    fireEvent.click(screen.getAllByTestId("history-node-row")[2]);
    expect(screen.getByTestId("history-error-rows").dataset.node).toBe("check");
  });

  it("renders only the visible part of many failed rows and fetches more as it scrolls", async () => {
    const big = run("big", { rows_error: 5000 });
    engine.runs = [big];
    const d = detailOf(big);
    d.nodes[1] = { ...d.nodes[1], rows_error: 5000, kept_error_rows: 5000 };
    engine.details.big = d;
    engine.kept["big:check"] = failedRows(5000);
    render(<HistoryPanel />);
    await waitFor(() => expect(rowIds()).toEqual(["big"]));
    fireEvent.click(screen.getByTestId("history-row"));
    await waitFor(() => expect(screen.getAllByTestId("history-error-row").length).toBeGreaterThan(0));
    expect(screen.getAllByTestId("history-error-row").length).toBeLessThan(50);
    expect(screen.getByTestId("history-error-count").textContent).toBe(`${FAILED_ROWS_PAGE} of 5,000 loaded`);
    expect(engine.requests.filter((r) => r.op === "run_error_rows")).toHaveLength(1);

    // Scrolled to the end of the first page: the next one is fetched, and the rows in view
    // are the ones at that offset.
    const scroller = screen.getByTestId("history-error-scroll");
    scroller.scrollTop = (FAILED_ROWS_PAGE - 5) * 28;
    fireEvent.scroll(scroller);
    await waitFor(() => expect(lastRequest("run_error_rows")).toMatchObject({ offset: FAILED_ROWS_PAGE, limit: FAILED_ROWS_PAGE }));
    await waitFor(() => expect(screen.getByTestId("history-error-count").textContent).toBe(`${(2 * FAILED_ROWS_PAGE).toLocaleString("en")} of 5,000 loaded`));
    const shown = screen.getAllByTestId("history-error-row").map((r) => Number(r.dataset.index));
    expect(shown.length).toBeLessThan(50);
    expect(shown).toContain(FAILED_ROWS_PAGE);
    const row = screen.getAllByTestId("history-error-row").find((r) => r.dataset.index === String(FAILED_ROWS_PAGE))!;
    expect(row.textContent).toContain(`bad-${FAILED_ROWS_PAGE}`);
  });

  it("lets go of a selected run that is no longer listed", async () => {
    const r1 = run("r1");
    engine.runs = [r1];
    engine.details.r1 = detailOf(r1, { kept_error_rows: 0, nodes: [] });
    render(<HistoryPanel />);
    await waitFor(() => expect(rowIds()).toEqual(["r1"]));
    fireEvent.click(screen.getByTestId("history-row"));
    await screen.findByTestId("history-detail");
    engine.runs = [];
    fireEvent.click(screen.getByTestId("history-refresh"));
    await waitFor(() => expect(screen.queryByTestId("history-detail")).toBeNull());
  });
});

describe("exporting failed rows", () => {
  async function openRun() {
    const r1 = run("r1");
    engine.runs = [r1];
    engine.details.r1 = detailOf(r1);
    engine.kept["r1:check"] = failedRows(2);
    render(
      <>
        <HistoryPanel />
        <FileDialogHost />
      </>,
    );
    await waitFor(() => expect(rowIds()).toEqual(["r1"]));
    fireEvent.click(screen.getByTestId("history-row"));
    await waitFor(() => expect(screen.getAllByTestId("history-error-row")).toHaveLength(2));
  }

  it("asks for a path in the in-app file dialog and writes CSV there", async () => {
    await openRun();
    fireEvent.click(screen.getByTestId("history-export-csv"));
    const name = (await screen.findByTestId("file-dialog-name")) as HTMLInputElement;
    expect(name.value).toBe("r1-check-failed-rows.csv");
    expect(useDialogs.getState().fileDialog).toMatchObject({ mode: "save", target: "file", extensions: [".csv"] });
    await waitFor(() => expect((screen.getByTestId("file-dialog-path") as HTMLInputElement).value).toBe("/w/r1-check-failed-rows.csv"));
    fireEvent.change(name, { target: { value: "dead letters" } });
    fireEvent.click(screen.getByTestId("file-dialog-ok"));
    await waitFor(() => expect(lastRequest("export_run_errors")).toEqual({ op: "export_run_errors", run_id: "r1", node_id: "check", format: "csv", path: "/w/dead letters.csv" }));
    await waitFor(() => expect(useToasts.getState().toasts.map((t) => t.text)).toEqual(["Wrote 2 failed rows to /w/dead letters.csv"]));
  });

  it("writes JSON, and shows why an export failed", async () => {
    await openRun();
    engine.failExport = "cannot write to folder /w/ro: permission denied";
    fireEvent.click(screen.getByTestId("history-export-json"));
    await screen.findByTestId("file-dialog-name");
    await waitFor(() => expect((screen.getByTestId("file-dialog-path") as HTMLInputElement).value).toBe("/w/r1-check-failed-rows.json"));
    fireEvent.click(screen.getByTestId("file-dialog-ok"));
    await waitFor(() => expect(screen.getByTestId("history-export-error").textContent).toBe("Export failed: cannot write to folder /w/ro: permission denied"));
    expect(lastRequest("export_run_errors")).toMatchObject({ format: "json", path: "/w/r1-check-failed-rows.json" });

    // Cancelling the dialog exports nothing.
    const before = engine.requests.length;
    fireEvent.click(screen.getByTestId("history-export-json"));
    await screen.findByTestId("file-dialog-name");
    act(() => useDialogs.getState().fileDialog?.resolve(null));
    await waitFor(() => expect(screen.queryByTestId("file-dialog-name")).toBeNull());
    expect(engine.requests.slice(before).filter((r) => r.op === "export_run_errors")).toEqual([]);
  });
});

describe("in Chinese", () => {
  it("speaks Simplified Chinese", async () => {
    await i18n.changeLanguage("zh-CN");
    const r1 = run("r1");
    engine.runs = [r1];
    engine.details.r1 = detailOf(r1);
    engine.kept["r1:check"] = failedRows(2);
    render(<HistoryPanel />);
    await waitFor(() => expect(rowIds()).toEqual(["r1"]));
    expect(screen.getByTestId("history-row").textContent).toContain("成功");
    expect(screen.getByTestId("history-row").textContent).toContain("820 毫秒");
    expect(screen.getByTestId("history-panel").textContent).toContain("全部流程");
    fireEvent.click(screen.getByTestId("history-row"));
    await waitFor(() => expect(screen.getAllByTestId("history-error-row")).toHaveLength(2));
    expect(screen.getByTestId("history-export-csv").textContent).toBe("导出 CSV");
    expect(screen.getByTestId("history-detail").textContent).toContain("check 的失败行");
  });
});
