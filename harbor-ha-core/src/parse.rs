//! Text → raw model. Every failure is an HA001 diagnostic with a key path, a line and a
//! column; never a panic, never a bare serde message, never a Rust type name.
//!
//! Three passes: the YAML syntax (one error, where the reader stops); YAML merge keys
//! (`<<: *anchor`, `<<: [*a, *b]`), applied on the value tree; then a structural pass over
//! that tree against the topology's JSON Schema ([`crate::shape`]), which reports every
//! unknown key (with "did you mean" when a known key is close), wrong type, missing key and
//! unknown choice at once, and drops the `x-` extension keys. Only a tree that passes is
//! deserialized into the raw model; what serde still refuses then (a value the schema cannot
//! express, such as a malformed subnet) is translated into the same words.
//!
//! Positions: a value is reported where it is written; a value that a merge key brought in,
//! at that `<<` key (the alias that merged it), since one anchor may serve many places.

use crate::diag::Diagnostic;
use crate::diag::RuleCode;
use crate::model::spec::TopologySpec;
use crate::source::{Position, SourceMap};

/// The largest topology file accepted (bytes). Real files are a few KiB.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// Parse YAML text into the raw model and its source map.
///
/// # Errors
/// Every HA001 diagnostic found (at least one), each naming the key path, line and column
/// of a problem: a syntax error alone, else every structural error of the file.
pub fn parse_str(text: &str) -> Result<(TopologySpec, SourceMap), Vec<Diagnostic>> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(vec![too_large(text.len())]);
    }
    if text.trim().is_empty() {
        return Err(vec![ha001(
            "",
            "the file is empty",
            "start from `harbor-ha init` and describe your sites",
            Some(Position { line: 1, column: 1 }),
        )]);
    }
    if let Some(line) = too_deep(text) {
        return Err(vec![ha001(
            "",
            format!("the document nests deeper than {MAX_DEPTH} levels"),
            "a topology nests a few levels deep: check that the right file was given",
            Some(Position { line, column: 1 }),
        )]);
    }
    let map = match SourceMap::build(text) {
        Ok(m) => m,
        Err((msg, pos)) => {
            return Err(vec![ha001(
                "",
                format!("YAML syntax error: {msg}"),
                "fix the YAML syntax at this position (indentation, an unclosed bracket or quote)",
                Some(pos),
            )])
        }
    };
    if map.alias_values() > MAX_ALIAS_VALUES {
        return Err(vec![ha001(
            "",
            format!(
                "the aliases of this file expand to {} more values (the limit is {MAX_ALIAS_VALUES})",
                map.alias_values()
            ),
            "a topology uses a few anchors for shared settings: check that the right file was given",
            Some(Position { line: 1, column: 1 }),
        )]);
    }
    if !map.duplicates().is_empty() {
        return Err(map.duplicates().iter().map(|(path, pos)| duplicate(&map, path, *pos)).collect());
    }
    let mut value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        // Without a location (a second document), point at the second `---`, else the start.
        let pos = e
            .location()
            .map(|l| Position { line: l.line(), column: l.column() })
            .or_else(|| second_document(text))
            .unwrap_or(Position { line: 1, column: 1 });
        vec![serde_diag("", &e.to_string(), Some(pos))]
    })?;
    let mut diags = Vec::new();
    crate::shape::merge_keys(&mut value, "", &map, &mut diags);
    diags.extend(crate::shape::check(&mut value, &map));
    if !diags.is_empty() {
        // In file order (a missing key at its mapping); stable, so a place keeps its order.
        diags.sort_by_key(|d| (d.line.unwrap_or(usize::MAX), d.column.unwrap_or(0)));
        return Err(diags);
    }
    let spec: TopologySpec = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = clean_path(&e.path().to_string());
        let pos = map.lookup_value(&path);
        vec![serde_diag(&path, &e.into_inner().to_string(), pos)]
    })?;
    if spec.version != 1 {
        let pos = map.lookup("version");
        return Err(vec![ha001(
            "version",
            format!("unsupported topology format version {}", spec.version),
            "this release reads `version: 1`",
            pos,
        )]);
    }
    Ok((spec, map))
}

