//! All-or-nothing output files. Rows are written to a hidden temp file beside the target
//! (`.{name}.sluice-partial`, same folder so the final move is a rename on one file
//! system); the target changes only when the whole run has succeeded, so a failed or
//! stopped run leaves it exactly as it was.
//!
//! `append` cannot rename over the target, so it writes the new rows to the temp file too
//! and, on success, copies them onto the end of the target. Should that copy fail halfway
//! (disk full), the target is cut back to its old length: it never keeps half the rows.
//!
//! Left out on purpose: fsync before the rename. It would cost seconds on big outputs; the
//! rename already protects against a crashed or stopped run, which is what users meet.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// What to do when the output file already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IfExists {
    /// Replace it (only once the run has succeeded).
    #[default]
    Overwrite,
    /// Refuse to run, so nothing is ever replaced by mistake.
    Fail,
    /// Add the rows at its end (without a second header), once the run has succeeded.
    Append,
}

/// An output being written to its temp file.
pub struct AtomicOutput {
    target: PathBuf,
    temp: PathBuf,
    file: File,
    mode: IfExists,
    append_to_content: bool,
}

/// What is needed to finish (or undo) an output after the run: plain paths, so it can
/// run when the writer is long gone.
#[derive(Debug, Clone)]
pub struct PendingOutput {
    target: PathBuf,
    temp: PathBuf,
    mode: IfExists,
    append_to_content: bool,
    /// The encoded line ending, put before appended rows if the file does not end in one.
    line_ending: Vec<u8>,
}

impl AtomicOutput {
    /// The temp file used for `target`.
    pub fn temp_path(target: &Path) -> PathBuf {
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "output".into());
        target.with_file_name(format!(".{name}.sluice-partial"))
    }

    /// Whether `target` exists and holds at least one byte.
    pub fn has_content(target: &Path) -> bool {
        std::fs::metadata(target).map(|m| m.is_file() && m.len() > 0).unwrap_or(false)
    }

    /// Starts an output. Fails at once if `mode` is `fail` and the target exists.
    pub fn create(target: &Path, mode: IfExists) -> Result<AtomicOutput, String> {
        if mode == IfExists::Fail && target.exists() {
            return Err(format!("{} already exists and if_exists is \"fail\"", target.display()));
        }
        if target.is_dir() {
            return Err(format!("{} is a folder, not a file", target.display()));
        }
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the folder {}: {}", dir.display(), plain(&e)))?;
        }
        let temp = Self::temp_path(target);
        let file = File::create(&temp).map_err(|e| format!("cannot create {}: {}", temp.display(), plain(&e)))?;
        Ok(AtomicOutput {
            target: target.to_path_buf(),
            temp,
            file,
            mode,
            append_to_content: mode == IfExists::Append && Self::has_content(target),
        })
    }

    /// True when the rows will be added to a file that already has content (so no header
    /// and no byte-order mark).
    pub fn appends_to_content(&self) -> bool {
        self.append_to_content
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    pub fn temp(&self) -> &Path {
        &self.temp
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.file.write_all(bytes).map_err(|e| format!("cannot write {}: {}", self.temp.display(), plain(&e)))
    }

    /// What finishing needs; the file is closed.
    pub fn into_pending(self, line_ending: Vec<u8>) -> PendingOutput {
        PendingOutput {
            target: self.target,
            temp: self.temp,
            mode: self.mode,
            append_to_content: self.append_to_content,
            line_ending,
        }
    }

    /// The undo action for this output (removes the temp file), to register before writing.
    pub fn discard_action(&self) -> impl FnOnce() + Send + 'static {
        let temp = self.temp.clone();
        move || {
            let _ = std::fs::remove_file(&temp);
        }
    }
}

impl PendingOutput {
    /// Makes the output final: rename (or append) the temp file into place.
    pub fn commit(self) -> Result<(), String> {
        let r = match self.mode {
            IfExists::Overwrite => self.rename(),
            IfExists::Fail => self.link_new(),
            IfExists::Append if self.append_to_content => self.append(),
            IfExists::Append => self.rename(),
        };
        let _ = std::fs::remove_file(&self.temp);
        r
    }

