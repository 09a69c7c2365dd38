#include "config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"

#define MAX_DEPTH 8
#define MAX_KEY 256

static void *
field(struct tr_config *cfg, const struct tr_config_option *opt)
{
    return (char *)cfg + opt->offset;
}

static const void *
cfield(const struct tr_config *cfg, const struct tr_config_option *opt)
{
    return (const char *)cfg + opt->offset;
}

/* The flag spelling of a key: '_' becomes '-'. */
static void
flag_name(const char *key, char *out, size_t size)
{
    size_t i = 0;
    for (; key[i] != '\0' && i + 1 < size; i++) {
        out[i] = key[i] == '_' ? '-' : key[i];
    }
    out[i] = '\0';
}

const struct tr_config_option *
tr_config_find(const char *name)
{
    char key[MAX_KEY];
    size_t i = 0;
    /* Accept both spellings: the key with '_' and the flag with '-'. */
    for (; name[i] != '\0' && i + 1 < sizeof(key); i++) {
        key[i] = name[i] == '-' ? '_' : name[i];
    }
    key[i] = '\0';
    for (const struct tr_config_option *o = tr_config_options; o->key; o++) {
        if (strcmp(o->key, key) == 0) {
            return o;
        }
    }
    return NULL;
}

/* True if name is the path of a section ("server", "storage.s3"). */
static int
is_section(const char *name)
{
    size_t n = strlen(name);
    for (const struct tr_config_option *o = tr_config_options; o->key; o++) {
        if (strncmp(o->key, name, n) == 0 && o->key[n] == '.') {
            return 1;
        }
    }
    return 0;
}

static void
strlist_clear(struct tr_strlist *l)
{
    for (size_t i = 0; i < l->count; i++) {
        tr_free(l->items[i]);
    }
    tr_free(l->items);
    l->items = NULL;
    l->count = 0;
}

static int
strlist_add(struct tr_strlist *l, const char *s, size_t n)
{
    char **items = tr_realloc(l->items, (l->count + 1) * sizeof(*items));
    if (items == NULL) {
        return TR_ENOMEM;
    }
    l->items = items;
    l->items[l->count] = tr_strndup(s, n);
    if (l->items[l->count] == NULL) {
        return TR_ENOMEM;
    }
    l->count++;
    return TR_OK;
}

static int
check_choice(const struct tr_config_option *opt, const char *value,
             struct tr_err *err)
{
    if (opt->choices == NULL) {
        return TR_OK;
    }
    size_t n = strlen(value);
    for (const char *c = opt->choices; *c != '\0';) {
        const char *bar = strchr(c, '|');
        size_t len = bar != NULL ? (size_t)(bar - c) : strlen(c);
        if (len == n && strncmp(c, value, n) == 0) {
            return TR_OK;
        }
        c += len + (bar != NULL);
    }
    return tr_err_set(err, TR_EINVAL,
                      "invalid value \"%s\" for %s: must be one of %s", value,
                      opt->key, opt->choices);
}

/* Parses text into the option's field. */
static int
set_value(struct tr_config *cfg, const struct tr_config_option *opt,
          const char *value, struct tr_err *err)
{
    void *p = field(cfg, opt);
    char *end;

    switch (opt->type) {
    case TR_CONFIG_STRING: {
        if (check_choice(opt, value, err) != TR_OK) {
            return TR_EINVAL;
        }
        char *copy = tr_strdup(value);
        if (copy == NULL) {
            return tr_err_set(err, TR_ENOMEM, "out of memory");
        }
        tr_free(*(char **)p);
        *(char **)p = copy;
        return TR_OK;
    }
    case TR_CONFIG_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (*value == '\0' || *end != '\0' || errno != 0) {
            return tr_err_set(err, TR_EINVAL,
                              "invalid value \"%s\" for %s: expected an "
                              "integer",
                              value, opt->key);
        }
        *(int64_t *)p = v;
        return TR_OK;
    }
    case TR_CONFIG_BOOL:
        if (strcmp(value, "true") == 0) {
            *(bool *)p = true;
        } else if (strcmp(value, "false") == 0) {
            *(bool *)p = false;
        } else {
            return tr_err_set(err, TR_EINVAL,
                              "invalid value \"%s\" for %s: expected true or "
                              "false",
                              value, opt->key);
        }
        return TR_OK;
    case TR_CONFIG_DURATION: {
        int64_t ns;
        if (tr_duration_parse(value, &ns, err) != TR_OK) {
            return tr_err_prefix(err, "invalid value for %s", opt->key);
        }
        *(int64_t *)p = ns;
        return TR_OK;
    }
    case TR_CONFIG_STRINGS: {
        struct tr_strlist *l = p;
        strlist_clear(l);
        for (const char *s = value; *s != '\0';) {
            const char *comma = strchr(s, ',');
            size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);
            if (n > 0 && strlist_add(l, s, n) != TR_OK) {
                return tr_err_set(err, TR_ENOMEM, "out of memory");
            }
            s += n + (comma != NULL);
        }
        return TR_OK;
    }
    }
    return tr_err_set(err, TR_EINVAL, "option %s has an unknown type",
                      opt->key);
}

