/* ferry export: manifests fetched ahead, in parallel, before the resolve.
 *
 * Resolving is a chain of small requests per reference: the tag's manifest,
 * then each platform manifest of an index. Done one after the other they cost
 * a round trip each (seconds against a remote registry with many tags). A few
 * threads fetch them first, following indexes, and keep each answer (body and
 * digest) under "host/repo@reference"; the resolve takes answers from there in
 * its own order and asks the registry only for what is missing. Every answer
 * went through ferry_registry_get_manifest, so it was checked exactly as if
 * the resolve had asked itself. The prefetch is best effort: it does not retry
 * and keeps no errors. The first failure stops it, and the resolve then asks
 * the registry itself, with retries and the messages it always gives.
 * The first request to each host goes alone, and the others for that host
 * wait for it: wrong credentials cost one failed login, not one per thread. */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "fetch_int.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/util.h"

#define PREFETCH_DEPTH 2 /* an index of indexes of manifests */
/* Connect timeout of the prefetch's handles, in seconds: a host that does
 * not answer delays the resolve by this much at most before it tries itself
 * with the usual timeout. */
#define PREFETCH_CONNECT_TIMEOUT 10

enum host_state { HOST_UNKNOWN, HOST_PROBING, HOST_OK };

struct pf_host {
    char *host;
    enum host_state state;
};

struct pf_job {
    char *host; /* api host, as the references give it */
    const struct ferry_registry_opts *reg;
    char *repo;
    char *reference;
    const void *item; /* the caller's, for its want callback */
    int depth;
};

struct pf_entry {
    char *data; /* NULL once taken */
    size_t len;
    struct ferry_manifest_info info;
};

struct prefetch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pf_job *jobs;
    size_t njobs, capjobs, next, busy;
    bool stop;                    /* a failure: fetch nothing more */
    struct ferry_strmap *queued;  /* keys of jobs queued or done */
    struct ferry_strmap *answers; /* key -> struct pf_entry */
    struct pf_entry **entries;    /* every entry, for freeing */
    size_t nentries;
    struct pf_host *hosts; /* a handful: linear search */
    size_t nhosts;
    prefetch_want_fn want;
};

static char *
pf_key(const char *host, const char *repo, const char *reference)
{
    return ferry_asprintf("%s/%s@%s", host, repo, reference);
}

/* Queue a job unless its key is known. Called with mu held (or before the
 * threads start). Returns -1 when out of memory. */
static int
pf_queue(struct prefetch *pf, const char *host, const struct ferry_registry_opts *reg,
         const char *repo, const char *reference, const void *item, int depth)
{
    char *key = pf_key(host, repo, reference);
    struct pf_job *j;
    int r;

    if (key == NULL)
        return -1;
    r = ferry_strmap_put(pf->queued, key, (void *)1);
    ferry_free(key);
    if (r <= 0)
        return r; /* 0: already queued */
    if (pf->njobs == pf->capjobs) {
        size_t ncap = pf->capjobs ? pf->capjobs * 2 : 64;
        j = ferry_realloc(pf->jobs, ncap * sizeof *j);
        if (j == NULL)
            return -1;
        pf->jobs = j;
        pf->capjobs = ncap;
    }
    j = &pf->jobs[pf->njobs];
    memset(j, 0, sizeof *j);
    j->host = ferry_strdup(host);
    j->repo = ferry_strdup(repo);
    j->reference = ferry_strdup(reference);
    j->reg = reg;
    j->item = item;
    j->depth = depth;
    if (j->host == NULL || j->repo == NULL || j->reference == NULL) {
        ferry_free(j->host);
        ferry_free(j->repo);
        ferry_free(j->reference);
        return -1;
    }
    pf->njobs++;
    return 1;
}

/* The state slot of a host (mu held), made on first use; -1 out of memory. */
static long
pf_host(struct prefetch *pf, const char *host)
{
    struct pf_host *h;

    for (size_t i = 0; i < pf->nhosts; i++)
        if (strcmp(pf->hosts[i].host, host) == 0)
            return (long)i;
    h = ferry_realloc(pf->hosts, (pf->nhosts + 1) * sizeof *h);
    if (h == NULL)
        return -1;
    pf->hosts = h;
    h[pf->nhosts].state = HOST_UNKNOWN;
    if ((h[pf->nhosts].host = ferry_strdup(host)) == NULL)
        return -1;
    return (long)pf->nhosts++;
}

