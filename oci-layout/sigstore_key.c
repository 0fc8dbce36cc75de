/* ferry: public keys and signature checks for cosign / Sigstore verification
 * (OpenSSL EVP). See include/ferry/sigstore.h. */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "ferry/limits.h"
#include "ferry/util.h"
#include "json_int.h"
#include "sigstore_int.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 16384 /* verification cost grows with the square of this */

/* ---- keys ------------------------------------------------------------------------ */

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Lines of PEM text: "-----BEGIN <label>-----", base64 lines, "-----END
 * <label>-----". Whitespace around the block only; no headers. */
int
ferry_sig_pem_decode(const char *text, size_t len, const char *what, char *label, size_t labelsz,
                     unsigned char **der, size_t *der_len, struct ferry_error **err)
{
    static const char begin[] = "-----BEGIN ", end[] = "-----END ", dashes[] = "-----";
    const size_t nbegin = sizeof begin - 1, ndashes = sizeof dashes - 1;
    size_t start = 0, stop = len, lab_len, body_start, body_stop;
    const char *lab, *nl, *close;
    char endline[96];
    int r;

    if (text == NULL || len == 0)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: empty", what);
    if (memchr(text, '\0', len) != NULL)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: contains a nul byte", what);
    while (start < len && is_space(text[start]))
        start++;
    while (stop > start && is_space(text[stop - 1]))
        stop--;
    if (stop - start < nbegin || memcmp(text + start, begin, nbegin) != 0)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: not a PEM block (no \"%s\" line)", what,
                               "-----BEGIN");
    lab = text + start + nbegin;
    nl = memchr(lab, '\n', stop - (start + nbegin));
    if (nl == NULL)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: PEM block has no end", what);
    close = nl;
    if (close > lab && close[-1] == '\r')
        close--;
    if ((size_t)(close - lab) < ndashes || memcmp(close - ndashes, dashes, ndashes) != 0)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: malformed PEM begin line", what);
    lab_len = (size_t)(close - lab) - ndashes;
    if (lab_len == 0 || lab_len >= labelsz)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: malformed PEM label", what);
    for (size_t i = 0; i < lab_len; i++)
        if (!((lab[i] >= 'A' && lab[i] <= 'Z') || lab[i] == ' '))
            return ferry_error_new(err, FERRY_E_INVALID, "%s: malformed PEM label", what);
    memcpy(label, lab, lab_len);
    label[lab_len] = '\0';
    snprintf(endline, sizeof endline, "%s%s%s", end, label, dashes);
    body_start = (size_t)(nl + 1 - text);
    /* the end line is the last thing before the trailing whitespace */
    if (stop - body_start < strlen(endline) ||
        memcmp(text + stop - strlen(endline), endline, strlen(endline)) != 0)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: PEM block does not end with \"%s\"", what,
                               endline);
    body_stop = stop - strlen(endline);
    if (body_stop > body_start && text[body_stop - 1] != '\n')
        return ferry_error_new(err, FERRY_E_INVALID, "%s: malformed PEM end line", what);
    for (size_t i = body_start; i < body_stop; i++)
        if (text[i] == ':' || text[i] == '-')
            return ferry_error_new(err, FERRY_E_INVALID,
                                   "%s: PEM headers or a second block are not allowed", what);
    r = ferry_sig_b64_decode(text + body_start, body_stop - body_start, false,
                             FERRY_SIGSTORE_MAX_KEY, what, der, der_len, err);
    if (r < 0)
        return r;
    if (*der_len == 0) {
        ferry_safefree(*der);
        return ferry_error_new(err, FERRY_E_INVALID, "%s: empty PEM block", what);
    }
    return 0;
}

