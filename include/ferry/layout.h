/* ferry: the OCI image layout (image-spec 1.1 image-layout.md) as a model.
 *
 * A layout is an `oci-layout` file, an `index.json` and content-addressed
 * blobs under blobs/<alg>/<hex>. Referrers are recorded in it two ways:
 * untagged index.json entries (what oras reads) and, per subject, a referrers
 * index stored as a blob and tagged <alg>-<hex> (the distribution-spec's
 * referrers tag schema, what regclient reads). This module builds those
 * pieces, merges referrers indexes, and checks that a layout's graph is
 * complete. Which images and referrers a bundle's layout holds is the
 * statement's business (statement.h, ferry_statement_layout_*).
 *
 * Nothing here is thread-safe for one object; different objects may be used
 * from different threads.
 */
#ifndef FERRY_LAYOUT_H
#define FERRY_LAYOUT_H

#include <jansson.h>

#include "common.h"
#include "error.h"
#include "manifest.h"

#define FERRY_LAYOUT_VERSION_FILE "oci-layout"
#define FERRY_LAYOUT_INDEX_FILE "index.json"
#define FERRY_LAYOUT_VERSION "1.0.0"
/* index.json annotations: the name an entry is tagged with (image-spec
 * annotations.md), and ferry's own record of the full source reference
 * (org.opencontainers.* is reserved). */
#define FERRY_REF_NAME "org.opencontainers.image.ref.name"
#define FERRY_ANNOTATION_SOURCE "dev.ferry.source"

/* The exact text of the oci-layout file ferry writes; *len (if not NULL)
 * receives its length. Static string. */
FERRY_API const char *ferry_layout_version_text(size_t *len);

/* "blobs/<alg>/<hex>" for a digest; caller frees with ferry_free. NULL on a
 * malformed digest or out of memory. */
FERRY_API char *ferry_layout_blob_path(const char *digest);

/* Referrers tag of a digest: "<alg>-<hex>" truncated as the distribution-spec
 * says (alg <= 32, hex <= 64), characters outside [a-zA-Z0-9._-] as '-'.
 * Caller frees with ferry_free; NULL without a ':' or out of memory. */
FERRY_API char *ferry_layout_referrers_tag(const char *digest);

/* cosign's tag-based attachments of a manifest (cosign
 * pkg/oci/remote/remote.go normalize): "<alg>-<hex>.<kind>", kind one of
 * FERRY_ATTACHMENT_KINDS. ferry_layout_attachment_tag: caller frees with
 * ferry_free; NULL for a kind not listed, a bad digest, or out of memory.
 * ferry_layout_attachment_kind: the kind ("sig", "att", "sbom", static) if
 * tag is an attachment tag of digest, else NULL. */
#define FERRY_ATTACHMENT_KINDS                                                                     \
    {                                                                                              \
        "sig", "att", "sbom"                                                                       \
    }
FERRY_API char *ferry_layout_attachment_tag(const char *digest, const char *kind);
FERRY_API const char *ferry_layout_attachment_kind(const char *tag, const char *digest);

/* The descriptor a referrers index lists for a referrer manifest: mediaType,
 * digest, size, then artifactType (may be NULL) and the annotations (borrowed;
 * left out when NULL or empty), in that order. New reference, or NULL when out
 * of memory. */
FERRY_API json_t *ferry_layout_referrer_descriptor(const char *media_type, const char *digest,
                                                   int64_t size, const char *artifact_type,
                                                   json_t *annotations);

/* ---- referrers indexes ------------------------------------------------------
 * The image index a referrers tag points at (and the referrers API answers
 * with): {"schemaVersion":2,"mediaType":"...index.v1+json","manifests":[...]}.
 * Entries already listed (by digest) are never added twice, and entries of an
 * index read back are kept as they are, so merging is additive. */
struct ferry_referrers_index;

/* An empty index. NULL when out of memory. */
FERRY_API struct ferry_referrers_index *ferry_referrers_index_new(void);
/* An index read from data (a registry's fallback tag), to add to. JSON with
 * duplicate keys, anything but an object with a "manifests" array:
 * FERRY_E_INVALID naming `what`. *out freed with ferry_referrers_index_free. */
FERRY_API int ferry_referrers_index_parse(const void *data, size_t len, const char *what,
                                          struct ferry_referrers_index **out,
                                          struct ferry_error **err);
/* Add a descriptor (ownership of desc passes, also on failure) unless an entry
 * with its digest is listed: 1 added, 0 listed already, negative when out of
 * memory. */
