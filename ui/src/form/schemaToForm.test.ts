import { describe, expect, it } from "vitest";
import { schemaToForm, type FieldSpec, type FormSpec, humanise } from "./schemaToForm";
import { catalog, kind } from "./test/catalog";

function field(spec: FormSpec | FieldSpec, path: string): FieldSpec {
  let node: FieldSpec = spec;
  for (const part of path.split(".")) {
    if (part === "[]") {
      if (node.kind !== "list") throw new Error(`${path}: ${node.kind} is not a list`);
      node = node.item;
    } else if (part === "{}") {
      if (node.kind !== "map") throw new Error(`${path}: ${node.kind} is not a map`);
      node = node.value;
    } else {
      if (node.kind !== "object") throw new Error(`${path}: ${node.kind} is not an object`);
      const next: FieldSpec | undefined = node.fields.find((f) => f.name === part);
      if (!next) throw new Error(`${path}: no field ${part}`);
      node = next;
    }
  }
  return node;
}

function walk(spec: FieldSpec, visit: (s: FieldSpec) => void) {
  visit(spec);
  if (spec.kind === "object") spec.fields.forEach((f) => walk(f, visit));
  if (spec.kind === "list") walk(spec.item, visit);
  if (spec.kind === "map") walk(spec.value, visit);
  if (spec.kind === "variant") spec.variants.forEach((v) => v.body && walk(v.body, visit));
}

describe("schemaToForm on the real catalog", () => {
  it("has the kinds the form tests rely on", () => {
    expect(catalog.length).toBeGreaterThan(20);
    for (const k of ["csv_source", "filter", "mask", "route", "sql_sink"]) expect(catalog.map((c) => c.kind)).toContain(k);
  });

  for (const k of catalog) {
    it(`maps ${k.kind} without falling back to JSON except for free-form values`, () => {
      const spec = schemaToForm(k.config_schema, { category: k.category });
      expect(spec.kind).toBe("object");
      const props = (k.config_schema.properties ?? {}) as Record<string, unknown>;
      expect(spec.fields.map((f) => f.name)).toEqual(Object.keys(props));
      walk(spec, (s) => {
        // Strict JSON is the fallback for shapes the mapping does not know; the catalog has
        // none. Lenient JSON is for values the schema leaves open (`{}`), which is right.
        if (s.kind === "json") expect({ path: s.specPath, lenient: s.lenient }).toEqual({ path: s.specPath, lenient: true });
        expect(JSON.stringify(s)).not.toContain('"$ref"');
      });
      const required = new Set((k.config_schema.required as string[] | undefined) ?? []);
      for (const f of spec.fields) expect(f.required).toBe(required.has(f.name));
    });
  }
});

