/* ferry: the signed statement (ferry.json) that opens every bundle: what the
 * bundle holds, where it came from, and each member's digest and size.
 * docs/FORMAT.md is the specification. */
#ifndef FERRY_STATEMENT_H
#define FERRY_STATEMENT_H

#include <jansson.h>

#include "common.h"
#include "error.h"

#define FERRY_STATEMENT_NAME "ferry.json"
#define FERRY_STATEMENT_SIG_NAME "ferry.json.minisig"
#define FERRY_STATEMENT_VERSION 1
#define FERRY_ANNOTATION_SOURCE "dev.ferry.source"
#define FERRY_REF_NAME "org.opencontainers.image.ref.name"

struct ferry_stmt_member {
    char *path; /* "oci-layout", "index.json" or "blobs/<alg>/<hex>" */
    char *digest;
    int64_t size;
    char *media_type; /* blobs: media type of the first descriptor naming it, else NULL */
};

struct ferry_stmt_image {
    char *source;     /* full source reference as exported: host/repo:tag or host/repo@digest */
    char *registry;   /* source registry host[:port] */
    char *repository; /* source repository path */
    char *tag;        /* or NULL */
    char *digest;     /* digest of the top manifest or index */
    char *media_type;
    int64_t size;     /* manifest size */
    int64_t total;    /* sum of distinct blob sizes the image needs (manifests included) */
    char **platforms; /* "os/arch[/variant]" */
    size_t nplatforms;
    char *target;        /* HOST[:PORT]/REPO[:TAG] to push to (sync config), or NULL */
    char *source_digest; /* digest of the source index when platforms were filtered, or NULL */
};

/* A referrer (OCI 1.1 subject) carried with the images: an edge of the graph
 * subject -> referrer. */
struct ferry_stmt_referrer {
    char *subject; /* digest of the manifest it refers to */
    char *digest;  /* the referrer manifest */
    char *media_type;
    int64_t size;
    char *artifact_type; /* manifest artifactType, else config mediaType; or NULL */
    json_t *annotations; /* the manifest's annotations (owned reference) or NULL */
    char *source;        /* HOST[:PORT]/REPO it was read from */
    char *target;        /* HOST[:PORT]/REPO it must land in, or NULL: its subject's repository */
    size_t image;        /* index into images[] of the image it belongs to */
};

struct ferry_statement {
    int version;
    char *creator;
    char *created; /* RFC 3339 UTC */
    struct ferry_stmt_image *images;
    size_t nimages;
    struct ferry_stmt_member *members;
    size_t nmembers;
    struct ferry_stmt_referrer *referrers; /* parents before their own referrers */
    size_t nreferrers;
};

/* Parse and validate ferry.json: unknown keys, a wrong version, bad digests,
 * member paths that do not match their digest, and duplicate paths are
 * FERRY_E_BUNDLE naming the field. *out freed with ferry_statement_free. */
FERRY_API int ferry_statement_parse(const void *data, size_t len, struct ferry_statement **out,
                                    struct ferry_error **err);
/* Serialise (compact, keys in a fixed order). *out freed with ferry_free. */
FERRY_API int ferry_statement_serialize(const struct ferry_statement *s, char **out, size_t *len,
                                        struct ferry_error **err);
FERRY_API void ferry_statement_free(struct ferry_statement *s);
/* Free the strings of one image or member entry (not the struct itself). */
FERRY_API void ferry_stmt_image_clear(struct ferry_stmt_image *im);
FERRY_API void ferry_stmt_member_clear(struct ferry_stmt_member *m);
/* Free the strings of one referrer entry (not the struct itself). */
FERRY_API void ferry_stmt_referrer_clear(struct ferry_stmt_referrer *r);
/* Referrers fallback tag of a digest: "<alg>-<hex>" truncated as the
 * distribution-spec says (alg <= 32, hex <= 64). Caller frees. */
FERRY_API char *ferry_referrers_tag(const char *digest);
/* "blobs/<alg>/<hex>" for a digest; caller frees. NULL on bad digest/OOM. */
FERRY_API char *ferry_blob_path(const char *digest);

#endif
