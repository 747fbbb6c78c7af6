// The frame every field shares: label (linked to the input), required mark, help text
// (first sentence inline, the rest behind "More"), and the engine's diagnostics in red.

import { useId, type MouseEvent, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { errorText, fieldHelp, fieldLabel } from "./catalogText";
import i18n from "../i18n";
import { domId, useFormContext } from "./context";
import { pathKey, type Path } from "./paths";
import type { FieldSpec } from "./schemaToForm";
import { codeRuns, splitHelp } from "./text";
import type { FormDiagnostic } from "./types";

export interface FieldMeta {
  key: string;
  id: string;
  labelId: string;
  helpId: string;
  errorId: string;
  label: string;
  help?: string;
  diagnostics: FormDiagnostic[];
  invalid: boolean;
  /** Props every input of the field carries. */
  inputProps: {
    id: string;
    "data-testid": string;
    "aria-invalid": boolean | undefined;
    "aria-describedby": string | undefined;
    "aria-required": boolean | undefined;
  };
}

export function useFieldMeta(spec: FieldSpec, path: Path, labelOverride?: string, localError?: string): FieldMeta {
  const ctx = useFormContext();
  // Subscribes to language changes so labels from the catalog namespace re-render.
  useTranslation("catalog");
  const key = pathKey(path);
  const id = domId(ctx.idPrefix, key || "root");
  const diagnostics = ctx.diagnosticsAt(key);
  const label = labelOverride ?? (spec.name ? fieldLabel(ctx.kind, spec.specPath, spec.title) : spec.title);
  const help = spec.description || spec.name ? fieldHelp(ctx.kind, spec.specPath, spec.description ?? "") : undefined;
  const invalid = diagnostics.some((d) => d.severity !== "warning") || Boolean(localError);
  const helpId = `${id}--help`;
  const errorId = `${id}--error`;
  const describedBy = [help ? helpId : null, diagnostics.length > 0 || localError ? errorId : null].filter(Boolean).join(" ");
  return {
    key,
    id,
    labelId: `${id}--label`,
    helpId,
    errorId,
    label,
    help: help || undefined,
    diagnostics,
    invalid,
    inputProps: {
      id,
      "data-testid": `input-${key}`,
      "aria-invalid": invalid || undefined,
      "aria-describedby": describedBy || undefined,
      "aria-required": spec.required || undefined,
    },
  };
}

/** Text with `code` runs. */
export function RichText({ text }: { text: string }) {
  return (
    <>
      {codeRuns(text).map((run, i) => (run.code ? <code key={i}>{run.text}</code> : <span key={i}>{run.text}</span>))}
    </>
  );
}

export function HelpText({ id, text }: { id: string; text?: string }) {
  const { t } = useTranslation("form");
  const detailsId = useId();
  if (!text) return null;
  const { first, rest } = splitHelp(text);
  return (
    <div className="sl-field__help" id={id}>
      <RichText text={first} />
      {rest && (
        <details className="sl-field__more">
          <summary aria-controls={detailsId}>{t("moreHelp")}</summary>
          <div id={detailsId}>
            {rest.split("\n\n").map((p, i) => (
              <p key={i}>
                <RichText text={p} />
              </p>
            ))}
          </div>
        </details>
      )}
    </div>
  );
}

export function DiagnosticList({ id, diagnostics, localError }: { id: string; diagnostics: FormDiagnostic[]; localError?: string }) {
  useTranslation("errors");
  if (diagnostics.length === 0 && !localError) return null;
  return (
    <ul className="sl-field__errors" id={id}>
      {localError && (
        <li className="sl-field__error" role="alert">
          <RichText text={localError} />
        </li>
      )}
      {diagnostics.map((d, i) => (
        <li key={i} className={d.severity === "warning" ? "sl-field__warning" : "sl-field__error"} data-code={d.code}>
          {/* The kind of problem in the UI language; the engine's message (with names and
              values) as written. */}
          {i18n.exists(`codes.${d.code}`, { ns: "errors" }) && <span className="sl-field__error-title">{errorText(d).title}</span>}
          <RichText text={d.message} />
          {d.hint && (
            <span className="sl-field__hint">
              {" "}
              <RichText text={d.hint} />
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

export function RequiredMark({ required }: { required: boolean }) {
  const { t } = useTranslation("form");
  if (!required) return null;
  return (
    <span className="sl-field__req" title={t("required")} aria-hidden="true">
      *
    </span>
  );
}

interface FieldShellProps {
  meta: FieldMeta;
  spec: FieldSpec;
  children: ReactNode;
  /** Message of the widget's own check (not a number, a literal secret). */
  localError?: string;
  /** Hide the visible label (list items: the list says what they are). */
  bare?: boolean;
  className?: string;
  /** Controls beside the label (e.g. a reveal toggle). */
  labelExtra?: ReactNode;
}

/** A label only focuses form controls; a code editor is a contenteditable element. */
function focusEditable(e: MouseEvent<HTMLLabelElement>) {
  const target = document.getElementById(e.currentTarget.htmlFor);
  if (target && !(target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement)) {
    e.preventDefault();
    target.focus();
  }
}

/** A single-input field: label above, help and diagnostics below. */
export function FieldShell({ meta, spec, children, localError, bare, className, labelExtra }: FieldShellProps) {
  return (
    <div
      className={["sl-field", `sl-field--${spec.kind}`, meta.invalid ? "sl-field--invalid" : "", className ?? ""].filter(Boolean).join(" ")}
      data-testid={`field-${meta.key}`}
    >
      {bare ? (
        <label htmlFor={meta.id} id={meta.labelId} className="sl-visually-hidden">
          {meta.label}
        </label>
      ) : (
        <div className="sl-field__head">
          <label htmlFor={meta.id} id={meta.labelId} className="sl-field__label" onClick={focusEditable}>
            {meta.label}
            <RequiredMark required={spec.required} />
          </label>
          {labelExtra}
        </div>
      )}
      {children}
      {!bare && <HelpText id={meta.helpId} text={meta.help} />}
      <DiagnosticList id={meta.errorId} diagnostics={meta.diagnostics} localError={localError} />
    </div>
  );
}

interface GroupShellProps {
  meta: FieldMeta;
  spec: FieldSpec;
  children: ReactNode;
  actions?: ReactNode;
  bare?: boolean;
}

/** A field made of several inputs (object, list, map): a fieldset with a legend. */
export function GroupShell({ meta, spec, children, actions, bare }: GroupShellProps) {
  return (
    <fieldset
      className={["sl-group", `sl-group--${spec.kind}`, meta.invalid ? "sl-field--invalid" : "", bare ? "sl-group--bare" : ""].filter(Boolean).join(" ")}
      data-testid={`field-${meta.key}`}
      aria-invalid={meta.invalid || undefined}
      aria-describedby={[meta.help && !bare ? meta.helpId : null, meta.diagnostics.length ? meta.errorId : null].filter(Boolean).join(" ") || undefined}
    >
      <legend className={bare ? "sl-visually-hidden" : "sl-group__legend"} id={meta.labelId}>
        {meta.label}
        {!bare && <RequiredMark required={spec.required} />}
      </legend>
      {actions && <div className="sl-group__actions">{actions}</div>}
      {!bare && <HelpText id={meta.helpId} text={meta.help} />}
      <DiagnosticList id={meta.errorId} diagnostics={meta.diagnostics} />
      {children}
    </fieldset>
  );
}
