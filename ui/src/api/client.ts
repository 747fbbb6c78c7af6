// The one way the designer talks to the engine: `call(request)` answered by the response
// of the same `op`, and the run-event stream. Two transports carry the same types
// (docs/app-api.md): the Tauri command `call` in the desktop app, `POST /api/call` with a
// bearer token under `sluice serve`. Failures always arrive as `AppCallError`, an `AppError`
// (kind, message, node, field, diagnostics) the UI can place, never as a bare string.

import type { AppError, AppErrorKind, AppEvent, Diagnostic, Request, Response } from "./generated";
import { takeToken } from "./token";

export type Op = Request["op"];
export type RequestOf<O extends Op> = Extract<Request, { op: O }>;
export type ResponseOf<O extends Op> = Extract<Response, { op: O }>;

/** A failed call. Carries the engine's `AppError` fields as they came. */
export class AppCallError extends Error implements AppError {
  kind: AppErrorKind;
  node_id?: string;
  field?: string;
  diagnostics?: Diagnostic[];

  constructor(err: AppError) {
    super(err.message);
    this.name = "AppCallError";
    this.kind = err.kind;
    if (err.node_id) this.node_id = err.node_id;
    if (err.field) this.field = err.field;
    if (err.diagnostics?.length) this.diagnostics = err.diagnostics;
  }
}

const ERROR_KINDS: readonly AppErrorKind[] = ["bad_request", "not_found", "invalid_flow", "io", "run", "unauthorized", "internal"];

export function isAppError(value: unknown): value is AppError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.message === "string" && typeof v.kind === "string" && (ERROR_KINDS as readonly string[]).includes(v.kind);
}

/** Whatever a transport rejected with, as an `AppCallError`. */
export function toAppError(value: unknown, fallbackKind: AppErrorKind = "internal"): AppCallError {
  if (value instanceof AppCallError) return value;
  if (isAppError(value)) return new AppCallError(value);
  if (typeof value === "string") {
    // The Tauri bridge rejects with the serialised error when the payload is JSON text.
    try {
      const parsed: unknown = JSON.parse(value);
      if (isAppError(parsed)) return new AppCallError(parsed);
    } catch {
      // Not JSON: the text is the message.
    }
    return new AppCallError({ kind: fallbackKind, message: value });
  }
  const message = value instanceof Error ? value.message : String(value);
  return new AppCallError({ kind: fallbackKind, message });
}

export type RunEventListener = (event: AppEvent) => void;

export interface Transport {
  readonly mode: "desktop" | "browser";
  call(req: Request): Promise<Response>;
  /** Starts delivering run events to `cb`; returns the unsubscribe. */
  subscribe(cb: RunEventListener): () => void;
  /** Tells `cb` when the engine dropped events this window was too slow to take (`missed`
   *  of them); the UI then re-reads `active_runs`. Only while subscribed. */
  onLagged?(cb: (missed: number) => void): () => void;
}

// ---------------------------------------------------------------------------------------
// Desktop (Tauri)

export function isTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

function tauriTransport(): Transport {
  const listeners = new Set<RunEventListener>();
  let unlisten: Promise<() => void> | null = null;
  return {
    mode: "desktop",
    async call(req) {
      const { invoke } = await import("@tauri-apps/api/core");
      try {
        return await invoke<Response>("call", { req });
      } catch (e) {
        throw toAppError(e);
      }
    },
    subscribe(cb) {
      listeners.add(cb);
      if (!unlisten) {
        unlisten = import("@tauri-apps/api/event").then(({ listen }) =>
          listen<AppEvent>("run-event", (e) => {
            for (const l of [...listeners]) l(e.payload);
          }),
        );
      }
      return () => {
        listeners.delete(cb);
        if (listeners.size === 0 && unlisten) {
          const u = unlisten;
          unlisten = null;
          void u.then((f) => f());
        }
      };
    },
  };
}

// ---------------------------------------------------------------------------------------
// Browser (`sluice serve`)