int
tr_config_init(struct tr_config *cfg, struct tr_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    for (const struct tr_config_option *o = tr_config_options; o->key; o++) {
        if (set_value(cfg, o, o->def, err) != TR_OK) {
            tr_config_fini(cfg);
            return tr_err_prefix(err, "cannot apply default of %s", o->key);
        }
    }
    return TR_OK;
}

void
tr_config_fini(struct tr_config *cfg)
{
    for (const struct tr_config_option *o = tr_config_options; o->key; o++) {
        void *p = field(cfg, o);
        if (o->type == TR_CONFIG_STRING) {
            tr_free(*(char **)p);
            *(char **)p = NULL;
        } else if (o->type == TR_CONFIG_STRINGS) {
            strlist_clear(p);
        }
    }
}

int
tr_config_set(struct tr_config *cfg, const char *name, const char *value,
              struct tr_err *err)
{
    const struct tr_config_option *opt = tr_config_find(name);
    if (opt == NULL) {
        return tr_err_set(err, TR_EINVAL, "unknown option %s (see -help)",
                          name);
    }
    return set_value(cfg, opt, value, err);
}

/* ---- YAML input ------------------------------------------------------ */

struct yaml_reader {
    yaml_parser_t parser;
    const char *name;
    struct tr_config *cfg;
    struct tr_err *err;
};

static int
yaml_fail(struct yaml_reader *r, const yaml_event_t *ev, const char *what,
          const char *key)
{
    return tr_err_set(r->err, TR_EINVAL, "cannot load config %s: line %zu: "
                      "%s %s",
                      r->name, (size_t)ev->start_mark.line + 1, what, key);
}

static int
next_event(struct yaml_reader *r, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&r->parser, ev)) {
        return tr_err_set(r->err, TR_EINVAL,
                          "cannot load config %s: line %zu: %s", r->name,
                          (size_t)r->parser.problem_mark.line + 1,
                          r->parser.problem != NULL ? r->parser.problem
                                                    : "invalid YAML");
    }
    return TR_OK;
}

static const char *
scalar_text(const yaml_event_t *ev)
{
    return (const char *)ev->data.scalar.value;
}

/* A plain null (empty, "~" or "null") reads as the empty string. */
static int
scalar_is_null(const yaml_event_t *ev)
{
    const char *s = scalar_text(ev);
    return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (*s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0);
}

static int read_mapping(struct yaml_reader *r, const char *prefix, int depth);

