// How run numbers read: counts, rates, durations and progress, in the UI's language.

import { currentLanguage } from "../i18n";
import type { NodeRun } from "./fold";

const formatters = new Map<string, Intl.NumberFormat>();

function formatter(key: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const id = `${currentLanguage()}|${key}`;
  let f = formatters.get(id);
  if (!f) {
    f = new Intl.NumberFormat(currentLanguage(), options);
    formatters.set(id, f);
  }
  return f;
}

/** A count in full with group separators: 1,234,567. */
export function formatCount(n: number): string {
  return formatter("count", { maximumFractionDigits: 0 }).format(n);
}

/** A count short enough for a node or an edge label: 999, 12.3K, 4.5M (万 in Chinese). */
export function formatCompact(n: number): string {
  if (n < 1000) return String(Math.round(n));
  return formatter("compact", { notation: "compact", maximumFractionDigits: 1 }).format(n);
}

/** Rows per second, short. */
export function formatRate(perSec: number): string {
  if (!Number.isFinite(perSec) || perSec <= 0) return "0";
  if (perSec < 10) return formatter("rate-small", { maximumFractionDigits: 1 }).format(perSec);
  return formatCompact(perSec);
}

/** A duration as m:ss (or h:mm:ss), or seconds with a tenth under a minute: 4.2 s → "4.2". */
export function formatDuration(ms: number): { value: string; unit: "s" | "clock" } {
  if (ms < 60_000) return { value: (Math.max(0, ms) / 1000).toFixed(1), unit: "s" };
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (x: number) => String(x).padStart(2, "0");
  return { value: h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`, unit: "clock" };
}

/** How far a source has read, 0..1, when the size of its input is known. */
export function progressOf(n: NodeRun): number | null {
  if (!n.totalBytes || n.totalBytes <= 0) return null;
  if (n.state === "done") return 1;
  return Math.min(1, Math.max(0, n.bytes / n.totalBytes));
}

/** Wall-clock time of a log entry, HH:MM:SS. */
export function formatClock(at: number): string {
  const d = new Date(at);
  const pad = (x: number) => String(x).padStart(2, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
