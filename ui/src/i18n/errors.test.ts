// Every diagnostic code the engine can emit and every AppError kind has a translated title,
// found by reading the Rust sources, so a new code cannot reach the UI untranslated.
import { describe, expect, test } from "vitest";
import { listFiles, readText, repoDir, repoRelative } from "../../scripts/repo-files.mjs";
import { resources } from "./index";

type Tree = { [key: string]: string | Tree };
const errors = { en: resources.en.errors as Tree, "zh-CN": resources["zh-CN"].errors as Tree };

// `Diagnostic::error("code", ...)` / `Diagnostic::warning(\n "code", ...)`.
const DIAGNOSTIC = /Diagnostic::(?:error|warning)\(\s*"([a-z0-9_]+)"/g;

function diagnosticCodes(): Map<string, string> {
  const codes = new Map<string, string>();
  for (const file of listFiles(`${repoDir}/src`, (p) => p.endsWith(".rs"))) {
    const text = readText(file);
    for (const m of text.matchAll(DIAGNOSTIC)) {
      const line = text.slice(0, m.index).split("\n").length;
      if (!codes.has(m[1])) codes.set(m[1], `${repoRelative(file)}:${line}`);
    }
  }
  return codes;
}

/** The variants of `pub enum AppErrorKind` in src/app/api.rs, as serde writes them (snake_case). */
function appErrorKinds(): string[] {
  const api = readText(`${repoDir}/src/app/api.rs`);
  const body = /pub enum AppErrorKind\s*\{([^}]*)\}/.exec(api)?.[1];
  if (!body) throw new Error("src/app/api.rs has no `pub enum AppErrorKind { ... }`");
  return body
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^[A-Z]\w*,?$/.test(l))
    .map((l) => l.replace(",", "").replace(/(?<!^)([A-Z])/g, "_$1").toLowerCase());
}

function lookup(tree: Tree, path: string[]): string | undefined {
  let node: string | Tree | undefined = tree;
  for (const p of path) node = typeof node === "object" ? node[p] : undefined;
  return typeof node === "string" ? node : undefined;
}

describe("diagnostic codes", () => {
  const codes = diagnosticCodes();

  test("the scan finds the engine's codes", () => {
    // If this fails the regex no longer matches how diagnostics are written.
    expect(codes.size).toBeGreaterThanOrEqual(20);
    expect([...codes.keys()]).toEqual(expect.arrayContaining(["cycle", "unknown_kind", "invalid_config", "json_syntax"]));
  });

  test.each(["en", "zh-CN"] as const)("%s/errors.json has a title and help for every code", (lang) => {
    const missing = [...codes]
      .flatMap(([code, where]) =>
        ["codes", "help"].filter((group) => !lookup(errors[lang], [group, code])?.trim()).map((group) => `${group}.${code} (emitted at ${where})`),
      )
      .sort();
    expect(missing, `${lang}/errors.json lacks:\n  ${missing.join("\n  ")}`).toEqual([]);
  });
});

describe("AppError kinds", () => {
  const kinds = appErrorKinds();

  test("the scan finds the kinds", () => {
    expect(kinds).toEqual(expect.arrayContaining(["bad_request", "not_found", "invalid_flow", "io", "run", "internal"]));
  });

  test.each(["en", "zh-CN"] as const)("%s/errors.json has a title for every kind", (lang) => {
    const missing = kinds.filter((k) => !lookup(errors[lang], ["kinds", k])?.trim());
    expect(missing, `${lang}/errors.json lacks kinds.${missing.join(", kinds.")}`).toEqual([]);
  });
});

test.each(["en", "zh-CN"] as const)("%s/errors.json has the generic fallback", (lang) => {
  for (const key of ["title", "unknownCode", "help"]) expect(lookup(errors[lang], ["generic", key]), key).toBeTruthy();
  expect(lookup(errors[lang], ["generic", "unknownCode"])).toContain("{{code}}");
});
