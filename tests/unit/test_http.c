/*
 * Unit tests for lib/http: a real server on 127.0.0.1 (port 0) driven with
 * libcurl, plus the body codecs on their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <snappy-c.h>
#include <zlib.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "http/encoding.h"
#include "http/server.h"
#include "metrics/registry.h"

#define MAX_BODY (256 * 1024)
#define MAX_DECODED (1024 * 1024)

static struct tr_http_server *srv;
static struct tr_metrics_registry *reg;
static uint16_t port;

/* ---- handlers --------------------------------------------------------- */

/* Describes the request: method, route, path params. */
static void
h_echo(struct tr_http_req *req, void *arg)
{
    const char *tag = arg;
    const char *name = tr_http_req_path_param(req, "name");
    const char *rest = tr_http_req_path_param(req, "rest");
    char text[512];
    int n = snprintf(text, sizeof(text), "%s %s route=%s name=%s rest=%s", tag,
                     tr_http_req_method(req), tr_http_req_route(req),
                     name != NULL ? name : "-", rest != NULL ? rest : "-");
    tr_http_add_header(req, "X-Test", "yes");
    tr_http_reply(req, 200, "text/plain", text, (size_t)n);
}

/* Lists parameters: first value of x, all values of match[]. */
static void
h_params(struct tr_http_req *req, void *arg)
{
    struct tr_buf b = TR_BUF_INIT;
    const char *x = tr_http_req_param(req, "x");
    tr_buf_appendf(&b, "x=%s match=", x != NULL ? x : "(none)");
    const char *const *vals;
    size_t n = tr_http_req_param_all(req, "match[]", &vals);
    for (size_t i = 0; i < n; i++) {
        tr_buf_appendf(&b, "%s[%s]", i > 0 ? "," : "", vals[i]);
    }
    const char *h = tr_http_req_header(req, "x-MiXeD-case");
    tr_buf_appendf(&b, " hdr=%s remote=%s", h != NULL ? h : "-",
                   tr_http_req_remote_addr(req));
    tr_http_reply_buf(req, 200, "text/plain", &b);
}

/* Answers with the decoded body's length, checksum and snappy flag. */
static void
h_body(struct tr_http_req *req, void *arg)
{
    size_t len;
    const char *body = tr_http_req_body(req, &len);
    uLong crc = crc32(0, (const Bytef *)body, (uInt)len);
    char text[128];
    int n = snprintf(text, sizeof(text), "len=%zu crc=%08lx snappy=%d", len,
                     crc, tr_http_req_body_was_snappy(req));
    tr_http_reply(req, 200, "text/plain", text, (size_t)n);
}

static void
h_prom_error(struct tr_http_req *req, void *arg)
{
    tr_http_reply_prom_error(req, 400, "bad_data", "cannot parse \"%s\"",
                             "q\"x");
}

static void
h_silent(struct tr_http_req *req, void *arg)
{
    (void)req; /* forgets to reply: the server answers 500 */
}

static atomic_int slow_entered;

static void
h_slow(struct tr_http_req *req, void *arg)
{
    atomic_store(&slow_entered, 1);
    struct timespec ts = {0, 400 * 1000 * 1000};
    nanosleep(&ts, NULL);
    /* the arena is usable until the response is sent */
    char *s = tr_arena_sprintf(tr_http_req_arena(req), "slow %s", "done");
    tr_http_reply(req, 200, "text/plain", s, strlen(s));
}

/* ---- client ----------------------------------------------------------- */

struct resp {
    long status;
    struct tr_buf body;
    char allow[128];
    char ctype[128];
    char xtest[16];
    long connects;
};

static size_t
on_data(char *p, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    tr_buf_append(&r->body, p, size * n);
    return size * n;
}

static void
copy_header(const char *line, size_t len, const char *name, char *out,
            size_t cap)
{
    size_t nl = strlen(name);
    if (len > nl + 1 && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
        const char *v = line + nl + 1;
        size_t vl = len - nl - 1;
        while (vl > 0 && *v == ' ') {
            v++;
            vl--;
        }
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n')) {
            vl--;
        }
        snprintf(out, cap, "%.*s", (int)vl, v);
    }
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    copy_header(p, size * n, "Allow", r->allow, sizeof(r->allow));
    copy_header(p, size * n, "Content-Type", r->ctype, sizeof(r->ctype));
    copy_header(p, size * n, "X-Test", r->xtest, sizeof(r->xtest));
    return size * n;
}

