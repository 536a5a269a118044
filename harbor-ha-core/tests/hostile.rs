//! Injection attempts in every place a topology value reaches a script or a config: each
//! is refused by validation with a rule code, so no bundle is ever rendered from it.

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
            Err(d) => vec![*d],
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
