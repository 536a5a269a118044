//! The secrets directory (`<out>/secrets/<site>/`) and the OS random source that makes new
//! secrets.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use harbor_ha_core::secrets::{SecretsError, SiteSecrets, CLUSTER_FIELDS, FIELDS};
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
    let mut files = BTreeMap::new();
    for (name, _) in FIELDS {
        let p = dir.join(name);
        let v = std::fs::read_to_string(&p)
            .map_err(|source| SecretsDirError::Io { path: p.display().to_string(), source })?;
        files.insert((*name).to_string(), v);
    }
    // Added later: a directory from an older version lacks them; the core generates those.
    for name in CLUSTER_FIELDS {
        let p = dir.join(name);
        match std::fs::read_to_string(&p) {
            Ok(v) => {
                files.insert((*name).to_string(), v);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(SecretsDirError::Io { path: p.display().to_string(), source }),
        }
    }
    Ok(Some(SiteSecrets::from_files(&dir.display().to_string(), &files, &mut rand_core::OsRng)?))
}

/// A fresh set from the OS's random source, the certificate valid from now.
///
/// # Errors
/// When generation fails.
pub fn generate() -> Result<SiteSecrets, SecretsError> {
    SiteSecrets::generate(&mut rand_core::OsRng, SystemTime::now())
}

/// The shared secrets of every site of `topo`: read from `<secrets_dir>/<site>/` when a
/// previous render left them there, generated otherwise (and always when `secrets_dir` is
/// `None`). Nothing is written here: the secrets become part of the bundle
/// (`secrets/<site>/`, mode 0600).
///
/// # Errors
/// When stored secrets are unreadable or malformed, or generation fails.
pub fn load_or_generate(
    topo: &ValidTopology,
    secrets_dir: Option<&Path>,
) -> Result<BTreeMap<String, SiteSecrets>, SecretsDirError> {
    let mut out = BTreeMap::new();
    for site in &topo.sites {
        let stored = match secrets_dir {
            Some(d) => load_dir(&d.join(site.name.as_str()))?,
            None => None,
        };
        let s = match stored {
            Some(s) => s,
            None => generate()?,
        };
        out.insert(site.name.as_str().to_string(), s);
    }
    Ok(out)
}
