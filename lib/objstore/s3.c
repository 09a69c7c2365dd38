/*
 * S3 backend over libcurl.
 *
 * Signing: libcurl's CURLOPT_AWS_SIGV4 ("aws:amz:<region>:s3"). The libcurl
 * we build against (7.88) signs the path and the query string exactly as
 * they appear in the URL, and newer versions re-canonicalise them in a way
 * that leaves an already canonical string unchanged. So every URL built
 * here is already in SigV4 canonical form: the key percent-encoded per
 * segment (tr_s3_uri_encode, '/' kept), query parameters sorted by name,
 * each written "name=value" (even with an empty value) and encoded with
 * upper-case hex. We always send x-amz-content-sha256 ourselves (the hash
 * of the empty body, or UNSIGNED-PAYLOAD for uploads): older libcurl signs
 * a streamed body as if it were empty, and S3 requires the header anyway.
 * Headers with empty values ("Expect:") are never set, because 7.88 signs
 * them although it does not send them.
 *
 * Connections: idle easy handles are kept in a small pool so their
 * connections stay alive between requests; each request borrows one, so
 * the store is safe to use from several threads.
 *
 * Retries: see struct tr_objstore_options. A request body is re-read from
 * the caller's reader on every attempt.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "objstore/internal.h"

#define EMPTY_SHA256                                                           \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_PARTS 10000

struct s3_store {
    struct tr_objstore_options o; /* strings below point into this store */
    char *base_url; /* "http[s]://host[:port]" (with "bucket." if vhost) */
    char *bucket;
    char *sigv4;   /* "aws:amz:<region>:s3" */
    char *userpwd; /* "<access>:<secret>" */
    pthread_mutex_t lock;
    CURL **idle; /* pool of idle handles, max_idle_connections long */
    int n_idle;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void *
tr_objstore_s3_create(const struct tr_objstore_options *opts, char **location,
                      struct tr_err *err)
{
    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK) {
        tr_err_set(err, TR_EIO, "cannot create object store: libcurl: %s",
                   curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (v->version_num < 0x074b00) { /* 7.75.0 brought AWS_SIGV4 */
        tr_err_set(err, TR_EINVAL,
                   "cannot create object store: libcurl %s has no SigV4 "
                   "signing (need 7.75 or newer)",
                   v->version);
        return NULL;
    }
    struct s3_store *s = tr_calloc(1, sizeof(*s));
    if (s == NULL) {
        tr_err_set(err, TR_ENOMEM, "cannot create object store: out of memory");
        return NULL;
    }
    s->o = *opts;
    pthread_mutex_init(&s->lock, NULL);
    const char *ep = opts->s3_endpoint;
    const char *scheme = opts->s3_insecure ? "http" : "https";
    if (strncmp(ep, "http://", 7) == 0) {
        scheme = "http";
        ep += 7;
    } else if (strncmp(ep, "https://", 8) == 0) {
        scheme = "https";
        ep += 8;
    }
    struct tr_buf b = TR_BUF_INIT;
    if (opts->s3_virtual_host) {
        tr_buf_appendf(&b, "%s://%s.%s", scheme, opts->s3_bucket, ep);
    } else {
        tr_buf_appendf(&b, "%s://%s", scheme, ep);
    }
    s->base_url = tr_buf_detach(&b, NULL);
    s->bucket = tr_strdup(opts->s3_bucket);
    tr_buf_appendf(&b, "aws:amz:%s:s3", opts->s3_region);
    s->sigv4 = tr_buf_detach(&b, NULL);
    tr_buf_appendf(&b, "%s:%s", opts->s3_access_key, opts->s3_secret_key);
    s->userpwd = tr_buf_detach(&b, NULL);
    tr_buf_appendf(&b, "s3://%s", opts->s3_bucket);
    *location = tr_buf_detach(&b, NULL);
    s->idle = tr_calloc((size_t)opts->max_idle_connections + 1, sizeof(CURL *));
    if (s->base_url == NULL || s->bucket == NULL || s->sigv4 == NULL ||
        s->userpwd == NULL || *location == NULL || s->idle == NULL) {
        tr_err_set(err, TR_ENOMEM, "cannot create object store: out of memory");
        tr_objstore_s3_backend.destroy(s);
        return NULL;
    }
    /* Strings in s->o are borrowed from the caller: forget them. */
    s->o.s3_endpoint = s->o.s3_bucket = s->o.s3_region = NULL;
    s->o.s3_access_key = s->o.s3_secret_key = NULL;
    s->o.backend = s->o.fs_root = NULL;
    return s;
}

static void
s3_destroy(void *impl)
{
    struct s3_store *s = impl;
    for (int i = 0; i < s->n_idle; i++) {
        curl_easy_cleanup(s->idle[i]);
    }
    tr_free(s->idle);
    pthread_mutex_destroy(&s->lock);
    tr_free(s->base_url);
    tr_free(s->bucket);
    tr_free(s->sigv4);
    if (s->userpwd != NULL) {
        memset(s->userpwd, 0, strlen(s->userpwd)); /* holds the secret */
    }
    tr_free(s->userpwd);
    tr_free(s);
}

static CURL *
pool_get(struct s3_store *s)
{
    CURL *h = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->n_idle > 0) {
        h = s->idle[--s->n_idle];
    }
    pthread_mutex_unlock(&s->lock);
    if (h == NULL) {
        h = curl_easy_init();
    } else {
        curl_easy_reset(h); /* keeps the live connection */
    }
    return h;
}

