/* ferry import: blobs carried in parts across the volumes of a set
 * (docs/FORMAT.md 3.3). A part comes from a volume given to this run, or,
 * when an earlier run parked it, from the registry (the records repository
 * FIRST/ferry-state holds it as a blob of its own digest). The reader below
 * hands the blob's bytes over in order, each part checked against its
 * signed digest and the whole against the blob's, the last bytes held back
 * until they match (as for any upload), so nothing unverified commits. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ferry/digest.h"
#include "ferry/limits.h"
#include "ferry/util.h"
#include "import_int.h"

int
parts_locate(const struct ferry_verified *const *vols, size_t nvols,
             const struct ferry_stmt_split *x, struct ferry_registry *reg, const char *parts_repo,
             struct part_loc **out, struct ferry_error **err)
{
    const struct ferry_statement *st = vols[0]->st;
    struct part_loc *pl = ferry_calloc(x->parts, sizeof *pl);
    size_t n = 0;
    int r = 0;

    if (pl == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    /* the parser checked the parts and recorded where each is */
    for (n = 0; x->members != NULL && n < x->parts && r >= 0; n++) {
        const struct ferry_stmt_member *m = &st->members[x->members[n]];
        pl[n].m = ferry_verified_find(vols, nvols, m->path, &pl[n].from);
        if (pl[n].m == NULL) {
            pl[n].m = m;
            pl[n].from = NULL;
            if (reg != NULL) {
                r = ferry_registry_head_blob(reg, parts_repo, m->digest, NULL, err);
                pl[n].parked = r == 1;
            }
        }
    }
    if (r >= 0 && n != x->parts)
        r = ferry_error_new(err, FERRY_E_INTERNAL, "%s: %zu of %zu parts listed", x->digest, n,
                            x->parts);
    if (r < 0) {
        ferry_free(pl);
        return r;
    }
    *out = pl;
    return 0;
}

/* A part read from the registry: a thread GETs it into one end of a
 * socket pair (bounded by the socket's buffer), the reader takes it from
 * the other. */
struct fetched {
    int fds[2];
    pthread_t th;
    bool started;
    struct ferry_registry *reg;
    const char *repo, *digest;
    int64_t size;
    int r;
    struct ferry_error *err;
};

