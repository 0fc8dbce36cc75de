/* Fuzz reg_referrers_page_parse, the referrers API page reader, and the
 * multi-page merge of ferry_registry_get_referrers: a page that parses is
 * taken as two pages, merged (json_array_extend), dumped and read back.
 *
 * Checked: a failure has a message and no tree; a success is an object with a
 * "manifests" array; the merged dump parses again as a page and holds both
 * pages' manifests. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/util.h"
#include "registry_int.h"

#define WHAT "get referrers of r.example/lib/app@sha256:00"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_error *err = NULL;
    json_t *first = NULL, *second = NULL, *again = NULL, *m;
    char *merged = NULL;
    size_t n;

    if (reg_referrers_page_parse((const char *)data, size, WHAT, 1, &first, &err) < 0) {
        if (first != NULL || err == NULL || strncmp(err->msg, WHAT ": ", strlen(WHAT ": ")) != 0)
            abort();
        goto out;
    }
    m = json_object_get(first, "manifests");
    if (err != NULL || !json_is_object(first) || !json_is_array(m))
        abort();
    n = json_array_size(m);
    if (reg_referrers_page_parse((const char *)data, size, WHAT, 2, &second, &err) < 0)
        abort();
    if (json_array_extend(m, json_object_get(second, "manifests")) < 0)
        goto out; /* out of memory */
    merged = json_dumps(first, JSON_COMPACT);
    if (merged == NULL)
        goto out;
    if (reg_referrers_page_parse(merged, strlen(merged), WHAT, 1, &again, &err) < 0)
        abort();
    if (json_array_size(json_object_get(again, "manifests")) != 2 * n)
        abort();
out:
    free(merged);
    json_decref(first);
    json_decref(second);
    json_decref(again);
    ferry_error_free(err);
    return 0;
}
