// The top bar: the flow's name (edited in place) and unsaved mark, file commands with the
// recent-files menu, undo/redo, layout and fit, params, run and stop with the run's status,
// the check status and the language.

import { useEffect, useMemo, useRef, useState } from "react";
import {
  AlertCircle,
  AlertTriangle,
  CheckCircle2,
  ChevronDown,
  FilePlus2,
  FolderOpen,
  LoaderCircle,
  Maximize,
  Network,
  Redo2,
  Save,
  SaveAll,
  SlidersHorizontal,
  Undo2,
  Waves,
} from "lucide-react";
import { useTranslation } from "react-i18next";
import type { RecentFile } from "../api/generated";
import { call } from "../api/client";
import { openFlow, newFlow, save, saveAs } from "../files/actions";
import { openParams } from "../files/dialogStore";
import { useEditorCommands } from "../hooks/useEditorCommands";
import { isMac } from "../hooks/keys";
import { LanguageSwitch } from "../i18n/LanguageSwitch";
import { RunControls } from "../run/RunControls";
import { canRedo, canUndo, useFlow } from "../store/flowStore";

const MOD = isMac ? "⌘" : "Ctrl+";

function FlowName() {
  const { t } = useTranslation("app");
  const name = useFlow((s) => s.doc.name);
  const dirty = useFlow((s) => s.dirty);
  const path = useFlow((s) => s.path);
  const [draft, setDraft] = useState<string | null>(null);
  const commit = () => {
    if (draft !== null && draft.trim() !== "" && draft !== name) useFlow.getState().setFlowText("name", draft.trim());
    useFlow.getState().sealHistory();
    setDraft(null);
  };
  return (
    <div className="flowname" title={path ?? t("toolbar.notSaved")}>
      <input
        className="flowname__input"
        data-testid="flow-name"
        aria-label={t("toolbar.flowName")}
        value={draft ?? name}
        size={Math.max(8, Math.min(40, (draft ?? name).length + 1))}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") (e.target as HTMLInputElement).blur();
          if (e.key === "Escape") {
            setDraft(null);
            requestAnimationFrame(() => (e.target as HTMLInputElement).blur());
          }
        }}
      />
      {dirty && <span className="flowname__dirty" data-testid="dirty-indicator" title={t("toolbar.unsaved")} aria-label={t("toolbar.unsaved")} role="status" />}
    </div>
  );
}

/** The folder part of a path (the menu shows the file name above it). */
function folderOf(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i > 0 ? path.slice(0, i) : path;
}

