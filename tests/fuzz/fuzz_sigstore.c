/* Fuzz the sigstore parsers: cosign simple signing (with a Rekor bundle),
 * DSSE envelopes, Sigstore bundles and PEM public keys.
 *
 * Byte 0 picks the options (cmark: fuzz/cmark-fuzz.c):
 *   bits 0-2  the trusted key (one of the vectors' keys below)
 *   bits 3-4  the parser: 0 simple signing, 1 DSSE, 2 bundle, 3 key PEM
 *   bit 5     give the public-good Rekor key
 *   bit 6     require a tlog entry (only with bit 5)
 *   bit 7     bundle: the first line is the artifact's bytes, not its digest
 * The rest, by parser:
 *   simple  "<image digest>\n<signature b64>\n<rekor bundle json or empty>\n<payload>"
 *   dsse    "<subject digest or empty>\n<envelope>"
 *   bundle  "<artifact digest, or bytes (bit 7), or empty>\n<bundle>"
 *   key     the PEM text
 * Seeds: tests/fuzz/corpus/sigstore/, made from tests/data/cosign-vectors/. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/sigstore.h"
#include "ferry/util.h"

static const char *const pems[] = {
    /* v01-legacy-key/cosign.pub */
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFNLqFhf4fiN6o/glAuYnq2jYUeL0\n"
    "vRuLu/z39pmbVwS9ff5AYnlwaP9sxREajdLY9ynM6G1sy6AAmb7Z63TsLg==\n"
    "-----END PUBLIC KEY-----\n",
    /* v02-legacy-key-rekor/cosign2.pub */
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEwOkOF9xpfG8ghueIhnZ66ooujwt1\n"
    "+ReV3HupgKnGFYnEh3Hh1YTg5L6kN1Yakkt5WltRoav8/R3hpCtUO3Rldw==\n"
    "-----END PUBLIC KEY-----\n",
    /* v05-dsse-att-key/cosign.pub */
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAESF79b1ToAtoakhBOHEU5UjnEiihV\n"
    "gZPFIp557+TOoDxf14FODWc+sIPETk0OgCplAk60doVXbCv33IU4rXZHrg==\n"
    "-----END PUBLIC KEY-----\n",
    /* v06-bundle-v03-key-msgsig/key.pub */
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAExRRST79+PsrRBnGAI4cMu6Omz2Jh\n"
    "fwlMW+gIutNKVRaMyS4rQKvgngc5p8UbLj55pVHhIoAxi/SRgURZI0J3Xw==\n"
    "-----END PUBLIC KEY-----\n",
    /* v07-bundle-v01-key-dsse/key.pub */
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1Olb3zMAFFxXKHiIkQO5cJ3Yhl5i6UPp+IhuteBJbuHcA5UogKo0EWt"
    "lWwW6KSaKoTNEYL7JlCQiVnkhBktUgg==\n"
    "-----END PUBLIC KEY-----\n",
    /* v11-bundle-v01-key-dsse-plain/key.pub */
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEGg6Hjxt2UNiJ1kwwq5XQIIwMZnJf\n"
    "VQ3bF01uZKteMdcV/3qhCmWOecoxRqwrbYTshGg9NyXcBbve6zKwZVTLeg==\n"
    "-----END PUBLIC KEY-----\n",
    /* v13-bundle-v03-key-dsse-cosign-v3/bundle-cosign.pub */
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsL6GJsyjiA16JAsOHk/4vtCk8/zx\n"
    "NFa7+v2fVC812/3EINipjpuksf5IhY8dR17Lnc3M2tFZ97ZIb4zb7Ai2LQ==\n"
    "-----END PUBLIC KEY-----\n",
    /* v10-bundle-v03-key-msgsig-notlog/key.pub */
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4M25NDTMbDCpLsh9zJtoZOeD5l38\n"
    "fUpzTdK3JWjJGf1Gb75J0xooxS+n/gdN3ch6dUU9ZyRy75JQPvMBl/uEdA==\n"
    "-----END PUBLIC KEY-----\n",
};

/* rekor/rekor-public-good.pub */
static const char rekor_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                                "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwr\n"
                                "kBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==\n"
                                "-----END PUBLIC KEY-----\n";

static struct ferry_sig_key *keys[8];
static struct ferry_sig_key *rekor;