/* Take pk (owned) into a new key after checking its type. */
static int
key_from_pkey(EVP_PKEY *pk, const char *what, struct ferry_sig_key **out, struct ferry_error **err)
{
    struct ferry_sig_key *k = NULL;
    unsigned char *der = NULL, hash[32];
    enum ferry_sig_key_type type;
    int bits = EVP_PKEY_get_bits(pk), derlen, r = 0;

    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_EC: {
        char group[64];
        size_t glen = 0;
        int nid;
        if (EVP_PKEY_get_group_name(pk, group, sizeof group, &glen) != 1) {
            r = ferry_error_new(err, FERRY_E_UNSUPPORTED,
                                "%s: ecdsa key without a named curve is not supported", what);
            goto out;
        }
        nid = OBJ_sn2nid(group);
        if (nid == NID_X9_62_prime256v1) {
            type = FERRY_SIG_KEY_ECDSA_P256;
        } else if (nid == NID_secp384r1) {
            type = FERRY_SIG_KEY_ECDSA_P384;
        } else if (nid == NID_secp521r1) {
            type = FERRY_SIG_KEY_ECDSA_P521;
        } else {
            char q[80];
            r = ferry_error_new(err, FERRY_E_UNSUPPORTED,
                                "%s: ecdsa curve %s is not supported (P-256, P-384, P-521 are)",
                                what, ferry_quote(q, sizeof q, group, strlen(group)));
            goto out;
        }
        break;
    }
    case EVP_PKEY_RSA:
        if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
            r = ferry_error_new(err, FERRY_E_UNSUPPORTED,
                                "%s: rsa key of %d bits is not supported (%d to %d are)", what,
                                bits, RSA_MIN_BITS, RSA_MAX_BITS);
            goto out;
        }
        type = FERRY_SIG_KEY_RSA;
        break;
    case EVP_PKEY_ED25519:
        type = FERRY_SIG_KEY_ED25519;
        break;
    default:
        r = ferry_error_new(err, FERRY_E_UNSUPPORTED,
                            "%s: key type is not supported (ecdsa, rsa and ed25519 are)", what);
        goto out;
    }
    derlen = i2d_PUBKEY(pk, &der);
    if (derlen <= 0) {
        r = ferry_error_new(err, FERRY_E_CRYPTO, "%s: cannot encode the public key", what);
        goto out;
    }
    k = ferry_calloc(1, sizeof *k);
    if (k == NULL || (k->der = ferry_malloc((size_t)derlen)) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
        goto out;
    }
    memcpy(k->der, der, (size_t)derlen);
    k->der_len = (size_t)derlen;
    k->magic = FERRY_SIG_KEY_MAGIC;
    k->type = type;
    k->bits = bits;
    k->pkey = pk;
    pk = NULL;
    ferry_sig_sha256(k->der, k->der_len, hash);
    ferry_sig_hex(hash, sizeof hash, k->id);
    switch (type) {
    case FERRY_SIG_KEY_ECDSA_P256:
        snprintf(k->desc, sizeof k->desc, "ecdsa-p256");
        break;
    case FERRY_SIG_KEY_ECDSA_P384:
        snprintf(k->desc, sizeof k->desc, "ecdsa-p384");
        break;
    case FERRY_SIG_KEY_ECDSA_P521:
        snprintf(k->desc, sizeof k->desc, "ecdsa-p521");
        break;
    case FERRY_SIG_KEY_RSA:
        snprintf(k->desc, sizeof k->desc, "rsa-%d", bits);
        break;
    case FERRY_SIG_KEY_ED25519:
        snprintf(k->desc, sizeof k->desc, "ed25519");
        break;
    }
    *out = k;
    k = NULL;
out:
    OPENSSL_free(der);
    EVP_PKEY_free(pk);
    ferry_sig_key_free(k);
    ERR_clear_error();
    return r;
}

int
ferry_sig_key_from_der(const unsigned char *der, size_t len, bool pkcs1, const char *what,
                       struct ferry_sig_key **out, struct ferry_error **err)
{
    const unsigned char *p = der;
    EVP_PKEY *pk;

    if (len > FERRY_SIGSTORE_MAX_KEY)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: key of more than %u bytes", what,
                               FERRY_SIGSTORE_MAX_KEY);
    pk = pkcs1 ? d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len) : d2i_PUBKEY(NULL, &p, (long)len);
    if (pk == NULL || p != der + len) {
        EVP_PKEY_free(pk);
        ERR_clear_error();
        return ferry_error_new(err, FERRY_E_INVALID, "%s: not a valid %s public key", what,
                               pkcs1 ? "pkcs#1 rsa" : "subjectpublickeyinfo");
    }
    return key_from_pkey(pk, what, out, err);
}

int
ferry_sig_key_from_cert(const unsigned char *der, size_t len, const char *what,
                        struct ferry_sig_key **out, struct ferry_error **err)
{
    const unsigned char *p = der;
    EVP_PKEY *pk = NULL;
    X509 *x;