static int
send_sink(const void *data, size_t len, void *ud, struct ferry_error **err)
{
    struct fetched *f = ud;
    const char *p = data;

    while (len > 0) {
        ssize_t n = send(f->fds[1], p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ferry_error_sys(err, errno, "hand part %s over", f->digest);
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *
fetched_main(void *arg)
{
    struct fetched *f = arg;

    f->r = ferry_registry_get_blob(f->reg, f->repo, f->digest, f->size, send_sink, f, &f->err);
    shutdown(f->fds[1], SHUT_WR);
    return NULL;
}

static void
fetched_stop(struct fetched *f)
{
    if (f == NULL)
        return;
    if (f->fds[0] >= 0)
        shutdown(f->fds[0], SHUT_RDWR); /* a sender still at work gets EPIPE */
    if (f->started)
        pthread_join(f->th, NULL);
    if (f->fds[0] >= 0)
        close(f->fds[0]);
    if (f->fds[1] >= 0)
        close(f->fds[1]);
    ferry_error_free(f->err);
    ferry_free(f);
}

struct parts_src {
    const struct ferry_stmt_split *x;
    const struct part_loc *loc;
    struct ferry_registry *reg; /* for parked parts: its own connection */
    const char *parts_repo;
    const atomic_bool *cancel;
    size_t cur; /* the part being read */
    uint64_t part_done, done;
    struct ferry_bundle_reader *rd;
    struct fetched *f;
    struct ferry_hasher *whole, *part;
    struct ferry_digest want;
    char *skip;
};

int
parts_src_new(const struct ferry_stmt_split *x, const struct part_loc *loc,
              struct ferry_registry *reg, const char *parts_repo, const atomic_bool *cancel,
              struct parts_src **out, struct ferry_error **err)
{
    struct parts_src *s = ferry_calloc(1, sizeof *s);
    int r;

    if (s == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    s->x = x;
    s->loc = loc;
    s->reg = reg;
    s->parts_repo = parts_repo;
    s->cancel = cancel;
    if ((r = ferry_digest_parse(x->digest, &s->want, err)) < 0) {
        ferry_free(s);
        return r;
    }
    s->whole = ferry_hasher_new(s->want.alg);
    s->part = ferry_hasher_new(FERRY_DIGEST_SHA256);
    if (s->whole == NULL || s->part == NULL) {
        parts_src_free(s);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    *out = s;
    return 0;
}

static void
close_part(struct parts_src *s)
{
    ferry_bundle_reader_free(s->rd);
    s->rd = NULL;
    fetched_stop(s->f);
    s->f = NULL;
}

void
parts_src_free(struct parts_src *s)
{
    if (s == NULL)
        return;
    close_part(s);
    ferry_hasher_free(s->whole);
    ferry_hasher_free(s->part);
    ferry_free(s->skip);
    ferry_free(s);
}

static int
open_part(struct parts_src *s, struct ferry_error **err)
{
    const struct part_loc *l = &s->loc[s->cur];
    struct fetched *f;

    ferry_hasher_reset(s->part);
    s->part_done = 0;
    if (l->from != NULL)
        return ferry_verified_open_member(l->from, l->m, &s->rd, err);
    if (!l->parked || s->reg == NULL)
        return ferry_error_new(err, FERRY_E_INTERNAL, "part %s is nowhere", l->m->path);
    if ((f = ferry_calloc(1, sizeof *f)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    f->fds[0] = f->fds[1] = -1;
    f->reg = s->reg;
    f->repo = s->parts_repo;
    f->digest = l->m->digest;
    f->size = l->m->size;
    s->f = f;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->fds) < 0)
        return ferry_error_sys(err, errno, "socket pair for part %s", l->m->digest);
    if (pthread_create(&f->th, NULL, fetched_main, f) != 0)
        return ferry_error_new(err, FERRY_E_NOMEM, "cannot start a thread for part %s",
                               l->m->digest);
    f->started = true;
    return 0;
}

/* Bytes of the open part: from its volume, or from the registry. */
static int64_t
read_part(struct parts_src *s, void *buf, size_t len, struct ferry_error **err)
{
    ssize_t n;

    if (s->rd != NULL)
        return ferry_bundle_reader_read(s->rd, buf, len, err);
    for (;;) {
        n = recv(s->f->fds[0], buf, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    if (n < 0)
        return ferry_error_sys(err, errno, "read part %s", s->f->digest);
    if (n == 0) { /* the sender is done: how did it end? */
        pthread_join(s->f->th, NULL);
        s->f->started = false;
        if (s->f->r < 0) {
            *err = s->f->err;
            s->f->err = NULL;
            return ferry_error_wrap(err, "part %s from %s", s->f->digest, s->parts_repo);
        }
    }
    return n;
}

int64_t
parts_src_read(void *buf, size_t len, void *ud, struct ferry_error **err)
{
    struct parts_src *s = ud;
    const struct ferry_stmt_member *m;
    struct ferry_digest got;
    uint64_t left;
    int64_t n;
    int r;

    if (s->done == (uint64_t)s->x->size)
        return 0;
    if (s->cancel != NULL && atomic_load(s->cancel))
        return ferry_error_new(err, FERRY_E_INTERNAL, "upload of %s cancelled: another push failed",
                               s->x->digest);
    if (s->rd == NULL && s->f == NULL && (r = open_part(s, err)) < 0)
        return r;
    m = s->loc[s->cur].m;
    left = (uint64_t)m->size - s->part_done;
    if (len > left)
        len = (size_t)left;
    if ((n = read_part(s, buf, len, err)) < 0)
        return n;
    if (n == 0)
        return ferry_error_new(err, FERRY_E_SIZE_MISMATCH, "part %s ends after %llu of %lld bytes",
                               m->path, (unsigned long long)s->part_done, (long long)m->size);
    ferry_hasher_update(s->part, buf, (size_t)n);
    ferry_hasher_update(s->whole, buf, (size_t)n);
    s->part_done += (uint64_t)n;
    s->done += (uint64_t)n;
    if (s->part_done == (uint64_t)m->size) {
        ferry_hasher_final(s->part, &got);
        if (strcmp(got.str, m->digest) != 0)
            return ferry_error_new(err, FERRY_E_DIGEST_MISMATCH,
                                   "part %s%s has digest %s, the signed statement says %s", m->path,
                                   s->loc[s->cur].from ? "" : " (parked in the registry)", got.str,
                                   m->digest);
        close_part(s);
        s->cur++;
    }
    if (s->done == (uint64_t)s->x->size) {
        ferry_hasher_final(s->whole, &got);
        if (strcmp(got.str, s->want.str) != 0)
            return ferry_error_new(err, FERRY_E_DIGEST_MISMATCH,
                                   "%s put together from its parts has digest %s", s->x->digest,
                                   got.str);
    }
    return n;
}

int
parts_src_seek(void *ud, uint64_t offset, struct ferry_error **err)
{
    struct parts_src *s = ud;
    int64_t n;

    if (offset > (uint64_t)s->x->size)
        return ferry_error_new(err, FERRY_E_INTERNAL, "%s: seek past its end", s->x->digest);
    if (offset < s->done) { /* from the start again: every byte is hashed */
        close_part(s);
        s->cur = 0;
        s->done = 0;
        ferry_hasher_reset(s->whole);
    }
    if (s->done < offset && s->skip == NULL && (s->skip = ferry_malloc(FERRY_IO_BUFSIZE)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    while (s->done < offset) {
        uint64_t want = offset - s->done;
        n = parts_src_read(s->skip, want < FERRY_IO_BUFSIZE ? (size_t)want : FERRY_IO_BUFSIZE, s,
                           err);
        if (n < 0)
            return (int)n;
    }
    return 0;
}
