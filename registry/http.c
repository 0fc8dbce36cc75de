/* ferry registry client: the transport.
 *
 * One libcurl easy handle per registry handle (connections are reused).
 * reg_request() runs one logical request: it attaches authentication, performs
 * the transfer, answers a 401 through auth.c, and retries 429, 500, 502, 503,
 * 504 and connection-level failures a bounded number of times with exponential
 * backoff, honouring Retry-After (capped). A request whose body was already
 * consumed is retried only if it can be replayed (memory body, or a seek
 * callback to rewind it); a streamed download resumes with Range from the
 * bytes already delivered when the caller allows it.
 */
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ferry/limits.h"
#include "registry_int.h"

#define JOINED_HEADER_MAX (4 * FERRY_MAX_HEADER_LINE)

struct xfer {
    struct ferry_registry *r;
    const struct reg_req *q;
    struct reg_resp *rs;
    struct ferry_error *cb_err; /* raised inside a callback */
    /* upload */
    size_t mem_off;
    int64_t sent;
    /* download */
    int64_t delivered; /* bytes handed to out/sink over all attempts */
    int64_t skip;      /* bytes to drop at the start of this attempt's body */
    bool body_started;
    bool ranged; /* this attempt asked for Range: bytes=start+delivered- */
};

void
reg_resp_clear(struct reg_resp *rs)
{
    ferry_safefree(rs->content_type);
    ferry_safefree(rs->docker_digest);
    ferry_safefree(rs->location);
    ferry_safefree(rs->link);
    ferry_safefree(rs->www_authenticate);
    ferry_safefree(rs->retry_after);
    ferry_safefree(rs->oci_subject);
    ferry_safefree(rs->oci_filters);
    ferry_safefree(rs->content_range);
    ferry_safefree(rs->range);
    ferry_safefree(rs->chunk_min);
    ferry_safefree(rs->warning);
    ferry_safefree(rs->url);
    ferry_buf_free(&rs->errbody);
    rs->status = 0;
    rs->content_length = -1;
}

static void
resp_reset_headers(struct reg_resp *rs)
{
    struct ferry_buf keep = rs->errbody;

    rs->errbody.data = NULL;
    reg_resp_clear(rs);
    rs->errbody = keep;
    ferry_buf_reset(&rs->errbody);
}

char *
reg_url_va(const struct ferry_registry *r, const char *fmt, va_list ap)
{
    va_list aq;
    char *path, *u;
    int n;

    va_copy(aq, ap);
    n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0)
        return NULL;
    path = ferry_malloc((size_t)n + 1);
    if (path == NULL)
        return NULL;
    vsnprintf(path, (size_t)n + 1, fmt, ap);
    u = ferry_asprintf("%s%s", r->origin, path);
    ferry_free(path);
    return u;
}

char *
reg_url(const struct ferry_registry *r, const char *fmt, ...)
{
    va_list ap;
    char *u;

    va_start(ap, fmt);
    u = reg_url_va(r, fmt, ap);
    va_end(ap);
    return u;
}

/* ---- curl callbacks --------------------------------------------------------- */