    if (len > FERRY_SIGSTORE_MAX_CERT)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: certificate of more than %u bytes",
                               what, FERRY_SIGSTORE_MAX_CERT);
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL || p != der + len) {
        X509_free(x);
        ERR_clear_error();
        return ferry_error_new(err, FERRY_E_INVALID, "%s: not a valid x.509 certificate", what);
    }
    pk = X509_get0_pubkey(x);
    if (pk == NULL || EVP_PKEY_up_ref(pk) != 1) {
        X509_free(x);
        ERR_clear_error();
        return ferry_error_new(err, FERRY_E_INVALID, "%s: certificate has no usable public key",
                               what);
    }
    X509_free(x);
    return key_from_pkey(pk, what, out, err);
}

int
ferry_sig_key_from_pem_any(const char *text, size_t len, const char *what,
                           struct ferry_sig_key **out, struct ferry_error **err)
{
    unsigned char *der = NULL;
    size_t der_len = 0;
    char label[32];
    int r;

    r = ferry_sig_pem_decode(text, len, what, label, sizeof label, &der, &der_len, err);
    if (r < 0)
        return r;
    if (strcmp(label, "PUBLIC KEY") == 0)
        r = ferry_sig_key_from_der(der, der_len, false, what, out, err);
    else if (strcmp(label, "RSA PUBLIC KEY") == 0)
        r = ferry_sig_key_from_der(der, der_len, true, what, out, err);
    else if (strcmp(label, "CERTIFICATE") == 0)
        r = ferry_sig_key_from_cert(der, der_len, what, out, err);
    else
        r = ferry_error_new(err, FERRY_E_INVALID, "%s: PEM block \"%s\" is not a public key", what,
                            label);
    ferry_free(der);
    return r;
}

int
ferry_sig_key_load(const void *pem, size_t len, struct ferry_sig_key **out,
                   struct ferry_error **err)
{
    static const char what[] = "public key";
    unsigned char *der = NULL;
    size_t der_len = 0;
    char label[32];
    int r;

    if (out == NULL)
        return ferry_error_new(err, FERRY_E_USAGE, "public key: nowhere to put it");
    if (len > FERRY_SIGSTORE_MAX_KEY)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "public key: %zu bytes, more than %u", len,
                               FERRY_SIGSTORE_MAX_KEY);
    r = ferry_sig_pem_decode(pem, len, what, label, sizeof label, &der, &der_len, err);
    if (r < 0)
        return r;
    if (strcmp(label, "PUBLIC KEY") == 0)
        r = ferry_sig_key_from_der(der, der_len, false, what, out, err);
    else if (strcmp(label, "RSA PUBLIC KEY") == 0)
        r = ferry_sig_key_from_der(der, der_len, true, what, out, err);
    else
        r = ferry_error_new(err, FERRY_E_INVALID,
                            "public key: PEM block \"%s\" is not \"PUBLIC KEY\"", label);
    ferry_free(der);
    return r;
}

int
ferry_sig_key_load_file(const char *path, struct ferry_sig_key **out, struct ferry_error **err)
{
    struct ferry_buf b;
    int r;

    if (path == NULL)
        return ferry_error_new(err, FERRY_E_USAGE, "public key: no path");
    ferry_buf_init(&b, FERRY_SIGSTORE_MAX_KEY);
    r = ferry_read_file(path, &b, err);
    if (r < 0) {
        ferry_error_wrap(err, "public key %s", path);
        goto out;
    }
    r = ferry_sig_key_load(b.data != NULL ? b.data : "", b.len, out, err);
    if (r < 0)
        ferry_error_wrap(err, "%s", path);
out:
    ferry_buf_free(&b);
    return r;
}

void
ferry_sig_key_free(struct ferry_sig_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    ferry_free(k->der);
    memset(k, 0, sizeof *k);
    ferry_free(k);
}

const char *
ferry_sig_key_id(const struct ferry_sig_key *k)
{
    return k != NULL && k->magic == FERRY_SIG_KEY_MAGIC ? k->id : "";
}

enum ferry_sig_key_type
ferry_sig_key_type(const struct ferry_sig_key *k)
{
    return k != NULL && k->magic == FERRY_SIG_KEY_MAGIC ? k->type : (enum ferry_sig_key_type)0;
}

const char *
ferry_sig_key_describe(const struct ferry_sig_key *k)
{
    return k != NULL && k->magic == FERRY_SIG_KEY_MAGIC ? k->desc : "no key";
}

bool
ferry_sig_key_equal(const struct ferry_sig_key *a, const struct ferry_sig_key *b)
{
    return a != NULL && b != NULL && a->der_len == b->der_len &&
           memcmp(a->der, b->der, a->der_len) == 0;
}

/* ---- signatures -------------------------------------------------------------------- */

