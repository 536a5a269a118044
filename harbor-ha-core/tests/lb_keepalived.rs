//! keepalived for sites with two LB hosts: the pair's configs agree (same router id and
//! VIP, different priorities, each other's unicast peer), the real `keepalived -t`
//! accepts each config inside a network namespace that has the configured interface, and
//! the check script reports a running nginx (the rendered one) as healthy and a stopped one
//! as failed.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests set up files and run the real programs"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use harbor_ha_core::bundle::Bundle;
use harbor_ha_core::model::enums::Role;
use harbor_ha_core::model::resolved::{Host, Site, ValidTopology};

const CONF: &str = "etc/keepalived/keepalived.conf";
const CHECK: &str = "etc/keepalived/check_nginx.sh";

/// A network namespace with a veth named `ifname` (up, holding `addr/prefix`); deleted on
/// drop, also when the test panics.
struct Netns(String);

impl Netns {
    fn new(ifname: &str, addr: &str) -> Netns {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let ns = Netns(format!("hha-ka-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        let name = ns.0.clone();
        run(Command::new("ip").args(["netns", "add", &name]));
        for args in [
            vec!["link", "add", ifname, "type", "veth", "peer", "name", "hhapeer0"],
            vec!["link", "set", "lo", "up"],
            vec!["link", "set", ifname, "up"],
            vec!["link", "set", "hhapeer0", "up"],
            vec!["addr", "add", addr, "dev", ifname],
        ] {
            run(Command::new("ip").args(["-n", &name]).args(&args));
        }
        ns
    }

    /// `ip netns exec NS ARGS…`.
    fn exec(&self, args: &[&str]) -> Output {
        Command::new("ip").args(["netns", "exec", &self.0]).args(args).output().unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Every renderable fixture and the inline IPv6 pair, with a label.
fn topologies() -> Vec<(String, ValidTopology)> {
    common::fixture_and_inline_topologies(&[("inline: IPv6 pair", common::IPV6_LB_PAIR)])
}

/// A site with two LB hosts, its topology's label and its bundle.
struct Pair {
    fixture: String,
    site: Site,
    bundle: Bundle,
}

impl Pair {
    fn lbs(&self) -> Vec<&Host> {
        self.site.hosts_with(Role::Lb).collect()
    }

    fn file(&self, host: &Host, rel: &str) -> &harbor_ha_core::bundle::BundleFile {
        let key = format!("hosts/{}/files/{rel}", host.name);
        self.bundle.files.get(&key).unwrap_or_else(|| panic!("{}: {key} missing", self.fixture))
    }
}

fn pairs() -> Vec<Pair> {
    let mut v = Vec::new();
    for (label, t) in topologies() {
        if !t.sites.iter().any(|s| s.hosts_with(Role::Lb).count() == 2) {
            continue;
        }
        let b = common::render_topology(&t);
        for site in &t.sites {
            if site.hosts_with(Role::Lb).count() == 2 {
                v.push(Pair { fixture: label.clone(), site: site.clone(), bundle: b.clone() });
            }
        }
    }
    v
}

/// Non-comment, trimmed lines.
fn directives(conf: &str) -> Vec<&str> {
    conf.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

/// The value after `key ` (first occurrence).
fn value<'a>(conf: &'a str, key: &str) -> Option<&'a str> {
    directives(conf).into_iter().find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')))
}

/// The lines inside `name {` … `}`.
fn block<'a>(conf: &'a str, name: &str) -> Vec<&'a str> {
    directives(conf).into_iter().skip_while(|l| *l != format!("{name} {{")).skip(1).take_while(|l| *l != "}").collect()
}

#[test]
fn fixtures_with_two_lbs_exist() {
    assert!(pairs().iter().any(|p| !p.fixture.starts_with("inline")), "no renderable fixture has two LB hosts");
}

#[test]
fn only_lb_pairs_get_keepalived() {
    for (label, t) in topologies() {
        let b = common::render_topology(&t);
        for site in &t.sites {
            let pair = site.hosts_with(Role::Lb).count() == 2;
            for h in &site.hosts {
                let has = b.files.contains_key(&format!("hosts/{}/files/{CONF}", h.name));
                assert_eq!(has, pair && h.has(Role::Lb), "{label}: {} keepalived.conf", h.name);
            }
        }
    }
}

#[test]
fn pair_configs_agree() {
    for pair in pairs() {
        let at = pair.fixture.clone();
        let lb = pair.site.lb.as_ref().unwrap();
        let vip = lb.vip.expect("two LBs have a vip");
        let lbs = pair.lbs();
        let mut prios = Vec::new();
        for (i, h) in lbs.iter().enumerate() {
            let other = lbs[1 - i];
            let f = pair.file(h, CONF);
            let c = f.content.as_str();
            let at = format!("{at} ({})", h.name);
            assert_eq!(f.mode, 0o644, "{at}");
            assert_eq!(value(c, "state"), Some("BACKUP"), "{at}");
            assert_eq!(value(c, "interface"), Some(h.interface.as_str()), "{at}");
            assert_eq!(value(c, "virtual_router_id"), Some(lb.virtual_router_id.to_string().as_str()), "{at}");
            assert_eq!(value(c, "advert_int"), Some("1"), "{at}");
            assert_eq!(value(c, "unicast_src_ip"), Some(h.address.to_string().as_str()), "{at}");
            assert_eq!(block(c, "unicast_peer"), vec![other.address.to_string()], "{at}: the peer is the other LB");
            assert_eq!(
                block(c, "virtual_ipaddress"),
                vec![format!("{vip}/{} dev {}", pair.site.subnet.prefix_len(), h.interface)],
                "{at}"
            );
            assert_eq!(block(c, "track_script"), vec!["chk_nginx"], "{at}");
            assert_eq!(value(c, "script"), Some("\"/etc/keepalived/check_nginx.sh\""), "{at}");
            assert!(directives(c).contains(&"enable_script_security"), "{at}");
            let ds = directives(c);
            assert!(
                !ds.iter().any(|l| l.starts_with("authentication") || l.starts_with("auth_")),
                "{at}: no VRRP authentication"
            );
            assert!(!ds.iter().any(|l| l.starts_with("mcast_src_ip")), "{at}: unicast only");
            prios.push(value(c, "priority").unwrap().parse::<u32>().unwrap());

            let s = pair.file(h, CHECK);
            assert_eq!(s.mode, 0o755, "{at}");
            assert!(s.content.starts_with("#!/bin/sh\n"), "{at}");
            assert!(s.content.contains("http://127.0.0.1/harbor-ha-health"), "{at}");

            let sysctl = format!("hosts/{}/files/etc/sysctl.d/90-harbor-ha-keepalived.conf", h.name);
            let sc = pair.bundle.files.get(&sysctl).unwrap_or_else(|| panic!("{at}: {sysctl}"));
            assert!(directives(&sc.content).contains(&"net.ipv4.ip_nonlocal_bind = 1"), "{at}");
            assert_eq!(
                directives(&sc.content).contains(&"net.ipv6.ip_nonlocal_bind = 1"),
                vip.is_ipv6(),
                "{at}: IPv6 VIP"
            );
        }
        assert_eq!(prios, vec![150, 100], "{at}: the first LB has the higher priority");
    }
}

#[test]
fn check_script_passes_shellcheck() {
    if !common::require_tool("shellcheck") {
        return;
    }
    let dir = common::TempDir::new("lb-ka-sc");
    for pair in pairs() {
        for h in pair.lbs() {
            let path = dir.0.join(format!("{}.sh", h.name));
            std::fs::write(&path, &pair.file(h, CHECK).content).unwrap();
            let out = Command::new("shellcheck").args(["-s", "sh", "-f", "gcc"]).arg(&path).output().unwrap();
            assert!(out.status.success(), "{}: {}", h.name, String::from_utf8_lossy(&out.stdout));
        }
    }
}

/// Writes `host`'s keepalived.conf and check script into `dir`, the config's `script`
/// path pointing at that copy of the check script (the only change: keepalived's config
/// test disables, and reports, a track script it cannot find). Returns the config path.
fn config_copy(pair: &Pair, host: &Host, dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("check_nginx.sh");
    std::fs::write(&script, &pair.file(host, CHECK).content).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf = pair
        .file(host, CONF)
        .content
        .replace("script \"/etc/keepalived/check_nginx.sh\"", &format!("script \"{}\"", script.display()));
    assert_ne!(conf, pair.file(host, CONF).content, "the script path was not found");
    let path = dir.join("keepalived.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

fn cidr(pair: &Pair, h: &Host) -> String {
    format!("{}/{}", h.address, pair.site.subnet.prefix_len())
}

#[test]
fn real_keepalived_accepts_every_pair_config() {
    if !common::require_tool("keepalived") || !common::require_tool("ip") {
        return;
    }
    for pair in pairs() {
        for h in pair.lbs() {
            let dir = common::TempDir::new("lb-ka");
            let conf = config_copy(&pair, h, &dir.0);
            let ns = Netns::new(h.interface.as_str(), &cidr(&pair, h));
            let out = ns.exec(&["keepalived", "-t", "-e", "-f", &conf.display().to_string()]);
            let msg = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert_eq!(
                out.status.code(),
                Some(0),
                "{} ({}): keepalived -t (5 = config error):\n{msg}\n--- config ---\n{}",
                pair.fixture,
                h.name,
                pair.file(h, CONF).content
            );
            assert!(!msg.contains("WARNING"), "{} ({}): {msg}", pair.fixture, h.name);
        }
    }
}

#[test]
fn real_keepalived_rejects_a_missing_interface() {
    // The harness must be able to fail: the namespace lacks the configured interface.
    if !common::require_tool("keepalived") || !common::require_tool("ip") {
        return;
    }
    let pair = pairs().into_iter().next().unwrap();
    let h = pair.lbs()[0];
    let dir = common::TempDir::new("lb-ka-neg");
    let conf = config_copy(&pair, h, &dir.0);
    let ns = Netns::new("hhaother0", &cidr(&pair, h));
    let out = ns.exec(&["keepalived", "-t", "-e", "-f", &conf.display().to_string()]);
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Kills the nginx master named in a pid file on drop (if a test panics while it runs).
struct NginxGuard(PathBuf);

impl Drop for NginxGuard {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = Command::new("kill").arg(pid.trim()).output();
        }
    }
}

#[test]
fn check_script_follows_nginx() {
    for t in ["nginx", "ip", "unshare", "curl"] {
        if !common::require_tool(t) {
            return;
        }
    }
    for pair in pairs() {
        check_script_against_nginx(&pair);
    }
}

/// Start the rendered nginx of the pair's first LB in a namespace, run the check script,
/// stop nginx, run it again.
fn check_script_against_nginx(pair: &Pair) {
    let h = pair.lbs()[0];
    let dir = common::TempDir::new("lb-ka-live");
    let d = dir.0.display().to_string();
    common::nginx_prefix(&dir.0, &pair.file(h, "etc/nginx/conf.d/harbor.conf").content);
    let script = dir.0.join("check_nginx.sh");
    std::fs::write(&script, &pair.file(h, CHECK).content).unwrap();
    let _guard = NginxGuard(dir.0.join("nginx.pid"));
    let ns = Netns::new(h.interface.as_str(), &cidr(pair, h));
    // Own loopback (port 80 is free there), own mounts (a tmpfs over /var/log/nginx for the
    // access log). Prints the check's exit code with nginx running, then after it stopped.
    let sh = format!(
        r#"set -u
mount -t tmpfs hha-nginx-logs /var/log/nginx || exit 90
nginx -p {d}/ -c conf/nginx.conf -e {d}/error.log || exit 91
sh {d}/check_nginx.sh; up=$?
nginx -p {d}/ -c conf/nginx.conf -e {d}/error.log -s stop
i=0; while [ -f {d}/nginx.pid ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
sh {d}/check_nginx.sh; down=$?
echo "$up $down""#
    );
    let out = ns.exec(&["unshare", "-m", "sh", "-c", &sh]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let log = std::fs::read_to_string(dir.0.join("error.log")).unwrap_or_default();
    assert!(out.status.success(), "{}: {stdout}{}\n{log}", h.name, String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim(), "0 1", "{} ({}): check exit codes with nginx up, then down\n{log}", pair.fixture, h.name);
}
