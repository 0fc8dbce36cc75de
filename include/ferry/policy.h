/* ferry: containers-policy.json, the signature policy of skopeo, podman and
 * CRI-O (containers-policy.json(5); containers/image signature/policy_config.go,
 * policy_config_sigstore.go, policy_reference_match.go,
 * docker/policyconfiguration/naming.go).
 *
 * What ferry takes from the file:
 * - "default" (required, a non-empty array of requirements) and
 *   "transports" (transport name -> scope -> non-empty array). Only the
 *   "docker" transport is looked up; every other transport's requirements are
 *   parsed and checked as strictly as docker's, then dropped (ferry copies
 *   only registry images). Their scopes are not checked: containers/image
 *   leaves that to each transport.
 * - Requirements: insecureAcceptAnything, reject, sigstoreSigned (public keys
 *   or Fulcio, optional Rekor keys, signedIdentity). signedBy (GPG and X.509
 *   simple signing), signedBaseLayer, sigstoreSigned with "pki" and any type
 *   ferry does not know are kept as FERRY_POLICY_UNSUPPORTED with a reason:
 *   an image whose scope holds one must be refused by the caller. Known types
 *   are still checked field by field as containers/image does; an unknown
 *   type only needs to be a non-empty string (containers/image refuses the
 *   whole file instead; ferry refuses only the images that reach it).
 * - Unknown keys, wrong types, duplicate keys, empty arrays and the invalid
 *   combinations containers/image refuses are FERRY_E_INVALID, with a message
 *   that names the file, the scope and the field.
 *
 * Scopes of the docker transport (containers/image's docker transport checks
 * nothing, docker_transport.go ValidatePolicyConfigurationScope; ferry
 * refuses what can never be looked up): "" (the transport default), "*.DOMAIN"
 * (a wildcard: DOMAIN is dot-separated host labels, no port), "HOST[:PORT]",
 * "HOST[:PORT]/PATH", "HOST[:PORT]/PATH:TAG" and "HOST[:PORT]/PATH@DIGEST",
 * HOST as in a reference's domain, PATH lowercase reference components.
 * Docker Hub scopes are written expanded, "docker.io/library/busybox": a
 * scope is compared with the normalised name, as containers/image does, so
 * "docker.io/busybox" is valid but never matches.
 *
 * Key material (keyPath, keyPaths, keyData, keyDatas, fulcio.caPath/caData,
 * rekorPublicKeyPath(s)/Data(s)) is read when the policy is loaded: files are
 * opened as regular files only (a FIFO or device is refused) and capped at
 * FERRY_POLICY_MAX_KEY_FILE bytes, *Data values are base64 as in the file.
 * The bytes are kept as they are (PEM text); the signature verifier parses
 * them. A relative path is resolved against base_dir, the policy file's
 * directory for ferry_policy_load_file: containers/image uses the path as
 * given (relative to the process's working directory), while ferry resolves
 * it so a policy carried across the air gap with its keys keeps working.
 *
 * Caps (limits.h): file size, scopes, requirements per scope, keys per
 * requirement, bytes of key material in all, string length, JSON depth.
 * Going over is FERRY_E_TOO_LARGE.
 *
 * A parsed policy is immutable: lookups from several threads are safe.
 */
#ifndef FERRY_POLICY_H
#define FERRY_POLICY_H

#include "common.h"
#include "error.h"

enum ferry_policy_req_type {
    FERRY_POLICY_ACCEPT = 1,  /* insecureAcceptAnything */
    FERRY_POLICY_REJECT,      /* reject */
    FERRY_POLICY_SIGSTORE,    /* sigstoreSigned with keys or Fulcio */
    FERRY_POLICY_UNSUPPORTED, /* signedBy, signedBaseLayer, sigstoreSigned pki, unknown */
};

/* signedIdentity (policy_reference_match.go). */
enum ferry_policy_identity_type {
    FERRY_POLICY_ID_MATCH_REPO_DIGEST_OR_EXACT = 1, /* the default */
    FERRY_POLICY_ID_MATCH_REPOSITORY,
    FERRY_POLICY_ID_MATCH_EXACT,
    FERRY_POLICY_ID_EXACT_REFERENCE,
    FERRY_POLICY_ID_EXACT_REPOSITORY,
    FERRY_POLICY_ID_REMAP_IDENTITY,
};

/* Bytes of a key or certificate file, or of a decoded *Data value. data is
 * NUL-terminated (not counted in len). origin says where it came from, for
 * messages: "keyPath /etc/keys/x.pub" (the resolved path), "keyData",
 * "keyDatas[1]", "caPath /etc/keys/fulcio.pem", "rekorPublicKeyData". */
struct ferry_policy_blob {
    char *data;
    size_t len;
    char *origin;
};

struct ferry_policy_identity {
    enum ferry_policy_identity_type type;
    char *reference;     /* exactReference: dockerReference as written */
    char *repository;    /* exactRepository: dockerRepository as written */
    char *prefix;        /* remapIdentity */
    char *signed_prefix; /* remapIdentity */
};

