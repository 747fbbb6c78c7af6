// Modal dialogs asked for from outside React (file actions, the transport's file pickers):
// each request holds the promise's resolve, and <DialogHost> renders whichever is open.
// UI state only; nothing here enters the flow document.

import { create } from "zustand";
import type { Diagnostic } from "../api/generated";

export interface FileDialogRequest {
  /** `open` picks an existing entry; `save` names a file that may not exist yet. */
  mode: "open" | "save";
  /** Whether a file or a folder is picked. */
  target: "file" | "dir";
  /** Only files ending so are listed (`.flow.json`); empty lists every file. */
  extensions: string[];
  /** The file name proposed in save mode. */
  suggestedName?: string;
  /** Folder to start in; the last folder used, else the working folder. */
  startDir?: string;
  resolve(path: string | null): void;
}

export type UnsavedChoice = "save" | "discard" | "cancel";

export interface ConfirmRequest {
  resolve(choice: UnsavedChoice): void;
}

export interface ErrorDialogRequest {
  /** i18n key (app namespace) of the title. */
  titleKey: string;
  message: string;
  path?: string;
  diagnostics: Diagnostic[];
}

interface DialogState {
  fileDialog: FileDialogRequest | null;
  confirm: ConfirmRequest | null;
  error: ErrorDialogRequest | null;
  paramsOpen: boolean;
  /** Folder the browser file dialog showed last. */
  lastDir: string | null;
}

export const useDialogs = create<DialogState>()(() => ({
  fileDialog: null,
  confirm: null,
  error: null,
  paramsOpen: false,
  lastDir: null,
}));

export function requestFileDialog(req: Omit<FileDialogRequest, "resolve">): Promise<string | null> {
  return new Promise((resolve) => {
    // A dialog already open is answered "cancelled" rather than left hanging.
    useDialogs.getState().fileDialog?.resolve(null);
    useDialogs.setState({
      fileDialog: {
        ...req,
        startDir: req.startDir ?? useDialogs.getState().lastDir ?? undefined,
        resolve: (path) => {
          useDialogs.setState({ fileDialog: null });
          resolve(path);
        },
      },
    });
  });
}

export function askUnsaved(): Promise<UnsavedChoice> {
  return new Promise((resolve) => {
    useDialogs.getState().confirm?.resolve("cancel");
    useDialogs.setState({
      confirm: {
        resolve: (choice) => {
          useDialogs.setState({ confirm: null });
          resolve(choice);
        },
      },
    });
  });
}

export function showError(req: ErrorDialogRequest): void {
  useDialogs.setState({ error: req });
}

export function openParams(open = true): void {
  useDialogs.setState({ paramsOpen: open });
}
