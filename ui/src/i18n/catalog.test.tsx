// Every node kind, port and config field of the engine's catalog has its texts in both
// languages, and the lookup functions find them the way the palette and the form ask.
import { act, cleanup, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import catalogResponse from "../api/generated/catalog.json";
import { catalogKinds, configPaths, deriveCatalogMessages } from "../../scripts/catalog-messages-lib.mjs";
import type { CatalogMessages } from "../../scripts/catalog-messages-lib.mjs";
import i18n, { resources, setLanguage } from "./index";
import {
  appErrorText,
  categoryLabel,
  errorText,
  fieldHelp,
  fieldLabel,
  kindDescription,
  kindKeywords,
  kindTitle,
  optionDescription,
  portDescription,
  portLabel,
  schemaPath,
  severityLabel,
  useCatalogText,
} from "./catalog";

const kinds = catalogKinds(catalogResponse);
const messages = { en: resources.en.catalog as CatalogMessages, "zh-CN": resources["zh-CN"].catalog as CatalogMessages };

describe("coverage of the engine catalog", () => {
  test("the catalog has the kinds the designer is built around", () => {
    // Guards against an empty or misread catalog making every check below vacuous.
    expect(kinds.length).toBeGreaterThanOrEqual(25);
    expect(kinds.map((k) => k.kind)).toEqual(expect.arrayContaining(["csv_source", "filter", "map_fields", "mask", "route", "sql_sink"]));
  });

  test("en/catalog.json is what scripts/catalog-messages.mjs derives from the catalog", () => {
    // A stale file means a kind or field changed in the engine: run
    // `node scripts/catalog-messages.mjs` in ui/, then translate what it reports for zh-CN.
    expect(messages.en, "en/catalog.json is stale: run node scripts/catalog-messages.mjs").toEqual(deriveCatalogMessages(catalogResponse));
  });

  test.each(["en", "zh-CN"] as const)("%s: every kind has a title, a description and port texts", (lang) => {
    const problems: string[] = [];
    for (const k of kinds) {
      const m = messages[lang].kinds[k.kind];
      if (!m?.title?.trim()) problems.push(`${k.kind}: no title`);
      if (!m?.description?.trim()) problems.push(`${k.kind}: no description`);
      for (const p of [...(k.ports?.inputs ?? []), ...(k.ports?.outputs ?? [])]) {
        if (!m?.ports?.[p.name]?.trim()) problems.push(`${k.kind}: no text for port ${p.name}`);
        if (!messages[lang].ports[p.name]?.trim()) problems.push(`no label for port ${p.name}`);
      }
      if (!messages[lang].categories[k.category]?.trim()) problems.push(`no name for category ${k.category}`);
    }
    expect(problems, problems.join("\n")).toEqual([]);
  });

  test.each(["en", "zh-CN"] as const)("%s: every config property path has a label", (lang) => {
    const problems: string[] = [];
    let paths = 0;
    for (const k of kinds) {
      for (const path of configPaths(k.config_schema ?? {})) {
        paths++;
        if (!messages[lang].kinds[k.kind]?.fields?.[path]?.label?.trim()) problems.push(`${k.kind}: ${path}`);
      }
    }
    expect(paths).toBeGreaterThan(100);
    expect(problems, `fields without a label:\n${problems.join("\n")}`).toEqual([]);
  });

  test("paths follow the form's notation: lists [], maps {}, variants by tag", () => {
    const byKind = Object.fromEntries(kinds.map((k) => [k.kind, configPaths(k.config_schema ?? {})]));
    expect(byKind.route).toEqual(expect.arrayContaining(["rules", "rules.[].name", "rules.[].condition", "mode"]));
    expect(byKind.cleanse).toContain("steps.[].ops.[].regex_replace.pattern");
    expect(byKind.sql_source).toEqual(expect.arrayContaining(["incremental.column", "partition.count"]));
  });
});

describe("lookups", () => {
  beforeEach(async () => {
    await setLanguage("zh-CN");
  });
  afterEach(() => {
    cleanup();
    localStorage.clear();
  });

  test("kind texts", async () => {
    expect(kindTitle("csv_source", "Read CSV")).toBe("CSV 源");
    expect(kindTitle("map_fields", "Map fields")).toBe("字段映射");
    expect(kindDescription("filter", "x")).toMatch(/\p{Script=Han}/u);
    expect(kindKeywords("dedupe")).toContain("去重");
    expect(kindTitle("not_a_kind", "Engine title")).toBe("Engine title");
    await setLanguage("en");
    expect(kindTitle("csv_source", "x")).toBe("Read CSV");
    expect(kindKeywords("dedupe")).toContain("distinct");
  });

  test("field labels and help, with indices in any notation", () => {
    for (const path of ["rules.[].condition", "rules.0.condition", "rules[3].condition", "rules/12/condition", "/rules/1/condition"]) {
      expect(fieldLabel("route", path, "fallback"), path).toBe("条件");
    }
    expect(fieldHelp("route", "rules.2.condition", "x")).toContain("`priority == \"urgent\"`");
    expect(fieldLabel("sql_sink", "key", "Key")).toBe("主键字段");
    expect(fieldLabel("mask", "fields.0.key", "Key")).toBe("密钥");
    expect(fieldLabel("cleanse", "steps.0.ops.1.regex_replace.pattern", "x")).toBe("正则表达式");
    expect(fieldLabel("route", "no_such_field", "As in schema")).toBe("As in schema");
  });

  test("map values and enum options", () => {
    expect(schemaPath("csv_source", "types.phone", "options")).toBe("types.{}");
    expect(schemaPath("csv_source", "types", "fields")).toBe("types");
    expect(optionDescription("csv_source", "types.phone", "date", "x")).toBe("日历日期，不含时间。");
    expect(optionDescription("csv_source", "encoding", "gbk", "x")).toContain("GBK");
    expect(optionDescription("csv_source", "encoding", "gbk", "x")).toMatch(/简体中文/);
    expect(optionDescription("cleanse", "steps.0.ops.2", "halfwidth", "x")).toContain("全角");
    expect(optionDescription("csv_source", "encoding", "ebcdic", "EBCDIC")).toBe("EBCDIC");
  });

  test("ports: declared ones translated, rule-named ones as the user wrote them", () => {
    expect(portLabel("filter", "out", "out")).toBe("输出");
    expect(portLabel("filter", "rejected", "rejected")).toBe("未通过");
    expect(portLabel("route", "default", "default")).toBe("默认");
    expect(portLabel("route", "urgent", "urgent")).toBe("urgent");
    expect(portLabel("route", "out", "out")).toBe("out");
    expect(portDescription("join", "right", "x")).toContain("内存");
  });

  test("categories", () => {
    expect(categoryLabel("source")).toBe("数据源");
    expect(categoryLabel("transform")).toBe("转换");
    expect(categoryLabel("sink")).toBe("数据目标");
    expect(categoryLabel("other")).toBe("Other");
  });

  test("diagnostics: translated title and help, the engine's message as it is", () => {
    const message = "the flow loops back on itself: a → b → a";
    expect(errorText({ code: "cycle", message, severity: "error", hint: "remove one edge" })).toEqual({
      title: "流程中存在循环",
      detail: message,
      help: "数据只能单向流动：请删除循环中的某条连线。",
      hint: "remove one edge",
    });
    expect(errorText({ code: "some_new_code", message: "m" })).toEqual({
      title: "问题（some_new_code）",
      detail: "m",
      help: expect.stringMatching(/\p{Script=Han}/u),
    });
    expect(appErrorText({ kind: "not_found", message: "no file x" })).toEqual({ title: "未找到", detail: "no file x" });
    expect(severityLabel("warning")).toBe("警告");
  });

  test("useCatalogText re-renders in the new language", async () => {
    function Title() {
      const c = useCatalogText();
      return (
        <span data-testid="t">
          {c.kindTitle("filter", "Filter rows")}|{c.fieldLabel("filter", "condition", "Condition")}|{c.categoryLabel("transform")}
        </span>
      );
    }
    render(<Title />);
    expect(screen.getByTestId("t").textContent).toBe("过滤|条件|转换");
    await act(async () => {
      await setLanguage("en");
    });
    expect(screen.getByTestId("t").textContent).toBe("Filter rows|Condition|Transforms");
    expect(i18n.language).toBe("en");
  });
});
