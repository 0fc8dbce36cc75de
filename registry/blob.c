/* ferry registry client: blobs (streamed GET with verification, HEAD,
 * POST-then-PUT upload, cross-repository mount). */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/limits.h"
#include "registry_int.h"

/* Bytes of a blob held back until its size and digest are checked, so a sink
 * never sees a complete but wrong blob. */
#define BLOB_HOLD_MAX 4096u

struct blob_get {
    const char *digest;
    struct ferry_hasher *h;
    int64_t size, got;
    char *hold;
    size_t hold_cap; /* min(size, BLOB_HOLD_MAX) */
    ferry_sink_fn sink;
    void *ud;
};

static int
blob_sink(const void *data, size_t len, void *ud, struct ferry_error **err)
{
    struct blob_get *g = ud;
    int64_t boundary = g->size - (int64_t)g->hold_cap;
    size_t direct = 0;

    if ((int64_t)len > g->size - g->got)
        return ferry_error_new(err, FERRY_E_SIZE_MISMATCH, "more than the expected %lld bytes",
                               (long long)g->size);
    ferry_hasher_update(g->h, data, len);
    if (g->got < boundary) {
        direct = boundary - g->got < (int64_t)len ? (size_t)(boundary - g->got) : len;
        if (g->sink(data, direct, g->ud, err) < 0)
            return -1;
    }
    if (direct < len)
        memcpy(g->hold + (g->got + (int64_t)direct - boundary), (const char *)data + direct,
               len - direct);
    g->got += (int64_t)len;
    ferry_progress("download", g->digest, (uint64_t)g->got, (uint64_t)g->size);
    return 0;
}

/* The checks and the call of a blob GET (whole or a range) of digest. */
static int
blob_get_init(struct reg_call *c, struct ferry_registry *r, const char *repo, const char *digest,
              struct ferry_digest *want, struct ferry_error **err)
{
    int rc;

    if ((rc = reg_check(r, err)) < 0 || (rc = reg_check_repo(repo, err)) < 0 ||
        (rc = ferry_digest_parse(digest, want, err)) < 0)
        return rc;
    return reg_call_init(c, r, "get blob", repo, want->str, "pull", err, "/v2/%s/blobs/%s", repo,
                         want->str);
}

