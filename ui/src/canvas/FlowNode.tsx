// One flow step on the canvas: category stripe, kind icon, title and subtitle, one handle
// per port (inputs left, outputs right; the `error` output red, last, lower right), and
// the number of problems the last check found in it, and while a run is shown its state and
// row counts (run/NodeRunBar). Memoised, and every store read is a primitive (a count, a
// port signature string, a state), so a check or a metrics flush that changes nothing for
// this node does not re-render it — 300 nodes stay smooth.

import { memo, useMemo } from "react";
import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import { StickyNote } from "lucide-react";
import { useTranslation } from "react-i18next";
import type { NodeSpec, PortSpec } from "../api/generated";
import { useCatalogText } from "../i18n/catalog";
import { NodeRunBar, useNodeRunState } from "../run/NodeRunBar";
import { useFlow } from "../store/flowStore";
import { kindIcon } from "./icons";

export type FlowNodeData = { spec: NodeSpec };
export type FlowRfNode = Node<FlowNodeData, "flow">;

export const ERROR_PORT = "error";

const signatures = new WeakMap<object, string>();

/** Ports as a string (`in*,left|out,error`): equal strings mean the same handles. Cached
 *  per ports object, as 300 nodes ask on every store change. */
export function portSignature(ports: { inputs: PortSpec[]; outputs: PortSpec[] } | undefined): string {
  if (!ports) return "";
  let sig = signatures.get(ports);
  if (sig === undefined) {
    sig = computeSignature(ports);
    signatures.set(ports, sig);
  }
  return sig;
}

function computeSignature(ports: { inputs: PortSpec[]; outputs: PortSpec[] }): string {
  const one = (p: PortSpec) => p.name.replace(/[,|*]/g, "_") + (p.required ? "*" : "");
  return `${ports.inputs.map(one).join(",")}|${ports.outputs.map(one).join(",")}`;
}

function parseSignature(sig: string): { inputs: Array<{ name: string; required: boolean }>; outputs: Array<{ name: string; required: boolean }> } {
  const [ins = "", outs = ""] = sig.split("|");
  const list = (s: string) =>
    s
      .split(",")
      .filter(Boolean)
      .map((p) => (p.endsWith("*") ? { name: p.slice(0, -1), required: true } : { name: p, required: false }));
  const outputs = list(outs);
  // The error output always comes last, at the lower right, where users look for it.
  outputs.sort((a, b) => Number(a.name === ERROR_PORT) - Number(b.name === ERROR_PORT));
  return { inputs: list(ins), outputs };
}

function FlowNodeView({ id, data, selected }: NodeProps<FlowRfNode>) {
  const { t } = useTranslation("app");
  const text = useCatalogText();
  const spec = data.spec;
  const kind = useFlow((s) => s.kinds[spec.kind]);
  const signature = useFlow((s) => portSignature(s.check.designs[id]?.ports ?? s.kinds[spec.kind]?.ports));
  const errors = useFlow((s) => s.check.byNode[id]?.errors ?? 0);
  const warnings = useFlow((s) => s.check.byNode[id]?.warnings ?? 0);
  const ports = useMemo(() => parseSignature(signature), [signature]);
  const runState = useNodeRunState(id);

  const Icon = kindIcon(kind?.icon, kind?.category);
  const kindName = kind ? text.kindTitle(spec.kind, kind.title) : spec.kind;
  const title = spec.title || kindName;
  const category = kind?.category ?? "unknown";
  const rows = Math.max(ports.inputs.length, ports.outputs.length);
  const problemCount = errors + warnings;

  const portTitle = (name: string, dir: "in" | "out") => {
    const declared = kind ? [...kind.ports.inputs, ...kind.ports.outputs].find((p) => p.name === name) : undefined;
    const label = text.portLabel(spec.kind, name, name);
    const desc = declared ? text.portDescription(spec.kind, name, declared.description) : "";
    return t(dir === "in" ? "canvas.inputPortTitle" : "canvas.outputPortTitle", { port: label }) + (desc ? `\n${desc}` : "");
  };

  return (
    <div
      className={[
        "fn",
        `fn--${category}`,
        selected ? "is-selected" : "",
        errors > 0 ? "has-errors" : warnings > 0 ? "has-warnings" : "",
        kind ? "" : "is-unknown",
        runState ? `run-${runState}` : "",
      ].join(" ")}
      data-testid={`node-${id}`}
      data-kind={spec.kind}
    >
      <div className="fn__head">
        <span className="fn__icon" aria-hidden>
          <Icon size={16} strokeWidth={2} />
        </span>
        <div className="fn__titles">
          <div className="fn__title" title={title}>
            {title}
          </div>
          <div className="fn__sub">{spec.title ? kindName : <span className="fn__id">{id}</span>}</div>
        </div>
        {spec.note ? (
          <span className="fn__note" title={spec.note}>
            <StickyNote size={13} />
          </span>
        ) : null}
      </div>
      {problemCount > 0 && (
        <span
          className={`fn__badge ${errors > 0 ? "fn__badge--error" : "fn__badge--warning"}`}
          title={t("canvas.problemsBadge", { errors, warnings })}
          data-testid={`node-problems-${id}`}
        >
          {problemCount}
        </span>
      )}
      {rows > 0 && (
        <div className="fn__ports">
          {Array.from({ length: rows }, (_, i) => {
            const input = ports.inputs[i];
            const output = ports.outputs[i];
            return (
              <div className="fn__row" key={i}>
                <div className="fn__port fn__port--in">
                  {input && (
                    <>
                      <Handle
                        type="target"
                        position={Position.Left}
                        id={input.name}
                        className={`fh fh--in${input.required ? " fh--required" : ""}`}
                        title={portTitle(input.name, "in")}
                      />
                      <span className="fn__plabel">{text.portLabel(spec.kind, input.name, input.name)}</span>
                    </>
                  )}
                </div>
                <div className={`fn__port fn__port--out${output?.name === ERROR_PORT ? " fn__port--error" : ""}`}>
                  {output && (
                    <>
                      <span className="fn__plabel">{text.portLabel(spec.kind, output.name, output.name)}</span>
                      <Handle
                        type="source"
                        position={Position.Right}
                        id={output.name}
                        className={`fh fh--out${output.name === ERROR_PORT ? " fh--error" : ""}`}
                        title={portTitle(output.name, "out")}
                      />
                    </>
                  )}
                </div>
              </div>
            );
          })}
        </div>
      )}
      {/* A sink's rows go to its target, not out of a port: no "out 0" for it. */}
      <NodeRunBar id={id} showOut={ports.outputs.some((p) => p.name !== "error")} />
    </div>
  );
}

export const FlowNode = memo(FlowNodeView);
