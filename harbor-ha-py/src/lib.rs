//! Python bindings for harbor-ha: a placeholder until the pyo3 module lands.
//! It only re-exports the core so that the workspace layout is in place.
pub use harbor_ha_core as core;
