/* ferry: OCI distribution-spec client over libcurl. One handle per registry
 * host; not thread-safe (one handle per thread). */
#ifndef FERRY_REGISTRY_H
#define FERRY_REGISTRY_H

#include "common.h"
#include "error.h"
#include "util.h"

/* Accept list sent on every manifest GET and HEAD. */
#define FERRY_MANIFEST_ACCEPT                                                                      \
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "        \
    "application/vnd.docker.distribution.manifest.list.v2+json, "                                  \
    "application/vnd.docker.distribution.manifest.v2+json"

struct ferry_registry_opts {
    bool plain_http;        /* http:// instead of https:// (explicit, for loopback/lab) */
    const char *ca_file;    /* extra CA bundle (PEM), NULL for system CAs */
    bool insecure_tls;      /* skip certificate verification (sync config tls: insecure) */
    const char *username;   /* explicit credentials win over config files */
    const char *password;   /* copied into sodium_malloc memory */
    const char *auth_file;  /* explicit docker/containers auth file; NULL: REGISTRY_AUTH_FILE,
                               then $DOCKER_CONFIG/config.json or ~/.docker/config.json */
    int max_retries;        /* on 429/5xx/connection reset; 0 = default (4), < 0 none */
    long connect_timeout_s; /* 0 = default 30 */
    int64_t chunk_min;      /* blobs of at least this many bytes are uploaded in chunks;
                               0 = FERRY_UPLOAD_CHUNK_MIN, < 0 never */
    int64_t chunk_size;     /* bytes per PATCH of a chunked upload; 0 = FERRY_UPLOAD_CHUNK_SIZE
                               (a larger OCI-Chunk-Min-Length from the registry wins) */
};

/* Blobs this large or larger go up as POST, PATCH chunks, PUT; smaller ones as
 * POST and one PUT. A failed chunk resumes where the registry says it stopped. */
#define FERRY_UPLOAD_CHUNK_MIN ((int64_t)16 << 20)
#define FERRY_UPLOAD_CHUNK_SIZE ((int64_t)8 << 20)

struct ferry_registry;

/* host is host[:port] (the api host, e.g. registry-1.docker.io; docker.io and
 * index.docker.io are mapped to it). No I/O yet. Credentials are looked up on
 * the first 401 (see docs/internals/registry.md). */
FERRY_API int ferry_registry_new(const char *host, const struct ferry_registry_opts *o,
                                 struct ferry_registry **out, struct ferry_error **err);
FERRY_API void ferry_registry_free(struct ferry_registry *r);
FERRY_API const char *ferry_registry_host(const struct ferry_registry *r);

/* GET /v2/ to check reachability and credentials (optional: every call
 * authenticates on demand). */
FERRY_API int ferry_registry_ping(struct ferry_registry *r, struct ferry_error **err);

/* Metadata of a manifest. Strings are owned by the caller (ferry_free). */
struct ferry_manifest_info {
    char *media_type; /* Content-Type without parameters */
    char *digest;     /* digest of the body (computed; Docker-Content-Digest checked) */
    int64_t size;
};
FERRY_API void ferry_manifest_info_clear(struct ferry_manifest_info *mi);

/* GET a manifest by tag or digest into body (reset first; capped at
 * FERRY_MAX_MANIFEST). Verifies the body against a digest reference and against
 * Docker-Content-Digest when present. 404: FERRY_E_NOT_FOUND naming repo:ref. */
FERRY_API int ferry_registry_get_manifest(struct ferry_registry *r, const char *repo,
                                          const char *reference, struct ferry_buf *body,
                                          struct ferry_manifest_info *info,
                                          struct ferry_error **err);
/* HEAD a manifest: 1 and *info filled if it exists, 0 if not (404). */
FERRY_API int ferry_registry_head_manifest(struct ferry_registry *r, const char *repo,
                                           const char *reference, struct ferry_manifest_info *info,
                                           struct ferry_error **err);
/* PUT a manifest byte for byte with Content-Type media_type to a tag or digest.
 * *subject (if not NULL) receives the OCI-Subject header value or NULL. */
FERRY_API int ferry_registry_put_manifest(struct ferry_registry *r, const char *repo,
                                          const char *reference, const char *media_type,
                                          const void *data, size_t len, char **subject,
                                          struct ferry_error **err);

