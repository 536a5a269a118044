//! Built-in example topologies (`harbor-ha init --example NAME`).

/// Names of the examples, in the order `init` lists them.
pub const NAMES: &[&str] = &["seed", "s3", "dual-master", "hierarchy"];

/// The example's YAML text (with comments).
#[must_use]
pub fn get(name: &str) -> Option<&'static str> {
    match name {
        "seed" => Some(include_str!("examples/seed.yaml")),
        "s3" => Some(include_str!("examples/s3.yaml")),
        "dual-master" => Some(include_str!("examples/dual-master.yaml")),
        "hierarchy" => Some(include_str!("examples/hierarchy.yaml")),
        _ => None,
    }
}
