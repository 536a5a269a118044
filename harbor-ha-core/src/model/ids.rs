//! String-like values, one newtype each, valid by construction: a host name is never passed
//! where a site name or a path is expected, and no value that reaches a generated file can
//! hold what its rule refuses.
//!
//! Each type's only public constructor is `parse`, and `parse` *is* the rule's predicate
//! (validation reports the rule code; see [`crate::diag::RuleCode::owner`]). The raw model
//! ([`super::spec`]) holds plain strings; validation turns them into these types, so a
//! [`super::resolved::ValidTopology`] holds nothing else.
//!
//! `stand_in` is validation's placeholder for a value it has just reported as an error, so
//! that the other rules still run; a topology holding one is never handed out as valid.

use std::fmt::{self, Write as _};

use serde::{Serialize, Serializer};

/// Why a value does not parse: the kind of value that was expected. Never holds the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {0}")]
pub struct Invalid(pub &'static str);

/// A checked value as validation sees it: its predicate, and its placeholder for a value
/// validation has reported.
pub(crate) trait Checked: Sized {
    /// The value, when it is valid.
    fn parse(s: &str) -> Result<Self, Invalid>;
    /// The placeholder.
    fn stand_in(s: &str) -> Self;
}

/// Write `s` with its control characters escaped, so that it stays on one line.
pub(crate) fn write_one_line(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
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

macro_rules! valid_string {
    ($(#[$m:meta])* $name:ident, $what:literal, $pred:path) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The value, when it is valid (the rule's predicate).
            ///
            /// # Errors
            /// [`Invalid`] naming the kind of value, never the value.
            pub fn parse(s: &str) -> Result<Self, Invalid> {
                if $pred(s) {
                    Ok($name(s.to_string()))
                } else {
                    Err(Invalid($what))
                }
            }

            /// Validation's placeholder for a value it has reported as an error.
            #[allow(dead_code, reason = "not every type needs a placeholder")]
            pub(crate) fn stand_in(s: &str) -> Self {
                $name(s.to_string())
            }

            /// A value the code itself supplies (a default), which satisfies the predicate.
            #[allow(dead_code, reason = "not every type has a default")]
            pub(crate) fn known(s: &'static str) -> Self {
                debug_assert!($pred(s), "default {s:?} is not a valid {}", $what);
                $name(s.to_string())
            }

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

        impl Checked for $name {
            fn parse(s: &str) -> Result<Self, Invalid> {
                $name::parse(s)
            }

            fn stand_in(s: &str) -> Self {
                $name::stand_in(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

valid_string!(
    /// A site's name: `[a-z0-9-]+`, 1–63 characters (HA002).
    SiteName,
    "site name",
    is_valid_name
);
valid_string!(
    /// A host's inventory name: `[a-z0-9-]+` (HA002); each host gets `hosts/<name>/`.
    HostName,
    "host name",
    is_valid_name
);
valid_string!(
    /// An absolute filesystem path on a target host (IN001).
    HostPath,
    "absolute path",
    is_safe_path
);
valid_string!(
    /// A DNS name (or address) that clients or Harbor use to reach a service (IN002).
    DnsName,
    "host name or address",
    is_valid_dns_name
);
valid_string!(
    /// A network interface name on a host, keepalived's VRRP interface (IN002).
    InterfaceName,
    "interface name",
    is_valid_interface
);
valid_string!(
    /// A PostgreSQL role or database name that needs no quoting (IN003).
    SqlIdent,
    "SQL identifier",
    is_plain_sql_ident
);
valid_string!(
    /// Free text that reaches generated YAML, JSON, shell or config files: no quotes,
    /// backslashes, backticks or control characters (IN003).
    Text,
    "plain text value",
    is_safe_text
);
valid_string!(
    /// The name of an environment variable that holds a secret (IN003).
    EnvName,
    "environment variable name",
    is_env_name
);
valid_string!(
    /// NFS mount options: a comma-separated list of `[A-Za-z0-9=_.-]` (IN003).
    MountOptions,
    "list of mount options",
    is_mount_options
);
valid_string!(
    /// The master set of a Redis cluster the bundle installs: written bare into
    /// sentinel.conf and the install scripts, so `[A-Za-z0-9._-]`, at most 64 (IN003).
    MasterName,
    "master set name",
    is_master_name
);
valid_string!(
    /// A Redis Sentinel endpoint, `host:port` (IN002).
    SentinelAddr,
    "Sentinel address",
    is_sentinel_addr
);
valid_string!(
    /// A replication filter Harbor accepts: a doublestar pattern (RP006).
    Pattern,
    "replication filter",
    filter_ok
);
valid_string!(
    /// Harbor's 6-field cron, `sec min hour dom month dow` (RP005).
    CronExpr,
    "Harbor cron expression",
    cron_ok
);

valid_string!(
    /// Where the site's Prometheus server is: an inventory host's name or an IP address
    /// (MN001). A DNS name is not enough: the firewall opens the metrics ports to an address.
    HostOrAddress,
    "inventory host name or IP address",
    is_host_or_address
);
valid_string!(
    /// A Prometheus duration such as `30s`, `1m` or `1m30s`: units `ms`, `s`, `m`, `h`, at
    /// least one second, at most a day (IN003).
    PromDuration,
    "Prometheus duration",
    is_prom_duration
);
valid_string!(
    /// A Prometheus label name added to every alert: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting
    /// with `__`, and not one of the labels the rules set themselves (IN003).
    AlertLabelName,
    "alert label name",
    is_alert_label_name
);

/// What a backup target names (`backup.target`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// An absolute path on the site's backup host.
    Path,
    /// A restic repository over SFTP: `sftp://[user@]host[:port]/path` (`//path` for an
    /// absolute path, as restic writes it).
    Sftp,
    /// A restic REST server: `rest:http(s)://host[:port]/path`.
    Rest,
    /// A restic repository in an S3 bucket: `s3:http(s)://host[:port]/bucket[/prefix]`.
    S3,
    /// An rsync daemon's module: `rsync://[user@]host[:port]/module[/path]`.
    RsyncDaemon,
    /// rsync over ssh: `ssh://[user@]host[:port]/absolute/path`.
    Ssh,
}

/// Where a site's backups go (BK003): an absolute path on the backup host, or a URL whose
/// scheme names the kind ([`TargetKind`]). Only `[A-Za-z0-9._/:@+[]-]`, no credentials, query
/// or fragment, no `.` or `..` component: the text is passed to restic or rsync as it is.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BackupTarget {
    text: String,
    kind: TargetKind,
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    path: String,
}

impl BackupTarget {
    /// The target, when it is one (BK003's predicate).
    ///
    /// # Errors
    /// [`Invalid`] naming the kind of value, never the value.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        parse_target(s).ok_or(Invalid("backup target"))
    }

    /// Validation's placeholder for a target it has reported.
    pub(crate) fn stand_in(s: &str) -> Self {
        BackupTarget { text: s.to_string(), kind: TargetKind::Path, host: None, port: None, user: None, path: s.into() }
    }

    /// The text as written (what restic or rsync is given).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What it names.
    #[must_use]
    pub fn kind(&self) -> TargetKind {
        self.kind
    }

    /// The server's name or address (IPv6 without brackets), for a URL.
    #[must_use]
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The port, when the URL gives one.
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The user, when the URL gives one.
    #[must_use]
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The path: the whole target for [`TargetKind::Path`]; the URL's path otherwise (with
    /// one leading `/` dropped from restic's `//absolute` form, and `/bucket/prefix` for S3).
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The bucket of an S3 target.
    #[must_use]
    pub fn bucket(&self) -> Option<&str> {
        (self.kind == TargetKind::S3).then(|| self.path.trim_start_matches('/').split('/').next().unwrap_or(""))
    }
}

impl fmt::Display for BackupTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_one_line(f, &self.text)
    }
}

impl Checked for BackupTarget {
    fn parse(s: &str) -> Result<Self, Invalid> {
        BackupTarget::parse(s)
    }

    fn stand_in(s: &str) -> Self {
        BackupTarget::stand_in(s)
    }
}

/// [`BackupTarget::parse`].
fn parse_target(s: &str) -> Option<BackupTarget> {
    let plain = |c: u8| c.is_ascii_alphanumeric() || b"._/:@+[]-".contains(&c);
    if s.is_empty() || s.len() > 512 || !s.bytes().all(plain) {
        return None;
    }
    if s.starts_with('/') {
        let t =
            BackupTarget { text: s.into(), kind: TargetKind::Path, host: None, port: None, user: None, path: s.into() };
        return (is_safe_path(s) && s != "/").then_some(t);
    }
    let (kind, url_text) = if let Some(r) = s.strip_prefix("rest:") {
        (TargetKind::Rest, r)
    } else if let Some(r) = s.strip_prefix("s3:") {
        (TargetKind::S3, r)
    } else {
        let kind = match s.split_once("://")?.0 {
            "sftp" => TargetKind::Sftp,
            "rsync" => TargetKind::RsyncDaemon,
            "ssh" => TargetKind::Ssh,
            _ => return None,
        };
        (kind, s)
    };
    let u = url::Url::parse(url_text).ok()?;
    let web = matches!(kind, TargetKind::Rest | TargetKind::S3);
    if web != matches!(u.scheme(), "http" | "https") || u.password().is_some() || u.query().is_some() {
        return None;
    }
    if u.fragment().is_some() || (web && !u.username().is_empty()) {
        return None;
    }
    let host = match u.host()? {
        url::Host::Domain(d) if is_valid_dns_name(d) => d.to_string(),
        url::Host::Domain(_) => return None,
        url::Host::Ipv4(a) => a.to_string(),
        url::Host::Ipv6(a) => a.to_string(),
    };
    let user = Some(u.username()).filter(|n| !n.is_empty()).map(str::to_string);
    if !user.as_deref().is_none_or(is_valid_user) {
        return None;
    }
    // The URL's own path (`url` would resolve `..` away: check the text as written).
    let after_scheme = url_text.split_once("://")?.1;
    let raw_path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    let path = match kind {
        TargetKind::Sftp => raw_path.strip_prefix("//").map(|p| format!("/{p}")).unwrap_or_else(|| raw_path.into()),
        _ => raw_path.to_string(),
    };
    let segments_ok = path.split('/').skip(1).all(|c| !c.is_empty() && c != "." && c != "..");
    let shape_ok = match kind {
        TargetKind::Rest => path.is_empty() || path == "/" || segments_ok,
        TargetKind::S3 => segments_ok && path.split('/').nth(1).is_some_and(is_bucket_name),
        TargetKind::RsyncDaemon | TargetKind::Sftp | TargetKind::Ssh => segments_ok && path.len() > 1,
        TargetKind::Path => false,
    };
    shape_ok.then(|| BackupTarget { text: s.into(), kind, host: Some(host), port: u.port(), user, path })
}

/// A user name in a backup target URL: `[a-z_][a-z0-9_.-]*`, at most 32.
fn is_valid_user(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_lowercase() || c == b'_')
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_.-".contains(&c))
        && s.len() <= 32
}

/// An S3 bucket name: 3-63 of `[a-z0-9.-]`, starting and ending with a letter or digit.
fn is_bucket_name(s: &str) -> bool {
    (3..=63).contains(&s.len())
        && s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Whether `s` names an inventory host (`[a-z0-9-]+`) or is an IP address.
#[must_use]
pub fn is_host_or_address(s: &str) -> bool {
    is_valid_name(s) || s.parse::<std::net::IpAddr>().is_ok()
}

/// The value of a Prometheus duration in milliseconds, when `s` is one: one or more
/// `<digits><unit>` with units `ms`, `s`, `m`, `h`, in decreasing order, each once.
#[must_use]
pub fn prom_duration_ms(s: &str) -> Option<u64> {
    const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    let (mut rest, mut total, mut last) = (s, 0u64, None::<usize>);
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        // `ms` before `m`, so that `5ms` is not read as five minutes and an `s`.
        let (i, (unit, scale)) = UNITS.iter().enumerate().rev().find(|(_, (u, _))| rest.starts_with(u))?;
        let ok_order = last.is_none_or(|l| i > l);
        if !ok_order {
            return None;
        }
        last = Some(i);
        rest = &rest[unit.len()..];
        total = total.checked_add(n.checked_mul(*scale)?)?;
    }
    Some(total)
}

/// A Prometheus duration of at least one second and at most a day.
#[must_use]
pub fn is_prom_duration(s: &str) -> bool {
    prom_duration_ms(s).is_some_and(|ms| (1_000..=86_400_000).contains(&ms))
}

/// The labels the generated alert rules set themselves; `alert_labels` may not replace them.
pub const RESERVED_ALERT_LABELS: [&str; 4] = ["alertname", "site", "severity", "host"];

/// A Prometheus label name that `alert_labels` may add.
#[must_use]
pub fn is_alert_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && !s.starts_with("__")
        && s.len() <= 63
        && !RESERVED_ALERT_LABELS.contains(&s)
}

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

/// Free text that ends up inside generated YAML, JSON, shell or config files.
#[must_use]
pub fn is_safe_text(s: &str) -> bool {
    !s.is_empty() && s.len() <= 1024 && !s.chars().any(|c| c.is_control() || matches!(c, '"' | '\'' | '`' | '\\'))
}

/// An environment variable name: `[A-Za-z0-9_]+`.
#[must_use]
pub fn is_env_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// NFS mount options: a non-empty comma-separated list of `[A-Za-z0-9=_.-]`.
#[must_use]
pub fn is_mount_options(o: &str) -> bool {
    !o.is_empty() && o.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b',' | b'=' | b'_' | b'.' | b'-'))
}

