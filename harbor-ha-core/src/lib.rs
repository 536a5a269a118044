//! # harbor-ha-core
//!
//! Model a highly available Harbor registry deployment, validate it against the failures
//! that break such deployments in the field, and (from the bundle stage) render every
//! config file and install script needed to stand it up.
//!
//! The pipeline is visible in the modules: [`parse`] (text → raw [`model::spec`]) →
//! [`validate`] (rules → [`diag::Diagnostic`]s and a resolved [`model::resolved::Topology`]).
//! The core prints nothing, reads no environment and spawns no process; it touches files
//! only in [`load_file`].
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
//! let err = harbor_ha_core::load_str("version: 1\nsites: [").unwrap_err();
//! assert_eq!(err.code.as_str(), "HA001");
//! assert!(err.line.is_some());
//! ```
#![deny(missing_docs)]

pub mod bundle;
pub mod diag;
pub mod examples;
pub mod model;
pub mod parse;
pub mod render;
pub mod schema;
pub mod secrets;
pub mod source;
pub mod synthetic;
pub mod validate;

use std::path::{Path, PathBuf};

pub use diag::{Diagnostic, Severity};
pub use model::resolved::Topology;
pub use model::spec::TopologySpec;
pub use source::SourceMap;
pub use validate::codes::RuleCode;
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
}

/// Parse a topology from YAML text.
///
/// # Errors
/// An HA001 diagnostic with line and column when the text is not a topology.
pub fn load_str(text: &str) -> Result<Document, Box<Diagnostic>> {
    let (spec, source) = parse::parse_str(text)?;
    Ok(Document { spec, source })
}

/// Why a topology file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The path is a directory.
    #[error("{path} is a directory, not a topology file")]
    IsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// The file is not UTF-8.
    #[error("{path} is not UTF-8 text (byte {offset} is invalid)")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// First invalid byte.
        offset: usize,
    },
    /// The text is not a topology.
    #[error("{}", .0.message)]
    Parse(Box<Diagnostic>),
}

/// Read and parse a topology file. The text is returned too, for source excerpts.
///
/// # Errors
/// [`LoadError`] for I/O, encoding and parse failures.
pub fn load_file(path: &Path) -> Result<(Document, String), LoadError> {
    if path.is_dir() {
        return Err(LoadError::IsDirectory { path: path.to_path_buf() });
    }
    let meta = std::fs::metadata(path).map_err(|source| LoadError::Io { path: path.to_path_buf(), source })?;
    if meta.len() > parse::MAX_INPUT_BYTES as u64 {
        return Err(LoadError::Parse(Box::new(parse::too_large(usize::try_from(meta.len()).unwrap_or(usize::MAX)))));
    }
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io { path: path.to_path_buf(), source })?;
    let text = String::from_utf8(bytes)
        .map_err(|e| LoadError::NotUtf8 { path: path.to_path_buf(), offset: e.utf8_error().valid_up_to() })?;
    let doc = load_str(&text).map_err(LoadError::Parse)?;
    Ok((doc, text))
}
