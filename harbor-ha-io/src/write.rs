//! Writing a bundle in proportion to the change: only the files that differ are replaced,
//! each atomically (a temporary file in its directory, with its final mode, renamed over
//! it); files the bundle no longer has are removed; the manifest (`MANIFEST.sha256`, every
//! file's SHA-256 and mode) is written last. Nothing outside the output directory is
//! touched, and nothing at all when the directory already holds exactly this bundle.
//!
//! Every state a crash can leave is classified by the next write:
//! - before the journal (`.harbor-ha-pending`, the new manifest, written atomically before
//!   the first change) exists: the old bundle, plus at most a temporary file of ours;
//! - while the journal exists: every file is the old manifest's or the journal's version
//!   (each is replaced by one rename), a file of only one of them may be absent; the next
//!   write completes it, whatever it renders;
//! - after the journal is removed: the new bundle.
//!
//! So a file whose content matches neither the manifest nor the journal was edited by hand:
//! the write refuses to overwrite or remove it (naming it) unless forced. A mode changed by
//! hand is put back (nothing is lost but the mode).
//!
//! Durability: a killed process loses nothing that was written (the page cache keeps it),
//! and each file is replaced by a rename, so no file is ever seen half-written. Only new
//! files under `secrets/` are fsynced (with their directory) before the manifest: they
//! cannot be rendered again, while any other file can; a file torn by a power cut
//! afterwards no longer matches the manifest, which `render`, `deploy.sh` and `install.sh`
//! check. Fsyncing every file would cost a journal commit per file (milliseconds each on a
//! busy disk), for files that `render` makes again byte for byte.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use harbor_ha_core::bundle::{
    dir_mode, is_plain_relative, sha256_hex, Bundle, Manifest, MANIFEST, MARKER, MARKER_TEXT, PENDING, SECRETS_DIR,
};

/// Prefix of the writer's temporary files (in the directory of the file they replace).
const TMP_PREFIX: &str = ".harbor-ha-tmp.";

/// Why a bundle could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// `--out` exists, is not empty and is not a previous bundle.
    #[error("{0} exists and is not a harbor-ha bundle (no {MARKER}); refusing to replace it without --force")]
    NotABundle(PathBuf),
    /// `--out` exists and is not a directory.
    #[error("{0} exists and is not a directory")]
    NotADirectory(PathBuf),
    /// A path of the bundle is absolute, has `..`, `.` or empty parts, or is named as the
    /// writer's own files (the marker, the manifest, the journal, a temporary file).
    #[error("refusing to write `{0}`: not a plain relative path inside the output directory")]
    UnsafePath(String),
    /// Files of the bundle differ in content from its manifest (edited since the last render,
    /// and no interrupted render explains it), and this write would overwrite or remove them.
    #[error(
        "{}: {} not as the last render wrote {} (see {MANIFEST}): {}; refusing to overwrite {} without --force",
        dir.display(),
        if paths.len() == 1 { "this file is" } else { "these files are" },
        if paths.len() == 1 { "it" } else { "them" },
        paths.join(", "),
        if paths.len() == 1 { "it" } else { "them" }
    )]
    Modified {
        /// The output directory.
        dir: PathBuf,
        /// The files, relative to it.
        paths: Vec<String>,
    },
    /// Stored secrets would be replaced by other values.
    #[error(
        "{}: refusing to replace stored secrets without --force (the deployed site uses them): {}",
        dir.display(),
        paths.join(", ")
    )]
    SecretChanged {
        /// The output directory.
        dir: PathBuf,
        /// The secret files, relative to it.
        paths: Vec<String>,
    },
    /// An I/O error.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The crash tests' simulated crash: the write stops here, leaving the directory as a
    /// killed process would.
    #[cfg(test)]
    #[error("simulated crash")]
    Crash,
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
/// to it, sorted. The marker, the manifest and the journal are left out; so are
/// directories (a directory's mode that differs is fixed without listing a file).
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