/*
 * Performs one request on handle c (NULL: a fresh handle). headers is a
 * NULL-terminated list or NULL. body NULL means no body.
 */
static void
request_on(CURL *c, const char *method, const char *path, const void *body,
           size_t len, const char *const *headers, struct resp *r)
{
    bool own = c == NULL;
    if (own) {
        c = curl_easy_init();
    }
    memset(r, 0, sizeof(*r));
    char url[2048];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(c, CURLOPT_HTTPGET, strcmp(method, "GET") == 0);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    struct curl_slist *hl = NULL;
    /* No "Expect: 100-continue" round trip for big bodies. */
    hl = curl_slist_append(hl, "Expect:");
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        hl = curl_slist_append(hl, headers[i]);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        print_error("curl %s %s: %s\n", method, path, curl_easy_strerror(rc));
    }
    assert_int_equal(rc, CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r->connects);
    tr_buf_append(&r->body, "", 0);
    if (r->body.data == NULL) {
        tr_buf_append_byte(&r->body, 0);
        r->body.len = 0;
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
    if (own) {
        curl_easy_cleanup(c);
    }
}

static void
request(const char *method, const char *path, const void *body, size_t len,
        const char *const *headers, struct resp *r)
{
    request_on(NULL, method, path, body, len, headers, r);
}

/* ---- fixture ---------------------------------------------------------- */

static int
setup(void **state)
{
    reg = tr_metrics_registry_create();
    struct tr_err err;
    struct tr_http_server_opts o = {
        .addr = "127.0.0.1",
        .port = 0,
        .threads = 2,
        .max_body_bytes = MAX_BODY,
        .max_decoded_bytes = MAX_DECODED,
        .timeout_ms = 10000,
        .stop_grace_ms = 3000,
        .metrics = reg,
        .name = "test",
    };
    srv = tr_http_server_create(&o, &err);
    if (srv == NULL) {
        print_error("%s\n", err.msg);
        return -1;
    }
    struct {
        unsigned methods;
        const char *pattern;
        tr_http_handler_fn fn;
        void *arg;
    } routes[] = {
        {TR_HTTP_GET, "/", h_echo, "root"},
        {TR_HTTP_GET, "/api/v1/labels", h_echo, "labels"},
        {TR_HTTP_GET, "/api/v1/label/{name}/values", h_echo, "values"},
        {TR_HTTP_GET, "/api/v1/label/__name__/values", h_echo, "names"},
        {TR_HTTP_GET | TR_HTTP_POST, "/loki/api/v1/{rest...}", h_echo,
         "loki-rest"},
        {TR_HTTP_GET, "/loki/api/v1/push", h_echo, "push-get"},
        {TR_HTTP_DELETE, "/loki/api/v1/push", h_echo, "push-delete"},
        {TR_HTTP_GET | TR_HTTP_POST, "/params", h_params, NULL},
        {TR_HTTP_POST | TR_HTTP_PUT, "/body", h_body, NULL},
        {TR_HTTP_GET, "/prom-error", h_prom_error, NULL},
        {TR_HTTP_GET, "/silent", h_silent, NULL},
        {TR_HTTP_GET, "/slow", h_slow, NULL},
        {TR_HTTP_GET, "/metrics", tr_http_metrics_handler, NULL},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        void *arg = routes[i].fn == tr_http_metrics_handler ? (void *)reg
                                                            : routes[i].arg;
        if (tr_http_route(srv, routes[i].methods, routes[i].pattern,
                          routes[i].fn, arg, &err) != TR_OK) {
            print_error("%s\n", err.msg);
            return -1;
        }
    }
    if (tr_http_server_start(srv, &err) != TR_OK) {
        print_error("%s\n", err.msg);
        return -1;
    }
    port = tr_http_server_port(srv);
    return port != 0 ? 0 : -1;
}

static int
teardown(void **state)
{
    tr_http_server_destroy(srv);
    srv = NULL;
    tr_metrics_registry_destroy(reg);
    reg = NULL;
    return 0;
}

