//! The bundle: relative path → file content, mode and the module that rendered it. Writing
//! it to disk is the I/O crate's; the rules it follows (the marker, directory modes, plain
//! relative paths) are here.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::Location;

/// Name of the marker file that identifies a directory as a harbor-ha bundle.
pub const MARKER: &str = ".harbor-ha-bundle";

/// Content of the marker file.
pub const MARKER_TEXT: &str = "This directory was written by harbor-ha render; it is replaced on the next render.\n";

/// Top-level directory holding each site's shared secrets.
pub const SECRETS_DIR: &str = "secrets";

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// UTF-8 content.
    pub content: String,
    /// Unix permission bits, e.g. 0o755 for scripts, 0o600 for files holding secrets.
    pub mode: u32,
    /// Where the renderer made it.
    origin: &'static Location<'static>,
}

impl BundleFile {
    /// A file rendered by the calling module.
    #[must_use]
    #[track_caller]
    pub fn new(content: impl Into<String>, mode: u32) -> Self {
        Self::made_at(content, mode, Location::caller())
    }

    /// A file rendered at `origin` (for callers that must take the location before a
    /// closure, which `#[track_caller]` does not see through).
    pub(crate) fn made_at(content: impl Into<String>, mode: u32, origin: &'static Location<'static>) -> Self {
        BundleFile { content: content.into(), mode, origin }
    }

    /// The module that rendered the file, e.g. `render::nginx` (from the source file of
    /// the call that made it).
    #[must_use]
    pub fn renderer(&self) -> String {
        module_of(self.origin.file())
    }
}

/// `…/src/render/nginx.rs` → `render::nginx`; `…/src/render/runbook/mod.rs` → `render::runbook`.
pub(crate) fn module_of(file: &str) -> String {
    let file = file.replace('\\', "/");
    let rel = file.rsplit_once("/src/").map_or(file.as_str(), |(_, r)| r);
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let rel = rel.strip_suffix("/mod").unwrap_or(rel);
    rel.replace('/', "::")
}

/// Every file `render` produces, keyed by path relative to the output directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bundle {
    /// Path → file.
    pub files: BTreeMap<String, BundleFile>,
}

/// Mode of a bundle directory, by its path relative to the bundle: `secrets/` and its
/// per-site directories are private (0700), like the files in them; the others 0755.
#[must_use]
pub fn dir_mode(rel: &str) -> u32 {
    if rel == SECRETS_DIR || rel.starts_with(&format!("{SECRETS_DIR}/")) {
        0o700
    } else {
        0o755
    }
}

/// Whether `rel` is a relative path of plain parts: no `..`, `.`, empty or absolute parts,
/// and not the marker.
#[must_use]
pub fn is_plain_relative(rel: &str) -> bool {
    !rel.is_empty()
        && rel != MARKER
        && rel.split('/').all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\0'))
}

impl Bundle {
    /// Add (or replace) a file rendered by the calling module.
    #[track_caller]
    pub fn add(&mut self, path: impl Into<String>, content: impl Into<String>, mode: u32) {
        self.files.insert(path.into(), BundleFile::new(content, mode));
    }

    /// Add (or replace) a file made elsewhere (it keeps its renderer).
    pub fn insert(&mut self, path: impl Into<String>, file: BundleFile) {
        self.files.insert(path.into(), file);
    }

    /// Every file under a `=== path (mode) [renderer] ===` header, for snapshot tests and
    /// review: the snapshots are the index from a file to the module that renders it.
    #[must_use]
    pub fn listing(&self) -> String {
        let mut s = String::new();
        for (p, f) in &self.files {
            let _ = writeln!(s, "=== {p} ({:04o}) [{}] ===", f.mode, f.renderer());
            s.push_str(&f.content);
            if !f.content.ends_with('\n') {
                s.push_str("\n<no newline at end of file>\n");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renderer_is_the_calling_module() {
        assert_eq!(module_of("harbor-ha-core/src/render/nginx.rs"), "render::nginx");
        assert_eq!(
            module_of("/home/u/.cargo/registry/src/x/harbor-ha-core-0.1.0/src/render/runbook/mod.rs"),
            "render::runbook"
        );
        assert_eq!(module_of("C:\\b\\harbor-ha-core\\src\\render\\replication\\api.rs"), "render::replication::api");
        let mut b = Bundle::default();
        b.add("a.txt", "x\n", 0o644);
        assert_eq!(b.files["a.txt"].renderer(), "bundle");
        assert_eq!(b.listing(), "=== a.txt (0644) [bundle] ===\nx\n");
    }

    #[test]
    fn plain_relative_paths() {
        assert!(is_plain_relative("hosts/a/files/etc/x"));
        for bad in ["", "/etc", "a/../b", "a//b", "./a", MARKER] {
            assert!(!is_plain_relative(bad), "{bad}");
        }
        assert_eq!(dir_mode("secrets/prod"), 0o700);
        assert_eq!(dir_mode("secretsx"), 0o755);
    }
}
