/* ferry core: the strict reading of JSON objects that every format of the
 * core shares (the statement, receipts, descriptors): unknown keys refused,
 * typed fields, identifiers without control characters. Each takes the
 * status its format reports (FERRY_E_BUNDLE for a statement, FERRY_E_INVALID
 * otherwise); messages name `what` and the key, text from the input quoted. */
#ifndef FERRY_JSON_INT_H
#define FERRY_JSON_INT_H

#include <jansson.h>

#include "ferry/error.h"

/* Fail on keys of obj outside allowed (NULL-terminated). */
int ferry_json_keys(enum ferry_status code, json_t *obj, const char *const *allowed,
                    const char *what, struct ferry_error **err);
/* A string member copied into *out (ferry_free); absent or null is NULL,
 * or an error when required. */
int ferry_json_str(enum ferry_status code, json_t *obj, const char *key, bool required,
                   const char *what, char **out, struct ferry_error **err);
/* A non-negative integer member. */
int ferry_json_size(enum ferry_status code, json_t *obj, const char *key, const char *what,
                    int64_t *out, struct ferry_error **err);
/* v (NULL passes) holds no control character: identifiers reach messages
 * and terminals. */
int ferry_json_text(enum ferry_status code, const char *what, const char *key, const char *v,
                    struct ferry_error **err);

#endif
