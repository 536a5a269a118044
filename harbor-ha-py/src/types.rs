//! The Python classes: `Topology`, `Diagnostic`, `Bundle`, `File`, `Rule`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use harbor_ha_core::bundle::Bundle as CoreBundle;
use harbor_ha_core::diag::Diagnostic as CoreDiagnostic;
use harbor_ha_core::model::secret::{Secret, SecretResolver};
use harbor_ha_core::{change, Document, RuleCode};
use harbor_ha_io::{render_document_with, write_bundle, EnvResolver, RenderError, WriteOutcome, WriteSummary};
use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyMapping, PyString};

use crate::errors::{describe, guard, render_error, validation_error, write_error};

/// Python's `repr` of a string.
fn repr(py: Python<'_>, s: &str) -> PyResult<String> {
    Ok(PyString::new(py, s).repr()?.to_cow()?.into_owned())
}

/// A parsed topology (not necessarily valid: see `validate`).
#[pyclass(frozen, module = "harbor_ha")]
pub struct Topology {
    doc: Document,
}

impl Topology {
    pub fn new(doc: Document) -> Self {
        Topology { doc }
    }
}

#[pymethods]
impl Topology {
    /// Every finding (errors and warnings), ordered by position in the file; the warnings
    /// the topology's `allow` keys accept are left out.
    fn validate(&self, py: Python<'_>) -> PyResult<Vec<Diagnostic>> {
        guard(|| {
            let report = py.detach(|| self.doc.validate());
            Ok(report.diagnostics.into_iter().map(Diagnostic::from).collect())
        })
    }

    /// Render the bundle. Shared secrets are read from `<secrets_dir>/<site>/` when present
    /// (as the CLI reads `<out>/secrets/`), generated otherwise. `{env: X}` secrets come from
    /// `secrets` when it is given (it replaces the environment: a name missing from it is an
    /// SC002 error even when the environment has it), from this process's environment
    /// otherwise; `{file: P}` from disk.
    #[pyo3(signature = (secrets_dir = None, *, secrets = None))]
    fn render(
        &self,
        py: Python<'_>,
        secrets_dir: Option<PathBuf>,
        secrets: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bundle> {
        guard(|| {
            let resolver = match secrets {
                Some(m) => Resolver::Mapping(secret_mapping(m)?),
                None => Resolver::Env,
            };
            match py.detach(|| render_document_with(&self.doc, secrets_dir.as_deref(), &resolver)) {
                Ok(b) => Bundle::new(py, b),
                Err(RenderError::Invalid { mut diagnostics, text }) if matches!(resolver, Resolver::Mapping(_)) => {
                    diagnostics.iter_mut().for_each(mapping_hint);
                    Err(render_error(py, RenderError::Invalid { diagnostics, text }))
                }
                Err(e) => Err(render_error(py, e)),
            }
        })
    }

    /// The topology as plain data: the mapping `from_dict` takes (keys the file left out are
    /// left out; secrets as written: `{"env": X}`, `{"file": P}`, or a literal value).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| crate::as_python(py, serde_json::to_string(&self.doc.spec)))
    }

    /// The install plan (`harbor-ha plan FILE --format json`): every site's hosts in install
    /// order with the files each receives; with `from_` (the running topology), the change
    /// plan from it to this one (`harbor-ha plan --from OLD FILE --format json`).
    #[pyo3(signature = (from_ = None, *, diff = false, allow_destructive = false))]
    fn plan<'py>(
        &self,
        py: Python<'py>,
        from_: Option<Bound<'py, Topology>>,
        diff: bool,
        allow_destructive: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let new = valid(py, &self.doc)?;
            let Some(old) = from_ else {
                if diff || allow_destructive {
                    return Err(PyValueError::new_err(
                        "diff and allow_destructive apply to a change plan: give from_ (the running topology)",
                    ));
                }
                return crate::as_python(py, Ok(harbor_ha_core::render::install_plan_json(&new)));
            };
            let old = old.get();
            let old_topo = valid(py, &old.doc)?;
            let planned = py.detach(|| {
                change::plan(
                    change::Side { doc: &old.doc, topology: &old_topo },
                    change::Side { doc: &self.doc, topology: &new },
                    change::Options { allow_destructive },
                )
                .map(|p| change::json(&p, diff))
            });
            match planned {
                Ok(json) => crate::as_python(py, Ok(json)),
                Err(diags) => Err(validation_error(py, &diags)),
            }
        })
    }

    /// Site names as written.
    #[getter]
    fn sites(&self) -> Vec<String> {
        self.doc.spec.sites.iter().map(|s| s.name.as_str().to_string()).collect()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        // Never a value of the file: it may hold literal secrets.
        Ok(format!("Topology(sites={})", self.sites().into_pyobject(py)?.repr()?))
    }
}

/// The valid topology of `doc`, or `ValidationError` with every finding.
fn valid(py: Python<'_>, doc: &Document) -> PyResult<harbor_ha_core::ValidTopology> {
    let report = py.detach(|| doc.validate());
    match report.topology {
        Some(t) => Ok(t),
        None => Err(validation_error(py, &report.diagnostics)),
    }
}

