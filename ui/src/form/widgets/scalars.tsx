// Single-input widgets: text, number, boolean, enum, JSON, secret and path.

import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Eye, EyeOff, FolderOpen } from "lucide-react";
import { DiagnosticList, FieldShell, HelpText, RichText, useFieldMeta } from "../FieldShell";
import { clearField, defaultText, type FieldProps } from "../fieldProps";
import type { BooleanSpec, EnumOption, EnumSpec, JsonSpec, NumberSpec, PathSpec, SecretSpec, TextSpec } from "../schemaToForm";
import { useFormContext } from "../context";
import { optionDescription } from "../catalogText";
import { unwrap } from "../text";

/** The text a value shows as (a value of an unexpected type is shown, never hidden). */
export function displayText(value: unknown, present: boolean): string {
  if (!present || value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** Keeps a draft of what the user types apart from the committed value: needed where
 *  not every text is a value (half-typed numbers, JSON, secrets). The draft follows the
 *  value whenever the value changes from outside. */
function useDraft(external: string, matches: (draft: string) => boolean) {
  const [draft, setDraft] = useState(external);
  const [seen, setSeen] = useState(external);
  if (external !== seen) {
    setSeen(external);
    if (!matches(draft)) setDraft(external);
  }
  return [draft, setDraft] as const;
}

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** What a text field's text stands for: the text itself, or a number where the schema
 *  takes either (`anyOf: [number, string]`). */
function textValue(spec: TextSpec, text: string): unknown {
  return spec.valueType === "number-or-string" && NUMBER_TEXT.test(text.trim()) ? Number(text.trim()) : text;
}

export function TextWidget(props: FieldProps<TextSpec>) {
  const { spec, value, present } = props;
  const { t } = useTranslation("form");
  // A draft, so `1.` stays on screen while it already counts as the number 1.
  const [text, setText] = useDraft(displayText(value, present), (d) => d !== "" && textValue(spec, d) === value);
  let localError: string | undefined;
  if (text && spec.minLength !== undefined && [...text].length < spec.minLength) localError = t("textTooShort", { n: spec.minLength });
  const meta = useFieldMeta(spec, props.path, props.label, localError);
  const placeholder = defaultText(spec);
  return (
    <FieldShell meta={meta} spec={spec} bare={props.bare} localError={localError}>
      <input
        {...meta.inputProps}
        className="sl-input"
        type="text"
        value={text}
        maxLength={spec.maxLength}
        placeholder={placeholder !== undefined ? t("defaultPlaceholder", { value: placeholder }) : undefined}
        spellCheck={false}
        onChange={(e) => {
          const next = e.target.value;
          setText(next);
          if (next === "") clearField(props);
          else props.onChange(textValue(spec, next));
        }}
      />
    </FieldShell>
  );
}

export function NumberWidget(props: FieldProps<NumberSpec>) {
  const { spec, value, present } = props;
  const { t } = useTranslation("form");
  const external = displayText(value, present);
  const [draft, setDraft] = useDraft(external, (d) => d.trim() !== "" && NUMBER_TEXT.test(d.trim()) && Number(d) === value);
  const trimmed = draft.trim();
  let localError: string | undefined;
  if (trimmed !== "") {
    if (!NUMBER_TEXT.test(trimmed)) localError = spec.kind === "integer" ? t("notAnInteger") : t("notANumber");
    else {
      const n = Number(trimmed);
      if (spec.kind === "integer" && !Number.isInteger(n)) localError = t("notAnInteger");
      else if (spec.minimum !== undefined && n < spec.minimum) localError = t("tooSmall", { min: spec.minimum });
      else if (spec.maximum !== undefined && n > spec.maximum) localError = t("tooLarge", { max: spec.maximum });
      else if (spec.exclusiveMinimum !== undefined && n <= spec.exclusiveMinimum) localError = t("moreThan", { min: spec.exclusiveMinimum });
      else if (spec.exclusiveMaximum !== undefined && n >= spec.exclusiveMaximum) localError = t("lessThan", { max: spec.exclusiveMaximum });
    }
  }
  const meta = useFieldMeta(spec, props.path, props.label, localError);
  const placeholder = defaultText(spec);
  return (
    <FieldShell meta={meta} spec={spec} bare={props.bare} localError={localError}>
      <input
        {...meta.inputProps}
        className="sl-input sl-input--number"
        type="text"
        inputMode={spec.kind === "integer" ? "numeric" : "decimal"}
        value={draft}
        placeholder={placeholder !== undefined ? t("defaultPlaceholder", { value: placeholder }) : undefined}
        onChange={(e) => {
          const next = e.target.value;
          setDraft(next);
          const tr = next.trim();
          if (tr === "") clearField(props);
          // A number out of range is still written: the planner names the limit too, and
          // the user sees what the file holds.
          else if (NUMBER_TEXT.test(tr) && (spec.kind === "number" || Number.isInteger(Number(tr)))) props.onChange(Number(tr));
        }}
      />
    </FieldShell>
  );
}

export function BooleanWidget(props: FieldProps<BooleanSpec>) {
  const { spec, value, present } = props;
  const { t } = useTranslation("form");
  const meta = useFieldMeta(spec, props.path, props.label);
  const fallback = typeof spec.default === "boolean" ? spec.default : false;

  // An optional flag without a default means "decided by the engine" (e.g. parallel when
  // possible): a checkbox cannot say that, so it gets a three-way choice.
  if (spec.nullable && !spec.hasDefault) {
    const current = present && typeof value === "boolean" ? String(value) : "";
    return (
      <FieldShell meta={meta} spec={spec} bare={props.bare}>
        <select
          {...meta.inputProps}
          className="sl-input sl-select"
          value={current}
          onChange={(e) => {
            if (e.target.value === "") clearField(props);
            else props.onChange(e.target.value === "true");
          }}
        >
          <option value="">{t("automatic")}</option>
          <option value="true">{t("yes")}</option>
          <option value="false">{t("no")}</option>
        </select>
      </FieldShell>
    );
  }

  const checked = present && typeof value === "boolean" ? value : fallback;
  return (
    <div className={["sl-field", "sl-field--boolean", meta.invalid ? "sl-field--invalid" : ""].filter(Boolean).join(" ")} data-testid={`field-${meta.key}`}>
      <div className="sl-check">
        <input
          {...meta.inputProps}
          type="checkbox"
          checked={checked}
          onChange={(e) => {
            const next = e.target.checked;
            // Back to the value the engine assumes anyway: the key goes, so toggling twice
            // leaves the file as it was.
            if (!spec.required && next === fallback) props.onRemove();
            else props.onChange(next);
          }}
        />
        <label htmlFor={meta.id} id={meta.labelId} className={props.bare ? "sl-visually-hidden" : "sl-field__label"}>
          {meta.label}
        </label>
      </div>
      {!props.bare && <HelpText id={meta.helpId} text={meta.help} />}
      <DiagnosticList id={meta.errorId} diagnostics={meta.diagnostics} />
    </div>
  );
}

function optionLabel(v: string | number | boolean): string {
  return String(v);
}

export function EnumWidget(props: FieldProps<EnumSpec>) {
  const { spec, value, present } = props;
  const { t } = useTranslation("form");
  const meta = useFieldMeta(spec, props.path, props.label);
  const index = present ? spec.options.findIndex((o) => o.value === value) : -1;
  const unknown = present && value !== null && value !== undefined && index < 0;
  const selected = index >= 0 ? spec.options[index] : undefined;
  const shownDefault = spec.hasDefault && spec.default !== null && spec.default !== undefined ? spec.options.find((o) => o.value === spec.default) : undefined;
  const emptyText = shownDefault ? t("defaultOption", { value: optionLabel(shownDefault.value) }) : spec.required ? t("chooseOption") : t("notSet");
  const describe = selected ?? (!present ? shownDefault : undefined);
  const ctx = useFormContext();
  const optionText = (o: EnumOption) => (o.description ? optionDescription(ctx.kind, spec.specPath, String(o.value), o.description) : undefined);
  return (
    <FieldShell meta={meta} spec={spec} bare={props.bare}>
      <select
        {...meta.inputProps}
        className="sl-input sl-select"
        value={index >= 0 ? String(index) : unknown ? "unknown" : ""}
        onChange={(e) => {
          const v = e.target.value;
          if (v === "") clearField(props);
          else if (v !== "unknown") props.onChange(spec.options[Number(v)].value);
        }}
      >
        {(!spec.required || index < 0) && (
          <option value="">{emptyText}</option>
        )}
        {unknown && <option value="unknown">{t("unknownValue", { value: displayText(value, true) })}</option>}
        {spec.options.map((o, i) => (
          <option key={i} value={String(i)} title={optionText(o)}>
            {optionLabel(o.value)}
          </option>
        ))}
      </select>
      {describe && optionText(describe) && (
        <div className="sl-field__option-help">
          <RichText text={unwrap(optionText(describe)!)} />
        </div>
      )}
    </FieldShell>
  );
}

/** Any JSON value. A lenient field (the schema allows anything) keeps text that is not
 *  JSON as a string, so `urgent` needs no quotes; `"42"` stays the text 42. */
export function JsonWidget(props: FieldProps<JsonSpec>) {
  const { spec, value, present } = props;
  const { t } = useTranslation("form");
  const external = jsonText(value, present, spec.lenient);
  const [draft, setDraft] = useDraft(external, (d) => {
    const parsed = parseJson(d, spec.lenient);
    return parsed.ok && JSON.stringify(parsed.value) === JSON.stringify(value);
  });
  const parsed = draft.trim() === "" ? { ok: true as const, value: undefined } : parseJson(draft, spec.lenient);
  const localError = parsed.ok ? undefined : t("jsonInvalid", { message: parsed.error });
  const meta = useFieldMeta(spec, props.path, props.label, localError);
  const multiline = draft.includes("\n") || draft.length > 60;
  const common = {
    ...meta.inputProps,
    className: "sl-input sl-input--mono",
    value: draft,
    spellCheck: false,
    placeholder: spec.lenient ? t("jsonLenientPlaceholder") : t("jsonPlaceholder"),
    onChange: (e: { target: { value: string } }) => {
      const next = e.target.value;
      setDraft(next);
      if (next.trim() === "") {
        clearField(props);
        return;
      }
      const p = parseJson(next, spec.lenient);
      if (p.ok) props.onChange(p.value);
    },
  };
  return (
    <FieldShell meta={meta} spec={spec} bare={props.bare} localError={localError}>
      {multiline ? <textarea {...common} rows={Math.min(10, draft.split("\n").length + 1)} /> : <input {...common} type="text" />}
    </FieldShell>
  );
}

function jsonText(value: unknown, present: boolean, lenient: boolean): string {
  if (!present || value === undefined) return "";
  if (lenient && typeof value === "string") {
    // Text that would read back as another JSON value keeps its quotes.
    return parseJson(value, false).ok || value.trim() !== value ? JSON.stringify(value) : value;
  }
  return JSON.stringify(value, null, typeof value === "object" && value !== null && JSON.stringify(value).length > 60 ? 2 : undefined);
}

function parseJson(text: string, lenient: boolean): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    if (lenient) {
      const tr = text.trim();
      // Something that looks meant as JSON but is broken is an error, not a string.
      if (/^[[{"]/.test(tr)) return { ok: false, error: (e as Error).message };
      return { ok: true, value: text };
    }
    return { ok: false, error: (e as Error).message };
  }
}

/** Shown in an empty secret field: the form of the value, not language. */
const ENV_PLACEHOLDER = "${env:NAME}"; // i18n-ignore
const ENV_REFERENCE = /^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/;

/** Could still become `${env:NAME}` by typing more. */
function isEnvPrefix(text: string): boolean {
  const target = "${env:";
  if (text.length <= target.length) return target.startsWith(text);
  return /^\$\{env:[A-Za-z_][A-Za-z0-9_]*$/.test(text);
}

/** A secret: masked, and only ever a `${env:NAME}` reference. Anything else typed is kept
 *  in the widget and never written to the config, so it cannot end up in the flow file. */
export function SecretWidget(props: FieldProps<SecretSpec>) {
  const { spec, value, present } = props;
  const { t } = useTranslation("form");
  const [revealed, setRevealed] = useState(false);
  const [touched, setTouched] = useState(false);
  const external = displayText(value, present);
  const [draft, setDraft] = useDraft(external, (d) => d === value);
  const valid = draft === "" || ENV_REFERENCE.test(draft.trim());
  const showError = !valid && (touched || !isEnvPrefix(draft));
  const localError = showError ? t("secretLiteral") : undefined;
  const meta = useFieldMeta(spec, props.path, props.label, localError);
  return (
    <FieldShell
      meta={meta}
      spec={spec}
      bare={props.bare}
      localError={localError}
    >
      <div className="sl-input-row">
        <input
          {...meta.inputProps}
          className="sl-input sl-input--mono"
          type={revealed ? "text" : "password"}
          autoComplete="off"
          spellCheck={false}
          value={draft}
          placeholder={ENV_PLACEHOLDER}
          onBlur={() => setTouched(true)}
          onChange={(e) => {
            const next = e.target.value;
            setDraft(next);
            if (next === "") clearField(props);
            else if (ENV_REFERENCE.test(next.trim())) props.onChange(next.trim());
          }}
        />
        <button
          type="button"
          className="sl-icon-button"
          aria-pressed={revealed}
          aria-label={revealed ? t("secretHide") : t("secretShow")}
          title={revealed ? t("secretHide") : t("secretShow")}
          aria-controls={meta.id}
          onClick={() => setRevealed((r) => !r)}
        >
          {revealed ? <EyeOff size={14} aria-hidden /> : <Eye size={14} aria-hidden />}
        </button>
      </div>
      <div className="sl-field__note">{t("secretHint")}</div>
    </FieldShell>
  );
}

export function PathWidget(props: FieldProps<PathSpec>) {
  const { spec, value, present } = props;
  const { t } = useTranslation("form");
  const ctx = useFormContext();
  const meta = useFieldMeta(spec, props.path, props.label);
  const text = displayText(value, present);
  const buttonText = spec.pathKind === "dir" ? t("pickDir") : spec.save ? t("pickSave") : t("pickFile");
  const placeholder = defaultText(spec);
  return (
    <FieldShell meta={meta} spec={spec} bare={props.bare}>
      <div className="sl-input-row">
        <input
          {...meta.inputProps}
          className="sl-input sl-input--mono"
          type="text"
          value={text}
          spellCheck={false}
          placeholder={placeholder !== undefined ? t("defaultPlaceholder", { value: placeholder }) : undefined}
          onChange={(e) => {
            const next = e.target.value;
            if (next === "") clearField(props);
            else props.onChange(next);
          }}
        />
        <button
          type="button"
          className="sl-button sl-button--small"
          data-testid={`pick-${meta.key}`}
          onClick={async () => {
            const picked = await ctx.pickFile({ kind: spec.pathKind, ...(spec.save ? { save: true } : {}) });
            if (picked) props.onChange(picked);
          }}
        >
          <FolderOpen size={14} aria-hidden /> {buttonText}
        </button>
      </div>
    </FieldShell>
  );
}
