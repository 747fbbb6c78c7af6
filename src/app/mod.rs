//! The app-service layer: what the designer asks of the engine, answered as data. No Tauri
//! and no HTTP in here; `src-tauri/` and `sluice serve` are thin transports over
//! [`AppService::handle`] and [`AppService::subscribe`], so the desktop app, the browser
//! and the CLI all get the same answers from the same code.

pub mod api;
mod catalog;
mod error;
mod files;
mod flows;
mod history;
mod runs;
mod service;

pub use api::*;
pub use catalog::catalog;
pub use files::MAX_RECENT_FILES;
pub use flows::flow_from_json;
pub use history::{DEFAULT_FAILED_ROWS_PAGE, DEFAULT_RUNS_LISTED, MAX_FAILED_ROWS_PAGE};
pub use runs::{record_history, MAX_PREVIEW_ROWS};
pub use service::{default_state_dir, AppConfig, AppMode, AppService};
