#include <string.h>

#include "unit.h"
#include "ferry/digest.h"
#include "ferry/util.h"

#define SHA256_EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA512_ABC                                                                                 \
    "sha512:"                                                                                      \
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c"       \
    "23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

/* Parse s and expect failure with code; returns the message for checks. */
static void
expect_fail(const char *s, enum ferry_status code)
{
    struct ferry_digest d;
    struct ferry_error *err = NULL;
    int r = ferry_digest_parse(s, &d, &err);

    if (r != -(int)code)
        fail_msg("ferry_digest_parse(\"%s\") returned %d, want %d", s, r, -(int)code);
    assert_non_null(err);
    assert_int_equal(err->code, code);
    assert_null(strchr(err->msg, '\n'));
    ferry_error_free(err);
}

static void
test_digest_parse_sha256(void **state)
{
    struct ferry_digest d;
    struct ferry_error *err = NULL;

    (void)state;
    FERRY_ASSERT_OK(ferry_digest_parse(SHA256_ABC, &d, &err), &err);
    assert_null(err);
    assert_int_equal(d.alg, FERRY_DIGEST_SHA256);
    assert_string_equal(d.str, SHA256_ABC);
    assert_string_equal(ferry_digest_hex(&d), SHA256_ABC + 7);
    assert_string_equal(ferry_digest_alg_name(d.alg), "sha256");
}

static void
test_digest_parse_sha512(void **state)
{
    struct ferry_digest d;
    struct ferry_error *err = NULL;

    (void)state;
    FERRY_ASSERT_OK(ferry_digest_parse(SHA512_ABC, &d, &err), &err);
    assert_int_equal(d.alg, FERRY_DIGEST_SHA512);
    assert_string_equal(d.str, SHA512_ABC);
    assert_int_equal(strlen(ferry_digest_hex(&d)), 128);
    assert_string_equal(ferry_digest_alg_name(d.alg), "sha512");
}

static void
test_digest_uppercase_hex(void **state)
{
    (void)state;
    expect_fail("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
                FERRY_E_INVALID);
    expect_fail("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aD",
                FERRY_E_INVALID);
}

static void
test_digest_wrong_length(void **state)
{
    (void)state;
    expect_fail("sha256:ba7816bf", FERRY_E_INVALID);
    expect_fail("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0",
                FERRY_E_INVALID);
    expect_fail("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                FERRY_E_INVALID);
}

static void
test_digest_unknown_alg(void **state)
{
    (void)state;
    expect_fail("md5:d41d8cd98f00b204e9800998ecf8427e", FERRY_E_UNSUPPORTED);
    expect_fail("blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
                FERRY_E_UNSUPPORTED);
    expect_fail("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
                FERRY_E_UNSUPPORTED);
    expect_fail("sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", FERRY_E_UNSUPPORTED);
}

static void
test_digest_bad_grammar(void **state)
{
    static const char *const bad[] = {
        "",
        "sha256",
        "sha256:",
        ":abc",
        "SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha256+:abc",
        "sha256..x:abc",
        "-sha256:abc",
        "sha256:ab!c",
        "sha256:ab c",
        "sha256::abc",
        "sha256:abc\n",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_fail(bad[i], FERRY_E_INVALID);
    {
        struct ferry_digest d;
        struct ferry_error *err = NULL;
        assert_int_equal(ferry_digest_parse(NULL, &d, &err), -FERRY_E_INVALID);
        ferry_error_free(err);
    }
}

static void
test_digest_message_names_text(void **state)
{
    char long_input[400];
    struct ferry_digest d;
    struct ferry_error *err = NULL;

    (void)state;
    assert_int_equal(ferry_digest_parse("sha256:xyz", &d, &err), -FERRY_E_INVALID);
    assert_non_null(strstr(err->msg, "sha256:xyz"));
    ferry_error_clear(&err);

    /* long input is truncated in the message */
    memset(long_input, 'a', sizeof long_input - 1);
    long_input[sizeof long_input - 1] = '\0';
    long_input[3] = '!';
    assert_int_equal(ferry_digest_parse(long_input, &d, &err), -FERRY_E_INVALID);
    assert_true(strlen(err->msg) < 200);
    ferry_error_free(err);
}

static void
test_digest_buffer_vectors(void **state)
{
    struct ferry_digest d;

    (void)state;
    ferry_digest_buffer(FERRY_DIGEST_SHA256, "", 0, &d);
    assert_string_equal(d.str, SHA256_EMPTY);
    ferry_digest_buffer(FERRY_DIGEST_SHA256, NULL, 0, &d);
    assert_string_equal(d.str, SHA256_EMPTY);
    ferry_digest_buffer(FERRY_DIGEST_SHA256, "abc", 3, &d);
    assert_string_equal(d.str, SHA256_ABC);
    ferry_digest_buffer(FERRY_DIGEST_SHA512, "abc", 3, &d);
    assert_string_equal(d.str, SHA512_ABC);
    assert_int_equal(d.alg, FERRY_DIGEST_SHA512);
}

static void
test_hasher_blocks(void **state)
{
    static const size_t blocks[] = {1, 7, 4096};
    unsigned char data[10000];
    struct ferry_digest want, got;

    (void)state;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 31 + 7);
    for (int a = FERRY_DIGEST_SHA256; a <= FERRY_DIGEST_SHA512; a++) {
        ferry_digest_buffer((enum ferry_digest_alg)a, data, sizeof data, &want);
        for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
            struct ferry_hasher *h = ferry_hasher_new((enum ferry_digest_alg)a);
            assert_non_null(h);
            for (size_t off = 0; off < sizeof data; off += blocks[b]) {
                size_t n = sizeof data - off < blocks[b] ? sizeof data - off : blocks[b];
                ferry_hasher_update(h, data + off, n);
            }
            ferry_hasher_final(h, &got);
            assert_string_equal(got.str, want.str);
            ferry_hasher_free(h);
        }
    }
}

