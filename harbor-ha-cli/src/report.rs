//! Diagnostics for people (compiler style, drawn by annotate-snippets, the renderer rustc
//! uses) and for machines: JSON, SARIF 2.1.0 (code scanning) and GitHub Actions workflow
//! commands. Every excerpt of the topology masks the literal secrets the schema names.

use std::fmt::Write;
use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use harbor_ha_core::source::{mask_spans, Position, SourceMap, Span};
use harbor_ha_core::{Diagnostic, RuleCode, Severity};
use serde_json::{json, Value};

/// The topology a set of diagnostics is about: its name as given (`<stdin>` for `-`) and
/// its text, with the secrets masked once for every excerpt.
pub(crate) struct Source<'a> {
    name: &'a str,
    text: &'a str,
    masked: Masked,
}

impl<'a> Source<'a> {
    pub(crate) fn new(name: &'a str, text: &'a str) -> Self {
        Source { name, text, masked: Masked::new(text, mask_spans(text)) }
    }

    /// [`Source::new`] for a text already indexed: its map's secret spans are the masks.
    pub(crate) fn indexed(name: &'a str, text: &'a str, map: &SourceMap) -> Self {
        Source { name, text, masked: Masked::new(text, map.secret_spans()) }
    }
}

/// Give every positioned diagnostic (and label) without an end the end of the value that
/// starts there (the parser's own errors carry only a start).
pub(crate) fn complete(text: &str, diags: &mut [Diagnostic]) {
    if !diags.iter().any(|d| d.line.is_some() && d.end_line.is_none()) {
        return;
    }
    let (map, _) = SourceMap::build_partial(text);
    for d in diags.iter_mut() {
        if let (Some(line), Some(column), None) = (d.line, d.column, d.end_line) {
            if let Some(span) = map.span_at(Position { line, column }) {
                d.set_span(span);
            }
        }
    }
}

/// One entry of `--format json`: the contract's keys (code, severity, message, hint, path,
/// line, column), then the file, the end of the span, the `explain` line, the related
/// places (when there are any) and `"suppressed": true` for an allowed warning.
#[derive(serde::Serialize)]
struct Entry<'a> {
    code: RuleCode,
    severity: Severity,
    message: &'a str,
    hint: &'a str,
    path: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    file: &'a str,
    explain: String,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    related: &'a [harbor_ha_core::diag::Label],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    suppressed: bool,
}

/// Every diagnostic in file order, each with whether `allow` suppressed it.
fn in_order<'d>(diags: &'d [Diagnostic], suppressed: &'d [Diagnostic]) -> Vec<(&'d Diagnostic, bool)> {
    let mut all: Vec<(&Diagnostic, bool)> = diags.iter().map(|d| (d, false)).collect();
    all.extend(suppressed.iter().map(|d| (d, true)));
    all.sort_by_key(|(d, _)| (d.line.unwrap_or(usize::MAX), d.column.unwrap_or(0)));
    all
}

