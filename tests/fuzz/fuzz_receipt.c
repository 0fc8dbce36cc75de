/* Fuzz receipt parsing and the serialise/parse round trip. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/receipt.h"
#include "ferry/util.h"

static size_t
count_entries(const struct ferry_receipt *r)
{
    size_t n = 0;

    for (size_t i = 0; i < r->nrepos; i++)
        n += r->repos[i].ntags + r->repos[i].nmanifests + r->repos[i].nblobs +
             r->repos[i].nreferrers;
    return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_receipt *r = NULL, *r2 = NULL;
    struct ferry_error *err = NULL;
    char *text = NULL, *text2 = NULL;
    size_t len, len2;

    if (ferry_receipt_parse(data, size, &r, &err) == 0) {
        /* what we write we must read, and write again the same */
        int rc = ferry_receipt_serialize(r, &text, &len, &err);
        /* indentation may take a receipt near the cap over it */
        if (rc == -FERRY_E_TOO_LARGE || rc == -FERRY_E_NOMEM) {
            ferry_receipt_free(r);
            ferry_error_clear(&err);
            return 0;
        }
        if (rc != 0)
            abort();
        if (ferry_receipt_parse(text, len, &r2, &err) != 0)
            abort();
        if (r2->nrepos != r->nrepos || r2->nresults != r->nresults ||
            count_entries(r2) != count_entries(r) ||
            (r2->bundle_statement == NULL) != (r->bundle_statement == NULL))
            abort();
        if (ferry_receipt_serialize(r2, &text2, &len2, &err) != 0 || len2 != len ||
            memcmp(text, text2, len) != 0)
            abort();
        ferry_free(text2);
        ferry_receipt_free(r2);
        ferry_free(text);
        ferry_receipt_free(r);
    }
    ferry_error_clear(&err);
    return 0;
}
