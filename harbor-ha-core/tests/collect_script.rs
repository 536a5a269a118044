//! collect.sh run for real (bash, coreutils) on hosts laid out under a directory
//! (`--local NAME --root DIR`): the tree it writes is byte for byte the one the core makes of
//! the same files (the same classes, the same redaction, the same digests), it is read-only
//! on the host, and a second run gives the same tree. Over "ssh" (a stand-in that runs the
//! remote half here), it collects every host of an inventory.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests run the script and set up files"
)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::handmade::{self, Options};
use harbor_ha_core::audit::tree::CollectedTree;

fn script(dir: &Path) -> PathBuf {
    let p = dir.join("collect.sh");
    std::fs::write(&p, harbor_ha_core::render::collect::script()).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// Lay out a host's files under `root` (as they are on the host).
fn lay_out(root: &Path, h: &handmade::Host) {
    for (p, (c, m)) in &h.files {
        let t = root.join(p.trim_start_matches('/'));
        std::fs::create_dir_all(t.parent().unwrap()).unwrap();
        std::fs::write(&t, c).unwrap();
        std::fs::set_permissions(&t, std::fs::Permissions::from_mode(*m)).unwrap();
    }
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/os-release"),
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
    )
    .unwrap();
}

/// Every file under `d` with its content, mode and modification time.
fn snapshot(d: &Path) -> BTreeMap<String, (Vec<u8>, u32, std::time::SystemTime)> {
    let mut m = BTreeMap::new();
    fn walk(base: &Path, d: &Path, m: &mut BTreeMap<String, (Vec<u8>, u32, std::time::SystemTime)>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                walk(base, &p, m);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                m.insert(rel, (std::fs::read(&p).unwrap(), meta.permissions().mode(), meta.modified().unwrap()));
            }
        }
    }
    walk(d, d, &mut m);
    m
}

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// The files of two trees, host by host (facts left out: collected from a directory, they
/// hold only what the directory tells).
fn files(t: &CollectedTree) -> BTreeMap<String, BTreeMap<String, (Vec<u8>, u32)>> {
    t.hosts
        .iter()
        .map(|(h, ht)| (h.clone(), ht.files.iter().map(|(p, f)| (p.clone(), (f.content.clone(), f.mode))).collect()))
        .collect()
}

/// Lines the redaction must treat exactly as the core does.
const TRICKY_ENV: &str = "CORE_SECRET=abc def\nEMPTY_PASSWORD=\n  INDENTED_TOKEN=x\nNOT_HIDDEN=plain\nURL=redis://u:p@h:6379/1\nREDIS_URL_X=h:1,100,pw\n# CSRF_KEY=commented\nCSRF_KEY=sha256:0000000000000000000000000000000000000000000000000000000000000000\nCRLF_SECRET=value\r\nTAB_KEY=\tx\nUNICODE_SECRET=pässwörd\nlast_line=no newline";
const TRICKY_YML: &str = "a:\n  password: 'quoted value'\n  - secret: listed\n  -  token:   spaced  \n  key:\n  port: 80\n  url: http://user:pw@host/x\n\t password: tabbed\n# password: comment\nsecretkey: \"\"\n";

