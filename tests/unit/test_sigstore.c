/* Unit tests of the sigstore module: cosign simple signing, DSSE, Sigstore
 * bundles and Rekor SETs against the vectors in tests/data/cosign-vectors/
 * (README.md there says where each came from and what it must give), plus
 * one-byte tampering and keys made here for the types no vector covers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "unit.h"
#include "ferry/digest.h"
#include "ferry/sigstore.h"
#include "ferry/util.h"
#include "sigstore_int.h"

/* ---- helpers ------------------------------------------------------------------ */

#define NEED_VEC(var, rel)                                                                         \
    char var[4096];                                                                                \
    if (!vec_path(rel, var, sizeof var)) {                                                         \
        FERRY_SKIP("cosign vectors not present");                                                  \
        return;                                                                                    \
    }

static bool
vec_path(const char *rel, char *buf, size_t size)
{
    char full[512];
    const char *p;

    snprintf(full, sizeof full, "cosign-vectors/%s", rel);
    p = ferry_test_shared(full);
    if (p == NULL)
        return false;
    snprintf(buf, size, "%s", p);
    return true;
}

/* Whole file, NUL-terminated (ferry_free). */
static char *
slurp(const char *path, size_t *len)
{
    struct ferry_buf b;
    struct ferry_error *err = NULL;
    size_t n = 0;
    char *p;

    ferry_buf_init(&b, 4u << 20);
    FERRY_ASSERT_OK(ferry_read_file(path, &b, &err), &err);
    if (b.data == NULL)
        FERRY_ASSERT_OK(ferry_buf_append(&b, "", 0, &err), &err);
    p = ferry_buf_take(&b, &n);
    if (len != NULL)
        *len = n;
    return p;
}

/* A vector file, or NULL (then the caller skips). */
static char *
vec_read(const char *rel, size_t *len)
{
    char path[4096];

    if (!vec_path(rel, path, sizeof path))
        return NULL;
    return slurp(path, len);
}

static struct ferry_sig_key *
vec_key(const char *rel)
{
    struct ferry_sig_key *k = NULL;
    struct ferry_error *err = NULL;
    char path[4096];

    assert_true(vec_path(rel, path, sizeof path));
    FERRY_ASSERT_OK(ferry_sig_key_load_file(path, &k, &err), &err);
    return k;
}

/* "sha256:<hex>" of a vector file into out. */
static void
vec_digest(const char *rel, struct ferry_digest *out)
{
    size_t len;
    char *data = vec_read(rel, &len);

    assert_non_null(data);
    ferry_digest_buffer(FERRY_DIGEST_SHA256, data, len, out);
    ferry_free(data);
}

/* A text file's first line. */
static char *
vec_line(const char *rel)
{
    char *s = vec_read(rel, NULL);

    assert_non_null(s);
    s[strcspn(s, "\r\n")] = '\0';
    return s;
}

struct keys {
    struct ferry_sig_key *k[4];
    size_t n;
    struct ferry_sig_key *rekor;
    struct ferry_sig_trust trust;
};

/* Trust the given vector keys (NULL-terminated); with_rekor adds the
 * public-good Rekor key as the tlog key. */
static void
keys_init(struct keys *ks, bool with_rekor, bool require_tlog, const char *first, ...)
{
    va_list ap;
    const char *rel = first;

    memset(ks, 0, sizeof *ks);
    va_start(ap, first);
    while (rel != NULL && ks->n < 4) {
        ks->k[ks->n++] = vec_key(rel);
        rel = va_arg(ap, const char *);
    }
    va_end(ap);
    ks->trust.keys = ks->k;
    ks->trust.nkeys = ks->n;
    if (with_rekor) {
        ks->rekor = vec_key("rekor/rekor-public-good.pub");
        ks->trust.tlog_keys = &ks->rekor;
        ks->trust.ntlog_keys = 1;
    }
    ks->trust.require_tlog = require_tlog;
}

static void
keys_free(struct keys *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        ferry_sig_key_free(ks->k[i]);
    ferry_sig_key_free(ks->rekor);
    memset(ks, 0, sizeof *ks);
}

/* Assert a failed check: the code, the reason, and the message has `text`. */
static void
expect_fail(int r, struct ferry_error **err, const struct ferry_sig_result *res,
            enum ferry_status code, enum ferry_sig_reason reason, const char *text)
{
    if (r != -(int)code || res->reason != reason)
        fail_msg("want %s (%s), got %d / %s: %s", ferry_strerror(code),
                 ferry_sig_reason_name(reason), r, ferry_sig_reason_name(res->reason),
                 *err != NULL ? (*err)->msg : "(no error)");
    assert_non_null(*err);
    if (text != NULL && strstr((*err)->msg, text) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", (*err)->msg, text);
    ferry_error_clear(err);
}

static void
expect_ok(int r, struct ferry_error **err, const struct ferry_sig_result *res)
{
    if (r != 0)
        fail_msg("verification failed (%s): %s", ferry_sig_reason_name(res->reason),
                 *err != NULL ? (*err)->msg : "(no error)");
    assert_int_equal(res->reason, FERRY_SIG_VERIFIED);
    assert_null(*err);
}

/* Change one character of the value of the first "key" in a JSON text,
 * `back` characters before the end of the value, to another character of
 * the same class (base64 letter or digit), so the text still parses. */
static void
tamper(char *text, const char *key, size_t back)
{
    char pat[128];
    char *p, *start, *end;

    snprintf(pat, sizeof pat, "\"%s\"", key);
    p = strstr(text, pat);
    assert_non_null(p);
    p += strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    if (*p == '"') {
        start = p + 1;
        end = strchr(start, '"');
    } else {
        start = p;
        end = p;
        while (*end >= '0' && *end <= '9')
            end++;
    }
    assert_non_null(end);
    while (end > start && end[-1] == '=')
        end--; /* base64 padding stays */
    assert_true((size_t)(end - start) > back);
    p = end - 1 - back;
    if (*p >= '0' && *p <= '9')
        *p = *p == '9' ? '1' : (char)(*p + 1);
    else
        *p = *p == 'A' ? 'B' : 'A';
}

/* ---- keys ------------------------------------------------------------------------ */

static void
test_key_load_vectors(void **state)
{
    static const char *const files[] = {
        "v01-legacy-key/cosign.pub",
        "v02-legacy-key-rekor/cosign2.pub",
        "v06-bundle-v03-key-msgsig/key.pub",
        "v07-bundle-v01-key-dsse/key.pub", /* one long base64 line */
        "v10-bundle-v03-key-msgsig-notlog/key.pub",
        "v11-bundle-v01-key-dsse-plain/key.pub",
        "v12-legacy-sig-manifest-cosign-v3/cosign.pub",
        "v13-bundle-v03-key-dsse-cosign-v3/bundle-cosign.pub",
        "rekor/rekor-public-good.pub",
    };
    NEED_VEC(dir, "README.md");
    (void)state;
    (void)dir;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct ferry_sig_key *k = vec_key(files[i]);
        assert_int_equal(ferry_sig_key_type(k), FERRY_SIG_KEY_ECDSA_P256);
        assert_string_equal(ferry_sig_key_describe(k), "ecdsa-p256");
        assert_int_equal(strlen(ferry_sig_key_id(k)), FERRY_SIGSTORE_KEY_ID_LEN);
        ferry_sig_key_free(k);
    }
    /* the id is sha256(DER SPKI): Rekor's log id, and cosign's bundle hint */
    {
        struct ferry_sig_key *k = vec_key("rekor/rekor-public-good.pub");
        assert_string_equal(ferry_sig_key_id(k),
                            "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d");
        ferry_sig_key_free(k);
        k = vec_key("v06-bundle-v03-key-msgsig/key.pub");
        assert_string_equal(ferry_sig_key_id(k),
                            "4cb32c4837c6dda8cfb1681efb3fef5f94ffce5b979e6bdb9139302c857af139");
        ferry_sig_key_free(k);
    }
    ferry_sig_key_free(NULL);
    assert_string_equal(ferry_sig_key_id(NULL), "");
}

static void
test_key_load_dhi_keyring(void **state)
{
    struct ferry_sig_key *k1, *k2;
    NEED_VEC(dir, "dhi-keyring/dhi-1.pub");
    (void)state;
    (void)dir;
    k1 = vec_key("dhi-keyring/dhi-1.pub");
    k2 = vec_key("dhi-keyring/dhi-2.pub");
    assert_int_equal(ferry_sig_key_type(k1), FERRY_SIG_KEY_ECDSA_P256);
    assert_int_equal(ferry_sig_key_type(k2), FERRY_SIG_KEY_ECDSA_P256);
    assert_string_not_equal(ferry_sig_key_id(k1), ferry_sig_key_id(k2));
    ferry_sig_key_free(k1);
    ferry_sig_key_free(k2);
}

/* n05: the conformance suite's damaged key PEM */
static void
test_n05_wrong_key_pem(void **state)
{
    struct ferry_sig_key *k = NULL;
    struct ferry_error *err = NULL;
    NEED_VEC(path, "n05-bundle-wrong-key/key.pub");
    (void)state;
    assert_int_equal(ferry_sig_key_load_file(path, &k, &err), -FERRY_E_INVALID);
    assert_null(k);
    assert_non_null(strstr(err->msg, path));
    ferry_error_clear(&err);
}

