/*
 * Trident's configuration: one struct, filled from defaults, then an
 * optional YAML file (-config.file), then command-line flags, in that order.
 *
 * Every option is one row of a declarative table (options.c): its YAML path
 * ("server.http_listen_port"), type, default, help and offsetof into struct
 * tr_config. The flag name is derived from the path by replacing '_' with
 * '-' ("-server.http-listen-port"), so the file and the flags can never
 * drift apart. Unknown keys and bad values are errors naming the key.
 *
 * -print-config writes the effective configuration as YAML that
 * -config.file reads back to the same values.
 */
#ifndef TR_CONFIG_CONFIG_H
#define TR_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_buf;
struct tr_err;

/* A list of strings (e.g. peer addresses). Owned by the config. */
struct tr_strlist {
    char **items;
    size_t count;
};

struct tr_config {
    char *target; /* comma-separated roles or all|write|read|backend */

    struct {
        char *http_listen_address;
        int64_t http_listen_port;
        int64_t http_threads;
        int64_t http_max_request_bytes;
        int64_t http_max_decoded_bytes;
        int64_t otlp_http_listen_port;
        int64_t otlp_grpc_listen_port;
        char *rpc_listen_address;
        int64_t rpc_listen_port;
        int64_t rpc_threads;
        char *log_level;
        int64_t shutdown_timeout_ns;
    } server;

    struct {
        bool enabled;
        char *no_auth_tenant;
    } auth;

    struct {
        char *path_prefix; /* local state lives below this directory */
    } common;

    struct {
        char *backend; /* filesystem | s3 */
        char *filesystem_dir;
        char *s3_endpoint;
        char *s3_bucket;
        char *s3_region;
        char *s3_access_key_id;
        char *s3_secret_access_key;
        bool s3_insecure;
        bool s3_force_path_style;
        int64_t s3_part_size;
        int64_t s3_max_retries;
        int64_t s3_timeout_ns;
    } storage;

    struct {
        struct tr_strlist addresses; /* RPC endpoints of the ingesters */
        int64_t timeout_ns;
        int64_t health_check_interval_ns;
    } ingester_client;

    struct {
        int64_t timeout_ns; /* default query timeout */
        int64_t max_samples;
        int64_t lookback_delta_ns;
        int64_t default_evaluation_interval_ns;
        int64_t block_list_refresh_interval_ns;
        int64_t block_cache_size;
    } querier;

    struct {
        struct tr_strlist querier_addresses; /* empty: in-process querier */
    } query_frontend;

    struct {
        char *instance_id;
        char *wal_dir;
        char *wal_sync; /* always | group | interval */
        int64_t wal_sync_interval_ns;
        int64_t wal_memtable_bytes;
        int64_t block_duration_ns;
        int64_t cut_interval_ns;
        int64_t retain_cut_data_ns;
        int64_t flush_idle_timeout_ns; /* 0: off */
        bool flush_on_shutdown;
    } ingester;

    struct {
        int64_t retention_period_ns; /* 0: keep blocks forever */
        int64_t interval_ns;
    } compactor;

    struct {
        int64_t ingestion_rate;       /* samples/s per tenant; 0: off */
        int64_t ingestion_burst_size; /* samples */
        int64_t max_series_per_tenant;
        int64_t max_label_names_per_series;
        int64_t max_label_name_length;
        int64_t max_label_value_length;
        int64_t max_metadata_length;
        int64_t creation_grace_period_ns;
        int64_t reject_old_samples_max_age_ns; /* 0: off */
        int64_t max_exemplars_per_tenant;
    } limits;
};

enum tr_config_type {
    TR_CONFIG_STRING,
    TR_CONFIG_INT,
    TR_CONFIG_BOOL,
    TR_CONFIG_DURATION, /* int64 ns; written like "2h" or "500ms" */
    TR_CONFIG_STRINGS,  /* struct tr_strlist; flags take a comma list */
};

struct tr_config_option {
    const char *key;     /* YAML path; the flag is derived from it */
    enum tr_config_type type;
    size_t offset;       /* offsetof(struct tr_config, ...) */
    const char *def;     /* default, as a user would write it */
    const char *choices; /* "a|b|c" for strings with fixed values, or NULL */
    const char *help;
    bool secret; /* masked in /config output */
};

/* The option table, terminated by a row with key NULL. */
extern const struct tr_config_option tr_config_options[];

/* Fills cfg with the defaults. TR_OK or TR_ENOMEM. */
int tr_config_init(struct tr_config *cfg, struct tr_err *err);
/* Frees every string the config owns. */
void tr_config_fini(struct tr_config *cfg);

/*
 * Reads a YAML file over the current values. Unknown keys, wrong types and
 * bad values fail with a message naming the key, file and line.
 */
int tr_config_load_file(struct tr_config *cfg, const char *path,
                        struct tr_err *err);
/* The same from YAML text in memory (name is used in messages). */
int tr_config_load_yaml(struct tr_config *cfg, const char *yaml, size_t len,
                        const char *name, struct tr_err *err);

/*
 * Sets one option by key ("server.http_listen_port") or flag name
 * ("server.http-listen-port") from text.
 */
int tr_config_set(struct tr_config *cfg, const char *name, const char *value,
                  struct tr_err *err);

/* Checks cross-option rules (e.g. s3 needs a bucket) and fills derived
 * defaults (paths below common.path_prefix). */
int tr_config_validate(struct tr_config *cfg, struct tr_err *err);

/*
 * Appends the effective configuration as YAML. With mask_secrets, secret
 * values (credentials) are written as "********" (for /config); without,
 * the output reads back to the same configuration (-print-config).
 */
int tr_config_write_yaml(const struct tr_config *cfg, struct tr_buf *out,
                         bool mask_secrets);
/* Appends -help text: every flag with its type, default and meaning. */
int tr_config_write_help(struct tr_buf *out);

/* Appends the option reference as a Markdown table (docs/configuration.md). */
int tr_config_write_reference(struct tr_buf *out);

/* Looks an option up by YAML key or flag name; NULL if unknown. */
const struct tr_config_option *tr_config_find(const char *name);

#endif
