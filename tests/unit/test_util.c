#include <string.h>

#include "unit.h"
#include "cli.h"
#include "ferry/util.h"

static void
test_error_wrap_chain(void **state)
{
    struct ferry_error *err = NULL;
    int r;

    (void)state;
    r = ferry_error_new(&err, FERRY_E_DIGEST_MISMATCH, "blob %s", "sha256:ab");
    assert_int_equal(r, -FERRY_E_DIGEST_MISMATCH);
    r = ferry_error_wrap(&err, "push %s", "app");
    assert_int_equal(r, -FERRY_E_DIGEST_MISMATCH);
    assert_string_equal(err->msg, "push app: blob sha256:ab");
    assert_int_equal(cli_exit_code(err), FERRY_EXIT_VERIFY);
    /* a second error does not replace the first, most specific one */
    ferry_error_new(&err, FERRY_E_IO, "later");
    assert_int_equal(err->code, FERRY_E_DIGEST_MISMATCH);
    ferry_error_free(err);
}

static void
test_exit_codes(void **state)
{
    struct ferry_error e = {FERRY_E_NETWORK, 0, 0, (char *)"x"};

    (void)state;
    assert_int_equal(cli_exit_code(NULL), 0);
    assert_int_equal(cli_exit_code(&e), FERRY_EXIT_ERROR);
    e.code = FERRY_E_USAGE;
    assert_int_equal(cli_exit_code(&e), FERRY_EXIT_USAGE);
    e.code = FERRY_E_UNTRUSTED_KEY;
    assert_int_equal(cli_exit_code(&e), FERRY_EXIT_VERIFY);
}

static void
test_buf_cap(void **state)
{
    struct ferry_buf b;
    struct ferry_error *err = NULL;

    (void)state;
    ferry_buf_init(&b, 10);
    FERRY_ASSERT_OK(ferry_buf_append(&b, "0123456789", 10, &err), &err);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");
    assert_int_equal(ferry_buf_append(&b, "x", 1, &err), -FERRY_E_TOO_LARGE);
    assert_non_null(err);
    ferry_error_free(err);
    ferry_buf_free(&b);
}

static void
test_alloc_accounting(void **state)
{
    size_t before = ferry_alloc_current();
    void *p = ferry_malloc(1000);

    (void)state;
    assert_int_equal(ferry_alloc_current(), before + 1000);
    p = ferry_realloc(p, 5000);
    assert_int_equal(ferry_alloc_current(), before + 5000);
    ferry_free(p);
    assert_int_equal(ferry_alloc_current(), before);
    ferry_alloc_fail_after(1);
    assert_null(ferry_malloc(1));
    assert_non_null(p = ferry_malloc(1));
    ferry_free(p);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_error_wrap_chain),
    cmocka_unit_test(test_exit_codes),
    cmocka_unit_test(test_buf_cap),
    cmocka_unit_test(test_alloc_accounting),
};
FERRY_UNIT_MAIN(tests)
