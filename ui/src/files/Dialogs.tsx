// The unsaved-changes question and the error dialog for a flow that cannot be opened or
// saved (every diagnostic with its line:column), plus the file dialog and params editor.

import { AlertCircle, AlertTriangle } from "lucide-react";
import { useTranslation } from "react-i18next";
import { Modal } from "../lib/Modal";
import { useCatalogText } from "../i18n/catalog";
import { ParamsDialog } from "../params/ParamsDialog";
import { FileDialogHost } from "./FileDialog";
import { useDialogs } from "./dialogStore";

function ConfirmUnsaved() {
  const { t } = useTranslation("app");
  const req = useDialogs((s) => s.confirm);
  if (!req) return null;
  return (
    <Modal
      title={t("unsaved.title")}
      onClose={() => req.resolve("cancel")}
      width={420}
      testId="unsaved-dialog"
      initialFocus="[data-testid='unsaved-save']"
      footer={
        <>
          <button type="button" className="btn btn--danger-ghost" data-testid="unsaved-discard" onClick={() => req.resolve("discard")}>
            {t("unsaved.discard")}
          </button>
          <span className="modal__foot-spacer" />
          <button type="button" className="btn" data-testid="unsaved-cancel" onClick={() => req.resolve("cancel")}>
            {t("dialog.cancel")}
          </button>
          <button type="button" className="btn btn--primary" data-testid="unsaved-save" onClick={() => req.resolve("save")}>
            {t("unsaved.save")}
          </button>
        </>
      }
    >
      <p className="dialog-text">{t("unsaved.text")}</p>
    </Modal>
  );
}

function ErrorDialog() {
  const { t } = useTranslation("app");
  const text = useCatalogText();
  const req = useDialogs((s) => s.error);
  if (!req) return null;
  const close = () => useDialogs.setState({ error: null });
  return (
    <Modal
      title={t(req.titleKey)}
      onClose={close}
      width={600}
      testId="error-dialog"
      footer={
        <>
          <span className="modal__foot-spacer" />
          <button type="button" className="btn btn--primary" onClick={close}>
            {t("dialog.ok")}
          </button>
        </>
      }
    >
      {req.path && <div className="dialog-path">{req.path}</div>}
      <p className="dialog-text">{req.message}</p>
      {req.diagnostics.length > 0 && (
        <ul className="diag-list" data-testid="error-diagnostics">
          {req.diagnostics.map((d, i) => {
            const e = text.errorText(d);
            return (
              <li key={i} className={`diag-list__item diag-list__item--${d.severity}`}>
                {d.severity === "warning" ? <AlertTriangle size={14} aria-hidden /> : <AlertCircle size={14} aria-hidden />}
                <div>
                  <div className="diag-list__head">
                    {d.line !== undefined && d.line !== null && (
                      <span className="diag-list__loc" data-testid="diag-location">
                        {t("problems.lineColumn", { line: d.line, column: d.column ?? 1 })}
                      </span>
                    )}
                    <span className="diag-list__title">{e.title}</span>
                  </div>
                  <div className="diag-list__msg">{e.detail}</div>
                  {e.hint && <div className="diag-list__hint">{e.hint}</div>}
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </Modal>
  );
}

export function DialogHost() {
  const paramsOpen = useDialogs((s) => s.paramsOpen);
  return (
    <>
      <FileDialogHost />
      <ConfirmUnsaved />
      <ErrorDialog />
      {paramsOpen && <ParamsDialog />}
    </>
  );
}
