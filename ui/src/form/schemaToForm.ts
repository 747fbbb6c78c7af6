// Maps a node kind's config JSON Schema (draft 2020-12 as `schemars` 1.x writes it) to a tree
// of typed field descriptors. `$ref`s, optional wrappers (`type: [T, "null"]`,
// `anyOf: [T, {type: null}]`), enums written as `oneOf` of `const`s and the UI hints
// (`x-editor`, `x-field`, `x-secret`, `x-path`) are all settled here, so each widget only
// ever sees one plain shape. Pure: no React, no i18n.
//
// Deliberately not handled: `allOf`, `if/then/else`, `patternProperties`, tuples
// (`prefixItems`), untagged unions of objects. Those become a `json` field (edited as JSON
// text with validation), so nothing in a config is ever unreachable.

export type JsonSchema = { [key: string]: unknown } | boolean;
type SchemaObject = { [key: string]: unknown };

export type CodeLanguage = "rhai-expression" | "rhai-script" | "sql";

interface FieldBase {
  /** Property name; "" for list items, map values and the root. */
  name: string;
  /** Schema path for translations: property names joined with `.`, list items as `[]`,
   *  map values as `{}` (e.g. `rules.[].condition`). */
  specPath: string;
  /** Schema `title` of the property itself, else its humanised name ("" for items). */
  title: string;
  description?: string;
  required: boolean;
  /** The schema also allows `null` (an optional Rust field). */
  nullable: boolean;
  hasDefault: boolean;
  default?: unknown;
}

export interface TextSpec extends FieldBase {
  kind: "text";
  minLength?: number;
  maxLength?: number;
  /** `number-or-string` for `anyOf: [number, string]`: text that reads as a number is
   *  stored as one. */
  valueType?: "number-or-string";
}
export interface NumberSpec extends FieldBase {
  kind: "number" | "integer";
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}
export interface BooleanSpec extends FieldBase {
  kind: "boolean";
}
export interface EnumOption {
  value: string | number | boolean;
  description?: string;
}
export interface EnumSpec extends FieldBase {
  kind: "enum";
  options: EnumOption[];
}
export interface ListSpec extends FieldBase {
  kind: "list";
  item: FieldSpec;
  minItems?: number;
  maxItems?: number;
}
export interface ObjectSpec extends FieldBase {
  kind: "object";
  fields: FieldSpec[];
}
export interface MapSpec extends FieldBase {
  kind: "map";
  value: FieldSpec;
  /** Keys are field names of this input port (`x-field` on the object). */
  keyPort?: string;
}
export interface VariantOption {
  /** The discriminator value (external tag key, internal tag value, or the unit string). */
  tag: string;
  description?: string;
  /** A unit variant carries no data: the value is the tag string itself (external
   *  tagging) or `{[discriminator]: tag}` (internal tagging). */
  unit: boolean;
  /** External tagging: the spec of the value under the tag key. Internal tagging: an
   *  object spec of the variant's other properties. */
  body?: FieldSpec;
}
export interface VariantSpec extends FieldBase {
  kind: "variant";
  /** `external`: `"unit"` or `{"tag": body}` (serde's default). `internal`:
   *  `{"<discriminator>": "tag", ...fields}`. */
  tagging: "external" | "internal";
  discriminator?: string;
  variants: VariantOption[];
}
export interface SecretSpec extends FieldBase {
  kind: "secret";
}
export interface PathSpec extends FieldBase {
  kind: "path";
  pathKind: "file" | "dir";
  /** The path is written (a sink's output): a save dialog, not an open dialog. */
  save: boolean;
}
export interface FieldPickerSpec extends FieldBase {
  kind: "field-picker";
  /** The input port whose fields are offered. */
  port: string;
}
export interface CodeSpec extends FieldBase {
  kind: "code";
  language: CodeLanguage;
  /** Function names offered by autocompletion: from `x-functions` or calls written in
   *  the description (`emit("port", map)`). */
  functions: string[];
}
export interface JsonSpec extends FieldBase {
  kind: "json";
  /** Any value is allowed (`{}` / `true` schemas): text that is not JSON is kept as a
   *  string. Otherwise the text must be valid JSON. */
  lenient: boolean;
}

export type FieldSpec =
  | TextSpec
  | NumberSpec
  | BooleanSpec
  | EnumSpec
  | ListSpec
  | ObjectSpec
  | MapSpec
  | VariantSpec
  | SecretSpec
  | PathSpec
  | FieldPickerSpec
  | CodeSpec
  | JsonSpec;

export type FieldKind = FieldSpec["kind"];

/** The form of a whole config: the root is always an object. */
export type FormSpec = ObjectSpec;