/// Where a second YAML document starts: the `---` after the first document's content.
fn second_document(text: &str) -> Option<Position> {
    let mut content = false;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("---") && content {
            return Some(Position { line: i + 1, column: 1 });
        }
        let t = line.trim();
        content |= !t.is_empty() && !t.starts_with('#') && !t.starts_with("---") && !t.starts_with('%');
    }
    None
}

/// The HA001 of a key given twice in one mapping (YAML refuses it; which one was meant?).
fn duplicate(map: &SourceMap, path: &str, pos: Position) -> Diagnostic {
    let first = map.lookup_key(path).map(|p| format!(" (first at line {})", p.line)).unwrap_or_default();
    let key = path.rsplit('.').next().unwrap_or(path);
    ha001(path, format!("`{path}` is given twice{first}"), format!("keep one `{key}` in this mapping"), Some(pos))
}

/// The most values aliases may add once expanded. The value tree is built before it is
/// checked, so an alias bomb (few bytes, billions of values) is refused from the counts of
/// the YAML events first. Real files add a few hundred.
pub const MAX_ALIAS_VALUES: u64 = 1_000_000;

/// Deepest nesting accepted. Real topologies nest under 10 levels; the YAML readers
/// recurse per level, so unbounded nesting could exhaust the stack.
pub const MAX_DEPTH: usize = 256;

/// The first line where indentation or flow brackets exceed [`MAX_DEPTH`] (a cheap,
/// conservative bound on the nesting of block and flow collections).
fn too_deep(text: &str) -> Option<usize> {
    let mut flow: usize = 0;
    for (i, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches([' ', '-']).len();
        if indent > MAX_DEPTH * 2 {
            return Some(i + 1);
        }
        for b in line.bytes() {
            match b {
                b'[' | b'{' => flow += 1,
                b']' | b'}' => flow = flow.saturating_sub(1),
                _ => {}
            }
            if flow > MAX_DEPTH {
                return Some(i + 1);
            }
        }
    }
    None
}

/// The HA001 for input over [`MAX_INPUT_BYTES`].
#[must_use]
pub fn too_large(len: usize) -> Diagnostic {
    ha001(
        "",
        format!("the file is {len} bytes; the limit is {MAX_INPUT_BYTES}"),
        "a topology file is a few KiB: check that the right file was given",
        Some(Position { line: 1, column: 1 }),
    )
}

/// serde_path_to_error writes `.` for the root and may prefix `?` for unknown positions.
fn clean_path(p: &str) -> String {
    if p == "." || p == "?" {
        String::new()
    } else {
        p.to_string()
    }
}

/// An HA001 at `path`, with its position when known (this module owns HA001).
pub(crate) fn ha001(
    path: &str,
    message: impl Into<String>,
    hint: impl Into<String>,
    pos: Option<Position>,
) -> Diagnostic {
    let mut d = Diagnostic::new(RuleCode::HA001, path, message, hint);
    d.line = pos.map(|p| p.line);
    d.column = pos.map(|p| p.column);
    d
}

/// Turn serde's message into ours: drop the trailing location and the path prefix serde
/// adds, put Rust's type names into words, and choose a hint from the kind of error.
fn serde_diag(path: &str, raw: &str, pos: Option<Position>) -> Diagnostic {
    let mut msg = raw.to_string();
    if let Some(i) = msg.rfind(" at line ") {
        msg.truncate(i);
    }
    if !path.is_empty() {
        if let Some(rest) = msg.strip_prefix(&format!("{path}: ")) {
            msg = rest.to_string();
        }
    }
    let hint = if msg.starts_with("unknown field") {
        "remove or correct the key; unknown keys are refused so that typos do not pass silently (see `harbor-ha schema`)"
    } else if msg.starts_with("missing field") {
        "add the required key (see `harbor-ha init` for a complete example)"
    } else if msg.starts_with("unknown variant") {
        "use one of the listed values"
    } else if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
        "give a value of the expected type (quote strings that look like numbers)"
    } else if msg.contains("more than one document") {
        "keep one YAML document per topology file"
    } else if msg.contains("recursion limit") || msg.contains("repetition limit") {
        "the file nests or repeats aliases too deeply to be a topology"
    } else {
        "correct the value at this position"
    };
    let msg = humanize(&msg);
    let message = if path.is_empty() { msg } else { format!("`{path}`: {msg}") };
    ha001(path, message, hint, pos)
}

