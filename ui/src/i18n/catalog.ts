// Node-catalog and error texts in the UI language: palette titles and descriptions, port
// labels, config field labels and help, enum option texts, and the titles of engine
// diagnostics. Each function takes the engine's own text as `fallback`, so a kind or field
// added to the engine before its messages shows in English rather than as a key.
//
// Messages live in the `catalog` namespace (locales/<lang>/catalog.json; the English file
// is generated from the catalog by scripts/catalog-messages.mjs) and the `errors` namespace.
// Field paths are schema paths as the property form names them: property names joined with
// `.`, list items `[]`, map values `{}` (`rules.[].condition`). They are keys of one flat
// object per kind, so lookups use a key separator no path can contain.
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import i18n from "./index";

const SEP = "\u001f";
const CATALOG = { ns: "catalog", keySeparator: SEP, nsSeparator: false, skipInterpolation: true } as const;

function text(parts: readonly string[], fallback: string): string {
  const key = parts.join(SEP);
  return i18n.exists(key, CATALOG) ? String(i18n.t(key, CATALOG)) : fallback;
}

function has(parts: readonly string[]): boolean {
  return i18n.exists(parts.join(SEP), CATALOG);
}

/** Splits a field path as the form, the schema or a diagnostic writes it (`rules.0.condition`,
 *  `rules[0].condition`, `rules/0/condition`, `rules.[].condition`) and turns list indices
 *  into `[]`. */
function segments(path: string): string[] {
  return path
    .replace(/\[(\d+|)\]/g, ".[].")
    .split(/[./]/)
    .filter((s) => s !== "")
    .map((s) => (/^\d+$/.test(s) ? "[]" : s));
}

/** The schema path of `path` for `kind`: indices become `[]`, and a segment that is not a
 *  property but sits where the kind has a map (`types.phone`) becomes `{}`. */
export function schemaPath(kind: string, path: string, section: "fields" | "options" = "fields"): string {
  const segs = segments(path);
  const direct = segs.join(".");
  if (has(["kinds", kind, section, direct])) return direct;
  const keys = messageKeys(kind, section);
  const known = (p: string) => keys.some((k) => k === p || k.startsWith(`${p}.`));
  const out: string[] = [];
  for (const s of segs) {
    // A map key is any text: `{}` stands in only where the path as written is unknown.
    const asIs = [...out, s].join(".");
    out.push(s !== "[]" && !known(asIs) && known([...out, "{}"].join(".")) ? "{}" : s);
  }
  return out.join(".");
}

/** Every field and option path the English messages have for a kind. */
function messageKeys(kind: string, section: "fields" | "options"): string[] {
  const keys: string[] = [];
  for (const sec of new Set(["fields", section])) {
    const bundle = i18n.getResource("en", "catalog", ["kinds", kind, sec].join(SEP), { keySeparator: SEP });
    if (bundle && typeof bundle === "object") keys.push(...Object.keys(bundle));
  }
  return keys;
}

/** Palette and node title of a kind (`Read CSV` / `CSV 源`). */
export function kindTitle(kind: string, fallback: string): string {
  return text(["kinds", kind, "title"], fallback);
}

/** One-paragraph description of a kind. */
export function kindDescription(kind: string, fallback: string): string {
  return text(["kinds", kind, "description"], fallback);
}

/** Extra search words for the palette in the UI language (Chinese terms in zh-CN); the
 *  catalog's own keywords should be searched as well. */
export function kindKeywords(kind: string): string[] {
  return text(["kinds", kind, "keywords"], "")
    .split(/[,，、]/)
    .map((k) => k.trim())
    .filter(Boolean);
}

/** Short label of a port (`in` → 输入). Only ports the kind itself declares are translated:
 *  a port named after a route rule or a script output is the user's own name (even when it
 *  is `out`) and comes back as `fallback`. */
export function portLabel(kind: string, port: string, fallback: string): string {
  return has(["kinds", kind, "ports", port]) ? text(["ports", port], fallback) : fallback;
}