/// A plain Redis master set name: `[A-Za-z0-9._-]`, 1–64.
#[must_use]
pub fn is_master_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Whether `h` is a Sentinel address, `host:port`.
#[must_use]
pub fn is_sentinel_addr(h: &str) -> bool {
    h.rsplit_once(':').is_some_and(|(host, port)| is_valid_dns_name(host) && port.parse::<u16>().is_ok_and(|p| p > 0))
}

/// A doublestar pattern Harbor accepts: not empty, no whitespace or control characters,
/// balanced `{}` and `[]`.
#[must_use]
pub fn filter_ok(p: &str) -> bool {
    if p.is_empty()
        || p.len() > 255
        || p.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '`' | '\\' | '$' | ';'))
    {
        return false;
    }
    let (mut brace, mut bracket) = (0i32, 0i32);
    for c in p.chars() {
        match c {
            '{' => brace += 1,
            '}' => brace -= 1,
            '[' => bracket += 1,
            ']' => bracket -= 1,
            _ => {}
        }
        if brace < 0 || !(0..=1).contains(&bracket) {
            return false;
        }
    }
    brace == 0 && bracket == 0
}

/// Harbor's cron: `sec min hour dom month dow`, as robfig/cron v3's parser with the six
/// fields Harbor configures (`Second | Minute | Hour | Dom | Month | Dow`, no descriptors)
/// accepts it.
///
/// The fields are parsed by the `croner` crate (ranges, steps, lists, month and day names,
/// `?`); what robfig refuses and croner would take is refused first: anything but six
/// fields, the `L`, `W` and `#` extensions, `@` descriptors, and day of week 7 (robfig's
/// day of week is 0-6).
#[must_use]
pub fn cron_ok(expr: &str) -> bool {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 6 || expr.len() > 255 {
        return false;
    }
    // robfig's characters: digits, names, `* / , - ?` (no L, W, #, @).
    let names_ok =
        |f: &str| f.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| !w.is_empty()).all(|w| w.len() == 3);
    if !fields.iter().all(|f| {
        f.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'/' | b',' | b'-' | b'?')) && names_ok(f)
    }) {
        return false;
    }
    // Day of week 7 (croner's Sunday alias) is out of robfig's range 0-6; a step is not a day.
    let dow_seven = fields[5].split(',').any(|part| {
        let range = part.split('/').next().unwrap_or(part);
        range.split('-').any(|d| d.parse::<u32>().is_ok_and(|n| n > 6))
    });
    if dow_seven {
        return false;
    }
    croner::parser::CronParser::builder().seconds(croner::parser::Seconds::Required).build().parse(expr).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_never_breaks_a_line() {
        assert_eq!(HostName::parse("harbor-1").unwrap().to_string(), "harbor-1");
        assert_eq!(SiteName::stand_in("a\nrm -rf /\r").to_string(), "a\\nrm -rf /\\r");
        assert_eq!(HostPath::stand_in("/x\u{1b}[2J").to_string(), "/x\\u{1b}[2J");
        // The exact text stays available for quoted contexts.
        assert_eq!(SiteName::stand_in("a\nb").as_str(), "a\nb");
        assert_eq!(HostPath::stand_in("tab\there").to_string(), "tab\\there");
    }

    #[test]
    fn parse_is_the_predicate() {
        assert!(SiteName::parse("branch-1").is_ok());
        assert_eq!(SiteName::parse("Branch 1"), Err(Invalid("site name")));
        assert!(HostPath::parse("/data").is_ok());
        assert_eq!(HostPath::parse("/data;rm"), Err(Invalid("absolute path")));
        assert!(Text::parse("us-east-1").is_ok());
        assert!(Text::parse("it's").is_err());
        assert!(EnvName::parse("HARBOR_DB_PASSWORD").is_ok());
        assert!(EnvName::parse("A-B").is_err());
        assert!(CronExpr::parse("0 0 * * * *").is_ok());
        assert!(Pattern::parse("library/**").is_ok());
        // The error never holds the value.
        assert_eq!(Invalid("absolute path").to_string(), "not a valid absolute path");
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

    #[test]
    fn cron() {
        assert!(cron_ok("0 0 * * * *"));
        assert!(cron_ok("0 */15 * * * *"));
        assert!(cron_ok("0 0 2 * * MON-FRI"));
        assert!(!cron_ok("0 * * * *"));
        assert!(!cron_ok("0 0 25 * * *"));
        assert!(!cron_ok("0 0 * * * * ; rm"));
        // robfig/cron v3 (Harbor's parser) refuses these; a hand-written check took them.
        assert!(!cron_ok("0 0 * * * FOO"));
        assert!(!cron_ok("0 99/5 * * * *"));
        assert!(!cron_ok("0 0 0 L * *"));
        assert!(!cron_ok("0 0 0 * * MON#1"));
        assert!(!cron_ok("0 0 0 15W * *"));
        assert!(!cron_ok("0 0 0 * * 7"));
        assert!(!cron_ok("0 0 0 * * 1-7"));
        assert!(!cron_ok("@daily"));
        assert!(!cron_ok("0 0 0 * * * 2030"));
        assert!(!cron_ok("0 5-1 * * * *"));
        assert!(!cron_ok("0 0 0 */0 * *"));
        // and accepts these.
        assert!(cron_ok("0 30 1 * * 0"));
        assert!(cron_ok("0 0 0 ? * SUN"));
        assert!(cron_ok("0 0 0 1 JAN *"));
        assert!(cron_ok("0 0 0 1-15/2 * *"));
        assert!(cron_ok("0 0 0 * * 0-6"));
        assert!(cron_ok("0 0 3 * * sat"));
    }

    #[test]
    fn backup_targets() {
        let t = |s: &str| BackupTarget::parse(s).unwrap();
        let p = t("/srv/harbor-backup");
        assert_eq!((p.kind(), p.path(), p.host()), (TargetKind::Path, "/srv/harbor-backup", None));
        let sftp = t("sftp://backup@10.0.0.9:2222//srv/restic/harbor");
        assert_eq!(
            (sftp.kind(), sftp.host(), sftp.port(), sftp.user()),
            (TargetKind::Sftp, Some("10.0.0.9"), Some(2222), Some("backup"))
        );
        assert_eq!(sftp.path(), "/srv/restic/harbor");
        assert_eq!(t("sftp://backup.example.com/restic").path(), "/restic");
        let rest = t("rest:https://backup.example.com:8000/harbor");
        assert_eq!((rest.kind(), rest.host(), rest.path()), (TargetKind::Rest, Some("backup.example.com"), "/harbor"));
        let s3 = t("s3:https://s3.example.com/harbor-backups/prod");
        assert_eq!((s3.kind(), s3.bucket()), (TargetKind::S3, Some("harbor-backups")));
        assert_eq!(t("rsync://backup.example.com/harbor/prod").kind(), TargetKind::RsyncDaemon);
        let ssh = t("ssh://root@[2001:db8::9]/srv/backup");
        assert_eq!((ssh.kind(), ssh.host(), ssh.path()), (TargetKind::Ssh, Some("2001:db8::9"), "/srv/backup"));
        for bad in [
            "",
            "/",
            "srv/backup",
            "/srv/../etc",
            "/srv/backup;rm",
            "/srv/back up",
            "ftp://host/x",
            "sftp://host",
            "sftp://host/",
            "sftp://u:pw@host/x",
            "sftp://host/a/../b",
            "sftp://Bad_User@host/x",
            "rest:ftp://host/x",
            "rest:https://u@host/x",
            "s3:https://host/",
            "s3:https://host/Bad_Bucket",
            "rsync://host",
            "ssh://host/x?y=1",
            "sftp://host/x#f",
            "sftp://ho$t/x",
            "sftp://host/x\n",
            "sftp://a..b/x",
        ] {
            assert!(BackupTarget::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn monitoring_values() {
        assert!(is_host_or_address("prom-1") && is_host_or_address("10.0.0.5") && is_host_or_address("2001:db8::9"));
        assert!(!is_host_or_address("prom.example.com") && !is_host_or_address("a b"));
        assert_eq!(prom_duration_ms("1m30s"), Some(90_000));
        assert_eq!(prom_duration_ms("500ms"), Some(500));
        assert_eq!(prom_duration_ms("2h"), Some(7_200_000));
        for bad in ["", "30", "s", "1s1m", "1m1m", "1.5s", "-1s", "1d", "30s\n"] {
            assert_eq!(prom_duration_ms(bad), None, "{bad}");
        }
        assert!(is_prom_duration("15s") && !is_prom_duration("500ms") && !is_prom_duration("25h"));
        assert!(is_alert_label_name("team") && is_alert_label_name("_x1"));
        for bad in ["", "1a", "a-b", "__name__", "site", "severity", "alertname", "host"] {
            assert!(!is_alert_label_name(bad), "{bad}");
        }
    }

    #[test]
    fn filters() {
        assert!(filter_ok("library/**"));
        assert!(filter_ok("v{1,2}.*"));
        assert!(!filter_ok("library/{a"));
        assert!(!filter_ok("a b"));
        assert!(!filter_ok(""));
    }
}
