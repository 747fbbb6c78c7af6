// Rhai highlighting for CodeMirror 6.
//
// Why a hand-written tokenizer: there is no maintained Lezer grammar (nor a CodeMirror
// package) for Rhai, and highlighting needs only its lexical layer, which is small and
// regular — keywords, strings (with backtick `${…}` interpolation), numbers, comments,
// operators and calls. A `StreamLanguage` tokenizer covers that in a page. Parse errors come
// from the engine's own compiler (diagnostics with line and column), never from the editor.

import { StreamLanguage, type StreamParser, type StringStream } from "@codemirror/language";

export const RHAI_KEYWORDS = [
  "let", "const", "if", "else", "switch", "do", "while", "until", "loop", "for", "in",
  "continue", "break", "return", "throw", "try", "catch", "fn", "private", "import",
  "export", "as", "global", "is_shared", "is", "Fn", "call", "curry", "type_of", "print", "debug",
];
const KEYWORDS = new Set(RHAI_KEYWORDS.filter((k) => !["Fn", "call", "curry", "type_of", "print", "debug", "is_shared"].includes(k)));
const ATOMS = new Set(["true", "false"]);
/** Names the engine binds for expressions and scripts. */
export const RHAI_SPECIAL_VARIABLES = ["row", "state", "params"];
const SPECIAL = new Set([...RHAI_SPECIAL_VARIABLES, "this"]);

type Context = { kind: "template" } | { kind: "interpolation"; braces: number };

export interface RhaiState {
  /** Nesting depth of `/* … *\/` comments (Rhai nests them). */
  commentDepth: number;
  /** Open backtick strings and the `${…}` inside them, innermost last. */
  contexts: Context[];
  /** The previous token was `.` or `?.`, so a name is a property. */
  afterDot: boolean;
}

function blockComment(stream: StringStream, state: RhaiState): string {
  while (!stream.eol()) {
    if (stream.match("/*")) state.commentDepth++;
    else if (stream.match("*/")) {
      state.commentDepth--;
      if (state.commentDepth === 0) break;
    } else stream.next();
  }
  return "comment";
}

function quoted(stream: StringStream, quote: string): void {
  let escaped = false;
  let ch: string | void;
  while ((ch = stream.next()) != null) {
    if (ch === quote && !escaped) return;
    escaped = !escaped && ch === "\\";
  }
}

const NUMBER = /^(?:0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)/;
const OPERATOR = /^(?:\?\.|\?\?|\.\.=|\.\.|::|=>|==|!=|<=|>=|&&|\|\||<<=|>>=|<<|>>|[+\-*/%^&|]=?|\*\*=?|[=<>!~?:.])/;

export const rhaiParser: StreamParser<RhaiState> = {
  name: "rhai",
  startState: () => ({ commentDepth: 0, contexts: [], afterDot: false }),
  copyState: (s) => ({ commentDepth: s.commentDepth, contexts: s.contexts.map((c) => ({ ...c })), afterDot: s.afterDot }),
  token(stream, state) {
    if (state.commentDepth > 0) return blockComment(stream, state);
    const top = state.contexts[state.contexts.length - 1];

    if (top?.kind === "template") {
      if (stream.match("${")) {
        state.contexts.push({ kind: "interpolation", braces: 0 });
        return "processingInstruction";
      }
      if (stream.eat("`")) {
        state.contexts.pop();
        return "string";
      }
      while (!stream.eol()) {
        if (stream.peek() === "`" || stream.match("${", false)) break;
        stream.next();
      }
      return "string";
    }

    if (stream.eatSpace()) return null;
    const wasAfterDot = state.afterDot;
    state.afterDot = false;

    if (top?.kind === "interpolation") {
      if (stream.peek() === "}") {
        if (top.braces === 0) {
          stream.next();
          state.contexts.pop();
          return "processingInstruction";
        }
        top.braces--;
      } else if (stream.peek() === "{") top.braces++;
    }

    if (stream.match("//")) {
      stream.skipToEnd();
      return "comment";
    }
    if (stream.match("/*")) {
      state.commentDepth = 1;
      return blockComment(stream, state);
    }
    const ch = stream.peek();
    if (ch === '"' || ch === "'") {
      stream.next();
      quoted(stream, ch);
      return "string";
    }
    if (ch === "`") {
      stream.next();
      state.contexts.push({ kind: "template" });
      return "string";
    }
    if (stream.match(NUMBER)) return "number";
    if (stream.match("#{")) {
      if (top?.kind === "interpolation") top.braces++;
      return "brace";
    }
    const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/) as RegExpMatchArray | null;
    if (word) {
      const name = word[0];
      if (wasAfterDot) return stream.match(/^\s*\(/, false) ? "propertyName.function" : "propertyName";
      if (KEYWORDS.has(name)) return "keyword";
      if (ATOMS.has(name)) return "bool";
      if (SPECIAL.has(name)) return "variableName.special";
      if (stream.match(/^\s*!?\s*\(/, false)) return "variableName.function";
      return "variableName";
    }
    if (stream.match("()")) return "atom";
    const op = stream.match(OPERATOR) as RegExpMatchArray | null;
    if (op) {
      if (op[0] === "." || op[0] === "?.") state.afterDot = true;
      return "operator";
    }
    const c = stream.next();
    if (c === "(" || c === ")" || c === "[" || c === "]") return "paren";
    if (c === "{" || c === "}") return "brace";
    if (c === "," || c === ";") return "separator";
    return null;
  },
  languageData: {
    commentTokens: { line: "//", block: { open: "/*", close: "*/" } },
    closeBrackets: { brackets: ["(", "[", "{", '"', "`"] },
  },
};

export const rhaiLanguage = StreamLanguage.define(rhaiParser);
