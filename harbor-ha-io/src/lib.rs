//! # harbor-ha-io
//!
//! The one crate of harbor-ha that touches the machine: it reads topology files
//! ([`load_file`]), resolves `{env}`/`{file}` secrets ([`EnvResolver`]), reads and generates
//! the shared secrets (the secrets directory and the OS random source, [`secrets`]), and
//! writes bundles ([`write_bundle`]). [`render_to_dir`] is the whole render use case; the
//! `harbor-ha` command and the Python module call it (or its two halves,
//! [`render_document`] and [`write_bundle`]), so that they give the same bundle byte for
//! byte. [`import_dir`] and [`drift_dirs`] read collected trees ([`audit`]).
//!
//! The core (`harbor-ha-core`) is pure: `clippy.toml` forbids file, environment, process,
//! clock and OS-randomness calls everywhere but here and in the command line.
#![deny(missing_docs)]
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "the I/O edge: reading files and the environment, the OS random source, writing bundles"
)]

pub mod audit;
mod load;
mod render;
mod resolver;
pub mod secrets;
mod write;

pub use audit::{drift_dirs, import_dir, read_tree, TreeError};
pub use load::{display_name, load_file, LoadError, STDIN};
pub use render::{
    render_document, render_document_with, render_to_dir, Outcome, Progress, RenderError, RenderOptions, Stage,
};
pub use resolver::EnvResolver;
pub use write::{write_bundle, Changes, WriteError, WriteOutcome, WriteSummary};
