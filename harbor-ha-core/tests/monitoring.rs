//! The monitoring pack checked by the real Prometheus tools (Debian's `prometheus` package):
//! `promtool check config` and `check rules` on every monitored fixture's `monitoring/`, the
//! alert rules' unit tests (`tests/monitoring/harbor-ha.rules.test.yml`, `promtool test
//! rules`), every dashboard query parsed by promtool and held, with every alert expression,
//! to the list of exposed metrics; mtail's program and rsyslog's forwarding by mtail and
//! rsyslogd themselves. A site without `monitoring` gets none of it.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests set up files and run the real programs"
)]

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use harbor_ha_core::bundle::Bundle;
use harbor_ha_core::render::monitoring::{grafana, metrics, rules::ALERTS};
use serde_yaml::Value;

/// The fixture whose rules the unit tests are written for.
const RULES_FIXTURE: &str = "fixtures/valid/monitoring-debian12-two-lbs.yaml";

fn monitored(b: &Bundle) -> bool {
    b.files.contains_key("monitoring/prometheus.yml")
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn every_monitored_fixture_passes_promtool_check() {
    if !common::require_tool("promtool") {
        return;
    }
    let mut checked = 0;
    for p in common::renderable_fixtures() {
        let t = common::topology(&p);
        let b = common::render_topology(&t);
        if !monitored(&b) {
            assert!(
                !b.files.keys().any(|k| k.starts_with("monitoring/")),
                "{}: a site without monitoring gets no monitoring/",
                p.display()
            );
            for (k, f) in &b.files {
                if k.ends_with("harbor.yml") {
                    assert!(!f.content.contains("\nmetric:"), "{}: {k} has a metric block", p.display());
                }
            }
            continue;
        }
        let dir = common::TempDir::new("promtool-check");
        common::write_tree(&b, &dir.0);
        let mon = dir.0.join("monitoring");
        let (ok, out) = run(Command::new("promtool").arg("check").arg("config").arg(mon.join("prometheus.yml")));
        assert!(ok, "{}: promtool check config:\n{out}", p.display());
        let (ok, out) =
            run(Command::new("promtool").arg("check").arg("rules").arg(mon.join("rules/harbor-ha.rules.yml")));
        assert!(ok, "{}: promtool check rules:\n{out}", p.display());
        // Every target file the config names exists, with targets in it.
        let cfg: Value = serde_yaml::from_str(&b.files["monitoring/prometheus.yml"].content).unwrap();
        for job in cfg["scrape_configs"].as_sequence().unwrap() {
            for f in job["file_sd_configs"][0]["files"].as_sequence().unwrap() {
                let rel = format!("monitoring/{}", f.as_str().unwrap());
                let groups: serde_json::Value = serde_json::from_str(&b.files[&rel].content).unwrap();
                assert!(!groups.as_array().unwrap().is_empty(), "{}: {rel} has no targets", p.display());
            }
        }
        checked += 1;
    }
    assert!(checked >= 2, "the monitored fixtures are missing");
}

#[test]
fn harbor_metrics_only_from_2_2() {
    let b = common::render_topology(&common::topology(
        &common::root().join("fixtures/valid/monitoring-harbor-1.10-centos7.yaml"),
    ));
    for (k, f) in &b.files {
        if k.ends_with("harbor.yml") {
            assert!(!f.content.contains("\nmetric:"), "{k}: Harbor 1.10 has no metrics");
            assert!(f.content.contains("external_endpoint:\n    protocol: udp"), "{k}: the syslog endpoint");
        }
        assert!(!k.contains("/targets/") || !k.contains("/harbor-"), "{k}: no Harbor target on 1.10");
    }
    let b = common::render_topology(&common::topology(&common::root().join(RULES_FIXTURE)));
    let yml = &b.files["hosts/mon-harbor-1/files/usr/local/harbor/harbor.yml"].content;
    assert!(yml.contains("\nmetric:\n  enabled: true\n  port: 9090\n  path: /metrics\n"), "{yml}");
    // The exporter (business metrics from the shared database) once per site.
    let ex = &b.files["monitoring/targets/mon/harbor-exporter.json"].content;
    assert_eq!(ex.matches("\"host\"").count(), 1, "{ex}");
    assert_eq!(b.files["monitoring/targets/mon/harbor-core.json"].content.matches("\"host\"").count(), 2);
}

/// The rules file of the fixture without annotations (their text is in the bundle snapshot;
/// promtool would compare it too).
fn rules_without_annotations(b: &Bundle) -> String {
    let mut v: Value = serde_yaml::from_str(&b.files["monitoring/rules/harbor-ha.rules.yml"].content).unwrap();
    for g in v["groups"].as_sequence_mut().unwrap() {
        for r in g["rules"].as_sequence_mut().unwrap() {
            r.as_mapping_mut().unwrap().remove("annotations");
        }
    }
    serde_yaml::to_string(&v).unwrap()
}

#[test]
fn every_alert_has_a_firing_and_a_quiet_unit_test() {
    let tests_path = common::root().join("tests/monitoring/harbor-ha.rules.test.yml");
    let text = std::fs::read_to_string(&tests_path).unwrap();
    let tests: Value = serde_yaml::from_str(&text).unwrap();
    let (mut fires, mut quiet) = (BTreeSet::new(), BTreeSet::new());
    for t in tests["tests"].as_sequence().unwrap() {
        for a in t["alert_rule_test"].as_sequence().unwrap() {
            let name = a["alertname"].as_str().unwrap().to_string();
            if a["exp_alerts"].as_sequence().is_some_and(|s| !s.is_empty()) {
                fires.insert(name);
            } else {
                quiet.insert(name);
            }
        }
    }
    let b = common::render_topology(&common::topology(&common::root().join(RULES_FIXTURE)));
    let rules = &b.files["monitoring/rules/harbor-ha.rules.yml"].content;
    for (alert, _, _) in ALERTS {
        assert!(rules.contains(&format!("alert: {alert}\n")), "{RULES_FIXTURE} lacks the alert {alert}");
        assert!(fires.contains(*alert), "no unit test fires {alert}");
        assert!(quiet.contains(*alert), "no unit test where {alert} stays quiet");
    }
    if !common::require_tool("promtool") {
        return;
    }
    let dir = common::TempDir::new("promtool-test");
    std::fs::write(dir.0.join("harbor-ha.rules.yml"), rules_without_annotations(&b)).unwrap();
    std::fs::write(dir.0.join("harbor-ha.rules.test.yml"), &text).unwrap();
    let (ok, out) =
        run(Command::new("promtool").current_dir(&dir.0).args(["test", "rules", "harbor-ha.rules.test.yml"]));
    assert!(ok && out.contains("SUCCESS"), "promtool test rules:\n{out}");
}

/// The metric names an expression reads: identifiers outside strings, label matchers, ranges
/// and the label lists of `by`/`on`/…, and not functions or keywords.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut plain = String::new();
    let (mut depth_brace, mut depth_bracket, mut in_str) = (0, 0, false);
    for c in expr.chars() {
        match c {
            '"' if depth_brace == 0 => in_str = !in_str,
            _ if in_str => {}
            '{' => depth_brace += 1,
            '}' => depth_brace -= 1,
            '[' => depth_bracket += 1,
            ']' => depth_bracket -= 1,
            _ if depth_brace > 0 || depth_bracket > 0 => {}
            c => plain.push(c),
        }
        if c == '}' || c == ']' {
            plain.push(' ');
        }
    }
    const KEYWORDS: [&str; 11] =
        ["by", "on", "without", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool"];
    let mut names = BTreeSet::new();
    let chars: Vec<char> = plain.chars().collect();
    let mut i = 0;
    let mut skip_list = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace()).copied();
            const AGGREGATIONS: [&str; 12] = [
                "sum",
                "min",
                "max",
                "avg",
                "count",
                "group",
                "stddev",
                "stdvar",
                "topk",
                "bottomk",
                "quantile",
                "count_values",
            ];
            if AGGREGATIONS.contains(&word.as_str()) {
                // `sum by (…) (…)`: an aggregation, whatever follows it.
            } else if KEYWORDS.contains(&word.as_str()) {
                skip_list =
                    matches!(word.as_str(), "by" | "on" | "without" | "ignoring" | "group_left" | "group_right");
            } else if next == Some('(') {
                // A function or aggregation.
            } else if !skip_list {
                names.insert(word);
            }
            continue;
        }
        if c == ')' && skip_list {
            skip_list = false;
        }
        // Numbers (and their exponents/units) are not names.
        if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    names
}

