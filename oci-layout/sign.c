/* ferry: minisign-compatible keys and signatures (jedisct1/minisign formats,
 * see docs/internals/sign.md). Ed25519 over BLAKE2b-512 ("ED", prehashed), a
 * global signature over sig || trusted comment, scrypt-encrypted secret keys. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ferry/limits.h"
#include "ferry/sign.h"
#include "ferry/util.h"
#include "sign_int.h"

/* ---- minisign constants (minisign.h) -------------------------------------- */

#define SIGALG "Ed"
#define SIGALG_HASHED "ED"
#define KDFALG "Sc"
#define KDFNONE "\0\0"
#define CHKALG "B2"
#define COMMENT_PREFIX "untrusted comment: "
#define TRUSTED_COMMENT_PREFIX "trusted comment: "
#define COMMENTMAXBYTES 1024
#define TRUSTEDCOMMENTMAXBYTES 8192
#define PASSWORDMAXBYTES 1024
#define DEFAULT_SIG_COMMENT "signature from minisign secret key"
#define SECKEY_COMMENT "minisign encrypted secret key" /* also for -W keys */
#define PUBKEY_COMMENT "minisign public key "

#define PREFIX_LEN (sizeof COMMENT_PREFIX - 1)
#define TRUSTED_PREFIX_LEN (sizeof TRUSTED_COMMENT_PREFIX - 1)
/* Longest comment texts minisign writes and reads back (fgets buffers of
 * COMMENTMAXBYTES / TRUSTEDCOMMENTMAXBYTES include the prefix, \n and NUL). */
#define UNTRUSTED_MAX (COMMENTMAXBYTES - PREFIX_LEN - 2)
#define TRUSTED_MAX (TRUSTEDCOMMENTMAXBYTES - TRUSTED_PREFIX_LEN - 2)

#define HASH_BYTES crypto_generichash_BYTES_MAX /* 64: BLAKE2b-512 */
#define ED_SIG_BYTES crypto_sign_BYTES          /* 64 */
#define ED_PK_BYTES crypto_sign_PUBLICKEYBYTES  /* 32 */
#define ED_SK_BYTES crypto_sign_SECRETKEYBYTES  /* 64: seed || pk */
#define CHK_BYTES crypto_generichash_BYTES      /* 32: BLAKE2b-256 */

/* PubkeyStruct: sig_alg[2] | keynum[8] | pk[32] */
#define PK_OFF_KEYNUM 2
#define PK_OFF_PK (PK_OFF_KEYNUM + FERRY_KEYID_LEN)
#define PK_BYTES (PK_OFF_PK + ED_PK_BYTES)
/* SigStruct: sig_alg[2] | keynum[8] | sig[64] */
#define SIG_OFF_KEYNUM 2
#define SIG_OFF_SIG (SIG_OFF_KEYNUM + FERRY_KEYID_LEN)
#define SIG_BYTES (SIG_OFF_SIG + ED_SIG_BYTES)
/* SeckeyStruct: sig_alg[2] | kdf_alg[2] | chk_alg[2] | salt[32] | opslimit[8] |
 * memlimit[8] | keynum_sk[104] = keynum[8] | sk[64] | chk[32] */
#define SK_OFF_KDF 2
#define SK_OFF_CHKALG 4
#define SK_OFF_SALT 6
#define SK_OFF_OPS (SK_OFF_SALT + crypto_pwhash_scryptsalsa208sha256_SALTBYTES)
#define SK_OFF_MEM (SK_OFF_OPS + 8)
#define SK_OFF_KEYNUM_SK (SK_OFF_MEM + 8)
#define SK_OFF_SK (SK_OFF_KEYNUM_SK + FERRY_KEYID_LEN)
#define SK_OFF_CHK (SK_OFF_SK + ED_SK_BYTES)
#define SK_BYTES (SK_OFF_CHK + CHK_BYTES)
#define KEYNUM_SK_BYTES (SK_BYTES - SK_OFF_KEYNUM_SK)

/* Base64 line lengths (standard alphabet, padded). */
#define PK_B64 56
#define SIG_B64 100
#define GSIG_B64 88
#define SK_B64 212

_Static_assert(PK_BYTES == 42, "PubkeyStruct is 42 bytes");
_Static_assert(SIG_BYTES == 74, "SigStruct is 74 bytes");
_Static_assert(SK_BYTES == 158, "SeckeyStruct is 158 bytes");
_Static_assert(KEYNUM_SK_BYTES == 104, "keynum_sk is 104 bytes");
_Static_assert(FERRY_MAX_SIGNATURE > COMMENTMAXBYTES + TRUSTEDCOMMENTMAXBYTES + 256,
               "a maximal .minisig fits FERRY_MAX_SIGNATURE");

#define PUBKEY_MAGIC 0x66706b31u /* "fpk1" */
#define SECKEY_MAGIC 0x66736b31u /* "fsk1" */
#define SIGNER_MAGIC 0x66736731u /* "fsg1" */

struct ferry_pubkey {
    unsigned int magic;
    unsigned char keynum[FERRY_KEYID_LEN];
    unsigned char pk[ED_PK_BYTES];
};

/* sodium_malloc'd; wiped on free. */
struct ferry_seckey {
    unsigned int magic;
    unsigned char keynum[FERRY_KEYID_LEN];
    unsigned char sk[ED_SK_BYTES];
};

struct ferry_signer {
    unsigned int magic;
    /* crypto_generichash_state wants 64-byte alignment, more than
     * ferry_malloc guarantees; the state lives at an aligned offset. */
    unsigned char state_buf[sizeof(crypto_generichash_state) + 63];
};

/* A parsed .minisig: pointers into the caller's text. */
struct sig_parsed {
    unsigned char sig[SIG_BYTES];
    unsigned char global_sig[ED_SIG_BYTES];
    const char *trusted_comment;
    size_t trusted_comment_len;
    bool hashed;
};

/* ---- helpers ---------------------------------------------------------------- */

