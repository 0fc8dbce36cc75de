/* ferry export: downloads ahead of the bundle writer.
 *
 * Thread k downloads jobs k, k+K, k+2K, ... into its slot's ring buffer; the
 * consumer drains job i from slot i % K, then hands the slot to job i + K.
 * A full ring blocks the download (curl's write callback waits), so memory
 * is bounded by K rings whatever the blob sizes. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "fetch_int.h"
#include "ferry/util.h"

struct slot {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t cur; /* job the slot serves now */
    unsigned char *ring;
    size_t head, len; /* read position and bytes held */
    bool started, done;
    int result;
    struct ferry_error *err;
};

struct worker {
    struct fetcher *f;
    size_t k;
    pthread_t th;
    bool running;
    struct connset conns;
};

struct fetcher {
    const struct fetch_job *jobs;
    size_t njobs, nthreads, ring;
    struct slot *slots;
    size_t ninit; /* slots whose mutex and condition variable exist */
    struct worker *workers;
    /* Set before each slot's mutex is taken to broadcast, and read by
     * waiters under that mutex, so no wake-up is lost. */
    atomic_bool cancel;
};

struct put {
    struct fetcher *f;
    struct slot *s;
};

/* curl's write path: copy into the ring, waiting while it is full. */
static int
ring_put(const void *data, size_t len, void *ud, struct ferry_error **err)
{
    struct put *p = ud;
    struct slot *s = p->s;
    const unsigned char *in = data;

    while (len > 0) {
        size_t n, tail;
        pthread_mutex_lock(&s->mu);
        while (s->len == p->f->ring && !p->f->cancel)
            pthread_cond_wait(&s->cv, &s->mu);
        if (p->f->cancel) {
            pthread_mutex_unlock(&s->mu);
            return ferry_error_new(err, FERRY_E_INTERNAL, "download cancelled");
        }
        tail = (s->head + s->len) % p->f->ring;
        n = p->f->ring - s->len;
        if (n > p->f->ring - tail)
            n = p->f->ring - tail;
        if (n > len)
            n = len;
        memcpy(s->ring + tail, in, n);
        s->len += n;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        in += n;
        len -= n;
    }
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

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct fetcher *f = w->f;
    struct slot *s = &f->slots[w->k];
    size_t i;

    for (i = w->k; i < f->njobs; i += f->nthreads) {
        const struct fetch_job *j = &f->jobs[i];
        struct ferry_error *err = NULL;
        struct ferry_registry *reg = NULL;
        struct put p = {f, s};
        int r;

        pthread_mutex_lock(&s->mu);
        while (s->cur != i && !f->cancel)
            pthread_cond_wait(&s->cv, &s->mu);
        if (f->cancel) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        s->head = s->len = 0;
        s->done = false;
        s->started = true;
        pthread_mutex_unlock(&s->mu);

        r = connset_get(&w->conns, j->host, j->reg, &reg, &err);
        if (r == 0)
            r = ferry_registry_get_blob(reg, j->repo, j->digest, j->size, ring_put, &p, &err);
        if (r < 0)
            ferry_error_wrap(&err, "export %s@%s", j->repo, j->digest);

        pthread_mutex_lock(&s->mu);
        s->done = true;
        s->result = r;
        s->err = err;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        if (r < 0)
            break;
    }
    connset_clear(&w->conns);
    return NULL;
}

int
fetcher_drain(struct fetcher *f, size_t i, ferry_sink_fn sink, void *ud, struct ferry_error **err)
{
    struct slot *s = &f->slots[i % f->nthreads];
    unsigned char chunk[65536];
    int r = 0;

    for (;;) {
        size_t n;
        pthread_mutex_lock(&s->mu);
        while (!(s->cur == i && s->started && (s->len > 0 || s->done)))
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->len == 0) { /* done */
            r = s->result;
            if (r < 0) {
                *err = s->err;
                s->err = NULL;
            }
            /* hand the slot to the slot's next job */
            s->started = false;
            s->cur = i + f->nthreads;
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            return r;
        }
        n = s->len < sizeof chunk ? s->len : sizeof chunk;
        if (n > f->ring - s->head)
            n = f->ring - s->head;
        memcpy(chunk, s->ring + s->head, n);
        s->head = (s->head + n) % f->ring;
        s->len -= n;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        if ((r = sink(chunk, n, ud, err)) < 0)
            return r;
    }
}

int
fetcher_start(const struct fetch_job *jobs, size_t njobs, size_t nthreads, size_t ring,
              struct fetcher **out, struct ferry_error **err)
{
    struct fetcher *f;
    size_t k;

    if (nthreads == 0)
        nthreads = 1;
    if (nthreads > njobs && njobs > 0)
        nthreads = njobs;
    f = ferry_calloc(1, sizeof *f);
    if (f == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    f->jobs = jobs;
    f->njobs = njobs;
    f->nthreads = nthreads;
    f->ring = ring;
    f->slots = ferry_calloc(nthreads, sizeof *f->slots);
    f->workers = ferry_calloc(nthreads, sizeof *f->workers);
    if (f->slots == NULL || f->workers == NULL) {
        fetcher_stop(f);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    for (k = 0; k < nthreads; k++) {
        struct slot *s = &f->slots[k];
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->cv, NULL);
        f->ninit = k + 1;
        s->cur = k;
        s->ring = ferry_malloc(ring);
        if (s->ring == NULL) {
            fetcher_stop(f);
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
    }
    for (k = 0; k < nthreads && njobs > 0; k++) {
        f->workers[k].f = f;
        f->workers[k].k = k;
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
    for (k = 0; k < f->ninit; k++) {
        /* wake waiters; cancel is read under each slot's mutex too */
        pthread_mutex_lock(&f->slots[k].mu);
        pthread_cond_broadcast(&f->slots[k].cv);
        pthread_mutex_unlock(&f->slots[k].mu);
    }
    for (k = 0; f->workers && k < f->nthreads; k++)
        if (f->workers[k].running)
            pthread_join(f->workers[k].th, NULL);
    for (k = 0; k < f->ninit; k++) {
        ferry_free(f->slots[k].ring);
        ferry_error_free(f->slots[k].err);
        pthread_mutex_destroy(&f->slots[k].mu);
        pthread_cond_destroy(&f->slots[k].cv);
    }
    ferry_free(f->slots);
    ferry_free(f->workers);
    ferry_free(f);
}