#[test]
fn metric_names_of_an_expression() {
    let n = metric_names(
        r#"sum by (site, host) (rate(a_total{code=~"5..", x="by(y)"}[5m])) / on (site) max(b{s="1"} offset 5m) > 0.8 and c - time() < 21 * 86400"#,
    );
    assert_eq!(n.into_iter().collect::<Vec<_>>(), ["a_total", "b", "c"]);
}

#[test]
fn every_expression_names_only_exposed_metrics() {
    let b = common::render_topology(&common::topology(&common::root().join(RULES_FIXTURE)));
    let rules: Value = serde_yaml::from_str(&b.files["monitoring/rules/harbor-ha.rules.yml"].content).unwrap();
    let mut exprs: Vec<String> = Vec::new();
    for g in rules["groups"].as_sequence().unwrap() {
        for r in g["rules"].as_sequence().unwrap() {
            exprs.push(r["expr"].as_str().unwrap().to_string());
        }
    }
    for (_, row) in grafana::ROWS {
        for p in *row {
            exprs.extend(p.queries.iter().map(|(e, _)| e.to_string()));
        }
    }
    let mut used = BTreeSet::new();
    for e in &exprs {
        for name in metric_names(e) {
            assert!(
                metrics::source(&name).is_some(),
                "`{name}` in `{e}` is not in render::monitoring::metrics::METRICS"
            );
            used.insert(name);
        }
    }
    for (name, _) in metrics::METRICS {
        assert!(used.contains(*name), "METRICS lists `{name}`, which no rule or panel uses");
    }
}

