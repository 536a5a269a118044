//! The raw topology file, exactly as written: serde types that reject unknown keys.
//!
//! Nothing here applies defaults or checks consistency; that is [`crate::validate`]'s job.
//! Optional keys are `Option` so that validation can tell "absent" from "given", and a
//! value that becomes a checked type ([`super::ids`]) is kept as its [`Raw`] text.

use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::enums::{Affinity, BackupTool, Component, EdgeMode, OsFamily, Role, SiteMode, SslMode};
use super::ids::{
    AlertLabelName, BackupTarget, DnsName, HostName, HostOrAddress, HostPath, InterfaceName, PromDuration, SiteName,
    SqlIdent,
};
use super::secret::SecretSpec;
use super::version::VersionText;
use crate::diag::RuleCode;

/// The text of a `T` as written in the file, before validation parses it into a `T`
/// (`T::parse`). In the JSON Schema it is a string named and described after `T`.
pub struct Raw<T> {
    text: String,
    of: PhantomData<fn() -> T>,
}

impl<T> Raw<T> {
    /// Wrap text (e.g. when building a raw model in code).
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Raw { text: text.into(), of: PhantomData }
    }

    /// The text as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl<T> Clone for Raw<T> {
    fn clone(&self) -> Self {
        Raw::new(self.text.clone())
    }
}

impl<T> PartialEq for Raw<T> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl<T> Eq for Raw<T> {}

impl<T> PartialOrd for Raw<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Raw<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

/// Control characters escaped, as the checked types show themselves in messages.
impl<T> fmt::Display for Raw<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::ids::write_one_line(f, &self.text)
    }
}

impl<T> fmt::Debug for Raw<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

impl<T> Serialize for Raw<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de, T> Deserialize<'de> for Raw<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Raw::new)
    }
}

/// How a checked string type appears in the JSON Schema of the file format.
pub trait SchemaDoc {
    /// The definition's name.
    const NAME: &'static str;
    /// Its description.
    const DOC: &'static str;
}

macro_rules! schema_doc {
    ($($t:ident => $doc:literal;)*) => {
        $(impl SchemaDoc for $t {
            const NAME: &'static str = stringify!($t);
            const DOC: &'static str = $doc;
        })*
    };
}

schema_doc! {
    RuleCode => "A rule code (`HA007`) or name (`single-point-of-failure`) of a rule that can warn; `harbor-ha explain CODE`.";
    SiteName => "A site's name: `[a-z0-9-]+`, unique in the file.";
    HostName => "A host's inventory name: `[a-z0-9-]+`, unique in the whole file (each host gets `hosts/<name>/`).";
    HostPath => "An absolute filesystem path on a target host.";
    DnsName => "A DNS name (or address) that clients or Harbor use to reach a service.";
    InterfaceName => "A network interface name on a host (keepalived's VRRP interface).";
    SqlIdent => "A PostgreSQL role or database name.";
    HostOrAddress => "An inventory host's name, or an IP address.";
    PromDuration => "A Prometheus duration, e.g. `30s`, `1m` or `1m30s` (1 s to 24 h).";
    AlertLabelName => "A Prometheus label name, `[a-zA-Z_][a-zA-Z0-9_]*`.";
    SyslogUrl => "A syslog endpoint, `tcp://host:port` or `udp://host:port`.";
    BackupTarget => "Where a site's backups go: an absolute path on the backup host; a restic repository `sftp://[user@]host[:port]/path`, `rest:https://host[:port]/path` or `s3:https://host/bucket[/prefix]`; or an rsync target `rsync://host/module[/path]` or `ssh://[user@]host[:port]/path`.";
}

/// The text of a syslog endpoint URL (`tcp://host:port`); validation parses it (MN003).
pub enum SyslogUrl {}

impl<T: SchemaDoc> JsonSchema for Raw<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::NAME.into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({ "description": T::DOC, "type": "string" })
    }
}

