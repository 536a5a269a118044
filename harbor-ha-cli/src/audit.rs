//! `import` and `drift`: print what harbor-ha-io and the core return.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use harbor_ha_core::audit::{DriftReport, ImportReport};
use harbor_ha_core::Diagnostic;
use harbor_ha_io::{drift_dirs, import_dir};

use crate::report;

/// `harbor-ha import DIR [--out FILE] [--format json]`.
pub(crate) fn import(dir: &Path, file: Option<&Path>, json: bool) -> ExitCode {
    let r = match import_dir(dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(f) = file {
        if let Err(e) = std::fs::write(f, &r.topology) {
            eprintln!("error: cannot write {}: {e}", f.display());
            return ExitCode::from(2);
        }
    }
    let code = if r.has_errors() { ExitCode::from(1) } else { ExitCode::SUCCESS };
    if json {
        let mut s = serde_json::to_string_pretty(&r).unwrap_or_else(|_| "{}".to_string());
        s.push('\n');
        return if crate::out(&s) == ExitCode::SUCCESS { code } else { ExitCode::from(2) };
    }
    if file.is_none() && crate::out(&r.topology) != ExitCode::SUCCESS {
        return ExitCode::from(2);
    }
    eprint!("{}", import_text(dir, file, &r));
    code
}

/// The findings on the collected files (each shown at `DIR/<host>/files/…:line`), then those
/// on the topology, then a summary.
fn import_text(dir: &Path, file: Option<&Path>, r: &ImportReport) -> String {
    let mut s = String::new();
    let color = crate::color_for(crate::Stream::Stderr);
    for d in &r.findings {
        let path = dir.join(&d.path);
        let source = std::fs::read_to_string(&path).unwrap_or_default();
        let name = path.display().to_string();
        // One finding each: its block, not a per-file summary line.
        s.push_str(&report::block(&report::Source::new(&name, &source), d, color));
        s.push('\n');
    }
    let topo = file.map_or_else(|| "<imported topology>".to_string(), |f| f.display().to_string());
    if !r.diagnostics.is_empty() {
        let mut diags = r.diagnostics.clone();
        report::complete(&r.topology, &mut diags);
        let src = report::Source::new(&topo, &r.topology);
        for d in &diags {
            s.push_str(&report::block(&src, d, color));
            s.push('\n');
        }
    }
    let count = |ds: &[Diagnostic]| {
        let e = ds.iter().filter(|d| d.is_error()).count();
        (e, ds.len() - e)
    };
    let (fe, fw) = count(&r.findings);
    let (te, tw) = count(&r.diagnostics);
    let sites = r.topology.lines().filter(|l| l.starts_with("  - name:")).count();
    let hosts = r.topology.lines().filter(|l| l.trim_start().starts_with("- {name:")).count();
    let _ = writeln!(
        s,
        "import {}: {sites} site(s), {hosts} host(s); collected files: {fe} error(s), {fw} warning(s); topology ({topo}): {te} error(s), {tw} warning(s)",
        dir.display()
    );
    s
}

/// `harbor-ha drift BUNDLE DIR [--host NAME]... [--format json]`.
pub(crate) fn drift(bundle: &Path, dir: &Path, only: &[String], json: bool) -> ExitCode {
    let r = match drift_dirs(bundle, dir, only) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let text = if json {
        let mut s = serde_json::to_string_pretty(&r).unwrap_or_else(|_| "{}".to_string());
        s.push('\n');
        s
    } else {
        drift_text(&r)
    };
    if crate::out(&text) != ExitCode::SUCCESS {
        return ExitCode::from(2);
    }
    if r.clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn drift_text(r: &DriftReport) -> String {
    let mut s = String::new();
    for f in &r.findings {
        let _ = writeln!(s, "{}: {}", f.host, f.message);
        if let Some(d) = &f.diff {
            s.push_str(d);
            if !d.ends_with('\n') {
                s.push('\n');
            }
        }
    }
    if r.clean {
        let _ = writeln!(s, "no drift: {} files on {} host(s) match the bundle", r.files, r.hosts.len());
    } else {
        let _ = writeln!(
            s,
            "drift: {} difference(s) on {} host(s) ({} files of the bundle compared)",
            r.findings.len(),
            r.findings.iter().map(|f| &f.host).collect::<std::collections::BTreeSet<_>>().len(),
            r.files
        );
    }
    s
}