static void
pool_put(struct s3_store *s, CURL *h)
{
    pthread_mutex_lock(&s->lock);
    if (s->n_idle < s->o.max_idle_connections) {
        s->idle[s->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (h != NULL) {
        curl_easy_cleanup(h);
    }
}

/* One HTTP exchange, possibly attempted several times. */
struct s3_req {
    const char *method; /* GET HEAD PUT POST DELETE */
    const char *url;
    const char *content_type; /* NULL: none */
    /* Request body: body_size bytes read through read from read_base on. */
    bool has_body;
    uint64_t body_size;
    tr_objstore_read_fn read;
    void *read_arg;
    uint64_t read_base;
    /* Range request "first-last" or NULL. */
    const char *range;
    /* S3 may answer 200 with an <Error> body (CompleteMultipartUpload). */
    bool check_body_error;
    /* Response body is appended here. */
    struct tr_buf *resp;

    /* Filled per attempt. */
    uint64_t read_pos;
    int read_rc;
    struct tr_err read_err;
    long status;
    char etag[160];
    int64_t total_size;     /* from Content-Range "/N", or -1 */
    int64_t content_length; /* from Content-Length, or -1 */
    int64_t range_first;    /* first byte of Content-Range, or -1 */
    char curl_msg[CURL_ERROR_SIZE];
};

static size_t
on_read(char *dst, size_t size, size_t nitems, void *ud)
{
    struct s3_req *r = ud;
    size_t want = size * nitems;
    uint64_t left = r->body_size - r->read_pos;
    if (want > left) {
        want = (size_t)left;
    }
    if (want == 0) {
        return 0;
    }
    int rc = r->read(r->read_arg, r->read_base + r->read_pos, dst, want,
                     &r->read_err);
    if (rc != TR_OK) {
        r->read_rc = rc;
        return CURL_READFUNC_ABORT;
    }
    r->read_pos += want;
    return want;
}

static int
on_seek(void *ud, curl_off_t offset, int origin)
{
    struct s3_req *r = ud;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > r->body_size) {
        return CURL_SEEKFUNC_CANTSEEK;
    }
    r->read_pos = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t
on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct s3_req *r = ud;
    size_t n = size * nmemb;
    if (tr_buf_append(r->resp, data, n) != TR_OK) {
        return 0; /* curl reports CURLE_WRITE_ERROR */
    }
    return n;
}

/* Case-insensitive "Name:" match; returns the trimmed value or NULL. */
static const char *
header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':') {
        return NULL;
    }
    const char *v = line + n + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t')) {
        v++;
    }
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) {
        end--;
    }
    *vlen = (size_t)(end - v);
    return v;
}

static size_t
on_header(char *line, size_t size, size_t nitems, void *ud)
{
    struct s3_req *r = ud;
    size_t len = size * nitems;
    size_t vlen;
    const char *v;
    if ((v = header_value(line, len, "etag", &vlen)) != NULL) {
        if (vlen < sizeof(r->etag)) {
            memcpy(r->etag, v, vlen);
            r->etag[vlen] = '\0';
        }
    } else if ((v = header_value(line, len, "content-length", &vlen)) != NULL) {
        r->content_length = strtoll(v, NULL, 10);
    } else if ((v = header_value(line, len, "content-range", &vlen)) != NULL) {
        /* "bytes 0-9/1234", or "bytes (star)/1234" on a 416 */
        const char *slash = memchr(v, '/', vlen);
        if (vlen > 6 && strncasecmp(v, "bytes ", 6) == 0 && v[6] >= '0' &&
            v[6] <= '9') {
            r->range_first = strtoll(v + 6, NULL, 10);
        }
        if (slash != NULL && slash + 1 < v + vlen && slash[1] != '*') {
            r->total_size = strtoll(slash + 1, NULL, 10);
        }
    }
    return len;
}

