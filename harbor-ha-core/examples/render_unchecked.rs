//! Test support (feature `unchecked`): render a topology in spite of its validation errors.
//!
//! ```text
//! cargo run -p harbor-ha-core --features unchecked --example render_unchecked -- TOPOLOGY OUT
//! ```
//!
//! The e2e canary test (tests/e2e/lib/canary.sh) renders a topology whose names, paths and
//! secrets are injection attempts, which validation refuses, and runs the scripts in a
//! sandbox to prove that the quoting alone keeps them inert. The rule codes validation
//! would report go to stderr (one line, `refused-by: CODE...`); the exit status is 3 when
//! validation would have accepted the file, since then it proves nothing. Secrets come
//! from the file as literals, from `{env: NAME}`, or from `{file: PATH}`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use harbor_ha_core::model::secret::Secret;
use harbor_ha_core::render::{render_unchecked, RenderInputs, SecretResolver};
use harbor_ha_core::Severity;

/// Its own resolver: `harbor-ha-env` depends on the core, so a core example using it would
/// link two copies of the core and its `SecretResolver` trait.
struct Resolver;

impl SecretResolver for Resolver {
    fn resolve(&self, secret: &Secret) -> Result<String, String> {
        match secret {
            Secret::Literal(v) => Ok(v.clone()),
            Secret::Env { env } => std::env::var(env).map_err(|_| format!("environment variable {env} is not set")),
            Secret::File { file } => std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}")),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [topology, out] = args.as_slice() else {
        eprintln!("usage: render_unchecked TOPOLOGY OUT");
        return ExitCode::from(2);
    };
    let (doc, _) = match harbor_ha_core::load_file(Path::new(topology)) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (topo, diags) = harbor_ha_core::validate::resolve_unchecked(&doc.spec);
    let codes: BTreeSet<String> =
        diags.iter().filter(|d| d.severity == Severity::Error).map(|d| d.code.to_string()).collect();
    eprintln!("refused-by: {}", codes.iter().cloned().collect::<Vec<_>>().join(" "));
    let Some(topo) = topo else {
        eprintln!("error: a site could not be resolved at all (Harbor version or external_url)");
        return ExitCode::from(2);
    };
    let out = Path::new(out);
    let secrets =
        match harbor_ha_core::secrets::load_or_generate(&topo, &out.join("secrets"), std::time::SystemTime::now()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
    let inputs = RenderInputs { secrets: &secrets, resolver: &Resolver };
    // The render guard refuses it too (the second layer); this test is about the first.
    let guard = harbor_ha_core::render::guard::check(&topo)
        .iter()
        .map(|x| x.code.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("render-guard-refuses: {guard}");
    let bundle = match render_unchecked(&topo, &inputs) {
        Ok(b) => b,
        Err(d) => {
            for x in d {
                eprintln!("render error: {} at {}: {}", x.code, x.path, x.message);
            }
            return ExitCode::from(1);
        }
    };
    if let Err(e) = bundle.write_to(out, true) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if codes.is_empty() {
        eprintln!("validation would accept this topology: it proves nothing about quoting");
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}
