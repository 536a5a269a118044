//! The resolved topology: every default applied, every value parsed. Only
//! [`crate::validate`] builds it, and only for input without errors, so renderers can
//! rely on it.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;
use url::Url;

use super::ids::{DnsName, HostName, HostPath, InterfaceName, SiteName, SqlIdent};
use super::secret::Secret;
use super::spec::{
    Affinity, AzureSpec, Component, EdgeMode, FiltersSpec, GcsSpec, OsFamily, OssSpec, Role, S3Spec, SiteMode, SslMode,
    SwiftSpec, Trigger,
};
use super::version::Version;

/// A validated deployment.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Sites in file order.
    pub sites: Vec<Site>,
    /// Replication edges in file order.
    pub edges: Vec<Edge>,
}

/// A validated site.
#[derive(Debug, Clone)]
pub struct Site {
    /// Position in `sites` (for key paths).
    pub index: usize,
    /// The site's name.
    pub name: SiteName,
    /// Shared storage or dual master.
    pub mode: SiteMode,
    /// Harbor settings.
    pub harbor: Harbor,
    /// The site's subnet.
    pub subnet: IpNet,
    /// Every host, in file order.
    pub hosts: Vec<Host>,
    /// Storage backend.
    pub storage: Storage,
    /// Disable registry redirects to the object store.
    pub disable_redirect: bool,
    /// Database.
    pub database: Database,
    /// Redis.
    pub redis: Redis,
    /// Load balancer, when the site has LB hosts.
    pub lb: Option<LoadBalancer>,
}

/// Harbor settings of a site.
#[derive(Debug, Clone)]
pub struct Harbor {
    /// The release.
    pub version: Version,
    /// The public URL (scheme, host, port).
    pub external_url: Url,
    /// Initial admin password.
    pub admin_password: Secret,
    /// Parent of the unpacked `harbor/` directory.
    pub install_dir: HostPath,
    /// Enabled optional components.
    pub components: BTreeSet<Component>,
}

/// A validated host.
#[derive(Debug, Clone)]
pub struct Host {
    /// Position in the site's `hosts`.
    pub index: usize,
    /// Inventory name.
    pub name: HostName,
    /// Address.
    pub address: IpAddr,
    /// Roles.
    pub roles: BTreeSet<Role>,
    /// OS family (host override or site default).
    pub os: OsFamily,
    /// Harbor's HTTP port (harbor role).
    pub http_port: u16,
    /// Harbor's data volume (harbor role).
    pub data_volume: HostPath,
    /// The interface carrying `address`.
    pub interface: InterfaceName,
}

impl Host {
    /// `address:http_port` as an upstream or URL authority (IPv6 bracketed).
    #[must_use]
    pub fn http_endpoint(&self) -> String {
        socket_text(self.address, self.http_port)
    }