static bool
curl_code_retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
        return true;
    default:
        return false;
    }
}

/* S3 error document: <Error><Code>..</Code><Message>..</Message></Error>. */
struct s3_error {
    char code[64];
    char message[256];
};

static void
copy_xml_text(const char *doc, size_t len, const char *name, char *dst,
              size_t dst_size)
{
    size_t from = 0;
    struct tr_xml_span span;
    dst[0] = '\0';
    if (!tr_xml_find(doc, len, &from, name, &span)) {
        return;
    }
    struct tr_buf b = TR_BUF_INIT;
    if (tr_xml_unescape(span, &b) == TR_OK && b.len > 0) {
        size_t n = b.len < dst_size - 1 ? b.len : dst_size - 1;
        memcpy(dst, b.data, n);
        dst[n] = '\0';
    }
    tr_buf_fini(&b);
}

static bool
parse_error(const char *doc, size_t len, struct s3_error *e)
{
    size_t from = 0;
    struct tr_xml_span span;
    e->code[0] = e->message[0] = '\0';
    if (!tr_xml_find(doc, len, &from, "Error", &span)) {
        return false;
    }
    copy_xml_text(span.p, span.len, "Code", e->code, sizeof(e->code));
    copy_xml_text(span.p, span.len, "Message", e->message, sizeof(e->message));
    return true;
}

static bool
status_retryable(long status, const struct s3_error *e)
{
    return status >= 500 || status == 429 || strcmp(e->code, "SlowDown") == 0 ||
           strcmp(e->code, "RequestTimeout") == 0 ||
           strcmp(e->code, "InternalError") == 0;
}

static uint64_t
next_random(void)
{
    static _Thread_local uint64_t state;
    if (state == 0) {
        state = (uint64_t)tr_mono_ns() ^ (uint64_t)(uintptr_t)&state ^
                UINT64_C(0x9e3779b97f4a7c15);
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static void
sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / TR_NS_PER_SEC),
                          (long)(ns % TR_NS_PER_SEC)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Sets up h for one attempt of r. Returns the header list to free. */
static struct curl_slist *
setup(struct s3_store *s, CURL *h, struct s3_req *r, int64_t timeout_ns)
{
    struct curl_slist *hdrs = NULL;
    struct curl_slist *t;
    bool body = r->has_body;
    t = curl_slist_append(hdrs, body ? "x-amz-content-sha256: UNSIGNED-PAYLOAD"
                                     : "x-amz-content-sha256: " EMPTY_SHA256);
    hdrs = t ? t : hdrs;
    if (r->content_type != NULL) {
        char ct[128];
        snprintf(ct, sizeof(ct), "Content-Type: %s", r->content_type);
        t = curl_slist_append(hdrs, ct);
        hdrs = t ? t : hdrs;
    }
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
    curl_easy_setopt(h, CURLOPT_USERPWD, s->userpwd);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->curl_msg);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(s->o.connect_timeout_ns / TR_NS_PER_MS) + 1);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     (long)(timeout_ns / TR_NS_PER_MS) + 1);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (s->o.s3_tls_skip_verify) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    if (r->range != NULL) {
        curl_easy_setopt(h, CURLOPT_RANGE, r->range);
    }
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "PUT") == 0 ||
               strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, r);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, r);
        if (strcmp(r->method, "PUT") == 0) {
            curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                             (curl_off_t)r->body_size);
            curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
        } else {
            curl_easy_setopt(h, CURLOPT_POST, 1L);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t)r->body_size);
        }
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }
    return hdrs;
}

/*
 * Runs r with retries. what is the start of error messages ("put k to s3
 * bucket b"). On success r->status is 2xx and r->resp holds the body
 * (appended after its original length). On failure r->resp is restored.
 */