static void
test_key_load_rejects(void **state)
{
    static const char good[] = "-----BEGIN PUBLIC KEY-----\n"
                               "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFNLqFhf4fiN6o/glAuYnq2jYUeL0\n"
                               "vRuLu/z39pmbVwS9ff5AYnlwaP9sxREajdLY9ynM6G1sy6AAmb7Z63TsLg==\n"
                               "-----END PUBLIC KEY-----\n";
    struct ferry_sig_key *k = NULL;
    struct ferry_error *err = NULL;
    char buf[1024], *big;
    size_t n = strlen(good);
    (void)state;

    /* the good one, with CRLF and surrounding whitespace */
    FERRY_ASSERT_OK(ferry_sig_key_load(good, n, &k, &err), &err);
    ferry_sig_key_free(k);
    k = NULL;
    {
        size_t j = 0;
        buf[j++] = '\n';
        for (size_t i = 0; i < n; i++) {
            if (good[i] == '\n')
                buf[j++] = '\r';
            buf[j++] = good[i];
        }
        FERRY_ASSERT_OK(ferry_sig_key_load(buf, j, &k, &err), &err);
        ferry_sig_key_free(k);
        k = NULL;
    }
    /* text before or after the block */
    snprintf(buf, sizeof buf, "junk\n%s", good);
    assert_int_equal(ferry_sig_key_load(buf, strlen(buf), &k, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    snprintf(buf, sizeof buf, "%sjunk\n", good);
    assert_int_equal(ferry_sig_key_load(buf, strlen(buf), &k, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    /* two blocks */
    snprintf(buf, sizeof buf, "%s%s", good, good);
    assert_int_equal(ferry_sig_key_load(buf, strlen(buf), &k, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    /* a header line */
    snprintf(buf, sizeof buf, "-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\n%s",
             good + strlen("-----BEGIN PUBLIC KEY-----\n"));
    assert_int_equal(ferry_sig_key_load(buf, strlen(buf), &k, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    /* another label, a mismatched end, truncated DER, empty input */
    snprintf(buf, sizeof buf, "%s", good);
    memcpy(buf + strlen("-----BEGIN "), "PUBLIX", 6);
    assert_int_equal(ferry_sig_key_load(buf, strlen(buf), &k, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    snprintf(buf, sizeof buf,
             "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFNLqFhf4fiN6o/gl\n"
             "-----END PUBLIC KEY-----\n");
    assert_int_equal(ferry_sig_key_load(buf, strlen(buf), &k, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    assert_int_equal(ferry_sig_key_load("", 0, &k, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    /* over the cap */
    big = ferry_malloc(FERRY_SIGSTORE_MAX_KEY + 2);
    assert_non_null(big);
    memset(big, ' ', FERRY_SIGSTORE_MAX_KEY + 1);
    memcpy(big, good, n);
    assert_int_equal(ferry_sig_key_load(big, FERRY_SIGSTORE_MAX_KEY + 1, &k, &err),
                     -FERRY_E_TOO_LARGE);
    ferry_error_clear(&err);
    ferry_free(big);
    assert_null(k);
}

static void
test_key_load_file_rejects(void **state)
{
    struct ferry_sig_key *k = NULL;
    struct ferry_error *err = NULL;
    (void)state;

    assert_int_equal(ferry_sig_key_load_file("/nonexistent/ferry/key.pub", &k, &err),
                     -FERRY_E_NOT_FOUND);
    assert_non_null(strstr(err->msg, "/nonexistent/ferry/key.pub"));
    ferry_error_clear(&err);
    assert_true(ferry_sig_key_load_file("/tmp", &k, &err) < 0);
    ferry_error_clear(&err);
    assert_null(k);
}

/* A v03 certificate is not a "PUBLIC KEY". */
static void
test_key_load_refuses_certificate(void **state)
{
    struct ferry_sig_key *k = NULL;
    struct ferry_error *err = NULL;
    size_t len;
    char *pem = vec_read("v03-legacy-fulcio-rekor/certificate.pem", &len);
    (void)state;

    if (pem == NULL)
        FERRY_SKIP("cosign vectors not present");
    assert_int_equal(ferry_sig_key_load(pem, len, &k, &err), -FERRY_E_INVALID);
    assert_non_null(strstr(err->msg, "CERTIFICATE"));
    ferry_error_clear(&err);
    /* the module's own reader takes its key */
    FERRY_ASSERT_OK(ferry_sig_key_from_pem_any(pem, len, "certificate", &k, &err), &err);
    assert_int_equal(ferry_sig_key_type(k), FERRY_SIG_KEY_ECDSA_P256);
    ferry_sig_key_free(k);
    ferry_free(pem);
}

/* ---- keys made here: the types no vector covers ------------------------------------ */

static char *
pem_of(EVP_PKEY *pk, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *out;
    long n;

    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, pk), 1);
    n = BIO_get_mem_data(bio, &data);
    assert_true(n > 0);
    out = ferry_strndup(data, (size_t)n);
    *len = (size_t)n;
    BIO_free(bio);
    return out;
}

enum sig_style { STYLE_DEFAULT, STYLE_P1363, STYLE_PSS };

/* Sign msg with pk (SHA-256 unless md given; pure for Ed25519). */
static unsigned char *
sign_with(EVP_PKEY *pk, const EVP_MD *md, enum sig_style style, const void *msg, size_t len,
          size_t *siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig;
    size_t n = 0;
    bool ed = EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519;

    assert_non_null(ctx);
    assert_int_equal(EVP_DigestSignInit(ctx, &pctx, ed ? NULL : md, NULL, pk), 1);
    if (style == STYLE_PSS) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0);
    }
    assert_int_equal(EVP_DigestSign(ctx, NULL, &n, msg, len), 1);
    sig = ferry_malloc(n);
    assert_non_null(sig);
    assert_int_equal(EVP_DigestSign(ctx, sig, &n, msg, len), 1);
    EVP_MD_CTX_free(ctx);
    if (style == STYLE_P1363) {
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
        size_t field = ((size_t)EVP_PKEY_get_bits(pk) + 7) / 8;
        unsigned char *raw = ferry_malloc(2 * field);
        assert_non_null(es);
        assert_non_null(raw);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)field), (int)field);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + field, (int)field), (int)field);
        ECDSA_SIG_free(es);
        ferry_free(sig);
        sig = raw;
        n = 2 * field;
    }
    *siglen = n;
    return sig;
}

static const char made_digest[] =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";

static char *
made_payload(void)
{
    return ferry_asprintf("{\"critical\":{\"identity\":{\"docker-reference\":\"example.com/app\"},"
                          "\"image\":{\"docker-manifest-digest\":\"%s\"},\"type\":\"cosign "
                          "container image signature\"},\"optional\":null}",
                          made_digest);
}

/* Sign a simple-signing payload with pk and verify it through the API;
 * then a bundle messageSignature over the same payload as the artifact,
 * with the bytes and with only the digest. */
static void
roundtrip(EVP_PKEY *pk, enum ferry_sig_key_type type, enum sig_style style, const EVP_MD *md)
{
    struct ferry_sig_key *k = NULL;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    struct ferry_cosign_layer layer = {0};
    struct ferry_sig_trust trust = {0};
    struct ferry_digest art;
    unsigned char *sig, hash[32];
    char *pem, *payload = made_payload(), *b64, *hash64, *bundle;
    size_t pem_len, siglen;
    int r;

    pem = pem_of(pk, &pem_len);
    FERRY_ASSERT_OK(ferry_sig_key_load(pem, pem_len, &k, &err), &err);
    assert_int_equal(ferry_sig_key_type(k), type);
    trust.keys = &k;
    trust.nkeys = 1;

    sig = sign_with(pk, md != NULL ? md : EVP_sha256(), style, payload, strlen(payload), &siglen);
    b64 = ferry_sig_b64_encode(sig, siglen);
    layer.payload = payload;
    layer.payload_len = strlen(payload);
    layer.signature = b64;
    r = ferry_cosign_verify_simple(&layer, &trust, made_digest, &res, &err);
    expect_ok(r, &err, &res);
    assert_string_equal(res.key_id, ferry_sig_key_id(k));
    assert_string_equal(res.identity, "example.com/app");
    ferry_sig_result_clear(&res);

    /* one bit of the signature off */
    sig[siglen / 2] ^= 0x01;
    ferry_free(b64);
    b64 = ferry_sig_b64_encode(sig, siglen);
    layer.signature = b64;
    r = ferry_cosign_verify_simple(&layer, &trust, made_digest, &res, &err);
    expect_fail(r, &err, &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_WRONG_KEY, NULL);
    sig[siglen / 2] ^= 0x01;

    /* the same signature as a bundle messageSignature over the payload */
    ferry_free(b64);
    b64 = ferry_sig_b64_encode(sig, siglen);
    ferry_sig_sha256(payload, strlen(payload), hash);
    hash64 = ferry_sig_b64_encode(hash, 32);
    bundle = ferry_asprintf("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
                            "\"verificationMaterial\":{\"publicKey\":{\"hint\":\"made\"}},"
                            "\"messageSignature\":{\"messageDigest\":{\"algorithm\":\"SHA2_256\","
                            "\"digest\":\"%s\"},\"signature\":\"%s\"}}",
                            hash64, b64);
    ferry_digest_buffer(FERRY_DIGEST_SHA256, payload, strlen(payload), &art);
    r = ferry_sigstore_bundle_verify(bundle, strlen(bundle), &trust, NULL, payload, strlen(payload),
                                     &res, &err);
    expect_ok(r, &err, &res);
    ferry_sig_result_clear(&res);
    r = ferry_sigstore_bundle_verify(bundle, strlen(bundle), &trust, art.str, NULL, 0, &res, &err);
    if (type == FERRY_SIG_KEY_ED25519) {
        /* pure Ed25519 cannot be checked against a digest */
        expect_fail(r, &err, &res, FERRY_E_UNSUPPORTED, FERRY_SIG_UNSUPPORTED, "ed25519");
    } else if (md != NULL && md != EVP_sha256()) {
        /* signed over SHA-384/512: the SHA-256 digest alone cannot show it */
        expect_fail(r, &err, &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_WRONG_KEY, NULL);
    } else {
        expect_ok(r, &err, &res);
    }
    ferry_sig_result_clear(&res);

    ferry_free(bundle);
    ferry_free(hash64);
    ferry_free(b64);
    ferry_free(sig);
    ferry_free(payload);
    ferry_free(pem);
    ferry_sig_key_free(k);
}

static void
test_made_ecdsa(void **state)
{
    static const struct {
        const char *curve;
        enum ferry_sig_key_type type;
        const EVP_MD *(*md)(void);
    } cases[] = {
        {"P-256", FERRY_SIG_KEY_ECDSA_P256, EVP_sha256},
        {"P-384", FERRY_SIG_KEY_ECDSA_P384, EVP_sha256},
        {"P-384", FERRY_SIG_KEY_ECDSA_P384, EVP_sha384},
        {"P-521", FERRY_SIG_KEY_ECDSA_P521, EVP_sha256},
        {"P-521", FERRY_SIG_KEY_ECDSA_P521, EVP_sha512},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", cases[i].curve);
        assert_non_null(pk);
        roundtrip(pk, cases[i].type, STYLE_DEFAULT, cases[i].md());
        roundtrip(pk, cases[i].type, STYLE_P1363, cases[i].md());
        EVP_PKEY_free(pk);
    }
}

static void
test_made_rsa(void **state)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    struct ferry_sig_key *spki = NULL, *pkcs1 = NULL;
    struct ferry_error *err = NULL;
    OSSL_ENCODER_CTX *enc;
    unsigned char *pem = NULL;
    size_t pem_len = 0;
    char *spki_pem;
    (void)state;
    assert_non_null(pk);
    roundtrip(pk, FERRY_SIG_KEY_RSA, STYLE_DEFAULT, NULL);
    roundtrip(pk, FERRY_SIG_KEY_RSA, STYLE_PSS, NULL);

    /* "RSA PUBLIC KEY" (PKCS#1), which cosign also reads: the same key id */
    enc = OSSL_ENCODER_CTX_new_for_pkey(pk, EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific", NULL);
    assert_non_null(enc);
    assert_int_equal(OSSL_ENCODER_to_data(enc, &pem, &pem_len), 1);
    OSSL_ENCODER_CTX_free(enc);
    assert_non_null(strstr((const char *)pem, "-----BEGIN RSA PUBLIC KEY-----"));
    FERRY_ASSERT_OK(ferry_sig_key_load(pem, pem_len, &pkcs1, &err), &err);
    spki_pem = pem_of(pk, &pem_len);
    FERRY_ASSERT_OK(ferry_sig_key_load(spki_pem, pem_len, &spki, &err), &err);
    assert_string_equal(ferry_sig_key_id(pkcs1), ferry_sig_key_id(spki));
    assert_string_equal(ferry_sig_key_describe(pkcs1), "rsa-2048");
    ferry_sig_key_free(pkcs1);
    ferry_sig_key_free(spki);
    ferry_free(spki_pem);
    OPENSSL_free(pem);
    EVP_PKEY_free(pk);
}

static void
test_made_ed25519(void **state)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    (void)state;
    assert_non_null(pk);
    roundtrip(pk, FERRY_SIG_KEY_ED25519, STYLE_DEFAULT, NULL);
    EVP_PKEY_free(pk);
}

static void
test_made_unsupported_keys(void **state)
{
    struct {
        EVP_PKEY *pk;
        const char *text;
    } cases[3];
    (void)state;
    cases[0].pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    cases[0].text = "1024 bits";
    cases[1].pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    cases[1].text = "secp256k1";
    cases[2].pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    cases[2].text = "not supported";
    for (size_t i = 0; i < 3; i++) {
        struct ferry_sig_key *k = NULL;
        struct ferry_error *err = NULL;
        size_t len;
        char *pem;
        assert_non_null(cases[i].pk);
        pem = pem_of(cases[i].pk, &len);
        assert_int_equal(ferry_sig_key_load(pem, len, &k, &err), -FERRY_E_UNSUPPORTED);
        assert_non_null(strstr(err->msg, cases[i].text));
        assert_null(k);
        ferry_error_clear(&err);
        ferry_free(pem);
        EVP_PKEY_free(cases[i].pk);
    }
}

/* ---- legacy simple signing -------------------------------------------------------------- */

struct legacy {
    char *payload;
    size_t payload_len;
    char *sig;
    char *bundle;
    char *cert;
    struct ferry_cosign_layer layer;
    struct ferry_digest image;
};

static bool
legacy_load(struct legacy *l, const char *dir)
{
    char rel[256];

    memset(l, 0, sizeof *l);
    snprintf(rel, sizeof rel, "%s/payload.json", dir);
    l->payload = vec_read(rel, &l->payload_len);
    if (l->payload == NULL)
        return false;
    snprintf(rel, sizeof rel, "%s/signature.b64", dir);
    l->sig = vec_line(rel);
    snprintf(rel, sizeof rel, "%s/rekor-bundle.json", dir);
    l->bundle = vec_read(rel, NULL);
    snprintf(rel, sizeof rel, "%s/certificate.pem", dir);
    l->cert = vec_read(rel, NULL);
    snprintf(rel, sizeof rel, "%s/image-manifest.json", dir);
    vec_digest(rel, &l->image);
    l->layer.payload = l->payload;
    l->layer.payload_len = l->payload_len;
    l->layer.signature = l->sig;
    l->layer.rekor_bundle = l->bundle;
    l->layer.certificate = l->cert;
    return true;
}

static void
legacy_free(struct legacy *l)
{
    ferry_free(l->payload);
    ferry_free(l->sig);
    ferry_free(l->bundle);
    ferry_free(l->cert);
}

#define NEED_LEGACY(l, dir)                                                                        \
    struct legacy l;                                                                               \
    if (!legacy_load(&l, dir)) {                                                                   \
        FERRY_SKIP("cosign vectors not present");                                                  \
        return;                                                                                    \
    }

static void
test_v01_legacy_key(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    NEED_LEGACY(l, "v01-legacy-key");
    (void)state;

    keys_init(&ks, false, false, "v01-legacy-key/cosign.pub", NULL);
    expect_ok(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err, &res);
    assert_int_equal(res.key_index, 0);
    assert_string_equal(res.key_id, ferry_sig_key_id(ks.k[0]));
    assert_string_equal(res.identity, "192.168.64.2:5000/cosign-signed-single-sample");
    assert_true(res.claim_checked);
    assert_int_equal(res.tlog, FERRY_TLOG_NOT_CHECKED);
    ferry_sig_result_clear(&res);
    keys_free(&ks);

    /* any one of several keys; the result names which */
    keys_init(&ks, false, false, "v02-legacy-key-rekor/cosign2.pub", "dhi-keyring/dhi-2.pub",
              "v01-legacy-key/cosign.pub", NULL);
    expect_ok(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err, &res);
    assert_int_equal(res.key_index, 2);
    assert_string_equal(res.key_id, ferry_sig_key_id(ks.k[2]));
    ferry_sig_result_clear(&res);
    keys_free(&ks);
    legacy_free(&l);
}

static void
test_v01_legacy_tamper(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    struct ferry_digest other;
    char *sig2;
    NEED_LEGACY(l, "v01-legacy-key");
    (void)state;

    keys_init(&ks, false, false, "v01-legacy-key/cosign.pub", NULL);
    /* payload: one byte inside the image digest it claims */
    {
        char *p = strstr(l.payload, "sha256:634a");
        assert_non_null(p);
        p[10] = 'b';
        expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err,
                    &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_WRONG_KEY, "cosign signature for");
        p[10] = 'a';
    }
    /* signature: a character inside the DER s integer */
    sig2 = ferry_strdup(l.sig);
    sig2[strlen(sig2) - 5] = sig2[strlen(sig2) - 5] == 'A' ? 'B' : 'A';
    l.layer.signature = sig2;
    expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_WRONG_KEY, NULL);
    /* a signature that is not base64 */
    sig2[3] = '*';
    expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_INVALID, FERRY_SIG_MALFORMED, "base64");
    l.layer.signature = l.sig;
    ferry_free(sig2);
    /* the image being verified: another digest than the payload claims */
    ferry_digest_buffer(FERRY_DIGEST_SHA256, "other", 5, &other);
    expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, other.str, &res, &err), &err, &res,
                FERRY_E_DIGEST_MISMATCH, FERRY_SIG_DIGEST_MISMATCH, other.str);
    /* no signature */
    l.layer.signature = "";
    expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_SIGNATURE, FERRY_SIG_NO_SIGNATURE, NULL);
    l.layer.signature = NULL;
    expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_SIGNATURE, FERRY_SIG_NO_SIGNATURE, NULL);
    l.layer.signature = l.sig;
    /* no keys at all */
    ks.trust.nkeys = 0;
    expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_WRONG_KEY, NULL);
    ks.trust.nkeys = 1;
    keys_free(&ks);
    legacy_free(&l);
}

/* Go's StdEncoding skips CR/LF: a signature from `openssl | base64` carries
 * newlines; and sigstore accepts IEEE P1363 r||s. */
static void
test_v01_signature_forms(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    unsigned char *der = NULL, raw[64];
    size_t der_len = 0;
    char *wrapped, *raw64;
    NEED_LEGACY(l, "v01-legacy-key");
    (void)state;

    keys_init(&ks, false, false, "v01-legacy-key/cosign.pub", NULL);
    wrapped = ferry_asprintf("%.40s\n%s\r\n", l.sig, l.sig + 40);
    l.layer.signature = wrapped;
    expect_ok(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err, &res);
    ferry_sig_result_clear(&res);

    FERRY_ASSERT_OK(
        ferry_sig_b64_decode(l.sig, strlen(l.sig), false, 1024, "sig", &der, &der_len, &err), &err);
    {
        const unsigned char *p = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
        assert_non_null(es);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32), 32);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32), 32);
        ECDSA_SIG_free(es);
    }
    raw64 = ferry_sig_b64_encode(raw, sizeof raw);
    l.layer.signature = raw64;
    expect_ok(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err, &res);
    ferry_sig_result_clear(&res);
    /* r||s one byte short is neither form */
    raw64[strlen(raw64) - 4] = '\0';
    expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_WRONG_KEY, NULL);
    ferry_free(raw64);
    ferry_free(der);
    ferry_free(wrapped);
    keys_free(&ks);
    legacy_free(&l);
}

