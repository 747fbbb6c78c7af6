// How the designer behaves while a big run goes (issue 6): a CSV of N tickets (5 M by
// default) → compute → filter → CSV, run from the browser designer against `sluice serve`
// (release build), watched in headless Chromium. Measures, during the run:
//   - how often the canvas count of the source changes (updates/s seen by the user),
//   - frame gaps (requestAnimationFrame; a frozen page shows long gaps),
//   - the page's JS heap (performance.memory) and the renderer processes' RSS,
// and checks the final counts. No assertion on speed: this prints figures for bench/README.md.
//
// usage: node bench/ui/live-run.mjs [--rows N]
// env:   SLUICE_BIN (default target/release/sluice), CHROMIUM.

import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
process.env.SLUICE_BIN ??= join(process.env.CARGO_TARGET_DIR ?? join(ROOT, "target"), "release", "sluice");
const { launchBrowser, startServe, stopServe } = await import(join(ROOT, "ui", "e2e", "lib.mjs"));

const args = process.argv.slice(2);
const rows = Number(args[args.indexOf("--rows") + 1] || 0) || 5_000_000;
const data = join(ROOT, "bench", "data");
const work = join(data, `ui-live-${rows}`);
mkdirSync(join(work, "state"), { recursive: true });

// The sample tickets repeated up to `rows` rows (kept between runs: bench/data is ignored).
const csv = join(work, "tickets.csv");
if (!existsSync(csv)) {
  const lines = readFileSync(join(ROOT, "flows-examples", "data", "tickets.csv"), "utf8").trim().split("\n");
  const out = createWriteStream(csv);
  out.write(lines[0] + "\n");
  const body = lines.slice(1);
  for (let i = 0; i < rows; i++) {
    if (!out.write(body[i % body.length] + "\n")) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}
writeFileSync(
  join(work, "live.flow.json"),
  JSON.stringify({
    version: 1,
    name: `Live run (${rows} rows)`,
    nodes: [
      { id: "read", kind: "csv_source", config: { path: "tickets.csv" }, position: { x: 0, y: 0 } },
      { id: "minutes", kind: "compute", config: { fields: [{ field: "minutes", type: "float", expression: "handle_seconds / 60.0" }] }, position: { x: 260, y: 0 } },
      { id: "urgent", kind: "filter", config: { condition: 'priority == "urgent"' }, position: { x: 520, y: 0 } },
      { id: "write", kind: "csv_sink", config: { path: "out/urgent.csv" }, position: { x: 780, y: 0 } },
    ],
    edges: [
      { from: "read", from_port: "out", to: "minutes", to_port: "in" },
      { from: "minutes", from_port: "out", to: "urgent", to_port: "in" },
      { from: "urgent", from_port: "out", to: "write", to_port: "in" },
    ],
  }, null, 2) + "\n",
);

/** RSS (MB) of Chromium's renderer processes, summed (the page's process and its helpers). */
function rendererRssMb() {
  let kb = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("chromium") || !cmd.includes("--type=renderer")) continue;
      const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/);
      if (m) kb += Number(m[1]);
    } catch {
      // The process ended while being read.
    }
  }
  return kb / 1024;
}

const serve = await startServe(work, [join(work, "live.flow.json")]);
// Precise heap figures instead of Chromium's coarse, rate-limited ones.
const browser = await launchBrowser(["--enable-precise-memory-info"]);
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  await page.goto(serve.url);
  await page.locator('[data-testid="app-root"][data-ready="true"]').waitFor({ timeout: 30_000 });
  await page.locator('.react-flow__node[data-id="write"]').waitFor();
  await page.evaluate(() => {
    const w = window;
    w.__bench = { frames: [], changes: [], heap: [] };
    const tick = (t) => {
      w.__bench.frames.push(t);
      if (!w.__bench.stop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    let last = "";
    const watch = () => {
      const el = document.querySelector('[data-testid="node-rows-out-read"]');
      const text = el?.textContent ?? "";
      if (text !== last) {
        last = text;
        w.__bench.changes.push(performance.now());
      }
    };
    new MutationObserver(watch).observe(document.body, { subtree: true, childList: true, characterData: true });
    w.__bench.heapTimer = setInterval(() => w.__bench.heap.push(performance.memory?.usedJSHeapSize ?? 0), 250);
  });
  const rss = [];
  const rssTimer = setInterval(() => rss.push(rendererRssMb()), 250);
  const t0 = Date.now();
  await page.getByTestId("btn-run").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.getAttribute("data-status") === "running", null, { timeout: 30_000 });
  const runStart = await page.evaluate(() => performance.now());
  await page.waitForFunction(
    () => ["succeeded", "failed", "stopped"].includes(document.querySelector('[data-testid="run-status"]')?.getAttribute("data-status") ?? ""),
    null,
    { timeout: 600_000, polling: 500 },
  );
  const wall = (Date.now() - t0) / 1000;
  clearInterval(rssTimer);
  const status = await page.getByTestId("run-status").getAttribute("data-status");
  // The last metrics come with the end of the run: wait until the canvas shows the total.
  if (status === "succeeded") {
    await page.waitForFunction(
      (n) => (document.querySelector('[data-testid="node-rows-out-read"]')?.textContent ?? "") === String(n),
      rows,
      { timeout: 10_000 },
    );
  }
  const b = await page.evaluate((start) => {
    const w = window;
    w.__bench.stop = true;
    clearInterval(w.__bench.heapTimer);
    const end = performance.now();
    const frames = w.__bench.frames.filter((t) => t >= start);
    const gaps = frames.slice(1).map((t, i) => t - frames[i]).sort((x, y) => x - y);
    const changes = w.__bench.changes.filter((t) => t >= start);
    return {
      seconds: (end - start) / 1000,
      changes: changes.length,
      gaps: { n: gaps.length, p50: gaps[gaps.length >> 1], p95: gaps[Math.floor(gaps.length * 0.95)], max: gaps[gaps.length - 1] },
      heap: { min: Math.min(...w.__bench.heap), max: Math.max(...w.__bench.heap) },
      readOut: document.querySelector('[data-testid="node-rows-out-read"]')?.textContent,
      writeIn: document.querySelector('[data-testid="node-metrics-write"]')?.textContent,
    };
  }, runStart);
  const mb = (x) => (x / 1048576).toFixed(1);
  console.log(`rows ${rows}, run ${status}, wall ${wall.toFixed(1)} s (click to end seen by the page)`);
  console.log(`source count on the canvas changed ${b.changes} times in ${b.seconds.toFixed(1)} s = ${(b.changes / b.seconds).toFixed(1)} updates/s`);
  console.log(`frame gaps during the run: p50 ${b.gaps.p50?.toFixed(1)} ms, p95 ${b.gaps.p95?.toFixed(1)} ms, max ${b.gaps.max?.toFixed(1)} ms over ${b.gaps.n} frames`);
  console.log(`JS heap ${mb(b.heap.min)}–${mb(b.heap.max)} MB; renderer RSS ${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)} MB`);
  console.log(`final: source out ${b.readOut}; sink ${b.writeIn}`);
} finally {
  await browser.close();
  stopServe(serve);
}
