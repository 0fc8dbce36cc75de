/* ferry export: downloads ahead of the bundle writer.
 *
 * Every blob is cut into parts: a blob of more than FETCH_PART bytes into
 * ranges of FETCH_PART (HTTP Range, when its registry answers them and is
 * far, below), any other blob is one part fetched whole. The parts form one
 * queue in bundle order; each of the K download threads (one connection
 * per registry each) takes the next part into a free ring of FETCH_PART
 * bytes from a pool of FETCH_RINGS, and the ring goes back once the writer
 * has emptied it: K connections fill the link on whichever blobs come next
 * (a large layer gets many, small ones one each), memory stays at
 * FETCH_RINGS rings, allocated once, however large K, and the writer
 * drains the parts in order.
 *
 * A blob fetched whole (small, or its registry is near or has no ranges)
 * streams through its ring, the download waiting while it is full, and is
 * verified by the registry client (size, digest, last bytes held back). The
 * ranges of a blob are hashed in order by a hashing thread once the writer
 * has written them (then the ring goes back), and the last range is held
 * until the digest over all of them matches, so the writer never sees a
 * complete but wrong blob.
 *
 * Ranges pay only where a connection is slower than the writer: each one is
 * a request the registry serves (distribution reads 4 MiB for any range,
 * and the requests cost it more CPU than the bytes). A far registry (the
 * internet: round trips, per-connection shaping, slow start) gets them; a
 * near one (loopback, a LAN), whose connections stream at the speed of the
 * CPU, gets whole blobs on K connections. So the first blob that could be
 * cut asks its registry, once per host, for a one-byte range (redirects to
 * blob storage are followed, without the registry's credentials), then
 * times up to three HEADs of that blob: it is far when the quickest takes
 * FETCH_FAR_MS or more (or a HEAD fails: ranges, as they work). A registry
 * without ranges gets whole blobs too. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "fetch_int.h"
#include "ferry/digest.h"
#include "ferry/util.h"

/* RANGES_NO: whole blobs (no ranges, or a near registry) */
enum ranges { RANGES_UNKNOWN, RANGES_PROBING, RANGES_YES, RANGES_NO };

struct part {
    size_t job;
    int64_t off, len; /* len 0: left out (its blob is fetched whole) */
    bool last;        /* of its job */
    bool whole;       /* the whole blob, verified by the registry client */
    /* its ring (of the pool), while taken and not yet written */
    struct worker *owner;
    unsigned char *ring;
    size_t ring_no;
    size_t cap, head, fill;
    bool taken, done;
    int result;
    struct ferry_error *err;
};

struct host {
    const char *name;
    enum ranges ranges;
};

struct worker {
    struct fetcher *f;
    pthread_t th;
    bool running;
    struct connset conns;
    pthread_cond_t cv; /* it waits for room in its part's ring */
};

struct fetcher {
    const struct fetch_job *jobs;
    size_t njobs, nthreads;
    struct part *parts;
    size_t nparts;
    size_t *first_part; /* per job: its first part */
    struct host *hosts;
    size_t nhosts;
    size_t next; /* the next part to take */
    pthread_mutex_t mu;
    pthread_cond_t cv;         /* threads waiting for a registry's range probe */
    pthread_cond_t cv_data;    /* the writer waiting for a part to be taken, fill or end */
    const struct part *wanted; /* the part the writer waits for, or NULL */
    bool locks;                /* mu and the condition variables exist */
    struct worker *workers;
    /* FETCH_RINGS rings of FETCH_PART bytes, allocated once; a part takes
     * a free one, and gives it back once written (and hashed) */
    unsigned char *rings[FETCH_RINGS];
    size_t free_rings[FETCH_RINGS], nfree;
    struct ferry_hasher *h; /* over a blob in ranges: the hasher's, then the writer's */
    /* The hasher thread: the ranges the writer has written, hashed in order
     * while the writer goes on, each ring given back after */
    pthread_t hasher;
    bool hasher_running;
    pthread_cond_t cv_hash;
    size_t *hq, hq_head, hq_tail;
    atomic_bool cancel;
};

struct part;
/* The writer waits (mu held) for news of part p (NULL: the hasher). Only
 * that part's thread wakes it: a wake-up per chunk of every download would
 * cost more than the copying. */
static void writer_wait(struct fetcher *f, const struct part *p);
static void wake_writer(struct fetcher *f, const struct part *p);

