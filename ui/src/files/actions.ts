// New, open, save and save-as, with the unsaved-changes question in front of anything
// that would drop edits. The document is sent to the engine as it is: the engine writes it
// in canonical form, so an opened flow saved unchanged comes back byte-identical.

import { call, toAppError } from "../api/client";
import { pickOpenPath, pickSavePath, suggestedFileName, withFlowSuffix } from "../api/dialogs";
import type { FlowFile } from "../api/generated";
import { t } from "../i18n";
import { toast } from "../lib/toast";
import { useFlow } from "../store/flowStore";
import { emptyFlow } from "../store/docOps";
import { askUnsaved, showError } from "./dialogStore";

/** Whether whatever comes next may drop the current document: asks when it is dirty and
 *  saves first when the user says so. */
export async function confirmDiscard(): Promise<boolean> {
  if (!useFlow.getState().dirty) return true;
  const choice = await askUnsaved();
  if (choice === "cancel") return false;
  if (choice === "discard") return true;
  return save();
}

export async function newFlow(): Promise<void> {
  if (!(await confirmDiscard())) return;
  useFlow.getState().load(emptyFlow(), null);
}

/** Opens `path`, or asks for one. Returns whether a flow was opened. */
export async function openFlow(path?: string, opts: { skipConfirm?: boolean } = {}): Promise<boolean> {
  if (!opts.skipConfirm && !(await confirmDiscard())) return false;
  const target = path ?? (await pickOpenPath());
  if (!target) return false;
  try {
    const res = await call({ op: "open_flow", path: target });
    useFlow.getState().load(res.flow, res.path, res.diagnostics);
    return true;
  } catch (e) {
    const err = toAppError(e);
    showError({
      titleKey: err.kind === "invalid_flow" ? "files.invalidFlowTitle" : "files.openFailedTitle",
      message: err.message,
      path: target,
      diagnostics: err.diagnostics ?? [],
    });
    return false;
  }
}

async function writeTo(path: string): Promise<boolean> {
  // The document as sent: edits made while the engine writes keep the flow dirty.
  const doc: FlowFile = useFlow.getState().doc;
  try {
    const res = await call({ op: "save_flow", path, flow: doc });
    useFlow.getState().markSaved(doc, res.path);
    toast({ kind: "success", text: t("files.saved", { path: res.path }) });
    return true;
  } catch (e) {
    const err = toAppError(e);
    showError({ titleKey: "files.saveFailedTitle", message: err.message, path, diagnostics: err.diagnostics ?? [] });
    return false;
  }
}

/** Saves to the current file, or asks where when the flow has none. */
export async function save(): Promise<boolean> {
  const { path } = useFlow.getState();
  return path ? writeTo(path) : saveAs();
}

export async function saveAs(): Promise<boolean> {
  const { doc, path } = useFlow.getState();
  const suggested = path ? path.split(/[\\/]/).pop()! : suggestedFileName(doc.name);
  const chosen = await pickSavePath(suggested);
  if (!chosen) return false;
  return writeTo(withFlowSuffix(chosen));
}

/** Start-up: the engine's facts, the catalog, then the flow named on the command line or
 *  a new one. Throws when the engine cannot be reached (the app shows why). */
export async function startUp(): Promise<void> {
  const [info, catalog] = await Promise.all([call({ op: "info" }), call({ op: "catalog" })]);
  const store = useFlow.getState();
  store.setInfo(info);
  store.setCatalog(catalog.kinds);
  if (info.open_on_start && (await openFlow(info.open_on_start, { skipConfirm: true }))) return;
  store.load(emptyFlow(), null);
}
