//! The Sluice designer's desktop shell: a Tauri 2 window showing the built `ui/dist`, and a
//! thin adapter from Tauri IPC to the engine's app service. Every question the designer
//! asks goes through the one command `call` to [`AppService::handle`]; run events come back
//! as the window event `run-event`. No engine logic lives here, because `sluice serve` offers
//! the same calls over HTTP and the two transports must behave alike.
//!
//! Native open/save dialogs come from `tauri-plugin-dialog` and are called by the UI
//! directly; the path the user picks then goes to `open_flow` / `save_flow` like any other.

use sluice::app::{AppConfig, AppError, AppEvent, AppMode, AppService, Request, Response};
use std::ffi::OsString;
use std::path::PathBuf;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::broadcast::{self, error::RecvError};

/// The window event carrying each [`AppEvent`] (the same name as the browser's SSE event).
pub const RUN_EVENT: &str = "run-event";

/// Sent instead of the events a slow window missed, as `{"missed": n}`; the UI then asks
/// `active_runs` for the current state. Same name and payload as the browser's SSE event.
pub const LAGGED_EVENT: &str = "lagged";

#[derive(Clone, serde::Serialize)]
struct Lagged {
    missed: u64,
}

const USAGE: &str = "usage: sluice-desktop [FLOW_FILE]\n\nOpens the Sluice designer, with FLOW_FILE (a .flow.json) open if given.\nRelative paths resolve against the current folder. Logs: SLUICE_LOG=debug.";

/// The one IPC command: a [`Request`] in, its [`Response`] or an [`AppError`] (as data) out.
#[tauri::command]
async fn call(req: Request, service: tauri::State<'_, AppService>) -> Result<Response, AppError> {
    service.handle(req).await
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Launch {
    Designer { open_on_start: Option<PathBuf> },
    Help,
    Version,
}

/// Reads the arguments after the program name. Unknown `-`/`--` flags are passed over
/// rather than refused: launchers (WebKitWebDriver, desktop environments) may add their own.
fn parse_args(args: impl IntoIterator<Item = OsString>) -> Launch {
    let mut open_on_start = None;
    for arg in args {
        match arg.to_str() {
            Some("-h" | "--help") => return Launch::Help,
            Some("-V" | "--version") => return Launch::Version,
            Some(flag) if flag.starts_with('-') => {}
            _ if open_on_start.is_none() => open_on_start = Some(PathBuf::from(arg)),
            _ => {}
        }
    }
    Launch::Designer { open_on_start }
}

fn init_tracing() {
    // Engine log lines go to stderr; warnings by default so a terminal launch shows trouble.
    let filter = std::env::var("SLUICE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Forwards every run event to the window for as long as the app lives.
async fn forward_run_events(app: AppHandle, mut events: broadcast::Receiver<AppEvent>) {
    loop {
        match events.recv().await {
            Ok(event) => {
                if let Err(e) = app.emit(RUN_EVENT, &event) {
                    tracing::warn!(run_id = %event.run_id, error = %e, "could not send a run event to the window");
                }
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "the window fell behind the run events");
                let _ = app.emit(LAGGED_EVENT, Lagged { missed });
            }
            Err(RecvError::Closed) => break,
        }
    }
}

/// Starts the designer; returns when its window is closed. Exits the process with status 2
/// when the command line names a flow file that does not exist, 1 without a display.
pub fn run() {
    let open_on_start = match parse_args(std::env::args_os().skip(1)) {
        Launch::Help => {
            println!("{USAGE}");
            return;
        }
        Launch::Version => {
            println!("sluice-desktop {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        Launch::Designer { open_on_start } => open_on_start,
    };
    init_tracing();
    let work_dir = match std::env::current_dir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("sluice-desktop: cannot read the current folder ({e}); start it from a folder that exists");
            std::process::exit(2);
        }
    };
    if let Some(flow) = &open_on_start {
        if !work_dir.join(flow).is_file() {
            eprintln!(
                "sluice-desktop: no flow file at {} (looked in {}); give the path of a .flow.json file, or start without one",
                flow.display(),
                work_dir.display()
            );
            std::process::exit(2);
        }
    }
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        // GTK would panic with "Failed to initialize gtk backend"; say what to do instead.
        eprintln!("sluice-desktop: no graphical display (DISPLAY and WAYLAND_DISPLAY are unset). `sluice serve --open` runs the designer in a browser instead.");
        std::process::exit(1);
    }
    let service = AppService::new(AppConfig {
        work_dir,
        mode: AppMode::Desktop,
        state_dir: None,
        open_on_start,
    });

    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(service)
        .invoke_handler(tauri::generate_handler![call])
        .setup(|app| {
            // Subscribed before the window exists, so no run can start unobserved.
            let events = app.state::<AppService>().subscribe();
            tauri::async_runtime::spawn(forward_run_events(app.handle().clone(), events));
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("sluice-desktop: the window could not be opened ({e}). The designer needs a graphical session; `sluice serve --open` runs it in a browser instead.");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Launch {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn first_plain_argument_is_the_flow_to_open() {
        assert_eq!(
            parse(&[]),
            Launch::Designer {
                open_on_start: None
            }
        );
        assert_eq!(
            parse(&["--automation", "a.flow.json", "b.flow.json"]),
            Launch::Designer {
                open_on_start: Some(PathBuf::from("a.flow.json"))
            }
        );
        assert_eq!(parse(&["x.flow.json", "--help"]), Launch::Help);
        assert_eq!(parse(&["-V"]), Launch::Version);
    }
}
