/* ferry: what the sigstore module's files share: results and their status
 * codes, base64 and hex, bounded JSON reading. See sigstore_int.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "ferry/limits.h"
#include "ferry/util.h"
#include "json_int.h"
#include "sigstore_int.h"

#define WHAT_SIZE 160

/* ---- results ------------------------------------------------------------------ */

void
ferry_sig_result_init(struct ferry_sig_result *res)
{
    memset(res, 0, sizeof *res);
    res->reason = FERRY_SIG_VERIFIED;
    res->tlog = FERRY_TLOG_NOT_CHECKED;
}

void
ferry_sig_result_clear(struct ferry_sig_result *res)
{
    if (res == NULL)
        return;
    ferry_free(res->identity);
    ferry_free(res->payload_type);
    ferry_free(res->predicate_type);
    ferry_free(res->cert_subject);
    ferry_free(res->cert_issuer);
    ferry_sig_result_init(res);
}

const char *
ferry_sig_reason_name(enum ferry_sig_reason reason)
{
    switch (reason) {
    case FERRY_SIG_VERIFIED:
        return "verified";
    case FERRY_SIG_MALFORMED:
        return "malformed";
    case FERRY_SIG_NO_SIGNATURE:
        return "no signature";
    case FERRY_SIG_WRONG_KEY:
        return "wrong key";
    case FERRY_SIG_BAD_SIGNATURE:
        return "bad signature";
    case FERRY_SIG_DIGEST_MISMATCH:
        return "digest mismatch";
    case FERRY_SIG_SUBJECT_MISMATCH:
        return "subject mismatch";
    case FERRY_SIG_BAD_TLOG:
        return "bad log entry";
    case FERRY_SIG_TLOG_MISSING:
        return "log entry missing";
    case FERRY_SIG_NEEDS_TRUSTED_ROOT:
        return "certificate-based: needs a trusted root";
    case FERRY_SIG_UNSUPPORTED:
        return "unsupported";
    case FERRY_SIG_ERROR:
        return "error";
    case FERRY_SIG_UNTRUSTED_CERT:
        return "untrusted certificate";
    case FERRY_SIG_CERT_EXPIRED:
        return "certificate expired";
    case FERRY_SIG_IDENTITY_MISMATCH:
        return "identity mismatch";
    }
    return "unknown";
}

const char *
ferry_tlog_status_name(enum ferry_tlog_status status)
{
    switch (status) {
    case FERRY_TLOG_NOT_CHECKED:
        return "tlog not checked";
    case FERRY_TLOG_ABSENT:
        return "tlog absent";
    case FERRY_TLOG_VERIFIED:
        return "tlog verified";
    }
    return "unknown";
}

enum ferry_status
ferry_sig_reason_code(enum ferry_sig_reason reason)
{
    switch (reason) {
    case FERRY_SIG_VERIFIED:
        return FERRY_OK;
    case FERRY_SIG_MALFORMED:
        return FERRY_E_INVALID;
    case FERRY_SIG_NO_SIGNATURE:
    case FERRY_SIG_BAD_SIGNATURE:
    case FERRY_SIG_BAD_TLOG:
    case FERRY_SIG_TLOG_MISSING:
        return FERRY_E_SIGNATURE;
    case FERRY_SIG_WRONG_KEY:
    case FERRY_SIG_UNTRUSTED_CERT:
    case FERRY_SIG_CERT_EXPIRED:
    case FERRY_SIG_IDENTITY_MISMATCH:
        return FERRY_E_UNTRUSTED_KEY;
    case FERRY_SIG_DIGEST_MISMATCH:
    case FERRY_SIG_SUBJECT_MISMATCH:
        return FERRY_E_DIGEST_MISMATCH;
    case FERRY_SIG_NEEDS_TRUSTED_ROOT:
    case FERRY_SIG_UNSUPPORTED:
        return FERRY_E_UNSUPPORTED;
    case FERRY_SIG_ERROR:
        return FERRY_E_INTERNAL;
    }
    return FERRY_E_INTERNAL;
}