/* The payload is read strictly: keys, types, critical.type. */
static void
test_simple_payload_strict(void **state)
{
    static const char *const payloads[] = {
        /* type */
        "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-"
        "digest\":\"%s\"},\"type\":\"atomic container signature\"},\"optional\":null}",
        /* an unknown critical key */
        "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-"
        "digest\":\"%s\"},\"type\":\"cosign container image signature\",\"x\":1},\"optional\":"
        "null}",
        /* a key in another case */
        "{\"Critical\":{\"image\":{\"docker-manifest-digest\":\"%s\"},\"type\":\"cosign container "
        "image signature\"}}",
        /* a duplicate key */
        "{\"critical\":{\"image\":{\"docker-manifest-digest\":\"%s\"},\"type\":\"cosign container "
        "image signature\",\"type\":\"cosign container image signature\"}}",
        /* the digest not a string */
        "{\"critical\":{\"image\":{\"docker-manifest-digest\":[\"%s\"]},\"type\":\"cosign "
        "container image signature\"}}",
        /* not an object */
        "[\"%s\"]",
    };
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    struct ferry_sig_key *k = NULL;
    struct ferry_sig_trust trust = {0};
    struct ferry_error *err = NULL;
    struct ferry_sig_result res;
    size_t pem_len;
    char *pem;
    (void)state;

    assert_non_null(pk);
    pem = pem_of(pk, &pem_len);
    FERRY_ASSERT_OK(ferry_sig_key_load(pem, pem_len, &k, &err), &err);
    trust.keys = &k;
    trust.nkeys = 1;
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        struct ferry_cosign_layer layer = {0};
        char *payload = ferry_asprintf(payloads[i], made_digest), *b64;
        size_t siglen;
        unsigned char *sig =
            sign_with(pk, EVP_sha256(), STYLE_DEFAULT, payload, strlen(payload), &siglen);
        b64 = ferry_sig_b64_encode(sig, siglen);
        layer.payload = payload;
        layer.payload_len = strlen(payload);
        layer.signature = b64;
        expect_fail(ferry_cosign_verify_simple(&layer, &trust, made_digest, &res, &err), &err, &res,
                    FERRY_E_INVALID, FERRY_SIG_MALFORMED, NULL);
        ferry_free(b64);
        ferry_free(sig);
        ferry_free(payload);
    }
    ferry_sig_key_free(k);
    ferry_free(pem);
    EVP_PKEY_free(pk);
}

static void
test_v02_legacy_rekor(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    NEED_LEGACY(l, "v02-legacy-key-rekor");
    (void)state;

    /* without a Rekor key: passes, tlog not checked */
    keys_init(&ks, false, false, "v02-legacy-key-rekor/cosign2.pub", NULL);
    expect_ok(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err, &res);
    assert_int_equal(res.tlog, FERRY_TLOG_NOT_CHECKED);
    assert_string_equal(ferry_tlog_status_name(res.tlog), "tlog not checked");
    ferry_sig_result_clear(&res);
    keys_free(&ks);

    /* with it: the SET verifies and names this signature */
    keys_init(&ks, true, true, "v02-legacy-key-rekor/cosign2.pub", NULL);
    expect_ok(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err, &res);
    assert_int_equal(res.tlog, FERRY_TLOG_VERIFIED);
    assert_int_equal(res.tlog_integrated_time, 1674251859);
    assert_int_equal(res.tlog_log_index, 11608800);
    ferry_sig_result_clear(&res);
    keys_free(&ks);
    legacy_free(&l);
}

static void
test_v02_legacy_rekor_tamper(void **state)
{
    static const struct {
        const char *key;
        size_t back;
    } cases[] = {
        {"SignedEntryTimestamp", 4},
        {"integratedTime", 0},
        {"logIndex", 0},
        {"body", 300},
        {"logID", 3},
    };
    struct keys ks, nolog;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    char *orig;
    NEED_LEGACY(l, "v02-legacy-key-rekor");
    (void)state;

    keys_init(&ks, true, false, "v02-legacy-key-rekor/cosign2.pub", NULL);
    keys_init(&nolog, false, false, "v02-legacy-key-rekor/cosign2.pub", NULL);
    orig = ferry_strdup(l.bundle);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(l.bundle, orig, strlen(orig));
        tamper(l.bundle, cases[i].key, cases[i].back);
        expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err,
                    &res, FERRY_E_SIGNATURE, FERRY_SIG_BAD_TLOG, "tlog entry");
        /* without a Rekor key the SET is not looked at */
        expect_ok(ferry_cosign_verify_simple(&l.layer, &nolog.trust, l.image.str, &res, &err), &err,
                  &res);
        assert_int_equal(res.tlog, FERRY_TLOG_NOT_CHECKED);
        ferry_sig_result_clear(&res);
    }
    memcpy(l.bundle, orig, strlen(orig));
    ferry_free(orig);
    keys_free(&nolog);

    /* a valid SET for another signature: v01's layer with v02's bundle */
    {
        NEED_LEGACY(v1, "v01-legacy-key");
        struct keys both;
        keys_init(&both, true, false, "v01-legacy-key/cosign.pub",
                  "v02-legacy-key-rekor/cosign2.pub", NULL);
        v1.layer.rekor_bundle = l.bundle;
        expect_fail(ferry_cosign_verify_simple(&v1.layer, &both.trust, v1.image.str, &res, &err),
                    &err, &res, FERRY_E_SIGNATURE, FERRY_SIG_BAD_TLOG, "sha256");
        keys_free(&both);
        legacy_free(&v1);
    }
    /* a log whose key was not given */
    ferry_sig_key_free(ks.rekor);
    ks.rekor = vec_key("v01-legacy-key/cosign.pub");
    expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_SIGNATURE, FERRY_SIG_BAD_TLOG, "whose key was not given");
    keys_free(&ks);
    legacy_free(&l);
}

static void
test_v03_legacy_fulcio(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    NEED_LEGACY(l, "v03-legacy-fulcio-rekor");
    (void)state;

    assert_non_null(l.cert);
    keys_init(&ks, false, false, "v01-legacy-key/cosign.pub", NULL);
    expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_UNSUPPORTED, FERRY_SIG_NEEDS_TRUSTED_ROOT,
                "certificate-based: needs a trusted root");
    keys_free(&ks);
    /* with the Rekor key its SET (naming the certificate) checks out first */
    keys_init(&ks, true, false, "v01-legacy-key/cosign.pub", NULL);
    expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_UNSUPPORTED, FERRY_SIG_NEEDS_TRUSTED_ROOT, "needs a trusted root");
    assert_int_equal(res.tlog, FERRY_TLOG_VERIFIED);
    /* a damaged signature is refused as such, not as unsupported */
    l.sig[strlen(l.sig) - 5] = l.sig[strlen(l.sig) - 5] == 'A' ? 'B' : 'A';
    expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_SIGNATURE, FERRY_SIG_BAD_SIGNATURE, "certificate");
    keys_free(&ks);
    legacy_free(&l);
}

static void
test_v04_legacy_optional(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    NEED_LEGACY(l, "v04-legacy-optional");
    (void)state;

    keys_init(&ks, false, false, "v04-legacy-optional/cosign.pub", NULL);
    expect_ok(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err, &res);
    assert_string_equal(res.identity, "192.168.64.2:5000/skopeo-signed:tag");
    ferry_sig_result_clear(&res);
    keys_free(&ks);
    legacy_free(&l);
}

static void
test_n01_legacy_unknown_key(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    struct ferry_cosign_layer layer = {0};
    struct ferry_digest image;
    size_t len;
    char *payload = vec_read("n01-legacy-unknown-key/payload.json", &len), *sig;
    (void)state;

    if (payload == NULL)
        FERRY_SKIP("cosign vectors not present");
    sig = vec_line("n01-legacy-unknown-key/signature.b64");
    vec_digest("v01-legacy-key/image-manifest.json", &image);
    keys_init(&ks, false, false, "n01-legacy-unknown-key/cosign.pub",
              "n01-legacy-unknown-key/cosign2.pub", NULL);
    layer.payload = payload;
    layer.payload_len = len;
    layer.signature = sig;
    expect_fail(ferry_cosign_verify_simple(&layer, &ks.trust, image.str, &res, &err), &err, &res,
                FERRY_E_UNTRUSTED_KEY, FERRY_SIG_WRONG_KEY, "2 given keys");
    assert_string_equal(ferry_sig_reason_name(res.reason), "wrong key");
    keys_free(&ks);
    ferry_free(sig);
    ferry_free(payload);
}

static void
test_n02_legacy_modified_manifest(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    NEED_LEGACY(l, "n02-legacy-modified-manifest");
    (void)state;

    keys_init(&ks, false, false, "n02-legacy-modified-manifest/cosign.pub", NULL);
    expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_DIGEST_MISMATCH, FERRY_SIG_DIGEST_MISMATCH, l.image.str);
    keys_free(&ks);
    legacy_free(&l);
}

/* v12: the exact .sig manifest cosign v3 wrote; its layer descriptor gives
 * the payload digest and the signature annotation. */
static void
test_v12_legacy_sig_manifest(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    struct ferry_cosign_layer layer = {0};
    json_t *m, *l0, *ann;
    json_error_t jerr;
    size_t len, mlen;
    char *payload = vec_read("v12-legacy-sig-manifest-cosign-v3/payload.json", &len);
    char *manifest, *subject;
    (void)state;

    if (payload == NULL)
        FERRY_SKIP("cosign vectors not present");
    manifest = vec_read("v12-legacy-sig-manifest-cosign-v3/sig-manifest.json", &mlen);
    subject = vec_line("v12-legacy-sig-manifest-cosign-v3/subject-digest.txt");
    m = json_loadb(manifest, mlen, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(m);
    assert_int_equal(json_array_size(json_object_get(m, "layers")), 1);
    l0 = json_array_get(json_object_get(m, "layers"), 0);
    assert_string_equal(json_string_value(json_object_get(l0, "mediaType")),
                        "application/vnd.dev.cosign.simplesigning.v1+json");
    ann = json_object_get(l0, "annotations");
    layer.payload = payload;
    layer.payload_len = len;
    layer.payload_digest = json_string_value(json_object_get(l0, "digest"));
    layer.signature = json_string_value(json_object_get(ann, "dev.cosignproject.cosign/signature"));
    assert_non_null(layer.payload_digest);
    keys_init(&ks, false, false, "v12-legacy-sig-manifest-cosign-v3/cosign.pub", NULL);
    expect_ok(ferry_cosign_verify_simple(&layer, &ks.trust, subject, &res, &err), &err, &res);
    assert_string_equal(res.identity, "localhost:15381/tobby/fixture");
    ferry_sig_result_clear(&res);
    /* a changed blob is caught by the layer digest first */
    payload[20] ^= 0x01;
    expect_fail(ferry_cosign_verify_simple(&layer, &ks.trust, subject, &res, &err), &err, &res,
                FERRY_E_DIGEST_MISMATCH, FERRY_SIG_DIGEST_MISMATCH, "signature payload");
    payload[20] ^= 0x01;
    keys_free(&ks);
    json_decref(m);
    ferry_free(subject);
    ferry_free(manifest);
    ferry_free(payload);
}

/* ---- DSSE ---------------------------------------------------------------------------------- */

static void
test_v05_dsse(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    struct ferry_digest blob;
    size_t len;
    char *env = vec_read("v05-dsse-att-key/envelope.json", &len);
    (void)state;

    if (env == NULL)
        FERRY_SKIP("cosign vectors not present");
    vec_digest("v05-dsse-att-key/blob", &blob);
    keys_init(&ks, false, false, "v05-dsse-att-key/cosign.pub", NULL);
    expect_ok(ferry_dsse_verify(env, len, &ks.trust, blob.str, &res, &err), &err, &res);
    assert_true(res.claim_checked);
    assert_string_equal(res.payload_type, "application/vnd.in-toto+json");
    assert_string_equal(res.predicate_type, "https://slsa.dev/provenance/v0.2");
    ferry_sig_result_clear(&res);
    /* no subject asked: the signature alone */
    expect_ok(ferry_dsse_verify(env, len, &ks.trust, NULL, &res, &err), &err, &res);
    assert_false(res.claim_checked);
    ferry_sig_result_clear(&res);
    /* an envelope carries no log entry */
    keys_free(&ks);
    keys_init(&ks, true, true, "v05-dsse-att-key/cosign.pub", NULL);
    expect_fail(ferry_dsse_verify(env, len, &ks.trust, blob.str, &res, &err), &err, &res,
                FERRY_E_SIGNATURE, FERRY_SIG_TLOG_MISSING, NULL);
    keys_free(&ks);
    ferry_free(env);
}

static void
test_v05_dsse_tamper(void **state)
{
    static const struct {
        const char *key;
        size_t back;
    } cases[] = {{"payloadType", 6}, {"payload", 10}, {"sig", 4}};
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    struct ferry_digest blob, other;
    size_t len;
    char *env = vec_read("v05-dsse-att-key/envelope.json", &len), *orig;
    (void)state;

    if (env == NULL)
        FERRY_SKIP("cosign vectors not present");
    vec_digest("v05-dsse-att-key/blob", &blob);
    keys_init(&ks, false, false, "v05-dsse-att-key/cosign.pub", NULL);
    orig = ferry_strdup(env);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(env, orig, len);
        tamper(env, cases[i].key, cases[i].back);
        expect_fail(ferry_dsse_verify(env, len, &ks.trust, blob.str, &res, &err), &err, &res,
                    FERRY_E_UNTRUSTED_KEY, FERRY_SIG_WRONG_KEY, "dsse envelope");
    }
    memcpy(env, orig, len);
    /* the subject: another blob */
    ferry_digest_buffer(FERRY_DIGEST_SHA256, "some-payloae", 12, &other);
    expect_fail(ferry_dsse_verify(env, len, &ks.trust, other.str, &res, &err), &err, &res,
                FERRY_E_DIGEST_MISMATCH, FERRY_SIG_SUBJECT_MISMATCH, other.str);
    /* a keyid does not pick the key (cosign ignores it) */
    {
        char *p = strstr(env, "\"keyid\":\"\""), *withid;
        assert_non_null(p);
        withid = ferry_asprintf("%.*s\"keyid\":\"SHA256:nope\"%s", (int)(p - env), env, p + 10);
        expect_ok(ferry_dsse_verify(withid, strlen(withid), &ks.trust, blob.str, &res, &err), &err,
                  &res);
        ferry_sig_result_clear(&res);
        ferry_free(withid);
    }
    ferry_free(orig);
    keys_free(&ks);
    ferry_free(env);
}

static void
test_n03_dsse_subject_mismatch(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    struct ferry_digest blob;
    size_t len;
    char *env = vec_read("n03-dsse-subject-mismatch/envelope.json", &len);
    (void)state;

    if (env == NULL)
        FERRY_SKIP("cosign vectors not present");
    vec_digest("n03-dsse-subject-mismatch/blob", &blob);
    keys_init(&ks, false, false, "n03-dsse-subject-mismatch/cosign.pub", NULL);
    expect_fail(ferry_dsse_verify(env, len, &ks.trust, blob.str, &res, &err), &err, &res,
                FERRY_E_DIGEST_MISMATCH, FERRY_SIG_SUBJECT_MISMATCH, "no subject");
    assert_string_equal(ferry_sig_reason_name(res.reason), "subject mismatch");
    keys_free(&ks);
    ferry_free(env);
}

static void
test_n04_dsse_empty_subject(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    struct ferry_digest blob;
    size_t len;
    char *env = vec_read("n04-dsse-empty-subject/envelope.json", &len);
    (void)state;

    if (env == NULL)
        FERRY_SKIP("cosign vectors not present");
    vec_digest("n04-dsse-empty-subject/blob", &blob);
    keys_init(&ks, false, false, "n04-dsse-empty-subject/cosign.pub", NULL);
    expect_fail(ferry_dsse_verify(env, len, &ks.trust, blob.str, &res, &err), &err, &res,
                FERRY_E_DIGEST_MISMATCH, FERRY_SIG_SUBJECT_MISMATCH, "has no subject");
    /* refused without a digest to compare too */
    expect_fail(ferry_dsse_verify(env, len, &ks.trust, NULL, &res, &err), &err, &res,
                FERRY_E_DIGEST_MISMATCH, FERRY_SIG_SUBJECT_MISMATCH, "has no subject");
    keys_free(&ks);
    ferry_free(env);
}

