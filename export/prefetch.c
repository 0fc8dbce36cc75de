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
 * and keeps no errors: the resolve asks the registry itself for what is
 * missing, with retries and the messages it always gives. A
 * failed request only loses its own answer (and what would have followed
 * from it), except that a host whose first request fails to log in
 * (FERRY_E_AUTH), or that fails to answer at all (FERRY_E_NETWORK), gets no
 * more requests: wrong credentials or a host down cost one failure, not one
 * per job (a 401 or 403 later is about one repository, not the host). Only
 * running out of memory stops the prefetch. The first request to each host goes alone,
 * and the others for that host wait for it: wrong credentials cost one
 * failed login, not one per thread.
 *
 * For a reference whose referrers are wanted it also asks, for every
 * manifest it fetched, for the referrers of that manifest (the API or the
 * fallback tag, as ferry_registry_list_referrers does), fetches the
 * referrer manifests and their referrers in turn (up to
 * FERRY_MAX_REFERRER_DEPTH), lists the tags of the referrer source
 * repository once, and fetches the cosign attachments (sha256-<hex>.sig,
 * .att, .sbom) that list names, and theirs in turn: the resolve's referrer
 * discovery then finds
 * every answer here, in its own order, and the statement is the same as if
 * it had asked itself. */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "fetch_int.h"
#include "ferry/layout.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/util.h"

#define PREFETCH_DEPTH 2 /* an index of indexes of manifests */
/* Connect timeout of the prefetch's handles, in seconds: a host that does
 * not answer delays the resolve by this much at most before it tries itself
 * with the usual timeout. */
#define PREFETCH_CONNECT_TIMEOUT 10

/* HOST_FAILED: a login or connection failed; its jobs are skipped */
enum host_state { HOST_UNKNOWN, HOST_PROBING, HOST_OK, HOST_FAILED };

struct pf_host {
    char *host;
    enum host_state state;
    bool noapi; /* answered no referrers API: fallback tags from here on */
};

enum pf_kind { PF_MANIFEST, PF_REFERRERS, PF_TAGS };

struct pf_job {
    enum pf_kind kind;
    char *host; /* api host, as the references give it */
    const struct ferry_registry_opts *reg;
    char *repo;
    char *reference;  /* a manifest's tag or digest; a subject; NULL for tags */
    const void *item; /* the caller's, for its want callback */
    int depth;
    /* referrers wanted: where they are read (borrowed from the refs), and
     * how deep this manifest is among them */
    const char *rhost, *rrepo;
    const struct ferry_registry_opts *rreg;
    int rdepth;
};

/* A referrer source repository's tags and the subjects waiting for them. */
struct pf_repo {
    char **tags;
    size_t ntags;
    struct ferry_strmap *set; /* tags, once listed */
    bool listed;
    char **pending; /* subjects whose attachments wait for the list */
    size_t npending;
    bool taken; /* the list went to the resolve */
};

struct pf_entry {
    char *data; /* NULL once taken */
    size_t len;
    struct ferry_manifest_info info;
    struct ferry_referrers rs; /* PF_REFERRERS: the answer */
    bool referrers, taken;
};

struct prefetch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pf_job *jobs;
    size_t njobs, capjobs, next, busy;
    bool stop;                    /* out of memory: fetch nothing more */
    size_t failed, skipped;       /* requests that failed; jobs of failed hosts */
    struct ferry_strmap *queued;  /* keys of jobs queued or done */
    struct ferry_strmap *answers; /* key -> struct pf_entry */
    struct pf_entry **entries;    /* every entry, for freeing */
    size_t nentries;
    struct pf_host *hosts; /* a handful: linear search */
    size_t nhosts;
    prefetch_want_fn want;
    struct ferry_strmap *repos; /* "host/repo" -> struct pf_repo */
    struct pf_repo **repolist;
    size_t nrepos;
};

/* An answer's key: "host/repo@reference", "R " before a referrers lookup's,
 * "T " before a tag list's. */
