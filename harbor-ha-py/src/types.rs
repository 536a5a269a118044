//! The Python classes: `Topology`, `Diagnostic`, `Bundle`, `File`, `Rule`.

use std::path::PathBuf;

use harbor_ha_core::bundle::Bundle as CoreBundle;
use harbor_ha_core::diag::Diagnostic as CoreDiagnostic;
use harbor_ha_core::{Document, RuleCode};
use harbor_ha_io::{render_document, write_bundle};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::errors::{describe, guard, render_error, write_error};

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
    /// (as the CLI reads `<out>/secrets/`), generated otherwise; `{env: X}` secrets come
    /// from this process's environment and `{file: P}` from disk.
    #[pyo3(signature = (secrets_dir = None))]
    fn render(&self, py: Python<'_>, secrets_dir: Option<PathBuf>) -> PyResult<Bundle> {
        guard(|| match py.detach(|| render_document(&self.doc, secrets_dir.as_deref())) {
            Ok(b) => Bundle::new(py, b),
            Err(e) => Err(render_error(py, e)),
        })
    }

    /// Site names as written.
    #[getter]
    fn sites(&self) -> Vec<String> {
        self.doc.spec.sites.iter().map(|s| s.name.as_str().to_string()).collect()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Topology(sites={})", self.sites().into_pyobject(py)?.repr()?))
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
    #[pyo3(signature = (dir, force = false))]
    fn write(&self, py: Python<'_>, dir: PathBuf, force: bool) -> PyResult<()> {
        guard(|| py.detach(|| write_bundle(&self.inner, &dir, force)).map(|_| ()).map_err(write_error))
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
