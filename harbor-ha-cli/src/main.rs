//! `harbor-ha`: a thin command line over harbor-ha-core (validate, explain, schema, plan)
//! and harbor-ha-io (reading topology files, rendering into a directory). It parses
//! arguments, prints what those return, and maps outcomes to exit codes (0 clean, 1 errors,
//! 2 usage, I/O or parse failure).
#![deny(missing_docs)]
#![allow(clippy::disallowed_macros, clippy::disallowed_methods, reason = "the command line prints and exits")]

mod audit;
mod progress;
mod report;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use harbor_ha_core::{examples, RuleCode};
use harbor_ha_io::{display_name, load_file, render_to_dir, LoadError, RenderError, RenderOptions, WriteOutcome};

#[derive(Parser)]
#[command(name = "harbor-ha", version, about = "Model, validate and render a highly available Harbor deployment")]
struct Cli {
    /// Colour the diagnostics: auto (on a terminal, unless NO_COLOR is set or CLICOLOR=0;
    /// CLICOLOR_FORCE=1 colours a pipe too), always or never.
    #[arg(long, value_enum, default_value = "auto", global = true)]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// How diagnostics are printed.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DiagFormat {
    /// Compiler style: excerpts with the value underlined, the hint and the explain line.
    Text,
    /// An array of {code, severity, message, hint, path, line, column, end_line,
    /// end_column, file, explain}.
    Json,
    /// SARIF 2.1.0, for code scanning (e.g. github/codeql-action/upload-sarif).
    Sarif,
    /// GitHub Actions workflow commands (::error file=…,line=…::…): annotations on the file.
    Github,
}

impl From<Format> for DiagFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Text => DiagFormat::Text,
            Format::Json => DiagFormat::Json,
        }
    }
}

/// `--color`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The `--color` of this run.
static COLOR: std::sync::OnceLock<ColorChoice> = std::sync::OnceLock::new();

/// Which stream a text is printed to (colour is decided by whether that one is a terminal).
#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// Whether to colour text printed to `stream`.
fn color_for(stream: Stream) -> bool {
    use std::io::IsTerminal;
    let tty = match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    };
    use_color(*COLOR.get().unwrap_or(&ColorChoice::Auto), tty, |k| std::env::var_os(k))
}

/// The colour decision: `--color always|never` wins; otherwise NO_COLOR (set and not empty)
/// turns it off, then CLICOLOR_FORCE (set and not `0`) on, then CLICOLOR=0 off, and a
/// terminal decides.
fn use_color(choice: ColorChoice, tty: bool, env: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    match choice {
        ColorChoice::Always => return true,
        ColorChoice::Never => return false,
        ColorChoice::Auto => {}
    }
    if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if env("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    if env("CLICOLOR").is_some_and(|v| v == "0") {
        return false;
    }
    tty
}

