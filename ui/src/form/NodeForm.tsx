// The property form of the selected node, generated from its kind's config schema: no
// hand-written form per kind. Controlled: every edit hands a new config object to
// `onChange`, changing only the key edited; keys the user never touched stay absent, so
// a flow that is opened and saved comes out byte-identical.

import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { FormContext, type FormContextValue } from "./context";
import { ObjectFields } from "./widgets/containers";
import { DiagnosticList } from "./FieldShell";
import { schemaToForm } from "./schemaToForm";
import { collectPaths, indexDiagnostics, isRecord } from "./paths";
import type { CatalogKind, Diagnostic, FormField, NodeDesign, PickFile } from "./types";
import "./form.css";

export interface NodeFormProps {
  kind: CatalogKind;
  nodeId: string;
  config: unknown;
  design?: NodeDesign;
  diagnostics: Diagnostic[];
  onChange(config: unknown): void;
  pickFile: PickFile;
}

export function NodeForm(props: NodeFormProps) {
  // Another node (or kind) starts from fresh widget state: drafts, open list items.
  return <NodeFormBody key={`${props.kind.kind}/${props.nodeId}`} {...props} />;
}

function NodeFormBody({ kind, nodeId, config, design, diagnostics, onChange, pickFile }: NodeFormProps) {
  const { t } = useTranslation("form");
  const spec = useMemo(() => schemaToForm(kind.config_schema, { category: kind.category }), [kind.config_schema, kind.category]);
  const cfg = useMemo(() => (isRecord(config) ? config : {}), [config]);

  const index = useMemo(() => {
    const shown = collectPaths(spec, cfg, [], new Set());
    const own = diagnostics.filter((d) => !d.node_id || d.node_id === nodeId);
    return indexDiagnostics(own, shown);
  }, [spec, cfg, diagnostics, nodeId]);

  const ctx = useMemo<FormContextValue>(() => {
    const keys = [...index.byPath.keys()];
    return {
      kind: kind.kind,
      idPrefix: `nf-${nodeId}`,
      inputFields: (port) => design?.inputs[port],
      allInputFields: () => {
        const seen = new Map<string, FormField>();
        for (const list of Object.values(design?.inputs ?? {})) for (const f of list ?? []) if (!seen.has(f.name)) seen.set(f.name, f);
        return [...seen.values()];
      },
      diagnosticsAt: (key) => index.byPath.get(key) ?? [],
      hasDiagnosticsUnder: (key) => keys.some((k) => k === key || k.startsWith(`${key}.`)),
      pickFile,
    };
  }, [kind.kind, nodeId, design, index, pickFile]);

  return (
    <FormContext.Provider value={ctx}>
      <form
        className="sl-form"
        data-testid="node-form"
        data-kind={kind.kind}
        aria-label={t("formLabel", { id: nodeId })}
        noValidate
        onSubmit={(e) => e.preventDefault()}
      >
        {index.general.length > 0 && (
          <section className="sl-form__problems" aria-label={t("nodeProblems")} data-testid="form-problems">
            <DiagnosticList id={`nf-${nodeId}-problems`} diagnostics={index.general} />
          </section>
        )}
        {spec.fields.length === 0 ? (
          <p className="sl-form__empty">{t("nothingToSet")}</p>
        ) : (
          <ObjectFields spec={spec} value={cfg} path={[]} onChange={onChange} />
        )}
      </form>
    </FormContext.Provider>
  );
}
