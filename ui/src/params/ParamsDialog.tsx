// The flow's run-time params (`${name}` in any config): a table of name, type, default
// and description, edited as a draft and applied as one undo step. A param left as it was
// keeps its exact object, so an unchanged flow saves byte-identical.

import { useMemo, useState } from "react";
import { Plus, Trash2 } from "lucide-react";
import { useTranslation } from "react-i18next";
import type { ParamSpec, ParamType } from "../api/generated";
import { Modal } from "../lib/Modal";
import { openParams } from "../files/dialogStore";
import { PARAM_NAME_PATTERN } from "../store/docOps";
import { useFlow } from "../store/flowStore";
import { deepEqual } from "../lib/deepEqual";

export const PARAM_TYPES: ParamType[] = ["string", "int", "float", "bool", "path", "date"];

export interface ParamRow {
  key: number;
  original?: ParamSpec;
  name: string;
  type: ParamType;
  /** The default as typed; "" = no default (the param is required). */
  defaultText: string;
  description: string;
}

export function toRow(p: ParamSpec, key: number): ParamRow {
  const d = p.default;
  const defaultText = d === undefined || d === null ? "" : typeof d === "string" ? d : typeof d === "object" ? JSON.stringify(d) : String(d);
  return { key, original: p, name: p.name, type: p.type, defaultText, description: p.description ?? "" };
}

export type DefaultProblem = "int" | "float" | "bool" | "date";
export type NameProblem = "empty" | "pattern" | "taken";

/** The JSON default of a row, or why its text is not one of its type. */
export function parseDefault(type: ParamType, text: string): { value?: unknown; problem?: DefaultProblem } {
  const s = text.trim();
  if (s === "") return {};
  switch (type) {
    case "int":
      return /^[-+]?\d+$/.test(s) && Number.isSafeInteger(Number(s)) ? { value: Number(s) } : { problem: "int" };
    case "float":
      return s !== "" && Number.isFinite(Number(s)) ? { value: Number(s) } : { problem: "float" };
    case "bool":
      return s === "true" ? { value: true } : s === "false" ? { value: false } : { problem: "bool" };
    case "date":
      return /^\d{4}-\d{2}-\d{2}$/.test(s) ? { value: s } : { problem: "date" };
    default:
      return { value: text };
  }
}

export function nameProblem(rows: ParamRow[], row: ParamRow): NameProblem | null {
  if (row.name.trim() === "") return "empty";
  if (!PARAM_NAME_PATTERN.test(row.name)) return "pattern";
  if (rows.some((r) => r !== row && r.name === row.name)) return "taken";
  return null;
}

/** The param a row stands for: its original object when nothing changed, otherwise the
 *  original's keys with the edits (no key added that the user did not fill in). */
export function toParam(row: ParamRow): ParamSpec {
  const parsed = parseDefault(row.type, row.defaultText);
  const next: ParamSpec = { ...(row.original ?? {}), name: row.name, type: row.type };
  const o = row.original;
  // An untouched default stays exactly as the file had it (an empty string, a JSON value).
  const untouched = o !== undefined && o.type === row.type && toRow(o, 0).defaultText === row.defaultText;
  if (untouched) {
    if (o.default === undefined) delete next.default;
    else next.default = o.default;
  } else if (parsed.value === undefined) delete next.default;
  else next.default = parsed.value as ParamSpec["default"];
  if (row.description === "") delete next.description;
  else next.description = row.description;
  return row.original && deepEqual(row.original, next) ? row.original : next;
}