/* The DER form of an ECDSA signature: sig itself when it is strict DER
 * (*der NULL), else r||s of the curve's size converted (OpenSSL_malloc'd,
 * *der set). 0 when sig is neither. */
static int
ecdsa_der(const struct ferry_sig_key *k, const unsigned char *sig, size_t siglen,
          unsigned char **der, size_t *derlen)
{
    const unsigned char *p = sig;
    size_t field = ((size_t)k->bits + 7) / 8;
    unsigned char *enc = NULL;
    ECDSA_SIG *es;
    BIGNUM *r = NULL, *s = NULL;
    int n;

    *der = NULL;
    es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
    if (es != NULL && p == sig + siglen) {
        n = i2d_ECDSA_SIG(es, &enc);
        ECDSA_SIG_free(es);
        if (n > 0 && (size_t)n == siglen && memcmp(enc, sig, siglen) == 0) {
            OPENSSL_free(enc);
            *derlen = siglen;
            return 1;
        }
        OPENSSL_free(enc);
        enc = NULL;
    } else {
        ECDSA_SIG_free(es);
    }
    ERR_clear_error();
    /* IEEE P1363: r || s, each the size of the curve's field (sigstore's
     * ecdsa.go falls back to it when DER parsing fails) */
    if (siglen != 2 * field)
        return 0;
    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig, (int)field, NULL);
    s = BN_bin2bn(sig + field, (int)field, NULL);
    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        ERR_clear_error();
        return -1;
    }
    n = i2d_ECDSA_SIG(es, &enc);
    ECDSA_SIG_free(es);
    if (n <= 0) {
        ERR_clear_error();
        return -1;
    }
    *der = enc;
    *derlen = (size_t)n;
    return 1;
}

/* Verify sig over a digest: 1 yes, 0 no, -1 the library failed. */
static int
verify_digest(EVP_PKEY *pk, const EVP_MD *md, int padding, const unsigned char *hash,
              size_t hash_len, const unsigned char *sig, size_t siglen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
    int r = -1;

    if (ctx == NULL || EVP_PKEY_verify_init(ctx) <= 0)
        goto out;
    if (padding != 0) {
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, padding) <= 0)
            goto out;
        if (padding == RSA_PKCS1_PSS_PADDING &&
            (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO) <= 0 ||
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0))
            goto out;
    }
    if (EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0)
        goto out;
    r = EVP_PKEY_verify(ctx, sig, siglen, hash, hash_len) == 1 ? 1 : 0;
out:
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return r;
}

/* One (key, hash) attempt over a digest. */
static int
check_digest(const struct ferry_sig_key *k, const EVP_MD *md, const unsigned char *hash,
             size_t hash_len, const unsigned char *sig, size_t siglen)
{
    unsigned char *der = NULL;
    size_t derlen = 0;
    int r;

    if ((size_t)EVP_MD_get_size(md) != hash_len)
        return 0;
    if (k->type == FERRY_SIG_KEY_RSA) {
        r = verify_digest(k->pkey, md, RSA_PKCS1_PADDING, hash, hash_len, sig, siglen);
        if (r == 0)
            r = verify_digest(k->pkey, md, RSA_PKCS1_PSS_PADDING, hash, hash_len, sig, siglen);
        return r;
    }
    r = ecdsa_der(k, sig, siglen, &der, &derlen);
    if (r <= 0)
        return r;
    r = verify_digest(k->pkey, md, 0, hash, hash_len, der != NULL ? der : sig, derlen);
    OPENSSL_free(der);
    return r;
}

static int
check_ed25519(const struct ferry_sig_key *k, const unsigned char *data, size_t len,
              const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *ctx;
    int r = -1;

    if (siglen != 64)
        return 0;
    ctx = EVP_MD_CTX_new();
    if (ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1)
        r = EVP_DigestVerify(ctx, sig, siglen, len > 0 ? data : (const unsigned char *)"", len) == 1
                ? 1
                : 0;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return r;
}

