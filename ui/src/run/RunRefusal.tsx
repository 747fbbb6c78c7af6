// Why the engine refused to start the last run, shown at the top of the Problems tab until
// it is dismissed or the next run starts. Its diagnostics that the live check does not
// already list (a param value given at run time, say) join the problem rows.

import { useMemo } from "react";
import { AlertCircle, X } from "lucide-react";
import { useTranslation } from "react-i18next";
import type { Diagnostic } from "../api/generated";
import { clearRefusal, useRun } from "./runStore";

const NONE: Diagnostic[] = [];

const keyOf = (d: Diagnostic) => JSON.stringify([d.severity, d.code, d.node_id ?? null, d.field ?? null, d.message]);

export function useRefusalDiagnostics(checked: readonly Diagnostic[]): Diagnostic[] {
  const refusal = useRun((s) => s.refusal);
  return useMemo(() => {
    if (!refusal || refusal.diagnostics.length === 0) return NONE;
    const seen = new Set(checked.map(keyOf));
    const extra = refusal.diagnostics.filter((d) => !seen.has(keyOf(d)));
    return extra.length ? extra : NONE;
  }, [refusal, checked]);
}

export function RunRefusalBanner() {
  const { t } = useTranslation("run");
  const refusal = useRun((s) => s.refusal);
  if (!refusal) return null;
  return (
    <div className="run-refusal" role="alert" data-testid="run-refusal">
      <AlertCircle size={14} aria-hidden />
      <span className="run-refusal__text">
        <strong>{t("refused.title")}</strong> {refusal.message}
      </span>
      <button type="button" className="icon-btn icon-btn--sm" onClick={clearRefusal} title={t("refused.dismiss")} aria-label={t("refused.dismiss")}>
        <X size={13} />
      </button>
    </div>
  );
}
