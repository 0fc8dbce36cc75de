/* ferry: Sigstore trusted roots (protobuf-specs protos/sigstore_trustroot.proto,
 * JSON form, as sigstore-go pkg/root/trusted_root.go reads it) and the
 * identities certificate-based signatures are checked against (cosign
 * pkg/cosign/verify.go CheckCertificatePolicy). See include/ferry/sigstore.h. */
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <openssl/x509v3.h>
#include <pcre2.h>

#include "ferry/limits.h"
#include "ferry/util.h"
#include "json_int.h"
#include "sigstore_int.h"

#define WHAT_SIZE 160

/* sigstore-go pkg/root/trusted_root.go TrustedRootMediaType01 and the later
 * forms protobuf-specs names; "version=0.2" is accepted as well. */
static const char *const root_media_types[] = {
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    "application/vnd.dev.sigstore.trustedroot+json;version=0.2",
    "application/vnd.dev.sigstore.trustedroot.v0.1+json",
    "application/vnd.dev.sigstore.trustedroot.v0.2+json",
    NULL,
};

/* ---- times --------------------------------------------------------------------------- */

/* RFC 3339 date-time, as protobuf JSON writes google.protobuf.Timestamp:
 * the core's parser (util.c), seconds and nanoseconds. 0, or -1 when s is
 * not one. */
int
ferry_sig_time_parse(const char *s, struct ferry_sig_time *out)
{
    int64_t sec;
    int32_t nsec;

    if (!ferry_time_parse_ns(s, &sec, &nsec))
        return -1;
    out->sec = sec;
    out->nsec = nsec;
    return 0;
}

bool
ferry_sig_range_contains(const struct ferry_sig_range *r, int64_t t)
{
    /* t < start: before the start even by a fraction of a second */
    if (r->has_start && (t < r->start.sec || (t == r->start.sec && r->start.nsec > 0)))
        return false;
    if (r->has_end && t > r->end.sec)
        return false;
    return true;
}

/* ---- regexps ------------------------------------------------------------------------- */

static void *
re_malloc(PCRE2_SIZE n, void *ud)
{
    (void)ud;
    return ferry_malloc(n);
}

static void
re_free(void *p, void *ud)
{
    (void)ud;
    ferry_free(p);
}

/* Compile pattern and, when s is not NULL, match it against s (n bytes)
 * anywhere: 1 match, 0 not (or only compiled), negative with *err. Go's
 * regexp (RE2) has `$` match only at the end of the text and treats invalid
 * UTF-8 as U+FFFD; DOLLAR_ENDONLY and MATCH_INVALID_UTF come closest. */
static int
regexp_run(const char *pattern, const char *s, size_t n, struct ferry_error **err)
{
    pcre2_general_context *gctx = NULL;
    pcre2_compile_context *cctx = NULL;
    pcre2_match_context *mctx = NULL;
    pcre2_match_data *md = NULL;
    pcre2_code *re = NULL;
    PCRE2_SIZE off = 0;
    size_t plen = strlen(pattern);
    char q[96];
    int errcode = 0, r;

    ferry_quote(q, sizeof q, pattern, plen);
    if (plen > FERRY_SIGSTORE_MAX_PATTERN)
        return ferry_error_new(err, FERRY_E_USAGE,
                               "identity regexp \"%s\": %zu bytes, more than %u", q, plen,
                               FERRY_SIGSTORE_MAX_PATTERN);
    gctx = pcre2_general_context_create(re_malloc, re_free, NULL);
    if (gctx == NULL || (cctx = pcre2_compile_context_create(gctx)) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "identity regexp \"%s\": out of memory", q);
        goto out;
    }
    re = pcre2_compile((PCRE2_SPTR)pattern, plen,
                       PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
                           PCRE2_NEVER_BACKSLASH_C,
                       &errcode, &off, cctx);
    if (re == NULL) {
        char emsg[160];
        if (errcode == PCRE2_ERROR_NOMEMORY || errcode == PCRE2_ERROR_HEAP_FAILED) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "identity regexp \"%s\": out of memory", q);
            goto out;
        }
        if (pcre2_get_error_message(errcode, (PCRE2_UCHAR *)emsg, sizeof emsg) < 0)
            snprintf(emsg, sizeof emsg, "pcre2 error %d", errcode);
        r = ferry_error_new(err, FERRY_E_USAGE, "identity regexp \"%s\": %s at offset %zu", q, emsg,
                            (size_t)off);
        goto out;
    }
    if (s == NULL) {
        r = 0;
        goto out;
    }
    mctx = pcre2_match_context_create(gctx);
    if (mctx != NULL)
        md = pcre2_match_data_create(1, gctx);
    if (md == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "identity regexp \"%s\": out of memory", q);
        goto out;
    }
    pcre2_set_match_limit(mctx, FERRY_SIGSTORE_MATCH_LIMIT);
    pcre2_set_depth_limit(mctx, FERRY_SIGSTORE_MATCH_DEPTH);
    pcre2_set_heap_limit(mctx, FERRY_SIGSTORE_MATCH_HEAP_KIB);
    r = pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, md, mctx);
    if (r >= 0) {
        r = 1;
    } else if (r == PCRE2_ERROR_NOMATCH) {
        r = 0;
    } else if (r == PCRE2_ERROR_NOMEMORY) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "identity regexp \"%s\": out of memory", q);
    } else {
        r = ferry_error_new(err, FERRY_E_TOO_LARGE,
                            "identity regexp \"%s\" gives up: too much backtracking (limit %u)", q,
                            (unsigned)FERRY_SIGSTORE_MATCH_LIMIT);
    }