    fn rename(&self) -> Result<(), String> {
        std::fs::rename(&self.temp, &self.target)
            .map_err(|e| format!("cannot move the finished output into {}: {}", self.target.display(), plain(&e)))
    }

    /// Puts the file in place only if nothing appeared there meanwhile.
    fn link_new(&self) -> Result<(), String> {
        match std::fs::hard_link(&self.temp, &self.target) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(format!(
                "{} appeared while the flow ran and if_exists is \"fail\"; the new rows were not written",
                self.target.display()
            )),
            // File systems without hard links: check, then rename.
            Err(_) if self.target.exists() => Err(format!(
                "{} appeared while the flow ran and if_exists is \"fail\"; the new rows were not written",
                self.target.display()
            )),
            Err(_) => self.rename(),
        }
    }

    fn append(&self) -> Result<(), String> {
        let fail = |e: io::Error| format!("cannot append to {}: {}", self.target.display(), plain(&e));
        let mut src = File::open(&self.temp).map_err(fail)?;
        let mut dst = OpenOptions::new().read(true).write(true).open(&self.target).map_err(fail)?;
        let old_len = dst.metadata().map_err(fail)?.len();
        let result = (|| -> io::Result<()> {
            // Rows must start on a line of their own.
            // The encoded "\n" is the last code unit of the line ending (UTF-16: two bytes).
            let lf: &[u8] = if self.line_ending.ends_with(&[b'\n', 0]) { &[b'\n', 0] } else { b"\n" };
            if old_len >= lf.len() as u64 {
                let mut tail = vec![0u8; lf.len()];
                dst.seek(SeekFrom::Start(old_len - lf.len() as u64))?;
                dst.read_exact(&mut tail)?;
                if tail != lf {
                    dst.seek(SeekFrom::End(0))?;
                    dst.write_all(&self.line_ending)?;
                }
            }
            dst.seek(SeekFrom::End(0))?;
            io::copy(&mut src, &mut dst)?;
            dst.flush()
        })();
        if let Err(e) = result {
            // Never leave half the rows behind.
            let _ = dst.set_len(old_len);
            return Err(fail(e));
        }
        Ok(())
    }
}

fn plain(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or folder".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overwrite_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        std::fs::write(&target, "old\n").unwrap();
        let mut o = AtomicOutput::create(&target, IfExists::Overwrite).unwrap();
        o.write_all(b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\n");
        let discard = o.discard_action();
        let p = o.into_pending(b"\n".to_vec());
        p.clone().commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new\n");
        assert!(!AtomicOutput::temp_path(&target).exists());
        discard();
    }

    #[test]
    fn discard_leaves_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        let mut o = AtomicOutput::create(&target, IfExists::Overwrite).unwrap();
        o.write_all(b"new\n").unwrap();
        let discard = o.discard_action();
        drop(o);
        discard();
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn append_and_fail_modes() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        std::fs::write(&target, "a\n1").unwrap();
        let mut o = AtomicOutput::create(&target, IfExists::Append).unwrap();
        assert!(o.appends_to_content());
        o.write_all(b"2\n").unwrap();
        o.into_pending(b"\n".to_vec()).commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "a\n1\n2\n");

        let e = AtomicOutput::create(&target, IfExists::Fail).err().unwrap();
        assert!(e.contains("already exists") && e.contains("if_exists"), "{e}");
        let fresh = dir.path().join("fresh.csv");
        let mut o = AtomicOutput::create(&fresh, IfExists::Fail).unwrap();
        o.write_all(b"x\n").unwrap();
        let p = o.into_pending(b"\n".to_vec());
        std::fs::write(&fresh, "someone else\n").unwrap();
        assert!(p.commit().unwrap_err().contains("appeared"));
        assert_eq!(std::fs::read_to_string(&fresh).unwrap(), "someone else\n");
    }
}
