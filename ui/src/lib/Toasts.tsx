import { AlertCircle, AlertTriangle, CheckCircle2, Info, X } from "lucide-react";
import { useTranslation } from "react-i18next";
import { dismissToast, useToasts } from "./toast";

const ICONS = { info: Info, success: CheckCircle2, warning: AlertTriangle, error: AlertCircle };

export function Toasts() {
  const { t } = useTranslation("app");
  const toasts = useToasts((s) => s.toasts);
  return (
    <div className="toasts" role="status" aria-live="polite">
      {toasts.map((x) => {
        const Icon = ICONS[x.kind];
        return (
          <div key={x.id} className={`toast toast--${x.kind}`} data-testid="toast">
            <Icon size={15} aria-hidden />
            <span className="toast__text">{x.text}</span>
            <button type="button" className="icon-btn icon-btn--sm" onClick={() => dismissToast(x.id)} aria-label={t("dialog.close")} title={t("dialog.close")}>
              <X size={13} />
            </button>
          </div>
        );
      })}
    </div>
  );
}
