//! Auditing a live site: a collected tree (the bundle's `hosts/` layout, as `collect.sh`
//! writes it from the hosts) read back into a topology, checked across nodes, and compared
//! with a bundle.
//!
//! - [`tree`]: the collected tree as data (harbor-ha-io reads it from a directory); secret
//!   values only as digests ([`classify`]).
//! - [`import()`]: the tree → a topology (text, with commented placeholders for what the files
//!   do not tell), every validation rule on it, and the cross-node rules ([`rules`]) on the
//!   collected files.
//! - [`drift()`]: every file of a bundle's `hosts/` against the collected one.
//!
//! ```
//! use harbor_ha_core::audit::{import, tree::CollectedTree};
//! let mut tree = CollectedTree::default();
//! let node = tree.hosts.entry("harbor-1".into()).or_default();
//! node.insert("/usr/local/harbor/harbor.yml", b"hostname: 10.0.0.11\ndata_volume: /data\n_version: 2.11.0\nharbor_admin_password: Harbor12345\n".to_vec(), 0o600);
//! let report = import(&tree);
//! assert!(report.topology.contains("address: \"10.0.0.11\""));
//! // The password is never read: the topology takes it from the environment.
//! assert!(!report.topology.contains("Harbor12345"));
//! ```

pub mod classify;
pub mod drift;
pub mod facts;
mod import;
pub mod inventory;
pub mod parsers;
pub mod rules;
pub mod tree;

use serde::Serialize;

pub use drift::{drift, DriftFinding, DriftKind, DriftReport};

use crate::diag::{has_errors, Diagnostic};

/// What `import` found: the topology and the findings.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The topology file, with `# import:` comments and commented placeholders.
    pub topology: String,
    /// Findings on the collected files (AU002–AU007): `path` is the file relative to the
    /// tree (`harbor-1/files/usr/local/harbor/harbor.yml`), `line` its line.
    pub findings: Vec<Diagnostic>,
    /// Findings on the topology (AU001 and every validation rule): key paths and lines of
    /// [`Self::topology`].
    pub diagnostics: Vec<Diagnostic>,
}

impl ImportReport {
    /// Whether any finding is an error.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        has_errors(&self.findings) || has_errors(&self.diagnostics)
    }
}

/// Read a collected tree into a topology and check it: see the [module](self) documentation.
#[must_use]
pub fn import(tree: &tree::CollectedTree) -> ImportReport {
    let inv = inventory::read(tree);
    let (sites, loose) = inv.sites();
    let written = import::write(&inv, &sites, &loose);
    let mut findings = inv.findings.clone();
    findings.extend(rules::check(tree, &inv, &sites));
    findings.sort_by(|a, b| (&a.path, a.line, a.code).cmp(&(&b.path, b.line, b.code)));
    findings.dedup();
    let mut diagnostics = written.placeholders;
    match crate::load_str(&written.text) {
        Ok(doc) => diagnostics.extend(doc.validate().diagnostics),
        Err(d) => diagnostics.extend(d),
    }
    diagnostics.sort_by(|a, b| {
        (a.line.unwrap_or(usize::MAX), a.code, &a.path).cmp(&(b.line.unwrap_or(usize::MAX), b.code, &b.path))
    });
    ImportReport { topology: written.text, findings, diagnostics }
}
