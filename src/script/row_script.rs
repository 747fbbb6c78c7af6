//! Whole-row scripts, as the `script` node runs them: a Rhai program compiled once into an
//! AST, evaluated per row with the row as a map `row`, plus `emit(port, map)` to send extra
//! rows to named outputs, and the conversions between rows and maps.
//!
//! `emit` lives in a small native module merged into each program's AST rather than in the
//! shared engine, so expressions elsewhere (filter, compute) never see it. It records rows in
//! a thread-local buffer that [`RowProgram::run`] empties after each evaluation: a row is
//! evaluated start to finish on one thread, so the buffer always belongs to the row at hand.
//!
//! Left out: deciding what a result means (keep, drop, several rows), which is the node's
//! business, and any state between rows beyond what the caller keeps in the `Scope`.

use super::parallel::ThreadAst;
use super::{dynamic_to_value, engine, value_to_dynamic, ScriptError};
use crate::value::{DataType, Row, Schema, SchemaRef, Value};
use rhai::{Dynamic, ImmutableString, Map, Module, Scope, AST};
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

/// The key type of a Rhai map (Rhai's identifier string: short names are stored inline).
pub type MapKey = <Map as MapTypes>::Key;

#[doc(hidden)]
pub trait MapTypes {
    type Key;
}
impl<K, V> MapTypes for std::collections::BTreeMap<K, V> {
    type Key = K;
}

/// A row sent with `emit(port, map)` during one evaluation.
pub type Emitted = (ImmutableString, Map);

thread_local! {
    static EMITTED: RefCell<Vec<Emitted>> = const { RefCell::new(Vec::new()) };
}

/// The native functions a row program may call beyond the shared engine's.
fn program_lib() -> &'static AST {
    static LIB: OnceLock<AST> = OnceLock::new();
    LIB.get_or_init(|| {
        let mut m = Module::new();
        m.set_native_fn("emit", |port: ImmutableString, row: Map| -> Result<(), Box<rhai::EvalAltResult>> {
            EMITTED.with(|e| e.borrow_mut().push((port, row)));
            Ok(())
        });
        AST::new_from_module(m)
    })
}

/// A script section compiled once; cheap to share between threads (each evaluates its
/// own copy, see [`ThreadAst`]).
#[derive(Clone)]
pub struct RowProgram {
    ast: ThreadAst,
}

impl RowProgram {
    pub fn compile(source: &str) -> Result<Self, ScriptError> {
        let compile = |s: &str| engine().compile(s).map(|user| program_lib().merge(&user));
        let first = compile(source).map_err(ScriptError::from_parse)?;
        let source: Arc<str> = source.into();
        let ast = ThreadAst::new(first, move || compile(&source).expect("compiled once already"));
        Ok(RowProgram { ast })
    }

    /// Runs the program against `scope`. Returns its value and the rows it emitted, in
    /// the order it emitted them; a failed run emits nothing.
    pub fn run(&self, scope: &mut Scope<'static>) -> Result<(Dynamic, Vec<Emitted>), ScriptError> {
        let result = engine().eval_ast_with_scope::<Dynamic>(scope, &self.ast.get());
        let emitted = EMITTED.with(|e| std::mem::take(&mut *e.borrow_mut()));
        match result {
            Ok(v) => Ok((v, emitted)),
            Err(e) => Err(ScriptError::from_eval(&e)),
        }
    }
}

/// How rows of one input schema become maps, made once per schema rather than per row: a
/// template map with the keys in place (cloning it copies the tree without comparing a
/// key), and which field fills each slot.
pub struct RowKeys {
    template: Map,
    /// Per key of the template, in key order: the field's index in the row.
    order: Vec<usize>,
    /// Fields in the rows these keys are for.
    width: usize,
}

impl RowKeys {
    /// Every field of the schema.
    pub fn new(schema: &Schema) -> Self {
        Self::select(schema, None)
    }

