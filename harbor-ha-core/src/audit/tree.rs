//! A collected tree as data: per host, its files by absolute path and its facts. The
//! bundle's `hosts/` layout, `DIR/<host>/files/<absolute path>` and `DIR/<host>/facts.json`,
//! read by harbor-ha-io into these types.
//!
//! A tree is held in its collected form ([`super::classify`]): files of a secret-bearing
//! class that came in the clear (a rendered bundle's `hosts/`) are redacted, or replaced by
//! their digest, on the way in ([`HostTree::insert`]). So the audit reads one representation,
//! and no secret can reach a diagnostic.

use std::collections::BTreeMap;

use super::classify::{class, redact, sha256_hex, FileClass, DIGEST_SUFFIX};

/// One file of a collected host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// The content (redacted, or a digest, for secret-bearing files).
    pub content: Vec<u8>,
    /// Unix permission bits of the file on the host.
    pub mode: u32,
}

/// One collected host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostTree {
    /// Absolute path on the host → file, including `<path>.sha256` digest files.
    pub files: BTreeMap<String, TreeFile>,
    /// The content of `facts.json`, when collected.
    pub facts: Option<Vec<u8>>,
}

/// A collected tree: host name → host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectedTree {
    /// Host directory name → its files.
    pub hosts: BTreeMap<String, HostTree>,
}

/// A file's digest (lowercase hex SHA-256) and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    /// The digest.
    pub hex: String,
    /// Unix permission bits of the original file.
    pub mode: u32,
}

impl HostTree {
    /// Add the file at absolute `path` as read from a tree: a `<path>.sha256` digest file or a
    /// file of class plain is kept as it is; a redacted-class file is redacted (a no-op when
    /// it already is) and gets its digest file when it has none; an opaque file is replaced
    /// by its digest file.
    pub fn insert(&mut self, path: &str, content: Vec<u8>, mode: u32) {
        if path.ends_with(DIGEST_SUFFIX) {
            self.files.insert(path.to_string(), TreeFile { content, mode });
            return;
        }
        let digest_path = format!("{path}{DIGEST_SUFFIX}");
        match class(path) {
            FileClass::Plain => {
                self.files.insert(path.to_string(), TreeFile { content, mode });
            }
            FileClass::Redacted => {
                self.files
                    .entry(digest_path)
                    .or_insert_with(|| TreeFile { content: format!("{}\n", sha256_hex(&content)).into_bytes(), mode });
                self.files.insert(path.to_string(), TreeFile { content: redact(path, &content), mode });
            }
            FileClass::Opaque => {
                self.files
                    .entry(digest_path)
                    .or_insert_with(|| TreeFile { content: format!("{}\n", sha256_hex(&content)).into_bytes(), mode });
            }
        }
    }

    /// The text of the file at `path` (redacted for secret-bearing files), when it was
    /// collected and is UTF-8.
    #[must_use]
    pub fn text(&self, path: &str) -> Option<&str> {
        self.files.get(path).and_then(|f| std::str::from_utf8(&f.content).ok())
    }

    /// The digest of the file at `path`: its `.sha256` file, else the SHA-256 of its
    /// (plain) content.
    #[must_use]
    pub fn digest(&self, path: &str) -> Option<FileDigest> {
        if let Some(f) = self.files.get(&format!("{path}{DIGEST_SUFFIX}")) {
            let hex =
                String::from_utf8_lossy(&f.content).split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
            return Some(FileDigest { hex, mode: f.mode });
        }
        self.files.get(path).map(|f| FileDigest { hex: sha256_hex(&f.content), mode: f.mode })
    }

    /// The file of the tree to point a reader at for `path`: the file itself, else its
    /// digest file.
    #[must_use]
    pub fn shown_path(&self, path: &str) -> Option<String> {
        if self.files.contains_key(path) {
            Some(path.to_string())
        } else {
            let d = format!("{path}{DIGEST_SUFFIX}");
            self.files.contains_key(&d).then_some(d)
        }
    }

    /// Every collected path (digest files stand for their original), sorted.
    #[must_use]
    pub fn paths(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .files
            .keys()
            .map(|p| match p.strip_suffix(DIGEST_SUFFIX) {
                Some(orig) if class(orig) != FileClass::Plain || !self.files.contains_key(orig) => orig.to_string(),
                _ => p.clone(),
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }
}