static int sig_vfail(struct ferry_sig_result *res, enum ferry_sig_reason reason,
                     enum ferry_status code, struct ferry_error **err, const char *fmt, va_list ap)
    FERRY_PRINTF(5, 0);

static int
sig_vfail(struct ferry_sig_result *res, enum ferry_sig_reason reason, enum ferry_status code,
          struct ferry_error **err, const char *fmt, va_list ap)
{
    char msg[1024];

    vsnprintf(msg, sizeof msg, fmt, ap);
    if (res != NULL)
        res->reason = reason;
    return ferry_error_new(err, code, "%s", msg);
}

int
ferry_sig_fail(struct ferry_sig_result *res, enum ferry_sig_reason reason, struct ferry_error **err,
               const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = sig_vfail(res, reason, ferry_sig_reason_code(reason), err, fmt, ap);
    va_end(ap);
    return r;
}

int
ferry_sig_failc(struct ferry_sig_result *res, enum ferry_sig_reason reason, enum ferry_status code,
                struct ferry_error **err, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = sig_vfail(res, reason, code, err, fmt, ap);
    va_end(ap);
    return r;
}

int
ferry_sig_lower(struct ferry_sig_result *res, int r)
{
    if (res == NULL || res->reason != FERRY_SIG_VERIFIED)
        return r;
    switch ((enum ferry_status)(-r)) {
    case FERRY_E_INVALID:
    case FERRY_E_TOO_LARGE:
        res->reason = FERRY_SIG_MALFORMED;
        break;
    case FERRY_E_UNSUPPORTED:
        res->reason = FERRY_SIG_UNSUPPORTED;
        break;
    case FERRY_E_DIGEST_MISMATCH:
        res->reason = FERRY_SIG_DIGEST_MISMATCH;
        break;
    case FERRY_E_SIGNATURE:
        res->reason = FERRY_SIG_BAD_SIGNATURE;
        break;
    default:
        res->reason = FERRY_SIG_ERROR;
        break;
    }
    return r;
}

/* ---- encodings ---------------------------------------------------------------- */

int
ferry_sig_b64_decode(const char *s, size_t n, bool lax, size_t max, const char *what,
                     unsigned char **out, size_t *outlen, struct ferry_error **err)
{
    static const int variants[] = {
        sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
        sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING};
    size_t nvariants = lax ? sizeof variants / sizeof variants[0] : 1;
    size_t cap = n / 4 * 3 + 3, got = 0;
    unsigned char *bin;

    if (s == NULL)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: no base64 text", what);
    if (n / 4 * 3 > max + 3)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: more than %zu bytes", what, max);
    bin = ferry_malloc(cap + 1);
    if (bin == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
    for (size_t v = 0; v < nvariants; v++) {
        if (sodium_base642bin(bin, cap, s, n, "\r\n", &got, NULL, variants[v]) == 0) {
            if (got > max) {
                ferry_free(bin);
                return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: more than %zu bytes", what,
                                       max);
            }
            bin[got] = '\0';
            *out = bin;
            *outlen = got;
            return 0;
        }
    }
    ferry_free(bin);
    return ferry_error_new(err, FERRY_E_INVALID, "%s: not valid base64", what);
}

char *
ferry_sig_b64_encode(const unsigned char *bin, size_t len)
{
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *s = ferry_malloc(n);

    if (s == NULL)
        return NULL;
    sodium_bin2base64(s, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

void
ferry_sig_hex(const unsigned char *bin, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bin[i] >> 4];
        out[2 * i + 1] = digits[bin[i] & 15];
    }
    out[2 * len] = '\0';
}

