// Pickers of input field names (`x-field`): a combobox over the fields the planner knows
// at the port, with their types. Free text is always allowed: upstream may not be planned
// yet, or the field may come from somewhere the planner cannot see.
//
// Downshift's hooks supply the combobox and multiple-selection behaviour (ARIA roles, ids,
// keyboard handling), which is easy to get subtly wrong by hand.

import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useCombobox, useMultipleSelection } from "downshift";
import { ChevronDown, ChevronLeft, ChevronRight, X } from "lucide-react";
import { FieldShell, useFieldMeta } from "../FieldShell";
import { clearField, type FieldProps } from "../fieldProps";
import { useFormContext } from "../context";
import type { FieldPickerSpec, ListSpec } from "../schemaToForm";
import type { FormField } from "../types";
import { displayText } from "./scalars";

export function TypeBadge({ type }: { type: string }) {
  return <span className={`sl-badge sl-badge--${type}`}>{type}</span>;
}

function filterFields(fields: FormField[], text: string): FormField[] {
  const q = text.trim().toLowerCase();
  if (!q || fields.some((f) => f.name === text)) return fields;
  return fields.filter((f) => f.name.toLowerCase().includes(q));
}

export function FieldPickerWidget(props: FieldProps<FieldPickerSpec>) {
  const { spec, value, present } = props;
  const { t } = useTranslation("form");
  const ctx = useFormContext();
  const fields = ctx.inputFields(spec.port);
  const text = displayText(value, present);
  const items = filterFields(fields ?? [], text);
  const current = fields?.find((f) => f.name === text);
  const notUpstream = text !== "" && fields !== undefined && fields.length > 0 && !current;
  const meta = useFieldMeta(spec, props.path, props.label);

  const commit = (next: string) => {
    if (next === text) return;
    if (next === "") clearField(props);
    else props.onChange(next);
  };

  const { isOpen, getInputProps, getMenuProps, getItemProps, getToggleButtonProps, highlightedIndex } = useCombobox<FormField>({
    items,
    // The text is the value; a picked field only sets the text. `selectedItem` stays
    // uncontrolled: controlling it makes Downshift rewrite the text whenever it changes.
    inputValue: text,
    itemToString: (f) => f?.name ?? "",
    itemToKey: (f) => f?.name,
    inputId: meta.id,
    labelId: meta.labelId,
    menuId: `${meta.id}--menu`,
    toggleButtonId: `${meta.id}--toggle`,
    onInputValueChange: ({ inputValue }) => commit(inputValue ?? ""),
  });

  return (
    <FieldShell meta={meta} spec={spec} bare={props.bare}>
      <div className="sl-combobox">
        <div className="sl-input-row">
          <input
            {...getInputProps({
              "data-testid": meta.inputProps["data-testid"],
              "aria-invalid": meta.inputProps["aria-invalid"],
              "aria-describedby": meta.inputProps["aria-describedby"],
              "aria-required": meta.inputProps["aria-required"],
              className: "sl-input",
              spellCheck: false,
              placeholder: fields === undefined || fields.length === 0 ? t("fieldNamePlaceholder") : t("pickFieldPlaceholder"),
            } as Record<string, unknown>)}
          />
          {current && <TypeBadge type={current.type} />}
          <button type="button" className="sl-icon-button" aria-label={t("showFields")} title={t("showFields")} {...getToggleButtonProps()}>
            <ChevronDown size={14} aria-hidden />
          </button>
        </div>
        <FieldMenu
          isOpen={isOpen}
          items={items}
          fields={fields}
          text={text}
          highlightedIndex={highlightedIndex}
          getMenuProps={getMenuProps}
          getItemProps={getItemProps}
        />
      </div>
      {notUpstream && <div className="sl-field__note">{t("notUpstreamField", { name: text, port: spec.port })}</div>}
    </FieldShell>
  );
}

interface FieldMenuProps {
  isOpen: boolean;
  items: FormField[];
  fields: FormField[] | undefined;
  text: string;
  highlightedIndex: number;
  getMenuProps: (options?: Record<string, unknown>) => Record<string, unknown>;
  getItemProps: (options: { item: FormField; index: number } & Record<string, unknown>) => Record<string, unknown>;
}