static int
store_header(char **slot, const char *v, size_t n, bool join, struct ferry_error **err)
{
    char *nv;

    if (*slot != NULL && join) {
        size_t old = strlen(*slot);
        if (old + 2 + n > JOINED_HEADER_MAX)
            return ferry_error_new(err, FERRY_E_TOO_LARGE, "repeated header over %u bytes",
                                   JOINED_HEADER_MAX);
        nv = ferry_asprintf("%s, %.*s", *slot, (int)n, v);
    } else {
        nv = ferry_strndup(v, n);
    }
    if (nv == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory reading headers");
    ferry_free(*slot);
    *slot = nv;
    return 0;
}

static size_t
header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    struct reg_resp *rs = x->rs;
    size_t len = size * nitems, n = len, nlen;
    const char *v, *colon;
    struct {
        const char *name;
        char **slot;
        bool join;
    } known[] = {
        {"content-type", &rs->content_type, false},
        {"docker-content-digest", &rs->docker_digest, false},
        {"location", &rs->location, false},
        {"link", &rs->link, true},
        {"www-authenticate", &rs->www_authenticate, true},
        {"retry-after", &rs->retry_after, false},
        {"oci-subject", &rs->oci_subject, false},
        {"oci-filters-applied", &rs->oci_filters, true},
        {"content-range", &rs->content_range, false},
        {"range", &rs->range, false},
        {"oci-chunk-min-length", &rs->chunk_min, false},
        {"warning", &rs->warning, true},
    };

    if (len > FERRY_MAX_HEADER_LINE) {
        ferry_error_new(&x->cb_err, FERRY_E_TOO_LARGE, "response header line over %u bytes",
                        FERRY_MAX_HEADER_LINE);
        return 0;
    }
    while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == '\n'))
        n--;
    if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        /* a new response (redirect, 100 Continue, final): forget the old headers */
        const char *sp = memchr(buf, ' ', n);
        long st = 0;
        resp_reset_headers(rs);
        for (const char *p = sp ? sp + 1 : buf + n; p < buf + n && *p >= '0' && *p <= '9'; p++)
            st = st * 10 + (*p - '0');
        rs->status = st > 999 ? 0 : st;
        return len;
    }
    colon = memchr(buf, ':', n);
    if (colon == NULL)
        return len;
    nlen = (size_t)(colon - buf);
    v = colon + 1;
    while (v < buf + n && (*v == ' ' || *v == '\t'))
        v++;
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        n--;
    if (v > buf + n)
        v = buf + n;
    if (nlen == 14 && strncasecmp(buf, "content-length", 14) == 0) {
        int64_t cl = 0;
        const char *p = v;
        for (; p < buf + n && *p >= '0' && *p <= '9' && cl < INT64_MAX / 10 - 10; p++)
            cl = cl * 10 + (*p - '0');
        rs->content_length = p > v ? cl : -1;
        return len;
    }
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strlen(known[i].name) == nlen && strncasecmp(buf, known[i].name, nlen) == 0) {
            if (store_header(known[i].slot, v, (size_t)(buf + n - v), known[i].join, &x->cb_err) <
                0)
                return 0;
            break;
        }
    }
    return len;
}

/* First body byte of a 2xx response: decide how a resumed transfer continues. */
static int
body_start(struct xfer *x)
{
    x->body_started = true;
    x->skip = 0;
    if (x->q->range_len > 0 && x->rs->status != 206)
        return ferry_error_new(&x->cb_err, FERRY_E_UNSUPPORTED,
                               "the server answered a range request with HTTP %ld", x->rs->status);
    if (x->delivered == 0 && x->q->range_len == 0)
        return 0;
    if (x->rs->status == 206 && x->ranged) {
        long long start = -1;
        const char *cr = x->rs->content_range;
        if (cr != NULL && strncasecmp(cr, "bytes ", 6) == 0)
            start = strtoll(cr + 6, NULL, 10);
        if (start != (long long)(x->q->range_start + x->delivered))
            return ferry_error_new(&x->cb_err, FERRY_E_HTTP,
                                   "download: content-range \"%s\" does not start at %lld",
                                   cr ? cr : "", (long long)(x->q->range_start + x->delivered));
        return 0;
    }
    /* the server ignored Range: drop what was already delivered */
    x->skip = x->delivered;
    return 0;
}

static size_t
write_cb(char *data, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    const struct reg_req *q = x->q;
    size_t len = size * nitems, off = 0;

    if (x->rs->status < 200 || x->rs->status > 299) {
        struct ferry_buf *eb = &x->rs->errbody;
        size_t room = eb->max > eb->len ? eb->max - eb->len : 0;
        (void)ferry_buf_append(eb, data, len < room ? len : room, NULL);
        return len;
    }
    if (!x->body_started && body_start(x) < 0)
        return 0;
    if (x->skip > 0) {
        off = (int64_t)len < x->skip ? len : (size_t)x->skip;
        x->skip -= (int64_t)off;
        if (off == len)
            return len;
    }
    if (q->out != NULL) {
        if (ferry_buf_append(q->out, data + off, len - off, &x->cb_err) < 0)
            return 0;
    } else if (q->sink != NULL) {
        if (q->sink(data + off, len - off, q->sink_ud, &x->cb_err) < 0) {
            if (x->cb_err == NULL)
                ferry_error_new(&x->cb_err, FERRY_E_INTERNAL, "sink failed without an error");
            return 0;
        }
    }
    x->delivered += (int64_t)(len - off);
    return len;
}