out:
    pcre2_match_data_free(md);
    pcre2_match_context_free(mctx);
    pcre2_code_free(re);
    pcre2_compile_context_free(cctx);
    pcre2_general_context_free(gctx);
    return r;
}

int
ferry_sig_regexp_match(const char *pattern, const char *s, size_t n, struct ferry_error **err)
{
    return regexp_run(pattern, s != NULL ? s : "", n, err);
}

static bool
given(const char *s)
{
    return s != NULL && s[0] != '\0';
}

int
ferry_sig_identity_check(const struct ferry_sig_identity *id, struct ferry_error **err)
{
    int r;

    if (id == NULL)
        return ferry_error_new(err, FERRY_E_USAGE, "certificate identity: none given");
    if (given(id->subject) && given(id->subject_regexp))
        return ferry_error_new(err, FERRY_E_USAGE,
                               "certificate identity: give a subject or a subject regexp, not "
                               "both");
    if (given(id->issuer) && given(id->issuer_regexp))
        return ferry_error_new(
            err, FERRY_E_USAGE,
            "certificate identity: give an issuer or an issuer regexp, not both");
    if (!given(id->subject) && !given(id->subject_regexp))
        return ferry_error_new(err, FERRY_E_USAGE,
                               "certificate identity: a subject or a subject regexp is required");
    if (!given(id->issuer) && !given(id->issuer_regexp))
        return ferry_error_new(err, FERRY_E_USAGE,
                               "certificate identity: an issuer or an issuer regexp is required");
    if (given(id->subject_regexp) && (r = regexp_run(id->subject_regexp, NULL, 0, err)) < 0)
        return r;
    if (given(id->issuer_regexp) && (r = regexp_run(id->issuer_regexp, NULL, 0, err)) < 0)
        return r;
    return 0;
}

/* ---- roots ----------------------------------------------------------------------------- */

static void
ca_clear(struct ferry_sig_root_ca *ca)
{
    sk_X509_pop_free(ca->anchors, X509_free);
    sk_X509_pop_free(ca->intermediates, X509_free);
    memset(ca, 0, sizeof *ca);
}

void
ferry_sig_root_free(struct ferry_sig_root *root)
{
    if (root == NULL)
        return;
    for (size_t i = 0; i < root->ncas; i++)
        ca_clear(&root->cas[i]);
    for (size_t i = 0; i < root->ntlogs; i++)
        ferry_sig_key_free(root->tlogs[i].key);
    ferry_free(root->cas);
    ferry_free(root->tlogs);
    memset(root, 0, sizeof *root);
    ferry_free(root);
}

int
ferry_sig_root_new(struct ferry_sig_root **out, struct ferry_error **err)
{
    struct ferry_sig_root *root;

    if (out == NULL)
        return ferry_error_new(err, FERRY_E_USAGE, "trusted root: nowhere to put it");
    root = ferry_calloc(1, sizeof *root);
    if (root == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "trusted root: out of memory");
    root->magic = FERRY_SIG_ROOT_MAGIC;
    *out = root;
    return 0;
}

