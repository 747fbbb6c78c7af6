import { describe, expect, it } from "vitest";
import { withFlowSuffix, suggestedFileName } from "../api/dialogs";
import { baseName, crumbs, joinPath } from "./FileDialog";

describe("file dialog paths", () => {
  it("builds breadcrumbs for POSIX and Windows paths", () => {
    expect(crumbs("/home/ana/flows", "/")).toEqual([
      { name: "/", path: "/" },
      { name: "home", path: "/home" },
      { name: "ana", path: "/home/ana" },
      { name: "flows", path: "/home/ana/flows" },
    ]);
    expect(crumbs("C:\\Users\\ana", "\\")).toEqual([
      { name: "C:", path: "C:\\" },
      { name: "Users", path: "C:\\Users" },
      { name: "ana", path: "C:\\Users\\ana" },
    ]);
  });

  it("joins and splits names", () => {
    expect(joinPath("/tmp", "a.flow.json", "/")).toBe("/tmp/a.flow.json");
    expect(joinPath("/", "a", "/")).toBe("/a");
    expect(joinPath("C:\\", "a", "\\")).toBe("C:\\a");
    expect(baseName("/tmp/x/a.flow.json")).toBe("a.flow.json");
    expect(baseName("C:\\x\\b.flow.json")).toBe("b.flow.json");
  });

  it("always saves flows as *.flow.json", () => {
    expect(withFlowSuffix("/tmp/a")).toBe("/tmp/a.flow.json");
    expect(withFlowSuffix("/tmp/a.json")).toBe("/tmp/a.flow.json");
    expect(withFlowSuffix("/tmp/a.flow.json")).toBe("/tmp/a.flow.json");
    expect(withFlowSuffix("/tmp/A.FLOW.JSON")).toBe("/tmp/A.FLOW.JSON");
  });

  it("suggests a file name from the flow name", () => {
    expect(suggestedFileName("Urgent tickets: daily")).toBe("urgent-tickets-daily.flow.json");
    expect(suggestedFileName("  ")).toBe("untitled.flow.json");
    expect(suggestedFileName("工单/日报")).toBe("工单-日报.flow.json");
  });
});
