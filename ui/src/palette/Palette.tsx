// The node palette: every kind in the catalog, grouped as sources, transforms and sinks,
// with a search box. Drag a kind onto the canvas, or double-click (or press Enter on) it to
// add it in the middle of the view.

import { memo, useMemo, useState } from "react";
import { ChevronDown, Search, StickyNote, X } from "lucide-react";
import { useTranslation } from "react-i18next";
import type { CatalogKind } from "../api/generated";
import { KIND_MIME } from "../canvas/Canvas";
import { kindIcon } from "../canvas/icons";
import { useCatalogText } from "../i18n/catalog";
import { useEditorCommands } from "../hooks/useEditorCommands";
import { useFlow } from "../store/flowStore";
import { matchScore } from "./search";

const CATEGORIES = ["source", "transform", "sink"] as const;

interface ItemProps {
  kind: CatalogKind;
  title: string;
  description: string;
  onAdd(kind: string): void;
}

const PaletteItem = memo(function PaletteItem({ kind, title, description, onAdd }: ItemProps) {
  const { t } = useTranslation("app");
  const Icon = kindIcon(kind.icon, kind.category);
  return (
    <li
      className={`palette__item palette__item--${kind.category}`}
      data-testid={`palette-item-${kind.kind}`}
      draggable
      tabIndex={0}
      role="button"
      title={t("palette.itemHint")}
      aria-label={title}
      onDragStart={(e) => {
        e.dataTransfer.setData(KIND_MIME, kind.kind);
        e.dataTransfer.setData("text/plain", kind.kind);
        e.dataTransfer.effectAllowed = "copy";
      }}
      onDoubleClick={() => onAdd(kind.kind)}
      onKeyDown={(e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          onAdd(kind.kind);
        }
      }}
    >
      <span className="palette__icon" aria-hidden>
        <Icon size={16} />
      </span>
      <span className="palette__text">
        <span className="palette__title">{title}</span>
        <span className="palette__desc">{description}</span>
      </span>
    </li>
  );
});

/** The first sentence, without the backticks of `code` runs: a one-line summary. */
function firstSentence(text: string): string {
  const m = /^(.+?[.。!！?？])(\s|$)/s.exec(text.trim());
  return (m ? m[1] : text).trim().replace(/`/g, "");
}

export function Palette() {
  const { t } = useTranslation("app");
  const text = useCatalogText();
  const catalog = useFlow((s) => s.catalog);
  const { addAtCentre, addNoteAtCentre } = useEditorCommands();
  const [query, setQuery] = useState("");
  const [collapsed, setCollapsed] = useState<Record<string, boolean>>({});

  const groups = useMemo(() => {
    const items = catalog.map((k) => {
      const local = {
        title: text.kindTitle(k.kind, k.title),
        description: text.kindDescription(k.kind, k.description),
        keywords: text.kindKeywords(k.kind),
      };
      return { kind: k, local, score: matchScore(k, local, query) };
    });
    return CATEGORIES.map((category) => ({
      category,
      items: items
        .filter((i) => i.kind.category === category && i.score > 0)
        .sort((a, b) => (query ? b.score - a.score : 0) || a.local.title.localeCompare(b.local.title, text.language)),
    }));
  }, [catalog, query, text]);

  const total = groups.reduce((n, g) => n + g.items.length, 0);

  return (
    <aside className="palette" aria-label={t("palette.label")} data-testid="palette">
      <div className="palette__search">
        <Search size={14} className="palette__search-icon" aria-hidden />
        <input
          type="search"
          value={query}
          placeholder={t("palette.search")}
          aria-label={t("palette.search")}
          data-testid="palette-search"
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Escape") setQuery("");
          }}
        />
        {query && (
          <button type="button" className="icon-btn icon-btn--sm" aria-label={t("palette.clear")} title={t("palette.clear")} onClick={() => setQuery("")}>
            <X size={13} />
          </button>
        )}
      </div>
      <div className="palette__list">
        {groups.map(
          (g) =>
            g.items.length > 0 && (
              <section key={g.category} className="palette__group" data-testid={`palette-group-${g.category}`}>
                <button
                  type="button"
                  className={`palette__group-head${collapsed[g.category] && !query ? " is-collapsed" : ""}`}
                  aria-expanded={!collapsed[g.category] || !!query}
                  onClick={() => setCollapsed((c) => ({ ...c, [g.category]: !c[g.category] }))}
                >
                  <ChevronDown size={13} className="palette__chevron" aria-hidden />
                  <span>{text.categoryLabel(g.category)}</span>
                  <span className="palette__count">{g.items.length}</span>
                </button>
                {(!collapsed[g.category] || query) && (
                  <ul className="palette__items">
                    {g.items.map((i) => (
                      <PaletteItem key={i.kind.kind} kind={i.kind} title={i.local.title} description={firstSentence(i.local.description)} onAdd={addAtCentre} />
                    ))}
                  </ul>
                )}
              </section>
            ),
        )}
        {total === 0 && <p className="palette__none">{t("palette.noMatch", { query })}</p>}
      </div>
      <div className="palette__foot">
        <button type="button" className="btn btn--ghost btn--block" data-testid="btn-add-note" onClick={() => addNoteAtCentre()}>
          <StickyNote size={14} aria-hidden />
          <span>{t("palette.addNote")}</span>
        </button>
      </div>
    </aside>
  );
}