/* Room for one more CA (cap checked). */
static int
root_grow_cas(struct ferry_sig_root *root, const char *what, struct ferry_error **err)
{
    struct ferry_sig_root_ca *cas;

    if (root->ncas >= FERRY_SIGSTORE_MAX_CAS)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: more than %d certificate authorities",
                               what, FERRY_SIGSTORE_MAX_CAS);
    cas = ferry_realloc(root->cas, (root->ncas + 1) * sizeof *cas);
    if (cas == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
    root->cas = cas;
    memset(&root->cas[root->ncas], 0, sizeof *cas);
    return 0;
}

static int
root_grow_tlogs(struct ferry_sig_root *root, const char *what, struct ferry_error **err)
{
    struct ferry_sig_root_tlog *tlogs;

    if (root->ntlogs >= FERRY_SIGSTORE_MAX_ROOT_TLOGS)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: more than %d tlogs", what,
                               FERRY_SIGSTORE_MAX_ROOT_TLOGS);
    tlogs = ferry_realloc(root->tlogs, (root->ntlogs + 1) * sizeof *tlogs);
    if (tlogs == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
    root->tlogs = tlogs;
    memset(&root->tlogs[root->ntlogs], 0, sizeof *tlogs);
    return 0;
}

/* Fill OpenSSL's cached extension data now, so that verifications sharing
 * the certificate only read it. */
static void
x509_settle(X509 *x)
{
    (void)X509_check_purpose(x, -1, 0);
}

int
ferry_sig_root_add_ca_pem(struct ferry_sig_root *root, const void *pem, size_t len,
                          struct ferry_error **err)
{
    static const char what[] = "certificate authority";
    STACK_OF(X509) *certs = NULL;
    int r;

    if (root == NULL || root->magic != FERRY_SIG_ROOT_MAGIC)
        return ferry_error_new(err, FERRY_E_USAGE, "%s: no trusted root to add it to", what);
    if (pem == NULL && len > 0)
        return ferry_error_new(err, FERRY_E_USAGE, "%s: no data", what);
    if (len > (size_t)FERRY_SIGSTORE_MAX_CERT * FERRY_SIGSTORE_MAX_CHAIN)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: %zu bytes of PEM, more than %u", what,
                               len, FERRY_SIGSTORE_MAX_CERT * FERRY_SIGSTORE_MAX_CHAIN);
    if ((r = root_grow_cas(root, what, err)) < 0)
        return r;
    r = ferry_sig_certs_from_pem(pem != NULL ? pem : "", len, FERRY_SIGSTORE_MAX_CHAIN, what,
                                 &certs, err);
    if (r < 0)
        return r;
    for (int i = 0; i < sk_X509_num(certs); i++)
        x509_settle(sk_X509_value(certs, i));
    /* every certificate an anchor, as containers/image's CertPool of caPath
     * (signature/fulcio_cert.go); no validFor limit */
    root->cas[root->ncas].anchors = certs;
    root->ncas++;
    return 0;
}

int
ferry_sig_root_add_tlog_key(struct ferry_sig_root *root, const struct ferry_sig_key *k,
                            struct ferry_error **err)
{
    static const char what[] = "tlog key";
    struct ferry_sig_key *copy = NULL;
    int r;

    if (root == NULL || root->magic != FERRY_SIG_ROOT_MAGIC)
        return ferry_error_new(err, FERRY_E_USAGE, "%s: no trusted root to add it to", what);
    if (k == NULL || k->magic != FERRY_SIG_KEY_MAGIC)
        return ferry_error_new(err, FERRY_E_USAGE, "%s: not a loaded key", what);
    if ((r = root_grow_tlogs(root, what, err)) < 0)
        return r;
    if ((r = ferry_sig_key_from_der(k->der, k->der_len, false, what, &copy, err)) < 0)
        return r;
    root->tlogs[root->ntlogs].key = copy;
    memcpy(root->tlogs[root->ntlogs].log_id, copy->id, sizeof copy->id);
    root->ntlogs++;
    return 0;
}