int
ferry_registry_get_blob(struct ferry_registry *r, const char *repo, const char *digest,
                        int64_t size, ferry_sink_fn sink, void *ud, struct ferry_error **err)
{
    struct reg_call c = {0};
    struct blob_get g = {0};
    struct ferry_digest want, got;
    int rc;

    if ((rc = blob_get_init(&c, r, repo, digest, &want, err)) < 0)
        goto out;
    if (size < 0 || sink == NULL) {
        rc = ferry_error_new(err, FERRY_E_INVALID, "%s: a size and a sink are required", c.what);
        goto out;
    }
    g.digest = want.str;
    g.size = size;
    g.hold_cap = size < (int64_t)BLOB_HOLD_MAX ? (size_t)size : BLOB_HOLD_MAX;
    g.hold = ferry_malloc(g.hold_cap + 1);
    g.h = ferry_hasher_new(want.alg);
    g.sink = sink;
    g.ud = ud;
    if (g.hold == NULL || g.h == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    c.q.method = "GET";
    c.q.sink = blob_sink;
    c.q.sink_ud = &g;
    c.q.resumable = true;
    c.q.follow = true;
    rc = reg_call_send(&c, r, 0, err);
    if (rc < 0)
        goto out;
    if (c.rs.status != 200 && c.rs.status != 206) {
        rc = reg_status_error(c.what, &c.rs, err);
        goto out;
    }
    if (g.got != size) {
        rc = ferry_error_new(err, FERRY_E_SIZE_MISMATCH, "%s: got %lld bytes, expected %lld",
                             c.what, (long long)g.got, (long long)size);
        goto out;
    }
    ferry_hasher_final(g.h, &got);
    if (strcmp(got.str, want.str) != 0) {
        rc = ferry_error_new(err, FERRY_E_DIGEST_MISMATCH, "%s: content digests to %s", c.what,
                             got.str);
        goto out;
    }
    if (g.hold_cap > 0)
        rc = sink(g.hold, g.hold_cap, ud, err);
out:
    ferry_hasher_free(g.h);
    ferry_free(g.hold);
    reg_call_clear(&c);
    return rc;
}

/* A part: at most the bytes asked for. */
struct range_get {
    int64_t len, got;
    ferry_sink_fn sink;
    void *ud;
};

static int
range_sink(const void *data, size_t len, void *ud, struct ferry_error **err)
{
    struct range_get *g = ud;

    if ((int64_t)len > g->len - g->got)
        return ferry_error_new(err, FERRY_E_SIZE_MISMATCH, "more than the %lld bytes asked for",
                               (long long)g->len);
    g->got += (int64_t)len;
    return g->sink(data, len, g->ud, err);
}

static int
buf_sink(const void *data, size_t len, void *ud, struct ferry_error **err)
{
    return ferry_buf_append(ud, data, len, err);
}

int
ferry_registry_get_blob_buf(struct ferry_registry *r, const char *repo, const char *digest,
                            int64_t size, struct ferry_buf *out, struct ferry_error **err)
{
    return ferry_registry_get_blob(r, repo, digest, size, buf_sink, out, err);
}

int
ferry_registry_get_blob_range(struct ferry_registry *r, const char *repo, const char *digest,
                              int64_t offset, int64_t len, ferry_sink_fn sink, void *ud,
                              struct ferry_error **err)
{
    struct reg_call c = {0};
    struct range_get g = {len, 0, sink, ud};
    struct ferry_digest want;
    int rc;

    if ((rc = blob_get_init(&c, r, repo, digest, &want, err)) < 0)
        goto out;
    if (offset < 0 || len <= 0 || sink == NULL) {
        rc = ferry_error_new(err, FERRY_E_INVALID, "%s: a range and a sink are required", c.what);
        goto out;
    }
    c.q.method = "GET";
    c.q.sink = range_sink;
    c.q.sink_ud = &g;
    c.q.resumable = true;
    c.q.follow = true;
    c.q.range_start = offset;
    c.q.range_len = len;
    if ((rc = reg_call_send(&c, r, 0, err)) < 0)
        goto out;
    if (c.rs.status != 206) {
        rc = reg_status_error(c.what, &c.rs, err);
        goto out;
    }
    if (g.got != len)
        rc = ferry_error_new(err, FERRY_E_SIZE_MISMATCH,
                             "%s: got %lld bytes of the range at %lld, expected %lld", c.what,
                             (long long)g.got, (long long)offset, (long long)len);
out:
    reg_call_clear(&c);
    return rc;
}

int
ferry_registry_head_blob(struct ferry_registry *r, const char *repo, const char *digest,
                         int64_t *size, struct ferry_error **err)
{
    struct reg_call c = {0};
    struct ferry_digest d;
    int rc;

    if ((rc = reg_check(r, err)) < 0 || (rc = reg_check_repo(repo, err)) < 0 ||
        (rc = ferry_digest_parse(digest, &d, err)) < 0)
        return rc;
    rc =
        reg_call_init(&c, r, "head blob", repo, d.str, "pull", err, "/v2/%s/blobs/%s", repo, d.str);
    if (rc < 0)
        goto out;
    c.q.method = "HEAD";
    c.q.follow = true;
    rc = reg_call_exists(&c, r, err);
    if (rc == 1 && size != NULL)
        *size = c.rs.content_length;
out:
    reg_call_clear(&c);
    return rc;
}

/* ---- upload ------------------------------------------------------------------ */

/* The caller's source, and the window [start, end) of the blob that one
 * request sends. pos is where the source stands (the offset of the next byte
 * it returns), so the upload seeks only when it has to. */
struct upload_src {
    ferry_source_fn src;
    ferry_seek_fn seek;
    void *ud;
    int64_t size; /* the blob's */
    int64_t pos;
    int64_t start, end;
};

static int
src_seek(struct upload_src *s, int64_t off, struct ferry_error **err)
{
    int rc;

    if (s->pos == off)
        return 0;
    if (s->seek == NULL)
        return ferry_error_new(err, FERRY_E_UNSUPPORTED,
                               "the upload source cannot go back to byte %lld", (long long)off);
    rc = s->seek(s->ud, (uint64_t)off, err);
    if (rc < 0)
        return rc;
    s->pos = off;
    return 0;
}

/* ferry_source_fn of one request's body. A window that ends before the blob
 * does ends there; the last one reads on, so the source itself says that it
 * ends (the transport checks that it does). */
static int64_t
window_read(void *buf, size_t len, void *ud, struct ferry_error **err)
{
    struct upload_src *s = ud;
    int64_t n;

    if (s->end < s->size) {
        if (s->pos >= s->end)
            return 0;
        if ((int64_t)len > s->end - s->pos)
            len = (size_t)(s->end - s->pos);
    }
    n = s->src(buf, len, s->ud, err);
    if (n > 0)
        s->pos += n;
    return n;
}

/* ferry_seek_fn of one request's body (the transport's rewind): offsets count
 * from the window's start. */
static int
window_seek(void *ud, uint64_t offset, struct ferry_error **err)
{
    struct upload_src *s = ud;

    return src_seek(s, s->start + (int64_t)offset, err);
}

/* One blob upload: the POST (c), the session it opened, the source. */
struct upload {
    struct ferry_registry *r;
    struct reg_call c;  /* the POST: its url, what and scope serve every request */
    char *esc;          /* the digest, escaped for the query */
    char *loc;          /* the session: the Location of its last answer; NULL: none */
    struct reg_resp rs; /* the answer to the last request after the POST */
    struct upload_src s;
    int64_t have;  /* bytes the session holds */
    int64_t chunk; /* bytes per PATCH */
    bool chunked;
};

/* Location of an upload session, resolved against the request URL. */
static int
session_location(const struct reg_resp *rs, const char *req_url, const char *what, char **out,
                 struct ferry_error **err)
{
    char q[256];

    if (rs->location == NULL || rs->location[0] == '\0')
        return ferry_error_new(err, FERRY_E_HTTP, "%s: http %ld without location", what,
                               rs->status);
    *out = ferry_url_resolve(rs->url ? rs->url : req_url, rs->location);
    if (*out == NULL) {
        /* not its query: a session's carries the registry's state token */
        ferry_quote(q, sizeof q, rs->location, (size_t)reg_url_loggable_len(rs->location));
        return ferry_error_new(err, FERRY_E_INVALID, "%s: cannot resolve location \"%s\"", what, q);
    }
    return 0;
}

/* Follow the session to the Location of an answer, when it gives one. */
static int
session_move(struct upload *u, const char *req_url, const char *what, struct ferry_error **err)
{
    char *next = NULL;
    int rc;

    if (u->rs.location == NULL || u->rs.location[0] == '\0')
        return 0;
    rc = session_location(&u->rs, req_url, what, &next, err);
    if (rc < 0)
        return rc;
    ferry_free(u->loc);
    u->loc = next;
    return 0;
}

/* POST for a new session (retried by the transport: it has no body). */
static int
session_open(struct upload *u, struct ferry_error **err)
{
    const char *v = NULL;
    char *end = NULL;
    long long min;
    int rc;

    ferry_safefree(u->loc);
    u->c.q.method = "POST";
    rc = reg_call_send(&u->c, u->r, 202, err);
    if (rc < 0)
        return rc;
    rc = session_location(&u->c.rs, u->c.url, u->c.what, &u->loc, err);
    if (rc < 0)
        return rc;
    u->have = 0;
    u->chunk = u->r->chunk_size;
    /* the registry's smallest chunk wins over ours (dspec: OCI-Chunk-Min-Length) */
    v = u->c.rs.chunk_min;
    if (v != NULL) {
        errno = 0;
        min = strtoll(v, &end, 10);
        if (errno == 0 && end != v && *end == '\0' && min > u->chunk)
            u->chunk = (int64_t)min;
    }
    return 0;
}

/* One request to the session, sent once: the transport does not replay it, as
 * a session that saw part of a body is asked where it stands instead. Its
 * body is the blob's bytes [start, end), none when they are equal. */
static int
session_send(struct upload *u, const char *method, const char *url, const char *what, int64_t start,
             int64_t end, const char *range, struct ferry_error **err)
{
    struct reg_req q;
    int rc;

    memset(&q, 0, sizeof q);
    q.method = method;
    q.url = url;
    q.what = what;
    q.scope = u->c.scope;
    q.no_retry = true;
    if (end > start) {
        rc = src_seek(&u->s, start, err);
        if (rc < 0)
            return ferry_error_wrap(err, "%s", what);
        u->s.start = start;
        u->s.end = end;
        q.content_type = "application/octet-stream";
        q.content_range = range;
        q.src = window_read;
        q.seek = window_seek;
        q.src_ud = &u->s;
        q.src_len = end - start;
    }
    return reg_request(u->r, &q, &u->rs, err);
}

/* PATCH the next chunk; the registry must then hold exactly the bytes sent. */
static int
session_patch(struct upload *u, struct ferry_error **err)
{
    int64_t n = u->s.size - u->have < u->chunk ? u->s.size - u->have : u->chunk, last = -1;
    char range[48], *what = NULL;
    int rc;

    snprintf(range, sizeof range, "%lld-%lld", (long long)u->have, (long long)(u->have + n - 1));
    what = ferry_asprintf("%s: bytes %s", u->c.what, range);
    if (what == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    rc = session_send(u, "PATCH", u->loc, what, u->have, u->have + n, range, err);
    if (rc == 0 && u->rs.status != 202)
        rc = reg_status_error(what, &u->rs, err);
    /* (a missing Range is taken to agree; "0-0" after a first chunk of one
     * byte is that byte) */
    if (rc == 0 && u->rs.range != NULL &&
        (rc = reg_upload_range_parse(u->rs.range, &last, err)) < 0)
        ferry_error_wrap(err, "%s", what);
    if (rc == 0 && u->rs.range != NULL && last + 1 != u->have + n)
        rc = ferry_error_new(err, FERRY_E_HTTP, "%s: the registry acknowledged bytes 0-%lld", what,
                             (long long)last);
    if (rc == 0)
        rc = session_move(u, u->loc, what, err);
    if (rc == 0)
        u->have += n;
    ferry_free(what);
    return rc;
}

/* Ask the session how many bytes it holds (GET; the transport retries it).
 * 0 with have and loc updated; 1 when the registry no longer knows the session
 * (404; distribution also cancels a session whose bytes and state token
 * disagree, as after a chunk that arrived but whose answer was lost);
 * negative on other failures. */
static int
session_status(struct upload *u, struct ferry_error **err)
{
    struct reg_req q;
    int64_t last = -1, have;
    char *what = ferry_asprintf("%s: upload status", u->c.what);
    int rc;

    if (what == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    memset(&q, 0, sizeof q);
    q.method = "GET";
    q.url = u->loc;
    q.what = what;
    q.scope = u->c.scope;
    rc = reg_request(u->r, &q, &u->rs, err);
    if (rc == 0 && u->rs.status == 404) {
        rc = 1;
        goto out;
    }
    if (rc == 0 && u->rs.status != 204 && u->rs.status != 200)
        rc = reg_status_error(what, &u->rs, err);
    if (rc == 0 && (rc = reg_upload_range_parse(u->rs.range, &last, err)) < 0)
        ferry_error_wrap(err, "%s", what);
    if (rc < 0)
        goto out;
    /* "0-0": distribution's empty session; a registry holding one byte
     * answers the next chunk with 416, and then a new session starts */
    have = last == 0 ? 0 : last + 1;
    if (have > u->s.pos || have > u->s.size) {
        rc = ferry_error_new(err, FERRY_E_HTTP, "%s: the registry holds %lld bytes, %lld were sent",
                             what, (long long)have, (long long)u->s.pos);
        goto out;
    }
    rc = session_move(u, u->loc, what, err);
    if (rc == 0)
        u->have = have;
out:
    ferry_free(what);
    return rc;
}

/* Close the session: PUT ?digest= (appended to the session URL as given),
 * with the whole blob as its body, or none after the chunks. */
static int
session_finish(struct upload *u, const char *digest, struct ferry_error **err)
{
    char *put = ferry_asprintf("%s%cdigest=%s", u->loc, strchr(u->loc, '?') ? '&' : '?', u->esc);
    int rc;

    if (put == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    rc = session_send(u, "PUT", put, u->c.what, u->have, u->s.size, NULL, err);
    if (rc == 0 && u->rs.status != 201)
        rc = reg_status_error(u->c.what, &u->rs, err);
    if (rc == 0 && u->rs.docker_digest != NULL && strcmp(u->rs.docker_digest, digest) != 0)
        rc = ferry_error_new(err, FERRY_E_DIGEST_MISMATCH, "%s: registry stored %.100s", u->c.what,
                             u->rs.docker_digest);
    ferry_free(put);
    return rc;
}

/* Worth another try: the network, a cut answer, 429, 5xx; and, for a
 * session, 404 (it is gone: a new one starts) and 416 (it disagrees about
 * where it stands: it is asked again). The source's own errors carry no HTTP
 * status and are final. */
static bool
retryable_error(const struct ferry_error *e)
{
    return e->code == FERRY_E_NETWORK || e->http_status == 404 || e->http_status == 416 ||
           e->http_status == 429 || e->http_status >= 500;
}

/* After a failed PUT that carried or closed the whole blob: did it arrive
 * all the same (only its answer was lost)? */
static bool
stored_after_all(struct upload *u, const char *repo, const char *digest)
{
    struct ferry_error *e = NULL;
    int64_t size = -1;
    int rc = ferry_registry_head_blob(u->r, repo, digest, &size, &e);

    ferry_error_free(e);
    return rc == 1 && size == u->s.size;
}

int
ferry_registry_put_blob(struct ferry_registry *r, const char *repo, const char *digest,
                        int64_t size, ferry_source_fn src, ferry_seek_fn seek, void *ud,
                        struct ferry_error **err)
{
    struct upload u;
    struct ferry_digest d;
    struct ferry_error *e = NULL, *e2 = NULL; /* inspected before they go to the caller */
    int64_t rejected = -1, best = 0;
    int rc, fails = 0, restarts = 0;

    memset(&u, 0, sizeof u);
    if ((rc = reg_check(r, err)) < 0 || (rc = reg_check_repo(repo, err)) < 0 ||
        (rc = ferry_digest_parse(digest, &d, err)) < 0)
        return rc;
    rc = reg_call_init(&u.c, r, "put blob", repo, d.str, "pull,push", err, "/v2/%s/blobs/uploads/",
                       repo);
    if (rc < 0)
        goto out;
    u.esc = reg_url_escape(d.str);
    if (u.esc == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if (size < 0 || src == NULL) {
        rc =
            ferry_error_new(err, FERRY_E_INVALID, "%s: a size and a source are required", u.c.what);
        goto out;
    }
    u.r = r;
    u.s.src = src;
    u.s.seek = seek;
    u.s.ud = ud;
    u.s.size = size;
    u.chunked = size >= r->chunk_min;
    for (;;) {
        bool put;
        long delay;
        int st;
        if (u.loc == NULL && (rc = session_open(&u, err)) < 0)
            goto out;
        put = !u.chunked || u.have == size;
        rc = put ? session_finish(&u, d.str, &e) : session_patch(&u, &e);
        if (rc == 0 && put)
            break;
        if (rc == 0) {
            /* a chunk took the upload further than ever: the retries count
             * afresh (a registry that falls back and re-acknowledges the
             * same bytes gets no new budget) */
            if (u.have > best) {
                best = u.have;
                fails = 0;
            }
            continue;
        }
        if (!retryable_error(e) || fails >= r->max_retries || (u.s.pos > 0 && seek == NULL))
            goto give_up;
        rejected = e->http_status == 416 ? u.have : -1;
        delay = reg_retry_delay_ms(&u.rs, fails);
        fails++;
        ferry_log(FERRY_LOG_WARN, "%s; %s (retry %d of %d) in %ld ms", e->msg,
                  u.chunked ? "asking where the upload stopped" : "new upload session", fails,
                  r->max_retries, delay);
        if (!u.chunked) {
            reg_upload_cancel(r, u.loc, u.c.what);
            ferry_safefree(u.loc);
        }
        ferry_sleep_ms(delay);
        if (put && (u.chunked || u.s.pos == size) && stored_after_all(&u, repo, d.str)) {
            ferry_log(FERRY_LOG_INFO, "%s: stored all the same", u.c.what);
            ferry_error_clear(&e);
            reg_upload_cancel(r, u.loc, u.c.what);
            break;
        }
        if (!u.chunked) {
            ferry_error_clear(&e);
            continue;
        }
        st = session_status(&u, &e2);
        if (st == 0 && u.have != rejected) {
            ferry_log(FERRY_LOG_INFO, "%s: the registry holds %lld bytes; going on from there",
                      u.c.what, (long long)u.have);
            ferry_error_clear(&e);
            continue;
        }
        if (st < 0) {
            ferry_error_free(e);
            e = e2;
            e2 = NULL;
        }
        /* a new session starts from byte 0: a bounded number of times, so a
         * registry that keeps losing them cannot keep the upload going */
        if (restarts >= r->max_retries)
            goto give_up;
        restarts++;
        if (st < 0)
            ferry_log(FERRY_LOG_WARN, "%s; new upload session (%d of %d)", e->msg, restarts,
                      r->max_retries);
        else
            ferry_log(FERRY_LOG_WARN, "%s: %s; new upload session (%d of %d)", u.c.what,
                      st == 1 ? "upload session gone" : "the upload session does not move on",
                      restarts, r->max_retries);
        ferry_error_clear(&e);
        if (st != 1)
            reg_upload_cancel(r, u.loc, u.c.what);
        ferry_safefree(u.loc);
    }
    assert(e == NULL && e2 == NULL);
    rc = 0;
    goto out;
give_up:
    reg_upload_cancel(r, u.loc, u.c.what);
    rc = -(int)e->code;
out:
    if (e != NULL) {
        if (err != NULL && *err == NULL)
            *err = e;
        else
            ferry_error_free(e);
    }
    ferry_error_free(e2);
    reg_call_clear(&u.c);
    reg_resp_clear(&u.rs);
    ferry_free(u.loc);
    ferry_free(u.esc);
    return rc;
}

int
ferry_registry_mount_blob(struct ferry_registry *r, const char *repo, const char *digest,
                          const char *from_repo, struct ferry_error **err)
{
    struct reg_call c = {0};
    struct ferry_digest d;
    char *esc = NULL, *from = NULL, *loc = NULL;
    int rc;

    if ((rc = reg_check(r, err)) < 0 || (rc = reg_check_repo(repo, err)) < 0 ||
        (rc = reg_check_repo(from_repo, err)) < 0 || (rc = ferry_digest_parse(digest, &d, err)) < 0)
        return rc;
    esc = reg_url_escape(d.str);
    from = reg_url_escape(from_repo);
    if (esc == NULL || from == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    rc = reg_call_init(&c, r, "mount blob", repo, d.str, NULL, err,
                       "/v2/%s/blobs/uploads/?mount=%s&from=%s", repo, esc, from);
    if (rc < 0)
        goto out;
    /* distribution asks for pull on the source as well */
    c.scope = ferry_asprintf("repository:%s:pull,push repository:%s:pull", repo, from_repo);
    if (c.scope == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    c.q.method = "POST";
    rc = reg_call_send(&c, r, 0, err);
    if (rc < 0)
        goto out;
    if (c.rs.status == 201) {
        rc = 1;
    } else if (c.rs.status == 202) {
        /* not mounted: a plain upload session was opened instead */
        if (session_location(&c.rs, c.url, c.what, &loc, NULL) == 0)
            reg_upload_cancel(r, loc, c.what);
        rc = 0;
    } else {
        rc = reg_status_error(c.what, &c.rs, err);
    }
out:
    reg_call_clear(&c);
    ferry_free(esc);
    ferry_free(from);
    ferry_free(loc);
    return rc;
}
