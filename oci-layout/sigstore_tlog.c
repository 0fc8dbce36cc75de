/* ferry: Rekor transparency log entries: signed entry timestamps (SETs) and
 * the tie between an entry and the signature it logs (cosign-formats.md §3),
 * for legacy cosign bundle annotations and Sigstore bundles' tlogEntries. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ferry/util.h"
#include "json_int.h"
#include "sigstore_int.h"

#define WHAT_SIZE 160

/* Standard base64 characters only: text that goes into JSON as it is. */
static bool
is_b64_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '='))
            return false;
    }
    return n > 0;
}

/* A Rekor log id: 64 lowercase hex digits. */
static bool
is_hex64(const char *s, size_t n)
{
    if (n != FERRY_SIGSTORE_KEY_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* ---- Rekor entries -------------------------------------------------------------------- */

void
ferry_tlog_entry_clear(struct ferry_tlog_entry *e)
{
    if (e == NULL)
        return;
    ferry_free(e->body_b64);
    ferry_free(e->body);
    ferry_free(e->set);
    ferry_free(e->kind);
    ferry_free(e->version);
    memset(e, 0, sizeof *e);
}

int
ferry_tlog_parse_legacy(const char *json, size_t len, struct ferry_tlog_entry *e,
                        struct ferry_sig_result *res, struct ferry_error **err)
{
    static const char *const top_keys[] = {"SignedEntryTimestamp", "Payload", NULL};
    static const char *const payload_keys[] = {"body", "integratedTime", "logIndex", "logID", NULL};
    static const char what[] = "rekor bundle";
    json_t *root = NULL, *payload, *v;
    int r;

    memset(e, 0, sizeof *e);
    if ((r = ferry_sig_json_load(json, len, FERRY_SIGSTORE_MAX_DOC, what, &root, res, err)) < 0)
        return r;
    if ((r = ferry_sig_json_keys(root, top_keys, what, res, err)) < 0 ||
        (r = ferry_sig_json_bytes(root, "SignedEntryTimestamp", true, FERRY_SIGSTORE_MAX_SIG, what,
                                  &e->set, &e->set_len, res, err)) < 0 ||
        (r = ferry_sig_json_get(root, "Payload", JSON_OBJECT, true, what, &payload, res, err)) <
            0 ||
        (r = ferry_sig_json_keys(payload, payload_keys, what, res, err)) < 0 ||
        (r = ferry_sig_json_get(payload, "body", JSON_STRING, true, what, &v, res, err)) < 0)
        goto out;
    /* the SET signs the body text as given: keep it, if it needs no escaping */
    if (!is_b64_text(json_string_value(v), json_string_length(v))) {
        r = ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: body is not base64", what);
        goto out;
    }
    if ((e->body_b64 = ferry_strdup(json_string_value(v))) == NULL) {
        r = ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_NOMEM, err, "%s: out of memory", what);
        goto out;
    }
    r = ferry_sig_b64_decode(e->body_b64, strlen(e->body_b64), false, FERRY_SIGSTORE_MAX_DOC,
                             "rekor bundle: body", &e->body, &e->body_len, err);
    if (r < 0) {
        ferry_sig_lower(res, r);
        goto out;
    }
    if ((r = ferry_sig_json_get(payload, "integratedTime", JSON_INTEGER, true, what, &v, res,
                                err)) < 0 ||
        (r = ferry_sig_json_int64(payload, "integratedTime", true, what, &e->integrated_time, res,
                                  err)) < 0 ||
        (r = ferry_sig_json_get(payload, "logIndex", JSON_INTEGER, true, what, &v, res, err)) < 0 ||
        (r = ferry_sig_json_int64(payload, "logIndex", true, what, &e->log_index, res, err)) < 0 ||
        (r = ferry_sig_json_get(payload, "logID", JSON_STRING, true, what, &v, res, err)) < 0)
        goto out;
    if (!is_hex64(json_string_value(v), json_string_length(v))) {
        r = ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: logID is not 64 hex digits", what);
        goto out;
    }
    memcpy(e->log_id, json_string_value(v), FERRY_SIGSTORE_KEY_ID_LEN + 1);
    r = 0;
out:
    json_decref(root);
    if (r < 0)
        ferry_tlog_entry_clear(e);
    return r;
}

/* One entry of a bundle's verificationMaterial.tlogEntries. */
int
ferry_tlog_parse_bundle(json_t *obj, const char *what, struct ferry_tlog_entry *e,
                        struct ferry_sig_result *res, struct ferry_error **err)
{
    static const char *const keys[] = {
        "logIndex",         "logId",          "kindVersion",       "integratedTime",
        "inclusionPromise", "inclusionProof", "canonicalizedBody", NULL};
    static const char *const logid_keys[] = {"keyId", NULL};
    static const char *const kv_keys[] = {"kind", "version", NULL};
    static const char *const promise_keys[] = {"signedEntryTimestamp", NULL};
    json_t *v, *kv, *promise;
    unsigned char *logid = NULL;
    size_t logid_len = 0;
    int r;

    memset(e, 0, sizeof *e);
    if (!json_is_object(obj))
        return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: not an object", what);
    if ((r = ferry_sig_json_keys(obj, keys, what, res, err)) < 0 ||
        (r = ferry_sig_json_int64(obj, "logIndex", true, what, &e->log_index, res, err)) < 0 ||
        (r = ferry_sig_json_int64(obj, "integratedTime", false, what, &e->integrated_time, res,
                                  err)) < 0 ||
        (r = ferry_sig_json_get(obj, "logId", JSON_OBJECT, true, what, &v, res, err)) < 0 ||
        (r = ferry_sig_json_keys(v, logid_keys, what, res, err)) < 0 ||
        (r = ferry_sig_json_bytes(v, "keyId", true, 64, what, &logid, &logid_len, res, err)) < 0)
        goto out;
    if (logid_len != 32) {
        r = ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: logId is not a sha256 key id", what);
        goto out;
    }
    ferry_sig_hex(logid, logid_len, e->log_id);
    if ((r = ferry_sig_json_get(obj, "kindVersion", JSON_OBJECT, true, what, &kv, res, err)) < 0 ||
        (r = ferry_sig_json_keys(kv, kv_keys, what, res, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_INVALID, kv, "kind", true, what, &e->kind, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_INVALID, kv, "version", true, what, &e->version, err)) < 0) {
        ferry_sig_lower(res, r);
        goto out;
    }
    if ((r = ferry_sig_json_get(obj, "inclusionPromise", JSON_OBJECT, false, what, &promise, res,
                                err)) < 0 ||
        (r = ferry_sig_json_get(obj, "inclusionProof", JSON_OBJECT, false, what, &v, res, err)) < 0)
        goto out;
    if (promise != NULL &&
        ((r = ferry_sig_json_keys(promise, promise_keys, what, res, err)) < 0 ||
         (r = ferry_sig_json_bytes(promise, "signedEntryTimestamp", true, FERRY_SIGSTORE_MAX_SIG,
                                   what, &e->set, &e->set_len, res, err)) < 0))
        goto out;
    if ((r = ferry_sig_json_bytes(obj, "canonicalizedBody", true, FERRY_SIGSTORE_MAX_DOC, what,
                                  &e->body, &e->body_len, res, err)) < 0)
        goto out;
    /* the SET signs standard base64, whatever form the bundle used */
    if ((e->body_b64 = ferry_sig_b64_encode(e->body, e->body_len)) == NULL) {
        r = ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_NOMEM, err, "%s: out of memory", what);
        goto out;
    }
    r = 0;
out:
    ferry_free(logid);
    if (r < 0)
        ferry_tlog_entry_clear(e);
    return r;
}