/* validFor {start, end}: absent, or RFC 3339 times with start <= end. */
static int
parse_range(json_t *obj, const char *what, struct ferry_sig_range *range, struct ferry_error **err)
{
    static const char *const keys[] = {"start", "end", NULL};
    static const char *const names[] = {"start", "end"};
    json_t *vf, *v;
    char q[64];
    int r;

    memset(range, 0, sizeof *range);
    if ((r = ferry_sig_json_get(obj, "validFor", JSON_OBJECT, false, what, &vf, NULL, err)) < 0 ||
        vf == NULL)
        return r;
    if ((r = ferry_sig_json_keys(vf, keys, what, NULL, err)) < 0)
        return r;
    for (int i = 0; i < 2; i++) {
        struct ferry_sig_time *t = i == 0 ? &range->start : &range->end;
        if ((r = ferry_sig_json_get(vf, names[i], JSON_STRING, false, what, &v, NULL, err)) < 0)
            return r;
        if (v == NULL)
            continue;
        if (ferry_sig_time_parse(json_string_value(v), t) < 0)
            return ferry_error_new(
                err, FERRY_E_INVALID, "%s: validFor.%s %s is not an RFC 3339 time", what, names[i],
                ferry_quote(q, sizeof q, json_string_value(v), json_string_length(v)));
        if (i == 0)
            range->has_start = true;
        else
            range->has_end = true;
    }
    if (range->has_start && range->has_end &&
        (range->end.sec < range->start.sec ||
         (range->end.sec == range->start.sec && range->end.nsec < range->start.nsec)))
        return ferry_error_new(err, FERRY_E_INVALID, "%s: validFor ends before it starts", what);
    return 0;
}

/* keyDetails (protobuf-specs sigstore_common.proto PublicKeyDetails) against
 * the key itself. */
static int
check_key_details(const char *details, const struct ferry_sig_key *k, const char *what,
                  struct ferry_error **err)
{
    static const struct {
        const char *name;
        enum ferry_sig_key_type type;
    } known[] = {
        {"PKIX_ECDSA_P256_SHA_256", FERRY_SIG_KEY_ECDSA_P256},
        {"PKIX_ECDSA_P384_SHA_384", FERRY_SIG_KEY_ECDSA_P384},
        {"PKIX_ECDSA_P521_SHA_512", FERRY_SIG_KEY_ECDSA_P521},
        {"PKIX_ED25519", FERRY_SIG_KEY_ED25519},
        {"PKIX_RSA_PKCS1V15_2048_SHA256", FERRY_SIG_KEY_RSA},
        {"PKIX_RSA_PKCS1V15_3072_SHA256", FERRY_SIG_KEY_RSA},
        {"PKIX_RSA_PKCS1V15_4096_SHA256", FERRY_SIG_KEY_RSA},
        {"PKIX_RSA_PSS_2048_SHA256", FERRY_SIG_KEY_RSA},
        {"PKIX_RSA_PSS_3072_SHA256", FERRY_SIG_KEY_RSA},
        {"PKIX_RSA_PSS_4096_SHA256", FERRY_SIG_KEY_RSA},
    };
    char q[64];

    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(details, known[i].name) != 0)
            continue;
        if (known[i].type != k->type)
            return ferry_error_new(err, FERRY_E_INVALID,
                                   "%s: keyDetails %s does not match the key (%s)", what,
                                   known[i].name, k->desc);
        return 0;
    }
    return ferry_error_new(err, FERRY_E_UNSUPPORTED, "%s: keyDetails %s is not supported", what,
                           ferry_quote(q, sizeof q, details, strlen(details)));
}