/// A whole deployment: one or more sites and the replication between them.
///
/// YAML merge keys (`<<: *anchor`, `<<: [*a, *b]`) are applied before the file is checked,
/// and `x-` keys are ignored in every mapping of fixed keys (a place for anchors).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopologySpec {
    /// Format version of this file. Only `1` exists.
    pub version: u32,
    /// The sites: each is one Harbor cluster (shared storage), a dual-master pair, or a single node.
    pub sites: Vec<SiteSpec>,
    /// Replication edges between sites (hierarchical distribution).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replication: Vec<EdgeSpec>,
    /// Monitoring of every site (a site's own `monitoring` keys win).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringSpec>,
    /// Central logs of every site (a site's own `log` wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogSpec>,
    /// Warnings accepted in every site: rule codes (`HA007`) or names whose warnings are
    /// not shown and do not fail `--strict` (still listed, as suppressed, in JSON output).
    /// Errors cannot be allowed (AL001).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<Raw<RuleCode>>,
}

/// Monitoring by Prometheus: the bundle's `monitoring/` scrape config, alert rules and
/// dashboard, the exporters on every host, and Harbor's own metrics (2.2+).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringSpec {
    /// The Prometheus server: an inventory host's name or an IP address. The metrics ports
    /// are opened to it only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<Raw<HostOrAddress>>,
    /// How often Prometheus scrapes and evaluates the rules (default `30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_interval: Option<Raw<PromDuration>>,
    /// Labels added to every alert, e.g. `{team: registry}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_labels: Option<std::collections::BTreeMap<Raw<AlertLabelName>, String>>,
    /// Harbor's own metrics (`metric:` in harbor.yml; Harbor 2.2+). Default: on from 2.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harbor_metrics: Option<bool>,
}

/// Where logs go besides the hosts' own disks.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogSpec {
    /// A syslog server, `tcp://host:port` or `udp://host:port`: Harbor's
    /// `log.external_endpoint`, and every other host's journal through rsyslog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syslog: Option<Raw<SyslogUrl>>,
}

/// One site.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteSpec {
    /// `[a-z0-9-]+`, unique.
    pub name: Raw<SiteName>,
    /// `shared-storage` (default) or `replication` (dual master).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<SiteMode>,
    /// Default OS family of the site's hosts (default `centos7`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsFamily>,
    /// Harbor settings common to every node of the site.
    pub harbor: HarborSpec,
    /// The site's network.
    pub network: NetworkSpec,
    /// The inventory: each machine once, with its roles.
    pub hosts: Vec<HostSpec>,
    /// The storage backend (exactly one). Absent: local `data_volume` on each node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSpec>,
    /// External PostgreSQL. Absent: Harbor's internal database on each node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseSpec>,
    /// External Redis. Absent: Harbor's internal Redis on each node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisSpec>,
    /// The load balancer in front of the Harbor nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerSpec>,
    /// Monitoring of this site (overrides the top-level keys it names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringSpec>,
    /// Central logs of this site (overrides the top-level `log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogSpec>,
    /// Backups of the whole site (database, storage, keys): `backup/<site>/backup.sh` and
    /// `restore.sh` in the bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupSpec>,
    /// Warnings accepted in this site only (the top-level `allow` applies too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<Raw<RuleCode>>,
}

/// Where a site's backups go and how many are kept.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupSpec {
    /// An absolute path on the site's backup host (a separate disk or a mounted share), or a
    /// URL: `sftp://`, `rest:https://`, `s3:https://` (restic); `rsync://`, `ssh://` (rsync).
    pub target: Raw<BackupTarget>,
    /// How many backups to keep (default 7); older ones are removed after each backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<u32>,
    /// `restic` (default; `rsync` for `rsync://` and `ssh://` targets) or `rsync`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<BackupTool>,
    /// The restic repository's password, `{env: VAR}` or `{file: PATH}`: it decrypts every
    /// backup, so keep it outside the site. Required with restic; never generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretSpec>,
}

/// Harbor settings of a site.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HarborSpec {
    /// Harbor release: 1.10.x or 2.0–2.15.
    pub version: VersionText,
    /// What docker clients use; the LB serves it. Scheme, host and port only.
    pub external_url: String,
    /// The initial admin password.
    pub admin_password: SecretSpec,
    /// Where the offline installer is unpacked (`harbor/` inside). Default `/usr/local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_dir: Option<Raw<HostPath>>,
    /// Optional components, checked against the version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<Component>>,
}

