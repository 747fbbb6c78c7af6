// One past run in full: outcome, times, rows, the params it was given, its error, and per
// node the rows in, out and failed with the state the node ended in. A node that kept
// failed rows can be picked to show them (and export them) below.

import { useMemo, useState } from "react";
import { AlertCircle } from "lucide-react";
import { useTranslation } from "react-i18next";
import type { HistoryRunDetail } from "../api/generated";
import { useFlow } from "../store/flowStore";
import { FailedRowsTable } from "./FailedRowsTable";
import { StatusBadge } from "./StatusBadge";
import { useHistoryFormat } from "./format";

export function RunDetail({ run }: { run: HistoryRunDetail }) {
  const { t } = useTranslation("history");
  const fmt = useHistoryFormat();
  const openPath = useFlow((s) => s.path);
  const docNodes = useFlow((s) => s.doc.nodes);
  // Titles from the open flow when the run is of it; ids are what the history keeps.
  const titles = useMemo(() => {
    const out = new Map<string, string>();
    if (run.flow_path && run.flow_path === openPath) for (const n of docNodes) if (n.title) out.set(n.id, n.title);
    return out;
  }, [run.flow_path, openPath, docNodes]);

  const withRows = run.nodes.filter((n) => n.kept_error_rows > 0);
  const [picked, setPicked] = useState<string | null>(null);
  const shownNode = run.nodes.find((n) => n.node_id === picked && n.kept_error_rows > 0) ?? withRows[0];
  const params = Object.entries(run.params);

  return (
    <div className="hist-detail" data-testid="history-detail" data-run-id={run.run_id}>
      <header className="hist-detail__head">
        <StatusBadge status={run.status} />
        <span className="hist-detail__flow">{run.flow_name}</span>
        <code className="hist-detail__id" title={t("detail.runId")}>
          {run.run_id}
        </code>
      </header>
      {run.flow_path && (
        <p className="hist-detail__path muted" title={run.flow_path}>
          {run.flow_path}
        </p>
      )}
      <dl className="hist-facts">
        <div>
          <dt>{t("detail.started")}</dt>
          <dd>{fmt.time(run.started_at)}</dd>
        </div>
        <div>
          <dt>{t("detail.duration")}</dt>
          <dd>{fmt.duration(run.duration_ms)}</dd>
        </div>
        <div>
          <dt>{t("detail.rowsIn")}</dt>
          <dd className="hist-num">{fmt.count(run.rows_in)}</dd>
        </div>
        <div>
          <dt>{t("detail.rowsOut")}</dt>
          <dd className="hist-num">{fmt.count(run.rows_out)}</dd>
        </div>
        <div>
          <dt>{t("detail.rowsError")}</dt>
          <dd className={`hist-num${run.rows_error ? " hist-bad" : ""}`}>{fmt.count(run.rows_error)}</dd>
        </div>
      </dl>
      {run.error && (
        <div className="hist-error hist-error--block" role="alert" data-testid="history-run-error">
          <AlertCircle size={14} aria-hidden />
          <span>
            {run.failed_node && <strong className="hist-mono">{run.failed_node}: </strong>}
            {run.error}
          </span>
        </div>
      )}

      <section className="hist-section">
        <h4 className="hist-section__title">{t("detail.params")}</h4>
        {params.length === 0 ? (
          <p className="muted">{t("detail.noParams")}</p>
        ) : (
          <ul className="hist-params" data-testid="history-params">
            {params.map(([k, v]) => (
              <li key={k}>
                <code>{k}</code> = <code>{v}</code>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className="hist-section">
        <h4 className="hist-section__title">{t("detail.nodes")}</h4>
        <table className="hist-nodes">
          <thead>
            <tr>
              <th>{t("nodes.node")}</th>
              <th>{t("nodes.state")}</th>
              <th className="hist-num">{t("nodes.in")}</th>
              <th className="hist-num">{t("nodes.out")}</th>
              <th className="hist-num">{t("nodes.failed")}</th>
              <th className="hist-num">{t("nodes.kept")}</th>
            </tr>
          </thead>
          <tbody>
            {run.nodes.map((n) => {
              const pickable = n.kept_error_rows > 0;
              const current = pickable && shownNode?.node_id === n.node_id;
              const title = titles.get(n.node_id);
              return (
                <tr
                  key={n.node_id}
                  data-testid="history-node-row"
                  data-node={n.node_id}
                  className={`${pickable ? "is-pickable" : ""}${current ? " is-current" : ""}${n.error ? " has-error" : ""}`}
                  aria-selected={pickable ? current : undefined}
                  tabIndex={pickable ? 0 : undefined}
                  title={pickable ? t("nodes.showRows", { node: n.node_id }) : undefined}
                  onClick={pickable ? () => setPicked(n.node_id) : undefined}
                  onKeyDown={pickable ? (e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), setPicked(n.node_id)) : undefined}
                >
                  <td>
                    {title && <span className="hist-nodes__title">{title}</span>}
                    <code>{n.node_id}</code>
                    {n.error && <span className="hist-nodes__error">{n.error}</span>}
                  </td>
                  <td>
                    <span className={`hist-state hist-state--${n.state ?? "none"}`}>{t(`state.${n.state ?? "none"}`)}</span>
                  </td>
                  <td className="hist-num">{fmt.count(n.rows_in)}</td>
                  <td className="hist-num">{fmt.count(n.rows_out)}</td>
                  <td className={`hist-num${n.rows_error ? " hist-bad" : ""}`}>{fmt.count(n.rows_error)}</td>
                  <td className="hist-num">{fmt.count(n.kept_error_rows)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>

      {shownNode ? (
        <FailedRowsTable key={`${run.run_id}:${shownNode.node_id}`} runId={run.run_id} node={shownNode} />
      ) : (
        <p className="muted hist-section">{t("rows.none")}</p>
      )}
    </div>
  );
}
