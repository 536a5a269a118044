//! String-like identifiers, one newtype each, so that a host name is never passed where a
//! site name or a path is expected.
//!
//! The newtypes carry the text as written. Whether it is acceptable is decided by
//! validation, which reports every offender with a rule code; rendering only ever sees
//! values that validation accepted.

use std::fmt::{self, Write as _};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Write `s` with its control characters escaped, so that it stays on one line.
fn write_one_line(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    if !s.chars().any(char::is_control) {
        return f.write_str(s);
    }
    for c in s.chars() {
        if c.is_control() {
            write!(f, "{}", c.escape_default())?;
        } else {
            f.write_char(c)?;
        }
    }
    Ok(())
}

macro_rules! id_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(transparent)]
        #[schemars(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The text as written.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// For messages and comments: control characters are shown escaped (`\n`, `\u{1b}`),
        /// so the text never breaks a line or a comment. Quoted contexts use [`Self::as_str`].
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_one_line(f, &self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }
    };
}

id_newtype!(
    /// A site's name: `[a-z0-9-]+`, unique in the file.
    SiteName
);
id_newtype!(
    /// A host's inventory name: `[a-z0-9-]+`, unique in the whole file (each host gets `hosts/<name>/`).
    HostName
);
id_newtype!(
    /// An absolute filesystem path on a target host.
    HostPath
);
id_newtype!(
    /// A DNS name (or address) that clients or Harbor use to reach a service.
    DnsName
);
id_newtype!(
    /// A network interface name on a host (keepalived's VRRP interface).
    InterfaceName
);
id_newtype!(
    /// A PostgreSQL role or database name.
    SqlIdent
);

/// Whether `s` is a valid site or host name: `[a-z0-9-]+`, 1–63 characters, not starting
/// or ending with `-`.
#[must_use]
pub fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Whether `s` is a safe absolute path: starts with `/`, only `[A-Za-z0-9._/+-]`, no `..`
/// component, no `//`, at most 255 bytes.
#[must_use]
pub fn is_safe_path(s: &str) -> bool {
    s.starts_with('/')
        && s.len() <= 255
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-' | b'+'))
        && !s.split('/').any(|c| c == ".." || c == ".")
        && !s.contains("//")
}

/// Whether `s` is a valid DNS host name (RFC 1123 labels) or an IP address.
#[must_use]
pub fn is_valid_dns_name(s: &str) -> bool {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Whether `s` is a valid Linux interface name (1–15 of `[A-Za-z0-9._-]`).
#[must_use]
pub fn is_valid_interface(s: &str) -> bool {
    !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Whether `s` is a plain SQL identifier that needs no quoting: `[a-z_][a-z0-9_]*`, ≤ 63.
#[must_use]
pub fn is_plain_sql_ident(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && s.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_never_breaks_a_line() {
        assert_eq!(HostName::from("harbor-1").to_string(), "harbor-1");
        assert_eq!(SiteName::from("a\nrm -rf /\r").to_string(), "a\\nrm -rf /\\r");
        assert_eq!(HostPath::from("/x\u{1b}[2J").to_string(), "/x\\u{1b}[2J");
        // The exact text stays available for quoted contexts.
        assert_eq!(SiteName::from("a\nb").as_str(), "a\nb");
        assert_eq!(HostPath::from("tab\there").to_string(), "tab\\there");
    }

    #[test]
    fn names() {
        assert!(is_valid_name("harbor-1"));
        assert!(!is_valid_name("Harbor"));
        assert!(!is_valid_name("a;b"));
        assert!(!is_valid_name("-a"));
        assert!(!is_valid_name(""));
    }

    #[test]
    fn paths() {
        assert!(is_safe_path("/data/harbor_data"));
        assert!(!is_safe_path("data"));
        assert!(!is_safe_path("/data/../etc"));
        assert!(!is_safe_path("/data; rm -rf /"));
        assert!(!is_safe_path("/$(touch /tmp/pwned)"));
        assert!(!is_safe_path("/a\nb"));
    }

    #[test]
    fn dns() {
        assert!(is_valid_dns_name("harbor.example.com"));
        assert!(is_valid_dns_name("192.168.1.1"));
        assert!(!is_valid_dns_name("x; include /etc/passwd"));
        assert!(!is_valid_dns_name("a..b"));
    }
}