struct put {
    struct fetcher *f;
    struct part *p;
};

static void
writer_wait(struct fetcher *f, const struct part *p)
{
    f->wanted = p;
    pthread_cond_wait(&f->cv_data, &f->mu);
    f->wanted = NULL;
}

static void
wake_writer(struct fetcher *f, const struct part *p)
{
    if (f->wanted == p)
        pthread_cond_signal(&f->cv_data);
}

/* curl's write path: copy into the part's ring, waiting while it is full. */
static int
ring_put(const void *data, size_t len, void *ud, struct ferry_error **err)
{
    struct put *pt = ud;
    struct fetcher *f = pt->f;
    struct part *p = pt->p;
    const unsigned char *in = data;

    pthread_mutex_lock(&f->mu);
    while (len > 0) {
        size_t n, tail;
        while (p->fill == p->cap && !f->cancel)
            pthread_cond_wait(&p->owner->cv, &f->mu);
        if (f->cancel) {
            pthread_mutex_unlock(&f->mu);
            return ferry_error_new(err, FERRY_E_INTERNAL, "download cancelled");
        }
        tail = (p->head + p->fill) % p->cap;
        n = p->cap - p->fill;
        if (n > p->cap - tail)
            n = p->cap - tail;
        if (n > len)
            n = len;
        memcpy(p->ring + tail, in, n);
        p->fill += n;
        in += n;
        len -= n;
        wake_writer(f, p);
    }
    pthread_mutex_unlock(&f->mu);
    return 0;
}

int
connset_get(struct connset *cs, const char *host, const struct ferry_registry_opts *o,
            struct ferry_registry **out, struct ferry_error **err)
{
    size_t i;
    int r;

    for (i = 0; i < cs->n; i++)
        if (strcmp(cs->c[i].host, host) == 0) {
            *out = cs->c[i].reg;
            return 0;
        }
    if (cs->n == CONNSET_MAX) {
        ferry_registry_free(cs->c[0].reg);
        memmove(&cs->c[0], &cs->c[1], (CONNSET_MAX - 1) * sizeof cs->c[0]);
        cs->n--;
    }
    if ((r = ferry_registry_new(host, o, &cs->c[cs->n].reg, err)) < 0)
        return r;
    cs->c[cs->n].host = host;
    *out = cs->c[cs->n++].reg;
    return 0;
}

void
connset_clear(struct connset *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        ferry_registry_free(cs->c[i].reg);
    cs->n = 0;
}

static struct host *
host_of(struct fetcher *f, const char *name)
{
    for (size_t i = 0; i < f->nhosts; i++)
        if (strcmp(f->hosts[i].name, name) == 0)
            return &f->hosts[i];
    return NULL;
}

static int
discard(const void *data, size_t len, void *ud, struct ferry_error **err)
{
    (void)data;
    (void)len;
    (void)ud;
    (void)err;
    return 0;
}

/* Does the registry of job j answer ranges, and is it far enough for them to
 * pay? A byte of its blob, then up to three HEADs of it, timed (a request the
 * registry answers without reading the blob, so a busy moment on this host
 * does not look like distance). */
static enum ranges
probe(struct worker *w, const struct fetch_job *j)
{
    struct ferry_registry *reg = NULL;
    struct ferry_error *err = NULL;
    double best = -1;
    int r = connset_get(&w->conns, j->host, j->reg, &reg, &err);

    if (r == 0)
        r = ferry_registry_get_blob_range(reg, j->repo, j->digest, 0, 1, discard, NULL, &err);
    if (r < 0) {
        ferry_log(FERRY_LOG_INFO,
                  "%s: no range requests (%s): each blob comes whole, on one "
                  "connection",
                  j->host, err ? err->msg : "unknown error");
        ferry_error_free(err);
        return RANGES_NO;
    }
    /* the GET paid for the connection and the token; another HEAD only
     * while the quickest so far was slow */
    for (int k = 0; k < 3 && (best < 0 || best * 1e3 >= FETCH_FAR_MS); k++) {
        double t0 = ferry_monotonic_s(), t;
        if (ferry_registry_head_blob(reg, j->repo, j->digest, NULL, &err) < 0) {
            /* (blob storage may refuse a HEAD; ranges work) */
            ferry_log(FERRY_LOG_INFO, "%s: cannot time it (%s): blobs over %u MiB come in ranges",
                      j->host, err ? err->msg : "unknown error", FETCH_PART >> 20);
            ferry_error_free(err);
            return RANGES_YES;
        }
        t = ferry_monotonic_s() - t0;
        if (best < 0 || t < best)
            best = t;
    }
    if (best * 1e3 < FETCH_FAR_MS) {
        ferry_log(FERRY_LOG_INFO,
                  "%s: answers in %.1f ms (near): each blob comes whole, on one connection",
                  j->host, best * 1e3);
        return RANGES_NO;
    }
    ferry_log(FERRY_LOG_INFO, "%s: answers in %.0f ms (far): blobs over %u MiB come in ranges",
              j->host, best * 1e3, FETCH_PART >> 20);
    return RANGES_YES;
}

