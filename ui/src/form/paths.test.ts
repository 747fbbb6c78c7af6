import { describe, expect, it } from "vitest";
import { collectPaths, indexDiagnostics, normaliseDiagnosticField } from "./paths";
import { schemaToForm } from "./schemaToForm";
import { kind } from "./test/catalog";

describe("diagnostic paths", () => {
  it("normalises the forms the engine and the app use", () => {
    expect(normaliseDiagnosticField("fields/2/name")).toBe("fields.2.name");
    expect(normaliseDiagnosticField("/rules/0/condition")).toBe("rules.0.condition");
    expect(normaliseDiagnosticField("config/path")).toBe("path");
    expect(normaliseDiagnosticField("/config/rules/1/name")).toBe("rules.1.name");
    expect(normaliseDiagnosticField("nodes/3/config/delimiter")).toBe("delimiter");
    expect(normaliseDiagnosticField("rules[0].condition")).toBe("rules.0.condition");
    expect(normaliseDiagnosticField("a~1b")).toBe("a/b");
  });

  it("places a diagnostic at the field shown, or the nearest shown ancestor, or in general", () => {
    const spec = schemaToForm(kind("route").config_schema);
    const shown = collectPaths(spec, { rules: [{ name: "a", condition: "x" }] }, [], new Set());
    expect([...shown].sort()).toEqual(["mode", "rules", "rules.0", "rules.0.condition", "rules.0.name"]);
    const d = (field?: string) => ({ severity: "error", code: "c", message: field ?? "none", field });
    const index = indexDiagnostics([d("/rules/0/condition"), d("rules/0/condition/extra"), d("rules/5/name"), d("nonsense"), d()], shown);
    expect(index.byPath.get("rules.0.condition")?.map((x) => x.message)).toEqual(["/rules/0/condition", "rules/0/condition/extra"]);
    expect(index.byPath.get("rules")?.map((x) => x.message)).toEqual(["rules/5/name"]);
    expect(index.general.map((x) => x.message)).toEqual(["nonsense", "none"]);
  });
});
