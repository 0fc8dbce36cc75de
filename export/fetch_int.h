/* ferry export: blobs downloaded ahead by a few threads while the bundle is
 * written in order on the caller's thread. */
#ifndef FERRY_FETCH_INT_H
#define FERRY_FETCH_INT_H

#include "ferry/registry.h"

struct fetch_job {
    const char *host;                      /* api host */
    const struct ferry_registry_opts *reg; /* options for that host */
    const char *repo;
    const char *digest;
    int64_t size;
};

/* A thread's registry handles, one per host, made on first use; the oldest
 * is dropped beyond CONNSET_MAX hosts. host strings are borrowed: they must
 * outlive the set. */
#define CONNSET_MAX 4
struct connset {
    struct {
        const char *host;
        struct ferry_registry *reg;
    } c[CONNSET_MAX];
    size_t n;
};
int connset_get(struct connset *cs, const char *host, const struct ferry_registry_opts *o,
                struct ferry_registry **out, struct ferry_error **err);
void connset_clear(struct connset *cs);

/* Manifests fetched ahead by a few threads, indexes followed (prefetch.c). */
#define PREFETCH_MAX_THREADS 8
struct prefetch_ref {
    const char *host; /* api host */
    const struct ferry_registry_opts *reg;
    const char *repo;
    const char *reference; /* tag or digest */
    const void *item;      /* passed to the want callback */
    /* Referrers wanted: where they are read (HOST api host, REPO), or NULL */
    const char *rhost, *rrepo;
    const struct ferry_registry_opts *rreg;
};
/* Should the child of an index with this platform (NULL if none) be fetched,
 * and is it the last one of that index to fetch? */
enum prefetch_want { PREFETCH_SKIP, PREFETCH_TAKE, PREFETCH_TAKE_LAST };
typedef enum prefetch_want (*prefetch_want_fn)(const void *item, const char *platform);
struct prefetch;
/* Fetch refs and the children of indexes among them on nthreads threads, and
 * return when all is done. Best effort: no retries; a failed request loses
 * its answer, a host whose first request fails to log in, or that fails to
 * answer, its jobs; only running
 * out of memory stops it. It fails only when out of memory before it starts. */
int prefetch_run(const struct prefetch_ref *refs, size_t nrefs, size_t nthreads,
                 prefetch_want_fn want, struct prefetch **out, struct ferry_error **err);
/* The answer for host (as ferry_registry_host gives it), repo and reference:
 * 1 with body and info filled (ownership of info's strings moves to the
 * caller), 0 when it was not fetched or was taken already, negative only when
 * out of memory. pf may be NULL. */
int prefetch_take(struct prefetch *pf, const char *host, const char *repo, const char *reference,
                  struct ferry_buf *body, struct ferry_manifest_info *info,
                  struct ferry_error **err);
/* The referrers of subject in host/repo as ferry_registry_list_referrers
 * gave them (moved into *out), and the tag list of a referrer source
 * repository (moved into *tags, ferry_strv_free): 1, 0 when not fetched or
 * taken already, negative only when out of memory. */
int prefetch_take_referrers(struct prefetch *pf, const char *host, const char *repo,
                            const char *subject, struct ferry_referrers *out,
                            struct ferry_error **err);
int prefetch_take_tags(struct prefetch *pf, const char *host, const char *repo, char ***tags,
                       size_t *n, struct ferry_error **err);
void prefetch_free(struct prefetch *pf);

struct fetcher;

/* Start nthreads downloaders (one connection per registry each) over
 * jobs[0..njobs) (borrowed until fetcher_stop): blobs over FETCH_PART bytes
 * of a far registry in ranges of that size, others whole, taken in order
 * while one of FETCH_RINGS rings of FETCH_PART bytes is free (fetch.c):
 * memory is FETCH_RINGS * FETCH_PART however many threads. */
#define FETCH_PART (2u << 20)
#define FETCH_RINGS 16
/* A registry whose quickest HEAD of a blob takes this long is far: its
 * blobs come in ranges, a nearer one's whole (fetch.c) */
#define FETCH_FAR_MS 10
int fetcher_start(const struct fetch_job *jobs, size_t njobs, size_t nthreads, struct fetcher **out,
                  struct ferry_error **err);
/* Hand every byte of job i to sink, in order; jobs must be drained in order
 * 0, 1, 2, ... A blob's last bytes come only once its size and digest are
 * checked; a download error is returned here. */
int fetcher_drain(struct fetcher *f, size_t i, ferry_sink_fn sink, void *ud,
                  struct ferry_error **err);
/* Cancel what is left, join the threads, free. NULL is a no-op. */
void fetcher_stop(struct fetcher *f);

#endif
