/* ferry: content digests, "<alg>:<hex>" per image-spec descriptor.md, hashed
 * with OpenSSL EVP (sha256, sha512). */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "ferry/digest.h"
#include "ferry/util.h"

#define HASHER_MAGIC 0x66647367u /* "fdsg" */

struct ferry_hasher {
    unsigned int magic;
    enum ferry_digest_alg alg;
    EVP_MD_CTX *ctx;
    bool failed; /* an EVP call failed; final reports an empty digest */
};

/* Shown in messages: the offending text quoted (ferry_quote), its first 80
 * printable bytes at most, then "...". */
#define SHOWN_SIZE 84

static const EVP_MD *
alg_md(enum ferry_digest_alg alg)
{
    switch (alg) {
    case FERRY_DIGEST_SHA256:
        return EVP_sha256();
    case FERRY_DIGEST_SHA512:
        return EVP_sha512();
    }
    return NULL;
}

static size_t
alg_hex_len(enum ferry_digest_alg alg)
{
    return alg == FERRY_DIGEST_SHA512 ? 128 : 64;
}

const char *
ferry_digest_alg_name(enum ferry_digest_alg alg)
{
    switch (alg) {
    case FERRY_DIGEST_SHA256:
        return "sha256";
    case FERRY_DIGEST_SHA512:
        return "sha512";
    }
    return "unknown";
}

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_lower_hex(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9');
}

static bool
is_encoded_char(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '=' || c == '_' || c == '-';
}

/* algorithm ::= [a-z0-9]+ ([+._-] [a-z0-9]+)* ; returns its length or 0. */
static size_t
scan_algorithm(const char *s)
{
    size_t i = 0;

    for (;;) {
        size_t start = i;
        while (is_lower_alnum(s[i]))
            i++;
        if (i == start)
            return 0;
        if (s[i] == '+' || s[i] == '.' || s[i] == '_' || s[i] == '-')
            i++;
        else
            return i;
    }
}

int
ferry_digest_parse(const char *s, struct ferry_digest *out, struct ferry_error **err)
{
    char shown[SHOWN_SIZE];
    enum ferry_digest_alg alg;
    size_t alen, elen, want;

    if (s == NULL)
        return ferry_error_new(err, FERRY_E_INVALID, "invalid digest: missing");
    alen = scan_algorithm(s);
    if (alen == 0 || s[alen] != ':')
        return ferry_error_new(err, FERRY_E_INVALID, "invalid digest \"%s\": bad algorithm",
                               ferry_quote(shown, sizeof shown, s, strnlen(s, sizeof shown)));
    for (elen = 0; s[alen + 1 + elen] != '\0'; elen++) {
        if (!is_encoded_char(s[alen + 1 + elen]))
            return ferry_error_new(
                err, FERRY_E_INVALID, "invalid digest \"%s\": bad character at offset %zu",
                ferry_quote(shown, sizeof shown, s, strnlen(s, sizeof shown)), alen + 1 + elen);
    }
    if (elen == 0)
        return ferry_error_new(err, FERRY_E_INVALID, "invalid digest \"%s\": empty encoded part",
                               ferry_quote(shown, sizeof shown, s, strnlen(s, sizeof shown)));
    if (alen == 6 && memcmp(s, "sha256", 6) == 0)
        alg = FERRY_DIGEST_SHA256;
    else if (alen == 6 && memcmp(s, "sha512", 6) == 0)
        alg = FERRY_DIGEST_SHA512;
    else
        return ferry_error_new(err, FERRY_E_UNSUPPORTED, "unsupported digest algorithm in \"%s\"",
                               ferry_quote(shown, sizeof shown, s, strnlen(s, sizeof shown)));
    want = alg_hex_len(alg);
    if (elen != want)
        return ferry_error_new(err, FERRY_E_INVALID,
                               "invalid digest \"%s\": %s needs %zu hex characters, got %zu",
                               ferry_quote(shown, sizeof shown, s, strnlen(s, sizeof shown)),
                               ferry_digest_alg_name(alg), want, elen);
    for (size_t i = 0; i < elen; i++) {
        if (!is_lower_hex(s[alen + 1 + i]))
            return ferry_error_new(
                err, FERRY_E_INVALID, "invalid digest \"%s\": not lowercase hex at offset %zu",
                ferry_quote(shown, sizeof shown, s, strnlen(s, sizeof shown)), alen + 1 + i);
    }
    out->alg = alg;
    memcpy(out->str, s, alen + 1 + elen + 1);
    return 0;
}

