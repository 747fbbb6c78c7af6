import { createContext, useContext } from "react";
import type { FormDiagnostic, FormField, PickFile } from "./types";

export interface FormContextValue {
  /** Node kind, for translated labels. */
  kind: string;
  /** Prefix of element ids, unique per node so two forms never share an id. */
  idPrefix: string;
  /** Fields arriving at an input port, or undefined when the planner does not know them. */
  inputFields(port: string): FormField[] | undefined;
  /** Input ports that have fields known (a code editor offers all of them). */
  allInputFields(): FormField[];
  diagnosticsAt(pathKey: string): FormDiagnostic[];
  /** Whether any diagnostic sits at or under a path (a collapsed list item shows a mark). */
  hasDiagnosticsUnder(pathKey: string): boolean;
  pickFile: PickFile;
}

export const FormContext = createContext<FormContextValue | null>(null);

export function useFormContext(): FormContextValue {
  const ctx = useContext(FormContext);
  if (!ctx) throw new Error("form widgets must be rendered inside <NodeForm>");
  return ctx;
}

/** A DOM id from a path key: ids may not hold spaces, and map keys can. */
export function domId(prefix: string, key: string): string {
  return `${prefix}-${key}`.replace(/[^A-Za-z0-9_.:-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);
}
