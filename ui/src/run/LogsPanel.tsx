// The Logs tab: what the shown run said — its start and end, nodes that failed, failed rows
// (node, input line, field, message) and log lines — filterable by node and by level.
// Clicking an entry selects its node; an entry pointing into a script opens the node's
// properties with the code editor on that line.

import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { AlertCircle, AlertTriangle, Bug, Code2, Info } from "lucide-react";
import { useTranslation } from "react-i18next";
import type { LogLevel } from "../api/generated";
import { useEditorCommands } from "../hooks/useEditorCommands";
import { useFlow } from "../store/flowStore";
import type { LogEntry } from "./fold";
import { formatClock, formatDuration } from "./format";
import { useNodeNames } from "./nodeNames";
import { RUN_SHORTCUT } from "./RunControls";
import { useRun } from "./runStore";
import { openScriptPlace, scriptPlace, type ScriptPlace } from "./scriptLine";
import { useVirtualRows } from "./virtual";

const LEVELS: LogLevel[] = ["debug", "info", "warn", "error"];
const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const LEVEL_ICONS = { debug: Bug, info: Info, warn: AlertTriangle, error: AlertCircle };
const ROW_HEIGHT = 26;
const ALL = "";

function entryText(e: LogEntry, t: (key: string, opts?: Record<string, unknown>) => string): string {
  switch (e.kind) {
    case "run_started":
      return t("logs.runStarted", { flow: e.flow ?? "" });
    case "run_finished": {
      const d = formatDuration(e.durationMs ?? 0);
      const time = d.unit === "s" ? t("status.seconds", { value: d.value }) : d.value;
      const head = t(`logs.finished.${e.status ?? "succeeded"}`, { time });
      return e.message ? `${head} ${e.message}` : head;
    }
    case "run_lost":
      return t("logs.lost");
    case "node_failed":
      return e.message ? t("logs.nodeFailed", { message: e.message }) : t("logs.nodeFailedNoMessage");
    default:
      return e.message ?? "";
  }
}

interface RowProps {
  entry: LogEntry;
  index: number;
  start: number;
  nodeName?: string;
  place: ScriptPlace | null;
  measure(el: Element | null): void;
  onPick(entry: LogEntry, place: ScriptPlace | null): void;
}

const LogRow = memo(function LogRow({ entry, index, start, nodeName, place, measure, onPick }: RowProps) {
  const { t } = useTranslation("run");
  const Icon = LEVEL_ICONS[entry.level];
  const text = entryText(entry, t);
  const isRowError = entry.kind === "row_error";
  return (
    <div
      ref={measure}
      data-index={index}
      className={`log-row log-row--${entry.level}${entry.nodeId ? " is-clickable" : ""}`}
      style={{ transform: `translateY(${start}px)` }}
      data-testid="log-row"
      data-node={entry.nodeId ?? ""}
      data-level={entry.level}
      data-kind={entry.kind}
      role="listitem"
      tabIndex={entry.nodeId ? 0 : -1}
      onClick={() => onPick(entry, place)}
      onKeyDown={(e) => {
        if (e.key === "Enter") onPick(entry, place);
      }}
    >
      <span className="log-row__time">{formatClock(entry.at)}</span>
      <span className="log-row__level" title={t(`levels.${entry.level}`)} aria-label={t(`levels.${entry.level}`)}>
        <Icon size={13} />
      </span>
      <span className="log-row__node" title={entry.nodeId}>
        {entry.nodeId ? (nodeName ?? entry.nodeId) : ""}
      </span>
      <span className="log-row__msg">
        {isRowError && <span className="log-row__tag">{entry.handled ? t("logs.rowHandled") : t("logs.rowFailed")}</span>}
        {entry.line !== undefined && <span className="log-row__meta">{t("logs.inputLine", { line: entry.line })}</span>}
        {entry.field && <code className="log-row__field">{entry.field}</code>}
        <span className="log-row__text">{text}</span>
        {place && entry.nodeId && (
          <span className="log-row__jump" title={t("logs.openScript")} data-testid="log-open-script">
            <Code2 size={12} aria-hidden /> {t("logs.scriptLine", { line: place.line })}
          </span>
        )}
      </span>
    </div>
  );
});

