// Field paths: how a form field is named in test ids and element ids, and how the engine's
// diagnostic `field` strings are matched to it.

import type { FieldSpec } from "./schemaToForm";
import { variantIndex } from "./defaults";
import type { FormDiagnostic } from "./types";

export type Path = ReadonlyArray<string | number>;

/** `["rules", 0, "condition"]` → `rules.0.condition` (test ids, diagnostics index). */
export function pathKey(path: Path): string {
  return path.join(".");
}

/** A diagnostic's `field` (`fields/2/name`, `/rules/0/condition`, `config/path`,
 *  `config.rules[0].name`) as a path key (`fields.2.name`). */
export function normaliseDiagnosticField(field: string): string {
  let f = field.trim();
  f = f.replace(/\[(\d+)\]/g, ".$1");
  const parts = f
    .split(/[/.]/)
    .filter((p) => p !== "")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  // A document path (`nodes/3/config/path`) or a node-relative one (`config/path`).
  const configAt = parts.indexOf("config");
  const rest = configAt >= 0 && (configAt === 0 || parts[0] === "nodes") ? parts.slice(configAt + 1) : parts;
  return rest.join(".");
}

/** Every path the form shows for this value (objects' properties, list items, map entries,
 *  the chosen variant's fields): where a diagnostic can be placed. */
export function collectPaths(spec: FieldSpec, value: unknown, path: Path, out: Set<string>): Set<string> {
  if (path.length > 0) out.add(pathKey(path));
  switch (spec.kind) {
    case "object": {
      const obj = isRecord(value) ? value : {};
      for (const f of spec.fields) collectPaths(f, obj[f.name], [...path, f.name], out);
      break;
    }
    case "list":
      if (Array.isArray(value)) value.forEach((item, i) => collectPaths(spec.item, item, [...path, i], out));
      break;
    case "map":
      if (isRecord(value)) for (const [k, v] of Object.entries(value)) collectPaths(spec.value, v, [...path, k], out);
      break;
    case "variant": {
      const index = variantIndex(spec, value);
      const option = spec.variants[index];
      if (option?.body) {
        if (spec.tagging === "external") collectPaths(option.body, (value as Record<string, unknown>)[option.tag], [...path, option.tag], out);
        else collectPaths(option.body, value, path, out);
      }
      break;
    }
    default:
      break;
  }
  return out;
}

export interface DiagnosticIndex {
  /** Diagnostics placed at each shown path (an unknown sub-path goes to its nearest shown
   *  ancestor). */
  byPath: Map<string, FormDiagnostic[]>;
  /** Diagnostics of the node that name no shown field. */
  general: FormDiagnostic[];
}

export function indexDiagnostics(diagnostics: FormDiagnostic[], shown: Set<string>): DiagnosticIndex {
  const byPath = new Map<string, FormDiagnostic[]>();
  const general: FormDiagnostic[] = [];
  for (const d of diagnostics) {
    if (!d.field) {
      general.push(d);
      continue;
    }
    const parts = normaliseDiagnosticField(d.field).split(".").filter(Boolean);
    let placed = false;
    for (let n = parts.length; n > 0; n--) {
      const key = parts.slice(0, n).join(".");
      if (shown.has(key)) {
        const list = byPath.get(key) ?? [];
        list.push(d);
        byPath.set(key, list);
        placed = true;
        break;
      }
    }
    if (!placed) general.push(d);
  }
  return { byPath, general };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A copy of `obj` with `key` set, keeping the key's position (so a saved file diffs well). */
export function withKey(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  return { ...obj, [key]: value };
}

/** A copy of `obj` without `key`. */
export function withoutKey(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _removed, ...rest } = obj;
  return rest;
}

/** A copy of `obj` with `from` renamed to `to` at the same position. */
export function renameKey(obj: Record<string, unknown>, from: string, to: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k === from ? to : k] = v;
  return out;
}
