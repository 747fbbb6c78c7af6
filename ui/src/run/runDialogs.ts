// The questions running asks, from outside React: the params a run needs, and whether to
// stop a run when the window closes. Each request holds its promise's resolve; <RunDialogs>
// renders whichever is open.

import { create } from "zustand";
import type { ParamSpec } from "../api/generated";

export interface ParamsRequest {
  /** What the values are for: the dialog's wording differs. */
  purpose: "run" | "preview";
  params: ParamSpec[];
  /** Values entered last time, by name. */
  values: Record<string, string>;
  resolve(values: Record<string, string> | null): void;
}

export interface StopOnCloseRequest {
  resolve(stop: boolean): void;
}

interface RunDialogState {
  params: ParamsRequest | null;
  stopOnClose: StopOnCloseRequest | null;
}

export const useRunDialogs = create<RunDialogState>()(() => ({ params: null, stopOnClose: null }));

export function askParams(purpose: ParamsRequest["purpose"], params: ParamSpec[], values: Record<string, string>): Promise<Record<string, string> | null> {
  return new Promise((resolve) => {
    useRunDialogs.getState().params?.resolve(null);
    useRunDialogs.setState({
      params: {
        purpose,
        params,
        values,
        resolve: (v) => {
          useRunDialogs.setState({ params: null });
          resolve(v);
        },
      },
    });
  });
}

export function askStopOnClose(): Promise<boolean> {
  return new Promise((resolve) => {
    useRunDialogs.getState().stopOnClose?.resolve(false);
    useRunDialogs.setState({
      stopOnClose: {
        resolve: (stop) => {
          useRunDialogs.setState({ stopOnClose: null });
          resolve(stop);
        },
      },
    });
  });
}

export function anyRunDialogOpen(): boolean {
  const s = useRunDialogs.getState();
  return s.params !== null || s.stopOnClose !== null;
}
