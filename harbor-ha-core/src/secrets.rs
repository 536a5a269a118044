//! Secrets at render time: Harbor's per-deployment secrets ([`SiteSecrets`]: generated once
//! per site, stored under `<out>/secrets/<site>/` (mode 0600), reused on every later render
//! so that re-rendering never rotates them by accident, and put in place on every Harbor
//! node), the values of the topology's own secret references ([`SiteValues`]), and the two
//! bound to a valid topology ([`RenderInput`], which only validation makes).
//!
//! Pure: generation takes its random source and clock as arguments; reading and writing
//! the secrets directory is the I/O crate's.
//!
//! Values that Harbor's `prepare` regenerates on every run (core and jobservice secrets,
//! CSRF key, robot scanner prefix) and values it creates once on the data volume
//! (`secretkey`, token signing key pair) must be identical on every node; see
//! `research/harbor-yml-and-secrets.md` §3.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use rand_core::{CryptoRng, RngCore};

use crate::model::resolved::{Site, Tls, ValidTopology};

/// Alphabet of every generated string secret (as Harbor's prepare: `[A-Za-z0-9]`).
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// One site's shared secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct SiteSecrets {
    /// `CORE_SECRET` (16).
    pub core_secret: String,
    /// `JOBSERVICE_SECRET` (16).
    pub jobservice_secret: String,
    /// `CSRF_KEY` (32) in 2.x; 1.10's `XSRFKey` uses `xsrf_key`.
    pub csrf_key: String,
    /// 1.10's beego `XSRFKey` (40).
    pub xsrf_key: String,
    /// Distribution's `http.secret` (upload state HMAC).
    pub registry_http_secret: String,
    /// `ROBOT_SCANNER_NAME_PREFIX` (8, Harbor 2.8+).
    pub robot_scanner_prefix: String,
    /// `<data_volume>/secret/keys/secretkey` (16): encrypts credentials stored in the DB.
    pub secret_key: String,
    /// Password of the internal database (dual-master nodes).
    pub internal_db_password: String,
    /// `<data_volume>/secret/core/private_key.pem` (RSA 4096, PKCS#1 PEM).
    pub token_private_key: String,
    /// `<data_volume>/secret/registry/root.crt` (self-signed, PEM).
    pub token_certificate: String,
    /// The load balancers' key and self-signed certificate (`tls: {self_signed: true}`):
    /// one pair per site, so that every LB of the site serves the same certificate and a
    /// VIP failover keeps the clients' trust.
    pub lb_tls: Option<LbTls>,
    /// The PostgreSQL cluster's secrets (written only for a site that has one).
    pub cluster: ClusterSecrets,
}

/// The key and self-signed certificate every load balancer of a site serves.
#[derive(Clone, PartialEq, Eq)]
pub struct LbTls {
    /// RSA 2048 private key, PKCS#1 PEM.
    pub private_key: String,
    /// Self-signed certificate (PEM) for the server name: a CA certificate, so that Docker
    /// clients can trust it as `/etc/docker/certs.d/<host>/ca.crt`.
    pub certificate: String,
}

impl LbTls {
    /// The certificate's SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints
    /// it (upper-case hex pairs joined by `:`); `None` when it is not a PEM certificate.
    #[must_use]
    pub fn fingerprint(&self) -> Option<String> {
        certificate_fingerprint(&self.certificate)
    }
}

/// The SHA-256 fingerprint of a PEM certificate's DER, as `openssl x509 -fingerprint -sha256`
/// prints it.
#[must_use]
pub fn certificate_fingerprint(pem: &str) -> Option<String> {
    use sha2::Digest;
    use x509_cert::der::{DecodePem, Encode};
    let cert = x509_cert::Certificate::from_pem(pem.as_bytes()).ok()?;
    let der = cert.to_der().ok()?;
    let hex: Vec<String> = sha2::Sha256::digest(&der).iter().map(|b| format!("{b:02X}")).collect();
    Some(hex.join(":"))
}