/* The child manifests of an index the caller wants, queued (mu held). */
static int
pf_children(struct prefetch *pf, const struct pf_job *j, const struct pf_entry *e)
{
    struct ferry_manifest *m = NULL;
    struct ferry_error *err = NULL;
    enum prefetch_want want;
    int r = 0;

    if (j->depth >= PREFETCH_DEPTH || !ferry_media_type_is_index(e->info.media_type))
        return 0;
    if (ferry_manifest_parse(e->data, e->len, e->info.media_type, j->reference, &m, &err) < 0) {
        ferry_error_free(err); /* the resolve parses it again and reports */
        return 0;
    }
    for (size_t i = 0; i < m->nmanifests && r >= 0; i++) {
        const struct ferry_descriptor *d = &m->manifests[i];
        if (!ferry_media_type_is_index(d->media_type) &&
            !ferry_media_type_is_manifest(d->media_type))
            continue;
        want = pf->want != NULL ? pf->want(j->item, d->platform) : PREFETCH_TAKE;
        if (want == PREFETCH_SKIP)
            continue;
        r = pf_queue(pf, j->host, j->reg, j->repo, d->digest, j->item, j->depth + 1);
        if (want == PREFETCH_TAKE_LAST)
            break;
    }
    ferry_manifest_free(m);
    return r;
}

static void *
pf_main(void *arg)
{
    struct prefetch *pf = arg;
    struct connset cs = {0};

    pthread_mutex_lock(&pf->mu);
    while (!pf->stop) {
        struct pf_job j;
        struct pf_entry *e, **slot;
        struct ferry_registry *reg = NULL;
        struct ferry_registry_opts o;
        struct ferry_error *err = NULL;
        struct ferry_buf body;
        char *key = NULL;
        bool probe;
        long h;
        int r;

        if (pf->next == pf->njobs) {
            if (pf->busy == 0)
                break; /* nothing queued and nobody can queue more */
            pthread_cond_wait(&pf->cv, &pf->mu);
            continue;
        }
        if ((h = pf_host(pf, pf->jobs[pf->next].host)) < 0) {
            pf->stop = true;
            break;
        }
        if (pf->hosts[h].state == HOST_PROBING) { /* its first request is out */
            pthread_cond_wait(&pf->cv, &pf->mu);
            continue;
        }
        probe = pf->hosts[h].state == HOST_UNKNOWN;
        if (probe)
            pf->hosts[h].state = HOST_PROBING;
        j = pf->jobs[pf->next++];
        pf->busy++;
        pthread_mutex_unlock(&pf->mu);

        e = ferry_calloc(1, sizeof *e);
        ferry_buf_init(&body, FERRY_MAX_MANIFEST);
        o = *j.reg;
        o.max_retries = -1; /* no retries here: the resolve retries */
        if (o.connect_timeout_s <= 0 || o.connect_timeout_s > PREFETCH_CONNECT_TIMEOUT)
            o.connect_timeout_s = PREFETCH_CONNECT_TIMEOUT;
        r = e == NULL ? -1 : connset_get(&cs, j.host, &o, &reg, &err);
        if (r == 0) {
            key = pf_key(ferry_registry_host(reg), j.repo, j.reference);
            r = ferry_registry_get_manifest(reg, j.repo, j.reference, &body, &e->info, &err);
        }
        if (r == 0)
            e->data = ferry_buf_take(&body, &e->len);
        ferry_buf_free(&body);
        ferry_error_clear(&err); /* the resolve asks again and reports */

        pthread_mutex_lock(&pf->mu);
        pf->busy--;
        if (probe)
            pf->hosts[h].state = HOST_OK; /* or stop, below */
        /* Room for the entry first: once in the map, it must stay alive. */
        slot = r == 0 && e != NULL && e->data != NULL && key != NULL
                   ? ferry_realloc(pf->entries, (pf->nentries + 1) * sizeof *pf->entries)
                   : NULL;
        if (slot == NULL) {
            pf->stop = true; /* a failure, or out of memory */
        } else {
            pf->entries = slot;
            if (ferry_strmap_put(pf->answers, key, e) == 1) {
                pf->entries[pf->nentries++] = e;
                if (pf_children(pf, &j, e) < 0)
                    pf->stop = true;
                e = NULL;
            }
        }
        if (e != NULL) { /* not kept: the resolve asks again */
            ferry_free(e->data);
            ferry_manifest_info_clear(&e->info);
            ferry_free(e);
        }
        ferry_free(key);
        pthread_cond_broadcast(&pf->cv);
    }
    pthread_cond_broadcast(&pf->cv);
    pthread_mutex_unlock(&pf->mu);
    connset_clear(&cs);
    return NULL;
}

