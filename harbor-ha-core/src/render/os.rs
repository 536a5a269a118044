//! One table of everything that differs between OS families: package names, services,
//! config paths and repositories. Renderers look things up here and nowhere else.

use crate::model::enums::OsFamily;
use crate::model::version::Version;

/// Package manager family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkgManager {
    /// yum (CentOS 7).
    Yum,
    /// dnf (Rocky 9).
    Dnf,
    /// apt (Debian, Ubuntu).
    Apt,
}

/// Host firewall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firewall {
    /// firewalld (RHEL family).
    Firewalld,
    /// ufw (Debian, Ubuntu).
    Ufw,
}

/// Facts about one OS family.
#[derive(Debug, Clone)]
pub struct OsInfo {
    /// The family.
    pub family: OsFamily,
    /// Package manager.
    pub pkg: PkgManager,
    /// Firewall.
    pub firewall: Firewall,
    /// SELinux is enforcing by default.
    pub selinux: bool,
    /// Packages that must be installed first to get nginx, redis and keepalived (EPEL on CentOS 7).
    pub extra_repo_pkgs: &'static [&'static str],
    /// chrony package / service / config file.
    pub chrony: (&'static str, &'static str, &'static str),
    /// NFS server packages and service.
    pub nfs_server: (&'static [&'static str], &'static str),
    /// NFS client packages.
    pub nfs_client: &'static [&'static str],
    /// Docker engine and compose packages (after `docker_repo`).
    pub docker_pkgs: &'static [&'static str],
    /// Shell lines that add Docker's repository (empty when the distribution ships Docker).
    pub docker_repo: &'static str,
    /// Redis package, service, config file, and the user it runs as.
    pub redis: (&'static str, &'static str, &'static str, &'static str),
    /// keepalived package.
    pub keepalived: &'static str,
    /// nginx package and its drop-in directory.
    pub nginx: (&'static str, &'static str),
    /// The distribution's default nginx site that claims port 80 as `default_server`
    /// (removed on LB hosts), if any.
    pub nginx_default_site: Option<&'static str>,
    /// PostgreSQL major version the distribution ships (None: only from PGDG).
    pub native_pg: Option<u32>,
    /// `/etc/sysctl.d` drop-in directory.
    pub sysctl_dir: &'static str,
    /// The Prometheus exporters and where they come from.
    pub exporters: Exporters,
}

/// A packaged program: its package, systemd unit and binary.
#[derive(Debug, Clone, Copy)]
pub struct Packaged {
    /// Package name.
    pub package: &'static str,
    /// systemd unit (without `.service`).
    pub service: &'static str,
    /// The binary the unit runs.
    pub binary: &'static str,
}

/// The Prometheus exporters of an OS family: Debian and Ubuntu ship them; the RHEL family
/// takes them from the prometheus-rpm repository (github.com/lest/prometheus-rpm).
#[derive(Debug, Clone, Copy)]
pub struct Exporters {
    /// The repository file (`/etc/yum.repos.d/…`) and its content, when one is needed.
    pub repo: Option<(&'static str, &'static str)>,
    /// Node exporter.
    pub node: Packaged,
    /// PostgreSQL exporter.
    pub postgres: Packaged,
    /// Redis exporter.
    pub redis: Packaged,
    /// nginx exporter (stub_status).
    pub nginx: Packaged,
    /// mtail (the LB's access log: responses by status code).
    pub mtail: Packaged,
    /// The node exporter's textfile collector directory.
    pub textfile_dir: &'static str,
    /// rsyslog package.
    pub rsyslog: &'static str,
    /// The group that may read nginx's logs, when they are not world-readable (mtail joins it).
    pub log_group: Option<&'static str>,
}

/// The prometheus-rpm repository (its README's repository file).
const PROMETHEUS_RPM_REPO: &str = "[prometheus]\nname=prometheus\nbaseurl=https://packagecloud.io/prometheus-rpm/release/el/$releasever/$basearch\nrepo_gpgcheck=1\nenabled=1\ngpgkey=https://packagecloud.io/prometheus-rpm/release/gpgkey\n       https://raw.githubusercontent.com/lest/prometheus-rpm/master/RPM-GPG-KEY-prometheus-rpm\ngpgcheck=1\nmetadata_expire=300\n";