static size_t
read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    const struct reg_req *q = x->q;
    size_t cap = size * nitems;
    int64_t left, got;
    char probe[1];

    if (q->src == NULL) {
        size_t n = q->body_len - x->mem_off;
        if (n > cap)
            n = cap;
        if (n == 0)
            return 0;
        memcpy(buf, (const char *)q->body + x->mem_off, n);
        x->mem_off += n;
        return n;
    }
    left = q->src_len - x->sent;
    if (left <= 0)
        return 0;
    if ((int64_t)cap > left)
        cap = (size_t)left;
    got = q->src(buf, cap, q->src_ud, &x->cb_err);
    if (got < 0) {
        if (x->cb_err == NULL)
            ferry_error_new(&x->cb_err, FERRY_E_IO, "upload source failed without an error");
        return CURL_READFUNC_ABORT;
    }
    if (got == 0) {
        ferry_error_new(&x->cb_err, FERRY_E_SIZE_MISMATCH,
                        "upload source ended after %lld of %lld bytes", (long long)x->sent,
                        (long long)q->src_len);
        return CURL_READFUNC_ABORT;
    }
    if ((size_t)got > cap) {
        ferry_error_new(&x->cb_err, FERRY_E_INTERNAL, "upload source returned too many bytes");
        return CURL_READFUNC_ABORT;
    }
    x->sent += got;
    if (x->sent == q->src_len) {
        /* the source must end exactly here */
        int64_t extra = q->src(probe, sizeof probe, q->src_ud, &x->cb_err);
        if (extra != 0) {
            if (extra > 0)
                ferry_error_new(&x->cb_err, FERRY_E_SIZE_MISMATCH,
                                "upload source has more than %lld bytes", (long long)q->src_len);
            return CURL_READFUNC_ABORT;
        }
    }
    return (size_t)got;
}

static int
seek_cb(void *ud, curl_off_t offset, int origin)
{
    struct xfer *x = ud;

    if (origin != SEEK_SET || offset != 0)
        return CURL_SEEKFUNC_CANTSEEK;
    if (x->q->src == NULL) {
        x->mem_off = 0;
        return CURL_SEEKFUNC_OK;
    }
    if (x->q->seek == NULL || x->q->seek(x->q->src_ud, 0, &x->cb_err) < 0)
        return CURL_SEEKFUNC_CANTSEEK;
    x->sent = 0;
    return CURL_SEEKFUNC_OK;
}

/* ---- one transfer ------------------------------------------------------------- */

static struct curl_slist *
add_header(struct curl_slist *h, bool *ok, const char *name, const char *v)
{
    struct curl_slist *n;
    char *line;

    if (!*ok || v == NULL)
        return h;
    line = ferry_asprintf("%s: %s", name, v);
    n = line ? curl_slist_append(h, line) : NULL;
    if (line != NULL) {
        sodium_memzero(line, strlen(line));
        ferry_free(line);
    }
    if (n == NULL) {
        *ok = false;
        return h;
    }
    return n;
}

