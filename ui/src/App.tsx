// The designer window: toolbar on top, palette left, canvas centre with the bottom panel
// (Problems, Logs, Preview, History) under it, properties right. At start it asks the
// engine for its facts and the catalog, then opens the flow named on the command line or
// starts a new one; from then on every change is checked in the background, and run events
// are followed (attaching to a run of the open flow already in progress).

import { useEffect, useRef, useState } from "react";
import { ReactFlowProvider } from "@xyflow/react";
import { LoaderCircle, PlugZap } from "lucide-react";
import { useTranslation } from "react-i18next";
import "@xyflow/react/dist/style.css";
import "./styles/app.css";
import { initTransport, isTauri, toAppError, transportMode } from "./api/client";
import { Canvas } from "./canvas/Canvas";
import { installClipboard } from "./canvas/clipboard";
import { confirmDiscard, openFlow, startUp } from "./files/actions";
import { DialogHost } from "./files/Dialogs";
import { useShortcuts } from "./hooks/useShortcuts";
import { buildLargeFlow } from "./lib/devFlow";
import { Toasts } from "./lib/Toasts";
import { Palette } from "./palette/Palette";
import { PropertiesPanel } from "./panels/PropertiesPanel";
import { BottomPanel } from "./run/BottomPanel";
import { RunDialogs } from "./run/RunDialogs";
import { askStopOnClose } from "./run/runDialogs";
import { useRun } from "./run/runStore";
import { connectRunEvents, isRunActive, stopRunAndWait } from "./run/session";
import { startChecking } from "./store/checker";
import { useFlow } from "./store/flowStore";
import { Toolbar } from "./toolbar/Toolbar";

type StartState = { phase: "loading" } | { phase: "ready" } | { phase: "failed"; kind: string; message: string };

/** Hooks for the end-to-end tests and for poking at the editor from the console. */
function exposeForTests() {
  (window as unknown as { __sluice?: unknown }).__sluice = {
    store: useFlow,
    run: useRun,
    loadLargeFlow: (count = 300) => useFlow.getState().load(buildLargeFlow(count, useFlow.getState().catalog), null),
    openFlow,
  };
}

function useUnsavedGuard() {
  useEffect(() => {
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      if (!useFlow.getState().dirty) return;
      e.preventDefault();
      // Older engines show the prompt only when returnValue is set.
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    if (!isTauri()) return () => window.removeEventListener("beforeunload", onBeforeUnload);

    // The desktop window's close button asks as well; closing then goes through destroy(),
    // which does not fire the close request again. A run in progress would die with the
    // window, so it is stopped first (its sinks discard their partial output and the
    // history records it), if the user agrees. In a browser the run goes on in
    // `sluice serve`, so a page closing needs no question about it.
    let unlisten: (() => void) | null = null;
    let cancelled = false;
    void import("@tauri-apps/api/window").then(async ({ getCurrentWindow }) => {
      const win = getCurrentWindow();
      const off = await win.onCloseRequested(async (event) => {
        const running = isRunActive();
        if (!running && !useFlow.getState().dirty) return;
        event.preventDefault();
        if (running) {
          if (!(await askStopOnClose())) return;
          await stopRunAndWait();
        }
        if (await confirmDiscard()) await win.destroy();
      });
      if (cancelled) off();
      else unlisten = off;
    });
    return () => {
      cancelled = true;
      unlisten?.();
      window.removeEventListener("beforeunload", onBeforeUnload);
    };
  }, []);
}

function Designer() {
  const { t } = useTranslation("app");
  const [start, setStart] = useState<StartState>({ phase: "loading" });
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    initTransport();
    exposeForTests();
    startUp().then(
      () => setStart({ phase: "ready" }),
      (e) => {
        const err = toAppError(e);
        setStart({ phase: "failed", kind: err.kind, message: err.message });
      },
    );
  }, []);

  useEffect(() => {
    if (start.phase !== "ready") return;
    const checker = startChecking();
    void checker.checkNow();
    return () => checker.stop();
  }, [start.phase]);

  useEffect(() => {
    if (start.phase !== "ready") return;
    return connectRunEvents();
  }, [start.phase]);

  useEffect(() => installClipboard(), []);
  useShortcuts();
  useUnsavedGuard();

  if (start.phase === "failed") {
    return (
      <div className="startup startup--failed" data-testid="startup-error">
        <PlugZap size={28} aria-hidden />
        <h1>{t("startup.failedTitle")}</h1>
        <p className="startup__message">{start.message}</p>
        <p className="startup__hint">{start.kind === "unauthorized" ? t("startup.tokenHint") : transportMode() === "browser" ? t("startup.serveHint") : t("startup.desktopHint")}</p>
        <button type="button" className="btn btn--primary" onClick={() => window.location.reload()}>
          {t("startup.retry")}
        </button>
      </div>
    );
  }

  const loading = start.phase === "loading";
  return (
    <div className="app" data-testid="app-root" data-ready={loading ? "false" : "true"}>
      <Toolbar />
      <div className="app__body">
        <Palette />
        <main className="app__centre">
          <Canvas />
          <BottomPanel />
        </main>
        <PropertiesPanel />
      </div>
      {loading && (
        <div className="startup startup--loading" data-testid="startup-loading">
          <LoaderCircle size={22} className="spin" aria-hidden />
          <span>{t("startup.loading")}</span>
        </div>
      )}
      <DialogHost />
      <RunDialogs />
      <Toasts />
    </div>
  );
}

export function App() {
  return (
    <ReactFlowProvider>
      <Designer />
    </ReactFlowProvider>
  );
}
