//! `replication/<site>/check-dns.sh`: run on a Harbor node of the site, it checks that
//! Harbor's containers resolve and reach every URL replication needs (Docker's DNS ignores
//! the host's /etc/hosts). Its static text is `render/scripts/replication-check-dns.sh`.

use std::fmt::Write as _;

use url::{Host as UrlHost, Url};

use super::plain;
use super::plan::{self_signed, SitePlan};
use crate::bundle::Bundle;
use crate::render::quote::sh;
use crate::render::template::fill;

/// A URL the site's Harbor containers must resolve and reach.
pub(super) struct Check {
    /// The URL's host.
    pub(super) host: String,
    /// Whether the host is a name (not an address), which must resolve.
    pub(super) is_name: bool,
    /// The URL to reach.
    pub(super) url: String,
    /// Whether its certificate is not verified.
    pub(super) insecure: bool,
    /// Why the containers need it.
    pub(super) why: String,
}

/// The URLs the Harbor containers of the site of `p` must reach, once each: every
/// endpoint's ping URL, and a dual master's own external_url.
pub(super) fn checks(p: &SitePlan) -> Vec<Check> {
    let mut v: Vec<Check> = Vec::new();
    let mut add = |url: &str, insecure: bool, why: String| {
        if v.iter().any(|c| c.url == url) {
            return;
        }
        let Ok(u) = Url::parse(url) else { return };
        let is_name = matches!(u.host(), Some(UrlHost::Domain(_)));
        v.push(Check {
            host: u.host_str().unwrap_or_default().to_string(),
            is_name,
            url: url.to_string(),
            insecure,
            why,
        });
    };
    for t in &p.targets {
        for r in &t.registries {
            add(&r.ping, r.body.insecure, format!("endpoint {}", r.name));
        }
    }
    if let Some(realm) = &p.realm {
        add(
            realm,
            self_signed(p.site),
            "the site's own external_url: the peer's registry sends token requests there".to_string(),
        );
    }
    v
}

/// Add `replication/<site>/check-dns.sh` of `p`; returns its path.
pub(super) fn render(p: &SitePlan, bundle: &mut Bundle) -> String {
    let path = format!("{}/check-dns.sh", p.base());
    bundle.add(path.clone(), check_dns_sh(p), 0o755);
    path
}

/// The whole check-dns.sh of `p`.
fn check_dns_sh(p: &SitePlan) -> String {
    let cs = checks(p);
    let mut urls = String::new();
    let mut calls = String::new();
    for c in &cs {
        let _ =
            writeln!(urls, "#   {} ({}{})", c.url, plain(&c.why), if c.is_name { "; name must resolve" } else { "" });
        let _ = writeln!(calls, "  check \"$c\" {} {} {}", sh(&c.host), sh(&c.url), if c.insecure { 1 } else { 0 });
    }
    fill(
        include_str!("../scripts/replication-check-dns.sh"),
        &[("urls", &urls), ("checks", &calls)],
        &[("SITE", p.site.name.as_str())],
    )
}
