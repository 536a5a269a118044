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
