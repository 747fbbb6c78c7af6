// The right-hand panel: what is selected and its settings. For one node: title, id (renamed
// with validation; edges follow), kind, note, error handling and the property form generated
// from the kind's schema. With nothing selected: the flow's name and description.

import { useEffect, useMemo, useRef, useState } from "react";
import { Cable, Info, MousePointerClick, StickyNote, Trash2 } from "lucide-react";
import { useTranslation } from "react-i18next";
import type { Diagnostic, ErrorPolicy, NodeSpec } from "../api/generated";
import { pickFile } from "../api/dialogs";
import { kindIcon } from "../canvas/icons";
import { domId } from "../form/context";
import { NodeForm } from "../form/NodeForm";
import { normaliseDiagnosticField } from "../form/paths";
import { codeRuns } from "../form/text";
import { useCatalogText } from "../i18n/catalog";
import { edgeKey } from "../store/docOps";
import { useFlow, type FlowState } from "../store/flowStore";

const NO_DIAGNOSTICS: Diagnostic[] = [];

function IdField({ node }: { node: Pick<NodeSpec, "id"> }) {
  const { t } = useTranslation("app");
  const [draft, setDraft] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    setDraft(null);
    setProblem(null);
  }, [node.id]);

  const validate = (value: string) => {
    if (value === "") return "empty";
    if (!/^[A-Za-z0-9_-]+$/.test(value)) return "pattern";
    if (value !== node.id && useFlow.getState().doc.nodes.some((n) => n.id === value)) return "taken";
    return null;
  };

  const commit = () => {
    if (draft === null) return;
    const p = validate(draft);
    if (p === null) useFlow.getState().renameNode(node.id, draft);
    setDraft(null);
    setProblem(null);
  };

  return (
    <div className="field">
      <label className="field__label" htmlFor="props-node-id">
        {t("props.id")}
      </label>
      <input
        id="props-node-id"
        className={`input input--mono${problem ? " is-invalid" : ""}`}
        data-testid="node-id-input"
        value={draft ?? node.id}
        spellCheck={false}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? "props-node-id-error" : "props-node-id-help"}
        onChange={(e) => {
          setDraft(e.target.value);
          setProblem(validate(e.target.value));
        }}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit();
          if (e.key === "Escape") {
            setDraft(null);
            setProblem(null);
          }
        }}
      />
      {problem ? (
        <div className="field__error" id="props-node-id-error" role="alert" data-testid="node-id-error">
          {t(`props.idProblem.${problem}`, { id: draft })}
        </div>
      ) : (
        <div className="field__help" id="props-node-id-help">
          {t("props.idHelp")}
        </div>
      )}
    </div>
  );
}

function ErrorPolicyField({ node }: { node: Pick<NodeSpec, "id" | "error_policy"> }) {
  const { t } = useTranslation("app");
  const mode = node.error_policy?.mode ?? "";
  return (
    <div className="field">
      <label className="field__label" htmlFor="props-error-policy">
        {t("props.errorPolicy")}
      </label>
      <select
        id="props-error-policy"
        className="select"
        data-testid="node-error-policy"
        value={mode}
        onChange={(e) => {
          const v = e.target.value;
          const next: ErrorPolicy | undefined = v === "" ? undefined : { ...(node.error_policy ?? {}), mode: v as ErrorPolicy["mode"] };
          useFlow.getState().setErrorPolicy(node.id, next);
        }}
      >
        <option value="">{t("props.errorPolicyInherit")}</option>
        <option value="fail">{t("props.errorPolicyFail")}</option>
        <option value="continue">{t("props.errorPolicyContinue")}</option>
      </select>
      <div className="field__help">{t("props.errorPolicyHelp")}</div>
    </div>
  );
}

