//! Every error in one run. The parser's HA001s: every structural error at once, in words
//! (no Rust type names), "did you mean" for near keys, YAML merge keys and `x-` keys. And
//! validation: a bad Harbor version hides only the rules that depend on the release.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "the shared test helpers read the committed test keys; this file's own tests print a count"
)]

mod common;

use harbor_ha_core::{examples, load_str, Diagnostic, RuleCode};
use serde_yaml::Value;

fn errors(text: &str) -> Vec<Diagnostic> {
    match load_str(text) {
        Ok(_) => Vec::new(),
        Err(d) => d,
    }
}

/// A Rust type name in a message or hint: `u16`, `usize`, `struct X`, `Vec<`, … (as the
/// regex `\b(u8|u16|u32|u64|i32|i64|usize|f64)\b|struct |enum |Vec<|Option<|String|BTreeMap`).
fn rust_type_name(s: &str) -> Option<&'static str> {
    const WORDS: &[&str] = &["u8", "u16", "u32", "u64", "i32", "i64", "usize", "f64"];
    const TEXTS: &[&str] = &["struct ", "enum ", "Vec<", "Option<", "String", "BTreeMap"];
    let word = |w: &str| {
        s.match_indices(w).any(|(i, _)| {
            let before = s[..i].chars().next_back().is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
            let after = s[i + w.len()..].chars().next().is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
            before && after
        })
    };
    WORDS.iter().copied().find(|w| word(w)).or_else(|| TEXTS.iter().copied().find(|t| s.contains(t)))
}

#[test]
fn the_type_name_pattern_matches_what_it_must() {
    assert_eq!(rust_type_name("invalid type: string, expected u16"), Some("u16"));
    assert_eq!(rust_type_name("expected struct TopologySpec"), Some("struct "));
    assert_eq!(rust_type_name("a Vec<String>"), Some("Vec<"));
    assert_eq!(rust_type_name("a String"), Some("String"));
    assert_eq!(rust_type_name("expected an integer from 0 to 65535, found a string"), None);
    assert_eq!(rust_type_name("ubuntu22.04 is not utf8"), None);
}

/// Every key path of `v` (containers and leaves).
fn paths(v: &Value, at: Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                let mut p = at.clone();
                p.push(PathStep::Key(k.as_str().unwrap().to_string()));
                out.push(p.clone());
                paths(child, p, out);
            }
        }
        Value::Sequence(items) => {
            for (i, child) in items.iter().enumerate() {
                let mut p = at.clone();
                p.push(PathStep::Index(i));
                out.push(p.clone());
                paths(child, p, out);
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn at_mut<'v>(v: &'v mut Value, path: &[PathStep]) -> &'v mut Value {
    path.iter().fold(v, |v, step| match step {
        PathStep::Key(k) => v.get_mut(k.as_str()).unwrap(),
        PathStep::Index(i) => v.get_mut(*i).unwrap(),
    })
}

fn dotted(path: &[PathStep]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            PathStep::Key(k) if s.is_empty() => s.push_str(k),
            PathStep::Key(k) => s.push_str(&format!(".{k}")),
            PathStep::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Wrong types at every place of every example: each is an HA001 naming that place, with a
/// position, and no message or hint holds a Rust type name.
#[test]
fn wrong_types_everywhere_are_reported_in_words() {
    let wrong: Vec<Value> = vec![
        Value::from(3.5),
        Value::from(70000),
        Value::from(-1),
        Value::from(true),
        Value::from("zz"),
        Value::Null,
        serde_yaml::from_str("[1, 2]").unwrap(),
        serde_yaml::from_str("{q: 1}").unwrap(),
    ];
    let mut cases = 0;
    let mut refused = 0;
    for name in ["seed", "s3", "dual-master", "hierarchy"] {
        let base: Value = serde_yaml::from_str(examples::get(name).unwrap()).unwrap();
        let mut all = Vec::new();
        paths(&base, Vec::new(), &mut all);
        for path in &all {
            for w in &wrong {
                let mut v = base.clone();
                *at_mut(&mut v, path) = w.clone();
                let text = serde_yaml::to_string(&v).unwrap();
                cases += 1;
                let diags = errors(&text);
                if diags.is_empty() {
                    continue; // the wrong value fits there (a string where a string goes)
                }
                refused += 1;
                let place = dotted(path);
                for d in &diags {
                    assert_eq!(d.code, RuleCode::HA001, "{name} {place}: {d:?}");
                    assert!(d.line.is_some(), "{name} {place}: no position: {d:?}");
                    for s in [&d.message, &d.hint] {
                        assert!(rust_type_name(s).is_none(), "{name} {place} = {w:?}: a Rust type in {s:?}");
                    }
                }
                assert!(
                    diags.iter().any(|d| d.path.starts_with(&place) || place.starts_with(&d.path)),
                    "{name} {place} = {w:?}: no diagnostic names the place: {diags:#?}"
                );
            }
        }
    }
    eprintln!("{refused} of {cases} broken inputs refused");
    assert!(refused * 2 > cases, "only {refused} of {cases} broken inputs were refused");
}

#[test]
fn every_structural_error_is_reported_in_one_run() {
    let text = r#"
version: 1
sites:
  - name: a
    colour: blue
    os: centos8
    harbor:
      version: 2.10
      external_url: 5
    network: {subnet: 10.0.0.0/24}
    hosts:
      - name: h1
        address: 10.0.0.1
        roles: [harbor, lbb]
        http_port: 70000
      - {name: h2, address: 10.0.0.300, roles: harbor}
    database: {port: "5432", ssl_mode: maybe}
"#;
    let diags = errors(text);
    let mut got: Vec<&str> = diags.iter().map(|d| d.path.as_str()).collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "sites[0].colour",
            "sites[0].database.port",
            "sites[0].database.ssl_mode",
            "sites[0].harbor.admin_password",
            "sites[0].harbor.external_url",
            "sites[0].harbor.version",
            "sites[0].hosts[0].http_port",
            "sites[0].hosts[0].roles[1]",
            "sites[0].hosts[1].address",
            "sites[0].hosts[1].roles",
            "sites[0].os",
        ],
        "{diags:#?}"
    );
    // Each at its own line: the value's (or the key's, for an unknown key; the mapping's,
    // for a missing key).
    let line = |p: &str| diags.iter().find(|d| d.path == p).and_then(|d| d.line);
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).map(|i| i + 1);
    assert_eq!(line("sites[0].colour"), line_of("colour:"));
    assert_eq!(line("sites[0].hosts[0].http_port"), line_of("http_port"));
    assert_eq!(line("sites[0].harbor.admin_password"), line_of("harbor:"));
    assert_eq!(line("sites[0].hosts[1].address"), line_of("10.0.0.300"));
}