int
prefetch_run(const struct prefetch_ref *refs, size_t nrefs, size_t nthreads, prefetch_want_fn want,
             struct prefetch **out, struct ferry_error **err)
{
    struct prefetch *pf = ferry_calloc(1, sizeof *pf);
    pthread_t th[PREFETCH_MAX_THREADS];
    size_t started = 0, i;
    sigset_t all, old;

    *out = NULL;
    if (pf == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    pthread_mutex_init(&pf->mu, NULL);
    pthread_cond_init(&pf->cv, NULL);
    pf->want = want;
    pf->queued = ferry_strmap_new();
    pf->answers = ferry_strmap_new();
    if (pf->queued == NULL || pf->answers == NULL) {
        prefetch_free(pf);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    for (i = 0; i < nrefs; i++)
        if (pf_queue(pf, refs[i].host, refs[i].reg, refs[i].repo, refs[i].reference, refs[i].item,
                     0) < 0) {
            prefetch_free(pf);
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
    if (nthreads > PREFETCH_MAX_THREADS)
        nthreads = PREFETCH_MAX_THREADS;
    if (pf->njobs == 0)
        nthreads = 0;
    /* Signals stay with the application's threads. A thread that cannot
     * start only makes the prefetch narrower; with none, the resolve does
     * everything itself. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (i = 0; i < nthreads; i++)
        if (pthread_create(&th[started], NULL, pf_main, pf) == 0)
            started++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    *out = pf;
    return 0;
}

int
prefetch_take(struct prefetch *pf, const char *host, const char *repo, const char *reference,
              struct ferry_buf *body, struct ferry_manifest_info *info, struct ferry_error **err)
{
    struct pf_entry *e;
    char *key;
    int r;

    if (pf == NULL)
        return 0;
    if ((key = pf_key(host, repo, reference)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    e = ferry_strmap_get(pf->answers, key);
    ferry_free(key);
    if (e == NULL || e->data == NULL)
        return 0; /* never fetched, or taken already */
    ferry_buf_reset(body);
    if ((r = ferry_buf_append(body, e->data, e->len, err)) < 0)
        return r;
    ferry_manifest_info_clear(info);
    *info = e->info;
    memset(&e->info, 0, sizeof e->info);
    ferry_safefree(e->data);
    return 1;
}

void
prefetch_free(struct prefetch *pf)
{
    if (pf == NULL)
        return;
    for (size_t i = 0; i < pf->nentries; i++) {
        ferry_free(pf->entries[i]->data);
        ferry_manifest_info_clear(&pf->entries[i]->info);
        ferry_free(pf->entries[i]);
    }
    ferry_free(pf->entries);
    for (size_t i = 0; i < pf->njobs; i++) {
        ferry_free(pf->jobs[i].host);
        ferry_free(pf->jobs[i].repo);
        ferry_free(pf->jobs[i].reference);
    }
    ferry_free(pf->jobs);
    for (size_t i = 0; i < pf->nhosts; i++)
        ferry_free(pf->hosts[i].host);
    ferry_free(pf->hosts);
    ferry_strmap_free(pf->queued);
    ferry_strmap_free(pf->answers);
    pthread_cond_destroy(&pf->cv);
    pthread_mutex_destroy(&pf->mu);
    ferry_free(pf);
}
