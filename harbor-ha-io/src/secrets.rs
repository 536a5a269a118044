//! The secrets directory (`<out>/secrets/<site>/`) and the OS random source that makes new
//! secrets.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use harbor_ha_core::model::resolved::Site;
use harbor_ha_core::secrets::{SecretsError, SiteSecrets, CLUSTER_FIELDS, FIELDS, LB_FIELDS};
use harbor_ha_core::ValidTopology;

/// Why the shared secrets of a site cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretsDirError {
    /// A file is missing or unreadable.
    #[error("cannot read secret file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file holds a value of the wrong shape, or generation failed.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// `--locked`, and these secret files are not stored (they would be generated).
    #[error(
        "--locked: {} not stored and would be generated: {}; render once without --locked to make them, or restore them from a backup",
        if missing.len() == 1 { "this secret is" } else { "these secrets are" },
        missing.join(", ")
    )]
    Locked {
        /// The files, as `<dir>/<site>/<name>`.
        missing: Vec<String>,
    },
    /// `--secrets DIR` names a directory that holds no site's secrets.
    #[error("--secrets {0}: no stored secrets there (no <site>/ directory with secret files); give the secrets/ directory of a previous render, or leave --secrets out to make new ones")]
    EmptyDir(std::path::PathBuf),
    /// A worker thread ended without a result (it panicked).
    #[error("a secrets worker thread ended without a result")]
    Incomplete,
}

/// Read `dir` (`<out>/secrets/<site>`) if it exists. `Ok(None)` when absent.
///
/// # Errors
/// When the directory exists but a file is missing, unreadable or malformed.
pub fn load_dir(dir: &Path) -> Result<Option<SiteSecrets>, SecretsDirError> {
    if !dir.exists() {
        return Ok(None);
    }
    let files = read_dir_files(dir)?;
    Ok(Some(SiteSecrets::from_files(&dir.display().to_string(), &files, &mut rand_core::OsRng)?))
}

/// A fresh set from the OS's random source, the certificate valid from now.
///
/// # Errors
/// When generation fails.
pub fn generate() -> Result<SiteSecrets, SecretsError> {
    SiteSecrets::generate(&mut rand_core::OsRng, SystemTime::now())
}

/// The files of `dir` (`<out>/secrets/<site>`) that exist, by name: every known secret
/// file that a previous render left (a directory written by an older version may lack the
/// newer ones). Empty when the directory does not exist.
///
/// # Errors
/// When a file exists but cannot be read.
pub fn read_dir_files(dir: &Path) -> Result<BTreeMap<String, String>, SecretsDirError> {
    let mut files = BTreeMap::new();
    if !dir.exists() {
        return Ok(files);
    }
    for name in FIELDS.iter().map(|(n, _)| *n).chain(LB_FIELDS).chain(CLUSTER_FIELDS.iter().copied()) {
        let p = dir.join(name);
        match std::fs::read_to_string(&p) {
            Ok(v) => {
                files.insert(name.to_string(), v);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(SecretsDirError::Io { path: p.display().to_string(), source }),
        }
    }
    Ok(files)
}

/// `site`'s shared secrets: those stored in `dir` (if any) kept, what is missing generated
/// from the OS's random source (certificates valid from now). Never replaces a stored value.
///
/// # Errors
/// When a stored file is unreadable or malformed, or generation fails.
pub fn complete_dir(site: &Site, dir: Option<&Path>) -> Result<SiteSecrets, SecretsDirError> {
    let (files, label) = match dir {
        Some(d) => (read_dir_files(d)?, d.display().to_string()),
        None => (BTreeMap::new(), String::new()),
    };
    Ok(SiteSecrets::complete(site, &files, &label, &mut rand_core::OsRng, SystemTime::now())?)
}

/// Whether a render may make secrets that are not stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Generation {
    /// Make what is missing (the first render of a site, or a file an older version lacked).
    #[default]
    Missing,
    /// `--locked`: make nothing; a missing secret is an error naming it.
    Never,
}

/// The shared secrets of every site of `topo`: read from `<secrets_dir>/<site>/` when a
/// previous render left them there, with what is missing there generated (all of them when
/// `secrets_dir` is `None` or the directory is absent). Nothing is written here: the
/// secrets become part of the bundle (`secrets/<site>/`, mode 0600).
///
/// # Errors
/// When stored secrets are unreadable or malformed, or generation fails.
pub fn load_or_generate(
    topo: &ValidTopology,
    secrets_dir: Option<&Path>,
) -> Result<BTreeMap<String, SiteSecrets>, SecretsDirError> {
    load_sites(topo, secrets_dir, Generation::Missing, &|_, _| {})
}

/// [`load_or_generate`] with a [`Generation`] policy and a progress callback, called with
/// (sites done, sites) after each site. The sites are completed in parallel, one thread per
/// core: a new site costs an RSA 4096 key (hundreds of milliseconds), and a first render of
/// many sites is made of little else. The result does not depend on the order the threads
/// finish in; on errors, the first site's (in topology order) is returned.
///
/// # Errors
/// [`SecretsDirError::Locked`] (with `Generation::Never`) naming every file that would be
/// generated; otherwise as [`load_or_generate`].
pub fn load_sites(
    topo: &ValidTopology,
    secrets_dir: Option<&Path>,
    generation: Generation,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<BTreeMap<String, SiteSecrets>, SecretsDirError> {
    let sites = &topo.sites;
    let dirs: Vec<Option<std::path::PathBuf>> =
        sites.iter().map(|site| secrets_dir.map(|d| d.join(site.name.as_str()))).collect();
    if generation == Generation::Never {
        let mut missing = Vec::new();
        for (site, dir) in sites.iter().zip(&dirs) {
            let stored = match dir {
                Some(d) => read_dir_files(d)?,
                None => BTreeMap::new(),
            };
            let label = dir.as_ref().map_or_else(|| format!("secrets/{}", site.name), |d| d.display().to_string());
            missing.extend(SiteSecrets::missing(site, &stored).into_iter().map(|n| format!("{label}/{n}")));
        }
        if !missing.is_empty() {
            return Err(SecretsDirError::Locked { missing });
        }
    }
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(sites.len()).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<SiteSecrets, SecretsDirError>>>> =
        sites.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let work = || loop {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(site) = sites.get(i) else { break };
        let r = complete_dir(site, dirs[i].as_deref());
        if let Ok(mut slot) = results[i].lock() {
            *slot = Some(r);
        }
        progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1, sites.len());
    };
    if workers == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(work);
            }
        });
    }
    let mut out = BTreeMap::new();
    for (site, slot) in sites.iter().zip(results) {
        let r = slot.into_inner().ok().flatten().ok_or(SecretsDirError::Incomplete)?;
        out.insert(site.name.as_str().to_string(), r?);
    }
    Ok(out)
}
