// The panel under the canvas: tabs Problems, Logs, Preview and History, a count on each
// tab that has something to say, a collapse toggle, and a top edge to drag for height.

import { useCallback, useMemo, type ComponentType, type ReactNode } from "react";
import { AlertCircle, AlertTriangle, ChevronDown, ChevronUp } from "lucide-react";
import { useTranslation } from "react-i18next";
import { HistoryPanel } from "../history/HistoryPanel";
import { ProblemsPanel } from "../problems/ProblemsPanel";
import { useFlow } from "../store/flowStore";
import { LogsPanel } from "./LogsPanel";
import { MIN_PANEL_HEIGHT, useBottomPanel, type BottomTab } from "./panelStore";
import { PreviewPanel } from "./PreviewPanel";
import { useRun } from "./runStore";

function ProblemCounts() {
  const diagnostics = useFlow((s) => s.check.diagnostics);
  // A refused run counts as (at least) one error until it is dismissed or the next run.
  const refused = useRun((s) => (s.refusal ? Math.max(1, s.refusal.diagnostics.length) : 0));
  const checked = useMemo(() => diagnostics.filter((d) => d.severity !== "warning").length, [diagnostics]);
  const errors = checked || refused;
  const warnings = diagnostics.length - checked;
  return (
    <>
      <span className={`count count--error${errors ? "" : " is-zero"}`}>
        <AlertCircle size={12} /> {errors}
      </span>
      <span className={`count count--warning${warnings ? "" : " is-zero"}`}>
        <AlertTriangle size={12} /> {warnings}
      </span>
    </>
  );
}

function LogCount() {
  const errors = useRun((s) => {
    let n = 0;
    for (const e of s.logs) if (e.level === "error") n++;
    return n;
  });
  const total = useRun((s) => s.logs.length);
  if (total === 0) return null;
  return <span className={`tab-count${errors ? " tab-count--error" : ""}`}>{errors || total}</span>;
}

const TAB_BODIES: Record<BottomTab, ComponentType> = { problems: ProblemsPanel, logs: LogsPanel, preview: PreviewPanel, history: HistoryPanel };

function TabBody({ tab }: { tab: BottomTab }) {
  const Body = TAB_BODIES[tab];
  return <Body />;
}

interface TabDef {
  id: BottomTab;
  extra?: ReactNode;
}

export function BottomPanel() {
  const { t } = useTranslation("run");
  const tab = useBottomPanel((s) => s.tab);
  const open = useBottomPanel((s) => s.open);
  const height = useBottomPanel((s) => s.height);

  const tabs: TabDef[] = [{ id: "problems", extra: <ProblemCounts /> }, { id: "logs", extra: <LogCount /> }, { id: "preview" }, { id: "history" }];

  const pick = (id: BottomTab) => {
    const s = useBottomPanel.getState();
    // Clicking the open tab folds the panel; any tab unfolds it.
    if (s.open && s.tab === id) useBottomPanel.setState({ open: false });
    else useBottomPanel.setState({ tab: id, open: true });
  };

  const onResizeStart = useCallback((e: React.PointerEvent<HTMLDivElement>) => {
    e.preventDefault();
    const startY = e.clientY;
    const startHeight = useBottomPanel.getState().height;
    const max = Math.max(MIN_PANEL_HEIGHT, window.innerHeight - 200);
    const move = (ev: PointerEvent) => {
      useBottomPanel.setState({ height: Math.min(max, Math.max(MIN_PANEL_HEIGHT, startHeight + startY - ev.clientY)) });
    };
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }, []);

  return (
    <section className={`dock${open ? "" : " is-collapsed"}`} style={open ? { height } : undefined} data-testid="bottom-panel" aria-label={t("tabs.panel")}>
      {open && <div className="dock__resize" onPointerDown={onResizeStart} role="separator" aria-orientation="horizontal" aria-label={t("tabs.resize")} />}
      <div className="dock__tabs" role="tablist" aria-label={t("tabs.panel")}>
        {tabs.map(({ id, extra }) => (
          <button
            key={id}
            type="button"
            role="tab"
            aria-selected={open && tab === id}
            className={`dock__tab${tab === id ? " is-active" : ""}`}
            data-testid={`bottom-tab-${id}`}
            onClick={() => pick(id)}
          >
            <span>{t(`tabs.${id}`)}</span>
            {extra}
          </button>
        ))}
        <span className="dock__spacer" />
        <button
          type="button"
          className="icon-btn icon-btn--sm"
          data-testid="bottom-toggle"
          aria-expanded={open}
          title={open ? t("tabs.collapse") : t("tabs.expand")}
          aria-label={open ? t("tabs.collapse") : t("tabs.expand")}
          onClick={() => useBottomPanel.setState({ open: !open })}
        >
          {open ? <ChevronDown size={14} /> : <ChevronUp size={14} />}
        </button>
      </div>
      {open && (
        <div className="dock__body" role="tabpanel">
          <TabBody tab={tab} />
        </div>
      )}
    </section>
  );
}