/* A base64 member holding a PEM key or certificate, as its key. */
static int
entry_key(json_t *obj, const char *key, const char *what, struct ferry_sig_key **out,
          struct ferry_sig_result *res, struct ferry_error **err)
{
    unsigned char *pem = NULL;
    size_t pem_len = 0;
    int r;

    if ((r = ferry_sig_json_bytes(obj, key, true, FERRY_SIGSTORE_MAX_CERT, what, &pem, &pem_len,
                                  res, err)) < 0)
        return r;
    r = ferry_sig_key_from_pem_any((const char *)pem, pem_len, what, out, err);
    ferry_free(pem);
    if (r < 0)
        return ferry_sig_failc(res, FERRY_SIG_BAD_TLOG, (enum ferry_status)(-r), err,
                               "%s: key in the log entry cannot be read", what);
    return 0;
}

/* {"algorithm": "sha256", "value": "<hex>"} equal to hash. */
static int
entry_hash(json_t *obj, const char *key, const unsigned char hash[32], const char *what,
           struct ferry_sig_result *res, struct ferry_error **err)
{
    char want[65];
    json_t *h, *alg, *value;
    int r;

    if ((r = ferry_sig_json_get(obj, key, JSON_OBJECT, true, what, &h, res, err)) < 0 ||
        (r = ferry_sig_json_get(h, "algorithm", JSON_STRING, true, what, &alg, res, err)) < 0 ||
        (r = ferry_sig_json_get(h, "value", JSON_STRING, true, what, &value, res, err)) < 0)
        return r;
    ferry_sig_hex(hash, 32, want);
    if (strcmp(json_string_value(alg), "sha256") != 0 ||
        strcmp(json_string_value(value), want) != 0)
        return ferry_sig_fail(res, FERRY_SIG_BAD_TLOG, err,
                              "%s: entry's %s is not sha256:%s, the hash of what was signed", what,
                              key, want);
    return 0;
}