/// A JSON array of [`Entry`]s, with the warnings accepted by `allow` among them (in file
/// order), each with `"suppressed": true`.
pub(crate) fn json_with_suppressed(file: &str, diags: &[Diagnostic], suppressed: &[Diagnostic]) -> String {
    let all: Vec<Entry<'_>> = in_order(diags, suppressed)
        .into_iter()
        .map(|(d, suppressed)| Entry {
            code: d.code,
            severity: d.severity,
            message: &d.message,
            hint: &d.hint,
            path: &d.path,
            line: d.line,
            column: d.column,
            end_line: d.end_line,
            end_column: d.end_column,
            file,
            explain: format!("harbor-ha explain {}", d.code),
            related: &d.related,
            suppressed,
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&all).unwrap_or_else(|_| "[]".to_string());
    s.push('\n');
    s
}

/// Compiler-style text: code and message, file:line:column, the excerpt (secrets masked)
/// with the value underlined and the related places labelled, the key path, the hint and
/// the `explain` line; then a summary.
pub(crate) fn text(src: &Source<'_>, diags: &[Diagnostic], color: bool) -> String {
    text_with_suppressed(src, diags, 0, color)
}

/// [`text`], whose summary also counts the warnings `allow` suppressed (when there are any).
pub(crate) fn text_with_suppressed(src: &Source<'_>, diags: &[Diagnostic], suppressed: usize, color: bool) -> String {
    let mut s = String::new();
    for d in diags {
        s.push_str(&block(src, d, color));
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
    let _ = write!(s, "{}: {}, {}", src.name, plural(errors, "error"), plural(warnings, "warning"));
    if suppressed > 0 {
        let _ = write!(s, " ({} suppressed by allow)", plural(suppressed, "warning"));
    }
    s.push('\n');
    s
}

/// One diagnostic as text, ending in a newline.
pub(crate) fn block(src: &Source<'_>, d: &Diagnostic, color: bool) -> String {
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let code = d.code.as_str();
    let title = level.primary_title(d.message.as_str()).id(code);
    let mut group = Group::with_title(title);
    match (src.masked.snippet(src, d), d.line) {
        (Some(snippet), _) => group = group.element(snippet),
        // A position past the text's last line (the end of a truncated file): no excerpt.
        (None, Some(line)) => {
            group = group.element(Origin::path(src.name).line(line).char_column(d.column.unwrap_or(1)));
        }
        (None, None) => group = group.element(Origin::path(src.name)),
    }
    if !d.path.is_empty() {
        group = group.element(Level::NOTE.with_name("path").message(d.path.as_str()));
    }
    let explain = format!("harbor-ha explain {code}");
    group = group
        .element(Level::HELP.with_name("hint").message(d.hint.as_str()))
        .element(Level::NOTE.with_name("explain").message(explain.as_str()));
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    let mut out = renderer.render(&[group]);
    out.push('\n');
    out
}

/// The topology's text with every secret span replaced by `****` (a value over several
/// lines keeps its line breaks, so that the lines after it keep their numbers), and the
/// map from offsets in the text to offsets in the masked text.
struct Masked {
    text: String,
    /// Byte offset of each line's start in `text`.
    line_starts: Vec<usize>,
    /// Byte offset of each line's start in the original text.
    orig_line_starts: Vec<usize>,
    /// Every mask in text order: its original range, the range of its `****` and where the
    /// masked text goes on with the original's `range.end`.
    masks: Vec<(Range<usize>, Range<usize>, usize)>,
}

const MASK: &str = "****";

fn line_starts(text: &str) -> Vec<usize> {
    let mut v = vec![0];
    v.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    v
}

/// The byte offset of a 1-based line and character column in `text` (clamped to the line).
fn byte_at(text: &str, starts: &[usize], line: usize, column: usize) -> usize {
    let Some(&start) = line.checked_sub(1).and_then(|l| starts.get(l)) else {
        return text.len();
    };
    let end = starts.get(line).map_or(text.len(), |&e| e.saturating_sub(1)).max(start);
    text[start..end].char_indices().nth(column.saturating_sub(1)).map_or(end, |(i, _)| start + i)
}

impl Masked {
    fn new(text: &str, spans: Vec<Span>) -> Self {
        let orig_line_starts = line_starts(text);
        let mut spans: Vec<Range<usize>> = spans
            .into_iter()
            .map(|s: Span| {
                byte_at(text, &orig_line_starts, s.start.line, s.start.column)
                    ..byte_at(text, &orig_line_starts, s.end.line, s.end.column)
            })
            .filter(|r| r.start < r.end)
            .collect();
        spans.sort_by_key(|r| (r.start, r.end));
        let mut out = String::with_capacity(text.len());
        let mut masks = Vec::new();
        let mut at = 0;
        for r in spans {
            if r.start < at {
                continue; // overlapping (an alias's anchor listed twice): masked already
            }
            out.push_str(&text[at..r.start]);
            let from = out.len();
            out.push_str(MASK);
            let to = out.len();
            out.extend(std::iter::repeat_n('\n', text[r.clone()].matches('\n').count()));
            masks.push((r.clone(), from..to, out.len()));
            at = r.end;
        }
        out.push_str(&text[at..]);
        Masked { line_starts: line_starts(&out), text: out, orig_line_starts, masks }
    }

    /// Where the original offset `o` is in the masked text: inside a mask, its start (or, for
    /// the end of a span, the end of `****`).
    fn map(&self, o: usize, is_end: bool) -> usize {
        let i = self.masks.partition_point(|(orig, _, _)| orig.start < o);
        match i.checked_sub(1).and_then(|k| self.masks.get(k)) {
            None => o,
            Some((orig, masked, _)) if o < orig.end => {
                if is_end {
                    masked.end
                } else {
                    masked.start
                }
            }
            Some((orig, _, resume)) => o - orig.end + resume,
        }
    }

    /// The byte range (in the masked text) of a position and its end; a value without an
    /// end, or an empty one, gets its first character.
    fn range(&self, orig: &str, line: usize, column: usize, end: Option<(usize, usize)>) -> Range<usize> {
        let a = byte_at(orig, &self.orig_line_starts, line, column);
        let b = end.map_or(a, |(l, c)| byte_at(orig, &self.orig_line_starts, l, c)).max(a);
        let (ma, mut mb) = (self.map(a, false), self.map(b, true));
        if mb <= ma {
            mb = self.text[ma..].chars().next().filter(|c| *c != '\n').map_or(ma, |c| ma + c.len_utf8());
        }
        ma..mb
    }

    /// The excerpt of a diagnostic: the lines from its first place to its last, the value
    /// underlined, each related place labelled.
    fn snippet<'s>(
        &'s self,
        src: &Source<'s>,
        d: &'s Diagnostic,
    ) -> Option<Snippet<'s, annotate_snippets::Annotation<'s>>> {
        let (line, column) = (d.line?, d.column?);
        // The lines of the text: a final line break starts no line.
        let lines = self.line_starts.len() - usize::from(self.text.ends_with('\n'));
        if line > lines {
            return None;
        }
        let end = d.end_line.zip(d.end_column);
        let primary = self.range(src.text, line, column, end);
        let mut related = Vec::new();
        for l in &d.related {
            if let (Some(ll), Some(lc)) = (l.line, l.column) {
                if ll <= lines {
                    related.push((self.range(src.text, ll, lc, l.end_line.zip(l.end_column)), l.message.as_str()));
                }
            }
        }
        // The window: whole lines from the first place to the last.
        let lo = related.iter().map(|(r, _)| r.start).chain([primary.start]).min().unwrap_or(primary.start);
        let hi = related.iter().map(|(r, _)| r.end).chain([primary.end]).max().unwrap_or(primary.end);
        let first = self.line_starts.partition_point(|&s| s <= lo).max(1);
        let start = self.line_starts[first - 1];
        let stop = self.text[hi..].find('\n').map_or(self.text.len(), |i| hi + i);
        let window = &self.text[start..stop];
        let rel = |r: &Range<usize>| (r.start - start).min(window.len())..(r.end - start).min(window.len());
        let mut snippet = Snippet::source(window)
            .line_start(first)
            .path(src.name)
            .fold(true)
            .annotation(AnnotationKind::Primary.span(rel(&primary)));
        for (r, label) in &related {
            snippet = snippet.annotation(AnnotationKind::Context.span(rel(r)).label(*label));
        }
        Some(snippet)
    }
}

/// `--format sarif`: a SARIF 2.1.0 log with one run, the rule catalog as the driver's
/// rules, and one result per diagnostic (allowed warnings with a suppression).
pub(crate) fn sarif(file: &str, diags: &[Diagnostic], suppressed: &[Diagnostic]) -> String {
    let rules: Vec<Value> = RuleCode::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "name": c.name(),
                "shortDescription": {"text": c.summary()},
                "fullDescription": {"text": c.summary()},
                "help": {"text": c.doc(), "markdown": c.doc()},
                "defaultConfiguration": {"level": level(c.default_severity())},
            })
        })
        .collect();
    let uri = uri_reference(file);
    let region = |line: Option<usize>, column: Option<usize>, end_line: Option<usize>, end_column: Option<usize>| {
        let mut r = serde_json::Map::new();
        if let Some(l) = line {
            r.insert("startLine".into(), json!(l));
            if let Some(c) = column {
                r.insert("startColumn".into(), json!(c));
            }
            if let (Some(el), Some(ec)) = (end_line, end_column) {
                r.insert("endLine".into(), json!(el));
                r.insert("endColumn".into(), json!(ec));
            }
        }
        r
    };
    let physical = |r: serde_json::Map<String, Value>| {
        let mut p = json!({"artifactLocation": {"uri": uri}});
        if !r.is_empty() {
            p["region"] = Value::Object(r);
        }
        p
    };
    let results: Vec<Value> = in_order(diags, suppressed)
        .into_iter()
        .map(|(d, is_suppressed)| {
            let index = RuleCode::ALL.iter().position(|c| *c == d.code).unwrap_or(0);
            let mut r = json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": index,
                "level": level(d.severity),
                "message": {"text": format!("{}\nhint: {}", d.message, d.hint)},
                "locations": [{
                    "physicalLocation": physical(region(d.line, d.column, d.end_line, d.end_column)),
                }],
            });
            if !d.path.is_empty() {
                r["locations"][0]["logicalLocations"] = json!([{"fullyQualifiedName": d.path}]);
            }
            if !d.related.is_empty() {
                r["relatedLocations"] = d
                    .related
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let mut loc = json!({
                            "id": i + 1,
                            "physicalLocation": physical(region(l.line, l.column, l.end_line, l.end_column)),
                            "message": {"text": l.message},
                        });
                        if !l.path.is_empty() {
                            loc["logicalLocations"] = json!([{"fullyQualifiedName": l.path}]);
                        }
                        loc
                    })
                    .collect();
            }
            if is_suppressed {
                r["suppressions"] = json!([{
                    "kind": "external",
                    "justification": "accepted by `allow` (in the topology) or --allow",
                }]);
            }
            r
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "harbor-ha",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A file name as a relative URI reference: every byte outside the unreserved characters
/// and `/` percent-encoded (`<stdin>` → `%3Cstdin%3E`).
fn uri_reference(file: &str) -> String {
    let mut s = String::new();
    for b in file.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    s
}