    /// Only the fields in `only` (those the schema has), or every field for `None`.
    pub fn select(schema: &Schema, only: Option<&[String]>) -> Self {
        let mut slots: std::collections::BTreeMap<MapKey, usize> = std::collections::BTreeMap::new();
        for (i, f) in schema.fields().iter().enumerate() {
            if only.is_none_or(|o| o.contains(&f.name)) {
                // A repeated name keeps its first field, as `Schema::index_of` does.
                slots.entry(MapKey::from(f.name.as_str())).or_insert(i);
            }
        }
        RowKeys {
            template: slots.keys().map(|k| (k.clone(), Dynamic::UNIT)).collect(),
            order: slots.into_values().collect(),
            width: schema.len(),
        }
    }

    /// How many fields the rows have (not how many the map gets).
    pub fn width(&self) -> usize {
        self.width
    }

    /// The row as a map of field name → value.
    pub fn to_map(&self, row: &Row) -> Map {
        let mut map = self.template.clone();
        for (slot, &i) in map.values_mut().zip(&self.order) {
            *slot = value_to_dynamic(&row[i]);
        }
        map
    }
}

/// How script results become rows of the output schema.
pub struct OutputShape {
    pub schema: SchemaRef,
    /// Per output field: its name, type, and where it sits in the input row (if it does).
    fields: Vec<(MapKey, DataType, Option<usize>)>,
    /// Output field names in map-key order, with their index: a map is matched against
    /// them in one pass, as both are sorted.
    sorted: Vec<(MapKey, usize)>,
    input: Option<SchemaRef>,
}

impl OutputShape {
    pub fn new(schema: SchemaRef, input: Option<SchemaRef>) -> Self {
        let fields: Vec<(MapKey, DataType, Option<usize>)> = schema
            .fields()
            .iter()
            .map(|f| (MapKey::from(f.name.as_str()), f.data_type, input.as_ref().and_then(|s| s.index_of(&f.name))))
            .collect();
        let mut sorted: Vec<(MapKey, usize)> = fields.iter().enumerate().map(|(i, f)| (f.0.clone(), i)).collect();
        sorted.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        OutputShape { schema, fields, sorted, input }
    }

    /// The values a map sets, converted to their fields' types, by output position. A key
    /// that is neither an output field nor an input field (which `row` carries whether or
    /// not the output keeps it) is an error, so a value a script sets is never lost
    /// without a word.
    fn values_of(&self, map: Map) -> Result<Vec<Option<Value>>, String> {
        let mut out: Vec<Option<Value>> = (0..self.fields.len()).map(|_| None).collect();
        let mut at = 0;
        for (key, d) in map {
            while at < self.sorted.len() && self.sorted[at].0.as_str() < key.as_str() {
                at += 1;
            }
            if at < self.sorted.len() && self.sorted[at].0 == key {
                let i = self.sorted[at].1;
                out[i] = Some(dynamic_to_value(d, Some(self.fields[i].1)).map_err(|e| format!("field '{key}': {e}"))?);
                at += 1;
            } else if self.input.as_ref().is_none_or(|s| s.index_of(&key).is_none()) {
                let hint = match crate::flow::did_you_mean(&key, self.schema.names()) {
                    Some(s) => format!("did you mean '{s}'? "),
                    None => String::new(),
                };
                return Err(format!("the script set field '{key}', which is not an output field; {hint}declare new fields under `fields` with their type"));
            }
        }
        Ok(out)
    }

    /// A map from a script as an output row. A field the map leaves out keeps its value in
    /// `base` (the input row), or is null.
    pub fn row_from_map(&self, map: Map, base: Option<&Row>) -> Result<Row, String> {
        let values = self.values_of(map)?;
        Ok(self.fill(values, |src| base.and_then(|b| b.get(src).cloned()).unwrap_or_default()))
    }

    /// [`OutputShape::row_from_map`] that moves the left-out values out of `base` instead
    /// of copying them. On an error `base` is untouched (it goes to the error output).
    pub fn row_from_map_taking(&self, map: Map, base: &mut Row) -> Result<Row, String> {
        let values = self.values_of(map)?;
        Ok(self.fill(values, |src| base.get_mut(src).map(std::mem::take).unwrap_or_default()))
    }

