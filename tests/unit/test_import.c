/* import: target parsing for --to. */
#include <string.h>

#include "unit.h"
#include "ferry/import.h"
#include "ferry/util.h"

static void
test_target_host_only(void **state)
{
    struct ferry_error *err = NULL;
    char *host = NULL, *prefix = NULL;

    (void)state;
    FERRY_ASSERT_OK(ferry_target_parse("harbor.lan:5000", &host, &prefix, &err), &err);
    assert_string_equal(host, "harbor.lan:5000");
    assert_null(prefix);
    ferry_free(host);
}

static void
test_target_prefix(void **state)
{
    struct ferry_error *err = NULL;
    char *host = NULL, *prefix = NULL;

    (void)state;
    FERRY_ASSERT_OK(ferry_target_parse("dst:5000/mirror/dhi//", &host, &prefix, &err), &err);
    assert_string_equal(host, "dst:5000");
    assert_string_equal(prefix, "mirror/dhi");
    ferry_free(host);
    ferry_free(prefix);
}

static void
test_target_rejects(void **state)
{
    static const char *bad[] = {"", "https://harbor.lan", "/mirror", "host/UPPER", "host/a//b"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ferry_error *err = NULL;
        char *host = NULL, *prefix = NULL;
        assert_true(ferry_target_parse(bad[i], &host, &prefix, &err) < 0);
        assert_null(host);
        assert_non_null(err);
        ferry_error_free(err);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_target_host_only),
    cmocka_unit_test(test_target_prefix),
    cmocka_unit_test(test_target_rejects),
};
FERRY_UNIT_MAIN(tests)
