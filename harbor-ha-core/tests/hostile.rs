//! Injection attempts in every place a topology value reaches a script or a config: each
//! is refused by validation with a rule code, so no bundle is ever rendered from it.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests set up files and run the real programs"
)]

use harbor_ha_core::load_str;

const SEED: &str = include_str!("../src/examples/seed.yaml");

/// (what is replaced, its replacement, the code expected)
const CASES: &[(&str, &str, &str)] = &[
    ("name: harbor-1,", "name: \"harbor-1; touch /tmp/pwned\",", "HA002"),
    ("name: harbor-1,", "name: \"$(touch /tmp/pwned)\",", "HA002"),
    ("name: prod", "name: \"../prod\"", "HA002"),
    ("install_dir: /usr/local", "install_dir: \"/usr/local; touch /tmp/pwned\"", "IN001"),
    ("install_dir: /usr/local", "install_dir: \"/usr/$(touch /tmp/pwned)\"", "IN001"),
    ("install_dir: /usr/local", "install_dir: /usr/../etc", "IN001"),
    ("mount: /data}", "mount: \"/data`touch /tmp/pwned`\"}", "IN001"),
    ("export: /data/harbor_data,", "export: \"/data/harbor_data\\n/ *(rw)\",", "IN001"),
    ("server_name: harbor.example.com", "server_name: \"x; include /etc/passwd\"", "IN002"),
    ("server_name: harbor.example.com", "server_name: \"harbor.example.com\\n    location /\"", "IN002"),
    ("certificate: /etc/nginx/ssl/harbor.example.com.crt", "certificate: \"/etc/x.crt; include /etc/passwd\"", "IN001"),
    (
        "external_url: https://harbor.example.com",
        "external_url: \"https://harbor.example.com/$(touch /tmp/pwned)\"",
        "HB004",
    ),
    ("external_url: https://harbor.example.com", "external_url: \"https://x;touch$IFS/tmp/pwned\"", "HB004"),
    ("username: harbor", "username: \"harbor\\\"; DROP ROLE postgres; --\"", "IN003"),
    ("port: 5432\n", "port: 5432\n      db_name: \"registry'; DROP DATABASE x; --\"\n", "IN003"),
    (
        "affinity: ip_hash             # as in the guide",
        "affinity: ip_hash\n    monitoring:\n      prometheus: \"192.168.166.30; touch /tmp/pwned\"",
        "MN001",
    ),
    (
        "affinity: ip_hash             # as in the guide",
        "affinity: ip_hash\n    monitoring:\n      prometheus: 192.168.166.30\n      scrape_interval: \"30s\\n  - job_name: x\"",
        "IN003",
    ),
    (
        "affinity: ip_hash             # as in the guide",
        "affinity: ip_hash\n    monitoring:\n      prometheus: 192.168.166.30\n      alert_labels: {team: \"x\\\"\\n  evil: y\"}",
        "IN003",
    ),
    (
        "affinity: ip_hash             # as in the guide",
        "affinity: ip_hash\n    monitoring:\n      prometheus: 192.168.166.30\n      alert_labels: {\"a{b=\\\"c\\\"}\": x}",
        "IN003",
    ),
    (
        "affinity: ip_hash             # as in the guide",
        "affinity: ip_hash\n    log:\n      syslog: \"tcp://h;touch /tmp/pwned:514\"",
        "MN003",
    ),
    (
        "affinity: ip_hash             # as in the guide",
        "affinity: ip_hash\n    log:\n      syslog: \"tcp://logs\\\" Target=\\\"evil:514\"",
        "MN003",
    ),
];

#[test]
fn injections_are_refused_with_a_rule_code() {
    for (from, to, code) in CASES {
        assert!(SEED.contains(from), "fixture text changed: {from}");
        let text = SEED.replacen(from, to, 1);
        let diags = match load_str(&text) {
            Ok(doc) => {
                let r = doc.validate();
                assert!(r.topology.is_none(), "{to}: accepted");
                r.diagnostics
            }
            Err(d) => d,
        };
        assert!(
            diags.iter().any(|d| d.code.as_str() == *code && d.is_error()),
            "{to}: expected {code}, got {diags:#?}"
        );
        for d in &diags {
            assert!(d.line.is_some(), "{to}: {} without a position", d.code);
        }
    }
}