export function ParamsDialog() {
  const { t } = useTranslation("app");
  const params = useFlow((s) => s.doc.params);
  const [rows, setRows] = useState<ParamRow[]>(() => (params ?? []).map(toRow));
  const [nextKey, setNextKey] = useState(() => (params?.length ?? 0) + 1);

  const problems = useMemo(
    () =>
      rows.map((r) => ({
        name: nameProblem(rows, r),
        default: parseDefault(r.type, r.defaultText).problem ?? null,
      })),
    [rows],
  );
  const invalid = problems.some((p) => p.name || p.default);

  const update = (key: number, patch: Partial<ParamRow>) => setRows((rs) => rs.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const close = () => openParams(false);
  const apply = () => {
    if (invalid) return;
    useFlow.getState().setParams(rows.map(toParam));
    close();
  };
  const add = () => {
    const taken = new Set(rows.map((r) => r.name));
    let n = rows.length + 1;
    while (taken.has(`param_${n}`)) n++;
    setRows((rs) => [...rs, { key: nextKey, name: `param_${n}`, type: "string", defaultText: "", description: "" }]);
    setNextKey((k) => k + 1);
  };

  return (
    <Modal
      title={t("params.title")}
      onClose={close}
      width={820}
      testId="params-dialog"
      footer={
        <>
          <button type="button" className="btn" data-testid="params-add" onClick={add}>
            <Plus size={14} aria-hidden />
            <span>{t("params.add")}</span>
          </button>
          <span className="modal__foot-spacer" />
          <button type="button" className="btn" onClick={close}>
            {t("dialog.cancel")}
          </button>
          <button type="button" className="btn btn--primary" data-testid="params-apply" disabled={invalid} onClick={apply}>
            {t("dialog.apply")}
          </button>
        </>
      }
    >
      <p className="dialog-text muted">{t("params.intro")}</p>
      {rows.length === 0 ? (
        <div className="params__empty">{t("params.empty")}</div>
      ) : (
        <table className="params">
          <thead>
            <tr>
              <th>{t("params.name")}</th>
              <th>{t("params.type")}</th>
              <th>{t("params.default")}</th>
              <th>{t("params.description")}</th>
              <th aria-label={t("params.remove")} />
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => {
              const p = problems[i];
              return (
                <tr key={r.key} data-testid="param-row">
                  <td>
                    <input
                      className={`input input--mono${p.name ? " is-invalid" : ""}`}
                      data-testid="param-name"
                      value={r.name}
                      aria-label={t("params.name")}
                      aria-invalid={p.name ? true : undefined}
                      spellCheck={false}
                      onChange={(e) => update(r.key, { name: e.target.value })}
                    />
                    {p.name && <div className="field__error">{t(`params.nameProblem.${p.name}`)}</div>}
                  </td>
                  <td>
                    <select className="select" data-testid="param-type" value={r.type} aria-label={t("params.type")} onChange={(e) => update(r.key, { type: e.target.value as ParamType })}>
                      {PARAM_TYPES.map((ty) => (
                        <option key={ty} value={ty}>
                          {t(`params.types.${ty}`)}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    {r.type === "bool" ? (
                      <select className="select" data-testid="param-default" value={r.defaultText} aria-label={t("params.default")} onChange={(e) => update(r.key, { defaultText: e.target.value })}>
                        <option value="">{t("params.noDefault")}</option>
                        <option value="true">{t("params.true")}</option>
                        <option value="false">{t("params.false")}</option>
                      </select>
                    ) : (
                      <input
                        className={`input${p.default ? " is-invalid" : ""}`}
                        data-testid="param-default"
                        value={r.defaultText}
                        aria-label={t("params.default")}
                        placeholder={r.type === "date" ? t("params.datePlaceholder") : t("params.requiredPlaceholder")}
                        inputMode={r.type === "int" || r.type === "float" ? "decimal" : undefined}
                        onChange={(e) => update(r.key, { defaultText: e.target.value })}
                      />
                    )}
                    {p.default && <div className="field__error">{t(`params.defaultProblem.${p.default}`)}</div>}
                  </td>
                  <td>
                    <input className="input" data-testid="param-description" value={r.description} aria-label={t("params.description")} onChange={(e) => update(r.key, { description: e.target.value })} />
                  </td>
                  <td>
                    <button
                      type="button"
                      className="icon-btn icon-btn--sm"
                      data-testid="param-remove"
                      title={t("params.remove")}
                      aria-label={t("params.remove")}
                      onClick={() => setRows((rs) => rs.filter((x) => x.key !== r.key))}
                    >
                      <Trash2 size={14} />
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Modal>
  );
}
