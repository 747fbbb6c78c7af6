// Palette search: a kind matches when every word of the query is found in its title,
// kind name, keywords or description — in the UI language and in English, so "CSV",
// "读取" and "read" all find the CSV source. Title hits rank above keyword hits, which
// rank above description hits.

import type { CatalogKind } from "../api/generated";

export interface KindText {
  title: string;
  description: string;
  keywords: string[];
}

export function normalise(s: string): string {
  return s.toLowerCase().normalize("NFKC");
}

/** 0 = no match; higher = better. */
export function matchScore(kind: CatalogKind, local: KindText, query: string): number {
  const words = normalise(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return 1;
  const titles = [local.title, kind.title].map(normalise);
  const names = [kind.kind, kind.kind.replace(/_/g, " ")].map(normalise);
  const keywords = [...local.keywords, ...kind.keywords].map(normalise);
  const descriptions = [local.description, kind.description].map(normalise);
  let score = 0;
  for (const w of words) {
    let best = 0;
    if (titles.some((s) => s.startsWith(w))) best = 6;
    else if (titles.some((s) => s.includes(w)) || names.some((s) => s.includes(w))) best = 5;
    else if (keywords.some((s) => s.startsWith(w))) best = 4;
    else if (keywords.some((s) => s.includes(w))) best = 3;
    else if (descriptions.some((s) => s.includes(w))) best = 1;
    if (best === 0) return 0;
    score += best;
  }
  return score;
}
