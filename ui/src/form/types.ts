// The app-service types the form reads (generated from src/app/api.rs), and the narrower
// shapes its widgets need, so a widget can be fed a hand-made field list or diagnostic.
export type { CatalogKind } from "../api/generated/CatalogKind";
export type { NodeDesign } from "../api/generated/NodeDesign";
export type { Diagnostic } from "../api/generated/Diagnostic";
export type { Field } from "../api/generated/Field";

export interface FormField {
  name: string;
  type: string;
}

export interface FormDiagnostic {
  severity: string;
  code: string;
  message: string;
  node_id?: string | null;
  field?: string | null;
  line?: number | null;
  column?: number | null;
  hint?: string | null;
}

export type PickFile = (opts: { kind: "file" | "dir"; save?: boolean }) => Promise<string | null>;
