//! `monitoring/rules/harbor-ha.rules.yml`: one rule group per monitored site, evaluated at
//! the site's scrape interval. Each alert is filtered to the site's series and carries the
//! labels `site` and `severity` and the site's `alert_labels`; the values that depend on
//! the topology (the number of Harbor nodes, the data volume's mount points) are written
//! into the expressions. The runbook's Monitoring section says what each alert means and
//! what to do ([`ALERTS`] is its list).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{data_volume_mounts, lb_tls, runs_postgres, runs_redis, scrapes_jobservice};
use crate::bundle::Bundle;
use crate::model::enums::Role;
use crate::model::resolved::{Monitoring, Site};

/// Every alert the rules can hold, with a one-line meaning and what to do (the runbook prints them).
pub const ALERTS: &[(&str, &str, &str)] = &[
    ("HostDown", "a host's node exporter has not answered for 1 minute: the machine, its network or the exporter is down", "check the machine (console, hypervisor); if only the exporter stopped, restart it (`systemctl restart` the node exporter)"),
    ("HarborNodeDown", "a Harbor node answers neither its node exporter nor any of its Harbor components", "the load balancer already skips it; bring the machine back, then run its install.sh (it starts Harbor and waits for the health endpoint) and `./verify.sh`"),
    ("HarborSiteDegraded", "fewer Harbor nodes are healthy (machine, core and registry up) than the site has: it is no longer highly available, or no longer serving", "find the node(s) in HarborNodeDown or HarborComponentDown and bring them back before another one fails"),
    ("HarborComponentDown", "Harbor's core, registry or jobservice on one node does not answer its metrics endpoint", "on the node: `docker ps -a` and `docker compose logs <component>` in the Harbor directory; `docker compose up -d` restarts what stopped"),
    ("HarborComponentUnhealthy", "Harbor's own health check reports a component (database, redis, registry, jobservice, trivy…) unhealthy", "the `component` label names it: for database or redis, look at PostgreSQL and Redis (and their alerts); otherwise the component's container logs"),
    ("MetricsExporterDown", "the PostgreSQL, Redis, nginx or Harbor exporter, or mtail, of a host does not answer: that tier is not watched", "restart the exporter's unit on the host (`systemctl status` names the failure: often the database or Redis credentials)"),
    ("HarborTaskQueueLatencyHigh", "the oldest job of a jobservice queue has waited more than 5 minutes (replication, GC, scans pile up)", "check jobservice on every node (HarborComponentDown), Redis (the queues live there), and long-running GC or replication jobs in the UI"),
    ("LbVipHolderChanged", "the virtual IP moved to the other load balancer in the last 5 minutes", "find out why the old holder lost it: nginx failed its check, keepalived stopped, or the machine rebooted (journal of keepalived on both LBs)"),
    ("LbNoVipHolder", "no load balancer holds the virtual IP: clients cannot reach Harbor", "start keepalived and nginx on at least one LB (`systemctl start keepalived nginx`); check the check script (`/etc/keepalived/check_nginx.sh`) by hand"),
    ("LbVipSplitBrain", "both load balancers hold the virtual IP (VRRP adverts between them are lost)", "check that VRRP (IP protocol 112) passes between the two LBs (firewall, switch); stop keepalived on one LB until it does"),
    ("Lb5xxRatioHigh", "more than 5% of the responses of the load balancers were 5xx over 5 minutes", "502/504: the LB cannot reach nodes (HarborNodeDown, firewall); 500: a node fails (its core logs); the access log's `upstream=` field names the node"),
    ("CertificateExpiresSoon", "the load balancer's TLS certificate expires in less than 21 days", "renew the certificate at the path the LB uses and reload nginx on every LB (`nginx -t && systemctl reload nginx`)"),
    ("PostgresPrimaryLost", "no PostgreSQL server of the site answers as primary: Harbor cannot write", "start PostgreSQL on the primary (`systemctl start` its unit); with a replicated cluster, check its failover manager and promote a standby if it did not"),
    ("PostgresMultiplePrimaries", "more than one PostgreSQL server answers as primary (split brain): writes diverge", "stop the one Harbor must not use at once, then rebuild it as a standby of the other"),
    ("PostgresReplicationLag", "a standby replays the primary's changes more than 30 s late: a failover now would lose them", "check the standby's disk and network, and `pg_stat_replication` on the primary"),
    ("PostgresConnectionsHigh", "PostgreSQL has more than 80% of `max_connections` in use (DB004 sized them for the nodes' pools)", "look for connection leaks or a burst of jobs (`pg_stat_activity`); raise `database.max_connections` in the topology, render and install the database host"),
    ("RedisMasterChanged", "a Redis server became master in the last 5 minutes (a Sentinel failover)", "check why the old master failed; Harbor reconnects through Sentinel (2.1+), the proxy serves the new master"),
    ("RedisMemoryHighNoEviction", "Redis uses more than 80% of its memory limit (or of the machine's memory) with `noeviction`: at 100% every write, so every queued job, fails", "free memory or raise the limit; look for huge job queues (HarborTaskQueueLatencyHigh) and stale keys"),
    ("DataVolumeSpaceLow", "less than 15% space is left on the filesystem that holds the data volume (the Harbor nodes' data_volume, the NFS export)", "run garbage collection in Harbor, remove unused artifacts (retention), or grow the filesystem"),
];