    /// Whether the host has `role`.
    #[must_use]
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Storage backend.
#[derive(Debug, Clone)]
pub enum Storage {
    /// Each node's local `data_volume` (single node, or dual master).
    Local,
    /// NFS mounted as `data_volume`.
    Nfs(Nfs),
    /// S3.
    S3(S3Spec),
    /// Swift.
    Swift(SwiftSpec),
    /// Azure.
    Azure(AzureSpec),
    /// GCS.
    Gcs(GcsSpec),
    /// OSS.
    Oss(OssSpec),
}

/// NFS settings.
#[derive(Debug, Clone)]
pub struct Nfs {
    /// Exported directory.
    pub export: HostPath,
    /// Mount point on the nodes (= data_volume).
    pub mount: HostPath,
    /// Server address.
    pub server: IpAddr,
    /// The host that the bundle installs as NFS server, if any.
    pub server_host: Option<HostName>,
    /// Allowed clients.
    pub clients: Vec<IpNet>,
    /// Mount options.
    pub options: String,
}

/// Database.
#[derive(Debug, Clone)]
pub enum Database {
    /// Harbor's internal PostgreSQL container.
    Internal,
    /// External PostgreSQL.
    External(ExternalDb),
}

/// External PostgreSQL.
#[derive(Debug, Clone)]
pub struct ExternalDb {
    /// Address or DNS name the nodes use.
    pub host: DnsName,
    /// The host the bundle installs PostgreSQL on, if any.
    pub installed_on: Option<HostName>,
    /// Major version (installed) or as declared.
    pub version: Version,
    /// Port.
    pub port: u16,
    /// Harbor's role.
    pub username: SqlIdent,
    /// Harbor's role password.
    pub password: Secret,
    /// Core database name.
    pub db_name: SqlIdent,
    /// sslmode.
    pub ssl_mode: SslMode,
    /// harbor.yml max_open_conns.
    pub max_open_conns: u32,
    /// harbor.yml max_idle_conns.
    pub max_idle_conns: u32,
    /// Server max_connections.
    pub max_connections: u32,
}

/// Redis.
#[derive(Debug, Clone)]
pub enum Redis {
    /// Harbor's internal Redis container.
    Internal,
    /// External Redis.
    External(ExternalRedis),
}

/// External Redis.
#[derive(Debug, Clone)]
pub struct ExternalRedis {
    /// Address or DNS name.
    pub host: DnsName,
    /// The host the bundle installs Redis on, if any.
    pub installed_on: Option<HostName>,
    /// Port.
    pub port: u16,
    /// requirepass.
    pub password: Option<Secret>,
    /// ACL user.
    pub username: Option<String>,
    /// Indexes.
    pub db_index: DbIndexes,
    /// Sentinel.
    pub sentinel: Option<Sentinel>,
}

/// Redis database indexes per component (core is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbIndexes {
    /// registry.
    pub registry: u8,
    /// jobservice.
    pub jobservice: u8,
    /// trivy.
    pub trivy: u8,
    /// chartmuseum.
    pub chartmuseum: u8,
    /// clair.
    pub clair: u8,
}

/// Sentinel.
#[derive(Debug, Clone)]
pub struct Sentinel {
    /// Master set name.
    pub master_set: String,
    /// `host:port` list.
    pub hosts: Vec<String>,
}

/// TLS at the LB.
#[derive(Debug, Clone)]
pub enum Tls {
    /// Plain HTTP.
    None,
    /// Given certificate and key.
    Files {
        /// Certificate path.
        certificate: HostPath,
        /// Key path.
        key: HostPath,
    },
    /// The LB script makes a self-signed certificate at these paths.
    SelfSigned {
        /// Certificate path.
        certificate: HostPath,
        /// Key path.
        key: HostPath,
    },
}

/// Load balancer.
#[derive(Debug, Clone)]
pub struct LoadBalancer {
    /// Served name.
    pub server_name: DnsName,
    /// TLS.
    pub tls: Tls,
    /// Affinity.
    pub affinity: Affinity,
    /// VIP (two LB hosts).
    pub vip: Option<IpAddr>,
    /// keepalived virtual_router_id.
    pub virtual_router_id: u8,
}

/// A replication edge.
#[derive(Debug, Clone)]
pub struct Edge {
    /// Position in `replication`.
    pub index: usize,
    /// Source site.
    pub from: SiteName,
    /// Destination site.
    pub to: SiteName,
    /// Push or pull.
    pub mode: EdgeMode,
    /// Trigger.
    pub trigger: Trigger,
    /// Filters.
    pub filters: FiltersSpec,
    /// Replicate deletions.
    pub deletion: bool,
    /// Remote account.
    pub username: String,
    /// Remote account's secret.
    pub credentials: Option<Secret>,
}

impl Site {
    /// Hosts with `role`, in file order.
    pub fn hosts_with(&self, role: Role) -> impl Iterator<Item = &Host> {
        self.hosts.iter().filter(move |h| h.has(role))
    }

    /// The Harbor nodes, in file order (the first installs first).
    pub fn harbor_nodes(&self) -> impl Iterator<Item = &Host> {
        self.hosts_with(Role::Harbor)
    }
}

/// `addr:port`, with brackets for IPv6.
#[must_use]
pub fn socket_text(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}
