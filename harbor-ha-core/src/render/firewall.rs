//! The host firewall of every host (firewalld on the RHEL family, ufw on Debian and
//! Ubuntu): each role's port is opened only to the hosts that need it.
//!
//! | port | on | from |
//! |---|---|---|
//! | 2049/tcp (NFSv4.1 needs no rpcbind or mountd ports) | NFS server | the export's clients |
//! | PostgreSQL port | PostgreSQL host | the Harbor nodes |
//! | Redis port | Redis host | the Harbor nodes |
//! | Harbor `http_port` | Harbor nodes | the LB hosts (not the VIP: nginx connects from its own address); the other node in dual-master mode; anyone when the site has no LB |
//! | `external_url` port, and 80 for the redirect with TLS | LB hosts | anyone |
//! | VRRP (IP protocol 112) | LB hosts | the other LB host |
//!
//! Docker publishes Harbor's port with its own NAT rules, which are evaluated before ufw's
//! and firewalld's: a ufw or firewalld rule neither opens nor closes a published port. On
//! Harbor nodes behind an LB the restriction is therefore also applied in Docker's
//! `DOCKER-USER` chain, by a small unit that runs whenever Docker starts. Enabling ufw's
//! default-deny on a Harbor node is safe: Docker's forwarding rules come first, and the
//! containers' own traffic is forwarded, not input.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::net::IpAddr;

use ipnet::IpNet;

use super::os::Firewall;
use super::quote::sh;
use super::{HostOut, RoleCtx};
use crate::model::enums::{Role, SiteMode};
use crate::model::resolved::{Database, PgCluster, Redis, RedisCluster, Storage, Tls};

/// A protocol a rule opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Proto {
    /// TCP to a port.
    Tcp(u16),
    /// VRRP (keepalived).
    Vrrp,
}

/// One opening: a protocol from a source (`None`: from anywhere).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rule {
    /// What is opened.
    pub proto: Proto,
    /// Who may connect (`None`: anyone).
    pub source: Option<IpNet>,
}

/// The Unit that restricts Docker's published Harbor port.
pub const DOCKER_USER_UNIT: &str = "/etc/systemd/system/harbor-ha-docker-user.service";
/// The script it runs.
pub const DOCKER_USER_SCRIPT: &str = "/etc/harbor-ha/firewall/docker-user.sh";

/// Who may reach the Harbor node's port (`None`: anyone, the site has no LB).
fn harbor_sources(ctx: &RoleCtx) -> Option<Vec<IpAddr>> {
    let site = ctx.site;
    let mut v: Vec<IpAddr> = site.hosts_with(Role::Lb).map(|h| h.address).collect();
    if v.is_empty() {
        return None;
    }
    if site.mode == SiteMode::Replication {
        // The two nodes replicate to each other directly.
        v.extend(site.harbor_nodes().filter(|h| h.index != ctx.host.index).map(|h| h.address));
    }
    Some(v)
}

