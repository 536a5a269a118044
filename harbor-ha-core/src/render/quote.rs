//! Quoting for every target language. Validation already refuses unsafe names and paths;
//! these functions make sure that no value, secret or not, can end a string and add a
//! command or a directive.

use std::fmt::Write as _;

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

/// `s` with every character that is not ASCII alphanumeric and not in `keep` replaced by `_`.
fn underscore_outside(s: &str, keep: &[char]) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || keep.contains(&c) { c } else { '_' }).collect()
}

/// A bare token for a config that has no quoting for it (keepalived's `router_id`,
/// `interface`, instance names): every character outside `[A-Za-z0-9_.:-]` becomes `_`, so
/// no value can end the line, open or close a block, start a comment or a `$` definition.
/// Validation only admits names of these characters, which pass unchanged.
#[must_use]
pub fn conf_word(s: &str) -> String {
    let w = underscore_outside(s, &['_', '.', ':', '-']);
    if w.is_empty() {
        "_".to_string()
    } else {
        w
    }
}

/// A value for inventory.ini. Ansible reads host lines with shlex and templates variable
/// values with Jinja2, and INI has no quoting for section names, so every character outside
/// `[A-Za-z0-9_.:/@+-]` becomes `_`: no value can add a variable (`ansible_ssh_common_args`),
/// a section, or a `{{ lookup('pipe', ...) }}`. Valid topologies only use these characters.
#[must_use]
pub fn ini_word(s: &str) -> String {
    underscore_outside(s, &['_', '.', ':', '/', '@', '+', '-'])
}

/// A whitespace-separated field of `/etc/fstab` or `/etc/exports`: every byte outside
/// `[A-Za-z0-9._/+,:=@[]-]` (brackets for an IPv6 server) is written as a backslash and three octal digits (`\040` for a
/// space), which fstab(5) and exports(5) decode. No value can add a field, an entry or a
/// comment (a space followed by `*(rw,no_root_squash)` would export to the world).
#[must_use]
pub fn octal_field(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'.' | b'_' | b'/' | b'+' | b',' | b':' | b'=' | b'@' | b'[' | b']' | b'-')
        {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "\\{b:03o}");
        }
    }
    out
}

/// A word in a systemd unit setting that unquotes its words (`RequiresMountsFor=`): as is
/// when it is plain `[A-Za-z0-9._/+-]`; otherwise double-quoted, with `\` and `"` escaped,
/// control characters as `\xNN`, and `%` doubled so that no specifier is expanded.
#[must_use]
pub fn systemd_word(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'+' | b'-')) {
        return s.to_string();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
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

/// A YAML double-quoted scalar: JSON's string syntax, which YAML reads the same way (every
/// control character escaped, so no value can end the line or open another key).
#[must_use]
pub fn yaml_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
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
    fn octal_fields_keep_one_field() {
        assert_eq!(octal_field("/srv/nfs/harbor"), "/srv/nfs/harbor");
        assert_eq!(octal_field("rw,vers=4.1,_netdev"), "rw,vers=4.1,_netdev");
        assert_eq!(octal_field("[2001:db8::5]:/data"), "[2001:db8::5]:/data");
        // A space would add a field (an export to the world); a newline an entry.
        assert_eq!(octal_field("/x *(rw,no_root_squash)"), "/x\\040\\052\\050rw,no_root_squash\\051");
        assert_eq!(octal_field("/a\nb#c\\"), "/a\\012b\\043c\\134");
        assert!(!octal_field("é \t$`").bytes().any(|b| b.is_ascii_whitespace() || b > 0x7f));
    }

    #[test]
    fn systemd_words_are_one_word_without_specifiers() {
        assert_eq!(systemd_word("/data"), "/data");
        assert_eq!(systemd_word("/data x"), "\"/data x\"");
        assert_eq!(systemd_word("/d%h\"\\"), "\"/d%%h\\\"\\\\\"");
        assert_eq!(systemd_word("/a\nExecStartPre=/bin/evil"), "\"/a\\x0aExecStartPre=/bin/evil\"");
    }

    #[test]
    fn conf_words_are_inert_tokens() {
        assert_eq!(conf_word("eth0"), "eth0");
        assert_eq!(conf_word("lb-1.site:x_y"), "lb-1.site:x_y");
        assert_eq!(conf_word("e\n notify_master /bin/evil"), "e__notify_master__bin_evil");
        assert_eq!(conf_word("x { $A } # !"), "x____A______");
        assert_eq!(conf_word(""), "_");
    }

    #[test]
    fn ini_words_add_no_variable_or_template() {
        assert_eq!(ini_word("https://harbor.example.org:8443"), "https://harbor.example.org:8443");
        assert_eq!(ini_word("h ansible_ssh_common_args=x"), "h_ansible_ssh_common_args_x");
        let w = ini_word("{{ lookup('pipe','id') }}");
        assert!(w.contains("lookup") && !w.contains(['{', '}', '\'', '(', ' ', ',']), "{w}");
    }

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
