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
use crate::secrets::{load_sites, read_dir_files, Generation, SecretsDirError};
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
    /// Read the stored shared secrets from `DIR/<site>/` instead of `<out>/secrets/<site>/`
    /// (`--secrets DIR`: a restored backup, a vault checkout). Refused when it holds none.
    pub secrets: Option<std::path::PathBuf>,
    /// `--locked`: generate no secret; one that is not stored is an error naming it.
    pub locked: bool,
    /// Told what the render is doing (the command line draws a progress bar from it).
    pub progress: Progress,
}

/// A stage of [`render_to_dir`], for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Loading and validating the topology.
    Validating,
    /// The shared secrets: `done` of `sites` sites read or generated.
    Secrets {
        /// Sites done.
        done: usize,
        /// Sites in all.
        sites: usize,
    },
    /// Rendering the bundle in memory.
    Rendering,
    /// Writing the bundle.
    Writing,
}

/// A callback told each [`Stage`] (from any thread); none by default.
#[derive(Clone, Default)]
pub struct Progress(Option<std::sync::Arc<dyn Fn(Stage) + Send + Sync>>);

impl Progress {
    /// Call `f` with each stage.
    pub fn new(f: impl Fn(Stage) + Send + Sync + 'static) -> Self {
        Progress(Some(std::sync::Arc::new(f)))
    }

    fn tell(&self, stage: Stage) {
        if let Some(f) = &self.0 {
            f(stage);
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Progress(..)" } else { "Progress(none)" })
    }
}

/// Where the stored secrets are read and whether new ones may be made.
struct SecretsSource<'a> {
    dir: &'a Path,
    generation: Generation,
    progress: &'a Progress,
}

impl SecretsSource<'_> {
    fn load(&self, topo: &harbor_ha_core::ValidTopology) -> Result<SharedSecrets, SecretsDirError> {
        load_sites(topo, Some(self.dir), self.generation, &|done, sites| {
            self.progress.tell(Stage::Secrets { done, sites });
        })
    }
}

/// The shared secrets by site name.
type SharedSecrets = std::collections::BTreeMap<String, harbor_ha_core::secrets::SiteSecrets>;

/// `--secrets DIR` must hold a previous render's secrets: at least one `<site>/` directory
/// with a secret file (an empty or mistyped directory would silently make new ones).
fn check_given_secrets_dir(dir: &Path) -> Result<(), SecretsDirError> {
    let empty = || SecretsDirError::EmptyDir(dir.to_path_buf());
    let entries = std::fs::read_dir(dir).map_err(|_| empty())?;
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) && !read_dir_files(&entry.path())?.is_empty() {
            return Ok(());
        }
    }
    Err(empty())
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
    let report = doc.validate();
    let Some(topo) = report.topology else {
        return Err(RenderError::Invalid { diagnostics: report.diagnostics, text: None });
    };
    let shared = load_sites(&topo, secrets_dir, Generation::Missing, &|_, _| {})?;
    resolve(doc, &topo, shared, None, resolver).map(|input| render(&input))
}

/// The topology's own secrets resolved (`{env}`, `{file}`) by `resolver`; errors located in
/// `doc`, with `text` for excerpts.
fn resolve<'t>(
    doc: &Document,
    topo: &'t harbor_ha_core::ValidTopology,
    shared: SharedSecrets,
    text: Option<&str>,
    resolver: &dyn SecretResolver,
) -> Result<harbor_ha_core::secrets::RenderInput<'t>, RenderError> {
    resolve_secrets(topo, resolver, shared).map_err(|mut diagnostics| {
        diagnostics.iter_mut().for_each(|d| doc.source.locate(d));
        RenderError::Invalid { diagnostics, text: text.map(str::to_string) }
    })
}

/// The warnings in force and those `allow` suppressed.
type Warnings = (Vec<Diagnostic>, Vec<Diagnostic>);

/// The bundle of `doc` (`text`: its file's text) accepting the warnings of `allow` too,
/// with the warnings.
fn render_with_warnings(
    (doc, text): (&Document, &str),
    secrets: &SecretsSource<'_>,
    allow: &[harbor_ha_core::RuleCode],
) -> Result<(Bundle, Warnings), RenderError> {
    let report = doc.validate_allowing(allow);
    let Some(topo) = report.topology else {
        return Err(RenderError::Invalid { diagnostics: report.diagnostics, text: Some(text.to_string()) });
    };
    let input = resolve(doc, &topo, secrets.load(&topo)?, Some(text), &EnvResolver)?;
    secrets.progress.tell(Stage::Rendering);
    Ok((render(&input), (report.diagnostics, report.suppressed)))
}

/// `harbor-ha render FILE --out OUT [--from OLD]`: load `path`, render it (reusing the shared
/// secrets under `<out>/secrets/`), and write the bundle into `out`; with `from`, the bundle
/// also holds the change plan from the running topology (`CHANGE.md`, `upgrade/`).
///
/// # Errors
/// [`RenderError`]: the files, the diagnostics, the refusals, the secrets or the write.
pub fn render_to_dir(path: &Path, out: &Path, options: &RenderOptions) -> Result<Outcome, RenderError> {
    options.progress.tell(Stage::Validating);
    let (doc, text) = load_file(path)?;
    let default_dir = out.join("secrets");
    let dir = match &options.secrets {
        Some(given) => {
            check_given_secrets_dir(given)?;
            given.as_path()
        }
        None => &default_dir,
    };
    let generation = if options.locked { Generation::Never } else { Generation::Missing };
    let secrets = SecretsSource { dir, generation, progress: &options.progress };
    let (bundle, (warnings, suppressed)) = match &options.from {
        None => render_with_warnings((&doc, &text), &secrets, &options.allow)?,
        Some(old) => render_change(old, path, (&doc, &text), &secrets, options)?,
    };
    options.progress.tell(Stage::Writing);
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
    secrets: &SecretsSource<'_>,
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
    let shared = secrets.load(&topo)?;
    let input = resolve(doc, &topo, shared.clone(), Some(text), &EnvResolver)?;
    let mut procedure_inputs = Vec::new();
    for p in &plan.procedures {
        let mut s = shared.clone();
        for site in &p.after.sites {
            if !s.contains_key(site.name.as_str()) {
                s.extend(secrets.load(&p.after)?);
            }
        }
        procedure_inputs.push(resolve(doc, &p.after, s, Some(text), &EnvResolver)?);
    }
    secrets.progress.tell(Stage::Rendering);
    let labels = (display_name(old), display_name(new_path));
    let bundle = harbor_ha_core::render::render_change(&input, &plan, &procedure_inputs, (&labels.0, &labels.1));
    let mut warnings = report.diagnostics;
    warnings.extend(plan.diagnostics.iter().cloned());
    Ok((bundle, (warnings, report.suppressed)))
}
