//! LB001–LB007: the load balancer, its upstreams, external_url (and what serves it), VIP,
//! affinity and TLS.

use std::collections::BTreeSet;

use url::Url;

use super::{hp, sp};
use crate::diag::{Diagnostic, RuleCode};
use crate::model::enums::{Affinity, Role, SiteMode};
use crate::model::ids::DnsName;
use crate::model::resolved::{Host, LoadBalancer, Site, Tls, TlsFiles, TlsPath};
use crate::model::spec::{LoadBalancerSpec, SiteSpec};
use crate::validate::{values, Ctx};

/// The load_balancer section, when the site has one or LB hosts. `server_name` defaults to
/// the host of external_url; the TLS paths to `/etc/nginx/ssl/<server_name>.{crt,key}`.
pub(in crate::validate) fn resolve(
    ctx: &mut Ctx,
    sp: &str,
    s: &SiteSpec,
    hosts: &[Host],
    url: Option<&Url>,
) -> Option<LoadBalancer> {
    let has_lb_host = hosts.iter().any(|h| h.has(Role::Lb));
    if s.load_balancer.is_none() && !has_lb_host {
        return None;
    }
    let l = s.load_balancer.clone().unwrap_or_default();
    let p = format!("{sp}.load_balancer");
    let server_name = l.server_name.as_ref().map(|n| values::dns(ctx, &format!("{p}.server_name"), n.as_str()));
    for (i, u) in l.upstreams.iter().flatten().enumerate() {
        values::text(ctx, &format!("{p}.upstreams[{i}]"), u);
    }
    let server_name = server_name
        .or_else(|| {
            url.and_then(Url::host_str)
                .and_then(|h| DnsName::parse(h.trim_start_matches('[').trim_end_matches(']')).ok())
        })
        .unwrap_or_else(|| DnsName::known("localhost"));
    let tls = l.tls.as_ref().map_or(Tls::None, |t| {
        let mut file = |key: &str, raw: &Option<crate::model::spec::Raw<crate::model::ids::HostPath>>, ext| match raw {
            Some(r) => TlsPath::Given(values::path(ctx, &format!("{p}.tls.{key}"), r)),
            None => TlsPath::Default { server_name: server_name.clone(), ext },
        };
        let files =
            TlsFiles { certificate: file("certificate", &t.certificate, "crt"), key: file("key", &t.key, "key") };
        if t.self_signed == Some(true) {
            Tls::SelfSigned(files)
        } else {
            Tls::Files(files)
        }
    });
    Some(LoadBalancer {
        server_name,
        tls,
        affinity: l.affinity.unwrap_or(Affinity::IpHash),
        vip: l.vip,
        virtual_router_id: l.virtual_router_id.unwrap_or(51),
    })
}

pub(super) fn check(site: &Site, raw: &SiteSpec, ctx: &mut Ctx) {
    lb007(site, ctx);
    let Some(lb) = &site.lb else { return };
    let raw_lb = raw.load_balancer.clone().unwrap_or_default();
    lb001(site, &raw_lb, ctx);
    lb002(site, lb, &raw_lb, ctx);
    lb003(site, lb, ctx);
    lb004(site, lb, ctx);
    lb005(site, &raw_lb, ctx);
    lb006(site, lb, ctx);
}

/// external_url's host without IPv6 brackets.
fn url_host(site: &Site) -> &str {
    site.harbor.external_url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']')
}

