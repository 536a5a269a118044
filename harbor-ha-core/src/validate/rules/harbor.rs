//! HB001–HB005: the Harbor version and its components (and Notary's need for https), the
//! admin password, and `external_url`.

use url::Url;

use super::{hp, sp};
use crate::diag::{Diagnostic, RuleCode};
use crate::model::enums::Component;
use crate::model::ids::is_valid_dns_name;
use crate::model::resolved::Site;
use crate::model::secret::Secret;
use crate::model::spec::SiteSpec;
use crate::model::version::Version;
use crate::validate::Ctx;

/// Oldest and newest supported Harbor minors.
pub(crate) fn harbor_version_supported(v: Version) -> bool {
    (v.major == 1 && v.minor == 10) || (v.major == 2 && v.minor <= 15)
}

/// Stand-ins for a site whose Harbor version is unusable: every supported minor release, at
/// patch 0 and at a late patch (a few rules depend on the patch).
pub(crate) fn supported_stand_ins() -> Vec<Version> {
    let mut out = Vec::new();
    for major in 1..=2 {
        for minor in 0..=99 {
            for patch in [0, 99] {
                let v = Version { major, minor, patch: Some(patch) };
                if harbor_version_supported(v) {
                    out.push(v);
                }
            }
        }
    }
    out
}

/// HB001: the site's Harbor release, when it is one the product supports.
pub(in crate::validate) fn version(ctx: &mut Ctx, sp: &str, s: &SiteSpec) -> Option<Version> {
    match s.harbor.version.0.parse::<Version>() {
        Ok(v) if harbor_version_supported(v) => Some(v),
        Ok(v) => {
            ctx.emit(
                RuleCode::HB001,
                format!("{sp}.harbor.version"),
                format!("site `{}`: Harbor {v} is not supported", s.name),
                "use Harbor 1.10.x or 2.0 through 2.15 (until then, the site's rules that depend on the release are not checked)",
            );
            None
        }
        Err(_) => {
            ctx.emit(
                RuleCode::HB001,
                format!("{sp}.harbor.version"),
                format!("site `{}`: `{}` is not a Harbor version", s.name, s.harbor.version.0.escape_debug()),
                "write the release as a quoted string, e.g. \"2.11.1\" or \"1.10.2\" (until then, the site's rules that depend on the release are not checked)",
            );
            None
        }
    }
}

/// HB004: `external_url`, an http(s) URL of scheme, host and port only.
pub(in crate::validate) fn external_url(ctx: &mut Ctx, sp: &str, raw: &str) -> Option<Url> {
    let path = format!("{sp}.harbor.external_url");
    let bad = |ctx: &mut Ctx, why: &str| {
        ctx.emit(
            RuleCode::HB004,
            path.clone(),
            format!("`external_url` {why}"),
            "write the URL docker clients use, scheme, host and optional port only, e.g. https://harbor.example.com",
        );
    };
    let Ok(u) = Url::parse(raw) else {
        bad(ctx, "is not an absolute URL");
        return None;
    };
    let why = if !matches!(u.scheme(), "http" | "https") {
        Some("must use http or https")
    } else if u.host_str().is_none() {
        Some("has no host")
    } else if !is_valid_dns_name(u.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']')) {
        Some("has an invalid host name")
    } else if u.path() != "/" || u.query().is_some() || u.fragment().is_some() {
        Some("has a path, query or fragment; Harbor must be served at the domain root")
    } else if !u.username().is_empty() || u.password().is_some() {
        Some("contains user information")
    } else {
        None
    };
    match why {
        Some(why) => {
            bad(ctx, why);
            None
        }
        None => Some(u),
    }
}

/// The Harbor versions a component exists in, as `(first, last)` minors.
#[must_use]
pub(crate) fn component_range(c: Component) -> ((u32, u32), (u32, u32)) {
    match c {
        Component::Trivy => ((2, 0), (2, 15)),
        Component::Clair => ((1, 10), (2, 1)),
        Component::Chartmuseum => ((1, 10), (2, 7)),
        Component::Notary => ((1, 10), (2, 8)),
    }
}

