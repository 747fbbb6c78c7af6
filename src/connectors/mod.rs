//! File formats shared by sources and sinks: reading and writing CSV (with encodings),
//! JSON and Excel, independent of the executor.
