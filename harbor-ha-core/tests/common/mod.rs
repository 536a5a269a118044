//! Shared by the render tests: deterministic secrets and a resolver that never reads the
//! environment, so that every bundle is reproducible; and the pieces the real-component
//! tests (`lb_nginx`, `lb_keepalived`) share: temporary directories, an nginx prefix,
//! inline topologies.
#![allow(dead_code)]

pub mod handmade;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use harbor_ha_core::bundle::Bundle;
use harbor_ha_core::model::secret::{Secret, SecretResolver};
use harbor_ha_core::render::render;
use harbor_ha_core::secrets::SiteSecrets;
use harbor_ha_core::validate::resolve_secrets;
use harbor_ha_core::{load_str, ValidTopology};

/// Workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `{env: X}` → `Env-X-Pw1`, `{file: P}` → `File-Pw1`, literals as written.
pub struct TestResolver;

impl SecretResolver for TestResolver {
    fn resolve(&self, secret: &Secret) -> Result<String, String> {
        Ok(match secret {
            Secret::Env { env } => format!("Env-{}-Pw1", env.as_str()),
            Secret::File { .. } => "File-Pw1".to_string(),
            Secret::Literal(v) => v.clone(),
        })
    }
}

/// Deterministic shared secrets for a site (the committed test key pair).
pub fn test_secrets(site: &str) -> SiteSecrets {
    let key = std::fs::read_to_string(root().join("tests/keys/test-token.key")).unwrap();
    let crt = std::fs::read_to_string(root().join("tests/keys/test-token.crt")).unwrap();
    SiteSecrets::deterministic(site, &key, &crt)
}

/// Load and validate a fixture; panics with the diagnostics when it has errors.
pub fn topology(path: &Path) -> ValidTopology {
    topology_str(&path.display().to_string(), &std::fs::read_to_string(path).unwrap())
}

/// Load and validate topology text; panics with `label` and the diagnostics when it has errors.
pub fn topology_str(label: &str, text: &str) -> ValidTopology {
    let doc = load_str(text).unwrap_or_else(|d| panic!("{label}: {d:?}"));
    let report = doc.validate();
    report.topology.unwrap_or_else(|| panic!("{label}: {:#?}", report.diagnostics))
}

/// Every renderable fixture (labelled with its path), then the `(label, yaml)` topologies.
pub fn fixture_and_inline_topologies(inline: &[(&str, &str)]) -> Vec<(String, ValidTopology)> {
    let mut v: Vec<(String, ValidTopology)> =
        renderable_fixtures().into_iter().map(|p| (p.display().to_string(), topology(&p))).collect();
    v.extend(inline.iter().map(|(label, yaml)| (label.to_string(), topology_str(label, yaml))));
    v
}

/// An IPv6 site with two LBs (no fixture has one), self-signed TLS.
pub const IPV6_LB_PAIR: &str = r#"
version: 1
sites:
  - name: six
    os: debian12
    harbor:
      version: "2.11.1"
      external_url: https://[2001:db8::50]
      admin_password: Abcdefg-1
    network:
      subnet: 2001:db8::/64
    hosts:
      - {name: st, address: "2001:db8::5", roles: [nfs, postgres, redis]}
      - {name: h1, address: "2001:db8::11", roles: [harbor]}
      - {name: h2, address: "2001:db8::12", roles: [harbor], http_port: 8080}
      - {name: lb1, address: "2001:db8::2", roles: [lb]}
      - {name: lb2, address: "2001:db8::3", roles: [lb]}
    storage:
      nfs: {export: /srv/harbor, mount: /data}
    database: {version: "15", password: Abcdefg-1}
    redis: {password: Abcdefg-1}
    load_balancer:
      tls: {self_signed: true}
      vip: "2001:db8::100"
"#;

/// The test secrets of every site of `t`.
pub fn all_test_secrets(t: &ValidTopology) -> BTreeMap<String, SiteSecrets> {
    t.sites.iter().map(|s| (s.name.to_string(), test_secrets(s.name.as_str()))).collect()
}

