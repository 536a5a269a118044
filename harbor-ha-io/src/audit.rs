//! Reading collected trees and bundles from disk for `import` and `drift`
//! ([`harbor_ha_core::audit`] does the rest).

use std::path::{Path, PathBuf};

use harbor_ha_core::audit::tree::{CollectedTree, HostTree};
use harbor_ha_core::audit::{drift, import, DriftReport, ImportReport};

/// The largest file read from a tree (bytes); larger ones are left out. Collected configs
/// are a few KiB.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Why a tree could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// The directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The path is not a directory.
    #[error("{path} is not a directory")]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// No host directory (`<host>/files` or `<host>/facts.json`) in it.
    #[error(
        "{path} holds no collected host (expected <host>/files/… and <host>/facts.json, as collect.sh writes them)"
    )]
    NoHosts {
        /// The path.
        path: PathBuf,
    },
    /// A bundle without `hosts/`.
    #[error("{path} is not a harbor-ha bundle (no hosts/ directory)")]
    NotABundle {
        /// The path.
        path: PathBuf,
    },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> TreeError + '_ {
    move |source| TreeError::Io { path: path.to_path_buf(), source }
}

/// Read a collected tree: every `<host>/files/**` regular file (symbolic links are not
/// followed) and `<host>/facts.json`. Directories starting with `.` are skipped.
///
/// # Errors
/// [`TreeError`] when `dir` is not a readable directory holding a host.
pub fn read_tree(dir: &Path) -> Result<CollectedTree, TreeError> {
    if !std::fs::metadata(dir).map_err(io(dir))?.is_dir() {
        return Err(TreeError::NotADirectory { path: dir.to_path_buf() });
    }
    let mut tree = CollectedTree::default();
    let mut entries: Vec<_> = std::fs::read_dir(dir).map_err(io(dir))?.collect::<Result<_, _>>().map_err(io(dir))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let Some(name) = e.file_name().to_str().map(str::to_string) else { continue };
        let p = e.path();
        if name.starts_with('.') || !p.is_dir() {
            continue;
        }
        let files = p.join("files");
        let facts = p.join("facts.json");
        if !files.is_dir() && !facts.is_file() {
            continue;
        }
        let mut host = HostTree::default();
        if files.is_dir() {
            walk(&files, "", &mut host)?;
        }
        if facts.is_file() {
            let meta = std::fs::metadata(&facts).map_err(io(&facts))?;
            if meta.len() <= MAX_FILE_BYTES {
                host.facts = Some(std::fs::read(&facts).map_err(io(&facts))?);
            }
        }
        tree.hosts.insert(name, host);
    }
    if tree.hosts.is_empty() {
        return Err(TreeError::NoHosts { path: dir.to_path_buf() });
    }
    Ok(tree)
}

fn walk(dir: &Path, rel: &str, host: &mut HostTree) -> Result<(), TreeError> {
    use std::os::unix::fs::PermissionsExt;
    let mut entries: Vec<_> = std::fs::read_dir(dir).map_err(io(dir))?.collect::<Result<_, _>>().map_err(io(dir))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let Some(name) = e.file_name().to_str().map(str::to_string) else { continue };
        let p = e.path();
        let meta = std::fs::symlink_metadata(&p).map_err(io(&p))?;
        let abs = format!("{rel}/{name}");
        if meta.is_dir() {
            walk(&p, &abs, host)?;
        } else if meta.is_file() && meta.len() <= MAX_FILE_BYTES {
            let content = std::fs::read(&p).map_err(io(&p))?;
            host.insert(&abs, content, meta.permissions().mode() & 0o7777);
        }
    }
    Ok(())
}

/// `harbor-ha import DIR`: read the tree and import it.
///
/// # Errors
/// [`TreeError`] when the tree cannot be read.
pub fn import_dir(dir: &Path) -> Result<ImportReport, TreeError> {
    Ok(import(&read_tree(dir)?))
}

/// `harbor-ha drift BUNDLE DIR`: the bundle's `hosts/` against the tree, for the hosts in
/// `only` (all when empty).
///
/// # Errors
/// [`TreeError`] when the bundle or the tree cannot be read.
pub fn drift_dirs(bundle: &Path, dir: &Path, only: &[String]) -> Result<DriftReport, TreeError> {
    let hosts = bundle.join("hosts");
    if !hosts.is_dir() {
        return Err(TreeError::NotABundle { path: bundle.to_path_buf() });
    }
    let want = read_tree(&hosts)?;
    let got = read_tree(dir)?;
    Ok(drift(&want, &got, only))
}