#[cfg(test)]
thread_local! {
    /// Crash tests: the number of filesystem changes allowed before the simulated crash.
    static CRASH_AFTER: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Called before every change to the directory (mkdir, create, rename, chmod, remove,
/// fsync): in the crash tests, stops the write after the allowed number of changes.
#[allow(clippy::unnecessary_wraps, reason = "fails only in the crash tests")]
fn step() -> Result<(), WriteError> {
    #[cfg(test)]
    if let Some(n) = CRASH_AFTER.get() {
        if n == 0 {
            return Err(WriteError::Crash);
        }
        CRASH_AFTER.set(Some(n - 1));
    }
    Ok(())
}

/// A non-directory entry of the output directory.
#[derive(Debug)]
enum Entry {
    /// A regular file: its SHA-256 and mode.
    File { sha256: String, mode: u32 },
    /// A symlink, device, socket…: never a file of the bundle.
    Other,
}

/// The output directory as found: files (by path relative to it, but the marker, the
/// manifest, the journal and our temporary files), directories with their modes, and the
/// temporary files left by a crash.
#[derive(Debug, Default)]
struct Found {
    files: BTreeMap<String, Entry>,
    dirs: BTreeMap<String, u32>,
    temps: Vec<PathBuf>,
    marker: bool,
    manifest: Option<String>,
    pending: Option<String>,
}

fn scan(out: &Path) -> Result<Found, WriteError> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = Found::default();
    let mut stack = vec![(out.to_path_buf(), String::new())];
    while let Some((abs, rel)) = stack.pop() {
        for entry in std::fs::read_dir(&abs).map_err(io_at(&abs))? {
            let entry = entry.map_err(io_at(&abs))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            // Not followed: a symlink is neither a directory nor a file here.
            let meta = entry.metadata().map_err(io_at(&path))?;
            let child = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                found.dirs.insert(child.clone(), mode);
                stack.push((path, child));
            } else if name.starts_with(TMP_PREFIX) && meta.is_file() {
                found.temps.push(path);
            } else if rel.is_empty() && [MARKER, MANIFEST, PENDING].contains(&name.as_str()) && meta.is_file() {
                match name.as_str() {
                    MARKER => found.marker = true,
                    MANIFEST => found.manifest = Some(std::fs::read_to_string(&path).unwrap_or_default()),
                    _ => found.pending = Some(std::fs::read_to_string(&path).unwrap_or_default()),
                }
            } else if meta.is_file() {
                let content = std::fs::read(&path).map_err(io_at(&path))?;
                found.files.insert(child, Entry::File { sha256: sha256_hex(&content), mode });
            } else {
                found.files.insert(child, Entry::Other);
            }
        }
    }
    Ok(found)
}

/// Whether `entry` is the manifest entry of `path` in `m`: the same content, and the same
/// mode unless `any_mode`.
fn listed(m: &Manifest, path: &str, entry: &Entry, any_mode: bool) -> bool {
    match (m.files.get(path), entry) {
        (Some(e), Entry::File { sha256, mode }) => e.sha256 == *sha256 && (any_mode || e.mode == *mode),
        _ => false,
    }
}

/// The files of `found` whose content no render wrote: with a manifest, those that match
/// neither it nor the journal of an interrupted render (a mode is not looked at: one changed
/// by hand is put back, nothing is lost); unknown (none) without a manifest, as in a bundle
/// of an older harbor-ha. An unreadable manifest or journal counts as edited.
fn edited(found: &Found) -> Vec<String> {
    let Some(text) = &found.manifest else { return Vec::new() };
    let Ok(old) = Manifest::parse(text) else { return vec![MANIFEST.to_string()] };
    let pending = match found.pending.as_deref().map(Manifest::parse) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(_)) => return vec![PENDING.to_string()],
    };
    let mut out: Vec<String> = found
        .files
        .iter()
        .filter(|(p, e)| !listed(&old, p, e, true) && !pending.as_ref().is_some_and(|n| listed(n, p, e, true)))
        .map(|(p, _)| p.clone())
        .collect();
    // A file of the manifest that is gone: the journal explains it when it lacks the file
    // (removed) or the manifest does (not yet created).
    out.extend(
        old.files
            .keys()
            .filter(|p| !found.files.contains_key(*p) && pending.as_ref().is_none_or(|n| n.files.contains_key(*p)))
            .cloned(),
    );
    out.sort();
    out
}

