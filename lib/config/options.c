/*
 * The option table. Keep rows grouped by YAML section (all "server.*" rows
 * together, and so on): the YAML writer relies on it, and a unit test checks
 * it. docs/configuration.md documents every row; a unit test checks that too.
 */
#include <stddef.h>

#include "config/config.h"

#define OPT(k, t, field, d, c, h)                                            \
    {k, TR_CONFIG_##t, offsetof(struct tr_config, field), d, c, h, false}
#define SECRET(k, field, h)                                                  \
    {k, TR_CONFIG_STRING, offsetof(struct tr_config, field), "", NULL, h, true}

const struct tr_config_option tr_config_options[] = {
    OPT("target", STRING, target, "all", NULL,
        "Roles to run: all, write (distributor+ingester), read "
        "(query-frontend+querier), backend (compactor), or a comma list of "
        "role names."),

    OPT("server.http_listen_address", STRING, server.http_listen_address,
        "0.0.0.0", NULL, "Address the HTTP API listens on."),
    OPT("server.http_listen_port", INT, server.http_listen_port, "3100", NULL,
        "Port of the HTTP API (Prometheus, Loki, Tempo APIs and operations "
        "endpoints). 0 picks a free port."),
    OPT("server.http_threads", INT, server.http_threads, "0", NULL,
        "HTTP worker threads; 0 means one per CPU core."),
    OPT("server.http_max_request_bytes", INT, server.http_max_request_bytes,
        "104857600", NULL,
        "Largest request body accepted as sent (413 beyond it)."),
    OPT("server.http_max_decoded_bytes", INT, server.http_max_decoded_bytes,
        "524288000", NULL,
        "Largest request body accepted after decompression (413 beyond it)."),
    OPT("server.otlp_http_listen_port", INT, server.otlp_http_listen_port,
        "4318", NULL, "Port of OTLP/HTTP (/v1/metrics, /v1/logs, /v1/traces). "
        "0 picks a free port; -1 disables it."),
    OPT("server.otlp_grpc_listen_port", INT, server.otlp_grpc_listen_port,
        "4317", NULL, "Port of OTLP/gRPC. Reserved: OTLP/gRPC is not served "
        "yet (use OTLP/HTTP); nothing listens on it."),
    OPT("server.rpc_listen_address", STRING, server.rpc_listen_address,
        "0.0.0.0", NULL, "Address the internal RPC (ZeroMQ) listens on."),
    OPT("server.rpc_listen_port", INT, server.rpc_listen_port, "9095", NULL,
        "Port of the internal RPC between roles. 0 picks a free port."),
    OPT("server.rpc_threads", INT, server.rpc_threads, "4", NULL,
        "Worker threads serving internal RPC requests."),
    OPT("server.log_level", STRING, server.log_level, "info",
        "debug|info|warn|error", "Lowest level of log lines written."),
    OPT("server.shutdown_timeout", DURATION, server.shutdown_timeout_ns, "30s",
        NULL, "How long stopping all roles may take before the process "
        "exits anyway."),

    OPT("auth.enabled", BOOL, auth.enabled, "false", NULL,
        "Require X-Scope-OrgID on every request (401 without it)."),
    OPT("auth.no_auth_tenant", STRING, auth.no_auth_tenant, "anonymous", NULL,
        "Tenant used for requests when auth is disabled."),

    OPT("common.path_prefix", STRING, common.path_prefix, "data", NULL,
        "Directory under which local state (WAL, filesystem object store) "
        "lives unless set separately."),

    OPT("storage.backend", STRING, storage.backend, "filesystem",
        "filesystem|s3", "Object storage for blocks."),
    OPT("storage.filesystem.dir", STRING, storage.filesystem_dir, "", NULL,
        "Root directory of the filesystem object store; empty means "
        "<common.path_prefix>/objects."),
    OPT("storage.s3.endpoint", STRING, storage.s3_endpoint, "", NULL,
        "S3 endpoint as host:port (MinIO) or a URL."),
    OPT("storage.s3.bucket", STRING, storage.s3_bucket, "", NULL,
        "S3 bucket name."),
    OPT("storage.s3.region", STRING, storage.s3_region, "us-east-1", NULL,
        "S3 region used for request signing."),
    OPT("storage.s3.access_key_id", STRING, storage.s3_access_key_id, "", NULL,
        "S3 access key id."),
    SECRET("storage.s3.secret_access_key", storage.s3_secret_access_key,
           "S3 secret access key."),
    OPT("storage.s3.insecure", BOOL, storage.s3_insecure, "false", NULL,
        "Use plain HTTP instead of HTTPS to reach the endpoint."),
    OPT("storage.s3.force_path_style", BOOL, storage.s3_force_path_style,
        "true", NULL,
        "Address buckets as http://endpoint/bucket (MinIO) rather than as a "
        "virtual host."),
    OPT("storage.s3.part_size", INT, storage.s3_part_size, "16777216", NULL,
        "Multipart upload part size in bytes (at least 5 MiB); larger "
        "objects are uploaded in parts."),
    OPT("storage.s3.max_retries", INT, storage.s3_max_retries, "8", NULL,
        "Attempts for a request that fails with 5xx, 429 or a network "
        "error, with exponential back-off."),
    OPT("storage.s3.timeout", DURATION, storage.s3_timeout_ns, "60s", NULL,
        "Timeout of one S3 request attempt."),

    OPT("ingester_client.addresses", STRINGS, ingester_client.addresses, "",
        NULL, "RPC endpoints of the ingesters (tcp://host:port), used by "
        "distributors and queriers in a static cluster. Empty with the "
        "ingester role in the same process means that ingester."),
    OPT("ingester_client.timeout", DURATION, ingester_client.timeout_ns, "5s",
        NULL, "Deadline of one RPC to an ingester."),
    OPT("ingester_client.health_check_interval", DURATION,
        ingester_client.health_check_interval_ns, "5s", NULL,
        "How often each ingester is asked for its status; one that does not "
        "answer is marked UNHEALTHY and skipped by writers."),

    OPT("querier.timeout", DURATION, querier.timeout_ns, "2m", NULL,
        "Longest a query may run unless its timeout parameter says less "
        "(Prometheus -query.timeout); slower queries fail with 503 timeout."),
    OPT("querier.max_samples", INT, querier.max_samples, "50000000", NULL,
        "Most samples a query may hold in memory at once (Prometheus "
        "-query.max-samples); bigger queries fail with 422 execution."),
    OPT("querier.lookback_delta", DURATION, querier.lookback_delta_ns, "5m",
        NULL, "How far back an instant selector looks for a sample "
        "(Prometheus -query.lookback-delta)."),
    OPT("querier.default_evaluation_interval", DURATION,
        querier.default_evaluation_interval_ns, "1m", NULL,
        "Step of subqueries written without one (x[1h:])."),
    OPT("querier.block_list_refresh_interval", DURATION,
        querier.block_list_refresh_interval_ns, "1m", NULL,
        "How long a tenant's list of blocks in object storage is reused "
        "before it is listed again."),
    OPT("querier.block_cache_size", INT, querier.block_cache_size, "256",
        NULL, "Open blocks (their index tables) kept in memory."),

    OPT("query_frontend.querier_addresses", STRINGS,
        query_frontend.querier_addresses, "", NULL,
        "RPC endpoints of the queriers (tcp://host:port) the query-frontend "
        "sends work to, in turn. Empty with the querier role in the same "
        "process means that querier."),

    OPT("ingester.instance_id", STRING, ingester.instance_id, "", NULL,
        "Name of this ingester; empty means the host name."),
    OPT("ingester.wal_dir", STRING, ingester.wal_dir, "", NULL,
        "Directory of the write-ahead log; empty means "
        "<common.path_prefix>/wal."),
    OPT("ingester.wal_sync", STRING, ingester.wal_sync, "group",
        "always|group|interval",
        "When the WAL is synced to disk: every append (always), batched "
        "across concurrent appends (group), or on a timer (interval, which "
        "can lose the last interval on power loss)."),
    OPT("ingester.wal_sync_interval", DURATION, ingester.wal_sync_interval_ns,
        "100ms", NULL, "Sync period when wal_sync is interval."),
    OPT("ingester.wal_memtable_bytes", INT, ingester.wal_memtable_bytes,
        "8388608", NULL,
        "Memory the WAL keeps for recent records before writing them to its "
        "files (RocksDB memtable; two of them at most). Larger values mean "
        "fewer, larger WAL files and more memory."),
    OPT("ingester.block_duration", DURATION, ingester.block_duration_ns,
        "2h", NULL,
        "Time range of the blocks cut from the heads (aligned: [k*d, "
        "(k+1)*d)). A tenant's oldest complete range is cut once its head "
        "spans more than 1.5 times this."),
    OPT("ingester.cut_interval", DURATION, ingester.cut_interval_ns, "30s",
        NULL, "How often the heads are checked for blocks to cut (and the "
        "WAL truncated after them)."),
    OPT("ingester.retain_cut_data", DURATION, ingester.retain_cut_data_ns,
        "2m", NULL,
        "How long samples stay in the head after their block was uploaded, "
        "so queriers (which list blocks every "
        "querier.block_list_refresh_interval) always find them in one place "
        "or the other. Keep it above that interval."),
    OPT("ingester.flush_idle_timeout", DURATION,
        ingester.flush_idle_timeout_ns, "1h", NULL,
        "A tenant whose head received no sample for this long is flushed "
        "whole into blocks (so its WAL records can go). 0 disables it."),
    OPT("ingester.flush_on_shutdown", BOOL, ingester.flush_on_shutdown,
        "true", NULL,
        "Cut everything the heads hold into blocks when the ingester stops "
        "(the WAL keeps the data anyway; this hands it over to object "
        "storage)."),

    OPT("limits.ingestion_rate", INT, limits.ingestion_rate, "1000000", NULL,
        "Samples per second each tenant may push (a token bucket refilled "
        "at this rate); pushes beyond it get 429. 0 disables the limit."),
    OPT("limits.ingestion_burst_size", INT, limits.ingestion_burst_size,
        "2000000", NULL,
        "Samples a tenant may push at once above its rate (the bucket size); "
        "a single request larger than this is always refused."),
    OPT("limits.max_series_per_tenant", INT, limits.max_series_per_tenant,
        "1000000", NULL,
        "Series each tenant may have in an ingester's memory; samples of new "
        "series beyond it are refused with 429. 0 disables the limit."),
    OPT("limits.max_label_names_per_series", INT,
        limits.max_label_names_per_series, "30", NULL,
        "Labels a series may have, __name__ included (400 beyond it)."),
    OPT("limits.max_label_name_length", INT, limits.max_label_name_length,
        "1024", NULL, "Longest label name in bytes (400 beyond it)."),
    OPT("limits.max_label_value_length", INT, limits.max_label_value_length,
        "2048", NULL,
        "Longest label value in bytes, the metric name included (400 beyond "
        "it)."),
    OPT("limits.max_metadata_length", INT, limits.max_metadata_length, "1024",
        NULL, "Longest metric family name, help or unit of metric metadata; "
        "longer metadata is dropped with 400."),
    OPT("limits.creation_grace_period", DURATION,
        limits.creation_grace_period_ns, "10m", NULL,
        "How far in the future a sample's timestamp may be (400 beyond it)."),
    OPT("limits.reject_old_samples_max_age", DURATION,
        limits.reject_old_samples_max_age_ns, "1w", NULL,
        "Samples older than this are refused with 400; 0 disables the check "
        "(the ingester still refuses samples older than its last block)."),
    OPT("limits.max_exemplars_per_tenant", INT, limits.max_exemplars_per_tenant,
        "100000", NULL,
        "Exemplars each tenant keeps in an ingester's memory (the oldest are "
        "dropped first); 0 stores none."),

    OPT("compactor.retention_period", DURATION, compactor.retention_period_ns,
        "0s", NULL, "Delete metrics blocks that ended longer ago than this; "
        "0s keeps them forever."),
    OPT("compactor.interval", DURATION, compactor.interval_ns, "10m", NULL,
        "How often the compactor applies retention."),

    {NULL, 0, 0, NULL, NULL, NULL, false},
};
