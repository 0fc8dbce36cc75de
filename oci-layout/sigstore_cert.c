/* ferry: certificate-based ("keyless") signatures: the leaf certificate's
 * chain to a CA of the trusted root at the signing time, its code-signing
 * usage, and the identity it shows (cosign pkg/cosign/verify.go
 * ValidateAndUnpackCert, CheckCertificatePolicy; sigstore-go
 * pkg/verify/certificate.go, pkg/root/certificate_authority.go,
 * pkg/fulcio/certificate/extensions.go). See include/ferry/sigstore.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ferry/limits.h"
#include "ferry/util.h"
#include "sigstore_int.h"

/* Fulcio's certificate extensions (fulcio docs/oid-info.md). */
#define OID_ISSUER_V1 "1.3.6.1.4.1.57264.1.1" /* raw bytes, deprecated */
#define OID_ISSUER_V2 "1.3.6.1.4.1.57264.1.8" /* DER UTF8String */
#define OID_USERNAME "1.3.6.1.4.1.57264.1.7"  /* otherName SAN, UTF8String */

#define MAX_NAMES 64 /* subject alternative names looked at */

/* ---- parsing --------------------------------------------------------------------------- */

X509 *
ferry_sig_x509_from_der(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x;

    if (der == NULL || len == 0 || len > FERRY_SIGSTORE_MAX_CERT)
        return NULL;
    x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p != der + len) {
        X509_free(x);
        x = NULL;
    }
    ERR_clear_error();
    return x;
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The first occurrence of needle (n bytes) in hay (len bytes), or NULL. */
static const char *
find(const char *hay, size_t len, const char *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

int
ferry_sig_certs_from_pem(const char *text, size_t len, size_t max, const char *what,
                         STACK_OF(X509) * *out, struct ferry_error **err)
{
    static const char end_line[] = "-----END CERTIFICATE-----";
    STACK_OF(X509) *certs = sk_X509_new_null();
    size_t pos = 0, n = 0;
    char bwhat[200];
    int r;

    if (certs == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
    for (;;) {
        const char *end;
        size_t stop;
        unsigned char *der = NULL;
        size_t der_len = 0;
        char label[32];
        X509 *x;
        while (pos < len && is_space(text[pos]))
            pos++;
        if (pos == len)
            break;
        if (n == max) {
            r = ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: more than %zu certificates", what,
                                max);
            goto fail;
        }
        snprintf(bwhat, sizeof bwhat, "%s: certificate %zu", what, n);
        /* this block ends at its END line; ferry_sig_pem_decode checks the rest */
        end = find(text + pos, len - pos, end_line, sizeof end_line - 1);
        stop = end != NULL ? (size_t)(end - text) + sizeof end_line - 1 : len;
        r = ferry_sig_pem_decode(text + pos, stop - pos, bwhat, label, sizeof label, &der, &der_len,
                                 err);
        if (r < 0)
            goto fail;
        if (strcmp(label, "CERTIFICATE") != 0) {
            ferry_free(der);
            r = ferry_error_new(err, FERRY_E_INVALID, "%s: PEM block \"%s\" is not a certificate",
                                bwhat, label);
            goto fail;
        }
        x = ferry_sig_x509_from_der(der, der_len);
        ferry_free(der);
        if (x == NULL) {
            r = ferry_error_new(err, FERRY_E_INVALID, "%s: not a valid x.509 certificate", bwhat);
            goto fail;
        }
        if (sk_X509_push(certs, x) <= 0) {
            X509_free(x);
            r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
            goto fail;
        }
        n++;
        pos = stop;
    }
    if (n == 0) {
        r = ferry_error_new(err, FERRY_E_INVALID, "%s: no PEM certificate", what);
        goto fail;
    }
    *out = certs;
    return 0;
fail:
    sk_X509_pop_free(certs, X509_free);
    return r;
}

/* ---- the chain ---------------------------------------------------------------------------- */

/* Whether a CA certificate's extended key usage (if it has one) allows
 * code signing: Go's x509 checks every certificate of the chain so. */
static bool
eku_allows_code_signing(X509 *x)
{
    if ((X509_get_extension_flags(x) & EXFLAG_XKUSAGE) == 0)
        return true;
    return (X509_get_extended_key_usage(x) & (XKU_CODE_SIGN | XKU_ANYEKU)) != 0;
}

enum chain_result { CHAIN_OK = 0, CHAIN_UNTRUSTED, CHAIN_EXPIRED, CHAIN_EKU, CHAIN_ERROR };

/* Verify leaf against one CA at time t. detail gets OpenSSL's reason. */
static enum chain_result
chain_verify(const struct ferry_sig_root_ca *ca, X509 *leaf, STACK_OF(X509) * chain, int64_t t,
             char *detail, size_t detailsz)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    enum chain_result res = CHAIN_ERROR;

    if (store == NULL || ctx == NULL || untrusted == NULL)
        goto out;
    for (int i = 0; i < sk_X509_num(ca->anchors); i++)
        if (X509_STORE_add_cert(store, sk_X509_value(ca->anchors, i)) != 1)
            goto out;
    /* untrusted: the CA's own intermediates, then what the signature carries */
    for (int i = 0; ca->intermediates != NULL && i < sk_X509_num(ca->intermediates); i++)
        if (sk_X509_push(untrusted, sk_X509_value(ca->intermediates, i)) <= 0)
            goto out;
    for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++)
        if (sk_X509_push(untrusted, sk_X509_value(chain, i)) <= 0)
            goto out;
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1)
        goto out;
    /* the "hybrid model": every certificate valid at the signing time
     * (sigstore-go pkg/root/certificate_authority.go Verify, CurrentTime);
     * an anchor need not be self-signed, as in Go's x509 Roots pool */
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)t);
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
    if (X509_verify_cert(ctx) == 1) {
        STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(ctx);
        res = CHAIN_OK;
        for (int i = 1; i < sk_X509_num(built); i++)
            if (!eku_allows_code_signing(sk_X509_value(built, i))) {
                snprintf(detail, detailsz,
                         "certificate %d of the chain does not allow code signing", i);
                res = CHAIN_EKU;
            }
    } else {
        int e = X509_STORE_CTX_get_error(ctx), depth = X509_STORE_CTX_get_error_depth(ctx);
        snprintf(detail, detailsz, "%s (depth %d)", X509_verify_cert_error_string(e), depth);
        if (depth == 0 && (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID))
            res = CHAIN_EXPIRED;
        else
            res = CHAIN_UNTRUSTED;
    }