/** What leaves or enters by a port of this kind (tooltips). */
export function portDescription(kind: string, port: string, fallback: string): string {
  return text(["kinds", kind, "ports", port], fallback);
}

/** Palette group name of a category (`source` → Sources / 数据源). */
export function categoryLabel(category: string): string {
  return text(["categories", category], category.charAt(0).toUpperCase() + category.slice(1));
}

/** Label of a config field; `path` as in `rules.[].condition` (indices are normalised). */
export function fieldLabel(kind: string, path: string, fallback: string): string {
  return text(["kinds", kind, "fields", schemaPath(kind, path), "label"], fallback);
}

/** Help text of a config field (Markdown-ish: `code` in backticks, as the schema writes it). */
export function fieldHelp(kind: string, path: string, fallback: string): string {
  return text(["kinds", kind, "fields", schemaPath(kind, path), "help"], fallback);
}

/** Description of one option of an enum field (`encoding` = `gbk` → “GBK（简体中文…）”). */
export function optionDescription(kind: string, path: string, value: string, fallback: string): string {
  return text(["kinds", kind, "options", schemaPath(kind, path, "options"), value], fallback);
}

/** The parts of a diagnostic the UI needs; the generated `Diagnostic` and the form's own
 *  diagnostic type both fit. */
export interface DiagnosticLike {
  code: string;
  message: string;
  severity?: string;
  hint?: string | null;
}

export interface ErrorText {
  /** What kind of problem, in the UI language. */
  title: string;
  /** The engine's message. */
  detail: string;
  /** General advice for this kind of problem, in the UI language. */
  help: string;
  /** The engine's own advice for this case, when it gave one. */
  hint?: string;
}

const ERRORS = { ns: "errors" } as const;

/** A diagnostic for display. `detail` and `hint` stay as the engine wrote them (English):
 *  they carry node ids, field names, values and line numbers that a translation table
 *  cannot know, while the translated `title` and `help` say in the UI language what kind of
 *  problem it is and what to do about it. */
export function errorText(diag: DiagnosticLike): ErrorText {
  const known = i18n.exists(`codes.${diag.code}`, ERRORS);
  const out: ErrorText = {
    title: known ? i18n.t(`codes.${diag.code}`, ERRORS) : i18n.t("generic.unknownCode", { ...ERRORS, code: diag.code }),
    detail: diag.message,
    help: i18n.exists(`help.${diag.code}`, ERRORS) ? i18n.t(`help.${diag.code}`, ERRORS) : i18n.t("generic.help", ERRORS),
  };
  if (diag.hint) out.hint = diag.hint;
  return out;
}

/** An `AppError` (a failed call) for display: the translated kind and the engine's message. */
export function appErrorText(err: { kind: string; message: string }): { title: string; detail: string } {
  const key = `kinds.${err.kind}`;
  return {
    title: i18n.exists(key, ERRORS) ? i18n.t(key, ERRORS) : i18n.t("generic.title", ERRORS),
    detail: err.message,
  };
}

/** “Error” / “Warning” in the UI language. */
export function severityLabel(severity: string): string {
  const key = `severity.${severity}`;
  return i18n.exists(key, ERRORS) ? i18n.t(key, ERRORS) : severity;
}

const catalogText = {
  kindTitle,
  kindDescription,
  kindKeywords,
  portLabel,
  portDescription,
  categoryLabel,
  fieldLabel,
  fieldHelp,
  optionDescription,
  errorText,
  appErrorText,
  severityLabel,
};
export type CatalogText = typeof catalogText & { language: string };

/** The functions above for components: the component re-renders when the language changes,
 *  and the returned object changes identity then, so memos depending on it recompute. */
export function useCatalogText(): CatalogText {
  const { i18n: instance } = useTranslation(["catalog", "errors"]);
  const language = instance.resolvedLanguage ?? instance.language;
  return useMemo(() => ({ ...catalogText, language }), [language]);
}
