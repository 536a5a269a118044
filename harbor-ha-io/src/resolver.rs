//! [`EnvResolver`]: the [`SecretResolver`] that the `harbor-ha` command and the Python module
//! render with. It reads `{env: VAR}` secrets from this process's environment and
//! `{file: PATH}` secrets from disk.

use harbor_ha_core::model::secret::{Secret, SecretResolver};

/// Resolves `{env}` from this process's environment and `{file}` from disk (one trailing
/// `\n` or `\r\n` stripped); literals as written. Errors name the variable or the path and
/// never contain a value.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvResolver;

impl SecretResolver for EnvResolver {
    fn resolve(&self, secret: &Secret) -> Result<String, String> {
        match secret {
            Secret::Literal(v) => Ok(v.clone()),
            Secret::Env { env } => {
                std::env::var(env.as_str()).map_err(|_| format!("environment variable {env} is not set"))
            }
            Secret::File { file } => std::fs::read_to_string(file)
                .map(|s| s.strip_suffix('\n').map_or(s.as_str(), |x| x.strip_suffix('\r').unwrap_or(x)).to_string())
                .map_err(|e| format!("cannot read {file}: {}", e.kind())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use harbor_ha_core::model::ids::EnvName;

    /// A file under the system temp dir holding `bytes`, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(bytes: &[u8]) -> TempFile {
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "harbor-ha-io-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&p, bytes).unwrap();
            TempFile(p)
        }

        fn secret(&self) -> Secret {
            Secret::File { file: self.0.to_str().unwrap().to_string() }
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn resolve(secret: &Secret) -> Result<String, String> {
        EnvResolver.resolve(secret)
    }

    #[test]
    fn literal_as_written() {
        assert_eq!(resolve(&Secret::Literal("Abc-1 \n".to_string())), Ok("Abc-1 \n".to_string()));
    }

    #[test]
    fn env_var_set() {
        // A name no other test uses (tests run in parallel threads of one process).
        let name = "HARBOR_HA_ENV_TEST_SET";
        std::env::set_var(name, "Env-Pw1\n");
        assert_eq!(resolve(&Secret::Env { env: EnvName::parse(name).unwrap() }), Ok("Env-Pw1\n".to_string()));
    }

    #[test]
    fn env_var_unset_names_the_variable() {
        let name = "HARBOR_HA_ENV_TEST_UNSET";
        std::env::remove_var(name);
        assert_eq!(
            resolve(&Secret::Env { env: EnvName::parse(name).unwrap() }),
            Err("environment variable HARBOR_HA_ENV_TEST_UNSET is not set".to_string())
        );
    }

    #[test]
    fn file_strips_one_trailing_newline() {
        for (bytes, want) in [
            (&b"File-Pw1\n"[..], "File-Pw1"),
            (b"File-Pw1\r\n", "File-Pw1"),
            (b"File-Pw1", "File-Pw1"),
            (b"File-Pw1\n\n", "File-Pw1\n"),
            (b"File-Pw1\r", "File-Pw1\r"),
            (b" File Pw1 \n", " File Pw1 "),
            (b"", ""),
        ] {
            let f = TempFile::new(bytes);
            assert_eq!(resolve(&f.secret()), Ok(want.to_string()), "{bytes:?}");
        }
    }

    #[test]
    fn missing_file_names_the_path() {
        let f = TempFile::new(b"");
        let secret = f.secret();
        std::fs::remove_file(&f.0).unwrap();
        assert_eq!(resolve(&secret), Err(format!("cannot read {}: entity not found", f.0.display())));
    }

    #[test]
    fn unreadable_file_error_never_contains_the_contents() {
        // Not UTF-8: read, then refused; the message must not echo what was read.
        let f = TempFile::new(b"Very-Secret-Pw1\xff\n");
        let err = resolve(&f.secret()).unwrap_err();
        assert_eq!(err, format!("cannot read {}: invalid data", f.0.display()));
        assert!(!err.contains("Very-Secret"), "{err}");
    }
}