#[test]
fn every_dashboard_query_parses_with_promtool() {
    let b = common::render_topology(&common::topology(&common::root().join(RULES_FIXTURE)));
    let dash: serde_json::Value = serde_json::from_str(&b.files["monitoring/grafana/harbor-ha.json"].content).unwrap();
    let panels = dash["panels"].as_array().unwrap();
    let rows: Vec<&str> = panels.iter().filter(|p| p["type"] == "row").map(|p| p["title"].as_str().unwrap()).collect();
    assert_eq!(rows, ["Load balancers", "Harbor nodes", "PostgreSQL", "Redis", "Storage"]);
    assert_eq!(dash["templating"]["list"][1]["name"], "site");
    let mut exprs = Vec::new();
    for p in panels.iter().filter(|p| p["type"] != "row") {
        for t in p["targets"].as_array().unwrap() {
            let e = t["expr"].as_str().unwrap();
            assert!(e.contains("site=\"$site\""), "a panel query not templated by site: {e}");
            exprs.push(e.replace("$site", "mon"));
        }
    }
    assert!(exprs.len() >= 15);
    if !common::require_tool("promtool") {
        return;
    }
    // Each query as a recording rule: promtool parses every expression.
    let mut file = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        file.push_str(&format!(
            "      - record: harbor_ha:dashboard_query_{i}\n        expr: {}\n",
            serde_json::to_string(e).unwrap()
        ));
    }
    let dir = common::TempDir::new("promtool-dashboard");
    let path = dir.0.join("dashboard.rules.yml");
    std::fs::write(&path, &file).unwrap();
    let (ok, out) = run(Command::new("promtool").arg("check").arg("rules").arg(&path));
    assert!(ok && out.contains(&format!("{} rules found", exprs.len())), "promtool check rules:\n{out}\n{file}");
}

#[test]
fn mtail_counts_the_lb_access_log_by_status() {
    if !common::require_tool("mtail") {
        return;
    }
    let b = common::render_topology(&common::topology(&common::root().join(RULES_FIXTURE)));
    let prog = &b.files["hosts/mon-lb-1/files/etc/harbor-ha/monitoring/mtail/harbor-lb.mtail"].content;
    let dir = common::TempDir::new("mtail");
    std::fs::create_dir_all(dir.0.join("progs")).unwrap();
    std::fs::write(dir.0.join("progs/harbor-lb.mtail"), prog).unwrap();
    // Lines in the LB's log format (render::nginx's harbor_upstream).
    let log = dir.0.join("access.log");
    let line = |code: u16| {
        format!("192.168.70.5 - - [04/Dec/2026:01:00:00 +0000] \"GET /v2/ HTTP/1.1\" {code} 0 \"-\" \"docker/24\" upstream=192.168.70.31:80 upstream_status={code} request_time=0.001 upstream_time=0.001\n")
    };
    std::fs::write(&log, [line(200), line(200), line(502), line(401)].concat()).unwrap();
    let (ok, out) = run(Command::new("mtail").arg("--compile_only").arg("--progs").arg(dir.0.join("progs")));
    assert!(ok, "mtail --compile_only:\n{out}");
    let (ok, out) = run(Command::new("mtail")
        .args(["--one_shot", "--one_shot_format", "prometheus", "--logtostderr", "--progs"])
        .arg(dir.0.join("progs"))
        .arg("--logs")
        .arg(&log));
    assert!(ok, "mtail --one_shot:\n{out}");
    for (code, n) in [("200", 2), ("502", 1), ("401", 1)] {
        let want = format!("harbor_ha_lb_responses_total{{code=\"{code}\"");
        let line = out.lines().find(|l| l.starts_with(&want)).unwrap_or_else(|| panic!("no {want}:\n{out}"));
        assert!(line.trim_end().ends_with(&format!(" {n}")), "{line}");
    }
}

#[test]
fn rsyslog_accepts_the_forwarding_rule() {
    if !common::require_tool("rsyslogd") {
        return;
    }
    let b = common::render_topology(&common::topology(&common::root().join(RULES_FIXTURE)));
    let conf = &b.files["hosts/mon-store/files/etc/rsyslog.d/90-harbor-ha-forward.conf"].content;
    assert!(conf.contains("target=\"logs.mon.example.org\" port=\"514\" protocol=\"tcp\""), "{conf}");
    let dir = common::TempDir::new("rsyslog");
    let path = dir.0.join("rsyslog.conf");
    std::fs::write(&path, conf).unwrap();
    let (ok, out) = run(Command::new("rsyslogd").arg("-N1").arg("-f").arg(&path));
    assert!(ok, "rsyslogd -N1:\n{out}");
    // A broken copy is refused: the check can fail.
    std::fs::write(&path, conf.replace("omfwd", "omnothing")).unwrap();
    let (ok, _) = run(Command::new("rsyslogd").arg("-N1").arg("-f").arg(&path));
    assert!(!ok, "rsyslogd accepted an unknown module");
}
