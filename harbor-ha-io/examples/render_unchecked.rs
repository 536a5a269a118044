//! Test support (feature `unchecked`): render a topology in spite of its validation errors.
//!
//! ```text
//! cargo run -p harbor-ha-io --features unchecked --example render_unchecked -- TOPOLOGY OUT
//! ```
//!
//! The e2e canary test (tests/e2e/lib/canary.sh) renders a topology whose names, paths and
//! secrets are injection attempts, which validation refuses, and runs the scripts in a
//! sandbox to prove that the quoting alone keeps them inert. The rule codes validation
//! reports go to stderr (one line, `refused-by: CODE...`); the exit status is 3 when
//! validation would have accepted the file, since then it proves nothing. Secrets come
//! from the file as literals, from `{env: NAME}`, or from `{file: PATH}`.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_macros,
    reason = "a command-line example: arguments, printing, exit codes"
)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use harbor_ha_core::render::render;
use harbor_ha_core::validate::{resolve_secrets, resolve_unchecked};
use harbor_ha_core::Severity;
use harbor_ha_io::{load_file, secrets::load_or_generate, write_bundle, EnvResolver};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [topology, out] = args.as_slice() else {
        eprintln!("usage: render_unchecked TOPOLOGY OUT");
        return ExitCode::from(2);
    };
    let (doc, _) = match load_file(Path::new(topology)) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (topo, diags) = resolve_unchecked(&doc.spec);
    let codes: BTreeSet<String> =
        diags.iter().filter(|d| d.severity == Severity::Error).map(|d| d.code.to_string()).collect();
    eprintln!("refused-by: {}", codes.iter().cloned().collect::<Vec<_>>().join(" "));
    let Some(topo) = topo else {
        eprintln!("error: a site could not be resolved at all (Harbor version or external_url)");
        return ExitCode::from(2);
    };
    let out = Path::new(out);
    let shared = match load_or_generate(&topo, Some(&out.join("secrets"))) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let input = match resolve_secrets(&topo, &EnvResolver, shared) {
        Ok(i) => i,
        Err(d) => {
            for x in d {
                eprintln!("secret error: {} at {}: {}", x.code, x.path, x.message);
            }
            return ExitCode::from(1);
        }
    };
    if let Err(e) = write_bundle(&render(&input), out, true) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if codes.is_empty() {
        eprintln!("validation would accept this topology: it proves nothing about quoting");
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}