/// Secrets made of every character that breaks a quoting layer, resolved at render time.
const HOSTILE_SECRETS: &[&str] = &[
    "Aa1'\"$`#; \\x",
    "Aa1 $(touch /tmp/pwned) `id` ${HOME}",
    "Aa1: {a: [b]} # not a comment\t&anchor *alias !tag",
    "Aa1-ünïcødé-密码-🔑",
    "Aa1-line-one\nline-two",
];

struct Hostile(String);

impl harbor_ha_core::model::secret::SecretResolver for Hostile {
    fn resolve(&self, s: &harbor_ha_core::model::secret::Secret) -> Result<String, String> {
        match s {
            harbor_ha_core::model::secret::Secret::Literal(v) => Ok(v.clone()),
            harbor_ha_core::model::secret::Secret::Env { env } if env.as_str().contains("ADMIN") => {
                Ok(admin_value(&self.0))
            }
            _ => Ok(self.0.clone()),
        }
    }
}

/// Harbor caps the admin password at 128 characters (HB002): the long value goes to the
/// other secrets only.
fn admin_value(v: &str) -> String {
    v.chars().take(128).collect()
}

#[test]
fn hostile_secrets_survive_yaml_or_are_refused() {
    let long = format!("Aa1{}", "x'\"$\\".repeat(50));
    let mut values: Vec<String> = HOSTILE_SECRETS.iter().map(ToString::to_string).collect();
    values.push(long);
    let key = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/keys/test-token.key")).unwrap();
    let crt = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/keys/test-token.crt")).unwrap();
    let s3 = include_str!("../src/examples/s3.yaml");
    for text in [SEED, s3] {
        let topo = load_str(text).unwrap().validate().topology.unwrap();
        let secrets: std::collections::BTreeMap<String, harbor_ha_core::secrets::SiteSecrets> = topo
            .sites
            .iter()
            .map(|s| (s.name.to_string(), harbor_ha_core::secrets::SiteSecrets::deterministic("h", &key, &crt)))
            .collect();
        for v in &values {
            let r = harbor_ha_core::validate::resolve_secrets(&topo, &Hostile(v.clone()), secrets.clone())
                .map(|input| harbor_ha_core::render::render(&input));
            if v.contains('\n') {
                // A newline cannot be carried by every target (env files, redis.conf): refused, named, not shown.
                let d = r.expect_err("a secret with a newline must be refused");
                assert!(d
                    .iter()
                    .all(|d| matches!(d.code.as_str(), "SC002" | "RD007") && !d.message.contains(v.trim_end())));
                continue;
            }
            // A Redis password the Harbor version writes unescaped (RD007): refused, not shown.
            if let Err(d) = &r {
                if d.iter().all(|d| d.code.as_str() == "RD007" && !d.message.contains(v.as_str())) {
                    continue;
                }
            }
            let b = r.unwrap_or_else(|d| panic!("{v:?}: {d:#?}"));
            for (path, f) in &b.files {
                if !path.ends_with("harbor.yml") {
                    continue;
                }
                let y: serde_yaml::Value = serde_yaml::from_str(&f.content).unwrap();
                assert_eq!(y["harbor_admin_password"].as_str(), Some(admin_value(v).as_str()), "{path}");
                if let Some(pw) = y["external_database"]["harbor"]["password"].as_str() {
                    assert_eq!(pw, v, "{path}: database password");
                }
                if let Some(pw) = y["external_redis"]["password"].as_str() {
                    assert_eq!(pw, v, "{path}: redis password");
                }
                if let Some(sk) = y["storage_service"]["s3"]["secretkey"].as_str() {
                    assert_eq!(sk, v, "{path}: S3 secret key");
                }
            }
        }
    }
}
