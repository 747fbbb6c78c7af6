// Copy, cut and paste of nodes. The clipboard carries JSON of the selected nodes, the
// edges among them and selected canvas notes, so a paste works in another window or tab of
// the designer too. The system clipboard is used through the copy/paste events (no
// permission prompt); when a webview withholds it, an in-memory copy stands in.

import { parseClipboard, copySelection, type ClipboardContent } from "../store/docOps";
import { useFlow } from "../store/flowStore";
import { isEditableTarget } from "../hooks/keys";

const PASTE_STEP = 40;

let memory: string | null = null;
let lastPasted: { text: string; count: number } | null = null;

/** The selection as clipboard text, or null when nothing is selected. */
export function selectionText(): string | null {
  const s = useFlow.getState();
  const clip = copySelection(s.doc, s.selection.nodes, s.selection.notes);
  return clip ? JSON.stringify(clip, null, 2) : null;
}

/** Pastes clipboard text when it is a Sluice selection; returns whether it was. Each paste
 *  of the same content lands a step further down and right, so copies do not stack. */
export function pasteText(text: string | null | undefined): boolean {
  if (!text) return false;
  const clip: ClipboardContent | null = parseClipboard(text);
  if (!clip || (clip.nodes.length === 0 && clip.notes.length === 0)) return false;
  const count = lastPasted?.text === text ? lastPasted.count + 1 : 1;
  lastPasted = { text, count };
  useFlow.getState().paste(clip, { x: PASTE_STEP * count, y: PASTE_STEP * count });
  return true;
}

export function rememberCopied(text: string): void {
  memory = text;
  lastPasted = null;
}

export function copiedInMemory(): string | null {
  return memory;
}

/** Listens for copy, cut and paste on the document; returns the removal. */
export function installClipboard(doc: Document = document): () => void {
  let pasteHandled = false;

  const onCopy = (e: ClipboardEvent, cut: boolean) => {
    if (isEditableTarget(e.target) || hasTextSelection(doc)) return;
    const text = selectionText();
    if (!text) return;
    rememberCopied(text);
    e.clipboardData?.setData("text/plain", text);
    e.preventDefault();
    if (cut) useFlow.getState().deleteSelection();
  };
  const copy = (e: ClipboardEvent) => onCopy(e, false);
  const cut = (e: ClipboardEvent) => onCopy(e, true);

  const paste = (e: ClipboardEvent) => {
    if (isEditableTarget(e.target)) return;
    pasteHandled = true;
    const text = e.clipboardData?.getData("text/plain");
    if (pasteText(text) || pasteText(memory)) e.preventDefault();
  };

  // Ctrl+V on a page with nothing focused may fire no paste event in some webviews:
  // then the async clipboard API, then the in-memory copy.
  const keydown = (e: KeyboardEvent) => {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || isEditableTarget(e.target)) return;
    const key = e.key.toLowerCase();
    if (key === "v") {
      pasteHandled = false;
      setTimeout(() => {
        if (pasteHandled) return;
        pasteHandled = true;
        const fallback = () => void pasteText(memory);
        if (navigator.clipboard?.readText) {
          navigator.clipboard.readText().then((text) => {
            if (!pasteText(text)) fallback();
          }, fallback);
        } else fallback();
      }, 50);
    } else if (key === "c" || key === "x") {
      if (hasTextSelection(doc)) return;
      const text = selectionText();
      if (!text) return;
      // Kept now, in case no copy event follows; the copy event writes the system clipboard.
      rememberCopied(text);
    }
  };

  doc.addEventListener("copy", copy);
  doc.addEventListener("cut", cut);
  doc.addEventListener("paste", paste);
  doc.addEventListener("keydown", keydown);
  return () => {
    doc.removeEventListener("copy", copy);
    doc.removeEventListener("cut", cut);
    doc.removeEventListener("paste", paste);
    doc.removeEventListener("keydown", keydown);
  };
}

function hasTextSelection(doc: Document): boolean {
  const sel = doc.getSelection?.();
  return !!sel && !sel.isCollapsed && sel.toString().length > 0;
}
