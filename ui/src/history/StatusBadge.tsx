// A run's outcome as a coloured badge: the same in the list and in the summary.

import { CheckCircle2, CircleSlash, XCircle } from "lucide-react";
import { useTranslation } from "react-i18next";
import type { RunStatus } from "../api/generated";

const ICONS: Record<RunStatus, typeof CheckCircle2> = { succeeded: CheckCircle2, failed: XCircle, cancelled: CircleSlash };

export function StatusBadge({ status }: { status: RunStatus }) {
  const { t } = useTranslation("history");
  const Icon = ICONS[status];
  return (
    <span className={`hist-status hist-status--${status}`} data-status={status}>
      <Icon size={12} aria-hidden />
      {t(`status.${status}`)}
    </span>
  );
}