#[derive(Subcommand)]
enum Command {
    /// Print an example topology (seed, s3, dual-master, hierarchy).
    Init {
        /// Which example.
        #[arg(long, default_value = "seed", value_parser = clap::builder::PossibleValuesParser::new(examples::NAMES))]
        example: String,
    },
    /// Check a topology file and report every problem with its fix.
    Validate {
        /// The topology file (`-`: standard input).
        file: PathBuf,
        /// Output format (sarif: for code scanning; github: annotations in GitHub Actions).
        #[arg(long, value_enum, default_value = "text")]
        format: DiagFormat,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        strict: bool,
        /// Accept this warning (a rule code or name; repeatable): not shown, not counted by
        /// --strict, listed as suppressed in JSON. Errors cannot be allowed.
        #[arg(long = "allow", value_name = "CODE", value_parser = parse_allow)]
        allow: Vec<RuleCode>,
    },
    /// Print a rule's documentation.
    Explain {
        /// A rule code (HA003) or name (host-outside-subnet).
        code: String,
    },
    /// Print the JSON Schema of the topology format.
    Schema,
    /// Write the deployment bundle (configs, install scripts, runbook) into a directory.
    Render {
        /// The topology file (`-`: standard input).
        file: PathBuf,
        /// Output directory. Only the files that differ are replaced, each atomically, and
        /// MANIFEST.sha256 (every file's SHA-256 and mode) is written last; left untouched when
        /// it already holds this exact bundle. A render that was interrupted is completed; a
        /// file edited since the last render is named and not overwritten without --force.
        /// Secrets under <out>/secrets/ are reused, never replaced.
        #[arg(long)]
        out: PathBuf,
        /// Replace --out even when it is not a previous bundle; overwrite files edited since
        /// the last render and stored secrets the bundle holds with other values.
        #[arg(long)]
        force: bool,
        /// The running site's topology: also write CHANGE.md (the plan) and, for a version
        /// change, upgrade/ (one script per hop). Render into the running bundle's directory
        /// so that its secrets are reused.
        #[arg(long, value_name = "OLD")]
        from: Option<PathBuf>,
        /// With --from: plan changes that lose the site's data (CH003 becomes a warning).
        #[arg(long, requires = "from")]
        allow_destructive: bool,
        /// List every created, changed and removed file.
        #[arg(short, long, conflicts_with = "quiet")]
        verbose: bool,
        /// Print nothing but errors (no warnings, no summary, no progress bar).
        #[arg(short, long)]
        quiet: bool,
        /// Format of the diagnostics (errors, and warnings on success). In json, sarif and
        /// github they go to standard output and the summary to standard error.
        #[arg(long, value_enum, default_value = "text")]
        format: DiagFormat,
        /// Accept this warning (a rule code or name; repeatable): not shown, not counted by
        /// --strict, listed as suppressed in JSON. Errors cannot be allowed.
        #[arg(long = "allow", value_name = "CODE", value_parser = parse_allow)]
        allow: Vec<RuleCode>,
        /// Read the stored secrets from DIR/<site>/ instead of <out>/secrets/<site>/ (a
        /// restored backup, a vault checkout); refused when DIR holds none. The bundle
        /// still carries them under secrets/.
        #[arg(long, value_name = "DIR")]
        secrets: Option<PathBuf>,
        /// Generate no secret: fail, naming them, when some are not stored (CI, re-renders of
        /// a running site).
        #[arg(long)]
        locked: bool,
    },
    /// Print the hosts in install order with the files each receives; with --from, the
    /// ordered steps that change the running site (OLD) into this topology.
    Plan {
        /// The topology file (with --from: the wanted topology; `-`: standard input).
        file: PathBuf,
        /// The running site's topology: plan the change from it to FILE.
        #[arg(long, value_name = "OLD")]
        from: Option<PathBuf>,
        /// Output format (json: `{"sites": [...]}`, or with --from the change plan's steps).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Show each changed file as a unified diff (secrets are stand-ins).
        #[arg(long, requires = "from")]
        diff: bool,
        /// Plan changes that lose the site's data (CH003 becomes a warning).
        #[arg(long, requires = "from")]
        allow_destructive: bool,
        /// Accept this warning (a rule code or name; repeatable): not shown, not counted by
        /// --strict, listed as suppressed in JSON. Errors cannot be allowed.
        #[arg(long = "allow", value_name = "CODE", value_parser = parse_allow)]
        allow: Vec<RuleCode>,
    },
    /// Rebuild a topology from a collected tree (collect.sh's output) and check the site:
    /// every rule, plus the cross-node rules on the collected files.
    Import {
        /// The collected tree: DIR/<host>/files/<absolute path> and DIR/<host>/facts.json.
        dir: PathBuf,
        /// Write the topology here (default: standard output; findings go to standard error).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Output format (json: one object with topology, findings and diagnostics).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Compare every file a bundle puts on its hosts with the collected one (exit 1 on drift).
    Drift {
        /// The bundle directory (harbor-ha render's --out).
        bundle: PathBuf,
        /// The collected tree.
        dir: PathBuf,
        /// Compare only this host (repeatable).
        #[arg(long = "host")]
        hosts: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Print collect.sh, the script that collects a live site for import and drift (every
    /// bundle holds the same script).
    CollectScript,
    /// Print the shell completion script for SHELL (e.g. `harbor-ha completions bash >
    /// /etc/bash_completion.d/harbor-ha`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff; e.g. `harbor-ha man | man -l -`), or a subcommand's page
    /// (harbor-ha-SUBCOMMAND(1), which the main page refers to).
    Man {
        /// A subcommand (validate, render, …).
        subcommand: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let _ = COLOR.set(cli.color);
    match cli.command {
        Command::Init { example } => out(examples::get(&example).unwrap_or_default()),
        Command::Schema => out(&harbor_ha_core::schema::json_schema()),
        Command::Explain { code } => match code.parse::<RuleCode>() {
            Ok(c) => out(&format!("{}\n", c.doc().trim_end())),
            Err(e) => {
                eprintln!(
                    "error: {e}; the codes are: {}",
                    RuleCode::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                );
                ExitCode::from(2)
            }
        },
        Command::Validate { file, format, strict, allow } => validate(&file, format, strict, &allow),
        Command::Render {
            file,
            out: dir,
            force,
            from,
            allow_destructive,
            verbose,
            quiet,
            format,
            allow,
            secrets,
            locked,
        } => {
            let bar = (!quiet).then(progress::Bar::new);
            let options = RenderOptions {
                force,
                from,
                allow_destructive,
                allow,
                secrets,
                locked,
                progress: bar.as_ref().map(progress::Bar::callback).unwrap_or_default(),
            };
            let noise = if quiet {
                Noise::Quiet
            } else if verbose {
                Noise::Verbose
            } else {
                Noise::Normal
            };
            render(&file, &dir, &options, noise, format, bar.as_ref())
        }
        Command::Plan { file, from: None, format, allow, .. } => match load_valid_doc(&file, format.into(), &allow) {
            Ok((_, t)) if format == Format::Json => out(&harbor_ha_core::render::install_plan_json(&t)),
            Ok((_, t)) => out(&harbor_ha_core::render::plan(&t)),
            Err(code) => code,
        },
        Command::Plan { file, from: Some(old), format, diff, allow_destructive, allow } => {
            change_plan(&old, &file, format, diff, allow_destructive, &allow)
        }
        Command::Import { dir, out: file, format } => audit::import(&dir, file.as_deref(), format == Format::Json),
        Command::Drift { bundle, dir, hosts, format } => audit::drift(&bundle, &dir, &hosts, format == Format::Json),
        Command::CollectScript => out(&harbor_ha_core::render::collect::script()),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "harbor-ha", &mut buf);
            out(&String::from_utf8_lossy(&buf))
        }
        Command::Man { subcommand } => man(subcommand.as_deref()),
    }
}

/// `harbor-ha man [SUBCOMMAND]`: the roff page of the command, or of one subcommand
/// (named harbor-ha-SUBCOMMAND, as the main page refers to it).
fn man(subcommand: Option<&str>) -> ExitCode {
    let cmd = Cli::command();
    let page = match subcommand {
        None => cmd,
        Some(name) => match cmd.find_subcommand(name) {
            Some(sub) => sub.clone().name(format!("harbor-ha-{name}")),
            None => {
                let names: Vec<&str> = cmd.get_subcommands().map(clap::Command::get_name).collect();
                eprintln!("error: no subcommand `{name}`; the subcommands are: {}", names.join(", "));
                return ExitCode::from(2);
            }
        },
    };
    let mut buf = Vec::new();
    match clap_mangen::Man::new(page).render(&mut buf) {
        Ok(()) => out(&String::from_utf8_lossy(&buf)),
        Err(e) => {
            eprintln!("error: cannot render the man page: {e}");
            ExitCode::from(2)
        }
    }
}

/// Standard input can be read once: refuse a command line that names it twice.
fn one_stdin(files: &[&Path]) -> Result<(), ExitCode> {
    if files.iter().filter(|f| **f == Path::new(harbor_ha_io::STDIN)).count() > 1 {
        eprintln!("error: `-` (standard input) is given more than once; at most one topology can come from it");
        return Err(ExitCode::from(2));
    }
    Ok(())
}

/// `--allow CODE`: a rule code or name that can warn; otherwise the AL001 message and hint.
fn parse_allow(s: &str) -> Result<RuleCode, String> {
    harbor_ha_core::validate::allow::refusal(s).map_err(|(message, hint)| format!("{message}; {hint}"))
}

/// Read and parse `file`; a parse error is printed in `format` (exit 2), as are I/O errors.
fn load_or_report(file: &Path, format: DiagFormat) -> Result<(harbor_ha_core::Document, String), ExitCode> {
    match load_file(file) {
        Ok(x) => Ok(x),
        Err(LoadError::Parse { diagnostics, text }) => {
            print_diags(format, file, &text, &diagnostics);
            Err(ExitCode::from(2))
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// `plan --from OLD NEW`: both validated (their diagnostics printed as `validate` does),
/// then the change planned; refusals printed like diagnostics of NEW (exit 1).
fn change_plan(
    old: &Path,
    new: &Path,
    format: Format,
    diff: bool,
    allow_destructive: bool,
    allow: &[RuleCode],
) -> ExitCode {
    if let Err(code) = one_stdin(&[old, new]) {
        return code;
    }
    let (old_doc, old_topo) = match load_valid_doc(old, format.into(), allow) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let (new_doc, new_topo) = match load_valid_doc(new, format.into(), allow) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let options = harbor_ha_core::change::Options { allow_destructive };
    let old_side = harbor_ha_core::change::Side { doc: &old_doc.0, topology: &old_topo };
    let new_side = harbor_ha_core::change::Side { doc: &new_doc.0, topology: &new_topo };
    match harbor_ha_core::change::plan(old_side, new_side, options) {
        Ok(p) => out(&match format {
            Format::Text => harbor_ha_core::change::text(&p, &display_name(old), &display_name(new), diff),
            Format::Json => harbor_ha_core::change::json(&p, diff),
        }),
        Err(diags) => {
            print_diags(format.into(), new, &new_doc.1, &diags);
            ExitCode::from(1)
        }
    }
}

/// Load and validate for a change plan; on errors print them in `format` and give the exit code.
#[allow(clippy::type_complexity, reason = "the document with its text, and the topology")]
fn load_valid_doc(
    file: &Path,
    format: DiagFormat,
    allow: &[RuleCode],
) -> Result<((harbor_ha_core::Document, String), harbor_ha_core::ValidTopology), ExitCode> {
    let (doc, text) = load_or_report(file, format)?;
    let report = doc.validate_allowing(allow);
    match report.topology {
        Some(t) => Ok(((doc, text), t)),
        None => {
            print_diags(format, file, &text, &report.diagnostics);
            Err(ExitCode::from(1))
        }
    }
}

/// How much `render` says on success.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Noise {
    /// Errors only.
    Quiet,
    /// Warnings (standard error) and the summary of the changes (standard output).
    Normal,
    /// Also every changed path.
    Verbose,
}

fn render(
    file: &Path,
    dir: &Path,
    options: &RenderOptions,
    noise: Noise,
    format: DiagFormat,
    bar: Option<&progress::Bar>,
) -> ExitCode {
    if let Some(from) = &options.from {
        if let Err(code) = one_stdin(&[from, file]) {
            return code;
        }
    }
    let d = dir.display();
    let result = render_to_dir(file, dir, options);
    if let Some(bar) = bar {
        bar.finish();
    }
    match result {
        Ok(_) if noise == Noise::Quiet => ExitCode::SUCCESS,
        Ok(o) => {
            let name = display_name(file);
            if format != DiagFormat::Text {
                // Machine output on standard output (also when empty: a JSON/SARIF consumer
                // reads a document), the summary on standard error.
                let (mut warnings, mut suppressed) = (o.warnings.clone(), o.suppressed.clone());
                report::complete(&o.text, &mut warnings);
                report::complete(&o.text, &mut suppressed);
                if out(&machine(format, &name, &warnings, &suppressed)) != ExitCode::SUCCESS {
                    return ExitCode::from(2);
                }
            } else if !o.warnings.is_empty() || !o.suppressed.is_empty() {
                let mut warnings = o.warnings.clone();
                report::complete(&o.text, &mut warnings);
                let src = report::Source::new(&name, &o.text);
                eprint!(
                    "{}",
                    report::text_with_suppressed(&src, &warnings, o.suppressed.len(), color_for(Stream::Stderr))
                );
            }
            let mut s = if o.write == WriteOutcome::Written {
                let c = &o.changes;
                let (n, m, r) = (c.created.len(), c.changed.len(), c.removed.len());
                format!(
                    "wrote {} files to {d} ({n} created, {m} changed, {r} removed); start with {d}/README.md\n",
                    o.files
                )
            } else {
                format!("{d} is up to date ({} files unchanged); start with {d}/README.md\n", o.files)
            };
            if noise == Noise::Verbose {
                s.push_str(&report::changes(&o.changes));
            }
            if format != DiagFormat::Text {
                eprint!("{s}");
                return ExitCode::SUCCESS;
            }
            out(&s)
        }
        Err(RenderError::Load(LoadError::Parse { diagnostics, text })) => {
            print_diags(format, file, &text, &diagnostics);
            ExitCode::from(2)
        }
        Err(RenderError::Invalid { diagnostics, text }) => {
            print_diags(format, file, text.as_deref().unwrap_or_default(), &diagnostics);
            ExitCode::from(1)
        }
        Err(RenderError::InvalidFrom { diagnostics, text }) => {
            let from = options.from.as_deref().unwrap_or(file);
            print_diags(format, from, &text, &diagnostics);
            ExitCode::from(1)
        }
        Err(RenderError::Refused { diagnostics, text }) => {
            print_diags(format, file, &text, &diagnostics);
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

pub(crate) fn out(s: &str) -> ExitCode {
    let mut o = std::io::stdout().lock();
    if o.write_all(s.as_bytes()).and_then(|()| o.flush()).is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

fn validate(file: &Path, format: DiagFormat, strict: bool, allow: &[RuleCode]) -> ExitCode {
    let (doc, text) = match load_or_report(file, format) {
        Ok(x) => x,
        Err(code) => return code,
    };
    // Allowed warnings: not shown in text (the summary counts them), listed in JSON and SARIF
    // as suppressed, and not failing --strict.
    let report = doc.validate_allowing(allow);
    let (mut diags, mut suppressed) = (report.diagnostics.clone(), report.suppressed.clone());
    report::complete(&text, &mut diags);
    report::complete(&text, &mut suppressed);
    let name = display_name(file);
    let s = match format {
        DiagFormat::Text => report::text_with_suppressed(
            &report::Source::indexed(&name, &text, &doc.source),
            &diags,
            suppressed.len(),
            color_for(Stream::Stdout),
        ),
        _ => machine(format, &name, &diags, &suppressed),
    };
    let _ = out(&s);
    let failed = report.has_errors() || (strict && !report.diagnostics.is_empty());
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Diagnostics in a machine format (json, sarif, github), with the allowed warnings.
fn machine(
    format: DiagFormat,
    name: &str,
    diags: &[harbor_ha_core::Diagnostic],
    suppressed: &[harbor_ha_core::Diagnostic],
) -> String {
    match format {
        DiagFormat::Sarif => report::sarif(name, diags, suppressed),
        DiagFormat::Github => report::github(name, diags),
        _ => report::json_with_suppressed(name, diags, suppressed),
    }
}

/// Print diagnostics (positions completed from `text`) to standard output in `format`.
fn print_diags(format: DiagFormat, file: &std::path::Path, text: &str, diags: &[harbor_ha_core::Diagnostic]) {
    let mut diags = diags.to_vec();
    report::complete(text, &mut diags);
    let name = display_name(file);
    let s = match format {
        DiagFormat::Text => report::text(&report::Source::new(&name, text), &diags, color_for(Stream::Stdout)),
        _ => machine(format, &name, &diags, &[]),
    };
    let _ = out(&s);
}

#[cfg(test)]
mod tests {
    use super::{use_color, ColorChoice};
    use std::ffi::OsString;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| OsString::from(v))
    }

    #[test]
    fn colour_follows_the_terminal_no_color_and_clicolor() {
        assert!(use_color(ColorChoice::Auto, true, env(&[])));
        assert!(!use_color(ColorChoice::Auto, false, env(&[])));
        assert!(!use_color(ColorChoice::Auto, true, env(&[("NO_COLOR", "1")])));
        // An empty NO_COLOR does not count.
        assert!(use_color(ColorChoice::Auto, true, env(&[("NO_COLOR", "")])));
        assert!(!use_color(ColorChoice::Auto, true, env(&[("CLICOLOR", "0")])));
        assert!(use_color(ColorChoice::Auto, false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(!use_color(ColorChoice::Auto, false, env(&[("CLICOLOR_FORCE", "0")])));
        assert!(!use_color(ColorChoice::Auto, false, env(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")])));
        assert!(use_color(ColorChoice::Always, false, env(&[("NO_COLOR", "1")])));
        assert!(!use_color(ColorChoice::Never, true, env(&[("CLICOLOR_FORCE", "1")])));
    }
}
