//! Drift: every file a bundle puts on its hosts against the file collected from them. Plain
//! files are compared byte for byte and shown as a unified diff; secret-bearing files by
//! digest (a redacted file's diff shows its structure, never a value); files missing on the
//! host, files in the directories the bundle owns that it does not put there, modes, and the
//! facts the bundle expects (OS, addresses, Harbor release and images, NFS mounts, active
//! services).

use std::collections::BTreeSet;

use serde::Serialize;

use super::classify::{class, FileClass};
use super::facts::Facts;
use super::tree::{CollectedTree, HostTree};

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftKind {
    /// The host was not collected.
    HostMissing,
    /// The file is not on the host.
    Missing,
    /// The content differs.
    Changed,
    /// The permission bits differ.
    Mode,
    /// A file the bundle does not put in a directory it owns.
    Extra,
    /// A fact differs from what the bundle expects.
    Facts,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftFinding {
    /// The host.
    pub host: String,
    /// The absolute path on the host (`facts.json` for facts).
    pub path: String,
    /// What differs.
    pub kind: DriftKind,
    /// One line saying it.
    pub message: String,
    /// A unified diff (bundle → host) for a changed text file; secret values appear as their
    /// digests only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// The outcome of a drift check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftReport {
    /// No difference.
    pub clean: bool,
    /// The hosts compared.
    pub hosts: Vec<String>,
    /// How many files of the bundle were compared.
    pub files: usize,
    /// Every difference, by host and path.
    pub findings: Vec<DriftFinding>,
}

/// Directories a bundle owns: where it puts a file, a file it does not put is drift.
fn owned(dir: &str) -> bool {
    dir == "/etc/harbor-ha"
        || dir.starts_with("/etc/harbor-ha/")
        || matches!(dir, "/etc/nginx/conf.d" | "/etc/keepalived" | "/etc/exports.d" | "/etc/patroni" | "/etc/haproxy")
}

fn parent(p: &str) -> &str {
    p.rsplit_once('/').map_or("/", |(d, _)| d)
}

/// Compare `bundle` (a bundle's `hosts/`, read as a tree) with `collected`, for the hosts in
/// `only` (every host of the bundle when empty).
#[must_use]
pub fn drift(bundle: &CollectedTree, collected: &CollectedTree, only: &[String]) -> DriftReport {
    let mut findings = Vec::new();
    let mut hosts = Vec::new();
    let mut files = 0;
    for (name, want) in &bundle.hosts {
        if !only.is_empty() && !only.contains(name) {
            continue;
        }
        hosts.push(name.clone());
        let Some(got) = collected.hosts.get(name) else {
            findings.push(DriftFinding {
                host: name.clone(),
                path: String::new(),
                kind: DriftKind::HostMissing,
                message: format!("{name} is not in the collected tree"),
                diff: None,
            });
            continue;
        };
        files += compare_files(name, want, got, &mut findings);
        compare_facts(name, want, got, &mut findings);
    }
    for h in only {
        if !bundle.hosts.contains_key(h) {
            findings.push(DriftFinding {
                host: h.clone(),
                path: String::new(),
                kind: DriftKind::HostMissing,
                message: format!("{h} is not a host of the bundle"),
                diff: None,
            });
        }
    }
    findings.sort_by(|a, b| (&a.host, &a.path, a.kind).cmp(&(&b.host, &b.path, b.kind)));
    DriftReport { clean: findings.is_empty(), hosts, files, findings }
}

/// The mode of `p` on the host: the one its facts name (a rendered tree: install.sh gives the
/// file another mode than its bundle copy's), else the file's own.
fn mode_of(t: &HostTree, facts: Option<&Facts>, p: &str) -> Option<u32> {
    facts.and_then(|f| f.mode_of(p)).or_else(|| t.files.get(p).map(|f| f.mode)).or_else(|| t.digest(p).map(|d| d.mode))
}

fn facts_of(t: &HostTree) -> Option<Facts> {
    t.facts.as_deref().and_then(|b| Facts::parse(b).ok())
}

/// What a service reads in a directory the bundle owns, so that a file there the bundle does
/// not put is drift: nginx includes `conf.d/*.conf`, exportfs `exports.d/*.exports`; elsewhere
/// every file but the samples and leftovers that packages and their managers put there
/// (Debian's keepalived ships `/etc/keepalived/keepalived.conf.sample`).
fn read_by_service(p: &str) -> bool {
    let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
    match dir {
        "/etc/nginx/conf.d" => name.ends_with(".conf"),
        "/etc/exports.d" => name.ends_with(".exports"),
        _ => ![
            ".sample",
            ".dpkg-dist",
            ".dpkg-old",
            ".dpkg-new",
            ".dpkg-bak",
            ".rpmnew",
            ".rpmsave",
            ".rpmorig",
            ".ucf-dist",
            ".ucf-old",
            ".ucf-new",
        ]
        .iter()
        .any(|s| name.ends_with(s)),
    }
}

fn compare_files(host: &str, want: &HostTree, got: &HostTree, out: &mut Vec<DriftFinding>) -> usize {
    let paths = want.paths();
    let (want_facts, got_facts) = (facts_of(want), facts_of(got));
    let mut push = |path: &str, kind: DriftKind, message: String, diff: Option<String>| {
        out.push(DriftFinding { host: host.to_string(), path: path.to_string(), kind, message, diff });
    };
    for p in &paths {
        let Some(w) = want.digest(p) else { continue };
        let Some(g) = got.digest(p) else {
            push(p, DriftKind::Missing, format!("{p} is not on {host}"), None);
            continue;
        };
        if w.hex != g.hex {
            let c = class(p);
            let diff = match (c, want.text(p), got.text(p)) {
                (FileClass::Opaque, _, _) => None,
                (_, Some(a), Some(b)) if a != b => Some(unified(host, p, a, b)),
                _ => None,
            };
            let message = match (c, &diff) {
                (FileClass::Opaque, _) => format!("{p} differs (secret-bearing: compared by digest)"),
                (FileClass::Redacted, None) => format!("{p} differs in a secret value (compared by digest)"),
                (FileClass::Redacted, Some(_)) => format!("{p} differs (secret values shown as digests)"),
                (FileClass::Plain, _) => format!("{p} differs"),
            };
            push(p, DriftKind::Changed, message, diff);
        }
        if let (Some(wm), Some(gm)) = (mode_of(want, want_facts.as_ref(), p), mode_of(got, got_facts.as_ref(), p)) {
            if wm & 0o7777 != gm & 0o7777 {
                push(
                    p,
                    DriftKind::Mode,
                    format!("{p} has mode {:04o}, the bundle {:04o}", gm & 0o7777, wm & 0o7777),
                    None,
                );
            }
        }
    }
    let wanted: BTreeSet<&String> = paths.iter().collect();
    let dirs: BTreeSet<&str> = paths.iter().map(|p| parent(p)).filter(|d| owned(d)).collect();
    for p in got.paths() {
        if !wanted.contains(&p) && dirs.contains(parent(&p)) && read_by_service(&p) {
            push(
                &p,
                DriftKind::Extra,
                format!("{p} is on {host} but not in the bundle (in {}, which the bundle owns)", parent(&p)),
                None,
            );
        }
    }
    paths.len()
}

fn unified(host: &str, path: &str, a: &str, b: &str) -> String {
    similar::TextDiff::from_lines(a, b)
        .unified_diff()
        .context_radius(3)
        .header(&format!("bundle: hosts/{host}/files{path}"), &format!("collected: {host}/files{path}"))
        .to_string()
}

fn compare_facts(host: &str, want: &HostTree, got: &HostTree, out: &mut Vec<DriftFinding>) {
    let Some(wf) = want.facts.as_deref().and_then(|b| Facts::parse(b).ok()) else { return };
    let mut push = |message: String| {
        out.push(DriftFinding {
            host: host.to_string(),
            path: "facts.json".to_string(),
            kind: DriftKind::Facts,
            message,
            diff: None,
        });
    };
    let gf = match got.facts.as_deref().map(Facts::parse) {
        None => return push(format!("{host}/facts.json was not collected")),
        Some(Err((e, line))) => return push(format!("{host}/facts.json line {line}: {e}")),
        Some(Ok(f)) => f,
    };
    if !wf.os.is_empty() && wf.os != gf.os {
        push(format!("OS is {}, the bundle is for {}", or_none(&gf.os), wf.os));
    }
    // Collected from files under a directory: the running host's facts are not known.
    if gf.root.is_some() {
        return;
    }
    let got_ips = gf.ips();
    for (a, ip) in wf.addresses.iter().zip(wf.ips()) {
        let exact = gf.addresses.iter().any(|g| g == a || !g.contains('/') && g.parse() == Ok(ip));
        if !exact {
            let m = if got_ips.contains(&ip) { "with another prefix length" } else { "missing" };
            push(format!("address {a} {m}"));
        }
    }
    if let Some(v) = &wf.harbor_version {
        if gf.harbor_version.as_ref() != Some(v) {
            push(format!("Harbor {} runs, the bundle is for {v}", gf.harbor_version.as_deref().unwrap_or("(none)")));
        }
    }
    for (c, img) in &wf.images {
        match gf.images.get(c) {
            Some(g) if g == img => {}
            Some(g) => push(format!("container {c} runs {g}, the bundle expects {img}")),
            None => push(format!("container {c} ({img}) is not there")),
        }
    }
    let norm = |t: &str| t.trim_end_matches('4').to_string();
    for m in &wf.mounts {
        let ok = gf
            .mounts
            .iter()
            .any(|g| g.source == m.source && g.target == m.target && norm(&g.fstype) == norm(&m.fstype));
        if !ok {
            push(format!("{} is not mounted at {} ({})", m.source, m.target, m.fstype));
        }
    }
    for s in &wf.services {
        if !gf.services.contains(s) {
            push(format!("service {s} is not active"));
        }
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "(not collected)"
    } else {
        s
    }
}