/* Whether a signature listed in the entry is b's, with b's key. twice:
 * intoto v0.0.2 encodes the DSSE sig text in base64 once more. */
static int
entry_sig_matches(json_t *s, const char *sig_key, const char *key_key, bool twice,
                  const struct ferry_tlog_binding *b, const char *what, bool *match,
                  struct ferry_sig_result *res, struct ferry_error **err)
{
    unsigned char *sig = NULL, *inner = NULL;
    size_t siglen = 0, inner_len = 0;
    struct ferry_sig_key *k = NULL;
    int r;

    *match = false;
    if (!json_is_object(s))
        return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: signature is not an object",
                              what);
    if ((r = ferry_sig_json_bytes(s, sig_key, true, FERRY_SIGSTORE_MAX_SIG * 2, what, &sig, &siglen,
                                  res, err)) < 0)
        goto out;
    if (twice) {
        r = ferry_sig_b64_decode((const char *)sig, siglen, true, FERRY_SIGSTORE_MAX_SIG, what,
                                 &inner, &inner_len, err);
        if (r < 0) {
            ferry_sig_lower(res, r);
            goto out;
        }
        ferry_free(sig);
        sig = inner;
        siglen = inner_len;
        inner = NULL;
    }
    if (siglen != b->siglen || memcmp(sig, b->sig, siglen) != 0) {
        r = 0;
        goto out;
    }
    if ((r = entry_key(s, key_key, what, &k, res, err)) < 0)
        goto out;
    *match = ferry_sig_key_equal(k, b->key);
    r = 0;
out:
    ferry_sig_key_free(k);
    ferry_free(inner);
    ferry_free(sig);
    return r;
}

