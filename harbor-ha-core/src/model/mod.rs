//! The topology: the raw file model ([`spec`]), identifiers, secrets and versions.

pub mod ids;
pub mod resolved;
pub mod secret;
pub mod spec;
pub mod version;