static int
perform(struct s3_store *s, struct s3_req *r, const char *what,
        struct tr_err *err)
{
    size_t orig_len = r->resp->len;
    int64_t start = tr_mono_ns();
    int64_t delay = s->o.retry_base_delay_ns;
    struct s3_error e;
    CURLcode cc = CURLE_OK;
    int attempt;
    for (attempt = 1;; attempt++) {
        int64_t left = s->o.retry_max_total_ns - (tr_mono_ns() - start);
        int64_t timeout =
            s->o.request_timeout_ns < left ? s->o.request_timeout_ns : left;
        CURL *h = pool_get(s);
        if (h == NULL) {
            r->resp->len = orig_len;
            return tr_err_set(err, TR_ENOMEM,
                              "cannot %s: cannot create a "
                              "curl handle",
                              what);
        }
        r->resp->len = orig_len;
        r->read_pos = 0;
        r->read_rc = TR_OK;
        r->status = 0;
        r->etag[0] = '\0';
        r->total_size = -1;
        r->content_length = -1;
        r->range_first = -1;
        r->curl_msg[0] = '\0';
        struct curl_slist *hdrs = setup(s, h, r, timeout);
        cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        curl_slist_free_all(hdrs);
        pool_put(s, h);

        if (r->read_rc != TR_OK) {
            r->resp->len = orig_len;
            if (err != NULL) {
                *err = r->read_err;
            }
            return tr_err_prefix(err, "cannot %s", what);
        }
        bool retry;
        e.code[0] = e.message[0] = '\0';
        if (cc != CURLE_OK) {
            retry = curl_code_retryable(cc);
        } else {
            bool ok = r->status >= 200 && r->status < 300;
            /* Only error answers (and the few calls that may hide an
             * error in a 200) are parsed: object data is not XML. */
            bool body_error = (!ok || r->check_body_error) &&
                              r->resp->data != NULL &&
                              parse_error(r->resp->data + orig_len,
                                          r->resp->len - orig_len, &e);
            if (ok && !(r->check_body_error && body_error)) {
                return TR_OK;
            }
            if (r->status >= 200 && r->status < 300) {
                r->status = 500; /* 200 with <Error>: retry like a 5xx */
            }
            retry = status_retryable(r->status, &e);
        }
        if (!retry || attempt >= s->o.retry_max_attempts) {
            break;
        }
        int64_t d =
            delay / 2 + (int64_t)(next_random() % (uint64_t)(delay / 2 + 1));
        if (tr_mono_ns() - start + d >= s->o.retry_max_total_ns) {
            break;
        }
        tr_log_debug("s3 request failed, retrying",
                     "what=\"%s\" attempt=%d status=%ld curl=%d delay_ms=%lld",
                     what, attempt, r->status, (int)cc,
                     (long long)(d / TR_NS_PER_MS));
        sleep_ns(d);
        delay = delay * 2 < s->o.retry_max_delay_ns ? delay * 2
                                                    : s->o.retry_max_delay_ns;
    }
    r->resp->len = orig_len;
    long long took_ms = (long long)((tr_mono_ns() - start) / TR_NS_PER_MS);
    if (cc != CURLE_OK) {
        return tr_err_set(
            err, cc == CURLE_OPERATION_TIMEDOUT ? TR_ETIMEOUT : TR_EUNAVAIL,
            "cannot %s: %s%s%s (gave up after %d attempts in "
            "%lld ms)",
            what, curl_easy_strerror(cc), r->curl_msg[0] ? ": " : "",
            r->curl_msg, attempt, took_ms);
    }
    const char *sep = e.message[0] ? ": " : "";
    if (r->status == 403) {
        return tr_err_set(err, TR_EDENIED,
                          "cannot %s: access denied (check access key and "
                          "secret): %s%s%s",
                          what, e.code[0] ? e.code : "HTTP 403", sep,
                          e.message);
    }
    if (strcmp(e.code, "NoSuchBucket") == 0) {
        return tr_err_set(err, TR_EINVAL, "cannot %s: bucket %s does not exist",
                          what, s->bucket);
    }
    if (r->status == 404 &&
        (strcmp(e.code, "NoSuchKey") == 0 || e.code[0] == '\0')) {
        return tr_err_set(err, TR_ENOTFOUND, "cannot %s: no such object", what);
    }
    if (r->status >= 500 || r->status == 429) {
        return tr_err_set(err, TR_EUNAVAIL,
                          "cannot %s: HTTP %ld %s%s%s (gave up after %d "
                          "attempts in %lld ms)",
                          what, r->status, e.code, sep, e.message, attempt,
                          took_ms);
    }
    return tr_err_set(err, TR_EINVAL, "cannot %s: HTTP %ld %s%s%s", what,
                      r->status, e.code[0] ? e.code : "(no error code)", sep,
                      e.message);
}

/* URL of the bucket (query == NULL) or of an object, plus "?query". */
static int
build_url(struct s3_store *s, const char *key, const char *query,
          struct tr_buf *url)
{
    int rc = tr_buf_append_str(url, s->base_url);
    if (rc == TR_OK && !s->o.s3_virtual_host) {
        rc = tr_buf_appendf(url, "/%s", s->bucket);
    }
    if (rc == TR_OK && (key != NULL || s->o.s3_virtual_host)) {
        rc = tr_buf_append_byte(url, '/');
    }
    if (rc == TR_OK && key != NULL) {
        rc = tr_s3_uri_encode(key, true, url);
    }
    if (rc == TR_OK && query != NULL) {
        rc = tr_buf_appendf(url, "?%s", query);
    }
    return rc;
}

