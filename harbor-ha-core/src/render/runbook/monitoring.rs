//! The README's `## Monitoring` section, when a site is monitored or sends its logs to a
//! syslog server: what the bundle installs, how to load `monitoring/` into Prometheus and
//! Grafana, and what each alert means and what to do ([`ALERTS`]).

use std::fmt::Write;

use super::{code, code_list};
use crate::model::enums::Role;
use crate::model::resolved::{Site, Topology};
use crate::render::monitoring::rules::ALERTS;
use crate::render::monitoring::{targets, Kind};

/// Add the section (nothing when no site is monitored or logs to syslog).
pub(super) fn section(s: &mut String, topo: &Topology) {
    let monitored: Vec<&Site> = topo.sites.iter().filter(|x| x.monitoring.is_some()).collect();
    let logging: Vec<&Site> = topo.sites.iter().filter(|x| x.syslog.is_some()).collect();
    if monitored.is_empty() && logging.is_empty() {
        return;
    }
    let _ = writeln!(s, "## Monitoring\n");
    if !monitored.is_empty() {
        prometheus(s, &monitored);
        alerts(s);
    }
    if !logging.is_empty() {
        logs(s, &logging);
    }
}

fn prometheus(s: &mut String, sites: &[&Site]) {
    let _ = writeln!(
        s,
        "Every host's install.sh installs the exporters of its roles from the OS packages (Debian and Ubuntu ship them; CentOS and Rocky take them from the prometheus-rpm repository, which install.sh adds), each listening on the host's own address, and opens their ports to the Prometheus server only (Harbor's metrics port also in Docker's `DOCKER-USER` chain). The bundle does not install Prometheus or Grafana:\n"
    );
    let _ = writeln!(
        s,
        "1. Copy `monitoring/` to the Prometheus server (e.g. to `/etc/prometheus/harbor-ha/`) and start Prometheus with `--config.file=<that directory>/prometheus.yml`; `rules/` and `targets/` are found beside it. Check first: `promtool check config prometheus.yml`. Re-rendering changes only these files: copy them again and reload Prometheus (`kill -HUP`, or `curl -X POST .../-/reload` with `--web.enable-lifecycle`)."
    );
    let _ = writeln!(
        s,
        "2. Point Alertmanager at the alerts' labels: `site`, `severity` (`critical` or `warning`) and the site's `alert_labels`."
    );
    let _ = writeln!(
        s,
        "3. Import `monitoring/grafana/harbor-ha.json` into Grafana (Dashboards, Import) and choose the Prometheus data source: one row per tier (load balancers, Harbor nodes, PostgreSQL, Redis, storage), with a `site` selector.\n"
    );
    for site in sites {
        let Some(m) = &site.monitoring else { continue };
        let who = m
            .prometheus_host
            .as_ref()
            .map_or_else(|| code(m.prometheus), |h| format!("{} ({})", code(h), m.prometheus));
        let _ = writeln!(s, "Site {}: Prometheus {who}, every {}.", code(&site.name), m.scrape_interval);
        let ts = targets(site, m);
        let of = |k: Kind| code_list(ts.iter().filter(|t| t.kind == k).map(|t| &t.host.name));
        let _ = writeln!(s, "- node exporter (port 9100) on every host: {}", of(Kind::Node));
        if ts.iter().any(|t| t.kind == Kind::Postgres) {
            let _ = writeln!(
                s,
                "- PostgreSQL exporter (9187) as the database role `prometheus` (`pg_monitor`; peer authentication over the local socket): {}",
                of(Kind::Postgres)
            );
        }
        if ts.iter().any(|t| t.kind == Kind::Redis) {
            let _ = writeln!(s, "- Redis exporter (9121): {}", of(Kind::Redis));
        }
        if site.hosts_with(Role::Lb).next().is_some() {
            let _ = writeln!(
                s,
                "- on the load balancers {}: the nginx exporter (9113, from `stub_status` on 127.0.0.1:8090), mtail (3903, responses by status code from the access log) and `harbor-ha-lb-state.timer` (every 10 s: whether the LB holds the virtual IP, when its certificate expires; the node exporter's textfile collector)",
                of(Kind::Nginx)
            );
        }
        if m.harbor_metrics {
            let _ = writeln!(
                s,
                "- Harbor's metrics (harbor.yml `metric:`, port 9090): core, registry{} on every node (`/metrics?comp=`), and Harbor's exporter once, on {} (it reads the shared database: scraping it on every node would count the business metrics N times; while that node is down, its business metrics pause and MetricsExporterDown says so)",
                if ts.iter().any(|t| t.kind == Kind::HarborJobservice) { " and jobservice" } else { "" },
                of(Kind::HarborExporter)
            );
        } else {
            let _ = writeln!(
                s,
                "- no Harbor metrics (Harbor {} has none before 2.2, or `harbor_metrics: false`): the Harbor nodes are watched as machines only",
                site.harbor.version
            );
        }
        s.push('\n');
    }
}

fn alerts(s: &mut String) {
    let _ = writeln!(
        s,
        "### Alerts\n\nThe rules (`monitoring/rules/harbor-ha.rules.yml`, one group per site) hold the alerts that apply to the site: the virtual-IP alerts need two load balancers, the PostgreSQL and Redis alerts a server the bundle installs, the Harbor alerts Harbor's metrics. Each alert's description repeats the line below.\n"
    );
    let _ = writeln!(s, "| Alert | What it means | What to do |");
    let _ = writeln!(s, "|---|---|---|");
    for (name, what, todo) in ALERTS {
        let _ = writeln!(s, "| `{name}` | {what} | {todo} |");
    }
    s.push('\n');
}

fn logs(s: &mut String, sites: &[&Site]) {
    let _ = writeln!(s, "### Central logs\n");
    for site in sites {
        let Some(e) = &site.syslog else { continue };
        let _ = writeln!(
            s,
            "- Site {}: logs go to {} over {}. The Harbor nodes forward through Harbor's log container (harbor.yml `log.external_endpoint`), which then writes nothing under `/var/log/harbor`: while the syslog server is unreachable those lines are lost. Every other host forwards its journal with rsyslog (`/etc/rsyslog.d/90-harbor-ha-forward.conf`, an in-memory queue that retries).",
            code(&site.name),
            code(format!("{}:{}", e.host, e.port)),
            e.protocol.as_str()
        );
    }
    s.push('\n');
}
