//! Quoting for every target language. Validation already refuses unsafe names and paths;
//! these functions make sure that no value, secret or not, can end a string and add a
//! command or a directive.

/// A POSIX shell word: single-quoted, with `'` written as `'\''`.
#[must_use]
pub fn sh(s: &str) -> String {
    if !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-' | b':' | b',' | b'=' | b'+' | b'@')
        })
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A SQL string literal (standard_conforming_strings on): `'` doubled.
#[must_use]
pub fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A SQL identifier: double-quoted, `"` doubled.
#[must_use]
pub fn sql_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A double-quoted string for nginx or keepalived configs: `\` and `"` escaped.
/// Callers must refuse values with control characters first.
#[must_use]
pub fn conf_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', r"\\").replace('"', "\\\""))
}

/// A double-quoted Redis config argument: Redis unescapes `\\`, `\"`, `\n`, `\r`, `\t`
/// and `\xHH` inside double quotes, so every other byte is written as itself or as `\xHH`.
#[must_use]
pub fn redis_string(s: &str) -> String {
    let mut out = String::from("\"");
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell() {
        assert_eq!(sh("/data"), "/data");
        assert_eq!(sh("a b"), "'a b'");
        assert_eq!(sh("it's"), r"'it'\''s'");
        assert_eq!(sh("$(touch /tmp/pwned)"), "'$(touch /tmp/pwned)'");
        assert_eq!(sh(""), "''");
    }

    #[test]
    fn sql() {
        assert_eq!(sql_literal("a'b"), "'a''b'");
        assert_eq!(sql_ident("x\"y"), "\"x\"\"y\"");
    }

    #[test]
    fn redis() {
        assert_eq!(redis_string("p\"a\\s\ns"), "\"p\\\"a\\\\s\\x0as\"");
        assert_eq!(redis_string("é"), "\"\\xc3\\xa9\"");
    }
}
