//! Design-time reading of script text: which row fields (`row.name`, `row["name"]`), output
//! ports (`emit("port", …)`) and shared names (`state`) a script or expression mentions, each
//! with its line and column, so a misspelt field or port is reported when the flow is checked
//! instead of quietly reading `()` on every row.
//!
//! This is a light tokenizer, not a parser: it skips comments, strings and character
//! literals, and looks at short token patterns. What it leaves out: data flow (a copy of `row`
//! under another name is not followed) and the insides of back-tick strings with `${…}`.
//! Scripts that rebind `row` themselves (`let row`, closure or function parameters) are not
//! checked for fields, so a finding is never a false alarm about the row.

/// A name found in a script, with its place (1-based, as Rhai counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub name: String,
    pub line: usize,
    pub column: usize,
}

impl Mention {
    /// " (line l, column c)", the same shape as [`super::ScriptError`] messages.
    pub fn place(&self) -> String {
        format!(" (line {}, column {})", self.line, self.column)
    }
}

/// What a script does with `row`: see [`ScriptText::row_usage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowUsage {
    /// Fields named as `row.name` or `row["name"]`.
    pub fields: Vec<String>,
    /// Whether the script may see the map as a whole, so every field must be in it.
    pub whole: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
}

struct Token {
    tok: Tok,
    line: usize,
    column: usize,
}

fn tokenize(source: &str) -> Vec<Token> {
    let mut lx = Lexer { chars: source.chars().collect(), i: 0, line: 1, col: 1 };
    let mut out = Vec::new();
    lx.code(&mut out, false);
    out
}

struct Lexer {
    chars: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    /// Advances over one char, keeping line and column.
    fn step(&mut self) {
        if self.chars[self.i] == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        self.i += 1;
    }

    /// Code up to the end, or (inside `${…}` of a back-tick string) up to its closing `}`.
    fn code(&mut self, out: &mut Vec<Token>, interpolation: bool) {
        let mut depth = 0usize;
        while let Some(c) = self.peek(0) {
            let (line, column) = (self.line, self.col);
            if c.is_whitespace() {
                self.step();
            } else if c == '/' && self.peek(1) == Some('/') {
                while self.peek(0).is_some_and(|c| c != '\n') {
                    self.step();
                }
            } else if c == '/' && self.peek(1) == Some('*') {
                // Rhai block comments nest.
                let mut nest = 0usize;
                while let Some(c) = self.peek(0) {
                    if c == '/' && self.peek(1) == Some('*') {
                        nest += 1;
                        self.step();
                    } else if c == '*' && self.peek(1) == Some('/') {
                        nest -= 1;
                        self.step();
                        if nest == 0 {
                            self.step();
                            break;
                        }
                    }
                    self.step();
                }
            } else if c == '"' || c == '\'' {
                let text = self.quoted(c);
                let tok = if c == '"' { Tok::Str(text) } else { Tok::Punct('\'') };
                out.push(Token { tok, line, column });
            } else if c == '`' {
                self.back_tick(out);
                out.push(Token { tok: Tok::Punct('`'), line, column });
            } else if c.is_ascii_alphabetic() || c == '_' {
                let mut name = String::new();
                while let Some(c) = self.peek(0).filter(|c| c.is_ascii_alphanumeric() || *c == '_') {
                    name.push(c);
                    self.step();
                }
                out.push(Token { tok: Tok::Ident(name), line, column });
            } else if c.is_ascii_digit() {
                while let Some(c) = self.peek(0).filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.') {
                    // `1.5` is one number; `1.max(2)` is a number and a method.
                    if c == '.' && !self.peek(1).is_some_and(|d| d.is_ascii_digit()) {
                        break;
                    }
                    self.step();
                }
            } else {
                if interpolation {
                    if c == '{' {
                        depth += 1;
                    } else if c == '}' {
                        if depth == 0 {
                            self.step();
                            return;
                        }
                        depth -= 1;
                    }
                }
                out.push(Token { tok: Tok::Punct(c), line, column });
                self.step();
            }
        }
    }

    /// A "…" or '…' literal's text, escapes resolved.
    fn quoted(&mut self, quote: char) -> String {
        self.step();
        let mut text = String::new();
        while let Some(c) = self.peek(0).filter(|c| *c != quote) {
            if c == '\\' && self.peek(1).is_some() {
                self.step();
                let e = self.peek(0).unwrap_or_default();
                text.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
            } else {
                text.push(c);
            }
            self.step();
        }
        if self.peek(0).is_some() {
            self.step();
        }
        text
    }

    /// A back-tick string: its text is skipped, the code in its `${…}` is read as code.
    fn back_tick(&mut self, out: &mut Vec<Token>) {
        self.step();
        while let Some(c) = self.peek(0) {
            if c == '`' {
                self.step();
                return;
            } else if c == '$' && self.peek(1) == Some('{') {
                self.step();
                self.step();
                self.code(out, true);
            } else if c == '\\' && self.peek(1).is_some() {
                self.step();
                self.step();
            } else {
                self.step();
            }
        }
    }
}