export interface SchemaToFormOptions {
  /** Node category: a `file` path of a sink is picked with a save dialog. */
  category?: string;
}

const ACRONYMS: Record<string, string> = {
  sql: "SQL", url: "URL", id: "ID", json: "JSON", csv: "CSV", mb: "MB", utf: "UTF",
  hmac: "HMAC", sha256: "SHA-256", http: "HTTP", api: "API", ip: "IP",
};

/** "max_record_bytes" → "Max record bytes", "pre_sql" → "Pre SQL". */
export function humanise(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_\-.]+/g, " ")
    .trim()
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => ACRONYMS[w] ?? w);
  if (words.length === 0) return name;
  const first = words[0];
  words[0] = first[0].toUpperCase() + first.slice(1);
  return words.join(" ");
}

interface Ctx {
  root: SchemaObject;
  /** `$ref`s being expanded on the way here: a ref met again is recursive. */
  refStack: string[];
  options: SchemaToFormOptions;
}

interface Place {
  name: string;
  specPath: string;
  required: boolean;
}

export function schemaToForm(schema: JsonSchema, options: SchemaToFormOptions = {}): FormSpec {
  const root = isObject(schema) ? schema : {};
  const ctx: Ctx = { root, refStack: [], options };
  const spec = build(root, { name: "", specPath: "", required: true }, ctx);
  if (spec.kind === "object") return spec;
  // A config that is not an object (never the case for schemars structs): one JSON field.
  return { ...base({ name: "", specPath: "", required: true }, {}, false), kind: "object", fields: [spec] };
}

function isObject(v: unknown): v is SchemaObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function pointerGet(root: SchemaObject, ref: string): unknown {
  if (!ref.startsWith("#")) return undefined;
  const parts = ref.slice(1).split("/").filter((p) => p !== "");
  let node: unknown = root;
  for (const raw of parts) {
    const part = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (!isObject(node)) return undefined;
    node = node[part];
  }
  return node;
}

/** Follows `$ref`s, merging the referring schema's own keys over the target's (a property's
 *  description and default win over its type's). The target's `title` names the type, not
 *  the property, so it is dropped. Returns null for a recursive or dangling ref. */
function deref(schema: SchemaObject, ctx: Ctx): { schema: SchemaObject; refs: string[] } | null {
  let current = schema;
  const refs: string[] = [];
  while (typeof current.$ref === "string") {
    const ref = current.$ref;
    if (ctx.refStack.includes(ref) || refs.includes(ref)) return null;
    const target = pointerGet(ctx.root, ref);
    if (target === undefined) return null;
    refs.push(ref);
    const { $ref: _ignored, ...own } = current;
    const targetObj: SchemaObject = isObject(target) ? { ...target } : target === false ? { not: {} } : {};
    delete targetObj.title;
    current = { ...targetObj, ...own };
  }
  return { schema: current, refs };
}

/** Splits off the `null` an optional Rust field adds. */
function unwrapNullable(schema: SchemaObject, ctx: Ctx): { schema: SchemaObject; nullable: boolean; refs: string[] } | null {
  let nullable = false;
  let current = schema;
  const refs: string[] = [];
  for (let guard = 0; guard < 16; guard++) {
    const resolved = deref(current, { ...ctx, refStack: [...ctx.refStack, ...refs] });
    if (!resolved) return null;
    refs.push(...resolved.refs);
    current = resolved.schema;

    if (Array.isArray(current.type) && current.type.includes("null")) {
      nullable = true;
      const rest = current.type.filter((t) => t !== "null");
      current = { ...current, type: rest.length === 1 ? rest[0] : rest };
      continue;
    }
    if (Array.isArray(current.enum) && current.enum.includes(null)) {
      nullable = true;
      current = { ...current, enum: current.enum.filter((v) => v !== null) };
      continue;
    }
    const unionKey = Array.isArray(current.anyOf) ? "anyOf" : Array.isArray(current.oneOf) ? "oneOf" : null;
    if (unionKey) {
      const branches = current[unionKey] as unknown[];
      const isNull = (b: unknown) => isObject(b) && b.type === "null" && Object.keys(b).every((k) => k === "type" || k === "description");
      if (branches.some(isNull)) {
        nullable = true;
        const rest = branches.filter((b) => !isNull(b));
        const { [unionKey]: _u, ...outer } = current;
        if (rest.length === 1) {
          const branch = isObject(rest[0]) ? rest[0] : {};
          // The outer schema's description, default and hints describe the property.
          current = { ...branch, ...outer };
        } else {
          current = { ...outer, [unionKey]: rest };
        }
        continue;
      }
    }
    break;
  }
  return { schema: current, nullable, refs };
}

