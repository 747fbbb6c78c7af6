import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setTransport, type Transport } from "../api/client";
import type { Request, Response } from "../api/generated";
import { startChecking, onlyLayoutChanged, type Checker } from "./checker";
import { resetFlowStore, useFlow } from "./flowStore";

/** A transport whose answers the test releases one by one, in any order. */
function controlledTransport() {
  const pending: Array<{ req: Request; resolve(r: Response): void }> = [];
  const t: Transport = {
    mode: "browser",
    call: (req) => new Promise((resolve) => pending.push({ req, resolve })),
    subscribe: () => () => {},
  };
  return { t, pending };
}

const answer = (message: string): Response => ({
  op: "check_flow",
  diagnostics: [{ severity: "error", code: "test", message }],
  nodes: {},
});

let checker: Checker | null = null;

beforeEach(() => {
  resetFlowStore();
  vi.useFakeTimers();
});
afterEach(() => {
  checker?.stop();
  checker = null;
  setTransport(null);
  vi.useRealTimers();
});

describe("validation as you edit", () => {
  it("checks 300 ms after the last change, once for a burst of edits, with the current path", async () => {
    const { t, pending } = controlledTransport();
    setTransport(t);
    useFlow.getState().load({ version: 1, name: "a", nodes: [], edges: [] }, "/tmp/a.flow.json");
    checker = startChecking();
    useFlow.getState().setFlowText("name", "b");
    vi.advanceTimersByTime(200);
    useFlow.getState().setFlowText("name", "bc");
    vi.advanceTimersByTime(200);
    expect(pending).toHaveLength(0);
    expect(useFlow.getState().check.status).toBe("checking");
    vi.advanceTimersByTime(150);
    expect(pending).toHaveLength(1);
    expect(pending[0].req).toMatchObject({ op: "check_flow", path: "/tmp/a.flow.json", flow: { name: "bc" } });
    pending[0].resolve(answer("one"));
    await vi.waitFor(() => expect(useFlow.getState().check.status).toBe("done"));
    expect(useFlow.getState().check.diagnostics[0].message).toBe("one");
  });

  it("drops an answer that arrives after a newer check was sent", async () => {
    const { t, pending } = controlledTransport();
    setTransport(t);
    checker = startChecking();
    useFlow.getState().setFlowText("name", "first");
    vi.advanceTimersByTime(300);
    useFlow.getState().setFlowText("name", "second");
    vi.advanceTimersByTime(300);
    expect(pending).toHaveLength(2);
    pending[1].resolve(answer("fresh"));
    await vi.waitFor(() => expect(useFlow.getState().check.diagnostics[0]?.message).toBe("fresh"));
    pending[0].resolve(answer("stale"));
    await Promise.resolve();
    await Promise.resolve();
    expect(useFlow.getState().check.diagnostics[0].message).toBe("fresh");
  });

  it("does not check when only positions changed", () => {
    const { t, pending } = controlledTransport();
    setTransport(t);
    useFlow.getState().load({ version: 1, name: "a", nodes: [{ id: "n", kind: "log", config: {}, position: { x: 0, y: 0 } }], edges: [] }, null);
    checker = startChecking();
    useFlow.getState().moveNodes(new Map([["n", { x: 10, y: 10 }]]));
    vi.advanceTimersByTime(1000);
    expect(pending).toHaveLength(0);
    useFlow.getState().setTitle("n", "x");
    vi.advanceTimersByTime(300);
    expect(pending).toHaveLength(1);
  });

  it("tells a layout change from a real one", () => {
    const a = { version: 1, name: "a", nodes: [{ id: "n", kind: "log", config: {}, position: { x: 0, y: 0 } }], edges: [] };
    expect(onlyLayoutChanged(a, { ...a, nodes: [{ ...a.nodes[0], position: { x: 5, y: 5 } }] })).toBe(true);
    expect(onlyLayoutChanged(a, { ...a, nodes: [{ ...a.nodes[0], title: "t" }] })).toBe(false);
    expect(onlyLayoutChanged(a, { ...a, name: "b" })).toBe(false);
    expect(onlyLayoutChanged(a, { ...a, edges: [] })).toBe(false);
  });
});