static int
read_mem_body(void *arg, uint64_t offset, void *dst, size_t len,
              struct tr_err *err)
{
    const struct tr_buf *b = arg;
    (void)err;
    memcpy(dst, b->data + offset, len);
    return TR_OK;
}

static int
put_single(struct s3_store *s, const char *key, uint64_t size,
           tr_objstore_read_fn read, void *arg, const char *what,
           struct tr_err *err)
{
    struct tr_buf url = TR_BUF_INIT;
    struct tr_buf resp = TR_BUF_INIT;
    int rc = build_url(s, key, NULL, &url);
    if (rc != TR_OK) {
        return tr_err_set(err, TR_ENOMEM, "cannot %s: out of memory", what);
    }
    struct s3_req r = {
        .method = "PUT",
        .url = url.data,
        .content_type = "application/octet-stream",
        .has_body = true,
        .body_size = size,
        .read = read,
        .read_arg = arg,
        .resp = &resp,
    };
    rc = perform(s, &r, what, err);
    tr_buf_fini(&url);
    tr_buf_fini(&resp);
    return rc;
}

static void
abort_upload(struct s3_store *s, const char *key, const char *query)
{
    struct tr_buf url = TR_BUF_INIT;
    struct tr_buf resp = TR_BUF_INIT;
    struct tr_err e;
    if (build_url(s, key, query, &url) == TR_OK) {
        struct s3_req r = {.method = "DELETE", .url = url.data, .resp = &resp};
        if (perform(s, &r, "abort multipart upload", &e) != TR_OK) {
            /* Incomplete uploads cost storage until a lifecycle rule
             * removes them; nothing more can be done here. */
            tr_log_warn("cannot abort s3 multipart upload",
                        "key=\"%s\" "
                        "error=\"%s\"",
                        key, e.msg);
        }
    }
    tr_buf_fini(&url);
    tr_buf_fini(&resp);
}

