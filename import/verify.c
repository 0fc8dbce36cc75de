/* ferry import: offline verification of a bundle. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include <errno.h>

#include <jansson.h>

#include "ferry/bundle.h"
#include "ferry/digest.h"
#include "ferry/limits.h"
#include "ferry/util.h"
#include "import_int.h"

void
ferry_verified_free(struct ferry_verified *v)
{
    if (v == NULL)
        return;
    ferry_layout_free(v->layout);
    ferry_bundle_index_free(v->index);
    ferry_strmap_free(v->members);
    ferry_strmap_free(v->offsets);
    ferry_strmap_free(v->externals);
    ferry_strmap_free(v->away);
    ferry_strmap_free(v->splits);
    if (!v->st_borrowed)
        ferry_statement_free(v->st);
    ferry_free(v);
}

const struct ferry_statement *
ferry_verified_statement(const struct ferry_verified *v)
{
    return v->st;
}

const char *
ferry_verified_key_id(const struct ferry_verified *v)
{
    return v->id.key_id;
}

const char *
ferry_verified_statement_digest(const struct ferry_verified *v)
{
    return v->id.statement;
}

unsigned
ferry_verified_volume(const struct ferry_verified *v, unsigned *count, const char **set)
{
    if (count != NULL)
        *count = v->volumes;
    if (set != NULL)
        *set = v->volume > 0 ? v->set : NULL;
    return v->volume;
}

int
ferry_verified_share(struct ferry_verified *v, const struct ferry_verified *first,
                     struct ferry_error **err)
{
    struct ferry_strmap *members = NULL, *empty[3] = {NULL, NULL, NULL};
    const struct ferry_statement *st = first->st;

    if (v == first || v->st_borrowed)
        return 0;
    if (v->volume == 0 || first->volume == 0 || strcmp(v->set, first->set) != 0)
        return ferry_error_new(err, FERRY_E_USAGE, "only volumes of one set share a statement");
    /* the same set says the same: the members here are first's, by path */
    if ((members = ferry_strmap_new()) == NULL || (empty[0] = ferry_strmap_new()) == NULL ||
        (empty[1] = ferry_strmap_new()) == NULL || (empty[2] = ferry_strmap_new()) == NULL)
        goto oom;
    for (size_t i = 0; i < st->nmembers; i++) {
        const struct ferry_stmt_member *m = &st->members[i];
        if ((m->volume == 0 || m->volume == v->volume) &&
            ferry_strmap_put(members, m->path, (void *)m) < 0)
            goto oom;
    }
    ferry_strmap_free(v->members);
    ferry_strmap_free(v->externals);
    ferry_strmap_free(v->away);
    ferry_strmap_free(v->splits);
    v->members = members;
    v->externals = empty[0];
    v->away = empty[1];
    v->splits = empty[2];
    ferry_layout_free(v->layout); /* the graph is first's */
    v->layout = NULL;
    ferry_statement_free(v->st);
    v->st = (struct ferry_statement *)st;
    v->st_borrowed = true;
    return 0;
oom:
    ferry_strmap_free(members);
    for (size_t i = 0; i < 3; i++)
        ferry_strmap_free(empty[i]);
    return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
}

bool
ferry_verified_detached(const struct ferry_verified *v)
{
    return v->detached;
}

uint64_t
ferry_verified_bytes(const struct ferry_verified *v)
{
    return v->bytes;
}

bool
ferry_verified_offset(const struct ferry_verified *v, const char *path, uint64_t *off)
{
    uintptr_t o = (uintptr_t)ferry_strmap_get(v->offsets, path);

    if (o == 0)
        return false;
    *off = (uint64_t)(o - 1);
    return true;
}

int
ferry_verified_open_member(const struct ferry_verified *v, const struct ferry_stmt_member *m,
                           struct ferry_bundle_reader **out, struct ferry_error **err)
{
    struct ferry_bundle_reader *rd = NULL;
    const char *name;
    uint64_t off, size;
    int r;