/// Write `text` to `path` atomically with `mode`: a temporary file in the same directory,
/// created with its final mode (set exactly whatever the umask, before any content), then
/// renamed over `path`. `sync`: fsync the file before the rename.
fn replace(path: &Path, text: &[u8], mode: u32, sync: bool) -> Result<(), WriteError> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!("{TMP_PREFIX}{name}"));
    step()?;
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp).map_err(io_at(&tmp))?;
    file.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(io_at(&tmp))?;
    file.write_all(text).map_err(io_at(&tmp))?;
    if sync {
        step()?;
        file.sync_all().map_err(io_at(&tmp))?;
    }
    drop(file);
    step()?;
    std::fs::rename(&tmp, path).map_err(io_at(path))
}

/// Write the bundle to `out`, replacing only what differs. `out` may be absent, empty, a
/// previous bundle, or (with `force`) anything else. When it already holds exactly this
/// bundle, nothing is written and the files keep their modification times; otherwise each
/// differing file is replaced atomically (created with its final mode: a secret is never
/// readable by others, not even for a moment), missing directories are created, files the
/// bundle no longer has are removed (and directories left empty), differing modes are
/// fixed, and the manifest `MANIFEST.sha256` is written last. Every path must be relative
/// and plain (no `..`, `.`, empty or absolute parts), so that no file can land outside `out`.
///
/// A render interrupted at any point (killed, power cut before its journal is gone) is
/// detected and completed by the next write. A file whose content the last render did not
/// write (edited by hand: it matches neither the manifest nor an interrupted render's
/// journal) is not overwritten or removed unless `force` (a mode changed by hand is put
/// back); neither is a stored secret that the bundle holds with another value.
///
/// The summary compares the directory before the write with the bundle (file by file:
/// content and mode), so that the caller can say what changed without reading it again.
///
/// # Errors
/// [`WriteError`] when `out` may not be replaced, files were edited by hand, a secret would
/// change, a path is unsafe, or an I/O call fails.
pub fn write_bundle(bundle: &Bundle, out: &Path, force: bool) -> Result<WriteSummary, WriteError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    // A name of the writer's temporary files would be taken for one and removed.
    let ours = |p: &String| p.split('/').any(|part| part.starts_with(TMP_PREFIX));
    if let Some(bad) = bundle.files.keys().find(|p| !is_plain_relative(p) || ours(p)) {
        return Err(WriteError::UnsafePath(bad.clone()));
    }
    let found = if out.exists() {
        if !out.is_dir() {
            return Err(WriteError::NotADirectory(out.to_path_buf()));
        }
        let found = scan(out)?;
        let ours = found.marker || found.manifest.is_some() || found.pending.is_some();
        // Our temporary files alone: a first write that crashed before its journal.
        let empty = found.files.is_empty() && found.dirs.is_empty();
        if !empty && !ours && !force {
            return Err(WriteError::NotABundle(out.to_path_buf()));
        }
        found
    } else {
        Found::default()
    };
    let manifest = Manifest::of(bundle);
    let same = |p: &str, e: &Entry| listed(&manifest, p, e, true);
    if !force {
        // A hand edit that this bundle holds as well (a secret reused from the directory)
        // is not lost: only the others are refused.
        let lost: Vec<String> =
            edited(&found).into_iter().filter(|p| found.files.get(p).is_some_and(|e| !same(p, e))).collect();
        if !lost.is_empty() {
            return Err(WriteError::Modified { dir: out.to_path_buf(), paths: lost });
        }
        let secrets: Vec<String> = found
            .files
            .iter()
            .filter(|(p, e)| p.starts_with(&format!("{SECRETS_DIR}/")) && bundle.files.contains_key(*p) && !same(p, e))
            .map(|(p, _)| p.clone())
            .collect();
        if !secrets.is_empty() {
            return Err(WriteError::SecretChanged { dir: out.to_path_buf(), paths: secrets });
        }
    }

    // What to do: files to remove, to write, to chmod; directories to remove, to chmod.
    let mut needed_dirs: BTreeSet<&str> = BTreeSet::new();
    for rel in bundle.files.keys() {
        let mut r = rel.as_str();
        while let Some(i) = r.rfind('/') {
            r = &r[..i];
            if !needed_dirs.insert(r) {
                break;
            }
        }
    }
    let mut changes = Changes::default();
    let mut chmods: Vec<(String, u32)> = Vec::new();
    let mut writes: Vec<&str> = Vec::new();
    for (rel, f) in &bundle.files {
        match found.files.get(rel) {
            None => {
                changes.created.push(rel.clone());
                writes.push(rel);
            }
            Some(Entry::File { sha256, mode }) if *sha256 == manifest.files[rel].sha256 => {
                if *mode != f.mode {
                    changes.changed.push(rel.clone());
                    chmods.push((rel.clone(), f.mode));
                }
            }
            Some(_) => {
                changes.changed.push(rel.clone());
                writes.push(rel);
            }
        }
    }
    changes.removed = found.files.keys().filter(|p| !bundle.files.contains_key(*p)).cloned().collect();
    // Deepest first, so that each is empty when its turn comes.
    let mut stale_dirs: Vec<&str> =
        found.dirs.keys().map(String::as_str).filter(|d| !needed_dirs.contains(d)).collect();
    stale_dirs.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
    let dir_chmods: Vec<(&str, u32)> = found
        .dirs
        .iter()
        .filter(|(d, m)| needed_dirs.contains(d.as_str()) && **m != dir_mode(d))
        .map(|(d, _)| (d.as_str(), dir_mode(d)))
        .collect();
    let manifest_text = manifest.text();
    let unchanged = changes.is_empty()
        && stale_dirs.is_empty()
        && dir_chmods.is_empty()
        && found.temps.is_empty()
        && found.pending.is_none()
        && found.marker
        && found.manifest.as_deref() == Some(manifest_text.as_str());
    if unchanged {
        return Ok(WriteSummary { outcome: WriteOutcome::Unchanged, changes: Changes::default() });
    }

    if !out.exists() {
        step()?;
        std::fs::create_dir_all(out).map_err(io_at(out))?;
    }
    for t in &found.temps {
        step()?;
        std::fs::remove_file(t).map_err(io_at(t))?;
    }
    // The journal, before the first change: from here until it is removed, a file that is
    // neither the manifest's nor the journal's was edited by hand.
    replace(&out.join(PENDING), manifest_text.as_bytes(), 0o644, false)?;
    if !found.marker {
        replace(&out.join(MARKER), MARKER_TEXT.as_bytes(), 0o644, false)?;
    }
    for rel in &changes.removed {
        let p = out.join(rel);
        step()?;
        std::fs::remove_file(&p).map_err(io_at(&p))?;
    }
    for d in &stale_dirs {
        let p = out.join(d);
        step()?;
        std::fs::remove_dir(&p).map_err(io_at(&p))?;
    }
    for (d, mode) in &dir_chmods {
        let p = out.join(d);
        step()?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).map_err(io_at(&p))?;
    }
    let mut made: BTreeSet<&str> = found.dirs.keys().map(String::as_str).filter(|d| needed_dirs.contains(d)).collect();
    let mut synced_dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for rel in writes {
        // Parents top-down, each once, with their exact mode whatever the umask.
        for (i, _) in rel.match_indices('/') {
            let d = &rel[..i];
            if made.insert(d) {
                let p = out.join(d);
                step()?;
                std::fs::DirBuilder::new().mode(dir_mode(d)).create(&p).map_err(io_at(&p))?;
                step()?;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(dir_mode(d))).map_err(io_at(&p))?;
            }
        }
        let p = out.join(rel);
        if matches!(found.files.get(rel), Some(Entry::Other)) {
            // A symlink or other non-file where the file belongs: rename would replace the
            // link itself, but a directory or socket would not be.
            step()?;
            std::fs::remove_file(&p).map_err(io_at(&p))?;
        }
        let f = &bundle.files[rel];
        let secret = rel.starts_with(&format!("{SECRETS_DIR}/"));
        replace(&p, f.content.as_bytes(), f.mode, secret)?;
        if secret {
            synced_dirs.insert(p.parent().unwrap_or(out).to_path_buf());
        }
    }
    for (rel, mode) in &chmods {
        let p = out.join(rel);
        step()?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).map_err(io_at(&p))?;
    }
    for d in &synced_dirs {
        step()?;
        std::fs::File::open(d).and_then(|f| f.sync_all()).map_err(io_at(d))?;
    }
    replace(&out.join(MANIFEST), manifest_text.as_bytes(), 0o644, false)?;
    let pending = out.join(PENDING);
    step()?;
    std::fs::remove_file(&pending).map_err(io_at(&pending))?;
    Ok(WriteSummary { outcome: WriteOutcome::Written, changes })
}

