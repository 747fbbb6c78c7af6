// One node's kept failed rows from a past run: the error beside each row's fields, in a
// virtualised table (a node keeps up to 10,000 rows; only the visible ones are in the DOM),
// fetched a page at a time as the table scrolls, and exportable as CSV or JSON.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { Download, LoaderCircle } from "lucide-react";
import { useTranslation } from "react-i18next";
import { call, toAppError } from "../api/client";
import type { ExportFormat, FailedRow, HistoryNode } from "../api/generated";
import { toast } from "../lib/toast";
import { pickExportPath, suggestedExportName } from "./exportPath";
import { cellText, useHistoryFormat } from "./format";

/** Rows fetched per request. */
export const FAILED_ROWS_PAGE = 500;
const ROW_HEIGHT = 28;
/** Fetch the next page once the table shows a row this close to the end of what is loaded. */
const PREFETCH_ROWS = 50;

const COL = { index: 56, message: 280, field: 110, line: 64, raw: 220, value: 150 };

interface Loaded {
  rows: FailedRow[];
  fields: string[];
  total: number;
  notKept: number;
}

export function FailedRowsTable({ runId, node }: { runId: string; node: HistoryNode }) {
  const { t } = useTranslation("history");
  const fmt = useHistoryFormat();
  const nodeId = node.node_id;
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [exporting, setExporting] = useState<ExportFormat | null>(null);
  const [exportError, setExportError] = useState<string | null>(null);
  // Answers for an earlier run or node are dropped; one page is fetched at a time.
  const generation = useRef(0);
  const fetching = useRef<number | null>(null);

  useEffect(() => {
    const gen = ++generation.current;
    fetching.current = gen;
    setLoaded(null);
    setError(null);
    setExportError(null);
    call({ op: "run_error_rows", run_id: runId, node_id: nodeId, limit: FAILED_ROWS_PAGE }).then(
      (page) => {
        if (gen !== generation.current) return;
        setLoaded({ rows: page.rows, fields: page.fields, total: page.total, notKept: page.not_kept });
      },
      (e) => {
        if (gen === generation.current) setError(toAppError(e).message);
      },
    ).finally(() => {
      if (fetching.current === gen) fetching.current = null;
    });
  }, [runId, nodeId]);

  const rows = useMemo(() => loaded?.rows ?? [], [loaded]);
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const lastShown = items.length ? items[items.length - 1].index : -1;

  const loadMore = useCallback(() => {
    if (!loaded || fetching.current !== null || loaded.rows.length >= loaded.total) return;
    const gen = generation.current;
    fetching.current = gen;
    call({ op: "run_error_rows", run_id: runId, node_id: nodeId, limit: FAILED_ROWS_PAGE, offset: loaded.rows.length }).then(
      (page) => {
        if (gen !== generation.current) return;
        setLoaded((l) => (l && l.rows.length === page.offset ? { ...l, rows: [...l.rows, ...page.rows], total: page.total } : l));
      },
      (e) => {
        if (gen === generation.current) setError(toAppError(e).message);
      },
    ).finally(() => {
      if (fetching.current === gen) fetching.current = null;
    });
  }, [loaded, runId, nodeId]);

  useEffect(() => {
    if (loaded && lastShown >= loaded.rows.length - PREFETCH_ROWS) loadMore();
  }, [lastShown, loaded, loadMore]);

  const hasRaw = useMemo(() => rows.some((r) => r.raw !== undefined && r.raw !== null), [rows]);
  const fields = loaded?.fields ?? [];
  const widths = [COL.index, COL.message, COL.field, COL.line, ...(hasRaw ? [COL.raw] : []), ...fields.map(() => COL.value)];
  const columns = widths.map((w) => `${w}px`).join(" ");
  const width = widths.reduce((a, b) => a + b, 0);

  const exportAs = async (format: ExportFormat) => {
    const path = await pickExportPath(suggestedExportName(runId, nodeId, format), format);
    if (!path) return;
    setExporting(format);
    setExportError(null);
    try {
      const res = await call({ op: "export_run_errors", run_id: runId, node_id: nodeId, format, path });
      toast({ kind: "success", text: t("export.done", { n: fmt.count(res.rows), path: res.path }) });
    } catch (e) {
      setExportError(t("export.failed", { message: toAppError(e).message }));
    } finally {
      setExporting(null);
    }
  };

  const handled = rows[0]?.handled;

  return (
    <section className="hist-rows" aria-label={t("rows.title", { node: nodeId })} data-testid="history-error-rows" data-node={nodeId}>
      <header className="hist-rows__bar">
        <h4 className="hist-section__title">{t("rows.title", { node: nodeId })}</h4>
        {loaded && (
          <span className="muted" data-testid="history-error-count">
            {t("rows.count", { shown: fmt.count(loaded.rows.length), total: fmt.count(loaded.total) })}
          </span>
        )}
        {handled !== undefined && <span className="hist-rows__note">{handled ? t("rows.handled") : t("rows.dropped")}</span>}
        <span className="hist-spacer" />
        <button type="button" className="btn btn--tool" data-testid="history-export-csv" disabled={exporting !== null || !loaded?.total} onClick={() => void exportAs("csv")}>
          {exporting === "csv" ? <LoaderCircle size={14} className="spin" /> : <Download size={14} />}
          {t("export.csv")}
        </button>
        <button type="button" className="btn btn--tool" data-testid="history-export-json" disabled={exporting !== null || !loaded?.total} onClick={() => void exportAs("json")}>
          {exporting === "json" ? <LoaderCircle size={14} className="spin" /> : <Download size={14} />}
          {t("export.json")}
        </button>
      </header>
      {exportError && (
        <p className="hist-error" role="alert" data-testid="history-export-error">
          {exportError}
        </p>
      )}
      {loaded && loaded.notKept > 0 && <p className="hist-rows__note">{t("rows.notKept", { n: fmt.count(loaded.notKept) })}</p>}
      {error && (
        <p className="hist-error" role="alert">
          {t("rows.loadFailed", { message: error })}
        </p>
      )}
      {!loaded && !error && (
        <p className="hist-empty">
          <LoaderCircle size={14} className="spin" /> {t("loading")}
        </p>
      )}
      {loaded && (
        <div className="hist-rows__scroll" ref={scrollRef} role="table" aria-rowcount={loaded.total} data-testid="history-error-scroll">
          <div className="hist-rows__head" role="row" style={{ gridTemplateColumns: columns, width }}>
            <span role="columnheader">#</span>
            <span role="columnheader">{t("rows.message")}</span>
            <span role="columnheader">{t("rows.field")}</span>
            <span role="columnheader">{t("rows.line")}</span>
            {hasRaw && <span role="columnheader">{t("rows.raw")}</span>}
            {fields.map((f) => (
              <span role="columnheader" key={f} className="hist-rows__field" title={f}>
                {f}
              </span>
            ))}
          </div>
          <div className="hist-rows__body" style={{ height: virtualizer.getTotalSize(), width }}>
            {items.map((v) => {
              const r = rows[v.index];
              return (
                <div
                  key={v.key}
                  role="row"
                  className="hist-rows__row"
                  data-testid="history-error-row"
                  data-index={v.index}
                  style={{ gridTemplateColumns: columns, width, height: ROW_HEIGHT, transform: `translateY(${v.start}px)` }}
                >
                  <span role="cell" className="hist-rows__index">
                    {fmt.count(v.index + 1)}
                  </span>
                  <span role="cell" className="hist-rows__message" title={r.message}>
                    {r.message}
                  </span>
                  <span role="cell" className="hist-mono">
                    {r.field ?? ""}
                  </span>
                  <span role="cell" className="hist-num">
                    {r.line ?? ""}
                  </span>
                  {hasRaw && (
                    <span role="cell" className="hist-mono" title={r.raw ?? undefined}>
                      {r.raw ?? ""}
                    </span>
                  )}
                  {fields.map((f) => {
                    const text = cellText(r.row[f]);
                    return (
                      <span role="cell" key={f} className={`hist-rows__value${f === r.field ? " is-culprit" : ""}`} title={text}>
                        {text}
                      </span>
                    );
                  })}
                </div>
              );
            })}
          </div>
        </div>
      )}
    </section>
  );
}
