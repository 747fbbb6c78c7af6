import { describe, expect, it } from "vitest";
import { StringStream } from "@codemirror/language";
import { rhaiParser } from "./rhai";

/** Tokens of some lines as [text, style] pairs, whitespace left out. */
function tokens(...lines: string[]): Array<[string, string | null]> {
  const state = rhaiParser.startState!(2);
  const out: Array<[string, string | null]> = [];
  for (const line of lines) {
    const stream = new StringStream(line, 2, 2);
    while (!stream.eol()) {
      const style = rhaiParser.token(stream, state);
      const text = stream.current();
      if (text.trim()) out.push([text, style]);
      stream.start = stream.pos;
    }
  }
  return out;
}

describe("Rhai tokenizer", () => {
  it("tells keywords, names, calls, numbers, strings and operators apart", () => {
    expect(tokens('if priority == "urgent" && len(note) > 0x1F { row } else { () }')).toEqual([
      ["if", "keyword"],
      ["priority", "variableName"],
      ["==", "operator"],
      ['"urgent"', "string"],
      ["&&", "operator"],
      ["len", "variableName.function"],
      ["(", "paren"],
      ["note", "variableName"],
      [")", "paren"],
      [">", "operator"],
      ["0x1F", "number"],
      ["{", "brace"],
      ["row", "variableName.special"],
      ["}", "brace"],
      ["else", "keyword"],
      ["{", "brace"],
      ["()", "atom"],
      ["}", "brace"],
    ]);
  });

  it("reads properties and method calls after a dot", () => {
    expect(tokens("row.phone.to_upper()")).toEqual([
      ["row", "variableName.special"],
      [".", "operator"],
      ["phone", "propertyName"],
      [".", "operator"],
      ["to_upper", "propertyName.function"],
      ["()", "atom"],
    ]);
  });

  it("keeps backtick strings with ${} interpolation across lines", () => {
    expect(tokens("let s = `Hi ${row.name + `!${x}`}", "more` + 1.5e3;")).toEqual([
      ["let", "keyword"],
      ["s", "variableName"],
      ["=", "operator"],
      ["`", "string"],
      ["Hi ", "string"],
      ["${", "processingInstruction"],
      ["row", "variableName.special"],
      [".", "operator"],
      ["name", "propertyName"],
      ["+", "operator"],
      ["`", "string"],
      ["!", "string"],
      ["${", "processingInstruction"],
      ["x", "variableName"],
      ["}", "processingInstruction"],
      ["`", "string"],
      ["}", "processingInstruction"],
      ["more", "string"],
      ["`", "string"],
      ["+", "operator"],
      ["1.5e3", "number"],
      [";", "separator"],
    ]);
  });

  it("nests block comments and ends line comments at the line end", () => {
    expect(tokens("/* a /* b */ still", "done */ x // note", "true")).toEqual([
      ["/* a /* b */ still", "comment"],
      ["done */", "comment"],
      ["x", "variableName"],
      ["// note", "comment"],
      ["true", "bool"],
    ]);
  });
});
