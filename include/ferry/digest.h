/* ferry: content digests (OpenSSL EVP; sha256 and sha512). */
#ifndef FERRY_DIGEST_H
#define FERRY_DIGEST_H

#include "common.h"
#include "error.h"

/* "sha512:" + 128 hex + NUL */
#define FERRY_DIGEST_MAX 136

enum ferry_digest_alg { FERRY_DIGEST_SHA256 = 1, FERRY_DIGEST_SHA512 = 2 };

struct ferry_digest {
    enum ferry_digest_alg alg;
    char str[FERRY_DIGEST_MAX]; /* canonical text "sha256:<hex>" */
};

/* Parse and validate "<alg>:<encoded>" per image-spec descriptor.md (grammar,
 * then sha256 = 64 lowercase hex, sha512 = 128 lowercase hex). Other algorithms
 * matching the grammar are FERRY_E_UNSUPPORTED; anything else FERRY_E_INVALID.
 * The message names the offending text (truncated to 80 chars). */
FERRY_API int ferry_digest_parse(const char *s, struct ferry_digest *out, struct ferry_error **err);
/* The hex part of a parsed digest (points into d->str). */
FERRY_API const char *ferry_digest_hex(const struct ferry_digest *d);
/* Algorithm name "sha256"/"sha512". Static string. */
FERRY_API const char *ferry_digest_alg_name(enum ferry_digest_alg alg);

/* Streaming hasher. Owned by the caller, freed with ferry_hasher_free (NULL ok). */
struct ferry_hasher;
FERRY_API struct ferry_hasher *ferry_hasher_new(enum ferry_digest_alg alg);
FERRY_API void ferry_hasher_update(struct ferry_hasher *h, const void *data, size_t len);
/* Finish into *out. The hasher may be reset with ferry_hasher_reset and reused. */
FERRY_API void ferry_hasher_final(struct ferry_hasher *h, struct ferry_digest *out);
FERRY_API void ferry_hasher_reset(struct ferry_hasher *h);
FERRY_API void ferry_hasher_free(struct ferry_hasher *h);

/* One-shot digest of a buffer. */
FERRY_API void ferry_digest_buffer(enum ferry_digest_alg alg, const void *data, size_t len,
                                   struct ferry_digest *out);
/* Check data against want; FERRY_E_DIGEST_MISMATCH names both digests and `what`. */
FERRY_API int ferry_digest_verify(const struct ferry_digest *want, const void *data, size_t len,
                                  const char *what, struct ferry_error **err);

#endif