/// The openings of the host in `ctx`, sorted and without duplicates.
#[must_use]
pub fn rules(ctx: &RoleCtx) -> Vec<Rule> {
    let site = ctx.site;
    let host = ctx.host;
    // Built only for the PostgreSQL and Redis hosts: collecting it for every host would
    // make a site of n hosts cost n².
    let nodes = || -> Vec<IpNet> { site.harbor_nodes().map(|h| IpNet::from(h.address)).collect() };
    let mut set = BTreeSet::new();
    let mut add = |proto: Proto, sources: Vec<Option<IpNet>>| {
        for source in sources {
            set.insert(Rule { proto, source });
        }
    };
    let some = |v: &[IpNet]| v.iter().copied().map(Some).collect::<Vec<_>>();
    if let Storage::Nfs(n) = &site.storage {
        if n.server_host.as_ref() == Some(&host.name) {
            add(Proto::Tcp(2049), some(&n.clients));
        }
    }
    if let Database::External(db) = &site.database {
        if db.installed_on.as_ref() == Some(&host.name) {
            add(Proto::Tcp(db.port), some(&nodes()));
        }
    }
    if let Redis::External(r) = &site.redis {
        if r.installed_on() == Some(&host.name) {
            add(Proto::Tcp(r.port), some(&nodes()));
        }
    }
    cluster_rules(ctx, &mut add);
    if host.has(Role::Harbor) {
        match harbor_sources(ctx) {
            Some(src) => add(Proto::Tcp(host.http_port), src.into_iter().map(|a| Some(IpNet::from(a))).collect()),
            None => add(Proto::Tcp(host.http_port), vec![None]),
        }
    }
    if let Some(m) = &site.monitoring {
        // The exporters (and Harbor's metrics port): the Prometheus server only.
        for port in super::monitoring::firewall_openings(ctx) {
            add(Proto::Tcp(port), vec![Some(IpNet::from(m.prometheus))]);
        }
    }
    if host.has(Role::Lb) {
        if let Some(port) = site.harbor.external_url.port_or_known_default() {
            add(Proto::Tcp(port), vec![None]);
        }
        if site.lb.as_ref().is_some_and(|lb| !matches!(lb.tls, Tls::None)) {
            // Plain HTTP only to redirect to HTTPS.
            add(Proto::Tcp(80), vec![None]);
        }
        let peers: Vec<IpNet> =
            site.hosts_with(Role::Lb).filter(|h| h.index != host.index).map(|h| IpNet::from(h.address)).collect();
        if peers.len() == 1 {
            add(Proto::Vrrp, some(&peers));
        }
    }
    set.into_iter().collect()
}

/// The openings of the clusters: Patroni, etcd, Redis replication, Sentinel, and the
/// endpoint on the LB hosts.
fn cluster_rules(ctx: &RoleCtx, add: &mut impl FnMut(Proto, Vec<Option<IpNet>>)) {
    let site = ctx.site;
    let host = ctx.host;
    let net = |a: &std::net::IpAddr| Some(IpNet::from(*a));
    let harbor: Vec<Option<IpNet>> = site.harbor_nodes().map(|h| net(&h.address)).collect();
    let lbs: Vec<Option<IpNet>> = site.hosts_with(Role::Lb).map(|h| net(&h.address)).collect();
    if let (Some(c), Database::External(db)) = (site.pg_cluster(), &site.database) {
        let members: Vec<Option<IpNet>> = c.members.iter().map(|m| net(&m.address)).collect();
        let dcs: Vec<Option<IpNet>> = c.dcs.iter().map(|m| net(&m.address)).collect();
        if c.is_member(&host.name) {
            // PostgreSQL: the other members (replication, pg_rewind) and HAProxy on the LBs.
            add(Proto::Tcp(db.port), [members.clone(), lbs.clone()].concat());
            // Patroni's REST API: the other members and HAProxy's checks.
            add(Proto::Tcp(PgCluster::REST_PORT), [members.clone(), lbs.clone()].concat());
        }
        if c.is_dcs(&host.name) {
            add(Proto::Tcp(PgCluster::ETCD_CLIENT_PORT), members);
            add(Proto::Tcp(PgCluster::ETCD_PEER_PORT), dcs);
        }
        if host.has(Role::Lb) {
            add(Proto::Tcp(db.port), harbor.clone());
        }
    }
    if let (Some(c), Redis::External(r)) = (site.redis_cluster(), &site.redis) {
        let data: Vec<Option<IpNet>> = c.data.iter().map(|m| net(&m.address)).collect();
        let sentinels: Vec<Option<IpNet>> = c.sentinels.iter().map(|m| net(&m.address)).collect();
        if c.is_data(&host.name) {
            // Harbor (2.1+: straight to the master), replication, the Sentinels, the proxy.
            let proxy = if c.proxy.is_some() { lbs.clone() } else { Vec::new() };
            add(Proto::Tcp(r.port), [harbor.clone(), data, sentinels.clone(), proxy].concat());
        }
        if c.is_sentinel(&host.name) {
            add(Proto::Tcp(RedisCluster::SENTINEL_PORT), [harbor.clone(), sentinels].concat());
        }
        if host.has(Role::Lb) && c.proxy.is_some() {
            add(Proto::Tcp(r.port), harbor);
        }
    }
}

