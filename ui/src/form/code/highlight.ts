// Token classes for the form's code editors, styled in form.css with the shell's colour
// variables (CodeMirror's default style has fixed colours and no function-call class).
import { tagHighlighter, tags } from "@lezer/highlight";

export const formHighlighter = tagHighlighter([
  { tag: tags.keyword, class: "tok-keyword" },
  { tag: [tags.atom, tags.bool, tags.null], class: "tok-atom" },
  { tag: tags.number, class: "tok-number" },
  { tag: tags.string, class: "tok-string" },
  { tag: [tags.special(tags.string), tags.processingInstruction, tags.escape], class: "tok-interpolation" },
  { tag: tags.comment, class: "tok-comment" },
  { tag: tags.operator, class: "tok-operator" },
  { tag: [tags.function(tags.variableName), tags.function(tags.propertyName)], class: "tok-function" },
  { tag: tags.special(tags.variableName), class: "tok-special" },
  { tag: tags.propertyName, class: "tok-property" },
  { tag: tags.variableName, class: "tok-variable" },
  { tag: [tags.typeName, tags.standard(tags.name)], class: "tok-type" },
  { tag: tags.invalid, class: "tok-invalid" },
]);
