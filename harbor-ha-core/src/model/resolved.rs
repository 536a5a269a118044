//! The resolved topology: every default applied, every value parsed into a checked type.
//!
//! Only [`crate::validate`] builds it, and it hands it out as a [`ValidTopology`] only when
//! no rule found an error: renderers take a `&ValidTopology` and never re-check a value.
//! The structs are `#[non_exhaustive]` (other crates read them but cannot build them), and
//! they hold no raw (`*Spec`) type: every string is one of [`super::ids`].
//!
//! Validation is the only way in:
//!
//! ```
//! use harbor_ha_core::{examples, load_str, ValidTopology};
//! let valid: ValidTopology = load_str(examples::get("seed").unwrap()).unwrap().validate().topology.unwrap();
//! assert_eq!(valid.sites[0].name.as_str(), "prod");
//! ```
//!
//! and none of these compile outside the crate:
//!
//! ```compile_fail
//! // A checked value has no public constructor but its predicate, `parse`.
//! let name = harbor_ha_core::model::ids::SiteName("Bad Name".to_string());
//! ```
//!
//! ```compile_fail
//! // Only validation wraps a topology as valid.
//! fn forge(t: harbor_ha_core::Topology) -> harbor_ha_core::ValidTopology {
//!     harbor_ha_core::ValidTopology::new(t)
//! }
//! ```
//!
//! ```compile_fail
//! // The resolved structs cannot be built by hand.
//! let t = harbor_ha_core::Topology { sites: Vec::new(), edges: Vec::new() };
//! ```
//!
//! ```compile_fail
//! // Nor can the render input: the secrets are resolved and checked by validation.
//! fn forge<'t>(t: &'t harbor_ha_core::ValidTopology) -> harbor_ha_core::secrets::RenderInput<'t> {
//!     harbor_ha_core::secrets::RenderInput::new(t, Vec::new())
//! }
//! ```

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::ops::Deref;

use ipnet::IpNet;
use url::Url;

use super::enums::{Affinity, BackupTool, Component, EdgeMode, OsFamily, Role, SiteMode, SslMode};
use super::ids::{
    AlertLabelName, BackupTarget, CronExpr, DnsName, HostName, HostPath, InterfaceName, MasterName, MountOptions,
    Pattern, PromDuration, SentinelAddr, SiteName, SqlIdent, Text,
};
use super::secret::Secret;
use super::version::Version;

/// A topology that passed validation without an error. Only validation makes one.
#[derive(Debug, Clone)]
pub struct ValidTopology(Topology);

impl ValidTopology {
    /// Wrap a topology validation found no error in.
    pub(crate) fn new(t: Topology) -> Self {
        ValidTopology(t)
    }
}

impl Deref for ValidTopology {
    type Target = Topology;
    fn deref(&self) -> &Topology {
        &self.0
    }
}

/// A resolved deployment.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Topology {
    /// Sites in file order.
    pub sites: Vec<Site>,
    /// Replication edges in file order.
    pub edges: Vec<Edge>,
}

/// A resolved site.
#[derive(Debug, Clone)]
#[non_exhaustive]
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
    /// Monitoring by Prometheus, when asked for.
    pub monitoring: Option<Monitoring>,
    /// The syslog server that Harbor and every host send their logs to, when given.
    pub syslog: Option<SyslogEndpoint>,
    /// Backups of the site, when asked for.
    pub backup: Option<Backup>,
}

/// Backups of a site: `backup/<site>/backup.sh` and `restore.sh`, run on `host`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Backup {
    /// Where the backups go.
    pub target: BackupTarget,
    /// The program that writes them.
    pub tool: BackupTool,
    /// How many are kept.
    pub keep: u32,
    /// The restic repository's password (restic only).
    pub password: Option<Secret>,
    /// The host the scripts run on: the NFS server the bundle installs (the export is its
    /// own disk), else the first Harbor node.
    pub host: HostName,
    /// What is copied as the site's storage.
    pub storage: BackupStorage,
}

