// Desktop smoke test: starts the real Sluice app (Tauri + WebKitGTK) through WebKitWebDriver
// with an example flow on its command line, and checks that the designer shows that flow's
// nodes. That covers the whole desktop path: the window loads ui/dist from the custom
// protocol, the UI calls the engine over IPC (`info`, then `open_flow`), and React Flow
// draws the answer.
//
// usage: node e2e/desktop.mjs APP_BINARY FLOW_FILE
// env:   WEBDRIVER_URL (default http://127.0.0.1:4445), a WebKitWebDriver started with
//        TAURI_WEBVIEW_AUTOMATION=true on a display (scripts/desktop-smoke.sh does all that).
// Writes a screenshot to e2e/out/desktop.png, prints "N passed, N failed", exits 1 on failure.
//
// A zero-dependency WebDriver client over fetch: WebKitWebDriver speaks plain W3C WebDriver,
// and the four calls used here do not justify webdriverio's 100+ packages.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const TIMEOUT_MS = 60_000;
const POLL_MS = 250;
const ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf";
const HERE = dirname(fileURLToPath(import.meta.url));
const SCREENSHOT = resolve(HERE, "out", "desktop.png");
const SCREENSHOT_BUILD = resolve(HERE, "out", "desktop-build.png");
const DRIVER = (process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4445").replace(/\/$/, "");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function wd(method, path, body) {
  const res = await fetch(DRIVER + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`WebDriver ${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok || json.value?.error) {
    const v = json.value ?? {};
    throw new Error(`WebDriver ${method} ${path}: ${v.error ?? res.status}: ${v.message ?? text.slice(0, 200)}`);
  }
  return json.value;
}

/** Polls `probe` until it returns a truthy value; the last error or `what` names a timeout. */
async function waitFor(what, probe, timeoutMs = TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${last})` : ""}`);
    }
    await sleep(POLL_MS);
  }
}

function readFlow(path) {
  let flow;
  try {
    flow = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`cannot read the flow file ${path}: ${e.message}`);
  }
  if (!Array.isArray(flow.nodes) || flow.nodes.length === 0) {
    throw new Error(`${path} has no nodes; the smoke test needs a flow with at least one node`);
  }
  return flow;
}

async function main() {
  const [appArg, flowArg] = process.argv.slice(2);
  if (!appArg || !flowArg) {
    console.error("usage: node e2e/desktop.mjs APP_BINARY FLOW_FILE");
    process.exit(2);
  }
  const app = resolve(appArg);
  const flowPath = resolve(flowArg);
  const flow = readFlow(flowPath);
  const expected = flow.nodes.length;
  const probe = flow.nodes.find((n) => n.title) ?? flow.nodes[0];
  const probeText = probe.title ?? probe.id;

  await waitFor(`WebKitWebDriver at ${DRIVER}`, async () => (await wd("GET", "/status")).ready, 15_000);

  let session;
  try {
    session = await wd("POST", "/session", {
      capabilities: { alwaysMatch: { "webkitgtk:browserOptions": { binary: app, args: [flowPath] } } },
    });
  } catch (e) {
    throw new Error(`the app did not start under WebKitWebDriver (${app}): ${e.message}`);
  }
  const sid = `/session/${session.sessionId}`;
  try {
    // The window first shows the designer, which then asks the engine for the flow; poll
    // until the canvas has drawn every node instead of acting on the first paint.
    let count = -1;
    await waitFor(`${expected} canvas nodes (.react-flow__node) of ${flowArg}`, async () => {
      const nodes = await wd("POST", `${sid}/elements`, { using: "css selector", value: ".react-flow__node" });
      count = nodes.length;
      return count === expected;
    }).catch((e) => {
      throw new Error(`${e.message}; the canvas showed ${count} node(s)`);
    });

    const selector = `.react-flow__node[data-id="${quoteForSelector(probe.id)}"]`;
    const [el] = await wd("POST", `${sid}/elements`, { using: "css selector", value: selector });
    if (!el) throw new Error(`no canvas node for node id "${probe.id}" (${selector})`);
    const id = el[ELEMENT_KEY];
    await waitFor(`node "${probe.id}" to show its title "${probeText}"`, async () => {
      // innerText, not WebDriver's Get Element Text: WebKitWebDriver answers "" for text
      // inside React Flow's transformed viewport. innerText is layout-aware all the same
      // (hidden text is left out of it).
      const [text, shown] = await Promise.all([
        wd("POST", `${sid}/execute/sync`, { script: "return arguments[0].innerText", args: [el] }),
        wd("GET", `${sid}/element/${id}/displayed`),
      ]);
      if (!shown) throw new Error(`node "${probe.id}" is not displayed`);
      if (!text.includes(probeText)) throw new Error(`node "${probe.id}" reads ${JSON.stringify(text)}`);
      return true;
    });

    // The palette lists the catalog the engine sent over IPC.
    await waitFor("the palette to list the node kinds", async () => {
      const items = await wd("POST", `${sid}/elements`, { using: "css selector", value: '[data-testid="palette-item-csv_source"]' });
      if (items.length !== 1) throw new Error(`found ${items.length} csv_source palette items`);
      const text = await wd("POST", `${sid}/execute/sync`, { script: "return arguments[0].innerText", args: [items[0]] });
      if (!text.trim()) throw new Error("the csv_source palette item shows no text");
      return true;
    });

    // One click runs the flow inside the app; the status chip reports the end.
    const [run] = await wd("POST", `${sid}/elements`, { using: "css selector", value: '[data-testid="btn-run"]' });
    if (!run) throw new Error("no Run button in the toolbar");
    await wd("POST", `${sid}/element/${run[ELEMENT_KEY]}/click`, {});
    let last = "";
    await waitFor("the run to succeed (run-status)", async () => {
      last = await wd("POST", `${sid}/execute/sync`, {
        script: 'const s = document.querySelector(\'[data-testid="run-status"]\'); return s ? s.getAttribute("data-status") + " " + s.innerText : "";',
        args: [],
      });
      if (last.startsWith("failed")) throw new Error(`the run failed: ${last}`);
      return last.startsWith("succeeded");
    }, 120_000).catch((e) => {
      throw new Error(`${e.message}; status: ${last}`);
    });
    // Every node of the flow ended done (a sink's rows, a transform's counts are drawn).
    const states = await wd("POST", `${sid}/execute/sync`, {
      script: 'return [...document.querySelectorAll(\'[data-testid^="node-metrics-"]\')].map(e => e.getAttribute("data-state"));',
      args: [],
    });
    if (states.length !== expected || states.some((s) => s !== "done")) throw new Error(`node states after the run: ${JSON.stringify(states)}`);
    await screenshot(sid, SCREENSHOT);

    await buildSaveAndReopen(sid);
  } finally {
    await screenshot(sid, SCREENSHOT_BUILD);
    await wd("DELETE", sid).catch(() => {});
  }
}

const script = (sid, body, args = []) => wd("POST", `${sid}/execute/sync`, { script: body, args });

/** Centre of the first element matching `selector`, in viewport pixels. */
async function centreOf(sid, selector) {
  const r = await script(sid, "const e = document.querySelector(arguments[0]); if (!e) return null; const b = e.getBoundingClientRect(); return [Math.round(b.x + b.width / 2), Math.round(b.y + b.height / 2)];", [selector]);
  if (!r) throw new Error(`nothing on screen matches ${selector}`);
  return r;
}

async function click(sid, selector) {
  const [el] = await wd("POST", `${sid}/elements`, { using: "css selector", value: selector });
  if (!el) throw new Error(`nothing matches ${selector}`);
  await wd("POST", `${sid}/element/${el[ELEMENT_KEY]}/click`, {});
  return el[ELEMENT_KEY];
}

/** A real mouse drag (W3C actions), from one element's centre to another's. */
async function drag(sid, fromSelector, toSelector) {
  const [x1, y1] = await centreOf(sid, fromSelector);
  const [x2, y2] = await centreOf(sid, toSelector);
  const move = (x, y, duration) => ({ type: "pointerMove", duration, x, y, origin: "viewport" });
  await wd("POST", `${sid}/actions`, {
    actions: [
      {
        type: "pointer",
        id: "mouse",
        parameters: { pointerType: "mouse" },
        actions: [move(x1, y1, 0), { type: "pointerDown", button: 0 }, move(Math.round((x1 + x2) / 2), Math.round((y1 + y2) / 2), 150), move(x2, y2, 150), { type: "pointerUp", button: 0 }],
      },
    ],
  });
  await wd("DELETE", `${sid}/actions`).catch(() => {});
}

const doc = (sid) => script(sid, "return window.__sluice.store.getState().doc;");

/**
 * What a first-time user does in the desktop app: a new flow, three kinds added from the
 * palette (double-click), laid out, wired with the mouse, forms filled; then it is saved
 * and opened again through the app's IPC (the native save dialog itself cannot be driven
 * through WebDriver, so the path is given to the same `save_flow` call the dialog feeds).
 */
async function buildSaveAndReopen(sid) {
  await click(sid, '[data-testid="btn-new"]');
  await waitFor("an empty new flow", async () => (await doc(sid)).nodes.length === 0, 10_000);
  for (const kind of ["csv_source", "filter", "csv_sink"]) {
    const [el] = await wd("POST", `${sid}/elements`, { using: "css selector", value: `[data-testid="palette-item-${kind}"]` });
    if (!el) throw new Error(`no palette item for ${kind}`);
    await script(sid, "arguments[0].scrollIntoView({block: 'center'}); arguments[0].dispatchEvent(new MouseEvent('dblclick', {bubbles: true}));", [el]);
  }
  await waitFor("three nodes from the palette", async () => (await doc(sid)).nodes.length === 3, 10_000);
  // Layout (elkjs, asynchronous) moves the nodes; fit then animates the view. Wait for
  // each to settle: the positions changed, then positions and view read the same twice.
  const canvasState = async () =>
    JSON.stringify([(await doc(sid)).nodes.map((n) => n.position), await script(sid, "return document.querySelector('.react-flow__viewport')?.style.transform;")]);
  const waitStill = async (what, changedFrom) => {
    let last = null;
    await waitFor(what, async () => {
      const now = await canvasState();
      const still = now === last && (changedFrom === undefined || now !== changedFrom);
      last = now;
      return still;
    }, 10_000);
  };
  const beforeLayout = await canvasState();
  await click(sid, '[data-testid="btn-layout"]');
  await waitStill("the layout to settle", beforeLayout);
  await click(sid, '[data-testid="btn-fit"]');
  await waitStill("the view to fit");
  const ids = Object.fromEntries((await doc(sid)).nodes.map((n) => [n.kind, n.id]));
  const handle = (id, type, port) => `.react-flow__node[data-id="${id}"] .react-flow__handle.${type}[data-handleid="${port}"]`;
  await drag(sid, handle(ids.csv_source, "source", "out"), handle(ids.filter, "target", "in"));
  await drag(sid, handle(ids.filter, "source", "out"), handle(ids.csv_sink, "target", "in"));
  await waitFor("two wires drawn with the mouse", async () => (await doc(sid)).edges.length === 2, 10_000).catch(async (e) => {
    throw new Error(`${e.message}; edges: ${JSON.stringify((await doc(sid)).edges)}`);
  });

  const fill = async (nodeId, testId, text) => {
    await click(sid, `.react-flow__node[data-id="${nodeId}"] .flow-node__title, .react-flow__node[data-id="${nodeId}"]`);
    await waitFor(`the form of ${nodeId}`, async () => (await script(sid, "return document.querySelector('[data-testid=\"node-id-input\"]')?.value;")) === nodeId, 10_000);
    const el = await click(sid, `[data-testid="${testId}"]`);
    await wd("POST", `${sid}/element/${el}/value`, { text });
  };
  await fill(ids.csv_source, "input-path", "tickets.csv");
  await fill(ids.filter, "input-condition", 'priority == "urgent"');
  await fill(ids.csv_sink, "input-path", "out/urgent.csv");
  await waitFor("the forms' values in the flow", async () => {
    const nodes = Object.fromEntries((await doc(sid)).nodes.map((n) => [n.kind, n.config]));
    return nodes.csv_source.path === "tickets.csv" && nodes.filter.condition === 'priority == "urgent"' && nodes.csv_sink.path === "out/urgent.csv";
  }, 10_000).catch(async (e) => {
    throw new Error(`${e.message}; configs: ${JSON.stringify((await doc(sid)).nodes.map((n) => n.config))}`);
  });

  const dir = mkdtempSync(join(tmpdir(), "sluice-desktop-"));
  const path = join(dir, "urgent.flow.json");
  // The source's file beside the flow, so the reopened flow checks clean.
  writeFileSync(join(dir, "tickets.csv"), readFileSync(resolve(HERE, "..", "..", "flows-examples", "data", "tickets.csv")));
  const saved = await wd("POST", `${sid}/execute/async`, {
    script:
      "const [path, done] = arguments; const f = window.__sluice.store.getState();" +
      "window.__TAURI_INTERNALS__.invoke('call', { req: { op: 'save_flow', path, flow: f.doc } }).then((r) => done(r.text), (e) => done('ERROR ' + JSON.stringify(e)));",
    args: [path],
  });
  if (typeof saved !== "string" || saved.startsWith("ERROR")) throw new Error(`save_flow over IPC: ${saved}`);
  if (readFileSync(path, "utf8") !== saved) throw new Error("the file on disk differs from the text save_flow answered");
  await script(sid, "window.__sluice.store.getState().load({version: 1, name: 'blank', nodes: [], edges: []}, null);");
  await script(sid, "window.__sluice.openFlow(arguments[0], {skipConfirm: true});", [path]);
  await waitFor("the saved flow reopened", async () => (await doc(sid)).nodes.length === 3 && (await doc(sid)).edges.length === 2, 10_000);
  const again = await wd("POST", `${sid}/execute/async`, {
    script: "const done = arguments[0]; window.__TAURI_INTERNALS__.invoke('call', { req: { op: 'format_flow', flow: window.__sluice.store.getState().doc } }).then((r) => done(r.text), (e) => done('ERROR ' + JSON.stringify(e)));",
    args: [],
  });
  if (again !== saved) throw new Error("the reopened flow would not save byte-identical");
}

async function screenshot(sid, file) {
  try {
    const png = await wd("GET", `${sid}/screenshot`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, Buffer.from(png, "base64"));
    console.log(`screenshot: ${file}`);
  } catch (e) {
    console.log(`no screenshot: ${e.message}`);
  }
}

// Node ids are [A-Za-z0-9_-] by the flow format, but quote defensively for the selector.
function quoteForSelector(s) {
  return s.replace(/["\\]/g, "\\$&");
}

try {
  await main();
  console.log("ok - desktop app opens the flow, draws its nodes, runs it to the end; a new flow built from the palette is saved and reopened");
  console.log("1 passed, 0 failed");
} catch (e) {
  console.log(`FAIL - desktop app: ${e.message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
