// Lint: no user-visible text written into components. Every text goes through `t()` with
// keys in both languages; this scans the .tsx files for what slips past: JSX text, string
// literals placed as children, and literal `placeholder`, `title`, `aria-label` and `alt`
// attributes. Text handed to a function (`t("key")`, `kindTitle(kind, fallback)`) is that
// function's business and is not flagged. A deliberate exception (a sample value that is not
// language) takes an `i18n-ignore` comment on its line or the line above.
import { parseSync } from "vite";
import { describe, expect, test } from "vitest";
import { listFiles, readText, repoRelative, uiDir } from "../../scripts/repo-files.mjs";

const TEXT_ATTRIBUTES = new Set(["placeholder", "title", "aria-label", "alt"]);
const LETTERS = /\p{L}/gu;
const hasWords = (s: string) => (s.match(LETTERS) ?? []).length >= 2;

// oxc's ESTree nodes; only the fields this lint reads.
interface Node {
  type: string;
  start: number;
  end: number;
  [key: string]: unknown;
}
const isNode = (v: unknown): v is Node => typeof v === "object" && v !== null && typeof (v as Node).type === "string";

interface Finding {
  line: number;
  what: string;
}

/** Literal text an expression puts on screen as it stands: string and template literals,
 *  through `?:`, `&&`, `||`, `??`, `+` and parentheses, but not into calls, functions or
 *  nested JSX (that JSX is checked on its own). */
function literalTexts(e: Node, out: Node[]): Node[] {
  switch (e.type) {
    case "Literal":
      if (typeof e.value === "string" && hasWords(e.value)) out.push(e);
      break;
    case "TemplateLiteral":
      if ((e.quasis as Node[]).some((q) => hasWords(String((q.value as { cooked?: string; raw: string }).cooked ?? (q.value as { raw: string }).raw)))) out.push(e);
      break;
    case "ConditionalExpression":
      literalTexts(e.consequent as Node, out);
      literalTexts(e.alternate as Node, out);
      break;
    case "LogicalExpression":
    case "BinaryExpression":
      literalTexts(e.left as Node, out);
      literalTexts(e.right as Node, out);
      break;
    case "ParenthesizedExpression":
    case "TSAsExpression":
    case "TSSatisfiesExpression":
    case "TSNonNullExpression":
      literalTexts(e.expression as Node, out);
      break;
    default:
      break;
  }
  return out;
}

function findHardcodedText(source: string, filename = "file.tsx"): Finding[] {
  const { program, errors } = parseSync(filename, source, { lang: "tsx" });
  if (errors.length > 0) throw new Error(`${filename} does not parse: ${errors[0].message}`);
  const lineStarts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === "\n") lineStarts.push(i + 1);
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const lines = source.split("\n");
  const ignored = (line: number) => /i18n-ignore/.test(lines[line - 1] ?? "") || /i18n-ignore/.test(lines[line - 2] ?? "");
  const snippet = (n: Node) => source.slice(n.start, n.end).replace(/\s+/g, " ").trim().slice(0, 60);

  const findings: Array<Finding & { at: number }> = [];
  const report = (n: Node, what: string) => {
    // JSX text starts right after the previous tag: place it at its first visible character.
    const at = n.start + (source.slice(n.start, n.end).length - source.slice(n.start, n.end).trimStart().length);
    const line = lineOf(at);
    if (!ignored(line)) findings.push({ line, what, at });
  };

  const visit = (node: unknown) => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (!isNode(node)) return;
    if (node.type === "JSXElement" || node.type === "JSXFragment") {
      for (const child of node.children as Node[]) {
        if (child.type === "JSXText" && hasWords(String(child.value))) report(child, `JSX text "${snippet(child)}"`);
        if (child.type === "JSXExpressionContainer") {
          for (const lit of literalTexts(child.expression as Node, [])) report(lit, `text child ${snippet(lit)}`);
        }
      }
    }
    if (node.type === "JSXAttribute") {
      const name = node.name as Node;
      const attr = name.type === "JSXIdentifier" ? String(name.name) : "";
      const value = node.value as Node | null;
      if (TEXT_ATTRIBUTES.has(attr) && value) {
        const texts = value.type === "JSXExpressionContainer" ? literalTexts(value.expression as Node, []) : literalTexts(value, []);
        for (const lit of texts) report(lit, `${attr}=${snippet(lit)}`);
      }
    }
    for (const [key, v] of Object.entries(node)) {
      if (key !== "type" && typeof v === "object" && v !== null) visit(v);
    }
  };
  visit(program);
  return findings.sort((a, b) => a.at - b.at).map(({ line, what }) => ({ line, what }));
}

describe("the lint itself", () => {
  test("flags literal text and leaves translated text alone", () => {
    const source = [
      'import { useTranslation } from "react-i18next";', // 1
      "export function A({ n, busy }: { n: number; busy: boolean }) {", // 2
      '  const { t } = useTranslation("app");', // 3
      "  return (", // 4
      '    <div title="Run the flow" aria-label={t("run.label")}>', // 5
      "      Hello world", // 6
      '      <input placeholder={busy ? "Wait…" : t("x")} alt={`${n} rows`} />', // 7
      '      {t("ok")} {n} × {"OK"} - {busy && "Saving"}', // 8
      '      <img alt={t("logo")} title={String(n)} />', // 9
      "      {/* i18n-ignore: sample data */}", // 10
      "      <code>SELECT</code>", // 11
      '      <span title="x">42 %</span>', // 12
      "    </div>", // 13
      "  );", // 14
      "}", // 15
    ].join("\n");
    expect(findHardcodedText(source)).toEqual([
      { line: 5, what: 'title="Run the flow"' },
      { line: 6, what: 'JSX text "Hello world"' },
      { line: 7, what: 'placeholder="Wait…"' },
      { line: 7, what: "alt=`${n} rows`" },
      { line: 8, what: 'text child "OK"' },
      { line: 8, what: 'text child "Saving"' },
    ]);
  });

  test("counts lines right after Chinese text and emoji", () => {
    const source = "// 说明 🙂 中文\n// 第二行\nconst a = <p>\n  Hello\n</p>;\n";
    expect(findHardcodedText(source)).toEqual([{ line: 4, what: 'JSX text "Hello"' }]);
  });
});

test("no component hard-codes user-visible text", () => {
  const files = listFiles(`${uiDir}/src`, (p) => p.endsWith(".tsx") && !/\.test\.tsx$/.test(p) && !p.startsWith("api/generated/") && !p.startsWith("test/"));
  expect(files.length).toBeGreaterThan(0);
  const findings = files.flatMap((file) => findHardcodedText(readText(file), file).map((f) => `${repoRelative(file)}:${f.line}: ${f.what}`));
  expect(findings, `hard-coded text (use t() with keys in en and zh-CN):\n  ${findings.join("\n  ")}`).toEqual([]);
});
