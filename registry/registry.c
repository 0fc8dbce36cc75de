/* ferry registry client: handle lifecycle, argument checks, ping, endpoint calls. */
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ferry/limits.h"
#include "registry_int.h"

#define DOCKER_HUB_API_HOST "registry-1.docker.io"

static bool
host_ok(const char *h)
{
    size_t n = strlen(h);

    if (n == 0 || n > 255)
        return false;
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']' || *p == '_'))
            return false;
    return true;
}

/* True the first time a host is named in this process. Export and import
 * make a handle per host on each of their threads, and a warning about the
 * host should be read once. Past WARNED_MAX hosts every call is a first. */
#define WARNED_MAX 32
static bool
first_warning(const char *host)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static char *warned[WARNED_MAX];
    static size_t nwarned;
    bool first = true;

    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < nwarned && first; i++)
        if (strcmp(warned[i], host) == 0)
            first = false;
    if (first && nwarned < WARNED_MAX && (warned[nwarned] = ferry_strdup(host)) != NULL)
        nwarned++;
    pthread_mutex_unlock(&mu);
    return first;
}

/* libcurl's global state, set up once before the first handle: a bare
 * curl_easy_init would do it lazily, and racily when the first handles are
 * made on several threads at once (the prefetch, the download threads). */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void
curl_init(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
ferry_registry_new(const char *host, const struct ferry_registry_opts *o,
                   struct ferry_registry **out, struct ferry_error **err)
{
    static const struct ferry_registry_opts defaults = {0};
    struct ferry_registry *r = NULL;
    char *url = NULL;
    int rc = 0;

    if (o == NULL)
        o = &defaults;
    if (host == NULL || !host_ok(host))
        return ferry_error_new(err, FERRY_E_INVALID, "invalid registry host \"%.100s\"",
                               host ? host : "");
    if (o->username != NULL && o->password == NULL)
        return ferry_error_new(err, FERRY_E_INVALID, "registry %s: username given without password",
                               host);
    if (sodium_init() < 0)
        return ferry_error_new(err, FERRY_E_CRYPTO, "libsodium initialisation failed");
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK)
        return ferry_error_new(err, FERRY_E_NETWORK, "libcurl initialisation failed: %s",
                               curl_easy_strerror(curl_init_result));
    r = ferry_calloc(1, sizeof *r);
    if (r == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory creating registry %s", host);
    /* docker.io names the registry, registry-1.docker.io serves the API */
    if (strcasecmp(host, "docker.io") == 0 || strcasecmp(host, "index.docker.io") == 0)
        host = DOCKER_HUB_API_HOST;
    r->host = ferry_strdup(host);
    url = ferry_asprintf("%s://%s/", o->plain_http ? "http" : "https", host);
    r->origin = url ? reg_url_origin(url) : NULL;
    r->ca_file = o->ca_file ? ferry_strdup(o->ca_file) : NULL;
    r->auth_file = o->auth_file ? ferry_strdup(o->auth_file) : NULL;
    r->curl = curl_easy_init();
    if (r->host == NULL || r->origin == NULL || r->curl == NULL ||
        (o->ca_file != NULL && r->ca_file == NULL) ||
        (o->auth_file != NULL && r->auth_file == NULL)) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory creating registry %s", host);
        goto out;
    }
    r->plain_http = o->plain_http;
    r->insecure_tls = o->insecure_tls;
    r->max_retries = o->max_retries > 0   ? o->max_retries
                     : o->max_retries < 0 ? 0
                                          : REG_DEFAULT_RETRIES;
    r->connect_timeout_s =
        o->connect_timeout_s > 0 ? o->connect_timeout_s : REG_DEFAULT_CONNECT_TIMEOUT;
    r->chunk_min = o->chunk_min > 0   ? o->chunk_min
                   : o->chunk_min < 0 ? INT64_MAX
                                      : FERRY_UPLOAD_CHUNK_MIN;
    r->chunk_size = o->chunk_size > 0 ? o->chunk_size : FERRY_UPLOAD_CHUNK_SIZE;
    if (o->username != NULL) {
        r->creds.kind = REG_CRED_BASIC;
        r->creds.username = ferry_strdup(o->username);
        r->creds.secret = ferry_secret_dup(o->password, strlen(o->password));
        r->creds.source = ferry_strdup("the given username and password");
        if (r->creds.username == NULL || r->creds.secret == NULL || r->creds.source == NULL) {
            rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory creating registry %s", host);
            goto out;
        }
        r->creds_loaded = true;
    }
    if (r->insecure_tls && !r->plain_http && first_warning(host))
        ferry_log(FERRY_LOG_WARN, "registry %s: tls certificate verification is off", host);
    r->magic = REGISTRY_MAGIC;
    *out = r;
    r = NULL;
out:
    ferry_free(url);
    ferry_registry_free(r);
    return rc;
}

