//! Python data → JSON text, for `from_dict`. Only what YAML can hold is accepted (mappings
//! with string keys, lists and tuples, str, int, float, bool, None); anything else is an
//! HA001 naming its key path, like a wrong type in a file.

use harbor_ha_core::diag::Diagnostic;
use harbor_ha_core::RuleCode;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};

/// Deeper than any topology; stops runaway recursion on self-referencing data.
const MAX_DEPTH: usize = 64;

/// Serialize `data` as JSON text (key order kept).
///
/// # Errors
/// An HA001 diagnostic for a value YAML could not hold.
pub fn to_json(data: &Bound<'_, PyAny>) -> Result<String, Box<Diagnostic>> {
    let mut out = String::new();
    write(data, &mut String::new(), 0, &mut out)?;
    Ok(out)
}

fn fail(path: &str, message: String, hint: &str) -> Box<Diagnostic> {
    let message = if path.is_empty() { message } else { format!("`{path}`: {message}") };
    Box::new(Diagnostic::new(RuleCode::HA001, path, message, hint))
}

fn quote(s: &str) -> String {
    // Serializing a str cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}

fn write(v: &Bound<'_, PyAny>, path: &mut String, depth: usize, out: &mut String) -> Result<(), Box<Diagnostic>> {
    if depth > MAX_DEPTH {
        return Err(fail(
            path,
            "the data nests too deeply to be a topology".into(),
            "check for a self-referencing value",
        ));
    }
    let type_name = || v.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    if v.is_none() {
        out.push_str("null");
    } else if let Ok(b) = v.cast::<PyBool>() {
        out.push_str(if b.is_true() { "true" } else { "false" });
    } else if let Ok(i) = v.cast::<PyInt>() {
        match i.extract::<i64>() {
            Ok(n) => out.push_str(&n.to_string()),
            Err(_) => {
                return Err(fail(path, "integer out of range".into(), "give a value of the expected type"));
            }
        }
    } else if let Ok(f) = v.cast::<PyFloat>() {
        let x = f.value();
        if !x.is_finite() {
            return Err(fail(path, format!("{x} is not a number a topology can hold"), "give a finite number"));
        }
        out.push_str(&serde_json::to_string(&x).unwrap_or_default());
    } else if let Ok(s) = v.cast::<PyString>() {
        let s = s.to_cow().map_err(|_| {
            fail(path, "the string is not valid Unicode (a lone surrogate)".into(), "give valid Unicode text")
        })?;
        out.push_str(&quote(&s));
    } else if v.cast::<PyList>().is_ok() || v.cast::<PyTuple>().is_ok() {
        out.push('[');
        let mut first = true;
        let iter = v.try_iter().map_err(|e| fail(path, e.to_string(), "give a list"))?;
        for (i, item) in iter.enumerate() {
            let item = item.map_err(|e| fail(path, e.to_string(), "give a list"))?;
            if !first {
                out.push(',');
            }
            first = false;
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            write(&item, path, depth + 1, out)?;
            path.truncate(len);
        }
        out.push(']');
    } else if v.cast::<PyDict>().is_ok() || v.cast::<PyMapping>().is_ok() {
        let items = if let Ok(d) = v.cast::<PyDict>() {
            d.items()
        } else {
            let m = v.cast::<PyMapping>().map_err(|e| fail(path, e.to_string(), "give a mapping"))?;
            m.items().map_err(|e| fail(path, e.to_string(), "give a mapping"))?
        };
        out.push('{');
        let mut first = true;
        for kv in items.iter() {
            let pair = |i: usize| kv.get_item(i).map_err(|e| fail(path, e.to_string(), "give a mapping"));
            let (k, val) = (pair(0)?, pair(1)?);
            let Some(key) = k.cast::<PyString>().ok().and_then(|s| s.to_cow().ok().map(|c| c.into_owned())) else {
                let kt = k.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
                return Err(fail(
                    path,
                    format!("a key of type {kt} (keys must be strings)"),
                    "use strings as keys, as in the YAML file",
                ));
            };
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&quote(&key));
            out.push(':');
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&key);
            write(&val, path, depth + 1, out)?;
            path.truncate(len);
        }
        out.push('}');
    } else {
        return Err(fail(
            path,
            format!("a value of type {} cannot be part of a topology", type_name()),
            "use only dict, list, str, int, float, bool and None (what a YAML file can hold)",
        ));
    }
    Ok(())
}