#[test]
fn a_wrong_type_on_a_secret_never_shows_the_value() {
    for value in ["8675309", "true", "3.25", "{pass: Hunter2x}", "[Hunter2x]"] {
        let text = examples::get("seed").unwrap().replace("{env: HARBOR_DB_PASSWORD}", value);
        let diags = errors(&text);
        assert_eq!(diags.len(), 1, "{value}: {diags:#?}");
        let d = &diags[0];
        assert_eq!(d.path, "sites[0].database.password");
        for secret in ["8675309", "3.25", "Hunter2x"] {
            assert!(!d.message.contains(secret) && !d.hint.contains(secret), "{value}: {d:?}");
        }
    }
}

#[test]
fn a_near_unknown_key_gets_a_suggestion_and_an_unrelated_one_none() {
    let seed = examples::get("seed").unwrap();
    let near = errors(&seed.replace("    load_balancer:", "    load_balancr:"));
    assert_eq!(near.len(), 1, "{near:#?}");
    assert!(near[0].message.contains("unknown key `load_balancr`"), "{}", near[0].message);
    assert!(near[0].message.contains("did you mean `load_balancer`?"), "{}", near[0].message);
    // A misspelt required key is one finding (the unknown key), not two.
    let required = errors(&seed.replace("    network:", "    netwrok:"));
    assert_eq!(required.len(), 1, "{required:#?}");
    assert!(required[0].message.contains("did you mean `network`?"), "{}", required[0].message);
    // The same for a choice.
    let choice = errors(&seed.replace("os: centos7", "os: centos8"));
    assert!(choice[0].message.contains("did you mean `centos7`?"), "{}", choice[0].message);

    let far = errors(&seed.replace("    load_balancer:", "    qqqqqqqq:"));
    assert!(far.iter().any(|d| d.message.contains("unknown key `qqqqqqqq`")), "{far:#?}");
    assert!(far.iter().all(|d| !d.message.contains("did you mean")), "{far:#?}");
    assert!(far.iter().any(|d| d.hint.contains("`load_balancer`")), "the hint lists the keys: {far:#?}");
}

/// The seed, with the shared settings of its hosts, database and Redis held by anchors in
/// `x-` keys and merged with `<<`, is the seed: it validates and renders the same bundle.
#[test]
fn merge_keys_and_extension_keys_render_the_same_bundle() {
    let seed = examples::get("seed").unwrap();
    let anchored = seed
        .replace(
            "version: 1\n",
            "version: 1\nx-harbor-node: &harbor-node {roles: [harbor]}\nx-port: &pg-port {port: 5432}\nx-service: &service\n  version: \"3.2\"\n  port: 9999\n",
        )
        .replace(
            "{name: harbor-1, address: 192.168.166.81, roles: [harbor]}",
            "{<<: *harbor-node, name: harbor-1, address: 192.168.166.81}",
        )
        .replace(
            "{name: harbor-2, address: 192.168.166.212, roles: [harbor]}",
            "{<<: *harbor-node, name: harbor-2, address: 192.168.166.212, x-note: second node}",
        )
        .replace("      version: \"9.6\"\n      port: 5432\n", "      <<: [*pg-port, *service]\n      version: \"9.6\"\n")
        .replace("      version: \"3.2\"\n      port: 6379\n", "      <<: *service\n      port: 6379\n")
        .replace("    mode: shared-storage\n", "    mode: shared-storage\n    x-owner: {team: registry}\n");
    assert_ne!(anchored, seed);
    assert_eq!(anchored.matches("<<").count(), 4, "{anchored}");
    let plain = common::topology_str("seed", seed);
    let merged = common::topology_str("anchored seed", &anchored);
    assert_eq!(common::render_topology(&merged), common::render_topology(&plain));
}