/// The site's network.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Every host must be inside it, e.g. `192.168.166.0/24`.
    #[schemars(with = "String")]
    pub subnet: ipnet::IpNet,
}

/// One machine.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// Inventory name, `[a-z0-9-]+`.
    pub name: Raw<HostName>,
    /// The host's address.
    pub address: IpAddr,
    /// What the host does.
    pub roles: Vec<Role>,
    /// Overrides the site's OS family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsFamily>,
    /// Harbor role: the port Harbor's own nginx listens on (default 80).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_port: Option<u16>,
    /// Harbor role: the data volume (default: `storage.nfs.mount`, or `/data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_volume: Option<Raw<HostPath>>,
    /// The network interface carrying `address` (keepalived VRRP; default `eth0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<Raw<InterfaceName>>,
}

/// Storage backends; exactly one must be given.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageSpec {
    /// An NFS export mounted as `data_volume` on every node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs: Option<NfsSpec>,
    /// S3 or S3-compatible object storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Spec>,
    /// OpenStack Swift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swift: Option<SwiftSpec>,
    /// Azure blob storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureSpec>,
    /// Google Cloud Storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs: Option<GcsSpec>,
    /// Alibaba OSS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oss: Option<OssSpec>,
    /// The node's local disk (not shared: one node only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<FilesystemSpec>,
    /// Disable the registry's redirects to the object store (MinIO and similar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_redirect: Option<bool>,
}

/// NFS storage.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NfsSpec {
    /// The exported directory on the NFS server.
    pub export: Raw<HostPath>,
    /// Where nodes mount it; this is every node's `data_volume`. Default `/data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<Raw<HostPath>>,
    /// An existing NFS server. Absent: the host with role `nfs` is installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<IpAddr>,
    /// Allowed clients (addresses or CIDRs). Default: exactly the Harbor nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<Vec<String>>,
    /// Mount options. Default `hard,nfsvers=4.1,_netdev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
}

/// S3 storage (harbor.yml `storage_service.s3`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Spec {
    /// Bucket name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Region, e.g. `us-east-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Endpoint for S3-compatible stores (MinIO, Ceph RGW).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regionendpoint: Option<String>,
    /// Access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accesskey: Option<SecretSpec>,
    /// Secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secretkey: Option<SecretSpec>,
    /// Prefix inside the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootdirectory: Option<String>,
    /// Use HTTPS to the store (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure: Option<bool>,
    /// Signature v4 (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v4auth: Option<bool>,
    /// Server-side encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypt: Option<bool>,
}

/// Swift storage.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwiftSpec {
    /// Keystone auth URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authurl: Option<String>,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretSpec>,
    /// Container name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Tenant (project) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Domain name (Keystone v3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// Azure storage.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AzureSpec {
    /// Storage account name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accountname: Option<String>,
    /// Storage account key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accountkey: Option<SecretSpec>,
    /// Container name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Realm (default `core.windows.net`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
}

/// Google Cloud Storage.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GcsSpec {
    /// Bucket name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Path of the service-account key file on each node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyfile: Option<Raw<HostPath>>,
    /// Prefix inside the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootdirectory: Option<String>,
}

/// Alibaba OSS.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OssSpec {
    /// Access key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accesskeyid: Option<SecretSpec>,
    /// Access key secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accesskeysecret: Option<SecretSpec>,
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// Local filesystem storage on each node (not shared).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesystemSpec {
    /// Registry storage driver threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxthreads: Option<u32>,
}

/// External PostgreSQL.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    /// An existing server the bundle does not install. Absent: the host with role `postgres`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Raw<DnsName>>,
    /// PostgreSQL major version (default: what the OS packages, at least what Harbor needs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<VersionText>,
    /// Port (default 5432).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Harbor's role (default `harbor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<Raw<SqlIdent>>,
    /// Harbor's role password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretSpec>,
    /// Core database name (default `registry`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_name: Option<Raw<SqlIdent>>,
    /// `sslmode` (default `disable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_mode: Option<SslMode>,
    /// Per-component connection cap in harbor.yml (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_conns: Option<u32>,
    /// Per-component idle connections in harbor.yml (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_idle_conns: Option<u32>,
    /// The server's `max_connections` (default: sized for nodes × components × max_open_conns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// A cluster (2+ hosts with role postgres): a commit is acknowledged only once a standby
    /// has it, so that it survives the loss of the primary (default true for a cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronous: Option<bool>,
}