static void
test_hasher_reset(void **state)
{
    struct ferry_hasher *h = ferry_hasher_new(FERRY_DIGEST_SHA256);
    struct ferry_digest d;

    (void)state;
    assert_non_null(h);
    ferry_hasher_update(h, "garbage", 7);
    ferry_hasher_reset(h);
    ferry_hasher_update(h, "abc", 3);
    ferry_hasher_final(h, &d);
    assert_string_equal(d.str, SHA256_ABC);
    /* final leaves the hasher ready for the next message */
    ferry_hasher_final(h, &d);
    assert_string_equal(d.str, SHA256_EMPTY);
    ferry_hasher_free(h);
    ferry_hasher_free(NULL);
}

static void
test_digest_verify(void **state)
{
    struct ferry_digest want;
    struct ferry_error *err = NULL;

    (void)state;
    FERRY_ASSERT_OK(ferry_digest_parse(SHA256_ABC, &want, &err), &err);
    FERRY_ASSERT_OK(ferry_digest_verify(&want, "abc", 3, "blob", &err), &err);
    assert_int_equal(ferry_digest_verify(&want, "abd", 3, "blob x", &err),
                     -FERRY_E_DIGEST_MISMATCH);
    assert_non_null(strstr(err->msg, "blob x"));
    assert_non_null(strstr(err->msg, SHA256_ABC));
    ferry_error_free(err);
}

static void
test_digest_no_leak(void **state)
{
    size_t before = ferry_alloc_current();
    struct ferry_hasher *h;

    (void)state;
    h = ferry_hasher_new(FERRY_DIGEST_SHA512);
    ferry_hasher_free(h);
    expect_fail("sha256:bad", FERRY_E_INVALID);
    assert_int_equal(ferry_alloc_current(), before);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_digest_parse_sha256),
    cmocka_unit_test(test_digest_parse_sha512),
    cmocka_unit_test(test_digest_uppercase_hex),
    cmocka_unit_test(test_digest_wrong_length),
    cmocka_unit_test(test_digest_unknown_alg),
    cmocka_unit_test(test_digest_bad_grammar),
    cmocka_unit_test(test_digest_message_names_text),
    cmocka_unit_test(test_digest_buffer_vectors),
    cmocka_unit_test(test_hasher_blocks),
    cmocka_unit_test(test_hasher_reset),
    cmocka_unit_test(test_digest_verify),
    cmocka_unit_test(test_digest_no_leak),
};
FERRY_UNIT_MAIN(tests)
