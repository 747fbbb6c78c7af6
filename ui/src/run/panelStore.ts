// Which tab of the bottom panel shows, and whether the panel is open. UI state only.

import { create } from "zustand";

export const BOTTOM_TABS = ["problems", "logs", "preview", "history"] as const;
export type BottomTab = (typeof BOTTOM_TABS)[number];

interface BottomPanelState {
  tab: BottomTab;
  open: boolean;
  /** Height of the open panel in pixels (the user drags its top edge). */
  height: number;
}

export const DEFAULT_PANEL_HEIGHT = 220;
export const MIN_PANEL_HEIGHT = 120;

export const useBottomPanel = create<BottomPanelState>()(() => ({ tab: "problems", open: true, height: DEFAULT_PANEL_HEIGHT }));

/** Opens the panel on `tab`. */
export function showBottomTab(tab: BottomTab): void {
  useBottomPanel.setState({ tab, open: true });
}

export function resetBottomPanel(): void {
  useBottomPanel.setState({ tab: "problems", open: true, height: DEFAULT_PANEL_HEIGHT });
}
