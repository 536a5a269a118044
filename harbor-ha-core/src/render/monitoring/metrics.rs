//! Every metric name the alert rules and the dashboard use, with the program that exposes
//! it. Tests hold the rules and the dashboard to this list (a name not here is a typo or a
//! metric no exporter has), and the e2e suite checks the exporters' names against the real
//! programs: the node, PostgreSQL, Redis and nginx exporters and mtail of Debian 12, and the
//! textfile and query-file metrics the bundle itself defines.

/// Who exposes a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Prometheus itself, for every target (`up`).
    Prometheus,
    /// prometheus-node-exporter 1.5 (Debian 12).
    NodeExporter,
    /// The node exporter's textfile collector, from the bundle's LB state script.
    Textfile,
    /// prometheus-postgres-exporter 0.11 (Debian 12), built-in metrics.
    PostgresExporter,
    /// prometheus-postgres-exporter, from the bundle's query file.
    PostgresQueries,
    /// prometheus-redis-exporter 1.45 (Debian 12).
    RedisExporter,
    /// prometheus-nginx-exporter 0.11 (Debian 12), from nginx's stub_status.
    NginxExporter,
    /// mtail, from the bundle's program over the LB's access log.
    Mtail,
    /// Harbor core, `?comp=core` (src/lib/metric/collector.go, 2.2+).
    HarborCore,
    /// Harbor's registry (Docker Distribution), `?comp=registry`.
    HarborRegistry,
    /// Harbor's jobservice, `?comp=jobservice` (src/lib/metric/jobservice.go, 2.3+).
    HarborJobservice,
    /// Harbor's exporter (src/pkg/exporter/*.go; the task queue from 2.3).
    HarborExporter,
}

/// The metric names, each with its source.
pub const METRICS: &[(&str, Source)] = &[
    ("up", Source::Prometheus),
    ("node_filesystem_avail_bytes", Source::NodeExporter),
    ("node_filesystem_size_bytes", Source::NodeExporter),
    ("node_memory_MemTotal_bytes", Source::NodeExporter),
    ("node_cpu_seconds_total", Source::NodeExporter),
    ("harbor_ha_vip_held", Source::Textfile),
    ("harbor_ha_tls_cert_not_after_seconds", Source::Textfile),
    ("pg_up", Source::PostgresExporter),
    ("pg_settings_max_connections", Source::PostgresExporter),
    ("pg_stat_database_numbackends", Source::PostgresExporter),
    ("pg_harbor_ha_replication_is_replica", Source::PostgresQueries),
    ("pg_harbor_ha_replication_lag_seconds", Source::PostgresQueries),
    ("redis_instance_info", Source::RedisExporter),
    ("redis_memory_used_bytes", Source::RedisExporter),
    ("redis_memory_max_bytes", Source::RedisExporter),
    ("redis_connected_clients", Source::RedisExporter),
    ("redis_connected_slaves", Source::RedisExporter),
    ("nginx_connections_active", Source::NginxExporter),
    ("nginx_http_requests_total", Source::NginxExporter),
    ("harbor_ha_lb_responses_total", Source::Mtail),
    ("harbor_core_http_request_total", Source::HarborCore),
    ("registry_http_requests_total", Source::HarborRegistry),
    ("harbor_jobservice_task_total", Source::HarborJobservice),
    ("harbor_up", Source::HarborExporter),
    ("harbor_task_queue_size", Source::HarborExporter),
    ("harbor_task_queue_latency", Source::HarborExporter),
    ("harbor_project_total", Source::HarborExporter),
];

/// The source of `name`, if the list has it.
#[must_use]
pub fn source(name: &str) -> Option<Source> {
    METRICS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}
