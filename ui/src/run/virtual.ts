// Virtualised lists for the logs and the preview: only the rows in view are in the DOM,
// so ten thousand rows scroll like ten.

import { observeElementRect, useVirtualizer, type Rect, type Virtualizer } from "@tanstack/react-virtual";
import type { RefObject } from "react";

/** A panel that has no size yet (not laid out, or a test's DOM without layout) is taken to
 *  be this big, so its first rows render rather than none. */
const FALLBACK_RECT: Rect = { width: 800, height: 400 };

function observeWithFallback(instance: Virtualizer<HTMLDivElement, Element>, cb: (rect: Rect) => void) {
  return observeElementRect(instance, (rect) => cb(rect.height > 0 ? rect : FALLBACK_RECT));
}

export function useVirtualRows(count: number, rowHeight: number, scrollRef: RefObject<HTMLDivElement | null>) {
  return useVirtualizer<HTMLDivElement, Element>({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => rowHeight,
    overscan: 12,
    initialRect: FALLBACK_RECT,
    observeElementRect: observeWithFallback,
  });
}
