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
/* A delta bundle (bases and external blobs) is version 2: a version-1 reader
 * refuses it rather than push images whose blobs it cannot find. */
#define FERRY_STATEMENT_VERSION_DELTA 2
/* A volume of a set (ferry-export --volume-size) is version 3, whatever
 * else it carries: a reader that knows no volumes must not take one volume
 * for the whole bundle. */
#define FERRY_STATEMENT_VERSION_VOLUME 3
#define FERRY_MAX_VOLUMES 9999 /* volumes in one set */
/* A bundle carrying cosign's tag-based attachments (referrers with a tag) is
 * version 4, whatever else it carries: an older reader would push them as
 * referrers, without the tag that makes them findable. A version-4
 * statement is a volume of a set only if it says so. */
#define FERRY_STATEMENT_VERSION_TAGS 4

struct ferry_stmt_member {
    char *path; /* "oci-layout", "index.json" or "blobs/<alg>/<hex>" */
    char *digest;
    int64_t size;
    char *media_type; /* blobs: media type of the first descriptor naming it, else NULL */
    unsigned volume;  /* volume sets: the volume that holds it; 0: every volume holds it */
    char *blob;       /* a part ("parts/<alg>/<hex>.<n>"): the split blob it is part of */
    int64_t offset;   /* a part: where in that blob it starts */
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
    /* A cosign tag-based attachment (version 4): its tag,
     * ferry_layout_attachment_tag(subject, "sig"|"att"|"sbom"). Such a
     * manifest names no subject; it is found by this tag, which the push sets,
     * and is never listed in a referrers index. NULL for an OCI referrer. */
    char *tag;
};

/* What a delta bundle was made against: an earlier bundle (its statement) or
 * a receipt of the far side. */
struct ferry_stmt_base {
    char *kind;     /* "bundle" or "receipt" */
    char *digest;   /* sha256 of the bundle's ferry.json, or of the receipt file */
    char *key_id;   /* the key that signed it (16 hex digits), or NULL: unsigned */
    char *created;  /* its creation time (RFC 3339) */
    char *name;     /* the file's name when the export read it, or NULL */
    char *registry; /* receipts: the registry they describe; else NULL */
    char *bundle;   /* receipts: the statement digest of the bundle they record, or NULL */
};

/* A blob a delta bundle leaves out: the target must hold it already. */
struct ferry_stmt_external {
    char *digest;
    int64_t size;
    char *media_type; /* or NULL */
    char *repository; /* where the base says the far side holds it (push maps it like a target) */
    size_t base;      /* index into bases[] */
};

/* A blob of a volume set carried in parts (it is larger than a volume):
 * members whose `blob` names it, in order, cover it from 0 to size. */
struct ferry_stmt_split {
    char *digest;
    int64_t size;
    char *media_type; /* or NULL */
    size_t parts;
    size_t *members; /* parsed statements: the index in members[] of each part, in order */
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
    struct ferry_stmt_base *bases; /* delta bundles (version 2) only */
    size_t nbases;
    struct ferry_stmt_external *externals; /* each digest once, never also a member */
    size_t nexternals;
    /* A volume of a set (version 3): the set's identity, this volume's
     * number and the count. members[] lists the whole set's, each with the
     * volume holding it (0: every volume); volume is 0 for a plain bundle. */
    char *volume_set; /* "sha256:<hex>" (ferry_statement_volume_set), or NULL */
    unsigned volume, volumes;
    struct ferry_stmt_split *splits; /* blobs carried in parts, each once */
    size_t nsplits;
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
/* Does s carry a cosign tag-based attachment (a referrer with a tag)? */
FERRY_API bool ferry_statement_has_tags(const struct ferry_statement *s);
/* Does referrer rf land in another repository than its image (its recorded
 * target, else its source's)? Then the referrers API or fallback tag of the
 * image's repository will not show it: plan and list warn. */
FERRY_API bool ferry_stmt_referrer_apart(const struct ferry_statement *s,
                                         const struct ferry_stmt_referrer *rf);
/* Is member m in this file: a plain bundle, or m in every volume or in
 * this one? */
FERRY_API bool ferry_stmt_member_here(const struct ferry_statement *s,
                                      const struct ferry_stmt_member *m);
/* The identity of the volume set s belongs to: the sha256 of s serialised
 * with its volume number and set left out, so every volume of one set has
 * the same, and it changes with anything else the statements say. The
 * parser checks it. out holds "sha256:<hex>". */
FERRY_API int ferry_statement_volume_set(const struct ferry_statement *s, char out[72],
                                         struct ferry_error **err);
/* The member path of part n (from 1) of a split blob:
 * "parts/<alg>/<hex>.<n>" (ferry_malloc), NULL if out of memory or blob is
 * no digest. */
FERRY_API char *ferry_stmt_part_path(const char *blob, size_t n);
/* Free the strings of one image or member entry (not the struct itself). */
FERRY_API void ferry_stmt_image_clear(struct ferry_stmt_image *im);
FERRY_API void ferry_stmt_member_clear(struct ferry_stmt_member *m);
FERRY_API void ferry_stmt_base_clear(struct ferry_stmt_base *b);
FERRY_API void ferry_stmt_external_clear(struct ferry_stmt_external *x);
FERRY_API void ferry_stmt_split_clear(struct ferry_stmt_split *x);
/* Free the strings of one referrer entry (not the struct itself). */
FERRY_API void ferry_stmt_referrer_clear(struct ferry_stmt_referrer *r);
/* ---- the layout a statement describes (statement_layout.c) ------------------ */

/* A referrers fallback index of a bundle's layout: stored as a blob and
 * tagged with the referrers tag of its subject in index.json. */
struct ferry_stmt_fallback {
    char *subject;
    char *tag;    /* ferry_layout_referrers_tag(subject) */
    char *digest; /* of data */
    char *data;   /* the index, compact JSON */
    size_t len;
};
/* One fallback index per subject of s->referrers, in the order the subjects
 * first appear, listing the subject's referrers in statement order, each
 * digest once. *out (NULL when *n is 0) freed with ferry_stmt_fallbacks_free. */
FERRY_API int ferry_statement_layout_fallbacks(const struct ferry_statement *s,
                                               struct ferry_stmt_fallback **out, size_t *n,
                                               struct ferry_error **err);
FERRY_API void ferry_stmt_fallbacks_free(struct ferry_stmt_fallback *fb, size_t n);
/* index.json of a bundle: a tagged entry per image (ref.name "repo:tag", or
 * "repo@digest" without a tag, and the full source in dev.ferry.source), then
 * every referrer untagged (each digest once), then the fallback indexes
 * tagged with their referrers tag. *out freed with ferry_free. */
FERRY_API int ferry_statement_layout_index(const struct ferry_statement *s,
                                           const struct ferry_stmt_fallback *fb, size_t nfb,
                                           char **out, size_t *len, struct ferry_error **err);
/* Check a layout (already through ferry_layout_check) against the statement:
 * every image is in index.json and held as a manifest; every referrer is a
 * manifest of the layout whose graph checks, its subject is a manifest of the
 * layout, and the referrer's own subject field names it. FERRY_E_BUNDLE. */
struct ferry_layout;
FERRY_API int ferry_statement_layout_check(const struct ferry_statement *s, struct ferry_layout *l,
                                           struct ferry_error **err);

#endif