const RHEL_EXPORTERS: Exporters = Exporters {
    repo: Some(("/etc/yum.repos.d/prometheus-rpm.repo", PROMETHEUS_RPM_REPO)),
    node: Packaged { package: "node_exporter", service: "node_exporter", binary: "/usr/bin/node_exporter" },
    postgres: Packaged {
        package: "postgres_exporter",
        service: "postgres_exporter",
        binary: "/usr/bin/postgres_exporter",
    },
    redis: Packaged { package: "redis_exporter", service: "redis_exporter", binary: "/usr/bin/redis_exporter" },
    nginx: Packaged { package: "nginx_exporter", service: "nginx_exporter", binary: "/usr/bin/nginx_exporter" },
    mtail: Packaged { package: "mtail", service: "mtail", binary: "/usr/bin/mtail" },
    textfile_dir: "/var/lib/node_exporter/textfile_collector",
    rsyslog: "rsyslog",
    log_group: None,
};

const DEBIAN_EXPORTERS: Exporters = Exporters {
    repo: None,
    node: Packaged {
        package: "prometheus-node-exporter",
        service: "prometheus-node-exporter",
        binary: "/usr/bin/prometheus-node-exporter",
    },
    postgres: Packaged {
        package: "prometheus-postgres-exporter",
        service: "prometheus-postgres-exporter",
        binary: "/usr/bin/prometheus-postgres-exporter",
    },
    redis: Packaged {
        package: "prometheus-redis-exporter",
        service: "prometheus-redis-exporter",
        binary: "/usr/bin/prometheus-redis-exporter",
    },
    nginx: Packaged {
        package: "prometheus-nginx-exporter",
        service: "prometheus-nginx-exporter",
        binary: "/usr/bin/prometheus-nginx-exporter",
    },
    mtail: Packaged { package: "mtail", service: "mtail", binary: "/usr/bin/mtail" },
    textfile_dir: "/var/lib/prometheus/node-exporter",
    rsyslog: "rsyslog",
    log_group: Some("adm"),
};

/// The table.
#[must_use]
pub fn info(os: OsFamily) -> OsInfo {
    const RHEL_DOCKER_REPO: &str = "if [ ! -f /etc/yum.repos.d/docker-ce.repo ]; then\n  curl -fsSL https://download.docker.com/linux/centos/docker-ce.repo -o /etc/yum.repos.d/docker-ce.repo\n  CHANGED=1\nfi";
    match os {
        OsFamily::Centos7 => OsInfo {
            family: os,
            pkg: PkgManager::Yum,
            firewall: Firewall::Firewalld,
            selinux: true,
            extra_repo_pkgs: &["epel-release"],
            chrony: ("chrony", "chronyd", "/etc/chrony.conf"),
            nfs_server: (&["nfs-utils", "rpcbind"], "nfs-server"),
            nfs_client: &["nfs-utils"],
            docker_pkgs: &["docker-ce", "docker-ce-cli", "containerd.io", "docker-compose-plugin"],
            docker_repo: RHEL_DOCKER_REPO,
            redis: ("redis", "redis", "/etc/redis.conf", "redis"),
            keepalived: "keepalived",
            nginx: ("nginx", "/etc/nginx/conf.d"),
            nginx_default_site: None,
            native_pg: None,
            sysctl_dir: "/etc/sysctl.d",
            exporters: RHEL_EXPORTERS,
        },
        OsFamily::Rocky9 => OsInfo {
            family: os,
            pkg: PkgManager::Dnf,
            firewall: Firewall::Firewalld,
            selinux: true,
            extra_repo_pkgs: &[],
            chrony: ("chrony", "chronyd", "/etc/chrony.conf"),
            nfs_server: (&["nfs-utils"], "nfs-server"),
            nfs_client: &["nfs-utils"],
            docker_pkgs: &["docker-ce", "docker-ce-cli", "containerd.io", "docker-compose-plugin"],
            docker_repo: RHEL_DOCKER_REPO,
            redis: ("redis", "redis", "/etc/redis/redis.conf", "redis"),
            keepalived: "keepalived",
            nginx: ("nginx", "/etc/nginx/conf.d"),
            nginx_default_site: None,
            native_pg: None,
            sysctl_dir: "/etc/sysctl.d",
            exporters: RHEL_EXPORTERS,
        },
        OsFamily::Debian12 | OsFamily::Ubuntu2204 => OsInfo {
            family: os,
            pkg: PkgManager::Apt,
            firewall: Firewall::Ufw,
            selinux: false,
            extra_repo_pkgs: &[],
            chrony: ("chrony", "chrony", "/etc/chrony/chrony.conf"),
            nfs_server: (&["nfs-kernel-server"], "nfs-server"),
            nfs_client: &["nfs-common"],
            docker_pkgs: &["docker.io", "docker-compose"],
            docker_repo: "",
            redis: ("redis-server", "redis-server", "/etc/redis/redis.conf", "redis"),
            keepalived: "keepalived",
            nginx: ("nginx", "/etc/nginx/conf.d"),
            nginx_default_site: Some("/etc/nginx/sites-enabled/default"),
            native_pg: Some(if os == OsFamily::Debian12 { 15 } else { 14 }),
            sysctl_dir: "/etc/sysctl.d",
            exporters: DEBIAN_EXPORTERS,
        },
    }
}

