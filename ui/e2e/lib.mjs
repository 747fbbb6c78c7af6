// Shared pieces of the browser end-to-end tests: start `sluice serve` in a scratch folder,
// launch Debian's Chromium through playwright-core, and count checks so every script ends
// with the same "N passed, N failed" line as the other test commands.

import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const UI = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = resolve(UI, "..");
export const OUT = join(UI, "e2e", "out");

/** The engine binary: $SLUICE_BIN, else the debug build in $CARGO_TARGET_DIR or ./target. */
export function sluiceBinary() {
  if (process.env.SLUICE_BIN) return process.env.SLUICE_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, "target");
  return join(target, "debug", "sluice");
}

/** A scratch working folder with the example data copied in (`tickets.csv`). */
export function scratchFolder() {
  const dir = mkdtempSync(join(tmpdir(), "sluice-e2e-"));
  cpSync(join(ROOT, "flows-examples", "data", "tickets.csv"), join(dir, "tickets.csv"));
  mkdirSync(join(dir, "state"));
  return dir;
}

/**
 * Starts `sluice serve --port 0` in `workDir` and resolves with its URL (token included) once
 * it printed its "Sluice designer:" line. History and recent files go to `workDir/state`.
 */
export function startServe(workDir, args = []) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(sluiceBinary(), ["serve", "--port", "0", "--ui-dir", join(UI, "dist"), ...args], {
      cwd: workDir,
      env: { ...process.env, SLUICE_STATE_DIR: join(workDir, "state") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const timer = setTimeout(() => reject(new Error(`sluice serve printed no address within 30 s:\n${output}`)), 30_000);
    const onData = (chunk) => {
      output += chunk.toString();
      const m = output.match(/Sluice designer: (http:\/\/127\.0\.0\.1:\d+\/\?token=\w+)/);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ url: m[1], child, output: () => output });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`sluice serve exited with ${code} before it was ready:\n${output}`));
    });
  });
}

export function stopServe(serve) {
  if (serve && serve.child.exitCode === null) serve.child.kill("SIGTERM");
}

/** Debian's Chromium, headless, without the background calls this closed network refuses. */
export async function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...extraArgs,
    ],
  });
}

/** Runs named checks in order, each a function; a failed check is reported and the rest
 *  still run only when they do not depend on it (`stopOnFailure`). */
export class Checks {
  constructor(suite) {
    this.suite = suite;
    this.passed = 0;
    this.failed = 0;
  }

  async check(name, fn, { stopOnFailure = true } = {}) {
    const started = Date.now();
    try {
      await fn();
      this.passed += 1;
      console.log(`ok   ${this.suite}: ${name} (${Date.now() - started} ms)`);
      return true;
    } catch (e) {
      this.failed += 1;
      console.log(`FAIL ${this.suite}: ${name}\n     ${String(e?.stack ?? e).split("\n").join("\n     ")}`);
      if (stopOnFailure) throw new StopChecks();
      return false;
    }
  }

  summary() {
    console.log(`${this.passed} passed, ${this.failed} failed`);
    return this.failed === 0 ? 0 : 1;
  }
}

export class StopChecks extends Error {}

/**
 * Waits until the canvas stops moving (a fit or a jump animates the viewport for a few
 * hundred ms): the viewport's transform read twice, 100 ms apart, is the same.
 */
export async function waitForStillCanvas(page) {
  await page.evaluate(() => {
    window.__lastViewport = undefined;
  });
  await page.waitForFunction(
    () => {
      const t = document.querySelector(".react-flow__viewport")?.style.transform ?? "";
      const still = t !== "" && t === window.__lastViewport;
      window.__lastViewport = t;
      return still;
    },
    null,
    { polling: 100, timeout: 10_000 },
  );
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

export function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

export function cleanUp(dir) {
  if (process.env.SLUICE_E2E_KEEP) {
    console.log(`kept the scratch folder ${dir}`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
}

export { mkdirSync };

/** RFC 4180 CSV text → rows of cells (quoted cells may hold commas, quotes and newlines). */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}
