//! `hosts/<host>/facts.json`: the facts a host has once its install.sh ran, in the format
//! `collect.sh` writes ([`crate::audit::facts`]), so that a bundle's `hosts/` is itself a
//! collected tree and `harbor-ha drift` can compare a live host with it.
//!
//! The services are the units the host's install steps enable (`enable_now`), the images
//! those of the Harbor release and components the node runs, each tagged `v<version>` as
//! Harbor's `prepare` writes docker-compose.yml.

use std::collections::BTreeMap;

use crate::audit::facts::{Facts, Mount};
use crate::bundle::Bundle;
use crate::model::enums::{Component, Role};
use crate::model::resolved::{Database, Redis, Storage};
use crate::render::{HostOut, RoleCtx};

/// The containers of a Harbor node: container name → image.
fn images(ctx: &RoleCtx) -> BTreeMap<String, String> {
    let site = ctx.site;
    let v = site.harbor.version;
    let has = |c: Component| site.harbor.components.contains(&c);
    let mut c: Vec<(&str, &str)> = vec![
        ("harbor-log", "harbor-log"),
        ("registry", "registry-photon"),
        ("registryctl", "harbor-registryctl"),
        ("harbor-core", "harbor-core"),
        ("harbor-portal", "harbor-portal"),
        ("harbor-jobservice", "harbor-jobservice"),
        ("nginx", "nginx-photon"),
    ];
    if matches!(site.database, Database::Internal) {
        c.push(("harbor-db", "harbor-db"));
    }
    if matches!(site.redis, Redis::Internal) {
        c.push(("redis", if v.at_least(2, 15) { "valkey-photon" } else { "redis-photon" }));
    }
    if has(Component::Trivy) && v.major >= 2 {
        c.push(("trivy-adapter", "trivy-adapter-photon"));
    }
    if has(Component::Clair) && !v.at_least(2, 2) {
        c.push(("clair", "clair-photon"));
        c.push(("clair-adapter", "clair-adapter-photon"));
    }
    if has(Component::Chartmuseum) && !v.at_least(2, 8) {
        c.push(("chartmuseum", "chartmuseum-photon"));
    }
    if has(Component::Notary) && !v.at_least(2, 9) {
        c.push(("notary-server", "notary-server-photon"));
        c.push(("notary-signer", "notary-signer-photon"));
    }
    if crate::render::monitoring::harbor_metrics_port(site, ctx.host).is_some() {
        c.push(("harbor-exporter", "harbor-exporter"));
    }
    c.into_iter().map(|(name, image)| (name.to_string(), format!("goharbor/{image}:v{v}"))).collect()
}

/// The units the steps enable: `enable_now UNIT` lines.
fn services(out: &HostOut) -> Vec<String> {
    let mut s: Vec<String> = out
        .steps
        .iter()
        .flat_map(|st| st.body.lines())
        .filter_map(|l| l.trim().strip_prefix("enable_now "))
        .map(|u| u.trim().trim_matches('\'').to_string())
        .filter(|u| !u.is_empty())
        .collect();
    s.sort();
    s.dedup();
    s
}

/// The files install.sh puts (`put PATH MODE` lines) with another mode than their bundle
/// copy's: path → the installed mode.
fn modes(out: &HostOut) -> BTreeMap<String, String> {
    out.steps
        .iter()
        .flat_map(|st| st.body.lines())
        .filter_map(|l| {
            let mut w = l.trim().strip_prefix("put ")?.split_whitespace();
            let path = w.next()?.trim_matches('\'');
            let mode = w.next()?;
            let installed = u32::from_str_radix(mode, 8).ok()?;
            let copy = out.files.get(path)?.as_ref()?.mode;
            (copy & 0o7777 != installed & 0o7777).then(|| (path.to_string(), format!("{:04o}", installed & 0o7777)))
        })
        .collect()
}

/// The expected facts of the host of `ctx`.
#[must_use]
pub fn expected(ctx: &RoleCtx, out: &HostOut) -> Facts {
    let site = ctx.site;
    let host = ctx.host;
    let harbor = host.has(Role::Harbor);
    let mounts = match &site.storage {
        Storage::Nfs(n) if harbor => {
            let server = match n.server {
                std::net::IpAddr::V6(a) => format!("[{a}]"),
                std::net::IpAddr::V4(a) => a.to_string(),
            };
            vec![Mount {
                source: format!("{server}:{}", n.export),
                target: n.mount.to_string(),
                fstype: "nfs".to_string(),
            }]
        }
        _ => Vec::new(),
    };
    Facts {
        hostname: host.name.to_string(),
        addresses: vec![format!("{}/{}", host.address, site.subnet.prefix_len())],
        os: host.os.as_str().to_string(),
        harbor_version: harbor.then(|| site.harbor.version.to_string()),
        images: if harbor { images(ctx) } else { BTreeMap::new() },
        mounts,
        services: services(out),
        root: None,
        modes: modes(out),
    }
}

/// The file name of a host's expected facts, beside its `files/` and `install.sh`.
pub const FILE: &str = "facts.json";

/// Add `hosts/<host>/facts.json`.
pub fn add(ctx: &RoleCtx, out: &HostOut, bundle: &mut Bundle) {
    bundle.add(format!("hosts/{}/{FILE}", ctx.host.name), expected(ctx, out).to_json(), 0o644);
}
