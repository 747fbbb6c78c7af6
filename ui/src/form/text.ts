// Help texts come from Rust doc comments: hard-wrapped lines, `code` in backticks, and
// more than one sentence. The form shows the first sentence inline and the rest on demand.

/** Joins hard-wrapped lines; a blank line stays a paragraph break. */
export function unwrap(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s*\n\s*/g, " ").trim())
    .filter(Boolean)
    .join("\n\n");
}

const ABBREVIATIONS = /(?:^|\W)(?:e\.g|i\.e|etc|vs|cf|approx|incl)$/i;

/** The first sentence and the rest. A full stop inside backticks (`0.9`) or after an
 *  abbreviation (e.g.) does not end a sentence. */
export function splitHelp(text: string): { first: string; rest: string } {
  const t = unwrap(text);
  let inCode = false;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c === "`") inCode = !inCode;
    if (inCode) continue;
    if (c === "。" || c === "！" || c === "？") {
      return { first: t.slice(0, i + 1), rest: t.slice(i + 1).trim() };
    }
    if ((c === "." || c === "!" || c === "?") && (i + 1 === t.length || /\s/.test(t[i + 1]))) {
      if (c === "." && ABBREVIATIONS.test(t.slice(0, i))) continue;
      return { first: t.slice(0, i + 1), rest: t.slice(i + 1).trim() };
    }
  }
  return { first: t, rest: "" };
}

/** Splits text into plain and `code` runs for rendering. */
export function codeRuns(text: string): Array<{ code: boolean; text: string }> {
  const out: Array<{ code: boolean; text: string }> = [];
  const parts = text.split("`");
  const unterminated = parts.length % 2 === 0;
  parts.forEach((part, i) => {
    const odd = i % 2 === 1;
    if (odd && unterminated && i === parts.length - 1) out.push({ code: false, text: "`" + part });
    else if (part) out.push({ code: odd, text: part });
  });
  return out;
}