out:
    sk_X509_free(untrusted); /* the certificates belong to the CA and the caller */
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return res;
}

static void
asn1_time_text(const ASN1_TIME *t, char *buf, size_t size)
{
    struct tm tm;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, size, "?");
    ERR_clear_error();
}

static int
check_chain(const struct ferry_sig_root *root, X509 *leaf, STACK_OF(X509) * chain, int64_t t,
            const char *what, struct ferry_sig_result *res, struct ferry_error **err)
{
    char when[40], detail[200] = "", from[40], to[40];
    size_t valid = 0;
    bool expired = false;

    ferry_time_format(t, when, sizeof when);
    for (size_t i = 0; i < root->ncas; i++) {
        const struct ferry_sig_root_ca *ca = &root->cas[i];
        char d[200];
        enum chain_result cr;
        /* sigstore-go FulcioCertificateAuthority.Verify: the CA's validFor
         * first */
        if (!ferry_sig_range_contains(&ca->valid, t))
            continue;
        valid++;
        cr = chain_verify(ca, leaf, chain, t, d, sizeof d);
        if (cr == CHAIN_OK)
            return 0;
        if (cr == CHAIN_ERROR)
            return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_CRYPTO, err,
                                   "%s: certificate chain check failed", what);
        if (cr == CHAIN_EXPIRED)
            expired = true;
        if (detail[0] == '\0' || cr != CHAIN_UNTRUSTED)
            snprintf(detail, sizeof detail, "%s", d);
    }
    if (valid == 0)
        return ferry_sig_fail(res, FERRY_SIG_UNTRUSTED_CERT, err,
                              "%s: no certificate authority of the trusted root is valid at the "
                              "signing time %s",
                              what, when);
    if (expired) {
        asn1_time_text(X509_get0_notBefore(leaf), from, sizeof from);
        asn1_time_text(X509_get0_notAfter(leaf), to, sizeof to);
        return ferry_sig_fail(res, FERRY_SIG_CERT_EXPIRED, err,
                              "%s: certificate valid from %s to %s, not at the signing time %s",
                              what, from, to, when);
    }
    return ferry_sig_fail(res, FERRY_SIG_UNTRUSTED_CERT, err,
                          "%s: certificate does not chain to a certificate authority of the "
                          "trusted root at %s: %s",
                          what, when, detail);
}

/* ---- identity -------------------------------------------------------------------------- */