static void
expect(const char *method, const char *path, long status, const char *body)
{
    struct resp r;
    request(method, path, NULL, 0, NULL, &r);
    if (r.status != status || strcmp(r.body.data, body) != 0) {
        print_error("%s %s: got %ld '%s', want %ld '%s'\n", method, path,
                    r.status, r.body.data, status, body);
        fail();
    }
    tr_buf_fini(&r.body);
}

/* ---- tests ------------------------------------------------------------ */

static void
test_routing(void **state)
{
    expect("GET", "/", 200, "root GET route=/ name=- rest=-");
    expect("GET", "/api/v1/labels", 200,
           "labels GET route=/api/v1/labels name=- rest=-");
    expect("GET", "/api/v1/label/job/values", 200,
           "values GET route=/api/v1/label/{name}/values name=job rest=-");
    /* exact beats parameter, whatever the registration order */
    expect("GET", "/api/v1/label/__name__/values", 200,
           "names GET route=/api/v1/label/__name__/values name=- rest=-");
    /* percent-decoded path segments */
    expect("GET", "/api/v1/label/a%20b/values", 200,
           "values GET route=/api/v1/label/{name}/values name=a b rest=-");
    expect("GET", "/loki/api/v1/query_range", 200,
           "loki-rest GET route=/loki/api/v1/{rest...} name=- "
           "rest=query_range");
    expect("GET", "/loki/api/v1/a/b/c", 200,
           "loki-rest GET route=/loki/api/v1/{rest...} name=- rest=a/b/c");
    expect("GET", "/loki/api/v1/", 200,
           "loki-rest GET route=/loki/api/v1/{rest...} name=- rest=");
    /* exact route for GET, rest route still serves POST */
    expect("GET", "/loki/api/v1/push", 200,
           "push-get GET route=/loki/api/v1/push name=- rest=-");
    expect("DELETE", "/loki/api/v1/push", 200,
           "push-delete DELETE route=/loki/api/v1/push name=- rest=-");
    expect("POST", "/loki/api/v1/push", 200,
           "loki-rest POST route=/loki/api/v1/{rest...} name=- rest=push");

    /* 404 with a clear body */
    expect("GET", "/nope", 404, "not found: /nope\n");
    expect("GET", "/api/v1/label//values", 404,
           "not found: /api/v1/label//values\n");
    expect("GET", "/api/v1/labels/extra", 404,
           "not found: /api/v1/labels/extra\n");

    /* 405 with Allow */
    struct resp r;
    request("POST", "/api/v1/labels", "", 0, NULL, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "GET, HEAD");
    assert_string_equal(r.body.data, "method POST not allowed for "
                                     "/api/v1/labels (allowed: GET, HEAD)\n");
    tr_buf_fini(&r.body);
    request("PUT", "/params", "", 0, NULL, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "GET, POST, HEAD");
    tr_buf_fini(&r.body);

    /* HEAD is served by GET routes, without a body */
    request("HEAD", "/api/v1/labels", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    tr_buf_fini(&r.body);

    /* extra headers and content type arrive */
    request("GET", "/", NULL, 0, NULL, &r);
    assert_string_equal(r.xtest, "yes");
    assert_string_equal(r.ctype, "text/plain");
    tr_buf_fini(&r.body);
}

static void
test_route_errors(void **state)
{
    struct tr_err err;
    struct tr_http_server_opts o = {.addr = "127.0.0.1", .metrics = reg};
    struct tr_http_server *s = tr_http_server_create(&o, &err);
    assert_non_null(s);
    assert_int_equal(tr_http_route(s, TR_HTTP_GET, "nope", h_echo, NULL, &err),
                     TR_EINVAL);
    assert_int_equal(
        tr_http_route(s, TR_HTTP_GET, "/a/{x...}/b", h_echo, NULL, &err),
        TR_EINVAL);
    assert_non_null(strstr(err.msg, "last segment"));
    assert_int_equal(
        tr_http_route(s, TR_HTTP_GET, "/a/x{y}", h_echo, NULL, &err),
        TR_EINVAL);
    assert_int_equal(tr_http_route(s, TR_HTTP_GET, "/a/{}", h_echo, NULL, &err),
                     TR_EINVAL);
    assert_int_equal(
        tr_http_route(s, TR_HTTP_GET | TR_HTTP_POST, "/a", h_echo, NULL, &err),
        TR_OK);
    assert_int_equal(tr_http_route(s, TR_HTTP_POST, "/a", h_echo, NULL, &err),
                     TR_EINVAL);
    assert_int_equal(tr_http_route(s, TR_HTTP_PUT, "/a", h_echo, NULL, &err),
                     TR_OK);
    /* never started: port 0, stop and destroy are fine */
    assert_int_equal(tr_http_server_port(s), 0);
    tr_http_server_destroy(s);

    /* a port in use is reported */
    o.port = port;
    s = tr_http_server_create(&o, &err);
    assert_non_null(s);
    assert_int_equal(tr_http_server_start(s, &err), TR_EIO);
    assert_non_null(strstr(err.msg, "cannot start http server"));
    tr_http_server_destroy(s);
}

static void
test_params(void **state)
{
    struct resp r;
    request("GET",
            "/params?match[]=up&x=1+2%21&match%5B%5D=a%3D%22b%22&x=second&"
            "empty=&novalue&match[]=",
            NULL, 0, (const char *const[]){"X-Mixed-Case: hi", NULL}, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.data, "x=1 2! match=[up],[a=\"b\"],[] "
                                        "hdr=hi remote=127.0.0.1:"));
    tr_buf_fini(&r.body);

    /* POST form: body values first, then the query string */
    const char *form = "match[]=body1&x=from-body&match[]=body%202";
    request("POST", "/params?match[]=query1&x=from-query", form, strlen(form),
            (const char *const[]){
                "Content-Type: application/x-www-form-urlencoded", NULL},
            &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.data, "x=from-body match=[body1],[body 2],"
                                        "[query1] "));
    tr_buf_fini(&r.body);

    /* a body that is not a form is not parsed as one */
    request("POST", "/params?x=q", form, strlen(form),
            (const char *const[]){"Content-Type: text/plain", NULL}, &r);
    assert_non_null(strstr(r.body.data, "x=q match= "));
    tr_buf_fini(&r.body);

    /* no parameters at all */
    request("GET", "/params", NULL, 0, NULL, &r);
    assert_non_null(strstr(r.body.data, "x=(none) match= hdr=-"));
    tr_buf_fini(&r.body);
}

