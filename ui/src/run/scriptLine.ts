// From a run error to the code that caused it. Script and expression errors carry their
// place in the source as text — `script: Variable not found: x (line 3, column 5)` (see
// src/script/mod.rs, ScriptError) — and a failed row names the config field (`script`,
// `condition`, `rules/0/condition`). Clicking such an error opens the node's properties at
// that field, and puts the code editor's cursor on the line.

import { EditorView } from "@codemirror/view";
import { domId } from "../form/context";
import { normaliseDiagnosticField } from "../form/paths";
import { useFlow } from "../store/flowStore";

export interface ScriptPlace {
  line: number;
  column?: number;
  /** The config field holding the code, when known. */
  field?: string;
}

const LINE = /\(line (\d+)(?:, column (\d+))?\)/;
/** `init: …`, `script: …`, `a row failed: script: …` — the section a script error names. */
const SECTION = /^(?:a row failed: )?([A-Za-z_][\w/]*): /;
/** A run's failure names the field in parentheses: `node 'calc' failed (field 'script'): …`. */
const FIELD = /\(field '([^']+)'\)/;

/** The source line an error message points at, or null when it names none. */
export function scriptPlace(message: string | undefined, field?: string): ScriptPlace | null {
  if (!message) return null;
  const m = LINE.exec(message);
  if (!m) return null;
  const place: ScriptPlace = { line: Number(m[1]) };
  if (m[2]) place.column = Number(m[2]);
  const f = field ?? FIELD.exec(message)?.[1] ?? SECTION.exec(message)?.[1];
  if (f) place.field = f;
  return place;
}

/** Opens node `nodeId`'s properties at `place.field` and moves the code editor there to the
 *  line. The form renders after the selection changes, so the editor is looked for over a
 *  few frames. */
export function openScriptPlace(nodeId: string, place: ScriptPlace): void {
  useFlow.getState().focusProblem(nodeId, place.field);
  if (!place.field) return;
  const parts = normaliseDiagnosticField(place.field).split(".").filter(Boolean);
  const id = domId(`nf-${nodeId}`, parts.join("."));
  let tries = 0;
  const look = () => {
    const content = document.getElementById(id);
    const editor = content?.closest<HTMLElement>(".cm-editor");
    const view = editor ? EditorView.findFromDOM(editor) : null;
    if (view) {
      moveToLine(view, place.line, place.column);
      return;
    }
    if (++tries < 10) requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
}

export function moveToLine(view: EditorView, line: number, column?: number): void {
  const doc = view.state.doc;
  const l = doc.line(Math.min(Math.max(1, line), doc.lines));
  const pos = Math.min(l.from + Math.max(0, (column ?? 1) - 1), l.to);
  view.dispatch({ selection: { anchor: pos }, effects: EditorView.scrollIntoView(pos, { y: "center" }) });
  view.focus();
}
