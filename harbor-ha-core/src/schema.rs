//! The JSON Schema of the topology format, derived from the raw model.

use crate::model::spec::TopologySpec;

/// The schema as pretty JSON with a trailing newline.
#[must_use]
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(TopologySpec);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}