function base(place: Place, schema: SchemaObject, nullable: boolean): FieldBase {
  const out: FieldBase = {
    name: place.name,
    specPath: place.specPath,
    title: typeof schema.title === "string" && place.name ? schema.title : place.name ? humanise(place.name) : "",
    required: place.required,
    nullable,
    hasDefault: "default" in schema,
  };
  if (typeof schema.description === "string") out.description = schema.description;
  if ("default" in schema) out.default = schema.default;
  return out;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function childPath(parent: string, segment: string): string {
  return parent ? `${parent}.${segment}` : segment;
}

function typeOf(schema: SchemaObject): string | string[] | undefined {
  const t = schema.type;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === "string");
  return undefined;
}

/** Options of a string enum written as `enum`, `const`, or a `oneOf`/`anyOf` of those
 *  (schemars writes documented variants as `const`s with descriptions). Null if the schema
 *  is not such an enum. */
function enumOptions(schema: SchemaObject, ctx: Ctx, depth = 0): EnumOption[] | null {
  if (depth > 8) return null;
  if (Array.isArray(schema.enum)) {
    const values = schema.enum.filter((v) => v !== null);
    if (!values.every(isScalar)) return null;
    const desc = typeof schema.description === "string" && values.length === 1 ? schema.description : undefined;
    return values.map((value) => (desc ? { value, description: desc } : { value })) as EnumOption[];
  }
  if ("const" in schema) {
    if (!isScalar(schema.const)) return null;
    const opt: EnumOption = { value: schema.const };
    if (typeof schema.description === "string") opt.description = schema.description;
    return [opt];
  }
  const union = Array.isArray(schema.oneOf) ? schema.oneOf : Array.isArray(schema.anyOf) ? schema.anyOf : null;
  if (!union || union.length === 0) return null;
  const out: EnumOption[] = [];
  for (const branch of union) {
    if (!isObject(branch)) return null;
    const resolved = deref(branch, ctx);
    if (!resolved) return null;
    const opts = enumOptions(resolved.schema, ctx, depth + 1);
    if (!opts) return null;
    out.push(...opts);
  }
  return out;
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function isFreeForm(schema: SchemaObject): boolean {
  const shapeKeys = ["type", "enum", "const", "oneOf", "anyOf", "allOf", "properties", "items", "$ref", "additionalProperties", "not", "prefixItems"];
  return !shapeKeys.some((k) => k in schema);
}

function build(raw: unknown, place: Place, ctx: Ctx): FieldSpec {
  if (raw === true || (isObject(raw) && isFreeForm(raw))) {
    const schema = isObject(raw) ? raw : {};
    return { ...base(place, schema, false), kind: "json", lenient: true };
  }
  if (!isObject(raw)) return { ...base(place, {}, false), kind: "json", lenient: false };

  const unwrapped = unwrapNullable(raw, ctx);
  if (!unwrapped) return { ...base(place, raw, false), kind: "json", lenient: false };
  const { schema, nullable } = unwrapped;
  const inner: Ctx = { ...ctx, refStack: [...ctx.refStack, ...unwrapped.refs] };
  const b = base(place, schema, nullable);
  const type = typeOf(schema);

  if (isFreeForm(schema)) return { ...b, kind: "json", lenient: true };

  // UI hints first: they refine the plain type.
  if (schema["x-secret"] === true && (type === undefined || type === "string")) return { ...b, kind: "secret" };

  const xPath = schema["x-path"];
  if (typeof xPath === "string" && (type === undefined || type === "string")) {
    const dir = xPath === "dir" || xPath === "folder";
    const save =
      schema["x-save"] === true ||
      /save|write|output/.test(xPath) ||
      (!dir && ctx.options.category === "sink");
    return { ...b, kind: "path", pathKind: dir ? "dir" : "file", save };
  }

  const xEditor = schema["x-editor"];
  if (xEditor === "rhai-expression" || xEditor === "rhai-script" || xEditor === "sql") {
    const code = (p: Place, s: SchemaObject): CodeSpec => ({
      ...base(p, s, false),
      kind: "code",
      language: xEditor,
      functions: functionsOf(schema),
    });
    if (type === "string" || type === undefined) return { ...code(place, schema), nullable };
    if (type === "array") {
      const itemPlace = { name: "", specPath: childPath(place.specPath, "[]"), required: true };
      return { ...b, kind: "list", item: code(itemPlace, isObject(schema.items) ? schema.items : {}), ...listBounds(schema) };
    }
  }

  const xField = schema["x-field"];
  if (typeof xField === "string") {
    if (type === "string" || type === undefined) return { ...b, kind: "field-picker", port: xField };
    if (type === "array") {
      const itemPlace = { name: "", specPath: childPath(place.specPath, "[]"), required: true };
      const items = isObject(schema.items) ? schema.items : {};
      const itemSpec = build(items, itemPlace, inner);
      // A list of field names: each item picks from the port. Items of another shape (a
      // list of objects) keep their own shape; their inner `x-field`s do the picking.
      const item: FieldSpec =
        itemSpec.kind === "text" || itemSpec.kind === "json" ? { ...base(itemPlace, items, false), kind: "field-picker", port: xField } : itemSpec;
      return { ...b, kind: "list", item, ...listBounds(schema) };
    }
    if (type === "object") {
      const objectSpec = buildObject(schema, place, b, inner);
      if (objectSpec.kind === "map") return { ...objectSpec, keyPort: xField };
      return objectSpec;
    }
  }

  const options = enumOptions(schema, inner);
  if (options && options.length > 0) return { ...b, kind: "enum", options };

  const union = Array.isArray(schema.oneOf) ? schema.oneOf : Array.isArray(schema.anyOf) ? schema.anyOf : null;
  if (union) {
    const variant = buildVariant(union, place, b, inner);
    if (variant) return variant;
    if (isNumberOrString(union, inner)) return { ...b, kind: "text", valueType: "number-or-string" };
    return { ...b, kind: "json", lenient: false };
  }

  if (Array.isArray(type)) {
    const set = new Set(type);
    if (set.size === 2 && set.has("string") && (set.has("number") || set.has("integer"))) {
      return { ...b, kind: "text", valueType: "number-or-string" };
    }
    return { ...b, kind: "json", lenient: false };
  }

  switch (type) {
    case "string":
      return {
        ...b,
        kind: "text",
        ...(num(schema.minLength) !== undefined ? { minLength: num(schema.minLength) } : {}),
        ...(num(schema.maxLength) !== undefined ? { maxLength: num(schema.maxLength) } : {}),
      };
    case "integer":
    case "number": {
      const spec: NumberSpec = { ...b, kind: type };
      for (const key of ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] as const) {
        const v = num(schema[key]);
        if (v !== undefined) spec[key] = v;
      }
      return spec;
    }
    case "boolean":
      return { ...b, kind: "boolean" };
    case "array": {
      if ("prefixItems" in schema) return { ...b, kind: "json", lenient: false };
      const itemPlace = { name: "", specPath: childPath(place.specPath, "[]"), required: true };
      const item = build(schema.items ?? true, itemPlace, inner);
      return { ...b, kind: "list", item, ...listBounds(schema) };
    }
    case "object":
      return buildObject(schema, place, b, inner);
    case "null":
      return { ...b, kind: "json", lenient: false };
    default:
      if (isObject(schema.properties)) return buildObject(schema, place, b, inner);
      if ("items" in schema) return build({ ...schema, type: "array" }, place, ctx);
      return { ...b, kind: "json", lenient: false };
  }
}