/// The storage a backup copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupStorage {
    /// A directory of the backup host: the NFS export on the NFS server, or the data volume
    /// of the first Harbor node (its local disk, or an NFS server the bundle does not install).
    Directory(HostPath),
    /// Object storage: a hook the operator provides, and a bucket-versioning marker.
    Object,
}

/// Monitoring of a site by Prometheus.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Monitoring {
    /// The Prometheus server's address: the only source the metrics ports are opened to.
    pub prometheus: IpAddr,
    /// The inventory host it runs on, when it is one.
    pub prometheus_host: Option<HostName>,
    /// Scrape and rule evaluation interval.
    pub scrape_interval: PromDuration,
    /// Labels added to every alert of the site.
    pub alert_labels: std::collections::BTreeMap<AlertLabelName, Text>,
    /// Harbor's own metrics (`metric:` in harbor.yml), Harbor 2.2+.
    pub harbor_metrics: bool,
}

/// The transport of a syslog endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogProtocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl SyslogProtocol {
    /// `tcp` or `udp`, as harbor.yml and rsyslog spell it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SyslogProtocol::Tcp => "tcp",
            SyslogProtocol::Udp => "udp",
        }
    }
}

/// A syslog server (harbor.yml `log.external_endpoint`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SyslogEndpoint {
    /// tcp or udp.
    pub protocol: SyslogProtocol,
    /// Host name or address.
    pub host: DnsName,
    /// Port.
    pub port: u16,
}

/// Harbor settings of a site.
#[derive(Debug, Clone)]
#[non_exhaustive]
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

/// A resolved host.
#[derive(Debug, Clone)]
#[non_exhaustive]
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
    S3(S3),
    /// Swift.
    Swift(Swift),
    /// Azure.
    Azure(Azure),
    /// GCS.
    Gcs(Gcs),
    /// OSS.
    Oss(Oss),
}

/// NFS settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
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
    pub options: MountOptions,
}

/// S3 or S3-compatible storage (harbor.yml `storage_service.s3`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct S3 {
    /// Bucket name.
    pub bucket: Option<Text>,
    /// Region.
    pub region: Option<Text>,
    /// Endpoint of an S3-compatible store.
    pub regionendpoint: Option<Text>,
    /// Access key.
    pub accesskey: Option<Secret>,
    /// Secret key.
    pub secretkey: Option<Secret>,
    /// Prefix inside the bucket.
    pub rootdirectory: Option<Text>,
    /// HTTPS to the store.
    pub secure: Option<bool>,
    /// Signature v4.
    pub v4auth: Option<bool>,
    /// Server-side encryption.
    pub encrypt: Option<bool>,
}

/// OpenStack Swift.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Swift {
    /// Keystone auth URL.
    pub authurl: Option<Text>,
    /// User name.
    pub username: Option<Text>,
    /// Password.
    pub password: Option<Secret>,
    /// Container name.
    pub container: Option<Text>,
    /// Region.
    pub region: Option<Text>,
    /// Tenant (project) name.
    pub tenant: Option<Text>,
    /// Domain name (Keystone v3).
    pub domain: Option<Text>,
}

/// Azure blob storage.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Azure {
    /// Storage account name.
    pub accountname: Option<Text>,
    /// Storage account key.
    pub accountkey: Option<Secret>,
    /// Container name.
    pub container: Option<Text>,
    /// Realm.
    pub realm: Option<Text>,
}

/// Google Cloud Storage.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Gcs {
    /// Bucket name.
    pub bucket: Option<Text>,
    /// Service-account key file on each node.
    pub keyfile: Option<HostPath>,
    /// Prefix inside the bucket.
    pub rootdirectory: Option<Text>,
}

/// Alibaba OSS.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Oss {
    /// Access key id.
    pub accesskeyid: Option<Secret>,
    /// Access key secret.
    pub accesskeysecret: Option<Secret>,
    /// Region.
    pub region: Option<Text>,
    /// Bucket.
    pub bucket: Option<Text>,
    /// Endpoint.
    pub endpoint: Option<Text>,
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
#[non_exhaustive]
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
    /// The cluster the bundle installs (2+ hosts with role postgres); `host` is then its
    /// endpoint on the LB hosts.
    pub cluster: Option<Box<PgCluster>>,
}