#[derive(Serialize)]
struct File {
    groups: Vec<Group>,
}

#[derive(Serialize)]
struct Group {
    name: String,
    interval: String,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
struct Rule {
    alert: &'static str,
    expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    for_: Option<&'static str>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<&'static str, String>,
}

/// A PromQL regular expression matching exactly one of `values` (names and paths: `.` and
/// `+` escaped, the backslash doubled for the PromQL string).
fn any_of<S: AsRef<str>>(values: &[S]) -> String {
    let esc: Vec<String> = values.iter().map(|v| v.as_ref().replace('.', "\\\\.").replace('+', "\\\\+")).collect();
    esc.join("|")
}

/// The `role` matcher of hosts with role harbor (the node exporter's `role` lists every role).
const HARBOR_ROLE: &str = r#"role=~"(.+,)?harbor(,.+)?""#;

/// The site's alerts, in [`ALERTS`] order.
struct Rules<'a> {
    site: &'a Site,
    m: &'a Monitoring,
    rules: Vec<Rule>,
}

impl Rules<'_> {
    /// `{site="S", …}`.
    fn sel(&self, extra: &str) -> String {
        if extra.is_empty() {
            format!("{{site=\"{}\"}}", self.site.name.as_str())
        } else {
            format!("{{site=\"{}\", {extra}}}", self.site.name.as_str())
        }
    }

    fn add(&mut self, alert: &'static str, expr: String, for_: Option<&'static str>, severity: &str, summary: String) {
        let mut labels: BTreeMap<String, String> =
            self.m.alert_labels.iter().map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string())).collect();
        labels.insert("severity".into(), severity.into());
        labels.insert("site".into(), self.site.name.as_str().into());
        let description = ALERTS.iter().find(|(a, _, _)| *a == alert).map_or(String::new(), |(_, what, todo)| {
            let mut c = what.chars();
            let first: String = c.next().map(|f| f.to_uppercase().collect()).unwrap_or_default();
            format!("{first}{}. What to do: {todo}.", c.as_str())
        });
        // An aggregated expression keeps no `site` label for the templates: name the site.
        let summary = summary.replace("{{ $labels.site }}", self.site.name.as_str());
        let annotations = BTreeMap::from([
            ("summary", summary),
            ("description", description),
            ("runbook", "README.md, section Monitoring".to_string()),
        ]);
        self.rules.push(Rule { alert, expr, for_, labels, annotations });
    }
}