export interface HttpTransportOptions {
  /** Origin (and path prefix) of the server; the page's own origin by default. */
  baseUrl: string;
  token: string | null;
  fetch?: typeof fetch;
  EventSource?: typeof EventSource;
}

export function httpTransport(opts: HttpTransportOptions): Transport {
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init));
  const url = (path: string) => new URL(path, opts.baseUrl).toString();
  const listeners = new Set<RunEventListener>();
  const laggedListeners = new Set<(missed: number) => void>();
  let source: EventSource | null = null;

  const open = () => {
    const ES = opts.EventSource ?? (typeof EventSource !== "undefined" ? EventSource : undefined);
    if (!ES) return;
    const u = new URL("api/events", opts.baseUrl);
    if (opts.token) u.searchParams.set("token", opts.token);
    source = new ES(u.toString());
    source.addEventListener("run-event", (e) => {
      let event: AppEvent;
      try {
        event = JSON.parse((e as MessageEvent<string>).data) as AppEvent;
      } catch {
        return;
      }
      for (const l of [...listeners]) l(event);
    });
    source.addEventListener("lagged", (e) => {
      let missed = 0;
      try {
        missed = Number((JSON.parse((e as MessageEvent<string>).data) as { missed?: unknown }).missed) || 0;
      } catch {
        // A lagged signal without a readable count still means "re-read the state".
      }
      for (const l of [...laggedListeners]) l(missed);
    });
  };

  return {
    mode: "browser",
    async call(req) {
      let res: globalThis.Response;
      try {
        res = await doFetch(url("api/call"), {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
          },
          body: JSON.stringify(req),
        });
      } catch (e) {
        throw new AppCallError({ kind: "io", message: `cannot reach the Sluice server: ${e instanceof Error ? e.message : String(e)}` });
      }
      const text = await res.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      if (!res.ok) {
        if (isAppError(body)) throw new AppCallError(body);
        throw new AppCallError({
          kind: res.status === 401 ? "unauthorized" : res.status === 404 ? "not_found" : "internal",
          message: text.trim() || `HTTP ${res.status}`,
        });
      }
      if (typeof body !== "object" || body === null) {
        throw new AppCallError({ kind: "internal", message: `the server answered ${req.op} with no JSON body` });
      }
      return body as Response;
    },
    subscribe(cb) {
      listeners.add(cb);
      if (!source) open();
      return () => {
        listeners.delete(cb);
        if (listeners.size === 0 && source) {
          source.close();
          source = null;
        }
      };
    },
    onLagged(cb) {
      laggedListeners.add(cb);
      return () => laggedListeners.delete(cb);
    },
  };
}

// ---------------------------------------------------------------------------------------

let transport: Transport | null = null;

function defaultTransport(): Transport {
  if (isTauri()) return tauriTransport();
  return httpTransport({ baseUrl: window.location.origin + "/", token: takeToken() });
}

function current(): Transport {
  transport ??= defaultTransport();
  return transport;
}

/** Picks the transport at start (and reads the token out of the address bar). */
export function initTransport(): Transport {
  return current();
}

/** Replaces the transport (tests, and an embedding that brings its own). */
export function setTransport(t: Transport | null): void {
  transport = t;
}

export function transportMode(): "desktop" | "browser" {
  return current().mode;
}

/** One request to the engine, answered by the response of the same op. */
export async function call<R extends Request>(req: R): Promise<ResponseOf<R["op"]>> {
  let res: Response;
  try {
    res = await current().call(req);
  } catch (e) {
    throw toAppError(e);
  }
  if (res.op !== req.op) {
    throw new AppCallError({ kind: "internal", message: `asked for ${req.op}, the engine answered ${res.op}` });
  }
  return res as ResponseOf<R["op"]>;
}

/** Subscribes to run events (all runs); returns the unsubscribe. */
export function onRunEvent(cb: RunEventListener): () => void {
  return current().subscribe(cb);
}
