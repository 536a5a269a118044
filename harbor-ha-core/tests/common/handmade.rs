//! Sites built by hand, the way the seed guide builds one, as collection finds them: the
//! files a Harbor 1.10.2 or 2.11.1 offline install really has (harbor.yml from the release's
//! template, the `common/config/**` that its `prepare` writes from the templates at that tag,
//! docker-compose.yml, the keys under the data volume) and the LB and store hosts' configs.
//!
//! Each node ran `prepare` itself, so the values prepare draws on every run (core and
//! jobservice secrets, CSRF/XSRF key, scanner prefix) differ between the nodes unless
//! `consistent` (an operator who copied them). The key files live on the shared NFS volume:
//! one file, the same on every node.
#![allow(dead_code)]

use std::collections::BTreeMap;

use harbor_ha_core::audit::facts::{Facts, Mount};
use harbor_ha_core::audit::tree::{CollectedTree, HostTree};

/// One host: its files (absolute path → content, mode) and facts.
#[derive(Debug, Clone, Default)]
pub struct Host {
    pub files: BTreeMap<String, (Vec<u8>, u32)>,
    pub facts: Facts,
}

impl Host {
    pub fn put(&mut self, path: &str, content: impl Into<String>, mode: u32) {
        self.files.insert(path.to_string(), (content.into().into_bytes(), mode));
    }

    /// The text of a file.
    pub fn text(&self, path: &str) -> String {
        String::from_utf8(self.files[path].0.clone()).unwrap()
    }

    /// Replace `from` by `to` in a file (panics when `from` is not there, so that a test's
    /// mutation cannot silently miss).
    pub fn edit(&mut self, path: &str, from: &str, to: &str) {
        let t = self.text(path);
        assert!(t.contains(from), "{path} lacks {from:?}");
        let mode = self.files[path].1;
        self.files.insert(path.to_string(), (t.replacen(from, to, 1).into_bytes(), mode));
    }
}

/// A site: host name → host.
pub type Site = BTreeMap<String, Host>;

/// The tree collection makes of a site (secret-bearing files redacted or as digests).
pub fn tree(site: &Site) -> CollectedTree {
    let mut t = CollectedTree::default();
    for (name, h) in site {
        let mut ht = HostTree::default();
        for (p, (c, m)) in &h.files {
            ht.insert(p, c.clone(), *m);
        }
        ht.facts = Some(h.facts.to_json().into_bytes());
        t.hosts.insert(name.clone(), ht);
    }
    t
}

/// How the site was built.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Harbor `1.10.2` (the seed guide's, CentOS 7, one LB) or `2.11.1` (Debian 12, two LBs
    /// with keepalived).
    pub v2: bool,
    /// The per-run secrets were copied from the first node to the others.
    pub consistent: bool,
    /// The guide's own flaws: no external_url, Harbor logs in as `postgres`, Redis without a
    /// password, `defaults` NFS options, template connection pools.
    pub guide_flaws: bool,
}

/// A random-looking value, the same for the same seed.
fn rand(seed: &str, len: usize) -> String {
    let h = harbor_ha_core::audit::classify::sha256_hex(seed.as_bytes());
    let alnum: String = h.chars().chain(h.to_uppercase().chars()).filter(char::is_ascii_alphanumeric).collect();
    alnum.chars().cycle().take(len).collect()
}

struct Net {
    store: &'static str,
    nodes: [(&'static str, &'static str); 2],
    lbs: Vec<(&'static str, &'static str)>,
    prefix: u8,
    vip: Option<&'static str>,
    url: &'static str,
    server_name: &'static str,
}

fn net(v2: bool) -> Net {
    if v2 {
        Net {
            store: "10.0.0.20",
            nodes: [("harbor-1", "10.0.0.11"), ("harbor-2", "10.0.0.12")],
            lbs: vec![("lb-1", "10.0.0.2"), ("lb-2", "10.0.0.3")],
            prefix: 24,
            vip: Some("10.0.0.100"),
            url: "https://registry.example.org",
            server_name: "registry.example.org",
        }
    } else {
        Net {
            store: "192.168.166.122",
            nodes: [("harbor-1", "192.168.166.81"), ("harbor-2", "192.168.166.212")],
            lbs: vec![("lb-1", "192.168.166.10")],
            prefix: 24,
            vip: None,
            url: "https://harbor.example.com",
            server_name: "harbor.example.com",
        }
    }
}

/// Build the site.
pub fn site(o: Options) -> Site {
    let n = net(o.v2);
    let mut s = Site::new();
    s.insert("store-1".into(), store(&n, o));
    for (i, (name, addr)) in n.nodes.iter().enumerate() {
        let seed = if o.consistent { "node-1".to_string() } else { format!("node-{}", i + 1) };
        s.insert((*name).into(), node(&n, o, addr, &seed));
    }
    for (i, (name, addr)) in n.lbs.iter().enumerate() {
        s.insert((*name).into(), lb(&n, o, addr, i));
    }
    s
}

fn facts(host: &str, addr: &str, prefix: u8, os: &str, services: &[&str]) -> Facts {
    Facts {
        hostname: host.to_string(),
        addresses: vec![format!("{addr}/{prefix}")],
        os: os.to_string(),
        services: services.iter().map(|s| (*s).to_string()).collect(),
        ..Facts::default()
    }
}

const FSTAB_C7: &str = "#\n# /etc/fstab\n# Created by anaconda on Tue Mar 10 09:12:41 2020\n#\n/dev/mapper/centos-root /                       xfs     defaults        0 0\nUUID=1c4a0f02-6a2e-4b8a-9d0e-2f5f0bd1c6a1 /boot                   xfs     defaults        0 0\n/dev/mapper/centos-swap swap                    swap    defaults        0 0\n";
const FSTAB_D12: &str = "# /etc/fstab: static file system information.\nUUID=5d8e2b8c-0f8e-4c1e-9b5a-8f3c2e1d7a90 /               ext4    errors=remount-ro 0       1\nUUID=0b1f-3c2d  /boot/efi       vfat    umask=0077      0       1\n";