struct ferry_policy_req {
    enum ferry_policy_req_type type;
    char *type_name;    /* "type" as written ("signedBy"), for messages */
    const char *reason; /* UNSUPPORTED: why, static text ("signedBy (GPG or X.509 simple
                           signing) is not supported"); NULL otherwise */
    /* SIGSTORE: exactly one of keys (nkeys >= 1) and fulcio_ca is set. */
    struct ferry_policy_blob *keys;
    size_t nkeys;
    struct ferry_policy_blob *fulcio_ca;  /* fulcio.caPath / caData, or NULL */
    char *fulcio_issuer;                  /* fulcio.oidcIssuer */
    char *fulcio_email;                   /* fulcio.subjectEmail */
    struct ferry_policy_blob *rekor_keys; /* at least one when fulcio_ca is set */
    size_t nrekor_keys;
    /* SIGSTORE and signedBy: the default is MATCH_REPO_DIGEST_OR_EXACT. */
    struct ferry_policy_identity identity;
};

struct ferry_policy;

/* Parse a policy from json[0..len) (at most FERRY_POLICY_MAX_FILE bytes).
 * name (may be NULL: "policy") is put first in messages, normally the file's
 * path; base_dir (may be NULL: paths used as given) is where relative key
 * paths are resolved. Key files are read now. *out is freed with
 * ferry_policy_free. Errors: FERRY_E_INVALID (malformed), FERRY_E_TOO_LARGE
 * (a cap), FERRY_E_NOT_FOUND / FERRY_E_IO (a key file, naming it and the
 * scope), FERRY_E_NOMEM. */
FERRY_API int ferry_policy_parse(const void *json, size_t len, const char *base_dir,
                                 const char *name, struct ferry_policy **out,
                                 struct ferry_error **err);
/* Read and parse the regular file at path (FERRY_POLICY_MAX_FILE at most);
 * relative key paths are resolved against path's directory. */
FERRY_API int ferry_policy_load_file(const char *path, struct ferry_policy **out,
                                     struct ferry_error **err);
/* NULL is a no-op. */
FERRY_API void ferry_policy_free(struct ferry_policy *p);

/* The requirements for an image of the docker transport. reference is
 * "HOST/REPO:TAG", "HOST/REPO@DIGEST" or "HOST/REPO:TAG@DIGEST", parsed as
 * ferry_ref_parse does (Docker Hub short names normalised, no tag or digest
 * meaning ":latest", as containers/image's docker transport does). The scope
 * used is the first present of (policy_eval.go requirementsForImageRef,
 * naming.go): "HOST/REPO:TAG", "HOST/REPO@DIGEST" (a reference with both
 * tries the tag first; containers/image refuses such a reference),
 * "HOST/REPO", each parent namespace up to "HOST", then "*.DOMAIN" for each
 * suffix of HOST without its port, then transports.docker[""], then
 * "default". All of *reqs must be satisfied to accept the image, in the
 * order they are listed (containers/image: a scope's requirements are ANDed).
 * *reqs and *scope point into p: *scope is the scope that matched, "" for
 * the docker transport default, NULL for the global default. *n >= 1.
 * FERRY_E_INVALID for a reference that does not parse. */
FERRY_API int ferry_policy_requirements(const struct ferry_policy *p, const char *reference,
                                        const struct ferry_policy_req **reqs, size_t *n,
                                        const char **scope, struct ferry_error **err);

/* signedIdentity: does signed_ref, the docker-reference a signature's
 * payload names, satisfy id for the image ferry copies as image_ref? As
 * containers/image's matchesDockerReference implementations
 * (policy_reference_match.go), references normalised as
 * reference.ParseNormalizedNamed does; image_ref is taken as given (a name
 * without tag or digest is not completed with ":latest"). A reference with
 * both a tag and a digest must be matched by both (matchExact,
 * matchRepoDigestOrExact, remapIdentity); a digest-only image_ref accepts
 * any signed_ref of the same repository under matchRepoDigestOrExact, since
 * the signature itself binds the manifest digest. A reference that does not
 * parse never matches. */
FERRY_API bool ferry_policy_identity_match(const struct ferry_policy_identity *id,
                                           const char *image_ref, const char *signed_ref);

/* The policy's requirements, for listing: the global default, and the
 * docker scopes in file order. */
FERRY_API size_t ferry_policy_docker_scope_count(const struct ferry_policy *p);
/* Scope i (< count), its requirements in *reqs and *n. */
FERRY_API const char *ferry_policy_docker_scope(const struct ferry_policy *p, size_t i,
                                                const struct ferry_policy_req **reqs, size_t *n);

/* "insecureAcceptAnything", "matchRepository", ...: the policy's own names.
 * Static strings. */
FERRY_API const char *ferry_policy_identity_name(enum ferry_policy_identity_type t);

#endif
