//! MN001–MN003: monitoring by Prometheus (`monitoring`) and central logs (`log.syslog`),
//! per site or at the top level (a site's own keys win).

use std::collections::BTreeMap;
use std::net::IpAddr;

use url::Url;

use crate::diag::RuleCode;
use crate::model::ids::{DnsName, HostOrAddress, PromDuration};
use crate::model::resolved::{Monitoring, SyslogEndpoint, SyslogProtocol};
use crate::model::spec::{LogSpec, MonitoringSpec, Raw, SiteSpec, SyslogUrl, TopologySpec};
use crate::model::version::Version;
use crate::validate::{values, Ctx};

/// A value of the merged `monitoring` section, with the key path it came from.
struct From<'a, T> {
    value: &'a T,
    path: String,
}

/// The key of the site's `monitoring` section if it has one, else the top level's.
fn pick<'a, T>(
    sp: &str,
    site: Option<&'a MonitoringSpec>,
    top: Option<&'a MonitoringSpec>,
    key: &str,
    get: impl Fn(&'a MonitoringSpec) -> Option<&'a T>,
) -> Option<From<'a, T>> {
    site.and_then(&get)
        .map(|value| From { value, path: format!("{sp}.monitoring.{key}") })
        .or_else(|| top.and_then(&get).map(|value| From { value, path: format!("monitoring.{key}") }))
}

/// The site's monitoring, when it (or the top level) asks for it; `version` is the site's
/// Harbor release when usable.
pub(in crate::validate) fn resolve(
    ctx: &mut Ctx,
    sp: &str,
    spec: &TopologySpec,
    s: &SiteSpec,
    version: Option<Version>,
) -> Option<Monitoring> {
    let (site, top) = (s.monitoring.as_ref(), spec.monitoring.as_ref());
    if site.is_none() && top.is_none() {
        return None;
    }
    let prometheus = match pick(sp, site, top, "prometheus", |m| m.prometheus.as_ref()) {
        Some(p) => prometheus_address(ctx, spec, &p.path, p.value),
        None => {
            let path = if site.is_some() { format!("{sp}.monitoring") } else { "monitoring".to_string() };
            ctx.emit(
                RuleCode::MN001,
                path,
                format!("site `{}` is monitored but no `prometheus` server is named", s.name),
                "set monitoring.prometheus to the Prometheus server's inventory host name or address",
            );
            None
        }
    };
    let scrape_interval = match pick(sp, site, top, "scrape_interval", |m| m.scrape_interval.as_ref()) {
        Some(d) => values::duration(ctx, &d.path, d.value),
        None => PromDuration::known("30s"),
    };
    let mut alert_labels = BTreeMap::new();
    if let Some(labels) = pick(sp, site, top, "alert_labels", |m| m.alert_labels.as_ref()) {
        for (k, v) in labels.value {
            let path = format!("{}.{}", labels.path, k.as_str());
            let name = values::alert_label_name(ctx, &path, k);
            alert_labels.insert(name, values::text(ctx, &path, v));
        }
    }
    let metrics_possible = version.is_some_and(|v| v.at_least(2, 2));
    let harbor_metrics = match pick(sp, site, top, "harbor_metrics", |m| m.harbor_metrics.as_ref()) {
        Some(From { value: true, path }) if !metrics_possible => {
            if let Some(v) = version {
                ctx.emit(
                    RuleCode::MN002,
                    path,
                    format!("site `{}` runs Harbor {v}, which has no metrics (they came with 2.2)", s.name),
                    format!(
                        "set `{sp}.monitoring.harbor_metrics: false` (the hosts are still monitored by their exporters), or upgrade Harbor to 2.2 or later"
                    ),
                );
            }
            false
        }
        Some(From { value, .. }) => *value,
        None => metrics_possible,
    };
    let (prometheus, prometheus_host) = prometheus?;
    Some(Monitoring { prometheus, prometheus_host, scrape_interval, alert_labels, harbor_metrics })
}