void
ferry_registry_free(struct ferry_registry *r)
{
    if (r == NULL)
        return;
    reg_auth_reset(r);
    reg_creds_clear(&r->creds);
    if (r->curl != NULL)
        curl_easy_cleanup(r->curl);
    for (size_t i = 0; i < r->nwarnings; i++)
        ferry_free(r->warnings_seen[i]);
    ferry_free(r->host);
    ferry_free(r->origin);
    ferry_free(r->ca_file);
    ferry_free(r->auth_file);
    r->magic = 0;
    ferry_free(r);
}

const char *
ferry_registry_host(const struct ferry_registry *r)
{
    return r != NULL && r->magic == REGISTRY_MAGIC ? r->host : NULL;
}

int
reg_check(const struct ferry_registry *r, struct ferry_error **err)
{
    if (r == NULL || r->magic != REGISTRY_MAGIC)
        return ferry_error_new(err, FERRY_E_INTERNAL, "invalid registry handle");
    return 0;
}

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int
reg_check_repo(const char *repo, struct ferry_error **err)
{
    const char *p = repo;

    if (repo == NULL || repo[0] == '\0' || strlen(repo) > 255)
        goto bad;
    /* components of [a-z0-9._-] that start and end with [a-z0-9], split by '/' */
    for (;;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || !is_lower_alnum(p[0]) || !is_lower_alnum(p[n - 1]))
            goto bad;
        for (size_t i = 0; i < n; i++)
            if (!is_lower_alnum(p[i]) && p[i] != '.' && p[i] != '_' && p[i] != '-')
                goto bad;
        if (p[n] == '\0')
            return 0;
        p += n + 1;
    }
bad:
    return ferry_error_new(err, FERRY_E_INVALID, "invalid repository name \"%.200s\"",
                           repo ? repo : "");
}

int
reg_check_ref(const char *ref, bool *is_digest, struct ferry_digest *d, struct ferry_error **err)
{
    struct ferry_digest tmp;
    size_t n = ref ? strlen(ref) : 0;

    if (n > 0 && strchr(ref, ':') != NULL) {
        *is_digest = true;
        return ferry_digest_parse(ref, d ? d : &tmp, err);
    }
    *is_digest = false;
    if (n == 0 || n > 128 ||
        !((ref[0] >= 'a' && ref[0] <= 'z') || (ref[0] >= 'A' && ref[0] <= 'Z') ||
          (ref[0] >= '0' && ref[0] <= '9') || ref[0] == '_'))
        goto bad;
    for (const char *p = ref; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-'))
            goto bad;
    return 0;
bad:
    return ferry_error_new(err, FERRY_E_INVALID, "invalid tag \"%.200s\"", ref ? ref : "");
}

char *
reg_what(const struct ferry_registry *r, const char *verb, const char *repo, const char *ref)
{
    if (ref == NULL)
        return ferry_asprintf("%s %s/%s", verb, r->host, repo);
    return ferry_asprintf("%s %s/%s%s%s", verb, r->host, repo, strchr(ref, ':') ? "@" : ":", ref);
}

int
reg_call_init(struct reg_call *c, const struct ferry_registry *r, const char *verb,
              const char *repo, const char *ref, const char *actions, struct ferry_error **err,
              const char *fmt, ...)
{
    va_list ap;

    memset(c, 0, sizeof *c);
    c->what = reg_what(r, verb, repo, ref);
    if (actions != NULL)
        c->scope = ferry_asprintf("repository:%s:%s", repo, actions);
    va_start(ap, fmt);
    c->url = reg_url_va(r, fmt, ap);
    va_end(ap);
    if (c->what == NULL || c->url == NULL || (actions != NULL && c->scope == NULL))
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    return 0;
}

int
reg_call_send(struct reg_call *c, struct ferry_registry *r, long want, struct ferry_error **err)
{
    int rc;

    c->q.url = c->url;
    c->q.what = c->what;
    c->q.scope = c->scope;
    rc = reg_request(r, &c->q, &c->rs, err);
    if (rc == 0 && want != 0 && c->rs.status != want)
        rc = reg_status_error(c->what, &c->rs, err);
    return rc;
}

int
reg_call_exists(struct reg_call *c, struct ferry_registry *r, struct ferry_error **err)
{
    int rc = reg_call_send(c, r, 0, err);

    if (rc < 0)
        return rc;
    if (c->rs.status == 404)
        return 0;
    if (c->rs.status == 200)
        return 1;
    return reg_status_error(c->what, &c->rs, err);
}

/* Link rel="next" of a response, resolved against the URL that answered;
 * *next is NULL on the last page. */
static int
next_page(const struct reg_resp *rs, const char *req_url, const char *what, char **next,
          struct ferry_error **err)
{
    char *target = NULL;
    int rc;

    *next = NULL;
    rc = ferry_link_next_parse(rs->link, &target, err);
    if (rc < 0) {
        ferry_error_wrap(err, "%s", what);
        return rc;
    }
    if (target == NULL)
        return 0;
    *next = ferry_url_resolve(rs->url ? rs->url : req_url, target);
    ferry_free(target);
    if (*next == NULL)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: cannot resolve link \"%.200s\"", what,
                               rs->link);
    if (strcmp(*next, rs->url ? rs->url : req_url) == 0) {
        ferry_safefree(*next);
        return ferry_error_new(err, FERRY_E_INVALID, "%s: link points at the same page", what);
    }
    return 0;
}