static int
parse_tlog(json_t *obj, const char *what, struct ferry_sig_root *root, struct ferry_error **err)
{
    static const char *const keys[] = {"baseUrl",         "hashAlgorithm", "publicKey", "logId",
                                       "checkpointKeyId", "operator",      NULL};
    static const char *const pk_keys[] = {"rawBytes", "keyDetails", "validFor", NULL};
    static const char *const id_keys[] = {"keyId", NULL};
    struct ferry_sig_root_tlog *t;
    json_t *pk, *v;
    unsigned char *bin = NULL;
    size_t binlen = 0;
    char pwhat[WHAT_SIZE + 32]; /* what ": publicKey.rawBytes" */
    int r;

    if (!json_is_object(obj))
        return ferry_error_new(err, FERRY_E_INVALID, "%s: not an object", what);
    if ((r = ferry_sig_json_keys(obj, keys, what, NULL, err)) < 0 ||
        (r = ferry_sig_json_get(obj, "baseUrl", JSON_STRING, false, what, &v, NULL, err)) < 0 ||
        (r = ferry_sig_json_get(obj, "hashAlgorithm", JSON_STRING, false, what, &v, NULL, err)) <
            0 ||
        (r = ferry_sig_json_get(obj, "operator", JSON_STRING, false, what, &v, NULL, err)) < 0 ||
        (r = ferry_sig_json_get(obj, "checkpointKeyId", JSON_OBJECT, false, what, &v, NULL, err)) <
            0 ||
        (r = ferry_sig_json_get(obj, "publicKey", JSON_OBJECT, true, what, &pk, NULL, err)) < 0)
        return r;
    if ((r = root_grow_tlogs(root, what, err)) < 0)
        return r;
    t = &root->tlogs[root->ntlogs];
    snprintf(pwhat, sizeof pwhat, "%s: publicKey", what);
    if ((r = ferry_sig_json_keys(pk, pk_keys, pwhat, NULL, err)) < 0 ||
        (r = ferry_sig_json_bytes(pk, "rawBytes", true, FERRY_SIGSTORE_MAX_KEY, pwhat, &bin,
                                  &binlen, NULL, err)) < 0)
        goto out;
    snprintf(pwhat, sizeof pwhat, "%s: publicKey.rawBytes", what);
    if ((r = ferry_sig_key_from_der(bin, binlen, false, pwhat, &t->key, err)) < 0)
        goto out;
    snprintf(pwhat, sizeof pwhat, "%s: publicKey", what);
    if ((r = ferry_sig_json_get(pk, "keyDetails", JSON_STRING, true, pwhat, &v, NULL, err)) < 0 ||
        (r = check_key_details(json_string_value(v), t->key, pwhat, err)) < 0 ||
        (r = parse_range(pk, pwhat, &t->valid, err)) < 0)
        goto out;
    ferry_safefree(bin);
    snprintf(pwhat, sizeof pwhat, "%s: logId", what);
    if ((r = ferry_sig_json_get(obj, "logId", JSON_OBJECT, true, what, &v, NULL, err)) < 0 ||
        (r = ferry_sig_json_keys(v, id_keys, pwhat, NULL, err)) < 0 ||
        (r = ferry_sig_json_bytes(v, "keyId", true, 64, pwhat, &bin, &binlen, NULL, err)) < 0)
        goto out;
    if (binlen != 32) {
        r = ferry_error_new(err, FERRY_E_INVALID, "%s: keyId is %zu bytes, not 32", pwhat, binlen);
        goto out;
    }
    ferry_sig_hex(bin, 32, t->log_id);
    root->ntlogs++;
    r = 0;
out:
    if (r < 0) {
        ferry_sig_key_free(t->key);
        memset(t, 0, sizeof *t);
    }
    ferry_free(bin);
    return r;
}

