//! Rhai, the one language for expressions (filter, compute, route conditions) and script
//! nodes. One sandboxed engine set-up for all of them: operation, call-depth and size limits,
//! no `eval`, and no file, process or network access (Rhai's core has none, and no package
//! that adds them is registered).
//!
//! An expression is compiled once per node, never per row. Only the fields it names are
//! bound for each row, so a condition on two fields of a 40-field row converts two values.

mod convert;
pub mod lint;
pub mod parallel;
pub mod row_script;

pub use convert::{dynamic_to_value, value_to_dynamic};
pub use row_script::{OutputShape, RowKeys, RowProgram};

use crate::value::{Row, Schema};
use rhai::{Dynamic, Engine, Scope};
use std::sync::{Arc, OnceLock};

/// Limits applied to every expression and script (per row).
pub const MAX_OPERATIONS: u64 = 1_000_000;
const MAX_CALL_LEVELS: usize = 32;
const MAX_STRING_SIZE: usize = 4 * 1024 * 1024;
const MAX_ARRAY_SIZE: usize = 100_000;
const MAX_MAP_SIZE: usize = 10_000;

/// The shared sandboxed engine.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut e = Engine::new();
        e.set_max_operations(MAX_OPERATIONS);
        e.set_max_call_levels(MAX_CALL_LEVELS);
        e.set_max_expr_depths(64, 32);
        e.set_max_string_size(MAX_STRING_SIZE);
        e.set_max_array_size(MAX_ARRAY_SIZE);
        e.set_max_map_size(MAX_MAP_SIZE);
        e.disable_symbol("eval");
        // No string interning: Rhai's interner takes one engine-wide write lock for every
        // string a script assigns and rescans its cache once full — a lock all threads
        // queue on, and a cost per row that buys nothing for row data.
        e.set_max_strings_interned(0);
        crate::functions::register_all(&mut e);
        // print/debug go to the tracing log, never to stdout where rows may be written.
        e.on_print(|s| tracing::info!(target: "script", "{s}"));
        e.on_debug(|s, _, pos| tracing::debug!(target: "script", "{pos:?}: {s}"));
        e
    })
}

/// A compile or run-time error with its place in the source.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}{}", position_suffix(*line, *column))]
pub struct ScriptError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

fn position_suffix(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        (Some(l), None) => format!(" (line {l})"),
        _ => String::new(),
    }
}

impl ScriptError {
    fn from_parse(e: rhai::ParseError) -> Self {
        ScriptError { message: e.err_type().to_string(), line: e.position().line(), column: e.position().position() }
    }

    fn from_eval(e: &rhai::EvalAltResult) -> Self {
        let pos = e.position();
        let mut message = e.to_string();
        // Rhai appends " (line x, position y)"; we keep the position as data instead.
        if let Some(i) = message.rfind(" (line ") {
            message.truncate(i);
        }
        if matches!(e, rhai::EvalAltResult::ErrorTooManyOperations(_)) {
            message = format!("the script ran more than {MAX_OPERATIONS} operations on one row (an endless loop?)");
        }
        ScriptError { message, line: pos.line(), column: pos.position() }
    }
}

/// An expression compiled for rows of one schema.
pub struct CompiledExpr {
    ast: parallel::ThreadAst,
    source: String,
    /// (field index in the row, variable name) for every field the expression names. The
    /// names are Rhai identifiers already, so binding them per row copies no heap string.
    bound: Vec<(usize, row_script::MapKey)>,
    /// Map keys for `row` (the whole row as a map), when the expression uses it.
    row_keys: Option<RowKeys>,
}

impl CompiledExpr {
    /// Compiles `source` as an expression. The schema decides which names are fields.
    pub fn compile(source: &str, schema: &Schema) -> Result<Self, ScriptError> {
        let ast = engine().compile_expression(source).map_err(ScriptError::from_parse)?;
        let text: Arc<str> = source.into();
        let ast = parallel::ThreadAst::new(ast, move || engine().compile_expression(&text).expect("compiled once already"));
        Ok(Self::bind(ast, source, schema))
    }

    /// Checks that `source` compiles, without a schema (design time).
    pub fn check(source: &str) -> Result<(), ScriptError> {
        engine().compile_expression(source).map(|_| ()).map_err(ScriptError::from_parse)
    }

