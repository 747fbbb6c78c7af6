// Fields that hold other fields: objects, lists, maps and tagged variants.

import { useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { ChevronDown, ChevronRight, ArrowDown, ArrowUp, Plus, Trash2 } from "lucide-react";
import { Field } from "../Field";
import { DiagnosticList, FieldShell, GroupShell, RichText, useFieldMeta } from "../FieldShell";
import { clearField, type FieldProps } from "../fieldProps";
import { initialValue, objectDefault, variantIndex, variantValue } from "../defaults";
import { useFormContext, domId } from "../context";
import { isRecord, pathKey, renameKey, withKey, withoutKey, type Path } from "../paths";
import type { FieldPickerSpec, FieldSpec, ListSpec, MapSpec, ObjectSpec, VariantOption, VariantSpec } from "../schemaToForm";
import { optionDescription } from "../catalogText";
import { unwrap } from "../text";
import { displayText } from "./scalars";
import { FieldChipsWidget } from "./FieldPicker";

/** The fields of an object, each bound to its key. Untouched keys stay absent. */
export function ObjectFields({ spec, value, path, onChange }: { spec: ObjectSpec; value: unknown; path: Path; onChange(v: unknown): void }) {
  const obj = isRecord(value) ? value : {};
  return (
    <div className="sl-object">
      {spec.fields.map((f) => (
        <Field
          key={f.name}
          spec={f}
          path={[...path, f.name]}
          value={obj[f.name]}
          present={Object.prototype.hasOwnProperty.call(obj, f.name)}
          onChange={(v) => onChange(withKey(obj, f.name, v))}
          onRemove={() => onChange(withoutKey(obj, f.name))}
        />
      ))}
    </div>
  );
}

export function ObjectWidget(props: FieldProps<ObjectSpec>) {
  const { spec, value, present } = props;
  const { t } = useTranslation("form");
  const meta = useFieldMeta(spec, props.path, props.label);
  if (props.bare) {
    // A list item or variant body: the item's own frame is the list's; its problems (a
    // duplicate rule name, say) still show here.
    return (
      <div className="sl-object-item" data-testid={`field-${meta.key}`}>
        <DiagnosticList id={meta.errorId} diagnostics={meta.diagnostics} />
        <ObjectFields spec={spec} value={value} path={props.path} onChange={props.onChange} />
      </div>
    );
  }
  const set = present && isRecord(value);
  const optional = !spec.required;
  return (
    <GroupShell
      meta={meta}
      spec={spec}
      actions={
        optional && set ? (
          <button type="button" className="sl-button sl-button--small sl-button--quiet" data-testid={`remove-${meta.key}`} onClick={() => props.onRemove()}>
            <Trash2 size={12} aria-hidden /> {t("removeSection", { label: meta.label })}
          </button>
        ) : null
      }
    >
      {set || !optional ? (
        <ObjectFields spec={spec} value={value} path={props.path} onChange={props.onChange} />
      ) : (
        <button type="button" className="sl-button sl-button--small" data-testid={`add-${meta.key}`} onClick={() => props.onChange(objectDefault(spec))}>
          <Plus size={12} aria-hidden /> {t("addSection", { label: meta.label })}
        </button>
      )}
    </GroupShell>
  );
}

/** One line saying what an item holds, for a collapsed list item. */
export function summarise(spec: FieldSpec, value: unknown): string {
  const scalar = (v: unknown) => (v === null || v === undefined || v === "" ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
  let out = "";
  switch (spec.kind) {
    case "object": {
      if (!isRecord(value)) break;
      const parts: string[] = [];
      for (const f of spec.fields) {
        const v = value[f.name];
        if (f.kind === "secret" || typeof v === "boolean" || isRecord(v) || Array.isArray(v)) continue;
        const s = scalar(v);
        if (s) parts.push(s);
        if (parts.length === 3) break;
      }
      out = parts.join(" · ");
      break;
    }
    case "variant": {
      const i = variantIndex(spec, value);
      const option = spec.variants[i];
      if (!option) {
        out = scalar(value);
        break;
      }
      const inner = option.body
        ? summarise(option.body, spec.tagging === "external" ? (value as Record<string, unknown>)[option.tag] : value)
        : "";
      out = inner ? `${option.tag}: ${inner}` : option.tag;
      break;
    }
    case "list":
      out = Array.isArray(value) ? value.map((v) => summarise(spec.item, v)).join(", ") : "";
      break;
    default:
      out = scalar(value);
  }
  return out.length > 80 ? `${out.slice(0, 79)}…` : out;
}

const BLOCK_KINDS = new Set<FieldSpec["kind"]>(["object", "list", "map", "variant"]);

export function ListWidget(props: FieldProps<ListSpec>) {
  if (props.spec.item.kind === "field-picker") {
    return <FieldChipsWidget {...(props as FieldProps<ListSpec & { item: FieldPickerSpec }>)} />;
  }
  return <ItemList {...props} />;
}

function ItemList(props: FieldProps<ListSpec>) {
  const { spec, value, present } = props;
  const { t } = useTranslation("form");
  const ctx = useFormContext();
  const meta = useFieldMeta(spec, props.path, props.label);
  const items: unknown[] = present && Array.isArray(value) ? value : [];
  const block = BLOCK_KINDS.has(spec.item.kind);
  const [expanded, setExpanded] = useState<boolean[]>(() => items.map(() => items.length <= 3));

  const commit = (next: unknown[], nextExpanded: boolean[]) => {
    setExpanded(nextExpanded);
    if (next.length === 0 && !spec.required) props.onRemove();
    else props.onChange(next);
  };
  const isExpanded = (i: number) => expanded[i] ?? true;
  const move = (i: number, delta: number) => {
    const j = i + delta;
    if (j < 0 || j >= items.length) return;
    const next = [...items];
    [next[i], next[j]] = [next[j], next[i]];
    const ex = items.map((_, k) => isExpanded(k));
    [ex[i], ex[j]] = [ex[j], ex[i]];
    commit(next, ex);
    // Keep the focus on the moved item's button so repeated moves work from the keyboard.
    setTimeout(() => document.getElementById(domId(ctx.idPrefix, `${pathKey([...props.path, j])}--${delta < 0 ? "up" : "down"}`))?.focus(), 0);
  };
  const remove = (i: number) => {
    commit(
      items.filter((_, k) => k !== i),
      items.map((_, k) => isExpanded(k)).filter((_, k) => k !== i),
    );
  };
  const add = () => {
    commit([...items, initialValue(spec.item)], [...items.map((_, k) => isExpanded(k)), true]);
  };
  const full = spec.maxItems !== undefined && items.length >= spec.maxItems;

  return (
    <GroupShell meta={meta} spec={spec} bare={props.bare}>
      {items.length === 0 && <p className="sl-list__empty">{t("emptyList")}</p>}
      <ol className={block ? "sl-list sl-list--blocks" : "sl-list sl-list--rows"}>
        {items.map((item, i) => {
          const itemPath = [...props.path, i];
          const itemKey = pathKey(itemPath);
          const n = i + 1;
          const hasProblems = ctx.hasDiagnosticsUnder(itemKey);
          const open = isExpanded(i) || hasProblems;
          const buttons = (
            <div className="sl-list__buttons">
              <button
                type="button"
                id={domId(ctx.idPrefix, `${itemKey}--up`)}
                className="sl-icon-button"
                disabled={i === 0}
                aria-label={t("moveUp", { n })}
                title={t("moveUp", { n })}
                data-testid={`up-${itemKey}`}
                onClick={() => move(i, -1)}
              >
                <ArrowUp size={13} aria-hidden />
              </button>
              <button
                type="button"
                id={domId(ctx.idPrefix, `${itemKey}--down`)}
                className="sl-icon-button"
                disabled={i === items.length - 1}
                aria-label={t("moveDown", { n })}
                title={t("moveDown", { n })}
                data-testid={`down-${itemKey}`}
                onClick={() => move(i, 1)}
              >
                <ArrowDown size={13} aria-hidden />
              </button>
              <button
                type="button"
                className="sl-icon-button sl-icon-button--danger"
                aria-label={t("removeItem", { n })}
                title={t("removeItem", { n })}
                data-testid={`remove-${itemKey}`}
                onClick={() => remove(i)}
              >
                <Trash2 size={13} aria-hidden />
              </button>
            </div>
          );
          const field = (
            <Field
              spec={spec.item}
              path={itemPath}
              value={item}
              present
              label={t("item", { n })}
              bare
              onChange={(v) => {
                const next = [...items];
                next[i] = v;
                props.onChange(next);
              }}
              onRemove={() => remove(i)}
            />
          );
          if (!block) {
            return (
              <li key={i} className="sl-list__row" data-testid={`item-${itemKey}`}>
                <div className="sl-list__row-field">{field}</div>
                {buttons}
              </li>
            );
          }
          const bodyId = domId(ctx.idPrefix, `${itemKey}--body`);
          return (
            <li key={i} className={hasProblems ? "sl-list__item sl-list__item--invalid" : "sl-list__item"} data-testid={`item-${itemKey}`}>
              <div className="sl-list__head">
                <button
                  type="button"
                  className="sl-list__toggle"
                  aria-expanded={open}
                  aria-controls={bodyId}
                  data-testid={`toggle-${itemKey}`}
                  onClick={() => setExpanded(items.map((_, k) => (k === i ? !open : isExpanded(k))))}
                >
                  {open ? <ChevronDown size={13} aria-hidden /> : <ChevronRight size={13} aria-hidden />}
                  <span className="sl-list__index">{n}</span>
                  <span className="sl-list__summary">{summarise(spec.item, item) || t("emptyItem")}</span>
                </button>
                {buttons}
              </div>
              <div id={bodyId} className="sl-list__body" hidden={!open}>
                {open && field}
              </div>
            </li>
          );
        })}
      </ol>
      <button type="button" className="sl-button sl-button--small" data-testid={`add-${meta.key}`} disabled={full} onClick={add}>
        <Plus size={12} aria-hidden /> {t("addItem")}
      </button>
    </GroupShell>
  );
}

export function MapWidget(props: FieldProps<MapSpec>) {
  const { spec, value, present } = props;
  const { t } = useTranslation("form");
  const ctx = useFormContext();
  const meta = useFieldMeta(spec, props.path, props.label);
  const obj = present && isRecord(value) ? value : {};
  const keys = Object.keys(obj);
  const [pending, setPending] = useState(0);
  const keyFields = spec.keyPort ? ctx.inputFields(spec.keyPort) : undefined;
  const listId = domId(ctx.idPrefix, `${meta.key}--keys`);

  const commit = (next: Record<string, unknown>) => {
    if (Object.keys(next).length === 0 && !spec.required) props.onRemove();
    else props.onChange(next);
  };
  const rows: ReactNode[] = [];
  keys.forEach((k, i) => {
    rows.push(
      <MapRow
        key={`row-${i}`}
        mapKey={meta.key}
        index={i}
        name={k}
        others={keys.filter((o) => o !== k)}
        listId={keyFields ? listId : undefined}
        onRename={(to) => commit(renameKey(obj, k, to))}
        onRemove={() => commit(withoutKey(obj, k))}
      >
        <Field
          spec={spec.value}
          path={[...props.path, k]}
          value={obj[k]}
          present
          bare
          label={t("valueOf", { key: k })}
          onChange={(v) => commit(withKey(obj, k, v))}
          onRemove={() => commit(withoutKey(obj, k))}
        />
      </MapRow>,
    );
  });
  for (let j = 0; j < pending; j++) {
    const i = keys.length + j;
    rows.push(
      <MapRow
        key={`row-${i}`}
        mapKey={meta.key}
        index={i}
        name=""
        pending
        others={keys}
        listId={keyFields ? listId : undefined}
        onRename={(to) => {
          setPending((p) => p - 1);
          commit(withKey(obj, to, initialValue(spec.value)));
        }}
        onRemove={() => setPending((p) => p - 1)}
      />,
    );
  }

  return (
    <GroupShell meta={meta} spec={spec} bare={props.bare}>
      {keyFields && (
        <datalist id={listId}>
          {keyFields.map((f) => (
            <option key={f.name} value={f.name} />
          ))}
        </datalist>
      )}
      {rows.length > 0 ? <div className="sl-map">{rows}</div> : <p className="sl-list__empty">{t("emptyMap")}</p>}
      <button type="button" className="sl-button sl-button--small" data-testid={`add-${meta.key}`} onClick={() => setPending((p) => p + 1)}>
        <Plus size={12} aria-hidden /> {t("addEntry")}
      </button>
    </GroupShell>
  );
}

interface MapRowProps {
  mapKey: string;
  index: number;
  name: string;
  pending?: boolean;
  others: string[];
  listId?: string;
  onRename(to: string): void;
  onRemove(): void;
  children?: ReactNode;
}

/** One entry of a map. A new entry is kept here until it has a name, since a JSON object
 *  cannot hold a nameless key. */
function MapRow({ mapKey, index, name, pending, others, listId, onRename, onRemove, children }: MapRowProps) {
  const { t } = useTranslation("form");
  const ctx = useFormContext();
  const [draft, setDraft] = useState(name);
  const [seen, setSeen] = useState(name);
  if (seen !== name) {
    setSeen(name);
    setDraft(name);
  }
  const error = draft === "" ? (pending ? undefined : t("keyEmpty")) : draft !== name && others.includes(draft) ? t("keyDuplicate", { key: draft }) : undefined;
  const keyId = domId(ctx.idPrefix, `${mapKey}--key-${index}`);
  const errorId = `${keyId}--error`;
  return (
    <div className="sl-map__row" data-testid={`entry-${mapKey}.${index}`}>
      <div className="sl-map__key">
        <input
          id={keyId}
          className="sl-input"
          type="text"
          value={draft}
          list={listId}
          autoFocus={pending}
          spellCheck={false}
          aria-label={t("entryName", { n: index + 1 })}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          placeholder={t("entryNamePlaceholder")}
          data-testid={`key-${mapKey}.${index}`}
          onChange={(e) => {
            const next = e.target.value;
            setDraft(next);
            if (next !== "" && next !== name && !others.includes(next)) onRename(next);
          }}
        />
        {error && (
          <div className="sl-field__error" id={errorId} role="alert">
            {error}
          </div>
        )}
      </div>
      <div className="sl-map__value">{children}</div>
      <button
        type="button"
        className="sl-icon-button sl-icon-button--danger"
        aria-label={t("removeEntry", { name: name || t("entryName", { n: index + 1 }) })}
        title={t("removeEntry", { name: name || t("entryName", { n: index + 1 }) })}
        data-testid={`remove-${mapKey}.${index}`}
        onClick={onRemove}
      >
        <Trash2 size={13} aria-hidden />
      </button>
    </div>
  );
}

export function VariantWidget(props: FieldProps<VariantSpec>) {
  const { spec, value, present } = props;
  const { t } = useTranslation("form");
  const meta = useFieldMeta(spec, props.path, props.label);
  const index = present ? variantIndex(spec, value) : -1;
  const unknown = present && value !== null && value !== undefined && index < 0;
  const option = spec.variants[index];
  const shownDefault = !present && spec.hasDefault ? spec.variants[variantIndex(spec, spec.default)] : undefined;
  const emptyText = shownDefault ? t("defaultOption", { value: shownDefault.tag }) : spec.required ? t("chooseOption") : t("notSet");
  const describe = option ?? shownDefault;
  const ctx = useFormContext();
  const optionText = (o: VariantOption) => (o.description ? optionDescription(ctx.kind, spec.specPath, o.tag, o.description) : undefined);

  let body: ReactNode = null;
  if (option?.body) {
    if (spec.tagging === "external") {
      const inner = (value as Record<string, unknown>)[option.tag];
      body = (
        <Field
          spec={option.body}
          path={[...props.path, option.tag]}
          value={inner}
          present
          bare={option.body.kind === "object"}
          onChange={(v) => props.onChange({ [option.tag]: v })}
          onRemove={() => props.onChange(variantValue(spec, index))}
        />
      );
    } else if (option.body.kind === "object") {
      const disc = spec.discriminator!;
      body = (
        <ObjectFields
          spec={option.body}
          value={value}
          path={props.path}
          onChange={(v) => props.onChange({ [disc]: option.tag, ...withoutKey(v as Record<string, unknown>, disc) })}
        />
      );
    }
  }

  return (
    <div className="sl-variant">
      <FieldShell meta={meta} spec={spec} bare={props.bare}>
        <select
          {...meta.inputProps}
          className="sl-input sl-select"
          value={index >= 0 ? String(index) : unknown ? "unknown" : ""}
          onChange={(e) => {
            const v = e.target.value;
            if (v === "") clearField(props);
            else if (v !== "unknown") props.onChange(variantValue(spec, Number(v)));
          }}
        >
          {(!spec.required || index < 0) && <option value="">{emptyText}</option>}
          {unknown && <option value="unknown">{t("unknownValue", { value: displayText(value, true) })}</option>}
          {spec.variants.map((o, i) => (
            <option key={o.tag} value={String(i)} title={optionText(o)}>
              {o.tag}
            </option>
          ))}
        </select>
        {describe && optionText(describe) && (
          <div className="sl-field__option-help">
            <RichText text={unwrap(optionText(describe)!)} />
          </div>
        )}
      </FieldShell>
      {body && <div className="sl-variant__body">{body}</div>}
    </div>
  );
}