/// MN001: the Prometheus server's address (and inventory host), when it names a host of the
/// file or is an address inside one of the file's site subnets.
fn prometheus_address(
    ctx: &mut Ctx,
    spec: &TopologySpec,
    path: &str,
    raw: &Raw<HostOrAddress>,
) -> Option<(IpAddr, Option<crate::model::ids::HostName>)> {
    let Ok(v) = HostOrAddress::parse(raw.as_str()) else {
        ctx.emit(
            RuleCode::MN001,
            path,
            format!("`{raw}` is neither an inventory host name nor an IP address"),
            "name the inventory host Prometheus runs on, or give its IP address (the firewall opens the metrics ports to an address)",
        );
        return None;
    };
    let (addr, host) = match v.as_str().parse::<IpAddr>() {
        Ok(a) => (a, None),
        Err(_) => {
            let found = spec.sites.iter().flat_map(|s| &s.hosts).find(|h| h.name.as_str() == v.as_str());
            let Some(h) = found else {
                ctx.emit(
                    RuleCode::MN001,
                    path,
                    format!("prometheus `{v}` is not a host of this file"),
                    "name a host of the inventory, or give the Prometheus server's IP address",
                );
                return None;
            };
            (h.address, crate::model::ids::HostName::parse(h.name.as_str()).ok())
        }
    };
    if addr.is_loopback() || addr.is_unspecified() || addr.is_multicast() {
        ctx.emit(
            RuleCode::MN001,
            path,
            format!("prometheus address {addr} cannot scrape other machines"),
            "give the address the Prometheus server has on the site network",
        );
        return None;
    }
    if !spec.sites.iter().any(|s| s.network.subnet.contains(&addr)) {
        let nets: Vec<String> = spec.sites.iter().map(|s| s.network.subnet.to_string()).collect();
        ctx.emit(
            RuleCode::MN001,
            path,
            format!("prometheus address {addr} is outside every network of the file ({})", nets.join(", ")),
            "run Prometheus on an address inside a site's network.subnet (or name an inventory host): the firewall rules and scrape targets only reach those networks",
        );
        return None;
    }
    Some((addr, host))
}

/// MN003: the site's syslog endpoint (`log.syslog`), when it (or the top level) names one.
pub(in crate::validate) fn syslog(
    ctx: &mut Ctx,
    sp: &str,
    spec: &TopologySpec,
    s: &SiteSpec,
) -> Option<SyslogEndpoint> {
    let (raw, path) = match (&s.log, &spec.log) {
        (Some(LogSpec { syslog: Some(u) }), _) => (u, format!("{sp}.log.syslog")),
        (None, Some(LogSpec { syslog: Some(u) })) => (u, "log.syslog".to_string()),
        _ => return None,
    };
    match parse_syslog(raw) {
        Ok(e) => Some(e),
        Err(why) => {
            ctx.emit(
                RuleCode::MN003,
                path,
                format!("`log.syslog` {why}"),
                "write the syslog server as tcp://host:port or udp://host:port, e.g. tcp://logs.example.com:514",
            );
            None
        }
    }
}

/// A syslog URL, or why it is not one Harbor's log forwarder can use.
fn parse_syslog(raw: &Raw<SyslogUrl>) -> Result<SyslogEndpoint, &'static str> {
    let u = Url::parse(raw.as_str()).map_err(|_| "is not a URL")?;
    let protocol = match u.scheme() {
        "tcp" => SyslogProtocol::Tcp,
        "udp" => SyslogProtocol::Udp,
        _ => return Err("must use tcp or udp (Harbor forwards its logs over one of the two)"),
    };
    let host = u.host_str().ok_or("has no host")?.trim_start_matches('[').trim_end_matches(']');
    let host = DnsName::parse(host).map_err(|_| "has an invalid host name")?;
    let port = u.port().filter(|p| *p > 0).ok_or("has no port")?;
    if !(u.path().is_empty() || u.path() == "/") || u.query().is_some() || u.fragment().is_some() {
        return Err("has a path, query or fragment");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("contains user information");
    }
    let loopback = host.as_str().eq_ignore_ascii_case("localhost")
        || host.as_str().parse::<IpAddr>().is_ok_and(|a| a.is_loopback() || a.is_unspecified());
    if loopback {
        return Err("names the loopback address, which inside Harbor's log container is the container itself");
    }
    Ok(SyslogEndpoint { protocol, host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_urls() {
        let ok = parse_syslog(&Raw::new("tcp://logs.example.com:514")).unwrap();
        assert_eq!((ok.protocol, ok.host.as_str(), ok.port), (SyslogProtocol::Tcp, "logs.example.com", 514));
        let v6 = parse_syslog(&Raw::new("udp://[2001:db8::7]:5140")).unwrap();
        assert_eq!((v6.protocol, v6.host.as_str()), (SyslogProtocol::Udp, "2001:db8::7"));
        for bad in [
            "logs:514",
            "http://logs:514",
            "tcp://logs",
            "tcp://logs:514/x",
            "tcp://u:p@logs:514",
            "tcp://localhost:514",
            "tcp://127.0.0.1:514",
            "tcp://a b:514",
            "tcp://logs:0",
        ] {
            assert!(parse_syslog(&Raw::new(bad)).is_err(), "{bad}");
        }
    }
}