static void
gzip_data(const void *in, size_t len, int window_bits, struct tr_buf *out)
{
    z_stream zs = {0};
    assert_int_equal(
        deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY),
        Z_OK);
    size_t cap = deflateBound(&zs, (uLong)len) + 64;
    tr_buf_reserve(out, cap);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->data + out->len;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out->len += cap - zs.avail_out;
    deflateEnd(&zs);
}

/* Pseudo-random text that compresses somewhat. */
static char *
make_payload(size_t len)
{
    char *p = tr_malloc(len);
    uint32_t x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245 + 12345;
        p[i] = "abcdefghij \n{}\"0123"[(x >> 16) % 20];
    }
    return p;
}

static void
expect_body(const char *enc, const struct tr_buf *data, const char *plain,
            size_t plain_len, bool snappy)
{
    char hdr[64];
    snprintf(hdr, sizeof(hdr), "Content-Encoding: %s", enc);
    struct resp r;
    request("POST", "/body", data->data, data->len,
            (const char *const[]){hdr, NULL}, &r);
    char want[128];
    snprintf(want, sizeof(want), "len=%zu crc=%08lx snappy=%d", plain_len,
             crc32(0, (const Bytef *)plain, (uInt)plain_len), snappy);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, want);
    tr_buf_fini(&r.body);
}