/// Redis database indexes per component. Core is fixed at 0.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DbIndexSpec {
    /// Registry cache (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<u8>,
    /// Job service queue (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobservice: Option<u8>,
    /// Trivy (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trivy: Option<u8>,
    /// ChartMuseum (1.10–2.7; default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chartmuseum: Option<u8>,
    /// Clair (1.10–2.1; default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clair: Option<u8>,
}

/// Redis Sentinel (Harbor 2.1+).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SentinelSpec {
    /// The monitored master's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_set: Option<String>,
    /// Sentinel endpoints, `host:port`.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// A password on the sentinels themselves (Harbor cannot use it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretSpec>,
}

/// External Redis.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisSpec {
    /// An existing server the bundle does not install. Absent: the host with role `redis`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Raw<DnsName>>,
    /// Redis version (informational; default: what the OS packages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<VersionText>,
    /// Port (default 6379).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `requirepass`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretSpec>,
    /// Redis 6 ACL user name (2.8+; not recommended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Database indexes per component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_index: Option<DbIndexSpec>,
    /// Sentinel instead of a single server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel: Option<SentinelSpec>,
}

/// TLS on the load balancer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// Certificate (chain) path on the LB hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Raw<HostPath>>,
    /// Private key path on the LB hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Raw<HostPath>>,
    /// The LB install script makes a self-signed certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_signed: Option<bool>,
}

/// The load balancer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerSpec {
    /// Default: the host of `external_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<Raw<DnsName>>,
    /// TLS termination. Absent: plain HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSpec>,
    /// `ip_hash` (default) or `none` (round robin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Virtual IP held by keepalived; required with two LB hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip: Option<IpAddr>,
    /// keepalived `virtual_router_id` (default 51).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_router_id: Option<u8>,
    /// Optional explicit upstream list; must equal the Harbor nodes and ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstreams: Option<Vec<String>>,
}

/// When a replication policy runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Trigger")]
pub enum TriggerSpec {
    /// On every push or delete.
    EventBased,
    /// Only when started by hand (or by `resync.sh`).
    Manual,
    /// On a Harbor 6-field cron (`sec min hour dom mon dow`).
    Cron(String),
}

/// Replication filters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FiltersSpec {
    /// Repository name pattern (doublestar), e.g. `library/**`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Tag pattern, e.g. `v*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Label name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A replication edge between two sites.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EdgeSpec {
    /// Source site.
    pub from: Raw<SiteName>,
    /// Destination site.
    pub to: Raw<SiteName>,
    /// `push` (default, policy on `from`) or `pull` (policy on `to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<EdgeMode>,
    /// `event_based` (default), `manual` or `{cron: "..."}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<TriggerSpec>,
    /// Which artifacts to replicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<FiltersSpec>,
    /// Also replicate deletions (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion: Option<bool>,
    /// The account on the remote site (robot or user; default `admin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The remote account's password or robot secret: `{env: VAR}` or `{file: PATH}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<SecretSpec>,
}

impl<'de> Deserialize<'de> for TriggerSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, MapAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TriggerSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("event_based, manual or {cron: \"<6-field cron>\"}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TriggerSpec, E> {
                match v {
                    "event_based" => Ok(TriggerSpec::EventBased),
                    "manual" => Ok(TriggerSpec::Manual),
                    other => Err(E::unknown_variant(other, &["event_based", "manual", "cron"])),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TriggerSpec, A::Error> {
                let key: Option<String> = map.next_key()?;
                match key.as_deref() {
                    Some("cron") => {
                        let c: String = map.next_value()?;
                        if map.next_key::<String>()?.is_some() {
                            return Err(de::Error::custom("a trigger map takes only `cron`"));
                        }
                        Ok(TriggerSpec::Cron(c))
                    }
                    Some(other) => Err(de::Error::unknown_field(other, &["cron"])),
                    None => Err(de::Error::custom("empty trigger: write {cron: \"0 0 * * * *\"}")),
                }
            }
        }
        d.deserialize_any(V)
    }
}