static int
parse_ca(json_t *obj, const char *what, struct ferry_sig_root *root, struct ferry_error **err)
{
    static const char *const keys[] = {"subject", "uri", "certChain", "validFor", "operator", NULL};
    static const char *const subject_keys[] = {"organization", "commonName", NULL};
    static const char *const chain_keys[] = {"certificates", NULL};
    static const char *const cert_keys[] = {"rawBytes", NULL};
    struct ferry_sig_root_ca *ca;
    json_t *v, *chain, *certs;
    size_t n;
    char cwhat[WHAT_SIZE + 48];
    int r;

    if (!json_is_object(obj))
        return ferry_error_new(err, FERRY_E_INVALID, "%s: not an object", what);
    if ((r = ferry_sig_json_keys(obj, keys, what, NULL, err)) < 0 ||
        (r = ferry_sig_json_get(obj, "uri", JSON_STRING, false, what, &v, NULL, err)) < 0 ||
        (r = ferry_sig_json_get(obj, "operator", JSON_STRING, false, what, &v, NULL, err)) < 0 ||
        (r = ferry_sig_json_get(obj, "subject", JSON_OBJECT, false, what, &v, NULL, err)) < 0)
        return r;
    if (v != NULL) {
        json_t *s;
        snprintf(cwhat, sizeof cwhat, "%s: subject", what);
        if ((r = ferry_sig_json_keys(v, subject_keys, cwhat, NULL, err)) < 0 ||
            (r = ferry_sig_json_get(v, "organization", JSON_STRING, false, cwhat, &s, NULL, err)) <
                0 ||
            (r = ferry_sig_json_get(v, "commonName", JSON_STRING, false, cwhat, &s, NULL, err)) < 0)
            return r;
    }
    snprintf(cwhat, sizeof cwhat, "%s: certChain", what);
    if ((r = ferry_sig_json_get(obj, "certChain", JSON_OBJECT, true, what, &chain, NULL, err)) <
            0 ||
        (r = ferry_sig_json_keys(chain, chain_keys, cwhat, NULL, err)) < 0 ||
        (r = ferry_sig_json_get(chain, "certificates", JSON_ARRAY, true, cwhat, &certs, NULL,
                                err)) < 0)
        return r;
    n = json_array_size(certs);
    if (n == 0)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: no certificates", cwhat);
    if (n > FERRY_SIGSTORE_MAX_CHAIN)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: %zu certificates, more than %d", cwhat,
                               n, FERRY_SIGSTORE_MAX_CHAIN);
    if ((r = root_grow_cas(root, what, err)) < 0)
        return r;
    ca = &root->cas[root->ncas];
    ca->anchors = sk_X509_new_null();
    ca->intermediates = sk_X509_new_null();
    if (ca->anchors == NULL || ca->intermediates == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(certs, i);
        unsigned char *der = NULL;
        size_t der_len = 0;
        X509 *x;
        snprintf(cwhat, sizeof cwhat, "%s: certChain.certificates[%zu]", what, i);
        if (!json_is_object(c)) {
            r = ferry_error_new(err, FERRY_E_INVALID, "%s: not an object", cwhat);
            goto out;
        }
        if ((r = ferry_sig_json_keys(c, cert_keys, cwhat, NULL, err)) < 0 ||
            (r = ferry_sig_json_bytes(c, "rawBytes", true, FERRY_SIGSTORE_MAX_CERT, cwhat, &der,
                                      &der_len, NULL, err)) < 0)
            goto out;
        x = ferry_sig_x509_from_der(der, der_len);
        ferry_free(der);
        if (x == NULL) {
            r = ferry_error_new(err, FERRY_E_INVALID, "%s: rawBytes is not a DER x.509 certificate",
                                cwhat);
            goto out;
        }
        x509_settle(x);
        /* the last one is the CA's root (sigstore-go
         * pkg/root/trusted_root.go ParseCertificateAuthority) */
        if (sk_X509_push(i + 1 == n ? ca->anchors : ca->intermediates, x) <= 0) {
            X509_free(x);
            r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
            goto out;
        }
    }
    if ((r = parse_range(obj, what, &ca->valid, err)) < 0)
        goto out;
    root->ncas++;
    r = 0;
out:
    if (r < 0)
        ca_clear(ca);
    return r;
}

/* An array member of at most max objects whose contents ferry ignores. */
static int
ignored_list(json_t *doc, const char *key, int max, struct ferry_error **err)
{
    json_t *v;
    int r;

    if ((r = ferry_sig_json_get(doc, key, JSON_ARRAY, false, "trusted root", &v, NULL, err)) < 0 ||
        v == NULL)
        return r;
    if (json_array_size(v) > (size_t)max)
        return ferry_error_new(err, FERRY_E_TOO_LARGE,
                               "trusted root: %s: %zu entries, more than %d", key,
                               json_array_size(v), max);
    for (size_t i = 0; i < json_array_size(v); i++)
        if (!json_is_object(json_array_get(v, i)))
            return ferry_error_new(err, FERRY_E_INVALID, "trusted root: %s[%zu]: not an object",
                                   key, i);
    return 0;
}

int
ferry_sig_root_load(const void *json, size_t len, struct ferry_sig_root **out,
                    struct ferry_error **err)
{
    static const char *const keys[] = {
        "mediaType", "tlogs", "certificateAuthorities", "ctlogs", "timestampAuthorities", NULL};
    static const char what[] = "trusted root";
    struct ferry_sig_root *root = NULL;
    json_t *doc = NULL, *v;
    bool known = false;
    char q[96], ewhat[WHAT_SIZE];
    int r;

