//! The JSON Schema of the topology format, derived from the raw model.
//!
//! The same schema drives the structural pass of [`crate::parse`] (every unknown key, wrong
//! type and missing key of a file in one run), so what the schema says is what the parser
//! accepts.

use std::sync::OnceLock;

use crate::model::spec::TopologySpec;

/// What `x-` keys are, in the schema: every mapping of fixed keys accepts them.
const EXTENSION_DOC: &str = "An extension key (`x-…`): accepted and ignored, e.g. to hold YAML anchors that other places merge with `<<: *name`.";

/// The schema as pretty JSON with a trailing newline.
#[must_use]
pub fn json_schema() -> String {
    let mut s = serde_json::to_string_pretty(schema()).unwrap_or_default();
    s.push('\n');
    s
}

/// The schema as a JSON value (generated once).
#[must_use]
pub fn schema_value() -> &'static serde_json::Value {
    schema().as_value()
}

/// The schema (serialized by schemars, which writes `$schema` and `title` first).
fn schema() -> &'static schemars::Schema {
    static SCHEMA: OnceLock<schemars::Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut s = schemars::schema_for!(TopologySpec);
        if let Some(o) = s.as_object_mut() {
            o.values_mut().for_each(allow_extensions);
        }
        if let Some(o) = s.as_object_mut() {
            let top = o.get("additionalProperties") == Some(&serde_json::Value::Bool(false));
            if top {
                o.insert("patternProperties".into(), serde_json::json!({ "^x-": { "description": EXTENSION_DOC } }));
            }
        }
        s
    })
}

/// Every object of fixed keys (`additionalProperties: false`) also accepts `x-` keys.
fn allow_extensions(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            if o.contains_key("properties") && o.get("additionalProperties") == Some(&serde_json::Value::Bool(false)) {
                o.insert("patternProperties".into(), serde_json::json!({ "^x-": { "description": EXTENSION_DOC } }));
            }
            o.values_mut().for_each(allow_extensions);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(allow_extensions),
        _ => {}
    }
}

/// The key paths whose values are secrets (`{env: VAR}`, `{file: PATH}` or a literal), read
/// off the schema: every place the `Secret` type stands, e.g. `sites[*].database.password`
/// (`[*]`: any index; `*` as a key: any key). Excerpts of a topology mask exactly the
/// literal values at these paths.
#[must_use]
pub fn secret_paths() -> Vec<String> {
    let schema = schema_value();
    let defs = schema.get("$defs").cloned().unwrap_or_default();
    let mut out = Vec::new();
    walk(schema, &defs, "", &mut Vec::new(), &mut out);
    out.sort();
    out.dedup();
    out
}

/// Collect into `out` the paths under `node` (at `path`) where the Secret type stands;
/// `seen` holds the definitions being expanded (a recursive type ends there).
fn walk(node: &serde_json::Value, defs: &serde_json::Value, path: &str, seen: &mut Vec<String>, out: &mut Vec<String>) {
    if let Some(r) = node.get("$ref").and_then(serde_json::Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or_default();
        if name == "Secret" {
            out.push(path.to_string());
            return;
        }
        if seen.iter().any(|s| s == name) {
            return;
        }
        if let Some(def) = defs.get(name) {
            seen.push(name.to_string());
            walk(def, defs, path, seen, out);
            seen.pop();
        }
    }
    for k in ["anyOf", "oneOf", "allOf"] {
        for sub in node.get(k).and_then(serde_json::Value::as_array).into_iter().flatten() {
            walk(sub, defs, path, seen, out);
        }
    }
    if let Some(props) = node.get("properties").and_then(serde_json::Value::as_object) {
        for (key, sub) in props {
            let p = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            walk(sub, defs, &p, seen, out);
        }
    }
    if let Some(sub) = node.get("additionalProperties").filter(|v| v.is_object()) {
        let p = if path.is_empty() { "*".to_string() } else { format!("{path}.*") };
        walk(sub, defs, &p, seen, out);
    }
    if let Some(sub) = node.get("items").filter(|v| v.is_object()) {
        walk(sub, defs, &format!("{path}[*]"), seen, out);
    }
}

#[cfg(test)]
mod tests {
    use super::secret_paths;

    /// Every field of the raw model typed as a secret (read from the model's source, not
    /// from the schema) is the last key of some secret path, and every secret path ends in
    /// such a field: the set follows the model when a field is added.
    #[test]
    fn secret_paths_are_the_secret_typed_fields_of_the_spec() {
        let paths = secret_paths();
        let src = include_str!("model/spec.rs");
        let mut fields: Vec<&str> = src
            .lines()
            .filter(|l| l.contains("SecretSpec") && l.trim_start().starts_with("pub "))
            .filter_map(|l| l.trim_start().strip_prefix("pub ")?.split(':').next())
            .map(str::trim)
            .collect();
        fields.sort_unstable();
        fields.dedup();
        assert!(fields.len() >= 8, "{fields:?}");
        let last: std::collections::BTreeSet<&str> =
            paths.iter().map(|p| p.rsplit(['.', ']']).next().unwrap_or_default()).collect();
        for f in &fields {
            assert!(last.contains(f), "secret field `{f}` has no secret path: {paths:?}");
        }
        for l in &last {
            assert!(fields.contains(l), "secret path ending in `{l}` is no secret field: {fields:?}");
        }
        assert!(paths.contains(&"sites[*].database.password".to_string()), "{paths:?}");
        assert!(paths.contains(&"sites[*].harbor.admin_password".to_string()), "{paths:?}");
    }
}