#[test]
fn collect_sh_writes_what_the_core_makes_of_the_same_files() {
    let tmp = common::TempDir::new("collect-sh");
    let sh = script(&tmp.0);
    let mut sites = vec![
        ("v110", handmade::site(Options { v2: false, consistent: false, guide_flaws: true })),
        ("v211", handmade::site(Options { v2: true, consistent: true, guide_flaws: false })),
    ];
    // A rendered bundle's hosts too (harbor-ha's own files, secrets in them).
    let b =
        common::render_topology(&common::topology(&common::root().join("fixtures/valid/ha-data-1.10-two-lbs.yaml")));
    let mut rendered = handmade::Site::new();
    for (rel, f) in &b.files {
        let Some((host, abs)) = rel.strip_prefix("hosts/").and_then(|r| r.split_once("/files")) else { continue };
        rendered
            .entry(host.to_string())
            .or_default()
            .files
            .insert(abs.to_string(), (f.content.clone().into_bytes(), f.mode));
    }
    let edge = rendered.get_mut("lg-harbor-1").unwrap();
    edge.put("/usr/local/harbor/common/config/core/env", TRICKY_ENV, 0o600);
    edge.put("/usr/local/harbor/common/config/registry/config.yml", TRICKY_YML, 0o640);
    edge.put("/usr/local/harbor/common/config/core/app.conf", "[dev]\nXSRFKey   =   spaced\nhttpport = 8080", 0o600);
    edge.put(
        "/etc/keepalived/keepalived.conf",
        "vrrp_instance X {\n  authentication {\n    auth_pass\tsecret1\n  }\n}\n",
        0o644,
    );
    sites.push(("rendered", rendered));
    let mut checked = 0;
    for (label, site) in &sites {
        let out = tmp.0.join(format!("out-{label}"));
        for (name, h) in site {
            let root = tmp.0.join(format!("root-{label}-{name}"));
            lay_out(&root, h);
            let before = snapshot(&root);
            let args = [
                "--local",
                name,
                "--root",
                root.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
                "--harbor-dir",
                "/usr/local/harbor",
                "--no-bundle",
            ];
            let text = run(Command::new("bash").arg(&sh).args(args));
            assert!(text.starts_with(&format!("collected {name}: ")), "{text}");
            assert_eq!(before, snapshot(&root), "{label}/{name}: collect.sh changed the host");
            // Again: the same tree.
            let first = snapshot(&out.join(name));
            run(Command::new("bash").arg(&sh).args(args));
            let second = snapshot(&out.join(name));
            let strip =
                |s: BTreeMap<String, (Vec<u8>, u32, std::time::SystemTime)>| -> BTreeMap<String, (Vec<u8>, u32)> {
                    s.into_iter().map(|(k, v)| (k, (v.0, v.1))).collect()
                };
            assert_eq!(strip(first), strip(second), "{label}/{name}: a second run gave another tree");
        }
        let got = handmade::read(&out);
        let want = handmade::tree(site);
        // The script collects only the files it knows; the core was given every file of
        // the host. Compare what the script collected, and that it collected the ones the
        // audit reads.
        for (name, g) in files(&got) {
            let w = &files(&want)[&name];
            for (p, (content, mode)) in &g {
                let (wc, wm) = w
                    .get(p)
                    .unwrap_or_else(|| panic!("{label}/{name}: collect.sh wrote {p}, the core has no such file"));
                assert_eq!(String::from_utf8_lossy(content), String::from_utf8_lossy(wc), "{label}/{name}:{p}");
                assert_eq!(mode & 0o7777, *wm, "{label}/{name}:{p} mode");
                checked += 1;
            }
            for p in w.keys().filter(|p| {
                p.contains("harbor.yml")
                    || p.contains("/common/config/core/")
                    || p.contains("/secret/")
                    || p.starts_with("/etc/nginx/conf.d")
                    || p.starts_with("/etc/keepalived")
                    || p.starts_with("/etc/harbor-ha/")
            }) {
                assert!(g.contains_key(p), "{label}/{name}: collect.sh left out {p}");
            }
            let facts: serde_json::Value = serde_json::from_slice(got.hosts[&name].facts.as_ref().unwrap()).unwrap();
            assert_eq!(facts["os"], "debian12");
            assert!(facts["root"].as_str().unwrap().ends_with(&format!("root-{label}-{name}")));
        }
    }
    assert!(checked > 150, "{checked}");
    // The tricky lines went through both: redacted, and the unredacted ones as they were.
    let env =
        std::fs::read_to_string(tmp.0.join("out-rendered/lg-harbor-1/files/usr/local/harbor/common/config/core/env"))
            .unwrap();
    assert!(
        env.contains("CORE_SECRET=sha256:")
            && env.contains("\nNOT_HIDDEN=plain\n")
            && env.ends_with("last_line=no newline"),
        "{env}"
    );
    assert!(env.contains("\nEMPTY_PASSWORD=\n") && !env.contains("pässwörd") && !env.contains("redis://u:p@"), "{env}");
}

