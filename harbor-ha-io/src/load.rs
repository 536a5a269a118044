//! Reading a topology file.

use std::path::{Path, PathBuf};

use harbor_ha_core::parse::{too_large, MAX_INPUT_BYTES};
use harbor_ha_core::{load_str, Diagnostic, Document};

/// Why a topology file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The path is a directory.
    #[error("{path} is a directory, not a topology file")]
    IsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// The file is not UTF-8.
    #[error("{path} is not UTF-8 text (byte {offset} is invalid)")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// First invalid byte.
        offset: usize,
        /// Its 1-based line.
        line: usize,
        /// Its 1-based column (in characters).
        column: usize,
    },
    /// The text is not a topology (HA001); the text is kept for source excerpts.
    #[error("{}", first_message(.diagnostics))]
    Parse {
        /// The HA001 diagnostics: every structural error of the file (at least one).
        diagnostics: Vec<Diagnostic>,
        /// The file's text (empty when it was too large to read).
        text: String,
    },
}

/// The first diagnostic's message, and how many more there are.
fn first_message(diagnostics: &[Diagnostic]) -> String {
    match diagnostics {
        [] => "not a topology".to_string(),
        [one] => one.message.clone(),
        [first, rest @ ..] => format!("{} (and {} more)", first.message, rest.len()),
    }
}

/// The path that means standard input wherever a topology file is taken.
pub const STDIN: &str = "-";

/// How diagnostics and messages name `path`: `<stdin>` for `-`, the path otherwise.
#[must_use]
pub fn display_name(path: &Path) -> String {
    if path == Path::new(STDIN) {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Read and parse a topology file (`-`: standard input, read to its end). The text is
/// returned too, for source excerpts.
///
/// # Errors
/// [`LoadError`] for I/O, encoding and parse failures.
pub fn load_file(path: &Path) -> Result<(Document, String), LoadError> {
    if path == Path::new(STDIN) {
        return load_stdin();
    }
    if path.is_dir() {
        return Err(LoadError::IsDirectory { path: path.to_path_buf() });
    }
    let io = |source| LoadError::Io { path: path.to_path_buf(), source };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > MAX_INPUT_BYTES as u64 {
        let len = usize::try_from(meta.len()).unwrap_or(usize::MAX);
        return Err(LoadError::Parse { diagnostics: vec![too_large(len)], text: String::new() });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    parse_bytes(path, bytes)
}

/// Standard input, read up to one byte past the size limit.
fn load_stdin() -> Result<(Document, String), LoadError> {
    use std::io::Read as _;
    let path = Path::new("<stdin>");
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_INPUT_BYTES).unwrap_or(u64::MAX).saturating_add(1);
    std::io::stdin()
        .lock()
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|source| LoadError::Io { path: path.to_path_buf(), source })?;
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(LoadError::Parse { diagnostics: vec![too_large(bytes.len())], text: String::new() });
    }
    parse_bytes(path, bytes)
}

/// UTF-8 text, parsed into a document; `path` names it in an encoding error.
fn parse_bytes(path: &Path, bytes: Vec<u8>) -> Result<(Document, String), LoadError> {
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..offset];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
        LoadError::NotUtf8 { path: path.to_path_buf(), offset, line, column }
    })?;
    match load_str(&text) {
        Ok(doc) => Ok((doc, text)),
        Err(diagnostics) => Err(LoadError::Parse { diagnostics, text }),
    }
}
