import { describe, expect, it } from "vitest";
import { codeRuns, splitHelp, unwrap } from "./text";

describe("help text", () => {
  it("joins hard-wrapped doc lines and keeps paragraphs", () => {
    expect(unwrap("one\ntwo\n\nthree")).toBe("one two\n\nthree");
  });

  it("splits off the first sentence, not at e.g. or inside code", () => {
    expect(splitHelp("Which one, e.g. `0.9` is high. More here.\nAnd here.")).toEqual({
      first: "Which one, e.g. `0.9` is high.",
      rest: "More here. And here.",
    });
    expect(splitHelp("只有一句。第二句。")).toEqual({ first: "只有一句。", rest: "第二句。" });
    expect(splitHelp("No full stop")).toEqual({ first: "No full stop", rest: "" });
  });

  it("marks code runs and leaves an unclosed backtick as text", () => {
    expect(codeRuns("a `b` c")).toEqual([
      { code: false, text: "a " },
      { code: true, text: "b" },
      { code: false, text: " c" },
    ]);
    expect(codeRuns("x `y")).toEqual([
      { code: false, text: "x " },
      { code: false, text: "`y" },
    ]);
  });
});
