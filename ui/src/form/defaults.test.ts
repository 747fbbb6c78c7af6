import { describe, expect, it } from "vitest";
import { defaultConfig, variantIndex, variantValue } from "./defaults";
import { schemaToForm, type FieldSpec } from "./schemaToForm";
import { catalog, kind } from "./test/catalog";

/** Whether a value has the JSON type a field asks for. */
function fits(spec: FieldSpec, value: unknown): boolean {
  switch (spec.kind) {
    case "text":
    case "secret":
    case "path":
    case "field-picker":
    case "code":
      return typeof value === "string";
    case "number":
      return typeof value === "number";
    case "integer":
      return Number.isInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "enum":
      return spec.options.some((o) => o.value === value);
    case "list":
      return Array.isArray(value);
    case "map":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "object":
      return (
        typeof value === "object" &&
        value !== null &&
        spec.fields.every((f) => !f.required || fits(f, (value as Record<string, unknown>)[f.name]))
      );
    case "variant":
      return variantIndex(spec, value) >= 0;
    case "json":
      return true;
  }
}

describe("defaultConfig", () => {
  for (const k of catalog) {
    it(`gives ${k.kind} every required key, typed, and nothing else`, () => {
      const config = defaultConfig(k.config_schema);
      const required = ((k.config_schema.required as string[] | undefined) ?? []).slice().sort();
      expect(Object.keys(config).sort()).toEqual(required);
      const spec = schemaToForm(k.config_schema);
      for (const f of spec.fields) if (f.required) expect(fits(f, config[f.name]), `${k.kind}.${f.name}`).toBe(true);
    });
  }

  it("fills required values with empties of their type", () => {
    expect(defaultConfig(kind("csv_source").config_schema)).toEqual({ path: "" });
    expect(defaultConfig(kind("filter").config_schema)).toEqual({ condition: "" });
    expect(defaultConfig(kind("route").config_schema)).toEqual({ rules: [] });
    expect(defaultConfig(kind("limit").config_schema)).toEqual({ rows: 0 });
    expect(defaultConfig(kind("dedupe").config_schema)).toEqual({});
    expect(defaultConfig(kind("lookup").config_schema)).toEqual({ table: "", key: [] });
  });

  it("uses a required property's default and a required enum's first option", () => {
    expect(
      defaultConfig({
        type: "object",
        properties: { mode: { enum: ["a", "b"] }, size: { type: "integer", minimum: 2, default: 8 }, min: { type: "integer", minimum: 3 } },
        required: ["mode", "size", "min"],
      }),
    ).toEqual({ mode: "a", size: 8, min: 3 });
  });

  it("builds variant values", () => {
    const ops = schemaToForm(kind("cleanse").config_schema).fields[0];
    if (ops.kind !== "list" || ops.item.kind !== "object") throw new Error("unexpected cleanse shape");
    const op = ops.item.fields.find((f) => f.name === "ops");
    if (op?.kind !== "list" || op.item.kind !== "variant") throw new Error("unexpected ops shape");
    const variant = op.item;
    const regex = variant.variants.findIndex((v) => v.tag === "regex_replace");
    expect(variantValue(variant, regex)).toEqual({ regex_replace: { pattern: "" } });
    expect(variantValue(variant, 0)).toBe("trim");
    expect(variantIndex(variant, { regex_replace: { pattern: "x" } })).toBe(regex);
    expect(variantIndex(variant, "nope")).toBe(-1);
  });
});
