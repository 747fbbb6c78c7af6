// Browser end-to-end test of running flows in the designer (issue 6), against a real
// `sluice serve` in Debian's Chromium: run an example and watch the row counts reach the
// totals the data gives; preview a node without running; break a script and follow the
// error to its line; stop a long run (its target left untouched); reload the page during a
// run and find it again; the run history lists what ran.
//
// usage: node e2e/run.mjs   (after `npm run build` and `cargo build`; scripts/test.sh runs
// it). Same environment as e2e/browser.mjs. Prints "N passed, N failed".

import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Checks, OUT, ROOT, StopChecks, assert, assertEqual, cleanUp, launchBrowser, parseCsv, scratchFolder, startServe, stopServe, waitForStillCanvas } from "./lib.mjs";

const checks = new Checks("run");
const work = scratchFolder();
mkdirSync(OUT, { recursive: true });

// The urgent-tickets example, reading the copy of tickets.csv in the scratch folder.
const urgent = JSON.parse(readFileSync(join(ROOT, "flows-examples", "tickets-urgent", "urgent.flow.json"), "utf8"));
urgent.params[0].default = "tickets.csv";
writeFileSync(join(work, "urgent.flow.json"), JSON.stringify(urgent, null, 2) + "\n");
cpSync(join(ROOT, "flows-examples", "script", "script.flow.json"), join(work, "script.flow.json"));

// What the urgent flow must count: every ticket read, those urgent or unhappy kept.
const [header, ...tickets] = parseCsv(readFileSync(join(work, "tickets.csv"), "utf8"));
const col = (name) => header.indexOf(name);
const expectedUrgent = tickets.filter((r) => r[col("priority")] === "urgent" || (r[col("satisfaction")] !== "" && Number(r[col("satisfaction")]) <= 2)).length;

// A long run: 600,000 tickets through a Rhai expression to a CSV file.
const lines = readFileSync(join(work, "tickets.csv"), "utf8").trim().split("\n");
const body = lines.slice(1).join("\n") + "\n";
const big = [lines[0] + "\n"];
for (let i = 0; i < 2000; i++) big.push(body);
writeFileSync(join(work, "big.csv"), big.join(""));
writeFileSync(
  join(work, "long.flow.json"),
  JSON.stringify({
    version: 1,
    name: "Long run",
    nodes: [
      { id: "read", kind: "csv_source", config: { path: "big.csv" }, position: { x: 0, y: 0 } },
      { id: "minutes", kind: "compute", config: { fields: [{ field: "minutes", type: "float", expression: "handle_seconds / 60.0" }] }, position: { x: 260, y: 0 } },
      { id: "write", kind: "csv_sink", config: { path: "out/long.csv" }, position: { x: 520, y: 0 } },
    ],
    edges: [
      { from: "read", from_port: "out", to: "minutes", to_port: "in" },
      { from: "minutes", from_port: "out", to: "write", to_port: "in" },
    ],
  }, null, 2) + "\n",
);

let serve;
let browser;

const waitStatus = (page, want, timeout = 60_000) =>
  page.waitForFunction((w) => document.querySelector('[data-testid="run-status"]')?.getAttribute("data-status") === w, want, { timeout });
const rowsOut = async (page, id) => Number(((await page.getByTestId(`node-rows-out-${id}`).textContent()) ?? "").replace(/[^\d]/g, ""));

async function open(page, name) {
  await page.getByTestId("btn-open").click();
  const dirty = page.getByTestId("unsaved-discard");
  if (await dirty.isVisible().catch(() => false)) await dirty.click();
  await page.getByTestId("file-dialog-entry").filter({ hasText: name }).dblclick();
  await page.waitForFunction((n) => window.__sluice.store.getState().path?.endsWith(n), name, { timeout: 10_000 });
}

async function select(page, nodeId) {
  await page.getByTestId("btn-fit").click();
  await waitForStillCanvas(page);
  await page.locator(`.react-flow__node[data-id="${nodeId}"]`).click({ position: { x: 40, y: 12 } });
  await page.getByTestId("node-id-input").and(page.locator(`[value="${nodeId}"]`)).waitFor({ timeout: 5_000 });
}