    if (!ferry_verified_offset(v, m->path, &off))
        return ferry_error_new(err, FERRY_E_INTERNAL, "no offset recorded for %s", m->path);
    if ((r = ferry_bundle_reader_open_index(v->index, off, &rd, err)) < 0)
        return r;
    r = ferry_bundle_reader_next(rd, &name, &size, err);
    if (r >= 0 && (r == 0 || strcmp(name, m->path) != 0 || size != (uint64_t)m->size))
        r = ferry_error_new(err, FERRY_E_BUNDLE, "member %s changed since verification", m->path);
    if (r < 0) {
        ferry_bundle_reader_free(rd);
        return r;
    }
    *out = rd;
    return 0;
}

const struct ferry_stmt_member *
ferry_verified_find(const struct ferry_verified *const *vols, size_t nvols, const char *path,
                    const struct ferry_verified **from)
{
    for (size_t i = 0; i < nvols; i++) {
        const struct ferry_stmt_member *m = ferry_strmap_get(vols[i]->members, path);
        if (m != NULL) {
            if (from != NULL)
                *from = vols[i];
            return m;
        }
    }
    return NULL;
}

const struct ferry_stmt_member *
ferry_verified_find_blob(const struct ferry_verified *const *vols, size_t nvols, const char *digest,
                         const struct ferry_verified **from)
{
    char *path = ferry_layout_blob_path(digest);
    const struct ferry_stmt_member *m;

    if (path == NULL)
        return NULL;
    m = ferry_verified_find(vols, nvols, path, from);
    ferry_free(path);
    return m;
}

/* Name the bundle file in an error unless the message already starts with it. */
static void
wrap_path(struct ferry_error **err, const char *path)
{
    if (err && *err && strncmp((*err)->msg, path, strlen(path)) != 0)
        ferry_error_wrap(err, "%s", path);
}

int
ferry_import_read_statement(const char *path, struct ferry_pubkey *const *keys, size_t nkeys,
                            struct ferry_statement **out, struct ferry_error **err)
{
    return ferry_bundle_open_statement(path, keys, nkeys, NULL, out, NULL, err);
}

static int
add_manifest(struct ferry_verified *v, const struct ferry_stmt_member *m, struct ferry_buf *b,
             struct ferry_error **err)
{
    size_t len;
    char *data = ferry_buf_take(b, &len);

    return ferry_layout_add_manifest(v->layout, m->digest, m->media_type, data, len, err);
}

