// Short-lived notices (saved, a refused connection). Not for errors that need reading:
// those get a dialog.

import { create } from "zustand";

export interface Toast {
  id: number;
  kind: "info" | "success" | "warning" | "error";
  text: string;
}

interface ToastState {
  toasts: Toast[];
}

export const useToasts = create<ToastState>()(() => ({ toasts: [] }));

let nextId = 1;
const TOAST_MS = 3500;

export function toast(t: Omit<Toast, "id">, ms = TOAST_MS): number {
  const id = nextId++;
  // The same text twice in a row (a refused connection tried again) shows once.
  const others = useToasts.getState().toasts.filter((x) => x.text !== t.text);
  useToasts.setState({ toasts: [...others.slice(-3), { ...t, id }] });
  setTimeout(() => dismissToast(id), ms);
  return id;
}

export function dismissToast(id: number): void {
  useToasts.setState((s) => ({ toasts: s.toasts.filter((x) => x.id !== id) }));
}
