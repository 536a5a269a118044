//! Python bindings for harbor-ha: the `harbor_ha._native` extension module that maturin
//! builds into the `harbor_ha` wheel (`pip install ./harbor-ha-py`).
//!
//! Thin by design: every function loads, renders and writes through `harbor-ha-io` (and
//! validates, plans, explains and lists rules through `harbor-ha-core`) exactly as the `harbor-ha`
//! CLI does, so that both give the same bundle byte for byte.
//! Nothing panics across the boundary: each call runs under `catch_unwind`, and a panic
//! becomes `harbor_ha.InternalError` (a `RuntimeError`).
//!
//! Everything here is behind the `python` feature; without it the crate is empty, so that
//! `cargo test --workspace` and clippy need no Python toolchain.
#![cfg(feature = "python")]
#![deny(missing_docs)]

mod convert;
mod errors;
mod types;

use std::path::PathBuf;

use harbor_ha_core::{examples, load_str, Document, RuleCode};
use harbor_ha_io::load_file;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use errors::{guard, load_error, validation_error, InternalError, ValidationError};
use types::{Bundle, Diagnostic, File, Rule, Topology, WriteResult};

/// Read and parse a topology file.
#[pyfunction]
fn load(py: Python<'_>, path: PathBuf) -> PyResult<Topology> {
    guard(|| match py.detach(|| load_file(&path)) {
        Ok((doc, _text)) => Ok(Topology::new(doc)),
        Err(e) => Err(load_error(py, e)),
    })
}

/// Parse a topology from YAML text.
#[pyfunction]
fn loads(py: Python<'_>, text: &str) -> PyResult<Topology> {
    guard(|| match py.detach(|| load_str(text)) {
        Ok(doc) => Ok(Topology::new(doc)),
        Err(diags) => Err(validation_error(py, &diags)),
    })
}

/// Build a topology from plain Python data (what `yaml.safe_load` or `json.load` returns),
/// through the same serde model as the YAML file.
#[pyfunction]
fn from_dict(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Topology> {
    guard(|| {
        let json = convert::to_json(data).map_err(|d| validation_error(py, std::slice::from_ref(&*d)))?;
        // JSON is YAML: the text goes through the file parser (same serde model, same
        // messages and key paths); positions in this synthetic text mean nothing to the
        // caller, so they are dropped, and validation runs without a source map.
        match py.detach(|| load_str(&json)) {
            Ok(doc) => Ok(Topology::new(Document::from_spec(doc.spec))),
            Err(mut diags) => {
                for d in &mut diags {
                    d.line = None;
                    d.column = None;
                }
                Err(validation_error(py, &diags))
            }
        }
    })
}

/// The documentation of a rule, by code (`HA003`) or name (`host-outside-subnet`).
#[pyfunction]
fn explain(code: &str) -> PyResult<String> {
    guard(|| match code.parse::<RuleCode>() {
        Ok(c) => Ok(format!("{}\n", c.doc().trim_end())),
        Err(e) => Err(PyValueError::new_err(format!(
            "{e}; the codes are: {}",
            RuleCode::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    })
}

/// The rule catalog, in catalog order.
#[pyfunction]
fn rules() -> PyResult<Vec<Rule>> {
    guard(|| Ok(RuleCode::ALL.iter().map(|c| Rule { code: *c }).collect()))
}

/// A built-in example topology (YAML text), as `harbor-ha init --example NAME` prints it.
#[pyfunction]
#[pyo3(signature = (name = "seed"))]
fn example(name: &str) -> PyResult<String> {
    guard(|| {
        examples::get(name).map(str::to_string).ok_or_else(|| {
            PyValueError::new_err(format!("unknown example `{name}`; the examples are: {}", examples::NAMES.join(", ")))
        })
    })
}

/// The JSON the CLI prints with `--format json`, as Python data (`json.loads` of it).
pub(crate) fn as_python<'py>(py: Python<'py>, json: serde_json::Result<String>) -> PyResult<Bound<'py, PyAny>> {
    let text = json.map_err(|e| InternalError::new_err(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// A collected tree (collect.sh's output) → `{"topology", "findings", "diagnostics"}`, as
/// `harbor-ha import DIR --format json` prints it.
#[pyfunction]
fn import_tree<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
    guard(|| match py.detach(|| harbor_ha_io::import_dir(&path)) {
        Ok(r) => as_python(py, serde_json::to_string(&r)),
        Err(e) => Err(errors::tree_error(e)),
    })
}

/// A bundle against a collected tree → `{"clean", "hosts", "files", "findings"}`, as
/// `harbor-ha drift BUNDLE DIR --format json` prints it.
#[pyfunction]
#[pyo3(signature = (bundle_dir, tree, hosts = None))]
fn drift<'py>(
    py: Python<'py>,
    bundle_dir: PathBuf,
    tree: PathBuf,
    hosts: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let only = hosts.unwrap_or_default();
        match py.detach(|| harbor_ha_io::drift_dirs(&bundle_dir, &tree, &only)) {
            Ok(r) => as_python(py, serde_json::to_string(&r)),
            Err(e) => Err(errors::tree_error(e)),
        }
    })
}

/// The JSON Schema of the topology format as Python data, as `harbor-ha schema` prints it.
#[pyfunction]
fn schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    guard(|| as_python(py, Ok(harbor_ha_core::schema::json_schema())))
}

/// The text of collect.sh, as `harbor-ha collect-script` prints it.
#[pyfunction]
fn collect_script() -> PyResult<String> {
    guard(|| Ok(harbor_ha_core::render::collect::script()))
}

/// Panic inside the guard: lets the tests check that a panic becomes `InternalError`.
#[pyfunction]
fn _panic(message: &str) -> PyResult<()> {
    guard(|| panic!("{message}"))
}

/// The `harbor_ha._native` module.
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("EXAMPLES", PyTuple::new(py, examples::NAMES)?)?;
    m.add("ValidationError", py.get_type::<ValidationError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    m.add_class::<Topology>()?;
    m.add_class::<Diagnostic>()?;
    m.add_class::<Bundle>()?;
    m.add_class::<File>()?;
    m.add_class::<Rule>()?;
    m.add_class::<WriteResult>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(loads, m)?)?;
    m.add_function(wrap_pyfunction!(from_dict, m)?)?;
    m.add_function(wrap_pyfunction!(explain, m)?)?;
    m.add_function(wrap_pyfunction!(rules, m)?)?;
    m.add_function(wrap_pyfunction!(example, m)?)?;
    m.add_function(wrap_pyfunction!(import_tree, m)?)?;
    m.add_function(wrap_pyfunction!(drift, m)?)?;
    m.add_function(wrap_pyfunction!(collect_script, m)?)?;
    m.add_function(wrap_pyfunction!(schema, m)?)?;
    m.add_function(wrap_pyfunction!(_panic, m)?)?;
    Ok(())
}
