/* ferry registry client: blobs (streamed GET with verification, HEAD,
 * POST-then-PUT upload, cross-repository mount). */
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

int
ferry_registry_get_blob(struct ferry_registry *r, const char *repo, const char *digest,
                        int64_t size, ferry_sink_fn sink, void *ud, struct ferry_error **err)
{
    struct reg_call c = {0};
    struct blob_get g = {0};
    struct ferry_digest want, got;
    int rc;

    if ((rc = reg_check(r, err)) < 0 || (rc = reg_check_repo(repo, err)) < 0 ||
        (rc = ferry_digest_parse(digest, &want, err)) < 0)
        return rc;
    rc = reg_call_init(&c, r, "get blob", repo, want.str, "pull", err, "/v2/%s/blobs/%s", repo,
                       want.str);
    if (rc < 0)
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

/* Counts what the caller's source gave, so a failed PUT knows whether a new
 * session needs a seek back to 0. */
struct counted_src {
    ferry_source_fn src;
    void *ud;
    int64_t read;
};

static int64_t
counted_read(void *buf, size_t len, void *ud, struct ferry_error **err)
{
    struct counted_src *c = ud;
    int64_t n = c->src(buf, len, c->ud, err);

    if (n > 0)
        c->read += n;
    return n;
}

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

static bool
retryable_error(const struct ferry_error *e)
{
    return e->code == FERRY_E_NETWORK ||
           (e->code == FERRY_E_HTTP && (e->http_status == 429 || e->http_status >= 500));
}

int
ferry_registry_put_blob(struct ferry_registry *r, const char *repo, const char *digest,
                        int64_t size, ferry_source_fn src, ferry_seek_fn seek, void *ud,
                        struct ferry_error **err)
{
    struct reg_call c = {0};
    struct reg_req q;
    struct ferry_digest d;
    struct counted_src cs = {src, ud, 0};
    char *loc = NULL, *put = NULL, *esc = NULL;
    struct ferry_error *e = NULL; /* inspected before it is handed to the caller */
    int rc, round = 0;
    long delay;

    if ((rc = reg_check(r, err)) < 0 || (rc = reg_check_repo(repo, err)) < 0 ||
        (rc = ferry_digest_parse(digest, &d, err)) < 0)
        return rc;
    rc = reg_call_init(&c, r, "put blob", repo, d.str, "pull,push", err, "/v2/%s/blobs/uploads/",
                       repo);
    if (rc < 0)
        goto out;
    esc = reg_url_escape(d.str);
    if (esc == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if (size < 0 || src == NULL) {
        rc = ferry_error_new(err, FERRY_E_INVALID, "%s: a size and a source are required", c.what);
        goto out;
    }
    /* 1. open a session (distribution discards a body sent here) */
    c.q.method = "POST";
    for (;;) {
        rc = reg_call_send(&c, r, 202, err);
        if (rc < 0)
            goto out;
        rc = session_location(&c.rs, c.url, c.what, &loc, err);
        if (rc < 0)
            goto out;
        /* 2. one streamed PUT, ?digest= appended to the session URL as given */
        put = ferry_asprintf("%s%cdigest=%s", loc, strchr(loc, '?') ? '&' : '?', esc);
        if (put == NULL) {
            rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        memset(&q, 0, sizeof q);
        q.method = "PUT";
        q.url = put;
        q.what = c.what;
        q.scope = c.scope;
        q.content_type = "application/octet-stream";
        q.src = counted_read;
        q.src_ud = &cs;
        q.src_len = size;
        q.no_retry = true; /* a session that saw part of the body is not reused */
        rc = reg_request(r, &q, &c.rs, &e);
        if (rc == 0 && c.rs.status == 201)
            break;
        if (rc == 0)
            rc = reg_status_error(c.what, &c.rs, &e);
        reg_upload_cancel(r, loc, c.what);
        if (!retryable_error(e) || round >= r->max_retries || (cs.read > 0 && seek == NULL))
            goto out;
        delay = reg_retry_delay_ms(&c.rs, round);
        round++;
        ferry_log(FERRY_LOG_WARN, "%s; new upload session (retry %d of %d) in %ld ms", e->msg,
                  round, r->max_retries, delay);
        ferry_error_clear(&e);
        if (cs.read > 0) {
            rc = seek(ud, 0, &e);
            if (rc < 0) {
                ferry_error_wrap(&e, "%s: seek source to 0", c.what);
                goto out;
            }
            cs.read = 0;
        }
        ferry_safefree(loc);
        ferry_safefree(put);
        reg_sleep_ms(delay);
    }
    if (c.rs.docker_digest != NULL && strcmp(c.rs.docker_digest, d.str) != 0) {
        rc = ferry_error_new(err, FERRY_E_DIGEST_MISMATCH, "%s: registry stored %.100s", c.what,
                             c.rs.docker_digest);
        goto out;
    }
    rc = 0;
out:
    if (e != NULL) {
        if (err != NULL && *err == NULL)
            *err = e;
        else
            ferry_error_free(e);
    }
    reg_call_clear(&c);
    ferry_free(loc);
    ferry_free(put);
    ferry_free(esc);
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