/// A host of a cluster: its name and address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Member {
    /// Inventory name.
    pub name: HostName,
    /// Address.
    pub address: IpAddr,
}

/// Where Harbor reaches a cluster: a TCP proxy (HAProxy) on the LB hosts, at the VIP when
/// there are two, else at the one LB's address.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Endpoint {
    /// The address Harbor connects to.
    pub address: IpAddr,
    /// The LB hosts running the proxy.
    pub lbs: Vec<Member>,
}

/// A PostgreSQL cluster: Patroni on each data node, etcd as its DCS (on the data nodes and
/// the hosts with role etcd), HAProxy on the LB hosts routing to the primary.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PgCluster {
    /// The data nodes (role postgres), in file order.
    pub members: Vec<Member>,
    /// The etcd members: the data nodes, then the hosts with role etcd.
    pub dcs: Vec<Member>,
    /// Synchronous replication (Patroni's synchronous_mode).
    pub synchronous: bool,
    /// Harbor's endpoint.
    pub endpoint: Endpoint,
}

impl PgCluster {
    /// Patroni's REST API port on every data node (HAProxy's health check asks it).
    pub const REST_PORT: u16 = 8008;
    /// etcd's client port.
    pub const ETCD_CLIENT_PORT: u16 = 2379;
    /// etcd's peer port.
    pub const ETCD_PEER_PORT: u16 = 2380;

    /// Whether `host` is a data node.
    #[must_use]
    pub fn is_member(&self, host: &HostName) -> bool {
        self.members.iter().any(|m| &m.name == host)
    }

    /// Whether `host` runs an etcd member.
    #[must_use]
    pub fn is_dcs(&self, host: &HostName) -> bool {
        self.dcs.iter().any(|m| &m.name == host)
    }
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
#[non_exhaustive]
pub struct ExternalRedis {
    /// One server, or Sentinel.
    pub server: RedisServer,
    /// Port of the single server (and of the data nodes behind Sentinel).
    pub port: u16,
    /// requirepass.
    pub password: Option<Secret>,
    /// ACL user.
    pub username: Option<Text>,
    /// Indexes.
    pub db_index: DbIndexes,
}

/// Where Harbor finds Redis.
#[derive(Debug, Clone)]
pub enum RedisServer {
    /// One server at `host:port`.
    Single {
        /// Address or DNS name.
        host: DnsName,
        /// The host the bundle installs Redis on, if any.
        installed_on: Option<HostName>,
    },
    /// The master a set of existing Sentinels elects.
    Sentinel(Sentinel),
    /// A master, replicas and Sentinels the bundle installs (2+ hosts with role redis).
    Cluster(RedisCluster),
}

/// A Redis cluster the bundle installs: one master and replicas on the hosts with role
/// redis, a Sentinel on each of them and on each host with role sentinel.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisCluster {
    /// The data nodes (role redis), in file order; the first starts as master.
    pub data: Vec<Member>,
    /// The Sentinels: the data nodes, then the hosts with role sentinel.
    pub sentinels: Vec<Member>,
    /// The master set's name.
    pub master_set: MasterName,
    /// Sentinels that must agree that the master is down.
    pub quorum: u8,
    /// The LB-side proxy to the master, for a Harbor without a Sentinel client (< 2.1).
    pub proxy: Option<Endpoint>,
}

impl RedisCluster {
    /// The Sentinels' port.
    pub const SENTINEL_PORT: u16 = 26379;

    /// Whether `host` is a data node.
    #[must_use]
    pub fn is_data(&self, host: &HostName) -> bool {
        self.data.iter().any(|m| &m.name == host)
    }

    /// Whether `host` runs a Sentinel.
    #[must_use]
    pub fn is_sentinel(&self, host: &HostName) -> bool {
        self.sentinels.iter().any(|m| &m.name == host)
    }
}