/* Whole blobs from this registry: the first part of job takes the whole blob
 * (verified by the registry client), its other parts are left out. */
static void
whole_job(struct fetcher *f, size_t job)
{
    size_t k = f->first_part[job], end = job + 1 < f->njobs ? f->first_part[job + 1] : f->nparts;

    f->parts[k].off = 0;
    f->parts[k].len = f->jobs[job].size;
    f->parts[k].whole = true;
    f->parts[k].last = true;
    for (k++; k < end; k++) {
        f->parts[k].len = 0;
        f->parts[k].taken = f->parts[k].done = true;
    }
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct fetcher *f = w->f;

    pthread_mutex_lock(&f->mu);
    while (!f->cancel && f->next < f->nparts) {
        struct part *p = &f->parts[f->next];
        const struct fetch_job *j = &f->jobs[p->job];
        struct host *h = host_of(f, j->host);
        struct ferry_registry *reg = NULL;
        struct ferry_error *err = NULL;
        struct put pt = {f, p};
        size_t cap;
        int r;

        if (p->taken) { /* left out */
            f->next++;
            continue;
        }
        if (!p->whole && h->ranges != RANGES_YES) {
            if (h->ranges == RANGES_UNKNOWN) {
                h->ranges = RANGES_PROBING;
                pthread_mutex_unlock(&f->mu);
                enum ranges got = probe(w, j);
                pthread_mutex_lock(&f->mu);
                h->ranges = got;
                pthread_cond_broadcast(&f->cv);
            } else if (h->ranges == RANGES_PROBING) {
                pthread_cond_wait(&f->cv, &f->mu);
            } else {
                whole_job(f, p->job);
                pthread_cond_signal(&f->cv_data); /* the parts left out are taken */
            }
            continue;
        }
        if (f->nfree == 0) { /* every ring waits for the writer */
            pthread_cond_wait(&f->cv, &f->mu);
            continue;
        }
        cap = p->len < (int64_t)FETCH_PART ? (size_t)p->len : FETCH_PART;
        if (cap == 0)
            cap = 1; /* an empty blob */
        f->next++;
        p->taken = true;
        p->owner = w;
        p->ring_no = f->free_rings[--f->nfree];
        p->ring = f->rings[p->ring_no];
        p->cap = cap;
        wake_writer(f, p);
        pthread_mutex_unlock(&f->mu);

        r = connset_get(&w->conns, j->host, j->reg, &reg, &err);
        if (r == 0 && p->whole)
            r = ferry_registry_get_blob(reg, j->repo, j->digest, j->size, ring_put, &pt, &err);
        else if (r == 0)
            r = ferry_registry_get_blob_range(reg, j->repo, j->digest, p->off, p->len, ring_put,
                                              &pt, &err);
        if (r < 0)
            ferry_error_wrap(&err, "export %s@%s", j->repo, j->digest);

        pthread_mutex_lock(&f->mu);
        p->done = true;
        p->result = r;
        p->err = err;
        wake_writer(f, p);
    }
    pthread_mutex_unlock(&f->mu);
    connset_clear(&w->conns);
    return NULL;
}

/* A part's ring back to its thread (mu held). */
static void
give_back(struct fetcher *f, struct part *p)
{
    p->ring = NULL;
    f->free_rings[f->nfree++] = p->ring_no;
    pthread_cond_broadcast(&f->cv);
}

/* The hasher thread: the ranges of a blob but its last, in order, off the
 * writer's thread. The ring stays whole until given back (cap == len). */
