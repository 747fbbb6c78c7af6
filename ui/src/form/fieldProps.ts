import type { Path } from "./paths";
import type { FieldSpec } from "./schemaToForm";
import { emptyValue } from "./defaults";

export interface FieldProps<S extends FieldSpec = FieldSpec> {
  spec: S;
  path: Path;
  value: unknown;
  /** The key is in the config (an absent key shows its default as a placeholder). */
  present: boolean;
  onChange(value: unknown): void;
  /** Takes the key out of the config. */
  onRemove(): void;
  /** Replaces the schema label (list items: "Item 2"). */
  label?: string;
  /** No visible label or help (the label stays for assistive tech). */
  bare?: boolean;
}

/** What emptying a field does: an optional key goes away; a required one keeps an empty
 *  value of its type (or null where the schema allows it), so the planner reports it. */
export function clearField(props: Pick<FieldProps, "spec" | "onChange" | "onRemove">): void {
  const { spec } = props;
  if (!spec.required) props.onRemove();
  else if (spec.nullable) props.onChange(null);
  else if (spec.kind === "number" || spec.kind === "integer") props.onRemove();
  else props.onChange(emptyValue(spec));
}

/** Shows a default as a placeholder (text fields only show scalar defaults). */
export function defaultText(spec: FieldSpec): string | undefined {
  if (!spec.hasDefault) return undefined;
  const d = spec.default;
  if (typeof d === "string") return d === "" ? undefined : d;
  if (typeof d === "number" || typeof d === "boolean") return String(d);
  return undefined;
}
