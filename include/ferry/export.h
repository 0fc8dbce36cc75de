/* ferry: export images from registries into a signed bundle. */
#ifndef FERRY_EXPORT_H
#define FERRY_EXPORT_H

#include "common.h"
#include "error.h"
#include "registry.h"
#include "sign.h"

/* A referrer filter (regsync's referrerFilters): artifactType (NULL: any) and
 * annotations that must all be present with these values. */
struct ferry_referrer_filter {
    const char *artifact_type;
    const char *const *keys;
    const char *const *values;
    size_t nannotations;
};

/* One thing to export: a reference and what to do with it. */
struct ferry_export_item {
    const char *ref;    /* HOST[:PORT]/REPO:TAG or ...@DIGEST */
    const char *target; /* HOST[:PORT]/REPO[:TAG] recorded as its import target, or NULL */
    /* Keep only these platforms ("os/arch[/variant]") of an index; the index
     * is rewritten, so it gets a new digest. None: every platform. */
    const char *const *platforms;
    size_t nplatforms;
    /* Resolve an index to this one platform's manifest, exported as the image
     * itself (regsync's `platform`); its digest is the source's. */
    const char *platform;
    /* Referrers (OCI 1.1 subject): discovered by default, recursively. */
    bool no_referrers;
    const char *const *artifact_types; /* keep only these artifactTypes (none: all) */
    size_t nartifact_types;
    const struct ferry_referrer_filter *filters; /* and keep those matching any (none: all) */
    size_t nfilters;
    const char *referrers_src; /* HOST[:PORT]/REPO to read referrers from, or NULL */
    const char *referrers_tgt; /* HOST[:PORT]/REPO recorded as their import target */
};

/* The import target recorded for source when the user names target
 * (HOST[:PORT]/REPO[:TAG|@DIGEST]): a target without a tag keeps the
 * source's tag, or its digest. Both must be references (FERRY_E_INVALID).
 * ferry_free the result. The rule of sync configs' `target` and of
 * SRC=TARGET on the command line. */
FERRY_API char *ferry_export_target(const char *source, const char *target,
                                    struct ferry_error **err);

/* Registry options for one host, overriding the defaults (sync configs). */
struct ferry_export_host {
    const char *host; /* as in references: "docker.io", "127.0.0.1:5000" */
    struct ferry_registry_opts reg;
};

/* A base of a delta bundle (--base): a receipt of the far side or an
 * earlier bundle (its statement only). With keys, a receipt's detached
 * FILE.minisig, or a bundle's signed statement, must verify with one of
 * them; without, the base is taken as it is (a forged one can only make a
 * push refuse the delta, never let anything unverified in). */
struct ferry_export_base;
struct ferry_stmt_base;
struct ferry_sig_gate;
struct ferry_sig_verdict;
FERRY_API int ferry_export_base_load(const char *path, struct ferry_pubkey *const *keys,
                                     size_t nkeys, struct ferry_export_base **out,
                                     struct ferry_error **err);
FERRY_API void ferry_export_base_free(struct ferry_export_base *b);
/* What the statement records of the base. */
FERRY_API const struct ferry_stmt_base *ferry_export_base_id(const struct ferry_export_base *b);
/* How many blobs (not manifests) it says the far side holds. */
FERRY_API size_t ferry_export_base_blobs(const struct ferry_export_base *b);

struct ferry_export_opts {
    const char *output;             /* bundle path; BUNDLE.minisig is written beside it */
    const struct ferry_seckey *key; /* signs ferry.json and the detached signature */
    struct ferry_registry_opts reg; /* for every registry without an entry in hosts */
    const struct ferry_export_host *hosts;
    size_t nhosts;
    /* Bases of a delta: blobs they hold are left out and recorded as
     * expected in the target. */
    struct ferry_export_base *const *bases;
    size_t nbases;
    int connections; /* downloads at once per registry (0 = 12) */
    int level;       /* zstd level (0 = 3) */
    int threads;     /* zstd workers (0 = single-threaded) */
    /* A set of volumes of at most this many bytes each (output NAME.tar.zst
     * becomes NAME.001.tar.zst, ...), each a bundle of its own; 0: one file. */
    uint64_t volume_size;
    /* The signature gate (include/ferry/sigcheck.h), judged after the
     * resolve and before anything is written: each image's verdict goes to
     * on_verdict (may be NULL); an image it refuses fails the export
     * (FERRY_E_REFUSED), or, with skip_unsigned, is left out with its
     * referrers and what only it needs. NULL: no gate. */
    const struct ferry_sig_gate *gate;
    bool skip_unsigned;
    void (*on_verdict)(const char *source, const struct ferry_sig_verdict *vd, void *ud);
    void *verdict_ud;
};

/* The file of volume k of count: NAME.tar.zst -> NAME.001.tar.zst (three
 * digits, four from 1000 volumes on), ferry_free. */
FERRY_API char *ferry_export_volume_path(const char *output, unsigned k, unsigned count);

struct ferry_export_report {
    size_t images;
    size_t manifests;
    size_t blobs;           /* distinct non-manifest blobs */
    size_t referrers;       /* referrer manifests (graph edges) */
    uint64_t content_bytes; /* sum of distinct member sizes */
    uint64_t bundle_bytes;  /* compressed size (of every volume) */
    unsigned volumes;       /* volumes written (--volume-size), else 0 */
    size_t parts;           /* parts of blobs larger than a volume */
    size_t external_blobs;  /* a delta: blobs left out, the bases hold them */
    size_t unsigned_images; /* the gate refused them (left out with skip_unsigned) */
    uint64_t external_bytes;
    /* Wall-clock seconds of the phases: resolving references (manifests,
     * referrers), writing every member, and the commit (seek table, fsync,
     * signature, rename). */
    double resolve_s, write_s, commit_s;
};

/* Resolve every reference (all platforms of an index), then write the bundle:
 * ferry.json and its signature first, then oci-layout, index.json, manifests,
 * configs and layers, each blob once, each digest verified while it streams.
 * On failure nothing is left at o->output. */
FERRY_API int ferry_export_run(const struct ferry_export_item *items, size_t nitems,
                               const struct ferry_export_opts *o, struct ferry_export_report *rep,
                               struct ferry_error **err);

/* Items and per-registry options built from a regsync-style sync config:
 * repository entries are listed (tags selected by allow/deny), image entries
 * taken as they are; creds become per-host registry options (user and
 * password, tls mode, regcert written to a private temporary file). */
struct ferry_sync_config;
struct ferry_export_sync;
FERRY_API int ferry_export_sync_prepare(const struct ferry_sync_config *cfg,
                                        const struct ferry_registry_opts *base,
                                        struct ferry_export_sync **out, struct ferry_error **err);
FERRY_API const struct ferry_export_item *ferry_export_sync_items(const struct ferry_export_sync *s,
                                                                  size_t *n);
FERRY_API const struct ferry_export_host *ferry_export_sync_hosts(const struct ferry_export_sync *s,
                                                                  size_t *n);
/* Free, removing temporary CA files. NULL is a no-op. */
FERRY_API void ferry_export_sync_free(struct ferry_export_sync *s);

/* The dry run: resolve everything (manifests, configs, referrer manifests;
 * no layer is downloaded) and return the statement the export would sign,
 * members included. Nothing is written. *out freed with ferry_statement_free.
 * Notices (a platform filter that drops the index's own referrers, ...) are
 * logged as warnings. */
struct ferry_statement;
FERRY_API int ferry_export_plan(const struct ferry_export_item *items, size_t nitems,
                                const struct ferry_export_opts *o, struct ferry_statement **out,
                                struct ferry_error **err);

#endif