static void
test_encoded_bodies(void **state)
{
    size_t len = 200000;
    char *plain = make_payload(len);
    struct tr_buf gz = TR_BUF_INIT;
    struct tr_buf zl = TR_BUF_INIT;
    struct tr_buf raw = TR_BUF_INIT;
    struct tr_buf sn = TR_BUF_INIT;
    gzip_data(plain, len, 31, &gz);
    gzip_data(plain, len, 15, &zl);
    gzip_data(plain, len, -15, &raw);
    assert_int_equal(tr_http_encode_snappy(plain, len, &sn, NULL), TR_OK);

    expect_body("gzip", &gz, plain, len, false);
    expect_body("deflate", &zl, plain, len, false);
    expect_body("deflate", &raw, plain, len, false);
    expect_body("snappy", &sn, plain, len, true);
    expect_body("SNAPPY", &sn, plain, len, true);

    /* identity: as is */
    struct tr_buf id = TR_BUF_INIT;
    tr_buf_append(&id, plain, 1000);
    expect_body("identity", &id, plain, 1000, false);

    /* empty body */
    struct resp r;
    request("POST", "/body", "", 0, NULL, &r);
    assert_string_equal(r.body.data, "len=0 crc=00000000 snappy=0");
    tr_buf_fini(&r.body);

    /* unknown encoding: 415 naming it */
    request("POST", "/body", plain, 100,
            (const char *const[]){"Content-Encoding: br", NULL}, &r);
    assert_int_equal(r.status, 415);
    assert_string_equal(r.body.data, "cannot decode body: unsupported "
                                     "Content-Encoding \"br\"\n");
    tr_buf_fini(&r.body);

    /* corrupt data: 400 */
    request("POST", "/body", plain, 100,
            (const char *const[]){"Content-Encoding: gzip", NULL}, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body.data, "cannot decode gzip body"));
    tr_buf_fini(&r.body);
    request("POST", "/body", plain, 100,
            (const char *const[]){"Content-Encoding: snappy", NULL}, &r);
    assert_int_equal(r.status, 400);
    tr_buf_fini(&r.body);

    tr_buf_fini(&gz);
    tr_buf_fini(&zl);
    tr_buf_fini(&raw);
    tr_buf_fini(&sn);
    tr_buf_fini(&id);
    tr_free(plain);
}

static void
test_body_limits(void **state)
{
    /* Over the received-size limit with Content-Length: 413 at once. */
    size_t big = MAX_BODY + 1;
    char *data = make_payload(big);
    struct resp r;
    request("POST", "/body", data, big, NULL, &r);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body.data, "request body too large"));
    tr_buf_fini(&r.body);
    /* Exactly at the limit is fine. */
    request("POST", "/body", data, MAX_BODY, NULL, &r);
    assert_int_equal(r.status, 200);
    tr_buf_fini(&r.body);

    /* Chunked (no Content-Length): 413 after the limit is passed. */
    request("POST", "/body", data, big,
            (const char *const[]){"Transfer-Encoding: chunked", NULL}, &r);
    assert_int_equal(r.status, 413);
    tr_buf_fini(&r.body);

    /* Gzip bomb: 50 MB of zeros in ~50 KB, decoded limit is 1 MiB. */
    size_t zeros_len = 50 * 1024 * 1024;
    char *zeros = tr_calloc(1, zeros_len);
    struct tr_buf gz = TR_BUF_INIT;
    gzip_data(zeros, zeros_len, 31, &gz);
    assert_true(gz.len < MAX_BODY);
    request("POST", "/body", gz.data, gz.len,
            (const char *const[]){"Content-Encoding: gzip", NULL}, &r);
    if (r.status != 413) {
        print_error("gzip bomb: %ld %s\n", r.status, r.body.data);
    }
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body.data, "exceeds the limit of 1048576"));
    tr_buf_fini(&r.body);

    /* Snappy bomb: a header claiming 3.75 GiB is refused before allocating. */
    const unsigned char liar[] = {0x80, 0x80, 0x80, 0x80, 0x0F, 0x00};
    request("POST", "/body", liar, sizeof(liar),
            (const char *const[]){"Content-Encoding: snappy", NULL}, &r);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body.data, "decoded size 4026531840 exceeds"));
    tr_buf_fini(&r.body);

    /* A real snappy body just over the decoded limit. */
    struct tr_buf sn = TR_BUF_INIT;
    assert_int_equal(tr_http_encode_snappy(zeros, MAX_DECODED + 1, &sn, NULL),
                     TR_OK);
    request("POST", "/body", sn.data, sn.len,
            (const char *const[]){"Content-Encoding: snappy", NULL}, &r);
    assert_int_equal(r.status, 413);
    tr_buf_fini(&r.body);

    tr_buf_fini(&sn);
    tr_buf_fini(&gz);
    tr_free(zeros);
    tr_free(data);
}

static void
test_error_helpers(void **state)
{
    struct resp r;
    request("GET", "/prom-error", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.ctype, "application/json");
    assert_string_equal(r.body.data,
                        "{\"status\":\"error\",\"errorType\":\"bad_data\","
                        "\"error\":\"cannot parse \\\"q\\\"x\\\"\"}");
    tr_buf_fini(&r.body);
    request("GET", "/silent", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 500);
    tr_buf_fini(&r.body);
}

