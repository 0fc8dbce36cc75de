/* Core string helpers: ferry_quote and string vectors (oci-layout/strings.c). */
#include <string.h>

#include "unit.h"
#include "ferry/digest.h"
#include "ferry/reference.h"
#include "ferry/util.h"

static void
test_quote_escapes(void **state)
{
    char q[64];

    (void)state;
    assert_string_equal(ferry_quote(q, sizeof q, "v1.0-rc_2", 9), "v1.0-rc_2");
    assert_string_equal(ferry_quote(q, sizeof q, "a\"b\\c", 5), "a\\\"b\\\\c");
    assert_string_equal(ferry_quote(q, sizeof q, "x\ny\x1b[0m\x7f\xff", 9),
                        "x\\x0ay\\x1b[0m\\x7f\\xff");
    /* a NUL inside the text is shown, not taken as the end */
    assert_string_equal(ferry_quote(q, sizeof q, "a\0b", 3), "a\\x00b");
    assert_string_equal(ferry_quote(q, sizeof q, "", 0), "");
    assert_ptr_equal(ferry_quote(q, sizeof q, "z", 1), q);
}

static void
test_quote_cuts(void **state)
{
    char q[8], big[16];

    (void)state;
    /* room for "..." and the NUL is kept while text remains */
    assert_string_equal(ferry_quote(q, sizeof q, "abcd", 4), "abcd");
    assert_string_equal(ferry_quote(q, sizeof q, "abcdefghij", 10), "abcd...");
    assert_string_equal(ferry_quote(q, sizeof q, "ab\x01xyz", 6), "ab...");
    assert_int_equal(strlen(ferry_quote(q, sizeof q, "\x01\x02\x03", 3)), 7);
    /* an escape is never cut in half */
    memset(big, 'Z', sizeof big);
    ferry_quote(big, 10, "abcd\xff", 5);
    assert_string_equal(big, "abcd...");
    /* dstsz 0 writes nothing */
    big[0] = 'Z';
    ferry_quote(big, 0, "abc", 3);
    assert_int_equal(big[0], 'Z');
}

static void
test_strv_push_free(void **state)
{
    char **v = NULL, *s;
    size_t n = 0, base = ferry_alloc_current();

    (void)state;
    for (int i = 0; i < 5; i++) {
        s = ferry_asprintf("s%d", i);
        assert_non_null(s);
        assert_int_equal(ferry_strv_push(&v, &n, s), 0);
    }
    assert_int_equal(n, 5);
    assert_string_equal(v[0], "s0");
    assert_string_equal(v[4], "s4");
    /* a failed push leaves the vector and the string to the caller */
    s = ferry_strdup("kept");
    ferry_alloc_fail_after(1);
    assert_int_equal(ferry_strv_push(&v, &n, s), -FERRY_E_NOMEM);
    ferry_alloc_fail_after(0);
    assert_int_equal(n, 5);
    assert_string_equal(v[4], "s4");
    ferry_free(s);
    ferry_strv_free(v, n);
    ferry_strv_free(NULL, 3);
    assert_int_equal(ferry_alloc_current(), base);
}

/* The parsers of untrusted text quote it the one way: an escape sequence
 * or a quote in a digest, a reference or a bundle member name cannot forge a
 * terminal line; long text is cut after 80 bytes. */
static void
test_quote_in_messages(void **state)
{
    struct ferry_error *err = NULL;
    struct ferry_digest d;
    struct ferry_ref *ref = NULL;
    char long_digest[200];

    (void)state;
    assert_int_equal(ferry_digest_parse("sha256:\x1b[31m\"", &d, &err), -FERRY_E_INVALID);
    assert_string_equal(err->msg,
                        "invalid digest \"sha256:\\x1b[31m\\\"\": bad character at offset 7");
    ferry_error_clear(&err);
    memset(long_digest, 'g', sizeof long_digest - 1);
    long_digest[sizeof long_digest - 1] = '\0';
    memcpy(long_digest, "sha256:", 7);
    assert_int_equal(ferry_digest_parse(long_digest, &d, &err), -FERRY_E_INVALID);
    assert_non_null(strstr(err->msg, "\"sha256:ggg"));
    assert_non_null(strstr(err->msg, "...\": "));
    assert_true(strlen(err->msg) < 160);
    ferry_error_clear(&err);
    assert_int_equal(ferry_ref_parse("r.example/a\rb:1", true, &ref, &err), -FERRY_E_INVALID);
    assert_null(ref);
    assert_non_null(strstr(err->msg, "\"r.example/a\\x0db:1\""));
    ferry_error_clear(&err);
}

/* A target is prefixed once: "mirror/x" is under "mirror", "mirrors/x" is not. */
static void
test_path_under(void **state)
{
    (void)state;
    assert_true(ferry_path_under("mirror/dhi-python", "mirror"));
    assert_true(ferry_path_under("mirror", "mirror"));
    assert_true(ferry_path_under("a/b/c", "a/b"));
    assert_false(ferry_path_under("mirrors/x", "mirror"));
    assert_false(ferry_path_under("mirro", "mirror"));
    assert_false(ferry_path_under("x/mirror", "mirror"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_quote_escapes),  cmocka_unit_test(test_quote_cuts),
    cmocka_unit_test(test_strv_push_free), cmocka_unit_test(test_quote_in_messages),
    cmocka_unit_test(test_path_under),
};

FERRY_UNIT_MAIN(tests)