function listBounds(schema: SchemaObject): { minItems?: number; maxItems?: number } {
  const out: { minItems?: number; maxItems?: number } = {};
  if (num(schema.minItems) !== undefined) out.minItems = num(schema.minItems);
  if (num(schema.maxItems) !== undefined) out.maxItems = num(schema.maxItems);
  return out;
}

function buildObject(schema: SchemaObject, place: Place, b: FieldBase, ctx: Ctx): ObjectSpec | MapSpec {
  const props = isObject(schema.properties) ? schema.properties : null;
  if (props && Object.keys(props).length > 0) {
    const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === "string") : []);
    const fields = Object.entries(props).map(([name, prop]) =>
      build(prop, { name, specPath: childPath(place.specPath, name), required: required.has(name) }, ctx),
    );
    return { ...b, kind: "object", fields };
  }
  const additional = schema.additionalProperties;
  const valuePlace = { name: "", specPath: childPath(place.specPath, "{}"), required: true };
  if (additional === false) return { ...b, kind: "object", fields: [] };
  return { ...b, kind: "map", value: build(additional === undefined ? true : additional, valuePlace, ctx) };
}

/** A `oneOf` of tagged variants: unit strings and single-key objects (serde's external
 *  tagging), or objects sharing a property with a `const` value (internal tagging). */
