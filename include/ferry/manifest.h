/* ferry: descriptor, image manifest and image index model (image-spec 1.1 and
 * Docker schema 2). Parsed only to read fields: the bytes are kept and pushed
 * as they came (STYLE.md 5). */
#ifndef FERRY_MANIFEST_H
#define FERRY_MANIFEST_H

#include <jansson.h>

#include "common.h"
#include "error.h"

#define FERRY_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define FERRY_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define FERRY_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define FERRY_MT_OCI_EMPTY "application/vnd.oci.empty.v1+json"
#define FERRY_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define FERRY_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define FERRY_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

enum ferry_manifest_kind { FERRY_KIND_IMAGE = 1, FERRY_KIND_INDEX = 2 };

struct ferry_descriptor {
    char *media_type;
    char *digest;        /* validated with ferry_digest_parse */
    int64_t size;        /* >= 0 */
    char *artifact_type; /* or NULL */
    char *platform;      /* "os/arch[/variant]" for index entries, or NULL */
    json_t *annotations; /* object (borrowed from the manifest's JSON) or NULL */
};

struct ferry_manifest {
    enum ferry_manifest_kind kind;
    char *media_type;               /* from the body, else the hint */
    char *artifact_type;            /* or NULL */
    struct ferry_descriptor config; /* images only */
    struct ferry_descriptor *layers;
    size_t nlayers;
    struct ferry_descriptor *manifests; /* indexes only */
    size_t nmanifests;
    struct ferry_descriptor *subject; /* or NULL */
    json_t *annotations;              /* or NULL */
    json_t *root;
};

/* True for the two index and the two manifest media types. */
FERRY_API bool ferry_media_type_is_index(const char *mt);
FERRY_API bool ferry_media_type_is_manifest(const char *mt);

/* Parse a manifest or index. media_type_hint (Content-Type or the descriptor's
 * mediaType) is used when the body has no mediaType; when both are present and
 * differ, FERRY_E_INVALID. JSON is read with duplicate keys rejected; errors
 * name `what` and the line/column. *out is freed with ferry_manifest_free. */
FERRY_API int ferry_manifest_parse(const void *data, size_t len, const char *media_type_hint,
                                   const char *what, struct ferry_manifest **out,
                                   struct ferry_error **err);
FERRY_API void ferry_manifest_free(struct ferry_manifest *m);
/* The artifact type a referrers index lists for m: its artifactType, else an
 * image's config media type, else NULL (an index without one). Points into m. */
FERRY_API const char *ferry_manifest_artifact_type(const struct ferry_manifest *m);

/* root as compact JSON, keys in insertion order, into *out (ferry_free) and
 * *len (if not NULL). FERRY_E_NOMEM when out of memory. */
FERRY_API int ferry_json_dump(const json_t *root, char **out, size_t *len,
                              struct ferry_error **err);

/* Parse one descriptor object (used for index.json entries too). Strings are
 * copied into d; free with ferry_descriptor_clear. */
FERRY_API int ferry_descriptor_parse(json_t *obj, const char *what, struct ferry_descriptor *d,
                                     struct ferry_error **err);
FERRY_API void ferry_descriptor_clear(struct ferry_descriptor *d);

/* Read "os/arch[/variant]" from an image config blob; *out NULL if absent. */
FERRY_API int ferry_config_platform(const void *data, size_t len, const char *what, char **out,
                                    struct ferry_error **err);

/* Does an index entry's platform ("os/arch[/variant]", as descriptors hold
 * it) match a wanted one? A wanted value without variant matches every
 * variant. */
FERRY_API bool ferry_platform_match(const char *have, const char *want);

#endif
