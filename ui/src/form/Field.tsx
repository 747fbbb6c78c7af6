// Picks the widget for a field descriptor.

import type { FieldProps } from "./fieldProps";
import type {
  BooleanSpec, CodeSpec, EnumSpec, FieldPickerSpec, JsonSpec, ListSpec, MapSpec, NumberSpec, ObjectSpec, PathSpec, SecretSpec, TextSpec, VariantSpec,
} from "./schemaToForm";
import { BooleanWidget, EnumWidget, JsonWidget, NumberWidget, PathWidget, SecretWidget, TextWidget } from "./widgets/scalars";
import { FieldPickerWidget } from "./widgets/FieldPicker";
import { ListWidget, MapWidget, ObjectWidget, VariantWidget } from "./widgets/containers";
import { CodeWidget } from "./widgets/CodeWidget";

export function Field(props: FieldProps) {
  const { spec } = props;
  switch (spec.kind) {
    case "text":
      return <TextWidget {...(props as FieldProps<TextSpec>)} />;
    case "number":
    case "integer":
      return <NumberWidget {...(props as FieldProps<NumberSpec>)} />;
    case "boolean":
      return <BooleanWidget {...(props as FieldProps<BooleanSpec>)} />;
    case "enum":
      return <EnumWidget {...(props as FieldProps<EnumSpec>)} />;
    case "secret":
      return <SecretWidget {...(props as FieldProps<SecretSpec>)} />;
    case "path":
      return <PathWidget {...(props as FieldProps<PathSpec>)} />;
    case "field-picker":
      return <FieldPickerWidget {...(props as FieldProps<FieldPickerSpec>)} />;
    case "code":
      return <CodeWidget {...(props as FieldProps<CodeSpec>)} />;
    case "json":
      return <JsonWidget {...(props as FieldProps<JsonSpec>)} />;
    case "list":
      return <ListWidget {...(props as FieldProps<ListSpec>)} />;
    case "object":
      return <ObjectWidget {...(props as FieldProps<ObjectSpec>)} />;
    case "map":
      return <MapWidget {...(props as FieldProps<MapSpec>)} />;
    case "variant":
      return <VariantWidget {...(props as FieldProps<VariantSpec>)} />;
  }
}
