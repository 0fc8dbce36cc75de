/* Fuzz the minisign text parsers: ferry_pubkey_parse and ferry_verify_buffer.
 *
 * Input layout: byte 0 = n, the length of a public key text that follows
 * (clamped to what is there); the rest is a .minisig text. The signature is
 * checked against a fixed message with the parsed key (when it parses) and a
 * fixed key, so well-formed seeds reach the Ed25519 checks and succeed. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/sign.h"
#include "ferry/util.h"

/* Throwaway key made with `minisign -G -W` for the seed corpus. */
static const char fixed_pub[] = "untrusted comment: minisign public key D76FA9989899390C\n"
                                "RWQMOZmYmKlv1/2EXA9TjCbbqJI+59yeivCikD8El834BTgJs2eUAK4j\n";
static const char fixed_msg[] = "ferry fuzz message\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_pubkey *keys[2] = {NULL, NULL};
    struct ferry_error *err = NULL;
    struct ferry_signer *s = NULL;
    const char *pub, *sig;
    size_t publen, siglen, nkeys = 0, which = 0;
    char *tc = NULL, id[17];
    int r;

    if (size == 0)
        return 0;
    publen = data[0];
    if (publen > size - 1)
        publen = size - 1;
    pub = (const char *)data + 1;
    sig = pub + publen;
    siglen = size - 1 - publen;

    if (ferry_pubkey_parse(pub, publen, "fuzz.pub", &keys[nkeys], &err) == 0) {
        ferry_pubkey_id(keys[nkeys], id, sizeof id);
        if (strlen(id) != 16)
            abort();
        nkeys++;
    }
    ferry_error_clear(&err);
    if (ferry_pubkey_parse(fixed_pub, strlen(fixed_pub), "fixed.pub", &keys[nkeys], &err) != 0)
        abort();
    nkeys++;

    r = ferry_verify_buffer(keys, nkeys, sig, siglen, fixed_msg, strlen(fixed_msg), "fuzz.minisig",
                            &tc, &which, &err);
    if (r == 0 && (tc == NULL || which >= nkeys || err != NULL))
        abort();
    if (r < 0 && (err == NULL || tc != NULL))
        abort();
    ferry_safefree(tc);
    ferry_error_clear(&err);

    /* the streaming path agrees for prehashed signatures */
    s = ferry_signer_new();
    if (s != NULL) {
        ferry_signer_update(s, fixed_msg, strlen(fixed_msg));
        if (ferry_verify_stream(keys, nkeys, sig, siglen, s, "fuzz.minisig", NULL, NULL, &err) ==
                0 &&
            r != 0)
            abort();
        ferry_error_clear(&err);
        ferry_signer_free(s);
    }
    for (size_t i = 0; i < nkeys; i++)
        ferry_pubkey_free(keys[i]);
    return 0;
}
