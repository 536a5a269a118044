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
    let mut out = BTreeMap::new();
    for site in &topo.sites {
        let dir = secrets_dir.map(|d| d.join(site.name.as_str()));
        out.insert(site.name.as_str().to_string(), complete_dir(site, dir.as_deref())?);
    }
    Ok(out)
}
