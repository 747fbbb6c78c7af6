//! Sending rows one at a time in full batches: for nodes that emit rows they held (sort,
//! dedupe's `last`, reservoir sampling, join), whose rows may carry different schemas.

use crate::exec::{NodeError, NodeIo};
use crate::value::{Batch, Row, SchemaRef};
use std::sync::Arc;

/// Collects rows into batches of the run's batch size and sends each when full; a row with
/// another schema than the batch being filled starts a new batch.
pub struct RowSender {
    port: &'static str,
    size: usize,
    current: Option<Batch>,
}

impl RowSender {
    pub fn new(io: &NodeIo, port: &'static str) -> Self {
        RowSender { port, size: io.batch_size(), current: None }
    }

    pub fn push(&mut self, io: &mut NodeIo, schema: &SchemaRef, row: Row) -> Result<(), NodeError> {
        match &mut self.current {
            Some(b) if Arc::ptr_eq(&b.schema, schema) => b.rows.push(row),
            _ => {
                self.flush(io)?;
                let mut rows = Vec::with_capacity(self.size.min(4096));
                rows.push(row);
                self.current = Some(Batch::new(schema.clone(), rows));
            }
        }
        if self.current.as_ref().is_some_and(|b| b.len() >= self.size) {
            self.flush(io)?;
        }
        Ok(())
    }

    /// Sends the rows collected so far.
    pub fn flush(&mut self, io: &mut NodeIo) -> Result<(), NodeError> {
        match self.current.take() {
            Some(b) => io.send(self.port, b),
            None => Ok(()),
        }
    }
}