static void
test_dsse_malformed(void **state)
{
    static const char *const envs[] = {
        "",
        "[]",
        "{\"payloadType\":\"t\",\"payload\":\"aGk=\"}",
        "{\"payloadType\":\"t\",\"payload\":\"aGk=\",\"signatures\":[],\"extra\":1}",
        "{\"payloadType\":\"\",\"payload\":\"aGk=\",\"signatures\":[{\"sig\":\"AAAA\"}]}",
        "{\"payloadType\":\"t\",\"payload\":\"*\",\"signatures\":[{\"sig\":\"AAAA\"}]}",
        "{\"payloadType\":\"t\",\"payload\":\"aGk=\",\"signatures\":[{\"sig\":5}]}",
        "{\"payloadType\":\"t\",\"payload\":\"aGk=\",\"signatures\":[\"AAAA\"]}",
        "{\"payloadType\":\"t\",\"payload\":\"aGk=\",\"payload\":\"aGk=\",\"signatures\":[]}",
    };
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    char *deep;
    NEED_VEC(dir, "v05-dsse-att-key/cosign.pub");
    (void)state;
    (void)dir;

    keys_init(&ks, false, false, "v05-dsse-att-key/cosign.pub", NULL);
    for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++)
        expect_fail(ferry_dsse_verify(envs[i], strlen(envs[i]), &ks.trust, NULL, &res, &err), &err,
                    &res, FERRY_E_INVALID, FERRY_SIG_MALFORMED, NULL);
    /* no signature at all, or only empty ones */
    {
        static const char e[] = "{\"payloadType\":\"t\",\"payload\":\"aGk=\",\"signatures\":[]}";
        expect_fail(ferry_dsse_verify(e, strlen(e), &ks.trust, NULL, &res, &err), &err, &res,
                    FERRY_E_SIGNATURE, FERRY_SIG_NO_SIGNATURE, NULL);
    }
    {
        static const char e[] =
            "{\"payloadType\":\"t\",\"payload\":\"aGk=\",\"signatures\":[{\"keyid\":\"\",\"sig\":"
            "\"\"}]}";
        expect_fail(ferry_dsse_verify(e, strlen(e), &ks.trust, NULL, &res, &err), &err, &res,
                    FERRY_E_SIGNATURE, FERRY_SIG_NO_SIGNATURE, NULL);
    }
    /* nesting past the cap, before the parser sees it */
    deep = ferry_malloc(20001);
    assert_non_null(deep);
    memset(deep, '[', 10000);
    memset(deep + 10000, ']', 10000);
    deep[20000] = '\0';
    expect_fail(ferry_dsse_verify(deep, 20000, &ks.trust, NULL, &res, &err), &err, &res,
                FERRY_E_INVALID, FERRY_SIG_MALFORMED, "nested");
    ferry_free(deep);
    /* over the size cap */
    expect_fail(ferry_dsse_verify("{}", FERRY_SIGSTORE_MAX_DOC + 1, &ks.trust, NULL, &res, &err),
                &err, &res, FERRY_E_TOO_LARGE, FERRY_SIG_MALFORMED, NULL);
    keys_free(&ks);
}

/* ---- bundles --------------------------------------------------------------------------- */

struct bvec {
    char *bundle;
    size_t len;
    char *artifact;
    size_t artifact_len;
};

static bool
bvec_load(struct bvec *v, const char *dir, const char *bundle_name, const char *artifact_name)
{
    char rel[256];

    memset(v, 0, sizeof *v);
    snprintf(rel, sizeof rel, "%s/%s", dir, bundle_name);
    v->bundle = vec_read(rel, &v->len);
    if (v->bundle == NULL)
        return false;
    if (artifact_name != NULL) {
        snprintf(rel, sizeof rel, "%s/%s", dir, artifact_name);
        v->artifact = vec_read(rel, &v->artifact_len);
        assert_non_null(v->artifact);
    }
    return true;
}

static void
bvec_free(struct bvec *v)
{
    ferry_free(v->bundle);
    ferry_free(v->artifact);
}

#define NEED_BUNDLE(v, dir, name, artifact)                                                        \
    struct bvec v;                                                                                 \
    if (!bvec_load(&v, dir, name, artifact)) {                                                     \
        FERRY_SKIP("cosign vectors not present");                                                  \
        return;                                                                                    \
    }

static int
bverify(const struct bvec *v, const struct keys *ks, bool bytes, const char *digest,
        struct ferry_sig_result *res, struct ferry_error **err)
{
    return ferry_sigstore_bundle_verify(v->bundle, v->len, &ks->trust, digest,
                                        bytes ? v->artifact : NULL, bytes ? v->artifact_len : 0,
                                        res, err);
}

static void
test_v06_bundle_msgsig(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    struct ferry_digest art;
    NEED_BUNDLE(v, "v06-bundle-v03-key-msgsig", "bundle.sigstore.json", "artifact");
    (void)state;

    ferry_digest_buffer(FERRY_DIGEST_SHA256, v.artifact, v.artifact_len, &art);
    keys_init(&ks, false, false, "v06-bundle-v03-key-msgsig/key.pub", NULL);
    /* the artifact's bytes, its digest (prehash), or both */
    expect_ok(bverify(&v, &ks, true, NULL, &res, &err), &err, &res);
    assert_true(res.claim_checked);
    assert_int_equal(res.tlog, FERRY_TLOG_NOT_CHECKED);
    ferry_sig_result_clear(&res);
    expect_ok(bverify(&v, &ks, false, art.str, &res, &err), &err, &res);
    ferry_sig_result_clear(&res);
    expect_ok(bverify(&v, &ks, true, art.str, &res, &err), &err, &res);
    ferry_sig_result_clear(&res);
    keys_free(&ks);
    /* with the Rekor key, required: the hashedrekord SET */
    keys_init(&ks, true, true, "v06-bundle-v03-key-msgsig/key.pub", NULL);
    expect_ok(bverify(&v, &ks, true, NULL, &res, &err), &err, &res);
    assert_int_equal(res.tlog, FERRY_TLOG_VERIFIED);
    assert_int_equal(res.tlog_integrated_time, 1766077479);
    assert_int_equal(res.tlog_log_index, 771488337);
    ferry_sig_result_clear(&res);
    keys_free(&ks);
    /* no artifact: a message signature cannot be checked */
    keys_init(&ks, false, false, "v06-bundle-v03-key-msgsig/key.pub", NULL);
    expect_fail(bverify(&v, &ks, false, NULL, &res, &err), &err, &res, FERRY_E_USAGE,
                FERRY_SIG_ERROR, "needs the artifact");
    keys_free(&ks);
    /* another key: wrong key */
    keys_init(&ks, false, false, "v01-legacy-key/cosign.pub", NULL);
    expect_fail(bverify(&v, &ks, true, NULL, &res, &err), &err, &res, FERRY_E_UNTRUSTED_KEY,
                FERRY_SIG_WRONG_KEY, NULL);
    keys_free(&ks);
    bvec_free(&v);
}

static void
test_v06_bundle_tamper(void **state)
{
    struct keys ks, nolog;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    struct ferry_digest art;
    char *orig;
    NEED_BUNDLE(v, "v06-bundle-v03-key-msgsig", "bundle.sigstore.json", "artifact");
    (void)state;

    keys_init(&ks, true, false, "v06-bundle-v03-key-msgsig/key.pub", NULL);
    keys_init(&nolog, false, false, "v06-bundle-v03-key-msgsig/key.pub", NULL);
    orig = ferry_strdup(v.bundle);
    /* the artifact: one byte */
    v.artifact[3] ^= 0x20;
    expect_fail(bverify(&v, &ks, true, NULL, &res, &err), &err, &res, FERRY_E_DIGEST_MISMATCH,
                FERRY_SIG_DIGEST_MISMATCH, "message digest");
    /* bytes and digest that disagree */
    ferry_digest_buffer(FERRY_DIGEST_SHA256, orig, 10, &art);
    expect_fail(bverify(&v, &ks, true, art.str, &res, &err), &err, &res, FERRY_E_DIGEST_MISMATCH,
                FERRY_SIG_DIGEST_MISMATCH, art.str);
    v.artifact[3] ^= 0x20;
    /* the claimed digest */
    tamper(v.bundle, "digest", 5);
    expect_fail(bverify(&v, &ks, true, NULL, &res, &err), &err, &res, FERRY_E_DIGEST_MISMATCH,
                FERRY_SIG_DIGEST_MISMATCH, "message digest");
    memcpy(v.bundle, orig, v.len);
    /* the signature: the hint names the key, so a bad signature */
    tamper(v.bundle, "signature", 4);
    expect_fail(bverify(&v, &ks, true, NULL, &res, &err), &err, &res, FERRY_E_SIGNATURE,
                FERRY_SIG_BAD_SIGNATURE, NULL);
    memcpy(v.bundle, orig, v.len);
    /* the SET, the entry's time, index, body: bad log entry with the key,
     * unnoticed without it */
    {
        static const struct {
            const char *key;
            size_t back;
        } cases[] = {{"signedEntryTimestamp", 4},
                     {"integratedTime", 0},
                     {"canonicalizedBody", 100},
                     {"keyId", 4}};
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            memcpy(v.bundle, orig, v.len);
            tamper(v.bundle, cases[i].key, cases[i].back);
            expect_fail(bverify(&v, &ks, true, NULL, &res, &err), &err, &res, FERRY_E_SIGNATURE,
                        FERRY_SIG_BAD_TLOG, "tlog entry");
            expect_ok(bverify(&v, &nolog, true, NULL, &res, &err), &err, &res);
            ferry_sig_result_clear(&res);
        }
        /* logIndex: the outer one is signed; the proof's is not checked */
        memcpy(v.bundle, orig, v.len);
        tamper(v.bundle, "logIndex", 0);
        expect_fail(bverify(&v, &ks, true, NULL, &res, &err), &err, &res, FERRY_E_SIGNATURE,
                    FERRY_SIG_BAD_TLOG, NULL);
    }
    memcpy(v.bundle, orig, v.len);
    ferry_free(orig);
    keys_free(&nolog);
    keys_free(&ks);
    bvec_free(&v);
}

static void
test_n05_bundle_wrong_key(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    NEED_BUNDLE(v, "n05-bundle-wrong-key", "bundle.sigstore.json", "artifact");
    (void)state;

    /* its key does not load (test_n05_wrong_key_pem); with any other key
     * the bundle does not verify */
    keys_init(&ks, false, false, "v01-legacy-key/cosign.pub", NULL);
    expect_fail(bverify(&v, &ks, true, NULL, &res, &err), &err, &res, FERRY_E_UNTRUSTED_KEY,
                FERRY_SIG_WRONG_KEY, NULL);
    keys_free(&ks);
    bvec_free(&v);
}

static void
test_v07_bundle_v01_dsse(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    NEED_BUNDLE(v, "v07-bundle-v01-key-dsse", "bundle.sigstore.json", NULL);
    (void)state;

    /* the npm package is not available: no subject to compare */
    keys_init(&ks, false, false, "v07-bundle-v01-key-dsse/key.pub", NULL);
    expect_ok(bverify(&v, &ks, false, NULL, &res, &err), &err, &res);
    assert_false(res.claim_checked);
    assert_string_equal(res.predicate_type,
                        "https://github.com/npm/attestation/tree/main/specs/publish/v0.1");
    ferry_sig_result_clear(&res);
    keys_free(&ks);
    /* its intoto v0.0.2 SET */
    keys_init(&ks, true, true, "v07-bundle-v01-key-dsse/key.pub", NULL);
    expect_ok(bverify(&v, &ks, false, NULL, &res, &err), &err, &res);
    assert_int_equal(res.tlog, FERRY_TLOG_VERIFIED);
    assert_int_equal(res.tlog_log_index, 18300940);
    ferry_sig_result_clear(&res);
    keys_free(&ks);
    bvec_free(&v);
}

static void
test_v08_bundle_cert_cosign(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    NEED_BUNDLE(v, "v08-bundle-v03-cert-dsse-cosign", "bundle.sigstore.json", NULL);
    (void)state;

    keys_init(&ks, false, false, "v01-legacy-key/cosign.pub", NULL);
    expect_fail(bverify(&v, &ks, false, NULL, &res, &err), &err, &res, FERRY_E_UNSUPPORTED,
                FERRY_SIG_NEEDS_TRUSTED_ROOT, "certificate-based: needs a trusted root");
    /* the subject the statement names still has to match */
    expect_fail(bverify(&v, &ks, false,
                        "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4",
                        &res, &err),
                &err, &res, FERRY_E_UNSUPPORTED, FERRY_SIG_NEEDS_TRUSTED_ROOT, NULL);
    expect_fail(bverify(&v, &ks, false, made_digest, &res, &err), &err, &res,
                FERRY_E_DIGEST_MISMATCH, FERRY_SIG_SUBJECT_MISMATCH, NULL);
    keys_free(&ks);
    keys_init(&ks, true, false, "v01-legacy-key/cosign.pub", NULL);
    expect_fail(bverify(&v, &ks, false, NULL, &res, &err), &err, &res, FERRY_E_UNSUPPORTED,
                FERRY_SIG_NEEDS_TRUSTED_ROOT, NULL);
    assert_int_equal(res.tlog, FERRY_TLOG_VERIFIED);
    keys_free(&ks);
    bvec_free(&v);
}

static void
test_v09_bundle_cert_dsse(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    NEED_BUNDLE(v, "v09-bundle-v03-cert-dsse", "bundle.sigstore.json", "artifact");
    (void)state;

    keys_init(&ks, false, false, "v06-bundle-v03-key-msgsig/key.pub", NULL);
    expect_fail(bverify(&v, &ks, true, NULL, &res, &err), &err, &res, FERRY_E_UNSUPPORTED,
                FERRY_SIG_NEEDS_TRUSTED_ROOT, "needs a trusted root");
    assert_string_equal(ferry_sig_reason_name(res.reason),
                        "certificate-based: needs a trusted root");
    keys_free(&ks);
    keys_init(&ks, true, true, "v06-bundle-v03-key-msgsig/key.pub", NULL);
    expect_fail(bverify(&v, &ks, true, NULL, &res, &err), &err, &res, FERRY_E_UNSUPPORTED,
                FERRY_SIG_NEEDS_TRUSTED_ROOT, NULL);
    assert_int_equal(res.tlog, FERRY_TLOG_VERIFIED);
    keys_free(&ks);
    bvec_free(&v);
}

static void
test_n06_bundle_dsse_invalid_sig(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    NEED_BUNDLE(v, "n06-bundle-dsse-invalid-sig", "bundle.sigstore.json", "artifact");
    (void)state;

    /* certificate-based, but the signature is wrong even for its own key */
    keys_init(&ks, false, false, "v06-bundle-v03-key-msgsig/key.pub", NULL);
    expect_fail(bverify(&v, &ks, true, NULL, &res, &err), &err, &res, FERRY_E_SIGNATURE,
                FERRY_SIG_BAD_SIGNATURE, "certificate");
    keys_free(&ks);
    bvec_free(&v);
}