static void
free_headers(struct curl_slist *h)
{
    /* the Authorization line holds a secret: wipe curl's copy too */
    for (struct curl_slist *p = h; p != NULL; p = p->next)
        if (p->data != NULL)
            sodium_memzero(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

static CURLcode
perform(struct xfer *x, const char *authorization)
{
    struct ferry_registry *r = x->r;
    const struct reg_req *q = x->q;
    CURL *c = r->curl;
    struct curl_slist *h = NULL;
    bool ok = true;
    char range[48];
    CURLcode cc;
    long code = 0;
    char *eff = NULL;

    curl_easy_reset(c);
    r->errbuf[0] = '\0';
    x->body_started = false;
    x->skip = 0;
    x->mem_off = 0;
    x->sent = 0;
    x->ranged = false;
    resp_reset_headers(x->rs);

    h = add_header(h, &ok, "Accept", q->accept);
    h = add_header(h, &ok, "Content-Type", q->content_type);
    h = add_header(h, &ok, "Content-Range", q->content_range);
    h = add_header(h, &ok, "Authorization", authorization);
    if (q->range_len > 0) {
        snprintf(range, sizeof range, "bytes=%lld-%lld", (long long)(q->range_start + x->delivered),
                 (long long)(q->range_start + q->range_len - 1));
        h = add_header(h, &ok, "Range", range);
        x->ranged = true;
    } else if (x->delivered > 0 && q->resumable) {
        snprintf(range, sizeof range, "bytes=%lld-", (long long)x->delivered);
        h = add_header(h, &ok, "Range", range);
        x->ranged = true;
    }
    if (!ok) {
        free_headers(h);
        return CURLE_OUT_OF_MEMORY;
    }
    curl_easy_setopt(c, CURLOPT_URL, q->url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ferry/" FERRY_VERSION);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, r->connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, REG_LOW_SPEED_TIME);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (r->ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file); /* CAPATH (system) stays */
    if (r->insecure_tls) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (q->follow) {
        /* libcurl drops Authorization (set through CURLOPT_HTTPHEADER) when a
         * redirect leaves the host, as UNRESTRICTED_AUTH stays off */
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)FERRY_MAX_REDIRECTS);
        curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
    }
    if (strcmp(q->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(q->method, "PUT") == 0 || strcmp(q->method, "POST") == 0 ||
               strcmp(q->method, "PATCH") == 0) {
        curl_off_t n = q->src ? (curl_off_t)q->src_len : (curl_off_t)q->body_len;
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, n);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, x);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, x);
        if (strcmp(q->method, "PUT") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    } else if (strcmp(q->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    }
    cc = curl_easy_perform(c);
    if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code > 0)
        x->rs->status = code;
    if (curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff != NULL) {
        ferry_free(x->rs->url);
        x->rs->url = ferry_strdup(eff);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    free_headers(h);
    return cc;
}

/* ---- the request loop ------------------------------------------------------------ */

/* An https request answered in plain HTTP: OpenSSL reads the answer as a TLS
 * record ("wrong version number", "packet length too long", "record layer
 * failure"). Retrying cannot help; the fix is the option. */
static bool
plain_http_answer(CURLcode cc, const char *errbuf)
{
    return cc == CURLE_SSL_CONNECT_ERROR && (strstr(errbuf, "wrong version number") != NULL ||
                                             strstr(errbuf, "packet length too long") != NULL ||
                                             strstr(errbuf, "record layer failure") != NULL);
}

static bool
retryable_curl(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

static bool
retryable_status(long st)
{
    return st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
}

long
reg_retry_delay_ms(const struct reg_resp *rs, int attempt)
{
    long ms = REG_BACKOFF_BASE_MS;

    for (int i = 0; i < attempt && ms < REG_RETRY_AFTER_CAP_MS; i++)
        ms *= 2;
    if (rs->retry_after != NULL) {
        const char *v = rs->retry_after;
        char *end = NULL;
        long long secs = -1;
        errno = 0;
        secs = strtoll(v, &end, 10);
        if (end == v || errno != 0 || *end != '\0' || secs < 0) {
            time_t t = curl_getdate(v, NULL); /* HTTP-date */
            time_t now = time(NULL);
            secs = t > now ? (long long)(t - now) : (t >= 0 ? 0 : -1);
        }
        if (secs >= 0)
            ms = secs > REG_RETRY_AFTER_CAP_MS / 1000 ? REG_RETRY_AFTER_CAP_MS : (long)secs * 1000;
    }
    if (ms > REG_RETRY_AFTER_CAP_MS)
        ms = REG_RETRY_AFTER_CAP_MS;
    return ms;
}

/* Can the request be sent again from the start (or resumed)? Rewinds a
 * consumed streamed source. */
static int
prepare_replay(struct xfer *x, bool *ok, struct ferry_error **err)
{
    const struct reg_req *q = x->q;

    *ok = true;
    if (q->out != NULL) {
        /* a capped memory body simply starts over */
        ferry_buf_reset(q->out);
        x->delivered = 0;
    }
    if (x->delivered > 0 && !q->resumable)
        *ok = false;
    if (q->src != NULL && x->sent > 0) {
        if (q->seek == NULL)
            *ok = false;
        else if (*ok && q->seek(q->src_ud, 0, err) < 0)
            return -1;
    }
    return 0;
}

static void
log_warnings(struct ferry_registry *r, const char *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < r->nwarnings; i++)
        if (strcmp(r->warnings_seen[i], w) == 0)
            return;
    ferry_log(FERRY_LOG_WARN, "registry %s: warning: %.400s", r->host, w);
    if (r->nwarnings < REG_WARNINGS_SEEN_MAX) {
        char *d = ferry_strdup(w);
        if (d != NULL)
            r->warnings_seen[r->nwarnings++] = d;
    }
}

int
reg_request(struct ferry_registry *r, const struct reg_req *q, struct reg_resp *rs,
            struct ferry_error **errp)
{
    struct ferry_error *e = NULL, **err = &e; /* always inspectable below */
    struct xfer x = {0};
    char *scope = NULL, *origin = NULL, *summary = NULL;
    bool same_origin, ok;
    int attempt = 0, auth_rounds = 0, rc = 0;
    int max_retries = q->no_retry ? 0 : r->max_retries;

    reg_resp_clear(rs);
    ferry_buf_init(&rs->errbody, FERRY_MAX_ERROR_BODY);
    x.r = r;
    x.q = q;
    x.rs = rs;
    origin = reg_url_origin(q->url);
    scope = ferry_strdup(q->scope ? q->scope : "");
    if (origin == NULL || scope == NULL) {
        if (scope == NULL)
            rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        else {
            char u[256]; /* without its query: an upload session's _state is a token */
            rc = ferry_error_new(
                err, FERRY_E_INVALID, "invalid url \"%s\"",
                ferry_quote(u, sizeof u, q->url, (size_t)reg_url_loggable_len(q->url)));
        }
        goto out;
    }
    /* credentials go to the registry itself only, never to a host it links to */
    same_origin = strcmp(origin, r->origin) == 0;

    for (;;) {
        const char *auth = q->authorization;
        bool fresh = false;
        CURLcode cc;

        if (!q->no_auth && same_origin) {
            rc = reg_auth_header(r, scope, &auth, &fresh, err);
            if (rc < 0)
                goto out;
        }
        cc = perform(&x, auth);
        log_warnings(r, rs->warning);
        if (x.cb_err != NULL) {
            *err = x.cb_err;
            x.cb_err = NULL;
            rc = -(int)(*err)->code;
            goto out;
        }
        if (cc != CURLE_OK) {
            if (cc == CURLE_OUT_OF_MEMORY) {
                rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
                goto out;
            }
            if (plain_http_answer(cc, r->errbuf)) {
                rc = ferry_error_new(err, FERRY_E_NETWORK,
                                     "%.*s: %s: the registry answers in plain HTTP, not TLS: add "
                                     "--plain-http (in a sync config: tls: disabled in its creds "
                                     "entry)",
                                     reg_url_loggable_len(q->url), q->url, r->errbuf);
                goto out;
            }
            if (retryable_curl(cc) && attempt < max_retries) {
                long ms = reg_retry_delay_ms(rs, attempt);
                rc = prepare_replay(&x, &ok, err);
                if (rc < 0)
                    goto out;
                if (ok) {
                    ferry_log(FERRY_LOG_WARN, "%s: %s; retry %d of %d in %ld ms", q->what,
                              r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc), attempt + 1,
                              max_retries, ms);
                    ferry_sleep_ms(ms);
                    attempt++;
                    continue;
                }
            }
            /* not the query: an upload session's carries the registry's state */
            rc = ferry_error_new(err, FERRY_E_NETWORK, "%.*s: %s", reg_url_loggable_len(q->url),
                                 q->url, r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc));
            goto out;
        }
        if (rs->status == 401 && !q->no_auth && same_origin && auth_rounds < 3) {
            char *next = NULL;
            rc = reg_auth_challenge(r, scope, rs, auth, fresh, &next, err);
            if (rc < 0)
                goto out;
            ferry_free(scope);
            scope = next;
            rc = prepare_replay(&x, &ok, err);
            if (rc < 0)
                goto out;
            if (!ok) {
                rc = ferry_error_http(err, FERRY_E_AUTH, 401,
                                      "authentication to %s needed after the body was sent",
                                      r->host);
                goto out;
            }
            auth_rounds++;
            continue;
        }
        if ((rs->status == 401 || rs->status == 403) && !q->no_auth) {
            summary = reg_error_summary(rs->errbody.data, rs->errbody.len, NULL);
            rc = ferry_error_http(err, FERRY_E_AUTH, (int)rs->status, "%s %s%s: http %ld%s%s",
                                  rs->status == 403 ? "access denied by" : "authentication to",
                                  r->host, rs->status == 403 ? "" : " failed", rs->status,
                                  summary && *summary ? ": " : "", summary ? summary : "");
            goto out;
        }
        if (retryable_status(rs->status) && attempt < max_retries) {
            long ms = reg_retry_delay_ms(rs, attempt);
            rc = prepare_replay(&x, &ok, err);
            if (rc < 0)
                goto out;
            if (ok) {
                ferry_log(FERRY_LOG_WARN, "%s: http %ld; retry %d of %d in %ld ms", q->what,
                          rs->status, attempt + 1, max_retries, ms);
                ferry_sleep_ms(ms);
                attempt++;
                continue;
            }
        }
        if (retryable_status(rs->status)) {
            char tries[40] = "";
            if (attempt > 0) /* a single attempt (no_retry, an upload's body) says nothing */
                snprintf(tries, sizeof tries, " (after %d attempts)", attempt + 1);
            summary = reg_error_summary(rs->errbody.data, rs->errbody.len, NULL);
            rc = ferry_error_http(err, FERRY_E_HTTP, (int)rs->status, "http %ld%s%s%s", rs->status,
                                  summary && *summary ? ": " : "", summary ? summary : "", tries);
            goto out;
        }
        rc = 0;
        break;
    }