fn store(n: &Net, o: Options) -> Host {
    let mut h = Host::default();
    let (os, pg_hba, redis_conf, db_user) = if o.v2 {
        ("debian12", "/etc/postgresql/15/main/pg_hba.conf", "/etc/redis/redis.conf", "harbor")
    } else {
        (
            "centos7",
            "/var/lib/pgsql/9.6/data/pg_hba.conf",
            "/etc/redis.conf",
            if o.guide_flaws { "postgres" } else { "harbor" },
        )
    };
    let clients = if o.guide_flaws {
        format!("{}/{}(rw,sync,no_root_squash)", subnet_of(n), n.prefix)
    } else {
        n.nodes
            .iter()
            .map(|(_, a)| format!("{a}(rw,sync,no_subtree_check,root_squash,anonuid=10000,anongid=10000)"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let export = if o.v2 { "/srv/nfs/harbor" } else { "/data/harbor_data" };
    h.put("/etc/exports", format!("{export} {clients}\n"), 0o644);
    let method = if o.v2 { "scram-sha-256" } else { "md5" };
    let mut hba = format!("# PostgreSQL Client Authentication Configuration File\n# ===================================================\n#\n# TYPE  DATABASE        USER            ADDRESS                 METHOD\n\n# \"local\" is for Unix domain socket connections only\nlocal   all             all                                     peer\n# IPv4 local connections:\nhost    all             all             127.0.0.1/32            {method}\n# IPv6 local connections:\nhost    all             all             ::1/128                 {method}\n");
    for (_, a) in &n.nodes {
        hba.push_str(&format!("host    registry        {db_user:<15} {a}/32       {method}\n"));
    }
    h.put(pg_hba, hba, 0o600);
    let pass = if o.guide_flaws && !o.v2 { String::new() } else { format!("requirepass {}\n", rand("redis", 24)) };
    h.put(redis_conf, format!("bind 0.0.0.0\nprotected-mode no\nport 6379\ndaemonize yes\n{pass}supervised no\npidfile /var/run/redis_6379.pid\nloglevel notice\ndatabases 16\ndir /var/lib/redis\n"), 0o640);
    h.put("/etc/fstab", if o.v2 { FSTAB_D12 } else { FSTAB_C7 }, 0o644);
    let svcs: &[&str] = if o.v2 {
        &["chrony", "nfs-server", "postgresql", "redis-server"]
    } else {
        &["chronyd", "nfs-server", "postgresql-9.6", "redis", "rpcbind"]
    };
    h.facts = facts("store-1", n.store, n.prefix, os, svcs);
    h
}

fn subnet_of(n: &Net) -> String {
    let mut parts: Vec<&str> = n.store.split('.').collect();
    parts[3] = "0";
    parts.join(".")
}

fn db_password() -> String {
    rand("db-password", 20)
}

fn redis_password(o: Options) -> String {
    if o.guide_flaws && !o.v2 {
        String::new()
    } else {
        rand("redis", 24)
    }
}

fn node(n: &Net, o: Options, addr: &str, seed: &str) -> Host {
    let mut h = Host::default();
    let dir = "/usr/local/harbor";
    let v = if o.v2 { "2.11.1" } else { "1.10.2" };
    h.put(
        &format!("{dir}/harbor.yml"),
        if o.v2 { harbor_yml_211(n, o, addr) } else { harbor_yml_110(n, o, addr) },
        0o644,
    );
    h.put(&format!("{dir}/docker-compose.yml"), compose(v, o.v2), 0o644);
    let cfg = format!("{dir}/common/config");
    let ext = if o.guide_flaws { format!("http://{addr}") } else { n.url.to_string() };
    let core_secret = rand(&format!("{seed}-core"), 16);
    let js_secret = rand(&format!("{seed}-jobservice"), 16);
    let redis_pw = redis_password(o);
    let auth = if redis_pw.is_empty() { String::new() } else { format!("anonymous:{redis_pw}@") };
    let db_user = if o.guide_flaws && !o.v2 { "postgres" } else { "harbor" };
    if o.v2 {
        let rhost = format!("{}:6379", n.store);
        let core_env = format!(
            "CONFIG_PATH=/etc/core/app.conf\nUAA_CA_ROOT=/etc/core/certificates/uaa_ca.pem\n_REDIS_URL_CORE=redis://{auth}{rhost}?idle_timeout_seconds=30\nSYNC_QUOTA=true\n_REDIS_URL_REG=redis://{auth}{rhost}/1?idle_timeout_seconds=30\n\nLOG_LEVEL=info\nEXT_ENDPOINT={ext}\nDATABASE_TYPE=postgresql\nPOSTGRESQL_HOST={store}\nPOSTGRESQL_PORT=5432\nPOSTGRESQL_USERNAME={db_user}\nPOSTGRESQL_PASSWORD={dbpw}\nPOSTGRESQL_DATABASE=registry\nPOSTGRESQL_SSLMODE=disable\nPOSTGRESQL_MAX_IDLE_CONNS=50\nPOSTGRESQL_MAX_OPEN_CONNS=100\nPOSTGRESQL_CONN_MAX_LIFETIME=5m\nPOSTGRESQL_CONN_MAX_IDLE_TIME=0\nREGISTRY_URL=http://registry:5000\nPORTAL_URL=http://portal:8080\nTOKEN_SERVICE_URL=http://core:8080/service/token\nHARBOR_ADMIN_PASSWORD=Harbor12345\nMAX_JOB_WORKERS=10\nCORE_SECRET={core_secret}\nJOBSERVICE_SECRET={js_secret}\nWITH_TRIVY=True\nCORE_URL=http://core:8080\nCORE_LOCAL_URL=http://127.0.0.1:8080\nJOBSERVICE_URL=http://jobservice:8080\nTRIVY_ADAPTER_URL=http://trivy-adapter:8080\nREGISTRY_STORAGE_PROVIDER_NAME=filesystem\nREAD_ONLY=false\nRELOAD_KEY=\nREGISTRY_CONTROLLER_URL=http://registryctl:8080\nREGISTRY_CREDENTIAL_USERNAME=harbor_registry_user\nREGISTRY_CREDENTIAL_PASSWORD={regpw}\nCSRF_KEY={csrf}\nROBOT_SCANNER_NAME_PREFIX={prefix}\nPERMITTED_REGISTRY_TYPES_FOR_PROXY_CACHE=docker-hub,harbor,azure-acr,aws-ecr,google-gcr,quay,docker-registry,github-ghcr,jfrog-artifactory\n\nHTTP_PROXY=\nHTTPS_PROXY=\nNO_PROXY=core,log,registryctl,portal,postgresql,trivy-adapter,jobservice,registry,db,redis,exporter,localhost,127.0.0.1,.local,.internal,nginx\n\nPORT=8080\n\n",
            store = n.store,
            dbpw = db_password(),
            regpw = rand(&format!("{seed}-registry"), 32),
            csrf = rand(&format!("{seed}-csrf"), 32),
            prefix = rand(&format!("{seed}-prefix"), 8),
        );
        h.put(&format!("{cfg}/core/env"), core_env, 0o600);
        h.put(
            &format!("{cfg}/core/app.conf"),
            "appname = Harbor\nrunmode = prod\nenablegzip = true\n\n[prod]\nhttpport = 8080\n",
            0o600,
        );
        h.put(
            &format!("{cfg}/jobservice/env"),
            format!("CORE_SECRET={core_secret}\nREGISTRY_URL=http://registry:5000\nJOBSERVICE_SECRET={js_secret}\nCORE_URL=http://core:8080\nREGISTRY_CONTROLLER_URL=http://registryctl:8080\nJOBSERVICE_WEBHOOK_JOB_MAX_RETRY=3\nJOBSERVICE_WEBHOOK_JOB_HTTP_CLIENT_TIMEOUT=3\n\n\nHTTP_PROXY=\nHTTPS_PROXY=\nNO_PROXY=core,log,registryctl,portal,postgresql,trivy-adapter,jobservice,registry,db,redis,exporter,localhost,127.0.0.1,.local,.internal,nginx\nREGISTRY_CREDENTIAL_USERNAME=harbor_registry_user\nREGISTRY_CREDENTIAL_PASSWORD={}\n\n\n", rand(&format!("{seed}-registry"), 32)),
            0o600,
        );
        h.put(
            &format!("{cfg}/jobservice/config.yml"),
            format!("---\n#Protocol used to serve\nprotocol: \"http\"\n\n#Server listening port\nport: 8080\n\n#Worker pool\nworker_pool:\n  #Worker concurrency\n  workers: 10\n  backend: \"redis\"\n  #Additional config if use 'redis' backend\n  redis_pool:\n    #redis://[arbitrary_username:password@]ipaddress:port/database_index\n    redis_url: redis://{auth}{rhost}/2?idle_timeout_seconds=30\n    namespace: \"harbor_job_service_namespace\"\n    idle_timeout_second: 3600\n#Loggers for the running job\njob_loggers:\n  # The jobLoggers backend name, only support \"STD_OUTPUT\", \"FILE\" and/or \"DB\"\n  - name: \"STD_OUTPUT\"\n    level: \"INFO\" # INFO/DEBUG/WARNING/ERROR/FATAL\n  - name: \"FILE\"\n    level: \"INFO\"\n    settings: # Customized settings of logger\n      base_dir: \"/var/log/jobs\"\n    sweeper:\n      duration: 1 #days\n      settings: # Customized settings of sweeper\n        work_dir: \"/var/log/jobs\"\n\n#Loggers for the job service\nloggers:\n  - name: \"STD_OUTPUT\" # Same with above\n    level: \"INFO\"\n\nreaper:\n  max_update_hours: 24\n  max_dangling_hours: 168\n\nmax_retrieve_size_mb: 10\n"),
            0o600,
        );
        h.put(
            &format!("{cfg}/registry/config.yml"),
            format!("version: 0.1\nlog:\n  level: info\n  fields:\n    service: registry\nstorage:\n  cache:\n    layerinfo: redis\n  filesystem:\n    rootdirectory: /storage\n  maintenance:\n    uploadpurging:\n      enabled: true\n      age: 168h\n      interval: 24h\n      dryrun: false\n  delete:\n    enabled: true\nredis:\n  addr: {rhost}\n  readtimeout: 10s\n  writetimeout: 10s\n  dialtimeout: 10s\n  password: {redis_pw}\n  db: 1\n  pool:\n    maxidle: 100\n    maxactive: 500\n    idletimeout: 60s\nhttp:\n  addr: :5000\n  secret: placeholder\n  debug:\n    addr: localhost:5001\nauth:\n  htpasswd:\n    realm: harbor-registry-basic-realm\n    path: /etc/registry/passwd\nvalidation:\n  disabled: true\ncompatibility:\n  schema1:\n    enabled: true\n"),
            0o600,
        );
        h.put(
            &format!("{cfg}/registry/passwd"),
            format!("harbor_registry_user:$2y$05${}\n", rand(&format!("{seed}-bcrypt"), 53)),
            0o600,
        );
        h.put(
            &format!("{cfg}/registryctl/env"),
            format!("CORE_SECRET={core_secret}\nJOBSERVICE_SECRET={js_secret}\n"),
            0o600,
        );
        h.put(
            &format!("{cfg}/registryctl/config.yml"),
            "---\nprotocol: \"http\"\nport: 8080\nlog_level: info\nregistry_config: \"/etc/registry/config.yml\"\n",
            0o600,
        );
        h.put(
            &format!("{cfg}/trivy-adapter/env"),
            format!("SCANNER_LOG_LEVEL=info\nSCANNER_REDIS_URL=redis://{auth}{rhost}/5?idle_timeout_seconds=30\nSCANNER_STORE_REDIS_URL=redis://{auth}{rhost}/5?idle_timeout_seconds=30\nSCANNER_STORE_REDIS_NAMESPACE=harbor.scanner.trivy:store\nSCANNER_JOB_QUEUE_REDIS_URL=redis://{auth}{rhost}/5?idle_timeout_seconds=30\nSCANNER_JOB_QUEUE_REDIS_NAMESPACE=harbor.scanner.trivy:job-queue\nSCANNER_TRIVY_CACHE_DIR=/home/scanner/.cache/trivy\nSCANNER_TRIVY_REPORTS_DIR=/home/scanner/.cache/reports\nSCANNER_TRIVY_VULN_TYPE=os,library\nSCANNER_TRIVY_SEVERITY=UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL\nSCANNER_TRIVY_IGNORE_UNFIXED=False\nSCANNER_TRIVY_SKIP_UPDATE=False\nSCANNER_TRIVY_SKIP_JAVA_DB_UPDATE=False\nSCANNER_TRIVY_OFFLINE_SCAN=False\nSCANNER_TRIVY_SECURITY_CHECKS=vuln\nSCANNER_TRIVY_GITHUB_TOKEN=\nSCANNER_TRIVY_INSECURE=False\nSCANNER_TRIVY_TIMEOUT=5m0s\nHTTP_PROXY=\nHTTPS_PROXY=\nNO_PROXY=core,log,registryctl,portal,postgresql,trivy-adapter,jobservice,registry,db,redis,exporter,localhost,127.0.0.1,.local,.internal,nginx\n"),
            0o600,
        );
    } else {
        let redis_url = if redis_pw.is_empty() {
            format!("{}:6379,100,", n.store)
        } else {
            format!("{}:6379,100,{redis_pw}", n.store)
        };
        let core_env = format!(
            "CONFIG_PATH=/etc/core/app.conf\nUAA_CA_ROOT=/etc/core/certificates/uaa_ca.pem\n_REDIS_URL={redis_url}\nSYNC_REGISTRY=false\nSYNC_QUOTA=true\nCHART_CACHE_DRIVER=redis\n_REDIS_URL_REG=redis://{auth}{store}:6379/1\n\nPORT=8080\nLOG_LEVEL=info\nEXT_ENDPOINT={ext}\nDATABASE_TYPE=postgresql\nPOSTGRESQL_HOST={store}\nPOSTGRESQL_PORT=5432\nPOSTGRESQL_USERNAME={db_user}\nPOSTGRESQL_PASSWORD={dbpw}\nPOSTGRESQL_DATABASE=registry\nPOSTGRESQL_SSLMODE=disable\nPOSTGRESQL_MAX_IDLE_CONNS=2\nPOSTGRESQL_MAX_OPEN_CONNS=0\nREGISTRY_URL=http://registry:5000\nTOKEN_SERVICE_URL=http://core:8080/service/token\nHARBOR_ADMIN_PASSWORD=Harbor12345\nMAX_JOB_WORKERS=10\nCORE_SECRET={core_secret}\nJOBSERVICE_SECRET={js_secret}\nADMIRAL_URL=\nWITH_NOTARY=False\nWITH_CLAIR=False\nCLAIR_DB_PASSWORD={dbpw}\nCLAIR_DB_HOST=postgresql\nCLAIR_DB_PORT=5432\nCLAIR_DB_USERNAME=postgres\nCLAIR_DB=postgres\nCLAIR_DB_SSLMODE=disable\nCORE_URL=http://core:8080\nCORE_LOCAL_URL=http://127.0.0.1:8080\nJOBSERVICE_URL=http://jobservice:8080\nCLAIR_URL=http://clair:6060\nCLAIR_ADAPTER_URL=http://clair-adapter:8080\nNOTARY_URL=http://notary-server:4443\nREGISTRY_STORAGE_PROVIDER_NAME=filesystem\nREAD_ONLY=false\nRELOAD_KEY=\nCHART_REPOSITORY_URL=http://chartmuseum:9999\nREGISTRY_CONTROLLER_URL=http://registryctl:8080\nWITH_CHARTMUSEUM=False\n\nHTTP_PROXY=\nHTTPS_PROXY=\nNO_PROXY=core,log,registryctl,portal,postgresql,jobservice,registry,redis,localhost,127.0.0.1,.local,.internal,nginx\n",
            store = n.store,
            dbpw = db_password(),
        );
        h.put(&format!("{cfg}/core/env"), core_env, 0o600);
        h.put(
            &format!("{cfg}/core/app.conf"),
            format!("appname = Harbor\nrunmode = dev\nenablegzip = true\n\n[dev]\nhttpport = 8080\nEnableXSRF = true\nXSRFKey = {}\nXSRFExpire = 3600\n", rand(&format!("{seed}-xsrf"), 40)),
            0o600,
        );
        h.put(
            &format!("{cfg}/jobservice/env"),
            format!("CORE_SECRET={core_secret}\nJOBSERVICE_SECRET={js_secret}\nCORE_URL=http://core:8080\nJOBSERVICE_WEBHOOK_JOB_MAX_RETRY=10\n\nHTTP_PROXY=\nHTTPS_PROXY=\nNO_PROXY=core,log,registryctl,portal,postgresql,jobservice,registry,redis,localhost,127.0.0.1,.local,.internal,nginx\n"),
            0o600,
        );
        h.put(
            &format!("{cfg}/jobservice/config.yml"),
            format!("---\n#Protocol used to serve\nprotocol: \"http\"\n\n#Config certification if use 'https' protocol\n#https_config:\n#  cert: \"server.crt\"\n#  key: \"server.key\"\n\n#Server listening port\nport: 8080\n\n#Worker pool\nworker_pool:\n  #Worker concurrency\n  workers: 10\n  backend: \"redis\"\n  #Additional config if use 'redis' backend\n  redis_pool:\n    #redis://[arbitrary_username:password@]ipaddress:port/database_index\n    redis_url: redis://{auth}{}:6379/2\n    namespace: \"harbor_job_service_namespace\"\n    idle_timeout_second: 3600\n#Loggers for the running job\njob_loggers:\n  - name: \"STD_OUTPUT\" # logger backend name, only support \"FILE\" and \"STD_OUTPUT\"\n    level: \"INFO\" # INFO/DEBUG/WARNING/ERROR/FATAL\n  - name: \"FILE\"\n    level: \"INFO\"\n    settings: # Customized settings of logger\n      base_dir: \"/var/log/jobs\"\n    sweeper:\n      duration: 1 #days\n      settings: # Customized settings of sweeper\n        work_dir: \"/var/log/jobs\"\n\n#Loggers for the job service\nloggers:\n  - name: \"STD_OUTPUT\" # Same with above\n    level: \"INFO\"\n", n.store),
            0o600,
        );
        h.put(
            &format!("{cfg}/registry/config.yml"),
            format!("version: 0.1\nlog:\n  level: info\n  fields:\n    service: registry\nstorage:\n  cache:\n    layerinfo: redis\n  filesystem:\n    rootdirectory: /storage\n  maintenance:\n    uploadpurging:\n      enabled: false\n  delete:\n    enabled: true\nredis:\n  addr: {}:6379\n  password: {redis_pw}\n  db: 1\nhttp:\n  addr: :5000\n  secret: placeholder\n  debug:\n    addr: localhost:5001\nauth:\n  token:\n    issuer: harbor-token-issuer\n    realm: {ext}/service/token\n    rootcertbundle: /etc/registry/root.crt\n    service: harbor-registry\nvalidation:\n  disabled: true\nnotifications:\n  endpoints:\n  - name: harbor\n    disabled: false\n    url: http://core:8080/service/notifications\n    timeout: 3000ms\n    threshold: 5\n    backoff: 1s\ncompatibility:\n  schema1:\n    enabled: true\n", n.store),
            0o600,
        );
        h.put(
            &format!("{cfg}/registryctl/env"),
            format!("CORE_SECRET={core_secret}\nJOBSERVICE_SECRET={js_secret}\n\n"),
            0o600,
        );
        h.put(&format!("{cfg}/registryctl/config.yml"), "---\nprotocol: \"http\"\nport: 8080\nlog_level: \"INFO\"\n\n#https_config:\n#  cert: \"server.crt\"\n#  key: \"server.key\"\n", 0o600);
    }
    h.put(&format!("{cfg}/log/logrotate.conf"), "/var/log/docker/*.log {\n    rotate 50\n    size 200M\n    copytruncate\n    compress\n    missingok\n    nodateext\n}\n", 0o600);
    h.put(&format!("{cfg}/nginx/nginx.conf"), "worker_processes auto;\npid /tmp/nginx.pid;\n\nevents {\n  worker_connections 1024;\n  use epoll;\n  multi_accept on;\n}\n\nhttp {\n  tcp_nodelay on;\n\n  upstream core {\n    server core:8080;\n  }\n\n  upstream portal {\n    server portal:8080;\n  }\n\n  server {\n    listen 8080;\n    server_tokens off;\n    client_max_body_size 0;\n\n    location / {\n      proxy_pass http://portal/;\n    }\n\n    location /v2/ {\n      proxy_pass http://core/v2/;\n      proxy_buffering off;\n      proxy_request_buffering off;\n    }\n  }\n}\n", 0o644);
    // The keys are on the NFS data volume: one file for every node.
    h.put("/data/secret/keys/secretkey", rand("secretkey", 16), 0o600);
    h.put(
        "/data/secret/core/private_key.pem",
        format!("-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n", rand("token-key", 64)),
        0o600,
    );
    h.put(
        "/data/secret/registry/root.crt",
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", rand("token-crt", 64)),
        0o600,
    );
    let export = if o.v2 { "/srv/nfs/harbor" } else { "/data/harbor_data" };
    let opts = if o.guide_flaws { "defaults" } else { "hard,nfsvers=4.1,_netdev" };
    let fstab = if o.v2 { FSTAB_D12 } else { FSTAB_C7 };
    h.put("/etc/fstab", format!("{fstab}{}:{export} /data nfs {opts} 0 0\n", n.store), 0o644);
    let name = n.nodes.iter().find(|x| x.1 == addr).map_or("harbor", |x| x.0);
    let mut f = facts(name, addr, n.prefix, if o.v2 { "debian12" } else { "centos7" }, &["chronyd", "docker"]);
    f.harbor_version = Some(v.to_string());
    f.images = images(v, o.v2);
    f.mounts = vec![Mount { source: format!("{}:{export}", n.store), target: "/data".into(), fstype: "nfs4".into() }];
    h.facts = f;
    h
}

fn images(v: &str, v2: bool) -> BTreeMap<String, String> {
    let mut c = vec![
        ("harbor-log", "harbor-log"),
        ("registry", "registry-photon"),
        ("registryctl", "harbor-registryctl"),
        ("harbor-core", "harbor-core"),
        ("harbor-portal", "harbor-portal"),
        ("harbor-jobservice", "harbor-jobservice"),
        ("nginx", "nginx-photon"),
    ];
    if v2 {
        c.push(("trivy-adapter", "trivy-adapter-photon"));
    }
    c.into_iter().map(|(n, i)| (n.to_string(), format!("goharbor/{i}:v{v}"))).collect()
}

/// docker-compose.yml as prepare writes it (the services, images and container names;
/// volumes and logging trimmed to what identifies them).
fn compose(v: &str, v2: bool) -> String {
    let mut s = String::from("version: '2.3'\nservices:\n");
    let mut svc = vec![
        ("log", "harbor-log", "harbor-log"),
        ("registry", "registry-photon", "registry"),
        ("registryctl", "harbor-registryctl", "registryctl"),
        ("core", "harbor-core", "harbor-core"),
        ("portal", "harbor-portal", "harbor-portal"),
        ("jobservice", "harbor-jobservice", "harbor-jobservice"),
        ("proxy", "nginx-photon", "nginx"),
    ];
    if v2 {
        svc.push(("trivy-adapter", "trivy-adapter-photon", "trivy-adapter"));
    }
    for (name, image, container) in svc {
        s.push_str(&format!(
            "  {name}:\n    image: goharbor/{image}:v{v}\n    container_name: {container}\n    restart: always\n    cap_drop:\n      - ALL\n    networks:\n      - harbor\n    dns_search: .\n    logging:\n      driver: \"syslog\"\n      options:\n        syslog-address: \"tcp://localhost:1514\"\n        tag: \"{name}\"\n"
        ));
        if name == "proxy" {
            s.push_str("    ports:\n      - 80:8080\n");
        }
    }
    s.push_str("networks:\n  harbor:\n    external: false\n");
    s
}

fn harbor_yml_110(n: &Net, o: Options, addr: &str) -> String {
    let ext = if o.guide_flaws {
        "# external_url: https://reg.mydomain.com:8433".to_string()
    } else {
        format!("external_url: {}", n.url)
    };
    let (user, pool) = if o.guide_flaws { ("postgres", (2, 0)) } else { ("harbor", (50, 100)) };
    let redis_pw = redis_password(o);
    format!(
        "# Configuration file of Harbor

# The IP address or hostname to access admin UI and registry service.
# DO NOT use localhost or 127.0.0.1, because Harbor needs to be accessed by external clients.
hostname: {addr}

# http related config
http:
  # port for http, default is 80. If https enabled, this port will redirect to https port
  port: 80

# https related config
# https:
#   # https port for harbor, default is 443
#   port: 443
#   # The path of cert and key files for nginx
#   certificate: /your/certificate/path
#   private_key: /your/private/key/path

# Uncomment external_url if you want to enable external proxy
# And when it enabled the hostname will no longer used
{ext}

# The initial password of Harbor admin
# It only works in first time to install harbor
# Remember Change the admin password from UI after launching Harbor.
harbor_admin_password: Harbor12345

# Harbor DB configuration
# database:
#   password: root123
#   max_idle_conns: 50
#   max_open_conns: 100

# The default data volume
data_volume: /data

# Clair configuration
# clair:
#   updaters_interval: 12

jobservice:
  # Maximum number of job workers in job service
  max_job_workers: 10

notification:
  # Maximum retry count for webhook job
  webhook_job_max_retry: 10

chart:
  # Change the value of absolute_url to enabled can enable absolute url in chart
  absolute_url: disabled

# Log configurations
log:
  # options are debug, info, warning, error, fatal
  level: info
  # configs for logs in local storage
  local:
    rotate_count: 50
    rotate_size: 200M
    location: /var/log/harbor

#This attribute is for migrator to detect the version of the .cfg file, DO NOT MODIFY!
_version: 1.10.0

# Uncomment external_database if using external database.
external_database:
  harbor:
    host: {store}
    port: 5432
    db_name: registry
    username: {user}
    password: {dbpw}
    ssl_mode: disable
    max_idle_conns: {idle}
    max_open_conns: {open}

# Uncomment external_redis if using external Redis server
external_redis:
  host: {store}
  port: 6379
  password: {redis_pw}
  # db_index 0 is for core, it's unchangeable
  registry_db_index: 1
  jobservice_db_index: 2
  chartmuseum_db_index: 3
  clair_db_index: 4

proxy:
  http_proxy:
  https_proxy:
  no_proxy:
  components:
    - core
    - jobservice
    - clair
",
        store = n.store,
        dbpw = db_password(),
        idle = pool.0,
        open = pool.1,
    )
}

fn harbor_yml_211(n: &Net, o: Options, addr: &str) -> String {
    let ext = if o.guide_flaws {
        "# external_url: https://reg.mydomain.com:8433".to_string()
    } else {
        format!("external_url: {}", n.url)
    };
    let pool = if o.guide_flaws { (2, 0) } else { (50, 100) };
    format!(
        "# Configuration file of Harbor

# The IP address or hostname to access admin UI and registry service.
# DO NOT use localhost or 127.0.0.1, because Harbor needs to be accessed by external clients.
hostname: {addr}

# http related config
http:
  # port for http, default is 80. If https enabled, this port will redirect to https port
  port: 80

# https related config
# https:
#   # https port for harbor, default is 443
#   port: 443
#   # The path of cert and key files for nginx
#   certificate: /your/certificate/path
#   private_key: /your/private/key/path
#   # enable strong ssl ciphers (default: false)
#   # strong_ssl_ciphers: false

# Uncomment external_url if you want to enable external proxy
# And when it enabled the hostname will no longer used
{ext}

# The initial password of Harbor admin
# It only works in first time to install harbor
# Remember Change the admin password from UI after launching Harbor.
harbor_admin_password: Harbor12345

# Harbor DB configuration
database:
  # The password for the user('postgres' by default) of Harbor DB. Change this before any production use.
  password: root123
  # The maximum number of connections in the idle connection pool. If it <=0, no idle connections are retained.
  max_idle_conns: 100
  # The maximum number of open connections to the database. If it <= 0, then there is no limit on the number of open connections.
  # Note: the default number of connections is 1024 for postgres of harbor.
  max_open_conns: 900
  # The maximum amount of time a connection may be reused. Expired connections may be closed lazily before reuse. If it <= 0, connections are not closed due to a connection's age.
  # The value is a duration string. A duration string is a possibly signed sequence of decimal numbers, each with optional fraction and a unit suffix, such as \"300ms\", \"-1.5h\" or \"2h45m\". Valid time units are \"ns\", \"us\" (or \"µs\"), \"ms\", \"s\", \"m\", \"h\".
  conn_max_lifetime: 5m
  # The maximum amount of time a connection may be idle. Expired connections may be closed lazily before reuse. If it <= 0, connections are not closed due to a connection's idle time.
  # The value is a duration string. A duration string is a possibly signed sequence of decimal numbers, each with optional fraction and a unit suffix, such as \"300ms\", \"-1.5h\" or \"2h45m\". Valid time units are \"ns\", \"us\" (or \"µs\"), \"ms\", \"s\", \"m\", \"h\".
  conn_max_idle_time: 0

# The default data volume
data_volume: /data

# Trivy configuration
trivy:
  # ignoreUnfixed The flag to display only fixed vulnerabilities
  ignore_unfixed: false
  # skipUpdate The flag to enable or disable Trivy DB downloads from GitHub
  skip_update: false
  # skipJavaDBUpdate If the flag is enabled you have to manually download the `trivy-java.db` file and mount it in the
  # `/home/scanner/.cache/trivy/java-db/trivy-java.db` path
  skip_java_db_update: false
  #
  # The offline_scan option prevents Trivy from sending API requests to identify dependencies.
  offline_scan: false
  #
  # Comma-separated list of what security issues to detect. Possible values are `vuln`, `config` and `secret`. Defaults to `vuln`.
  security_check: vuln
  #
  # insecure The flag to skip verifying registry certificate
  insecure: false
  #
  # timeout The duration to wait for scan completion.
  # There is upper bound of 30 minutes defined in scan job. So if this `timeout` is larger than 30m0s, it will also timeout at 30m0s.
  timeout: 5m0s
  #
  # github_token The GitHub access token to download Trivy DB
  # github_token: xxx

jobservice:
  # Maximum number of job workers in job service
  max_job_workers: 10
  # The jobLoggers backend name, only support \"STD_OUTPUT\", \"FILE\" and/or \"DB\"
  job_loggers:
    - STD_OUTPUT
    - FILE
    # - DB
  # The jobLogger sweeper duration (ignored if `jobLogger` is `stdout`)
  logger_sweeper_duration: 1 #days

notification:
  # Maximum retry count for webhook job
  webhook_job_max_retry: 3
  # HTTP client timeout for webhook job
  webhook_job_http_client_timeout: 3 #seconds

# Log configurations
log:
  # options are debug, info, warning, error, fatal
  level: info
  # configs for logs in local storage
  local:
    # Log files are rotated log_rotate_count times before being removed. If count is 0, old versions are removed rather than rotated.
    rotate_count: 50
    # Log files are rotated only if they grow bigger than log_rotate_size bytes. If size is followed by k, the size is assumed to be in kilobytes.
    # If the M is used, the size is in megabytes, and if G is used, the size is in gigabytes. So size 100, size 100k, size 100M and size 100G
    # are all valid.
    rotate_size: 200M
    # The directory on your host that store log
    location: /var/log/harbor

#This attribute is for migrator to detect the version of the .cfg file, DO NOT MODIFY!
_version: 2.11.0

# Uncomment external_database if using external database.
external_database:
  harbor:
    host: {store}
    port: 5432
    db_name: registry
    username: harbor
    password: {dbpw}
    ssl_mode: disable
    max_idle_conns: {idle}
    max_open_conns: {open}
    conn_max_lifetime: 5m
    conn_max_idle_time: 0

# Uncomment external_redis if using external Redis server
external_redis:
  # support redis, redis+sentinel
  # host for redis: <host_redis>:<port_redis>
  # host for redis+sentinel:
  #  <host_sentinel1>:<port_sentinel1>,<host_sentinel2>:<port_sentinel2>,<host_sentinel3>:<port_sentinel3>
  host: {store}:6379
  password: {redis_pw}
  # Redis AUTH command was extended in Redis 6, it is possible to use it in the two-arguments AUTH <username> <password> form.
  # there's a known issue when using external redis username ref:https://github.com/goharbor/harbor/issues/18892
  # if you care about the image pull/push performance, please refer to this https://github.com/goharbor/harbor/wiki/Harbor-FAQs#external-redis-username-password-usage
  # username:
  # sentinel_master_set must be set to support redis+sentinel
  #sentinel_master_set:
  # db_index 0 is for core, it's unchangeable
  registry_db_index: 1
  jobservice_db_index: 2
  trivy_db_index: 5
  idle_timeout_seconds: 30

# Global proxy
# Config http proxy for components, e.g. http://my.proxy.com:3128
# Components doesn't need to connect to each others via http proxy.
# Remove component from `components` array if want disable proxy
# for it. If you want use proxy for replication, MUST enable proxy
# for core and jobservice, and set `http_proxy` and `https_proxy`.
# Add domain to the `no_proxy` field, when you want disable proxy
# for some special registry.
proxy:
  http_proxy:
  https_proxy:
  no_proxy:
  components:
    - core
    - jobservice
    - trivy

# Enable purge _upload directories
upload_purging:
  enabled: true
  # remove files in _upload directories which exist for a period of time, default is one week.
  age: 168h
  # the interval of the purge operations
  interval: 24h
  dryrun: false

# Cache layer configurations
# If this feature enabled, harbor will cache the resource
# `project/project_metadata/repository/artifact/manifest` in the redis
# which can especially help to improve the performance of high concurrent
# manifest pulling.
# NOTICE
# If you are deploying Harbor in HA mode, make sure that all the harbor
# instances have the same behaviour, all with caching enabled or disabled,
# otherwise it can lead to potential data inconsistency.
cache:
  # not enabled by default
  enabled: false
  # keep cache for one day by default
  expire_hours: 24
",
        store = n.store,
        dbpw = db_password(),
        redis_pw = rand("redis", 24),
        idle = pool.0,
        open = pool.1,
    )
}

fn lb(n: &Net, o: Options, addr: &str, i: usize) -> Host {
    let mut h = Host::default();
    let upstream: String = n.nodes.iter().map(|(_, a)| format!("    server {a}:80;\n")).collect();
    let (conf, crt, key, os) = if o.v2 {
        ("/etc/nginx/conf.d/harbor.conf", "/etc/ssl/certs/registry.crt", "/etc/ssl/private/registry.key", "debian12")
    } else {
        (
            "/etc/nginx/conf.d/harbor.example.com.conf",
            "/etc/nginx/ssl/harbor.example.com.crt",
            "/etc/nginx/ssl/harbor.example.com.key",
            "centos7",
        )
    };
    let sn = n.server_name;
    h.put(
        conf,
        format!(
            "upstream harbor {{\n    ip_hash;\n{upstream}}}\nserver {{\n    listen 80;\n    server_name {sn};\n    rewrite ^(.*) https://$server_name$1 permanent;\n}}\nserver {{\n    listen 443 ssl;\n    server_name {sn};\n    ssl_certificate {crt};\n    ssl_certificate_key {key};\n    client_max_body_size 0;\n    location / {{\n        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n        proxy_set_header X-Forwarded-Proto https;\n        proxy_pass http://harbor;\n    }}\n    location /v2/ {{\n        proxy_pass http://harbor/v2/;\n        proxy_set_header X-Real-IP $remote_addr;\n        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n        proxy_set_header X-Forwarded-Proto $scheme;\n        proxy_buffering off;\n        proxy_request_buffering off;\n    }}\n}}\n"
        ),
        0o644,
    );
    h.put(
        "/etc/nginx/nginx.conf",
        "user nginx;\nworker_processes auto;\nerror_log /var/log/nginx/error.log;\npid /run/nginx.pid;\n\nevents {\n    worker_connections 1024;\n}\n\nhttp {\n    log_format  main  '$remote_addr - $remote_user [$time_local] \"$request\" '\n                      '$status $body_bytes_sent \"$http_referer\" '\n                      '\"$http_user_agent\" \"$http_x_forwarded_for\"';\n    access_log  /var/log/nginx/access.log  main;\n    sendfile            on;\n    keepalive_timeout   65;\n    include             /etc/nginx/mime.types;\n    default_type        application/octet-stream;\n    include /etc/nginx/conf.d/*.conf;\n\n    server {\n        listen       80 default_server;\n        server_name  _;\n        root         /usr/share/nginx/html;\n        location / {\n        }\n    }\n}\n",
        0o644,
    );
    h.put(crt, format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", rand("lb-cert", 64)), 0o644);
    h.put(key, format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", rand("lb-key", 64)), 0o600);
    let mut addrs = vec![format!("{addr}/{}", n.prefix)];
    if let Some(vip) = n.vip {
        let (state, prio) = if i == 0 { ("MASTER", 150) } else { ("BACKUP", 100) };
        h.put(
            "/etc/keepalived/keepalived.conf",
            format!("! Configuration File for keepalived\n\nglobal_defs {{\n   router_id LVS_{i}\n}}\n\nvrrp_script chk_nginx {{\n    script \"/usr/bin/pgrep nginx\"\n    interval 2\n}}\n\nvrrp_instance VI_1 {{\n    state {state}\n    interface eth0\n    virtual_router_id 51\n    priority {prio}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass {}\n    }}\n    virtual_ipaddress {{\n        {vip}/{}\n    }}\n    track_script {{\n        chk_nginx\n    }}\n}}\n", rand("vrrp", 8), n.prefix),
            0o644,
        );
        if i == 0 {
            addrs.push(format!("{vip}/{}", n.prefix));
        }
    }
    let name = n.lbs[i].0;
    let mut f = facts(
        name,
        addr,
        n.prefix,
        os,
        if n.vip.is_some() { &["chrony", "keepalived", "nginx"] } else { &["chronyd", "nginx"] },
    );
    f.addresses = addrs;
    h.facts = f;
    h
}

/// The site without the files no rule fixture needs (the fixtures under fixtures/rules/AU*
/// stay small): Harbor's internal nginx, log, registryctl, jobservice and trivy configs.
pub fn trimmed(mut site: Site) -> Site {
    for h in site.values_mut() {
        h.files.retain(|p, _| {
            let kept =
                ["core/env", "core/app.conf", "registry/config.yml", "jobservice/env"].iter().any(|k| p.ends_with(k));
            (kept || !p.contains("/common/config/")) && p != "/etc/nginx/nginx.conf"
        });
    }
    site
}

/// Write `site` as collect.sh would: `dir/<host>/files/…` (secret-bearing files redacted or
/// as `.sha256`) and `dir/<host>/facts.json`, with `note` in `dir/README`.
pub fn write(site: &Site, dir: &std::path::Path, note: &str) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("README"), note).unwrap();
    for (name, h) in &tree(site).hosts {
        for (p, f) in &h.files {
            let target = dir.join(name).join("files").join(p.trim_start_matches('/'));
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(&target, &f.content).unwrap();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(f.mode)).unwrap();
        }
        std::fs::write(dir.join(name).join("facts.json"), h.facts.as_ref().unwrap()).unwrap();
    }
}

/// Read a tree written by [`write`] (or collect.sh) back.
pub fn read(dir: &std::path::Path) -> CollectedTree {
    use std::os::unix::fs::PermissionsExt;
    fn walk(base: &std::path::Path, d: &std::path::Path, h: &mut HostTree) {
        let mut entries: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(base, &p, h);
            } else {
                let rel = format!("/{}", p.strip_prefix(base).unwrap().display());
                let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
                h.insert(&rel, std::fs::read(&p).unwrap(), mode);
            }
        }
    }
    let mut t = CollectedTree::default();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if !p.is_dir() {
            continue;
        }
        let mut h = HostTree::default();
        if p.join("files").is_dir() {
            walk(&p.join("files"), &p.join("files"), &mut h);
        }
        h.facts = std::fs::read(p.join("facts.json")).ok();
        t.hosts.insert(p.file_name().unwrap().to_string_lossy().into_owned(), h);
    }
    t
}