static int
put_multipart(struct s3_store *s, const char *key, uint64_t size,
              tr_objstore_read_fn read, void *arg, const char *what,
              struct tr_err *err)
{
    uint64_t ps = s->o.s3_part_size;
    uint64_t nparts = (size + ps - 1) / ps;
    if (nparts > MAX_PARTS) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot %s: %llu bytes need %llu parts of %llu "
                          "bytes, S3 allows %d (raise the part size)",
                          what, (unsigned long long)size,
                          (unsigned long long)nparts, (unsigned long long)ps,
                          MAX_PARTS);
    }
    struct tr_buf url = TR_BUF_INIT;
    struct tr_buf resp = TR_BUF_INIT;
    struct tr_buf upload_id = TR_BUF_INIT;
    struct tr_buf query = TR_BUF_INIT; /* "uploadId=<enc>" */
    struct tr_buf body = TR_BUF_INIT;
    struct tr_buf part_query = TR_BUF_INIT;
    char **etags = tr_calloc((size_t)nparts, sizeof(char *));
    bool created = false;
    int rc;
    if (etags == NULL || build_url(s, key, "uploads=", &url) != TR_OK) {
        rc = tr_err_set(err, TR_ENOMEM, "cannot %s: out of memory", what);
        goto done;
    }
    /* CreateMultipartUpload */
    struct s3_req cr = {
        .method = "POST",
        .url = url.data,
        .content_type = "application/octet-stream",
        .has_body = true,
        .body_size = 0,
        .read = read_mem_body,
        .read_arg = &body,
        .resp = &resp,
    };
    rc = perform(s, &cr, what, err);
    if (rc != TR_OK) {
        tr_err_prefix(err, "cannot start multipart upload");
        goto done;
    }
    size_t from = 0;
    struct tr_xml_span span;
    if (!tr_xml_find(resp.data, resp.len, &from, "UploadId", &span) ||
        tr_xml_unescape(span, &upload_id) != TR_OK || upload_id.len == 0) {
        rc = tr_err_set(err, TR_EIO,
                        "cannot %s: no UploadId in the answer "
                        "to CreateMultipartUpload",
                        what);
        goto done;
    }
    created = true;
    tr_buf_append_str(&query, "uploadId=");
    if (tr_s3_uri_encode(upload_id.data, false, &query) != TR_OK) {
        rc = tr_err_set(err, TR_ENOMEM, "cannot %s: out of memory", what);
        goto done;
    }
    /* UploadPart, in order. */
    for (uint64_t i = 0; i < nparts; i++) {
        uint64_t off = i * ps;
        uint64_t len = size - off < ps ? size - off : ps;
        char q[64];
        snprintf(q, sizeof(q), "partNumber=%llu&", (unsigned long long)i + 1);
        tr_buf_reset(&url);
        tr_buf_reset(&part_query);
        /* partNumber sorts before uploadId, as SigV4 wants. */
        if (tr_buf_append_str(&part_query, q) != TR_OK ||
            tr_buf_append(&part_query, query.data, query.len) != TR_OK ||
            build_url(s, key, part_query.data, &url) != TR_OK) {
            rc = tr_err_set(err, TR_ENOMEM, "cannot %s: out of memory", what);
            goto done;
        }
        tr_buf_reset(&resp);
        struct s3_req pr = {
            .method = "PUT",
            .url = url.data,
            .has_body = true,
            .body_size = len,
            .read = read,
            .read_arg = arg,
            .read_base = off,
            .resp = &resp,
        };
        rc = perform(s, &pr, what, err);
        if (rc != TR_OK) {
            tr_err_prefix(err, "part %llu of %llu", (unsigned long long)i + 1,
                          (unsigned long long)nparts);
            goto done;
        }
        if (pr.etag[0] == '\0') {
            rc = tr_err_set(err, TR_EIO, "cannot %s: no ETag for part %llu",
                            what, (unsigned long long)i + 1);
            goto done;
        }
        etags[i] = tr_strdup(pr.etag);
        if (etags[i] == NULL) {
            rc = tr_err_set(err, TR_ENOMEM, "cannot %s: out of memory", what);
            goto done;
        }
    }
    /* CompleteMultipartUpload */
    tr_buf_reset(&body);
    tr_buf_append_str(&body, "<CompleteMultipartUpload>");
    for (uint64_t i = 0; i < nparts; i++) {
        tr_buf_appendf(&body, "<Part><PartNumber>%llu</PartNumber><ETag>",
                       (unsigned long long)i + 1);
        tr_xml_escape(etags[i], strlen(etags[i]), &body);
        tr_buf_append_str(&body, "</ETag></Part>");
    }
    tr_buf_reset(&url);
    if (tr_buf_append_str(&body, "</CompleteMultipartUpload>") != TR_OK ||
        build_url(s, key, query.data, &url) != TR_OK) {
        rc = tr_err_set(err, TR_ENOMEM, "cannot %s: out of memory", what);
        goto done;
    }
    tr_buf_reset(&resp);
    struct s3_req cm = {
        .method = "POST",
        .url = url.data,
        .content_type = "application/xml",
        .has_body = true,
        .body_size = body.len,
        .read = read_mem_body,
        .read_arg = &body,
        .check_body_error = true,
        .resp = &resp,
    };
    rc = perform(s, &cm, what, err);
    if (rc != TR_OK) {
        tr_err_prefix(err, "cannot complete multipart upload");
    }
done:
    if (rc != TR_OK && created) {
        abort_upload(s, key, query.data);
    }
    for (uint64_t i = 0; etags != NULL && i < nparts; i++) {
        tr_free(etags[i]);
    }
    tr_free(etags);
    tr_buf_fini(&url);
    tr_buf_fini(&resp);
    tr_buf_fini(&upload_id);
    tr_buf_fini(&query);
    tr_buf_fini(&body);
    tr_buf_fini(&part_query);
    return rc;
}

static int
s3_put(void *impl, const char *key, uint64_t size, tr_objstore_read_fn read,
       void *arg, struct tr_err *err)
{
    struct s3_store *s = impl;
    char what[TR_OBJSTORE_KEY_MAX + 160];
    snprintf(what, sizeof(what), "put %s to s3 bucket %s", key, s->bucket);
    if (size >= s->o.s3_multipart_threshold) {
        return put_multipart(s, key, size, read, arg, what, err);
    }
    return put_single(s, key, size, read, arg, what, err);
}

