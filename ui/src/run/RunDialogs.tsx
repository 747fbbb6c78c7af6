// The run's questions: values for the flow's params before a run or a preview (params
// without a default must be given; the others may be), and whether to stop a run in
// progress when the desktop window is closed.

import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import type { ParamSpec } from "../api/generated";
import { Modal } from "../lib/Modal";
import { parseDefault, toRow } from "../params/ParamsDialog";
import { useRunDialogs, type ParamsRequest } from "./runDialogs";

/** The default as the params editor shows it; "" = none (the param must be given). */
function defaultText(p: ParamSpec): string {
  return toRow(p, 0).defaultText;
}

function ParamsPrompt({ req }: { req: ParamsRequest }) {
  const { t } = useTranslation("run");
  const { t: tApp } = useTranslation("app");
  // Params without a default first: those are the ones that must be filled in.
  const params = useMemo(() => [...req.params].sort((a, b) => Number(defaultText(a) !== "") - Number(defaultText(b) !== "")), [req.params]);
  const [values, setValues] = useState<Record<string, string>>(() => ({ ...req.values }));

  const problems = useMemo(() => {
    const out: Record<string, "required" | "int" | "float" | "bool" | "date"> = {};
    for (const p of params) {
      const v = values[p.name] ?? "";
      if (v.trim() === "") {
        if (defaultText(p) === "") out[p.name] = "required";
        continue;
      }
      const problem = parseDefault(p.type, v).problem;
      if (problem) out[p.name] = problem;
    }
    return out;
  }, [params, values]);
  const invalid = Object.keys(problems).length > 0;

  const submit = () => {
    if (invalid) return;
    const given: Record<string, string> = {};
    for (const p of params) {
      const v = (values[p.name] ?? "").trim();
      if (v !== "") given[p.name] = v;
    }
    req.resolve(given);
  };

  return (
    <Modal
      title={req.purpose === "run" ? t("params.titleRun") : t("params.titlePreview")}
      onClose={() => req.resolve(null)}
      width={560}
      testId="run-params-dialog"
      footer={
        <>
          <span className="modal__foot-spacer" />
          <button type="button" className="btn" data-testid="run-params-cancel" onClick={() => req.resolve(null)}>
            {tApp("dialog.cancel")}
          </button>
          <button type="button" className="btn btn--primary" data-testid="run-params-ok" disabled={invalid} onClick={submit}>
            {req.purpose === "run" ? t("params.run") : t("params.preview")}
          </button>
        </>
      }
    >
      <form
        className="run-params"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <p className="dialog-text muted">{t("params.intro")}</p>
        {params.map((p) => {
          const fallback = defaultText(p);
          const problem = problems[p.name];
          const typeProblem = problem === "required" ? undefined : problem;
          const id = `run-param-${p.name}`;
          return (
            <div className="field run-params__field" key={p.name}>
              <label className="field__label" htmlFor={id}>
                <code>{p.name}</code>
                <span className="run-params__type">{tApp(`params.types.${p.type}`)}</span>
                {fallback === "" && <span className="run-params__required">{t("params.required")}</span>}
              </label>
              {p.type === "bool" ? (
                <select
                  id={id}
                  className="select"
                  data-testid={id}
                  value={values[p.name] ?? ""}
                  onChange={(e) => setValues((v) => ({ ...v, [p.name]: e.target.value }))}
                >
                  <option value="">{fallback === "" ? t("params.choose") : t("params.useDefault", { value: fallback })}</option>
                  <option value="true">{tApp("params.true")}</option>
                  <option value="false">{tApp("params.false")}</option>
                </select>
              ) : (
                <input
                  id={id}
                  className={`input${typeProblem ? " is-invalid" : ""}`}
                  data-testid={id}
                  value={values[p.name] ?? ""}
                  placeholder={fallback === "" ? (p.type === "date" ? tApp("params.datePlaceholder") : "") : t("params.useDefault", { value: fallback })}
                  inputMode={p.type === "int" || p.type === "float" ? "decimal" : undefined}
                  aria-invalid={typeProblem ? true : undefined}
                  aria-required={fallback === "" ? true : undefined}
                  spellCheck={false}
                  onChange={(e) => setValues((v) => ({ ...v, [p.name]: e.target.value }))}
                />
              )}
              {p.description && <div className="field__help">{p.description}</div>}
              {typeProblem && <div className="field__error">{tApp(`params.defaultProblem.${typeProblem}`)}</div>}
            </div>
          );
        })}
        {/* Enter in a field submits. */}
        <button type="submit" hidden />
      </form>
    </Modal>
  );
}

function StopOnClosePrompt() {
  const { t } = useTranslation("run");
  const { t: tApp } = useTranslation("app");
  const req = useRunDialogs((s) => s.stopOnClose);
  if (!req) return null;
  return (
    <Modal
      title={t("close.title")}
      onClose={() => req.resolve(false)}
      width={440}
      testId="run-close-dialog"
      initialFocus="[data-testid='run-close-cancel']"
      footer={
        <>
          <span className="modal__foot-spacer" />
          <button type="button" className="btn" data-testid="run-close-cancel" onClick={() => req.resolve(false)}>
            {tApp("dialog.cancel")}
          </button>
          <button type="button" className="btn btn--danger" data-testid="run-close-stop" onClick={() => req.resolve(true)}>
            {t("close.stop")}
          </button>
        </>
      }
    >
      <p className="dialog-text">{t("close.text")}</p>
    </Modal>
  );
}

export function RunDialogs() {
  const params = useRunDialogs((s) => s.params);
  return (
    <>
      {params && <ParamsPrompt req={params} />}
      <StopOnClosePrompt />
    </>
  );
}
