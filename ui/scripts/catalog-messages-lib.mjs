// Derives the English `catalog` messages (node titles, descriptions, ports, config field
// labels and help, enum option texts) from the engine's node catalog, and compares two
// message trees key by key. Shared by scripts/catalog-messages.mjs (which writes
// locales/en/catalog.json) and the i18n tests (which check both languages cover the catalog).
//
// Field paths follow the property form's `specPath`: property names joined with `.`, list
// items as `[]`, map values as `{}`, an externally tagged variant's tag as a segment and an
// internally tagged variant's fields at the level of the variant (e.g. `rules.[].condition`,
// `steps.[].ops.[].regex_replace.pattern`). Paths are keys of one flat object per kind
// (`fields["rules.[].condition"]`), never nested, so a property called `label` or `help`
// cannot collide with the message names.

/** English names of the catalog categories (the palette's groups). */
export const CATEGORY_NAMES = { source: "Sources", transform: "Transforms", sink: "Sinks" };

/** The kinds of a `catalog` response (`{kinds}`), or a bare array of kinds (`sluice nodes --json`). */
export function catalogKinds(catalog) {
  if (Array.isArray(catalog)) return catalog;
  if (catalog && Array.isArray(catalog.kinds)) return catalog.kinds;
  throw new Error("catalog.json holds neither an array of kinds nor {kinds: [...]}");
}

// Abbreviations a property name spells in lower case (`pre_sql`, `memory_budget_mb`).
const ACRONYMS = { url: "URL", sql: "SQL", id: "ID", json: "JSON", csv: "CSV", mb: "(MB)", cn: "(CN)", api: "API" };

/** `keep_first` → `Keep first`, `pre_sql` → `Pre SQL`: the property form's humanised name,
 *  with abbreviations spelt as people write them. */
export function humanise(name) {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_\-.]+/g, " ")
    .trim()
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => ACRONYMS[w] ?? w);
  if (words.length === 0) return name;
  const text = words.join(" ");
  return text[0].toUpperCase() + text.slice(1);
}

/** Rust doc comments arrive hard-wrapped: join the lines, keep blank-line paragraph breaks. */
export function unwrap(text) {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s*\n\s*/g, " ").trim())
    .filter(Boolean)
    .join("\n\n");
}

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
const join = (path, segment) => (path ? `${path}.${segment}` : segment);

function resolveRef(root, schema, seen) {
  let s = schema;
  let guard = 0;
  while (isObject(s) && typeof s.$ref === "string" && guard++ < 32) {
    const m = /^#\/\$defs\/(.+)$/.exec(s.$ref);
    if (!m) throw new Error(`unsupported $ref ${s.$ref}: only #/$defs/NAME is resolved`);
    const target = root.$defs?.[m[1]];
    if (!isObject(target)) throw new Error(`$ref ${s.$ref} points at nothing`);
    if (seen.has(s.$ref)) return { schema: target, recursive: true };
    // `{$ref, description, default}`: the property's own keywords win over the target's.
    const { $ref: _ref, ...own } = s;
    s = { ...target, ...own, description: own.description ?? target.description };
    seen = new Set(seen).add(m[1]);
  }
  return { schema: s, recursive: false, seen };
}

/** Walks a config schema and calls `onField(path, schema, ctx)` for every property and
 *  `onOption(path, value, description)` for every enum option with a description. */
