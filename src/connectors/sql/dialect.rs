//! What differs between SQLite, PostgreSQL and MySQL/MariaDB in the SQL Sluice writes:
//! identifier quoting, parameter placeholders, column types for `CREATE TABLE`, and the
//! upsert clause. Also the one place that turns `:name` parameters in a user's query into
//! the dialect's placeholders, so values are always bound, never spliced into the text.
//!
//! Left out: parsing SQL beyond what finding parameters needs (quotes, comments, `::`).

use super::connections::Driver;
use crate::value::DataType;

/// A SQL dialect (one per driver).
pub type Dialect = Driver;

impl Driver {
    /// Quotes one identifier: `"name"` (PostgreSQL, SQLite) or `` `name` `` (MySQL).
    pub fn quote_ident(self, name: &str) -> String {
        match self {
            Driver::Mysql => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// Quotes a table name that may carry a schema (`crm.tickets`).
    pub fn quote_table(self, table: &str) -> String {
        let (schema, name) = split_table(table);
        match schema {
            Some(s) => format!("{}.{}", self.quote_ident(s), self.quote_ident(name)),
            None => self.quote_ident(name),
        }
    }

    /// The placeholder for the `n`th (1-based) bound value.
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Driver::Postgres => format!("${n}"),
            _ => "?".to_string(),
        }
    }

    /// Column type for `CREATE TABLE` from a Sluice type. Key columns on MySQL need a
    /// bounded length to be indexed, hence `VARCHAR(255)` there.
    pub fn ddl_type(self, ty: DataType, is_key: bool) -> &'static str {
        match (self, ty) {
            (Driver::Postgres, DataType::Bool) => "boolean",
            (Driver::Postgres, DataType::Int) => "bigint",
            (Driver::Postgres, DataType::Float) => "double precision",
            (Driver::Postgres, DataType::Decimal) => "numeric",
            (Driver::Postgres, DataType::String) => "text",
            (Driver::Postgres, DataType::Date) => "date",
            (Driver::Postgres, DataType::DateTime) => "timestamptz",
            (Driver::Postgres, DataType::Json) => "jsonb",
            (Driver::Mysql, DataType::Bool) => "BOOLEAN",
            (Driver::Mysql, DataType::Int) => "BIGINT",
            (Driver::Mysql, DataType::Float) => "DOUBLE",
            // MySQL needs a precision; 38 digits with 10 after the point covers money and
            // scores. Wider values fail loudly rather than being rounded.
            (Driver::Mysql, DataType::Decimal) => "DECIMAL(38,10)",
            (Driver::Mysql, DataType::String) if is_key => "VARCHAR(255)",
            (Driver::Mysql, DataType::String) => "LONGTEXT",
            (Driver::Mysql, DataType::Date) => "DATE",
            // DATETIME holds the UTC wall time (TIMESTAMP stops in 2038).
            (Driver::Mysql, DataType::DateTime) => "DATETIME(6)",
            (Driver::Mysql, DataType::Json) => "JSON",
            (Driver::Sqlite, DataType::Bool) => "BOOLEAN",
            (Driver::Sqlite, DataType::Int) => "INTEGER",
            (Driver::Sqlite, DataType::Float) => "REAL",
            // TEXT storage keeps every digit (a DECIMAL declaration would make SQLite
            // convert to floating point); the name tells Sluice to read it as a decimal.
            (Driver::Sqlite, DataType::Decimal) => "DECIMAL_TEXT",
            (Driver::Sqlite, DataType::String) => "TEXT",
            (Driver::Sqlite, DataType::Date) => "DATE",
            (Driver::Sqlite, DataType::DateTime) => "TIMESTAMP",
            (Driver::Sqlite, DataType::Json) => "JSON",
        }
    }

    /// `DELETE FROM` where `TRUNCATE` would end a transaction or does not exist.
    pub fn truncate_sql(self, quoted_table: &str, in_run_transaction: bool) -> String {
        match self {
            Driver::Postgres => format!("TRUNCATE TABLE {quoted_table}"),
            // MySQL's TRUNCATE commits the open transaction; DELETE keeps all-or-nothing.
            Driver::Mysql if !in_run_transaction => format!("TRUNCATE TABLE {quoted_table}"),
            _ => format!("DELETE FROM {quoted_table}"),
        }
    }
}