/// How PostgreSQL `version` is installed on an OS family.
#[derive(Debug, Clone)]
pub struct PgInstall {
    /// Shell lines that add the PGDG repository when needed (may be empty).
    pub repo: String,
    /// Server packages.
    pub packages: Vec<String>,
    /// Shell command that initialises the cluster if it is not yet (may be empty).
    pub initdb: String,
    /// systemd unit.
    pub service: String,
    /// Directory holding postgresql.conf and pg_hba.conf.
    pub conf_dir: String,
    /// Directory of the server binaries (psql, pg_ctl).
    pub bin_dir: String,
}

/// `9.6` → `9.6`/`96`; `15` → `15`/`15`.
fn pg_names(v: Version) -> (String, String) {
    if v.major < 10 {
        (format!("{}.{}", v.major, v.minor), format!("{}{}", v.major, v.minor))
    } else {
        (v.major.to_string(), v.major.to_string())
    }
}

/// PostgreSQL installation facts for `os` and `version`.
#[must_use]
pub fn postgres(os: OsFamily, version: Version) -> PgInstall {
    let (dotted, short) = pg_names(version);
    let i = info(os);
    match i.pkg {
        PkgManager::Yum | PkgManager::Dnf => {
            let el = if os == OsFamily::Centos7 { "EL-7" } else { "EL-9" };
            let mut repo = format!(
                "if ! rpm -q pgdg-redhat-repo >/dev/null 2>&1; then\n  {} -y install https://download.postgresql.org/pub/repos/yum/reporpms/{el}-x86_64/pgdg-redhat-repo-latest.noarch.rpm\n  CHANGED=1\nfi",
                if i.pkg == PkgManager::Yum { "yum" } else { "dnf" }
            );
            if i.pkg == PkgManager::Dnf {
                repo.push_str("\nif dnf -q module list --enabled postgresql 2>/dev/null | grep -q '^postgresql'; then\n  dnf -qy module disable postgresql\n  CHANGED=1\nfi");
            }
            let setup = if version.major < 10 {
                format!("postgresql{short}-setup")
            } else {
                format!("postgresql-{short}-setup")
            };
            PgInstall {
                repo,
                packages: vec![format!("postgresql{short}-server"), format!("postgresql{short}-contrib")],
                initdb: format!(
                    "if [ ! -f /var/lib/pgsql/{dotted}/data/PG_VERSION ]; then\n  /usr/pgsql-{dotted}/bin/{setup} initdb\n  CHANGED=1\nfi"
                ),
                service: format!("postgresql-{dotted}"),
                conf_dir: format!("/var/lib/pgsql/{dotted}/data"),
                bin_dir: format!("/usr/pgsql-{dotted}/bin"),
            }
        }
        PkgManager::Apt => {
            let native = i.native_pg == Some(version.major) && version.major >= 10;
            let repo = if native {
                String::new()
            } else {
                "if [ ! -f /etc/apt/sources.list.d/pgdg.list ] && [ ! -f /etc/apt/sources.list.d/pgdg.sources ]; then\n  pkgs postgresql-common\n  /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y\n  CHANGED=1\nfi".to_string()
            };
            PgInstall {
                repo,
                packages: vec![format!("postgresql-{dotted}")],
                initdb: String::new(),
                service: "postgresql".to_string(),
                conf_dir: format!("/etc/postgresql/{dotted}/main"),
                bin_dir: format!("/usr/lib/postgresql/{dotted}/bin"),
            }
        }
    }
}

/// The PostgreSQL client of a server's major version: its repository lines (may be empty),
/// packages and binary directory (`pg_dump`, `pg_restore`, `psql`). A client is at least as
/// new as the server: `pg_dump` refuses a newer server.
#[must_use]
pub fn postgres_client(os: OsFamily, version: Version) -> (String, Vec<String>, String) {
    let (dotted, short) = pg_names(version);
    let server = postgres(os, version);
    let package = match info(os).pkg {
        PkgManager::Apt => format!("postgresql-client-{dotted}"),
        PkgManager::Yum | PkgManager::Dnf => format!("postgresql{short}"),
    };
    (server.repo, vec![package], server.bin_dir)
}