fn is_ident(t: Option<&Token>, name: &str) -> bool {
    matches!(t, Some(Token { tok: Tok::Ident(n), .. }) if n == name)
}

fn is_punct(t: Option<&Token>, c: char) -> bool {
    matches!(t, Some(Token { tok: Tok::Punct(p), .. }) if *p == c)
}

/// The text's tokens, with the questions the nodes ask of them.
pub struct ScriptText {
    toks: Vec<Token>,
}

impl ScriptText {
    pub fn new(source: &str) -> Self {
        ScriptText { toks: tokenize(source) }
    }

    /// Whether the script gives the name `row` a meaning of its own (a `let`, a closure or
    /// function parameter); then its field mentions say nothing about the input row.
    fn rebinds_row(&self) -> bool {
        let t = &self.toks;
        let declared = self.declares("row");
        // A closure's parameter list: `|a, row|`.
        let closure_param = (0..t.len()).filter(|&i| is_punct(t.get(i), '|')).any(|i| {
            let mut j = i + 1;
            let mut found = false;
            while let Some(Token { tok: Tok::Ident(n), .. }) = t.get(j) {
                found |= n == "row";
                j += 1;
                if !is_punct(t.get(j), ',') {
                    break;
                }
                j += 1;
            }
            found && is_punct(t.get(j), '|')
        });
        declared || closure_param || t.iter().any(|x| matches!(&x.tok, Tok::Ident(n) if n == "fn"))
    }

    /// Fields named through the row map: `row.name` (not a method call such as
    /// `row.keys()`), `row?.name` and `row["name"]`. Empty when the script rebinds `row`.
    pub fn row_fields(&self) -> Vec<Mention> {
        if self.rebinds_row() {
            return Vec::new();
        }
        let t = &self.toks;
        let mut out = Vec::new();
        for i in 0..t.len() {
            if !is_ident(t.get(i), "row") || (i > 0 && is_punct(t.get(i - 1), '.')) {
                continue;
            }
            let mut j = i + 1;
            if is_punct(t.get(j), '?') {
                j += 1;
            }
            if is_punct(t.get(j), '.') {
                if let Some(Token { tok: Tok::Ident(name), line, column }) = t.get(j + 1) {
                    if !is_punct(t.get(j + 2), '(') {
                        out.push(Mention { name: name.clone(), line: *line, column: *column });
                    }
                }
            } else if is_punct(t.get(j), '[') && is_punct(t.get(j + 2), ']') {
                if let Some(Token { tok: Tok::Str(name), line, column }) = t.get(j + 1) {
                    out.push(Mention { name: name.clone(), line: *line, column: *column });
                }
            }
        }
        out
    }

    /// How the script uses the row map: the fields it names, and whether it may also see
    /// the map as a whole (its keys, its size, passing it around). When it cannot, binding
    /// only the named fields is invisible to it: a field it leaves out of the map it gives
    /// back keeps the input's value either way. Anything this reading cannot follow counts
    /// as whole-map use. `overlaid`: whether a map the script gives back (or emits) is laid
    /// over the input row, as the `script` node does; an expression's value is not.
    pub fn row_usage(&self, overlaid: bool) -> RowUsage {
        let fields: Vec<String> = self.row_fields().into_iter().map(|m| m.name).collect();
        let t = &self.toks;
        let mut whole = self.rebinds_row();
        for i in (0..t.len()).filter(|&i| is_ident(t.get(i), "row") && !(i > 0 && is_punct(t.get(i - 1), '.'))) {
            if whole {
                break;
            }
            let mut j = i + 1;
            if is_punct(t.get(j), '?') {
                j += 1;
            }
            let field = if is_punct(t.get(j), '.') {
                matches!(t.get(j + 1), Some(Token { tok: Tok::Ident(_), .. })) && !is_punct(t.get(j + 2), '(')
            } else {
                is_punct(t.get(j), '[') && matches!(t.get(j + 1), Some(Token { tok: Tok::Str(_), .. })) && is_punct(t.get(j + 2), ']')
            };
            let at_statement_start = i == 0 || is_punct(t.get(i - 1), ';') || is_punct(t.get(i - 1), '}');
            // `return row;` and a final `row` hand the map back whole, which is fine: what it
            // lacks, the input fills in. So does `emit("port", row)`.
            let returned = (i > 0 && is_ident(t.get(i - 1), "return")) && (i + 1 == t.len() || is_punct(t.get(i + 1), ';') || is_punct(t.get(i + 1), '}'));
            let tail = i + 1 == t.len() && at_statement_start;
            let emitted = i >= 4
                && is_punct(t.get(i + 1), ')')
                && is_punct(t.get(i - 1), ',')
                && matches!(t.get(i - 2), Some(Token { tok: Tok::Str(_), .. }))
                && is_punct(t.get(i - 3), '(')
                && is_ident(t.get(i - 4), "emit");
            whole = !(field || (overlaid && (returned || tail || emitted)));
        }
        RowUsage { fields, whole }
    }