function FieldMenu({ isOpen, items, fields, text, highlightedIndex, getMenuProps, getItemProps }: FieldMenuProps) {
  const { t } = useTranslation("form");
  const empty = fields === undefined || fields.length === 0;
  return (
    <>
      <ul {...getMenuProps({ className: isOpen && items.length > 0 ? "sl-menu" : "sl-menu sl-menu--closed" })}>
        {isOpen &&
          items.map((f, index) => (
            <li
              key={f.name}
              className={index === highlightedIndex ? "sl-menu__item sl-menu__item--active" : "sl-menu__item"}
              {...getItemProps({ item: f, index })}
            >
              <span className="sl-menu__name">{f.name}</span>
              <TypeBadge type={f.type} />
            </li>
          ))}
      </ul>
      {isOpen && items.length === 0 && (
        <div className="sl-menu sl-menu--note" role="status">
          {empty ? t("noFieldsUpstream") : t("noMatchingField", { name: text })}
        </div>
      )}
    </>
  );
}

/** A list of field names (`x-field` on an array of strings): chips plus a picker. Enter
 *  adds what is typed even when it is not a known field. */
export function FieldChipsWidget(props: FieldProps<ListSpec & { item: FieldPickerSpec }>) {
  const { spec, value, present } = props;
  const { t } = useTranslation("form");
  const ctx = useFormContext();
  const fields = ctx.inputFields(spec.item.port);
  const selected: string[] = present && Array.isArray(value) ? value.map((v) => displayText(v, true)) : [];
  const [inputValue, setInputValue] = useState("");
  const meta = useFieldMeta(spec, props.path, props.label);
  const available = filterFields((fields ?? []).filter((f) => !selected.includes(f.name)), inputValue);

  const commit = (next: string[]) => {
    if (next.length === 0 && !spec.required) props.onRemove();
    else props.onChange(next);
  };
  const add = (name: string) => {
    const n = name.trim();
    if (n && !selected.includes(n)) commit([...selected, n]);
    setInputValue("");
  };
  const move = (index: number, delta: number) => {
    const to = index + delta;
    if (to < 0 || to >= selected.length) return;
    const next = [...selected];
    [next[index], next[to]] = [next[to], next[index]];
    commit(next);
  };

  const { getSelectedItemProps, getDropdownProps, removeSelectedItem } = useMultipleSelection<string>({
    selectedItems: selected,
    onSelectedItemsChange: ({ selectedItems }) => commit(selectedItems ?? []),
  });
  const { isOpen, getInputProps, getMenuProps, getItemProps, getToggleButtonProps, highlightedIndex } = useCombobox<FormField>({
    items: available,
    inputValue,
    selectedItem: null,
    itemToString: (f) => f?.name ?? "",
    itemToKey: (f) => f?.name,
    inputId: meta.id,
    labelId: meta.labelId,
    menuId: `${meta.id}--menu`,
    toggleButtonId: `${meta.id}--toggle`,
    stateReducer: (_state, { changes, type }) => {
      switch (type) {
        case useCombobox.stateChangeTypes.InputKeyDownEnter:
        case useCombobox.stateChangeTypes.ItemClick:
          return { ...changes, isOpen: true, highlightedIndex: 0, inputValue: "" };
        case useCombobox.stateChangeTypes.InputBlur:
          // Leaving the input does not pick the highlighted field behind the user's back.
          return { ...changes, selectedItem: null, inputValue };
        default:
          return changes;
      }
    },
    onStateChange: ({ type, selectedItem, inputValue: typed }) => {
      switch (type) {
        case useCombobox.stateChangeTypes.InputKeyDownEnter:
        case useCombobox.stateChangeTypes.ItemClick:
          if (selectedItem) add(selectedItem.name);
          break;
        case useCombobox.stateChangeTypes.InputChange:
          setInputValue(typed ?? "");
          break;
        default:
          break;
      }
    },
  });

  // getDropdownProps drops its onKeyDown while the menu is open, so Enter-to-add-text is
  // composed here, ahead of Downshift's own handlers.
  const dropdownProps = getDropdownProps({ preventKeyAction: isOpen }) as { onKeyDown?: (e: React.KeyboardEvent) => void };
  const chipInputProps = getInputProps({
    ...dropdownProps,
    "data-testid": meta.inputProps["data-testid"],
    "aria-invalid": meta.inputProps["aria-invalid"],
    "aria-describedby": meta.inputProps["aria-describedby"],
    className: "sl-input sl-input--bare",
    spellCheck: false,
    placeholder: t("addFieldPlaceholder"),
    onKeyDown: (e: React.KeyboardEvent<HTMLInputElement>) => {
      if (e.key === "Enter" && (highlightedIndex < 0 || !isOpen) && inputValue.trim()) {
        add(inputValue);
        (e.nativeEvent as unknown as { preventDownshiftDefault: boolean }).preventDownshiftDefault = true;
        e.preventDefault();
        return;
      }
      dropdownProps.onKeyDown?.(e);
    },
  } as Record<string, unknown>);

  return (
    <FieldShell meta={meta} spec={spec} bare={props.bare} className="sl-field--chips">
      <div className="sl-combobox">
        <div className="sl-chips">
          {selected.map((name, index) => {
            const known = fields?.find((f) => f.name === name);
            return (
              <span
                key={`${name}-${index}`}
                className={known || !fields?.length ? "sl-chip" : "sl-chip sl-chip--unknown"}
                data-testid={`chip-${meta.key}.${index}`}
                title={known ? undefined : fields?.length ? t("notUpstreamField", { name, port: spec.item.port }) : undefined}
                {...getSelectedItemProps({
                  selectedItem: name,
                  index,
                  onKeyDown: (e: React.KeyboardEvent) => {
                    // Alt+←/→ moves a chip: the order of key fields matters.
                    if (e.altKey && (e.key === "ArrowLeft" || e.key === "ArrowRight")) {
                      move(index, e.key === "ArrowLeft" ? -1 : 1);
                      (e.nativeEvent as unknown as { preventDownshiftDefault: boolean }).preventDownshiftDefault = true;
                      e.preventDefault();
                    }
                  },
                })}
              >
                <span className="sl-chip__name">{name}</span>
                {known && <TypeBadge type={known.type} />}
                {selected.length > 1 && (
                  <>
                    <button
                      type="button"
                      className="sl-chip__button"
                      tabIndex={-1}
                      disabled={index === 0}
                      aria-label={t("moveLeft", { name })}
                      title={t("moveLeft", { name })}
                      onClick={(e) => {
                        e.stopPropagation();
                        move(index, -1);
                      }}
                    >
                      <ChevronLeft size={12} aria-hidden />
                    </button>
                    <button
                      type="button"
                      className="sl-chip__button"
                      tabIndex={-1}
                      disabled={index === selected.length - 1}
                      aria-label={t("moveRight", { name })}
                      title={t("moveRight", { name })}
                      onClick={(e) => {
                        e.stopPropagation();
                        move(index, 1);
                      }}
                    >
                      <ChevronRight size={12} aria-hidden />
                    </button>
                  </>
                )}
                <button
                  type="button"
                  className="sl-chip__button"
                  tabIndex={-1}
                  aria-label={t("removeChip", { name })}
                  title={t("removeChip", { name })}
                  onClick={(e) => {
                    e.stopPropagation();
                    removeSelectedItem(name);
                  }}
                >
                  <X size={12} aria-hidden />
                </button>
              </span>
            );
          })}
          <div className="sl-input-row sl-chips__input">
            <input {...chipInputProps} />
            <button type="button" className="sl-icon-button" aria-label={t("showFields")} title={t("showFields")} {...getToggleButtonProps()}>
              <ChevronDown size={14} aria-hidden />
            </button>
          </div>
        </div>
        <FieldMenu
          isOpen={isOpen}
          items={available}
          fields={fields}
          text={inputValue}
          highlightedIndex={highlightedIndex}
          getMenuProps={getMenuProps}
          getItemProps={getItemProps}
        />
      </div>
    </FieldShell>
  );
}
