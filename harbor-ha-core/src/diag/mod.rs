//! Diagnostics as data: a rule code, a severity, a message naming the place, a hint, the
//! key path and the source position. Rendering them for people is the CLI's job.

mod codes;

use serde::Serialize;

pub(crate) use codes::edit_distance;
pub use codes::{RuleCode, UnknownCode};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational; never fails.
    Warning,
    /// The deployment would fail or be unsafe; `render` refuses.
    Error,
}

impl Severity {
    /// `error` or `warning`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable rule code, e.g. `HA003`.
    pub code: RuleCode,
    /// Error or warning.
    pub severity: Severity,
    /// One line naming the offending place. Never contains a secret.
    pub message: String,
    /// How to fix it.
    pub hint: String,
    /// Key path of the offending value, e.g. `sites[0].hosts[2].address`.
    pub path: String,
    /// 1-based line of the value in the topology file, when it came from a file.
    pub line: Option<usize>,
    /// 1-based column of the value in the topology file, when it came from a file.
    pub column: Option<usize>,
}

impl Diagnostic {
    /// A diagnostic with the rule's default severity and no position yet.
    #[must_use]
    pub fn new(code: RuleCode, path: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.default_severity(),
            message: message.into(),
            hint: hint.into(),
            path: path.into(),
            line: None,
            column: None,
        }
    }

    /// Override the severity (rules whose severity depends on the finding, e.g. RD006).
    #[must_use]
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Whether this is an error.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Whether any diagnostic in `diags` is an error.
#[must_use]
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

/// Key names whose values are secrets; a line holding one is never shown verbatim.
const SECRET_KEYS: &[&str] = &["password", "secret", "key", "credentials"];

/// `line` with any secret-looking value masked, for source excerpts: everything after a
/// key whose name contains password, secret, key or credentials is replaced by `****`.
/// References such as `{env: VAR}` and `{file: PATH}` are kept, since they are not secret.
#[must_use]
pub fn redact_line(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    let mut cut: Option<usize> = None;
    for k in SECRET_KEYS {
        let mut from = 0;
        while let Some(i) = lower[from..].find(k) {
            let at = from + i + k.len();
            // Skip the rest of the key name, then require a colon.
            let rest = &lower[at..];
            let key_end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if rest[key_end..].starts_with(':') {
                let v = at + key_end + 1;
                cut = Some(cut.map_or(v, |c: usize| c.min(v)));
            }
            from = at;
        }
    }
    match cut {
        Some(c) => {
            let value = line[c..].trim_start();
            if value.starts_with("{env:")
                || value.starts_with("{file:")
                || value.starts_with("{ env:")
                || value.starts_with("{ file:")
                || value.is_empty()
            {
                line.to_string()
            } else {
                format!("{} ****", &line[..c])
            }
        }
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_line;

    #[test]
    fn secrets_are_masked_in_excerpts() {
        assert_eq!(redact_line("      password: hunter2"), "      password: ****");
        assert_eq!(redact_line("  admin_password: \"Harbor12345\""), "  admin_password: ****");
        assert_eq!(redact_line("  - {name: a, password: x1, port: 2}"), "  - {name: a, password: ****");
        assert_eq!(redact_line("  password: {env: DB_PW}"), "  password: {env: DB_PW}");
        assert_eq!(redact_line("  address: 10.0.0.1"), "  address: 10.0.0.1");
    }
}