/* Text fit to compare and to print: no NUL, no control character. */
static bool
usable_text(const unsigned char *s, int n)
{
    if (s == NULL || n <= 0)
        return false;
    for (int i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

struct names {
    const char *v[MAX_NAMES];
    size_t len[MAX_NAMES];
    size_t n;
    const char *summary; /* sigstore-go's pick: first URI, else e-mail, else username */
    size_t summary_len;
    bool email[MAX_NAMES]; /* an e-mail name (not a URI or username) */
};

static void
names_add(struct names *nm, const ASN1_STRING *s)
{
    const unsigned char *d = ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s);

    if (nm->n < MAX_NAMES && usable_text(d, n)) {
        nm->v[nm->n] = (const char *)d;
        nm->len[nm->n] = (size_t)n;
        nm->n++;
    }
}

/* E-mail and URI names, and Fulcio's username otherName (cosign
 * getSubjectAlternateNames; DNS and IP names are not looked at). Pointers
 * into gens. */
static void
collect_names(const GENERAL_NAMES *gens, struct names *nm)
{
    ASN1_OBJECT *username = OBJ_txt2obj(OID_USERNAME, 1);
    size_t uri = SIZE_MAX, email = SIZE_MAX, other = SIZE_MAX;

    memset(nm, 0, sizeof *nm);
    for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        size_t before = nm->n;
        if (g->type == GEN_EMAIL || g->type == GEN_URI) {
            names_add(nm, g->d.ia5);
            if (nm->n > before && g->type == GEN_URI && uri == SIZE_MAX)
                uri = before;
            if (nm->n > before && g->type == GEN_EMAIL && email == SIZE_MAX)
                email = before;
            if (nm->n > before)
                nm->email[before] = g->type == GEN_EMAIL;
        } else if (g->type == GEN_OTHERNAME && username != NULL &&
                   OBJ_cmp(g->d.otherName->type_id, username) == 0 &&
                   g->d.otherName->value != NULL &&
                   g->d.otherName->value->type == V_ASN1_UTF8STRING) {
            names_add(nm, g->d.otherName->value->value.utf8string);
            if (nm->n > before && other == SIZE_MAX)
                other = before;
        }
    }
    ASN1_OBJECT_free(username);
    ERR_clear_error();
    {
        size_t pick = uri != SIZE_MAX ? uri : email != SIZE_MAX ? email : other;
        if (pick != SIZE_MAX) {
            nm->summary = nm->v[pick];
            nm->summary_len = nm->len[pick];
        }
    }
}

/* The extension with this OID, or NULL. */
static const ASN1_OCTET_STRING *
extension_data(X509 *x, const char *oid)
{
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    int idx = o != NULL ? X509_get_ext_by_OBJ(x, o, -1) : -1;

    ASN1_OBJECT_free(o);
    ERR_clear_error();
    return idx >= 0 ? X509_EXTENSION_get_data(X509_get_ext(x, idx)) : NULL;
}

/* The OIDC issuer (cosign getIssuer: 1.8 first, then 1.1) into *out (a new
 * string): 1, or 0 with *why set when there is none, -1 out of memory. */