export function walkConfigSchema(root, onField, onOption) {
  const visit = (schema, path, seen, inheritedDescription) => {
    if (!isObject(schema)) return;
    const r = resolveRef(root, schema, seen);
    if (r.recursive) return;
    const s = r.schema;
    const nextSeen = r.seen ?? seen;

    for (const key of ["oneOf", "anyOf", "allOf"]) {
      if (!Array.isArray(s[key])) continue;
      for (const branch of s[key]) {
        if (!isObject(branch)) continue;
        const b = resolveRef(root, branch, nextSeen);
        if (b.recursive) continue;
        const bs = b.schema;
        if (bs.const !== undefined && typeof bs.description === "string") onOption(path, String(bs.const), bs.description);
        // An externally tagged data variant (`{regex_replace: {...}}`): its one property is
        // described by the branch when it has no text of its own.
        const props = isObject(bs.properties) ? Object.keys(bs.properties) : [];
        const branchText = props.length === 1 && typeof bs.description === "string" ? bs.description : undefined;
        visit(bs, path, b.seen ?? nextSeen, branchText);
      }
    }
    if (isObject(s.properties)) {
      for (const [name, prop] of Object.entries(s.properties)) {
        const p = join(path, name);
        const own = isObject(prop) && typeof prop.description === "string" ? prop.description : undefined;
        const resolved = resolveRef(root, prop, nextSeen).schema;
        const refText = isObject(resolved) && typeof resolved.description === "string" ? resolved.description : undefined;
        onField(p, {
          title: isObject(prop) && typeof prop.title === "string" ? prop.title : undefined,
          description: own ?? (Object.keys(s.properties).length === 1 ? inheritedDescription : undefined) ?? refText,
          name,
        });
        visit(prop, p, nextSeen, undefined);
      }
    }
    if (s.items !== undefined && s.items !== true) visit(s.items, join(path, "[]"), nextSeen, undefined);
    if (isObject(s.additionalProperties)) visit(s.additionalProperties, join(path, "{}"), nextSeen, undefined);
  };
  visit(root, "", new Set(), undefined);
}

/** Every config property path of a kind's schema (what needs a label). */
export function configPaths(configSchema) {
  const paths = [];
  walkConfigSchema(configSchema, (p) => paths.push(p), () => {});
  return [...new Set(paths)];
}

/** The English `catalog` namespace for these kinds. */
export function deriveCatalogMessages(catalog) {
  const kinds = catalogKinds(catalog);
  const categories = {};
  const ports = {};
  const out = {};
  for (const k of kinds) {
    categories[k.category] = CATEGORY_NAMES[k.category] ?? humanise(k.category);
    const kindPorts = {};
    for (const p of [...(k.ports?.inputs ?? []), ...(k.ports?.outputs ?? [])]) {
      // Port ids are what engine messages and flow files say (`'out' of node ...`), so the
      // English label is the id itself.
      ports[p.name] = p.name;
      kindPorts[p.name] = unwrap(p.description ?? "");
    }
    const fields = {};
    const options = {};
    walkConfigSchema(
      k.config_schema ?? {},
      (path, f) => {
        // A path met through several variants keeps the first text found for it.
        if (fields[path]?.help) return;
        fields[path] = { label: f.title ?? humanise(f.name), help: unwrap(f.description ?? "") };
      },
      (path, value, description) => {
        (options[path] ??= {})[value] = unwrap(description);
      },
    );
    out[k.kind] = {
      title: k.title,
      description: unwrap(k.description),
      keywords: (k.keywords ?? []).join(", "),
      ports: kindPorts,
      fields,
      options,
    };
  }
  return { categories: sortKeys(categories), ports: sortKeys(ports), kinds: sortKeys(out) };
}

function sortKeys(obj) {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Every leaf of a message tree as `[path, value]`; path segments joined with ` › ` so that
 *  a field path with dots in it stays readable and unambiguous. */
export function flattenMessages(tree, prefix = [], out = []) {
  for (const [k, v] of Object.entries(tree ?? {})) {
    const path = [...prefix, k];
    if (isObject(v)) flattenMessages(v, path, out);
    else out.push([path.join(" › "), v]);
  }
  return out;
}

/** Keys `reference` has and `other` lacks (`missing`), and keys only `other` has (`extra`). */
export function compareKeys(reference, other) {
  const a = new Set(flattenMessages(reference).map(([k]) => k));
  const b = new Set(flattenMessages(other).map(([k]) => k));
  return { missing: [...a].filter((k) => !b.has(k)), extra: [...b].filter((k) => !a.has(k)) };
}
