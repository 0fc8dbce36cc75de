#include <string.h>

#include "unit.h"
#include "ferry/reference.h"
#include "ferry/util.h"

#define D256 "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* Parse s and compare every field (NULL means the field must be NULL). */
static void
expect_ref(const char *s, bool default_latest, const char *registry, const char *api_host,
           const char *repository, const char *tag, const char *digest)
{
    struct ferry_ref *r = NULL;
    struct ferry_error *err = NULL;

    FERRY_ASSERT_OK(ferry_ref_parse(s, default_latest, &r, &err), &err);
    assert_non_null(r);
    assert_string_equal(r->registry, registry);
    assert_string_equal(r->api_host, api_host);
    assert_string_equal(r->repository, repository);
    if (tag == NULL)
        assert_null(r->tag);
    else
        assert_string_equal(r->tag, tag);
    if (digest == NULL)
        assert_null(r->digest);
    else
        assert_string_equal(r->digest, digest);
    ferry_ref_free(r);
}

static void
expect_bad(const char *s, enum ferry_status code)
{
    struct ferry_ref *r = NULL;
    struct ferry_error *err = NULL;
    int ret = ferry_ref_parse(s, true, &r, &err);

    if (ret != -(int)code)
        fail_msg("ferry_ref_parse(\"%s\") returned %d, want %d", s, ret, -(int)code);
    assert_null(r);
    assert_non_null(err);
    assert_int_equal(err->code, code);
    assert_null(strchr(err->msg, '\n'));
    ferry_error_free(err);
}

static void
test_ref_hub_official(void **state)
{
    (void)state;
    expect_ref("alpine", true, "docker.io", "registry-1.docker.io", "library/alpine", "latest",
               NULL);
    expect_ref("alpine:3.19", true, "docker.io", "registry-1.docker.io", "library/alpine", "3.19",
               NULL);
}

static void
test_ref_hub_user(void **state)
{
    (void)state;
    expect_ref("user/app:1.0", true, "docker.io", "registry-1.docker.io", "user/app", "1.0", NULL);
    expect_ref("user/team/app", true, "docker.io", "registry-1.docker.io", "user/team/app",
               "latest", NULL);
}

static void
test_ref_hub_explicit(void **state)
{
    (void)state;
    expect_ref("docker.io/alpine", true, "docker.io", "registry-1.docker.io", "library/alpine",
               "latest", NULL);
    expect_ref("docker.io/library/alpine:3", true, "docker.io", "registry-1.docker.io",
               "library/alpine", "3", NULL);
    expect_ref("index.docker.io/nginx", true, "docker.io", "registry-1.docker.io", "library/nginx",
               "latest", NULL);
}

static void
test_ref_localhost(void **state)
{
    (void)state;
    expect_ref("localhost:5000/x", true, "localhost:5000", "localhost:5000", "x", "latest", NULL);
    expect_ref("localhost/x:t", true, "localhost", "localhost", "x", "t", NULL);
    /* without a '/', "localhost:5000" is repository localhost with tag 5000 */
    expect_ref("localhost:5000", true, "docker.io", "registry-1.docker.io", "library/localhost",
               "5000", NULL);
}

static void
test_ref_full(void **state)
{
    (void)state;
    expect_ref("registry.example.com:8443/a/b:tag@" D256, false, "registry.example.com:8443",
               "registry.example.com:8443", "a/b", "tag", D256);
    expect_ref("127.0.0.1:5000/team/app@" D256, false, "127.0.0.1:5000", "127.0.0.1:5000",
               "team/app", NULL, D256);
    expect_ref("[::1]:5000/app:v1", false, "[::1]:5000", "[::1]:5000", "app", "v1", NULL);
    expect_ref("ghcr.io/org/my-app_x__y.z---w:v1.2.3-rc_1", false, "ghcr.io", "ghcr.io",
               "org/my-app_x__y.z---w", "v1.2.3-rc_1", NULL);
    expect_ref("Example.COM/app", true, "Example.COM", "Example.COM", "app", "latest", NULL);
}

static void
test_ref_digest_only(void **state)
{
    (void)state;
    expect_ref("alpine@" D256, false, "docker.io", "registry-1.docker.io", "library/alpine", NULL,
               D256);
}