function buildVariant(union: unknown[], place: Place, b: FieldBase, ctx: Ctx): VariantSpec | null {
  const branches: SchemaObject[] = [];
  for (const raw of union) {
    if (!isObject(raw)) return null;
    const resolved = deref(raw, ctx);
    if (!resolved) return null;
    branches.push(resolved.schema);
  }
  const objects = branches.filter((s) => typeOf(s) === "object" || isObject(s.properties));
  if (objects.length === 0) return null;

  // Internal tagging: a required property that is a const in every object branch.
  const discriminator = internalDiscriminator(objects, ctx);
  if (discriminator && objects.length === branches.length) {
    const variants: VariantOption[] = [];
    for (const branch of objects) {
      const props = branch.properties as SchemaObject;
      const tagSchema = deref(props[discriminator] as SchemaObject, ctx)!.schema;
      const tag = String(tagSchema.const ?? (tagSchema.enum as unknown[])[0]);
      const { [discriminator]: _d, ...rest } = props;
      const bodySchema: SchemaObject = {
        ...branch,
        properties: rest,
        required: (Array.isArray(branch.required) ? branch.required : []).filter((r) => r !== discriminator),
      };
      const hasFields = Object.keys(rest).length > 0;
      const option: VariantOption = { tag, unit: !hasFields };
      const desc = branch.description ?? tagSchema.description;
      if (typeof desc === "string") option.description = desc;
      if (hasFields) {
        option.body = buildObject(bodySchema, place, { ...base(place, {}, false), title: "" }, ctx);
      }
      variants.push(option);
    }
    return { ...b, kind: "variant", tagging: "internal", discriminator, variants };
  }

  // External tagging: unit variants are strings, data variants `{tag: value}`.
  const variants: VariantOption[] = [];
  for (const branch of branches) {
    const units = enumOptions(branch, ctx);
    if (units) {
      for (const u of units) {
        if (typeof u.value !== "string") return null;
        variants.push({ tag: u.value, unit: true, ...(u.description ? { description: u.description } : {}) });
      }
      continue;
    }
    const props = isObject(branch.properties) ? branch.properties : null;
    const keys = props ? Object.keys(props) : [];
    const required = Array.isArray(branch.required) ? branch.required : [];
    if (!props || keys.length !== 1 || !required.includes(keys[0])) return null;
    const tag = keys[0];
    const bodyPlace = { name: tag, specPath: childPath(place.specPath, tag), required: true };
    const body = build(props[tag], bodyPlace, ctx);
    const option: VariantOption = { tag, unit: false, body };
    if (typeof branch.description === "string") option.description = branch.description;
    variants.push(option);
  }
  return { ...b, kind: "variant", tagging: "external", variants };
}

function internalDiscriminator(objects: SchemaObject[], ctx: Ctx): string | null {
  const first = objects[0];
  if (!isObject(first.properties)) return null;
  for (const candidate of Object.keys(first.properties)) {
    const ok = objects.every((o) => {
      if (!isObject(o.properties) || !(candidate in o.properties)) return false;
      if (!Array.isArray(o.required) || !o.required.includes(candidate)) return false;
      const prop = o.properties[candidate];
      const resolved = isObject(prop) ? deref(prop, ctx) : null;
      if (!resolved) return false;
      const s = resolved.schema;
      return typeof s.const === "string" || (Array.isArray(s.enum) && s.enum.length === 1 && typeof s.enum[0] === "string");
    });
    if (ok) return candidate;
  }
  return null;
}

function isNumberOrString(union: unknown[], ctx: Ctx): boolean {
  const types = new Set<string>();
  for (const raw of union) {
    if (!isObject(raw)) return false;
    const resolved = deref(raw, ctx);
    if (!resolved) return false;
    const t = typeOf(resolved.schema);
    if (typeof t !== "string") return false;
    types.add(t === "integer" ? "number" : t);
  }
  return types.size === 2 && types.has("number") && types.has("string");
}

/** Functions to offer in a code editor: an explicit `x-functions` list, plus calls the
 *  description shows in backticks (`emit("port", map)` → `emit`). */
function functionsOf(schema: SchemaObject): string[] {
  const out = new Set<string>();
  const listed = schema["x-functions"];
  if (Array.isArray(listed)) {
    for (const f of listed) {
      if (typeof f === "string") out.add(f);
      else if (isObject(f) && typeof f.name === "string") out.add(f.name);
    }
  }
  if (typeof schema.description === "string") {
    for (const m of schema.description.matchAll(/`([^`]*)`/g)) {
      for (const call of m[1].matchAll(/(?:^|[^\w.])([A-Za-z_]\w*)\s*\(/g)) {
        if (!RHAI_KEYWORDS.has(call[1])) out.add(call[1]);
      }
    }
  }
  return [...out];
}

const RHAI_KEYWORDS = new Set(["if", "else", "switch", "while", "for", "loop", "fn", "return", "let", "const", "in"]);
