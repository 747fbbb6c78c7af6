//! Files around flows: the folder listing behind the browser-mode file dialog (the desktop
//! uses native dialogs instead) and the recent-files list (`recent.json` in the state
//! folder, newest first).

use super::api::{AppError, DirEntry, RecentFile, Response};
use super::service::{display, AppService};
use std::path::{Path, PathBuf};

/// Recent files kept; older ones drop off the end.
pub const MAX_RECENT_FILES: usize = 20;

const RECENT_FILE: &str = "recent.json";

impl AppService {
    pub(super) fn list_dir(&self, path: Option<&str>, extensions: &[String]) -> Result<Response, AppError> {
        let dir = match path {
            Some(p) if !p.trim().is_empty() => self.resolve(p),
            _ => self.work_dir().to_path_buf(),
        };
        if dir.is_file() {
            return Err(AppError::bad_request(format!("{} is a file, not a folder", dir.display())));
        }
        let read = std::fs::read_dir(&dir).map_err(|e| AppError::io("list folder", &dir, &e))?;
        let extensions: Vec<String> = extensions
            .iter()
            .filter(|e| !e.trim().is_empty())
            .map(|e| format!(".{}", e.trim().trim_start_matches('.').to_lowercase()))
            .collect();
        let mut entries = Vec::new();
        for entry in read.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            // Follows symlinks; a dangling one is left out, as a file dialog would.
            let Ok(meta) = std::fs::metadata(entry.path()) else { continue };
            let is_dir = meta.is_dir();
            let lower = name.to_lowercase();
            if !is_dir && !extensions.is_empty() && !extensions.iter().any(|e| lower.ends_with(e.as_str())) {
                continue;
            }
            entries.push(DirEntry { path: display(&entry.path()), name, is_dir, size: if is_dir { 0 } else { meta.len() } });
        }
        entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase())).then_with(|| a.name.cmp(&b.name)));
        Ok(Response::ListDir { path: display(&dir), parent: dir.parent().map(display), entries })
    }

    /// Newest first; files that no longer exist are left out.
    pub(super) fn recent_files(&self) -> Vec<RecentFile> {
        let _guard = self.inner.recent_lock.lock().unwrap_or_else(|p| p.into_inner());
        read_recent(&self.recent_path()).into_iter().filter(|f| Path::new(&f.path).is_file()).collect()
    }

    /// Puts a flow at the top of the recent files. Failing to is only logged: the open or
    /// save that called it has succeeded either way.
    pub(super) fn add_recent(&self, path: &Path) {
        let _guard = self.inner.recent_lock.lock().unwrap_or_else(|p| p.into_inner());
        let file = self.recent_path();
        let path_text = display(path);
        let mut files = read_recent(&file);
        files.retain(|f| f.path != path_text && Path::new(&f.path).is_file());
        files.insert(
            0,
            RecentFile {
                name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path_text.clone()),
                path: path_text,
                opened_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            },
        );
        files.truncate(MAX_RECENT_FILES);
        if let Err(e) = write_recent(&file, &files) {
            tracing::warn!("cannot update the recent files in {}: {e}", file.display());
        }
    }

    fn recent_path(&self) -> PathBuf {
        self.state_dir().join(RECENT_FILE)
    }
}

fn read_recent(file: &Path) -> Vec<RecentFile> {
    match std::fs::read_to_string(file) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            // A damaged list is replaced on the next open or save rather than blocking them.
            tracing::warn!("ignoring the damaged recent-files list {}: {e}", file.display());
            Vec::new()
        }),
        Err(_) => Vec::new(),
    }
}

fn write_recent(file: &Path, files: &[RecentFile]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer_pretty(&mut tmp, files)?;
    tmp.persist(file).map_err(|e| e.error)?;
    Ok(())
}
