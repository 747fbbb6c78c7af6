import { useTranslation } from "react-i18next";
import { FieldShell, useFieldMeta } from "../FieldShell";
import { clearField, type FieldProps } from "../fieldProps";
import { useFormContext } from "../context";
import type { CodeSpec } from "../schemaToForm";
import { CodeEditor, type CodeMark } from "../code/CodeEditor";
import { displayText } from "./scalars";

export function CodeWidget(props: FieldProps<CodeSpec>) {
  const { spec, value, present } = props;
  const { t } = useTranslation("form");
  const ctx = useFormContext();
  const meta = useFieldMeta(spec, props.path, props.label);
  const marks: CodeMark[] = meta.diagnostics
    .filter((d) => typeof d.line === "number")
    .map((d) => ({ line: d.line!, column: d.column, message: d.hint ? `${d.message} — ${d.hint}` : d.message, severity: d.severity === "warning" ? "warning" : "error" }));
  const contentAttributes: Record<string, string> = {
    id: meta.id,
    "data-testid": meta.inputProps["data-testid"],
    "aria-labelledby": meta.labelId,
    "aria-multiline": spec.language === "rhai-expression" ? "false" : "true",
  };
  if (meta.inputProps["aria-describedby"]) contentAttributes["aria-describedby"] = meta.inputProps["aria-describedby"];
  if (meta.invalid) contentAttributes["aria-invalid"] = "true";
  if (spec.required) contentAttributes["aria-required"] = "true";
  const placeholder = spec.language === "sql" ? t("sqlPlaceholder") : spec.language === "rhai-script" ? t("scriptPlaceholder") : t("expressionPlaceholder");
  return (
    <FieldShell meta={meta} spec={spec} bare={props.bare}>
      <CodeEditor
        value={displayText(value, present)}
        language={spec.language}
        contentAttributes={contentAttributes}
        placeholder={placeholder}
        completion={{ fields: ctx.allInputFields(), functions: spec.functions }}
        marks={marks}
        onChange={(text) => {
          if (text === "") clearField(props);
          else props.onChange(text);
        }}
      />
    </FieldShell>
  );
}
