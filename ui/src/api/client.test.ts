import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./testServer.mjs";
import { AppCallError, call, httpTransport, setTransport, toAppError } from "./client";
import { takeToken, TOKEN_STORAGE_KEY } from "./token";

describe("token handling", () => {
  afterEach(() => {
    sessionStorage.clear();
    window.history.replaceState(null, "", "/");
  });

  it("takes the token from the address, keeps it for this tab and removes it from the address bar", () => {
    window.history.replaceState(null, "", "/?token=abc123&flow=x#canvas");
    expect(takeToken()).toBe("abc123");
    expect(sessionStorage.getItem(TOKEN_STORAGE_KEY)).toBe("abc123");
    expect(window.location.search).toBe("?flow=x");
    expect(window.location.hash).toBe("#canvas");
    expect(window.location.href).not.toContain("abc123");
  });

  it("falls back to the stored token after a reload without it", () => {
    sessionStorage.setItem(TOKEN_STORAGE_KEY, "kept");
    window.history.replaceState(null, "", "/");
    expect(takeToken()).toBe("kept");
  });

  it("prefers a new token in the address to an old stored one", () => {
    sessionStorage.setItem(TOKEN_STORAGE_KEY, "old");
    window.history.replaceState(null, "", "/?token=new");
    expect(takeToken()).toBe("new");
    expect(sessionStorage.getItem(TOKEN_STORAGE_KEY)).toBe("new");
  });

  it("answers null when there is none", () => {
    expect(takeToken()).toBeNull();
  });

  it("still works when storage is refused", () => {
    const history = { state: null, replaceState: (_s: unknown, _t: string, url: string) => (calls.push(url), undefined) };
    const calls: string[] = [];
    const storage = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("denied");
      },
    };
    expect(takeToken({ location: { href: "http://127.0.0.1:5/?token=t1" }, history, storage })).toBe("t1");
    expect(calls).toEqual(["/"]);
    expect(takeToken({ location: { href: "http://127.0.0.1:5/" }, history, storage })).toBeNull();
  });
});

describe("HTTP transport against a real server", () => {
  let server: TestServer;
  let base: string;

  beforeAll(async () => {
    server = await startTestServer("good");
    base = server.url;
  });

  afterAll(async () => {
    setTransport(null);
    await server.close();
  });

  it("sends the request with the bearer token and returns the response of the same op", async () => {
    setTransport(httpTransport({ baseUrl: base, token: "good" }));
    const res = await call({ op: "catalog" });
    expect(res.op).toBe("catalog");
    expect(res.kinds).toEqual([]);
    expect(server.seen.at(-1)).toEqual({ auth: "Bearer good", body: { op: "catalog" } });
  });

  it("throws the server's AppError, diagnostics included", async () => {
    setTransport(httpTransport({ baseUrl: base, token: "good" }));
    const err = await call({ op: "open_flow", path: "x.flow.json" }).catch((e) => e);
    expect(err).toBeInstanceOf(AppCallError);
    expect(err.kind).toBe("invalid_flow");
    expect(err.diagnostics[0]).toMatchObject({ line: 3, column: 7 });
  });

  it("reports a wrong token as unauthorized", async () => {
    setTransport(httpTransport({ baseUrl: base, token: "bad" }));
    const err = await call({ op: "info" }).catch((e) => e);
    expect(err).toMatchObject({ kind: "unauthorized", message: "missing or wrong token" });
  });

  it("turns a non-JSON failure into an AppError carrying the text", async () => {
    setTransport(httpTransport({ baseUrl: base, token: "good" }));
    const err = await call({ op: "recent_files" }).catch((e) => e);
    expect(err).toMatchObject({ kind: "internal", message: "plain text failure" });
  });

  it("reports an unreachable server as an io error", async () => {
    setTransport(httpTransport({ baseUrl: "http://127.0.0.1:1/", token: "good" }));
    const err = await call({ op: "info" }).catch((e) => e);
    expect(err).toBeInstanceOf(AppCallError);
    expect(err.kind).toBe("io");
  });

  it("refuses an answer for another op", async () => {
    setTransport({ mode: "browser", call: async () => ({ op: "info" }) as never, subscribe: () => () => {} });
    await expect(call({ op: "catalog" })).rejects.toMatchObject({ kind: "internal" });
  });
});

describe("toAppError", () => {
  it("reads errors as Tauri hands them over: objects or JSON text", () => {
    expect(toAppError({ kind: "io", message: "disk full" })).toMatchObject({ kind: "io", message: "disk full" });
    expect(toAppError('{"kind":"not_found","message":"gone"}')).toMatchObject({ kind: "not_found", message: "gone" });
    expect(toAppError("boom")).toMatchObject({ kind: "internal", message: "boom" });
    expect(toAppError(new Error("x"))).toMatchObject({ kind: "internal", message: "x" });
  });
});

describe("HTTP transport event stream", () => {
  /** Stands in for the browser's EventSource: the test fires the server's named events. */
  class FakeEventSource {
    static last: FakeEventSource | null = null;
    handlers = new Map<string, (e: MessageEvent<string>) => void>();
    closed = false;
    constructor(public url: string) {
      FakeEventSource.last = this;
    }
    addEventListener(name: string, h: (e: MessageEvent<string>) => void) {
      this.handlers.set(name, h);
    }
    close() {
      this.closed = true;
    }
    fire(name: string, data: string) {
      this.handlers.get(name)?.({ data } as MessageEvent<string>);
    }
  }

  it("delivers run events and lagged signals while subscribed, with the token on the stream", () => {
    const t = httpTransport({ baseUrl: "http://127.0.0.1:9/", token: "tok", EventSource: FakeEventSource as unknown as typeof EventSource });
    const events: unknown[] = [];
    const missed: number[] = [];
    const off = t.subscribe((e) => events.push(e));
    const offLagged = t.onLagged!((n) => missed.push(n));
    const es = FakeEventSource.last!;
    expect(es.url).toBe("http://127.0.0.1:9/api/events?token=tok");
    es.fire("run-event", JSON.stringify({ run_id: "r1", event: { type: "run_started" } }));
    es.fire("lagged", JSON.stringify({ missed: 42 }));
    es.fire("lagged", "not json");
    expect(events).toEqual([{ run_id: "r1", event: { type: "run_started" } }]);
    expect(missed).toEqual([42, 0]);
    offLagged();
    es.fire("lagged", JSON.stringify({ missed: 1 }));
    expect(missed).toEqual([42, 0]);
    off();
    expect(es.closed).toBe(true);
  });
});
