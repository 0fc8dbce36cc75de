#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    e.code = FERRY_E_REFUSED;
    assert_int_equal(cli_exit_code(&e), 3);
    e.code = FERRY_E_BASE_MISSING;
    assert_int_equal(cli_exit_code(&e), 4);
}

/* RFC 3339 as bundles and tag records carry it: the order of times is what
 * the rollback check compares. */
static void
test_time_parse(void **state)
{
    static const char *bad[] = {
        "",
        "2026-12-04",
        "2026-12-04T10:00:00",
        "2026-13-04T10:00:00Z",
        "x",
        "2026-02-30T10:00:00Z",
        "2026-12-04T24:00:00Z",
        "2026-12-04T10:00:00Z ",
        "2026-12-04T10:00:00+0100",
        "2026-12-04T10:00:00.Z",
    };
    int64_t t = 0, u = 0;
    char buf[32];

    (void)state;
    assert_true(ferry_time_parse("1970-01-01T00:00:00Z", &t));
    assert_int_equal(t, 0);
    assert_true(ferry_time_parse("2026-12-04T10:00:00Z", &t));
    assert_int_equal(t, 1796378400);
    assert_true(ferry_time_parse("2026-12-04T11:30:00.123+01:30", &u));
    assert_int_equal(u, t);
    assert_true(ferry_time_parse("2024-02-29T23:59:60Z", &u)); /* leap day, leap second */
    ferry_time_format(t, buf, sizeof buf);
    assert_string_equal(buf, "2026-12-04T10:00:00Z");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (ferry_time_parse(bad[i], &u))
            fail_msg("\"%s\" parsed", bad[i]);
}

static void
test_parse_duration(void **state)
{
    static const char *bad[] = {"", "30", "d", "-1d", "1y", "0s", "99999999999999999999s", "1d "};
    int64_t d = 0;

    (void)state;
    assert_true(cli_parse_duration("30d", &d));
    assert_int_equal(d, 30 * 86400);
    assert_true(cli_parse_duration("1w2d3h4m5s", &d));
    assert_int_equal(d, 9 * 86400 + 3 * 3600 + 4 * 60 + 5);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (cli_parse_duration(bad[i], &d))
            fail_msg("\"%s\" parsed", bad[i]);
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

/* Only regular files are opened: a FIFO (that would block open() forever),
 * a directory and a device are refused at once, naming what they are. */
static void
test_open_regular(void **state)
{
    char dir[] = "/tmp/ferry-unit-XXXXXX", fifo[64], file[64];
    struct ferry_error *err = NULL;
    struct ferry_buf b;
    uint64_t size = 0;
    int fd = -1;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(file, sizeof file, "%s/file", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_non_null(f = fopen(file, "w"));
    fputs("hello", f);
    fclose(f);
    FERRY_ASSERT_OK(ferry_open_regular(file, "key", &fd, &size, &err), &err);
    assert_true(fd >= 0);
    assert_int_equal(size, 5);
    close(fd);
    assert_int_equal(ferry_open_regular(fifo, "key", &fd, NULL, &err), -FERRY_E_IO);
    assert_non_null(strstr(err->msg, "key "));
    assert_non_null(strstr(err->msg, "is a fifo, not a regular file"));
    ferry_error_clear(&err);
    assert_int_equal(ferry_open_regular(dir, NULL, &fd, NULL, &err), -FERRY_E_IO);
    assert_non_null(strstr(err->msg, "is a directory"));
    ferry_error_clear(&err);
    assert_int_equal(ferry_open_regular("/dev/null", NULL, &fd, NULL, &err), -FERRY_E_IO);
    assert_non_null(strstr(err->msg, "is a character device"));
    ferry_error_clear(&err);
    ferry_buf_init(&b, 1024);
    assert_int_equal(ferry_read_file(fifo, &b, &err), -FERRY_E_IO);
    ferry_error_clear(&err);
    FERRY_ASSERT_OK(ferry_read_file(file, &b, &err), &err);
    assert_int_equal(b.len, 5);
    ferry_buf_free(&b);
    unlink(fifo);
    unlink(file);
    rmdir(dir);
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
    cmocka_unit_test(test_error_wrap_chain), cmocka_unit_test(test_exit_codes),
    cmocka_unit_test(test_buf_cap),          cmocka_unit_test(test_alloc_accounting),
    cmocka_unit_test(test_open_regular),     cmocka_unit_test(test_time_parse),
    cmocka_unit_test(test_parse_duration),
};
FERRY_UNIT_MAIN(tests)