    if (out == NULL)
        return ferry_error_new(err, FERRY_E_USAGE, "trusted root: nowhere to put it");
    if (json == NULL && len > 0)
        return ferry_error_new(err, FERRY_E_USAGE, "trusted root: no data");
    if ((r = ferry_sig_json_load(json, len, FERRY_SIGSTORE_MAX_ROOT, what, &doc, NULL, err)) < 0)
        return r;
    if ((r = ferry_sig_json_keys(doc, keys, what, NULL, err)) < 0 ||
        (r = ferry_sig_json_get(doc, "mediaType", JSON_STRING, true, what, &v, NULL, err)) < 0)
        goto out;
    for (size_t i = 0; root_media_types[i] != NULL; i++)
        if (strcmp(json_string_value(v), root_media_types[i]) == 0)
            known = true;
    if (!known) {
        r = ferry_error_new(err, FERRY_E_UNSUPPORTED,
                            "trusted root: mediaType %s is not a supported trusted root (0.1, 0.2)",
                            ferry_quote(q, sizeof q, json_string_value(v), json_string_length(v)));
        goto out;
    }
    if ((r = ignored_list(doc, "ctlogs", FERRY_SIGSTORE_MAX_ROOT_TLOGS, err)) < 0 ||
        (r = ignored_list(doc, "timestampAuthorities", FERRY_SIGSTORE_MAX_CAS, err)) < 0 ||
        (r = ferry_sig_root_new(&root, err)) < 0)
        goto out;
    if ((r = ferry_sig_json_get(doc, "tlogs", JSON_ARRAY, false, what, &v, NULL, err)) < 0)
        goto out;
    if (v != NULL && json_array_size(v) > FERRY_SIGSTORE_MAX_ROOT_TLOGS) {
        r = ferry_error_new(err, FERRY_E_TOO_LARGE,
                            "trusted root: tlogs: %zu entries, more than %d", json_array_size(v),
                            FERRY_SIGSTORE_MAX_ROOT_TLOGS);
        goto out;
    }
    for (size_t i = 0; v != NULL && i < json_array_size(v); i++) {
        snprintf(ewhat, sizeof ewhat, "trusted root: tlogs[%zu]", i);
        if ((r = parse_tlog(json_array_get(v, i), ewhat, root, err)) < 0)
            goto out;
    }
    if ((r = ferry_sig_json_get(doc, "certificateAuthorities", JSON_ARRAY, false, what, &v, NULL,
                                err)) < 0)
        goto out;
    if (v != NULL && json_array_size(v) > FERRY_SIGSTORE_MAX_CAS) {
        r = ferry_error_new(err, FERRY_E_TOO_LARGE,
                            "trusted root: certificateAuthorities: %zu entries, more than %d",
                            json_array_size(v), FERRY_SIGSTORE_MAX_CAS);
        goto out;
    }
    for (size_t i = 0; v != NULL && i < json_array_size(v); i++) {
        snprintf(ewhat, sizeof ewhat, "trusted root: certificateAuthorities[%zu]", i);
        if ((r = parse_ca(json_array_get(v, i), ewhat, root, err)) < 0)
            goto out;
    }
    *out = root;
    root = NULL;
    r = 0;
out:
    ferry_sig_root_free(root);
    json_decref(doc);
    return r;
}

int
ferry_sig_root_load_file(const char *path, struct ferry_sig_root **out, struct ferry_error **err)
{
    struct ferry_buf b;
    int r;

    if (path == NULL)
        return ferry_error_new(err, FERRY_E_USAGE, "trusted root: no path");
    ferry_buf_init(&b, FERRY_SIGSTORE_MAX_ROOT);
    r = ferry_read_file(path, &b, err);
    if (r < 0) {
        ferry_error_wrap(err, "trusted root %s", path);
        goto out;
    }
    r = ferry_sig_root_load(b.data != NULL ? b.data : "", b.len, out, err);
    if (r < 0)
        ferry_error_wrap(err, "%s", path);
out:
    ferry_buf_free(&b);
    return r;
}
