import { describe, expect, it } from "vitest";
import { EditorState } from "@codemirror/state";
import { CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { rhaiCompletions } from "./completions";

const data = () => ({
  fields: [
    { name: "priority", type: "string" },
    { name: "first name", type: "string" },
  ],
  functions: ["emit"],
});

function complete(doc: string): CompletionResult | null {
  const state = EditorState.create({ doc });
  return rhaiCompletions(data)(new CompletionContext(state, doc.length, false)) as CompletionResult | null;
}

describe("Rhai completion", () => {
  it("offers input fields, the schema's functions and Rhai's own", () => {
    const result = complete("pri");
    expect(result?.from).toBe(0);
    const labels = result!.options.map((o) => o.label);
    expect(labels).toContain("priority");
    expect(labels).toContain("emit");
    expect(labels).toContain("to_upper");
    expect(result!.options.find((o) => o.label === "priority")?.detail).toBe("string");
    expect(result!.options.find((o) => o.label === "emit")?.apply).toBe("emit(");
    // A name Rhai cannot write bare goes in through the row map.
    expect(result!.options.find((o) => o.label === "first name")?.apply).toBe('row["first name"]');
  });

  it("offers fields as properties after `row.`", () => {
    const result = complete('x == row.pr');
    expect(result?.from).toBe(9);
    expect(result!.options.map((o) => o.label)).toEqual(["priority", "first name"]);
    expect(result!.options.every((o) => o.type === "property")).toBe(true);
  });

  it("stays quiet with no word typed unless asked", () => {
    expect(complete("x == ")).toBeNull();
  });
});
