//! Which collected files hold secrets, and how their secrets are hidden. The collector
//! (`collect.sh`, [`crate::render::collect`]) applies the same rules on each host, so that a
//! secret never leaves it:
//!
//! - [`FileClass::Opaque`]: keys, certificates and files that are mostly secret
//!   (`secretkey`, `private_key.pem`, `*.key`, `*.crt`, `redis.conf`, `sentinel.conf`,
//!   HAProxy's config with the Redis password, SQL with passwords, password files): only
//!   `<path>.sha256` is collected, the SHA-256 of the content.
//! - [`FileClass::Redacted`]: configs whose structure the audit reads (`harbor.yml`, the env
//!   files and configs of `common/config`, `app.conf`, `keepalived.conf` with its
//!   `auth_pass`, Patroni's config): the file is
//!   collected with each secret value replaced by `sha256:<hex>` (the SHA-256 of the value as
//!   written), plus `<path>.sha256` of the whole original file.
//! - [`FileClass::Plain`]: everything else, as it is.
//!
//! A rendered bundle's `hosts/` holds the same files in the clear; [`super::tree`] applies
//! these rules to it, so that the audit reads one representation and never a secret.
//! `tests/audit_collect.rs` holds these rules equal to the script's, byte for byte, and
//! every file a renderer declares secret ([`crate::render::HostOut::secret_file`]) to a
//! class other than plain.

use sha2::{Digest, Sha256};

/// How a collected file is represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileClass {
    /// Collected as it is.
    Plain,
    /// Collected with its secret values replaced by `sha256:<hex>`, plus `<path>.sha256`.
    Redacted,
    /// Only `<path>.sha256` is collected.
    Opaque,
}

/// The suffix of the file holding a collected file's digest.
pub const DIGEST_SUFFIX: &str = ".sha256";

/// The prefix of a redacted value.
pub const REDACTED_PREFIX: &str = "sha256:";

/// The class of the file at absolute path `path`.
#[must_use]
pub fn class(path: &str) -> FileClass {
    let base = path.rsplit('/').next().unwrap_or(path);
    let lower = base.to_ascii_lowercase();
    let opaque_names =
        ["secretkey", "defaultalias", "redis.conf", "sentinel.conf", "redis-sentinel.conf", "haproxy.cfg", "passwd"];
    let opaque_ext = [".pem", ".key", ".crt", ".p12", ".pfx", ".sql"];
    if opaque_names.contains(&lower.as_str())
        || opaque_ext.iter().any(|e| lower.ends_with(e))
        || lower.contains("password")
    {
        return FileClass::Opaque;
    }
    if lower == "harbor.yml"
        || lower == "env"
        || lower.ends_with(".env")
        || lower.ends_with("_env")
        || lower == "app.conf"
        || lower == "keepalived.conf"
        || ((path.contains("/common/config/") || path.starts_with("/etc/patroni/"))
            && (lower.ends_with(".yml") || lower.ends_with(".yaml")))
    {
        return FileClass::Redacted;
    }
    FileClass::Plain
}

/// The lowercase hexadecimal SHA-256 of `bytes`.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in d {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// How the lines of a redacted file are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// `key: value` (YAML).
    Yaml,
    /// `KEY=value` (env files).
    Env,
    /// `key = value` (`app.conf`).
    Ini,
    /// `key value` (`keepalived.conf`).
    Word,
}

fn dialect(path: &str) -> Dialect {
    let base = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if base == "app.conf" {
        Dialect::Ini
    } else if base == "keepalived.conf" {
        Dialect::Word
    } else if base.ends_with(".yml") || base.ends_with(".yaml") {
        Dialect::Yaml
    } else {
        Dialect::Env
    }
}

/// Whether a key names a secret: it contains `pass`, `secret`, `token`, `credential` or
/// `redis_url` (Harbor's Redis URLs carry the password), ends with `key`, or is
/// `accesskeyid` (compared without case).
#[must_use]
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["pass", "secret", "token", "credential", "redis_url"].iter().any(|w| k.contains(w))
        || k.ends_with("key")
        || k == "accesskeyid"
}

