//! Script templates: the static text of the generated scripts lives in `render/scripts/*.sh`,
//! pulled in with `include_str!`, so that shellcheck reads each one as the script it is
//! (`tests/bundle.rs` runs it on every template).
//!
//! A template is a whole script with two kinds of holes, which [`fill`] replaces:
//! - a line `# @@name@@` (any indentation) stands for zero or more generated lines: the
//!   line, with its newline, becomes the text given for `name`;
//! - a token `@@NAME@@` inside a line stands for a generated word or phrase.
//!
//! Both are inert for shellcheck (a comment; a command word). After the shebang, a header
//! of comment lines ending with `# ---` tells shellcheck how to read the file on its own
//! (`# shellcheck disable=…` for what the generated parts define) and says which renderer
//! fills it; [`fill`] drops it (and keeps the shebang). Every value a renderer puts into a
//! hole is quoted by the renderer ([`super::quote`]).

/// The line that ends a template's header.
const HEADER_END: &str = "# ---\n";

/// The script of `template` with every hole filled: `lines` gives the text of each
/// `# @@name@@` line (empty text removes the line), `words` the text of each `@@NAME@@`.
///
/// A hole without a value, or a value without a hole, is a bug in the renderer; unit tests
/// render every template, so they find it (debug builds assert it).
#[must_use]
pub fn fill(template: &str, lines: &[(&str, &str)], words: &[(&str, &str)]) -> String {
    let (shebang, rest) = match template.split_once('\n') {
        Some((first, rest)) if first.starts_with("#!") => (&template[..=first.len()], rest),
        _ => ("", template),
    };
    let body = rest.split_once(HEADER_END).map_or(rest, |(_, b)| b);
    let mut out = String::with_capacity(body.len() + lines.iter().map(|(_, t)| t.len()).sum::<usize>());
    out.push_str(shebang);
    let mut used = vec![false; lines.len() + words.len()];
    for line in body.split_inclusive('\n') {
        let hole = line.trim().strip_prefix("# @@").and_then(|l| l.strip_suffix("@@"));
        if let Some(name) = hole {
            let i = lines.iter().position(|(n, _)| *n == name);
            debug_assert!(i.is_some(), "template hole `{name}` has no value");
            if let Some(i) = i {
                used[i] = true;
                out.push_str(lines[i].1);
            }
            continue;
        }
        // Words are replaced in the template's own text only, never in a value.
        let mut line = line.to_string();
        for (i, (name, text)) in words.iter().enumerate() {
            let token = format!("@@{name}@@");
            if line.contains(&token) {
                used[lines.len() + i] = true;
                line = line.replace(&token, text);
            }
        }
        out.push_str(&line);
    }
    debug_assert!(used.iter().all(|u| *u), "a value has no hole: {lines:?} {words:?}");
    out
}

/// The body of a template that is a part of other scripts (filled into a `# @@name@@` hole
/// of each): without its shebang and header.
#[must_use]
pub fn fragment(template: &str) -> String {
    let filled = fill(template, &[], &[]);
    match filled.split_once('\n') {
        Some((first, rest)) if first.starts_with("#!") => rest.to_string(),
        _ => filled,
    }
}

#[cfg(test)]
mod tests {
    use super::{fill, fragment};

    #[test]
    fn a_fragment_has_no_shebang_or_header() {
        assert_eq!(fragment("#!/bin/sh\n# header\n# ---\nf() { :; }\n"), "f() { :; }\n");
    }

    #[test]
    fn header_dropped_holes_filled() {
        let t = "#!/bin/sh\n# shellcheck disable=SC2154\n# filled by nothing\n# ---\n# @@top@@\necho @@WHO@@\n  # @@none@@\ndone\n";
        let s = fill(t, &[("top", "# @@WHO@@\n"), ("none", "")], &[("WHO", "'x y'")]);
        // A value is inserted as it is: a hole's name inside it is not a hole.
        assert_eq!(s, "#!/bin/sh\n# @@WHO@@\necho 'x y'\ndone\n");
    }

    #[test]
    #[should_panic(expected = "has no value")]
    fn a_hole_without_a_value_is_a_bug() {
        let _ = fill("# ---\n# @@top@@\n", &[], &[]);
    }
}
