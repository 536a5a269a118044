//! Diagnostics for people (compiler style) and for machines (JSON).

use std::fmt::Write;

use harbor_ha_core::diag::redact_line;
use harbor_ha_core::{Diagnostic, Severity};

/// A JSON array of `{code, severity, message, hint, path, line, column}`.
pub(crate) fn json(diags: &[Diagnostic]) -> String {
    json_with_suppressed(diags, &[])
}

/// [`json`], with the warnings accepted by `allow` among them (in file order), each with one
/// more key, `"suppressed": true`, after the others; the others keep exactly their keys.
pub(crate) fn json_with_suppressed(diags: &[Diagnostic], suppressed: &[Diagnostic]) -> String {
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        #[serde(flatten)]
        d: &'a Diagnostic,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        suppressed: bool,
    }
    let mut all: Vec<Entry<'_>> = diags.iter().map(|d| Entry { d, suppressed: false }).collect();
    all.extend(suppressed.iter().map(|d| Entry { d, suppressed: true }));
    all.sort_by_key(|e| (e.d.line.unwrap_or(usize::MAX), e.d.column.unwrap_or(0)));
    let mut s = serde_json::to_string_pretty(&all).unwrap_or_else(|_| "[]".to_string());
    s.push('\n');
    s
}

/// Compiler-style text: code and message, file:line:column, the source line (secrets
/// masked) with a caret, the key path and the hint; then a summary.
pub(crate) fn text(file: &str, source: &str, diags: &[Diagnostic]) -> String {
    text_with_suppressed(file, source, diags, 0)
}

/// [`text`], whose summary also counts the warnings `allow` suppressed (when there are any).
pub(crate) fn text_with_suppressed(file: &str, source: &str, diags: &[Diagnostic], suppressed: usize) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut s = String::new();
    for d in diags {
        let _ = writeln!(s, "{}[{}]: {}", d.severity.as_str(), d.code, d.message);
        match (d.line, d.column) {
            (Some(line), Some(col)) => {
                let _ = writeln!(s, "  --> {file}:{line}:{col}");
                if let Some(src) = line.checked_sub(1).and_then(|i| lines.get(i)) {
                    let shown = redact_line(src);
                    let shown: String = shown.chars().take(160).collect();
                    let w = line.to_string().len();
                    let pad = " ".repeat(w);
                    let caret_at = col.saturating_sub(1).min(shown.chars().count());
                    let _ = writeln!(s, "{pad} |");
                    let _ = writeln!(s, "{line} | {shown}");
                    let _ = writeln!(s, "{pad} | {}^", " ".repeat(caret_at));
                }
            }
            _ => {
                let _ = writeln!(s, "  --> {file}");
            }
        }
        if !d.path.is_empty() {
            let _ = writeln!(s, "  = path: {}", d.path);
        }
        let _ = writeln!(s, "  = hint: {}", d.hint);
        let _ = writeln!(s, "  = explain: harbor-ha explain {}", d.code);
        s.push('\n');
    }
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diags.len() - errors;
    let plural = |n: usize, w: &str| {
        if n == 1 {
            format!("{n} {w}")
        } else {
            format!("{n} {w}s")
        }
    };
    let _ = write!(s, "{file}: {}, {}", plural(errors, "error"), plural(warnings, "warning"));
    if suppressed > 0 {
        let _ = write!(s, " ({} suppressed by allow)", plural(suppressed, "warning"));
    }
    s.push('\n');
    s
}

/// One line per file the render created, changed or removed: `  created  hosts/lb1/…`,
/// in path order.
pub(crate) fn changes(c: &harbor_ha_io::Changes) -> String {
    let mut all: Vec<(&str, &str)> = Vec::new();
    all.extend(c.created.iter().map(|p| (p.as_str(), "created")));
    all.extend(c.changed.iter().map(|p| (p.as_str(), "changed")));
    all.extend(c.removed.iter().map(|p| (p.as_str(), "removed")));
    all.sort_unstable();
    let mut s = String::new();
    for (path, what) in all {
        let _ = writeln!(s, "  {what}  {path}");
    }
    s
}