/// A firewalld rich rule for a sourced rule.
#[must_use]
pub fn rich_rule(r: &Rule, src: &IpNet) -> String {
    let family = if matches!(src, IpNet::V4(_)) { "ipv4" } else { "ipv6" };
    match r.proto {
        Proto::Tcp(p) => {
            format!("rule family=\"{family}\" source address=\"{src}\" port port=\"{p}\" protocol=\"tcp\" accept")
        }
        Proto::Vrrp => format!("rule family=\"{family}\" source address=\"{src}\" protocol value=\"vrrp\" accept"),
    }
}

/// The arguments of `ufw allow` for a rule.
#[must_use]
pub fn ufw_args(r: &Rule) -> String {
    let src = |s: &IpNet| if s.prefix_len() == s.max_prefix_len() { s.addr().to_string() } else { s.to_string() };
    match (r.proto, &r.source) {
        (Proto::Tcp(p), None) => format!("{p}/tcp"),
        (Proto::Tcp(p), Some(s)) => format!("from {} to any port {p} proto tcp", src(s)),
        (Proto::Vrrp, Some(s)) => format!("from {} to any proto vrrp", src(s)),
        (Proto::Vrrp, None) => "proto vrrp".to_string(),
    }
}

fn firewalld(ctx: &RoleCtx, rules: &[Rule]) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "pkgs firewalld");
    let _ = writeln!(b, "enable_now firewalld");
    let _ = writeln!(b, "# The zone of the host's interface, else the default zone.");
    let _ = writeln!(
        b,
        "FW_ZONE=\"$(firewall-cmd --get-zone-of-interface={} 2>/dev/null)\" || FW_ZONE=\"$(firewall-cmd --get-default-zone)\"",
        sh(ctx.host.interface.as_str())
    );
    let _ = writeln!(b, "FW_RELOAD=0");
    let _ = writeln!(b, "# fw_add KIND VALUE: add a permanent --KIND (port, rich-rule) to the zone unless present.");
    let _ = writeln!(b, "fw_add() {{");
    let _ = writeln!(b, "  firewall-cmd -q --permanent --zone=\"$FW_ZONE\" --query-\"$1\"=\"$2\" && return 0");
    let _ = writeln!(b, "  firewall-cmd -q --permanent --zone=\"$FW_ZONE\" --add-\"$1\"=\"$2\"");
    let _ = writeln!(b, "  log \"firewalld ($FW_ZONE): $1 $2\"");
    let _ = writeln!(b, "  CHANGED=1; FW_RELOAD=1");
    let _ = writeln!(b, "}}");
    let _ = writeln!(b, "# Never lock the operator out: the zone's ssh service stays; keep this session's port too.");
    let _ = writeln!(b, "if [ -n \"${{SSH_CONNECTION:-}}\" ]; then fw_add port \"${{SSH_CONNECTION##* }}/tcp\"; fi");
    for r in rules {
        match (&r.source, r.proto) {
            (Some(src), _) => {
                let _ = writeln!(b, "fw_add rich-rule {}", sh(&rich_rule(r, src)));
            }
            (None, Proto::Tcp(p)) => {
                let _ = writeln!(b, "fw_add port {p}/tcp");
            }
            (None, Proto::Vrrp) => {
                let _ = writeln!(b, "fw_add protocol vrrp");
            }
        }
    }
    let _ = writeln!(b, "if [ \"$FW_RELOAD\" -eq 1 ]; then");
    let _ = writeln!(b, "  firewall-cmd -q --reload");
    let _ = writeln!(b, "  # A reload may drop iptables chains that firewalld does not own: put ours back.");
    let _ = writeln!(b, "  systemctl try-restart harbor-ha-docker-user.service 2>/dev/null || true");
    let _ = writeln!(b, "fi");
    b
}