int
reg_call_pages(struct reg_call *c, struct ferry_registry *r, long want, reg_page_fn fn, void *ud,
               struct ferry_error **err)
{
    char *next = NULL;
    int rc, pages = 0;

    for (;;) {
        if (pages == FERRY_MAX_TAG_PAGES)
            return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: more than %d pages", c->what,
                                   FERRY_MAX_TAG_PAGES);
        pages++;
        ferry_buf_reset(c->q.out);
        if ((rc = reg_call_send(c, r, want, err)) < 0)
            return rc;
        if ((rc = fn(c, pages, ud, err)) != 0)
            return rc;
        if ((rc = next_page(&c->rs, c->url, c->what, &next, err)) < 0)
            return rc;
        if (next == NULL)
            return 0;
        ferry_free(c->url);
        c->url = next;
        next = NULL;
    }
}

void
reg_call_clear(struct reg_call *c)
{
    reg_resp_clear(&c->rs);
    ferry_safefree(c->url);
    ferry_safefree(c->what);
    ferry_safefree(c->scope);
}

void
reg_upload_cancel(struct ferry_registry *r, const char *location, const char *what)
{
    struct reg_req q = {0};
    struct reg_resp rs = {0};
    struct ferry_error *e = NULL;

    if (location == NULL)
        return;
    q.method = "DELETE";
    q.url = location;
    q.what = what;
    q.no_retry = true;
    if (reg_request(r, &q, &rs, &e) < 0)
        ferry_log(FERRY_LOG_DEBUG, "cancel upload session: %s", e->msg);
    else if (rs.status != 204 && rs.status != 200 && rs.status != 202)
        ferry_log(FERRY_LOG_DEBUG, "%s: cancel upload session: http %ld", what, rs.status);
    ferry_error_free(e);
    reg_resp_clear(&rs);
}

int
ferry_registry_ping(struct ferry_registry *r, struct ferry_error **err)
{
    struct reg_req q = {0};
    struct reg_resp rs = {0};
    char *url = NULL, *what = NULL;
    int rc = reg_check(r, err);

    if (rc < 0)
        return rc;
    url = reg_url(r, "/v2/");
    what = ferry_asprintf("ping %s", r->host);
    if (url == NULL || what == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    q.method = "GET";
    q.url = url;
    q.what = what;
    q.accept = "application/json";
    rc = reg_request(r, &q, &rs, err);
    if (rc == 0 && rs.status == 404)
        rc = ferry_error_http(err, FERRY_E_NOT_FOUND, 404,
                              "%s: http 404: no registry api at %s/v2/", what, r->origin);
    else if (rc == 0 && rs.status != 200)
        rc = reg_status_error(what, &rs, err);
out:
    reg_resp_clear(&rs);
    ferry_free(url);
    ferry_free(what);
    return rc;
}

void
ferry_manifest_info_clear(struct ferry_manifest_info *mi)
{
    if (mi == NULL)
        return;
    ferry_safefree(mi->media_type);
    ferry_safefree(mi->digest);
    mi->size = 0;
}

const char *
ferry_registry_versions(void)
{
    static char buf[160];
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

    snprintf(buf, sizeof buf, "libcurl %s (%s)", v->version,
             v->ssl_version ? v->ssl_version : "no TLS");
    return buf;
}