/// Whether a value is a URL with credentials (`scheme://user:pass@host`): it contains `://`
/// and, after it, `@`.
fn has_userinfo(value: &[u8]) -> bool {
    find(value, b"://").is_some_and(|i| value[i + 3..].contains(&b'@'))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether `value` is already `sha256:<64 lowercase hex>`.
fn is_redacted(value: &[u8]) -> bool {
    value.len() == REDACTED_PREFIX.len() + 64
        && value.starts_with(REDACTED_PREFIX.as_bytes())
        && value[REDACTED_PREFIX.len()..].iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// POSIX `[[:space:]]` in the C locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_key_byte(b: u8, extra: &[u8]) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || extra.contains(&b)
}

/// `(prefix, key, separator end, value)` of a line in `d`, when it has that shape; the
/// value starts with a non-space byte and runs to the end of the line.
fn split_line(line: &[u8], d: Dialect) -> Option<(usize, usize, usize)> {
    let mut i = 0;
    while i < line.len() && is_space(line[i]) {
        i += 1;
    }
    let prefix_end = i;
    if d == Dialect::Yaml {
        // An optional `- ` (a list item) before the key.
        if line.get(i) == Some(&b'-') && line.get(i + 1).is_some_and(|b| is_space(*b)) {
            let mut j = i + 1;
            while j < line.len() && is_space(line[j]) {
                j += 1;
            }
            if let Some(r) = key_value(line, j, d) {
                return Some((j, r.0, r.1));
            }
        }
    }
    let (key_end, value_start) = key_value(line, prefix_end, d)?;
    Some((prefix_end, key_end, value_start))
}

/// From `start`: the key's end and the value's start.
fn key_value(line: &[u8], start: usize, d: Dialect) -> Option<(usize, usize)> {
    let extra: &[u8] = if d == Dialect::Yaml { b".-" } else { b"" };
    let first_ok =
        |b: u8| if d == Dialect::Yaml { is_key_byte(b, extra) } else { b.is_ascii_alphabetic() || b == b'_' };
    if !line.get(start).is_some_and(|b| first_ok(*b)) {
        return None;
    }
    let mut i = start + 1;
    while i < line.len() && is_key_byte(line[i], extra) {
        i += 1;
    }
    let key_end = i;
    match d {
        Dialect::Yaml => {
            if line.get(i) != Some(&b':') {
                return None;
            }
            i += 1;
            let ws = i;
            while i < line.len() && is_space(line[i]) {
                i += 1;
            }
            if i == ws {
                return None;
            }
        }
        Dialect::Env => {
            if line.get(i) != Some(&b'=') {
                return None;
            }
            i += 1;
            // An empty value is kept: there is nothing to hide.
            if i == line.len() {
                return None;
            }
            return Some((key_end, i));
        }
        Dialect::Ini => {
            while i < line.len() && is_space(line[i]) {
                i += 1;
            }
            if line.get(i) != Some(&b'=') {
                return None;
            }
            i += 1;
            while i < line.len() && is_space(line[i]) {
                i += 1;
            }
        }
        Dialect::Word => {
            let ws = i;
            while i < line.len() && is_space(line[i]) {
                i += 1;
            }
            if i == ws {
                return None;
            }
        }
    }
    if i >= line.len() || is_space(line[i]) {
        return None;
    }
    Some((key_end, i))
}

/// One line with its secret value replaced, or `None` when it has none to hide.
fn redact_line(line: &[u8], d: Dialect) -> Option<Vec<u8>> {
    let first = line.iter().position(|b| !is_space(*b));
    if first.is_none_or(|i| line[i] == b'#') {
        return None;
    }
    let (prefix_end, key_end, value_start) = split_line(line, d)?;
    let key = &line[prefix_end..key_end];
    let value = &line[value_start..];
    if is_redacted(value) || !(is_secret_key(&String::from_utf8_lossy(key)) || has_userinfo(value)) {
        return None;
    }
    let sep: &[u8] = match d {
        Dialect::Yaml => b": ",
        Dialect::Env => b"=",
        Dialect::Ini => b" = ",
        Dialect::Word => b" ",
    };
    let mut out = line[..key_end].to_vec();
    out.extend_from_slice(sep);
    out.extend_from_slice(REDACTED_PREFIX.as_bytes());
    out.extend_from_slice(sha256_hex(value).as_bytes());
    Some(out)
}

/// `content` of the file at `path` with every secret value replaced by `sha256:<hex>`
/// (see the module documentation); lines without a secret, and the line ends, unchanged.
/// Redacting twice changes nothing.
#[must_use]
pub fn redact(path: &str, content: &[u8]) -> Vec<u8> {
    let d = dialect(path);
    let mut out = Vec::with_capacity(content.len());
    for line in content.split_inclusive(|b| *b == b'\n') {
        let (body, nl) = match line.strip_suffix(b"\n") {
            Some(b) => (b, true),
            None => (line, false),
        };
        match redact_line(body, d) {
            Some(r) => out.extend_from_slice(&r),
            None => out.extend_from_slice(body),
        }
        if nl {
            out.push(b'\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(path: &str, s: &str) -> String {
        String::from_utf8(redact(path, s.as_bytes())).unwrap()
    }

    #[test]
    fn classes() {
        assert_eq!(class("/data/secret/keys/secretkey"), FileClass::Opaque);
        assert_eq!(class("/data/secret/core/private_key.pem"), FileClass::Opaque);
        assert_eq!(class("/etc/nginx/ssl/h.key"), FileClass::Opaque);
        assert_eq!(class("/etc/redis/redis.conf"), FileClass::Opaque);
        assert_eq!(class("/etc/patroni/config.yml"), FileClass::Redacted);
        assert_eq!(class("/etc/harbor-ha/monitoring/redis-exporter-password.json"), FileClass::Opaque);
        assert_eq!(class("/usr/local/harbor/harbor.yml"), FileClass::Redacted);
        assert_eq!(class("/usr/local/harbor/common/config/core/env"), FileClass::Redacted);
        assert_eq!(class("/usr/local/harbor/common/config/registry/config.yml"), FileClass::Redacted);
        assert_eq!(class("/etc/harbor-ha/shared-secrets.env"), FileClass::Redacted);
        assert_eq!(class("/etc/keepalived/keepalived.conf"), FileClass::Redacted);
        assert_eq!(class("/etc/nginx/conf.d/harbor.conf"), FileClass::Plain);
        assert_eq!(class("/usr/local/harbor/docker-compose.yml"), FileClass::Plain);
        assert_eq!(class("/etc/fstab"), FileClass::Plain);
    }

    #[test]
    fn secret_values_become_digests() {
        let h = sha256_hex(b"root123");
        assert_eq!(
            r("/x/harbor.yml", "database:\n  password: root123\n  max_open_conns: 100\n"),
            format!("database:\n  password: sha256:{h}\n  max_open_conns: 100\n")
        );
        assert_eq!(
            r("/x/env", "CSRF_KEY=root123\nLOG_LEVEL=info\nEMPTY_SECRET="),
            format!("CSRF_KEY=sha256:{h}\nLOG_LEVEL=info\nEMPTY_SECRET=")
        );
        assert_eq!(
            r("/x/app.conf", "XSRFKey = root123\nhttpport = 8080\n"),
            format!("XSRFKey = sha256:{h}\nhttpport = 8080\n")
        );
        assert_eq!(
            r("/etc/keepalived/keepalived.conf", "  auth_pass root123\n  state MASTER\n"),
            format!("  auth_pass sha256:{h}\n  state MASTER\n")
        );
        // A URL with credentials, whatever its key.
        let u = sha256_hex(b"redis://anonymous:root123@redis:6379/1");
        assert_eq!(r("/x/env", "_REG=redis://anonymous:root123@redis:6379/1\n"), format!("_REG=sha256:{u}\n"));
        // List items, comments and keys without a value are left alone.
        let t = sha256_hex(b"tok");
        assert_eq!(
            r("/x/a.yml", "  - github_token: tok\n# password: x\nsecret:\n"),
            format!("  - github_token: sha256:{t}\n# password: x\nsecret:\n")
        );
    }

    #[test]
    fn redaction_is_idempotent() {
        let text = "password: root123\nCORE_SECRET=abc\n";
        for p in ["/x/harbor.yml", "/x/env"] {
            let once = redact(p, text.as_bytes());
            assert_eq!(redact(p, &once), once);
        }
    }
}
