/* ferry: errors that carry context (crun: libcrun_error_t, git: strbuf *err).
 *
 * Functions that can fail take `struct ferry_error **err` last, return 0 (or a
 * non-negative count) on success and a negative `enum ferry_status` on failure
 * with *err set. *err is untouched on success. The caller owns *err and frees it
 * with ferry_error_free().
 */
#ifndef FERRY_ERROR_H
#define FERRY_ERROR_H

#include "common.h"

/* Stable codes: never renumbered or reused. */
enum ferry_status {
    FERRY_OK = 0,
    FERRY_E_NOMEM = 1,           /* allocation failed */
    FERRY_E_IO = 2,              /* file system or stream error (errno set) */
    FERRY_E_INVALID = 3,         /* malformed input: JSON, reference, digest, header, config */
    FERRY_E_TOO_LARGE = 4,       /* a named cap in limits.h was exceeded */
    FERRY_E_DIGEST_MISMATCH = 5, /* content does not hash to its digest */
    FERRY_E_SIZE_MISMATCH = 6,   /* content length differs from the declared size */
    FERRY_E_SIGNATURE = 7,       /* signature missing, malformed or not valid */
    FERRY_E_UNTRUSTED_KEY = 8,   /* signed by a key that is not trusted */
    FERRY_E_BUNDLE = 9,          /* bundle structure violated (member missing, extra, duplicate) */
    FERRY_E_HTTP = 10,           /* registry answered with an unexpected HTTP status */
    FERRY_E_AUTH = 11,           /* authentication or authorisation failed (401/403) */
    FERRY_E_NOT_FOUND = 12,      /* manifest, blob, repository or file not found */
    FERRY_E_NETWORK = 13,        /* connection, TLS or transfer failure */
    FERRY_E_USAGE = 14,          /* bad command line */
    FERRY_E_UNSUPPORTED = 15,    /* valid but not supported (algorithm, media type, version) */
    FERRY_E_CRYPTO = 16,         /* key handling, wrong password, libsodium failure */
    FERRY_E_INTERNAL = 17,       /* a bug */
    FERRY_E_REFUSED = 18,        /* refused by policy: older than a tag's record, or --max-age */
    FERRY_E_BASE_MISSING = 19,   /* a delta bundle's expected blobs are not in the target */
};

struct ferry_error {
    enum ferry_status code;
    int sys_errno;   /* errno captured after the failing call, or 0 */
    int http_status; /* HTTP status if one was involved, or 0 */
    char *msg;       /* lowercase, no final period, names the object */
};

/* Set *err (if err is not NULL and *err is NULL) and return -code. */
FERRY_API int ferry_error_new(struct ferry_error **err, enum ferry_status code, const char *fmt,
                              ...) FERRY_PRINTF(3, 4);
/* Same, appending ": strerror(errnum)" and recording errnum. */
FERRY_API int ferry_error_sys(struct ferry_error **err, int errnum, const char *fmt, ...)
    FERRY_PRINTF(3, 4);
/* Same as ferry_error_new, recording an HTTP status. */
FERRY_API int ferry_error_http(struct ferry_error **err, enum ferry_status code, int http_status,
                               const char *fmt, ...) FERRY_PRINTF(4, 5);
/* Prefix the message of *err with "<fmt>: " and return -(*err)->code.
 * If *err is NULL this returns -FERRY_E_INTERNAL. */
FERRY_API int ferry_error_wrap(struct ferry_error **err, const char *fmt, ...) FERRY_PRINTF(2, 3);
/* Change the code of *err (a lower layer's generic code to the caller's more
 * specific one) and return -code. Safe when err or *err is NULL. */
FERRY_API int ferry_error_recode(struct ferry_error **err, enum ferry_status code);
FERRY_API void ferry_error_free(struct ferry_error *e);
/* Free *err and set it to NULL. */
FERRY_API void ferry_error_clear(struct ferry_error **err);
/* Generic text of a code ("digest mismatch"). Static string. */
FERRY_API const char *ferry_strerror(enum ferry_status code);

#endif
