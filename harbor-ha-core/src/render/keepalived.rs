//! Placeholder: filled in by the bundle work.

use super::{HostOut, RoleCtx};

/// Add this role's files and steps.
pub fn render(_ctx: &RoleCtx, _out: &mut HostOut) {}
