// A node's line of live run numbers on the canvas: its state (colour and icon), rows in,
// out and failed, rows per second, and for a source whose input size is known a progress
// bar. Reads only its own node from the run store, so a metrics flush re-renders the
// nodes whose numbers changed and no others.

import { memo, useMemo } from "react";
import { Activity, CheckCircle2, CircleSlash, Clock, XCircle } from "lucide-react";
import { useTranslation } from "react-i18next";
import type { NodeState } from "../api/generated";
import type { NodeRun } from "./fold";
import { formatCompact, formatCount, formatRate, progressOf } from "./format";
import { useRun } from "./runStore";

const STATE_ICONS: Record<NodeState, typeof Clock> = {
  waiting: Clock,
  // Not a spinner: three hundred spinning icons cost the canvas its frame rate.
  running: Activity,
  done: CheckCircle2,
  failed: XCircle,
  stopped: CircleSlash,
};

/** The run state of node `id`, or undefined while no run is shown (for the node's colour). */
export function useNodeRunState(id: string): NodeState | undefined {
  return useRun((s) => s.nodes[id]?.state);
}

/** The bar's fixed words, looked up once per language rather than on every flush. */
function useLabels() {
  const { t } = useTranslation("run");
  return useMemo(
    () => ({
      t,
      states: Object.fromEntries((Object.keys(STATE_ICONS) as NodeState[]).map((k) => [k, t(`nodeState.${k}`)])) as Record<NodeState, string>,
      in: t("node.in"),
      out: t("node.out"),
      error: t("node.error"),
      inShort: t("node.inShort"),
      outShort: t("node.outShort"),
      errorShort: t("node.errorShort"),
      perSec: t("node.perSec"),
      progress: t("node.progress"),
    }),
    [t],
  );
}

type Labels = ReturnType<typeof useLabels>;

/** The full numbers, built when the pointer comes over the bar (not on every flush). */
function tooltip(n: NodeRun, l: Labels): string {
  return [
    l.states[n.state],
    l.t("node.inTip", { value: formatCount(n.rowsIn) }),
    l.t("node.outTip", { value: formatCount(n.rowsOut) }),
    l.t("node.errorTip", { value: formatCount(n.rowsError) }),
    l.t("node.rateTip", { value: formatRate(n.rowsPerSec) }),
    n.error ?? "",
  ]
    .filter(Boolean)
    .join("\n");
}

function NodeRunBarView({ id, showOut = true }: { id: string; showOut?: boolean }) {
  const labels = useLabels();
  const n = useRun((s) => s.nodes[id]);
  if (!n) return null;
  const Icon = STATE_ICONS[n.state];
  const progress = progressOf(n);
  const running = n.state === "running";
  return (
    <div
      className={`fn__run fn__run--${n.state}`}
      data-testid={`node-metrics-${id}`}
      data-state={n.state}
      onPointerEnter={(e) => {
        const latest = useRun.getState().nodes[id];
        if (latest) e.currentTarget.title = tooltip(latest, labels);
      }}
    >
      <span className="fn__run-state" aria-label={labels.states[n.state]}>
        <Icon size={12} aria-hidden />
      </span>
      <span className="fn__run-num" aria-label={labels.in}>
        <span className="fn__run-label">{labels.inShort}</span> {formatCompact(n.rowsIn)}
      </span>
      {showOut && (
        <span className="fn__run-num fn__run-num--out" aria-label={labels.out}>
          <span className="fn__run-label">{labels.outShort}</span> <span data-testid={`node-rows-out-${id}`}>{n.rowsOut}</span>
        </span>
      )}
      {n.rowsError > 0 && (
        <span className="fn__run-num fn__run-num--error" aria-label={labels.error} data-testid={`node-rows-error-${id}`}>
          <span className="fn__run-label">{labels.errorShort}</span> {formatCompact(n.rowsError)}
        </span>
      )}
      {running && (
        <span className="fn__run-rate">
          {formatRate(n.rowsPerSec)}
          {labels.perSec}
        </span>
      )}
      {progress !== null && (
        <span
          className="fn__run-progress"
          role="progressbar"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(progress * 100)}
          aria-label={labels.progress}
          data-testid={`node-progress-${id}`}
        >
          <span style={{ width: `${(progress * 100).toFixed(1)}%` }} />
        </span>
      )}
    </div>
  );
}

export const NodeRunBar = memo(NodeRunBarView);
