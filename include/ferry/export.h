/* ferry: export images from registries into a signed bundle. */
#ifndef FERRY_EXPORT_H
#define FERRY_EXPORT_H

#include "common.h"
#include "error.h"
#include "registry.h"
#include "sign.h"

struct ferry_export_opts {
    const char *output;             /* bundle path; BUNDLE.minisig is written beside it */
    const struct ferry_seckey *key; /* signs ferry.json and the detached signature */
    struct ferry_registry_opts reg; /* used for every source registry */
    int level;                      /* zstd level (0 = 3) */
    int threads;                    /* zstd workers (0 = single-threaded) */
    /* Referrers (OCI 1.1 subject): discovered by default, recursively. */
    bool no_referrers;
    const char *const *artifact_types; /* keep only these artifactTypes (none: all) */
    size_t nartifact_types;
    const char *referrers_src; /* HOST[:PORT]/REPO to read referrers from, or NULL */
    const char *referrers_tgt; /* HOST[:PORT]/REPO recorded as their import target */
};

struct ferry_export_report {
    size_t images;
    size_t manifests;
    size_t blobs;           /* distinct non-manifest blobs */
    size_t referrers;       /* referrer manifests (graph edges) */
    uint64_t content_bytes; /* sum of distinct member sizes */
    uint64_t bundle_bytes;  /* compressed size */
};

/* Resolve every reference (all platforms of an index), then write the bundle:
 * ferry.json and its signature first, then oci-layout, index.json, manifests,
 * configs and layers, each blob once, each digest verified while it streams.
 * On failure nothing is left at o->output. */
FERRY_API int ferry_export_run(const char *const *refs, size_t nrefs,
                               const struct ferry_export_opts *o, struct ferry_export_report *rep,
                               struct ferry_error **err);

#endif
