// The browser-mode file dialog: a web page cannot see the engine's disk, so folders are
// listed by the engine (`list_dir`). Folders first, a breadcrumb to go up, a path box to
// type or paste a path, double-click to enter a folder or choose a file, and a file-name
// box when saving.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ArrowUp, File, FileCode2, Folder, LoaderCircle } from "lucide-react";
import { useTranslation } from "react-i18next";
import { call, toAppError } from "../api/client";
import type { DirEntry } from "../api/generated";
import { Modal } from "../lib/Modal";
import { useFlow } from "../store/flowStore";
import { useDialogs, type FileDialogRequest } from "./dialogStore";

export function joinPath(dir: string, name: string, sep: string): string {
  if (!dir) return name;
  return dir.endsWith(sep) || dir.endsWith("/") ? dir + name : dir + sep + name;
}

export function baseName(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? "";
}

/** Breadcrumb segments of an absolute path, each with the path up to it. */
export function crumbs(path: string, sep: string): Array<{ name: string; path: string }> {
  const parts = path.split(/[\\/]/);
  const out: Array<{ name: string; path: string }> = [];
  let acc = "";
  parts.forEach((p, i) => {
    if (i === 0 && p === "") {
      acc = sep === "\\" ? "\\" : "/";
      out.push({ name: acc, path: acc });
      return;
    }
    if (p === "") return;
    acc = i === 0 ? p + sep : joinPath(acc, p, sep);
    out.push({ name: p, path: acc });
  });
  return out;
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function FileDialogView({ req }: { req: FileDialogRequest }) {
  const { t } = useTranslation("app");
  const sep = useFlow((s) => s.info?.separator ?? "/");
  const [dir, setDir] = useState<string | null>(null);
  const [parent, setParent] = useState<string | undefined>(undefined);
  const [entries, setEntries] = useState<DirEntry[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [pathText, setPathText] = useState("");
  const [name, setName] = useState(req.suggestedName ?? "");
  const listRef = useRef<HTMLUListElement>(null);
  const saving = req.mode === "save";

  const visible = useMemo(() => (req.target === "dir" ? entries.filter((e) => e.is_dir) : entries), [entries, req.target]);

  const load = useCallback(
    async (path: string | undefined): Promise<boolean> => {
      setLoading(true);
      try {
        const res = await call({ op: "list_dir", ...(path ? { path } : {}), extensions: req.target === "file" ? req.extensions : [] });
        setDir(res.path);
        setParent(res.parent);
        setEntries(res.entries);
        setSelected(null);
        setError(null);
        useDialogs.setState({ lastDir: res.path });
        setPathText(saving ? joinPath(res.path, name, sep) : req.target === "dir" ? res.path : "");
        return true;
      } catch (e) {
        setError(toAppError(e).message);
        return false;
      } finally {
        setLoading(false);
      }
    },
    // `name` is read when a folder opens, not tracked: typing a name must not reload.
    [req.extensions, req.target, saving, sep],
  );

  useEffect(() => {
    void load(req.startDir).then((ok) => {
      // A remembered folder that has gone away: fall back to the working folder.
      if (!ok && req.startDir) void load(undefined);
    });
  }, [load, req.startDir]);

  const choose = (path: string) => req.resolve(path);

  const pick = (e: DirEntry) => {
    setSelected(e.path);
    if (e.is_dir) {
      if (req.target === "dir") setPathText(e.path);
    } else if (saving) {
      setName(e.name);
      setPathText(e.path);
    } else setPathText(e.path);
  };

  const activate = (e: DirEntry) => {
    if (e.is_dir) void load(e.path);
    else if (req.target === "file") choose(e.path);
  };

  /** OK or Enter in the path box: a folder typed there is opened (unless a folder is what
   *  is asked for); anything else is the answer. */
  const confirm = async () => {
    const text = pathText.trim();
    if (!text) return;
    if (req.target === "dir") {
      choose(text);
      return;
    }
    if (text !== dir) {
      try {
        const res = await call({ op: "list_dir", path: text, extensions: req.extensions });
        // It is a folder: go into it.
        setDir(res.path);
        setParent(res.parent);
        setEntries(res.entries);
        setSelected(null);
        setError(null);
        setPathText(saving ? joinPath(res.path, name, sep) : "");
        return;
      } catch {
        // Not a folder (a file, or a file not written yet): that is the answer.
      }
    }
    if (text === dir) return;
    choose(text);
  };

  const exists = saving && entries.some((e) => !e.is_dir && (e.path === pathText.trim() || (dir !== null && joinPath(dir, e.name, sep) === pathText.trim())));

  const onListKey = (e: React.KeyboardEvent) => {
    const i = visible.findIndex((x) => x.path === selected);
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const next = visible[Math.max(0, Math.min(visible.length - 1, i + (e.key === "ArrowDown" ? 1 : -1)))];
      if (next) {
        pick(next);
        listRef.current?.querySelector(`[data-path="${CSS.escape(next.path)}"]`)?.scrollIntoView({ block: "nearest" });
      }
    } else if (e.key === "Enter" && i >= 0) {
      e.preventDefault();
      activate(visible[i]);
    } else if (e.key === "Backspace" && parent) {
      e.preventDefault();
      void load(parent);
    }
  };

  const title = req.target === "dir" ? t("fileDialog.chooseFolder") : saving ? t("fileDialog.saveTitle") : t("fileDialog.openTitle");
  const isFlowDialog = req.extensions.some((x) => x.endsWith(".flow.json"));

  return (
    <Modal
      title={title}
      onClose={() => req.resolve(null)}
      width={640}
      testId="file-dialog"
      initialFocus={saving ? "[data-testid='file-dialog-name']" : ".file-dialog__list"}
      footer={
        <>
          {exists && <span className="file-dialog__warn">{t("fileDialog.willReplace")}</span>}
          <span className="modal__foot-spacer" />
          <button type="button" className="btn" onClick={() => req.resolve(null)}>
            {t("dialog.cancel")}
          </button>
          <button type="button" className="btn btn--primary" data-testid="file-dialog-ok" disabled={!pathText.trim()} onClick={() => void confirm()}>
            {saving ? t("fileDialog.save") : req.target === "dir" ? t("fileDialog.choose") : t("fileDialog.open")}
          </button>
        </>
      }
    >
      <div className="file-dialog">
        <div className="file-dialog__nav">
          <button type="button" className="icon-btn" disabled={!parent} onClick={() => parent && void load(parent)} title={t("fileDialog.up")} aria-label={t("fileDialog.up")}>
            <ArrowUp size={15} />
          </button>
          <nav className="crumbs" aria-label={t("fileDialog.location")}>
            {dir &&
              crumbs(dir, sep).map((c, i, all) => (
                <span key={c.path} className="crumbs__item">
                  <button type="button" className={`crumbs__btn${i === all.length - 1 ? " is-current" : ""}`} onClick={() => void load(c.path)}>
                    {c.name}
                  </button>
                  {i < all.length - 1 && c.name !== "/" && <span className="crumbs__sep">›</span>}
                </span>
              ))}
          </nav>
        </div>
        <ul className="file-dialog__list" ref={listRef} tabIndex={0} role="listbox" aria-label={t("fileDialog.entries")} onKeyDown={onListKey} data-testid="file-dialog-list">
          {loading && (
            <li className="file-dialog__state">
              <LoaderCircle size={14} className="spin" /> {t("toolbar.loading")}
            </li>
          )}
          {!loading && error && <li className="file-dialog__state file-dialog__state--error">{error}</li>}
          {!loading && !error && visible.length === 0 && <li className="file-dialog__state">{isFlowDialog ? t("fileDialog.noFlows") : t("fileDialog.empty")}</li>}
          {!loading &&
            visible.map((e) => {
              const Icon = e.is_dir ? Folder : e.name.endsWith(".flow.json") ? FileCode2 : File;
              return (
                <li
                  key={e.path}
                  data-path={e.path}
                  role="option"
                  aria-selected={selected === e.path}
                  className={`file-dialog__entry${selected === e.path ? " is-selected" : ""}${e.is_dir ? " is-dir" : ""}`}
                  data-testid="file-dialog-entry"
                  onClick={() => pick(e)}
                  onDoubleClick={() => activate(e)}
                >
                  <Icon size={15} className="file-dialog__icon" aria-hidden />
                  <span className="file-dialog__name">{e.name}</span>
                  <span className="file-dialog__size">{e.is_dir ? "" : formatSize(e.size)}</span>
                </li>
              );
            })}
        </ul>
        {saving && (
          <div className="field field--row">
            <label className="field__label" htmlFor="file-dialog-name">
              {t("fileDialog.fileName")}
            </label>
            <input
              id="file-dialog-name"
              className="input"
              data-testid="file-dialog-name"
              value={name}
              onChange={(e) => {
                setName(e.target.value);
                if (dir !== null) setPathText(joinPath(dir, e.target.value, sep));
              }}
              onKeyDown={(e) => e.key === "Enter" && void confirm()}
            />
          </div>
        )}
        <div className="field field--row">
          <label className="field__label" htmlFor="file-dialog-path">
            {t("fileDialog.path")}
          </label>
          <input
            id="file-dialog-path"
            className="input input--mono"
            data-testid="file-dialog-path"
            value={pathText}
            spellCheck={false}
            placeholder={t("fileDialog.pathPlaceholder")}
            onChange={(e) => {
              setPathText(e.target.value);
              if (saving) setName(baseName(e.target.value));
            }}
            onKeyDown={(e) => e.key === "Enter" && void confirm()}
          />
        </div>
      </div>
    </Modal>
  );
}

export function FileDialogHost() {
  const req = useDialogs((s) => s.fileDialog);
  return req ? <FileDialogView req={req} /> : null;
}
