// Run and Stop in the toolbar, and the run's status beside them: running with its time,
// or how the last run ended. The status chip opens the Logs tab.

import { useEffect, useState } from "react";
import { CheckCircle2, CircleSlash, CircleStop, HelpCircle, LoaderCircle, Play, Square, XCircle } from "lucide-react";
import { useTranslation } from "react-i18next";
import { isMac } from "../hooks/keys";
import { useFlow } from "../store/flowStore";
import { formatDuration } from "./format";
import { showBottomTab } from "./panelStore";
import { isActivePhase, useRun } from "./runStore";
import { startRun, stopRun } from "./session";

export const RUN_SHORTCUT = isMac ? "F5 / ⌘↩" : "F5 / Ctrl+Enter";
export const STOP_SHORTCUT = isMac ? "⇧F5 / ⌘." : "Shift+F5 / Ctrl+.";

/** Time since the run started, ticking once a second while it runs. */
function useElapsed(): number {
  const phase = useRun((s) => s.phase);
  const startedAt = useRun((s) => s.startedAt);
  const reported = useRun((s) => s.elapsedMs);
  const [now, setNow] = useState(() => Date.now());
  const running = phase === "running";
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);
  if (!running || !startedAt) return reported;
  const since = now - Date.parse(startedAt);
  return Number.isFinite(since) ? Math.max(reported, since) : reported;
}

function RunStatusChip() {
  const { t } = useTranslation("run");
  const phase = useRun((s) => s.phase);
  const stopRequested = useRun((s) => s.stopRequested);
  const elapsed = useElapsed();
  const d = formatDuration(elapsed);
  const time = d.unit === "s" ? t("status.seconds", { value: d.value }) : d.value;
  const status = phase === "starting" ? "running" : phase;

  let icon = null;
  let text = "";
  switch (phase) {
    case "starting":
      icon = <LoaderCircle size={14} className="spin" />;
      text = t("status.starting");
      break;
    case "running":
      icon = <LoaderCircle size={14} className="spin" />;
      text = stopRequested ? t("status.stopping") : t("status.running", { time });
      break;
    case "succeeded":
      icon = <CheckCircle2 size={14} />;
      text = t("status.succeeded", { time });
      break;
    case "failed":
      icon = <XCircle size={14} />;
      text = t("status.failed", { time });
      break;
    case "stopped":
      icon = <CircleSlash size={14} />;
      text = t("status.stopped", { time });
      break;
    case "finished":
      icon = <HelpCircle size={14} />;
      text = t("status.finished");
      break;
    case "idle":
      break;
  }

  if (phase === "idle") return <span className="run-status is-idle" data-testid="run-status" data-status="idle" />;
  return (
    <button
      type="button"
      className={`run-status run-status--${phase}`}
      data-testid="run-status"
      data-status={status}
      title={t("status.openLogs")}
      onClick={() => showBottomTab("logs")}
    >
      {icon}
      <span>{text}</span>
    </button>
  );
}

export function RunControls() {
  const { t } = useTranslation("run");
  const phase = useRun((s) => s.phase);
  const stopRequested = useRun((s) => s.stopRequested);
  const hasNodes = useFlow((s) => s.doc.nodes.length > 0);
  const active = isActivePhase(phase);
  const runTip = `${t("controls.run")} (${RUN_SHORTCUT})`;
  const stopTip = `${t("controls.stop")} (${STOP_SHORTCUT})`;
  return (
    <div className="toolbar__group run-controls" role="group" aria-label={t("controls.group")}>
      <button type="button" className="btn btn--tool btn--run" data-testid="btn-run" title={runTip} aria-label={t("controls.run")} onClick={() => void startRun()} disabled={active || !hasNodes}>
        <Play size={15} />
        <span>{t("controls.run")}</span>
      </button>
      <button
        type="button"
        className="btn btn--tool btn--stop"
        data-testid="btn-stop"
        title={stopTip}
        aria-label={t("controls.stop")}
        onClick={() => void stopRun()}
        disabled={phase !== "running" || stopRequested}
      >
        {stopRequested ? <CircleStop size={15} /> : <Square size={14} />}
        <span>{t("controls.stop")}</span>
      </button>
      <RunStatusChip />
    </div>
  );
}
