// Completion for Rhai fields: the input's field names (as bare names, or as `row.x` /
// `row["first name"]` properties), the functions the schema names, Rhai's keywords and the
// variables the engine binds.

import type { Completion, CompletionContext, CompletionResult, CompletionSource } from "@codemirror/autocomplete";
import { RHAI_KEYWORDS, RHAI_SPECIAL_VARIABLES } from "./rhai";
import type { FormField } from "../types";

export interface CompletionData {
  fields: FormField[];
  functions: string[];
}

/** Rhai's own functions most used in expressions over rows (they exist in every engine). */
export const RHAI_BUILTIN_FUNCTIONS = [
  "len", "is_empty", "contains", "starts_with", "ends_with", "index_of", "sub_string",
  "to_upper", "to_lower", "trim", "replace", "split", "to_string", "to_int", "to_float",
  "parse_int", "parse_float", "abs", "round", "floor", "ceiling", "min", "max", "keys",
  "values", "push", "type_of",
];

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function rhaiCompletions(data: () => CompletionData): CompletionSource {
  return (context: CompletionContext): CompletionResult | null => {
    const { fields, functions } = data();

    // After `row.`: the fields, as properties.
    const prop = context.matchBefore(/\brow\.[A-Za-z0-9_]*$/);
    if (prop) {
      const from = prop.from + 4;
      return {
        from,
        options: fields.map((f) =>
          IDENT.test(f.name)
            ? { label: f.name, type: "property", detail: f.type }
            : // A name with spaces cannot follow a dot: rewrite `row.` as `row["…"]`.
              { label: f.name, type: "property", detail: f.type, apply: (view, _c, _from, to) => {
                  view.dispatch({ changes: { from: prop.from, to, insert: `row[${JSON.stringify(f.name)}]` } });
                } },
        ),
        validFor: /^[A-Za-z0-9_]*$/,
      };
    }

    const word = context.matchBefore(/[A-Za-z_][A-Za-z0-9_]*$/);
    if (!word && !context.explicit) return null;
    const from = word ? word.from : context.pos;
    const options: Completion[] = [];
    for (const f of fields) {
      options.push(
        IDENT.test(f.name)
          ? { label: f.name, type: "variable", detail: f.type, boost: 2 }
          : { label: f.name, type: "variable", detail: f.type, apply: `row[${JSON.stringify(f.name)}]`, boost: 2 },
      );
    }
    const seen = new Set(options.map((o) => o.label));
    for (const fn of [...functions, ...RHAI_BUILTIN_FUNCTIONS]) {
      if (seen.has(fn)) continue;
      seen.add(fn);
      options.push({ label: fn, type: "function", apply: `${fn}(`, boost: functions.includes(fn) ? 1 : 0 });
    }
    for (const v of RHAI_SPECIAL_VARIABLES) if (!seen.has(v)) options.push({ label: v, type: "variable" });
    for (const k of RHAI_KEYWORDS) if (!seen.has(k)) options.push({ label: k, type: "keyword" });
    return { from, options, validFor: /^[A-Za-z0-9_]*$/ };
  };
}