fn hosts_and_nodes(r: &mut Rules) {
    let n = r.site.harbor_nodes().count();
    let up_node = r.sel(r#"job="node""#);
    r.add(
        "HostDown",
        format!("up{up_node} == 0"),
        Some("1m"),
        "critical",
        "Host {{ $labels.host }} of site {{ $labels.site }} is down".into(),
    );
    let harbor_up = r.sel(&format!(r#"{HARBOR_ROLE}, job=~"node|harbor-core|harbor-registry|harbor-jobservice""#));
    r.add(
        "HarborNodeDown",
        format!("max by (site, host) (up{harbor_up}) == 0"),
        Some("1m"),
        "critical",
        "Harbor node {{ $labels.host }} of site {{ $labels.site }} is down".into(),
    );
    let healthy = r.sel(&format!(r#"{HARBOR_ROLE}, job=~"node|harbor-core|harbor-registry""#));
    r.add(
        "HarborSiteDegraded",
        format!("(count(min by (host) (up{healthy}) == 1) or vector(0)) < {n}"),
        Some("2m"),
        "critical",
        format!("Site {{{{ $labels.site }}}} has {{{{ $value }}}} healthy Harbor node(s) of {n}"),
    );
}

fn harbor(r: &mut Rules) {
    let exporters: Vec<&str> = ["postgres", "redis", "nginx", "lb-log", "harbor-exporter"]
        .into_iter()
        .filter(|j| match *j {
            "postgres" => r.site.hosts.iter().any(|h| runs_postgres(r.site, h)),
            "redis" => r.site.hosts.iter().any(|h| runs_redis(r.site, h)),
            "harbor-exporter" => r.m.harbor_metrics,
            _ => r.site.hosts_with(Role::Lb).next().is_some(),
        })
        .collect();
    if r.m.harbor_metrics {
        let comps = r.sel(r#"job=~"harbor-core|harbor-registry|harbor-jobservice""#);
        r.add(
            "HarborComponentDown",
            format!("up{comps} == 0"),
            Some("1m"),
            "warning",
            "Harbor {{ $labels.job }} on {{ $labels.host }} (site {{ $labels.site }}) is down".into(),
        );
        r.add(
            "HarborComponentUnhealthy",
            format!("harbor_up{} == 0", r.sel("")),
            Some("2m"),
            "warning",
            "Harbor reports {{ $labels.component }} unhealthy (site {{ $labels.site }})".into(),
        );
    }
    if !exporters.is_empty() {
        r.add(
            "MetricsExporterDown",
            format!("up{} == 0", r.sel(&format!("job=~\"{}\"", exporters.join("|")))),
            Some("2m"),
            "warning",
            "The {{ $labels.job }} exporter on {{ $labels.host }} (site {{ $labels.site }}) is down".into(),
        );
    }
    if r.m.harbor_metrics && scrapes_jobservice(r.site) {
        r.add(
            "HarborTaskQueueLatencyHigh",
            format!("max by (site, type) (harbor_task_queue_latency{}) > 300", r.sel("")),
            Some("10m"),
            "warning",
            "Jobs of type {{ $labels.type }} wait {{ $value }} s in site {{ $labels.site }}".into(),
        );
    }
}

fn lb(r: &mut Rules) {
    let lbs = r.site.hosts_with(Role::Lb).count();
    let vip = r.site.lb.as_ref().and_then(|l| l.vip);
    if lbs == 2 && vip.is_some() {
        let held = format!("harbor_ha_vip_held{}", r.sel(""));
        r.add(
            "LbVipHolderChanged",
            format!("sum by (site) (changes({held}[5m])) > 0"),
            None,
            "warning",
            "The virtual IP of site {{ $labels.site }} changed holder".into(),
        );
        r.add(
            "LbNoVipHolder",
            format!("(sum({held}) or vector(0)) < 1"),
            Some("30s"),
            "critical",
            "No load balancer of site {{ $labels.site }} holds the virtual IP".into(),
        );
        r.add(
            "LbVipSplitBrain",
            format!("sum by (site) ({held}) > 1"),
            Some("30s"),
            "critical",
            "{{ $value }} load balancers of site {{ $labels.site }} hold the virtual IP".into(),
        );
    }
    if lbs > 0 {
        let responses = format!("harbor_ha_lb_responses_total{}", r.sel(""));
        let errors = format!("harbor_ha_lb_responses_total{}", r.sel(r#"code=~"5..""#));
        r.add(
            "Lb5xxRatioHigh",
            format!("sum by (site) (rate({errors}[5m])) / sum by (site) (rate({responses}[5m])) > 0.05"),
            Some("5m"),
            "warning",
            "{{ $value | humanizePercentage }} of the responses of site {{ $labels.site }} are 5xx".into(),
        );
    }
    if lbs > 0 && lb_tls(r.site) {
        r.add(
            "CertificateExpiresSoon",
            format!("harbor_ha_tls_cert_not_after_seconds{} - time() < 21 * 86400", r.sel("")),
            Some("1h"),
            "warning",
            "The TLS certificate {{ $labels.path }} on {{ $labels.host }} expires in less than 21 days".into(),
        );
    }
}

fn postgres(r: &mut Rules) {
    if r.site.hosts.iter().any(|h| runs_postgres(r.site, h)) {
        let primary = format!("pg_harbor_ha_replication_is_replica{}", r.sel(""));
        r.add(
            "PostgresPrimaryLost",
            format!("(count({primary} == 0) or vector(0)) < 1"),
            Some("1m"),
            "critical",
            "No PostgreSQL primary in site {{ $labels.site }}".into(),
        );
        r.add(
            "PostgresMultiplePrimaries",
            format!("count by (site) ({primary} == 0) > 1"),
            Some("1m"),
            "critical",
            "{{ $value }} PostgreSQL primaries in site {{ $labels.site }}".into(),
        );
        r.add(
            "PostgresReplicationLag",
            format!("pg_harbor_ha_replication_lag_seconds{} > 30", r.sel("")),
            Some("2m"),
            "warning",
            "PostgreSQL standby {{ $labels.host }} is {{ $value }} s behind".into(),
        );
        r.add(
            "PostgresConnectionsHigh",
            format!(
                "sum by (site, host) (pg_stat_database_numbackends{s}) / on (site, host) max by (site, host) (pg_settings_max_connections{s}) > 0.8",
                s = r.sel("")
            ),
            Some("5m"),
            "warning",
            "PostgreSQL on {{ $labels.host }} uses {{ $value | humanizePercentage }} of max_connections".into(),
        );
    }
}

fn redis(r: &mut Rules) {
    if r.site.hosts.iter().any(|h| runs_redis(r.site, h)) {
        let s = r.sel("");
        // The exporter's own `role` label meets the target's: Prometheus keeps it as `exported_role`.
        let master = r.sel(r#"exported_role="master""#);
        r.add(
            "RedisMasterChanged",
            format!(
                "(max by (site, host) (redis_instance_info{master}) unless on (site, host) max by (site, host) (redis_instance_info{master} offset 5m)) and on (site, host) max by (site, host) (redis_instance_info{s} offset 5m)"
            ),
            None,
            "warning",
            "Redis on {{ $labels.host }} became master (site {{ $labels.site }})".into(),
        );
        r.add(
            "RedisMemoryHighNoEviction",
            format!(
                "redis_memory_used_bytes{s} / on (site, host) (redis_memory_max_bytes{s} > 0 or on (site, host) node_memory_MemTotal_bytes{s}) > 0.8 and on (site, host) max by (site, host) (redis_instance_info{np})",
                np = r.sel(r#"maxmemory_policy="noeviction""#)
            ),
            Some("5m"),
            "warning",
            "Redis on {{ $labels.host }} uses {{ $value | humanizePercentage }} of its memory, with noeviction".into(),
        );
    }
}

fn data_volume(r: &mut Rules) {
    let mut parts = Vec::new();
    for (host, mounts) in data_volume_mounts(r.site) {
        let sel = r.sel(&format!(
            r#"host="{}", mountpoint=~"{}", fstype!~"tmpfs|ramfs""#,
            host.name.as_str(),
            any_of(&mounts)
        ));
        parts.push(format!("node_filesystem_avail_bytes{sel} / node_filesystem_size_bytes{sel} < 0.15"));
    }
    if !parts.is_empty() {
        r.add(
            "DataVolumeSpaceLow",
            parts.join(" or "),
            Some("10m"),
            "warning",
            "{{ $labels.mountpoint }} on {{ $labels.host }} has {{ $value | humanizePercentage }} space left".into(),
        );
    }
}

/// The rule group of one site.
fn group(site: &Site, m: &Monitoring) -> Group {
    let mut r = Rules { site, m, rules: Vec::new() };
    hosts_and_nodes(&mut r);
    harbor(&mut r);
    lb(&mut r);
    postgres(&mut r);
    redis(&mut r);
    data_volume(&mut r);
    let mut rules = r.rules;
    let order = |a: &str| ALERTS.iter().position(|(n, _, _)| *n == a).unwrap_or(usize::MAX);
    rules.sort_by_key(|x| order(x.alert));
    Group { name: format!("harbor-ha-{}", site.name.as_str()), interval: m.scrape_interval.as_str().to_string(), rules }
}

/// The rules file.
#[must_use]
pub fn rules_yml(sites: &[(&Site, &Monitoring)]) -> String {
    let file = File { groups: sites.iter().map(|(s, m)| group(s, m)).collect() };
    format!(
        "# Generated by harbor-ha: alert rules, one group per site. README.md (section Monitoring) says\n# what each alert means and what to do.\n{}",
        serde_yaml::to_string(&file).unwrap_or_default()
    )
}

/// Add `monitoring/rules/harbor-ha.rules.yml`.
pub fn render(sites: &[(&Site, &Monitoring)], bundle: &mut Bundle) {
    bundle.add("monitoring/rules/harbor-ha.rules.yml", rules_yml(sites), 0o644);
}
