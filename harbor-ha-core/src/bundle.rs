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
    /// A path of the bundle is absolute or has `..`, `.` or empty parts.
    #[error("refusing to write `{0}`: not a plain relative path inside the output directory")]
    UnsafePath(String),
    /// An I/O error.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// What [`Bundle::write_to`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The output directory was (re)written.
    Written,
    /// The output directory already held exactly this bundle; nothing was touched.
    Unchanged,
}

/// Content of the marker file.
const MARKER_TEXT: &str = "This directory was written by harbor-ha render; it is replaced on the next render.\n";

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError {
    let path = path.to_path_buf();
    move |source| WriteError::Io { path, source }
}

/// Mode of a bundle directory, by its path relative to the bundle: `secrets/` and its
/// per-site directories are private (0700), like the files in them; the others 0755.
fn rel_dir_mode(rel: &str) -> u32 {
    if rel == SECRETS_DIR || rel.starts_with(&format!("{SECRETS_DIR}/")) {
        0o700
    } else {
        0o755
    }
}

/// [`rel_dir_mode`] of the directory `dir` under the bundle root `root`.
fn dir_mode(dir: &Path, root: &Path) -> u32 {
    dir.strip_prefix(root).ok().and_then(Path::to_str).map_or(0o755, rel_dir_mode)
}

/// Top-level directory holding each site's shared secrets.
const SECRETS_DIR: &str = "secrets";

/// Whether `rel` is a relative path of plain parts: no `..`, `.`, empty or absolute parts.
fn is_plain_relative(rel: &str) -> bool {
    !rel.is_empty()
        && rel != MARKER
        && rel.split('/').all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\0'))
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
    /// When `out` is a previous bundle that already holds exactly these files (content and
    /// mode), nothing is written and the files keep their modification times.
    ///
    /// Every file is created with its final mode (a secret is never readable by others,
    /// not even for a moment), and every path must be relative and plain (no `..`, `.`,
    /// empty or absolute parts), so that no file can land outside `out`.
    ///
    /// # Errors
    /// [`WriteError`] when `out` may not be replaced, a path is unsafe, or an I/O call fails.
    #[cfg(unix)]
    pub fn write_to(&self, out: &Path, force: bool) -> Result<WriteOutcome, WriteError> {
        if let Some(bad) = self.files.keys().find(|p| !is_plain_relative(p)) {
            return Err(WriteError::UnsafePath(bad.clone()));
        }
        let mut is_bundle = false;
        if out.exists() {
            if !out.is_dir() {
                return Err(WriteError::NotADirectory(out.to_path_buf()));
            }
            let empty = std::fs::read_dir(out).map_err(io_at(out))?.next().is_none();
            is_bundle = out.join(MARKER).is_file();
            if !empty && !is_bundle && !force {
                return Err(WriteError::NotABundle(out.to_path_buf()));
            }
        }
        if is_bundle && self.matches_dir(out) {
            return Ok(WriteOutcome::Unchanged);
        }
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = out.file_name().map_or_else(|| "bundle".into(), |n| n.to_string_lossy().into_owned());
        let tmp = parent.join(format!(".{base}.tmp-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io_at(&tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(io_at(&tmp))?;
        let result = (|| {
            self.write_files(&tmp)?;
            if out.exists() {
                let old = parent.join(format!(".{base}.old-{}", std::process::id()));
                std::fs::rename(out, &old).map_err(io_at(out))?;
                std::fs::rename(&tmp, out).map_err(io_at(out))?;
                std::fs::remove_dir_all(&old).map_err(io_at(&old))?;
            } else {
                std::fs::rename(&tmp, out).map_err(io_at(out))?;
            }
            Ok(WriteOutcome::Written)
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }

    /// Create every file (and the marker) under the fresh directory `root`.
    #[cfg(unix)]
    fn write_files(&self, root: &Path) -> Result<(), WriteError> {
        use std::io::Write as _;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        let mut made: std::collections::BTreeSet<PathBuf> = std::collections::BTreeSet::new();
        let marker = (MARKER.to_string(), BundleFile { content: MARKER_TEXT.to_string(), mode: 0o644 });
        for (rel, f) in self.files.iter().chain(std::iter::once((&marker.0, &marker.1))) {
            let p = root.join(rel);
            // Parents top-down, each once: one mkdir per directory of the bundle.
            let mut d = root.to_path_buf();
            let parts: Vec<&str> = rel.split('/').collect();
            for part in &parts[..parts.len() - 1] {
                d.push(part);
                if !made.contains(&d) {
                    // Exact mode whatever the umask, as for the files.
                    let mode = dir_mode(&d, root);
                    std::fs::DirBuilder::new().mode(mode).create(&d).map_err(io_at(&d))?;
                    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).map_err(io_at(&d))?;
                    made.insert(d.clone());
                }
            }
            // Created with its final mode; the umask can only narrow it, so set it exactly
            // on the open file before any content is written.
            let mut file =
                std::fs::OpenOptions::new().write(true).create_new(true).mode(f.mode).open(&p).map_err(io_at(&p))?;
            file.set_permissions(std::fs::Permissions::from_mode(f.mode)).map_err(io_at(&p))?;
            file.write_all(f.content.as_bytes()).map_err(io_at(&p))?;
        }
        Ok(())
    }

    /// Whether the directory `dir` holds exactly this bundle: the same files with the same
    /// content and mode, the marker, and nothing else. Any doubt (an unreadable entry, a
    /// symlink, an extra directory) counts as a difference. Names, types, modes and sizes
    /// are compared over the whole tree first; contents only when all of those match.
    #[cfg(unix)]
    fn matches_dir(&self, dir: &Path) -> bool {
        use std::os::unix::fs::PermissionsExt;
        let mut expected: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
        for rel in self.files.keys() {
            expected.insert(rel);
            let mut r = rel.as_str();
            while let Some(i) = r.rfind('/') {
                r = &r[..i];
                if !expected.insert(r) {
                    break;
                }
            }
        }
        expected.insert(MARKER);
        let mut found = 0usize;
        let mut to_read: Vec<(PathBuf, &BundleFile)> = Vec::new();
        let mut stack = vec![(dir.to_path_buf(), String::new())];
        while let Some((abs, rel)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&abs) else { return false };
            for entry in entries {
                let Ok(entry) = entry else { return false };
                let Some(name) = entry.file_name().to_str().map(str::to_string) else { return false };
                let child_rel = if rel.is_empty() { name } else { format!("{rel}/{name}") };
                if !expected.contains(child_rel.as_str()) {
                    return false;
                }
                found += 1;
                // Not followed: a symlink is neither a directory nor a file here.
                let Ok(meta) = entry.metadata() else { return false };
                let file = self.files.get(&child_rel);
                if meta.is_dir() {
                    if file.is_some()
                        || child_rel == MARKER
                        || meta.permissions().mode() & 0o7777 != rel_dir_mode(&child_rel)
                    {
                        return false;
                    }
                    stack.push((entry.path(), child_rel));
                } else if !meta.is_file() {
                    return false;
                } else if let Some(f) = file {
                    if meta.permissions().mode() & 0o7777 != f.mode || meta.len() != f.content.len() as u64 {
                        return false;
                    }
                    to_read.push((entry.path(), f));
                } else if child_rel != MARKER {
                    return false;
                }
            }
        }
        // Contents last: a missing, extra or resized file is found without reading any.
        found == expected.len()
            && to_read.iter().all(|(p, f)| std::fs::read(p).is_ok_and(|c| c == f.content.as_bytes()))
    }
}