/// Over ssh: every host of the inventory, each into its own directory. The `ssh` here is a
/// stand-in that runs the remote half with this machine's bash (as a real ssh would on the
/// host), logging its arguments.
#[test]
fn collect_sh_collects_every_host_of_an_inventory_over_ssh() {
    let tmp = common::TempDir::new("collect-ssh");
    let sh = script(&tmp.0);
    let bin = tmp.0.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = tmp.0.join("ssh.log");
    std::fs::write(
        bin.join("ssh"),
        format!("#!/bin/sh\n# ssh stand-in: log the arguments, run the last one (the remote command) here.\necho \"$*\" >>{}\nfor a; do last=$a; done\nexec sh -c \"$last\"\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("ssh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let inv = tmp.0.join("inventory.ini");
    std::fs::write(&inv, "# hosts\n[harbor]\nnode-a ansible_host=10.9.0.11 harbor_ha_order=2\nnode-b ansible_host=10.9.0.12 ansible_user=admin\n\n[lb]\nlb ansible_host=10.9.0.2\n[harbor_first]\nnode-a ansible_host=10.9.0.11\n[site_x:vars]\nharbor_version=2.11.1\n").unwrap();
    // No sudo for the non-root user here: a stand-in that runs the command.
    std::fs::write(bin.join("sudo"), "#!/bin/sh\n[ \"$1\" = -n ] && shift\nexec \"$@\"\n").unwrap();
    std::fs::set_permissions(bin.join("sudo"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = tmp.0.join("collected");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let text = run(Command::new("bash")
        .arg(&sh)
        .args([
            "-i",
            inv.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--host",
            "node-a",
            "--host",
            "node-b",
            "--ssh-option",
            "ConnectTimeout=5",
        ])
        .env("PATH", &path));
    assert!(text.contains("collected node-a: ") && text.contains("collected node-b: "), "{text}");
    assert!(!out.join("lb").exists(), "--host limits the hosts");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.contains("-o BatchMode=yes -o ConnectTimeout=5 root@10.9.0.11 bash -s"), "{calls}");
    assert!(calls.contains("admin@10.9.0.12 sudo -n bash -s"), "{calls}");
    for h in ["node-a", "node-b"] {
        let facts: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(h).join("facts.json")).unwrap()).unwrap();
        assert!(facts["hostname"].as_str().is_some_and(|s| !s.is_empty()), "{facts}");
        assert!(facts.get("root").is_none(), "{facts}");
        assert!(facts["addresses"].is_array() && facts["services"].is_array(), "{facts}");
    }
    // A host the inventory does not name: exit 2.
    let o = Command::new("bash")
        .arg(&sh)
        .args(["-i", inv.to_str().unwrap(), "-o", out.to_str().unwrap(), "--host", "nope"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn collect_sh_refuses_paths_that_leave_the_tree() {
    let tmp = common::TempDir::new("collect-hostile");
    let sh = tmp.0.join("collect.sh");
    // The local half of the script alone, fed records a hostile host could send.
    let text = harbor_ha_core::render::collect::script();
    let store = text.split("\n# hh_store DIR").nth(1).and_then(|s| s.split("\n# bundle_lists").next()).unwrap();
    std::fs::write(&sh, format!("set -euo pipefail\n# hh_store DIR{store}\nhh_store \"$1\"\n")).unwrap();
    let records = "F 644 eA== /../../escape\nF 644 eA== /a/../../escape2\nF 644 eA== relative\nD 600 zz /bad-digest\nF 9999 eA== /bad-mode\nF 644 aGk= /ok\n";
    let o = Command::new("bash").arg(&sh).arg(tmp.0.join("host")).stdin(std::process::Stdio::piped()).spawn().and_then(
        |mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(records.as_bytes())?;
            c.wait_with_output()
        },
    );
    let o = o.unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written = snapshot(&tmp.0.join("host"));
    assert_eq!(written.keys().cloned().collect::<Vec<_>>(), vec!["files/ok".to_string()]);
    assert!(!tmp.0.join("escape").exists() && !tmp.0.parent().unwrap().join("escape").exists());
}