function NodeProperties({ id }: { id: string }) {
  const { t } = useTranslation("app");
  const text = useCatalogText();
  // Each part read on its own: dragging the node changes only its position, and must not
  // re-render the form on every mouse move.
  const find = (s: FlowState) => s.doc.nodes.find((n) => n.id === id);
  const kindName0 = useFlow((s) => find(s)?.kind);
  const title = useFlow((s) => find(s)?.title);
  const note = useFlow((s) => find(s)?.note);
  const config = useFlow((s) => find(s)?.config);
  const errorPolicy = useFlow((s) => find(s)?.error_policy);
  const kind = useFlow((s) => (kindName0 ? s.kinds[kindName0] : undefined));
  const node = useMemo(
    () => (kindName0 === undefined ? undefined : { id, kind: kindName0, title, note, config: config ?? {}, error_policy: errorPolicy }),
    [id, kindName0, title, note, config, errorPolicy],
  );
  const design = useFlow((s) => s.check.designs[id]);
  const all = useFlow((s) => s.check.diagnostics);
  const focus = useFlow((s) => s.focus);
  const diagnostics = useMemo(() => {
    const mine = all.filter((d) => d.node_id === id);
    return mine.length ? mine : NO_DIAGNOSTICS;
  }, [all, id]);
  const bodyRef = useRef<HTMLDivElement>(null);
  const onChange = useMemo(() => (config: unknown) => useFlow.getState().updateConfig(id, config), [id]);

  // The Problems panel asked for a field: scroll to it (or its nearest shown parent).
  useEffect(() => {
    if (!focus || focus.nodeId !== id) return;
    const frame = requestAnimationFrame(() => {
      const root = bodyRef.current;
      if (!root) return;
      let target: HTMLElement | null = null;
      if (focus.field) {
        const parts = normaliseDiagnosticField(focus.field).split(".").filter(Boolean);
        for (let n = parts.length; n > 0 && !target; n--) target = document.getElementById(domId(`nf-${id}`, parts.slice(0, n).join(".")));
      }
      target ??= root.querySelector<HTMLElement>("[data-testid='form-problems']") ?? root.querySelector<HTMLElement>(".props__node-head");
      if (!target) return;
      target.scrollIntoView({ block: "center", behavior: "smooth" });
      const wrapper = (target.closest(".sl-field") as HTMLElement | null) ?? target;
      wrapper.classList.remove("flash");
      void wrapper.offsetWidth;
      wrapper.classList.add("flash");
      if (typeof target.focus === "function" && target.matches("input, select, textarea, button, [tabindex]")) target.focus({ preventScroll: true });
    });
    return () => cancelAnimationFrame(frame);
  }, [focus, id]);

  if (!node) return null;
  const Icon = kindIcon(kind?.icon, kind?.category);
  const kindName = kind ? text.kindTitle(node.kind, kind.title) : node.kind;
  const hasErrorPort = (design?.ports ?? kind?.ports)?.outputs.some((p) => p.name === "error") ?? false;

  return (
    <div className="props__scroll" ref={bodyRef}>
      <div className={`props__node-head props__node-head--${kind?.category ?? "unknown"}`}>
        <span className="props__node-icon" aria-hidden>
          <Icon size={18} />
        </span>
        <div className="props__node-titles">
          <div className="props__node-kind">{kindName}</div>
          <div className="props__node-desc">
            {kind ? codeRuns(text.kindDescription(node.kind, kind.description)).map((r, i) => (r.code ? <code key={i}>{r.text}</code> : <span key={i}>{r.text}</span>)) : t("props.unknownKind", { kind: node.kind })}
          </div>
        </div>
      </div>
      <div className="props__section">
        <div className="field">
          <label className="field__label" htmlFor="props-node-title">
            {t("props.title")}
          </label>
          <input
            id="props-node-title"
            className="input"
            data-testid="node-title-input"
            value={node.title ?? ""}
            placeholder={kindName}
            onChange={(e) => useFlow.getState().setTitle(id, e.target.value)}
            onBlur={() => useFlow.getState().sealHistory()}
          />
        </div>
        <IdField node={node} />
        <div className="field">
          <span className="field__label">{t("props.kind")}</span>
          <div className="field__static">
            <code>{node.kind}</code>
          </div>
        </div>
        <div className="field">
          <label className="field__label" htmlFor="props-node-note">
            {t("props.note")}
          </label>
          <textarea
            id="props-node-note"
            className="input textarea"
            data-testid="node-note-input"
            rows={2}
            value={node.note ?? ""}
            placeholder={t("props.notePlaceholder")}
            onChange={(e) => useFlow.getState().setNote(id, e.target.value)}
            onBlur={() => useFlow.getState().sealHistory()}
          />
        </div>
        {hasErrorPort && <ErrorPolicyField node={node} />}
      </div>
      <div className="props__section props__section--form">
        <div className="props__section-title">{t("props.settings")}</div>
        {kind ? (
          <NodeForm kind={kind} nodeId={id} config={node.config} design={design} diagnostics={diagnostics} onChange={onChange} pickFile={pickFile} />
        ) : (
          <p className="muted">{t("props.unknownKind", { kind: node.kind })}</p>
        )}
      </div>
    </div>
  );
}

