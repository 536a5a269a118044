//! IN001–IN003: every string that reaches a generated file is parsed into its checked type
//! here ([`crate::model::ids`]); a value that does not parse is reported and replaced by a
//! stand-in, so that the other rules still run.

use super::Ctx;
use crate::diag::RuleCode;
use crate::model::ids::{
    AlertLabelName, DnsName, EnvName, HostName, HostPath, InterfaceName, MasterName, MountOptions, PromDuration,
    SentinelAddr, SqlIdent, Text, RESERVED_ALERT_LABELS,
};
use crate::model::secret::{Secret, SecretSpec};
use crate::model::spec::Raw;

/// IN001: an absolute path of `[A-Za-z0-9._/+-]` without `..`.
pub(super) fn path(ctx: &mut Ctx, path: &str, raw: &Raw<HostPath>) -> HostPath {
    ctx.checked::<HostPath>(raw.as_str(), |ctx| {
        ctx.emit(
            RuleCode::IN001,
            path,
            format!("`{path}` is not a safe absolute path"),
            "use an absolute path of [A-Za-z0-9._/+-] without `..`, e.g. /data/harbor",
        );
    })
}

/// IN002: a DNS name or an address.
pub(super) fn dns(ctx: &mut Ctx, path: &str, raw: &str) -> DnsName {
    ctx.checked::<DnsName>(raw, |ctx| {
        ctx.emit(
            RuleCode::IN002,
            path,
            format!("`{path}` is not a valid host name or address"),
            "use a DNS name of letters, digits, `-` and `.` (RFC 1123), or an IP address",
        );
    })
}

/// IN002: a Linux interface name.
pub(super) fn interface(ctx: &mut Ctx, path: &str, host: &HostName, raw: &Raw<InterfaceName>) -> InterfaceName {
    ctx.checked::<InterfaceName>(raw.as_str(), |ctx| {
        ctx.emit(
            RuleCode::IN002,
            path,
            format!("host `{host}`: `interface` is not a valid interface name"),
            "use the Linux interface name, 1-15 of [A-Za-z0-9._-], e.g. eth0",
        );
    })
}

/// IN002: a Sentinel endpoint, `host:port`.
pub(super) fn sentinel_addr(ctx: &mut Ctx, path: &str, raw: &str) -> SentinelAddr {
    ctx.checked::<SentinelAddr>(raw, |ctx| {
        ctx.emit(
            RuleCode::IN002,
            path,
            format!("sentinel `{}` is not host:port", raw.escape_debug()),
            "write each sentinel as host:port, e.g. 10.0.0.5:26379",
        );
    })
}

/// IN003: free text without quotes, backslashes, backticks or control characters.
pub(super) fn text(ctx: &mut Ctx, path: &str, raw: &str) -> Text {
    ctx.checked::<Text>(raw, |ctx| {
        ctx.emit(
            RuleCode::IN003,
            path,
            format!("`{path}` is empty or contains quotes, control characters or shell/config metacharacters"),
            "use plain text: letters, digits and ordinary punctuation such as - _ . / : @",
        );
    })
}

/// [`text`] of an optional value.
pub(super) fn opt_text(ctx: &mut Ctx, path: &str, raw: Option<&String>) -> Option<Text> {
    raw.map(|v| text(ctx, path, v))
}

/// IN003: the master set name of a Redis cluster the bundle installs. `None` (the default
/// name) when absent or refused.
pub(super) fn master_set_name(ctx: &mut Ctx, path: &str, raw: Option<&String>) -> Option<MasterName> {
    let v = raw?;
    MasterName::parse(v)
        .map_err(|_| {
            ctx.emit(
                RuleCode::IN003,
                path,
                format!("master set name `{}` is not plain", v.escape_debug()),
                "use letters, digits, `.`, `_` and `-` (at most 64), e.g. harbor",
            );
        })
        .ok()
}

/// IN003: a SQL identifier that needs no quoting (`database.<key>`).
pub(super) fn sql_ident(ctx: &mut Ctx, path: &str, key: &str, raw: &Raw<SqlIdent>) -> SqlIdent {
    ctx.checked::<SqlIdent>(raw.as_str(), |ctx| {
        ctx.emit(
            RuleCode::IN003,
            path,
            format!("`database.{key}` must be a plain SQL identifier"),
            "use lowercase letters, digits and `_`, starting with a letter (at most 63)",
        );
    })
}

/// IN003: NFS mount options.
pub(super) fn mount_options(ctx: &mut Ctx, path: &str, raw: &str) -> MountOptions {
    ctx.checked::<MountOptions>(raw, |ctx| {
        ctx.emit(
            RuleCode::IN003,
            path,
            "`storage.nfs.options` must be a comma-separated list of mount options",
            "use e.g. hard,nfsvers=4.1,_netdev (letters, digits and , = _ . - only)",
        );
    })
}

/// IN003: a Prometheus duration (`monitoring.scrape_interval`).
pub(super) fn duration(ctx: &mut Ctx, path: &str, raw: &Raw<PromDuration>) -> PromDuration {
    ctx.checked::<PromDuration>(raw.as_str(), |ctx| {
        ctx.emit(
            RuleCode::IN003,
            path,
            format!("`{path}` is not a Prometheus duration between 1s and 24h"),
            "write a number and a unit, e.g. 15s, 30s or 1m",
        );
    })
}

/// IN003: the name of a label added to every alert (`monitoring.alert_labels`).
pub(super) fn alert_label_name(ctx: &mut Ctx, path: &str, raw: &Raw<AlertLabelName>) -> AlertLabelName {
    ctx.checked::<AlertLabelName>(raw.as_str(), |ctx| {
        ctx.emit(
            RuleCode::IN003,
            path,
            format!("`{raw}` in `{path}` is not a label name the alerts can carry"),
            format!(
                "use [a-zA-Z_][a-zA-Z0-9_]*, not starting with __, and none of {} (the rules set those)",
                RESERVED_ALERT_LABELS.join(", ")
            ),
        );
    })
}

/// IN003: the variable name of an `{env: NAME}` secret.
pub(super) fn check_env_name(ctx: &mut Ctx, path: &str, env: &str) {
    if EnvName::parse(env).is_err() {
        ctx.emit(
            RuleCode::IN003,
            path,
            format!("`{path}`: `{}` is not an environment variable name", env.escape_debug()),
            "use letters, digits and `_`, e.g. HARBOR_DB_PASSWORD",
        );
    }
}

/// The checked form of a secret reference. A bad variable name is reported by
/// [`check_env_name`], which `rules::secrets` runs on every secret of the file (also those
/// of a storage backend no site resolves).
pub(super) fn secret(raw: &SecretSpec) -> Secret {
    match raw {
        SecretSpec::Env { env } => Secret::Env { env: EnvName::parse(env).unwrap_or_else(|_| EnvName::stand_in(env)) },
        SecretSpec::File { file } => Secret::File { file: file.clone() },
        SecretSpec::Literal(v) => Secret::Literal(v.clone()),
    }
}
