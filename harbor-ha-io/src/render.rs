//! The render use case, written once for every front end: load → validate → the shared
//! secrets (read or generated) → the topology's secrets (resolved from the environment and
//! files) → render → write. Diagnostics come back located in the topology file.

use std::path::Path;

use harbor_ha_core::bundle::Bundle;
use harbor_ha_core::render::render;
use harbor_ha_core::validate::resolve_secrets;
use harbor_ha_core::{Diagnostic, Document};

use crate::load::{load_file, LoadError};
use crate::resolver::EnvResolver;
use crate::secrets::{load_or_generate, SecretsDirError};
use crate::write::{write_bundle, WriteError, WriteOutcome};

/// How to write the bundle.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Replace the output directory even when it is not a previous bundle.
    pub force: bool,
}

/// What [`render_to_dir`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Written, or left untouched because it already held exactly this bundle.
    pub write: WriteOutcome,
    /// The number of files in the bundle.
    pub files: usize,
}

/// Why nothing was rendered or written.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The topology file cannot be read or parsed.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Validation or a secret found errors (every diagnostic, errors and warnings, located
    /// in the topology file when it came from one).
    #[error("the topology has errors")]
    Invalid {
        /// The diagnostics.
        diagnostics: Vec<Diagnostic>,
        /// The topology file's text, for excerpts (None when it did not come from a file).
        text: Option<String>,
    },
    /// The stored shared secrets cannot be read, or new ones cannot be made.
    #[error(transparent)]
    Secrets(#[from] SecretsDirError),
    /// The bundle cannot be written.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Render `doc` into a bundle in memory. The shared secrets come from
/// `<secrets_dir>/<site>/` when a previous render left them there and are generated
/// otherwise; `{env: X}` secrets come from this process's environment, `{file: P}` from disk.
///
/// # Errors
/// [`RenderError::Invalid`] with every diagnostic, or [`RenderError::Secrets`].
pub fn render_document(doc: &Document, secrets_dir: Option<&Path>) -> Result<Bundle, RenderError> {
    let report = doc.validate();
    let Some(topo) = report.topology else {
        return Err(RenderError::Invalid { diagnostics: report.diagnostics, text: None });
    };
    let shared = load_or_generate(&topo, secrets_dir)?;
    let input = resolve_secrets(&topo, &EnvResolver, shared).map_err(|mut diagnostics| {
        diagnostics.iter_mut().for_each(|d| doc.source.locate(d));
        RenderError::Invalid { diagnostics, text: None }
    })?;
    Ok(render(&input))
}

/// `harbor-ha render FILE --out OUT`: load `path`, render it (reusing the shared secrets under
/// `<out>/secrets/`), and write the bundle into `out`.
///
/// # Errors
/// [`RenderError`]: the file, the diagnostics, the secrets or the write.
pub fn render_to_dir(path: &Path, out: &Path, options: &RenderOptions) -> Result<Outcome, RenderError> {
    let (doc, text) = load_file(path)?;
    let bundle = render_document(&doc, Some(&out.join("secrets"))).map_err(|e| match e {
        RenderError::Invalid { diagnostics, .. } => RenderError::Invalid { diagnostics, text: Some(text) },
        other => other,
    })?;
    let write = write_bundle(&bundle, out, options.force)?;
    Ok(Outcome { write, files: bundle.files.len() })
}
