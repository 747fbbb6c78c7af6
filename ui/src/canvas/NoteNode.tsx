// A free-standing sticky note (flow.notes): text edited in place, resized with the corner
// handles. Typing merges into one undo step per burst; a resize is one step.

import { memo, useCallback } from "react";
import { NodeResizer, type Node, type NodeProps } from "@xyflow/react";
import { useTranslation } from "react-i18next";
import type { CanvasNote } from "../api/generated";
import { useFlow } from "../store/flowStore";

export type NoteNodeData = { note: CanvasNote };
export type NoteRfNode = Node<NoteNodeData, "note">;

export const NOTE_PREFIX = "note:";
export const NOTE_MIN_WIDTH = 120;
export const NOTE_MIN_HEIGHT = 60;

function NoteNodeView({ data, selected }: NodeProps<NoteRfNode>) {
  const { t } = useTranslation("app");
  const id = data.note.id;
  const onChange = useCallback((e: React.ChangeEvent<HTMLTextAreaElement>) => useFlow.getState().updateNote(id, { text: e.target.value }, `note-text:${id}`), [id]);
  const onResizeStart = useCallback(() => useFlow.getState().beginGesture(), []);
  const onResizeEnd = useCallback(() => useFlow.getState().endGesture(), []);
  return (
    <div className={`note${selected ? " is-selected" : ""}`} data-testid={`note-${id}`}>
      <NodeResizer
        isVisible={selected}
        minWidth={NOTE_MIN_WIDTH}
        minHeight={NOTE_MIN_HEIGHT}
        onResizeStart={onResizeStart}
        onResizeEnd={onResizeEnd}
        lineClassName="note__resize-line"
        handleClassName="note__resize-handle"
      />
      <div className="note__grip" aria-hidden />
      <textarea
        className="note__text nodrag nowheel"
        value={data.note.text}
        placeholder={t("canvas.notePlaceholder")}
        aria-label={t("canvas.noteLabel")}
        onChange={onChange}
        onKeyDown={(e) => e.stopPropagation()}
      />
    </div>
  );
}

export const NoteNode = memo(NoteNodeView);