/* Reads the value of `key` after its key scalar. */
static int
read_value(struct yaml_reader *r, const char *key, int depth)
{
    yaml_event_t ev;
    int rc = next_event(r, &ev);
    if (rc != TR_OK) {
        return rc;
    }
    const struct tr_config_option *opt = tr_config_find(key);

    if (ev.type == YAML_MAPPING_START_EVENT) {
        if (!is_section(key)) {
            rc = opt != NULL ? yaml_fail(r, &ev, "expected a value for", key)
                             : yaml_fail(r, &ev, "unknown key", key);
        } else {
            rc = read_mapping(r, key, depth + 1);
        }
    } else if (ev.type == YAML_SEQUENCE_START_EVENT) {
        if (opt == NULL || opt->type != TR_CONFIG_STRINGS) {
            rc = opt == NULL ? yaml_fail(r, &ev, "unknown key", key)
                             : yaml_fail(r, &ev, "expected a single value for",
                                         key);
        } else {
            struct tr_strlist *l = field(r->cfg, opt);
            strlist_clear(l);
            for (;;) {
                yaml_event_t item;
                if ((rc = next_event(r, &item)) != TR_OK) {
                    break;
                }
                if (item.type == YAML_SEQUENCE_END_EVENT) {
                    yaml_event_delete(&item);
                    break;
                }
                if (item.type != YAML_SCALAR_EVENT) {
                    rc = yaml_fail(r, &item, "expected strings in", key);
                } else {
                    rc = strlist_add(l, scalar_text(&item),
                                     item.data.scalar.length);
                }
                yaml_event_delete(&item);
                if (rc != TR_OK) {
                    break;
                }
            }
        }
    } else if (ev.type == YAML_SCALAR_EVENT) {
        if (opt == NULL) {
            rc = is_section(key) && scalar_is_null(&ev)
                     ? TR_OK /* "server:" with nothing below */
                     : yaml_fail(r, &ev, "unknown key", key);
        } else {
            const char *text = scalar_is_null(&ev) &&
                                       (opt->type == TR_CONFIG_STRING ||
                                        opt->type == TR_CONFIG_STRINGS)
                                   ? ""
                                   : scalar_text(&ev);
            rc = set_value(r->cfg, opt, text, r->err);
            if (rc != TR_OK) {
                tr_err_prefix(r->err, "cannot load config %s: line %zu",
                              r->name, (size_t)ev.start_mark.line + 1);
            }
        }
    } else {
        rc = yaml_fail(r, &ev, "unexpected YAML for", key);
    }
    yaml_event_delete(&ev);
    return rc;
}

static int
read_mapping(struct yaml_reader *r, const char *prefix, int depth)
{
    if (depth > MAX_DEPTH) {
        return tr_err_set(r->err, TR_EINVAL,
                          "cannot load config %s: nested too deeply at %s",
                          r->name, prefix);
    }
    for (;;) {
        yaml_event_t ev;
        int rc = next_event(r, &ev);
        if (rc != TR_OK) {
            return rc;
        }
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return TR_OK;
        }
        if (ev.type != YAML_SCALAR_EVENT) {
            rc = yaml_fail(r, &ev, "expected a key in", *prefix ? prefix
                                                                : "the file");
            yaml_event_delete(&ev);
            return rc;
        }
        char key[MAX_KEY];
        snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "",
                 scalar_text(&ev));
        yaml_event_delete(&ev);
        if ((rc = read_value(r, key, depth)) != TR_OK) {
            return rc;
        }
    }
}

int
tr_config_load_yaml(struct tr_config *cfg, const char *yaml, size_t len,
                    const char *name, struct tr_err *err)
{
    struct yaml_reader r = {.name = name, .cfg = cfg, .err = err};
    int rc = TR_OK;
    int done = 0;

    if (!yaml_parser_initialize(&r.parser)) {
        return tr_err_set(err, TR_ENOMEM, "cannot create YAML parser");
    }
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)yaml, len);
    while (rc == TR_OK && !done) {
        yaml_event_t ev;
        if ((rc = next_event(&r, &ev)) != TR_OK) {
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_MAPPING_START_EVENT:
            rc = read_mapping(&r, "", 0);
            break;
        case YAML_SCALAR_EVENT:
            /* An empty document is a null scalar: nothing to set. */
            if (!scalar_is_null(&ev)) {
                rc = yaml_fail(&r, &ev, "expected a mapping of options, got",
                               scalar_text(&ev));
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = yaml_fail(&r, &ev, "expected a mapping of options, got", "a "
                                                                   "list");
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&r.parser);
    return rc;
}

int
tr_config_load_file(struct tr_config *cfg, const char *path,
                    struct tr_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return tr_err_set(err, TR_EINVAL, "cannot read config file %s: %s",
                          path, strerror(errno));
    }
    struct tr_buf text = TR_BUF_INIT;
    char chunk[8192];
    size_t n;
    int rc = TR_OK;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (tr_buf_append(&text, chunk, n) != TR_OK) {
            rc = tr_err_set(err, TR_ENOMEM, "out of memory");
            break;
        }
    }
    if (rc == TR_OK && ferror(f)) {
        rc = tr_err_set(err, TR_EIO, "cannot read config file %s", path);
    }
    fclose(f);
    if (rc == TR_OK) {
        rc = tr_config_load_yaml(cfg, text.data != NULL ? text.data : "",
                                 text.len, path, err);
    }
    tr_buf_fini(&text);
    return rc;
}