/// What the backup host runs, in two installs: the repository first (EPEL, for restic on the
/// RHEL family), then the backup program, the ssh client (it reaches the Harbor nodes) and curl.
#[must_use]
pub fn backup_packages(os: OsFamily, tool: crate::model::enums::BackupTool) -> (Vec<&'static str>, Vec<&'static str>) {
    use crate::model::enums::BackupTool;
    let rhel = info(os).pkg != PkgManager::Apt;
    let repo = if rhel && tool == BackupTool::Restic { vec!["epel-release"] } else { Vec::new() };
    (repo, vec![tool.as_str(), if rhel { "openssh-clients" } else { "openssh-client" }, "curl"])
}

/// The package that provides `semanage` (labelling a non-default port for SELinux).
#[must_use]
pub fn semanage_pkg(os: OsFamily) -> &'static str {
    match os {
        OsFamily::Centos7 => "policycoreutils-python",
        _ => "policycoreutils-python-utils",
    }
}

/// The pid file the OS's redis unit waits for (`PIDFile=`), if any.
#[must_use]
pub fn redis_pidfile(os: OsFamily) -> Option<&'static str> {
    match info(os).pkg {
        PkgManager::Apt => Some("/run/redis/redis-server.pid"),
        PkgManager::Yum | PkgManager::Dnf => None,
    }
}

/// What a PostgreSQL or Redis cluster installs on an OS family.
#[derive(Debug, Clone)]
pub struct ClusterOs {
    /// Shell lines that enable the repository etcd comes from (may be empty).
    pub etcd_repo: &'static str,
    /// Patroni's packages (PGDG on the RHEL family, with its etcd extra).
    pub patroni_pkgs: &'static [&'static str],
    /// The file the packaged patroni unit reads.
    pub patroni_conf: &'static str,
    /// etcd's package.
    pub etcd_pkg: &'static str,
    /// The environment file the packaged etcd unit reads (`ETCD_*` variables).
    pub etcd_env: &'static str,
    /// Where PostgreSQL data directories live (`<dir>/<major>/<cluster>`).
    pub pg_data_root: &'static str,
    /// HAProxy's package and configuration file.
    pub haproxy: (&'static str, &'static str),
    /// Redis Sentinel's package, service and configuration file.
    pub sentinel: (&'static str, &'static str, &'static str),
}

/// The cluster facts of `os`.
#[must_use]
pub fn cluster(os: OsFamily) -> ClusterOs {
    match os {
        OsFamily::Centos7 => ClusterOs {
            etcd_repo: "",
            patroni_pkgs: &["patroni", "patroni-etcd"],
            patroni_conf: "/etc/patroni/patroni.yml",
            etcd_pkg: "etcd",
            etcd_env: "/etc/etcd/etcd.conf",
            pg_data_root: "/var/lib/pgsql",
            haproxy: ("haproxy", "/etc/haproxy/haproxy.cfg"),
            sentinel: ("redis", "redis-sentinel", "/etc/redis-sentinel.conf"),
        },
        OsFamily::Rocky9 => ClusterOs {
            etcd_repo: "if ! dnf -q repolist --enabled pgdg-rhel9-extras 2>/dev/null | grep -q pgdg-rhel9-extras; then\n  pkgs dnf-plugins-core\n  dnf -q config-manager --set-enabled pgdg-rhel9-extras\n  CHANGED=1\nfi",
            patroni_pkgs: &["patroni", "patroni-etcd"],
            patroni_conf: "/etc/patroni/patroni.yml",
            etcd_pkg: "etcd",
            etcd_env: "/etc/etcd/etcd.conf",
            pg_data_root: "/var/lib/pgsql",
            haproxy: ("haproxy", "/etc/haproxy/haproxy.cfg"),
            sentinel: ("redis", "redis-sentinel", "/etc/redis/sentinel.conf"),
        },
        OsFamily::Debian12 | OsFamily::Ubuntu2204 => ClusterOs {
            etcd_repo: "",
            patroni_pkgs: &["patroni", "python3-etcd"],
            patroni_conf: "/etc/patroni/config.yml",
            etcd_pkg: "etcd-server",
            etcd_env: "/etc/default/etcd",
            pg_data_root: "/var/lib/postgresql",
            haproxy: ("haproxy", "/etc/haproxy/haproxy.cfg"),
            sentinel: ("redis-sentinel", "redis-sentinel", "/etc/redis/sentinel.conf"),
        },
    }
}