static int
sodium_ready(struct ferry_error **err)
{
    if (sodium_init() < 0)
        return ferry_error_new(err, FERRY_E_CRYPTO, "libsodium initialisation failed");
    return 0;
}

static uint64_t
le64_load(const unsigned char *p)
{
    uint64_t x = 0;

    for (int i = 7; i >= 0; i--)
        x = (x << 8) | p[i];
    return x;
}

static void
le64_store(unsigned char *p, uint64_t x)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(x & 0xff);
        x >>= 8;
    }
}

static void
keyid_format(const unsigned char keynum[FERRY_KEYID_LEN], char *buf, size_t buflen)
{
    if (buf == NULL || buflen == 0)
        return;
    snprintf(buf, buflen, "%016" PRIX64, le64_load(keynum));
}

static const char *
what_or(const char *what, const char *dflt)
{
    return what != NULL ? what : dflt;
}

/* Decode exactly want bytes from a base64 line of exactly b64_len characters. */
static bool
b64_decode_exact(unsigned char *bin, size_t want, const char *b64, size_t b64_len,
                 size_t expect_b64_len)
{
    size_t got = 0;

    if (b64_len != expect_b64_len)
        return false;
    if (sodium_base642bin(bin, want, b64, b64_len, NULL, &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    return got == want;
}

/* Printable UTF-8, TAB allowed (minisign 0.12 trusted-comment rule). */
static bool
printable_utf8(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t need;
        uint32_t cp, min;

        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return false;
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            need = 1;
            cp = c & 0x1fu;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            need = 2;
            cp = c & 0x0fu;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            need = 3;
            cp = c & 0x07u;
            min = 0x10000;
        } else {
            return false;
        }
        if (n - i - 1 < need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            unsigned char d = (unsigned char)s[i + k];
            if ((d & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (d & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += need + 1;
    }
    return true;
}

/* Next line of text[*pos..len). A line ends in \n; the last one may end at
 * the end of the text when may_be_last. One \r before the \n is dropped, as
 * minisign's trim() does; any other \r makes the line invalid. Returns false
 * when there is no such line. */
static bool
next_line(const char *text, size_t len, size_t *pos, bool may_be_last, const char **line,
          size_t *line_len, bool *bad_cr)
{
    const char *start = text + *pos;
    const char *nl;
    size_t n, rest = len - *pos;

    *bad_cr = false;
    nl = memchr(start, '\n', rest);
    if (nl == NULL) {
        if (!may_be_last || rest == 0)
            return false;
        n = rest;
        *pos = len;
    } else {
        n = (size_t)(nl - start);
        *pos += n + 1;
    }
    if (n > 0 && start[n - 1] == '\r')
        n--;
    if (memchr(start, '\r', n) != NULL)
        *bad_cr = true;
    *line = start;
    *line_len = n;
    return true;
}

static bool
has_prefix(const char *s, size_t n, const char *prefix, size_t plen)
{
    return n >= plen && memcmp(s, prefix, plen) == 0;
}

/* ---- signature text ------------------------------------------------------- */

static int
stray_cr(const char *what, int line, struct ferry_error **err)
{
    return ferry_error_new(err, FERRY_E_SIGNATURE,
                           "%s: stray carriage return in line %d of the signature", what, line);
}

/* Parse the four lines of a .minisig strictly. */
static int
sig_parse(const char *text, size_t len, const char *what, struct sig_parsed *p,
          struct ferry_error **err)
{
    const char *line;
    size_t pos = 0, n;
    bool bad_cr;

    if (text == NULL)
        return ferry_error_new(err, FERRY_E_SIGNATURE, "%s: no signature", what);
    if (len > FERRY_MAX_SIGNATURE)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: signature larger than %u bytes", what,
                               FERRY_MAX_SIGNATURE);
    if (memchr(text, '\0', len) != NULL)
        return ferry_error_new(err, FERRY_E_SIGNATURE, "%s: signature contains a nul byte", what);

    /* 1: untrusted comment (not authenticated) */
    if (!next_line(text, len, &pos, false, &line, &n, &bad_cr))
        return ferry_error_new(err, FERRY_E_SIGNATURE, "%s: signature truncated in line 1", what);
    if (bad_cr)
        return stray_cr(what, 1, err);
    if (!has_prefix(line, n, COMMENT_PREFIX, PREFIX_LEN))
        return ferry_error_new(err, FERRY_E_SIGNATURE,
                               "%s: line 1 of the signature must start with \"" COMMENT_PREFIX "\"",
                               what);
    if (n - PREFIX_LEN > UNTRUSTED_MAX)
        return ferry_error_new(err, FERRY_E_SIGNATURE,
                               "%s: untrusted comment longer than %zu bytes", what,
                               (size_t)UNTRUSTED_MAX);

    /* 2: base64(SigStruct) */
    if (!next_line(text, len, &pos, false, &line, &n, &bad_cr))
        return ferry_error_new(err, FERRY_E_SIGNATURE, "%s: signature truncated in line 2", what);
    if (bad_cr)
        return stray_cr(what, 2, err);
    if (!b64_decode_exact(p->sig, SIG_BYTES, line, n, SIG_B64))
        return ferry_error_new(err, FERRY_E_SIGNATURE,
                               "%s: line 2 is not a base64 signature of %d characters", what,
                               SIG_B64);
    if (memcmp(p->sig, SIGALG_HASHED, 2) == 0)
        p->hashed = true;
    else if (memcmp(p->sig, SIGALG, 2) == 0)
        p->hashed = false;
    else
        return ferry_error_new(err, FERRY_E_SIGNATURE, "%s: unsupported signature algorithm", what);

    /* 3: trusted comment */
    if (!next_line(text, len, &pos, false, &line, &n, &bad_cr))
        return ferry_error_new(err, FERRY_E_SIGNATURE, "%s: signature truncated in line 3", what);
    if (bad_cr)
        return stray_cr(what, 3, err);
    if (!has_prefix(line, n, TRUSTED_COMMENT_PREFIX, TRUSTED_PREFIX_LEN))
        return ferry_error_new(
            err, FERRY_E_SIGNATURE,
            "%s: line 3 of the signature must start with \"" TRUSTED_COMMENT_PREFIX "\"", what);
    p->trusted_comment = line + TRUSTED_PREFIX_LEN;
    p->trusted_comment_len = n - TRUSTED_PREFIX_LEN;
    if (p->trusted_comment_len > TRUSTED_MAX)
        return ferry_error_new(err, FERRY_E_SIGNATURE, "%s: trusted comment longer than %zu bytes",
                               what, (size_t)TRUSTED_MAX);
    if (!printable_utf8(p->trusted_comment, p->trusted_comment_len))
        return ferry_error_new(err, FERRY_E_SIGNATURE, "%s: trusted comment is not printable utf-8",
                               what);

    /* 4: base64(global signature), then nothing */
    if (!next_line(text, len, &pos, true, &line, &n, &bad_cr))
        return ferry_error_new(err, FERRY_E_SIGNATURE, "%s: signature truncated in line 4", what);
    if (bad_cr)
        return stray_cr(what, 4, err);
    if (!b64_decode_exact(p->global_sig, ED_SIG_BYTES, line, n, GSIG_B64))
        return ferry_error_new(err, FERRY_E_SIGNATURE,
                               "%s: line 4 is not a base64 signature of %d characters", what,
                               GSIG_B64);
    if (pos != len)
        return ferry_error_new(err, FERRY_E_SIGNATURE,
                               "%s: unexpected data after line 4 of the signature", what);
    return 0;
}

/* Verify a parsed signature over msg (the BLAKE2b-512 hash for "ED", the
 * message itself for "Ed"). */
static int
verify_parsed(struct ferry_pubkey *const *keys, size_t nkeys, const struct sig_parsed *p,
              const unsigned char *msg, size_t msglen, const char *what, char **trusted_comment,
              size_t *which, struct ferry_error **err)
{
    char id[FERRY_KEYID_LEN * 2 + 1];
    unsigned char *signed_tc = NULL;
    char *tc = NULL;
    size_t signed_tc_len = ED_SIG_BYTES + p->trusted_comment_len;
    enum { NO_MATCH, BAD_SIG, BAD_GLOBAL } failure = NO_MATCH;
    size_t i;
    int ret = 0;

    keyid_format(p->sig + SIG_OFF_KEYNUM, id, sizeof id);
    signed_tc = ferry_malloc(signed_tc_len);
    if (signed_tc == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory verifying signature", what);
    memcpy(signed_tc, p->sig + SIG_OFF_SIG, ED_SIG_BYTES);
    memcpy(signed_tc + ED_SIG_BYTES, p->trusted_comment, p->trusted_comment_len);

    for (i = 0; i < nkeys; i++) {
        const struct ferry_pubkey *k = keys != NULL ? keys[i] : NULL;

        if (k == NULL || k->magic != PUBKEY_MAGIC ||
            memcmp(k->keynum, p->sig + SIG_OFF_KEYNUM, FERRY_KEYID_LEN) != 0)
            continue;
        /* Keep the first failure; another key with the same id may verify. */
        if (crypto_sign_verify_detached(p->sig + SIG_OFF_SIG, msg, msglen, k->pk) != 0) {
            if (failure == NO_MATCH)
                failure = BAD_SIG;
            continue;
        }
        if (crypto_sign_verify_detached(p->global_sig, signed_tc, signed_tc_len, k->pk) != 0) {
            if (failure == NO_MATCH)
                failure = BAD_GLOBAL;
            continue;
        }
        break;
    }
    if (i == nkeys) {
        if (failure == NO_MATCH)
            ret = ferry_error_new(err, FERRY_E_UNTRUSTED_KEY,
                                  "%s: signed by key %s, which is not among the %zu trusted keys",
                                  what, id, nkeys);
        else if (failure == BAD_SIG)
            ret = ferry_error_new(err, FERRY_E_SIGNATURE,
                                  "%s: signature by key %s does not match the content", what, id);
        else
            ret = ferry_error_new(err, FERRY_E_SIGNATURE,
                                  "%s: trusted comment signature by key %s is not valid", what, id);
        goto out;
    }
    ret = 0;
    if (trusted_comment != NULL) {
        tc = ferry_strndup(p->trusted_comment, p->trusted_comment_len);
        if (tc == NULL) {
            ret = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory copying trusted comment",
                                  what);
            goto out;
        }
        *trusted_comment = tc;
    }
    if (which != NULL)
        *which = i;
out:
    ferry_free(signed_tc);
    return ret;
}

/* ---- public keys ------------------------------------------------------------ */

int
ferry_pubkey_parse(const char *text, size_t len, const char *what, struct ferry_pubkey **out,
                   struct ferry_error **err)
{
    unsigned char bin[PK_BYTES];
    struct ferry_pubkey *pk = NULL;
    const char *line;
    size_t pos = 0, n;
    bool bad_cr;
    int ret;

    what = what_or(what, "public key");
    if ((ret = sodium_ready(err)) < 0)
        return ret;
    if (text == NULL)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: no public key", what);
    if (len > FERRY_MAX_KEYFILE)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: public key larger than %u bytes", what,
                               FERRY_MAX_KEYFILE);
    if (memchr(text, '\0', len) != NULL)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: public key contains a nul byte", what);
    if (has_prefix(text, len, COMMENT_PREFIX, PREFIX_LEN)) {
        if (!next_line(text, len, &pos, false, &line, &n, &bad_cr) || bad_cr)
            return ferry_error_new(err, FERRY_E_INVALID, "%s: bad comment line in public key",
                                   what);
        if (n - PREFIX_LEN > UNTRUSTED_MAX)
            return ferry_error_new(err, FERRY_E_INVALID,
                                   "%s: public key comment longer than %zu bytes", what,
                                   (size_t)UNTRUSTED_MAX);
    }
    if (!next_line(text, len, &pos, true, &line, &n, &bad_cr) || bad_cr ||
        !b64_decode_exact(bin, sizeof bin, line, n, PK_B64))
        return ferry_error_new(err, FERRY_E_INVALID, "%s: not a %d-character base64 public key",
                               what, PK_B64);
    if (pos != len)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: unexpected data after the public key",
                               what);
    if (memcmp(bin, SIGALG, 2) != 0)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: unsupported public key algorithm", what);
    pk = ferry_calloc(1, sizeof *pk);
    if (pk == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory loading public key", what);
    pk->magic = PUBKEY_MAGIC;
    memcpy(pk->keynum, bin + PK_OFF_KEYNUM, FERRY_KEYID_LEN);
    memcpy(pk->pk, bin + PK_OFF_PK, ED_PK_BYTES);
    *out = pk;
    return 0;
}

int
ferry_pubkey_load(const char *path, struct ferry_pubkey **out, struct ferry_error **err)
{
    struct ferry_buf b;
    int ret;

    ferry_buf_init(&b, FERRY_MAX_KEYFILE);
    ret = ferry_read_file(path, &b, err);
    if (ret < 0)
        goto out;
    ret = ferry_pubkey_parse(b.data != NULL ? b.data : "", b.len, path, out, err);
out:
    ferry_buf_free(&b);
    return ret;
}

void
ferry_pubkey_free(struct ferry_pubkey *pk)
{
    if (pk == NULL)
        return;
    pk->magic = 0;
    ferry_free(pk);
}

void
ferry_pubkey_id(const struct ferry_pubkey *pk, char *buf, size_t buflen)
{
    if (pk == NULL || pk->magic != PUBKEY_MAGIC) {
        if (buf != NULL && buflen > 0)
            buf[0] = '\0';
        return;
    }
    keyid_format(pk->keynum, buf, buflen);
}

/* ---- secret keys ------------------------------------------------------------ */

static void
seckey_compute_chk(unsigned char chk[CHK_BYTES], const unsigned char *skb)
{
    crypto_generichash_state hs;

    crypto_generichash_init(&hs, NULL, 0, CHK_BYTES);
    crypto_generichash_update(&hs, skb, 2);
    crypto_generichash_update(&hs, skb + SK_OFF_KEYNUM_SK, FERRY_KEYID_LEN);
    crypto_generichash_update(&hs, skb + SK_OFF_SK, ED_SK_BYTES);
    crypto_generichash_final(&hs, chk, CHK_BYTES);
    sodium_memzero(&hs, sizeof hs);
}

/* Read a key file (at most FERRY_MAX_KEYFILE bytes) into text, which the
 * caller set up with ferry_secbuf_init and frees with ferry_secbuf_free,
 * whatever this returns. */
static int
read_secret_file(const char *path, struct ferry_secbuf *text, struct ferry_error **err)
{
    int fd, ret = 0;

    /* one block for the whole cap: a key file never moves while it is read */
    if (ferry_secbuf_reserve(text, FERRY_MAX_KEYFILE) < 0)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory reading secret key %s", path);
    if ((ret = ferry_open_regular(path, "secret key", &fd, NULL, err)) < 0)
        return ret;
    if (ferry_secret_read_fd(fd, text) < 0) {
        if (errno == EFBIG)
            ret = ferry_error_new(err, FERRY_E_TOO_LARGE, "secret key %s: larger than %u bytes",
                                  path, FERRY_MAX_KEYFILE);
        else
            ret = ferry_error_sys(err, errno, "read secret key %s", path);
    }
    close(fd);
    return ret;
}

/* Decode the SeckeyStruct of a key file text into skb (SK_BYTES). */
static int
seckey_decode(const char *text, size_t len, const char *path, unsigned char *skb,
              struct ferry_error **err)
{
    const char *line;
    size_t pos = 0, n;
    bool bad_cr;

    if (text == NULL)
        return ferry_error_new(err, FERRY_E_INTERNAL, "secret key %s: no text", path);
    if (memchr(text, '\0', len) != NULL)
        return ferry_error_new(err, FERRY_E_INVALID, "secret key %s: contains a nul byte", path);
    if (!next_line(text, len, &pos, false, &line, &n, &bad_cr) || bad_cr ||
        !has_prefix(line, n, COMMENT_PREFIX, PREFIX_LEN))
        return ferry_error_new(err, FERRY_E_INVALID,
                               "secret key %s: line 1 must start with \"" COMMENT_PREFIX "\"",
                               path);
    if (!next_line(text, len, &pos, true, &line, &n, &bad_cr) || bad_cr ||
        !b64_decode_exact(skb, SK_BYTES, line, n, SK_B64))
        return ferry_error_new(err, FERRY_E_INVALID,
                               "secret key %s: line 2 is not a %d-character base64 key", path,
                               SK_B64);
    if (pos != len)
        return ferry_error_new(err, FERRY_E_INVALID, "secret key %s: unexpected data after line 2",
                               path);
    if (memcmp(skb, SIGALG, 2) != 0)
        return ferry_error_new(err, FERRY_E_UNSUPPORTED,
                               "secret key %s: unsupported signature algorithm", path);
    if (memcmp(skb + SK_OFF_CHKALG, CHKALG, 2) != 0)
        return ferry_error_new(err, FERRY_E_UNSUPPORTED,
                               "secret key %s: unsupported checksum algorithm", path);
    if (memcmp(skb + SK_OFF_KDF, KDFALG, 2) != 0 && memcmp(skb + SK_OFF_KDF, KDFNONE, 2) != 0)
        return ferry_error_new(err, FERRY_E_UNSUPPORTED,
                               "secret key %s: unsupported key derivation function", path);
    return 0;
}

/* Decrypt keynum_sk of an "Sc" key in place and check its checksum. */
static int
seckey_decrypt(unsigned char *skb, const char *path, ferry_password_fn cb, void *ud,
               struct ferry_error **err)
{
    uint64_t opslimit = le64_load(skb + SK_OFF_OPS);
    uint64_t memlimit = le64_load(skb + SK_OFF_MEM);
    unsigned char chk[CHK_BYTES];
    unsigned char *stream = NULL;
    char *pwd = NULL;
    int ret = 0;

    /* minisign never writes more than its sensitive limits; more would let a
     * crafted key file ask for unbounded memory or time. */
    if (opslimit > crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE ||
        memlimit > crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE)
        return ferry_error_new(err, FERRY_E_UNSUPPORTED,
                               "secret key %s: scrypt limits (opslimit %" PRIu64
                               ", memlimit %" PRIu64 ") exceed minisign's",
                               path, opslimit, memlimit);
    if (cb == NULL)
        return ferry_error_new(err, FERRY_E_CRYPTO,
                               "secret key %s is encrypted and no password was provided", path);
    pwd = sodium_malloc(PASSWORDMAXBYTES);
    stream = sodium_malloc(KEYNUM_SK_BYTES);
    if (pwd == NULL || stream == NULL) {
        ret = ferry_error_new(err, FERRY_E_NOMEM, "out of memory decrypting secret key %s", path);
        goto out;
    }
    memset(pwd, 0, PASSWORDMAXBYTES);
    if (cb(pwd, PASSWORDMAXBYTES, ud) < 0) {
        ret = ferry_error_new(err, FERRY_E_CRYPTO, "password entry for %s cancelled", path);
        goto out;
    }
    if (memchr(pwd, '\0', PASSWORDMAXBYTES) == NULL) {
        ret = ferry_error_new(err, FERRY_E_CRYPTO, "password for %s is too long", path);
        goto out;
    }
    if (crypto_pwhash_scryptsalsa208sha256(stream, KEYNUM_SK_BYTES, pwd, strlen(pwd),
                                           skb + SK_OFF_SALT, (unsigned long long)opslimit,
                                           (size_t)memlimit) != 0) {
        ret =
            ferry_error_new(err, FERRY_E_CRYPTO,
                            "key derivation for %s failed (needs up to %" PRIu64 " MiB of memory)",
                            path, memlimit >> 20);
        goto out;
    }
    for (size_t i = 0; i < KEYNUM_SK_BYTES; i++)
        skb[SK_OFF_KEYNUM_SK + i] ^= stream[i];
    seckey_compute_chk(chk, skb);
    if (sodium_memcmp(chk, skb + SK_OFF_CHK, CHK_BYTES) != 0)
        ret = ferry_error_new(err, FERRY_E_CRYPTO, "wrong password for %s", path);
out:
    sodium_memzero(chk, sizeof chk);
    ferry_secret_free(pwd);
    ferry_secret_free(stream);
    return ret;
}

/* Checks that hold for every good key: the checksum when one is present
 * (minisign writes zeros for -W keys, a real one after `minisign -C -W`), and
 * the public half of sk matching its seed. */
static int
seckey_check(const unsigned char *skb, const char *path, struct ferry_error **err)
{
    static const unsigned char zero[CHK_BYTES];
    unsigned char chk[CHK_BYTES];
    unsigned char pk[ED_PK_BYTES];
    unsigned char *sk = NULL;
    int ret = 0;

    if (sodium_memcmp(skb + SK_OFF_CHK, zero, CHK_BYTES) != 0) {
        seckey_compute_chk(chk, skb);
        if (sodium_memcmp(chk, skb + SK_OFF_CHK, CHK_BYTES) != 0)
            ret = ferry_error_new(err, FERRY_E_CRYPTO, "secret key %s: checksum mismatch", path);
        sodium_memzero(chk, sizeof chk);
        if (ret < 0)
            return ret;
    }
    sk = sodium_malloc(ED_SK_BYTES);
    if (sk == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory checking secret key %s", path);
    if (crypto_sign_seed_keypair(pk, sk, skb + SK_OFF_SK) != 0 ||
        sodium_memcmp(pk, skb + SK_OFF_SK + crypto_sign_SEEDBYTES, ED_PK_BYTES) != 0)
        ret = ferry_error_new(err, FERRY_E_CRYPTO,
                              "secret key %s: public half does not match the seed", path);
    ferry_secret_free(sk);
    return ret;
}

int
ferry_seckey_load(const char *path, ferry_password_fn cb, void *ud, struct ferry_seckey **out,
                  struct ferry_error **err)
{
    struct ferry_seckey *sk = NULL;
    struct ferry_secbuf text;
    unsigned char *skb = NULL;
    int ret;

    if ((ret = sodium_ready(err)) < 0)
        return ret;
    ferry_secbuf_init(&text, FERRY_MAX_KEYFILE);
    ret = read_secret_file(path, &text, err);
    if (ret < 0)
        goto out;
    skb = sodium_malloc(SK_BYTES);
    sk = sodium_malloc(sizeof *sk);
    if (skb == NULL || sk == NULL) {
        ret = ferry_error_new(err, FERRY_E_NOMEM, "out of memory loading secret key %s", path);
        goto out;
    }
    ret = seckey_decode(text.data, text.len, path, skb, err);
    if (ret < 0)
        goto out;
    if (memcmp(skb + SK_OFF_KDF, KDFALG, 2) == 0) {
        ret = seckey_decrypt(skb, path, cb, ud, err);
        if (ret < 0)
            goto out;
    }
    ret = seckey_check(skb, path, err);
    if (ret < 0)
        goto out;
    sk->magic = SECKEY_MAGIC;
    memcpy(sk->keynum, skb + SK_OFF_KEYNUM_SK, FERRY_KEYID_LEN);
    memcpy(sk->sk, skb + SK_OFF_SK, ED_SK_BYTES);
    *out = sk;
    sk = NULL;
out:
    ferry_secbuf_free(&text);
    ferry_secret_free(skb);
    ferry_secret_free(sk);
    return ret;
}

void
ferry_seckey_free(struct ferry_seckey *sk)
{
    ferry_secret_free(sk);
}

void
ferry_seckey_id(const struct ferry_seckey *sk, char *buf, size_t buflen)
{
    if (sk == NULL || sk->magic != SECKEY_MAGIC) {
        if (buf != NULL && buflen > 0)
            buf[0] = '\0';
        return;
    }
    keyid_format(sk->keynum, buf, buflen);
}

/* ---- key generation ----------------------------------------------------------- */

/* Create path with mode, exclusively unless replace, and write data to disk.
 * A file this call created is removed again if writing it fails. */
static int
write_key_file(const char *path, const char *data, size_t len, mode_t mode, bool replace,
               const char *what, struct ferry_error **err)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL);
    int fd, ret = 0;

    fd = open(path, flags, mode);
    if (fd < 0)
        return ferry_error_sys(err, errno, "create %s %s", what, path);
    if (ferry_write_all(fd, data, len) < 0 || fsync(fd) < 0)
        ret = ferry_error_sys(err, errno, "write %s %s", what, path);
    if (close(fd) < 0 && ret == 0)
        ret = ferry_error_sys(err, errno, "close %s %s", what, path);
    if (ret < 0)
        unlink(path);
    return ret;
}

static int
refuse_existing(const char *path, const char *what, struct ferry_error **err)
{
    struct stat st;

    if (lstat(path, &st) == 0)
        return ferry_error_sys(err, EEXIST, "refusing to overwrite %s %s", what, path);
    return 0;
}

/* Encrypt keynum_sk in place: random salt, scrypt stream, chk, XOR. */
static int
seckey_encrypt(unsigned char *skb, const char *password, uint64_t opslimit, uint64_t memlimit,
               const char *path, struct ferry_error **err)
{
    unsigned char *stream = NULL;
    int ret = 0;

    stream = sodium_malloc(KEYNUM_SK_BYTES);
    if (stream == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory encrypting secret key %s", path);
    randombytes_buf(skb + SK_OFF_SALT, crypto_pwhash_scryptsalsa208sha256_SALTBYTES);
    while (crypto_pwhash_scryptsalsa208sha256(stream, KEYNUM_SK_BYTES, password, strlen(password),
                                              skb + SK_OFF_SALT, (unsigned long long)opslimit,
                                              (size_t)memlimit) != 0) {
        /* minisign halves both limits until derivation fits in memory */
        opslimit /= 2;
        memlimit /= 2;
        if (opslimit < crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN ||
            memlimit < crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN) {
            ret =
                ferry_error_new(err, FERRY_E_CRYPTO,
                                "key derivation for secret key %s failed: not enough memory", path);
            goto out;
        }
        ferry_log(FERRY_LOG_WARN,
                  "secret key %s: not enough memory, scrypt memlimit lowered to %" PRIu64, path,
                  memlimit);
    }
    le64_store(skb + SK_OFF_OPS, opslimit);
    le64_store(skb + SK_OFF_MEM, memlimit);
    seckey_compute_chk(skb + SK_OFF_CHK, skb);
    for (size_t i = 0; i < KEYNUM_SK_BYTES; i++)
        skb[SK_OFF_KEYNUM_SK + i] ^= stream[i];
out:
    ferry_secret_free(stream);
    return ret;
}

int
ferry_keygen_limits(const char *pub_path, const char *sec_path, const char *password, bool force,
                    uint64_t opslimit, uint64_t memlimit, struct ferry_error **err)
{
    const size_t sk_b64_size = sodium_base64_ENCODED_LEN(SK_BYTES, sodium_base64_VARIANT_ORIGINAL);
    const size_t sec_text_size = PREFIX_LEN + sizeof SECKEY_COMMENT + sk_b64_size + 1;
    unsigned char pkb[PK_BYTES];
    char pk_b64[sodium_base64_ENCODED_LEN(PK_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    char id[FERRY_KEYID_LEN * 2 + 1];
    unsigned char *skb = NULL;
    char *sk_b64 = NULL, *sec_text = NULL, *pub_text = NULL;
    bool sec_written = false;
    int ret;

    if ((ret = sodium_ready(err)) < 0)
        return ret;
    if (pub_path == NULL || sec_path == NULL)
        return ferry_error_new(err, FERRY_E_INTERNAL, "key generation needs two paths");
    if (!force) {
        if ((ret = refuse_existing(pub_path, "public key", err)) < 0 ||
            (ret = refuse_existing(sec_path, "secret key", err)) < 0)
            return ret;
    }
    skb = sodium_malloc(SK_BYTES);
    sk_b64 = sodium_malloc(sk_b64_size);
    sec_text = sodium_malloc(sec_text_size);
    if (skb == NULL || sk_b64 == NULL || sec_text == NULL) {
        ret = ferry_error_new(err, FERRY_E_NOMEM, "out of memory generating key %s", sec_path);
        goto out;
    }
    memset(skb, 0, SK_BYTES);
    memcpy(skb, SIGALG, 2);
    memcpy(skb + SK_OFF_KDF, password != NULL ? KDFALG : KDFNONE, 2);
    memcpy(skb + SK_OFF_CHKALG, CHKALG, 2);
    randombytes_buf(skb + SK_OFF_KEYNUM_SK, FERRY_KEYID_LEN);
    memcpy(pkb, SIGALG, 2);
    memcpy(pkb + PK_OFF_KEYNUM, skb + SK_OFF_KEYNUM_SK, FERRY_KEYID_LEN);
    if (crypto_sign_keypair(pkb + PK_OFF_PK, skb + SK_OFF_SK) != 0) {
        ret = ferry_error_new(err, FERRY_E_CRYPTO, "key pair generation failed for %s", sec_path);
        goto out;
    }
    keyid_format(pkb + PK_OFF_KEYNUM, id, sizeof id);
    if (password != NULL) {
        ret = seckey_encrypt(skb, password, opslimit, memlimit, sec_path, err);
        if (ret < 0)
            goto out;
    }
    sodium_bin2base64(sk_b64, sk_b64_size, skb, SK_BYTES, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(pk_b64, sizeof pk_b64, pkb, PK_BYTES, sodium_base64_VARIANT_ORIGINAL);
    snprintf(sec_text, sec_text_size, "%s%s\n%s\n", COMMENT_PREFIX, SECKEY_COMMENT, sk_b64);
    pub_text = ferry_asprintf("%s%s%s\n%s\n", COMMENT_PREFIX, PUBKEY_COMMENT, id, pk_b64);
    if (pub_text == NULL) {
        ret = ferry_error_new(err, FERRY_E_NOMEM, "out of memory generating key %s", pub_path);
        goto out;
    }

    /* The secret key is written first (as minisign does), always through a
     * fresh 0600 inode: with force the old file is removed, never truncated,
     * so a wider mode on it cannot leak the new key. */
    if (force && unlink(sec_path) < 0 && errno != ENOENT) {
        ret = ferry_error_sys(err, errno, "remove old secret key %s", sec_path);
        goto out;
    }
    ret = write_key_file(sec_path, sec_text, strlen(sec_text), 0600, false, "secret key", err);
    if (ret < 0)
        goto out;
    sec_written = true;
    ret = write_key_file(pub_path, pub_text, strlen(pub_text), 0644, force, "public key", err);
out:
    if (ret < 0 && sec_written)
        unlink(sec_path);
    ferry_secret_free(skb);
    ferry_secret_free(sk_b64);
    ferry_secret_free(sec_text);
    ferry_free(pub_text);
    return ret;
}

int
ferry_keygen(const char *pub_path, const char *sec_path, const char *password, bool force,
             struct ferry_error **err)
{
    return ferry_keygen_limits(pub_path, sec_path, password, force,
                               crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE,
                               crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE, err);
}

/* ---- signing ------------------------------------------------------------------ */

static crypto_generichash_state *
signer_state(struct ferry_signer *s)
{
    uintptr_t p = (uintptr_t)s->state_buf;

    p = (p + 63) & ~(uintptr_t)63;
    return (crypto_generichash_state *)p;
}

/* BLAKE2b-512 of everything fed so far; the signer keeps its state. */
static void
signer_hash(struct ferry_signer *s, unsigned char hash[HASH_BYTES])
{
    crypto_generichash_state copy;

    memcpy(&copy, signer_state(s), sizeof copy);
    crypto_generichash_final(&copy, hash, HASH_BYTES);
    sodium_memzero(&copy, sizeof copy);
}

struct ferry_signer *
ferry_signer_new(void)
{
    struct ferry_signer *s;

    if (sodium_init() < 0)
        return NULL;
    s = ferry_malloc(sizeof *s);
    if (s == NULL)
        return NULL;
    s->magic = SIGNER_MAGIC;
    crypto_generichash_init(signer_state(s), NULL, 0, HASH_BYTES);
    return s;
}

void
ferry_signer_update(struct ferry_signer *s, const void *data, size_t len)
{
    if (s == NULL || s->magic != SIGNER_MAGIC || len == 0)
        return;
    crypto_generichash_update(signer_state(s), data, len);
}

void
ferry_signer_free(struct ferry_signer *s)
{
    if (s == NULL)
        return;
    sodium_memzero(s, sizeof *s);
    ferry_free(s);
}

static bool
comment_line_ok(const char *s)
{
    return strchr(s, '\n') == NULL && strchr(s, '\r') == NULL;
}

/* Sign a BLAKE2b-512 hash: build the .minisig text, then verify it (text and
 * signatures) with the public half of sk before handing it out. */
static int
sign_hash(const struct ferry_seckey *sk, const unsigned char hash[HASH_BYTES],
          const char *untrusted_comment, const char *trusted_comment, char **out,
          struct ferry_error **err)
{
    char sig_b64[sodium_base64_ENCODED_LEN(SIG_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    char gsig_b64[sodium_base64_ENCODED_LEN(ED_SIG_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    char id[FERRY_KEYID_LEN * 2 + 1];
    unsigned char sig[SIG_BYTES];
    unsigned char global_sig[ED_SIG_BYTES];
    unsigned char *signed_tc = NULL;
    char *default_tc = NULL, *text = NULL;
    struct ferry_pubkey self;
    struct ferry_pubkey *selfp = &self;
    struct ferry_error *verr = NULL;
    struct ferry_buf b;
    size_t tc_len, text_len = 0;
    int ret;

    ferry_buf_init(&b, FERRY_MAX_SIGNATURE);
    if ((ret = sodium_ready(err)) < 0)
        return ret;
    if (sk == NULL || sk->magic != SECKEY_MAGIC)
        return ferry_error_new(err, FERRY_E_INTERNAL, "sign: no valid secret key");
    keyid_format(sk->keynum, id, sizeof id);
    if (untrusted_comment == NULL || untrusted_comment[0] == '\0')
        untrusted_comment = DEFAULT_SIG_COMMENT;
    if (!comment_line_ok(untrusted_comment) || strlen(untrusted_comment) > UNTRUSTED_MAX)
        return ferry_error_new(err, FERRY_E_INVALID,
                               "sign with key %s: untrusted comment must be one line of at most "
                               "%zu bytes",
                               id, (size_t)UNTRUSTED_MAX);
    if (trusted_comment == NULL || trusted_comment[0] == '\0') {
        default_tc = ferry_asprintf("timestamp:%lld\thashed", (long long)time(NULL));
        if (default_tc == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "sign with key %s: out of memory", id);
        trusted_comment = default_tc;
    }
    tc_len = strlen(trusted_comment);
    if (tc_len > TRUSTED_MAX || !printable_utf8(trusted_comment, tc_len)) {
        ret = ferry_error_new(err, FERRY_E_INVALID,
                              "sign with key %s: trusted comment must be printable utf-8 of at "
                              "most %zu bytes without newline",
                              id, (size_t)TRUSTED_MAX);
        goto out;
    }

    memcpy(sig, SIGALG_HASHED, 2);
    memcpy(sig + SIG_OFF_KEYNUM, sk->keynum, FERRY_KEYID_LEN);
    signed_tc = ferry_malloc(ED_SIG_BYTES + tc_len);
    if (signed_tc == NULL) {
        ret = ferry_error_new(err, FERRY_E_NOMEM, "sign with key %s: out of memory", id);
        goto out;
    }
    if (crypto_sign_detached(sig + SIG_OFF_SIG, NULL, hash, HASH_BYTES, sk->sk) != 0) {
        ret = ferry_error_new(err, FERRY_E_CRYPTO, "sign with key %s: signing failed", id);
        goto out;
    }
    memcpy(signed_tc, sig + SIG_OFF_SIG, ED_SIG_BYTES);
    memcpy(signed_tc + ED_SIG_BYTES, trusted_comment, tc_len);
    if (crypto_sign_detached(global_sig, NULL, signed_tc, ED_SIG_BYTES + tc_len, sk->sk) != 0) {
        ret = ferry_error_new(err, FERRY_E_CRYPTO, "sign with key %s: signing failed", id);
        goto out;
    }
    sodium_bin2base64(sig_b64, sizeof sig_b64, sig, SIG_BYTES, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(gsig_b64, sizeof gsig_b64, global_sig, ED_SIG_BYTES,
                      sodium_base64_VARIANT_ORIGINAL);
    ret = ferry_buf_appendf(&b, err, "%s%s\n%s\n%s%s\n%s\n", COMMENT_PREFIX, untrusted_comment,
                            sig_b64, TRUSTED_COMMENT_PREFIX, trusted_comment, gsig_b64);
    if (ret < 0) {
        ferry_error_wrap(err, "sign with key %s", id);
        goto out;
    }

    /* Verify what we hand out, as minisign's sign() does with -p. */
    self.magic = PUBKEY_MAGIC;
    memcpy(self.keynum, sk->keynum, FERRY_KEYID_LEN);
    memcpy(self.pk, sk->sk + crypto_sign_SEEDBYTES, ED_PK_BYTES);
    ret = ferry_verify_hash(&selfp, 1, b.data, b.len, hash, "new signature", NULL, NULL, &verr);
    if (ret < 0) {
        ret = ferry_error_new(err, FERRY_E_CRYPTO, "sign with key %s: verification would fail: %s",
                              id, verr != NULL ? verr->msg : "unknown error");
        goto out;
    }
    text = ferry_buf_take(&b, &text_len);
    *out = text;
out:
    ferry_error_free(verr);
    ferry_buf_free(&b);
    ferry_free(signed_tc);
    ferry_free(default_tc);
    return ret;
}

int
ferry_signer_final(struct ferry_signer *s, const struct ferry_seckey *sk,
                   const char *untrusted_comment, const char *trusted_comment, char **out,
                   struct ferry_error **err)
{
    unsigned char hash[HASH_BYTES];

    if (s == NULL || s->magic != SIGNER_MAGIC)
        return ferry_error_new(err, FERRY_E_INTERNAL, "sign: no valid signer");
    signer_hash(s, hash);
    return sign_hash(sk, hash, untrusted_comment, trusted_comment, out, err);
}

int
ferry_sign_buffer(const struct ferry_seckey *sk, const void *data, size_t len,
                  const char *untrusted_comment, const char *trusted_comment, char **out,
                  struct ferry_error **err)
{
    unsigned char hash[HASH_BYTES];
    int ret;

    if ((ret = sodium_ready(err)) < 0)
        return ret;
    crypto_generichash(hash, HASH_BYTES, len > 0 ? data : (const void *)"", len, NULL, 0);
    return sign_hash(sk, hash, untrusted_comment, trusted_comment, out, err);
}

/* ---- verification --------------------------------------------------------- */

int
ferry_verify_hash(struct ferry_pubkey *const *keys, size_t nkeys, const char *sig, size_t siglen,
                  const unsigned char *hash, const char *what, char **trusted_comment,
                  size_t *which, struct ferry_error **err)
{
    struct sig_parsed p = {0};
    int ret;

    what = what_or(what, "signature");
    if ((ret = sodium_ready(err)) < 0)
        return ret;
    ret = sig_parse(sig, siglen, what, &p, err);
    if (ret < 0)
        return ret;
    if (!p.hashed)
        return ferry_error_new(err, FERRY_E_SIGNATURE,
                               "%s: legacy (not prehashed) signature needs the whole message",
                               what);
    return verify_parsed(keys, nkeys, &p, hash, HASH_BYTES, what, trusted_comment, which, err);
}

int
ferry_verify_buffer(struct ferry_pubkey *const *keys, size_t nkeys, const char *sig, size_t siglen,
                    const void *data, size_t len, const char *what, char **trusted_comment,
                    size_t *which, struct ferry_error **err)
{
    unsigned char hash[HASH_BYTES];
    struct sig_parsed p = {0};
    int ret;

    what = what_or(what, "signature");
    if ((ret = sodium_ready(err)) < 0)
        return ret;
    ret = sig_parse(sig, siglen, what, &p, err);
    if (ret < 0)
        return ret;
    if (len > 0 && data == NULL)
        return ferry_error_new(err, FERRY_E_INTERNAL, "%s: no content to verify", what);
    if (data == NULL)
        data = "";
    if (!p.hashed)
        return verify_parsed(keys, nkeys, &p, data, len, what, trusted_comment, which, err);
    crypto_generichash(hash, HASH_BYTES, data, len, NULL, 0);
    return verify_parsed(keys, nkeys, &p, hash, HASH_BYTES, what, trusted_comment, which, err);
}

int
ferry_verify_stream(struct ferry_pubkey *const *keys, size_t nkeys, const char *sig, size_t siglen,
                    struct ferry_signer *hashed, const char *what, char **trusted_comment,
                    size_t *which, struct ferry_error **err)
{
    unsigned char hash[HASH_BYTES];

    if (hashed == NULL || hashed->magic != SIGNER_MAGIC)
        return ferry_error_new(err, FERRY_E_INTERNAL, "%s: no valid hash state",
                               what_or(what, "signature"));
    signer_hash(hashed, hash);
    return ferry_verify_hash(keys, nkeys, sig, siglen, hash, what, trusted_comment, which, err);
}