/// serde's wording in ours: "invalid type: string \"x\", expected u16" becomes "expected an
/// integer from 0 to 65535, found a string" (the value is dropped: it may be a secret).
fn humanize(msg: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some((found, want)) = msg.strip_prefix(prefix).and_then(|r| r.split_once(", expected ")) {
            return format!("expected {}, found {}", expected_words(want), found_words(found));
        }
    }
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        return match rest.split_once(", expected ") {
            Some((key, known)) => {
                format!("unknown key {key}; the keys here are {}", known.trim_start_matches("one of "))
            }
            None => format!("unknown key {}", rest.split(", there are no fields").next().unwrap_or(rest)),
        };
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        return match rest.split_once(", expected ") {
            Some((value, known)) if known.starts_with("one of") => format!("{value} is not {known}"),
            Some((value, known)) => format!("{value} is not {known}"),
            None => format!("{rest} is not a known value"),
        };
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        return format!("missing the required key {rest}");
    }
    if msg.contains("more than one document") {
        return "the file holds more than one YAML document".to_string();
    }
    msg.to_string()
}

/// serde's "expected …" (a Rust type or a visitor's own words) for people.
fn expected_words(want: &str) -> String {
    let range = |hi: u64| format!("an integer from 0 to {hi}");
    match want {
        "u8" => range(u8::MAX.into()),
        "u16" => range(u16::MAX.into()),
        "u32" => range(u32::MAX.into()),
        "u64" | "usize" => "an integer of at least 0".to_string(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".to_string(),
        "f32" | "f64" => "a number".to_string(),
        "a boolean" | "bool" => "`true` or `false`".to_string(),
        "a string" | "a borrowed string" | "a character" | "char" => "a string".to_string(),
        "a sequence" => "a list".to_string(),
        "a map" => "a mapping".to_string(),
        "unit" => "nothing (an empty value)".to_string(),
        "IP address" => "an IP address".to_string(),
        w if w.starts_with("struct ") => "a mapping".to_string(),
        w if w.starts_with("enum ") => "one of the listed values".to_string(),
        w if w.starts_with("tuple") => "a list".to_string(),
        w if w.starts_with("option") || w.starts_with("Option") => "a value".to_string(),
        w => w.to_string(),
    }
}

/// serde's description of what it found, without the value.
fn found_words(found: &str) -> &'static str {
    match found.split([' ', '`']).next().unwrap_or("") {
        "string" | "char" => "a string",
        "integer" => "an integer",
        "floating" => "a decimal number",
        "boolean" => "a boolean",
        "unit" => "nothing (an empty value)",
        "sequence" | "tuple" => "a list",
        "map" | "newtype" | "enum" => "a mapping",
        _ => "a different value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_is_ha001_with_position() {
        for text in [
            "",
            "\u{0}\u{1}",
            "[",
            "sites: [",
            "version: 1\nsites: 3\n",
            "- a\n- b\n",
            "a: *x\n",
            "version: 1\nsites: []\n---\nversion: 1\n",
        ] {
            let diags = parse_str(text).unwrap_err();
            assert!(!diags.is_empty(), "{text:?}");
            for d in &diags {
                assert_eq!(d.code, RuleCode::HA001, "{text:?}");
                assert!(d.line.is_some(), "{text:?} -> {d:?}");
            }
        }
    }

    #[test]
    fn unknown_key_names_its_path() {
        let text = "version: 1\nsites:\n  - name: a\n    colour: blue\n";
        let diags = parse_str(text).unwrap_err();
        let d = diags.iter().find(|d| d.path == "sites[0].colour").expect("the unknown key is reported");
        assert!(d.message.contains("unknown key `colour`"), "{}", d.message);
        assert_eq!(d.line, Some(4));
    }

    #[test]
    fn deep_nesting_does_not_panic() {
        let text = format!("version: 1\nsites: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(parse_str(&text).unwrap_err()[0].code, RuleCode::HA001);
        let text = format!("version: 1\nsites: {}1\n", "- ".repeat(50_000));
        assert_eq!(parse_str(&text).unwrap_err()[0].code, RuleCode::HA001);
    }
}