static void
test_v10_bundle_notlog(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    NEED_BUNDLE(v, "v10-bundle-v03-key-msgsig-notlog", "bundle.sigstore.json", "artifact");
    (void)state;

    /* tlog ignored (cosign --insecure-ignore-tlog) */
    keys_init(&ks, false, false, "v10-bundle-v03-key-msgsig-notlog/key.pub", NULL);
    expect_ok(bverify(&v, &ks, true, NULL, &res, &err), &err, &res);
    assert_int_equal(res.tlog, FERRY_TLOG_NOT_CHECKED);
    ferry_sig_result_clear(&res);
    keys_free(&ks);
    /* a Rekor key, tlog not required: passes, says the tlog is absent */
    keys_init(&ks, true, false, "v10-bundle-v03-key-msgsig-notlog/key.pub", NULL);
    expect_ok(bverify(&v, &ks, true, NULL, &res, &err), &err, &res);
    assert_int_equal(res.tlog, FERRY_TLOG_ABSENT);
    ferry_sig_result_clear(&res);
    keys_free(&ks);
    /* tlog required: refused */
    keys_init(&ks, true, true, "v10-bundle-v03-key-msgsig-notlog/key.pub", NULL);
    expect_fail(bverify(&v, &ks, true, NULL, &res, &err), &err, &res, FERRY_E_SIGNATURE,
                FERRY_SIG_TLOG_MISSING, "required");
    keys_free(&ks);
    /* requiring it without a tlog key is a bad call */
    keys_init(&ks, false, true, "v10-bundle-v03-key-msgsig-notlog/key.pub", NULL);
    expect_fail(bverify(&v, &ks, true, NULL, &res, &err), &err, &res, FERRY_E_USAGE,
                FERRY_SIG_ERROR, NULL);
    keys_free(&ks);
    bvec_free(&v);
}

static void
test_n07_bundle_digest_mismatch(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    NEED_BUNDLE(v, "n07-bundle-digest-mismatch", "bundle.sigstore.json", "artifact");
    (void)state;

    keys_init(&ks, false, false, "v06-bundle-v03-key-msgsig/key.pub", NULL);
    expect_fail(bverify(&v, &ks, true, NULL, &res, &err), &err, &res, FERRY_E_DIGEST_MISMATCH,
                FERRY_SIG_DIGEST_MISMATCH, "message digest");
    keys_free(&ks);
    bvec_free(&v);
}

static void
test_v11_bundle_dsse_plain(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    NEED_BUNDLE(v, "v11-bundle-v01-key-dsse-plain", "bundle.sigstore.json", "artifact");
    (void)state;

    keys_init(&ks, false, false, "v11-bundle-v01-key-dsse-plain/key.pub", NULL);
    expect_ok(bverify(&v, &ks, true, NULL, &res, &err), &err, &res);
    assert_true(res.claim_checked);
    assert_string_equal(res.payload_type, "text/plain");
    assert_null(res.predicate_type);
    ferry_sig_result_clear(&res);
    /* not a statement: the payload is the artifact, and must be this one */
    v.artifact[0] = 'j';
    expect_fail(bverify(&v, &ks, true, NULL, &res, &err), &err, &res, FERRY_E_DIGEST_MISMATCH,
                FERRY_SIG_SUBJECT_MISMATCH, "text/plain");
    v.artifact[0] = 'h';
    keys_free(&ks);
    /* its SET: an intoto entry whose "publicKey" is a certificate of the key */
    keys_init(&ks, true, true, "v11-bundle-v01-key-dsse-plain/key.pub", NULL);
    expect_ok(bverify(&v, &ks, true, NULL, &res, &err), &err, &res);
    assert_int_equal(res.tlog, FERRY_TLOG_VERIFIED);
    ferry_sig_result_clear(&res);
    keys_free(&ks);
    bvec_free(&v);
}

/* v13: cosign v3's default output: a referrer manifest with one bundle
 * layer, over the image index named in subject-digest.txt. */
static void
test_v13_bundle_cosign_v3(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    struct ferry_digest blob;
    json_t *m, *l0;
    json_error_t jerr;
    char *manifest, *subject;
    size_t mlen;
    NEED_BUNDLE(v, "v13-bundle-v03-key-dsse-cosign-v3", "bundle-sigstore.json", NULL);
    (void)state;

    manifest = vec_read("v13-bundle-v03-key-dsse-cosign-v3/bundle-referring-manifest.json", &mlen);
    subject = vec_line("v13-bundle-v03-key-dsse-cosign-v3/subject-digest.txt");
    m = json_loadb(manifest, mlen, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(m);
    l0 = json_array_get(json_object_get(m, "layers"), 0);
    ferry_digest_buffer(FERRY_DIGEST_SHA256, v.bundle, v.len, &blob);
    assert_string_equal(json_string_value(json_object_get(l0, "digest")), blob.str);
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "subject"), "digest")),
                        subject);

    keys_init(&ks, false, false, "v13-bundle-v03-key-dsse-cosign-v3/bundle-cosign.pub", NULL);
    expect_ok(bverify(&v, &ks, false, subject, &res, &err), &err, &res);
    assert_true(res.claim_checked);
    assert_string_equal(res.predicate_type, "https://sigstore.dev/cosign/sign/v1");
    ferry_sig_result_clear(&res);
    /* another image */
    expect_fail(bverify(&v, &ks, false, made_digest, &res, &err), &err, &res,
                FERRY_E_DIGEST_MISMATCH, FERRY_SIG_SUBJECT_MISMATCH, made_digest);
    keys_free(&ks);
    /* its dsse SET */
    keys_init(&ks, true, true, "v13-bundle-v03-key-dsse-cosign-v3/bundle-cosign.pub", NULL);
    expect_ok(bverify(&v, &ks, false, subject, &res, &err), &err, &res);
    assert_int_equal(res.tlog, FERRY_TLOG_VERIFIED);
    assert_int_equal(res.tlog_log_index, 2440595631);
    ferry_sig_result_clear(&res);
    /* the DSSE payload changed: hinted key, so a bad signature */
    {
        char *orig = ferry_strdup(v.bundle);
        tamper(v.bundle, "payload", 20);
        expect_fail(bverify(&v, &ks, false, subject, &res, &err), &err, &res, FERRY_E_SIGNATURE,
                    FERRY_SIG_BAD_SIGNATURE, NULL);
        memcpy(v.bundle, orig, v.len);
        tamper(v.bundle, "sig", 4);
        expect_fail(bverify(&v, &ks, false, subject, &res, &err), &err, &res, FERRY_E_SIGNATURE,
                    FERRY_SIG_BAD_SIGNATURE, NULL);
        memcpy(v.bundle, orig, v.len);
        tamper(v.bundle, "signedEntryTimestamp", 4);
        expect_fail(bverify(&v, &ks, false, subject, &res, &err), &err, &res, FERRY_E_SIGNATURE,
                    FERRY_SIG_BAD_TLOG, NULL);
        memcpy(v.bundle, orig, v.len);
        ferry_free(orig);
    }
    keys_free(&ks);
    json_decref(m);
    ferry_free(subject);
    ferry_free(manifest);
    bvec_free(&v);
}

static void
test_bundle_malformed(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    json_t *root;
    json_error_t jerr;
    char *text;
    NEED_BUNDLE(v, "v06-bundle-v03-key-msgsig", "bundle.sigstore.json", "artifact");
    (void)state;

    keys_init(&ks, false, false, "v06-bundle-v03-key-msgsig/key.pub", NULL);
    /* an unknown media type */
    root = json_loadb(v.bundle, v.len, 0, &jerr);
    assert_non_null(root);
    json_object_set_new(root, "mediaType",
                        json_string("application/vnd.dev.sigstore.bundle+json;version=0.4"));
    text = json_dumps(root, JSON_COMPACT);
    expect_fail(ferry_sigstore_bundle_verify(text, strlen(text), &ks.trust, NULL, v.artifact,
                                             v.artifact_len, &res, &err),
                &err, &res, FERRY_E_UNSUPPORTED, FERRY_SIG_UNSUPPORTED, "version=0.4");
    free(text);
    /* the accepted spellings */
    {
        static const char *const types[] = {"application/vnd.dev.sigstore.bundle+json;version=0.1",
                                            "application/vnd.dev.sigstore.bundle+json;version=0.2",
                                            "application/vnd.dev.sigstore.bundle+json;version=0.3",
                                            "application/vnd.dev.sigstore.bundle.v0.3+json"};
        for (size_t i = 0; i < 4; i++) {
            json_object_set_new(root, "mediaType", json_string(types[i]));
            text = json_dumps(root, JSON_COMPACT);
            expect_ok(ferry_sigstore_bundle_verify(text, strlen(text), &ks.trust, NULL, v.artifact,
                                                   v.artifact_len, &res, &err),
                      &err, &res);
            ferry_sig_result_clear(&res);
            free(text);
        }
    }
    /* an unknown key */
    json_object_set_new(root, "extra", json_true());
    text = json_dumps(root, JSON_COMPACT);
    expect_fail(ferry_sigstore_bundle_verify(text, strlen(text), &ks.trust, NULL, v.artifact,
                                             v.artifact_len, &res, &err),
                &err, &res, FERRY_E_INVALID, FERRY_SIG_MALFORMED, "extra");
    free(text);
    json_object_del(root, "extra");
    /* both contents */
    json_object_set_new(root, "dsseEnvelope", json_object());
    text = json_dumps(root, JSON_COMPACT);
    expect_fail(ferry_sigstore_bundle_verify(text, strlen(text), &ks.trust, NULL, v.artifact,
                                             v.artifact_len, &res, &err),
                &err, &res, FERRY_E_INVALID, FERRY_SIG_MALFORMED, "exactly one");
    free(text);
    json_object_del(root, "dsseEnvelope");
    /* a certificate next to the key */
    json_object_set_new(json_object_get(root, "verificationMaterial"), "certificate",
                        json_pack("{s:s}", "rawBytes", "AAAA"));
    text = json_dumps(root, JSON_COMPACT);
    expect_fail(ferry_sigstore_bundle_verify(text, strlen(text), &ks.trust, NULL, v.artifact,
                                             v.artifact_len, &res, &err),
                &err, &res, FERRY_E_INVALID, FERRY_SIG_MALFORMED, "exactly one");
    free(text);
    json_object_del(json_object_get(root, "verificationMaterial"), "certificate");
    /* an empty signature */
    json_object_set_new(json_object_get(root, "messageSignature"), "signature", json_string(""));
    text = json_dumps(root, JSON_COMPACT);
    expect_fail(ferry_sigstore_bundle_verify(text, strlen(text), &ks.trust, NULL, v.artifact,
                                             v.artifact_len, &res, &err),
                &err, &res, FERRY_E_SIGNATURE, FERRY_SIG_NO_SIGNATURE, NULL);
    free(text);
    /* integers that are not */
    json_decref(root);
    root = json_loadb(v.bundle, v.len, 0, &jerr);
    json_object_set_new(
        json_array_get(
            json_object_get(json_object_get(root, "verificationMaterial"), "tlogEntries"), 0),
        "logIndex", json_string("-1"));
    text = json_dumps(root, JSON_COMPACT);
    expect_fail(ferry_sigstore_bundle_verify(text, strlen(text), &ks.trust, NULL, v.artifact,
                                             v.artifact_len, &res, &err),
                &err, &res, FERRY_E_INVALID, FERRY_SIG_MALFORMED, "logIndex");
    free(text);
    json_decref(root);
    /* not json */
    expect_fail(ferry_sigstore_bundle_verify("{", 1, &ks.trust, NULL, v.artifact, v.artifact_len,
                                             &res, &err),
                &err, &res, FERRY_E_INVALID, FERRY_SIG_MALFORMED, "invalid json");
    keys_free(&ks);
    bvec_free(&v);
}

/* Nothing is left allocated, and failures leave no strings in the result. */
static void
test_no_leak(void **state)
{
    struct keys ks;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    size_t before;
    NEED_BUNDLE(v, "v13-bundle-v03-key-dsse-cosign-v3", "bundle-sigstore.json", NULL);
    (void)state;

    keys_init(&ks, true, true, "v13-bundle-v03-key-dsse-cosign-v3/bundle-cosign.pub", NULL);
    before = ferry_alloc_current();
    for (int i = 0; i < 3; i++) {
        char *subject = vec_line("v13-bundle-v03-key-dsse-cosign-v3/subject-digest.txt");
        expect_ok(bverify(&v, &ks, false, subject, &res, &err), &err, &res);
        ferry_sig_result_clear(&res);
        expect_fail(bverify(&v, &ks, false, made_digest, &res, &err), &err, &res,
                    FERRY_E_DIGEST_MISMATCH, FERRY_SIG_SUBJECT_MISMATCH, NULL);
        assert_null(res.payload_type);
        assert_null(res.predicate_type);
        ferry_free(subject);
    }
    assert_int_equal(ferry_alloc_current(), before);
    /* and when allocations fail, one after another */
    for (unsigned long n = 1;; n++) {
        char *subject = vec_line("v13-bundle-v03-key-dsse-cosign-v3/subject-digest.txt");
        int r;
        before = ferry_alloc_current();
        ferry_alloc_fail_after(n);
        r = bverify(&v, &ks, false, subject, &res, &err);
        ferry_alloc_fail_after(0);
        ferry_sig_result_clear(&res);
        ferry_error_clear(&err);
        assert_int_equal(ferry_alloc_current(), before);
        ferry_free(subject);
        if (r == 0)
            break;
        assert_true(r == -FERRY_E_NOMEM);
        assert_true(n < 1000);
    }
    keys_free(&ks);
    bvec_free(&v);
}

static void
test_names(void **state)
{
    (void)state;
    for (int r = FERRY_SIG_VERIFIED; r <= FERRY_SIG_IDENTITY_MISMATCH; r++) {
        assert_string_not_equal(ferry_sig_reason_name((enum ferry_sig_reason)r), "unknown");
        assert_int_equal(ferry_sig_reason_code((enum ferry_sig_reason)r) == FERRY_OK,
                         r == FERRY_SIG_VERIFIED);
    }
    assert_string_equal(ferry_tlog_status_name(FERRY_TLOG_NOT_CHECKED), "tlog not checked");
    assert_string_equal(ferry_tlog_status_name(FERRY_TLOG_ABSENT), "tlog absent");
    assert_string_equal(ferry_tlog_status_name(FERRY_TLOG_VERIFIED), "tlog verified");
    assert_int_equal(ferry_sig_reason_code(FERRY_SIG_WRONG_KEY), FERRY_E_UNTRUSTED_KEY);
    assert_int_equal(ferry_sig_reason_code(FERRY_SIG_NEEDS_TRUSTED_ROOT), FERRY_E_UNSUPPORTED);
    assert_string_equal(ferry_sig_reason_name(FERRY_SIG_UNTRUSTED_CERT), "untrusted certificate");
    assert_string_equal(ferry_sig_reason_name(FERRY_SIG_CERT_EXPIRED), "certificate expired");
    assert_string_equal(ferry_sig_reason_name(FERRY_SIG_IDENTITY_MISMATCH), "identity mismatch");
    assert_int_equal(FERRY_SIG_UNTRUSTED_CERT, 12);
    assert_int_equal(FERRY_SIG_CERT_EXPIRED, 13);
    assert_int_equal(FERRY_SIG_IDENTITY_MISMATCH, 14);
    assert_int_equal(ferry_sig_reason_code(FERRY_SIG_IDENTITY_MISMATCH), FERRY_E_UNTRUSTED_KEY);
}

