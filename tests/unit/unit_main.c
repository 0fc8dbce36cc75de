#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

int ferry_test_skipped;

int
ferry_unit_run(const struct CMUnitTest *tests, size_t n, const char *group, int argc, char **argv)
{
    int failed;

    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
    if (failed == 0 && ferry_test_skipped)
        return 77;
    return failed;
}

const char *
ferry_test_shared(const char *rel)
{
    static char path[4096];
    const char *src = getenv("FERRY_SOURCE_DIR");

    if (src == NULL)
        src = FERRY_SOURCE_DIR;
    /* the copy in the tree (tests/data/README.md), else the shared original */
    snprintf(path, sizeof path, "%s/tests/data/%s", src, rel);
    if (access(path, R_OK) == 0)
        return path;
    snprintf(path, sizeof path, "%s/../shared/reference/%s", src, rel);
    if (access(path, R_OK) != 0)
        return NULL;
    return path;
}

void
ferry_test_fill(unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (unsigned char)(x >> 24);
    }
}