static void
test_keep_alive(void **state)
{
    CURL *c = curl_easy_init();
    struct resp r;
    request_on(c, "GET", "/api/v1/labels", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.connects, 1);
    tr_buf_fini(&r.body);
    for (int i = 0; i < 5; i++) {
        request_on(c, "POST", "/body", "abc", 3, NULL, &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.connects, 0); /* reused the connection */
        tr_buf_fini(&r.body);
    }
    curl_easy_cleanup(c);
}

static void
test_metrics_endpoint(void **state)
{
    expect("GET", "/api/v1/label/job/values", 200,
           "values GET route=/api/v1/label/{name}/values name=job rest=-");
    expect("GET", "/nope/x", 404, "not found: /nope/x\n");
    struct resp r;
    request("POST", "/body", "12345", 5, NULL, &r);
    tr_buf_fini(&r.body);
    request("GET", "/metrics", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    const char *body = r.body.data;
    assert_non_null(strstr(body, "# TYPE tr_request_duration_seconds "
                                 "histogram\n"));
    assert_non_null(strstr(
        body,
        "tr_request_duration_seconds_bucket{method=\"GET\",route=\"/"
        "api/v1/label/{name}/values\",status_code=\"200\",le=\"+Inf\"} "));
    assert_non_null(strstr(body,
                           "tr_request_duration_seconds_count{method=\"GET\","
                           "route=\"other\",status_code=\"404\"} "));
    assert_non_null(strstr(body, "tr_request_received_bytes_total{route=\"/"
                                 "body\"} "));
    assert_non_null(strstr(body, "tr_inflight_requests 1\n"));
    tr_buf_fini(&r.body);
}

struct slow_call {
    long status;
    char body[64];
};

static void *
slow_client(void *arg)
{
    struct slow_call *sc = arg;
    struct resp r;
    request("GET", "/slow", NULL, 0, NULL, &r);
    sc->status = r.status;
    snprintf(sc->body, sizeof(sc->body), "%s", r.body.data);
    tr_buf_fini(&r.body);
    return NULL;
}

/* Sends raw bytes on a fresh connection, then either hangs up at once or
 * reads what comes back until the server closes or 2 s pass. */
static void
raw_exchange(const char *data, size_t len, bool hang_up, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    if (hang_up) {
        close(fd);
        out[0] = 0;
        return;
    }
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    size_t n = 0;
    for (;;) {
        ssize_t got = read(fd, out + n, cap - 1 - n);
        if (got <= 0) {
            break;
        }
        n += (size_t)got;
        if (n == cap - 1) {
            break;
        }
    }
    out[n] = '\0';
    close(fd);
}

/* Broken clients must not leak request state (ASan checks at exit). */
static void
test_broken_clients(void **state)
{
    char buf[4096];
    /* a header line without a colon */
    const char *bad = "GET /api/v1/labels HTTP/1.1\r\nHost: x\r\n"
                      "no colon here\r\n\r\n";
    raw_exchange(bad, strlen(bad), false, buf, sizeof(buf));
    assert_non_null(strstr(buf, "HTTP/1.1 400"));
    /* body cut short: the client goes away mid-upload */
    const char *cut = "POST /body HTTP/1.1\r\nHost: x\r\n"
                      "Content-Length: 1000\r\n\r\n0123456789";
    raw_exchange(cut, strlen(cut), true, buf, sizeof(buf));
    /* The server notices the disconnect and ends the request: only the
     * /metrics request itself is in flight when it looks. */
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    struct resp r;
    request("GET", "/metrics", NULL, 0, NULL, &r);
    assert_non_null(strstr(r.body.data, "\ntr_inflight_requests 1\n"));
    tr_buf_fini(&r.body);
    /* request line only, then close */
    const char *line = "GET /slow HTTP/1.1\r\n";
    raw_exchange(line, strlen(line), true, buf, sizeof(buf));
    /* the server still works */
    expect("GET", "/api/v1/labels", 200,
           "labels GET route=/api/v1/labels name=- rest=-");
}

/* Runs last: stops the fixture's server with a request in flight. */
static void
test_stop_with_request_in_flight(void **state)
{
    struct slow_call sc = {0};
    pthread_t th;
    atomic_store(&slow_entered, 0);
    assert_int_equal(pthread_create(&th, NULL, slow_client, &sc), 0);
    while (!atomic_load(&slow_entered)) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* Stop waits for the slow handler (400 ms), not for the grace period
     * (3 s): nothing else may be left in flight, e.g. from broken clients. */
    struct timespec t0;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tr_http_server_stop(srv);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(took < 2.0);
    pthread_join(th, NULL);
    assert_int_equal(sc.status, 200);
    assert_string_equal(sc.body, "slow done");
    assert_int_equal(tr_http_server_port(srv), 0);
    tr_http_server_stop(srv); /* idempotent */

    /* New connections are refused after stop. */
    CURL *c = curl_easy_init();
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    assert_int_not_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
}

/* ---- codecs on their own ---------------------------------------------- */

static void
test_codecs(void **state)
{
    struct tr_err err;
    struct tr_buf out = TR_BUF_INIT;
    const char *text = "hello hello hello hello";
    size_t len = strlen(text);

    /* two concatenated gzip members decode to both texts */
    struct tr_buf gz = TR_BUF_INIT;
    gzip_data(text, len, 31, &gz);
    gzip_data(text, len, 31, &gz);
    assert_int_equal(tr_http_decode_gzip(gz.data, gz.len, 1000, &out, &err),
                     TR_OK);
    assert_int_equal(out.len, 2 * len);
    assert_memory_equal(out.data + len, text, len);

    /* exact limit passes, one byte less fails */
    tr_buf_reset(&out);
    assert_int_equal(tr_http_decode_gzip(gz.data, gz.len, 2 * len, &out, &err),
                     TR_OK);
    tr_buf_reset(&out);
    assert_int_equal(
        tr_http_decode_gzip(gz.data, gz.len, 2 * len - 1, &out, &err),
        TR_ELIMIT);

    /* truncated input */
    tr_buf_reset(&out);
    assert_int_equal(
        tr_http_decode_gzip(gz.data, gz.len / 2 - 5, 1000, &out, &err),
        TR_EINVAL);
    assert_non_null(strstr(err.msg, "truncated"));
    /* trailing garbage after a gzip member */
    tr_buf_append(&gz, "xyz", 3);
    tr_buf_reset(&out);
    assert_int_equal(tr_http_decode_gzip(gz.data, gz.len, 1000, &out, &err),
                     TR_EINVAL);

    /* snappy round trip, limit checked from the header */
    struct tr_buf sn = TR_BUF_INIT;
    assert_int_equal(tr_http_encode_snappy(text, len, &sn, &err), TR_OK);
    tr_buf_reset(&out);
    assert_int_equal(tr_http_decode_snappy(sn.data, sn.len, len, &out, &err),
                     TR_OK);
    assert_memory_equal(out.data, text, len);
    tr_buf_reset(&out);
    assert_int_equal(
        tr_http_decode_snappy(sn.data, sn.len, len - 1, &out, &err), TR_ELIMIT);
    assert_int_equal(out.len, 0); /* nothing decoded */

    /* dispatcher */
    tr_buf_reset(&out);
    assert_int_equal(tr_http_decode("zstd", "x", 1, 10, &out, &err),
                     TR_ENOTFOUND);
    assert_string_equal(err.msg, "cannot decode body: unsupported "
                                 "Content-Encoding \"zstd\"");
    assert_int_equal(tr_http_decode(NULL, "abc", 3, 2, &out, &err), TR_ELIMIT);
    assert_int_equal(tr_http_decode("", "abc", 3, 3, &out, &err), TR_OK);
    assert_int_equal(out.len, 3);

    tr_buf_fini(&sn);
    tr_buf_fini(&gz);
    tr_buf_fini(&out);
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest server_tests[] = {
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_route_errors),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_encoded_bodies),
        cmocka_unit_test(test_body_limits),
        cmocka_unit_test(test_error_helpers),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_metrics_endpoint),
        cmocka_unit_test(test_broken_clients),
        cmocka_unit_test(test_stop_with_request_in_flight),
    };
    const struct CMUnitTest codec_tests[] = {
        cmocka_unit_test(test_codecs),
    };
    int failed =
        cmocka_run_group_tests_name("server", server_tests, setup, teardown);
    failed += cmocka_run_group_tests_name("codecs", codec_tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