/* Sink for streamed downloads: return 0 to continue, negative (with *err set) to abort. */
typedef int (*ferry_sink_fn)(const void *data, size_t len, void *ud, struct ferry_error **err);
/* Source for streamed uploads: fill buf, return bytes (0 = end), negative to abort. */
typedef int64_t (*ferry_source_fn)(void *buf, size_t len, void *ud, struct ferry_error **err);

/* GET a blob and stream it to sink, verifying size (exactly `size` bytes) and
 * digest before the last bytes are handed to sink; a mismatch fails with
 * FERRY_E_DIGEST_MISMATCH / FERRY_E_SIZE_MISMATCH naming repo@digest.
 * Follows redirects without forwarding Authorization to another host. */
FERRY_API int ferry_registry_get_blob(struct ferry_registry *r, const char *repo,
                                      const char *digest, int64_t size, ferry_sink_fn sink,
                                      void *ud, struct ferry_error **err);
/* ferry_registry_get_blob into out (appended; out's max bounds it:
 * FERRY_E_TOO_LARGE beyond). */
FERRY_API int ferry_registry_get_blob_buf(struct ferry_registry *r, const char *repo,
                                          const char *digest, int64_t size, struct ferry_buf *out,
                                          struct ferry_error **err);
/* GET bytes offset .. offset + len - 1 of a blob (HTTP Range, redirects to
 * blob storage followed without the registry's credentials), handed to sink
 * in order; resumed from where it stopped after a reset. Nothing is
 * verified but the count: the caller hashes the parts of a blob. A server
 * that answers 200 instead of 206 is FERRY_E_UNSUPPORTED (no ranges there). */
FERRY_API int ferry_registry_get_blob_range(struct ferry_registry *r, const char *repo,
                                            const char *digest, int64_t offset, int64_t len,
                                            ferry_sink_fn sink, void *ud, struct ferry_error **err);
/* HEAD a blob: 1 if present (and *size set if not NULL), 0 if absent. */
FERRY_API int ferry_registry_head_blob(struct ferry_registry *r, const char *repo,
                                       const char *digest, int64_t *size, struct ferry_error **err);
/* Position an upload source so that its next read returns the blob's bytes
 * from offset on (0 <= offset <= size); seek(ud, 0, err) rewinds it. 0 on
 * success, negative with *err set on failure. */
typedef int (*ferry_seek_fn)(void *ud, uint64_t offset, struct ferry_error **err);
/* Upload a blob of size bytes read from src, which must end exactly there.
 * Below chunk_min (ferry_registry_opts): POST for a session, then one
 * streamed PUT ?digest=. From chunk_min on: POST, PATCH chunks with
 * Content-Range to the Location each answer gives, then an empty PUT
 * ?digest=. A transient failure (network error, reset, cut answer, 429, 5xx)
 * is retried, at most max_retries times in a row without progress, with
 * backoff and Retry-After: a failed chunk asks the registry where the upload
 * stopped (GET on the session) and goes on from there; otherwise, or when the
 * session is gone, a new session starts from byte 0. Every retry is logged at
 * WARN. seek may be NULL: then nothing is retried once bytes were read from
 * src. Docker-Content-Digest, when given, must equal digest
 * (FERRY_E_DIGEST_MISMATCH). Not thread-safe (one handle per thread). */
FERRY_API int ferry_registry_put_blob(struct ferry_registry *r, const char *repo,
                                      const char *digest, int64_t size, ferry_source_fn src,
                                      ferry_seek_fn seek, void *ud, struct ferry_error **err);
/* Cross-repository mount: 1 mounted (201), 0 not mounted (202; the opened
 * session is cancelled or abandoned), negative on error. */
FERRY_API int ferry_registry_mount_blob(struct ferry_registry *r, const char *repo,
                                        const char *digest, const char *from_repo,
                                        struct ferry_error **err);

/* All tags of repo, following Link pagination (relative or absolute), sorted
 * with strcmp, deduplicated. *tags is an array of n strings (NULL when n is 0);
 * free with ferry_strv_free. 404 NAME_UNKNOWN: FERRY_E_NOT_FOUND. */