function RecentMenu() {
  const { t } = useTranslation("app");
  const [open, setOpen] = useState(false);
  const [files, setFiles] = useState<RecentFile[] | null>(null);
  const [failed, setFailed] = useState(false);
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    setFiles(null);
    setFailed(false);
    call({ op: "recent_files" }).then(
      (r) => setFiles(r.files),
      () => setFailed(true),
    );
    const close = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const esc = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    document.addEventListener("mousedown", close);
    document.addEventListener("keydown", esc);
    return () => {
      document.removeEventListener("mousedown", close);
      document.removeEventListener("keydown", esc);
    };
  }, [open]);

  return (
    <div className="menu" ref={ref}>
      <button
        type="button"
        className="icon-btn icon-btn--narrow"
        data-testid="btn-recent"
        aria-haspopup="menu"
        aria-expanded={open}
        title={t("toolbar.recent")}
        aria-label={t("toolbar.recent")}
        onClick={() => setOpen((o) => !o)}
      >
        <ChevronDown size={14} />
      </button>
      {open && (
        <div className="menu__popup" role="menu" data-testid="recent-menu">
          <div className="menu__head">{t("toolbar.recent")}</div>
          {files === null && !failed && <div className="menu__empty">{t("toolbar.loading")}</div>}
          {failed && <div className="menu__empty">{t("toolbar.recentFailed")}</div>}
          {files?.length === 0 && <div className="menu__empty">{t("toolbar.noRecent")}</div>}
          {files?.map((f) => (
            <button
              key={f.path}
              type="button"
              role="menuitem"
              className="menu__item"
              data-testid="recent-item"
              title={f.path}
              onClick={() => {
                setOpen(false);
                void openFlow(f.path);
              }}
            >
              <span className="menu__item-name">{f.name}</span>
              <span className="menu__item-path">
                <bdi>{folderOf(f.path)}</bdi>
              </span>
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

function CheckStatus() {
  const { t } = useTranslation("app");
  const status = useFlow((s) => s.check.status);
  const diagnostics = useFlow((s) => s.check.diagnostics);
  const errors = useMemo(() => diagnostics.filter((d) => d.severity !== "warning").length, [diagnostics]);
  const warnings = diagnostics.length - errors;
  const failedMessage = useFlow((s) => s.check.error);
  if (status === "failed")
    return (
      <span className="status status--error" title={failedMessage} data-testid="check-status">
        <AlertCircle size={14} /> {t("toolbar.checkFailed")}
      </span>
    );
  if (status === "checking")
    return (
      <span className="status status--busy" data-testid="check-status">
        <LoaderCircle size={14} className="spin" /> {t("toolbar.checking")}
      </span>
    );
  if (errors > 0)
    return (
      <span className="status status--error" data-testid="check-status">
        <AlertCircle size={14} /> {t("toolbar.errors", { count: errors })}
      </span>
    );
  if (warnings > 0)
    return (
      <span className="status status--warning" data-testid="check-status">
        <AlertTriangle size={14} /> {t("toolbar.warnings", { count: warnings })}
      </span>
    );
  return (
    <span className="status status--ok" data-testid="check-status">
      <CheckCircle2 size={14} /> {t("toolbar.noProblems")}
    </span>
  );
}

interface ToolButtonProps {
  testId: string;
  label: string;
  shortcut?: string;
  icon: React.ReactNode;
  onClick(): void;
  disabled?: boolean;
  showLabel?: boolean;
}

function ToolButton({ testId, label, shortcut, icon, onClick, disabled, showLabel }: ToolButtonProps) {
  const tip = shortcut ? `${label} (${shortcut})` : label;
  return (
    <button type="button" className={showLabel ? "btn btn--tool" : "icon-btn"} data-testid={testId} title={tip} aria-label={label} onClick={onClick} disabled={disabled}>
      {icon}
      {showLabel && <span>{label}</span>}
    </button>
  );
}

export function Toolbar() {
  const { t } = useTranslation("app");
  const undoable = useFlow(canUndo);
  const redoable = useFlow(canRedo);
  const hasNodes = useFlow((s) => s.doc.nodes.length > 0);
  const paramCount = useFlow((s) => s.doc.params?.length ?? 0);
  const { fit, layout } = useEditorCommands();

  return (
    <header className="toolbar" data-testid="toolbar">
      <div className="toolbar__brand" aria-hidden>
        <Waves size={18} />
        <span>{t("app.name")}</span>
      </div>
      <FlowName />
      <div className="toolbar__sep" />
      <div className="toolbar__group" role="group" aria-label={t("toolbar.fileGroup")}>
        <ToolButton testId="btn-new" label={t("toolbar.new")} shortcut={`${MOD}N`} icon={<FilePlus2 size={16} />} onClick={() => void newFlow()} />
        <div className="split">
          <ToolButton testId="btn-open" label={t("toolbar.open")} shortcut={`${MOD}O`} icon={<FolderOpen size={16} />} onClick={() => void openFlow()} />
          <RecentMenu />
        </div>
        <ToolButton testId="btn-save" label={t("toolbar.save")} shortcut={`${MOD}S`} icon={<Save size={16} />} onClick={() => void save()} />
        <ToolButton testId="btn-save-as" label={t("toolbar.saveAs")} shortcut={`${MOD}⇧S`} icon={<SaveAll size={16} />} onClick={() => void saveAs()} />
      </div>
      <div className="toolbar__sep" />
      <div className="toolbar__group" role="group" aria-label={t("toolbar.editGroup")}>
        <ToolButton testId="btn-undo" label={t("toolbar.undo")} shortcut={`${MOD}Z`} icon={<Undo2 size={16} />} onClick={() => useFlow.getState().undo()} disabled={!undoable} />
        <ToolButton testId="btn-redo" label={t("toolbar.redo")} shortcut={isMac ? "⌘⇧Z" : "Ctrl+Y"} icon={<Redo2 size={16} />} onClick={() => useFlow.getState().redo()} disabled={!redoable} />
      </div>
      <div className="toolbar__sep" />
      <div className="toolbar__group" role="group" aria-label={t("toolbar.viewGroup")}>
        <ToolButton testId="btn-layout" label={t("toolbar.layout")} shortcut="Shift+L" icon={<Network size={16} />} onClick={() => void layout()} disabled={!hasNodes} />
        <ToolButton testId="btn-fit" label={t("toolbar.fit")} shortcut="F" icon={<Maximize size={16} />} onClick={fit} />
      </div>
      <div className="toolbar__sep" />
      <button type="button" className="btn btn--tool" data-testid="btn-params" title={t("toolbar.paramsHint")} onClick={() => openParams()}>
        <SlidersHorizontal size={15} />
        <span>{t("toolbar.params")}</span>
        {paramCount > 0 && <span className="pill">{paramCount}</span>}
      </button>
      <div className="toolbar__sep" />
      <RunControls />
      <div className="toolbar__spacer" />
      <CheckStatus />
      <LanguageSwitch className="select select--sm" />
    </header>
  );
}