static char *
pf_kind_key(enum pf_kind kind, const char *host, const char *repo, const char *reference)
{
    static const char *const prefix[] = {"", "R ", "T "};

    return ferry_asprintf("%s%s/%s@%s", prefix[kind], host, repo, reference ? reference : "");
}

/* Queue a job unless its key is known. Called with mu held (or before the
 * threads start). Returns -1 when out of memory. */
static int
pf_queue_job(struct prefetch *pf, const struct pf_job *t)
{
    char *key = pf_kind_key(t->kind, t->host, t->repo, t->reference);
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
    *j = *t;
    j->host = ferry_strdup(t->host);
    j->repo = ferry_strdup(t->repo);
    j->reference = t->reference ? ferry_strdup(t->reference) : NULL;
    if (j->host == NULL || j->repo == NULL || (t->reference && j->reference == NULL)) {
        ferry_free(j->host);
        ferry_free(j->repo);
        ferry_free(j->reference);
        return -1;
    }
    pf->njobs++;
    return 1;
}

/* A manifest of the same repository (and the same wish for referrers) as
 * from: an index's child. */
static int
pf_queue(struct prefetch *pf, const struct pf_job *from, const char *reference, int depth)
{
    struct pf_job t = *from;

    t.kind = PF_MANIFEST;
    t.reference = (char *)reference;
    t.depth = depth;
    return pf_queue_job(pf, &t);
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
    h[pf->nhosts].noapi = false;
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
        r = pf_queue(pf, j, d->digest, j->depth + 1);
        if (want == PREFETCH_TAKE_LAST)
            break;
    }
    ferry_manifest_free(m);
    return r;
}

/* The referrer source repository of j (mu held), made on first sight: its
 * tags are listed once (a PF_TAGS job). NULL when out of memory. */
static struct pf_repo *
pf_repo_of(struct prefetch *pf, const struct pf_job *j)
{
    char *key = ferry_asprintf("%s/%s", j->rhost, j->rrepo);
    struct pf_repo *rp = key ? ferry_strmap_get(pf->repos, key) : NULL, **nl;
    struct pf_job t = *j;

    if (key == NULL || rp != NULL) {
        ferry_free(key);
        return rp;
    }
    rp = ferry_calloc(1, sizeof *rp);
    nl = rp ? ferry_realloc(pf->repolist, (pf->nrepos + 1) * sizeof *nl) : NULL;
    if (nl == NULL || ferry_strmap_put(pf->repos, key, rp) < 0) {
        ferry_free(rp);
        ferry_free(key);
        return NULL;
    }
    ferry_free(key);
    pf->repolist = nl;
    nl[pf->nrepos++] = rp;
    t.kind = PF_TAGS;
    t.host = (char *)j->rhost;
    t.reg = j->rreg;
    t.repo = (char *)j->rrepo;
    t.reference = NULL;
    if (pf_queue_job(pf, &t) < 0)
        return NULL;
    return rp;
}

/* The cosign attachments of subject the tag list names, queued (mu held). */
static int
pf_attachments_listed(struct prefetch *pf, const struct pf_job *j, const struct pf_repo *rp,
                      const char *subject)
{
    static const char *const kinds[] = FERRY_ATTACHMENT_KINDS;
    int r = 0;

    for (size_t k = 0; k < sizeof kinds / sizeof *kinds && r >= 0 && rp->set != NULL; k++) {
        char *tag = ferry_layout_attachment_tag(subject, kinds[k]);
        struct pf_job t = *j;
        if (tag == NULL)
            break;
        if (ferry_strmap_get(rp->set, tag) != NULL) {
            t.kind = PF_MANIFEST;
            t.host = (char *)j->rhost;
            t.reg = j->rreg;
            t.repo = (char *)j->rrepo;
            t.reference = tag;
            t.depth = PREFETCH_DEPTH; /* no children; its own referrers and
                                       * attachments, as the resolve looks */
            t.rhost = j->rhost;
            t.rrepo = j->rrepo;
            t.rreg = j->rreg;
            t.rdepth = j->rdepth + 1;
            r = pf_queue_job(pf, &t);
        }
        ferry_free(tag);
    }
    return r;
}

