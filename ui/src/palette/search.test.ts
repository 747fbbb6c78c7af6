import { beforeAll, describe, expect, it } from "vitest";
import catalogDoc from "../api/generated/catalog.json";
import type { CatalogKind } from "../api/generated";
import i18n from "../i18n";
import { kindDescription, kindKeywords, kindTitle } from "../i18n/catalog";
import { matchScore } from "./search";

const catalog = (catalogDoc as unknown as { kinds: CatalogKind[] }).kinds;

function search(query: string): string[] {
  return catalog
    .map((k) => ({ k, score: matchScore(k, { title: kindTitle(k.kind, k.title), description: kindDescription(k.kind, k.description), keywords: kindKeywords(k.kind) }, query) }))
    .filter((x) => x.score > 0)
    .sort((a, b) => b.score - a.score)
    .map((x) => x.k.kind);
}

describe("palette search", () => {
  beforeAll(async () => {
    await i18n.changeLanguage("zh-CN");
  });

  it("finds kinds by their title in the UI language and in English", () => {
    expect(search("csv")).toEqual(expect.arrayContaining(["csv_source", "csv_sink"]));
    expect(search("Read CSV")[0]).toBe("csv_source");
    expect(search("过滤")).toContain("filter");
  });

  it("finds kinds by kind name, keyword and description, best match first", () => {
    expect(search("json_flatten")).toEqual(["json_flatten"]);
    expect(search("dedupe")[0]).toBe("dedupe");
    expect(search("zzzz-no-such-thing")).toEqual([]);
  });

  it("needs every word of the query to match", () => {
    const both = search("csv write");
    expect(both).toContain("csv_sink");
    expect(both).not.toContain("csv_source");
  });

  it("lists everything for an empty query", () => {
    expect(search("")).toHaveLength(catalog.length);
  });
});