FERRY_API int ferry_referrers_index_add(struct ferry_referrers_index *x, json_t *desc,
                                        struct ferry_error **err);
/* Keep only the entries whose artifactType is artifact_type (for a registry
 * that did not filter). 0, or negative when out of memory. */
FERRY_API int ferry_referrers_index_keep_type(struct ferry_referrers_index *x,
                                              const char *artifact_type, struct ferry_error **err);
/* Compact JSON in insertion order; *out freed with ferry_free. */
FERRY_API int ferry_referrers_index_serialize(const struct ferry_referrers_index *x, char **out,
                                              size_t *len, struct ferry_error **err);
FERRY_API void ferry_referrers_index_free(struct ferry_referrers_index *x);

/* ---- index.json ---------------------------------------------------------------- */
struct ferry_layout_index;

FERRY_API struct ferry_layout_index *ferry_layout_index_new(void);
/* A tagged entry: {mediaType, digest, size, annotations: {ref.name: ref_name,
 * dev.ferry.source: source (when not NULL)}}. */
FERRY_API int ferry_layout_index_add_tagged(struct ferry_layout_index *x, const char *media_type,
                                            const char *digest, int64_t size, const char *ref_name,
                                            const char *source, struct ferry_error **err);
/* An untagged entry (ownership of desc passes, also on failure), unless an
 * untagged entry with its digest is listed: 1 added, 0 listed, negative on
 * out of memory. */
FERRY_API int ferry_layout_index_add_untagged(struct ferry_layout_index *x, json_t *desc,
                                              struct ferry_error **err);
/* Compact JSON, entries in the order added; *out freed with ferry_free. */
FERRY_API int ferry_layout_index_serialize(const struct ferry_layout_index *x, char **out,
                                           size_t *len, struct ferry_error **err);
FERRY_API void ferry_layout_index_free(struct ferry_layout_index *x);

/* ---- what a layout holds, and its graph ---------------------------------------- */

/* A manifest or index held in memory, bytes as they came. m is parsed by the
 * first ferry_layout_check_graph that reaches it (with the media type of the
 * descriptor that referenced it), NULL before. */
struct ferry_layout_manifest {
    char *digest;
    char *media_type;
    char *data;
    size_t len;
    struct ferry_manifest *m;
};

struct ferry_layout;

FERRY_API struct ferry_layout *ferry_layout_new(void);
FERRY_API void ferry_layout_free(struct ferry_layout *l);
/* A blob of the layout (any content under blobs/, manifests included) and its
 * size; digest is copied. Adding a digest twice keeps the first size. */
FERRY_API int ferry_layout_add_blob(struct ferry_layout *l, const char *digest, int64_t size,
                                    struct ferry_error **err);
/* A manifest or index held in memory: data (ferry_malloc'd) passes to the
 * layout, also on failure; NULL data with len > 0 (a copy that could not be
 * made) is FERRY_E_NOMEM. Adding a digest twice keeps the first. */
FERRY_API int ferry_layout_add_manifest(struct ferry_layout *l, const char *digest,
                                        const char *media_type, char *data, size_t len,
                                        struct ferry_error **err);
/* The manifest held for digest, or NULL. Owned by the layout. */
FERRY_API struct ferry_layout_manifest *ferry_layout_get_manifest(const struct ferry_layout *l,
                                                                  const char *digest);

/* Check d, referenced from `from`, and everything it references: every
 * descriptor names a blob of the layout with its size, every manifest or
 * index is held (and parses), indexes nest at most FERRY_MAX_INDEX_DEPTH.
 * Errors: FERRY_E_BUNDLE
 * naming what is missing, FERRY_E_SIZE_MISMATCH, the parser's. */
FERRY_API int ferry_layout_check_graph(struct ferry_layout *l, const struct ferry_descriptor *d,
                                       const char *from, struct ferry_error **err);

/* Check the oci-layout text and index.json: the version is 1.0.0, index.json
 * is an index whose every entry checks with ferry_layout_check_graph. The
 * entries are remembered for ferry_layout_index_has. Errors are
 * FERRY_E_BUNDLE naming the file, and those of ferry_layout_check_graph. */
FERRY_API int ferry_layout_check(struct ferry_layout *l, const void *version_text,
                                 size_t version_len, const void *index_text, size_t index_len,
                                 struct ferry_error **err);
/* Whether a checked index.json has an entry for digest. */
FERRY_API bool ferry_layout_index_has(const struct ferry_layout *l, const char *digest);

#endif