/* The referrers and attachments of a manifest just fetched (mu held). */
static int
pf_follow(struct prefetch *pf, const struct pf_job *j, const char *digest)
{
    struct pf_job t = *j;
    struct pf_repo *rp;

    if (j->rhost == NULL || digest == NULL || j->rdepth > FERRY_MAX_REFERRER_DEPTH)
        return 0;
    if ((rp = pf_repo_of(pf, j)) == NULL)
        return -1;
    if (!rp->listed) {
        char **n = ferry_realloc(rp->pending, (rp->npending + 1) * sizeof *n);
        if (n == NULL)
            return -1;
        rp->pending = n;
        if ((n[rp->npending] = ferry_strdup(digest)) == NULL)
            return -1;
        rp->npending++;
    } else if (pf_attachments_listed(pf, j, rp, digest) < 0) {
        return -1;
    }
    t.kind = PF_REFERRERS;
    t.host = (char *)j->rhost;
    t.reg = j->rreg;
    t.repo = (char *)j->rrepo;
    t.reference = (char *)digest;
    return pf_queue_job(pf, &t);
}

/* The referrer manifests an answer lists (mu held). */
static int
pf_referrers(struct prefetch *pf, const struct pf_job *j, const struct pf_entry *e)
{
    struct ferry_manifest *idx = NULL;
    struct ferry_error *err = NULL;
    int r = 0;

    if ((e->rs.via == FERRY_REFERRERS_VIA_TAG && !e->rs.found) ||
        j->rdepth + 1 > FERRY_MAX_REFERRER_DEPTH)
        return 0;
    if (ferry_manifest_parse(e->rs.index.data ? e->rs.index.data : "", e->rs.index.len, NULL,
                             j->repo, &idx, &err) < 0) {
        ferry_error_free(err); /* the resolve parses it again and reports */
        return 0;
    }
    for (size_t i = 0; idx->kind == FERRY_KIND_INDEX && i < idx->nmanifests && r >= 0; i++) {
        const struct ferry_descriptor *d = &idx->manifests[i];
        struct pf_job t = *j;
        if (!ferry_media_type_is_manifest(d->media_type) &&
            !ferry_media_type_is_index(d->media_type))
            continue;
        t.kind = PF_MANIFEST;
        t.reference = d->digest;
        t.depth = PREFETCH_DEPTH;
        t.rdepth = j->rdepth + 1;
        r = pf_queue_job(pf, &t);
    }
    ferry_manifest_free(idx);
    return r;
}

/* A tag list arrived (mu held): keep it, and queue the attachments of the
 * subjects that waited for it. !ok: the tags could not be listed; the
 * resolve lists them itself (or asks for attachments by name). */
static int
pf_tags(struct prefetch *pf, const struct pf_job *j, bool ok, char **tags, size_t n)
{
    char *key = ferry_asprintf("%s/%s", j->host, j->repo);
    struct pf_repo *rp = key ? ferry_strmap_get(pf->repos, key) : NULL;
    struct pf_job t = *j;
    int r = 0;

    ferry_free(key);
    if (rp == NULL || rp->listed) {
        ferry_strv_free(tags, n);
        return rp == NULL ? -1 : 0;
    }
    rp->listed = true;
    rp->tags = tags;
    rp->ntags = n;
    if (!ok) {
        ferry_strv_free(rp->pending, rp->npending);
        rp->pending = NULL;
        rp->npending = 0;
        return 0;
    }
    if ((rp->set = ferry_strmap_new()) == NULL)
        return -1;
    for (size_t i = 0; i < n && r >= 0; i++)
        r = ferry_strmap_put(rp->set, tags[i], (void *)1);
    /* the attachments are read from this repository, as the subjects' jobs say */
    t.rhost = j->host;
    t.rrepo = j->repo;
    t.rreg = j->reg;
    for (size_t i = 0; i < rp->npending && r >= 0; i++)
        r = pf_attachments_listed(pf, &t, rp, rp->pending[i]);
    ferry_strv_free(rp->pending, rp->npending);
    rp->pending = NULL;
    rp->npending = 0;
    return r < 0 ? -1 : 0;
}