static int
cert_issuer(X509 *x, char **out, const char **why)
{
    const ASN1_OCTET_STRING *v2 = extension_data(x, OID_ISSUER_V2), *v1;
    const unsigned char *text;
    int n;

    *out = NULL;
    *why = "the certificate names no OIDC issuer";
    if (v2 != NULL) {
        const unsigned char *p = ASN1_STRING_get0_data(v2), *start = p;
        long len = ASN1_STRING_length(v2);
        ASN1_UTF8STRING *s = d2i_ASN1_UTF8STRING(NULL, &p, len);
        bool ok = s != NULL && p == start + len &&
                  usable_text(ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
        ERR_clear_error();
        if (ok)
            *out = ferry_strndup((const char *)ASN1_STRING_get0_data(s),
                                 (size_t)ASN1_STRING_length(s));
        ASN1_UTF8STRING_free(s);
        if (!ok) {
            *why = "the certificate's OIDC issuer extension (1.3.6.1.4.1.57264.1.8) is malformed";
            return 0;
        }
        return *out != NULL ? 1 : -1;
    }
    v1 = extension_data(x, OID_ISSUER_V1);
    if (v1 == NULL)
        return 0;
    text = ASN1_STRING_get0_data(v1);
    n = ASN1_STRING_length(v1);
    if (!usable_text(text, n)) {
        *why = "the certificate's OIDC issuer extension (1.3.6.1.4.1.57264.1.1) is malformed";
        return 0;
    }
    *out = ferry_strndup((const char *)text, (size_t)n);
    return *out != NULL ? 1 : -1;
}

/* 1 if text (n bytes) is exact, or matches regexp; 0 if not. */
static int
name_matches(const char *exact, const char *regexp, const char *text, size_t n,
             struct ferry_error **err)
{
    if (exact != NULL && exact[0] != '\0')
        return strlen(exact) == n && memcmp(exact, text, n) == 0;
    return ferry_sig_regexp_match(regexp, text, n, err);
}

static int
check_identity(const struct ferry_sig_trust *trust, X509 *leaf, const char *what,
               struct ferry_sig_result *res, struct ferry_error **err)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    struct names nm;
    const char *why = NULL;
    char *issuer = NULL, qs[160], qi[160];
    int r;

    ERR_clear_error();
    collect_names(gens, &nm);
    if (cert_issuer(leaf, &issuer, &why) < 0 ||
        (nm.summary != NULL &&
         (res->cert_subject = ferry_strndup(nm.summary, nm.summary_len)) == NULL)) {
        r = ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_NOMEM, err, "%s: out of memory", what);
        goto out;
    }
    ferry_quote(qs, sizeof qs, nm.summary != NULL ? nm.summary : "", nm.summary_len);
    if (issuer == NULL) {
        r = ferry_sig_fail(res, FERRY_SIG_IDENTITY_MISMATCH, err, "%s: %s", what, why);
        goto out;
    }
    ferry_quote(qi, sizeof qi, issuer, strlen(issuer));
    res->cert_issuer = issuer;
    issuer = NULL;
    if (nm.n == 0) {
        r = ferry_sig_fail(res, FERRY_SIG_IDENTITY_MISMATCH, err,
                           "%s: the certificate has no e-mail, URI or username subject "
                           "alternative name",
                           what);
        goto out;
    }
    if (trust->nidentities == 0) {
        r = ferry_sig_fail(res, FERRY_SIG_IDENTITY_MISMATCH, err,
                           "%s: no identity given to match the certificate (\"%s\", issuer "
                           "\"%s\") against",
                           what, qs, qi);
        goto out;
    }
    /* cosign CheckCertificatePolicy: one identity whose issuer matches and
     * one of whose subject forms matches one of the names */
    for (size_t i = 0; i < trust->nidentities; i++) {
        const struct ferry_sig_identity *id = &trust->identities[i];
        r = name_matches(id->issuer, id->issuer_regexp, res->cert_issuer, strlen(res->cert_issuer),
                         err);
        if (r < 0)
            goto regexp_failed;
        if (r == 0)
            continue;
        for (size_t k = 0; k < nm.n; k++) {
            if (id->email_only && !nm.email[k])
                continue;
            r = name_matches(id->subject, id->subject_regexp, nm.v[k], nm.len[k], err);
            if (r < 0)
                goto regexp_failed;
            if (r == 1) {
                r = 0;
                goto out;
            }
        }
    }
    r = ferry_sig_fail(res, FERRY_SIG_IDENTITY_MISMATCH, err,
                       "%s: certificate identity \"%s\" with issuer \"%s\" matches none of the %zu "
                       "given identities",
                       what, qs, qi, trust->nidentities);
    goto out;
regexp_failed:
    ferry_error_wrap(err, "%s", what);
    /* a pattern that backtracks too much fails closed, as a mismatch */
    res->reason = r == -FERRY_E_TOO_LARGE ? FERRY_SIG_IDENTITY_MISMATCH : FERRY_SIG_ERROR;
out:
    ferry_free(issuer);
    GENERAL_NAMES_free(gens);
    return r;
}

/* ---- all of it -------------------------------------------------------------------------- */

int
ferry_sig_keyless_check(const struct ferry_sig_trust *trust, X509 *leaf, STACK_OF(X509) * chain,
                        int64_t t, const char *what, struct ferry_sig_result *res,
                        struct ferry_error **err)
{
    int r;

    if (trust->root == NULL || leaf == NULL)
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err,
                               "%s: certificate check without a root or a certificate", what);
    if ((r = check_chain(trust->root, leaf, chain, t, what, res, err)) < 0)
        return r;
    /* Fulcio issues code-signing leaves; cosign and sigstore-go ask x509
     * for ExtKeyUsageCodeSigning. Stricter than Go on one point: a leaf
     * without the extension (Go: any usage) is refused. */
    if ((X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) == 0 ||
        (X509_get_extended_key_usage(leaf) & XKU_CODE_SIGN) == 0)
        return ferry_sig_fail(res, FERRY_SIG_UNTRUSTED_CERT, err,
                              "%s: certificate lacks the code-signing extended key usage", what);
    return check_identity(trust, leaf, what, res, err);
}