/// LB006: with LB hosts, external_url must name the front (the VIP, or the one LB), not a
/// Harbor node (clients would bypass the LB) nor, with a VIP, one LB's own address (the
/// site would fail with that LB, and keepalived would be for nothing).
fn lb006(site: &Site, lb: &LoadBalancer, ctx: &mut Ctx) {
    if site.hosts_with(Role::Lb).count() == 0 {
        return;
    }
    let host = url_host(site);
    let addr = host.parse::<std::net::IpAddr>().ok();
    let named = |h: &Host| addr == Some(h.address) || (addr.is_none() && h.name.as_str().eq_ignore_ascii_case(host));
    let Some(h) = site.hosts.iter().find(|h| named(h)) else { return };
    let front = match lb.vip {
        Some(vip) => format!("the VIP {vip}"),
        None => "the load balancer".to_string(),
    };
    let why = if h.has(Role::Lb) {
        if lb.vip.is_none() {
            return;
        }
        format!("the own address of LB host `{}`, not {front}: when that LB fails, clients fail with it and keepalived's failover is for nothing", h.name)
    } else if h.has(Role::Harbor) {
        format!("Harbor node `{}`: clients would bypass {front} and lose the site when that node fails", h.name)
    } else {
        format!("host `{}`, which is not {front}", h.name)
    };
    ctx.emit(
        RuleCode::LB006,
        format!("{}.harbor.external_url", sp(site.index)),
        format!("external_url names {why}"),
        match lb.vip {
            Some(vip) => format!("point external_url at the VIP: a DNS name that resolves to {vip}, or {vip} itself"),
            None => "point external_url at the load balancer: a DNS name that resolves to the LB host, or its address"
                .to_string(),
        },
    );
}

/// LB007: a site without LB hosts is served by its Harbor node alone, over plain HTTP on its
/// http_port; an https external_url (or another port) names something nothing serves.
fn lb007(site: &Site, ctx: &mut Ctx) {
    if site.hosts_with(Role::Lb).count() > 0 {
        return;
    }
    let nodes: Vec<&Host> = site.harbor_nodes().collect();
    let [node] = nodes.as_slice() else { return }; // none, or several: HA004's
    let url = &site.harbor.external_url;
    let port = url.port_or_known_default().unwrap_or(0);
    let why = if url.scheme() == "https" {
        Some(format!(
            "external_url is https, but site `{}` has no load balancer and its node `{}` serves plain HTTP on port {}: nothing answers https{}",
            site.name,
            node.name,
            node.http_port,
            if site.lb.is_some() { " (load_balancer settings without a host with role lb render nothing)" } else { "" }
        ))
    } else if port != node.http_port {
        Some(format!(
            "external_url is port {port}, but site `{}` has no load balancer and its node `{}` listens on port {}",
            site.name, node.name, node.http_port
        ))
    } else {
        None
    };
    if let Some(why) = why {
        ctx.emit(
            RuleCode::LB007,
            format!("{}.harbor.external_url", sp(site.index)),
            why,
            format!(
                "add a host with role lb (load_balancer.tls for https), or write external_url as http://<name of {}>{}",
                node.name,
                if node.http_port == 80 { String::new() } else { format!(":{}", node.http_port) }
            ),
        );
    }
}

/// LB001: the upstreams, when listed, are exactly the Harbor nodes and their ports.
fn lb001(site: &Site, raw_lb: &LoadBalancerSpec, ctx: &mut Ctx) {
    let p = format!("{}.load_balancer", sp(site.index));
    if let Some(ups) = &raw_lb.upstreams {
        let want: BTreeSet<String> = site.harbor_nodes().map(crate::model::resolved::Host::http_endpoint).collect();
        let got: BTreeSet<String> = ups.iter().map(|u| u.trim().to_string()).collect();
        if want != got || got.len() != ups.len() {
            let missing: Vec<_> = want.difference(&got).cloned().collect();
            let extra: Vec<_> = got.difference(&want).cloned().collect();
            ctx.emit(
                RuleCode::LB001,
                format!("{p}.upstreams"),
                format!(
                    "LB upstreams differ from the Harbor nodes (missing: [{}]; not a Harbor node: [{}])",
                    missing.join(", "),
                    extra.join(", ")
                ),
                "remove `upstreams` (the bundle derives it from the Harbor nodes), or list exactly address:http_port of every node, once",
            );
        }
    }
}

