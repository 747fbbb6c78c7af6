//! Field names and types shared by the rows of a batch, and known at design time where a
//! node can tell (a CSV header, a config) so downstream pickers and checks can use them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The type of a field. Serialised in lower case (`"int"`, `"datetime"`) in flow files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    Bool,
    Int,
    Float,
    /// Exact decimal number (money).
    Decimal,
    String,
    /// A calendar date without time.
    Date,
    /// An instant with a UTC offset.
    DateTime,
    /// Nested JSON (objects, arrays).
    Json,
}

impl DataType {
    pub fn name(self) -> &'static str {
        match self {
            DataType::Bool => "bool",
            DataType::Int => "int",
            DataType::Float => "float",
            DataType::Decimal => "decimal",
            DataType::String => "string",
            DataType::Date => "date",
            DataType::DateTime => "datetime",
            DataType::Json => "json",
        }
    }

    pub const ALL: [DataType; 8] = [
        DataType::Bool,
        DataType::Int,
        DataType::Float,
        DataType::Decimal,
        DataType::String,
        DataType::Date,
        DataType::DateTime,
        DataType::Json,
    ];
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A named, typed field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct Field {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: DataType,
}

impl Field {
    pub fn new(name: impl Into<String>, data_type: DataType) -> Self {
        Field { name: name.into(), data_type }
    }
}

/// An ordered list of fields with a name index.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    fields: Vec<Field>,
    index: HashMap<String, usize>,
}

pub type SchemaRef = Arc<Schema>;

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        self.fields == other.fields
    }
}

impl Schema {
    /// Builds a schema. A repeated name keeps its first position in the index; callers that
    /// take names from files make them unique first (see [`Schema::unique_names`]).
    pub fn new(fields: Vec<Field>) -> Self {
        let mut index = HashMap::with_capacity(fields.len());
        for (i, f) in fields.iter().enumerate() {
            index.entry(f.name.clone()).or_insert(i);
        }
        Schema { fields, index }
    }

    pub fn into_ref(self) -> SchemaRef {
        Arc::new(self)
    }

    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.index_of(name).map(|i| &self.fields[i])
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }

    /// Makes header names usable as field names: blanks become `field_N`, repeats get a
    /// `_2`, `_3` suffix, so every field stays addressable.
    pub fn unique_names<I: IntoIterator<Item = String>>(names: I) -> Vec<String> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::new();
        for (i, raw) in names.into_iter().enumerate() {
            let base = if raw.trim().is_empty() { format!("field_{}", i + 1) } else { raw.trim().to_string() };
            let mut name = base.clone();
            let mut n = 1;
            while seen.contains_key(&name) {
                n += 1;
                name = format!("{base}_{n}");
            }
            seen.insert(name.clone(), i);
            out.push(name);
        }
        out
    }
}

impl Serialize for Schema {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.fields.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Schema {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Schema::new(Vec::<Field>::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_fixes_blanks_and_repeats() {
        let names = Schema::unique_names(vec!["a".into(), "".into(), "a".into(), " b ".into()]);
        assert_eq!(names, vec!["a", "field_2", "a_2", "b"]);
    }
}
