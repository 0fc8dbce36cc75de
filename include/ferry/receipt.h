/* ferry: receipts: what a registry holds after an import, or found by an
 * inventory. ferry-import writes them (push --receipt, inventory); ferry-export
 * reads them (--base) to leave out what the far side already holds.
 * docs/FORMAT.md ("Receipts") is the specification. */
#ifndef FERRY_RECEIPT_H
#define FERRY_RECEIPT_H

#include "common.h"
#include "error.h"

#define FERRY_RECEIPT_VERSION 1

/* A manifest or blob the registry holds in a repository. */
struct ferry_receipt_blob {
    char *digest;
    int64_t size;
    char *media_type; /* or NULL */
};

struct ferry_receipt_tag {
    char *tag;
    char *digest;
};

struct ferry_receipt_referrer {
    char *subject;
    char *digest;
    char *artifact_type; /* or NULL */
};

/* One repository of the registry, as found after the push. */
struct ferry_receipt_repo {
    char *name; /* path in the registry, prefix included */
    struct ferry_receipt_tag *tags;
    size_t ntags;
    struct ferry_receipt_blob *manifests; /* manifests and indexes (referrers included) */
    size_t nmanifests;
    struct ferry_receipt_blob *blobs; /* configs and layers */
    size_t nblobs;
    struct ferry_receipt_referrer *referrers;
    size_t nreferrers;
};

/* What the push did with one image (push receipts only). */
struct ferry_receipt_result {
    char *source;   /* the image's source reference */
    char *target;   /* host/repo:tag or host/repo@digest */
    char *digest;   /* the bundle's digest of the image */
    char *result;   /* "pushed", "unchanged", "moved", "refused" */
    char *previous; /* "moved": the digest the tag had; else NULL */
    char *reason;   /* why: always for "refused"; may be set for any other (an
                     * allowed downgrade of a moved tag); else NULL */
};

struct ferry_receipt {
    int version;
    char *creator;  /* "ferry-import 0.2.0" */
    char *created;  /* RFC 3339 UTC: when the registry was read */
    char *registry; /* host[:port] */
    char *prefix;   /* the --to prefix, or NULL */
    /* The bundle pushed; all NULL for an inventory. */
    char *bundle_statement; /* digest of its ferry.json */
    char *bundle_key_id;    /* 16 hex digits */
    char *bundle_created;   /* its signed creation time */
    struct ferry_receipt_result *results;
    size_t nresults;
    struct ferry_receipt_repo *repos;
    size_t nrepos;
};

/* Parse and validate a receipt: unknown keys (at every level), a wrong
 * version, bad digests, repository names and tags that do not follow the
 * distribution grammar, control characters in identifiers, a repository
 * listed twice, results other than the four names, more than
 * FERRY_MAX_RECEIPT bytes: FERRY_E_INVALID (FERRY_E_UNSUPPORTED for a
 * version, FERRY_E_TOO_LARGE for the size) naming the field ("receipt
 * repositories[2].blobs[5]: ..."). *out freed with ferry_receipt_free. */
FERRY_API int ferry_receipt_parse(const void *data, size_t len, struct ferry_receipt **out,
                                  struct ferry_error **err);
/* Serialise (indented with 2 spaces, keys in a fixed order, a final
 * newline). *out freed with ferry_free. */
FERRY_API int ferry_receipt_serialize(const struct ferry_receipt *r, char **out, size_t *len,
                                      struct ferry_error **err);
FERRY_API void ferry_receipt_free(struct ferry_receipt *r);
/* The repository called name, or NULL. A linear search: to look up many
 * names, put them in a ferry_strmap. */
FERRY_API const struct ferry_receipt_repo *ferry_receipt_repo(const struct ferry_receipt *r,
                                                              const char *name);

#endif
