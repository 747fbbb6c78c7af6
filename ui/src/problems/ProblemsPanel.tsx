// Every problem the last check found, one row each: severity, node, field, what is wrong
// and what to do. Clicking a row selects the node, brings it into view and takes the
// property form to the field. It is the first tab of the bottom panel (run/BottomPanel),
// which shows the title and counts; a run the engine refused adds its reasons on top.

import { memo, useCallback, useMemo } from "react";
import { AlertCircle, AlertTriangle, CheckCircle2 } from "lucide-react";
import { useTranslation } from "react-i18next";
import type { Diagnostic } from "../api/generated";
import { useCatalogText } from "../i18n/catalog";
import { useEditorCommands } from "../hooks/useEditorCommands";
import { openParams } from "../files/dialogStore";
import { useFlow } from "../store/flowStore";
import { RunRefusalBanner, useRefusalDiagnostics } from "../run/RunRefusal";

const Row = memo(function Row({ d, nodeName, onPick }: { d: Diagnostic; nodeName?: string; onPick(d: Diagnostic): void }) {
  const { t } = useTranslation("app");
  const text = useCatalogText();
  const err = text.errorText(d);
  const isWarning = d.severity === "warning";
  const where = [d.line !== undefined && d.line !== null ? t("problems.lineColumn", { line: d.line, column: d.column ?? 1 }) : null].filter(Boolean);
  return (
    <li>
      <button type="button" className={`problem ${isWarning ? "problem--warning" : "problem--error"}`} data-testid="problem-row" data-node={d.node_id ?? ""} onClick={() => onPick(d)}>
        <span className="problem__icon" title={text.severityLabel(d.severity)} aria-label={text.severityLabel(d.severity)}>
          {isWarning ? <AlertTriangle size={14} /> : <AlertCircle size={14} />}
        </span>
        <span className="problem__node" title={d.node_id ?? undefined}>
          {nodeName ?? <span className="muted">{t("problems.flowLevel")}</span>}
        </span>
        <span className="problem__field">{d.field ? <code>{d.field}</code> : where.length ? where.join(" ") : null}</span>
        <span className="problem__msg">
          <span className="problem__title">{err.title}</span>
          <span className="problem__detail">{err.detail}</span>
          {err.hint && <span className="problem__hint">{err.hint}</span>}
        </span>
      </button>
    </li>
  );
});

export function ProblemsPanel() {
  const { t } = useTranslation("app");
  const diagnostics = useFlow((s) => s.check.diagnostics);
  const nodes = useFlow((s) => s.doc.nodes);
  const kinds = useFlow((s) => s.kinds);
  const text = useCatalogText();
  // Names looked up once per document change, not once per row: a drag changes the
  // document on every mouse move, and a big flow can have hundreds of problems.
  const kindTitles = useMemo(() => new Map(Object.values(kinds).map((k) => [k.kind, text.kindTitle(k.kind, k.title)])), [kinds, text]);
  const names = useMemo(() => {
    const out = new Map<string, string>();
    for (const n of nodes) out.set(n.id, n.title || kindTitles.get(n.kind) || n.kind);
    return out;
  }, [nodes, kindTitles]);
  const { showNode } = useEditorCommands();
  // Reasons a run was refused that the check does not list (a param given at run time).
  const refused = useRefusalDiagnostics(diagnostics);
  const sorted = useMemo(
    () => [...refused, ...diagnostics].sort((a, b) => Number(a.severity === "warning") - Number(b.severity === "warning")),
    [diagnostics, refused],
  );

  const onPick = useCallback((d: Diagnostic) => {
    if (!d.node_id) {
      if (d.field && /^\/?params\b/.test(d.field)) openParams();
      return;
    }
    if (!useFlow.getState().doc.nodes.some((n) => n.id === d.node_id)) return;
    useFlow.getState().focusProblem(d.node_id, d.field ?? undefined);
    showNode(d.node_id);
  }, [showNode]);

  return (
    <section className="problems" data-testid="problems-panel" aria-label={t("problems.title")}>
      <RunRefusalBanner />
      <div className="problems__body">
        {sorted.length === 0 ? (
          <div className="problems__none">
            <CheckCircle2 size={14} /> {t("problems.none")}
          </div>
        ) : (
          <ul className="problems__list">
            {sorted.map((d, i) => (
              <Row key={`${d.code}:${d.node_id ?? ""}:${d.field ?? ""}:${i}`} d={d} nodeName={d.node_id ? (names.get(d.node_id) ?? d.node_id) : undefined} onPick={onPick} />
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}