static void
test_ref_needs_tag_or_digest(void **state)
{
    struct ferry_ref *r = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    assert_int_equal(ferry_ref_parse("example.com/app", false, &r, &err), -FERRY_E_INVALID);
    assert_null(r);
    assert_non_null(strstr(err->msg, "example.com/app"));
    ferry_error_free(err);
}

static void
test_ref_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "Alpine",
        "user/App",
        "a//b",
        "a/",
        "/a",
        ":tag",
        "alpine:",
        "alpine:-bad",
        "alpine:.bad",
        "alpine:t@g",
        "alpine@",
        "alpine@sha256:abc",
        "alpine@sha256:"
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
        "-a/b",
        "a-/b",
        "a_-b",
        "a___b",
        "a..b",
        ".a",
        "a.",
        "host:port/x",
        "host:99999/x",
        "-host.com/x",
        "[zz::1]/x",
        "a b",
        "a\tb",
        "example.com/a:b:c",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "a@b@" D256,
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_bad(bad[i], FERRY_E_INVALID);
    {
        struct ferry_ref *r = NULL;
        struct ferry_error *err = NULL;
        assert_int_equal(ferry_ref_parse(NULL, true, &r, &err), -FERRY_E_INVALID);
        ferry_error_free(err);
    }
}

static void
test_ref_unsupported_digest(void **state)
{
    (void)state;
    expect_bad("alpine@md5:d41d8cd98f00b204e9800998ecf8427e", FERRY_E_UNSUPPORTED);
}

static void
test_ref_uppercase_message(void **state)
{
    struct ferry_ref *r = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    assert_int_equal(ferry_ref_parse("example.com/MyApp", true, &r, &err), -FERRY_E_INVALID);
    assert_non_null(strstr(err->msg, "lowercase"));
    assert_non_null(strstr(err->msg, "example.com/MyApp"));
    ferry_error_free(err);
}

static void
test_ref_name_length(void **state)
{
    /* "example.com/" + repository: 255 characters in all is the maximum */
    char s[300];
    struct ferry_ref *r = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    strcpy(s, "example.com/");
    memset(s + 12, 'a', 243);
    s[12 + 243] = '\0';
    assert_int_equal(strlen(s), 255);
    FERRY_ASSERT_OK(ferry_ref_parse(s, true, &r, &err), &err);
    ferry_ref_free(r);
    r = NULL;
    s[12 + 243] = 'a';
    s[12 + 244] = '\0';
    expect_bad(s, FERRY_E_INVALID);
    /* on Docker Hub the added "library/" counts */
    memset(s, 'b', 246);
    s[246] = '\0';
    assert_int_equal(strlen("docker.io/library/") + 246, 264);
    expect_bad(s, FERRY_E_INVALID);
    s[237] = '\0'; /* docker.io/library/ + 237 = 255 */
    FERRY_ASSERT_OK(ferry_ref_parse(s, true, &r, &err), &err);
    ferry_ref_free(r);
}

static void
test_ref_tag_length(void **state)
{
    char s[200];
    struct ferry_ref *r = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    strcpy(s, "alpine:");
    memset(s + 7, 't', 128);
    s[7 + 128] = '\0';
    FERRY_ASSERT_OK(ferry_ref_parse(s, true, &r, &err), &err);
    assert_int_equal(strlen(r->tag), 128);
    ferry_ref_free(r);
    s[7 + 128] = 't';
    s[7 + 129] = '\0';
    expect_bad(s, FERRY_E_INVALID);
}

static void
test_ref_too_long_input(void **state)
{
    char s[2000];

    (void)state;
    memset(s, 'a', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    expect_bad(s, FERRY_E_INVALID);
}

static void
test_ref_string(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"alpine", "docker.io/library/alpine:latest"},
        {"localhost:5000/x", "localhost:5000/x:latest"},
        {"h.io:1/a/b:t@" D256, "h.io:1/a/b:t@" D256},
        {"index.docker.io/u/a@" D256, "docker.io/u/a@" D256},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ferry_ref *r = NULL, *r2 = NULL;
        struct ferry_error *err = NULL;
        char *s, *s2;

        FERRY_ASSERT_OK(ferry_ref_parse(cases[i].in, true, &r, &err), &err);
        s = ferry_ref_string(r);
        assert_non_null(s);
        assert_string_equal(s, cases[i].out);
        /* the canonical form parses to the same thing */
        FERRY_ASSERT_OK(ferry_ref_parse(s, false, &r2, &err), &err);
        s2 = ferry_ref_string(r2);
        assert_string_equal(s2, s);
        ferry_free(s);
        ferry_free(s2);
        ferry_ref_free(r);
        ferry_ref_free(r2);
    }
    assert_null(ferry_ref_string(NULL));
    ferry_ref_free(NULL);
}

