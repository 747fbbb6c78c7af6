//! SQL databases (SQLite, PostgreSQL, MySQL/MariaDB) for the `sql_source`, `sql_sink` and
//! `lookup` nodes, on sqlx.
//!
//! - [`connections`]: named connections defined once per project or user; passwords from
//!   the environment or the OS keychain, never from a file.
//! - [`db`]: opening a connection, wording errors, reading the catalog.
//! - [`dialect`]: quoting, placeholders, `CREATE TABLE` types, `:name` parameters.
//! - [`types`]: database types ↔ Sluice values, both ways, and PostgreSQL COPY text.
//! - [`read`]: streaming a SELECT.
//! - [`write`]: the sink's writers (COPY, multi-row INSERT, prepared statements) and the
//!   row-by-row retry of a failed batch.
//! - [`finish`]: storing watermarks only after the run's commits.
//!
//! Left out: other databases (SQL Server, Oracle) and schema migrations of target tables
//! beyond creating a missing one.

pub mod connections;
pub mod db;
pub mod design;
pub mod dialect;
pub mod finish;
pub mod read;
pub mod types;
pub mod write;

pub use connections::{ConnectionSpec, Driver};
pub use db::{Access, Db, DbError};
