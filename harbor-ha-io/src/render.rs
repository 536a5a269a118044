//! The render use case, written once for every front end: load → validate → the shared
//! secrets (read or generated) → the topology's secrets (resolved from the environment and
//! files) → render → write. Diagnostics come back located in the topology file.

use std::path::Path;

use harbor_ha_core::bundle::Bundle;
use harbor_ha_core::model::secret::SecretResolver;
use harbor_ha_core::render::render;
use harbor_ha_core::validate::resolve_secrets;
use harbor_ha_core::{change, Diagnostic, Document};

use crate::load::{display_name, load_file, LoadError};
use crate::resolver::EnvResolver;
use crate::secrets::{load_or_generate, SecretsDirError};
use crate::write::{write_bundle, Changes, WriteError, WriteOutcome};

/// How to write the bundle.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Replace the output directory even when it is not a previous bundle.
    pub force: bool,
    /// The running site's topology: also write `CHANGE.md` and `upgrade/` (the plan from it).
    pub from: Option<std::path::PathBuf>,
    /// With `from`: plan changes that lose the site's data (CH003 becomes a warning).
    pub allow_destructive: bool,
    /// Warnings accepted besides those the topology's `allow` keys name (`--allow CODE`).
    pub allow: Vec<harbor_ha_core::RuleCode>,
}

/// What [`render_to_dir`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Written, or left untouched because it already held exactly this bundle.
    pub write: WriteOutcome,
    /// The files created, changed and removed in the output directory.
    pub changes: Changes,
    /// The number of files in the bundle.
    pub files: usize,
    /// The warnings of validation (and, with `from`, of the change plan), located in the
    /// topology file; the render went ahead.
    pub warnings: Vec<Diagnostic>,
    /// The warnings accepted by `allow`, not shown.
    pub suppressed: Vec<Diagnostic>,
    /// The topology file's text, for the warnings' excerpts.
    pub text: String,
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
    /// The running topology (`--from`) has errors (located in its file).
    #[error("the running topology has errors")]
    InvalidFrom {
        /// The diagnostics.
        diagnostics: Vec<Diagnostic>,
        /// The running topology file's text.
        text: String,
    },
    /// The change from the running topology is refused (CH001–CH004, located in the wanted
    /// topology's file).
    #[error("the change is refused")]
    Refused {
        /// The refusals.
        diagnostics: Vec<Diagnostic>,
        /// The wanted topology file's text.
        text: String,
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
    render_document_with(doc, secrets_dir, &EnvResolver)
}

/// [`render_document`] with the topology's secrets resolved by `resolver` instead of the
/// environment and the files (the Python module's `render(secrets=…)`).
///
/// # Errors
/// [`RenderError::Invalid`] with every diagnostic, or [`RenderError::Secrets`].
pub fn render_document_with(
    doc: &Document,
    secrets_dir: Option<&Path>,
    resolver: &dyn SecretResolver,
) -> Result<Bundle, RenderError> {
    render_with_warnings(doc, secrets_dir, &[], resolver).map(|(bundle, _)| bundle)
}

/// The warnings in force and those `allow` suppressed.
type Warnings = (Vec<Diagnostic>, Vec<Diagnostic>);

/// [`render_document`] accepting the warnings of `allow` too, with the warnings.
fn render_with_warnings(
    doc: &Document,
    secrets_dir: Option<&Path>,
    allow: &[harbor_ha_core::RuleCode],
    resolver: &dyn SecretResolver,
) -> Result<(Bundle, Warnings), RenderError> {
    let report = doc.validate_allowing(allow);
    let Some(topo) = report.topology else {
        return Err(RenderError::Invalid { diagnostics: report.diagnostics, text: None });
    };
    let shared = load_or_generate(&topo, secrets_dir)?;
    let input = resolve_secrets(&topo, resolver, shared).map_err(|mut diagnostics| {
        diagnostics.iter_mut().for_each(|d| doc.source.locate(d));
        RenderError::Invalid { diagnostics, text: None }
    })?;
    Ok((render(&input), (report.diagnostics, report.suppressed)))
}

/// `harbor-ha render FILE --out OUT [--from OLD]`: load `path`, render it (reusing the shared
/// secrets under `<out>/secrets/`), and write the bundle into `out`; with `from`, the bundle
/// also holds the change plan from the running topology (`CHANGE.md`, `upgrade/`).
///
/// # Errors
/// [`RenderError`]: the files, the diagnostics, the refusals, the secrets or the write.
pub fn render_to_dir(path: &Path, out: &Path, options: &RenderOptions) -> Result<Outcome, RenderError> {
    let (doc, text) = load_file(path)?;
    let secrets_dir = out.join("secrets");
    let (bundle, (warnings, suppressed)) = match &options.from {
        None => render_with_warnings(&doc, Some(&secrets_dir), &options.allow, &EnvResolver).map_err(|e| match e {
            RenderError::Invalid { diagnostics, .. } => RenderError::Invalid { diagnostics, text: Some(text.clone()) },
            other => other,
        })?,
        Some(old) => render_change(old, path, (&doc, &text), &secrets_dir, options)?,
    };
    let written = write_bundle(&bundle, out, options.force)?;
    let files = bundle.files.len();
    Ok(Outcome { write: written.outcome, changes: written.changes, files, warnings, suppressed, text })
}

/// The change from the running topology `old` to `new`: planned, then rendered with the
/// procedures' intermediate topologies, all with the same shared secrets.
fn render_change(
    old: &Path,
    new_path: &Path,
    (doc, text): (&Document, &str),
    secrets_dir: &Path,
    options: &RenderOptions,
) -> Result<(Bundle, Warnings), RenderError> {
    let (old_doc, old_text) = load_file(old)?;
    let old_report = old_doc.validate_allowing(&options.allow);
    let Some(old_topo) = old_report.topology else {
        return Err(RenderError::InvalidFrom { diagnostics: old_report.diagnostics, text: old_text });
    };
    let report = doc.validate_allowing(&options.allow);
    let Some(topo) = report.topology else {
        return Err(RenderError::Invalid { diagnostics: report.diagnostics, text: Some(text.to_string()) });
    };
    let plan = change::plan(
        change::Side { doc: &old_doc, topology: &old_topo },
        change::Side { doc, topology: &topo },
        change::Options { allow_destructive: options.allow_destructive },
    )
    .map_err(|diagnostics| RenderError::Refused { diagnostics, text: text.to_string() })?;
    let located = |mut diagnostics: Vec<Diagnostic>| {
        diagnostics.iter_mut().for_each(|d| doc.source.locate(d));
        RenderError::Invalid { diagnostics, text: Some(text.to_string()) }
    };
    let shared = load_or_generate(&topo, Some(secrets_dir))?;
    let input = resolve_secrets(&topo, &EnvResolver, shared.clone()).map_err(located)?;
    let mut procedure_inputs = Vec::new();
    for p in &plan.procedures {
        let mut s = shared.clone();
        for site in &p.after.sites {
            if !s.contains_key(site.name.as_str()) {
                s.extend(load_or_generate(&p.after, Some(secrets_dir))?);
            }
        }
        procedure_inputs.push(resolve_secrets(&p.after, &EnvResolver, s).map_err(located)?);
    }
    let labels = (display_name(old), display_name(new_path));
    let bundle = harbor_ha_core::render::render_change(&input, &plan, &procedure_inputs, (&labels.0, &labels.1));
    let mut warnings = report.diagnostics;
    warnings.extend(plan.diagnostics.iter().cloned());
    Ok((bundle, (warnings, report.suppressed)))
}
