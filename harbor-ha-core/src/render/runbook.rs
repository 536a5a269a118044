//! Placeholder: README.md runbook, deploy.sh, inventory.ini, verify.sh.

use crate::bundle::Bundle;
use crate::model::resolved::{Host, Site, Topology};

/// Add the bundle-root files.
pub fn render(_topo: &Topology, _plans: &[(&Site, &Host, Vec<String>)], _bundle: &mut Bundle) {}