static void
load_keys(void)
{
    struct ferry_error *err = NULL;

    if (rekor != NULL)
        return;
    for (size_t i = 0; i < 8; i++)
        if (ferry_sig_key_load(pems[i], strlen(pems[i]), &keys[i], &err) != 0)
            abort();
    if (ferry_sig_key_load(rekor_pem, strlen(rekor_pem), &rekor, &err) != 0)
        abort();
}

/* The next '\n'-terminated field of [*p, end) as a NUL-terminated copy
 * (ferry_free); NULL when there is no newline left. */
static char *
field(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    char *s;

    if (nl == NULL)
        return NULL;
    s = ferry_strndup((const char *)*p, (size_t)(nl - *p));
    *p = nl + 1;
    return s;
}

/* Whatever the input, the result and the status agree. */
static void
check(int r, const struct ferry_sig_result *res, const struct ferry_error *err,
      const struct ferry_sig_trust *trust)
{
    if (r == 0) {
        if (res->reason != FERRY_SIG_VERIFIED || err != NULL || res->key_index >= trust->nkeys ||
            strcmp(res->key_id, ferry_sig_key_id(trust->keys[res->key_index])) != 0)
            abort();
        if (trust->require_tlog && res->tlog != FERRY_TLOG_VERIFIED)
            abort();
        if (trust->ntlog_keys == 0 && res->tlog != FERRY_TLOG_NOT_CHECKED)
            abort();
    } else {
        if (r > 0 || res->reason == FERRY_SIG_VERIFIED || res->identity != NULL ||
            res->payload_type != NULL || res->predicate_type != NULL)
            abort();
        /* NULL only when the error itself could not be allocated */
        if (err == NULL && r != -FERRY_E_NOMEM)
            abort();
        if (err != NULL && strchr(err->msg, '\n') != NULL)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_sig_trust trust = {0};
    struct ferry_sig_result res;
    struct ferry_error *err = NULL;
    const uint8_t *p, *end = data + size;
    char *a = NULL, *b = NULL, *c = NULL;
    uint8_t opt;
    int r = 0;

    if (size < 1)
        return 0;
    load_keys();
    opt = data[0];
    p = data + 1;
    trust.keys = &keys[opt & 7];
    trust.nkeys = 1;
    if (opt & 0x20) {
        trust.tlog_keys = &rekor;
        trust.ntlog_keys = 1;
        trust.require_tlog = (opt & 0x40) != 0;
    }
    switch ((opt >> 3) & 3) {
    case 0: {
        struct ferry_cosign_layer layer = {0};
        if ((a = field(&p, end)) == NULL || (b = field(&p, end)) == NULL ||
            (c = field(&p, end)) == NULL)
            break;
        layer.payload = p;
        layer.payload_len = (size_t)(end - p);
        layer.signature = b;
        layer.rekor_bundle = c[0] != '\0' ? c : NULL;
        r = ferry_cosign_verify_simple(&layer, &trust, a, &res, &err);
        check(r, &res, err, &trust);
        ferry_sig_result_clear(&res);
        break;
    }
    case 1:
        if ((a = field(&p, end)) == NULL)
            break;
        r = ferry_dsse_verify(p, (size_t)(end - p), &trust, a[0] != '\0' ? a : NULL, &res, &err);
        check(r, &res, err, &trust);
        ferry_sig_result_clear(&res);
        break;
    case 2:
        if ((a = field(&p, end)) == NULL)
            break;
        if (opt & 0x80)
            r = ferry_sigstore_bundle_verify(p, (size_t)(end - p), &trust, NULL, a, strlen(a), &res,
                                             &err);
        else
            r = ferry_sigstore_bundle_verify(p, (size_t)(end - p), &trust, a[0] != '\0' ? a : NULL,
                                             NULL, 0, &res, &err);
        check(r, &res, err, &trust);
        ferry_sig_result_clear(&res);
        break;
    default: {
        struct ferry_sig_key *k = NULL;
        r = ferry_sig_key_load(p, (size_t)(end - p), &k, &err);
        if ((r == 0) != (k != NULL))
            abort();
        if (k != NULL && strlen(ferry_sig_key_id(k)) != FERRY_SIGSTORE_KEY_ID_LEN)
            abort();
        ferry_sig_key_free(k);
        break;
    }
    }
    ferry_error_clear(&err);
    ferry_free(a);
    ferry_free(b);
    ferry_free(c);
    return 0;
}
