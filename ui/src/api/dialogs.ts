// File pickers: native dialogs in the desktop app (@tauri-apps/plugin-dialog), the
// designer's own dialog (folders listed by the engine with `list_dir`) in a browser, where
// a web page cannot see the engine's file system.

import { isTauri } from "./client";
import { requestFileDialog } from "../files/dialogStore";
import { t } from "../i18n";

export const FLOW_SUFFIX = ".flow.json";

/** Adds `.flow.json` unless the name already ends so (a bare `.json` becomes `.flow.json`). */
export function withFlowSuffix(path: string): string {
  const trimmed = path.trim();
  if (trimmed.toLowerCase().endsWith(FLOW_SUFFIX)) return trimmed;
  if (trimmed.toLowerCase().endsWith(".json")) return trimmed.slice(0, -".json".length) + FLOW_SUFFIX;
  return trimmed + FLOW_SUFFIX;
}

function flowFilters() {
  return [
    { name: t("files.flowFiles"), extensions: ["flow.json"] },
    { name: t("files.allFiles"), extensions: ["*"] },
  ];
}

/** Asks for a flow file to open; null when cancelled. */
export async function pickOpenPath(): Promise<string | null> {
  if (isTauri()) {
    const { open } = await import("@tauri-apps/plugin-dialog");
    const chosen = await open({ multiple: false, directory: false, filters: flowFilters(), title: t("files.openTitle") });
    return typeof chosen === "string" ? chosen : null;
  }
  return requestFileDialog({ mode: "open", target: "file", extensions: [FLOW_SUFFIX] });
}

/** Asks where to save a flow, proposing `suggested`; null when cancelled. The answer always
 *  ends in `.flow.json`. */
export async function pickSavePath(suggested: string): Promise<string | null> {
  let chosen: string | null;
  if (isTauri()) {
    const { save } = await import("@tauri-apps/plugin-dialog");
    chosen = await save({ defaultPath: suggested, filters: flowFilters(), title: t("files.saveTitle") });
  } else {
    chosen = await requestFileDialog({ mode: "save", target: "file", extensions: [FLOW_SUFFIX], suggestedName: suggested });
  }
  return chosen ? withFlowSuffix(chosen) : null;
}

/** The property form's file and folder pickers (a CSV to read, a folder to write to). */
export async function pickFile(opts: { kind: "file" | "dir"; save?: boolean }): Promise<string | null> {
  if (isTauri()) {
    const dialog = await import("@tauri-apps/plugin-dialog");
    if (opts.save && opts.kind === "file") return (await dialog.save({})) ?? null;
    const chosen = await dialog.open({ multiple: false, directory: opts.kind === "dir" });
    return typeof chosen === "string" ? chosen : null;
  }
  return requestFileDialog({ mode: opts.save ? "save" : "open", target: opts.kind, extensions: [] });
}

/** A file name for a flow: its name with anything a file system dislikes replaced. */
export function suggestedFileName(flowName: string): string {
  const base = flowName
    .trim()
    .replace(/[\\/:*?"<>|\u0000-\u001f]+/g, "-")
    .replace(/\s+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "")
    .toLowerCase();
  return (base || "untitled") + FLOW_SUFFIX;
}