/// `--format github`: one GitHub Actions workflow command per diagnostic in force
/// (`::error file=…,line=…,col=…,endLine=…,endColumn=…,title=CODE::message (hint)`), which
/// the Actions runner turns into an annotation on the file. `endColumn` is the last
/// character's column (GitHub's is inclusive).
pub(crate) fn github(file: &str, diags: &[Diagnostic]) -> String {
    let mut s = String::new();
    for (d, _) in in_order(diags, &[]) {
        let mut props = vec![format!("file={}", escape_property(file))];
        if let Some(l) = d.line {
            props.push(format!("line={l}"));
            if let Some(c) = d.column {
                props.push(format!("col={c}"));
            }
            if let (Some(el), Some(ec)) = (d.end_line, d.end_column) {
                props.push(format!("endLine={el}"));
                let last =
                    if el == l { ec.saturating_sub(1).max(d.column.unwrap_or(1)) } else { ec.saturating_sub(1).max(1) };
                props.push(format!("endColumn={last}"));
            }
        }
        props.push(format!("title={}", escape_property(d.code.as_str())));
        let _ = writeln!(
            s,
            "::{} {}::{}",
            level(d.severity),
            props.join(","),
            escape_data(&format!("{} ({})", d.message, d.hint))
        );
    }
    s
}

/// A workflow command's message: `%`, CR and LF percent-encoded (as @actions/core does).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A workflow command's property value: [`escape_data`], and `:` and `,` too.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_escapes_data_and_properties() {
        assert_eq!(escape_data("a%b\r\nc"), "a%25b%0D%0Ac");
        assert_eq!(escape_property("x:y,z%\n"), "x%3Ay%2Cz%25%0A");
    }

    #[test]
    fn masks_keep_line_numbers_and_map_offsets() {
        let text = "a: 1\nsites:\n  - harbor:\n      admin_password: |\n        two\n        lines\n    name: x\n";
        let m = Masked::new(text, mask_spans(text));
        assert_eq!(m.text.lines().count(), text.lines().count(), "{}", m.text);
        assert!(m.text.contains("admin_password: |\n        ****\n\n    name"), "{}", m.text);
        assert!(!m.text.contains("two") && !m.text.contains("lines"), "{}", m.text);
        let name = text.find("x\n").unwrap();
        assert_eq!(&m.text[m.map(name, false)..=m.map(name, false)], "x");
    }
}
