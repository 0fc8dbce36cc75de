/* ferry: is an image of a statement signed as required? The signature gate
 * of ferry-import (verify, push) and of ferry-export (before it writes).
 *
 * The candidates are the statement's referrers of the image's digest, or of
 * the source index it was filtered from (what the vendor signed): cosign
 * simple-signing layers (legacy `sha256-<hex>.sig` tags, carried as
 * attachments, and `cosign sign --registry-referrers-mode=oci-1-1`
 * artifacts) and Sigstore bundles (cosign v3's referrers). Each is verified
 * by oci-layout/sigstore*.c; the content comes from the caller (a verified
 * bundle, or the registry during an export), and every blob read is checked
 * here against the digest its manifest gives before it is parsed. */
#ifndef FERRY_SIGCHECK_H
#define FERRY_SIGCHECK_H

#include "common.h"
#include "error.h"
#include "sigstore.h"
#include "statement.h"
#include "util.h"

/* Where the candidates' bytes come from. */
struct ferry_sigcheck_src {
    /* The bytes of the manifest digest: 1 with *data and *len set (borrowed
     * until the next call), 0 when it is not available. */
    int (*manifest)(void *ud, const char *digest, const char **data, size_t *len);
    /* Append blob digest (size bytes per its descriptor) to out, whose max is
     * the cap: 1 read, 0 not available (another volume), negative on error
     * with *err set. The digest is checked by the caller of this hook. */
    int (*blob)(void *ud, const char *digest, int64_t size, struct ferry_buf *out,
                struct ferry_error **err);
    void *ud;
};

struct ferry_policy;
struct ferry_sig_policy_cache;

/* What an image must carry: a signature verifying per trust (any one of its
 * keys, or keyless per its root and identities), or what a
 * containers-policy.json says for the image's source reference (all the
 * requirements of the scope that applies: insecureAcceptAnything passes,
 * reject refuses, sigstoreSigned needs a signature by its keys or its
 * Fulcio CA and identity, and a simple-signing payload's docker-reference
 * must satisfy its signedIdentity for the source reference; a Sigstore
 * bundle names no repository and passes by key or certificate and subject
 * digest alone). Exactly one of the two. */
struct ferry_sig_gate {
    const struct ferry_sig_trust *trust;
    struct ferry_sig_policy_cache *policy;
};

/* The key material of a policy's requirements, loaded as the requirements
 * are first used (those of the docker scopes at once, so that a key that
 * does not load is an error before any image is judged). *out freed with
 * ferry_sig_policy_cache_free; policy must outlive it. Errors name the
 * requirement's scope and key origin. */
FERRY_API int ferry_sig_policy_cache_new(const struct ferry_policy *policy,
                                         struct ferry_sig_policy_cache **out,
                                         struct ferry_error **err);
FERRY_API void ferry_sig_policy_cache_free(struct ferry_sig_policy_cache *c);

/* The verdict on one image. */
struct ferry_sig_verdict {
    bool ok;
    /* ok: the key that verified (hex SHA-256 of its SPKI), or "" when the
     * policy accepts anything for the image, or a keyless identity ("" key). */
    char key_id[FERRY_SIGSTORE_KEY_ID_LEN + 1];
    char identity[256]; /* ok, keyless: the certificate's subject; else "" */
    /* ok: whether a transparency log entry was checked (not, without a log
     * key or trusted root: as cosign's --insecure-ignore-tlog) */
    enum ferry_tlog_status tlog;
    /* !ok: the most telling reason over every candidate, and a sentence:
     * "no signature", "no valid signature: wrong key", "policy: rejected for
     * scope docker.io/x" ... */
    enum ferry_sig_reason reason;
    char why[512];
    char scope[256]; /* policy: the scope that applied ("" for the default) */
};

/* Judge image `image` of st. 0 with *out filled (ok or not), negative when
 * the candidates cannot be read (an I/O error, out of memory). */
FERRY_API int ferry_sigcheck_image(const struct ferry_statement *st, size_t image,
                                   const struct ferry_sigcheck_src *src,
                                   const struct ferry_sig_gate *gate, struct ferry_sig_verdict *out,
                                   struct ferry_error **err);

#endif