/* ---- validation ---------------------------------------------------- */

static int
derive_path(char **slot, const char *prefix, const char *leaf)
{
    if (*slot != NULL && **slot != '\0') {
        return TR_OK;
    }
    size_t n = strlen(prefix) + strlen(leaf) + 2;
    char *p = tr_malloc(n);
    if (p == NULL) {
        return TR_ENOMEM;
    }
    snprintf(p, n, "%s/%s", prefix, leaf);
    tr_free(*slot);
    *slot = p;
    return TR_OK;
}

static int
check_port(const char *key, int64_t port, int allow_disable,
           struct tr_err *err)
{
    if (port > 65535 || port < (allow_disable ? -1 : 0)) {
        return tr_err_set(err, TR_EINVAL,
                          "invalid value %lld for %s: a port is 0..65535%s",
                          (long long)port, key,
                          allow_disable ? " or -1 (disabled)" : "");
    }
    return TR_OK;
}

int
tr_config_validate(struct tr_config *cfg, struct tr_err *err)
{
    int rc;
    if ((rc = check_port("server.http_listen_port",
                         cfg->server.http_listen_port, 0, err)) ||
        (rc = check_port("server.rpc_listen_port", cfg->server.rpc_listen_port,
                         0, err)) ||
        (rc = check_port("server.otlp_http_listen_port",
                         cfg->server.otlp_http_listen_port, 1, err)) ||
        (rc = check_port("server.otlp_grpc_listen_port",
                         cfg->server.otlp_grpc_listen_port, 1, err))) {
        return rc;
    }
    if (cfg->server.http_threads < 0 || cfg->server.rpc_threads < 1) {
        return tr_err_set(err, TR_EINVAL,
                          "invalid thread count: server.http_threads must be "
                          ">= 0 and server.rpc_threads >= 1");
    }
    if (cfg->server.http_max_request_bytes < 1024 ||
        cfg->server.http_max_decoded_bytes <
            cfg->server.http_max_request_bytes) {
        return tr_err_set(err, TR_EINVAL,
                          "invalid body limits: server.http_max_request_bytes "
                          "must be >= 1024 and server.http_max_decoded_bytes "
                          ">= it");
    }
    if (cfg->ingester.wal_memtable_bytes < 1024 * 1024) {
        return tr_err_set(err, TR_EINVAL,
                          "invalid value %lld for ingester.wal_memtable_bytes: "
                          "at least 1048576 (1 MiB)",
                          (long long)cfg->ingester.wal_memtable_bytes);
    }
    if (*cfg->common.path_prefix == '\0') {
        return tr_err_set(err, TR_EINVAL,
                          "invalid value for common.path_prefix: empty");
    }
    if (strcmp(cfg->storage.backend, "s3") == 0) {
        if (*cfg->storage.s3_bucket == '\0' ||
            *cfg->storage.s3_endpoint == '\0') {
            return tr_err_set(err, TR_EINVAL,
                              "storage.backend is s3 but storage.s3.endpoint "
                              "or storage.s3.bucket is empty");
        }
        if (cfg->storage.s3_part_size < 5 * 1024 * 1024) {
            return tr_err_set(err, TR_EINVAL,
                              "invalid value %lld for storage.s3.part_size: "
                              "S3 needs at least 5 MiB (5242880)",
                              (long long)cfg->storage.s3_part_size);
        }
    }
    if (*cfg->auth.no_auth_tenant == '\0') {
        return tr_err_set(err, TR_EINVAL,
                          "invalid value for auth.no_auth_tenant: empty");
    }
    if (derive_path(&cfg->storage.filesystem_dir, cfg->common.path_prefix,
                    "objects") != TR_OK ||
        derive_path(&cfg->ingester.wal_dir, cfg->common.path_prefix, "wal") !=
            TR_OK) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    return TR_OK;
}

/* ---- output -------------------------------------------------------- */

static void
write_yaml_string(struct tr_buf *out, const char *s)
{
    tr_buf_append_byte(out, '"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            tr_buf_append_byte(out, '\\');
            tr_buf_append_byte(out, (char)c);
        } else if (c < 0x20) {
            tr_buf_appendf(out, "\\x%02x", c);
        } else {
            tr_buf_append_byte(out, (char)c);
        }
    }
    tr_buf_append_byte(out, '"');
}

