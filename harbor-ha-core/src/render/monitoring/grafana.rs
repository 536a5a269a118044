//! `monitoring/grafana/harbor-ha.json`: a Grafana dashboard with one row per tier (load
//! balancers, Harbor nodes, PostgreSQL, Redis, storage), templated by `site` (a variable
//! over the `site` label of `up`). Every panel query uses only metrics of
//! [`super::metrics::METRICS`] (a test holds it to that, and parses each with promtool).
//! The same dashboard serves every site and every topology: it names no host.

use serde_json::{json, Value};

use crate::bundle::Bundle;

/// One panel: its title, unit and queries (`expr`, legend).
pub struct Panel {
    /// Title.
    pub title: &'static str,
    /// Grafana unit.
    pub unit: &'static str,
    /// PromQL expressions with their legends; `$site` is the dashboard variable.
    pub queries: &'static [(&'static str, &'static str)],
}

/// The rows: a tier and its panels.
pub const ROWS: &[(&str, &[Panel])] = &[
    (
        "Load balancers",
        &[
            Panel {
                title: "Requests per second",
                unit: "reqps",
                queries: &[(r#"sum by (host) (rate(nginx_http_requests_total{site="$site"}[5m]))"#, "{{host}}")],
            },
            Panel {
                title: "5xx ratio",
                unit: "percentunit",
                queries: &[(
                    r#"sum(rate(harbor_ha_lb_responses_total{site="$site", code=~"5.."}[5m])) / sum(rate(harbor_ha_lb_responses_total{site="$site"}[5m]))"#,
                    "5xx",
                )],
            },
            Panel {
                title: "Virtual IP holder",
                unit: "none",
                queries: &[(r#"harbor_ha_vip_held{site="$site"}"#, "{{host}}")],
            },
            Panel {
                title: "Active connections",
                unit: "short",
                queries: &[(r#"nginx_connections_active{site="$site"}"#, "{{host}}")],
            },
            Panel {
                title: "TLS certificate: days left",
                unit: "d",
                queries: &[(r#"(harbor_ha_tls_cert_not_after_seconds{site="$site"} - time()) / 86400"#, "{{host}}")],
            },
        ],
    ),
    (
        "Harbor nodes",
        &[
            Panel {
                title: "Targets up",
                unit: "none",
                queries: &[(r#"up{site="$site", job=~"node|harbor-.*"}"#, "{{host}} {{job}}")],
            },
            Panel {
                title: "Harbor's component health",
                unit: "none",
                queries: &[(r#"harbor_up{site="$site"}"#, "{{component}}")],
            },
            Panel {
                title: "Core requests per second by code",
                unit: "reqps",
                queries: &[(
                    r#"sum by (host, code) (rate(harbor_core_http_request_total{site="$site"}[5m]))"#,
                    "{{host}} {{code}}",
                )],
            },
            Panel {
                title: "Registry requests per second by code",
                unit: "reqps",
                queries: &[(
                    r#"sum by (host, code) (rate(registry_http_requests_total{site="$site"}[5m]))"#,
                    "{{host}} {{code}}",
                )],
            },
            Panel {
                title: "Jobs finished per second",
                unit: "ops",
                queries: &[(
                    r#"sum by (type, status) (rate(harbor_jobservice_task_total{site="$site"}[5m]))"#,
                    "{{type}} {{status}}",
                )],
            },
            Panel {
                title: "Task queue latency",
                unit: "s",
                queries: &[(r#"max by (type) (harbor_task_queue_latency{site="$site"})"#, "{{type}}")],
            },
            Panel {
                title: "Task queue size",
                unit: "short",
                queries: &[(r#"sum by (type) (harbor_task_queue_size{site="$site"})"#, "{{type}}")],
            },
            Panel {
                title: "CPU busy",
                unit: "percentunit",
                queries: &[(
                    r#"1 - avg by (host) (rate(node_cpu_seconds_total{site="$site", mode="idle"}[5m]))"#,
                    "{{host}}",
                )],
            },
        ],
    ),
    (
        "PostgreSQL",
        &[
            Panel {
                title: "Connections / max_connections",
                unit: "percentunit",
                queries: &[(
                    r#"sum by (host) (pg_stat_database_numbackends{site="$site"}) / on (host) max by (host) (pg_settings_max_connections{site="$site"})"#,
                    "{{host}}",
                )],
            },
            Panel {
                title: "Primary (0) or standby (1)",
                unit: "none",
                queries: &[(r#"pg_harbor_ha_replication_is_replica{site="$site"}"#, "{{host}}")],
            },
            Panel {
                title: "Replication lag",
                unit: "s",
                queries: &[(r#"pg_harbor_ha_replication_lag_seconds{site="$site"}"#, "{{host}}")],
            },
            Panel { title: "Up", unit: "none", queries: &[(r#"pg_up{site="$site"}"#, "{{host}}")] },
        ],
    ),
    (
        "Redis",
        &[
            Panel {
                title: "Memory used",
                unit: "bytes",
                queries: &[(r#"redis_memory_used_bytes{site="$site"}"#, "{{host}}")],
            },
            Panel {
                title: "Role",
                unit: "none",
                queries: &[(r#"redis_instance_info{site="$site"}"#, "{{host}} {{exported_role}}")],
            },
            Panel {
                title: "Clients and replicas",
                unit: "short",
                queries: &[
                    (r#"redis_connected_clients{site="$site"}"#, "{{host}} clients"),
                    (r#"redis_connected_slaves{site="$site"}"#, "{{host}} replicas"),
                ],
            },
        ],
    ),
    (
        "Storage",
        &[
            Panel {
                title: "Free space (data volume and NFS export hosts)",
                unit: "percentunit",
                queries: &[(
                    r#"node_filesystem_avail_bytes{site="$site", role=~".*(harbor|nfs).*", fstype!~"tmpfs|ramfs"} / node_filesystem_size_bytes{site="$site", role=~".*(harbor|nfs).*", fstype!~"tmpfs|ramfs"}"#,
                    "{{host}} {{mountpoint}}",
                )],
            },
            Panel {
                title: "Projects",
                unit: "short",
                queries: &[(r#"sum(harbor_project_total{site="$site"})"#, "projects")],
            },
        ],
    ),
];

fn panel(id: u32, p: &Panel, x: u32, y: u32) -> Value {
    let targets: Vec<Value> = p
        .queries
        .iter()
        .enumerate()
        .map(|(i, (expr, legend))| {
            json!({
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "expr": expr,
                "legendFormat": legend,
                "refId": char::from(b'A' + u8::try_from(i).unwrap_or(0)).to_string(),
            })
        })
        .collect();
    json!({
        "id": id,
        "type": "timeseries",
        "title": p.title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
        "gridPos": {"h": 8, "w": 8, "x": x, "y": y},
        "targets": targets,
    })
}

/// The dashboard JSON.
#[must_use]
pub fn dashboard() -> String {
    let mut panels = Vec::new();
    let (mut id, mut y) = (1u32, 0u32);
    for (title, row) in ROWS {
        panels.push(json!({"id": id, "type": "row", "title": title, "collapsed": false, "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []}));
        id += 1;
        y += 1;
        for (i, p) in row.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(0);
            panels.push(panel(id, p, (i % 3) * 8, y + (i / 3) * 8));
            id += 1;
        }
        y += u32::try_from(row.len().div_ceil(3)).unwrap_or(0) * 8;
    }
    let d = json!({
        "title": "Harbor HA",
        "uid": "harbor-ha",
        "tags": ["harbor", "harbor-ha"],
        "schemaVersion": 39,
        "version": 1,
        "editable": true,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"},
            {
                "name": "site", "type": "query", "label": "Site",
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "query": {"query": "label_values(up{job=\"node\"}, site)", "refId": "site"},
                "definition": "label_values(up{job=\"node\"}, site)",
                "refresh": 2, "includeAll": false, "multi": false
            }
        ]},
        "panels": panels,
    });
    serde_json::to_string_pretty(&d).unwrap_or_default() + "\n"
}

/// Add `monitoring/grafana/harbor-ha.json`.
pub fn render(bundle: &mut Bundle) {
    bundle.add("monitoring/grafana/harbor-ha.json", dashboard(), 0o644);
}
