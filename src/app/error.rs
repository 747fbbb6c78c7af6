//! Building [`AppError`]s: the one shape every failure crosses the boundary in, so the
//! designer can place it (node, field, every diagnostic) instead of showing a bare string.

use super::api::{AppError, AppErrorKind};
use crate::flow::{Diagnostic, Diagnostics};

impl AppError {
    pub fn new(kind: AppErrorKind, message: impl Into<String>) -> Self {
        AppError { kind, message: message.into(), node_id: None, field: None, diagnostics: Vec::new() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        AppError::new(AppErrorKind::BadRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        AppError::new(AppErrorKind::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        AppError::new(AppErrorKind::Internal, message)
    }

    pub fn node(mut self, node_id: impl Into<String>) -> Self {
        self.node_id = Some(node_id.into());
        self
    }

    /// A flow that cannot be read or run: the first error leads the message and names its
    /// node and field; every diagnostic (warnings too) comes along for the canvas.
    pub fn invalid_flow(what: &str, diags: Diagnostics) -> Self {
        let first = diags.errors().next().or(diags.0.first()).cloned();
        let errors = diags.errors().count();
        let message = match &first {
            Some(d) if errors > 1 => format!("{what}: {} (and {} more problem{})", describe(d), errors - 1, plural(errors - 1)),
            Some(d) => format!("{what}: {}", describe(d)),
            None => what.to_string(),
        };
        AppError {
            kind: AppErrorKind::InvalidFlow,
            message,
            node_id: first.as_ref().and_then(|d| d.node_id.clone()),
            field: first.as_ref().and_then(|d| d.field.clone()),
            diagnostics: diags.0,
        }
    }

    /// A failed file operation, naming the file; a missing file is `not_found`.
    pub fn io(action: &str, path: &std::path::Path, err: &std::io::Error) -> Self {
        let kind = if err.kind() == std::io::ErrorKind::NotFound { AppErrorKind::NotFound } else { AppErrorKind::Io };
        AppError::new(kind, format!("cannot {action} {}: {err}", path.display()))
    }
}

fn describe(d: &Diagnostic) -> String {
    let mut s = String::new();
    if let (Some(l), Some(c)) = (d.line, d.column) {
        s.push_str(&format!("line {l}, column {c}: "));
    }
    if let Some(n) = &d.node_id {
        s.push_str(&format!("node '{n}': "));
    }
    s.push_str(&d.message);
    s
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