fn ufw(rules: &[Rule]) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "pkgs ufw");
    let _ = writeln!(b, "# ufw_allow ARGS...: add a rule; ufw skips a rule it already has.");
    let _ = writeln!(b, "ufw_allow() {{");
    let _ = writeln!(b, "  local out");
    let _ = writeln!(b, "  out=\"$(ufw allow \"$@\")\" || die \"ufw allow $*: $out\"");
    let _ = writeln!(b, "  case \"$out\" in *'Rule added'*|*'Rules updated'*) log \"ufw allow $*\"; CHANGED=1 ;; esac");
    let _ = writeln!(b, "}}");
    let _ = writeln!(b, "# Never lock the operator out: SSH first (and this session's port).");
    let _ = writeln!(b, "if ufw app info OpenSSH >/dev/null 2>&1; then ufw_allow OpenSSH; else ufw_allow 22/tcp; fi");
    let _ = writeln!(b, "if [ -n \"${{SSH_CONNECTION:-}}\" ]; then ufw_allow \"${{SSH_CONNECTION##* }}/tcp\"; fi");
    for r in rules {
        let _ = writeln!(b, "ufw_allow {}", ufw_args(r));
    }
    let _ = writeln!(b, "if ! ufw status | grep -q '^Status: active'; then");
    let _ = writeln!(b, "  ufw --force enable >/dev/null");
    let _ = writeln!(b, "  log 'ufw enabled (incoming: deny unless allowed above)'");
    let _ = writeln!(b, "  CHANGED=1");
    let _ = writeln!(b, "fi");
    b
}

/// The script that keeps Docker's published Harbor port to `sources` (IPv4; Docker
/// publishes IPv6 through its userland proxy, which ufw and firewalld do filter), and, when
/// Prometheus scrapes the node, Harbor's published metrics port to the Prometheus server.
#[must_use]
pub fn docker_user_script(ctx: &RoleCtx, sources: Option<&[IpAddr]>, metrics: Option<(u16, IpAddr)>) -> String {
    let port = ctx.host.http_port;
    let matching = |port: u16| format!("-p tcp -m conntrack --ctstate DNAT --ctdir ORIGINAL --ctorigdstport {port}");
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# Generated by harbor-ha for host {} ({}), site {}. Do not edit: re-render instead.",
        ctx.host.name, ctx.host.address, ctx.site.name
    );
    if sources.is_some() {
        let _ = writeln!(s, "# Docker publishes Harbor's port {port} through NAT rules that bypass ufw and firewalld;");
    } else {
        let _ = writeln!(s, "# Docker publishes Harbor's ports through NAT rules that bypass ufw and firewalld;");
    }
    let _ = writeln!(s, "# DOCKER-USER is where Docker lets such traffic be filtered. Only the hosts below may");
    let _ = writeln!(s, "# open connections to the port. Run by harbor-ha-docker-user.service after Docker starts.");
    let _ = writeln!(s, "set -eu");
    let _ = writeln!(s, "iptables -N DOCKER-USER 2>/dev/null || true");
    let _ = writeln!(s, "iptables -N HARBOR-HA 2>/dev/null || true");
    let _ = writeln!(s, "iptables -F HARBOR-HA");
    if let Some(sources) = sources {
        let m = matching(port);
        for a in sources.iter().filter(|a| a.is_ipv4()) {
            let _ = writeln!(s, "iptables -A HARBOR-HA -s {a}/32 {m} -j RETURN");
        }
        let _ = writeln!(s, "iptables -A HARBOR-HA {m} -j DROP");
    }
    if let Some((mport, prometheus)) = metrics {
        let m = matching(mport);
        let _ = writeln!(s, "# Harbor's metrics port {mport}: the Prometheus server only.");
        if prometheus.is_ipv4() {
            let _ = writeln!(s, "iptables -A HARBOR-HA -s {prometheus}/32 {m} -j RETURN");
        }
        let _ = writeln!(s, "iptables -A HARBOR-HA {m} -j DROP");
    }
    let _ = writeln!(s, "iptables -C DOCKER-USER -j HARBOR-HA 2>/dev/null || iptables -I DOCKER-USER -j HARBOR-HA");
    s
}