    fn bind(ast: parallel::ThreadAst, source: &str, schema: &Schema) -> Self {
        let words = identifiers(source);
        let bound = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| words.iter().any(|w| *w == f.name))
            .map(|(i, f)| (i, row_script::MapKey::from(f.name.as_str())))
            .collect();
        // Only the fields named as `row.x` go into the map, unless the expression may look at
        // the map as a whole.
        let row_keys = words.contains(&"row").then(|| {
            let usage = lint::ScriptText::new(source).row_usage(false);
            RowKeys::select(schema, (!usage.whole).then_some(usage.fields.as_slice()))
        });
        CompiledExpr { ast, source: source.to_string(), bound, row_keys }
    }

    /// The same expression bound to another schema (batches may change schema).
    pub fn rebind(&self, schema: &Schema) -> Self {
        Self::bind(self.ast.clone(), &self.source, schema)
    }

    /// Evaluates against one row.
    pub fn eval(&self, schema: &Schema, row: &Row, scope: &mut Scope<'static>) -> Result<Dynamic, ScriptError> {
        scope.clear();
        for (i, name) in &self.bound {
            scope.push_constant_dynamic(name.clone(), value_to_dynamic(&row[*i]));
        }
        if let Some(keys) = &self.row_keys {
            debug_assert_eq!(schema.len(), keys.width(), "the expression is bound to this schema");
            scope.push("row", keys.to_map(row));
        }
        engine().eval_ast_with_scope::<Dynamic>(scope, &self.ast.get()).map_err(|e| ScriptError::from_eval(&e))
    }

    /// Evaluates a condition: `true` keeps, `false` or `()` (a null) does not; anything
    /// else is an error naming what came back.
    pub fn eval_bool(&self, schema: &Schema, row: &Row, scope: &mut Scope<'static>) -> Result<bool, ScriptError> {
        let v = self.eval(schema, row, scope)?;
        if let Ok(b) = v.as_bool() {
            return Ok(b);
        }
        if v.is_unit() {
            return Ok(false);
        }
        Err(ScriptError {
            message: format!("the condition gave {} ({}) instead of true or false", v, v.type_name()),
            line: None,
            column: None,
        })
    }
}

/// Identifier-like words of a source text (a cheap over-approximation of the variables
/// it reads; binding an unused field costs little, missing a used one would be a bug).
fn identifiers(source: &str) -> Vec<&str> {
    source
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && !w.chars().next().unwrap().is_ascii_digit())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{DataType, Field, Value};

    fn schema() -> Schema {
        Schema::new(vec![Field::new("priority", DataType::String), Field::new("satisfaction", DataType::Int)])
    }

    #[test]
    fn condition_sees_fields_and_nulls() {
        let s = schema();
        let e = CompiledExpr::compile(r#"priority == "urgent" || (satisfaction != () && satisfaction <= 2)"#, &s).unwrap();
        let mut scope = Scope::new();
        assert!(e.eval_bool(&s, &vec![Value::str("urgent"), Value::Null], &mut scope).unwrap());
        assert!(!e.eval_bool(&s, &vec![Value::str("low"), Value::Null], &mut scope).unwrap());
        assert!(e.eval_bool(&s, &vec![Value::str("low"), Value::Int(1)], &mut scope).unwrap());
    }

    #[test]
    fn strings_are_not_interned() {
        // Interning locks the whole engine per string assignment; with it, a script node
        // on two threads ran W1 four times slower than on one.
        assert_eq!(engine().max_strings_interned(), 0);
    }

    #[test]
    fn errors_carry_positions_and_limits_hold() {
        let err = CompiledExpr::check("priority == ").unwrap_err();
        assert_eq!(err.line, Some(1));
        let s = schema();
        // An expression cannot hold statements, so it cannot loop; scripts can, and meet the
        // operation limit instead.
        assert!(CompiledExpr::check("{ let x = 0; loop { x += 1; } }").is_err());
        let p = RowProgram::compile("let x = 0; loop { x += 1; }").unwrap();
        let err = p.run(&mut Scope::new()).unwrap_err();
        assert!(err.message.contains("more than"), "{err}");
        assert!(CompiledExpr::check(r#"eval("1")"#).is_err() || {
            let e = CompiledExpr::compile(r#"eval("1")"#, &s).unwrap();
            e.eval(&s, &vec![Value::Null, Value::Null], &mut Scope::new()).is_err()
        });
    }
}
