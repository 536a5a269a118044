//! The bundle: relative path → file content and mode, and writing it to disk atomically.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Name of the marker file that identifies a directory as a harbor-ha bundle.
pub const MARKER: &str = ".harbor-ha-bundle";

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// UTF-8 content.
    pub content: String,
    /// Unix permission bits, e.g. 0o755 for scripts, 0o600 for files holding secrets.
    pub mode: u32,
}

/// Every file `render` produces, keyed by path relative to the output directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bundle {
    /// Path → file.
    pub files: BTreeMap<String, BundleFile>,
}

/// Why a bundle could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// `--out` exists, is not empty and is not a previous bundle.
    #[error("{0} exists and is not a harbor-ha bundle (no {MARKER}); refusing to replace it without --force")]
    NotABundle(PathBuf),
    /// `--out` exists and is not a directory.
    #[error("{0} exists and is not a directory")]
    NotADirectory(PathBuf),
    /// An I/O error.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl Bundle {
    /// Add (or replace) a file.
    pub fn add(&mut self, path: impl Into<String>, content: impl Into<String>, mode: u32) {
        self.files.insert(path.into(), BundleFile { content: content.into(), mode });
    }

    /// Every file under a `=== path (mode) ===` header, for snapshot tests and review.
    #[must_use]
    pub fn listing(&self) -> String {
        let mut s = String::new();
        for (p, f) in &self.files {
            let _ = writeln!(s, "=== {p} (mode {:04o}) ===", f.mode);
            s.push_str(&f.content);
            if !f.content.ends_with('\n') {
                s.push_str("\n<no newline at end of file>\n");
            }
        }
        s
    }

    /// Write the bundle to `out`: into a temporary sibling directory first, then renamed
    /// into place, so that an interrupted render never leaves a half bundle. An existing
    /// `out` is replaced only when it is empty, a previous bundle, or `force` is set.
    ///
    /// # Errors
    /// [`WriteError`] when `out` may not be replaced or an I/O call fails.
    #[cfg(unix)]
    pub fn write_to(&self, out: &Path, force: bool) -> Result<(), WriteError> {
        use std::os::unix::fs::PermissionsExt;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| WriteError::Io { path, source }
        };
        if out.exists() {
            if !out.is_dir() {
                return Err(WriteError::NotADirectory(out.to_path_buf()));
            }
            let empty = std::fs::read_dir(out).map_err(io(out))?.next().is_none();
            if !empty && !out.join(MARKER).exists() && !force {
                return Err(WriteError::NotABundle(out.to_path_buf()));
            }
        }
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = out.file_name().map_or_else(|| "bundle".into(), |n| n.to_string_lossy().into_owned());
        let tmp = parent.join(format!(".{base}.tmp-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        let result = (|| {
            for (rel, f) in &self.files {
                let p = tmp.join(rel);
                if let Some(d) = p.parent() {
                    std::fs::create_dir_all(d).map_err(io(d))?;
                }
                std::fs::write(&p, &f.content).map_err(io(&p))?;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(f.mode)).map_err(io(&p))?;
            }
            let m = tmp.join(MARKER);
            std::fs::write(&m, "This directory was written by harbor-ha render; it is replaced on the next render.\n")
                .map_err(io(&m))?;
            if out.exists() {
                let old = parent.join(format!(".{base}.old-{}", std::process::id()));
                std::fs::rename(out, &old).map_err(io(out))?;
                std::fs::rename(&tmp, out).map_err(io(out))?;
                std::fs::remove_dir_all(&old).map_err(io(&old))?;
            } else {
                std::fs::rename(&tmp, out).map_err(io(out))?;
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }
}
