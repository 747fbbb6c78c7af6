// What a new node, list item or map entry starts with. Only what the schema requires is
// written: optional keys stay out so the engine's own defaults apply and a saved flow
// carries only what the user chose.

import { schemaToForm, type FieldSpec, type JsonSchema, type ObjectSpec, type VariantSpec } from "./schemaToForm";

/** The minimal config of a new node of a kind: every required property with its schema
 *  default or an empty value of its type; nothing else. */
export function defaultConfig(schema: JsonSchema): Record<string, unknown> {
  return objectDefault(schemaToForm(schema));
}

/** A required object: its required fields filled. */
export function objectDefault(spec: ObjectSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of spec.fields) {
    if (field.required) out[field.name] = initialValue(field);
  }
  return out;
}

/** The value a field starts with when it must have one: its default, else an empty value
 *  of its type. */
export function initialValue(spec: FieldSpec): unknown {
  if (spec.hasDefault && spec.default !== null && spec.default !== undefined) return structuredClone(spec.default);
  return emptyValue(spec);
}

/** The empty value of a field's type ("" for text, [] for a list, the first option of an
 *  enum, the required fields of an object). */
export function emptyValue(spec: FieldSpec): unknown {
  switch (spec.kind) {
    case "text":
    case "secret":
    case "path":
    case "field-picker":
    case "code":
      return "";
    case "number":
    case "integer": {
      const min = spec.minimum ?? (spec.exclusiveMinimum !== undefined ? spec.exclusiveMinimum + (spec.kind === "integer" ? 1 : 0) : undefined);
      return min !== undefined && min > 0 ? min : 0;
    }
    case "boolean":
      return false;
    case "enum":
      return spec.options[0]?.value ?? "";
    case "list":
      return [];
    case "map":
      return {};
    case "object":
      return objectDefault(spec);
    case "variant":
      return variantValue(spec, 0);
    case "json":
      return spec.lenient ? "" : null;
  }
}

/** The value of variant `index` with its required data filled. */
export function variantValue(spec: VariantSpec, index: number): unknown {
  const option = spec.variants[index];
  if (!option) return null;
  if (spec.tagging === "internal") {
    const body = option.body && option.body.kind === "object" ? objectDefault(option.body) : {};
    return { [spec.discriminator!]: option.tag, ...body };
  }
  if (option.unit || !option.body) return option.tag;
  return { [option.tag]: initialValue(option.body) };
}

/** Which variant a value is, or -1. */
export function variantIndex(spec: VariantSpec, value: unknown): number {
  if (spec.tagging === "internal") {
    if (typeof value !== "object" || value === null) return -1;
    const tag = (value as Record<string, unknown>)[spec.discriminator!];
    return spec.variants.findIndex((v) => v.tag === tag);
  }
  if (typeof value === "string") return spec.variants.findIndex((v) => v.unit && v.tag === value);
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    return spec.variants.findIndex((v) => !v.unit && keys.length === 1 && keys[0] === v.tag);
  }
  return -1;
}
