//! HB001 (components), HB002 and HB003.

use super::{hp, sp};
use crate::model::resolved::Site;
use crate::model::secret::Secret;
use crate::model::spec::{Component, SiteSpec};
use crate::model::version::Version;
use crate::validate::codes::RuleCode;
use crate::validate::Ctx;

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
pub fn admin_password_ok(p: &str) -> bool {
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