/// The secrets of a PostgreSQL cluster the bundle installs: Patroni's superuser and
/// replication passwords and its REST API's. A secrets directory written before clusters
/// existed lacks them: only the missing ones are generated, never the others.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterSecrets {
    /// The `postgres` superuser's password (Patroni, pg_rewind).
    pub pg_superuser_password: String,
    /// The `replicator` role's password (streaming replication).
    pub pg_replication_password: String,
    /// The `rewinder` role's password (pg_rewind, when an old primary rejoins).
    pub pg_rewind_password: String,
    /// Patroni's REST API password (its unsafe endpoints: restart, switchover, reinit).
    pub patroni_rest_password: String,
}

impl std::fmt::Debug for ClusterSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterSecrets(<redacted>)")
    }
}

/// File names of the cluster secrets under `secrets/<site>/`, each 32 characters.
pub const CLUSTER_FIELDS: &[&str] =
    &["pg_superuser_password", "pg_replication_password", "pg_rewind_password", "patroni_rest_password"];

impl ClusterSecrets {
    fn generate<R: RngCore>(rng: &mut R) -> Self {
        ClusterSecrets {
            pg_superuser_password: random_string(rng, 32),
            pg_replication_password: random_string(rng, 32),
            pg_rewind_password: random_string(rng, 32),
            patroni_rest_password: random_string(rng, 32),
        }
    }

    fn get(&self, name: &str) -> &str {
        match name {
            "pg_superuser_password" => &self.pg_superuser_password,
            "pg_replication_password" => &self.pg_replication_password,
            "pg_rewind_password" => &self.pg_rewind_password,
            _ => &self.patroni_rest_password,
        }
    }

    /// The files: name → content.
    #[must_use]
    pub fn to_files(&self) -> BTreeMap<&'static str, String> {
        CLUSTER_FIELDS.iter().map(|n| (*n, format!("{}\n", self.get(n)))).collect()
    }

    /// Read the files that exist (checking each) and generate only the missing ones.
    fn from_files_filling<R: RngCore>(
        dir_label: &str,
        files: &BTreeMap<String, String>,
        rng: &mut R,
    ) -> Result<Self, SecretsError> {
        let mut fresh = ClusterSecrets::generate(rng);
        for name in CLUSTER_FIELDS {
            let Some(v) = files.get(*name) else { continue };
            let v = v.trim_end_matches('\n');
            if v.len() != 32 || !v.bytes().all(|b| ALPHABET.contains(&b)) {
                return Err(SecretsError::Malformed {
                    path: format!("{dir_label}/{name}"),
                    why: "expected 32 characters of [A-Za-z0-9]".into(),
                });
            }
            let slot = match *name {
                "pg_superuser_password" => &mut fresh.pg_superuser_password,
                "pg_replication_password" => &mut fresh.pg_replication_password,
                "pg_rewind_password" => &mut fresh.pg_rewind_password,
                _ => &mut fresh.patroni_rest_password,
            };
            *slot = v.to_string();
        }
        Ok(fresh)
    }
}

impl std::fmt::Debug for SiteSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SiteSecrets(<redacted>)")
    }
}

/// File names under `secrets/<site>/`, with the expected length of string secrets.
pub const FIELDS: &[(&str, Option<usize>)] = &[
    ("core_secret", Some(16)),
    ("jobservice_secret", Some(16)),
    ("csrf_key", Some(32)),
    ("xsrf_key", Some(40)),
    ("registry_http_secret", Some(32)),
    ("robot_scanner_prefix", Some(8)),
    ("secret_key", Some(16)),
    ("internal_db_password", Some(32)),
    ("token_private_key.pem", None),
    ("token_certificate.pem", None),
];

/// File names of the load balancers' pair under `secrets/<site>/` (self-signed TLS only):
/// key, certificate.
pub const LB_FIELDS: [&str; 2] = ["lb_private_key.pem", "lb_certificate.pem"];

/// Why stored secrets cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A file holds a value of the wrong shape (never shows the value).
    #[error("secret file {path} is malformed: {why}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// Key generation failed.
    #[error("cannot generate the token key pair: {0}")]
    KeyGen(String),
}

fn random_string<R: RngCore>(rng: &mut R, len: usize) -> String {
    (0..len)
        .map(|_| {
            // Rejection sampling keeps the distribution uniform over 62 symbols.
            loop {
                let b = (rng.next_u32() & 0xff) as u8;
                if b < 248 {
                    return ALPHABET[usize::from(b % 62)] as char;
                }
            }
        })
        .collect()
}