export function LogsPanel() {
  const { t } = useTranslation("run");
  const logs = useRun((s) => s.logs);
  const dropped = useRun((s) => s.droppedLogs);
  const phase = useRun((s) => s.phase);
  const names = useNodeNames();
  const [node, setNode] = useState<string>(ALL);
  const [level, setLevel] = useState<LogLevel>("debug");
  const { showNode } = useEditorCommands();

  const shown = useMemo(() => {
    const min = LEVEL_RANK[level];
    return logs.filter((e) => LEVEL_RANK[e.level] >= min && (node === ALL || e.nodeId === node));
  }, [logs, node, level]);

  // Nodes to filter by: the flow's, and any the log names that the flow no longer has.
  const nodeChoices = useMemo(() => {
    const ids = new Set(names.keys());
    for (const e of logs) if (e.nodeId) ids.add(e.nodeId);
    return [...ids].map((id) => ({ id, name: names.get(id) ?? id })).sort((a, b) => a.name.localeCompare(b.name));
  }, [names, logs]);

  const places = useMemo(() => {
    const out = new Map<number, ScriptPlace>();
    for (const e of shown) {
      if (e.kind !== "row_error" && e.kind !== "node_failed" && e.kind !== "run_finished") continue;
      const p = scriptPlace(e.message, e.field);
      if (p) out.set(e.id, p);
    }
    return out;
  }, [shown]);

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualRows(shown.length, ROW_HEIGHT, scrollRef);

  // Follows the newest entry while the view is at the bottom.
  const atBottom = useRef(true);
  const onScroll = useCallback(() => {
    const el = scrollRef.current;
    if (el) atBottom.current = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_HEIGHT;
  }, []);
  useEffect(() => {
    if (atBottom.current && shown.length > 0) virtualizer.scrollToIndex(shown.length - 1, { align: "end" });
  }, [shown.length, virtualizer]);

  const onPick = useCallback(
    (entry: LogEntry, place: ScriptPlace | null) => {
      const id = entry.nodeId;
      if (!id || !useFlow.getState().doc.nodes.some((n) => n.id === id)) return;
      if (place) openScriptPlace(id, place);
      else useFlow.getState().focusProblem(id, entry.kind === "row_error" ? entry.field : undefined);
      showNode(id);
    },
    [showNode],
  );

  return (
    <section className="logs" data-testid="logs-panel" aria-label={t("tabs.logs")}>
      <div className="panel-bar">
        <label className="panel-bar__item">
          <span>{t("logs.node")}</span>
          <select className="select select--sm" data-testid="logs-filter-node" value={node} onChange={(e) => setNode(e.target.value)}>
            <option value={ALL}>{t("logs.allNodes")}</option>
            {nodeChoices.map((n) => (
              <option key={n.id} value={n.id}>
                {n.name === n.id ? n.id : `${n.name} (${n.id})`}
              </option>
            ))}
          </select>
        </label>
        <label className="panel-bar__item">
          <span>{t("logs.level")}</span>
          <select className="select select--sm" data-testid="logs-filter-level" value={level} onChange={(e) => setLevel(e.target.value as LogLevel)}>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {t(`logs.atLeast.${l}`)}
              </option>
            ))}
          </select>
        </label>
        <span className="panel-bar__spacer" />
        <span className="panel-bar__note" data-testid="logs-count">
          {shown.length === logs.length ? t("logs.count", { count: logs.length }) : t("logs.countFiltered", { shown: shown.length, count: logs.length })}
        </span>
      </div>
      {dropped > 0 && <div className="logs__dropped">{t("logs.dropped", { count: dropped })}</div>}
      {logs.length === 0 ? (
        <div className="panel-empty">{phase === "idle" ? t("logs.empty", { shortcut: RUN_SHORTCUT }) : t("logs.waiting")}</div>
      ) : shown.length === 0 ? (
        <div className="panel-empty">{t("logs.noneMatch")}</div>
      ) : (
        <div className="logs__scroll" ref={scrollRef} onScroll={onScroll}>
          <div className="logs__inner" style={{ height: virtualizer.getTotalSize() }} role="list" aria-label={t("tabs.logs")}>
            {virtualizer.getVirtualItems().map((v) => {
              const entry = shown[v.index];
              return (
                <LogRow
                  key={entry.id}
                  entry={entry}
                  index={v.index}
                  start={v.start}
                  nodeName={entry.nodeId ? names.get(entry.nodeId) : undefined}
                  place={places.get(entry.id) ?? null}
                  measure={virtualizer.measureElement}
                  onPick={onPick}
                />
              );
            })}
          </div>
        </div>
      )}
    </section>
  );
}