/* The referrers lookup's question "may the fallback tag exist?" */
static int
pf_tag_known_cb(const char *tag, void *ud, struct ferry_error **err)
{
    (void)err;
    return ferry_strmap_get(ud, tag) != NULL;
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
        struct ferry_referrers_query q = {0};
        char *key = NULL, **tags = NULL;
        size_t ntags = 0;
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
        if (pf->hosts[h].state == HOST_FAILED) {
            pf->next++;
            pf->skipped++;
            continue;
        }
        probe = pf->hosts[h].state == HOST_UNKNOWN;
        if (probe)
            pf->hosts[h].state = HOST_PROBING;
        j = pf->jobs[pf->next++];
        pf->busy++;
        if (j.kind == PF_REFERRERS) {
            /* what is known of the host and the repository's tags */
            char *rk = ferry_asprintf("%s/%s", j.host, j.repo);
            struct pf_repo *rp = rk ? ferry_strmap_get(pf->repos, rk) : NULL;
            ferry_free(rk);
            q.no_api = pf->hosts[h].noapi;
            if (rp != NULL && rp->listed && rp->set != NULL) {
                q.tag_known = pf_tag_known_cb;
                q.ud = rp->set; /* not changed once listed */
            }
        }
        pthread_mutex_unlock(&pf->mu);

        e = ferry_calloc(1, sizeof *e);
        ferry_buf_init(&body, FERRY_MAX_MANIFEST);
        o = *j.reg;
        o.max_retries = -1; /* no retries here: the resolve retries */
        if (o.connect_timeout_s <= 0 || o.connect_timeout_s > PREFETCH_CONNECT_TIMEOUT)
            o.connect_timeout_s = PREFETCH_CONNECT_TIMEOUT;
        r = e == NULL ? -1 : connset_get(&cs, j.host, &o, &reg, &err);
        if (r == 0 && j.kind == PF_MANIFEST) {
            key = pf_kind_key(PF_MANIFEST, ferry_registry_host(reg), j.repo, j.reference);
            r = ferry_registry_get_manifest(reg, j.repo, j.reference, &body, &e->info, &err);
            if (r == 0)
                e->data = ferry_buf_take(&body, &e->len);
        } else if (r == 0 && j.kind == PF_REFERRERS) {
            key = pf_kind_key(PF_REFERRERS, ferry_registry_host(reg), j.repo, j.reference);
            r = ferry_registry_list_referrers(reg, j.repo, j.reference, &q, &e->rs, &err);
            e->referrers = r == 0;
        } else if (r == 0) {
            r = ferry_registry_list_tags(reg, j.repo, &tags, &ntags, &err);
            if (r == -FERRY_E_NOT_FOUND)
                r = 0; /* no repository: no tags */
            else if (r < 0)
                ntags = 0;
        }
        ferry_buf_free(&body);
        ferry_error_clear(&err); /* the resolve asks again and reports */

        pthread_mutex_lock(&pf->mu);
        pf->busy--;
        if (probe)
            pf->hosts[h].state = HOST_OK;
        if (r == -FERRY_E_NOMEM) {
            pf->stop = true;
        } else if (r < 0) {
            pf->failed++;
            if ((probe && r == -FERRY_E_AUTH) || r == -FERRY_E_NETWORK)
                pf->hosts[h].state = HOST_FAILED;
        }
        if (j.kind == PF_TAGS) {
            /* a repository whose tags cannot be listed: the resolve asks for
             * its attachments by name */
            if (pf_tags(pf, &j, r == 0, r == 0 ? tags : NULL, ntags) < 0)
                pf->stop = true;
            ferry_free(e);
            pthread_cond_broadcast(&pf->cv);
            continue;
        }
        if (j.kind == PF_REFERRERS && r == 0 && e->rs.via == FERRY_REFERRERS_VIA_TAG)
            pf->hosts[h].noapi = true;
        /* Room for the entry first: once in the map, it must stay alive. */
        slot = r == 0 && e != NULL && (e->data != NULL || e->referrers) && key != NULL
                   ? ferry_realloc(pf->entries, (pf->nentries + 1) * sizeof *pf->entries)
                   : NULL;
        if (slot == NULL) {
            if (r == 0) /* fetched, but no room for it */
                pf->stop = true;
        } else {
            pf->entries = slot;
            if (ferry_strmap_put(pf->answers, key, e) == 1) {
                pf->entries[pf->nentries++] = e;
                if (j.kind == PF_MANIFEST &&
                    (pf_children(pf, &j, e) < 0 || pf_follow(pf, &j, e->info.digest) < 0))
                    pf->stop = true;
                if (j.kind == PF_REFERRERS && pf_referrers(pf, &j, e) < 0)
                    pf->stop = true;
                e = NULL;
            }
        }
        if (e != NULL) { /* not kept: the resolve asks again */
            ferry_free(e->data);
            ferry_manifest_info_clear(&e->info);
            ferry_referrers_clear(&e->rs);
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
    pf->repos = ferry_strmap_new();
    if (pf->queued == NULL || pf->answers == NULL || pf->repos == NULL) {
        prefetch_free(pf);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    for (i = 0; i < nrefs; i++) {
        struct pf_job t = {0};
        t.kind = PF_MANIFEST;
        t.host = (char *)refs[i].host;
        t.reg = refs[i].reg;
        t.repo = (char *)refs[i].repo;
        t.reference = (char *)refs[i].reference;
        t.item = refs[i].item;
        t.rhost = refs[i].rhost;
        t.rrepo = refs[i].rrepo;
        t.rreg = refs[i].rreg;
        if (pf_queue_job(pf, &t) < 0) {
            prefetch_free(pf);
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
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
    ferry_log(FERRY_LOG_DEBUG,
              "prefetch: %zu answers on %zu threads; failed requests: %zu, skipped for "
              "their host: %zu%s",
              pf->nentries, started, pf->failed, pf->skipped, pf->stop ? "; stopped" : "");
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
    if ((key = pf_kind_key(PF_MANIFEST, host, repo, reference)) == NULL)
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

int
prefetch_take_referrers(struct prefetch *pf, const char *host, const char *repo,
                        const char *subject, struct ferry_referrers *out, struct ferry_error **err)
{
    struct pf_entry *e;
    char *key;

    if (pf == NULL)
        return 0;
    if ((key = pf_kind_key(PF_REFERRERS, host, repo, subject)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    e = ferry_strmap_get(pf->answers, key);
    ferry_free(key);
    if (e == NULL || !e->referrers || e->taken)
        return 0;
    ferry_referrers_clear(out);
    *out = e->rs;
    memset(&e->rs, 0, sizeof e->rs);
    e->taken = true;
    return 1;
}

int
prefetch_take_tags(struct prefetch *pf, const char *host, const char *repo, char ***tags, size_t *n,
                   struct ferry_error **err)
{
    struct pf_repo *rp;
    char *key;

    if (pf == NULL)
        return 0;
    if ((key = ferry_asprintf("%s/%s", host, repo)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    rp = ferry_strmap_get(pf->repos, key);
    ferry_free(key);
    if (rp == NULL || !rp->listed || rp->set == NULL || rp->taken)
        return 0;
    *tags = rp->tags;
    *n = rp->ntags;
    rp->tags = NULL;
    rp->ntags = 0;
    rp->taken = true;
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
        ferry_referrers_clear(&pf->entries[i]->rs);
        ferry_free(pf->entries[i]);
    }
    for (size_t i = 0; i < pf->nrepos; i++) {
        ferry_strv_free(pf->repolist[i]->tags, pf->repolist[i]->ntags);
        ferry_strv_free(pf->repolist[i]->pending, pf->repolist[i]->npending);
        ferry_strmap_free(pf->repolist[i]->set);
        ferry_free(pf->repolist[i]);
    }
    ferry_free(pf->repolist);
    ferry_strmap_free(pf->repos);
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