impl SiteSecrets {
    /// Generate a fresh set. `now` starts the token certificate's 10-year validity.
    ///
    /// # Errors
    /// When RSA key or certificate generation fails.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R, now: SystemTime) -> Result<Self, SecretsError> {
        let (token_private_key, token_certificate) = token_key_pair(rng, 4096, now)?;
        Ok(SiteSecrets {
            core_secret: random_string(rng, 16),
            jobservice_secret: random_string(rng, 16),
            csrf_key: random_string(rng, 32),
            xsrf_key: random_string(rng, 40),
            registry_http_secret: random_string(rng, 32),
            robot_scanner_prefix: random_string(rng, 8),
            secret_key: random_string(rng, 16),
            internal_db_password: random_string(rng, 32),
            token_private_key,
            token_certificate,
            lb_tls: None,
            // Drawn last: the values above come out as they did before clusters existed.
            cluster: ClusterSecrets::generate(rng),
        })
    }

    /// The files of `secrets/<site>/` that [`Self::complete`] would generate for `site` and
    /// the bundle would carry, given the `stored` ones (name → content): every string secret
    /// and the token pair that is absent, the LB pair of a self-signed load balancer, and the
    /// cluster secrets of a site with a PostgreSQL cluster. Empty when a render can use the
    /// stored secrets alone (what `--locked` requires). Half a key pair is not listed here:
    /// [`Self::complete`] refuses it.
    #[must_use]
    pub fn missing(site: &Site, stored: &BTreeMap<String, String>) -> Vec<&'static str> {
        let absent = |name: &&str| !stored.contains_key(*name);
        let pair_absent = |names: [&'static str; 2]| names.iter().all(absent).then_some(names);
        let mut out: Vec<&'static str> =
            FIELDS.iter().map(|(n, _)| *n).filter(|n| !n.ends_with(".pem")).filter(absent).collect();
        out.extend(pair_absent(["token_private_key.pem", "token_certificate.pem"]).into_iter().flatten());
        if site.lb.as_ref().is_some_and(|lb| matches!(lb.tls, Tls::SelfSigned(_))) {
            out.extend(pair_absent(LB_FIELDS).into_iter().flatten());
        }
        if site.pg_cluster().is_some() {
            out.extend(CLUSTER_FIELDS.iter().copied().filter(absent));
        }
        out
    }

    /// The site's secrets from the files of `secrets/<site>/` a previous render left
    /// (`stored`: name → content; `dir_label` names the directory in errors), with what is
    /// missing generated from `rng` (the token certificate and the LB certificate valid from
    /// `now`). A value that exists is never replaced: a directory written by an older version
    /// gains only its new files. The LB pair is made only for a site whose load balancer
    /// uses `tls: {self_signed: true}` (and kept when stored).
    ///
    /// # Errors
    /// [`SecretsError::Malformed`] for a stored value of the wrong shape, or half of a key
    /// pair (restoring the other half, or removing both, is the operator's choice: a new
    /// pair changes what every node or client trusts); [`SecretsError::KeyGen`].
    pub fn complete<R: RngCore + CryptoRng>(
        site: &Site,
        stored: &BTreeMap<String, String>,
        dir_label: &str,
        rng: &mut R,
        now: SystemTime,
    ) -> Result<Self, SecretsError> {
        let malformed =
            |name: &str, why: &str| SecretsError::Malformed { path: format!("{dir_label}/{name}"), why: why.into() };
        let string = |name: &str, len: usize, rng: &mut R| -> Result<String, SecretsError> {
            match stored.get(name) {
                Some(v) => {
                    let v = v.trim_end_matches('\n');
                    if v.len() == len && v.bytes().all(|b| ALPHABET.contains(&b)) {
                        Ok(v.to_string())
                    } else {
                        Err(malformed(name, &format!("expected {len} characters of [A-Za-z0-9]")))
                    }
                }
                None => Ok(random_string(rng, len)),
            }
        };
        let core_secret = string("core_secret", 16, rng)?;
        let jobservice_secret = string("jobservice_secret", 16, rng)?;
        let csrf_key = string("csrf_key", 32, rng)?;
        let xsrf_key = string("xsrf_key", 40, rng)?;
        let registry_http_secret = string("registry_http_secret", 32, rng)?;
        let robot_scanner_prefix = string("robot_scanner_prefix", 8, rng)?;
        let secret_key = string("secret_key", 16, rng)?;
        let internal_db_password = string("internal_db_password", 32, rng)?;
        let pair = |names: [&str; 2]| -> Result<Option<(String, String)>, SecretsError> {
            match (stored.get(names[0]), stored.get(names[1])) {
                (Some(k), Some(c)) => {
                    for (n, v) in [(names[0], k), (names[1], c)] {
                        if !v.starts_with("-----BEGIN ") {
                            return Err(malformed(n, "not a PEM file"));
                        }
                    }
                    let nl = |v: &str| format!("{}\n", v.trim_end_matches('\n'));
                    Ok(Some((nl(k), nl(c))))
                }
                (None, None) => Ok(None),
                (Some(_), None) => Err(malformed(
                    names[1],
                    "missing while its key is there: restore it, or remove both files for a new pair",
                )),
                (None, Some(_)) => Err(malformed(
                    names[0],
                    "missing while its certificate is there: restore it, or remove both files for a new pair",
                )),
            }
        };
        let (token_private_key, token_certificate) = match pair(["token_private_key.pem", "token_certificate.pem"])? {
            Some(p) => p,
            None => token_key_pair(rng, 4096, now)?,
        };
        let lb_tls = match (pair(LB_FIELDS)?, &site.lb) {
            (Some((private_key, certificate)), _) => Some(LbTls { private_key, certificate }),
            (None, Some(lb)) if matches!(lb.tls, Tls::SelfSigned(_)) => {
                let (private_key, certificate) = lb_key_pair(rng, lb.server_name.as_str(), now)?;
                Some(LbTls { private_key, certificate })
            }
            (None, _) => None,
        };
        Ok(SiteSecrets {
            core_secret,
            jobservice_secret,
            csrf_key,
            xsrf_key,
            registry_http_secret,
            robot_scanner_prefix,
            secret_key,
            internal_db_password,
            token_private_key,
            token_certificate,
            lb_tls,
            cluster: ClusterSecrets::from_files_filling(dir_label, stored, rng)?,
        })
    }

    /// Derive a set from fixed inputs (tests and benchmarks): string secrets from `seed`,
    /// and the given key pair, which also stands in as the load balancers' pair.
    #[must_use]
    pub fn deterministic(seed: &str, token_private_key: &str, token_certificate: &str) -> Self {
        let mk = |name: &str, len: usize| -> String {
            let mut out = String::new();
            let mut i = 0u32;
            while out.len() < len {
                use sha2::Digest;
                let h = sha2::Sha256::digest(format!("{seed}/{name}/{i}").as_bytes());
                out.extend(h.iter().filter(|b| **b < 248).map(|b| ALPHABET[usize::from(*b % 62)] as char));
                i += 1;
            }
            out.truncate(len);
            out
        };
        SiteSecrets {
            core_secret: mk("core", 16),
            jobservice_secret: mk("jobservice", 16),
            csrf_key: mk("csrf", 32),
            xsrf_key: mk("xsrf", 40),
            registry_http_secret: mk("registry", 32),
            robot_scanner_prefix: mk("robot", 8),
            secret_key: mk("secretkey", 16),
            internal_db_password: mk("internal-db", 32),
            token_private_key: token_private_key.to_string(),
            token_certificate: token_certificate.to_string(),
            lb_tls: Some(LbTls {
                private_key: token_private_key.to_string(),
                certificate: token_certificate.to_string(),
            }),
            cluster: ClusterSecrets {
                pg_superuser_password: mk("pg-superuser", 32),
                pg_replication_password: mk("pg-replication", 32),
                pg_rewind_password: mk("pg-rewind", 32),
                patroni_rest_password: mk("patroni-rest", 32),
            },
        }
    }

    /// The files of `secrets/<site>/`: name → content (the LB pair when there is one).
    #[must_use]
    pub fn to_files(&self) -> BTreeMap<&'static str, String> {
        let mut files: BTreeMap<&'static str, String> = FIELDS
            .iter()
            .map(|(name, _)| {
                let v = match *name {
                    "core_secret" => &self.core_secret,
                    "jobservice_secret" => &self.jobservice_secret,
                    "csrf_key" => &self.csrf_key,
                    "xsrf_key" => &self.xsrf_key,
                    "registry_http_secret" => &self.registry_http_secret,
                    "robot_scanner_prefix" => &self.robot_scanner_prefix,
                    "secret_key" => &self.secret_key,
                    "internal_db_password" => &self.internal_db_password,
                    "token_private_key.pem" => &self.token_private_key,
                    _ => &self.token_certificate,
                };
                let mut v = v.clone();
                if !v.ends_with('\n') {
                    v.push('\n');
                }
                (*name, v)
            })
            .collect();
        if let Some(lb) = &self.lb_tls {
            for (name, v) in LB_FIELDS.iter().zip([&lb.private_key, &lb.certificate]) {
                let mut v = v.clone();
                if !v.ends_with('\n') {
                    v.push('\n');
                }
                files.insert(name, v);
            }
        }
        files
    }

    /// Rebuild from the files of `secrets/<site>/`, checking every length (the LB pair is
    /// taken when both its files are there). The cluster secrets came later: those missing (a directory written by an older version, or for a
    /// site without a cluster) are generated from `rng`, the others kept.
    ///
    /// # Errors
    /// [`SecretsError::Malformed`] naming the file (never the value).
    pub fn from_files<R: RngCore + CryptoRng>(
        dir_label: &str,
        files: &BTreeMap<String, String>,
        rng: &mut R,
    ) -> Result<Self, SecretsError> {
        let get = |name: &str, len: Option<usize>| -> Result<String, SecretsError> {
            let path = format!("{dir_label}/{name}");
            let v =
                files.get(name).ok_or_else(|| SecretsError::Malformed { path: path.clone(), why: "missing".into() })?;
            let v = v.trim_end_matches('\n').to_string();
            match len {
                Some(n) if v.len() != n || !v.bytes().all(|b| ALPHABET.contains(&b)) => {
                    Err(SecretsError::Malformed { path, why: format!("expected {n} characters of [A-Za-z0-9]") })
                }
                None if !v.starts_with("-----BEGIN ") => {
                    Err(SecretsError::Malformed { path, why: "not a PEM file".into() })
                }
                _ => Ok(v),
            }
        };
        let mut it = FIELDS.iter();
        let mut next = || {
            let (n, l) = it.next().copied().unwrap_or(("", None));
            get(n, l)
        };
        Ok(SiteSecrets {
            core_secret: next()?,
            jobservice_secret: next()?,
            csrf_key: next()?,
            xsrf_key: next()?,
            registry_http_secret: next()?,
            robot_scanner_prefix: next()?,
            secret_key: next()?,
            internal_db_password: next()?,
            token_private_key: format!("{}\n", next()?),
            token_certificate: format!("{}\n", next()?),
            lb_tls: match (files.get(LB_FIELDS[0]), files.get(LB_FIELDS[1])) {
                (Some(k), Some(c)) => Some(LbTls {
                    private_key: format!("{}\n", k.trim_end_matches('\n')),
                    certificate: format!("{}\n", c.trim_end_matches('\n')),
                }),
                _ => None,
            },
            cluster: ClusterSecrets::from_files_filling(dir_label, files, rng)?,
        })
    }
}

