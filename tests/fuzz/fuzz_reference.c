/* Fuzz ferry_ref_parse; a parsed reference must print to a canonical form
 * that parses back to the same fields. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/reference.h"
#include "ferry/util.h"

static bool
same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
check(const char *s, bool default_latest)
{
    struct ferry_ref *r = NULL, *r2 = NULL;
    struct ferry_error *err = NULL;
    char *str;

    if (ferry_ref_parse(s, default_latest, &r, &err) != 0) {
        if (err == NULL || r != NULL)
            abort();
        ferry_error_free(err);
        return;
    }
    if (!ferry_repository_valid(r->repository) || (r->tag != NULL && !ferry_tag_valid(r->tag)))
        abort();
    if (r->tag == NULL && r->digest == NULL)
        abort();
    str = ferry_ref_string(r);
    if (str == NULL)
        abort();
    if (ferry_ref_parse(str, false, &r2, &err) != 0)
        abort();
    if (!same(r->registry, r2->registry) || !same(r->api_host, r2->api_host) ||
        !same(r->repository, r2->repository) || !same(r->tag, r2->tag) ||
        !same(r->digest, r2->digest))
        abort();
    ferry_free(str);
    ferry_ref_free(r);
    ferry_ref_free(r2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = ferry_strndup((const char *)data, size);

    if (s == NULL)
        return 0;
    check(s, true);
    check(s, false);
    ferry_free(s);
    return 0;
}