/// Splits `schema.table` (a single dot; no dot means the default schema).
pub fn split_table(table: &str) -> (Option<&str>, &str) {
    match table.split_once('.') {
        Some((s, t)) if !s.is_empty() && !t.is_empty() => (Some(s), t),
        _ => (None, table),
    }
}

/// A user query with `:name` parameters rewritten to the dialect's placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundQuery {
    pub sql: String,
    /// Parameter names in placeholder order (a name used twice appears twice).
    pub params: Vec<String>,
}

/// Rewrites `:name` parameters to placeholders, starting at `first` (1-based), skipping
/// string literals, quoted identifiers, comments, PostgreSQL `::casts` and `$$` bodies.
pub fn bind_named_params(sql: &str, dialect: Dialect, first: usize) -> BoundQuery {
    rewrite_named_params(sql, dialect, |n| dialect.placeholder(first + n))
}

/// The query with every `:name` parameter replaced by `NULL` (for describing its columns
/// where placeholders are not allowed, as in a SQLite view).
pub fn named_params_as_null(sql: &str, dialect: Dialect) -> String {
    rewrite_named_params(sql, dialect, |_| "NULL".to_string()).sql
}

fn rewrite_named_params(sql: &str, dialect: Dialect, mut placeholder: impl FnMut(usize) -> String) -> BoundQuery {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut params = Vec::new();
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' | b'`' => {
                let q = c;
                i += 1;
                while i < b.len() {
                    if b[i] == b'\\' && q != b'"' && dialect == Driver::Mysql {
                        i += 2;
                        continue;
                    }
                    if b[i] == q {
                        if i + 1 < b.len() && b[i + 1] == q {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'$' if dialect == Driver::Postgres => {
                // $tag$ ... $tag$ bodies
                let start = i;
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if j < b.len() && b[j] == b'$' && !b[i + 1..j].first().is_some_and(u8::is_ascii_digit) {
                    let tag = &sql[start..=j];
                    match sql[j + 1..].find(tag) {
                        Some(end) => i = j + 1 + end + tag.len(),
                        None => i = b.len(),
                    }
                } else {
                    i = j;
                }
            }
            b':' if b.get(i + 1) == Some(&b':') => i += 2,
            b':' if b.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic() || *n == b'_') && (i == 0 || b[i - 1] != b':') => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                out.push_str(&sql[last..i]);
                params.push(sql[i + 1..j].to_string());
                out.push_str(&placeholder(params.len() - 1));
                last = j;
                i = j;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[last.min(sql.len())..]);
    BoundQuery { sql: out, params }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_params_become_placeholders_outside_literals() {
        let q = bind_named_params("select * from t where a = :a and b = ':x' and c::text = :c -- :no\n and d = :a", Driver::Postgres, 1);
        assert_eq!(q.sql, "select * from t where a = $1 and b = ':x' and c::text = $2 -- :no\n and d = $3");
        assert_eq!(q.params, vec!["a", "c", "a"]);
        let q = bind_named_params("select `a:b` from t where x = :v", Driver::Mysql, 1);
        assert_eq!(q.sql, "select `a:b` from t where x = ?");
        let q = bind_named_params("select $$ :no $$, :yes", Driver::Postgres, 4);
        assert_eq!(q.sql, "select $$ :no $$, $4");
    }

    #[test]
    fn identifiers_are_quoted_per_dialect() {
        assert_eq!(Driver::Postgres.quote_table("crm.tick\"ets"), "\"crm\".\"tick\"\"ets\"");
        assert_eq!(Driver::Mysql.quote_ident("we`ird"), "`we``ird`");
        assert_eq!(Driver::Sqlite.quote_table("tickets"), "\"tickets\"");
    }
}