static int
s3_get(void *impl, const char *key, bool ranged, uint64_t offset, uint64_t len,
       struct tr_buf *out, struct tr_err *err)
{
    struct s3_store *s = impl;
    char what[TR_OBJSTORE_KEY_MAX + 160];
    char range[64];
    struct tr_buf url = TR_BUF_INIT;
    size_t orig_len = out->len;
    snprintf(what, sizeof(what), "%s %s from s3 bucket %s",
             ranged ? "get range of" : "get", key, s->bucket);
    if (build_url(s, key, NULL, &url) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM, "cannot %s: out of memory", what);
    }
    snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)offset,
             (unsigned long long)(offset + len - 1));
    struct s3_req r = {
        .method = "GET",
        .url = url.data,
        .range = ranged ? range : NULL,
        .resp = out,
    };
    int rc = perform(s, &r, what, err);
    tr_buf_fini(&url);
    if (rc == TR_EINVAL && r.status == 416) {
        /* Whole range past the end. */
        if (err != NULL) {
            tr_err_set(err, TR_EINVAL,
                       "cannot get range of %s: bytes %llu-%llu reach past "
                       "the end of the object (%lld bytes)",
                       key, (unsigned long long)offset,
                       (unsigned long long)(offset + len - 1),
                       (long long)r.total_size);
        }
        return rc;
    }
    if (rc != TR_OK || !ranged) {
        return rc;
    }
    size_t got = out->len - orig_len;
    if (r.status == 200) {
        /* The server ignored Range and sent everything: cut our slice. */
        r.total_size = (int64_t)got;
        if (offset <= got && len <= got - offset) {
            memmove(out->data + orig_len, out->data + orig_len + offset,
                    (size_t)len);
            out->len = orig_len + (size_t)len;
            return TR_OK;
        }
    } else if (got == len) {
        return TR_OK;
    } else if (got > len && r.range_first >= 0 &&
               (uint64_t)r.range_first == offset) {
        /* More than asked, starting where asked: s3rver 3.7 answers
         * "bytes=0-0" with the whole object. Keep what was asked for. */
        out->len = orig_len + (size_t)len;
        return TR_OK;
    }
    out->len = orig_len;
    return tr_err_set(err, TR_EINVAL,
                      "cannot get range of %s: bytes %llu-%llu reach past the "
                      "end of the object (%lld bytes)",
                      key, (unsigned long long)offset,
                      (unsigned long long)(offset + len - 1),
                      (long long)r.total_size);
}

static int
s3_stat(void *impl, const char *key, uint64_t *size, struct tr_err *err)
{
    struct s3_store *s = impl;
    char what[TR_OBJSTORE_KEY_MAX + 160];
    struct tr_buf url = TR_BUF_INIT;
    struct tr_buf resp = TR_BUF_INIT;
    snprintf(what, sizeof(what), "stat %s in s3 bucket %s", key, s->bucket);
    if (build_url(s, key, NULL, &url) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM, "cannot %s: out of memory", what);
    }
    struct s3_req r = {.method = "HEAD", .url = url.data, .resp = &resp};
    int rc = perform(s, &r, what, err);
    if (rc == TR_OK && r.content_length < 0) {
        rc = tr_err_set(err, TR_EIO,
                        "cannot %s: no Content-Length in the "
                        "answer",
                        what);
    }
    if (rc == TR_OK) {
        *size = (uint64_t)r.content_length;
    }
    tr_buf_fini(&url);
    tr_buf_fini(&resp);
    return rc;
}

static int
s3_del(void *impl, const char *key, struct tr_err *err)
{
    struct s3_store *s = impl;
    char what[TR_OBJSTORE_KEY_MAX + 160];
    struct tr_buf url = TR_BUF_INIT;
    struct tr_buf resp = TR_BUF_INIT;
    snprintf(what, sizeof(what), "delete %s from s3 bucket %s", key, s->bucket);
    if (build_url(s, key, NULL, &url) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM, "cannot %s: out of memory", what);
    }
    struct s3_req r = {.method = "DELETE", .url = url.data, .resp = &resp};
    int rc = perform(s, &r, what, err);
    if (rc == TR_ENOTFOUND) {
        rc = TR_OK; /* already gone: deleting is idempotent */
    }
    tr_buf_fini(&url);
    tr_buf_fini(&resp);
    return rc;
}

/* One entry of a ListObjectsV2 page, before merging. */
struct page_entry {
    struct tr_xml_span key; /* still escaped */
    uint64_t size;
    bool is_prefix;
};

