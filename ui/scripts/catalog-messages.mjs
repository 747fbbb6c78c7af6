#!/usr/bin/env node
// Writes the English node-catalog messages (src/i18n/locales/en/catalog.json) from the
// engine's catalog and reports which keys the Chinese file lacks or has left over, so a
// translator knows exactly what to add after a node kind or config field changed.
//
//   node scripts/catalog-messages.mjs            write en/catalog.json, report zh-CN
//   node scripts/catalog-messages.mjs --check    write nothing; exit 1 if en is stale or
//                                                zh-CN lacks or has extra keys
//   --catalog FILE   catalog to read (default src/api/generated/catalog.json; also takes
//                    the output of `sluice nodes --json`)
//
// The Chinese file is written by hand, never generated: a missing key is reported, not
// filled with English.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, resolve, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { compareKeys, deriveCatalogMessages, flattenMessages } from "./catalog-messages-lib.mjs";

const ui = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const check = args.includes("--check");
const at = args.indexOf("--catalog");
const catalogPath = at >= 0 ? resolve(args[at + 1] ?? "") : resolve(ui, "src/api/generated/catalog.json");
const enPath = resolve(ui, "src/i18n/locales/en/catalog.json");
const zhPath = resolve(ui, "src/i18n/locales/zh-CN/catalog.json");

if (!existsSync(catalogPath)) {
  console.error(
    `no catalog at ${catalogPath}\n` +
      "regenerate the bindings (SLUICE_WRITE_BINDINGS=1 cargo test --test ts_bindings) or pass\n" +
      "--catalog FILE with the output of `cargo run -q -- nodes --json`",
  );
  process.exit(2);
}

const derived = deriveCatalogMessages(JSON.parse(readFileSync(catalogPath, "utf8")));
const text = JSON.stringify(derived, null, 2) + "\n";
const rel = (p) => relative(process.cwd(), p) || p;
let failed = false;

const current = existsSync(enPath) ? readFileSync(enPath, "utf8") : "";
if (current === text) {
  console.log(`${rel(enPath)} is up to date`);
} else if (check) {
  console.error(`${rel(enPath)} is stale: run node scripts/catalog-messages.mjs`);
  failed = true;
} else {
  writeFileSync(enPath, text);
  console.log(`wrote ${rel(enPath)} (${flattenMessages(derived).length} messages)`);
}

const zh = existsSync(zhPath) ? JSON.parse(readFileSync(zhPath, "utf8")) : {};
const { missing, extra } = compareKeys(derived, zh);
const enValues = new Map(flattenMessages(derived));
const copied = flattenMessages(zh).filter(([k, v]) => /[A-Za-z]{3}/.test(v) && enValues.get(k) === v && !/[\u3400-\u9fff]/.test(v));
if (missing.length) console.log(`\n${rel(zhPath)} lacks ${missing.length} key(s):\n  ${missing.join("\n  ")}`);
if (extra.length) console.log(`\n${rel(zhPath)} has ${extra.length} key(s) the catalog no longer has:\n  ${extra.join("\n  ")}`);
if (copied.length) console.log(`\n${copied.length} zh-CN value(s) equal the English text (fine for names like CSV):\n  ${copied.map(([k]) => k).join("\n  ")}`);
if (!missing.length && !extra.length) console.log(`${rel(zhPath)} has every key and no extra ones`);
if (check && (missing.length || extra.length)) failed = true;
process.exit(failed ? 1 : 0);
