// File access for the i18n tests, which check the locale files against the Rust sources and
// scan the components: kept here, in plain Node, so the browser code's type set (no Node
// types) stays as it is.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The designer's folder (`ui/`). */
export const uiDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The repository root (the engine crate). */
export const repoDir = resolve(uiDir, "..");

export function readText(path) {
  return readFileSync(path, "utf8");
}

/** Every file under `dir` (recursively) whose path relative to `dir`, with `/` separators,
 *  passes `keep`; sorted, so failure lists are stable. */
export function listFiles(dir, keep = () => true) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== "node_modules" && !e.name.startsWith(".")) walk(p);
      } else if (keep(relative(dir, p).split(sep).join("/"))) {
        out.push(p);
      }
    }
  };
  walk(dir);
  return out.sort();
}

/** `path` relative to the repository root, with `/` separators (for failure messages). */
export function repoRelative(path) {
  return relative(repoDir, path).split(sep).join("/");
}