/// An RSA key (PKCS#1 PEM, as `openssl genrsa -traditional`) and a self-signed
/// certificate for it, valid 10 years from `now`.
///
/// # Errors
/// When generation fails.
pub fn token_key_pair<R: RngCore + CryptoRng>(
    rng: &mut R,
    bits: usize,
    now: SystemTime,
) -> Result<(String, String), SecretsError> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::EncodePublicKey;
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};
    use x509_cert::der::asn1::GeneralizedTime;
    use x509_cert::der::EncodePem;
    use x509_cert::time::{Time, Validity};

    let e = |x: &dyn std::fmt::Display| SecretsError::KeyGen(x.to_string());
    let key = rsa::RsaPrivateKey::new(rng, bits).map_err(|x| e(&x))?;
    let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).map_err(|x| e(&x))?.to_string();
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
    let der = key.to_public_key().to_public_key_der().map_err(|x| e(&x))?;
    let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::try_from(der.as_bytes()).map_err(|x| e(&x))?;
    let start = now.duration_since(SystemTime::UNIX_EPOCH).map_err(|x| e(&x))?;
    let start = Duration::from_secs(start.as_secs());
    let end = start + Duration::from_secs(3650 * 86_400);
    let t = |d: Duration| GeneralizedTime::from_unix_duration(d).map(Time::GeneralTime).map_err(|x| e(&x));
    let validity = Validity { not_before: t(start)?, not_after: t(end)? };
    let subject = x509_cert::name::Name::from_str("CN=harbor-token-signing").map_err(|x| e(&x))?;
    let builder = CertificateBuilder::new(
        Profile::Root,
        x509_cert::serial_number::SerialNumber::from(1u32),
        validity,
        subject,
        spki,
        &signer,
    )
    .map_err(|x| e(&x))?;
    let cert = builder.build::<rsa::pkcs1v15::Signature>().map_err(|x| e(&x))?;
    let cpem = cert.to_pem(x509_cert::der::pem::LineEnding::LF).map_err(|x| e(&x))?;
    Ok((pem, cpem))
}