void
ferry_sig_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 0;

    if (EVP_Digest(len > 0 ? data : "", len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
        memset(out, 0, 32); /* never matches a real digest by chance */
}

/* ---- JSON ----------------------------------------------------------------------- */

bool
ferry_sig_json_too_deep(const char *text, size_t len, int max)
{
    bool in_string = false;
    int depth = 0;

    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return false;
}

int
ferry_sig_json_load(const void *text, size_t len, size_t max, const char *what, json_t **out,
                    struct ferry_sig_result *res, struct ferry_error **err)
{
    json_error_t jerr;
    json_t *root;
    char q[96];

    if (len > max)
        return ferry_sig_failc(res, FERRY_SIG_MALFORMED, FERRY_E_TOO_LARGE, err,
                               "%s: %zu bytes, more than %zu", what, len, max);
    if (text == NULL)
        text = "";
    if (ferry_sig_json_too_deep(text, len, FERRY_MAX_JSON_DEPTH))
        return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: json nested deeper than %d", what,
                              FERRY_MAX_JSON_DEPTH);
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err,
                              "%s: invalid json at line %d column %d: %s", what, jerr.line,
                              jerr.column, ferry_quote(q, sizeof q, jerr.text, strlen(jerr.text)));
    if (!json_is_object(root)) {
        json_decref(root);
        return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: not a json object", what);
    }
    *out = root;
    return 0;
}

static const char *
json_type_name(json_type type)
{
    switch (type) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

int
ferry_sig_json_get(json_t *obj, const char *key, json_type type, bool required, const char *what,
                   json_t **out, struct ferry_sig_result *res, struct ferry_error **err)
{
    json_t *v = json_object_get(obj, key);
    bool ok;

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required)
            return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: missing \"%s\"", what, key);
        return 0;
    }
    if (type == JSON_TRUE || type == JSON_FALSE)
        ok = json_is_boolean(v);
    else
        ok = json_typeof(v) == type;
    if (!ok)
        return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: \"%s\" is not %s", what, key,
                              json_type_name(type));
    *out = v;
    return 0;
}

int
ferry_sig_json_keys(json_t *obj, const char *const *allowed, const char *what,
                    struct ferry_sig_result *res, struct ferry_error **err)
{
    int r = ferry_json_keys(FERRY_E_INVALID, obj, allowed, what, err);

    if (r < 0 && res != NULL)
        res->reason = FERRY_SIG_MALFORMED;
    return r;
}

/* A protobuf JSON int64: a decimal string (or a plain integer), >= 0. */
int
ferry_sig_json_int64(json_t *obj, const char *key, bool required, const char *what, int64_t *out,
                     struct ferry_sig_result *res, struct ferry_error **err)
{
    json_t *v = json_object_get(obj, key);
    const char *s;
    size_t n;
    int64_t x = 0;

    *out = 0;
    if (v == NULL || json_is_null(v)) {
        if (required)
            return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: missing \"%s\"", what, key);
        return 0;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err,
                              "%s: \"%s\" is not a non-negative integer", what, key);
    s = json_string_value(v);
    n = json_string_length(v);
    if (n == 0 || n > 19)
        return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err,
                              "%s: \"%s\" is not a non-negative integer", what, key);
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || x > (INT64_MAX - (s[i] - '0')) / 10)
            return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err,
                                  "%s: \"%s\" is not a non-negative integer", what, key);
        x = x * 10 + (s[i] - '0');
    }
    *out = x;
    return 0;
}

/* A base64 string member decoded (lax: protobuf JSON bytes). */
int
ferry_sig_json_bytes(json_t *obj, const char *key, bool required, size_t max, const char *what,
                     unsigned char **out, size_t *outlen, struct ferry_sig_result *res,
                     struct ferry_error **err)
{
    char kwhat[WHAT_SIZE + 40];
    json_t *v;
    int r;

    *out = NULL;
    *outlen = 0;
    if ((r = ferry_sig_json_get(obj, key, JSON_STRING, required, what, &v, res, err)) < 0 ||
        v == NULL)
        return r;
    snprintf(kwhat, sizeof kwhat, "%s: %s", what, key);
    r = ferry_sig_b64_decode(json_string_value(v), json_string_length(v), true, max, kwhat, out,
                             outlen, err);
    return r < 0 ? ferry_sig_lower(res, r) : 0;
}

void
ferry_sig_result_failed(struct ferry_sig_result *res)
{
    enum ferry_sig_reason reason = res->reason;
    enum ferry_tlog_status tlog = res->tlog;

    ferry_sig_result_clear(res);
    res->reason = reason;
    res->tlog = tlog;
}
