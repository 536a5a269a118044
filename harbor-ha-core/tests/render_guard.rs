//! The render guard: `render` refuses a `Topology` changed by hand to hold a value that
//! validation refuses as unsafe, with validation's code and the value's path, and never
//! echoes the value. Every valid fixture passes it.

mod common;

use std::collections::BTreeMap;

use harbor_ha_core::model::ids::{DnsName, HostName, HostPath, InterfaceName, SiteName, SqlIdent};
use harbor_ha_core::model::resolved::{Database, Storage, Tls, Topology};
use harbor_ha_core::render::{guard, render, RenderInputs};
use harbor_ha_core::RuleCode;

fn render_err(t: &Topology) -> Vec<(RuleCode, String, String)> {
    let secrets: BTreeMap<String, _> =
        t.sites.iter().map(|s| (s.name.as_str().to_string(), common::test_secrets(s.name.as_str()))).collect();
    match render(t, &RenderInputs { secrets: &secrets, resolver: &common::TestResolver }) {
        Ok(_) => Vec::new(),
        Err(d) => d.into_iter().map(|d| (d.code, d.path, d.message)).collect(),
    }
}

#[test]
fn every_valid_fixture_passes_the_guard() {
    // The fixtures, and an IPv6 LB pair whose default TLS paths hold the server's address.
    let all = common::fixture_and_inline_topologies(&[("ipv6-lb-pair", common::IPV6_LB_PAIR)]);
    assert!(all.len() >= 11);
    for (label, t) in all {
        assert_eq!(guard::check(&t), Vec::new(), "{label}");
    }
}

const PAYLOAD: &str = "$(touch /tmp/pwned)";

#[test]
fn hand_made_unsafe_values_are_refused_with_their_path() {
    let base = common::topology(&common::root().join("fixtures/valid/shared-storage-debian12-two-lbs.yaml"));
    assert!(render_err(&base).is_empty(), "the base renders");
    type Mutate = fn(&mut Topology);
    let cases: Vec<(Mutate, RuleCode, &str)> = vec![
        (|t| t.sites[0].hosts[1].name = HostName(format!("h;{PAYLOAD}")), RuleCode::HA002, "sites[0].hosts[1].name"),
        (
            |t| t.sites[0].harbor.install_dir = HostPath(format!("/opt/{PAYLOAD}")),
            RuleCode::IN001,
            "sites[0].harbor.install_dir",
        ),
        (
            |t| t.sites[0].hosts[2].data_volume = HostPath("/data/../etc".into()),
            RuleCode::IN001,
            "sites[0].hosts[2].data_volume",
        ),
        (
            |t| t.sites[0].hosts[3].interface = InterfaceName("ens18\n    notify_master /x".into()),
            RuleCode::IN002,
            "sites[0].hosts[3].interface",
        ),
        (
            |t| {
                if let Storage::Nfs(n) = &mut t.sites[0].storage {
                    n.options = format!("hard;{PAYLOAD}");
                }
            },
            RuleCode::IN003,
            "sites[0].storage.nfs.options",
        ),
        (
            |t| {
                if let Storage::Nfs(n) = &mut t.sites[0].storage {
                    n.export = HostPath("/srv/x *(rw,no_root_squash)".into());
                }
            },
            RuleCode::IN001,
            "sites[0].storage.nfs.export",
        ),
        (
            |t| t.sites[0].lb.as_mut().unwrap().server_name = DnsName("h; include /etc/passwd".into()),
            RuleCode::IN002,
            "sites[0].load_balancer.server_name",
        ),
        (
            // nginx expands variables in ssl_certificate and has no escape for `$`.
            |t| {
                if let Tls::Files { certificate, .. } = &mut t.sites[0].lb.as_mut().unwrap().tls {
                    *certificate = HostPath("/etc/ssl/$ssl_server_name.crt".into());
                }
            },
            RuleCode::IN001,
            "sites[0].load_balancer.tls.certificate",
        ),
        (
            |t| {
                if let Database::External(db) = &mut t.sites[0].database {
                    db.username = SqlIdent("harbor\"; DROP ROLE x; --".into());
                }
            },
            RuleCode::IN003,
            "sites[0].database.username",
        ),
    ];
    for (mutate, code, path) in cases {
        let mut t = base.clone();
        mutate(&mut t);
        let errs = render_err(&t);
        assert!(errs.iter().any(|(c, p, _)| *c == code && p == path), "{path}: expected {code}, got {errs:?}");
        for (_, _, m) in &errs {
            assert!(
                !m.contains("touch") && !m.contains("passwd") && !m.contains("DROP"),
                "{path}: the message echoes the value: {m}"
            );
        }
    }
    // A site name is checked wherever it is used, the replication edges included.
    let mut t = common::topology(&common::root().join("fixtures/valid/hierarchy-three-sites.yaml"));
    assert!(render_err(&t).is_empty());
    t.sites[0].name = SiteName(format!("hq\n{PAYLOAD}"));
    t.edges[0].from = t.sites[0].name.clone();
    t.edges[0].filters.label = Some(format!("prod'{PAYLOAD}"));
    t.edges[1].filters.repository = Some("library/** x".into());
    let errs = render_err(&t);
    for (code, path) in [
        (RuleCode::HA002, "sites[0].name"),
        (RuleCode::HA002, "replication[0].from"),
        (RuleCode::IN003, "replication[0].filters.label"),
        (RuleCode::RP006, "replication[1].filters.repository"),
    ] {
        assert!(errs.iter().any(|(c, p, _)| *c == code && p == path), "{path}: expected {code}, got {errs:?}");
    }
}