/// The load balancers' RSA 2048 key (PKCS#1 PEM) and a self-signed certificate for
/// `server_name` (a DNS name or an address), valid 825 days from `now`: subject
/// `CN=<server_name>`, subjectAltName the name (DNS or IP), a CA (so that Docker trusts it
/// as `ca.crt`) that may also serve TLS (digitalSignature, keyEncipherment, serverAuth).
///
/// # Errors
/// When generation fails.
pub fn lb_key_pair<R: RngCore + CryptoRng>(
    rng: &mut R,
    server_name: &str,
    now: SystemTime,
) -> Result<(String, String), SecretsError> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::EncodePublicKey;
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};
    use x509_cert::der::asn1::{GeneralizedTime, Ia5String, OctetString};
    use x509_cert::der::EncodePem;
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::{
        BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName, SubjectKeyIdentifier,
    };
    use x509_cert::time::{Time, Validity};

    let e = |x: &dyn std::fmt::Display| SecretsError::KeyGen(x.to_string());
    let key = rsa::RsaPrivateKey::new(rng, 2048).map_err(|x| e(&x))?;
    let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).map_err(|x| e(&x))?.to_string();
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
    let der = key.to_public_key().to_public_key_der().map_err(|x| e(&x))?;
    let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::try_from(der.as_bytes()).map_err(|x| e(&x))?;
    let start = now.duration_since(SystemTime::UNIX_EPOCH).map_err(|x| e(&x))?;
    let start = Duration::from_secs(start.as_secs());
    let end = start + Duration::from_secs(825 * 86_400);
    let t = |d: Duration| GeneralizedTime::from_unix_duration(d).map(Time::GeneralTime).map_err(|x| e(&x));
    let validity = Validity { not_before: t(start)?, not_after: t(end)? };
    let subject = x509_cert::name::Name::from_str(&format!("CN={server_name}")).map_err(|x| e(&x))?;
    let san = match server_name.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => {
            GeneralName::IpAddress(OctetString::new(a.octets().to_vec()).map_err(|x| e(&x))?)
        }
        Ok(std::net::IpAddr::V6(a)) => {
            GeneralName::IpAddress(OctetString::new(a.octets().to_vec()).map_err(|x| e(&x))?)
        }
        Err(_) => GeneralName::DnsName(Ia5String::new(server_name).map_err(|x| e(&x))?),
    };
    let ski = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(der.as_bytes());
        OctetString::new(digest[..20].to_vec()).map_err(|x| e(&x))?
    };
    // A serial number from the random source: two renders never issue the same one.
    let serial = {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        b[0] &= 0x7f;
        b[0] |= 0x01;
        x509_cert::serial_number::SerialNumber::new(&b).map_err(|x| e(&x))?
    };
    let mut builder =
        CertificateBuilder::new(Profile::Manual { issuer: None }, serial, validity, subject, spki, &signer)
            .map_err(|x| e(&x))?;
    builder.add_extension(&BasicConstraints { ca: true, path_len_constraint: Some(0) }).map_err(|x| e(&x))?;
    builder
        .add_extension(&KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment | KeyUsages::KeyCertSign))
        .map_err(|x| e(&x))?;
    builder
        .add_extension(&ExtendedKeyUsage(vec![x509_cert::spki::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1")]))
        .map_err(|x| e(&x))?;
    builder.add_extension(&SubjectAltName(vec![san])).map_err(|x| e(&x))?;
    builder.add_extension(&SubjectKeyIdentifier(ski)).map_err(|x| e(&x))?;
    let cert = builder.build::<rsa::pkcs1v15::Signature>().map_err(|x| e(&x))?;
    let cpem = cert.to_pem(x509_cert::der::pem::LineEnding::LF).map_err(|x| e(&x))?;
    Ok((pem, cpem))
}

/// The values of one site's secret references (`{env: …}`, `{file: …}`, literals),
/// resolved when rendering. Never part of `Debug` output.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct SiteValues {
    /// Harbor admin password.
    pub admin_password: String,
    /// External database password.
    pub db_password: Option<String>,
    /// External Redis password.
    pub redis_password: Option<String>,
    /// Object-storage credentials by key (`accesskey`, `secretkey`, …).
    pub storage: BTreeMap<&'static str, String>,
    /// The restic repository's password (`backup.password`).
    pub backup_password: Option<String>,
}

impl std::fmt::Debug for SiteValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SiteValues(<redacted>)")
    }
}