FERRY_API int ferry_registry_list_tags(struct ferry_registry *r, const char *repo, char ***tags,
                                       size_t *n, struct ferry_error **err);

/* Every repository of the registry (GET /v2/_catalog, scope
 * registry:catalog:*), following Link pagination, sorted, deduplicated,
 * names that are not valid repository paths dropped. Free with
 * ferry_strv_free. Registries that do not offer the catalog answer 404 or
 * 401 (FERRY_E_NOT_FOUND, FERRY_E_AUTH). */
FERRY_API int ferry_registry_catalog(struct ferry_registry *r, char ***repos, size_t *n,
                                     struct ferry_error **err);

/* GET /v2/<repo>/referrers/<digest>[?artifactType=]: 1 with body (index JSON,
 * all pages merged into one index) when the API answers, 0 when the registry has
 * no referrers API (404 not from the API), negative on error. *filtered tells
 * whether OCI-Filters-Applied contained artifactType. */
FERRY_API int ferry_registry_get_referrers(struct ferry_registry *r, const char *repo,
                                           const char *digest, const char *artifact_type,
                                           struct ferry_buf *body, bool *filtered,
                                           struct ferry_error **err);

/* How a registry answered a referrers lookup. */
enum ferry_referrers_via {
    FERRY_REFERRERS_VIA_API = 1, /* GET /v2/<repo>/referrers/<digest> */
    FERRY_REFERRERS_VIA_TAG = 2, /* the referrers tag <alg>-<hex> (fallback tag schema) */
};

/* Asked before the fallback tag is read: 1 to read it, 0 when the caller
 * knows the tag does not exist (then no request is made), negative with *err
 * set to stop the lookup with that error. */
typedef int (*ferry_tag_known_fn)(const char *tag, void *ud, struct ferry_error **err);

struct ferry_referrers_query {
    const char *artifact_type; /* asked of the API as a filter, or NULL */
    bool no_api;               /* the caller knows the registry has no referrers API */
    ferry_tag_known_fn tag_known;
    void *ud;
};

struct ferry_referrers {
    enum ferry_referrers_via via;
    bool filtered;          /* API: the registry applied artifact_type (OCI-Filters-Applied) */
    bool found;             /* tag: the tag exists; when not, index is empty */
    char *tag;              /* tag: its name */
    char *media_type;       /* tag, found: the media type of the tag's manifest */
    struct ferry_buf index; /* API: the answer (pages merged); tag: the tag's manifest bytes */
};
/* Free what a lookup filled in; rs is zeroed and can be reused. */
FERRY_API void ferry_referrers_clear(struct ferry_referrers *rs);

/* The referrers of the manifest digest in repo: through the referrers API
 * when the registry has it (unless q->no_api), else through the fallback tag,
 * reporting which in out->via. A missing tag is not an error (found is
 * false). The index is capped at FERRY_MAX_MANIFEST and is neither parsed nor
 * filtered here: callers read it with ferry_manifest_parse or the referrers
 * index of layout.h. out must be zeroed (or cleared) before the call; it is
 * filled on success only. Errors are those of the two requests. */
FERRY_API int ferry_registry_list_referrers(struct ferry_registry *r, const char *repo,
                                            const char *digest,
                                            const struct ferry_referrers_query *q,
                                            struct ferry_referrers *out, struct ferry_error **err);

/* Store user:password for host in the auth file credentials are read from
 * first (auth_file, else REGISTRY_AUTH_FILE, else $DOCKER_CONFIG/config.json
 * or ~/.docker/config.json) as docker login does: auths[HOST].auth =
 * base64(user:password), Docker Hub under its legacy URL key; every other
 * entry and key is kept; the file is replaced atomically with mode 0600.
 * *path_out (if not NULL) gets the file written (ferry_free). */
FERRY_API int ferry_registry_login_store(const char *auth_file, const char *host, const char *user,
                                         const char *password, char **path_out,
                                         struct ferry_error **err);
/* Remove host's entry from that file: 1 removed, 0 there was none. */
FERRY_API int ferry_registry_logout_store(const char *auth_file, const char *host, char **path_out,
                                          struct ferry_error **err);

/* "libcurl 7.88.1 (OpenSSL/3.0.x)": the registry client's library as loaded. */
FERRY_API const char *ferry_registry_versions(void);

#endif