describe("schemaToForm specific shapes", () => {
  it("turns a documented enum ($ref to oneOf of consts) into options with descriptions", () => {
    const spec = schemaToForm(kind("csv_source").config_schema);
    const encoding = field(spec, "encoding");
    expect(encoding.kind).toBe("enum");
    if (encoding.kind !== "enum") return;
    expect(encoding.options.map((o) => o.value)).toEqual(["utf-8", "gbk", "gb18030", "utf-16le", "utf-16be", "auto"]);
    expect(encoding.options[1].description).toMatch(/GBK/);
    // The property's own description wins over the type's.
    expect(encoding.description).toMatch(/^Text encoding of the file/);
    expect(encoding.default).toBe("utf-8");
    expect(encoding.required).toBe(false);
  });

  it("flattens an enum mixing `enum` and `const` branches (DataType)", () => {
    const spec = schemaToForm(kind("csv_source").config_schema);
    const types = field(spec, "types");
    expect(types.kind).toBe("map");
    const value = field(spec, "types.{}");
    expect(value.kind).toBe("enum");
    if (value.kind === "enum") expect(value.options.map((o) => o.value)).toEqual(["bool", "int", "float", "string", "decimal", "date", "datetime", "json"]);
  });

  it("resolves an optional number (type: [number, null]) with its bounds", () => {
    const fraction = field(schemaToForm(kind("sample").config_schema), "fraction");
    expect(fraction).toMatchObject({ kind: "number", nullable: true, required: false, minimum: 0, maximum: 1 });
    const keepFirst = field(schemaToForm(kind("mask").config_schema), "fields.[].keep_first");
    expect(keepFirst).toMatchObject({ kind: "integer", nullable: true, minimum: 0 });
  });

  it("resolves an optional $ref (anyOf [$ref, null]) to the referenced shape", () => {
    const spec = schemaToForm(kind("compute").config_schema);
    const type = field(spec, "fields.[].type");
    expect(type).toMatchObject({ kind: "enum", nullable: true, required: false });
    const incremental = field(schemaToForm(kind("sql_source").config_schema), "incremental");
    expect(incremental).toMatchObject({ kind: "object", nullable: true });
    expect(field(incremental, "column")).toMatchObject({ kind: "text", required: true });
    expect(field(incremental, "start")).toMatchObject({ kind: "json", lenient: true });
  });

  it("maps a nested list of objects with code, picker and secret hints", () => {
    const route = schemaToForm(kind("route").config_schema);
    expect(field(route, "rules")).toMatchObject({ kind: "list", required: true });
    expect(field(route, "rules.[]")).toMatchObject({ kind: "object", specPath: "rules.[]" });
    expect(field(route, "rules.[].condition")).toMatchObject({ kind: "code", language: "rhai-expression", specPath: "rules.[].condition", required: true });
    expect(field(route, "rules.[].name")).toMatchObject({ kind: "text", title: "Name" });

    const mask = schemaToForm(kind("mask").config_schema);
    expect(field(mask, "fields.[].field")).toMatchObject({ kind: "field-picker", port: "in" });
    expect(field(mask, "fields.[].key")).toMatchObject({ kind: "secret", nullable: true });
    const method = field(mask, "fields.[].method");
    expect(method.kind).toBe("enum");
    if (method.kind === "enum") expect(method.options.find((o) => o.value === "mobile")?.description).toMatch(/138/);
  });

  it("maps lists of field names and SQL statements", () => {
    const sink = schemaToForm(kind("sql_sink").config_schema, { category: "sink" });
    expect(field(sink, "key")).toMatchObject({ kind: "list", item: { kind: "field-picker", port: "in" } });
    expect(field(sink, "pre_sql")).toMatchObject({ kind: "list", item: { kind: "code", language: "sql" } });
    expect(field(sink, "url")).toMatchObject({ kind: "text", nullable: true });
    expect(field(schemaToForm(kind("join").config_schema), "on.[].right")).toMatchObject({ kind: "field-picker", port: "right" });
  });

  it("maps an externally tagged enum with a data variant (cleanse ops)", () => {
    const ops = field(schemaToForm(kind("cleanse").config_schema), "steps.[].ops.[]");
    expect(ops.kind).toBe("variant");
    if (ops.kind !== "variant") return;
    expect(ops.tagging).toBe("external");
    const trim = ops.variants.find((v) => v.tag === "trim");
    expect(trim).toMatchObject({ unit: true });
    const regex = ops.variants.find((v) => v.tag === "regex_replace");
    expect(regex?.unit).toBe(false);
    expect(regex?.body?.kind).toBe("object");
    expect(field(regex!.body!, "pattern")).toMatchObject({ kind: "text", required: true, specPath: "steps.[].ops.[].regex_replace.pattern" });
    expect(field(regex!.body!, "replacement")).toMatchObject({ kind: "text", default: "" });
  });

  it("maps number-or-text bounds and open values", () => {
    const validate = schemaToForm(kind("validate").config_schema);
    expect(field(validate, "rules.[].min")).toMatchObject({ kind: "text", valueType: "number-or-string", nullable: true });
    expect(field(validate, "rules.[].one_of")).toMatchObject({ kind: "list", nullable: true, item: { kind: "json", lenient: true } });
    const inline = schemaToForm(kind("inline_rows").config_schema);
    expect(field(inline, "rows.[]")).toMatchObject({ kind: "map", value: { kind: "json", lenient: true } });
    // `x-editor: rhai-script` on an optional string keeps it optional.
    expect(field(schemaToForm(kind("script").config_schema), "init")).toMatchObject({ kind: "code", language: "rhai-script", nullable: true });
    // Calls shown in the description feed completion.
    const script = field(schemaToForm(kind("script").config_schema), "script");
    if (script.kind === "code") expect(script.functions).toContain("emit");
  });

  it("maps an internally tagged variant", () => {
    const spec = schemaToForm({
      type: "object",
      properties: {
        auth: {
          oneOf: [
            { type: "object", description: "No auth.", properties: { type: { type: "string", const: "none" } }, required: ["type"] },
            {
              type: "object",
              properties: { type: { type: "string", const: "basic" }, user: { type: "string" }, password: { type: "string", "x-secret": true } },
              required: ["type", "user"],
            },
          ],
        },
      },
    });
    const auth = field(spec, "auth");
    expect(auth).toMatchObject({ kind: "variant", tagging: "internal", discriminator: "type" });
    if (auth.kind !== "variant") return;
    expect(auth.variants[0]).toMatchObject({ tag: "none", unit: true, description: "No auth." });
    expect(auth.variants[1].body?.kind).toBe("object");
    expect(field(auth.variants[1].body!, "password").kind).toBe("secret");
    expect(field(auth.variants[1].body!, "user").required).toBe(true);
  });

  it("falls back to JSON for recursive refs and unknown unions, and reads x-path", () => {
    const spec = schemaToForm(
      {
        type: "object",
        properties: {
          tree: { $ref: "#/$defs/Node" },
          either: { anyOf: [{ type: "object", properties: { a: { type: "string" } } }, { type: "array", items: { type: "string" } }] },
          out: { type: "string", "x-path": "file" },
          folder: { type: ["string", "null"], "x-path": "dir" },
          level: { type: "string", enum: ["low", "high", null] },
        },
        $defs: { Node: { type: "object", properties: { children: { type: "array", items: { $ref: "#/$defs/Node" } } } } },
      },
      { category: "sink" },
    );
    expect(field(spec, "tree.children.[]")).toMatchObject({ kind: "json", lenient: false });
    expect(field(spec, "either")).toMatchObject({ kind: "json", lenient: false });
    expect(field(spec, "out")).toMatchObject({ kind: "path", pathKind: "file", save: true });
    expect(field(spec, "folder")).toMatchObject({ kind: "path", pathKind: "dir", save: false, nullable: true });
    expect(field(spec, "level")).toMatchObject({ kind: "enum", nullable: true });
  });

  it("humanises property names", () => {
    expect(humanise("max_record_bytes")).toBe("Max record bytes");
    expect(humanise("keepFirst")).toBe("Keep first");
    expect(humanise("pre_sql")).toBe("Pre SQL");
    expect(humanise("id_card")).toBe("ID card");
  });
});