/// What rendering needs: a valid topology, and for each of its sites the shared secrets
/// and the resolved values. Made only by [`crate::validate::resolve_secrets`], which checks
/// every value (SC002, HB002), so that rendering cannot fail.
#[derive(Debug)]
pub struct RenderInput<'t> {
    topology: &'t ValidTopology,
    sites: Vec<(SiteSecrets, SiteValues)>,
}

impl<'t> RenderInput<'t> {
    /// Bind the secrets of every site (in site order) to `topology`.
    pub(crate) fn new(topology: &'t ValidTopology, sites: Vec<(SiteSecrets, SiteValues)>) -> Self {
        debug_assert_eq!(topology.sites.len(), sites.len());
        RenderInput { topology, sites }
    }

    /// The topology.
    #[must_use]
    pub fn topology(&self) -> &'t ValidTopology {
        self.topology
    }

    /// The shared secrets and the resolved values of `site` (a site of [`Self::topology`]).
    #[must_use]
    pub fn site(&self, site: &Site) -> (&SiteSecrets, &SiteValues) {
        let (s, v) = &self.sites[site.index];
        (s, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn files(s: &SiteSecrets) -> BTreeMap<String, String> {
        s.to_files().into_iter().chain(s.cluster.to_files()).map(|(k, v)| (k.to_string(), v)).collect()
    }

    #[test]
    fn missing_cluster_secrets_are_generated_and_present_ones_kept() {
        let s = SiteSecrets::deterministic("t", "-----BEGIN RSA PRIVATE KEY-----\n", "-----BEGIN CERTIFICATE-----\n");
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        // All present: read back exactly.
        assert!(SiteSecrets::from_files("d", &files(&s), &mut rng).unwrap() == s);
        // An older directory: no cluster file at all; the others are kept, these made.
        let mut old = files(&s);
        for n in CLUSTER_FIELDS {
            old.remove(*n);
        }
        let r = SiteSecrets::from_files("d", &old, &mut rng).unwrap();
        assert_eq!(r.csrf_key, s.csrf_key);
        assert_ne!(r.cluster.pg_superuser_password, s.cluster.pg_superuser_password);
        assert!(r.cluster.to_files().values().all(|v| v.trim_end().len() == 32));
        // One missing: only it is new.
        let mut one = files(&s);
        one.remove("pg_rewind_password");
        let r = SiteSecrets::from_files("d", &one, &mut rng).unwrap();
        assert_eq!(r.cluster.pg_superuser_password, s.cluster.pg_superuser_password);
        assert_eq!(r.cluster.patroni_rest_password, s.cluster.patroni_rest_password);
        assert_ne!(r.cluster.pg_rewind_password, s.cluster.pg_rewind_password);
    }

    #[test]
    fn a_malformed_cluster_secret_is_named_not_shown() {
        let s = SiteSecrets::deterministic("t", "-----BEGIN RSA PRIVATE KEY-----\n", "-----BEGIN CERTIFICATE-----\n");
        let mut f = files(&s);
        f.insert("pg_replication_password".into(), "short secret value\n".into());
        let e = SiteSecrets::from_files("dir", &f, &mut rand_chacha::ChaCha20Rng::seed_from_u64(1)).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("dir/pg_replication_password") && !msg.contains("short secret"), "{msg}");
    }
}
