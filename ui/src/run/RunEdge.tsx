// The canvas edge: React Flow's smooth-step line, plus, while a run is shown, the number of
// rows that crossed it. It reads only its own count from the run store, so the edge objects
// the canvas derives from the document stay as they are during a run.

import { memo } from "react";
import { BaseEdge, EdgeLabelRenderer, getSmoothStepPath, type EdgeProps } from "@xyflow/react";
import { useTranslation } from "react-i18next";
import { formatCompact, formatCount } from "./format";
import { useRun } from "./runStore";

function RunEdgeView(props: EdgeProps) {
  const { t } = useTranslation("run");
  const { id, source, target, sourceHandleId, targetHandleId, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, markerEnd, markerStart, style, interactionWidth } = props;
  const rows = useRun((s) => s.edges[id]);
  const live = useRun((s) => s.phase === "running");
  const [path, labelX, labelY] = getSmoothStepPath({ sourceX, sourceY, sourcePosition, targetX, targetY, targetPosition });
  return (
    <>
      <BaseEdge
        id={id}
        path={path}
        markerEnd={markerEnd}
        markerStart={markerStart}
        style={style}
        interactionWidth={interactionWidth}
        className={live && rows ? "fe__path--live" : undefined}
      />
      {rows !== undefined && (
        <EdgeLabelRenderer>
          <div
            className={`fe__rows${live ? " is-live" : ""}`}
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
            data-testid={`edge-rows-${source}.${sourceHandleId ?? ""}-${target}.${targetHandleId ?? ""}`}
            onPointerEnter={(e) => {
              // Worded on demand: hundreds of edges re-render on every flush.
              const latest = useRun.getState().edges[id] ?? rows;
              e.currentTarget.title = t("edge.rows", { count: latest, value: formatCount(latest) });
            }}
          >
            {formatCompact(rows)}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
}

export const RunEdge = memo(RunEdgeView);
