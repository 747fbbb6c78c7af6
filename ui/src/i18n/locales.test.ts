// Both languages carry the same messages, and the Chinese ones are really Chinese.
import { describe, expect, test } from "vitest";
import { compareKeys, flattenMessages } from "../../scripts/catalog-messages-lib.mjs";
import { NAMESPACES, resources } from "./index";

// Values that are the same in Chinese: product, format and language names.
const UNTRANSLATABLE = new Set(["Sluice", "English", "CSV", "TSV", "JSON", "NDJSON", "Excel", "SQL", "URL", "Rhai", "UTF-8", "GBK", "ID"]);
const HAN = /\p{Script=Han}/u;
const LATIN = /[A-Za-z]/;

describe.each(NAMESPACES)("namespace %s", (ns) => {
  const en = resources.en[ns] as object;
  const zh = resources["zh-CN"][ns] as object;

  test("en and zh-CN have exactly the same keys", () => {
    const { missing, extra } = compareKeys(en, zh);
    const report = [
      missing.length ? `zh-CN/${ns}.json lacks:\n  ${missing.join("\n  ")}` : "",
      extra.length ? `zh-CN/${ns}.json has keys en/${ns}.json lacks:\n  ${extra.join("\n  ")}` : "",
    ].filter(Boolean);
    expect(report.join("\n"), report.join("\n")).toBe("");
  });

  test("every message is a string (no arrays, numbers or nulls)", () => {
    const bad = [...flattenMessages(en).map(([k, v]) => ["en", k, v]), ...flattenMessages(zh).map(([k, v]) => ["zh-CN", k, v])]
      .filter(([, , v]) => typeof v !== "string")
      .map(([lang, k]) => `${lang}: ${k}`);
    expect(bad, bad.join("\n")).toEqual([]);
  });

  test("zh-CN is translated, not copied from English", () => {
    const zhValues = new Map(flattenMessages(zh));
    const relevant = flattenMessages(en).filter(([, v]) => LATIN.test(v));
    const untranslated = relevant
      .filter(([k]) => {
        const v = zhValues.get(k);
        return v === undefined || !(HAN.test(v) || UNTRANSLATABLE.has(v.trim()));
      })
      .map(([k, v]) => `${k}: ${JSON.stringify(zhValues.get(k))} (en: ${JSON.stringify(v)})`);
    const share = relevant.length ? 1 - untranslated.length / relevant.length : 1;
    expect(share, `${untranslated.length} of ${relevant.length} zh-CN/${ns}.json values hold no Chinese:\n  ${untranslated.join("\n  ")}`).toBeGreaterThanOrEqual(0.95);
  });
});

test("the check above catches a copied file", () => {
  // Guards the test itself: English copied into zh-CN must fail it.
  const en = resources.en.catalog as object;
  const copied = flattenMessages(en).filter(([, v]) => LATIN.test(v));
  const chinese = copied.filter(([, v]) => HAN.test(v) || UNTRANSLATABLE.has(v));
  expect(chinese.length / copied.length).toBeLessThan(0.95);
  expect(compareKeys({ a: { b: "x", c: "y" } }, { a: { b: "x" }, d: "z" })).toEqual({ missing: ["a › c"], extra: ["d"] });
});