#[cfg(test)]
mod crash_tests {
    //! A deterministic crash after the k-th change to the directory, for every k: each state
    //! left is the old bundle, the new one, or one that the next write completes (to the new
    //! bundle, or back to the old one if that is what it renders), without --force.

    use super::*;

    /// Every entry under `dir`: path → (kind, mode, content).
    fn tree(dir: &Path) -> BTreeMap<String, (char, u32, Vec<u8>)> {
        use std::os::unix::fs::PermissionsExt;
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                let m = e.metadata().unwrap();
                let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                let mode = m.permissions().mode() & 0o7777;
                if m.is_dir() {
                    stack.push(e.path());
                    out.insert(rel, ('d', mode, Vec::new()));
                } else {
                    out.insert(rel, ('f', mode, std::fs::read(e.path()).unwrap()));
                }
            }
        }
        out
    }

    fn old_bundle() -> Bundle {
        let mut b = Bundle::default();
        b.add("README.md", "# bundle\n", 0o644);
        b.add("deploy.sh", "#!/bin/sh\n", 0o755);
        b.add("hosts/lb-1/install.sh", "#!/bin/sh\necho lb\n", 0o755);
        b.add("hosts/lb-1/files/etc/nginx/conf.d/harbor.conf", "events {}\n", 0o644);
        b.add("hosts/old/install.sh", "#!/bin/sh\necho old\n", 0o755);
        b.add("monitoring/rules/a.yml", "a\n", 0o644);
        b.add("secrets/prod/core_secret", "s3cr3t\n", 0o600);
        b.add_host_manifests();
        b
    }

    /// Two files changed, one mode changed, a host and a directory gone, a host and a site's
    /// secrets new, one file turned into a directory.
    fn new_bundle() -> Bundle {
        let mut b = Bundle::default();
        b.add("README.md", "# bundle v2\n", 0o644);
        b.add("deploy.sh", "#!/bin/sh\n", 0o700);
        b.add("hosts/lb-1/install.sh", "#!/bin/sh\necho lb v2\n", 0o755);
        b.add("hosts/lb-1/files/etc/nginx/conf.d/harbor.conf", "events {}\n", 0o644);
        b.add("hosts/new/install.sh", "#!/bin/sh\necho new\n", 0o755);
        b.add("monitoring/rules/a.yml/x", "a\n", 0o644);
        b.add("secrets/prod/core_secret", "s3cr3t\n", 0o600);
        b.add("secrets/dr/core_secret", "other\n", 0o600);
        b.add_host_manifests();
        b
    }

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("harbor-ha-crash-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Crash after 0, 1, 2… changes until the write completes; returns how many it takes.
    fn every_crash(tag: &str, old: Option<&Bundle>, new: &Bundle) -> usize {
        let base = scratch(tag);
        let reference = |b: Option<&Bundle>, name: &str| {
            let d = base.join(name);
            if let Some(b) = b {
                write_bundle(b, &d, false).unwrap();
                tree(&d)
            } else {
                BTreeMap::new()
            }
        };
        let (want_old, want_new) = (reference(old, "old"), reference(Some(new), "new"));
        let mut intermediate = 0;
        for k in 0.. {
            let out = base.join(format!("k{k}"));
            if let Some(old) = old {
                write_bundle(old, &out, false).unwrap();
            }
            CRASH_AFTER.set(Some(k));
            let r = write_bundle(new, &out, false);
            CRASH_AFTER.set(None);
            let state = if out.exists() { tree(&out) } else { BTreeMap::new() };
            match r {
                Ok(_) => {
                    assert_eq!(state, want_new, "{tag}: no crash after {k} changes: the new bundle");
                    assert!(intermediate > 0, "{tag}: some crash left an intermediate state");
                    std::fs::remove_dir_all(&base).unwrap();
                    return k;
                }
                Err(WriteError::Crash) => {}
                Err(e) => panic!("{tag}: crash after {k}: {e}"),
            }
            if state == want_old || state == want_new {
                continue;
            }
            intermediate += 1;
            let only_temps = state.keys().all(|p| want_old.contains_key(p) || p.contains(TMP_PREFIX));
            assert!(
                state.contains_key(PENDING) || (only_temps && state.len() <= want_old.len() + 1) || old.is_none(),
                "{tag}: crash after {k}: neither bundle and no journal: {:?}",
                state.keys().collect::<Vec<_>>()
            );
            // The next render completes it, whatever it renders: the new bundle…
            let copy = base.join(format!("k{k}-again"));
            copy_tree(&out, &copy);
            let again = write_bundle(new, &out, false);
            assert!(again.is_ok(), "{tag}: crash after {k}: the next write: {again:?}");
            assert_eq!(tree(&out), want_new, "{tag}: crash after {k}: completed to the new bundle");
            // …or the old one again.
            if let Some(old) = old {
                let back = write_bundle(old, &copy, false);
                assert!(back.is_ok(), "{tag}: crash after {k}: back to the old bundle: {back:?}");
                assert_eq!(tree(&copy), want_old, "{tag}: crash after {k}: back to the old bundle");
            }
        }
        unreachable!()
    }

    fn copy_tree(from: &Path, to: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            let dest = to.join(e.file_name());
            if m.is_dir() {
                copy_tree(&e.path(), &dest);
            } else {
                std::fs::copy(e.path(), &dest).unwrap();
            }
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(m.permissions().mode())).unwrap();
        }
    }

    #[test]
    fn a_crash_at_every_step_of_a_change_is_completed_by_the_next_write() {
        let n = every_crash("change", Some(&old_bundle()), &new_bundle());
        // The change: journal, 4 replaced and 4 created files (3 steps each, a secret 4),
        // 1 chmod, 2 removals, 2 directories removed, 5 made (2 steps each), the secrets'
        // directory synced, manifest, journal removed.
        assert!(n > 30, "{n} steps");
    }

    #[test]
    fn a_crash_at_every_step_of_a_first_write_is_completed_by_the_next_write() {
        every_crash("first", None, &new_bundle());
    }

    #[test]
    fn a_hand_edit_is_refused_but_not_a_crash() {
        let base = scratch("edit");
        let out = base.join("out");
        write_bundle(&old_bundle(), &out, false).unwrap();
        std::fs::write(out.join("hosts/lb-1/install.sh"), "edited\n").unwrap();
        match write_bundle(&new_bundle(), &out, false) {
            Err(WriteError::Modified { paths, .. }) => assert_eq!(paths, ["hosts/lb-1/install.sh"]),
            other => panic!("{other:?}"),
        }
        // The same edit under an interrupted render's journal is still an edit.
        let journal = Manifest::of(&new_bundle()).text();
        std::fs::write(out.join(PENDING), journal).unwrap();
        assert!(matches!(write_bundle(&new_bundle(), &out, false), Err(WriteError::Modified { .. })));
        // --force overwrites it.
        write_bundle(&new_bundle(), &out, true).unwrap();
        assert!(!out.join(PENDING).exists());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
