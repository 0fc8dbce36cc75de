/* Fuzz ferry_link_next_parse and ferry_url_resolve: a next target resolves
 * against a registry URL to an absolute URL, and resolving is idempotent. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/registry.h"
#include "ferry/util.h"
#include "registry_int.h"

static const char *const bases[] = {
    "http://127.0.0.1:5000/v2/x/tags/list?n=2",
    "https://r.example/v2/a/b/referrers/sha256:00",
    "https://h",
    "http://a/b/c/d;p?q",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_error *err = NULL;
    const char *base = bases[size > 0 ? data[0] % 4 : 0];
    char *s = ferry_strndup((const char *)data, size), *next = NULL, *abs = NULL, *again = NULL;
    char *o;

    if (s == NULL)
        return 0;
    if (ferry_link_next_parse(s, &next, &err) < 0) {
        if (err == NULL || next != NULL)
            abort();
    } else if (next != NULL) {
        if (err != NULL || next[0] == '\0')
            abort();
        abs = ferry_url_resolve(base, next);
        if (abs == NULL)
            abort();
        /* the result is absolute, and resolving it again changes nothing */
        o = reg_url_origin(abs);
        again = ferry_url_resolve(base, abs);
        if (again == NULL || strcmp(abs, again) != 0)
            abort();
        ferry_free(o);
    }
    /* the raw input as a reference must not crash the resolver either */
    ferry_free(ferry_url_resolve(base, s));
    ferry_free(abs);
    ferry_free(again);
    ferry_free(next);
    ferry_error_free(err);
    ferry_free(s);
    return 0;
}
