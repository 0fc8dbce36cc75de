/* JSON the registry client reads from registries: duplicate keys are refused
 * everywhere (STYLE.md 5), as ferry_manifest_parse refuses them. */
#include <string.h>

#include "unit.h"
#include "ferry/util.h"
#include "registry_int.h"

static void
test_tags_page_duplicate_keys(void **state)
{
    static const char page[] = "{\"name\":\"x\",\"tags\":[\"a\"],\"tags\":[\"b\"]}";
    struct reg_strv all = {0};
    struct ferry_error *err = NULL;

    (void)state;
    assert_int_equal(reg_tags_page_parse(page, strlen(page), "list tags r/x", 1, &all, &err),
                     -FERRY_E_INVALID);
    assert_non_null(strstr(err->msg, "list tags r/x: page 1"));
    assert_int_equal(all.n, 0);
    ferry_error_free(err);
    ferry_strv_free(all.v, all.n);
}

static void
test_error_summary_duplicate_keys(void **state)
{
    static const char body[] = "{\"errors\":[{\"code\":\"A\"}],\"errors\":[{\"code\":\"B\"}]}";
    char *code = NULL, *s;

    (void)state;
    /* not read as an error list: shown as it came, and no code is taken from it */
    s = reg_error_summary(body, strlen(body), &code);
    assert_string_equal(s, body);
    assert_null(code);
    ferry_free(s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_tags_page_duplicate_keys),
    cmocka_unit_test(test_error_summary_duplicate_keys),
};

FERRY_UNIT_MAIN(tests)