static int
s3_list(void *impl, const char *prefix, const char *delimiter,
        tr_objstore_list_fn fn, void *arg, struct tr_err *err)
{
    struct s3_store *s = impl;
    char what[TR_OBJSTORE_KEY_MAX + 160];
    struct tr_buf url = TR_BUF_INIT;
    struct tr_buf query = TR_BUF_INIT;
    struct tr_buf resp = TR_BUF_INIT;
    struct tr_buf token = TR_BUF_INIT;
    struct tr_buf a = TR_BUF_INIT; /* unescaped key of a Contents entry */
    struct tr_buf b = TR_BUF_INIT; /* unescaped CommonPrefixes entry */
    int rc = TR_OK;
    snprintf(what, sizeof(what), "list prefix \"%s\" in s3 bucket %s", prefix,
             s->bucket);
    for (bool more = true; more;) {
        /* Parameters in SigV4 order: continuation-token, delimiter,
         * list-type, prefix. */
        tr_buf_reset(&query);
        tr_buf_reset(&url);
        if (token.len > 0) {
            tr_buf_append_str(&query, "continuation-token=");
            tr_s3_uri_encode(token.data, false, &query);
            tr_buf_append_byte(&query, '&');
        }
        if (delimiter[0] != '\0') {
            tr_buf_append_str(&query, "delimiter=");
            tr_s3_uri_encode(delimiter, false, &query);
            tr_buf_append_byte(&query, '&');
        }
        tr_buf_append_str(&query, "list-type=2&prefix=");
        if (tr_s3_uri_encode(prefix, false, &query) != TR_OK ||
            build_url(s, NULL, query.data, &url) != TR_OK) {
            rc = tr_err_set(err, TR_ENOMEM, "cannot %s: out of memory", what);
            break;
        }
        tr_buf_reset(&resp);
        struct s3_req r = {.method = "GET", .url = url.data, .resp = &resp};
        rc = perform(s, &r, what, err);
        if (rc != TR_OK) {
            break;
        }
        const char *doc = resp.data ? resp.data : "";
        size_t len = resp.len;
        struct tr_xml_span span;
        size_t from = 0;
        more = tr_xml_find(doc, len, &from, "IsTruncated", &span) &&
               span.len == 4 && memcmp(span.p, "true", 4) == 0;
        tr_buf_reset(&token);
        if (more) {
            from = 0;
            if (!tr_xml_find(doc, len, &from, "NextContinuationToken", &span) ||
                tr_xml_unescape(span, &token) != TR_OK || token.len == 0) {
                rc = tr_err_set(err, TR_EIO,
                                "cannot %s: truncated listing "
                                "without NextContinuationToken",
                                what);
                break;
            }
        }
        /* Contents and CommonPrefixes are each sorted; merge them so the
         * callback sees one ordered stream. */
        size_t cfrom = 0;
        size_t pfrom = 0;
        bool have_c = false;
        bool have_p = false;
        uint64_t csize = 0;
        for (;;) {
            struct tr_xml_span blk;
            if (!have_c && tr_xml_find(doc, len, &cfrom, "Contents", &blk)) {
                size_t f = 0;
                struct tr_xml_span k;
                struct tr_xml_span sz;
                tr_buf_reset(&a);
                if (!tr_xml_find(blk.p, blk.len, &f, "Key", &k) ||
                    tr_xml_unescape(k, &a) != TR_OK || a.len == 0) {
                    rc = tr_err_set(err, TR_EIO,
                                    "cannot %s: malformed "
                                    "Contents entry in the listing",
                                    what);
                    goto done;
                }
                f = 0;
                csize = 0;
                if (tr_xml_find(blk.p, blk.len, &f, "Size", &sz)) {
                    for (size_t i = 0; i < sz.len; i++) {
                        if (sz.p[i] >= '0' && sz.p[i] <= '9') {
                            csize = csize * 10 + (uint64_t)(sz.p[i] - '0');
                        }
                    }
                }
                have_c = true;
            }
            if (!have_p &&
                tr_xml_find(doc, len, &pfrom, "CommonPrefixes", &blk)) {
                size_t f = 0;
                struct tr_xml_span k;
                tr_buf_reset(&b);
                if (!tr_xml_find(blk.p, blk.len, &f, "Prefix", &k) ||
                    tr_xml_unescape(k, &b) != TR_OK || b.len == 0) {
                    rc = tr_err_set(err, TR_EIO,
                                    "cannot %s: malformed "
                                    "CommonPrefixes entry in the listing",
                                    what);
                    goto done;
                }
                have_p = true;
            }
            if (!have_c && !have_p) {
                break;
            }
            bool take_c = have_c && (!have_p || strcmp(a.data, b.data) < 0);
            struct tr_objstore_entry e;
            if (take_c) {
                e = (struct tr_objstore_entry){a.data, csize, false};
                have_c = false;
            } else {
                e = (struct tr_objstore_entry){b.data, 0, true};
                have_p = false;
            }
            rc = fn(arg, &e, err);
            if (rc != TR_OK) {
                rc = rc > 0 ? TR_OK : rc;
                goto done;
            }
        }
    }
done:
    tr_buf_fini(&url);
    tr_buf_fini(&query);
    tr_buf_fini(&resp);
    tr_buf_fini(&token);
    tr_buf_fini(&a);
    tr_buf_fini(&b);
    return rc;
}

const struct tr_objstore_backend tr_objstore_s3_backend = {
    .name = "s3",
    .put = s3_put,
    .get = s3_get,
    .stat = s3_stat,
    .del = s3_del,
    .list = s3_list,
    .destroy = s3_destroy,
};