static void
test_tag_valid(void **state)
{
    (void)state;
    assert_true(ferry_tag_valid("latest"));
    assert_true(ferry_tag_valid("_x"));
    assert_true(ferry_tag_valid("V1.2-rc_3"));
    assert_false(ferry_tag_valid(""));
    assert_false(ferry_tag_valid(".x"));
    assert_false(ferry_tag_valid("-x"));
    assert_false(ferry_tag_valid("a/b"));
    assert_false(ferry_tag_valid("a:b"));
    assert_false(ferry_tag_valid(NULL));
}

static void
test_repository_valid(void **state)
{
    (void)state;
    assert_true(ferry_repository_valid("library/alpine"));
    assert_true(ferry_repository_valid("a/b/c"));
    assert_true(ferry_repository_valid("a.b_c__d-e--f"));
    assert_false(ferry_repository_valid(""));
    assert_false(ferry_repository_valid("A"));
    assert_false(ferry_repository_valid("a/"));
    assert_false(ferry_repository_valid("a//b"));
    assert_false(ferry_repository_valid("a___b"));
    assert_false(ferry_repository_valid("a:b"));
    assert_false(ferry_repository_valid(NULL));
}

static void
test_ref_no_leak(void **state)
{
    size_t before = ferry_alloc_current();
    struct ferry_ref *r = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    assert_true(ferry_ref_parse("example.com/App:t@" D256, true, &r, &err) < 0);
    ferry_error_clear(&err);
    assert_true(ferry_ref_parse("example.com/app:-t@" D256, true, &r, &err) < 0);
    ferry_error_clear(&err);
    FERRY_ASSERT_OK(ferry_ref_parse("example.com/app:t@" D256, true, &r, &err), &err);
    ferry_ref_free(r);
    assert_int_equal(ferry_alloc_current(), before);
}

static void
test_ref_alloc_failure(void **state)
{
    (void)state;
    /* every allocation failing in turn gives FERRY_E_NOMEM, never a crash or leak */
    for (unsigned long n = 1; n < 20; n++) {
        size_t before = ferry_alloc_current();
        struct ferry_ref *r = NULL;
        struct ferry_error *err = NULL;
        int ret;

        ferry_alloc_fail_after(n);
        ret = ferry_ref_parse("example.com/app:t@" D256, true, &r, &err);
        ferry_alloc_fail_after(0);
        if (ret == 0) {
            ferry_ref_free(r);
            assert_int_equal(ferry_alloc_current(), before);
            break;
        }
        assert_int_equal(ret, -FERRY_E_NOMEM);
        ferry_error_free(err);
        assert_int_equal(ferry_alloc_current(), before);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ref_hub_official),
    cmocka_unit_test(test_ref_hub_user),
    cmocka_unit_test(test_ref_hub_explicit),
    cmocka_unit_test(test_ref_localhost),
    cmocka_unit_test(test_ref_full),
    cmocka_unit_test(test_ref_digest_only),
    cmocka_unit_test(test_ref_needs_tag_or_digest),
    cmocka_unit_test(test_ref_invalid),
    cmocka_unit_test(test_ref_unsupported_digest),
    cmocka_unit_test(test_ref_uppercase_message),
    cmocka_unit_test(test_ref_name_length),
    cmocka_unit_test(test_ref_tag_length),
    cmocka_unit_test(test_ref_too_long_input),
    cmocka_unit_test(test_ref_string),
    cmocka_unit_test(test_tag_valid),
    cmocka_unit_test(test_repository_valid),
    cmocka_unit_test(test_ref_no_leak),
    cmocka_unit_test(test_ref_alloc_failure),
};
FERRY_UNIT_MAIN(tests)
