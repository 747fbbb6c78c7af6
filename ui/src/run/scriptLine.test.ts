// Finding the code line a run error points at, and the run numbers' wording.
import { beforeAll, describe, expect, it } from "vitest";
import i18n from "../i18n";
import { formatCompact, formatDuration, formatRate, progressOf } from "./format";
import { scriptPlace } from "./scriptLine";

beforeAll(async () => {
  await i18n.changeLanguage("en");
});

describe("script places in run errors", () => {
  it("reads the line and column a script error carries, and the field it names", () => {
    expect(scriptPlace("script: Variable not found: x (line 3, column 26)", "script")).toEqual({ line: 3, column: 26, field: "script" });
    expect(scriptPlace("condition: Function not found: foo (line 1, column 4)", "condition")).toEqual({ line: 1, column: 4, field: "condition" });
    expect(scriptPlace("rules/0/condition: oops (line 2)", "rules/0/condition")).toEqual({ line: 2, field: "rules/0/condition" });
  });

  it("takes the field from the message when the event has none (a failed node, init and finish)", () => {
    expect(scriptPlace("a row failed: script: bad (line 5, column 1) (wire the node's error output to keep failed rows, or set the error policy to continue)")).toEqual({
      line: 5,
      column: 1,
      field: "script",
    });
    expect(scriptPlace("init: Unknown operator (line 2, column 9)")).toEqual({ line: 2, column: 9, field: "init" });
    expect(scriptPlace("node 'calc' failed (field 'script'): a row failed: script: Runtime error: bad code (line 3, column 3) (wire the node's error output…)")).toEqual({
      line: 3,
      column: 3,
      field: "script",
    });
  });

  it("finds none where no source line is named (an input line is not a script line)", () => {
    expect(scriptPlace("node 'src' failed at line 7 (field 'amount'): not a number")).toBeNull();
    expect(scriptPlace("amount: not a number: 'abc'", "amount")).toBeNull();
    expect(scriptPlace(undefined)).toBeNull();
  });
});

describe("run numbers", () => {
  it("shortens counts and rates for the canvas", () => {
    expect(formatCompact(999)).toBe("999");
    expect(formatCompact(12_345)).toBe("12.3K");
    expect(formatCompact(4_500_000)).toBe("4.5M");
    expect(formatRate(0)).toBe("0");
    expect(formatRate(2.345)).toBe("2.3");
    expect(formatRate(48_000)).toBe("48K");
  });

  it("writes durations as seconds under a minute and as a clock above", () => {
    expect(formatDuration(4_200)).toEqual({ value: "4.2", unit: "s" });
    expect(formatDuration(125_000)).toEqual({ value: "2:05", unit: "clock" });
    expect(formatDuration(3_725_000)).toEqual({ value: "1:02:05", unit: "clock" });
  });

  it("knows a source's progress only when its input size is known", () => {
    const n = { state: "running" as const, rowsIn: 0, rowsOut: 10, rowsError: 0, rowsPerSec: 1, bytes: 25 };
    expect(progressOf(n)).toBeNull();
    expect(progressOf({ ...n, totalBytes: 100 })).toBe(0.25);
    expect(progressOf({ ...n, totalBytes: 100, state: "done" })).toBe(1);
  });
});