    fn fill(&self, values: Vec<Option<Value>>, mut from_base: impl FnMut(usize) -> Value) -> Row {
        // Mapped in place: an `Option<Value>` is a `Value` in size, so no second vector.
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| match (v, self.fields[i].2) {
                (Some(v), _) => v,
                (None, Some(src)) => from_base(src),
                (None, None) => Value::Null,
            })
            .collect()
    }

    /// A script value that should be one or more rows (a map or an array of maps) as rows;
    /// `()` gives none.
    pub fn rows_from_value(&self, v: Dynamic, base: Option<&Row>) -> Result<Vec<Row>, String> {
        if v.is_unit() {
            Ok(Vec::new())
        } else if v.is_map() {
            Ok(vec![self.row_from_map(v.cast::<Map>(), base)?])
        } else if v.is_array() {
            let items = v.cast::<rhai::Array>();
            let mut rows = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                if !item.is_map() {
                    return Err(format!("item {} of the returned array is {} ({}), not a map", i + 1, shown(&item), item.type_name()));
                }
                rows.push(self.row_from_map(item.cast::<Map>(), base).map_err(|e| format!("item {}: {e}", i + 1))?);
            }
            Ok(rows)
        } else {
            Err(format!(
                "the script gave {} ({}); give the row map to keep it, () to drop it, or an array of maps for several rows",
                shown(&v),
                v.type_name()
            ))
        }
    }
}

/// A value as text for a message, cut short.
fn shown(v: &Dynamic) -> String {
    let t = v.to_string();
    if t.chars().count() > 60 {
        format!("{}…", t.chars().take(60).collect::<String>())
    } else {
        t
    }
}

/// The flow's params as one Rhai map, for the `params` constant.
pub fn params_map(params: &crate::flow::ParamValues) -> Dynamic {
    let obj: serde_json::Map<String, serde_json::Value> = params.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    rhai::serde::to_dynamic(serde_json::Value::Object(obj)).unwrap_or_else(|_| Dynamic::from_map(Map::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Field;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("id", DataType::Int), Field::new("name", DataType::String)]))
    }

    #[test]
    fn runs_with_row_and_emit() {
        let p = RowProgram::compile("emit(\"side\", #{id: 9}); row.name = row.name + \"!\"; row").unwrap();
        let s = schema();
        let row = vec![Value::Int(1), Value::str("a")];
        let mut scope = Scope::new();
        scope.push("row", RowKeys::new(&s).to_map(&row));
        let (v, emitted) = p.run(&mut scope).unwrap();
        let shape = OutputShape::new(s.clone(), Some(s.clone()));
        assert_eq!(shape.rows_from_value(v, Some(&row)).unwrap(), vec![vec![Value::Int(1), Value::str("a!")]]);
        assert_eq!(emitted.len(), 1);
        assert_eq!(&*emitted[0].0, "side");
        let side = shape.row_from_map(emitted[0].1.clone(), Some(&row)).unwrap();
        assert_eq!(side, vec![Value::Int(9), Value::str("a")], "left-out fields keep the input's values");
    }

    #[test]
    fn unknown_keys_and_odd_results_are_errors() {
        let s = schema();
        let shape = OutputShape::new(s.clone(), Some(s.clone()));
        let mut m = Map::new();
        m.insert("nmae".into(), Dynamic::from(1_i64));
        let e = shape.row_from_map(m, None).unwrap_err();
        assert!(e.contains("'nmae'") && e.contains("did you mean 'name'"), "{e}");
        let e = shape.rows_from_value(Dynamic::from(3_i64), None).unwrap_err();
        assert!(e.contains("gave 3 (i64)"), "{e}");
        let mut m = Map::new();
        m.insert("id".into(), Dynamic::from("x"));
        let e = shape.row_from_map(m, None).unwrap_err();
        assert!(e.contains("field 'id'") && e.contains("as int"), "{e}");
    }
}