impl ExternalRedis {
    /// The Sentinel setup, when Harbor uses one.
    #[must_use]
    pub fn sentinel(&self) -> Option<&Sentinel> {
        match &self.server {
            RedisServer::Sentinel(s) => Some(s),
            RedisServer::Single { .. } | RedisServer::Cluster(_) => None,
        }
    }

    /// The host the bundle installs Redis on, if any (one server).
    #[must_use]
    pub fn installed_on(&self) -> Option<&HostName> {
        match &self.server {
            RedisServer::Single { installed_on, .. } => installed_on.as_ref(),
            RedisServer::Sentinel(_) | RedisServer::Cluster(_) => None,
        }
    }

    /// The cluster the bundle installs, if any.
    #[must_use]
    pub fn cluster(&self) -> Option<&RedisCluster> {
        match &self.server {
            RedisServer::Cluster(c) => Some(c),
            RedisServer::Single { .. } | RedisServer::Sentinel(_) => None,
        }
    }
}

/// Redis database indexes per component (core is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct Sentinel {
    /// Master set name.
    pub master_set: Text,
    /// The sentinels.
    pub hosts: Vec<SentinelAddr>,
}

/// TLS at the LB.
#[derive(Debug, Clone)]
pub enum Tls {
    /// Plain HTTP.
    None,
    /// Given certificate and key.
    Files(TlsFiles),
    /// The LB script makes a self-signed certificate at these paths.
    SelfSigned(TlsFiles),
}

/// Where the LB's certificate and key are.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TlsFiles {
    /// Certificate (chain) path.
    pub certificate: TlsPath,
    /// Private key path.
    pub key: TlsPath,
}

/// A certificate or key path: as given, or the default built from the server name.
#[derive(Debug, Clone)]
pub enum TlsPath {
    /// Written in the topology.
    Given(HostPath),
    /// `/etc/nginx/ssl/<server_name>.<ext>`: valid by construction, since the server name is
    /// a [`DnsName`] (an IPv6 address brings `:`, which nginx reads inside quotes).
    Default {
        /// The server name.
        server_name: DnsName,
        /// `crt` or `key`.
        ext: &'static str,
    },
}

impl TlsPath {
    /// The path on the LB hosts.
    #[must_use]
    pub fn path(&self) -> String {
        match self {
            TlsPath::Given(p) => p.as_str().to_string(),
            TlsPath::Default { server_name, ext } => format!("/etc/nginx/ssl/{}.{ext}", server_name.as_str()),
        }
    }
}

impl std::fmt::Display for TlsPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsPath::Given(p) => p.fmt(f),
            TlsPath::Default { .. } => f.write_str(&self.path()),
        }
    }
}

/// Load balancer.
#[derive(Debug, Clone)]
#[non_exhaustive]
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

/// When a replication policy runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// On every push or delete.
    EventBased,
    /// Only when started by hand (or by `resync.sh`).
    Manual,
    /// On a Harbor 6-field cron.
    Cron(CronExpr),
}

/// Replication filters.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Filters {
    /// Repository name pattern.
    pub repository: Option<Pattern>,
    /// Tag pattern.
    pub tag: Option<Pattern>,
    /// Label name.
    pub label: Option<Text>,
}

/// A replication edge.
#[derive(Debug, Clone)]
#[non_exhaustive]
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
    pub filters: Filters,
    /// Replicate deletions.
    pub deletion: bool,
    /// Remote account.
    pub username: Text,
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

    /// The PostgreSQL cluster the bundle installs, if any.
    #[must_use]
    pub fn pg_cluster(&self) -> Option<&PgCluster> {
        match &self.database {
            Database::External(db) => db.cluster.as_deref(),
            Database::Internal => None,
        }
    }

    /// The Redis cluster the bundle installs, if any.
    #[must_use]
    pub fn redis_cluster(&self) -> Option<&RedisCluster> {
        match &self.redis {
            Redis::External(r) => r.cluster(),
            Redis::Internal => None,
        }
    }
}

impl Member {
    /// A host as a cluster member.
    #[must_use]
    pub fn of(h: &Host) -> Self {
        Member { name: h.name.clone(), address: h.address }
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