static void *
hasher_main(void *arg)
{
    struct fetcher *f = arg;

    pthread_mutex_lock(&f->mu);
    for (;;) {
        struct part *p;
        while (f->hq_head == f->hq_tail && !f->cancel)
            pthread_cond_wait(&f->cv_hash, &f->mu);
        if (f->cancel)
            break;
        p = &f->parts[f->hq[f->hq_head]];
        pthread_mutex_unlock(&f->mu);
        ferry_hasher_update(f->h, p->ring, (size_t)p->len);
        pthread_mutex_lock(&f->mu);
        f->hq_head++;
        give_back(f, p);
        if (f->hq_head == f->hq_tail)
            pthread_cond_signal(&f->cv_data);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* Hand the ring's bytes to sink, DRAIN_CHUNK at a time (room for its
 * download sooner); called and returns with f->mu held. */
#define DRAIN_CHUNK ((size_t)64 << 10)
static int
drain_part(struct fetcher *f, struct part *p, ferry_sink_fn sink, void *ud,
           struct ferry_error **err)
{
    int r;

    /* straight from the ring: its download writes only past head + fill,
     * so these bytes stay put until fill gives them back */
    while (p->fill > 0) {
        size_t n = p->fill < DRAIN_CHUNK ? p->fill : DRAIN_CHUNK;
        if (n > p->cap - p->head)
            n = p->cap - p->head;
        pthread_mutex_unlock(&f->mu);
        r = sink(p->ring + p->head, n, ud, err);
        pthread_mutex_lock(&f->mu);
        if (r < 0)
            return r;
        p->head = (p->head + n) % p->cap;
        p->fill -= n;
        pthread_cond_signal(&p->owner->cv);
    }
    return 0;
}

int
fetcher_drain(struct fetcher *f, size_t i, ferry_sink_fn sink, void *ud, struct ferry_error **err)
{
    const struct fetch_job *j = &f->jobs[i];
    size_t k = f->first_part[i], end = i + 1 < f->njobs ? f->first_part[i + 1] : f->nparts;
    int r = 0;

    ferry_hasher_reset(f->h);
    pthread_mutex_lock(&f->mu);
    for (; k < end && r == 0; k++) {
        struct part *p = &f->parts[k];
        bool hold;
        while (!p->taken)
            writer_wait(f, p);
        if (p->len == 0 && !p->whole)
            continue; /* left out: the first part took the whole blob */
        /* the last range of a blob is held until the blob's digest matches */
        hold = !p->whole && p->last;
        for (;;) {
            while (!p->done && (hold || p->fill == 0))
                writer_wait(f, p);
            if (p->done && p->result < 0) {
                r = p->result;
                *err = p->err;
                p->err = NULL;
                break;
            }
            if (hold) {
                struct ferry_digest want, got;
                /* the ranges before it hashed; it is done and whole in the
                 * ring (cap == len) */
                while (f->hq_head != f->hq_tail)
                    writer_wait(f, NULL);
                ferry_hasher_update(f->h, p->ring + p->head, p->fill);
                ferry_hasher_final(f->h, &got);
                if ((r = ferry_digest_parse(j->digest, &want, err)) < 0)
                    break;
                if (strcmp(want.str, got.str) != 0) {
                    r = ferry_error_new(err, FERRY_E_DIGEST_MISMATCH,
                                        "export %s@%s: its parts digest to %s", j->repo, j->digest,
                                        got.str);
                    break;
                }
                hold = false;
            }
            if ((r = drain_part(f, p, sink, ud, err)) < 0 || (p->done && p->fill == 0))
                break;
        }
        if (r == 0 && !p->whole && !p->last) { /* written: hashed next, then given back */
            f->hq[f->hq_tail++] = k;
            pthread_cond_signal(&f->cv_hash);
        } else if (r == 0) { /* written: its thread may take the next part */
            give_back(f, p);
        }
    }
    pthread_mutex_unlock(&f->mu);
    return r;
}

int
fetcher_start(const struct fetch_job *jobs, size_t njobs, size_t nthreads, struct fetcher **out,
              struct ferry_error **err)
{
    struct fetcher *f;
    size_t i, k, n = 0;

    if (nthreads == 0)
        nthreads = 1;
    f = ferry_calloc(1, sizeof *f);
    if (f == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    f->jobs = jobs;
    f->njobs = njobs;
    f->nthreads = nthreads;
    for (i = 0; i < njobs; i++)
        n += jobs[i].size > (int64_t)FETCH_PART
                 ? (size_t)((jobs[i].size + FETCH_PART - 1) / FETCH_PART)
                 : 1;
    f->parts = ferry_calloc(n ? n : 1, sizeof *f->parts);
    f->first_part = ferry_calloc(njobs ? njobs : 1, sizeof *f->first_part);
    f->hosts = ferry_calloc(njobs ? njobs : 1, sizeof *f->hosts);
    f->workers = ferry_calloc(nthreads, sizeof *f->workers);
    f->h = ferry_hasher_new(FERRY_DIGEST_SHA256);
    f->hq = ferry_calloc(n ? n : 1, sizeof *f->hq);
    if (f->parts == NULL || f->first_part == NULL || f->hosts == NULL || f->workers == NULL ||
        f->h == NULL || f->hq == NULL) {
        fetcher_stop(f);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    for (i = 0; i < njobs; i++) {
        int64_t size = jobs[i].size, off = 0;
        bool split = size > (int64_t)FETCH_PART;
        struct ferry_digest d;
        /* a blob in ranges is hashed here, with sha256 */
        if (split &&
            (ferry_digest_parse(jobs[i].digest, &d, NULL) < 0 || d.alg != FERRY_DIGEST_SHA256))
            split = false;
        f->first_part[i] = f->nparts;
        do {
            struct part *p = &f->parts[f->nparts++];
            p->job = i;
            p->off = off;
            p->len = split && size - off > (int64_t)FETCH_PART ? (int64_t)FETCH_PART : size - off;
            off += p->len;
            p->last = off >= size;
            p->whole = !split;
        } while (off < size);
        if (host_of(f, jobs[i].host) == NULL)
            f->hosts[f->nhosts++].name = jobs[i].host;
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    pthread_cond_init(&f->cv_data, NULL);
    pthread_cond_init(&f->cv_hash, NULL);
    for (k = 0; k < nthreads; k++)
        pthread_cond_init(&f->workers[k].cv, NULL);
    f->locks = true;
    for (k = 0; k < FETCH_RINGS && njobs > 0; k++) {
        if ((f->rings[k] = ferry_malloc(FETCH_PART)) == NULL) {
            fetcher_stop(f);
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
        f->free_rings[f->nfree++] = k;
    }
    if (njobs > 0) {
        if (pthread_create(&f->hasher, NULL, hasher_main, f) != 0) {
            fetcher_stop(f);
            return ferry_error_new(err, FERRY_E_INTERNAL, "cannot start the hashing thread");
        }
        f->hasher_running = true;
    }
    for (k = 0; k < nthreads && njobs > 0; k++) {
        f->workers[k].f = f;
        if (pthread_create(&f->workers[k].th, NULL, worker_main, &f->workers[k]) != 0) {
            fetcher_stop(f);
            return ferry_error_new(err, FERRY_E_INTERNAL, "cannot start a download thread");
        }
        f->workers[k].running = true;
    }
    *out = f;
    return 0;
}

void
fetcher_stop(struct fetcher *f)
{
    size_t k;

    if (f == NULL)
        return;
    atomic_store(&f->cancel, true);
    if (f->locks) {
        /* wake waiters; cancel is read under the mutex too */
        pthread_mutex_lock(&f->mu);
        pthread_cond_broadcast(&f->cv);
        pthread_cond_broadcast(&f->cv_data);
        pthread_cond_broadcast(&f->cv_hash);
        for (k = 0; k < f->nthreads; k++)
            pthread_cond_broadcast(&f->workers[k].cv);
        pthread_mutex_unlock(&f->mu);
    }
    for (k = 0; f->workers && k < f->nthreads; k++)
        if (f->workers[k].running)
            pthread_join(f->workers[k].th, NULL);
    if (f->hasher_running)
        pthread_join(f->hasher, NULL);
    for (k = 0; k < f->nparts; k++)
        ferry_error_free(f->parts[k].err);
    for (k = 0; k < FETCH_RINGS; k++)
        ferry_free(f->rings[k]);
    if (f->locks) {
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cv);
        pthread_cond_destroy(&f->cv_data);
        pthread_cond_destroy(&f->cv_hash);
        for (k = 0; k < f->nthreads; k++)
            pthread_cond_destroy(&f->workers[k].cv);
    }
    ferry_hasher_free(f->h);
    ferry_free(f->hq);
    ferry_free(f->parts);
    ferry_free(f->first_part);
    ferry_free(f->hosts);
    ferry_free(f->workers);
    ferry_free(f);
}