function FlowProperties() {
  const { t } = useTranslation("app");
  const name = useFlow((s) => s.doc.name);
  const description = useFlow((s) => s.doc.description ?? "");
  const nodes = useFlow((s) => s.doc.nodes.length);
  const edges = useFlow((s) => s.doc.edges.length);
  const path = useFlow((s) => s.path);
  return (
    <div className="props__scroll">
      <div className="props__section">
        <div className="props__section-title">{t("props.flow")}</div>
        <div className="field">
          <label className="field__label" htmlFor="props-flow-name">
            {t("props.flowName")}
          </label>
          <input
            id="props-flow-name"
            className="input"
            value={name}
            onChange={(e) => useFlow.getState().setFlowText("name", e.target.value)}
            onBlur={() => useFlow.getState().sealHistory()}
          />
        </div>
        <div className="field">
          <label className="field__label" htmlFor="props-flow-desc">
            {t("props.description")}
          </label>
          <textarea
            id="props-flow-desc"
            className="input textarea"
            rows={4}
            value={description}
            placeholder={t("props.descriptionPlaceholder")}
            onChange={(e) => useFlow.getState().setFlowText("description", e.target.value)}
            onBlur={() => useFlow.getState().sealHistory()}
          />
        </div>
        <dl className="facts">
          <dt>{t("props.file")}</dt>
          <dd className="facts__path">{path ?? <span className="muted">{t("toolbar.notSaved")}</span>}</dd>
          <dt>{t("props.counts")}</dt>
          <dd>{t("props.countsValue", { nodes, edges })}</dd>
        </dl>
      </div>
      <div className="props__hint">
        <MousePointerClick size={16} aria-hidden />
        <span>{t("props.selectHint")}</span>
      </div>
    </div>
  );
}

function MultiProperties({ nodes, edges, notes }: { nodes: number; edges: number; notes: number }) {
  const { t } = useTranslation("app");
  return (
    <div className="props__scroll">
      <div className="props__section">
        <div className="props__section-title">{t("props.multiTitle")}</div>
        <p className="props__multi">{t("props.multiSummary", { nodes, edges, notes })}</p>
        <button type="button" className="btn btn--danger-ghost" onClick={() => useFlow.getState().deleteSelection()}>
          <Trash2 size={14} aria-hidden />
          <span>{t("props.deleteSelection")}</span>
        </button>
      </div>
    </div>
  );
}

function EdgeProperties({ id }: { id: string }) {
  const { t } = useTranslation("app");
  const edge = useFlow((s) => s.doc.edges.find((e) => edgeKey(e) === id));
  if (!edge) return null;
  return (
    <div className="props__scroll">
      <div className="props__section">
        <div className="props__section-title">
          <Cable size={14} aria-hidden /> {t("props.edgeTitle")}
        </div>
        <dl className="facts">
          <dt>{t("props.edgeFrom")}</dt>
          <dd>
            <code>
              {edge.from}.{edge.from_port}
            </code>
          </dd>
          <dt>{t("props.edgeTo")}</dt>
          <dd>
            <code>
              {edge.to}.{edge.to_port}
            </code>
          </dd>
        </dl>
        <button type="button" className="btn btn--danger-ghost" onClick={() => useFlow.getState().deleteSelection()}>
          <Trash2 size={14} aria-hidden />
          <span>{t("props.deleteEdge")}</span>
        </button>
      </div>
    </div>
  );
}

function NoteProperties() {
  const { t } = useTranslation("app");
  return (
    <div className="props__scroll">
      <div className="props__section">
        <div className="props__section-title">
          <StickyNote size={14} aria-hidden /> {t("props.noteTitle")}
        </div>
        <p className="props__multi">{t("props.noteHint")}</p>
        <button type="button" className="btn btn--danger-ghost" onClick={() => useFlow.getState().deleteSelection()}>
          <Trash2 size={14} aria-hidden />
          <span>{t("props.deleteNote")}</span>
        </button>
      </div>
    </div>
  );
}

export function PropertiesPanel() {
  const { t } = useTranslation("app");
  const selection = useFlow((s) => s.selection);
  const n = selection.nodes.size;
  const e = selection.edges.size;
  const m = selection.notes.size;
  let body: React.ReactNode;
  if (n === 1 && e === 0 && m === 0) body = <NodeProperties key={[...selection.nodes][0]} id={[...selection.nodes][0]} />;
  else if (n + e + m === 0) body = <FlowProperties />;
  else if (e === 1 && n === 0 && m === 0) body = <EdgeProperties id={[...selection.edges][0]} />;
  else if (m === 1 && n === 0 && e === 0) body = <NoteProperties />;
  else body = <MultiProperties nodes={n} edges={e} notes={m} />;
  return (
    <aside className="props" data-testid="props-panel" aria-label={t("props.label")}>
      <div className="props__head">
        <Info size={14} aria-hidden />
        <span>{t("props.label")}</span>
      </div>
      {body}
    </aside>
  );
}