/* ---- certificate-based ("keyless") signatures --------------------------------------- */

/* The identities the vectors' certificates carry (openssl x509 -text). */
#define V03_EMAIL "mitr@redhat.com"
#define V08_EMAIL "cody@soyland.com"
#define GITHUB_OAUTH "https://github.com/login/oauth"
#define V09_URI                                                                                    \
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/"      \
    "workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
#define GITHUB_ACTIONS "https://token.actions.githubusercontent.com"
#define V03_TIME 1674247893 /* integratedTime of v03's SET */
#define V03_NOT_BEFORE 1674247891
#define V03_NOT_AFTER 1674248491

/* The public-good trusted root as JSON, or NULL (then the caller skips). */
static json_t *
root_json(void)
{
    size_t len;
    char *text = vec_read("rekor/trusted_root_public_good.json", &len);
    json_error_t jerr;
    json_t *doc;

    if (text == NULL)
        return NULL;
    doc = json_loadb(text, len, 0, &jerr);
    ferry_free(text);
    assert_non_null(doc);
    return doc;
}

static int
root_from_json(json_t *doc, struct ferry_sig_root **out, struct ferry_error **err)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    int r;

    assert_non_null(text);
    r = ferry_sig_root_load(text, strlen(text), out, err);
    free(text);
    return r;
}

/* The public-good root, or one changed by edit (NULL: as it is). */
static struct ferry_sig_root *
root_public_good(void (*edit)(json_t *doc))
{
    struct ferry_sig_root *root = NULL;
    struct ferry_error *err = NULL;
    json_t *doc = root_json();

    assert_non_null(doc);
    if (edit != NULL)
        edit(doc);
    FERRY_ASSERT_OK(root_from_json(doc, &root, &err), &err);
    json_decref(doc);
    return root;
}

/* Trust: a root, identities, no keys, no other tlog key. */
struct keyless {
    struct ferry_sig_root *root;
    struct ferry_sig_identity ids[2];
    struct ferry_sig_trust trust;
};

static void
keyless_init(struct keyless *kl, struct ferry_sig_root *root, const char *subject,
             const char *subject_regexp, const char *issuer, const char *issuer_regexp)
{
    memset(kl, 0, sizeof *kl);
    kl->root = root;
    kl->ids[0].subject = subject;
    kl->ids[0].subject_regexp = subject_regexp;
    kl->ids[0].issuer = issuer;
    kl->ids[0].issuer_regexp = issuer_regexp;
    kl->trust.root = root;
    kl->trust.identities = kl->ids;
    kl->trust.nidentities = 1;
}

static void
keyless_free(struct keyless *kl)
{
    ferry_sig_root_free(kl->root);
    memset(kl, 0, sizeof *kl);
}

static void
test_root_load_public_good(void **state)
{
    struct ferry_sig_root *root = NULL;
    struct ferry_error *err = NULL;
    char path[4096];
    json_t *doc = root_json();
    (void)state;

    if (doc == NULL) {
        FERRY_SKIP("cosign vectors not present");
        return;
    }
    json_decref(doc);
    assert_true(vec_path("rekor/trusted_root_public_good.json", path, sizeof path));
    FERRY_ASSERT_OK(ferry_sig_root_load_file(path, &root, &err), &err);
    /* two Fulcio CAs (the 2021 root alone; intermediate + root), one Rekor */
    assert_int_equal(root->ncas, 2);
    assert_int_equal(sk_X509_num(root->cas[0].anchors), 1);
    assert_int_equal(sk_X509_num(root->cas[0].intermediates), 0);
    assert_int_equal(sk_X509_num(root->cas[1].anchors), 1);
    assert_int_equal(sk_X509_num(root->cas[1].intermediates), 1);
    assert_true(root->cas[0].valid.has_end);
    assert_false(root->cas[1].valid.has_end);
    assert_int_equal(root->cas[1].valid.start.sec, 1649880375); /* 2022-04-13T20:06:15Z */
    assert_int_equal(root->ntlogs, 1);
    assert_string_equal(root->tlogs[0].log_id,
                        "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d");
    assert_string_equal(root->tlogs[0].log_id, ferry_sig_key_id(root->tlogs[0].key));
    ferry_sig_root_free(root);
    ferry_sig_root_free(NULL);

    /* files: messages name the path */
    assert_int_equal(ferry_sig_root_load_file("/nonexistent/trusted_root.json", &root, &err),
                     -FERRY_E_NOT_FOUND);
    assert_non_null(strstr(err->msg, "/nonexistent/trusted_root.json"));
    ferry_error_clear(&err);
    assert_true(ferry_sig_root_load_file("/", &root, &err) < 0);
    assert_non_null(strstr(err->msg, "trusted root /"));
    ferry_error_clear(&err);
    {
        char rel[4096];
        assert_true(vec_path("v01-legacy-key/cosign.pub", rel, sizeof rel));
        assert_int_equal(ferry_sig_root_load_file(rel, &root, &err), -FERRY_E_INVALID);
        assert_non_null(strstr(err->msg, rel));
        ferry_error_clear(&err);
    }
}

/* Load doc after edit, expect code and text. */
static void
root_expect(json_t *doc, enum ferry_status code, const char *text)
{
    struct ferry_sig_root *root = NULL;
    struct ferry_error *err = NULL;
    int r = root_from_json(doc, &root, &err);

    if (r != -(int)code)
        fail_msg("want %s, got %d: %s", ferry_strerror(code), r,
                 err != NULL ? err->msg : "(no error)");
    assert_null(root);
    if (strstr(err->msg, text) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err->msg, text);
    ferry_error_clear(&err);
}

static json_t *
path_get(json_t *doc, const char *a, size_t i, const char *b)
{
    json_t *v = json_array_get(json_object_get(doc, a), i);
    assert_non_null(v);
    return b != NULL ? json_object_get(v, b) : v;
}