const char *
ferry_digest_hex(const struct ferry_digest *d)
{
    const char *p = strchr(d->str, ':');

    return p != NULL ? p + 1 : d->str;
}

/* Write "<alg>:<hex of md>" into out. */
static void
format_digest(enum ferry_digest_alg alg, const unsigned char *md, size_t mdlen,
              struct ferry_digest *out)
{
    static const char hex[] = "0123456789abcdef";
    const char *name = ferry_digest_alg_name(alg);
    size_t n = strlen(name);

    out->alg = alg;
    memcpy(out->str, name, n);
    out->str[n++] = ':';
    for (size_t i = 0; i < mdlen && n + 2 < sizeof out->str; i++) {
        out->str[n++] = hex[md[i] >> 4];
        out->str[n++] = hex[md[i] & 0xf];
    }
    out->str[n] = '\0';
}

/* An EVP failure (allocation inside OpenSSL) yields a digest that matches
 * nothing, so a later comparison fails instead of passing by accident. */
static void
failed_digest(enum ferry_digest_alg alg, struct ferry_digest *out)
{
    out->alg = alg;
    snprintf(out->str, sizeof out->str, "%s:", ferry_digest_alg_name(alg));
}

struct ferry_hasher *
ferry_hasher_new(enum ferry_digest_alg alg)
{
    struct ferry_hasher *h = NULL;
    const EVP_MD *md = alg_md(alg);

    if (md == NULL)
        return NULL;
    h = ferry_calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->magic = HASHER_MAGIC;
    h->alg = alg;
    h->ctx = EVP_MD_CTX_new();
    if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
        ferry_hasher_free(h);
        return NULL;
    }
    return h;
}

void
ferry_hasher_update(struct ferry_hasher *h, const void *data, size_t len)
{
    if (h == NULL || h->magic != HASHER_MAGIC || h->failed || len == 0)
        return;
    if (EVP_DigestUpdate(h->ctx, data, len) != 1)
        h->failed = true;
}

void
ferry_hasher_final(struct ferry_hasher *h, struct ferry_digest *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (h == NULL || h->magic != HASHER_MAGIC) {
        failed_digest(FERRY_DIGEST_SHA256, out);
        return;
    }
    if (h->failed || EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1)
        failed_digest(h->alg, out);
    else
        format_digest(h->alg, md, mdlen, out);
    /* Ready for the next message: reset is optional after final. */
    ferry_hasher_reset(h);
}

void
ferry_hasher_reset(struct ferry_hasher *h)
{
    if (h == NULL || h->magic != HASHER_MAGIC)
        return;
    h->failed = EVP_DigestInit_ex(h->ctx, alg_md(h->alg), NULL) != 1;
}

void
ferry_hasher_free(struct ferry_hasher *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->ctx);
    h->magic = 0;
    ferry_free(h);
}

void
ferry_digest_buffer(enum ferry_digest_alg alg, const void *data, size_t len,
                    struct ferry_digest *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const EVP_MD *evp = alg_md(alg);

    if (evp == NULL || EVP_Digest(len > 0 ? data : "", len, md, &mdlen, evp, NULL) != 1) {
        failed_digest(alg, out);
        return;
    }
    format_digest(alg, md, mdlen, out);
}

int
ferry_digest_verify(const struct ferry_digest *want, const void *data, size_t len, const char *what,
                    struct ferry_error **err)
{
    struct ferry_digest got;

    ferry_digest_buffer(want->alg, data, len, &got);
    if (strcmp(got.str, want->str) != 0)
        return ferry_error_new(err, FERRY_E_DIGEST_MISMATCH, "%s: digest mismatch: want %s, got %s",
                               what != NULL ? what : "content", want->str, got.str);
    return 0;
}