static void
write_value(struct tr_buf *out, const struct tr_config *cfg,
            const struct tr_config_option *o)
{
    const void *p = cfield(cfg, o);
    char text[64];
    switch (o->type) {
    case TR_CONFIG_STRING:
        write_yaml_string(out, *(char *const *)p ? *(char *const *)p : "");
        break;
    case TR_CONFIG_INT:
        tr_buf_appendf(out, "%lld", (long long)*(const int64_t *)p);
        break;
    case TR_CONFIG_BOOL:
        tr_buf_append_str(out, *(const bool *)p ? "true" : "false");
        break;
    case TR_CONFIG_DURATION:
        tr_buf_append_str(out, tr_duration_format(*(const int64_t *)p, text,
                                                  sizeof(text)));
        break;
    case TR_CONFIG_STRINGS: {
        const struct tr_strlist *l = p;
        tr_buf_append_byte(out, '[');
        for (size_t i = 0; i < l->count; i++) {
            if (i > 0) {
                tr_buf_append_str(out, ", ");
            }
            write_yaml_string(out, l->items[i]);
        }
        tr_buf_append_byte(out, ']');
        break;
    }
    }
}

int
tr_config_write_yaml(const struct tr_config *cfg, struct tr_buf *out,
                     bool mask_secrets)
{
    const char *prev = "";
    size_t start = out->len;

    for (const struct tr_config_option *o = tr_config_options; o->key; o++) {
        /* Open the sections this key enters that the previous did not. */
        const char *k = o->key;
        const char *p = prev;
        int depth = 0;
        int same = 1;
        for (;;) {
            const char *dot = strchr(k, '.');
            if (dot == NULL) {
                break;
            }
            size_t n = (size_t)(dot - k);
            if (same && strncmp(k, p, n) == 0 && p[n] == '.') {
                p += n + 1;
            } else {
                same = 0;
                tr_buf_appendf(out, "%*s%.*s:\n", depth * 2, "", (int)n, k);
            }
            k = dot + 1;
            depth++;
        }
        tr_buf_appendf(out, "%*s%s: ", depth * 2, "", k);
        if (mask_secrets && o->secret) {
            write_yaml_string(out, "********");
        } else {
            write_value(out, cfg, o);
        }
        tr_buf_append_byte(out, '\n');
        prev = o->key;
    }
    return out->data != NULL && out->len > start ? TR_OK : TR_ENOMEM;
}

static const char *const type_names[] = {"string", "int", "bool", "duration",
                                         "strings"};

int
tr_config_write_help(struct tr_buf *out)
{
    struct tr_config defaults;
    if (tr_config_init(&defaults, NULL) != TR_OK) {
        return TR_ENOMEM;
    }
    for (const struct tr_config_option *o = tr_config_options; o->key; o++) {
        char flag[MAX_KEY];
        flag_name(o->key, flag, sizeof(flag));
        tr_buf_appendf(out, "  -%s %s\n    \t%s", flag, type_names[o->type],
                       o->help);
        if (o->choices != NULL) {
            tr_buf_appendf(out, " One of %s.", o->choices);
        }
        tr_buf_append_str(out, " (default ");
        write_value(out, &defaults, o);
        tr_buf_append_str(out, ")\n");
    }
    tr_config_fini(&defaults);
    return TR_OK;
}

int
tr_config_write_reference(struct tr_buf *out)
{
    struct tr_config defaults;
    if (tr_config_init(&defaults, NULL) != TR_OK) {
        return TR_ENOMEM;
    }
    tr_buf_append_str(out, "| YAML key | flag | type | default | meaning |\n"
                           "|---|---|---|---|---|\n");
    for (const struct tr_config_option *o = tr_config_options; o->key; o++) {
        char flag[MAX_KEY];
        flag_name(o->key, flag, sizeof(flag));
        tr_buf_appendf(out, "| `%s` | `-%s` | %s | `", o->key, flag,
                       type_names[o->type]);
        write_value(out, &defaults, o);
        tr_buf_appendf(out, "` | %s", o->help);
        if (o->choices != NULL) {
            tr_buf_appendf(out, " One of `%s`.", o->choices);
        }
        tr_buf_append_str(out, " |\n");
    }
    tr_config_fini(&defaults);
    return TR_OK;
}