#[test]
fn an_error_in_a_merged_value_points_at_the_merge_key() {
    let text = r#"version: 1
x-node: &node
  roles: [harbor]
  http_port: eighty
sites:
  - name: a
    harbor: {version: "2.11.1", external_url: "https://h.example.com", admin_password: {env: A}}
    network: {subnet: 10.0.0.0/24}
    hosts:
      - name: h1
        address: 10.0.0.1
        <<: *node
"#;
    let diags = errors(text);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].path, "sites[0].hosts[0].http_port");
    assert_eq!(diags[0].line, Some(12), "the `<<: *node` line: {diags:#?}");
    // A merge key of something else than mappings is refused where it is written.
    let bad = errors(&text.replace("<<: *node", "<<: [1]\n        roles: [harbor]"));
    assert!(bad.iter().any(|d| d.path == "sites[0].hosts[0].<<[0]" && d.line == Some(12)), "{bad:#?}");
}

#[test]
fn extension_keys_are_ignored_only_where_keys_are_fixed() {
    let seed = examples::get("seed").unwrap();
    assert!(errors(&format!("x-top: 1\n{seed}")).is_empty());
    // In a mapping of free keys (alert labels), `x-` is data, checked as a label name.
    let labelled = seed
        .replace("version: 1\n", "version: 1\nmonitoring: {prometheus: 192.168.166.5, alert_labels: {x-team: a}}\n");
    let report = load_str(&labelled).expect("parses").validate();
    assert!(report.diagnostics.iter().any(|d| d.path.contains("x-team")), "{:#?}", report.diagnostics);
}

#[test]
fn a_key_given_twice_is_named_with_both_lines() {
    let diags = errors("version: 1\nsites: [{name: a, name: b}]\nversion: 1\n");
    let got: Vec<(&str, Option<usize>)> = diags.iter().map(|d| (d.path.as_str(), d.line)).collect();
    assert_eq!(got, [("sites[0].name", Some(2)), ("version", Some(3))], "{diags:#?}");
    assert!(diags[1].message.contains("first at line 1"), "{}", diags[1].message);
}

#[test]
fn a_secret_of_two_sources_is_refused_without_its_values() {
    let seed = examples::get("seed").unwrap();
    let diags = errors(&seed.replace("{env: HARBOR_DB_PASSWORD}", "{env: Hunter2x, file: Hunter3x}"));
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].path, "sites[0].database.password");
    assert!(!diags[0].message.contains("Hunter"), "{}", diags[0].message);
}

fn codes(text: &str) -> Vec<RuleCode> {
    load_str(text).expect("parses").validate().diagnostics.iter().map(|d| d.code).collect()
}

/// A bad Harbor version hides only the rules that depend on the release: a host outside the
/// subnet is still reported; DB002 (PostgreSQL 9.6 is too old for Harbor 2.5+, fine for
/// 1.10) is not, since it depends on the release.
#[test]
fn a_bad_harbor_version_hides_only_the_rules_of_the_release() {
    let seed = examples::get("seed").unwrap();
    let outside = seed.replace("address: 192.168.166.212", "address: 10.9.9.9");
    let good = codes(&outside.replace("\"1.10.2\"", "\"2.11.1\""));
    assert!(good.contains(&RuleCode::HA003) && good.contains(&RuleCode::DB002), "{good:?}");
    let bad = codes(&outside.replace("\"1.10.2\"", "\"2.1x\""));
    assert!(bad.contains(&RuleCode::HB001) && bad.contains(&RuleCode::HA003), "{bad:?}");
    assert!(!bad.contains(&RuleCode::DB002), "{bad:?}");
    // Unsupported (not malformed) releases too.
    let newer = codes(&outside.replace("\"1.10.2\"", "\"2.99.0\""));
    assert!(newer.contains(&RuleCode::HB001) && newer.contains(&RuleCode::HA003), "{newer:?}");
}

/// The value tree is built before it is checked: aliases that would expand it beyond reason
/// (a flat list of aliases of a big anchor, or nested ones) are refused from the event
/// counts, before anything is built.
#[test]
fn an_alias_bomb_is_refused_before_it_is_expanded() {
    let big = format!("[{}]", vec!["x"; 1000].join(","));
    let flat = format!("version: 1\nx-a: &a {big}\nx-b: [{}]\nsites: []\n", vec!["*a"; 2000].join(","));
    let diags = errors(&flat);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(diags[0].message.contains("expand to"), "{}", diags[0].message);
    // A few aliases of a few values are what anchors are for.
    let fine = format!("version: 1\nx-a: &a {big}\nx-b: [{}]\nsites: []\n", vec!["*a"; 20].join(","));
    assert!(errors(&fine).iter().all(|d| !d.message.contains("expand to")), "{:#?}", errors(&fine));
}
