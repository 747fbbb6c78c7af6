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

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const TIMEOUT_MS = 60_000;
const POLL_MS = 250;
const ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf";
const HERE = dirname(fileURLToPath(import.meta.url));
const SCREENSHOT = resolve(HERE, "out", "desktop.png");
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
  } finally {
    await screenshot(sid);
    await wd("DELETE", sid).catch(() => {});
  }
}

async function screenshot(sid) {
  try {
    const png = await wd("GET", `${sid}/screenshot`);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    writeFileSync(SCREENSHOT, Buffer.from(png, "base64"));
    console.log(`screenshot: ${SCREENSHOT}`);
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
  console.log("ok - desktop app opens the flow, draws its nodes and runs it to the end");
  console.log("1 passed, 0 failed");
} catch (e) {
  console.log(`FAIL - desktop app opens the flow, draws its nodes and runs it to the end: ${e.message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
