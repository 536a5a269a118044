//! Exceptions and the mapping of core failures onto them. Every failure becomes a typed
//! Python exception: `ValidationError` (a `ValueError`) for topologies, the matching
//! `OSError` subclass for the file system, `InternalError` (a `RuntimeError`) for a panic.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use harbor_ha_core::diag::Diagnostic as CoreDiagnostic;
use harbor_ha_core::secrets::SecretsError;
use harbor_ha_core::RuleCode;
use harbor_ha_io::secrets::SecretsDirError;
use harbor_ha_io::{LoadError, RenderError, WriteError};
use pyo3::exceptions::{
    PyFileExistsError, PyIsADirectoryError, PyNotADirectoryError, PyOSError, PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::types::Diagnostic;

pyo3::create_exception!(
    harbor_ha,
    ValidationError,
    PyValueError,
    "The topology does not parse or has errors; `.diagnostics` lists every finding."
);
pyo3::create_exception!(
    harbor_ha,
    InternalError,
    PyRuntimeError,
    "A bug in harbor-ha: the core panicked. Please report it with the topology that caused it."
);

/// Run `f`, turning a panic into `InternalError` instead of unwinding into Python.
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(InternalError::new_err(format!(
                "harbor-ha internal error (a bug; please report it with the topology): {what}"
            )))
        }
    }
}

/// One diagnostic as text: `HA003 error at sites[0].hosts[1].address (line 9, column 18): …`.
pub fn describe(d: &CoreDiagnostic) -> String {
    let mut s = format!("{} {}", d.code, d.severity.as_str());
    // Messages of HA001 start with the path already.
    if !d.path.is_empty() && !d.message.contains(&format!("`{}`", d.path)) {
        s.push_str(&format!(" at {}", d.path));
    }
    match (d.line, d.column) {
        (Some(l), Some(c)) => s.push_str(&format!(" (line {l}, column {c})")),
        (Some(l), None) => s.push_str(&format!(" (line {l})")),
        _ => {}
    }
    s.push_str(": ");
    s.push_str(&d.message);
    s
}

/// `ValidationError` carrying `diags` in `.diagnostics`.
pub fn validation_error(py: Python<'_>, diags: &[CoreDiagnostic]) -> PyErr {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let mut msg = format!("the topology has {}", plural(errors, "error"));
    if warnings > 0 {
        msg.push_str(&format!(" and {}", plural(warnings, "warning")));
    }
    msg.push(':');
    for d in diags {
        msg.push_str(&format!("\n  {}\n    hint: {}", describe(d), d.hint));
    }
    let err = ValidationError::new_err(msg);
    let list: Vec<Diagnostic> = diags.iter().cloned().map(Diagnostic::from).collect();
    let attached = PyList::new(py, list).and_then(|l| err.value(py).setattr("diagnostics", l));
    match attached {
        Ok(()) => err,
        Err(e) => e,
    }
}

/// `OSError(errno, strerror, filename)`: Python picks the subclass (FileNotFoundError, …)
/// from the errno.
pub fn os_error(path: &Path, e: &std::io::Error) -> PyErr {
    match e.raw_os_error() {
        Some(errno) => {
            let text = std::io::Error::from_raw_os_error(errno).to_string();
            let strerror = text.split(" (os error").next().unwrap_or(&text).to_string();
            PyOSError::new_err((errno, strerror, path.display().to_string()))
        }
        None => PyOSError::new_err(format!("{}: {e}", path.display())),
    }
}

/// A failure of `load(path)`.
pub fn load_error(py: Python<'_>, e: LoadError) -> PyErr {
    match e {
        LoadError::Io { path, source } => os_error(&path, &source),
        LoadError::IsDirectory { path } => {
            PyIsADirectoryError::new_err(format!("{} is a directory, not a topology file", path.display()))
        }
        LoadError::NotUtf8 { path: p, offset, line, column } => {
            // Point at the offending byte, as for any other HA001.
            let mut d = CoreDiagnostic::new(
                RuleCode::HA001,
                "",
                format!("{} is not UTF-8 text (byte {offset} is invalid)", p.display()),
                "save the file as UTF-8",
            );
            d.line = Some(line);
            d.column = Some(column);
            validation_error(py, &[d])
        }
        LoadError::Parse { diagnostics, .. } => validation_error(py, &diagnostics),
    }
}

/// A failure of `Bundle.write`.
pub fn write_error(e: WriteError) -> PyErr {
    match e {
        WriteError::NotABundle(_) => PyFileExistsError::new_err(format!("{e}; pass force=True to replace it")),
        WriteError::Modified { .. } | WriteError::SecretChanged { .. } => {
            PyFileExistsError::new_err(e.to_string().replace("--force", "force=True"))
        }
        WriteError::NotADirectory(_) => PyNotADirectoryError::new_err(e.to_string()),
        WriteError::UnsafePath(_) => PyValueError::new_err(e.to_string()),
        WriteError::Io { path, source } => os_error(&path, &source),
    }
}

/// A failure to read or generate the shared secrets.
pub fn secrets_error(e: SecretsDirError) -> PyErr {
    match e {
        SecretsDirError::Io { path, source } => os_error(Path::new(&path), &source),
        SecretsDirError::Secrets(SecretsError::Malformed { .. }) => PyValueError::new_err(e.to_string()),
        SecretsDirError::Secrets(SecretsError::KeyGen(_)) | SecretsDirError::Incomplete => {
            PyRuntimeError::new_err(e.to_string())
        }
        // The module neither locks nor takes another secrets directory; kept for completeness.
        SecretsDirError::Locked { .. } | SecretsDirError::EmptyDir(_) => PyValueError::new_err(e.to_string()),
    }
}

/// A failure of `Topology.render()`.
pub fn render_error(py: Python<'_>, e: RenderError) -> PyErr {
    match e {
        // The module renders without `--from`; a running topology's errors or a refused change
        // would still be diagnostics.
        RenderError::Invalid { diagnostics, .. }
        | RenderError::InvalidFrom { diagnostics, .. }
        | RenderError::Refused { diagnostics, .. } => validation_error(py, &diagnostics),
        RenderError::Secrets(e) => secrets_error(e),
        RenderError::Write(e) => write_error(e),
        RenderError::Load(e) => PyValueError::new_err(e.to_string()),
    }
}

/// A failure to read a collected tree or a bundle (`import_tree`, `drift`).
pub fn tree_error(e: harbor_ha_io::TreeError) -> PyErr {
    use harbor_ha_io::TreeError;
    match e {
        TreeError::Io { path, source } => os_error(&path, &source),
        TreeError::NotADirectory { .. } => PyNotADirectoryError::new_err(e.to_string()),
        TreeError::NoHosts { .. } | TreeError::NotABundle { .. } => PyValueError::new_err(e.to_string()),
    }
}
