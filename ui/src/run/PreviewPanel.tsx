// The Preview tab: the first rows leaving the selected node, without running the whole flow
// (the engine's `preview` runs what the node needs, and commits nothing). Column headers
// carry the field types; failed rows met on the way are listed first (they are few and what
// one looks for), in red, with their error beside them. The rows are kept until Refresh or another node: a preview
// can read files and databases, so it is not redone on every edit.

import { memo, useEffect, useMemo, useRef } from "react";
import { AlertCircle, Eye, RefreshCw } from "lucide-react";
import { useTranslation } from "react-i18next";
import type { Field } from "../api/generated";
import { useCatalogText } from "../i18n/catalog";
import { useFlow } from "../store/flowStore";
import { formatCount } from "./format";
import { useNodeNames } from "./nodeNames";
import { useBottomPanel } from "./panelStore";
import { PREVIEW_ROW_CHOICES, loadPreview, setPreviewRows, usePreview } from "./preview";
import { useVirtualRows } from "./virtual";

const ROW_HEIGHT = 24;
const COLUMN_WIDTH = 160;
const INDEX_WIDTH = 56;
const ERROR_WIDTH = 280;
const ERROR_PREFIX = "_error_";

interface Table {
  fields: Field[];
  rows: unknown[][];
  /** Failed rows, as values in `fields` order (null where the row lacks the field). */
  errorRows: Array<{ values: unknown[]; message: string; field: string; line: string }>;
}

function buildTable(fields: Field[], rows: unknown[][], errorFields: Field[], errorRows: unknown[][]): Table {
  const at = (name: string) => errorFields.findIndex((f) => f.name === name);
  const message = at("_error_message");
  const field = at("_error_field");
  const line = at("_error_line");
  const columns = fields.length > 0 ? fields : errorFields.filter((f) => !f.name.startsWith(ERROR_PREFIX));
  const source = columns.map((c) => at(c.name));
  return {
    fields: columns,
    rows,
    errorRows: errorRows.map((r) => ({
      values: source.map((i) => (i >= 0 ? r[i] : null)),
      message: message >= 0 ? String(r[message] ?? "") : "",
      field: field >= 0 && r[field] != null ? String(r[field]) : "",
      line: line >= 0 && r[line] != null ? String(r[line]) : "",
    })),
  };
}

function Cell({ value }: { value: unknown }) {
  const { t } = useTranslation("run");
  if (value === null || value === undefined) return <span className="pv__cell pv__cell--null">{t("preview.null")}</span>;
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  return (
    <span className={`pv__cell${typeof value === "number" ? " pv__cell--num" : ""}`} title={text.length > 20 ? text : undefined}>
      {text}
    </span>
  );
}

const PreviewTable = memo(function PreviewTable({ table }: { table: Table }) {
  const { t } = useTranslation("run");
  const scrollRef = useRef<HTMLDivElement>(null);
  const count = table.rows.length + table.errorRows.length;
  const virtualizer = useVirtualRows(count, ROW_HEIGHT, scrollRef);
  const hasErrors = table.errorRows.length > 0;
  const template = `${INDEX_WIDTH}px ${hasErrors ? `${ERROR_WIDTH}px ` : ""}repeat(${Math.max(1, table.fields.length)}, ${COLUMN_WIDTH}px)`;
  const width = INDEX_WIDTH + (hasErrors ? ERROR_WIDTH : 0) + Math.max(1, table.fields.length) * COLUMN_WIDTH;

  return (
    <div className="pv__scroll" ref={scrollRef} role="table" aria-rowcount={count + 1}>
      <div className="pv__head" style={{ gridTemplateColumns: template, width }} role="row">
        <span className="pv__th pv__th--index" role="columnheader">
          #
        </span>
        {hasErrors && (
          <span className="pv__th" role="columnheader">
            {t("preview.error")}
          </span>
        )}
        {table.fields.map((f) => (
          <span className="pv__th" key={f.name} role="columnheader" data-testid="preview-column" title={`${f.name}: ${f.type}`}>
            <span className="pv__th-name">{f.name}</span>
            <span className="pv__th-type">{t(`types.${f.type}`)}</span>
          </span>
        ))}
      </div>
      <div className="pv__body" style={{ height: virtualizer.getTotalSize(), width }}>
        {virtualizer.getVirtualItems().map((v) => {
          const errorCount = table.errorRows.length;
          const style = { transform: `translateY(${v.start}px)`, gridTemplateColumns: template, width };
          if (v.index >= errorCount) {
            const index = v.index - errorCount;
            const row = table.rows[index];
            return (
              <div className="pv__row" key={v.key} style={style} data-testid="preview-row" role="row">
                <span className="pv__index">{index + 1}</span>
                {hasErrors && <span />}
                {table.fields.map((f, i) => (
                  <Cell key={f.name} value={row[i]} />
                ))}
              </div>
            );
          }
          const e = table.errorRows[v.index];
          const where = [e.field ? t("preview.errorField", { field: e.field }) : "", e.line ? t("preview.errorLine", { line: e.line }) : ""].filter(Boolean).join(" · ");
          return (
            <div className="pv__row pv__row--error" key={v.key} style={style} data-testid="preview-error-row" role="row">
              <span className="pv__index">
                <AlertCircle size={12} aria-hidden />
              </span>
              <span className="pv__error" title={where ? `${e.message} (${where})` : e.message} data-testid="preview-error-message">
                {e.message}
                {where && <span className="pv__error-where">{where}</span>}
              </span>
              {e.values.map((value, i) => (
                <Cell key={table.fields[i]?.name ?? i} value={value} />
              ))}
            </div>
          );
        })}
      </div>
    </div>
  );
});