/* The entry body names b's signature, key and signed content. */
static int
entry_check_body(const struct ferry_tlog_entry *e, const struct ferry_tlog_binding *b,
                 const char *what, struct ferry_sig_result *res, struct ferry_error **err)
{
    json_t *root = NULL, *spec, *v, *sigs = NULL, *content = NULL, *env;
    const char *kind, *version, *sig_key = "signature", *key_key = "verifier";
    bool twice = false, match = false;
    char q[64], q2[64], q3[64], q4[64];
    int r;

    r = ferry_sig_json_load(e->body, e->body_len, FERRY_SIGSTORE_MAX_DOC, what, &root, res, err);
    if (r < 0)
        return r;
    if ((r = ferry_sig_json_get(root, "kind", JSON_STRING, true, what, &v, res, err)) < 0)
        goto out;
    kind = json_string_value(v);
    if ((r = ferry_sig_json_get(root, "apiVersion", JSON_STRING, true, what, &v, res, err)) < 0 ||
        (r = ferry_sig_json_get(root, "spec", JSON_OBJECT, true, what, &spec, res, err)) < 0)
        goto out;
    version = json_string_value(v);
    if (e->kind != NULL && (strcmp(e->kind, kind) != 0 || strcmp(e->version, version) != 0)) {
        r = ferry_sig_fail(res, FERRY_SIG_BAD_TLOG, err,
                           "%s: entry is %s %s, but the bundle says %s %s", what,
                           ferry_quote(q, sizeof q, kind, strlen(kind)),
                           ferry_quote(q2, sizeof q2, version, strlen(version)),
                           ferry_quote(q3, sizeof q3, e->kind, strlen(e->kind)),
                           ferry_quote(q4, sizeof q4, e->version, strlen(e->version)));
        goto out;
    }
    if (strcmp(kind, "hashedrekord") == 0 && strcmp(version, "0.0.1") == 0) {
        json_t *data, *sig, *pk;
        unsigned char *content_sig = NULL;
        size_t content_len = 0;
        struct ferry_sig_key *k = NULL;
        if (b->form != FERRY_TLOG_FORM_MESSAGE) {
            r = ferry_sig_fail(res, FERRY_SIG_BAD_TLOG, err,
                               "%s: a hashedrekord entry cannot log a dsse envelope", what);
            goto out;
        }
        if ((r = ferry_sig_json_get(spec, "data", JSON_OBJECT, true, what, &data, res, err)) < 0 ||
            (r = entry_hash(data, "hash", b->hash, what, res, err)) < 0 ||
            (r = ferry_sig_json_get(spec, "signature", JSON_OBJECT, true, what, &sig, res, err)) <
                0 ||
            (r = ferry_sig_json_bytes(sig, "content", true, FERRY_SIGSTORE_MAX_SIG, what,
                                      &content_sig, &content_len, res, err)) < 0)
            goto out;
        match = content_len == b->siglen && memcmp(content_sig, b->sig, content_len) == 0;
        ferry_free(content_sig);
        if (!match) {
            r = ferry_sig_fail(res, FERRY_SIG_BAD_TLOG, err,
                               "%s: log entry holds another signature", what);
            goto out;
        }
        if ((r = ferry_sig_json_get(sig, "publicKey", JSON_OBJECT, true, what, &pk, res, err)) <
                0 ||
            (r = entry_key(pk, "content", what, &k, res, err)) < 0)
            goto out;
        match = ferry_sig_key_equal(k, b->key);
        ferry_sig_key_free(k);
        if (!match) {
            r = ferry_sig_fail(res, FERRY_SIG_BAD_TLOG, err, "%s: log entry names another key",
                               what);
            goto out;
        }
        r = 0;
        goto out;
    }
    if (strcmp(kind, "dsse") == 0 && strcmp(version, "0.0.1") == 0) {
        if ((r = entry_hash(spec, "payloadHash", b->hash, what, res, err)) < 0 ||
            (r = ferry_sig_json_get(spec, "signatures", JSON_ARRAY, true, what, &sigs, res, err)) <
                0)
            goto out;
    } else if (strcmp(kind, "intoto") == 0 && strcmp(version, "0.0.2") == 0) {
        if ((r = ferry_sig_json_get(spec, "content", JSON_OBJECT, true, what, &content, res, err)) <
                0 ||
            (r = entry_hash(content, "payloadHash", b->hash, what, res, err)) < 0 ||
            (r = ferry_sig_json_get(content, "envelope", JSON_OBJECT, true, what, &env, res, err)) <
                0 ||
            (r = ferry_sig_json_get(env, "payloadType", JSON_STRING, false, what, &v, res, err)) <
                0 ||
            (r = ferry_sig_json_get(env, "signatures", JSON_ARRAY, true, what, &sigs, res, err)) <
                0)
            goto out;
        if (v != NULL && b->payload_type != NULL &&
            strcmp(json_string_value(v), b->payload_type) != 0) {
            r = ferry_sig_fail(res, FERRY_SIG_BAD_TLOG, err,
                               "%s: log entry names another payload type", what);
            goto out;
        }
        sig_key = "sig";
        key_key = "publicKey";
        twice = true;
    } else {
        r = ferry_sig_fail(res, FERRY_SIG_UNSUPPORTED, err,
                           "%s: log entry kind %s version %s is not supported", what,
                           ferry_quote(q, sizeof q, kind, strlen(kind)),
                           ferry_quote(q2, sizeof q2, version, strlen(version)));
        goto out;
    }
    if (b->form != FERRY_TLOG_FORM_DSSE) {
        r = ferry_sig_fail(res, FERRY_SIG_BAD_TLOG, err,
                           "%s: a %s entry cannot log a message signature", what, kind);
        goto out;
    }
    if (json_array_size(sigs) > FERRY_SIGSTORE_MAX_SIGNATURES) {
        r = ferry_sig_failc(res, FERRY_SIG_MALFORMED, FERRY_E_TOO_LARGE, err,
                            "%s: log entry with more than %d signatures", what,
                            FERRY_SIGSTORE_MAX_SIGNATURES);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(sigs) && !match; i++)
        if ((r = entry_sig_matches(json_array_get(sigs, i), sig_key, key_key, twice, b, what,
                                   &match, res, err)) < 0)
            goto out;
    if (!match) {
        r = ferry_sig_fail(res, FERRY_SIG_BAD_TLOG, err,
                           "%s: log entry does not hold this signature with this key", what);
        goto out;
    }
    r = 0;
out:
    json_decref(root);
    return r;
}

