// A modal dialog: backdrop, title bar, body and footer; Escape and the close button
// cancel; focus moves into the dialog when it opens, stays inside while Tab cycles, and
// returns to where it was when it closes.

import { useEffect, useRef, type ReactNode } from "react";
import { createPortal } from "react-dom";
import { X } from "lucide-react";
import { useTranslation } from "react-i18next";

export interface ModalProps {
  title: ReactNode;
  onClose(): void;
  children: ReactNode;
  footer?: ReactNode;
  width?: number;
  testId?: string;
  /** Element (selector inside the dialog) focused on open; the first field otherwise. */
  initialFocus?: string;
}

const FOCUSABLE = "button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

export function Modal({ title, onClose, children, footer, width = 480, testId, initialFocus }: ModalProps) {
  const { t } = useTranslation("app");
  const ref = useRef<HTMLDivElement>(null);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const el = ref.current;
    const first =
      (initialFocus && el?.querySelector<HTMLElement>(initialFocus)) ||
      el?.querySelector<HTMLElement>(".modal__body input, .modal__body select, .modal__body textarea") ||
      el?.querySelector<HTMLElement>(".modal__foot button") ||
      el?.querySelector<HTMLElement>(FOCUSABLE);
    first?.focus();
    return () => before?.focus?.();
  }, [initialFocus]);

  const onKeyDown = (e: React.KeyboardEvent) => {
    // Keys inside a dialog never reach the canvas shortcuts.
    e.stopPropagation();
    if (e.key === "Escape") {
      e.preventDefault();
      onCloseRef.current();
    } else if (e.key === "Tab" && ref.current) {
      const items = [...ref.current.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((x) => x.offsetParent !== null || x === document.activeElement);
      if (items.length === 0) return;
      const first = items[0];
      const last = items[items.length - 1];
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    }
  };

  return createPortal(
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onCloseRef.current()}>
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="modal-title" style={{ width }} ref={ref} data-testid={testId} onKeyDown={onKeyDown}>
        <div className="modal__head">
          <h2 id="modal-title" className="modal__title">
            {title}
          </h2>
          <button type="button" className="icon-btn icon-btn--sm" onClick={() => onCloseRef.current()} aria-label={t("dialog.close")} title={t("dialog.close")}>
            <X size={15} />
          </button>
        </div>
        <div className="modal__body">{children}</div>
        {footer && <div className="modal__foot">{footer}</div>}
      </div>
    </div>,
    document.body,
  );
}