/// LB002: external_url matches what the LB serves (scheme, server name, port).
fn lb002(site: &Site, lb: &LoadBalancer, raw_lb: &LoadBalancerSpec, ctx: &mut Ctx) {
    let s = sp(site.index);
    let p = format!("{}.load_balancer", sp(site.index));
    let url = &site.harbor.external_url;
    let tls = !matches!(lb.tls, Tls::None);
    let want_scheme = if tls { "https" } else { "http" };
    let upath = format!("{s}.harbor.external_url");
    if url.scheme() != want_scheme {
        ctx.emit(
            RuleCode::LB002,
            upath.clone(),
            format!("external_url uses {} but the load balancer serves {want_scheme}", url.scheme()),
            if tls {
                "write external_url with https://"
            } else {
                "add load_balancer.tls, or write external_url with http://"
            },
        );
    }
    let host = url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
    if let Some(n) = &raw_lb.server_name {
        if !n.as_str().eq_ignore_ascii_case(host) {
            ctx.emit(
                RuleCode::LB002,
                format!("{p}.server_name"),
                format!("server_name `{n}` differs from external_url's host `{host}`"),
                "make load_balancer.server_name the host of external_url, or remove it (it defaults to that host)",
            );
        }
    }
    if url.port().is_some() {
        ctx.emit(
            RuleCode::LB002,
            upath,
            format!("external_url names port {}, but the load balancer listens on 80 and 443", url.port().unwrap_or(0)),
            "remove the port from external_url",
        );
    }
}

/// LB003: two LBs need a VIP in the subnet that no host uses, and a VIP needs two LBs.
fn lb003(site: &Site, lb: &LoadBalancer, ctx: &mut Ctx) {
    let p = format!("{}.load_balancer", sp(site.index));
    let lbs: Vec<_> = site.hosts_with(Role::Lb).collect();
    if lbs.len() == 2 && lb.vip.is_none() {
        ctx.emit(
            RuleCode::LB003,
            p.clone(),
            format!("site `{}` has two LB hosts but no vip", site.name),
            "set load_balancer.vip to a free address in the subnet; keepalived moves it between the two LBs",
        );
    }
    if let Some(vip) = lb.vip {
        if !site.subnet.contains(&vip) {
            ctx.emit(
                RuleCode::LB003,
                format!("{p}.vip"),
                format!("vip {vip} is outside the subnet {}", site.subnet),
                "pick a free address inside network.subnet",
            );
        }
        if let Some(h) = site.hosts.iter().find(|h| h.address == vip) {
            ctx.push(
                Diagnostic::new(
                    RuleCode::LB003,
                    format!("{p}.vip"),
                    format!("vip {vip} is the address of host `{}`", h.name),
                    "pick an address that no host uses",
                )
                .with_related(format!("{}.address", hp(site.index, h.index)), format!("the address of `{}`", h.name)),
            );
        }
        if lbs.len() < 2 {
            ctx.emit(
                RuleCode::LB003,
                format!("{p}.vip"),
                format!("vip {vip} is set but the site has {} LB host(s); keepalived needs two", lbs.len()),
                "add a second host with role lb, or remove the vip",
            );
        }
    }
}

/// LB004: round robin needs nodes that share keys and storage.
fn lb004(site: &Site, lb: &LoadBalancer, ctx: &mut Ctx) {
    let p = format!("{}.load_balancer", sp(site.index));
    if lb.affinity == Affinity::None && site.mode == SiteMode::Replication {
        ctx.emit(
            RuleCode::LB004,
            format!("{p}.affinity"),
            format!(
                "dual-master site `{}` balances round robin, but its nodes have their own keys and storage",
                site.name
            ),
            "use affinity: ip_hash so that a client's token and uploads stay on one node",
        );
    }
}

/// LB005: TLS needs a certificate and a key, or self_signed.
fn lb005(site: &Site, raw_lb: &LoadBalancerSpec, ctx: &mut Ctx) {
    let p = format!("{}.load_balancer", sp(site.index));
    if let Some(t) = &raw_lb.tls {
        let self_signed = t.self_signed == Some(true);
        if !self_signed && (t.certificate.is_none() || t.key.is_none()) {
            ctx.emit(
                RuleCode::LB005,
                format!("{p}.tls"),
                "load_balancer.tls needs both certificate and key",
                "set tls.certificate and tls.key, or tls: {self_signed: true}",
            );
        }
        if self_signed && (t.certificate.is_some() != t.key.is_some()) {
            ctx.emit(
                RuleCode::LB005,
                format!("{p}.tls"),
                "a self-signed certificate needs both paths or neither",
                "give both tls.certificate and tls.key, or neither",
            );
        }
    }
}