try {
  serve = await startServe(work, [join(work, "urgent.flow.json")]);
  browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 }, locale: "en-US" });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));

  await checks.check("the example opens and runs; the counts reach the data's totals", async () => {
    await page.goto(serve.url);
    await page.locator('[data-testid="app-root"][data-ready="true"]').waitFor({ timeout: 30_000 });
    await page.locator('.react-flow__node[data-id="escalations"]').waitFor();
    await page.getByTestId("btn-run").click();
    await waitStatus(page, "succeeded");
    // The last metrics arrive with the end of the run; the canvas shows them within a flush.
    await page.waitForFunction(
      ([n]) => Number((document.querySelector('[data-testid="node-rows-out-tickets"]')?.textContent ?? "").replace(/[^\d]/g, "")) === n,
      [tickets.length],
      { timeout: 5_000 },
    );
    assertEqual(await rowsOut(page, "tickets"), tickets.length, "rows read by 'tickets'");
    assertEqual(await rowsOut(page, "urgent"), expectedUrgent, "rows kept by 'urgent'");
    assertEqual(await page.getByTestId("node-metrics-escalations").getAttribute("data-state"), "done", "state of the sink");
    const written = parseCsv(readFileSync(join(work, "out", "escalations.csv"), "utf8")).length - 1;
    assertEqual(written, expectedUrgent, "rows in the written file");
    await page.screenshot({ path: join(OUT, "run-done.png") });
  });

  await checks.check("an edge shows the rows that crossed it", async () => {
    const label = page.locator('[data-testid^="edge-rows-urgent.out-escalations"]');
    await label.first().waitFor({ timeout: 5_000 });
    const text = (await label.first().textContent()) ?? "";
    assertEqual(Number(text.replace(/[^\d]/g, "")), expectedUrgent, `edge label '${text}'`);
  });

  await checks.check("the preview shows a node's first rows with field types, without a run", async () => {
    await select(page, "urgent");
    await page.getByTestId("bottom-tab-preview").click();
    await page.getByTestId("preview-row").first().waitFor({ timeout: 15_000 });
    const columns = await page.getByTestId("preview-column").allTextContents();
    assert(columns.some((c) => c.includes("priority")), `a priority column: ${columns.join(" | ")}`);
    assert(columns.some((c) => /ticket_id/.test(c) && /int/i.test(c)), `ticket_id shown with its type: ${columns.join(" | ")}`);
    const first = (await page.getByTestId("preview-row").first().textContent()) ?? "";
    assert(/urgent/.test(first) || /[12]/.test(first), `the first previewed row passes the filter: ${first}`);
  });

  await checks.check("a script error is reported at its line and opens the script there", async () => {
    await open(page, "script.flow.json");
    await select(page, "escalate");
    const editor = page.locator('[data-testid="input-script"]');
    await editor.click();
    await page.keyboard.press("Control+Home");
    await page.keyboard.press("End");
    await page.keyboard.press("Enter");
    await page.keyboard.type("let broken = no_such_function(row.priority);");
    await page.getByTestId("btn-run").click();
    await waitStatus(page, "failed");
    await page.getByTestId("bottom-tab-logs").click();
    const jump = page.getByTestId("log-open-script").first();
    await jump.waitFor({ timeout: 10_000 });
    assert(/2/.test((await jump.textContent()) ?? ""), `the error names line 2: ${await jump.textContent()}`);
    const errorRow = page.locator('[data-testid="log-row"][data-node="escalate"]').filter({ hasText: "no_such_function" });
    await errorRow.first().waitFor();
    // Click elsewhere first, so opening the script is the click's doing.
    await page.locator(".react-flow__pane").click({ position: { x: 5, y: 5 } });
    await jump.click();
    await page.getByTestId("node-id-input").and(page.locator('[value="escalate"]')).waitFor({ timeout: 5_000 });
    await page.waitForFunction(
      () => document.querySelector('[data-testid="input-script"]')?.closest(".cm-editor")?.querySelector(".cm-activeLine")?.textContent?.includes("no_such_function"),
      null,
      { timeout: 5_000 },
    );
    // Jumping to the line scrolls the editor, not the window: the toolbar stays in view.
    const bar = await page.getByTestId("toolbar").boundingBox();
    assert(bar && bar.y >= 0, `the toolbar is still in view (top at ${bar?.y})`);
    await page.screenshot({ path: join(OUT, "run-script-error.png") });
  });

  await checks.check("a long run can be stopped and leaves its target untouched", async () => {
    await open(page, "long.flow.json");
    await page.getByTestId("btn-run").click();
    await waitStatus(page, "running", 15_000);
    await page.waitForFunction(() => Number((document.querySelector('[data-testid="node-rows-out-read"]')?.textContent ?? "0").replace(/[^\d]/g, "")) > 0, null, { timeout: 30_000 });
    const seen = await rowsOut(page, "read");
    assert(seen < 600_000, `the run was stopped before the end (${seen} rows read)`);
    await page.getByTestId("btn-stop").click();
    await waitStatus(page, "stopped", 30_000);
    assert(!existsSync(join(work, "out", "long.csv")), "a stopped run writes no partial out/long.csv");
  });

  await checks.check("a reloaded page finds the run still going, and can stop it", async () => {
    await page.getByTestId("btn-run").click();
    await waitStatus(page, "running", 15_000);
    await page.reload();
    await page.locator('[data-testid="app-root"][data-ready="true"]').waitFor({ timeout: 30_000 });
    await waitStatus(page, "running", 15_000);
    await page.waitForFunction(() => Number((document.querySelector('[data-testid="node-rows-out-read"]')?.textContent ?? "0").replace(/[^\d]/g, "")) > 0, null, { timeout: 30_000 });
    await page.screenshot({ path: join(OUT, "run-reattached.png") });
    await page.getByTestId("btn-stop").click();
    await waitStatus(page, "stopped", 30_000);
  });

  await checks.check("the history lists the runs, with the failed one's error", async () => {
    await page.getByTestId("bottom-tab-history").click();
    await page.getByTestId("history-panel").waitFor();
    const allFlows = page.getByTestId("history-all-flows");
    if (!(await allFlows.isChecked())) await allFlows.check();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-row"]').length >= 4, null, { timeout: 10_000 });
    const rows = await page.getByTestId("history-row").allTextContents();
    assert(rows.some((r) => /script|Escalat/i.test(r)), `the script flow's run is listed: ${rows.join(" / ")}`);
    await page.getByTestId("history-row").filter({ hasText: /Urgent/ }).first().click();
    await page.getByTestId("history-detail").waitFor();
    const nodes = await page.getByTestId("history-node-row").allTextContents();
    assert(nodes.some((n) => n.includes("tickets") && n.includes(String(tickets.length))), `per-node counts: ${nodes.join(" / ")}`);
    await page.screenshot({ path: join(OUT, "run-history.png") });
  });

  await checks.check("the run panels speak Chinese", async () => {
    await page.getByTestId("language-switch").selectOption("zh-CN");
    const label = await page.getByTestId("btn-run").getAttribute("aria-label");
    assert(/[\u4e00-\u9fff]/.test(label ?? ""), `the Run button is labelled in Chinese: ${label}`);
    const tab = (await page.getByTestId("bottom-tab-logs").textContent()) ?? "";
    assert(/[\u4e00-\u9fff]/.test(tab), `the Logs tab is in Chinese: ${tab}`);
    await page.screenshot({ path: join(OUT, "run-zh.png") });
    await page.getByTestId("language-switch").selectOption("en");
  });

  await checks.check("no uncaught errors in the page", async () => {
    assertEqual(pageErrors, [], "page errors");
  });
} catch (e) {
  if (!(e instanceof StopChecks)) {
    checks.failed += 1;
    console.log(`FAIL run: ${e?.stack ?? e}`);
  }
} finally {
  await browser?.close();
  stopServe(serve);
  cleanUp(work);
}
process.exit(checks.summary());
