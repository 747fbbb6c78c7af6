// Past runs, newest first: the open flow's by default, every flow's with the toggle. A run
// picked from the list shows its summary (RunDetail) beside it. The list refreshes when any
// run finishes: the engine records a run in the history before it announces the end.

import { useCallback, useEffect, useRef, useState } from "react";
import { LoaderCircle, RefreshCw } from "lucide-react";
import { useTranslation } from "react-i18next";
import { call, onRunEvent, toAppError } from "../api/client";
import type { HistoryRun, HistoryRunDetail } from "../api/generated";
import { useFlow } from "../store/flowStore";
import { RunDetail } from "./RunDetail";
import { StatusBadge } from "./StatusBadge";
import { useHistoryFormat } from "./format";
import "./history.css";

/** Runs the list shows; the history keeps up to 1000. */
export const RUNS_SHOWN = 200;

type Load<T> = { state: "loading" } | { state: "ready"; value: T } | { state: "failed"; message: string };

export function HistoryPanel() {
  const { t } = useTranslation("history");
  const fmt = useHistoryFormat();
  const path = useFlow((s) => s.path);
  const [allFlowsChosen, setAllFlows] = useState(false);
  // A flow never saved has no runs of its own to filter by.
  const allFlows = allFlowsChosen || !path;
  const [runs, setRuns] = useState<Load<HistoryRun[]>>({ state: "loading" });
  const [selected, setSelected] = useState<string | null>(null);
  const [detail, setDetail] = useState<Load<HistoryRunDetail> | null>(null);
  const listSeq = useRef(0);
  const detailSeq = useRef(0);

  const refresh = useCallback(async () => {
    const seq = ++listSeq.current;
    try {
      const res = await call({ op: "list_runs", ...(allFlows || !path ? {} : { flow_path: path }), limit: RUNS_SHOWN });
      if (seq === listSeq.current) setRuns({ state: "ready", value: res.runs });
    } catch (e) {
      if (seq === listSeq.current) setRuns({ state: "failed", message: toAppError(e).message });
    }
  }, [allFlows, path]);

  useEffect(() => {
    setRuns({ state: "loading" });
    void refresh();
  }, [refresh]);

  useEffect(
    () =>
      onRunEvent((ev) => {
        if (ev.event.type === "run_finished") void refresh();
      }),
    [refresh],
  );

  const loadDetail = useCallback(async (runId: string) => {
    const seq = ++detailSeq.current;
    setDetail({ state: "loading" });
    try {
      const res = await call({ op: "get_run", run_id: runId });
      if (seq === detailSeq.current) setDetail({ state: "ready", value: res.run });
    } catch (e) {
      if (seq === detailSeq.current) setDetail({ state: "failed", message: toAppError(e).message });
    }
  }, []);

  const pick = (runId: string) => {
    if (runId === selected) return;
    setSelected(runId);
    void loadDetail(runId);
  };

  // A selected run that left the list (another flow, pruned) is let go.
  useEffect(() => {
    if (runs.state === "ready" && selected && !runs.value.some((r) => r.run_id === selected)) {
      detailSeq.current++;
      setSelected(null);
      setDetail(null);
    }
  }, [runs, selected]);

  const list = runs.state === "ready" ? runs.value : [];
  const listError = runs.state === "failed" ? runs.message : null;
  const detailError = detail?.state === "failed" ? detail.message : null;
  const shown = detail?.state === "ready" ? detail.value : null;
  const listLoading = runs.state === "loading";
  const detailLoading = detail?.state === "loading";
  const onListKey = (e: React.KeyboardEvent) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    e.preventDefault();
    const i = list.findIndex((r) => r.run_id === selected);
    const next = list[Math.max(0, Math.min(list.length - 1, i + (e.key === "ArrowDown" ? 1 : -1)))];
    if (next) pick(next.run_id);
  };

  return (
    <section className="hist" data-testid="history-panel" aria-label={t("title")}>
      <div className="hist__list-pane">
        <div className="hist__bar">
          <label className="hist__toggle" title={!path ? t("unsavedFlow") : undefined}>
            <input type="checkbox" data-testid="history-all-flows" checked={allFlows} disabled={!path} onChange={(e) => setAllFlows(e.target.checked)} />
            {t("allFlows")}
          </label>
          <span className="hist-spacer" />
          <button type="button" className="icon-btn icon-btn--sm" onClick={() => void refresh()} title={t("refresh")} aria-label={t("refresh")} data-testid="history-refresh">
            <RefreshCw size={14} />
          </button>
        </div>
        {listLoading && (
          <p className="hist-empty">
            <LoaderCircle size={14} className="spin" /> {t("loading")}
          </p>
        )}
        {listError !== null && (
          <p className="hist-error" role="alert" data-testid="history-load-error">
            {t("loadFailed", { message: listError })}
          </p>
        )}
        {!listLoading && listError === null && list.length === 0 && (
          <p className="hist-empty" data-testid="history-empty">
            {allFlows ? t("empty.all") : t("empty.flow")}
          </p>
        )}
        {list.length > 0 && (
          <ul className="hist__list" role="listbox" aria-label={t("title")} tabIndex={0} onKeyDown={onListKey}>
            {list.map((r) => (
              <li
                key={r.run_id}
                role="option"
                aria-selected={r.run_id === selected}
                className={`hist-run${r.run_id === selected ? " is-selected" : ""}`}
                data-testid="history-row"
                data-run-id={r.run_id}
                onClick={() => pick(r.run_id)}
              >
                <div className="hist-run__line">
                  <StatusBadge status={r.status} />
                  <span className="hist-run__time">{fmt.time(r.started_at)}</span>
                  <span className="hist-run__duration muted">{fmt.duration(r.duration_ms)}</span>
                </div>
                <div className="hist-run__line hist-run__sub">
                  {allFlows && (
                    <span className="hist-run__flow" title={r.flow_path ?? undefined}>
                      {r.flow_name}
                    </span>
                  )}
                  <span className="hist-num">{t("list.rows", { in: fmt.count(r.rows_in), out: fmt.count(r.rows_out) })}</span>
                  {r.rows_error > 0 && <span className="hist-num hist-bad">{t("list.failed", { n: fmt.count(r.rows_error) })}</span>}
                </div>
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="hist__detail-pane">
        {!detail && <p className="hist-empty">{t("selectRun")}</p>}
        {detailLoading && (
          <p className="hist-empty">
            <LoaderCircle size={14} className="spin" /> {t("loading")}
          </p>
        )}
        {detailError !== null && (
          <p className="hist-error" role="alert">
            {t("detailFailed", { message: detailError })}
          </p>
        )}
        {shown && <RunDetail key={shown.run_id} run={shown} />}
      </div>
    </section>
  );
}