static void
test_root_load_rejects(void **state)
{
    struct ferry_sig_root *root = NULL;
    struct ferry_error *err = NULL;
    json_t *doc = root_json(), *v;
    (void)state;

    if (doc == NULL) {
        FERRY_SKIP("cosign vectors not present");
        return;
    }
    /* malformed json, with line and column */
    assert_int_equal(ferry_sig_root_load("{\"mediaType\":", 13, &root, &err), -FERRY_E_INVALID);
    assert_non_null(strstr(err->msg, "trusted root: invalid json at line 1"));
    ferry_error_clear(&err);
    assert_int_equal(ferry_sig_root_load("[]", 2, &root, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    assert_int_equal(
        ferry_sig_root_load("{\"mediaType\":\"a\",\"mediaType\":\"b\"}", 34, &root, &err),
        -FERRY_E_INVALID);
    ferry_error_clear(&err);
    assert_int_equal(ferry_sig_root_load(NULL, 0, NULL, &err), -FERRY_E_USAGE);
    ferry_error_clear(&err);
    /* over the size cap */
    {
        size_t n = FERRY_SIGSTORE_MAX_ROOT + 1;
        char *big = ferry_malloc(n);
        assert_non_null(big);
        memset(big, ' ', n);
        assert_int_equal(ferry_sig_root_load(big, n, &root, &err), -FERRY_E_TOO_LARGE);
        ferry_error_clear(&err);
        ferry_free(big);
    }

    /* mediaType: missing, wrong, other accepted forms */
    json_object_del(doc, "mediaType");
    root_expect(doc, FERRY_E_INVALID, "trusted root: missing \"mediaType\"");
    json_object_set_new(doc, "mediaType",
                        json_string("application/vnd.dev.sigstore.bundle.v0.3+json"));
    root_expect(doc, FERRY_E_UNSUPPORTED, "mediaType application/vnd.dev.sigstore.bundle");
    json_object_set_new(doc, "mediaType",
                        json_string("application/vnd.dev.sigstore.trustedroot.v0.2+json"));
    FERRY_ASSERT_OK(root_from_json(doc, &root, &err), &err);
    ferry_sig_root_free(root);
    root = NULL;
    /* unknown keys */
    json_object_set_new(doc, "publicKeys", json_array());
    root_expect(doc, FERRY_E_INVALID, "publicKeys");
    json_object_del(doc, "publicKeys");
    json_object_set_new(path_get(doc, "tlogs", 0, "publicKey"), "hint", json_string("x"));
    root_expect(doc, FERRY_E_INVALID, "trusted root: tlogs[0]: publicKey");
    json_object_del(path_get(doc, "tlogs", 0, "publicKey"), "hint");
    json_decref(doc);

    /* tlogs: bad key, keyDetails, logId, validFor */
    doc = root_json();
    json_object_set_new(path_get(doc, "tlogs", 0, "publicKey"), "rawBytes",
                        json_string("MFkwEwYHKoZIzj0CAQ=="));
    root_expect(doc, FERRY_E_INVALID, "trusted root: tlogs[0]: publicKey.rawBytes");
    json_decref(doc);
    doc = root_json();
    json_object_set_new(path_get(doc, "tlogs", 0, "publicKey"), "keyDetails",
                        json_string("PKIX_ED25519"));
    root_expect(doc, FERRY_E_INVALID, "keyDetails PKIX_ED25519 does not match the key");
    json_object_set_new(path_get(doc, "tlogs", 0, "publicKey"), "keyDetails",
                        json_string("LMS_SHA256"));
    root_expect(doc, FERRY_E_UNSUPPORTED, "keyDetails LMS_SHA256 is not supported");
    json_decref(doc);
    doc = root_json();
    json_object_set_new(path_get(doc, "tlogs", 0, "logId"), "keyId", json_string("AAAA"));
    root_expect(doc, FERRY_E_INVALID, "trusted root: tlogs[0]: logId: keyId is 3 bytes");
    json_decref(doc);
    doc = root_json();
    json_object_set_new(json_object_get(path_get(doc, "tlogs", 0, "publicKey"), "validFor"),
                        "start", json_string("2021-01-12 11:53:27"));
    root_expect(doc, FERRY_E_INVALID, "tlogs[0]: publicKey: validFor.start");
    json_object_set_new(json_object_get(path_get(doc, "tlogs", 0, "publicKey"), "validFor"),
                        "start", json_string("2021-02-30T00:00:00Z"));
    root_expect(doc, FERRY_E_INVALID, "is not an RFC 3339 time");
    json_object_set_new(json_object_get(path_get(doc, "tlogs", 0, "publicKey"), "validFor"),
                        "start", json_string("2021-01-12T12:53:27.5+01:00"));
    json_object_set_new(json_object_get(path_get(doc, "tlogs", 0, "publicKey"), "validFor"), "end",
                        json_string("2021-01-01T00:00:00Z"));
    root_expect(doc, FERRY_E_INVALID, "validFor ends before it starts");
    json_decref(doc);

    /* certificateAuthorities: no certificate, bad DER, too many */
    doc = root_json();
    v = json_object_get(
        json_object_get(path_get(doc, "certificateAuthorities", 1, NULL), "certChain"),
        "certificates");
    json_array_clear(v);
    root_expect(doc, FERRY_E_INVALID, "trusted root: certificateAuthorities[1]: certChain: no");
    json_decref(doc);
    doc = root_json();
    v = json_object_get(
        json_object_get(path_get(doc, "certificateAuthorities", 1, NULL), "certChain"),
        "certificates");
    json_object_set_new(json_array_get(v, 1), "rawBytes", json_string("MIIB"));
    root_expect(doc, FERRY_E_INVALID,
                "certificateAuthorities[1]: certChain.certificates[1]: rawBytes is not a DER");
    json_decref(doc);
    doc = root_json();
    v = json_object_get(
        json_object_get(path_get(doc, "certificateAuthorities", 1, NULL), "certChain"),
        "certificates");
    while (json_array_size(v) <= FERRY_SIGSTORE_MAX_CHAIN)
        json_array_append(v, json_array_get(v, 0));
    root_expect(doc, FERRY_E_TOO_LARGE, "certChain: 11 certificates, more than 10");
    json_decref(doc);
    /* caps on the lists, the ignored ones too */
    doc = root_json();
    v = json_object_get(doc, "certificateAuthorities");
    while (json_array_size(v) <= FERRY_SIGSTORE_MAX_CAS)
        json_array_append(v, json_array_get(v, 0));
    root_expect(doc, FERRY_E_TOO_LARGE, "certificateAuthorities: 65 entries, more than 64");
    json_decref(doc);
    doc = root_json();
    v = json_object_get(doc, "tlogs");
    while (json_array_size(v) <= FERRY_SIGSTORE_MAX_ROOT_TLOGS)
        json_array_append(v, json_array_get(v, 0));
    root_expect(doc, FERRY_E_TOO_LARGE, "tlogs: 65 entries, more than 64");
    json_decref(doc);
    doc = root_json();
    v = json_object_get(doc, "ctlogs");
    json_array_append_new(v, json_string("x"));
    root_expect(doc, FERRY_E_INVALID, "trusted root: ctlogs[2]: not an object");
    json_decref(doc);
    doc = root_json();
    json_object_set_new(doc, "timestampAuthorities", json_object());
    root_expect(doc, FERRY_E_INVALID, "\"timestampAuthorities\" is not an array");
    json_decref(doc);

    /* building one: PEM text that is not a certificate chain */
    FERRY_ASSERT_OK(ferry_sig_root_new(&root, &err), &err);
    assert_int_equal(ferry_sig_root_add_ca_pem(root, "", 0, &err), -FERRY_E_INVALID);
    assert_non_null(strstr(err->msg, "certificate authority: no PEM certificate"));
    ferry_error_clear(&err);
    {
        char *pem = vec_read("v01-legacy-key/cosign.pub", NULL);
        assert_int_equal(ferry_sig_root_add_ca_pem(root, pem, strlen(pem), &err), -FERRY_E_INVALID);
        assert_non_null(strstr(err->msg, "is not a certificate"));
        ferry_error_clear(&err);
        ferry_free(pem);
    }
    {
        char *chain = vec_read("v03-legacy-fulcio-rekor/chain.pem", NULL), *two;
        two = ferry_asprintf("%s garbage\n", chain);
        assert_int_equal(ferry_sig_root_add_ca_pem(root, two, strlen(two), &err), -FERRY_E_INVALID);
        ferry_error_clear(&err);
        ferry_free(two);
        assert_int_equal(ferry_sig_root_add_tlog_key(root, NULL, &err), -FERRY_E_USAGE);
        ferry_error_clear(&err);
        assert_int_equal(ferry_sig_root_add_ca_pem(NULL, chain, strlen(chain), &err),
                         -FERRY_E_USAGE);
        ferry_error_clear(&err);
        assert_int_equal(root->ncas, 0);
        ferry_free(chain);
    }
    ferry_sig_root_free(root);
}

static void
test_identity_check(void **state)
{
    struct ferry_error *err = NULL;
    struct ferry_sig_identity id = {.subject = V03_EMAIL, .issuer = GITHUB_OAUTH};
    (void)state;

    FERRY_ASSERT_OK(ferry_sig_identity_check(&id, &err), &err);
    id.subject = NULL;
    id.subject_regexp = "^.*@redhat\\.com$";
    id.issuer = NULL;
    id.issuer_regexp = "github";
    FERRY_ASSERT_OK(ferry_sig_identity_check(&id, &err), &err);
    /* PCRE2's message, naming the pattern */
    id.subject_regexp = "^(mitr@redhat\\.com";
    assert_int_equal(ferry_sig_identity_check(&id, &err), -FERRY_E_USAGE);
    assert_non_null(strstr(err->msg, "identity regexp \"^(mitr@redhat\\\\.com\""));
    assert_non_null(strstr(err->msg, "missing closing parenthesis"));
    ferry_error_clear(&err);
    id.subject_regexp = "x";
    id.issuer_regexp = "[z-a]";
    assert_int_equal(ferry_sig_identity_check(&id, &err), -FERRY_E_USAGE);
    assert_non_null(strstr(err->msg, "[z-a]"));
    ferry_error_clear(&err);
    /* forms: both, or neither */
    id.issuer_regexp = "x";
    id.subject = "a";
    assert_int_equal(ferry_sig_identity_check(&id, &err), -FERRY_E_USAGE);
    assert_non_null(strstr(err->msg, "not both"));
    ferry_error_clear(&err);
    id.subject = NULL;
    id.subject_regexp = "";
    assert_int_equal(ferry_sig_identity_check(&id, &err), -FERRY_E_USAGE);
    assert_non_null(strstr(err->msg, "a subject or a subject regexp is required"));
    ferry_error_clear(&err);
    id.subject = "a";
    id.issuer_regexp = NULL;
    assert_int_equal(ferry_sig_identity_check(&id, &err), -FERRY_E_USAGE);
    assert_non_null(strstr(err->msg, "an issuer or an issuer regexp is required"));
    ferry_error_clear(&err);
    assert_int_equal(ferry_sig_identity_check(NULL, &err), -FERRY_E_USAGE);
    ferry_error_clear(&err);
}

/* Unanchored like Go's MatchString; $ only at the very end. */
static void
test_identity_regexp_semantics(void **state)
{
    struct ferry_error *err = NULL;
    (void)state;

    assert_int_equal(ferry_sig_regexp_match("redhat", V03_EMAIL, strlen(V03_EMAIL), &err), 1);
    assert_int_equal(ferry_sig_regexp_match("^redhat", V03_EMAIL, strlen(V03_EMAIL), &err), 0);
    assert_int_equal(ferry_sig_regexp_match("com$", "a.com\n", 6, &err), 0);
    assert_int_equal(ferry_sig_regexp_match("com$", "a.com", 5, &err), 1);
    assert_int_equal(ferry_sig_regexp_match("^a.c$", "a\nc", 3, &err), 0);
    assert_int_equal(
        ferry_sig_regexp_match("(a+)+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 40, &err),
        -FERRY_E_TOO_LARGE);
    assert_non_null(strstr(err->msg, "too much backtracking"));
    ferry_error_clear(&err);
    assert_null(err);
}

static void
edit_only_2021_ca(json_t *doc)
{
    json_t *cas = json_object_get(doc, "certificateAuthorities");

    json_array_remove(cas, 1);
    json_object_del(json_object_get(json_array_get(cas, 0), "validFor"), "end");
}

static void
test_v03_keyless(void **state)
{
    struct keyless kl;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    struct ferry_sig_identity ids[2];
    char *chain;
    NEED_LEGACY(l, "v03-legacy-fulcio-rekor");
    (void)state;

    chain = vec_read("v03-legacy-fulcio-rekor/chain.pem", NULL);
    assert_non_null(chain);
    /* public-good root, exact identity */
    keyless_init(&kl, root_public_good(NULL), V03_EMAIL, NULL, GITHUB_OAUTH, NULL);
    expect_ok(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err, &res);
    assert_string_equal(res.cert_subject, V03_EMAIL);
    assert_string_equal(res.cert_issuer, GITHUB_OAUTH); /* legacy extension 1.1 only */
    assert_int_equal(res.tlog, FERRY_TLOG_VERIFIED);
    assert_int_equal(res.tlog_integrated_time, V03_TIME);
    assert_true(res.claim_checked);
    assert_true(res.key_index == SIZE_MAX);
    assert_int_equal(strlen(res.key_id), 64);
    assert_string_equal(res.identity, "192.168.64.2:5000/cosign-signed/fulcio-rekor-1");
    ferry_sig_result_clear(&res);
    /* with the chain annotation too */
    l.layer.chain = chain;
    expect_ok(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err, &res);
    ferry_sig_result_clear(&res);
    /* regexps, unanchored */
    kl.ids[0] = (struct ferry_sig_identity){.subject_regexp = "^[a-z]+@redhat\\.com$",
                                            .issuer_regexp = "github\\.com/login"};
    expect_ok(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err, &res);
    ferry_sig_result_clear(&res);
    /* wrong subject, wrong issuer (exact and regexp): identity mismatch */
    kl.ids[0] = (struct ferry_sig_identity){.subject = "mitr@redhat.co", .issuer = GITHUB_OAUTH};
    expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_IDENTITY_MISMATCH,
                "certificate identity \"mitr@redhat.com\" with issuer "
                "\"https://github.com/login/oauth\" matches none of the 1 given");
    assert_null(res.cert_subject);
    kl.ids[0] = (struct ferry_sig_identity){.subject = V03_EMAIL, .issuer = GITHUB_ACTIONS};
    expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_IDENTITY_MISMATCH, "matches none");
    kl.ids[0] = (struct ferry_sig_identity){.subject_regexp = "^redhat", .issuer_regexp = "github"};
    expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_IDENTITY_MISMATCH, "matches none");
    /* no identity at all */
    kl.trust.nidentities = 0;
    expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_IDENTITY_MISMATCH, "no identity given");
    /* any one of several identities */
    ids[0] = (struct ferry_sig_identity){.subject = V08_EMAIL, .issuer = GITHUB_OAUTH};
    ids[1] = (struct ferry_sig_identity){.subject = V03_EMAIL, .issuer_regexp = "^https://"};
    kl.trust.identities = ids;
    kl.trust.nidentities = 2;
    expect_ok(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err, &res);
    ferry_sig_result_clear(&res);
    /* a bad identity is a bad call */
    ids[1].issuer = "x";
    expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_USAGE, FERRY_SIG_ERROR, "identity 1");
    keyless_free(&kl);

    /* a root built from the chain PEM (containers-policy fulcio.caPath) and
     * the Rekor key */
    {
        struct ferry_sig_key *rekor = vec_key("rekor/rekor-public-good.pub");
        struct ferry_sig_root *root = NULL;
        FERRY_ASSERT_OK(ferry_sig_root_new(&root, &err), &err);
        FERRY_ASSERT_OK(ferry_sig_root_add_ca_pem(root, chain, strlen(chain), &err), &err);
        FERRY_ASSERT_OK(ferry_sig_root_add_tlog_key(root, rekor, &err), &err);
        ferry_sig_key_free(rekor); /* the root keeps its own copy */
        keyless_init(&kl, root, V03_EMAIL, NULL, GITHUB_OAUTH, NULL);
        l.layer.chain = NULL;
        expect_ok(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                  &res);
        ferry_sig_result_clear(&res);
        keyless_free(&kl);
    }
    /* a root holding only Fulcio's root certificate: the intermediate must
     * come from the chain annotation */
    {
        struct ferry_sig_key *rekor = vec_key("rekor/rekor-public-good.pub");
        struct ferry_sig_root *root = NULL;
        const char *second = strstr(chain + 1, "-----BEGIN CERTIFICATE-----");
        assert_non_null(second);
        FERRY_ASSERT_OK(ferry_sig_root_new(&root, &err), &err);
        FERRY_ASSERT_OK(ferry_sig_root_add_ca_pem(root, second, strlen(second), &err), &err);
        FERRY_ASSERT_OK(ferry_sig_root_add_tlog_key(root, rekor, &err), &err);
        ferry_sig_key_free(rekor);
        keyless_init(&kl, root, V03_EMAIL, NULL, GITHUB_OAUTH, NULL);
        expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                    &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_UNTRUSTED_CERT,
                    "does not chain to a certificate authority of the trusted root");
        l.layer.chain = chain;
        expect_ok(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                  &res);
        ferry_sig_result_clear(&res);
        keyless_free(&kl);
    }
    /* a root without Fulcio's CA: the carried chain (with its own root)
     * adds no trust */
    {
        struct ferry_sig_key *rekor = vec_key("rekor/rekor-public-good.pub");
        struct ferry_sig_root *root = NULL;
        FERRY_ASSERT_OK(ferry_sig_root_new(&root, &err), &err);
        FERRY_ASSERT_OK(ferry_sig_root_add_tlog_key(root, rekor, &err), &err);
        keyless_init(&kl, root, V03_EMAIL, NULL, GITHUB_OAUTH, NULL);
        expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                    &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_UNTRUSTED_CERT,
                    "no certificate authority");
        keyless_free(&kl);
        /* only the 2021 public-good root (another key), valid at all times */
        keyless_init(&kl, root_public_good(edit_only_2021_ca), V03_EMAIL, NULL, GITHUB_OAUTH, NULL);
        assert_int_equal(kl.root->ncas, 1);
        l.layer.chain = chain;
        expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                    &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_UNTRUSTED_CERT,
                    "does not chain to a certificate authority of the trusted root at "
                    "2023-01-20T20:51:33Z");
        keyless_free(&kl);
        ferry_sig_key_free(rekor);
    }
    l.layer.chain = NULL;
    /* tlog: no key at all, a damaged SET, a tampered integratedTime */
    {
        struct ferry_sig_root *root = NULL;
        char *saved = ferry_strdup(l.bundle);
        FERRY_ASSERT_OK(ferry_sig_root_new(&root, &err), &err);
        FERRY_ASSERT_OK(ferry_sig_root_add_ca_pem(root, chain, strlen(chain), &err), &err);
        keyless_init(&kl, root, V03_EMAIL, NULL, GITHUB_OAUTH, NULL);
        expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                    &res, FERRY_E_SIGNATURE, FERRY_SIG_TLOG_MISSING, "needs a verified tlog entry");
        /* the Rekor key given the old way works as well */
        {
            struct ferry_sig_key *rekor = vec_key("rekor/rekor-public-good.pub");
            kl.trust.tlog_keys = &rekor;
            kl.trust.ntlog_keys = 1;
            expect_ok(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err),
                      &err, &res);
            ferry_sig_result_clear(&res);
            tamper(l.bundle, "integratedTime", 0);
            expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err),
                        &err, &res, FERRY_E_SIGNATURE, FERRY_SIG_BAD_TLOG, "does not verify");
            strcpy(l.bundle, saved);
            tamper(l.bundle, "SignedEntryTimestamp", 8);
            expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err),
                        &err, &res, FERRY_E_SIGNATURE, FERRY_SIG_BAD_TLOG, NULL);
            strcpy(l.bundle, saved);
            ferry_sig_key_free(rekor);
        }
        /* no Rekor bundle at all */
        l.layer.rekor_bundle = NULL;
        kl.trust.tlog_keys = NULL;
        kl.trust.ntlog_keys = 0;
        expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                    &res, FERRY_E_SIGNATURE, FERRY_SIG_TLOG_MISSING, NULL);
        l.layer.rekor_bundle = l.bundle;
        ferry_free(saved);
        keyless_free(&kl);
    }
    /* no root: refused as before */
    {
        struct keys ks;
        keys_init(&ks, true, false, "v01-legacy-key/cosign.pub", NULL);
        ks.trust.identities = ids; /* ignored without a root */
        ks.trust.nidentities = 1;
        expect_fail(ferry_cosign_verify_simple(&l.layer, &ks.trust, l.image.str, &res, &err), &err,
                    &res, FERRY_E_UNSUPPORTED, FERRY_SIG_NEEDS_TRUSTED_ROOT,
                    "needs a trusted root");
        keys_free(&ks);
    }
    ferry_free(chain);
    legacy_free(&l);
}

static void
edit_ca_end_2022(json_t *doc)
{
    json_object_set_new(
        json_object_get(path_get(doc, "certificateAuthorities", 1, NULL), "validFor"), "end",
        json_string("2023-01-20T20:51:32.999Z"));
}

static void
edit_ca_start_late(json_t *doc)
{
    json_object_set_new(
        json_object_get(path_get(doc, "certificateAuthorities", 1, NULL), "validFor"), "start",
        json_string("2023-01-20T20:51:33.001Z"));
}

static void
edit_tlog_end(json_t *doc)
{
    json_object_set_new(json_object_get(path_get(doc, "tlogs", 0, "publicKey"), "validFor"), "end",
                        json_string("2022-12-31T23:59:59Z"));
}

static void
edit_no_tlogs(json_t *doc)
{
    json_object_del(doc, "tlogs");
}

