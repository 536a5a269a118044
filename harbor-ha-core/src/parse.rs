//! Text → raw model. Every failure becomes one HA001 diagnostic with a line and column;
//! never a panic, never a bare serde message.

use crate::diag::Diagnostic;
use crate::diag::RuleCode;
use crate::model::spec::TopologySpec;
use crate::source::{Position, SourceMap};

/// The largest topology file accepted (bytes). Real files are a few KiB.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// Parse YAML text into the raw model and its source map.
///
/// # Errors
/// Returns one HA001 diagnostic naming the line, column and key path of the problem.
pub fn parse_str(text: &str) -> Result<(TopologySpec, SourceMap), Box<Diagnostic>> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(Box::new(too_large(text.len())));
    }
    if text.trim().is_empty() {
        return Err(Box::new(ha001(
            "",
            "the file is empty",
            "start from `harbor-ha init` and describe your sites",
            Some(Position { line: 1, column: 1 }),
        )));
    }
    if let Some(line) = too_deep(text) {
        return Err(Box::new(ha001(
            "",
            format!("the document nests deeper than {MAX_DEPTH} levels"),
            "a topology nests a few levels deep: check that the right file was given",
            Some(Position { line, column: 1 }),
        )));
    }
    let map = match SourceMap::build(text) {
        Ok(m) => m,
        Err((msg, pos)) => {
            return Err(Box::new(ha001(
                "",
                format!("YAML syntax error: {msg}"),
                "fix the YAML syntax at this position (indentation, an unclosed bracket or quote)",
                Some(pos),
            )))
        }
    };
    let de = serde_yaml::Deserializer::from_str(text);
    let spec: TopologySpec = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let pos = inner
            .location()
            .map(|l| Position { line: l.line(), column: l.column() })
            .or_else(|| map.lookup(&clean_path(&path)));
        Box::new(serde_diag(&clean_path(&path), &inner.to_string(), pos))
    })?;
    if spec.version != 1 {
        let pos = map.lookup("version");
        return Err(Box::new(ha001(
            "version",
            format!("unsupported topology format version {}", spec.version),
            "this release reads `version: 1`",
            pos,
        )));
    }
    Ok((spec, map))
}

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

fn ha001(path: &str, message: impl Into<String>, hint: &str, pos: Option<Position>) -> Diagnostic {
    let mut d = Diagnostic::new(RuleCode::HA001, path, message, hint);
    d.line = pos.map(|p| p.line);
    d.column = pos.map(|p| p.column);
    d
}

/// Turn serde's message into ours: drop the trailing location and the path prefix serde
/// adds, and choose a hint from the kind of error.
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
    let message = if path.is_empty() { msg } else { format!("`{path}`: {msg}") };
    ha001(path, message, hint, pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_is_ha001_with_position() {
        for text in ["", "\u{0}\u{1}", "[", "sites: [", "version: 1\nsites: 3\n", "- a\n- b\n", "a: *x\n"] {
            let d = parse_str(text).unwrap_err();
            assert_eq!(d.code, RuleCode::HA001, "{text:?}");
            assert!(d.line.is_some(), "{text:?} -> {d:?}");
        }
    }

    #[test]
    fn unknown_key_names_its_path() {
        let text = "version: 1\nsites:\n  - name: a\n    colour: blue\n";
        let d = parse_str(text).unwrap_err();
        assert!(d.message.contains("unknown field `colour`"), "{}", d.message);
        assert_eq!(d.line, Some(4));
    }

    #[test]
    fn deep_nesting_does_not_panic() {
        let text = format!("version: 1\nsites: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(parse_str(&text).unwrap_err().code, RuleCode::HA001);
        let text = format!("version: 1\nsites: {}1\n", "- ".repeat(50_000));
        assert_eq!(parse_str(&text).unwrap_err().code, RuleCode::HA001);
    }
}