/* Stream one member: length guard + digest; keep manifests' bytes. */
static int
check_member(struct ferry_verified *v, struct ferry_bundle_reader *rd, const char *name,
             uint64_t size, struct ferry_buf *keep, struct ferry_error **err)
{
    const struct ferry_stmt_member *m = ferry_strmap_get(v->members, name);
    char safe[128];
    struct ferry_hasher *h = NULL;
    struct ferry_digest want, got;
    unsigned char *chunk = NULL;
    uint64_t total = 0;
    int64_t n;
    int r = 0;

    if (m == NULL)
        return ferry_error_new(err, FERRY_E_BUNDLE, "member %s is not listed in the signed %s",
                               ferry_quote(safe, sizeof safe, name, strlen(name)),
                               FERRY_STATEMENT_NAME);
    if (size != (uint64_t)m->size)
        return ferry_error_new(err, FERRY_E_SIZE_MISMATCH,
                               "member %s is %llu bytes, the signed statement says %lld", name,
                               (unsigned long long)size, (long long)m->size);
    if ((r = ferry_digest_parse(m->digest, &want, err)) < 0)
        return r;
    h = ferry_hasher_new(want.alg);
    chunk = ferry_malloc(FERRY_IO_BUFSIZE);
    if (h == NULL || chunk == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        n = ferry_bundle_reader_read(rd, chunk, FERRY_IO_BUFSIZE, err);
        if (n < 0) {
            r = (int)n;
            goto out;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
        ferry_hasher_update(h, chunk, (size_t)n);
        if (keep && (r = ferry_buf_append(keep, chunk, (size_t)n, err)) < 0) {
            ferry_error_wrap(err, "member %s", name);
            goto out;
        }
        ferry_progress("verify", name, v->bytes + total, v->total);
    }
    if (total != size) {
        r = ferry_error_new(err, FERRY_E_SIZE_MISMATCH, "member %s: read %llu of %llu bytes", name,
                            (unsigned long long)total, (unsigned long long)size);
        goto out;
    }
    ferry_hasher_final(h, &got);
    if (strcmp(got.str, want.str) != 0)
        r = ferry_error_new(err, FERRY_E_DIGEST_MISMATCH,
                            "member %s has digest %s, the signed statement says %s", name, got.str,
                            want.str);
    v->bytes += total;
out:
    ferry_hasher_free(h);
    ferry_free(chunk);
    return r;
}

static bool
keep_in_memory(const struct ferry_stmt_member *m)
{
    return m->size <= (int64_t)FERRY_MAX_MANIFEST && (ferry_media_type_is_index(m->media_type) ||
                                                      ferry_media_type_is_manifest(m->media_type));
}

/* BUNDLE.minisig over the whole file, checked beside the member pass. */
struct detached {
    const char *path;
    struct ferry_bundle_index *ix; /* the file the member pass reads */
    struct ferry_pubkey *const *keys;
    size_t nkeys;
    pthread_t th;
    bool started, joined;
    int r;
    struct ferry_error *err;
};

static void *
detached_main(void *arg)
{
    struct detached *d = arg;

    d->r = ferry_bundle_index_verify_signature(d->ix, d->path, d->keys, d->nkeys, NULL, &d->err);
    return NULL;
}

static void
detached_join(struct detached *d)
{
    if (d->started && !d->joined)
        pthread_join(d->th, NULL);
    d->joined = true;
}

/* A private spool for a stream push: a file in TMPDIR, unlinked at once. */
static int
spool_open(int *fd, struct ferry_error **err)
{
    const char *dir = getenv("TMPDIR");
    char *path = ferry_asprintf("%s/ferry-spool.XXXXXX", dir && *dir ? dir : "/tmp");

    if (path == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if ((*fd = mkstemp(path)) < 0) {
        int r = ferry_error_sys(err, errno, "create %s", path);
        ferry_free(path);
        return r;
    }
    /* not handed to credential helpers push may start */
    if (fcntl(*fd, F_SETFD, FD_CLOEXEC) < 0) {
        int r = ferry_error_sys(err, errno, "set close-on-exec on %s", path);
        close(*fd);
        *fd = -1;
        unlink(path);
        ferry_free(path);
        return r;
    }
    unlink(path);
    ferry_free(path);
    return 0;
}

/* Is there room for the bundle the statement describes beside the spool? */
static int
spool_room(int fd, const struct ferry_statement *st, size_t stmt_len, struct ferry_error **err)
{
    uint64_t need = ferry_bundle_file_bound(st, stmt_len), avail;
    int r;

    if ((r = ferry_fs_free(NULL, fd, "the spool in TMPDIR", &avail, err)) < 0)
        return r;
    if (avail >= need)
        return 0;
    return ferry_error_new(err, FERRY_E_IO,
                           "push -: the bundle needs up to %llu bytes of spool in TMPDIR, which "
                           "has %llu free: nothing was pushed",
                           (unsigned long long)need, (unsigned long long)avail);
}

static int verify_impl(const char *path, int stream_fd, bool deferred,
                       struct ferry_pubkey *const *keys, size_t nkeys, struct ferry_verified **out,
                       struct ferry_error **err);

int
ferry_import_verify(const char *path, struct ferry_pubkey *const *keys, size_t nkeys,
                    struct ferry_verified **out, struct ferry_error **err)
{
    return verify_impl(path, -1, false, keys, nkeys, out, err);
}

int
ferry_import_open(const char *path, struct ferry_pubkey *const *keys, size_t nkeys,
                  struct ferry_verified **out, struct ferry_error **err)
{
    if (strcmp(path, "-") == 0) /* a stream is read whole anyway */
        return verify_impl(path, -1, false, keys, nkeys, out, err);
    return verify_impl(path, -1, true, keys, nkeys, out, err);
}

int
ferry_import_verify_stream(int fd, struct ferry_pubkey *const *keys, size_t nkeys,
                           struct ferry_verified **out, struct ferry_error **err)
{
    return verify_impl("-", fd, false, keys, nkeys, out, err);
}

/* stream_fd >= 0: the bundle comes on that descriptor, is verified as it
 * streams and kept in a spool, which push then reads. deferred: the blobs
 * held in memory (manifests) and the layout's files are read and checked,
 * the other members only located (their frames passed over); whoever reads
 * one checks its digest (push, as it uploads). */
static int
verify_impl(const char *path, int stream_fd, bool deferred, struct ferry_pubkey *const *keys,
            size_t nkeys, struct ferry_verified **out, struct ferry_error **err)
{
    int spool = -1;
    struct ferry_verified *v = NULL;
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_strmap *seen = NULL;
    struct detached dj = {0};
    struct ferry_buf layout, index, mbuf;
    const char *name;
    uint64_t size;
    size_t i;
    int r;

    ferry_buf_init(&layout, 4096);
    ferry_buf_init(&index, FERRY_MAX_INDEX_JSON);
    ferry_buf_init(&mbuf, FERRY_MAX_MANIFEST);
    if (nkeys == 0)
        return ferry_error_new(err, FERRY_E_USAGE, "no trusted public key given");
    v = ferry_calloc(1, sizeof *v);
    if (v == NULL || (v->members = ferry_strmap_new()) == NULL ||
        (v->layout = ferry_layout_new()) == NULL || (v->offsets = ferry_strmap_new()) == NULL ||
        (v->externals = ferry_strmap_new()) == NULL || (v->away = ferry_strmap_new()) == NULL ||
        (v->splits = ferry_strmap_new()) == NULL || (seen = ferry_strmap_new()) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if (stream_fd >= 0) {
        if ((r = spool_open(&spool, err)) < 0)
            goto out_nowrap;
        r = ferry_bundle_open_statement_stream(stream_fd, spool, "<stdin>", keys, nkeys, &rd,
                                               &v->st, &v->id, err);
        if (r == 0)
            r = spool_room(spool, v->st, v->id.statement_len, err);
    } else {
        r = ferry_bundle_open_statement(path, keys, nkeys, &rd, &v->st, &v->id, err);
    }
    if (r < 0)
        goto out_nowrap;
    /* The reader has checked every frame against the seek table (format
     * v1 requires one); the detached whole-file signature is checked when it
     * travelled along. */
    /* The whole-file hash runs on its own thread while the members are
     * hashed here: two passes over the file, one wall-clock pass. */
    dj.path = path;
    dj.ix = ferry_bundle_reader_index(rd);
    dj.keys = keys;
    dj.nkeys = nkeys;
    if (strcmp(path, "-") == 0 || deferred) /* a stream: no detached signature beside it; */
        dj.r = -FERRY_E_NOT_FOUND;          /* deferred: the digests cover the same */
    else if (pthread_create(&dj.th, NULL, detached_main, &dj) == 0)
        dj.started = true;
    else
        detached_main(&dj);
    for (i = 0; i < v->st->nmembers; i++) {
        const struct ferry_stmt_member *m = &v->st->members[i];
        bool here = ferry_stmt_member_here(v->st, m);
        if (!here && m->blob == NULL && ferry_strmap_put(v->away, m->digest, (void *)m) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        if (here && ferry_strmap_put(v->members, m->path, (void *)m) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        if (here) /* signed sizes; each under 2^63, members capped */
            v->total += (uint64_t)m->size;
        /* manifests may reference blobs of other volumes (with their
         * signed sizes): push takes them from the volume that has them */
        if (strcmp(m->path, FERRY_LAYOUT_VERSION_FILE) != 0 &&
            strcmp(m->path, FERRY_LAYOUT_INDEX_FILE) != 0 && m->blob == NULL &&
            (r = ferry_layout_add_blob(v->layout, m->digest, m->size, err)) < 0)
            goto out;
    }
    for (i = 0; i < v->st->nsplits; i++) {
        const struct ferry_stmt_split *x = &v->st->splits[i];
        if (ferry_strmap_put(v->splits, x->digest, (void *)x) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        if ((r = ferry_layout_add_blob(v->layout, x->digest, x->size, err)) < 0)
            goto out;
    }
    /* A delta's external blobs: manifests may reference them (with their
     * signed size); push checks the target holds them. */
    for (i = 0; i < v->st->nexternals; i++) {
        const struct ferry_stmt_external *x = &v->st->externals[i];
        if (ferry_strmap_put(v->externals, x->digest, (void *)x) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        if ((r = ferry_layout_add_blob(v->layout, x->digest, x->size, err)) < 0)
            goto out;
    }
    for (;;) {
        const struct ferry_stmt_member *m;
        struct ferry_buf *keep = NULL;
        r = ferry_bundle_reader_next(rd, &name, &size, err);
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        if ((r = ferry_strmap_put(seen, name, (void *)1)) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        if (r == 0) {
            char safe[128];
            r = ferry_error_new(err, FERRY_E_BUNDLE, "member %s appears twice",
                                ferry_quote(safe, sizeof safe, name, strlen(name)));
            goto out;
        }
        /* Where the member starts, so pushes can read blobs in parallel. */
        if (ferry_strmap_put(v->offsets, name,
                             (void *)(uintptr_t)(ferry_bundle_reader_member_offset(rd) + 1)) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        m = ferry_strmap_get(v->members, name);
        if (m != NULL && strcmp(name, FERRY_LAYOUT_VERSION_FILE) == 0)
            keep = &layout;
        else if (m != NULL && strcmp(name, FERRY_LAYOUT_INDEX_FILE) == 0)
            keep = &index;
        else if (m != NULL && keep_in_memory(m)) {
            ferry_buf_reset(&mbuf);
            keep = &mbuf;
        }
        if (deferred && keep == NULL && m != NULL) {
            /* listed, once, of its signed size: its digest is checked by
             * whoever reads it */
            if (size != (uint64_t)m->size) {
                r = ferry_error_new(err, FERRY_E_SIZE_MISMATCH,
                                    "member %s is %llu bytes, the signed statement says %lld", name,
                                    (unsigned long long)size, (long long)m->size);
                goto out;
            }
            continue;
        }
        if ((r = check_member(v, rd, name, size, keep, err)) < 0)
            goto out;
        if (keep == &mbuf && (r = add_manifest(v, m, &mbuf, err)) < 0)
            goto out;
    }
    detached_join(&dj);
    if (dj.r == -FERRY_E_NOT_FOUND) {
        ferry_error_clear(&dj.err);
    } else if (dj.r < 0) {
        *err = dj.err;
        dj.err = NULL;
        r = ferry_error_wrap(err, "detached signature %s.minisig", path);
        goto out_nowrap;
    } else {
        v->detached = true;
    }
    for (i = 0; i < v->st->nmembers; i++) {
        if (!ferry_stmt_member_here(v->st, &v->st->members[i]))
            continue;
        if (ferry_strmap_get(seen, v->st->members[i].path) == NULL) {
            r = ferry_error_new(err, FERRY_E_BUNDLE,
                                "member %s is listed in the signed %s but missing",
                                v->st->members[i].path, FERRY_STATEMENT_NAME);
            goto out;
        }
    }
    if ((r = ferry_layout_check(v->layout, layout.data, layout.len, index.data, index.len, err)) <
        0)
        goto out;
    if ((r = ferry_statement_layout_check(v->st, v->layout, err)) < 0)
        goto out;
    v->deferred = deferred;
    if ((v->volume = v->st->volume) > 0) {
        v->volumes = v->st->volumes;
        snprintf(v->set, sizeof v->set, "%.71s", v->st->volume_set);
    }
    if (spool >= 0) {
        /* the stream checked: push reads the spool it filled, byte for byte
         * what was verified (private, unlinked) */
        r = ferry_bundle_index_open_fd(spool, "<stdin> (spooled)", &v->index, err);
        spool = -1;
        if (r < 0)
            goto out;
    } else if ((v->index = ferry_bundle_reader_index(rd)) == NULL) {
        r = ferry_error_new(err, FERRY_E_INTERNAL, "no index of the bundle");
        goto out;
    }
    *out = v;
    v = NULL;
out:
    if (r < 0)
        wrap_path(err, path);
out_nowrap:
    if (spool >= 0)
        close(spool);
    detached_join(&dj);
    ferry_bundle_index_free(dj.ix);
    ferry_error_free(dj.err);
    ferry_bundle_reader_free(rd);
    ferry_strmap_free(seen);
    ferry_buf_free(&layout);
    ferry_buf_free(&index);
    ferry_buf_free(&mbuf);
    ferry_verified_free(v);
    return r;
}
