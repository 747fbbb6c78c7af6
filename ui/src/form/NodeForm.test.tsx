import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { act, cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { useState } from "react";
import i18n from "../i18n";
import { NodeForm } from "./NodeForm";
import { catalog, kind } from "./test/catalog";
import { defaultConfig } from "./defaults";
import type { CatalogKind, Diagnostic, NodeDesign, PickFile } from "./types";

beforeAll(async () => {
  await i18n.changeLanguage("en");
});
afterEach(cleanup);

interface HarnessProps {
  kind: CatalogKind;
  initial: Record<string, unknown>;
  design?: NodeDesign;
  diagnostics?: Diagnostic[];
  spy: (config: unknown) => void;
  pickFile?: PickFile;
}

/** Holds the config like the editor store does, so edits build on each other. */
function Harness({ kind: k, initial, design, diagnostics = [], spy, pickFile }: HarnessProps) {
  const [config, setConfig] = useState<unknown>(initial);
  return (
    <NodeForm
      kind={k}
      nodeId="n1"
      config={config}
      design={design}
      diagnostics={diagnostics}
      pickFile={pickFile ?? (async () => null)}
      onChange={(c) => {
        spy(c);
        setConfig(c);
      }}
    />
  );
}

const lastCall = (spy: ReturnType<typeof vi.fn>) => spy.mock.calls[spy.mock.calls.length - 1][0];

const inputs: NodeDesign = {
  ports: { inputs: [], outputs: [] },
  outputs: {},
  inputs: {
    in: [
      { name: "ticket_id", type: "int" },
      { name: "phone", type: "string" },
      { name: "email", type: "string" },
    ],
  },
};

describe("NodeForm: every kind", () => {
  it("renders each kind's new-node config without writing anything", () => {
    for (const k of catalog) {
      const spy = vi.fn();
      const config = defaultConfig(k.config_schema);
      const { unmount } = render(<Harness kind={k} initial={config} design={inputs} spy={spy} />);
      const props = Object.keys((k.config_schema.properties ?? {}) as object);
      for (const name of props) expect(screen.getByTestId(`field-${name}`), `${k.kind}.${name}`).toBeTruthy();
      expect(spy, k.kind).not.toHaveBeenCalled();
      unmount();
    }
  });
});

describe("NodeForm: csv_source", () => {
  it("renders every property and writes only the key edited", () => {
    const spy = vi.fn();
    const initial = { path: "tickets.csv" };
    render(<Harness kind={kind("csv_source")} initial={initial} spy={spy} />);
    expect(spy).not.toHaveBeenCalled();
    for (const name of ["path", "delimiter", "quote", "has_header", "encoding", "skip_rows", "types", "max_record_bytes"]) {
      expect(screen.getByTestId(`field-${name}`)).toBeTruthy();
    }
    // Defaults are shown, not written.
    const delimiter = screen.getByTestId("input-delimiter") as HTMLInputElement;
    expect(delimiter.value).toBe("");
    expect(delimiter.placeholder).toContain(",");
    expect((screen.getByTestId("input-has_header") as HTMLInputElement).checked).toBe(true);

    fireEvent.change(delimiter, { target: { value: ";" } });
    expect(lastCall(spy)).toEqual({ path: "tickets.csv", delimiter: ";" });
    expect(initial).toEqual({ path: "tickets.csv" });

    fireEvent.click(screen.getByTestId("input-has_header"));
    expect(lastCall(spy)).toEqual({ path: "tickets.csv", delimiter: ";", has_header: false });
    // Back to the default: the key goes again.
    fireEvent.click(screen.getByTestId("input-has_header"));
    expect(lastCall(spy)).toEqual({ path: "tickets.csv", delimiter: ";" });

    const encoding = screen.getByTestId("input-encoding") as HTMLSelectElement;
    const gbk = within(encoding).getByText("gbk") as HTMLOptionElement;
    fireEvent.change(encoding, { target: { value: gbk.value } });
    expect(lastCall(spy)).toEqual({ path: "tickets.csv", delimiter: ";", encoding: "gbk" });
    expect(screen.getByTestId("field-encoding").textContent).toMatch(/GBK \(simplified Chinese/);

    // Emptying an optional key removes it; a required text stays as "".
    fireEvent.change(delimiter, { target: { value: "" } });
    expect(lastCall(spy)).toEqual({ path: "tickets.csv", encoding: "gbk" });
    fireEvent.change(screen.getByTestId("input-path"), { target: { value: "" } });
    expect(lastCall(spy)).toEqual({ path: "", encoding: "gbk" });
  });

  it("keeps a half-typed number out of the config and writes a whole one", () => {
    const spy = vi.fn();
    render(<Harness kind={kind("csv_source")} initial={{ path: "a.csv" }} spy={spy} />);
    const skip = screen.getByTestId("input-skip_rows");
    fireEvent.change(skip, { target: { value: "2x" } });
    expect(spy).not.toHaveBeenCalled();
    expect(screen.getByTestId("field-skip_rows").textContent).toContain("Enter a whole number.");
    expect(skip.getAttribute("aria-invalid")).toBe("true");
    fireEvent.change(skip, { target: { value: "2" } });
    expect(lastCall(spy)).toEqual({ path: "a.csv", skip_rows: 2 });
  });

  it("shows a diagnostic under its field and marks the input invalid", () => {
    const diagnostics: Diagnostic[] = [
      { severity: "error", code: "bad_delimiter", message: "delimiter must be one ASCII character", node_id: "n1", field: "config/delimiter", hint: "use ; or \\t" },
      { severity: "error", code: "other_node", message: "belongs elsewhere", node_id: "n2", field: "path" },
      { severity: "error", code: "no_field", message: "the node has no input wired", node_id: "n1" },
    ];
    render(<Harness kind={kind("csv_source")} initial={{ path: "a.csv", delimiter: ";;" }} diagnostics={diagnostics} spy={vi.fn()} />);
    const field = screen.getByTestId("field-delimiter");
    expect(field.textContent).toContain("delimiter must be one ASCII character");
    expect(field.textContent).toContain("use ; or \\t");
    expect(screen.getByTestId("input-delimiter").getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByTestId("input-path").getAttribute("aria-invalid")).toBeNull();
    expect(screen.queryByText("belongs elsewhere")).toBeNull();
    expect(screen.getByTestId("form-problems").textContent).toContain("the node has no input wired");
  });

  it("links labels to inputs and shows the first sentence of the help", () => {
    render(<Harness kind={kind("csv_source")} initial={{ path: "a.csv" }} spy={vi.fn()} />);
    expect(screen.getByLabelText(/Skip rows/)).toBe(screen.getByTestId("input-skip_rows"));
    const help = screen.getByTestId("field-infer_types").textContent ?? "";
    expect(help).toContain("Work out each field's type");
    expect(help).toContain("More");
  });
});

describe("NodeForm: filter (code editor)", () => {
  it("shows the expression in a Rhai editor and its diagnostic with a mark", () => {
    const diagnostics: Diagnostic[] = [
      { severity: "error", code: "script_error", message: "Unknown variable: priorty", node_id: "n1", field: "/condition", line: 1, column: 1 },
    ];
    const { container } = render(
      <Harness kind={kind("filter")} initial={{ condition: 'priorty == "urgent"' }} design={inputs} diagnostics={diagnostics} spy={vi.fn()} />,
    );
    const editor = screen.getByTestId("input-condition");
    expect(editor.getAttribute("contenteditable")).toBe("true");
    expect(editor.textContent).toBe('priorty == "urgent"');
    expect(editor.getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByTestId("field-condition").textContent).toContain("Unknown variable: priorty");
    expect(container.querySelector(".sl-code [data-language='rhai-expression']") ?? container.querySelector(".sl-code--expression")).toBeTruthy();
    expect(container.querySelector(".cm-lintRange-error")).toBeTruthy();
    expect(container.querySelector(".tok-string")?.textContent).toBe('"urgent"');
  });
});

describe("NodeForm: mask (list of objects, picker, secret)", () => {
  it("edits an item, adds one, and keeps literal secrets out of the config", () => {
    const spy = vi.fn();
    render(<Harness kind={kind("mask")} initial={{ fields: [{ field: "phone", method: "mobile" }] }} design={inputs} spy={spy} />);
    const method = screen.getByTestId("input-fields.0.method") as HTMLSelectElement;
    fireEvent.change(method, { target: { value: (within(method).getByText("email") as HTMLOptionElement).value } });
    expect(lastCall(spy)).toEqual({ fields: [{ field: "phone", method: "email" }] });

    fireEvent.click(screen.getByTestId("add-fields"));
    expect(lastCall(spy)).toEqual({ fields: [{ field: "phone", method: "email" }, { field: "", method: "partial" }] });

    const key = screen.getByTestId("input-fields.0.key") as HTMLInputElement;
    expect(key.type).toBe("password");
    const calls = spy.mock.calls.length;
    fireEvent.change(key, { target: { value: "s3cr3t-key" } });
    expect(spy.mock.calls.length).toBe(calls);
    expect(screen.getByTestId("field-fields.0.key").textContent).toContain("Not saved");
    fireEvent.change(key, { target: { value: "${env:MASK_KEY}" } });
    expect(lastCall(spy)).toEqual({ fields: [{ field: "phone", method: "email", key: "${env:MASK_KEY}" }, { field: "", method: "partial" }] });
    expect(screen.getByTestId("field-fields.0.key").textContent).not.toContain("Not saved");
    fireEvent.click(within(screen.getByTestId("field-fields.0.key")).getByRole("button", { name: "Show secret" }));
    expect(key.type).toBe("text");
  });

  it("offers the upstream fields with their types and accepts free text", () => {
    const spy = vi.fn();
    render(<Harness kind={kind("mask")} initial={{ fields: [{ field: "", method: "mobile" }] }} design={inputs} spy={spy} />);
    const picker = screen.getByTestId("input-fields.0.field");
    expect(picker.getAttribute("role")).toBe("combobox");
    fireEvent.change(picker, { target: { value: "ph" } });
    expect(lastCall(spy)).toEqual({ fields: [{ field: "ph", method: "mobile" }] });
    const option = screen.getByRole("option", { name: /phone/ });
    expect(option.textContent).toContain("string");
    fireEvent.click(option);
    expect(lastCall(spy)).toEqual({ fields: [{ field: "phone", method: "mobile" }] });

    fireEvent.change(picker, { target: { value: "not_there" } });
    expect(lastCall(spy)).toEqual({ fields: [{ field: "not_there", method: "mobile" }] });
    expect(screen.getByTestId("field-fields.0.field").textContent).toContain("not a field of input");
  });
});

describe("NodeForm: route (nested list, reorder, diagnostics)", () => {
  it("shows a rule's diagnostic under its condition and reorders rules", () => {
    const spy = vi.fn();
    const diagnostics: Diagnostic[] = [
      { severity: "error", code: "script_error", message: "Expecting a condition", node_id: "n1", field: "config/rules/1/condition" },
    ];
    const rules = [
      { name: "urgent", condition: 'priority == "urgent"' },
      { name: "vip", condition: "" },
    ];
    render(<Harness kind={kind("route")} initial={{ rules }} diagnostics={diagnostics} spy={spy} />);
    expect(screen.getByTestId("field-rules.1.condition").textContent).toContain("Expecting a condition");
    expect(screen.getByTestId("field-rules.0.condition").textContent).not.toContain("Expecting a condition");
    expect(screen.getByTestId("item-rules.1").className).toContain("invalid");
    expect(screen.getByTestId("toggle-rules.0").textContent).toContain("urgent");

    fireEvent.change(screen.getByTestId("input-rules.0.name"), { target: { value: "p1" } });
    expect(lastCall(spy)).toEqual({ rules: [{ name: "p1", condition: 'priority == "urgent"' }, rules[1]] });

    fireEvent.click(screen.getByTestId("down-rules.0"));
    expect(lastCall(spy)).toEqual({ rules: [rules[1], { name: "p1", condition: 'priority == "urgent"' }] });

    fireEvent.click(screen.getByTestId("remove-rules.0"));
    expect(lastCall(spy)).toEqual({ rules: [{ name: "p1", condition: 'priority == "urgent"' }] });
  });

  it("collapses and expands an item from its summary line", () => {
    render(<Harness kind={kind("route")} initial={{ rules: [{ name: "a", condition: "x" }] }} spy={vi.fn()} />);
    const toggle = screen.getByTestId("toggle-rules.0");
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    fireEvent.click(toggle);
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    expect(screen.queryByTestId("input-rules.0.name")).toBeNull();
    fireEvent.click(toggle);
    expect(screen.getByTestId("input-rules.0.name")).toBeTruthy();
  });
});

describe("NodeForm: sql_sink (field chips, enums, SQL)", () => {
  it("adds key fields as chips from the picker and from typed text", () => {
    const spy = vi.fn();
    render(<Harness kind={kind("sql_sink")} initial={{ url: "sqlite:out.db", table: "tickets" }} design={inputs} spy={spy} />);
    const key = screen.getByTestId("input-key");
    fireEvent.change(key, { target: { value: "ticket" } });
    expect(spy).not.toHaveBeenCalled();
    fireEvent.keyDown(key, { key: "ArrowDown" });
    fireEvent.keyDown(key, { key: "Enter" });
    expect(lastCall(spy)).toEqual({ url: "sqlite:out.db", table: "tickets", key: ["ticket_id"] });

    fireEvent.change(key, { target: { value: "tenant" } });
    fireEvent.keyDown(key, { key: "Enter" });
    expect(lastCall(spy)).toEqual({ url: "sqlite:out.db", table: "tickets", key: ["ticket_id", "tenant"] });
    expect(screen.getByTestId("chip-key.1").className).toContain("unknown");

    fireEvent.click(within(screen.getByTestId("chip-key.0")).getByRole("button", { name: "Remove ticket_id" }));
    expect(lastCall(spy)).toEqual({ url: "sqlite:out.db", table: "tickets", key: ["tenant"] });
    fireEvent.click(within(screen.getByTestId("chip-key.0")).getByRole("button", { name: "Remove tenant" }));
    // The last one gone: the optional key goes too.
    expect(lastCall(spy)).toEqual({ url: "sqlite:out.db", table: "tickets" });

    fireEvent.click(screen.getByTestId("add-pre_sql"));
    expect(lastCall(spy)).toEqual({ url: "sqlite:out.db", table: "tickets", pre_sql: [""] });
    expect(screen.getByTestId("input-pre_sql.0").closest("[data-language='sql']")).toBeTruthy();
  });
});

describe("NodeForm: maps, variants and paths", () => {
  it("adds, renames and removes map entries", () => {
    const spy = vi.fn();
    render(<Harness kind={kind("csv_source")} initial={{ path: "a.csv" }} spy={spy} />);
    fireEvent.click(screen.getByTestId("add-types"));
    expect(spy).not.toHaveBeenCalled();
    fireEvent.change(screen.getByTestId("key-types.0"), { target: { value: "phone" } });
    expect(lastCall(spy)).toEqual({ path: "a.csv", types: { phone: "bool" } });
    const value = screen.getByTestId("input-types.phone") as HTMLSelectElement;
    fireEvent.change(value, { target: { value: (within(value).getByText("string") as HTMLOptionElement).value } });
    expect(lastCall(spy)).toEqual({ path: "a.csv", types: { phone: "string" } });
    fireEvent.change(screen.getByTestId("key-types.0"), { target: { value: "mobile" } });
    expect(lastCall(spy)).toEqual({ path: "a.csv", types: { mobile: "string" } });
    fireEvent.click(screen.getByTestId("remove-types.0"));
    expect(lastCall(spy)).toEqual({ path: "a.csv" });
  });

  it("switches a cleanse op to the regex variant and edits its body", () => {
    const spy = vi.fn();
    render(<Harness kind={kind("cleanse")} initial={{ steps: [{ fields: ["name"], ops: ["trim"] }] }} spy={spy} />);
    const op = screen.getByTestId("input-steps.0.ops.0") as HTMLSelectElement;
    fireEvent.change(op, { target: { value: (within(op).getByText("regex_replace") as HTMLOptionElement).value } });
    expect(lastCall(spy)).toEqual({ steps: [{ fields: ["name"], ops: [{ regex_replace: { pattern: "" } }] }] });
    fireEvent.change(screen.getByTestId("input-steps.0.ops.0.regex_replace.pattern"), { target: { value: "\\s+" } });
    expect(lastCall(spy)).toEqual({ steps: [{ fields: ["name"], ops: [{ regex_replace: { pattern: "\\s+" } }] }] });
  });

  it("sets up and removes an optional section", () => {
    const spy = vi.fn();
    render(<Harness kind={kind("sql_source")} initial={{ url: "sqlite:a.db", table: "t" }} spy={spy} />);
    fireEvent.click(screen.getByTestId("add-partition"));
    expect(lastCall(spy)).toEqual({ url: "sqlite:a.db", table: "t", partition: { column: "" } });
    fireEvent.change(screen.getByTestId("input-partition.column"), { target: { value: "id" } });
    expect(lastCall(spy)).toEqual({ url: "sqlite:a.db", table: "t", partition: { column: "id" } });
    fireEvent.click(screen.getByTestId("remove-partition"));
    expect(lastCall(spy)).toEqual({ url: "sqlite:a.db", table: "t" });
  });

  it("picks a file for an x-path field with a save dialog on sinks", async () => {
    const spy = vi.fn();
    const pickFile = vi.fn(async () => "/data/out.csv");
    const sink: CatalogKind = {
      kind: "demo_sink",
      category: "sink",
      title: "Demo sink",
      description: "",
      keywords: [],
      icon: "",
      ports: { inputs: [], outputs: [] },
      config_schema: { type: "object", properties: { path: { type: "string", "x-path": "file" } }, required: ["path"] },
    };
    render(<Harness kind={sink} initial={{ path: "" }} spy={spy} pickFile={pickFile} />);
    await act(async () => {
      fireEvent.click(screen.getByTestId("pick-path"));
    });
    expect(pickFile).toHaveBeenCalledWith({ kind: "file", save: true });
    expect(lastCall(spy)).toEqual({ path: "/data/out.csv" });
  });
});

describe("NodeForm: validate (number-or-text, item diagnostics)", () => {
  it("stores a bound as a number when it reads as one and keeps what is typed", () => {
    const spy = vi.fn();
    const diagnostics: Diagnostic[] = [{ severity: "error", code: "dup", message: "rule 1 repeats field amount", node_id: "n1", field: "rules/1" }];
    render(<Harness kind={kind("validate")} initial={{ rules: [{ field: "amount" }, { field: "amount" }] }} diagnostics={diagnostics} spy={spy} />);
    expect(screen.getByTestId("field-rules.1").textContent).toContain("rule 1 repeats field amount");
    const min = screen.getByTestId("input-rules.0.min") as HTMLInputElement;
    fireEvent.change(min, { target: { value: "1." } });
    expect(lastCall(spy)).toEqual({ rules: [{ field: "amount", min: 1 }, { field: "amount" }] });
    expect(min.value).toBe("1.");
    fireEvent.change(min, { target: { value: "1.5" } });
    expect(lastCall(spy)).toEqual({ rules: [{ field: "amount", min: 1.5 }, { field: "amount" }] });
    fireEvent.change(min, { target: { value: "2024-01-01" } });
    expect(lastCall(spy)).toEqual({ rules: [{ field: "amount", min: "2024-01-01" }, { field: "amount" }] });
    fireEvent.change(min, { target: { value: "" } });
    expect(lastCall(spy)).toEqual({ rules: [{ field: "amount" }, { field: "amount" }] });
  });
});

describe("NodeForm: translations", () => {
  it("shows the form's own texts in Chinese", async () => {
    await act(async () => {
      await i18n.changeLanguage("zh-CN");
    });
    try {
      const diagnostics: Diagnostic[] = [{ severity: "error", code: "invalid_config", message: "rules: expected a list", node_id: "n1", field: "rules" }];
      render(<Harness kind={kind("route")} initial={{ rules: [] }} diagnostics={diagnostics} spy={vi.fn()} />);
      const rules = screen.getByTestId("field-rules");
      expect(screen.getByTestId("add-rules").textContent).toContain("添加一项");
      // Labels and help from the catalog namespace; the engine's message as written.
      expect(rules.querySelector("legend")?.textContent).toContain("规则");
      expect(rules.textContent).toContain("按顺序检查的规则");
      expect(rules.textContent).toContain("rules: expected a list");
      expect(rules.querySelector(".sl-field__error-title")?.textContent).toBe(i18n.t("codes.invalid_config", { ns: "errors" }));
      expect(rules.querySelector(".sl-field__error-title")?.textContent).toMatch(/[\u4e00-\u9fff]/);
    } finally {
      await act(async () => {
        await i18n.changeLanguage("en");
      });
    }
  });
});
