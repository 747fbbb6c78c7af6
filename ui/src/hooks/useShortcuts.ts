// Keyboard shortcuts. File and run commands work everywhere (Ctrl+S from inside a form
// field saves too; F5 runs rather than reloading the page); editing commands (undo, delete,
// select all, copy) are left to text fields while one has focus, so typing keeps its own
// undo and copy. Ctrl+Enter stays the code editor's own (a new line) inside it.

import { useEffect } from "react";
import { newFlow, openFlow, save, saveAs } from "../files/actions";
import { useDialogs } from "../files/dialogStore";
import { anyRunDialogOpen } from "../run/runDialogs";
import { startRun, stopRun } from "../run/session";
import { useFlow } from "../store/flowStore";
import { isEditableTarget, modKey } from "./keys";
import { useEditorCommands } from "./useEditorCommands";

function inCodeEditor(target: EventTarget | null): boolean {
  return !!target && typeof (target as Element).closest === "function" && !!(target as Element).closest(".cm-editor");
}

export function useShortcuts() {
  const { fit, layout } = useEditorCommands();

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.isComposing) return;
      const d = useDialogs.getState();
      if (d.fileDialog || d.confirm || d.error || d.paramsOpen || anyRunDialogOpen()) return;
      const key = e.key.toLowerCase();
      const mod = modKey(e);
      const store = useFlow.getState();

      if (key === "f5" && !mod && !e.altKey) {
        e.preventDefault();
        void (e.shiftKey ? stopRun() : startRun());
        return;
      }
      if (mod && !e.altKey && !e.shiftKey) {
        if (key === "enter" && !inCodeEditor(e.target)) {
          e.preventDefault();
          void startRun();
          return;
        }
        if (key === ".") {
          e.preventDefault();
          void stopRun();
          return;
        }
      }

      if (mod && !e.altKey) {
        if (key === "s") {
          e.preventDefault();
          void (e.shiftKey ? saveAs() : save());
          return;
        }
        if (key === "o") {
          e.preventDefault();
          void openFlow();
          return;
        }
        if (key === "n" && !e.shiftKey) {
          e.preventDefault();
          void newFlow();
          return;
        }
      }

      if (isEditableTarget(e.target)) return;

      if (mod && !e.altKey) {
        if (key === "z") {
          e.preventDefault();
          if (e.shiftKey) store.redo();
          else store.undo();
        } else if (key === "y") {
          e.preventDefault();
          store.redo();
        } else if (key === "a") {
          e.preventDefault();
          store.selectAll();
        }
        return;
      }
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      if (key === "delete" || key === "backspace") {
        e.preventDefault();
        store.deleteSelection();
      } else if (key === "escape") {
        store.clearSelection();
      } else if (key === "f" && !e.shiftKey) {
        e.preventDefault();
        fit();
      } else if (key === "l" && e.shiftKey) {
        e.preventDefault();
        void layout();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [fit, layout]);
}