/* Times: a CA's validFor, a tlog's validFor, the leaf's own validity. */
static void
test_keyless_times(void **state)
{
    struct keyless kl;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    STACK_OF(X509) *leaf = NULL, *chain = NULL;
    NEED_LEGACY(l, "v03-legacy-fulcio-rekor");
    (void)state;

    /* the root CA entry's validFor excludes the signing time, by a fraction
     * of a second at either end */
    keyless_init(&kl, root_public_good(edit_ca_end_2022), V03_EMAIL, NULL, GITHUB_OAUTH, NULL);
    expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_UNTRUSTED_CERT,
                "no certificate authority of the trusted root is valid at the signing time "
                "2023-01-20T20:51:33Z");
    keyless_free(&kl);
    keyless_init(&kl, root_public_good(edit_ca_start_late), V03_EMAIL, NULL, GITHUB_OAUTH, NULL);
    expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_UNTRUSTED_CERT, "no certificate authority");
    keyless_free(&kl);
    /* the tlog's validFor excludes the entry's time */
    keyless_init(&kl, root_public_good(edit_tlog_end), V03_EMAIL, NULL, GITHUB_OAUTH, NULL);
    expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_SIGNATURE, FERRY_SIG_BAD_TLOG,
                "log c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d of the "
                "trusted root is not valid at 2023-01-20T20:51:33Z");
    keyless_free(&kl);
    /* a root without tlogs and no tlog key: no time */
    keyless_init(&kl, root_public_good(edit_no_tlogs), V03_EMAIL, NULL, GITHUB_OAUTH, NULL);
    expect_fail(ferry_cosign_verify_simple(&l.layer, &kl.trust, l.image.str, &res, &err), &err,
                &res, FERRY_E_SIGNATURE, FERRY_SIG_TLOG_MISSING, NULL);
    assert_int_equal(res.tlog, FERRY_TLOG_NOT_CHECKED);
    keyless_free(&kl);

    /* the leaf at times around its ten minutes (a verified SET cannot be
     * made to say so: the internal check takes the time directly) */
    keyless_init(&kl, root_public_good(NULL), V03_EMAIL, NULL, GITHUB_OAUTH, NULL);
    FERRY_ASSERT_OK(ferry_sig_certs_from_pem(l.cert, strlen(l.cert), 1, "leaf", &leaf, &err), &err);
    FERRY_ASSERT_OK(ferry_sig_keyless_check(&kl.trust, sk_X509_value(leaf, 0), NULL, V03_TIME,
                                            "v03", &res, &err),
                    &err);
    ferry_sig_result_clear(&res);
    FERRY_ASSERT_OK(ferry_sig_keyless_check(&kl.trust, sk_X509_value(leaf, 0), NULL, V03_NOT_BEFORE,
                                            "v03", &res, &err),
                    &err);
    ferry_sig_result_clear(&res);
    ferry_sig_result_init(&res);
    expect_fail(ferry_sig_keyless_check(&kl.trust, sk_X509_value(leaf, 0), NULL, V03_NOT_BEFORE - 1,
                                        "v03", &res, &err),
                &err, &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_CERT_EXPIRED,
                "certificate valid from 2023-01-20T20:51:31Z to 2023-01-20T21:01:31Z, not at the "
                "signing time 2023-01-20T20:51:30Z");
    ferry_sig_result_clear(&res);
    expect_fail(ferry_sig_keyless_check(&kl.trust, sk_X509_value(leaf, 0), NULL, V03_NOT_AFTER + 1,
                                        "v03", &res, &err),
                &err, &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_CERT_EXPIRED, "not at the signing");
    ferry_sig_result_clear(&res);
    /* before the CA's validFor (2022-04-13): no CA then */
    expect_fail(ferry_sig_keyless_check(&kl.trust, sk_X509_value(leaf, 0), NULL, 1600000000, "v03",
                                        &res, &err),
                &err, &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_UNTRUSTED_CERT, "no certificate");
    ferry_sig_result_clear(&res);
    /* the chain PEM's certificates as leaves */
    {
        char *pem = vec_read("v03-legacy-fulcio-rekor/chain.pem", NULL);
        FERRY_ASSERT_OK(ferry_sig_certs_from_pem(pem, strlen(pem), 10, "chain", &chain, &err),
                        &err);
        assert_int_equal(sk_X509_num(chain), 2);
        /* Fulcio's intermediate allows code signing, but shows no identity */
        expect_fail(ferry_sig_keyless_check(&kl.trust, sk_X509_value(chain, 0), NULL, V03_TIME,
                                            "intermediate", &res, &err),
                    &err, &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_IDENTITY_MISMATCH,
                    "the certificate names no OIDC issuer");
        ferry_sig_result_clear(&res);
        /* its root (an anchor itself) has no extended key usage */
        expect_fail(ferry_sig_keyless_check(&kl.trust, sk_X509_value(chain, 1), NULL, V03_TIME,
                                            "root", &res, &err),
                    &err, &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_UNTRUSTED_CERT,
                    "lacks the code-signing extended key usage");
        ferry_sig_result_clear(&res);
        ferry_free(pem);
    }
    sk_X509_pop_free(leaf, X509_free);
    sk_X509_pop_free(chain, X509_free);
    keyless_free(&kl);
    legacy_free(&l);
}

static void
test_v08_keyless(void **state)
{
    struct keyless kl;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    char *saved;
    NEED_BUNDLE(v, "v08-bundle-v03-cert-dsse-cosign", "bundle.sigstore.json", NULL);
    (void)state;

    keyless_init(&kl, root_public_good(NULL), V08_EMAIL, NULL, GITHUB_OAUTH, NULL);
    expect_ok(ferry_sigstore_bundle_verify(v.bundle, v.len, &kl.trust, NULL, NULL, 0, &res, &err),
              &err, &res);
    assert_string_equal(res.cert_subject, V08_EMAIL);
    assert_string_equal(res.cert_issuer, GITHUB_OAUTH); /* extension 1.8 */
    assert_int_equal(res.tlog, FERRY_TLOG_VERIFIED);
    assert_int_equal(res.tlog_integrated_time, 1740770291);
    assert_true(res.key_index == SIZE_MAX);
    assert_false(res.claim_checked);
    ferry_sig_result_clear(&res);
    /* with the subject the statement names */
    expect_ok(ferry_sigstore_bundle_verify(
                  v.bundle, v.len, &kl.trust,
                  "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4", NULL,
                  0, &res, &err),
              &err, &res);
    assert_true(res.claim_checked);
    ferry_sig_result_clear(&res);
    expect_fail(
        ferry_sigstore_bundle_verify(v.bundle, v.len, &kl.trust, made_digest, NULL, 0, &res, &err),
        &err, &res, FERRY_E_DIGEST_MISMATCH, FERRY_SIG_SUBJECT_MISMATCH, NULL);
    /* regexp */
    kl.ids[0] =
        (struct ferry_sig_identity){.subject_regexp = "@soyland\\.com$", .issuer = GITHUB_OAUTH};
    expect_ok(ferry_sigstore_bundle_verify(v.bundle, v.len, &kl.trust, NULL, NULL, 0, &res, &err),
              &err, &res);
    ferry_sig_result_clear(&res);
    /* v03's identity is not v08's */
    kl.ids[0] = (struct ferry_sig_identity){.subject = V03_EMAIL, .issuer = GITHUB_OAUTH};
    expect_fail(ferry_sigstore_bundle_verify(v.bundle, v.len, &kl.trust, NULL, NULL, 0, &res, &err),
                &err, &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_IDENTITY_MISMATCH,
                "\"cody@soyland.com\"");
    kl.ids[0] = (struct ferry_sig_identity){.subject = V08_EMAIL, .issuer_regexp = "^https://tok"};
    expect_fail(ferry_sigstore_bundle_verify(v.bundle, v.len, &kl.trust, NULL, NULL, 0, &res, &err),
                &err, &res, FERRY_E_UNTRUSTED_KEY, FERRY_SIG_IDENTITY_MISMATCH, NULL);
    kl.ids[0] = (struct ferry_sig_identity){.subject = V08_EMAIL, .issuer = GITHUB_OAUTH};
    /* tampered integratedTime: the SET no longer verifies */
    saved = ferry_strdup(v.bundle);
    tamper(v.bundle, "integratedTime", 0);
    expect_fail(ferry_sigstore_bundle_verify(v.bundle, v.len, &kl.trust, NULL, NULL, 0, &res, &err),
                &err, &res, FERRY_E_SIGNATURE, FERRY_SIG_BAD_TLOG, "does not verify");
    memcpy(v.bundle, saved, v.len);
    ferry_free(saved);
    keyless_free(&kl);
    /* no tlog key */
    keyless_init(&kl, root_public_good(edit_no_tlogs), V08_EMAIL, NULL, GITHUB_OAUTH, NULL);
    expect_fail(ferry_sigstore_bundle_verify(v.bundle, v.len, &kl.trust, NULL, NULL, 0, &res, &err),
                &err, &res, FERRY_E_SIGNATURE, FERRY_SIG_TLOG_MISSING, "needs a verified tlog");
    keyless_free(&kl);
    bvec_free(&v);
}

static void
test_v09_keyless(void **state)
{
    struct keyless kl;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    json_t *doc;
    char *text;
    NEED_BUNDLE(v, "v09-bundle-v03-cert-dsse", "bundle.sigstore.json", "artifact");
    (void)state;

    keyless_init(&kl, root_public_good(NULL), V09_URI, NULL, GITHUB_ACTIONS, NULL);
    expect_ok(bverify(&v, &(struct keys){.trust = kl.trust}, true, NULL, &res, &err), &err, &res);
    assert_string_equal(res.cert_subject, V09_URI);
    assert_string_equal(res.cert_issuer, GITHUB_ACTIONS);
    assert_true(res.claim_checked);
    assert_int_equal(res.tlog_integrated_time, 1734374576);
    ferry_sig_result_clear(&res);
    kl.ids[0] = (struct ferry_sig_identity){
        .subject_regexp = "^https://github\\.com/sigstore-conformance/",
        .issuer_regexp = "^https://token\\.actions\\.githubusercontent\\.com$"};
    expect_ok(bverify(&v, &(struct keys){.trust = kl.trust}, true, NULL, &res, &err), &err, &res);
    ferry_sig_result_clear(&res);
    /* a prefix of the URI is not the URI */
    kl.ids[0] = (struct ferry_sig_identity){.subject = "https://github.com/sigstore-conformance",
                                            .issuer = GITHUB_ACTIONS};
    expect_fail(bverify(&v, &(struct keys){.trust = kl.trust}, true, NULL, &res, &err), &err, &res,
                FERRY_E_UNTRUSTED_KEY, FERRY_SIG_IDENTITY_MISMATCH, NULL);
    kl.ids[0] = (struct ferry_sig_identity){.subject = V09_URI, .issuer = GITHUB_OAUTH};
    expect_fail(bverify(&v, &(struct keys){.trust = kl.trust}, true, NULL, &res, &err), &err, &res,
                FERRY_E_UNTRUSTED_KEY, FERRY_SIG_IDENTITY_MISMATCH, NULL);
    kl.ids[0] = (struct ferry_sig_identity){.subject = V09_URI, .issuer = GITHUB_ACTIONS};
    /* the same leaf as a v0.1-style x509CertificateChain, with the public-good
     * intermediate carried along */
    {
        json_error_t jerr;
        json_t *vm, *cert, *certs, *ca;
        doc = json_loadb(v.bundle, v.len, 0, &jerr);
        assert_non_null(doc);
        vm = json_object_get(doc, "verificationMaterial");
        cert = json_deep_copy(json_object_get(vm, "certificate"));
        json_object_del(vm, "certificate");
        certs = json_array();
        json_array_append_new(certs, cert);
        {
            json_t *rj = root_json();
            ca = json_object_get(
                json_object_get(path_get(rj, "certificateAuthorities", 1, NULL), "certChain"),
                "certificates");
            json_array_append(certs, json_array_get(ca, 0));
            json_decref(rj);
        }
        json_object_set_new(vm, "x509CertificateChain", json_pack("{s:o}", "certificates", certs));
        text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        expect_ok(ferry_sigstore_bundle_verify(text, strlen(text), &kl.trust, NULL, v.artifact,
                                               v.artifact_len, &res, &err),
                  &err, &res);
        assert_string_equal(res.cert_subject, V09_URI);
        ferry_sig_result_clear(&res);
        free(text);
    }
    keyless_free(&kl);
    /* no root */
    memset(&kl, 0, sizeof kl);
    expect_fail(ferry_sigstore_bundle_verify(v.bundle, v.len, &kl.trust, NULL, v.artifact,
                                             v.artifact_len, &res, &err),
                &err, &res, FERRY_E_UNSUPPORTED, FERRY_SIG_NEEDS_TRUSTED_ROOT, NULL);
    bvec_free(&v);
}

/* Keyless verification leaves nothing allocated, also when allocations
 * fail one after another. */
static void
test_keyless_no_leak(void **state)
{
    struct keyless kl;
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    size_t before;
    NEED_BUNDLE(v, "v09-bundle-v03-cert-dsse", "bundle.sigstore.json", "artifact");
    (void)state;

    keyless_init(&kl, root_public_good(NULL), NULL, "conformance", GITHUB_ACTIONS, NULL);
    for (unsigned long n = 1;; n++) {
        int r;
        before = ferry_alloc_current();
        ferry_alloc_fail_after(n);
        r = ferry_sigstore_bundle_verify(v.bundle, v.len, &kl.trust, NULL, v.artifact,
                                         v.artifact_len, &res, &err);
        ferry_alloc_fail_after(0);
        if (r != 0 && r != -FERRY_E_NOMEM)
            fail_msg("allocation %lu failing gives %d: %s", n, r, err != NULL ? err->msg : "");
        ferry_sig_result_clear(&res);
        ferry_error_clear(&err);
        assert_int_equal(ferry_alloc_current(), before);
        if (r == 0)
            break;
        assert_true(n < 2000);
    }
    keyless_free(&kl);
    /* loading a root too */
    {
        char path[4096];
        assert_true(vec_path("rekor/trusted_root_public_good.json", path, sizeof path));
        for (unsigned long n = 1;; n++) {
            struct ferry_sig_root *root = NULL;
            int r;
            before = ferry_alloc_current();
            ferry_alloc_fail_after(n);
            r = ferry_sig_root_load_file(path, &root, &err);
            ferry_alloc_fail_after(0);
            if (r != 0 && r != -FERRY_E_NOMEM)
                fail_msg("allocation %lu failing gives %d: %s", n, r, err != NULL ? err->msg : "");
            ferry_sig_root_free(root);
            ferry_error_clear(&err);
            assert_int_equal(ferry_alloc_current(), before);
            if (r == 0)
                break;
            assert_true(n < 2000);
        }
    }
    bvec_free(&v);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_names),
    cmocka_unit_test(test_key_load_vectors),
    cmocka_unit_test(test_key_load_dhi_keyring),
    cmocka_unit_test(test_n05_wrong_key_pem),
    cmocka_unit_test(test_key_load_rejects),
    cmocka_unit_test(test_key_load_file_rejects),
    cmocka_unit_test(test_key_load_refuses_certificate),
    cmocka_unit_test(test_made_ecdsa),
    cmocka_unit_test(test_made_rsa),
    cmocka_unit_test(test_made_ed25519),
    cmocka_unit_test(test_made_unsupported_keys),
    cmocka_unit_test(test_v01_legacy_key),
    cmocka_unit_test(test_v01_legacy_tamper),
    cmocka_unit_test(test_v01_signature_forms),
    cmocka_unit_test(test_simple_payload_strict),
    cmocka_unit_test(test_v02_legacy_rekor),
    cmocka_unit_test(test_v02_legacy_rekor_tamper),
    cmocka_unit_test(test_v03_legacy_fulcio),
    cmocka_unit_test(test_v04_legacy_optional),
    cmocka_unit_test(test_n01_legacy_unknown_key),
    cmocka_unit_test(test_n02_legacy_modified_manifest),
    cmocka_unit_test(test_v12_legacy_sig_manifest),
    cmocka_unit_test(test_v05_dsse),
    cmocka_unit_test(test_v05_dsse_tamper),
    cmocka_unit_test(test_n03_dsse_subject_mismatch),
    cmocka_unit_test(test_n04_dsse_empty_subject),
    cmocka_unit_test(test_dsse_malformed),
    cmocka_unit_test(test_v06_bundle_msgsig),
    cmocka_unit_test(test_v06_bundle_tamper),
    cmocka_unit_test(test_n05_bundle_wrong_key),
    cmocka_unit_test(test_v07_bundle_v01_dsse),
    cmocka_unit_test(test_v08_bundle_cert_cosign),
    cmocka_unit_test(test_v09_bundle_cert_dsse),
    cmocka_unit_test(test_n06_bundle_dsse_invalid_sig),
    cmocka_unit_test(test_v10_bundle_notlog),
    cmocka_unit_test(test_n07_bundle_digest_mismatch),
    cmocka_unit_test(test_v11_bundle_dsse_plain),
    cmocka_unit_test(test_v13_bundle_cosign_v3),
    cmocka_unit_test(test_bundle_malformed),
    cmocka_unit_test(test_no_leak),
    cmocka_unit_test(test_root_load_public_good),
    cmocka_unit_test(test_root_load_rejects),
    cmocka_unit_test(test_identity_check),
    cmocka_unit_test(test_identity_regexp_semantics),
    cmocka_unit_test(test_v03_keyless),
    cmocka_unit_test(test_keyless_times),
    cmocka_unit_test(test_v08_keyless),
    cmocka_unit_test(test_v09_keyless),
    cmocka_unit_test(test_keyless_no_leak),
};
FERRY_UNIT_MAIN(tests)
