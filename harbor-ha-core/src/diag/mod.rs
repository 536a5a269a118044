//! Diagnostics as data: a rule code, a severity, a message naming the place, a hint, the
//! key path and the source position. Rendering them for people is the CLI's job.

mod codes;

use serde::Serialize;

use crate::source::Span;
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
    /// Line of the value's end (with `end_column`: just past its last character).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<usize>,
    /// Column just past the value's last character (SARIF's `endColumn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<usize>,
    /// Other places the finding concerns, e.g. where a duplicated value is first used.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Label>,
}

/// A secondary place of a [`Diagnostic`]: a key path, its position and what it has to do
/// with the finding ("first used here").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    /// Key path of the value, e.g. `sites[0].hosts[0].address`.
    pub path: String,
    /// What this place is, e.g. `first used here`.
    pub message: String,
    /// 1-based line, when the input came from a file.
    pub line: Option<usize>,
    /// 1-based column, when the input came from a file.
    pub column: Option<usize>,
    /// Line of the value's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<usize>,
    /// Column just past the value's last character.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<usize>,
}

impl Label {
    /// Give the label the position of `span`.
    pub fn set_span(&mut self, span: Span) {
        self.line = Some(span.start.line);
        self.column = Some(span.start.column);
        self.end_line = Some(span.end.line);
        self.end_column = Some(span.end.column);
    }
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
            end_line: None,
            end_column: None,
            related: Vec::new(),
        }
    }

    /// Add a secondary place (positioned when the diagnostic is located in the file).
    #[must_use]
    pub fn with_related(mut self, path: impl Into<String>, message: impl Into<String>) -> Self {
        self.related.push(Label {
            path: path.into(),
            message: message.into(),
            line: None,
            column: None,
            end_line: None,
            end_column: None,
        });
        self
    }

    /// Give the diagnostic the position of `span`.
    pub fn set_span(&mut self, span: Span) {
        self.line = Some(span.start.line);
        self.column = Some(span.start.column);
        self.end_line = Some(span.end.line);
        self.end_column = Some(span.end.column);
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
