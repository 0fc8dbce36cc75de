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

struct fetcher;

/* Start nthreads downloaders over jobs[0..njobs) (borrowed until
 * fetcher_stop). Each thread holds its own registry connections and up to
 * `ring` bytes of one blob ahead of the consumer, so memory stays at
 * nthreads * ring. */
int fetcher_start(const struct fetch_job *jobs, size_t njobs, size_t nthreads, size_t ring,
                  struct fetcher **out, struct ferry_error **err);
/* Hand every byte of job i to sink, in order; jobs must be drained in order
 * 0, 1, 2, ... The bytes were checked by the registry client (size, digest)
 * before the last ones arrive; a download error is returned here. */
int fetcher_drain(struct fetcher *f, size_t i, ferry_sink_fn sink, void *ud,
                  struct ferry_error **err);
/* Cancel what is left, join the threads, free. NULL is a no-op. */
void fetcher_stop(struct fetcher *f);

#endif