fn docker_user_unit(ctx: &RoleCtx, lbs_only: bool) -> String {
    if !lbs_only {
        return format!(
            "# Generated by harbor-ha for host {}: restrict Docker's published Harbor ports.\n[Unit]\nDescription=harbor-ha: only the Prometheus server may reach Harbor's metrics port\nAfter=docker.service\nPartOf=docker.service\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart={DOCKER_USER_SCRIPT}\n\n[Install]\nWantedBy=docker.service\n",
            ctx.host.name
        );
    }
    format!(
        "# Generated by harbor-ha for host {}: restrict Docker's published Harbor port.\n[Unit]\nDescription=harbor-ha: only the load balancers may reach Harbor's port {}\nAfter=docker.service\nPartOf=docker.service\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart={DOCKER_USER_SCRIPT}\n\n[Install]\nWantedBy=docker.service\n",
        ctx.host.name, ctx.host.http_port
    )
}

/// Add the host's firewall step.
pub fn render(ctx: &RoleCtx, out: &mut HostOut) {
    let rules = rules(ctx);
    let body = match ctx.os.firewall {
        Firewall::Firewalld => firewalld(ctx, &rules),
        Firewall::Ufw => ufw(&rules),
    };
    let summary: Vec<String> = rules
        .iter()
        .map(|r| {
            let what = match r.proto {
                Proto::Tcp(p) => format!("{p}/tcp"),
                Proto::Vrrp => "vrrp".to_string(),
            };
            match &r.source {
                Some(s) => format!("{what} from {s}"),
                None => format!("{what} from anywhere"),
            }
        })
        .collect();
    let fw = match ctx.os.firewall {
        Firewall::Firewalld => "firewalld",
        Firewall::Ufw => "ufw",
    };
    let title = if summary.is_empty() {
        format!("firewall ({fw}): SSH only")
    } else {
        format!("firewall ({fw}): SSH, {}", summary.join(", "))
    };
    out.step(title, body);

    if ctx.host.has(Role::Harbor) {
        let sources = harbor_sources(ctx);
        let metrics = super::monitoring::harbor_metrics_port(ctx.site, ctx.host)
            .zip(ctx.site.monitoring.as_ref().map(|m| m.prometheus));
        if sources.is_some() || metrics.is_some() {
            out.file(DOCKER_USER_SCRIPT, docker_user_script(ctx, sources.as_deref(), metrics), 0o755);
            out.file(DOCKER_USER_UNIT, docker_user_unit(ctx, sources.is_some()), 0o644);
            let mut b = String::new();
            let _ = writeln!(b, "put {DOCKER_USER_SCRIPT} 0755");
            let _ = writeln!(b, "DU_CHANGED=$PUT_CHANGED");
            let _ = writeln!(b, "put {DOCKER_USER_UNIT} 0644");
            let _ = writeln!(b, "if [ \"$PUT_CHANGED\" -eq 1 ]; then systemctl daemon-reload; DU_CHANGED=1; fi");
            let _ = writeln!(
                b,
                "# Started with Docker from now on (WantedBy=docker.service), also when Docker is installed later."
            );
            let _ = writeln!(
                b,
                "if ! systemctl is-enabled --quiet harbor-ha-docker-user.service 2>/dev/null; then systemctl enable --quiet harbor-ha-docker-user.service; CHANGED=1; fi"
            );
            let _ = writeln!(b, "if systemctl is-active --quiet docker; then");
            let _ = writeln!(
                b,
                "  if [ \"$DU_CHANGED\" -eq 1 ] || ! systemctl is-active --quiet harbor-ha-docker-user.service; then"
            );
            let _ = writeln!(b, "    systemctl restart harbor-ha-docker-user.service; CHANGED=1");
            let _ = writeln!(b, "  fi");
            let _ = writeln!(b, "fi");
            let mut title = match &sources {
                Some(src) => format!(
                    "Docker-published port {}: only from {}",
                    ctx.host.http_port,
                    src.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ),
                None => format!("Docker-published port {}: from anywhere", ctx.host.http_port),
            };
            if let Some((port, prometheus)) = metrics {
                let _ = write!(title, "; metrics port {port}: only from {prometheus}");
            }
            out.step(format!("{title} (DOCKER-USER chain)"), b);
        }
    }
}
