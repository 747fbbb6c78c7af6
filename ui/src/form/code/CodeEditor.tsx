// A CodeMirror 6 editor for Rhai expressions and scripts and for SQL. Expressions look like a
// growing text input (no gutter, wrapped); scripts and SQL get line numbers. Completion
// offers the input's field names and the functions the schema names; diagnostics with a
// line and column are marked in the text.

import { useEffect, useRef } from "react";
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import {
  EditorView,
  drawSelection,
  highlightActiveLine,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  placeholder as placeholderExt,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { bracketMatching, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { lintGutter, setDiagnostics, type Diagnostic as LintDiagnostic } from "@codemirror/lint";
import { sql } from "@codemirror/lang-sql";
import { formHighlighter } from "./highlight";
import { rhaiLanguage } from "./rhai";
import { rhaiCompletions, type CompletionData } from "./completions";
import type { CodeLanguage } from "../schemaToForm";

export interface CodeMark {
  line: number;
  column?: number | null;
  message: string;
  severity: "error" | "warning";
}

export interface CodeEditorProps {
  value: string;
  onChange(text: string): void;
  language: CodeLanguage;
  /** Attributes of the editable element (id, test id, ARIA). */
  contentAttributes: Record<string, string>;
  placeholder?: string;
  completion: CompletionData;
  marks: CodeMark[];
}

/** Offsets of a 1-based line/column in the text, spanning the word there. */
export function markRange(doc: EditorState["doc"], mark: CodeMark): { from: number; to: number } {
  const lineNo = Math.min(Math.max(1, mark.line), doc.lines);
  const line = doc.line(lineNo);
  const col = Math.max(1, mark.column ?? 1);
  const from = Math.min(line.from + col - 1, line.to);
  let to = from;
  const text = line.text;
  while (to < line.to && /[\w$]/.test(text[to - line.from])) to++;
  if (to === from) to = Math.min(line.to, from + 1);
  if (mark.column == null) return { from: line.from, to: line.to };
  return { from, to };
}

export function CodeEditor(props: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const latest = useRef(props);
  latest.current = props;
  const attributes = useRef(new Compartment());
  const isExternalUpdate = useRef(false);

  useEffect(() => {
    const multiline = props.language !== "rhai-expression";
    const extensions: Extension[] = [
      highlightSpecialChars(),
      history(),
      drawSelection(),
      indentOnInput(),
      bracketMatching(),
      closeBrackets(),
      syntaxHighlighting(formHighlighter),
      // Tab is left to move focus out of the editor: a form must be keyboard navigable.
      keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
      EditorView.lineWrapping,
      attributes.current.of(EditorView.contentAttributes.of(latest.current.contentAttributes)),
      EditorView.updateListener.of((update) => {
        if (update.docChanged && !isExternalUpdate.current) latest.current.onChange(update.state.doc.toString());
      }),
    ];
    if (props.placeholder) extensions.push(placeholderExt(props.placeholder));
    if (multiline) extensions.push(lineNumbers(), highlightActiveLine(), lintGutter());
    if (props.language === "sql") {
      extensions.push(sql());
      extensions.push(autocompletion());
    } else {
      extensions.push(rhaiLanguage);
      extensions.push(autocompletion({ override: [rhaiCompletions(() => latest.current.completion)] }));
    }
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({ doc: latest.current.value, extensions }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The language and layout of a field never change; everything else flows through refs.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Follows the value when it changes from outside (undo in the canvas, another node).
  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const current = v.state.doc.toString();
    if (current !== props.value) {
      isExternalUpdate.current = true;
      try {
        v.dispatch({ changes: { from: 0, to: current.length, insert: props.value } });
      } finally {
        isExternalUpdate.current = false;
      }
    }
  }, [props.value]);

  const attrKey = JSON.stringify(props.contentAttributes);
  useEffect(() => {
    view.current?.dispatch({ effects: attributes.current.reconfigure(EditorView.contentAttributes.of(latest.current.contentAttributes)) });
  }, [attrKey]);

  const marksKey = JSON.stringify(props.marks);
  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const diagnostics: LintDiagnostic[] = latest.current.marks.map((m) => ({
      ...markRange(v.state.doc, m),
      severity: m.severity,
      message: m.message,
      source: "sluice",
    }));
    v.dispatch(setDiagnostics(v.state, diagnostics));
  }, [marksKey]);

  return (
    <div
      ref={host}
      className={`sl-code sl-code--${props.language === "rhai-expression" ? "expression" : "block"}`}
      data-language={props.language}
    />
  );
}