/// `render(secrets=…)`: a mapping of str to str. Errors name the key, never the value.
fn secret_mapping(m: &Bound<'_, PyAny>) -> PyResult<BTreeMap<String, String>> {
    let m = m.cast::<PyMapping>().map_err(|_| {
        let t = m.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        PyTypeError::new_err(format!("secrets must be a mapping of str to str, not {t}"))
    })?;
    let mut out = BTreeMap::new();
    for item in m.items()?.iter() {
        let (k, v) = (item.get_item(0)?, item.get_item(1)?);
        let Ok(key) = k.extract::<String>() else {
            let t = k.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            return Err(PyTypeError::new_err(format!("secrets: a key of type {t} (the keys are variable names, str)")));
        };
        let Ok(value) = v.extract::<String>() else {
            let t = v.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            return Err(PyTypeError::new_err(format!("secrets[{key:?}] must be a str, not {t}")));
        };
        out.insert(key, value);
    }
    Ok(out)
}

/// An SC002 of a variable missing from `render(secrets=…)`: the core's hint says to export it,
/// but the environment is not read; say to add it to the mapping.
fn mapping_hint(d: &mut CoreDiagnostic) {
    if d.code != RuleCode::SC002 || !d.message.ends_with(MISSING_FROM_MAPPING) {
        return;
    }
    if let Some(env) = d.hint.strip_prefix("export ").and_then(|h| h.strip_suffix(" before rendering")) {
        d.hint = format!(
            "add {env} to the `secrets` mapping given to render() (or leave `secrets` out to read the environment)"
        );
    }
}

/// The end of the resolver's reason when a variable is missing from the mapping.
const MISSING_FROM_MAPPING: &str = "is not in the secrets mapping (which replaces the environment)";

/// Where `{env: X}` secrets come from.
enum Resolver {
    /// The process environment (as the CLI).
    Env,
    /// The mapping given to `render(secrets=…)`, instead of the environment.
    Mapping(BTreeMap<String, String>),
}

impl SecretResolver for Resolver {
    fn resolve(&self, secret: &Secret) -> Result<String, String> {
        match (self, secret) {
            (Resolver::Mapping(m), Secret::Env { env }) => {
                m.get(env.as_str()).cloned().ok_or_else(|| format!("{env} {MISSING_FROM_MAPPING}"))
            }
            _ => EnvResolver.resolve(secret),
        }
    }
}

/// One finding of validation or rendering.
#[pyclass(frozen, eq, hash, skip_from_py_object, module = "harbor_ha")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Stable rule code, e.g. `HA003`.
    #[pyo3(get)]
    code: &'static str,
    /// `error` or `warning`.
    #[pyo3(get)]
    severity: &'static str,
    /// One line naming the offending place.
    #[pyo3(get)]
    message: String,
    /// How to fix it.
    #[pyo3(get)]
    hint: String,
    /// Key path, e.g. `sites[0].hosts[2].address` (empty for the whole file).
    #[pyo3(get)]
    path: String,
    /// 1-based line in the topology file, when it came from text.
    #[pyo3(get)]
    line: Option<usize>,
    /// 1-based column in the topology file, when it came from text.
    #[pyo3(get)]
    column: Option<usize>,
    text: String,
}

impl From<CoreDiagnostic> for Diagnostic {
    fn from(d: CoreDiagnostic) -> Self {
        Diagnostic {
            code: d.code.as_str(),
            severity: d.severity.as_str(),
            text: describe(&d),
            message: d.message,
            hint: d.hint,
            path: d.path,
            line: d.line,
            column: d.column,
        }
    }
}

#[pymethods]
impl Diagnostic {
    /// Whether the finding is an error (rendering refuses the topology).
    #[getter]
    fn is_error(&self) -> bool {
        self.severity == "error"
    }

    /// The fields as a dict (the CLI's `--format json` object).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("code", self.code)?;
        d.set_item("severity", self.severity)?;
        d.set_item("message", &self.message)?;
        d.set_item("hint", &self.hint)?;
        d.set_item("path", &self.path)?;
        d.set_item("line", self.line)?;
        d.set_item("column", self.column)?;
        Ok(d)
    }

    fn __str__(&self) -> String {
        self.text.clone()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Diagnostic(code={}, severity={}, path={}, line={}, column={}, message={})",
            repr(py, self.code)?,
            repr(py, self.severity)?,
            repr(py, &self.path)?,
            self.line.map_or("None".to_string(), |l| l.to_string()),
            self.column.map_or("None".to_string(), |c| c.to_string()),
            repr(py, &self.message)?
        ))
    }
}

/// One file of a bundle.
#[pyclass(frozen, eq, hash, skip_from_py_object, module = "harbor_ha")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct File {
    /// The text written to disk (UTF-8).
    #[pyo3(get)]
    content: String,
    /// Unix permission bits, e.g. 0o755 for scripts, 0o600 for files holding secrets.
    #[pyo3(get)]
    mode: u32,
}

