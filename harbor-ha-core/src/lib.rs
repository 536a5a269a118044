//! # harbor-ha-core
//!
//! Model a highly available Harbor registry deployment, validate it against the failures
//! that break such deployments in the field, and (from the bundle stage) render every
//! config file and install script needed to stand it up.
//!
//! The pipeline is visible in the modules: [`parse`] (text → raw [`model::spec`]) →
//! [`validate`] (rules → [`diag::Diagnostic`]s and a [`model::resolved::ValidTopology`]) →
//! [`validate::resolve_secrets`] (the topology's secrets, with the generated [`secrets`]) →
//! [`render`] (one module per output family) → [`bundle`] (files with their modes).
//!
//! The core is pure: it prints nothing, reads no file and no environment, spawns no process
//! and draws no OS randomness or time; `clippy.toml` forbids those calls and
//! `[workspace.lints]` makes that an error. The I/O crate (`harbor-ha-io`) reads topology
//! files and the secrets directory, draws the random keys and writes bundles.
//!
//! ```
//! let text = harbor_ha_core::examples::get("seed").unwrap();
//! let doc = harbor_ha_core::load_str(text).expect("the seed example parses");
//! let report = doc.validate();
//! assert!(!report.has_errors());
//! assert!(report.topology.is_some());
//! for d in &report.diagnostics {
//!     println!("{} {}: {}", d.code, d.severity.as_str(), d.message);
//! }
//! ```
//!
//! Errors come back as data, with the rule code, key path and position:
//!
//! ```
//! let errs = harbor_ha_core::load_str("version: 1\nsites: [").unwrap_err();
//! assert_eq!(errs[0].code.as_str(), "HA001");
//! assert!(errs[0].line.is_some());
//! ```
#![deny(missing_docs)]

pub mod audit;
pub mod bundle;
pub mod change;
pub mod diag;
pub mod examples;
pub mod model;
pub mod parse;
pub mod render;
pub mod schema;
pub mod secrets;
mod shape;
pub mod source;
pub mod synthetic;
pub mod validate;

pub use diag::RuleCode;
pub use diag::{Diagnostic, Severity};
pub use model::resolved::{Topology, ValidTopology};
pub use model::spec::TopologySpec;
pub use source::SourceMap;
pub use validate::{validate, Report};

/// A parsed topology file and where its values came from.
#[derive(Debug, Clone)]
pub struct Document {
    /// The raw model.
    pub spec: TopologySpec,
    /// Key path → position (empty for input that was not text).
    pub source: SourceMap,
}

impl Document {
    /// Wrap a raw model that did not come from text (e.g. a Python dict); diagnostics then
    /// carry paths but no line or column.
    #[must_use]
    pub fn from_spec(spec: TopologySpec) -> Self {
        Document { spec, source: SourceMap::empty() }
    }

    /// Run every rule.
    #[must_use]
    pub fn validate(&self) -> Report {
        validate::validate(&self.spec, &self.source)
    }

    /// Run every rule, accepting the warnings of `allow` too (the command line's
    /// `--allow CODE`) besides those the topology's own `allow` keys name.
    #[must_use]
    pub fn validate_allowing(&self, allow: &[RuleCode]) -> Report {
        validate::validate_allowing(&self.spec, &self.source, allow)
    }
}

/// Parse a topology from YAML text.
///
/// # Errors
/// The HA001 diagnostics (at least one), with line and column, when the text is not a
/// topology: every structural error of the file at once.
pub fn load_str(text: &str) -> Result<Document, Vec<Diagnostic>> {
    let (spec, source) = parse::parse_str(text)?;
    Ok(Document { spec, source })
}
