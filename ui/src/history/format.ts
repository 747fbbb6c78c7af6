// How the history shows times, durations and counts, in the UI's language: one place, so
// the list, the summary and the tests agree.

import { useMemo } from "react";
import { useTranslation } from "react-i18next";

export interface HistoryFormat {
  /** A run's start or end time (RFC 3339) as a local date and time. */
  time(iso: string): string;
  duration(ms: number): string;
  count(n: number): string;
}

export function useHistoryFormat(): HistoryFormat {
  const { t, i18n } = useTranslation("history");
  const lang = i18n.resolvedLanguage ?? i18n.language ?? "en";
  return useMemo(() => {
    const dateTime = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium" });
    const numbers = new Intl.NumberFormat(lang);
    const oneDecimal = new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    return {
      time(iso) {
        const d = new Date(iso);
        // A time the engine wrote but this browser cannot read is shown as written.
        return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
      },
      duration(ms) {
        if (ms < 1000) return t("duration.ms", { value: numbers.format(ms) });
        if (ms < 60_000) return t("duration.seconds", { value: oneDecimal.format(ms / 1000) });
        const minutes = Math.floor(ms / 60_000);
        const seconds = Math.round((ms % 60_000) / 1000);
        return t("duration.minutes", { minutes: numbers.format(minutes), seconds: numbers.format(seconds) });
      },
      count(n) {
        return numbers.format(n);
      },
    };
  }, [lang, t]);
}

/** A failed row's value as a table cell: text as is, nested JSON as JSON, null empty. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}