#[pymethods]
impl File {
    fn __repr__(&self) -> String {
        // Never the content: some files hold secrets.
        format!("File(mode=0o{:o}, {} bytes)", self.mode, self.content.len())
    }
}

/// The rendered bundle: a read-only mapping from relative path to `File`.
#[pyclass(frozen, mapping, module = "harbor_ha")]
pub struct Bundle {
    files: Py<PyDict>,
    inner: CoreBundle,
}

impl Bundle {
    fn new(py: Python<'_>, inner: CoreBundle) -> PyResult<Self> {
        let files = PyDict::new(py);
        for (path, f) in &inner.files {
            files.set_item(path, File { content: f.content.clone(), mode: f.mode })?;
        }
        Ok(Bundle { files: files.unbind(), inner })
    }
}

#[pymethods]
impl Bundle {
    fn __getitem__<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        match self.files.bind(py).get_item(key)? {
            Some(v) => Ok(v),
            None => Err(PyKeyError::new_err(key.clone().unbind())),
        }
    }

    fn __len__(&self) -> usize {
        self.inner.files.len()
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.files.bind(py).contains(key)
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.files.bind(py).as_any().try_iter()?.into_any())
    }

    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.files.bind(py).as_any().call_method0("keys")
    }

    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.files.bind(py).as_any().call_method0("values")
    }

    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.files.bind(py).as_any().call_method0("items")
    }

    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        Ok(self.files.bind(py).get_item(key)?.or(default))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Bundle>().is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __repr__(&self) -> String {
        format!("Bundle({} files)", self.inner.files.len())
    }

    /// Write the bundle into `dir` as `harbor-ha render --out dir` does: only the files that
    /// differ are replaced, each atomically, and `MANIFEST.sha256` is written last. An
    /// existing `dir` is written only when it is empty, a previous bundle, or `force` is true;
    /// files edited since the last write, and stored secrets with other values, are
    /// overwritten only with `force`. A previous bundle that already holds exactly these
    /// files is left untouched.
    /// Returns what the write did: written or unchanged, and the files created, changed and
    /// removed.
    #[pyo3(signature = (dir, force = false))]
    fn write(&self, py: Python<'_>, dir: PathBuf, force: bool) -> PyResult<WriteResult> {
        guard(|| py.detach(|| write_bundle(&self.inner, &dir, force)).map(WriteResult::from).map_err(write_error))
    }
}

/// What `Bundle.write` did.
#[pyclass(frozen, eq, hash, skip_from_py_object, module = "harbor_ha")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct WriteResult {
    /// `written`, or `unchanged` when the directory already held exactly this bundle.
    #[pyo3(get)]
    outcome: &'static str,
    /// Files of the bundle the directory did not hold (paths relative to it, sorted).
    #[pyo3(get)]
    created: Vec<String>,
    /// Files the directory held with another content or mode.
    #[pyo3(get)]
    changed: Vec<String>,
    /// Files the directory held that the bundle does not (gone now).
    #[pyo3(get)]
    removed: Vec<String>,
}

impl From<WriteSummary> for WriteResult {
    fn from(s: WriteSummary) -> Self {
        let outcome = match s.outcome {
            WriteOutcome::Written => "written",
            WriteOutcome::Unchanged => "unchanged",
        };
        let c = s.changes;
        WriteResult { outcome, created: c.created, changed: c.changed, removed: c.removed }
    }
}

#[pymethods]
impl WriteResult {
    /// Whether the directory was written (false: it already held exactly this bundle).
    #[getter]
    fn written(&self) -> bool {
        self.outcome == "written"
    }

    fn __repr__(&self) -> String {
        format!(
            "WriteResult(outcome='{}', created={}, changed={}, removed={})",
            self.outcome,
            self.created.len(),
            self.changed.len(),
            self.removed.len()
        )
    }
}

/// One rule of the catalog.
#[pyclass(frozen, module = "harbor_ha")]
pub struct Rule {
    pub code: RuleCode,
}

#[pymethods]
impl Rule {
    /// Stable code, e.g. `HA003`.
    #[getter]
    fn code(&self) -> &'static str {
        self.code.as_str()
    }

    /// Stable kebab-case name, e.g. `host-outside-subnet`.
    #[getter]
    fn name(&self) -> &'static str {
        self.code.name()
    }

    /// Default severity: `error` or `warning`.
    #[getter]
    fn severity(&self) -> &'static str {
        self.code.default_severity().as_str()
    }

    /// One line: what the rule checks.
    #[getter]
    fn summary(&self) -> &'static str {
        self.code.summary()
    }

    /// The full documentation (Markdown), as `explain` returns it.
    #[getter]
    fn doc(&self) -> &'static str {
        self.code.doc()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Rule(code={}, name={}, severity={})",
            repr(py, self.code())?,
            repr(py, self.name())?,
            repr(py, self.severity())?
        ))
    }
}