    /// Ports named as text in `emit("port", …)`.
    pub fn emit_ports(&self) -> Vec<Mention> {
        let t = &self.toks;
        let mut out = Vec::new();
        for i in 0..t.len() {
            if is_ident(t.get(i), "emit") && !(i > 0 && is_punct(t.get(i - 1), '.')) && is_punct(t.get(i + 1), '(') {
                if let Some(Token { tok: Tok::Str(name), line, column }) = t.get(i + 2) {
                    out.push(Mention { name: name.clone(), line: *line, column: *column });
                }
            }
        }
        out
    }

    /// Whether the script declares a variable `name` of its own (`let`, `const`).
    pub fn declares(&self, name: &str) -> bool {
        let t = &self.toks;
        (1..t.len()).any(|i| is_ident(t.get(i), name) && (is_ident(t.get(i - 1), "let") || is_ident(t.get(i - 1), "const")))
    }

    /// The first use of `name` as a variable: not a property (`x.name`), not a map key
    /// (`#{name: 1}`), not inside a string.
    pub fn variable(&self, name: &str) -> Option<Mention> {
        let t = &self.toks;
        (0..t.len())
            .find(|&i| {
                let property = i > 0 && is_punct(t.get(i - 1), '.');
                let map_key = is_punct(t.get(i + 1), ':') && !is_punct(t.get(i + 2), ':');
                is_ident(t.get(i), name) && !property && !map_key
            })
            .map(|i| Mention { name: name.to_string(), line: t[i].line, column: t[i].column })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(m: Vec<Mention>) -> Vec<String> {
        m.into_iter().map(|m| m.name).collect()
    }

    #[test]
    fn finds_row_fields_outside_strings_and_comments() {
        let s = ScriptText::new(
            "// row.commented\nlet p = row.priority; /* row.hidden */\nif row[\"first name\"] == \"row.x\" { row.keys(); row?.email } else { row.size = 1; row }",
        );
        assert_eq!(names(s.row_fields()), vec!["priority", "first name", "email", "size"]);
        let m = &s.row_fields()[0];
        assert_eq!((m.line, m.column), (2, 13));
    }

    #[test]
    fn knows_when_a_script_may_see_the_whole_row() {
        let usage = |src: &str| ScriptText::new(src).row_usage(true);
        let u = usage("if row.priority == \"low\" { return (); }\nrow.phone = mask_phone(row[\"phone\"]);\nemit(\"x\", row);\nrow");
        assert_eq!((u.fields, u.whole), (vec!["priority".to_string(), "phone".into(), "phone".into()], false));
        assert!(!usage("if row.a { return row; } ()").whole);
        assert!(!usage("`${row.a}!`").whole);
        for src in [
            "row.keys()",
            "row.len() > 3",
            "for x in row { }",
            "to_json(row)",
            "let r = row; r",
            "if row.a { row }",
            "row[name]",
            "`${row}`",
            "\"a\" in row",
            "row = #{}; row",
            "fn f(row) { row } row.a",
        ] {
            assert!(usage(src).whole, "{src}");
        }
        assert!(ScriptText::new("row").row_usage(false).whole, "an expression's value is not laid over the row");
        assert!(!ScriptText::new("row.a + row[\"b c\"]").row_usage(false).whole);
    }

    #[test]
    fn back_tick_strings_are_read_for_their_code_only() {
        let s = ScriptText::new("`row.no ${row.yes + `${ row.deep }`} state`");
        assert_eq!(names(s.row_fields()), vec!["yes", "deep"]);
        assert_eq!(s.variable("state"), None);
    }

    #[test]
    fn rebinding_row_turns_the_field_check_off() {
        assert!(ScriptText::new("let row = #{}; row.anything").row_fields().is_empty());
        assert!(ScriptText::new("[1].map(|i, row| row.x)").row_fields().is_empty());
        assert_eq!(names(ScriptText::new("emit(\"x\", row); [row, row.a]").row_fields()), vec!["a"]);
    }

    #[test]
    fn finds_emit_ports_and_free_variables() {
        let s = ScriptText::new("emit(\"urgent\", row); x.emit(\"no\"); let m = #{state: 1}; row.state");
        assert_eq!(names(s.emit_ports()), vec!["urgent"]);
        assert_eq!(s.variable("state"), None);
        let s = ScriptText::new("\n  state.count += 1;");
        assert_eq!(s.variable("state").map(|m| (m.line, m.column)), Some((2, 3)));
        assert!(ScriptText::new("let state = 1; state + 1").declares("state"));
    }
}