int
ferry_tlog_check(const struct ferry_tlog_entry *entries, size_t n,
                 const struct ferry_sig_trust *trust, const struct ferry_tlog_binding *b,
                 const char *what, struct ferry_sig_result *res, struct ferry_error **err)
{
    int r;

    if (ferry_sig_tlog_key_count(trust) == 0) {
        res->tlog = FERRY_TLOG_NOT_CHECKED;
        return 0;
    }
    res->tlog = FERRY_TLOG_ABSENT;
    for (size_t i = 0; i < n; i++) {
        const struct ferry_tlog_entry *e = &entries[i];
        const struct ferry_sig_key *logkey = NULL;
        char ewhat[WHAT_SIZE + 64], *msg;
        bool stale = false;
        if (e->set == NULL)
            continue; /* an inclusion proof alone is not checked (yet) */
        snprintf(ewhat, sizeof ewhat, "%s: tlog entry %" PRId64, what, e->log_index);
        for (size_t k = 0; k < trust->ntlog_keys && logkey == NULL; k++)
            if (strcmp(trust->tlog_keys[k]->id, e->log_id) == 0)
                logkey = trust->tlog_keys[k];
        /* a root's log by its logId, within its validFor at the entry's
         * time (sigstore-go pkg/tlog/entry.go VerifySET, ValidityPeriod) */
        for (size_t k = 0; trust->root != NULL && k < trust->root->ntlogs && logkey == NULL; k++) {
            const struct ferry_sig_root_tlog *t = &trust->root->tlogs[k];
            if (strcmp(t->log_id, e->log_id) != 0)
                continue;
            if (ferry_sig_range_contains(&t->valid, e->integrated_time))
                logkey = t->key;
            else
                stale = true;
        }
        if (logkey == NULL && stale) {
            char when[40];
            ferry_time_format(e->integrated_time, when, sizeof when);
            return ferry_sig_fail(res, FERRY_SIG_BAD_TLOG, err,
                                  "%s: log %s of the trusted root is not valid at %s", ewhat,
                                  e->log_id, when);
        }
        if (logkey == NULL)
            return ferry_sig_fail(res, FERRY_SIG_BAD_TLOG, err,
                                  "%s: from log %s, whose key was not given", ewhat, e->log_id);
        /* RFC 8785 canonical JSON of the four fields: keys sorted, no space */
        msg = ferry_asprintf("{\"body\":\"%s\",\"integratedTime\":%" PRId64
                             ",\"logID\":\"%s\",\"logIndex\":%" PRId64 "}",
                             e->body_b64, e->integrated_time, e->log_id, e->log_index);
        if (msg == NULL)
            return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_NOMEM, err, "%s: out of memory",
                                   ewhat);
        {
            const struct ferry_sig_msg m = {.data = (const unsigned char *)msg, .len = strlen(msg)};
            r = ferry_sig_check(logkey, &m, e->set, e->set_len, err);
        }
        ferry_free(msg);
        if (r < 0) {
            ferry_error_wrap(err, "%s", ewhat);
            return ferry_sig_lower(res, r);
        }
        if (r == 0)
            return ferry_sig_fail(res, FERRY_SIG_BAD_TLOG, err,
                                  "%s: signed entry timestamp does not verify with log key %s",
                                  ewhat, logkey->id);
        if ((r = entry_check_body(e, b, ewhat, res, err)) < 0) {
            if (res->reason == FERRY_SIG_MALFORMED) {
                res->reason = FERRY_SIG_BAD_TLOG;
                ferry_error_recode(err, FERRY_E_SIGNATURE);
                r = -FERRY_E_SIGNATURE;
            }
            return r;
        }
        if (res->tlog != FERRY_TLOG_VERIFIED) {
            res->tlog = FERRY_TLOG_VERIFIED;
            res->tlog_integrated_time = e->integrated_time;
            res->tlog_log_index = e->log_index;
        }
    }
    if (trust->require_tlog && res->tlog != FERRY_TLOG_VERIFIED)
        return ferry_sig_fail(res, FERRY_SIG_TLOG_MISSING, err,
                              "%s: a tlog entry is required, and none verified", what);
    return 0;
}
