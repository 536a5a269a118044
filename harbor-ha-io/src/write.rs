//! Writing a bundle: atomically, with every file's final mode, nothing outside the output
//! directory, and nothing touched when the directory already holds exactly this bundle.

use std::path::{Path, PathBuf};

use harbor_ha_core::bundle::{dir_mode, is_plain_relative, Bundle, BundleFile, MARKER, MARKER_TEXT};

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

/// Whether [`write_bundle`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The output directory was (re)written.
    Written,
    /// The output directory already held exactly this bundle; nothing was touched.
    Unchanged,
}

/// The files of the output directory, compared before and after a write: paths relative
/// to it, sorted. The bundle marker is left out; so are directories (a directory's mode
/// that differs rewrites the bundle without listing a file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Files of the bundle the directory did not hold.
    pub created: Vec<String>,
    /// Files the directory held with another content or mode (or not as a regular file).
    pub changed: Vec<String>,
    /// Files the directory held that the bundle does not (gone after the write).
    pub removed: Vec<String>,
}

impl Changes {
    /// Whether no file was created, changed or removed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.created.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// What [`write_bundle`] did: whether it wrote, and which files that created, changed or
/// removed compared with what the directory held before (all created in a fresh one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    /// Written or unchanged.
    pub outcome: WriteOutcome,
    /// The files that differ from before (empty when unchanged).
    pub changes: Changes,
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError {
    let path = path.to_path_buf();
    move |source| WriteError::Io { path, source }
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
/// The summary compares the directory before the write with the bundle (file by file:
/// content and mode), so that the caller can say what changed without reading it again.
///
/// # Errors
/// [`WriteError`] when `out` may not be replaced, a path is unsafe, or an I/O call fails.
pub fn write_bundle(bundle: &Bundle, out: &Path, force: bool) -> Result<WriteSummary, WriteError> {
    if let Some(bad) = bundle.files.keys().find(|p| !is_plain_relative(p)) {
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
    if is_bundle && matches_dir(bundle, out) {
        return Ok(WriteSummary { outcome: WriteOutcome::Unchanged, changes: Changes::default() });
    }
    let changes = if out.exists() { compare_dir(bundle, out)? } else { all_created(bundle) };
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
        write_files(bundle, &tmp)?;
        if out.exists() {
            let old = parent.join(format!(".{base}.old-{}", std::process::id()));
            std::fs::rename(out, &old).map_err(io_at(out))?;
            std::fs::rename(&tmp, out).map_err(io_at(out))?;
            std::fs::remove_dir_all(&old).map_err(io_at(&old))?;
        } else {
            std::fs::rename(&tmp, out).map_err(io_at(out))?;
        }
        Ok(WriteSummary { outcome: WriteOutcome::Written, changes })
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// Create every file (and the marker) under the fresh directory `root`.
fn write_files(bundle: &Bundle, root: &Path) -> Result<(), WriteError> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let mut made: std::collections::BTreeSet<PathBuf> = std::collections::BTreeSet::new();
    let marker = (MARKER.to_string(), BundleFile::new(MARKER_TEXT, 0o644));
    for (rel, f) in bundle.files.iter().chain(std::iter::once((&marker.0, &marker.1))) {
        let p = root.join(rel);
        // Parents top-down, each once: one mkdir per directory of the bundle.
        let mut d = root.to_path_buf();
        let parts: Vec<&str> = rel.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            d.push(part);
            if !made.contains(&d) {
                // Exact mode whatever the umask, as for the files.
                let mode = d.strip_prefix(root).ok().and_then(Path::to_str).map_or(0o755, dir_mode);
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
fn matches_dir(bundle: &Bundle, dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let mut expected: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for rel in bundle.files.keys() {
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
            let file = bundle.files.get(&child_rel);
            if meta.is_dir() {
                if file.is_some() || child_rel == MARKER || meta.permissions().mode() & 0o7777 != dir_mode(&child_rel) {
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
    found == expected.len() && to_read.iter().all(|(p, f)| std::fs::read(p).is_ok_and(|c| c == f.content.as_bytes()))
}

/// Every file of the bundle as created (a fresh directory).
fn all_created(bundle: &Bundle) -> Changes {
    Changes { created: bundle.files.keys().cloned().collect(), ..Changes::default() }
}

/// The existing directory `dir` file by file against the bundle. Symlinks are not followed
/// (one where the bundle has a file is a changed file); a file whose size or mode differs
/// is changed without reading it.
fn compare_dir(bundle: &Bundle, dir: &Path) -> Result<Changes, WriteError> {
    use std::os::unix::fs::PermissionsExt;
    let mut changes = Changes::default();
    let mut seen: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((abs, rel)) = stack.pop() {
        for entry in std::fs::read_dir(&abs).map_err(io_at(&abs))? {
            let entry = entry.map_err(io_at(&abs))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let meta = entry.metadata().map_err(io_at(&entry.path()))?;
            if meta.is_dir() {
                stack.push((entry.path(), child));
                continue;
            }
            if rel.is_empty() && child == MARKER {
                continue;
            }
            match bundle.files.get_key_value(&child) {
                None => changes.removed.push(child),
                Some((key, f)) => {
                    seen.insert(key.as_str());
                    let same = meta.is_file()
                        && meta.permissions().mode() & 0o7777 == f.mode
                        && meta.len() == f.content.len() as u64
                        && std::fs::read(entry.path()).is_ok_and(|c| c == f.content.as_bytes());
                    if !same {
                        changes.changed.push(child);
                    }
                }
            }
        }
    }
    changes.created = bundle.files.keys().filter(|k| !seen.contains(k.as_str())).cloned().collect();
    changes.changed.sort();
    changes.removed.sort();
    Ok(changes)
}