/// Whether `c` exists in Harbor `v`.
#[must_use]
pub(crate) fn component_available(c: Component, v: Version) -> bool {
    let (lo, hi) = component_range(c);
    (lo..=hi).contains(&v.minor_key())
}

/// Harbor's admin password policy: 8–128 characters with upper, lower and digit.
#[must_use]
pub(crate) fn admin_password_ok(p: &str) -> bool {
    let n = p.chars().count();
    (8..=128).contains(&n)
        && p.chars().any(|c| c.is_ascii_uppercase())
        && p.chars().any(|c| c.is_ascii_lowercase())
        && p.chars().any(|c| c.is_ascii_digit())
}

pub(super) fn check(site: &Site, raw: &SiteSpec, ctx: &mut Ctx) {
    let s = sp(site.index);
    let v = site.harbor.version;
    for (i, c) in raw.harbor.components.iter().flatten().enumerate() {
        if !component_available(*c, v) {
            let ((a, b), (y, z)) = component_range(*c);
            ctx.emit(
                RuleCode::HB001,
                format!("{s}.harbor.components[{i}]"),
                format!(
                    "{} is not part of Harbor {v} (it exists in {a}.{b} to {y}.{z})",
                    format!("{c:?}").to_lowercase()
                ),
                "remove the component, or pick a Harbor version that has it",
            );
        }
    }
    // HB005: prepare of 1.10-2.8 (utils/configs.py `validate`) exits when Notary runs without
    // an `https` section in harbor.yml, and the bundle's nodes serve plain HTTP (TLS ends at
    // the load balancer, which does not carry Notary's port 4443 either).
    for (i, c) in raw.harbor.components.iter().flatten().enumerate() {
        if *c == Component::Notary && component_available(*c, v) {
            ctx.emit(
                RuleCode::HB005,
                format!("{s}.harbor.components[{i}]"),
                format!(
                    "Notary needs https on every Harbor node: Harbor {v}'s prepare exits with \"the protocol must be https when Harbor is deployed with Notary\", and the nodes of this bundle serve plain HTTP behind the load balancer"
                ),
                "remove notary from harbor.components (Harbor 2.9 dropped it; sign images with cosign or notation instead)",
            );
        }
    }
    if let Secret::Literal(p) = &site.harbor.admin_password {
        if !admin_password_ok(p) {
            ctx.emit(
                RuleCode::HB002,
                format!("{s}.harbor.admin_password"),
                "the admin password does not meet Harbor's policy (8-128 characters with an upper-case letter, a lower-case letter and a digit)",
                "choose a stronger password, and pass it as {env: HARBOR_ADMIN_PASSWORD}",
            );
        }
    }
    let host = site.harbor.external_url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
    let is_loop = host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback() || a.is_unspecified());
    if is_loop {
        ctx.emit(
            RuleCode::HB003,
            format!("{s}.harbor.external_url"),
            format!("external_url points at {host}, which clients on other machines cannot reach"),
            "use the DNS name (or address) that docker clients use to reach the load balancer",
        );
    }
    for h in site.harbor_nodes() {
        if h.address.is_loopback() || h.address.is_unspecified() {
            ctx.emit(
                RuleCode::HB003,
                format!("{}.address", hp(site.index, h.index)),
                format!(
                    "Harbor node `{}` has address {}, which Harbor refuses as hostname and the LB cannot reach",
                    h.name, h.address
                ),
                "use the node's address on the site network",
            );
        }
    }
}

/// HB002 at render time, for an admin password taken from the environment or a file: the
/// value resolved from `secret` (never shown), unless it meets the policy or is empty
/// (an empty value is SC002's).
pub(crate) fn weak_admin_password(site: &Site, value: &str) -> Option<Diagnostic> {
    (!value.is_empty() && !admin_password_ok(value)).then(|| {
        Diagnostic::new(
            RuleCode::HB002,
            format!("{}.harbor.admin_password", sp(site.index)),
            format!("the admin password ({}) does not meet Harbor's policy (8-128 characters with an upper-case letter, a lower-case letter and a digit)", site.harbor.admin_password.describe()),
            "choose a stronger password",
        )
    })
}