/** The node the Preview tab follows: the one node selected on the canvas. */
function useSelectedNode(): string | null {
  return useFlow((s) => (s.selection.nodes.size === 1 ? s.selection.nodes.values().next().value! : null));
}

export function PreviewPanel() {
  const { t } = useTranslation("run");
  const textCatalog = useCatalogText();
  const selected = useSelectedNode();
  const visible = useBottomPanel((s) => s.open && s.tab === "preview");
  const { nodeId, rows, status, result, error, doc } = usePreview();
  const currentDoc = useFlow((s) => s.doc);
  const names = useNodeNames();

  // A node selected while the tab shows is previewed at once.
  useEffect(() => {
    if (visible && selected && selected !== usePreview.getState().nodeId) void loadPreview(selected);
  }, [visible, selected]);

  const table = useMemo(() => (result ? buildTable(result.fields, result.rows, result.error_fields, result.error_rows) : null), [result]);
  const stale = status === "done" && doc !== currentDoc;
  const target = selected ?? nodeId;
  const nodeGone = nodeId !== null && !currentDoc.nodes.some((n) => n.id === nodeId);
  const loading = status === "loading";
  const failed = status === "failed";
  const message = status === "idle" ? "preview.hint" : status === "cancelled" ? "preview.cancelled" : loading && !table ? "preview.loading" : null;
  const summary = status === "done" ? result : null;

  return (
    <section className="pv" data-testid="preview-panel" aria-label={t("tabs.preview")} data-status={status}>
      <div className="panel-bar">
        <span className="panel-bar__item pv__node">
          <Eye size={13} aria-hidden />
          {nodeId ? (
            <span data-testid="preview-node">
              <strong>{names.get(nodeId) ?? nodeId}</strong>
              {result && result.node_id === nodeId && <span className="muted"> · {t("preview.port", { port: result.port })}</span>}
            </span>
          ) : (
            <span className="muted">{t("preview.noNode")}</span>
          )}
        </span>
        <label className="panel-bar__item">
          <span>{t("preview.rows")}</span>
          <select
            className="select select--sm"
            data-testid="preview-rows"
            value={rows}
            onChange={(e) => {
              const n = Number(e.target.value);
              setPreviewRows(n);
              if (nodeId) void loadPreview(nodeId, n);
            }}
          >
            {PREVIEW_ROW_CHOICES.map((n) => (
              <option key={n} value={n}>
                {formatCount(n)}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          className="btn btn--tool"
          data-testid="preview-refresh"
          disabled={!target || loading}
          title={t("preview.refreshHint")}
          onClick={() => target && void loadPreview(target)}
        >
          <RefreshCw size={13} className={loading ? "spin" : undefined} aria-hidden />
          <span>{t("preview.refresh")}</span>
        </button>
        <span className="panel-bar__spacer" />
        {summary && (
          <span className="panel-bar__note" data-testid="preview-summary">
            {t(summary.truncated ? "preview.summaryTruncated" : "preview.summary", { count: summary.rows.length, value: formatCount(summary.rows.length) })}
            {summary.error_rows.length > 0 && <span className="pv__errors-count"> · {t("preview.errorCount", { count: summary.error_rows.length })}</span>}
          </span>
        )}
        {(stale || nodeGone) && (
          <span className="panel-bar__note pv__stale" data-testid="preview-stale">
            {nodeGone ? t("preview.nodeGone") : t("preview.stale")}
          </span>
        )}
      </div>
      {message && <div className="panel-empty">{t(message)}</div>}
      {failed && error && (
        <div className="pv__failed" data-testid="preview-error" role="alert">
          <AlertCircle size={14} aria-hidden />
          <div>
            <div className="pv__failed-title">{t("preview.failed")}</div>
            <div>{error.message}</div>
            {error.diagnostics.length > 0 && (
              <ul className="pv__diagnostics">
                {error.diagnostics.map((d, i) => {
                  const e = textCatalog.errorText(d);
                  return (
                    <li key={i}>
                      {d.node_id && <code>{d.node_id}</code>} {e.title}: {e.detail}
                    </li>
                  );
                })}
              </ul>
            )}
          </div>
        </div>
      )}
      {table && !failed && (table.rows.length + table.errorRows.length === 0 ? <div className="panel-empty">{t("preview.noRows")}</div> : <PreviewTable table={table} />)}
    </section>
  );
}
