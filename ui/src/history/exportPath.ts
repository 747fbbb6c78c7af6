// Where exported failed rows go: the native save dialog in the desktop app, the designer's
// own file dialog (folders listed by the engine) in a browser — the same two pickers
// "Save As" uses for flows.

import { isTauri } from "../api/client";
import type { ExportFormat } from "../api/generated";
import { requestFileDialog } from "../files/dialogStore";
import { t } from "../i18n";

/** The file name proposed for a run's (or one node's) failed rows. */
export function suggestedExportName(runId: string, nodeId: string | undefined, format: ExportFormat): string {
  const safe = (s: string) => s.replace(/[\\/:*?"<>|\s]+/g, "-");
  return `${safe(runId)}${nodeId ? `-${safe(nodeId)}` : ""}-failed-rows.${format}`;
}

/** Adds `.csv` / `.json` to a name that has no extension at all. */
export function withExportExtension(path: string, format: ExportFormat): string {
  const trimmed = path.trim();
  const name = trimmed.split(/[\\/]/).pop() ?? "";
  return /\.[^.]+$/.test(name) ? trimmed : `${trimmed}.${format}`;
}

/** Asks where to write the export; null when cancelled. */
export async function pickExportPath(suggested: string, format: ExportFormat): Promise<string | null> {
  let chosen: string | null;
  if (isTauri()) {
    const { save } = await import("@tauri-apps/plugin-dialog");
    const filter = format === "csv" ? { name: t("history:export.csvFiles"), extensions: ["csv"] } : { name: t("history:export.jsonFiles"), extensions: ["json"] };
    chosen = await save({ defaultPath: suggested, filters: [filter], title: t("history:export.dialogTitle") });
  } else {
    chosen = await requestFileDialog({ mode: "save", target: "file", extensions: [`.${format}`], suggestedName: suggested });
  }
  return chosen ? withExportExtension(chosen, format) : null;
}
