//! `collect.sh`: collects a live site into a tree for `harbor-ha import` and `harbor-ha
//! drift` (`render/scripts/collect.sh`). The same text in every bundle and from `harbor-ha
//! collect-script`: it holds no topology value, and reads the bundle it sits in (the files
//! and units of each host) when it runs. Its rules for secret-bearing files are
//! [`crate::audit::classify`]'s, line for line.

use super::template::fill;
use crate::bundle::Bundle;

/// The script.
#[must_use]
pub fn script() -> String {
    crate::bundle::stamp(fill(include_str!("scripts/collect.sh"), &[], &[]))
}

/// Add `collect.sh` to the bundle root.
pub fn render(bundle: &mut Bundle) {
    bundle.add("collect.sh", script(), 0o755);
}