/// Render a topology with test secrets.
pub fn render_topology(t: &ValidTopology) -> Bundle {
    render_with(t, &TestResolver)
}

/// Render a topology with test shared secrets and `resolver`'s values.
pub fn render_with(t: &ValidTopology, resolver: &dyn SecretResolver) -> Bundle {
    let input = resolve_secrets(t, resolver, all_test_secrets(t)).unwrap_or_else(|d| panic!("render failed: {d:#?}"));
    render(&input)
}

/// Write `b` under `dir` (replaced), each file with its mode: for tests that run the
/// generated files with real programs.
pub fn write_tree(b: &Bundle, dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_dir_all(dir);
    for (rel, f) in &b.files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &f.content).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(f.mode)).unwrap();
    }
    // The root manifest, as the writer (harbor-ha-io) puts it last.
    let manifest = harbor_ha_core::bundle::Manifest::of(b).text();
    std::fs::write(dir.join(harbor_ha_core::bundle::MANIFEST), manifest).unwrap();
}

/// Every renderable fixture: the valid topologies and the examples.
pub fn renderable_fixtures() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in ["fixtures/valid", "fixtures/examples"] {
        let Ok(rd) = std::fs::read_dir(root().join(dir)) else { continue };
        for e in rd {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

/// Whether a tool is present; in CI (`CI=true`) a missing tool fails the test instead.
pub fn require_tool(name: &str) -> bool {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{name} is required in CI (make test installs it)");
        }
        eprintln!("SKIP: {name} not installed (run `make test` to install it)");
    }
    found
}

/// A fresh directory under the target dir, removed on drop (also when a test panics).
/// Root-owned when the tests run as root and not world-writable, so keepalived's script
/// security accepts scripts in it.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Lays out an nginx prefix in `dir` around a rendered `harbor.conf` and returns its main
/// config, `dir/conf/nginx.conf` (run `nginx -p DIR/ -c conf/nginx.conf`): the temp paths
/// and pid file under `dir`, `conf/harbor.conf` included inside `http {}`. The copy differs
/// from `conf` ONLY in `ssl_certificate` and `ssl_certificate_key`, which point at the
/// committed test pair copied into `dir` (the real paths do not exist on the test machine
/// and nginx loads them at start and in `-t`).
pub fn nginx_prefix(dir: &Path, conf: &str) -> PathBuf {
    for d in ["conf", "logs", "client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let included = dir.join("conf/harbor.conf");
    std::fs::write(&included, with_test_certificate(conf, dir)).unwrap();
    let pd = dir.display();
    let main = format!(
        "pid {pd}/nginx.pid;\nevents {{}}\nhttp {{\n    client_body_temp_path {pd}/client_body;\n    proxy_temp_path {pd}/proxy;\n    fastcgi_temp_path {pd}/fastcgi;\n    uwsgi_temp_path {pd}/uwsgi;\n    scgi_temp_path {pd}/scgi;\n    include {};\n}}\n",
        included.display()
    );
    let path = dir.join("conf/nginx.conf");
    std::fs::write(&path, main).unwrap();
    path
}

/// `conf` with `ssl_certificate` and `ssl_certificate_key` pointing at a test certificate
/// and key copied into `dir`; every other line as it is.
fn with_test_certificate(conf: &str, dir: &Path) -> String {
    let crt = dir.join("test.crt");
    let key = dir.join("test.key");
    std::fs::copy(root().join("tests/keys/test-token.crt"), &crt).unwrap();
    std::fs::copy(root().join("tests/keys/test-token.key"), &key).unwrap();
    let mut out = String::new();
    let mut changed = 0;
    for line in conf.lines() {
        let t = line.trim_start();
        let indent = &line[..line.len() - t.len()];
        if t.starts_with("ssl_certificate ") {
            out.push_str(&format!("{indent}ssl_certificate \"{}\";\n", crt.display()));
            changed += 1;
        } else if t.starts_with("ssl_certificate_key ") {
            out.push_str(&format!("{indent}ssl_certificate_key \"{}\";\n", key.display()));
            changed += 1;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(changed == 0 || changed == 2, "expected one certificate and one key, rewrote {changed} lines");
    out
}
