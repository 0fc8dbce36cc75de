/* Fuzz ferry_digest_parse; a parsed digest must round-trip and verify. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/digest.h"
#include "ferry/util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_digest d, d2, got;
    struct ferry_error *err = NULL;
    char *s = ferry_strndup((const char *)data, size);

    if (s == NULL)
        return 0;
    if (ferry_digest_parse(s, &d, &err) == 0) {
        if (err != NULL || strcmp(d.str, s) != 0)
            abort();
        if (ferry_digest_parse(d.str, &d2, &err) != 0 || d2.alg != d.alg)
            abort();
        if (strlen(ferry_digest_hex(&d)) != (d.alg == FERRY_DIGEST_SHA256 ? 64u : 128u))
            abort();
        /* a digest of the input itself is well formed */
        ferry_digest_buffer(d.alg, data, size, &got);
        if (ferry_digest_parse(got.str, &d2, &err) != 0)
            abort();
        if (ferry_digest_verify(&got, data, size, "fuzz", &err) != 0)
            abort();
    } else if (err == NULL) {
        abort();
    }
    ferry_error_free(err);
    ferry_free(s);
    return 0;
}