out:
    if (rc < 0 && q->what != NULL)
        ferry_error_wrap(err, "%s", q->what);
    if (e != NULL && errp != NULL && *errp == NULL)
        *errp = e;
    else
        ferry_error_free(e);
    ferry_error_free(x.cb_err);
    ferry_free(summary);
    ferry_free(origin);
    ferry_free(scope);
    return rc;
}

/* Does a kept error body hold s? (memmem is not POSIX) */
static bool
body_has(const struct ferry_buf *b, const char *s)
{
    size_t n = strlen(s);

    for (size_t i = 0; b->data != NULL && i + n <= b->len; i++)
        if (memcmp(b->data + i, s, n) == 0)
            return true;
    return false;
}

int
reg_status_error(const char *what, const struct reg_resp *rs, struct ferry_error **err)
{
    enum ferry_status code = FERRY_E_HTTP;
    char *summary = reg_error_summary(rs->errbody.data, rs->errbody.len, NULL);
    int rc;

    if (rs->status == 404)
        code = FERRY_E_NOT_FOUND;
    else if (rs->status == 401 || rs->status == 403)
        code = FERRY_E_AUTH;
    else if (rs->status == 413)
        code = FERRY_E_TOO_LARGE;
    const char *hint = "";

    if (rs->status == 400 && (body_has(&rs->errbody, "HTTP request to an HTTPS server") ||
                              body_has(&rs->errbody, "plain HTTP request was sent to HTTPS port")))
        hint = " (the registry speaks HTTPS: drop --plain-http, or set tls: enabled)";
    else if (rs->status == 401)
        hint = " (log in with 'login HOST -u USER --password-stdin', or give --authfile FILE, "
               "or --username USER --password-stdin)";
    rc = ferry_error_http(err, code, (int)rs->status, "%s: http %ld%s%s%s", what, rs->status,
                          summary && *summary ? ": " : "", summary ? summary : "", hint);
    ferry_free(summary);
    return rc;
}