int
ferry_sig_check(const struct ferry_sig_key *k, const struct ferry_sig_msg *m,
                const unsigned char *sig, size_t siglen, struct ferry_error **err)
{
    const EVP_MD *mds[2] = {EVP_sha256(), NULL};
    int r = 0;

    if (k == NULL || k->magic != FERRY_SIG_KEY_MAGIC)
        return ferry_error_new(err, FERRY_E_USAGE, "signature check without a valid key");
    if (sig == NULL || siglen == 0 || siglen > FERRY_SIGSTORE_MAX_SIG)
        return 0;
    if (k->type == FERRY_SIG_KEY_ED25519) {
        if (m->data == NULL)
            return ferry_error_new(err, FERRY_E_UNSUPPORTED,
                                   "ed25519 key %.12s: a signature over a digest cannot be "
                                   "checked without the signed bytes",
                                   k->id);
        r = check_ed25519(k, m->data, m->len, sig, siglen);
    } else if (m->data == NULL) {
        r = check_digest(k, m->md, m->hash, m->hash_len, sig, siglen);
    } else {
        /* cosign verifies with SHA-256 whatever the curve; its v3 signers
         * may use SHA-384/512 for P-384/P-521 (cosign-formats.md §1) */
        if (k->type == FERRY_SIG_KEY_ECDSA_P384)
            mds[1] = EVP_sha384();
        else if (k->type == FERRY_SIG_KEY_ECDSA_P521)
            mds[1] = EVP_sha512();
        for (size_t i = 0; i < 2 && mds[i] != NULL && r == 0; i++) {
            unsigned char hash[EVP_MAX_MD_SIZE];
            unsigned int hlen = 0;
            if (EVP_Digest(m->len > 0 ? m->data : (const unsigned char *)"", m->len, hash, &hlen,
                           mds[i], NULL) != 1) {
                r = -1;
                break;
            }
            r = check_digest(k, mds[i], hash, hlen, sig, siglen);
        }
    }
    if (r < 0) {
        ERR_clear_error();
        return ferry_error_new(err, FERRY_E_CRYPTO, "signature check with key %.12s failed", k->id);
    }
    return r;
}

int
ferry_sig_check_keys(struct ferry_sig_key *const *keys, size_t nkeys, const struct ferry_sig_msg *m,
                     const unsigned char *sig, size_t siglen, size_t *which,
                     struct ferry_error **err)
{
    for (size_t i = 0; i < nkeys; i++) {
        int r = ferry_sig_check(keys[i], m, sig, siglen, err);
        if (r < 0)
            return r;
        if (r == 1) {
            *which = i;
            return 1;
        }
    }
    return 0;
}

int
ferry_sig_trust_check(const struct ferry_sig_trust *trust, struct ferry_sig_result *res,
                      struct ferry_error **err)
{
    if (trust == NULL)
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err,
                               "signature check without trusted keys");
    if ((trust->nkeys > 0 && trust->keys == NULL) ||
        (trust->ntlog_keys > 0 && trust->tlog_keys == NULL))
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err,
                               "signature check: key list missing");
    for (size_t i = 0; i < trust->nkeys; i++)
        if (trust->keys[i] == NULL || trust->keys[i]->magic != FERRY_SIG_KEY_MAGIC)
            return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err,
                                   "signature check: key %zu is not a loaded key", i);
    for (size_t i = 0; i < trust->ntlog_keys; i++)
        if (trust->tlog_keys[i] == NULL || trust->tlog_keys[i]->magic != FERRY_SIG_KEY_MAGIC)
            return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err,
                                   "signature check: tlog key %zu is not a loaded key", i);
    if (trust->root != NULL && trust->root->magic != FERRY_SIG_ROOT_MAGIC)
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err,
                               "signature check: the trusted root is not a loaded root");
    if (trust->nidentities > 0 && trust->identities == NULL)
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err,
                               "signature check: identity list missing");
    for (size_t i = 0; i < trust->nidentities; i++) {
        int r = ferry_sig_identity_check(&trust->identities[i], err);
        if (r < 0) {
            ferry_error_wrap(err, "signature check: identity %zu", i);
            res->reason = FERRY_SIG_ERROR;
            return r;
        }
    }
    if (trust->require_tlog && ferry_sig_tlog_key_count(trust) == 0)
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err,
                               "signature check: a tlog entry is required but no tlog key given");
    if (ferry_sig_tlog_key_count(trust) > 0)
        res->tlog = FERRY_TLOG_ABSENT;
    return 0;
}

size_t
ferry_sig_tlog_key_count(const struct ferry_sig_trust *trust)
{
    return trust->ntlog_keys + (trust->root != NULL ? trust->root->ntlogs : 0);
}

void
ferry_sig_result_key(struct ferry_sig_result *res, const struct ferry_sig_trust *trust,
                     size_t which)
{
    res->key_index = which;
    snprintf(res->key_id, sizeof res->key_id, "%s", trust->keys[which]->id);
}
