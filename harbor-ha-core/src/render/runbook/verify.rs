//! `verify.sh`: checks the deployed sites from a load balancer host. The script and its
//! check functions are `render/scripts/verify.sh`; this module writes the checks of each
//! site: every Harbor node, every load balancer (and the virtual IP), and with `--ssh` the
//! key files on the nodes.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::IpAddr;

use super::{external_url, site_plans, url_host, Plan};
use crate::bundle::Bundle;
use crate::model::enums::Role;
use crate::model::resolved::{Host, LoadBalancer, Site, Tls, Topology};
use crate::render::harbor::ping_path;
use crate::render::quote::sh;
use crate::render::template::fill;

/// Add `verify.sh`; `kids` holds the token key id of each site (by site name).
pub(super) fn render(topo: &Topology, plans: &[Plan], kids: &BTreeMap<String, String>, bundle: &mut Bundle) {
    let mut sites = String::new();
    for site in &topo.sites {
        let kid = kids.get(site.name.as_str()).map_or("", String::as_str);
        site_checks(&mut sites, site, plans, kid);
    }
    let text = fill(include_str!("../scripts/verify.sh"), &[("sites", &sites)], &[]);
    bundle.add("verify.sh", text, 0o755);
}

/// The `Host` header a client of `external_url` sends: host, and the port when not the default.
fn external_authority(site: &Site) -> String {
    let u = &site.harbor.external_url;
    let host = u.host_str().unwrap_or_default();
    match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// The token realm every node must advertise.
fn realm(site: &Site) -> String {
    format!("{}/service/token", external_url(site))
}

/// The checks of one site; `kid` is the key id of its token certificate ("" when unknown).
fn site_checks(s: &mut String, site: &Site, plans: &[Plan], kid: &str) {
    let _ = writeln!(s, "\nsite {}", sh(site.name.as_str()));
    let _ = writeln!(s, "WANT_KID={}", sh(kid));
    let nodes: Vec<&Host> = site_plans(plans, site).iter().map(|p| p.1).filter(|h| h.has(Role::Harbor)).collect();
    for h in &nodes {
        node_checks(s, site, h);
    }
    if let Some(lb) = &site.lb {
        lb_checks(s, site, lb);
    }
    if !nodes.is_empty() {
        same_file_checks(s, site, &nodes);
    }
}

/// A Harbor node, reached directly: health, token key and token realm.
fn node_checks(s: &mut String, site: &Site, h: &Host) {
    let base = format!("http://{}:{}", url_host(h.address), h.http_port);
    let label = format!("{} ({})", h.name, h.address);
    let ping = ping_path(site.harbor.version);
    let _ = writeln!(s, "check_ping {} {}", sh(&format!("{label} health")), sh(&format!("{base}{ping}")));
    let _ = writeln!(
        s,
        "check_token_key {} {}",
        sh(&format!("{label} signs tokens with the site's key")),
        sh(&format!("{base}/service/token?service=harbor-registry"))
    );
    let _ = writeln!(
        s,
        "check_realm {} {} {} -H {}",
        sh(&format!("{label} token realm")),
        sh(&realm(site)),
        sh(&format!("{base}/v2/")),
        sh(&format!("Host: {}", external_authority(site)))
    );
}

/// `external_url` through the load balancers: when its host is a name, each load balancer
/// and the virtual IP in turn (`curl --resolve`); otherwise `external_url` as it is.
fn lb_checks(s: &mut String, site: &Site, lb: &LoadBalancer) {
    let k = if matches!(lb.tls, Tls::SelfSigned { .. }) { " -k" } else { "" };
    let url = external_url(site);
    let ping = ping_path(site.harbor.version);
    let u = &site.harbor.external_url;
    let port = u.port_or_known_default().unwrap_or(80);
    let Some(url::Host::Domain(d)) = u.host() else {
        let _ = writeln!(s, "check_ping {} {}{k}", sh("external_url health"), sh(&format!("{url}{ping}")));
        let _ = writeln!(
            s,
            "check_realm {} {} {}{k}",
            sh("external_url token realm"),
            sh(&realm(site)),
            sh(&format!("{url}/v2/"))
        );
        return;
    };
    let mut targets: Vec<(String, IpAddr)> = Vec::new();
    if let Some(vip) = lb.vip {
        targets.push(("virtual IP".to_string(), vip));
    }
    for h in site.hosts_with(Role::Lb) {
        targets.push((format!("load balancer {}", h.name), h.address));
    }
    for (what, addr) in targets {
        let label = format!("{what} ({addr})");
        let resolve = sh(&format!("{d}:{port}:{}", url_host(addr)));
        let _ = writeln!(
            s,
            "check_ping {} {} --resolve {resolve}{k}",
            sh(&format!("{label} health via external_url")),
            sh(&format!("{url}{ping}"))
        );
        let _ = writeln!(
            s,
            "check_realm {} {} {} --resolve {resolve}{k}",
            sh(&format!("{label} token realm via external_url")),
            sh(&realm(site)),
            sh(&format!("{url}/v2/"))
        );
    }
}

/// With `--ssh`: the key files are the same on every node (and as in the bundle, for
/// those the bundle holds).
fn same_file_checks(s: &mut String, site: &Site, nodes: &[&Host]) {
    let _ = writeln!(s, "if [ \"$SSH\" -eq 1 ]; then");
    for (file, local) in [
        ("secret/core/private_key.pem", "token_private_key.pem"),
        ("secret/registry/root.crt", "token_certificate.pem"),
        ("secret/keys/secretkey", ""),
    ] {
        let local = if local.is_empty() { String::new() } else { format!("secrets/{}/{local}", site.name) };
        let also = if local.is_empty() { "" } else { " and in the bundle" };
        let _ = write!(s, "  check_same_file {} {}", sh(&format!("{file} identical on every node{also}")), sh(&local));
        for h in nodes {
            let path = format!("{}/{file}", h.data_volume.as_str().trim_end_matches('/'));
            let _ = write!(s, " \\\n    {} {} {}", sh(h.name.as_str()), sh(&h.address.to_string()), sh(&path));
        }
        s.push('\n');
    }
    let _ = writeln!(s, "fi");
}
